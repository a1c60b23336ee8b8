"""What the explorers of notebooks 01, 02 and 06 show: arrays in, PNG bytes out, no widgets.

Three layers per explorer, all but the last testable without a browser: what to show
(``likelihood_view``, ``dimension_view``, ``decode_point``, ``decode_every_label``), that drawn
as PNG bytes (``render_likelihood``, ``render_dimension``, ``render_map``, ``image_row``), and
``aelib.widgets``.

Notebook 06 answers every drag at once, faster than matplotlib draws: ``encode_png`` (Pillow)
makes a PNG in under a millisecond, and ``render_map`` paints the point into a copy of the map
that matplotlib drew once (``latent_map``).
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from aelib import dimensionality, likelihood, plotting
from aelib._checks import (
    array,
    codes_for,
    fraction,
    instance,
    labels_for,
    real,
    same_length,
    validate,
)
from aelib.models import LatentModel

#: The few observations of the likelihood explorer (notebook 01).
DEFAULT_DATA = (-0.9, 0.3, 0.8, 1.4, 2.6)
#: Side in screen pixels of a decoded image in the explorer (28 × 28 digits are shown 6×).
DECODED_PIXELS = 168
#: ``decode_points`` decodes at most this many codes on a single thread.
_SINGLE_THREAD_BATCH = 256
_MODEL = instance(LatentModel, "an aelib Autoencoder or VAE")
#: The frame around each image of ``image_row`` (RGB): grey, and orange for the highlighted one.
FRAME_GREY = (110, 110, 110)
FRAME_HIGHLIGHT = (255, 127, 14)


# --------------------------------------------------------------------------- notebook 01

@dataclass(frozen=True)
class LikelihoodView:
    """The likelihood explorer at (mu, sigma): ``point_nll`` (n,) = -log N(data_i; mu, sigma²),
    ``nll`` their sum, ``nll_over_mu`` (m,) at each mu of ``mu_grid`` (m,), and the MLEs."""

    data: np.ndarray
    mu: float
    sigma: float
    point_nll: np.ndarray
    nll: float
    mu_grid: np.ndarray
    nll_over_mu: np.ndarray
    mle_mu: float
    mle_sigma: float


@validate(data=array(1), mu=real(), sigma=real(0.0, open_low=True))
def likelihood_view(data: Sequence[float], mu: float, sigma: float, *,
                    mu_range: tuple[float, float] = (-3.0, 3.0)) -> LikelihoodView:
    """The likelihood explorer's numbers for observations ``data`` (n,) under N(mu, sigma²)."""
    data = data.astype(np.float64)
    target = torch.from_numpy(data)
    point_nll = likelihood.gaussian_nll(target, torch.full_like(target, mu), sigma).numpy()
    mu_grid = np.linspace(*mu_range, 241)
    # One "sample" per candidate mu with the n observations as its features: (m,) sums.
    targets = target.expand(len(mu_grid), -1)
    means = torch.from_numpy(mu_grid)[:, None].expand_as(targets)
    nll_over_mu = likelihood.gaussian_nll(targets, means, sigma).numpy()
    return LikelihoodView(data=data, mu=mu, sigma=sigma, point_nll=point_nll,
                          nll=float(point_nll.sum()), mu_grid=mu_grid, nll_over_mu=nll_over_mu,
                          mle_mu=float(data.mean()), mle_sigma=float(data.std()))


