r"""Pooling layers for NCHW images: max, average and global average.

The window arithmetic and both passes of max and average pooling are in
:mod:`tinynet.ops.pooling`, derived there.

Memory layout.  Max and average pooling allocate their outputs and work
arrays in their input's memory order (:func:`~tinynet.layers.base.memory_order`):
after a Conv2D, whose output is stored channels-last, every whole-array
operation then runs over contiguous channels instead of rows of a few pixels.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .. import ops
from .base import Layer, memory_order, register_layer
from .conv import pair


class _Pool2D(Layer):
    """Shared argument handling and shape checks of :class:`MaxPool2D` and :class:`AvgPool2D`."""

    def __init__(
        self, pool_size: int | tuple[int, int] = 2, strides: int | tuple[int, int] | None = None, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.pool_size = pair(pool_size, "pool_size", kind)
        self.strides = self.pool_size if strides is None else pair(strides, "strides", kind)

    def default_name(self) -> str:
        return super().default_name().replace("2_d", "2d")  # max_pool2d, not max_pool2_d

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(
                f"{self._describe()} expects images of shape (batch, channels, height, width), i.e. samples "
                f"of 3 axes, but got samples of shape {input_shape}"
            )
        c, h, w = input_shape
        (kh, kw), (sh, sw) = self.pool_size, self.strides
        if h < kh or w < kw:
            raise ValueError(
                f"{self._describe()}: images of height x width {h}x{w} (samples of shape {input_shape}) "
                f"are smaller than the pool size {kh}x{kw}"
            )
        return (c, (h - kh) // sh + 1, (w - kw) // sw + 1)

    def _output_shape(self, x: np.ndarray) -> tuple[int, ...]:
        """The (N, C, OH, OW) output shape of the batch ``x``, after checking it is (N, C, H, W)."""
        shape = _pooled_shape(x.shape, self.pool_size, self.strides)
        if shape is None:  # not (N, C, H, W), or smaller than a window: say so
            if x.ndim != 4:
                raise ValueError(
                    f"{self._describe()} expects a batch of shape (batch, channels, height, width), "
                    f"received {x.shape}"
                )
            self.compute_output_shape(x.shape[1:])
        return shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides)}


@register_layer
class MaxPool2D(_Pool2D):
    r"""Max pooling over :math:`k_h \times k_w` windows.

    Forward:

    .. math:: Y_{ncpq} = \max_{0 \le i < k_h,\ 0 \le j < k_w} X_{n,c,\,p s_h + i,\,q s_w + j}.

    Backward.  The max is locally the identity on its arg-max and constant in the
    other inputs, so with :math:`(i^*, j^*)` the arg-max of window :math:`(n,c,p,q)`,
    :math:`\partial Y_{ncpq}/\partial X_{nchw} = [h = p s_h + i^*,\ w = q s_w + j^*]` and

    .. math::
        \frac{\partial L}{\partial X_{nchw}} = \sum_{p,q} G_{ncpq}\,
            [h = p s_h + i^*_{ncpq},\ w = q s_w + j^*_{ncpq}]:

    each output's gradient is routed to the one input that won its window, and
    summed over the windows that input won (only possible when windows overlap).

    Ties.  When several inputs share a window's maximum the max is not
    differentiable; the whole gradient goes to the *first* of them in raster
    order (top row first, left to right), the position :func:`numpy.argmax`
    returns on the flattened window.

    Implementation.  Forward keeps a running maximum over the offsets' strided
    views (module docstring); a strict :math:`>` replaces the maximum only by a
    larger value, which is what makes the first maximum win ties.  Backward,
    when windows do not overlap (strides at least the pool size, the usual
    case), writes :math:`G` masked by "this offset won" into each offset's
    strided view of the input gradient; when they overlap, it turns each
    arg-max into the flat index of the winning pixel in ``x`` and scatter-adds
    :math:`G` there with :func:`numpy.ufunc.at` (unbuffered: repeated indices
    accumulate).

    Shapes: ``x`` (N, C, H, W); ``y`` and ``grad_output`` (N, C, OH, OW).
    Cache: ``argmax`` (N, C, OH, OW), the flat index :math:`i^* k_w + j^*` in the
    window (stored in the input's memory order), and the input's shape and order.

    Parameters
    ----------
    pool_size : int or (int, int)
        Window size :math:`(k_h, k_w)`.
    strides : int or (int, int), optional
        :math:`(s_h, s_w)`; defaults to ``pool_size`` (non-overlapping windows).
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        out_shape, order = self._output_shape(x), memory_order(x)
        windows = self._windows("x windows", x, out_shape)
        y = self.output_array("y", out_shape, training, x.dtype, order)
        arg_dtype = _position_dtype(len(windows))
        self.argmax = self.output_array("argmax", out_shape, training, arg_dtype, order)
        won, positions = (
            self.buffer("won", out_shape, bool, order),
            self.buffer("positions", out_shape, arg_dtype, order),
        )
        self._x_shape, self._order = x.shape, order
        return ops.max_pool(windows, y, self.argmax, won, positions)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        grad_input = self.buffer("dx", self._x_shape, grad_output.dtype, self._order)
        won = self.buffer("won", self.argmax.shape, bool, self._order)  # free after forward
        G = self.buffer("G", self.argmax.shape, grad_output.dtype, self._order)
        targets = self._windows("dx windows", grad_input, self.argmax.shape)
        return ops.max_pool_backward(
            grad_output, self.argmax, self._x_shape, self.pool_size, self.strides, grad_input, won, G, targets
        )

    def _windows(self, key: str, a: np.ndarray, out_shape: tuple[int, ...]) -> list[tuple[int, np.ndarray]]:
        """:func:`tinynet.ops.pool_windows` of ``a``, made once while ``a`` is the same array."""
        make = lambda: ops.pool_windows(a, self.pool_size, self.strides, out_shape[2:])  # noqa: E731
        return self.workspace.derived(key, a, make)


@functools.lru_cache(maxsize=256)
def _pooled_shape(x_shape: tuple[int, ...], pool_size, strides) -> tuple[int, ...] | None:
    """(N, C, OH, OW) for a batch (N, C, H, W), or None when it is no such batch or too small."""
    if len(x_shape) != 4 or x_shape[2] < pool_size[0] or x_shape[3] < pool_size[1]:
        return None
    (n, c, h, w), (kh, kw), (sh, sw) = x_shape, pool_size, strides
    return (n, c, (h - kh) // sh + 1, (w - kw) // sw + 1)


def _position_dtype(positions: int) -> np.dtype:
    """The window position i kw + j of each winner: int8 is enough for windows of up to 127 pixels."""
    return np.dtype(np.int8) if positions <= 127 else np.dtype(np.intp)


@register_layer
class AvgPool2D(_Pool2D):
    r"""Average pooling over :math:`k_h \times k_w` windows.

    Forward:

    .. math:: Y_{ncpq} = \frac{1}{k_h k_w} \sum_{i,j} X_{n,c,\,p s_h + i,\,q s_w + j}.

    Backward.  :math:`\partial Y_{ncpq}/\partial X_{nchw} = 1/(k_h k_w)` for every
    pixel of the window, so

    .. math::
        \frac{\partial L}{\partial X_{nchw}} = \frac{1}{k_h k_w}
            \sum_{\substack{i,j,p,q:\\ p s_h + i = h,\ q s_w + j = w}} G_{ncpq}.

    Both passes loop over the :math:`k_h k_w` offsets' strided views (module
    docstring): forward sums them, backward adds :math:`G/(k_h k_w)` to each.

    Shapes: ``x`` (N, C, H, W); ``y`` and ``grad_output`` (N, C, OH, OW).
    Cache: the input's shape only (the map is linear).

    Parameters
    ----------
    pool_size : int or (int, int)
        Window size :math:`(k_h, k_w)`.
    strides : int or (int, int), optional
        :math:`(s_h, s_w)`; defaults to ``pool_size``.
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        out_shape, self._order = self._output_shape(x), memory_order(x)
        self._x_shape = x.shape
        y = self.output_array("y", out_shape, training, x.dtype, self._order)
        return ops.avg_pool(ops.pool_windows(x, self.pool_size, self.strides, out_shape[2:]), out=y)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        grad_input = self.buffer("dx", self._x_shape, grad_output.dtype, self._order)
        return ops.avg_pool_backward(grad_output, self.pool_size, self.strides, out=grad_input)


@register_layer
class GlobalAveragePooling2D(Layer):
    r"""Mean over the spatial axes: (N, C, H, W) -> (N, C).

    .. math::
        Y_{nc} = \frac{1}{HW} \sum_{h,w} X_{nchw}, \qquad
        \frac{\partial L}{\partial X_{nchw}} = \frac{G_{nc}}{HW}

    (every pixel contributes :math:`1/(HW)` to its channel's mean).

    Shapes: ``x`` (N, C, H, W); ``y`` and ``grad_output`` (N, C).
    Cache: the input's shape.
    """

    def default_name(self) -> str:
        return "global_average_pooling2d"

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 3:
            raise ValueError(
                f"{self._describe()} expects images of shape (batch, channels, height, width), i.e. samples "
                f"of 3 axes, but got samples of shape {tuple(input_shape)}"
            )
        return (int(input_shape[0]),)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.ndim != 4:
            raise ValueError(
                f"{self._describe()} expects a batch of shape (batch, channels, height, width), "
                f"received {x.shape}"
            )
        self._x_shape = x.shape
        y = self.output_array("y", x.shape[:2], training, x.dtype)
        np.add.reduce(x, axis=(2, 3), out=y)
        y *= 1.0 / (x.shape[2] * x.shape[3])
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        h, w = self._x_shape[2:]
        grad_input = self.buffer("dx", self._x_shape, grad_output.dtype)
        np.multiply(grad_output[:, :, None, None], 1.0 / (h * w), out=grad_input)  # broadcast over pixels
        return grad_input
