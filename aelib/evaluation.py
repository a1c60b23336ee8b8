"""Measuring trained models: reconstruction error, ELBO, log p(x), k-NN accuracy, trustworthiness.

Every function here takes a model and images ``x`` of shape (n, input_dim), works through
them in batches in eval mode without gradients, and returns one value per image (a tensor of
shape (n,)) or one number. Random estimates take a ``seed`` and repeat exactly.

The numbers of notebook 05 for a VAE, each a lower bound on the one below it (the middle one
in expectation):

    ELBO(x)   =  E_q[log p(x | z)] - KL(q(z | x) || p(z))
    L_k(x)    ~= log (1/k) sum_i p(x | z_i) p(z_i) / r(z_i | x),   z_i ~ r(z | x)
    log p(x)  =  log of the integral of p(x | z) p(z) dz   (on a grid, in 1 or 2 dimensions)

L_k is importance sampling with the proposal r: q(z | x) itself, the prior, or a mixture.
It rises with k towards log p(x), slowly where r misses parts of the true posterior.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from aelib._checks import check_array, check_float, check_int, check_same_length, check_tensor
from aelib.models import VAE, LatentModel, gaussian_kl, reparameterize

LOG_2PI = math.log(2.0 * math.pi)
#: Codes of a latent grid decoded at a time.
GRID_CHUNK = 4096


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


def _pairwise_log_likelihood(model: LatentModel, x: torch.Tensor,
                             z: torch.Tensor) -> torch.Tensor:
    """log p(x_i | z_j) for every image i of ``x`` (n, D) and code j of ``z`` (m, d): (n, m).

    Each code is decoded once; the likelihood of all images under it is then one matrix
    product, which is what makes prior sampling and grids of codes affordable.
    """
    output = model.decoder(z)                                           # (m, D)
    if model.config.likelihood == "bernoulli":
        # log p(x | l) = sum_j x_j l_j + log sigmoid(-l_j) for logits l and x in [0, 1].
        return x @ output.T + F.logsigmoid(-output).sum(dim=1)
    sigma = model.sigma()
    inv_var = 1.0 / sigma**2 if isinstance(sigma, float) else sigma.pow(-2)      # () or (D,)
    log_norm = (torch.log(torch.as_tensor(sigma)) + 0.5 * LOG_2PI).expand(x.shape[1]).sum()
    squared = ((x * x * inv_var).sum(dim=1, keepdim=True) - 2 * (x * inv_var) @ output.T
               + (output * output * inv_var).sum(dim=1))                          # (n, m)
    return -0.5 * squared - log_norm


def log_importance_weights(vae: VAE, x: torch.Tensor, *, k: int, prior_weight: float = 0.0,
                           scale: float = 1.0, batch_size: int = 100,
                           seed: int = 0) -> torch.Tensor:
    """log w = log p(x | z) + log p(z) - log r(z | x) for ``k`` draws z ~ r(z | x): (n, k).

    The proposal r mixes the encoder's Gaussian, widened by ``scale``, with the prior:
    r = (1 - prior_weight) N(mu(x), (scale sigma(x))^2) + prior_weight N(0, I).
    prior_weight = 0 and scale = 1 is the VAE's own q(z | x); prior_weight = 1 samples the
    prior alone, whose draws do not depend on x, so all images share them. A little prior
    weight ("defensive" importance sampling) puts draws where q has none.
    """
    vae = _check_model(vae, "vae", vae=True)
    x = vae.check_input(x)
    k = check_int(k, "k", minimum=1)
    prior_weight = check_float(prior_weight, "prior_weight", minimum=0.0, maximum=1.0)
    scale = check_float(scale, "scale", minimum=0.0, open_low=True)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    generator = torch.Generator().manual_seed(seed)
    latent = vae.config.latent_dim
    with _evaluating(vae):
        if prior_weight == 1.0:
            z = torch.randn((k, latent), generator=generator, dtype=x.dtype)       # (k, d)
            return torch.cat([_pairwise_log_likelihood(vae, x, z[i:i + 4096])
                              for i in range(0, k, 4096)], dim=1)
        parts = [_proposal_log_weights(vae, batch, k, prior_weight, scale, generator)
                 for batch in _batches(x, batch_size)]
    return torch.cat(parts)


def _proposal_log_weights(vae: VAE, x: torch.Tensor, k: int, prior_weight: float,
                          scale: float, generator: torch.Generator) -> torch.Tensor:
    n, width = x.shape
    mu, logvar = vae.encode(x)                                          # (n, d) each
    sd = scale * torch.exp(0.5 * logvar)
    log_w = []
    per_chunk = max(1, 16384 // n)     # (draws * n) decoded rows at a time
    for start in range(0, k, per_chunk):
        s = min(per_chunk, k - start)
        z = mu + sd * torch.randn((s, *mu.shape), generator=generator, dtype=mu.dtype)
        if prior_weight > 0.0:
            from_prior = torch.rand((s, n, 1), generator=generator) < prior_weight
            z = torch.where(from_prior, torch.randn(z.shape, generator=generator,
                                                    dtype=z.dtype), z)      # (s, n, d)
        log_q = -0.5 * (((z - mu) / sd).pow(2) + LOG_2PI).sum(dim=2) - sd.log().sum(dim=1)
        log_prior = -0.5 * (z.pow(2) + LOG_2PI).sum(dim=2)
        if prior_weight > 0.0:
            log_q = torch.logaddexp(math.log1p(-prior_weight) + log_q,
                                    math.log(prior_weight) + log_prior)
        images = x.expand(s, n, width).reshape(s * n, width)
        log_lik = -vae.reconstruction_nll(images, z.reshape(s * n, -1)).view(s, n)
        log_w.append(log_lik + log_prior - log_q)                       # (s, n)
    return torch.cat(log_w).T                                           # (n, k)


def importance_log_likelihood(vae: VAE, x: torch.Tensor, *, k: int = 100,
                              prior_weight: float = 0.0, scale: float = 1.0,
                              batch_size: int = 100, seed: int = 0) -> torch.Tensor:
    """log (1/k) sum_i w_i per image, from ``log_importance_weights``: shape (n,), in nats.

    Its expectation is the k-sample importance-weighted bound of Burda et al. (2016): below
    log p(x) for every k (Jensen), rising with k towards log p(x). How fast depends on the
    proposal: where the true posterior has mass that the proposal rarely visits, the estimate
    stays low for a long time.
    """
    log_w = log_importance_weights(vae, x, k=k, prior_weight=prior_weight, scale=scale,
                                   batch_size=batch_size, seed=seed)
    return torch.logsumexp(log_w, dim=1) - math.log(log_w.shape[1])


def effective_sample_size(log_weights: torch.Tensor) -> torch.Tensor:
    """(sum w)^2 / sum w^2 per row of ``log_weights`` (n, k): between 1 and k, shape (n,).

    k when all weights are equal, 1 when one weight dominates. It sees only the draws that
    were made: a mode of the posterior that no draw visited does not lower it.
    """
    check_tensor(log_weights, "log_weights", ndim=2, finite=False)   # a weight may be 0
    return torch.exp(2 * torch.logsumexp(log_weights, dim=1)
                     - torch.logsumexp(2 * log_weights, dim=1))


def latent_grid_codes(*, limit: float = 5.0, step: float = 0.025,
                      dim: int = 2) -> torch.Tensor:
    """Every code of a regular grid over [-limit, limit]^dim, spacing ``step``: (m, dim)."""
    limit = check_float(limit, "limit", minimum=0.0, open_low=True)
    step = check_float(step, "step", minimum=0.0, maximum=limit, open_low=True)
    dim = check_int(dim, "dim", minimum=1, maximum=2)
    ticks = torch.arange(-limit, limit + step / 2, step)
    return ticks[:, None] if dim == 1 else torch.cartesian_prod(ticks, ticks)


def _grid(vae: Any, x: Any, limit: float,
          step: float) -> tuple[VAE, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Checked (vae, x, codes (m, d), log p(z) at the codes (m,)) for the grid functions."""
    vae = _check_model(vae, "vae", vae=True)
    x = vae.check_input(x)
    if vae.config.latent_dim > 2:
        raise ValueError(f"vae must have a latent space of 1 or 2 dimensions for a grid, "
                         f"got latent_dim = {vae.config.latent_dim}")
    codes = latent_grid_codes(limit=limit, step=step, dim=vae.config.latent_dim).to(x.dtype)
    return vae, x, codes, -0.5 * (codes.pow(2) + LOG_2PI).sum(dim=1)


