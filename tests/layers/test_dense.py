"""Dense: gradients, known values, shapes and errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet as tn
from tinynet.gradcheck import check_layer
from tinynet.layers import Dense

from ..strategies import batch_sizes, features, matrices, seeds

activations = st.sampled_from([None, "sigmoid", "tanh", "softmax", "gelu", "softplus", "elu"])


@given(x=matrices(), units=features, activation=activations, use_bias=st.booleans(), seed=seeds)
def test_gradients_match_central_differences(x, units, activation, use_bias, seed):
    tn.set_seed(seed)  # the initial weights too: the same example must give the same verdict
    layer = Dense(units, activation=activation, use_bias=use_bias)
    layer.dtype = np.dtype(np.float64)
    layer.build(x.shape[1:])
    # Keep every unit out of saturation.  There the derivative is tiny (tanh'(6.8) = 5e-6) while
    # the output, near 1, carries float64's rounding: a central difference then measures the
    # rounding (an "error" of 3e-6 in a thorough run), and a wrong factor would go unseen anyway.
    largest = float(np.abs(x @ layer.params["W"]).max())
    if largest > 4.0:
        layer.params["W"] *= 4.0 / largest
    errors = check_layer(layer, x, seed=seed)
    assert set(errors) == {"input", "W", "b"} if use_bias else {"input", "W"}
    assert max(errors.values()) < 1e-6, errors


@given(n=batch_sizes, extra=st.integers(1, 3), units=features, seed=seeds)
def test_leading_axes_act_as_batch_axes(n, extra, units, seed):
    x = np.random.default_rng(seed).normal(size=(n, extra, 4))
    errors = check_layer(Dense(units), x, seed=seed)
    assert max(errors.values()) < 1e-6, errors


def test_known_values(float64):
    layer = Dense(2, input_dim=3)
    layer.build((3,))
    layer.params["W"][...] = [[1.0, 0.0], [2.0, -1.0], [0.0, 3.0]]
    layer.params["b"][...] = [0.5, -0.5]
    x = np.array([[1.0, 1.0, 1.0], [2.0, 0.0, -1.0]])
    # row 1: [1+2+0, 0-1+3] + b = [3.5, 1.5]; row 2: [2+0+0, 0+0-3] + b = [2.5, -3.5]
    np.testing.assert_allclose(layer.forward(x), [[3.5, 1.5], [2.5, -3.5]])
    g = np.array([[1.0, 0.0], [0.0, 1.0]])
    dx = layer.backward(g)
    np.testing.assert_allclose(dx, [[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]])  # g @ W.T
    np.testing.assert_allclose(layer.grads["W"], [[1.0, 2.0], [1.0, 0.0], [1.0, -1.0]])  # x.T @ g
    np.testing.assert_allclose(layer.grads["b"], [1.0, 1.0])


def test_params_have_documented_shapes_and_default_dtype():
    layer = Dense(4, input_dim=3)
    layer.build((3,))
    assert layer.params["W"].shape == (3, 4) and layer.params["b"].shape == (4,)
    assert layer.params["W"].dtype == np.float32
    assert {k: v.shape for k, v in layer.grads.items()} == {k: v.shape for k, v in layer.params.items()}
    assert layer.count_params() == 16


def test_config_round_trip():
    layer = Dense(5, activation="relu", input_dim=3, use_bias=False, kernel_initializer="he_normal")
    clone = Dense.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_wrong_input_shape_names_the_layer():
    model = tn.Sequential([Dense(4, input_dim=3, name="hidden"), Dense(1)])
    with pytest.raises(
        ValueError, match=r"'hidden' expects inputs of shape \(batch, 3\) but received \(2, 5\)"
    ):
        model.predict(np.zeros((2, 5)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="positive number of units"):
        Dense(0)
    with pytest.raises(ValueError, match="unknown initializer 'glorot'"):
        Dense(3, kernel_initializer="glorot")
