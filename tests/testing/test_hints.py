"""Each classic mistake makes the checks fail with its hint, and no hint fires without its mistake.

One test per mistake (docs/teaching.md links to them by name).  The hints are compared
with ``==`` so that an extra, misleading hint fails the test as well.
"""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet as tn
from tinynet.layers import Dense, Layer, Sigmoid, Tanh
from tinynet.testing import (
    Context,
    assert_layer_gradients,
    assert_loss_gradients,
    assert_model_gradients,
    assert_same_as,
    diagnose,
)
from tinynet.testing import hints as H
from tinynet.testing.strategies import arrays, seeds

from . import broken
from ._report import failing_arrays, failure, hints_of


def x_batch(n=5, d=4, seed=11):
    """Inputs away from 0 (the kink of ReLU-like layers), drawn from their own seed."""
    x = np.random.default_rng(seed).uniform(0.2, 2.0, size=(n, d))
    return x * np.where(np.arange(x.size).reshape(x.shape) % 3 == 0, -1.0, 1.0)


def layer_hints(layer, x=None, **kwargs):
    return hints_of(failure(assert_layer_gradients, layer, x_batch() if x is None else x, **kwargs))


# ------------------------------------------------------------------ one per mistake (layers)
def test_sign_error():
    assert layer_hints(broken.SignFlippedSigmoid()) == {"input": {H.SIGN}}


def test_transposed_weight_gradient():
    assert layer_hints(broken.TransposedDense(4)) == {"W": {H.TRANSPOSED}}  # 4 inputs, 4 units: W square


def test_transposed_input_gradient_has_the_transposed_shape():
    message = failure(assert_layer_gradients, broken.TransposedInputDense(2), x_batch(5, 3))
    assert hints_of(message) == {"input": {H.TRANSPOSED}}
    assert "shape (3, 5)" in message and "shape (5, 3)" in message


def test_wrong_shape():
    message = failure(assert_layer_gradients, broken.TanhWithFlatGradient(), x_batch(3, 4))
    assert hints_of(message) == {"input": {H.WRONG_SHAPE}}
    assert "the values are right but the shape is (12,), not (3, 4)" in message


def test_extra_one_over_n():
    message = failure(assert_layer_gradients, broken.BatchAveragedDense(3), x_batch(n=5))
    assert hints_of(message) == {"W": {H.EXTRA_MEAN}, "b": {H.EXTRA_MEAN}}
    assert "N = 5" in message


def test_missing_factor_two():
    message = failure(assert_layer_gradients, broken.Square(), x_batch())
    assert hints_of(message) == {"input": {H.FACTOR_2}}
    assert "analytic = 0.5 × numerical" in message


def test_wrong_constant_factor():
    message = failure(assert_layer_gradients, broken.Scale(), x_batch())
    assert hints_of(message) == {"input": {H.FACTOR}}
    assert "analytic = 1.66667 × numerical" in message


def test_forward_value_instead_of_derivative():
    assert layer_hints(broken.TanhWithOutputAsDerivative()) == {"input": {H.FORWARD_OUTPUT}}


def test_gradient_is_the_forward_output():
    assert layer_hints(broken.TanhReturningOutput()) == {"input": {H.FORWARD_OUTPUT}}


def test_upstream_gradient_ignored():
    assert layer_hints(broken.SigmoidWithoutUpstream()) == {"input": {H.NO_UPSTREAM}}


def test_local_derivative_missing():
    assert layer_hints(broken.TanhPassThrough()) == {"input": {H.NO_LOCAL}}


def test_forgotten_gradient_is_zero():
    assert layer_hints(broken.DenseWithoutBiasGradient(3)) == {"b": {H.ZERO}}


def test_rebound_grads_fail_alone():
    # alone, the rebound arrays hold the right values; the check fails on the protocol
    message = failure(assert_layer_gradients, broken.RebindingDense(3), x_batch())
    assert hints_of(message) == {"W": {H.REBOUND}, "b": {H.REBOUND}}
    assert failing_arrays(message) == {"W", "b"}


