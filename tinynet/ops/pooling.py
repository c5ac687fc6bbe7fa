r"""Max and average pooling over :math:`k_h \times k_w` windows of NCHW images.

A window with strides :math:`(s_h, s_w)` ("valid": windows lie entirely inside
the image) covers, for output pixel :math:`(p, q)`, the input pixels
:math:`(p s_h + i,\ q s_w + j)`, :math:`0 \le i < k_h`, :math:`0 \le j < k_w`;
the output size per axis is :math:`\lfloor (n - k)/s \rfloor + 1`.  Windows
overlap when :math:`s < k`; a pixel then belongs to several windows and its
gradient is the *sum* over them, which is why every backward pass adds (never
assigns) into :math:`\partial L/\partial X`.

Vectorisation.  For a fixed offset :math:`(i, j)` the strided view
``x[:, :, i::s_h, j::s_w]`` (cut to (N, C, OH, OW)) holds pixel :math:`(i, j)` of
every window, and these pixels are distinct; so a loop over the :math:`k_h k_w`
offsets (:func:`pool_windows`), each step one whole-array operation, replaces
any loop over samples or pixels.  Any memory layout works; the work is
fastest when the outputs share the input's (a caller allocates them so).
"""

from __future__ import annotations

import functools

import numpy as np


def pool_windows(
    x: np.ndarray, pool_size: tuple[int, int], strides: tuple[int, int], out_hw: tuple[int, int]
) -> list[tuple[int, np.ndarray]]:
    r"""For each window offset :math:`(i, j)` in raster order, its number :math:`i k_w + j` and the
    (N, C, OH, OW) strided view of ``x`` at :math:`(p s_h + i,\ q s_w + j)` (no copy)."""
    (kh, kw), (sh, sw), (oh, ow) = pool_size, strides, out_hw
    return [
        (i * kw + j, x[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw])
        for i in range(kh)
        for j in range(kw)
    ]


def max_pool(
    windows: list[tuple[int, np.ndarray]],
    out: np.ndarray,
    argmax: np.ndarray,
    won: np.ndarray | None = None,
    positions: np.ndarray | None = None,
) -> np.ndarray:
    r"""Max pooling :math:`Y_{ncpq} = \max_{i,j} X_{n,c,\,p s_h + i,\,q s_w + j}`, and each window's winner.

    ``windows`` from :func:`pool_windows`; ``out`` (N, C, OH, OW) receives
    :math:`Y`, ``argmax`` (an integer array of the same shape) the flat window
    position :math:`i^* k_w + j^*` of the maximum.  Ties go to the *first*
    maximum in raster order (as :func:`numpy.argmax`): the scan replaces the
    running maximum only by a strictly larger value.  Positions only grow during
    the scan, so ``argmax = max(argmax, pos [won])`` records the last strict
    improvement.  ``won`` (bool) and ``positions`` (like ``argmax``) are work
    arrays laid out like ``out``; the scan is about twice as fast with them
    than with temporaries.
    """
    won = np.empty_like(out, dtype=bool) if won is None else won
    positions = np.empty_like(argmax) if positions is None else positions
    np.copyto(out, windows[0][1])
    argmax.fill(0)
    for pos, candidate in windows[1:]:
        np.greater(candidate, out, out=won)
        np.maximum(out, candidate, out=out)
        np.multiply(won, argmax.dtype.type(pos), out=positions)  # a typed scalar: no int64 loop
        np.maximum(argmax, positions, out=argmax)
    return out


