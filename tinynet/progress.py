"""What ``fit`` prints: a live progress bar on a terminal or in Jupyter, one line per epoch elsewhere.

``fit(verbose=1)`` adds a :class:`ProgbarLogger` to the callbacks.  Where the
output is *live* (a terminal, or a Jupyter notebook) each epoch gets a header
and a bar redrawn in place with a carriage return::

    Epoch 3/10
     12/25 [=============>................] - 0.4s - ETA: 0.5s - loss: 0.6931

and, when the epoch ends, the bar's final state with every number of the epoch::

     25/25 [==============================] - 0.9s 36ms/step - loss: 0.6903 - accuracy: 0.5312 - val_loss: ...

Where it is not (output redirected to a file, a CI log, ``verbose=2``), a
carriage return would leave a mess, so each epoch prints one line::

    Epoch 3/10 - 0.9s - loss: 0.6903 - accuracy: 0.5312 - val_loss: 0.6950 - val_accuracy: 0.5000

The bar shows the *running* loss: the mean of the batch losses so far weighted
by batch size, which at the end of the epoch is exactly the epoch's ``loss``.
Metrics are shown at the end of the epoch only (they are computed over the
epoch's predictions then).  Redraws are throttled to one every ``interval``
seconds, so the bar costs a clock reading per batch.  Plain Python: no
dependency, and IPython is never imported (only looked for in ``sys.modules``).
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

from .callbacks import Callback, Logs

__all__ = ["ProgbarLogger", "ProgressBar", "format_duration", "format_logs", "is_live"]


def _in_notebook() -> bool:
    """True inside a Jupyter kernel: IPython is loaded and its shell has a kernel (not a terminal IPython)."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    if get_ipython is None:
        return False
    try:
        shell = get_ipython()
    except Exception:  # a half-initialised IPython must not break training
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def is_live(stream: TextIO) -> bool:
    """Whether ``stream`` can redraw a line with ``\\r``: a terminal, or the output of a notebook cell."""
    isatty = getattr(stream, "isatty", None)
    try:
        if isatty is not None and isatty():
            return True
    except ValueError:  # a closed stream
        return False
    # a notebook's sys.stdout is not a tty, but its output area understands '\r'
    return stream in (sys.stdout, sys.stderr) and _in_notebook()


