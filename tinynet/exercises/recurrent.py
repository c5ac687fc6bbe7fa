r"""Exercises: one step of a SimpleRNN, backpropagation through time, and the backward pass of one LSTM (or GRU) step.

The notation of :mod:`tinynet.ops.recurrent` and notebook 12: inputs :math:`x_t` (N, D), the kernel
:math:`W` (D, kH), the recurrent kernel :math:`U` (H, kH) (:math:`W_{hh}` in other texts), the bias
:math:`b` (kH,), :math:`k` gate blocks (1 for the SimpleRNN, 4 for the LSTM, in Keras' order
:math:`[i, f, c, o]`, the candidate written :math:`g`).

**SimpleRNN step.** :math:`Z_t = x_t W + h_{t-1} U + b`, :math:`h_t = \tanh Z_t`. With
:math:`G = \partial L/\partial h_t`:

.. math::

    \delta Z_t = G \odot (1 - h_t^2), \quad dx_t = \delta Z_t W^\top, \quad
    dh_{t-1} = \delta Z_t U^\top, \quad dW = x_t^\top \delta Z_t, \quad
    dU = h_{t-1}^\top \delta Z_t, \quad db = \mathbf 1^\top \delta Z_t .

**Backpropagation through time.** Over a sequence (:math:`h_0 = 0`), with :math:`G_t` the upstream
gradient of each state, walking the steps backwards:

.. math::

    \delta h_t = G_t + \delta Z_{t+1} U^\top, \qquad \delta Z_t = \delta h_t \odot (1 - h_t^2),

    dW = \sum_t x_t^\top \delta Z_t, \quad dU = \sum_t h_{t-1}^\top \delta Z_t, \quad
    db = \sum_{t, n} \delta Z_{t, n}, \quad dx_t = \delta Z_t W^\top .

**LSTM step backward.** Given the forward pass's cache (the activated gates
:math:`[i, f, g, o]` and :math:`c_t = f \odot c_{t-1} + i \odot g`, :math:`h_t = o \odot \tanh c_t`) and the
gradients :math:`G_h, G_c` of :math:`h_t` and :math:`c_t`:

.. math::

    \delta c = G_c + G_h \odot o \odot (1 - \tanh^2 c_t), \qquad \delta o = G_h \odot \tanh c_t,

    \delta i = \delta c \odot g, \quad \delta f = \delta c \odot c_{t-1}, \quad \delta g = \delta c \odot i,
    \quad dc_{t-1} = \delta c \odot f,

    \delta Z = [\delta i \odot i(1-i),\ \delta f \odot f(1-f),\ \delta g \odot (1-g^2),\ \delta o \odot o(1-o)],

then :math:`dx_t, dh_{t-1}, dW, dU, db` from :math:`\delta Z` as in the SimpleRNN step.

**GRU step backward** (optional; Keras' ``reset_after=True``, see :func:`tinynet.ops.gru_backward`):
from the cache :math:`[z, r, \tilde h]` and :math:`R^{\tilde h}`, :math:`\delta a = G (1 - z)(1 - \tilde h^2)`,
:math:`\delta A = [\delta z\, z(1-z),\ \delta a R^{\tilde h} r(1-r),\ \delta a]` with
:math:`\delta z = G (h_{t-1} - \tilde h)`, :math:`\delta R = [\delta A^z, \delta A^r, r\, \delta a]`,
:math:`dh_{t-1} = G z + \delta R U^\top`, and ``db`` :math:`= [\mathbf 1^\top \delta A, \mathbf 1^\top \delta R]`.

**The references** are tinynet's sequence functions, :func:`tinynet.ops.simple_rnn_backward` and
:func:`tinynet.ops.lstm_backward` (and :func:`~tinynet.ops.gru_backward`), which start from the zero state. A single step from a given
:math:`h_{t-1}` (and :math:`c_{t-1}`) is run through them exactly by moving :math:`h_{t-1}` into the
input (:math:`[x_t, h_{t-1}]` times :math:`[W; U]` is :math:`x_t W + h_{t-1} U`), see
:func:`rnn_step_reference`, :func:`lstm_step_reference` and :func:`gru_step_reference`; ``tests/exercises`` checks both against
central differences.  Checked on :math:`N = 4` sequences, :math:`D = 3` features, :math:`H = 5`
units (:math:`T = 4` steps, then 5 and 6, for BPTT), float64.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..ops.recurrent import time_major
from ..testing import hints as _hints
from ._core import Exercise, Mistake, as_array, as_tuple

N, D, H = 4, 3, 5
#: The number of steps of the BPTT check, by seed.
STEPS = {0: 4, 1: 5, 2: 6}


# ---------------------------------------------------------------- the stubs
def rnn_step_forward(
    x: np.ndarray, h_prev: np.ndarray, W: np.ndarray, U: np.ndarray, b: np.ndarray
) -> np.ndarray:
    r"""Return :math:`h_t = \tanh(x_t W + h_{t-1} U + b)`: ``x`` (N, D), ``h_prev`` (N, H), ``W`` (D, H), ``U`` (H, H), ``b`` (H,)."""
    raise NotImplementedError


def rnn_step_backward(
    x: np.ndarray, h_prev: np.ndarray, h: np.ndarray, W: np.ndarray, U: np.ndarray, grad: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Return ``(dx, dh_prev, dW, dU, db)`` of one tanh RNN step from ``grad`` :math:`= \partial L/\partial h_t`.

    ``h`` is the step's output :math:`h_t` (N, H), the rest as in :func:`rnn_step_forward`.
    """
    raise NotImplementedError


