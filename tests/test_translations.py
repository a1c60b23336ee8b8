"""The Korean edition: catalogues in step with the English, text that keeps what must not change,
figure text that renders, and Korean notebooks that share the English code."""

from __future__ import annotations

import re
import shutil
import warnings
from collections import Counter

import matplotlib
import nbformat
import polib
import pytest
from conftest import ROOT

from aelib import i18n, plotting
from scripts import lecturer, translations
from scripts.notebook_runner import notebooks
from scripts.run_notebooks import RUN_TIME_PARAGRAPH, stamp_run_time
from scripts.translations import Message

NOTEBOOKS = notebooks()
IDS = [p.stem for p in NOTEBOOKS]
DOMAINS = [*IDS, i18n.LIBRARY_DOMAIN]
HANGUL = re.compile("[\uac00-\ud7a3]")
CODE_SPAN = re.compile(r"`[^`]+`")
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")


def found(domain: str) -> list[Message]:
    if domain == i18n.LIBRARY_DOMAIN:
        return translations.library_messages()
    return translations.notebook_messages(ROOT / "notebooks" / f"{domain}.ipynb")


def catalogue(domain: str) -> polib.POFile:
    return translations.read_catalogue(i18n.catalogue_path("ko", domain))


# --------------------------------------------------------------------------- kept in step

@pytest.mark.parametrize("domain", DOMAINS)
def test_catalogue_is_complete_and_up_to_date(domain):
    said = translations.problems(domain, found(domain))
    assert not said, ("the Korean catalogue needs work (python -m scripts.translations update, "
                      "then translate what status lists):\n" + "\n".join(said))


def test_catalogues_are_as_update_writes_them():
    """No hand edits that ``update`` would undo: entries in notebook order, comments current."""
    for domain in DOMAINS:
        old = catalogue(domain)
        assert str(translations.merged(found(domain), old, domain)) == str(old), \
            f"{domain}.po: run python -m scripts.translations update"


@pytest.fixture
def one_catalogue(tmp_path):
    """A copy of notebook 08's catalogue in a private locale folder, and its messages."""
    domain = IDS[8]
    target = i18n.catalogue_path("ko", domain, tmp_path)
    target.parent.mkdir(parents=True)
    shutil.copy(i18n.catalogue_path("ko", domain), target)
    return domain, found(domain), tmp_path


def test_status_names_the_notebook_and_cell_of_a_changed_english_cell(one_catalogue):
    domain, messages, locale = one_catalogue
    assert translations.problems(domain, messages, locale) == []
    changed = messages[3]
    messages[3] = Message(changed.context, changed.english + "\n\nA new sentence.", changed.where)
    said = translations.problems(domain, messages, locale)
    assert said == [f"{domain}.ipynb markdown {changed.where}: stale, the English changed "
                    "since it was translated"]


def test_update_marks_a_changed_cell_fuzzy_and_keeps_its_translation(one_catalogue):
    domain, messages, locale = one_catalogue
    old = translations.read_catalogue(i18n.catalogue_path("ko", domain, locale))
    changed = messages[3]
    messages[3] = Message(changed.context, changed.english + " More.", changed.where)
    new = translations.merged(messages, old, domain)
    entry = new.find(changed.english + " More.", msgctxt=changed.context)
    before = old.find(changed.english, msgctxt=changed.context)
    assert entry.fuzzy and entry.msgstr == before.msgstr
    assert entry.previous_msgid == changed.english
    translations.write_catalogue(new, i18n.catalogue_path("ko", domain, locale))
    said = translations.problems(domain, messages, locale)
    assert said == [f"{domain}.ipynb markdown {changed.where}: fuzzy, the translation needs "
                    "review"]
    # With the translation revised (the fuzzy flag removed) the notebook is in step again.
    entry.flags.remove("fuzzy")
    translations.write_catalogue(new, i18n.catalogue_path("ko", domain, locale))
    assert translations.problems(domain, messages, locale) == []


def test_status_names_new_cells_untranslated_entries_and_lost_fields(one_catalogue):
    domain, messages, locale = one_catalogue
    path = i18n.catalogue_path("ko", domain, locale)
    new_cell = Message("cell 0123abcd", "## A new section", "cell 99 (id 0123abcd)")
    assert translations.problems(domain, [*messages, new_cell], locale) == [
        f"{domain}.ipynb markdown cell 99 (id 0123abcd): no Korean entry"]
    po = translations.read_catalogue(path)
    figure = next(e for e in po if e.msgctxt == "figure" and i18n.fields(e.msgid))
    figure.msgstr = i18n.literal(figure.msgstr)   # the translator dropped the fields
    first = po[0]
    first.msgstr = ""
    po.save(str(path))
    said = translations.problems(domain, messages, locale)
    assert f"{domain}.ipynb markdown {messages[0].where}: not translated yet" in said
    assert any(figure.msgid[:60] in line and "must keep the fields" in line for line in said)


