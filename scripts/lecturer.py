"""The lecturer's pack: speaker notes for the slides and a lesson plan for every notebook.

    python -m scripts.lecturer check [NAME ...]    # every pack file well formed; exit 1 if not

Each notebook has one pack file, ``notebooks/lecturer/<notebook>.toml``:

- ``[notes.<cell id>]``: the speaker notes of the slide that shows that cell, in three parts:
  ``say`` (what to say), ``ask`` (the question to put to the room) and ``point`` (the number to
  point at). Any part may quote the notebook's own values with ``{name}`` fields, formatted
  as in ``str.format`` (``{ratio:.2f}``, ``{scores[ae]:.1f}``; a literal brace is doubled).
  ``scripts.notebook_runner.execute`` fills the fields in the kernel right after that cell has
  run, on the last pass, so a note quotes exactly what the slide shows and cannot go stale;
  the filled notes land in the executed notebook's metadata (``speaker_notes``), and
  ``with_notes`` turns them into the deck's notes cells (reveal.js: press S).
- ``[plan]``: ``widget`` (which widget or app to show, and when), ``live`` (the ids of the code
  cells to run live in class), ``misconceptions`` (what learners tend to believe that the
  notebook corrects), ``[[plan.exercises]]`` (``number``: an exercise of "Check yourself",
  ``when``: "in class" or "homework", ``why``), and two timings, ``[[plan.session50]]`` and
  ``[[plan.session90]]``, lists of ``minutes`` and ``activity`` that add up to 50 and 90.
  ``plan_html`` renders the plan as one page, ``build/plans/<notebook>.html``.

``check`` (and ``tests/test_lecturer.py``) refuses a pack that names a cell the notebook does
not have, a note on a cell no slide shows, a field that is not a plain name, or timings that do
not add up.
"""

from __future__ import annotations

import argparse
import html
import re
import string
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import nbformat

from scripts.notebook_runner import NOTEBOOK_DIR, NOTES_KEY, notebooks
from scripts.tag_slides import EXERCISE_TAG

PACK_DIR = NOTEBOOK_DIR / "lecturer"
NOTE_PARTS = ("say", "ask", "point")
SESSIONS = {"session50": 50, "session90": 90}
WHEN = ("in class", "homework")
#: The headings of a note's parts and of a plan page, per edition.
WORDS = {
    "en": {"say": "Say", "ask": "Ask the room", "point": "Point at",
           "plan": "Lesson plan", "session50": "A 50-minute session",
           "session90": "A 90-minute session", "minutes": "min", "activity": "What happens",
           "live": "Cells to run live", "widget": "Widget to show",
           "exercises": "Exercises to set", "misconceptions": "Misconceptions it corrects",
           "goals": "Learning goals", "index": "all notebooks", "slides": "slides",
           "notebook": "the notebook", "handout": "handout (PDF)", "total": "total",
           "in class": "in class", "homework": "homework"},
    "ko": {"say": "말할 것", "ask": "청중에게 물을 것", "point": "가리킬 숫자",
           "plan": "수업 계획", "session50": "50분 수업", "session90": "90분 수업",
           "minutes": "분", "activity": "활동", "live": "수업 중에 실행할 셀",
           "widget": "보여 줄 위젯", "exercises": "낼 연습 문제",
           "misconceptions": "바로잡는 오해", "goals": "학습 목표", "index": "전체 노트북",
           "slides": "슬라이드", "notebook": "노트북", "handout": "유인물 (PDF)",
           "total": "합계", "in class": "수업 중", "homework": "과제"},
}
# A field may name a variable and index or attribute into it, nothing more: no calls.
_FIELD = re.compile(r"^[A-Za-z_]\w*(?:\.\w+|\[[^\[\]{}()]+\])*$")


@dataclass
class Pack:
    """One notebook's pack file, read and checked against the notebook."""

    notebook: str
    notes: dict[str, dict[str, str]]
    widget: str
    live: list[str]
    misconceptions: list[str]
    exercises: list[dict]
    sessions: dict[str, list[dict]]


def pack_path(notebook: Path, pack_dir: Path = PACK_DIR) -> Path:
    """Where the pack of ``notebook`` (a path or a name) lives."""
    return Path(pack_dir) / f"{Path(notebook).stem}.toml"


