"""Layers without parameters that reshape or perturb their input."""

from __future__ import annotations

import math

import numpy as np

from .._config import get_rng
from .base import Layer, memory_order, register_layer


@register_layer
class Dropout(Layer):
    r"""Inverted dropout.

    Training: each element is kept with probability :math:`q = 1 - \text{rate}`
    and scaled by :math:`1/q`, so the expected output equals the input:

    .. math:: M_i = \frac{[u_i \ge \text{rate}]}{q},\ u_i \sim U[0, 1), \qquad Y = X \odot M,
              \qquad \frac{\partial L}{\partial X} = G \odot M.

    Inference: the identity (nothing to rescale, thanks to the :math:`1/q`).
    The random numbers come from ``self.rng``, the owning model's generator.

    Shapes: ``x``, ``y``, the mask ``M`` (cache) and the gradients share one shape.

    Parameters
    ----------
    rate : float
        Fraction of the inputs to drop, in [0, 1).
    """

    def __init__(self, rate: float, **kwargs) -> None:
        super().__init__(**kwargs)
        rate = float(rate)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate}")
        self.rate = rate
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0.0:
            self.mask = None
            return x
        rng = self.rng if self.rng is not None else get_rng()
        mask = self.buffer("mask", x.shape, x.dtype)
        rng.random(out=mask, dtype=mask.dtype)
        # mask <- [u >= rate] / q, in place
        np.greater_equal(mask, self.rate, out=mask)
        mask *= 1.0 / (1.0 - self.rate)
        self.mask = mask
        y = self.buffer("y", x.shape, x.dtype)
        return np.multiply(x, mask, out=y)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self.mask is None:
            return grad_output
        return np.multiply(
            grad_output, self.mask, out=self.buffer("dx", grad_output.shape, grad_output.dtype)
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate}


@register_layer
class Flatten(Layer):
    """Flatten every axis but the batch axis: (N, d1, d2, ...) -> (N, d1*d2*...).

    Backward reshapes the gradient back to the input's shape.  Both are views
    when the input is stored in C order.  An input stored otherwise (the
    channels-last output of a Conv2D, see :func:`~tinynet.layers.base.memory_order`)
    is copied once, so that the features are always in logical order
    (channel, row, column for an image), whatever the memory layout.
    """

    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._x_shape = x.shape
        if memory_order(x) is None:
            return x.reshape(x.shape[0], -1)
        y = self.output_array("y", (x.shape[0], math.prod(x.shape[1:])), training, x.dtype)
        np.copyto(y.reshape(x.shape), x)  # the features in logical (channel, row, column) order
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output.reshape(self._x_shape)  # splitting the feature axis: always a view
