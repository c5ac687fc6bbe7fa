r"""Exercises: mean squared error and softmax cross-entropy from logits, their values and gradients.

Checked on :math:`N = 5` samples of :math:`D = K = 3` outputs (see :mod:`tinynet.ops.losses` and
:class:`tinynet.losses.MeanSquaredError`):

.. math::

    \mathrm{MSE} = \frac{1}{ND}\sum_{n,d} (\hat y_{nd} - y_{nd})^2, \qquad
    \frac{\partial\,\mathrm{MSE}}{\partial \hat y} = \frac{2 (\hat y - y)}{ND};

    \ell_n = \mathrm{LSE}(z_n) - \sum_k t_{nk} z_{nk}, \qquad
    \frac{\partial}{\partial z}\Big(\frac1N\sum_n \ell_n\Big) = \frac{\mathrm{softmax}(z) - t}{N}
    \ \ (\text{one-hot } t).
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ._core import Exercise, as_array, as_scalar

N, D = 5, 3


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    r"""Return the mean of :math:`(\hat y - y)^2` over every element (Keras' argument order)."""
    raise NotImplementedError


def mse_grad(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    r"""Return :math:`\partial\,\mathrm{MSE}/\partial \hat y`, shaped like ``y_pred``."""
    raise NotImplementedError


def softmax_cross_entropy(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    r"""Return each row's cross-entropy :math:`\ell_n` of :math:`\mathrm{softmax}(z_n)` against ``t``, from the
    logits, without overflow (as :func:`tinynet.ops.softmax_cross_entropy`): shape (N,)."""
    raise NotImplementedError


def softmax_cross_entropy_grad(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    r"""Return the gradient of the mean :math:`\frac1N \sum_n \ell_n` with respect to the logits ``z``."""
    raise NotImplementedError


def _regression(rng: np.random.Generator, seed: int) -> dict:
    return {"y_true": rng.standard_normal((N, D)), "y_pred": rng.standard_normal((N, D))}


def _classification(rng: np.random.Generator, seed: int) -> dict:
    z = rng.standard_normal((N, D)) * 3.0
    z[0] += 800.0  # a row whose exp overflows unless the maximum is subtracted
    return {"z": z, "t": np.eye(D)[rng.integers(0, D, N)]}


def _mse(y_true, y_pred):
    return {"loss": np.array(np.mean(np.square(y_pred - y_true)))}


def _mse_grad(y_true, y_pred):
    return {"grad": (y_pred - y_true) * (2.0 / y_pred.size)}


EXERCISES = (
    Exercise(
        name="mse",
        topic="losses",
        signature="mse(y_true, y_pred) -> float",
        make_inputs=_regression,
        reference=_mse,
        adapt=as_scalar("loss"),
    ),
    Exercise(
        name="mse_grad",
        topic="losses",
        signature="mse_grad(y_true, y_pred) -> grad",
        make_inputs=_regression,
        reference=_mse_grad,
        adapt=as_array("grad"),
        context=lambda inputs, expected: {"batch_size": N, "sample_size": D},
    ),
    Exercise(
        name="softmax_cross_entropy",
        topic="losses",
        signature="softmax_cross_entropy(z, t) -> per-row losses (N,)",
        make_inputs=_classification,
        reference=lambda z, t: {"loss": ops.softmax_cross_entropy(z, t)},
        adapt=as_array("loss"),
        context=lambda inputs, expected: {"batch_size": N},
    ),
    Exercise(
        name="softmax_cross_entropy_grad",
        topic="losses",
        signature="softmax_cross_entropy_grad(z, t) -> grad",
        make_inputs=_classification,
        reference=lambda z, t: {"grad": ops.cross_entropy_logits_grad(ops.softmax(z), t, 1.0 / len(z))},
        adapt=as_array("grad"),
        context=lambda inputs, expected: {"batch_size": N},
    ),
)
