"""The explorers of notebooks 01, 02 and 06: a thin ipywidgets layer over ``aelib.views``.

Each explorer is a ``VBox`` whose controls re-render an ``Image`` through ``observe``; tests
drive it without a browser (set ``explorer.mu_slider.value``, read ``explorer.image.value``).

``display_with_fallback(explorer, explorer.image.value)`` publishes ONE output holding the
widget view and a PNG: JupyterLab, Notebook 7 and Voilà draw the widget, other viewers the PNG.
nbconvert prefers the widget view when widget state is saved, so ``scripts/build_site.py`` gives
it a display priority that prefers the PNG.
"""

from __future__ import annotations

import base64
import functools
import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipyevents
import ipywidgets
import numpy as np
import torch
from IPython.display import display

from aelib import data, evaluation, plotting, views
from aelib._checks import Check, array, instance, integer, real, seed, validate
from aelib.models import LatentModel

WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
_STYLE = {"description_width": "initial"}


def _png(value: Any, name: str, _: Any = None) -> bytes:
    value = bytes(value)  # an Image widget's value is a memoryview
    if not value.startswith(plotting.PNG_SIGNATURE):
        raise ValueError(f"{name} must be PNG bytes, got bytes starting {value[:8]!r}")
    return value


@validate(widget=instance(ipywidgets.Widget, "an ipywidgets Widget"), fallback_png=_png)
def fallback_bundle(widget: ipywidgets.Widget, fallback_png: bytes) -> dict[str, object]:
    """What ``display_with_fallback`` publishes: the widget's view, the PNG (base64), plain text."""
    return {
        WIDGET_VIEW_MIMETYPE: {"model_id": widget.model_id, "version_major": 2, "version_minor": 0},
        "image/png": base64.b64encode(fallback_png).decode("ascii"),
        "text/plain": (f"<{type(widget).__name__}: an interactive widget; run the notebook "
                       "in JupyterLab or Voilà to use it>"),
    }


def display_with_fallback(widget: ipywidgets.Widget, fallback_png: bytes) -> None:
    """Display ``widget`` where widgets run and ``fallback_png`` elsewhere, as ONE output."""
    display(fallback_bundle(widget, fallback_png), raw=True)


def _slider(description: str, value: float, low: float, high: float, step: float, *,
            live: bool = False) -> ipywidgets.FloatSlider:
    """A slider from ``low`` to ``high``; ``live``: wide, and updating while dragged."""
    return ipywidgets.FloatSlider(
        value=value, min=low, max=high, step=step, description=description,
        readout_format=".2f", continuous_update=live, style=_STYLE,
        layout=ipywidgets.Layout(width="420px" if live else None))


# --------------------------------------------------------------------------- notebooks 01, 02

def _within(span: str) -> Check:
    """A number inside the (low, high) argument ``span``."""
    return lambda value, name, args: real(*args[span])(value, name)


class LikelihoodExplorer(ipywidgets.VBox):
    """Sliders ``mu_slider``, ``sigma_slider`` over observations ``data`` (n,); the NLL
    (``readout``), picture (``image``) and ``views.LikelihoodView`` (``view``) follow."""

    @validate(data=array(1), mu=_within("mu_range"), sigma=_within("sigma_range"))
    def __init__(self, data: Sequence[float] = views.DEFAULT_DATA, *, mu: float = 0.0,
                 sigma: float = 1.0, mu_range: tuple[float, float] = (-3.0, 3.0),
                 sigma_range: tuple[float, float] = (0.2, 3.0)) -> None:
        self.data, self.mu_range = data.astype(np.float64), mu_range
        self.mu_slider = _slider("mean μ", mu, *mu_range, 0.05)
        self.sigma_slider = _slider("std σ", sigma, *sigma_range, 0.05)
        self.readout, self.image = ipywidgets.HTML(), ipywidgets.Image(format="png")
        super().__init__(children=[ipywidgets.HBox([self.mu_slider, self.sigma_slider]),
                                   self.readout, self.image])
        self._update()
        self.mu_slider.observe(self._update, names="value")
        self.sigma_slider.observe(self._update, names="value")

    def _update(self, _change: dict | None = None) -> None:
        view = self.view = views.likelihood_view(self.data, self.mu_slider.value,
                                                 self.sigma_slider.value, mu_range=self.mu_range)
        self.readout.value = (
            f"NLL = Σᵢ −log N(yᵢ; μ, σ²) = <b>{view.nll:.3f}</b> at μ = {view.mu:.2f}, "
            f"σ = {view.sigma:.2f} (smallest at μ = {view.mle_mu:.2f}, "
            f"σ = {view.mle_sigma:.2f})")
        self.image.value = views.render_likelihood(view)


