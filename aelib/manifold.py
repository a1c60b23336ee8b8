"""Manifold learning helpers: embeddings, geodesic distances, distances to data, interpolation.

On numpy arrays of points, one per row, with scikit-learn and scipy. Notebook 03 uses it to

- unroll a curved sheet to 2-D with a named method (``embed``: PCA, Isomap, LLE, t-SNE);
- measure distances along the sheet instead of through the space around it
  (``geodesic_distances``, ``geodesic_path``: shortest paths on a k-nearest-neighbour graph);
- show that a curved sheet is flat only in small neighbourhoods (``local_flatness``);
- measure how far images lie from a data set (``nearest_distance``) and walk between two
  points in a straight line (``interpolate``);
- score how well a learned code recovers known factors (``factor_r2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from scipy.sparse.csgraph import shortest_path
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE, Isomap, LocallyLinearEmbedding
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.neighbors import KNeighborsRegressor, NearestNeighbors, kneighbors_graph

from aelib._checks import array, choice, integer, optional, same_length, seed, tensor, validate

METHODS = ("pca", "isomap", "lle", "tsne")
_NEIGHBORS = integer(1, lambda a: len(a["points"]) - 1)   # other rows than the point itself
_ROW = integer(0, lambda a: len(a["points"]) - 1)


@validate(method=choice(*METHODS), points=array(2, min_rows=3), n_neighbors=_NEIGHBORS,
          seed=seed, n_components=integer(1, lambda a: a["points"].shape[1]))
def embed(points: np.ndarray, method: str, *, n_components: int = 2, n_neighbors: int = 10,
          seed: int = 0) -> np.ndarray:
    """The ``method`` embedding, repeatable with ``seed``: points (n, D) -> (n, n_components).

    pca: the best linear projection; isomap: keeps geodesic distances; lle: keeps each
    point's reconstruction from its neighbours; tsne: keeps who is whose neighbour."""
    points = np.asarray(points, np.float64)
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


@validate(points=array(2, min_rows=2), n_neighbors=_NEIGHBORS)
def knn_graph(points: np.ndarray, *, n_neighbors: int = 10) -> Any:
    """Sparse (n, n): the distance from i to j if either is a k nearest neighbour of the other."""
    graph = kneighbors_graph(np.asarray(points, np.float64), n_neighbors, mode="distance")
    return graph.maximum(graph.T).tocsr()


def _rows(value: Any, name: str, args: Mapping[str, Any]) -> np.ndarray:
    indices = array(1, kinds="iu", what="integer")(value, name)
    for extreme in (indices.min(), indices.max()):
        _ROW(extreme, name, args)
    return indices


@validate(sources=optional(_rows))
def geodesic_distances(points: np.ndarray, *, n_neighbors: int = 10,
                       sources: np.ndarray | None = None) -> np.ndarray:
    """Distances along ``knn_graph`` from rows ``sources`` (default all), inf if apart: (s, n)."""
    graph = knn_graph(points, n_neighbors=n_neighbors)          # checks points, n_neighbors
    return shortest_path(graph, method="D", directed=False, indices=sources)


@validate(source=_ROW, target=_ROW)
def geodesic_path(points: np.ndarray, source: int, target: int, *,
                  n_neighbors: int = 10) -> np.ndarray:
    """Rows on the shortest ``knn_graph`` path from ``source`` to ``target``, both included."""
    graph = knn_graph(points, n_neighbors=n_neighbors)          # checks points, n_neighbors
    distances, predecessors = shortest_path(graph, method="D", directed=False, indices=[source],
                                            return_predecessors=True)
    if np.isinf(distances[0, target]):
        raise ValueError(f"no path joins source {source} and target {target}: raise n_neighbors")
    path = [target]
    while path[-1] != source:
        path.append(int(predecessors[0, path[-1]]))
    return np.array(path[::-1], dtype=np.int64)


@validate(t=array(1))
def swiss_roll_arc_length(t: np.ndarray) -> np.ndarray:
    """Length along ``data.swiss_roll``'s spiral (t cos t, t sin t) from 0 to t: (n,) -> (n,)."""
    t = t.astype(np.float64)
    return 0.5 * (t * np.sqrt(1.0 + t**2) + np.arcsinh(t))   # the integral of sqrt(1 + t^2)


@validate(points=array(2, min_rows=3), n_neighbors=_NEIGHBORS, n_centres=integer(1), seed=seed,
          n_components=integer(1, lambda a: a["points"].shape[1] - 1))
def local_flatness(points: np.ndarray, *, n_neighbors: int, n_components: int = 2,
                   n_centres: int = 100, seed: int = 0) -> float:
    """Mean share of variance in the best plane through a point and its neighbours: (0, 1]."""
    points = np.asarray(points, np.float64)
    rng = np.random.default_rng(seed)
    centres = rng.choice(len(points), size=min(n_centres, len(points)), replace=False)
    _, neighbourhoods = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(points).kneighbors(
        points[centres])
    shares = []
    for members in neighbourhoods:
        local = points[members] - points[members].mean(axis=0)
        variances = np.linalg.svd(local, compute_uv=False) ** 2      # of the principal axes
        total = variances.sum()
        shares.append(variances[:n_components].sum() / total if total > 0 else 1.0)
    return float(np.mean(shares))


@validate(reference=array(2), query=array(2, like="reference"))
def nearest_distance(reference: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Distance from each query row to its nearest reference row: (n, D), (m, D) -> (m,)."""
    reference, query = np.asarray(reference, np.float64), np.asarray(query, np.float64)
    index = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(reference)
    distances, _ = index.kneighbors(query)
    return distances[:, 0]


def _vector(value: Any, name: str, args: Mapping[str, Any]) -> Any:
    """A finite 1-D float tensor if ``start`` is one, else a 1-D array as float64."""
    if isinstance(args["start"], torch.Tensor):
        return tensor(1)(value, name)
    return array(1)(value, name).astype(np.float64)


@validate(steps=integer(2), start=_vector, end=same_length("start", _vector))
def interpolate(start: Any, end: Any, steps: int) -> Any:
    """(1 - a) start + a end for ``steps`` a from 0 to 1: (D,), (D,) -> (steps, D)."""
    if isinstance(start, torch.Tensor):
        weights = torch.linspace(0.0, 1.0, steps, dtype=start.dtype)[:, None]
    else:
        weights = np.linspace(0.0, 1.0, steps)[:, None]
    return (1.0 - weights) * start[None, :] + weights * end[None, :]


@validate(codes=array(2, min_rows=2), factors=same_length("codes", array(2, min_rows=2)),
          n_folds=integer(2, lambda a: len(a["codes"])), seed=seed,  # <= the smallest train fold:
          n_neighbors=integer(1, lambda a: len(a["codes"]) * (a["n_folds"] - 1) // a["n_folds"]))
def factor_r2(codes: np.ndarray, factors: np.ndarray, *, n_neighbors: int = 10,
              n_folds: int = 5, seed: int = 0) -> np.ndarray:
    """Cross-validated R^2 of k-NN regression from codes (n, d) to each factor (n, k): (k,)."""
    # 1.0 when the factor is a function of the code, straight or bent; 0 when unrelated.
    codes, factors = np.asarray(codes, np.float64), np.asarray(factors, np.float64)
    folds = KFold(n_folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(KNeighborsRegressor(n_neighbors), codes, factors, cv=folds)
    residual = ((factors - predicted) ** 2).sum(axis=0)
    spread = ((factors - factors.mean(axis=0)) ** 2).sum(axis=0)
    if (spread == 0).any():
        raise ValueError("factors must vary: a constant column has no R^2")
    return 1.0 - residual / spread