def render_likelihood(view: LikelihoodView, *, dpi: int = 80) -> bytes:
    """PNG of ``view``: the density with each point's likelihood, and the NLL against mu."""
    fig, axes = plotting.panels(2, title="Likelihood of the data under N(μ, σ²)", width=5.0,
                                height=3.4)
    low = min(float(view.mu_grid[0]), float(view.data.min())) - 1.5
    high = max(float(view.mu_grid[-1]), float(view.data.max())) + 1.5
    plotting.plot_gaussian_likelihood(
        view.data, view.mu, view.sigma, ax=axes[0], value_range=(low, high),
        title=f"μ = {view.mu:.2f}, σ = {view.sigma:.2f}: NLL = {view.nll:.3f}")
    plotting.plot_curves(
        {f"NLL(μ) at σ = {view.sigma:.2f}": view.nll_over_mu}, x=view.mu_grid,
        vlines={f"current μ = {view.mu:.2f}": view.mu,
                f"sample mean = {view.mle_mu:.2f}": view.mle_mu},
        title="Total NLL as a function of μ", xlabel="μ", ylabel="Σᵢ −log N(yᵢ; μ, σ²)",
        ax=axes[1])
    return plotting.fig_to_png(fig, dpi=dpi)


# --------------------------------------------------------------------------- notebook 02

@dataclass(frozen=True)
class DimensionView:
    """The dimension explorer's four numbers at ``dim``, and as curves (max_dim,) over ``dims``
    = 1 .. max_dim; ``distances`` (n_points (n_points - 1) / 2,): pairwise, over their mean."""

    dim: int
    n_observations: int
    n_values: int
    epsilon: float
    occupancy: float
    distance_ratio: float
    volume_ratio: float
    shell_fraction: float
    distances: np.ndarray
    dims: np.ndarray
    occupancy_curve: np.ndarray
    ratio_curve: np.ndarray
    volume_curve: np.ndarray
    shell_curve: np.ndarray


@functools.lru_cache(maxsize=8)
def _dimension_curves(max_dim: int, n_observations: int, n_values: int, n_points: int,
                      epsilon: float, seed: int) -> tuple[np.ndarray, ...]:
    dims = np.arange(1, max_dim + 1)
    occupancy = np.array([dimensionality.grid_occupancy(n_observations, d, n_values=n_values)
                          for d in dims])
    ratio = np.array([dimensionality.distance_ratio(
        dimensionality.uniform_cube(n_points, d, seed=seed + d)) for d in dims])
    volume = np.array([dimensionality.ball_to_cube_ratio(d) for d in dims])
    shell = np.array([dimensionality.shell_fraction(d, epsilon) for d in dims])
    for curve in (dims, occupancy, ratio, volume, shell):
        curve.setflags(write=False)
    return dims, occupancy, ratio, volume, shell


def dimension_view(dim: int, *, max_dim: int = 100, n_observations: int = 8,
                   n_values: int = 10, n_points: int = 100, epsilon: float = 0.05,
                   seed: int = 0) -> DimensionView:
    """The dimension explorer's numbers at ``dim``, 1 <= dim <= max_dim."""
    dims, occupancy, ratio, volume, shell = _dimension_curves(
        max_dim, n_observations, n_values, n_points, epsilon, seed)
    # Each d has its own fixed sample, so moving the slider back and forth shows the same.
    distances = dimensionality.pairwise_distances(
        dimensionality.uniform_cube(n_points, dim, seed=seed + dim))
    return DimensionView(
        dim=dim, n_observations=n_observations, n_values=n_values, epsilon=epsilon,
        occupancy=float(occupancy[dim - 1]), distance_ratio=float(ratio[dim - 1]),
        volume_ratio=float(volume[dim - 1]), shell_fraction=float(shell[dim - 1]),
        distances=distances / distances.mean(), dims=dims, occupancy_curve=occupancy,
        ratio_curve=ratio, volume_curve=volume, shell_curve=shell)


