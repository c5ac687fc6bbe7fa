r"""Recurrent layers (SimpleRNN, LSTM, GRU) and backpropagation through time, derived step by step.

**Notation.** A batch of :math:`N` sequences of :math:`T` steps with :math:`D` features,
:math:`x_t \in \mathbb R^{N \times D}`; :math:`H` units; the kernel :math:`W` (D, kH), the
recurrent kernel :math:`U` (H, kH) and the bias :math:`b` (kH,), where :math:`k` is the number of
gate blocks (1 for SimpleRNN, 4 for LSTM, 3 for GRU), stacked side by side in Keras' order.
The initial state is zero: :math:`h_0 = 0` (and :math:`c_0 = 0`).

**The input projection, once.** The input enters every step only through :math:`x_t W + b`, which
does not depend on the state, so all steps are projected in one matrix product before the loop:

.. math:: A = X W + \mathbf 1 b^\top, \qquad A_t = x_t W + b \in \mathbb R^{N \times kH}.

Only :math:`h_{t-1} U` is left inside the loop over time (it needs the previous step).

**Backpropagation through time (BPTT).** Unrolled over time, a recurrent layer is a deep network
of :math:`T` layers that share :math:`W, U, b`. Its backward pass walks the steps in reverse,
carrying :math:`\delta h_t = \partial L/\partial h_t`, which has two sources: the upstream
gradient of the output at step :math:`t` (:math:`G_t`, when the layer returns the sequence; the
last step's, or the final state's, otherwise) and the path through the next step,
:math:`h_t \to h_{t+1}`:

.. math:: \delta h_t = G_t + \delta Z_{t+1} U^\top

(the second term is the input gradient of :math:`Z_{t+1} = A_{t+1} + h_t U`, as in Dense:
:math:`dX = G_Z W^\top`). Each step turns :math:`\delta h_t` into the gradient
:math:`\delta Z_t` of its pre-activations. Because :math:`W`, :math:`U` and :math:`b` are shared,
their gradients are sums over the steps, which are again single matrix products over all steps at
once, after the loop:

.. math::

    dW = \sum_t x_t^\top \delta Z_t = X^\top \delta Z, \qquad
    dU = \sum_t h_{t-1}^\top \delta Z_t, \qquad
    db = \sum_{t,n} \delta Z_{t,n}, \qquad dX_t = \delta Z_t W^\top .

(In the GRU the recurrent product has its own gradient :math:`\delta R_t`, see :func:`gru_backward`.)

**Layout.** The functions here work time-major: ``xt`` (T, N, D), states (T + 1, N, H) with the
zero initial state at index 0, so ``hs[t + 1]`` is :math:`h_t` of step :math:`t = 0..T-1` (0-based),
and every per-step slice is contiguous. The layers transpose at the boundary.

**Activations** are given by name and must have a derivative that is a function of their output
(:data:`ACTIVATIONS`): ``tanh`` (:math:`1 - y^2`), ``sigmoid`` (:math:`y(1-y)`), ``relu``
(:math:`[y > 0]`), ``linear`` (1). The sigmoid is computed as :math:`\sigma(z) = \tfrac12(1 + \tanh(z/2))`,
an identity that never overflows and works in place.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _sigmoid(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def _sigmoid_grad(y: np.ndarray) -> np.ndarray:
    return y * (1.0 - y)


def _tanh(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.tanh(z, out=out)


def _tanh_grad(y: np.ndarray) -> np.ndarray:
    return 1.0 - y * y


def _relu(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0, out=out)


def _relu_grad(y: np.ndarray) -> np.ndarray:
    return (y > 0).astype(y.dtype)


def _linear(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    if out is not z:
        np.copyto(out, z)
    return out


def _linear_grad(y: np.ndarray) -> np.ndarray:
    return np.ones_like(y)


#: name -> (f(z, out), f' as a function of the output y): the activations a recurrent layer takes.
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh": (_tanh, _tanh_grad),
    "sigmoid": (_sigmoid, _sigmoid_grad),
    "relu": (_relu, _relu_grad),
    "linear": (_linear, _linear_grad),
}


def activation(name: str | None) -> tuple[Callable, Callable]:
    """``(f, f_prime_of_output)`` for an activation name (None is linear), or a ValueError."""
    key = "linear" if name is None else name
    if key not in ACTIVATIONS:
        raise ValueError(
            f"recurrent layers take the activations {sorted(ACTIVATIONS)} (their derivative is a "
            f"function of their output), got {name!r}"
        )
    return ACTIVATIONS[key]


# --------------------------------------------------------------------------- shared pieces


def time_major(x: np.ndarray) -> np.ndarray:
    """``x`` (N, T, D) as a C-contiguous (T, N, D) copy: each step's rows are contiguous."""
    return np.ascontiguousarray(x.transpose(1, 0, 2))


