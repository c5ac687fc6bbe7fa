r"""The affine map of a fully connected layer, :math:`Z = XW + \mathbf 1 b^\top`."""

from __future__ import annotations

import functools

import numpy as np


def dense_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None, out=None) -> np.ndarray:
    r"""The pre-activation :math:`Z = X W + \mathbf{1} b^\top`.

    Parameters
    ----------
    x : ndarray, shape (N, in)
        The batch, one row per sample (more leading axes act as batch axes).
    W : ndarray, shape (in, units)
    b : ndarray, shape (units,), optional
    out : ndarray, shape (N, units), optional

    Returns
    -------
    ndarray, shape (N, units)
    """
    z = np.matmul(x, W, out=out)
    if b is not None:
        z += b
    return z


def dense_backward(
    x: np.ndarray, grad_z: np.ndarray, dW: np.ndarray, db: np.ndarray | None = None
) -> None:
    r"""The parameter gradients of :math:`Z = XW + \mathbf 1 b^\top`, written into ``dW`` and ``db``.

    With :math:`G_Z = \partial L/\partial Z` and :math:`Z_{nj} = \sum_i X_{ni} W_{ij} + b_j`,

    .. math::
        \frac{\partial L}{\partial W_{ij}} = \sum_n X_{ni}\, (G_Z)_{nj}
            \;\Rightarrow\; dW = X^\top G_Z, \qquad
        \frac{\partial L}{\partial b_j} = \sum_n (G_Z)_{nj}
            \;\Rightarrow\; db = \mathbf{1}^\top G_Z .

    :math:`\mathbf 1^\top G_Z` is computed as written, a matrix-vector product:
    several times faster than ``grad_z.sum(axis=0)``, a strided reduction.

    Parameters
    ----------
    x : ndarray, shape (N, in)
    grad_z : ndarray, shape (N, units)
    dW : ndarray, shape (in, units)
        Overwritten with :math:`X^\top G_Z`.
    db : ndarray, shape (units,), optional
        Overwritten with :math:`\mathbf 1^\top G_Z`.
    """
    if x.ndim > 2:  # extra leading axes act as batch axes: fold them into the rows
        x, grad_z = x.reshape(-1, x.shape[-1]), grad_z.reshape(-1, grad_z.shape[-1])
    np.matmul(x.T, grad_z, out=dW)
    if db is not None:
        np.matmul(ones(len(grad_z), grad_z.dtype), grad_z, out=db)


def dense_input_grad(grad_z: np.ndarray, W: np.ndarray, out=None) -> np.ndarray:
    r"""The input gradient of :math:`Z = XW + \mathbf 1 b^\top`.

    .. math::
        \frac{\partial L}{\partial X_{ni}} = \sum_j (G_Z)_{nj} W_{ij}
            \;\Rightarrow\; dX = G_Z W^\top .

    Shapes: ``grad_z`` (N, units), ``W`` (in, units), result (N, in).
    """
    return np.matmul(grad_z, W.T, out=out)


@functools.lru_cache(maxsize=64)
def ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of ``n`` ones (made once per length and dtype)."""
    vector = np.ones(n, dtype=dtype)
    vector.flags.writeable = False
    return vector
