r"""Exercises: the backward passes of sigmoid, tanh, ReLU and softmax (see :mod:`tinynet.ops.activations`).

Each takes the forward output ``y`` and the upstream gradient ``grad`` (:math:`G = \partial L/\partial y`)
and returns :math:`\partial L/\partial x`, with the signature of the :mod:`tinynet.ops` function of the
same name. Checked on :math:`N = 5` samples of :math:`K = 4` values.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ._core import Exercise, Mistake, as_array

N, K = 5, 4


def sigmoid_backward(y: np.ndarray, grad: np.ndarray) -> np.ndarray:
    r"""Return :math:`G \odot \sigma'(x)` from the output :math:`y = \sigma(x)`."""
    raise NotImplementedError


def tanh_backward(y: np.ndarray, grad: np.ndarray) -> np.ndarray:
    r"""Return :math:`G \odot \tanh'(x)` from the output :math:`y = \tanh x`."""
    raise NotImplementedError


def relu_backward(y: np.ndarray, grad: np.ndarray) -> np.ndarray:
    r"""Return :math:`G \odot [x > 0]` from the output :math:`y = \max(x, 0)`."""
    raise NotImplementedError


def softmax_backward(y: np.ndarray, grad: np.ndarray) -> np.ndarray:
    r"""Return the Jacobian-vector product of the softmax over the last axis, from its output ``y``."""
    raise NotImplementedError


def _inputs(forward):
    def make(rng: np.random.Generator, seed: int) -> dict:
        x = rng.standard_normal((N, K)) * 2.0
        x[np.abs(x) < 0.05] = 0.5  # away from ReLU's kink
        return {"y": forward(x), "grad": rng.standard_normal((N, K))}

    return make


def _exercise(name, forward, reference, mistakes=()):
    return Exercise(
        name=name,
        topic="activations",
        signature=f"{name}(y, grad) -> dx",
        make_inputs=_inputs(forward),
        reference=lambda y, grad: {"dx": reference(y, grad)},
        adapt=as_array("dx"),
        context=lambda inputs, expected: {"batch_size": N, "output": inputs["y"], "upstream": inputs["grad"]},
        mistakes=mistakes,
    )


EXERCISES = (
    _exercise(
        "sigmoid_backward",
        ops.sigmoid,
        ops.sigmoid_backward,
        (
            Mistake(
                "dx",
                "derivative from the input",
                "dx ≈ G ⊙ σ(y)(1 − σ(y)): the derivative formula y(1 − y) already takes the output; "
                "do not apply the sigmoid again",
                lambda i: i["grad"] * ops.sigmoid(i["y"]) * (1 - ops.sigmoid(i["y"])),
            ),
        ),
    ),
    _exercise(
        "tanh_backward",
        np.tanh,
        ops.tanh_backward,
        (
            Mistake(
                "dx",
                "tanh derivative 1 - y",
                "dx ≈ G ⊙ (1 − y): the derivative of tanh is 1 − y², not 1 − y",
                lambda i: i["grad"] * (1 - i["y"]),
            ),
        ),
    ),
    _exercise("relu_backward", lambda x: np.maximum(x, 0), ops.relu_backward),
    _exercise("softmax_backward", ops.softmax, ops.softmax_backward),
)
