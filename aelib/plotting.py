"""Figures for the notebooks: arrays in, a matplotlib ``Figure`` out.

Every function returns the ``Figure`` it drew on, released from pyplot: a notebook shows it once,
as a cell's value or through ``display``, and nothing piles up across re-runs. Functions that
take ``ax`` draw into that Axes (from ``panels``) and return its figure::

    fig, axes = plotting.panels(2, title="Two starts")
    plotting.plot_curves({"MSE": mse, "CE": ce}, ax=axes[0], ...)
    plotting.plot_curves({"MSE": mse2, "CE": ce2}, ax=axes[1], ...)
    fig

Every figure has a title, labelled axes, and a legend or colour bar where colour carries meaning.
The text is written in English; ``translate_figures`` draws it in another language (the Korean
edition), with a font that has Hangul.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from aelib._checks import array, extent, instance, integer, validate
from aelib.i18n import Catalogue

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
Extent = tuple[float, float, float, float]   # (x_min, x_max, y_min, y_max) of latent axes


# --------------------------------------------------------------------------- checks

def _text(value: Any, name: str, _: Any = None) -> str:
    """A title or label: every figure has a title and labelled axes."""
    instance(str, "a string")(value, name)
    if not value.strip():
        raise ValueError(f"{name} must not be empty: every figure needs a title and axis labels")
    return value


def _images(value: Any, name: str, _: Any = None) -> np.ndarray:
    """Images (n, h, w), or flat (n, h*w) with h*w a square number: (n, h, w)."""
    images = array((2, 3))(value, name)
    if images.ndim == 3:
        return images
    side, hw = math.isqrt(images.shape[1]), images.shape[1]
    if side * side != hw:
        raise ValueError(f"{name} of shape {images.shape} is flat but {hw} is not a square number")
    return images.reshape(len(images), side, side)


# --------------------------------------------------------------------------- figures and axes

def _new_figure(nrows: int, ncols: int, width: float, height: float, title: str | None = None,
                **kwargs: Any) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False,
                             layout="constrained", **kwargs)
    plt.close(fig)  # released from pyplot: shown only when returned or displayed
    if title is not None:
        fig.suptitle(title)
    return fig, axes


def _axes(ax: Axes | None, width: float = 5.0, height: float = 3.6, **kwargs: Any) -> Axes:
    return _new_figure(1, 1, width, height, **kwargs)[1][0, 0] if ax is None else ax


@validate(ncols=integer(1), nrows=integer(1))
def panels(ncols: int = 1, *, nrows: int = 1, title: str | None = None, width: float = 4.6,
           height: float = 3.5) -> tuple[Figure, np.ndarray]:
    """(fig, axes): nrows × ncols Axes of ``width`` × ``height`` inches, ``axes`` flat."""
    fig, axes = _new_figure(nrows, ncols, width * ncols, height * nrows, title)
    return fig, axes.ravel()


def fig_to_png(fig: Figure, *, dpi: int = 100) -> bytes:
    """Render ``fig`` to PNG bytes and close it."""
    buffer = io.BytesIO()
    # "tight" like the notebook's inline backend, so legends placed outside the axes show.
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


# --------------------------------------------------------------------------- other languages

#: Fonts with Hangul, the first one installed is used: Debian's and Ubuntu's fonts-noto-cjk
#: (conda-forge: font-ttf-noto-cjk) give the first, Windows and macOS have the last two.
HANGUL_FONTS = ("Noto Sans CJK KR", "Noto Sans KR", "NanumGothic", "Malgun Gothic",
                "Apple SD Gothic Neo")
_ENGLISH_DRAW = Figure.draw


def hangul_font() -> str:
    """The name of an installed font with Hangul glyphs (the first of ``HANGUL_FONTS``)."""
    manager = font_manager.fontManager
    for looked_again in (False, True):
        installed = {font.name for font in manager.ttflist}
        found = next((name for name in HANGUL_FONTS if name in installed), None)
        if found is not None:
            return found
        if not looked_again:
            # matplotlib keeps a cached list of fonts: one installed since is not on it yet.
            known = {font.fname for font in manager.ttflist}
            for path in font_manager.findSystemFonts():
                if path not in known:
                    with contextlib.suppress(Exception):   # a file FreeType cannot read
                        manager.addfont(path)
    raise RuntimeError("no font with Hangul is installed for matplotlib: install one of "
                       f"{', '.join(HANGUL_FONTS)} (Debian and Ubuntu: apt-get install "
                       "fonts-noto-cjk; conda: font-ttf-noto-cjk)")


def translate_figures(catalogue: Catalogue | None) -> None:
    """From now on, pass every text of every figure through ``catalogue`` as it is drawn
    (titles, axis labels, legends; text it has no entry for stays as it is), and draw Hangul
    with ``hangul_font()``; ``None`` goes back to English.

    This is process-wide, like matplotlib's own settings: it wraps ``Figure.draw`` and adds
    the Hangul font at the end of ``rcParams["font.family"]`` (matplotlib takes each glyph from
    the first family that has it, so Latin, Greek and symbols look as in English)."""
    if catalogue is None:
        Figure.draw = _ENGLISH_DRAW
        return
    instance(Catalogue, "an aelib.i18n.Catalogue or None")(catalogue, "catalogue")
    font = hangul_font()
    families = [name for name in matplotlib.rcParams["font.family"] if name != font]
    matplotlib.rcParams["font.family"] = [*families, font]

    def draw(fig: Figure, renderer: Any) -> None:
        for text in fig.findobj(Text):
            english = text.get_text()
            if english and english != (translated := catalogue.translate(english)):
                text.set_text(translated)
        _ENGLISH_DRAW(fig, renderer)

    Figure.draw = draw


# --------------------------------------------------------------------------- curves

@validate(title=_text, xlabel=_text, ylabel=_text)
def plot_curves(curves: Mapping[str, Sequence[float]], *, title: str, xlabel: str, ylabel: str,
                x: Sequence[float] | None = None, logy: bool = False, logx: bool = False,
                styles: Mapping[str, str] | None = None,
                vlines: Mapping[str, float] | None = None, ax: Axes | None = None) -> Figure:
    """One line per entry of ``curves`` (label -> y (m,)) over ``x`` (m,), default 0, 1, 2, ...;
    ``logy`` leaves y <= 0 out; ``styles``: a matplotlib format per label, e.g. ``{"MC": "o"}``;
    ``vlines``: labelled vertical lines, e.g. ``{"current d": 10}``."""
    x = None if x is None else np.asarray(x)
    ax = _axes(ax)
    for label, ys in curves.items():
        ys = np.asarray(ys, dtype=np.float64)
        ys = np.where(ys > 0, ys, np.nan) if logy else ys
        ax.plot(np.arange(len(ys)) if x is None else x, ys, (styles or {}).get(label, "-"),
                label=label)
    line_styles = [("0.25", ":"), ("C3", "--"), ("C2", "-."), ("C4", ":")]
    for index, (label, position) in enumerate((vlines or {}).items()):
        colour, style = line_styles[index % len(line_styles)]
        ax.axvline(position, color=colour, linestyle=style, linewidth=1.3, label=label)
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    elif x is not None and x.dtype.kind in "iu":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax.figure


def plot_histograms(samples: Mapping[str, Sequence[float]], *, title: str, xlabel: str,
                    bins: int = 40, value_range: tuple[float, float] | None = None,
                    ax: Axes | None = None) -> Figure:
    """Unit-area step histograms of ``samples`` (label -> (n,)), on bins over ``value_range``."""
    arrays = {label: np.asarray(values, dtype=np.float64) for label, values in samples.items()}
    low, high = value_range or (min(float(a.min()) for a in arrays.values()),
                                max(float(a.max()) for a in arrays.values()))
    edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    ax = _axes(ax)
    for label, values in arrays.items():
        ax.hist(values, bins=edges, density=True, histtype="step", linewidth=1.6, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel="density")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax.figure


# --------------------------------------------------------------------------- images and codes

def _value_range(images: np.ndarray, vmin: float | None = None,
                 vmax: float | None = None) -> tuple[float, float]:
    """One grey scale for all images: 0..255 for uint8, 0..1 for floats in [0, 1], else data."""
    if images.dtype == np.uint8:
        low, high = 0.0, 255.0
    elif images.min() >= 0.0 and images.max() <= 1.0:
        low, high = 0.0, 1.0
    else:
        low, high = float(images.min()), float(images.max())
    return (low if vmin is None else vmin), (high if vmax is None else vmax)


@validate(images=_images)
def show_images(images: np.ndarray, *, ncols: int = 10, titles: Sequence[str] | None = None,
                title: str = "Images") -> Figure:
    """A grid of grey images (n, h, w) or (n, h*w) on one grey scale, titled by ``titles`` (n,)."""
    low, high = _value_range(images)
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    header = 0.5 if titles is None else 0.75
    fig, axes = _new_figure(nrows, ncols, 1.1 * ncols + 0.2, 1.1 * nrows + header, title)
    for index, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if index < len(images):
            ax.imshow(images[index], cmap="gray", vmin=low, vmax=high, interpolation="nearest")
            if titles is not None:
                ax.set_title(str(titles[index]), fontsize="small")
    return fig


def plot_codes(codes: np.ndarray, labels: np.ndarray, *, ax: Axes | None = None,
               title: str = "Codes in the latent space", xlabel: str = "z₁", ylabel: str = "z₂",
               class_names: Sequence[str] | None = None, point_size: float = 6.0) -> Figure:
    """Codes (n, 2) coloured by class ``labels`` (n,), with a legend (or, past 20, a colour bar)."""
    n_classes = int(labels.max()) + 1 if class_names is None else len(class_names)
    names = [str(c) for c in (class_names or range(n_classes))]
    base = matplotlib.colormaps["tab10" if n_classes <= 10 else "tab20"]
    cmap = ListedColormap([base(i % base.N) for i in range(n_classes)])
    ax = _axes(ax, 5.4, 4.6)
    order = np.random.default_rng(0).permutation(len(codes))   # so no class hides the others
    norm = BoundaryNorm(np.arange(-0.5, n_classes + 0.5), n_classes)
    scatter = ax.scatter(codes[order, 0], codes[order, 1], c=labels[order], cmap=cmap,
                         norm=norm, s=point_size, alpha=0.8, linewidths=0)
    if n_classes <= 20:
        handles = [Line2D([], [], marker="o", linestyle="", color=cmap(i), label=names[i])
                   for i in range(n_classes)]
        ax.legend(handles=handles, title="class", fontsize="small", loc="center left",
                  bbox_to_anchor=(1.01, 0.5), frameon=False)
    else:
        ax.figure.colorbar(scatter, ax=ax, ticks=np.arange(n_classes)).set_label("class")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return ax.figure


@validate(extent=extent)
def latent_grid(extent: Extent, rows: int, cols: int) -> np.ndarray:
    """Codes (rows, cols, 2) over ``extent`` = (x_min, x_max, y_min, y_max), top row at y_max:
    z₁ = linspace(x_min, x_max, cols)[c], z₂ = linspace(y_max, y_min, rows)[r]."""
    x_min, x_max, y_min, y_max = extent
    z1, z2 = np.meshgrid(np.linspace(x_min, x_max, cols), np.linspace(y_max, y_min, rows))
    return np.stack([z1, z2], axis=-1)


def _cells(extent: Extent, rows: int, cols: int) -> tuple[Extent, float]:
    """(left, right, bottom, top) of the cells centred on ``latent_grid``, and their dx / dy."""
    x_min, x_max, y_min, y_max = extent
    dx = (x_max - x_min) / (cols - 1) if cols > 1 else x_max - x_min
    dy = (y_max - y_min) / (rows - 1) if rows > 1 else y_max - y_min
    return (x_min - dx / 2, x_max + dx / 2, y_min - dy / 2, y_max + dy / 2), dx / dy


def plot_image_grid(images: np.ndarray, *, title: str, extent: Extent | None = None,
                    ax: Axes | None = None) -> Figure:
    """A mosaic of ``images`` (rows, cols, h, w) or (rows, cols, h*w); with ``extent``, tile
    (r, c) sits at the code ``latent_grid(extent, rows, cols)[r, c]`` on latent axes."""
    rows, cols = images.shape[:2]
    tiles = _images(images.reshape(rows * cols, *images.shape[2:]), "images")
    height, width = tiles.shape[1:]
    mosaic = (tiles.reshape(rows, cols, height, width).transpose(0, 2, 1, 3)
              .reshape(rows * height, cols * width))
    low, high = _value_range(tiles)
    ax = _axes(ax, min(8.0, 0.5 * cols + 1.6), min(8.0, 0.5 * rows + 1.2))
    if extent is None:
        bounds, aspect = (-0.5, cols - 0.5, rows - 0.5, -0.5), 1.0
    else:
        bounds, aspect = _cells(extent, rows, cols)
    ax.imshow(mosaic, cmap="gray", vmin=low, vmax=high, interpolation="nearest", extent=bounds,
              aspect=aspect * height / width)
    ax.set(title=title, xlabel="column" if extent is None else "z₁",
           ylabel="row" if extent is None else "z₂")
    return ax.figure


# --------------------------------------------------------------------------- notebook 01

def plot_regression_band(x: np.ndarray, y: np.ndarray, grid: np.ndarray, mean: np.ndarray,
                         sigma: np.ndarray, *, title: str, n_sigma: float = 2.0,
                         true_mean: np.ndarray | None = None,
                         true_sigma: np.ndarray | None = None, xlabel: str = "x",
                         ylabel: str = "y", data_label: str = "data",
                         ax: Axes | None = None) -> Figure:
    """Data ``x``, ``y`` (n,) and the band mean ± n_sigma·sigma on ``grid`` (m,); ``true_mean``
    and ``true_sigma`` (m,), what generated the data, are drawn dashed."""
    ax = _axes(ax)
    ax.scatter(x, y, s=8, color="0.55", alpha=0.7, label=data_label, linewidths=0)
    ax.plot(grid, mean, color="C0", linewidth=2, label="predicted mean μ(x)")
    ax.fill_between(grid, mean - n_sigma * sigma, mean + n_sigma * sigma, color="C0",
                    alpha=0.2, label=f"μ(x) ± {n_sigma:g}σ(x)")
    if true_mean is not None:
        ax.plot(grid, true_mean, "k--", linewidth=1, label="true mean")
        if true_sigma is not None:
            for sign in (-1, 1):
                ax.plot(grid, true_mean + sign * n_sigma * true_sigma, "k:", linewidth=1,
                        label=f"true ± {n_sigma:g}σ" if sign == 1 else None)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize="small", loc="best")
    return ax.figure


def plot_gaussian_likelihood(data: np.ndarray, mu: float, sigma: float, *,
                             title: str | None = None,
                             value_range: tuple[float, float] | None = None,
                             ax: Axes | None = None) -> Figure:
    """The density N(y; mu, sigma²) and a stem up to it at each observation of ``data`` (n,);
    the default title states the NLL, ``value_range`` fixes the y axis (horizontal)."""
    data = np.asarray(data, dtype=np.float64)
    log_density = -0.5 * math.log(2 * math.pi) - math.log(sigma) - (data - mu) ** 2 / (2 * sigma**2)
    if title is None:
        title = f"μ = {mu:.2f}, σ = {sigma:.2f}: NLL = {-log_density.sum():.3f}"
    low, high = value_range or (min(float(data.min()), mu - 3.5 * sigma) - 0.5,
                                max(float(data.max()), mu + 3.5 * sigma) + 0.5)
    grid = np.linspace(low, high, 400)
    curve = np.exp(-0.5 * ((grid - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    ax = _axes(ax)
    ax.plot(grid, curve, color="C0", linewidth=2, label="N(y; μ, σ²)")
    ax.vlines(data, 0.0, np.exp(log_density), color="C3", linewidth=1.5,
              label="likelihood of each point")
    ax.plot(data, np.zeros_like(data), "o", color="C3", clip_on=False, label="data")
    ax.set(xlim=(low, high), ylim=(0.0, None), title=title, xlabel="y", ylabel="density p(y)")
    ax.legend(fontsize="small", loc="upper right")
    return ax.figure


# --------------------------------------------------------------------------- notebook 02

def plot_occupied_cells(points: np.ndarray, *, n_values: int = 10,
                        ax: Axes | None = None) -> Figure:
    """The grid of the source's example: integer ``points`` (n, 1) or (n, 2) in 1..n_values
    marked, their cells shaded; the title counts the occupied cells."""
    dim = points.shape[1]
    cells = np.unique(points, axis=0)
    n_rows = 1 if dim == 1 else n_values   # of cells
    ax = _axes(ax, 6.0, 4.6 if dim == 2 else 1.6)
    filled = np.zeros((n_rows, n_values))
    for cell in cells:
        filled[0 if dim == 1 else cell[1] - 1, cell[0] - 1] = 1.0
    ax.imshow(filled, cmap=ListedColormap(["white", "#9ecae1"]), vmin=0, vmax=1,
              extent=(0.5, n_values + 0.5, 0.5, n_rows + 0.5), origin="lower", aspect="equal")
    ax.set_xticks(np.arange(1, n_values + 1))
    ax.set_xticks(np.arange(0.5, n_values + 1), minor=True)
    ax.set_yticks(np.arange(0.5, n_rows + 1), minor=True)
    ax.grid(which="minor", color="0.6", linewidth=0.8)
    ax.tick_params(which="minor", length=0)
    rows = np.ones(len(points), dtype=np.int64) if dim == 1 else points[:, 1]
    observed = ax.plot(points[:, 0], rows, "o", color="C3", markersize=5, label="observation")
    shaded = Rectangle((0, 0), 1, 1, facecolor="#9ecae1", edgecolor="0.6", label="occupied cell")
    ax.legend(handles=[shaded, *observed], fontsize="small", loc="center left",
              bbox_to_anchor=(1.02, 0.5), frameon=False)
    ax.set_yticks([] if dim == 1 else np.arange(1, n_values + 1))
    ax.set(xlabel="x₁", ylabel="" if dim == 1 else "x₂")
    ax.set_title(f"{len(points)} points, d = {dim}: {len(cells)} of {n_values**dim} cells occupied")
    return ax.figure


# --------------------------------------------------------------------------- notebook 03

def panels_3d(ncols: int = 1, *, title: str | None = None) -> tuple[Figure, np.ndarray]:
    """Like ``panels``: one row of ``ncols`` 3-D Axes (for ``plot_points_3d``)."""
    fig, axes = _new_figure(1, ncols, 4.8 * ncols, 4.2, title, subplot_kw={"projection": "3d"})
    return fig, axes.ravel()


def plot_points_3d(points: np.ndarray, values: np.ndarray, *, title: str, colour_label: str,
                   lines: Mapping[str, np.ndarray] | None = None,
                   ax: Axes | None = None) -> Figure:
    """Points (n, 3) coloured by ``values`` (n,), ``lines`` (label -> (k, 3)) on top; 3-D ``ax``."""
    ax = _axes(ax, 5.4, 4.6, subplot_kw={"projection": "3d"})
    scatter = ax.scatter(points[:, 0], points[:, 1], points[:, 2], c=values, cmap="viridis",
                         s=5, alpha=0.8, linewidths=0)
    styles = [("C3", "-"), ("k", "--"), ("C1", ":")]
    for index, (label, line) in enumerate((lines or {}).items()):
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
    """Codes or an embedding (n, 2) coloured by ``values`` (n,), e.g. a true coordinate."""
    ax = _axes(ax, 4.6, 3.8)
    scatter = ax.scatter(codes[:, 0], codes[:, 1], c=values, cmap="viridis", s=5, alpha=0.85,
                         linewidths=0)
    if colourbar:
        ax.figure.colorbar(scatter, ax=ax).set_label(colour_label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return ax.figure


def plot_image_rows(rows: Mapping[str, np.ndarray], *, title: str, vmin: float | None = None,
                    vmax: float | None = None) -> Figure:
    """One labelled row per entry of ``rows`` (label -> images (k, h, w) or (k, h*w))."""
    rows = {label: _images(images, f"rows[{label!r}]") for label, images in rows.items()}
    ncols = len(next(iter(rows.values())))
    low, high = _value_range(np.concatenate([s.reshape(len(s), -1) for s in rows.values()]),
                             vmin, vmax)
    fig, axes = _new_figure(len(rows), ncols, 1.0 * ncols + 1.6, 1.05 * len(rows) + 0.5, title)
    for row, (label, images) in enumerate(rows.items()):
        for col in range(ncols):
            axes[row, col].imshow(images[col], cmap="gray", vmin=low, vmax=high,
                                  interpolation="nearest")
            axes[row, col].set(xticks=[], yticks=[])
        axes[row, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize="small")
    return fig


# --------------------------------------------------------------------------- notebook 04

def plot_code_distance_map(distances: np.ndarray, extent: Extent, *,
                           title: str, colour_label: str, codes: np.ndarray | None = None,
                           marks: Mapping[str, np.ndarray] | None = None,
                           ax: Axes | None = None) -> Figure:
    """A heat map of ``distances`` (rows, cols), one per code of ``latent_grid(extent, rows,
    cols)``, with ``codes`` (n, 2) as dots and ``marks`` (label -> (k, 2)) as open markers."""
    bounds, _ = _cells(extent, *distances.shape)
    ax = _axes(ax, 5.6, 4.6)
    image = ax.imshow(distances, cmap="magma", interpolation="nearest", aspect="auto",
                      extent=bounds)
    ax.figure.colorbar(image, ax=ax).set_label(colour_label)
    if codes is not None:
        ax.scatter(codes[:, 0], codes[:, 1], s=2, color="#7fd6ff", alpha=0.6, linewidths=0,
                   label="training codes")
    marker_styles = [("s", "C2"), ("o", "C0"), ("D", "C8"), ("^", "C9")]
    for index, (label, points) in enumerate((marks or {}).items()):
        marker, colour = marker_styles[index % len(marker_styles)]
        ax.scatter(points[:, 0], points[:, 1], s=70, marker=marker, facecolors="none",
                   edgecolors=colour, linewidths=1.8, label=label)
    ax.set(xlim=bounds[:2], ylim=bounds[2:], title=title, xlabel="z₁", ylabel="z₂")
    if codes is not None or marks:
        ax.legend(fontsize="small", loc="upper right", framealpha=0.85)
    return ax.figure
