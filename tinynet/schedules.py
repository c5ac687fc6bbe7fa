r"""Learning-rate schedules: the learning rate as a function of the optimizer step.

A schedule is a callable ``schedule(step) -> float``.  Pass one wherever a
learning rate goes, ``tn.optimizers.Adam(learning_rate=CosineDecay(1e-3, 1000))``,
and the optimizer evaluates it at :math:`s` = ``optimizer.iterations`` (the
number of steps already taken: 0 for the first step) before every update.  The
rate in force at the start of each epoch is recorded in the training history
as ``learning_rate``.

The classes and formulas are Keras' (``keras.optimizers.schedules``), with
:math:`\eta_0` the initial learning rate and :math:`s` the step:

- :class:`ExponentialDecay`: :math:`\eta_0\, r^{s / T}`;
- :class:`InverseTimeDecay`: :math:`\eta_0 / (1 + r\, s / T)`;
- :class:`PiecewiseConstantDecay`: a constant on each interval between step boundaries;
- :class:`CosineDecay`: an optional linear warm-up, then
  :math:`\eta_0 \big((1-\alpha)\tfrac12 (1 + \cos \pi s/T) + \alpha\big)`.

Saving.  Each schedule has :meth:`~LearningRateSchedule.get_config`; a model
file stores it as ``{"class_name": ..., "config": ...}`` and :func:`get` rebuilds
it by looking the name up in :data:`SCHEDULES`, never by importing a class named
in a file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ._configurable import Configurable

__all__ = [
    "SCHEDULES",
    "CosineDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "get",
    "serialize",
]


class LearningRateSchedule(Configurable):
    """Base class: a callable of the optimizer step with a JSON-able configuration.

    Subclasses implement :meth:`__call__` and :meth:`get_config`; the config must
    hold the constructor's keyword arguments, so that ``cls(**config)`` rebuilds it.
    """

    def __call__(self, step: int) -> float:
        """The learning rate for optimizer step ``step`` (0 for the first update)."""
        raise NotImplementedError


def _positive(value: float, what: str, owner: str) -> float:
    value = float(value)
    if not value > 0:
        raise ValueError(f"{owner}: {what} must be positive, got {value!r}")
    return value


def _check_step(step: int) -> float:
    step = float(step)
    if step < 0:
        raise ValueError(f"a learning-rate schedule needs a step >= 0, got {step!r}")
    return step


class ExponentialDecay(LearningRateSchedule):
    r"""The rate shrinks by a factor ``decay_rate`` every ``decay_steps`` steps.

    .. math::
        \eta(s) = \eta_0 \, r^{\,s / T}
        \qquad\text{or, with } \texttt{staircase=True},\qquad
        \eta(s) = \eta_0 \, r^{\lfloor s / T \rfloor},

    with :math:`\eta_0` = ``initial_learning_rate``, :math:`r` = ``decay_rate``,
    :math:`T` = ``decay_steps``.  The staircase version keeps the rate constant for
    :math:`T` steps at a time (e.g. :math:`T` = the number of batches per epoch gives
    one decay per epoch).

    Parameters
    ----------
    initial_learning_rate : float
    decay_steps : int
        :math:`T > 0`.
    decay_rate : float
        :math:`r > 0` (below 1 to decay).
    staircase : bool

    Examples
    --------
    >>> ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(20)
    0.025
    """

    def __init__(
        self, initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False
    ) -> None:
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = _positive(decay_steps, "decay_steps", "ExponentialDecay")
        self.decay_rate = _positive(decay_rate, "decay_rate", "ExponentialDecay")
        self.staircase = bool(staircase)

    def __call__(self, step: int) -> float:
        p = _check_step(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate**p

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": _int_if_whole(self.decay_steps),
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
        }


class InverseTimeDecay(LearningRateSchedule):
    r"""The rate falls like :math:`1/s`: fast at first, then ever more slowly.

    .. math::
        \eta(s) = \frac{\eta_0}{1 + r\, s / T}
        \qquad\text{or, with } \texttt{staircase=True},\qquad
        \eta(s) = \frac{\eta_0}{1 + r \lfloor s / T \rfloor}.

    This is the :math:`\eta_s \propto 1/s` decay under which stochastic gradient
    descent provably converges on convex problems (Robbins and Monro's conditions
    :math:`\sum_s \eta_s = \infty`, :math:`\sum_s \eta_s^2 < \infty`).

    Parameters
    ----------
    initial_learning_rate : float
    decay_steps : int
        :math:`T > 0`.
    decay_rate : float
        :math:`r \ge 0`.
    staircase : bool

    Examples
    --------
    >>> InverseTimeDecay(0.1, decay_steps=10, decay_rate=1.0)(30)
    0.025
    """

    def __init__(
        self, initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False
    ) -> None:
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = _positive(decay_steps, "decay_steps", "InverseTimeDecay")
        self.decay_rate = float(decay_rate)
        if self.decay_rate < 0:
            raise ValueError(f"InverseTimeDecay: decay_rate must be >= 0, got {decay_rate!r}")
        self.staircase = bool(staircase)

    def __call__(self, step: int) -> float:
        p = _check_step(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": _int_if_whole(self.decay_steps),
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    r"""A constant rate on each interval between step boundaries.

    With boundaries :math:`b_1 < \dots < b_k` and values :math:`v_0, \dots, v_k`:

    .. math::
        \eta(s) = \begin{cases}
            v_0 & s \le b_1 \\
            v_i & b_i < s \le b_{i+1} \\
            v_k & s > b_k
        \end{cases}

    (each boundary step still uses the value before it, as in Keras).

    Parameters
    ----------
    boundaries : sequence of int
        Increasing step numbers.
    values : sequence of float
        One more than ``boundaries``.

    Examples
    --------
    >>> lr = PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
    >>> lr(100), lr(101), lr(500)
    (1.0, 0.5, 0.1)
    """

    def __init__(self, boundaries: Sequence[int], values: Sequence[float]) -> None:
        self.boundaries = [_int_if_whole(float(b)) for b in boundaries]
        self.values = [float(v) for v in values]
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(
                f"PiecewiseConstantDecay needs one more value than boundaries, got "
                f"{len(self.boundaries)} boundaries and {len(self.values)} values"
            )
        if any(b >= c for b, c in zip(self.boundaries, self.boundaries[1:], strict=False)):
            raise ValueError(f"PiecewiseConstantDecay: boundaries must increase, got {self.boundaries}")

    def __call__(self, step: int) -> float:
        s = _check_step(step)
        for boundary, value in zip(self.boundaries, self.values, strict=False):
            if s <= boundary:
                return value
        return self.values[-1]

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": list(self.boundaries), "values": list(self.values)}


class CosineDecay(LearningRateSchedule):
    r"""Optional linear warm-up, then half a cosine from the peak rate down to :math:`\alpha` times it.

    Without warm-up (``warmup_target=None``), with :math:`T` = ``decay_steps``:

    .. math::
        \eta(s) = \eta_0 \Big( (1 - \alpha)\, \tfrac12 \big(1 + \cos(\pi\, \min(s, T) / T)\big) + \alpha \Big),

    which falls smoothly from :math:`\eta_0` at :math:`s = 0` to :math:`\alpha\eta_0` at
    :math:`s = T` and stays there.

    With warm-up to :math:`\eta_1` = ``warmup_target`` over :math:`W` = ``warmup_steps``
    steps, the rate first climbs linearly from :math:`\eta_0` to :math:`\eta_1`, then the
    cosine decays from :math:`\eta_1`:

    .. math::
        \eta(s) = \begin{cases}
            \eta_0 + (\eta_1 - \eta_0)\, s / W & s < W \\
            \eta_1 \Big( (1 - \alpha)\, \tfrac12 \big(1 + \cos(\pi\, \min(s - W, T) / T)\big) + \alpha \Big)
                & s \ge W.
        \end{cases}

    As in Keras, ``warmup_steps`` is ignored when ``warmup_target`` is None.

    Parameters
    ----------
    initial_learning_rate : float
        :math:`\eta_0` (the starting rate of the warm-up, when there is one).
    decay_steps : int
        :math:`T > 0`, the length of the cosine.
    alpha : float
        The final rate as a fraction of the peak.
    warmup_target : float, optional
        :math:`\eta_1`, the peak reached after the warm-up.
    warmup_steps : int
        :math:`W`.

    Examples
    --------
    >>> CosineDecay(1.0, decay_steps=100)(50)
    0.5
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ) -> None:
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = _positive(decay_steps, "decay_steps", "CosineDecay")
        self.alpha = float(alpha)
        self.warmup_target = None if warmup_target is None else float(warmup_target)
        self.warmup_steps = float(warmup_steps)
        if self.warmup_steps < 0:
            raise ValueError(f"CosineDecay: warmup_steps must be >= 0, got {warmup_steps!r}")

    def _cosine(self, s: float, peak: float) -> float:
        fraction = min(s, self.decay_steps) / self.decay_steps
        return peak * ((1.0 - self.alpha) * 0.5 * (1.0 + math.cos(math.pi * fraction)) + self.alpha)

    def __call__(self, step: int) -> float:
        s = _check_step(step)
        if self.warmup_target is None:
            return self._cosine(s, self.initial_learning_rate)
        if s < self.warmup_steps:
            rise = self.warmup_target - self.initial_learning_rate
            return self.initial_learning_rate + rise * s / self.warmup_steps
        return self._cosine(s - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": _int_if_whole(self.decay_steps),
            "alpha": self.alpha,
            "warmup_target": self.warmup_target,
            "warmup_steps": _int_if_whole(self.warmup_steps),
        }


