"""How the cost of ``fit`` grows with the number of training images and the hidden width.

The bundled subset has 5,000 images. Larger training sets are made from it by tiling: every
copy after the first is shifted by a random whole number of pixels (up to 2 in each
direction), so no two copies are identical. For each size and each hidden width, a VAE
784-w-20 (Bernoulli) is trained by ``fit`` for a few epochs (batch 128, the notebooks'
setting) and the median seconds per epoch after the first (a warm-up) is reported, with the
time per 1,000 images, which stays flat where the cost is linear in N.

Run from the repository root:  .venv/bin/python benchmarks/bench_scaling.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics

import numpy as np
import torch

from aelib.data import load_dataset
from aelib.models import ModelConfig, build_model
from aelib.runtime import configure_threads
from aelib.training import fit

BATCH_SIZE = 128


def tiled_images(images: np.ndarray, n: int, *, seed: int = 0) -> torch.Tensor:
    """``n`` images (n, 784) in [0, 1]: ``images`` (m, 28, 28) uint8, then shifted copies."""
    rng = np.random.default_rng(seed)
    copies = [images]
    while sum(len(c) for c in copies) < n:
        dy, dx = rng.integers(-2, 3, size=2)
        copies.append(np.roll(images, (int(dy), int(dx)), axis=(1, 2)))
    tiled = np.concatenate(copies)[:n]
    return torch.from_numpy(tiled.reshape(n, -1)).to(torch.float32).div(255)


def seconds_per_epoch(train_x: torch.Tensor, hidden: int, epochs: int) -> float:
    """Median seconds per epoch of ``fit`` after its first epoch (a warm-up)."""
    config = ModelConfig(kind="vae", input_dim=784, hidden=(hidden,), latent_dim=20,
                         likelihood="bernoulli")
    history = fit(build_model(config, seed=0), train_x, epochs=epochs, batch_size=BATCH_SIZE,
                  lr=1e-3, seed=0, progress=False)
    return statistics.median(history.seconds[1:] or history.seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4000, 16000, 64000],
                        help="training set sizes at hidden width 400 (4000 16000 64000)")
    parser.add_argument("--widths", type=int, nargs="+", default=[200, 400, 600, 800],
                        help="hidden widths at the first size (200 400 600 800)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run, the first "
                                                              "not counted (4)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (2)")
    args = parser.parse_args()
    if args.epochs < 1 or min(args.sizes + args.widths) < 1:
        raise SystemExit("--epochs, --sizes and --widths must be positive")
    threads = configure_threads(args.threads)
    images = load_dataset("mnist_subset").images
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{threads} torch threads; VAE 784-w-20, batch {BATCH_SIZE}, {args.epochs} epochs "
          "per run, the first not counted")

    print(f"\n{'images':>7} {'width':>5} {'s/epoch':>8} {'ms per 1k images':>17}")
    base = None
    for n in args.sizes:
        seconds = seconds_per_epoch(tiled_images(images, n), 400, args.epochs)
        per_k = 1000 * seconds / n * 1000
        base = base or per_k
        print(f"{n:>7} {400:>5} {seconds:>8.3f} {per_k:>11.2f} ({per_k / base:.2f}x)",
              flush=True)

    n = args.sizes[0]
    train_x = tiled_images(images, n)
    print(f"\n{'images':>7} {'width':>5} {'s/epoch':>8}")
    for width in args.widths:
        print(f"{n:>7} {width:>5} {seconds_per_epoch(train_x, width, args.epochs):>8.3f}",
              flush=True)


if __name__ == "__main__":
    main()