def grid_log_joint(vae: VAE, x: torch.Tensor, *, limit: float = 5.0,
                   step: float = 0.025) -> tuple[torch.Tensor, torch.Tensor]:
    """(codes (m, d), log p(x, z) = log p(x | z) + log p(z) at each code: (n, m)).

    For a VAE with one or two latent dimensions. Softmax over a row is the exact posterior
    p(z | x) on the grid (up to the grid's resolution). Memory grows as n * m: keep ``x``
    small and use ``grid_log_likelihood`` for many images.
    """
    vae, x, codes, log_prior = _grid(vae, x, limit, step)
    with _evaluating(vae):
        log_lik = torch.cat([_pairwise_log_likelihood(vae, x, codes[i:i + GRID_CHUNK])
                             for i in range(0, len(codes), GRID_CHUNK)], dim=1)
    return codes, log_lik + log_prior


def grid_log_likelihood(vae: VAE, x: torch.Tensor, *, limit: float = 5.0,
                        step: float = 0.025) -> torch.Tensor:
    """log p(x) = log of the integral of p(x | z) p(z), summed on a grid of codes: (n,).

    Deterministic numerical integration, affordable only in one or two latent dimensions:
    there it is the reference the Monte Carlo estimates are judged by. The grid must be fine
    enough for the narrowest posterior and wide enough for the prior (halving ``step`` and
    growing ``limit`` should not change the result). Each code is decoded once for all images.
    """
    vae, x, codes, log_prior = _grid(vae, x, limit, step)
    total = torch.full((len(x),), -math.inf, dtype=x.dtype)
    with _evaluating(vae):
        for i in range(0, len(codes), GRID_CHUNK):
            log_joint = (_pairwise_log_likelihood(vae, x, codes[i:i + GRID_CHUNK])
                         + log_prior[i:i + GRID_CHUNK])                 # (n, chunk)
            total = torch.logaddexp(total, torch.logsumexp(log_joint, dim=1))
    return total + codes.shape[1] * math.log(step)                     # times a cell's volume


