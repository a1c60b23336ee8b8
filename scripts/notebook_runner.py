"""Execute notebooks in a fresh kernel and report failures by notebook and cell.

Used by ``scripts.run_notebooks`` (``make run``), by ``benchmarks.bench_memory`` and by the
test suite, so all of them run notebooks the same way: working directory ``notebooks/``, the
environment given, one kernel per call.

Beyond a plain top-to-bottom run, ``execute`` can

- inject parameters with papermill: a code cell such as ``SEED = 1`` is inserted right after
  the cell tagged ``parameters`` (the new cell is tagged ``injected-parameters``); cells run
  through nbclient, not papermill's engine, for the two points below;
- run every cell ``passes`` times in the same kernel ("Run All" twice); the outputs of the
  first pass are kept in ``Result.first_pass``;
- measure the peak resident memory of the kernel and of every process it starts;
- fill speaker notes from the kernel's variables (``scripts.lecturer``): each note's template
  is filled right after its cell has run on the last pass, so it quotes what that cell shows;
  the filled notes go into the executed notebook's metadata.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from papermill.parameterize import parameterize_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
INJECTED_TAG = "injected-parameters"
#: The executed notebook's metadata key for the filled speaker notes (by cell id).
NOTES_KEY = "speaker_notes"


def notebooks() -> list[Path]:
    """Every numbered notebook, in teaching order."""
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


class NotebookFailed(RuntimeError):
    """A cell raised or timed out, or the kernel died; the message names the notebook, the
    cell (numbered as in the notebook file), the pass and the error."""

    def __init__(self, path: Path, cell_index: int | str | None, detail: str,
                 notebook: nbformat.NotebookNode, *, run_pass: int = 1):
        where = f"cell {cell_index}" if cell_index is not None else "an unknown cell"
        again = f" on pass {run_pass} (Run All again in the same kernel)" if run_pass > 1 else ""
        super().__init__(f"{path.name} failed in {where}{again}: {detail}")
        self.path, self.cell_index, self.notebook = path, cell_index, notebook
        self.run_pass = run_pass


@dataclass
class Result:
    """One execution of a notebook.

    ``notebook``: the executed notebook as it stands after the last pass. ``first_pass``: a
    copy of it taken after the first pass (the same object when ``passes == 1``).
    ``seconds``: wall time of all passes. ``pass_seconds``: of each pass.
    ``peak_rss``: bytes, the kernel process tree's peak resident memory when measured.
    """

    path: Path
    notebook: nbformat.NotebookNode
    seconds: float
    first_pass: nbformat.NotebookNode | None = None
    pass_seconds: list[float] = field(default_factory=list)
    peak_rss: int | None = None


def parameter_names(nb: nbformat.NotebookNode, name: str = "the notebook") -> set[str]:
    """The names assigned at the top level of ``nb``'s single code cell tagged ``parameters``."""
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(tagged) != 1 or tagged[0].cell_type != "code":
        raise ValueError(f"{name} must have exactly one cell tagged 'parameters', a code cell; "
                         f"found {[c.cell_type for c in tagged]}")
    tree = ast.parse(tagged[0].source)
    return {target.id for node in tree.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


def inject_parameters(nb: nbformat.NotebookNode, parameters: Mapping[str, Any],
                      name: str = "the notebook") -> tuple[nbformat.NotebookNode, int]:
    """papermill's cell setting ``parameters``, inserted after the ``parameters`` cell; return
    the notebook and that cell's index."""
    # A name the parameters cell does not assign would be set and then ignored: refuse it.
    known = parameter_names(nb, name)
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise ValueError(f"{name} has no parameter {', '.join(map(repr, unknown))}; its "
                         f"parameters cell assigns {', '.join(sorted(known))}")
    # What papermill's own loader would add, and parameterize_notebook reads.
    nb.metadata.setdefault("papermill", {})
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    nb = parameterize_notebook(nb, dict(parameters), kernel_name="python3", language="python")
    return nb, next(i for i, c in enumerate(nb.cells) if INJECTED_TAG in c.metadata.tags)


# --------------------------------------------------------------------------- memory


def _hwm_bytes(pid: int) -> int:
    """The peak resident set size (VmHWM) of one process, from /proc; 0 where unavailable."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class MemorySampler:
    """Samples the resident memory of a process and of all its descendants in a thread.

    ``peak`` is the largest sum seen, and at least the process's own VmHWM (its exact peak,
    read when sampling stops), so a short spike of the kernel itself is never missed.
    """

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        import psutil

        self._psutil = psutil
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _tree_rss(self) -> int:
        psutil = self._psutil
        try:
            root = psutil.Process(self.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._tree_rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> int:
        """Stop sampling (the process must still be alive for its VmHWM); return ``peak``."""
        if self._thread.is_alive():
            self.peak = max(self.peak, self._tree_rss(), _hwm_bytes(self.pid))
            self._stop.set()
            self._thread.join()
        return self.peak


def _kernel_pid(client: NotebookClient) -> int | None:
    provisioner = getattr(client.km, "provisioner", None)
    pid = getattr(provisioner, "pid", None)
    if pid is None:
        process = getattr(provisioner, "process", None)
        pid = getattr(process, "pid", None)
    return pid


# --------------------------------------------------------------------------- execution


def _failing_cell(nb: nbformat.NotebookNode) -> tuple[int | None, str]:
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, _describe(cell, f"{output.get('ename')}: {output.get('evalue')}")
    return None, "no error output was recorded"


def _describe(cell: nbformat.NotebookNode, detail: str) -> str:
    first_line = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
    return f"{detail} (cell starts: {first_line[:60]!r})"


def _file_index(index: int, injected: int | None) -> int | str:
    """A cell's index in the notebook file, given where the parameters were injected."""
    if injected is None or index < injected:
        return index
    if index == injected:
        return "injected parameters"
    return index - 1


