"""aelib.exercises: the checks behind "Check yourself"."""

import numpy as np
import pytest

from aelib.exercises import ExerciseError, check


def test_numbers_and_arrays_match_within_tolerance():
    assert check("ratio", 392.0000001, 392) == "✓ ratio: correct"
    assert check("codes", np.array([1.0, 2.0]), [1.0, 2.0 + 1e-9]).startswith("✓")


def test_wrong_or_missing_answers_raise_with_the_hint():
    with pytest.raises(ExerciseError, match="ratio: 10 is not right yet. Divide"):
        check("ratio", 10, 392, hint="Divide pixels by code size.")
    with pytest.raises(ExerciseError, match="no answer yet"):
        check("ratio", None, 392)
    with pytest.raises(ExerciseError, match="not right"):
        check("shape", [1.0, 2.0], [1.0, 2.0, 3.0])


def test_strings_ignore_case_and_alternatives_are_accepted():
    assert check("part", " Decoder ", "decoder").startswith("✓")
    assert check("part", "디코더", "decoder", accept=["디코더"]).startswith("✓")
    with pytest.raises(ExerciseError):
        check("part", "encoder", "decoder")
    with pytest.raises(ExerciseError):
        check("flag", 1, True)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="name"):
        check("", 1, 1)
    with pytest.raises(ValueError, match="rtol"):
        check("x", 1, 1, rtol=-1)
