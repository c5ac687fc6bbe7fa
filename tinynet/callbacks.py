"""Callbacks: code that runs at fixed points of :meth:`tinynet.Sequential.fit`.

A callback subclasses :class:`Callback` and overrides any of the hooks
``on_train_begin/end(logs)``, ``on_epoch_begin/end(epoch, logs)`` and
``on_train_batch_begin/end(batch, logs)``.  ``self.model`` is the model being
trained; setting ``self.model.stop_training = True`` ends ``fit`` cleanly after
the current batch.  ``logs`` holds the numbers of the moment (``loss``, the
metrics, ``val_`` twins at epoch end, ``learning_rate``).

The callbacks here have Keras' names and arguments:

- :class:`History` records every epoch's logs (always added; ``fit`` returns it);
- :class:`EarlyStopping` stops when a monitored value stops improving, and can
  restore the best weights;
- :class:`ModelCheckpoint` saves the model (or its best version) in tinynet's
  model file format;
- :class:`LearningRateScheduler` sets the learning rate per epoch from a function;
- :class:`ReduceLROnPlateau` lowers the learning rate when progress stalls;
- :class:`CSVLogger` writes the logs to a CSV file;
- :class:`TerminateOnNaN` ends training at the first non-finite loss;
- :class:`LambdaCallback` builds a callback from plain functions.

Epoch numbers are global.  ``epoch`` counts the model's epochs from 0 across
``fit`` calls: a ``fit`` on a model that has trained ``model.epochs_done`` epochs
numbers its epochs from ``model.epochs_done`` on (as Keras' ``initial_epoch``),
so a schedule goes on where it stopped.  ``fit(epochs=n)`` still trains ``n``
*more* epochs (in Keras ``epochs`` is the index of the last epoch);
``self.params["epochs"]`` is the number the last epoch of the call will reach
and ``self.params["initial_epoch"]`` the first.

State across ``fit`` calls and model files.  A callback that keeps state between
epochs (a best value, a wait counter) returns it from :meth:`Callback.get_state`
and takes it back in :meth:`Callback.set_state`.  At the end of each ``fit`` the
model keeps the states of that call's callbacks (``model.callback_states``), a
model file saves them, and the next ``fit`` (in this process, or after
``load_model``) gives each state back to the callback of the same class at the
same position among that call's callbacks of this class (or with the same
``state_key``, when set), right after ``on_train_begin``.  So one ``fit`` of
``n`` epochs equals ``fit`` of ``k`` epochs, ``save``, ``load_model``, ``fit`` of
``n - k`` epochs, bit for bit, with the callbacks here.  To start a callback
afresh instead, clear ``model.callback_states`` (or give it a new ``state_key``).

The progress bar of ``fit(verbose=1)`` is a callback too,
:class:`tinynet.progress.ProgbarLogger`.  Per-batch hooks are only called on
callbacks that define them, so epoch-level callbacks cost nothing per batch.
"""

from __future__ import annotations

import csv
import inspect
import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

Logs = dict[str, Any]
#: A callback's state: names to numbers (int, float, non-finite floats included), bools, None,
#: or a list of arrays shaped as the model's ``get_weights()`` (see :meth:`Callback.get_state`).
State = dict[str, Any]


