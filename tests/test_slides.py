"""The slide rules of scripts/tag_slides.py and the slide metadata of every notebook."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from scripts import tag_slides

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _example() -> nbformat.NotebookNode:
    params = new_code_cell("FAST = False\nSEED = 0")
    params.metadata["tags"] = ["parameters"]
    opted_out = new_markdown_cell("A remark for readers only.")
    opted_out.metadata["tags"] = [tag_slides.SKIP_TAG]
    solution = new_code_cell("answer_1 = 2\nexercise_1.check(answer_1, solution=True)")
    solution.metadata["tags"] = ["solution"]
    return new_notebook(cells=[
        new_markdown_cell("# 09 · Title\n\nGoals."),
        params,
        new_code_cell("%matplotlib inline\nimport numpy as np\n\nnp.random.seed(0)"),
        new_markdown_cell("## First idea\n\nText."),
        new_code_cell("x = np.ones(3)"),
        new_markdown_cell("More text."),
        new_code_cell("x.sum()"),
        new_markdown_cell("### A detail"),
        new_code_cell("\n".join(f"y{i} = {i}" for i in range(tag_slides.LONG_CODE_LINES + 1))),
        opted_out,
        solution,
    ])


def _types(nb: nbformat.NotebookNode) -> list[str]:
    return [cell.metadata["slideshow"]["slide_type"] for cell in nb.cells]


def test_rules_give_the_documented_slide_types():
    nb = _example()
    assert tag_slides.tag_notebook(nb) == len(nb.cells)
    assert _types(nb) == ["slide", "skip", "skip", "slide", "-", "-", "subslide", "subslide",
                          "subslide", "skip", "skip"]


def test_each_exercise_gets_a_slide_with_its_question():
    checks = new_code_cell("exercise_1 = ...")
    checks.metadata["tags"] = ["exercise-checks"]
    cells = [new_markdown_cell("## Check yourself"), checks]
    for number in (1, 2, 3):
        exercise = new_code_cell(f"answer_{number} = None\n"
                                 f"exercise_{number}.check(answer_{number})")
        exercise.metadata["tags"] = ["exercise"]
        cells += [new_markdown_cell(f"**{number}.** A question."), exercise]
    nb = new_notebook(cells=[new_markdown_cell("# 09 · Title"), *cells])
    tag_slides.tag_notebook(nb)
    assert _types(nb) == ["slide", "slide", "skip", "-", "-", "subslide", "-", "subslide", "-"]


def test_tagging_twice_changes_nothing():
    nb = _example()
    tag_slides.tag_notebook(nb)
    again = copy.deepcopy(nb)
    assert tag_slides.tag_notebook(again) == 0
    assert again == nb


def test_existing_slide_types_are_kept_unless_forced():
    nb = _example()
    nb.cells[4].metadata["slideshow"] = {"slide_type": "fragment"}
    tag_slides.tag_notebook(nb)
    assert nb.cells[4].metadata["slideshow"]["slide_type"] == "fragment"
    assert tag_slides.tag_notebook(nb, force=True) == 1
    assert nb.cells[4].metadata["slideshow"]["slide_type"] == "-"


def test_only_metadata_changes(tmp_path: Path):
    path = tmp_path / "09_example.ipynb"
    nbformat.write(_example(), path)
    before = nbformat.read(path, as_version=4)
    assert tag_slides.tag_file(path) == len(before.cells)
    after = nbformat.read(path, as_version=4)
    for old, new in zip(before.cells, after.cells, strict=True):
        assert old.source == new.source and old.cell_type == new.cell_type
        assert {k: v for k, v in new.metadata.items() if k != "slideshow"} == dict(old.metadata)
    assert tag_slides.tag_file(path) == 0


def test_check_mode_writes_nothing(tmp_path: Path):
    path = tmp_path / "09_example.ipynb"
    nbformat.write(_example(), path)
    text = path.read_text()
    assert tag_slides.main(["--check", str(path)]) == 1
    assert path.read_text() == text


@pytest.mark.parametrize("source, expected", [
    ("import os", True), ("# set-up\n%matplotlib inline\nfrom a import b\nb()", True),
    ("x = 1\nimport os", False), ("", False), ("# only a comment", False)])
def test_is_setup_code(source: str, expected: bool):
    assert tag_slides.is_setup_code(source) is expected


def test_bad_inputs_are_rejected(tmp_path: Path):
    with pytest.raises(TypeError, match="source"):
        tag_slides.is_setup_code(None)
    with pytest.raises(ValueError, match="index"):
        tag_slides.rule_slide_type(new_code_cell("x"), -1, False)
    with pytest.raises(TypeError, match="nb"):
        tag_slides.tag_notebook([new_code_cell("x")])
    with pytest.raises(ValueError, match="path"):
        tag_slides.tag_file(tmp_path / "notes.txt")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_cell_has_slide_metadata(path: Path):
    nb = nbformat.read(path, as_version=4)
    missing = [i for i, cell in enumerate(nb.cells)
               if cell.metadata.get("slideshow", {}).get("slide_type") not in
               tag_slides.SLIDE_TYPES]
    assert not missing, (f"{path.name}: cells {missing} have no slide type; "
                         f"run `python -m scripts.tag_slides {path.relative_to(ROOT)}`")
    assert nb.cells[0].metadata["slideshow"]["slide_type"] == "slide"
