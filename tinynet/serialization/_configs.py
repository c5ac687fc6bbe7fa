"""Type and range checks of the configurations a model file holds, before any constructor sees them.

A file rebuilds a layer, a loss, an optimizer, a schedule or a regularizer as
``cls(**config)``.  Python checks neither the types nor the ranges of keyword
arguments, so without these checks ``"units": "10"`` fails deep inside numpy,
``"units": 10.0`` or ``true`` may be accepted as something else, and a negative
learning rate trains backwards.  Here every key of a config must be a parameter of
the constructor (walking ``**kwargs`` up the class hierarchy, as the call would),
every required parameter must be present, and every value must have the type the
constructor's annotation names, as JSON holds it:

========================  ==================================================
annotation                accepted JSON
========================  ==================================================
``int``                   an integer (not ``true``/``false``), in int64 range
``float``                 an integer or a decimal number (not a boolean)
``bool``                  ``true`` or ``false``
``str``                   a string
``None``                  ``null``
``tuple``/``list``/seq.   a list whose items match (a fixed length for ``tuple[int, int]``)
``Regularizer``           ``{"class_name": <in REGULARIZERS>, "config": {...}}``, checked in turn
a schedule (callable)     ``{"class_name": <in SCHEDULES>, "config": {...}}``, checked in turn
anything else             left to the constructor (a user's own types)
========================  ==================================================

For tinynet's own classes the values must also lie in the ranges the maths
needs (:func:`_ranges`): sizes at least 1, rates in [0, 1), epsilons and decay
steps positive, learning rates and penalties not negative.  A user's registered
layer gets the type checks from its annotations and the base layer's ranges.

The same checks run when a model is saved, so a save never writes a file that
loading would refuse.
"""

from __future__ import annotations

import collections.abc
import inspect
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

Fail = Callable[[str], Exception]

_INT64 = 2**63
_MAX_DIM = 2**31 - 1
_SEQUENCES = (tuple, list, collections.abc.Sequence, typing.Sequence)


