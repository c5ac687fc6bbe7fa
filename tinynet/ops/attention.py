r"""Scaled dot-product attention, and its backward pass derived step by step.

**Forward.** For one head of one sample, queries :math:`Q` (:math:`T_q \times d_k`), keys :math:`K`
(:math:`T_k \times d_k`) and values :math:`V` (:math:`T_k \times d_v`), with scale :math:`c = 1/\sqrt{d_k}`:

.. math::

    S = c\, Q K^\top, \qquad
    P_{ij} = \frac{M_{ij}\, e^{S_{ij}}}{\sum_l M_{il}\, e^{S_{il}}}, \qquad
    O = P V,

where :math:`M_{ij} \in \{0, 1\}` says whether query :math:`i` may look at key :math:`j` (the causal mask
:math:`j \le i`, a padding mask that hides padded keys, or both; no mask: all ones).  Row :math:`i` of
:math:`P` is a softmax over the keys that query :math:`i` may see, so it is a probability vector, and
output row :math:`O_i = \sum_j P_{ij} V_j` is a weighted average of the value rows.  The scale keeps the
scores' variance near 1 when the entries of :math:`Q, K` have unit variance (a dot product of
:math:`d_k` such terms has variance :math:`d_k`), so the softmax does not start saturated.

*Stability.* As for the softmax (:func:`tinynet.ops.softmax`), each row is shifted by its largest
*visible* score :math:`m_i = \max_{j: M_{ij}=1} S_{ij}` before :math:`\exp`: every exponent is then
:math:`\le 0` and nothing overflows, however large the scores.  Masked entries get :math:`e^{-\infty} = 0`.

*A fully masked row* (a query that may see no key: with a causal mask, a leading padded position) has
no softmax: :math:`\sum_l M_{il} e^{S_{il}} = 0`.  Here it is **defined** as :math:`P_{i\cdot} = 0`, so
:math:`O_i = 0` and no gradient flows through it (the query attends to nothing and receives nothing).
PyTorch's ``scaled_dot_product_attention`` returns NaN for such a row; Keras, which adds a large
negative number instead of masking exactly, spreads the row uniformly over all keys.  Rows with at least
one visible key agree with both.

**Backward**, step by step, with :math:`G = \partial L/\partial O` (:math:`T_q \times d_v`).

1. The values. :math:`O_{ie} = \sum_j P_{ij} V_{je}`, so :math:`\partial O_{ie}/\partial V_{je} = P_{ij}`
   and the chain rule sums over the queries :math:`i`:

   .. math:: \frac{\partial L}{\partial V_{je}} = \sum_i P_{ij} G_{ie}
       \quad\Rightarrow\quad dV = P^\top G \quad (T_k \times d_v).

2. The attention weights, likewise: :math:`\partial O_{ie}/\partial P_{ij} = V_{je}`, so

   .. math:: dP = G V^\top \quad (T_q \times T_k).

3. Through the softmax, row by row. Row :math:`i` of :math:`P` depends only on row :math:`i` of
   :math:`S`, with the softmax Jacobian :math:`\partial P_{ij}/\partial S_{il} = P_{ij}(\delta_{jl} - P_{il})`
   (derived in :func:`tinynet.ops.softmax_backward`; masked entries have :math:`P_{ij} = 0` and drop out
   of it). Hence

   .. math::
       dS_{il} = \sum_j dP_{ij}\, P_{ij}(\delta_{jl} - P_{il})
               = P_{il}\Big(dP_{il} - \sum_j dP_{ij} P_{ij}\Big)
       \quad\Rightarrow\quad
       dS = P \odot \big(dP - \operatorname{rowsum}(dP \odot P)\big),

   the row sum broadcast along the row. A masked entry has :math:`P_{il} = 0`, hence :math:`dS_{il} = 0`:
   the mask needs no backward pass of its own, and a fully masked row (:math:`P_{i\cdot} = 0`) gives a
   zero row of :math:`dS`.

4. The queries and keys. :math:`S_{ij} = c \sum_a Q_{ia} K_{ja}`, so :math:`\partial S_{ij}/\partial Q_{ia} = c K_{ja}`
   and :math:`\partial S_{ij}/\partial K_{ja} = c Q_{ia}`; summing over :math:`j`, respectively :math:`i`,

   .. math:: dQ = c\, dS\, K \quad (T_q \times d_k), \qquad dK = c\, dS^\top Q \quad (T_k \times d_k).

Each gradient has the shape of what it is the gradient of, the check that catches most mistakes.

*Dropout on the weights* (training only, as in Keras): :math:`O = \tilde P V` with
:math:`\tilde P = P \odot D`, :math:`D` a keep mask already divided by the keep probability.  Steps 1 and 2
use :math:`\tilde P`: :math:`dV = \tilde P^\top G`, :math:`d\tilde P = G V^\top`, then
:math:`dP = d\tilde P \odot D` before step 3.

**Shapes.** Every array has leading batch axes, here :math:`(N, h)` for :math:`N` samples and :math:`h`
heads; the formulas hold for each :math:`(n, h)` and are computed for all of them at once by batched
matrix products (``np.matmul`` on stacks of matrices, no Python loop): ``q`` :math:`(N, h, T_q, d_k)`,
``k`` :math:`(N, h, T_k, d_k)`, ``v`` :math:`(N, h, T_k, d_v)`, ``mask`` broadcastable to
:math:`(N, h, T_q, T_k)`, ``p`` :math:`(N, h, T_q, T_k)`, output :math:`(N, h, T_q, d_v)`.
"""

