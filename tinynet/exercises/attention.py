r"""Exercises: scaled dot-product attention, forward and backward, with an optional causal mask (see :mod:`tinynet.ops.attention`).

For each of :math:`N` sequences, queries :math:`Q` (T, d_k), keys :math:`K` (T, d_k), values
:math:`V` (T, d_v), :math:`c = 1/\sqrt{d_k}`, and with ``causal=True`` the mask
:math:`M_{ij} = [j \le i]` (query :math:`i` sees the keys up to itself):

.. math::

    S = c\, Q K^\top, \qquad P = \operatorname{softmax}_M(S) \text{ over the keys (each row)}, \qquad O = P V .

Backward, from :math:`G = \partial L/\partial O`:

.. math::

    dV = P^\top G, \quad dP = G V^\top, \quad dS = P \odot \big(dP - \operatorname{rowsum}(dP \odot P)\big),
    \quad dQ = c\, dS\, K, \quad dK = c\, dS^\top Q .

A masked entry has :math:`P_{ij} = 0`, hence :math:`dS_{ij} = 0`: no gradient reaches the scores of
the keys a query may not see.  The reference is :func:`tinynet.ops.scaled_dot_product_attention` and
its backward pass.  Checked on :math:`N = 2` sequences, :math:`d_k = 3`, :math:`d_v = 2`; seed 0
without a mask (:math:`T = 4`), seeds 1 and 2 causal (:math:`T = 4`, 5); arrays have the batch axis
first, (N, T, d).
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..testing import hints as _hints
from ._core import Exercise, Mistake, as_array, as_tuple

N, D_K, D_V = 2, 3, 2
#: (T, causal) by seed.
CASES = {0: (4, False), 1: (4, True), 2: (5, True)}


def attention_forward(q: np.ndarray, k: np.ndarray, v: np.ndarray, causal: bool) -> np.ndarray:
    r"""Return :math:`O = \operatorname{softmax}_M(Q K^\top/\sqrt{d_k})\, V`, shape (N, T, d_v).

    ``q``, ``k`` (N, T, d_k), ``v`` (N, T, d_v); ``causal``: query :math:`i` attends to keys :math:`j \le i` only.
    """
    raise NotImplementedError


def attention_backward(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, causal: bool, grad: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Return ``(dq, dk, dv)`` from ``grad`` :math:`= \partial L/\partial O` (N, T, d_v), shaped like ``q``, ``k``, ``v``."""
    raise NotImplementedError


# ---------------------------------------------------------------- references (tinynet.ops)
def _mask(T: int, causal: bool) -> np.ndarray | None:
    return ops.attention_mask(T, causal=True)[0, 0] if causal else None


def _forward(q, k, v, causal, scale=None, masked=True):
    mask = _mask(q.shape[-2], causal) if masked else None
    return ops.scaled_dot_product_attention(q, k, v, mask, scale=scale)


def _backward(q, k, v, causal, grad, scale=None, masked=True):
    _, p = _forward(q, k, v, causal, masked=masked)
    dq, dk, dv = ops.scaled_dot_product_attention_backward(grad, q, k, v, p, scale=scale)
    return {"dq": dq, "dk": dk, "dv": dv}


def _inputs(rng: np.random.Generator, seed: int) -> dict:
    T, causal = CASES[seed % len(CASES)]
    return {
        "q": rng.standard_normal((N, T, D_K)) * 1.5,  # scores of a few units: a softmax far from uniform
        "k": rng.standard_normal((N, T, D_K)) * 1.5,
        "v": rng.standard_normal((N, T, D_V)),
        "causal": causal,
    }


def _backward_inputs(rng: np.random.Generator, seed: int) -> dict:
    i = _inputs(rng, seed)
    return {**i, "grad": rng.standard_normal((N, i["q"].shape[1], D_V))}


# ---------------------------------------------------------------- mistaken patterns
def _after_softmax(i: dict) -> np.ndarray:
    """The mask applied to the weights after an unmasked softmax: rows no longer sum to 1."""
    _, p = _forward(i["q"], i["k"], i["v"], False)
    mask = _mask(i["q"].shape[1], i["causal"])
    return (p if mask is None else p * mask) @ i["v"]


def _over_queries(i: dict) -> np.ndarray:
    """The softmax taken over the queries (axis -2) instead of the keys."""
    s = i["q"] @ np.swapaxes(i["k"], -1, -2) / np.sqrt(D_K)
    mask = _mask(i["q"].shape[1], i["causal"])
    p = np.swapaxes(ops.masked_softmax(np.swapaxes(s, -1, -2), None if mask is None else mask.T), -1, -2)
    return p @ i["v"]


