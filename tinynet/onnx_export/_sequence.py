r"""ONNX converters of the merge, embedding, recurrent, attention and position layers.

Each converter takes the graph, the layer and its input tensor's name (a list of
names for a layer called on a list) and returns its output's name (a list for a
layer of several outputs).  The formulas and the choices are documented in
:mod:`tinynet.onnx_export`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..layers import (
    GRU,
    LSTM,
    Add,
    Concatenate,
    Embedding,
    MultiHeadAttention,
    Multiply,
    PositionalEmbedding,
    SimpleRNN,
    SinePositionEncoding,
)
from ..layers.attention import sine_position_encoding
from ._graph import Graph, affine

# --------------------------------------------------------------------------- merge layers


def _chain(op_type: str):
    """``Add`` / ``Mul`` of the inputs left to right, in tinynet's order ((x0 + x1) + x2 ...)."""

    def convert(g: Graph, layer, xs: list[str]) -> str:
        y = g.op(op_type, [xs[0], xs[1]], layer.name)
        for x in xs[2:]:
            y = g.op(op_type, [y, x], layer.name)
        return y

    return convert


def _concatenate(g: Graph, layer: Concatenate, xs: list[str]) -> str:
    axis = layer._sample_axis(len(layer.input_shape[0])) + 1  # the batch arrays' axis
    return g.op("Concat", xs, layer.name, axis=axis)


# --------------------------------------------------------------------------- embeddings and positions


def _embedding(g: Graph, layer: Embedding, ids: str) -> str:
    """:math:`Y_{n,t} = E_{k_{n,t}}`: ``Gather(E, ids, axis=0)``; float ids are cast to int64 first."""
    hint = layer.name
    if ids not in g.int64:
        ids = g.op("Cast", [ids], hint + "_ids", to=g.onnx.TensorProto.INT64)
    return g.op("Gather", [g.const(hint + "_embeddings", layer.params["embeddings"]), ids], hint, axis=0)


def _positional_embedding(g: Graph, layer: PositionalEmbedding, x: str) -> str:
    """:math:`Y_{nt} = X_{nt} + E_t`: ``Add`` of the first T rows (T is fixed by the model's input)."""
    T = layer.input_shape[0]
    return g.op("Add", [x, g.const(layer.name + "_embeddings", layer.params["embeddings"][:T])], layer.name)


def _sine_position_encoding(g: Graph, layer: SinePositionEncoding, x: str) -> str:
    """The constant encoding (1, T, D), computed by tinynet's own function, ``Expand``-ed to x's shape."""
    T, D = layer.input_shape
    pe = sine_position_encoding(T, D, layer.max_wavelength, g.dtype)[None]
    shape = g.op("Shape", [x], layer.name + "_shape")
    return g.op("Expand", [g.const(layer.name + "_encoding", pe), shape], layer.name)


# --------------------------------------------------------------------------- recurrent layers

#: tinynet's recurrent activation -> (ONNX RNN activation name, needs alpha = 1 and beta = 0).
_RNN_ACTIVATIONS = {
    "tanh": ("Tanh", False),
    "sigmoid": ("Sigmoid", False),
    "relu": ("Relu", False),
    "linear": ("Affine", True),  # alpha x + beta with alpha = 1, beta = 0
    None: ("Affine", True),
}

#: layer class -> (ONNX operator, the Keras gate blocks in ONNX's order)
_RNN_OPS: dict[type, tuple[str, list[int]]] = {
    SimpleRNN: ("RNN", [0]),
    LSTM: ("LSTM", [0, 3, 1, 2]),  # Keras [i, f, c, o] -> ONNX [i, o, f, c]
    GRU: ("GRU", [0, 1, 2]),  # Keras [z, r, h] = ONNX [z, r, h]
}


def gate_order(a: np.ndarray, order: list[int]) -> np.ndarray:
    """The gate blocks of ``a`` (side by side along the last axis) rearranged into ``order``."""
    blocks = np.split(a, len(order), axis=-1)
    return np.concatenate([blocks[i] for i in order], axis=-1)