@dataclass(frozen=True)
class Bound:
    """A closed or half-open interval a number (or every item of a list of numbers) must lie in."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def holds(self, x: float) -> bool:
        above = x > self.low if self.low_open else x >= self.low
        below = x < self.high if self.high_open else x <= self.high
        return above and below

    def __str__(self) -> str:
        if self.high == math.inf:
            return f"{'>' if self.low_open else '>='} {_num(self.low)}"
        if self.low == -math.inf:
            return f"{'<' if self.high_open else '<='} {_num(self.high)}"
        return f"in {'(' if self.low_open else '['}{_num(self.low)}, {_num(self.high)}{')' if self.high_open else ']'}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


SIZE = Bound(1, _MAX_DIM)  # a layer size, a kernel or stride length, an input dimension
COUNT = Bound(0, _INT64 - 1)
UNIT = Bound(0, 1, high_open=True)  # a rate or a decay factor: [0, 1)
POSITIVE = Bound(0, low_open=True)
NONNEGATIVE = Bound(0)


@cache
def _ranges() -> dict[tuple[type, str], Bound]:
    """(a class, a parameter name) -> the range the parameter must lie in, for that class and its subclasses."""
    from .. import optimizers as o
    from .. import regularizers as r
    from .. import schedules as s
    from ..layers import base, conv, core, dense, normalization, pooling

    steps = Bound(1, _INT64 - 1)
    return {
        (base.Layer, "input_shape"): SIZE,
        (dense.Dense, "units"): SIZE,
        (dense.Dense, "input_dim"): SIZE,
        (conv.Conv2D, "filters"): SIZE,
        (conv.Conv2D, "kernel_size"): SIZE,
        (conv.Conv2D, "strides"): SIZE,
        (pooling._Pool2D, "pool_size"): SIZE,
        (pooling._Pool2D, "strides"): SIZE,
        (core.Dropout, "rate"): UNIT,
        (normalization.BatchNormalization, "momentum"): UNIT,
        (normalization.BatchNormalization, "epsilon"): POSITIVE,
        (normalization.LayerNormalization, "epsilon"): POSITIVE,
        (o.Optimizer, "learning_rate"): NONNEGATIVE,
        (o.Optimizer, "clipnorm"): POSITIVE,
        (o.Optimizer, "global_clipnorm"): POSITIVE,
        (o.Optimizer, "clipvalue"): POSITIVE,
        (o.Optimizer, "epsilon"): POSITIVE,
        (o.SGD, "momentum"): NONNEGATIVE,
        (o.RMSprop, "rho"): UNIT,
        (o.Adam, "beta_1"): UNIT,
        (o.Adam, "beta_2"): UNIT,
        (o.AdamW, "weight_decay"): NONNEGATIVE,
        (s.LearningRateSchedule, "initial_learning_rate"): NONNEGATIVE,
        (s.LearningRateSchedule, "decay_steps"): steps,
        (s.ExponentialDecay, "decay_rate"): POSITIVE,
        (s.InverseTimeDecay, "decay_rate"): NONNEGATIVE,
        (s.PiecewiseConstantDecay, "boundaries"): COUNT,
        (s.PiecewiseConstantDecay, "values"): NONNEGATIVE,
        (s.CosineDecay, "alpha"): Bound(0, 1),
        (s.CosineDecay, "warmup_target"): NONNEGATIVE,
        (s.CosineDecay, "warmup_steps"): COUNT,
        (r.Regularizer, "l1"): NONNEGATIVE,
        (r.Regularizer, "l2"): NONNEGATIVE,
    }


def _bound(cls: type, key: str) -> Bound | None:
    table = _ranges()
    return next((table[k, key] for k in cls.__mro__ if (k, key) in table), None)


@dataclass(frozen=True)
class Parameter:
    """One keyword a constructor accepts: its annotation and whether it is required."""

    hint: Any
    required: bool


@cache
def parameters(cls: type) -> dict[str, Parameter]:
    """The keyword arguments ``cls(**config)`` accepts, following ``**kwargs`` up the MRO."""
    found: dict[str, Parameter] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            signature = inspect.signature(init)
        except (TypeError, ValueError):  # pragma: no cover - a C-level __init__
            break
        try:
            hints = typing.get_type_hints(init)
        except Exception:  # a user's annotation that cannot be resolved: leave its types to the class
            hints = {}
        more = False
        for name, p in list(signature.parameters.items())[1:]:  # after self
            if p.kind is p.VAR_KEYWORD:
                more = True
            elif p.kind is not p.VAR_POSITIONAL and name not in found:
                found[name] = Parameter(hints.get(name, Any), p.default is p.empty)
        if not more:
            break
    return found


def check_config(cls: type, config: Any, where: str, fail: Fail) -> None:
    """Check ``config`` (the keyword arguments of ``cls``) key by key; ``fail(reason)`` builds the error.

    ``where`` names the config in messages, e.g. ``'layers'[0].config``.
    """
    if not isinstance(config, dict):
        raise fail(f"{where} must be a JSON object, found {_kind(config)}")
    if not _built_from_keywords(cls):
        return  # its own from_config maps the config to arguments: only the class knows how
    accepted = parameters(cls)
    for key in config:
        if key not in accepted:
            raise fail(
                f"{where} has the key {_short(key)}, which {cls.__name__} does not take "
                f"(it takes {', '.join(accepted) or 'no arguments'})"
            )
    for key, p in accepted.items():
        if key not in config:
            if p.required:
                raise fail(f"{where} has no {key!r}, which {cls.__name__} requires")
            continue
        check_value(config[key], p.hint, f"{where}.{key}", fail, _bound(cls, key))


def _built_from_keywords(cls: type) -> bool:
    """Whether a file's config reaches the constructor unchanged, as ``cls(**config)``.

    True for losses and optimizers (built so directly) and for layers, regularizers and
    schedules that keep the inherited ``from_config``; False for a user's class that
    overrides ``from_config`` to read its config some other way.
    """
    from .._configurable import Configurable
    from ..layers.base import Layer

    from_config = getattr(cls, "from_config", None)
    if from_config is None:
        return True
    return getattr(from_config, "__func__", None) in (
        Layer.from_config.__func__,
        Configurable.from_config.__func__,
    )


def check_value(value: Any, hint: Any, where: str, fail: Fail, bound: Bound | None = None) -> None:
    """Check one value against an annotation (and a range), recursing into nested configs."""
    if not _matches(value, hint):
        raise fail(f"{where} must be {_describe_hint(hint)}, found {_kind(value)} {_short(value)}")
    if bound is not None:
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, (int, float)) and not isinstance(item, bool) and not bound.holds(item):
                raise fail(f"{where} must be {bound}, found {_short(value)}")
    if isinstance(value, dict):
        registry = _registry_for(hint)
        if registry is not None:
            _check_serialized(value, registry, where, fail)


def _check_serialized(value: dict, registry: tuple[str, dict[str, type]], where: str, fail: Fail) -> None:
    """``{"class_name": ..., "config": {...}}`` of a regularizer or schedule, its config checked in turn."""
    what, table = registry
    if set(value) != {"class_name", "config"}:
        raise fail(f"{where} must be a {what} written as {{'class_name': ..., 'config': {{...}}}}")
    name = value["class_name"]
    if not isinstance(name, str) or name not in table:
        raise fail(
            f"{where}.class_name: unknown {what} {_short(name)}; tinynet's are {', '.join(sorted(table))}"
        )
    check_config(table[name], value["config"], f"{where}.config", fail)


def _registry_for(hint: Any) -> tuple[str, dict[str, type]] | None:
    """The fixed table that names the objects of a nested config, if ``hint`` admits one."""
    from .. import regularizers, schedules

    for h in _flatten(hint):
        if isinstance(h, type) and issubclass(h, regularizers.Regularizer):
            return "regularizer", regularizers.REGULARIZERS
        if h is collections.abc.Callable or typing.get_origin(h) is collections.abc.Callable:
            return "learning-rate schedule", schedules.SCHEDULES
    return None


def _flatten(hint: Any) -> list[Any]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [h for arg in typing.get_args(hint) for h in _flatten(arg)]
    return [hint]


def _matches(value: Any, hint: Any) -> bool:
    """Whether the JSON ``value`` is something the annotation ``hint`` admits."""
    if hint is Any:
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, h) for h in args)
    if hint is None or hint is type(None):
        return value is None
    if hint is bool:
        return type(value) is bool
    if hint is int:
        return type(value) is int and -_INT64 <= value < _INT64
    if hint is float:
        return type(value) is float or (type(value) is int and abs(value) < _INT64)
    if hint is str:
        return type(value) is str
    if hint is dict or origin is dict:
        return type(value) is dict
    if origin is typing.Literal:
        return any(type(value) is type(a) and value == a for a in args)
    if hint in _SEQUENCES or origin in _SEQUENCES:
        if type(value) is not list:
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(_matches(v, h) for v, h in zip(value, args, strict=True))
        return not args or all(_matches(v, args[0]) for v in value)
    if _registry_for(hint) is not None:
        return type(value) is dict
    return True  # a type JSON cannot hold (a user's class): the constructor decides


def _describe_hint(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(_describe_hint(h) for h in args))
    if hint is None or hint is type(None):
        return "null"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", dict: "an object"}
    if hint in names:
        return names[hint]
    if origin is dict:
        return "an object"
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if hint in _SEQUENCES or origin in _SEQUENCES:
        if origin is tuple and args and args[-1] is not Ellipsis:
            return f"a list of {len(args)} × {_describe_hint(args[0])}"
        return f"a list of {_describe_hint(args[0])} items" if args else "a list"
    registry = _registry_for(hint)
    if registry is not None:
        return f"a {registry[0]} object"
    return getattr(hint, "__name__", str(hint))


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "an integer" if type(value) is int else "a number"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
