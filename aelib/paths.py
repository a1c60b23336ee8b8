"""Where aelib finds its data and keeps trained models, and how it writes files safely.

Paths are found from the package's own location, never from the working directory, so a
notebook runs the same from ``notebooks/``, from the repository root or under a test runner.
Two environment variables move them: ``AELIB_DATA_DIR`` and ``AELIB_CACHE_DIR``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

try:  # POSIX; elsewhere ``locked`` does not lock
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The folder holding the bundled data set (``data/`` beside ``aelib/``)."""
    return Path(os.environ.get("AELIB_DATA_DIR") or REPO_ROOT / "data")


def cache_dir() -> Path:
    """The folder for trained models reused across notebooks (``build/cache``)."""
    return Path(os.environ.get("AELIB_CACHE_DIR") or REPO_ROOT / "build" / "cache")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for binary writing; rename it over ``path``
    only when the ``with`` block ends without an error, otherwise delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


@contextlib.contextmanager
def locked(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a file ``.<name>.lock`` beside it) for the ``with``
    block; another process asking for the same lock waits until it is released. The system
    releases it if the holder dies. Advisory, and only where ``fcntl`` exists (POSIX)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
