"""Build the offline site in build/: notebook HTML, reveal.js slides, the lecturer's pack and an
index page.

    python -m scripts.build_site [--out build] [--slides-only] [NAME_PART ...]

Reads the executed notebooks in ``<out>/notebooks`` (falls back to the unexecuted ones in
notebooks/ when a notebook has not been run) and the run times that ``scripts.run_notebooks``
records in ``<out>/timings.json``. Every script, style sheet and font the pages load is copied
from ``site/node_modules`` (``make vendor``) into ``<out>/assets``, so the folder can be zipped
and opened from file:// with no network.

Beside each notebook's page and deck: its lesson plan (``plans/``, from its lecturer's pack,
``scripts.lecturer``) and a printable handout (``handouts/``, an A4 PDF printed by chromium).
The decks use the collection's template (``SLIDES_TEMPLATE``) and carry the speaker notes that
``make run`` filled in the kernel.

``--lang ko`` builds the Korean edition in ``<out>/ko`` the same way (its own assets, so that
folder stands alone); each edition's index links to the other.
"""

from __future__ import annotations

import argparse
import ast
import html
import json
import re
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter, SlidesExporter
from traitlets.config import Config

from aelib.paths import atomic_write
from scripts import lecturer
from scripts.notebook_runner import notebooks
from scripts.tag_slides import ANSWER_TAGS, is_long_code
from scripts.translations import korean_notebook, korean_pack

