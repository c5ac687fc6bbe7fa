r"""Exercises: one step of SGD, Momentum, RMSprop and Adam, as pure functions.

Each takes the parameter, its gradient and the optimizer's state (a dict, the slots of
:mod:`tinynet.optimizers`) and returns ``(new_param, new_state)`` without modifying its arguments.
The reference is the built-in optimizer applied to the same arrays (its state set to the given
one), so the rules are exactly those of :mod:`tinynet.optimizers`:

* SGD: :math:`\theta \leftarrow \theta - \eta g`; state ``{}``.
* Momentum: :math:`b \leftarrow \mu b + g`, :math:`\theta \leftarrow \theta - \eta b`; state ``{"momentum": b}``.
* RMSprop: :math:`v \leftarrow \rho v + (1-\rho) g^2`, :math:`\theta \leftarrow \theta - \eta g / (\sqrt v + \epsilon)`;
  state ``{"v": v}``.
* Adam: :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`, :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`,
  :math:`\hat m = m / (1-\beta_1^t)`, :math:`\hat v = v / (1-\beta_2^t)`,
  :math:`\theta \leftarrow \theta - \eta \hat m / (\sqrt{\hat v} + \epsilon)`; state ``{"m": m, "v": v, "t": t}``
  with ``t`` the steps taken so far (0 before the first; the step uses :math:`t + 1`).

The checks compare the update :math:`\Delta\theta` (new minus old parameter) and each state array,
from a zero state and from a state a few steps in.  :math:`\epsilon` is small (:math:`10^{-12}`) in
the checks, so where it is added does not matter, and gradients are kept away from 0.
"""

from __future__ import annotations

import numpy as np

from .. import optimizers as _optimizers
from ._core import Exercise, Mistake

SHAPE = (4, 3)
EPSILON = 1e-12


def sgd_step(
    param: np.ndarray, grad: np.ndarray, state: dict, learning_rate: float
) -> tuple[np.ndarray, dict]:
    r"""Return :math:`(\theta - \eta g, \{\})`."""
    raise NotImplementedError


def momentum_step(
    param: np.ndarray, grad: np.ndarray, state: dict, learning_rate: float, momentum: float
) -> tuple[np.ndarray, dict]:
    r"""Return the new parameter and ``{"momentum": b}`` after :math:`b \leftarrow \mu b + g`."""
    raise NotImplementedError


def rmsprop_step(
    param: np.ndarray, grad: np.ndarray, state: dict, learning_rate: float, rho: float, epsilon: float
) -> tuple[np.ndarray, dict]:
    r"""Return the new parameter and ``{"v": v}``."""
    raise NotImplementedError


def adam_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict,
    learning_rate: float,
    beta_1: float,
    beta_2: float,
    epsilon: float,
) -> tuple[np.ndarray, dict]:
    r"""Return the new parameter and ``{"m": m, "v": v, "t": t + 1}``."""
    raise NotImplementedError


def _grad(rng: np.random.Generator) -> np.ndarray:
    g = rng.standard_normal(SHAPE)
    return np.where(np.abs(g) < 0.1, 0.5, g)


def _inputs(slots: tuple[str, ...], hyper: dict, counted: bool = False):
    def make(rng: np.random.Generator, seed: int) -> dict:
        fresh = seed == 0  # a zero state (the first step), then states a few steps in
        state = {s: (np.zeros(SHAPE) if fresh else rng.uniform(0.1, 1.0, SHAPE)) for s in slots}
        if "m" in state and not fresh:
            state["m"] = rng.standard_normal(SHAPE) * 0.5
        if "momentum" in state and not fresh:
            state["momentum"] = rng.standard_normal(SHAPE)
        if counted:
            state["t"] = 0 if fresh else int(rng.integers(1, 5))
        return {"param": rng.standard_normal(SHAPE), "grad": _grad(rng), "state": state, **hyper}

    return make


def _reference(cls, slots: tuple[str, ...], hyper: tuple[str, ...]):
    def reference(param, grad, state, **kwargs):
        opt = cls(**{k: kwargs[k] for k in hyper})
        p = param.copy()
        opt.state = {"p": {s: state[s].copy() for s in slots}}
        opt.iterations = int(state.get("t", 0))
        opt.step({"p": p}, {"p": grad.copy()})
        out = {"update": p - param}
        out.update({s: opt.state["p"][s].copy() for s in slots})
        return out

    return reference


