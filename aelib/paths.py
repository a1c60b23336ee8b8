"""Where aelib finds its data and keeps trained models.

Paths are found from the package's own location, never from the working directory, so a
notebook runs the same from ``notebooks/``, from the repository root or under a test runner.
Two environment variables move them: ``AELIB_DATA_DIR`` and ``AELIB_CACHE_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def data_dir() -> Path:
    """The folder holding the bundled data set (``data/`` beside ``aelib/``)."""
    return Path(os.environ.get("AELIB_DATA_DIR") or REPO_ROOT / "data")


def cache_dir() -> Path:
    """The folder for trained models reused across notebooks (``build/cache``)."""
    return Path(os.environ.get("AELIB_CACHE_DIR") or REPO_ROOT / "build" / "cache")
