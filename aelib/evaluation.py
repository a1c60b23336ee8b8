"""Measuring trained models: reconstruction error, Jacobians, ELBO, log p(x), k-NN accuracy,
trustworthiness; and what codes and likelihoods are used for (notebook 10, the last section):
retrieval, anomaly scores, learning from few labels, rate and distortion.

Every function here takes a model and images ``x`` of shape (n, input_dim), works through
them in batches in eval mode without gradients, on the model's device, and returns one value
per image (a CPU tensor of shape (n,)) or one number. Random estimates take a ``seed`` and
repeat exactly on the same device.

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
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import trustworthiness as sklearn_trustworthiness
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from aelib._checks import (
    Check,
    array,
    codes_for,
    fraction,
    images_for,
    instance,
    integer,
    labels_for,
    positive,
    real,
    same_length,
    seed,
    tensor,
    validate,
)
from aelib.likelihood import LOG_2PI
from aelib.models import VAE, LatentModel, gaussian_kl, reparameterize

#: Codes decoded at a time (a latent grid, prior draws).
GRID_CHUNK = 4096
_MODEL = instance(LatentModel, "an aelib Autoencoder or VAE")
_VAE = instance(VAE, "an aelib VAE")
_ARRAY = array(2, tensors=True)
_LABELS = array(1, kinds="iu", what="integer", tensors=True)


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


def _batches(model: LatentModel, x: torch.Tensor, y: torch.Tensor | None,
             batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """(images, labels or None) on the model's device, ``batch_size`` rows at a time."""
    for start in range(0, len(x), batch_size):
        labels = None if y is None else y[start:start + batch_size].to(model.device)
        yield x[start:start + batch_size].to(model.device), labels


_LABELLED = {"x": images_for("model", labels="y"), "y": labels_for("model", "x")}


@validate(model=_MODEL, **_LABELLED, batch_size=integer(1))
def encode_dataset(model: LatentModel, x: torch.Tensor, y: torch.Tensor | None = None, *,
                   batch_size: int = 1000) -> torch.Tensor:
    """The codes ``model.embed(x, y)``, in batches: (n, input_dim) -> (n, latent_dim); y (n,)
    only for a model conditioned on labels."""
    with _evaluating(model):
        return torch.cat([model.embed(batch, labels).cpu()
                          for batch, labels in _batches(model, x, y, batch_size)])


@validate(model=_MODEL, **_LABELLED, batch_size=integer(1))
def reconstruction_error(model: LatentModel, x: torch.Tensor, y: torch.Tensor | None = None, *,
                         batch_size: int = 1000) -> torch.Tensor:
    """Mean over pixels of (x - decode(embed(x)))^2: (n, input_dim) -> (n,); y (n,) only for
    a model conditioned on labels."""
    # For a model trained on such images, a distance to the manifold it has learned.
    with _evaluating(model):
        return torch.cat([(batch - model.reconstruct(batch, labels)).pow(2).mean(dim=1).cpu()
                          for batch, labels in _batches(model, x, y, batch_size)])


@validate(model=_MODEL, x=images_for("model"), batch_size=integer(1))
def encoder_jacobian(model: LatentModel, x: torch.Tensor, *,
                     batch_size: int = 250) -> torch.Tensor:
    """d embed / dx at every image, exact (``models.jacobian``), in batches:
    (n, input_dim) -> (n, latent_dim, input_dim). Its Frobenius norm is what a contractive
    autoencoder penalises; its right singular vectors are image-space directions."""
    with _evaluating(model):  # torch.func differentiates even under no_grad
        return torch.cat([model.encoder_jacobian(batch).cpu()
                          for batch, _ in _batches(model, x, None, batch_size)])


