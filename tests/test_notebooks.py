"""Every notebook: well-formed, committed without outputs, and reliable when executed.

The execution tests run each notebook in fast mode (AELIB_FAST=1) in fresh kernels whose
sockets may reach only this machine (``tests/netguard``), each with a private, empty model
cache. To stay within the suite's time budget every notebook is executed three times, and the
checks share those executions:

- run A: a fresh kernel runs all cells, then all cells again in the same kernel ("Run All"
  twice, the second time with the models already in the cache); the peak memory of the
  kernel's process tree is measured meanwhile;
- run B: the Korean edition of the notebook (``scripts.translations.korean_notebook``: the same
  code cells, Korean text and figures) in a second fresh kernel and cache, same seed; it must
  run, and its printed text (English in both editions) must equal run A's first pass, after
  normalising only what legitimately varies (see ``normalise``);
- run C: ``SEED = 1``, plus ``DATASET = "digits"`` (8x8 images) when the notebook's
  ``parameters`` cell has a DATASET, injected in a cell right after the ``parameters`` cell.

Each run also fills the notebook's speaker notes (``scripts.lecturer``) in its kernel, as
``make run`` does; ``test_pack.py`` builds the decks of runs A and B and checks them in chromium.

A failure names the notebook, the run, the pass and the cell.
"""

from __future__ import annotations

import copy
import functools
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, guarded_pythonpath, netguard

from scripts import lecturer
from scripts.notebook_runner import NotebookFailed, Result, execute, notebooks, parameter_names
from scripts.run_notebooks import RUN_TIME_PARAGRAPH
from scripts.translations import TRANSLATION_TAG, korean_notebook, korean_pack

NOTEBOOKS = notebooks()
IDS = [p.stem for p in NOTEBOOKS]
HANGUL = re.compile("[\uac00-\ud7a3]")
# Per cell and per test: generous, because the machine's cores may be shared; these catch a
# hang, not a slow notebook (tests/README.md records the measured times).
CELL_TIMEOUT_SECONDS = 300
RUN_TIMEOUT_SECONDS = 1200
PEAK_MEMORY_LIMIT = 2 * 1024**3  # bytes
SECOND_SEED = 1
SMALL_DATASET = "digits"


# --------------------------------------------------------------------------- static checks


def test_notebooks_are_numbered_from_00_without_gaps():
    assert NOTEBOOKS, "notebooks/ holds no NN_name.ipynb notebook"
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(len(numbers))), f"notebook numbers {numbers}"


#: What `make strip` runs: nbstripout, keeping the cell ids the notebooks are committed with.
NBSTRIPOUT = [sys.executable, "-m", "nbstripout", "--keep-id"]


