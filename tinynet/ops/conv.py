r"""2-D convolution (cross-correlation) as im2col plus one matrix product, derived step by step.

**Forward.** Let :math:`\tilde X` be the zero-padded input, :math:`k_h \times k_w` the kernel, :math:`s_h, s_w` the
strides, :math:`F` the number of filters. For sample :math:`n`, filter :math:`f` and output pixel :math:`(p, q)`:

.. math::

    Z_{nfpq} = b_f + \sum_{c=0}^{C-1}\sum_{i=0}^{k_h-1}\sum_{j=0}^{k_w-1} W_{fcij}\,\tilde X_{n,c,\,p s_h + i,\,q s_w + j},
    \qquad Y = f(Z).

**im2col.** Copy every receptive field into a column of one matrix:

.. math::

    X_{\mathrm{col}}\big[(c, i, j),\ (n, p, q)\big] = \tilde X_{n,c,\,p s_h + i,\,q s_w + j},

rows ordered like the flattened kernel :math:`W_{\mathrm{mat}} = W.\mathrm{reshape}(F, C k_h k_w)`. The
triple sum is then one matrix product over the whole batch, with a row per output pixel:

.. math::

    Z_{\mathrm{mat}} = X_{\mathrm{col}}^\top\, W_{\mathrm{mat}}^\top + \mathbf 1\, b^\top ,
    \qquad Z_{\mathrm{mat}}\big[(n, p, q),\ f\big] = Z_{nfpq}.

**Memory layout.** :math:`Z_{\mathrm{mat}}`, of shape :math:`(N P Q,\ F)`, *is* :math:`Z` stored channels-last,
:math:`(N, P, Q, F)`. The layer returns the NCHW view ``z.transpose(0, 3, 1, 2)`` of it rather than copying
it into NCHW order: the values are indexed :math:`Z_{nfpq}` as always, only the strides differ. The
activation and pooling after it keep that layout, so their element-wise loops run over contiguous
channels, and the gradient comes back channels-last, ready for step 1 below.

**Backward**, step by step.

1. Through the activation, as for Dense, to get :math:`G_Z = \partial L/\partial Z` from
   :math:`G = \partial L/\partial Y`; lay it out like :math:`Z_{\mathrm{mat}}`:
   :math:`G_{\mathrm{mat}}[(n, p, q), f] = (G_Z)_{nfpq}` (a view when :math:`G_Z` is channels-last,
   one copy otherwise).
2. On the columns, the layer *is* a Dense layer with inputs :math:`X_{\mathrm{col}}^\top`, so the
   Dense derivation gives

    .. math::

        dW_{\mathrm{mat}} = G_{\mathrm{mat}}^\top\, X_{\mathrm{col}}^\top, \qquad
        db = G_{\mathrm{mat}}^\top\,\mathbf 1, \qquad
        dX_{\mathrm{col}} = W_{\mathrm{mat}}^\top\, G_{\mathrm{mat}}^\top .

    Written out for one weight: :math:`\partial L/\partial W_{fcij} = \sum_{n,p,q} (G_Z)_{nfpq}\,\tilde X_{n,c,\,p s_h+i,\,q s_w+j}`.

3. **col2im.** Each pixel of :math:`\tilde X` was copied into every column whose window contains it, so
   by the chain rule it receives the *sum* of the gradients of all its copies:

    .. math::

        \frac{\partial L}{\partial \tilde X_{nchw}} =
        \sum_{\substack{i,j,p,q:\\ p s_h + i = h,\ q s_w + j = w}} dX_{\mathrm{col}}\big[(c,i,j),(n,p,q)\big].

    For a fixed offset :math:`(i, j)` the pixels :math:`(p s_h + i,\ q s_w + j)` are all distinct, so col2im is
    :math:`k_h k_w` vectorised additions of strided slices.

4. Remove the padding: :math:`\partial L/\partial X` is :math:`\partial L/\partial\tilde X` without the padded rows
   and columns.

**Shapes.** ``x`` :math:`(N, C, H, W_{\mathrm{img}})` (:math:`W_{\mathrm{img}}` the width: :math:`W` is the kernel);
``W`` :math:`(F, C, k_h, k_w)`; ``b`` :math:`(F,)`; ``z``, ``y``, :math:`G`, :math:`G_Z` :math:`(N, F, P, Q)`,
stored :math:`(N, P, Q, F)`; :math:`X_{\mathrm{col}}` and :math:`dX_{\mathrm{col}}` :math:`(C k_h k_w,\ N P Q)`;
:math:`G_{\mathrm{mat}}` :math:`(N P Q,\ F)`.
Output size per axis for input :math:`n`, kernel :math:`k`, stride :math:`s` (:func:`conv_output_size`):
``"valid"`` :math:`\lfloor (n-k)/s\rfloor + 1` (needs :math:`n \ge k`); ``"same"`` :math:`\lceil n/s\rceil`, with total
padding :math:`\max((\lceil n/s \rceil - 1)s + k - n, 0)`, the odd extra row/column at the bottom/right (as
TensorFlow); an integer padding :math:`\mathrm{pad}` on each side: :math:`\lfloor (n + 2\,\mathrm{pad} - k)/s\rfloor + 1`.
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
    r""":math:`Z_{\mathrm{mat}} = X_{\mathrm{col}}^\top W_{\mathrm{mat}}^\top + \mathbf 1 b^\top` into ``out``
    (N, OH, OW, F), returned as its NCHW view (module docstring: forward, memory layout).

    Shapes: ``x_col`` (C kh kw, N OH OW); ``W`` (F, C, kh, kw); ``b`` (F,);
    result (N, F, OH, OW), stored channels-last.
    """
    F = W.shape[0]
    np.matmul(x_col.T, W.reshape(F, -1).T, out=out.reshape(-1, F))
    if b is not None:
        out += b
    return out.transpose(0, 3, 1, 2)


def conv2d_backward(x_col: np.ndarray, G: np.ndarray, dW: np.ndarray, db: np.ndarray | None = None) -> None:
    r""":math:`dW_{\mathrm{mat}} = G_{\mathrm{mat}}^\top X_{\mathrm{col}}^\top` and
    :math:`db = G_{\mathrm{mat}}^\top \mathbf 1` (module docstring, step 2), into ``dW`` and ``db``.

    ``G`` is :math:`G_{\mathrm{mat}}`, shape (N OH OW, F): the rows of the channels-last gradient.
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
    r""":math:`\partial L/\partial \tilde X` (shape ``pad_shape``): :math:`dX_{\mathrm{col}} = W_{\mathrm{mat}}^\top G_{\mathrm{mat}}^\top`,
    then col2im, the adjoint of the im2col gather (module docstring, steps 2 and 3).

    ``G`` (N OH OW, F) is :math:`G_{\mathrm{mat}}`; ``dx_col`` an optional work array of
    :math:`X_{\mathrm{col}}`'s shape; the caller cuts the padding off (step 4).
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