def _client(nb: nbformat.NotebookNode, path: Path, cell_timeout: int
            ) -> tuple[tempfile.TemporaryDirectory, NotebookClient]:
    """A folder for the kernel's sockets, and an nbclient client running ``nb`` from
    ``path``'s folder."""
    # The kernel talks to this process over Unix sockets in a private folder, not TCP ports:
    # nothing listens on the network, and ipykernel has no unencrypted-TCP warning to print.
    sockets = tempfile.TemporaryDirectory(prefix="aelib-kernel-")
    manager = KernelManager(kernel_name="python3", transport="ipc",
                            ip=str(Path(sockets.name) / "kernel"))
    return sockets, NotebookClient(nb, km=manager, timeout=cell_timeout, kernel_name="python3",
                                   resources={"metadata": {"path": str(path.parent)}})


class NoteFailed(RuntimeError):
    """A speaker note could not be filled from the kernel's variables."""


def _fill_note(client: NotebookClient, template: str, index: int) -> str:
    """``template`` filled in the kernel from its variables, by a cell that is not kept."""
    code = ("print(__import__('json').dumps(__import__('string').Formatter().vformat("
            f"{template!r}, (), globals())))")
    probe, cell = nbformat.v4.new_code_cell(code), client.nb.cells[index]
    try:
        client.execute_cell(probe, index, store_history=False)
    except CellExecutionError:
        error = next((o for o in probe.outputs if o.output_type == "error"), {})
        raise NoteFailed(f"its speaker note cannot be filled: {error.get('ename')}: "
                         f"{error.get('evalue')}") from None
    finally:
        # nbclient puts the cell it ran at ``index``: put the notebook's own back, and keep
        # its cells' numbering.
        client.nb.cells[index] = cell
        client.code_cells_executed -= 1
    printed = "".join(o.get("text", "") for o in probe.outputs if o.output_type == "stream"
                      and o.get("name") == "stdout")
    return json.loads(printed)


