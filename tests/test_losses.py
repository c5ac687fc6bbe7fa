"""Losses: gradients, known values, minima and numerical safety."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet as tn
from tinynet import losses
from tinynet.engine import FusedHead, LogitGradient
from tinynet.gradcheck import check_loss

from .strategies import batch_sizes, features, seeds


@st.composite
def problems(draw, kind):
    """Targets, predictions and optional weights for a loss.

    Logits stay in [-3, 3]: when a softmax saturates (logits 12 apart, say) the true
    gradient is ~1e-6 while central differences carry ~1e-10 of round-off from the
    log-sum-exp's O(1) terms, so the check would measure round-off, not the formula.
    Saturated logits are covered by the finiteness tests below.
    """
    n, k, seed = draw(batch_sizes), draw(features), draw(seeds)
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.1, 2.0, size=n) if draw(st.booleans()) else None
    if kind == "regression":
        return rng.normal(size=(n, k)), rng.normal(size=(n, k)), weights
    if kind == "binary":
        return rng.integers(0, 2, size=(n, k)).astype(float), rng.uniform(0.05, 0.95, size=(n, k)), weights
    if kind == "logits":
        return rng.integers(0, 2, size=(n, k)).astype(float), rng.uniform(-3.0, 3.0, size=(n, k)), weights
    k = max(k, 2)
    labels = rng.integers(0, k, size=n)
    probs = rng.uniform(0.05, 1.0, size=(n, k))
    probs /= probs.sum(axis=1, keepdims=True)
    if kind == "categorical":
        return np.eye(k)[labels], probs, weights
    if kind == "categorical_logits":
        return np.eye(k)[labels], rng.uniform(-3.0, 3.0, size=(n, k)), weights
    if kind == "sparse":
        return labels, probs, weights
    return labels, rng.uniform(-3.0, 3.0, size=(n, k)), weights


CASES = [
    (losses.MeanSquaredError(), "regression"),
    (losses.BinaryCrossentropy(), "binary"),
    (losses.BinaryCrossentropy(from_logits=True), "logits"),
    (losses.CategoricalCrossentropy(), "categorical"),
    (losses.CategoricalCrossentropy(from_logits=True), "categorical_logits"),
    (losses.SparseCategoricalCrossentropy(), "sparse"),
    (losses.SparseCategoricalCrossentropy(from_logits=True), "sparse_logits"),
]


@pytest.mark.parametrize(("loss", "kind"), CASES, ids=lambda c: getattr(c, "name", c))
@given(data=st.data())
def test_gradient_matches_central_differences(loss, kind, data):
    y_true, y_pred, weights = data.draw(problems(kind))
    assert check_loss(loss, y_true, y_pred, sample_weight=weights) < 1e-6


@given(data=problems("regression"))
def test_mae_gradient_away_from_the_kink(data):
    y_true, y_pred, weights = data
    y_pred = y_true + np.sign(y_pred - y_true) * (np.abs(y_pred - y_true) + 0.05)
    assert check_loss(losses.MeanAbsoluteError(), y_true, y_pred, sample_weight=weights) < 1e-6


def test_known_values():
    y_true = np.array([[1.0, 0.0], [0.0, 1.0]])
    y_pred = np.array([[0.5, 0.0], [1.0, 3.0]])
    # squared errors: 0.25, 0, 1, 4 -> mean 1.3125; absolute: 0.5, 0, 1, 2 -> 0.875
    assert losses.MeanSquaredError().forward(y_true, y_pred) == pytest.approx(1.3125)
    assert losses.MeanAbsoluteError().forward(y_true, y_pred) == pytest.approx(0.875)
    # BCE of p = 0.8 for t = 1 and p = 0.25 for t = 0: -(ln 0.8 + ln 0.75) / 2
    bce = losses.BinaryCrossentropy().forward(np.array([[1.0], [0.0]]), np.array([[0.8], [0.25]]))
    assert bce == pytest.approx(-(np.log(0.8) + np.log(0.75)) / 2)
    # from logits: z = ln 4 gives p = 0.8
    bce_z = losses.BinaryCrossentropy(from_logits=True).forward(np.array([[1.0]]), np.array([[np.log(4.0)]]))
    assert bce_z == pytest.approx(-np.log(0.8))
    # CCE: -ln 0.7 and -ln 0.5
    probs = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    cce = losses.CategoricalCrossentropy().forward(np.array([[1, 0, 0], [0, 0, 1]]), probs)
    assert cce == pytest.approx(-(np.log(0.7) + np.log(0.5)) / 2)
    assert losses.SparseCategoricalCrossentropy().forward(np.array([0, 2]), probs) == pytest.approx(cce)
    # logits ln(1), ln(2), ln(5): softmax = 1/8, 2/8, 5/8
    z = np.log(np.array([[1.0, 2.0, 5.0]]))
    assert losses.SparseCategoricalCrossentropy(from_logits=True).forward(np.array([2]), z) == pytest.approx(
        -np.log(5 / 8)
    )


def test_sample_weights_scale_each_sample():
    y_true, y_pred = np.array([[0.0], [0.0]]), np.array([[1.0], [2.0]])
    # per-sample squared errors 1 and 4, weights 3 and 0.5: (3 + 2) / 2
    assert losses.MeanSquaredError().forward(y_true, y_pred, sample_weight=[3.0, 0.5]) == pytest.approx(2.5)


def test_fused_gradient_is_p_minus_t_over_n():
    z = np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 0.0]])
    t = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    loss = losses.CategoricalCrossentropy(from_logits=True)
    loss.forward(t, z)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(loss.backward(), (p - t) / 2)
    bce = losses.BinaryCrossentropy(from_logits=True)
    bce.forward(t, z)
    np.testing.assert_allclose(bce.backward(), (1 / (1 + np.exp(-z)) - t) / 6)


@pytest.mark.parametrize("loss", [losses.MeanSquaredError(), losses.MeanAbsoluteError()])
def test_minimum_is_zero_at_the_target(loss):
    y = np.random.default_rng(0).normal(size=(4, 3))
    assert loss.forward(y, y) == 0.0
    np.testing.assert_array_equal(loss.backward(), 0.0)


def test_cross_entropy_minimum_is_zero_for_certain_correct_predictions():
    assert losses.BinaryCrossentropy().forward(np.array([[1.0], [0.0]]), np.array([[1.0], [0.0]])) < 1e-6
    assert losses.CategoricalCrossentropy().forward(np.eye(3), np.eye(3)) < 1e-6


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("loss", "kind"), CASES, ids=lambda c: getattr(c, "name", c))
def test_no_nan_inf_or_warning_at_extremes(loss, kind, dtype):
    if "logits" in kind:
        y_pred = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 50.0]], dtype=dtype)
    else:
        y_pred = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=dtype)  # exact 0 and 1 probabilities
    if kind in ("sparse", "sparse_logits"):
        y_true = np.array([1, 0])
    else:
        y_true = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            value = loss.forward(y_true, y_pred)
            grad = loss.backward()
    assert np.isfinite(value) and np.isfinite(grad).all()
    # confidently wrong somewhere: cross-entropies are large, MSE is 5/6 (five unit errors in six)
    assert value == pytest.approx(5 / 6) if kind == "regression" else value > 1.0


def test_shape_mismatch_and_bad_labels_are_explained():
    with pytest.raises(ValueError, match=r"y_true has shape \(3,\) but y_pred has shape \(3, 4\)"):
        losses.CategoricalCrossentropy().forward(np.zeros(3), np.full((3, 4), 0.25))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\]"):
        losses.SparseCategoricalCrossentropy().forward(np.array([0, 4]), np.full((2, 4), 0.25))
    with pytest.raises(ValueError, match="valid names: .*binary_crossentropy"):
        tn.losses.get("binary_cross_entropy")


#: each cross-entropy with the activation its head fuses
fused_heads = pytest.mark.parametrize(
    ("loss", "head"), [(losses.BinaryCrossentropy, "sigmoid"), (losses.CategoricalCrossentropy, "softmax")]
)


def _logits_and_one_hot(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(5, 4) float32 logits and one-hot targets."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(5, 4)).astype(np.float32)
    return z, np.eye(4, dtype=np.float32)[rng.integers(0, 4, 5)]


def _head_output(head, z):
    """What a model's fused head hands its loss: the probabilities, carrying logits and A."""
    activation = tn.layers.get_activation(head)
    p = activation.forward(z, training=True)
    return FusedHead(activation, activation).output(p)


