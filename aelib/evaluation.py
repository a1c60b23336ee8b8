"""Measuring trained models: reconstruction error, ELBO, log p(x), k-NN accuracy, trustworthiness.

Every function here takes a model and images ``x`` of shape (n, input_dim), works through
them in batches in eval mode without gradients, and returns one value per image (a tensor of
shape (n,)) or one number. Random estimates take a ``seed`` and repeat exactly.

Three numbers of notebook 05, from loosest to tightest, for a VAE:

    ELBO(x)  =  E_q[log p(x | z)] - KL(q(z | x) || p(z))                  <= log p(x)
    log p(x) ~= log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x),  z_i ~ q(z | x)

The second (importance sampling with q as the proposal) is at most log p(x) in expectation for
every k, and tends to it as k grows.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from aelib._checks import check_array, check_int, check_same_length
from aelib.models import VAE, LatentModel, gaussian_kl, reparameterize

LOG_2PI = math.log(2.0 * math.pi)


@contextlib.contextmanager
def _evaluating(model: LatentModel) -> Iterator[None]:
    """Eval mode and no gradients inside the block; the model's mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _check_model(model: Any, name: str = "model", *, vae: bool = False) -> LatentModel:
    wanted = VAE if vae else LatentModel
    if not isinstance(model, wanted):
        what = "an aelib VAE" if vae else "an aelib Autoencoder or VAE"
        raise TypeError(f"{name} must be {what}, got {type(model).__name__}")
    return model