def test_korean_notebooks_refuse_a_stale_catalogue(one_catalogue, tmp_path):
    domain, _, locale = one_catalogue
    nb = nbformat.read(ROOT / "notebooks" / f"{domain}.ipynb", as_version=4)
    nb.cells[0].source += " Changed."
    shutil.copy(translations.GLOSSARY, locale / translations.GLOSSARY.name)
    changed = tmp_path / f"{domain}.ipynb"
    nbformat.write(nb, changed)
    with pytest.raises(translations.CatalogueOutOfDate, match=rf"{domain}.ipynb.*cell 0 "):
        translations.korean_notebook(changed, locale)


def test_korean_packs_refuse_a_stale_catalogue_naming_the_note(one_catalogue):
    domain, _, locale = one_catalogue
    path = ROOT / "notebooks" / f"{domain}.ipynb"
    assert translations.korean_pack(path, locale).notebook == domain
    po = translations.read_catalogue(i18n.catalogue_path("ko", domain, locale))
    entry = next(e for e in po if e.msgctxt.startswith(translations.NOTE_CONTEXT))
    entry.msgid += " (older English)"
    po.save(str(i18n.catalogue_path("ko", domain, locale)))
    cell_id, part = entry.msgctxt.split()[1:]
    with pytest.raises(translations.CatalogueOutOfDate,
                       match=rf"(?s){domain}.ipynb: the Korean catalogue of its lecturer's pack.*"
                             rf"note on cell {cell_id} \(note {cell_id} {part}\): stale"):
        translations.korean_pack(path, locale)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_korean_packs_translate_every_text_and_keep_numbers_and_fields(path):
    english, korean = lecturer.load(path), translations.korean_pack(path)
    assert korean.live == english.live and list(korean.notes) == list(english.notes)
    pairs = [(f"note {cell_id} {part}", english.notes[cell_id][part],
              korean.notes[cell_id][part])
             for cell_id in english.notes for part in lecturer.NOTE_PARTS]
    pairs += [("plan widget", english.widget, korean.widget)]
    pairs += [(f"plan exercise {a['number']}", a["why"], b["why"])
              for a, b in zip(english.exercises, korean.exercises, strict=True)]
    pairs += [(f"plan misconception {i}", a, b) for i, (a, b) in
              enumerate(zip(english.misconceptions, korean.misconceptions, strict=True), 1)]
    pairs += [(f"plan {key} {i}", a["activity"], b["activity"]) for key in lecturer.SESSIONS
              for i, (a, b) in enumerate(zip(english.sessions[key], korean.sessions[key],
                                             strict=True), 1)]
    wrong = []
    for where, a, b in pairs:
        if not HANGUL.search(b):
            wrong.append(f"{where}: no Korean in the translation")
        if sorted(lecturer.template_fields(a)) != sorted(lecturer.template_fields(b)):
            wrong.append(f"{where}: the fields differ")
        lost = Counter(NUMBER.findall(a)) - Counter(NUMBER.findall(b))
        if lost:
            wrong.append(f"{where}: numbers missing from the Korean: {sorted(lost)}")
    assert not wrong, f"{path.name}:\n" + "\n".join(wrong)


# --------------------------------------------------------------------------- the Korean text

def _markdown_entries(domain: str) -> list[polib.POEntry]:
    return [e for e in catalogue(domain) if e.msgctxt.startswith("cell ")]


def _span(code: str) -> str:
    return " ".join(code.split())   # a span may wrap across lines


@pytest.mark.parametrize("domain", IDS)
def test_translations_keep_code_formulas_numbers_and_structure(domain):
    wrong = []
    for entry in _markdown_entries(domain):
        english, korean = entry.msgid, entry.msgstr
        where = entry.comment
        # Every code span of the English, unchanged (the Korean may add some: the English
        # names of printed columns, say).
        lost = Counter(map(_span, CODE_SPAN.findall(english))) - \
            Counter(map(_span, CODE_SPAN.findall(korean)))
        if lost:
            wrong.append(f"{where}: inline code missing from the Korean: {sorted(lost)}")
        if english.count("$") != korean.count("$") or english.count("```") != korean.count("```"):
            wrong.append(f"{where}: formulas or code blocks differ")
        lost = Counter(NUMBER.findall(english)) - Counter(NUMBER.findall(korean))
        if lost:
            wrong.append(f"{where}: numbers missing from the Korean: {sorted(lost)}")
        for marker in (r"^#+ ", r"^\|", r"^\s*\d+\. ", r"^\s*[*-] "):
            count = [len(re.findall(marker, text, re.M)) for text in (english, korean)]
            if count[0] != count[1]:
                wrong.append(f"{where}: {count[0]} lines start with {marker!r} in English, "
                             f"{count[1]} in Korean")
        if not HANGUL.search(korean):
            wrong.append(f"{where}: no Korean in the translation")
    assert not wrong, f"{domain}.po:\n" + "\n".join(wrong)


