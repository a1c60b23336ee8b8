"""aelib.views and aelib.widgets: the explorers' pictures, the explorers driven from Python, and
the static fallback."""

from __future__ import annotations

import base64
import io
import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from nbconvert import HTMLExporter  # noqa: E402
from traitlets.config import Config  # noqa: E402

from aelib import dimensionality, likelihood, plotting, views, widgets  # noqa: E402


def _png(value) -> bytes:
    png = bytes(value)
    assert png.startswith(plotting.PNG_SIGNATURE)
    image = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    return png


def _nll(data, mu: float, sigma: float) -> float:
    target = torch.tensor(data, dtype=torch.float64)
    return float(likelihood.gaussian_nll(target, torch.full_like(target, mu), sigma).sum())


@pytest.fixture(scope="module")
def likelihood_explorer():
    return widgets.likelihood_widget()


@pytest.fixture(scope="module")
def dimension_explorer():
    return widgets.dimension_widget(dim=2, max_dim=30, n_points=50)


# --------------------------------------------------------------------------- notebook 01


def test_likelihood_view_matches_aelib_likelihood():
    data = [0.0, 1.0, 3.0]
    view = views.likelihood_view(data, 1.2, 0.8)
    assert view.nll == pytest.approx(_nll(data, 1.2, 0.8), rel=1e-12)
    assert view.point_nll.shape == (3,) and view.point_nll.sum() == pytest.approx(view.nll)
    assert view.mle_mu == pytest.approx(4 / 3) and view.mle_sigma == pytest.approx(np.std(data))
    i = int(np.argmin(np.abs(view.mu_grid - 2.0)))
    assert view.nll_over_mu[i] == pytest.approx(_nll(data, view.mu_grid[i], 0.8))
    with pytest.raises(ValueError, match="sigma must be > 0.0"):
        views.likelihood_view(data, 0.0, 0.0)


def test_render_likelihood_returns_png():
    view = views.likelihood_view(views.DEFAULT_DATA, 0.0, 1.0)
    _png(views.render_likelihood(view, dpi=40))


def test_likelihood_explorer_follows_its_sliders(likelihood_explorer):
    explorer = likelihood_explorer
    assert isinstance(explorer, widgets.LikelihoodExplorer)
    start = _png(explorer.image.value)
    explorer.mu_slider.value = 0.7
    moved_mu = _png(explorer.image.value)
    assert moved_mu != start
    explorer.sigma_slider.value = 1.3
    moved_sigma = _png(explorer.image.value)
    assert moved_sigma != moved_mu
    expected = _nll(views.DEFAULT_DATA, 0.7, 1.3)
    assert explorer.view.mu == 0.7 and explorer.view.sigma == 1.3
    assert explorer.view.nll == pytest.approx(expected, rel=1e-12)
    assert f"<b>{expected:.3f}</b>" in explorer.readout.value
    explorer.mu_slider.value, explorer.sigma_slider.value = 0.0, 1.0  # back to the start
    assert _png(explorer.image.value) == start  # deterministic rendering


def test_likelihood_widget_checks_its_arguments():
    with pytest.raises(ValueError, match="mu must be <= 3.0, got 10.0"):
        widgets.likelihood_widget(mu=10.0)
    with pytest.raises(ValueError, match="sigma must be >= 0.2, got -1.0"):
        widgets.likelihood_widget(sigma=-1.0)
    with pytest.raises(ValueError, match="sigma must be <= 2.0, got 2.5"):
        widgets.LikelihoodExplorer(sigma=2.5, sigma_range=(0.5, 2.0))


# --------------------------------------------------------------------------- notebook 02


