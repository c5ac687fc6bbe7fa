"""The exercise grader: every reference solution passes, every classic mistake gets its own hint."""

import pytest

from tinynet import exercises
from tinynet.exercises import activations, dense, losses, normalization, optimizers, pooling

from . import solutions, wrong


@pytest.mark.parametrize("name", list(exercises.EXERCISES))
def test_the_reference_solution_passes(name):
    result = exercises.check(name, getattr(solutions, name))
    assert result.status == exercises.PASSED, str(result)
    assert result.score == 1.0 and result.hints == [] and result.details == []


@pytest.mark.parametrize(("name", "func", "kinds"), wrong.WRONG, ids=[f.__name__ for _, f, _ in wrong.WRONG])
def test_each_mistake_gets_its_hint(name, func, kinds):
    result = exercises.check(name, func)
    assert result.status == exercises.FAILED, str(result)
    assert {h.kind for h in result.hints} == kinds, str(result)
    assert result.score < 1.0 or kinds == {"modifies its argument"}


@pytest.mark.parametrize("name", list(exercises.EXERCISES))
def test_every_stub_is_reported_as_not_implemented(name):
    stub = next(
        getattr(m, name)
        for m in (dense, activations, losses, optimizers, normalization, pooling)
        if hasattr(m, name)
    )
    result = exercises.check(name, stub)
    assert result.status == exercises.NOT_IMPLEMENTED and result.score == 0.0


def test_a_crash_is_a_grade_with_the_line_not_a_traceback():
    result = exercises.check("relu_backward", wrong.relu_backward_crashes)
    assert result.status == exercises.ERROR
    assert "ValueError" in result.details[0] and "wrong.py" in result.details[0]


def test_a_missing_function_and_an_unknown_exercise():
    assert exercises.check("adam_step", None).status == exercises.MISSING
    with pytest.raises(KeyError, match="unknown exercise 'adam'.*adam_step"):
        exercises.check("adam", solutions.adam_step)


def test_partial_credit_counts_the_arrays_that_match():
    # dX and dW right, db wrong: two arrays of three, for every seed
    result = exercises.check("dense_backward", wrong.dense_backward_zero_db)
    assert result.score == pytest.approx(2 / 3)


def test_grade_a_file_and_a_namespace(tmp_path):
    module = exercises.load_file(__import__("pathlib").Path(solutions.__file__))
    results = exercises.grade(module)
    assert [r.name for r in results] == list(exercises.EXERCISES) and all(r.passed for r in results)
    only = exercises.grade({"mse": solutions.mse, "unrelated": 1})
    assert [(r.name, r.status) for r in only] == [("mse", "passed")]
    named = exercises.grade({}, names=["mse"])
    assert named[0].status == exercises.MISSING


def test_load_file_refuses_what_is_not_a_python_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        exercises.load_file(tmp_path / "nope.py")
    with pytest.raises(IsADirectoryError):
        exercises.load_file(tmp_path)
    (tmp_path / "a.txt").write_text("x = 1\n")
    with pytest.raises(ValueError, match="not a .py file"):
        exercises.load_file(tmp_path / "a.txt")


def test_max_pool_backward_must_add_where_windows_overlap():
    # assigning instead of adding is right for non-overlapping windows (seed 0) only
    result = exercises.check("max_pool_backward", wrong.max_pool_backward_assigned)
    assert result.status == exercises.FAILED and result.score == pytest.approx(1 / 3)