def render_dimension(view: DimensionView, *, dpi: int = 72) -> bytes:
    """PNG of ``view``: four panels, each with the current dimension marked."""
    fig, axes = plotting.panels(2, nrows=2, title=f"Dimension d = {view.dim}", width=5.0,
                                height=3.3)
    mark = {f"d = {view.dim}": view.dim}
    n, v = view.n_observations, view.n_values
    plotting.plot_curves(
        {f"{n} / {v}^d": view.occupancy_curve}, x=view.dims, logy=True, vlines=mark,
        title=f"Occupancy of the grid: {view.occupancy:.3g}", xlabel="dimension d",
        ylabel="occupied share of cells", ax=axes[0])
    plotting.plot_histograms(
        {f"d = {view.dim}": view.distances}, value_range=(0.0, 2.5), bins=50,
        title=f"Pairwise distances: max/min = {view.distance_ratio:.2f}",
        xlabel="distance / mean distance", ax=axes[1])
    plotting.plot_curves(
        {"ball / cube": view.volume_curve}, x=view.dims, logy=True, vlines=mark,
        title=f"Ball-to-cube volume ratio: {view.volume_ratio:.3g}", xlabel="dimension d",
        ylabel="volume ratio", ax=axes[2])
    plotting.plot_curves(
        {f"outer shell, ε = {view.epsilon:g}": view.shell_curve}, x=view.dims, vlines=mark,
        title=f"Volume in the outer shell: {view.shell_fraction:.3f}", xlabel="dimension d",
        ylabel="share of the volume", ax=axes[3])
    return plotting.fig_to_png(fig, dpi=dpi)


# --------------------------------------------------------------------------- notebook 06

def encode_png(image: np.ndarray, *, scale: int = 1, level: int = 1) -> bytes:
    """PNG of a grey (h, w) or RGB (h, w, 3) image (uint8, or floats clipped to [0, 1]), each
    pixel a ``scale`` × ``scale`` block; ``level``: zlib's, 1 is fast and nearly as small as 9."""
    if image.dtype != np.uint8:
        image = np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    if scale > 1:
        image = image.repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = io.BytesIO()
    PIL.Image.fromarray(image).save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


def image_shape(model: LatentModel) -> tuple[int, int]:
    """(h, w) of the square images ``model`` decodes."""
    side = math.isqrt(model.config.input_dim)
    if side * side != model.config.input_dim:
        raise ValueError(f"model's input_dim must be a square number, got {model.config.input_dim}")
    return side, side


@validate(model=_MODEL, codes=codes_for("model", numpy=True, labels="labels"),
          labels=labels_for("model", "codes"))