def test_dimension_view_numbers():
    view = views.dimension_view(5, max_dim=20, n_points=40, epsilon=0.1, seed=3)
    assert view.occupancy == dimensionality.grid_occupancy(8, 5)
    points = dimensionality.uniform_cube(40, 5, seed=3 + 5)
    assert view.distance_ratio == pytest.approx(dimensionality.distance_ratio(points))
    assert view.volume_ratio == pytest.approx(dimensionality.ball_to_cube_ratio(5))
    assert view.shell_fraction == pytest.approx(dimensionality.shell_fraction(5, 0.1))
    assert view.distances.shape == (40 * 39 // 2,)
    assert view.distances.mean() == pytest.approx(1.0)
    assert view.dims.tolist() == list(range(1, 21))
    assert view.ratio_curve[4] == pytest.approx(view.distance_ratio)


def test_render_dimension_returns_png():
    view = views.dimension_view(3, max_dim=10, n_points=20)
    _png(views.render_dimension(view, dpi=40))


def test_dimension_explorer_follows_its_slider(dimension_explorer):
    explorer = dimension_explorer
    assert isinstance(explorer, widgets.DimensionExplorer)
    start = _png(explorer.image.value)
    explorer.dim_slider.value = 25
    moved = _png(explorer.image.value)
    assert moved != start
    assert explorer.view.dim == 25
    assert explorer.view.occupancy == dimensionality.grid_occupancy(8, 25)
    assert "d = <b>25</b>" in explorer.readout.value
    assert f"{explorer.view.distance_ratio:.2f}" in explorer.readout.value


def test_dimension_widget_checks_its_arguments():
    with pytest.raises(ValueError, match="dim must be <= 100, got 200"):
        widgets.dimension_widget(dim=200, max_dim=100)
    with pytest.raises(ValueError, match="dim must be >= 1, got 0"):
        widgets.dimension_widget(dim=0)
    with pytest.raises(ValueError, match="epsilon"):
        widgets.DimensionExplorer(epsilon=0.0)


# --------------------------------------------------------------------------- static fallback


def test_fallback_bundle_holds_widget_view_png_and_text(likelihood_explorer):
    png = bytes(likelihood_explorer.image.value)
    bundle = widgets.fallback_bundle(likelihood_explorer, likelihood_explorer.image.value)
    assert set(bundle) == {widgets.WIDGET_VIEW_MIMETYPE, "image/png", "text/plain"}
    assert bundle[widgets.WIDGET_VIEW_MIMETYPE] == {
        "model_id": likelihood_explorer.model_id, "version_major": 2, "version_minor": 0}
    assert base64.b64decode(bundle["image/png"]) == png
    # The same view that ipywidgets itself would publish.
    own = likelihood_explorer._repr_mimebundle_()
    assert own[widgets.WIDGET_VIEW_MIMETYPE] == bundle[widgets.WIDGET_VIEW_MIMETYPE]
    with pytest.raises(ValueError, match="fallback_png"):
        widgets.fallback_bundle(likelihood_explorer, b"GIF89a not a png")
    with pytest.raises(TypeError, match="widget must be an ipywidgets Widget"):
        widgets.fallback_bundle("a widget", png)


def test_display_with_fallback_publishes_one_raw_bundle(likelihood_explorer, monkeypatch):
    calls = []
    monkeypatch.setattr(widgets, "display", lambda *a, **k: calls.append((a, k)))
    widgets.display_with_fallback(likelihood_explorer, likelihood_explorer.image.value)
    assert len(calls) == 1
    (args, kwargs), = calls
    assert kwargs == {"raw": True} and len(args) == 1
    assert set(args[0]) == {widgets.WIDGET_VIEW_MIMETYPE, "image/png", "text/plain"}
    with pytest.raises(ValueError, match="fallback_png"):
        widgets.display_with_fallback(likelihood_explorer, b"")


def _notebook_with(bundle: dict, model_id: str, *, with_state: bool) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("widgets.display_with_fallback(w, png)")
    cell.outputs = [nbformat.v4.new_output("display_data", data=bundle)]
    nb.cells = [cell]
    if with_state:  # what nbclient stores after executing (store_widget_state=True)
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
            "version_major": 2, "version_minor": 0,
            "state": {model_id: {"model_name": "VBoxModel",
                                 "model_module": "@jupyter-widgets/controls",
                                 "model_module_version": "2.0.0", "state": {}}}}}
    return nbformat.from_dict(json.loads(json.dumps(nb)))


