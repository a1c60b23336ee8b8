"""The conditional explorer of notebook 06 (``widgets.conditional_widget``) and the views behind
it, driven from Python without a browser: a digit selector, the z sliders, a test image's code,
the map, the style row, the static fallback, and its bad inputs. Also the prior samples that
``views.latent_map`` and ``widgets.latent_widget`` draw beneath a model's codes."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import ipyevents  # noqa: E402
import matplotlib.image  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from aelib import data, models, plotting, views, widgets  # noqa: E402

N_CLASSES = 10


def _model(kind: str = "vae", *, n_classes: int = N_CLASSES, latent_dim: int = 2,
           input_dim: int = 784, seed: int = 0) -> models.LatentModel:
    config = models.ModelConfig(kind=kind, input_dim=input_dim, hidden=(32,),
                                latent_dim=latent_dim, likelihood="bernoulli",
                                n_classes=n_classes)
    return models.build_model(config, seed=seed).eval()


def _pixels(value) -> np.ndarray:
    """The pixels of a PNG (floats in [0, 1]); PNG signature checked."""
    png = bytes(value)
    assert png.startswith(plotting.PNG_SIGNATURE)
    return matplotlib.image.imread(io.BytesIO(png), format="png")


@pytest.fixture(scope="module")
def cvae():
    return _model(seed=3)


@pytest.fixture(scope="module")
def digits_60():
    # 60 images spread over the subset, which is sorted by digit: five to seven of each.
    return data.load_dataset("mnist_subset").subset(np.arange(0, 5000, 500 // 6)[:60])


@pytest.fixture
def explorer(cvae, digits_60):
    return widgets.conditional_widget(cvae, digits_60, index=4)


def _code_of(cvae, dataset, index: int) -> np.ndarray:
    """μ(x, y) of test image ``index``, by hand."""
    x = dataset.to_tensor()[index:index + 1]
    with torch.no_grad():
        return cvae.embed(x, torch.tensor([int(dataset.labels[index])]))[0].double().numpy()


def _expected_style_png(explorer) -> bytes:
    styles = views.decode_every_label(explorer.model, explorer.z)
    return views.encode_png(views.image_row(styles, scale=explorer._style_scale,
                                            frame=widgets._STYLE_FRAME, highlight=explorer.y))


def _assert_shows_its_point(explorer) -> None:
    """decoded, styles and every picture are what ``views`` makes of the current (z, y)."""
    z, y, model = explorer.z, explorer.y, explorer.model
    np.testing.assert_allclose(explorer.decoded, views.decode_point(model, z, y),
                               rtol=1e-5, atol=1e-6)
    for label in range(N_CLASSES):
        np.testing.assert_allclose(explorer.styles[label], views.decode_point(model, z, label),
                                   rtol=1e-5, atol=1e-6)
    assert bytes(explorer.decoded_image.value) == views.encode_png(explorer.decoded,
                                                                   scale=explorer.scale)
    assert bytes(explorer.style_image.value) == _expected_style_png(explorer)
    assert bytes(explorer.map_image.value) == views.render_map(explorer.maps["CVAE"], z)
    assert f"<b>{z[0]:.2f}</b>" in explorer.readout.value
    assert f"y = <b>{explorer.class_names[y]}</b>" in explorer.readout.value


# --------------------------------------------------------------------------- views


def test_decode_points_takes_the_labels_of_a_conditional_model(cvae):
    codes = np.array([[0.5, -1.0], [2.0, 0.25], [-1.5, 1.0]])
    labels = np.array([3, 7, 0])
    with torch.no_grad():
        expected = cvae.decode(torch.tensor(codes, dtype=torch.float32),
                               torch.from_numpy(labels)).numpy()
    images = views.decode_points(cvae, codes, labels)
    assert images.shape == (3, 28, 28) and images.dtype == np.float32
    np.testing.assert_allclose(images.reshape(3, -1), expected, rtol=1e-6)
    np.testing.assert_allclose(views.decode_point(cvae, [2.0, 0.25], 7), images[1], rtol=1e-6)
    np.testing.assert_allclose(views.decode_points(cvae, codes, torch.from_numpy(labels)),
                               images, rtol=1e-6)                       # a tensor of labels too
    # The label matters: the same code with another label is another image.
    assert np.abs(views.decode_point(cvae, [2.0, 0.25], 1) - images[1]).max() > 1e-3


def test_decode_every_label_is_one_code_under_each_label(cvae):
    z = np.array([0.3, -0.7])
    styles = views.decode_every_label(cvae, z)
    assert styles.shape == (N_CLASSES, 28, 28) and styles.dtype == np.float32
    for label in range(N_CLASSES):
        np.testing.assert_allclose(styles[label], views.decode_point(cvae, z, label),
                                   rtol=1e-5, atol=1e-6)
    assert views.decode_every_label(_model(n_classes=3, input_dim=64), (0.0, 0.0)).shape == \
        (3, 8, 8)


def test_image_row_frames_each_image_and_highlights_one():
    rng = np.random.default_rng(0)
    images = rng.random((4, 3, 5))
    row = views.image_row(images, scale=2, frame=1, highlight=2)
    tile_h, tile_w = 3 * 2 + 2, 5 * 2 + 2
    assert row.shape == (tile_h, 4 * tile_w, 3) and row.dtype == np.uint8
    for k in range(4):
        tile = row[:, k * tile_w:(k + 1) * tile_w]
        colour = views.FRAME_HIGHLIGHT if k == 2 else views.FRAME_GREY
        assert (tile[0] == colour).all() and (tile[:, -1] == colour).all()
        inside = tile[1:-1, 1:-1]
        expected = np.rint(images[k] * 255).astype(np.uint8).repeat(2, 0).repeat(2, 1)
        for channel in range(3):
            np.testing.assert_array_equal(inside[..., channel], expected)
    plain = views.image_row(images, frame=0)
    assert plain.shape == (3, 20, 3)
    np.testing.assert_array_equal(plain[:, 5:10, 0], np.rint(images[1] * 255))
    clipped = views.image_row(np.array([[[-1.0, 2.0]]]), frame=0)   # clipped to [0, 1]
    assert clipped[0, :, 0].tolist() == [0, 255]


def test_latent_map_draws_prior_samples_beneath_the_codes():
    codes = np.array([[-1.0, -1.0], [1.0, 1.0]])
    prior = np.column_stack([np.full(200, 3.0), np.linspace(-0.5, 0.5, 200)])  # a far stripe
    without = views.latent_map(codes, np.array([0, 1]), title="codes")
    latent = views.latent_map(codes, np.array([0, 1]), title="codes over the prior",
                              prior=prior)
    assert without.extent[1] < 3.0 < latent.extent[1]          # the extent holds the prior
    column, row = (int(round(v)) for v in latent.to_pixel((3.0, 0.0)))
    patch = latent.pixels[row - 1:row + 2, column - 1:column + 2].astype(int)
    assert (np.abs(patch - patch[..., :1]) <= 2).all()           # grey ...
    assert (patch < 250).any() and (patch > 150).all()           # ... and faint
    decoded = {"AE": np.zeros((4, 4))}
    png = views.render_snapshot({"AE": codes}, np.array([0, 1]), decoded, (0.0, 0.0),
                                priors={"AE": prior}, dpi=40)
    assert png.startswith(plotting.PNG_SIGNATURE)


# --------------------------------------------------------------------------- the widget


def test_it_starts_at_the_code_of_its_test_image(explorer, cvae, digits_60):
    assert isinstance(explorer, widgets.ConditionalExplorer)
    label = int(digits_60.labels[4])
    assert explorer.y == label == explorer.digit_buttons.value
    step = max(explorer.z1_slider.step, explorer.z2_slider.step)
    np.testing.assert_allclose(explorer.codes[4], _code_of(cvae, digits_60, 4), rtol=1e-5)
    assert explorer.z == pytest.approx(explorer.codes[4], abs=step / 2 + 1e-12)
    assert explorer.digit_buttons.options == tuple((str(k), k) for k in range(N_CLASSES))
    assert explorer.scale == 6 and _pixels(explorer.decoded_image.value).shape == (168, 168)
    tile = 28 * 3 + 2 * widgets._STYLE_FRAME
    assert explorer.style_tile == tile
    assert _pixels(explorer.style_image.value).shape == (tile, N_CLASSES * tile, 3)
    assert _pixels(explorer.test_image.value).shape == (168, 168)
    assert f"test image 4: {label}" in explorer.test_readout.value
    _assert_shows_its_point(explorer)


def test_the_digit_selector_changes_the_decoded_image_not_the_style_row(explorer):
    before = bytes(explorer.decoded_image.value)
    styles, z = explorer.styles.copy(), explorer.z
    new = (explorer.y + 3) % N_CLASSES
    explorer.digit_buttons.value = new
    assert explorer.y == new and np.array_equal(explorer.z, z)
    assert bytes(explorer.decoded_image.value) != before
    np.testing.assert_array_equal(explorer.styles, styles)     # the same z, the same row ...
    frame = _pixels(explorer.style_image.value)[0]             # ... framed at the new label
    tile = explorer.style_tile
    highlight = np.array(views.FRAME_HIGHLIGHT) / 255
    framed = [k for k in range(N_CLASSES)
              if np.allclose(frame[k * tile + tile // 2], highlight, atol=1 / 255)]
    assert framed == [new]
    _assert_shows_its_point(explorer)


def test_the_sliders_move_the_decoded_image_and_the_style_row(explorer):
    before = (bytes(explorer.decoded_image.value), bytes(explorer.style_image.value),
              bytes(explorer.map_image.value))
    y = explorer.y
    explorer.z1_slider.value = explorer.z1_slider.min + 0.1 * (
        explorer.z1_slider.max - explorer.z1_slider.min)
    after_z1 = (bytes(explorer.decoded_image.value), bytes(explorer.style_image.value))
    explorer.z2_slider.value = explorer.z2_slider.min + 0.9 * (
        explorer.z2_slider.max - explorer.z2_slider.min)
    after_z2 = (bytes(explorer.decoded_image.value), bytes(explorer.style_image.value),
                bytes(explorer.map_image.value))
    for k in (0, 1):
        assert after_z1[k] != before[k] and after_z2[k] != after_z1[k]
    assert after_z2[2] != before[2]                              # the ring moved on the map
    assert explorer.y == y
    _assert_shows_its_point(explorer)


def test_choosing_a_test_image_sets_z_and_the_digit(explorer, cvae, digits_60):
    index = next(i for i in range(60) if digits_60.labels[i] != explorer.y)
    before = bytes(explorer.test_image.value)
    draws = []
    explorer.style_image.observe(draws.append, names="value")
    explorer.index_box.value = index
    assert len(draws) == 1                  # z₁, z₂ and the digit move, one update is drawn
    assert explorer.y == int(digits_60.labels[index])
    step = max(explorer.z1_slider.step, explorer.z2_slider.step)
    assert explorer.z == pytest.approx(_code_of(cvae, digits_60, index), abs=step / 2 + 1e-6)
    assert bytes(explorer.test_image.value) != before
    assert _pixels(explorer.test_image.value)[::6, ::6] == pytest.approx(
        digits_60.images[index] / 255, abs=1 / 255)
    assert f"test image {index}: {explorer.y}" in explorer.test_readout.value
    _assert_shows_its_point(explorer)


def test_clicks_and_drags_on_the_map_move_z(explorer):
    latent = explorer.maps["CVAE"]
    left, top, right, bottom = latent.box
    column, row = left + 0.25 * (right - left), top + 0.6 * (bottom - top)
    before, y = bytes(explorer.style_image.value), explorer.y
    explorer.handle_map_event("CVAE", {"type": "click", "dataX": column, "dataY": row})
    step = max(explorer.z1_slider.step, explorer.z2_slider.step)
    assert explorer.z == pytest.approx(latent.to_latent(column, row), abs=step / 2 + 1e-12)
    assert bytes(explorer.style_image.value) != before and explorer.y == y
    _assert_shows_its_point(explorer)
    clicked = explorer.z.copy()
    explorer.handle_map_event("CVAE", {"type": "mousemove", "buttons": 0,
                                       "dataX": column + 40, "dataY": row})
    assert explorer.z == pytest.approx(clicked)                  # no button held: no drag
    explorer.handle_map_event("CVAE", {"type": "mousemove", "buttons": 1,
                                       "dataX": column + 40, "dataY": row})
    assert explorer.z == pytest.approx(latent.to_latent(column + 40, row),
                                       abs=step / 2 + 1e-12)
    (click, drag), = explorer.events.values()
    assert isinstance(click, ipyevents.Event) and click.source is explorer.map_image
    assert drag.watched_events == ["mousemove"] and drag.throttle_or_debounce == "throttle"
    click._handle_mouse_msg(None, {"event": "click", "type": "click", "dataX": 100.0,
                                   "dataY": 100.0}, [])          # as ipyevents delivers it
    assert explorer.z == pytest.approx(latent.to_latent(100.0, 100.0), abs=step / 2 + 1e-12)


def test_it_has_a_static_fallback(explorer, monkeypatch):
    png = explorer.fallback_png(dpi=40)
    image = _pixels(png)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 150
    calls = []
    monkeypatch.setattr(widgets, "display", lambda *a, **k: calls.append(a))
    widgets.display_with_fallback(explorer, png)
    (bundle,), = calls
    assert bundle[widgets.WIDGET_VIEW_MIMETYPE]["model_id"] == explorer.model_id


def test_it_works_on_the_8x8_digits():
    small = data.load_dataset("digits")
    small = small.subset(np.flatnonzero(np.arange(len(small)) % 30 == 0))
    explorer = widgets.conditional_widget(_model(input_dim=64, seed=1), small, index=2,
                                          name="small CVAE")
    assert explorer.scale == 21 and explorer._style_scale == 10
    assert set(explorer.maps) == {"small CVAE"}
    explorer.digit_buttons.value = (explorer.y + 1) % N_CLASSES
    np.testing.assert_allclose(explorer.decoded,
                               views.decode_point(explorer.model, explorer.z, explorer.y),
                               rtol=1e-5, atol=1e-6)
    assert bytes(explorer.style_image.value) == _expected_style_png(explorer)
    assert _pixels(explorer.decoded_image.value).shape == (168, 168)


def test_latent_widget_draws_a_models_prior_beneath_its_codes(digits_60):
    vae, ae = _model(n_classes=0, seed=1), _model("ae", n_classes=0, seed=2)
    torch.manual_seed(0)
    prior = torch.randn(500, 2)
    explorer = widgets.latent_widget({"AE": ae, "VAE": vae}, digits_60, priors={"VAE": prior})
    assert set(explorer.priors) == {"VAE"}
    assert {"aelib-latent-explorer", "aelib-explorer-ae-vae"} <= set(explorer._dom_classes)
    np.testing.assert_array_equal(explorer.priors["VAE"], prior.double().numpy())
    plain = widgets.latent_widget({"VAE": vae}, digits_60)
    assert not np.array_equal(explorer.maps["VAE"].pixels, plain.maps["VAE"].pixels)
    assert explorer.fallback_png(dpi=30).startswith(plotting.PNG_SIGNATURE)


# --------------------------------------------------------------------------- bad inputs

AE = _model("ae", n_classes=0)
CVAE = _model()
CVAE_3D = _model(latent_dim=3)
CVAE_3 = _model(n_classes=3)
SMALL_CVAE = _model(input_dim=64)
DIGITS = data.load_dataset("mnist_subset").subset(np.arange(0, 5000, 100))   # 50 images
SQUARE = np.zeros((4, 2))


@dataclass(frozen=True)
class Bad:
    """One bad input: ``call()`` must raise ``error`` with a message matching ``match``."""

    id: str
    call: Callable[[], object]
    error: type[BaseException]
    match: str


CASES = [
    # ---- widgets.conditional_widget
    Bad("conditional_widget-model-not-a-model", lambda: widgets.conditional_widget("cvae", DIGITS),
        TypeError, r"model must be an aelib model conditioned on labels \(a CVAE\), got str"),
    Bad("conditional_widget-model-without-labels",
        lambda: widgets.conditional_widget(AE, DIGITS),
        ValueError, r"model must be conditioned on labels .*n_classes = 0.*latent_widget"),
    Bad("conditional_widget-3d-latent", lambda: widgets.conditional_widget(CVAE_3D, DIGITS),
        ValueError, r"model must have a 2-D latent space .*latent_dim = 3"),
    Bad("conditional_widget-dataset-a-tensor",
        lambda: widgets.conditional_widget(CVAE, DIGITS.to_tensor()),
        TypeError, r"dataset must be an aelib ImageDataset, got Tensor"),
    Bad("conditional_widget-dataset-of-other-size",
        lambda: widgets.conditional_widget(SMALL_CVAE, DIGITS),
        ValueError, r"dataset has images of 28 × 28 = 784 pixels, but model takes "
                    r"input_dim = 64"),
    Bad("conditional_widget-labels-beyond-the-models",
        lambda: widgets.conditional_widget(CVAE_3, DIGITS),
        ValueError, r"dataset has labels from 0 to 9, but model takes labels in \[0, 2\]"),
    Bad("conditional_widget-empty-dataset",
        lambda: widgets.conditional_widget(CVAE, DIGITS.subset(np.array([], dtype=int))),
        ValueError, r"dataset must hold at least one image"),
    Bad("conditional_widget-index-past-the-end",
        lambda: widgets.conditional_widget(CVAE, DIGITS, index=50),
        ValueError, r"index must be <= 49, got 50"),
    Bad("conditional_widget-negative-index",
        lambda: widgets.conditional_widget(CVAE, DIGITS, index=-1),
        ValueError, r"index must be >= 0, got -1"),
    Bad("conditional_widget-float-index",
        lambda: widgets.conditional_widget(CVAE, DIGITS, index=2.0),
        TypeError, r"index must be an integer, got float 2\.0"),
    Bad("conditional_widget-empty-name",
        lambda: widgets.conditional_widget(CVAE, DIGITS, name=" "),
        ValueError, r"name must not be empty"),
    # ---- widgets.latent_widget: a conditional model, and the prior samples
    Bad("latent_widget-conditional-model", lambda: widgets.latent_widget({"CVAE": CVAE}, DIGITS),
        ValueError, r"models\['CVAE'\] is conditioned on labels .*conditional_widget"),
    Bad("latent_widget-priors-not-a-dict",
        lambda: widgets.latent_widget({"AE": AE}, DIGITS, priors=SQUARE),
        TypeError, r"priors must be a dict of model name -> samples \(m, 2\), got ndarray"),
    Bad("latent_widget-priors-of-an-unknown-model",
        lambda: widgets.latent_widget({"AE": AE}, DIGITS, priors={"VAE": SQUARE}),
        ValueError, r"priors has samples for \['VAE'\], which are not among the models"),
    Bad("latent_widget-priors-3-columns",
        lambda: widgets.latent_widget({"AE": AE}, DIGITS, priors={"AE": np.zeros((4, 3))}),
        ValueError, r"priors\['AE'\] must have 2 columns \(z₁, z₂\), got shape \(4, 3\)"),
    Bad("latent_widget-priors-nan",
        lambda: widgets.latent_widget({"AE": AE}, DIGITS,
                                      priors={"AE": np.array([[0.0, np.nan]])}),
        ValueError, r"priors\['AE'\] must not contain NaN or infinity"),
    # ---- views: labels for a conditional model, and only for one
    Bad("decode_points-conditional-without-labels",
        lambda: views.decode_points(CVAE, SQUARE),
        ValueError, r"labels is needed: model takes labels in \[0, 9\]"),
    Bad("decode_points-labels-for-a-model-without",
        lambda: views.decode_points(AE, SQUARE, np.zeros(4, dtype=int)),
        ValueError, r"labels gives labels, but model is not conditioned on labels"),
    Bad("decode_points-label-out-of-range",
        lambda: views.decode_points(CVAE, SQUARE, np.array([0, 1, 2, 10])),
        ValueError, r"labels must lie in \[0, 9\] .*got values from 0 to 10"),
    Bad("decode_points-one-label-short",
        lambda: views.decode_points(CVAE, SQUARE, np.zeros(3, dtype=int)),
        ValueError, r"codes and labels must have the same length, got 4 and 3"),
    Bad("decode_points-float-labels",
        lambda: views.decode_points(CVAE, SQUARE, np.zeros(4)),
        TypeError, r"labels must hold integer values, got dtype float64"),
    Bad("decode_every_label-model-without-labels",
        lambda: views.decode_every_label(AE, (0.0, 0.0)),
        ValueError, r"model must be conditioned on labels .*n_classes = 0.*decode_point"),
    Bad("decode_every_label-not-a-model", lambda: views.decode_every_label(None, (0.0, 0.0)),
        TypeError, r"model must be an aelib model conditioned on labels \(a CVAE\), got "
                   r"NoneType"),
]


def test_the_table_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_by_name_and_leaves_no_file(case: Bad, tmp_path: Path,
                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AELIB_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(case.error, match=case.match):
        case.call()
    assert sorted(p.name for p in tmp_path.rglob("*")) == []