ROOT = Path(__file__).resolve().parents[1]
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run"]
NODE_MODULES = ROOT / "site" / "node_modules"
#: The nbconvert template of the decks (it extends nbconvert's reveal template).
SLIDES_TEMPLATE = ROOT / "scripts" / "jupyter" / "nbconvert" / "aelib_slides"
COLLECTION_TITLE = "Autoencoders from the ground up — 오토인코더의 모든 것"
#: The words of each edition's index page.
INDEX_TEXT = {
    "en": {"title": COLLECTION_TITLE, "ran": "run time {seconds:.1f} s", "not_run": "not run yet",
           "read": "read the notebook", "no_html": "HTML not built", "slides": "slides",
           "plan": "lesson plan", "handout": "handout (PDF)",
           "intro": "Every notebook executed, with its figures; its slides (arrow keys to move; "
                    "press <kbd>S</kbd> for the speaker notes); a lesson plan for a 50- or "
                    "90-minute class; and a handout to print. Everything here works offline.",
           "other": '<a href="ko/index.html" lang="ko">한국어판 (the Korean edition)</a>',
           "other_missing": "한국어판 (the Korean edition): <code>make run LANG=ko</code>"},
    "ko": {"title": "오토인코더의 모든 것 — Autoencoders from the ground up",
           "ran": "실행 시간 {seconds:.1f} s", "not_run": "아직 실행하지 않음",
           "read": "노트북 읽기", "no_html": "HTML을 아직 만들지 않음", "slides": "슬라이드",
           "plan": "수업 계획", "handout": "유인물 (PDF)",
           "intro": "모든 노트북을 실행한 결과(그림 포함), 슬라이드(화살표 키로 이동, "
                    "<kbd>S</kbd> 키로 발표자 노트), 50분 또는 90분 수업의 수업 계획, 인쇄용 "
                    "유인물입니다. 여기 있는 모든 것은 오프라인에서 동작합니다.",
           "other": '<a href="../index.html" lang="en">English edition (영어판)</a>'},
}
# Relative to build/html and build/slides: both sit one level below build/.
ASSETS = "../assets"
MATHJAX_URL = f"{ASSETS}/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
# What the pages need from each npm package (paths inside the package).
VENDORED = {
    "mathjax": ["MathJax.js", "config", "extensions", "jax/element", "jax/input/TeX",
                "jax/output/CommonHTML", "fonts/HTML-CSS/TeX/woff", "localization/en"],
    "reveal.js": ["dist", "plugin/notes"],
    "requirejs": ["require.js"],
    "jquery": ["dist/jquery.min.js"],
}
#: nbconvert's default HTML order, with the widget view moved after the images: the pages show
#: the PNG that aelib's widgets publish beside their view even when the notebook holds saved
#: widget state (which would otherwise win and need JavaScript).
STATIC_DISPLAY_PRIORITY = (
    "application/javascript", "text/html", "text/markdown", "image/svg+xml",
    "text/vnd.mermaid", "text/latex", "image/png", "image/jpeg",
    "application/vnd.jupyter.widget-view+json", "text/plain",
)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, creating the folder."""
    with atomic_write(path) as handle:
        handle.write(text.encode("utf-8"))
    path.chmod(0o644)  # readable by all, as a page of a site should be (the temporary file was not)


def vendor_assets(out: Path, node_modules: Path = NODE_MODULES) -> Path:
    """Copy the browser assets from ``node_modules`` into ``out/assets``; return that folder."""
    node_modules, target = Path(node_modules), Path(out) / "assets"
    missing = [name for name in VENDORED if not (node_modules / name).is_dir()]
    if missing:
        raise ValueError(f"node_modules must hold {missing} ({node_modules}); run `make vendor`")
    for package, parts in VENDORED.items():
        for part in parts:
            source, dest = node_modules / package / part, target / package / part
            dest.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, dest, dirs_exist_ok=True)
            else:
                shutil.copy2(source, dest)
    return target


# The static pages run no widgets and hold no mermaid diagrams, yet the templates would fetch
# both renderers from a CDN; these inline, do-nothing modules stand in for them.
NO_WIDGET_RENDERER = "data:text/javascript,"
NO_MERMAID = "data:text/javascript,export default {initialize() {}};"


def _local_urls(assets: str) -> dict[str, str]:
    return {"mathjax_url": MATHJAX_URL.replace(ASSETS, assets),
            "require_js_url": f"{assets}/requirejs/require.js",
            "jquery_url": f"{assets}/jquery/dist/jquery.min.js",
            "widget_renderer_url": NO_WIDGET_RENDERER}


def _offline(exporter: HTMLExporter) -> HTMLExporter:
    # Not configurable traits in nbconvert 7, so set on the instance.
    exporter.mermaid_js_url = NO_MERMAID
    exporter.mermaid_layout_elk_js_url = ""
    return exporter


def html_exporter(assets: str = ASSETS, language: str = "en") -> HTMLExporter:
    """The lab-template HTML exporter with every asset URL pointing at ``assets``, for pages in
    ``language`` (their ``<html lang>``).

    Widgets show their static fallback figure (``STATIC_DISPLAY_PRIORITY``).
    """
    return _offline(HTMLExporter(template_name="lab", config=Config({
        "NbConvertBase": {"display_data_priority": list(STATIC_DISPLAY_PRIORITY)},
        "HTMLExporter": {**_local_urls(assets), "language_code": language}})))


def slides_exporter(assets: str = ASSETS, language: str = "en") -> SlidesExporter:
    """The reveal.js exporter using the local reveal.js, MathJax, require.js and jQuery, with
    the collection's template (``SLIDES_TEMPLATE``: 16:9 slides whose content fits the slide)."""
    return _offline(SlidesExporter(config=Config({
        "NbConvertBase": {"display_data_priority": list(STATIC_DISPLAY_PRIORITY)},
        "SlidesExporter": {**_local_urls(assets), "language_code": language,
                           "template_name": SLIDES_TEMPLATE.name,
                           "extra_template_basedirs": [str(SLIDES_TEMPLATE.parent)],
                           "reveal_url_prefix": f"{assets}/reveal.js",
                           # "white" imports only local fonts; "simple" fetches Google fonts.
                           "reveal_theme": "white"}})))


def fold_claims(source: str) -> str:
    """``source`` with each run of top-level ``claim(...)`` statements (the checks that back
    the text's sentences: they teach nothing on a slide or a handout) replaced by one comment;
    unchanged if it holds none or does not parse as Python (a magic, say)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    claims = [node for node in tree.body if isinstance(node, ast.Expr)
              and isinstance(node.value, ast.Call)
              and getattr(node.value.func, "id", None) == "claim"]
    if not claims:
        return source
    lines, folded, skip = source.splitlines(), [], set()
    runs: list[list[ast.stmt]] = []
    for node in claims:
        if runs and all(not lines[i].strip() for i in range(runs[-1][-1].end_lineno,
                                                            node.lineno - 1)):
            runs[-1].append(node)
        else:
            runs.append([node])
    starts = {}
    for run in runs:
        starts[run[0].lineno - 1] = len(run)
        skip.update(range(run[0].lineno - 1, run[-1].end_lineno))
    for index, line in enumerate(lines):
        if index in starts:
            count = starts[index]
            folded.append(f"# … {count} check{'s' if count > 1 else ''} of the text's claims "
                          "(claim(...), in the notebook)")
        elif index not in skip:
            folded.append(line)
    return "\n".join(folded)


def deck_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What a deck shows of the executed ``nb``: its speaker notes added, claims folded, and
    of a long code cell (``tag_slides.is_long_code``) only the output, or nothing if it has
    none."""
    deck = lecturer.with_notes(nb)
    for cell in deck.cells:
        if cell.cell_type != "code":
            continue
        if is_long_code(cell.source):
            cell.metadata["transient"] = {"remove_source": True}
            if not cell.get("outputs"):
                cell.metadata.setdefault("slideshow", {})["slide_type"] = "skip"
        cell.source = fold_claims(cell.source)
    return deck


