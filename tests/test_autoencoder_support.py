"""The helpers of notebook 04: the PCA baseline of aelib.evaluation and the latent distance map
of aelib.plotting."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

from aelib import plotting  # noqa: E402
from aelib.evaluation import pca_reconstruct, pca_reconstruction_error  # noqa: E402


@pytest.fixture(autouse=True)
def _no_figures_left_open():
    yield
    assert plt.get_fignums() == [], "a plotting function left a figure open in pyplot"


def _data(n: int = 60, d: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scales = np.array([3.0, 2.0, 1.0, 0.5, 0.2, 0.1])[:d]
    return rng.standard_normal((n, d)) * scales + rng.standard_normal(d)


# --------------------------------------------------------------------------- PCA baseline


@pytest.mark.parametrize("k", [1, 2, 4])
def test_pca_reconstruct_matches_sklearn(k):
    train, test = _data(seed=0), _data(20, seed=1)
    pca = PCA(k, svd_solver="full").fit(train)
    expected = pca.inverse_transform(pca.transform(test))
    rebuilt = pca_reconstruct(train, test, k)
    assert rebuilt.shape == test.shape and rebuilt.dtype == np.float64
    np.testing.assert_allclose(rebuilt, expected, atol=1e-9)


def test_pca_reconstruct_edge_sizes_and_tensors():
    train, test = _data(seed=0), _data(10, seed=1)
    np.testing.assert_allclose(pca_reconstruct(train, test, 0),
                               np.tile(train.mean(axis=0), (10, 1)))
    np.testing.assert_allclose(pca_reconstruct(train, test, 6), test, atol=1e-9)
    from_tensors = pca_reconstruct(torch.from_numpy(train).float(),
                                   torch.from_numpy(test).float(), 2)
    np.testing.assert_allclose(from_tensors, pca_reconstruct(train, test, 2), atol=1e-4)


def test_pca_reconstruction_error_falls_with_size_and_is_per_image():
    train, test = _data(seed=0), _data(25, seed=1)
    errors = [pca_reconstruction_error(train, test, k) for k in range(7)]
    assert all(isinstance(e, torch.Tensor) and e.shape == (25,) for e in errors)
    means = [e.mean().item() for e in errors]
    assert all(a >= b - 1e-12 for a, b in zip(means, means[1:], strict=False))
    assert means[-1] < 1e-18
    manual = ((test - pca_reconstruct(train, test, 3)) ** 2).mean(axis=1)
    np.testing.assert_allclose(errors[3].numpy(), manual)


def test_pca_bad_inputs():
    train, test = _data(), _data(5)
    with pytest.raises(ValueError, match="columns"):
        pca_reconstruct(train, test[:, :4], 2)
    with pytest.raises(ValueError, match="n_components"):
        pca_reconstruct(train, test, 7)
    with pytest.raises(ValueError, match="n_components"):
        pca_reconstruction_error(train, test, -1)
    with pytest.raises(TypeError, match="n_components"):
        pca_reconstruct(train, test, 2.0)
    with pytest.raises(ValueError, match="train_x"):
        pca_reconstruct(train[0], test, 1)
    with pytest.raises(ValueError, match="x must not contain NaN"):
        pca_reconstruction_error(train, np.full((2, 6), np.nan), 1)


# --------------------------------------------------------------------------- distance map


def test_plot_code_distance_map_draws_heat_map_codes_and_marks():
    extent = (-2.0, 2.0, -1.0, 3.0)
    grid = plotting.latent_grid(extent, 5, 7)
    distances = np.linalg.norm(grid, axis=2)
    codes = np.random.default_rng(0).normal(size=(40, 2))
    fig = plotting.plot_code_distance_map(distances, extent, title="Holes",
                                          colour_label="distance", codes=codes,
                                          marks={"far": grid[0, :2], "near": grid[2, 3:4]})
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title() == "Holes" and ax.get_xlabel() == "z₁" and ax.get_ylabel() == "z₂"
    assert fig.axes[1].get_ylabel() == "distance"                     # the colour bar
    image = ax.get_images()[0]
    np.testing.assert_allclose(image.get_array(), distances)
    left, right, bottom, top = image.get_extent()
    assert left < -2 < 2 < right and bottom < -1 < 3 < top             # tiles centred on codes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["training codes", "far", "near"]
    assert plotting.fig_to_png(fig, dpi=40).startswith(plotting.PNG_SIGNATURE)


def test_plot_code_distance_map_into_given_axes_without_extras():
    fig, axes = plotting.panels(2, title="Two maps")
    out = plotting.plot_code_distance_map(np.ones((3, 3)), (0, 1, 0, 1), title="flat",
                                          colour_label="d", ax=axes[1])
    assert out is fig and axes[1].get_legend() is None
    plt.close(fig)