def aggregate_posterior_log_density(vae: VAE, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """log q(z) for the aggregate posterior q(z) = (1/n) sum_i q(z | x_i) of the images ``x``
    (n, D), at the codes ``z`` (m, d): shape (m,).

    This is the distribution of the codes the decoder is trained on. The KL term pulls it
    towards the prior p(z), without making it equal.
    """
    vae = _check_model(vae, "vae", vae=True)
    x = vae.check_input(x)
    check_tensor(z, "z", ndim=2)
    if z.shape[1] != vae.config.latent_dim:
        raise ValueError(f"z must have latent_dim = {vae.config.latent_dim} columns, "
                         f"got shape {tuple(z.shape)}")
    with _evaluating(vae):
        mu, logvar = torch.cat([torch.cat(vae.encode(b), dim=1) for b in _batches(x, 1000)]
                               ).chunk(2, dim=1)                        # (n, d) each
    parts = []
    for chunk in _batches(z, 256):
        diff = (chunk[:, None, :] - mu[None]) ** 2 / logvar.exp()[None]   # (c, n, d)
        log_q = -0.5 * (diff + logvar[None] + LOG_2PI).sum(dim=2)         # (c, n)
        parts.append(torch.logsumexp(log_q, dim=1) - math.log(len(mu)))
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


def digit_classifier(x: Any, labels: Any, *, seed: int = 0) -> Any:
    """A multinomial logistic regression fitted to images ``x`` (n, D) with ``labels`` (n,).

    A fixed, independent judge of generated images: ``predict_proba(images)`` (m, classes)
    says which class it sees and how sure it is. Tensors or arrays.
    """
    from sklearn.linear_model import LogisticRegression

    x = _as_array(x, "x", 2)
    labels = _as_labels(labels, "labels")
    check_same_length(x, labels, "x", "labels")
    seed = check_int(seed, "seed", minimum=0)
    return LogisticRegression(C=0.1, max_iter=500, random_state=seed).fit(x, labels)


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