@validate(model=_MODEL, x=images_for("model"), batch_size=integer(1))
def reconstruction_jacobian_norm(model: LatentModel, x: torch.Tensor, *,
                                 batch_size: int = 250) -> torch.Tensor:
    """||d reconstruct / dx||_F at every image: (n, input_dim) -> (n,). How far the
    reconstruction moves per unit step of the input, in the worst-to-average sense of the
    Frobenius norm; unlike ||d embed / dx||_F it does not change when the code is rescaled."""
    norms = []
    with _evaluating(model):
        for batch, _ in _batches(model, x, None, batch_size):
            enc = model.encoder_jacobian(batch)                       # (b, d, D)
            dec = model.decoder_jacobian(model.embed(batch))          # (b, D, d)
            # ||dec @ enc||_F^2 = trace(enc^T dec^T dec enc) = <dec^T dec, enc enc^T>: two d x d
            # matrices instead of the D x D product.
            gram_dec = dec.transpose(1, 2) @ dec                      # (b, d, d)
            gram_enc = enc @ enc.transpose(1, 2)                      # (b, d, d)
            norms.append((gram_dec * gram_enc).sum(dim=(1, 2)).clamp_min(0).sqrt().cpu())
    return torch.cat(norms)


@validate(vae=_VAE, x=images_for("vae", labels="y"), y=labels_for("vae", "x"),
          n_samples=integer(1), batch_size=integer(1), seed=seed)
def elbo(vae: VAE, x: torch.Tensor, y: torch.Tensor | None = None, *, n_samples: int = 1,
         batch_size: int = 1000, seed: int = 0) -> torch.Tensor:
    """ELBO in nats, E_q over ``n_samples`` draws, exact KL, beta = 1: (n, input_dim) -> (n,).
    For a model conditioned on labels y (n,), the bound on log p(x | y). It is
    -(rate + distortion) of ``rate_and_distortion``, with the same draws."""
    rate, distortion = rate_and_distortion.__wrapped__(vae, x, y, n_samples=n_samples,
                                                       batch_size=batch_size, seed=seed)
    return -(distortion + rate)


