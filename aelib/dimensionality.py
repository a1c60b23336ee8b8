"""The curse of dimensionality, measured: the mathematics of notebook 02.

Source: "차원의 저주" (curse of dimensionality). Everything here takes numbers or numpy arrays
and returns a float, an int or a numpy array; nothing plots. Functions that draw random numbers
take ``seed``: either an integer (a fresh ``numpy.random.Generator`` is made from it, so the
same call gives the same answer) or a ``Generator`` that the function draws from (and advances).

Four groups, in the order of the notebook:

- the source's grid example: ``n`` observations whose coordinates each take one of ``n_values``
  values occupy at most ``n / n_values**d`` of the cells (``grid_occupancy``), random ones a
  little less (``expected_occupancy``, ``measured_occupancy``), and keeping the occupancy fixed
  needs ``n_values**d``-fold more samples (``samples_for_occupancy``);
- distances concentrate: in high dimension the largest and the smallest distance between random
  points become alike (``pairwise_distances``, ``distance_ratio``, ``relative_contrast``,
  ``distance_concentration``);
- volume hides in corners and shells: the inscribed ball's share of the cube goes to 0
  (``ball_to_cube_ratio`` and its Monte Carlo check) and a thin outer shell holds almost all the
  volume (``shell_fraction`` and its Monte Carlo check);
- density estimation at a fixed sample size gets worse with ``d``: k-nearest-neighbour density
  estimates drift from the truth (``knn_density_error``) and histogram cells go empty
  (``histogram_empty_fraction``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from aelib._checks import check_array, check_float, check_int

__all__ = [
    "ball_to_cube_ratio", "ball_to_cube_ratio_mc", "ball_volume", "cube_shell_fraction_mc",
    "distance_concentration", "distance_ratio", "expected_occupancy", "grid_occupancy",
    "histogram_empty_fraction", "histogram_log_density", "knn_density_error", "knn_log_density",
    "kth_neighbor_distance", "log_ball_volume", "make_rng", "measured_occupancy",
    "pairwise_distances", "relative_contrast", "sample_grid_points", "samples_for_occupancy",
    "shell_fraction", "standard_normal_log_density", "uniform_cube",
]

SeedLike = int | np.random.Generator

#: Rows per block when a computation would otherwise hold a (rows, dim) or (m, n, dim) array.
_BLOCK_ELEMENTS = 2**22


# --------------------------------------------------------------------------- helpers

def make_rng(seed: SeedLike) -> np.random.Generator:
    """A ``numpy.random.Generator``: ``seed`` itself if it is one, else one seeded with it."""
    if isinstance(seed, np.random.Generator):
        return seed
    seed = check_int(seed, "seed", minimum=0, maximum=2**63 - 1)
    return np.random.default_rng(seed)


def _check_dims(dims: Sequence[int], name: str = "dims") -> list[int]:
    if isinstance(dims, (int, np.integer)) or not hasattr(dims, "__len__"):
        raise TypeError(f"{name} must be a sequence of integers, got {type(dims).__name__}")
    if len(dims) == 0:
        raise ValueError(f"{name} must not be empty")
    return [check_int(d, f"{name}[{i}]", minimum=1) for i, d in enumerate(dims)]


def _check_points(points: np.ndarray, name: str, *, min_rows: int = 1) -> np.ndarray:
    points = check_array(points, name, ndim=2).astype(np.float64, copy=False)
    if len(points) < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} rows, got shape {points.shape}")
    return points


def _squared_distances(query: np.ndarray, reference: np.ndarray):
    """Yield (start, block) with block = squared distances (rows, n_reference), exactly.

    Differences are formed explicitly (no ``|a|^2 + |b|^2 - 2ab`` shortcut, which loses the
    small distances to rounding), a block of query rows at a time to bound memory.
    """
    per_row = max(1, reference.shape[0] * reference.shape[1])
    rows = max(1, _BLOCK_ELEMENTS // per_row)
    for start in range(0, len(query), rows):
        diff = query[start:start + rows, None, :] - reference[None, :, :]
        yield start, np.einsum("ijk,ijk->ij", diff, diff)


# --------------------------------------------------------------------------- the grid example

def grid_occupancy(n_observations: int, dim: int, *, n_values: int = 10) -> float:
    """Fraction of the ``n_values**dim`` grid cells that ``n_observations`` distinct points fill.

    The source's example: 8 observations whose coordinates each take a value in 1..10 fill
    8/10 = 0.8 of the cells in one dimension, 8/100 = 0.08 in two, 8/10**d in ``d``. This is
    an *occupancy* (a share of cells), not a probability density. Capped at 1 when there are
    more observations than cells. Exact for any ``dim`` (Python integers), returned as a float
    (which underflows to 0.0 beyond about 1e-308).
    """
    n_observations = check_int(n_observations, "n_observations", minimum=0)
    dim = check_int(dim, "dim", minimum=1)
    n_values = check_int(n_values, "n_values", minimum=2)
    cells = n_values**dim
    return min(n_observations, cells) / cells


def expected_occupancy(n_observations: int, dim: int, *, n_values: int = 10) -> float:
    """Expected fraction of occupied cells when the points are drawn uniformly at random.

    Each of the M = ``n_values**dim`` cells stays empty with probability (1 - 1/M)**n, so the
    expected occupancy is 1 - (1 - 1/M)**n: a little below ``grid_occupancy`` in low
    dimension, where random points share cells, and equal to it once M is much larger than n.
    """
    n_observations = check_int(n_observations, "n_observations", minimum=0)
    dim = check_int(dim, "dim", minimum=1)
    n_values = check_int(n_values, "n_values", minimum=2)
    log_empty = n_observations * math.log1p(-1.0 / n_values**dim)
    return -math.expm1(log_empty)


def sample_grid_points(n_observations: int, dim: int, *, n_values: int = 10,
                       distinct: bool = False, seed: SeedLike = 0) -> np.ndarray:
    """Random grid points: int64 array (n_observations, dim) with entries in 1..n_values.

    By default every entry is uniform and independent, so two points may share a cell. With
    ``distinct=True`` the points fill ``n_observations`` different cells, drawn uniformly
    among all sets of that many cells (the source's example assumes distinct observations).
    """
    n_observations = check_int(n_observations, "n_observations", minimum=1)
    dim = check_int(dim, "dim", minimum=1)
    n_values = check_int(n_values, "n_values", minimum=2)
    rng = make_rng(seed)
    if not distinct:
        return rng.integers(1, n_values + 1, size=(n_observations, dim), dtype=np.int64)
    cells = n_values**dim
    if n_observations > cells:
        raise ValueError(f"n_observations must be <= the {cells} cells to be distinct, "
                         f"got {n_observations}")
    if cells <= 2**62:
        flat = rng.choice(cells, size=n_observations, replace=False)
        digits = (flat[:, None] // n_values ** np.arange(dim, dtype=np.int64)) % n_values
        return digits.astype(np.int64) + 1
    points = np.empty((0, dim), dtype=np.int64)
    while len(points) < n_observations:  # collisions are vanishingly rare here
        extra = rng.integers(1, n_values + 1, size=(n_observations, dim), dtype=np.int64)
        points = np.unique(np.concatenate([points, extra]), axis=0)
    return rng.permutation(points)[:n_observations]


def measured_occupancy(points: np.ndarray, *, n_values: int = 10) -> float:
    """Occupied cells / all cells for integer grid ``points`` of shape (n, d), values 1..n_values.

    Points that share a cell count once, so this is at most ``grid_occupancy(n, d)``.
    """
    points = check_array(points, "points", ndim=2)
    n_values = check_int(n_values, "n_values", minimum=2)
    if points.dtype.kind not in "iu":
        raise TypeError(f"points must hold integers, got dtype {points.dtype}")
    if points.min() < 1 or points.max() > n_values:
        raise ValueError(f"points must hold integers in 1..{n_values}, got values from "
                         f"{points.min()} to {points.max()}")
    occupied = len(np.unique(points, axis=0))
    return occupied / n_values ** points.shape[1]


def samples_for_occupancy(occupancy: float, dim: int, *, n_values: int = 10) -> int:
    """Fewest samples that can fill a share ``occupancy`` of the ``n_values**dim`` cells.

    ceil(occupancy * n_values**dim), exact (a Python integer, as large as it needs to be):
    keeping the source's 0.8 needs 8, 80, 800, ... samples, a factor ``n_values`` per added
    dimension. ``occupancy`` is read as the decimal it prints as (0.8 means 4/5), so that
    0.8 * 10 is 8 and not 9 through binary rounding.
    """
    occupancy = check_float(occupancy, "occupancy", minimum=0.0, maximum=1.0, open_low=True)
    dim = check_int(dim, "dim", minimum=1)
    n_values = check_int(n_values, "n_values", minimum=2)
    return math.ceil(Fraction(repr(occupancy)) * n_values**dim)


# --------------------------------------------------------------------------- distances

def uniform_cube(n_points: int, dim: int, *, seed: SeedLike = 0) -> np.ndarray:
    """``n_points`` points uniform in the unit cube [0, 1]^dim: float64 array (n_points, dim)."""
    n_points = check_int(n_points, "n_points", minimum=1)
    dim = check_int(dim, "dim", minimum=1)
    return make_rng(seed).random((n_points, dim))


def pairwise_distances(points: np.ndarray) -> np.ndarray:
    """Euclidean distances between all pairs of rows of ``points`` (n, d): shape (n(n-1)/2,).

    Ordered as ``scipy.spatial.distance.pdist``: (0,1), (0,2), ..., (0,n-1), (1,2), ...
    Computed from explicit differences, so small distances keep their precision.
    """
    points = _check_points(points, "points", min_rows=2)
    pieces = [np.sqrt(((points[i + 1:] - points[i]) ** 2).sum(axis=1))
              for i in range(len(points) - 1)]
    return np.concatenate(pieces)


def _distance_extremes(points: np.ndarray) -> tuple[float, float]:
    distances = pairwise_distances(points)
    smallest = float(distances.min())
    if smallest == 0.0:
        raise ValueError("points must be distinct: two rows are identical, so the smallest "
                         "pairwise distance is 0")
    return smallest, float(distances.max())


def distance_ratio(points: np.ndarray) -> float:
    """Largest over smallest pairwise distance among the rows of ``points`` (n >= 2, d).

    Tends to 1 as the dimension grows for random points: the nearest and the farthest pair
    become almost equally far apart ("distance concentration").
    """
    smallest, largest = _distance_extremes(points)
    return largest / smallest


def relative_contrast(points: np.ndarray) -> float:
    """(largest - smallest) / smallest pairwise distance, i.e. ``distance_ratio - 1``; -> 0."""
    smallest, largest = _distance_extremes(points)
    return (largest - smallest) / smallest


def distance_concentration(dims: Sequence[int], *, n_points: int = 100, n_trials: int = 5,
                           seed: SeedLike = 0) -> np.ndarray:
    """Mean ``distance_ratio`` of ``n_points`` uniform points in [0, 1]^d, for each d in ``dims``.

    Returns a float64 array of shape (len(dims),), averaged over ``n_trials`` draws.
    """
    dims = _check_dims(dims)
    n_points = check_int(n_points, "n_points", minimum=2)
    n_trials = check_int(n_trials, "n_trials", minimum=1)
    rng = make_rng(seed)
    return np.array([np.mean([distance_ratio(rng.random((n_points, d)))
                              for _ in range(n_trials)]) for d in dims])


# --------------------------------------------------------------------------- volumes

def log_ball_volume(dim: int, radius: float = 1.0) -> float:
    """Natural log of the volume of a ``dim``-dimensional ball of ``radius``.

    V_d(r) = pi^(d/2) r^d / Gamma(d/2 + 1), computed with ``math.lgamma`` so that it neither
    overflows nor underflows for large d.
    """
    dim = check_int(dim, "dim", minimum=1)
    radius = check_float(radius, "radius", minimum=0.0, open_low=True)
    return 0.5 * dim * math.log(math.pi) + dim * math.log(radius) - math.lgamma(0.5 * dim + 1.0)


def ball_volume(dim: int, radius: float = 1.0) -> float:
    """Volume of a ``dim``-dimensional ball of ``radius`` (2 r in 1-D, pi r^2 in 2-D, ...)."""
    return math.exp(log_ball_volume(dim, radius))


def ball_to_cube_ratio(dim: int) -> float:
    """Share of the cube [-1, 1]^dim taken by the unit ball inside it: V_d(1) / 2^d.

    1 in 1-D, pi/4 in 2-D, pi/6 in 3-D, and then quickly towards 0: almost all of a
    high-dimensional cube lies in its corners, outside the inscribed ball.
    """
    dim = check_int(dim, "dim", minimum=1)
    # min: in 1-D the ratio is exactly 1, and rounding must not push it above.
    return min(1.0, math.exp(log_ball_volume(dim) - dim * math.log(2.0)))


def ball_to_cube_ratio_mc(dim: int, *, n_samples: int = 100_000, seed: SeedLike = 0) -> float:
    """Monte Carlo estimate of ``ball_to_cube_ratio``: the share of uniform points in
    [-1, 1]^dim whose Euclidean norm is at most 1. Its standard error is
    sqrt(p (1 - p) / n_samples), and once p is far below 1 / n_samples it returns 0.
    """
    dim = check_int(dim, "dim", minimum=1)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    rng = make_rng(seed)
    inside, rows = 0, max(1, _BLOCK_ELEMENTS // dim)
    for start in range(0, n_samples, rows):
        block = rng.uniform(-1.0, 1.0, size=(min(rows, n_samples - start), dim))
        inside += int(((block**2).sum(axis=1) <= 1.0).sum())
    return inside / n_samples


def shell_fraction(dim: int, epsilon: float) -> float:
    """Share of a cube's (or a ball's) volume within relative distance ``epsilon`` of its
    surface: 1 - (1 - epsilon)^dim.

    The inner part is the same body shrunk by the factor (1 - epsilon), whose volume is
    (1 - epsilon)^dim times the whole. ``epsilon`` in (0, 1]. Tends to 1 as ``dim`` grows.
    """
    dim = check_int(dim, "dim", minimum=1)
    epsilon = check_float(epsilon, "epsilon", minimum=0.0, maximum=1.0, open_low=True)
    if epsilon == 1.0:
        return 1.0
    return -math.expm1(dim * math.log1p(-epsilon))


def cube_shell_fraction_mc(dim: int, epsilon: float, *, n_samples: int = 100_000,
                           seed: SeedLike = 0) -> float:
    """Monte Carlo estimate of ``shell_fraction`` for the cube [-1, 1]^dim: the share of uniform
    points with at least one coordinate farther than 1 - epsilon from the centre."""
    dim = check_int(dim, "dim", minimum=1)
    epsilon = check_float(epsilon, "epsilon", minimum=0.0, maximum=1.0, open_low=True)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    rng = make_rng(seed)
    in_shell, rows = 0, max(1, _BLOCK_ELEMENTS // dim)
    for start in range(0, n_samples, rows):
        block = rng.uniform(-1.0, 1.0, size=(min(rows, n_samples - start), dim))
        in_shell += int((np.abs(block).max(axis=1) > 1.0 - epsilon).sum())
    return in_shell / n_samples


# --------------------------------------------------------------------------- density estimation

def standard_normal_log_density(points: np.ndarray) -> np.ndarray:
    """log N(x; 0, I) of each row of ``points`` (m, d): shape (m,)."""
    points = _check_points(points, "points")
    dim = points.shape[1]
    return -0.5 * dim * math.log(2.0 * math.pi) - 0.5 * (points**2).sum(axis=1)


def kth_neighbor_distance(reference: np.ndarray, query: np.ndarray, *, k: int = 1) -> np.ndarray:
    """Distance from each row of ``query`` (m, d) to its k-th nearest row of ``reference``
    (n, d), n >= k: shape (m,). A query that is also a reference row counts itself."""
    reference = _check_points(reference, "reference")
    query = _check_points(query, "query")
    k = check_int(k, "k", minimum=1)
    if reference.shape[1] != query.shape[1]:
        raise ValueError(f"query must have {reference.shape[1]} columns like reference, "
                         f"got shape {query.shape}")
    if k > len(reference):
        raise ValueError(f"k must be <= the {len(reference)} reference points, got {k}")
    out = np.empty(len(query))
    for start, block in _squared_distances(query, reference):
        kth = np.partition(block, k - 1, axis=1)[:, k - 1]
        out[start:start + len(block)] = np.sqrt(kth)
    return out


def knn_log_density(reference: np.ndarray, query: np.ndarray, *, k: int = 10) -> np.ndarray:
    """k-nearest-neighbour density estimate at each query row, as a log: shape (m,).

    p_hat(x) = k / (n V_d r_k(x)^d), where r_k(x) is the distance from x to its k-th nearest of
    the n reference points and V_d the volume of the unit ball: the k points are spread as if
    the density were constant over the ball of radius r_k. Logs keep r_k^d finite in high d.
    """
    reference = _check_points(reference, "reference")
    radius = kth_neighbor_distance(reference, query, k=k)
    n, dim = reference.shape
    with np.errstate(divide="ignore"):
        log_radius = np.log(radius)
    return math.log(k) - math.log(n) - log_ball_volume(dim) - dim * log_radius


def histogram_log_density(reference: np.ndarray, query: np.ndarray, *, bins: int = 10,
                          low: float = -4.0, high: float = 4.0) -> np.ndarray:
    """Histogram density estimate at each query row, as a log: shape (m,).

    The cube [low, high]^d is cut into ``bins`` equal intervals per axis (bins^d cells); the
    estimate is count / (n * cell volume), where count is the number of reference points in
    the query's cell. -inf where that cell is empty or the query lies outside the cube.
    """
    reference = _check_points(reference, "reference")
    query = _check_points(query, "query")
    bins = check_int(bins, "bins", minimum=1)
    low = check_float(low, "low")
    high = check_float(high, "high")
    if high <= low:
        raise ValueError(f"high must be greater than low, got low={low} and high={high}")
    if reference.shape[1] != query.shape[1]:
        raise ValueError(f"query must have {reference.shape[1]} columns like reference, "
                         f"got shape {query.shape}")
    n, dim = reference.shape
    width = (high - low) / bins

    def cells(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index = np.floor((points - low) / width).astype(np.int64)
        index[points == high] = bins - 1  # the upper edge belongs to the last bin
        inside = ((index >= 0) & (index < bins)).all(axis=1)
        return index, inside

    ref_cells, ref_inside = cells(reference)
    counts: dict[bytes, int] = {}
    for row in ref_cells[ref_inside]:
        key = row.tobytes()
        counts[key] = counts.get(key, 0) + 1
    query_cells, query_inside = cells(query)
    found = np.array([counts.get(row.tobytes(), 0) if inside else 0
                      for row, inside in zip(query_cells, query_inside, strict=True)],
                     dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(found) - math.log(n) - dim * math.log(width)


def knn_density_error(dims: Sequence[int], *, n_train: int = 1000, n_test: int = 200,
                      k: int = 10, seed: SeedLike = 0) -> np.ndarray:
    """How far k-NN density estimates miss at a fixed sample size, for each d in ``dims``.

    Draws ``n_train`` and ``n_test`` points from the standard normal in d dimensions and
    returns mean |log p_hat(x) - log p(x)| over the test points: 0 is perfect, log 2 means
    off by a factor of 2 on average. Shape (len(dims),); grows with d.
    """
    dims = _check_dims(dims)
    n_train = check_int(n_train, "n_train", minimum=1)
    n_test = check_int(n_test, "n_test", minimum=1)
    k = check_int(k, "k", minimum=1, maximum=n_train)
    rng = make_rng(seed)
    errors = []
    for d in dims:
        train = rng.standard_normal((n_train, d))
        test = rng.standard_normal((n_test, d))
        estimate = knn_log_density(train, test, k=k)
        errors.append(np.mean(np.abs(estimate - standard_normal_log_density(test))))
    return np.array(errors)


def histogram_empty_fraction(dims: Sequence[int], *, n_train: int = 1000, n_test: int = 200,
                             bins: int = 10, low: float = -4.0, high: float = 4.0,
                             seed: SeedLike = 0) -> np.ndarray:
    """Share of test points whose histogram cell holds no training point, for each d in ``dims``.

    Training and test points come from the standard normal in d dimensions; the histogram is
    that of ``histogram_log_density``. There the estimate is 0 although the true density is
    not. Shape (len(dims),); climbs to 1 with d, as the grid example predicts.
    """
    dims = _check_dims(dims)
    n_train = check_int(n_train, "n_train", minimum=1)
    n_test = check_int(n_test, "n_test", minimum=1)
    rng = make_rng(seed)
    shares = []
    for d in dims:
        train = rng.standard_normal((n_train, d))
        test = rng.standard_normal((n_test, d))
        log_density = histogram_log_density(train, test, bins=bins, low=low, high=high)
        shares.append(float(np.mean(np.isneginf(log_density))))
    return np.array(shares)
