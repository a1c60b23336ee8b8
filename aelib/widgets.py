"""Interactive explorers for notebooks 01, 02 and 06, with a static picture for static viewers.

Each explorer is built in three layers, so that everything but the last can be tested (and
used) without a browser:

1. a pure function computing what to show (``likelihood_view``, ``dimension_view``, which
   return a frozen dataclass of numbers and arrays; ``decode_point``, ``decode_grid``);
2. a function rendering that to PNG bytes (``render_likelihood``, ``render_dimension``;
   ``encode_png`` and ``render_map``, fast enough for every mouse move);
3. a thin ipywidgets 8 layer (``LikelihoodExplorer``, ``DimensionExplorer``,
   ``LatentExplorer``: a ``VBox`` whose sliders re-render an ``Image`` through ``observe``).
   Tests drive it by setting ``explorer.mu_slider.value`` and reading ``explorer.image.value``
   and ``explorer.view``.

``display_with_fallback(explorer, explorer.image.value)`` shows the explorer: it publishes one
output holding the widget view *and* a PNG. A live front end (JupyterLab, Notebook 7, Voilà)
draws the widget; a viewer without widgets shows the PNG. nbconvert's HTML export picks the
widget view only when the notebook carries saved widget state (``nbclient`` saves it by
default); ``STATIC_DISPLAY_PRIORITY`` is an nbconvert ``display_data_priority`` that prefers the
PNG in that case too.
"""

from __future__ import annotations

import base64
import functools
import html
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ipyevents
import ipywidgets
import numpy as np
import torch
from IPython.display import display
from matplotlib.backends.backend_agg import FigureCanvasAgg

from aelib import data, dimensionality, evaluation, likelihood, plotting
from aelib._checks import check_array, check_extent, check_float, check_int
from aelib.models import LatentModel

__all__ = [
    "DECODED_PIXELS", "DEFAULT_DATA", "STATIC_DISPLAY_PRIORITY", "WIDGET_VIEW_MIMETYPE",
    "DimensionExplorer", "DimensionView", "LatentExplorer", "LatentMap", "LikelihoodExplorer",
    "LikelihoodView", "code_extent", "decode_grid", "decode_point", "decode_points",
    "dimension_view", "dimension_widget", "display_with_fallback", "encode_png",
    "fallback_bundle", "image_shape", "interpolate_codes", "latent_map", "latent_widget",
    "likelihood_view", "likelihood_widget", "render_dimension", "render_likelihood",
    "render_map", "render_snapshot",
]

WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"

#: nbconvert's default HTML order, with the widget view moved after the images: pass it as
#: ``NbConvertBase.display_data_priority`` to export the PNG of ``display_with_fallback`` even
#: when the notebook holds saved widget state (which would otherwise win and need JavaScript).
STATIC_DISPLAY_PRIORITY = (
    "application/javascript", "text/html", "text/markdown", "image/svg+xml",
    "text/vnd.mermaid", "text/latex", "image/png", "image/jpeg", WIDGET_VIEW_MIMETYPE,
    "text/plain",
)

#: The few observations of the likelihood explorer (notebook 01).
DEFAULT_DATA = (-0.9, 0.3, 0.8, 1.4, 2.6)

_SLIDER_STYLE = {"description_width": "initial"}


# --------------------------------------------------------------------------- static fallback

def fallback_bundle(widget: ipywidgets.Widget, fallback_png: bytes) -> dict[str, object]:
    """The mime bundle ``display_with_fallback`` publishes: widget view, PNG and plain text.

    ``application/vnd.jupyter.widget-view+json`` names the widget's model (version 2.0, as
    ipywidgets 8 does itself); ``image/png`` holds ``fallback_png`` base64-encoded.
    """
    if not isinstance(widget, ipywidgets.Widget):
        raise TypeError(f"widget must be an ipywidgets Widget, got {type(widget).__name__}")
    if widget.comm is None:
        raise ValueError("widget has been closed; create a new one to display it")
    if not isinstance(fallback_png, (bytes, bytearray, memoryview)):
        raise TypeError(f"fallback_png must be PNG bytes, got {type(fallback_png).__name__}")
    fallback_png = bytes(fallback_png)  # an Image widget's value is a memoryview
    if not fallback_png.startswith(plotting.PNG_SIGNATURE):
        raise ValueError("fallback_png must be PNG bytes (starting with the PNG signature); "
                         "use plotting.fig_to_png(fig) or the explorer's image.value")
    return {
        WIDGET_VIEW_MIMETYPE: {"model_id": widget.model_id, "version_major": 2,
                               "version_minor": 0},
        "image/png": base64.b64encode(fallback_png).decode("ascii"),
        "text/plain": (f"<{type(widget).__name__}: an interactive widget; run the notebook "
                       "in JupyterLab or Voilà to use it>"),
    }


def display_with_fallback(widget: ipywidgets.Widget, fallback_png: bytes) -> None:
    """Display ``widget`` live where widgets run, and ``fallback_png`` where they do not.

    Publishes ONE output with both representations (see ``fallback_bundle``); each front end
    picks the richest one it can render.
    """
    display(fallback_bundle(widget, fallback_png), raw=True)


# --------------------------------------------------------------------------- notebook 01

