"""Negative log-likelihoods: the losses of notebook 01, written out.

A network outputs the parameters of a distribution over its target; training minimises the
negative log-likelihood of the observed targets. Each function takes a batch (n, ...), or (n,)
for n scalar samples, and returns one NLL per sample, shape (n,), summed over the features.
Average it over the batch to get a training loss.

Distribution      parameters from the net      NLL per sample               usual name
Gaussian          mean (and sigma)             see ``gaussian_nll``         (scaled) MSE
Bernoulli         logits l, p = sigmoid(l)     -[y log p + (1-y) log(1-p)]  binary cross-entropy
Categorical       logits a, p = softmax(a)     -log p_y                     cross-entropy
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from aelib._checks import integer, positive, same_length, tensor, validate

LOG_2PI = math.log(2.0 * math.pi)


def _sum_features(values: torch.Tensor) -> torch.Tensor:
    """(n, ...) -> (n,): sum over every dimension but the first."""
    return values if values.ndim == 1 else values.flatten(1).sum(dim=1)


def _sigma(value: Any, name: str, args: Mapping[str, Any]) -> float | torch.Tensor:
    """A positive float, or a positive tensor that broadcasts to the target's shape."""
    if not isinstance(value, torch.Tensor):
        return positive(value, name)
    value = tensor()(value, name)
    shape, target = tuple(value.shape), tuple(args["target"].shape)
    positive(value.min().item(), f"min({name})")
    # It must broadcast *to* target's shape, not to a bigger one such as (1, n, d).
    trailing = zip(reversed(shape), reversed(target), strict=False)
    if len(shape) > len(target) or any(s not in (1, t) for s, t in trailing):
        raise ValueError(f"{name} of shape {shape} does not broadcast to target {target}")
    return value


@validate(target=tensor(), mean=tensor(like="target"), sigma=_sigma)
def gaussian_nll(target: torch.Tensor, mean: torch.Tensor,
                 sigma: float | torch.Tensor = 1.0) -> torch.Tensor:
    """-log N(target; mean, sigma^2), summed over features; (n, ...) -> (n,). sigma: a float,
    or a tensor broadcasting to target (a learned sigma)."""
    # Per feature (target - mean)^2 / (2 sigma^2) + log sigma + log(2 pi) / 2: with a fixed
    # sigma, the squared error scaled, plus a constant.
    log_sigma = torch.log(sigma) if isinstance(sigma, torch.Tensor) else math.log(sigma)
    return _sum_features((target - mean) ** 2 / (2.0 * sigma**2) + log_sigma + 0.5 * LOG_2PI)


@validate(target=tensor(unit=True), logits=tensor(like="target"))
def bernoulli_nll(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """-log Bernoulli(target; sigmoid(logits)), summed over features; (n, ...) -> (n,)."""
    # Computed from the logit, never taking log 0. For grey levels (MNIST) it is the usual
    # cross-entropy surrogate, not a true likelihood.
    return _sum_features(F.binary_cross_entropy_with_logits(logits, target, reduction="none"))


def _scores_for(value: Any, name: str, args: Mapping[str, Any]) -> torch.Tensor:
    value, target = tensor(ndim=2)(value, name), args["target"]
    if target.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise TypeError(f"target must hold integer class indices, got dtype {target.dtype}")
    value = same_length("target", tensor(2))(value, name, args)
    for end in (target.min(), target.max()):  # a class index in [0, K)
        integer(0, value.shape[1] - 1)(int(end), "target")
    return value


@validate(target=tensor(ndim=1, floating=False), logits=_scores_for)
def categorical_nll(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """-log softmax(logits)[target], the cross-entropy (of the source's "Multinoulli");
    target (n,) class indices, logits (n, K) -> (n,)."""
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    return -log_probs.gather(1, target.long().unsqueeze(1)).squeeze(1)
