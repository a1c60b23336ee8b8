"""Checks that keep a notebook honest: the learner's exercises and the text's own claims.

**Exercises.** ``exercise.check(answer)`` says "not answered yet" for ``answer = None`` without
stopping Run All, gives a hint for a wrong answer and confirms a right one. The collapsed
solution cell calls ``exercise.check(answer, solution=True)``, which raises ``ExerciseError``
unless the answer is right: running the notebook proves every exercise solvable.

**Claims.** ``claim(condition, statement, strict=...)`` backs a sentence of the text with its
number. A false claim raises ``ClaimError`` when ``strict`` (the settings the text describes),
else prints a note (a learner's own settings), so experimenting never breaks Run All.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aelib._checks import instance, real, validate, validate_fields


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


def _text(value: Any, name: str, _: Any = None) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{name} must be a non-empty string, got {value!r}")
    return value


@dataclass(frozen=True)
class Exercise:
    """One exercise and its expected answer."""

    name: str            # how messages refer to it, e.g. "Exercise 2"
    # A number, an array, a string (case and surrounding spaces ignored) or a bool, computed
    # from the notebook's objects in another way than the solution, so that it tests something.
    expected: Any
    hint: str = ""       # shown with a wrong answer
    rtol: float = 1e-6   # tolerances for numbers and arrays
    atol: float = 0.0
    accept: Collection[Any] = ()          # other right answers (e.g. the Korean word)
    hints: Mapping[Any, str] = field(default_factory=dict)  # hints for given wrong answers

    def __post_init__(self) -> None:
        validate_fields(self, name=_text, rtol=real(0.0), atol=real(0.0))
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
            verdict = Verdict(self.name, "wrong", f"✗ {self.name}: {answer!r} is not right yet. "
                              f"{self._hint(answer)}".strip())
        if solution and not verdict:
            raise ExerciseError(f"the solution of {self.name} does not pass: {verdict.message}")
        return verdict

    def _hint(self, answer: Any) -> str:
        try:
            return self.hints.get(answer.strip().lower() if isinstance(answer, str) else answer,
                                  self.hint)
        except TypeError:  # an unhashable answer, such as a list, gets the general hint
            return self.hint


@validate(statement=_text, strict=instance(bool, "True or False"))
def claim(condition: Any, statement: str, *, strict: bool = True) -> None:
    """Back ``statement``, a sentence of the text, with ``condition`` (a bool or an array);
    if false: ``ClaimError`` when ``strict``, else a note that the text meant other settings."""
    if bool(np.asarray(condition).all()):
        return
    if strict:
        raise ClaimError(f"the text says: {statement}; the numbers above say otherwise")
    print(f"Note: with these settings this does not hold: {statement}. (The text's claims "
          "were checked in full mode with the default data for SEED 0, 1 and 2.)")
