r"""Merge layers: :class:`Add`, :class:`Multiply`, :class:`Concatenate` (Keras' names and arguments).

A merge layer is called on a *list* of tensors, ``Add()([a, b])``, and follows the
list protocol of the layer base (:mod:`tinynet.layers.base`):
``build(input_shapes)`` and ``compute_output_shape(input_shapes)`` take a list of
shapes, ``forward(xs)`` a list of arrays, and ``backward(grad_output)`` returns a
list with one gradient per input.  The math is in :mod:`tinynet.ops.merge`.
They are the joints of a functional model (:class:`tinynet.Model`): a residual
block is ``Add()([x, f(x)])``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops import merge as ops
from .base import Layer, _as_shape, register_layer


class Merge(Layer):
    """Base of the merge layers: at least two inputs, checked shapes, a list of gradients."""

    def build(self, input_shape: list[tuple[int, ...]]) -> None:  # type: ignore[override]
        if (
            not isinstance(input_shape, (list, tuple))
            or len(input_shape) < 2
            or not all(isinstance(s, (list, tuple)) for s in input_shape)
        ):
            raise ValueError(
                f"{self._describe()} is called on a list of at least two tensors, e.g. "
                f"{type(self).__name__}()([a, b]); got input shape {input_shape!r}"
            )
        self.input_shape = [_as_shape(s) for s in input_shape]  # type: ignore[assignment]
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def check_input(self, xs) -> None:  # type: ignore[override]
        shapes = [tuple(np.shape(x)[1:]) for x in xs]
        if self.input_shape is not None and shapes != list(self.input_shape):
            raise ValueError(
                f"{self._describe()} was built for inputs {list(self.input_shape)} but received samples "
                f"of shapes {shapes}"
            )
        if len({np.shape(x)[0] for x in xs}) > 1:
            raise ValueError(
                f"{self._describe()}: its inputs have different batch sizes {[np.shape(x)[0] for x in xs]}"
            )

    def _same_shapes(self, input_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        shapes = [tuple(s) for s in input_shapes]
        if len(set(shapes)) > 1:
            raise ValueError(
                f"{self._describe()} needs inputs of one shape, got {shapes}; "
                "reshape them or use a Dense layer to match their sizes"
            )
        return shapes[0]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("input_shape", None)  # the model's graph gives the shapes
        return config


@register_layer
class Add(Merge):
    r"""The sum of its inputs, :math:`Y = \sum_i X^{(i)}` (equal shapes); each input gets :math:`G`.

    See :mod:`tinynet.ops.merge` for the derivation.  Keras' ``keras.layers.Add()``.
    """

    def compute_output_shape(self, input_shape):
        return self._same_shapes(input_shape)

    def forward(self, xs: list[np.ndarray], training: bool = False) -> np.ndarray:  # type: ignore[override]
        self._n = len(xs)
        return ops.add(xs, out=self.output_array("y", xs[0].shape, training, xs[0].dtype))

    def backward(self, grad_output: np.ndarray) -> list[np.ndarray]:  # type: ignore[override]
        return ops.add_backward(grad_output, self._n)


@register_layer
class Multiply(Merge):
    r"""The element-wise product of its inputs, :math:`Y = \prod_i X^{(i)}` (equal shapes).

    :math:`\partial L/\partial X^{(i)} = G \odot \prod_{j \ne i} X^{(j)}` (see :mod:`tinynet.ops.merge`).
    Keras' ``keras.layers.Multiply()``.  Cache: the inputs.
    """

    def compute_output_shape(self, input_shape):
        return self._same_shapes(input_shape)

    def forward(self, xs: list[np.ndarray], training: bool = False) -> np.ndarray:  # type: ignore[override]
        self.xs = list(xs)
        return ops.multiply(xs, out=self.output_array("y", xs[0].shape, training, xs[0].dtype))

    def backward(self, grad_output: np.ndarray) -> list[np.ndarray]:  # type: ignore[override]
        outs = [self.buffer(f"dx{i}", x.shape, x.dtype) for i, x in enumerate(self.xs)]
        return ops.multiply_backward(grad_output, self.xs, outs)


@register_layer
class Concatenate(Merge):
    r"""Its inputs side by side along ``axis`` (Keras' ``keras.layers.Concatenate(axis=-1)``).

    The gradient of input :math:`i` is its slice of :math:`G` (see :mod:`tinynet.ops.merge`).

    Parameters
    ----------
    axis : int
        The axis of the batch arrays to join along, as in Keras: ``-1`` the last
        (features; channels of a channels-last image), ``1`` the first after the batch
        (a Conv2D's channels, NCHW).  Not the batch axis (``0``).
    """

    def __init__(self, axis: int = -1, **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Concatenate axis must be an integer such as -1, got {axis!r}")
        self.axis = int(axis)

    def _sample_axis(self, ndim: int) -> int:
        """The axis within one sample (the batch axis excluded), for samples of ``ndim`` axes."""
        axis = self.axis + ndim + 1 if self.axis < 0 else self.axis
        if not 1 <= axis <= ndim:
            raise ValueError(
                f"{self._describe()}: axis={self.axis} is not an axis of samples of {ndim} axes plus the "
                "batch axis (the batch axis 0 cannot be concatenated along)"
            )
        return axis - 1

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        if len({len(s) for s in shapes}) > 1:
            raise ValueError(f"{self._describe()} needs inputs with the same number of axes, got {shapes}")
        k = self._sample_axis(len(shapes[0]))
        rest = {s[:k] + s[k + 1 :] for s in shapes}
        if len(rest) > 1:
            raise ValueError(
                f"{self._describe()} joins along axis {self.axis}: the other sizes must agree, got {shapes}"
            )
        out = list(shapes[0])
        out[k] = sum(s[k] for s in shapes)
        return tuple(out)

    def forward(self, xs: list[np.ndarray], training: bool = False) -> np.ndarray:  # type: ignore[override]
        k = self._sample_axis(xs[0].ndim - 1)
        self._widths = [x.shape[k + 1] for x in xs]
        shape = list(xs[0].shape)
        shape[k + 1] = sum(self._widths)
        return ops.concatenate(xs, k + 1, out=self.output_array("y", tuple(shape), training, xs[0].dtype))

    def backward(self, grad_output: np.ndarray) -> list[np.ndarray]:  # type: ignore[override]
        return ops.concatenate_backward(
            grad_output, self._widths, self._sample_axis(grad_output.ndim - 1) + 1
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