@pytest.mark.parametrize("domain", IDS)
def test_the_korean_run_time_line_is_left_for_make_run(domain):
    first = _markdown_entries(domain)[0].msgstr
    assert RUN_TIME_PARAGRAPH.search(first) and "**실행 시간:**" in first
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(first)])
    stamp_run_time(nb, 12.3, fast=True, language="ko")
    assert "빠른 모드(AELIB_FAST=1)로 12 s" in nb.cells[0].source


# --------------------------------------------------------------------------- glossary

def test_every_glossary_cell_is_rendered_from_the_glossary_file():
    assert translations.glossary_problems() == []


def test_the_glossary_file_has_every_term_once_and_each_is_used():
    glossary = translations.read_glossary()
    assert all(english.strip() and HANGUL.search(korean) for english, korean in glossary.items())
    used = set()
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            used.update(cell.metadata.get("glossary", []))
    assert set(glossary) == used, f"terms no notebook lists: {sorted(set(glossary) - used)}"


def test_glossary_renders_both_ways_and_escapes_bars():
    glossary = {"likelihood p(x | z)": "우도"}
    english = translations.render_glossary(["likelihood p(x | z)"], "en", glossary)
    korean = translations.render_glossary(["likelihood p(x | z)"], "ko", glossary)
    assert english.endswith("| likelihood p(x \\| z) | 우도 |")
    assert korean.startswith("## 용어 정리") and korean.endswith("| 우도 | likelihood p(x \\| z) |")
    with pytest.raises(KeyError, match="prior"):
        translations.render_glossary(["prior"], "ko", glossary)


# --------------------------------------------------------------------------- Korean notebooks

@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_korean_notebook_shares_the_code_and_translates_every_markdown_cell(path):
    english = nbformat.read(path, as_version=4)
    korean = translations.korean_notebook(path)
    added = [c for c in korean.cells if translations.TRANSLATION_TAG in c.metadata.get("tags", [])]
    assert len(added) == 1
    parameters = next(i for i, c in enumerate(korean.cells)
                      if "parameters" in c.metadata.get("tags", []))
    assert korean.cells[parameters + 1] is added[0]
    assert f'i18n.load("ko", "{path.stem}")' in added[0].source
    rest = [c for c in korean.cells if c is not added[0]]
    assert [c.source for c in rest if c.cell_type == "code"] == \
        [c.source for c in english.cells if c.cell_type == "code"]
    assert [c.id for c in rest] == [c.id for c in english.cells]
    for cell in rest:
        if cell.cell_type == "markdown":
            assert HANGUL.search(cell.source), f"{path.name} cell {cell.id} is not in Korean"
    assert sum(c.source.startswith("## 용어 정리") for c in rest) == 1
    nbformat.validate(korean)


# --------------------------------------------------------------------------- figure text

def test_templates_match_formatted_text_and_carry_the_values_over():
    catalogue = i18n.Catalogue({
        "Held-out digits rebuilt from {CODE_DIM} numbers": "{CODE_DIM}개의 숫자로 재구성",
        "{name}: precision@{K} = {p:.3f}": "{name}: 정밀도@{K} = {p:.3f}",
        "set {{a}} of {n}": "{n}개 중 {{a}}",
        "epoch": "에포크",
    })
    assert catalogue.translate("Held-out digits rebuilt from 16 numbers") == "16개의 숫자로 재구성"
    assert catalogue.translate("AE (16): precision@5 = 0.912") == "AE (16): 정밀도@5 = 0.912"
    assert catalogue.translate("set {a} of 3") == "3개 중 {a}"
    assert catalogue.translate("epoch") == "에포크"
    assert catalogue.translate("epochs") == "epochs"   # whole strings only
    assert catalogue.translate("0.25") == "0.25"


def test_the_most_specific_template_wins():
    catalogue = i18n.Catalogue({"prior = {name}": "사전 분포 = {name}",
                                "prior = {name}, labelled": "사전 분포 = {name}, 레이블 사용"})
    assert catalogue.translate("prior = mixture, labelled") == "사전 분포 = mixture, 레이블 사용"
    assert catalogue.translate("prior = mixture") == "사전 분포 = mixture"


