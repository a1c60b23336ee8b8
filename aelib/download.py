"""The full MNIST and Fashion-MNIST, fetched once by users who are online.

The repository ships a 5,000-image MNIST subset (``load_dataset("mnist_subset")``) so that every
notebook runs offline. This module downloads the complete sets (60,000 training and 10,000
test images each) into ``data/<name>/`` and reads them back:

- ``download(name)``: fetch the four ``.gz`` files of ``"mnist"`` or ``"fashion_mnist"``, trying
  each mirror in turn and checking every file's size and SHA-256;
- ``load_idx_dataset(name, split)``: images uint8 (n, 28, 28) and labels uint8 (n,), after
  checking the files' SHA-256 again;
- ``read_idx(path)``: parse one IDX file, gzip-compressed or raw;
- ``fetch(url, dest, sha256=...)``: download one file to a temporary name beside ``dest`` and
  rename it only once its size and checksum are right.

Only the standard library talks to the network (``urllib``), so a proxy set in the usual
environment variables (``https_proxy``, ``no_proxy``) is honoured.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from aelib._checks import SHA256_PATTERN, check_choice, check_float, check_int
from aelib._files import atomic_write
from aelib.paths import data_dir

__all__ = [
    "ChecksumError",
    "DownloadError",
    "RemoteFile",
    "SOURCES",
    "SPLIT_FILES",
    "Source",
    "download",
    "fetch",
    "load_idx_dataset",
    "read_idx",
    "sha256_of",
]

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

#: For each split, the (images, labels) file names.
SPLIT_FILES: dict[str, tuple[str, str]] = {
    "train": (TRAIN_IMAGES, TRAIN_LABELS),
    "test": (TEST_IMAGES, TEST_LABELS),
}

_CHUNK = 1 << 16
_OFFLINE_HINT = ("If you are offline, use the 5,000-image subset that ships with the "
                 "repository: aelib.data.load_dataset(\"mnist_subset\").")


def _check_sha256(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string of 64 hexadecimal digits, got "
                        f"{type(value).__name__} {value!r}")
    lowered = value.strip().lower()
    if not SHA256_PATTERN.fullmatch(lowered):
        raise ValueError(f"{name} must be 64 hexadecimal digits, got {value!r}")
    return lowered


def _check_url(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__} {value!r}")
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{name} must be an http:// or https:// URL, got {value!r}")
    return value


def _check_base_urls(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a URL or a sequence of URLs, got "
                        f"{type(value).__name__} {value!r}")
    urls = tuple(_check_url(v, name) for v in value)
    if not urls:
        raise ValueError(f"{name} must hold at least one URL")
    return urls


class DownloadError(OSError):
    """A file could not be downloaded from any of the places tried: no network, an HTTP error,
    a body cut short or bytes that do not match their checksum."""


class ChecksumError(DownloadError):
    """A file's size or SHA-256 is not the expected one (damaged, truncated or replaced)."""


@dataclass(frozen=True)
class RemoteFile:
    """One file to download: its name on the mirrors, its SHA-256 and, if known, its size in
    bytes (checked first, since it is much cheaper than hashing)."""

    filename: str
    sha256: str
    size: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.filename, str) or not self.filename \
                or "/" in self.filename or "\\" in self.filename or self.filename in (".", ".."):
            raise ValueError(f"filename must be a plain file name, got {self.filename!r}")
        if not isinstance(self.sha256, str) or not SHA256_PATTERN.fullmatch(self.sha256):
            raise ValueError(f"sha256 of {self.filename} must be 64 lower-case hexadecimal "
                             f"digits, got {self.sha256!r}")
        if self.size is not None:
            check_int(self.size, f"size of {self.filename}", minimum=0)