def decode_points(model: LatentModel, codes: np.ndarray,
                  labels: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """The means of p(x | z) for ``codes`` (n, latent_dim): images (n, h, w), float32. A model
    conditioned on labels (a CVAE) needs their ``labels`` (n,) too: the means of p(x | z, y)."""
    height, width = image_shape(model)
    dtype = model.dtype
    was_training, threads = model.training, torch.get_num_threads()
    model.eval()
    try:
        # For so small a product, splitting it over threads costs more in synchronisation than
        # it saves, most of all on a busy CPU: a slider move would take tens of milliseconds.
        if len(codes) <= _SINGLE_THREAD_BATCH:
            torch.set_num_threads(1)
        with torch.inference_mode():
            flat = model.decode(torch.as_tensor(codes, dtype=dtype, device=model.device),
                                None if labels is None else labels.to(model.device)).cpu()
    finally:
        torch.set_num_threads(threads)
        model.train(was_training)
    return flat.numpy().astype(np.float32, copy=False).reshape(len(codes), height, width)


def decode_point(model: LatentModel, z: Sequence[float] | np.ndarray,
                 y: int | None = None) -> np.ndarray:
    """The image (h, w) that ``model`` decodes from one code ``z`` (latent_dim,), with the
    label ``y`` for a model conditioned on labels."""
    return decode_points(model, np.asarray(z)[None, :], None if y is None else [y])[0]


def _conditional(value: object, name: str, _: object = None) -> LatentModel:
    """An aelib model conditioned on labels (n_classes > 0): a CVAE."""
    instance(LatentModel, "an aelib model conditioned on labels (a CVAE)")(value, name)
    if not value.config.n_classes:
        raise ValueError(f"{name} must be conditioned on labels (a CVAE, n_classes > 0), got "
                         "n_classes = 0; decode a model without labels with decode_point")
    return value


@validate(model=_conditional)
def decode_every_label(model: LatentModel, z: Sequence[float] | np.ndarray) -> np.ndarray:
    """One code ``z`` (latent_dim,) decoded with every label of a conditional model: images
    (n_classes, h, w), image k the mean of p(x | z, y = k). If z holds the style and the label
    the class, this is one handwriting across all the classes."""
    n_classes = model.config.n_classes
    codes = np.repeat(np.asarray(z, dtype=np.float64).reshape(1, -1), n_classes, axis=0)
    return decode_points(model, codes, np.arange(n_classes))


def decode_grid(model: LatentModel, extent: plotting.Extent, rows: int, cols: int) -> np.ndarray:
    """Images (rows, cols, h, w) decoded from ``plotting.latent_grid(extent, rows, cols)``."""
    grid = plotting.latent_grid(extent, rows, cols)
    images = decode_points(model, grid.reshape(-1, 2))
    return images.reshape(grid.shape[0], grid.shape[1], *images.shape[1:])


@validate(z_a=array(1), z_b=same_length("z_a", array(1)), t=fraction)
def interpolate_codes(z_a: Sequence[float] | np.ndarray, z_b: Sequence[float] | np.ndarray,
                      t: float) -> np.ndarray:
    """The code (1 - t) z_a + t z_b on the straight line between two codes (d,): (d,)."""
    return (1.0 - t) * z_a.astype(np.float64) + t * z_b.astype(np.float64)


def image_row(images: np.ndarray, *, scale: int = 1, frame: int = 2,
              highlight: int | None = None) -> np.ndarray:
    """Images (n, h, w) in [0, 1] side by side, each pixel a ``scale`` × ``scale`` block and
    each image in a ``frame`` pixels wide frame, grey (FRAME_GREY), or orange
    (FRAME_HIGHLIGHT) around image ``highlight``: RGB, uint8,
    (h·scale + 2 frame, n (w·scale + 2 frame), 3)."""
    n, height, width = images.shape
    grey = np.rint(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)
    grey = grey.repeat(scale, axis=1).repeat(scale, axis=2)
    tiles = np.empty((n, height * scale + 2 * frame, width * scale + 2 * frame, 3), np.uint8)
    tiles[:] = FRAME_GREY
    if highlight is not None:
        tiles[highlight] = FRAME_HIGHLIGHT
    tiles[:, frame:frame + height * scale, frame:frame + width * scale] = grey[..., None]
    return tiles.transpose(1, 0, 2, 3).reshape(tiles.shape[1], -1, 3)


def code_extent(codes: np.ndarray, *, margin: float = 0.08) -> plotting.Extent:
    """(x_min, x_max, y_min, y_max) around codes (n, 2), padded by ``margin`` × span (>= 1e-3)."""
    low, high = codes.min(axis=0).astype(float), codes.max(axis=0).astype(float)
    pad = np.maximum((high - low) * margin, 1e-3)
    return (float(low[0] - pad[0]), float(high[0] + pad[0]), float(low[1] - pad[1]),
            float(high[1] + pad[1]))


@dataclass(frozen=True)
class LatentMap:
    """2-D codes drawn once as ``pixels`` (H, W, 3) uint8, ``extent`` (x_min, x_max, y_min,
    y_max) on axes whose edges are ``box`` (left, top, right, bottom) in pixels."""

    pixels: np.ndarray
    extent: plotting.Extent
    box: tuple[float, float, float, float]

    def to_pixel(self, z: Sequence[float] | np.ndarray) -> tuple[float, float]:
        """(column, row) in ``pixels`` of the code z = (z₁, z₂)."""
        x_min, x_max, y_min, y_max = self.extent
        left, top, right, bottom = self.box
        return (left + (float(z[0]) - x_min) / (x_max - x_min) * (right - left),
                bottom - (float(z[1]) - y_min) / (y_max - y_min) * (bottom - top))

    def to_latent(self, column: float, row: float) -> tuple[float, float]:
        """The code (z₁, z₂) at pixel (``column``, ``row``) of ``pixels``."""
        x_min, x_max, y_min, y_max = self.extent
        left, top, right, bottom = self.box
        return (x_min + (float(column) - left) / (right - left) * (x_max - x_min),
                y_min + (bottom - float(row)) / (bottom - top) * (y_max - y_min))

    def contains(self, z: Sequence[float] | np.ndarray) -> bool:
        """Whether the code z = (z₁, z₂) lies within ``extent``."""
        x_min, x_max, y_min, y_max = self.extent
        return bool(x_min <= z[0] <= x_max and y_min <= z[1] <= y_max)


def _draw_prior(ax: Axes, prior: np.ndarray | None) -> None:
    """Samples (m, 2) of a model's prior, faint grey beneath whatever is drawn next."""
    if prior is not None:
        ax.scatter(prior[:, 0], prior[:, 1], s=3.0, c="0.78", alpha=0.5, linewidths=0,
                   zorder=0)


def latent_map(codes: np.ndarray, labels: np.ndarray, *, title: str,
               extent: plotting.Extent | None = None,
               class_names: Sequence[str] | None = None, prior: np.ndarray | None = None,
               dpi: int = 80) -> LatentMap:
    """``plotting.plot_codes`` of codes (n, 2) and ``labels`` (n,), drawn once to pixels;
    ``prior`` (m, 2): samples of the model's prior, drawn faint grey beneath the codes (the
    extent then holds them too)."""
    if extent is None:
        extent = code_extent(codes if prior is None else np.concatenate([codes, prior]))
    fig, (ax,) = plotting.panels(1, width=4.6, height=3.8)
    _draw_prior(ax, prior)
    plotting.plot_codes(codes, labels, ax=ax, title=title, class_names=class_names,
                        point_size=5.0)
    ax.set(xlim=extent[:2], ylim=extent[2:])
    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[:, :, :3].copy()
    pixels.setflags(write=False)
    bbox, rows = ax.get_window_extent(), pixels.shape[0]
    box = (float(bbox.x0), float(rows - bbox.y1), float(bbox.x1), float(rows - bbox.y0))
    return LatentMap(pixels=pixels, extent=tuple(extent), box=box)


def render_map(latent: LatentMap, z: Sequence[float] | np.ndarray) -> bytes:
    """PNG of ``latent`` with a ring and cross-hairs at the code ``z``; a code outside the map
    is ringed in red at the nearest edge."""
    inside = latent.contains(z)
    column, row = latent.to_pixel(z)
    left, top, right, bottom = latent.box
    column, row = min(max(column, left), right - 1), min(max(row, top), bottom - 1)
    c, r = int(round(column)), int(round(row))
    pixels = latent.pixels.copy()
    if inside:
        rows, cols = slice(math.ceil(top), int(bottom)), slice(math.ceil(left), int(right))
        pixels[rows, c] = pixels[rows, c] // 2 + 64      # darken: visible on white and colour
        pixels[r, cols] = pixels[r, cols] // 2 + 64
    # The ring, radius 7: black, white inside it, and red outside it for a code off the map.
    rs = slice(max(r - 10, 0), min(r + 11, pixels.shape[0]))
    cs = slice(max(c - 10, 0), min(c + 11, pixels.shape[1]))
    yy, xx = np.mgrid[rs, cs]
    distance = np.hypot(yy - row, xx - column)
    window = pixels[rs, cs]
    window[(distance >= 5.5) & (distance <= 8.5)] = (0, 0, 0)
    window[(distance >= 3.5) & (distance < 5.5)] = (255, 255, 255)
    if not inside:
        window[(distance > 8.5) & (distance <= 10)] = (214, 39, 40)
    return encode_png(pixels)


def render_snapshot(codes: Mapping[str, np.ndarray], labels: np.ndarray,
                    decoded: Mapping[str, np.ndarray], z: Sequence[float] | np.ndarray, *,
                    extents: Mapping[str, plotting.Extent] | None = None,
                    class_names: Sequence[str] | None = None,
                    priors: Mapping[str, np.ndarray] | None = None, dpi: int = 72) -> bytes:
    """The latent explorer as one PNG: per model its ``codes`` (n, 2), ``z`` and ``decoded``,
    over samples (m, 2) of its prior where ``priors`` has them."""
    z1, z2 = float(z[0]), float(z[1])
    fig, axes = plotting.panels(2 * len(codes), title=f"Decoded at z = ({z1:.2f}, {z2:.2f})",
                                width=3.6, height=3.2)
    for k, (name, model_codes) in enumerate(codes.items()):
        map_ax, image_ax = axes[2 * k], axes[2 * k + 1]
        prior = (priors or {}).get(name)
        _draw_prior(map_ax, prior)
        plotting.plot_codes(model_codes, labels, ax=map_ax,
                            title=f"{name}: codes" + ("" if prior is None else ", p(z) in grey"),
                            class_names=class_names, point_size=4.0)
        extent = (extents or {}).get(name) or code_extent(model_codes)
        map_ax.set(xlim=extent[:2], ylim=extent[2:])
        map_ax.plot([z1], [z2], marker="o", markersize=10, markerfacecolor="none",
                    markeredgecolor="black", markeredgewidth=2, linestyle="", label="z")
        image_ax.imshow(decoded[name], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        image_ax.set(title=f"{name}: decoded at z", xticks=[], yticks=[])
    return plotting.fig_to_png(fig, dpi=dpi)


def render_conditional_snapshot(codes: np.ndarray, labels: np.ndarray, z: Sequence[float],
                                y: int, styles: np.ndarray, *, extent: plotting.Extent,
                                class_names: Sequence[str], name: str = "CVAE",
                                dpi: int = 72) -> bytes:
    """The conditional explorer as one PNG: the ``codes`` (n, 2) with ``z`` marked, the image
    decoded at (z, y), and ``styles`` (n_classes, h, w), z decoded with every label."""
    z1, z2 = float(z[0]), float(z[1])
    fig = Figure(figsize=(7.8, 5.0), layout="constrained")
    axes = fig.subplot_mosaic([["map", "image"], ["row", "row"]], height_ratios=[3.0, 1.2])
    fig.suptitle(f"{name}: decoded at z = ({z1:.2f}, {z2:.2f}), y = {class_names[y]}")
    map_ax, image_ax, row_ax = axes["map"], axes["image"], axes["row"]
    plotting.plot_codes(codes, labels, ax=map_ax, title=f"{name}: codes μ(x, y)",
                        class_names=class_names, point_size=4.0)
    map_ax.set(xlim=extent[:2], ylim=extent[2:])
    map_ax.plot([z1], [z2], marker="o", markersize=10, markerfacecolor="none",
                markeredgecolor="black", markeredgewidth=2, linestyle="")
    image_ax.imshow(styles[y], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    image_ax.set(title=f"p(x | z, y = {class_names[y]})", xticks=[], yticks=[])
    frame, side = 1, styles.shape[2]
    row_ax.imshow(image_row(styles, frame=frame, highlight=y), interpolation="nearest")
    tile = side + 2 * frame
    row_ax.set(title="the same z decoded with every label", xlabel="label y", yticks=[],
               xticks=tile * np.arange(len(styles)) + tile / 2 - 0.5,
               xticklabels=list(class_names[:len(styles)]))
    return plotting.fig_to_png(fig, dpi=dpi)