class Callback:
    """Base class of callbacks; every hook does nothing by default.

    Attributes
    ----------
    model : Sequential
        The model being trained (set by ``fit``).
    params : dict
        ``epochs`` (the global number the last epoch of this ``fit`` reaches),
        ``initial_epoch``, ``steps`` (batches per epoch), ``batch_size``,
        ``samples``, ``verbose``.
    state_key : str or None
        Set it to match this callback's saved state by name rather than by
        position (see :meth:`get_state`).
    """

    state_key: str | None = None

    def __init__(self) -> None:
        self.model = None
        self.params: dict[str, Any] = {}

    def get_state(self) -> State | None:
        """The state to carry into the next ``fit`` and into model files, or None (stateless).

        Override it (with :meth:`set_state`) in a callback whose behaviour depends
        on past epochs.  Return a new dict of names to plain values: ``int``,
        ``float`` (``inf`` and ``nan`` included), ``bool``, ``None``, or a list of
        arrays shaped exactly as ``self.model.get_weights()`` (e.g. the best
        weights so far).  ``fit`` asks for it at the end of the call (and a
        model file saved while training, e.g. by :class:`ModelCheckpoint`, asks
        then), and hands it to :meth:`set_state` of the matching callback of the
        next ``fit``: the same class, and the same ``state_key``, or when
        ``state_key`` is None the same position among the call's callbacks of
        this class.
        """
        return None

    def set_state(self, state: State) -> None:
        """Take back a state from :meth:`get_state`; ``fit`` calls it right after ``on_train_begin``.

        A state read from a model file has passed the file's type checks (for
        the built-in callbacks, each key's type); check anything else here and
        raise ``ValueError`` naming the key.
        """

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: Logs | None = None) -> None:
        """Called once before the first epoch."""

    def on_train_end(self, logs: Logs | None = None) -> None:
        """Called once after the last epoch."""

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        """Called before each epoch (``epoch`` counts the model's epochs from 0, across ``fit`` calls)."""

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        """Called after each epoch with its training and validation numbers."""

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Called before each training batch."""

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Called after each training batch with its ``loss``."""

    def on_test_begin(self, logs: Logs | None = None) -> None:
        """Called when ``evaluate(..., callbacks=[...])`` starts."""

    def on_test_end(self, logs: Logs | None = None) -> None:
        """Called when ``evaluate(..., callbacks=[...])`` ends, with its results."""

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        """Called when ``predict(..., callbacks=[...])`` starts."""

    def on_predict_end(self, logs: Logs | None = None) -> None:
        """Called when ``predict(..., callbacks=[...])`` ends."""

    def __repr__(self) -> str:
        """The class and the constructor arguments the callback keeps as attributes of the same name."""
        import inspect

        try:
            parameters = inspect.signature(type(self).__init__).parameters
        except (TypeError, ValueError):
            parameters = {}
        args = [
            f"{name}={getattr(self, name)!r}"
            for name, p in parameters.items()
            if name != "self"
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            and name in self.__dict__
            and not callable(getattr(self, name))
        ]
        return f"{type(self).__name__}({', '.join(args)})"


class CallbackList:
    """Calls a list of callbacks in order."""

    def __init__(self, callbacks: list[Callback], model, params: dict[str, Any]) -> None:
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)
        # only dispatch per-batch hooks to callbacks that override them (fit's hot loop)
        self.batch_begin = [cb for cb in self.callbacks if _overrides(cb, "on_train_batch_begin")]
        self.batch_end = [cb for cb in self.callbacks if _overrides(cb, "on_train_batch_end")]

    def on_train_begin(self, logs=None):
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs=None):
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        for cb in self.batch_begin:
            cb.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        for cb in self.batch_end:
            cb.on_train_batch_end(batch, logs)

    def _keyed(self) -> list[tuple[str, str | int, Callback]]:
        """(class name, key, callback) of every callback: the key is its ``state_key``, or its
        position among the callbacks of its class."""
        seen: dict[str, int] = {}
        keyed = []
        for cb in self.callbacks:
            name = type(cb).__name__
            if cb.state_key is not None:
                keyed.append((name, str(cb.state_key), cb))
            else:
                keyed.append((name, seen.get(name, 0), cb))
                seen[name] = seen.get(name, 0) + 1
        return keyed

    def get_states(self) -> list[dict[str, Any]]:
        """``{"class_name", "key", "state"}`` of every callback whose ``get_state`` is not None."""
        states = []
        for name, key, cb in self._keyed():
            state = cb.get_state()
            if state is None:
                continue
            if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
                raise TypeError(
                    f"{name}.get_state() must return a dict with string keys or None, got {state!r}"
                )
            states.append({"class_name": name, "key": key, "state": dict(state)})
        return states

    def set_states(self, states: list[dict[str, Any]]) -> None:
        """Give each saved state to the callback of the same class and key (others start afresh)."""
        by_key = {(entry["class_name"], entry["key"]): entry["state"] for entry in states}
        for name, key, cb in self._keyed():
            state = by_key.get((name, key))
            if state is None:
                continue
            if not _overrides(cb, "set_state"):
                raise TypeError(
                    f"{name} has a saved state (get_state) but does not define set_state to take it back"
                )
            cb.set_state(dict(state))