@fused_heads
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(seed=seeds, scale=st.sampled_from([1.0, 30.0, 1e4]))
def test_the_heads_output_gives_the_same_loss_and_gradient_as_the_logits(loss, head, dtype, seed, scale):
    # a fused head's output carries its logits and log-normalizer A; the loss computed from them
    # is the loss from logits (to rounding) and the gradient the same array, bit for bit, also
    # where the head saturates (scale 1e4: p rounds to 0 or 1, yet A and the loss stay finite)
    rng = np.random.default_rng(seed)
    z = (rng.normal(size=(5, 4)) * scale).astype(dtype)
    t = np.eye(4, dtype=dtype)[rng.integers(0, 4, 5)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            y = _head_output(head, z)
            if head == "softmax":  # the shifted logits s = z - m and A(s) = log sum exp(s)
                np.testing.assert_array_equal(y.logits, z - z.max(axis=-1, keepdims=True))
                A_of_z = y.log_normalizer + z.max(axis=-1, keepdims=True)
                lse = np.logaddexp.reduce(z.astype(np.float64), axis=-1, keepdims=True)
            else:
                assert y.logits is z
                A_of_z, lse = y.log_normalizer, np.logaddexp(0, z.astype(np.float64))
            eps = 10 * np.finfo(dtype).eps
            np.testing.assert_allclose(A_of_z, lse, rtol=eps, atol=eps)
            plain, fused = loss(from_logits=True), loss()
            value, grad = plain.forward(t, z), plain.backward()
            value_fused, grad_fused = fused.forward(t, y), fused.backward()
            if head == "softmax":  # one-hot rows: the promise that they sum to 1 changes no bit
                assert fused.forward(t, y, rows_sum_to_one=True) == value_fused
                np.testing.assert_array_equal(fused.backward(), grad)
    assert type(grad_fused) is LogitGradient and type(grad) is np.ndarray
    assert np.isfinite(value_fused)
    assert value_fused == pytest.approx(value, rel=1e-5 if dtype == np.float32 else 1e-12, abs=1e-6)
    np.testing.assert_array_equal(np.asarray(grad_fused), grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(seed=seeds)
def test_sparse_labels_give_the_one_hot_losses_bits(dtype, seed):
    # the sparse loss knows its one-hot rows sum to 1 and skips their row sums: same result
    rng = np.random.default_rng(seed)
    z = (rng.normal(size=(6, 4)) * 5).astype(dtype)
    labels = rng.integers(0, 4, 6)
    dense, sparse = losses.CategoricalCrossentropy(True), losses.SparseCategoricalCrossentropy(True)
    assert sparse.forward(labels, z) == dense.forward(np.eye(4, dtype=dtype)[labels], z)
    np.testing.assert_array_equal(sparse.backward(), dense.backward())


@fused_heads
def test_a_loss_returns_a_fresh_gradient_unless_it_has_the_heads_work_array(loss, head):
    z, t = _logits_and_one_hot(0)
    plain, fused = loss(from_logits=True), loss()
    y = _head_output(head, z)
    grads = []
    for _ in range(2):
        plain.forward(t, z)
        fused.forward(t, y)
        grads.append((plain.backward(), fused.backward()))
        np.testing.assert_array_equal(np.asarray(grads[-1][1]), grads[-1][0])
    assert grads[0][0] is not grads[1][0]  # from plain logits: a new array every call
    assert grads[0][1] is grads[1][1] is y.gradient  # from a head: its work array, overwritten
    # a view of the head's output (or any array computed from it) carries nothing: the plain path
    assert y[:3].logits is None and fused.forward(t[:3], y[:3]) == loss().forward(t[:3], np.asarray(y[:3]))


@fused_heads
def test_the_heads_loss_computes_on_plain_arrays_and_backward_reads_them(loss, head):
    # a ufunc on an ndarray subclass dispatches more slowly: the loss computes with the plain
    # probabilities and writes the plain form of the LogitGradient work array (same memory)
    z, t = _logits_and_one_hot(1)
    y = _head_output(head, z)
    assert type(y.probabilities) is np.ndarray and np.shares_memory(y.probabilities, y)
    fused = loss()
    fused.forward(t, y)
    g = fused.backward()
    assert type(g) is LogitGradient and type(g.plain) is np.ndarray
    assert np.shares_memory(g.plain, g) and g.plain.shape == g.shape
    np.testing.assert_array_equal(g.plain, np.asarray(g))
    # the backward pass starts from the plain form; a LogitGradient made otherwise has none
    head_of_y = y.head
    assert head_of_y.backward(g) is g.plain
    other = np.asarray(g).copy().view(LogitGradient)
    assert other.plain is None and g[:2].plain is None
    below = head_of_y.backward(other)
    assert type(below) is np.ndarray and not np.shares_memory(below, g)
    np.testing.assert_array_equal(below, np.asarray(g))