class DimensionExplorer(ipywidgets.VBox):
    """A slider over the dimension d (``dim_slider``); the numbers (``readout``), the four
    panels (``image``) and the ``views.DimensionView`` behind them (``view``) follow."""

    @validate(max_dim=integer(1, 1000), dim=integer(1, lambda a: a["max_dim"]),
              n_points=integer(2, 2000), epsilon=real(0.0, 1.0, open_low=True), seed=seed)
    def __init__(self, *, dim: int = 2, max_dim: int = 100, n_points: int = 100,
                 epsilon: float = 0.05, seed: int = 0) -> None:
        self._options = dict(max_dim=max_dim, n_points=n_points, epsilon=epsilon, seed=seed)
        self.dim_slider = ipywidgets.IntSlider(
            value=dim, min=1, max=max_dim, step=1, description="dimension d",
            continuous_update=False, style=_STYLE, layout=ipywidgets.Layout(width="60%"))
        self.readout, self.image = ipywidgets.HTML(), ipywidgets.Image(format="png")
        super().__init__(children=[self.dim_slider, self.readout, self.image])
        self._update()
        self.dim_slider.observe(self._update, names="value")

    def _update(self, _change: dict | None = None) -> None:
        view = self.view = views.dimension_view(self.dim_slider.value, **self._options)
        self.readout.value = (
            f"d = <b>{view.dim}</b>: occupancy {view.n_observations}/{view.n_values}^d = "
            f"{view.occupancy:.3g} · max/min distance = {view.distance_ratio:.2f} · "
            f"ball/cube volume = {view.volume_ratio:.3g} · share in the outer "
            f"{view.epsilon:.0%} shell = {view.shell_fraction:.3f}")
        self.image.value = views.render_dimension(view)


#: The notebooks' names for the explorers of notebooks 01 and 02.
likelihood_widget = LikelihoodExplorer
dimension_widget = DimensionExplorer


# --------------------------------------------------------------------------- notebook 06
#
# Mouse events on the maps come from ipyevents (an Image has no click position): it reports the
# position in the image's own pixels at any drawn size, and works offline (front end included).

#: Width in screen pixels of the images of the interpolation strip.
_STRIP_PIXELS = views.DECODED_PIXELS * 2 // 3


def _image(css_class: str = "") -> ipywidgets.Image:
    image = ipywidgets.Image(format="png")
    return image.add_class(css_class) if css_class else image


def _index_box(description: str, value: int, n: int) -> ipywidgets.BoundedIntText:
    return ipywidgets.BoundedIntText(value=value, min=0, max=n - 1, description=description,
                                     style=_STYLE, layout=ipywidgets.Layout(width="160px"))


def _on_step(slider: ipywidgets.FloatSlider, value: float) -> float:
    """``value`` clamped to the slider's range and rounded to its step, as the slider shows it."""
    steps = round((min(max(value, slider.min), slider.max) - slider.min) / slider.step)
    return float(min(slider.min + steps * slider.step, slider.max))


def _mouse_events(image: ipywidgets.Image,
                  handler: Callable[[dict], None]) -> tuple[ipyevents.Event, ipyevents.Event]:
    """Clicks, and mouse moves (throttled to one per 30 ms), on ``image``, sent to ``handler``."""
    click = ipyevents.Event(source=image, watched_events=["click", "dragstart"],
                            prevent_default_action=True)
    drag = ipyevents.Event(source=image, watched_events=["mousemove"],
                           throttle_or_debounce="throttle", wait=30)
    for event in (click, drag):
        event.on_dom_event(handler)
    return click, drag


def _event_pixel(event: Mapping[str, Any], latent: views.LatentMap) -> tuple[float, float]:
    """(column, row) in ``latent.pixels`` of a mouse event: dataX/dataY, or its scaled place."""
    if "dataX" in event and "dataY" in event:
        return float(event["dataX"]), float(event["dataY"])
    height, width = latent.pixels.shape[:2]
    return (float(event["relativeX"]) * width / float(event["boundingRectWidth"]),
            float(event["relativeY"]) * height / float(event["boundingRectHeight"]))


