"""The offline site: a small build (notebook 01 in fast mode) checked as files and in chromium."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
from conftest import require_chromium
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from scripts import build_site, lecturer
from scripts.notebook_runner import NOTEBOOK_DIR, execute

SITE_NOTEBOOK = "01_likelihood_to_loss"
# Any way a page could load something from another machine: tags, module and dynamic imports.
REMOTE_LOAD = re.compile(
    r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*[\"']\s*(?:https?:)?//"
    r"|import\s*\(?\s*[\"']\s*(?:https?:)?//|Src\s*=\s*[\"']\s*(?:https?:)?//", re.IGNORECASE)
RAW_TEX = re.compile(r"\$[^$\n]{1,200}\$")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """build/ for one notebook: executed copy, run time, HTML, slides, index and assets."""
    if not (build_site.NODE_MODULES / "reveal.js").is_dir():
        pytest.fail("site/node_modules is missing: run `make vendor` (npm ci in site/)")
    out = tmp_path_factory.mktemp("site")
    source = NOTEBOOK_DIR / f"{SITE_NOTEBOOK}.ipynb"
    result = execute(source, env={"AELIB_FAST": "1"},
                     notes=lecturer.note_templates(lecturer.load(source)))
    (out / "notebooks").mkdir()
    nbformat.write(result.notebook, out / "notebooks" / f"{SITE_NOTEBOOK}.ipynb")
    (out / "timings.json").write_text(json.dumps({f"{SITE_NOTEBOOK}.ipynb": result.seconds}))
    build_site.build(out, names=[SITE_NOTEBOOK])
    return out


@pytest.fixture(scope="module")
def site_ko(site: Path) -> Path:
    """build/ko beside it: the Korean edition of the same notebook, executed and built as
    ``make run LANG=ko`` does; then the English index, which now links to it."""
    from scripts.run_notebooks import stamp_run_time
    from scripts.translations import korean_notebook, korean_pack

    out = site / "ko"
    source = NOTEBOOK_DIR / f"{SITE_NOTEBOOK}.ipynb"
    result = execute(source, env={"AELIB_FAST": "1"}, notebook=korean_notebook(source),
                     notes=lecturer.note_templates(korean_pack(source), "ko"))
    stamp_run_time(result.notebook, result.seconds, fast=True, language="ko")
    (out / "notebooks").mkdir(parents=True)
    nbformat.write(result.notebook, out / "notebooks" / f"{SITE_NOTEBOOK}.ipynb")
    (out / "timings.json").write_text(json.dumps({f"{SITE_NOTEBOOK}.ipynb": result.seconds}))
    build_site.build(out, names=[SITE_NOTEBOOK], language="ko")
    build_site.write_index(site)
    return out


def _pages(site: Path) -> list[Path]:
    return [site / "index.html", site / "html" / f"{SITE_NOTEBOOK}.html",
            site / "slides" / f"{SITE_NOTEBOOK}.slides.html",
            site / "plans" / f"{SITE_NOTEBOOK}.html",
            site / "handouts" / f"{SITE_NOTEBOOK}.html"]


@pytest.mark.notebook
def test_pages_load_nothing_from_the_network(site: Path):
    for page in _pages(site):
        remote = REMOTE_LOAD.findall(page.read_text(encoding="utf-8"))
        assert not remote, f"{page.name} loads from the network: {remote}"
    for sheet in (site / "assets").rglob("*.css"):
        if sheet.name in ("reveal.css", "white.css", "source-sans-pro.css"):
            remote = re.findall(r"@import\s+url\(\s*[\"']?https?:", sheet.read_text())
            assert not remote, f"{sheet} imports from the network"
    html = _pages(site)[1].read_text(encoding="utf-8")
    assert 'src="../assets/mathjax/MathJax.js' in html


@pytest.mark.notebook
def test_every_local_asset_the_pages_name_exists(site: Path):
    for page in _pages(site):
        text = page.read_text(encoding="utf-8")
        for ref in re.findall(r"(?:src|href)=\"([^\"#?]+)", text):
            if ref.startswith(("data:", "http:", "https:", "mailto:")):
                continue
            assert (page.parent / ref).exists(), f"{page.name} names a missing file {ref}"


@pytest.mark.notebook
def test_index_has_a_card_with_goals_time_and_links(site: Path):
    index = (site / "index.html").read_text(encoding="utf-8")
    assert build_site.COLLECTION_TITLE in index
    assert index.count('class="card"') == len(list(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")))
    assert index.count("not run yet") == index.count('class="card"') - 1
    assert "From likelihood to loss" in index
    assert re.search(r"run time \d+\.\d s", index)
    assert f'href="html/{SITE_NOTEBOOK}.html"' in index
    assert f'href="slides/{SITE_NOTEBOOK}.slides.html"' in index
    assert index.count("<li>") >= 3
    # every card links its lesson plan; only the built notebook has a handout
    assert index.count('">lesson plan</a>') == index.count('class="card"')
    assert f'href="plans/{SITE_NOTEBOOK}.html"' in index
    if shutil.which("chromium"):
        assert f'href="handouts/{SITE_NOTEBOOK}.pdf"' in index
        assert index.count("handout (PDF)") == 1


@pytest.mark.notebook
def test_the_deck_carries_the_filled_speaker_notes(site: Path):
    deck = (site / "slides" / f"{SITE_NOTEBOOK}.slides.html").read_text(encoding="utf-8")
    pack = lecturer.load(NOTEBOOK_DIR / f"{SITE_NOTEBOOK}.ipynb")
    assert deck.count('<aside class="notes">') == len(pack.notes)
    assert "<strong>Ask the room.</strong>" in deck and "{" not in "".join(
        re.findall(r'<aside class="notes">(.*?)</aside>', deck, re.S)).replace("{{", "")


@pytest.mark.notebook
def test_the_lesson_plan_has_both_sessions_live_cells_exercises_and_misconceptions(site: Path):
    plan = (site / "plans" / f"{SITE_NOTEBOOK}.html").read_text(encoding="utf-8")
    pack = lecturer.load(NOTEBOOK_DIR / f"{SITE_NOTEBOOK}.ipynb")
    assert "A 50-minute session" in plan and "A 90-minute session" in plan
    assert re.search(r"<tfoot><tr><td>50</td>", plan) and re.search(r"<tfoot><tr><td>90</td>",
                                                                    plan)
    assert plan.count("<pre>") == len(pack.live)
    for misconception in pack.misconceptions:
        assert html.escape(misconception) in plan
    assert 'href="../slides/' in plan and 'href="../index.html"' in plan


@pytest.mark.notebook
@pytest.mark.browser
def test_the_handout_is_a_pdf_with_pages_and_the_notebook_s_title(site: Path, site_ko: Path):
    require_chromium()
    from pypdf import PdfReader

    for folder in (site, site_ko):
        pdf = folder / "handouts" / f"{SITE_NOTEBOOK}.pdf"
        assert pdf.is_file(), f"no handout {pdf}"
        reader = PdfReader(pdf)
        assert len(reader.pages) >= 2
        text = re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))
        nb = nbformat.read(folder / "notebooks" / f"{SITE_NOTEBOOK}.ipynb", as_version=4)
        title = build_site.notebook_summary(nb)[0]
        assert re.sub(r"\s+", "", title) in text, f"{pdf}: the title {title!r} is not in its text"
        # the answers are left out of the handout; the notebook's page has them
        shown = {kind: re.sub(r"<[^>]+>", "", (folder / kind / f"{SITE_NOTEBOOK}.html")
                              .read_text(encoding="utf-8")) for kind in ("handouts", "html")}
        assert "solution=True" in shown["html"] and "solution=True" not in shown["handouts"]


@pytest.mark.notebook
def test_the_korean_edition_is_built_offline_and_the_indexes_link_each_other(site: Path,
                                                                            site_ko: Path):
    for page in _pages(site_ko):
        text = page.read_text(encoding="utf-8")
        assert not REMOTE_LOAD.findall(text), f"ko/{page.name} loads from the network"
        for ref in re.findall(r"(?:src|href)=\"([^\"#?]+)", text):
            if not ref.startswith(("data:", "http:", "https:", "mailto:")):
                assert (page.parent / ref).exists(), f"ko/{page.name} names a missing {ref}"
    english, korean = ((folder / "index.html").read_text(encoding="utf-8")
                       for folder in (site, site_ko))
    assert 'href="ko/index.html"' in english and 'href="../index.html"' in korean
    assert '<html lang="ko">' in korean and "오토인코더의 모든 것 — Autoencoders" in korean
    assert re.search(r"실행 시간 \d+\.\d s", korean) and "노트북 읽기" in korean
    assert korean.count("아직 실행하지 않음") == korean.count('class="card"') - 1
    page = (site_ko / "html" / f"{SITE_NOTEBOOK}.html").read_text(encoding="utf-8")
    deck = (site_ko / "slides" / f"{SITE_NOTEBOOK}.slides.html").read_text(encoding="utf-8")
    for text in (page, deck):
        assert '<html lang="ko">' in text and "용어 정리" in text and "우도" in text
    assert "**실행 시간:**" in (site_ko / "notebooks" / f"{SITE_NOTEBOOK}.ipynb").read_text(
        encoding="utf-8")


def test_notebook_summary_reads_title_and_goals():
    nb = new_notebook(cells=[new_markdown_cell(
        "# 07 · A title\n\nIntro.\n\n**Goals**\n\n1. first goal, which\n   wraps;\n"
        "2. *second* goal.\n\n**Run time:** short.")])
    title, goals = build_site.notebook_summary(nb)
    assert title == "07 · A title"
    assert goals == ["first goal, which wraps;", "second goal."]


def test_notebook_summary_rejects_a_notebook_without_title():
    with pytest.raises(ValueError, match="nb"):
        build_site.notebook_summary(new_notebook(cells=[new_code_cell("x = 1")]))
    with pytest.raises(ValueError, match="title"):
        build_site.notebook_summary(new_notebook(cells=[new_markdown_cell("no heading")]))


def test_index_html_escapes_and_marks_unrun_notebooks():
    page = build_site.index_html("T & co", [{
        "name": "x", "title": "<b>", "goals": ["a < b"], "seconds": None, "html": None,
        "slides": "slides/x.slides.html"}])
    assert "T &amp; co" in page and "&lt;b&gt;" in page and "a &lt; b" in page
    assert "not run yet" in page and "HTML not built" in page


def test_vendor_assets_needs_node_modules(tmp_path: Path):
    with pytest.raises(ValueError, match="make vendor"):
        build_site.vendor_assets(tmp_path / "out", node_modules=tmp_path / "empty")


# --- in a real browser ------------------------------------------------------------------------

@pytest.fixture
def offline_page(browser):
    """A page whose requests beyond file:// and loopback are aborted and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.blocked = []

    def guard(route):
        url = urlparse(route.request.url)
        if url.scheme in ("file", "data") or url.hostname in ("127.0.0.1", "localhost", "::1"):
            route.continue_()
        else:
            page.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    yield page
    context.close()