def _overrides(cb: Callback, hook: str) -> bool:
    method = getattr(cb, hook)  # a bound method, or a plain function set on the instance (LambdaCallback)
    return getattr(method, "__func__", method) is not getattr(Callback, hook)


class History(Callback):
    """Records every epoch's logs; :meth:`tinynet.Sequential.fit` returns it.

    Attributes
    ----------
    history : dict of str to list
        ``loss``, each metric, their ``val_`` twins, ... one entry per epoch.
    epoch : list of int
        The epoch numbers recorded (global: a second ``fit`` goes on from the first's).
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


# ---------------------------------------------------------------- monitoring
#: Whether a bigger value is better, for the quantities tinynet logs (``val_`` twins included).
_HIGHER_IS_BETTER = {
    "accuracy": True,
    "acc": True,
    "precision": True,
    "recall": True,
    "f1_score": True,
    "f1": True,
    "r2_score": True,
    "r2": True,
    "auc": True,
    "roc_auc": True,
    "loss": False,
    "mae": False,
    "mse": False,
    "mean_absolute_error": False,
    "mean_squared_error": False,
}


def _higher_is_better(monitor: str, mode: str, owner: str) -> bool:
    """Resolve ``mode`` ("min", "max" or "auto") for the logged quantity ``monitor``."""
    if mode == "max":
        return True
    if mode == "min":
        return False
    if mode != "auto":
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    name = monitor.removeprefix("val_")
    if name not in _HIGHER_IS_BETTER:
        # a model with several outputs logs "<output>_loss" and "<output>_<metric>": the longest
        # known quantity the name ends with (after an underscore) decides
        known = [key for key in _HIGHER_IS_BETTER if name.endswith("_" + key)]
        if not known:
            raise ValueError(
                f"{owner} cannot tell whether {monitor!r} should go up or down; pass mode='max' or mode='min'"
            )
        name = max(known, key=len)
    return _HIGHER_IS_BETTER[name]


def _monitored(logs: Logs | None, monitor: str, owner: str) -> float:
    """The monitored value from the epoch's logs, or a ValueError saying how to get it."""
    logs = logs or {}
    if monitor not in logs:
        hint = (
            "; validation numbers need fit(validation_data=...) or fit(validation_split=...)"
            if monitor.startswith("val_")
            else ""
        )
        raise ValueError(
            f"{owner} monitors {monitor!r}, which is not in the logs (they have {', '.join(logs) or 'nothing'})"
            + hint
        )
    return float(logs[monitor])


