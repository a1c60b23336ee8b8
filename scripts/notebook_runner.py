"""Execute notebooks in a fresh kernel and report failures by notebook and cell.

Used by ``run_notebooks.py`` (``make run``) and by the test suite, so both run notebooks the
same way: working directory ``notebooks/``, the environment given, one kernel per run.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"


def notebooks() -> list[Path]:
    """Every numbered notebook, in teaching order."""
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


class NotebookFailed(RuntimeError):
    """A cell raised; the message names the notebook, the cell and the error."""

    def __init__(self, path: Path, cell_index: int | None, detail: str,
                 notebook: nbformat.NotebookNode):
        where = f"cell {cell_index}" if cell_index is not None else "an unknown cell"
        super().__init__(f"{path.name} failed in {where}: {detail}")
        self.path, self.cell_index, self.notebook = path, cell_index, notebook


@dataclass
class Result:
    path: Path
    notebook: nbformat.NotebookNode
    seconds: float


def _failing_cell(nb: nbformat.NotebookNode) -> tuple[int | None, str]:
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                first_line = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
                return index, (f"{output.get('ename')}: {output.get('evalue')} "
                               f"(cell starts: {first_line[:60]!r})")
    return None, "no error output was recorded"


def execute(path: Path, *, env: dict[str, str] | None = None, cell_timeout: int = 600,
            ) -> Result:
    """Run every cell of ``path`` top to bottom with ``env`` added to the environment."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    saved = {key: os.environ.get(key) for key in (env or {})}
    os.environ.update(env or {})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        index, detail = _failing_cell(nb)
        raise NotebookFailed(path, index, detail or str(error), nb) from None
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return Result(path, nb, time.perf_counter() - start)


def strip_outputs(nb: nbformat.NotebookNode) -> bool:
    """Remove outputs, execution counts and run-time metadata in place; True if anything
    changed."""
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "code":
            if cell.get("outputs") or cell.get("execution_count") is not None:
                changed = True
            cell.outputs, cell.execution_count = [], None
        for key in ("execution", "collapsed", "scrolled"):
            if key in cell.metadata:
                del cell.metadata[key]
                changed = True
    if "widgets" in nb.metadata:
        del nb.metadata["widgets"]
        changed = True
    return changed
