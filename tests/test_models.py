"""aelib.models: the config, the AE and the VAE, the KL and the reparameterisation trick."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from aelib.likelihood import LOG_2PI, bernoulli_nll, gaussian_nll
from aelib.models import (
    VAE,
    Autoencoder,
    LossTerms,
    ModelConfig,
    build_model,
    gaussian_kl,
    mlp,
    reparameterize,
)

D, LATENT = 12, 3


def config(**changes) -> ModelConfig:
    return ModelConfig(**{"kind": "vae", "input_dim": D, "hidden": (8, 6),
                          "latent_dim": LATENT, **changes})


def images(n: int = 5, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, D, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize("cfg", [
    config(),
    config(kind="ae"),
    config(likelihood="gaussian", sigma=0.3),
    config(likelihood="gaussian", sigma="learned", min_sigma=0.05),
    config(beta=4.0, activation="tanh", hidden=()),
])
def test_config_round_trips_through_plain_values(cfg):
    plain = json.loads(json.dumps(cfg.to_dict()))
    assert ModelConfig.from_dict(plain) == cfg
    assert isinstance(cfg.to_dict()["hidden"], list)


def test_config_normalises_hidden_and_numbers():
    cfg = ModelConfig(hidden=[16, 8], sigma=1, beta=1)
    assert cfg.hidden == (16, 8) and isinstance(cfg.beta, float)
    assert hash(cfg) == hash(ModelConfig(hidden=(16, 8)))
    assert cfg.replace(kind="vae").kind == "vae" and cfg.kind == "ae"
    assert ModelConfig.from_dict({"latent_dim": 5}) == ModelConfig(latent_dim=5)


@pytest.mark.parametrize(("changes", "error", "pattern"), [
    ({"latent_dim": 0}, ValueError, "latent_dim"),
    ({"latent_dim": 2.5}, TypeError, "latent_dim"),
    ({"kind": "gan"}, ValueError, "kind"),
    ({"likelihood": "poisson"}, ValueError, "likelihood"),
    ({"input_dim": 0}, ValueError, "input_dim"),
    ({"hidden": "400"}, TypeError, "hidden"),
    ({"hidden": (8, 0)}, ValueError, r"hidden\[1\]"),
    ({"activation": "swish"}, ValueError, "activation"),
    ({"likelihood": "gaussian", "sigma": 0.0}, ValueError, "sigma"),
    ({"likelihood": "gaussian", "sigma": "fixed"}, ValueError, "sigma"),
    ({"likelihood": "gaussian", "sigma": None}, TypeError, "sigma"),
    ({"sigma": "learned"}, ValueError, "sigma"),
    ({"beta": -1.0}, ValueError, "beta"),
    ({"kind": "ae", "beta": 2.0}, ValueError, "beta"),
    ({"min_sigma": 0.0}, ValueError, "min_sigma"),
])
def test_config_refuses_bad_values_by_name(changes, error, pattern):
    with pytest.raises(error, match=pattern):
        config(**changes)


def test_from_dict_refuses_unknown_fields_and_non_mappings():
    with pytest.raises(ValueError, match="each key of values must be one of 'kind'"):
        ModelConfig.from_dict({"latent": 2})
    with pytest.raises(TypeError, match="values"):
        ModelConfig.from_dict([("kind", "ae")])


# --------------------------------------------------------------------------- building


def test_build_model_picks_the_class_and_keeps_the_config():
    vae, ae = build_model(config()), build_model(config(kind="ae"))
    assert isinstance(vae, VAE) and isinstance(ae, Autoencoder)
    assert vae.config == config() and ae.config.kind == "ae"


def test_ae_and_vae_share_the_architecture():
    ae, vae = build_model(config(kind="ae")), build_model(config())
    ae_shapes = {k: v.shape for k, v in ae.state_dict().items()}
    vae_shapes = {k: v.shape for k, v in vae.state_dict().items()}
    last_weight, last_bias = "encoder.4.weight", "encoder.4.bias"
    assert ae_shapes.keys() == vae_shapes.keys()
    for key in ae_shapes:
        if key not in (last_weight, last_bias):
            assert ae_shapes[key] == vae_shapes[key], key
    assert vae_shapes[last_weight] == (2 * LATENT, 6) and ae_shapes[last_weight] == (LATENT, 6)
    assert [type(m) for m in ae.decoder] == [type(m) for m in vae.decoder]


def test_seeded_build_is_repeatable_and_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b = build_model(config(), seed=3), build_model(config(), seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    c = build_model(config(), seed=4)
    for (key, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), key
    assert not torch.equal(a.encoder[0].weight, c.encoder[0].weight)


def test_build_model_and_classes_refuse_bad_configs():
    with pytest.raises(TypeError, match="config must be a ModelConfig"):
        build_model(config().to_dict())
    with pytest.raises(ValueError, match="seed"):
        build_model(config(), seed=-1)
    with pytest.raises(ValueError, match="config.kind"):
        Autoencoder(config())
    with pytest.raises(ValueError, match="config.kind"):
        VAE(config(kind="ae"))


def test_mlp_layers_and_bad_sizes():
    net = mlp([5, 4, 3], "elu")
    assert [type(m).__name__ for m in net] == ["Linear", "ELU", "Linear"]
    assert net(torch.zeros(2, 5)).shape == (2, 3)
    assert len(mlp([5, 3])) == 1 and isinstance(mlp([5, 4, 3], "leaky_relu")[1], nn.LeakyReLU)


# --------------------------------------------------------------------------- shapes and values


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_shapes_of_every_method(kind):
    model, x = build_model(config(kind=kind), seed=0), images(5)
    z = model.embed(x)
    assert z.shape == (5, LATENT)
    assert model.decode(z).shape == model.decoder(z).shape == (5, D)
    assert model.reconstruct(x).shape == (5, D)
    assert model.reconstruction_nll(x, z).shape == (5,)
    if kind == "vae":
        mu, logvar = model.encode(x)
        assert mu.shape == logvar.shape == (5, LATENT) and torch.equal(mu, z)
        assert model.sample(7, generator=torch.Generator().manual_seed(0)).shape == (7, D)
    else:
        assert torch.equal(model.encode(x), z)


def test_decode_is_the_mean_of_the_likelihood():
    z = torch.randn(4, LATENT)
    bern = build_model(config(), seed=0)
    torch.testing.assert_close(bern.decode(z), torch.sigmoid(bern.decoder(z)))
    assert ((bern.decode(z) >= 0) & (bern.decode(z) <= 1)).all()
    gauss = build_model(config(likelihood="gaussian", sigma=0.5), seed=0)
    torch.testing.assert_close(gauss.decode(z), gauss.decoder(z))


def test_sample_decodes_prior_draws_without_gradients():
    vae = build_model(config(), seed=0)
    first = vae.sample(3, generator=torch.Generator().manual_seed(1))
    again = vae.sample(3, generator=torch.Generator().manual_seed(1))
    z = torch.randn(3, LATENT, generator=torch.Generator().manual_seed(1))
    assert torch.equal(first, again) and not first.requires_grad
    torch.testing.assert_close(first, vae.decode(z).detach())
    assert not hasattr(build_model(config(kind="ae")), "sample")


# --------------------------------------------------------------------------- KL and sampling


def test_gaussian_kl_matches_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    mu = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    logvar = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(q, p).sum(dim=1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), expected)
    assert torch.equal(gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))


def test_gaussian_kl_matches_a_monte_carlo_estimate():
    gen = torch.Generator().manual_seed(1)
    mu = torch.tensor([[0.5, -1.0], [2.0, 0.0]], dtype=torch.float64)
    logvar = torch.tensor([[-0.5, 0.3], [0.0, -1.5]], dtype=torch.float64)
    n = 200_000
    eps = torch.randn(n, *mu.shape, generator=gen, dtype=torch.float64)
    z = mu + torch.exp(0.5 * logvar) * eps
    log_q = -0.5 * (eps**2 + logvar + LOG_2PI).sum(dim=2)
    log_p = -0.5 * (z**2 + LOG_2PI).sum(dim=2)
    log_ratio = log_q - log_p                            # (n, 2); its mean estimates the KL
    estimate, stderr = log_ratio.mean(dim=0), log_ratio.std(dim=0) / math.sqrt(n)
    assert ((estimate - gaussian_kl(mu, logvar)).abs() < 4 * stderr).all()


def test_reparameterize_draws_from_the_posterior_and_passes_gradients():
    mu = torch.tensor([[1.0, -2.0]], requires_grad=True)
    logvar = torch.tensor([[0.0, math.log(0.25)]], requires_grad=True)
    z = reparameterize(mu.expand(50_000, 2), logvar.expand(50_000, 2),
                       torch.Generator().manual_seed(0))
    torch.testing.assert_close(z.mean(dim=0), torch.tensor([1.0, -2.0]), atol=0.02, rtol=0)
    torch.testing.assert_close(z.std(dim=0), torch.tensor([1.0, 0.5]), atol=0.02, rtol=0)
    z.sum().backward()
    assert mu.grad is not None and logvar.grad is not None
    same = reparameterize(mu, logvar, torch.Generator().manual_seed(5))
    assert torch.equal(same, reparameterize(mu, logvar, torch.Generator().manual_seed(5)))


# --------------------------------------------------------------------------- losses


def test_ae_loss_is_the_mean_bernoulli_nll_and_has_no_kl():
    ae, x = build_model(config(kind="ae"), seed=0), images(6)
    terms = ae.loss(x)
    assert isinstance(terms, LossTerms) and terms.kl.item() == 0.0
    expected = bernoulli_nll(x, ae.decoder(ae.encode(x))).mean()
    torch.testing.assert_close(terms.total, expected)
    torch.testing.assert_close(terms.reconstruction, expected)


def test_vae_loss_is_reconstruction_plus_beta_kl():
    vae, x = build_model(config(beta=2.5), seed=0), images(6)
    terms = vae.loss(x, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(terms.total, terms.reconstruction + 2.5 * terms.kl)
    mu, logvar = vae.encode(x)
    torch.testing.assert_close(terms.kl, gaussian_kl(mu, logvar).mean())
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    torch.testing.assert_close(terms.reconstruction, vae.reconstruction_nll(x, z).mean())
    terms.total.backward()
    assert all(p.grad is not None for p in vae.parameters())


def test_fixed_sigma_gaussian_loss_is_scaled_squared_error_plus_constant():
    ae, x = build_model(config(kind="ae", likelihood="gaussian", sigma=0.2), seed=0), images(4)
    sse = ((x - ae.reconstruct(x)) ** 2).sum(dim=1)
    expected = (sse / (2 * 0.2**2) + D * (math.log(0.2) + 0.5 * LOG_2PI)).mean()
    torch.testing.assert_close(ae.loss(x).total, expected)


def test_learned_sigma_starts_at_one_stays_above_its_floor_and_learns():
    ae = build_model(config(kind="ae", likelihood="gaussian", sigma="learned", min_sigma=0.05))
    torch.testing.assert_close(ae.sigma(), torch.ones(D))
    x = images(4)
    ae.loss(x).total.backward()
    assert ae.raw_sigma.grad is not None and ae.raw_sigma.grad.abs().sum() > 0
    with torch.no_grad():
        ae.raw_sigma.fill_(-1e4)                        # push sigma as low as it goes
    assert (ae.sigma() >= 0.05).all()
    assert torch.isfinite(ae.loss(x).total)
    torch.testing.assert_close(ae.reconstruction_nll(x, ae.encode(x)),
                               gaussian_nll(x, ae.decoder(ae.encode(x)), ae.sigma()))


@pytest.mark.parametrize("changes", [{}, {"likelihood": "gaussian", "sigma": 0.3},
                                     {"likelihood": "gaussian", "sigma": "learned"}])
def test_reconstruction_nll_is_the_likelihood_written_out(changes):
    """The models call aelib.likelihood's NLL (unchecked); its numbers, against the formulas."""
    model = build_model(config(**changes), seed=0).double()
    if model.raw_sigma is not None:
        with torch.no_grad():
            model.raw_sigma.copy_(torch.linspace(-3.0, 2.0, D))
    x = images(6).double()
    z = torch.randn(6, LATENT, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    output = model.decoder(z)
    if model.config.likelihood == "bernoulli":
        p = torch.sigmoid(output)
        expected = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(dim=1)
        library = bernoulli_nll(x, output)
    else:
        sigma = torch.as_tensor(model.sigma(), dtype=torch.float64)
        expected = (0.5 * torch.log(2 * math.pi * sigma**2)
                    + (x - output) ** 2 / (2 * sigma**2)).sum(dim=1)
        library = gaussian_nll(x, output, model.sigma())
    nll = model.reconstruction_nll(x, z)
    torch.testing.assert_close(nll, expected, atol=1e-10, rtol=1e-10)
    assert torch.equal(nll, library)
    terms = model.loss(x, generator=torch.Generator().manual_seed(1))
    mu, logvar = model.encode(x)
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(1))
    assert torch.equal(terms.reconstruction, model.reconstruction_nll(x, z).mean())


def test_gaussian_models_take_pixels_outside_the_unit_interval():
    x = images(3) * 4.0 - 2.0
    assert torch.isfinite(build_model(config(likelihood="gaussian")).loss(x).total)


def test_denoising_loss_scores_the_clean_target():
    ae = build_model(config(kind="ae"), seed=0)
    clean, noisy = images(4, seed=1), images(4, seed=2)
    expected = bernoulli_nll(clean, ae.decoder(ae.encode(noisy))).mean()
    torch.testing.assert_close(ae.loss(noisy, target=clean).total, expected)


# --------------------------------------------------------------------------- no checks inside


def test_methods_compute_without_checking_like_any_module():
    """fit and the other entry points check the data once; the methods just compute."""
    vae, x = build_model(config(), seed=0), images(3)
    x[0, 0] = math.nan
    terms = vae.loss(x, generator=torch.Generator().manual_seed(0))
    assert math.isnan(terms.total.item())
    assert torch.isfinite(vae.reconstruct(x)[1:]).all() and vae.sample(2).shape == (2, D)
    with pytest.raises(ValueError, match="sigma"):
        vae.sigma()                       # a Bernoulli likelihood has no sigma

