"""aelib.widgets: drive the explorers from Python and check the static fallback."""

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

from aelib import dimensionality, likelihood, plotting, widgets  # noqa: E402


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
    view = widgets.likelihood_view(data, 1.2, 0.8)
    assert view.nll == pytest.approx(_nll(data, 1.2, 0.8), rel=1e-12)
    assert view.point_nll.shape == (3,) and view.point_nll.sum() == pytest.approx(view.nll)
    assert view.mle_mu == pytest.approx(4 / 3) and view.mle_sigma == pytest.approx(np.std(data))
    i = int(np.argmin(np.abs(view.mu_grid - 2.0)))
    assert view.nll_over_mu[i] == pytest.approx(_nll(data, view.mu_grid[i], 0.8))
    with pytest.raises(ValueError, match="sigma"):
        widgets.likelihood_view(data, 0.0, 0.0)
    with pytest.raises(ValueError, match="mu_range"):
        widgets.likelihood_view(data, 0.0, 1.0, mu_range=(1.0, -1.0))


def test_render_likelihood_returns_png():
    view = widgets.likelihood_view(widgets.DEFAULT_DATA, 0.0, 1.0)
    _png(widgets.render_likelihood(view, dpi=40))
    with pytest.raises(ValueError, match="dpi"):
        widgets.render_likelihood(view, dpi=1)
    with pytest.raises(TypeError, match="view"):
        widgets.render_likelihood({"mu": 0.0})


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
    expected = _nll(widgets.DEFAULT_DATA, 0.7, 1.3)
    assert explorer.view.mu == 0.7 and explorer.view.sigma == 1.3
    assert explorer.view.nll == pytest.approx(expected, rel=1e-12)
    assert f"<b>{expected:.3f}</b>" in explorer.readout.value
    explorer.mu_slider.value, explorer.sigma_slider.value = 0.0, 1.0  # back to the start
    assert _png(explorer.image.value) == start  # deterministic rendering


def test_likelihood_widget_checks_its_arguments():
    with pytest.raises(ValueError, match="mu"):
        widgets.likelihood_widget(mu=10.0)
    with pytest.raises(ValueError, match="sigma"):
        widgets.likelihood_widget(sigma=-1.0)
    with pytest.raises(ValueError, match="sigma_range"):
        widgets.LikelihoodExplorer(sigma_range=(2.0, 1.0))


# --------------------------------------------------------------------------- notebook 02


def test_dimension_view_numbers():
    view = widgets.dimension_view(5, max_dim=20, n_points=40, epsilon=0.1, seed=3)
    assert view.occupancy == dimensionality.grid_occupancy(8, 5)
    points = dimensionality.uniform_cube(40, 5, seed=3 + 5)
    assert view.distance_ratio == pytest.approx(dimensionality.distance_ratio(points))
    assert view.volume_ratio == pytest.approx(dimensionality.ball_to_cube_ratio(5))
    assert view.shell_fraction == pytest.approx(dimensionality.shell_fraction(5, 0.1))
    assert view.distances.shape == (40 * 39 // 2,)
    assert view.distances.mean() == pytest.approx(1.0)
    assert view.dims.tolist() == list(range(1, 21))
    assert view.ratio_curve[4] == pytest.approx(view.distance_ratio)
    with pytest.raises(ValueError, match="dim"):
        widgets.dimension_view(0)
    with pytest.raises(ValueError, match="dim"):
        widgets.dimension_view(30, max_dim=20)


def test_render_dimension_returns_png():
    view = widgets.dimension_view(3, max_dim=10, n_points=20)
    _png(widgets.render_dimension(view, dpi=40))
    with pytest.raises(ValueError, match="dpi"):
        widgets.render_dimension(view, dpi=0)


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
    with pytest.raises(ValueError, match="dim"):
        widgets.dimension_widget(dim=200, max_dim=100)
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
    with pytest.raises(TypeError, match="widget"):
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

    # ...unless the priority puts the PNG first.
    config = Config({"NbConvertBase": {
        "display_data_priority": list(widgets.STATIC_DISPLAY_PRIORITY)}})
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
