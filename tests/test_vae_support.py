"""The gradient estimators of aelib.models and the beta knob of the VAE loss (notebook 05)."""

from __future__ import annotations

import math

import pytest
import torch

from aelib.evaluation import elbo
from aelib.models import (
    ModelConfig,
    build_model,
    pathwise_gradient,
    score_function_gradient,
)


def square(z: torch.Tensor) -> torch.Tensor:
    return z**2


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------- estimators


def test_pathwise_gradient_of_a_square_is_twice_the_sample_mean():
    mu, sigma, n = 0.7, 1.5, 40
    estimates = pathwise_gradient(square, mu, sigma, n_samples=n, n_repeats=3, seed=3)
    eps = torch.randn((3, n), generator=generator(3), dtype=torch.float64)
    assert estimates.shape == (3,) and estimates.dtype == torch.float64
    assert torch.allclose(estimates, 2 * (mu + sigma * eps).mean(dim=1))


def test_score_function_gradient_is_the_written_out_formula():
    mu, sigma, n = -0.4, 0.8, 25
    estimates = score_function_gradient(square, mu, sigma, n_samples=n, n_repeats=4, seed=1)
    z = mu + sigma * torch.randn((4, n), generator=generator(1), dtype=torch.float64)
    assert torch.allclose(estimates, (z**2 * (z - mu) / sigma**2).mean(dim=1))


def test_both_estimators_are_unbiased_and_the_pathwise_one_varies_less():
    mu, sigma, n, repeats = 1.0, 1.0, 10, 20_000
    exact = 2 * mu                                       # d/dmu (mu^2 + sigma^2)
    path = pathwise_gradient(square, mu, sigma, n_samples=n, n_repeats=repeats, seed=0)
    score = score_function_gradient(square, mu, sigma, n_samples=n, n_repeats=repeats, seed=0)
    for estimates in (path, score):
        stderr = estimates.std().item() / math.sqrt(repeats)
        assert abs(estimates.mean().item() - exact) < 4 * stderr
    assert path.var().item() == pytest.approx(4 * sigma**2 / n, rel=0.05)
    assert score.var().item() > 5 * path.var().item()


def test_a_linear_objective_has_an_exact_pathwise_gradient():
    estimates = pathwise_gradient(lambda z: 3.0 * z + 1.0, 0.2, 2.0, n_samples=5,
                                  n_repeats=6, seed=2)
    assert torch.allclose(estimates, torch.full((6,), 3.0, dtype=torch.float64))


def test_the_same_seed_repeats_the_estimates_and_draws_the_same_noise():
    one = score_function_gradient(torch.sin, 0.3, 0.5, n_samples=7, seed=9)
    two = score_function_gradient(torch.sin, 0.3, 0.5, n_samples=7, seed=9)
    assert torch.equal(one, two) and one.shape == (1,)
    assert not torch.equal(one, score_function_gradient(torch.sin, 0.3, 0.5, n_samples=7))
    eps = torch.randn((2, 7), generator=generator(0), dtype=torch.float64)
    assert torch.allclose(pathwise_gradient(torch.sin, 0.3, 0.5, n_samples=7, n_repeats=2),
                          torch.cos(0.3 + 0.5 * eps).mean(dim=1))      # seed=0 by default


@pytest.mark.parametrize("estimator", [pathwise_gradient, score_function_gradient])
@pytest.mark.parametrize("args, kwargs, error, match", [
    (("not callable", 0.0, 1.0), {"n_samples": 3}, TypeError, "f must be a callable"),
    ((square, 0.0, 0.0), {"n_samples": 3}, ValueError, "sigma"),
    ((square, math.nan, 1.0), {"n_samples": 3}, ValueError, "mu"),
    ((square, 0.0, 1.0), {"n_samples": 0}, ValueError, "n_samples"),
    ((square, 0.0, 1.0), {"n_samples": 2, "n_repeats": 1.5}, TypeError, "n_repeats"),
    ((square, 0.0, 1.0), {"n_samples": 2, "seed": -1}, ValueError, "seed must be >= 0"),
    ((square, 0.0, 1.0), {"n_samples": 2, "seed": generator(0)}, TypeError, "seed"),
    ((lambda z: z.sum(), 0.0, 1.0), {"n_samples": 2}, ValueError, "f must return"),
])
def test_bad_inputs_are_refused(estimator, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        estimator(*args, **kwargs)


# --------------------------------------------------------------------------- the beta knob


def small_vae(**changes) -> torch.nn.Module:
    cfg = ModelConfig(kind="vae", input_dim=10, hidden=(8,), latent_dim=2, **changes)
    return build_model(cfg, seed=0)


def test_beta_one_is_the_default_and_gives_the_negative_elbo():
    x = torch.rand(6, 10, generator=generator(4))
    default, explicit = small_vae(), small_vae(beta=1.0)
    a = default.loss(x, generator=generator(5))
    b = explicit.loss(x, generator=generator(5))
    assert default.config == explicit.config
    assert all(torch.equal(s, t) for s, t in zip(a, b, strict=True))
    assert torch.allclose(a.total, a.reconstruction + a.kl)


def test_beta_weights_only_the_kl_term_and_the_elbo_ignores_it():
    x = torch.rand(6, 10, generator=generator(4))
    plain, heavy = small_vae(), small_vae(beta=4.0)
    a = plain.loss(x, generator=generator(5))
    b = heavy.loss(x, generator=generator(5))
    assert torch.equal(a.reconstruction, b.reconstruction) and torch.equal(a.kl, b.kl)
    assert torch.allclose(b.total, a.reconstruction + 4.0 * a.kl)
    assert torch.equal(elbo(plain, x, seed=1), elbo(heavy, x, seed=1))
