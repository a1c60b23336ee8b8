"""The trained models that several notebooks share.

Notebook 05 trains an autoencoder and a VAE that differ only in ``kind`` (same architecture,
seed, data and 2-D latent space); notebook 06 takes the same data from ``pair_data`` and so
loads the same two models from ``train_or_load``'s cache. The images are binarised: a
Bernoulli decoder's -log p(x | z) is then a true negative log-likelihood, and the VAE's ELBO
and log p(x) are log-likelihoods of the data in nats.

    train, test = zoo.pair_data(DATASET, seed=SEED)
    pair = zoo.train_pair(train.to_tensor(), test.to_tensor(), fast=FAST, seed=SEED)
    ae, vae = pair["ae"].model, pair["vae"].model
    cvae = zoo.train_conditional(x_train, y_train, fast=FAST, seed=SEED).model   # notebook 08
    aae = zoo.train_adversarial(x_train, prior="mixture", fast=FAST, seed=SEED).model  # 09
    wide = zoo.train_wide_pair(x_train, fast=FAST, seed=SEED)   # 16-D codes: notebooks 05, 10
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from aelib._checks import choice, instance, tensor, validate
from aelib.data import ImageDataset, load_dataset
from aelib.models import LatentModel, ModelConfig
from aelib.priors import PRIORS
from aelib.training import (
    BATCH_SIZE,
    LEARNING_RATE,
    SCHEDULE,
    History,
    MaskingNoise,
    RandomShift,
    train_or_load,
)

PAIR_HIDDEN: tuple[int, ...] = (256, 64)  # the shared encoder's widths; the decoder mirrors them
PAIR_LATENT_DIM = 2   # two, so that the latent space can be drawn and explored with sliders
WIDE_LATENT_DIM = 16  # the code of notebook 05's σ and bug experiments and notebook 10's models
KINDS = ("ae", "vae")
BINARIZE_SEED = 0     # the one binarisation of the data the pair sees, whatever the split
TEST_FRACTION = 0.2   # share of the images held out for testing
AAE_MASKING = 0.3     # the labelled AAE trains on digits with this share of pixels zeroed
AAE_SHIFT = 1         # and moved by up to this many pixels in each direction
AUGMENT = RandomShift(AAE_SHIFT, MaskingNoise(AAE_MASKING))


@dataclass(frozen=True)
class Recipe:
    """How the shared models are trained: ``aelib.training.fit``'s default recipe."""

    epochs: int
    batch_size: int = BATCH_SIZE
    lr: float = LEARNING_RATE
    schedule: str = SCHEDULE


@dataclass(frozen=True)
class Trained:
    """One trained model of the pair, in eval mode, with its training history."""

    model: LatentModel
    history: History


def pair_data(name: str = "mnist_subset", *, seed: int = 0) -> tuple[ImageDataset, ImageDataset]:
    """(train, test): data set ``name`` binarised with BINARIZE_SEED, then split with ``seed``."""
    return load_dataset(name).binarized(seed=BINARIZE_SEED).split(TEST_FRACTION, seed=seed)


def pair_configs(input_dim: int = 784, *, latent_dim: int = PAIR_LATENT_DIM,
                 hidden: tuple[int, ...] = PAIR_HIDDEN) -> dict[str, ModelConfig]:
    """{"ae": config, "vae": config}: Bernoulli decoders that differ only in ``kind``."""
    base = ModelConfig(kind="ae", input_dim=input_dim, hidden=hidden, latent_dim=latent_dim,
                       likelihood="bernoulli")
    return {kind: base.replace(kind=kind) for kind in KINDS}


@validate(fast=instance(bool, "True or False"))
def pair_recipe(*, fast: bool) -> Recipe:
    """The training recipe of the pair: 60 epochs, or 10 in fast mode (the test suite's)."""
    return Recipe(epochs=10 if fast else 60)


# train_or_load checks the images themselves; here only their shape is needed.
@validate(train_x=tensor(ndim=2, finite=False))
def train_pair(train_x: torch.Tensor, val_x: torch.Tensor | None = None, *, fast: bool,
               seed: int = 0, latent_dim: int = PAIR_LATENT_DIM,
               cache_dir: str | Path | None = None, progress: bool = False) -> dict[str, Trained]:
    """{"ae": Trained, "vae": Trained}, trained on train_x (n, input_dim) in [0, 1] with the
    same seed and recipe, once, then loaded from ``train_or_load``'s cache (``cache_dir``)."""
    # The VAE draws its noise from the stream that also shuffles the batches, so after the
    # first epoch its batches come in another order than the AE's.
    recipe = pair_recipe(fast=fast)
    trained = {}
    for kind, config in pair_configs(train_x.shape[1], latent_dim=latent_dim).items():
        trained[kind] = Trained(*train_or_load(config, train_x, val_x, epochs=recipe.epochs,
                                               batch_size=recipe.batch_size, lr=recipe.lr,
                                               schedule=recipe.schedule, seed=seed,
                                               cache_dir=cache_dir, progress=progress))
    return trained


