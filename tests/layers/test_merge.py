"""Merge layers (Add, Multiply, Concatenate): shapes, errors, and gradients against central differences."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet as tn
from tinynet.gradcheck import numerical_gradient, relative_error
from tinynet.layers import Add, Concatenate, Multiply

from ..strategies import seeds, shapes


def merge_gradients(layer, xs, seed):
    """(analytic, numeric) input gradients of a merge layer for a random upstream gradient, float64."""
    xs = [np.array(x, dtype=np.float64) for x in xs]
    layer.dtype = np.dtype(np.float64)
    out = layer(xs, training=True)
    G = np.random.default_rng([seed, 0x6AD]).standard_normal(out.shape)
    analytic = [np.array(g, dtype=np.float64) for g in layer.backward(G)]

    def f() -> float:
        return float(np.sum(layer.forward(xs, training=True) * G))

    return [(a, numerical_gradient(f, x)) for a, x in zip(analytic, xs, strict=True)]


@given(
    shape=shapes(min_dims=2, max_dims=4),
    k=st.integers(2, 4),
    seed=seeds,
    cls=st.sampled_from([Add, Multiply]),
)
def test_add_and_multiply_gradients(shape, k, seed, cls):
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(-2, 2, shape) for _ in range(k)]
    for a, n in merge_gradients(cls(), xs, seed):
        assert a.shape == n.shape
        assert relative_error(a, n) < 1e-6


@given(
    shape=shapes(min_dims=2, max_dims=4),
    widths=st.lists(st.integers(1, 4), min_size=2, max_size=3),
    seed=seeds,
    data=st.data(),
)
def test_concatenate_gradients(shape, widths, seed, data):
    axis = data.draw(st.integers(1, len(shape) - 1))
    signed = data.draw(st.sampled_from([axis, axis - len(shape)]))  # 1 and -(ndim-1) are the same axis
    rng = np.random.default_rng(seed)
    xs = []
    for w in widths:
        s = list(shape)
        s[axis] = w
        xs.append(rng.uniform(-2, 2, s))
    layer = Concatenate(axis=signed)
    for a, n in merge_gradients(layer, xs, seed):
        assert relative_error(a, n) < 1e-6
    assert layer.output_shape[axis - 1] == sum(widths)


def test_values():
    a, b = np.array([[1.0, 2.0]]), np.array([[3.0, -1.0]])
    np.testing.assert_array_equal(Add()([a, b]), [[4.0, 1.0]])
    np.testing.assert_array_equal(Multiply()([a, b]), [[3.0, -2.0]])
    np.testing.assert_array_equal(Concatenate()([a, b]), [[1.0, 2.0, 3.0, -1.0]])
    np.testing.assert_array_equal(Concatenate(axis=1)([a[:, None], b[:, None]])[0], [[1.0, 2.0], [3.0, -1.0]])


def test_multiply_gradient_at_zero_is_finite():
    # the product of the others, never y / x
    x, z = np.array([[0.0, 2.0]]), np.array([[5.0, 0.0]])
    layer = Multiply()
    layer([x, z], training=True)
    dx, dz = layer.backward(np.ones((1, 2)))
    np.testing.assert_array_equal(dx, [[5.0, 0.0]])
    np.testing.assert_array_equal(dz, [[0.0, 2.0]])


def test_shape_errors_name_the_layer():
    with pytest.raises(ValueError, match="add.*one shape"):
        Add(name="add")([np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match="other sizes must agree"):
        Concatenate(axis=-1)([np.zeros((2, 3, 2)), np.zeros((2, 4, 2))])
    with pytest.raises(ValueError, match="batch axis"):
        Concatenate(axis=0)([np.zeros((2, 3)), np.zeros((2, 3))])
    with pytest.raises(ValueError, match="at least two"):
        Add()(tn.Input(shape=(3,)))
    with pytest.raises(TypeError, match="integer"):
        Concatenate(axis=1.5)


def test_keras_signature_and_config():
    assert Concatenate().axis == -1
    layer = Concatenate(axis=1, name="cat")
    assert Concatenate.from_config(layer.get_config()).axis == 1
    assert Add.from_config(Add(name="a").get_config()).name == "a"
