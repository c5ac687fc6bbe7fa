r"""Exercise: backpropagation through a whole 2-layer network by hand, graded against a tinynet model.

The network is ``Sequential([Dense(H, activation="relu"), Dense(K, activation="softmax")])`` trained
with the categorical cross-entropy, the mean over the batch of :math:`N` samples:

.. math::

    A = X W_1 + \mathbf 1 b_1^\top,\quad H = \max(A, 0),\quad Z = H W_2 + \mathbf 1 b_2^\top,\quad
    P = \mathrm{softmax}(Z),\quad L = -\frac1N \sum_{n,k} T_{nk} \log P_{nk}.

Backward, one step per forward step, in reverse:

.. math::

    G_Z = \frac{P - T}{N},\quad dW_2 = H^\top G_Z,\quad db_2 = G_Z^\top \mathbf 1,\quad
    G_H = G_Z W_2^\top,\quad G_A = G_H \odot [A > 0],\quad dW_1 = X^\top G_A,\quad db_1 = G_A^\top \mathbf 1.

The reference is a float64 :class:`tinynet.Sequential` holding the given weights: its ``predict``
output and the loss and gradients of its ``compute_gradients`` (forward in training mode, loss,
``model.backward``).  Checked on :math:`N = 6` samples, :math:`D = 4` features, :math:`H = 5`
hidden units, :math:`K = 3` classes, with one-hot targets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _config, gradcheck, ops
from ._core import Exercise, Mistake, as_array

N, D, HIDDEN, K = 6, 4, 5, 3
KEYS = ("loss", "dW1", "db1", "dW2", "db2")


def two_layer_forward(
    x: np.ndarray, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray
) -> np.ndarray:
    r"""Return the probabilities :math:`P = \mathrm{softmax}(\max(X W_1 + b_1, 0) W_2 + b_2)`, shape (N, K)."""
    raise NotImplementedError


def two_layer_backward(
    x: np.ndarray, t: np.ndarray, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Return ``(loss, dW1, db1, dW2, db2)``: the mean cross-entropy against the one-hot ``t`` and its
    gradient with respect to each parameter (module docstring)."""
    raise NotImplementedError


def _inputs(rng: np.random.Generator, seed: int) -> dict:
    return {
        "x": rng.standard_normal((N, D)),
        "t": np.eye(K)[rng.integers(0, K, N)],
        "W1": rng.standard_normal((D, HIDDEN)),
        "b1": rng.standard_normal(HIDDEN) * 0.5,
        "W2": rng.standard_normal((HIDDEN, K)),
        "b2": rng.standard_normal(K) * 0.5,
    }


def _model(W1, b1, W2, b2):
    """The float64 tinynet model holding these weights (tinynet's global generator left as it was)."""
    from ..layers import Dense
    from ..models import Sequential

    generator = _config.get_rng().bit_generator
    saved = generator.state  # building draws initial weights; the grader must not move the user's seed
    try:
        with gradcheck.float64_defaults():
            model = Sequential(
                [Dense(HIDDEN, activation="relu", input_dim=D), Dense(K, activation="softmax")]
            )
            model.compile(optimizer="sgd", loss="categorical_crossentropy")
    finally:
        generator.state = saved
    model.set_weights([W1, b1, W2, b2])
    return model


def _forward_reference(x, W1, b1, W2, b2):
    return {"p": np.array(_model(W1, b1, W2, b2).forward(x, training=False), dtype=np.float64)}


def _backward_reference(x, t, W1, b1, W2, b2):
    model = _model(W1, b1, W2, b2)
    loss = model.compute_gradients(x, t)
    first, second = (layer.grads for layer in model.layers)
    return {
        "loss": np.array(float(loss)),
        "dW1": first["W"].copy(),
        "db1": first["b"].copy(),
        "dW2": second["W"].copy(),
        "db2": second["b"].copy(),
    }


def _adapt_backward(returned: Any, inputs: dict) -> dict:
    if not isinstance(returned, (tuple, list)) or len(returned) != len(KEYS):
        raise TypeError(f"expected a tuple of 5 values ({', '.join(KEYS)}), got {type(returned).__name__}")
    out = {}
    for key, value in zip(KEYS, returned, strict=True):
        if value is None:
            out[key] = None
            continue
        value = np.asarray(value, dtype=np.float64)
        if key == "loss":
            if value.size != 1:
                raise TypeError(f"loss must be one number (the mean over the batch), got shape {value.shape}")
            value = value.reshape(())
        out[key] = value
    return out


def _without_mask(i: dict) -> dict[str, np.ndarray]:
    """The gradients of a backward pass that forgets ReLU's mask: G_A = G_H."""
    A = i["x"] @ i["W1"] + i["b1"]
    Hh = np.maximum(A, 0)
    P = ops.softmax(Hh @ i["W2"] + i["b2"])
    G_A = ((P - i["t"]) / N) @ i["W2"].T  # MISSING: * (A > 0)
    return {"dW1": i["x"].T @ G_A, "db1": G_A.sum(axis=0)}


_NO_MASK = (
    "the gradient goes through the ReLU unchanged: multiply G_H by its mask, G_A = G_H ⊙ [A > 0] "
    "(a unit that was off in the forward pass passes no gradient back)"
)


EXERCISES = (
    Exercise(
        name="two_layer_forward",
        topic="network",
        signature="two_layer_forward(x, W1, b1, W2, b2) -> p (N, K)",
        make_inputs=lambda rng, seed: {k: v for k, v in _inputs(rng, seed).items() if k != "t"},
        reference=_forward_reference,
        adapt=as_array("p"),
        context=lambda inputs, expected: {"batch_size": N},
        mistakes=(
            Mistake(
                "p",
                "ReLU forgotten",
                "the hidden layer is linear: apply H = max(A, 0) before the second layer",
                lambda i: ops.softmax((i["x"] @ i["W1"] + i["b1"]) @ i["W2"] + i["b2"]),
            ),
            Mistake(
                "p",
                "softmax forgotten",
                "p are the logits Z: apply the softmax, exp(Z - max) / Σ exp(Z - max), row by row",
                lambda i: np.maximum(i["x"] @ i["W1"] + i["b1"], 0) @ i["W2"] + i["b2"],
            ),
        ),
    ),
    Exercise(
        name="two_layer_backward",
        topic="network",
        signature="two_layer_backward(x, t, W1, b1, W2, b2) -> (loss, dW1, db1, dW2, db2)",
        make_inputs=_inputs,
        reference=_backward_reference,
        adapt=_adapt_backward,
        context=lambda inputs, expected: {"batch_size": N},
        mistakes=(
            Mistake("dW1", "ReLU mask missing", _NO_MASK, lambda i: _without_mask(i)["dW1"]),
            Mistake("db1", "ReLU mask missing", _NO_MASK, lambda i: _without_mask(i)["db1"]),
        ),
    ),
)