@validate(train_x=tensor(ndim=2, finite=False))
def train_conditional(train_x: torch.Tensor, train_y: torch.Tensor, *, fast: bool,
                      seed: int = 0, latent_dim: int = PAIR_LATENT_DIM,
                      cache_dir: str | Path | None = None,
                      progress: bool = False) -> Trained:
    """Notebook 08's CVAE: the pair's VAE conditioned on the labels train_y (n,) (n_classes =
    the largest label + 1), trained on train_x (n, input_dim) with the pair's seed and
    recipe, without a validation set; once, then loaded from the cache."""
    recipe = pair_recipe(fast=fast)
    labels = torch.as_tensor(train_y)
    n_classes = int(labels.max()) + 1 if len(labels) else 1
    config = pair_configs(train_x.shape[1], latent_dim=latent_dim)["vae"].replace(
        n_classes=n_classes)
    return Trained(*train_or_load(config, train_x, train_y=labels, epochs=recipe.epochs,
                                  batch_size=recipe.batch_size, lr=recipe.lr,
                                  schedule=recipe.schedule, seed=seed, cache_dir=cache_dir,
                                  progress=progress))


@validate(fast=instance(bool, "True or False"), labelled=instance(bool, "True or False"))
def adversarial_recipe(*, fast: bool, labelled: bool = False) -> Recipe:
    """The AAEs' recipe: 100 epochs, 150 for a labelled AAE (10 in fast mode), at a peak rate
    of 3e-3. The three phases chase each other, so they need a gentler rate and more epochs
    than the pair; a labelled AAE's encoder also learns to sort moved, masked digits."""
    return Recipe(epochs=10 if fast else 150 if labelled else 100, lr=3e-3)


@validate(train_x=tensor(ndim=2, finite=False), prior=choice(*PRIORS))
def train_adversarial(train_x: torch.Tensor, train_y: torch.Tensor | None = None, *,
                      prior: str = "gaussian", fast: bool, seed: int = 0,
                      cache_dir: str | Path | None = None, progress: bool = False) -> Trained:
    """Notebook 09's adversarial autoencoder with ``prior``: the pair's autoencoder (same layers,
    2-D code) plus a discriminator on z; with labels train_y (n,) its discriminator reads them
    (``prior_labels``). Trained on train_x (n, input_dim) by ``adversarial_recipe``, once, then
    loaded from the cache. The labelled AAE's encoder must tell the digits apart from their
    pixels alone, so it trains on digits moved by up to a pixel and masked
    (``RandomShift(AAE_SHIFT, MaskingNoise(AAE_MASKING))``, the target clean and unmoved),
    which makes that skill carry over better to digits it has not seen. The others train on
    clean digits: their codes of clean digits are then the ones matched to p(z)."""
    recipe = adversarial_recipe(fast=fast, labelled=train_y is not None)
    config = pair_configs(train_x.shape[1])["ae"].replace(
        kind="aae", prior=prior, prior_labels=train_y is not None)
    return Trained(*train_or_load(config, train_x, train_y=train_y, epochs=recipe.epochs,
                                  batch_size=recipe.batch_size, lr=recipe.lr,
                                  schedule=recipe.schedule, seed=seed,
                                  corrupt=None if train_y is None else AUGMENT,
                                  cache_dir=cache_dir, progress=progress))


@validate(fast=instance(bool, "True or False"))
def wide_recipe(*, fast: bool) -> Recipe:
    """The 16-D models' recipe: 10 epochs, 3 in fast mode (notebook 05's WIDE_EPOCHS)."""
    return Recipe(epochs=3 if fast else 10)


@validate(train_x=tensor(ndim=2, finite=False), fast=instance(bool, "True or False"))
def train_wide_pair(train_x: torch.Tensor, *, fast: bool, seed: int = 0,
                    cache_dir: str | Path | None = None,
                    progress: bool = False) -> dict[str, Trained]:
    """{"ae": Trained, "vae": Trained}: the pair's layers and Bernoulli decoder with a
    WIDE_LATENT_DIM code (``pair_configs(..., latent_dim=WIDE_LATENT_DIM)``), trained on
    train_x (n, input_dim) in [0, 1] by ``wide_recipe`` without a validation set; once, then
    loaded from the cache. Notebook 05's beta = 1 VAE is the "vae" trained on its training
    split; notebook 10 adds its AE twin, and the same pair trained on all digits but one."""
    recipe = wide_recipe(fast=fast)
    configs = pair_configs(train_x.shape[1], latent_dim=WIDE_LATENT_DIM)
    return {kind: Trained(*train_or_load(configs[kind], train_x, epochs=recipe.epochs,
                                         batch_size=recipe.batch_size, lr=recipe.lr,
                                         schedule=recipe.schedule, seed=seed,
                                         cache_dir=cache_dir, progress=progress))
            for kind in KINDS}
