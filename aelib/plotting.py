"""Figures for the notebooks: arrays in, a matplotlib ``Figure`` out.

Every function returns the ``Figure`` it drew on. Figures are released from pyplot as soon
as they are made, so a notebook shows a figure once, when it is the value of the cell (its
last expression) or passed to ``display``; nothing piles up in memory across re-runs. Functions
that take ``ax`` draw into that Axes (from ``panels``) and return its figure, so several plots
share one figure::

    fig, axes = plotting.panels(2, title="Two starts")
    plotting.plot_curves({"MSE": mse, "CE": ce}, ax=axes[0], ...)
    plotting.plot_curves({"MSE": mse2, "CE": ce2}, ax=axes[1], ...)
    fig

Every figure has a title and labelled axes, and a legend or colour bar where colour carries
meaning. Text is English and Greek only: the default fonts have no Hangul glyphs, so Korean
terms belong in the notebook's prose. ``fig_to_png`` renders a figure to PNG bytes (for
widgets and static fallbacks) and closes it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from aelib._checks import check_array, check_extent, check_float, check_int

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

__all__ = [
    "PNG_SIGNATURE", "fig_to_png", "latent_grid", "panels", "panels_3d",
    "plot_code_distance_map", "plot_codes", "plot_curves", "plot_embedding",
    "plot_gaussian_likelihood", "plot_histograms",
    "plot_image_grid", "plot_image_rows", "plot_occupied_cells", "plot_points_3d",
    "plot_regression_band", "show_images",
]


# --------------------------------------------------------------------------- figures and axes

def _new_figure(nrows: int, ncols: int, width: float, height: float,
                **kwargs) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, **kwargs)
    plt.close(fig)  # released from pyplot: shown only when returned or displayed
    return fig, axes


def _check_ax(ax: Axes | None) -> None:
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")


def _axes(ax: Axes | None, width: float = 5.0, height: float = 3.6) -> Axes:
    _check_ax(ax)
    if ax is None:
        _, axes = _new_figure(1, 1, width, height, layout="constrained")
        return axes[0, 0]
    return ax


def _check_text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty: every figure needs a title and axis labels")
    return value


def _check_range(value_range: Sequence[float]) -> tuple[float, float]:
    """A (low, high) pair of finite numbers with low < high."""
    if len(value_range) != 2:
        raise ValueError(f"value_range must be (low, high), got {value_range!r}")
    low = check_float(value_range[0], "value_range[0]")
    high = check_float(value_range[1], "value_range[1]")
    if high <= low:
        raise ValueError(f"value_range must have low < high, got {value_range!r}")
    return low, high


def _check_labels(title: object, xlabel: object, ylabel: object) -> None:
    _check_text(title, "title")
    _check_text(xlabel, "xlabel")
    _check_text(ylabel, "ylabel")


def panels(ncols: int = 1, *, nrows: int = 1, title: str | None = None, width: float = 4.6,
           height: float = 3.5) -> tuple[Figure, np.ndarray]:
    """A figure with ``nrows * ncols`` Axes of ``width`` x ``height`` inches each.

    Returns ``(fig, axes)`` with ``axes`` a flat array of length nrows * ncols, row by row.
    ``title`` becomes the figure's overall title.
    """
    ncols = check_int(ncols, "ncols", minimum=1)
    nrows = check_int(nrows, "nrows", minimum=1)
    width = check_float(width, "width", minimum=0.5)
    height = check_float(height, "height", minimum=0.5)
    fig, axes = _new_figure(nrows, ncols, width * ncols, height * nrows, layout="constrained")
    if title is not None:
        fig.suptitle(_check_text(title, "title"))
    return fig, axes.ravel()


def fig_to_png(fig: Figure, *, dpi: int = 100) -> bytes:
    """Render ``fig`` to PNG bytes and close it (it is not needed for display afterwards)."""
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    dpi = check_int(dpi, "dpi", minimum=10, maximum=600)
    buffer = io.BytesIO()
    # "tight" like the notebook's inline backend, so legends placed outside the axes show.
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight",
                metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


# --------------------------------------------------------------------------- curves

def plot_curves(curves: Mapping[str, Sequence[float]], *, title: str, xlabel: str, ylabel: str,
                x: Sequence[float] | None = None, logy: bool = False, logx: bool = False,
                styles: Mapping[str, str] | None = None,
                vlines: Mapping[str, float] | None = None, ax: Axes | None = None) -> Figure:
    """One line per entry of ``curves`` (legend label -> y values), with a legend.

    ``x``: shared x values (same length as every curve); by default 0, 1, 2, ... (steps).
    ``logy``, ``logx``: logarithmic axes (non-positive y values are left out of the line;
    a logarithmic x axis needs positive ``x``).
    ``styles``: optional matplotlib format string per label, e.g. ``{"Monte Carlo": "o"}``.
    ``vlines``: labelled vertical reference lines, e.g. ``{"current d": 10}``.
    """
    _check_ax(ax)
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty dict of label -> sequence of values")
    _check_labels(title, xlabel, ylabel)
    styles = dict(styles or {})
    unknown = set(styles) - set(curves)
    if unknown:
        raise ValueError(f"styles names curves that do not exist: {sorted(unknown)}")
    xs = None if x is None else check_array(x, "x", ndim=1)
    if logx and (xs is None or (xs <= 0).any()):
        raise ValueError("x must be given and positive for a logarithmic x axis (logx=True)")
    values = {}
    for label, ys in curves.items():
        ys = check_array(ys, f"curves[{label!r}]", ndim=1, finite=False)
        if xs is not None and len(ys) != len(xs):
            raise ValueError(f"curves[{label!r}] has {len(ys)} values but x has {len(xs)}")
        values[label] = ys
    ax = _axes(ax)
    for label, ys in values.items():
        xs_here = np.arange(len(ys)) if xs is None else xs
        ys = ys.astype(np.float64)
        if logy:
            ys = np.where(ys > 0, ys, np.nan)
        ax.plot(xs_here, ys, styles.get(label, "-"), label=label)
    line_styles = [("0.25", ":"), ("C3", "--"), ("C2", "-."), ("C4", ":")]
    for index, (label, position) in enumerate((vlines or {}).items()):
        position = check_float(position, f"vlines[{label!r}]")
        colour, style = line_styles[index % len(line_styles)]
        ax.axvline(position, color=colour, linestyle=style, linewidth=1.3, label=label)
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    elif xs is not None and xs.dtype.kind in "iu":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax.figure


def plot_histograms(samples: Mapping[str, Sequence[float]], *, title: str, xlabel: str,
                    ylabel: str = "density", bins: int = 40,
                    value_range: tuple[float, float] | None = None,
                    ax: Axes | None = None) -> Figure:
    """Overlaid step histograms, normalised to unit area, one per entry of ``samples``
    (legend label -> 1-D values), on shared bins spanning ``value_range`` (default: the
    data's range; values outside it are left out)."""
    _check_ax(ax)
    if not isinstance(samples, Mapping) or not samples:
        raise ValueError("samples must be a non-empty dict of label -> 1-D array")
    _check_labels(title, xlabel, ylabel)
    bins = check_int(bins, "bins", minimum=1)
    arrays = {label: check_array(v, f"samples[{label!r}]", ndim=1).astype(np.float64)
              for label, v in samples.items()}
    if value_range is None:
        low = min(float(a.min()) for a in arrays.values())
        high = max(float(a.max()) for a in arrays.values())
    else:
        low, high = _check_range(value_range)
    edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    ax = _axes(ax)
    for label, values in arrays.items():
        ax.hist(values, bins=edges, density=True, histtype="step", linewidth=1.6, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax.figure


# --------------------------------------------------------------------------- images and codes

def _as_image_stack(images: np.ndarray, name: str) -> np.ndarray:
    """(n, h, w) or (n, h*w) with a square h*w -> (n, h, w)."""
    images = check_array(images, name, ndim=(2, 3))
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side * side != images.shape[1]:
            raise ValueError(f"{name} of shape {images.shape} is flat but {images.shape[1]} "
                             "is not a square number; pass (n, height, width) instead")
        images = images.reshape(len(images), side, side)
    return images


def _value_range(images: np.ndarray, vmin: float | None,
                 vmax: float | None) -> tuple[float, float]:
    """One grey scale for all images: 0..255 for uint8, 0..1 for floats in [0, 1], else data."""
    if vmin is not None and vmax is not None:
        return vmin, vmax
    if images.dtype == np.uint8:
        low, high = 0.0, 255.0
    elif images.min() >= 0.0 and images.max() <= 1.0:
        low, high = 0.0, 1.0
    else:
        low, high = float(images.min()), float(images.max())
    return (low if vmin is None else vmin), (high if vmax is None else vmax)


def show_images(images: np.ndarray, *, ncols: int = 10, titles: Sequence[str] | None = None,
                title: str = "Images", cmap: str = "gray", vmin: float | None = None,
                vmax: float | None = None) -> Figure:
    """A grid of grey-level images, all on one grey scale.

    ``images``: (n, h, w), or (n, h*w) with h*w a square number (28*28 for MNIST).
    ``titles``: optional label per image (e.g. its digit). The grey scale is 0..255 for uint8
    images, 0..1 for floats within [0, 1], otherwise the data's range (override with
    ``vmin``/``vmax``), so that a faint reconstruction looks faint.
    """
    images = _as_image_stack(images, "images")
    ncols = check_int(ncols, "ncols", minimum=1)
    _check_text(title, "title")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles must have one entry per image ({len(images)}), "
                         f"got {len(titles)}")
    low, high = _value_range(images, vmin, vmax)
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    header = 0.5 if titles is None else 0.75
    fig, axes = _new_figure(nrows, ncols, 1.1 * ncols + 0.2, 1.1 * nrows + header,
                            layout="constrained")
    for index, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if index < len(images):
            ax.imshow(images[index], cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
            if titles is not None:
                ax.set_title(str(titles[index]), fontsize="small")
    fig.suptitle(title)
    return fig


def _class_colours(n_classes: int) -> ListedColormap:
    base = matplotlib.colormaps["tab10" if n_classes <= 10 else "tab20"]
    return ListedColormap([base(i % base.N) for i in range(n_classes)])


def plot_codes(codes: np.ndarray, labels: np.ndarray, *, ax: Axes | None = None,
               title: str = "Codes in the latent space", xlabel: str = "z₁",
               ylabel: str = "z₂", class_names: Sequence[str] | None = None,
               point_size: float = 6.0) -> Figure:
    """Scatter of 2-D codes (n, 2) coloured by integer ``labels`` (n,), values in [0, K).

    Up to 20 classes get a legend (``class_names`` or the numbers); more get a discrete colour
    bar. Points are drawn in a shuffled (seeded) order so that no class hides the others.
    """
    _check_ax(ax)
    codes = check_array(codes, "codes", ndim=2)
    labels = check_array(labels, "labels", ndim=1)
    if codes.shape[1] != 2:
        raise ValueError(f"codes must have shape (n, 2), got {codes.shape}; "
                         "project higher-dimensional codes to 2-D first")
    if len(labels) != len(codes):
        raise ValueError(f"labels must have one entry per code ({len(codes)}), "
                         f"got {len(labels)}")
    if labels.dtype.kind not in "iu" or labels.min() < 0:
        raise ValueError("labels must be non-negative integers (class indices)")
    _check_labels(title, xlabel, ylabel)
    n_classes = int(labels.max()) + 1
    if class_names is not None:
        if len(class_names) < n_classes:
            raise ValueError(f"class_names must name all {n_classes} classes, "
                             f"got {len(class_names)}")
        n_classes = len(class_names)
    names = [str(c) for c in (class_names or range(n_classes))]
    cmap = _class_colours(n_classes)
    ax = _axes(ax, 5.4, 4.6)
    order = np.random.default_rng(0).permutation(len(codes))
    norm = BoundaryNorm(np.arange(-0.5, n_classes + 0.5), n_classes)
    scatter = ax.scatter(codes[order, 0], codes[order, 1], c=labels[order], cmap=cmap,
                         norm=norm, s=point_size, alpha=0.8, linewidths=0)
    if n_classes <= 20:
        handles = [Line2D([], [], marker="o", linestyle="", color=cmap(i), label=names[i])
                   for i in range(n_classes)]
        ax.legend(handles=handles, title="class", fontsize="small", loc="center left",
                  bbox_to_anchor=(1.01, 0.5), frameon=False)
    else:
        colourbar = ax.figure.colorbar(scatter, ax=ax, ticks=np.arange(n_classes))
        colourbar.set_label("class")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return ax.figure


def latent_grid(extent: tuple[float, float, float, float], rows: int,
                cols: int) -> np.ndarray:
    """The codes behind ``plot_image_grid``: array (rows, cols, 2) of (z₁, z₂).

    ``extent`` = (x_min, x_max, y_min, y_max). Column c has z₁ = linspace(x_min, x_max, cols)[c]
    and row r has z₂ = linspace(y_max, y_min, rows)[r]: the top row is y_max, as on a map.
    Decode ``latent_grid(...).reshape(-1, 2)`` and reshape the images to (rows, cols, h, w).
    """
    x_min, x_max, y_min, y_max = check_extent(extent)
    rows = check_int(rows, "rows", minimum=1)
    cols = check_int(cols, "cols", minimum=1)
    z1, z2 = np.meshgrid(np.linspace(x_min, x_max, cols), np.linspace(y_max, y_min, rows))
    return np.stack([z1, z2], axis=-1)


def plot_image_grid(images: np.ndarray, *, title: str,
                    extent: tuple[float, float, float, float] | None = None,
                    xlabel: str | None = None, ylabel: str | None = None, cmap: str = "gray",
                    vmin: float | None = None, vmax: float | None = None) -> Figure:
    """A mosaic of ``images`` (rows, cols, h, w) or (rows, cols, h*w): one picture, one tile each.

    With ``extent`` = (x_min, x_max, y_min, y_max) the axes are latent coordinates: tile
    (r, c) sits at the code ``latent_grid(extent, rows, cols)[r, c]`` and the ticks mark tile
    centres (use this for images decoded from a grid of codes); the labels default to z₁ and
    z₂. Without it, the axes count columns and rows, and the labels default to those words.
    """
    images = check_array(images, "images", ndim=(3, 4))
    if xlabel is None:
        xlabel = "column" if extent is None else "z₁"
    if ylabel is None:
        ylabel = "row" if extent is None else "z₂"
    _check_labels(title, xlabel, ylabel)
    rows, cols = images.shape[:2]
    tiles = _as_image_stack(images.reshape(rows * cols, *images.shape[2:]), "images")
    height, width = tiles.shape[1:]
    mosaic = (tiles.reshape(rows, cols, height, width).transpose(0, 2, 1, 3)
              .reshape(rows * height, cols * width))
    low, high = _value_range(tiles, vmin, vmax)
    ax = _axes(None, min(8.0, 0.5 * cols + 1.6), min(8.0, 0.5 * rows + 1.2))
    if extent is None:
        ax.imshow(mosaic, cmap=cmap, vmin=low, vmax=high, interpolation="nearest",
                  extent=(-0.5, cols - 0.5, rows - 0.5, -0.5), aspect=height / width)
    else:
        x_min, x_max, y_min, y_max = check_extent(extent)
        dx = (x_max - x_min) / (cols - 1) if cols > 1 else x_max - x_min
        dy = (y_max - y_min) / (rows - 1) if rows > 1 else y_max - y_min
        ax.imshow(mosaic, cmap=cmap, vmin=low, vmax=high, interpolation="nearest",
                  extent=(x_min - dx / 2, x_max + dx / 2, y_min - dy / 2, y_max + dy / 2),
                  aspect=dx / dy * height / width)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return ax.figure


# --------------------------------------------------------------------------- notebook 01

def plot_regression_band(x: np.ndarray, y: np.ndarray, grid: np.ndarray, mean: np.ndarray,
                         sigma: np.ndarray, *, title: str, n_sigma: float = 2.0,
                         true_mean: np.ndarray | None = None,
                         true_sigma: np.ndarray | None = None, xlabel: str = "x",
                         ylabel: str = "y", data_label: str = "data",
                         ax: Axes | None = None) -> Figure:
    """Data points (x, y), a predicted mean on ``grid`` and the band mean ± n_sigma·sigma.

    ``x``, ``y``: (n,). ``grid``, ``mean``, ``sigma``: (m,). Optional ``true_mean`` and
    ``true_sigma`` (m,) are drawn dashed, for comparison with what generated the data.
    """
    _check_ax(ax)
    x = check_array(x, "x", ndim=1)
    y = check_array(y, "y", ndim=1)
    grid = check_array(grid, "grid", ndim=1)
    mean = check_array(mean, "mean", ndim=1)
    sigma = check_array(sigma, "sigma", ndim=1)
    n_sigma = check_float(n_sigma, "n_sigma", minimum=0.0, open_low=True)
    _check_labels(title, xlabel, ylabel)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if not len(grid) == len(mean) == len(sigma):
        raise ValueError(f"grid, mean and sigma must have the same length, "
                         f"got {len(grid)}, {len(mean)} and {len(sigma)}")
    if (sigma < 0).any():
        raise ValueError("sigma must be non-negative")
    ax = _axes(ax)
    ax.scatter(x, y, s=8, color="0.55", alpha=0.7, label=data_label, linewidths=0)
    ax.plot(grid, mean, color="C0", linewidth=2, label="predicted mean μ(x)")
    ax.fill_between(grid, mean - n_sigma * sigma, mean + n_sigma * sigma, color="C0",
                    alpha=0.2, label=f"μ(x) ± {n_sigma:g}σ(x)")
    if true_mean is not None:
        true_mean = check_array(true_mean, "true_mean", ndim=1)
        ax.plot(grid, true_mean, "k--", linewidth=1, label="true mean")
        if true_sigma is not None:
            true_sigma = check_array(true_sigma, "true_sigma", ndim=1)
            for sign in (-1, 1):
                ax.plot(grid, true_mean + sign * n_sigma * true_sigma, "k:", linewidth=1,
                        label=f"true ± {n_sigma:g}σ" if sign == 1 else None)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize="small", loc="best")
    return ax.figure


def plot_gaussian_likelihood(data: np.ndarray, mu: float, sigma: float, *,
                             title: str | None = None, xlabel: str = "y",
                             ylabel: str = "density p(y)",
                             value_range: tuple[float, float] | None = None,
                             ax: Axes | None = None) -> Figure:
    """The density N(y; mu, sigma²) and each data point's likelihood as a stem to the curve.

    ``data``: (n,) scalar observations. The default title states the total NLL
    sum_i -log N(y_i; mu, sigma²). ``value_range``: fixed limits of the y axis of the data
    (the horizontal axis), so that moving mu visibly moves the curve; default: fit the view.
    """
    _check_ax(ax)
    data = check_array(data, "data", ndim=1).astype(np.float64)
    mu = check_float(mu, "mu")
    sigma = check_float(sigma, "sigma", minimum=0.0, open_low=True)
    log_density = -0.5 * math.log(2 * math.pi) - math.log(sigma) - (data - mu) ** 2 / (2 * sigma**2)
    if title is None:
        title = f"μ = {mu:.2f}, σ = {sigma:.2f}: NLL = {-log_density.sum():.3f}"
    _check_labels(title, xlabel, ylabel)
    if value_range is None:
        low = min(float(data.min()), mu - 3.5 * sigma) - 0.5
        high = max(float(data.max()), mu + 3.5 * sigma) + 0.5
    else:
        low, high = _check_range(value_range)
    grid = np.linspace(low, high, 400)
    curve = np.exp(-0.5 * ((grid - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    ax = _axes(ax)
    ax.plot(grid, curve, color="C0", linewidth=2, label="N(y; μ, σ²)")
    ax.vlines(data, 0.0, np.exp(log_density), color="C3", linewidth=1.5,
              label="likelihood of each point")
    ax.plot(data, np.zeros_like(data), "o", color="C3", clip_on=False, label="data")
    ax.set_xlim(low, high)
    ax.set_ylim(bottom=0.0)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize="small", loc="upper right")
    return ax.figure


# --------------------------------------------------------------------------- notebook 02

def plot_occupied_cells(points: np.ndarray, *, n_values: int = 10, title: str | None = None,
                        ax: Axes | None = None) -> Figure:
    """The grid of the source's example in 1-D or 2-D: occupied cells shaded, points marked.

    ``points``: integer array (n, 1) or (n, 2) with values in 1..n_values. The default title
    states occupied cells / all cells.
    """
    _check_ax(ax)
    points = check_array(points, "points", ndim=2)
    n_values = check_int(n_values, "n_values", minimum=2)
    if points.shape[1] not in (1, 2):
        raise ValueError(f"points must have 1 or 2 columns to be drawn, got shape "
                         f"{points.shape}")
    if points.dtype.kind not in "iu" or points.min() < 1 or points.max() > n_values:
        raise ValueError(f"points must hold integers in 1..{n_values}")
    dim = points.shape[1]
    cells = np.unique(points, axis=0)
    if title is None:
        title = (f"{len(points)} points, d = {dim}: {len(cells)} of {n_values**dim} cells "
                 "occupied")
    _check_text(title, "title")
    ax = _axes(ax, 6.0, 4.6 if dim == 2 else 1.6)
    rows = np.ones(len(points), dtype=np.int64) if dim == 1 else points[:, 1]
    filled = np.zeros((1 if dim == 1 else n_values, n_values))
    for cell in cells:
        filled[0 if dim == 1 else cell[1] - 1, cell[0] - 1] = 1.0
    ax.imshow(filled, cmap=ListedColormap(["white", "#9ecae1"]), vmin=0, vmax=1,
              extent=(0.5, n_values + 0.5, 0.5, (1 if dim == 1 else n_values) + 0.5),
              origin="lower", aspect="equal")
    ax.set_xticks(np.arange(1, n_values + 1))
    ax.set_xticks(np.arange(0.5, n_values + 1), minor=True)
    ax.set_yticks(np.arange(0.5, (1 if dim == 1 else n_values) + 1), minor=True)
    ax.grid(which="minor", color="0.6", linewidth=0.8)
    ax.tick_params(which="minor", length=0)
    ax.plot(points[:, 0], rows, "o", color="C3", markersize=5, label="observation")
    handles = [Rectangle((0, 0), 1, 1, facecolor="#9ecae1", edgecolor="0.6",
                             label="occupied cell")]
    ax.legend(handles=[*handles, ax.lines[-1]], fontsize="small", loc="center left",
              bbox_to_anchor=(1.02, 0.5), frameon=False)
    if dim == 1:
        ax.set_yticks([])
        ax.set(xlabel="x₁")
    else:
        ax.set_yticks(np.arange(1, n_values + 1))
        ax.set(xlabel="x₁", ylabel="x₂")
    ax.set_title(title)
    return ax.figure


# --------------------------------------------------------------------------- notebook 03

def _coloured_points(points: np.ndarray, values: np.ndarray, name: str,
                     dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Checked ``points`` (n, dim) and their colour ``values`` (n,); ``name`` is the argument's
    name, "points" or "codes"."""
    points = check_array(points, name, ndim=2)
    values = check_array(values, "values", ndim=1)
    if points.shape[1] != dim:
        raise ValueError(f"{name} must have shape (n, {dim}), got {points.shape}")
    if len(values) != len(points):
        raise ValueError(f"values must have one entry per {name[:-1]} ({len(points)}), "
                         f"got {len(values)}")
    return points, values


def panels_3d(ncols: int = 1, *, title: str | None = None, width: float = 4.8,
              height: float = 4.2) -> tuple[Figure, np.ndarray]:
    """Like ``panels``, one row of ``ncols`` three-dimensional Axes (for ``plot_points_3d``)."""
    ncols = check_int(ncols, "ncols", minimum=1)
    width = check_float(width, "width", minimum=0.5)
    height = check_float(height, "height", minimum=0.5)
    fig, axes = _new_figure(1, ncols, width * ncols, height, layout="constrained",
                            subplot_kw={"projection": "3d"})
    if title is not None:
        fig.suptitle(_check_text(title, "title"))
    return fig, axes.ravel()


def plot_points_3d(points: np.ndarray, values: np.ndarray, *, title: str, colour_label: str,
                   lines: Mapping[str, np.ndarray] | None = None,
                   ax: Axes | None = None) -> Figure:
    """Points (n, 3) in 3-D, coloured by a continuous ``values`` (n,) with a colour bar.

    ``lines``: optional legend label -> polyline (k, 3), drawn on top (e.g. a straight segment
    and a path along the data). ``ax`` must be a 3-D Axes (``panels_3d``) when given.
    """
    _check_ax(ax)
    points, values = _coloured_points(points, values, "points", 3)
    _check_text(title, "title")
    _check_text(colour_label, "colour_label")
    if ax is None:
        fig, axes = _new_figure(1, 1, 5.4, 4.6, layout="constrained",
                                subplot_kw={"projection": "3d"})
        ax = axes[0, 0]
    elif ax.name != "3d":
        raise ValueError("ax must be a 3-D Axes (see plotting.panels_3d)")
    scatter = ax.scatter(points[:, 0], points[:, 1], points[:, 2], c=values, cmap="viridis",
                         s=5, alpha=0.8, linewidths=0)
    styles = [("C3", "-"), ("k", "--"), ("C1", ":")]
    for index, (label, line) in enumerate((lines or {}).items()):
        line = check_array(line, f"lines[{label!r}]", ndim=2)
        if line.shape[1] != 3:
            raise ValueError(f"lines[{label!r}] must have shape (k, 3), got {line.shape}")
        colour, style = styles[index % len(styles)]
        ax.plot(line[:, 0], line[:, 1], line[:, 2], style, color=colour, linewidth=2.2,
                marker="o", markersize=3, label=label)
    if lines:
        ax.legend(fontsize="small", loc="upper left")
    ax.figure.colorbar(scatter, ax=ax, shrink=0.6, pad=0.08).set_label(colour_label)
    ax.set(title=title, xlabel="x", ylabel="y", zlabel="z")
    return ax.figure


def plot_embedding(codes: np.ndarray, values: np.ndarray, *, title: str, colour_label: str,
                   xlabel: str = "dimension 1", ylabel: str = "dimension 2",
                   colourbar: bool = True, ax: Axes | None = None) -> Figure:
    """A 2-D embedding or code (n, 2), each point coloured by a continuous ``values`` (n,)
    (a true coordinate or factor), with a colour bar unless ``colourbar=False``."""
    _check_ax(ax)
    codes, values = _coloured_points(codes, values, "codes", 2)
    _check_labels(title, xlabel, ylabel)
    _check_text(colour_label, "colour_label")
    ax = _axes(ax, 4.6, 3.8)
    scatter = ax.scatter(codes[:, 0], codes[:, 1], c=values, cmap="viridis", s=5, alpha=0.85,
                         linewidths=0)
    if colourbar:
        ax.figure.colorbar(scatter, ax=ax).set_label(colour_label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return ax.figure


def plot_image_rows(rows: Mapping[str, np.ndarray], *, title: str, cmap: str = "gray",
                    vmin: float | None = None, vmax: float | None = None) -> Figure:
    """One row of images per entry of ``rows`` (label -> images (k, h, w), or (k, h*w) with
    h*w a square number), the label written left of its row; all rows share one grey scale
    (0..1 for floats within [0, 1]) and have the same number of images."""
    if not isinstance(rows, Mapping) or not rows:
        raise ValueError("rows must be a non-empty dict of label -> images")
    _check_text(title, "title")
    stacks = {_check_text(label, "row label"): _as_image_stack(images, f"rows[{label!r}]")
              for label, images in rows.items()}
    lengths = {len(s) for s in stacks.values()}
    if len(lengths) != 1:
        raise ValueError(f"every row must hold the same number of images, got {sorted(lengths)}")
    ncols = lengths.pop()
    low, high = _value_range(np.concatenate([s.reshape(len(s), -1) for s in stacks.values()]),
                             vmin, vmax)
    fig, axes = _new_figure(len(stacks), ncols, 1.0 * ncols + 1.6, 1.05 * len(stacks) + 0.5,
                            layout="constrained")
    for row, (label, images) in enumerate(stacks.items()):
        for col in range(ncols):
            ax = axes[row, col]
            ax.imshow(images[col], cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize="small")
    fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------- notebook 04

def plot_code_distance_map(distances: np.ndarray, extent: tuple[float, float, float, float], *,
                           title: str, colour_label: str, codes: np.ndarray | None = None,
                           marks: Mapping[str, np.ndarray] | None = None,
                           ax: Axes | None = None) -> Figure:
    """A map of the latent plane: ``distances`` (rows, cols), one value per code of
    ``latent_grid(extent, rows, cols)`` (top row = y_max), drawn as a heat map with a colour
    bar, for example each grid code's distance to the nearest training code.

    ``codes``: optional (n, 2) codes drawn on top as small dots (legend "training codes").
    ``marks``: optional legend label -> (k, 2) codes drawn as large open markers, e.g. the
    grid codes whose decoded images are shown next to the map.
    """
    _check_ax(ax)
    distances = check_array(distances, "distances", ndim=2)
    x_min, x_max, y_min, y_max = check_extent(extent)
    _check_text(title, "title")
    _check_text(colour_label, "colour_label")
    rows, cols = distances.shape
    dx = (x_max - x_min) / (cols - 1) if cols > 1 else x_max - x_min
    dy = (y_max - y_min) / (rows - 1) if rows > 1 else y_max - y_min
    ax = _axes(ax, 5.6, 4.6)
    image = ax.imshow(distances, cmap="magma", interpolation="nearest", aspect="auto",
                      extent=(x_min - dx / 2, x_max + dx / 2, y_min - dy / 2, y_max + dy / 2))
    ax.figure.colorbar(image, ax=ax).set_label(colour_label)
    labelled = False
    if codes is not None:
        codes = check_array(codes, "codes", ndim=2)
        if codes.shape[1] != 2:
            raise ValueError(f"codes must have shape (n, 2), got {codes.shape}")
        ax.scatter(codes[:, 0], codes[:, 1], s=2, color="#7fd6ff", alpha=0.6, linewidths=0,
                   label="training codes")
        labelled = True
    marker_styles = [("s", "C2"), ("o", "C0"), ("D", "C8"), ("^", "C9")]
    for index, (label, points) in enumerate((marks or {}).items()):
        points = check_array(points, f"marks[{label!r}]", ndim=2)
        if points.shape[1] != 2:
            raise ValueError(f"marks[{label!r}] must have shape (k, 2), got {points.shape}")
        marker, colour = marker_styles[index % len(marker_styles)]
        ax.scatter(points[:, 0], points[:, 1], s=70, marker=marker, facecolors="none",
                   edgecolors=colour, linewidths=1.8, label=_check_text(label, "marks label"))
        labelled = True
    ax.set_xlim(x_min - dx / 2, x_max + dx / 2)
    ax.set_ylim(y_min - dy / 2, y_max + dy / 2)
    ax.set(title=title, xlabel="z₁", ylabel="z₂")
    if labelled:
        ax.legend(fontsize="small", loc="upper right", framealpha=0.85)
    return ax.figure
