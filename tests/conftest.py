"""Shared test set-up: no network but loopback, a headless plotting backend, paths."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NETGUARD_DIR = Path(__file__).resolve().parent / "netguard"

os.environ.setdefault("MPLBACKEND", "Agg")

# Install the loopback-only guard in this process before any test runs.
_spec = importlib.util.spec_from_file_location("aelib_netguard",
                                               NETGUARD_DIR / "sitecustomize.py")
netguard = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(netguard)


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """A copy of the bundled data folder that a test may damage."""
    target = tmp_path / "data"
    target.mkdir()
    for name in ("mnist_subset.npz", "SHA256SUMS"):
        (target / name).write_bytes((ROOT / "data" / name).read_bytes())
    return target


def guarded_pythonpath(*extra: Path) -> str:
    """A PYTHONPATH whose first entry installs the loopback-only guard in a child Python
    (tests/netguard/sitecustomize.py), then ``extra``, then the inherited PYTHONPATH."""
    return os.pathsep.join(filter(None, [str(NETGUARD_DIR), *map(str, extra),
                                         os.environ.get("PYTHONPATH")]))


def require_chromium() -> str:
    """Debian's chromium for the browser tests: skipped where it is missing, failed instead when
    AELIB_REQUIRE_BROWSER=1 (CI), so a missing browser cannot pass unnoticed."""
    path = shutil.which("chromium")
    if path is None:
        message = "chromium is not installed: `apt-get install -y chromium` to run this test"
        if os.environ.get("AELIB_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the notebook runs of ``test_notebooks.run`` keep their model caches."""
    return tmp_path_factory.mktemp("notebook-runs")


@pytest.fixture(scope="module")
def browser():
    """One headless chromium for a module's browser tests (Debian's, driven by Playwright's
    sync API, which allows one instance at a time: so per module, not per session)."""
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    from scripts.build_site import BROWSER_ARGS
    with sync_playwright() as play:
        handle = play.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        yield handle
        handle.close()