def _latent_children(e: LatentExplorer) -> list[ipywidgets.Widget]:
    """The layout: z controls; per model its map beside its decoded image; interpolation."""
    wrap = ipywidgets.Layout(flex_flow="row wrap", align_items="flex-start")
    columns = [ipywidgets.VBox([
        ipywidgets.HTML(f"<b>{html.escape(name)}</b>: click or drag on the map"),
        ipywidgets.HBox([e.map_images[name], ipywidgets.VBox([
            ipywidgets.HTML(f"{html.escape(name)} decodes z into"), e.decoded_images[name]])]),
    ]) for name in e.models]
    strip = [("image A", e.endpoint_images[0]),
             *((f"{html.escape(name)} at t", e.interpolated_images[name]) for name in e.models),
             ("image B", e.endpoint_images[1])]
    for _, image in strip:
        image.layout = ipywidgets.Layout(width=f"{_STRIP_PIXELS}px")
    return [
        ipywidgets.HBox([e.z1_slider, e.z2_slider], layout=wrap), e.readout,
        ipywidgets.HBox(columns, layout=ipywidgets.Layout(flex_flow="row wrap",
                                                          grid_gap="24px")),
        ipywidgets.HTML("<b>Interpolation</b>: each model decodes the straight line "
                        "between its own codes of two test images"),
        ipywidgets.HBox([e.index_a, e.index_b, e.t_slider], layout=wrap),
        e.interpolation_readout,
        ipywidgets.HBox([ipywidgets.VBox([ipywidgets.HTML(caption), image])
                         for caption, image in strip], layout=wrap),
    ]