def _int_if_whole(value: float) -> int | float:
    """Write whole step counts as ints in configs (readable JSON, and equal after a round trip)."""
    return int(value) if float(value).is_integer() else float(value)


#: The schedules a model file may name; loading looks names up here and nowhere else.
SCHEDULES: dict[str, type[LearningRateSchedule]] = {
    cls.__name__: cls for cls in (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, CosineDecay)
}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """The ``{"class_name": ..., "config": ...}`` dict that :func:`get` turns back into ``schedule``."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"only LearningRateSchedule objects can be serialized, got {schedule!r}")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def get(
    identifier: LearningRateSchedule | Callable[[int], float] | dict[str, Any] | str,
    config: dict[str, Any] | None = None,
) -> LearningRateSchedule | Callable[[int], float]:
    """Return a schedule from an instance, a serialized dict, or a class name and its config.

    Parameters
    ----------
    identifier : LearningRateSchedule, callable, dict or str
        A schedule (or any callable of the step) is returned unchanged; a dict
        ``{"class_name": ..., "config": ...}`` (as :func:`serialize` writes) or a
        class name from :data:`SCHEDULES` is built.
    config : dict, optional
        The constructor arguments, with a class name.

    Examples
    --------
    >>> get("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5})
    ExponentialDecay(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=False)
    """
    if isinstance(identifier, dict):
        if set(identifier) != {"class_name", "config"}:
            raise ValueError(
                f"a serialized schedule is a dict with keys 'class_name' and 'config', got {sorted(identifier)}"
            )
        identifier, config = identifier["class_name"], identifier["config"]
    if isinstance(identifier, str):
        cls = SCHEDULES.get(identifier)
        if cls is None:
            raise ValueError(
                f"unknown learning-rate schedule {identifier!r}; known schedules: {', '.join(sorted(SCHEDULES))}"
            )
        return cls.from_config(dict(config or {}))
    if callable(identifier):
        return identifier
    raise TypeError(f"cannot interpret {identifier!r} as a learning-rate schedule")
