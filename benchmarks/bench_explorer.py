"""How fast the latent-space explorers (notebook 06) answer a slider move.

Three measurements:

1. **Server side**, in this process, with the AE/VAE pair of notebooks 05 and 06: the time to
   decode one point and encode the image as PNG (``views.decode_point`` + ``views.encode_png``,
   the work behind one decoded image), over ``--updates`` random points; and the time of a
   whole slider update of the explorer (both models decoded, both maps re-marked, every PNG
   encoded). With the conditional VAE (notebook 08's, ``zoo.train_conditional``): the time to
   decode one point with every label and encode the decoded image p(x | z, y) and the style
   row as PNGs (``views.decode_every_label`` + ``views.image_row`` + ``views.encode_png``),
   and a whole slider update of the conditional explorer (also its map re-marked).
2. **PNG encoders side by side**, on the same frames in the same run: Pillow (what
   ``views.encode_png`` uses) against the hand-written zlib encoder aelib had before
   (``zlib_png`` below), for a decoded image and for a marked latent map.
3. **In the browser**: notebook 06 served by Voilà (as ``make explorer`` does) and opened in
   Debian's chromium; the time from pressing the arrow key on the z₁ slider until both
   decoded images show a new picture, over ``--moves`` moves; the same for clicks on the
   latent map; and, in the conditional explorer, from a key press on its z₁ slider until its
   decoded image and its style row both show a new picture.

Targets: server-side decode + PNG p95 < 15 ms; in the browser, slider move median < 150 ms.

Run from the repository root:  .venv/bin/python -m benchmarks.bench_explorer
(fast-mode models, ``AELIB_FAST=1``, unless ``--full``; trained once into the model cache).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import struct
import sys
import time
import zlib

import numpy as np
import PIL.Image
import torch

import aelib
from aelib import plotting, views, widgets, zoo
from scripts import explorer_app as app

SERVER_TARGET_P95_MS = 15.0
BROWSER_TARGET_MEDIAN_MS = 150.0
#: In the page: the sources of the images matching a selector, and whether each has changed
#: from ``before`` and is fully loaded.
_SOURCES = "imgs => imgs.map(img => img.src)"
_CHANGED = """([selector, before]) => [...document.querySelectorAll(selector)].every(
    (img, i) => img.src !== before[i] && img.complete && img.naturalWidth > 0)"""


def _percentiles(seconds: list[float]) -> tuple[float, float, float]:
    ms = np.asarray(seconds) * 1e3
    return float(np.median(ms)), float(np.percentile(ms, 95)), float(ms.max())


def zlib_png(image: np.ndarray, *, scale: int = 1, level: int = 1) -> bytes:
    """aelib's PNG encoder before Pillow: 8-bit grey or RGB, filter 0 on every row, zlib."""
    if image.dtype != np.uint8:
        image = np.rint(image * 255.0).astype(np.uint8)
    if scale > 1:
        image = image.repeat(scale, axis=0).repeat(scale, axis=1)
    height, width = image.shape[:2]
    rows = np.zeros((height, 1 + image[0].size), dtype=np.uint8)   # byte 0: filter type 0
    rows[:, 1:] = image.reshape(height, -1)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload)))

    header = struct.pack(">IIBBBBB", width, height, 8, 0 if image.ndim == 2 else 2, 0, 0, 0)
    return (plotting.PNG_SIGNATURE + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), level)) + chunk(b"IEND", b""))


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(PIL.Image.open(io.BytesIO(png)))


def encoders(frames: dict[str, list[tuple[np.ndarray, int]]]) -> dict[str, tuple[float, ...]]:
    """Pillow against ``zlib_png`` on the same frames, interleaved: p50, p95, max (ms) each,
    the ratio of the medians and the mean size; both must give the same pixels."""
    results = {}
    for kind, images in frames.items():
        times = {"Pillow": [], "zlib": []}
        sizes = {"Pillow": [], "zlib": []}
        for image, scale in images:
            for name, encode in (("zlib", zlib_png), ("Pillow", views.encode_png)):
                start = time.perf_counter()
                png = encode(image, scale=scale)
                times[name].append(time.perf_counter() - start)
                sizes[name].append(len(png))
        image, scale = images[0]
        assert np.array_equal(_pixels(views.encode_png(image, scale=scale)),
                              _pixels(zlib_png(image, scale=scale)))
        for name in ("zlib", "Pillow"):
            results[f"{kind}: {name} ({np.mean(sizes[name]) / 1e3:.1f} kB)"] = \
                _percentiles(times[name])
        ratio = np.median(times["Pillow"]) / np.median(times["zlib"])
        print(f"{kind}: Pillow / zlib, ratio of the medians = {ratio:.2f}")
    return results


