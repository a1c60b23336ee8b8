"""The lecturer's pack: packs that fit their notebooks, speaker notes filled in the kernel,
decks that fit a projector (every slide of every deck, English and Korean, in chromium at
1280x720 and 1920x1080), lesson plans, handouts, and a JupyterLab that asks nothing of the
network."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
from conftest import ROOT, guarded_pythonpath
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from test_notebooks import IDS, NOTEBOOKS, require, run

from scripts import build_site, lecturer, offline_lab
from scripts.notebook_runner import NotebookFailed, execute
from scripts.translations import TRANSLATION_TAG

VIEWPORTS = [(1280, 720), (1920, 1080)]
LOOPBACK = ("127.0.0.1", "localhost", "::1")


# --------------------------------------------------------------------------- the pack files

@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_notebook_has_a_pack_that_fits_it(path: Path):
    pack = lecturer.load(path)
    nb = nbformat.read(path, as_version=4)
    assert len(pack.notes) >= 4, f"{path.name}: notes on only {len(pack.notes)} slides"
    assert sorted(e["number"] for e in pack.exercises) == lecturer.exercise_numbers(nb), \
        f"{path.name}: the plan must set every exercise of 'Check yourself'"


GOOD_PLAN = """
[plan]
widget = "none"
live = ["c2"]
misconceptions = ["one"]
[[plan.exercises]]
number = 1
when = "homework"
why = "practice"
[[plan.session50]]
minutes = 50
activity = "all"
[[plan.session90]]
minutes = 90
activity = "all"
"""


def _tiny(tmp_path: Path) -> Path:
    """A notebook: a title slide, a shown code cell, a skipped one, an exercise."""
    cells = [new_markdown_cell("# 99 · Tiny"), new_code_cell("x = 1\nx"),
             new_code_cell("y = 2"), new_code_cell("answer_1 = None")]
    for cell, cell_id, kind in zip(cells, ["c1", "c2", "c3", "c4"],
                                   ["slide", "-", "skip", "subslide"], strict=True):
        cell.id = cell_id
        cell.metadata["slideshow"] = {"slide_type": kind}
    cells[3].metadata["tags"] = ["exercise"]
    path = tmp_path / "99_tiny.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


def test_a_pack_that_fits_loads(tmp_path: Path):
    path = _tiny(tmp_path)
    (tmp_path / "99_tiny.toml").write_text(
        '[notes.c2]\nsay = "s"\nask = "a"\npoint = "x is {x:.1f}, {{literal}}"\n' + GOOD_PLAN)
    pack = lecturer.load(path, pack_dir=tmp_path)
    assert lecturer.note_templates(pack)["c2"] == \
        "**Say.** s\n\n**Ask the room.** a\n\n**Point at.** x is {x:.1f}, {{literal}}"


def test_a_pack_that_does_not_fit_is_refused_with_every_problem_named(tmp_path: Path):
    path = _tiny(tmp_path)
    bad_plan = GOOD_PLAN.replace('live = ["c2"]', 'live = ["c9"]').replace(
        "minutes = 50", "minutes = 45").replace("number = 1", "number = 3")
    (tmp_path / "99_tiny.toml").write_text(
        '[notes.c9]\nsay = "s"\nask = "a"\npoint = "p"\n'
        '[notes.c3]\nsay = "s"\nask = "a"\npoint = "p"\n'
        '[notes.c2]\nsay = "s"\nask = "a"\npoint = "{len(x)}"\n'
        '[notes.c4]\nsay = "s"\nask = "a"\n' + bad_plan)
    with pytest.raises(ValueError) as refused:
        lecturer.load(path, pack_dir=tmp_path)
    message = str(refused.value)
    for expected in ["note on cell c9: the notebook has no such cell",
                     "note on cell c3: no slide shows that cell",
                     "field {len(x)} must name a variable",
                     "note on cell c4: needs exactly say, ask, point",
                     "plan.live names 'c9'", "plan.exercises entry",
                     "plan.session50 adds up to 45 minutes, not 50"]:
        assert expected in message, f"{expected!r} missing from:\n{message}"


def test_a_missing_or_broken_pack_is_named(tmp_path: Path):
    path = _tiny(tmp_path)
    with pytest.raises(ValueError, match="99_tiny.ipynb has no lecturer's pack"):
        lecturer.load(path, pack_dir=tmp_path)
    (tmp_path / "99_tiny.toml").write_text("[notes\n")
    with pytest.raises(ValueError, match="99_tiny.toml is not valid TOML"):
        lecturer.load(path, pack_dir=tmp_path)


# --------------------------------------------------------------------------- notes in a kernel

@pytest.mark.notebook
def test_a_note_is_filled_right_after_its_cell_and_changes_nothing_else(tmp_path: Path):
    cells = [new_code_cell("x = 1.5"), new_code_cell("x = 7\nprint(x)")]
    cells[0].id, cells[1].id = "first", "second"
    path = tmp_path / "note.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    result = execute(path, cell_timeout=60, passes=2,
                     notes={"first": "x was {x:.2f} {{here}}", "second": "x is {x}"})
    assert result.notebook.metadata["speaker_notes"] == {"first": "x was 1.50 {here}",
                                                          "second": "x is 7"}
    assert [c.id for c in result.notebook.cells] == ["first", "second"]
    assert [c.execution_count for c in result.notebook.cells] == [3, 4]
    assert result.notebook.cells[1].outputs[0]["text"] == "7\n"
    with pytest.raises(NotebookFailed, match=r"note.ipynb failed in cell 0: its speaker note "
                                             r"cannot be filled: KeyError: 'missing'"):
        execute(path, cell_timeout=60, notes={"first": "{missing}"})
    with pytest.raises(ValueError, match=r"notes name cells \['nowhere'\]"):
        execute(path, cell_timeout=60, notes={"nowhere": "text"})


def test_with_notes_puts_each_note_after_its_cell_as_speaker_notes():
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_code_cell("x")])
    nb.cells[1].id = "code"
    nb.metadata["speaker_notes"] = {"code": "**Say.** hello"}
    deck = lecturer.with_notes(nb)
    assert [c.source for c in deck.cells] == ["# T", "x", "**Say.** hello"]
    assert deck.cells[2].metadata["slideshow"]["slide_type"] == "notes"
    assert len(nb.cells) == 2


# --------------------------------------------------------------------------- what decks show

def test_fold_claims_folds_each_run_of_top_level_claims_into_a_comment():
    source = ("x = 1\nclaim(x > 0,\n      'a')\nclaim(x < 2, 'b')\n\nclaim(x, 'c')\nprint(x)\n"
              "if x:\n    claim(x, 'nested stays')\nclaim(x, 'd')")
    assert build_site.fold_claims(source).splitlines() == [
        "x = 1", "# … 3 checks of the text's claims (claim(...), in the notebook)", "print(x)",
        "if x:", "    claim(x, 'nested stays')",
        "# … 1 check of the text's claims (claim(...), in the notebook)"]
    assert build_site.fold_claims("%matplotlib inline\nclaim(1, 'a')") == \
        "%matplotlib inline\nclaim(1, 'a')"


def test_decks_show_a_long_cell_s_output_without_its_code():
    long_cell = new_code_cell("\n".join(f"v{i} = {i}" for i in range(40)),
                              outputs=[nbformat.v4.new_output("stream", text="table")])
    empty_long = new_code_cell("\n".join(f"w{i} = {i}" for i in range(40)))
    nb = new_notebook(cells=[long_cell, empty_long])
    for cell in nb.cells:
        cell.metadata["slideshow"] = {"slide_type": "subslide"}
    deck = build_site.deck_notebook(nb)
    assert deck.cells[0].metadata["transient"] == {"remove_source": True}
    assert deck.cells[1].metadata["slideshow"]["slide_type"] == "skip"
    html = build_site.slides_exporter().from_notebook_node(deck)[0]
    assert "table" in html and "v39" not in html


def test_handouts_fold_the_code_no_slide_shows_and_leave_out_the_answers():
    shown, setup = new_code_cell("y = 2\nclaim(y, 'a')"), new_code_cell("import os")
    solution = new_code_cell("answer_1 = 4")
    shown.metadata["slideshow"] = {"slide_type": "-"}
    setup.metadata["slideshow"] = {"slide_type": "skip"}
    solution.metadata["tags"] = ["solution"]
    handout = build_site.handout_notebook(new_notebook(cells=[shown, setup, solution]))
    assert len(handout.cells) == 2
    assert handout.cells[0].source.startswith("y = 2\n# … 1 check")
    assert "transient" not in handout.cells[0].metadata
    assert handout.cells[1].metadata["transient"] == {"remove_source": True}


# --------------------------------------------------------------------------- decks in chromium

# Runs in the deck: visits every slide (transitions off), waits until the slide has been
# fitted (data-fitted, set by the template after MathJax and the images), and lists each
# element outside the slide's box, and each box whose content is cut (scrollWidth).
CHECK_SLIDES = """async () => {
  Reveal.configure({transition: "none", backgroundTransition: "none"});
  const found = [];
  for (const slide of Reveal.getSlides()) {
    const where = Reveal.getIndices(slide);
    Reveal.slide(where.h, where.v || 0);
    const start = performance.now();
    while (!slide.hasAttribute("data-fitted") && performance.now() - start < 15000) {
      await new Promise(done => setTimeout(done, 10));
    }
    const name = `slide ${where.h + 1}.${(where.v || 0) + 1}`;
    if (!slide.hasAttribute("data-fitted")) { found.push(`${name}: never fitted`); continue; }
    const area = document.querySelector(".reveal .slides").getBoundingClientRect();
    const describe = el => `<${el.tagName.toLowerCase()} class="${el.className}"> ` +
      JSON.stringify((el.textContent || "").trim().slice(0, 60));
    for (const el of slide.querySelectorAll("*")) {
      if (el.closest("aside.notes, .MJX_Assistive_MathML")) continue;
      const box = el.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue;
      const style = getComputedStyle(el);
      if (style.visibility === "hidden" || style.display === "none") continue;
      if (box.left < area.left - 1 || box.right > area.right + 1 ||
          box.top < area.top - 1 || box.bottom > area.bottom + 1) {
        found.push(`${name}: ${describe(el)} reaches outside the slide ` +
          `(${Math.round(box.left - area.left)}, ${Math.round(box.top - area.top)}, ` +
          `${Math.round(box.width)} x ${Math.round(box.height)} in ` +
          `${Math.round(area.width)} x ${Math.round(area.height)})`);
      } else if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1 &&
                 style.overflowX !== "visible") {
        found.push(`${name}: ${describe(el)} is cut (content ${el.scrollWidth} px wide ` +
          `in ${el.clientWidth})`);
      }
    }
  }
  return {slides: Reveal.getSlides().length, found};
}"""


@pytest.fixture(scope="module")
def deck_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build folder with the browser assets, where the tests write decks."""
    if not (build_site.NODE_MODULES / "reveal.js").is_dir():
        pytest.fail("site/node_modules is missing: run `make vendor` (npm ci in site/)")
    out = tmp_path_factory.mktemp("decks")
    build_site.vendor_assets(out)
    return out


