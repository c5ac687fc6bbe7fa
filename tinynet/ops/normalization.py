r"""Standardization of groups of numbers, the core of batch and layer normalization.

Both normalizations standardize a group of :math:`M` numbers :math:`x_1, \dots, x_M`
and then scale and shift each with trainable :math:`\gamma_k, \beta_k`:

.. math::
    \mu = \frac1M \sum_k x_k, \quad
    \sigma^2 = \frac1M \sum_k (x_k - \mu)^2, \quad
    s = \sqrt{\sigma^2 + \epsilon}, \quad
    \hat x_k = \frac{x_k - \mu}{s}, \quad
    y_k = \gamma_k \hat x_k + \beta_k .

Batch normalization standardizes one feature (or channel) across the batch,
layer normalization one sample across its features: a group is the entries
of ``x`` that share an index on the axes *not* reduced.  The parameters belong
to the features, so the two cases differ in how they meet the groups: in
batch normalization every entry of a group is the same feature and shares one
:math:`\gamma, \beta` (:math:`\gamma_k = \gamma` within the group, a different
one per group); in layer normalization every entry of a group is a different
feature with its own :math:`\gamma_k, \beta_k`, and every group (sample) uses
the same vector :math:`\gamma`.

Derivation of the backward pass of one group, with :math:`G_k = \partial L/\partial y_k`.

1. Parameters: each :math:`\gamma_j` receives :math:`G_k \hat x_k` from every
   entry :math:`k` it scales, in every group, and :math:`\beta_j` receives
   :math:`G_k`.  Batch normalization: :math:`\partial L/\partial\gamma = \sum_k G_k \hat x_k`
   and :math:`\partial L/\partial\beta = \sum_k G_k`, summed over the :math:`M`
   entries of the feature's group.  Layer normalization:
   :math:`\partial L/\partial\gamma_k = \sum_n G_{nk} \hat x_{nk}` and
   :math:`\partial L/\partial\beta_k = \sum_n G_{nk}`, summed over the *groups*
   (the samples :math:`n`) and never within one.  Either way: a sum of
   :math:`G \odot \hat x` (and of :math:`G`) over every axis that :math:`\gamma`
   does not have.
2. :math:`\hat G_k = \partial L/\partial \hat x_k = \gamma_k G_k`.
3. Every :math:`\hat x_k` depends on :math:`x_m` directly and through
   :math:`\mu` and :math:`s`.  With :math:`\partial\mu/\partial x_m = 1/M` and

   .. math::
       \frac{\partial \sigma^2}{\partial x_m}
           = \frac2M \sum_k (x_k - \mu)\Big(\delta_{km} - \frac1M\Big)
           = \frac2M (x_m - \mu)
       \;\Rightarrow\;
       \frac{\partial s}{\partial x_m} = \frac{1}{2s}\,\frac{\partial \sigma^2}{\partial x_m}
           = \frac{\hat x_m}{M}

   (the :math:`-1/M` term vanishes because :math:`\sum_k (x_k - \mu) = 0`), the
   quotient rule gives

   .. math::
       \frac{\partial \hat x_k}{\partial x_m}
           = \frac{\delta_{km} - 1/M}{s} - \frac{x_k - \mu}{s^2}\,\frac{\hat x_m}{M}
           = \frac{1}{M s}\big(M \delta_{km} - 1 - \hat x_k \hat x_m\big).

4. Chaining,

   .. math::
       \frac{\partial L}{\partial x_m} = \sum_k \hat G_k \frac{\partial \hat x_k}{\partial x_m}
           = \frac{1}{s}\Big(\hat G_m - \frac1M \sum_k \hat G_k - \hat x_m \frac1M \sum_k \hat G_k \hat x_k\Big),

   the compact form (:func:`normalize_backward`): two means per group and one
   element-wise pass, never the :math:`M \times M` Jacobian.
"""

from __future__ import annotations

import numpy as np


def normalize_forward(
    x: np.ndarray,
    axes: tuple[int, ...],
    epsilon: float,
    mean: np.ndarray | None = None,
    variance: np.ndarray | None = None,
    out=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Standardize ``x`` over ``axes``: :math:`\hat x = (x - \mu)/s`, :math:`s = \sqrt{\sigma^2 + \epsilon}`.

    The group statistics are the batch's own (the biased variance, dividing by
    :math:`M`) unless ``mean`` and ``variance`` are given (running averages in
    inference), shaped to broadcast against ``x``.

    Returns
    -------
    x_hat : ndarray, shaped like ``x`` (into ``out`` when given)
    mean, variance : ndarray
        The statistics used, with the reduced axes kept (size 1).
    inv_std : ndarray
        :math:`1/s`, shaped like ``mean``.
    """
    if mean is None:
        M = int(np.prod([x.shape[a] for a in axes]))
        mean = np.add.reduce(x, axis=axes, keepdims=True) / M
        x_hat = np.subtract(x, mean, out=out)
        variance = np.add.reduce(np.square(x_hat), axis=axes, keepdims=True) / M
    else:
        x_hat = np.subtract(x, mean, out=out)
    inv_std = 1.0 / np.sqrt(variance + epsilon)
    x_hat *= inv_std
    return x_hat, mean, variance, inv_std


def normalize_backward(
    g_hat: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, axes: tuple[int, ...], out=None
) -> np.ndarray:
    r""":math:`\partial L/\partial x` from :math:`\hat G = \partial L/\partial \hat x` (step 4 of the module docstring).

    .. math:: \frac{\partial L}{\partial x} = \frac{1}{s}\Big(\hat G - \operatorname{mean}(\hat G)
        - \hat x \operatorname{mean}(\hat G \hat x)\Big),

    means over ``axes`` (each group's :math:`M` entries).  ``out`` may be ``g_hat``.
    """
    M = g_hat.size // inv_std.size
    mean_g = np.add.reduce(g_hat, axis=axes, keepdims=True) / M
    mean_g_xhat = np.add.reduce(g_hat * x_hat, axis=axes, keepdims=True) / M
    out = np.subtract(g_hat, x_hat * mean_g_xhat, out=out)
    out -= mean_g
    out *= inv_std
    return out