from __future__ import annotations

import numpy as np

from .dense import ones


def attention_mask(
    T: int, causal: bool = False, padding_mask: np.ndarray | None = None, T_q: int | None = None
) -> np.ndarray | None:
    r"""The boolean mask :math:`M` (True: may attend) for self-attention, or None when nothing is masked.

    Causal: :math:`M_{ij} = [j \le i]` (a position sees itself and the past).  Padding: key :math:`j` of
    sample :math:`n` is hidden when ``padding_mask[n, j] == 0``.  Both: their conjunction.

    Parameters
    ----------
    T : int
        Number of keys :math:`T_k` (and of queries, unless ``T_q`` is given).
    causal : bool
    padding_mask : ndarray of shape (N, T), optional
        1 (or True) for a real token, 0 for padding.

    Returns
    -------
    ndarray of bool, shape (1, 1, T_q, T) (causal only), (N, 1, 1, T) (padding only),
    (N, 1, T_q, T) (both), or None
    """
    T_q = T if T_q is None else T_q
    mask = None
    if causal:
        mask = (np.arange(T)[None, :] <= np.arange(T_q)[:, None])[None, None]
    if padding_mask is not None:
        keys = np.asarray(padding_mask).astype(bool)[:, None, None, :]
        mask = keys if mask is None else mask & keys
    return mask


def masked_softmax(s: np.ndarray, mask: np.ndarray | None = None, out=None) -> np.ndarray:
    r"""Softmax over the last axis of the entries that ``mask`` allows; 0 elsewhere and on fully masked rows.

    .. math:: P_{ij} = \frac{M_{ij} e^{S_{ij} - m_i}}{\sum_l M_{il} e^{S_{il} - m_i}}, \qquad
        m_i = \max_{j: M_{ij}=1} S_{ij}

    (a row with no allowed entry is all zeros; see the module docstring).  ``out`` may be ``s``.
    """
    if mask is not None:  # exp(-inf) = 0: a masked key gets no weight, without a warning
        s = np.where(mask, s, -np.inf) if out is not s else _fill(s, ~mask, -np.inf)
    m = np.maximum.reduce(s, axis=-1, keepdims=True)
    if mask is not None:
        m[~np.isfinite(m)] = 0.0  # a fully masked row: any finite shift keeps exp(-inf - m) = 0
    p = np.subtract(s, m, out=out)
    np.exp(p, out=p)
    # the row sums as a matrix-vector product: several times faster than a reduction over a short last axis
    Z = np.matmul(p, ones(p.shape[-1], p.dtype))[..., None]
    if mask is not None:
        Z[Z == 0.0] = 1.0  # 0 / 1 = 0 on a fully masked row (the largest visible term is e^0 = 1 elsewhere)
    p /= Z
    return p