@dataclass(frozen=True)
class LikelihoodView:
    """What the likelihood explorer shows for one (mu, sigma).

    ``data``: (n,) observations. ``point_nll``: (n,) values -log N(y_i; mu, sigma²), from
    ``aelib.likelihood.gaussian_nll``; ``nll`` their sum. ``mu_grid`` and ``nll_over_mu``: (m,)
    the total NLL as a function of mu at this sigma. ``mle_mu``, ``mle_sigma``: the maximum
    likelihood estimates (sample mean and the standard deviation with divisor n).
    """

    data: np.ndarray
    mu: float
    sigma: float
    point_nll: np.ndarray
    nll: float
    mu_grid: np.ndarray
    nll_over_mu: np.ndarray
    mle_mu: float
    mle_sigma: float


def likelihood_view(data: Sequence[float], mu: float, sigma: float, *,
                    mu_range: tuple[float, float] = (-3.0, 3.0)) -> LikelihoodView:
    """Compute the likelihood explorer's numbers for ``data`` (n,) under N(mu, sigma²)."""
    data = check_array(data, "data", ndim=1).astype(np.float64)
    mu = check_float(mu, "mu")
    sigma = check_float(sigma, "sigma", minimum=0.0, open_low=True)
    low = check_float(mu_range[0], "mu_range[0]")
    high = check_float(mu_range[1], "mu_range[1]")
    if high <= low:
        raise ValueError(f"mu_range must have low < high, got {mu_range!r}")
    target = torch.from_numpy(data)
    point_nll = likelihood.gaussian_nll(target, torch.full_like(target, mu), sigma).numpy()
    mu_grid = np.linspace(low, high, 241)
    # One "sample" per candidate mu with the n observations as its features: (m,) sums.
    targets = target.expand(len(mu_grid), -1)
    means = torch.from_numpy(mu_grid)[:, None].expand_as(targets)
    nll_over_mu = likelihood.gaussian_nll(targets, means, sigma).numpy()
    return LikelihoodView(data=data, mu=mu, sigma=sigma, point_nll=point_nll,
                          nll=float(point_nll.sum()), mu_grid=mu_grid, nll_over_mu=nll_over_mu,
                          mle_mu=float(data.mean()), mle_sigma=float(data.std()))


def render_likelihood(view: LikelihoodView, *, dpi: int = 80) -> bytes:
    """PNG of ``view``: the density with each point's likelihood, and the NLL against mu."""
    if not isinstance(view, LikelihoodView):
        raise TypeError(f"view must be a LikelihoodView, got {type(view).__name__}")
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


class LikelihoodExplorer(ipywidgets.VBox):
    """Sliders for mu and sigma over a few fixed observations; the picture and NLL follow.

    Attributes: ``mu_slider``, ``sigma_slider`` (FloatSlider), ``readout`` (HTML with the NLL),
    ``image`` (Image, PNG), ``view`` (the current ``LikelihoodView``).
    """

    def __init__(self, data: Sequence[float] = DEFAULT_DATA, *, mu: float = 0.0,
                 sigma: float = 1.0, mu_range: tuple[float, float] = (-3.0, 3.0),
                 sigma_range: tuple[float, float] = (0.2, 3.0)) -> None:
        self.data = check_array(data, "data", ndim=1).astype(np.float64)
        self.mu_range = mu_range
        low = check_float(sigma_range[0], "sigma_range[0]", minimum=0.0, open_low=True)
        high = check_float(sigma_range[1], "sigma_range[1]")
        if high <= low:
            raise ValueError(f"sigma_range must have low < high, got {sigma_range!r}")
        self.view = likelihood_view(self.data, mu, sigma, mu_range=mu_range)
        if not mu_range[0] <= mu <= mu_range[1]:
            raise ValueError(f"mu must lie in mu_range {mu_range}, got {mu}")
        if not low <= sigma <= high:
            raise ValueError(f"sigma must lie in sigma_range {sigma_range}, got {sigma}")
        self.mu_slider = ipywidgets.FloatSlider(
            value=mu, min=mu_range[0], max=mu_range[1], step=0.05, description="mean μ",
            continuous_update=False, readout_format=".2f", style=_SLIDER_STYLE)
        self.sigma_slider = ipywidgets.FloatSlider(
            value=sigma, min=low, max=high, step=0.05, description="std σ",
            continuous_update=False, readout_format=".2f", style=_SLIDER_STYLE)
        self.readout = ipywidgets.HTML()
        self.image = ipywidgets.Image(format="png")
        super().__init__(children=[ipywidgets.HBox([self.mu_slider, self.sigma_slider]),
                                   self.readout, self.image])
        self._show()
        self.mu_slider.observe(self._update, names="value")
        self.sigma_slider.observe(self._update, names="value")

    def _update(self, _change: dict | None = None) -> None:
        self.view = likelihood_view(self.data, self.mu_slider.value, self.sigma_slider.value,
                                    mu_range=self.mu_range)
        self._show()

    def _show(self) -> None:
        view = self.view
        self.readout.value = (
            f"NLL = Σᵢ −log N(yᵢ; μ, σ²) = <b>{view.nll:.3f}</b> at μ = {view.mu:.2f}, "
            f"σ = {view.sigma:.2f} (smallest at μ = {view.mle_mu:.2f}, "
            f"σ = {view.mle_sigma:.2f})")
        self.image.value = render_likelihood(view)


def likelihood_widget(data: Sequence[float] = DEFAULT_DATA, *, mu: float = 0.0,
                      sigma: float = 1.0) -> LikelihoodExplorer:
    """The μ/σ likelihood explorer of notebook 01 (see ``LikelihoodExplorer``)."""
    return LikelihoodExplorer(data, mu=mu, sigma=sigma)


# --------------------------------------------------------------------------- notebook 02