def template_fields(template: str) -> list[str]:
    """The ``{field}`` names of ``template`` (ValueError for an unbalanced brace)."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def _shown(cell: nbformat.NotebookNode) -> bool:
    return cell.metadata.get("slideshow", {}).get("slide_type") not in ("skip", "notes")


def exercise_numbers(nb: nbformat.NotebookNode) -> list[int]:
    """The numbers of the "Check yourself" exercises, in order (1, 2, ...)."""
    return list(exercise_prompts(nb))


def problems(nb: nbformat.NotebookNode, raw: Mapping, name: str) -> list[str]:
    """What is wrong with the pack ``raw`` (a parsed TOML file) of the notebook ``nb``."""
    found: list[str] = []
    cells = {cell.id: cell for cell in nb.cells}
    for cell_id, note in raw.get("notes", {}).items():
        where = f"{name}: note on cell {cell_id}"
        if cell_id not in cells:
            found.append(f"{where}: the notebook has no such cell")
            continue
        if not _shown(cells[cell_id]):
            found.append(f"{where}: no slide shows that cell (its slide type is skip)")
        if not isinstance(note, dict) or sorted(note) != sorted(NOTE_PARTS) or not all(
                isinstance(note[p], str) and note[p].strip() for p in NOTE_PARTS):
            found.append(f"{where}: needs exactly {', '.join(NOTE_PARTS)}, each a non-empty "
                         "string")
            continue
        for part in NOTE_PARTS:
            try:
                names = template_fields(note[part])
            except ValueError as error:
                found.append(f"{where}, {part}: {error} (double a literal brace)")
                continue
            found += [f"{where}, {part}: field {{{n}}} must name a variable, with attributes "
                      "or indexes only" for n in names if not _FIELD.match(n)]
    if not raw.get("notes"):
        found.append(f"{name}: the pack has no [notes.<cell id>] table")
    plan = raw.get("plan", {})
    for key in ("widget", "live", "misconceptions", "exercises", *SESSIONS):
        if not plan.get(key):
            found.append(f"{name}: [plan] needs {key}")
    for cell_id in plan.get("live", []):
        cell = cells.get(cell_id)
        if cell is None or cell.cell_type != "code":
            found.append(f"{name}: plan.live names {cell_id!r}, which is not a code cell of "
                         "the notebook")
    numbers = exercise_numbers(nb)
    for exercise in plan.get("exercises", []):
        if exercise.get("number") not in numbers or exercise.get("when") not in WHEN \
                or not str(exercise.get("why", "")).strip():
            found.append(f"{name}: plan.exercises entry {exercise} needs number (one of "
                         f"{numbers}), when (one of {WHEN}) and why")
    for key, total in SESSIONS.items():
        steps = plan.get(key, [])
        if any(not isinstance(s.get("minutes"), int) or s["minutes"] <= 0
               or not str(s.get("activity", "")).strip() for s in steps):
            found.append(f"{name}: every plan.{key} step needs minutes (> 0) and activity")
        elif steps and sum(s["minutes"] for s in steps) != total:
            found.append(f"{name}: plan.{key} adds up to "
                         f"{sum(s['minutes'] for s in steps)} minutes, not {total}")
    return found


def load(notebook: Path, pack_dir: Path = PACK_DIR,
         nb: nbformat.NotebookNode | None = None) -> Pack:
    """The pack of ``notebook``, checked against it (``nb``: its cells, if already read).

    Raises ValueError listing every problem, or naming the missing file."""
    notebook = Path(notebook)
    path = pack_path(notebook, pack_dir)
    if not path.is_file():
        raise ValueError(f"notebook {notebook.name} has no lecturer's pack: expected {path}")
    with path.open("rb") as handle:
        try:
            raw = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path.name} is not valid TOML: {error}") from None
    nb = nbformat.read(notebook, as_version=4) if nb is None else nb
    found = problems(nb, raw, path.name)
    if found:
        raise ValueError("\n  ".join([f"{path.name} does not fit its notebook:", *found]))
    plan = raw["plan"]
    return Pack(notebook.stem, raw["notes"], plan["widget"], list(plan["live"]),
                list(plan["misconceptions"]), list(plan["exercises"]),
                {key: list(plan[key]) for key in SESSIONS})


def note_templates(pack: Pack, language: str = "en") -> dict[str, str]:
    """The markdown template of each note, by cell id: its parts under their headings."""
    words = WORDS[language]
    return {cell_id: "\n\n".join(f"**{words[part]}.** {note[part].strip()}"
                                 for part in NOTE_PARTS)
            for cell_id, note in pack.notes.items()}


def with_notes(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the executed ``nb`` with each filled note (``metadata.speaker_notes``) as a
    notes cell right after the cell it belongs to, where a deck shows it as speaker notes."""
    filled = nb.metadata.get(NOTES_KEY, {})
    out = nbformat.from_dict(nb)
    cells = []
    for cell in out.cells:
        cells.append(cell)
        if cell.id in filled:
            note = nbformat.v4.new_markdown_cell(filled[cell.id])
            note.metadata["slideshow"] = {"slide_type": "notes"}
            cells.append(note)
    out.cells = cells
    return out


# --------------------------------------------------------------------------- the plan page


