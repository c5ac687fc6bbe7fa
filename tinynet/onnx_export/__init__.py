r"""Export a tinynet model to ONNX, for onnxruntime and the serving engines that read it.

``export_onnx(model, "model.onnx")`` writes one ONNX graph computing
``model.predict``, for a :class:`~tinynet.Sequential` or a functional
:class:`~tinynet.Model` (a graph of layers: branches, merges, several inputs
and outputs).  Layers are translated in inference form: Dropout (and the
attention's dropout) is the identity, BatchNormalization uses its running
statistics.

Inputs and outputs.  A Sequential's graph has one input ``"input"`` of shape
``(batch, *model.input_shape)``; a functional model's graph has one input per
``tn.Input``, with its name (``"input"``, ``"input_1"``, ... unless named), in
the order of ``model.inputs``.  The batch axis is dynamic (``"batch"``), every
other axis fixed, as in the model.  The outputs are ``"output"``, then
``"output_1"``, ``"output_2"``, ... in the order ``predict`` returns them.  An
input read only by Embedding layers holds token ids and is ``int64`` (what
``Gather`` indexes with); every other input, a padding mask included, is in the
model's float dtype (an Embedding reading a float tensor casts it to ``int64``
first).

Opset.  The graph uses opset :data:`DEFAULT_OPSET` (17) of the default ONNX
domain: the lowest with ``LayerNormalization``.  Every other operator used
(``MatMul``, ``Add``, ``Mul``, ``Conv``, ``MaxPool``, ``AveragePool``,
``GlobalAveragePool``, ``BatchNormalization``, ``Flatten``, ``Reshape``,
``Relu``, ``LeakyRelu``, ``Elu``, ``Sigmoid``, ``Tanh``, ``Softmax``, ``Exp``,
``Log``, ``Abs``, ``Neg``, ``Erf``, ``Identity``, ``Concat``, ``Gather``,
``Cast``, ``Shape``, ``Expand``, ``Transpose``, ``Squeeze``, ``Unsqueeze``,
``Where``, ``And``, ``RNN``, ``LSTM``, ``GRU``) has kept the same meaning
since opset 14 or earlier, so a later opset may be asked for (``opset=`` up to
what the installed ``onnx`` knows).

Each built-in layer maps to operators computing the same formula:

* Dense: :math:`Z = XW + b` as ``MatMul`` then ``Add``; its activation follows.
  On sequences (N, T, D) the same ``MatMul`` broadcasts over the time axis.
* Conv2D: ``Conv`` on NCHW data (tinynet's layout too) with kernel
  :math:`(F, C, k_h, k_w)`, explicit ``pads`` (``"same"`` puts the odd row and
  column after, as TensorFlow and tinynet do) and the layer's strides.
* MaxPool2D / AvgPool2D: ``MaxPool`` / ``AveragePool`` without padding (floor
  output size, as tinynet); GlobalAveragePooling2D: ``GlobalAveragePool`` then
  ``Flatten`` (tinynet returns (N, C)).
* Flatten: ``Flatten(axis=1)`` on NCHW, i.e. features in (channel, row,
  column) order, which is the order of tinynet's Flatten whatever the memory
  layout; Reshape: ``Reshape`` to ``(-1, *target_shape)``.
* BatchNormalization: ``BatchNormalization`` (inference mode) with the
  running mean and variance; LayerNormalization: ``LayerNormalization`` over
  the last axis (of (N, D) or (N, T, D) alike).
* Activations: ``Relu``, ``LeakyRelu(alpha)``, ``Elu(alpha)``, ``Sigmoid``,
  ``Tanh``, ``Softmax(axis=-1)``; softplus as
  :math:`\max(x, 0) + \log(1 + e^{-|x|})` (never exponentiates a positive
  number, as tinynet); the exact GELU as :math:`\tfrac12 x (1 + \mathrm{erf}(x/\sqrt2))`
  with ``Erf``, the tanh form (``"gelu_tanh"``, ``GELU(approximate=True)``) as
  :math:`x\,\sigma(2c(x + kx^3))`, :math:`c = \sqrt{2/\pi}`, :math:`k = 0.044715`
  (ONNX's own ``Gelu`` needs opset 20).
* Add, Multiply: ``Add`` / ``Mul`` of the inputs left to right, as tinynet sums
  them; Concatenate(axis): ``Concat`` along the same axis of the batch arrays.
* Embedding: ``Gather(E, ids, axis=0)``, :math:`Y_{n,t} = E_{k_{n,t}}`.
* PositionalEmbedding: ``Add`` of its first :math:`T` rows (:math:`T` of the
  model's input); SinePositionEncoding: the constant (1, T, D) encoding, from
  tinynet's own function, ``Expand``-ed to the input's shape.
* SimpleRNN, LSTM, GRU: ONNX's ``RNN``, ``LSTM``, ``GRU`` with one direction,
  no sequence lengths and a zero initial state, in ONNX's default time-major
  layout: the input is transposed to (T, N, D) and the sequence output back
  to (N, T, H) (onnxruntime refuses ``layout=1``).  ONNX computes each gate
  block :math:`g` as :math:`x_t W_g^\top + h_{t-1} R_g^\top + Wb_g + Rb_g`, so
  ``W`` (1, kH, D) is the Keras kernel transposed and ``R`` (1, kH, H) the
  recurrent kernel transposed, with the gate blocks reordered: the LSTM's
  Keras order :math:`[i, f, c, o]` becomes ONNX's :math:`[i, o, f, c]`; the GRU's
  :math:`[z, r, h]` is ONNX's too.  ``B`` (1, 2kH) is :math:`[Wb, Rb]`: the
  bias and zeros (SimpleRNN, LSTM), or the GRU's two bias rows (input, then
  recurrent), with ``linear_before_reset=1`` (Keras' ``reset_after=True``:
  :math:`r \odot (h_{t-1} U_h + b_h)`).  The activations: tanh, sigmoid, relu by
  name, linear as ``Affine`` with :math:`\alpha = 1, \beta = 0`; the LSTM's
  ``[recurrent_activation, activation, activation]``, the GRU's
  ``[recurrent_activation, activation]``.  The outputs: ``Y`` (T, 1, N, H)
  squeezed and transposed for ``return_sequences=True``, ``Y_h`` (and the
  LSTM's ``Y_c``) squeezed to (N, H) for the last state and ``return_state``.
* MultiHeadAttention: the projections as ``MatMul`` and ``Add`` at every
  position; heads split by ``Reshape`` and ``Transpose``; the scores
  :math:`(Q K^\top) c` by a batched ``MatMul``; a mask by ``Where`` setting the
  hidden scores to the dtype's lowest finite number (the causal mask a
  constant (1, 1, T, T); the padding mask of ``mha([x, mask])`` read from the
  mask input, nonzero meaning a real token, as (N, 1, 1, T)); ``Softmax`` over
  the keys; with a padding mask, ``Where`` sets the hidden weights to exactly
  0, so that a query that sees no key gets weights 0 and output :math:`b_o`, as
  in tinynet; then :math:`P V`, the heads merged, the output projection.  The
  key bias cancels in the softmax and is left out, as tinynet leaves it out.

Dtype.  The graph computes in the model's dtype: float32 (``tensor(float)``)
or float64 (``tensor(double)``).  onnxruntime's CPU provider runs float64
``MatMul``, ``LayerNormalization``, ``Gather``, attention and the activations
except ``Erf`` (the exact GELU's), but has no float64 ``Conv``, pooling,
``RNN``, ``LSTM`` or ``GRU`` kernels; export a float32 copy of such a float64
model for it (the float64 graph is still valid ONNX, for other engines).
ONNX stores the normalization layers' epsilon as a float32 attribute, so a
float64 graph adds :math:`\epsilon` rounded to float32 (1e-3 becomes
1e-3 + 4.7e-11, which moves float64 outputs by about 1e-10).

Token ids.  tinynet refuses ids outside :math:`[0, V)`; the graph does not
check them: ONNX's ``Gather`` takes a negative id :math:`k \ge -V` as
:math:`V + k` (the last rows), and onnxruntime fails the run on ids
:math:`\ge V` or :math:`< -V`.  Validate ids before the session if they can
come from outside.

A layer of any other class (a custom layer, or a subclass of a built-in one,
whose forward may differ) has no mapping: :func:`export_onnx` raises
:class:`ValueError` naming it.

This module imports ``onnx`` when called; ``import tinynet`` does not import
it (install it with ``pip install tinynet[onnx]``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..layers import (
    ELU,
    GELU,
    Activation,
    AvgPool2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    GlobalAveragePooling2D,
    LayerNormalization,
    LeakyReLU,
    Linear,
    MaxPool2D,
    ReLU,
    Reshape,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from ..layers.base import Layer
from ._graph import Graph as _Graph
from ._graph import activation as _activation
from ._graph import activation_of as _activation_of
from ._graph import affine
from ._sequence import SEQUENCE_CONVERTERS

#: The opset :func:`export_onnx` writes by default: the lowest with ``LayerNormalization``.
DEFAULT_OPSET = 17
#: The lowest opset :func:`export_onnx` accepts.
MIN_OPSET = 17


def _same_padding(size: int, k: int, s: int) -> tuple[int, int]:
    """(before, after) of ``padding="same"``: the odd extra row/column goes after."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _dense(g: _Graph, layer: Dense, x: str) -> str:
    z = affine(g, x, layer.params["W"], layer.params.get("b"), layer.name)
    return _activation(g, *_activation_of(layer.activation), z, layer.name)


