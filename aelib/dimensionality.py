"""The curse of dimensionality, measured: the mathematics of notebook 02.

Source: "차원의 저주" (curse of dimensionality). Everything here takes numbers or numpy arrays
and returns a float, an int or a numpy array; nothing plots. Functions that draw take an integer
``seed`` and use ``numpy.random.default_rng(seed)``: the same call gives the same answer.

Four groups, in the order of the notebook: the source's grid example, where n observations
fill at most n / n_values**d of the cells (``grid_occupancy``, ``samples_for_occupancy``);
distances that concentrate (``distance_ratio``, ``distance_concentration``); volume that hides
in corners and shells (``ball_to_cube_ratio``, ``shell_fraction``); density estimates that
get worse with d at a fixed sample size (``knn_density_error``, ``histogram_empty_fraction``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from aelib._checks import array, integer, real, seed, validate

#: Rows per block when a computation would otherwise hold a (rows, dim) or (m, n, dim) array.
_BLOCK_ELEMENTS = 2**22
_SHARE = real(0.0, 1.0, open_low=True)


def _dims(value: Any, name: str, _: Any = None) -> list[int]:
    return [integer(1)(d, f"{name}[{i}]") for i, d in enumerate(array(1)(value, name))]


# --------------------------------------------------------------------------- the grid example

@validate(n_observations=integer(0), dim=integer(1), n_values=integer(2))
def grid_occupancy(n_observations: int, dim: int, *, n_values: int = 10) -> float:
    """Share of the n_values**dim cells that n distinct points fill: 8/10, 8/100, ..., <= 1."""
    cells = n_values**dim
    return min(n_observations, cells) / cells


@validate(n_observations=integer(0), dim=integer(1), n_values=integer(2))
def expected_occupancy(n_observations: int, dim: int, *, n_values: int = 10) -> float:
    """Expected share of the M cells that uniform random points fill: 1 - (1 - 1/M)**n."""
    # Each cell stays empty with probability (1 - 1/M)**n: random points share cells.
    return -math.expm1(n_observations * math.log1p(-1.0 / n_values**dim))


@validate(dim=integer(1), n_values=integer(2), seed=seed,  # distinct: one point a cell
          n_observations=integer(1, lambda a: a["n_values"] ** a["dim"] if a["distinct"] else None))
def sample_grid_points(n_observations: int, dim: int, *, n_values: int = 10,
                       distinct: bool = False, seed: int = 0) -> np.ndarray:
    """Random grid points, int64 (n_observations, dim) in 1..n_values: independent entries, or
    with ``distinct`` a uniform choice of ``n_observations`` different cells."""
    rng = np.random.default_rng(seed)
    if not distinct:
        return rng.integers(1, n_values + 1, size=(n_observations, dim), dtype=np.int64)
    cells = n_values**dim
    if cells <= 2**62:
        flat = rng.choice(cells, size=n_observations, replace=False)
        digits = (flat[:, None] // n_values ** np.arange(dim, dtype=np.int64)) % n_values
        return digits.astype(np.int64) + 1
    points = np.empty((0, dim), dtype=np.int64)
    while len(points) < n_observations:  # collisions are vanishingly rare here
        extra = rng.integers(1, n_values + 1, size=(n_observations, dim), dtype=np.int64)
        points = np.unique(np.concatenate([points, extra]), axis=0)
    return rng.permutation(points)[:n_observations]


def _grid_points(value: Any, name: str, args: Mapping[str, Any]) -> np.ndarray:
    points = array(2, kinds="iu", what="integer")(value, name)
    for extreme in (points.min(), points.max()):
        integer(1, args["n_values"])(extreme, name)
    return points


@validate(n_values=integer(2), points=_grid_points)
def measured_occupancy(points: np.ndarray, *, n_values: int = 10) -> float:
    """Occupied cells / all cells of grid points (n, d); points in one cell count once."""
    return len(np.unique(points, axis=0)) / n_values ** points.shape[1]


@validate(occupancy=_SHARE, dim=integer(1), n_values=integer(2))
def samples_for_occupancy(occupancy: float, dim: int, *, n_values: int = 10) -> int:
    """Fewest samples that can fill a share ``occupancy`` of the cells, exactly: 8, 80, 800..."""
    # Read the float as the decimal it prints as (0.8 is 4/5), so 0.8 * 10 is 8 and not 9.
    return math.ceil(Fraction(repr(occupancy)) * n_values**dim)


# --------------------------------------------------------------------------- distances

@validate(n_points=integer(1), dim=integer(1), seed=seed)
def uniform_cube(n_points: int, dim: int, *, seed: int = 0) -> np.ndarray:
    """``n_points`` points uniform in the unit cube [0, 1]^dim: float64 (n_points, dim)."""
    return np.random.default_rng(seed).random((n_points, dim))


@validate(points=array(2, min_rows=2))
def pairwise_distances(points: np.ndarray) -> np.ndarray:
    """Distances between all pairs of rows, in ``pdist`` order: (n, d) -> (n(n-1)/2,)."""
    points = np.asarray(points, np.float64)
    # Explicit differences, so small distances keep their precision.
    pieces = [np.sqrt(((points[i + 1:] - points[i]) ** 2).sum(axis=1))
              for i in range(len(points) - 1)]
    return np.concatenate(pieces)


def _distance_extremes(points: np.ndarray) -> tuple[float, float]:
    distances = pairwise_distances(points)
    smallest = float(distances.min())
    if smallest == 0.0:
        raise ValueError("points must be distinct, got two identical rows")
    return smallest, float(distances.max())


def distance_ratio(points: np.ndarray) -> float:
    """Largest over smallest pairwise distance of ``points`` (n >= 2, d); tends to 1 with d."""
    smallest, largest = _distance_extremes(points)
    return largest / smallest


def relative_contrast(points: np.ndarray) -> float:
    """(largest - smallest) / smallest pairwise distance, i.e. ``distance_ratio - 1``; -> 0."""
    smallest, largest = _distance_extremes(points)
    return (largest - smallest) / smallest


@validate(dims=_dims, n_points=integer(2), n_trials=integer(1), seed=seed)
def distance_concentration(dims: Sequence[int], *, n_points: int = 100, n_trials: int = 5,
                           seed: int = 0) -> np.ndarray:
    """Mean ``distance_ratio`` of uniform points of [0, 1]^d, for each d: (len(dims),)."""
    rng = np.random.default_rng(seed)
    return np.array([np.mean([distance_ratio(rng.random((n_points, d)))
                              for _ in range(n_trials)]) for d in dims])


# --------------------------------------------------------------------------- volumes

@validate(dim=integer(1), radius=real(0.0, open_low=True))
def log_ball_volume(dim: int, radius: float = 1.0) -> float:
    """log V_d(r) = log(pi^(d/2) r^d / Gamma(d/2 + 1)), finite for any d (``math.lgamma``)."""
    return 0.5 * dim * math.log(math.pi) + dim * math.log(radius) - math.lgamma(0.5 * dim + 1.0)


def ball_volume(dim: int, radius: float = 1.0) -> float:
    """Volume of a ``dim``-dimensional ball of ``radius`` (2 r in 1-D, pi r^2 in 2-D, ...)."""
    return math.exp(log_ball_volume(dim, radius))


@validate(dim=integer(1))
def ball_to_cube_ratio(dim: int) -> float:
    """Share of the cube [-1, 1]^dim inside the unit ball, V_d(1) / 2^d: 1, pi/4, pi/6, -> 0."""
    # min: in 1-D the ratio is exactly 1, and rounding must not push it above.
    return min(1.0, math.exp(log_ball_volume(dim) - dim * math.log(2.0)))


@validate(dim=integer(1), n_samples=integer(1), seed=seed)
def ball_to_cube_ratio_mc(dim: int, *, n_samples: int = 100_000, seed: int = 0) -> float:
    """Monte Carlo ``ball_to_cube_ratio``: the share of uniform points with norm <= 1."""
    rng = np.random.default_rng(seed)
    inside, rows = 0, max(1, _BLOCK_ELEMENTS // dim)
    for start in range(0, n_samples, rows):
        block = rng.uniform(-1.0, 1.0, size=(min(rows, n_samples - start), dim))
        inside += int(((block**2).sum(axis=1) <= 1.0).sum())
    return inside / n_samples


@validate(dim=integer(1), epsilon=_SHARE)
def shell_fraction(dim: int, epsilon: float) -> float:
    """Share of a cube's (or ball's) volume within ``epsilon`` of its surface, relatively."""
    # The inner body is the whole shrunk by 1 - epsilon: (1 - epsilon)^dim of the volume.
    if epsilon == 1.0:
        return 1.0
    return -math.expm1(dim * math.log1p(-epsilon))


@validate(dim=integer(1), epsilon=_SHARE, n_samples=integer(1), seed=seed)
def cube_shell_fraction_mc(dim: int, epsilon: float, *, n_samples: int = 100_000,
                           seed: int = 0) -> float:
    """Monte Carlo ``shell_fraction`` of [-1, 1]^dim: a coordinate beyond 1 - epsilon."""
    rng = np.random.default_rng(seed)
    in_shell, rows = 0, max(1, _BLOCK_ELEMENTS // dim)
    for start in range(0, n_samples, rows):
        block = rng.uniform(-1.0, 1.0, size=(min(rows, n_samples - start), dim))
        in_shell += int((np.abs(block).max(axis=1) > 1.0 - epsilon).sum())
    return in_shell / n_samples


# --------------------------------------------------------------------------- density estimation

@validate(points=array(2))
def standard_normal_log_density(points: np.ndarray) -> np.ndarray:
    """log N(x; 0, I) of each row: points (m, d) -> (m,)."""
    points = np.asarray(points, np.float64)
    return -0.5 * points.shape[1] * math.log(2.0 * math.pi) - 0.5 * (points**2).sum(axis=1)


@validate(reference=array(2), query=array(2, like="reference"),
          k=integer(1, lambda a: len(a["reference"])))
def kth_neighbor_distance(reference: np.ndarray, query: np.ndarray, *, k: int = 1) -> np.ndarray:
    """Distance to the k-th nearest reference row: reference (n, d), query (m, d) -> (m,)."""
    reference, query = np.asarray(reference, np.float64), np.asarray(query, np.float64)
    out = np.empty(len(query))
    rows = max(1, _BLOCK_ELEMENTS // reference.size)                   # query rows per block
    for start in range(0, len(query), rows):
        # Explicit differences: the |a|^2 + |b|^2 - 2ab shortcut loses small distances.
        diff = query[start:start + rows, None, :] - reference[None, :, :]
        squared = np.einsum("ijk,ijk->ij", diff, diff)                 # (rows, n)
        out[start:start + rows] = np.sqrt(np.partition(squared, k - 1, axis=1)[:, k - 1])
    return out


def knn_log_density(reference: np.ndarray, query: np.ndarray, *, k: int = 10) -> np.ndarray:
    """log of the k-NN density estimate k / (n V_d r_k(x)^d) at each query row: (m,)."""
    # As if the density were constant over the ball of radius r_k; logs keep r_k^d finite.
    radius = kth_neighbor_distance(reference, query, k=k)      # checks the arguments
    n, dim = np.shape(reference)
    with np.errstate(divide="ignore"):
        log_radius = np.log(radius)
    return math.log(k) - math.log(n) - log_ball_volume(dim) - dim * log_radius


@validate(reference=array(2), query=array(2, like="reference"), bins=integer(1), low=real(),
          high=real(lambda a: a["low"], open_low=True))
def histogram_log_density(reference: np.ndarray, query: np.ndarray, *, bins: int = 10,
                          low: float = -4.0, high: float = 4.0) -> np.ndarray:
    """log of count / (n * cell volume) in the query's cell of [low, high]^d, cut into bins^d
    cells; -inf in an empty cell or outside the cube: reference (n, d), query (m, d) -> (m,)."""
    reference, query = np.asarray(reference, np.float64), np.asarray(query, np.float64)
    n, dim = reference.shape
    width = (high - low) / bins

    def cells(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index = np.floor((points - low) / width).astype(np.int64)
        index[points == high] = bins - 1  # the upper edge belongs to the last bin
        return index, ((index >= 0) & (index < bins)).all(axis=1)

    ref_cells, ref_inside = cells(reference)
    counts = Counter(row.tobytes() for row in ref_cells[ref_inside])
    query_cells, query_inside = cells(query)
    found = np.array([counts[row.tobytes()] if inside else 0
                      for row, inside in zip(query_cells, query_inside, strict=True)],
                     dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(found) - math.log(n) - dim * math.log(width)


@validate(dims=_dims, n_train=integer(1), n_test=integer(1), seed=seed)  # k is checked in the loop
def knn_density_error(dims: Sequence[int], *, n_train: int = 1000, n_test: int = 200,
                      k: int = 10, seed: int = 0) -> np.ndarray:
    """Mean |log p_hat - log p| of k-NN estimates of N(0, I), for each d: (len(dims),)."""
    rng = np.random.default_rng(seed)
    errors = []
    for d in dims:
        train = rng.standard_normal((n_train, d))
        test = rng.standard_normal((n_test, d))
        estimate = knn_log_density(train, test, k=k)
        errors.append(np.mean(np.abs(estimate - standard_normal_log_density(test))))
    return np.array(errors)


@validate(dims=_dims, n_train=integer(1), n_test=integer(1), seed=seed)
def histogram_empty_fraction(dims: Sequence[int], *, n_train: int = 1000, n_test: int = 200,
                             bins: int = 10, low: float = -4.0, high: float = 4.0,
                             seed: int = 0) -> np.ndarray:
    """Share of N(0, I) test points in an empty histogram cell, for each d: (len(dims),)."""
    rng = np.random.default_rng(seed)
    shares = []
    for d in dims:
        train = rng.standard_normal((n_train, d))
        test = rng.standard_normal((n_test, d))
        log_density = histogram_log_density(train, test, bins=bins, low=low, high=high)
        shares.append(float(np.mean(np.isneginf(log_density))))
    return np.array(shares)
