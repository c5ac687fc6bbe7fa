r"""Exercise: the backward pass of batch normalization in training mode (see :mod:`tinynet.ops.normalization`).

For a batch :math:`X` of shape (N, D), per feature: :math:`\mu, \sigma^2` the batch mean and (biased)
variance, :math:`s = \sqrt{\sigma^2 + \epsilon}`, :math:`\hat x = (x - \mu)/s`, :math:`y = \gamma \hat x + \beta`.
Given :math:`G = \partial L/\partial y`, return

.. math::

    dx = \frac{1}{s}\Big(\hat g - \operatorname{mean}(\hat g) - \hat x\,\operatorname{mean}(\hat g\,\hat x)\Big),
    \quad \hat g = \gamma G, \qquad d\gamma = \sum_n G \hat x, \qquad d\beta = \sum_n G,

means and sums over the batch axis.  Checked on :math:`N = 6`, :math:`D = 3`, features of different scales.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ._core import Exercise, as_tuple

N, D = 6, 3


def batchnorm_backward(
    x: np.ndarray, gamma: np.ndarray, grad: np.ndarray, epsilon: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Return ``(dx, dgamma, dbeta)`` of batch normalization in training mode (module docstring)."""
    raise NotImplementedError


def _inputs(rng: np.random.Generator, seed: int) -> dict:
    x = rng.standard_normal((N, D)) * np.array([0.5, 1.5, 3.0]) + rng.standard_normal(D)
    return {"x": x, "gamma": rng.uniform(0.5, 2.0, D), "grad": rng.standard_normal((N, D)), "epsilon": 1e-5}


def _reference(x, gamma, grad, epsilon):
    x_hat, _, _, inv_std = ops.normalize_forward(x, (0,), epsilon)
    dx = ops.normalize_backward(grad * gamma, x_hat, inv_std, (0,))
    return {"dx": dx, "dgamma": np.sum(grad * x_hat, axis=0), "dbeta": np.sum(grad, axis=0)}


EXERCISES = (
    Exercise(
        name="batchnorm_backward",
        topic="normalization",
        signature="batchnorm_backward(x, gamma, grad, epsilon) -> (dx, dgamma, dbeta)",
        make_inputs=_inputs,
        reference=_reference,
        adapt=as_tuple("dx", "dgamma", "dbeta"),
        context=lambda inputs, expected: {"batch_size": N, "upstream": inputs["grad"]},
    ),
)