def _conv(g: _Graph, layer: Conv2D, x: str) -> str:
    hint = layer.name
    (kh, kw), (sh, sw) = layer.kernel_size, layer.strides
    _, h, w = layer.input_shape
    if layer.padding == "same":
        (top, bottom), (left, right) = _same_padding(h, kh, sh), _same_padding(w, kw, sw)
    else:
        p = 0 if layer.padding == "valid" else int(layer.padding)
        top = bottom = left = right = p
    inputs = [x, g.const(hint + "_W", layer.params["W"])]
    if layer.use_bias:
        inputs.append(g.const(hint + "_b", layer.params["b"]))
    z = g.op(
        "Conv",
        inputs,
        hint,
        kernel_shape=[kh, kw],
        strides=[sh, sw],
        pads=[top, left, bottom, right],
        dilations=[1, 1],
    )
    return _activation(g, *_activation_of(layer.activation), z, hint)


def _pool(op_type: str) -> Callable[[_Graph, Any, str], str]:
    def convert(g: _Graph, layer, x: str) -> str:
        return g.op(
            op_type,
            [x],
            layer.name,
            kernel_shape=list(layer.pool_size),
            strides=list(layer.strides),
            pads=[0, 0, 0, 0],
        )

    return convert


def _global_average(g: _Graph, layer: GlobalAveragePooling2D, x: str) -> str:
    return g.op("Flatten", [g.op("GlobalAveragePool", [x], layer.name)], layer.name, axis=1)


