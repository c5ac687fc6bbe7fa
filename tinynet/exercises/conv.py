r"""Exercises: im2col, col2im, and the forward and backward passes of a 2-D convolution (see :mod:`tinynet.ops.conv`).

Images are NCHW: ``x`` (N, C, H, W); kernels ``W`` (F, C, kh, kw); ``b`` (F,); ``padding`` an integer
:math:`p`, the zero rows and columns added on *every* side; output size per axis
:math:`\lfloor (H + 2p - k)/s\rfloor + 1`.  With :math:`\tilde X` the padded images,

.. math::

    X_{\mathrm{col}}\big[(c, i, j),\ (n, r, q)\big] = \tilde X_{n,c,\,r s_h + i,\,q s_w + j},

rows ordered like ``W.reshape(F, -1)``'s columns (``c`` slowest, then ``i``, ``j``), columns like
``(n, r, q)`` (``n`` slowest).  Then :math:`Z_{nf} = b_f + (W_{\mathrm{mat}} X_{\mathrm{col}})`
per sample; the backward pass is Dense's on the columns followed by col2im, the adjoint of
im2col (each padded pixel receives the sum over every column that copied it), and the padding cut off.

The checks use seeded float64 inputs and three geometries: a 3x3 kernel with stride 1 and padding 1,
a 3x3 kernel with stride 2 and padding 1 (overlapping windows), and a 2x3 kernel with strides
(1, 2) and padding 2, on :math:`N = 2` images of :math:`C = 2` channels, :math:`5 \times 6` pixels,
:math:`F = 3` filters.  ``x_col`` is compared laid out as (C, kh, kw, N, OH, OW), so that a
padding or size off by one is recognised (hint ``off-by-one``).
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..testing import hints as _hints
from ._core import Exercise, Mistake, as_array, as_tuple

N, C, H, W_, F = 2, 2, 5, 6, 3
#: (kernel_size, strides, padding) by seed.
GEOMETRIES = {0: ((3, 3), (1, 1), 1), 1: ((3, 3), (2, 2), 1), 2: ((2, 3), (1, 2), 2)}


def im2col(x: np.ndarray, kernel_size: tuple[int, int], strides: tuple[int, int], padding: int) -> np.ndarray:
    r"""Return :math:`X_{\mathrm{col}}`, shape (C kh kw, N OH OW), of ``x`` zero-padded by ``padding`` on every side."""
    raise NotImplementedError


def col2im(
    x_col: np.ndarray,
    x_shape: tuple[int, int, int, int],
    kernel_size: tuple[int, int],
    strides: tuple[int, int],
    padding: int,
) -> np.ndarray:
    r"""Return the image gradient (shape ``x_shape``) of the column gradient ``x_col`` (C kh kw, N OH OW).

    The adjoint of :func:`im2col`: add each column's values back to the pixels it was copied
    from (a pixel in several windows receives the sum), then cut the padding off.
    """
    raise NotImplementedError


def conv2d_forward(
    x: np.ndarray, W: np.ndarray, b: np.ndarray, strides: tuple[int, int], padding: int
) -> np.ndarray:
    r"""Return :math:`Z` (N, F, OH, OW): the cross-correlation of ``x`` with each kernel, plus its bias."""
    raise NotImplementedError


def conv2d_backward(
    x: np.ndarray, W: np.ndarray, grad: np.ndarray, strides: tuple[int, int], padding: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Return ``(dx, dW, db)`` from ``grad``, :math:`G = \partial L/\partial Z` (N, F, OH, OW).

    :math:`dW_{\mathrm{mat}} = G_{\mathrm{mat}} X_{\mathrm{col}}^\top`, :math:`db_f = \sum_{n,r,q} G_{nfrq}`,
    ``dx`` = col2im of :math:`W_{\mathrm{mat}}^\top G_{\mathrm{mat}}` (with
    :math:`G_{\mathrm{mat}}` the (F, N OH OW) matrix of ``grad``).
    """
    raise NotImplementedError


# ---------------------------------------------------------------- references (tinynet.ops)
def _out_hw(x_shape, kernel_size, strides, padding) -> tuple[int, int]:
    return tuple(
        ops.conv_output_size(n, k, s, padding)[0]
        for n, k, s in zip(x_shape[2:], kernel_size, strides, strict=True)
    )


