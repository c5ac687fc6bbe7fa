r"""Recurrent layers: SimpleRNN, LSTM and GRU, with Keras' arguments and weight layouts.

Each layer holds ``kernel`` (D, kH), ``recurrent_kernel`` (H, kH) and ``bias`` (kH,) (GRU: (2, 3H)),
the gate blocks side by side in Keras' order, so weights move to and from Keras unchanged. The math,
with backpropagation through time derived step by step, is in :mod:`tinynet.ops.recurrent`.

Inputs are (N, T, D). The output is the last state (N, H), or every state (N, T, H) with
``return_sequences=True``. With ``return_state=True`` the layer has several outputs, a list in
Keras' order: ``[output, h]`` (SimpleRNN, GRU) or ``[output, h, c]`` (LSTM); ``backward`` then takes a
list of gradients, one per output (``None`` for an output nothing used). Such a layer needs the
functional API (``tn.Model``); a ``Sequential`` refuses it.

Differences from Keras: the initial state is always zero (no ``initial_state``), and ``dropout``,
``recurrent_dropout``, ``go_backwards``, ``stateful``, constraints and masks are not implemented
(the arguments after the regularizers are keyword-only); ``reset_after=False`` is not implemented.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import initializers, regularizers
from ..ops import recurrent as rnn
from ..regularizers import Regularizer
from .base import Layer, register_layer


class Recurrent(Layer):
    """Base of SimpleRNN, LSTM and GRU: weights, shapes, outputs and the list protocol.

    A subclass sets :attr:`gates` (the number :math:`k` of blocks) and implements
    ``_run(xt)`` (forward, returning the states ``hs`` (T + 1, N, H) and keeping its cache) and
    ``_bptt(grad_seq, grad_h, grad_c)`` (returning ``dxt`` and filling ``grads``).
    """

    #: The number k of gate blocks in the kernels.
    gates = 1
    #: The number of state arrays (h; LSTM: h and c).
    n_states = 1

    def __init__(
        self,
        units: int,
        activation: str | None = "tanh",
        recurrent_activation: str | None = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        recurrent_initializer: str = "orthogonal",
        bias_initializer: str = "zeros",
        kernel_regularizer: Regularizer | str | dict | None = None,
        recurrent_regularizer: Regularizer | str | dict | None = None,
        bias_regularizer: Regularizer | str | dict | None = None,
        *,
        return_sequences: bool = False,
        return_state: bool = False,
        input_shape: tuple[int, ...] | None = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape, trainable=trainable)
        kind = type(self).__name__
        if isinstance(units, (bool, np.bool_)) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"{kind} needs a positive integer number of units, got {units!r}")
        self.units = int(units)
        rnn.activation(activation), rnn.activation(recurrent_activation)  # validate early
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        for arg, value in (
            ("use_bias", use_bias),
            ("return_sequences", return_sequences),
            ("return_state", return_state),
        ):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{kind} {arg} must be True or False, got {value!r}")
        self.use_bias = bool(use_bias)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        for init in (kernel_initializer, recurrent_initializer, bias_initializer):
            initializers.get(init)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = self.add_regularizer("kernel", kernel_regularizer)
        self.recurrent_regularizer = self.add_regularizer("recurrent_kernel", recurrent_regularizer)
        self.bias_regularizer = self.add_regularizer("bias", bias_regularizer) if use_bias else None

    # -- shapes and weights -------------------------------------------------
    def _check_shape(self, input_shape) -> tuple[int, int]:
        shape = tuple(input_shape)
        if len(shape) != 2:
            raise ValueError(
                f"{self._describe()} expects sequences of shape (batch, timesteps, features), got "
                f"samples of shape {shape}; token ids need an Embedding layer first"
            )
        return shape[0], shape[1]

    def build(self, input_shape):
        _, features = self._check_shape(input_shape)
        super().build(input_shape)
        kH = self.gates * self.units
        self.add_param("kernel", self.kernel_initializer, (features, kH))
        self.add_param("recurrent_kernel", self.recurrent_initializer, (self.units, kH))
        if self.use_bias:
            self._add_bias()

    def _add_bias(self) -> None:
        self.add_param("bias", self.bias_initializer, (self.gates * self.units,))

    def compute_output_shape(self, input_shape):
        steps, _ = self._check_shape(input_shape)
        out = (steps, self.units) if self.return_sequences else (self.units,)
        if self.return_state:
            return [out] + [(self.units,)] * self.n_states
        return out

    # -- passes -------------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray | list[np.ndarray]:
        x = np.asarray(x)
        if x.ndim != 3:
            raise ValueError(
                f"{self._describe()} expects inputs of shape (batch, timesteps, features), got {x.shape}"
            )
        self.x_shape = x.shape
        hs, states = self._run(rnn.time_major(x))
        out = hs[1:].transpose(1, 0, 2) if self.return_sequences else hs[-1]
        if not self.return_state:
            return out
        return [out, *(s.copy() for s in states)]  # the states: arrays of their own (Keras' order)

    def backward(self, grad_output) -> np.ndarray | None:
        if self.return_state:
            n = 1 + self.n_states
            if not isinstance(grad_output, (list, tuple)) or len(grad_output) != n:
                raise ValueError(
                    f"{self._describe()} has {n} outputs (return_state=True): backward needs a list of "
                    f"{n} gradients (None for an output nothing used)"
                )
            grad_out, *grad_states = grad_output
        else:
            grad_out, grad_states = grad_output, [None] * self.n_states
        grad_seq = None
        grad_h = grad_states[0]
        if grad_out is not None:
            if self.return_sequences:
                grad_seq = np.asarray(grad_out).transpose(1, 0, 2)  # time-major view
            else:
                grad_h = grad_out if grad_h is None else grad_out + grad_h
        dxt = self._bptt(grad_seq, grad_h, grad_states[1] if self.n_states > 1 else None)
        return None if dxt is None else dxt.transpose(1, 0, 2)

    def _run(self, xt: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        raise NotImplementedError

    def _bptt(self, grad_seq, grad_h, grad_c) -> np.ndarray | None:
        raise NotImplementedError

    def _store(self, dW: np.ndarray, dU: np.ndarray, db: np.ndarray) -> None:
        self.grads["kernel"][...] = dW
        self.grads["recurrent_kernel"][...] = dU
        if self.use_bias:
            self.grads["bias"][...] = db

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "recurrent_initializer": self.recurrent_initializer,
            "bias_initializer": self.bias_initializer,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
        }
        for key in ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer"):
            value = getattr(self, key)
            if value is not None:
                config[key] = regularizers.serialize(value)
        return config


@register_layer
class SimpleRNN(Recurrent):
    r"""Fully connected recurrent layer: :math:`h_t = f(x_t W + h_{t-1} U + b)`, :math:`h_0 = 0`.

    Weights as Keras: ``kernel`` (D, units), ``recurrent_kernel`` (units, units), ``bias`` (units,).
    Forward and BPTT: :func:`tinynet.ops.simple_rnn_forward`, :func:`tinynet.ops.simple_rnn_backward`.

    Parameters
    ----------
    units : int
    activation : str
        ``"tanh"`` (default), ``"relu"``, ``"sigmoid"`` or ``"linear"``/``None``.
    use_bias : bool
    kernel_initializer, recurrent_initializer, bias_initializer : str
        Keras' defaults: ``"glorot_uniform"``, ``"orthogonal"``, ``"zeros"``.
    kernel_regularizer, recurrent_regularizer, bias_regularizer : Regularizer, str or dict, optional
    return_sequences : bool
        Return every state (N, T, units) instead of the last (N, units).
    return_state : bool
        Also return the final state: ``[output, h]`` (needs ``tn.Model``).
    input_shape : tuple, optional
        ``(T, D)`` for the first layer.
    name : str, optional
    trainable : bool
    """

    def __init__(
        self,
        units: int,
        activation: str | None = "tanh",
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        recurrent_initializer: str = "orthogonal",
        bias_initializer: str = "zeros",
        kernel_regularizer: Regularizer | str | dict | None = None,
        recurrent_regularizer: Regularizer | str | dict | None = None,
        bias_regularizer: Regularizer | str | dict | None = None,
        *,
        return_sequences: bool = False,
        return_state: bool = False,
        input_shape: tuple[int, ...] | None = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(
            units,
            activation,
            "sigmoid",
            use_bias,
            kernel_initializer,
            recurrent_initializer,
            bias_initializer,
            kernel_regularizer,
            recurrent_regularizer,
            bias_regularizer,
            return_sequences=return_sequences,
            return_state=return_state,
            input_shape=input_shape,
            name=name,
            trainable=trainable,
        )

    def _run(self, xt):
        self.xt = xt
        self.hs = rnn.simple_rnn_forward(
            xt,
            self.params["kernel"],
            self.params["recurrent_kernel"],
            self.params.get("bias"),
            self.activation,
        )
        return self.hs, [self.hs[-1]]

    def _bptt(self, grad_seq, grad_h, grad_c):
        dxt, dW, dU, db = rnn.simple_rnn_backward(
            self.xt,
            self.hs,
            self.params["kernel"],
            self.params["recurrent_kernel"],
            grad_seq,
            grad_h,
            self.activation,
            self.need_input_grad,
        )
        self._store(dW, dU, db)
        return dxt


@register_layer
class LSTM(Recurrent):
    r"""Long short-term memory (Hochreiter and Schmidhuber, 1997), gates in Keras' order :math:`[i, f, c, o]`.

    .. math::

        [i, f, g, o] = [\sigma, \sigma, \tanh, \sigma](x_t W + h_{t-1} U + b), \qquad
        c_t = f \odot c_{t-1} + i \odot g, \qquad h_t = o \odot \tanh(c_t).

    Weights as Keras: ``kernel`` (D, 4 units), ``recurrent_kernel`` (units, 4 units), ``bias``
    (4 units,), each the blocks :math:`i, f, c, o` side by side. With ``unit_forget_bias=True`` the
    forget block of the bias starts at 1 (Jozefowicz et al., 2015): the cell keeps its content,
    and its gradient, from the start. Forward and BPTT: :func:`tinynet.ops.lstm_forward`,
    :func:`tinynet.ops.lstm_backward`.

    Parameters
    ----------
    units : int
    activation : str
        :math:`\phi` of the candidate and the cell output: ``"tanh"`` (default), ``"relu"``,
        ``"sigmoid"`` or ``"linear"``/``None``.
    recurrent_activation : str
        :math:`\sigma` of the gates: ``"sigmoid"`` (default) or another of the above.
    use_bias : bool
    kernel_initializer, recurrent_initializer, bias_initializer : str
    unit_forget_bias : bool
    kernel_regularizer, recurrent_regularizer, bias_regularizer : Regularizer, str or dict, optional
    return_sequences : bool
    return_state : bool
        Also return the final states: ``[output, h, c]`` (needs ``tn.Model``).
    input_shape : tuple, optional
    name : str, optional
    trainable : bool
    """

    gates = 4
    n_states = 2

    def __init__(
        self,
        units: int,
        activation: str | None = "tanh",
        recurrent_activation: str | None = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        recurrent_initializer: str = "orthogonal",
        bias_initializer: str = "zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer: Regularizer | str | dict | None = None,
        recurrent_regularizer: Regularizer | str | dict | None = None,
        bias_regularizer: Regularizer | str | dict | None = None,
        *,
        return_sequences: bool = False,
        return_state: bool = False,
        input_shape: tuple[int, ...] | None = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(
            units,
            activation,
            recurrent_activation,
            use_bias,
            kernel_initializer,
            recurrent_initializer,
            bias_initializer,
            kernel_regularizer,
            recurrent_regularizer,
            bias_regularizer,
            return_sequences=return_sequences,
            return_state=return_state,
            input_shape=input_shape,
            name=name,
            trainable=trainable,
        )
        if not isinstance(unit_forget_bias, (bool, np.bool_)):
            raise TypeError(f"LSTM unit_forget_bias must be True or False, got {unit_forget_bias!r}")
        self.unit_forget_bias = bool(unit_forget_bias)

    def _add_bias(self) -> None:
        bias = self.add_param("bias", self.bias_initializer, (4 * self.units,))
        if self.unit_forget_bias:
            bias[self.units : 2 * self.units] = 1.0  # the forget block (Keras' unit_forget_bias)

    def _run(self, xt):
        self.xt = xt
        self.hs, self.cs, self.gate_values, self.phi_c = rnn.lstm_forward(
            xt,
            self.params["kernel"],
            self.params["recurrent_kernel"],
            self.params.get("bias"),
            self.activation,
            self.recurrent_activation,
        )
        return self.hs, [self.hs[-1], self.cs[-1]]

    def _bptt(self, grad_seq, grad_h, grad_c):
        dxt, dW, dU, db = rnn.lstm_backward(
            self.xt,
            self.hs,
            self.cs,
            self.gate_values,
            self.phi_c,
            self.params["kernel"],
            self.params["recurrent_kernel"],
            grad_seq,
            grad_h,
            grad_c,
            self.activation,
            self.recurrent_activation,
            self.need_input_grad,
        )
        self._store(dW, dU, db)
        return dxt

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "recurrent_activation": self.recurrent_activation,
            "unit_forget_bias": self.unit_forget_bias,
        }


@register_layer
class GRU(Recurrent):
    r"""Gated recurrent unit (Cho et al., 2014) in Keras' ``reset_after=True`` form (cuDNN, PyTorch).

    .. math::

        z = \sigma(A^z + R^z), \quad r = \sigma(A^r + R^r), \quad
        \tilde h = \tanh(A^h + r \odot R^h), \quad h_t = z \odot h_{t-1} + (1 - z) \odot \tilde h,

    with :math:`A = x_t W + b_x` and :math:`R = h_{t-1} U + b_h`. Weights as Keras: ``kernel``
    (D, 3 units), ``recurrent_kernel`` (units, 3 units), blocks :math:`[z, r, h]`, and ``bias``
    (2, 3 units): row 0 the input bias :math:`b_x`, row 1 the recurrent bias :math:`b_h`.
    Forward and BPTT: :func:`tinynet.ops.gru_forward`, :func:`tinynet.ops.gru_backward`.

    Parameters
    ----------
    units : int
    activation, recurrent_activation : str
    use_bias : bool
    kernel_initializer, recurrent_initializer, bias_initializer : str
    kernel_regularizer, recurrent_regularizer, bias_regularizer : Regularizer, str or dict, optional
    return_sequences : bool
    return_state : bool
        Also return the final state: ``[output, h]`` (needs ``tn.Model``).
    reset_after : bool
        Only ``True`` (Keras' default) is implemented.
    input_shape : tuple, optional
    name : str, optional
    trainable : bool
    """

    gates = 3

    def __init__(
        self,
        units: int,
        activation: str | None = "tanh",
        recurrent_activation: str | None = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        recurrent_initializer: str = "orthogonal",
        bias_initializer: str = "zeros",
        kernel_regularizer: Regularizer | str | dict | None = None,
        recurrent_regularizer: Regularizer | str | dict | None = None,
        bias_regularizer: Regularizer | str | dict | None = None,
        *,
        return_sequences: bool = False,
        return_state: bool = False,
        reset_after: bool = True,
        input_shape: tuple[int, ...] | None = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(
            units,
            activation,
            recurrent_activation,
            use_bias,
            kernel_initializer,
            recurrent_initializer,
            bias_initializer,
            kernel_regularizer,
            recurrent_regularizer,
            bias_regularizer,
            return_sequences=return_sequences,
            return_state=return_state,
            input_shape=input_shape,
            name=name,
            trainable=trainable,
        )
        if reset_after is not True:
            raise ValueError(
                "GRU: only reset_after=True (Keras' default, the cuDNN and PyTorch form) is implemented"
            )
        self.reset_after = True

    def _add_bias(self) -> None:
        self.add_param("bias", self.bias_initializer, (2, 3 * self.units))

    def _run(self, xt):
        self.xt = xt
        self.hs, self.gate_values, self.rec_h = rnn.gru_forward(
            xt,
            self.params["kernel"],
            self.params["recurrent_kernel"],
            self.params.get("bias"),
            self.activation,
            self.recurrent_activation,
        )
        return self.hs, [self.hs[-1]]

    def _bptt(self, grad_seq, grad_h, grad_c):
        dxt, dW, dU, db = rnn.gru_backward(
            self.xt,
            self.hs,
            self.gate_values,
            self.rec_h,
            self.params["kernel"],
            self.params["recurrent_kernel"],
            grad_seq,
            grad_h,
            self.activation,
            self.recurrent_activation,
            self.need_input_grad,
        )
        self._store(dW, dU, db)
        return dxt

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "recurrent_activation": self.recurrent_activation,
            "reset_after": self.reset_after,
        }