def _batch_norm(g: _Graph, layer: BatchNormalization, x: str) -> str:
    hint = layer.name
    inputs = [
        x,
        g.const(hint + "_gamma", layer.params["gamma"]),
        g.const(hint + "_beta", layer.params["beta"]),
        g.const(hint + "_mean", layer.state["moving_mean"]),
        g.const(hint + "_var", layer.state["moving_variance"]),
    ]
    return g.op("BatchNormalization", inputs, hint, epsilon=float(layer.epsilon))


def _layer_norm(g: _Graph, layer: LayerNormalization, x: str) -> str:
    hint = layer.name
    inputs = [
        x,
        g.const(hint + "_gamma", layer.params["gamma"]),
        g.const(hint + "_beta", layer.params["beta"]),
    ]
    return g.op("LayerNormalization", inputs, hint, axis=-1, epsilon=float(layer.epsilon))


def _reshape(g: _Graph, layer: Reshape, x: str) -> str:
    target = layer.compute_output_shape(layer.input_shape)
    return g.op("Reshape", [x, g.const(layer.name + "_shape", [-1, *target], np.dtype(np.int64))], layer.name)


def _flatten(g: _Graph, layer: Flatten, x: str) -> str:
    return g.op("Flatten", [x], layer.name, axis=1)