@dataclass(frozen=True)
class DimensionView:
    """What the dimension explorer shows at dimension ``dim``.

    Scalars at ``dim``: ``occupancy`` (n_observations / n_values**dim), ``distance_ratio``
    (max / min pairwise distance of ``n_points`` uniform points in [0, 1]^dim),
    ``volume_ratio`` (unit ball / cube [-1, 1]^dim), ``shell_fraction`` (share of the volume
    in the outer shell of relative thickness ``epsilon``). ``distances``: (n_points
    (n_points - 1) / 2,) pairwise distances divided by their mean. ``dims``: (max_dim,) 1, 2,
    ... max_dim and the matching curves ``occupancy_curve``, ``ratio_curve``,
    ``volume_curve``, ``shell_curve``.
    """

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
    for array in (dims, occupancy, ratio, volume, shell):
        array.setflags(write=False)
    return dims, occupancy, ratio, volume, shell


def dimension_view(dim: int, *, max_dim: int = 100, n_observations: int = 8,
                   n_values: int = 10, n_points: int = 100, epsilon: float = 0.05,
                   seed: int = 0) -> DimensionView:
    """Compute the dimension explorer's numbers at ``dim`` (1 <= dim <= max_dim).

    The points at dimension d are ``uniform_cube(n_points, d, seed=seed + d)``, so every d
    has its own fixed sample and moving the slider back and forth shows the same picture.
    """
    max_dim = check_int(max_dim, "max_dim", minimum=1, maximum=1000)
    dim = check_int(dim, "dim", minimum=1, maximum=max_dim)
    n_observations = check_int(n_observations, "n_observations", minimum=1)
    n_values = check_int(n_values, "n_values", minimum=2)
    n_points = check_int(n_points, "n_points", minimum=2, maximum=2000)
    epsilon = check_float(epsilon, "epsilon", minimum=0.0, maximum=1.0, open_low=True)
    seed = check_int(seed, "seed", minimum=0)
    dims, occupancy, ratio, volume, shell = _dimension_curves(
        max_dim, n_observations, n_values, n_points, epsilon, seed)
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
    if not isinstance(view, DimensionView):
        raise TypeError(f"view must be a DimensionView, got {type(view).__name__}")
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


class DimensionExplorer(ipywidgets.VBox):
    """A slider over the dimension d; the four panels of ``render_dimension`` follow.

    Attributes: ``dim_slider`` (IntSlider), ``readout`` (HTML with the numbers), ``image``
    (Image, PNG), ``view`` (the current ``DimensionView``).
    """

    def __init__(self, *, dim: int = 2, max_dim: int = 100, n_points: int = 100,
                 epsilon: float = 0.05, seed: int = 0) -> None:
        self._options = {"max_dim": max_dim, "n_points": n_points, "epsilon": epsilon,
                         "seed": seed}
        self.view = dimension_view(dim, **self._options)
        self.dim_slider = ipywidgets.IntSlider(
            value=dim, min=1, max=max_dim, step=1, description="dimension d",
            continuous_update=False, style=_SLIDER_STYLE,
            layout=ipywidgets.Layout(width="60%"))
        self.readout = ipywidgets.HTML()
        self.image = ipywidgets.Image(format="png")
        super().__init__(children=[self.dim_slider, self.readout, self.image])
        self._show()
        self.dim_slider.observe(self._update, names="value")

    def _update(self, _change: dict | None = None) -> None:
        self.view = dimension_view(self.dim_slider.value, **self._options)
        self._show()

    def _show(self) -> None:
        view = self.view
        self.readout.value = (
            f"d = <b>{view.dim}</b>: occupancy {view.n_observations}/{view.n_values}^d = "
            f"{view.occupancy:.3g} · max/min distance = {view.distance_ratio:.2f} · "
            f"ball/cube volume = {view.volume_ratio:.3g} · share in the outer "
            f"{view.epsilon:.0%} shell = {view.shell_fraction:.3f}")
        self.image.value = render_dimension(view)


def dimension_widget(*, dim: int = 2, max_dim: int = 100, n_points: int = 100,
                     epsilon: float = 0.05, seed: int = 0) -> DimensionExplorer:
    """The dimension explorer of notebook 02 (see ``DimensionExplorer``)."""
    return DimensionExplorer(dim=dim, max_dim=max_dim, n_points=n_points, epsilon=epsilon,
                             seed=seed)


# --------------------------------------------------------------------------- notebook 06
#
# The latent-space explorer follows the same three layers, with one difference: it must answer
# every slider move and every mouse drag at once, and matplotlib needs tens of milliseconds per
# picture. So the pictures that change are drawn without it: ``decode_point`` gives the image
# as an array and ``encode_png`` (zlib only) turns it into PNG bytes in well under a
# millisecond. The latent map is drawn by matplotlib once (``latent_map``); ``render_map``
# then only paints the marker of the current point into a copy of its pixels.

#: Side in screen pixels of a decoded image in the explorer (28 × 28 digits are shown 6×).
DECODED_PIXELS = 168
#: ``decode_points`` decodes at most this many codes on a single thread.
_SINGLE_THREAD_BATCH = 256


