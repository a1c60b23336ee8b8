"""aelib.manifold: embeddings, geodesics, flatness, distances to data, interpolation, factors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from aelib import data, manifold
from aelib.evaluation import trustworthiness


def plane_points(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points on a tilted 2-D plane in 3-D, and their 2-D coordinates in that plane."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((3, 2)))
    coords = rng.uniform(-5, 5, (n, 2))
    return coords @ basis.T + np.array([1.0, -2.0, 3.0]), coords


def distances(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, None, :] - points[None, :, :], axis=2)


def line_points(n: int = 8, spacing: float = 0.5) -> np.ndarray:
    """n points on the x axis, ``spacing`` apart, as (n, 2)."""
    return np.stack([np.arange(n) * spacing, np.zeros(n)], axis=1)


# --------------------------------------------------------------------------- embed

def test_pca_embedding_of_a_plane_keeps_every_distance():
    points, coords = plane_points()
    codes = manifold.embed(points, "pca")
    assert codes.shape == (200, 2)
    assert np.allclose(distances(codes), distances(coords))


def test_isomap_unrolls_the_swiss_roll_better_than_pca():
    points, _ = data.swiss_roll(600, seed=1)
    scores = {method: trustworthiness(points, manifold.embed(points, method, seed=0),
                                      n_neighbors=10)
              for method in ("pca", "isomap")}
    assert scores["isomap"] > 0.97
    assert scores["pca"] < scores["isomap"] - 0.03


def test_lle_embedding_is_finite_and_repeats():
    points, _ = data.s_curve(300, seed=4)
    codes = manifold.embed(points, "lle", n_neighbors=12, seed=5)
    assert codes.shape == (300, 2) and np.isfinite(codes).all()
    assert np.array_equal(codes, manifold.embed(points, "lle", n_neighbors=12, seed=5))


def test_tsne_embedding_repeats_with_its_seed():
    points, _ = data.s_curve(60, seed=2)
    first = manifold.embed(points, "tsne", seed=3)
    assert first.shape == (60, 2) and np.isfinite(first).all()
    assert np.array_equal(first, manifold.embed(points, "tsne", seed=3))


def test_embed_refuses_bad_arguments():
    points, _ = plane_points(20)
    with pytest.raises(ValueError, match="method must be one of"):
        manifold.embed(points, "umap")
    with pytest.raises(ValueError, match="n_components must be <= 3"):
        manifold.embed(points, "pca", n_components=4)
    with pytest.raises(ValueError, match="n_neighbors must be <= 19"):
        manifold.embed(points, "isomap", n_neighbors=20)
    with pytest.raises(TypeError, match="points must be a numpy array"):
        manifold.embed(torch.zeros(20, 3), "pca")
    with pytest.raises(ValueError, match="points must have at least 3 rows"):
        manifold.embed(points[:2], "pca")


# --------------------------------------------------------------------------- geodesics

def test_knn_graph_is_symmetric_and_holds_euclidean_distances():
    points, _ = plane_points(50)
    graph = manifold.knn_graph(points, n_neighbors=4).toarray()
    assert np.array_equal(graph, graph.T)
    assert ((graph > 0).sum(axis=1) >= 4).all()
    linked = graph > 0
    assert np.allclose(graph[linked], distances(points)[linked])


def test_geodesic_distances_on_a_line_add_up_the_hops():
    points = line_points(8, spacing=0.5)
    geodesic = manifold.geodesic_distances(points, n_neighbors=1)
    expected = 0.5 * np.abs(np.arange(8)[:, None] - np.arange(8)[None, :])
    assert np.allclose(geodesic, expected)
    rows = manifold.geodesic_distances(points, n_neighbors=1, sources=np.array([2, 5]))
    assert np.allclose(rows, expected[[2, 5]])


def test_geodesic_distance_goes_round_a_circle():
    angles = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    across = manifold.geodesic_distances(circle, n_neighbors=2, sources=np.array([0]))[0, 200]
    assert across == pytest.approx(math.pi, rel=1e-3)   # half the circumference, not 2


def test_geodesic_distances_are_infinite_between_unconnected_parts():
    points = np.concatenate([line_points(4), line_points(4) + 100.0])
    geodesic = manifold.geodesic_distances(points, n_neighbors=1)
    assert np.isinf(geodesic[0, 7]) and np.isfinite(geodesic[0, 3])
    with pytest.raises(ValueError, match="sources must be <= 7, got 8"):
        manifold.geodesic_distances(points, n_neighbors=1, sources=np.array([8]))
    with pytest.raises(TypeError, match="sources must hold integer values, got dtype float64"):
        manifold.geodesic_distances(points, n_neighbors=1, sources=np.array([0.5]))


def test_geodesic_path_walks_along_the_line():
    points = line_points(8)
    assert manifold.geodesic_path(points, 1, 6, n_neighbors=1).tolist() == [1, 2, 3, 4, 5, 6]
    assert manifold.geodesic_path(points, 4, 4, n_neighbors=1).tolist() == [4]


def test_geodesic_path_has_the_geodesic_length_on_a_curve():
    points, _ = data.swiss_roll(500, seed=3)
    path = manifold.geodesic_path(points, 7, 300, n_neighbors=8)
    graph = manifold.knn_graph(points, n_neighbors=8).toarray()
    hops = graph[path[:-1], path[1:]]
    assert path[0] == 7 and path[-1] == 300 and (hops > 0).all()
    geodesic = manifold.geodesic_distances(points, n_neighbors=8, sources=np.array([7]))
    assert hops.sum() == pytest.approx(geodesic[0, 300])


def test_geodesic_path_refuses_bad_ends_and_gaps():
    points = np.concatenate([line_points(4), line_points(4) + 100.0])
    with pytest.raises(ValueError, match="no path joins source 0 and target 7"):
        manifold.geodesic_path(points, 0, 7, n_neighbors=1)
    with pytest.raises(ValueError, match="target must be <= 7"):
        manifold.geodesic_path(points, 0, 8, n_neighbors=1)


def test_swiss_roll_arc_length_matches_a_fine_polyline():
    t = np.array([0.0, 1.5 * np.pi, 3.0 * np.pi, 4.5 * np.pi])
    arc = manifold.swiss_roll_arc_length(t)
    fine = np.linspace(0.0, 4.5 * np.pi, 200_001)
    spiral = np.stack([fine * np.cos(fine), fine * np.sin(fine)], axis=1)
    cumulative = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(spiral, axis=0),
                                                                 axis=1))])
    assert np.allclose(arc, np.interp(t, fine, cumulative), rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="t must have 1 dimensions"):
        manifold.swiss_roll_arc_length(np.zeros((2, 2)))


# --------------------------------------------------------------------------- local flatness

def test_local_flatness_of_a_plane_is_one_at_every_scale():
    points, _ = plane_points(120)
    for k in (5, 50, 119):
        assert manifold.local_flatness(points, n_neighbors=k) == pytest.approx(1.0)


def test_local_flatness_of_a_roll_falls_with_the_neighbourhood():
    points, _ = data.swiss_roll(800, seed=0)
    small = manifold.local_flatness(points, n_neighbors=8, seed=1)
    large = manifold.local_flatness(points, n_neighbors=300, seed=1)
    assert small > 0.97 and large < small - 0.05


def test_local_flatness_of_isotropic_noise_is_about_two_thirds():
    points = np.random.default_rng(0).standard_normal((2000, 3))
    share = manifold.local_flatness(points, n_neighbors=1999, n_centres=5)
    assert share == pytest.approx(2 / 3, abs=0.03)
    with pytest.raises(ValueError, match="n_components must be <= 2"):
        manifold.local_flatness(points, n_neighbors=10, n_components=3)
    with pytest.raises(ValueError, match="n_centres must be >= 1"):
        manifold.local_flatness(points, n_neighbors=10, n_centres=0)


# --------------------------------------------------------------------------- distances to data

def test_nearest_distance_agrees_with_brute_force():
    rng = np.random.default_rng(0)
    reference, query = rng.random((50, 6)), rng.random((7, 6))
    expected = np.linalg.norm(query[:, None] - reference[None], axis=2).min(axis=1)
    assert np.allclose(manifold.nearest_distance(reference, query), expected)
    assert np.allclose(manifold.nearest_distance(reference, reference[:3]), 0.0, atol=1e-6)


def test_nearest_distance_refuses_mismatched_widths():
    with pytest.raises(ValueError, match="query must have 6 columns"):
        manifold.nearest_distance(np.zeros((5, 6)), np.zeros((2, 5)))
    with pytest.raises(ValueError, match="reference must not contain NaN"):
        manifold.nearest_distance(np.full((5, 2), np.nan), np.zeros((2, 2)))


def test_interpolate_arrays_and_tensors():
    path = manifold.interpolate(np.array([0.0, 2.0]), np.array([4.0, 2.0]), 5)
    assert path.shape == (5, 2)
    assert np.allclose(path[:, 0], [0, 1, 2, 3, 4]) and np.allclose(path[:, 1], 2.0)
    tensor_path = manifold.interpolate(torch.zeros(3), torch.ones(3), 3)
    assert isinstance(tensor_path, torch.Tensor) and tensor_path.shape == (3, 3)
    assert torch.allclose(tensor_path[1], torch.full((3,), 0.5))


def test_interpolate_refuses_bad_arguments():
    with pytest.raises(ValueError, match="steps must be >= 2"):
        manifold.interpolate(np.zeros(2), np.ones(2), 1)
    with pytest.raises(ValueError, match="start and end must have the same length"):
        manifold.interpolate(np.zeros(2), np.ones(3), 4)
    with pytest.raises(TypeError, match="end must be a torch.Tensor, got an array"):
        manifold.interpolate(torch.zeros(2), np.ones(2), 4)
    with pytest.raises(ValueError, match="start must have 1 dimensions"):
        manifold.interpolate(torch.zeros(2, 2), torch.ones(2, 2), 4)
    with pytest.raises(TypeError, match="start must be a floating-point tensor"):
        manifold.interpolate(torch.zeros(2, dtype=torch.int64), torch.ones(2), 4)


# --------------------------------------------------------------------------- known factors

def test_factor_r2_is_high_for_a_bent_copy_and_low_for_noise():
    rng = np.random.default_rng(0)
    factors = rng.uniform(0, 1, (600, 2))
    bent = np.stack([np.exp(factors[:, 0]) + factors[:, 1], factors[:, 1] ** 3], axis=1)
    r2 = manifold.factor_r2(bent, factors)
    assert r2.shape == (2,) and (r2 > 0.95).all()
    unrelated = manifold.factor_r2(rng.standard_normal((600, 2)), factors)
    assert (unrelated < 0.1).all()


def test_factor_r2_refuses_bad_arguments():
    codes = np.zeros((10, 2))
    with pytest.raises(ValueError, match="codes and factors must have the same length"):
        manifold.factor_r2(codes, np.zeros((9, 1)))
    with pytest.raises(ValueError, match="factors must vary"):
        manifold.factor_r2(np.arange(20.0).reshape(10, 2), np.ones((10, 1)), n_neighbors=2)
    with pytest.raises(ValueError, match="n_neighbors must be <= 8"):
        manifold.factor_r2(codes, np.arange(10.0)[:, None], n_neighbors=9)