def input_projection(xt: np.ndarray, W: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    r""":math:`A = X W + \mathbf 1 b^\top` for all steps in one matrix product: (T, N, D) -> (T, N, kH)."""
    T, N, D = xt.shape
    A = np.matmul(xt.reshape(T * N, D), W).reshape(T, N, W.shape[1])
    if b is not None:
        A += b
    return A


def shared_weight_grads(
    xt: np.ndarray, h_prev: np.ndarray, dA: np.ndarray, dR: np.ndarray, W: np.ndarray, need_input_grad: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    r"""The sums over the steps, each one matrix product (module docstring).

    :math:`dW = X^\top \delta A`, :math:`dU = \sum_t h_{t-1}^\top \delta R_t`, and
    :math:`dX = \delta A\, W^\top` (None unless ``need_input_grad``), where :math:`\delta A` is the
    gradient of the input projection and :math:`\delta R` that of the recurrent product
    :math:`h_{t-1} U` (the same array for SimpleRNN and LSTM). Shapes: ``xt`` (T, N, D),
    ``h_prev`` (T, N, H) (:math:`h_0 .. h_{T-1}`), ``dA``, ``dR`` (T, N, kH).
    """
    T, N, D = xt.shape
    H, kH = h_prev.shape[-1], dA.shape[-1]
    dW = np.matmul(xt.reshape(T * N, D).T, dA.reshape(T * N, kH))
    dU = np.matmul(h_prev.reshape(T * N, H).T, dR.reshape(T * N, kH))
    dxt = np.matmul(dA, W.T) if need_input_grad else None
    return dW, dU, dxt


def _start_gradient(grad_last: np.ndarray | None, shape, dtype) -> np.ndarray:
    """:math:`\\delta h` entering the last step: the final state's gradient, or zeros."""
    return np.zeros(shape, dtype) if grad_last is None else np.array(grad_last, dtype=dtype)


# --------------------------------------------------------------------------- SimpleRNN


def simple_rnn_forward(
    xt: np.ndarray, W: np.ndarray, U: np.ndarray, b: np.ndarray | None, activation_name: str = "tanh"
) -> np.ndarray:
    r"""SimpleRNN over all steps: :math:`h_t = f(Z_t)`, :math:`Z_t = x_t W + b + h_{t-1} U`, :math:`h_0 = 0`.

    Parameters
    ----------
    xt : ndarray, shape (T, N, D)
        The inputs, time-major.
    W : ndarray, shape (D, H)
    U : ndarray, shape (H, H)
    b : ndarray, shape (H,), or None
    activation_name : str

    Returns
    -------
    hs : ndarray, shape (T + 1, N, H)
        ``hs[0] = 0`` and ``hs[t + 1]`` the state after step ``t``.
    """
    f, _ = activation(activation_name)
    T, N, _ = xt.shape
    H = U.shape[0]
    Z = input_projection(xt, W, b)
    hs = np.empty((T + 1, N, H), dtype=Z.dtype)
    hs[0] = 0.0
    for t in range(T):
        Z[t] += hs[t] @ U
        f(Z[t], hs[t + 1])
    return hs


def simple_rnn_backward(
    xt: np.ndarray,
    hs: np.ndarray,
    W: np.ndarray,
    U: np.ndarray,
    grad_seq: np.ndarray | None,
    grad_last: np.ndarray | None,
    activation_name: str = "tanh",
    need_input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    r"""BPTT through SimpleRNN.

    Step :math:`t` (from :math:`T` down to 1), with :math:`\delta h_t` from the module docstring:

    .. math::

        \delta h_t = G_t + \delta Z_{t+1} U^\top, \qquad
        \delta Z_t = \delta h_t \odot f'(Z_t)

    (:math:`f'` from the output: :math:`1 - h_t^2` for tanh), then :math:`dW`, :math:`dU`, :math:`db`
    and :math:`dX` as sums over the steps (:func:`shared_weight_grads`, :math:`\delta A = \delta R = \delta Z`).

    Parameters
    ----------
    xt : ndarray, shape (T, N, D)
    hs : ndarray, shape (T + 1, N, H)
        From :func:`simple_rnn_forward`.
    W, U : ndarray
    grad_seq : ndarray, shape (T, N, H), or None
        :math:`G_t` for every step (a layer returning the sequence), time-major.
    grad_last : ndarray, shape (N, H), or None
        The gradient of the last state :math:`h_T` (the output without sequences, and the state).
    activation_name : str
    need_input_grad : bool

    Returns
    -------
    dxt : ndarray, shape (T, N, D), or None
    dW : (D, H); dU : (H, H); db : (H,)
    """
    _, f_prime = activation(activation_name)
    T = xt.shape[0]
    dZ = np.empty((T, *hs.shape[1:]), dtype=hs.dtype)
    dh = _start_gradient(grad_last, hs.shape[1:], hs.dtype)
    for t in range(T - 1, -1, -1):
        if grad_seq is not None:
            dh += grad_seq[t]
        np.multiply(dh, f_prime(hs[t + 1]), out=dZ[t])
        dh = dZ[t] @ U.T  # the path h_{t-1} -> Z_t
    dW, dU, dxt = shared_weight_grads(xt, hs[:-1], dZ, dZ, W, need_input_grad)
    return dxt, dW, dU, dZ.sum(axis=(0, 1))


# --------------------------------------------------------------------------- LSTM


def lstm_forward(
    xt: np.ndarray,
    W: np.ndarray,
    U: np.ndarray,
    b: np.ndarray | None,
    activation_name: str = "tanh",
    recurrent_activation_name: str = "sigmoid",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""LSTM over all steps, gates in Keras' order :math:`[i, f, c, o]` (the candidate is written :math:`g`).

    With :math:`Z_t = x_t W + b + h_{t-1} U` split into four blocks of :math:`H` columns,
    :math:`\sigma` the recurrent activation and :math:`\phi` the activation (tanh):

    .. math::

        i_t = \sigma(Z^i_t), \quad f_t = \sigma(Z^f_t), \quad g_t = \phi(Z^g_t), \quad o_t = \sigma(Z^o_t),

        c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \phi(c_t), \qquad h_0 = c_0 = 0.

    Returns
    -------
    hs : ndarray, shape (T + 1, N, H)
        ``hs[t + 1]`` is :math:`h` after step ``t``; ``hs[0] = 0``.
    cs : ndarray, shape (T + 1, N, H)
        The cell states, likewise.
    gates : ndarray, shape (T, N, 4H)
        The activated gates :math:`[i, f, g, o]` of every step (the cache).
    phi_c : ndarray, shape (T, N, H)
        :math:`\phi(c_t)`.
    """
    phi, _ = activation(activation_name)
    sigma, _ = activation(recurrent_activation_name)
    T, N, _ = xt.shape
    H = U.shape[0]
    gates = input_projection(xt, W, b)  # Z, activated in place step by step
    hs = np.empty((T + 1, N, H), dtype=gates.dtype)
    cs = np.empty_like(hs)
    phi_c = np.empty((T, N, H), dtype=gates.dtype)
    hs[0] = 0.0
    cs[0] = 0.0
    for t in range(T):
        Z = gates[t]
        Z += hs[t] @ U
        sigma(Z[:, : 2 * H], Z[:, : 2 * H])  # i, f
        phi(Z[:, 2 * H : 3 * H], Z[:, 2 * H : 3 * H])  # g
        sigma(Z[:, 3 * H :], Z[:, 3 * H :])  # o
        i, f, g, o = Z[:, :H], Z[:, H : 2 * H], Z[:, 2 * H : 3 * H], Z[:, 3 * H :]
        np.multiply(f, cs[t], out=cs[t + 1])
        cs[t + 1] += i * g
        phi(cs[t + 1], phi_c[t])
        np.multiply(o, phi_c[t], out=hs[t + 1])
    return hs, cs, gates, phi_c


def lstm_backward(
    xt: np.ndarray,
    hs: np.ndarray,
    cs: np.ndarray,
    gates: np.ndarray,
    phi_c: np.ndarray,
    W: np.ndarray,
    U: np.ndarray,
    grad_seq: np.ndarray | None,
    grad_last_h: np.ndarray | None,
    grad_last_c: np.ndarray | None,
    activation_name: str = "tanh",
    recurrent_activation_name: str = "sigmoid",
    need_input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    r"""BPTT through the LSTM, step by step.

    Two gradients flow backwards in time: :math:`\delta h_t` (as in every recurrent layer) and
    :math:`\delta c_t`, the cell-state path. At step :math:`t`, given :math:`\delta h_t` (the
    upstream :math:`G_t` plus :math:`\delta Z_{t+1} U^\top`) and :math:`\delta c_t` (from step
    :math:`t+1`; the final cell state's gradient at the last step):

    1. The output :math:`h_t = o_t \odot \phi(c_t)` depends on :math:`o_t` and on :math:`c_t`:

       .. math::

           \delta o_t = \delta h_t \odot \phi(c_t), \qquad
           \delta c_t \mathrel{+}= \delta h_t \odot o_t \odot \phi'(c_t)
           \quad (\phi' = 1 - \phi(c_t)^2 \text{ for tanh}).

    2. The cell :math:`c_t = f_t \odot c_{t-1} + i_t \odot g_t`:

       .. math::

           \delta i_t = \delta c_t \odot g_t, \quad \delta g_t = \delta c_t \odot i_t, \quad
           \delta f_t = \delta c_t \odot c_{t-1}, \quad \delta c_{t-1} = \delta c_t \odot f_t .

       The last one is the cell-state path: the gradient reaches :math:`c_{t-1}` multiplied only by
       the forget gate, with no weight matrix and no squashing derivative in between, which is why
       an LSTM (with :math:`f \approx 1`, the reason for ``unit_forget_bias``) carries gradients across
       many more steps than a SimpleRNN.

    3. Through the gate activations, element-wise, from their outputs:

       .. math::

           \delta Z^i = \delta i \odot i(1 - i), \quad \delta Z^f = \delta f \odot f(1 - f), \quad
           \delta Z^g = \delta g \odot (1 - g^2), \quad \delta Z^o = \delta o \odot o(1 - o),

       stacked as :math:`\delta Z_t = [\delta Z^i, \delta Z^f, \delta Z^g, \delta Z^o]` (N, 4H).

    4. Into the previous state: :math:`\delta h_{t-1} \mathrel{+}= \delta Z_t U^\top`.

    After the loop, :math:`dW`, :math:`dU`, :math:`db`, :math:`dX` are the sums over steps of the
    module docstring (:math:`\delta A = \delta R = \delta Z`).

    Shapes: ``xt`` (T, N, D); ``hs``, ``cs`` (T + 1, N, H); ``gates`` (T, N, 4H); ``phi_c`` (T, N, H);
    ``grad_seq`` (T, N, H) or None; ``grad_last_h``, ``grad_last_c`` (N, H) or None.

    Returns
    -------
    dxt : (T, N, D) or None; dW : (D, 4H); dU : (H, 4H); db : (4H,)
    """
    _, phi_prime = activation(activation_name)
    _, sigma_prime = activation(recurrent_activation_name)
    T = xt.shape[0]
    H = U.shape[0]
    dZ = np.empty_like(gates)
    dh = _start_gradient(grad_last_h, hs.shape[1:], hs.dtype)
    dc = _start_gradient(grad_last_c, hs.shape[1:], hs.dtype)
    for t in range(T - 1, -1, -1):
        if grad_seq is not None:
            dh += grad_seq[t]
        i, f, g, o = (gates[t, :, k * H : (k + 1) * H] for k in range(4))
        d = dZ[t]
        dZi, dZf, dZg, dZo = (d[:, k * H : (k + 1) * H] for k in range(4))
        np.multiply(dh, phi_c[t], out=dZo)  # step 1: delta o ...
        dZo *= sigma_prime(o)  # ... through the gate's activation (step 3)
        dc += dh * o * phi_prime(phi_c[t])  # step 1: the cell through h_t
        np.multiply(dc, g, out=dZi)  # step 2
        dZi *= sigma_prime(i)
        np.multiply(dc, cs[t], out=dZf)
        dZf *= sigma_prime(f)
        np.multiply(dc, i, out=dZg)
        dZg *= phi_prime(g)
        dc *= f  # the cell-state path to c_{t-1}
        dh = d @ U.T  # step 4
    dW, dU, dxt = shared_weight_grads(xt, hs[:-1], dZ, dZ, W, need_input_grad)
    return dxt, dW, dU, dZ.sum(axis=(0, 1))


# --------------------------------------------------------------------------- GRU


def gru_forward(
    xt: np.ndarray,
    W: np.ndarray,
    U: np.ndarray,
    b: np.ndarray | None,
    activation_name: str = "tanh",
    recurrent_activation_name: str = "sigmoid",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""GRU with the reset gate after the recurrent product (Keras ``reset_after=True``, cuDNN and PyTorch).

    Gates in Keras' order :math:`[z, r, \tilde h]`; two biases, :math:`b_x` = ``b[0]`` on the input
    projection and :math:`b_h` = ``b[1]`` on the recurrent one:

    .. math::

        A_t = x_t W + b_x, \qquad R_t = h_{t-1} U + b_h \quad \text{(each (N, 3H), blocks } z, r, \tilde h),

        z_t = \sigma(A^z_t + R^z_t), \qquad r_t = \sigma(A^r_t + R^r_t), \qquad
        \tilde h_t = \phi\big(A^{\tilde h}_t + r_t \odot R^{\tilde h}_t\big),

        h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t, \qquad h_0 = 0.

    Parameters
    ----------
    b : ndarray, shape (2, 3H), or None

    Returns
    -------
    hs : ndarray, shape (T + 1, N, H)
    gates : ndarray, shape (T, N, 3H)
        The activated :math:`[z, r, \tilde h]`.
    rec_h : ndarray, shape (T, N, H)
        :math:`R^{\tilde h}_t`, needed for the reset gate's gradient.
    """
    phi, _ = activation(activation_name)
    sigma, _ = activation(recurrent_activation_name)
    T, N, _ = xt.shape
    H = U.shape[0]
    gates = input_projection(xt, W, None if b is None else b[0])
    hs = np.empty((T + 1, N, H), dtype=gates.dtype)
    rec_h = np.empty((T, N, H), dtype=gates.dtype)
    hs[0] = 0.0
    for t in range(T):
        R = hs[t] @ U
        if b is not None:
            R += b[1]
        G = gates[t]
        G[:, : 2 * H] += R[:, : 2 * H]
        sigma(G[:, : 2 * H], G[:, : 2 * H])  # z, r
        rec_h[t] = R[:, 2 * H :]
        z, r, hh = G[:, :H], G[:, H : 2 * H], G[:, 2 * H :]
        hh += r * rec_h[t]
        phi(hh, hh)
        # h = z h_prev + (1 - z) hh = hh + z (h_prev - hh)
        np.subtract(hs[t], hh, out=hs[t + 1])
        hs[t + 1] *= z
        hs[t + 1] += hh
    return hs, gates, rec_h


def gru_backward(
    xt: np.ndarray,
    hs: np.ndarray,
    gates: np.ndarray,
    rec_h: np.ndarray,
    W: np.ndarray,
    U: np.ndarray,
    grad_seq: np.ndarray | None,
    grad_last: np.ndarray | None,
    activation_name: str = "tanh",
    recurrent_activation_name: str = "sigmoid",
    need_input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    r"""BPTT through the GRU (:func:`gru_forward`), step by step.

    At step :math:`t`, given :math:`\delta h_t`:

    1. :math:`h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t`:

       .. math::

           \delta z_t = \delta h_t \odot (h_{t-1} - \tilde h_t), \qquad
           \delta \tilde h_t = \delta h_t \odot (1 - z_t), \qquad
           \delta h_{t-1} = \delta h_t \odot z_t + \dots

    2. Through the activations, with :math:`a^{\tilde h} = A^{\tilde h} + r \odot R^{\tilde h}`:

       .. math::

           \delta a^{\tilde h} = \delta \tilde h \odot \phi'(a^{\tilde h}) \ (= 1 - \tilde h^2), \qquad
           \delta r = \delta a^{\tilde h} \odot R^{\tilde h}, \qquad
           \delta Z^z = \delta z \odot z(1 - z), \qquad \delta Z^r = \delta r \odot r(1 - r).

    3. The two products. The input projection gets
       :math:`\delta A_t = [\delta Z^z, \delta Z^r, \delta a^{\tilde h}]`; the recurrent one, where the
       candidate's block is multiplied by :math:`r`, gets
       :math:`\delta R_t = [\delta Z^z, \delta Z^r, r \odot \delta a^{\tilde h}]`, and passes on
       :math:`\delta h_{t-1} \mathrel{+}= \delta R_t U^\top`.

    After the loop: :math:`dW = X^\top \delta A`, :math:`dU = \sum_t h_{t-1}^\top \delta R_t`,
    :math:`db_x = \sum \delta A`, :math:`db_h = \sum \delta R` (so ``db`` has shape (2, 3H)),
    :math:`dX = \delta A\, W^\top`.

    Returns
    -------
    dxt : (T, N, D) or None; dW : (D, 3H); dU : (H, 3H); db : (2, 3H)
    """
    _, phi_prime = activation(activation_name)
    _, sigma_prime = activation(recurrent_activation_name)
    T = xt.shape[0]
    H = U.shape[0]
    dA = np.empty_like(gates)
    dR = np.empty_like(gates)
    dh = _start_gradient(grad_last, hs.shape[1:], hs.dtype)
    for t in range(T - 1, -1, -1):
        if grad_seq is not None:
            dh += grad_seq[t]
        z, r, hh = gates[t, :, :H], gates[t, :, H : 2 * H], gates[t, :, 2 * H :]
        a, rr = dA[t], dR[t]
        dZz, dZr, dah = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
        np.subtract(hs[t], hh, out=dZz)  # step 1: delta z ...
        dZz *= dh
        dZz *= sigma_prime(z)  # ... through the gate (step 2)
        np.multiply(dh, 1.0 - z, out=dah)  # delta hh
        dah *= phi_prime(hh)
        np.multiply(dah, rec_h[t], out=dZr)  # delta r
        dZr *= sigma_prime(r)
        rr[:, : 2 * H] = a[:, : 2 * H]  # step 3
        np.multiply(dah, r, out=rr[:, 2 * H :])
        dh = dh * z + rr @ U.T
    dW, dU, dxt = shared_weight_grads(xt, hs[:-1], dA, dR, W, need_input_grad)
    db = np.stack([dA.sum(axis=(0, 1)), dR.sum(axis=(0, 1))])
    return dxt, dW, dU, db
