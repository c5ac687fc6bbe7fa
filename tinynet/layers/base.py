"""The layer protocol every tinynet layer follows.

A layer is a small object with a forward pass and a hand-derived backward pass:

``build(input_shape)``
    Create the parameters for inputs of ``input_shape`` (the shape *without*
    the batch axis).  Called once, by the model or by the first call.
``forward(x, training=False)``
    Return the output for a batch ``x`` and keep, as attributes, what the
    backward pass needs (the *cache*).
``backward(grad_output)``
    Given :math:`G = \\partial L / \\partial y` (same shape as the output),
    write :math:`\\partial L / \\partial \\theta` into ``grads`` and return
    :math:`\\partial L / \\partial x` (same shape as the input).
``params`` / ``grads``
    Dicts of arrays with the same keys and shapes: the trainable parameters and
    their gradients.  Once a model is built they are *views into the model's
    flat buffers*: update them in place (``W[...] = value``, ``W -= step``),
    never rebind (``layer.params["W"] = other`` would detach the array).
``regularizers``
    Penalties on parameters, keyed like ``params`` (see :mod:`tinynet.regularizers`
    and :meth:`Layer.add_regularizer`); the model adds each penalty to the loss
    and its gradient to ``grads`` after ``backward``.  A layer's backward pass
    therefore computes the data-loss gradient only.
``need_input_grad``
    ``True`` by default.  A model sets it to ``False`` on its first layer while
    training, because nothing uses the gradient with respect to the data; a
    layer may then skip that computation and return ``None`` from ``backward``
    (Dense and Conv2D do: it saves a matrix product, and col2im).
``reuse_grad_output``
    ``False`` by default.  A model sets it to ``True`` on its layers during its
    own backward pass, where the gradient handed to a layer is a temporary that
    nothing reads again; a layer may then write its input gradient over
    ``grad_output`` (ReLU does).
``state``
    Non-trainable arrays (running averages) that the model file saves and that
    optimizers never touch.
``trainable``
    ``True`` by default; ``layer.trainable = False`` freezes the layer, as in
    Keras: a model's optimizer no longer updates its ``params`` (they move to
    :attr:`non_trainable_weights`), and a frozen
    :class:`~tinynet.layers.BatchNormalization` normalizes with its running
    averages and leaves them unchanged.  The backward pass still runs through
    a frozen layer (the layers below it need the gradient).
``get_config()`` / ``from_config(config)``
    A JSON-able dict of constructor arguments, and the way back.

Math and machinery.  A built-in layer's forward and backward passes are calls
to the pure functions of :mod:`tinynet.ops`, which hold the derivations.  The
arrays they write into come from :meth:`Layer.buffer` and
:meth:`Layer.output_array`: named work arrays of the layer's
:attr:`Layer.workspace`, which a model replaces by its plan's for each batch
shape (see :mod:`tinynet.engine`).  A layer keeps no other state between calls
than its cache (what backward needs from the last forward).

Memory layout: a layer sees its input as an ndarray of the documented
*logical* shape (images are always indexed NCHW), but the array may be a
strided view whose memory runs in another axis order.  Conv2D, for one,
returns a view of its channels-last GEMM result (see :class:`~tinynet.layers.Conv2D`),
and the layers after it keep that order (:meth:`Layer.buffer`'s ``order``
argument), because element-wise work runs fastest when every operand has the
same memory order.  Only speed depends on it: every layer accepts any layout.

Memory contract: in training mode a layer writes its output and its input
gradient into work arrays it reuses on the next call of the same shape (this is
what makes training allocation-free).  An array returned by
``forward(x, training=True)`` or by ``backward`` is therefore valid until the
layer's next call; copy it if you want to keep it.  ``forward(x)`` in
inference mode always returns a fresh array.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from typing import Any, TypeVar, overload

import numpy as np

from .. import regularizers as regularizers_module
from .._config import get_default_dtype
from ..engine import Workspace, allocate

#: Every layer class that a model file may name: the built-ins plus the
#: classes decorated with :func:`register_layer`.  Loading never imports a class
#: by a name found in a file; it only looks names up here.
LAYER_REGISTRY: dict[str, type[Layer]] = {}


#: A layer class; :func:`register_layer` returns the class it is given, with its type.
_LayerClass = TypeVar("_LayerClass", bound="type[Layer]")


@overload
def register_layer(cls: _LayerClass, *, name: str | None = None) -> _LayerClass: ...
@overload
def register_layer(cls: None = None, *, name: str | None = None) -> Callable[[_LayerClass], _LayerClass]: ...
def register_layer(cls: Any = None, *, name: str | None = None) -> Any:
    """Make a layer class savable and loadable by name.

    Use as a decorator, ``@tn.register_layer`` or ``@tn.register_layer(name="MyDense")``.
    The class must follow the layer protocol and its ``get_config()`` must return
    the keyword arguments of its constructor.

    Parameters
    ----------
    cls : type
        A subclass of :class:`Layer`.
    name : str, optional
        The name written to model files (default: the class name).
    """

    def decorate(klass: Any) -> Any:
        if not (isinstance(klass, type) and issubclass(klass, Layer)):
            raise TypeError(f"register_layer expects a subclass of tinynet.layers.Layer, got {klass!r}")
        key = name or klass.__name__
        existing = LAYER_REGISTRY.get(key)
        if existing is not None and existing is not klass:
            raise ValueError(
                f"a different layer class is already registered as {key!r} "
                f"({existing.__module__}.{existing.__qualname__}); pass name=... to register_layer"
            )
        LAYER_REGISTRY[key] = klass
        klass.registered_name = key
        return klass

    return decorate if cls is None else decorate(cls)


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s)
    return s.lower()


class Layer:
    """Base class of every layer (see the module docstring for the protocol).

    Parameters
    ----------
    name : str, optional
        A name unique within its model; the model assigns one (``dense``,
        ``dense_1``, ...) when it is not given.
    input_shape : tuple of int, optional
        The shape of one sample, for the first layer of a model.
    trainable : bool
        Whether a model's optimizer updates this layer's parameters (see
        :attr:`trainable`).
    """

    registered_name: str = ""

    #: The node of the graph this layer was called in symbolically (see :meth:`__call__`), or None.
    _node: Node | None = None

    #: The flag behind :attr:`trainable` (a class default, for subclasses that skip ``Layer.__init__``).
    _trainable: bool = True

    #: Counts every change of any layer's ``trainable`` flag, so that a model notices
    #: a layer frozen or unfrozen after it was built with one comparison per step.
    _trainable_changes: int = 0

    def __init__(
        self,
        *,
        name: str | None = None,
        input_shape: tuple[int, ...] | None = None,
        trainable: bool = True,
    ) -> None:
        self.name = name
        self.trainable = trainable
        self.input_shape: tuple[int, ...] | None = None if input_shape is None else _as_shape(input_shape)
        self.output_shape: tuple[int, ...] | None = None
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        #: Whether ``backward`` must return the input gradient (see the module docstring).
        self.need_input_grad = True
        #: Whether ``backward`` may overwrite ``grad_output`` (see the module docstring).
        self.reuse_grad_output = False
        #: Penalties on parameters, keyed like ``params`` (see :meth:`add_regularizer`).
        self.regularizers: dict[str, regularizers_module.Regularizer] = {}
        self.built = False
        #: Precision of the parameters, fixed when the layer is created (see ``tn.set_default_dtype``).
        self.dtype: np.dtype = get_default_dtype()
        #: Generator for initial weights and random numbers (dropout); the model sets its own.
        self.rng: np.random.Generator | None = None
        #: Where :meth:`buffer` takes its arrays: the layer's own, or a model's (see :mod:`tinynet.engine`).
        self.workspace: Workspace = Workspace()

    # -- freezing ---------------------------------------------------------
    @property
    def trainable(self) -> bool:
        """Whether a model's optimizer updates this layer's parameters (Keras' ``layer.trainable``).

        Set it to ``False`` to freeze the layer: ``fit`` then leaves its weights
        unchanged bit for bit (weight decay, penalties and momentum included),
        and a frozen BatchNormalization uses and keeps its running averages.
        The flag is saved in model files (format version 3).
        """
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(
                f"layer {self.name or type(self).__name__!r}: trainable must be True or False, "
                f"got {value!r} ({type(value).__name__})"
            )
        if bool(value) != self._trainable:  # only a real change makes models gather again
            self._trainable = bool(value)
            Layer._trainable_changes += 1

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The parameters the optimizer updates: all of ``params`` when trainable, else none."""
        return list(self.params.values()) if self._trainable else []

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        """The parameters of a frozen layer, then the state arrays (running averages)."""
        frozen = [] if self._trainable else list(self.params.values())
        return frozen + list(self.state.values())

    @property
    def weights(self) -> list[np.ndarray]:
        """Trainable then non-trainable weights (the arrays themselves, as Keras' ``layer.weights``)."""
        return self.trainable_weights + self.non_trainable_weights

    # -- protocol ---------------------------------------------------------
    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create the parameters for samples of shape ``input_shape``."""
        self.input_shape = _as_shape(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return the output shape (without the batch axis) for ``input_shape``."""
        return tuple(input_shape)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return the layer's output for the batch ``x``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Fill ``grads`` and return the gradient with respect to the last input."""
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def __call__(self, x: Any, training: bool = False) -> Any:
        """Build on first use, check the input shape, and run :meth:`forward`.

        Called on a symbolic tensor (``tn.Input`` or a layer's symbolic output), or
        on a list of them, the layer records a node of a functional model's graph
        instead and returns its symbolic output (see :class:`tinynet.Model`).  A
        list of arrays goes to a layer that takes several inputs (``Add()([a, b])``).
        """
        if isinstance(x, SymbolicTensor) or (
            isinstance(x, (list, tuple)) and x and all(isinstance(t, SymbolicTensor) for t in x)
        ):
            return self._call_symbolic(x)
        if isinstance(x, (list, tuple)):
            xs = [np.asarray(a) for a in x]
            if not self.built:
                self.build([a.shape[1:] for a in xs])  # type: ignore[arg-type]
            self.check_input(xs)  # type: ignore[arg-type]
            return self.forward(xs, training=training)  # type: ignore[arg-type]
        x = np.asarray(x)
        if not self.built:
            self.build(x.shape[1:])
        self.check_input(x)
        return self.forward(x, training=training)

    def _call_symbolic(self, inputs: Any) -> Any:
        """Record this layer as a node of a graph on symbolic ``inputs``; return its symbolic output(s)."""
        listed = isinstance(inputs, (list, tuple))
        tensors = list(inputs) if listed else [inputs]
        if self._node is not None:
            raise ValueError(
                f"layer {self.name or type(self).__name__!r} is already called on "
                f"{_tensor_names(self._node.inputs)}; a tinynet layer can be used once in a model, because it "
                "keeps the cache of one call (Keras' shared layers are not supported): create another layer "
                "for the second use"
            )
        shapes = [t.shape for t in tensors]
        arg = shapes if listed else shapes[0]
        try:
            declared = self.input_shape
            if declared is not None and (list(declared) if listed else tuple(declared)) != arg:  # type: ignore[arg-type]
                raise ValueError(f"it declares inputs of shape {declared}")
            if not self.built:
                self.build(arg)  # type: ignore[arg-type]
            elif (list(self.input_shape) if listed else self.input_shape) != arg:  # type: ignore[arg-type]
                raise ValueError(f"it was built for inputs {self.input_shape}")
        except ValueError as exc:
            raise ValueError(
                f"layer {self.name or type(self).__name__!r} cannot be called on "
                f"{_tensor_names(tensors)} of shape {arg}: {exc}"
            ) from None
        node = Node(self, tensors, listed)
        self._node = node
        out = self.output_shape
        if isinstance(out, list):  # several outputs (an RNN with return_state=True)
            node.outputs = [SymbolicTensor(tuple(s), node, j) for j, s in enumerate(out)]
            return list(node.outputs)
        node.outputs = [SymbolicTensor(tuple(out), node, 0)]  # type: ignore[arg-type]
        return node.outputs[0]

    def check_input(self, x: np.ndarray) -> None:
        """Raise a ``ValueError`` naming the layer when ``x`` does not fit it."""
        if self.input_shape is not None and tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(
                f"layer {self.name or type(self).__name__!r} expects inputs of shape "
                f"(batch, {', '.join(map(str, self.input_shape))}) but received {tuple(x.shape)}; "
                "reshape the data or change the layer's input shape"
            )

    # -- parameters -------------------------------------------------------
    def add_param(
        self, key: str, value: np.ndarray | str, shape: tuple[int, ...] | None = None
    ) -> np.ndarray:
        """Register a trainable parameter and allocate its gradient.

        ``value`` is an array, or the name of an initializer (see
        :mod:`tinynet.initializers`) to draw an array of ``shape`` from the
        layer's generator (the model's, once the layer is in a model).
        """
        if isinstance(value, str):
            from .. import initializers  # deferred: initializers imports the config, not the layers

            value = initializers.get(value)(shape, dtype=self.dtype, rng=self.rng)
        value = np.ascontiguousarray(value, dtype=self.dtype)
        self.params[key] = value
        self.grads[key] = np.zeros(value.shape, value.dtype)  # calloc: no page is touched until used
        return value

    def add_regularizer(
        self, key: str, regularizer: regularizers_module.Regularizer | str | dict | None
    ) -> regularizers_module.Regularizer | None:
        """Penalise the parameter ``key`` with ``regularizer`` (None removes a penalty).

        This is the one hook a layer needs to support a ``kernel_regularizer``
        argument: call it in ``__init__``, before any model is built (the
        parameter itself may not exist yet, and a built model has already
        listed the penalised parameters), and
        keep the returned object for ``get_config``, e.g.
        ``self.kernel_regularizer = self.add_regularizer("W", kernel_regularizer)``.
        The model then adds the penalty to the loss and its gradient to
        ``grads[key]``; ``backward`` itself stays unchanged.

        Parameters
        ----------
        key : str
            The parameter's key in ``params`` (e.g. ``"W"``).
        regularizer : Regularizer, str, dict or None
            Anything :func:`tinynet.regularizers.get` accepts.

        Returns
        -------
        Regularizer or None
            The regularizer object.
        """
        reg = regularizers_module.get(regularizer)
        if reg is None:
            self.regularizers.pop(key, None)
        else:
            self.regularizers[key] = reg
        return reg

    def regularization_loss(self) -> float:
        """The sum of this layer's penalties :math:`\\sum R(W)` at the current weights."""
        return float(sum(reg.penalty(self.params[key]) for key, reg in self.regularizers.items()))

    def count_params(self) -> int:
        """Number of parameter scalars, trainable or frozen (the state arrays are not counted)."""
        return int(sum(p.size for p in self.params.values()))

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the parameters, then the state arrays, in key order."""
        return [p.copy() for p in self.params.values()] + [s.copy() for s in self.state.values()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Copy ``weights`` (as from :meth:`get_weights`) into the arrays in place."""
        targets = list(self.params.items()) + list(self.state.items())
        if len(weights) != len(targets):
            raise ValueError(f"layer {self.name!r} has {len(targets)} weight arrays, got {len(weights)}")
        for (key, target), value in zip(targets, weights, strict=True):
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(
                    f"layer {self.name!r}: weight {key!r} has shape {target.shape}, got {value.shape}"
                )
            target[...] = value

    # -- configuration ----------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a JSON-able dict."""
        config: dict[str, Any] = {"name": self.name}
        if self.input_shape is not None:
            config["input_shape"] = list(self.input_shape)
        if not self._trainable:  # only when frozen: the configs of trainable layers are as before
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Rebuild a layer from :meth:`get_config`'s output."""
        return cls(**config)

    # -- helpers ----------------------------------------------------------
    def buffer(
        self,
        key: str,
        shape: tuple[int, ...],
        dtype: np.dtype | None = None,
        order: tuple[int, ...] | None = None,
    ) -> np.ndarray:
        """The work array ``key`` of ``shape`` from :attr:`workspace` (contents undefined).

        The same array on every call with the same shape (in a model: for every
        step of one batch shape).  ``order`` (from :func:`memory_order`) asks for
        the memory layout of another array: axis ``order[0]`` outermost,
        ``order[-1]`` innermost; ``None`` means C order.
        """
        dtype = self.dtype if dtype is None else dtype
        a = self.workspace.arrays.get(key)  # the usual case, inline: a step asks for a dozen arrays
        if a is not None and a.shape == shape and a.dtype == dtype:
            return a
        return self.workspace.array(key, shape, dtype, order)

    def buffer_like(self, key: str, a: np.ndarray, dtype=None, zeros: bool = False) -> np.ndarray:
        """:meth:`buffer` (or :meth:`zeroed_buffer`) with the shape and memory layout of ``a``."""
        dtype = a.dtype if dtype is None else dtype
        b = self.workspace.arrays.get(key)
        if b is not None and b.shape == a.shape and b.dtype == dtype:
            return b  # the layout is looked at only when the array is made
        return self.workspace.array(key, a.shape, dtype, memory_order(a), zeros)

    def zeroed_buffer(
        self,
        key: str,
        shape: tuple[int, ...],
        dtype: np.dtype | None = None,
        order: tuple[int, ...] | None = None,
    ) -> np.ndarray:
        """Like :meth:`buffer`, but filled with zeros whenever it is (re)allocated.

        For work arrays whose zeros the caller never overwrites (a padding
        border): they are zeroed once, not on every call.
        """
        return self.workspace.array(key, shape, self.dtype if dtype is None else dtype, order, zeros=True)

    def output_array(
        self,
        key: str,
        shape: tuple[int, ...],
        training: bool,
        dtype=None,
        order: tuple[int, ...] | None = None,
    ) -> np.ndarray:
        """:meth:`buffer` when training, a fresh array otherwise (see the memory contract)."""
        dtype = self.dtype if dtype is None else dtype
        return self.buffer(key, shape, dtype, order) if training else allocate(shape, dtype, order)

    def _describe(self) -> str:
        """The layer's class and name for error messages: ``Conv2D 'conv2d_1'``."""
        return f"{type(self).__name__} {self.name!r}" if self.name else type(self).__name__

    def default_name(self) -> str:
        """The base of the name a model gives this layer (``Dense`` -> ``dense``)."""
        return _snake(type(self).__name__)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


def memory_order(a: np.ndarray) -> tuple[int, ...] | None:
    """The axes of ``a`` from outermost to innermost in memory; ``None`` for C order.

    For a channels-last image batch viewed as NCHW (``z.transpose(0, 3, 1, 2)``
    of a C-ordered (N, H, W, C) array) this is ``(0, 2, 3, 1)``.  Pass it as
    ``order`` to :meth:`Layer.buffer` to allocate work arrays with the same
    layout.
    """
    if a.flags.c_contiguous:
        return None
    return _order_of_strides(a.strides)


@functools.lru_cache(maxsize=256)
def _order_of_strides(strides: tuple[int, ...]) -> tuple[int, ...] | None:
    # stable sort: axes of equal stride (size-1 axes) keep their logical order
    order = tuple(sorted(range(len(strides)), key=lambda axis: -strides[axis]))
    return None if order == tuple(range(len(strides))) else order


def _as_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


_node_counter = itertools.count()


class SymbolicTensor:
    """A placeholder for the batch a layer will receive: a shape, and the node that makes it.

    What ``tn.Input(shape=...)`` is and what a layer returns when called on one;
    :class:`tinynet.Model` follows them back from its outputs to its inputs to find
    its graph (Keras' ``KerasTensor``).

    Attributes
    ----------
    shape : tuple of int
        The shape of one sample (no batch axis).
    node : Node or None
        The layer call that produces it (None for an ``Input``).
    index : int
        Which output of that node it is.
    """

    def __init__(self, shape: tuple[int, ...], node: Node | None = None, index: int = 0) -> None:
        self.shape = tuple(shape)
        self.node = node
        self.index = index

    @property
    def name(self) -> str:  # an Input sets its own
        layer = self.node.layer if self.node is not None else None
        base = layer.name or type(layer).__name__ if layer is not None else "input"
        return base if self.index == 0 else f"{base}[{self.index}]"

    def __repr__(self) -> str:
        return f"<SymbolicTensor {self.name!r} shape=(None, {', '.join(map(str, self.shape))})>"


class Node:
    """One call of a layer in a graph: the layer, its input tensors, its output tensors.

    ``listed`` says whether the layer was called on a list (``Add()([a, b])``) or on one
    tensor; ``order`` (a creation counter) is a topological order, since a node is
    made after its inputs exist.
    """

    def __init__(self, layer: Layer, inputs: list[SymbolicTensor], listed: bool) -> None:
        self.layer, self.inputs, self.listed = layer, inputs, listed
        self.outputs: list[SymbolicTensor] = []
        self.order = next(_node_counter)


def _tensor_names(tensors: list[SymbolicTensor]) -> str:
    names = [repr(t.name) for t in tensors]
    return names[0] if len(names) == 1 else "[" + ", ".join(names) + "]"


class Input(SymbolicTensor):
    """A model's input: a symbolic tensor of the shape of one sample (Keras' ``keras.Input``).

    In a functional model, layers are called on it::

        x = tn.Input(shape=(8,))
        y = Dense(1, activation="sigmoid")(Dense(16, activation="relu")(x))
        model = tn.Model(x, y)

    As the first element of a Sequential, ``tn.Sequential([tn.Input(shape=(4,)), Dense(8), Dense(1)])``,
    it declares 4 features per sample; the model then builds each layer as it is
    added (see :meth:`tinynet.Sequential.add`).  It is not a layer: it has no
    weights, does nothing to the data and does not appear in ``model.layers``
    (Keras lists it neither).

    Parameters
    ----------
    shape : tuple of int
        The shape of one sample, without the batch axis, e.g. ``(4,)`` or ``(1, 28, 28)``.
    batch_size : int, optional
        Accepted for Keras' signature and ignored (every batch size works).
    dtype : str, optional
        ``None`` or the default dtype (``tn.set_default_dtype`` chooses the precision).
    batch_shape : tuple, optional
        Keras' alternative to ``shape``: ``(batch_size, *shape)``.
    name : str, optional
    """

    def __init__(
        self,
        shape: tuple[int, ...] | None = None,
        batch_size: int | None = None,
        dtype: str | None = None,
        batch_shape: tuple[int | None, ...] | None = None,
        name: str | None = None,
    ) -> None:
        if shape is None and batch_shape is not None:
            shape = tuple(batch_shape)[1:]
        if shape is None:
            raise ValueError("Input needs a shape, e.g. tn.Input(shape=(4,)) for 4 features per sample")
        if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
            shape = (shape,)
        if not isinstance(shape, (tuple, list)) or not shape:
            raise TypeError(f"Input shape must be a tuple of sizes such as (4,), got {shape!r}")
        for size in shape:
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(
                    f"Input shape must hold positive integers (the batch axis is left out), got {tuple(shape)!r}"
                )
        if dtype is not None and np.dtype(dtype) != get_default_dtype():
            raise ValueError(
                f"Input(dtype={dtype!r}): tinynet models compute in the default dtype "
                f"({get_default_dtype()}); call tn.set_default_dtype({str(np.dtype(dtype))!r}) before creating the model"
            )
        super().__init__(tuple(int(s) for s in shape))
        self.batch_size = batch_size
        self._name = name

    @property
    def name(self) -> str | None:  # type: ignore[override]
        """The name given, or the one a functional model assigns (``input``, ``input_1``, ...)."""
        return self._name

    @name.setter
    def name(self, value: str | None) -> None:
        self._name = value

    def __repr__(self) -> str:
        return f"Input(shape={self.shape})"
