"""A small CNN learns the bundled 8x8 handwritten digits (see docs/layers-cnn.md for the timings)."""

import numpy as np
import pytest

import tinynet as tn
from tinynet.layers.conv import Conv2D
from tinynet.layers.core import Flatten
from tinynet.layers.dense import Dense
from tinynet.layers.pooling import MaxPool2D


@pytest.mark.slow
def test_small_cnn_reaches_97_percent_on_digits():
    x, y = tn.datasets.load_digits(as_images=True)
    assert x.shape == (1797, 1, 8, 8)
    x = x / 16.0  # pixels 0..16 -> [0, 1]
    x_train, x_test, y_train, y_test = tn.datasets.train_test_split(
        x, y, test_size=0.2, seed=0, stratify=True
    )
    tn.set_seed(0)
    model = tn.Sequential(
        [
            Conv2D(16, 3, padding="same", activation="relu", input_shape=(1, 8, 8)),  # -> (16, 8, 8)
            MaxPool2D(2),  # -> (16, 4, 4)
            Conv2D(32, 3, padding="same", activation="relu"),  # -> (32, 4, 4)
            Flatten(),  # -> 512
            Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=15, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.1 < history.history["loss"][0]
    loss, accuracy = model.evaluate(x_test, y_test)
    assert accuracy >= 0.97, (loss, accuracy)
    # predict agrees with evaluate's accuracy
    assert np.mean(model.predict(x_test).argmax(axis=1) == y_test) == pytest.approx(accuracy)
