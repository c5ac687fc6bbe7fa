"""The assertions of tinynet.testing: what they return, what they check, what their failures say."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet as tn
from tinynet.layers import Dense, Dropout, Layer, Tanh
from tinynet.testing import (
    assert_layer_gradients,
    assert_loss_gradients,
    assert_model_gradients,
    assert_same_as,
)
from tinynet.testing.strategies import arrays, gradient_settings

from . import broken
from ._report import failing_arrays, failure


class OffByOneElement(Tanh):
    """Correct except for one element of the input gradient, which is off by 1."""

    def backward(self, grad_output):
        dx = super().backward(grad_output).copy()
        dx[1, 2] += 1.0
        return dx


class SlightlyOff(Tanh):
    """A derivative wrong by a relative 1e-3 (as from a crude approximation)."""

    def _backward(self, grad_output, out):
        np.multiply(grad_output, (1.0 - self.y**2) * (1.0 + 1e-3 * np.cos(7.0 * self.x)), out=out)


def x_batch(shape=(3, 4), seed=5):
    """Values of both signs, at least 0.3 away from 0."""
    return np.random.default_rng(seed).uniform(0.3, 2.0, size=shape) * np.resize([1.0, -1.0], shape)


# ------------------------------------------------------------------------------ layers
@gradient_settings()
@given(x=arrays(max_dims=3, max_side=4), beta=st.floats(-3.0, 3.0))
def test_the_swish_example_passes_over_hypothesis_shapes(swish, x, beta):
    errors = assert_layer_gradients(swish.Swish(beta=beta), x)
    assert set(errors) == {"input", "beta"} and max(errors.values()) < 1e-6


def test_returns_the_error_of_every_array():
    errors = assert_layer_gradients(Dense(3, activation="tanh"), x_batch())
    assert set(errors) == {"input", "W", "b"}
    assert all(0.0 <= e < 1e-6 for e in errors.values())


def test_table_shows_the_worst_element_and_both_values():
    message = failure(assert_layer_gradients, OffByOneElement(), x_batch())
    assert message.startswith("OffByOneElement: the backward pass disagrees with central differences")
    assert "seed=0, training mode, x of shape (3, 4)" in message
    header, row = message.split("\n\n")[1].splitlines()
    assert header.split() == ["array", "shape", "error", "worst", "index", "analytic", "numerical"]
    cells = row.split()
    assert cells[0] == "input" and " ".join(cells[1:3]) == "(3, 4)" and cells[4] == "FAIL"
    assert " ".join(cells[5:7]) == "(1, 2)"
    analytic, numeric = float(cells[7]), float(cells[8])
    assert analytic - numeric == pytest.approx(1.0, abs=1e-5)
    assert "Hints:" not in message  # one wrong element is no pattern


def test_rtol_decides():
    with pytest.raises(AssertionError):
        assert_layer_gradients(SlightlyOff(), x_batch())
    errors = assert_layer_gradients(SlightlyOff(), x_batch(), rtol=1e-2)
    assert 1e-4 < errors["input"] < 1e-2


def test_the_upstream_gradient_is_not_the_input_drawn_with_the_same_seed():
    # with G = x, x.T @ G is symmetric and a transposed dW would pass
    x = np.random.default_rng(0).normal(size=(4, 3))
    message = failure(assert_layer_gradients, broken.TransposedDense(3), x, seed=0)
    assert failing_arrays(message) == {"W"}


def test_seed_changes_the_upstream_gradient():
    a = failure(assert_layer_gradients, OffByOneElement(), x_batch(), seed=0)
    b = failure(assert_layer_gradients, OffByOneElement(), x_batch(), seed=1)
    assert "seed=1" in b and a.split("\n\n")[1] != b.split("\n\n")[1]


def test_a_float32_layer_is_refused_and_a_fresh_one_is_built_in_float64():
    layer = Dense(2)
    layer.build((3,))  # float32, the default
    with pytest.raises(ValueError, match="float64"):
        assert_layer_gradients(layer, x_batch((2, 3)))
    fresh = Dense(2)
    assert_layer_gradients(fresh, x_batch((2, 3)))
    assert fresh.params["W"].dtype == np.float64 and tn.get_default_dtype() == np.float32


def test_arguments_and_layer_are_left_as_they_were():
    x = x_batch((4, 2))
    before = x.copy()
    pytest.importorskip("tinynet.layers.normalization", reason="BatchNormalization is not written (yet)")
    layer = tn.layers.LAYER_REGISTRY["BatchNormalization"]()  # it has state: running averages
    rng = np.random.default_rng(3)
    layer.rng = rng
    layer.dtype = np.dtype(np.float64)
    layer.build((2,))
    state = {k: v.copy() for k, v in layer.state.items()}
    assert_layer_gradients(layer, x)
    np.testing.assert_array_equal(x, before)
    for k, v in state.items():
        np.testing.assert_array_equal(layer.state[k], v)
    assert layer.rng is rng


@pytest.mark.parametrize("training", [True, False])
def test_training_mode_is_passed_through(training):
    errors = assert_layer_gradients(Dropout(0.5), x_batch(), training=training)
    assert errors["input"] < 1e-6


def test_mismatched_params_and_grads_are_reported():
    class Sloppy(Layer):
        def build(self, input_shape):
            super().build(input_shape)
            self.params["w"] = np.ones(3)  # no add_param: no gradient array

        def forward(self, x, training=False):
            return x * self.params["w"]

        def backward(self, grad_output):
            return grad_output * self.params["w"]

    with pytest.raises(AssertionError, match=r"params and grads must have the same keys.*add_param"):
        assert_layer_gradients(Sloppy(), x_batch((2, 3)))


# ------------------------------------------------------------------------------ losses
def test_loss_returns_its_error_and_fails_with_a_one_row_table():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.normal(size=(2, 4, 3))
    assert assert_loss_gradients(tn.losses.MeanSquaredError(), y_true, y_pred) < 1e-6
    message = failure(assert_loss_gradients, broken.MSEWithoutTwo(), y_true, y_pred)
    assert message.startswith("MSEWithoutTwo: backward() is not the gradient of forward()")
    assert failing_arrays(message) == {"y_pred"}


def test_loss_sample_weights_are_passed():
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.normal(size=(2, 4, 1))
    assert (
        assert_loss_gradients(tn.losses.MeanSquaredError(), y_true, y_pred, sample_weight=[1, 2, 3, 4]) < 1e-6
    )


# ------------------------------------------------------------------------------ models
def small_model(first=None, loss="mse"):
    with tn.gradcheck.float64_defaults():
        tn.set_seed(0)
        model = tn.Sequential([first or Dense(3, input_dim=2, activation="tanh"), Dense(2)])
        model.compile(optimizer="adam", loss=loss)
    return model


def test_model_returns_errors_keyed_like_named_params():
    rng = np.random.default_rng(0)
    model = small_model()
    errors = assert_model_gradients(model, rng.normal(size=(4, 2)), rng.normal(size=(4, 2)))
    assert list(errors) == list(model.named_params())


def test_model_must_be_compiled():
    with tn.gradcheck.float64_defaults():
        model = tn.Sequential([Dense(2, input_dim=2)])  # built at once (as Keras), so in float64
    with pytest.raises(RuntimeError, match="compiled"):
        assert_model_gradients(model, np.ones((2, 2)), np.ones((2, 2)))


def test_a_layer_that_passes_alone_can_fail_in_a_model():
    x = x_batch((4, 2))
    y = np.random.default_rng(0).normal(size=(4, 2))
    with pytest.raises(AssertionError, match="rebound array"):
        assert_layer_gradients(broken.RebindingDense(3), x)
    with tn.gradcheck.float64_defaults():  # the model is built as the layers are added: all float64
        first = broken.RebindingDense(3, input_dim=2)
    message = failure(assert_model_gradients, small_model(first), x, y)
    assert failing_arrays(message) == {"rebinding_dense/W", "rebinding_dense/b"}


# ------------------------------------------------------------------------------ two implementations
def test_a_correct_student_layer_is_the_same_as_dense():
    student, reference = broken.StudentDense(3), Dense(3)
    assert_same_as(student, reference, (4, 5))
    for key in ("W", "b"):
        np.testing.assert_array_equal(student.params[key], reference.params[key])
    assert np.any(reference.params["b"] != 0)  # randomized: a zero bias hides nothing


def test_same_as_with_an_array_and_without_randomizing():
    student, reference = broken.StudentDense(2), Dense(2, bias_initializer="ones")
    assert_same_as(student, reference, x_batch((3, 4)), randomize=False, seeds=(0, 1))
    np.testing.assert_array_equal(reference.params["b"], np.ones(2))


def test_same_as_compares_the_random_numbers_of_both_layers():
    assert_same_as(Dropout(0.5), Dropout(0.5), (6, 4))
    message = failure(assert_same_as, Dropout(0.5), Dropout(0.2), (6, 4), seeds=(0,))
    assert failing_arrays(message) >= {"output", "input"}


def test_same_as_reports_different_parameters():
    message = failure(assert_same_as, broken.StudentDenseWrongKeys(3), Dense(3), (2, 4))
    assert "do not have the same parameters" in message
    assert "weights" in message and "missing" in message
    message = failure(assert_same_as, broken.StudentDenseTransposedStorage(3), Dense(3), (2, 4))
    assert "'W' is stored transposed: the reference uses shape (4, 3)" in message


def test_same_as_reports_a_different_output_shape():
    class Transposing(broken.StudentDense):
        def forward(self, x, training=False):
            return super().forward(x, training).T

    message = failure(assert_same_as, Transposing(2), Dense(2), (5, 3), seeds=(0,))
    assert failing_arrays(message) == {"output"}
    assert "shape (2, 5)" in message and "shape (5, 2)" in message


def test_same_as_refuses_float32_layers():
    student = broken.StudentDense(2)
    student.build((3,))
    with pytest.raises(ValueError, match="float64"):
        assert_same_as(student, Dense(2), (2, 3))