def recurrent_weights(layer) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    r"""ONNX's ``W`` (1, kH, D), ``R`` (1, kH, H) and ``B`` (1, 2kH) (or None) of a recurrent layer.

    ONNX computes :math:`x_t W_g^\top + h_{t-1} R_g^\top + Wb_g + Rb_g` per gate :math:`g`:
    ``W`` is tinynet's (Keras') ``kernel`` transposed with the gate blocks in ONNX's order, ``R``
    the ``recurrent_kernel`` likewise, and ``B`` the concatenation :math:`[Wb, Rb]`: the bias and
    zeros (SimpleRNN, LSTM), or the GRU's input-bias row and recurrent-bias row.
    """
    _, order = _RNN_OPS[type(layer)]
    P = layer.params
    W = gate_order(P["kernel"], order).T[None]
    R = gate_order(P["recurrent_kernel"], order).T[None]
    if "bias" not in P:
        return W, R, None
    bias = P["bias"]
    wb, rb = (bias[0], bias[1]) if isinstance(layer, GRU) else (bias, np.zeros_like(bias))
    B = np.concatenate([gate_order(wb, order), gate_order(rb, order)])[None]
    return W, R, B


def _recurrent(g: Graph, layer, x: str) -> str | list[str]:
    """``RNN`` / ``LSTM`` / ``GRU`` (time-major: the input is transposed to (T, N, D) and back)."""
    hint = layer.name
    op_type, _ = _RNN_OPS[type(layer)]
    W, R, B = recurrent_weights(layer)
    inputs = [
        g.op("Transpose", [x], hint + "_time_major", perm=[1, 0, 2]),
        g.const(hint + "_W", W),
        g.const(hint + "_R", R),
    ]
    if B is not None:
        inputs.append(g.const(hint + "_B", B))
    if op_type == "RNN":
        names = [layer.activation]
    elif op_type == "LSTM":  # f: the gates, g: the candidate, h: the cell output
        names = [layer.recurrent_activation, layer.activation, layer.activation]
    else:  # f: the update and reset gates, g: the candidate
        names = [layer.recurrent_activation, layer.activation]
    activations = [_RNN_ACTIVATIONS[n][0] for n in names]
    affine = sum(_RNN_ACTIVATIONS[n][1] for n in names)
    attributes: dict[str, Any] = {"hidden_size": layer.units, "activations": activations}
    if affine:  # consumed in order by the activations that take them (only Affine here)
        attributes["activation_alpha"] = [1.0] * affine
        attributes["activation_beta"] = [0.0] * affine
    if op_type == "GRU":
        attributes["linear_before_reset"] = 1  # Keras' reset_after=True: r * (h U_h + b_h)
    need_h = layer.return_state or not layer.return_sequences
    wanted = [layer.return_sequences, need_h, op_type == "LSTM" and layer.return_state]
    Y, Y_h, Y_c = [*g.op_outputs(op_type, inputs, hint, wanted, **attributes), "", ""][:3]
    axis0 = g.ints(hint + "_axis0", [0])
    h = g.op("Squeeze", [Y_h, axis0], hint + "_h") if need_h else ""  # (1, N, H) -> (N, H)
    if layer.return_sequences:  # Y (T, 1, N, H) -> (N, T, H)
        out = g.op("Squeeze", [Y, g.ints(hint + "_axis1", [1])], hint + "_y")
        out = g.op("Transpose", [out], hint + "_sequences", perm=[1, 0, 2])
    else:
        out = h  # the last state is the output
    if not layer.return_state:
        return out
    if op_type != "LSTM":
        return [out, h]
    return [out, h, g.op("Squeeze", [Y_c, axis0], hint + "_c")]


# --------------------------------------------------------------------------- attention


