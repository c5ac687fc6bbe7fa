r"""Exercise: the backward pass of max pooling (see :mod:`tinynet.ops.pooling`).

For NCHW images ``x``, windows of ``pool_size`` :math:`(k_h, k_w)` moved by ``strides``
:math:`(s_h, s_w)` ("valid" windows), each output's gradient goes to the input that is the maximum of
its window, summed over the windows that input wins (several when windows overlap, :math:`s < k`).
Checked on seed 0 with 2x2 windows and strides 2, then with overlapping 3x3 windows and strides 2;
the inputs have no ties.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ._core import Exercise, Mistake, as_array

SHAPE = (2, 2, 5, 5)


def max_pool_backward(
    x: np.ndarray, grad: np.ndarray, pool_size: tuple[int, int], strides: tuple[int, int]
) -> np.ndarray:
    r"""Return :math:`\partial L/\partial X` (shaped like ``x``) from ``grad``, :math:`\partial L/\partial Y`.

    (:func:`tinynet.ops.max_pool_backward` takes the window winners recorded by the forward pass;
    this exercise finds them from ``x``.)
    """
    raise NotImplementedError


def _out_hw(pool_size, strides):
    return tuple((n - k) // s + 1 for n, k, s in zip(SHAPE[2:], pool_size, strides, strict=True))


def _inputs(rng: np.random.Generator, seed: int) -> dict:
    pool_size, strides = ((2, 2), (2, 2)) if seed == 0 else ((3, 3), (2, 2))
    x = rng.permutation(np.prod(SHAPE)).reshape(SHAPE) / 10.0  # distinct values: no ties
    grad = rng.standard_normal((*SHAPE[:2], *_out_hw(pool_size, strides)))
    return {"x": x, "grad": grad, "pool_size": pool_size, "strides": strides}


def _reference(x, grad, pool_size, strides):
    out_hw = _out_hw(pool_size, strides)
    y = np.empty(grad.shape)
    argmax = np.empty(grad.shape, dtype=np.intp)
    ops.max_pool(ops.pool_windows(x, pool_size, strides, out_hw), y, argmax)
    return {"dx": ops.max_pool_backward(grad, argmax, x.shape, pool_size, strides)}


def _spread(i: dict) -> np.ndarray:
    dx = np.zeros(SHAPE)
    ops.avg_pool_backward(i["grad"], i["pool_size"], i["strides"], dx)
    return dx


def _offsets(i: dict):
    """For each offset (a, b) in the window, row-major: the strided slices of the inputs at that offset."""
    (kh, kw), (sh, sw) = i["pool_size"], i["strides"]
    oh, ow = i["grad"].shape[2:]
    for a in range(kh):
        for b in range(kw):
            yield (
                slice(None),
                slice(None),
                slice(a, a + sh * (oh - 1) + 1, sh),
                slice(b, b + sw * (ow - 1) + 1, sw),
            )


def _assigned(i: dict) -> np.ndarray:
    """Max-pool backward with ``=`` for ``+=``, offsets in row-major order: an input that is the
    maximum of several overlapping windows keeps the gradient of the last one written."""
    x, grad = i["x"], i["grad"]
    best = np.max([x[where] for where in _offsets(i)], axis=0)  # each window's maximum
    dx = np.zeros_like(x)
    for where in _offsets(i):
        dx[where] = np.where(x[where] == best, grad, dx[where])
    return dx


EXERCISES = (
    Exercise(
        name="max_pool_backward",
        topic="pooling",
        signature="max_pool_backward(x, grad, pool_size, strides) -> dx",
        make_inputs=_inputs,
        reference=_reference,
        adapt=as_array("dx"),
        mistakes=(
            Mistake(
                "dx",
                "average pooling backward",
                "the gradient is shared over the whole window: that is average pooling; max pooling "
                "sends each output's whole gradient to the one input that was the maximum",
                _spread,
            ),
            Mistake(
                "dx",
                "assigned instead of added",
                "where windows overlap (stride < pool size), an input can be the maximum of several windows: "
                "it receives the SUM of their gradients (+=), not the last one written (=)",
                _assigned,
            ),
        ),
    ),
)