def test_nbconvert_html_shows_the_png_fallback(likelihood_explorer):
    bundle = widgets.fallback_bundle(likelihood_explorer, likelihood_explorer.image.value)
    img_tag = f'src="data:image/png;base64,{bundle["image/png"]}"'
    view_tag = f'<script type="{widgets.WIDGET_VIEW_MIMETYPE}">'
    model_id = likelihood_explorer.model_id

    # No saved widget state (a notebook saved without it, or stripped): the PNG is shown.
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(
        _notebook_with(bundle, model_id, with_state=False))
    assert img_tag in html and view_tag not in html

    # Saved widget state: nbconvert prefers the widget view, which needs JavaScript...
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(
        _notebook_with(bundle, model_id, with_state=True))
    assert view_tag in html and img_tag not in html

    # ...unless the priority puts the PNG first, as the site builder's does.
    from scripts.build_site import STATIC_DISPLAY_PRIORITY

    config = Config({"NbConvertBase": {"display_data_priority": list(STATIC_DISPLAY_PRIORITY)}})
    html, _ = HTMLExporter(template_name="lab", config=config).from_notebook_node(
        _notebook_with(bundle, model_id, with_state=True))
    assert img_tag in html and view_tag not in html


@pytest.mark.notebook
def test_display_with_fallback_in_a_real_kernel():
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from aelib import widgets\n"
        "w = widgets.likelihood_widget()\n"
        "widgets.display_with_fallback(w, w.image.value)")]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    (output,) = nb.cells[0].outputs
    assert output.output_type == "display_data"
    assert set(output.data) == {widgets.WIDGET_VIEW_MIMETYPE, "image/png", "text/plain"}
    model_id = output.data[widgets.WIDGET_VIEW_MIMETYPE]["model_id"]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert model_id in state and state[model_id]["model_name"] == "VBoxModel"
    _png(base64.b64decode(output.data["image/png"]))
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(
        nbformat.from_dict({**nb, "metadata": {k: v for k, v in nb.metadata.items()
                                               if k != "widgets"}}))
    assert output.data["image/png"][:500] in html


# --------------------------------------------------------------------------- notebook 06

import ipyevents  # noqa: E402

from aelib import data, models  # noqa: E402


def _decoded_png(value) -> np.ndarray:
    """The pixels of a PNG as an array; PNG signature checked."""
    png = bytes(value)
    assert png.startswith(plotting.PNG_SIGNATURE)
    return matplotlib.image.imread(io.BytesIO(png), format="png")


def _latent_model(kind: str, *, input_dim: int = 784, latent_dim: int = 2, seed: int = 0):
    config = models.ModelConfig(kind=kind, input_dim=input_dim, hidden=(32,),
                                latent_dim=latent_dim, likelihood="bernoulli")
    return models.build_model(config, seed=seed).eval()


@pytest.fixture(scope="module")
def pair_models():
    return {"AE": _latent_model("ae", seed=1), "VAE": _latent_model("vae", seed=2)}


@pytest.fixture(scope="module")
def digits_60():
    return data.load_dataset("mnist_subset").subset(np.arange(60))


@pytest.fixture(scope="module")
def latent_explorer(pair_models, digits_60):
    return widgets.latent_widget(pair_models, digits_60, index_a=3, index_b=7)


def test_encode_png_round_trips_grey_and_colour_and_clips_floats():
    rng = np.random.default_rng(0)
    grey = rng.random((5, 7))
    pixels = _decoded_png(views.encode_png(grey))
    assert pixels.shape == (5, 7)
    assert np.abs(pixels - grey).max() <= 0.5 / 255 + 1e-6
    colour = rng.integers(0, 256, (4, 3, 3), dtype=np.uint8)
    pixels = _decoded_png(views.encode_png(colour, scale=3, level=9))
    assert pixels.shape == (12, 9, 3)
    assert np.array_equal(np.rint(pixels * 255).astype(np.uint8),
                          colour.repeat(3, axis=0).repeat(3, axis=1))
    # A Gaussian decoder's means may leave [0, 1]: they are shown clipped, black or white.
    pixels = _decoded_png(views.encode_png(np.array([[-0.5, 1.5], [0.0, 1.0]])))
    assert pixels.tolist() == [[0.0, 1.0], [0.0, 1.0]]