def encode_png(image: np.ndarray, *, scale: int = 1, level: int = 1) -> bytes:
    """PNG bytes of a grey ``image`` (h, w) or a colour one (h, w, 3), without matplotlib.

    Floats must lie in [0, 1] (0 black, 1 white) and are rounded to 8 bits; uint8 is taken as
    is. ``scale``: every pixel becomes a ``scale`` × ``scale`` block (nearest neighbour), so a
    28 × 28 digit stays sharp at 168 × 168. ``level``: zlib compression level, 0 to 9 (1 is
    fast and, for these pictures, nearly as small as 9). Every row uses PNG filter 0 (none).
    """
    image = check_array(image, "image", ndim=(2, 3))
    if image.ndim == 3 and image.shape[2] != 3:
        raise ValueError(f"image must be (h, w) grey or (h, w, 3) RGB, got shape {image.shape}")
    scale = check_int(scale, "scale", minimum=1, maximum=64)
    level = check_int(level, "level", minimum=0, maximum=9)
    if image.dtype != np.uint8:
        if image.dtype.kind != "f" or image.min() < 0.0 or image.max() > 1.0:
            raise ValueError("image must be uint8, or floats in [0, 1]; got dtype "
                             f"{image.dtype} with values from {image.min()} to {image.max()}")
        image = np.rint(image * 255.0).astype(np.uint8)
    if scale > 1:
        image = image.repeat(scale, axis=0).repeat(scale, axis=1)
    height, width = image.shape[:2]
    rows = np.zeros((height, 1 + image[0].size), dtype=np.uint8)   # byte 0: filter type 0
    rows[:, 1:] = image.reshape(height, -1)
    colour_type = 0 if image.ndim == 2 else 2                      # grey or RGB, 8 bits each

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload)))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (plotting.PNG_SIGNATURE + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), level)) + chunk(b"IEND", b""))


def _check_latent_model(model: object, name: str = "model") -> LatentModel:
    if not isinstance(model, LatentModel):
        raise TypeError(f"{name} must be an aelib Autoencoder or VAE, got {type(model).__name__}")
    return model


def image_shape(model: LatentModel) -> tuple[int, int]:
    """(h, w) of the square images ``model`` decodes: input_dim must be a square number."""
    model = _check_latent_model(model)
    side = math.isqrt(model.config.input_dim)
    if side * side != model.config.input_dim:
        raise ValueError(f"model must decode square images; input_dim = "
                         f"{model.config.input_dim} is not a square number")
    return side, side


def decode_points(model: LatentModel, codes: np.ndarray) -> np.ndarray:
    """The images (n, h, w) that ``model`` decodes from ``codes`` (n, latent_dim).

    Each image is the mean of p(x | z) (``model.decode``), float32; for a Bernoulli decoder its
    values lie in [0, 1]. Runs without gradients and leaves the model's mode as it was. Up to
    ``_SINGLE_THREAD_BATCH`` codes are decoded on one thread: for so small a product, splitting
    it over threads costs more in synchronisation than it saves, most of all on a busy CPU
    (a slider move then takes tens of milliseconds instead of a fraction of one).
    """
    model = _check_latent_model(model)
    codes = check_array(codes, "codes", ndim=2)
    if codes.shape[1] != model.config.latent_dim:
        raise ValueError(f"codes must have latent_dim = {model.config.latent_dim} columns, "
                         f"got shape {codes.shape}")
    height, width = image_shape(model)
    dtype = model.decoder[-1].weight.dtype
    was_training = model.training
    threads = torch.get_num_threads()
    model.eval()
    try:
        if len(codes) <= _SINGLE_THREAD_BATCH:
            torch.set_num_threads(1)
        with torch.inference_mode():
            flat = model.decode(torch.as_tensor(codes, dtype=dtype))
    finally:
        torch.set_num_threads(threads)
        model.train(was_training)
    return flat.numpy().astype(np.float32, copy=False).reshape(len(codes), height, width)


def decode_point(model: LatentModel, z: Sequence[float] | np.ndarray) -> np.ndarray:
    """The image (h, w) that ``model`` decodes from one code ``z`` (latent_dim,)."""
    z = check_array(z, "z", ndim=1)
    return decode_points(model, z[None, :])[0]


def decode_grid(model: LatentModel, extent: tuple[float, float, float, float],
                rows: int, cols: int) -> np.ndarray:
    """Images (rows, cols, h, w) decoded from ``plotting.latent_grid(extent, rows, cols)``.

    Tile (r, c) comes from z₁ = linspace(x_min, x_max, cols)[c], z₂ = linspace(y_max, y_min,
    rows)[r]; pass the result to ``plotting.plot_image_grid(..., extent=extent)``.
    """
    model = _check_latent_model(model)
    if model.config.latent_dim != 2:
        raise ValueError(f"model must have a 2-D latent space to decode a grid, got "
                         f"latent_dim = {model.config.latent_dim}")
    grid = plotting.latent_grid(extent, rows, cols)
    images = decode_points(model, grid.reshape(-1, 2))
    return images.reshape(grid.shape[0], grid.shape[1], *images.shape[1:])


def interpolate_codes(z_a: Sequence[float] | np.ndarray, z_b: Sequence[float] | np.ndarray,
                      t: float) -> np.ndarray:
    """The point (1 - t) z_a + t z_b on the straight line between two codes, t in [0, 1]."""
    z_a = check_array(z_a, "z_a", ndim=1).astype(np.float64)
    z_b = check_array(z_b, "z_b", ndim=1).astype(np.float64)
    if z_a.shape != z_b.shape:
        raise ValueError(f"z_a and z_b must have the same shape, got {z_a.shape} and {z_b.shape}")
    t = check_float(t, "t", minimum=0.0, maximum=1.0)
    return (1.0 - t) * z_a + t * z_b


