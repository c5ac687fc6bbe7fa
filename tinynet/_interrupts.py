"""Ctrl-C never splits a training step: SIGINT is held back while an update changes the model.

An optimizer update writes many arrays in place, one after the other: the
step counter, the moment buffers, the parameters chunk by chunk.  A
``KeyboardInterrupt`` raised between two of those writes would leave a model
that no training run produces (half the weights stepped, the counter ahead of
the moments) and that resumes wrongly.

So :meth:`tinynet.optimizers.Optimizer.step` makes its writes in a critical
section, ``with critical_section:``.  While one is open (in the main thread,
the only one Python delivers signals to), a SIGINT is only recorded; when the
outermost one closes, the previous handler gets it (Python's default raises
``KeyboardInterrupt`` there), so the interrupt lands after the update, at most
one update late.  Outside a section a SIGINT is passed on at once; before the
update, :meth:`tinynet.Sequential.train_step` undoes what the forward pass
changed (batch normalization's running averages) when any exception, this
one included, comes through.

The handler is installed only while needed, and the previous one is restored
afterwards: :func:`deferring_interrupts` keeps it installed for a whole
:meth:`tinynet.Sequential.fit`, so that each step's section is only a counter,
and a section outside of one (a custom loop calling ``train_step`` or
``optimizer.step``) installs it for its own duration.  That goes through
``_signal``, the C module behind :mod:`signal`: its ``signal()`` is the same
function without the conversion of handlers to enums, which makes the public
one about ten times slower (several microseconds a pair of calls, as much as
all the rest of tinynet's overhead in a small model's step).  Nothing is
installed outside the main thread, or when SIGINT is ignored or left to the
operating system's default (then no ``KeyboardInterrupt`` can happen, and
there is nothing to hold back).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from threading import get_ident
from types import FrameType
from typing import Any

try:
    import _signal  # CPython's C module behind signal: the same signal(), without enum conversions
except ImportError:  # pragma: no cover - another Python: the public function, slower
    _signal = signal

_MAIN_THREAD = threading.main_thread().ident
_SIGINT = int(signal.SIGINT)


class _Deferral:
    """The process's one deferral state (signals are per process)."""

    previous: Any = None  # the handler ours replaced, while ours is installed; else None
    depth = 0  # critical sections active in the main thread
    pending: tuple[int, FrameType | None] | None = None  # a SIGINT held back
    section_installed = False  # whether the outermost section installed the handler itself


_state = _Deferral()


def _handler(signum: int, frame: FrameType | None) -> None:
    if _state.depth:
        _state.pending = (signum, frame)
    else:
        _state.previous(signum, frame)


def _install() -> bool:
    """Install the deferring handler; return whether this call did (False: already, or not possible)."""
    if _state.previous is not None or get_ident() != _MAIN_THREAD:
        return False
    previous = _signal.signal(_SIGINT, _handler)
    if not callable(previous):  # SIG_IGN, SIG_DFL or a handler set from C: leave it alone
        _signal.signal(_SIGINT, previous)
        return False
    _state.previous = previous
    return True


def _uninstall() -> None:
    _signal.signal(_SIGINT, _state.previous)
    _state.previous = None


@contextmanager
def deferring_interrupts() -> Iterator[None]:
    """Keep the deferring handler installed for the duration (cheap critical sections inside)."""
    installed = _install()
    try:
        yield
    finally:
        if installed:
            _uninstall()


class _CriticalSection:
    """``with critical_section:`` holds SIGINT back until the block ends (re-entrant).

    One object serves every section (the count of open ones is in the process's
    deferral state), so that entering one costs no allocation: a step of a small
    model pays under a microsecond for it.
    """

    __slots__ = ()

    def __enter__(self) -> None:
        if get_ident() == _MAIN_THREAD:
            state = _state
            if state.previous is None and not state.depth:  # outside fit: install for this section
                state.section_installed = _install()
            state.depth += 1

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if get_ident() == _MAIN_THREAD:
            state = _state
            state.depth -= 1
            if not state.depth and (state.section_installed or state.pending is not None):
                _leave_outermost()


def _leave_outermost() -> None:
    """The outermost section ends: uninstall the handler if it installed it, and deliver the
    held-back SIGINT to the previous handler (Python's default raises KeyboardInterrupt)."""
    pending, _state.pending = _state.pending, None
    previous = _state.previous
    if _state.section_installed:
        _state.section_installed = False
        _uninstall()
    if pending is not None and previous is not None:
        previous(*pending)


critical_section = _CriticalSection()