def _x_col(x, kernel_size, strides, padding) -> np.ndarray:
    p = padding
    return ops.im2col(ops.pad_images(x, p, p, p, p), kernel_size, strides)


def _col2im(x_col, x_shape, kernel_size, strides, padding) -> np.ndarray:
    # tinynet's col2im multiplies by W_mat^T first: with W_mat = I it is the plain scatter-add
    p, (kh, kw) = padding, kernel_size
    rows = C * kh * kw
    identity = np.eye(rows).reshape(rows, x_shape[1], kh, kw)
    pad_shape = (x_shape[0], x_shape[1], x_shape[2] + 2 * p, x_shape[3] + 2 * p)
    dx_pad = ops.col2im(np.ascontiguousarray(x_col.T), identity, pad_shape, strides)
    return dx_pad[:, :, p : p + x_shape[2], p : p + x_shape[3]].copy()


def _g_mat(grad: np.ndarray) -> np.ndarray:
    """:math:`G_{\\mathrm{mat}}` as tinynet lays it out: (N OH OW, F), the rows of the channels-last gradient."""
    return np.ascontiguousarray(grad.transpose(0, 2, 3, 1)).reshape(-1, grad.shape[1])


def _forward(x, W, b, strides, padding) -> np.ndarray:
    kernel_size = W.shape[2:]
    oh, ow = _out_hw(x.shape, kernel_size, strides, padding)
    out = np.empty((len(x), oh, ow, len(W)))
    return ops.conv2d_forward(_x_col(x, kernel_size, strides, padding), W, b, out).copy()


def _backward(x, W, grad, strides, padding) -> dict[str, np.ndarray]:
    kernel_size, p = W.shape[2:], padding
    G = _g_mat(grad)
    dW, db = np.empty_like(W), np.empty(len(W))
    ops.conv2d_backward(_x_col(x, kernel_size, strides, padding), G, dW, db)
    pad_shape = (len(x), x.shape[1], x.shape[2] + 2 * p, x.shape[3] + 2 * p)
    dx_pad = ops.col2im(G, W, pad_shape, strides)
    dx = dx_pad[:, :, p : p + x.shape[2], p : p + x.shape[3]].copy()
    return {"dx": dx, "dW": dW, "db": db}


# ---------------------------------------------------------------- inputs
def _geometry(seed: int):
    return GEOMETRIES[seed % len(GEOMETRIES)]


def _im2col_inputs(rng: np.random.Generator, seed: int) -> dict:
    kernel_size, strides, padding = _geometry(seed)
    return {
        "x": rng.standard_normal((N, C, H, W_)),
        "kernel_size": kernel_size,
        "strides": strides,
        "padding": padding,
    }


def _col2im_inputs(rng: np.random.Generator, seed: int) -> dict:
    kernel_size, strides, padding = _geometry(seed)
    oh, ow = _out_hw((N, C, H, W_), kernel_size, strides, padding)
    rows = C * kernel_size[0] * kernel_size[1]
    return {
        "x_col": rng.standard_normal((rows, N * oh * ow)),
        "x_shape": (N, C, H, W_),
        "kernel_size": kernel_size,
        "strides": strides,
        "padding": padding,
    }


def _forward_inputs(rng: np.random.Generator, seed: int) -> dict:
    kernel_size, strides, padding = _geometry(seed)
    return {
        "x": rng.standard_normal((N, C, H, W_)),
        "W": rng.standard_normal((F, C, *kernel_size)),
        "b": rng.standard_normal(F),
        "strides": strides,
        "padding": padding,
    }


def _backward_inputs(rng: np.random.Generator, seed: int) -> dict:
    kernel_size, strides, padding = _geometry(seed)
    oh, ow = _out_hw((N, C, H, W_), kernel_size, strides, padding)
    return {
        "x": rng.standard_normal((N, C, H, W_)),
        "W": rng.standard_normal((F, C, *kernel_size)),
        "grad": rng.standard_normal((N, F, oh, ow)),
        "strides": strides,
        "padding": padding,
    }


# ---------------------------------------------------------------- x_col as (C, kh, kw, N, OH, OW)
def _windows(x_col: np.ndarray, kernel_size, out_hw) -> np.ndarray:
    kh, kw = kernel_size
    return x_col.reshape(C, kh, kw, N, *out_hw)


