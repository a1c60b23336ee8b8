"""aelib.plotting: every figure has a title and labelled axes, and renders to PNG."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from aelib import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _no_figures_left_open():
    yield
    assert plt.get_fignums() == [], "a plotting function left a figure open in pyplot"


def _labelled(ax, title=None, xlabel=None, ylabel=None):
    assert ax.get_title() if title is None else ax.get_title() == title
    assert ax.get_xlabel() if xlabel is None else ax.get_xlabel() == xlabel
    assert ax.get_ylabel() if ylabel is None else ax.get_ylabel() == ylabel


def _decodes(png: bytes) -> np.ndarray:
    assert png.startswith(plotting.PNG_SIGNATURE)
    return matplotlib.image.imread(io.BytesIO(png), format="png")


def test_panels_and_fig_to_png():
    fig, axes = plotting.panels(3, nrows=2, title="Six panels")
    assert isinstance(fig, Figure) and axes.shape == (6,)
    assert fig.get_suptitle() == "Six panels"
    image = _decodes(plotting.fig_to_png(fig, dpi=50))
    assert image.ndim == 3 and image.shape[0] > 50
    with pytest.raises(ValueError, match="ncols must be >= 1, got 0"):
        plotting.panels(0)


def test_plot_curves_labels_legend_and_options():
    fig = plotting.plot_curves({"MSE": [3, 2, 1], "CE": [3, 1, 0.5]}, x=[1, 10, 100],
                               logx=True, logy=True, styles={"CE": "o--"}, vlines={"mark": 10},
                               title="Losses", xlabel="step", ylabel="loss")
    (ax,) = fig.axes
    _labelled(ax, "Losses", "step", "loss")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["MSE", "CE", "mark"]
    _decodes(plotting.fig_to_png(fig))
    # Default x is the step index; curves may differ in length then.
    fig = plotting.plot_curves({"a": [1, 2], "b": [1, 2, 3]}, title="t", xlabel="x",
                               ylabel="y")
    assert len(fig.axes[0].lines) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match="title must not be empty"):
        plotting.plot_curves({"a": [1]}, title=" ", xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match="ylabel must not be empty"):
        plotting.plot_curves({"a": [1]}, title="t", xlabel="x", ylabel="")


def test_curves_drawn_into_given_axes_share_one_figure():
    fig, axes = plotting.panels(2, title="Two")
    assert plotting.plot_curves({"a": [1, 2]}, title="left", xlabel="x", ylabel="y",
                                ax=axes[0]) is fig
    assert plotting.plot_histograms({"h": [1.0, 2.0, 2.5]}, title="right", xlabel="v",
                                    ax=axes[1]) is fig
    _labelled(axes[0], "left", "x", "y")
    _labelled(axes[1], "right", "v", "density")
    plt.close(fig)


def test_plot_histograms():
    rng = np.random.default_rng(0)
    fig = plotting.plot_histograms({"d = 2": rng.random(100), "d = 100": rng.random(100)},
                                   value_range=(0.0, 2.0), bins=20, title="Distances",
                                   xlabel="distance")
    ax = fig.axes[0]
    _labelled(ax, "Distances", "distance", "density")
    assert ax.get_legend() is not None and len(ax.patches) == 2
    plt.close(fig)


def test_show_images_flat_or_square_with_one_grey_scale():
    rng = np.random.default_rng(0)
    flat = rng.random((7, 784))
    fig = plotting.show_images(flat, ncols=4, titles=list("abcdefg"), title="Digits")
    assert fig.get_suptitle() == "Digits"
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 7 and shown[0].images[0].get_array().shape == (28, 28)
    assert shown[0].images[0].get_clim() == (0.0, 1.0)
    assert [ax.get_title() for ax in shown] == list("abcdefg")
    plt.close(fig)
    fig = plotting.show_images(np.zeros((2, 5, 3), dtype=np.uint8), title="uint8")
    assert fig.axes[0].images[0].get_clim() == (0.0, 255.0)
    plt.close(fig)
    with pytest.raises(ValueError, match="10 is not a square number"):
        plotting.show_images(np.zeros((3, 10)))
    with pytest.raises(ValueError, match="images must have 2 or 3 dimensions"):
        plotting.show_images(np.zeros(10))


def test_plot_codes_colours_by_label_with_a_legend():
    rng = np.random.default_rng(0)
    codes, labels = rng.normal(size=(200, 2)), rng.integers(0, 10, 200)
    fig = plotting.plot_codes(codes, labels, title="Codes")
    ax = fig.axes[0]
    _labelled(ax, "Codes", "z₁", "z₂")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [str(d) for d in range(10)]
    _decodes(plotting.fig_to_png(fig))
    fig = plotting.plot_codes(codes, rng.integers(0, 30, 200), title="Many classes")
    assert len(fig.axes) == 2  # a colour bar instead of a 30-entry legend
    plt.close(fig)


def test_latent_grid_orders_rows_from_the_top():
    grid = plotting.latent_grid((-2, 2, -1, 1), rows=3, cols=5)
    assert grid.shape == (3, 5, 2)
    assert np.allclose(grid[0, :, 0], np.linspace(-2, 2, 5))
    assert np.allclose(grid[:, 0, 1], [1, 0, -1])  # top row is y_max
    with pytest.raises(ValueError, match="extent must have x_min < x_max"):
        plotting.latent_grid((2, -2, -1, 1), rows=2, cols=2)


def test_plot_image_grid_with_and_without_latent_extent():
    tiles = np.random.default_rng(0).random((4, 6, 28, 28))
    fig = plotting.plot_image_grid(tiles, title="Decoded grid", extent=(-2, 2, -3, 3))
    ax = fig.axes[0]
    _labelled(ax, "Decoded grid", "z₁", "z₂")
    assert ax.images[0].get_array().shape == (4 * 28, 6 * 28)
    left, right, bottom, top = ax.images[0].get_extent()
    assert (left + right) / 2 == pytest.approx(0.0) and right == pytest.approx(2 + 0.4)
    assert top == pytest.approx(3 + 1.0)  # half a tile above the top row's centre y = 3
    plt.close(fig)
    fig = plotting.plot_image_grid(tiles.reshape(4, 6, 784), title="Mosaic")
    _labelled(fig.axes[0], "Mosaic", "column", "row")
    plt.close(fig)


def test_plot_regression_band():
    x = np.linspace(0, 1, 30)
    fig = plotting.plot_regression_band(x, x**2, x, x**2, 0.1 + x, true_mean=x**2,
                                        true_sigma=0.1 + x, title="Fit")
    ax = fig.axes[0]
    _labelled(ax, "Fit", "x", "y")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "data" in labels and "true mean" in labels and "μ(x) ± 2σ(x)" in labels
    plt.close(fig)


def test_plot_gaussian_likelihood_states_the_nll():
    data = np.array([-1.0, 0.0, 2.0])
    fig = plotting.plot_gaussian_likelihood(data, 0.5, 1.5, value_range=(-4.0, 4.0))
    ax = fig.axes[0]
    nll = -np.sum(-0.5 * np.log(2 * np.pi * 1.5**2) - (data - 0.5) ** 2 / (2 * 1.5**2))
    assert f"NLL = {nll:.3f}" in ax.get_title()
    assert ax.get_xlim() == (-4.0, 4.0)
    _labelled(ax, None, "y", "density p(y)")
    plt.close(fig)


def test_plot_occupied_cells_in_one_and_two_dimensions():
    fig = plotting.plot_occupied_cells(np.array([[1], [1], [4]]))
    ax = fig.axes[0]
    assert ax.get_title() == "3 points, d = 1: 2 of 10 cells occupied"
    assert ax.get_xlabel() == "x₁" and ax.get_legend() is not None
    plt.close(fig)
    fig = plotting.plot_occupied_cells(np.array([[1, 2], [3, 4]]), n_values=5)
    _labelled(fig.axes[0], "2 points, d = 2: 2 of 25 cells occupied", "x₁", "x₂")
    plt.close(fig)


def test_plot_points_3d_colours_points_and_draws_lines():
    rng = np.random.default_rng(0)
    points, values = rng.random((40, 3)), np.linspace(0, 1, 40)
    fig = plotting.plot_points_3d(points, values, title="Roll", colour_label="t",
                                  lines={"straight": points[:2], "path": points[:5]})
    ax = fig.axes[0]
    assert ax.name == "3d" and ax.get_title() == "Roll" and ax.get_zlabel() == "z"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["straight", "path"]
    assert fig.axes[1].get_ylabel() == "t"   # the colour bar
    plt.close(fig)
    fig, axes = plotting.panels_3d(2, title="Two")
    assert axes.shape == (2,) and fig.get_suptitle() == "Two"
    plotting.plot_points_3d(points, values, title="A", colour_label="t", ax=axes[1])
    assert axes[1].get_title() == "A"
    plt.close(fig)


def test_plot_embedding_has_a_colour_bar_unless_asked_not_to():
    codes, values = np.random.default_rng(1).random((30, 2)), np.arange(30.0)
    fig = plotting.plot_embedding(codes, values, title="Map", colour_label="x")
    _labelled(fig.axes[0], "Map", "dimension 1", "dimension 2")
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "x"
    plt.close(fig)
    fig = plotting.plot_embedding(codes, values, title="Map", colour_label="x", colourbar=False)
    assert len(fig.axes) == 1
    plt.close(fig)


def test_plot_image_rows_labels_each_row():
    rows = {"pixels": np.zeros((4, 5, 5)), "latent": np.ones((4, 25))}
    fig = plotting.plot_image_rows(rows, title="Paths")
    assert fig.get_suptitle() == "Paths" and len(fig.axes) == 8
    assert fig.axes[0].get_ylabel() == "pixels" and fig.axes[4].get_ylabel() == "latent"
    assert fig.axes[0].images[0].get_clim() == (0.0, 1.0)
    assert _decodes(plotting.fig_to_png(fig)).ndim == 3
    with pytest.raises(ValueError, match=r"rows\['b'\] of shape \(2, 10\) is flat but 10"):
        plotting.plot_image_rows({"a": np.zeros((2, 4, 4)), "b": np.zeros((2, 10))}, title="t")
