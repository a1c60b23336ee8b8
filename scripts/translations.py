"""The Korean edition: gettext catalogues of the notebooks' text, and the notebooks built from them.

    python -m scripts.translations status [NAME ...]    # what needs translating; exit 1 if any
    python -m scripts.translations update [NAME ...]    # bring the catalogues in step with English
    python -m scripts.translations glossary [--check]   # the glossary cells, from glossary.csv

Each notebook has one catalogue, ``notebooks/locale/ko/LC_MESSAGES/<notebook>.po`` (any gettext
tool opens it: Poedit, Weblate, ``msgfmt --check``):

- one entry per markdown cell, its context ``cell <id>`` and its ``msgid`` the cell's English
  source. ``update`` marks an entry *fuzzy* when its English cell has changed (the old
  translation stays, for the translator to revise, and gettext's ``#| msgid`` keeps the old
  English to compare), adds entries for new cells and drops those of deleted cells;
- one entry per string a figure shows (context ``figure``; see ``aelib.i18n``), found in the
  code cells: keyword arguments such as ``title=`` and ``xlabel=``, ``ax.set_title(...)`` and
  the like, and the string keys of dict literals (the notebooks' legend and row labels).
  ``notebooks/locale/ko/LC_MESSAGES/aelib.po`` holds those of aelib's own figures.

- one entry per text of the notebook's lecturer's pack (``scripts.lecturer``): each part of
  each speaker note (context ``note <cell id> say|ask|point``; a translation keeps the note's
  ``{field}``s, which the kernel fills) and each line of the lesson plan (``plan widget``,
  ``plan misconception <n>``, ``plan exercise <n>``, ``plan session50 <n>``, ...).
  ``korean_pack`` builds the Korean pack from them.

The closing glossary cell of every notebook is not translated cell by cell: it lists terms
(its metadata ``glossary``) whose English and Korean names are kept once, in
``notebooks/locale/glossary.csv``, and is rendered from there in both languages.

``korean_notebook`` builds a Korean notebook from an English one and its catalogue: the same
code cells, the markdown cells translated, and one cell after the ``parameters`` cell that
turns on the Korean figure text. Korean notebooks are generated, never committed.
"""

from __future__ import annotations

import argparse
import ast
import copy
import csv
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import polib
from IPython.core.inputtransformer2 import TransformerManager

from aelib.i18n import FIGURE_CONTEXT, LIBRARY_DOMAIN, LOCALE_DIR, catalogue_path, fields, literal
from aelib.paths import atomic_write
from scripts import lecturer
from scripts.notebook_runner import ROOT, notebooks

LANGUAGE = "ko"
GLOSSARY = LOCALE_DIR / "glossary.csv"
#: aelib's modules that draw figures; their figure text goes into aelib.po.
LIBRARY_SOURCES = ("plotting.py", "views.py", "widgets.py")
#: The tag of the cell ``korean_notebook`` adds.
TRANSLATION_TAG = "injected-translation"

# Where a string is figure text: arguments and parameter defaults whose name says title or label
# (title=, xlabel=, labels=[...], colour_label=), these methods' positional arguments (name:
# position), and the places ``figure_strings`` lists.
_NAMED_TEXT = re.compile(r"title|label", re.I)
_POSITIONAL = {"set_title": 0, "set_xlabel": 0, "set_ylabel": 0, "set_zlabel": 0, "suptitle": 0,
               "set_text": 0, "text": 2, "annotate": 0, "figtext": 2}
_WORD = re.compile(r"[A-Za-z]{2}")
#: Dict keys that name data, not labels: snake_case names and MIME types.
_DATA_KEY = re.compile(r"\w*_\w*|\w+/[\w.+-]+")


# --------------------------------------------------------------------------- what to translate

