"""Reproducibility and CPU settings: seeds and thread counts."""

from __future__ import annotations

import os
import random

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from aelib._checks import integer, validate


@validate(seed=integer(0, 2**32 - 1))
def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's, NumPy's and torch's global generators with ``seed``; return a fresh
    ``numpy.random.Generator`` seeded the same way. The same seed repeats CPU training exactly."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeding the legacy global state is the point here
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


@validate(max_threads=integer(1))
def configure_threads(max_threads: int = 4) -> int:
    """Use at most ``max_threads`` threads (no more than this process's CPUs, nor than the
    environment variable AELIB_MAX_THREADS if set) in torch and in the BLAS and OpenMP
    libraries behind NumPy and scikit-learn; return the number in use. ``make run`` sets
    AELIB_MAX_THREADS so that kernels running side by side share the cores."""
    # Many threads buy small models little; on busy cores, waiting threads slow them many times.
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cap = os.environ.get("AELIB_MAX_THREADS", "").strip()
    if cap:
        if not cap.isdigit() or int(cap) < 1:
            raise ValueError(f"the environment variable AELIB_MAX_THREADS must be a whole number "
                             f">= 1, got {cap!r}")
        max_threads = min(max_threads, int(cap))
    threads = max(1, min(max_threads, available or 1))
    torch.set_num_threads(threads)
    threadpool_limits(threads)  # lasts for the process, like torch.set_num_threads
    return threads
