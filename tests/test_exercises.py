"""aelib.exercises: the checks behind "Check yourself" and behind the notebooks' claims."""

import numpy as np
import pytest

from aelib.exercises import ClaimError, Exercise, ExerciseError, claim


def test_an_unanswered_exercise_says_so_and_does_not_stop_the_notebook():
    verdict = Exercise("Exercise 1", 392.0).check(None)
    assert verdict.status == "unanswered" and not verdict
    assert "not answered yet" in repr(verdict)


def test_numbers_and_arrays_match_within_tolerance():
    assert Exercise("ratio", 392).check(392.0000001).status == "correct"
    assert Exercise("codes", [1.0, 2.0 + 1e-9]).check(np.array([1.0, 2.0]))
    assert not Exercise("shape", [1.0, 2.0, 3.0]).check([1.0, 2.0])
    assert Exercise("ratio", 392, rtol=0.1).check(380)


def test_a_wrong_answer_gets_the_hint_or_the_hint_for_that_answer():
    exercise = Exercise("choice", "b", hint="Think again.", hints={"a": "a is the encoder."})
    assert repr(exercise.check("c")) == "✗ choice: 'c' is not right yet. Think again."
    assert repr(exercise.check(" A ")) == "✗ choice: ' A ' is not right yet. a is the encoder."
    assert exercise.check([1, 2]).status == "wrong"          # unhashable: the general hint


def test_strings_ignore_case_and_alternatives_are_accepted():
    assert Exercise("part", "decoder").check(" Decoder ")
    assert Exercise("part", "decoder", accept=["디코더"]).check("디코더")
    assert not Exercise("part", "decoder").check("encoder")
    assert not Exercise("flag", True).check(1)
    assert not Exercise("number", 1.0).check("1")


def test_a_solution_must_be_right():
    exercise = Exercise("Exercise 2", 0.5, hint="Halve it.")
    assert exercise.check(0.5, solution=True)
    with pytest.raises(ExerciseError, match="the solution of Exercise 2 does not pass"):
        exercise.check(0.4, solution=True)
    with pytest.raises(ExerciseError, match="not answered yet"):
        exercise.check(None, solution=True)


def test_bad_exercises_are_named():
    with pytest.raises(TypeError, match="name"):
        Exercise("", 1)
    with pytest.raises(ValueError, match="rtol"):
        Exercise("x", 1, rtol=-1)
    with pytest.raises(ValueError, match="not None"):
        Exercise("x", None)


def test_a_true_claim_is_silent(capsys):
    claim(True, "the VAE is closer")
    claim(np.array([True]), "the VAE is closer", strict=False)
    assert capsys.readouterr().out == ""


def test_a_false_claim_stops_a_strict_run_and_notes_a_loose_one(capsys):
    with pytest.raises(ClaimError, match="the text says: the VAE is closer"):
        claim(False, "the VAE is closer")
    claim(False, "the VAE is closer", strict=False)
    assert "does not hold: the VAE is closer" in capsys.readouterr().out
    with pytest.raises(TypeError, match="strict"):
        claim(False, "x", strict=1)