def _im2col_reference(x, kernel_size, strides, padding):
    out_hw = _out_hw(x.shape, kernel_size, strides, padding)
    return {"x_col": _windows(_x_col(x, kernel_size, strides, padding), kernel_size, out_hw)}


def _im2col_adapt(returned, inputs):
    """The student's X_col laid out as (C, kh, kw, N, OH', OW').

    OH', OW' is the right output size when the shape is right; otherwise the size within 2 of it
    (OH' OW' columns per image) under which the values are the reference's moved by a row or
    column, when there is one (so that the ``off-by-one`` hint can say so), else the nearest.
    A matrix of another shape is compared as it is; an array that is not a matrix is refused.
    """
    if returned is None:
        raise TypeError("the function returned None: return X_col")
    a = np.asarray(returned, dtype=np.float64)
    kh, kw = inputs["kernel_size"]
    oh, ow = _out_hw(inputs["x"].shape, inputs["kernel_size"], inputs["strides"], inputs["padding"])
    rows = C * kh * kw
    if a.ndim == 2 and a.shape == (N * oh * ow, rows) and a.shape != (rows, N * oh * ow):
        raise TypeError(
            f"X_col has shape {a.shape}, the transpose of ({rows}, {N * oh * ow}): one ROW per kernel "
            "element (c, i, j) and one COLUMN per receptive field (n, r, q)"
        )
    if a.ndim != 2:
        raise TypeError(
            f"X_col must be a matrix of shape ({rows}, {N * oh * ow}), (C·kh·kw, N·OH·OW); got an array of "
            f"shape {a.shape}: reshape it"
        )
    if a.shape[0] != rows or a.shape[1] % N:
        return {"x_col": a}
    per_image = a.shape[1] // N
    sizes = sorted(
        (
            (h, w)
            for h in range(max(oh - 2, 1), oh + 3)
            for w in range(max(ow - 2, 1), ow + 3)
            if h * w == per_image
        ),
        key=lambda hw: abs(hw[0] - oh) + abs(hw[1] - ow),
    )
    if not sizes:
        return {"x_col": a}
    if sizes[0] != (oh, ow):
        reference = _im2col_reference(**inputs)["x_col"]
        for size in sizes:
            windows = _windows(a, (kh, kw), size)
            if _hints.off_by_one(windows, reference, IM2COL_SPATIAL_AXES) is not None:
                return {"x_col": windows}
    return {"x_col": _windows(a, (kh, kw), sizes[0])}


def _col2im_reference(x_col, x_shape, kernel_size, strides, padding):
    return {"dx": _col2im(x_col, x_shape, kernel_size, strides, padding)}


# ---------------------------------------------------------------- mistaken patterns
def _flipped(W: np.ndarray) -> np.ndarray:
    return W[:, :, ::-1, ::-1].copy()


def _assigned_col2im(i: dict) -> np.ndarray:
    """col2im with ``=`` for ``+=``: where windows overlap, the last window's value wins."""
    (kh, kw), (sh, sw), p = i["kernel_size"], i["strides"], i["padding"]
    n, c, h, w = i["x_shape"]
    oh, ow = _out_hw(i["x_shape"], i["kernel_size"], i["strides"], p)
    cols = i["x_col"].reshape(c, kh, kw, n, oh, ow)
    out = np.zeros((n, c, h + 2 * p, w + 2 * p))
    for a in range(kh):
        for b in range(kw):
            out[:, :, a : a + sh * (oh - 1) + 1 : sh, b : b + sw * (ow - 1) + 1 : sw] = cols[
                :, a, b
            ].transpose(1, 0, 2, 3)
    return out[:, :, p : p + h, p : p + w]


def _uncropped_col2im(i: dict) -> np.ndarray:
    p = i["padding"]
    n, c, h, w = i["x_shape"]
    padded = (n, c, h + 2 * p, w + 2 * p)
    return _col2im(i["x_col"], padded, i["kernel_size"], i["strides"], 0)[..., : h + 2 * p, : w + 2 * p]


_FLIPPED = (
    "the kernel is rotated by 180°: that is a convolution in the mathematical sense; a Conv2D layer "
    "(like every deep learning framework) computes a cross-correlation, Z = Σ W[f, c, i, j] X̃[c, r·s + i, q·s + j], "
    "so dW[f, c, i, j] = Σ G[f, r, q] X̃[c, r·s + i, q·s + j] and dx uses W itself, not W[..., ::-1, ::-1]"
)