def _identity(g: _Graph, layer: Layer, x: str) -> str:
    return g.op("Identity", [x], layer.name)


def _activation_layer(g: _Graph, layer, x: str) -> str:
    fn = layer.fn if isinstance(layer, Activation) else layer
    out = _activation(g, *_activation_of(fn), x, layer.name)
    return out if out != x else _identity(g, layer, x)


#: Layer class -> converter.  Exact classes only: a subclass may compute something else.
CONVERTERS: dict[type, Callable[[_Graph, Any, str], str]] = {
    Dense: _dense,
    Conv2D: _conv,
    MaxPool2D: _pool("MaxPool"),
    AvgPool2D: _pool("AveragePool"),
    GlobalAveragePooling2D: _global_average,
    BatchNormalization: _batch_norm,
    LayerNormalization: _layer_norm,
    Flatten: _flatten,
    Reshape: _reshape,
    Dropout: _identity,
    Activation: _activation_layer,
    **{
        cls: _activation_layer
        for cls in (ReLU, LeakyReLU, ELU, Sigmoid, Tanh, Softmax, Softplus, GELU, Linear)
    },
    **SEQUENCE_CONVERTERS,
}


def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "exporting to ONNX needs the onnx package: pip install 'tinynet[onnx]' (or pip install onnx)"
        ) from None
    return onnx


def to_onnx(model, *, opset: int = DEFAULT_OPSET):
    """The ``onnx.ModelProto`` computing ``model.predict`` (see the module docstring).

    Parameters
    ----------
    model : Sequential or Model
        A built model (trained or not) of built-in layers: a Sequential, or a
        functional model (``tn.Model``) with any number of inputs and outputs.
    opset : int
        The ONNX opset to declare, at least :data:`MIN_OPSET`.

    Raises
    ------
    ValueError
        For a model that is not built, a layer without an ONNX mapping (named),
        or an opset out of range.
    ImportError
        When the ``onnx`` package is not installed.
    """
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise ValueError(f"opset must be an integer, got {opset!r}")
    onnx = _import_onnx()
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= int(opset) <= newest:
        raise ValueError(
            f"opset must be between {MIN_OPSET} (the first with LayerNormalization) and {newest} (the newest "
            f"the installed onnx {onnx.__version__} knows), got {opset}"
        )
    layers = getattr(model, "layers", None)
    if not layers:
        raise ValueError("cannot export a model without layers")
    if not model.built:
        try:
            model.build()  # possible when the first layer knows its input shape
        except ValueError:
            raise ValueError(
                "cannot export a model before it is built; call model.build(input_shape) or train it"
            ) from None
    missing = [
        f"{layer.name!r} ({type(layer).__name__})" for layer in layers if type(layer) not in CONVERTERS
    ]
    if missing:
        raise ValueError(
            f"layer {missing[0]} has no ONNX mapping, so the model cannot be exported; tinynet exports its "
            f"built-in layers ({', '.join(sorted(c.__name__ for c in CONVERTERS))})"
        )
    inputs, nodes, outputs = _topology(model)
    dtype = np.dtype(model._dtype())
    g = _Graph(onnx, dtype)
    output_names = [_output_name(k) for k in range(len(outputs))]
    g.reserve([name for name, _ in inputs] + output_names)
    elem = onnx.helper.np_dtype_to_tensor_dtype(dtype)
    # an input that only Embedding layers read holds token ids: int64, what Gather indexes with
    readers: dict[int, set[type]] = {}
    for layer, (ins, _, _) in zip(layers, nodes, strict=True):
        for t in ins:
            readers.setdefault(t, set()).add(type(layer))
    graph_inputs = []
    for t, (name, shape) in enumerate(inputs):
        ids = readers.get(t) == {Embedding}
        if ids:
            g.int64.add(name)
        elem_t = onnx.TensorProto.INT64 if ids else elem
        graph_inputs.append(onnx.helper.make_tensor_value_info(name, elem_t, ["batch", *shape]))
    values: list[Any] = [name for name, _ in inputs] + [None] * sum(len(outs) for _, _, outs in nodes)
    for layer, (ins, listed, outs) in zip(layers, nodes, strict=True):
        args = [values[t] for t in ins]
        y = CONVERTERS[type(layer)](g, layer, args if listed else args[0])
        for t, name in zip(outs, y if len(outs) > 1 else [y], strict=True):
            values[t] = name
    graph_outputs = []
    for name, (t, shape) in zip(output_names, outputs, strict=True):
        g.op("Identity", [values[t]], name, output=name)
        graph_outputs.append(onnx.helper.make_tensor_value_info(name, elem, ["batch", *shape]))
    graph = onnx.helper.make_graph(
        g.nodes, _safe_name(model.name), graph_inputs, graph_outputs, initializer=g.initializers
    )
    from .. import __version__

    proto = onnx.helper.make_model(
        graph,
        opset_imports=[onnx.helper.make_opsetid("", int(opset))],
        producer_name="tinynet",
        producer_version=__version__,
    )
    proto.ir_version = min(proto.ir_version, _IR_VERSION_OF_OPSET.get(int(opset), proto.ir_version))
    onnx.checker.check_model(proto, full_check=True)
    return proto


