r"""Cross-entropy from logits: the stable forms of the two output heads.

A sigmoid or softmax output :math:`p` of logits :math:`z` is an exponential
family, :math:`\log p = z - A(z)`, with the *log-normalizer*

.. math::
    A(z) = \log(1 + e^{z}) \ \text{(sigmoid, per element)}, \qquad
    A(z) = \log \textstyle\sum_j e^{z_j} \ \text{(softmax, per row)}.

Cross-entropy against targets :math:`t` is then linear in :math:`z` up to
:math:`A`, and its gradient with respect to the logits is remarkably simple:

.. math::
    \ell = \sum_k t_k \big(A(z) - z_k\big), \qquad
    \frac{\partial \ell}{\partial z_k} = p_k \textstyle\sum_j t_j - t_k,

which is :math:`p - t` when the targets sum to 1 (and for the sigmoid, where
each element is its own two-class softmax over :math:`(0, z)`).  This is both
cheaper and numerically safer than chaining :math:`-t/p` (which divides by
probabilities that round to 0 in float32) through the activation's Jacobian.
"""

from __future__ import annotations

import numpy as np

from .activations import softplus


def logsumexp(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""The softmax log-normalizer of each row, on shifted logits.

    With :math:`m = \max_j z_j` and :math:`s = z - m`,
    :math:`A(z) = m + \log \sum_j e^{s_j}` and :math:`A(s) = \log \sum_j e^{s_j}`.
    Cross-entropy does not change when a constant is subtracted from a row,
    :math:`A(z) - z_k = A(s) - s_k`, so a loss may use :math:`(s, A(s))`, which
    costs one logarithm per row and never overflows.

    Returns
    -------
    s : ndarray, shaped like ``z``
        The shifted logits :math:`z - m`.
    A : ndarray, shape (..., 1)
        :math:`\log \sum_j e^{s_j}`.
    """
    s = z - np.max(z, axis=-1, keepdims=True)
    return s, np.log(np.add.reduce(np.exp(s), axis=-1, keepdims=True))


def log_softmax(z: np.ndarray) -> np.ndarray:
    r"""Stable :math:`\log \mathrm{softmax}(z) = s - \log \sum_j e^{s_j}`, :math:`s = z - \max_j z_j`."""
    s, A = logsumexp(z)
    return s - A


def sigmoid_cross_entropy(z: np.ndarray, t: np.ndarray, A: np.ndarray | None = None) -> np.ndarray:
    r"""Binary cross-entropy of :math:`p = \sigma(z)` against :math:`t`, element by element, from logits.

    :math:`\log p = -\log(1 + e^{-z}) = z - A(z)` and :math:`\log(1 - p) = -A(z)`, with
    :math:`A(z) = \log(1 + e^z) = \max(z, 0) + \log(1 + e^{-|z|})` (softplus), so

    .. math:: \ell = -t \log p - (1 - t)\log(1 - p) = A(z) - t z,

    never an exponential of a positive number.  ``A`` may pass
    :math:`A(z)` when the caller has it (a fused head); shapes: all like ``z``.
    """
    if A is None:
        A = softplus(z)
    return A - z * t


def softmax_cross_entropy(s: np.ndarray, t: np.ndarray, A: np.ndarray | None = None) -> np.ndarray:
    r"""Categorical cross-entropy of :math:`p = \mathrm{softmax}(s)` against :math:`t`, per row, from logits.

    .. math:: \ell = -\sum_k t_k \log p_k = \sum_k t_k \big(A(s) - s_k\big),

    each term :math:`A - s_k = -\log p_k \ge 0` (no difference of large sums).
    ``A`` may pass :math:`A(s)` (shape (..., 1)) when the caller has it, for
    instance with :math:`s` the shifted logits of :func:`logsumexp`.

    Returns
    -------
    ndarray, shape ``s.shape[:-1]``
    """
    if A is None:
        s, A = logsumexp(s)
    return np.einsum("...k,...k->...", t, A - s)


def cross_entropy_logits_grad(
    p: np.ndarray, t: np.ndarray, scale: float | np.ndarray, unit_rows: bool = True, out=None
) -> np.ndarray:
    r"""The gradient of a scaled cross-entropy with respect to the logits.

    .. math:: \frac{\partial L}{\partial z} = c\,\big(p \odot T - t\big), \qquad T = \textstyle\sum_k t_k,

    with :math:`c` = ``scale`` (the :math:`w_n/N` of the reduction, a number or
    an array broadcasting against ``p``).  For the softmax, :math:`T` is each
    row's target sum; with ``unit_rows`` (targets summing to exactly 1, e.g.
    one-hot) :math:`p \odot T = p` and the product is skipped, not approximated.
    For the sigmoid each element is its own two-class softmax: pass
    ``unit_rows=True``.  Shapes: ``p``, ``t`` and the result alike.
    """
    if unit_rows:
        out = np.subtract(p, t, out=out)
    else:
        out = np.multiply(p, np.add.reduce(t, axis=-1, keepdims=True), out=out)
        out -= t
    out *= scale
    return out
