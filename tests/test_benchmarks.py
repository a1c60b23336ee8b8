"""benchmarks/bench_training.py, bench_scaling.py, bench_penalties.py and bench_phases.py
still run end to end (tiny settings; no timing is asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import ROOT, guarded_pythonpath

pytestmark = pytest.mark.benchmark

SCRIPT = ROOT / "benchmarks" / "bench_training.py"


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": guarded_pythonpath(ROOT)}
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_timed_run_reports_both_aelib_runs_against_the_reference():
    done = run_bench("--epochs", "1", "--aelib-epochs", "2", "--repeats", "2", "--threads", "1")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"reference \(DataLoader, per-item ToTensor\): 1 epochs, best [\d.]+ s", out)
    ratios = re.findall(r"paired ([\d.]+) ([\d.]+), median ([\d.]+)", out)
    assert len(ratios) == 2, out  # fit's default recipe and the reference's own
    for first, second, median in ratios:  # printed to 3 decimals
        assert abs(float(median) - (float(first) + float(second)) / 2) <= 1.5e-3
    assert "aelib fit, lr 0.01, batch 128, one_cycle over 2:" in out
    assert "the reference's recipe (like for like)" in out


def test_sweep_lists_epochs_for_every_held_out_pair_and_recipe():
    done = run_bench("--sweep", "--sweep-lrs", "3e-3", "--sweep-batches", "64",
                     "--sweep-schedules", "one_cycle", "constant", "--sweep-epochs", "1", "2",
                     "--epochs", "1", "--threads", "1")
    assert done.returncode == 0, done.stderr
    lines = [text for text in done.stdout.splitlines() if text.startswith("  lr 0.003")]
    # one_cycle over each budget; a constant rate has no span, so only the largest budget
    assert [line.split(":")[0] for line in lines] == [
        "  lr 0.003, batch 64, one_cycle over 1", "  lr 0.003, batch 64, one_cycle over 2",
        "  lr 0.003, batch 64, constant over 2"]
    for line in lines:
        counts = line.split("epochs ")[1].split(";")[0].split()
        assert len(counts) == 9 and all(c in {"1", "2", "-"} for c in counts), line


def test_sweep_refuses_bad_settings():
    done = run_bench("--sweep", "--sweep-lrs", "fast")
    assert done.returncode != 0 and "invalid float value: 'fast'" in done.stderr
    done = run_bench("--sweep", "--sweep-lrs", "1e-3", "-1")
    assert done.returncode != 0 and "must be positive" in done.stderr
    done = run_bench("--sweep", "--sweep-schedules", "cosine")
    assert done.returncode != 0 and "expected one of ('one_cycle', 'constant')" in done.stderr


def test_grid_reports_every_pair_and_the_median_and_worst_ratio():
    done = run_bench("--grid", "--seeds", "0", "1", "--splits", "0", "1", "--epochs", "1",
                     "--aelib-epochs", "2", "--threads", "1")
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()
            if re.match(r"\s+\d+\s+\d+\s+[\d.]+", line)]
    assert [(r[0], r[1]) for r in rows] == [("0", "0"), ("0", "1"), ("1", "0"), ("1", "1")]
    ratios = sorted(float(r[7]) for r in rows)
    summary = re.search(r"4 pairs, (\d) reached .*ratio median ([\d.]+), worst ([\d.]+)",
                        done.stdout)
    assert summary, done.stdout
    assert abs(float(summary[2]) - (ratios[1] + ratios[2]) / 2) <= 1.5e-3
    assert float(summary[3]) == ratios[-1]
    for row in rows:  # measured the reference's way, a reached loss is at the target too
        assert row[4] == "-" or float(row[10]) <= 1.01 * float(row[9]), row


def test_scaling_reports_every_size_and_width():
    env = {**os.environ, "PYTHONPATH": guarded_pythonpath(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_scaling.py"),
                           "--sizes", "600", "1200", "--widths", "16", "32", "--epochs", "2",
                           "--threads", "1"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    sizes = re.findall(r"^\s+(\d+)\s+400\s+([\d.]+)\s+([\d.]+) \(([\d.]+)x\)", done.stdout, re.M)
    assert [s[0] for s in sizes] == ["600", "1200"] and sizes[0][3] == "1.00", done.stdout
    for n, seconds, per_k, _ in sizes:  # ms per 1,000 images, from the seconds per epoch
        assert abs(float(per_k) - 1e6 * float(seconds) / int(n)) <= 0.01 * float(per_k) + 1
    widths = re.findall(r"^\s+600\s+(16|32)\s+[\d.]+$", done.stdout, re.M)
    assert widths == ["16", "32"], done.stdout


def test_penalties_benchmark_checks_the_three_exact_penalties_and_times_every_row():
    env = {**os.environ, "PYTHONPATH": guarded_pythonpath(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_penalties.py"),
                           "--repeats", "2", "--warmup", "1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "the four exact penalties agree" in done.stdout, done.stdout
    rows = re.findall(r"^(MLP|conv)\s+(.+?)\s+([\d.]+)\s+([\d.]+)$", done.stdout, re.M)
    assert [(arch, name) for arch, name, _, _ in rows] == [
        ("MLP", "none"), ("MLP", "sparse"), ("MLP", "stochastic contractive"),
        ("MLP", "contractive (aelib)"), ("MLP", "contractive (whole Jacobian)"),
        ("MLP", "contractive (autograd loop)"), ("MLP", "contractive (closed form)"),
        ("conv", "none"), ("conv", "sparse"), ("conv", "stochastic contractive"),
        ("conv", "contractive (aelib)")], done.stdout
    base = {arch: float(ms) for arch, name, ms, _ in rows if name == "none"}
    for arch, _, ms, ratio in rows:  # each ratio is its time over the plain step's
        assert abs(float(ratio) - float(ms) / base[arch]) <= 0.01 + 0.01 * float(ratio)


def test_phases_benchmark_times_both_ways_and_reports_their_ratio():
    env = {**os.environ, "PYTHONPATH": guarded_pythonpath(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_phases.py"),
                           "--epochs", "1", "--repeats", "1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"^(phase_loss|whole loss)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+), ([\d.]+), "
                      r"([\d.]+)$", done.stdout, re.M)
    assert [row[0] for row in rows] == ["phase_loss", "whole loss"], done.stdout
    assert rows[1][2] == "1.00"
    # The ratio is of the unrounded times: it lies within what the printed ones allow.
    ratio, mine, whole = float(rows[0][2]), float(rows[0][1]), float(rows[1][1])
    assert (mine - 0.005) / (whole + 0.005) - 0.005 <= ratio <= (mine + 0.005) / (whole - 0.005) \
        + 0.005, done.stdout
    for row in rows:   # one epoch of training: finite losses near the game's start
        assert 0.5 < float(row[4]) < 2.0 and 0.2 < float(row[5]) < 5.0, done.stdout