class LatentExplorer(ipywidgets.VBox):
    """What each of ``models`` ({"AE": ae, ...}) decodes at a 2-D code, over maps of the codes
    of ``images`` (n, input_dim), ``labels`` (n,): ``decoded[name]`` (h, w) at ``z1_slider``,
    ``z2_slider`` (or a click or drag on a map, ``handle_map_event``), and ``interpolated[name]``
    (h, w) at ``t_slider`` on the path from test image ``index_a`` to ``index_b``."""

    def __init__(self, models: Mapping[str, LatentModel], images: torch.Tensor,
                 labels: np.ndarray, *, class_names: Sequence[str] | None = None,
                 z: Sequence[float] = (0.0, 0.0), index_a: int = 0, index_b: int = 1) -> None:
        self.models, self.labels, self.class_names = dict(models), labels, class_names
        side = views.image_shape(next(iter(self.models.values())))[0]
        self._pixels = images.numpy().reshape(len(images), side, side)
        self.codes = {name: evaluation.encode_dataset(model, images).numpy().astype(np.float64)
                      for name, model in self.models.items()}
        self.maps = {name: views.latent_map(codes, labels, title=f"{name}: codes of test images",
                                            class_names=class_names)
                     for name, codes in self.codes.items()}
        self.bounds = tuple(pick(m.extent[k] for m in self.maps.values())
                            for k, pick in enumerate((min, max, min, max)))
        self.scale = max(1, views.DECODED_PIXELS // side)
        self._strip_scale = max(1, _STRIP_PIXELS // side)
        x_min, x_max, y_min, y_max = self.bounds   # the sliders clamp z to them
        self.z1_slider = _slider("z₁", z[0], x_min, x_max, (x_max - x_min) / 400, live=True)
        self.z2_slider = _slider("z₂", z[1], y_min, y_max, (y_max - y_min) / 400, live=True)
        self.index_a = _index_box("image A", index_a, len(images))
        self.index_b = _index_box("image B", index_b, len(images))
        self.t_slider = _slider("t (A → B)", 0.5, 0.0, 1.0, 0.02, live=True)
        self.readout, self.interpolation_readout = ipywidgets.HTML(), ipywidgets.HTML()
        self.map_images = {name: _image("aelib-latent-map") for name in self.models}
        self.decoded_images = {name: _image("aelib-decoded") for name in self.models}
        self.interpolated_images = {name: _image("aelib-interpolated") for name in self.models}
        self.endpoint_images = (_image(), _image())
        self.events = {name: _mouse_events(image, functools.partial(self.handle_map_event, name))
                       for name, image in self.map_images.items()}
        super().__init__(children=_latent_children(self))
        self.add_class("aelib-latent-explorer")
        self._holding = False   # while set_point moves both sliders
        self._show_point()
        self._show_interpolation()
        for control in (self.z1_slider, self.z2_slider):
            control.observe(self._show_point, names="value")
        for control in (self.index_a, self.index_b, self.t_slider):
            control.observe(self._show_interpolation, names="value")

    @property
    def z(self) -> np.ndarray:
        """The current point (z₁, z₂), shape (2,)."""
        return np.array([self.z1_slider.value, self.z2_slider.value])

    def set_point(self, z1: float, z2: float) -> None:
        """Move the sliders to (z1, z2), clamped and rounded to their step, and update once."""
        self._holding = True
        try:
            self.z1_slider.value = _on_step(self.z1_slider, z1)
            self.z2_slider.value = _on_step(self.z2_slider, z2)
        finally:
            self._holding = False
        self._show_point()

    def handle_map_event(self, name: str, event: Mapping[str, Any]) -> None:
        """Set the point to the code under a click or drag on the map of model ``name``."""
        dragging = event["type"] == "mousemove" and int(event.get("buttons", 0) or 0) & 1
        if event["type"] == "click" or dragging:
            latent = self.maps[name]
            self.set_point(*latent.to_latent(*_event_pixel(event, latent)))

    def _show_point(self, _change: dict | None = None) -> None:
        if self._holding:
            return
        z = self.z
        self.decoded = {name: views.decode_point(model, z) for name, model in self.models.items()}
        for name, latent in self.maps.items():
            self.decoded_images[name].value = views.encode_png(self.decoded[name], scale=self.scale)
            self.map_images[name].value = views.render_map(latent, z)
        outside = ", ".join(name for name, m in self.maps.items() if not m.contains(z))
        note = f" — outside the codes of {outside} (red ring at the edge)" if outside else ""
        self.readout.value = f"z = (<b>{z[0]:.2f}</b>, <b>{z[1]:.2f}</b>){note}"

    def _show_interpolation(self, _change: dict | None = None) -> None:
        a, b, t = self.index_a.value, self.index_b.value, self.t_slider.value
        for image, index in zip(self.endpoint_images, (a, b), strict=True):
            image.value = views.encode_png(self._pixels[index], scale=self._strip_scale)
        self.interpolated = {name: views.decode_point(model, views.interpolate_codes(
            self.codes[name][a], self.codes[name][b], t)) for name, model in self.models.items()}
        for name, image in self.interpolated_images.items():
            image.value = views.encode_png(self.interpolated[name], scale=self._strip_scale)
        names = self.class_names or [str(k) for k in range(int(self.labels.max()) + 1)]
        self.interpolation_readout.value = (
            f"from test image {a} (class {html.escape(names[self.labels[a]])}) to test image "
            f"{b} (class {html.escape(names[self.labels[b]])}), t = {t:.2f}")

    def fallback_png(self, *, dpi: int = 72) -> bytes:
        """The maps and decoded images at the current point as one PNG (matplotlib)."""
        return views.render_snapshot(self.codes, self.labels, self.decoded, self.z,
                                     extents={name: m.extent for name, m in self.maps.items()},
                                     class_names=self.class_names, dpi=dpi)


def _latent_models(value: Any, name: str, _: Any = None) -> dict[str, LatentModel]:
    """One to three named aelib models, each with a 2-D latent space."""
    if not isinstance(value, Mapping) or not 1 <= len(value) <= 3:
        raise ValueError(f"{name} must be a dict of one to three name -> model")
    for key, model in value.items():
        instance(LatentModel, "an aelib Autoencoder or VAE")(model, f"{name}[{key!r}]")
        if model.config.latent_dim != 2:
            raise ValueError(f"{name}[{key!r}] must have a 2-D latent space to be explored, got "
                             f"latent_dim = {model.config.latent_dim}")
    return dict(value)


_test_image = integer(0, lambda a: len(a["dataset"]) - 1)


@validate(models=_latent_models, dataset=instance(data.ImageDataset, "an aelib ImageDataset"),
          index_a=_test_image, index_b=_test_image)
def latent_widget(models: Mapping[str, LatentModel], dataset: data.ImageDataset, *,
                  z: Sequence[float] = (0.0, 0.0), index_a: int = 0,
                  index_b: int = 1) -> LatentExplorer:
    """The latent-space explorer of notebook 06 over the test images of ``dataset``.

        explorer = widgets.latent_widget({"AE": ae, "VAE": vae}, test)
        widgets.display_with_fallback(explorer, explorer.fallback_png())
    """
    return LatentExplorer(models, dataset.to_tensor(), dataset.labels,
                          class_names=dataset.class_names, z=z, index_a=index_a,
                          index_b=index_b)