def nbstripout(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NBSTRIPOUT, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@functools.cache
def would_be_stripped() -> str:
    """What ``nbstripout --verify`` says of all the notebooks at once (one process, not seven)."""
    done = nbstripout("--verify", *map(str, NOTEBOOKS))
    # 0: all stripped; 1: some would be stripped, named in the output; anything else: broken.
    assert done.returncode in (0, 1) and (done.returncode == 1) == ("would have" in done.stdout), \
        f"nbstripout --verify failed: {done.returncode} {done.stderr}"
    return done.stdout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_valid_and_stripped(path):
    nbformat.validate(nbformat.read(path, as_version=4))
    assert str(path) not in would_be_stripped(), \
        f"{path.name} carries outputs or run-time metadata; run `make strip`"


def test_make_strip_clears_what_a_run_adds_and_keeps_what_the_notebooks_rely_on(tmp_path):
    cell = nbformat.v4.new_code_cell("1", execution_count=3,
                                     outputs=[nbformat.v4.new_output("stream", text="1")])
    kept = {"tags": ["solution"], "jupyter": {"source_hidden": True},
            "slideshow": {"slide_type": "skip"}}
    cell.metadata.update(kept, execution={"iopub.status.busy": "now"}, scrolled=True)
    path = tmp_path / "07_run.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell], metadata={"widgets": {}}), path)
    assert nbstripout(str(path)).returncode == 0
    nb = nbformat.read(path, as_version=4)
    stripped = nb.cells[0]
    assert stripped.outputs == [] and stripped.execution_count is None
    assert stripped.metadata == kept and stripped.id == cell.id and "widgets" not in nb.metadata
    assert nbstripout("--verify", str(path)).returncode == 0


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_follows_the_collection_conventions(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), \
        f"{path.name}: the first cell must be a markdown title"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    assert tagged[0].cell_type == "code", f"{path.name}: the 'parameters' cell must be code"
    params = tagged[0].source
    for name in ("FAST", "SEED"):
        assert re.search(rf"^{name}\s*=", params, re.M), f"{path.name}: parameters lack {name}"
    assert 'os.environ.get("AELIB_FAST")' in params, f"{path.name}: FAST must read AELIB_FAST"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "Check yourself" in text, f"{path.name}: no 'Check yourself' section"
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and re.match(r"## References", last.source), \
        f"{path.name}: the last cell must be '## References'"
    assert len(re.findall(r"^[-*] ", last.source, re.M)) >= 2, \
        f"{path.name}: References should list the papers behind the claims, a line each"
    glossary = nb.cells[-2]
    assert glossary.cell_type == "markdown" and HANGUL.search(glossary.source) \
        and "|" in glossary.source, \
        f"{path.name}: the cell before References should be the English–Korean glossary"


# One seeding idiom: notebooks pass SEED (to aelib.seed_everything, torch.manual_seed or a
# function's seed=) and never build a random generator by hand.
HAND_MADE_GENERATOR = re.compile(r"\b(?:Generator|default_rng|RandomState)\s*\(")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_notebook_builds_a_generator_by_hand(path):
    nb = nbformat.read(path, as_version=4)
    found = [line.strip() for cell in nb.cells if cell.cell_type == "code"
             for line in cell.source.splitlines() if HAND_MADE_GENERATOR.search(line)]
    assert not found, f"{path.name} builds a generator instead of passing SEED: {found}"


# A duration typed into the prose goes stale: run times are measured by `make run`, which
# writes them into the executed copy's "**Run time:**" line and onto the index card.
TYPED_DURATION = re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:s|sec|secs|seconds?|min|minutes?)\b")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_run_time_is_typed_by_hand(path):
    nb = nbformat.read(path, as_version=4)
    paragraph = RUN_TIME_PARAGRAPH.search(nb.cells[0].source)   # what make run replaces
    assert paragraph, \
        f"{path.name}: the first cell needs a '**Run time:**' line for make run to fill in"
    # make run replaces that whole paragraph with the measured time: anything else said in it
    # would vanish from the executed copy, so it must be one sentence.
    assert len(re.findall(r"[.;](?:\s|$)", paragraph.group())) == 1, \
        f"{path.name}: keep the '**Run time:**' paragraph to one sentence; put notes in the next"
    typed = [(i, m.group()) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
             for m in TYPED_DURATION.finditer(c.source)]
    assert not typed, f"{path.name}: durations typed into markdown (cell, text): {typed}"


def exercise_cells(nb: nbformat.NotebookNode) -> list[tuple[int, int]]:
    """(exercise cell, solution cell) index pairs, from the cells' tags."""
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    return [(i, i + 1) for i, t in enumerate(tags) if "exercise" in t]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercises_are_left_open_with_a_collapsed_solution_after_each(path):
    nb = nbformat.read(path, as_version=4)
    pairs = exercise_cells(nb)
    assert 2 <= len(pairs) <= 4, f"{path.name}: needs two to four exercises, has {len(pairs)}"
    solutions = {i for i, c in enumerate(nb.cells) if "solution" in c.metadata.get("tags", [])}
    assert solutions == {s for _, s in pairs}, \
        f"{path.name}: every exercise cell needs a solution cell right after it, and only then"
    for exercise, solution in pairs:
        ex, sol = nb.cells[exercise], nb.cells[solution]
        assert ex.cell_type == sol.cell_type == "code"
        assert re.search(r"^\w+\s*=\s*None\b", ex.source, re.M), \
            f"{path.name} cell {exercise}: the learner's answer must start as None"
        assert ".check(" in ex.source and ".check(" in sol.source and "solution=True" in \
            sol.source, f"{path.name} cells {exercise}-{solution}: check the answer in both"
        assert sol.metadata.get("jupyter", {}).get("source_hidden"), \
            f"{path.name} cell {solution}: the solution cell must be collapsed"