def _diagonal(i: dict) -> dict[str, np.ndarray]:
    """The backward pass with the softmax Jacobian reduced to its diagonal: dS = dP ⊙ P(1 - P)."""
    _, p = _forward(i["q"], i["k"], i["v"], i["causal"])
    c = 1 / np.sqrt(D_K)
    ds = (i["grad"] @ np.swapaxes(i["v"], -1, -2)) * p * (1 - p)
    return {"dq": c * ds @ i["k"], "dk": c * np.swapaxes(ds, -1, -2) @ i["q"]}


def _dv_untransposed(i: dict) -> np.ndarray:
    _, p = _forward(i["q"], i["k"], i["v"], i["causal"])
    return p @ i["grad"]


def _dk_untransposed(i: dict) -> np.ndarray:
    """dK = c dS Q: the transposition of dS forgotten (the shapes agree in self-attention)."""
    _, p = _forward(i["q"], i["k"], i["v"], i["causal"])
    dp = i["grad"] @ np.swapaxes(i["v"], -1, -2)
    ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))
    return ds @ i["q"] / np.sqrt(D_K)


def _each(keys, kind, message, pattern):
    return tuple(Mistake(key, kind, message, lambda i, key=key: pattern(i)[key]) for key in keys)


_SCALE = (
    "the scores are not scaled: S = Q Kᵀ / √d_k (d_k the key size), which keeps the softmax out of saturation"
)
_SCALE_D = "the scores are divided by d_k: the scale is 1/√d_k"
_MASK_FORWARD = (
    "the causal mask is not applied: query i may attend to keys j ≤ i only; set the other scores to −∞ "
    "(or leave them out of the softmax's sums) before the softmax"
)
_MASK_AFTER = (
    "the mask is applied after the softmax: zeroing the weights of the hidden keys leaves rows that no longer "
    "sum to 1; mask the scores (−∞) before the softmax, which then renormalises over the visible keys"
)
_OVER_QUERIES = (
    "the softmax is taken over the queries: each ROW of S (one query, all its keys) is a softmax, axis=-1"
)
_SCALE_BACKWARD = (
    "dq and dk lack the scale: S = c Q Kᵀ with c = 1/√d_k, so dQ = c dS K and dK = c dSᵀ Q "
    "(the backward pass multiplies by the same c)"
)
_MASK_BACKWARD = (
    "the gradient leaks into the masked positions: the backward pass uses weights P computed without the "
    "causal mask; use the forward pass's masked P, whose zeros give dS = 0 where a query may not look"
)
_DV = "dV = P G: the weights are not transposed; O = P V, so dV = Pᵀ G (a sum over the queries that read each value)"
_DK = "dK = c dS Q: dS is not transposed; S = c Q Kᵀ, so dK = c dSᵀ Q (a sum over the queries)"


EXERCISES = (
    Exercise(
        name="attention_forward",
        topic="attention",
        signature="attention_forward(q, k, v, causal) -> o (N, T, d_v)",
        make_inputs=_inputs,
        reference=lambda q, k, v, causal: {"o": _forward(q, k, v, causal)[0]},
        adapt=as_array("o"),
        mistakes=(
            Mistake("o", "scale missing", _SCALE, lambda i: _forward(**i, scale=1.0)[0]),
            Mistake("o", "scale 1/d_k", _SCALE_D, lambda i: _forward(**i, scale=1.0 / D_K)[0]),
            Mistake("o", "mask ignored", _MASK_FORWARD, lambda i: _forward(**i, masked=False)[0]),
            Mistake("o", "mask after the softmax", _MASK_AFTER, _after_softmax),
            Mistake("o", "softmax over the queries", _OVER_QUERIES, _over_queries),
        ),
    ),
    Exercise(
        name="attention_backward",
        topic="attention",
        signature="attention_backward(q, k, v, causal, grad) -> (dq, dk, dv)",
        make_inputs=_backward_inputs,
        reference=_backward,
        adapt=as_tuple("dq", "dk", "dv"),
        mistakes=(
            *_each(
                ("dq", "dk"),
                "scale missing in backward",
                _SCALE_BACKWARD,
                lambda i: _backward(**i, scale=1.0),
            ),
            *_each(
                ("dq", "dk"),
                _hints.JACOBIAN_DIAGONAL,
                "dS = dP ⊙ P(1 − P): only the diagonal of each row's softmax Jacobian is used; every weight of a "
                "row depends on every score of the row, ∂P_ij/∂S_il = P_ij(δ_jl − P_il), so "
                "dS = P ⊙ (dP − rowsum(dP ⊙ P))",
                _diagonal,
            ),
            *_each(
                ("dq", "dk", "dv"),
                "mask ignored in backward",
                _MASK_BACKWARD,
                lambda i: _backward(**i, masked=False),
            ),
            Mistake("dv", "weights not transposed", _DV, _dv_untransposed),
            Mistake("dk", "dS not transposed", _DK, _dk_untransposed),
        ),
    ),
)
