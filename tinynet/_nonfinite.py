"""A training step that would make the model NaN is not taken, and the error says why.

:meth:`tinynet.Sequential.train_step` checks the loss and the gradients *before*
the optimizer step: when either is NaN or infinite it raises
:class:`NonFiniteStepError` and the model stays exactly as it was (weights,
optimizer moments and counter, a batch normalization's running averages).  The
check is one dot product, :math:`\\sum g^2` over the flat gradient buffer: it is
finite exactly when every gradient is (squares cannot cancel), unless it
overflows, and only then are the gradients checked one by one.

The message tells the cause apart, because the advice differs: NaN or infinite
values in the batch itself (clean the data), weights that were non-finite
before the step (restore them), or finite data and weights (the model diverged:
lower the learning rate, standardize the inputs, clip the gradients).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class NonFiniteStepError(FloatingPointError):
    """The loss or the gradients of a training step were NaN or infinite; the step was not taken.

    Attributes
    ----------
    loss : float
        The batch loss (finite when only the gradients were not).
    cause : str
        What was found and what to do, for :meth:`tinynet.Sequential.fit` to quote.
    """

    def __init__(self, message: str, loss: float, cause: str) -> None:
        super().__init__(message)
        self.loss, self.cause = loss, cause


def _nonfinite_rows(a: Any) -> np.ndarray | None:
    """Indices of the rows of ``a`` holding NaN or infinite values (None if it is not a float array)."""
    a = np.asarray(a)
    if a.dtype.kind not in "fc" or a.ndim == 0:
        return None
    return np.flatnonzero(~np.isfinite(a.reshape(len(a), -1)).all(axis=1))


def _list(items: Any, limit: int = 5) -> str:
    items = list(items)
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def explain(
    model: Any, x: Any, y: Any, sample_weight: Any, loss: float, rows: np.ndarray | None = None
) -> str:
    """Why a step's loss or gradients were not finite, and what to do.

    ``rows`` maps the batch's rows to sample numbers of the caller's data (fit's
    shuffled order); without it the batch's own row numbers are given.
    """
    for name, array, what in (
        ("x", x, "inputs"),
        ("y", y, "targets"),
        ("sample_weight", sample_weight, "sample weights"),
    ):
        if array is None:
            continue
        bad = _nonfinite_rows(array)
        if bad is not None and bad.size:
            samples = bad if rows is None else np.asarray(rows)[bad]
            where = "of the batch" if rows is None else f"of {name}"
            return (
                f"the batch's {what} hold NaN or infinite values (samples {_list(samples)} {where}); "
                f"remove or replace them before training, e.g. keep = np.isfinite({name}).reshape(len({name}), -1)"
                ".all(axis=1)"
            )
    broken = [key for key, p in model.named_params().items() if not np.isfinite(p).all()]
    if broken:
        return (
            f"the model's weights were already NaN or infinite before this step ({_list(broken)}): "
            "they were set so (set_weights, a file loaded with allow_nonfinite=True) or an update overflowed; "
            "restore them from a checkpoint"
        )
    bad_grads = [key for key, g in model.named_grads().items() if not np.isfinite(g).all()]
    advice = (
        f"lower the learning rate (it is {model.optimizer.current_learning_rate():g}), standardize the inputs "
        "(tn.datasets.Standardizer), or clip the gradients (e.g. clipnorm=1.0)"
    )
    largest = float(np.max(np.abs(x))) if np.size(x) and np.asarray(x).dtype.kind == "f" else 0.0
    scale = f" (the batch's inputs reach {largest:.3g} in absolute value)" if largest > 1e3 else ""
    if math.isfinite(loss):
        return (
            f"the gradients of {_list(bad_grads)} hold NaN or infinite values although the loss "
            f"({loss:g}) and the data are finite: a backward pass overflowed{scale}; {advice}"
        )
    return f"the data and the weights are finite, so the model diverged{scale}: {advice}"