def code_extent(codes: np.ndarray, *, margin: float = 0.08) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) holding every 2-D code (n, 2), widened by ``margin`` of
    each side's span (at least 1e-3, so that identical codes still get an area)."""
    codes = check_array(codes, "codes", ndim=2)
    if codes.shape[1] != 2:
        raise ValueError(f"codes must have shape (n, 2), got {codes.shape}")
    margin = check_float(margin, "margin", minimum=0.0, maximum=1.0)
    low, high = codes.min(axis=0).astype(float), codes.max(axis=0).astype(float)
    pad = np.maximum((high - low) * margin, 1e-3)
    return (float(low[0] - pad[0]), float(high[0] + pad[0]), float(low[1] - pad[1]),
            float(high[1] + pad[1]))


@dataclass(frozen=True)
class LatentMap:
    """A scatter of 2-D codes rendered once to pixels, and where its axes lie in them.

    ``pixels``: (H, W, 3) uint8 RGB, row 0 at the top. ``extent``: (x_min, x_max, y_min,
    y_max), the latent coordinates the axes show. ``box``: (left, top, right, bottom), the
    edges of the axes area in pixel units (columns and rows of ``pixels``), so that a pixel of a
    mouse click converts to a code (``to_latent``) and a code to a pixel (``to_pixel``).
    """

    pixels: np.ndarray
    extent: tuple[float, float, float, float]
    box: tuple[float, float, float, float]

    def to_pixel(self, z: Sequence[float] | np.ndarray) -> tuple[float, float]:
        """(column, row) in ``pixels`` of the code ``z`` = (z₁, z₂); outside the box if z lies
        outside ``extent``."""
        z1, z2 = (check_float(v, f"z[{i}]") for i, v in enumerate(_pair(z, "z")))
        x_min, x_max, y_min, y_max = self.extent
        left, top, right, bottom = self.box
        return (left + (z1 - x_min) / (x_max - x_min) * (right - left),
                bottom - (z2 - y_min) / (y_max - y_min) * (bottom - top))

    def to_latent(self, column: float, row: float) -> tuple[float, float]:
        """The code (z₁, z₂) at pixel (``column``, ``row``) of ``pixels``."""
        column, row = check_float(column, "column"), check_float(row, "row")
        x_min, x_max, y_min, y_max = self.extent
        left, top, right, bottom = self.box
        return (x_min + (column - left) / (right - left) * (x_max - x_min),
                y_min + (bottom - row) / (bottom - top) * (y_max - y_min))

    def contains(self, z: Sequence[float] | np.ndarray) -> bool:
        """Whether the code ``z`` lies within ``extent``."""
        z1, z2 = _pair(z, "z")
        x_min, x_max, y_min, y_max = self.extent
        return bool(x_min <= z1 <= x_max and y_min <= z2 <= y_max)


