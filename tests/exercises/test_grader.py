"""The exercise grader: every reference solution passes, every classic mistake gets its own hint."""

import numpy as np
import pytest

from tinynet import exercises
from tinynet.exercises import (
    activations,
    attention,
    conv,
    dense,
    losses,
    network,
    normalization,
    optimizers,
    pooling,
    recurrent,
)
from tinynet.gradcheck import relative_error as tn_relative_error
from tinynet.testing import hints as H

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
        for m in (
            dense,
            activations,
            losses,
            network,
            optimizers,
            conv,
            normalization,
            pooling,
            recurrent,
            attention,
        )
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
    assert [h.kind for h in result.hints] == ["assigned instead of added"]


#: The classic mistakes issue 19 lists, each with the exercise and wrong solution that must be given its hint.
ISSUE_MISTAKES = [
    ("transposed weight gradient", "dense_backward", wrong.dense_backward_transposed_dW, H.TRANSPOSED),
    (
        "transposed weight gradient",
        "two_layer_backward",
        wrong.two_layer_backward_transposed_dW2,
        H.TRANSPOSED,
    ),
    ("transposed kernel gradient", "conv2d_backward", wrong.conv2d_backward_transposed_dW, H.TRANSPOSED),
    ("missing 1/N", "softmax_cross_entropy_grad", wrong.cross_entropy_grad_missing_n, H.MISSING_MEAN),
    ("missing 1/N", "two_layer_backward", wrong.two_layer_backward_missing_n, H.MISSING_MEAN),
    ("missing 1/(N*D)", "mse_grad", wrong.mse_grad_missing_nd, H.MISSING_SAMPLE_MEAN),
    ("softmax Jacobian diagonal", "softmax_backward", wrong.softmax_backward_diagonal, H.JACOBIAN_DIAGONAL),
    (
        "batch norm inference formula",
        "batchnorm_backward",
        wrong.batchnorm_backward_inference_formula,
        H.FROZEN_STATISTICS,
    ),
    ("sign error", "sigmoid_backward", wrong.sigmoid_backward_sign, H.SIGN),
    ("sign error", "two_layer_backward", wrong.two_layer_backward_sign, H.SIGN),
    ("bias gradient forgotten", "dense_backward", wrong.dense_backward_zero_db, H.ZERO),
    ("bias gradient forgotten", "two_layer_backward", wrong.two_layer_backward_without_bias_grads, "missing"),
    ("bias gradient forgotten", "conv2d_backward", wrong.conv2d_backward_without_db, "missing"),
    (
        "adam without bias correction",
        "adam_step",
        wrong.adam_step_no_bias_correction,
        "adam without bias correction",
    ),
    ("im2col padding off by one", "im2col", wrong.im2col_padding_shifted, H.OFF_BY_ONE),
    ("im2col padding off by one", "conv2d_backward", wrong.conv2d_backward_padding_off_by_one, H.OFF_BY_ONE),
    (
        "ReLU mask missing",
        "two_layer_backward",
        wrong.two_layer_backward_without_relu_mask,
        "ReLU mask missing",
    ),
    ("flipped kernel gradient", "conv2d_backward", wrong.conv2d_backward_flipped_dW, "flipped kernel"),
]


@pytest.mark.parametrize(
    ("mistake", "name", "func", "kind"), ISSUE_MISTAKES, ids=[f"{m}-{n}" for m, n, _, _ in ISSUE_MISTAKES]
)
def test_every_classic_mistake_of_the_issue_is_named(mistake, name, func, kind):
    result = exercises.check(name, func)
    assert result.status == exercises.FAILED and result.score < 1.0
    named = [h for h in result.hints if h.kind == kind]
    assert named, str(result)
    assert str(named[0]).startswith(f"{kind}: ") and len(named[0].message) > 20


#: The classic mistakes of an RNN step, backpropagation through time, an LSTM step and attention backward.
SEQUENCE_MISTAKES = [
    (
        "tanh derivative (1 - h²) forgotten",
        "rnn_step_backward",
        wrong.rnn_step_backward_without_tanh_derivative,
        "tanh derivative missing",
    ),
    (
        "tanh derivative (1 - h²) forgotten",
        "rnn_bptt",
        wrong.rnn_bptt_without_tanh_derivative,
        "tanh derivative missing",
    ),
    ("dU from the last step only", "rnn_bptt", wrong.rnn_bptt_last_step_only, "not summed over time"),
    ("dU assigned, not accumulated", "rnn_bptt", wrong.rnn_bptt_assigned, "not summed over time"),
    ("no gradient through h_{t-1}", "rnn_bptt", wrong.rnn_bptt_truncated, "BPTT truncated"),
    (
        "transposed recurrent kernel gradient",
        "rnn_step_backward",
        wrong.rnn_step_backward_transposed_dU,
        H.TRANSPOSED,
    ),
    ("transposed recurrent kernel gradient", "rnn_bptt", wrong.rnn_bptt_transposed_dU, H.TRANSPOSED),
    ("dh_{t-1} through U, not U.T", "rnn_bptt", wrong.rnn_bptt_through_U, "recurrent kernel not transposed"),
    (
        "LSTM dc_prev without the forget gate",
        "lstm_step_backward",
        wrong.lstm_step_backward_without_forget_path,
        "forget-gate path missing",
    ),
    ("LSTM gate order", "lstm_step_backward", wrong.lstm_step_backward_ifog, "wrong gate order"),
    (
        "attention backward without 1/sqrt(d)",
        "attention_backward",
        wrong.attention_backward_unscaled,
        "scale missing in backward",
    ),
    (
        "attention softmax Jacobian diagonal",
        "attention_backward",
        wrong.attention_backward_diagonal,
        H.JACOBIAN_DIAGONAL,
    ),
    (
        "attention mask forgotten in backward",
        "attention_backward",
        wrong.attention_backward_unmasked,
        "mask ignored in backward",
    ),
    (
        "dV with the weights not transposed",
        "attention_backward",
        wrong.attention_backward_dv_untransposed,
        "weights not transposed",
    ),
]


