"""Callbacks: code that runs at fixed points of :meth:`tinynet.Sequential.fit`.

A callback subclasses :class:`Callback` and overrides any of the hooks
``on_train_begin/end(logs)``, ``on_epoch_begin/end(epoch, logs)`` and
``on_train_batch_begin/end(batch, logs)``.  ``self.model`` is the model being
trained; setting ``self.model.stop_training = True`` ends ``fit`` cleanly after
the current batch.  ``logs`` holds the numbers of the moment (``loss``, the
metrics, ``val_`` twins at epoch end, ``learning_rate``).
"""

from __future__ import annotations

from typing import Any

Logs = dict[str, Any]


class Callback:
    """Base class of callbacks; every hook does nothing by default."""

    def __init__(self) -> None:
        self.model = None
        self.params: dict[str, Any] = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: Logs | None = None) -> None:
        """Called once before the first epoch."""

    def on_train_end(self, logs: Logs | None = None) -> None:
        """Called once after the last epoch."""

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        """Called before each epoch (``epoch`` counts from 0)."""

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        """Called after each epoch with its training and validation numbers."""

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Called before each training batch."""

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Called after each training batch with its ``loss``."""


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


def _overrides(cb: Callback, hook: str) -> bool:
    return getattr(type(cb), hook) is not getattr(Callback, hook)


class History(Callback):
    """Records every epoch's logs; :meth:`tinynet.Sequential.fit` returns it.

    Attributes
    ----------
    history : dict of str to list
        ``loss``, each metric, their ``val_`` twins, ... one entry per epoch.
    epoch : list of int
        The epoch numbers recorded.
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