def format_duration(seconds: float) -> str:
    """``350ms``, ``12.0s``, ``3:05``, ``1:02:03``: short, and as precise as a person needs."""
    if not math.isfinite(seconds):
        return "?"
    if seconds < 1:
        return f"{seconds * 1e3:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _format_per_step(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.1f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def format_value(value: Any) -> str:
    """Four decimals, or scientific notation for very small or large numbers (as Keras)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
        if v == 0 or (math.isfinite(v) and 1e-3 <= abs(v) < 1e5):
            return f"{v:.4f}"
        return f"{v:.4e}" if math.isfinite(v) else str(v)
    return str(value)


def format_logs(values: Logs) -> str:
    """``"loss: 0.6931 - accuracy: 0.5000"``."""
    return " - ".join(f"{key}: {format_value(value)}" for key, value in values.items())


class ProgressBar:
    """A one-line progress bar over ``total`` steps, redrawn in place.

    Parameters
    ----------
    total : int
        Number of steps (batches).
    stream : file-like, optional
        Where to write (default: ``sys.stdout`` at construction).
    width : int
        Characters between the brackets.
    interval : float
        Minimum seconds between two redraws; :meth:`update` returns at once in
        between, so calling it every batch is cheap.
    live : bool, optional
        Redraw with ``\\r``; default :func:`is_live` of the stream.  When not live,
        :meth:`update` draws nothing and :meth:`finish` prints one line.
    """

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        width: int = 30,
        interval: float = 0.1,
        live: bool | None = None,
    ) -> None:
        self.total = int(total)
        self.stream = sys.stdout if stream is None else stream
        self.width = int(width)
        self.interval = float(interval)
        self.live = is_live(self.stream) if live is None else bool(live)
        self.start = time.monotonic()
        self._last_draw = -math.inf
        self._drawn = 0  # length of the line on screen, to blank out what a shorter line leaves

    def bar(self, current: int) -> str:
        """``" 12/25 [=============>................]"``."""
        digits = len(str(self.total))
        fraction = min(max(current / self.total, 0.0), 1.0) if self.total else 1.0
        filled = int(self.width * fraction)
        inside = "=" * filled
        if filled < self.width:
            inside += (">" if current > 0 else ".") + "." * (self.width - filled - 1)
        return f"{current:>{digits}}/{self.total} [{inside}]"

    def update(self, current: int, values: Logs | None = None, *, force: bool = False) -> None:
        """Redraw with ``current`` steps done: elapsed time, ETA and ``values`` (throttled)."""
        if not self.live:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < self.interval:
            return
        self._last_draw = now
        elapsed = now - self.start
        eta = elapsed / current * (self.total - current) if current else math.inf
        parts = [self.bar(current), format_duration(elapsed), f"ETA: {format_duration(eta)}"]
        if values:
            parts.append(format_logs(values))
        self._draw(" - ".join(parts))

    def finish(self, current: int, values: Logs | None = None, prefix: str = "") -> None:
        """Draw the final state with the time per step and end the line.

        When not live, print ``prefix``, the elapsed time and ``values`` as one line.
        """
        elapsed = time.monotonic() - self.start
        if self.live:
            per_step = elapsed / current if current else 0.0
            parts = [self.bar(current), f"{format_duration(elapsed)} {_format_per_step(per_step)}"]
        else:
            parts = [prefix, format_duration(elapsed)] if prefix else [format_duration(elapsed)]
        if values:
            parts.append(format_logs(values))
        line = " - ".join(parts)
        if self.live:
            self._draw(line)
            self.stream.write("\n")
            self._drawn = 0
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def _draw(self, line: str) -> None:
        pad = max(self._drawn - len(line), 0)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()
        self._drawn = len(line)


class ProgbarLogger(Callback):
    """The callback behind ``fit(verbose=...)``: a live bar per epoch, or one line per epoch.

    Parameters
    ----------
    verbose : int
        1: a live bar when the stream is a terminal or a notebook, else one line
        per epoch; 2: one line per epoch always (as Keras).
    stream : file-like, optional
        Default ``sys.stdout`` (looked up when the callback is created).
    interval : float
        Minimum seconds between redraws of the bar.
    """

    def __init__(self, verbose: int = 1, stream: TextIO | None = None, interval: float = 0.1) -> None:
        super().__init__()
        if verbose not in (1, 2):
            raise ValueError(
                f"ProgbarLogger needs verbose=1 (bar) or 2 (one line per epoch), got {verbose!r}"
            )
        self.verbose = verbose
        self.stream = sys.stdout if stream is None else stream
        self.interval = float(interval)
        self.live = verbose == 1 and is_live(self.stream)
        self._bar: ProgressBar | None = None
        self._total = 0.0
        self._seen = 0
        self._steps = 0
        self._first_lr: float | None = None
        self._show_lr = False

    def on_train_begin(self, logs=None):
        self._first_lr = None
        schedule = getattr(getattr(self.model, "optimizer", None), "learning_rate", None)
        self._show_lr = callable(schedule)  # a schedule changes the rate: show it from the start

    def on_epoch_begin(self, epoch, logs=None):
        epochs, steps = self.params.get("epochs", 0), self.params.get("steps", 0)
        self._total, self._seen, self._steps = 0.0, 0, 0
        self._bar = ProgressBar(steps, stream=self.stream, interval=self.interval, live=self.live)
        if self.live:
            self.stream.write(f"Epoch {epoch + 1}/{epochs}\n")
            self._bar.update(0, force=True)

    def on_train_batch_end(self, batch, logs=None):
        if not self.live:  # one line per epoch: nothing to do per batch
            return
        logs = logs or {}
        size = logs.get("size", 1)
        self._total += logs.get("loss", math.nan) * size
        self._seen += size
        self._steps = batch + 1
        self._bar.update(self._steps, {"loss": self._total / self._seen})

    def on_epoch_end(self, epoch, logs=None):
        values = dict(logs or {})
        lr = values.pop("learning_rate", None)
        if lr is not None:
            if self._first_lr is None:
                self._first_lr = lr
            self._show_lr = self._show_lr or lr != self._first_lr  # once it has changed, keep showing it
            if self._show_lr:
                values["learning_rate"] = lr
        bar = self._bar or ProgressBar(self.params.get("steps", 0), stream=self.stream, live=self.live)
        steps = self._steps if self.model is not None and self.model.stop_training else bar.total
        bar.finish(steps or bar.total, values, prefix=f"Epoch {epoch + 1}/{self.params.get('epochs', 0)}")
        self._bar = None
