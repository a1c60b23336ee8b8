"""The shared AE/VAE pair: one architecture, two kinds, trained once and then loaded."""

from __future__ import annotations

import pytest
import torch

from aelib import training, zoo
from aelib.models import VAE, Autoencoder


def test_pair_configs_differ_only_in_kind():
    configs = zoo.pair_configs(64)
    assert set(configs) == {"ae", "vae"}
    ae, vae = configs["ae"].to_dict(), configs["vae"].to_dict()
    assert ae.pop("kind") == "ae" and vae.pop("kind") == "vae"
    assert ae == vae
    assert configs["ae"].latent_dim == zoo.PAIR_LATENT_DIM
    assert configs["ae"].hidden == zoo.PAIR_HIDDEN


def test_fast_recipe_is_shorter():
    assert zoo.pair_recipe(fast=True).epochs < zoo.pair_recipe(fast=False).epochs


@pytest.mark.parametrize("fast", [1, "yes", None])
def test_fast_must_be_a_bool(fast):
    with pytest.raises(TypeError, match="fast must be True or False"):
        zoo.pair_recipe(fast=fast)


def test_train_pair_rejects_a_flat_tensor(tmp_path):
    with pytest.raises(ValueError, match="train_x must have 2 dimensions"):
        zoo.train_pair(torch.rand(10), fast=True, cache_dir=tmp_path)


def test_train_pair_trains_once_then_loads(tmp_path):
    x = torch.rand(64, 16, generator=torch.Generator().manual_seed(0))
    first = zoo.train_pair(x[:48], x[48:], fast=True, seed=3, cache_dir=tmp_path)
    assert isinstance(first["ae"].model, Autoencoder) and isinstance(first["vae"].model, VAE)
    assert first["ae"].history.epochs == zoo.pair_recipe(fast=True).epochs
    assert len(list(tmp_path.glob("*.pt"))) == 2
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.pt")}
    again = zoo.train_pair(x[:48], x[48:], fast=True, seed=3, cache_dir=tmp_path)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.pt")} == stamps
    for kind in zoo.KINDS:
        assert again[kind].history.train_loss == first[kind].history.train_loss
        for a, b in zip(first[kind].model.state_dict().values(),
                        again[kind].model.state_dict().values(), strict=True):
            assert torch.equal(a, b)


def test_pair_data_is_one_fixed_binarisation_split_by_the_seed():
    import numpy as np

    train, test = zoo.pair_data("digits", seed=1)
    assert set(np.unique(train.images)) == {0, 255} and len(train) + len(test) == 1797
    again_train, again_test = zoo.pair_data("digits", seed=1)
    assert np.array_equal(train.images, again_train.images)
    other_train, other_test = zoo.pair_data("digits", seed=2)
    # Another split of the same binarised images: every test image is one of the first's.
    first = {image.tobytes() for image in np.concatenate([train.images, test.images])}
    assert {image.tobytes() for image in other_test.images} <= first


# --------------------------------------------------------------------------- the 16-D pair


def test_wide_pair_configs_differ_only_in_kind_and_have_a_16_d_code(tmp_path):
    x = (torch.rand(48, 16, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    wide = zoo.train_wide_pair(x, fast=True, seed=2, cache_dir=tmp_path)
    assert set(wide) == set(zoo.KINDS)
    ae, vae = wide["ae"].model.config, wide["vae"].model.config
    assert ae == vae.replace(kind="ae") and vae.kind == "vae"
    assert vae.latent_dim == zoo.WIDE_LATENT_DIM == 16 and vae.hidden == zoo.PAIR_HIDDEN
    assert vae.likelihood == "bernoulli" and vae.beta == 1.0
    assert wide["ae"].history.epochs == wide["vae"].history.epochs == 3
    assert not wide["vae"].history.val_loss          # trained without a validation set


def test_wide_recipe_is_notebook_05s_wide_epochs():
    assert zoo.wide_recipe(fast=True).epochs == 3
    assert zoo.wide_recipe(fast=False).epochs == 10
    with pytest.raises(TypeError, match="fast must be True or False"):
        zoo.wide_recipe(fast=0)


def notebook_05s_inline_key(x: torch.Tensor, *, fast: bool, seed: int) -> str:
    """The cache key of notebook 05's beta = 1 VAE, which it trains inline:
    ``training.train_or_load(wide.replace(beta=1.0), x_train,
    epochs=WIDE_EPOCHS, seed=SEED, progress=False)``, with its own WIDE_LATENT and WIDE_EPOCHS."""
    wide = zoo.pair_configs(x.shape[1], latent_dim=16)["vae"]          # WIDE_LATENT = 16
    return training.cache_key(wide.replace(beta=1.0), x, None, epochs=3 if fast else 10,
                              batch_size=training.BATCH_SIZE, lr=training.LEARNING_RATE,
                              schedule=training.SCHEDULE, seed=seed)[0]


@pytest.mark.parametrize("fast", [True, False])
def test_wide_vae_has_the_cache_key_of_notebook_05s_inline_call(fast, monkeypatch):
    x = (torch.rand(20, 16, generator=torch.Generator().manual_seed(4)) > 0.5).float()
    seen = {}

    def record(config, train_x, val_x=None, **settings):
        settings.pop("cache_dir"), settings.pop("progress")
        seen[config.kind] = training.cache_key(config, train_x, val_x, **settings)[0]
        return None, None  # nothing is trained
    monkeypatch.setattr(zoo, "train_or_load", record)
    zoo.train_wide_pair(x, fast=fast, seed=5)
    assert seen["vae"] == notebook_05s_inline_key(x, fast=fast, seed=5)
    assert seen["ae"] != seen["vae"]


def test_wide_vae_loads_the_model_notebook_05_trained_inline(tmp_path):
    x = (torch.rand(40, 16, generator=torch.Generator().manual_seed(6)) > 0.5).float()
    wide = zoo.pair_configs(16, latent_dim=16)["vae"]
    inline, _ = training.train_or_load(wide.replace(beta=1.0), x, epochs=3, seed=1,
                                       progress=False, cache_dir=tmp_path)
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.pt")}
    shared = zoo.train_wide_pair(x, fast=True, seed=1, cache_dir=tmp_path)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps   # the VAE was loaded
    for a, b in zip(inline.state_dict().values(), shared["vae"].model.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