# --------------------------------------------------------------------------- offline guard
# The guard is installed in this process by conftest.py, and in every kernel the tests start
# by putting tests/netguard on its PYTHONPATH (kernel_env below), where Python imports it as
# sitecustomize before any notebook code runs.

REMOTE_V4, REMOTE_V6 = ("192.0.2.1", 80), ("2001:db8::1", 80)  # documentation addresses


def _ipv6_loopback_works() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def _connect(sock: socket.socket, address) -> None:
    sock.connect(address)


def _connect_ex(sock: socket.socket, address) -> None:
    sock.connect_ex(address)


@pytest.mark.parametrize("call", [_connect, _connect_ex], ids=["connect", "connect_ex"])
@pytest.mark.parametrize("family,address", [(socket.AF_INET, REMOTE_V4),
                                            (socket.AF_INET6, REMOTE_V6 + (0, 0))],
                         ids=["ipv4", "ipv6"])
def test_the_guard_refuses_remote_addresses(call, family, address):
    with socket.socket(family, socket.SOCK_STREAM) as sock, \
            pytest.raises(netguard.NetworkAccessError, match="not allowed"):
        call(sock, address)


@pytest.mark.parametrize("host", ["192.0.2.1", "2001:db8::1", "example.org"])
def test_the_guard_refuses_create_connection_and_name_lookups(host):
    with pytest.raises(netguard.NetworkAccessError, match="not allowed"):
        socket.create_connection((host, 80), timeout=0.5)
    with pytest.raises(netguard.NetworkAccessError, match="not allowed"):
        socket.getaddrinfo(host, 80)


@pytest.mark.parametrize("args", [(REMOTE_V4,), (0, REMOTE_V4)], ids=["address", "flags"])
def test_the_guard_refuses_udp_datagrams_to_remote_addresses(args):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, \
            pytest.raises(netguard.NetworkAccessError, match="not allowed"):
        sock.sendto(b"x", *args)


