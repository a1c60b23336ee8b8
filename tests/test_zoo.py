"""The shared AE/VAE pair: one architecture, two kinds, trained once and then loaded."""

from __future__ import annotations

import pytest
import torch

from aelib import zoo
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