def _pair(z: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    z = check_array(z, name, ndim=1)
    if z.shape != (2,):
        raise ValueError(f"{name} must be a 2-D code (z₁, z₂), got shape {z.shape}")
    return z.astype(np.float64)


def latent_map(codes: np.ndarray, labels: np.ndarray, *, title: str,
               extent: tuple[float, float, float, float] | None = None,
               class_names: Sequence[str] | None = None, width: float = 4.6,
               height: float = 3.8, dpi: int = 80) -> LatentMap:
    """Draw the codes (n, 2) coloured by ``labels`` (n,) with ``plotting.plot_codes`` once and
    keep the pixels (``width`` × ``height`` inches at ``dpi``) with the axes' position.

    ``extent`` defaults to ``code_extent(codes)``. The result is the background that
    ``render_map`` marks the current point on.
    """
    extent = code_extent(codes) if extent is None else check_extent(extent)
    dpi = check_int(dpi, "dpi", minimum=10, maximum=600)
    fig, axes = plotting.panels(1, width=width, height=height)
    ax = axes[0]
    plotting.plot_codes(codes, labels, ax=ax, title=title, class_names=class_names,
                        point_size=5.0)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[:, :, :3].copy()
    rows = pixels.shape[0]
    bbox = ax.get_window_extent()
    box = (float(bbox.x0), float(rows - bbox.y1), float(bbox.x1), float(rows - bbox.y0))
    pixels.setflags(write=False)
    return LatentMap(pixels=pixels, extent=extent, box=box)


def _paint_marker(pixels: np.ndarray, column: float, row: float, *, inside: bool) -> None:
    """Paint a ring marker centred at (column, row) into ``pixels`` (H, W, 3) in place, with
    cross-hairs to the axes edges when ``inside``."""
    height, width = pixels.shape[:2]
    c, r = int(round(column)), int(round(row))
    radius, reach = 7, 10
    rs, cs = slice(max(r - reach, 0), min(r + reach + 1, height)), slice(
        max(c - reach, 0), min(c + reach + 1, width))
    yy, xx = np.mgrid[rs, cs]
    distance = np.hypot(yy - row, xx - column)
    window = pixels[rs, cs]
    window[(distance >= radius - 1.5) & (distance <= radius + 1.5)] = (0, 0, 0)
    window[(distance >= radius - 3.5) & (distance < radius - 1.5)] = (255, 255, 255)
    if not inside:
        window[(distance > radius + 1.5) & (distance <= radius + 3)] = (214, 39, 40)


def render_map(latent: LatentMap, z: Sequence[float] | np.ndarray, *, level: int = 1) -> bytes:
    """PNG of ``latent`` with a ring at the code ``z``: black and white, with grey cross-hairs
    across the axes; a code outside the map is shown at the nearest edge, ringed in red."""
    if not isinstance(latent, LatentMap):
        raise TypeError(f"latent must be a LatentMap, got {type(latent).__name__}")
    inside = latent.contains(z)
    column, row = latent.to_pixel(z)
    left, top, right, bottom = latent.box
    column, row = min(max(column, left), right - 1), min(max(row, top), bottom - 1)
    pixels = latent.pixels.copy()
    if inside:
        c, r = int(round(column)), int(round(row))
        rows, cols = slice(int(math.ceil(top)), int(bottom)), slice(int(math.ceil(left)),
                                                                     int(right))
        pixels[rows, c] = pixels[rows, c] // 2 + 64      # darken: visible on white and colour
        pixels[r, cols] = pixels[r, cols] // 2 + 64
    _paint_marker(pixels, column, row, inside=inside)
    return encode_png(pixels, level=level)


def render_snapshot(codes: Mapping[str, np.ndarray], labels: np.ndarray,
                    decoded: Mapping[str, np.ndarray], z: Sequence[float] | np.ndarray, *,
                    extents: Mapping[str, tuple[float, float, float, float]] | None = None,
                    class_names: Sequence[str] | None = None, dpi: int = 72) -> bytes:
    """The explorer as one static PNG (matplotlib): per model its map of ``codes[name]`` (n, 2)
    with the point ``z`` marked, and the image ``decoded[name]`` (h, w) decoded there."""
    if not isinstance(codes, Mapping) or not codes:
        raise ValueError("codes must be a non-empty dict of model name -> codes (n, 2)")
    if not isinstance(decoded, Mapping) or set(decoded) != set(codes):
        raise ValueError(f"decoded must hold one image per model of codes: {sorted(codes)}")
    z = _pair(z, "z")
    fig, axes = plotting.panels(2 * len(codes), title=f"Decoded at z = ({z[0]:.2f}, "
                                f"{z[1]:.2f})", width=3.6, height=3.2)
    for k, (name, model_codes) in enumerate(codes.items()):
        map_ax, image_ax = axes[2 * k], axes[2 * k + 1]
        plotting.plot_codes(model_codes, labels, ax=map_ax, title=f"{name}: codes",
                            class_names=class_names, point_size=4.0)
        extent = (extents or {}).get(name) or code_extent(model_codes)
        map_ax.set_xlim(extent[0], extent[1])
        map_ax.set_ylim(extent[2], extent[3])
        map_ax.plot([z[0]], [z[1]], marker="o", markersize=10, markerfacecolor="none",
                    markeredgecolor="black", markeredgewidth=2, linestyle="", label="z")
        image = check_array(decoded[name], f"decoded[{name!r}]", ndim=2)
        image_ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        image_ax.set(title=f"{name}: decoded at z", xticks=[], yticks=[])
    return plotting.fig_to_png(fig, dpi=dpi)


def _as_labelled_images(images: object, labels: object) -> tuple[torch.Tensor, np.ndarray]:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor (n, input_dim), got "
                        f"{type(images).__name__}; use dataset.to_tensor()")
    labels = check_array(labels, "labels", ndim=1)
    if len(labels) != len(images):
        raise ValueError(f"labels must have one entry per image ({len(images)}), "
                         f"got {len(labels)}")
    return images, labels


