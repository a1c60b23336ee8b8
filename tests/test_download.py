"""aelib.download: IDX parsing, verified downloads, mirror fallback, offline messages.

The server tests talk only to an HTTP server that this file starts on 127.0.0.1 and that serves
small IDX files built here; nothing reaches the internet.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import re
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from aelib import download as dl
from aelib.download import (
    MIRRORS,
    SHA256,
    SPLIT_FILES,
    ChecksumError,
    DownloadError,
    download,
    fetch,
    load_idx_dataset,
    read_idx,
)

N_TRAIN, N_TEST = 10, 6


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file written by hand from the format description, independent of read_idx."""
    big_endian = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(big_endian[code]).tobytes()


def gz(raw: bytes) -> bytes:
    return gzip.compress(raw, mtime=0)


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    """Small MNIST-shaped data: the array each of the four files holds."""
    rng = np.random.default_rng(0)
    return {
        dl.TRAIN_IMAGES: rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        dl.TRAIN_LABELS: rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        dl.TEST_IMAGES: rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        dl.TEST_LABELS: rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }


@pytest.fixture(scope="module")
def payloads(arrays) -> dict[str, bytes]:
    """The gzip'd IDX bytes of the four files."""
    return {name: gz(idx_bytes(a)) for name, a in arrays.items()}


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class LocalServer:
    """Routes: /good/F the file, /truncated/F half of it under the full Content-Length,
    /short/F half of it under an honest Content-Length, /padded/F the file and 300,000 more
    bytes, /corrupt/F the right size with other bytes, /missing/F a 404. ``hits`` counts
    requests by path."""

    def __init__(self, payloads: dict[str, bytes]) -> None:
        self.payloads = payloads
        self.hits: Counter[str] = Counter()
        lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
                with lock:
                    server.hits[self.path] += 1
                route, _, name = self.path.strip("/").partition("/")
                body = server.payloads.get(name)
                if body is None or route == "missing":
                    self.send_error(404)
                    return
                announced = len(body)
                if route == "truncated":
                    body = body[: len(body) // 2]
                elif route == "short":
                    body = body[: len(body) // 2]
                    announced = len(body)
                elif route == "padded":
                    body = body + bytes(300_000)
                    announced = len(body)
                elif route == "corrupt":
                    body = bytes(b ^ 0x5A for b in body)
                elif route != "good":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(announced))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, route: str) -> str:
        return f"http://127.0.0.1:{self.port}/{route}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server(payloads, monkeypatch) -> Iterator[LocalServer]:
    # Never route the loopback requests through a proxy set in the environment.
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    srv = LocalServer(payloads)
    yield srv
    srv.close()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def table(payloads, monkeypatch) -> None:
    """'mnist' stands for the files the local server holds (mirrors set per test)."""
    monkeypatch.setitem(SHA256, "mnist", {name: sha(body) for name, body in payloads.items()})
    monkeypatch.setitem(MIRRORS, "mnist", ("http://127.0.0.1:9/",))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --------------------------------------------------------------------------- read_idx

@pytest.mark.parametrize("compressed", [True, False])
def test_read_idx_round_trips_gz_and_raw(tmp_path, arrays, compressed):
    for name, array in arrays.items():
        raw = idx_bytes(array)
        path = tmp_path / (name if compressed else name.removesuffix(".gz"))
        path.write_bytes(gz(raw) if compressed else raw)
        back = read_idx(path)
        assert back.dtype == np.uint8 and back.shape == array.shape
        assert np.array_equal(back, array)
        back[...] = 0  # a writable array of its own


@pytest.mark.parametrize("code, dtype", [(0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32),
                                         (0x0D, np.float32), (0x0E, np.float64)])