def _fill(a: np.ndarray, where: np.ndarray, value: float) -> np.ndarray:
    """``a`` with ``value`` written in place where ``where`` (broadcast to ``a``) holds."""
    np.copyto(a, value, where=where)
    return a


def scaled_dot_product_attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    mask: np.ndarray | None = None,
    dropout_mask: np.ndarray | None = None,
    scale: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Attention :math:`O = \operatorname{softmax}_M(c\,Q K^\top)\, V` (module docstring).

    Parameters
    ----------
    q : ndarray, shape (..., T_q, d_k)
    k : ndarray, shape (..., T_k, d_k)
    v : ndarray, shape (..., T_k, d_v)
    mask : ndarray of bool, optional
        :math:`M`, broadcastable to (..., T_q, T_k); True where a query may attend (see :func:`attention_mask`).
    dropout_mask : ndarray, optional
        :math:`D` of shape (..., T_q, T_k): a keep mask divided by the keep probability, applied to the weights.
    scale : float, optional
        :math:`c`, by default :math:`1/\sqrt{d_k}`.

    Returns
    -------
    o : ndarray, shape (..., T_q, d_v)
    p : ndarray, shape (..., T_q, T_k)
        The attention weights :math:`P` (before dropout): rows sum to 1, or are 0 when fully masked.
    """
    c = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = np.matmul(q, np.swapaxes(k, -1, -2))
    s *= c
    p = masked_softmax(s, mask, out=s)
    o = np.matmul(p if dropout_mask is None else p * dropout_mask, v)
    return o, p


def scaled_dot_product_attention_backward(
    grad_o: np.ndarray,
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    p: np.ndarray,
    dropout_mask: np.ndarray | None = None,
    scale: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The gradients :math:`dQ, dK, dV` of attention from :math:`G = \partial L/\partial O` (module docstring).

    .. math::
        dV = \tilde P^\top G, \quad dP = (G V^\top) \odot D, \quad
        dS = P \odot \big(dP - \operatorname{rowsum}(dP \odot P)\big), \quad
        dQ = c\, dS\, K, \quad dK = c\, dS^\top Q

    (:math:`\tilde P = P \odot D`; without dropout :math:`D = 1`).

    Parameters
    ----------
    grad_o : ndarray, shape (..., T_q, d_v)
    q, k, v : ndarray
        The forward pass's inputs.
    p : ndarray, shape (..., T_q, T_k)
        The weights the forward pass returned (the mask is in them: masked entries are 0).
    dropout_mask, scale
        As in the forward pass.

    Returns
    -------
    dq, dk, dv : ndarray, shaped like ``q``, ``k``, ``v``
    """
    c = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    p_used = p if dropout_mask is None else p * dropout_mask
    dv = np.matmul(np.swapaxes(p_used, -1, -2), grad_o)  # step 1
    dp = np.matmul(grad_o, np.swapaxes(v, -1, -2))  # step 2
    if dropout_mask is not None:
        dp *= dropout_mask
    row = np.einsum("...ij,...ij->...i", dp, p)[..., None]  # step 3: rowsum(dP * P)
    ds = np.subtract(dp, row, out=dp)
    ds *= p
    ds *= c  # fold the scale in once: dQ = (c dS) K, dK = (c dS)^T Q
    dq = np.matmul(ds, k)  # step 4
    dk = np.matmul(np.swapaxes(ds, -1, -2), q)
    return dq, dk, dv