def _template(node: ast.AST) -> str | None:
    """The text of a string literal or an f-string, with its fields written ``{expression}``
    (``{{`` and ``}}`` for literal braces): the form an entry's ``msgid`` takes."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}")
    if not isinstance(node, ast.JoinedStr):
        return None
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(str(value.value).replace("{", "{{").replace("}", "}}"))
            continue
        assert isinstance(value, ast.FormattedValue)
        text = "{" + ast.unparse(value.value)
        if value.conversion != -1:
            text += "!" + chr(value.conversion)
        if value.format_spec is not None:
            text += ":" + (_template(value.format_spec) or "").replace("{{", "{").replace("}}", "}")
        parts.append(text + "}")
    return "".join(parts)


def _templates(node: ast.AST) -> list[str]:
    """Every text ``node`` can produce: a string, an f-string, ``a if c else b`` of them, or
    ``a + b`` of them (each combination)."""
    if isinstance(node, ast.IfExp):
        return _templates(node.body) + _templates(node.orelse)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [a + b for a in _templates(node.left) for b in _templates(node.right)]
    text = _template(node)
    return [] if text is None else [text]


def figure_strings(source: str) -> list[str]:
    """The figure text in Python ``source`` (a code cell or a module), in order of appearance:
    arguments and parameter defaults named like titles or labels and those in ``_POSITIONAL``,
    the string keys of dict literals (the notebooks' legends and row labels; not
    ``_DATA_KEY``s), keys with a space assigned to (``curves[f"{name} loss"] = ...``), and the
    strings given to a name that says it holds titles or labels (``ylabels = (...)``)."""
    tree = ast.parse(TransformerManager().transform_cell(source))  # IPython magics to Python
    found: list[tuple[int, int, str]] = []

    def add(node: ast.AST | list[ast.AST] | None) -> None:
        if isinstance(node, (ast.Tuple, ast.List, list)):
            for element in node if isinstance(node, list) else node.elts:
                add(element)
            return
        for text in _templates(node) if node is not None else []:
            if _WORD.search(literal(text)):
                found.append((node.lineno, node.col_offset, text))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg and _NAMED_TEXT.search(keyword.arg):
                    add(keyword.value)
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else \
                getattr(function, "id", None)
            if name in _POSITIONAL and len(node.args) > _POSITIONAL[name]:
                add(node.args[_POSITIONAL[name]])
        elif isinstance(node, ast.DictComp) and " " in (_template(node.key) or ""):
            add(node.key)
        elif isinstance(node, ast.Dict):
            for key in node.keys:
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)
                        and _DATA_KEY.fullmatch(key.value)):
                    add(key)
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = getattr(node, "targets", [getattr(node, "target", None)])
            if any(isinstance(t, ast.Name) and _NAMED_TEXT.search(t.id) for t in targets):
                add(node.value.values if isinstance(node.value, ast.Dict) else node.value)
            for target in targets:   # curves[f"{name} latent path"] = ...: a label with a space
                if isinstance(target, ast.Subscript) and " " in (_template(target.slice) or ""):
                    add(target.slice)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args.posonlyargs + node.args.args
            defaults = zip(arguments[len(arguments) - len(node.args.defaults):],
                           node.args.defaults, strict=True)
            keyword_defaults = zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True)
            for argument, default in [*defaults, *keyword_defaults]:
                if _NAMED_TEXT.search(argument.arg):
                    add(default)
    return list(dict.fromkeys(text for _, _, text in sorted(found)))


@dataclass(frozen=True)
class Message:
    """One thing to translate: its context, its English text and where it comes from."""

    context: str      # "cell <id>" for a markdown cell, "figure" for figure text
    english: str
    where: str        # for the translator and for error messages: "cell 12 (id 3659b4a7)"


def is_glossary(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "markdown" and "glossary" in cell.metadata


def messages(nb: nbformat.NotebookNode) -> list[Message]:
    """What a notebook's catalogue holds: its markdown cells but the glossary, in order, then
    its figure text (each string once, where it first appears)."""
    cells, figures = [], {}
    for index, cell in enumerate(nb.cells):
        where = f"cell {index} (id {cell.id})"
        if cell.cell_type == "markdown" and not is_glossary(cell):
            cells.append(Message(f"cell {cell.id}", cell.source, where))
        elif cell.cell_type == "code":
            for text in figure_strings(cell.source):
                figures.setdefault(text, Message(FIGURE_CONTEXT, text, where))
    return cells + list(figures.values())


#: The context of a note's parts begins with this; their translations keep the note's fields.
NOTE_CONTEXT = "note "


def _pack_texts(pack: lecturer.Pack) -> list[tuple[str, str, str]]:
    """(context, English, where) of every text of ``pack``, in the file's order."""
    texts = [(f"{NOTE_CONTEXT}{cell_id} {part}", note[part], f"note on cell {cell_id}")
             for cell_id, note in pack.notes.items() for part in lecturer.NOTE_PARTS]
    texts.append(("plan widget", pack.widget, "plan: widget"))
    texts += [(f"plan misconception {i}", text, "plan: misconceptions")
              for i, text in enumerate(pack.misconceptions, 1)]
    texts += [(f"plan exercise {e['number']}", e["why"], "plan: exercises")
              for e in pack.exercises]
    texts += [(f"plan {key} {i}", step["activity"], f"plan: {key}")
              for key in lecturer.SESSIONS for i, step in enumerate(pack.sessions[key], 1)]
    return texts