def handout_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What a printed handout shows of the executed ``nb``: the code a slide shows (claims
    folded) with every output; the set-up code that no slide shows, folded away (its output
    stays); the exercises open, without their answers."""
    out = nbformat.from_dict(nb)
    out.cells = [cell for cell in out.cells
                 if not any(tag in cell.metadata.get("tags", []) for tag in ANSWER_TAGS)]
    for cell in out.cells:
        if cell.cell_type != "code":
            continue
        if cell.metadata.get("slideshow", {}).get("slide_type") == "skip":
            cell.metadata["transient"] = {"remove_source": True}
        cell.source = fold_claims(cell.source)
    return out


def notebook_summary(nb: nbformat.NotebookNode) -> tuple[str, list[str]]:
    """The title (first ``#`` heading) and learning goals (the numbered list) of the first cell.

    Raises ValueError when the first cell is not markdown or has no ``#`` heading.
    """
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        raise ValueError("nb must start with a markdown cell holding its title and goals")
    lines = nb.cells[0].source.splitlines()
    title = next((ln[2:].strip() for ln in lines if ln.startswith("# ")), None)
    if title is None:
        raise ValueError("nb's first cell must contain a '# ' title line")
    goals: list[str] = []
    for line in lines:
        item = re.match(r"^\d+\.\s+(.*)", line)
        if item:
            goals.append(item.group(1).strip())
        elif goals and line.startswith("   ") and line.strip():
            goals[-1] += " " + line.strip()
        elif goals and not line.strip():
            break
    plain = [re.sub(r"\*+|`", "", goal) for goal in goals]
    return title, plain


def index_html(title: str, cards: Iterable[dict], language: str = "en",
               other_edition: bool = False) -> str:
    """The index page: ``cards`` hold name, title, goals, seconds (or None), html, slides;
    ``other_edition``: whether the other language's index exists, to link to it."""
    words = INDEX_TEXT[language]
    parts = []
    for card in cards:
        seconds = card.get("seconds")
        time_text = words["ran"].format(seconds=seconds) if seconds is not None \
            else words["not_run"]
        goals = "".join(f"<li>{html.escape(goal)}</li>" for goal in card["goals"])
        notebook_link = (f'<a href="{html.escape(card["html"])}">{words["read"]}</a>'
                         if card.get("html") else f"<span>{words['no_html']}</span>")
        parts.append(
            f'<article class="card" id="{html.escape(card["name"])}">'
            f'<h2>{html.escape(card["title"])}</h2>'
            f'<p class="meta">{html.escape(time_text)}</p><ol>{goals}</ol>'
            f'<p class="links">{notebook_link} · '
            f'<a href="{html.escape(card["slides"])}">{words["slides"]}</a>'
            + "".join(f' · <a href="{html.escape(card[key])}">{words[key]}</a>'
                      for key in ("plan", "handout") if card.get(key))
            + "</p></article>")
    other = words["other"] if other_edition else words.get("other_missing", words["other"])
    return f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 64rem;
       padding: 0 1rem; color: #222; background: #fafafa; }}
h1 {{ font-size: 1.8rem; }}
.cards {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(28rem, 1fr));
          gap: 1rem; }}
