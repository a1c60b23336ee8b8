"""The trained models that several notebooks share.

Notebook 05 trains an autoencoder and a VAE that differ only in ``kind``: the same
architecture, seed, data and 2-D latent space. Notebook 06 explores the same two models, and
``train_or_load``'s cache means it loads them instead of training them again. Both notebooks
take their data from ``pair_data``, so they get the same cache entries.

The pair is trained on binarised images (``ImageDataset.binarized``): for them a Bernoulli
decoder's -log p(x | z) is a true negative log-likelihood, so the VAE's ELBO and log p(x) are
log-likelihoods of the data in nats.

    train, test = zoo.pair_data(DATASET, seed=SEED)
    pair = zoo.train_pair(train.to_tensor(), test.to_tensor(), fast=FAST, seed=SEED)
    ae, vae = pair["ae"].model, pair["vae"].model
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from aelib._checks import check_int
from aelib.data import ImageDataset, load_dataset
from aelib.models import LatentModel, ModelConfig
from aelib.training import History, train_or_load

#: Hidden widths of the shared encoder (the decoder mirrors them).
PAIR_HIDDEN: tuple[int, ...] = (256, 64)
#: Size of the shared latent space: two, so that it can be drawn and explored with sliders.
PAIR_LATENT_DIM = 2
KINDS = ("ae", "vae")
#: The one fixed binarisation of the data the pair sees, whatever the split's seed.
BINARIZE_SEED = 0
#: Share of the images held out for testing.
TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Recipe:
    """How the shared models are trained (Adam; see ``aelib.training.fit``)."""

    epochs: int
    batch_size: int = 128
    lr: float = 1e-3


@dataclass(frozen=True)
class Trained:
    """One trained model of the pair, in eval mode, with its training history."""

    model: LatentModel
    history: History


def pair_data(name: str = "mnist_subset", *,
              seed: int = 0) -> tuple[ImageDataset, ImageDataset]:
    """(train, test): the data set ``name``, binarised with ``BINARIZE_SEED``, split with
    ``seed``; the images the pair is trained and measured on."""
    return load_dataset(name).binarized(seed=BINARIZE_SEED).split(TEST_FRACTION, seed=seed)


def pair_configs(input_dim: int = 784, *, latent_dim: int = PAIR_LATENT_DIM,
                 hidden: tuple[int, ...] = PAIR_HIDDEN) -> dict[str, ModelConfig]:
    """{"ae": config, "vae": config}: Bernoulli decoders that differ only in ``kind``."""
    base = ModelConfig(kind="ae", input_dim=check_int(input_dim, "input_dim", minimum=1),
                       hidden=hidden, latent_dim=latent_dim, likelihood="bernoulli")
    return {kind: base.replace(kind=kind) for kind in KINDS}


def pair_recipe(*, fast: bool) -> Recipe:
    """The training recipe of the pair: 60 epochs, or 10 in fast mode (the test suite's)."""
    if not isinstance(fast, bool):
        raise TypeError(f"fast must be True or False, got {fast!r}")
    return Recipe(epochs=10 if fast else 60)


def train_pair(train_x: torch.Tensor, val_x: torch.Tensor | None = None, *, fast: bool,
               seed: int = 0, latent_dim: int = PAIR_LATENT_DIM,
               cache_dir: str | Path | None = None,
               progress: bool = False) -> dict[str, Trained]:
    """{"ae": Trained, "vae": Trained}, trained on ``train_x`` (n, input_dim) in [0, 1].

    Both start from the same seed, on the same data, with the same recipe (``pair_recipe``).
    The VAE draws its noise from the random stream that also shuffles the batches, so after
    the first epoch its batches come in another order. Each is trained once and then loaded
    from the cache
    (``aelib.training.train_or_load``; ``cache_dir`` defaults to ``build/cache``).
    """
    if not isinstance(train_x, torch.Tensor) or train_x.ndim != 2:
        raise TypeError("train_x must be a 2-D torch.Tensor (n, input_dim), got "
                        f"{type(train_x).__name__} {getattr(train_x, 'shape', '')}")
    recipe = pair_recipe(fast=fast)
    trained = {}
    for kind, config in pair_configs(train_x.shape[1], latent_dim=latent_dim).items():
        model, history = train_or_load(config, train_x, val_x, epochs=recipe.epochs,
                                       batch_size=recipe.batch_size, lr=recipe.lr, seed=seed,
                                       cache_dir=cache_dir, progress=progress)
        trained[kind] = Trained(model, history)
    return trained
