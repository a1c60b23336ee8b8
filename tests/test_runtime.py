"""aelib.runtime, aelib.paths and the notebook runner: seeds, threads, safe files, failures."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import aelib
from aelib.paths import atomic_write, locked
from scripts.notebook_runner import NotebookFailed, execute, inject_parameters


def test_seed_everything_repeats_every_generator():
    def draw():
        rng = aelib.seed_everything(7)
        return (random.random(), np.random.rand(), torch.rand(1).item(), rng.random())  # noqa: NPY002

    assert draw() == draw()
    aelib.seed_everything(8)
    assert torch.rand(1).item() != draw()[2]


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_seed_everything_rejects_out_of_range_seeds(seed):
    with pytest.raises(ValueError, match="seed"):
        aelib.seed_everything(seed)


def test_seed_everything_rejects_non_integers():
    with pytest.raises(TypeError, match="seed"):
        aelib.seed_everything(1.5)


def test_configure_threads_caps_the_thread_count():
    before = torch.get_num_threads()
    try:
        assert aelib.configure_threads(1) == 1 == torch.get_num_threads()
        blas = [pool["num_threads"] for pool in threadpool_info()]
        assert blas and set(blas) == {1}, f"BLAS/OpenMP pools still use {blas} threads"
        assert 1 <= aelib.configure_threads(64) <= 64
    finally:
        torch.set_num_threads(before)
        threadpool_limits(os.cpu_count())
    with pytest.raises(ValueError, match="max_threads"):
        aelib.configure_threads(0)


def test_aelib_max_threads_caps_configure_threads(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("AELIB_MAX_THREADS", "1")
        assert aelib.configure_threads(64) == 1 == torch.get_num_threads()
        for bad in ("0", "two", "-1"):
            monkeypatch.setenv("AELIB_MAX_THREADS", bad)
            with pytest.raises(ValueError, match=f"AELIB_MAX_THREADS must be a whole number "
                                                 f">= 1, got '{bad}'"):
                aelib.configure_threads()
    finally:
        torch.set_num_threads(before)
        threadpool_limits(os.cpu_count())


def test_locked_makes_a_second_process_wait(tmp_path):
    """The child takes the lock and says so; the parent's lock is granted only after the
    child has written its file and let go."""
    target, marker = tmp_path / "model.pt", tmp_path / "written"
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from aelib.paths import locked\n"
         f"with locked({str(target)!r}):\n"
         "    print('held', flush=True); sys.stdin.readline(); time.sleep(0.2)\n"
         f"    Path({str(marker)!r}).write_text('done')\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        child.stdin.write("go\n")
        child.stdin.flush()
        with locked(target):
            assert marker.read_text() == "done"
    finally:
        child.wait(timeout=60)
    assert child.returncode == 0


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
    with atomic_write(target) as handle:
        handle.write(b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


@pytest.mark.notebook
def test_a_failing_notebook_is_reported_by_name_and_cell(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# title"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("1 / 0"),
    ])
    path = tmp_path / "07_broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(NotebookFailed, match=r"07_broken.ipynb failed in cell 2: ZeroDivision"):
        execute(path, cell_timeout=30)


def _with_parameters(*cells: str) -> nbformat.NotebookNode:
    params = nbformat.v4.new_code_cell("SEED = 1\nDATASET = 'mnist'",
                                       metadata={"tags": ["parameters"]})
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# title"), params,
                                           *map(nbformat.v4.new_code_cell, cells)])


def test_parameters_are_injected_after_the_parameters_cell():
    nb, index = inject_parameters(_with_parameters("x = 1"), {"SEED": 0, "DATASET": "digits"})
    assert index == 2 and nb.cells[index].metadata.tags == ["injected-parameters"]
    assert 'SEED = 0\nDATASET = "digits"' in nb.cells[index].source
    assert [c.source for c in nb.cells[index + 1:]] == ["x = 1"]


def test_a_parameter_the_notebook_lacks_and_a_notebook_without_parameters_are_refused(tmp_path):
    path = tmp_path / "07_params.ipynb"
    nbformat.write(_with_parameters("x = 1"), path)
    with pytest.raises(ValueError, match=r"07_params.ipynb has no parameter 'SEEDS'; its "
                                         r"parameters cell assigns DATASET, SEED"):
        execute(path, parameters={"SEEDS": 1})
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("SEED = 0")]), path)
    with pytest.raises(ValueError, match=r"07_params.ipynb must have exactly one cell tagged "
                                         r"'parameters', a code cell; found \[\]"):
        execute(path, parameters={"SEED": 1})


@pytest.mark.notebook
def test_a_failure_after_injected_parameters_names_the_cell_of_the_file(tmp_path):
    path = tmp_path / "07_params.ipynb"
    nbformat.write(_with_parameters("x = 1", "x / SEED"), path)
    with pytest.raises(NotebookFailed, match=r"07_params.ipynb failed in cell 3: ZeroDivision"):
        execute(path, cell_timeout=30, parameters={"SEED": 0})


@pytest.mark.notebook
def test_run_all_runs_kernels_side_by_side_with_their_share_of_threads(tmp_path):
    """Both workers take a job at once; each kernel is told its share of the CPUs; a failure
    comes back as a value, and no job starts after the caller stops."""
    from scripts.run_notebooks import run_all

    def notebook(name: str, *cells: str) -> Path:
        path = tmp_path / name
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c)
                                                       for c in cells]), path)
        return path

    # Each of the first two waits until the other has started: one worker alone would hang.
    meet = ("import os, time, pathlib\n"
            "here, other = pathlib.Path({here!r}), pathlib.Path({other!r})\n"
            "here.touch()\n"
            "deadline = time.time() + 60\n"
            "while not other.exists() and time.time() < deadline: time.sleep(0.05)\n"
            "assert other.exists(), 'ran alone'\n"
            "print(os.environ['AELIB_MAX_THREADS'])")
    a, b = tmp_path / "a.started", tmp_path / "b.started"
    first = notebook("01_a.ipynb", meet.format(here=str(a), other=str(b)))
    second = notebook("02_b.ipynb", meet.format(here=str(b), other=str(a)))
    broken = notebook("03_broken.ipynb", "1 / 0")
    never = notebook("04_never.ipynb", f"open({str(tmp_path / 'ran')!r}, 'w')")
    share = str(max(1, (os.cpu_count() or 1) // 2))
    seen = {}
    for path, _, outcome, failure in run_all([(first, None), (second, None)], {}, workers=2):
        assert failure is None, failure
        seen[path.name] = outcome.notebook.cells[0].outputs[0]["text"].strip()
    assert seen == {"01_a.ipynb": share, "02_b.ipynb": share}
    for path, _, _, failure in run_all([(broken, None), (never, None)], {}, workers=1):
        assert path == broken and "ZeroDivisionError" in failure
        break
    assert not (tmp_path / "ran").exists()