def _pairwise_log_likelihood(model: LatentModel, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """log p(x_i | z_j) for every image and code: x (n, D), z (m, d) -> (n, m)."""
    # Each code is decoded once; the likelihood of all images under it is one matrix product.
    output = model.decoder(z)                                           # (m, D)
    if model.config.likelihood == "bernoulli":
        # log p(x | l) = sum_j x_j l_j + log sigmoid(-l_j) for logits l and x in [0, 1].
        return x @ output.T + torch.nn.functional.logsigmoid(-output).sum(dim=1)
    sigma = model.sigma()
    inv_var = 1.0 / sigma**2 if isinstance(sigma, float) else sigma.pow(-2)      # () or (D,)
    log_norm = (torch.log(torch.as_tensor(sigma)) + 0.5 * LOG_2PI).expand(x.shape[1]).sum()
    squared = ((x * x * inv_var).sum(dim=1, keepdim=True) - 2 * (x * inv_var) @ output.T
               + (output * output * inv_var).sum(dim=1))                          # (n, m)
    return -0.5 * squared - log_norm


@validate(vae=_VAE, x=images_for("vae", labels="y"), y=labels_for("vae", "x"), k=integer(1),
          prior_weight=fraction, scale=positive, batch_size=integer(1), seed=seed)
def log_importance_weights(vae: VAE, x: torch.Tensor, y: torch.Tensor | None = None, *, k: int,
                           prior_weight: float = 0.0, scale: float = 1.0, batch_size: int = 100,
                           seed: int = 0) -> torch.Tensor:
    """log p(x | z) + log p(z) - log r(z | x) for ``k`` draws z ~ r: (n, input_dim) -> (n, k).

    r = (1 - prior_weight) N(mu(x), (scale sigma(x))^2) + prior_weight N(0, I): q(z | x) by
    default, the prior alone (draws shared by all images) at prior_weight = 1. A little prior
    weight ("defensive" importance sampling) puts draws where q has none. With the labels y
    (n,) of a conditional model, p(x | z, y) and q(z | x, y): weights for log p(x | y)."""
    generator = torch.Generator(vae.device).manual_seed(seed)
    x = x.to(vae.device)
    with _evaluating(vae):
        if prior_weight == 1.0 and y is None:
            z = torch.randn((k, vae.config.latent_dim), generator=generator, dtype=x.dtype,
                            device=x.device)
            return torch.cat([_pairwise_log_likelihood(vae, x, chunk).cpu()
                              for chunk in z.split(GRID_CHUNK)], dim=1)
        return torch.cat([_proposal_log_weights(vae, batch, labels, k, prior_weight, scale,
                                                generator).cpu()
                          for batch, labels in _batches(vae, x, y, batch_size)])


def _proposal_log_weights(vae: VAE, x: torch.Tensor, y: torch.Tensor | None, k: int,
                          prior_weight: float, scale: float,
                          generator: torch.Generator) -> torch.Tensor:
    n, width = x.shape
    mu, logvar = vae.encode(x, y)                                       # (n, d) each
    sd = scale * torch.exp(0.5 * logvar)
    log_w = []
    per_chunk = max(1, 16384 // n)     # (draws * n) decoded rows at a time
    for start in range(0, k, per_chunk):
        s = min(per_chunk, k - start)
        z = mu + sd * torch.randn((s, *mu.shape), generator=generator, dtype=mu.dtype,
                                  device=mu.device)
        if prior_weight > 0.0:
            from_prior = torch.rand((s, n, 1), generator=generator, device=mu.device)
            z = torch.where(from_prior < prior_weight, torch.randn(
                z.shape, generator=generator, dtype=z.dtype, device=z.device), z)  # (s, n, d)
        log_q = -0.5 * (((z - mu) / sd).pow(2) + LOG_2PI).sum(dim=2) - sd.log().sum(dim=1)
        log_prior = -0.5 * (z.pow(2) + LOG_2PI).sum(dim=2)
        if prior_weight == 1.0:   # the prior alone (a conditional model: draws per image)
            log_q = log_prior
        elif prior_weight > 0.0:
            log_q = torch.logaddexp(math.log1p(-prior_weight) + log_q,
                                    math.log(prior_weight) + log_prior)
        images = x.expand(s, n, width).reshape(s * n, width)
        labels = None if y is None else y.expand(s, n).reshape(s * n)
        log_lik = -vae.reconstruction_nll(images, z.reshape(s * n, -1), labels).view(s, n)
        log_w.append(log_lik + log_prior - log_q)                       # (s, n)
    return torch.cat(log_w).T                                           # (n, k)


def importance_log_likelihood(vae: VAE, x: torch.Tensor, y: torch.Tensor | None = None, *,
                              k: int = 100, prior_weight: float = 0.0, scale: float = 1.0,
                              batch_size: int = 100, seed: int = 0) -> torch.Tensor:
    """log (1/k) sum_i w_i of ``log_importance_weights``, in nats: (n, input_dim) -> (n,);
    with the labels y of a conditional model, the bound on log p(x | y)."""
    # In expectation the bound of Burda et al. (2016): below log p(x) for every k (Jensen),
    # rising with k, slowly where the posterior has mass that the proposal rarely visits.
    log_w = log_importance_weights(vae, x, y, k=k, prior_weight=prior_weight, scale=scale,
                                   batch_size=batch_size, seed=seed)
    return torch.logsumexp(log_w, dim=1) - math.log(log_w.shape[1])


@validate(log_weights=tensor(2, finite=False))    # a weight may be 0
def effective_sample_size(log_weights: torch.Tensor) -> torch.Tensor:
    """(sum w)^2 / sum w^2 per row, from k (equal weights) to 1: (n, k) -> (n,)."""
    # It sees only the draws made: a mode of the posterior that no draw visited does not count.
    return torch.exp(2 * torch.logsumexp(log_weights, dim=1)
                     - torch.logsumexp(2 * log_weights, dim=1))


@validate(limit=positive, dim=integer(1, 2), step=real(0.0, lambda a: a["limit"], open_low=True))
def latent_grid_codes(*, limit: float = 5.0, step: float = 0.025, dim: int = 2) -> torch.Tensor:
    """Every code of a regular grid over [-limit, limit]^dim, spacing ``step``: (m, dim)."""
    ticks = torch.arange(-limit, limit + step / 2, step)
    return ticks[:, None] if dim == 1 else torch.cartesian_prod(ticks, ticks)


def _grid_vae(value: Any, name: str, args: Mapping[str, Any]) -> VAE:
    vae = _VAE(value, name, args)
    integer(1, 2)(vae.config.latent_dim, f"{name}.config.latent_dim")  # a grid in 1-D or 2-D
    return vae


def _grid_chunks(vae: VAE, x: torch.Tensor, limit: float,
                 step: float) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(codes (c, d), log p(x | z) + log p(z) (n, c)) for the grid, a chunk of codes at a time;
    ``latent_grid_codes`` checks limit and step. Each code is decoded once for all images."""
    codes = latent_grid_codes(limit=limit, step=step, dim=vae.config.latent_dim).to(x.dtype)
    x = x.to(vae.device)
    for chunk in codes.split(GRID_CHUNK):
        on_device = chunk.to(vae.device)
        log_joint = (_pairwise_log_likelihood(vae, x, on_device)
                     - 0.5 * (on_device.pow(2) + LOG_2PI).sum(dim=1))
        yield chunk, log_joint.cpu()


@validate(vae=_grid_vae, x=images_for("vae"))
def grid_log_joint(vae: VAE, x: torch.Tensor, *, limit: float = 5.0,
                   step: float = 0.025) -> tuple[torch.Tensor, torch.Tensor]:
    """(grid codes (m, d), log p(x | z) + log p(z) (n, m)) for a 1- or 2-D latent space.

    Softmax over a row is the exact posterior p(z | x) on the grid. Memory grows as n * m:
    keep ``x`` small and use ``grid_log_likelihood`` for many images."""
    with _evaluating(vae):
        codes, log_joint = zip(*_grid_chunks(vae, x, limit, step), strict=True)
    return torch.cat(codes), torch.cat(log_joint, dim=1)


@validate(vae=_grid_vae, x=images_for("vae"))
def grid_log_likelihood(vae: VAE, x: torch.Tensor, *, limit: float = 5.0,
                        step: float = 0.025) -> torch.Tensor:
    """log p(x) = log of the sum of p(x | z) p(z) over a grid of codes: (n, input_dim) -> (n,).

    The reference for Monte Carlo estimates in 1 or 2 latent dimensions, if fine enough for the
    narrowest posterior and wide enough for the prior: halve ``step``, grow ``limit`` to see."""
    total = torch.full((len(x),), -math.inf, dtype=x.dtype)
    with _evaluating(vae):
        for _, log_joint in _grid_chunks(vae, x, limit, step):
            total = torch.logaddexp(total, torch.logsumexp(log_joint, dim=1))
    return total + vae.config.latent_dim * math.log(step)              # times a cell's volume


@validate(vae=_VAE, x=images_for("vae"), z=codes_for("vae"))
def aggregate_posterior_log_density(vae: VAE, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """log q(z) of q(z) = (1/n) sum_i q(z | x_i): x (n, input_dim), z (m, latent_dim) -> (m,)."""
    # The codes the decoder is trained on; the KL term pulls them towards p(z), not onto it.
    with _evaluating(vae):
        mu, logvar = torch.cat([torch.cat(vae.encode(b.to(vae.device)), dim=1).cpu()
                                for b in x.split(1000)]).chunk(2, dim=1)  # (n, d) each
    parts = []
    for chunk in z.split(256):
        diff = (chunk[:, None, :] - mu[None]) ** 2 / logvar.exp()[None]   # (c, n, d)
        log_q = -0.5 * (diff + logvar[None] + LOG_2PI).sum(dim=2)         # (c, n)
        parts.append(torch.logsumexp(log_q, dim=1) - math.log(len(mu)))
    return torch.cat(parts)


@validate(train_codes=_ARRAY, train_labels=same_length("train_codes", _LABELS),
          test_codes=array(2, like="train_codes", tensors=True),
          test_labels=same_length("test_codes", _LABELS), seed=seed,
          labels_per_class=integer(1, lambda a: min(Counter(a["train_labels"]).values())),
          k=integer(1, lambda a: a["labels_per_class"] * len(set(a["train_labels"]))))
def knn_accuracy(train_codes: Any, train_labels: Any, test_codes: Any, test_labels: Any, *,
                 labels_per_class: int, k: int = 1, seed: int = 0) -> float:
    """Test accuracy of k-NN on ``labels_per_class`` random training codes of each class."""
    kept = labelled_subset.__wrapped__(
        train_labels, n_labels=labels_per_class * len(np.unique(train_labels)), seed=seed)
    classifier = KNeighborsClassifier(n_neighbors=k).fit(train_codes[kept], train_labels[kept])
    return float(classifier.score(test_codes, test_labels))


@validate(x=_ARRAY, labels=same_length("x", _LABELS), seed=seed)
def digit_classifier(x: Any, labels: Any, *, seed: int = 0) -> Any:
    """A logistic regression on x (n, D), labels (n,): a fixed judge of generated images, whose
    ``predict_proba(images)`` (m, classes) says which class it sees and how sure it is."""
    return LogisticRegression(C=0.1, max_iter=500, random_state=seed).fit(x, labels)


@validate(X=_ARRAY, embedding=same_length("X", _ARRAY),  # sklearn's limit: below n / 2
          n_neighbors=integer(1, lambda a: (len(a["X"]) - 1) // 2))
def trustworthiness(X: Any, embedding: Any, *, n_neighbors: int = 5) -> float:
    """``sklearn.manifold.trustworthiness`` of embedding (n, d) for X (n, D), 1.0 at best."""
    return float(sklearn_trustworthiness(X, embedding, n_neighbors=n_neighbors))


_pca_checks = validate(train_x=_ARRAY, x=array(2, like="train_x", tensors=True),
                       n_components=integer(0, lambda a: a["train_x"].shape[1]))


@_pca_checks
def pca_reconstruct(train_x: Any, x: Any, n_components: int) -> np.ndarray:
    """x (m, D) projected on the top principal directions of train_x (n, D) and mapped back:
    float64 (m, D). The optimum of a linear autoencoder: the baseline for a nonlinear one."""
    train_x, x = train_x.astype(np.float64), x.astype(np.float64)
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


@_pca_checks
def pca_reconstruction_error(train_x: Any, x: Any, n_components: int) -> torch.Tensor:
    """Mean over pixels of (x - ``pca_reconstruct``)^2: float64 tensor (m,)."""
    rebuilt = pca_reconstruct.__wrapped__(train_x, x, n_components)   # checked above
    return torch.from_numpy(((x.astype(np.float64) - rebuilt) ** 2).mean(axis=1))


def _bandwidths(value: Any, name: str, _: Any = None) -> tuple[float, ...]:
    value = instance((list, tuple), "a sequence of kernel widths")(value, name)
    if not value:
        raise ValueError(f"{name} must hold at least one kernel width")
    return tuple(real(0.0, open_low=True)(s, f"{name}[{i}]") for i, s in enumerate(value))


def _mmd2(kernel: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD^2 from the kernel matrix of a and b stacked, (N, N), its diagonal (k(u, u))
    zeroed, for each column of ``first`` (N, p), 1.0 on the rows of a: (p,)."""
    second = 1.0 - first
    n, m = first.sum(dim=0), second.sum(dim=0)                                 # (p,)
    within_a = (first * (kernel @ first)).sum(dim=0) / (n * (n - 1))
    within_b = (second * (kernel @ second)).sum(dim=0) / (m * (m - 1))
    between = (first * (kernel @ second)).sum(dim=0) / (n * m)
    return within_a + within_b - 2 * between


@validate(a=array(2, min_rows=2, tensors=True), b=array(2, like="a", min_rows=2, tensors=True),
          bandwidths=_bandwidths, permutations=integer(0), seed=seed)
def mmd_test(a: Any, b: Any, *, bandwidths: tuple[float, ...] = (0.5, 1.0, 2.0),
             permutations: int = 200, seed: int = 0) -> tuple[float, float]:
    """(MMD^2, p-value): how far apart the distributions of samples a (n, d) and b (m, d) are,
    by the maximum mean discrepancy (Gretton et al. 2012) with the kernel
    k(u, v) = sum over s in ``bandwidths`` of exp(-||u - v||^2 / (2 s^2)).
    MMD^2 is estimated without bias, so it is near 0 (and may be below it) when a and b come
    from one distribution. The p-value is the share of ``permutations`` random relabellings of
    the pooled samples whose MMD^2 reaches the observed one (counting the observed one): small
    when the two samples are told apart; 1.0 with no permutations."""
    pooled = torch.cat([torch.as_tensor(a), torch.as_tensor(b)]).double()   # (n + m, d)
    squared = torch.cdist(pooled, pooled).pow(2)
    kernel = sum(torch.exp(-squared / (2 * s**2)) for s in bandwidths)
    kernel.fill_diagonal_(0.0)                                  # unbiased: no k(u, u) terms
    first = (torch.arange(len(pooled)) < len(a)).double()       # (N,), 1.0 on the rows of a
    observed = _mmd2(kernel, first[:, None])[0]
    generator = torch.Generator().manual_seed(seed)
    shuffled = torch.stack([first[torch.randperm(len(pooled), generator=generator)]
                            for _ in range(permutations)] or [first], dim=1)  # (N, perms)
    reached = int((_mmd2(kernel, shuffled) >= observed).sum()) if permutations else 0
    return float(observed), (reached + 1) / (permutations + 1)


# =============================================================================================
# Applications (notebook 10): retrieval, anomaly detection, learning from few labels,
# compression. Features and codes are arrays or tensors (n, d) of any representation (pixels,
# PCA, codes); labels are integer arrays (n,). Rented from scikit-learn: the neighbour search,
# the ROC curve and its area, and the logistic regression.
# =============================================================================================

_DATABASE = array(2, like="queries", tensors=True)
_SEARCH_K = integer(1, lambda a: len(a["database"]))


@validate(queries=_ARRAY, database=_DATABASE, k=_SEARCH_K)
def nearest_neighbors(queries: Any, database: Any, *, k: int = 10) -> np.ndarray:
    """Indices of the ``k`` database rows nearest to each query by Euclidean distance, nearest
    first: queries (m, d), database (n, d) -> int64 (m, k). Brute force (every distance is
    computed, scikit-learn's ``NearestNeighbors(algorithm="brute")``), so the cost of a query
    grows with d in the same way for every representation; ties keep scikit-learn's order."""
    index = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(database.astype(np.float64))
    found = index.kneighbors(queries.astype(np.float64), return_distance=False)
    return found.astype(np.int64)


@validate(queries=_ARRAY, query_labels=same_length("queries", _LABELS), database=_DATABASE,
          database_labels=same_length("database", _LABELS), k=_SEARCH_K)
def precision_at_k(queries: Any, query_labels: Any, database: Any, database_labels: Any, *,
                   k: int = 10) -> float:
    """Retrieval precision@k: the share of each query's ``k`` nearest database rows
    (``nearest_neighbors``) that carry the query's label, averaged over the queries:
    queries (m, d) with labels (m,), database (n, d) with labels (n,) -> a float in [0, 1].
    A query that is also in the database finds itself: keep the two sets apart."""
    found = nearest_neighbors.__wrapped__(queries, database, k=k)            # (m, k), checked
    return float((database_labels[found] == query_labels[:, None]).mean())


_FLAGS = array(1, kinds="biu", what="boolean or 0/1", tensors=True)


def _anomaly_flags(value: Any, name: str, args: Mapping[str, Any]) -> np.ndarray:
    """One flag per score, 1 (True) for an anomaly and 0 (False) for a normal input, both
    present: a bool array (n,)."""
    flags = same_length("scores", _FLAGS)(value, name, args)
    found = sorted({int(v) for v in np.unique(flags)})
    if not set(found) <= {0, 1}:
        raise ValueError(f"{name} must hold only 0 and 1 (or False and True), got the values "
                         f"{found}")
    if len(found) < 2:
        raise ValueError(f"{name} must mark at least one anomaly (1) and one normal input (0), "
                         f"got {int(flags.sum())} anomalies among {len(flags)} inputs")
    return flags.astype(bool)


_ANOMALY = {"scores": array(1, tensors=True), "is_anomaly": _anomaly_flags}


@validate(**_ANOMALY)
def anomaly_auroc(scores: Any, is_anomaly: Any) -> float:
    """Area under the ROC curve of an anomaly score (scikit-learn's ``roc_auc_score``): the
    chance that a random anomaly scores above a random normal input, ties counting half.
    scores (n,), higher = more anomalous (an error, -ELBO, -log p(x)); is_anomaly (n,) bool
    or 0/1. 1.0: every anomaly above every normal input; 0.5: chance; below 0.5: the score
    ranks them the wrong way round."""
    return float(roc_auc_score(is_anomaly, scores))


@validate(**_ANOMALY)
def anomaly_roc(scores: Any, is_anomaly: Any) -> tuple[np.ndarray, np.ndarray]:
    """(false-positive rate, true-positive rate), each (t,) from 0 to 1: the share of normal
    inputs and of anomalies at or above each threshold on the score (scikit-learn's
    ``roc_curve``), the curve whose area is ``anomaly_auroc``. Same arguments."""
    false_positive, true_positive, _ = roc_curve(is_anomaly, scores)
    return false_positive, true_positive


def _labels_per_class(labels: str) -> Check:
    """A number of labelled examples that splits evenly over the classes of argument
    ``labels``, each class having that many to draw from."""
    def check(value: Any, name: str, args: Mapping[str, Any]) -> int:
        value = integer(1)(value, name)
        counts = Counter(args[labels].tolist())
        if len(counts) < 2:
            raise ValueError(f"{labels} must hold at least two classes, got only class "
                             f"{next(iter(counts))}")
        if value % len(counts):
            raise ValueError(f"{name} must be a multiple of the {len(counts)} classes in "
                             f"{labels} (as many labels per class), got {value}")
        smallest = min(counts.values())
        if value > smallest * len(counts):
            raise ValueError(f"{name} must be <= {smallest * len(counts)} (the smallest class "
                             f"in {labels} has {smallest} examples), got {value}")
        return value
    return check


@validate(labels=_LABELS, n_labels=_labels_per_class("labels"), seed=seed)
def labelled_subset(labels: Any, *, n_labels: int, seed: int = 0) -> np.ndarray:
    """Indices of ``n_labels`` examples drawn without replacement, stratified: as many of each
    class, the same for a seed: labels (n,) -> int64 (n_labels,), class by class. With 10
    labels over 10 digits, one per digit. ``knn_accuracy`` draws its examples with it."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    per_class = n_labels // len(classes)
    return np.concatenate([rng.choice(np.flatnonzero(labels == cls), size=per_class,
                                      replace=False) for cls in classes]).astype(np.int64)


#: The few-labels probe's logistic regression: its inverse regularisation strength, one for
#: every representation (there are too few labels to tune it), and its iteration budget.
PROBE_C = 1.0
PROBE_MAX_ITER = 5000


def _one_scale(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both feature sets centred on train's mean and divided by one number, the root of the
    mean variance of train's features: a representation's shape kept, its overall scale 1."""
    train, test = train.astype(np.float64), test.astype(np.float64)
    mean, spread = train.mean(axis=0), math.sqrt(train.var(axis=0).mean())
    spread = spread if spread > 0 else 1.0
    return (train - mean) / spread, (test - mean) / spread


@validate(train_features=_ARRAY, train_labels=same_length("train_features", _LABELS),
          test_features=array(2, like="train_features", tensors=True),
          test_labels=same_length("test_features", _LABELS),
          n_labels=_labels_per_class("train_labels"), seed=seed)
def few_label_accuracy(train_features: Any, train_labels: Any, test_features: Any,
                       test_labels: Any, *, n_labels: int, seed: int = 0) -> float:
    """Test accuracy of a logistic regression that knows the labels of only ``n_labels``
    training examples (``labelled_subset``: as many per class, drawn by ``seed``):
    train_features (n, d), test_features (m, d) of one representation, labels (n,), (m,).

    The features are first centred and divided by one number, the spread of all
    train_features, labelled or not (the unlabelled images are there to be used, as in
    semi-supervised learning): one regularisation strength PROBE_C then means the same for
    pixels, PCA and codes, and each keeps its shape (scaling every feature to unit variance
    would blow up nearly blank border pixels and PCA's weakest directions). With codes as
    features: the M1 recipe of Kingma et al. (2014), a logistic regression in place of their
    SVM."""
    kept = labelled_subset.__wrapped__(train_labels, n_labels=n_labels, seed=seed)   # checked
    train_features, test_features = _one_scale(train_features, test_features)
    classifier = LogisticRegression(C=PROBE_C, max_iter=PROBE_MAX_ITER).fit(
        train_features[kept], train_labels[kept])
    return float(classifier.score(test_features, test_labels))


@validate(vae=_VAE, x=images_for("vae", labels="y"), y=labels_for("vae", "x"),
          n_samples=integer(1), batch_size=integer(1), seed=seed)
def rate_and_distortion(vae: VAE, x: torch.Tensor, y: torch.Tensor | None = None, *,
                        n_samples: int = 1, batch_size: int = 1000,
                        seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(rate, distortion) in nats, each (n,): the two terms of the negative ELBO.
    rate = KL(q(z | x) || p(z)), exact: what the code costs (the nats a bits-back coder spends
    on z); distortion = -E_q[log p(x | z)] over ``n_samples`` draws: what the image costs once
    z is known. Their sum is -``elbo`` (beta = 1, whatever beta the model was trained with).
    Divide by log 2 for bits."""
    generator = torch.Generator(vae.device).manual_seed(seed)
    rates, distortions = [], []
    with _evaluating(vae):
        for batch, labels in _batches(vae, x, y, batch_size):
            mu, logvar = vae.encode(batch, labels)
            nll = torch.zeros(len(batch), dtype=batch.dtype, device=batch.device)
            for _ in range(n_samples):
                nll += vae.reconstruction_nll(batch, reparameterize(mu, logvar, generator),
                                              labels)
            distortions.append((nll / n_samples).cpu())
            rates.append(gaussian_kl(mu, logvar).cpu())
    return torch.cat(rates), torch.cat(distortions)


@validate(codes=_ARRAY, reference=array(2, like="codes", tensors=True), bits=integer(1, 16))
def quantize_codes(codes: Any, reference: Any, *, bits: int) -> torch.Tensor:
    """Codes (n, d) stored in ``bits`` bits per number: each column's range in ``reference``
    (m, d) (the training codes) cut into 2**bits equal bins, each code clipped to that range
    and replaced by the centre of its bin (a column constant in reference: by that constant).
    Returns float32 (n, d), ready for ``model.decode``. An autoencoder's code then costs
    d * bits bits per image (the ranges are sent once, for all images)."""
    codes, reference = codes.astype(np.float64), reference.astype(np.float64)
    low, high = reference.min(axis=0), reference.max(axis=0)                  # (d,) each
    levels = 2**bits
    width = np.where(high > low, high - low, 1.0)
    index = np.clip(np.floor((codes - low) / width * levels), 0, levels - 1)  # (n, d)
    centres = np.where(high > low, low + (index + 0.5) * width / levels, low)
    return torch.from_numpy(centres.astype(np.float32))
