"""The references of the recurrent and attention exercises agree with central differences.

The step references run tinynet's sequence ops (which start from the zero state) on a sequence built
so that one of its steps is the exercise's step (``rnn_step_reference``, ``lstm_step_reference``);
these tests check that construction against the derivative of the step's forward formula, written
out here independently, in float64 and over hypothesis-generated shapes.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinynet import ops
from tinynet.exercises import attention, recurrent
from tinynet.gradcheck import numerical_gradient, relative_error
from tinynet.ops.recurrent import time_major

from ..strategies import seeds

sides = st.integers(min_value=1, max_value=4)


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(z / 2))


def _lstm_step(x, h_prev, c_prev, W, U, b):
    """The LSTM step from its definition, gates [i, f, g, o]: returns (gates, c, h)."""
    H = U.shape[0]
    z = x @ W + h_prev @ U + b
    i, f, o = _sigmoid(z[:, :H]), _sigmoid(z[:, H : 2 * H]), _sigmoid(z[:, 3 * H :])
    g = np.tanh(z[:, 2 * H : 3 * H])
    c = f * c_prev + i * g
    return np.concatenate([i, f, g, o], axis=1), c, o * np.tanh(c)


def _check(f, arrays, analytic):
    for name, array in arrays.items():
        numeric = numerical_gradient(f, array)
        assert relative_error(analytic[name], numeric) < 1e-6, name


@settings(max_examples=15, deadline=None)
@given(sides, sides, sides, seeds)
def test_the_rnn_step_reference_is_the_derivative_of_the_step(n, d, h, seed):
    rng = np.random.default_rng(seed)
    a = {
        "x": rng.standard_normal((n, d)),
        "h_prev": rng.uniform(-1, 1, (n, h)),
        "W": rng.normal(0, 0.6, (d, h)),
        "U": rng.normal(0, 0.6, (h, h)),
        "b": rng.normal(0, 0.3, h),
    }
    G = rng.standard_normal((n, h))
    out = recurrent.rnn_step_reference(**a)["h"]
    assert relative_error(out, np.tanh(a["x"] @ a["W"] + a["h_prev"] @ a["U"] + a["b"])) < 1e-12
    grads = recurrent.rnn_step_reference(a["x"], a["h_prev"], a["W"], a["U"], h=out, grad=G)
    _check(
        lambda: float(np.sum(G * recurrent.rnn_step_reference(**a)["h"])),
        a,
        {"x": grads["dx"], "h_prev": grads["dh_prev"], "W": grads["dW"], "U": grads["dU"], "b": grads["db"]},
    )


@settings(max_examples=15, deadline=None)
@given(sides, sides, sides, seeds)
def test_the_lstm_step_reference_is_the_derivative_of_the_step(n, d, h, seed):
    rng = np.random.default_rng(seed)
    a = {
        "x": rng.standard_normal((n, d)),
        "h_prev": rng.uniform(-1, 1, (n, h)),
        "c_prev": rng.uniform(-2, 2, (n, h)),  # any cell state: the reference does not rebuild it
        "W": rng.normal(0, 0.6, (d, 4 * h)),
        "U": rng.normal(0, 0.6, (h, 4 * h)),
        "b": rng.normal(0, 0.3, 4 * h),
    }
    Gh, Gc = rng.standard_normal((n, h)), rng.standard_normal((n, h))
    gates, c, _ = _lstm_step(**a)
    grads = recurrent.lstm_step_reference(a["x"], a["h_prev"], a["c_prev"], a["W"], a["U"], gates, c, Gh, Gc)

    def loss():
        _, c_t, h_t = _lstm_step(**a)
        return float(np.sum(Gh * h_t) + np.sum(Gc * c_t))

    analytic = {k: grads["d" + k] for k in ("x", "h_prev", "c_prev", "W", "U")}
    _check(loss, a, {**analytic, "b": grads["db"]})


def _gru_step(x, h_prev, W, U, b):
    """The GRU step from its definition (reset after the product): returns (gates, rec_h, h)."""
    H = U.shape[0]
    A, R = x @ W + b[0], h_prev @ U + b[1]
    z, r = _sigmoid(A[:, :H] + R[:, :H]), _sigmoid(A[:, H : 2 * H] + R[:, H : 2 * H])
    hh = np.tanh(A[:, 2 * H :] + r * R[:, 2 * H :])
    return np.concatenate([z, r, hh], axis=1), R[:, 2 * H :], z * h_prev + (1 - z) * hh


@settings(max_examples=15, deadline=None)
@given(sides, sides, sides, seeds)
def test_the_gru_step_reference_is_the_derivative_of_the_step(n, d, h, seed):
    rng = np.random.default_rng(seed)
    a = {
        "x": rng.standard_normal((n, d)),
        "h_prev": rng.uniform(-1, 1, (n, h)),
        "W": rng.normal(0, 0.6, (d, 3 * h)),
        "U": rng.normal(0, 0.6, (h, 3 * h)),
        "b": rng.normal(0, 0.3, (2, 3 * h)),
    }
    G = rng.standard_normal((n, h))
    gates, rec_h, _ = _gru_step(**a)
    grads = recurrent.gru_step_reference(a["x"], a["h_prev"], a["W"], a["U"], gates, rec_h, G)
    analytic = {k: grads["d" + k] for k in ("x", "h_prev", "W", "U")}
    _check(lambda: float(np.sum(G * _gru_step(**a)[2])), a, {**analytic, "b": grads["db"]})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_gru_exercise_inputs_are_a_step_of_tinynets_gru(seed):
    inputs = recurrent._gru_inputs(np.random.default_rng(seed), seed)
    rng = np.random.default_rng(seed)
    W, U, b = rng.normal(0, 0.6, (3, 15)), rng.normal(0, 0.6, (5, 15)), rng.normal(0, 0.3, (2, 15))
    assert np.array_equal(W, inputs["W"])  # the same draws: b is the bias the inputs were made with
    gates, rec_h, _ = _gru_step(inputs["x"], inputs["h_prev"], W, U, b)
    assert relative_error(gates, inputs["gates"]) < 1e-12 and relative_error(rec_h, inputs["rec_h"]) < 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_lstm_exercise_inputs_are_a_step_of_tinynets_lstm(seed):
    inputs = recurrent._lstm_inputs(np.random.default_rng(seed), seed)
    _, _, b = recurrent._weights(np.random.default_rng(seed), 4)  # the bias it drew first (not an input)
    gates, c, _ = _lstm_step(inputs["x"], inputs["h_prev"], inputs["c_prev"], inputs["W"], inputs["U"], b)
    assert relative_error(gates, inputs["gates"]) < 1e-9 and relative_error(c, inputs["c"]) < 1e-12
    # a real previous cell state, so that df = dc * c_prev is checked
    assert np.abs(inputs["c_prev"]).min() > 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_bptt_reference_agrees_with_central_differences(seed):
    inputs = recurrent._bptt_inputs(np.random.default_rng(seed), seed)
    b = np.random.default_rng(seed).normal(0, 0.3, recurrent.H)
    x, W, U, G = inputs["x"], inputs["W"], inputs["U"], inputs["grad"]
    hs = ops.simple_rnn_forward(time_major(x), W, U, b)

    def loss():
        return float(np.sum(G * ops.simple_rnn_forward(time_major(x), W, U, b)[1:].transpose(1, 0, 2)))

    grads = recurrent._bptt_reference(x, hs[1:].transpose(1, 0, 2), W, U, G)
    _check(
        loss,
        {"x": x, "W": W, "U": U, "b": b},
        {"x": grads["dx"], "W": grads["dW"], "U": grads["dU"], "b": grads["db"]},
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_attention_reference_agrees_with_central_differences(seed):
    inputs = attention._backward_inputs(np.random.default_rng(seed), seed)
    expected = attention._backward(**inputs)
    q, k, v, causal, G = (inputs[n] for n in ("q", "k", "v", "causal", "grad"))

    def loss():
        return float(np.sum(G * attention._forward(q, k, v, causal)[0]))

    _check(loss, {"q": q, "k": k, "v": v}, {"q": expected["dq"], "k": expected["dk"], "v": expected["dv"]})
    if causal:  # a key after the query gets no weight, so moving it changes nothing for that query
        p = attention._forward(q, k, v, causal)[1]
        assert np.all(np.triu(p[0], 1) == 0)
