"""Activations: gradients, known values, invariants and numerical safety."""

import warnings

import numpy as np
import pytest
from hypothesis import given

import tinynet as tn
from tinynet.gradcheck import check_layer
from tinynet.layers import ACTIVATIONS, Activation, get_activation
from tinynet.layers.base import memory_order

from ..strategies import away_from_zero, in_layout, layouts, matrices, seeds, stored_in_order

NAMES = sorted(ACTIVATIONS)
KINKED = {"relu", "leaky_relu"}  # not differentiable at 0: draw inputs away from it


@pytest.mark.parametrize("name", NAMES)
@given(data=matrices())
def test_gradient_matches_central_differences(name, data):
    x = np.sign(data) * (np.abs(data) + 0.05) if name in KINKED else data
    errors = check_layer(get_activation(name), x)
    assert errors["input"] < 1e-6, errors


@pytest.mark.parametrize("name", sorted(set(NAMES) - {"softmax"}))
@given(seed=seeds, x_layout=layouts, g_layout=layouts)
def test_element_wise_gradients_in_either_memory_layout(name, seed, x_layout, g_layout):
    # after a Conv2D the activation gets a channels-last view: the output keeps that layout
    rng = np.random.default_rng(seed)
    data = rng.uniform(-3, 3, (2, 3, 2, 3))
    x = in_layout(np.sign(data) * (np.abs(data) + 0.05) if name in KINKED else data, x_layout)
    g = in_layout(rng.standard_normal(x.shape), g_layout)
    layer = get_activation(name)
    y = layer.forward(x, training=True)
    assert stored_in_order(y, memory_order(x))
    np.testing.assert_array_equal(y, get_activation(name).forward(np.ascontiguousarray(x)))
    assert check_layer(get_activation(name), x, grad_output=g)["input"] < 1e-6


@given(x=away_from_zero())
def test_activation_by_name_delegates(x):
    layer = Activation("relu")
    assert check_layer(layer, x)["input"] < 1e-6
    np.testing.assert_array_equal(layer.forward(x), np.maximum(x, 0))


KNOWN = {
    "linear": ([-2.0, 0.0, 3.0], [-2.0, 0.0, 3.0]),
    "relu": ([-2.0, 0.0, 3.0], [0.0, 0.0, 3.0]),
    "leaky_relu": ([-2.0, 0.0, 3.0], [-0.02, 0.0, 3.0]),
    "elu": ([-1.0, 0.0, 2.0], [np.exp(-1.0) - 1.0, 0.0, 2.0]),
    "sigmoid": ([0.0, np.log(3.0), -np.log(3.0)], [0.5, 0.75, 0.25]),
    "tanh": ([0.0, np.log(2.0)], [0.0, 0.6]),  # tanh(ln 2) = (2 - 1/2) / (2 + 1/2)
    "softplus": ([0.0, np.log(np.e - 1.0)], [np.log(2.0), 1.0]),
    # gelu(1) = 0.5 (1 + tanh(sqrt(2/pi) * 1.044715))
    "gelu": ([0.0, 1.0], [0.0, 0.5 * (1 + np.tanh(np.sqrt(2 / np.pi) * 1.044715))]),
    "softmax": ([0.0, np.log(2.0), np.log(5.0)], [0.125, 0.25, 0.625]),  # e^x = 1, 2, 5 over 8
}


@pytest.mark.parametrize("name", NAMES)
def test_known_values(name, float64):
    x, expected = KNOWN[name]
    np.testing.assert_allclose(
        get_activation(name).forward(np.array([x])), [expected], rtol=1e-12, atol=1e-15
    )


def test_known_derivatives(float64):
    # sigmoid'(0) = 1/4, tanh'(0) = 1, relu'(3) = 1, relu'(-2) = 0, softplus'(0) = 1/2
    for name, x, slope in [
        ("sigmoid", 0.0, 0.25),
        ("tanh", 0.0, 1.0),
        ("relu", 3.0, 1.0),
        ("relu", -2.0, 0.0),
        ("softplus", 0.0, 0.5),
        ("leaky_relu", -1.0, 0.01),
        ("elu", -1.0, np.exp(-1.0)),
    ]:
        act = get_activation(name)
        act.forward(np.array([[x]]))
        assert act.backward(np.array([[1.0]]))[0, 0] == pytest.approx(slope, rel=1e-12)


