"""aelib.dimensionality: the grid example, distances, volumes and density estimates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aelib import dimensionality as dim

# --------------------------------------------------------------------------- seeds


def test_seeds_are_integers_that_seed_numpys_default_generator():
    assert np.array_equal(dim.uniform_cube(3, 2, seed=3),
                          np.random.default_rng(3).random((3, 2)))
    with pytest.raises(ValueError, match="seed must be >= 0"):
        dim.uniform_cube(3, 2, seed=-1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        dim.sample_grid_points(3, 2, seed=1.5)
    with pytest.raises(TypeError, match="seed must be an integer, got Generator"):
        dim.ball_to_cube_ratio_mc(3, seed=np.random.default_rng(1))


# --------------------------------------------------------------------------- the grid example


def test_grid_occupancy_reproduces_the_source_example():
    assert [dim.grid_occupancy(8, d) for d in (1, 2, 3)] == [0.8, 0.08, 0.008]
    assert dim.grid_occupancy(8, 40) == 8 / 10**40
    assert dim.grid_occupancy(500, 2) == 1.0  # more observations than cells
    assert dim.grid_occupancy(3, 2, n_values=2) == 0.75
    with pytest.raises(ValueError, match="dim"):
        dim.grid_occupancy(8, 0)
    with pytest.raises(ValueError, match="n_values"):
        dim.grid_occupancy(8, 2, n_values=1)


def test_expected_occupancy_of_random_points():
    # 2 points on 10 cells: both in one cell with probability 1/10.
    assert dim.expected_occupancy(2, 1) == pytest.approx(0.9 * 0.2 + 0.1 * 0.1)
    assert dim.expected_occupancy(8, 12) == pytest.approx(dim.grid_occupancy(8, 12), rel=1e-9)
    assert dim.expected_occupancy(8, 1) < dim.grid_occupancy(8, 1)
    with pytest.raises(ValueError, match="n_observations"):
        dim.expected_occupancy(-1, 2)


def test_sample_grid_points_ranges_shapes_and_seeds():
    points = dim.sample_grid_points(50, 3, seed=0)
    assert points.shape == (50, 3) and points.dtype == np.int64
    assert points.min() >= 1 and points.max() <= 10
    assert np.array_equal(points, dim.sample_grid_points(50, 3, seed=0))
    for d in (1, 2, 18, 30):  # exact draw without replacement, then rejection for huge grids
        distinct = dim.sample_grid_points(8, d, distinct=True, seed=1)
        assert len(np.unique(distinct, axis=0)) == 8
        assert distinct.min() >= 1 and distinct.max() <= 10
    assert len(np.unique(dim.sample_grid_points(10, 1, distinct=True), axis=0)) == 10
    with pytest.raises(ValueError, match="n_observations"):
        dim.sample_grid_points(11, 1, distinct=True)


def test_measured_occupancy_counts_shared_cells_once():
    points = np.array([[1, 1], [1, 1], [3, 4]])
    assert dim.measured_occupancy(points) == 2 / 100
    assert dim.measured_occupancy(dim.sample_grid_points(8, 3, distinct=True)) == 0.008
    with pytest.raises(ValueError, match="points"):
        dim.measured_occupancy(np.array([[0, 1]]))
    with pytest.raises(ValueError, match="points"):
        dim.measured_occupancy(np.array([1, 2, 3]))
    with pytest.raises(TypeError, match="points"):
        dim.measured_occupancy(np.array([[1.5, 2.0]]))


def test_samples_for_occupancy_grows_tenfold_per_dimension():
    assert [dim.samples_for_occupancy(0.8, d) for d in range(1, 6)] == [8, 80, 800, 8000, 80000]
    assert dim.samples_for_occupancy(0.8, 784) == 8 * 10**783  # exact, no float overflow
    assert dim.samples_for_occupancy(1e-5, 2) == 1  # ceil: at least one sample
    with pytest.raises(ValueError, match="occupancy"):
        dim.samples_for_occupancy(0.0, 2)
    with pytest.raises(ValueError, match="occupancy"):
        dim.samples_for_occupancy(1.5, 2)


# --------------------------------------------------------------------------- distances


def test_uniform_cube_is_seeded_and_in_range():
    points = dim.uniform_cube(20, 4, seed=5)
    assert points.shape == (20, 4) and ((points >= 0) & (points < 1)).all()
    assert np.array_equal(points, dim.uniform_cube(20, 4, seed=5))
    with pytest.raises(ValueError, match="n_points"):
        dim.uniform_cube(0, 4)


def test_pairwise_distances_match_a_direct_computation():
    points = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    assert np.allclose(dim.pairwise_distances(points), [5.0, 1.0, math.sqrt(9 + 9)])
    rng = np.random.default_rng(0)
    x = rng.random((30, 7))
    i, j = np.triu_indices(30, k=1)
    assert np.allclose(dim.pairwise_distances(x), np.linalg.norm(x[i] - x[j], axis=1))
    # Tiny distances keep their precision (no |a|^2 + |b|^2 - 2ab cancellation).
    close = np.array([[1e4, 1e4], [1e4 + 1e-9, 1e4]])
    assert dim.pairwise_distances(close)[0] == pytest.approx(1e-9, rel=1e-3)
    with pytest.raises(ValueError, match="points"):
        dim.pairwise_distances(np.zeros((1, 3)))


def test_distance_ratio_and_relative_contrast():
    points = np.array([[0.0], [1.0], [3.0]])  # distances 1, 3, 2
    assert dim.distance_ratio(points) == 3.0
    assert dim.relative_contrast(points) == 2.0
    with pytest.raises(ValueError, match="points"):
        dim.distance_ratio(np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="points"):
        dim.relative_contrast(np.array([[1.0], [1.0]]))


def test_distances_concentrate_as_dimension_grows():
    ratios = dim.distance_concentration([2, 20, 500], n_points=60, n_trials=2, seed=0)
    assert ratios.shape == (3,)
    assert ratios[0] > ratios[1] > ratios[2] > 1.0
    assert ratios[2] < 1.5
    with pytest.raises(ValueError, match="dims"):
        dim.distance_concentration([])
    with pytest.raises(ValueError, match="n_points"):
        dim.distance_concentration([2], n_points=1)


# --------------------------------------------------------------------------- volumes


def test_ball_volume_known_values():
    assert dim.ball_volume(1) == pytest.approx(2.0)
    assert dim.ball_volume(2, radius=2.0) == pytest.approx(4 * math.pi)
    assert dim.ball_volume(3) == pytest.approx(4 / 3 * math.pi)
    assert math.isfinite(dim.log_ball_volume(10_000))  # no overflow through Gamma
    assert dim.log_ball_volume(4) == pytest.approx(math.log(math.pi**2 / 2))
    with pytest.raises(ValueError, match="radius"):
        dim.ball_volume(2, radius=0.0)
    with pytest.raises(ValueError, match="dim"):
        dim.log_ball_volume(0)


def test_ball_to_cube_ratio_closed_form_and_monte_carlo():
    assert dim.ball_to_cube_ratio(1) == 1.0
    assert dim.ball_to_cube_ratio(2) == pytest.approx(math.pi / 4)
    assert dim.ball_to_cube_ratio(3) == pytest.approx(math.pi / 6)
    assert 0.0 < dim.ball_to_cube_ratio(300) < 1e-200
    for d in (2, 5, 8):
        p = dim.ball_to_cube_ratio(d)
        estimate = dim.ball_to_cube_ratio_mc(d, n_samples=40_000, seed=d)
        assert abs(estimate - p) <= 5 * math.sqrt(p * (1 - p) / 40_000)
    with pytest.raises(ValueError, match="dim"):
        dim.ball_to_cube_ratio(0)
    with pytest.raises(ValueError, match="n_samples"):
        dim.ball_to_cube_ratio_mc(3, n_samples=0)


def test_shell_fraction_closed_form_and_monte_carlo():
    assert dim.shell_fraction(1, 0.1) == pytest.approx(0.1)
    assert dim.shell_fraction(2, 0.5) == pytest.approx(0.75)
    assert dim.shell_fraction(7, 1.0) == 1.0
    assert dim.shell_fraction(1000, 0.05) > 0.999
    for d in (1, 10, 60):
        share = dim.shell_fraction(d, 0.05)
        estimate = dim.cube_shell_fraction_mc(d, 0.05, n_samples=40_000, seed=d)
        assert abs(estimate - share) <= 5 * math.sqrt(share * (1 - share) / 40_000) + 1e-12
    with pytest.raises(ValueError, match="epsilon"):
        dim.shell_fraction(3, 0.0)
    with pytest.raises(ValueError, match="epsilon"):
        dim.cube_shell_fraction_mc(3, 1.5)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 500), st.floats(0.001, 0.999))
def test_shell_fraction_is_a_share_that_grows_with_dimension(d, epsilon):
    share = dim.shell_fraction(d, epsilon)
    assert 0.0 < share <= 1.0
    assert dim.shell_fraction(d + 1, epsilon) >= share
    assert share == pytest.approx(1 - (1 - epsilon) ** d, abs=1e-12)


# --------------------------------------------------------------------------- density estimation


def test_standard_normal_log_density():
    assert dim.standard_normal_log_density(np.zeros((1, 2)))[0] == pytest.approx(
        -math.log(2 * math.pi))
    x = np.array([[1.0, -2.0, 0.5]])
    expected = -1.5 * math.log(2 * math.pi) - 0.5 * (1 + 4 + 0.25)
    assert dim.standard_normal_log_density(x)[0] == pytest.approx(expected)
    with pytest.raises(ValueError, match="points"):
        dim.standard_normal_log_density(np.zeros(3))


def test_kth_neighbor_distance():
    reference = np.array([[0.0], [1.0], [3.0], [7.0]])
    query = np.array([[0.5], [6.0]])
    assert np.allclose(dim.kth_neighbor_distance(reference, query, k=1), [0.5, 1.0])
    assert np.allclose(dim.kth_neighbor_distance(reference, query, k=3), [2.5, 5.0])
    with pytest.raises(ValueError, match="k"):
        dim.kth_neighbor_distance(reference, query, k=5)
    with pytest.raises(ValueError, match="query"):
        dim.kth_neighbor_distance(reference, np.zeros((2, 2)))


def test_knn_log_density_written_out_in_two_dimensions():
    rng = np.random.default_rng(0)
    train, test = rng.standard_normal((500, 2)), rng.standard_normal((10, 2))
    r_k = np.sort(np.linalg.norm(test[:, None] - train[None], axis=2), axis=1)[:, 4]
    expected = np.log(5 / (500 * math.pi * r_k**2))
    assert np.allclose(dim.knn_log_density(train, test, k=5), expected)
    with pytest.raises(ValueError, match="k"):
        dim.knn_log_density(train, test, k=0)


def test_histogram_log_density():
    reference = np.array([[0.1], [0.2], [0.7], [2.0]])
    query = np.array([[0.15], [0.6], [1.5], [5.0]])
    # bins of width 0.5 on [0, 2]; the value 2.0 belongs to the last bin.
    log_density = dim.histogram_log_density(reference, query, bins=4, low=0.0, high=2.0)
    assert log_density[0] == pytest.approx(math.log(2 / (4 * 0.5)))
    assert log_density[1] == pytest.approx(math.log(1 / (4 * 0.5)))
    assert log_density[2] == pytest.approx(math.log(1 / (4 * 0.5)))
    assert np.isneginf(log_density[3])  # outside the range
    with pytest.raises(ValueError, match="high"):
        dim.histogram_log_density(reference, query, low=1.0, high=1.0)
    with pytest.raises(ValueError, match="bins"):
        dim.histogram_log_density(reference, query, bins=0)


def test_density_estimates_degrade_with_dimension():
    errors = dim.knn_density_error([2, 10, 30], n_train=500, n_test=100, k=10, seed=0)
    assert errors.shape == (3,) and errors[0] < errors[1] < errors[2]
    assert errors[0] < 0.5
    empty = dim.histogram_empty_fraction([1, 3, 8], n_train=500, n_test=100, seed=0)
    assert empty[0] < 0.05 and empty[2] > 0.95 and empty[0] <= empty[1] <= empty[2]
    with pytest.raises(ValueError, match="k"):
        dim.knn_density_error([2], n_train=5, k=6)
    with pytest.raises(ValueError, match="dims"):
        dim.histogram_empty_fraction([0])