@pytest.mark.parametrize(
    ("mistake", "name", "func", "kind"),
    SEQUENCE_MISTAKES,
    ids=[f"{m}-{n}" for m, n, _, _ in SEQUENCE_MISTAKES],
)
def test_every_classic_sequence_mistake_is_named(mistake, name, func, kind):
    result = exercises.check(name, func)
    assert result.status == exercises.FAILED and result.score < 1.0
    named = [h for h in result.hints if h.kind == kind]
    assert named, str(result)
    assert len(named[0].message) > 40


def test_the_masked_positions_get_no_gradient_and_the_leak_is_named():
    # causal seeds only: without a mask (seed 0) forgetting it in the backward pass changes nothing
    result = exercises.check("attention_backward", wrong.attention_backward_unmasked)
    assert result.score == pytest.approx(1 / 3)
    assert all(d.startswith(("seed 1", "seed 2")) for d in result.details), str(result)
    assert "leaks into the masked positions" in result.hints[0].message


def test_truncated_bptt_is_right_on_the_last_step_only():
    inputs = recurrent._bptt_inputs(np.random.default_rng(5), 0)
    dx, *_ = wrong.rnn_bptt_truncated(**inputs)
    reference = recurrent._bptt_reference(**inputs)["dx"]
    assert tn_relative_error(dx[:, -1], reference[:, -1]) < 1e-12
    assert tn_relative_error(dx[:, 0], reference[:, 0]) > 1e-2


def test_the_bias_gradient_is_checked_even_when_everything_else_is_right():
    for name, func in [
        ("two_layer_backward", wrong.two_layer_backward_without_bias_grads),
        ("conv2d_backward", wrong.conv2d_backward_without_db),
    ]:
        result = exercises.check(name, func)
        assert any("db" in h.message and "not returned" in h.message for h in result.hints), str(result)


def test_a_transposed_x_col_is_explained():
    result = exercises.check("im2col", wrong.im2col_transposed)
    assert result.status == exercises.FAILED and result.score == 0.0
    assert "the transpose of" in result.details[0] and "one ROW per kernel element" in result.details[0]


def test_x_col_must_be_a_matrix_even_with_the_right_values():
    def im2col_six_axes(x, kernel_size, strides, padding):
        (kh, kw), n, c = kernel_size, len(x), x.shape[1]
        cols = solutions.im2col(x, kernel_size, strides, padding)
        return cols.reshape(c, kh, kw, n, -1)  # MISTAKE: not the (C kh kw, N OH OW) matrix

    result = exercises.check("im2col", im2col_six_axes)
    assert result.status == exercises.FAILED and result.score == 0.0
    assert "X_col must be a matrix" in result.details[0]


def test_the_off_by_one_hint_names_what_moved():
    result = exercises.check("im2col", wrong.im2col_padding_plus_one)
    (hint,) = result.hints
    assert "the output row r has" in hint.message and "padding" in hint.message


def test_grading_the_network_leaves_tinynets_seed_where_it_was():
    import tinynet as tn

    tn.set_seed(7)
    first = tn._config.get_rng().random()
    tn.set_seed(7)
    exercises.check("two_layer_backward", solutions.two_layer_backward)
    exercises.check("two_layer_forward", solutions.two_layer_forward)
    assert tn._config.get_rng().random() == first
    assert tn.get_default_dtype() == np.float32


def test_the_network_reference_agrees_with_central_differences():
    # the reference is a tinynet model's compute_gradients (model.backward): check it numerically
    inputs = network._inputs(np.random.default_rng(3), 0)
    expected = network._backward_reference(**inputs)
    eps = 1e-6
    for key in ("W1", "b1", "W2", "b2"):
        numeric = np.zeros_like(inputs[key])
        for index in np.ndindex(numeric.shape):
            moved = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in inputs.items()}
            moved[key][index] += eps
            up = network._backward_reference(**moved)["loss"]
            moved[key][index] -= 2 * eps
            down = network._backward_reference(**moved)["loss"]
            numeric[index] = (up - down) / (2 * eps)
        assert tn_relative_error(expected["d" + key], numeric) < 1e-6, key
