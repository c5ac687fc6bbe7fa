r"""Cross-entropy from logits: the stable forms of the two output heads.

A sigmoid or softmax output :math:`p` of logits :math:`z` is an exponential
family, :math:`\log p = z - A(z)`, with the *log-normalizer*

.. math::
    A(z) = \log(1 + e^{z}) \ \text{(sigmoid, per element)}, \qquad
    A(z) = \log \textstyle\sum_j e^{z_j} \ \text{(softmax, per row)}.

Cross-entropy against targets :math:`y` is then linear in :math:`z` up to
:math:`A`, and its gradient with respect to the logits is remarkably simple:

.. math::
    \ell = \sum_k t_k \big(A(z) - z_k\big), \qquad
    \frac{\partial \ell}{\partial z_k} = p_k \textstyle\sum_j t_j - t_k,

which is :math:`p - y` when the targets sum to 1 (and for the sigmoid, where
each element is its own two-class softmax over :math:`(0, z)`).  This is both
cheaper and numerically safer than chaining :math:`-y/p` (which divides by
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
    s = z - np.maximum.reduce(z, axis=-1, keepdims=True)
    return s, np.log(np.add.reduce(np.exp(s), axis=-1, keepdims=True))


def log_softmax(z: np.ndarray) -> np.ndarray:
    r"""Stable :math:`\log \mathrm{softmax}(z) = s - \log \sum_j e^{s_j}`, :math:`s = z - \max_j z_j`."""
    s, A = logsumexp(z)
    return s - A


def sigmoid_cross_entropy(z: np.ndarray, t: np.ndarray, A: np.ndarray | None = None) -> np.ndarray:
    r"""Binary cross-entropy of :math:`p = \sigma(z)` against targets :math:`y`, element by element, from logits.

    Used with ``from_logits=True``, or automatically after a model's sigmoid
    output layer (a fused head, :mod:`tinynet.engine`).  With :math:`p = \sigma(z)`:

    .. math::

        \log p = -\log(1 + e^{-z}), \qquad \log(1 - p) = \log\frac{e^{-z}}{1 + e^{-z}} = -z - \log(1 + e^{-z}).

    Substituting,

    .. math::

        -\big[y\log p + (1-y)\log(1-p)\big] = y\log(1+e^{-z}) + (1-y)\big(z + \log(1+e^{-z})\big)
        = z - zy + \log(1 + e^{-z}).

    For :math:`z < 0`, :math:`e^{-z}` could overflow, so use :math:`z + \log(1 + e^{-z}) = \log(e^z + 1)` and write
    both cases as one expression that never exponentiates a positive number:

    .. math::

        \ell = \max(z, 0) - z y + \log\big(1 + e^{-|z|}\big).

    **The fused gradient.** Chain the probability gradient through :math:`\sigma' = p(1 - p)`
    (see Sigmoid):

    .. math::

        \frac{\partial L}{\partial z} = \frac{\partial L}{\partial p}\cdot p(1 - p)
        = \frac{1}{ND}\,\frac{p - y}{p(1 - p)}\cdot p(1 - p) = \frac{\sigma(z) - y}{ND} ,

    with :math:`D` the outputs per sample: the mean runs over all :math:`N D` elements, so the
    gradient is :math:`(p - y)/N` only for one output per sample. The :math:`p(1-p)` cancels. The fused form is cheaper, and it stays exact where the unfused chain
    breaks down: there :math:`p` is clipped to :math:`[\epsilon, 1 - \epsilon]` (and in float32 :math:`\sigma(z)` rounds to
    exactly 1 for :math:`z \gtrsim 17`), so :math:`\partial L/\partial p` becomes 0 and a confidently wrong
    prediction would get no gradient at all.

    **The log-normalizer view.** :math:`\max(z, 0) + \log(1 + e^{-|z|}) = \log(1 + e^z) = A(z)` (softplus), the
    log-sum-exp of the two logits :math:`(0, z)` of which the sigmoid is the softmax: :math:`p = e^{z - A(z)}`, and the
    loss is just :math:`\ell = A(z) - y z`: this function returns it, element by element.
    A model's fused head hands the loss :math:`A` with :math:`p` (a
    :class:`~tinynet.engine.HeadOutput`), and the mean loss then costs one sum and
    one dot product.  ``t`` holds the targets :math:`y`.  Shapes: ``z``, ``t``, ``A`` and the result alike.
    """
    if A is None:
        A = softplus(z)
    return A - z * t


def softmax_cross_entropy(s: np.ndarray, t: np.ndarray, A: np.ndarray | None = None) -> np.ndarray:
    r"""Categorical cross-entropy of :math:`p = \mathrm{softmax}(z)` per row, from logits.

    With :math:`p = \mathrm{softmax}(z)` and :math:`\log p_{nk} = z_{nk} - \mathrm{LSE}(z_n)`,
    :math:`\mathrm{LSE}(z_n) = \log\sum_j e^{z_{nj}}` (evaluated after subtracting :math:`\max_j z_{nj}`):

    .. math::

        \ell_n = -\sum_k y_{nk}\big(z_{nk} - \mathrm{LSE}(z_n)\big)
        = -\sum_k y_{nk} z_{nk} + \Big(\sum_k y_{nk}\Big)\mathrm{LSE}(z_n).

    **The fused gradient.** :math:`\partial\,\mathrm{LSE}(z_n)/\partial z_{nk} = e^{z_{nk}}/\sum_j e^{z_{nj}} = p_{nk}`, so

    .. math::

        \frac{\partial L}{\partial z_{nk}} = \frac1N\Big(p_{nk}\sum_j y_{nj} - y_{nk}\Big)
        = \frac{p_{nk} - y_{nk}}{N} \quad\text{when each target row sums to 1,}

    with :math:`N` the number of rows averaged: for a sequence of targets :math:`(N, T, K)` every
    position counts like a sample, and the gradient is :math:`(p - y)/(N T)`.

    The same result comes from chaining :math:`-y/p` through the softmax Jacobian
    :math:`p_i(\delta_{ij} - p_j)` of Softmax:
    :math:`\sum_i (-t_i/p_i)\,p_i(\delta_{ij} - p_j) = -t_j + p_j \sum_i t_i`.

    In the same way, :math:`A(z_n) = \mathrm{LSE}(z_n) = m_n + \log S_n` with :math:`m_n` the row maximum and
    :math:`S_n = \sum_j e^{z_{nj} - m_n}` is what the softmax computes to normalize, and the loss is
    :math:`\sum_{n,k} y_{nk}\,\big(A(z_n) - z_{nk}\big)/N`: one subtraction
    :math:`-\log p_{nk} = A(z_n) - z_{nk} \ge 0`, element by element, and one dot product with :math:`y`, with
    no second pass of row maxima and sums over the logits.

    One more step is saved by shifting. Subtracting a constant :math:`c` from a row changes nothing:
    :math:`A(z_n - c) = A(z_n) - c`, so :math:`A(z_n) - z_{nk} = A(s_n) - s_{nk}` for the shifted logits
    :math:`s_{nk} = z_{nk} - m_n`, which the softmax computed anyway before exponentiating. Their maximum is 0,
    so their log-partition is a single logarithm, :math:`A(s_n) = \log S_n`, with no :math:`m_n` to add back
    (:func:`logsumexp`). A model's fused softmax head therefore hands the loss :math:`s` and :math:`\log S`
    (the sigmoid hands over :math:`z` and its softplus), and the loss is
    :math:`\sum_{n,k} y_{nk}\,(\log S_n - s_{nk})/N`, each term still :math:`\ge 0`. Test, for both heads,
    saturated ones included:
    ``tests/test_losses.py::test_the_heads_output_gives_the_same_loss_and_gradient_as_the_logits``.

    ``A``, when given, is :math:`A(s)` of shape (..., 1) for the logits ``s``;
    without it, it is computed (on shifted logits).

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

    .. math:: \frac{\partial L}{\partial z} = c\,\big(p \odot r - y\big), \qquad r = \textstyle\sum_k y_k,

    for the targets :math:`y` (the argument ``t``), with :math:`c` = ``scale``, a number or an array
    broadcasting against ``p``: the :math:`w_n` of the sample weights over the number of terms the
    loss averages, :math:`w_n/N` for a softmax over :math:`(N, K)`, :math:`w_n/(N D)` for a sigmoid with
    :math:`D` outputs, :math:`w_n/(N T)` for a softmax over a sequence :math:`(N, T, K)`.  For the softmax, :math:`r` is each
    row's target sum; with ``unit_rows`` (targets summing to exactly 1, e.g.
    one-hot) :math:`p \odot r = p` and the product is skipped, not approximated.
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
