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
import contextlib
import functools
import html
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
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
#: Width in screen pixels of each image of the conditional explorer's style row.
_STYLE_PIXELS = views.DECODED_PIXELS // 2
#: Width in screen pixels of the frame around each image of the style row.
_STYLE_FRAME = 3


def _image(css_class: str = "") -> ipywidgets.Image:
    image = ipywidgets.Image(format="png")
    return image.add_class(css_class) if css_class else image


def _index_box(description: str, value: int, n: int) -> ipywidgets.BoundedIntText:
    return ipywidgets.BoundedIntText(value=value, min=0, max=n - 1, description=description,
                                     style=_STYLE, layout=ipywidgets.Layout(width="160px"))


def _z_sliders(bounds: plotting.Extent, z: Sequence[float]) -> tuple[ipywidgets.FloatSlider,
                                                                      ipywidgets.FloatSlider]:
    """The z₁ and z₂ sliders over ``bounds`` (x_min, x_max, y_min, y_max), 400 steps each,
    starting at ``z`` (clamped to them)."""
    x_min, x_max, y_min, y_max = bounds
    return (_slider("z₁", z[0], x_min, x_max, (x_max - x_min) / 400, live=True),
            _slider("z₂", z[1], y_min, y_max, (y_max - y_min) / 400, live=True))


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


class _PointExplorer(ipywidgets.VBox):
    """What the two explorers of notebook 06 share: a point z = (z₁, z₂) on ``z1_slider`` and
    ``z2_slider``, moved by a click or drag on one of the latent ``maps`` (name -> LatentMap).
    A subclass draws the point in ``_show_point``."""

    maps: dict[str, views.LatentMap]
    z1_slider: ipywidgets.FloatSlider
    z2_slider: ipywidgets.FloatSlider
    _holding = False   # while several controls move at once: draw once, at the end

    @property
    def z(self) -> np.ndarray:
        """The current point (z₁, z₂), shape (2,)."""
        return np.array([self.z1_slider.value, self.z2_slider.value])

    @contextlib.contextmanager
    def _moving_together(self) -> Iterator[None]:
        """Controls set inside the block (and inside blocks within it) update the views once,
        when it ends."""
        outermost, self._holding = not self._holding, True
        try:
            yield
        finally:
            if outermost:
                self._holding = False
        if outermost:
            self._show_point()

    def set_point(self, z1: float, z2: float) -> None:
        """Move the sliders to (z1, z2), clamped and rounded to their step, and update once."""
        with self._moving_together():
            self.z1_slider.value = _on_step(self.z1_slider, z1)
            self.z2_slider.value = _on_step(self.z2_slider, z2)

    def handle_map_event(self, name: str, event: Mapping[str, Any]) -> None:
        """Set the point to the code under a click or drag on the map of model ``name``."""
        dragging = event["type"] == "mousemove" and int(event.get("buttons", 0) or 0) & 1
        if event["type"] == "click" or dragging:
            latent = self.maps[name]
            self.set_point(*latent.to_latent(*_event_pixel(event, latent)))

    def _show_point(self, _change: dict | None = None) -> None:
        raise NotImplementedError


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


