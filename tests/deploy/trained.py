"""The two reference models of the deployment tests, trained once per process (a few seconds).

* the seed model: the Keras example of the seed article, Dense(10, relu) on the 8 Pima
  features then Dense(1, sigmoid), as ``tinynet demo`` trains it;
* the digits CNN of ``tests/test_cnn_digits.py`` (Conv 16 - MaxPool - Conv 32 - Dense 10).

Each function returns ``(model, x_test, y_test)`` with float32 inputs.
"""

from __future__ import annotations

import functools

import numpy as np

import tinynet as tn
from tinynet.layers import Conv2D, Dense, Flatten, MaxPool2D


@functools.cache
def pima_model():
    x, y = tn.datasets.load_pima_diabetes()
    x_train, x_test, y_train, y_test = tn.datasets.train_test_split(
        x, y, test_size=0.2, seed=0, stratify=True
    )
    x_train, x_test = tn.datasets.standardize(x_train, x_test)
    tn.set_seed(0)
    model = tn.Sequential([Dense(10, input_dim=8, activation="relu"), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train.astype(np.float32), y_train, epochs=100, batch_size=32, verbose=0)
    return model, x_test.astype(np.float32), y_test


@functools.cache
def digits_cnn():
    x, y = tn.datasets.load_digits(as_images=True)
    x = x / 16.0
    x_train, x_test, y_train, y_test = tn.datasets.train_test_split(
        x, y, test_size=0.2, seed=0, stratify=True
    )
    tn.set_seed(0)
    model = tn.Sequential(
        [
            Conv2D(16, 3, padding="same", activation="relu", input_shape=(1, 8, 8)),
            MaxPool2D(2),
            Conv2D(32, 3, padding="same", activation="relu"),
            Flatten(),
            Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train.astype(np.float32), y_train, epochs=5, batch_size=32, verbose=0)
    return model, x_test.astype(np.float32), y_test


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of correct predictions (a threshold of 0.5 for one sigmoid output)."""
    p = model.predict(x)
    predicted = (p[:, 0] > 0.5).astype(int) if p.shape[1] == 1 else p.argmax(axis=1)
    return float(np.mean(predicted == y.reshape(-1)))