def test_decode_point_and_points_match_the_decoder(pair_models):
    ae = pair_models["AE"]
    codes = np.array([[0.5, -1.0], [2.0, 0.25]])
    with torch.no_grad():
        expected = ae.decode(torch.tensor(codes, dtype=torch.float32)).numpy()
    images = views.decode_points(ae, codes)
    assert images.shape == (2, 28, 28) and images.dtype == np.float32
    np.testing.assert_allclose(images.reshape(2, -1), expected, rtol=1e-6)
    np.testing.assert_allclose(views.decode_point(ae, [2.0, 0.25]), images[1], rtol=1e-6)
    threads = torch.get_num_threads()
    ae.train()
    views.decode_point(ae, (0.0, 0.0))
    assert ae.training and torch.get_num_threads() == threads   # mode and threads restored
    ae.eval()
    small = _latent_model("ae", input_dim=64)
    assert views.decode_point(small, [0.0, 0.0]).shape == (8, 8)
    assert views.image_shape(small) == (8, 8)
    with pytest.raises(ValueError, match="latent_dim"):
        views.decode_point(ae, [0.0, 0.0, 0.0])
    with pytest.raises(TypeError, match="model"):
        views.decode_point("ae", [0.0, 0.0])
    with pytest.raises(ValueError, match="square"):
        views.image_shape(_latent_model("ae", input_dim=10))


def test_decode_grid_follows_latent_grid(pair_models):
    vae = pair_models["VAE"]
    extent = (-2.0, 2.0, -1.0, 1.0)
    grid = views.decode_grid(vae, extent, 3, 4)
    assert grid.shape == (3, 4, 28, 28)
    top_right = views.decode_point(vae, [2.0, 1.0])
    np.testing.assert_allclose(grid[0, 3], top_right, rtol=1e-6)
    np.testing.assert_allclose(grid[2, 0], views.decode_point(vae, [-2.0, -1.0]), rtol=1e-6)
    with pytest.raises(ValueError, match="codes must have latent_dim = 3 columns"):
        views.decode_grid(_latent_model("ae", latent_dim=3), extent, 2, 2)
    with pytest.raises(ValueError, match="extent"):
        views.decode_grid(vae, (1.0, -1.0, 0.0, 1.0), 2, 2)


def test_interpolate_codes_runs_from_a_to_b():
    z_a, z_b = np.array([0.0, 2.0]), np.array([4.0, -2.0])
    assert views.interpolate_codes(z_a, z_b, 0.0).tolist() == [0.0, 2.0]
    assert views.interpolate_codes(z_a, z_b, 1.0).tolist() == [4.0, -2.0]
    assert views.interpolate_codes(z_a, z_b, 0.25).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="t"):
        views.interpolate_codes(z_a, z_b, 1.5)
    with pytest.raises(ValueError, match="z_a and z_b must have the same length"):
        views.interpolate_codes(z_a, [1.0, 2.0, 3.0], 0.5)


def test_code_extent_holds_every_code():
    codes = np.array([[0.0, 10.0], [2.0, 30.0], [1.0, 20.0]])
    x_min, x_max, y_min, y_max = views.code_extent(codes, margin=0.1)
    assert (x_min, x_max) == pytest.approx((-0.2, 2.2))
    assert (y_min, y_max) == pytest.approx((8.0, 32.0))
    assert views.code_extent(np.ones((3, 2)))[1] > 1.0   # identical codes get an area


def test_latent_map_converts_between_pixels_and_codes():
    codes = np.array([[-1.0, -1.0], [1.0, 1.0], [0.5, -0.5]])
    labels = np.array([0, 1, 2])
    latent = views.latent_map(codes, labels, title="three codes", extent=(-2, 2, -2, 2))
    height, width = latent.pixels.shape[:2]
    left, top, right, bottom = latent.box
    assert 0 <= left < right <= width and 0 <= top < bottom <= height
    assert latent.to_pixel((-2.0, 2.0)) == pytest.approx((left, top))
    assert latent.to_pixel((2.0, -2.0)) == pytest.approx((right, bottom))
    assert latent.to_latent(*latent.to_pixel((0.5, -0.5))) == pytest.approx((0.5, -0.5))
    assert latent.contains((1.9, -1.9)) and not latent.contains((2.1, 0.0))
    # The point drawn for the third code (class 2, tab10 green) sits where to_pixel says.
    column, row = (int(round(v)) for v in latent.to_pixel(codes[2]))
    patch = latent.pixels[row - 2:row + 3, column - 2:column + 3].astype(int)
    green_on_white = 0.8 * np.array([44, 160, 44]) + 0.2 * 255   # plot_codes: alpha 0.8
    assert np.abs(patch - green_on_white).sum(axis=2).min() < 30