@dataclass(frozen=True)
class Source:
    """Where a data set comes from: mirror base URLs, tried in order, and its files.

    ``files`` must hold the four names of ``SPLIT_FILES``: ``load_idx_dataset`` finds a split's
    images and labels by those names.
    """

    mirrors: tuple[str, ...]
    files: tuple[RemoteFile, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "mirrors", _check_base_urls(self.mirrors, "mirrors"))
        object.__setattr__(self, "files", tuple(self.files))
        for entry in self.files:
            if not isinstance(entry, RemoteFile):
                raise TypeError(f"files must hold RemoteFile entries, got "
                                f"{type(entry).__name__} {entry!r}")
        names = [f.filename for f in self.files]
        needed = [n for pair in SPLIT_FILES.values() for n in pair]
        missing = [n for n in needed if n not in names]
        if missing:
            raise ValueError(f"files must include {', '.join(needed)}; "
                             f"missing {', '.join(missing)}")
        if len(set(names)) != len(names):
            raise ValueError(f"files must not repeat a file name, got {names}")

    def file(self, filename: str) -> RemoteFile:
        """The entry for ``filename``."""
        for entry in self.files:
            if entry.filename == filename:
                return entry
        raise KeyError(filename)


# Sizes and SHA-256 of the compressed files as TensorFlow Datasets records them, in
# github.com/tensorflow/datasets, files tensorflow_datasets/url_checksums/mnist.txt and
# tensorflow_datasets/url_checksums/fashion_mnist.txt (URL, size in bytes, SHA-256). They agree
# with the sizes published on the MNIST and Fashion-MNIST pages, and other public projects pair
# the same SHA-256 with the well-known MD5s (MNIST train images f68b3c2dcbeaaa9fbdd348bbdeb94873,
# Fashion-MNIST train images 8d4fb7e6c68d591d4c3dfef9ec88bf0d, and so on).
SOURCES: dict[str, Source] = {
    "mnist": Source(
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        files=(
            RemoteFile(TRAIN_IMAGES,
                       "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                       9_912_422),
            RemoteFile(TRAIN_LABELS,
                       "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                       28_881),
            RemoteFile(TEST_IMAGES,
                       "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                       1_648_877),
            RemoteFile(TEST_LABELS,
                       "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                       4_542),
        ),
    ),
    "fashion_mnist": Source(
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        files=(
            RemoteFile(TRAIN_IMAGES,
                       "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                       26_421_880),
            RemoteFile(TRAIN_LABELS,
                       "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                       29_515),
            RemoteFile(TEST_IMAGES,
                       "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                       4_422_102),
            RemoteFile(TEST_LABELS,
                       "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                       5_148),
        ),
    ),
}

# IDX type codes and the big-endian dtype each stands for.
_IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


# --------------------------------------------------------------------------- reading IDX files

def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw (told apart by their first bytes).

    The format: two zero bytes, a type code (0x08 unsigned byte, 0x09 signed byte, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions d, then d big-endian
    uint32 sizes, then the values in C order, big-endian.

    Returns an array of shape (size_1, ..., size_d) in native byte order: for MNIST, uint8
    images of shape (n, 28, 28) and uint8 labels of shape (n,).

    Raises ``ValueError`` naming the file for a wrong magic number, an unsupported type code,
    a damaged gzip stream, or data shorter or longer than the sizes announce.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: not a valid gzip file ({exc})") from exc
    if len(raw) < 4:
        raise ValueError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file, the magic number must start with two zero "
                         f"bytes, got {raw[:4].hex()}")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_TYPES)
        raise ValueError(f"{path}: unsupported IDX type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise ValueError(f"{path}: the IDX header announces 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated header, {ndim} dimension sizes need {header} "
                         f"bytes but the file has {len(raw)}")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header
    if actual < expected:
        raise ValueError(f"{path}: truncated data, shape {shape} needs {expected} bytes after "
                         f"the header but the file has {actual}")
    if actual > expected:
        raise ValueError(f"{path}: {actual - expected} trailing bytes after the data of "
                         f"shape {shape}")
    values = np.frombuffer(raw, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return values.reshape(shape).astype(dtype.newbyteorder("="))


# --------------------------------------------------------------------------- checksums

def sha256_of(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, as 64 lower-case hexadecimal digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _mismatch(path: Path, sha256: str, size: int | None) -> str | None:
    """Why ``path`` is not the expected file, or ``None`` if it is (size checked first)."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        return f"size {actual_size} bytes, expected {size}"
    actual = sha256_of(path)
    if actual != sha256:
        return f"SHA-256 {actual}, expected {sha256}"
    return None


# --------------------------------------------------------------------------- downloading

def _join(base: str, filename: str) -> str:
    return base.rstrip("/") + "/" + filename


def _progress_bar(enabled: bool, total: int | None, label: str) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024,
                leave=False)


def _copy_body(response: http.client.HTTPResponse, handle: BinaryIO, url: str,
               bar: Any, limit: int | None) -> tuple[int, str]:
    """Stream the body to ``handle``; return its length and SHA-256. Stop reading once more
    than ``limit`` bytes have come (the caller then reports the wrong size)."""
    digest = hashlib.sha256()
    count = 0
    while True:
        try:
            chunk = response.read(_CHUNK)
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(f"the connection broke while downloading {url} after "
                                f"{count} bytes: {exc}") from exc
        if not chunk:
            return count, digest.hexdigest()
        handle.write(chunk)
        digest.update(chunk)
        count += len(chunk)
        if bar is not None:
            bar.update(len(chunk))
        if limit is not None and count > limit:
            return count, digest.hexdigest()


def fetch(url: str, dest: str | os.PathLike[str], *, sha256: str, timeout: float = 30.0,
          size: int | None = None, progress: bool = False) -> Path:
    """Download ``url`` to ``dest`` and check it; return ``dest`` as a ``Path``.

    The body is written to a temporary file beside ``dest`` and renamed over it only once its
    size (``size`` bytes if given, and the server's Content-Length) and its SHA-256 are right.
    An existing ``dest`` with the right checksum is kept and nothing is downloaded. On any
    failure nothing new is left behind: no temporary file, and ``dest`` as it was before.

    ``timeout``: seconds to wait for the connection and for each read (> 0).
    ``progress``: show a progress bar (tqdm) while downloading.

    Raises ``DownloadError`` (an ``OSError``) when the server cannot be reached, answers with
    an HTTP error or closes early, and ``ChecksumError`` (a ``DownloadError``) when the bytes
    do not match; both messages name the file and the URL.
    """
    url = _check_url(url, "url")
    dest = Path(dest)
    sha256 = _check_sha256(sha256, "sha256")
    timeout = check_float(timeout, "timeout", minimum=0.0, open_low=True)
    if size is not None:
        size = check_int(size, "size", minimum=0)

    if dest.is_file() and _mismatch(dest, sha256, size) is None:
        return dest

    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DownloadError(f"could not download {dest.name} from {url}: HTTP {exc.code} "
                            f"{exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise DownloadError(f"could not download {dest.name} from {url}: {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadError(f"could not download {dest.name} from {url}: {exc}") from exc

    with response:
        header = response.headers.get("Content-Length")
        announced = int(header) if header is not None and header.isdigit() else None
        bar = _progress_bar(progress, size if size is not None else announced, dest.name)
        try:
            with atomic_write(dest) as handle:
                count, actual = _copy_body(response, handle, url, bar, size)
                expected_size = size if size is not None else announced
                if expected_size is not None and count != expected_size:
                    raise ChecksumError(f"download of {dest.name} from {url} is truncated or "
                                        f"the wrong size: expected {expected_size} bytes, "
                                        f"received {count}{'+' if count > expected_size else ''}")
                if announced is not None and count != announced:
                    raise DownloadError(f"download of {dest.name} from {url} was cut short: "
                                        f"received {count} bytes, the server announced "
                                        f"{announced}")
                if actual != sha256:
                    raise ChecksumError(f"download of {dest.name} from {url} is corrupted: "
                                        f"expected SHA-256 {sha256}, got {actual}")
        finally:
            if bar is not None:
                bar.close()
    return dest


def _resolve(name: Any, sources: Mapping[str, Source] | None) -> tuple[str, Source]:
    table = SOURCES if sources is None else sources
    if not isinstance(table, Mapping):
        raise TypeError(f"sources must be a mapping from names to Source, got "
                        f"{type(table).__name__}")
    name = check_choice(name, "name", table)
    source = table[name]
    if not isinstance(source, Source):
        raise TypeError(f"sources[{name!r}] must be a Source, got {type(source).__name__}")
    return name, source


def download(name: str, root: str | os.PathLike[str] | None = None, *,
             base_urls: Sequence[str] | str | None = None, timeout: float = 30.0,
             sources: Mapping[str, Source] | None = None, progress: bool = True) -> Path:
    """Download the four files of ``name`` (``"mnist"`` or ``"fashion_mnist"``) into
    ``<root>/<name>/`` and return that folder; ``root`` defaults to ``data_dir()``.

    Each file is taken from the first mirror that delivers it with the right size and SHA-256;
    files already present and intact are not downloaded again. ``base_urls`` replaces the
    mirrors of the table; ``sources`` replaces the table itself (a mapping from names to
    ``Source``, as ``SOURCES``). ``progress=False`` keeps it quiet.

    Raises ``ValueError`` for an unknown name and ``DownloadError`` when a file cannot be had
    from any mirror; that message lists what was tried and points to the offline subset.
    """
    name, source = _resolve(name, sources)
    mirrors = source.mirrors if base_urls is None else _check_base_urls(base_urls, "base_urls")
    timeout = check_float(timeout, "timeout", minimum=0.0, open_low=True)
    folder = Path(data_dir() if root is None else root) / name

    for entry in source.files:
        dest = folder / entry.filename
        failures: list[str] = []
        for base in mirrors:
            try:
                fetch(_join(base, entry.filename), dest, sha256=entry.sha256, timeout=timeout,
                      size=entry.size, progress=progress)
                break
            except DownloadError as exc:
                failures.append(f"  - {exc}")
        else:
            raise DownloadError(f"could not download {entry.filename} of {name!r} into "
                                f"{folder} from any of {len(mirrors)} mirror(s):\n"
                                + "\n".join(failures) + "\n" + _OFFLINE_HINT)
    return folder


# --------------------------------------------------------------------------- loading

def load_idx_dataset(name: str, split: str = "train",
                     root: str | os.PathLike[str] | None = None, *,
                     sources: Mapping[str, Source] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The downloaded ``split`` (``"train"`` or ``"test"``) of ``name``.

    Returns images uint8 of shape (n, 28, 28) and labels uint8 of shape (n,), read from
    ``<root>/<name>/`` (``root`` defaults to ``data_dir()``) once both files' sizes and
    SHA-256 match the table (``sources``, default ``SOURCES``).

    Raises ``FileNotFoundError`` saying how to download when a file is missing,
    ``ChecksumError`` when one is damaged, ``ValueError`` for an unknown name or split.
    """
    name, source = _resolve(name, sources)
    split = check_choice(split, "split", SPLIT_FILES)
    folder = Path(data_dir() if root is None else root) / name
    filenames = SPLIT_FILES[split]

    missing = [f for f in filenames if not (folder / f).is_file()]
    if missing:
        where = "" if root is None else f", root={str(root)!r}"
        raise FileNotFoundError(
            f"{name!r} is not downloaded: {', '.join(missing)} missing from {folder}. While "
            f"online, run aelib.download.download({name!r}{where}) once. The 5,000-image "
            "subset \"mnist_subset\" ships with the repository and needs no download: "
            "aelib.data.load_dataset(\"mnist_subset\").")
    for filename in filenames:
        entry = source.file(filename)
        problem = _mismatch(folder / filename, entry.sha256, entry.size)
        if problem is not None:
            raise ChecksumError(f"{folder / filename} is damaged or not the expected file "
                                f"({problem}); run aelib.download.download({name!r}) to fetch "
                                "it again")

    images, labels = (read_idx(folder / f) for f in filenames)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"{folder / filenames[0]}: expected uint8 images of shape "
                         f"(n, height, width), got dtype {images.dtype} and shape {images.shape}")
    if labels.dtype != np.uint8 or labels.shape != (len(images),):
        raise ValueError(f"{folder / filenames[1]}: expected uint8 labels of shape "
                         f"({len(images)},), got dtype {labels.dtype} and shape {labels.shape}")
    return images, labels