def conditional_server_side(*, fast: bool, updates: int,
                            seed: int = 0) -> dict[str, tuple[float, ...]]:
    """p50, p95 and max (ms) of the conditional explorer's work per move: decode with every
    label + the two PNGs, and a whole slider update."""
    train, test = zoo.pair_data("mnist_subset", seed=seed)
    cvae = zoo.train_conditional(train.to_tensor(), torch.from_numpy(train.labels), fast=fast,
                                 seed=seed).model
    explorer = widgets.conditional_widget(cvae, test)
    rng = np.random.default_rng(seed + 1)
    x_min, x_max, y_min, y_max = explorer.bounds
    points = np.column_stack([rng.uniform(x_min, x_max, updates),
                              rng.uniform(y_min, y_max, updates)])
    digits = rng.integers(0, cvae.config.n_classes, updates)
    times = []
    for z, y in zip(points, digits, strict=True):
        start = time.perf_counter()
        styles = views.decode_every_label(cvae, z)
        image = views.encode_png(styles[y], scale=explorer.scale)
        row = views.encode_png(views.image_row(styles, scale=explorer._style_scale,
                                               frame=widgets._STYLE_FRAME, highlight=int(y)))
        times.append(time.perf_counter() - start)
        assert image.startswith(plotting.PNG_SIGNATURE) and row.startswith(plotting.PNG_SIGNATURE)
    width = explorer.style_tile * cvae.config.n_classes
    results = {f"decode + PNG, CVAE (168 × 168 and style row {width} × {explorer.style_tile})":
               _percentiles(times)}
    # ten decodes, the map, both PNGs
    results["whole slider update (CVAE: image, style row, map)"] = _slider_updates(explorer,
                                                                                  points)
    return results


def _slider_updates(explorer: widgets.LatentExplorer | widgets.ConditionalExplorer,
                    points: np.ndarray) -> tuple[float, ...]:
    """p50, p95 and max (ms) of one whole explorer update: z1_slider set to each point's z1."""
    times = []
    for z in points:
        start = time.perf_counter()
        explorer.z1_slider.value = float(z[0])
        times.append(time.perf_counter() - start)
    return _percentiles(times)


def server_side(*, fast: bool, updates: int, seed: int = 0) -> dict[str, tuple[float, ...]]:
    """p50, p95 and max (ms) of decode + PNG per model, of the two PNG encoders and of a full
    explorer update; then the conditional explorer's."""
    aelib.configure_threads()          # as the notebook's kernel does
    train, test = zoo.pair_data("mnist_subset", seed=seed)
    pair = zoo.train_pair(train.to_tensor(), test.to_tensor(), fast=fast, seed=seed)
    models = {"AE": pair["ae"].model, "VAE": pair["vae"].model}
    explorer = widgets.latent_widget(models, test)
    rng = np.random.default_rng(seed)
    x_min, x_max, y_min, y_max = explorer.bounds
    points = np.column_stack([rng.uniform(x_min, x_max, updates),
                              rng.uniform(y_min, y_max, updates)])
    results = {}
    for name, model in models.items():
        times = []
        for z in points:
            start = time.perf_counter()
            png = views.encode_png(views.decode_point(model, z), scale=explorer.scale)
            times.append(time.perf_counter() - start)
            assert png.startswith(plotting.PNG_SIGNATURE)
        results[f"decode + PNG, {name} (168 × 168)"] = _percentiles(times)
    latent = explorer.maps["AE"]
    times, maps = [], []
    for z in points:
        start = time.perf_counter()
        png = views.render_map(latent, z)
        times.append(time.perf_counter() - start)
        maps.append((_pixels(png), 1))
    results["map with marker, PNG (one model)"] = _percentiles(times)
    digits = [(views.decode_point(models["VAE"], z), explorer.scale) for z in points]
    results.update(encoders({"decoded image 168 × 168": digits,
                             f"map {latent.pixels.shape[1]} × {latent.pixels.shape[0]}": maps}))
    # both models, both maps, all PNGs
    results["whole slider update (2 models, 2 maps)"] = _slider_updates(explorer, points)
    results.update(conditional_server_side(fast=fast, updates=updates, seed=seed))
    return results


