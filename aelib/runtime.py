"""Reproducibility and CPU settings: seeds and thread counts."""

from __future__ import annotations

import os
import random

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from aelib._checks import check_int


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's, NumPy's and torch's global generators with ``seed``.

    Returns a fresh ``numpy.random.Generator`` seeded the same way, for code that prefers
    an explicit generator. With the same seed, training on the CPU repeats bit for bit.
    """
    seed = check_int(seed, "seed", minimum=0, maximum=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeding the legacy global state is the point here
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def configure_threads(max_threads: int = 4) -> int:
    """Use at most ``max_threads`` threads, and no more than the CPUs this process has, both in
    torch and in the BLAS and OpenMP libraries behind NumPy and scikit-learn.

    Small models on a laptop gain little from many threads and lose time to their
    synchronisation; when other programs keep the cores busy, threads that wait for each other
    can make training many times slower, and ``configure_threads(1)`` is the cure. Returns the
    number of threads now in use.
    """
    max_threads = check_int(max_threads, "max_threads", minimum=1)
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = max(1, min(max_threads, available or 1))
    torch.set_num_threads(threads)
    threadpool_limits(threads)  # lasts for the process, like torch.set_num_threads
    return threads
