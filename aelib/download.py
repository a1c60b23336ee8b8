"""The full MNIST and Fashion-MNIST, fetched once by users who are online.

The repository ships a 5,000-image MNIST subset (``load_dataset("mnist_subset")``) so that every
notebook runs offline. ``download(name)`` fetches the four ``.gz`` files of ``"mnist"`` or
``"fashion_mnist"`` (60,000 training and 10,000 test images each) into ``data/<name>/`` with
pooch, trying each mirror in turn and checking every file's SHA-256; ``load_idx_dataset(name,
split)`` reads them back. pooch goes through ``requests``, which honours a proxy set in the usual
environment variables (``https_proxy``, ``no_proxy``).
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pooch
import requests

from aelib._checks import choice, instance, optional, positive, validate
from aelib.paths import data_dir

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

#: For each split, the (images, labels) file names.
SPLIT_FILES = {"train": (TRAIN_IMAGES, TRAIN_LABELS), "test": (TEST_IMAGES, TEST_LABELS)}

#: For each data set, the base URLs of its mirrors, tried in order.
MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/",
              "http://yann.lecun.com/exdb/mnist/"),
    "fashion_mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                      "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
                      "data/fashion/"),
}

#: For each data set, the SHA-256 of its four files, as TensorFlow Datasets records them
#: (tensorflow_datasets/url_checksums/mnist.txt and fashion_mnist.txt in its repository).
SHA256: dict[str, dict[str, str]] = {
    "mnist": {
        TRAIN_IMAGES: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        TRAIN_LABELS: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        TEST_IMAGES: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        TEST_LABELS: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion_mnist": {
        TRAIN_IMAGES: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        TRAIN_LABELS: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        TEST_IMAGES: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        TEST_LABELS: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}


class DownloadError(OSError):
    """A file could not be downloaded: no network, an HTTP error or a body cut short."""


class ChecksumError(DownloadError):
    """A file's SHA-256 is not the expected one: damaged, truncated or replaced."""


# --------------------------------------------------------------------------- reading IDX files

# An IDX file: two zero bytes, a type code, the number of dimensions d, then d big-endian uint32
# sizes, then the values in C order, big-endian. The type codes and the dtypes they stand for:
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw: -> (size_1, ..., size_d), native byte order
    (for MNIST, images uint8 (n, 28, 28) and labels uint8 (n,))."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # the gzip magic number
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: not a valid gzip file ({exc})") from exc
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise ValueError(f"{path}: not an IDX file, which starts with two zero bytes, "
                         f"got {raw[:4].hex() or 'no bytes'}")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_TYPES)
        raise ValueError(f"{path}: unsupported IDX type code 0x{code:02X} (known: {known})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated header of {len(raw)} bytes, need {header}")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        raise ValueError(f"{path}: {'truncated' if actual < expected else 'overlong'} data, "
                         f"shape {shape} needs {expected} bytes but has {actual}")
    values = np.frombuffer(raw, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return values.reshape(shape).astype(dtype.newbyteorder("="))


# --------------------------------------------------------------------------- downloading

def _sha256(value: Any, name: str, _: Any = None) -> str:
    digest = instance(str, "a string of 64 hexadecimal digits")(value, name).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError(f"{name} must be 64 hexadecimal digits, got {value!r}")
    return digest


def _url(value: Any, name: str, _: Any = None) -> str:
    if not instance(str, "a string")(value, name).startswith(("http://", "https://")):
        raise ValueError(f"{name} must be an http:// or https:// URL, got {value!r}")
    return value


def _urls(value: Any, name: str, _: Any = None) -> tuple[str, ...]:
    """One URL or a non-empty sequence of them, as a tuple."""
    urls = (value,) if isinstance(value, str) else instance(Sequence, "a list of URLs")(value, name)
    if not urls:
        raise ValueError(f"{name} must hold at least one URL")
    return tuple(_url(url, name) for url in urls)


@validate(url=_url, sha256=_sha256, timeout=positive)
def fetch(url: str, dest: str | os.PathLike[str], *, sha256: str, timeout: float = 30.0,
          progress: bool = False) -> Path:
    """Download ``url`` to ``dest`` (unless it is there, intact) and return ``dest``."""
    # pooch writes to a temporary file and moves it over dest only once its SHA-256 is right.
    dest = Path(dest)
    pooch.get_logger().setLevel("INFO" if progress else "WARNING")  # "Downloading data from"
    try:
        pooch.retrieve(url, known_hash=f"sha256:{sha256}", fname=dest.name, path=dest.parent,
                       downloader=pooch.HTTPDownloader(progressbar=progress, timeout=timeout))
    except requests.RequestException as exc:  # no connection, HTTP error, body cut short
        raise DownloadError(f"could not download {dest.name} from {url}: {exc}") from exc
    except ValueError as exc:  # pooch's hash check; it has deleted the temporary file
        raise ChecksumError(f"could not download {dest.name} from {url}: {exc}") from exc
    return dest


@validate(name=choice(*SHA256), base_urls=optional(_urls), timeout=positive)
def download(name: str, root: str | os.PathLike[str] | None = None, *,
             base_urls: Sequence[str] | str | None = None, timeout: float = 30.0,
             progress: bool = True) -> Path:
    """Download the four files of ``name`` into ``<root>/<name>/`` (root: ``data_dir()``),
    from ``base_urls`` or ``MIRRORS[name]``; return that folder."""
    mirrors = MIRRORS[name] if base_urls is None else base_urls
    folder = Path(data_dir() if root is None else root) / name
    for filename, sha256 in SHA256[name].items():
        failures = []
        for base in mirrors:  # the first mirror that delivers the right bytes wins
            try:
                fetch(base.rstrip("/") + "/" + filename, folder / filename, sha256=sha256,
                      timeout=timeout, progress=progress)
                break
            except DownloadError as exc:
                failures.append(f"  - {exc}")
        else:
            raise DownloadError(f"could not download {filename} of {name!r} into {folder} "
                                f"from any of {len(mirrors)} mirror(s):\n"
                                + "\n".join(failures) + "\nIf you are offline, use the "
                                "5,000-image subset that ships with the repository: "
                                'aelib.data.load_dataset("mnist_subset").')
    return folder


@validate(name=choice(*SHA256), split=choice(*SPLIT_FILES))
def load_idx_dataset(name: str, split: str = "train",
                     root: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The downloaded ``split`` of ``name``, read from ``<root>/<name>/`` once both files'
    SHA-256 match ``SHA256``: images uint8 (n, 28, 28), labels uint8 (n,)."""
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
        expected, actual = SHA256[name][filename], pooch.file_hash(folder / filename)
        if actual != expected:
            raise ChecksumError(f"{folder / filename} is damaged or not the expected file "
                                f"(SHA-256 {actual}, expected {expected}); run "
                                f"aelib.download.download({name!r}) to fetch it again")
    images, labels = (read_idx(folder / f) for f in filenames)
    return images, labels
