"""Gradient clipping with Keras' semantics: what is rescaled, by how much, and inside a real model."""

import math

import numpy as np
import pytest

import tinynet as tn
from tinynet import optimizers, regularizers


def grads():
    # "big" has norm 5 (3-4-0), "small" norm 0.5
    return {"big": np.array([3.0, -4.0, 0.0]), "small": np.array([0.3, 0.4])}


def step(opt, g):
    params = {k: np.zeros_like(v) for k, v in g.items()}
    opt.step(params, g)
    return {k: -v for k, v in params.items()}  # SGD(1.0) from 0: the update is minus the clipped gradient


def test_clipnorm_rescales_each_array_on_its_own():
    used = step(optimizers.SGD(1.0, clipnorm=1.0), grads())
    np.testing.assert_allclose(used["big"], np.array([3.0, -4.0, 0.0]) / 5.0)  # norm 5 -> 1, same direction
    np.testing.assert_array_equal(used["small"], [0.3, 0.4])  # under the bound: untouched


def test_global_clipnorm_rescales_all_arrays_by_one_factor():
    total = math.sqrt(25.0 + 0.25)
    used = step(optimizers.SGD(1.0, global_clipnorm=1.0), grads())
    for key, g in grads().items():
        np.testing.assert_allclose(used[key], g / total)  # the joint direction is kept
    used = step(optimizers.SGD(1.0, global_clipnorm=10.0), grads())
    for key, g in grads().items():
        np.testing.assert_array_equal(used[key], g)


def test_clipvalue_clips_each_element():
    used = step(optimizers.SGD(1.0, clipvalue=0.35), grads())
    np.testing.assert_array_equal(used["big"], [0.35, -0.35, 0.0])  # the direction may change (as Keras)
    np.testing.assert_array_equal(used["small"], [0.3, 0.35])


@pytest.mark.parametrize("kind", ["clipnorm", "global_clipnorm", "clipvalue"])
def test_clipping_bounds_every_step_of_training_penalty_included(kind):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)) * 10  # unscaled inputs: large gradients
    y = x @ rng.normal(size=(4, 1))
    tn.set_seed(0)
    model = tn.Sequential(
        [
            tn.layers.Dense(8, input_dim=4, activation="tanh", kernel_regularizer=regularizers.l2(0.1)),
            tn.layers.Dense(1),
        ]
    )
    c = 0.5
    model.compile(loss="mse", optimizer=optimizers.SGD(1e-3, **{kind: c}))
    norms = []

    class Watch(tn.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            g = model.named_grads()  # clipped in place before the update
            if kind == "clipnorm":
                norms.append(max(float(np.linalg.norm(v)) for v in g.values()))
            elif kind == "global_clipnorm":
                norms.append(math.sqrt(sum(float(np.sum(v.astype(np.float64) ** 2)) for v in g.values())))
            else:
                norms.append(max(float(np.abs(v).max()) for v in g.values()))

    model.compute_gradients(x[:16], y[:16])  # the raw gradient (clipping is the optimizer's job)
    assert max(float(np.abs(g).max()) for g in model.named_grads().values()) > 10 * c  # clipping has work

    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[Watch()])
    assert len(norms) == 8 and max(norms) <= c * (1 + 1e-5)
    assert max(norms) > 0.9 * c  # the bound was reached, not trivially satisfied
