"""Negative log-likelihoods: the losses of notebook 01, written out.

A network outputs the parameters of a distribution over its target, and training minimises
the negative log-likelihood of the observed targets. Every function here takes a batch whose
first dimension indexes samples and returns one NLL per sample, shape ``(n,)``, summed over the
remaining (feature) dimensions. A 1-D batch of shape ``(n,)`` holds ``n`` scalar samples.
Average the result over the batch to get a training loss.

Distribution      parameters from the net      NLL per sample               usual name
Gaussian          mean (and sigma)             see ``gaussian_nll``         (scaled) MSE
Bernoulli         logits l, p = sigmoid(l)     -[y log p + (1-y) log(1-p)]  binary cross-entropy
Categorical       logits a, p = softmax(a)     -log p_y                     cross-entropy
"""

from __future__ import annotations

import math

import torch

from aelib._checks import check_float, check_tensor

LOG_2PI = math.log(2.0 * math.pi)


def _sum_features(values: torch.Tensor) -> torch.Tensor:
    """(n, ...) -> (n,): sum over every dimension but the first."""
    return values if values.ndim == 1 else values.flatten(1).sum(dim=1)


def _check_pair(target: torch.Tensor, prediction: torch.Tensor, name: str) -> None:
    check_tensor(target, "target")
    check_tensor(prediction, name)
    if target.shape != prediction.shape:
        raise ValueError(f"target and {name} must have the same shape, "
                         f"got {tuple(target.shape)} and {tuple(prediction.shape)}")


def gaussian_nll(target: torch.Tensor, mean: torch.Tensor,
                 sigma: float | torch.Tensor = 1.0) -> torch.Tensor:
    """-log N(target; mean, sigma^2), summed over features; shape (n,).

    Per feature: log sigma + 0.5 log(2 pi) + (target - mean)^2 / (2 sigma^2).
    With a fixed ``sigma`` the first two terms are a constant, so minimising this is
    minimising the sum of squared errors (MSE up to the factor 1 / (2 sigma^2)).

    ``target``, ``mean``: (n, ...) with the same shape. ``sigma``: a positive float, or a
    positive tensor that broadcasts to ``target`` (per sample, per feature, or both), for
    example ``log_sigma.exp()`` from a network that learns its own noise level.
    """
    _check_pair(target, mean, "mean")
    if isinstance(sigma, torch.Tensor):
        check_tensor(sigma, "sigma", nonempty=True)
        if not bool((sigma > 0).all()):
            raise ValueError("sigma must be positive everywhere")
        try:
            # It must broadcast *to* target's shape, not to a bigger one (e.g. (1, n, D)).
            fits = torch.broadcast_shapes(sigma.shape, target.shape) == target.shape
        except RuntimeError:
            fits = False
        if not fits:
            raise ValueError(f"sigma of shape {tuple(sigma.shape)} does not broadcast to "
                             f"target of shape {tuple(target.shape)}")
        log_sigma = torch.log(sigma)
    else:
        sigma = check_float(sigma, "sigma", minimum=0.0, open_low=True)
        log_sigma = torch.tensor(math.log(sigma), dtype=target.dtype)
    per_feature = log_sigma + 0.5 * LOG_2PI + (target - mean) ** 2 / (2.0 * sigma**2)
    per_feature = per_feature.expand(target.shape)
    return _sum_features(per_feature)


def bernoulli_nll(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """-log Bernoulli(target; sigmoid(logits)), summed over features; shape (n,).

    Per feature: -[y log p + (1 - y) log(1 - p)] with p = sigmoid(l), computed from the logit
    l as max(l, 0) - l y + log(1 + exp(-|l|)) so that it never takes the log of 0.
    ``target`` values must lie in [0, 1]. For grey-level images such as MNIST (not strictly
    binary) this is the usual cross-entropy surrogate rather than a true likelihood.
    """
    _check_pair(target, logits, "logits")
    if bool((target < 0).any() or (target > 1).any()):
        raise ValueError("target must lie in [0, 1] for a Bernoulli likelihood")
    per_feature = logits.clamp(min=0) - logits * target + torch.log1p(torch.exp(-logits.abs()))
    return _sum_features(per_feature)


def categorical_nll(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """-log softmax(logits)[target]; shape (n,).

    ``target``: (n,) integer class indices in [0, K). ``logits``: (n, K) unnormalised scores.
    The source calls this distribution "Multinoulli"; its NLL is the cross-entropy.
    """
    check_tensor(target, "target", ndim=1, floating=False)
    check_tensor(logits, "logits", ndim=2)
    if target.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise TypeError(f"target must hold integer class indices, got dtype {target.dtype}")
    if len(target) != len(logits):
        raise ValueError(f"target and logits must have the same length, "
                         f"got {len(target)} and {len(logits)}")
    n_classes = logits.shape[1]
    if bool((target < 0).any() or (target >= n_classes).any()):
        raise ValueError(f"target must hold class indices in [0, {n_classes}), "
                         f"got values from {int(target.min())} to {int(target.max())}")
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    return -log_probs.gather(1, target.long().unsqueeze(1)).squeeze(1)
