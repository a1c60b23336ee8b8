"""Manifold learning helpers: embeddings, geodesic distances, distances to data, interpolation.

Everything here takes numpy arrays of points, one point per row, and is built on
scikit-learn and scipy; nothing draws. The notebook on the manifold hypothesis uses it to

- unroll a curved sheet to 2-D with a named method (``embed``: PCA, Isomap, LLE, t-SNE);
- measure distances along the sheet instead of through the space around it
  (``geodesic_distances``, ``geodesic_path``: shortest paths on a k-nearest-neighbour graph);
- show that a curved sheet is flat only in small neighbourhoods (``local_flatness``);
- measure how far images lie from a data set (``nearest_distance``) and walk between two
  points in a straight line (``interpolate``);
- score how well a learned code recovers known factors (``factor_r2``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from aelib._checks import check_array, check_choice, check_int, check_same_length

METHODS = ("pca", "isomap", "lle", "tsne")

__all__ = [
    "METHODS", "embed", "factor_r2", "geodesic_distances", "geodesic_path", "interpolate",
    "knn_graph", "local_flatness", "nearest_distance", "swiss_roll_arc_length",
]


def _points(value: Any, name: str, *, min_rows: int = 1) -> np.ndarray:
    """A finite 2-D float64 array with at least ``min_rows`` rows; tensors are refused."""
    points = check_array(value, name, ndim=2).astype(np.float64, copy=False)
    if len(points) < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} rows, got shape {points.shape}")
    return points


def _neighbors(n_neighbors: int, n_points: int, name: str = "n_neighbors") -> int:
    return check_int(n_neighbors, name, minimum=1, maximum=n_points - 1)


# --------------------------------------------------------------------------- embeddings

def embed(points: np.ndarray, method: str, *, n_components: int = 2, n_neighbors: int = 10,
          seed: int = 0) -> np.ndarray:
    """The ``method`` embedding of ``points`` (n, D): an array (n, n_components).

    method: ``"pca"`` (the best linear projection), ``"isomap"`` (keeps geodesic distances
    on a k-NN graph), ``"lle"`` (keeps each point's reconstruction from its neighbours) or
    ``"tsne"`` (keeps who is whose neighbour, with perplexity min(30, (n - 1) / 3)).
    n_neighbors: graph size for Isomap and LLE; PCA and t-SNE ignore it. seed: fixes LLE's and
    t-SNE's randomness; all four give the same result for the same input and seed.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE, Isomap, LocallyLinearEmbedding

    check_choice(method, "method", METHODS)
    points = _points(points, "points", min_rows=3)
    n_components = check_int(n_components, "n_components", minimum=1,
                             maximum=points.shape[1])
    n_neighbors = _neighbors(n_neighbors, len(points))
    seed = check_int(seed, "seed", minimum=0)
    if method == "pca":
        model = PCA(n_components, random_state=seed)
    elif method == "isomap":
        # The dense eigensolver needs no random start vector, so the result repeats exactly.
        model = Isomap(n_neighbors=n_neighbors, n_components=n_components, eigen_solver="dense")
    elif method == "lle":
        model = LocallyLinearEmbedding(n_neighbors=n_neighbors, n_components=n_components,
                                       eigen_solver="dense", random_state=seed)
    else:
        model = TSNE(n_components, perplexity=min(30.0, (len(points) - 1) / 3.0), init="pca",
                     learning_rate="auto", random_state=seed)
    return np.asarray(model.fit_transform(points), dtype=np.float64)


# --------------------------------------------------------------------------- geodesics

def knn_graph(points: np.ndarray, *, n_neighbors: int = 10):
    """The symmetric k-nearest-neighbour graph of ``points`` (n, D) as a scipy sparse matrix
    (n, n): entry (i, j) is the Euclidean distance when j is among the ``n_neighbors`` nearest
    points of i or i among those of j, and absent otherwise."""
    from sklearn.neighbors import kneighbors_graph

    points = _points(points, "points", min_rows=2)
    n_neighbors = _neighbors(n_neighbors, len(points))
    graph = kneighbors_graph(points, n_neighbors, mode="distance")
    return graph.maximum(graph.T).tocsr()


def geodesic_distances(points: np.ndarray, *, n_neighbors: int = 10,
                       sources: np.ndarray | None = None) -> np.ndarray:
    """Distances along the data: shortest paths on ``knn_graph(points, n_neighbors)``.

    Returns (n_sources, n) for the rows ``sources`` (integer indices; default: every point,
    (n, n)). Each path hops between near neighbours, so on a densely sampled sheet it follows
    the sheet. Points the graph cannot reach get ``inf``: raise ``n_neighbors``.
    """
    from scipy.sparse.csgraph import shortest_path

    graph = knn_graph(points, n_neighbors=n_neighbors)
    indices = None if sources is None else _indices(sources, "sources", graph.shape[0])
    return shortest_path(graph, method="D", directed=False, indices=indices)


def _indices(value: Any, name: str, n: int) -> np.ndarray:
    indices = check_array(value, name, ndim=1)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer indices, got dtype {indices.dtype}")
    if indices.min() < 0 or indices.max() >= n:
        raise ValueError(f"{name} must lie in 0..{n - 1}, got values from {indices.min()} "
                         f"to {indices.max()}")
    return indices


def geodesic_path(points: np.ndarray, source: int, target: int, *,
                  n_neighbors: int = 10) -> np.ndarray:
    """The indices of the points on the shortest k-NN-graph path from row ``source`` to row
    ``target`` of ``points`` (n, D), both ends included: an integer array (length >= 1).

    Raises ValueError when the graph does not connect the two points.
    """
    from scipy.sparse.csgraph import shortest_path

    graph = knn_graph(points, n_neighbors=n_neighbors)
    n = graph.shape[0]
    source = check_int(source, "source", minimum=0, maximum=n - 1)
    target = check_int(target, "target", minimum=0, maximum=n - 1)
    _, predecessors = shortest_path(graph, method="D", directed=False, indices=[source],
                                    return_predecessors=True)
    path = [target]
    while path[-1] != source:
        previous = int(predecessors[0, path[-1]])
        if previous < 0:
            raise ValueError(f"no path joins source {source} and target {target} on the "
                             f"{n_neighbors}-nearest-neighbour graph; raise n_neighbors")
        path.append(previous)
    return np.array(path[::-1], dtype=np.int64)


def swiss_roll_arc_length(t: np.ndarray) -> np.ndarray:
    """Length along the spiral (t cos t, t sin t) from t = 0 to each ``t`` (n,): shape (n,).

    ``aelib.data.swiss_roll`` winds its sheet along this spiral, so the true distance between
    two points of the roll, measured on the sheet, is the hypotenuse of the difference of
    their arc lengths and of their heights. The integral of sqrt(1 + t^2) is
    (t sqrt(1 + t^2) + asinh t) / 2.
    """
    t = check_array(t, "t", ndim=1).astype(np.float64)
    return 0.5 * (t * np.sqrt(1.0 + t**2) + np.arcsinh(t))


# --------------------------------------------------------------------------- local flatness

def local_flatness(points: np.ndarray, *, n_neighbors: int, n_components: int = 2,
                   n_centres: int = 100, seed: int = 0) -> float:
    """How flat the data look at the scale of ``n_neighbors`` points: a number in (0, 1].

    Around each of ``n_centres`` points of ``points`` (n, D), drawn at random with ``seed``,
    take it and its ``n_neighbors`` nearest points, and measure the share of their variance
    that the best ``n_components``-dimensional plane through them holds (the top principal
    components). Returns the mean share: 1.0 when every neighbourhood lies in such a plane.
    """
    from sklearn.neighbors import NearestNeighbors

    points = _points(points, "points", min_rows=3)
    n_neighbors = _neighbors(n_neighbors, len(points))
    n_components = check_int(n_components, "n_components", minimum=1,
                             maximum=points.shape[1] - 1)
    n_centres = check_int(n_centres, "n_centres", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    centres = rng.choice(len(points), size=min(n_centres, len(points)), replace=False)
    _, neighbourhoods = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(points).kneighbors(
        points[centres])
    shares = []
    for members in neighbourhoods:
        local = points[members] - points[members].mean(axis=0)
        variances = np.linalg.svd(local, compute_uv=False) ** 2
        total = variances.sum()
        shares.append(variances[:n_components].sum() / total if total > 0 else 1.0)
    return float(np.mean(shares))


# --------------------------------------------------------------------------- distances to data

def nearest_distance(reference: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Euclidean distance from each row of ``query`` (m, D) to its nearest row of
    ``reference`` (n, D): shape (m,). For images, how far each query lies from the data set.
    """
    from sklearn.neighbors import NearestNeighbors

    reference = _points(reference, "reference")
    query = _points(query, "query")
    if reference.shape[1] != query.shape[1]:
        raise ValueError(f"query must have {reference.shape[1]} columns like reference, "
                         f"got shape {query.shape}")
    index = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(reference)
    distances, _ = index.kneighbors(query)
    return distances[:, 0]


def interpolate(start: Any, end: Any, steps: int) -> Any:
    """``steps`` points evenly spaced on the straight line from ``start`` to ``end``, both
    included: (1 - a) * start + a * end for a = 0, 1 / (steps - 1), ..., 1.

    ``start`` and ``end``: 1-D arrays of the same length D (pixels of an image, or a code), or
    both 1-D torch tensors; returns (steps, D) of the same kind.
    """
    steps = check_int(steps, "steps", minimum=2)
    if isinstance(start, torch.Tensor) or isinstance(end, torch.Tensor):
        if not (isinstance(start, torch.Tensor) and isinstance(end, torch.Tensor)):
            raise TypeError("start and end must both be tensors or both be arrays, got "
                            f"{type(start).__name__} and {type(end).__name__}")
        for value, name in ((start, "start"), (end, "end")):
            if value.ndim != 1 or not value.is_floating_point():
                raise ValueError(f"{name} must be a 1-D floating-point tensor, got shape "
                                 f"{tuple(value.shape)} and dtype {value.dtype}")
            if not bool(torch.isfinite(value).all()):
                raise ValueError(f"{name} must not contain NaN or infinity")
        if start.shape != end.shape:
            raise ValueError(f"start and end must have the same shape, got "
                             f"{tuple(start.shape)} and {tuple(end.shape)}")
        weights = torch.linspace(0.0, 1.0, steps, dtype=start.dtype)[:, None]
        return (1.0 - weights) * start[None, :] + weights * end[None, :]
    start = check_array(start, "start", ndim=1).astype(np.float64)
    end = check_array(end, "end", ndim=1).astype(np.float64)
    if start.shape != end.shape:
        raise ValueError(f"start and end must have the same shape, got {start.shape} and "
                         f"{end.shape}")
    weights = np.linspace(0.0, 1.0, steps)[:, None]
    return (1.0 - weights) * start[None, :] + weights * end[None, :]


# --------------------------------------------------------------------------- known factors

def factor_r2(codes: np.ndarray, factors: np.ndarray, *, n_neighbors: int = 10,
              n_folds: int = 5, seed: int = 0) -> np.ndarray:
    """How well ``codes`` (n, d) determine each column of ``factors`` (n, k): shape (k,).

    Each factor is predicted from the codes by k-nearest-neighbour regression, every point
    from a model that did not see it (``n_folds``-fold cross-validation, folds shuffled with
    ``seed``), and scored with R^2 = 1 - (squared error) / (variance of the factor). 1.0 means
    the factor is a function of the code; 0 means the code says nothing about it. k-NN
    regression does not care whether the code is a straight or a bent copy of the factor.
    """
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.neighbors import KNeighborsRegressor

    codes = _points(codes, "codes", min_rows=2)
    factors = _points(factors, "factors", min_rows=2)
    check_same_length(codes, factors, "codes", "factors")
    n_folds = check_int(n_folds, "n_folds", minimum=2, maximum=len(codes))
    smallest_training_part = len(codes) - -(-len(codes) // n_folds)  # n - ceil(n / folds)
    n_neighbors = check_int(n_neighbors, "n_neighbors", minimum=1,
                            maximum=smallest_training_part)
    seed = check_int(seed, "seed", minimum=0)
    folds = KFold(n_folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(KNeighborsRegressor(n_neighbors), codes, factors, cv=folds)
    residual = ((factors - predicted) ** 2).sum(axis=0)
    spread = ((factors - factors.mean(axis=0)) ** 2).sum(axis=0)
    if (spread == 0).any():
        raise ValueError("factors must vary: a constant column has no R^2")
    return 1.0 - residual / spread
