"""Notebook 06 as the Voilà app of `make explorer`, driven in Debian's chromium.

Starts Voilà on a free loopback port (fast mode, a private model cache, kernels behind the
loopback-only socket guard), waits for the three explorers. In the AE/VAE explorer it moves a
slider, clicks and drags on the latent maps, and checks that the decoded images change each
time; it clicks on the adversarial autoencoder's map (drawn over its prior) and checks that
its decoded image changes; in the conditional VAE's explorer it picks a digit, moves a slider,
chooses a test image and clicks on the map, and checks that the decoded image and the style
row change. Then it stops the server and checks that none of its processes is left. Every
request beyond 127.0.0.1 is aborted and recorded, and there must be none.
"""

from __future__ import annotations

import time

import pytest
from conftest import guarded_pythonpath, require_chromium

from scripts import explorer_app as app

pytestmark = [pytest.mark.browser, pytest.mark.network, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_chromium()


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory):
    """A private cache holding the fast-mode AE/VAE pair, CVAE and AAE, trained here once (so
    that the page load measures the app, not the training)."""
    import torch

    from aelib import zoo

    cache = tmp_path_factory.mktemp("cache")
    train, test = zoo.pair_data("mnist_subset", seed=0)
    zoo.train_pair(train.to_tensor(), test.to_tensor(), fast=True, seed=0, cache_dir=cache)
    zoo.train_conditional(train.to_tensor(), torch.from_numpy(train.labels), fast=True, seed=0,
                          cache_dir=cache)
    zoo.train_adversarial(train.to_tensor(), prior="mixture", fast=True, seed=0, cache_dir=cache)
    return cache


def _sources(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "imgs => imgs.map(img => img.src)")


def _wait_for_change(page, selector: str, before: list[str], timeout: float = 15.0) -> None:
    """Wait until every image matching ``selector`` shows a new, fully loaded picture."""
    page.wait_for_function(
        """([selector, before]) => {
            const imgs = [...document.querySelectorAll(selector)];
            return imgs.length === before.length && imgs.every(
                (img, i) => img.src !== before[i] && img.complete && img.naturalWidth > 0);
        }""", arg=[selector, before], timeout=timeout * 1000)


def _drive_the_conditional_explorer(page) -> None:
    """Steps 5 to 8: pick a digit, move z₁, choose a test image, click on the map; each time the
    decoded image p(x | z, y) and the style row (z decoded with every label) show new
    pictures."""
    explorer = page.locator(app.CONDITIONAL)
    explorer.scroll_into_view_if_needed()
    shown = f"{app.CONDITIONAL} {app.DECODED}, {app.CONDITIONAL} {app.STYLE_ROW}"
    assert page.locator(shown).count() == 2
    assert page.locator(f"{app.CONDITIONAL} {app.MAP}").count() == 1
    assert page.locator(f"{app.CONDITIONAL} {app.DIGITS} button").count() == 10

    # 5. A digit: the decoded image is another digit; the style row moves its frame.
    before = _sources(page, shown)
    page.locator(f"{app.CONDITIONAL} {app.DIGITS} button:not(.mod-active)").nth(4).click()
    _wait_for_change(page, shown, before)

    # 6. The z₁ slider, stepped with the arrow key: the whole style row follows.
    before = _sources(page, shown)
    handle = explorer.locator(".widget-slider .noUi-handle").first
    handle.focus()
    for _ in range(40):
        page.keyboard.press("ArrowRight")
    _wait_for_change(page, shown, before)

    # 7. A test image: z becomes its code and y its label.
    chosen = f"{shown}, {app.CONDITIONAL} {app.TEST_IMAGE}"
    before = _sources(page, chosen)
    box = explorer.locator(app.TEST_INDEX)
    box.fill("123")
    box.press("Enter")
    _wait_for_change(page, chosen, before)
    page.wait_for_function(   # the caption under the test image follows
        "([selector, text]) => document.querySelector(selector).innerText.includes(text)",
        arg=[app.CONDITIONAL, "test image 123"], timeout=15_000)

    # 8. A click on the map.
    before = _sources(page, shown)
    area = explorer.locator(app.MAP).bounding_box()
    page.mouse.click(area["x"] + 0.7 * area["width"], area["y"] + 0.3 * area["height"])
    _wait_for_change(page, shown, before)