def _typeset(page) -> None:
    page.wait_for_function("window.MathJax && MathJax.Hub && MathJax.isReady", timeout=30_000)
    page.evaluate("new Promise(done => MathJax.Hub.Queue(() => done(true)))")


# reveal.js is loaded as an AMD module (no global), so read the position from the DOM.
CURRENT_SLIDE = ("[...document.querySelectorAll('.reveal .slides > section')]"
                 ".findIndex(s => s.classList.contains('present'))")


def _current_slide(page) -> int:
    return page.evaluate(CURRENT_SLIDE)


@pytest.mark.browser
@pytest.mark.notebook
def test_index_opens_offline(site: Path, offline_page):
    offline_page.goto((site / "index.html").as_uri(), wait_until="load")
    cards = len(list(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")))
    assert offline_page.locator(".card").count() == cards
    assert offline_page.blocked == []


@pytest.mark.browser
@pytest.mark.notebook
def test_notebook_html_typesets_equations_and_shows_images(site: Path, offline_page):
    page = offline_page
    page.goto((site / "html" / f"{SITE_NOTEBOOK}.html").as_uri(), wait_until="load")
    _typeset(page)
    assert page.locator(".MathJax_CHTML").count() > 0
    for text in page.locator(".jp-RenderedMarkdown").all_inner_texts():
        assert not RAW_TEX.search(text), f"raw TeX left in the page: {RAW_TEX.search(text)[0]}"
    images = page.locator(".jp-OutputArea-output img")
    assert images.count() >= 3
    widths = images.evaluate_all("imgs => imgs.map(img => img.complete && img.naturalWidth)")
    assert all(width and width > 0 for width in widths)
    assert page.blocked == []


@pytest.mark.browser
@pytest.mark.notebook
def test_slides_typeset_and_advance_on_the_right_arrow(site: Path, offline_page):
    page = offline_page
    page.goto((site / "slides" / f"{SITE_NOTEBOOK}.slides.html").as_uri(), wait_until="load")
    page.wait_for_selector(".reveal.ready", state="attached", timeout=30_000)
    _typeset(page)
    assert page.locator(".reveal .slides > section").count() > 5
    assert _current_slide(page) == 0
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"({CURRENT_SLIDE}) === 1", timeout=5_000)
    assert page.locator(".reveal .slides .MathJax_CHTML").count() > 0
    assert page.blocked == []


def test_make_run_writes_the_measured_run_time_into_the_executed_copy():
    from scripts.run_notebooks import stamp_run_time

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "# 09 · A title\n\n**Run time:** measured by `make run`,\nwhich writes it here.\n\n"
        "More text.")])
    stamp_run_time(nb, 41.4, fast=False)
    assert "**Run time:** 41 s in full mode on the machine that built this copy" \
        in nb.cells[0].source
    assert nb.cells[0].source.endswith("(measured by `make run`).\n\nMore text.")
    stamp_run_time(nb, 12.0, fast=True)
    assert "12 s in fast mode" in nb.cells[0].source and "41 s" not in nb.cells[0].source


@pytest.mark.browser
@pytest.mark.notebook
def test_the_speaker_view_shows_the_notes_offline(site: Path, offline_page):
    page = offline_page
    page.goto((site / "slides" / f"{SITE_NOTEBOOK}.slides.html").as_uri(), wait_until="load")
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=30_000)
    expected = page.evaluate("""() => {
        const note = document.querySelector('aside.notes');
        const where = Reveal.getIndices(note.closest('section'));
        Reveal.slide(where.h, where.v || 0);
        return note.textContent.trim().split(/\\s+/).slice(0, 6).join(' ');
    }""")
    with page.context.expect_page() as opened:
        page.keyboard.press("s")
    speaker = opened.value
    speaker.wait_for_selector(".speaker-controls-notes", timeout=30_000)
    speaker.wait_for_function(
        "document.querySelector('.speaker-controls-notes').textContent.includes('Ask the room')",
        timeout=30_000)
    shown = " ".join(speaker.locator(".speaker-controls-notes").inner_text().split())
    assert expected in shown, f"the speaker view shows {shown[:200]!r}"
    assert page.blocked == []
