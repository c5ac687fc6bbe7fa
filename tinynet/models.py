"""The :class:`Sequential` model: a stack of layers, trained by an explicit loop.

One training step is the whole of deep learning in four lines, and
:meth:`Sequential.train_step` runs exactly those lines (through
:meth:`Sequential.compute_gradients`, which adds the weight penalties)::

    y_pred = model.forward(x, training=True)       # every layer's forward, in order
    loss = model.loss.forward(y, y_pred)           # a number
    model.backward(model.loss.backward())          # every layer's backward, in reverse
    model.optimizer.step(model.named_params(), model.named_grads())

:meth:`Sequential.fit` repeats it over shuffled mini-batches and epochs, and
adds bookkeeping (history, validation, callbacks).  How the layers run (work
arrays, in-place reuse, the fused output head) is :mod:`tinynet.engine`'s job.

Flat buffers.  When a model is built, every parameter of every layer is moved
into one contiguous buffer, and ``layer.params[key]`` becomes a *view* into it
(likewise the gradients).  Nothing changes for the reader of a layer, but the
optimizer can update the whole model with a few vectorised operations.  The
consequence to remember: update parameters in place (``W[...] = value``).

Fused output.  When the last activation is a sigmoid and the loss binary
cross-entropy, or softmax and categorical cross-entropy, the model's output
carries its logits to the loss, which evaluates itself from them and starts
backpropagation from :math:`\\partial L/\\partial z`: :math:`(p - y)/N` for a softmax over
:math:`(N, K)`, :math:`(p - y)/(N D)` for :math:`D` sigmoid outputs, skipping the
activation's own backward (see :mod:`tinynet.engine` and :mod:`tinynet.ops.losses`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from math import isfinite
from typing import Any

import numpy as np

from . import _validation
from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from ._config import get_default_dtype, new_generator
from ._frames import check_columns, columns_of, to_frame
from ._interrupts import deferring_interrupts
from ._nonfinite import NonFiniteStepError, explain
from .callbacks import Callback, CallbackList, History
from .engine import Executor, GraphExecutor, LogitGradient, find_head
from .layers.base import Input, Layer, Node, SymbolicTensor
from .progress import ProgbarLogger

#: predict() without a batch size runs at most this many samples per forward pass.
PREDICT_CHUNK = 4096


class Model:
    """A model: layers connected as a graph, with the Keras-shaped training API.

    ``tn.Model(inputs, outputs)`` is Keras' functional API: call layers on
    ``tn.Input`` tensors and hand the model the tensors in and out::

        x = tn.Input(shape=(8,))
        h = Dense(16, activation="relu")(x)
        y = Dense(1, activation="sigmoid")(h)
        model = tn.Model(x, y)

    The graph may branch and join (``Add()([x, h])``, a residual connection)
    and have several inputs (lists: ``tn.Model([a, b], y)``; then ``fit``,
    ``evaluate`` and ``predict`` take a list of arrays) and several outputs
    (``tn.Model(x, [y1, y2])``: a loss per output, weighted, as in Keras; targets
    as a list or a dict keyed by :attr:`output_names`; ``predict`` returns a
    list).  Training, saving and everything else is the same as for
    :class:`Sequential`, a subclass for a plain stack of layers.  See the
    functional API page of the docs.

    Parameters
    ----------
    inputs : Input or list of Input
    outputs : SymbolicTensor or list of them
        What layers called on the inputs returned.
    name : str, optional

    Attributes
    ----------
    layers : list of Layer
        In topological order (each after the layers it reads from).
    inputs, outputs : list of SymbolicTensor
    rng : numpy.random.Generator
        The model's own generator (shuffling, dropout), seeded from
        :func:`tinynet.set_seed`'s generator when the model is created.
    epochs_done : int
        Epochs trained so far (saved in model files).  ``fit`` numbers the
        epochs it shows callbacks from here (as Keras' ``initial_epoch``).
    stop_training : bool
        Set it from a callback to end :meth:`fit` after the current batch.
    """

    #: The shape of one sample, once built.
    input_shape: tuple[int, ...] | None = None
    #: A functional model's graph (see :class:`~tinynet.engine.GraphExecutor`); None for a Sequential.
    _graph: dict[str, Any] | None = None
    #: Whether the inputs (outputs) were given as a list: the data then is a list of arrays.
    _multi_input: bool = False
    _multi_output: bool = False
    #: The outputs' names (see :func:`output_names`); None for a Sequential (its last layer's).
    _output_names: list[str] | None = None
    #: The column names of the data frame :meth:`fit` last trained on (None after arrays);
    #: :meth:`predict`, :meth:`evaluate` and :meth:`fit` refuse a frame whose columns differ.
    #: Not saved in model files.
    feature_names_in_: list[str] | None = None
    #: The dtype :meth:`forward` takes as it is (None until built: everything is converted).
    _input_dtype: np.dtype | None = None
    #: The layers' state arrays (batch normalization's running averages) and their copies
    #: from before the current step, which a failed step restores (see train_step).
    _state_arrays: tuple[np.ndarray, ...] = ()
    _state_backups: tuple[np.ndarray, ...] = ()
    #: ``Layer._trainable_changes`` when the parameters were last gathered (see _sync_trainable).
    _trainable_layout: int = -1
    #: Several outputs, compiled: each output's metrics as (name, function) pairs, in output order.
    _output_metrics: list[list[tuple[str, Callable]]] | None = None

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None) -> None:
        if inputs is None or outputs is None:
            raise TypeError(
                "tn.Model needs inputs and outputs: x = tn.Input(shape=...); y = Dense(1)(x); "
                "tn.Model(x, y) (tinynet has no subclassing API; for a stack of layers use tn.Sequential)"
            )
        self._init_model(name or "model")
        connect(self, inputs, outputs)
        self.build()

    def _init_model(self, name: str) -> None:
        """The state every model starts with (no layers, not compiled)."""
        self.name = name
        self.layers: list[Layer] = []
        self.rng: np.random.Generator = new_generator()
        self.built = False
        self.loss: losses_module.Loss | None = None
        self.optimizer: optimizers_module.Optimizer | None = None
        self.metrics: list[Callable] = []
        self.metric_names: list[str] = []
        self.epochs_done = 0
        self._callback_states: list[dict[str, Any]] = []
        # the CallbackList of a fit in progress (or interrupted), whose live states callback_states gives
        self._live_callbacks: CallbackList | None = None
        self.stop_training = False
        self.history: History | None = None
        self._params: dict[str, np.ndarray] = {}
        self._grads: dict[str, np.ndarray] = {}
        self._trainable_params: dict[str, np.ndarray] = {}
        self._trainable_grads: dict[str, np.ndarray] = {}
        self._executor: Executor | None = None  # runs the layers (tinynet.engine), once built
        # (regularizer, parameter view, gradient view) for every penalised parameter; empty = no cost
        self._regularized: list[tuple[Any, np.ndarray, np.ndarray]] = []

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called ``name``, or at position ``index`` (Keras' ``get_layer``; exactly one of them)."""
        if (name is None) == (index is None):
            raise ValueError("get_layer needs exactly one of name=... and index=...")
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
                raise TypeError(f"get_layer index must be an integer, got {index!r}")
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"get_layer(index={index}): the model has {len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"no layer named {name!r}; the model's layers are {[layer.name for layer in self.layers]}"
        )

    @property
    def output_names(self) -> list[str]:
        """The names of the outputs, in order (Keras' ``model.output_names``): the layers that compute
        them.  A model with several outputs takes its losses, loss weights, metrics and targets as
        lists in this order or as dicts keyed by these names, and logs ``"<name>_loss"``."""
        if self._output_names is not None:
            return list(self._output_names)
        return [self.layers[-1].name] if self.layers else []

    # ------------------------------------------------------------------ building
    def build(self, input_shape: Any = None) -> None:
        """Gather the parameters of the (already built) layers into flat buffers.

        A functional model's layers are built when they are called on symbolic
        tensors; ``input_shape``, if given, must be the model's.
        """
        if input_shape is not None and self._graph is not None:
            shapes = [
                tuple(int(s) for s in shape)
                for shape in (input_shape if self._multi_input else [input_shape])
            ]
            if shapes != self.input_shapes:
                raise ValueError(
                    f"model {self.name!r} takes inputs of shapes {self.input_shapes}, not {input_shape}"
                )
        self._gather_parameters()
        self._gather_regularizers()
        self._gather_state()
        self.built = True
        self._input_dtype = self._dtype()
        self._setup_execution()

    def build_for(self, x: Any) -> None:
        """Check that a batch (a list of arrays for several inputs) fits the model's inputs."""
        if not self.built:
            self.build()
        self._check_input(x)

    def _check_input(self, x: Any) -> None:
        arrays = x.arrays if isinstance(x, InputList) else [x]
        for tensor, a in zip(self.inputs, arrays, strict=True):
            if tuple(a.shape[1:]) != tensor.shape:
                raise ValueError(
                    f"input {tensor.name!r} of model {self.name!r} expects samples of shape "
                    f"(batch, {', '.join(map(str, tensor.shape))}) but received {tuple(a.shape)}; "
                    "reshape the data or change the Input's shape"
                )

    def get_config(self) -> dict[str, Any]:
        """The architecture as a JSON-able dict: ``{"name", "inputs", "layers", "outputs"}``.

        ``inputs`` holds ``{"name", "shape"}`` per input; each entry of ``layers`` is
        ``{"class_name", "config", "inbound"}``, where ``inbound`` is the tensor the
        layer was called on, ``[name, index]`` (output ``index`` of the layer or
        Input called ``name``), or a list of them for a layer called on a list;
        ``outputs`` holds such references.  A single input or output (not given as a
        list) is stored as one entry, a list as a list.  :meth:`from_config` rebuilds
        the model (new weights).
        """
        from .serialization._model import registered_name

        graph = self._graph
        return {
            "name": self.name,
            "inputs": graph["inputs"],
            "layers": [
                {"class_name": registered_name(layer), "config": layer.get_config(), "inbound": inbound}
                for layer, inbound in zip(self.layers, graph["inbound"], strict=True)
            ],
            "outputs": graph["outputs"],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        """A new model from :meth:`get_config`'s output, every layer config checked as model files check them."""
        from .layers.base import LAYER_REGISTRY
        from .serialization._configs import check_config
        from .serialization._model import import_builtin_layers

        def fail(reason: str) -> ValueError:
            return ValueError(f"Model.from_config: {reason}")

        if not isinstance(config, dict) or set(config) != {"name", "inputs", "layers", "outputs"}:
            raise fail(
                "config must be a dict with the keys name, inputs, layers and outputs (from get_config())"
            )
        import_builtin_layers()
        layers = []
        for i, entry in enumerate(config["layers"] or ()):
            if not isinstance(entry, dict) or set(entry) != {"class_name", "config", "inbound"}:
                raise fail(f"layers[{i}] must be a dict {{'class_name': ..., 'config': ..., 'inbound': ...}}")
            layer_cls = LAYER_REGISTRY.get(entry["class_name"])
            if layer_cls is None:
                raise fail(f"layers[{i}] is a {entry['class_name']!r}, which is not a registered layer class")
            check_config(layer_cls, entry["config"], f"layers[{i}].config", fail)
            layers.append(layer_cls.from_config(dict(entry["config"])))
        graph = {
            "inputs": config["inputs"],
            "inbound": [entry["inbound"] for entry in config["layers"]],
            "outputs": config["outputs"],
        }
        return model_from_graph(config.get("name"), graph, layers, fail)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """After ``copy.deepcopy`` (or ``pickle``): gather the parameters into flat buffers again.

        The copies of the parameter views are independent arrays, no longer
        views of the copied flat buffer the optimizer updates; gathering them
        again (values unchanged) restores the model's one-buffer layout, and the
        optimizer re-plans on its next step, keeping its state.
        """
        self.__dict__.update(state)
        if self.built:
            self._gather_parameters()
            self._gather_regularizers()
            self._gather_state()

    def _gather_parameters(self) -> None:
        """Move every parameter and gradient into flat buffers (see the module docstring).

        Two pairs of buffers: the trainable parameters, which the optimizer
        updates as one array, and the frozen ones (``layer.trainable = False``),
        which it never sees.
        """
        entries = [(layer, key) for layer in self.layers for key in layer.params]
        dtypes = {layer.params[key].dtype for layer, key in entries}
        if len(dtypes) > 1:
            raise ValueError(f"all layers of a model must share one dtype, found {sorted(map(str, dtypes))}")
        dtype = dtypes.pop() if dtypes else get_default_dtype()
        buffers = {}
        for trainable in (True, False):
            total = sum(layer.params[key].size for layer, key in entries if layer.trainable is trainable)
            buffers[trainable] = [np.empty(total, dtype=dtype), np.zeros(total, dtype=dtype), 0]
        self._params, self._grads = {}, {}
        self._trainable_params, self._trainable_grads = {}, {}
        for layer, key in entries:
            P, G, offset = buffers[layer.trainable]
            value = layer.params[key]
            n = value.size
            p_view = P[offset : offset + n].reshape(value.shape)
            p_view[...] = value
            g_view = G[offset : offset + n].reshape(value.shape)
            layer.params[key], layer.grads[key] = p_view, g_view
            self._params[f"{layer.name}/{key}"] = p_view
            self._grads[f"{layer.name}/{key}"] = g_view
            if layer.trainable:
                self._trainable_params[f"{layer.name}/{key}"] = p_view
                self._trainable_grads[f"{layer.name}/{key}"] = g_view
            buffers[layer.trainable][2] = offset + n
        # the buffers the optimizer updates (and a step checks for NaN): the trainable ones
        self._flat_params, self._flat_grads = buffers[True][0], buffers[True][1]
        self._trainable_layout = Layer._trainable_changes

    def _sync_trainable(self) -> None:
        """Gather the parameters again when a layer was frozen or unfrozen since they were gathered.

        One integer comparison per step (see ``Layer._trainable_changes``).  The
        executor starts afresh (no workspace keeps a view of the old buffers); the
        optimizer re-plans on its next step, keeping the state of the parameters it
        still updates.
        """
        if self.built and self._trainable_layout != Layer._trainable_changes:
            self._gather_parameters()
            self._gather_regularizers()
            self._setup_execution()

    def _gather_regularizers(self) -> None:
        """List the penalised parameters once, as views into the flat buffers (see compute_gradients)."""
        self._regularized = []
        for layer in self.layers:
            for key, reg in layer.regularizers.items():
                if key not in layer.params:
                    raise ValueError(
                        f"layer {layer.name!r} has a regularizer for {key!r} but no such parameter "
                        f"(it has {sorted(layer.params)})"
                    )
                self._regularized.append((reg, layer.params[key], layer.grads[key]))

    def _gather_state(self) -> None:
        """List the layers' state arrays once, with a backup array each (see train_step)."""
        self._state_arrays = tuple(s for layer in self.layers for s in layer.state.values())
        self._state_backups = tuple(np.empty_like(s) for s in self._state_arrays)

    def regularization_loss(self) -> float:
        r"""The sum of every layer's weight penalties, :math:`\sum R(W)` (0.0 without regularizers).

        Training adds it to the data loss (see :mod:`tinynet.regularizers`).
        """
        return float(sum(reg.penalty(p) for reg, p, _ in self._regularized))

    def named_params(self) -> dict[str, np.ndarray]:
        """All parameters, keyed ``"layer_name/key"`` (views into the flat buffer)."""
        return self._params

    def named_grads(self) -> dict[str, np.ndarray]:
        """All gradients, keyed like :meth:`named_params`."""
        return self._grads

    def count_params(self) -> int:
        """Number of parameter scalars, trainable and frozen (the layers' state arrays are not counted;
        see :meth:`summary`)."""
        return int(sum(layer.count_params() for layer in self.layers))

    @property
    def trainable(self) -> bool:
        """Whether any layer is trainable; ``model.trainable = False`` freezes every layer.

        As in Keras, assigning it sets every layer's ``trainable``; unlike Keras
        the model keeps no flag of its own, so unfreezing one layer afterwards
        makes the model trainable again (in Keras the model's flag would still
        freeze it).
        """
        return not self.layers or any(layer.trainable for layer in self.layers)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"trainable must be True or False, got {value!r} ({type(value).__name__})")
        for layer in self.layers:
            layer.trainable = bool(value)

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The parameters the optimizer updates, layer by layer (the arrays themselves)."""
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        """The frozen layers' parameters and every layer's state arrays, layer by layer."""
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    @property
    def weights(self) -> list[np.ndarray]:
        """:attr:`trainable_weights` then :attr:`non_trainable_weights`, as Keras' ``model.weights``."""
        return self.trainable_weights + self.non_trainable_weights

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every layer's weights (parameters then state), layer by layer."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Copy weights (as from :meth:`get_weights`) into the model, in place."""
        weights = list(weights)
        for layer in self.layers:
            k = len(layer.params) + len(layer.state)
            layer.set_weights(weights[:k])
            weights = weights[k:]
        if weights:
            raise ValueError(f"{len(weights)} weight arrays left over: the model has fewer")

    def reseed(self, seed: int) -> None:
        """Give the model (and its layers) a freshly seeded generator."""
        self.rng = np.random.default_rng(seed)
        for layer in self.layers:
            layer.rng = self.rng

    # ----------------------------------------------------------------- compiling
    def compile(
        self,
        optimizer: str | optimizers_module.Optimizer = "rmsprop",
        loss: str | losses_module.Loss | Sequence | dict | None = None,
        loss_weights: Any = None,
        metrics: str | Callable | Sequence[str | Callable] | None = None,
    ) -> None:
        """Choose the optimizer, the loss and the metrics to report.

        Keras 3's signature and positional order: ``compile("adam", "mse")`` or,
        as in the README, ``compile(loss="mse", optimizer="adam", metrics=["accuracy"])``.

        Parameters
        ----------
        optimizer : str or Optimizer
            E.g. ``"adam"`` or ``tn.optimizers.SGD(0.1)``; ``"rmsprop"`` by default, as Keras.
        loss : str or Loss
            E.g. ``"binary_crossentropy"`` (see :data:`tinynet.losses.LOSSES`); required.
            A model with several outputs (``tn.Model(x, [y1, y2])``) takes one loss for
            every output, a list of losses (one per output, in :attr:`output_names`
            order) or a dict keyed by output name (every output needs a loss).
        loss_weights : list or dict, optional
            Keras' weights :math:`w_k` of the losses of several outputs (default 1 each;
            a dict may leave outputs out, which then weigh 1): the model minimises
            :math:`\\sum_k w_k L_k`.  A model with one output has one loss, so only None
            (or a single weight of 1) is accepted there.
        metrics : str, callable or list of them, optional
            Names from :data:`tinynet.metrics.METRICS` (``"accuracy"``, ``"AUC"``, ...)
            or functions ``f(y_true, y_pred)``; a single name is one metric.  With several
            outputs: a flat list is computed on every output, a list with one entry per
            output (a name, a list of names or None; at least one entry a list or None)
            or a dict keyed by output name gives each output its own; they are logged as
            ``"<output>_<metric>"``.
        """
        if loss is None:
            raise TypeError(
                "compile needs a loss, e.g. model.compile(optimizer='adam', loss='mse'); "
                "the positional order is Keras': compile(optimizer, loss, loss_weights, metrics)"
            )
        _refuse_swapped(optimizer, loss)
        if isinstance(loss_weights, (list, tuple)) and any(isinstance(w, str) for w in loss_weights):
            raise TypeError(
                f"compile's third positional argument is loss_weights (Keras 3's order), got {loss_weights!r}; "
                "pass the metrics by keyword: metrics=[...]"
            )
        if self._multi_output:
            self._compile_outputs(optimizer, loss, loss_weights, metrics)
            return
        if loss_weights is not None:
            single = (
                loss_weights[0]
                if isinstance(loss_weights, (list, tuple)) and len(loss_weights) == 1
                else None
            )
            if not (loss_weights == 1 or single == 1):
                raise ValueError(
                    f"loss_weights={loss_weights!r}: a tinynet model has one output and one loss; scale the "
                    "loss itself instead"
                )
        self.loss = losses_module.get(loss)
        self.optimizer = optimizers_module.get(optimizer)
        self.metrics, self.metric_names = [], []
        if isinstance(metrics, str) or callable(metrics):  # metrics="accuracy": one metric
            metrics = [metrics]
        for m in metrics or ():
            name, fn = _metric(m)
            self.metrics.append(fn)
            self.metric_names.append(name)
        self._setup_execution()

    def _compile_outputs(self, optimizer: Any, loss: Any, loss_weights: Any, metrics: Any) -> None:
        """``compile`` for a model with several outputs (Keras' forms; see :meth:`compile`).

        Everything is checked before the model changes: a refused call leaves it as it was.
        """
        names = self.output_names
        losses = [
            _output_loss(v, name) for v, name in zip(_per_output(self, loss, "loss"), names, strict=True)
        ]
        seen: set[int] = set()
        for k, fn in enumerate(losses):  # a loss object keeps its last batch: one object per output
            if id(fn) in seen:
                losses[k] = copy.deepcopy(fn)
            seen.add(id(losses[k]))
        if loss_weights is None:
            weights = [1.0] * len(names)
        else:
            if not isinstance(loss_weights, (list, tuple, dict)):
                raise TypeError(
                    f"loss_weights must be a list (one weight per output, in the order {names}) or a dict keyed "
                    f"by output name, got {loss_weights!r}"
                )
            weights = [
                _validation.real(1.0 if w is None else w, f"loss_weights[{name!r}]", low=0.0)
                for w, name in zip(
                    _per_output(self, loss_weights, "loss_weights", missing=None), names, strict=True
                )
            ]
        if metrics is None or isinstance(metrics, str) or callable(metrics):
            per_output = [metrics] * len(names)
        elif isinstance(metrics, dict) or (
            isinstance(metrics, (list, tuple))
            and any(m is None or isinstance(m, (list, tuple)) for m in metrics)
        ):
            per_output = _per_output(self, metrics, "metrics", missing=None)
        elif isinstance(metrics, (list, tuple)):  # a flat list: every metric on every output
            per_output = [list(metrics)] * len(names)
        else:
            raise TypeError(f"metrics must be a name, a function, a list or a dict, got {metrics!r}")
        output_metrics: list[list[tuple[str, Callable]]] = []
        for entry, name in zip(per_output, names, strict=True):
            entry = [] if entry is None else [entry] if isinstance(entry, str) or callable(entry) else entry
            if not isinstance(entry, (list, tuple)):
                raise TypeError(
                    f"the metrics of output {name!r} must be a name, a function or a list, got {entry!r}"
                )
            output_metrics.append([_metric(m, f" (output {name!r})") for m in entry])
        optimizer = optimizers_module.get(optimizer)
        self.loss = MultiOutputLoss(names, losses, weights)
        self.optimizer = optimizer
        self._output_metrics = output_metrics
        # Keras' order: every metric of the first output, then of the second, ...
        self.metrics = [fn for found in output_metrics for _, fn in found]
        self.metric_names = [
            f"{name}_{metric}"
            for name, found in zip(names, output_metrics, strict=True)
            for metric, _ in found
        ]
        self._setup_execution()

    def _setup_execution(self) -> None:
        """The graph executor of the built model, with a fused head for each output whose loss fits it."""
        if self.built:
            graph = self._graph
            if self._multi_output:
                heads = self._output_heads()
                # one output given as a list: the executor runs it as one output (the list is the model's)
                head, heads = (heads.get(0), None) if len(self.outputs) == 1 else (None, heads)
            else:
                head, heads = find_head(self.layers[-1:], self.loss), None
            self._executor = GraphExecutor(
                self.layers, graph["nodes"], len(self.inputs), graph["output_ids"], head, heads
            )

    def _output_heads(self) -> dict[int, Any]:
        """The fused heads of a model with several outputs: output ``k`` has one when its loss fits its
        layer's activation (as :func:`~tinynet.engine.find_head` decides for one output) and its tensor
        is the layer's only output, is given once and feeds no other layer (the loss's gradient with
        respect to the logits is then the whole gradient there)."""
        if not isinstance(self.loss, MultiOutputLoss):
            return {}
        nodes = self._graph["nodes"]
        outputs = self._graph["output_ids"]
        consumed = {t for ins, _, _ in nodes for t in ins}
        producer = {t: i for i, (_, _, outs) in enumerate(nodes) for t in outs}
        heads = {}
        for k, (t, fn) in enumerate(zip(outputs, self.loss.losses, strict=True)):
            i = producer[t]
            if t in consumed or outputs.count(t) > 1 or len(nodes[i][2]) > 1:
                continue
            head = find_head([self.layers[i]], fn)
            if head is not None:
                heads[k] = head
        return heads

    def _require_compiled(self, what: str) -> None:
        if self.loss is None or self.optimizer is None:
            raise RuntimeError(
                f"the model must be compiled before {what}: call model.compile(loss=..., optimizer=...) first"
            )

    def forward(self, x: Any, training: bool = False) -> Any:
        """Run every layer's forward pass in topological order and return the output
        (a list for a model with several outputs)."""
        if self._multi_input:
            if not isinstance(x, InputList) or x.dtype != self._input_dtype:
                x = self._as_input(x)
                self.build_for(x)
            out = self._executor.forward(x.arrays, training)
        else:
            if not (
                type(x) is np.ndarray and x.dtype == self._input_dtype and x.shape[1:] == self.input_shape
            ):
                x = self._as_input(x)
                self.build_for(x)
            out = self._executor.forward([x], training)
        if self._multi_output and len(self.outputs) == 1:  # tn.Model(x, [y]): a list of one output
            return [out]
        return out

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Run every layer's backward pass in reverse; return the gradient for the input.

        ``grad_output`` is :math:`\\partial L/\\partial \\hat y`, or what the loss's
        ``backward`` returns after a fused head's output (a
        :class:`~tinynet.engine.LogitGradient`: the backward pass then starts below
        the head's activation).  With ``input_grad=False`` (what training uses)
        the first layer may skip the gradient with respect to the data, and
        ``None`` is returned.
        """
        if self._multi_output and len(self.outputs) == 1 and isinstance(grad_output, (list, tuple)):
            grad_output = grad_output[0]  # tn.Model(x, [y]): the executor runs one output
        return self._executor.backward(grad_output, input_grad)

    def compute_gradients(
        self,
        x: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        backward: bool = True,
        *,
        rows_sum_to_one: bool = False,
        targets_checked: bool = False,
    ) -> float:
        r"""Forward in training mode, loss, and (unless ``backward=False``) backward.

        Fills every layer's ``grads`` and returns the batch loss; the optimizer
        is not called.  With weight penalties (``kernel_regularizer``), the loss
        returned is :math:`J = L + \sum R(W)` and each penalised gradient gets
        :math:`\partial R/\partial W` added after the backward pass, in place on
        the flat-buffer views (the layers' ``backward`` overwrites ``grads`` first).

        ``rows_sum_to_one=True`` promises that every row of ``y`` sums to exactly
        1 (one-hot labels): a softmax head fused with the categorical
        cross-entropy then computes :math:`(p - y)/N` without the row sums of
        ``y``, which gives the same bits.  :meth:`fit` checks its targets once
        and passes it.  With several outputs, ``y`` is a list (or dict) of targets,
        the loss is :math:`\sum_k w_k L_k` (:class:`MultiOutputLoss`) and
        ``rows_sum_to_one`` may be a tuple of one flag per output.
        ``targets_checked=True`` promises a binary cross-entropy that every
        target is in [0, 1] (:meth:`fit` checks them all once), so that it does
        not scan each batch again.
        """
        self._require_compiled("computing gradients")
        y_pred = self.last_output = self.forward(x, training=True)
        if rows_sum_to_one:  # only the categorical cross-entropy takes the promise (a flag per output)
            loss = self.loss.forward(y, y_pred, sample_weight, rows_sum_to_one=rows_sum_to_one)
        elif targets_checked:  # only the binary cross-entropy takes this one
            loss = self.loss.forward(y, y_pred, sample_weight, targets_checked=True)
        else:
            loss = self.loss.forward(y, y_pred, sample_weight)
        if backward:
            self.backward(self.loss.backward(), input_grad=False)
        if self._regularized:  # a precomputed list: models without penalties pay one truth test
            for reg, p, g in self._regularized:
                loss += reg.penalty(p)
                if backward:
                    reg.add_gradient(p, g)
        return loss

    def train_step(
        self,
        x: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        rows_sum_to_one: bool = False,
        targets_checked: bool = False,
    ) -> float:
        """One step of training: forward, loss, backward, optimizer update.

        ``rows_sum_to_one`` and ``targets_checked`` are passed to :meth:`compute_gradients`.

        The step is all or nothing.  When the loss or any gradient is NaN or
        infinite, the update is not made and :class:`NonFiniteStepError` (a
        ``FloatingPointError``) says why; the model is then exactly as before the
        call: weights, optimizer state and counter, the layers' state
        (batch normalization's running averages, which the forward pass moved,
        are put back), as after any other error or a Ctrl-C before the update.
        A Ctrl-C during the update (:meth:`tinynet.optimizers.Optimizer.step`)
        raises ``KeyboardInterrupt`` once the update is complete.

        Returns
        -------
        float
            The batch loss before the update.

        Raises
        ------
        NonFiniteStepError
            The loss or a gradient was not finite; the step was not taken.
        """
        if self._trainable_layout != Layer._trainable_changes:  # a layer was frozen or unfrozen
            self._sync_trainable()
        states = self._state_arrays
        if states:  # batch normalization's running averages, which the forward pass moves
            self._require_compiled("training")
            iterations = self.optimizer.iterations
            for s, backup in zip(states, self._state_backups, strict=True):
                np.copyto(backup, s)
        try:
            loss = self.compute_gradients(
                x, y, sample_weight, rows_sum_to_one=rows_sum_to_one, targets_checked=targets_checked
            )
            G = self._flat_grads
            # sum g^2 is finite exactly when every gradient is (squares cannot cancel), unless
            # it overflows: only then are the gradients checked one by one
            if not (isfinite(loss) and (isfinite(G.dot(G)) or np.isfinite(G).all())):
                cause = explain(self, x, y, sample_weight, loss)
                what = f"the loss is {loss}" if not math.isfinite(loss) else "the gradients are not finite"
                raise NonFiniteStepError(
                    f"{what}: {cause}; the step was not taken, the model is as before", loss, cause
                )
            # the update itself is all or nothing: a Ctrl-C during it is held back until it ends
            self.optimizer.step(self._trainable_params, self._trainable_grads)
        except BaseException:
            # an error, or a Ctrl-C, before the update: put back what the forward pass moved
            # (after the update, as when a held-back Ctrl-C is raised, the step stands)
            if states and self.optimizer.iterations == iterations:
                for s, backup in zip(states, self._state_backups, strict=True):
                    np.copyto(s, backup)
            raise
        return loss

    # ------------------------------------------------------------------- training
    # the deferring SIGINT handler is installed once for the whole call: each step's critical
    # section is then only a counter (see tinynet/_interrupts.py); a new one for every call
    @deferring_interrupts()
    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: int | str = "auto",
        callbacks: Sequence[Callback] | None = None,
        validation_split: float = 0.0,
        validation_data: tuple | None = None,
        shuffle: bool = True,
        class_weight: dict[int, float] | None = None,
        sample_weight: np.ndarray | None = None,
        initial_epoch: int | None = None,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int = 1,
    ) -> History:
        """Train for ``epochs`` epochs of mini-batch steps.

        Keras 3's signature and positional order: ``fit(x, y, 32, 10)`` is batches
        of 32 for 10 epochs.

        Each epoch shuffles the samples with the model's generator (when
        ``shuffle``), walks the mini-batches in order (the last, smaller one
        included) calling :meth:`train_step`, and records the epoch's loss (the
        batch losses' mean weighted by batch size), the metrics over the
        epoch's predictions, and the same on the validation data.

        Every argument is checked before any work, so that a refused call changes
        nothing: ``TypeError`` for a value of the wrong kind (``batch_size=2.5``,
        ``epochs="3"``, ``True`` for a count), ``ValueError`` for one out of range
        (``epochs=0``, ``batch_size=-1``, no samples, a negative weight).

        Parameters
        ----------
        x, y : ndarray
            Inputs (N, ...) and targets (N, ...) or integer labels (N,), N >= 1;
            binary cross-entropy targets in [0, 1].  A model with several inputs takes
            a list of arrays as ``x``; one with several outputs a list of target
            arrays (in :attr:`output_names` order) or a dict keyed by output name as
            ``y`` (and as ``validation_data``'s), each checked against its output.
        batch_size : int or None
            Samples per step, a positive integer (None: 32, as Keras).
        epochs : int
            Without ``initial_epoch``: epochs to train in this call, a positive
            integer.  Callbacks see global epoch numbers, from ``epochs_done`` on,
            and get back the states the last ``fit``'s callbacks left (see
            :attr:`callback_states`), so that two calls of ``k`` and ``n - k``
            epochs train as one call of ``n`` epochs.  With ``initial_epoch``
            (Keras' meaning): the index at which training stops, so the call
            trains epochs ``initial_epoch`` to ``epochs - 1``.
        verbose : {0, 1, 2, "auto"}
            0 prints nothing; 1 (or "auto") a live progress bar per epoch (batches
            done, elapsed time, ETA, running loss) on a terminal or in Jupyter, and
            one line per epoch when the output is not a terminal (a log, CI); 2 one
            line per epoch always.  See :mod:`tinynet.progress`.
        callbacks : list of Callback, optional
            See :mod:`tinynet.callbacks`; the returned :class:`History` is always added.
        validation_split : float
            Fraction of the data in [0, 1), taken from the end before shuffling, held
            out for validation (ignored when ``validation_data`` is given).
        validation_data : (x_val, y_val) or (x_val, y_val, sample_weight_val), optional
            At least one sample; its loss is weighted by ``sample_weight_val`` when given.
        shuffle : bool
        class_weight : dict, optional
            Per-class loss weights, e.g. ``{0: 1.0, 1: 3.0}``: finite and >= 0.
        sample_weight : ndarray, optional
            Per-sample loss weights (N,), finite and >= 0; multiplied by ``class_weight``.
        initial_epoch : int, optional
            Keras' epoch to start from, >= 0 and < ``epochs``: the call trains
            ``epochs - initial_epoch`` epochs, numbered from ``initial_epoch``,
            and ``epochs_done`` becomes ``epochs`` (see above).  Omitted, the
            epochs are numbered from ``epochs_done``.
        steps_per_epoch : int, optional
            Batches per epoch, at most the number of batches of the data: each
            epoch then trains on the first ``steps_per_epoch`` batches of that
            epoch's shuffle (default: all of them).
        validation_steps : int, optional
            Validate on the first ``validation_steps`` batches of the validation data only.
        validation_batch_size : int, optional
            Samples per validation batch (default: ``batch_size``).
        validation_freq : int
            Validate after every ``validation_freq``-th epoch (counted in this call, as Keras).

        Returns
        -------
        History
            ``history.history`` maps ``loss``, each metric and their ``val_``
            twins to per-epoch lists; with several outputs ``loss`` is the weighted
            total, and ``<output>_loss`` (unweighted) and ``<output>_<metric>``
            follow it, as in Keras.

        Raises
        ------
        FloatingPointError
            A batch's loss or gradients were NaN or infinite (unless a callback such
            as :class:`tinynet.callbacks.TerminateOnNaN` stops training instead).
            The message names the epoch and the batch and tells whether the data
            themselves hold NaN or infinite values; that step was not taken, so the
            model is as it was before that batch.
        KeyboardInterrupt
            On Ctrl-C, between two steps, never inside one: the model is then as
            after the last complete step, ready to save or to ``fit`` again.
        """
        self._require_compiled("fit")
        # every argument is checked before any work: a refused call changes nothing
        verbose = _validation.verbose(verbose)
        epochs = _validation.positive_int(epochs, "epochs")
        if initial_epoch is not None:  # Keras' meaning: train epochs initial_epoch .. epochs - 1
            if isinstance(initial_epoch, (bool, np.bool_)) or not isinstance(
                initial_epoch, (int, np.integer)
            ):
                raise TypeError(f"initial_epoch must be an integer >= 0, got {initial_epoch!r}")
            if not 0 <= initial_epoch < epochs:
                raise ValueError(
                    f"initial_epoch={initial_epoch} with epochs={epochs} trains no epoch: with initial_epoch, "
                    "epochs is the epoch to stop at (as in Keras), so it must be larger"
                )
            initial_epoch = int(initial_epoch)
        batch_size = 32 if batch_size is None else _validation.positive_int(batch_size, "batch_size")
        if steps_per_epoch is not None:
            steps_per_epoch = _validation.positive_int(steps_per_epoch, "steps_per_epoch")
        if validation_steps is not None:
            validation_steps = _validation.positive_int(validation_steps, "validation_steps")
        validation_batch_size = (
            batch_size
            if validation_batch_size is None
            else _validation.positive_int(validation_batch_size, "validation_batch_size")
        )
        validation_freq = _validation.positive_int(validation_freq, "validation_freq")
        validation_split = _validation.real(validation_split, "validation_split", low=0.0, high=1.0)
        shuffle = _validation.flag(shuffle, "shuffle")
        if class_weight is not None:
            if self._multi_output:
                raise ValueError(
                    f"class_weight is for a model with one output (as in Keras); model {self.name!r} has the "
                    f"outputs {self.output_names}: pass sample_weight instead"
                )
            class_weight = _validation.class_weights(class_weight)
        if validation_data is not None:
            validation_data = _validation_tuple(validation_data)
        callbacks = _callback_list(callbacks)
        self.optimizer.checked_learning_rate()
        check_columns(self.feature_names_in_, x)  # a data frame: the columns fit saw before, in order
        columns = columns_of(x)
        x, y = self._as_input(x, "x"), self._as_target(y)
        _same_length(x, y, "x", "y")
        if len(x) == 0:
            raise ValueError(f"fit needs at least one sample, got x of shape {x.shape}")
        weights = self._sample_weights(y, class_weight, sample_weight)
        if validation_data is None and validation_split:
            cut = len(x) - math.ceil(len(x) * validation_split)
            if cut <= 0 or cut == len(x):
                raise ValueError(
                    f"validation_split={validation_split} leaves no training or no validation data"
                )
            validation_data = (x[cut:], y[cut:], None)
            x, y = x[:cut], y[:cut]
            weights = None if weights is None else weights[:cut]
        self.build_for(x)
        y = self._check_targets(y)
        self._check_target_values(y)
        if validation_data is not None:
            x_val, y_val, w_val = validation_data
            x_val = self._as_input(x_val, "validation x")
            y_val = self._check_targets(self._as_target(y_val, "validation y"))
            _same_length(x_val, y_val, "validation x", "validation y")
            if len(x_val) == 0:
                raise ValueError("validation_data holds no samples; pass None to train without validation")
            self._check_input(x_val)
            self._check_target_values(y_val, "validation targets")
            if w_val is not None:
                w_val = _validation.sample_weights(w_val, len(x_val), x_val.dtype, "validation sample_weight")

        if columns is not None:  # remembered once every check has passed: a refused fit changes nothing
            self.feature_names_in_ = columns
        # one-hot targets (rows summing to exactly 1), checked once here rather than on every batch
        if isinstance(self.loss, MultiOutputLoss):  # a flag per output, or False when none has them
            flags = tuple(
                isinstance(fn, losses_module.CategoricalCrossentropy) and _rows_sum_to_one(a)
                for fn, a in zip(self.loss.losses, y.arrays, strict=True)
            )
            unit_rows: Any = flags if any(flags) else False
        else:
            unit_rows = isinstance(self.loss, losses_module.CategoricalCrossentropy) and _rows_sum_to_one(y)
        # binary cross-entropy targets were checked above (_check_target_values): not again per batch
        checked = isinstance(self.loss, losses_module.BinaryCrossentropy)
        n = len(x)
        steps = -(-n // batch_size)
        if steps_per_epoch is not None:
            if steps_per_epoch > steps:
                raise ValueError(
                    f"steps_per_epoch={steps_per_epoch}, but {n} samples make only {steps} batches of "
                    f"{batch_size}; pass at most {steps} (each epoch trains on the first batches of its shuffle)"
                )
            steps = steps_per_epoch
        if validation_data is not None and validation_steps is not None:
            keep = validation_steps * validation_batch_size
            x_val, y_val = x_val[:keep], y_val[:keep]
            w_val = None if w_val is None else w_val[:keep]
        history = History()
        self.history = history
        if initial_epoch is None:
            initial_epoch = self.epochs_done  # callbacks number epochs over the model's life
        else:  # Keras: epochs is the index to stop at
            self.epochs_done, epochs = initial_epoch, epochs - initial_epoch
        params = {
            "epochs": initial_epoch + epochs,
            "initial_epoch": initial_epoch,
            "steps": steps,
            "batch_size": batch_size,
            "samples": n,
            "verbose": verbose,
        }
        # the progress printer comes right after the history, so its epoch line precedes any
        # message the user's callbacks print at the end of the epoch
        progress = [] if verbose == 0 else [ProgbarLogger(verbose)]
        cbs = CallbackList([history, *progress, *(callbacks or ())], self, params)
        xb_buf = _empty_rows(x, min(batch_size, n))
        yb_buf = _empty_rows(y, min(batch_size, n))
        wb_buf = None if weights is None else np.empty(min(batch_size, n), dtype=weights.dtype)
        y_pred_epoch = y_true_epoch = None
        if self.metrics:
            y_pred_epoch = self._empty_outputs(n, x.dtype)
            y_true_epoch = _empty_rows(y, n)
        # several outputs: the epoch's sums of each output's batch losses (times the batch size)
        per_output = isinstance(self.loss, MultiOutputLoss)
        output_totals = np.zeros(len(self.output_names)) if per_output else None

        self.stop_training = False
        wb = None
        full = len(xb_buf)  # rows of a full batch
        # most fits have no per-batch callback: then the loop skips even the calls
        batch_begin, batch_end = bool(cbs.batch_begin), bool(cbs.batch_end)
        cbs.on_train_begin()
        cbs.set_states(self.callback_states)
        self._live_callbacks = cbs
        for epoch in range(initial_epoch, initial_epoch + epochs):
            cbs.on_epoch_begin(epoch)
            lr = self.optimizer.current_learning_rate()
            order = self.rng.permutation(n) if shuffle else None
            total, seen = 0.0, 0
            if per_output:
                output_totals[:] = 0.0
            for b in range(steps):
                lo = b * batch_size
                hi = min(n, lo + batch_size)
                k = hi - lo
                if order is None:
                    xb, yb = x[lo:hi], y[lo:hi]
                    wb = None if weights is None else weights[lo:hi]
                else:
                    idx = order[lo:hi]
                    # a full batch fills the buffers themselves: the layers then see the same input
                    # array every step (and look up what they derive from it once)
                    xb = x.take(idx, axis=0, out=xb_buf if k == full else xb_buf[:k])
                    yb = y.take(idx, axis=0, out=yb_buf if k == full else yb_buf[:k])
                    if weights is not None:
                        wb = weights.take(idx, out=wb_buf if k == full else wb_buf[:k])
                if batch_begin:
                    cbs.on_train_batch_begin(b)
                try:
                    loss = self.train_step(xb, yb, wb, rows_sum_to_one=unit_rows, targets_checked=checked)
                    refused = None
                except NonFiniteStepError as error:  # not taken: the model is as before this batch
                    loss, refused = error.loss, error
                total += loss * k
                if per_output:
                    output_totals += np.multiply(self.loss.values, k)
                seen = hi
                if y_pred_epoch is not None:
                    y_pred_epoch[lo:hi] = self.last_output
                    y_true_epoch[lo:hi] = yb
                if batch_end:
                    cbs.on_train_batch_end(b, {"loss": loss, "size": k})
                if refused is not None and not self.stop_training:  # (TerminateOnNaN stops instead)
                    rows = np.arange(lo, hi) if order is None else order[lo:hi]
                    what = (
                        f"the loss became {loss}"
                        if not math.isfinite(loss)
                        else "the gradients became NaN or infinite"
                    )
                    raise FloatingPointError(
                        f"{what} at epoch {epoch + 1}, batch {b + 1}: {explain(self, xb, yb, wb, loss, rows)}; "
                        "the step was not taken: the model is as it was before this batch"
                    ) from None
                if self.stop_training:
                    break
            logs: dict[str, Any] = {"loss": total / max(seen, 1)}
            if per_output:  # Keras' "<output>_loss": each output's unweighted loss
                for name, value in zip(self.output_names, output_totals, strict=True):
                    logs[f"{name}_loss"] = float(value) / max(seen, 1)
            if y_pred_epoch is not None and seen:
                logs.update(self._metric_values(y_true_epoch[:seen], y_pred_epoch[:seen]))
            if validation_data is not None and (epoch - initial_epoch + 1) % validation_freq == 0:
                val = self.evaluate(
                    x_val, y_val, batch_size=validation_batch_size, return_dict=True, sample_weight=w_val
                )
                logs.update({f"val_{k}": v for k, v in val.items()})
            logs["learning_rate"] = lr
            self.epochs_done += 1
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end()
        self.callback_states = cbs.get_states()
        return history

    @property
    def callback_states(self) -> list[dict[str, Any]]:
        """The states of the last ``fit``'s callbacks, ``{"class_name", "key", "state"}`` each.

        See :meth:`tinynet.callbacks.Callback.get_state`.  Model files save them,
        and the next ``fit`` gives them back to its matching callbacks.  During a
        ``fit`` (e.g. for :class:`~tinynet.callbacks.ModelCheckpoint`), or after one
        was interrupted by an exception, they are the running callbacks' states
        of the moment.  Set ``model.callback_states = []`` to start the callbacks
        of the next ``fit`` afresh.
        """
        live = self._live_callbacks
        return live.get_states() if live is not None else self._callback_states

    @callback_states.setter
    def callback_states(self, states: list[dict[str, Any]]) -> None:
        self._callback_states, self._live_callbacks = list(states), None

    # ----------------------------------------------------------------- inference
    def predict(
        self,
        x: np.ndarray,
        batch_size: int | None = None,
        verbose: int | str = "auto",
        steps: int | None = None,
        callbacks: Sequence[Callback] | None = None,
        *,
        as_frame: bool = False,
    ) -> Any:
        """Return the model's outputs for ``x`` in inference mode.

        Keras 3's signature and positional order (``as_frame`` is tinynet's own).

        Parameters
        ----------
        x : ndarray or data frame
            Inputs (N, ...).  A data frame must have the columns the model was
            fitted on (:attr:`feature_names_in_`), in the same order.
        batch_size : int, optional
            Samples per forward pass, a positive integer (default: all at once,
            in chunks of at most :data:`PREDICT_CHUNK`).
        verbose : {0, 1, 2, "auto"}
            Accepted as Keras does; prediction prints nothing whatever its value
            (there is no progress bar to show for a pass this short).
        steps : int, optional
            Predict the first ``steps`` batches only (of ``batch_size``, default 32 then).
        callbacks : list of Callback, optional
            Their ``on_predict_begin`` and ``on_predict_end`` are called.
        as_frame : bool
            With a pandas DataFrame or Series as ``x``: return the outputs as a
            pandas object with ``x``'s index (a DataFrame, or a Series for
            one output per row).

        Returns
        -------
        ndarray (N, *output_shape), or a pandas object with ``as_frame=True``; a list of
        arrays, one per output, for a model with several outputs (``as_frame`` refused)
        """
        if batch_size is not None:
            batch_size = _validation.positive_int(batch_size, "batch_size")
        _validation.verbose(verbose)
        if steps is not None:
            steps = _validation.positive_int(steps, "steps")
        callbacks = _callback_list(callbacks)
        if _validation.flag(as_frame, "as_frame"):
            if self._multi_output:
                raise ValueError(
                    f"as_frame=True gives one data frame; model {self.name!r} has the outputs "
                    f"{self.output_names}: predict without as_frame (a list of arrays)"
                )
            out = self.predict(x, batch_size, verbose, steps, callbacks)
            if steps is not None:
                x = x.iloc[: len(out)]
            return to_frame(x, out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out)
        check_columns(self.feature_names_in_, x)
        x = self._as_input(x, "x")
        if steps is not None:
            x = x[: steps * (32 if batch_size is None else batch_size)]
        self.build_for(x)
        for cb in callbacks:
            cb.set_model(self)
            cb.on_predict_begin()
        n = len(x)
        step = min(n, PREDICT_CHUNK) if batch_size is None else batch_size
        if self._multi_output:
            outs = [np.empty((n, *shape), dtype=x.dtype) for shape in self.output_shape]
            for lo in range(0, n, step):
                for o, part in zip(outs, self.forward(x[lo : lo + step], training=False), strict=True):
                    o[lo : lo + step] = part
            out = outs
        elif n <= step:
            out = np.asarray(self.forward(x, training=False))  # probabilities, not a fused head's output
        else:
            out = np.empty((n, *self.output_shape), dtype=x.dtype)
            for lo in range(0, n, step):
                out[lo : lo + step] = self.forward(x[lo : lo + step], training=False)
        for cb in callbacks:
            cb.on_predict_end()
        return out

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """``model(x)``: the forward pass in inference mode (Keras' idiom), a new array.

        Builds the model on its first call; ``training=True`` runs the layers in
        training mode (dropout active, batch statistics) without training anything.
        """
        if isinstance(x, SymbolicTensor) or (
            isinstance(x, (list, tuple)) and any(isinstance(t, SymbolicTensor) for t in x)
        ):
            raise TypeError(
                f"model {self.name!r} cannot be called on symbolic tensors: tinynet does not nest models in "
                "models (Keras does); call its layers on the tensors instead, or build one tn.Model of all the layers"
            )
        out = self.forward(x, training=_validation.flag(training, "training"))
        if self._multi_output:
            return [np.array(o) if training else np.asarray(o) for o in out]
        out = np.asarray(out)  # not a head's
        return out.copy() if training else out

    def evaluate(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int | None = None,
        verbose: int | str = "auto",
        sample_weight: np.ndarray | None = None,
        steps: int | None = None,
        callbacks: Sequence[Callback] | None = None,
        return_dict: bool = False,
    ) -> Any:  # float, list or dict (below): Any, so that `loss, acc = model.evaluate(...)` type-checks
        """Loss and metrics on ``(x, y)`` in inference mode.

        Keras 3's signature and positional order.

        Parameters
        ----------
        x, y : ndarray
            Inputs (N, ...) and targets, as for :meth:`fit`; at least one sample.
        batch_size : int or None
            Samples per forward pass, a positive integer (None: 32, as Keras).
        verbose : {0, 1, 2, "auto"}
            Accepted as Keras does; evaluation prints nothing whatever its value.
        sample_weight : ndarray, optional
            Per-sample loss weights (N,), finite and >= 0.
        steps : int, optional
            Evaluate on the first ``steps`` batches only.
        callbacks : list of Callback, optional
            Their ``on_test_begin`` and ``on_test_end`` (with the results) are called.
        return_dict : bool

        Returns
        -------
        float, list or dict
            The loss alone when no metrics were compiled, else ``[loss, *metrics]``;
            with ``return_dict=True`` a dict ``{"loss": ..., "accuracy": ...}``.  With
            several outputs always a list, in Keras' order: the weighted total loss,
            each output's loss, then each output's metrics (every metric of the first
            output, then of the second, ...), ``[loss, a_loss, b_loss, a_accuracy,
            b_mae]``; the dict has the same keys in the same order.
        """
        self._require_compiled("evaluate")
        check_columns(self.feature_names_in_, x)
        batch_size = 32 if batch_size is None else _validation.positive_int(batch_size, "batch_size")
        _validation.verbose(verbose)
        if steps is not None:
            steps = _validation.positive_int(steps, "steps")
        callbacks = _callback_list(callbacks)
        return_dict = _validation.flag(return_dict, "return_dict")
        x, y = self._as_input(x, "x"), self._as_target(y)
        _same_length(x, y, "x", "y")
        n = len(x)
        if n == 0:
            raise ValueError("evaluate needs at least one sample")
        self.build_for(x)
        y = self._check_targets(y)
        self._check_target_values(y)
        w = None if sample_weight is None else _validation.sample_weights(sample_weight, n, x.dtype)
        if steps is not None and steps * batch_size < n:
            n = steps * batch_size
            x, y, w = x[:n], y[:n], None if w is None else w[:n]
        for cb in callbacks:
            cb.set_model(self)
            cb.on_test_begin()
        y_pred = self._empty_outputs(n, x.dtype)
        per_output = isinstance(self.loss, MultiOutputLoss)
        total, output_totals = 0.0, np.zeros(len(self.output_names))
        for lo in range(0, n, batch_size):
            hi = min(n, lo + batch_size)
            y_chunk = y_pred[lo:hi] = self.forward(x[lo:hi], training=False)  # a fused head's: from logits
            total += self.loss.forward(y[lo:hi], y_chunk, None if w is None else w[lo:hi]) * (hi - lo)
            if per_output:
                output_totals += np.multiply(self.loss.values, hi - lo)
        # the penalty is part of the objective, so it is in the reported loss here too (as Keras)
        loss = total / n + (self.regularization_loss() if self._regularized else 0.0)
        results = {"loss": loss}
        if per_output:  # Keras' order: loss, each output's loss, then the metrics
            for name, value in zip(self.output_names, output_totals, strict=True):
                results[f"{name}_loss"] = float(value) / n
        results.update(self._metric_values(y, y_pred))
        for cb in callbacks:
            cb.on_test_end(dict(results))
        if return_dict:
            return results
        if per_output:  # several losses: always a list, as Keras
            return list(results.values())
        return results["loss"] if not self.metrics else list(results.values())

    def _empty_outputs(self, n: int, dtype: np.dtype) -> Any:
        """Arrays for ``n`` samples of the outputs (an :class:`InputList` for several outputs)."""
        if self._multi_output:
            return InputList([np.empty((n, *shape), dtype=dtype) for shape in self.output_shape])
        return np.empty((n, *self.output_shape), dtype=dtype)

    def _metric_values(self, y_true, y_pred) -> dict[str, float]:
        if self._output_metrics is not None and isinstance(self.loss, MultiOutputLoss):
            return {
                f"{name}_{metric}": float(fn(t, p))
                for name, found, t, p in zip(
                    self.output_names, self._output_metrics, y_true.arrays, y_pred.arrays, strict=True
                )
                for metric, fn in found
            }
        return {
            name: float(fn(y_true, y_pred)) for name, fn in zip(self.metric_names, self.metrics, strict=True)
        }

    # ------------------------------------------------------------------- saving
    def save(self, path, *, compress: bool = False, allow_nonfinite: bool = False) -> None:
        """Write the model (architecture, weights, compile settings, optimizer and
        generator state) to a ``.npz`` model file; see :func:`tinynet.save_model`."""
        from .serialization import save_model

        save_model(self, path, compress=compress, allow_nonfinite=allow_nonfinite)

    def save_weights(self, path, *, compress: bool = False, allow_nonfinite: bool = False) -> None:
        """Write the weights alone; see :func:`tinynet.serialization.save_weights`."""
        from .serialization import save_weights

        save_weights(self, path, compress=compress, allow_nonfinite=allow_nonfinite)

    def load_weights(self, path, *, allow_nonfinite: bool = False) -> None:
        """Read weights written by :meth:`save_weights` (checked against the architecture)."""
        from .serialization import load_weights

        load_weights(self, path, allow_nonfinite=allow_nonfinite)

    # --------------------------------------------------------------- inspection
    def summary(self, print_fn: Callable[[str], Any] = print) -> None:
        """Print the layers, their output shapes and weight counts, as Keras does.

        A layer's count includes its state arrays (batch normalization's running
        averages), as Keras counts them; the totals split the weights into
        trainable ones and non-trainable ones (frozen layers' parameters and the
        state arrays).
        """
        if not self.built:
            self.build()

        def shape_text(shape) -> str:
            if isinstance(shape, list):
                return ", ".join(shape_text(s) for s in shape)
            return "(None, " + ", ".join(map(str, shape)) + ")"

        graph = self._graph
        rows: list[tuple[str, ...]] = [("Layer (type)", "Output Shape", "Param #")]
        if graph is not None:  # a functional model: its inputs, and what each layer reads
            rows = [("Layer (type)", "Output Shape", "Param #", "Connected to")]
            for x in self.inputs:
                rows.append((f"{x.name} (InputLayer)", shape_text(x.shape), "0", "-"))
        for i, layer in enumerate(self.layers):
            count = layer.count_params() + sum(s.size for s in layer.state.values())
            name = f"{layer.name} ({type(layer).__name__})" + ("" if layer.trainable else " [frozen]")
            row: tuple[str, ...] = (name, shape_text(layer.output_shape), f"{count:,}")
            if graph is not None:
                inbound = graph["inbound"][i]
                refs = inbound if isinstance(inbound[0], list) else [inbound]
                row += (", ".join(f"{n}[{j}]" if j else n for n, j in refs),)
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) + 2 for i in range(len(rows[0]))]
        rule = "=" * sum(widths)
        lines = [f'Model: "{self.name}"', rule]
        for i, row in enumerate(rows):
            lines.append("".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
            lines.append(rule if i == 0 else "-" * sum(widths))
        lines[-1] = rule
        trainable = sum(w.size for w in self.trainable_weights)
        non_trainable = sum(w.size for w in self.non_trainable_weights)
        lines.append(f"Total params: {trainable + non_trainable:,}")
        lines.append(f"Trainable params: {trainable:,}")
        lines.append(f"Non-trainable params: {non_trainable:,}")
        print_fn("\n".join(lines))

    # ------------------------------------------------------------------ helpers
    def _dtype(self) -> np.dtype:
        if self.built and self._params:
            return next(iter(self._params.values())).dtype
        return self.layers[0].dtype if self.layers else get_default_dtype()

    def _as_input(self, x, what: str = "x") -> Any:
        if self._multi_input:
            names = [t.name for t in self.inputs]
            if not isinstance(x, (list, tuple, InputList)) or len(
                x.arrays if isinstance(x, InputList) else x
            ) != len(names):
                given = f"a list of {len(x)}" if isinstance(x, (list, tuple)) else f"a {type(x).__name__}"
                raise ValueError(
                    f"model {self.name!r} has {len(names)} inputs {names}: {what} must be a list of "
                    f"{len(names)} arrays in that order, got {given}"
                )
            arrays = [
                self._as_array(a, f"{what}[{i}] (input {name!r})")
                for i, (a, name) in enumerate(
                    zip(x.arrays if isinstance(x, InputList) else x, names, strict=True)
                )
            ]
            for i, a in enumerate(arrays[1:], 1):
                if len(a) != len(arrays[0]):
                    raise ValueError(
                        f"{what}[0] (input {names[0]!r}) has {len(arrays[0])} samples but {what}[{i}] "
                        f"(input {names[i]!r}) has {len(a)}; they must match"
                    )
            return InputList(arrays)
        if isinstance(x, (list, tuple)) and self._graph is not None and x and isinstance(x[0], np.ndarray):
            if len(x) != 1:
                raise ValueError(
                    f"model {self.name!r} has one input {self.inputs[0].name!r}: {what} must be one array, "
                    f"got a list of {len(x)}"
                )
            x = x[0]
        return self._as_array(x, what)

    def _as_array(self, x, what: str) -> np.ndarray:
        try:
            arr = np.asarray(x, dtype=self._dtype())
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{what} must be a numeric array: {exc}") from None
        if arr.ndim < 2:
            raise ValueError(
                f"{what} must have a batch axis: got shape {arr.shape}; for one sample use x[None, :] "
                "(or x.reshape(1, -1))"
            )
        return arr

    def _as_target(self, y, what: str = "y") -> Any:
        if isinstance(self.loss, MultiOutputLoss):  # one array per output, in an InputList
            names = self.output_names
            arrays = _targets_per_output(names, y, what, f"model {self.name!r}")
            arrays = [
                _target_array(a, fn, self._dtype(), f"{what}[{name!r}]")
                for a, fn, name in zip(arrays, self.loss.losses, names, strict=True)
            ]
            for a, name in zip(arrays, names, strict=True):
                if a.ndim == 0:
                    raise ValueError(f"{what}[{name!r}] must have a batch axis, got a scalar")
                if len(a) != len(arrays[0]):
                    raise ValueError(
                        f"{what}[{names[0]!r}] has {len(arrays[0])} samples but {what}[{name!r}] has "
                        f"{len(a)}; every output's targets must have one row per sample"
                    )
            return InputList(arrays)
        return _target_array(y, self.loss, self._dtype(), "y")

    def _check_targets(self, y: Any) -> Any:
        """Reshape (N,) targets for an (N, 1) output and reject shapes the loss cannot use."""
        if isinstance(self.loss, MultiOutputLoss):
            return InputList(
                [
                    _fit_target(a, fn, tuple(shape), name, several=True)
                    for a, fn, shape, name in zip(
                        y.arrays, self.loss.losses, self.output_shape, self.output_names, strict=True
                    )
                ]
            )
        return _fit_target(y, self.loss, tuple(self.output_shape), self.layers[-1].name, several=False)

    def _check_target_values(self, y: Any, what: str = "targets") -> None:
        """Refuse target values the loss cannot use (binary cross-entropy: outside [0, 1])."""
        if isinstance(self.loss, MultiOutputLoss):
            for a, fn, name in zip(y.arrays, self.loss.losses, self.output_names, strict=True):
                if isinstance(fn, losses_module.BinaryCrossentropy):
                    _validation.unit_interval_targets(a, f"binary cross-entropy {what} of output {name!r}")
            return
        if isinstance(self.loss, losses_module.BinaryCrossentropy):
            _validation.unit_interval_targets(y, f"binary cross-entropy {what}")

    def _sample_weights(self, y, class_weight, sample_weight) -> np.ndarray | None:
        if class_weight is None and sample_weight is None:
            return None
        n = len(y)
        w = np.ones(n, dtype=self._dtype())
        if sample_weight is not None:
            w *= _validation.sample_weights(sample_weight, n, self._dtype())
        if class_weight is not None:
            labels = np.asarray(y)
            if labels.ndim > 1 and labels.shape[-1] > 1:
                labels = labels.argmax(axis=-1)
            labels = labels.reshape(n, -1)[:, 0]
            whole = np.isfinite(labels) & (labels == np.round(labels)) & (labels >= 0)
            if not whole.all():
                k = int(np.flatnonzero(~whole)[0])
                raise ValueError(
                    f"class_weight needs whole class labels >= 0 (or one-hot rows), but sample {k} has "
                    f"the target {labels[k]!r}: soft or smoothed targets have no class to weigh; "
                    "use sample_weight instead"
                )
            labels = labels.astype(np.int64)
            missing = sorted(set(np.unique(labels).tolist()) - set(class_weight))
            if missing:
                raise ValueError(f"class_weight has no entry for the classes {missing}")
            lookup = np.zeros(int(labels.max()) + 1, dtype=self._dtype())
            for k, v in class_weight.items():
                if 0 <= int(k) < len(lookup):
                    lookup[int(k)] = v
            w *= lookup[labels]
        return w

    def __repr__(self) -> str:
        return f"Model(name={self.name!r}, layers={[type(layer).__name__ for layer in self.layers]})"


class Sequential(Model):
    """A linear stack of layers: a :class:`Model` whose graph is a chain.

    Parameters
    ----------
    layers : list of Layer, optional
        Layers to :meth:`add`, in order; a ``tn.Input(shape=...)`` may come first.
    name : str, optional

    Attributes
    ----------
    layers : list of Layer
    rng : numpy.random.Generator
        The model's own generator (shuffling, dropout), seeded from
        :func:`tinynet.set_seed`'s generator when the model is created.
    epochs_done : int
        Epochs trained so far (saved in model files).  ``fit`` numbers the
        epochs it shows callbacks from here (as Keras' ``initial_epoch``).
    stop_training : bool
        Set it from a callback to end :meth:`fit` after the current batch.
    """

    #: The ``tn.Input`` the model started with, if any.
    _input_spec: Input | None = None
    #: Whether :meth:`add` builds at once when the input shape is known (the model-file
    #: loader turns it off: it builds once, under its own guards, after every layer is added).
    _build_on_add: bool = True

    def __init__(self, layers: Sequence[Layer | Input] | None = None, name: str | None = None) -> None:
        self._init_model(name or "sequential")
        for layer in layers or ():
            self.add(layer)

    # ------------------------------------------------------------------ building
    def add(self, layer: Layer | Input) -> None:
        """Append a layer (it gets a unique name and the model's generator).

        ``tn.Input(shape=...)`` as the first element gives the model its input
        shape, as in Keras.  Once the model knows its input shape (from an
        ``Input``, or the first layer's ``input_dim``/``input_shape``), each added
        layer is built at once: its weights exist, :meth:`count_params` is right
        and :meth:`set_weights` works before any data is seen.  A layer that
        cannot take the shape it receives is refused, and the model is left as it was.
        """
        if isinstance(layer, Input):
            if self.layers or self._input_spec is not None:
                raise ValueError(
                    "tn.Input(shape=...) can only be the first element of a Sequential model "
                    "(it declares the shape of the model's inputs)"
                )
            self._input_spec = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a tinynet layer, got {type(layer).__name__}")
        if getattr(layer, "return_state", False) is True:  # several outputs: a graph, not a stack
            raise ValueError(
                f"{type(layer).__name__} with return_state=True has several outputs ([output, *states]), "
                "which a Sequential cannot pass on; build the model with the functional API, "
                "tn.Model(inputs, outputs), or use return_state=False"
            )
        taken = {existing.name for existing in self.layers}
        given_name = layer.name
        if layer.name is None:
            base = layer.default_name()
            layer.name, k = base, 0
            while layer.name in taken:
                k += 1
                layer.name = f"{base}_{k}"
        elif layer.name in taken:
            raise ValueError(
                f"the model already has a layer named {layer.name!r}; layer names must be unique"
            )
        layer.rng = self.rng
        self.layers.append(layer)
        self.built = False
        self._input_dtype = None
        if self._build_on_add and self._known_input_shape() is not None:  # at once, as Keras (see above)
            try:
                self.build()
            except Exception:
                self.layers.pop()
                layer.name = given_name
                if self.layers:
                    self.build()
                raise

    def _known_input_shape(self) -> tuple[int, ...] | None:
        """The input shape declared by an ``Input`` or by the first layer, or None."""
        if self._input_spec is not None:
            return self._input_spec.shape
        return self.layers[0].input_shape if self.layers else None

    def pop(self) -> Layer:
        """Remove the last layer and return it (Keras' ``model.pop()``); the model is rebuilt."""
        if not self.layers:
            raise ValueError("pop() on a model without layers: there is nothing to remove")
        layer = self.layers.pop()
        self.built = False
        self._input_dtype = None
        if self.layers and self._known_input_shape() is not None:
            self.build()
        self._setup_execution()
        return layer

    def get_config(self) -> dict[str, Any]:
        """The architecture as a JSON-able dict: ``{"name", "input_shape", "layers": [{"class_name", "config"}]}``.

        :meth:`from_config` rebuilds the model (new weights); the layer entries are
        those of a model file's manifest (see the file-format page).
        """
        from .serialization._model import registered_name

        shape = self.input_shape if self.built else self._known_input_shape()
        return {
            "name": self.name,
            "input_shape": None if shape is None else [int(s) for s in shape],
            "layers": [
                {"class_name": registered_name(layer), "config": layer.get_config()} for layer in self.layers
            ],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """A new model from :meth:`get_config`'s output, every layer config checked as model files check them."""
        from .layers.base import LAYER_REGISTRY
        from .serialization._configs import check_config
        from .serialization._model import import_builtin_layers

        def fail(reason: str) -> ValueError:
            return ValueError(f"Sequential.from_config: {reason}")

        if not isinstance(config, dict) or not set(config) <= {"name", "input_shape", "layers"}:
            raise fail("config must be a dict with the keys name, input_shape and layers (from get_config())")
        import_builtin_layers()
        model = cls(name=config.get("name"))
        shape = config.get("input_shape")
        if shape is not None:
            model.add(Input(shape=shape))
        for i, entry in enumerate(config.get("layers") or ()):
            if not isinstance(entry, dict) or set(entry) != {"class_name", "config"}:
                raise fail(f"layers[{i}] must be a dict {{'class_name': ..., 'config': ...}}")
            layer_cls = LAYER_REGISTRY.get(entry["class_name"])
            if layer_cls is None:
                raise fail(f"layers[{i}] is a {entry['class_name']!r}, which is not a registered layer class")
            check_config(layer_cls, entry["config"], f"layers[{i}].config", fail)
            model.add(layer_cls.from_config(dict(entry["config"])))
        return model

    def build(self, input_shape: Sequence[int] | None = None) -> None:
        """Build every layer for samples of ``input_shape`` and gather the parameters.

        Parameters
        ----------
        input_shape : tuple of int, optional
            The shape of one sample; taken from the first layer's ``input_dim``
            or ``input_shape`` when omitted.
        """
        if not self.layers:
            raise ValueError("the model has no layers: add some with model.add(...) first")
        shape = input_shape if input_shape is not None else self._known_input_shape()
        if shape is None:
            raise ValueError(
                f"cannot build the model: the first layer ({self.layers[0].name!r}) does not know its "
                "input shape; pass input_dim=... or input_shape=... to it, or call model.build(input_shape)"
            )
        shape = tuple(int(s) for s in shape)
        self.input_shape = shape
        for layer in self.layers:
            if not layer.built:
                layer.build(shape)
            elif layer.input_shape != shape:
                raise ValueError(
                    f"layer {layer.name!r} was built for inputs {layer.input_shape} but receives {shape}"
                )
            shape = tuple(layer.output_shape)
        self.output_shape = shape
        self._gather_parameters()
        self._gather_regularizers()
        self._gather_state()
        self.built = True
        self._input_dtype = self._dtype()  # what forward takes without converting
        self._setup_execution()

    def build_for(self, x: np.ndarray) -> None:
        """Build from a batch's shape unless already built; check the batch fits."""
        if not self.built:
            first = self._known_input_shape() if self.layers else None
            self.build(first if first is not None else np.shape(x)[1:])
        self.layers[0].check_input(x)

    def _setup_execution(self) -> None:
        """The chain executor of the built model, with a fused head when the loss fits the output (tinynet.engine)."""
        if self.built:
            self._executor = Executor(self.layers, find_head(self.layers, self.loss))

    def _check_input(self, x: np.ndarray) -> None:
        self.layers[0].check_input(x)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Run every layer's forward pass in order and return the output."""
        if not (type(x) is np.ndarray and x.dtype == self._input_dtype and x.shape[1:] == self.input_shape):
            # anything but a batch the built model takes as it is: convert, build, check
            x = self._as_input(x)
            self.build_for(x)
        return self._executor.forward(x, training)

    def __repr__(self) -> str:
        return f"Sequential(name={self.name!r}, layers={[type(layer).__name__ for layer in self.layers]})"


class InputList:
    """The arrays of a model with several inputs, sliced and shuffled together.

    What :meth:`Model.fit`, :meth:`Model.evaluate` and :meth:`Model.predict` turn a
    list of input arrays (or the targets of several outputs) into: ``len`` is the number of samples, indexing and
    ``take`` apply to every array alike (the batch axis), ``dtype`` is theirs.
    """

    __slots__ = ("arrays",)

    def __init__(self, arrays: Sequence[np.ndarray]) -> None:
        self.arrays = list(arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, key: Any) -> InputList:
        return InputList([a[key] for a in self.arrays])

    def __setitem__(self, key: Any, values: Any) -> None:
        """Assign to every array: ``values`` is a list of arrays (or an InputList), one per array."""
        for a, v in zip(self.arrays, values.arrays if isinstance(values, InputList) else values, strict=True):
            a[key] = v

    @property
    def dtype(self) -> np.dtype:
        return self.arrays[0].dtype

    @property
    def shape(self) -> tuple[int, ...]:
        """The number of samples, as ``(N,)`` (error messages)."""
        return (len(self),)

    def take(self, indices: np.ndarray, axis: int = 0, out: InputList | None = None) -> InputList:
        outs = [None] * len(self.arrays) if out is None else out.arrays
        return InputList([a.take(indices, axis=axis, out=o) for a, o in zip(self.arrays, outs, strict=True)])

    def empty_rows(self, rows: int) -> InputList:
        """New arrays of ``rows`` samples each (batch buffers)."""
        return InputList([np.empty((rows, *a.shape[1:]), dtype=a.dtype) for a in self.arrays])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """Every value of a sample in one row, ``(N, total size)`` (for the checks of a failed step,
        which look for the samples that hold NaN or infinite values)."""
        rows = np.concatenate([a.reshape(len(a), -1) for a in self.arrays], axis=1)
        return rows if dtype is None else rows.astype(dtype)


def _empty_rows(x: Any, rows: int) -> Any:
    """Batch buffers of ``rows`` samples shaped like ``x`` (an array or an :class:`InputList`)."""
    if isinstance(x, InputList):
        return x.empty_rows(rows)
    return np.empty((rows, *x.shape[1:]), dtype=x.dtype)


def _as_list(value: Any) -> tuple[list[Any], bool]:
    """``value`` as a list, and whether it was one (a list or a tuple)."""
    if isinstance(value, (list, tuple)):
        return list(value), True
    return [value], False


def _unique_name(base: str, taken: set[str]) -> str:
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    return name


def connect(model: Model, inputs: Any, outputs: Any) -> None:
    """Find the graph from ``inputs`` to ``outputs`` and give ``model`` its layers (topological order),
    names, and the executor's description of the graph; refuse what cannot be a model, naming the tensor."""
    ins, multi_in = _as_list(inputs)
    outs, multi_out = _as_list(outputs)
    if not ins or not outs:
        raise ValueError("tn.Model needs at least one input and one output")
    for x in ins:
        if not isinstance(x, Input):
            raise TypeError(
                f"tn.Model inputs must be tn.Input(shape=...) tensors, got {x!r}; a layer's output cannot be "
                "a model input"
            )
    for y in outs:
        if not isinstance(y, SymbolicTensor):
            raise TypeError(
                f"tn.Model outputs must be what layers called on the inputs returned, got {type(y).__name__}"
            )
    if len({id(x) for x in ins}) < len(ins):
        raise ValueError("tn.Model: the same Input appears twice in inputs")
    # the inputs' names first: unnamed ones get input, input_1, ...
    taken: set[str] = {x.name for x in ins if x.name is not None}
    if len(taken) < sum(x.name is not None for x in ins):
        raise ValueError(
            f"tn.Model: two inputs share a name; input names must be unique, got {[x.name for x in ins]}"
        )
    for x in ins:
        if x.name is None:
            x.name = _unique_name("input", taken)
            taken.add(x.name)
    # walk back from the outputs: every node that computes them, and the inputs they reach
    nodes: dict[int, Node] = {}
    reached: set[int] = set()
    stack = list(outs)
    input_ids = {id(x) for x in ins}
    while stack:
        t = stack.pop()
        if t.node is None:
            if id(t) not in input_ids:
                raise ValueError(
                    f"tn.Model: the outputs depend on the Input {t.name!r} (shape {t.shape}), which is "
                    "not among the model's inputs; add it to inputs=[...]"
                )
            reached.add(id(t))
        elif t.node.order not in nodes:
            nodes[t.node.order] = t.node
            stack.extend(t.node.inputs)
    for x in ins:
        if id(x) not in reached:
            raise ValueError(
                f"tn.Model: the Input {x.name!r} (shape {x.shape}) is not used to compute the outputs; "
                "remove it from inputs or connect it to a layer on the way to the outputs"
            )
    if not nodes:
        raise ValueError("tn.Model: the outputs are inputs; call at least one layer on them")
    ordered = [nodes[k] for k in sorted(nodes)]  # creation order is a topological order
    layer_names = {node.layer.name for node in ordered if node.layer.name is not None}
    clash = layer_names & {x.name for x in ins}
    if clash:
        raise ValueError(f"tn.Model: {sorted(clash)} names both an Input and a layer; names must be unique")
    seen: set[str] = set()
    for node in ordered:
        name = node.layer.name
        if name is not None:
            if name in seen:
                raise ValueError(f"the model has two layers named {name!r}; layer names must be unique")
            seen.add(name)
    taken |= layer_names
    for node in ordered:
        if node.layer.name is None:
            node.layer.name = _unique_name(node.layer.default_name(), taken)
            taken.add(node.layer.name)
    # tensor ids: the inputs, then each node's outputs in order
    ids: dict[int, int] = {id(x): i for i, x in enumerate(ins)}
    refs: dict[int, list[Any]] = {id(x): [x.name, 0] for x in ins}
    for node in ordered:
        for j, t in enumerate(node.outputs):
            ids[id(t)] = len(ids)
            refs[id(t)] = [node.layer.name, j]
    for y in outs:
        if id(y) not in ids:  # an output computed by no node: an input given as an output
            raise ValueError(f"tn.Model: the output {y.name!r} is an input; call a layer on it")
    model.layers = [node.layer for node in ordered]
    for layer in model.layers:
        layer.rng = model.rng
    model.inputs, model.outputs = ins, outs
    model._multi_input, model._multi_output = multi_in, multi_out
    model.input_shapes = [x.shape for x in ins]
    model.input_shape = ins[0].shape if not multi_in else list(model.input_shapes)
    shapes = [y.shape for y in outs]
    model.output_shape = shapes[0] if not multi_out else shapes
    inbound = []
    for node in ordered:
        node_refs = [refs[id(t)] for t in node.inputs]
        inbound.append(node_refs if node.listed else node_refs[0])
    input_entries = [{"name": x.name, "shape": list(x.shape)} for x in ins]
    output_refs = [refs[id(y)] for y in outs]
    model._output_names = output_names(output_refs)
    model._graph = {
        "inputs": input_entries if multi_in else input_entries[0],
        "inbound": inbound,
        "outputs": output_refs if multi_out else output_refs[0],
        "nodes": [
            ([ids[id(t)] for t in node.inputs], node.listed, [ids[id(t)] for t in node.outputs])
            for node in ordered
        ],
        "output_ids": [ids[id(y)] for y in outs],
    }


def output_names(refs: list[list[Any]]) -> list[str]:
    """The outputs' names, as Keras names them: the name of the layer that computes each
    (``name_j`` for its ``j``-th tensor when ``j > 0``; ``_1``, ``_2``, ... for an output given twice).

    They key the losses, targets, metrics and history entries of a model with several outputs
    (``"<name>_loss"``); derived from the graph's output references, they survive a model file.
    """
    names: list[str] = []
    for layer_name, j in refs:
        base = layer_name if j == 0 else f"{layer_name}_{j}"
        names.append(_unique_name(base, set(names)))
    return names


def model_from_graph(
    name: str | None, graph: dict[str, Any], layers: list[Layer], fail: Callable[[str], Exception]
):
    """A :class:`Model` of ``layers`` (unbuilt, in topological order) connected as ``graph`` describes
    (``{"inputs", "inbound", "outputs"}`` as in :meth:`Model.get_config`); ``fail`` makes the errors."""
    inputs_spec, multi_in = (
        (graph["inputs"], True) if isinstance(graph["inputs"], list) else ([graph["inputs"]], False)
    )
    tensors: dict[tuple[str, int], SymbolicTensor] = {}
    inputs = []
    for k, spec in enumerate(inputs_spec):
        if not isinstance(spec, dict) or set(spec) != {"name", "shape"}:
            raise fail(f"inputs[{k}] must be {{'name': ..., 'shape': [...]}}, found {spec!r}")
        try:
            x = Input(shape=tuple(spec["shape"]), name=str(spec["name"]))
        except (TypeError, ValueError) as exc:
            raise fail(f"inputs[{k}]: {exc}") from None
        tensors[(x.name, 0)] = x
        inputs.append(x)

    def lookup(ref: Any, where: str) -> SymbolicTensor:
        if not (
            isinstance(ref, list) and len(ref) == 2 and isinstance(ref[0], str) and isinstance(ref[1], int)
        ):
            raise fail(f"{where} must be a reference [name, index], found {ref!r}")
        tensor = tensors.get((ref[0], ref[1]))
        if tensor is None:
            raise fail(f"{where} refers to {ref!r}, which no earlier input or layer makes")
        return tensor

    def refs(value: Any, where: str) -> tuple[list[SymbolicTensor], bool]:
        if isinstance(value, list) and value and all(isinstance(r, list) for r in value):
            return [lookup(r, f"{where}[{i}]") for i, r in enumerate(value)], True
        return [lookup(value, where)], False

    if len(graph["inbound"]) != len(layers):
        raise fail(f"the graph has {len(graph['inbound'])} layer entries for {len(layers)} layers")
    for i, (layer, inbound) in enumerate(zip(layers, graph["inbound"], strict=True)):
        args, listed = refs(inbound, f"layers[{i}].inbound")
        try:
            out = layer(args if listed else args[0])
        except Exception as exc:
            raise fail(
                f"layer {i} ({type(layer).__name__} {layer.name!r}) cannot be connected: {exc}"
            ) from exc
        for j, t in enumerate(out if isinstance(out, list) else [out]):
            tensors[(layer.name, j)] = t
    outputs, multi_out = refs(graph["outputs"], "outputs")
    if isinstance(graph["outputs"], list) and not graph["outputs"]:
        raise fail("outputs is empty")
    try:
        return Model(inputs if multi_in else inputs[0], outputs if multi_out else outputs[0], name=name)
    except (TypeError, ValueError) as exc:
        raise fail(str(exc)) from None


_REQUIRED = object()


def _target_array(y: Any, loss: Any, dtype: np.dtype, what: str) -> np.ndarray:
    """Targets as an array: integer labels as given (sparse cross-entropy), else in the model's dtype."""
    if isinstance(loss, losses_module.SparseCategoricalCrossentropy):
        return np.asarray(y)
    try:
        return np.asarray(y, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be a numeric array: {exc}") from None


def _fit_target(y: np.ndarray, loss: Any, out: tuple[int, ...], layer: str, several: bool) -> np.ndarray:
    """Reshape (N,) targets for an (N, 1) output and reject shapes ``loss`` cannot use; the error
    names the output ``layer`` (one of ``several``) or the model's last layer."""
    where = f"output {layer!r}" if several else f"last layer {layer!r}"
    if isinstance(loss, losses_module.SparseCategoricalCrossentropy):
        if y.ndim == len(out) + 1 and y.shape[-1] == 1:
            y = y[..., 0]
        if tuple(y.shape[1:]) != out[:-1]:
            raise ValueError(
                f"sparse_categorical_crossentropy expects integer labels of shape (N,) for the "
                f"output shape {out}, got targets of shape {y.shape}" + (f" ({where})" if several else "")
            )
        return y
    if y.ndim == 1 and out == (1,):
        y = y.reshape(-1, 1)
    if tuple(y.shape[1:]) != out:
        hint = ""
        if y.ndim == 1 and len(out) == 1 and out[0] > 1:
            hint = (
                "; for integer class labels use loss='sparse_categorical_crossentropy' "
                "or convert them with tn.datasets.one_hot"
            )
        what = "the output shape" if several else "the model's output shape"
        raise ValueError(
            f"targets of shape {y.shape} do not match {what} (N, {', '.join(map(str, out))}) ({where}){hint}"
        )
    return y


def _per_output(model: Model, value: Any, what: str, missing: Any = _REQUIRED) -> list[Any]:
    """``value`` given for each of ``model``'s outputs: a list of one entry per output (in order), a dict
    keyed by output name (absent outputs get ``missing``, or are refused), or one value for every output."""
    names = model.output_names
    if isinstance(value, dict):
        for key in value:
            if key not in names:
                raise ValueError(
                    f"{what} names the output {key!r}, which model {model.name!r} does not have; its outputs "
                    f"are {names}"
                )
        absent = [name for name in names if name not in value]
        if absent and missing is _REQUIRED:
            raise ValueError(
                f"{what} has no entry for the output(s) {absent} of model {model.name!r}; give one for each of "
                f"its outputs {names}"
            )
        return [value.get(name, missing) for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(
                f"{what} has {len(value)} entries but model {model.name!r} has {len(names)} outputs {names}; "
                "give one per output, in that order, or a dict keyed by output name"
            )
        return list(value)
    return [value] * len(names)


def _metric(m: Any, where: str = "") -> tuple[str, Callable]:
    """``(name, function)`` of a metric given by name (:data:`tinynet.metrics.METRICS`) or as a function."""
    fn = metrics_module.get(m) if isinstance(m, str) else m
    if not callable(fn):
        raise TypeError(f"a metric must be a name or a function, got {m!r}{where}")
    return getattr(fn, "__name__", str(m)), fn


def _output_loss(value: Any, name: str) -> losses_module.Loss:
    """The loss object of output ``name`` (a name, a Loss class or object)."""
    if value is None:
        raise ValueError(
            f"the output {name!r} has no loss; tinynet trains every output of a model (Keras would leave it "
            "untrained): give it a loss, or build a model without that output"
        )
    try:
        return losses_module.get(value)
    except ValueError as exc:
        raise ValueError(f"output {name!r}: {exc}") from None


class MultiOutputLoss:
    r"""The loss of a model with several outputs: a weighted sum of one loss per output.

    .. math:: L = \sum_{k} w_k L_k(y_k, \hat y_k), \qquad
              \frac{\partial L}{\partial \hat y_k} = w_k \frac{\partial L_k}{\partial \hat y_k},

    since only :math:`L_k` depends on output :math:`k`.  :meth:`backward` returns the list of
    these gradients, which the graph executor injects at the output tensors (a fused head's is
    with respect to its logits, :math:`w_k (p_k - y_k)/N`).  Sample weights apply to every output.

    What :meth:`Model.compile` makes of ``loss=``, ``loss_weights=`` for a model with several
    outputs; ``model.loss`` then is one, with the per-output losses in :attr:`losses`.

    Attributes
    ----------
    names : list of str
        The outputs' names (``model.output_names``).
    losses : list of Loss
        One loss object per output.
    weights : list of float
        The loss weights :math:`w_k`.
    values : list of float
        The unweighted :math:`L_k` of the last :meth:`forward` (what fit logs as ``"<name>_loss"``).
    """

    name = "multi_output"
    fusable_activation = None
    from_logits = False

    def __init__(self, names: list[str], losses: list[losses_module.Loss], weights: list[float]) -> None:
        self.names, self.losses, self.weights = list(names), list(losses), [float(w) for w in weights]
        self.values: list[float] = []

    def targets(self, y_true: Any) -> list[Any]:
        """``y_true`` as one target array per output: a list in output order, a dict keyed by output
        name, or the :class:`InputList` fit makes of them."""
        return _targets_per_output(self.names, y_true, "y", "the model")

    def forward(
        self, y_true: Any, y_pred: Any, sample_weight: np.ndarray | None = None, rows_sum_to_one: Any = False
    ) -> float:
        r""":math:`\sum_k w_k L_k`; ``rows_sum_to_one`` is a flag per output (or one for all)
        passed to the outputs' categorical cross-entropies (see :meth:`Model.compute_gradients`)."""
        ys = self.targets(y_true)
        if len(y_pred) != len(self.losses):
            raise ValueError(f"{len(y_pred)} predictions for the {len(self.losses)} outputs {self.names}")
        unit = rows_sum_to_one if isinstance(rows_sum_to_one, (list, tuple)) else [rows_sum_to_one] * len(ys)
        total, values = 0.0, []
        for fn, y, p, w, u in zip(self.losses, ys, y_pred, self.weights, unit, strict=True):
            value = (
                fn.forward(y, p, sample_weight, rows_sum_to_one=True)
                if u
                else fn.forward(y, p, sample_weight)
            )
            values.append(value)
            total += w * value
        self.values = values
        return total

    __call__ = forward

    def backward(self) -> list[np.ndarray]:
        r""":math:`w_k\,\partial L_k/\partial \hat y_k` for each output (module docstring)."""
        grads = []
        for fn, w in zip(self.losses, self.weights, strict=True):
            g = fn.backward()
            if w != 1.0:
                if type(g) is LogitGradient:  # the head's own work array: scaled in place, still dL/dz
                    g *= w
                else:
                    g = g * w
            grads.append(g)
        return grads

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{n}: {fn!r}" + ("" if w == 1.0 else f" * {w!r}")
            for n, fn, w in zip(self.names, self.losses, self.weights, strict=True)
        )
        return f"MultiOutputLoss({parts})"


def _describe_targets(y: Any) -> str:
    if isinstance(y, (list, tuple)):
        return f"a list of {len(y)}"
    return f"a {type(y).__name__}" + (f" of shape {y.shape}" if hasattr(y, "shape") else "")


def _targets_per_output(names: list[str], y: Any, what: str, owner: str) -> list[Any]:
    """The targets ``y`` of the outputs ``names`` as one array per output, in order: from a list, a
    dict keyed by output name, or the :class:`InputList` fit makes of them; ``owner`` names the model
    in the error."""
    if isinstance(y, InputList):
        return y.arrays
    if isinstance(y, (list, tuple)) and len(y) == len(names):
        return list(y)
    if not isinstance(y, dict):
        raise ValueError(
            f"{owner} has {len(names)} outputs {names}: {what} must be a list of {len(names)} target "
            f"arrays in that order or a dict keyed by output name, got {_describe_targets(y)}"
        )
    for key in y:
        if key not in names:
            raise ValueError(
                f"{what} has targets for {key!r}, which is not an output; the outputs are {names}"
            )
    absent = [name for name in names if name not in y]
    if absent:
        raise ValueError(f"{what} has no targets for the output(s) {absent}; every output {names} needs them")
    return [y[name] for name in names]


def _rows_sum_to_one(y: np.ndarray) -> bool:
    """Whether every row of ``y`` (along its last axis) sums to exactly 1 as the loss sums it
    (``np.add.reduce(t, axis=-1)``), so that the fused gradient may skip the row sums.

    Targets of 0s and 1s (one-hot labels, the usual case) are decided by a matrix-vector
    product, several times faster than a reduction along short rows: their sums are whole
    numbers, exact in any order of summation.  Other targets (smoothed labels) are summed
    as the loss sums them.
    """
    if y.ndim < 2:
        return False
    if not np.any((y != 0) & (y != 1)):
        return bool(np.all(y @ np.ones(y.shape[-1], y.dtype) == 1))
    return bool(np.all(np.add.reduce(y, axis=-1) == 1))


def _validation_tuple(data: Any) -> tuple[Any, Any, Any]:
    """``validation_data`` as ``(x_val, y_val, sample_weight_val or None)``."""
    if not isinstance(data, (tuple, list)):
        raise TypeError(
            "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val), "
            f"got {type(data).__name__}"
        )
    if len(data) not in (2, 3):
        raise ValueError(
            "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val), "
            f"got {len(data)} items"
        )
    return data[0], data[1], data[2] if len(data) == 3 else None


def _callback_list(callbacks: Any) -> list[Callback]:
    """``callbacks`` as a list of :class:`Callback` objects (a list or tuple of them, or None)."""
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(
            f"callbacks must be a list of callbacks, e.g. [EarlyStopping()], got {type(callbacks).__name__}"
        )
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(
                f"callbacks must be tinynet.callbacks.Callback objects, got {cb!r}; wrap a function in "
                "tinynet.callbacks.LambdaCallback(on_epoch_end=...)"
            )
    return list(callbacks)


def _refuse_swapped(optimizer: Any, loss: Any) -> None:
    """Refuse ``compile("mse", "adam")`` (tinynet's old order) with a message that says why."""
    if (
        isinstance(optimizer, str)
        and isinstance(loss, str)
        and optimizer.lower() in losses_module.LOSSES
        and loss.lower() in optimizers_module.OPTIMIZERS
    ):
        raise ValueError(
            f"compile({optimizer!r}, {loss!r}): the first positional argument is the optimizer and the "
            f"second the loss (Keras' order); write compile(optimizer={loss!r}, loss={optimizer!r})"
        )


def _same_length(a, b, name_a: str, name_b: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{name_a} has {len(a)} samples but {name_b} has {len(b)}; they must match")


def __getattr__(name: str):
    """``tinynet.models.load_model``: Keras spells it ``keras.models.load_model``; the loader lives in
    :mod:`tinynet.serialization`, which imports this module (never the other way at import time)."""
    if name == "load_model":
        from .serialization import load_model

        return load_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
