"""Interactive explorers for notebooks 01 and 02, with a static picture for static viewers.

Each explorer is built in three layers, so that everything but the last can be tested (and
used) without a browser:

1. a pure function computing what to show (``likelihood_view``, ``dimension_view``), which
   returns a frozen dataclass of numbers and arrays;
2. a function rendering that to PNG bytes (``render_likelihood``, ``render_dimension``);
3. a thin ipywidgets 8 layer (``LikelihoodExplorer``, ``DimensionExplorer``: a ``VBox`` whose
   sliders re-render an ``Image`` through ``observe``). Tests drive it by setting
   ``explorer.mu_slider.value`` and reading ``explorer.image.value`` and ``explorer.view``.

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
from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets
import numpy as np
import torch
from IPython.display import display

from aelib import dimensionality, likelihood, plotting
from aelib._checks import check_array, check_float, check_int

__all__ = [
    "DEFAULT_DATA", "STATIC_DISPLAY_PRIORITY", "WIDGET_VIEW_MIMETYPE", "DimensionExplorer",
    "DimensionView", "LikelihoodExplorer", "LikelihoodView", "dimension_view",
    "dimension_widget", "display_with_fallback", "fallback_bundle", "likelihood_view",
    "likelihood_widget", "render_dimension", "render_likelihood",
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