@pytest.mark.notebook
@pytest.mark.browser
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_slide_fits_the_projector_and_the_deck_has_speaker_notes(
        path: Path, language: str, runs_root: Path, deck_site: Path, browser):
    """The deck ``make run`` writes from the executed notebook (run A, or run B for Korean)."""
    name = "A" if language == "en" else "B"
    nb = require(run(path, name, runs_root), f"run {name}").notebook
    nb = nbformat.from_dict(nb)
    nb.cells = [c for c in nb.cells if TRANSLATION_TAG not in c.metadata.get("tags", [])]
    html = build_site.slides_exporter(language=language).from_notebook_node(
        build_site.deck_notebook(nb))[0]
    deck = deck_site / "slides" / f"{path.stem}.{language}.slides.html"
    build_site.write_text(deck, html)
    notes = html.count('<aside class="notes">')
    assert notes == len(lecturer.load(path).notes), \
        f"{deck.name}: {notes} speaker notes, the pack has {len(lecturer.load(path).notes)}"
    say = lecturer.WORDS[language]["say"]
    assert f"**{say}.**" not in html and f"<strong>{say}.</strong>" in html
    problems = []
    for width, height in VIEWPORTS:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(deck.as_uri(), wait_until="load")
        page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=60_000)
        checked = page.evaluate(CHECK_SLIDES)
        page.close()
        assert checked["slides"] > 5
        problems += [f"{deck.name} at {width}x{height}, {problem}"
                     for problem in checked["found"]]
    assert not problems, f"{len(problems)} overflows:\n" + "\n".join(problems[:20])


