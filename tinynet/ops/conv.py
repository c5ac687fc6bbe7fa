r"""2-D convolution (cross-correlation) as im2col plus one matrix product.

Images are NCHW: (batch, channels, height, width).  Let :math:`\tilde X` be the
input zero-padded by :math:`(t, \cdot, l, \cdot)` rows/columns at the top,
bottom, left and right, :math:`s_h, s_w` the strides and :math:`k_h, k_w` the
kernel size.  For sample :math:`n`, filter :math:`f` and output pixel
:math:`(p, q)`:

.. math::
    Z_{nfpq} = b_f + \sum_{c=0}^{C-1} \sum_{i=0}^{k_h-1} \sum_{j=0}^{k_w-1}
               W_{fcij}\, \tilde X_{n,c,\,p s_h + i,\,q s_w + j}.

im2col gathers every receptive field into the columns of one matrix,

.. math::
    X_{\mathrm{col}}[(c, i, j),\ (n, p, q)] = \tilde X_{n,c,\,p s_h + i,\,q s_w + j},

with rows ordered like the flattened kernel
:math:`W_{\mathrm{mat}} = W.\mathrm{reshape}(F, C k_h k_w)`, and the triple sum
becomes one matrix product over the whole batch (:func:`conv2d_forward`).  The
backward pass is then a :func:`~tinynet.ops.dense_backward` with inputs
:math:`X_{\mathrm{col}}^\top` (:func:`conv2d_backward`) followed by col2im, the
adjoint of the gather (:func:`col2im`).

Output size per axis, for input size :math:`n`, kernel :math:`k`, stride :math:`s`
(:func:`conv_output_size`): ``"valid"``: :math:`\lfloor (n - k)/s \rfloor + 1`
(needs :math:`n \ge k`); ``"same"``: :math:`\lceil n/s \rceil` with total padding
:math:`\max((\lceil n/s \rceil - 1)s + k - n, 0)`, the odd extra row/column
at the bottom/right (as TensorFlow); an int :math:`p`: :math:`p` zeros on each
side, :math:`\lfloor (n + 2p - k)/s \rfloor + 1`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .dense import ones


def conv_output_size(size: int, k: int, s: int, padding: str | int) -> tuple[int, int, int] | None:
    """``(out, before, after)``: the output size and padding of one spatial axis (module docstring).

    None when the padded input is smaller than the kernel.
    """
    if padding == "same":
        out = math.ceil(size / s)
        total = max((out - 1) * s + k - size, 0)
        return out, total // 2, total - total // 2  # the odd row/column goes after (TensorFlow)
    p = 0 if padding == "valid" else int(padding)
    if size + 2 * p < k:
        return None
    return (size + 2 * p - k) // s + 1, p, p


def pad_images(x: np.ndarray, top: int, bottom: int, left: int, right: int, out=None) -> np.ndarray:
    r""":math:`\tilde X`: ``x`` (N, C, H, W) with zero rows and columns around its two spatial axes.

    ``out`` (N, C, top + H + bottom, left + W + right), when given, must hold
    zeros on its border already (only the interior is written).
    """
    n, c, h, w = x.shape
    if out is None:
        out = np.zeros((n, c, top + h + bottom, left + w + right), dtype=x.dtype)
    out[:, :, top : top + h, left : left + w] = x
    return out


def im2col(
    x_pad: np.ndarray, kernel_size: tuple[int, int], strides: tuple[int, int], out=None, windows=None
) -> np.ndarray:
    r""":math:`X_{\mathrm{col}}`, shape (C kh kw, N OH OW), from the padded images ``x_pad`` (N, C, H, W).

    ``windows``, when given, is :func:`receptive_fields` of ``x_pad`` (a view,
    costly to build; a caller that sees the same array every step keeps it).
    ``out`` is a C-ordered array of X_col's size.
    """
    if windows is None:
        windows = receptive_fields(x_pad, kernel_size, strides)
    if out is None:
        out = np.empty(windows.shape, dtype=x_pad.dtype)
    out = out.reshape(windows.shape)
    np.copyto(out, windows)  # the single im2col copy
    c, kh, kw, n, oh, ow = windows.shape
    return out.reshape(c * kh * kw, n * oh * ow)


def receptive_fields(x_pad: np.ndarray, kernel_size: tuple[int, int], strides: tuple[int, int]) -> np.ndarray:
    r"""The (C, kh, kw, N, OH, OW) view of every receptive field of ``x_pad``, in :math:`X_{\mathrm{col}}`'s order.

    Element ``[c, i, j, n, p, q]`` is :math:`\tilde X_{n,c,\,p s_h + i,\,q s_w + j}`; nothing is copied.
    """
    (kh, kw), (sh, sw) = kernel_size, strides
    windows = sliding_window_view(x_pad, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return windows.transpose(1, 4, 5, 0, 2, 3)


def conv2d_forward(x_col: np.ndarray, W: np.ndarray, b: np.ndarray | None, out: np.ndarray) -> np.ndarray:
    r"""The convolution as one GEMM over the whole batch, computed with a row per output pixel.

    .. math:: Z_{\mathrm{mat}} = X_{\mathrm{col}}^\top W_{\mathrm{mat}}^\top + \mathbf 1 b^\top,
        \qquad Z_{\mathrm{mat}}[(n, p, q), f] = Z_{nfpq}.

    :math:`Z_{\mathrm{mat}}` (N OH OW, F) *is* the output stored channels-last,
    (N, OH, OW, F): ``out`` has that shape, and the result is its NCHW view
    ``out.transpose(0, 3, 1, 2)``, no copy.

    Shapes: ``x_col`` (C kh kw, N OH OW); ``W`` (F, C, kh, kw); ``b`` (F,);
    ``out`` (N, OH, OW, F); result (N, F, OH, OW).
    """
    F = W.shape[0]
    np.matmul(x_col.T, W.reshape(F, -1).T, out=out.reshape(-1, F))
    if b is not None:
        out += b
    return out.transpose(0, 3, 1, 2)


def conv2d_backward(
    x_col: np.ndarray, G: np.ndarray, dW: np.ndarray, db: np.ndarray | None = None
) -> None:
    r"""The parameter gradients of :func:`conv2d_forward`, written into ``dW`` and ``db``.

    With :math:`G_{\mathrm{mat}}[(n,p,q), f] = G_{nfpq}` (``G``, shape (N OH OW, F),
    the channels-last gradient), the layer is a Dense with inputs
    :math:`X_{\mathrm{col}}^\top`:

    .. math::
        \frac{\partial L}{\partial W_{fcij}} = \sum_{n,p,q} G_{nfpq}\,
            \tilde X_{n,c,\,p s_h+i,\,q s_w+j}
            \;\Rightarrow\; dW_{\mathrm{mat}} = G_{\mathrm{mat}}^\top X_{\mathrm{col}}^\top,
        \qquad
        \frac{\partial L}{\partial b_f} = \sum_{n,p,q} G_{nfpq}
            \;\Rightarrow\; db = G_{\mathrm{mat}}^\top \mathbf 1 .
    """
    np.matmul(G.T, x_col.T, out=dW.reshape(len(dW), -1))
    if db is not None:
        np.matmul(ones(len(G), G.dtype), G, out=db)


def col2im(
    G: np.ndarray,
    W: np.ndarray,
    pad_shape: tuple[int, ...],
    strides: tuple[int, int],
    out=None,
    dx_col=None,
) -> np.ndarray:
    r""":math:`\partial L/\partial \tilde X`, shape ``pad_shape`` (N, C, H, W), from :math:`G_{\mathrm{mat}}`.

    .. math::
        dX_{\mathrm{col}} = W_{\mathrm{mat}}^\top G_{\mathrm{mat}}^\top, \qquad
        \frac{\partial L}{\partial \tilde X_{nchw}} =
            \sum_{\substack{i,j,p,q:\\ p s_h + i = h,\ q s_w + j = w}}
            dX_{\mathrm{col}}[(c,i,j),(n,p,q)].

    The sum is the adjoint of the im2col gather: every pixel receives the
    gradient of each column it was copied into.  For a fixed kernel offset
    :math:`(i, j)` the pixels :math:`(p s_h + i, q s_w + j)` are distinct, so it
    is :math:`k_h k_w` vectorised additions of strided slices.  The caller cuts
    the padding off.  ``G`` (N OH OW, F) is the rows of (N, OH, OW, F);
    ``dx_col`` an optional work array of :math:`X_{\mathrm{col}}`'s size.
    """
    F, c, kh, kw = W.shape
    (sh, sw), n = strides, pad_shape[0]
    oh, ow = _output_pixels(pad_shape, (kh, kw), strides)
    dx_col = np.matmul(W.reshape(F, -1).T, G.T, out=dx_col)  # dX_col = W_mat^T G_mat^T
    dx_col = dx_col.reshape(c, kh, kw, n, oh, ow)
    if out is None:
        out = np.empty(pad_shape, dtype=G.dtype)
    out.fill(0)
    for i in range(kh):
        rows = slice(i, i + sh * (oh - 1) + 1, sh)  # p s_h + i for p = 0..OH-1
        for j in range(kw):
            cols = slice(j, j + sw * (ow - 1) + 1, sw)
            out[:, :, rows, cols] += dx_col[:, i, j].transpose(1, 0, 2, 3)
    return out


def _output_pixels(pad_shape, kernel_size, strides) -> tuple[int, int]:
    return tuple((n - k) // s + 1 for n, k, s in zip(pad_shape[2:], kernel_size, strides, strict=True))