def _time_moves(page, handle, selector: str, moves: int) -> tuple[float, float, float]:
    """Press the arrow key on the slider ``handle`` ``moves`` times (after 3 warm-up moves),
    each timed until every image matching ``selector`` shows a new, fully loaded picture."""
    handle.focus()
    times = []
    for k in range(moves + 3):
        before = page.eval_on_selector_all(selector, _SOURCES)
        start = time.perf_counter()
        page.keyboard.press("ArrowRight" if k % 40 < 20 else "ArrowLeft")
        page.wait_for_function(_CHANGED, arg=[selector, before], timeout=30_000, polling=5)
        if k >= 3:                  # the first moves warm up the kernel
            times.append(time.perf_counter() - start)
    return _percentiles(times)


def in_browser(*, fast: bool, moves: int, clicks: int) -> dict[str, tuple[float, ...]]:
    """Median, p95 and max (ms) from a key press / click to new decoded images in chromium."""
    from playwright.sync_api import sync_playwright

    env = {"AELIB_FAST": "1" if fast else "0"}
    server = app.start(env=env, timeout=120)
    selector = f"{app.EXPLORER} {app.DECODED}"
    results = {}
    try:
        with sync_playwright() as play:
            browser = play.chromium.launch(executable_path=app.chromium(),
                                           args=app.BROWSER_ARGS)
            try:
                with app.open_explorer(browser, server.url, timeout=300) as page:
                    # Voilà shows the explorer while later cells still run: wait for the kernel.
                    page.wait_for_timeout(1000)
                    page.wait_for_function("document.readyState === 'complete'")
                    page.wait_for_load_state("networkidle")
                    handle = page.locator(f"{app.EXPLORER} .widget-slider .noUi-handle").first
                    results["slider move → both decoded images new"] = _time_moves(
                        page, handle, selector, moves)
                    box = page.locator(f"{app.EXPLORER} {app.MAP}").first.bounding_box()
                    rng = np.random.default_rng(0)
                    times = []
                    for _ in range(clicks):
                        before = page.eval_on_selector_all(selector, _SOURCES)
                        fx, fy = rng.uniform(0.2, 0.8, 2)
                        start = time.perf_counter()
                        page.mouse.click(box["x"] + fx * box["width"],
                                         box["y"] + fy * box["height"])
                        page.wait_for_function(_CHANGED, arg=[selector, before],
                                               timeout=30_000, polling=5)
                        times.append(time.perf_counter() - start)
                    results["click on the map → both decoded images new"] = _percentiles(times)
                    page.locator(app.CONDITIONAL).scroll_into_view_if_needed()
                    handle = page.locator(f"{app.CONDITIONAL} .widget-slider .noUi-handle").first
                    shown = f"{app.CONDITIONAL} {app.DECODED}, {app.CONDITIONAL} {app.STYLE_ROW}"
                    results["CVAE slider move → decoded image and style row new"] = _time_moves(
                        page, handle, shown, moves)
                    if page.blocked:
                        print(f"blocked requests beyond this machine: {page.blocked}")
            finally:
                browser.close()
    finally:
        app.stop(server)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="full-mode models (60 epochs)")
    parser.add_argument("--updates", type=int, default=500, help="server-side updates")
    parser.add_argument("--moves", type=int, default=30, help="slider moves in the browser")
    parser.add_argument("--clicks", type=int, default=15, help="map clicks in the browser")
    parser.add_argument("--no-browser", action="store_true", help="server side only")
    args = parser.parse_args(argv)
    fast = not args.full
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch "
          f"{torch.__version__}, {'fast' if fast else 'full'}-mode models")
    rows = server_side(fast=fast, updates=args.updates)
    if not args.no_browser:
        rows.update(in_browser(fast=fast, moves=args.moves, clicks=args.clicks))
    width = max(len(name) for name in rows)
    print(f"\n{'measurement':<{width}}  {'median':>8}  {'p95':>8}  {'max':>8}")
    for name, (median, p95, largest) in rows.items():
        print(f"{name:<{width}}  {median:>6.2f}ms  {p95:>6.2f}ms  {largest:>6.1f}ms")
    server = [p95 for name, (_, p95, _) in rows.items() if name.startswith("decode + PNG")]
    print(f"\nserver target, decode + PNG p95 < {SERVER_TARGET_P95_MS:g} ms: "
          f"{'met' if max(server) < SERVER_TARGET_P95_MS else 'MISSED'}")
    for name in ("slider move → both decoded images new",
                 "CVAE slider move → decoded image and style row new"):
        if name in rows:
            print(f"browser target, {name.split(' →')[0]} median < "
                  f"{BROWSER_TARGET_MEDIAN_MS:g} ms: "
                  f"{'met' if rows[name][0] < BROWSER_TARGET_MEDIAN_MS else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
