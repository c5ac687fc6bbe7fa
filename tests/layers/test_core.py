"""Dropout and Flatten."""

import numpy as np
import pytest
from hypothesis import given

from tinynet.gradcheck import check_layer
from tinynet.layers import Dropout, Flatten

from ..strategies import in_layout, matrices, seeds, shapes


@given(x=matrices(), seed=seeds)
def test_dropout_gradient(x, seed):
    assert check_layer(Dropout(0.4), x, seed=seed)["input"] < 1e-6


def test_dropout_is_inverted_and_identity_at_inference():
    layer = Dropout(0.25)
    layer.rng = np.random.default_rng(0)
    x = np.ones((400, 50), dtype=np.float32)
    y = layer.forward(x, training=True)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1.0 / 0.75, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.01  # 20,000 draws: the kept fraction is within 1% of q
    assert abs(y.mean() - 1.0) < 0.02  # inverted scaling keeps the expectation
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), y)  # the same mask routes the gradient
    assert layer.forward(x, training=False) is x


def test_dropout_rate_is_validated():
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        Dropout(1.0)


@given(shape=shapes(min_dims=2), seed=seeds)
def test_flatten_round_trip(shape, seed):
    x = np.random.default_rng(seed).normal(size=shape)
    layer = Flatten()
    y = layer.forward(x)
    assert y.shape == (shape[0], int(np.prod(shape[1:])))
    assert layer.compute_output_shape(shape[1:]) == y.shape[1:]
    np.testing.assert_array_equal(layer.backward(y), x)
    assert check_layer(Flatten(), x, seed=seed)["input"] < 1e-6


@given(seed=seeds)
def test_flatten_of_a_channels_last_view_keeps_the_logical_order(seed):
    # features are (channel, row, column) whatever the memory layout, so a Dense after Flatten
    # sees the same vector after a Conv2D (channels-last) as after any C-ordered input
    x = np.random.default_rng(seed).normal(size=(2, 3, 4, 5))
    layer = Flatten()
    y = layer.forward(in_layout(x, "channels_last"), training=True)
    np.testing.assert_array_equal(y, x.reshape(2, -1))
    g = np.random.default_rng(seed + 1).normal(size=(2, 60))
    np.testing.assert_array_equal(layer.backward(g), g.reshape(x.shape))
    assert check_layer(Flatten(), in_layout(x, "channels_last"), seed=seed)["input"] < 1e-6


def test_flatten_backward_of_a_gradient_changed_in_place_is_never_stale():
    # a model hands Flatten the same gradient array every step, and Flatten hands back the same
    # view of it: new values show through, and another array (C-ordered or not) gets its own view
    layer = Flatten()
    layer.forward(np.zeros((2, 3, 4)), training=True)
    for g in (np.ones((2, 12)), np.full((12, 2), 2.0).T):
        first = layer.backward(g).copy()
        np.testing.assert_array_equal(first, g.reshape(2, 3, 4))
        g *= 5.0
        np.testing.assert_array_equal(layer.backward(g), 5.0 * first)
