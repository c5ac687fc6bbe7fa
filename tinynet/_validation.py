"""Argument checks shared by :class:`tinynet.Sequential` and the optimizers.

Every check runs before any work starts and raises ``TypeError`` for a value of
the wrong kind (a string, a float where a count is meant, a bool) and
``ValueError`` for a value of the right kind out of range, with a message that
names the argument, shows the value and says what is accepted.  Bools are
refused wherever a number is meant: ``True`` is an ``int`` to Python, but
``batch_size=True`` is always a mistake.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np


def _prefix(owner: str | None) -> str:
    return f"{owner}: " if owner else ""


def positive_int(value: Any, name: str, owner: str | None = None) -> int:
    """``value`` as an ``int`` >= 1 (a Python or NumPy integer; not a bool, a float or a string)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{_prefix(owner)}{name} must be a positive integer, got {value!r} ({type(value).__name__})"
        )
    if value < 1:
        raise ValueError(f"{_prefix(owner)}{name} must be a positive integer, got {value!r}")
    return int(value)


def real(
    value: Any,
    name: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    include_low: bool = True,
    include_high: bool = False,
    owner: str | None = None,
) -> float:
    """``value`` as a finite ``float`` in the interval from ``low`` to ``high``.

    Raises ``TypeError`` unless ``value`` is a real number (Python or NumPy; bools
    and strings are not), ``ValueError`` when it is NaN, infinite or outside the
    interval (``include_low``/``include_high`` close its ends).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{_prefix(owner)}{name} must be a number, got {value!r} ({type(value).__name__})")
    number = float(value)
    inside = math.isfinite(number)
    if inside and low > -math.inf:
        inside = number >= low if include_low else number > low
    if inside and high < math.inf:
        inside = number <= high if include_high else number < high
    if not inside:
        raise ValueError(
            f"{_prefix(owner)}{name} must be {_interval(low, high, include_low, include_high)}, got {value!r}"
        )
    return number


def _interval(low: float, high: float, include_low: bool, include_high: bool) -> str:
    if high == math.inf:
        if low == -math.inf:
            return "a finite number"
        return f"a finite number {'>=' if include_low else '>'} {low:g}"
    return f"in {'[' if include_low else '('}{low:g}, {high:g}{']' if include_high else ')'}"


def learning_rate(value: Any, owner: str | None = None) -> Any:
    """A learning rate as given: a schedule (any callable) passes, a number must be finite and >= 0."""
    if callable(value):
        return value
    return real(value, "learning_rate", low=0.0, owner=owner)


def verbose(value: Any) -> int:
    """``fit``'s ``verbose``: 0, 1, 2 or ``"auto"`` (= 1)."""
    if isinstance(value, str) and value == "auto":
        return 1
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Integral)
        or value not in (0, 1, 2)
    ):
        raise ValueError(
            f"verbose must be 0 (silent), 1 (progress bar), 2 (one line per epoch) or 'auto', got {value!r}"
        )
    return int(value)


def flag(value: Any, name: str) -> bool:
    """A yes/no argument: ``True``/``False`` (NumPy's too, and the integers 0 and 1)."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Integral) and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def sample_weights(value: Any, n: int, dtype: np.dtype, name: str = "sample_weight") -> np.ndarray:
    """Per-sample weights as a float array of shape (n,): finite and >= 0.

    Shapes (n,) and (n, 1) are accepted; any other shape is refused rather than
    flattened (a (n/2, 2) array has n numbers but not one per sample).
    """
    try:
        w = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, one per sample: {exc}") from None
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},): one weight per sample, got shape {w.shape}")
    finite = np.isfinite(w)
    if not finite.all():
        i = _first_bad(~finite)
        raise ValueError(f"{name} must be finite; sample {i} has weight {w[i]}")
    if (w < 0).any():
        i = _first_bad(w < 0)
        raise ValueError(f"{name} must be >= 0; sample {i} has weight {w[i]}")
    return w


def class_weights(value: Any) -> dict[int, float]:
    """``class_weight`` as ``{class index: weight}``: integer keys >= 0, finite weights >= 0."""
    if not isinstance(value, Mapping):
        raise TypeError(
            f"class_weight must be a dict {{class index: weight}}, e.g. {{0: 1.0, 1: 3.0}}; "
            f"got {type(value).__name__}"
        )
    weights: dict[int, float] = {}
    for key, weight in value.items():
        if isinstance(key, (bool, np.bool_)) or not isinstance(key, numbers.Integral) or key < 0:
            raise ValueError(f"class_weight keys must be class indices (integers >= 0), got {key!r}")
        weights[int(key)] = real(weight, f"class_weight[{key!r}]", low=0.0)
    return weights


def unit_interval_targets(y: np.ndarray, what: str = "binary cross-entropy targets") -> None:
    """Refuse targets outside [0, 1] (NaN included): the cross-entropy of such a target is no loss."""
    if y.size == 0:
        return
    # the ufuncs' reductions, not the np.min/np.max wrappers: a training step runs this on every batch
    low, high = np.minimum.reduce(y, axis=None), np.maximum.reduce(y, axis=None)
    if low >= 0 and high <= 1:  # False for NaN: a NaN anywhere makes min and max NaN
        return
    bad = ~((y >= 0) & (y <= 1))
    flat = np.flatnonzero(bad.reshape(-1))[0]
    index = np.unravel_index(flat, y.shape)
    raise ValueError(
        f"{what} must be in [0, 1] (probabilities of the positive class), found {y[index]} at index "
        f"{tuple(int(i) for i in index)}; rescale or relabel them (e.g. y = (y > 0).astype('float32'))"
    )