def _heads(g: Graph, z: str, T: int, h: int, d: int, perm: list[int], hint: str) -> str:
    """(N, T, h d) -> (N, T, h, d) -> transposed by ``perm``."""
    split = g.op("Reshape", [z, g.ints(hint + "_shape", [-1, T, h, d])], hint)
    return g.op("Transpose", [split], hint, perm=perm)


def _multi_head_attention(g: Graph, layer: MultiHeadAttention, x: str | list[str]) -> str:
    r"""Self-attention with the layer's causal mask and, called on ``[x, mask]``, its padding mask.

    ``S = (Q K^T) c``, masked entries set to the dtype's lowest finite number (not :math:`-\infty`,
    so that a fully masked row stays finite), ``Softmax`` over the keys, and then, with a padding
    mask, the masked weights set to exactly 0: a row that sees no key gets weights 0 and output
    :math:`b_o`, as in tinynet.  The key bias cancels in the softmax and is left out, as tinynet
    leaves it out.
    """
    hint = layer.name
    mask_input = None
    if isinstance(x, list):
        x, mask_input = x
    P = layer.params
    T, _ = layer.input_shape
    h, dk, dv = layer.num_heads, layer.key_dim, layer.value_dim
    q = _heads(g, affine(g, x, P["Wq"], P.get("bq"), hint + "_q"), T, h, dk, [0, 2, 1, 3], hint + "_q")
    kt = _heads(g, affine(g, x, P["Wk"], None, hint + "_k"), T, h, dk, [0, 2, 3, 1], hint + "_k")
    v = _heads(g, affine(g, x, P["Wv"], P.get("bv"), hint + "_v"), T, h, dv, [0, 2, 1, 3], hint + "_v")
    s = g.op("MatMul", [q, kt], hint + "_scores")  # (N, h, T, T)
    s = g.op("Mul", [s, g.const(hint + "_scale", 1.0 / np.sqrt(dk))], hint + "_scores")
    mask = None
    if layer.causal:  # M_ij = [j <= i], (1, 1, T, T)
        causal = (np.arange(T)[None, :] <= np.arange(T)[:, None])[None, None]
        mask = g.const(hint + "_causal", causal, np.dtype(bool))
    if mask_input is not None:  # key j of sample n is hidden where mask[n, j] == 0: (N, 1, 1, T)
        keys = g.op("Cast", [mask_input], hint + "_keys", to=g.onnx.TensorProto.BOOL)
        keys = g.op("Unsqueeze", [keys, g.ints(hint + "_axes12", [1, 2])], hint + "_keys")
        mask = keys if mask is None else g.op("And", [mask, keys], hint + "_mask")
    if mask is not None:
        lowest = g.const(hint + "_lowest", np.finfo(g.dtype).min)
        s = g.op("Where", [mask, s, lowest], hint + "_masked")
    p = g.op("Softmax", [s], hint + "_weights", axis=-1)
    if mask_input is not None:  # a fully masked row: uniform after the softmax, 0 in tinynet
        p = g.op("Where", [mask, p, g.const(hint + "_zero", 0.0)], hint + "_weights")
    o = g.op("MatMul", [p, v], hint + "_attended")  # (N, h, T, dv)
    o = g.op("Transpose", [o], hint + "_attended", perm=[0, 2, 1, 3])
    o = g.op("Reshape", [o, g.ints(hint + "_concat_shape", [-1, T, h * dv])], hint + "_concat")
    return affine(g, o, P["Wo"], P.get("bo"), hint)


#: Layer class -> converter, for the layers of this module.
SEQUENCE_CONVERTERS: dict[type, Any] = {
    Add: _chain("Add"),
    Multiply: _chain("Mul"),
    Concatenate: _concatenate,
    Embedding: _embedding,
    PositionalEmbedding: _positional_embedding,
    SinePositionEncoding: _sine_position_encoding,
    SimpleRNN: _recurrent,
    LSTM: _recurrent,
    GRU: _recurrent,
    MultiHeadAttention: _multi_head_attention,
}