def execute(path: Path, *, env: dict[str, str] | None = None, cell_timeout: int = 600,
            parameters: Mapping[str, Any] | None = None, passes: int = 1,
            measure_memory: bool = False, notebook: nbformat.NotebookNode | None = None,
            notes: Mapping[str, str] | None = None) -> Result:
    """Run every cell of ``path`` top to bottom, ``passes`` times in one fresh kernel, with
    ``env`` added to the kernel's environment and ``parameters`` injected after the cell
    tagged ``parameters``. Raises ``NotebookFailed`` naming the cell and the pass.

    ``notebook``: run these cells instead of the file's (a Korean edition of ``path``, say),
    still from ``path``'s folder and named after ``path`` in messages.

    ``notes``: speaker-note templates by cell id (``str.format`` fields naming the kernel's
    variables); each is filled in the kernel right after its cell on the last pass, and the
    results are stored in ``metadata.speaker_notes`` of the executed notebook. A note that
    cannot be filled fails like its cell."""
    if passes < 1:
        raise ValueError(f"passes must be >= 1, got {passes}")
    nb = nbformat.read(path, as_version=4) if notebook is None else copy.deepcopy(notebook)
    notes = dict(notes or {})
    unknown = sorted(set(notes) - {cell.id for cell in nb.cells})
    if unknown:
        raise ValueError(f"notes name cells {unknown} that {path.name} does not have")
    filled: dict[str, str] = {}
    injected = None
    if parameters is not None:
        nb, injected = inject_parameters(nb, parameters, path.name)
    sockets, client = _client(nb, path, cell_timeout)
    kernel_env = {**os.environ, **(env or {})}
    result = Result(path, nb, 0.0)
    start = time.perf_counter()
    run_pass, index = 1, None
    sampler: MemorySampler | None = None
    try:
        # cleanup_kc: nbclient leaves a kernel manager it was handed running unless told.
        with sockets, client.setup_kernel(env=kernel_env, cleanup_kc=True):
            pid = _kernel_pid(client)
            if measure_memory and pid is not None:
                sampler = MemorySampler(pid).__enter__()
            info = client.wait_for_reply(client.kc.kernel_info())
            if info is not None and "language_info" in info["content"]:
                nb.metadata["language_info"] = info["content"]["language_info"]
            for run_pass in range(1, passes + 1):
                pass_start = time.perf_counter()
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index,
                                        execution_count=client.code_cells_executed + 1)
                    if run_pass == passes and cell.id in notes:
                        filled[cell.id] = _fill_note(client, notes[cell.id], index)
                index = None
                result.pass_seconds.append(time.perf_counter() - pass_start)
                if run_pass == 1:
                    result.first_pass = copy.deepcopy(nb) if passes > 1 else nb
            if sampler is not None:
                result.peak_rss = sampler.stop()
            client.set_widgets_metadata()
            if filled:
                nb.metadata[NOTES_KEY] = filled
    except NoteFailed as error:
        raise NotebookFailed(path, _file_index(index, injected), str(error), nb,
                             run_pass=run_pass) from None
    except CellExecutionError as error:
        found, detail = _failing_cell(nb)
        where = found if found is not None else index
        raise NotebookFailed(path, None if where is None else _file_index(where, injected),
                             detail if found is not None else str(error), nb,
                             run_pass=run_pass) from None
    except (CellTimeoutError, DeadKernelError) as error:
        cell = None if index is None else nb.cells[index]
        detail = f"{type(error).__name__}: {error}"
        raise NotebookFailed(path, None if index is None else _file_index(index, injected),
                             detail if cell is None else _describe(cell, detail), nb,
                             run_pass=run_pass) from None
    finally:
        if sampler is not None:
            sampler.stop()
    result.seconds = time.perf_counter() - start
    return result
