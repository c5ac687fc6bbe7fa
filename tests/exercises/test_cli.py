"""``tinynet exercises list`` and ``tinynet exercises grade FILE.py``: output, hints and exit statuses."""

import re
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


#: One wrong function per classic mistake of issue 19, as a student would hand it in, and its hint.
STUDENT_MISTAKES = """
import numpy as np


def dense_backward(x, W, grad_z):
    return grad_z @ W.T, grad_z.T @ x, grad_z.sum(axis=0)  # transposed weight gradient


def mse_grad(y_true, y_pred):
    return 2 * (y_pred - y_true)  # missing 1/(N*D)


def softmax_backward(y, grad):
    return grad * y * (1 - y)  # the Jacobian's diagonal only


def batchnorm_backward(x, gamma, grad, epsilon):
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + epsilon)
    dx = grad * gamma / np.sqrt(x.var(axis=0) + epsilon)  # the inference formula
    return dx, (grad * x_hat).sum(axis=0), grad.sum(axis=0)


def sgd_step(param, grad, state, learning_rate):
    return param + learning_rate * grad, {}  # sign error


def two_layer_backward(x, t, W1, b1, W2, b2):
    a = x @ W1 + b1
    h = np.maximum(a, 0)
    z = h @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    g_z = (p - t) / len(x)
    g_a = (g_z @ W2.T) * (a > 0)
    return -np.mean(np.sum(t * np.log(p), axis=1)), x.T @ g_a, None, h.T @ g_z, None  # no bias gradients


def adam_step(param, grad, state, learning_rate, beta_1, beta_2, epsilon):
    m = beta_1 * state["m"] + (1 - beta_1) * grad
    v = beta_2 * state["v"] + (1 - beta_2) * grad**2
    return param - learning_rate * m / (np.sqrt(v) + epsilon), {"m": m, "v": v, "t": state["t"] + 1}


def im2col(x, kernel_size, strides, padding):
    (kh, kw), (sh, sw), p = kernel_size, strides, padding
    n, c, h, w = x.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (p + 1, p - 1), (p, p)))  # one row too low
    oh, ow = (h + 2 * p - kh) // sh + 1, (w + 2 * p - kw) // sw + 1
    cols = np.empty((c, kh, kw, n, oh, ow))
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = x_pad[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw].transpose(
                1, 0, 2, 3
            )
    return cols.reshape(c * kh * kw, n * oh * ow)
"""

#: exercise -> the hint kind its wrong function above must get.
EXPECTED_HINTS = {
    "dense_backward": "transposed",
    "mse_grad": "missing 1/D",
    "softmax_backward": "Jacobian diagonal only",
    "batchnorm_backward": "normalization statistics held constant",
    "sgd_step": "sign error",
    "two_layer_backward": "missing",
    "adam_step": "adam without bias correction",
    "im2col": "off-by-one",
}


def _blocks(out: str) -> dict[str, list[str]]:
    """The grade's output by exercise: its first line, then its indented lines."""
    blocks: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line and not line.startswith(" "):
            current = blocks.setdefault(line.split(":", 1)[0], [])
        if line:
            current.append(line)
    return blocks


def test_every_classic_mistake_gets_its_hint_and_a_score_from_the_command_line(capsys, tmp_path):
    student = tmp_path / "answers.py"
    student.write_text(STUDENT_MISTAKES)
    status, out, err = run(capsys, "grade", str(student))
    assert status == 1 and err == "" and "Traceback" not in out
    blocks = _blocks(out)
    for name, kind in EXPECTED_HINTS.items():
        first, *rest = blocks[name]
        score = float(re.fullmatch(rf"{name}: failed \(score (\d\.\d\d)\)", first).group(1))
        assert score < 1.0, out
        assert any(line.startswith(f"  hint: {kind}: ") for line in rest), (name, out)
    assert any(line.startswith("  hint: missing 1/N: ") for line in blocks["mse_grad"])
    assert blocks["two_layer_backward"][0] == "two_layer_backward: failed (score 0.60)"
    assert f"0 of {len(EXPECTED_HINTS)} passed" in out


#: The recurrent and attention exercises, handed in with one classic mistake each.
SEQUENCE_STUDENT = """
import numpy as np


def rnn_step_backward(x, h_prev, h, W, U, grad):
    dz = grad  # the tanh derivative forgotten
    return dz @ W.T, dz @ U.T, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)


def rnn_bptt(x, h, W, U, grad):
    h_prev = np.concatenate([np.zeros_like(h[:, :1]), h[:, :-1]], axis=1)
    dz = grad * (1 - h**2)  # no gradient carried from step t + 1: truncated to one step
    return dz @ W.T, np.einsum("ntd,nth->dh", x, dz), np.einsum("ntk,nth->kh", h_prev, dz), dz.sum(axis=(0, 1))


def lstm_step_backward(x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c):
    H = U.shape[0]
    i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    dc = grad_c + grad_h * o * (1 - np.tanh(c) ** 2)
    dz = np.concatenate(
        [dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g**2), grad_h * np.tanh(c) * o * (1 - o)], axis=1
    )
    return dz @ W.T, dz @ U.T, dc, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)  # dc_prev without the forget gate


def attention_backward(q, k, v, causal, grad):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], dtype=bool)), s, -np.inf)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    dp = grad @ np.swapaxes(v, -1, -2)
    ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))  # the 1/sqrt(d_k) forgotten below
    return ds @ k, np.swapaxes(ds, -1, -2) @ q, np.swapaxes(p, -1, -2) @ grad
"""

SEQUENCE_HINTS = {
    "rnn_step_backward": "tanh derivative missing",
    "rnn_bptt": "BPTT truncated",
    "lstm_step_backward": "forget-gate path missing",
    "attention_backward": "scale missing in backward",
}


def test_the_sequence_exercises_are_listed_and_graded_from_the_command_line(capsys, tmp_path):
    status, out, _ = run(capsys, "list")
    names = [line.split()[0] for line in out.splitlines()]
    assert names[-7:] == [
        "rnn_step_forward",
        "rnn_step_backward",
        "rnn_bptt",
        "lstm_step_backward",
        "gru_step_backward",
        "attention_forward",
        "attention_backward",
    ]
    student = tmp_path / "sequences.py"
    student.write_text(SEQUENCE_STUDENT)
    status, out, err = run(capsys, "grade", str(student))
    assert status == 1 and err == "" and "Traceback" not in out
    blocks = _blocks(out)
    assert set(SEQUENCE_HINTS) <= set(blocks) and len(blocks) == len(SEQUENCE_HINTS) + 1  # and the total
    for name, kind in SEQUENCE_HINTS.items():
        first, *rest = blocks[name]
        assert first.startswith(f"{name}: failed (score "), out
        assert any(line.startswith(f"  hint: {kind}: ") for line in rest), (name, out)
    assert "0 of 4 passed" in out


def test_a_notebook_in_its_jupytext_form_is_graded(capsys):
    # the teacher source (solutions in) passes; the student version reports its stubs, without a traceback
    notebooks = HERE.parents[1] / "notebooks" / "exercises"
    status, out, _ = run(capsys, "grade", str(notebooks / "05_recurrent_and_attention.py"))
    assert status == 0 and "7 of 7 passed, score 7.00 of 7" in out
    status, out, err = run(capsys, "grade", str(notebooks / "student" / "05_recurrent_and_attention.py"))
    assert status == 1 and "Traceback" not in out + err
    # its own check cells print when the file is imported, then the grade prints each exercise again
    assert out.count(": not implemented (score 0.00)") == 2 * 7 and "0 of 7 passed" in out