class LatentExplorer(ipywidgets.VBox):
    """Move through a 2-D latent space and watch what each model decodes there.

    ``models``: {name: model}, e.g. {"AE": ae, "VAE": vae}, each with a 2-D latent space and the
    same input size. ``images`` (n, input_dim) in [0, 1] and ``labels`` (n,): the test images
    whose codes make each model's map and that the interpolation row picks from.

    Controls, shared by all models: the sliders ``z1_slider`` and ``z2_slider``; a click or a
    drag on any model's map (``map_images[name]``), which moves both sliders there; and the
    interpolation row: two test images (``index_a``, ``index_b``) and ``t_slider``, each model
    decoding (1 - t) z_a + t z_b between its own codes of the two images. Outputs:
    ``decoded_images[name]`` and ``interpolated_images[name]`` (Image, PNG), and the arrays
    behind them, ``decoded[name]`` and ``interpolated[name]`` (h, w).

    Mouse events come from ipyevents (``ipyevents.Event`` on each map image): plain
    ipywidgets has no click position on an Image. ipyevents reports the position in the image's
    own pixels (``dataX``, ``dataY``) whatever size the browser draws it at, and it is a
    front-end extension installed with the Python package, so it works offline in JupyterLab 4,
    Notebook 7 and Voilà. ``handle_map_event(name, event)`` takes the event dict it sends, so
    tests drive the map without a browser.
    """

    def __init__(self, models: Mapping[str, LatentModel], images: torch.Tensor,
                 labels: np.ndarray, *, class_names: Sequence[str] | None = None,
                 z: Sequence[float] = (0.0, 0.0), index_a: int = 0, index_b: int = 1,
                 t: float = 0.5, map_dpi: int = 80) -> None:
        if not isinstance(models, Mapping) or not 1 <= len(models) <= 3:
            raise ValueError("models must be a dict of one to three name -> model")
        for name, model in models.items():
            _check_latent_model(model, f"models[{name!r}]")
            if model.config.latent_dim != 2:
                raise ValueError(f"models[{name!r}] must have a 2-D latent space, got "
                                 f"latent_dim = {model.config.latent_dim}")
        images, labels = _as_labelled_images(images, labels)
        self.models = dict(models)
        self.labels = labels
        self.class_names = tuple(class_names) if class_names is not None else None
        self._pixels = images.numpy().reshape(len(images), *image_shape(
            next(iter(models.values()))))
        self.codes = {name: evaluation.encode_dataset(model, images).numpy().astype(np.float64)
                      for name, model in self.models.items()}
        self.maps = {name: latent_map(codes, labels, title=f"{name}: codes of test images",
                                      class_names=self.class_names, dpi=map_dpi)
                     for name, codes in self.codes.items()}
        self.bounds = (min(m.extent[0] for m in self.maps.values()),
                       max(m.extent[1] for m in self.maps.values()),
                       min(m.extent[2] for m in self.maps.values()),
                       max(m.extent[3] for m in self.maps.values()))
        z = self._clamp(_pair(z, "z"))
        side = self._pixels.shape[1]
        self.scale = max(1, DECODED_PIXELS // side)
        n = len(images)
        index_a = check_int(index_a, "index_a", minimum=0, maximum=n - 1)
        index_b = check_int(index_b, "index_b", minimum=0, maximum=n - 1)
        t = check_float(t, "t", minimum=0.0, maximum=1.0)

        x_min, x_max, y_min, y_max = self.bounds
        self.z1_slider = ipywidgets.FloatSlider(
            value=z[0], min=x_min, max=x_max, step=(x_max - x_min) / 400, description="z₁",
            readout_format=".2f", continuous_update=True, style=_SLIDER_STYLE,
            layout=ipywidgets.Layout(width="420px"))
        self.z2_slider = ipywidgets.FloatSlider(
            value=z[1], min=y_min, max=y_max, step=(y_max - y_min) / 400, description="z₂",
            readout_format=".2f", continuous_update=True, style=_SLIDER_STYLE,
            layout=ipywidgets.Layout(width="420px"))
        self.readout = ipywidgets.HTML()
        self.map_images = {name: ipywidgets.Image(format="png") for name in self.models}
        self.decoded_images = {name: ipywidgets.Image(format="png") for name in self.models}
        self.events = {}
        columns = []
        for name in self.models:
            self.map_images[name].add_class("aelib-latent-map")
            self.decoded_images[name].add_class("aelib-decoded")
            click = ipyevents.Event(source=self.map_images[name],
                                    watched_events=["click", "dragstart"],
                                    prevent_default_action=True)
            drag = ipyevents.Event(source=self.map_images[name], watched_events=["mousemove"],
                                   throttle_or_debounce="throttle", wait=30)
            for event in (click, drag):
                event.on_dom_event(functools.partial(self.handle_map_event, name))
            self.events[name] = (click, drag)
            columns.append(ipywidgets.VBox([
                ipywidgets.HTML(f"<b>{html.escape(name)}</b>: click or drag on the map"),
                ipywidgets.HBox([self.map_images[name], ipywidgets.VBox([
                    ipywidgets.HTML(f"{html.escape(name)} decodes z into"),
                    self.decoded_images[name]])]),
            ]))

        self.index_a = ipywidgets.BoundedIntText(value=index_a, min=0, max=n - 1,
                                                 description="image A", style=_SLIDER_STYLE,
                                                 layout=ipywidgets.Layout(width="160px"))
        self.index_b = ipywidgets.BoundedIntText(value=index_b, min=0, max=n - 1,
                                                 description="image B", style=_SLIDER_STYLE,
                                                 layout=ipywidgets.Layout(width="160px"))
        self.t_slider = ipywidgets.FloatSlider(
            value=t, min=0.0, max=1.0, step=0.02, description="t (A → B)",
            readout_format=".2f", continuous_update=True, style=_SLIDER_STYLE,
            layout=ipywidgets.Layout(width="420px"))
        self.endpoint_images = (ipywidgets.Image(format="png"), ipywidgets.Image(format="png"))
        self.interpolated_images = {name: ipywidgets.Image(format="png")
                                    for name in self.models}
        self.interpolation_readout = ipywidgets.HTML()
        small = ipywidgets.Layout(width=f"{DECODED_PIXELS * 2 // 3}px")

        def captioned(caption: str, image: ipywidgets.Image) -> ipywidgets.VBox:
            image.layout = small
            return ipywidgets.VBox([ipywidgets.HTML(caption), image])

        strip = [captioned("image A", self.endpoint_images[0])]
        for name, image in self.interpolated_images.items():
            image.add_class("aelib-interpolated")
            strip.append(captioned(f"{html.escape(name)} at t", image))
        strip.append(captioned("image B", self.endpoint_images[1]))

        wrap = ipywidgets.Layout(flex_flow="row wrap", align_items="flex-start")
        super().__init__(children=[
            ipywidgets.HBox([self.z1_slider, self.z2_slider], layout=wrap), self.readout,
            ipywidgets.HBox(columns, layout=ipywidgets.Layout(flex_flow="row wrap",
                                                              grid_gap="24px")),
            ipywidgets.HTML("<b>Interpolation</b>: each model decodes the straight line "
                            "between its own codes of two test images"),
            ipywidgets.HBox([self.index_a, self.index_b, self.t_slider], layout=wrap),
            self.interpolation_readout, ipywidgets.HBox(strip, layout=wrap),
        ])
        self.add_class("aelib-latent-explorer")
        self._holding = False
        self._show_point()
        self._show_endpoints()
        self._show_interpolation()
        self.z1_slider.observe(self._on_point, names="value")
        self.z2_slider.observe(self._on_point, names="value")
        self.index_a.observe(self._on_endpoints, names="value")
        self.index_b.observe(self._on_endpoints, names="value")
        self.t_slider.observe(self._on_interpolation, names="value")

    # -- state
    @property
    def z(self) -> np.ndarray:
        """The current point (z₁, z₂), shape (2,)."""
        return np.array([self.z1_slider.value, self.z2_slider.value])

    def _clamp(self, z: np.ndarray) -> np.ndarray:
        x_min, x_max, y_min, y_max = self.bounds
        return np.array([min(max(z[0], x_min), x_max), min(max(z[1], y_min), y_max)])

    def set_point(self, z1: float, z2: float) -> None:
        """Move both sliders to (z1, z2), clamped to their range and rounded to their step (as
        the sliders show it), and update once."""
        z = self._clamp(np.array([check_float(z1, "z1"), check_float(z2, "z2")]))
        for k, slider in enumerate((self.z1_slider, self.z2_slider)):
            steps = round((z[k] - slider.min) / slider.step)
            z[k] = min(slider.min + steps * slider.step, slider.max)
        self._holding = True
        try:
            self.z1_slider.value, self.z2_slider.value = float(z[0]), float(z[1])
        finally:
            self._holding = False
        self._show_point()

    def handle_map_event(self, name: str, event: Mapping[str, object]) -> None:
        """React to an ipyevents mouse event on the map of model ``name``: a click, or a move
        with the main button held (a drag), sets the point to the code under the mouse.

        ``event`` needs ``type`` and ``dataX``, ``dataY`` (position in the map's pixels);
        without those, ``relativeX``/``relativeY`` and ``boundingRectWidth``/``Height`` (the
        position on the page and the drawn size) are used.
        """
        if name not in self.maps:
            raise ValueError(f"name must be one of {sorted(self.maps)}, got {name!r}")
        if not isinstance(event, Mapping) or "type" not in event:
            raise TypeError("event must be an ipyevents event dict with a 'type'")
        kind = event["type"]
        if kind not in ("click", "mousemove"):
            return
        if kind == "mousemove" and not int(event.get("buttons", 0) or 0) & 1:
            return
        latent = self.maps[name]
        if "dataX" in event and "dataY" in event:
            column, row = float(event["dataX"]), float(event["dataY"])
        else:
            height, width = latent.pixels.shape[:2]
            column = float(event["relativeX"]) * width / float(event["boundingRectWidth"])
            row = float(event["relativeY"]) * height / float(event["boundingRectHeight"])
        self.set_point(*latent.to_latent(column, row))

    # -- updates
    def _on_point(self, _change: dict | None = None) -> None:
        if not self._holding:
            self._show_point()

    def _on_endpoints(self, _change: dict | None = None) -> None:
        self._show_endpoints()
        self._show_interpolation()

    def _on_interpolation(self, _change: dict | None = None) -> None:
        self._show_interpolation()

    def _show_point(self) -> None:
        z = self.z
        self.decoded = {name: decode_point(model, z) for name, model in self.models.items()}
        outside = []
        for name, latent in self.maps.items():
            self.decoded_images[name].value = encode_png(self.decoded[name], scale=self.scale)
            self.map_images[name].value = render_map(latent, z)
            if not latent.contains(z):
                outside.append(name)
        note = (f" — outside the codes of {', '.join(outside)} (red ring at the edge)"
                if outside else "")
        self.readout.value = f"z = (<b>{z[0]:.2f}</b>, <b>{z[1]:.2f}</b>){note}"

    def _show_endpoints(self) -> None:
        scale = max(1, (DECODED_PIXELS * 2 // 3) // self._pixels.shape[1])
        for image, index in zip(self.endpoint_images, (self.index_a.value, self.index_b.value),
                                strict=True):
            image.value = encode_png(np.clip(self._pixels[index], 0.0, 1.0), scale=scale)

    def _show_interpolation(self) -> None:
        a, b, t = self.index_a.value, self.index_b.value, self.t_slider.value
        scale = max(1, (DECODED_PIXELS * 2 // 3) // self._pixels.shape[1])
        self.interpolated = {}
        for name, model in self.models.items():
            z_t = interpolate_codes(self.codes[name][a], self.codes[name][b], t)
            self.interpolated[name] = decode_point(model, z_t)
            self.interpolated_images[name].value = encode_png(self.interpolated[name],
                                                              scale=scale)
        names = self.class_names or tuple(str(c) for c in range(int(self.labels.max()) + 1))
        self.interpolation_readout.value = (
            f"from test image {a} (class {html.escape(names[self.labels[a]])}) to test image "
            f"{b} (class {html.escape(names[self.labels[b]])}), t = {t:.2f}")

    def fallback_png(self, *, dpi: int = 72) -> bytes:
        """The maps and decoded images at the current point as one static PNG, for viewers
        without widgets (see ``display_with_fallback``)."""
        return render_snapshot(self.codes, self.labels, self.decoded, self.z,
                               extents={name: m.extent for name, m in self.maps.items()},
                               class_names=self.class_names, dpi=dpi)


def latent_widget(models: Mapping[str, LatentModel], dataset: data.ImageDataset, *,
                  z: Sequence[float] = (0.0, 0.0), index_a: int = 0,
                  index_b: int = 1) -> LatentExplorer:
    """The latent-space explorer of notebook 06 over the test images of ``dataset``.

        explorer = widgets.latent_widget({"AE": ae, "VAE": vae}, test)
        widgets.display_with_fallback(explorer, explorer.fallback_png())
    """
    if not isinstance(dataset, data.ImageDataset):
        raise TypeError(f"dataset must be an aelib ImageDataset, got {type(dataset).__name__}")
    return LatentExplorer(models, dataset.to_tensor(), dataset.labels,
                          class_names=dataset.class_names, z=z, index_a=index_a,
                          index_b=index_b)