def max_pool_backward(
    grad: np.ndarray,
    argmax: np.ndarray,
    x_shape: tuple[int, ...],
    pool_size: tuple[int, int],
    strides: tuple[int, int],
    out: np.ndarray | None = None,
    won: np.ndarray | None = None,
    grad_copy: np.ndarray | None = None,
    targets: list[tuple[int, np.ndarray]] | None = None,
) -> np.ndarray:
    r"""Max pooling's backward pass: each output's gradient routed to its window's winner.

    Near a point where one input :math:`(i^*, j^*)` is strictly the largest of its window,
    the max *equals* that input and does not change when the others move a little. So
    :math:`\partial Y_{ncpq}/\partial X_{nchw} = [h = p s_h + i^*,\ w = q s_w + j^*]` and

    .. math::

        \frac{\partial L}{\partial X_{nchw}} = \sum_{p,q} G_{ncpq}\,\big[h = p s_h + i^*_{ncpq},\ w = q s_w + j^*_{ncpq}\big]:

    each output's gradient goes to the input that won its window, summed over the windows that input
    won (several only when windows overlap, :math:`s < k`). On ties the whole gradient goes to the first
    maximum in raster order (see :func:`max_pool`, which records ``argmax``).

    Without overlap (strides at least the pool size, the usual case), each offset's strided view of
    the input gradient receives :math:`G` where that offset won; with overlap, :math:`G` is
    scatter-added at the flat index of each winner (:func:`numpy.ufunc.at`, unbuffered: repeated
    indices accumulate).  ``out`` has ``x_shape`` (N, C, H, W), any memory layout.
    ``won`` (bool) and ``grad_copy`` (``grad``'s dtype) are optional work arrays
    shaped and laid out like ``argmax``: ``grad`` stored in another layout is
    copied first (a pass over operands of mixed layouts is several times slower).
    ``targets``, when given, is :func:`pool_windows` of ``out``.
    """
    (kh, kw), (sh, sw) = pool_size, strides
    n, c, h, w = x_shape
    oh, ow = argmax.shape[2:]
    if out is None:
        out = np.empty(x_shape, dtype=grad.dtype)
    if _axis_order(grad.strides) != _axis_order(argmax.strides):
        grad_copy = np.empty_like(argmax, dtype=grad.dtype) if grad_copy is None else grad_copy
        np.copyto(grad_copy, grad)
        grad = grad_copy
    won = (
        np.empty_like(argmax, dtype=bool) if won is None else won
    )  # one copy: element-wise work is several times faster in one layout
    if sh >= kh and sw >= kw:  # windows do not overlap: every pixel is in at most one window
        if not (sh == kh and sw == kw and oh * kh == h and ow * kw == w):
            out.fill(0)  # some pixels are in no window (gaps, a leftover border): they get 0
        for pos, target in targets or pool_windows(out, pool_size, strides, (oh, ow)):
            np.multiply(grad, np.equal(argmax, pos, out=won), out=target)
        return out
    # overlapping windows: the flat index in x of each winner (window origin + i* W + j*)
    row, col = np.divmod(argmax, kw)
    origins = (np.arange(n * c) * (h * w)).reshape(n, c, 1, 1)
    origins = origins + (np.arange(oh) * (sh * w))[:, None] + np.arange(ow) * sw
    flat = np.zeros(n * c * h * w, dtype=grad.dtype)
    np.add.at(flat, (origins + row * w + col).reshape(-1), grad.reshape(-1))
    out[...] = flat.reshape(x_shape)
    return out


def avg_pool(windows: list[tuple[int, np.ndarray]], out: np.ndarray) -> np.ndarray:
    r"""Average pooling :math:`Y_{ncpq} = \frac{1}{k_h k_w} \sum_{i,j} X_{n,c,\,p s_h + i,\,q s_w + j}`."""
    np.copyto(out, windows[0][1])
    for _, window in windows[1:]:
        out += window
    out *= 1.0 / len(windows)
    return out


def avg_pool_backward(
    grad: np.ndarray, pool_size: tuple[int, int], strides: tuple[int, int], out: np.ndarray
) -> np.ndarray:
    r"""Average pooling's backward pass, into ``out`` (N, C, H, W).

    For :math:`Y_{ncpq} = \frac{1}{k_h k_w}\sum_{i,j} X_{n,c,\,p s_h + i,\,q s_w + j}` (:func:`avg_pool`),
    every input of a window has :math:`\partial Y_{ncpq}/\partial X = 1/(k_h k_w)`, so each pixel receives that
    share of the gradient of every window containing it:

    .. math::

        \frac{\partial L}{\partial X_{nchw}} = \frac{1}{k_h k_w}\sum_{\substack{i,j,p,q:\\ p s_h + i = h,\ q s_w + j = w}} G_{ncpq}.
    """
    share = grad * (1.0 / (pool_size[0] * pool_size[1]))
    out.fill(0)
    for _, target in pool_windows(out, pool_size, strides, grad.shape[2:]):
        target += share
    return out


@functools.lru_cache(maxsize=256)
def _axis_order(strides: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of an array with ``strides`` from outermost to innermost in memory."""
    return tuple(sorted(range(len(strides)), key=lambda axis: -strides[axis]))