_CONTEXT_IMAGE = {
    "spatial_axes": (2, 3),
    "axis_names": ("axis 0", "axis 1", "the height axis", "the width axis"),
}
#: In X_col's (C, kh, kw, N, OH, OW) layout, the kernel rows/columns and the output rows/columns:
#: the axes along which a wrong padding moves the values.
IM2COL_SPATIAL_AXES = (1, 2, 4, 5)
IM2COL_AXES = ("c", "the kernel row i", "the kernel column j", "n", "the output row r", "the output column q")


EXERCISES = (
    Exercise(
        name="im2col",
        topic="conv",
        signature="im2col(x, kernel_size, strides, padding) -> x_col (C*kh*kw, N*OH*OW)",
        make_inputs=_im2col_inputs,
        reference=_im2col_reference,
        adapt=_im2col_adapt,
        context=lambda inputs, expected: {"spatial_axes": IM2COL_SPATIAL_AXES, "axis_names": IM2COL_AXES},
    ),
    Exercise(
        name="col2im",
        topic="conv",
        signature="col2im(x_col, x_shape, kernel_size, strides, padding) -> dx (N, C, H, W)",
        make_inputs=_col2im_inputs,
        reference=_col2im_reference,
        adapt=as_array("dx"),
        context=lambda inputs, expected: _CONTEXT_IMAGE,
        mistakes=(
            Mistake(
                "dx",
                "assigned instead of added",
                "where windows overlap (stride < kernel), a pixel was copied into several columns: "
                "its gradient is the SUM of those columns' values (+=), not the last one written (=)",
                _assigned_col2im,
            ),
            Mistake(
                "dx",
                "padding not cut off",
                "dx is the gradient of the padded image: cut the padding off, dx_pad[:, :, p:p + H, p:p + W]",
                lambda i: _uncropped_col2im(i),
            ),
        ),
    ),
    Exercise(
        name="conv2d_forward",
        topic="conv",
        signature="conv2d_forward(x, W, b, strides, padding) -> z (N, F, OH, OW)",
        make_inputs=_forward_inputs,
        reference=lambda x, W, b, strides, padding: {"z": _forward(x, W, b, strides, padding)},
        adapt=as_array("z"),
        context=lambda inputs, expected: {"batch_size": N, **_CONTEXT_IMAGE},
        mistakes=(
            Mistake(
                "z",
                _hints.OFFSET,
                "z lacks the bias: add b[f] to every pixel of filter f's output map",
                lambda i: _forward(i["x"], i["W"], np.zeros_like(i["b"]), i["strides"], i["padding"]),
            ),
            Mistake(
                "z",
                "flipped kernel",
                _FLIPPED,
                lambda i: _forward(i["x"], _flipped(i["W"]), i["b"], i["strides"], i["padding"]),
            ),
        ),
    ),
    Exercise(
        name="conv2d_backward",
        topic="conv",
        signature="conv2d_backward(x, W, grad, strides, padding) -> (dx, dW, db)",
        make_inputs=_backward_inputs,
        reference=_backward,
        adapt=as_tuple("dx", "dW", "db"),
        context=lambda inputs, expected: {"batch_size": N, **_CONTEXT_IMAGE},
        mistakes=(
            Mistake(
                "dW",
                "flipped kernel",
                _FLIPPED,
                lambda i: _flipped(_backward(**i)["dW"]),
            ),
            Mistake(
                "dx",
                "flipped kernel",
                _FLIPPED,
                lambda i: _backward(i["x"], _flipped(i["W"]), i["grad"], i["strides"], i["padding"])["dx"],
            ),
            Mistake(
                "db",
                "bias gradient not summed",
                "db keeps the pixels: a filter's bias is added to every pixel of every image, so sum G "
                "over the batch AND the two spatial axes, db = G.sum(axis=(0, 2, 3))",
                lambda i: i["grad"].sum(axis=0),
            ),
            Mistake(
                "db",
                _hints.EXTRA_MEAN,
                "db is a mean over the images and pixels: the bias gradient is the sum, G.sum(axis=(0, 2, 3)) "
                "(the loss's gradient already holds the 1/N)",
                lambda i: i["grad"].mean(axis=(0, 2, 3)),
            ),
        ),
    ),
)
