r"""Pooling layers for NCHW images: max, average and global average.

A pooling window of size :math:`(k_h, k_w)` with strides :math:`(s_h, s_w)`
("valid": windows lie entirely inside the image) covers, for output pixel
:math:`(p, q)`, the input pixels :math:`(p s_h + i,\ q s_w + j)`,
:math:`0 \le i < k_h`, :math:`0 \le j < k_w`.  The output size per axis is
:math:`\lfloor (n - k)/s \rfloor + 1`.  Windows overlap when :math:`s < k`; a
pixel then belongs to several windows and its gradient is the *sum* over them,
which is why every backward pass below adds (never assigns) into
:math:`\partial L/\partial X`.

Vectorisation.  For a fixed offset :math:`(i, j)` the strided view
``x[:, :, i::s_h, j::s_w]`` (cut to (N, C, OH, OW)) holds pixel :math:`(i, j)` of
every window, and these pixels are distinct; so a loop over the :math:`k_h k_w`
offsets, each step one whole-array operation, replaces any loop over samples or
pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer, register_layer
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

    def _describe(self) -> str:
        return f"{type(self).__name__} {self.name!r}" if self.name else type(self).__name__

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

    def _output_size(self, x: np.ndarray) -> tuple[int, int, int, int]:
        if x.ndim != 4:
            raise ValueError(
                f"{self._describe()} expects a batch of shape (batch, channels, height, width), "
                f"received {x.shape}"
            )
        c, oh, ow = self.compute_output_shape(x.shape[1:])
        return x.shape[0], c, oh, ow

    def _window_slice(self, i: int, j: int, oh: int, ow: int) -> tuple[slice, ...]:
        """Index of the pixels at offset (i, j) of every window: shape (N, C, OH, OW)."""
        sh, sw = self.strides
        return (
            slice(None),
            slice(None),
            slice(i, i + sh * (oh - 1) + 1, sh),
            slice(j, j + sw * (ow - 1) + 1, sw),
        )

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
    window, and the input's shape.

    Parameters
    ----------
    pool_size : int or (int, int)
        Window size :math:`(k_h, k_w)`.
    strides : int or (int, int), optional
        :math:`(s_h, s_w)`; defaults to ``pool_size`` (non-overlapping windows).
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        n, c, oh, ow = self._output_size(x)
        kh, kw = self.pool_size
        y = self.output_array("y", (n, c, oh, ow), training, x.dtype)
        # the window position i kw + j of each winner; int8 is enough for windows of up to 127 pixels
        arg_dtype = np.dtype(np.int8) if kh * kw <= 127 else np.dtype(np.intp)
        self.argmax = self.output_array("argmax", (n, c, oh, ow), training, arg_dtype)
        won = self.buffer("won", (n, c, oh, ow), np.dtype(bool))
        candidate_pos = self.buffer("candidate_pos", (n, c, oh, ow), arg_dtype)
        np.copyto(y, x[self._window_slice(0, 0, oh, ow)])
        self.argmax.fill(0)
        # scan the window offsets in raster order; a strict ">" keeps the first maximum on ties.
        # Positions only grow during the scan, so argmax = max(argmax, pos * won) records the last
        # strict improvement: the same as a masked copy, without its slow branchy loop.
        for i in range(kh):
            for j in range(kw):
                if i or j:
                    candidate = x[self._window_slice(i, j, oh, ow)]
                    np.greater(candidate, y, out=won)
                    np.maximum(y, candidate, out=y)
                    np.multiply(won, i * kw + j, out=candidate_pos)
                    np.maximum(self.argmax, candidate_pos, out=self.argmax)
        self._x_shape = x.shape
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        h, w = self._x_shape[2:]
        kh, kw = self.pool_size
        sh, sw = self.strides
        n, c, oh, ow = self.argmax.shape
        grad_input = self.buffer("dx", self._x_shape, grad_output.dtype)
        grad_input.fill(0)  # pixels that win no window (and the uncovered border) get 0
        if sh >= kh and sw >= kw:
            # windows do not overlap: each pixel is in at most one window, so for every offset
            # the strided view of the pixels at that offset receives G where that offset won
            won = self.buffer("won", (n, c, oh, ow), np.dtype(bool))
            for i in range(kh):
                for j in range(kw):
                    np.equal(self.argmax, i * kw + j, out=won)
                    np.multiply(grad_output, won, out=grad_input[self._window_slice(i, j, oh, ow)])
            return grad_input
        # overlapping windows: flat index in x of each window's winner (window origin + i* W + j*,
        # where argmax = i* kw + j*), then an unbuffered scatter-add so a pixel that won several
        # windows gets their sum
        index = self.buffer("index", self.argmax.shape, np.intp)
        col = self.buffer("col", self.argmax.shape, np.intp)
        np.divmod(self.argmax, kw, out=(index, col))
        index *= w
        index += col
        index += self._window_origins(self.argmax.shape, h, w)
        np.add.at(grad_input.reshape(-1), index.reshape(-1), grad_output.reshape(-1))
        return grad_input

    def _window_origins(self, out_shape: tuple[int, ...], h: int, w: int) -> np.ndarray:
        """Flat index in the (N, C, H, W) input of the top-left pixel of every window (cached per shape)."""
        key = (*out_shape, h, w)
        if getattr(self, "_origins_key", None) != key:
            n, c, oh, ow = out_shape
            sh, sw = self.strides
            plane = (np.arange(oh) * (sh * w))[:, None] + np.arange(ow) * sw
            self._origins = (np.arange(n * c) * (h * w))[:, None, None] + plane
            self._origins = self._origins.reshape(out_shape)
            self._origins_key = key
        return self._origins


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
        n, c, oh, ow = self._output_size(x)
        kh, kw = self.pool_size
        self._x_shape = x.shape
        y = self.output_array("y", (n, c, oh, ow), training, x.dtype)
        np.copyto(y, x[self._window_slice(0, 0, oh, ow)])
        for i in range(kh):
            for j in range(kw):
                if i or j:
                    y += x[self._window_slice(i, j, oh, ow)]
        y *= 1.0 / (kh * kw)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        oh, ow = grad_output.shape[2:]
        kh, kw = self.pool_size
        share = self.buffer("share", grad_output.shape, grad_output.dtype)
        np.multiply(grad_output, 1.0 / (kh * kw), out=share)
        grad_input = self.buffer("dx", self._x_shape, grad_output.dtype)
        grad_input.fill(0)
        for i in range(kh):
            for j in range(kw):
                grad_input[self._window_slice(i, j, oh, ow)] += share
        return grad_input


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

    def _describe(self) -> str:
        return f"GlobalAveragePooling2D {self.name!r}" if self.name else "GlobalAveragePooling2D"

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
