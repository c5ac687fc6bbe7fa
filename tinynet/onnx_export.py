r"""Export a tinynet model to ONNX, for onnxruntime and the serving engines that read it.

``export_onnx(model, "model.onnx")`` writes one ONNX graph computing
``model.predict``: its input ``"input"`` has shape ``(batch, *model.input_shape)``
(the batch axis is dynamic), its output ``"output"`` has the shape of a
prediction.  Layers are translated in inference form: Dropout is the identity,
BatchNormalization uses its running statistics.

Opset.  The graph uses opset :data:`DEFAULT_OPSET` (17) of the default ONNX
domain: the lowest with ``LayerNormalization``.  Every other operator used
(``MatMul``, ``Add``, ``Mul``, ``Conv``, ``MaxPool``, ``AveragePool``,
``GlobalAveragePool``, ``BatchNormalization``, ``Flatten``, ``Reshape``,
``Relu``, ``LeakyRelu``, ``Elu``, ``Sigmoid``, ``Tanh``, ``Softmax``, ``Exp``,
``Log``, ``Abs``, ``Neg``, ``Erf``, ``Identity``) has kept the same meaning since opset 13 or
earlier, so a later opset may be asked for (``opset=`` up to what the
installed ``onnx`` knows).

Each built-in layer maps to operators computing the same formula:

* Dense: :math:`Z = XW + b` as ``MatMul`` then ``Add``; its activation follows.
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
  the last axis.
* Activations: ``Relu``, ``LeakyRelu(alpha)``, ``Elu(alpha)``, ``Sigmoid``,
  ``Tanh``, ``Softmax(axis=-1)``; softplus as
  :math:`\max(x, 0) + \log(1 + e^{-|x|})` (never exponentiates a positive
  number, as tinynet); the exact GELU as :math:`\tfrac12 x (1 + \mathrm{erf}(x/\sqrt2))`
  with ``Erf``, the tanh form (``"gelu_tanh"``) as :math:`x\,\sigma(2c(x + kx^3))`,
  :math:`c = \sqrt{2/\pi}`, :math:`k = 0.044715` (ONNX's own ``Gelu`` needs opset 20).

Dtype.  The graph computes in the model's dtype: float32 (``tensor(float)``)
or float64 (``tensor(double)``).  onnxruntime's CPU provider runs float64
``MatMul``, ``LayerNormalization`` and the activations except ``Erf`` (the
exact GELU's), but has no float64 ``Conv`` or pooling kernels; export a float32
copy of a float64 CNN, or of a float64 model with the exact GELU, for it.
ONNX stores the normalization layers' epsilon as a float32 attribute, so a
float64 graph adds :math:`\epsilon` rounded to float32 (1e-3 becomes
1e-3 + 4.7e-11, which moves float64 outputs by about 1e-10).

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

from .layers import (
    ELU,
    GELU,
    Activation,
    AvgPool2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
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
from .layers.base import Layer

#: The opset :func:`export_onnx` writes by default: the lowest with ``LayerNormalization``.
DEFAULT_OPSET = 17
#: The lowest opset :func:`export_onnx` accepts.
MIN_OPSET = 17

_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715


class _Graph:
    """The nodes and initializers of the graph being built, with fresh tensor names."""

    def __init__(self, onnx_module, dtype: np.dtype) -> None:
        self.onnx = onnx_module
        self.helper = onnx_module.helper
        self.dtype = dtype
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value: Any, dtype: np.dtype | None = None) -> str:
        """An initializer holding ``value`` (in the model's dtype unless ``dtype``)."""
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, **attributes) -> str:
        output = self.name(hint)
        self.nodes.append(self.helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output


def _activation(g: _Graph, name: str, alpha: float | None, x: str, hint: str) -> str:
    """The graph of tinynet's activation ``name`` applied to tensor ``x``."""
    if name == "linear":
        return x
    if name == "relu":
        return g.op("Relu", [x], hint)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], hint, alpha=float(alpha))
    if name == "elu":
        return g.op("Elu", [x], hint, alpha=float(alpha))
    if name == "sigmoid":
        return g.op("Sigmoid", [x], hint)
    if name == "tanh":
        return g.op("Tanh", [x], hint)
    if name == "softmax":
        return g.op("Softmax", [x], hint, axis=-1)
    if name == "softplus":  # max(x, 0) + log(1 + exp(-|x|))
        tail = g.op("Exp", [g.op("Neg", [g.op("Abs", [x], hint)], hint)], hint)
        log = g.op("Log", [g.op("Add", [tail, g.const(hint + "_one", 1.0)], hint)], hint)
        return g.op("Add", [g.op("Relu", [x], hint), log], hint)
    if name == "gelu":  # exact: x * (1 + erf(x / sqrt 2)) / 2
        scaled = g.op("Mul", [x, g.const(hint + "_inv_sqrt2", 1.0 / math.sqrt(2.0))], hint)
        one_plus = g.op("Add", [g.op("Erf", [scaled], hint), g.const(hint + "_one", 1.0)], hint)
        return g.op("Mul", [g.op("Mul", [x, one_plus], hint), g.const(hint + "_half", 0.5)], hint)
    if name == "gelu_tanh":  # x * sigmoid(2c (x + k x^3))
        cube = g.op("Mul", [g.op("Mul", [x, x], hint), x], hint)
        inner = g.op("Add", [x, g.op("Mul", [cube, g.const(hint + "_k", _GELU_K)], hint)], hint)
        u2 = g.op("Mul", [inner, g.const(hint + "_2c", 2.0 * _GELU_C)], hint)
        return g.op("Mul", [x, g.op("Sigmoid", [u2], hint)], hint)
    raise ValueError(f"the activation {name!r} has no ONNX mapping")  # pragma: no cover - all are mapped


