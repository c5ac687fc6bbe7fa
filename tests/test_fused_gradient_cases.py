"""The fused cross-entropy gradient, case by case, as the docs state it (issue 19's review).

The gradient with respect to the logits is ``p - y`` divided by the number of terms the loss
averages: ``N`` rows for a softmax over (N, K), ``N * D`` elements for a sigmoid with D outputs,
``N * T`` positions for a softmax over sequences (N, T, K).  The docs once said ``(p - t)/N`` for
all three; these tests pin each case, so that the docs' table (docs/derivations.md#losses,
docs/user-guide/losses.md) stays true.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn
from tinynet import losses


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("seed", [0, 1])
def test_softmax_cross_entropy_over_rows_is_p_minus_y_over_n(seed: int) -> None:
    rng = np.random.default_rng(seed)
    N, K = 5, 4
    z = rng.normal(size=(N, K))
    y = np.eye(K)[rng.integers(0, K, N)]
    loss = losses.CategoricalCrossentropy(from_logits=True)
    loss.forward(y, z)
    np.testing.assert_allclose(loss.backward(), (softmax(z) - y) / N, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("D", [1, 3])
def test_binary_cross_entropy_with_d_outputs_is_p_minus_y_over_n_d(D: int) -> None:
    rng = np.random.default_rng(D)
    N = 4
    z = rng.normal(size=(N, D))
    y = (rng.random((N, D)) > 0.5).astype(np.float64)
    loss = losses.BinaryCrossentropy(from_logits=True)
    loss.forward(y, z)
    p = 1.0 / (1.0 + np.exp(-z))
    np.testing.assert_allclose(loss.backward(), (p - y) / (N * D), rtol=1e-12, atol=1e-15)
    if D > 1:  # the old wording, (p - t)/N, is D times too large
        assert not np.allclose(loss.backward(), (p - y) / N)


def test_softmax_cross_entropy_over_a_sequence_is_p_minus_y_over_n_t() -> None:
    rng = np.random.default_rng(2)
    N, T, K = 3, 5, 4
    z = rng.normal(size=(N, T, K))
    y = np.eye(K)[rng.integers(0, K, (N, T))]
    loss = losses.CategoricalCrossentropy(from_logits=True)
    loss.forward(y, z)
    np.testing.assert_allclose(loss.backward(), (softmax(z) - y) / (N * T), rtol=1e-12, atol=1e-15)


def test_a_sigmoid_head_with_d_outputs_starts_backpropagation_from_p_minus_y_over_n_d() -> None:
    """In a model (the fused head), the Dense layer below the sigmoid receives (p - y)/(N D)."""
    N, D = 6, 3
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N, 4))
    y = (rng.random((N, D)) > 0.5).astype(np.float64)
    with tn.gradcheck.float64_defaults():
        tn.set_seed(0)
        model = tn.Sequential([tn.layers.Dense(D, input_dim=4, activation="sigmoid")])
        model.compile(loss="binary_crossentropy", optimizer="sgd")
        model.compute_gradients(x, y)
        W, b = model.layers[0].params["W"], model.layers[0].params["b"]
        p = 1.0 / (1.0 + np.exp(-(x @ W + b)))
        grads = model.layers[0].grads
        np.testing.assert_allclose(grads["b"], ((p - y) / (N * D)).sum(axis=0), rtol=1e-10)
        np.testing.assert_allclose(grads["W"], x.T @ ((p - y) / (N * D)), rtol=1e-10)


def test_a_schedule_is_evaluated_at_t_minus_1_the_steps_already_taken() -> None:
    seen: list[int] = []
    optimizer = tn.optimizers.SGD(lambda step: seen.append(step) or 0.1)
    params = {"w": np.ones(2)}
    for _ in range(3):
        optimizer.step(params, {"w": np.ones(2)})
    assert seen == [0, 1, 2]  # steps t = 1, 2, 3 use schedule(t - 1)
