"""What each regulariser of notebook 07 costs per training step, and the exact Jacobian three ways.

For notebook 07's autoencoder (784-128-16, ReLU, Bernoulli decoder) and its convolutional
variant, one training step (loss, backward, Adam) on a batch of 128 bundled MNIST digits is
timed with each penalty of ``ModelConfig``: none, sparse, stochastic contractive and
contractive. The contractive penalty ||dh/dx||_F^2 is what aelib computes with
``torch.func.jacrev`` batched by ``vmap``; two other exact computations of the same number are
timed beside it, for the MLP only:

- a Python loop of one ``torch.autograd.grad`` per code unit (``create_graph=True``), the
  textbook way;
- the closed form for one hidden layer, h = W2 relu(W1 x + b1) + b2: with m the 0/1 pattern of
  active hidden units, ||W2 diag(m) W1||_F^2 = m^T (W2^T W2 * W1 W1^T) m, a product with one
  (hidden x hidden) matrix per batch. It holds for this architecture only.

Before timing, the three are checked to give the same penalty. Each figure is the median over
``--repeats`` steps after ``--warmup`` steps, and its ratio to the plain step of the same
architecture.

Run from the repository root:  .venv/bin/python benchmarks/bench_penalties.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch

from aelib.data import load_dataset
from aelib.models import ModelConfig, build_model
from aelib.runtime import configure_threads

BATCH_SIZE = 128
MLP = ModelConfig(hidden=(128,), latent_dim=16)
CONV = MLP.replace(architecture="conv", hidden=(16, 32))
PENALTIES = {"none": {}, "sparse": {"penalty": "sparse", "penalty_weight": 1.0},
             "stochastic contractive": {"penalty": "stochastic_contractive",
                                        "penalty_weight": 0.1},
             "contractive (aelib)": {"penalty": "contractive", "penalty_weight": 0.1}}


def jacobian_penalty(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """||dh/dx||_F^2 per image from the whole Jacobian (jacrev + vmap over the encoder)."""
    return model.encoder_jacobian(x).pow(2).sum(dim=(1, 2))


def loop_penalty(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """||dh/dx||_F^2 per image, one autograd.grad per code unit: (n, 784) -> (n,)."""
    x = x.detach().requires_grad_(True)
    code = model.encoder(x)
    total = torch.zeros(len(x))
    for k in range(code.shape[1]):
        (row,) = torch.autograd.grad(code[:, k].sum(), x, create_graph=True)  # (n, 784)
        total = total + row.pow(2).sum(dim=1)
    return total


def closed_form_penalty(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """||W2 diag(m) W1||_F^2 = m^T (W2^T W2 * W1 W1^T) m per image, m = relu'(W1 x + b1)."""
    first, last = model.encoder[0], model.encoder[2]
    active = (first(x) > 0).to(x.dtype)                                    # (n, hidden)
    coupling = (last.weight.T @ last.weight) * (first.weight @ first.weight.T)  # (h, h)
    return ((active @ coupling) * active).sum(dim=1)


def step_time(model: torch.nn.Module, x: torch.Tensor, repeats: int, warmup: int,
              penalty: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor] | None = None,
              weight: float = 0.1) -> float:
    """Median seconds of one training step (loss, backward, Adam)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    generator = torch.Generator().manual_seed(0)
    times = []
    for i in range(warmup + repeats):
        started = time.perf_counter()
        if penalty is None:
            loss = model.loss(x, generator=generator).total
        else:
            loss = model.loss(x).reconstruction + weight * penalty(model, x).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i >= warmup:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed steps per row (30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (5)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1, as the "
                                                              "notebooks use)")
    args = parser.parse_args()
    if args.repeats < 1 or args.warmup < 0:
        raise SystemExit("--repeats must be positive and --warmup not negative")
    threads = configure_threads(args.threads)
    x = torch.from_numpy(load_dataset("mnist_subset").images[:BATCH_SIZE].reshape(
        BATCH_SIZE, -1)).float().div(255)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{threads} torch threads; one step on {BATCH_SIZE} digits, median of "
          f"{args.repeats} after {args.warmup}")

    check = build_model(MLP, seed=0)
    exact = check.encoder_jacobian(x).pow(2).sum(dim=(1, 2))
    cae = build_model(MLP.replace(penalty="contractive", penalty_weight=0.1), seed=0)
    for name, other in (("aelib", lambda m, v: cae.penalty(v, cae.encode(v))),
                        ("loop", loop_penalty), ("closed form", closed_form_penalty)):
        if not torch.allclose(other(check, x), exact, rtol=1e-4):
            raise SystemExit(f"the {name} penalty differs from the whole Jacobian's")
    print("the four exact penalties agree (rtol 1e-4)")

    print(f"\n{'architecture':<13}{'penalty':<38}{'ms per step':>12}{'x plain':>9}")
    for arch, config in (("MLP", MLP), ("conv", CONV)):
        rows = {name: step_time(build_model(config.replace(**changes), seed=0), x,
                                args.repeats, args.warmup)
                for name, changes in PENALTIES.items()}
        if arch == "MLP":
            for name, penalty in (("contractive (whole Jacobian)", jacobian_penalty),
                                  ("contractive (autograd loop)", loop_penalty),
                                  ("contractive (closed form)", closed_form_penalty)):
                rows[name] = step_time(build_model(config, seed=0), x, args.repeats,
                                       args.warmup, penalty)
        for name, seconds in rows.items():
            print(f"{arch:<13}{name:<38}{1000 * seconds:>12.2f}{seconds / rows['none']:>9.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