def _batches(x: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    for start in range(0, len(x), batch_size):
        yield x[start:start + batch_size]


def encode_dataset(model: LatentModel, x: torch.Tensor, *,
                   batch_size: int = 1000) -> torch.Tensor:
    """The codes ``model.embed(x)`` of a whole data set, (n, latent_dim), in batches."""
    model = _check_model(model)
    x = model.check_input(x)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    with _evaluating(model):
        return torch.cat([model.embed(batch) for batch in _batches(x, batch_size)])


def reconstruction_error(model: LatentModel, x: torch.Tensor, *,
                         batch_size: int = 1000) -> torch.Tensor:
    """Mean squared error between each image and its reconstruction decode(embed(x)), averaged
    over pixels; shape (n,). For a model trained on these images, a distance to the manifold
    it has learned."""
    model = _check_model(model)
    x = model.check_input(x)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    with _evaluating(model):
        parts = [(batch - model.reconstruct(batch)).pow(2).mean(dim=1)
                 for batch in _batches(x, batch_size)]
    return torch.cat(parts)


def elbo(vae: VAE, x: torch.Tensor, *, n_samples: int = 1, batch_size: int = 1000,
         seed: int = 0) -> torch.Tensor:
    """The evidence lower bound per image in nats, shape (n,).

    E_q[log p(x | z)] is averaged over ``n_samples`` draws z ~ q(z | x); the KL term is exact.
    This is the ELBO proper (beta = 1) whatever beta the model was trained with.
    """
    vae = _check_model(vae, "vae", vae=True)
    x = vae.check_input(x)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    generator = torch.Generator().manual_seed(seed)
    parts = []
    with _evaluating(vae):
        for batch in _batches(x, batch_size):
            mu, logvar = vae.encode(batch)
            nll = torch.zeros(len(batch), dtype=batch.dtype)
            for _ in range(n_samples):
                nll += vae.reconstruction_nll(batch, reparameterize(mu, logvar, generator))
            parts.append(-nll / n_samples - gaussian_kl(mu, logvar))
    return torch.cat(parts)


def importance_log_likelihood(vae: VAE, x: torch.Tensor, *, k: int = 100,
                              batch_size: int = 100, seed: int = 0) -> torch.Tensor:
    """An importance-sampling estimate of log p(x) per image in nats, shape (n,).

    For each image, draw z_1..z_k from q(z | x) and average the weights
    w_i = p(x | z_i) p(z_i) / q(z_i | x) in log space (logsumexp). Any VAE works, including a
    linear-Gaussian one (``hidden=()``, Gaussian likelihood with fixed sigma), whose exact
    log p(x) is known; that is how the tests check this function.
    """
    vae = _check_model(vae, "vae", vae=True)
    x = vae.check_input(x)
    k = check_int(k, "k", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    generator = torch.Generator().manual_seed(seed)
    latent, width = vae.config.latent_dim, vae.config.input_dim
    parts = []
    with _evaluating(vae):
        for batch in _batches(x, batch_size):
            n = len(batch)
            mu, logvar = vae.encode(batch)                      # (n, latent)
            # Draw the k samples a few at a time so that (samples * n) rows fit in memory.
            per_chunk = max(1, 16384 // n)
            log_w = []
            for start in range(0, k, per_chunk):
                s = min(per_chunk, k - start)
                eps = torch.randn((s, n, latent), generator=generator, dtype=mu.dtype)
                z = mu + torch.exp(0.5 * logvar) * eps          # (s, n, latent)
                log_q = -0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(dim=2)
                log_prior = -0.5 * (z.pow(2) + LOG_2PI).sum(dim=2)
                images = batch.expand(s, n, width).reshape(s * n, width)
                log_lik = -vae.reconstruction_nll(images, z.reshape(s * n, latent)).view(s, n)
                log_w.append(log_lik + log_prior - log_q)       # (s, n)
            parts.append(torch.logsumexp(torch.cat(log_w), dim=0) - math.log(k))
    return torch.cat(parts)


def _as_array(value: Any, name: str, ndim: int) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return check_array(value, name, ndim=ndim)


def _as_labels(value: Any, name: str) -> np.ndarray:
    labels = _as_array(value, name, 1)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class labels, got dtype {labels.dtype}")
    return labels


def knn_accuracy(train_codes: Any, train_labels: Any, test_codes: Any, test_labels: Any, *,
                 labels_per_class: int, k: int = 1, seed: int = 0) -> float:
    """Test accuracy of a k-nearest-neighbour classifier that sees few labels.

    From ``train_codes`` (n, d) with ``train_labels`` (n,), keep ``labels_per_class`` examples
    of each class, chosen at random with ``seed``; classify ``test_codes`` (m, d) by their
    ``k`` nearest kept examples and return the fraction matching ``test_labels`` (m,).
    Codes may be tensors or arrays (raw pixels, PCA codes, AE codes...).
    """
    from sklearn.neighbors import KNeighborsClassifier

    train_codes = _as_array(train_codes, "train_codes", 2)
    test_codes = _as_array(test_codes, "test_codes", 2)
    train_labels = _as_labels(train_labels, "train_labels")
    test_labels = _as_labels(test_labels, "test_labels")
    check_same_length(train_codes, train_labels, "train_codes", "train_labels")
    check_same_length(test_codes, test_labels, "test_codes", "test_labels")
    if train_codes.shape[1] != test_codes.shape[1]:
        raise ValueError(f"train_codes and test_codes must have the same width, "
                         f"got {train_codes.shape[1]} and {test_codes.shape[1]}")
    labels_per_class = check_int(labels_per_class, "labels_per_class", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    classes = np.unique(train_labels)
    k = check_int(k, "k", minimum=1, maximum=labels_per_class * len(classes))
    rng = np.random.default_rng(seed)
    kept = []
    for cls in classes:
        members = np.flatnonzero(train_labels == cls)
        if len(members) < labels_per_class:
            raise ValueError(f"labels_per_class = {labels_per_class}, but class {cls} has only "
                             f"{len(members)} training examples")
        kept.append(rng.choice(members, size=labels_per_class, replace=False))
    kept = np.concatenate(kept)
    classifier = KNeighborsClassifier(n_neighbors=k).fit(train_codes[kept], train_labels[kept])
    return float(classifier.score(test_codes, test_labels))


def trustworthiness(X: Any, embedding: Any, *, n_neighbors: int = 5) -> float:
    """How well ``embedding`` (n, d) keeps the neighbourhoods of ``X`` (n, D): 1.0 when no
    point gains a neighbour in the embedding that was far away in ``X``.

    A checked wrapper of ``sklearn.manifold.trustworthiness``; ``n_neighbors`` must be below
    n / 2. Tensors or arrays.
    """
    from sklearn.manifold import trustworthiness as sklearn_trustworthiness

    X = _as_array(X, "X", 2)
    embedding = _as_array(embedding, "embedding", 2)
    check_same_length(X, embedding, "X", "embedding")
    n_neighbors = check_int(n_neighbors, "n_neighbors", minimum=1)
    if n_neighbors >= len(X) / 2:
        raise ValueError(f"n_neighbors must be below n / 2 = {len(X) / 2} for {len(X)} points, "
                         f"got {n_neighbors}")
    return float(sklearn_trustworthiness(X, embedding, n_neighbors=n_neighbors))


# --------------------------------------------------------------------------- linear baseline


def pca_reconstruct(train_x: Any, x: Any, n_components: int) -> np.ndarray:
    """The best linear reconstruction of each image of ``x`` from ``n_components`` numbers.

    The principal directions are those of ``train_x`` (n, D); each row of ``x`` (m, D) is
    centred on the training mean, projected onto the top ``n_components`` directions and
    mapped back: an array (m, D) of float64. ``n_components = 0`` gives the training mean for
    every image. Tensors or arrays. This is the optimum of a linear autoencoder trained with
    squared error, the baseline a nonlinear autoencoder of the same code size must beat.
    """
    train_x = _as_array(train_x, "train_x", 2).astype(np.float64)
    x = _as_array(x, "x", 2).astype(np.float64)
    if train_x.shape[1] != x.shape[1]:
        raise ValueError(f"x must have {train_x.shape[1]} columns like train_x, "
                         f"got shape {x.shape}")
    n_components = check_int(n_components, "n_components", minimum=0,
                             maximum=train_x.shape[1])
    mean = train_x.mean(axis=0)
    centred = x - mean
    if n_components == 0:
        return np.broadcast_to(mean, x.shape).copy()
    train_centred = train_x - mean
    # Eigenvectors of the D x D scatter matrix, largest eigenvalue first: exact and cheap
    # when D is a few hundred, whatever the number of images.
    _, vectors = np.linalg.eigh(train_centred.T @ train_centred)
    directions = vectors[:, ::-1][:, :n_components]                  # (D, k)
    return mean + (centred @ directions) @ directions.T


def pca_reconstruction_error(train_x: Any, x: Any, n_components: int) -> torch.Tensor:
    """Mean squared error over pixels between each image of ``x`` (m, D) and its
    ``pca_reconstruct`` from ``n_components`` numbers; a float64 tensor of shape (m,), the
    linear counterpart of ``reconstruction_error``."""
    rebuilt = pca_reconstruct(train_x, x, n_components)
    x = _as_array(x, "x", 2).astype(np.float64)
    return torch.from_numpy(((x - rebuilt) ** 2).mean(axis=1))
