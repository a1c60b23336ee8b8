"""aelib.evaluation, with log p(x) checked on a linear-Gaussian VAE whose marginal is exact."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sklearn.manifold
import torch

from aelib.evaluation import (
    _pairwise_log_likelihood,
    aggregate_posterior_log_density,
    digit_classifier,
    effective_sample_size,
    elbo,
    encode_dataset,
    grid_log_joint,
    grid_log_likelihood,
    importance_log_likelihood,
    knn_accuracy,
    log_importance_weights,
    reconstruction_error,
    trustworthiness,
)
from aelib.models import ModelConfig, build_model

D, LATENT, SIGMA = 5, 2, 0.5
F64 = torch.float64


def small_model(kind: str = "vae", seed: int = 0):
    cfg = ModelConfig(kind=kind, input_dim=D, hidden=(7,), latent_dim=LATENT)
    return build_model(cfg, seed=seed)


def images(n: int = 30, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, D, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- linear Gaussian


class LinearGaussian:
    """A VAE with no hidden layers and a fixed-sigma Gaussian decoder: probabilistic PCA.

    p(z) = N(0, I), p(x | z) = N(W z + b, SIGMA^2 I), so p(x) = N(b, W W^T + SIGMA^2 I).
    W has orthogonal columns, which makes the exact posterior p(z | x) diagonal, so the VAE's
    encoder can represent it exactly.
    """

    def __init__(self) -> None:
        gen = torch.Generator().manual_seed(0)
        q, _ = torch.linalg.qr(torch.randn(D, LATENT, generator=gen, dtype=F64))
        self.W = q * torch.tensor([1.5, 0.7], dtype=F64)          # (D, LATENT)
        self.b = torch.randn(D, generator=gen, dtype=F64)
        self.post_var = 1.0 / (1.0 + (self.W**2).sum(dim=0) / SIGMA**2)   # (LATENT,)
        self.post_map = self.post_var[:, None] * self.W.T / SIGMA**2      # (LATENT, D)
        cfg = ModelConfig(kind="vae", input_dim=D, hidden=(), latent_dim=LATENT,
                          likelihood="gaussian", sigma=SIGMA)
        self.vae = build_model(cfg).double()
        with torch.no_grad():
            self.vae.decoder[0].weight.copy_(self.W)
            self.vae.decoder[0].bias.copy_(self.b)
        self.set_proposal()

    def set_proposal(self, shift: float = 0.0, var_scale: float = 1.0) -> None:
        """Encoder = exact posterior, its mean moved by ``shift``, its variance scaled."""
        with torch.no_grad():
            enc = self.vae.encoder[0]
            enc.weight.zero_()
            enc.weight[:LATENT] = self.post_map
            enc.bias[:LATENT] = -self.post_map @ self.b + shift
            enc.bias[LATENT:] = torch.log(self.post_var * var_scale)

    def sample(self, n: int, seed: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn(n, LATENT, generator=gen, dtype=F64)
        return z @ self.W.T + self.b + SIGMA * torch.randn(n, D, generator=gen, dtype=F64)

    def exact_log_px(self, x: torch.Tensor) -> torch.Tensor:
        cov = self.W @ self.W.T + SIGMA**2 * torch.eye(D, dtype=F64)
        return torch.distributions.MultivariateNormal(self.b, cov).log_prob(x)


@pytest.fixture(scope="module")
def lg() -> LinearGaussian:
    return LinearGaussian()


def test_with_the_exact_posterior_every_estimate_is_exact(lg):
    lg.set_proposal()
    x = lg.sample(50, seed=1)
    exact = lg.exact_log_px(x)
    torch.testing.assert_close(importance_log_likelihood(lg.vae, x, k=1), exact)
    torch.testing.assert_close(importance_log_likelihood(lg.vae, x, k=7, batch_size=9), exact)
    # The ELBO equals log p(x) too when q is the posterior, up to its Monte Carlo noise.
    gap = elbo(lg.vae, x, n_samples=4000) - exact
    assert abs(gap.mean().item()) < 0.01 and gap.abs().max().item() < 0.1


def test_importance_sampling_converges_from_below_as_k_grows(lg):
    lg.set_proposal(shift=0.6, var_scale=2.0)       # a poor but wide proposal
    x = lg.sample(40, seed=2)
    exact = lg.exact_log_px(x)
    gaps = {}
    for k in (1, 10, 100, 3000):
        estimates = torch.stack([importance_log_likelihood(lg.vae, x, k=k, seed=s)
                                 for s in range(5)])
        gaps[k] = (estimates - exact).mean().item()
    # Jensen: E[log of an average of weights] <= log E[weight] = log p(x), so small-k
    # estimates fall short on average; the shortfall shrinks as k grows.
    assert gaps[1] < gaps[10] < gaps[100] < 0.0
    assert gaps[1] < -0.1
    assert abs(gaps[3000]) < 0.01
    # The ELBO is the loosest of all: below every estimate with k >= 1.
    assert (elbo(lg.vae, x, n_samples=2000) - exact).mean().item() < gaps[1] + 0.02
    lg.set_proposal()


def test_log_likelihood_estimates_are_seeded_and_batch_independent():
    vae, x = small_model(), images(12)
    a = importance_log_likelihood(vae, x, k=20, seed=3)
    assert torch.equal(a, importance_log_likelihood(vae, x, k=20, seed=3))
    assert not torch.equal(a, importance_log_likelihood(vae, x, k=20, seed=4))
    assert a.shape == (12,) and elbo(vae, x).shape == (12,)
    vae.train()
    elbo(vae, x)
    assert vae.training and all(p.grad is None for p in vae.parameters())


def test_elbo_is_minus_the_vae_loss_with_the_same_noise():
    vae, x = small_model(), images(8)
    gen = torch.Generator().manual_seed(0)
    expected = -vae.loss(x, generator=gen).total
    assert elbo(vae, x, seed=0).mean().item() == pytest.approx(expected.item(), rel=1e-5)


# --------------------------------------------------------------------------- codes, errors


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_encode_dataset_and_reconstruction_error(kind):
    model, x = small_model(kind), images(25)
    codes = encode_dataset(model, x, batch_size=4)
    torch.testing.assert_close(codes, model.embed(x).detach())
    assert codes.shape == (25, LATENT) and not codes.requires_grad
    errors = reconstruction_error(model, x, batch_size=6)
    expected = ((x - model.decode(model.embed(x))) ** 2).mean(dim=1).detach()
    torch.testing.assert_close(errors, expected)
    assert errors.shape == (25,)


def test_knn_accuracy_on_separable_clusters_and_its_label_choice():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 40)
    codes = labels[:, None] * 10.0 + rng.normal(size=(120, 2))
    test_labels = np.repeat(np.arange(3), 5)
    test_codes = test_labels[:, None] * 10.0 + rng.normal(size=(15, 2))
    assert knn_accuracy(codes, labels, test_codes, test_labels, labels_per_class=1) == 1.0
    tensors = knn_accuracy(torch.from_numpy(codes), torch.from_numpy(labels),
                           torch.from_numpy(test_codes), torch.from_numpy(test_labels),
                           labels_per_class=3, k=3)
    assert tensors == 1.0
    # Noisy codes: the result depends on which examples are labelled, and repeats per seed.
    noisy = rng.normal(size=(120, 2))
    runs = [knn_accuracy(noisy, labels, noisy[:30], labels[:30], labels_per_class=2, seed=s)
            for s in (0, 0, 1, 2, 3)]
    assert runs[0] == runs[1] and len(set(runs)) > 1


@pytest.mark.parametrize(("changes", "error", "pattern"), [
    ({"labels_per_class": 50}, ValueError, "labels_per_class"),
    ({"labels_per_class": 0}, ValueError, "labels_per_class"),
    ({"k": 4}, ValueError, "k must be <= 3"),
    ({"train_labels": np.zeros(5, dtype=np.int64)}, ValueError, "train_codes and train_labels"),
    ({"train_labels": np.repeat(np.arange(3.0), 4)}, TypeError, "train_labels"),
    ({"test_codes": np.zeros((3, 3))}, ValueError, "test_codes must have 2 columns like"),
    ({"test_codes": np.full((3, 2), np.nan)}, ValueError, "test_codes"),
    ({"seed": -1}, ValueError, "seed"),
])
def test_knn_accuracy_refuses_bad_arguments_by_name(changes, error, pattern):
    args = {"train_codes": np.zeros((12, 2)), "train_labels": np.repeat(np.arange(3), 4),
            "test_codes": np.zeros((3, 2)), "test_labels": np.arange(3),
            "labels_per_class": 1, **changes}
    with pytest.raises(error, match=pattern):
        knn_accuracy(args.pop("train_codes"), args.pop("train_labels"),
                     args.pop("test_codes"), args.pop("test_labels"), **args)


def test_trustworthiness_wraps_sklearn():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    assert trustworthiness(X, X) == pytest.approx(1.0)
    embedding = X[:, :2]
    expected = sklearn.manifold.trustworthiness(X, embedding, n_neighbors=7)
    assert trustworthiness(torch.from_numpy(X), embedding, n_neighbors=7) == expected
    with pytest.raises(ValueError, match="n_neighbors must be <= 29, got 30"):
        trustworthiness(X, embedding, n_neighbors=30)
    with pytest.raises(ValueError, match="X and embedding"):
        trustworthiness(X, embedding[:10])
    with pytest.raises(ValueError, match="embedding must have 2 dimensions"):
        trustworthiness(X, embedding[:, 0])


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("call", [
    lambda m, x: encode_dataset(m, x),
    lambda m, x: reconstruction_error(m, x),
    lambda m, x: elbo(m, x),
    lambda m, x: importance_log_likelihood(m, x),
])
def test_model_functions_refuse_bad_images(call):
    with pytest.raises(ValueError, match="x must have input_dim"):
        call(small_model(), torch.zeros(3, D + 1))
    with pytest.raises(ValueError, match="x must not contain NaN"):
        call(small_model(), torch.full((3, D), math.nan))


def test_model_functions_refuse_bad_models_and_counts():
    ae, x = small_model("ae"), images(4)
    with pytest.raises(TypeError, match="vae must be an aelib VAE"):
        elbo(ae, x)
    with pytest.raises(TypeError, match="vae must be an aelib VAE"):
        importance_log_likelihood(ae, x)
    with pytest.raises(TypeError, match="model must be"):
        encode_dataset(torch.nn.Linear(D, 2), x)
    with pytest.raises(TypeError, match="model must be"):
        reconstruction_error("model", x)
    with pytest.raises(ValueError, match="k must be >= 1"):
        importance_log_likelihood(small_model(), x, k=0)
    with pytest.raises(ValueError, match="n_samples"):
        elbo(small_model(), x, n_samples=0)
    with pytest.raises(ValueError, match="batch_size"):
        encode_dataset(ae, x, batch_size=0)
    with pytest.raises(ValueError, match="batch_size"):
        reconstruction_error(ae, x, batch_size=0)


# --------------------------------------------------------------------------- proposals, grid


def test_the_grid_integral_is_the_exact_log_likelihood(lg):
    x = lg.sample(20, seed=5)
    torch.testing.assert_close(grid_log_likelihood(lg.vae, x, limit=7.0, step=0.05),
                               lg.exact_log_px(x))
    codes, log_joint = grid_log_joint(lg.vae, x[:2], limit=7.0, step=0.05)
    assert codes.shape == (len(torch.arange(-7, 7.025, 0.05)) ** 2, LATENT)
    posterior_mean = torch.softmax(log_joint, dim=1) @ codes             # (2, LATENT)
    torch.testing.assert_close(posterior_mean, lg.vae.encode(x[:2])[0], atol=1e-4, rtol=0)


@pytest.mark.parametrize("prior_weight,scale", [(1.0, 1.0), (0.3, 1.0), (0.0, 2.0)])
def test_every_proposal_converges_to_log_px(lg, prior_weight, scale):
    lg.set_proposal()
    x = lg.sample(10, seed=6)
    estimate = importance_log_likelihood(lg.vae, x, k=20_000, prior_weight=prior_weight,
                                         scale=scale, seed=1)
    torch.testing.assert_close(estimate, lg.exact_log_px(x), atol=0.05, rtol=0)


def test_prior_draws_are_shared_by_all_images(lg):
    x = lg.sample(3, seed=7)
    both = log_importance_weights(lg.vae, x, k=50, prior_weight=1.0, seed=2)
    alone = log_importance_weights(lg.vae, x[1:2], k=50, prior_weight=1.0, seed=2)
    assert both.shape == (3, 50)
    torch.testing.assert_close(both[1:2], alone)
    # With prior draws the weight is p(x | z) itself.
    z = torch.randn((50, LATENT), generator=torch.Generator().manual_seed(2), dtype=F64)
    expected = -lg.vae.reconstruction_nll(x[1:2].expand(50, D), z)
    torch.testing.assert_close(alone[0], expected)


def test_with_the_exact_posterior_every_weight_is_p_x(lg):
    lg.set_proposal()
    x = lg.sample(4, seed=8)
    log_w = log_importance_weights(lg.vae, x, k=30)
    torch.testing.assert_close(log_w, lg.exact_log_px(x)[:, None].expand(4, 30))
    torch.testing.assert_close(effective_sample_size(log_w), torch.full((4,), 30.0, dtype=F64))


def test_effective_sample_size_counts_the_weights_that_matter():
    log_w = torch.log(torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.0, 0.0],
                                    [1.0, 1.0, 0.0, 0.0]]))
    torch.testing.assert_close(effective_sample_size(log_w), torch.tensor([4.0, 1.0, 2.0]))


def test_the_aggregate_posterior_of_the_exact_posterior_is_the_prior(lg):
    lg.set_proposal()
    x = lg.sample(20_000, seed=9)
    z = torch.tensor([[0.0, 0.0], [0.5, -0.5], [-1.0, 0.3]], dtype=F64)
    log_prior = -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(dim=1)
    torch.testing.assert_close(aggregate_posterior_log_density(lg.vae, x, z), log_prior,
                               atol=0.03, rtol=0)


def test_the_aggregate_posterior_is_a_mixture_of_the_encoder_gaussians():
    vae, x = small_model(), images(2)
    z = torch.randn(5, LATENT, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        mu, logvar = vae.encode(x)
    components = torch.distributions.Normal(mu[:, None], (0.5 * logvar).exp()[:, None])
    expected = components.log_prob(z[None]).sum(dim=2).exp().mean(dim=0).log()    # (5,)
    torch.testing.assert_close(aggregate_posterior_log_density(vae, x, z), expected)


@pytest.mark.parametrize("likelihood,sigma", [("bernoulli", 1.0), ("gaussian", 0.3),
                                              ("gaussian", "learned")])
def test_the_pairwise_likelihood_matches_the_models_own(likelihood, sigma):
    cfg = ModelConfig(kind="vae", input_dim=D, hidden=(7,), latent_dim=LATENT,
                      likelihood=likelihood, sigma=sigma)
    vae, x = build_model(cfg, seed=1), images(4)
    if sigma == "learned":
        with torch.no_grad():
            vae.raw_sigma.uniform_(-1, 1)
    z = torch.randn(3, LATENT, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        table = _pairwise_log_likelihood(vae, x, z)                       # (4, 3)
        for j in range(3):
            expected = -vae.reconstruction_nll(x, z[j].expand(4, LATENT))
            torch.testing.assert_close(table[:, j], expected, rtol=1e-5, atol=1e-4)


def test_the_digit_classifier_learns_separable_classes():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (30, 4)), rng.normal(1, 0.1, (30, 4))])
    labels = np.repeat([0, 1], 30)
    classifier = digit_classifier(x, labels)
    assert classifier.score(x, labels) == 1.0
    assert classifier.predict_proba(x[:1]).shape == (1, 2)
