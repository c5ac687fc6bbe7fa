"""Reshape: shapes, -1 inference, gradient, model use and errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet as tn
from tinynet.gradcheck import check_layer, check_model, float64_defaults
from tinynet.layers.conv import Conv2D
from tinynet.layers.core import Flatten
from tinynet.layers.dense import Dense
from tinynet.layers.reshape import Reshape

from ..strategies import seeds


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(1, 3),
    dims=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    unknown=st.booleans(),
    seed=seeds,
)
def test_reshape_round_trip_and_gradient(n, dims, unknown, seed):
    size = int(np.prod(dims))
    x = np.random.default_rng(seed).normal(size=(n, size))
    target = [-1, *dims[1:]] if unknown else dims
    layer = Reshape(target)
    assert layer.compute_output_shape((size,)) == tuple(dims)
    y = layer(x)
    assert y.shape == (n, *dims)
    np.testing.assert_array_equal(y.reshape(n, -1), x)  # row-major order is kept
    np.testing.assert_array_equal(layer.backward(y), x)
    assert check_layer(Reshape(target), x, seed=seed)["input"] < 1e-6


def test_dense_to_image_to_conv_model_gradients(float64):
    tn.set_seed(0)
    model = tn.Sequential(
        [
            Dense(12, activation="tanh", input_dim=3),
            Reshape((3, 2, -1)),
            Conv2D(2, 2, activation="tanh"),
            Flatten(),
        ]
    )
    model.compile(loss="mse", optimizer="sgd")
    model.build()
    assert model.layers[1].output_shape == (3, 2, 2)
    rng = np.random.default_rng(1)
    errors = check_model(model, rng.normal(size=(4, 3)), rng.normal(size=(4, 2)))
    assert max(errors.values()) < 1e-6, errors


def test_config_round_trip():
    layer = Reshape((2, -1), name="r")
    config = layer.get_config()
    assert config["target_shape"] == [2, -1]
    assert Reshape.from_config(config).get_config() == config
    assert Reshape(5).target_shape == (5,)


@pytest.mark.parametrize("target", [(), (2, -1, -1), (0, 3), (-2, 3), (2.5,)])
def test_bad_target_shapes(target):
    with pytest.raises(ValueError, match="target_shape must be a non-empty tuple of positive ints"):
        Reshape(target)


def test_incompatible_sizes_name_the_layer_and_shapes():
    with pytest.raises(
        ValueError, match=r"Reshape 'r' cannot reshape samples of shape \(2, 3\) \(6 elements\) to \(4, -1\)"
    ):
        tn.Sequential([Reshape((4, -1), input_shape=(2, 3), name="r")]).build()
    with pytest.raises(
        ValueError, match=r"cannot reshape samples of shape \(7,\) \(7 elements\) to \(2, 3\)"
    ):
        Reshape((2, 3)).compute_output_shape((7,))
    with float64_defaults():
        assert Reshape((3, -1)).compute_output_shape((2, 3)) == (3, 2)
