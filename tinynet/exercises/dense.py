r"""Exercises: the fully connected layer, :math:`Z = X W + \mathbf 1 b^\top` (see :mod:`tinynet.ops.dense`).

Write :func:`dense_forward` and :func:`dense_backward` (pure functions: they return new arrays and
modify nothing). The checks compare them with :mod:`tinynet.ops` on seeded float64 inputs,
:math:`N = 5` samples, :math:`D = 3` features, :math:`U = 4` units.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..testing import hints as _hints
from ._core import Exercise, Mistake, as_array, as_tuple

N, D, U = 5, 3, 4


def dense_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""Return :math:`Z = X W + \mathbf 1 b^\top`: ``x`` (N, D), ``W`` (D, U), ``b`` (U,) -> (N, U)."""
    raise NotImplementedError


def dense_backward(
    x: np.ndarray, W: np.ndarray, grad_z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Return ``(dX, dW, db)``: :math:`G_Z W^\top`, :math:`X^\top G_Z`, :math:`\mathbf 1^\top G_Z`.

    ``x`` (N, D), ``W`` (D, U), ``grad_z`` :math:`G_Z = \partial L/\partial Z` (N, U).
    (:func:`tinynet.ops.dense_backward` writes ``dW`` and ``db`` into arrays it is given and
    :func:`tinynet.ops.dense_input_grad` returns ``dX``; this exercise returns all three.)
    """
    raise NotImplementedError


def _forward_inputs(rng: np.random.Generator, seed: int) -> dict:
    return {"x": rng.standard_normal((N, D)), "W": rng.standard_normal((D, U)), "b": rng.standard_normal(U)}


def _backward_inputs(rng: np.random.Generator, seed: int) -> dict:
    return {
        "x": rng.standard_normal((N, D)),
        "W": rng.standard_normal((D, U)),
        "grad_z": rng.standard_normal((N, U)),
    }


def _forward_reference(x, W, b):
    return {"Z": ops.dense_forward(x, W, b)}


def _backward_reference(x, W, grad_z):
    dW, db = np.empty_like(W), np.empty(W.shape[1])
    ops.dense_backward(x, grad_z, dW, db)
    return {"dX": ops.dense_input_grad(grad_z, W), "dW": dW, "db": db}


EXERCISES = (
    Exercise(
        name="dense_forward",
        topic="dense",
        signature="dense_forward(x, W, b) -> Z",
        make_inputs=_forward_inputs,
        reference=_forward_reference,
        adapt=as_array("Z"),
        context=lambda inputs, expected: {"batch_size": N},
        mistakes=(
            Mistake(
                "Z",
                _hints.OFFSET,
                "Z lacks the bias: add b to every row (Z = x @ W + b)",
                lambda i: i["x"] @ i["W"],
            ),
        ),
    ),
    Exercise(
        name="dense_backward",
        topic="dense",
        signature="dense_backward(x, W, grad_z) -> (dX, dW, db)",
        make_inputs=_backward_inputs,
        reference=_backward_reference,
        adapt=as_tuple("dX", "dW", "db"),
        context=lambda inputs, expected: {"batch_size": N, "upstream": inputs["grad_z"]},
        mistakes=(
            Mistake(
                "db",
                _hints.EXTRA_MEAN,
                "db is the mean of G_Z over the batch: the bias gradient is the sum, 1ᵀ G_Z "
                "(the loss's gradient already holds the 1/N)",
                lambda i: i["grad_z"].mean(axis=0),
            ),
            Mistake(
                "db",
                "bias gradient not summed",
                "db has one row per sample: the bias is shared by every sample, so sum G_Z over the batch axis",
                lambda i: i["grad_z"],
            ),
        ),
    ),
)
