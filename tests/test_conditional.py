"""Models conditioned on labels (ModelConfig.n_classes > 0): the conditional VAE and AE, their
training with labels, and the evaluation functions that take them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aelib.evaluation import (
    elbo,
    encode_dataset,
    grid_log_likelihood,
    importance_log_likelihood,
    log_importance_weights,
    reconstruction_error,
)
from aelib.models import ModelConfig, build_model
from aelib.training import cache_key, evaluate_loss, fit, train_or_load
from aelib.views import decode_points

D, LATENT, CLASSES = 12, 2, 3


def config(**changes) -> ModelConfig:
    return ModelConfig(**{"kind": "vae", "input_dim": D, "hidden": (16,), "latent_dim": LATENT,
                          "n_classes": CLASSES, **changes})


def data(n: int = 30, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary images whose class sets which third of the pixels is on: (n, D), labels (n,)."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % CLASSES
    base = torch.zeros(n, D)
    for c in range(CLASSES):
        base[y == c, c * D // CLASSES:(c + 1) * D // CLASSES] = 0.9
    return torch.bernoulli(base + 0.05, generator=generator), y


X, Y = data()


def test_the_label_widens_the_encoder_input_and_the_decoder_code():
    model = build_model(config(), seed=0)
    assert model.encoder[0].in_features == D + CLASSES
    assert model.decoder[0].in_features == LATENT + CLASSES
    assert ModelConfig.from_dict(json.loads(json.dumps(config().to_dict()))) == config()


def test_the_loss_is_the_elbo_of_p_x_given_y_written_out():
    model = build_model(config(), seed=0)
    gen = torch.Generator().manual_seed(1)
    terms = model.loss(X, y=Y, generator=gen)
    onehot = F.one_hot(Y, CLASSES).float()
    mu, logvar = model.encoder(torch.cat([X, onehot], 1)).chunk(2, dim=1)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=torch.Generator()
                                                   .manual_seed(1))
    logits = model.decoder(torch.cat([z, onehot], 1))
    bce = F.binary_cross_entropy_with_logits(logits, X, reduction="none").sum(1).mean()
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()
    torch.testing.assert_close(terms.reconstruction, bce)
    torch.testing.assert_close(terms.total, bce + kl)


def test_decoding_one_code_with_each_label_gives_different_images():
    model = build_model(config(), seed=0)
    z = torch.zeros(CLASSES, LATENT)
    images = model.decode(z, torch.arange(CLASSES))
    assert not torch.allclose(images[0], images[1])
    assert model.sample(4, y=torch.tensor([0, 1, 2, 0])).shape == (4, D)


def test_a_conditional_vae_learns_to_draw_the_class_it_is_given():
    model = build_model(config(), seed=0)
    history = fit(model, X, X, train_y=Y.numpy(), val_y=Y, epochs=60, batch_size=10, lr=1e-2,
                  progress=False)
    assert history.val_loss[-1] < history.val_loss[0]
    model.eval()
    drawn = model.sample(300, generator=torch.Generator().manual_seed(0),
                         y=torch.arange(300) % CLASSES)
    for c in range(CLASSES):  # each class's third of the pixels is the brightest
        thirds = drawn[torch.arange(300) % CLASSES == c].view(-1, CLASSES, D // CLASSES)
        assert thirds.mean(dim=(0, 2)).argmax().item() == c


def test_fit_with_labels_is_repeatable_and_the_cache_keys_on_the_labels(tmp_path):
    settings = {"epochs": 2, "batch_size": 10, "lr": 1e-2, "progress": False}
    a, b = build_model(config(), seed=0), build_model(config(), seed=0)
    assert fit(a, X, train_y=Y, **settings) == fit(b, X, train_y=Y, **settings)
    model, history = train_or_load(config(), X, train_y=Y, cache_dir=tmp_path, **settings)
    again, _ = train_or_load(config(), X, train_y=Y, cache_dir=tmp_path, **settings)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), again.parameters(),
                                                 strict=True))
    base = {"epochs": 1, "batch_size": 8, "lr": 1e-3, "schedule": "constant", "seed": 0}
    keys = {cache_key(config(), X, None, train_y=labels, **base)[0]
            for labels in (Y, Y.flip(0))}
    assert len(keys) == 2
    _, description = cache_key(config(n_classes=0), X, None, **base)
    assert "train_labels" not in description  # models without labels keep their old keys


def test_evaluation_takes_the_labels_and_bounds_are_ordered():
    model = build_model(config(), seed=0)
    fit(model, X, train_y=Y, epochs=20, batch_size=10, lr=1e-2, progress=False)
    codes = encode_dataset(model, X, Y, batch_size=7)
    assert codes.shape == (len(X), LATENT)
    torch.testing.assert_close(codes, model.eval().embed(X, Y))
    assert reconstruction_error(model, X, Y).shape == (len(X),)
    bound = elbo(model, X, Y, n_samples=20).mean()
    iwae = importance_log_likelihood(model, X, Y, k=200, batch_size=7).mean()
    assert iwae > bound  # the importance-weighted bound is the tighter one, on average
    # With the prior as proposal, draws are made per image (each image has its own label).
    from_prior = log_importance_weights(model, X, Y, k=5, prior_weight=1.0)
    assert from_prior.shape == (len(X), 5) and torch.isfinite(from_prior).all()
    assert evaluate_loss(model, X, Y)["kl"] > 0


@pytest.mark.parametrize(("call", "pattern"), [
    (lambda m: fit(m, X, epochs=1, progress=False), r"train_y is needed: model takes labels"),
    (lambda m: fit(m, X, X, train_y=Y, epochs=1, progress=False), r"val_y is needed"),
    (lambda m: fit(m, X, train_y=Y[:-1], epochs=1, progress=False),
     r"train_x and train_y must have the same length, got 30 and 29"),
    (lambda m: fit(m, X, train_y=Y + 1, epochs=1, progress=False),
     r"train_y must lie in \[0, 2\] \(n_classes = 3\), got values from 1 to 3"),
    (lambda m: encode_dataset(m, X), r"y is needed"),
    (lambda m: grid_log_likelihood(m, X), r"vae is conditioned on labels \(n_classes = 3\), "
                                          r"and this function takes none"),
    (lambda m: decode_points(m, np.zeros((2, LATENT))), r"labels is needed: model takes"),
])
def test_a_conditional_model_without_its_labels_is_refused_by_name(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call(build_model(config(), seed=0))


def test_labels_for_a_model_without_classes_are_refused():
    plain = build_model(config(n_classes=0), seed=0)
    with pytest.raises(ValueError, match=r"train_y gives labels, but model is not conditioned"):
        fit(plain, X, train_y=Y, epochs=1, progress=False)
    with pytest.raises(TypeError, match=r"train_y must hold integer values"):
        fit(build_model(config(), seed=0), X, train_y=Y.float(), epochs=1, progress=False)


@pytest.mark.parametrize(("changes", "pattern"), [
    ({"architecture": "conv", "input_dim": 64, "hidden": (4,)}, r"'vae', architecture='mlp'"),
    ({"kind": "ae", "penalty": "sparse", "penalty_weight": 1.0}, r"and penalty='none'"),
    ({"n_classes": -1}, r"n_classes must be >= 0, got -1"),
])
def test_config_refuses_labels_with_what_does_not_take_them(changes, pattern):
    with pytest.raises(ValueError, match=pattern):
        config(**changes)


def test_the_jacobian_of_a_conditional_code_holds_the_label_fixed():
    model = build_model(config(kind="ae"), seed=0).double()
    x, step = X[:4].double(), 1e-6
    numeric = torch.stack([(model.embed(x + step * e, Y[:4]) - model.embed(x - step * e, Y[:4]))
                           / (2 * step) for e in torch.eye(D, dtype=torch.float64)], dim=2)
    torch.testing.assert_close(model.encoder_jacobian(x, Y[:4]), numeric, rtol=1e-6, atol=1e-8)
    assert math.isfinite(model.decoder_jacobian(model.embed(x, Y[:4]), Y[:4]).sum().item())