def _cell_summary(cell: nbformat.NotebookNode, limit: int = 3) -> str:
    lines = [ln for ln in cell.source.splitlines() if ln.strip()][:limit]
    return "\n".join(lines)


def _slide_titles(nb: nbformat.NotebookNode) -> dict[str, str]:
    """The heading of the slide each cell sits on, by cell id."""
    titles, current = {}, ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heading = next((ln.lstrip("#").strip() for ln in cell.source.splitlines()
                            if ln.startswith("#")), None)
            current = heading or current
        titles[cell.id] = current
    return titles


def exercise_prompts(nb: nbformat.NotebookNode) -> dict[int, str]:
    """Each exercise's question: the markdown cell right before its cell, first paragraph."""
    prompts, number = {}, 0
    for index, cell in enumerate(nb.cells):
        if EXERCISE_TAG in cell.metadata.get("tags", []):
            number += 1
            before = nb.cells[index - 1]
            text = before.source.split("\n\n")[0] if before.cell_type == "markdown" else ""
            prompts[number] = re.sub(r"\*+|`", "", text).strip()
    return prompts


def plan_html(nb: nbformat.NotebookNode, pack: Pack, *, title: str, goals: Iterable[str],
              links: Mapping[str, str | None], language: str = "en") -> str:
    """The lesson plan of ``nb`` as one printable HTML page; ``links``: relative URLs of the
    index, the notebook page, the slides and the handout (None: not built)."""
    words, esc = WORDS[language], html.escape
    titles, prompts = _slide_titles(nb), exercise_prompts(nb)
    cells = {cell.id: cell for cell in nb.cells}
    nav = " · ".join(f'<a href="{esc(url)}">{words[key]}</a>'
                     for key, url in links.items() if url)
    sessions = []
    for key in SESSIONS:
        rows = "".join(f"<tr><td>{step['minutes']}</td><td>{esc(step['activity'])}</td></tr>"
                       for step in pack.sessions[key])
        sessions.append(
            f"<section><h2>{words[key]}</h2><table><thead><tr><th>{words['minutes']}</th>"
            f"<th>{words['activity']}</th></tr></thead><tbody>{rows}</tbody><tfoot><tr><td>"
            f"{sum(s['minutes'] for s in pack.sessions[key])}</td><td>{words['total']}</td>"
            "</tr></tfoot></table></section>")
    live = "".join(f"<li><span class=\"where\">{esc(titles[cell_id])}</span>"
                   f"<pre>{esc(_cell_summary(cells[cell_id]))}</pre></li>"
                   for cell_id in pack.live)
    exercises = "".join(f"<li><strong>{e['number']}</strong> ({esc(words[e['when']])}): "
                        f"{esc(prompts.get(e['number'], ''))}<br><em>{esc(e['why'])}</em></li>"
                        for e in pack.exercises)
    misconceptions = "".join(f"<li>{esc(text)}</li>" for text in pack.misconceptions)
    goal_items = "".join(f"<li>{esc(goal)}</li>" for goal in goals)
    return f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(words['plan'])}: {esc(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 52rem;
       padding: 0 1rem; color: #222; line-height: 1.45; }}
h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.15rem; margin-top: 1.4rem; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: left;
          vertical-align: top; }}
td:first-child, th:first-child {{ width: 4rem; text-align: right; }}
tfoot td {{ font-weight: 600; }}
pre {{ background: #f5f5f5; padding: 0.4rem; white-space: pre-wrap; font-size: 0.85rem; }}
.where {{ color: #555; font-size: 0.9rem; }}
.sessions {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr));
             gap: 0 1.5rem; }}
@media print {{ nav {{ display: none; }} body {{ margin: 0; }} }}
</style></head>
<body><nav>{nav}</nav>
<h1>{esc(words['plan'])}: {esc(title)}</h1>
<h2>{words['goals']}</h2><ol>{goal_items}</ol>
<div class="sessions">{"".join(sessions)}</div>
<h2>{words['live']}</h2><ol>{live}</ol>
<h2>{words['widget']}</h2><p>{esc(pack.widget)}</p>
<h2>{words['exercises']}</h2><ul>{exercises}</ul>
<h2>{words['misconceptions']}</h2><ul>{misconceptions}</ul>
</body></html>
"""


def check(names: Iterable[str] = ()) -> list[str]:
    """Every problem of the packs of the notebooks whose names contain one of ``names``."""
    names, found = list(names), []
    for source in notebooks():
        if names and not any(name in source.name for name in names):
            continue
        try:
            load(source)
        except ValueError as error:
            found.append(str(error))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("check",))
    parser.add_argument("names", nargs="*", help="only notebooks whose name contains one")
    args = parser.parse_args(argv)
    found = check(args.names)
    for problem in found:
        print(problem)
    if not found:
        print("every lecturer's pack fits its notebook")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
