"""`tn.utils.to_categorical` (Keras' signature) and `tinynet.models.load_model` (Keras' spelling)."""

import numpy as np
import pytest

import tinynet as tn


def test_to_categorical_in_keras_spelling():
    y = tn.utils.to_categorical([0, 2, 1])
    np.testing.assert_array_equal(y, [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert y.dtype == tn.get_default_dtype()
    # positional num_classes, as in keras.utils.to_categorical(y, 10)
    assert tn.utils.to_categorical(np.array([1, 0]), 4).shape == (2, 4)


def test_to_categorical_drops_a_trailing_axis_of_one_and_keeps_other_axes():
    assert tn.utils.to_categorical(np.array([[1], [0], [2]])).shape == (3, 3)
    y = tn.utils.to_categorical(np.array([[0, 1], [2, 0]]), num_classes=3)
    assert y.shape == (2, 2, 3)
    np.testing.assert_array_equal(y.argmax(-1), [[0, 1], [2, 0]])


def test_to_categorical_follows_the_default_dtype():
    tn.set_default_dtype(np.float64)
    try:
        assert tn.utils.to_categorical([1]).dtype == np.float64
    finally:
        tn.set_default_dtype(np.float32)


@pytest.mark.parametrize(
    ("labels", "num_classes", "message"),
    [([0, -1], None, ">= 0"), ([0.5], None, "integer"), ([0, 3], 3, "out of range"), ([0], 0, "positive")],
)
def test_to_categorical_rejects_bad_labels(labels, num_classes, message):
    with pytest.raises(ValueError, match=message):
        tn.utils.to_categorical(labels, num_classes)


def test_models_load_model_is_the_loader(tmp_path):
    from tinynet.models import load_model

    assert load_model is tn.load_model
    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(2, input_dim=3)])
    model.compile(loss="mse", optimizer="sgd")
    model.save(tmp_path / "m.npz")
    x = np.ones((1, 3), np.float32)
    np.testing.assert_array_equal(load_model(tmp_path / "m.npz").predict(x), model.predict(x))