def _activation_of(fn) -> tuple[str, float | None]:
    """(name, alpha) of an activation object (``None`` for no activation)."""
    if fn is None:
        return "linear", None
    return fn.activation_name, getattr(fn, "alpha", None)


def _same_padding(size: int, k: int, s: int) -> tuple[int, int]:
    """(before, after) of ``padding="same"``: the odd extra row/column goes after."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _dense(g: _Graph, layer: Dense, x: str) -> str:
    hint = layer.name
    z = g.op("MatMul", [x, g.const(hint + "_W", layer.params["W"])], hint)
    if layer.use_bias:
        z = g.op("Add", [z, g.const(hint + "_b", layer.params["b"])], hint)
    return _activation(g, *_activation_of(layer.activation), z, hint)


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
    model : Sequential
        A built model (trained or not) of built-in layers.
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
    if getattr(model, "_graph", None) is not None:  # the exporter writes a chain of layers
        raise ValueError(
            f"cannot export model {model.name!r}: ONNX export handles Sequential models (a chain of layers), "
            "not functional ones (tn.Model)"
        )
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
    dtype = np.dtype(layers[0].dtype)
    g = _Graph(onnx, dtype)
    x = "input"
    for layer in layers:
        x = CONVERTERS[type(layer)](g, layer, x)
    # the last node's output is renamed "output"; a model of identities only gets one Identity more
    if not g.nodes or g.nodes[-1].output[0] != x:
        x = g.op("Identity", [x], "output")
    g.nodes[-1].output[0] = "output"
    elem = onnx.helper.np_dtype_to_tensor_dtype(dtype)
    output_shape = _output_shape(model)
    graph = onnx.helper.make_graph(
        g.nodes,
        _safe_name(model.name),
        [onnx.helper.make_tensor_value_info("input", elem, ["batch", *model.input_shape])],
        [onnx.helper.make_tensor_value_info("output", elem, ["batch", *output_shape])],
        initializer=g.initializers,
    )
    from . import __version__

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


def _output_shape(model) -> tuple[int, ...]:
    shape = tuple(model.input_shape)
    for layer in model.layers:
        shape = tuple(layer.compute_output_shape(shape))
    return shape


def _safe_name(name: Any) -> str:
    return str(name) or "tinynet_model"


def export_onnx(model, path: str | os.PathLike, *, opset: int = DEFAULT_OPSET) -> None:
    """Write ``model`` as an ONNX file at ``path`` (atomically), checked by ``onnx.checker``.

    Parameters
    ----------
    model : Sequential
        A built model of built-in layers (see :mod:`tinynet.onnx_export` for the mapping).
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
    from .serialization._archive import atomic_write

    proto = to_onnx(model, opset=opset)
    data = proto.SerializeToString()
    atomic_write(Path(os.fspath(path)), lambda f: f.write(data))
