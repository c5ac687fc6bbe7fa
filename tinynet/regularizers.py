r"""Weight penalties: L1, L2 and both, added to the loss and to its gradient.

A layer built with ``kernel_regularizer=tn.regularizers.l2(1e-4)`` makes the
model minimise

.. math:: J(\theta) = L(\theta) + \sum_{\text{regularized } W} R(W)

instead of the data loss :math:`L` alone.  The penalty :math:`R(W)` is added to
the loss that training reports (and that :meth:`~tinynet.Sequential.evaluate`
returns), and its gradient :math:`\partial R / \partial W` is added to the
layer's gradient after the backward pass, before the optimizer (and any
gradient clipping) runs.  The penalties are Keras', summed, not averaged,
over the entries of :math:`W`:

- ``L1(l1)``: :math:`R(W) = \lambda_1 \sum_i |W_i|`, gradient :math:`\lambda_1 \operatorname{sign}(W)`;
- ``L2(l2)``: :math:`R(W) = \lambda_2 \sum_i W_i^2`, gradient :math:`2 \lambda_2 W`;
- ``L1L2(l1, l2)``: :math:`R(W) = \lambda_1 \sum_i |W_i| + \lambda_2 \sum_i W_i^2`, gradient
  :math:`\lambda_1 \operatorname{sign}(W) + 2 \lambda_2 W`

(the subgradient 0 is used for :math:`|W_i|` at :math:`W_i = 0`).

Note the L2 convention: Keras' ``l2(lam)`` adds :math:`\lambda \sum W^2`, whose
gradient is :math:`2\lambda W`; "weight decay" with coefficient :math:`d` in
SGD (:math:`W \leftarrow W - \eta (g + d W)`) therefore equals ``l2(d / 2)``.

Saving.  Regularizers have :meth:`~Regularizer.get_config`; a layer's config holds
``{"class_name": "L2", "config": {"l2": 0.0001}}`` and :func:`get` turns that back
into an object by looking the name up in :data:`REGULARIZERS` only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._configurable import Configurable

__all__ = ["L1", "L1L2", "L2", "REGULARIZERS", "Regularizer", "get", "l1", "l1_l2", "l2", "serialize"]


def _coefficient(value: float, what: str) -> float:
    value = float(value)
    if not value >= 0:  # also rejects NaN
        raise ValueError(f"the {what} regularization factor must be >= 0, got {value!r}")
    return value


class Regularizer(Configurable):
    """Base class: a penalty :math:`R(W)` with its gradient.

    Subclasses implement :meth:`penalty` and :meth:`add_gradient` (and
    :meth:`get_config`).  Calling a regularizer returns its penalty, as in Keras.
    """

    def penalty(self, w: np.ndarray) -> float:
        """The penalty :math:`R(W)` (a Python float)."""
        raise NotImplementedError

    def add_gradient(self, w: np.ndarray, grad: np.ndarray) -> None:
        """Add :math:`\\partial R/\\partial W` to ``grad`` in place."""
        raise NotImplementedError

    def gradient(self, w: np.ndarray) -> np.ndarray:
        """:math:`\\partial R/\\partial W` as a new array."""
        grad = np.zeros_like(w)
        self.add_gradient(w, grad)
        return grad

    def __call__(self, w: np.ndarray) -> float:
        return self.penalty(w)


class L1(Regularizer):
    r"""Lasso penalty :math:`R(W) = \lambda_1 \sum_i |W_i|`, gradient :math:`\lambda_1 \operatorname{sign}(W)`.

    Its constant pull towards 0, whatever the size of :math:`W_i`, drives small
    weights to exactly zero (sparse weights).

    Parameters
    ----------
    l1 : float
        :math:`\lambda_1 \ge 0` (Keras' default 0.01).
    """

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = _coefficient(l1, "l1")

    def penalty(self, w):
        return self.l1 * float(np.add.reduce(np.abs(w), axis=None, dtype=np.float64))

    def add_gradient(self, w, grad):
        grad += self.l1 * np.sign(w)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    r"""Ridge penalty :math:`R(W) = \lambda_2 \sum_i W_i^2`, gradient :math:`2 \lambda_2 W`.

    Its pull towards 0 is proportional to the weight, so large weights shrink
    fast and small ones barely (small, spread-out weights).

    Parameters
    ----------
    l2 : float
        :math:`\lambda_2 \ge 0` (Keras' default 0.01).
    """

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _coefficient(l2, "l2")

    def penalty(self, w):
        flat = w.reshape(-1)
        return self.l2 * float(np.vdot(flat, flat))

    def add_gradient(self, w, grad):
        grad += (2.0 * self.l2) * w

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    r"""Elastic-net penalty :math:`R(W) = \lambda_1 \sum_i |W_i| + \lambda_2 \sum_i W_i^2`.

    Gradient :math:`\lambda_1 \operatorname{sign}(W) + 2 \lambda_2 W`.

    Parameters
    ----------
    l1, l2 : float
        :math:`\lambda_1, \lambda_2 \ge 0` (Keras 3's defaults: both 0).
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _coefficient(l1, "l1")
        self.l2 = _coefficient(l2, "l2")

    def penalty(self, w):
        flat = w.reshape(-1)
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.add.reduce(np.abs(flat), dtype=np.float64))
        if self.l2:
            total += self.l2 * float(np.vdot(flat, flat))
        return total

    def add_gradient(self, w, grad):
        if self.l1:
            grad += self.l1 * np.sign(w)
        if self.l2:
            grad += (2.0 * self.l2) * w

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


# Keras' lower-case spellings: tn.regularizers.l2(1e-4) builds an L2.
l1 = L1
l2 = L2
l1_l2 = L1L2

#: The regularizers a model file may name; loading looks names up here and nowhere else.
REGULARIZERS: dict[str, type[Regularizer]] = {"L1": L1, "L2": L2, "L1L2": L1L2}
_ALIASES: dict[str, type[Regularizer]] = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    """The ``{"class_name": ..., "config": ...}`` dict that :func:`get` turns back into ``regularizer``."""
    if regularizer is None:
        return None
    if not isinstance(regularizer, Regularizer):
        raise TypeError(f"expected a tinynet Regularizer, got {regularizer!r}")
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


def get(identifier: Regularizer | str | dict[str, Any] | None) -> Regularizer | None:
    """Return a regularizer for an instance, a name, or a serialized dict.

    Parameters
    ----------
    identifier : Regularizer, str, dict or None
        An instance is returned unchanged and None stays None; a name (``"l1"``,
        ``"l2"``, ``"l1_l2"`` or a class name of :data:`REGULARIZERS`) gives that
        regularizer with its default factor; a dict ``{"class_name": ...,
        "config": ...}`` (as :func:`serialize` writes) is rebuilt.

    Examples
    --------
    >>> get("l2")
    L2(l2=0.01)
    >>> get({"class_name": "L1", "config": {"l1": 0.001}})
    L1(l1=0.001)
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        if set(identifier) != {"class_name", "config"}:
            raise ValueError(
                "a serialized regularizer is a dict with keys 'class_name' and 'config', "
                f"got {sorted(identifier)}"
            )
        cls = REGULARIZERS.get(identifier["class_name"])
        if cls is None:
            raise ValueError(
                f"unknown regularizer {identifier['class_name']!r}; known: {', '.join(sorted(REGULARIZERS))}"
            )
        return cls.from_config(dict(identifier["config"]))
    if isinstance(identifier, str):
        cls = REGULARIZERS.get(identifier) or _ALIASES.get(identifier.lower())
        if cls is None:
            raise ValueError(
                f"unknown regularizer {identifier!r}; valid names: "
                f"{', '.join(sorted({*REGULARIZERS, 'l1', 'l2', 'l1_l2'}))}"
            )
        return cls()
    raise TypeError(
        f"a regularizer must be a tinynet Regularizer (e.g. tn.regularizers.l2(1e-4)), a name or a "
        f"serialized dict, got {identifier!r}; a plain function cannot be used because tinynet also "
        "needs its gradient: subclass tn.regularizers.Regularizer"
    )
