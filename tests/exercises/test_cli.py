"""``tinynet exercises list`` and ``tinynet exercises grade FILE.py``: output, hints and exit statuses."""

from pathlib import Path

import pytest

from tinynet import exercises
from tinynet.cli import main

HERE = Path(__file__).resolve().parent


def run(capsys, *argv):
    status = main(["exercises", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_list_names_every_exercise(capsys):
    status, out, err = run(capsys, "list")
    assert status == 0 and err == ""
    assert [line.split()[0] for line in out.splitlines()] == list(exercises.EXERCISES)


def test_grading_the_solutions_passes_with_status_0(capsys):
    status, out, err = run(capsys, "grade", str(HERE / "solutions.py"))
    assert status == 0, out + err
    assert f"{len(exercises.EXERCISES)} of {len(exercises.EXERCISES)} passed" in out


def test_a_wrong_file_gets_scores_hints_and_status_1(capsys, tmp_path):
    student = tmp_path / "student.py"
    student.write_text(
        "import numpy as np\n\n"
        "def softmax_backward(y, grad):\n    return grad * y * (1 - y)\n\n"
        "def mse_grad(y_true, y_pred):\n    return 2 * (y_pred - y_true)\n\n"
        "def relu_backward(y, grad):\n    return grad * (y > 0)\n"
    )
    status, out, err = run(capsys, "grade", str(student))
    assert status == 1 and err == ""
    assert "softmax_backward: failed (score 0.00)" in out
    assert "hint: Jacobian diagonal only:" in out
    assert "hint: missing 1/N:" in out and "hint: missing 1/D:" in out
    assert "relu_backward: passed (score 1.00)" in out
    assert "1 of 3 passed" in out


def test_stubs_are_reported_as_not_implemented_without_a_traceback(capsys, tmp_path):
    student = tmp_path / "student.py"
    student.write_text("def adam_step(param, grad, state, **kw):\n    raise NotImplementedError\n")
    status, out, err = run(capsys, "grade", str(student), "--exercise", "adam_step", "--exercise", "mse")
    assert status == 1 and "Traceback" not in out + err
    assert "adam_step: not implemented" in out and "mse: missing" in out


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f(:\n", "SyntaxError"),
        ("import numpy\nraise RuntimeError('boom')\n", "RuntimeError: boom (line 2)"),
        ("import sys\nsys.exit(3)\n", "SystemExit"),
    ],
    ids=["syntax", "raises", "exits"],
)
def test_a_file_that_cannot_be_imported_is_status_1_without_a_traceback(capsys, tmp_path, source, expected):
    student = tmp_path / "student.py"
    student.write_text(source)
    status, _, err = run(capsys, "grade", str(student))
    assert status == 1 and "Traceback" not in err
    assert f"tinynet exercises: error: cannot import {student}" in err and expected in err


def test_unusable_arguments_are_status_2(capsys, tmp_path):
    assert run(capsys, "grade", str(tmp_path / "missing.py"))[0] == 2
    assert run(capsys, "grade", str(tmp_path))[0] == 2
    (tmp_path / "notes.txt").write_text("")
    assert run(capsys, "grade", str(tmp_path / "notes.txt"))[0] == 2
    status, _, err = run(capsys, "grade", str(HERE / "solutions.py"), "--exercise", "adam")
    assert status == 2 and "unknown exercise 'adam'" in err
    with pytest.raises(SystemExit) as info:
        main(["exercises"])
    assert info.value.code == 2


def test_a_file_defining_no_exercise_is_status_1(capsys, tmp_path):
    (tmp_path / "empty.py").write_text("x = 1\n")
    status, _, err = run(capsys, "grade", str(tmp_path / "empty.py"))
    assert status == 1 and "defines none of the exercise functions" in err


def test_control_characters_in_the_students_messages_are_escaped(capsys, tmp_path):
    student = tmp_path / "student.py"
    student.write_text("def mse(y_true, y_pred):\n    raise ValueError('\\x1b[2Jgone')\n")
    status, out, _ = run(capsys, "grade", str(student))
    assert status == 1 and "\x1b" not in out and "\\x1b[2Jgone" in out
