"""Set the reveal.js slide type of every cell of the notebooks from fixed rules.

    python -m scripts.tag_slides [--force] [--check] [NOTEBOOK ...]

With no notebook given, every numbered notebook in notebooks/ is tagged. Only cell metadata
(``metadata.slideshow.slide_type``) changes; sources and outputs are left as they are. A cell
that already has a slide type keeps it unless ``--force`` is given, so running the script twice
changes nothing the second time. ``--check`` writes nothing and exits with status 1 if a cell
would change.

The rules, applied to each cell in order (the first that matches wins):

1. A cell tagged ``slides-skip`` is skipped; one tagged ``slides-notes`` becomes speaker notes.
   These tags are how an author opts a cell out of the rules below. The checks and the
   solutions of "Check yourself" (tags ``exercise-checks`` and ``solution``) are skipped too:
   a deck shows the exercise, not its answer.
2. The first cell (the notebook's title and goals) starts a slide.
3. The cell tagged ``parameters`` and the set-up cells (code cells whose first line of code,
   after comments and ``%``/``!`` magics, is an ``import`` or ``from`` statement) are
   skipped.
4. A code cell longer than ``LONG_CODE_LINES`` lines is work, not an idea, but its output may
   be what the text discusses: it gets a sub-slide of its own, where the deck shows its
   output and folds its code away (``scripts.build_site.deck_notebook``).
5. A markdown cell starting with ``# `` or ``## `` starts a slide; ``### `` starts a sub-slide.
6. A code cell continues the current (sub-)slide if it is the first code cell shown there;
   otherwise it starts a sub-slide, so each slide shows one piece of code and its output.
7. In "Check yourself", an exercise's cell (tagged ``exercise``) continues the slide of its
   question, the markdown cell right before it; that question starts a sub-slide when the
   current slide already shows code (an earlier exercise), so each slide shows one exercise.
8. Any other markdown cell continues the current (sub-)slide.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from aelib.paths import atomic_write

ROOT = Path(__file__).resolve().parents[1]
SKIP_TAG = "slides-skip"
#: Cells a deck never shows: the answers of the exercises.
ANSWER_TAGS = ("exercise-checks", "solution")
NOTES_TAG = "slides-notes"
EXERCISE_TAG = "exercise"
LONG_CODE_LINES = 30
SLIDE_TYPES = ("slide", "subslide", "fragment", "skip", "notes", "-")


def is_setup_code(source: str) -> bool:
    """True if the first line of code in ``source`` (after blank lines, comments and ``%``/``!``
    magics) is an import statement."""
    if not isinstance(source, str):
        raise TypeError(f"source must be a str, got {type(source).__name__}")
    lines = [line.strip() for line in source.splitlines()]
    code = [line for line in lines if line and not line.startswith(("#", "%", "!"))]
    return bool(code) and code[0].startswith(("import ", "from "))


def is_long_code(source: str) -> bool:
    """True if ``source`` has more than ``LONG_CODE_LINES`` lines: a deck shows only its output."""
    return len(source.splitlines()) > LONG_CODE_LINES


def rule_slide_type(cell: nbformat.NotebookNode, index: int, code_shown: bool,
                    question: bool = False) -> str:
    """The slide type the rules give ``cell`` at position ``index``.

    ``code_shown`` says whether the current (sub-)slide already shows a code cell; ``question``
    whether the next cell is an exercise (so this one is its question).
    """
    if not isinstance(index, int) or index < 0:
        raise ValueError(f"index must be a non-negative int, got {index!r}")
    tags = cell.get("metadata", {}).get("tags", [])
    source = cell.get("source", "")
    if SKIP_TAG in tags or any(tag in tags for tag in ANSWER_TAGS):
        return "skip"
    if NOTES_TAG in tags:
        return "notes"
    if index == 0:
        return "slide"
    if cell.cell_type == "code":
        if EXERCISE_TAG in tags:
            return "-"
        if "parameters" in tags or is_setup_code(source):
            return "skip"
        if is_long_code(source):
            return "subslide"
        return "subslide" if code_shown else "-"
    first = source.lstrip()
    if first.startswith(("# ", "## ")):
        return "slide"
    if first.startswith("### ") or (question and code_shown):
        return "subslide"
    return "-"


def tag_notebook(nb: nbformat.NotebookNode, *, force: bool = False) -> int:
    """Set the slide type of every cell of ``nb`` in place; return how many cells changed."""
    if not isinstance(nb, dict) or "cells" not in nb:
        raise TypeError(f"nb must be a notebook node with cells, got {type(nb).__name__}")
    changed = 0
    code_shown = False
    for index, cell in enumerate(nb.cells):
        current = cell.metadata.get("slideshow", {}).get("slide_type")
        question = index + 1 < len(nb.cells) and \
            EXERCISE_TAG in nb.cells[index + 1].metadata.get("tags", [])
        wanted = current if current in SLIDE_TYPES and not force else \
            rule_slide_type(cell, index, code_shown, question)
        if wanted != current:
            cell.metadata.setdefault("slideshow", {})["slide_type"] = wanted
            changed += 1
        if wanted in ("slide", "subslide"):
            code_shown = False
        if cell.cell_type == "code" and wanted not in ("skip", "notes"):
            code_shown = True
    return changed


def tag_file(path: Path, *, force: bool = False, write: bool = True) -> int:
    """Tag the notebook at ``path``; write it back (atomically) only if a cell changed."""
    path = Path(path)
    if path.suffix != ".ipynb":
        raise ValueError(f"path must name an .ipynb file, got {str(path)!r}")
    nb = nbformat.read(path, as_version=4)
    changed = tag_notebook(nb, force=force)
    if changed and write:
        with atomic_write(path) as handle:
            handle.write((nbformat.writes(nb) + "\n").encode("utf-8"))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: all)")
    parser.add_argument("--force", action="store_true",
                        help="re-apply the rules to cells that already have a slide type")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a cell lacks its slide type")
    args = parser.parse_args(argv)
    paths = args.paths or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    status = 0
    for path in paths:
        changed = tag_file(path, force=args.force, write=not args.check)
        if changed:
            verb = "would change" if args.check else "changed"
            print(f"{path.name}: {verb} {changed} cells")
            status = 1 if args.check else status
    return status


if __name__ == "__main__":
    sys.exit(main())