def test_read_idx_other_types_in_native_byte_order(tmp_path, code, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    path = tmp_path / "values.idx"
    path.write_bytes(idx_bytes(array, code))
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert np.array_equal(back, array)


def _damaged(kind: str) -> bytes:
    good = idx_bytes(np.zeros((3, 4, 4), dtype=np.uint8))
    return {
        "bad magic": b"\x01\x00" + good[2:],
        "type": good[:2] + b"\x07" + good[3:],
        "truncated": good[:-5],
        "trailing": good + b"\x00\x00",
        "header": good[:9],
        "no dimensions": b"\x00\x00\x08\x00",
        "empty": b"",
        "gzip": gz(good)[:-12],
    }[kind]


@pytest.mark.parametrize("kind, message", [
    ("bad magic", "not an IDX file, which starts with two zero bytes"),
    ("type", "unsupported IDX type code 0x07"), ("truncated", "truncated data"),
    ("trailing", r"overlong data, shape \(3, 4, 4\) needs 48 bytes .* has 50"),
    ("header", "truncated header"), ("no dimensions", r"truncated data, shape \(\)"),
    ("empty", "not an IDX file.*no bytes"), ("gzip", "not a valid gzip file"),
])
def test_read_idx_rejects_damaged_files_by_name(tmp_path, kind, message):
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(_damaged(kind))
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert "broken-idx3-ubyte" in str(info.value)


def test_read_idx_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing.gz")


# --------------------------------------------------------------------------- fetch

@pytest.mark.network
def test_fetch_downloads_and_verifies(server, payloads, tmp_path):
    body = payloads[dl.TRAIN_LABELS]
    dest = tmp_path / "sub" / dl.TRAIN_LABELS
    got = fetch(server.url("good") + dl.TRAIN_LABELS, dest, sha256=sha(body).upper(), timeout=5)
    assert got == dest and dest.read_bytes() == body
    assert leftovers(dest.parent) == [dl.TRAIN_LABELS]


@pytest.mark.network
@pytest.mark.parametrize("route, error, words", [
    ("truncated", DownloadError, "IncompleteRead"),  # the body stops before its Content-Length
    ("short", ChecksumError, "does not match the known hash"),
    ("padded", ChecksumError, "does not match the known hash"),
    ("corrupt", ChecksumError, "does not match the known hash"),
])
def test_bad_downloads_raise_and_leave_nothing(server, payloads, tmp_path, route, error, words):
    body = payloads[dl.TRAIN_IMAGES]
    url = server.url(route) + dl.TRAIN_IMAGES
    with pytest.raises(error, match=words) as info:
        fetch(url, tmp_path / dl.TRAIN_IMAGES, sha256=sha(body), timeout=5)
    message = str(info.value)
    assert message.startswith(f"could not download {dl.TRAIN_IMAGES} from {url}: ")
    if error is ChecksumError:
        assert f"expected sha256:{sha(body)}" in message
    assert leftovers(tmp_path) == []


@pytest.mark.network
def test_a_failed_download_keeps_the_old_file(server, payloads, tmp_path):
    dest = tmp_path / dl.TRAIN_LABELS
    dest.write_bytes(b"an older copy of the file")
    for route in ("truncated", "corrupt", "missing"):
        with pytest.raises(DownloadError):
            fetch(server.url(route) + dl.TRAIN_LABELS, dest,
                  sha256=sha(payloads[dl.TRAIN_LABELS]), timeout=5)
        assert dest.read_bytes() == b"an older copy of the file"
        assert leftovers(tmp_path) == [dl.TRAIN_LABELS]


@pytest.mark.network
def test_http_error_names_file_and_status(server, payloads, tmp_path):
    body = payloads[dl.TEST_LABELS]
    with pytest.raises(DownloadError, match="404") as info:
        fetch(server.url("missing") + dl.TEST_LABELS, tmp_path / dl.TEST_LABELS,
              sha256=sha(body), timeout=5)
    assert dl.TEST_LABELS in str(info.value) and server.url("missing") in str(info.value)
    assert leftovers(tmp_path) == []


@pytest.mark.network
def test_an_intact_file_is_not_fetched_again(server, payloads, tmp_path):
    body = payloads[dl.TEST_IMAGES]
    url = server.url("good") + dl.TEST_IMAGES
    for _ in range(3):
        fetch(url, tmp_path / dl.TEST_IMAGES, sha256=sha(body), timeout=5)
    assert server.hits[f"/good/{dl.TEST_IMAGES}"] == 1


@pytest.mark.network
def test_a_damaged_file_is_replaced(server, payloads, tmp_path):
    body = payloads[dl.TEST_IMAGES]
    dest = tmp_path / dl.TEST_IMAGES
    dest.write_bytes(b"not what we want")
    fetch(server.url("good") + dl.TEST_IMAGES, dest, sha256=sha(body), timeout=5)
    assert dest.read_bytes() == body and leftovers(tmp_path) == [dl.TEST_IMAGES]


@pytest.mark.network
def test_fetch_progress_bar_runs(server, payloads, tmp_path, capsys):
    body = payloads[dl.TRAIN_LABELS]
    fetch(server.url("good") + dl.TRAIN_LABELS, tmp_path / "x.gz", sha256=sha(body), timeout=5,
          progress=True)
    assert (tmp_path / "x.gz").read_bytes() == body


# --------------------------------------------------------------------------- download

@pytest.mark.network
def test_download_falls_back_to_a_working_mirror(server, table, arrays, tmp_path, closed_port):
    mirrors = (f"http://127.0.0.1:{closed_port}/", server.url("missing"),
               server.url("corrupt"), server.url("truncated"), server.url("good").rstrip("/"))
    folder = download("mnist", tmp_path, base_urls=mirrors, timeout=5, progress=False)
    assert folder == tmp_path / "mnist"
    assert leftovers(folder) == sorted(arrays)
    for name in arrays:
        assert server.hits[f"/missing/{name}"] == 1 and server.hits[f"/good/{name}"] == 1

    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        images, labels = load_idx_dataset("mnist", split, root=tmp_path)
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (n,) and labels.dtype == np.uint8
        image_file, label_file = SPLIT_FILES[split]
        assert np.array_equal(images, arrays[image_file])
        assert np.array_equal(labels, arrays[label_file])

    # A second call finds everything in place and asks no server.
    before = sum(server.hits.values())
    download("mnist", tmp_path, base_urls=mirrors, progress=False)
    assert sum(server.hits.values()) == before


@pytest.mark.network
def test_download_uses_the_table_mirrors_in_order(server, table, payloads, tmp_path,
                                                  monkeypatch):
    monkeypatch.setitem(MIRRORS, "mnist", (server.url("missing"), server.url("good")))
    download("mnist", tmp_path, progress=False, timeout=5)
    assert all(server.hits[f"/missing/{n}"] == 1 for n in payloads)
    assert leftovers(tmp_path / "mnist") == sorted(payloads)


@pytest.mark.network
def test_offline_download_names_the_file_and_the_subset(tmp_path, closed_port, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    base = f"http://127.0.0.1:{closed_port}/mnist/"
    with pytest.raises(DownloadError) as info:
        download("mnist", tmp_path, base_urls=[base], timeout=5, progress=False)
    message = str(info.value)
    assert dl.TRAIN_IMAGES in message and base + dl.TRAIN_IMAGES in message
    assert "mnist_subset" in message and 'load_dataset("mnist_subset")' in message
    assert leftovers(tmp_path / "mnist") == []


@pytest.mark.network
def test_all_mirrors_failing_lists_each_attempt(server, table, tmp_path, closed_port):
    mirrors = [f"http://127.0.0.1:{closed_port}", server.url("corrupt")]
    with pytest.raises(DownloadError) as info:
        download("mnist", tmp_path, base_urls=mirrors, timeout=5, progress=False)
    message = str(info.value)
    assert f"127.0.0.1:{closed_port}/{dl.TRAIN_IMAGES}" in message
    assert "does not match the known hash" in message and "2 mirror(s)" in message
    assert leftovers(tmp_path / "mnist") == []


# --------------------------------------------------------------------------- load_idx_dataset

def test_missing_files_say_how_to_download(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_idx_dataset("mnist", "test", root=tmp_path)
    message = str(info.value)
    assert "aelib.download.download('mnist'" in message and "mnist_subset" in message
    assert dl.TEST_IMAGES in message and str(tmp_path / "mnist") in message


def test_damaged_downloaded_file_is_refused(tmp_path, payloads, table):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name, body in payloads.items():
        (folder / name).write_bytes(body)
    load_idx_dataset("mnist", "train", root=tmp_path)
    raw = bytearray((folder / dl.TRAIN_LABELS).read_bytes())
    raw[-3] ^= 0xFF
    (folder / dl.TRAIN_LABELS).write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match="SHA-256") as info:
        load_idx_dataset("mnist", "train", root=tmp_path)
    assert dl.TRAIN_LABELS in str(info.value)


def test_root_defaults_to_data_dir(tmp_path, payloads, table, monkeypatch):
    monkeypatch.setenv("AELIB_DATA_DIR", str(tmp_path))
    (tmp_path / "mnist").mkdir()
    for name, body in payloads.items():
        (tmp_path / "mnist" / name).write_bytes(body)
    images, labels = load_idx_dataset("mnist", "test")
    assert images.shape == (N_TEST, 28, 28) and labels.shape == (N_TEST,)


# --------------------------------------------------------------------------- arguments

def test_unknown_name_lists_the_known_ones(tmp_path):
    for call in (lambda: download("cifar10", tmp_path, progress=False),
                 lambda: load_idx_dataset("cifar10", root=tmp_path)):
        with pytest.raises(ValueError, match="name must be one of 'mnist', 'fashion_mnist'"):
            call()


def test_bad_split_is_named(tmp_path):
    with pytest.raises(ValueError, match="split must be one of 'train', 'test'"):
        load_idx_dataset("mnist", "validation", root=tmp_path)


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan")])
def test_non_positive_timeout_is_refused(tmp_path, timeout):
    with pytest.raises(ValueError, match="timeout"):
        download("mnist", tmp_path, timeout=timeout, progress=False)
    with pytest.raises(ValueError, match="timeout"):
        fetch("http://127.0.0.1:9/x.gz", tmp_path / "x.gz", sha256="0" * 64, timeout=timeout)
    assert leftovers(tmp_path) == []


def test_fetch_argument_checks(tmp_path):
    with pytest.raises(ValueError, match="sha256 must be 64 hexadecimal digits"):
        fetch("http://127.0.0.1:9/x.gz", tmp_path / "x.gz", sha256="abc")
    with pytest.raises(ValueError, match="url must be an http:// or https:// URL"):
        fetch("file:///etc/passwd", tmp_path / "x.gz", sha256="0" * 64)
    with pytest.raises(TypeError, match="sha256 must be a string of 64 hexadecimal digits"):
        fetch("http://127.0.0.1:9/x.gz", tmp_path / "x.gz", sha256=None)
    with pytest.raises(ValueError, match="base_urls must hold at least one URL"):
        download("mnist", tmp_path, base_urls=[], progress=False)
    with pytest.raises(ValueError, match="base_urls must be an http:// or https:// URL"):
        download("mnist", tmp_path, base_urls=["https://example.org/", "/tmp/mirror"])
    with pytest.raises(TypeError, match="base_urls must be a list of URLs"):
        download("mnist", tmp_path, base_urls=3)
    assert leftovers(tmp_path) == []


def test_bundled_table_is_complete():
    assert set(MIRRORS) == set(SHA256) == {"mnist", "fashion_mnist"}
    files = sorted(name for pair in SPLIT_FILES.values() for name in pair)
    digests = [d for table in SHA256.values() for d in table.values()]
    assert len(set(digests)) == 8 and all(re.fullmatch("[0-9a-f]{64}", d) for d in digests)
    assert all(sorted(table) == files for table in SHA256.values())
    assert all(m.startswith(("http://", "https://")) for ms in MIRRORS.values() for m in ms)
    assert SHA256["mnist"][dl.TRAIN_IMAGES].startswith("440fcabf")