def test_explorer_app_in_chromium(chromium, model_cache, tmp_path):
    import psutil
    from playwright.sync_api import sync_playwright

    env = {"AELIB_FAST": "1", "AELIB_CACHE_DIR": str(model_cache),
           "PYTHONPATH": guarded_pythonpath()}
    started = time.monotonic()
    server = app.start(env=env, log=tmp_path / "voila.log", timeout=60)
    pids: list[int] = []
    try:
        assert server.url.startswith("http://127.0.0.1:")
        with sync_playwright() as play:
            browser = play.chromium.launch(executable_path=chromium, args=app.BROWSER_ARGS)
            try:
                with app.open_explorer(browser, server.url, timeout=90) as page:
                    loaded = time.monotonic() - started
                    decoded = f"{app.EXPLORER} {app.DECODED}"
                    assert page.locator(decoded).count() == 2          # AE and VAE
                    assert page.locator(f"{app.EXPLORER} {app.MAP}").count() == 2
                    # No code is shown: Voilà strips the sources of code cells.
                    assert "widgets.latent_widget(named_models" not in page.content()
                    assert "widgets.conditional_widget(cvae" not in page.content()
                    assert page.locator(".jp-CodeMirrorEditor").count() == 0

                    # 1. A slider: focus the z₁ handle and step it with the arrow key.
                    before = _sources(page, decoded)
                    handle = page.locator(f"{app.EXPLORER} .widget-slider .noUi-handle").first
                    handle.focus()
                    for _ in range(20):
                        page.keyboard.press("ArrowRight")
                    _wait_for_change(page, decoded, before)

                    # 2. A click on the AE's map.
                    before = _sources(page, decoded)
                    readout = page.locator(f"{app.EXPLORER} .widget-html").nth(0).inner_text()
                    box = page.locator(f"{app.EXPLORER} {app.MAP}").first.bounding_box()
                    page.mouse.click(box["x"] + 0.3 * box["width"],
                                     box["y"] + 0.7 * box["height"])
                    _wait_for_change(page, decoded, before)
                    page.wait_for_function(   # the z readout follows the images
                        "([selector, old]) => document.querySelector(selector).innerText !== old",
                        arg=[f"{app.EXPLORER} .widget-html", readout], timeout=15_000)

                    # 3. A drag on the VAE's map.
                    before = _sources(page, decoded)
                    box = page.locator(f"{app.EXPLORER} {app.MAP}").nth(1).bounding_box()
                    page.mouse.move(box["x"] + 0.4 * box["width"], box["y"] + 0.4 * box["height"])
                    page.mouse.down()
                    page.mouse.move(box["x"] + 0.6 * box["width"],
                                    box["y"] + 0.5 * box["height"], steps=8)
                    page.mouse.up()
                    _wait_for_change(page, decoded, before)

                    # 4. A click on the AAE's map, drawn over its prior.
                    adversarial = f"{app.ADVERSARIAL} {app.DECODED}"
                    assert page.locator(adversarial).count() == 1
                    page.locator(app.ADVERSARIAL).scroll_into_view_if_needed()
                    before = _sources(page, adversarial)
                    box = page.locator(f"{app.ADVERSARIAL} {app.MAP}").bounding_box()
                    page.mouse.click(box["x"] + 0.5 * box["width"],
                                     box["y"] + 0.45 * box["height"])
                    _wait_for_change(page, adversarial, before)

                    _drive_the_conditional_explorer(page)
                    assert page.blocked == [], f"requests left this machine: {page.blocked}"
            finally:
                browser.close()
    finally:
        pids = app.stop(server)
    alive = [pid for pid in pids if psutil.pid_exists(pid)
             and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert len(pids) >= 2, "Voilà should have started a kernel"
    assert not alive, f"processes left running after stop: {alive}"
    print(f"explorer shown {loaded:.1f} s after starting Voilà")