class EarlyStopping(Callback):
    r"""Stop training when a monitored quantity has stopped improving.

    Rule (Keras').  Let :math:`v_e` be the monitored value after epoch :math:`e`,
    :math:`b` the best value so far (:math:`+\infty` for ``mode="min"``,
    :math:`-\infty` for ``"max"``) and :math:`\delta` = ``min_delta`` :math:`\ge 0`.
    Epoch :math:`e` *improves* when

    .. math:: v_e < b - \delta \quad(\text{min}) \qquad\text{or}\qquad v_e > b + \delta \quad(\text{max});

    then :math:`b \leftarrow v_e` and the wait counter :math:`w \leftarrow 0`;
    otherwise :math:`w \leftarrow w + 1`, and training stops once :math:`w \ge`
    ``patience``.  So with ``patience=p`` training runs :math:`p` epochs past the
    last improvement, and ``patience=0`` stops at the first epoch that does not improve.

    Parameters
    ----------
    monitor : str
        A key of the epoch logs: ``"val_loss"``, ``"loss"``, ``"val_accuracy"``, ...
    patience : int
        Epochs without improvement to wait before stopping.
    min_delta : float
        The smallest change that counts as an improvement (its sign is ignored).
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; ``"auto"`` knows the losses and
        metrics of :mod:`tinynet.metrics` (``val_`` twins too), also as a model
        with several outputs logs them, ``"<output>_loss"``, ``"<output>_accuracy"``.
    restore_best_weights : bool
        At the end of training, put back the weights of the best epoch (as
        Keras 3, whether or not training stopped early).  Otherwise the model
        keeps the weights of its last epoch.
    baseline : float, optional
        A value to beat: an epoch that improves on the best so far but not on
        the baseline does not reset the wait counter.
    start_from_epoch : int
        Epochs to train before monitoring starts (a warm-up), counted over the
        model's life: the global epoch must reach it.
    verbose : int
        1 prints a line when training stops and when weights are restored.

    Attributes
    ----------
    best : float
    best_epoch : int
        The best epoch (global, counting from 0).
    wait : int
        Epochs since the last improvement.
    stopped_epoch : int
        The epoch (global, from 0) at which this ``fit`` was stopped, 0 if it was not.

    Notes
    -----
    Across ``fit`` calls (and model files) the patience goes on: the state
    (:meth:`get_state`: ``best``, ``wait``, ``best_epoch`` and, with
    ``restore_best_weights``, the best weights) passes to the ``EarlyStopping``
    of the next ``fit``, which then stops at the epoch one uninterrupted ``fit``
    would have stopped at.  After a ``fit`` that stopped early, the next one
    therefore stops at its first epoch that does not improve on ``best``.  Keras
    starts every ``fit`` afresh; for that, clear ``model.callback_states``.

    With ``restore_best_weights``, the end of every ``fit`` puts the best weights
    back, and the state also keeps the weights of the last epoch: the next
    ``fit`` goes on training from those (as if it had never stopped), unless the
    model's weights were changed in between, in which case it keeps them.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        *,
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
        baseline: float | None = None,
        start_from_epoch: int = 0,
        verbose: int = 0,
    ) -> None:
        super().__init__()
        if int(patience) < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience!r}")
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = abs(float(min_delta))
        self.mode = mode
        self.higher_is_better = _higher_is_better(monitor, mode, "EarlyStopping")
        self.restore_best_weights = bool(restore_best_weights)
        self.baseline = None if baseline is None else float(baseline)
        self.start_from_epoch = int(start_from_epoch)
        self.verbose = int(verbose)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = -math.inf if self.higher_is_better else math.inf
        self.best_epoch = 0
        self.best_weights: list | None = None
        # the last epoch's weights, kept when on_train_end puts the best ones back (see set_state)
        self.resume_weights: list | None = None
        self.last_epoch: int | None = None

    def get_state(self) -> State:
        """``best``, ``wait``, ``best_epoch``, ``best_weights`` and ``resume_weights`` (None unless
        ``restore_best_weights``)."""
        return {
            "best": float(self.best),
            "wait": int(self.wait),
            "best_epoch": int(self.best_epoch),
            "best_weights": self.best_weights,
            "resume_weights": self.resume_weights,
        }

    def set_state(self, state: State) -> None:
        """Go on from a :meth:`get_state`; with ``resume_weights``, put the last epoch's weights back
        into the model when it still holds the best weights that the last ``fit`` restored."""
        self.best = float(state["best"])
        self.wait = int(state["wait"])
        self.best_epoch = int(state["best_epoch"])
        self.best_weights = state["best_weights"] if self.restore_best_weights else None
        resume = state["resume_weights"]
        if (
            resume is not None
            and self.best_weights is not None
            and _same_arrays(self.model.get_weights(), self.best_weights)
        ):
            self.model.set_weights(resume)

    def _improves(self, value: float, reference: float) -> bool:
        if self.higher_is_better:
            return value > reference + self.min_delta
        return value < reference - self.min_delta

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        self.last_epoch = epoch
        if epoch < self.start_from_epoch:
            return
        value = _monitored(logs, self.monitor, "EarlyStopping")
        if self.restore_best_weights and self.best_weights is None:
            # nothing has improved yet: the weights of the first monitored epoch are the best so far
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._improves(value, self.best):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improves(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            if self.last_epoch is not None and self.last_epoch != self.best_epoch:
                self.resume_weights = self.model.get_weights()
            self.model.set_weights(self.best_weights)


def _same_arrays(a: list, b: list) -> bool:
    """Whether two lists of arrays are equal element for element, bit for bit (NaN equal to NaN)."""
    return len(a) == len(b) and all(
        x.shape == y.shape and x.dtype == y.dtype and x.tobytes() == y.tobytes()
        for x, y in zip(a, b, strict=True)
    )


class ModelCheckpoint(Callback):
    """Save the model (or its best version so far) after epochs, in tinynet's model file format.

    The path may hold ``{epoch}`` (the global epoch, counting from 1) and any logged value in
    :meth:`str.format` syntax, e.g. ``"ckpt/model-{epoch:03d}-{val_loss:.3f}.npz"``;
    missing directories are created.  The file is written by :meth:`tinynet.Sequential.save`
    (or :meth:`~tinynet.Sequential.save_weights` with ``save_weights_only``) and
    read back with ``tinynet.serialization.load_model(path)``.

    With ``save_best_only`` a file is written only when the monitored value beats
    the best so far (strictly: :math:`v_e < b` for ``"min"``, :math:`v_e > b` for
    ``"max"``, :math:`b` starting at ``initial_value_threshold`` or
    :math:`\\pm\\infty`), so a fixed path always holds the best model.

    Parameters
    ----------
    filepath : str or path-like
    monitor : str
        A key of the epoch logs (used with ``save_best_only``).
    save_best_only : bool
    save_weights_only : bool
    mode : {"auto", "min", "max"}
        As in :class:`EarlyStopping`.
    initial_value_threshold : float, optional
        A value the first saved model must beat.
    verbose : int
        1 prints a line for each file written.

    Attributes
    ----------
    best : float
        The best monitored value so far; with ``save_best_only`` it is carried
        to the next ``fit`` and saved in model files (:meth:`get_state`), so that
        it goes on comparing with the best of earlier ``fit`` calls.
    last_path : str or None
        The file written last.

    Notes
    -----
    A file written here holds the states of the callbacks as they are at that
    moment: those listed before this one have seen the epoch, those after it not
    yet.  For a checkpoint that resumes exactly (e.g. after a crash), list
    ``ModelCheckpoint`` last.
    """

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        *,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        initial_value_threshold: float | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.higher_is_better = _higher_is_better(monitor, mode, "ModelCheckpoint")
        self.initial_value_threshold = initial_value_threshold
        self.verbose = int(verbose)
        self.last_path: str | None = None
        self._reset()

    def _reset(self) -> None:
        if self.initial_value_threshold is not None:
            self.best = float(self.initial_value_threshold)
        else:
            self.best = -math.inf if self.higher_is_better else math.inf

    def on_train_begin(self, logs=None):
        self._reset()

    def get_state(self) -> State | None:
        """``best``, with ``save_best_only`` (without it there is nothing to carry over)."""
        return {"best": float(self.best)} if self.save_best_only else None

    def set_state(self, state: State) -> None:
        self.best = float(state["best"])

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
            better = value > self.best if self.higher_is_better else value < self.best
            if not better:
                return
            previous, self.best = self.best, value
        path = self._path(epoch, logs)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        self.last_path = path
        if self.verbose:
            why = (
                f": {self.monitor} improved from {previous:.5f} to {value:.5f}" if self.save_best_only else ""
            )
            print(f"Epoch {epoch + 1}{why}, saving model to {path}")

    def _path(self, epoch: int, logs: Logs) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError) as exc:
            raise ValueError(
                f"ModelCheckpoint cannot fill the path {self.filepath!r}: no value for {exc}; "
                f"available: epoch, {', '.join(logs)}"
            ) from None


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of every epoch from ``schedule(epoch, lr)``.

    ``schedule`` receives the epoch (global, counting from 0: a second ``fit``
    goes on from the first's, as with Keras' ``initial_epoch``) and the current
    learning rate, and returns the new rate; a function of the epoch alone works
    too.  It has no state of its own: the rate is the optimizer's, saved with it.
    The rate is a constant for the whole epoch; for a rate that changes every
    step pass a schedule from :mod:`tinynet.schedules` as the optimizer's
    ``learning_rate`` instead.

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch, lr) -> float`` or ``schedule(epoch) -> float``.
    verbose : int
        1 prints the rate set at each epoch.

    Examples
    --------
    Halve the rate every 10 epochs::

        LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch and epoch % 10 == 0 else lr)
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler needs a function, got {schedule!r}")
        self.schedule = schedule
        self.verbose = int(verbose)
        self._takes_lr = _positional_arity(schedule) >= 2

    def on_train_begin(self, logs=None):
        _require_settable_rate(self.model, "LearningRateScheduler")

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if self._takes_lr:
            lr = self.schedule(epoch, float(optimizer.learning_rate))
        else:
            lr = self.schedule(epoch)
        try:
            lr = float(lr)
        except (TypeError, ValueError):
            raise TypeError(f"the learning-rate schedule must return a number, got {lr!r}") from None
        if not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"the learning-rate schedule returned {lr} at epoch {epoch}; it must be >= 0")
        optimizer.learning_rate = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")


def _positional_arity(fn: Callable) -> int:
    """How many positional arguments ``fn`` accepts (2 when it cannot be inspected)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return 2
    count = 0
    for p in sig.parameters.values():
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            return 2
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