.card {{ background: white; border: 1px solid #ddd; border-radius: 8px; padding: 0 1rem; }}
.card h2 {{ font-size: 1.15rem; }}
.meta {{ color: #666; font-size: 0.9rem; }}
.card li {{ margin-bottom: 0.3rem; font-size: 0.95rem; }}
.links a {{ font-weight: 600; }}
</style></head>
<body><h1>{html.escape(title)}</h1>
<p>{words["intro"]}</p>
<p class="edition">{other}</p>
<main class="cards">{"".join(parts)}</main></body></html>
"""


def _notebook(out: Path, source: Path, language: str) -> tuple[nbformat.NotebookNode, bool]:
    """The executed copy of ``source`` in ``out`` if there is one, else the unexecuted one in
    ``language``; and whether it was executed."""
    executed = out / "notebooks" / source.name
    if executed.exists():
        return nbformat.read(executed, as_version=4), True
    if language == "en":
        return nbformat.read(source, as_version=4), False
    return korean_notebook(source), False


def build(out: Path, *, names: Iterable[str] = (), slides_only: bool = False,
          language: str = "en", handouts: bool = True) -> list[dict]:
    """Vendor the assets and write slides (with speaker notes), lesson plans, notebook HTML
    (unless ``slides_only``), handouts (if ``handouts``) and the index.

    ``names``: rebuild only the notebooks whose file name contains one of them (all when
    empty); the index always lists every notebook, with what has been built of each.
    ``language``: the edition ``out`` holds ("en", or "ko" for ``<site>/ko``).
    ``handouts``: print each executed notebook's handout to PDF with chromium (skipped, with a
    message, where chromium is not installed).
    """
    out, names = Path(out), list(names)
    vendor_assets(out)
    slides, pages = slides_exporter(language=language), html_exporter(language=language)
    printed, planned = [], []
    for source in notebooks():
        selected = not names or any(name in source.name for name in names)
        deck_path = out / "slides" / f"{source.stem}.slides.html"
        page = out / "html" / f"{source.stem}.html"
        if not (selected or not deck_path.exists()):
            continue
        nb, executed = _notebook(out, source, language)
        write_text(deck_path, slides.from_notebook_node(deck_notebook(nb))[0])
        planned.append((source, nb))
        if executed and not slides_only:
            write_text(page, pages.from_notebook_node(nb)[0])
        if executed and handouts:
            handout = out / "handouts" / f"{source.stem}.html"
            write_text(handout, pages.from_notebook_node(handout_notebook(nb))[0])
            printed.append(handout)
    if printed:
        if shutil.which("chromium") is None:
            print("handouts not printed: install chromium (apt-get install chromium) for the "
                  "PDFs", file=sys.stderr)
        else:
            print_pdfs(printed)
    for source, nb in planned:      # after the handouts, which they link to
        write_plan(out, source, nb, language)
    return write_index(out, language)


def write_plan(out: Path, source: Path, nb: nbformat.NotebookNode, language: str) -> Path:
    """Write the lesson plan of ``source`` (``nb``: its notebook) to ``out/plans``."""
    title, goals = notebook_summary(nb)
    pack = lecturer.load(source) if language == "en" else korean_pack(source)
    stem = source.stem
    links = {"index": "../index.html",
             "notebook": f"../html/{stem}.html" if (out / "html" / f"{stem}.html").exists()
             else None,
             "slides": f"../slides/{stem}.slides.html",
             "handout": f"../handouts/{stem}.pdf"
             if (out / "handouts" / f"{stem}.pdf").exists() else None}
    target = out / "plans" / f"{stem}.html"
    write_text(target, lecturer.plan_html(nb, pack, title=title, goals=goals, links=links,
                                          language=language))
    return target


#: What a printed page adds to the notebook HTML: no prompts, code that wraps, figures that fit.
PRINT_CSS = """
.jp-InputPrompt, .jp-OutputPrompt { display: none !important; }
:root { --jp-cell-prompt-width: 0px; }
pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
img { max-width: 100% !important; height: auto !important; }
.jp-Cell { break-inside: avoid-page; }
"""


def _local_only(route) -> None:
    """A Playwright route handler: files and inline data load, anything else is refused."""
    if route.request.url.startswith(("file:", "data:")):
        route.continue_()
    else:
        route.abort()


def print_pdfs(pages: Iterable[Path]) -> list[Path]:
    """Print each HTML page to a PDF beside it (A4, typeset, offline); return the PDFs."""
    from playwright.sync_api import sync_playwright

    done = []
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=shutil.which("chromium"),
                                       args=BROWSER_ARGS)
        page = browser.new_page()
        page.route("**/*", _local_only)
        for source in pages:
            page.goto(Path(source).resolve().as_uri(), wait_until="load")
            page.wait_for_function("window.MathJax && MathJax.Hub && MathJax.isReady",
                                   timeout=60_000)
            page.evaluate("new Promise(done => MathJax.Hub.Queue(() => done(true)))")
            page.add_style_tag(content=PRINT_CSS)
            target = Path(source).with_suffix(".pdf")
            with atomic_write(target) as handle:
                handle.write(page.pdf(format="A4", print_background=True,
                                      margin={"top": "14mm", "bottom": "14mm",
                                              "left": "12mm", "right": "12mm"}))
            target.chmod(0o644)
            done.append(target)
        browser.close()
    return done


def write_index(out: Path, language: str = "en") -> list[dict]:
    """Write ``out/index.html`` from what ``out`` holds: a card per notebook, with its run time
    and links to its page and slides, and a link to the other edition; returns the cards."""
    out = Path(out)
    timings_file = out / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    cards = []
    for source in notebooks():
        title, goals = notebook_summary(_notebook(out, source, language)[0])
        page = out / "html" / f"{source.stem}.html"
        cards.append({"name": source.stem, "title": title, "goals": goals,
                      "seconds": timings.get(source.name),
                      "html": f"html/{page.name}" if page.exists() else None,
                      "slides": f"slides/{source.stem}.slides.html",
                      "plan": f"plans/{source.stem}.html"
                      if (out / "plans" / f"{source.stem}.html").exists() else None,
                      "handout": f"handouts/{source.stem}.pdf"
                      if (out / "handouts" / f"{source.stem}.pdf").exists() else None})
    other = (out / "ko" / "index.html") if language == "en" else (out.parent / "index.html")
    write_text(out / "index.html", index_html(INDEX_TEXT[language]["title"], cards, language,
                                              other.exists()))
    return cards


def take_screenshots(out: Path, docs: Path, deck: str) -> list[Path]:
    """Photograph ``out/index.html`` and the second slide of ``deck`` into ``docs`` (PNG).

    Uses Debian's chromium through Playwright, offline (every non-file request is aborted).
    """
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise ValueError("chromium must be installed (apt-get install chromium) for screenshots")
    docs.mkdir(parents=True, exist_ok=True)
    shots = [(out / "index.html", docs / "index.png", False),
             (out / "slides" / f"{deck}.slides.html", docs / "slide.png", True)]
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.route("**/*", _local_only)
        for source, target, is_deck in shots:
            page.goto(source.resolve().as_uri(), wait_until="load")
            if is_deck:
                page.wait_for_selector(".reveal.ready", state="attached")
                page.keyboard.press("ArrowRight")
            page.wait_for_timeout(1500)   # let MathJax typeset
            page.screenshot(path=str(target))
        browser.close()
    return [target for _, target, _ in shots]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output folder")
    parser.add_argument("--slides-only", action="store_true",
                        help="write slides, plans and the index, not the notebook HTML or the "
                             "handouts")
    parser.add_argument("--screenshots", type=Path, metavar="DOCS",
                        help="only photograph the built index and a slide into DOCS")
    parser.add_argument("--lang", choices=tuple(INDEX_TEXT), default="en",
                        help="the edition: en (into OUT) or ko (into OUT/ko)")
    parser.add_argument("names", nargs="*", help="only notebooks whose name contains one")
    args = parser.parse_args(argv)
    if args.screenshots:
        decks = sorted((args.out / "slides").glob("*.slides.html"))
        if not decks:
            print(f"no slides in {args.out / 'slides'}: run `make run` first", file=sys.stderr)
            return 2
        wanted = [d for d in decks if any(n in d.name for n in args.names)] or decks
        deck = wanted[min(1, len(wanted) - 1)].name.removesuffix(".slides.html")
        for path in take_screenshots(args.out, args.screenshots, deck):
            print(f"wrote {path}")
        return 0
    out = args.out if args.lang == "en" else args.out / args.lang
    cards = build(out, names=args.names, slides_only=args.slides_only, language=args.lang,
                  handouts=not args.slides_only)
    print(f"{len(cards)} slide decks in {out / 'slides'}; index {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