def rnn_bptt(
    x: np.ndarray, h: np.ndarray, W: np.ndarray, U: np.ndarray, grad: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Return ``(dx, dW, dU, db)`` of a tanh RNN over a whole sequence (backpropagation through time).

    ``x`` (N, T, D) the inputs, ``h`` (N, T, H) the states :math:`h_1 .. h_T` (the initial state
    :math:`h_0` is zero), ``grad`` (N, T, H) the upstream gradient :math:`G_t` of every state;
    ``dx`` has the shape of ``x``.
    """
    raise NotImplementedError


def lstm_step_backward(
    x: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    W: np.ndarray,
    U: np.ndarray,
    gates: np.ndarray,
    c: np.ndarray,
    grad_h: np.ndarray,
    grad_c: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Return ``(dx, dh_prev, dc_prev, dW, dU, db)`` of one LSTM step.

    ``x`` (N, D), ``h_prev`` and ``c_prev`` (N, H), ``W`` (D, 4H), ``U`` (H, 4H), ``gates`` (N, 4H) the
    activated gates :math:`[i, f, g, o]` in Keras' order, ``c`` (N, H) the new cell state :math:`c_t`,
    ``grad_h`` and ``grad_c`` (N, H) the gradients of :math:`h_t` and :math:`c_t`.
    """
    raise NotImplementedError


def gru_step_backward(
    x: np.ndarray,
    h_prev: np.ndarray,
    W: np.ndarray,
    U: np.ndarray,
    gates: np.ndarray,
    rec_h: np.ndarray,
    grad: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Return ``(dx, dh_prev, dW, dU, db)`` of one GRU step (Keras' ``reset_after=True``, tinynet's GRU).

    ``x`` (N, D), ``h_prev`` (N, H), ``W`` (D, 3H), ``U`` (H, 3H), ``gates`` (N, 3H) the activated
    :math:`[z, r, \tilde h]`, ``rec_h`` (N, H) the candidate's recurrent product
    :math:`R^{\tilde h} = h_{t-1} U^{\tilde h} + b_h^{\tilde h}`, ``grad`` (N, H) :math:`= \partial L/\partial h_t`;
    ``db`` has the shape (2, 3H) of the two biases, the input's :math:`b_x` and the recurrent :math:`b_h`.
    """
    raise NotImplementedError


# ---------------------------------------------------------------- references (tinynet.ops)
def rnn_step_reference(x, h_prev, W, U, b=None, h=None, grad=None) -> dict[str, np.ndarray]:
    r"""One SimpleRNN step by :func:`tinynet.ops.simple_rnn_forward` and :func:`~tinynet.ops.simple_rnn_backward`.

    The ops start from the zero state :math:`h_0 = 0`.  A one-step sequence with the input
    :math:`[x_t, h_{t-1}]` and the kernel :math:`[W; U]` computes :math:`x_t W + h_{t-1} U + b` (its
    own recurrent term :math:`h_0 U` is zero); its input gradient, split in two, is
    :math:`(dx_t, dh_{t-1})`, and its kernel gradient :math:`(dW, dU)`.  Returns ``h`` (from ``b``)
    or, with ``h`` and ``grad``, the gradients.
    """
    xa = np.concatenate([x, h_prev], axis=1)[None]
    Wa = np.concatenate([W, U], axis=0)
    if grad is None:
        return {"h": ops.simple_rnn_forward(xa, Wa, U, b)[1].copy()}
    hs = np.stack([np.zeros_like(h), h])
    dxa, dWa, _, db = ops.simple_rnn_backward(xa, hs, Wa, U, None, grad)
    d = x.shape[1]
    return {"dx": dxa[0, :, :d], "dh_prev": dxa[0, :, d:], "dW": dWa[:d], "dU": dWa[d:], "db": db}


def lstm_step_reference(x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c) -> dict[str, np.ndarray]:
    r"""The gradients of one LSTM step by :func:`tinynet.ops.lstm_backward`.

    The op runs backpropagation through time from the zero state.  Here it runs over two steps:
    step 1 is the given step, with the input :math:`[x_t, h_{t-1}]` and the kernel :math:`[W; U]`
    (so :math:`Z_1 = x_t W + h_{t-1} U + b`), the op's own recurrent kernel zero, and the cell states
    :math:`(c_{t-1}, c_t)`; step 0 only reads out the gradient :math:`\delta c_1 = dc_{t-1}` that
    step 1 passes back.  Its input is an indicator (one column per sample, kernel rows zero) and its
    cached gates are :math:`i = 1, f = g = o = 0`, so that (with :math:`\delta h_1 = 0`, the recurrent
    kernel being zero) its pre-activation gradient is :math:`\delta Z_0 = [0,\ 0,\ dc_{t-1},\ 0]`,
    and the indicator's kernel rows receive it.  Then :math:`dx_t` and :math:`dh_{t-1}` are the two
    parts of step 1's input gradient, :math:`dW` and :math:`dU` the matching kernel rows (step 0's
    input is zero there), and :math:`db` the op's minus :math:`\delta Z_0`.
    """
    n, d = x.shape
    hh = U.shape[0]
    xt = np.zeros((2, n, d + hh + n))
    xt[0, :, d + hh :] = np.eye(n)
    xt[1, :, :d], xt[1, :, d : d + hh] = x, h_prev
    Wa = np.concatenate([W, U, np.zeros((n, 4 * hh))], axis=0)
    Ua = np.zeros_like(U)
    zero = np.zeros_like(c)
    hs = np.stack([zero, zero, zero])  # h_0, h_1 only meet the zero recurrent kernel; h_2 is not read
    cs = np.stack([zero, c_prev, c])
    gates0 = np.concatenate([np.ones_like(c), zero, zero, zero], axis=1)
    phi_c = np.stack([zero, np.tanh(c)])
    dxt, dWa, _, dba = ops.lstm_backward(
        xt, hs, cs, np.stack([gates0, gates]), phi_c, Wa, Ua, None, grad_h, grad_c
    )
    dZ0 = dWa[d + hh :]
    return {
        "dx": dxt[1, :, :d].copy(),
        "dh_prev": dxt[1, :, d : d + hh].copy(),
        "dc_prev": dZ0[:, 2 * hh : 3 * hh].copy(),
        "dW": dWa[:d].copy(),
        "dU": dWa[d : d + hh].copy(),
        "db": dba - dZ0.sum(axis=0),
    }


def gru_step_reference(x, h_prev, W, U, gates, rec_h, grad) -> dict[str, np.ndarray]:
    r"""The gradients of one GRU step by :func:`tinynet.ops.gru_backward`.

    As in :func:`lstm_step_reference`, the op runs over two steps: step 1 is the given step (input
    :math:`x_t`, states :math:`h_{t-1} \to h_t`, the given cache); step 0 reads out the gradient
    :math:`\delta h_1 = dh_{t-1}` that step 1 passes back.  Its cached gates are
    :math:`z = r = \tilde h = 0` and :math:`R^{\tilde h} = 0`, so its update and reset gradients vanish
    and the candidate's is :math:`\delta a^{\tilde h}_0 = dh_{t-1} (1 - z_0)(1 - \tilde h_0^2) = dh_{t-1}`;
    its input is an indicator (one column per sample, kernel rows zero), whose kernel rows receive
    :math:`\delta A_0`.  Then :math:`dx_t` is step 1's input gradient, :math:`dW` the kernel rows of
    :math:`x_t` (step 0's input is zero there), :math:`dU` the op's (:math:`h_0 = 0`), and
    :math:`db` the op's minus :math:`\delta A_0` in the input bias (:math:`\delta R_0 = 0`).
    """
    n, d = x.shape
    hh = U.shape[0]
    xt = np.zeros((2, n, d + n))
    xt[0, :, d:] = np.eye(n)
    xt[1, :, :d] = x
    Wa = np.concatenate([W, np.zeros((n, 3 * hh))], axis=0)
    zero = np.zeros_like(h_prev)
    hs = np.stack([zero, h_prev, zero])  # h_2 is not read by the backward pass
    cache = np.stack([np.zeros_like(gates), gates])
    dxt, dWa, dU, db = ops.gru_backward(xt, hs, cache, np.stack([zero, rec_h]), Wa, U, None, grad)
    dA0 = dWa[d:]
    db = db.copy()
    db[0] -= dA0.sum(axis=0)
    return {
        "dx": dxt[1, :, :d].copy(),
        "dh_prev": dA0[:, 2 * hh :].copy(),
        "dW": dWa[:d].copy(),
        "dU": dU,
        "db": db,
    }


# ---------------------------------------------------------------- inputs
def _weights(rng: np.random.Generator, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return rng.normal(0, 0.6, (D, k * H)), rng.normal(0, 0.6, (H, k * H)), rng.normal(0, 0.3, k * H)


def _step_inputs(rng: np.random.Generator, seed: int) -> dict:
    W, U, b = _weights(rng, 1)
    return {
        "x": rng.standard_normal((N, D)),
        "h_prev": rng.uniform(-0.9, 0.9, (N, H)),
        "W": W,
        "U": U,
        "b": b,
    }


def _step_backward_inputs(rng: np.random.Generator, seed: int) -> dict:
    i = _step_inputs(rng, seed)
    h = rnn_step_reference(**i)["h"]
    return {
        "x": i["x"],
        "h_prev": i["h_prev"],
        "h": h,
        "W": i["W"],
        "U": i["U"],
        "grad": rng.standard_normal((N, H)),
    }


def _bptt_inputs(rng: np.random.Generator, seed: int) -> dict:
    T = STEPS[seed % len(STEPS)]
    W, U, b = _weights(rng, 1)
    x = rng.standard_normal((N, T, D))
    hs = ops.simple_rnn_forward(time_major(x), W, U, b)
    return {
        "x": x,
        "h": hs[1:].transpose(1, 0, 2).copy(),
        "W": W,
        "U": U,
        "grad": rng.standard_normal((N, T, H)),
    }


def _lstm_inputs(rng: np.random.Generator, seed: int) -> dict:
    """Step 1 of a two-step sequence run by :func:`tinynet.ops.lstm_forward`: a nonzero :math:`c_{t-1}`."""
    W, U, b = _weights(rng, 4)
    x = rng.standard_normal((2, N, D))
    hs, cs, gates, _ = ops.lstm_forward(x, W, U, b)
    return {
        "x": x[1].copy(),
        "h_prev": hs[1].copy(),
        "c_prev": cs[1].copy(),
        "W": W,
        "U": U,
        "gates": gates[1].copy(),
        "c": cs[2].copy(),
        "grad_h": rng.standard_normal((N, H)),
        "grad_c": rng.standard_normal((N, H)),
    }


def _gru_inputs(rng: np.random.Generator, seed: int) -> dict:
    """Step 1 of a two-step sequence run by :func:`tinynet.ops.gru_forward`."""
    W, U = rng.normal(0, 0.6, (D, 3 * H)), rng.normal(0, 0.6, (H, 3 * H))
    b = rng.normal(0, 0.3, (2, 3 * H))
    x = rng.standard_normal((2, N, D))
    hs, gates, rec_h = ops.gru_forward(x, W, U, b)
    return {
        "x": x[1].copy(),
        "h_prev": hs[1].copy(),
        "W": W,
        "U": U,
        "gates": gates[1].copy(),
        "rec_h": rec_h[1].copy(),
        "grad": rng.standard_normal((N, H)),
    }


def _step_backward_reference(x, h_prev, h, W, U, grad):
    return rnn_step_reference(x, h_prev, W, U, h=h, grad=grad)


def _bptt_reference(x, h, W, U, grad):
    hs = np.concatenate([np.zeros((1, len(x), U.shape[0])), h.transpose(1, 0, 2)])
    dxt, dW, dU, db = ops.simple_rnn_backward(time_major(x), hs, W, U, time_major(grad), None)
    return {"dx": dxt.transpose(1, 0, 2).copy(), "dW": dW, "dU": dU, "db": db}


# ---------------------------------------------------------------- mistaken patterns
def _rnn_step_mistake(i: dict, derivative: str = "1 - h^2", recurrent: str = "U.T") -> dict[str, np.ndarray]:
    """The step's gradients with the tanh derivative ``derivative`` and ``dh_prev = dZ @ recurrent``."""
    h, G = i["h"], i["grad"]
    dZ = G * (1 - h * h) if derivative == "1 - h^2" else G
    return {
        "dx": dZ @ i["W"].T,
        "dh_prev": dZ @ (i["U"].T if recurrent == "U.T" else i["U"]),
        "dW": i["x"].T @ dZ,
        "dU": i["h_prev"].T @ dZ,
        "db": dZ.sum(axis=0),
    }


def _bptt_mistake(
    i: dict, derivative: bool = True, carry: bool = True, recurrent: str = "U.T", steps: slice = slice(None)
) -> dict[str, np.ndarray]:
    """BPTT with one step of the derivation changed.

    ``derivative=False``: no tanh derivative; ``carry=False``: no gradient from step t + 1 to step t
    (truncated to one step); ``recurrent="U"``: dh_{t-1} = dZ_t U; ``steps``: the steps whose
    contributions make up dW, dU and db (one step only: the sum over time forgotten).
    """
    x, h, W, U, G = i["x"], i["h"], i["W"], i["U"], i["grad"]
    T = x.shape[1]
    h_prev = np.concatenate([np.zeros_like(h[:, :1]), h[:, :-1]], axis=1)
    dZ = np.zeros_like(h)
    back = np.zeros_like(h[:, 0])
    for t in range(T - 1, -1, -1):
        dh = G[:, t] + (back if carry else 0.0)
        dZ[:, t] = dh * (1 - h[:, t] ** 2) if derivative else dh
        back = dZ[:, t] @ (U.T if recurrent == "U.T" else U)
    part = dZ[:, steps]
    return {
        "dx": dZ @ W.T,
        "dW": np.einsum("ntd,nth->dh", x[:, steps], part),
        "dU": np.einsum("ntk,nth->kh", h_prev[:, steps], part),
        "db": part.sum(axis=(0, 1)),
    }


#: The LSTM's gates in Keras' order, [i, f, g, o], as the block each is read from.
KERAS_ORDER = (0, 1, 2, 3)
#: The order of cs231n and of several tutorials, [i, f, o, g]: the candidate and the output gate swapped.
IFOG_ORDER = (0, 1, 3, 2)


def _lstm_mistake(
    i: dict,
    order: tuple[int, int, int, int] = KERAS_ORDER,
    forget_path: bool = True,
    cell_from_h: str = "o (1 - tanh² c)",
    gate_derivatives: bool = True,
    forget_with: str = "c_prev",
) -> dict[str, np.ndarray]:
    """One LSTM step's gradients with one step of the derivation changed (the keyword arguments' defaults are right)."""
    hh = i["U"].shape[0]
    block = [slice(k * hh, (k + 1) * hh) for k in range(4)]
    G = i["gates"]
    gi, gf, gg, go = (G[:, block[k]] for k in order)
    tc = np.tanh(i["c"])
    dh, dc = i["grad_h"], i["grad_c"]
    if cell_from_h == "o (1 - tanh² c)":
        dc = dc + dh * go * (1 - tc * tc)
    elif cell_from_h == "o":
        dc = dc + dh * go
    d_i, d_f, d_g, d_o = dc * gg, dc * (i["c_prev"] if forget_with == "c_prev" else i["c"]), dc * gi, dh * tc
    if gate_derivatives:
        d_i, d_f, d_g, d_o = (
            d_i * gi * (1 - gi),
            d_f * gf * (1 - gf),
            d_g * (1 - gg * gg),
            d_o * go * (1 - go),
        )
    dZ = np.empty_like(G)
    for k, value in zip(order, (d_i, d_f, d_g, d_o), strict=True):
        dZ[:, block[k]] = value
    return {
        "dx": dZ @ i["W"].T,
        "dh_prev": dZ @ i["U"].T,
        "dc_prev": dc * gf if forget_path else dc,
        "dW": i["x"].T @ dZ,
        "dU": i["h_prev"].T @ dZ,
        "db": dZ.sum(axis=0),
    }


def _gru_mistake(
    i: dict,
    update: str = "z h_prev + (1 - z) hh",
    direct: bool = True,
    candidate_derivative: bool = True,
    reset_in_dR: bool = True,
    reset_with: str = "rec_h",
) -> dict[str, np.ndarray]:
    """One GRU step's gradients with one step of the derivation changed (the defaults are right)."""
    hh_ = i["U"].shape[0]
    z, r, hh = i["gates"][:, :hh_], i["gates"][:, hh_ : 2 * hh_], i["gates"][:, 2 * hh_ :]
    dh, h_prev = i["grad"], i["h_prev"]
    if update == "z h_prev + (1 - z) hh":
        dz, dhh, through = dh * (h_prev - hh), dh * (1 - z), dh * z
    else:  # h = (1 - z) h_prev + z hh
        dz, dhh, through = dh * (hh - h_prev), dh * z, dh * (1 - z)
    da = dhh * (1 - hh * hh) if candidate_derivative else dhh
    dr = da * (i["rec_h"] if reset_with == "rec_h" else h_prev)
    dA = np.concatenate([dz * z * (1 - z), dr * r * (1 - r), da], axis=1)
    dR = np.concatenate([dA[:, : 2 * hh_], da * r if reset_in_dR else da], axis=1)
    return {
        "dx": dA @ i["W"].T,
        "dh_prev": (through if direct else 0.0) + dR @ i["U"].T,
        "dW": i["x"].T @ dA,
        "dU": h_prev.T @ dR,
        "db": np.stack([dA.sum(axis=0), dR.sum(axis=0)]),
    }


def _each(keys, kind: str, message: str, pattern) -> tuple[Mistake, ...]:
    """The same mistake, recognised in each of ``keys`` (``pattern(inputs)`` returns every array)."""
    return tuple(Mistake(key, kind, message, lambda i, key=key: pattern(i)[key]) for key in keys)


STEP_KEYS = ("dx", "dh_prev", "dW", "dU", "db")
BPTT_KEYS = ("dx", "dW", "dU", "db")
LSTM_KEYS = ("dx", "dh_prev", "dc_prev", "dW", "dU", "db")
GRU_KEYS = ("dx", "dh_prev", "dW", "dU", "db")

_TANH_DERIVATIVE = (
    "the gradient skips the tanh: multiply the upstream gradient by its derivative from the output, "
    "δZ = G ⊙ (1 − h²), before any matrix product"
)
_TRANSPOSED_DU = (
    "dU is transposed: the recurrent kernel maps h_{t-1} (rows) to Z_t (columns), so its gradient is "
    "h_{t-1}ᵀ δZ (H rows, one per unit of the previous state), not δZᵀ h_{t-1}"
)
_RECURRENT_NOT_TRANSPOSED = (
    "the gradient reaches h_{t-1} through U instead of Uᵀ: Z_t = … + h_{t-1} U, so dh_{t-1} = δZ_t Uᵀ "
    "(as dX = G_Z Wᵀ in Dense); with a square U the shapes cannot tell"
)
_TRUNCATED = (
    "the gradient stops at each step: h_t also feeds Z_{t+1}, so it receives δZ_{t+1} Uᵀ from the next step "
    "as well, δh_t = G_t + δZ_{t+1} Uᵀ (walk the steps backwards and carry it); without it this is "
    "backpropagation truncated to one step"
)
_NOT_SUMMED = (
    "holds one step's contribution: W, U and b are shared by every step, so their gradients are sums over "
    "the steps, dW = Σ_t x_tᵀ δZ_t, dU = Σ_t h_{t-1}ᵀ δZ_t, db = Σ_t Σ_n δZ_t (+= in the loop, from zeros, "
    "not =, which keeps the last step written: walking backwards, step 1, whose dU = h_0ᵀ δZ_1 is zero)"
)
_FORGET_PATH = (
    "dc_prev lacks the forget gate: c_t = f ⊙ c_{t-1} + i ⊙ g, so dc_{t-1} = δc ⊙ f (the cell-state path, "
    "multiplied by f only)"
)
_CELL_FROM_H = (
    "δc misses the path through h_t = o ⊙ tanh(c_t): add G_h ⊙ o ⊙ (1 − tanh² c_t) to the upstream G_c "
    "before using δc"
)
_CELL_TANH = "δc = G_c + G_h ⊙ o misses tanh's derivative: h_t = o ⊙ tanh(c_t), so δc = G_c + G_h ⊙ o ⊙ (1 − tanh² c_t)"
_GATE_ORDER = (
    "the gates are read as [i, f, o, g] (cs231n's order): Keras and tinynet stack them as [i, f, c, o], "
    "the candidate g third and the output gate o last, in the gates and in δZ alike"
)
_GATE_DERIVATIVES = (
    "the gate gradients skip the activations: δZ = [δi ⊙ i(1 − i), δf ⊙ f(1 − f), δg ⊙ (1 − g²), δo ⊙ o(1 − o)] "
    "(the derivatives from the activated gates)"
)
_FORGET_WITH_C = "δf uses c_t: c_t = f ⊙ c_{t-1} + i ⊙ g, so δf = δc ⊙ c_{t-1}, the previous cell state"

_GRU_DIRECT = (
    "dh_prev lacks the direct path: h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃ uses h_{t-1} itself, "
    "so dh_{t-1} = G ⊙ z + δR Uᵀ (the GRU's shortcut through time, like the LSTM's cell path)"
)
_GRU_UPDATE = (
    "the update gate is used the other way round, h = (1 − z) h_{t-1} + z h̃ (the convention of some texts): "
    "Keras, PyTorch and tinynet keep the old state with z, h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃"
)
_GRU_CANDIDATE = "the candidate's gradient skips its tanh: δa = G ⊙ (1 − z) ⊙ (1 − h̃²)"
_GRU_RESET_DR = (
    "the recurrent product's candidate block lacks the reset gate: h̃ = tanh(A + r ⊙ R), so "
    "δR^h̃ = r ⊙ δa (δA^h̃ = δa has no r)"
)
_GRU_RESET_WITH = (
    "δr uses h_{t-1}: the reset gate multiplies R^h̃ = h_{t-1} U^h̃ + b_h^h̃ (reset after the product, "
    "Keras' reset_after=True), so δr = δa ⊙ R^h̃, the given rec_h"
)

EXERCISES = (
    Exercise(
        name="rnn_step_forward",
        topic="recurrent",
        signature="rnn_step_forward(x, h_prev, W, U, b) -> h",
        make_inputs=_step_inputs,
        reference=lambda x, h_prev, W, U, b: rnn_step_reference(x, h_prev, W, U, b),
        adapt=as_array("h"),
        context=lambda inputs, expected: {"batch_size": N},
        mistakes=(
            Mistake(
                "h",
                "tanh forgotten",
                "h is the pre-activation Z: apply the activation, h = tanh(x W + h_prev U + b)",
                lambda i: i["x"] @ i["W"] + i["h_prev"] @ i["U"] + i["b"],
            ),
            Mistake(
                "h",
                "previous state ignored",
                "h does not depend on h_prev: the recurrence is the term h_prev @ U inside the tanh",
                lambda i: np.tanh(i["x"] @ i["W"] + i["b"]),
            ),
            Mistake(
                "h",
                _hints.OFFSET,
                "h lacks the bias: add b inside the tanh, h = tanh(x W + h_prev U + b)",
                lambda i: np.tanh(i["x"] @ i["W"] + i["h_prev"] @ i["U"]),
            ),
            Mistake(
                "h",
                "recurrent kernel transposed",
                "h_prev is multiplied by Uᵀ: U has one row per unit of the previous state, h_prev @ U",
                lambda i: np.tanh(i["x"] @ i["W"] + i["h_prev"] @ i["U"].T + i["b"]),
            ),
        ),
    ),
    Exercise(
        name="rnn_step_backward",
        topic="recurrent",
        signature="rnn_step_backward(x, h_prev, h, W, U, grad) -> (dx, dh_prev, dW, dU, db)",
        make_inputs=_step_backward_inputs,
        reference=_step_backward_reference,
        adapt=as_tuple(*STEP_KEYS),
        context=lambda inputs, expected: {"batch_size": N},
        mistakes=(
            *_each(
                STEP_KEYS, "tanh derivative missing", _TANH_DERIVATIVE, lambda i: _rnn_step_mistake(i, "none")
            ),
            Mistake("dU", _hints.TRANSPOSED, _TRANSPOSED_DU, lambda i: _rnn_step_mistake(i)["dU"].T),
            Mistake(
                "dh_prev",
                "recurrent kernel not transposed",
                _RECURRENT_NOT_TRANSPOSED,
                lambda i: _rnn_step_mistake(i, recurrent="U")["dh_prev"],
            ),
        ),
    ),
    Exercise(
        name="rnn_bptt",
        topic="recurrent",
        signature="rnn_bptt(x, h, W, U, grad) -> (dx, dW, dU, db)",
        make_inputs=_bptt_inputs,
        reference=_bptt_reference,
        adapt=as_tuple(*BPTT_KEYS),
        context=lambda inputs, expected: {"batch_size": N},
        mistakes=(
            *_each(BPTT_KEYS, "BPTT truncated", _TRUNCATED, lambda i: _bptt_mistake(i, carry=False)),
            *_each(
                ("dW", "dU", "db"),
                "not summed over time",
                _NOT_SUMMED,
                lambda i: _bptt_mistake(i, steps=slice(-1, None)),
            ),
            *_each(
                ("dW", "dU", "db"),
                "not summed over time",
                _NOT_SUMMED,
                lambda i: _bptt_mistake(i, steps=slice(0, 1)),
            ),
            *_each(
                BPTT_KEYS,
                "tanh derivative missing",
                _TANH_DERIVATIVE,
                lambda i: _bptt_mistake(i, derivative=False),
            ),
            Mistake("dU", _hints.TRANSPOSED, _TRANSPOSED_DU, lambda i: _bptt_mistake(i)["dU"].T),
            *_each(
                BPTT_KEYS,
                "recurrent kernel not transposed",
                _RECURRENT_NOT_TRANSPOSED,
                lambda i: _bptt_mistake(i, recurrent="U"),
            ),
        ),
    ),
    Exercise(
        name="lstm_step_backward",
        topic="recurrent",
        signature="lstm_step_backward(x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c) -> (dx, dh_prev, dc_prev, dW, dU, db)",
        make_inputs=_lstm_inputs,
        reference=lstm_step_reference,
        adapt=as_tuple(*LSTM_KEYS),
        context=lambda inputs, expected: {"batch_size": N},
        mistakes=(
            Mistake(
                "dc_prev",
                "forget-gate path missing",
                _FORGET_PATH,
                lambda i: _lstm_mistake(i, forget_path=False)["dc_prev"],
            ),
            *_each(
                LSTM_KEYS,
                "cell gradient from h missing",
                _CELL_FROM_H,
                lambda i: _lstm_mistake(i, cell_from_h="none"),
            ),
            *_each(
                LSTM_KEYS, "tanh derivative missing", _CELL_TANH, lambda i: _lstm_mistake(i, cell_from_h="o")
            ),
            *_each(LSTM_KEYS, "wrong gate order", _GATE_ORDER, lambda i: _lstm_mistake(i, order=IFOG_ORDER)),
            *_each(
                LSTM_KEYS,
                "gate derivatives missing",
                _GATE_DERIVATIVES,
                lambda i: _lstm_mistake(i, gate_derivatives=False),
            ),
            *_each(
                LSTM_KEYS, "forget gate with c_t", _FORGET_WITH_C, lambda i: _lstm_mistake(i, forget_with="c")
            ),
        ),
    ),
    Exercise(
        name="gru_step_backward",
        topic="recurrent",
        signature="gru_step_backward(x, h_prev, W, U, gates, rec_h, grad) -> (dx, dh_prev, dW, dU, db (2, 3H))",
        make_inputs=_gru_inputs,
        reference=gru_step_reference,
        adapt=as_tuple(*GRU_KEYS),
        context=lambda inputs, expected: {"batch_size": N},
        mistakes=(
            Mistake(
                "dh_prev",
                "direct path missing",
                _GRU_DIRECT,
                lambda i: _gru_mistake(i, direct=False)["dh_prev"],
            ),
            *_each(
                GRU_KEYS, "update gate reversed", _GRU_UPDATE, lambda i: _gru_mistake(i, update="reversed")
            ),
            *_each(
                GRU_KEYS,
                "tanh derivative missing",
                _GRU_CANDIDATE,
                lambda i: _gru_mistake(i, candidate_derivative=False),
            ),
            *_each(
                ("dh_prev", "dU", "db"),
                "reset gate missing in dR",
                _GRU_RESET_DR,
                lambda i: _gru_mistake(i, reset_in_dR=False),
            ),
            *_each(
                GRU_KEYS,
                "reset gate with h_prev",
                _GRU_RESET_WITH,
                lambda i: _gru_mistake(i, reset_with="h_prev"),
            ),
        ),
    ),
)