def _adapt(slots: tuple[str, ...], counted: bool = False):
    def adapt(returned, inputs):
        if not isinstance(returned, (tuple, list)) or len(returned) != 2 or not isinstance(returned[1], dict):
            raise TypeError(
                f"expected (new_param, new_state) with new_state a dict, got {type(returned).__name__}"
            )
        new_param, new_state = returned
        if new_param is None:
            raise TypeError("new_param is None: return the updated parameter")
        if counted and new_state.get("t") != inputs["state"]["t"] + 1:
            raise ValueError(
                f"new_state['t'] must be the step count {inputs['state']['t'] + 1}, got {new_state.get('t')!r}"
            )
        out = {"update": np.asarray(new_param, dtype=np.float64) - inputs["param"]}
        out.update({s: new_state.get(s) for s in slots})
        return out

    return adapt


def _adam_without_correction(i: dict) -> np.ndarray:
    b1, b2, g, s = i["beta_1"], i["beta_2"], i["grad"], i["state"]
    m = b1 * s["m"] + (1 - b1) * g
    v = b2 * s["v"] + (1 - b2) * g * g
    return -i["learning_rate"] * m / (np.sqrt(v) + i["epsilon"])


def _adam_correction_at(t_of):
    def pattern(i: dict) -> np.ndarray:
        b1, b2, g, s = i["beta_1"], i["beta_2"], i["grad"], i["state"]
        t = t_of(s["t"])
        m = (b1 * s["m"] + (1 - b1) * g) / (1 - b1**t)
        v = (b2 * s["v"] + (1 - b2) * g * g) / (1 - b2**t)
        return -i["learning_rate"] * m / (np.sqrt(v) + i["epsilon"])

    return pattern


def _ema_buffer(i: dict) -> np.ndarray:
    return i["momentum"] * i["state"]["momentum"] + (1 - i["momentum"]) * i["grad"]


_EMA_MESSAGE = (
    "the buffer is an exponential average, μb + (1 − μ)g: tinynet (like torch and Keras) "
    "accumulates b ← μb + g, without the (1 − μ)"
)


EXERCISES = (
    Exercise(
        name="sgd_step",
        topic="optimizers",
        signature="sgd_step(param, grad, state, learning_rate) -> (param, state)",
        make_inputs=_inputs((), {"learning_rate": 0.1}),
        reference=_reference(_optimizers.SGD, (), ("learning_rate",)),
        adapt=_adapt(()),
    ),
    Exercise(
        name="momentum_step",
        topic="optimizers",
        signature="momentum_step(param, grad, state, learning_rate, momentum) -> (param, state)",
        make_inputs=_inputs(("momentum",), {"learning_rate": 0.1, "momentum": 0.9}),
        reference=_reference(_optimizers.SGD, ("momentum",), ("learning_rate", "momentum")),
        adapt=_adapt(("momentum",)),
        mistakes=(
            Mistake(
                "update",
                "momentum as an average",
                _EMA_MESSAGE,
                lambda i: -i["learning_rate"] * _ema_buffer(i),
            ),
            Mistake("momentum", "momentum as an average", _EMA_MESSAGE, _ema_buffer),
        ),
    ),
    Exercise(
        name="rmsprop_step",
        topic="optimizers",
        signature="rmsprop_step(param, grad, state, learning_rate, rho, epsilon) -> (param, state)",
        make_inputs=_inputs(("v",), {"learning_rate": 0.01, "rho": 0.9, "epsilon": EPSILON}),
        reference=_reference(_optimizers.RMSprop, ("v",), ("learning_rate", "rho", "epsilon")),
        adapt=_adapt(("v",)),
    ),
    Exercise(
        name="adam_step",
        topic="optimizers",
        signature="adam_step(param, grad, state, learning_rate, beta_1, beta_2, epsilon) -> (param, state)",
        make_inputs=_inputs(
            ("m", "v"),
            {"learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": EPSILON},
            counted=True,
        ),
        reference=_reference(_optimizers.Adam, ("m", "v"), ("learning_rate", "beta_1", "beta_2", "epsilon")),
        adapt=_adapt(("m", "v"), counted=True),
        mistakes=(
            Mistake(
                "update",
                "adam without bias correction",
                "the update uses m and v as they are: divide by the bias corrections, m̂ = m / (1 − β₁ᵗ) and "
                "v̂ = v / (1 − β₂ᵗ), which undo the zero start of the averages",
                _adam_without_correction,
            ),
            Mistake(
                "update",
                "adam step count",
                "the bias correction uses the step count before the increment: t counts this step too "
                "(t = 1 on the first step)",
                _adam_correction_at(lambda t: t),
            ),
        ),
    ),
)