def pack_messages(path: Path, nb: nbformat.NotebookNode | None = None) -> list[Message]:
    """What the catalogue of notebook ``path`` holds of its lecturer's pack."""
    pack = lecturer.load(path, nb=nb)
    return [Message(context, english, f"lecturer's pack, {where}")
            for context, english, where in _pack_texts(pack)]


def notebook_messages(path: Path) -> list[Message]:
    """What the catalogue of notebook ``path`` holds: its cells' and figures' text, then its
    lecturer's pack's."""
    nb = nbformat.read(path, as_version=4)
    return messages(nb) + pack_messages(path, nb)


def library_messages() -> list[Message]:
    """aelib's own figure text: default titles and labels of its plotting functions."""
    found: dict[str, Message] = {}
    for name in LIBRARY_SOURCES:
        for text in figure_strings((ROOT / "aelib" / name).read_text(encoding="utf-8")):
            found.setdefault(text, Message(FIGURE_CONTEXT, text, f"aelib/{name}"))
    return list(found.values())


def _domains(names: Iterable[str] = ()) -> Iterator[tuple[str, list[Message]]]:
    """(catalogue name, its messages) for the selected notebooks, and aelib's."""
    names = list(names)
    for path in notebooks():
        if not names or any(name in path.name for name in names):
            yield path.stem, notebook_messages(path)
    if not names or any(name in LIBRARY_DOMAIN for name in names):
        yield LIBRARY_DOMAIN, library_messages()


# --------------------------------------------------------------------------- catalogues

def _key(entry: polib.POEntry) -> tuple[str, str]:
    return entry.msgctxt or "", entry.msgid


def _new_catalogue(domain: str) -> polib.POFile:
    catalogue = polib.POFile(wrapwidth=0)
    catalogue.metadata = {
        "Project-Id-Version": f"autoencoder notebooks: {domain}",
        "Language": LANGUAGE,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": "nplurals=1; plural=0;",
    }
    return catalogue


def read_catalogue(path: Path) -> polib.POFile:
    return polib.pofile(str(path), wrapwidth=0)


def merged(found: list[Message], old: polib.POFile | None, domain: str) -> polib.POFile:
    """A catalogue holding ``found``: a message whose entry exists keeps it; a cell whose
    English changed keeps its old translation, marked fuzzy with the old English beside it;
    the rest are new and empty; entries of deleted cells and strings are dropped."""
    catalogue = _new_catalogue(domain)
    if old is not None:
        catalogue.metadata.update(old.metadata)
    entries = {} if old is None else {_key(e): e for e in old if not e.obsolete}
    by_context = {} if old is None else {e.msgctxt: e for e in old if not e.obsolete
                                         and e.msgctxt != FIGURE_CONTEXT}
    for message in found:
        kept = entries.get((message.context, message.english))
        if kept is not None:
            entry = copy.copy(kept)
        else:
            entry = polib.POEntry(msgctxt=message.context, msgid=message.english, msgstr="")
            earlier = by_context.get(message.context)
            if earlier is not None and earlier.msgstr:
                entry.msgstr, entry.flags = earlier.msgstr, ["fuzzy"]
                entry.previous_msgid = earlier.previous_msgid if "fuzzy" in earlier.flags \
                    and earlier.previous_msgid else earlier.msgid
        entry.occurrences = []
        entry.comment = message.where
        catalogue.append(entry)
    return catalogue


def write_catalogue(catalogue: polib.POFile, path: Path) -> None:
    """Write ``catalogue`` to ``path`` through a temporary file (nothing half-written)."""
    with atomic_write(path) as handle:
        handle.write(str(catalogue).encode("utf-8") + b"\n")