@given(
    x=matrices(),
    c=matrices(
        rows=__import__("hypothesis").strategies.just(1), cols=__import__("hypothesis").strategies.just(1)
    ),
)
def test_softmax_is_shift_invariant_and_sums_to_one(x, c):
    softmax = get_activation("softmax")
    p = softmax.forward(x)
    np.testing.assert_allclose(softmax.forward(x + 100.0 * c[0, 0]), p, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    assert (p >= 0).all()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_stay_finite_without_warnings(name, dtype):
    x = np.array([[-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4]], dtype=dtype)
    act = get_activation(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            y = act.forward(x)
            g = act.backward(np.ones_like(y))
    assert np.isfinite(y).all() and np.isfinite(g).all()
    assert y.dtype == dtype


def test_softmax_of_huge_logits_is_one_hot():
    p = get_activation("softmax").forward(np.array([[1e4, 0.0, -1e4]]))
    np.testing.assert_array_equal(p, [[1.0, 0.0, 0.0]])


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match="valid names: .*relu"):
        get_activation("rleu")
    with pytest.raises(ValueError, match="unknown activation 'swishy'"):
        tn.layers.Dense(3, activation="swishy")


def test_relu_works_in_place_only_when_the_caller_allows_it():
    x = np.array([[-1.0, 2.0], [3.0, -4.0]])
    g = np.array([[10.0, 20.0], [30.0, 40.0]])
    relu = get_activation("relu")
    x_before, g_before = x.copy(), g.copy()
    y = relu.forward(x, training=True)
    dx = relu.backward(g)
    np.testing.assert_array_equal(x, x_before)  # by default neither argument is written
    np.testing.assert_array_equal(g, g_before)
    np.testing.assert_array_equal(dx, [[0.0, 20.0], [30.0, 0.0]])
    y = relu.forward(x, training=True, in_place=True)
    assert y is x
    np.testing.assert_array_equal(x, [[0.0, 2.0], [3.0, 0.0]])
    relu.reuse_grad_output = True
    assert relu.backward(g) is g
    np.testing.assert_array_equal(g, [[0.0, 20.0], [30.0, 0.0]])


@pytest.mark.parametrize("name", sorted(set(NAMES) - {"relu"}))
def test_other_activations_never_work_in_place(name):
    # their derivative reads x, or their backward writes before it has read G
    x = np.linspace(-2, 2, 8).reshape(2, 4)
    layer = get_activation(name)
    y = layer.forward(x.copy(), training=True, in_place=True)
    assert y is not layer.x
    layer.reuse_grad_output = True
    g = np.ones_like(x)
    assert layer.backward(g) is not g


def test_gelu_keeps_its_precision_in_the_negative_tail():
    # 1 + tanh(u) cancels for x < -4; GELU computes x * sigmoid(2u) instead, which does not
    x = np.linspace(-9.0, -3.0, 13)[None, :]
    u = np.sqrt(2.0 / np.pi) * (x.astype(np.longdouble) + 0.044715 * x.astype(np.longdouble) ** 3)
    reference = x * (1.0 / (1.0 + np.exp(-2.0 * u)))  # extended precision, no cancellation
    y = get_activation("gelu").forward(x)
    np.testing.assert_allclose(y, reference.astype(np.float64), rtol=1e-13, atol=0)
    assert check_layer(get_activation("gelu"), x)["input"] < 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_float32_activations_compute_in_float32_on_every_numpy(name):
    # NumPy 2 (NEP 50) keeps a NumPy float64 scalar's precision where NumPy 1.x let the array's
    # float32 win: a constant such as np.sqrt(2 / np.pi) would silently turn the work into float64
    # on NumPy 2 only, and the same file would predict other bits on NumPy 1.24 and 2.x
    rng = np.random.default_rng(0)
    x = rng.uniform(-4, 4, (5, 3)).astype(np.float32)
    layer = get_activation(name)
    y = layer.forward(x, training=True)
    dx = layer.backward(rng.standard_normal(y.shape).astype(np.float32))
    kept = {key: value for key, value in vars(layer).items() if isinstance(value, np.ndarray)}
    kept.update(getattr(layer, "_buffers", {}))
    assert y.dtype == dx.dtype == np.float32
    wider = {
        key: value.dtype for key, value in kept.items() if value.dtype.kind == "f" and value.dtype != x.dtype
    }
    assert not wider, f"{name} kept work arrays wider than its float32 input: {wider}"