def test_a_translation_must_keep_the_fields_and_a_template_must_have_text():
    with pytest.raises(ValueError, match="fields"):
        i18n.Catalogue({"rebuilt from {CODE_DIM} numbers": "재구성"})
    with pytest.raises(ValueError, match="only fields"):
        i18n.Catalogue({"{name}": "{name}"})


def test_figure_strings_are_found_where_figures_take_text():
    code = '''
rows = {"original": x, f"d = {s}": y, "image_shape": z}
plotting.plot_curves(c, title=f"Error at {n:,} samples", xlabel="epoch", ylabel="loss")
ax.set_title("Codes"); ax.text(0, 1, "note here")
print("not a figure")
%timeit f(x)
'''
    assert translations.figure_strings(code) == [
        "original", "Error at {n:,} samples", "epoch", "loss", "Codes", "note here"]


def test_drawn_figures_are_translated_and_english_comes_back():
    catalogue = i18n.Catalogue({"Reconstruction error": "재구성 오차", "epoch": "에포크",
                                "training images": "학습 이미지"})
    with matplotlib.rc_context():
        plotting.translate_figures(catalogue)
        try:
            fig = plotting.plot_curves({"training images": [3.0, 2.0]}, title="Reconstruction "
                                       "error", xlabel="epoch", ylabel="loss")
            plotting.fig_to_png(fig)
            texts = {t.get_text() for t in fig.findobj(matplotlib.text.Text)}
            assert {"재구성 오차", "에포크", "학습 이미지", "loss"} <= texts
        finally:
            plotting.translate_figures(None)
        fig = plotting.plot_curves({"a": [1.0]}, title="Reconstruction error", xlabel="epoch",
                                   ylabel="loss")
        plotting.fig_to_png(fig)
        assert "재구성 오차" not in {t.get_text() for t in fig.findobj(matplotlib.text.Text)}


def test_every_korean_figure_string_renders_without_a_missing_glyph():
    """Each translated title and label of every catalogue, drawn in the Korean font setting:
    matplotlib warns "Glyph ... missing from font(s)" for any character it cannot draw."""
    texts = sorted({i18n.literal(e.msgstr) for domain in DOMAINS for e in catalogue(domain)
                    if e.msgctxt == "figure" and e.msgstr})
    assert any(HANGUL.search(text) for text in texts)
    with matplotlib.rc_context(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plotting.translate_figures(i18n.Catalogue({}))
        try:
            fig, (ax,) = plotting.panels(1, title="한국어 그림 — 재구성 오차 σ² z₁ ‖h‖")
            for row, text in enumerate(texts):
                ax.text(0, row, text.replace("$", ""))
            ax.set(ylim=(0, len(texts)), xlabel="에포크", ylabel="손실")
            plotting.fig_to_png(fig)
        finally:
            plotting.translate_figures(None)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing[:5]


def test_a_hangul_font_installed_after_matplotlib_built_its_font_list_is_found(monkeypatch):
    manager = matplotlib.font_manager.fontManager
    files = {f.fname for f in manager.ttflist if f.name in plotting.HANGUL_FONTS}
    monkeypatch.setattr(manager, "ttflist", [f for f in manager.ttflist if f.fname not in files])
    assert plotting.hangul_font() in plotting.HANGUL_FONTS


def test_no_hangul_font_is_a_clear_error(monkeypatch):
    manager = matplotlib.font_manager.fontManager
    monkeypatch.setattr(manager, "ttflist", [f for f in manager.ttflist
                                             if f.name not in plotting.HANGUL_FONTS])
    monkeypatch.setattr(matplotlib.font_manager, "findSystemFonts", lambda *a, **k: [])
    with pytest.raises(RuntimeError, match="fonts-noto-cjk"):
        plotting.hangul_font()


def test_load_reads_the_notebook_and_library_catalogues():
    catalogue = i18n.load("ko", IDS[4])
    assert len(catalogue) > 0
    english = next(e for e in catalogue_entries(IDS[4]) if not i18n.fields(e.msgid))
    assert catalogue.translate(english.msgid) == english.msgstr
    library = next(e for e in catalogue_entries(i18n.LIBRARY_DOMAIN) if not i18n.fields(e.msgid))
    assert catalogue.translate(library.msgid) == library.msgstr
    with pytest.raises(FileNotFoundError, match="no 'ko' catalogue"):
        i18n.load("ko", "99_missing")


def catalogue_entries(domain: str) -> list[polib.POEntry]:
    return [e for e in catalogue(domain) if e.msgctxt == "figure" and e.msgstr]