def update(names: Iterable[str] = (), locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Bring the catalogues of the selected notebooks (and aelib's) in step with the English;
    returns the files written."""
    written = []
    for domain, found in _domains(names):
        path = catalogue_path(LANGUAGE, domain, locale_dir)
        old = read_catalogue(path) if path.exists() else None
        new = merged(found, old, domain)
        if old is None or str(new) != str(old):
            write_catalogue(new, path)
            written.append(path)
    return written


def problems(domain: str, found: list[Message], locale_dir: Path = LOCALE_DIR) -> list[str]:
    """What keeps ``domain``'s catalogue from matching its English, one line per message:
    no entry, an entry for older English (stale), marked fuzzy, or not translated yet."""
    path = catalogue_path(LANGUAGE, domain, locale_dir)
    name = f"{domain}.ipynb" if domain != LIBRARY_DOMAIN else "aelib"
    if not path.exists():
        return [f"{name}: no catalogue {path.relative_to(locale_dir.parent.parent)}"]
    catalogue = read_catalogue(path)
    entries = {_key(e): e for e in catalogue if not e.obsolete}
    contexts = {e.msgctxt for e in catalogue if not e.obsolete}
    said = []
    for message in found:
        what = "figure text " + repr(message.english[:60]) \
            if message.context == FIGURE_CONTEXT else f"markdown {message.where}" \
            if message.context.startswith("cell ") else f"{message.where} ({message.context})"
        entry = entries.get((message.context, message.english))
        if entry is None:
            stale = message.context != FIGURE_CONTEXT and message.context in contexts
            said.append(f"{name} {what}: " + ("stale, the English changed since it was "
                                              "translated" if stale else "no Korean entry"))
        elif "fuzzy" in entry.flags:
            said.append(f"{name} {what}: fuzzy, the translation needs review")
        elif not entry.msgstr.strip():
            said.append(f"{name} {what}: not translated yet")
        elif (message.context == FIGURE_CONTEXT or message.context.startswith(NOTE_CONTEXT)) \
                and sorted(fields(entry.msgstr)) != sorted(fields(entry.msgid)):
            said.append(f"{name} {what}: the translation must keep the fields "
                        f"{fields(entry.msgid)}")
    return said


def status(names: Iterable[str] = (), locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Every problem of the selected catalogues (empty: the Korean edition is complete)."""
    return [line for domain, found in _domains(names)
            for line in problems(domain, found, locale_dir)]


# --------------------------------------------------------------------------- glossary

def read_glossary(path: Path = GLOSSARY) -> dict[str, str]:
    """English term -> Korean term, from the glossary file."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    glossary = {row["english"]: row["korean"] for row in rows}
    if len(glossary) != len(rows):
        raise ValueError(f"{path}: an English term appears twice")
    return glossary


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_glossary(terms: Iterable[str], language: str, glossary: dict[str, str]) -> str:
    """The glossary cell of a notebook listing ``terms``, in English or Korean."""
    terms = list(terms)
    unknown = [term for term in terms if term not in glossary]
    if unknown:
        raise KeyError(f"terms missing from {GLOSSARY.name}: {unknown}")
    if language == "en":
        lines = ["## Glossary — 용어 정리", "", "| English | 한국어 |", "|---|---|"]
        lines += [f"| {_cell(term)} | {_cell(glossary[term])} |" for term in terms]
    else:
        lines = ["## 용어 정리 — Glossary", "", "| 한국어 | English |", "|---|---|"]
        lines += [f"| {_cell(glossary[term])} | {_cell(term)} |" for term in terms]
    return "\n".join(lines)


def glossary_problems(glossary: dict[str, str] | None = None) -> list[str]:
    """Notebooks whose glossary cell is missing or differs from the glossary file."""
    glossary = read_glossary() if glossary is None else glossary
    said = []
    for path in notebooks():
        cells = [c for c in nbformat.read(path, as_version=4).cells if is_glossary(c)]
        if len(cells) != 1:
            said.append(f"{path.name}: {len(cells)} glossary cells (metadata 'glossary')")
        elif cells[0].source != render_glossary(cells[0].metadata["glossary"], "en", glossary):
            said.append(f"{path.name}: the glossary cell differs from {GLOSSARY.name}")
    return said


def write_glossaries() -> list[Path]:
    """Render every notebook's glossary cell from the glossary file; the files changed."""
    glossary, written = read_glossary(), []
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        changed = False
        for cell in filter(is_glossary, nb.cells):
            text = render_glossary(cell.metadata["glossary"], "en", glossary)
            changed |= cell.source != text
            cell.source = text
        if changed:
            with atomic_write(path) as handle:
                handle.write(nbformat.writes(nb).encode("utf-8") + b"\n")
            written.append(path)
    return written


# --------------------------------------------------------------------------- Korean notebooks

class CatalogueOutOfDate(RuntimeError):
    """A notebook's catalogue does not match its English: the message lists what differs."""


def korean_notebook(path: Path, locale_dir: Path = LOCALE_DIR) -> nbformat.NotebookNode:
    """The Korean notebook of ``path``: its markdown translated, its glossary in Korean, its
    code unchanged, and a cell that turns on Korean figure text after the parameters cell."""
    nb = nbformat.read(path, as_version=4)
    said = problems(path.stem, messages(nb), locale_dir)
    if said:
        raise CatalogueOutOfDate(f"{path.name}: the Korean catalogue is not up to date "
                                 f"(python -m scripts.translations status):\n  " +
                                 "\n  ".join(said))
    entries = {_key(e): e.msgstr for e in read_catalogue(catalogue_path(LANGUAGE, path.stem,
                                                                        locale_dir))}
    glossary = read_glossary(locale_dir / GLOSSARY.name)
    for cell in nb.cells:
        if is_glossary(cell):
            cell.source = render_glossary(cell.metadata["glossary"], LANGUAGE, glossary)
        elif cell.cell_type == "markdown":
            cell.source = entries[(f"cell {cell.id}", cell.source)]
    switch = nbformat.v4.new_code_cell(
        "# 한국어판: 그림의 제목과 축 이름은 notebooks/locale/ko/LC_MESSAGES/"
        f"{path.stem}.po 에서 옵니다.\n"
        "from aelib import i18n, plotting\n\n"
        f'plotting.translate_figures(i18n.load("{LANGUAGE}", "{path.stem}"))',
        metadata={"tags": [TRANSLATION_TAG], "slideshow": {"slide_type": "skip"}})
    switch.id = "injected-translation"
    parameters = next((i for i, c in enumerate(nb.cells)
                       if "parameters" in c.metadata.get("tags", [])), 0)
    nb.cells.insert(parameters + 1, switch)
    nb.metadata["language"] = LANGUAGE
    return nb


def korean_pack(path: Path, locale_dir: Path = LOCALE_DIR) -> lecturer.Pack:
    """The lecturer's pack of ``path`` with every note and plan line in Korean, from the
    notebook's catalogue (``CatalogueOutOfDate`` when an entry is missing or stale)."""
    pack = lecturer.load(path)
    said = problems(path.stem, pack_messages(path), locale_dir)
    if said:
        raise CatalogueOutOfDate(f"{path.name}: the Korean catalogue of its lecturer's pack "
                                 "is not up to date (python -m scripts.translations status):"
                                 "\n  " + "\n  ".join(said))
    entries = {_key(e): e.msgstr for e in read_catalogue(catalogue_path(LANGUAGE, path.stem,
                                                                        locale_dir))}
    korean = {context: entries[(context, english)]
              for context, english, _ in _pack_texts(pack)}
    return lecturer.Pack(
        pack.notebook,
        {cell_id: {part: korean[f"{NOTE_CONTEXT}{cell_id} {part}"] for part in note}
         for cell_id, note in pack.notes.items()},
        korean["plan widget"], list(pack.live),
        [korean[f"plan misconception {i}"] for i in range(1, len(pack.misconceptions) + 1)],
        [{**e, "why": korean[f"plan exercise {e['number']}"]} for e in pack.exercises],
        {key: [{**step, "activity": korean[f"plan {key} {i}"]}
               for i, step in enumerate(steps, 1)] for key, steps in pack.sessions.items()})


# --------------------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in [("status", "list what needs translating (exit status 1 if anything)"),
                       ("update", "bring the catalogues in step with the English notebooks")]:
        command = commands.add_parser(name, help=text)
        command.add_argument("names", nargs="*", help="only notebooks whose name contains one")
    glossary = commands.add_parser("glossary", help="render the glossary cells from "
                                   f"{GLOSSARY.relative_to(ROOT)}")
    glossary.add_argument("--check", action="store_true", help="only say which differ")
    args = parser.parse_args(argv)
    if args.command == "update":
        for path in update(args.names):
            print(f"updated {path.relative_to(ROOT)}")
        args.command = "status"
    if args.command == "status":
        said = status(args.names)
        print("\n".join(said) if said else "every catalogue is up to date and translated")
        return 1 if said else 0
    if args.check:
        said = glossary_problems()
        print("\n".join(said) if said else "every glossary cell matches the glossary file")
        return 1 if said else 0
    for path in write_glossaries():
        print(f"rewrote the glossary of {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
