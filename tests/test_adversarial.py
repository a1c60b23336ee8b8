"""The adversarial autoencoder (ModelConfig(kind="aae")), its priors (aelib.priors), its three
training phases inside fit, and the two-sample statistic that says how close codes are to a
prior (evaluation.mmd_test)."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from aelib import priors
from aelib.evaluation import encode_dataset, mmd_test, reconstruction_error
from aelib.models import AdversarialAutoencoder, ModelConfig, build_model
from aelib.training import evaluate_loss, fit, make_optimizer, train_or_load

D = 16


def config(**changes) -> ModelConfig:
    return ModelConfig(**{"kind": "aae", "input_dim": D, "hidden": (16,), "latent_dim": 2,
                          "discriminator_hidden": (16,), **changes})


def data(n: int = 60, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary images whose label (0-9) sets which pair of pixels is usually on: (n, D), (n,)."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % priors.COMPONENTS
    base = torch.full((n, D), 0.05)
    base[torch.arange(n), y] = 0.95
    base[torch.arange(n), (y + 5) % D] = 0.95
    return torch.bernoulli(base, generator=generator), y


X, Y = data()


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# --------------------------------------------------------------------------- priors


@pytest.mark.parametrize("name", ["mixture", "swiss_roll"])
def test_a_labelled_draw_lands_in_its_own_part_of_the_prior(name):
    y = torch.arange(5000) % priors.COMPONENTS
    z = priors.sample(name, len(y), y=y, generator=torch.Generator().manual_seed(0))
    assert z.shape == (5000, 2) and z.dtype == torch.float32
    own = (priors.component_of(name, z) == y).float().mean().item()
    # The roll's noise carries some draws across the cut to the next stretch of the same arm.
    assert own > (0.97 if name == "mixture" else 0.93), own
    # Without labels every part is drawn equally often.
    free = priors.sample(name, 20000, generator=torch.Generator().manual_seed(1))
    shares = torch.bincount(priors.component_of(name, free), minlength=10) / 20000
    assert (shares - 0.1).abs().max() < 0.015, shares


def test_the_mixture_is_ten_petals_on_a_circle():
    means = priors.component_means()
    assert means.shape == (10, 2)
    assert torch.allclose(means.norm(dim=1), torch.full((10,), priors.RADIUS, dtype=torch.float64))
    y = torch.full((20000,), 3)
    z = priors.sample("mixture", len(y), y=y, generator=torch.Generator().manual_seed(0)).double()
    assert torch.allclose(z.mean(0), means[3], atol=0.02)
    angle = 2 * math.pi * 3 / 10
    radial = z @ torch.tensor([math.cos(angle), math.sin(angle)], dtype=torch.float64)
    tangential = z @ torch.tensor([-math.sin(angle), math.cos(angle)], dtype=torch.float64)
    assert radial.std().item() == pytest.approx(priors.RADIAL_STD, rel=0.03)
    assert tangential.std().item() == pytest.approx(priors.TANGENTIAL_STD, rel=0.03)


def test_the_swiss_roll_follows_its_centre_line():
    t = torch.linspace(0, 1, 5, dtype=torch.float64)
    curve = priors.swiss_roll_curve(t)
    assert torch.allclose(curve.norm(dim=1), priors.SWISS_ROLL_RADIUS * t)
    z = priors.sample("swiss_roll", 4000, generator=torch.Generator().manual_seed(0)).double()
    grid = priors.swiss_roll_curve(torch.linspace(0, 1, 4000, dtype=torch.float64))
    gap = torch.cdist(z, grid).min(dim=1).values
    assert gap.mean().item() < priors.SWISS_ROLL_NOISE * 1.5   # E|N(0, s^2 I_2)| = 1.25 s


def test_the_gaussian_prior_is_standard_normal_in_any_dimension():
    z = priors.sample("gaussian", 20000, 5, generator=torch.Generator().manual_seed(0))
    assert z.shape == (20000, 5)
    assert z.mean(0).abs().max() < 0.03 and (z.std(0) - 1).abs().max() < 0.03


# --------------------------------------------------------------------------- the model


@pytest.mark.parametrize(("changes", "pattern"), [
    ({"kind": "ae", "prior": "mixture"}, r"describe an adversarial autoencoder"),
    ({"kind": "vae", "discriminator_hidden": (8,)}, r"describe an adversarial autoencoder"),
    ({"prior": "mixture", "latent_dim": 3}, r"prior='mixture' is a 2-D distribution"),
    ({"prior_labels": True}, r"prior_labels sends each label .* needs prior='mixture'"),
    ({"n_classes": 10}, r"an AAE takes labels through prior_labels"),
    ({"prior": "circle"}, r"prior must be one of 'gaussian', 'mixture', 'swiss_roll'"),
    ({"beta": 2.0}, r"beta weights the KL term of a VAE"),
])
def test_the_config_refuses_what_an_aae_does_not_take(changes, pattern):
    with pytest.raises(ValueError, match=pattern):
        config(**changes)


def test_an_aae_is_an_autoencoder_with_a_discriminator_on_z():
    model = build_model(config(prior="mixture", prior_labels=True), seed=0)
    assert isinstance(model, AdversarialAutoencoder)
    assert model.discriminator[0].in_features == 2 + priors.COMPONENTS
    assert model.encoder[0].in_features == D and model.decoder[0].in_features == 2
    assert ModelConfig.from_dict(json.loads(json.dumps(model.config.to_dict()))) == model.config
    phases = model.phases()
    assert list(phases) == ["reconstruction", "discriminator", "generator"]
    ids = {name: {id(p) for p in params} for name, params in phases.items()}
    assert ids["reconstruction"] == {id(p) for p in [*model.encoder.parameters(),
                                                     *model.decoder.parameters()]}
    assert ids["discriminator"] == {id(p) for p in model.discriminator.parameters()}
    assert ids["generator"] == {id(p) for p in model.encoder.parameters()}
    assert list(build_model(config(kind="ae", discriminator_hidden=(128, 128)),
                            seed=0).phases()) == ["total"]


def test_the_loss_terms_written_out():
    model = build_model(config(prior="mixture", prior_labels=True), seed=0)
    terms = model.loss(X, y=Y, generator=torch.Generator().manual_seed(3))
    z = model.encoder(X)
    onehot = F.one_hot(Y, 10).float()
    real = priors.sample("mixture", len(X), y=Y, generator=torch.Generator().manual_seed(3))
    d_real = model.discriminator(torch.cat([real, onehot], 1))[:, 0]
    d_fake = model.discriminator(torch.cat([z, onehot], 1))[:, 0]
    bce = F.binary_cross_entropy_with_logits
    reconstruction = bce(model.decoder(z), X, reduction="none").sum(1).mean()
    discriminator = (bce(d_real, torch.ones(len(X))) + bce(d_fake, torch.zeros(len(X))))
    generator = bce(d_fake, torch.ones(len(X)))
    for got, want in ((terms.reconstruction, reconstruction), (terms.total, reconstruction),
                      (terms.discriminator, discriminator), (terms.generator, generator)):
        assert torch.isclose(got, want, rtol=1e-5), (got, want)
    assert terms.kl.item() == terms.penalty.item() == 0.0
    # The discriminator's term does not reach the encoder; the generator's does.
    terms.discriminator.backward(retain_graph=True)
    assert all(p.grad is None for p in model.encoder.parameters())
    terms.generator.backward()
    assert all(p.grad is not None for p in model.encoder.parameters())


def test_fit_takes_the_three_phases_of_the_paper_in_turn():
    """fit = per batch: a reconstruction step, then a discriminator step, then a generator
    step, each after a fresh forward pass and with its own Adam and schedule."""
    cfg = config(prior="swiss_roll", prior_labels=True)
    model, hand = build_model(cfg, seed=0), build_model(cfg, seed=0)
    fit(model, X, train_y=Y, epochs=2, batch_size=16, lr=1e-2, progress=False)
    generator = torch.Generator().manual_seed(0)
    steps = [(phase, *make_optimizer(params, lr=1e-2, schedule="one_cycle", total_steps=2 * 4))
             for phase, params in hand.phases().items()]
    for _ in range(2):
        order = torch.randperm(len(X), generator=generator)
        for start in range(0, len(X), 16):
            rows = order[start:start + 16]
            x, y = X[rows], Y[rows]
            for phase, optimizer, scheduler in steps:
                optimizer.zero_grad()
                if phase == "reconstruction":   # every term is computed, for the record
                    loss = hand.loss(x, y=y, generator=generator).reconstruction
                elif phase == "discriminator":
                    real = priors.sample("swiss_roll", len(x), y=y, generator=generator)
                    fake = hand.encoder(x).detach()
                    loss = (F.softplus(-hand.discriminate(real, y)).mean()
                            + F.softplus(hand.discriminate(fake, y)).mean())
                else:
                    loss = F.softplus(-hand.discriminate(hand.encoder(x), y)).mean()
                loss.backward()
                optimizer.step()
                scheduler.step()
    assert same_weights(model, hand)


@pytest.mark.parametrize("phase", ["reconstruction", "discriminator", "generator"])
def test_a_phase_loss_is_its_term_of_the_loss(phase):
    model = build_model(config(prior="mixture", prior_labels=True), seed=0)
    terms = model.loss(X, y=Y, generator=torch.Generator().manual_seed(4))
    got = model.phase_loss(phase, X, y=Y, generator=torch.Generator().manual_seed(4))
    assert torch.equal(got, getattr(terms, phase))
    got.backward()
    assert all(p.grad is not None for p in model.phases()[phase])
    # Only the discriminator's step leaves the encoder alone; only reconstruction reaches
    # the decoder.
    assert all((p.grad is None) == (phase == "discriminator") for p in model.encoder.parameters())
    assert all(p.grad is None for p in model.decoder.parameters()) == (phase != "reconstruction")


def test_each_phase_moves_only_its_own_weights():
    model = build_model(config(), seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for phase, params in model.phases().items():
        optimizer, _ = make_optimizer(params, lr=1e-2, schedule="constant", total_steps=1)
        getattr(model.loss(X, generator=torch.Generator().manual_seed(0)), phase).backward()
        optimizer.step()
        moved = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
        owned = {k for k, p in model.named_parameters() if any(p is q for q in params)}
        assert moved == owned, phase
        before = {k: v.clone() for k, v in model.state_dict().items()}
        model.zero_grad(set_to_none=True)


def test_training_pulls_the_codes_towards_the_prior_and_records_the_game():
    x, _ = data(400, seed=1)
    plain = build_model(config(kind="ae", discriminator_hidden=(128, 128)), seed=0)
    fit(plain, x, epochs=40, batch_size=32, progress=False)
    aae = build_model(config(prior="gaussian", discriminator_hidden=(32, 32)), seed=0)
    history = fit(aae, x, x, epochs=40, batch_size=32, progress=False)
    assert len(history.train_discriminator) == len(history.val_generator) == 40
    reference = torch.randn(400, 2, generator=torch.Generator().manual_seed(5))
    distance = {name: mmd_test(encode_dataset(m, x), reference, permutations=0)[0]
                for name, m in (("ae", plain), ("aae", aae))}
    assert distance["aae"] < distance["ae"] / 5, distance
    # Near the game's balance, D says 1/2 to all: -log(1/2) twice for D, once for the encoder.
    assert abs(history.train_discriminator[-1] - 2 * math.log(2)) < 0.3
    assert reconstruction_error(aae, x).mean() < reconstruction_error(aae, torch.flip(x, [0])
                                                                       ).mean() + 1.0


def test_labels_are_needed_to_train_a_labelled_aae_and_nowhere_else(tmp_path):
    model = build_model(config(prior="mixture", prior_labels=True), seed=0)
    with pytest.raises(ValueError, match=r"train_y is needed: model takes labels in \[0, 9\], "
                                         r"as its discriminator reads them"):
        fit(model, X, epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"y is needed"):
        evaluate_loss(model, X)
    assert set(evaluate_loss(model, X, Y)) >= {"discriminator", "generator"}
    assert encode_dataset(model, X).shape == (len(X), 2)       # the encoder never reads y
    with pytest.raises(ValueError, match=r"y gives labels, but model is not conditioned"):
        encode_dataset(model, X, Y)
    trained, history = train_or_load(model.config, X, train_y=Y, epochs=1, cache_dir=tmp_path,
                                     progress=False)
    again, _ = train_or_load(model.config, X, train_y=Y, epochs=1, cache_dir=tmp_path,
                             progress=False)
    assert same_weights(trained, again) and history.train_generator


def test_samples_decode_draws_of_the_prior():
    model = build_model(config(prior="mixture"), seed=0)
    images = model.sample(7, torch.Generator().manual_seed(0), y=torch.arange(7))
    z = priors.sample("mixture", 7, y=torch.arange(7), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(images, model.decode(z))


# --------------------------------------------------------------------------- MMD


def test_mmd_is_near_zero_for_one_distribution_and_large_for_two():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(500, 2, generator=g), torch.randn(500, 2, generator=g)
    shifted = torch.randn(500, 2, generator=g) + torch.tensor([0.5, 0.0])
    same, p_same = mmd_test(a, b)
    apart, p_apart = mmd_test(a, shifted)
    assert abs(same) < 0.005 and p_same > 0.05
    assert apart > 0.05 and p_apart < 0.01
    assert mmd_test(shifted, a)[0] == pytest.approx(apart)
    assert mmd_test(a.numpy(), shifted.numpy(), permutations=0) == (pytest.approx(apart), 1.0)


def test_mmd_is_unbiased_and_matches_its_definition():
    g = torch.Generator().manual_seed(1)
    estimates = [mmd_test(torch.randn(40, 2, generator=g), torch.randn(30, 2, generator=g),
                          permutations=0)[0] for _ in range(300)]
    assert abs(sum(estimates) / len(estimates)) < 0.01   # E = 0 for one distribution
    a, b = torch.randn(5, 3, generator=g).double(), torch.randn(4, 3, generator=g).double()

    def k(u, v):
        return sum(math.exp(-float((u - v).pow(2).sum()) / (2 * s**2)) for s in (0.7, 2.0))

    xx = sum(k(a[i], a[j]) for i in range(5) for j in range(5) if i != j) / 20
    yy = sum(k(b[i], b[j]) for i in range(4) for j in range(4) if i != j) / 12
    xy = sum(k(a[i], b[j]) for i in range(5) for j in range(4)) / 20
    got, _ = mmd_test(a, b, bandwidths=(0.7, 2.0), permutations=0)
    assert got == pytest.approx(xx + yy - 2 * xy, rel=1e-9)


@pytest.mark.parametrize(("kwargs", "error", "pattern"), [
    ({"b": torch.zeros(5, 3)}, ValueError, r"b must have 2 columns like a"),
    ({"a": torch.zeros(1, 2)}, ValueError, r"a must have at least 2 rows"),
    ({"bandwidths": ()}, ValueError, r"bandwidths must hold at least one kernel width"),
    ({"bandwidths": (1.0, 0.0)}, ValueError, r"bandwidths\[1\] must be > 0"),
    ({"permutations": -1}, ValueError, r"permutations must be >= 0"),
    ({"a": torch.full((3, 2), math.nan)}, ValueError, r"a must not contain NaN"),
])
def test_mmd_refuses_bad_input_by_name(kwargs, error, pattern):
    args = {"a": torch.zeros(4, 2), "b": torch.ones(5, 2), **kwargs}
    with pytest.raises(error, match=pattern):
        mmd_test(args.pop("a"), args.pop("b"), **args)
