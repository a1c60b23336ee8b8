"""aelib.likelihood against torch.distributions, on random inputs (hypothesis), in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from aelib.likelihood import LOG_2PI, bernoulli_nll, categorical_nll, gaussian_nll

SETTINGS = settings(max_examples=60, deadline=None)
TOL = {"atol": 1e-6, "rtol": 0.0}


@st.composite
def batches(draw, low: float = -10.0, high: float = 10.0, count: int = 1,
            flat: bool = False) -> list[torch.Tensor]:
    """``count`` float64 tensors of one random shape: (n, d), or (n,) when ``flat``."""
    n = draw(st.integers(1, 8))
    shape = (n,) if flat else (n, draw(st.integers(1, 12)))
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False)
    return [torch.from_numpy(draw(arrays(np.float64, shape, elements=elements)))
            for _ in range(count)]


# --------------------------------------------------------------------------- Gaussian


@SETTINGS
@given(pair=batches(count=2), sigma=st.floats(0.05, 20.0))
def test_gaussian_nll_matches_normal_with_fixed_sigma(pair, sigma):
    target, mean = pair
    expected = -torch.distributions.Normal(mean, sigma).log_prob(target).sum(dim=1)
    torch.testing.assert_close(gaussian_nll(target, mean, sigma), expected, **TOL)


@SETTINGS
@given(pair=batches(count=2), sigma=st.floats(0.05, 20.0))
def test_fixed_sigma_nll_is_scaled_squared_error_plus_constant(pair, sigma):
    target, mean = pair
    d = target.shape[1]
    sse = ((target - mean) ** 2).sum(dim=1)
    expected = sse / (2 * sigma**2) + d * (math.log(sigma) + 0.5 * LOG_2PI)
    torch.testing.assert_close(gaussian_nll(target, mean, sigma), expected, **TOL)


@SETTINGS
@given(triple=batches(count=3), per_feature=st.booleans())
def test_gaussian_nll_matches_normal_with_tensor_sigma(triple, per_feature):
    target, mean, raw = triple
    sigma = 0.1 + raw.abs()                       # per sample and feature
    if per_feature:
        sigma = sigma[0]                          # one sigma per feature, shape (d,)
    expected = -torch.distributions.Normal(mean, sigma).log_prob(target).sum(dim=1)
    torch.testing.assert_close(gaussian_nll(target, mean, sigma), expected, **TOL)


@SETTINGS
@given(pair=batches(count=2, flat=True), sigma=st.floats(0.05, 20.0))
def test_gaussian_nll_of_scalar_samples(pair, sigma):
    target, mean = pair
    expected = -torch.distributions.Normal(mean, sigma).log_prob(target)
    torch.testing.assert_close(gaussian_nll(target, mean, sigma), expected, **TOL)


def test_gaussian_nll_gradient_reaches_a_learned_sigma():
    log_sigma = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    target = torch.ones(2, 3, dtype=torch.float64)
    gaussian_nll(target, torch.zeros_like(target), log_sigma.exp()).sum().backward()
    # d/dlog_sigma of [log sigma + e^2 / (2 sigma^2)] at sigma = 1, e = 1 is 1 - 1 = 0 per sample.
    torch.testing.assert_close(log_sigma.grad, torch.zeros(3, dtype=torch.float64))


# --------------------------------------------------------------------------- Bernoulli


@SETTINGS
@given(pair=batches(low=-30.0, high=30.0, count=2))
def test_bernoulli_nll_matches_bernoulli_on_binary_targets(pair):
    raw, logits = pair
    target = (raw > 0).double()
    expected = -torch.distributions.Bernoulli(logits=logits).log_prob(target).sum(dim=1)
    torch.testing.assert_close(bernoulli_nll(target, logits), expected, **TOL)


@SETTINGS
@given(pair=batches(low=-30.0, high=30.0, count=2))
def test_bernoulli_nll_is_cross_entropy_on_grey_targets(pair):
    raw, logits = pair
    target = torch.sigmoid(raw)                   # values strictly inside (0, 1)
    expected = F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(dim=1)
    torch.testing.assert_close(bernoulli_nll(target, logits), expected, **TOL)


def test_bernoulli_nll_is_finite_for_extreme_logits():
    logits = torch.tensor([[-1e4, 1e4]], dtype=torch.float64)
    nll = bernoulli_nll(torch.tensor([[1.0, 0.0]], dtype=torch.float64), logits)
    assert torch.isfinite(nll).all() and nll.item() == pytest.approx(2e4)


# --------------------------------------------------------------------------- categorical


@SETTINGS
@given(data=st.data(), n=st.integers(1, 8), k=st.integers(2, 10))
def test_categorical_nll_matches_categorical(data, n, k):
    elements = st.floats(-20.0, 20.0, allow_nan=False, allow_infinity=False)
    logits = torch.from_numpy(data.draw(arrays(np.float64, (n, k), elements=elements)))
    target = torch.tensor(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    expected = -torch.distributions.Categorical(logits=logits).log_prob(target)
    torch.testing.assert_close(categorical_nll(target, logits), expected, **TOL)
    torch.testing.assert_close(categorical_nll(target, logits),
                               F.cross_entropy(logits, target, reduction="none"), **TOL)


# --------------------------------------------------------------------------- bad inputs

X = torch.zeros(2, 3)


@pytest.mark.parametrize(("call", "error", "pattern"), [
    (lambda: gaussian_nll(X.numpy(), X), TypeError, "target"),
    (lambda: gaussian_nll(X, torch.zeros(2, 4)), ValueError, "target and mean"),
    (lambda: gaussian_nll(X, X * float("nan")), ValueError, "mean"),
    (lambda: gaussian_nll(X, X, 0.0), ValueError, "sigma"),
    (lambda: gaussian_nll(X, X, -1.0), ValueError, "sigma"),
    (lambda: gaussian_nll(X, X, "learned"), TypeError, "sigma"),
    (lambda: gaussian_nll(X, X, torch.tensor([1.0, 0.0, 1.0])), ValueError, "sigma"),
    (lambda: gaussian_nll(X, X, torch.ones(4)), ValueError, "sigma"),
    (lambda: gaussian_nll(X, X, torch.ones(1, 2, 3)), ValueError, "sigma"),
    (lambda: bernoulli_nll(X + 2.0, X), ValueError, "target"),
    (lambda: bernoulli_nll(X, torch.zeros(3, 2)), ValueError, "target and logits"),
    (lambda: bernoulli_nll(X.long(), X), TypeError, "target"),
    (lambda: categorical_nll(torch.tensor([0.0, 1.0]), X), TypeError, "target"),
    (lambda: categorical_nll(torch.tensor([0, 3]), X), ValueError, "target"),
    (lambda: categorical_nll(torch.tensor([0, 1, 2]), X), ValueError, "same length"),
    (lambda: categorical_nll(torch.tensor([0, 1]), torch.zeros(2)), ValueError, "logits"),
])
def test_bad_inputs_are_refused_by_name(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
