"""The Reshape layer (for flattening every axis, see :class:`tinynet.layers.Flatten`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Layer, register_layer


@register_layer
class Reshape(Layer):
    r"""Give each sample a new shape with the same number of elements.

    Forward: ``y = x.reshape(N, *target_shape)``.  Reshaping only relabels the
    elements (in row-major order), so :math:`\partial y_k/\partial x_m = \delta_{km}`
    with :math:`k, m` the flat indices, and backward reshapes the gradient back:
    ``dx = grad_output.reshape(x.shape)``.  Both are views when the arrays are
    contiguous: nothing is copied.

    Shapes: ``x`` (N, *input_shape), ``y`` (N, *target_shape); cache: the
    input's shape.

    Parameters
    ----------
    target_shape : tuple of int
        The shape of one output sample (no batch axis); one entry may be -1,
        inferred from the others, as in :func:`numpy.reshape`.
    """

    def __init__(self, target_shape: tuple[int, ...] | list[int], **kwargs) -> None:
        super().__init__(**kwargs)
        shape = (target_shape,) if isinstance(target_shape, (int, np.integer)) else tuple(target_shape)
        bad = [
            s
            for s in shape
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or (s < 1 and s != -1)
        ]
        if not shape or bad or shape.count(-1) > 1:
            raise ValueError(
                f"Reshape target_shape must be a non-empty tuple of positive ints with at most one -1, "
                f"got {target_shape!r}"
            )
        self.target_shape = tuple(int(s) for s in shape)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        size = math.prod(input_shape)
        known = math.prod(s for s in self.target_shape if s != -1)
        fits = size % known == 0 if -1 in self.target_shape else size == known
        if not fits:
            raise ValueError(
                f"{self._describe()} cannot reshape samples of shape {tuple(input_shape)} ({size} elements) to "
                f"{self.target_shape}"
            )
        return tuple(size // known if s == -1 else s for s in self.target_shape)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._x_shape = x.shape
        return x.reshape((x.shape[0], *self.compute_output_shape(x.shape[1:])))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output.reshape(self._x_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}
