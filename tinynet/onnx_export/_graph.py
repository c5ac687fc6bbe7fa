r"""The graph under construction: nodes, initializers, fresh tensor names, and the activations.

Shared by the converters of :mod:`tinynet.onnx_export` (the core layers) and
:mod:`tinynet.onnx_export._sequence` (merge, embedding, recurrent and attention layers).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715


class Graph:
    """The nodes and initializers of the graph being built, with fresh tensor names.

    Every name :meth:`name` hands out is new: it skips the names :meth:`reserve`
    took (the graph's inputs and outputs) and those it gave before.  Tensors
    holding integer token ids are listed in :attr:`int64` (everything else is in
    the model's float dtype).
    """

    def __init__(self, onnx_module, dtype: np.dtype) -> None:
        self.onnx = onnx_module
        self.helper = onnx_module.helper
        self.dtype = dtype
        self.nodes: list = []
        self.initializers: list = []
        self.int64: set[str] = set()
        self._taken: set[str] = set()
        self._count = 0

    def reserve(self, names: list[str]) -> None:
        """Names the graph's inputs and outputs use: never handed out by :meth:`name`."""
        self._taken.update(names)

    def name(self, hint: str) -> str:
        while True:
            self._count += 1
            name = f"{hint}_{self._count}"
            if name not in self._taken:
                self._taken.add(name)
                return name

    def const(self, hint: str, value: Any, dtype: np.dtype | None = None) -> str:
        """An initializer holding ``value`` (in the model's dtype unless ``dtype``)."""
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def ints(self, hint: str, values: list[int]) -> str:
        """An int64 initializer (shapes, axes)."""
        return self.const(hint, values, np.dtype(np.int64))

    def op(
        self, op_type: str, inputs: list[str], hint: str, *, output: str | None = None, **attributes
    ) -> str:
        """A node of one output (named ``output``, or a fresh name from ``hint``); returns the output's name."""
        output = self.name(hint) if output is None else output
        self.nodes.append(self.helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output

    def op_outputs(
        self, op_type: str, inputs: list[str], hint: str, wanted: list[bool], **attributes
    ) -> list[str]:
        """A node of several outputs, of which those ``wanted`` get names (the others ``""``: not computed)."""
        while wanted and not wanted[-1]:  # trailing optional outputs are left out
            wanted = wanted[:-1]
        outputs = [self.name(hint) if w else "" for w in wanted]
        self.nodes.append(
            self.helper.make_node(
                op_type, inputs, outputs, name=self.name(hint + "_" + op_type), **attributes
            )
        )
        return outputs


def affine(g: Graph, x: str, W: np.ndarray, b: np.ndarray | None, hint: str) -> str:
    """``x W + b`` (``b`` None: ``x W``), with ``W`` and ``b`` as initializers named after ``hint``."""
    z = g.op("MatMul", [x, g.const(hint + "_W", W)], hint)
    return z if b is None else g.op("Add", [z, g.const(hint + "_b", b)], hint)


def activation(g: Graph, name: str, alpha: float | None, x: str, hint: str) -> str:
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


def activation_of(fn) -> tuple[str, float | None]:
    """(name, alpha) of an activation object (``None`` for no activation)."""
    if fn is None:
        return "linear", None
    return fn.activation_name, getattr(fn, "alpha", None)