def test_render_map_marks_the_point():
    codes = np.array([[-1.0, -1.0], [1.0, 1.0]])
    latent = views.latent_map(codes, np.array([0, 1]), title="two codes",
                                extent=(-2, 2, -2, 2))
    first = _decoded_png(views.render_map(latent, (0.0, 0.0)))
    second = _decoded_png(views.render_map(latent, (1.0, -1.0)))
    assert first.shape == latent.pixels.shape and not np.array_equal(first, second)
    column, row = latent.to_pixel((1.0, -1.0))
    ring = second[int(round(row)), int(round(column + 7))]
    assert np.all(ring < 0.1)                                   # black ring, radius 7
    assert np.array_equal(latent.pixels, np.asarray(latent.pixels))  # background untouched
    outside = _decoded_png(views.render_map(latent, (5.0, 0.0)))
    red = (outside[..., 0] > 0.8) & (outside[..., 1] < 0.25) & (outside[..., 2] < 0.25)
    assert red.any()                                            # marked at the edge in red


def test_render_snapshot_is_a_png(pair_models):
    codes = {"AE": np.array([[0.0, 0.0], [1.0, 1.0]]), "VAE": np.array([[0.0, 1.0], [1.0, 0.0]])}
    decoded = {name: views.decode_point(pair_models[name], [0.5, 0.5]) for name in codes}
    _png(views.render_snapshot(codes, np.array([0, 1]), decoded, (0.5, 0.5), dpi=40))


def _expected_decoded_png(explorer, name: str) -> bytes:
    return views.encode_png(views.decode_point(explorer.models[name], explorer.z),
                              scale=explorer.scale)


def test_latent_explorer_sliders_decode_the_point(latent_explorer):
    explorer = latent_explorer
    assert isinstance(explorer, widgets.LatentExplorer)
    assert explorer.scale == 6
    before = {name: bytes(image.value) for name, image in explorer.decoded_images.items()}
    maps_before = {name: bytes(image.value) for name, image in explorer.map_images.items()}
    explorer.z1_slider.value = explorer.z1_slider.min + 0.3 * (
        explorer.z1_slider.max - explorer.z1_slider.min)
    after_z1 = {name: bytes(image.value) for name, image in explorer.decoded_images.items()}
    explorer.z2_slider.value = explorer.z2_slider.min + 0.8 * (
        explorer.z2_slider.max - explorer.z2_slider.min)
    for name in explorer.models:
        value = bytes(explorer.decoded_images[name].value)
        assert after_z1[name] != before[name] and value != after_z1[name]
        assert value == _expected_decoded_png(explorer, name)
        assert _decoded_png(value).shape == (168, 168)
        assert bytes(explorer.map_images[name].value) != maps_before[name]
        assert bytes(explorer.map_images[name].value) == views.render_map(
            explorer.maps[name], explorer.z)
        np.testing.assert_array_equal(explorer.decoded[name],
                                      views.decode_point(explorer.models[name], explorer.z))
    assert f"<b>{explorer.z[0]:.2f}</b>" in explorer.readout.value


def test_latent_explorer_map_clicks_and_drags(latent_explorer):
    explorer = latent_explorer
    latent = explorer.maps["VAE"]
    left, top, right, bottom = latent.box
    column, row = left + 0.25 * (right - left), top + 0.6 * (bottom - top)
    before = bytes(explorer.decoded_images["AE"].value)
    explorer.handle_map_event("VAE", {"type": "click", "dataX": column, "dataY": row})
    # The point is rounded to the sliders' step, as they display it.
    step = max(explorer.z1_slider.step, explorer.z2_slider.step)
    assert explorer.z == pytest.approx(latent.to_latent(column, row), abs=step / 2 + 1e-12)
    for slider in (explorer.z1_slider, explorer.z2_slider):
        steps = (slider.value - slider.min) / slider.step
        assert steps == pytest.approx(round(steps), abs=1e-6)
    assert bytes(explorer.decoded_images["AE"].value) != before   # the same z for both models
    for name in explorer.models:
        assert bytes(explorer.decoded_images[name].value) == _expected_decoded_png(explorer, name)
    clicked = explorer.z.copy()
    # A move without the button held is not a drag: nothing changes.
    explorer.handle_map_event("VAE", {"type": "mousemove", "buttons": 0,
                                      "dataX": column + 30, "dataY": row})
    assert explorer.z == pytest.approx(clicked)
    explorer.handle_map_event("VAE", {"type": "mousemove", "buttons": 1,
                                      "dataX": column + 30, "dataY": row})
    assert explorer.z == pytest.approx(latent.to_latent(column + 30, row), abs=step / 2 + 1e-12)
    # Without dataX/dataY: the position on the drawn image, scaled to the map's pixels.
    height, width = latent.pixels.shape[:2]
    explorer.handle_map_event("AE", {"type": "click", "relativeX": width / 4,
                                     "relativeY": height / 4, "boundingRectWidth": width / 2,
                                     "boundingRectHeight": height / 2})
    assert explorer.z == pytest.approx(explorer.maps["AE"].to_latent(width / 2, height / 2),
                                       abs=step / 2 + 1e-12)
    z = explorer.z.copy()
    explorer.handle_map_event("AE", {"type": "dragstart"})   # ignored
    assert explorer.z == pytest.approx(z)


