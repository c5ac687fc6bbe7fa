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
backpropagation from :math:`\\partial L/\\partial z = (p - t)/N`, skipping the
activation's own backward (see :mod:`tinynet.engine` and :mod:`tinynet.ops.losses`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from ._config import get_default_dtype, new_generator
from .callbacks import Callback, CallbackList, History
from .engine import Executor, find_head
from .layers.base import Layer
from .progress import ProgbarLogger

#: predict() without a batch size runs at most this many samples per forward pass.
PREDICT_CHUNK = 4096


class Sequential:
    """A linear stack of layers with a Keras-shaped training API.

    Parameters
    ----------
    layers : list of Layer, optional
        Layers to :meth:`add`, in order.
    name : str, optional

    Attributes
    ----------
    layers : list of Layer
    rng : numpy.random.Generator
        The model's own generator (shuffling, dropout), seeded from
        :func:`tinynet.set_seed`'s generator when the model is created.
    epochs_done : int
        Epochs trained so far (saved in model files).
    stop_training : bool
        Set it from a callback to end :meth:`fit` after the current batch.
    """

    #: The shape of one sample, once built.
    input_shape: tuple[int, ...] | None = None
    #: The dtype :meth:`forward` takes as it is (None until built: everything is converted).
    _input_dtype: np.dtype | None = None

    def __init__(self, layers: Sequence[Layer] | None = None, name: str | None = None) -> None:
        self.name = name or "sequential"
        self.layers: list[Layer] = []
        self.rng: np.random.Generator = new_generator()
        self.built = False
        self.loss: losses_module.Loss | None = None
        self.optimizer: optimizers_module.Optimizer | None = None
        self.metrics: list[Callable] = []
        self.metric_names: list[str] = []
        self.epochs_done = 0
        self.stop_training = False
        self.history: History | None = None
        self._params: dict[str, np.ndarray] = {}
        self._grads: dict[str, np.ndarray] = {}
        self._executor: Executor | None = None  # runs the layers (tinynet.engine), once built
        # (regularizer, parameter view, gradient view) for every penalised parameter; empty = no cost
        self._regularized: list[tuple[Any, np.ndarray, np.ndarray]] = []
        for layer in layers or ():
            self.add(layer)

    # ------------------------------------------------------------------ building
    def add(self, layer: Layer) -> None:
        """Append a layer (it gets a unique name and the model's generator)."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a tinynet layer, got {type(layer).__name__}")
        taken = {existing.name for existing in self.layers}
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
        shape = input_shape if input_shape is not None else self.layers[0].input_shape
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
        self.built = True
        self._input_dtype = self._dtype()  # what forward takes without converting
        self._setup_execution()

    def build_for(self, x: np.ndarray) -> None:
        """Build from a batch's shape unless already built; check the batch fits."""
        if not self.built:
            first = self.layers[0].input_shape if self.layers else None
            self.build(first if first is not None else np.shape(x)[1:])
        self.layers[0].check_input(x)

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

    def _gather_parameters(self) -> None:
        """Move every parameter and gradient into one flat buffer each (see the module docstring)."""
        entries = [(layer, key) for layer in self.layers for key in layer.params]
        dtypes = {layer.params[key].dtype for layer, key in entries}
        if len(dtypes) > 1:
            raise ValueError(f"all layers of a model must share one dtype, found {sorted(map(str, dtypes))}")
        dtype = dtypes.pop() if dtypes else get_default_dtype()
        total = sum(layer.params[key].size for layer, key in entries)
        P = np.empty(total, dtype=dtype)
        G = np.zeros(total, dtype=dtype)
        self._params, self._grads = {}, {}
        offset = 0
        for layer, key in entries:
            value = layer.params[key]
            n = value.size
            p_view = P[offset : offset + n].reshape(value.shape)
            p_view[...] = value
            g_view = G[offset : offset + n].reshape(value.shape)
            layer.params[key], layer.grads[key] = p_view, g_view
            self._params[f"{layer.name}/{key}"] = p_view
            self._grads[f"{layer.name}/{key}"] = g_view
            offset += n
        self._flat_params, self._flat_grads = P, G

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
        """Number of trainable scalars."""
        return int(sum(layer.count_params() for layer in self.layers))

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
        loss: str | losses_module.Loss,
        optimizer: str | optimizers_module.Optimizer = "adam",
        metrics: Sequence[str | Callable] | None = None,
    ) -> None:
        """Choose the loss, the optimizer and the metrics to report.

        Parameters
        ----------
        loss : str or Loss
            E.g. ``"binary_crossentropy"`` (see :data:`tinynet.losses.LOSSES`).
        optimizer : str or Optimizer
            E.g. ``"adam"`` or ``tn.optimizers.SGD(0.1)``.
        metrics : list of str or callable, optional
            Names from :data:`tinynet.metrics.METRICS` or functions ``f(y_true, y_pred)``.
        """
        self.loss = losses_module.get(loss)
        self.optimizer = optimizers_module.get(optimizer)
        self.metrics, self.metric_names = [], []
        for m in metrics or ():
            fn = metrics_module.get(m) if isinstance(m, str) else m
            if not callable(fn):
                raise TypeError(f"a metric must be a name or a function, got {m!r}")
            self.metrics.append(fn)
            self.metric_names.append(getattr(fn, "__name__", str(m)))
        self._setup_execution()

    def _setup_execution(self) -> None:
        """The executor of the built model, with a fused head when the loss fits the output (tinynet.engine)."""
        if self.built:
            self._executor = Executor(self.layers, find_head(self.layers, self.loss))

    def _require_compiled(self, what: str) -> None:
        if self.loss is None or self.optimizer is None:
            raise RuntimeError(
                f"the model must be compiled before {what}: call model.compile(loss=..., optimizer=...) first"
            )

    # ------------------------------------------------------------ the explicit loop
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Run every layer's forward pass in order and return the output."""
        if not (type(x) is np.ndarray and x.dtype == self._input_dtype and x.shape[1:] == self.input_shape):
            # anything but a batch the built model takes as it is: convert, build, check
            x = self._as_input(x)
            self.build_for(x)
        return self._executor.forward(x, training)

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Run every layer's backward pass in reverse; return the gradient for the input.

        ``grad_output`` is :math:`\\partial L/\\partial \\hat y`, or what the loss's
        ``backward`` returns after a fused head's output (a
        :class:`~tinynet.engine.LogitGradient`: the backward pass then starts below
        the head's activation).  With ``input_grad=False`` (what training uses)
        the first layer may skip the gradient with respect to the data, and
        ``None`` is returned.
        """
        return self._executor.backward(grad_output, input_grad)

    def compute_gradients(
        self,
        x: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        backward: bool = True,
        *,
        rows_sum_to_one: bool = False,
    ) -> float:
        r"""Forward in training mode, loss, and (unless ``backward=False``) backward.

        Fills every layer's ``grads`` and returns the batch loss; the optimizer
        is not called.  With weight penalties (``kernel_regularizer``), the loss
        returned is :math:`J = L + \sum R(W)` and each penalised gradient gets
        :math:`\partial R/\partial W` added after the backward pass, in place on
        the flat-buffer views (the layers' ``backward`` overwrites ``grads`` first).

        ``rows_sum_to_one=True`` promises that every row of ``y`` sums to exactly
        1 (one-hot labels): a softmax head fused with the categorical
        cross-entropy then computes :math:`(p - t)/N` without the row sums of
        ``y``, which gives the same bits.  :meth:`fit` checks its targets once
        and passes it.
        """
        self._require_compiled("computing gradients")
        y_pred = self.last_output = self.forward(x, training=True)
        if rows_sum_to_one:  # only the categorical cross-entropy takes the promise
            loss = self.loss.forward(y, y_pred, sample_weight, rows_sum_to_one=True)
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
    ) -> float:
        """One step of training: forward, loss, backward, optimizer update.

        ``rows_sum_to_one`` is passed to :meth:`compute_gradients`.

        Returns
        -------
        float
            The batch loss before the update.
        """
        loss = self.compute_gradients(x, y, sample_weight, rows_sum_to_one=rows_sum_to_one)
        self.optimizer.step(self._params, self._grads)
        return loss

    # ------------------------------------------------------------------- training
    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        epochs: int = 1,
        batch_size: int = 32,
        validation_data: tuple | None = None,
        validation_split: float = 0.0,
        shuffle: bool = True,
        verbose: int | str = 1,
        callbacks: Sequence[Callback] | None = None,
        class_weight: dict[int, float] | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> History:
        """Train for ``epochs`` epochs of mini-batch steps.

        Each epoch shuffles the samples with the model's generator (when
        ``shuffle``), walks the mini-batches in order (the last, smaller one
        included) calling :meth:`train_step`, and records the epoch's loss (the
        batch losses' mean weighted by batch size), the metrics over the
        epoch's predictions, and the same on the validation data.

        Parameters
        ----------
        x, y : ndarray
            Inputs (N, ...) and targets (N, ...) or integer labels (N,).
        epochs, batch_size : int
        validation_data : (x_val, y_val), optional
        validation_split : float
            Fraction of the data, taken from the end before shuffling, held out
            for validation (ignored when ``validation_data`` is given).
        shuffle : bool
        verbose : {0, 1, 2, "auto"}
            0 prints nothing; 1 (or "auto") a live progress bar per epoch (batches
            done, elapsed time, ETA, running loss) on a terminal or in Jupyter, and
            one line per epoch when the output is not a terminal (a log, CI); 2 one
            line per epoch always.  See :mod:`tinynet.progress`.
        callbacks : list of Callback, optional
            See :mod:`tinynet.callbacks`; the returned :class:`History` is always added.
        class_weight : dict, optional
            Per-class loss weights, e.g. ``{0: 1.0, 1: 3.0}``.
        sample_weight : ndarray, optional
            Per-sample loss weights (N,); multiplied by ``class_weight``.

        Returns
        -------
        History
            ``history.history`` maps ``loss``, each metric and their ``val_``
            twins to per-epoch lists.
        """
        self._require_compiled("fit")
        verbose = 1 if verbose == "auto" else verbose
        if verbose not in (0, 1, 2):
            raise ValueError(
                f"verbose must be 0 (silent), 1 (progress bar) or 2 (one line per epoch), got {verbose!r}"
            )
        x, y = self._as_input(x, "x"), self._as_target(y)
        _same_length(x, y, "x", "y")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        batch_size = int(batch_size)
        weights = self._sample_weights(y, class_weight, sample_weight)
        if validation_data is None and validation_split:
            if not 0.0 < validation_split < 1.0:
                raise ValueError(f"validation_split must be in (0, 1), got {validation_split}")
            cut = len(x) - math.ceil(len(x) * validation_split)
            if cut <= 0 or cut == len(x):
                raise ValueError(
                    f"validation_split={validation_split} leaves no training or no validation data"
                )
            validation_data = (x[cut:], y[cut:])
            x, y = x[:cut], y[:cut]
            weights = None if weights is None else weights[:cut]
        self.build_for(x)
        y = self._check_targets(y)
        if validation_data is not None:
            x_val, y_val = validation_data[0], validation_data[1]
            x_val = self._as_input(x_val, "validation x")
            y_val = self._check_targets(self._as_target(y_val))
            _same_length(x_val, y_val, "validation x", "validation y")
            self.layers[0].check_input(x_val)

        # one-hot targets (rows summing to exactly 1), checked once here rather than on every batch
        unit_rows = isinstance(self.loss, losses_module.CategoricalCrossentropy) and _rows_sum_to_one(y)
        n = len(x)
        steps = -(-n // batch_size)
        history = History()
        self.history = history
        params = {
            "epochs": epochs,
            "steps": steps,
            "batch_size": batch_size,
            "samples": n,
            "verbose": verbose,
        }
        # the progress printer comes right after the history, so its epoch line precedes any
        # message the user's callbacks print at the end of the epoch
        progress = [] if verbose == 0 else [ProgbarLogger(verbose)]
        cbs = CallbackList([history, *progress, *(callbacks or ())], self, params)
        xb_buf = np.empty((min(batch_size, n), *x.shape[1:]), dtype=x.dtype)
        yb_buf = np.empty((min(batch_size, n), *y.shape[1:]), dtype=y.dtype)
        wb_buf = None if weights is None else np.empty(min(batch_size, n), dtype=weights.dtype)
        y_pred_epoch = y_true_epoch = None
        if self.metrics:
            y_pred_epoch = np.empty((n, *self.output_shape), dtype=x.dtype)
            y_true_epoch = np.empty_like(y)

        self.stop_training = False
        wb = None
        full = len(xb_buf)  # rows of a full batch
        # most fits have no per-batch callback: then the loop skips even the calls
        batch_begin, batch_end, isfinite = bool(cbs.batch_begin), bool(cbs.batch_end), math.isfinite
        cbs.on_train_begin()
        for epoch in range(epochs):
            cbs.on_epoch_begin(epoch)
            lr = self.optimizer.current_learning_rate()
            order = self.rng.permutation(n) if shuffle else None
            total, seen = 0.0, 0
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
                loss = self.train_step(xb, yb, wb, rows_sum_to_one=unit_rows)
                total += loss * k
                seen = hi
                if y_pred_epoch is not None:
                    y_pred_epoch[lo:hi] = self.last_output
                    y_true_epoch[lo:hi] = yb
                if batch_end:
                    cbs.on_train_batch_end(b, {"loss": loss, "size": k})
                if not isfinite(loss) and not self.stop_training:
                    raise FloatingPointError(
                        f"the loss became {loss} at epoch {epoch + 1}, batch {b + 1}: lower the learning rate, "
                        "standardize the inputs, or check the data for NaN or infinite values"
                    )
                if self.stop_training:
                    break
            logs: dict[str, Any] = {"loss": total / max(seen, 1)}
            if y_pred_epoch is not None and seen:
                logs.update(self._metric_values(y_true_epoch[:seen], y_pred_epoch[:seen]))
            if validation_data is not None:
                val = self.evaluate(x_val, y_val, batch_size=batch_size, return_dict=True)
                logs.update({f"val_{k}": v for k, v in val.items()})
            logs["learning_rate"] = lr
            self.epochs_done += 1
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end()
        return history

    # ----------------------------------------------------------------- inference
    def predict(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Return the model's outputs for ``x`` in inference mode.

        Parameters
        ----------
        x : ndarray
            Inputs (N, ...).
        batch_size : int, optional
            Samples per forward pass (default: all at once, in chunks of at
            most :data:`PREDICT_CHUNK`).
        """
        x = self._as_input(x, "x")
        self.build_for(x)
        n = len(x)
        step = min(n, PREDICT_CHUNK) if batch_size is None else int(batch_size)
        if n <= step:
            return np.asarray(self.forward(x, training=False))  # probabilities, not a fused head's output
        out = np.empty((n, *self.output_shape), dtype=x.dtype)
        for lo in range(0, n, step):
            out[lo : lo + step] = self.forward(x[lo : lo + step], training=False)
        return out

    def evaluate(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int = 32,
        return_dict: bool = False,
        sample_weight: np.ndarray | None = None,
    ) -> float | list[float] | dict[str, float]:
        """Loss and metrics on ``(x, y)`` in inference mode.

        Returns
        -------
        float, list or dict
            The loss alone when no metrics were compiled, else ``[loss, *metrics]``;
            with ``return_dict=True`` a dict ``{"loss": ..., "accuracy": ...}``.
        """
        self._require_compiled("evaluate")
        x, y = self._as_input(x, "x"), self._as_target(y)
        _same_length(x, y, "x", "y")
        self.build_for(x)
        y = self._check_targets(y)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=x.dtype).reshape(-1)
        n = len(x)
        if n == 0:
            raise ValueError("evaluate needs at least one sample")
        y_pred = np.empty((n, *self.output_shape), dtype=x.dtype)
        total = 0.0
        for lo in range(0, n, int(batch_size)):
            hi = min(n, lo + int(batch_size))
            y_chunk = y_pred[lo:hi] = self.forward(
                x[lo:hi], training=False
            )  # a fused head's output: from logits
            total += self.loss.forward(y[lo:hi], y_chunk, None if w is None else w[lo:hi]) * (hi - lo)
        # the penalty is part of the objective, so it is in the reported loss here too (as Keras)
        loss = total / n + (self.regularization_loss() if self._regularized else 0.0)
        results = {"loss": loss, **self._metric_values(y, y_pred)}
        if return_dict:
            return results
        return results["loss"] if not self.metrics else list(results.values())

    def _metric_values(self, y_true, y_pred) -> dict[str, float]:
        return {
            name: float(fn(y_true, y_pred)) for name, fn in zip(self.metric_names, self.metrics, strict=True)
        }

    # ------------------------------------------------------------------- saving
    def save(self, path, *, compress: bool = False) -> None:
        """Write the model (architecture, weights, compile settings, optimizer and
        generator state) to a ``.npz`` model file; see :func:`tinynet.save_model`."""
        from .serialization import save_model

        save_model(self, path, compress=compress)

    def save_weights(self, path) -> None:
        """Write the weights alone; see :func:`tinynet.serialization.save_weights`."""
        from .serialization import save_weights

        save_weights(self, path)

    def load_weights(self, path) -> None:
        """Read weights written by :meth:`save_weights` (checked against the architecture)."""
        from .serialization import load_weights

        load_weights(self, path)

    # --------------------------------------------------------------- inspection
    def summary(self, print_fn: Callable[[str], Any] = print) -> None:
        """Print the layers, their output shapes and parameter counts."""
        if not self.built:
            self.build()
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for layer in self.layers:
            shape = "(None, " + ", ".join(map(str, layer.output_shape)) + ")"
            rows.append((f"{layer.name} ({type(layer).__name__})", shape, f"{layer.count_params():,}"))
        widths = [max(len(r[i]) for r in rows) + 2 for i in range(3)]
        rule = "=" * sum(widths)
        lines = [f'Model: "{self.name}"', rule]
        for i, row in enumerate(rows):
            lines.append("".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
            lines.append(rule if i == 0 else "-" * sum(widths))
        lines[-1] = rule
        lines.append(f"Total params: {self.count_params():,}")
        non_trainable = sum(s.size for layer in self.layers for s in layer.state.values())
        if non_trainable:
            lines.append(f"Non-trainable state: {non_trainable:,}")
        print_fn("\n".join(lines))

    # ------------------------------------------------------------------ helpers
    def _dtype(self) -> np.dtype:
        if self.built and self._params:
            return next(iter(self._params.values())).dtype
        return self.layers[0].dtype if self.layers else get_default_dtype()

    def _as_input(self, x, what: str = "x") -> np.ndarray:
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

    def _as_target(self, y) -> np.ndarray:
        if isinstance(self.loss, losses_module.SparseCategoricalCrossentropy):
            return np.asarray(y)
        try:
            return np.asarray(y, dtype=self._dtype())
        except (TypeError, ValueError) as exc:
            raise ValueError(f"y must be a numeric array: {exc}") from None

    def _check_targets(self, y: np.ndarray) -> np.ndarray:
        """Reshape (N,) targets for an (N, 1) output and reject shapes the loss cannot use."""
        out = tuple(self.output_shape)
        if isinstance(self.loss, losses_module.SparseCategoricalCrossentropy):
            if y.ndim == len(out) + 1 and y.shape[-1] == 1:
                y = y[..., 0]
            if tuple(y.shape[1:]) != out[:-1]:
                raise ValueError(
                    f"sparse_categorical_crossentropy expects integer labels of shape (N,) for the "
                    f"output shape {out}, got targets of shape {y.shape}"
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
            raise ValueError(
                f"targets of shape {y.shape} do not match the model's output shape (N, "
                f"{', '.join(map(str, out))}) (last layer {self.layers[-1].name!r}){hint}"
            )
        return y

    def _sample_weights(self, y, class_weight, sample_weight) -> np.ndarray | None:
        if class_weight is None and sample_weight is None:
            return None
        n = len(y)
        w = np.ones(n, dtype=self._dtype())
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=self._dtype()).reshape(-1)
            if sw.shape[0] != n:
                raise ValueError(f"sample_weight has {sw.shape[0]} entries for {n} samples")
            w *= sw
        if class_weight is not None:
            labels = np.asarray(y)
            if labels.ndim > 1 and labels.shape[-1] > 1:
                labels = labels.argmax(axis=-1)
            labels = labels.reshape(n, -1)[:, 0].astype(np.int64)
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
        return f"Sequential(name={self.name!r}, layers={[type(layer).__name__ for layer in self.layers]})"


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


def _same_length(a, b, name_a: str, name_b: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{name_a} has {len(a)} samples but {name_b} has {len(b)}; they must match")
