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

Memory layout.  Max and average pooling work on the input *in its memory
order* (:func:`~tinynet.layers.base.memory_order`): after a Conv2D, whose
output is stored channels-last, that is the (N, H, W, C) array behind the
NCHW view, the offsets' strided views are taken on its H and W axes, and
every whole-array operation runs over contiguous channels instead of rows of
a few pixels.  Outputs and work arrays are allocated in the same order and
returned as NCHW views.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer, _inverse, memory_order, register_layer, remember
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
        self._plans: dict[tuple, tuple] = {}  # (batch shape, memory order) -> _plan's result

    def _reset_work(self) -> None:
        super()._reset_work()
        self._step_arrays: dict[tuple, tuple] = {}  # (shape, order) -> MaxPool2D's forward views (training)
        self._backward_arrays: dict[tuple, tuple] = {}  # (shape, order, dtype) -> its backward views
        # the last training input's forward arrays, and the last gradient's backward plan: in a
        # model both are the same work arrays every step, so a step looks them up once
        self._forward_for: tuple = (None,)
        self._backward_for: tuple = (None, None, None)

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

    def _plan(self, x_shape: tuple[int, ...], order: tuple[int, ...] | None) -> tuple:
        r"""How to pool a batch of ``x_shape`` stored in memory ``order``; remembered per shape.

        Returns ``(out_shape, stored_in, stored_out, offsets)``: the NCHW output
        shape; the input's and the output's shapes with their axes in memory
        order (``x.transpose(order)``, a C-ordered array when ``x`` came from a
        layer); and, for each window offset :math:`(i, j)` in raster order, its
        number :math:`i k_w + j` and the index of its pixels
        :math:`(p s_h + i,\ q s_w + j)` in every window, on the stored array.
        """
        plan = self._plans.get((x_shape, order))
        if plan is None:
            if len(x_shape) != 4:
                raise ValueError(
                    f"{self._describe()} expects a batch of shape (batch, channels, height, width), "
                    f"received {x_shape}"
                )
            c, oh, ow = self.compute_output_shape(x_shape[1:])
            out_shape = (x_shape[0], c, oh, ow)
            axes = (0, 1, 2, 3) if order is None else order
            (kh, kw), (sh, sw) = self.pool_size, self.strides
            offsets = []
            for i in range(kh):
                for j in range(kw):
                    index = [slice(None)] * 4
                    index[axes.index(2)] = slice(i, i + sh * (oh - 1) + 1, sh)
                    index[axes.index(3)] = slice(j, j + sw * (ow - 1) + 1, sw)
                    offsets.append((i * kw + j, tuple(index)))
            stored_in = tuple(x_shape[a] for a in axes)
            stored_out = tuple(out_shape[a] for a in axes)
            plan = remember(self._plans, (x_shape, order), (out_shape, stored_in, stored_out, offsets))
        return plan

    @staticmethod
    def _stored(a: np.ndarray, order: tuple[int, ...] | None) -> np.ndarray:
        """``a`` with its axes in memory ``order`` (a view)."""
        return a if order is None else a.transpose(order)

    @staticmethod
    def _logical(a: np.ndarray, order: tuple[int, ...] | None) -> np.ndarray:
        """The NCHW view of an array stored in ``order``."""
        return a if order is None else a.transpose(_inverse(order))

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
        arrays = self._forward_for
        if not (training and arrays[0] is x):  # in a model, x is the same work array every step
            order = memory_order(x)
            arrays = self._step_arrays.get((x.shape, order)) if training else None
            if arrays is None or arrays[0] is not x:  # per shape: the epoch's last batch too
                arrays = self._forward_arrays(x, order, training)
                if training:
                    remember(self._step_arrays, (x.shape, order), arrays)
            if training:
                self._forward_for = arrays
        _, windows, y, argmax, won, candidate_pos, y_nchw, self._x_shape, self._order = arrays
        self._argmax, self._arrays = argmax, arrays  # (the backward plan follows the arrays)
        np.copyto(y, windows[0][1])
        argmax.fill(0)
        # scan the window offsets in raster order; a strict ">" keeps the first maximum on ties.
        # Positions only grow during the scan, so argmax = max(argmax, pos * won) records the last
        # strict improvement: the same as a masked copy, without its slow branchy loop.
        for pos, candidate in windows[1:]:
            np.greater(candidate, y, out=won)
            np.maximum(y, candidate, out=y)
            np.multiply(won, pos, out=candidate_pos)
            np.maximum(argmax, candidate_pos, out=argmax)
        return y_nchw

    def _forward_arrays(self, x: np.ndarray, order: tuple[int, ...] | None, training: bool) -> tuple:
        """``(x, windows, y, argmax, won, candidate_pos, y_nchw, x.shape, order)`` for one forward pass.

        ``windows`` pairs each offset's number :math:`i k_w + j` with its strided
        view of ``x`` in memory order; the other arrays are stored in that order
        too, ``y_nchw`` being the NCHW view of ``y``.  Remembered per batch shape
        in training.
        """
        _, _, stored_out, offsets = self._plan(x.shape, order)
        xs = self._stored(x, order)  # the same array, axes in memory order (module docstring)
        y = self.output_array("y", stored_out, training, x.dtype)
        # the window position i kw + j of each winner; int8 is enough for windows of up to 127 pixels
        arg_dtype = np.dtype(np.int8) if len(offsets) <= 127 else np.dtype(np.intp)
        argmax = self.output_array("argmax", stored_out, training, arg_dtype)
        won = self.buffer("won", stored_out, np.dtype(bool))
        candidate_pos = self.buffer("candidate_pos", stored_out, arg_dtype)
        windows = [(pos, xs[index]) for pos, index in offsets]
        return x, windows, y, argmax, won, candidate_pos, self._logical(y, order), x.shape, order

    @property
    def argmax(self) -> np.ndarray:
        """The flat window position :math:`i^* k_w + j^*` of each window's winner, (N, C, OH, OW)."""
        return self._logical(self._argmax, self._order)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        last = self._backward_for
        if last[0] is grad_output and last[1] is self._arrays:  # a model's step: the same arrays
            plan = last[2]
        else:
            plan = self._tiling_plan(grad_output)
            self._backward_for = (grad_output, self._arrays, plan)
        if plan is None:
            return self._overlapping_backward(grad_output)
        # windows do not overlap: each pixel is in at most one window, so for every offset
        # the strided view of the pixels at that offset receives G where that offset won
        G_src, G_copy, targets, won, grad_input, fill, grad_input_nchw = plan
        if fill:
            grad_input.fill(0)  # some pixels are in no window (gaps, a leftover border): they get 0
        if G_copy is not None:  # G stored otherwise (e.g. NCHW from Flatten): one copy
            np.copyto(G_copy, G_src)
        G = G_src if G_copy is None else G_copy
        for pos, target in targets:
            np.equal(self._argmax, pos, out=won)
            np.multiply(G, won, out=target)
        return grad_input_nchw

    def _tiling_plan(self, grad_output: np.ndarray) -> tuple | None:
        """What :meth:`backward` needs when windows do not overlap, else None.

        ``(G_src, G_copy, targets, won, grad_input, fill, grad_input_nchw)``:
        ``grad_output`` in the input's memory order, and a work array to copy it
        into when that view is not C-ordered (else None); each offset's number
        and strided view of the input gradient; the mask; the input gradient,
        whether it needs zeroing (pixels in no window), and its NCHW view.
        """
        h, w = self._x_shape[2:]
        (kh, kw), (sh, sw) = self.pool_size, self.strides
        order = self._order
        out_shape, stored_in, stored_out, offsets = self._plan(self._x_shape, order)
        if sh < kh or sw < kw:
            return None
        oh, ow = out_shape[2:]
        key = (self._x_shape, order, grad_output.dtype)
        arrays = self._backward_arrays.get(key)
        if arrays is None:
            grad_input = self.buffer("dx", stored_in, grad_output.dtype)
            targets = [(pos, grad_input[index]) for pos, index in offsets]
            won = self.buffer("won", stored_out, np.dtype(bool))
            arrays = remember(
                self._backward_arrays, key, (grad_input, targets, won, self._logical(grad_input, order))
            )
        grad_input, targets, won, grad_input_nchw = arrays
        fill = not (sh == kh and sw == kw and oh * kh == h and ow * kw == w)
        G_src = self._stored(grad_output, order)
        G_copy = self.c_order_buffer("G", G_src)
        return G_src, G_copy, targets, won, grad_input, fill, grad_input_nchw

    def _overlapping_backward(self, grad_output: np.ndarray) -> np.ndarray:
        h, w = self._x_shape[2:]
        kw = self.pool_size[1]
        out_shape = self._plan(self._x_shape, self._order)[0]
        # overlapping windows: flat index in x (C order) of each window's winner (window origin + i* W + j*,
        # where argmax = i* kw + j*), then an unbuffered scatter-add so a pixel that won several
        # windows gets their sum
        grad_input = self.buffer("dx_overlap", self._x_shape, grad_output.dtype)  # C order: flat indices
        grad_input.fill(0)
        index = self.buffer("index", out_shape, np.intp)
        col = self.buffer("col", out_shape, np.intp)
        np.divmod(self.argmax, kw, out=(index, col))
        index *= w
        index += col
        index += self._window_origins(out_shape, h, w)
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
        self._x_shape, self._order = x.shape, memory_order(x)
        _, _, stored_out, offsets = self._plan(x.shape, self._order)
        xs = self._stored(x, self._order)  # the same array, axes in memory order (module docstring)
        y = self.output_array("y", stored_out, training, x.dtype)
        np.copyto(y, xs[offsets[0][1]])
        for _, index in offsets[1:]:
            y += xs[index]
        y *= 1.0 / len(offsets)
        return self._logical(y, self._order)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        _, stored_in, stored_out, offsets = self._plan(self._x_shape, self._order)
        share = self.buffer("share", stored_out, grad_output.dtype)
        np.multiply(self._stored(grad_output, self._order), 1.0 / len(offsets), out=share)
        grad_input = self.buffer("dx", stored_in, grad_output.dtype)
        grad_input.fill(0)
        for _, index in offsets:
            grad_input[index] += share
        return self._logical(grad_input, self._order)


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