# The IR version that came with each opset (onnx's VERSION_TABLE): an older runtime refuses a newer IR.
_IR_VERSION_OF_OPSET = {17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10}


def _output_name(k: int) -> str:
    """``output`` for a single output; ``output``, ``output_1``, ... for several (as tinynet names inputs)."""
    return "output" if k == 0 else f"output_{k}"


def _topology(model) -> tuple[list[tuple[str, tuple]], list[tuple[list[int], bool, list[int]]], list[tuple]]:
    """The model as a graph: inputs ``(name, sample shape)``, one node ``(input ids, listed, output
    ids)`` per layer (tensor ids count the inputs first), and outputs ``(tensor id, sample shape)``.

    A Sequential is a chain: input ``"input"`` is tensor 0 and layer ``i`` maps tensor ``i`` to ``i + 1``.
    """
    graph = getattr(model, "_graph", None)
    if graph is None:
        shape = tuple(model.input_shape)
        nodes = []
        for i, layer in enumerate(model.layers):
            shape = tuple(layer.compute_output_shape(shape))
            nodes.append(([i], False, [i + 1]))
        return [("input", tuple(model.input_shape))], nodes, [(len(model.layers), shape)]
    inputs = [(str(t.name), tuple(t.shape)) for t in model.inputs]
    outputs = [(t, tuple(y.shape)) for t, y in zip(graph["output_ids"], model.outputs, strict=True)]
    return inputs, [(list(i), bool(listed), list(o)) for i, listed, o in graph["nodes"]], outputs


def _safe_name(name: Any) -> str:
    return str(name) or "tinynet_model"


def export_onnx(model, path: str | os.PathLike, *, opset: int = DEFAULT_OPSET) -> None:
    """Write ``model`` as an ONNX file at ``path`` (atomically), checked by ``onnx.checker``.

    Parameters
    ----------
    model : Sequential or Model
        A built model of built-in layers (see :mod:`tinynet.onnx_export` for the mapping, and
        for the names and dtypes of the graph's inputs and outputs).
    path : str or path-like
        The ``.onnx`` file to write.
    opset : int
        The ONNX opset, :data:`DEFAULT_OPSET` (17) by default.

    Examples
    --------
    >>> tn.export_onnx(model, "model.onnx")  # doctest: +SKIP
    >>> import onnxruntime as ort  # doctest: +SKIP
    >>> ort.InferenceSession("model.onnx").run(None, {"input": x})[0]  # doctest: +SKIP
    """
    from ..serialization._archive import atomic_write

    proto = to_onnx(model, opset=opset)
    data = proto.SerializeToString()
    atomic_write(Path(os.fspath(path)), lambda f: f.write(data))
