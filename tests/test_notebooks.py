"""Every notebook: well-formed, committed without outputs, and runs top to bottom offline.

The execution tests run each notebook in fast mode (AELIB_FAST=1) in a fresh kernel whose
sockets may reach only this machine, with a private model cache. A failure names the notebook
and the cell.
"""

from __future__ import annotations

import os
import re

import nbformat
import pytest
from conftest import NETGUARD_DIR
from notebook_runner import NotebookFailed, execute, notebooks

NOTEBOOKS = notebooks()
IDS = [p.stem for p in NOTEBOOKS]
HANGUL = re.compile("[\uac00-\ud7a3]")
FAST_BUDGET_SECONDS = 60


def test_notebooks_are_numbered_from_00_without_gaps():
    assert NOTEBOOKS, "notebooks/ holds no NN_name.ipynb notebook"
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(len(numbers))), f"notebook numbers {numbers}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_valid_and_stripped(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; run `make strip`"
    assert "widgets" not in nb.metadata, f"{path.name}: saved widget state; run `make strip`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_follows_the_collection_conventions(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), \
        f"{path.name}: the first cell must be a markdown title"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    params = tagged[0].source
    for name in ("FAST", "SEED"):
        assert re.search(rf"^{name}\s*=", params, re.M), f"{path.name}: parameters lack {name}"
    assert 'os.environ.get("AELIB_FAST")' in params, f"{path.name}: FAST must read AELIB_FAST"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "Check yourself" in text, f"{path.name}: no 'Check yourself' section"
    assert HANGUL.search(nb.cells[-1].source), \
        f"{path.name}: the last cell should be the English–Korean glossary"


def kernel_env(tmp_path) -> dict[str, str]:
    """Fast mode, a private model cache, and the loopback-only socket guard."""
    return {
        "AELIB_FAST": "1",
        "AELIB_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(NETGUARD_DIR),
                                                    os.environ.get("PYTHONPATH")])),
    }


@pytest.mark.notebook
def test_kernels_started_by_the_tests_cannot_reach_the_network(tmp_path):
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('192.0.2.1', 80), timeout=0.5)\n"
        "except OSError as error:\n"
        "    print(type(error).__name__)\n")])
    path = tmp_path / "probe.ipynb"
    nbformat.write(probe, path)
    result = execute(path, env=kernel_env(tmp_path), cell_timeout=30)
    assert result.notebook.cells[0].outputs[0]["text"].strip() == "NetworkAccessError"


@pytest.mark.notebook
@pytest.mark.timeout(FAST_BUDGET_SECONDS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_offline_in_fast_mode(path, tmp_path):
    try:
        execute(path, env=kernel_env(tmp_path), cell_timeout=FAST_BUDGET_SECONDS)
    except NotebookFailed as failure:
        pytest.fail(str(failure), pytrace=False)