def test_latent_explorer_listens_to_mouse_events_with_ipyevents(latent_explorer):
    for name, (click, drag) in latent_explorer.events.items():
        assert isinstance(click, ipyevents.Event) and isinstance(drag, ipyevents.Event)
        assert click.source is latent_explorer.map_images[name]
        assert set(click.watched_events) == {"click", "dragstart"}
        assert drag.watched_events == ["mousemove"] and drag.throttle_or_debounce == "throttle"
        # ipyevents delivers a front-end message through on_dom_event to the handler.
        click._handle_mouse_msg(None, {"event": "click", "type": "click", "dataX": 100.0,
                                       "dataY": 100.0}, [])
        step = max(latent_explorer.z1_slider.step, latent_explorer.z2_slider.step)
        assert latent_explorer.z == pytest.approx(
            latent_explorer.maps[name].to_latent(100.0, 100.0), abs=step / 2 + 1e-12)


def test_latent_explorer_interpolates_between_test_images(latent_explorer, digits_60):
    explorer = latent_explorer
    assert (explorer.index_a.value, explorer.index_b.value) == (3, 7)
    before = {name: bytes(image.value) for name, image in explorer.interpolated_images.items()}
    explorer.t_slider.value = 0.9
    for name, model in explorer.models.items():
        value = bytes(explorer.interpolated_images[name].value)
        assert value != before[name]
        codes = explorer.codes[name]
        z_t = 0.1 * codes[3] + 0.9 * codes[7]
        np.testing.assert_allclose(explorer.interpolated[name],
                                   views.decode_point(model, z_t), rtol=1e-5, atol=1e-6)
        assert _decoded_png(value).shape == (112, 112)
    endpoint = bytes(explorer.endpoint_images[1].value)
    explorer.index_b.value = 12
    assert bytes(explorer.endpoint_images[1].value) != endpoint
    label = digits_60.labels[12]
    assert f"test image 12 (class {label})" in explorer.interpolation_readout.value
    explorer.t_slider.value = 1.0     # t = 1 decodes image B's own code
    for name, model in explorer.models.items():
        np.testing.assert_allclose(explorer.interpolated[name],
                                   views.decode_point(model, explorer.codes[name][12]),
                                   rtol=1e-5, atol=1e-6)


def test_latent_explorer_has_a_static_fallback(latent_explorer, monkeypatch):
    png = _png(latent_explorer.fallback_png(dpi=40))
    calls = []
    monkeypatch.setattr(widgets, "display", lambda *a, **k: calls.append(a))
    widgets.display_with_fallback(latent_explorer, png)
    (args,), = calls
    assert args[widgets.WIDGET_VIEW_MIMETYPE]["model_id"] == latent_explorer.model_id


def test_latent_widget_checks_its_arguments(pair_models, digits_60):
    with pytest.raises(ValueError, match=r"models\[.AE.\] must have a 2-D latent space .* = 3"):
        widgets.latent_widget({"AE": _latent_model("ae", latent_dim=3)}, digits_60)
    with pytest.raises(ValueError, match="models must be a dict of one to three"):
        widgets.latent_widget({}, digits_60)
    with pytest.raises(TypeError, match=r"models\['AE'\] must be an aelib Autoencoder or VAE"):
        widgets.latent_widget({"AE": "ae"}, digits_60)
    with pytest.raises(ValueError, match="index_b must be <= 59, got 60"):
        widgets.latent_widget(pair_models, digits_60, index_b=60)
    with pytest.raises(TypeError, match="dataset must be an aelib ImageDataset"):
        widgets.latent_widget(pair_models, digits_60.to_tensor())