def test_the_guard_lets_udp_datagrams_reach_loopback():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        sender.sendto(b"ping", receiver.getsockname())
        assert receiver.recv(16) == b"ping"


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_the_guard_lets_loopback_through(host):
    if ":" in host and not _ipv6_loopback_works():
        pytest.skip("this machine has no IPv6 loopback")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as server:
        server.bind((host if host != "localhost" else "127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        accepted = threading.Thread(target=lambda: server.accept()[0].close(), daemon=True)
        accepted.start()
        with socket.create_connection((host, port), timeout=5):
            pass
        accepted.join(5)


#: The backend a Jupyter kernel picks by itself; conftest.py sets Agg for this process, and
#: a kernel would inherit it and skip drawing every figure.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def kernel_env(cache: Path) -> dict[str, str]:
    """Fast mode, a private model cache, figures drawn as in Jupyter, and the loopback-only
    socket guard."""
    return {
        "AELIB_FAST": "1",
        "AELIB_CACHE_DIR": str(cache),
        "MPLBACKEND": INLINE_BACKEND,
        "PYTHONPATH": guarded_pythonpath(),
    }


PROBE = """\
import socket
for label, attempt in [
    ("connect", lambda: socket.socket().connect(("192.0.2.1", 80))),
    ("connect_ex", lambda: socket.socket().connect_ex(("192.0.2.1", 80))),
    ("create_connection", lambda: socket.create_connection(("192.0.2.1", 80), timeout=0.5)),
    ("ipv6", lambda: socket.socket(socket.AF_INET6).connect(("2001:db8::1", 80, 0, 0))),
    ("lookup", lambda: socket.getaddrinfo("example.org", 443)),
    ("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(
        b"x", ("192.0.2.1", 53))),
]:
    try:
        attempt()
        print(label, "connected")
    except OSError as error:
        print(label, type(error).__name__)
"""


@pytest.mark.notebook
def test_kernels_started_by_the_tests_cannot_reach_the_network(tmp_path):
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    path = tmp_path / "probe.ipynb"
    nbformat.write(probe, path)
    result = execute(path, env=kernel_env(tmp_path / "cache"), cell_timeout=60)
    lines = result.notebook.cells[0].outputs[0]["text"].split("\n")
    assert [ln for ln in lines if ln] == [f"{label} NetworkAccessError" for label in
                                          ("connect", "connect_ex", "create_connection",
                                           "ipv6", "lookup", "udp")]


WHO_AM_I = """\
import os
from ipykernel.kernelapp import IPKernelApp
app = IPKernelApp.instance()
print(os.getpid(), app.transport, os.path.dirname(app.ip))
"""


@pytest.mark.notebook
def test_kernels_use_private_unix_sockets_and_are_shut_down(tmp_path):
    path = tmp_path / "who.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(WHO_AM_I)]), path)
    result = execute(path, env=kernel_env(tmp_path / "cache"), cell_timeout=60)
    pid, transport, folder = result.notebook.cells[0].outputs[0]["text"].split()
    assert transport == "ipc"  # no TCP port opened, so nothing listens on the network
    assert Path(folder).name.startswith("aelib-kernel-") and not Path(folder).exists()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists(), f"kernel {pid} outlived execute()"


# --------------------------------------------------------------------------- executions

@dataclass
class Run:
    """One execution of a notebook: its result, or the failure that stopped it."""

    result: Result | None
    failure: NotebookFailed | None
    cache: Path


_RUNS: dict[tuple[str, str], Run] = {}


def variant_parameters(path: Path) -> dict[str, object]:
    """Run C's parameters: a second seed, and the 8x8 digits where the notebook takes a
    DATASET."""
    parameters: dict[str, object] = {"SEED": SECOND_SEED}
    if "DATASET" in parameter_names(nbformat.read(path, as_version=4)):
        parameters["DATASET"] = SMALL_DATASET
    return parameters


def run(path: Path, name: str, tmp_root: Path) -> Run:
    """Run A, B or C of ``path``, executed once per test session and shared by the tests."""
    key = (path.stem, name)
    if key not in _RUNS:
        cache = tmp_root / f"{path.stem}-{name}-cache"
        options = {"A": {"passes": 2, "measure_memory": True},
                   "B": {},
                   "C": {"parameters": variant_parameters(path)}}[name]
        try:
            pack = lecturer.load(path)
            if name == "B":
                options["notebook"] = korean_notebook(path)
                pack = korean_pack(path)
            # Every run fills the speaker notes, as make run does: a note that quotes a value
            # the notebook no longer has fails the run, naming its cell.
            notes = lecturer.note_templates(pack, "ko" if name == "B" else "en")
            result = execute(path, env=kernel_env(cache), cell_timeout=CELL_TIMEOUT_SECONDS,
                             notes=notes, **options)
            _RUNS[key] = Run(result, None, cache)
        except NotebookFailed as failure:
            _RUNS[key] = Run(None, failure, cache)
    return _RUNS[key]


def require(found: Run, what: str) -> Result:
    """The run's result, or a failure that names the notebook, the run and the cell."""
    if found.failure is not None:
        pytest.fail(f"{what}: {found.failure}", pytrace=False)
    assert found.result is not None
    return found.result


# --------------------------------------------------------------------------- printed text

# What legitimately differs between two runs with the same seed, and nothing else:
# temporary folders (each run has its own model cache), object addresses in reprs, and
# wall-clock durations ("3.2 s", "150 ms", "12 seconds").
_NORMALISERS = [
    (re.compile(r"(/private)?/tmp/[^\s'\"),]*"), "<tmp>"),
    (re.compile(r"\b0x[0-9a-fA-F]{6,}\b"), "0x…"),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:s|ms|µs|sec|secs|seconds?)\b"), "<duration>"),
]


def normalise(text: str) -> str:
    for pattern, replacement in _NORMALISERS:
        text = pattern.sub(replacement, text)
    return text


def text_outputs(nb: nbformat.NotebookNode) -> list[tuple[int, str, tuple[str, ...]]]:
    """(cell index, everything the cell printed, its ``text/plain`` results and displays),
    normalised, for every code cell that printed or showed something.

    A cell's printed text is joined into one string: the kernel sends it in chunks whose
    boundaries depend on timing. Standard error is left out: it carries warnings and progress
    bars, not results.
    """
    texts = []
    for index, cell in enumerate(nb.cells):
        printed, shown = [], []
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream" and output.get("name") == "stdout":
                printed.append(output.get("text", ""))
            elif kind in ("execute_result", "display_data"):
                shown.append(normalise(output.get("data", {}).get("text/plain", "")))
        if printed or shown:
            texts.append((index, normalise("".join(printed)), tuple(shown)))
    return texts


def first_difference(a: list, b: list) -> str:
    for entry_a, entry_b in zip(a, b, strict=False):
        if entry_a != entry_b:
            return (f"cell {entry_a[0]} showed {str(entry_a[1:])[:400]!r} in run A, cell "
                    f"{entry_b[0]} showed {str(entry_b[1:])[:400]!r} in run B")
    return f"run A has output in {len(a)} cells, run B in {len(b)}"


# --------------------------------------------------------------------------- notebook checks


@pytest.mark.notebook
@pytest.mark.timeout(RUN_TIMEOUT_SECONDS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_offline_twice_in_one_kernel(path, runs_root):
    """Run A: Run All, then Run All again in the same kernel, fast mode, fresh cache."""
    require(run(path, "A", runs_root), "run A (Run All twice in one kernel)")


@pytest.mark.notebook
@pytest.mark.timeout(RUN_TIMEOUT_SECONDS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_peak_memory_stays_under_2_gb(path, runs_root, request):
    result = require(run(path, "A", runs_root), "run A (Run All twice in one kernel)")
    assert result.peak_rss is not None, "the kernel's memory could not be measured"
    # Shown by `pytest --junitxml=...` as a property of the test case.
    request.node.user_properties.append(("peak_rss_mib", round(result.peak_rss / 2**20)))
    assert result.peak_rss < PEAK_MEMORY_LIMIT, \
        f"{path.name}: the kernel's peak memory was {result.peak_rss / 2**30:.2f} GB"


@pytest.mark.notebook
@pytest.mark.timeout(RUN_TIMEOUT_SECONDS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_prints_the_same_numbers_in_a_second_fresh_run(path, runs_root):
    first = require(run(path, "A", runs_root), "run A (Run All twice in one kernel)")
    second = require(run(path, "B", runs_root),
                     "run B (the Korean edition in a second fresh kernel, same seed)")
    korean = copy.deepcopy(second.notebook)   # without its one added cell, which prints nothing
    korean.cells = [c for c in korean.cells if TRANSLATION_TAG not in c.metadata.get("tags", [])]
    a, b = text_outputs(first.first_pass), text_outputs(korean)
    assert a, f"{path.name} printed nothing to compare"
    assert a == b, f"{path.name} is not deterministic under SEED: {first_difference(a, b)}"


@pytest.mark.notebook
@pytest.mark.timeout(RUN_TIMEOUT_SECONDS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_open_exercises_do_not_pass_and_every_solution_does(path, runs_root):
    """Run A's first pass: the learner's cells say "not answered yet" (their answer is None,
    and a check cannot pass with it); the solution cells after them pass their check."""
    nb = require(run(path, "A", runs_root), "run A (Run All twice in one kernel)").first_pass
    for exercise, solution in exercise_cells(nb):
        said = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                       for o in nb.cells[exercise].outputs)
        assert "not answered yet" in said, \
            f"{path.name} cell {exercise}: an open exercise showed {said!r}"
        solved = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                         for o in nb.cells[solution].outputs)
        assert "✓" in solved, f"{path.name} cell {solution}: the solution showed {solved!r}"


@pytest.mark.notebook
@pytest.mark.timeout(RUN_TIMEOUT_SECONDS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_with_a_second_seed_and_the_small_dataset(path, runs_root):
    parameters = variant_parameters(path)
    described = ", ".join(f"{k} = {v!r}" for k, v in parameters.items())
    require(run(path, "C", runs_root), f"run C ({described})")