class LatentExplorer(_PointExplorer):
    """What each of ``models`` ({"AE": ae, ...}) decodes at a 2-D code, over maps of the codes
    of ``images`` (n, input_dim), ``labels`` (n,): ``decoded[name]`` (h, w) at ``z1_slider``,
    ``z2_slider`` (or a click or drag on a map, ``handle_map_event``), and ``interpolated[name]``
    (h, w) at ``t_slider`` on the path from test image ``index_a`` to ``index_b``. ``priors``
    ({name: samples (m, 2)}) draws samples of a model's prior faintly beneath its codes. In the
    page it carries the CSS classes ``aelib-latent-explorer`` and one naming its models, e.g.
    ``aelib-explorer-ae-vae``."""

    def __init__(self, models: Mapping[str, LatentModel], images: torch.Tensor,
                 labels: np.ndarray, *, class_names: Sequence[str] | None = None,
                 z: Sequence[float] = (0.0, 0.0), index_a: int = 0, index_b: int = 1,
                 priors: Mapping[str, np.ndarray] | None = None) -> None:
        self.models, self.labels, self.class_names = dict(models), labels, class_names
        self.priors = dict(priors or {})
        side = views.image_shape(next(iter(self.models.values())))[0]
        self._pixels = images.numpy().reshape(len(images), side, side)
        self.codes = {name: evaluation.encode_dataset(model, images).numpy().astype(np.float64)
                      for name, model in self.models.items()}
        self.maps = {name: views.latent_map(
            codes, labels, class_names=class_names, prior=self.priors.get(name),
            title=f"{name}: codes of test images" + (", p(z) in grey" if name in self.priors
                                                     else ""))
            for name, codes in self.codes.items()}
        self.bounds = tuple(pick(m.extent[k] for m in self.maps.values())
                            for k, pick in enumerate((min, max, min, max)))
        self.scale = max(1, views.DECODED_PIXELS // side)
        self._strip_scale = max(1, _STRIP_PIXELS // side)
        self.z1_slider, self.z2_slider = _z_sliders(self.bounds, z)   # clamped to the maps
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
        self.add_class("aelib-explorer-" + "-".join(
            re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") for name in self.models))
        self._show_point()
        self._show_interpolation()
        for control in (self.z1_slider, self.z2_slider):
            control.observe(self._show_point, names="value")
        for control in (self.index_a, self.index_b, self.t_slider):
            control.observe(self._show_interpolation, names="value")

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
                                     class_names=self.class_names, priors=self.priors,
                                     dpi=dpi)


def _conditional_children(e: ConditionalExplorer) -> list[ipywidgets.Widget]:
    """The layout: digit and z controls; the map, the decoded image and the chosen test
    image side by side; the style row under its labels, one label above each image."""
    wrap = ipywidgets.Layout(flex_flow="row wrap", align_items="flex-start", grid_gap="16px")
    side = e._pixels.shape[1]
    for image, width in ((e.decoded_image, side * e.scale), (e.test_image, side * e.scale),
                         (e.style_image, e.style_tile * len(e.class_names))):
        image.layout = ipywidgets.Layout(width=f"{width}px")   # not stretched by its box
    labels = "".join(f'<div style="flex:1;text-align:center">as {html.escape(n)}</div>'
                     for n in e.class_names)
    return [
        e.digit_buttons, ipywidgets.HBox([e.z1_slider, e.z2_slider], layout=wrap), e.readout,
        ipywidgets.HBox([
            ipywidgets.VBox([ipywidgets.HTML(f"<b>{html.escape(e.name)}</b>: click or drag on "
                                             "the map"), e.map_image]),
            ipywidgets.VBox([ipywidgets.HTML("decodes (z, y) into p(x | z, y)"),
                             e.decoded_image]),
            ipywidgets.VBox([e.index_box, e.test_image, e.test_readout]),
        ], layout=wrap),
        ipywidgets.HTML("<b>Style row</b>: the same z decoded with every label (framed: y)"),
        ipywidgets.VBox([ipywidgets.HTML(f'<div style="display:flex">{labels}</div>'),
                         e.style_image], layout=ipywidgets.Layout(width="max-content")),
    ]


class ConditionalExplorer(_PointExplorer):
    """What a ``model`` conditioned on labels (a CVAE) decodes at a 2-D code z and a label y,
    over a map of the codes μ(x, y) of ``images`` (n, input_dim) with their ``labels`` (n,):
    ``decoded`` (h, w) at z = (``z1_slider``, ``z2_slider``) (or a click or drag on the map) and
    y = ``digit_buttons``, and ``styles`` (n_classes, h, w), the same z decoded with every
    label. Choosing test image ``index_box`` sets z to its code μ(x, y) (rounded to the
    sliders' step) and y to its label."""

    def __init__(self, model: LatentModel, images: torch.Tensor, labels: np.ndarray, *,
                 class_names: Sequence[str], index: int = 0, name: str = "CVAE") -> None:
        self.model, self.labels, self.name = model, labels, name
        n_classes = model.config.n_classes
        self.class_names = [*class_names, *map(str, range(len(class_names), n_classes))][
            :n_classes]
        side = views.image_shape(model)[0]
        self._pixels = images.numpy().reshape(len(images), side, side)
        self.codes = evaluation.encode_dataset(
            model, images, torch.from_numpy(labels)).numpy().astype(np.float64)   # μ(x, y)
        latent = views.latent_map(self.codes, labels, title=f"{name}: codes μ(x, y) of test "
                                  "images", class_names=self.class_names)
        self.maps, self.bounds = {name: latent}, latent.extent
        self.scale = max(1, views.DECODED_PIXELS // side)
        self._style_scale = max(1, _STYLE_PIXELS // side)
        self.style_tile = side * self._style_scale + 2 * _STYLE_FRAME  # screen pixels
        self.z1_slider, self.z2_slider = _z_sliders(self.bounds, self.codes[index])
        self.digit_buttons = ipywidgets.ToggleButtons(
            options=[(n, k) for k, n in enumerate(self.class_names)], value=int(labels[index]),
            description="digit y", style={**_STYLE, "button_width": "40px"})
        self.digit_buttons.add_class("aelib-digit-buttons")
        self.index_box = _index_box("test image", index, len(images)).add_class(
            "aelib-test-index")
        self.readout, self.test_readout = ipywidgets.HTML(), ipywidgets.HTML()
        self.map_image, self.test_image = _image("aelib-latent-map"), _image("aelib-test-image")
        self.decoded_image, self.style_image = _image("aelib-decoded"), _image("aelib-style-row")
        self.events = {name: _mouse_events(self.map_image,
                                           functools.partial(self.handle_map_event, name))}
        super().__init__(children=_conditional_children(self))
        self.add_class("aelib-conditional-explorer")
        self._choose_image()
        for control in (self.z1_slider, self.z2_slider, self.digit_buttons):
            control.observe(self._show_point, names="value")
        self.index_box.observe(self._choose_image, names="value")

    @property
    def y(self) -> int:
        """The current label."""
        return int(self.digit_buttons.value)

    def _choose_image(self, _change: dict | None = None) -> None:
        """Show the chosen test image; set y to its label and z to its code μ(x, y)."""
        index = self.index_box.value
        label = self.class_names[self.labels[index]]
        self.test_image.value = views.encode_png(self._pixels[index], scale=self.scale)
        self.test_readout.value = f"test image {index}: {html.escape(label)}, z = μ(x, y)"
        with self._moving_together():
            self.digit_buttons.value = int(self.labels[index])
            self.set_point(*self.codes[index])

    def _show_point(self, _change: dict | None = None) -> None:
        if self._holding:
            return
        z, y = self.z, self.y
        self.styles = views.decode_every_label(self.model, z)      # (n_classes, h, w)
        self.decoded = self.styles[y]                               # p(x | z, y)
        self.decoded_image.value = views.encode_png(self.decoded, scale=self.scale)
        self.style_image.value = views.encode_png(views.image_row(
            self.styles, scale=self._style_scale, frame=_STYLE_FRAME, highlight=y))
        self.map_image.value = views.render_map(self.maps[self.name], z)
        self.readout.value = (f"z = (<b>{z[0]:.2f}</b>, <b>{z[1]:.2f}</b>), "
                              f"y = <b>{html.escape(self.class_names[y])}</b>")

    def fallback_png(self, *, dpi: int = 72) -> bytes:
        """The map, the decoded image and the style row at the current (z, y) as one PNG."""
        return views.render_conditional_snapshot(
            self.codes, self.labels, self.z, self.y, self.styles,
            extent=self.maps[self.name].extent, class_names=self.class_names, name=self.name,
            dpi=dpi)


def _latent_models(value: Any, name: str, _: Any = None) -> dict[str, LatentModel]:
    """One to three named aelib models, each with a 2-D latent space and no labels."""
    if not isinstance(value, Mapping) or not 1 <= len(value) <= 3:
        raise ValueError(f"{name} must be a dict of one to three name -> model")
    for key, model in value.items():
        instance(LatentModel, "an aelib Autoencoder or VAE")(model, f"{name}[{key!r}]")
        if model.config.latent_dim != 2:
            raise ValueError(f"{name}[{key!r}] must have a 2-D latent space to be explored, got "
                             f"latent_dim = {model.config.latent_dim}")
        if model.config.n_classes:
            raise ValueError(f"{name}[{key!r}] is conditioned on labels (n_classes = "
                             f"{model.config.n_classes}): explore it with conditional_widget")
    return dict(value)


def _priors(value: Any, name: str, args: Mapping[str, Any]) -> dict[str, np.ndarray] | None:
    """None, or {model name: samples (m, 2) of its prior}, for some of the models."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict of model name -> samples (m, 2), got "
                        f"{type(value).__name__}")
    unknown = sorted(set(value) - set(args["models"]))
    if unknown:
        raise ValueError(f"{name} has samples for {unknown}, which are not among the models "
                         f"{sorted(args['models'])}")
    checked = {}
    for key, samples in value.items():
        samples = array(2, tensors=True)(samples, f"{name}[{key!r}]")
        if samples.shape[1] != 2:
            raise ValueError(f"{name}[{key!r}] must have 2 columns (z₁, z₂), got shape "
                             f"{samples.shape}")
        checked[key] = samples.astype(np.float64)
    return checked


_test_image = integer(0, lambda a: len(a["dataset"]) - 1)


@validate(models=_latent_models, dataset=instance(data.ImageDataset, "an aelib ImageDataset"),
          index_a=_test_image, index_b=_test_image, priors=_priors)
def latent_widget(models: Mapping[str, LatentModel], dataset: data.ImageDataset, *,
                  z: Sequence[float] = (0.0, 0.0), index_a: int = 0, index_b: int = 1,
                  priors: Mapping[str, np.ndarray | torch.Tensor] | None = None
                  ) -> LatentExplorer:
    """The latent-space explorer of notebook 06 over the test images of ``dataset``;
    ``priors`` ({name: samples (m, 2)}): samples of a model's prior, drawn beneath its codes.

        explorer = widgets.latent_widget({"AE": ae, "VAE": vae}, test)
        widgets.display_with_fallback(explorer, explorer.fallback_png())
    """
    return LatentExplorer(models, dataset.to_tensor(), dataset.labels,
                          class_names=dataset.class_names, z=z, index_a=index_a,
                          index_b=index_b, priors=priors)


def _conditional_model(value: Any, name: str, _: Any = None) -> LatentModel:
    """An aelib model conditioned on labels (a CVAE) with a 2-D latent space."""
    instance(LatentModel, "an aelib model conditioned on labels (a CVAE)")(value, name)
    if not value.config.n_classes:
        raise ValueError(f"{name} must be conditioned on labels (n_classes > 0), got "
                         "n_classes = 0: explore a model without labels with latent_widget")
    if value.config.latent_dim != 2:
        raise ValueError(f"{name} must have a 2-D latent space to be explored, got "
                         f"latent_dim = {value.config.latent_dim}")
    views.image_shape(value)   # square images
    return value


def _dataset_for(model: str) -> Check:
    """An ImageDataset whose images and labels the model in argument ``model`` takes."""
    def check(value: Any, name: str, args: Mapping[str, Any]) -> data.ImageDataset:
        instance(data.ImageDataset, "an aelib ImageDataset")(value, name)
        config = args[model].config
        height, width = value.image_shape
        if height * width != config.input_dim:
            raise ValueError(f"{name} has images of {height} × {width} = {height * width} "
                             f"pixels, but {model} takes input_dim = {config.input_dim}")
        if len(value) == 0:
            raise ValueError(f"{name} must hold at least one image")
        low, high = int(value.labels.min()), int(value.labels.max())
        if low < 0 or high >= config.n_classes:
            raise ValueError(f"{name} has labels from {low} to {high}, but {model} takes "
                             f"labels in [0, {config.n_classes - 1}] (n_classes = "
                             f"{config.n_classes})")
        return value
    return check


def _name(value: Any, name: str, _: Any = None) -> str:
    """A non-empty string: the model's name, which titles its map."""
    instance(str, "a string")(value, name)
    if not value.strip():
        raise ValueError(f"{name} must not be empty: it titles the map")
    return value


@validate(model=_conditional_model, dataset=_dataset_for("model"),
          index=integer(0, lambda a: len(a["dataset"]) - 1), name=_name)
def conditional_widget(model: LatentModel, dataset: data.ImageDataset, *, index: int = 0,
                       name: str = "CVAE") -> ConditionalExplorer:
    """The conditional explorer of notebook 06: a digit selector, the z sliders and a map of
    the codes μ(x, y) of the test images of ``dataset``; test image ``index`` gives the
    starting z and y.

        explorer = widgets.conditional_widget(cvae, test)
        widgets.display_with_fallback(explorer, explorer.fallback_png())
    """
    return ConditionalExplorer(model, dataset.to_tensor(), dataset.labels,
                               class_names=dataset.class_names, index=index, name=name)

