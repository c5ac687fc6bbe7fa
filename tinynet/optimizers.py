r"""Optimizers: the update rules of :mod:`torch.optim`, written out.

``optimizer.step(params, grads)`` takes two dicts with the same keys (parameter
names such as ``"dense/W"``) and updates the arrays of ``params`` in place.
Per-parameter state (momentum buffers, moment estimates) lives in
``optimizer.state[name][slot]``, keyed by those names, so a model file can save
it and training can resume exactly.  ``optimizer.iterations`` counts the steps
taken; the :math:`t` of the formulas below is its value *after* the increment
(1 on the first step).

Every rule below is applied element-wise to each parameter :math:`\theta` with
gradient :math:`g`; :math:`\eta` is the learning rate in force.

Speed.  When the arrays of ``params`` (and of ``grads``) are consecutive views
into one flat buffer, which is how :class:`tinynet.Sequential` stores them,
the optimizer notices once and from then on updates the whole model with a
handful of in-place ufunc calls on the flat buffers, however many layers there
are; its state is kept flat too, with per-parameter views in ``state``.  A
model larger than :data:`CHUNK` parameters is updated chunk by chunk, so that
the dozen passes of a rule run over arrays that stay in the cache (about a
quarter faster for 670,000 parameters; the same bits, every rule being
element-wise).

Gradient clipping (all optimizers, as in Keras; at most one of them):
``clipnorm=c`` rescales each gradient array whose norm exceeds :math:`c` to norm
:math:`c`; ``global_clipnorm=c`` rescales all gradients together when their joint
norm :math:`\sqrt{\sum \lVert g \rVert^2}` exceeds :math:`c`; ``clipvalue=c``
clips every element to :math:`[-c, c]`.  Clipping happens in place, before the
update.

Learning rates may be numbers or schedules: any callable of the step count
(see :mod:`tinynet.schedules`), evaluated at ``iterations`` before each step.

Checked arguments.  Every hyper-parameter is checked when the optimizer is
created (a learning rate finite and >= 0, :math:`\beta_1, \beta_2, \rho`
and the momentum in [0, 1), :math:`\epsilon` and the clipping thresholds
finite and > 0, a weight decay finite and >= 0), and the learning rate again
before each step, so that a schedule, or a rate assigned later, that yields a
negative or non-finite rate raises ``ValueError`` before the step changes anything.

One step is one unit.  :meth:`Optimizer.step` checks everything first and then
updates the parameters, the state and ``iterations`` in a critical section
(``tinynet/_interrupts.py``): a Ctrl-C arriving meanwhile raises
``KeyboardInterrupt`` when the step is complete, never halfway through it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _validation
from ._interrupts import critical_section

LearningRate = float | Callable[[int], float]

#: Elements per chunk of a flat update (256 KB of float32 per array): small enough that a
#: chunk's parameter, gradient, state and scratch arrays stay in a core's L2 cache.
CHUNK = 65536


class _Group:
    """One update unit: a parameter array, its gradient, its state slots and a scratch array."""

    __slots__ = ("g", "p", "slots", "tmp")

    def __init__(self, p, g, slots, tmp):
        self.p, self.g, self.slots, self.tmp = p, g, slots, tmp


def _flat_owner(arrays: list[np.ndarray]) -> np.ndarray | None:
    """The 1-D buffer that ``arrays`` tile exactly, in order, or None."""
    if not arrays:
        return None
    owner = arrays[0].base
    if owner is None or owner.ndim != 1 or not owner.flags.c_contiguous:
        return None
    start = owner.ctypes.data
    offset = 0
    for a in arrays:
        if a.base is not owner or not a.flags.c_contiguous or a.dtype != owner.dtype:
            return None
        if a.ctypes.data != start + offset * owner.itemsize:
            return None
        offset += a.size
    return owner if offset == owner.size else None


def _positive_epsilon(epsilon: float, owner: str) -> float:
    return _validation.real(epsilon, "epsilon", low=0.0, include_low=False, owner=owner)


class Optimizer:
    """Base class.  Subclasses name their state ``slots`` and implement :meth:`_update`.

    Parameters
    ----------
    learning_rate : float or callable
        The step size :math:`\\eta`, or a schedule ``f(step) -> float``.
    clipnorm, global_clipnorm, clipvalue : float, optional
        Gradient clipping (see the module docstring); at most one may be set.
    """

    name = ""
    slots: tuple[str, ...] = ()

    def __init__(
        self,
        learning_rate: LearningRate = 0.01,
        *,
        clipnorm: float | None = None,
        global_clipnorm: float | None = None,
        clipvalue: float | None = None,
    ) -> None:
        owner = type(self).__name__
        self.learning_rate = _validation.learning_rate(learning_rate, owner)
        if sum(c is not None for c in (clipnorm, global_clipnorm, clipvalue)) > 1:
            raise ValueError("set at most one of clipnorm, global_clipnorm and clipvalue")
        for label, c in (
            ("clipnorm", clipnorm),
            ("global_clipnorm", global_clipnorm),
            ("clipvalue", clipvalue),
        ):
            if c is not None:
                _validation.real(c, label, low=0.0, include_low=False, owner=owner)
        self.clipnorm, self.global_clipnorm, self.clipvalue = clipnorm, global_clipnorm, clipvalue
        self.iterations = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self._plan_key: tuple | None = None
        self._groups: list[_Group] = []
        self._views: list[tuple[np.ndarray, ...]] = []
        self._grad_arrays: list[np.ndarray] = []

    def __setstate__(self, state: dict[str, Any]) -> None:
        """After ``copy.deepcopy`` (or ``pickle``): plan the flat update again on the next step.

        The copied plan's chunks are independent arrays, no longer views of the
        parameters; ``state`` (the moments, keyed by parameter name) carries over.
        """
        self.__dict__.update(state)
        self._plan_key, self._groups, self._views, self._grad_arrays = None, [], [], []

    # -- public -----------------------------------------------------------
    def current_learning_rate(self) -> float:
        """The learning rate the next step will use."""
        lr = self.learning_rate
        return float(lr(self.iterations)) if callable(lr) else float(lr)

    def checked_learning_rate(self) -> float:
        """:meth:`current_learning_rate`, refused with ``ValueError`` unless finite and >= 0."""
        lr = self.current_learning_rate()
        if not 0.0 <= lr < math.inf:  # False for NaN too
            self._refuse_learning_rate(lr)
        return lr

    def _refuse_learning_rate(self, lr: float) -> None:
        step = self.iterations + 1
        what = (
            f"the schedule {self.learning_rate!r} gives the learning rate {lr} for step {step}"
            if callable(self.learning_rate)
            else f"the learning rate for step {step} is {lr}"
        )
        raise ValueError(f"{type(self).__name__}: {what}; it must be finite and >= 0")

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update ``params`` in place from ``grads`` (two dicts with the same keys).

        All of it or nothing: the learning rate is checked before anything changes,
        and a Ctrl-C during the update takes effect once it is complete (see the
        module docstring).
        """
        lr = self.current_learning_rate()
        if not 0.0 <= lr < math.inf:  # checked_learning_rate, without a call on every step
            self._refuse_learning_rate(lr)
        with critical_section:
            plan = self._plan_key
            if plan is None or plan[0] is not params or plan[1] is not grads:
                self._plan(params, grads)
            self._clip()
            self.iterations = t = self.iterations + 1
            for group in self._groups:
                self._update(group, lr, t)

    def get_config(self) -> dict[str, Any]:
        """Hyper-parameters as a JSON-able dict (schedules as ``{"class_name", "config"}``)."""
        lr = self.learning_rate
        if callable(lr):
            get = getattr(lr, "get_config", None)
            if get is None:
                raise TypeError(f"learning-rate schedule {lr!r} has no get_config(); it cannot be saved")
            lr = {"class_name": type(lr).__name__, "config": get()}
        config: dict[str, Any] = {"learning_rate": lr}
        for key in ("clipnorm", "global_clipnorm", "clipvalue"):
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        return config

    # -- machinery --------------------------------------------------------
    def _plan(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        if params.keys() != grads.keys():
            raise ValueError(
                f"{type(self).__name__}.step: params and grads must have the same keys, "
                f"got {sorted(params)} and {sorted(grads)}"
            )
        for key in params:
            if params[key].shape != grads[key].shape:
                raise ValueError(
                    f"{type(self).__name__}.step: {key!r} has shape {params[key].shape} "
                    f"but its gradient has shape {grads[key].shape}"
                )
        # the new plan is built aside and replaces the old one at the end, so that an error
        # halfway (out of memory) leaves the optimizer's state as it was
        keys = list(params)
        P = _flat_owner([params[k] for k in keys])
        G = _flat_owner([grads[k] for k in keys])
        state: dict[str, dict[str, np.ndarray]] = {}
        if P is not None and G is not None and P.size == G.size and P.dtype == G.dtype:
            flat_slots = {slot: np.zeros_like(P) for slot in self.slots}
            offset = 0
            for k in keys:
                n, shape = params[k].size, params[k].shape
                state[k] = {slot: flat_slots[slot][offset : offset + n].reshape(shape) for slot in self.slots}
                offset += n
            # the update runs chunk by chunk: each chunk's dozen passes then stay in the cache
            # instead of streaming the whole model through memory a dozen times (element-wise
            # rules: the same bits), and one chunk-sized scratch array serves every chunk
            tmp = np.empty(min(P.size, CHUNK), P.dtype)
            groups = [
                _Group(
                    P[i : i + CHUNK],
                    G[i : i + CHUNK],
                    {k: a[i : i + CHUNK] for k, a in flat_slots.items()},
                    tmp[: min(CHUNK, P.size - i)],
                )
                for i in range(0, P.size, CHUNK)
            ]
            grad_arrays = [G]
        else:
            groups = []
            for k in keys:
                p = params[k]
                state[k] = {slot: np.zeros_like(p) for slot in self.slots}
                groups.append(_Group(p, grads[k], state[k], np.empty_like(p)))
            grad_arrays = [grads[k] for k in keys]
        for k, slots in state.items():  # carry over state loaded or accumulated before
            for slot, arr in slots.items():
                prev = self.state.get(k, {}).get(slot)
                if prev is not None and prev.shape == arr.shape:
                    arr[...] = prev
        self.state, self._groups, self._grad_arrays = state, groups, grad_arrays
        self._views = [(params[k], grads[k]) for k in keys]
        self._plan_key = (params, grads)

    def _clip(self) -> None:
        if self.clipvalue is not None:
            for group in self._groups:
                np.clip(group.g, -self.clipvalue, self.clipvalue, out=group.g)
        elif self.clipnorm is not None:
            for _, g in self._views:
                norm = math.sqrt(float(np.vdot(g, g)))
                if norm > self.clipnorm:
                    g *= self.clipnorm / norm
        elif self.global_clipnorm is not None:
            total = math.sqrt(sum(float(np.vdot(g, g)) for g in self._grad_arrays))
            if total > self.global_clipnorm:
                for g in self._grad_arrays:
                    g *= self.global_clipnorm / total

    def _update(self, group: _Group, lr: float, t: int) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum.

    Without momentum: :math:`\theta \leftarrow \theta - \eta g`.

    With momentum :math:`\mu`, a buffer :math:`b` (zero before the first step):

    .. math:: b \leftarrow \mu b + g, \qquad
              \theta \leftarrow \theta - \eta\, b \quad\text{or, Nesterov,}\quad
              \theta \leftarrow \theta - \eta\, (g + \mu b).

    Parameters
    ----------
    learning_rate : float or schedule
    momentum : float
    nesterov : bool
    """

    name = "sgd"

    def __init__(
        self, learning_rate: LearningRate = 0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs
    ):
        super().__init__(learning_rate, **kwargs)
        owner = type(self).__name__
        momentum = _validation.real(momentum, "momentum", low=0.0, high=1.0, owner=owner)
        nesterov = _validation.flag(nesterov, "nesterov")
        if nesterov and momentum == 0:
            raise ValueError("nesterov=True needs a positive momentum")
        self.momentum, self.nesterov = momentum, nesterov
        self.slots = ("momentum",) if self.momentum else ()

    def _update(self, group, lr, t):
        p, g, tmp = group.p, group.g, group.tmp
        if not self.momentum:
            np.multiply(g, lr, out=tmp)
        else:
            b = group.slots["momentum"]
            b *= self.momentum
            b += g
            if self.nesterov:
                np.multiply(b, self.momentum, out=tmp)
                tmp += g
                tmp *= lr
            else:
                np.multiply(b, lr, out=tmp)
        p -= tmp

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Momentum(SGD):
    r"""SGD with momentum (default :math:`\mu = 0.9`): :math:`b \leftarrow \mu b + g`, :math:`\theta \leftarrow \theta - \eta b`.

    Exactly :class:`SGD` with ``momentum=0.9``; see there for Nesterov.
    """

    name = "momentum"

    def __init__(
        self, learning_rate: LearningRate = 0.01, momentum: float = 0.9, nesterov: bool = False, **kwargs
    ):
        super().__init__(learning_rate, momentum=momentum, nesterov=nesterov, **kwargs)


class RMSprop(Optimizer):
    r"""RMSprop (Hinton), as :class:`torch.optim.RMSprop` with ``alpha = rho``.

    .. math:: v \leftarrow \rho v + (1 - \rho) g^2, \qquad
              \theta \leftarrow \theta - \eta\, \frac{g}{\sqrt{v} + \epsilon}

    (:math:`v` starts at 0; :math:`\epsilon` is outside the square root).
    """

    name = "rmsprop"
    slots = ("v",)

    def __init__(
        self, learning_rate: LearningRate = 0.001, rho: float = 0.9, epsilon: float = 1e-8, **kwargs
    ):
        super().__init__(learning_rate, **kwargs)
        self.rho = _validation.real(rho, "rho", low=0.0, high=1.0, owner="RMSprop")
        self.epsilon = _positive_epsilon(epsilon, "RMSprop")

    def _update(self, group, lr, t):
        p, g, tmp, v = group.p, group.g, group.tmp, group.slots["v"]
        v *= self.rho
        np.square(g, out=tmp)
        tmp *= 1.0 - self.rho
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        p -= tmp

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2015, Algorithm 1).

    .. math::
        m &\leftarrow \beta_1 m + (1 - \beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \\
        \hat m &= \frac{m}{1 - \beta_1^t}, \qquad \hat v = \frac{v}{1 - \beta_2^t}, \qquad
        \theta \leftarrow \theta - \eta\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}.

    :math:`m, v` start at 0; the bias corrections undo that start.  Computed as
    torch does: :math:`\theta \leftarrow \theta - \frac{\eta}{1-\beta_1^t}\,
    m / (\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon)`.
    """

    name = "adam"
    slots = ("m", "v")

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        **kwargs,
    ):
        super().__init__(learning_rate, **kwargs)
        owner = type(self).__name__
        self.beta_1 = _validation.real(beta_1, "beta_1", low=0.0, high=1.0, owner=owner)
        self.beta_2 = _validation.real(beta_2, "beta_2", low=0.0, high=1.0, owner=owner)
        self.epsilon = _positive_epsilon(epsilon, owner)

    def _update(self, group, lr, t):
        p, g, tmp = group.p, group.g, group.tmp
        m, v = group.slots["m"], group.slots["v"]
        b1, b2 = self.beta_1, self.beta_2
        m *= b1
        np.multiply(g, 1.0 - b1, out=tmp)
        m += tmp
        v *= b2
        np.square(g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp *= 1.0 / math.sqrt(1.0 - b2**t)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= lr / (1.0 - b1**t)
        p -= tmp

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov and Hutter), as :class:`torch.optim.AdamW`.

    First :math:`\theta \leftarrow \theta (1 - \eta \lambda)`, then the :class:`Adam` step.
    The decay never enters the moments (that is what "decoupled" means).
    """

    name = "adamw"

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.01,
        **kwargs,
    ):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)
        self.weight_decay = _validation.real(weight_decay, "weight_decay", low=0.0, owner="AdamW")

    def _update(self, group, lr, t):
        group.p *= 1.0 - lr * self.weight_decay
        super()._update(group, lr, t)

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al.), as :class:`torch.optim.Adagrad` (accumulator starts at 0).

    .. math:: s \leftarrow s + g^2, \qquad \theta \leftarrow \theta - \eta\, \frac{g}{\sqrt{s} + \epsilon}.
    """

    name = "adagrad"
    slots = ("sum",)

    def __init__(self, learning_rate: LearningRate = 0.01, epsilon: float = 1e-10, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.epsilon = _positive_epsilon(epsilon, "Adagrad")

    def _update(self, group, lr, t):
        p, g, tmp, s = group.p, group.g, group.tmp, group.slots["sum"]
        np.square(g, out=tmp)
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.epsilon
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        p -= tmp

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, RMSprop, Adam, AdamW, Adagrad)
}


def get(identifier: str | Optimizer) -> Optimizer:
    """Return an optimizer for a name (see :data:`OPTIMIZERS`) or pass an Optimizer through."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    try:
        return OPTIMIZERS[identifier.lower() if isinstance(identifier, str) else identifier]()
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown optimizer {identifier!r}; valid names: {', '.join(sorted(OPTIMIZERS))}"
        ) from None
