"""Checks for the "Check yourself" exercises at the end of each notebook.

``check(name, answer, expected, hint=...)`` compares a learner's answer with the value the
notebook computed itself and either confirms it or raises ``ExerciseError`` (an
``AssertionError``) with the hint, so "Run All" stops at the first exercise still open.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import numpy as np


class ExerciseError(AssertionError):
    """An exercise's answer is not (yet) right."""


def _matches(answer: Any, expected: Any, rtol: float, atol: float) -> bool:
    if isinstance(expected, str):
        return isinstance(answer, str) and answer.strip().lower() == expected.strip().lower()
    if isinstance(expected, (bool, np.bool_)):
        return isinstance(answer, (bool, np.bool_)) and bool(answer) == bool(expected)
    try:
        given = np.asarray(answer, dtype=float)
        wanted = np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return False
    return given.shape == wanted.shape and bool(np.allclose(given, wanted, rtol=rtol, atol=atol))


def check(name: str, answer: Any, expected: Any, *, hint: str = "", rtol: float = 1e-6,
          atol: float = 0.0, accept: Collection[Any] = ()) -> str:
    """Return a confirmation if ``answer`` matches ``expected`` (or one of ``accept``).

    Numbers and arrays match within ``rtol``/``atol``; strings match ignoring case and
    surrounding spaces; ``None`` (an answer not filled in yet) never matches.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    for tolerance, label in ((rtol, "rtol"), (atol, "atol")):
        if not isinstance(tolerance, (int, float)) or not math.isfinite(tolerance) \
                or tolerance < 0:
            raise ValueError(f"{label} must be a finite number >= 0, got {tolerance!r}")
    if answer is None:
        raise ExerciseError(f"{name}: no answer yet. {hint}".strip())
    if any(_matches(answer, option, rtol, atol) for option in (expected, *accept)):
        return f"✓ {name}: correct"
    raise ExerciseError(f"{name}: {answer!r} is not right yet. {hint}".strip())