# --------------------------------------------------------------------------- an offline Lab

def test_the_environment_holds_the_offline_lab_settings():
    stale = [str(path) for path, same in offline_lab.installed().items() if not same]
    assert not stale, f"not installed or out of date: {stale}; run `make env` (or " \
                      "`python -m scripts.offline_lab`)"


def test_offline_lab_refuses_a_prefix_that_is_no_environment(tmp_path: Path):
    with pytest.raises(ValueError, match="prefix must be a Python environment"):
        offline_lab.install(tmp_path)
    (tmp_path / "bin").mkdir()
    written = offline_lab.install(tmp_path)
    assert all(offline_lab.installed(tmp_path).values()) and len(written) == 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_jupyterlab_asks_nothing_of_the_network(tmp_path: Path, browser):
    """A first-time user's Lab (empty user settings) started from this environment, the
    server under the loopback-only socket guard: no news prompt, no news or update request,
    and no request from the page to anything but this machine."""
    port, token = _free_port(), "aelib-test"
    env = {**os.environ, "PYTHONPATH": guarded_pythonpath(),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "user-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", "--allow-root",
         f"--ServerApp.root_dir={ROOT / 'notebooks'}"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    requests: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}",
                                            timeout=2):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, \
                    "JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text()[-2000:]
                time.sleep(0.3)
        context = browser.new_context(viewport={"width": 1280, "height": 800})

        def guard(route):
            requests.append(route.request.url)
            url = urlparse(route.request.url)
            if url.scheme in ("data", "blob") or url.hostname in LOOPBACK:
                route.continue_()
            else:
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/lab?token={token}")
        page.wait_for_selector("#jp-main-dock-panel", timeout=90_000)
        page.wait_for_timeout(6000)   # the news prompt appears a moment after start-up
        toasts = page.locator(".Toastify__toast").all_inner_texts()
        config = page.evaluate("JSON.parse(document.getElementById("
                               "'jupyter-config-data').textContent)")
        context.close()
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    assert requests, "the page made no request at all: the recording is broken"
    away = [url for url in requests if urlparse(url).scheme not in ("data", "blob")
            and urlparse(url).hostname not in LOOPBACK]
    assert not away, f"Lab asked the network for {away}"
    asked = [url for url in requests if "/lab/api/news" in url or "/lab/api/update" in url]
    assert not asked, f"Lab asked its server for news or updates: {asked}"
    assert not [t for t in toasts if "news" in t.lower()], f"a news prompt: {toasts}"
    assert config["news"] == {"disabled": True}
    server_log = (tmp_path / "lab.log").read_text()
    assert "NetworkAccessError" not in server_log and "Extension Manager is 'readonly'" in \
        server_log, server_log[-2000:]
