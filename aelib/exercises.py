"""Checks that keep a notebook honest: the learner's exercises and the text's own claims.

**Exercises.** Each "Check yourself" item is an ``Exercise`` that knows its expected answer.
The learner's cell starts with ``answer = None``; ``exercise.check(answer)`` then says "not
answered yet" without stopping Run All, names the exercise and gives a hint when the answer is
wrong, and confirms a right one. The collapsed solution cell after it calls
``exercise.check(answer, solution=True)``, which raises ``ExerciseError`` unless the answer is
right, so running the notebook proves every exercise solvable.

**Claims.** ``claim(condition, statement, strict=...)`` backs a sentence of the notebook's prose
with the number it talks about. With ``strict=True`` (the settings the text describes) a false
claim stops the notebook with ``ClaimError``; with ``strict=False`` (a learner's own settings:
another seed, data set or fast mode) it prints a note instead, so experimenting never breaks
Run All.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class ExerciseError(AssertionError):
    """A solution cell's answer is not right."""


class ClaimError(AssertionError):
    """A statement of the notebook's text is contradicted by its own numbers."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: ``status`` is "unanswered", "wrong" or "correct"."""

    name: str
    status: str
    message: str

    def __bool__(self) -> bool:
        return self.status == "correct"

    def __repr__(self) -> str:
        return self.message


def _matches(answer: Any, expected: Any, rtol: float, atol: float) -> bool:
    if isinstance(expected, str):
        return isinstance(answer, str) and answer.strip().lower() == expected.strip().lower()
    if isinstance(expected, (bool, np.bool_)):
        return isinstance(answer, (bool, np.bool_)) and bool(answer) == bool(expected)
    if isinstance(answer, (str, bool, np.bool_)):
        return False
    try:
        given = np.asarray(answer, dtype=float)
        wanted = np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return False
    return given.shape == wanted.shape and bool(np.allclose(given, wanted, rtol=rtol, atol=atol))


def _key(answer: Any) -> Any:
    return answer.strip().lower() if isinstance(answer, str) else answer


@dataclass(frozen=True)
class Exercise:
    """One exercise and its expected answer.

    name: how messages refer to it, e.g. "Exercise 2".
    expected: a number, an array, a string (compared ignoring case and surrounding spaces) or
        a bool. Compute it from the notebook's objects in a different way from the solution,
        so that the check tests something.
    hint: shown with a wrong answer.
    rtol, atol: tolerances for numbers and arrays.
    accept: other answers that count as right (e.g. the Korean word).
    hints: specific hints for specific wrong answers, e.g. the options of a multiple choice.
    """

    name: str
    expected: Any
    hint: str = ""
    rtol: float = 1e-6
    atol: float = 0.0
    accept: Collection[Any] = ()
    hints: Mapping[Any, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty string, got {self.name!r}")
        for label in ("rtol", "atol"):
            value = getattr(self, label)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0:
                raise ValueError(f"{label} must be a finite number >= 0, got {value!r}")
        if self.expected is None:
            raise ValueError(f"{self.name}: expected must be the right answer, not None")

    def check(self, answer: Any, *, solution: bool = False) -> Verdict:
        """The verdict on ``answer``; with ``solution=True`` anything but right raises."""
        if answer is None:
            verdict = Verdict(self.name, "unanswered",
                              f"{self.name}: not answered yet. Replace None with your answer "
                              f"and run the cell again.")
        elif any(_matches(answer, option, self.rtol, self.atol)
                 for option in (self.expected, *self.accept)):
            verdict = Verdict(self.name, "correct", f"✓ {self.name}: correct")
        else:
            hint = self.hints.get(_key(answer), self.hint) if _hashable(answer) else self.hint
            verdict = Verdict(self.name, "wrong",
                              f"✗ {self.name}: {answer!r} is not right yet. {hint}".strip())
        if solution and not verdict:
            raise ExerciseError(f"the solution of {self.name} does not pass: {verdict.message}")
        return verdict


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def claim(condition: Any, statement: str, *, strict: bool = True) -> None:
    """Back ``statement`` (a sentence of the text, in words) with ``condition``.

    True: nothing happens. False: ``ClaimError`` when ``strict``, else a printed note that the
    text describes other settings. ``condition`` may be a bool or a one-element array.
    """
    if not isinstance(statement, str) or not statement:
        raise TypeError(f"statement must be a non-empty string, got {statement!r}")
    if not isinstance(strict, bool):
        raise TypeError(f"strict must be True or False, got {strict!r}")
    if bool(np.asarray(condition).all()):
        return
    if strict:
        raise ClaimError(f"the text says: {statement}; the numbers above say otherwise")
    print(f"Note: with these settings this does not hold: {statement}. (The text's claims "
          "were checked in full mode with the default data for SEED 0, 1 and 2.)")