def test_rebound_grads_are_zero_in_a_model():
    with tn.gradcheck.float64_defaults():
        model = tn.Sequential([broken.RebindingDense(3, input_dim=4, activation="tanh"), Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
    x, y = x_batch(), np.random.default_rng(1).normal(size=(5, 2))
    message = failure(assert_model_gradients, model, x, y)
    assert hints_of(message) == {
        "rebinding_dense/W": {H.ZERO, H.REBOUND},
        "rebinding_dense/b": {H.ZERO, H.REBOUND},
    }


def test_accumulating_gradients():
    assert layer_hints(broken.AccumulatingDense(3)) == {"W": {H.ACCUMULATES}}


def test_accumulating_gradients_in_a_model():
    with tn.gradcheck.float64_defaults():
        model = tn.Sequential([broken.AccumulatingDense(3, input_dim=4), Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
    message = failure(assert_model_gradients, model, x_batch(), np.ones((5, 1)))
    assert hints_of(message) == {"accumulating_dense/W": {H.ACCUMULATES}}


def test_softmax_backward_with_the_jacobian_diagonal_only():
    assert layer_hints(broken.SoftmaxDiagonalOnly()) == {"input": {H.JACOBIAN_DIAGONAL}}


def test_jacobian_diagonal_hint_never_fires_on_a_correct_sigmoid():
    # for a sigmoid, G y (1 - y) is the right answer: the pattern is the expected gradient
    y = np.random.default_rng(0).uniform(0.1, 0.9, size=(4, 3))
    G = np.random.default_rng(1).normal(size=(4, 3))
    ctx = Context(key="input", output=y, upstream=G)
    assert diagnose(G * y * (1 - y), G * y * (1 - y), ctx) == []
    assert H.JACOBIAN_DIAGONAL not in {h.kind for h in diagnose(-G * y * (1 - y), G * y * (1 - y), ctx)}


@pytest.mark.parametrize("shape", [(5, 4), (4, 3, 2, 2)], ids=["features", "channels"])
def test_batch_norm_backward_with_the_inference_formula_in_training_mode(shape):
    x = np.random.default_rng(5).normal(size=shape) * np.linspace(0.5, 3.0, shape[1]).reshape(
        (1, -1) + (1,) * (len(shape) - 2)
    )
    hints = layer_hints(broken.BatchNormWithInferenceBackward(), x)
    assert hints == {"input": {H.FROZEN_STATISTICS}}


def test_frozen_statistics_hint_needs_a_scale_that_differs_between_features():
    G = np.random.default_rng(0).normal(size=(5, 3))
    ctx = Context(key="input", upstream=G, batch_size=5)
    n = np.random.default_rng(1).normal(size=(5, 3))
    assert H.FROZEN_STATISTICS in {h.kind for h in diagnose(G * [1.0, 2.0, 3.0], n, ctx)}
    assert H.FROZEN_STATISTICS not in {h.kind for h in diagnose(2.0 * G, n, ctx)}  # one constant
    assert diagnose(G * [1.0, 2.0, 3.0], G * [1.0, 2.0, 3.0], ctx) == []  # right in inference mode


def test_value_instead_of_gradient():
    assert layer_hints(broken.DenseWithWeightsAsGradient(3)) == {"W": {H.OWN_VALUE}}


def test_backward_returns_none():
    assert layer_hints(broken.TanhReturningNone()) == {"input": {H.NO_GRADIENT}}


def test_forward_modifies_its_input():
    assert H.MODIFIES_ARGUMENT in layer_hints(broken.ReLUInPlace())["layer"]


def test_backward_modifies_grad_output():
    assert layer_hints(broken.TanhModifyingGradOutput())["layer"] == {H.MODIFIES_ARGUMENT}


def test_not_finite():
    assert layer_hints(broken.ReciprocalWithInfiniteDerivative()) == {"input": {H.NOT_FINITE}}


# ------------------------------------------------------------------ one per mistake (losses)
def loss_hints(loss, shape):
    rng = np.random.default_rng(5)
    y_true, y_pred = rng.normal(size=shape), rng.normal(size=shape)
    return hints_of(failure(assert_loss_gradients, loss, y_true, y_pred))


def test_loss_missing_one_over_n():
    assert loss_hints(broken.UnaveragedMSE(), (4, 1)) == {"y_pred": {H.MISSING_MEAN}}


def test_loss_missing_one_over_d():
    assert loss_hints(broken.MSESummedOverFeatures(), (4, 3)) == {"y_pred": {H.MISSING_SAMPLE_MEAN}}


def test_loss_extra_one_over_d():
    assert loss_hints(broken.MSEDividedByDTwice(), (4, 3)) == {"y_pred": {H.EXTRA_SAMPLE_MEAN}}


def test_loss_missing_factor_two():
    assert loss_hints(broken.MSEWithoutTwo(), (4, 3)) == {"y_pred": {H.FACTOR_2}}


def test_loss_sign_error():
    assert loss_hints(broken.MSEWithFlippedSign(), (4, 3)) == {"y_pred": {H.SIGN}}


def test_ambiguous_factor_gives_every_reading():
    # with a batch of 2, a missing 1/N and an extra factor 2 look the same: both are reported
    y_true, y_pred = np.random.default_rng(3).normal(size=(2, 2, 1))
    message = failure(assert_loss_gradients, broken.UnaveragedMSE(), y_true, y_pred)
    assert hints_of(message) == {"y_pred": {H.MISSING_MEAN, H.FACTOR_2}}
    assert "one of several readings" in message


# ------------------------------------------------------------------ one per mistake (models)
def test_sign_error_propagates_to_the_layers_below():
    with tn.gradcheck.float64_defaults():
        model = tn.Sequential([Dense(3, input_dim=4), broken.SignFlippedSigmoid(), Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
    message = failure(assert_model_gradients, model, x_batch(), np.random.default_rng(2).normal(size=(5, 2)))
    assert hints_of(message) == {"dense/W": {H.SIGN}, "dense/b": {H.SIGN}}
    assert failing_arrays(message) == {"dense/W", "dense/b"}


def test_loss_without_mean_shows_in_every_parameter():
    with tn.gradcheck.float64_defaults():
        model = tn.Sequential([Dense(3, input_dim=4, activation="tanh"), Dense(1)])
        model.compile(optimizer="sgd", loss=broken.UnaveragedMSE())
    message = failure(assert_model_gradients, model, x_batch(), np.ones((5, 1)))
    assert hints_of(message) == {name: {H.MISSING_MEAN} for name in model.named_params()}


# ------------------------------------------------------------------ the same hints in assert_same_as
@pytest.mark.parametrize(
    ("student", "expected"),
    [
        (broken.TransposedDense(4), {"W": {H.TRANSPOSED}}),
        (broken.BatchAveragedDense(4), {"W": {H.EXTRA_MEAN}, "b": {H.EXTRA_MEAN}}),
        (broken.DenseWithoutBiasGradient(4), {"b": {H.ZERO}}),
        (broken.StudentDenseSignError(4), {"input": {H.SIGN}}),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, dict) else "",
)
def test_same_as_hints(student, expected):
    message = failure(assert_same_as, student, Dense(4), x_batch())
    assert hints_of(message) == expected
    assert "yours" in message and "reference" in message


# ------------------------------------------------------------------ no false alarms
def test_agreeing_arrays_get_no_hint():
    n = np.random.default_rng(0).normal(size=(3, 3))
    assert diagnose(n, n) == []
    assert diagnose(n, n + 1e-9) == []


def test_symmetric_gradient_is_not_called_transposed():
    n = np.random.default_rng(0).normal(size=(3, 3))
    n = n + n.T
    wrong = n.copy()
    wrong[0, 1] += 1.0
    assert diagnose(wrong, n) == []


def test_small_error_is_not_a_pattern():
    rng = np.random.default_rng(0)
    n = rng.normal(size=(4, 3))
    assert diagnose(n + 1e-3 * rng.normal(size=n.shape), n) == []


def test_one_wrong_element_is_not_a_pattern():
    n = np.random.default_rng(0).normal(size=(4, 3))
    a = n.copy()
    a[2, 1] *= -1
    assert diagnose(a, n, Context(batch_size=4)) == []


def test_one_element_arrays_are_not_given_a_made_up_factor():
    assert diagnose(np.array([0.3]), np.array([0.7])) == []
    assert [h.kind for h in diagnose(np.array([-0.7]), np.array([0.7]))] == [H.SIGN]


def test_zero_hint_needs_a_nonzero_expected_gradient():
    assert diagnose(np.zeros(3), np.zeros(3)) == []
    assert [h.kind for h in diagnose(np.zeros(3), np.ones(3))] == [H.ZERO]


def test_zero_parameter_does_not_make_a_zero_gradient_look_like_its_value():
    # a bias initialised to 0 with a forgotten gradient: "zero gradient", not "value instead of gradient"
    ctx = Context(key="b", value=np.zeros(3), batch_size=5)
    assert [h.kind for h in diagnose(np.zeros(3), np.ones(3), ctx)] == [H.ZERO]


@given(
    shape=st.sampled_from([(1,), (2,), (3, 3), (2, 5), (4, 1, 3)]),
    seed=seeds(),
    batch=st.integers(1, 6),
)
def test_unrelated_arrays_get_no_hint(shape, seed, batch):
    rng = np.random.default_rng(seed)
    a, n = rng.normal(size=shape), rng.normal(size=shape)
    ctx = Context(
        batch_size=batch,
        sample_size=3,
        value=rng.normal(size=shape),
        output=rng.normal(size=shape),
        upstream=rng.normal(size=shape),
    )
    kinds = {h.kind for h in diagnose(a, n, ctx)}
    if a.size == 1:
        kinds -= {H.SIGN}  # two numbers of opposite signs: a sign error is the honest reading
        kinds -= {H.FACTOR_2, H.MISSING_MEAN, H.EXTRA_MEAN, H.MISSING_SAMPLE_MEAN, H.EXTRA_SAMPLE_MEAN}
        assert H.FACTOR not in kinds
    assert kinds == set()


@given(x=arrays(), seed=seeds())
def test_correct_layers_never_fail(x, seed):
    # the hints only speak on failure; a correct layer never fails, whatever the inputs
    for layer in (Tanh(), Sigmoid(), Dense(3, activation="softplus")):
        assert_layer_gradients(layer, x, seed=seed % 1000)


def test_every_kind_is_documented_for_teachers():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "teaching.md").read_text()
    for kind in H.KINDS:
        assert f"`{kind}`" in page, kind
    names = {name for name in globals() if name.startswith("test_")}
    for name in set(re.findall(r"test_hints\.py::(test_\w+)", page)):
        assert name in names, f"docs/teaching.md names {name}, which does not exist"


def test_forgotten_bias_in_forward_gives_the_same_offset_for_every_sample():
    message = failure(assert_same_as, broken.StudentDenseForgetsBias(4), Dense(4), x_batch())
    assert hints_of(message) == {"output": {H.OFFSET}}
    assert failing_arrays(message) == {"output"}


def test_offset_needs_two_samples():
    n = np.random.default_rng(0).normal(size=(1, 4))
    assert diagnose(n + np.arange(4.0), n, Context(key="output", batch_size=1)) == []


def test_gradient_at_round_off_level():
    # batch normalization cancels the bias of the layer before it: its true gradient is 0 and the
    # numerical one is round-off; the hint says so instead of "zero gradient"
    pytest.importorskip("tinynet.layers.normalization", reason="BatchNormalization is not written (yet)")
    with tn.gradcheck.float64_defaults():
        tn.set_seed(0)
        bn = tn.layers.LAYER_REGISTRY["BatchNormalization"](epsilon=1e-5)
        model = tn.Sequential([Dense(4, input_dim=3), bn, Tanh(), Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
    x, y = np.random.default_rng(1).normal(size=(2, 6, 3))
    message = failure(assert_model_gradients, model, x, y[:, :1])
    assert hints_of(message) == {"dense/b": {H.ROUNDOFF}}


class ExpSlightlyOff(Layer):
    """y = exp(x), whose correct gradient G ⊙ y *is* the "forward output" pattern; wrong by 1e-5."""

    def forward(self, x, training=False):
        self.y = np.exp(x)
        return self.y

    def backward(self, grad_output):
        return grad_output * self.y * (1.0 + 1e-5 * np.cos(3.0 * self.y))


def test_a_pattern_equal_to_the_right_answer_is_no_hint():
    # the analytic gradient fails (error 1e-5 > rtol) and matches G ⊙ y to 1e-4, but G ⊙ y is the
    # right answer here: a pattern must be far (1e-2) from the expected gradient to count
    message = failure(assert_layer_gradients, ExpSlightlyOff(), x_batch())
    assert failing_arrays(message) == {"input"}
    assert hints_of(message) == {}


def test_a_pattern_close_to_the_right_answer_is_no_hint():
    # a = G ⊙ y exactly, but the expected gradient is within 1e-3 of G ⊙ y: calling it
    # "forward output" would point at the wrong thing; a pattern must be 1e-2 away from it
    rng = np.random.default_rng(0)
    y, G = rng.uniform(0.5, 2.0, (4, 3)), rng.normal(size=(4, 3))
    expected = G * y * (1.0 + 1e-3 * np.cos(5.0 * y))
    assert diagnose(G * y, expected, Context(key="input", output=y, upstream=G)) == []
    far = G * y * (1.0 + 0.1 * np.cos(5.0 * y))
    assert [h.kind for h in diagnose(G * y, far, Context(key="input", output=y, upstream=G))] == [
        H.FORWARD_OUTPUT
    ]


def _padded_images(top, bottom, left, right, seed=5):
    x = np.random.default_rng(seed).normal(size=(2, 3, 5, 6))
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))


def test_off_by_one_padding():
    # the image gradient of a col2im whose padding is off by one: the same pixels, one row lower
    n = _padded_images(1, 1, 1, 1)
    ctx = Context(key="dx", spatial_axes=(2, 3))
    shifted = _padded_images(2, 0, 1, 1)
    assert {h.kind for h in diagnose(shifted, n, ctx)} == {H.OFF_BY_ONE}
    # one row and column more on every side (padding p + 1): a different shape, the same values inside
    bigger = _padded_images(2, 2, 2, 2)
    (hint,) = diagnose(bigger, n, ctx)
    assert hint.kind == H.OFF_BY_ONE and "axis 2 has 9 instead of 7" in hint.message
    # an output size without its + 1: one row and column fewer
    assert {h.kind for h in diagnose(n[:, :, :-1, :-1], n, ctx)} == {H.OFF_BY_ONE}
    # names for the axes
    named = Context(key="dx", spatial_axes=(2, 3), axis_names=("n", "c", "the height axis", "the width axis"))
    assert "the height axis by +1" in diagnose(shifted, n, named)[0].message


def test_off_by_one_needs_spatial_axes_and_a_real_shift():
    n = _padded_images(1, 1, 1, 1)
    shifted = _padded_images(2, 0, 1, 1)
    # without spatial axes the rule is not tried
    assert H.OFF_BY_ONE not in {h.kind for h in diagnose(shifted, n, Context(key="dx"))}
    # a shift along a batch or channel axis is no padding mistake
    assert H.OFF_BY_ONE not in {
        h.kind for h in diagnose(np.roll(n, 1, axis=1), n, Context(spatial_axes=(2, 3)))
    }
    # other mistakes on images are not called an off-by-one
    rng = np.random.default_rng(0)
    for wrong in (-n, 2 * n, n + rng.normal(size=n.shape) * 0.1, n[:, :, ::-1, ::-1], n[:, :, 3:, 3:]):
        assert H.OFF_BY_ONE not in {h.kind for h in diagnose(wrong, n, Context(spatial_axes=(2, 3)))}
    # an axis the array does not have is ignored (a bias gradient shares the context of dx)
    b = rng.normal(size=3)
    assert H.off_by_one(np.roll(b, 1), b, (2, 3)) is None


@given(seed=seeds(), dh=st.integers(-1, 1), dw=st.integers(-1, 1))
def test_off_by_one_never_fires_on_a_correct_array(seed, dh, dw):
    n = np.random.default_rng(seed % 2**32).normal(size=(2, 2, 4, 4))
    assert diagnose(n.copy(), n, Context(spatial_axes=(2, 3))) == []
    assert H.off_by_one(n, n, (2, 3)) is None
    if dh or dw:
        moved = np.zeros((2, 2, 6, 6))
        moved[:, :, 1 + dh : 5 + dh, 1 + dw : 5 + dw] = n
        assert H.off_by_one(moved[:, :, 1:5, 1:5], n, (2, 3)) == (0, 0, dh, dw)
