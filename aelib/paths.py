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
