"""What the AAE's phase-aware steps save: ``phase_loss`` against the whole loss at every step.

``fit`` takes three steps per batch for an adversarial autoencoder (reconstruction,
discriminator, generator). The first computes every term of ``loss`` (they are recorded in the
history); the other two call ``AdversarialAutoencoder.phase_loss``, which computes only its own
term: the discriminator's step encodes without gradients and never decodes, the generator's
encodes and asks D. The alternative times ``LatentModel.phase_loss``, which takes the term from
the whole ``loss`` at every step (decoder, reconstruction and prior draws included): what
``fit`` would do without the override.

Both train notebook 09's labelled mixture AAE (the pair's 784-256-64-2 autoencoder, a
2-128-128-1 discriminator reading the one-hot label, batch 128) for ``--epochs`` epochs on the
4,000 training digits, with the same seed, after one untimed warm-up run of each; the runs
alternate, and each figure is the median over ``--repeats`` runs. The two do not draw the
same random numbers (the whole loss draws a batch of the prior at the generator's step too),
so their weights differ; the last epoch's losses are printed beside the times.

Run from the repository root:  .venv/bin/python benchmarks/bench_phases.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from aelib import zoo
from aelib.models import AdversarialAutoencoder, LatentModel, build_model
from aelib.runtime import configure_threads
from aelib.training import fit


class WholeLossAAE(AdversarialAutoencoder):
    """The same model, every step computing the whole loss and taking its own term."""

    phase_loss = LatentModel.phase_loss


def train_once(cls: type[AdversarialAutoencoder], x: torch.Tensor, y: torch.Tensor,
               epochs: int) -> tuple[float, dict[str, float]]:
    """(seconds, the last epoch's training terms) of one ``fit`` of a fresh ``cls``."""
    config = zoo.pair_configs(x.shape[1])["ae"].replace(kind="aae", prior="mixture",
                                                       prior_labels=True)
    model = cls(config)
    model.load_state_dict(build_model(config, seed=0).state_dict())
    started = time.perf_counter()
    history = fit(model, x, train_y=y, epochs=epochs, lr=zoo.adversarial_recipe(fast=False).lr,
                  seed=0, progress=False)
    seconds = time.perf_counter() - started
    return seconds, {term: getattr(history, f"train_{term}")[-1]
                     for term in ("reconstruction", "discriminator", "generator")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="epochs per run (5)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each (5)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1, as the "
                                                              "notebooks use)")
    args = parser.parse_args()
    if args.epochs < 1 or args.repeats < 1:
        raise SystemExit("--epochs and --repeats must be positive")
    threads = configure_threads(args.threads)
    train, _ = zoo.pair_data(seed=0)
    x, y = train.to_tensor(), torch.as_tensor(train.labels).long()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{threads} torch threads; {args.epochs} epochs on {len(x)} digits, median of "
          f"{args.repeats} alternating runs")
    for cls in (AdversarialAutoencoder, WholeLossAAE):   # untimed: the first fit warms up
        train_once(cls, x[:512], y[:512], 1)
    times: dict[str, list[float]] = {"phase_loss": [], "whole loss": []}
    last: dict[str, dict[str, float]] = {}
    for _ in range(args.repeats):
        for name, cls in (("phase_loss", AdversarialAutoencoder), ("whole loss", WholeLossAAE)):
            seconds, last[name] = train_once(cls, x, y, args.epochs)
            times[name].append(seconds)
    base = statistics.median(times["whole loss"])
    print(f"\n{'steps':<12}{'s per run':>10}{'x whole':>9}   last epoch: reconstruction, D, G")
    for name, runs in times.items():
        median = statistics.median(runs)
        terms = ", ".join(f"{value:.3f}" for value in last[name].values())
        print(f"{name:<12}{median:>10.2f}{median / base:>9.2f}   {terms}")


if __name__ == "__main__":
    main()
