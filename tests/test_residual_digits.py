"""A small residual CNN, built with tn.Model and Add, learns the 8x8 digits (docs/functional-api.md)."""

import numpy as np
import pytest

import tinynet as tn
from tinynet.layers import Activation, Add, Conv2D, Dense, Flatten, MaxPool2D


def residual_cnn() -> tn.Model:
    x = tn.Input(shape=(1, 8, 8))
    h = Conv2D(16, 3, padding="same", activation="relu")(x)  # -> (16, 8, 8)
    r = Conv2D(16, 3, padding="same", activation="relu")(h)
    r = Conv2D(16, 3, padding="same")(r)
    h = Activation("relu")(Add()([h, r]))  # the residual block: relu(h + F(h))
    h = MaxPool2D(2)(h)  # -> (16, 4, 4)
    y = Dense(10, activation="softmax")(Flatten()(h))
    return tn.Model(x, y, name="residual_cnn")


@pytest.mark.slow
def test_residual_cnn_reaches_95_percent_on_digits():
    x, y = tn.datasets.load_digits(as_images=True)
    x = x / 16.0
    x_train, x_test, y_train, y_test = tn.datasets.train_test_split(
        x, y, test_size=0.2, seed=0, stratify=True
    )
    tn.set_seed(0)
    model = residual_cnn()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=10, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.1 < history.history["loss"][0]
    loss, accuracy = model.evaluate(x_test, y_test)
    assert accuracy >= 0.95, (loss, accuracy)  # 0.972 here (seed 0)
    assert np.mean(model.predict(x_test).argmax(axis=1) == y_test) == pytest.approx(accuracy)