def _require_settable_rate(model, owner: str) -> None:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise RuntimeError(f"{owner} needs a compiled model (it sets model.optimizer.learning_rate)")
    if callable(optimizer.learning_rate):
        raise TypeError(
            f"{owner} sets the learning rate, but the optimizer's learning_rate is already a schedule "
            f"({optimizer.learning_rate!r}); use one or the other"
        )


class ReduceLROnPlateau(Callback):
    r"""Multiply the learning rate by ``factor`` when a monitored quantity stops improving.

    Rule (Keras').  With :math:`b` the best value so far and :math:`\delta` =
    ``min_delta``, epoch :math:`e` improves when :math:`v_e < b - \delta`
    (:math:`v_e > b + \delta` for ``mode="max"``); then :math:`b \leftarrow v_e` and
    the wait counter :math:`w \leftarrow 0`.  Otherwise, outside a cool-down,
    :math:`w \leftarrow w + 1`, and when :math:`w \ge` ``patience``

    .. math:: \eta \leftarrow \max(\eta \cdot \text{factor},\ \eta_{\min})

    (only if :math:`\eta > \eta_{\min}`), :math:`w \leftarrow 0`, and a cool-down
    of ``cooldown`` epochs starts: during those epochs :math:`w` stays at 0 (an
    improvement still updates :math:`b`), so the next reduction comes at the
    earliest ``cooldown + patience`` epochs later.  (Keras decrements its
    cool-down counter before testing it, which ends the cool-down one epoch
    earlier; tinynet gives ``cooldown`` its documented meaning, as PyTorch does.)

    Parameters
    ----------
    monitor : str
    factor : float
        In (0, 1).
    patience : int
    min_delta : float
    mode : {"auto", "min", "max"}
    cooldown : int
    min_lr : float
        :math:`\eta_{\min}`.
    verbose : int
        1 prints a line at each reduction.

    Notes
    -----
    :math:`b`, :math:`w` and the cool-down counter pass to the next ``fit`` and
    into model files (:meth:`get_state`); the rate itself is the optimizer's.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        *,
        min_delta: float = 1e-4,
        mode: str = "auto",
        cooldown: int = 0,
        min_lr: float = 0.0,
        verbose: int = 0,
    ) -> None:
        super().__init__()
        if not 0.0 < float(factor) < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor!r}")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = int(patience)
        self.min_delta = abs(float(min_delta))
        self.higher_is_better = _higher_is_better(monitor, mode, "ReduceLROnPlateau")
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self.verbose = int(verbose)
        self._reset()

    def _reset(self) -> None:
        self.best = -math.inf if self.higher_is_better else math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        _require_settable_rate(self.model, "ReduceLROnPlateau")
        self._reset()

    def get_state(self) -> State:
        """``best``, ``wait`` and ``cooldown_counter``."""
        return {
            "best": float(self.best),
            "wait": int(self.wait),
            "cooldown_counter": int(self.cooldown_counter),
        }

    def set_state(self, state: State) -> None:
        self.best = float(state["best"])
        self.wait = int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])

    def on_epoch_end(self, epoch, logs=None):
        value = _monitored(logs, self.monitor, "ReduceLROnPlateau")
        if self.higher_is_better:
            improved = value > self.best + self.min_delta
        else:
            improved = value < self.best - self.min_delta
        if improved:
            self.best, self.wait = value, 0
        if self.cooldown_counter > 0:  # the epochs right after a reduction do not count as waiting
            self.cooldown_counter -= 1
            self.wait = 0
            return
        if improved:
            return
        self.wait += 1
        if self.wait >= self.patience:
            optimizer = self.model.optimizer
            old = float(optimizer.learning_rate)
            if old > self.min_lr:
                new = max(old * self.factor, self.min_lr)
                optimizer.learning_rate = new
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                self.cooldown_counter = self.cooldown
                self.wait = 0


#: The state keys and types of the built-in stateful callbacks, which loading a model file checks
#: (``"count"``: an int >= 0; ``"float"``: a number, non-finite included; ``"weights"``: None or
#: a list of arrays shaped as the model's weights).  Other classes get the generic checks.
STATE_SCHEMAS: dict[str, dict[str, str]] = {
    "EarlyStopping": {
        "best": "float",
        "wait": "count",
        "best_epoch": "count",
        "best_weights": "weights",
        "resume_weights": "weights",
    },
    "ModelCheckpoint": {"best": "float"},
    "ReduceLROnPlateau": {"best": "float", "wait": "count", "cooldown_counter": "count"},
}


class CSVLogger(Callback):
    """Append each epoch's logs as a row of a CSV file (the global ``epoch`` from 0, then the keys sorted).

    The file is opened and closed at every epoch, so it is complete after each
    one even if training is interrupted.

    Parameters
    ----------
    filename : str or path-like
    separator : str
    append : bool
        Add to an existing file (no second header) instead of overwriting it.
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = bool(append)
        self.keys: list[str] | None = None

    def on_train_begin(self, logs=None):
        self.keys = None
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as f:
                header = f.readline()
            if header.strip():  # continue the existing table, with its columns
                self.keys = header.rstrip("\r\n").split(self.separator)[1:]
            return
        with open(self.filename, "w", newline=""):
            pass  # start empty: the header is written with the first row

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        write_header = self.keys is None
        if self.keys is None:
            self.keys = sorted(logs)
        with open(self.filename, "a", newline="") as f:
            writer = csv.writer(f, delimiter=self.separator, lineterminator="\n")
            if write_header:
                writer.writerow(["epoch", *self.keys])
            writer.writerow([epoch, *(_csv_value(logs.get(k, "NA")) for k in self.keys)])


def _csv_value(value: Any) -> Any:
    return repr(float(value)) if isinstance(value, (float, np.floating)) else value


class TerminateOnNaN(Callback):
    """Stop training cleanly at the first batch whose loss is NaN or infinite.

    Without it, ``fit`` raises ``FloatingPointError`` at such a batch; with it,
    ``fit`` ends normally (the epoch is still recorded, with its non-finite loss)
    and returns the history.
    """

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: invalid loss {loss}, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions, for one-off needs.

    Each argument, when given, becomes that hook: ``on_epoch_end=lambda epoch, logs: ...``.
    """

    def __init__(
        self,
        on_train_begin: Callable | None = None,
        on_train_end: Callable | None = None,
        on_epoch_begin: Callable | None = None,
        on_epoch_end: Callable | None = None,
        on_train_batch_begin: Callable | None = None,
        on_train_batch_end: Callable | None = None,
    ) -> None:
        super().__init__()
        hooks = {
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
        }
        for hook, fn in hooks.items():
            if fn is not None:
                setattr(self, hook, fn)
