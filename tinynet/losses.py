r"""Loss functions with their gradients derived by hand.

Every loss follows Keras' argument order: ``loss.forward(y_true, y_pred)``
returns the mean loss over the batch (a Python float), and ``loss.backward()``
returns :math:`\partial L / \partial \hat y`, an array shaped like ``y_pred``.

Reduction.  Each loss first computes a per-sample loss :math:`\ell_n` (for
element-wise losses, the mean over the last axis, as Keras does), then

.. math:: L = \frac{1}{N} \sum_{n=1}^{N} w_n \ell_n ,

with sample weights :math:`w_n = 1` unless ``sample_weight`` is given.  The
:math:`1/N` (and the :math:`w_n`) therefore appear in every gradient below,
and for element-wise losses the :math:`1/D` of the per-sample mean too.

Sequences.  For predictions with positions, (N, T, K) against targets (N, T, K) or (N, T),
the cross-entropies average over the :math:`M = NT` positions, :math:`\ell_n` being the
mean over sample :math:`n`'s :math:`T` positions: the normalizer of every gradient below is
then :math:`M`, not :math:`N` (the fused one is :math:`w_n (p - t)/M`), and with
``SparseCategoricalCrossentropy(ignore_class=...)`` :math:`M` counts only the unmasked
positions.

Fused, stable forms.  A sigmoid followed by binary cross-entropy, or a softmax
followed by categorical cross-entropy, has the remarkably simple gradient with
respect to the *logits* :math:`z` (the activation's input): :math:`p - y`
times :math:`w_n`, divided by the number of terms the loss averages,

.. math::
    \frac{\partial L}{\partial z} = \frac{w_n}{N}\,(p - y)\ \ \text{(softmax, } (N, K)\text{)}, \qquad
    \frac{w_n}{N D}\,(p - y)\ \ \text{(sigmoid, } D \text{ outputs)}, \qquad
    \frac{w_n}{N T}\,(p - y)\ \ \text{(softmax over a sequence, } (N, T, K)\text{)},

with :math:`p = \sigma(z)` or :math:`\mathrm{softmax}(z)` and :math:`y` the targets.

Computing it this way is both cheaper and numerically safer than chaining
:math:`\partial L/\partial p = -y/p + \dots` (which divides by probabilities
that round to 0 in float32) through the activation's Jacobian.  The loss value
is computed from the logits too, with the log-sum-exp trick, so it stays finite
for logits of any size.  ``from_logits=True`` selects these forms explicitly;
a :class:`tinynet.Sequential` whose last activation is sigmoid or softmax uses
them automatically.

A model's fused head.  When a model's output activation is the sigmoid or
softmax a cross-entropy expects, its training output is a
:class:`tinynet.engine.HeadOutput`: the probabilities, carrying their logits
and log-normalizer.  The cross-entropies then compute the loss from those
(:mod:`tinynet.ops.losses`) and :meth:`Loss.backward` returns the gradient with
respect to the logits, a :class:`tinynet.engine.LogitGradient` written into
the head's work array, whatever ``from_logits`` says (which describes plain
arrays).  The gradient is bit for bit the one of ``from_logits=True`` on the
logits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _validation, ops
from .engine import HeadOutput

#: Probabilities are clipped to [EPSILON, 1 - EPSILON] before taking logs (as Keras).
EPSILON = 1e-7


class Loss:
    """Base class: subclasses implement :meth:`per_sample` and :meth:`_grad`."""

    name = ""
    #: The activation whose output this loss can consume through the fused form.
    fusable_activation: str | None = None

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = bool(from_logits)
        self._head: HeadOutput | None = None  # the fused head's output of the last forward, if any
        self._fused = False  # whether the last forward worked on logits (the fused form)

    def _logits_of(self, y_pred) -> np.ndarray | None:
        """The logits the fused form works on: a matching :class:`~tinynet.engine.HeadOutput`'s
        (their log-normalizer then in ``self._A``), or ``y_pred`` itself with ``from_logits``;
        None for the general path."""
        self._head, self._fused, self._A = None, False, None
        if (
            type(y_pred) is HeadOutput
            and y_pred.head is not None
            and y_pred.head.kind == self.fusable_activation
        ):
            self._head = y_pred
            z, self._A = y_pred.logits_and_log_normalizer()
            return z
        if self.from_logits and self.fusable_activation is not None:
            y_pred = np.asarray(y_pred)
            if y_pred.ndim:
                return y_pred if y_pred.dtype.kind == "f" else y_pred.astype(np.float64)
        return None

    def forward(
        self,
        y_true: np.ndarray,
        y_pred: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> float:
        r"""Return the (weighted) mean loss and remember what :meth:`backward` needs.

        ``y_pred`` may be a fused head's :class:`~tinynet.engine.HeadOutput`
        (a model's training output): the cross-entropies then work on its
        logits (module docstring).
        """
        y_true, y_pred = self._check(y_true, np.asarray(y_pred))
        self._head, self._fused = None, False
        self.y_true, self.y_pred = y_true, y_pred
        self.n = y_pred.shape[0]
        self.sample_weight = None if sample_weight is None else self._check_weight(sample_weight, y_pred)
        per_sample = self.per_sample(y_true, y_pred)
        if self.sample_weight is not None:
            per_sample = per_sample * self.sample_weight
        return float(np.add.reduce(per_sample, axis=None, dtype=np.float64) / self.n)

    def __call__(
        self, y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        """``loss(y_true, y_pred)``, Keras' spelling of :meth:`forward` (the subclass's own)."""
        return self.forward(y_true, y_pred, sample_weight)

    def backward(self) -> np.ndarray:
        """Return :math:`\\partial L/\\partial \\hat y` for the last :meth:`forward` call."""
        grad = self._grad(self.y_true, self.y_pred)
        if self.sample_weight is not None:
            grad *= self.sample_weight.reshape((-1,) + (1,) * (grad.ndim - 1))
        return grad

    def per_sample(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """Per-sample losses :math:`\\ell_n`, shape (N,)."""
        raise NotImplementedError

    def _grad(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """JSON-able constructor arguments."""
        return {"from_logits": self.from_logits} if self.fusable_activation else {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    # -- input checks -----------------------------------------------------
    def _check(self, y_true, y_pred):
        if type(y_true) is np.ndarray and y_true.shape == y_pred.shape and y_true.dtype == y_pred.dtype:
            return y_true, y_pred  # a training loop's batch: nothing to convert
        y_pred = np.asarray(y_pred)
        y_true = np.asarray(y_true)
        if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
            y_true = y_true.reshape(y_pred.shape)  # (N,) targets for an (N, 1) output
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{type(self).__name__}: y_true has shape {y_true.shape} but y_pred has shape "
                f"{y_pred.shape}; they must match"
                + (" (use sparse_categorical_crossentropy for integer labels)" if y_true.ndim == 1 else "")
            )
        return y_true.astype(y_pred.dtype, copy=False), y_pred

    @staticmethod
    def _check_weight(sample_weight, y_pred):
        return _validation.sample_weights(sample_weight, y_pred.shape[0], y_pred.dtype)

    def _mean_last(self, values: np.ndarray) -> np.ndarray:
        if values.ndim <= 1:
            return values
        flat = values.reshape(values.shape[0], -1)
        return np.add.reduce(flat, axis=1) / flat.shape[1]  # .mean(axis=1) without its wrapper

    def _elements_per_sample(self, y_pred: np.ndarray) -> int:
        return math.prod(y_pred.shape[1:])


class MeanSquaredError(Loss):
    r"""Mean squared error, the mean over every element.

    .. math:: \ell_n = \frac{1}{D}\sum_d (\hat y_{nd} - y_{nd})^2, \qquad
              \frac{\partial L}{\partial \hat y_{nd}} = \frac{2}{N D} (\hat y_{nd} - y_{nd}).

    Shapes: ``y_true`` and ``y_pred`` (N, ...) with D elements per sample.
    """

    name = "mse"

    def per_sample(self, y_true, y_pred):
        return self._mean_last(np.square(y_pred - y_true))

    def _grad(self, y_true, y_pred):
        return (y_pred - y_true) * (2.0 / (self.n * self._elements_per_sample(y_pred)))


class MeanAbsoluteError(Loss):
    r"""Mean absolute error.

    .. math:: \ell_n = \frac{1}{D}\sum_d |\hat y_{nd} - y_{nd}|, \qquad
              \frac{\partial L}{\partial \hat y_{nd}} = \frac{\operatorname{sign}(\hat y_{nd} - y_{nd})}{N D}.

    The derivative at :math:`\hat y = y` is taken as 0.
    """

    name = "mae"

    def per_sample(self, y_true, y_pred):
        return self._mean_last(np.abs(y_pred - y_true))

    def _grad(self, y_true, y_pred):
        return np.sign(y_pred - y_true) * (1.0 / (self.n * self._elements_per_sample(y_pred)))


class BinaryCrossentropy(Loss):
    r"""Binary cross-entropy for targets :math:`y \in [0, 1]`.

    From probabilities :math:`p` (clipped to :math:`[\epsilon, 1-\epsilon]`,
    :math:`\epsilon = 10^{-7}`, so that :math:`\log 0` never happens):

    .. math:: \ell_n = -\frac{1}{D}\sum_d \big[y \log p + (1 - y)\log(1 - p)\big], \qquad
              \frac{\partial L}{\partial p} = \frac{1}{N D}\,\frac{p - y}{p (1 - p)}

    (zero where the clip is active: that is the derivative of what is computed).

    From logits :math:`z` (``from_logits=True``), with :math:`p = \sigma(z)`,
    :math:`\log p = -\log(1 + e^{-z})` and :math:`\log(1-p) = -z - \log(1+e^{-z})`, so

    .. math:: \ell = \max(z, 0) - z y + \log\!\big(1 + e^{-|z|}\big), \qquad
              \frac{\partial L}{\partial z} = \frac{\sigma(z) - y}{N D},

    where the rewritten form never exponentiates a positive number.  The
    fused gradient is divided by :math:`N D`, all the terms averaged, and is
    :math:`(p - y)/N` only for one output per sample (:math:`D = 1`).
    """

    name = "binary_crossentropy"
    fusable_activation = "sigmoid"

    def _check(self, y_true, y_pred):
        y_true, y_pred = super()._check(y_true, y_pred)
        _validation.unit_interval_targets(y_true, "BinaryCrossentropy: targets")
        return y_true, y_pred

    def forward(self, y_true, y_pred, sample_weight=None, *, targets_checked: bool = False) -> float:
        """The mean loss.  Targets outside [0, 1] (NaN included) raise ``ValueError``: their
        cross-entropy is unbounded below, no loss to minimise (checked in ``_check``).

        ``targets_checked=True`` promises that every target is in [0, 1]: :meth:`Model.fit
        <tinynet.models.Sequential.fit>` checks all of them once before the first step and passes
        it, so that a fused head's training step does not scan its batch's targets again.
        """
        z = self._logits_of(y_pred)
        if z is None:
            return super().forward(y_true, y_pred, sample_weight)
        t, z = super()._check(y_true, z) if targets_checked else self._check(y_true, z)
        self._fused = True
        A = ops.softplus(z) if self._A is None else self._A
        self.y_true, self.y_pred, self.n = t, z, len(z)
        self.sample_weight = None if sample_weight is None else self._check_weight(sample_weight, z)
        if self.sample_weight is None:  # the mean over every element: sum(A - z t) / size
            return (float(np.add.reduce(A, axis=None)) - float(np.vdot(z, t))) / z.size
        per_sample = self._mean_last(ops.sigmoid_cross_entropy(z, t, A)) * self.sample_weight
        return float(np.add.reduce(per_sample, axis=None, dtype=np.float64) / self.n)

    def backward(self) -> np.ndarray:
        if not self._fused:
            return super().backward()
        z, head = self.y_pred, self._head
        if head is None:
            return ops.cross_entropy_logits_grad(ops.sigmoid(z), self.y_true, self._scale(z))
        out = head.gradient  # dL/dz, marked as such; computed in its plain form (LogitGradient)
        ops.cross_entropy_logits_grad(head.probabilities, self.y_true, self._scale(z), out=out.plain)
        return out

    def _scale(self, z: np.ndarray) -> float | np.ndarray:
        """The reduction's :math:`w_n / (N D)`, broadcasting against ``z``."""
        scale = 1.0 / z.size  # N D
        if self.sample_weight is None:
            return scale
        return (self.sample_weight * scale).reshape((-1,) + (1,) * (z.ndim - 1))

    def per_sample(self, y_true, y_pred):
        if self.from_logits:
            values = ops.sigmoid_cross_entropy(y_pred, y_true)
        else:
            p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
            values = -(y_true * np.log(p) + (1.0 - y_true) * np.log1p(-p))
        return self._mean_last(values)

    def _grad(self, y_true, y_pred):
        scale = 1.0 / (self.n * self._elements_per_sample(y_pred))
        if self.from_logits:
            return (ops.sigmoid(y_pred) - y_true) * scale
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        inside = (y_pred > EPSILON) & (y_pred < 1.0 - EPSILON)
        return np.where(inside, (p - y_true) / (p * (1.0 - p)) * scale, 0.0).astype(y_pred.dtype)


log_softmax = ops.log_softmax
softmax = ops.softmax


class CategoricalCrossentropy(Loss):
    r"""Categorical cross-entropy for one-hot (or probability) targets over the last axis.

    From probabilities (clipped to :math:`[\epsilon, 1-\epsilon]`):

    .. math:: \ell_n = -\sum_k y_{nk} \log p_{nk}, \qquad
              \frac{\partial L}{\partial p_{nk}} = -\frac{1}{N}\,\frac{y_{nk}}{p_{nk}}.

    From logits (``from_logits=True``), with :math:`\log p = z - \mathrm{LSE}(z)`:

    .. math:: \ell_n = -\sum_k y_{nk} \Big(z_{nk} - \log\sum_j e^{z_{nj}}\Big), \qquad
              \frac{\partial L}{\partial z_{nk}} = \frac{1}{N}\Big(p_{nk} \sum_j y_{nj} - y_{nk}\Big),

    which is the famous :math:`(p - y)/N` when each target row sums to 1.  Extra
    middle axes count like samples: for a sequence :math:`(N, T, K)` the
    gradient is :math:`(p - y)/(N T)`.
    The log-sum-exp is evaluated after subtracting :math:`\max_j z_{nj}`.
    """

    name = "categorical_crossentropy"
    fusable_activation = "softmax"

    #: Whether every target row is known to sum to 1, so that the fused gradient is
    #: :math:`(p - y)/N` without the row sums :math:`r` (see :meth:`forward`).
    rows_sum_to_one = False

    def forward(self, y_true, y_pred, sample_weight=None, *, rows_sum_to_one: bool = False) -> float:
        """The mean loss.  ``rows_sum_to_one=True`` promises that every row of ``y_true``
        sums to exactly 1 (one-hot labels, smoothed labels): the gradient from logits then
        skips :math:`r` (``fit`` checks its targets once and passes it; it changes no bit)."""
        z = self._logits_of(y_pred)
        if z is None or z.ndim < 2:
            return super().forward(y_true, y_pred, sample_weight)
        t, z = self._check(y_true, z)
        self._fused = True
        s, A = ops.logsumexp(z) if self._A is None else (z, self._A)
        self.y_true, self.y_pred, self.n = t, z, len(z)
        self.sample_weight = None if sample_weight is None else self._check_weight(sample_weight, z)
        self._unit_rows = rows_sum_to_one or self.rows_sum_to_one
        count = z.size // z.shape[-1]  # rows: N times the positions per sample
        if self.sample_weight is None:  # -log p_k = A - s_k, each term >= 0
            return float(np.vdot(t, A - s)) / count
        per_row = ops.softmax_cross_entropy(s, t, A).reshape(self.n, -1)
        per_sample = np.add.reduce(per_row, axis=1) / per_row.shape[1] * self.sample_weight
        return float(np.add.reduce(per_sample, axis=None, dtype=np.float64) / self.n)

    def backward(self) -> np.ndarray:
        if not self._fused:
            return super().backward()
        z, head = self.y_pred, self._head
        count = z.size // z.shape[-1]  # rows: N times the positions per sample
        scale = 1.0 / count
        if self.sample_weight is not None:
            scale = (self.sample_weight / count).reshape((-1,) + (1,) * (z.ndim - 1))
        if head is None:
            return ops.cross_entropy_logits_grad(ops.softmax(z), self.y_true, scale, self._unit_rows)
        out = head.gradient  # dL/dz, marked as such; computed in its plain form (LogitGradient)
        ops.cross_entropy_logits_grad(head.probabilities, self.y_true, scale, self._unit_rows, out=out.plain)
        return out

    def per_sample(self, y_true, y_pred):
        if self.from_logits:
            logp = log_softmax(y_pred)
        else:
            logp = np.log(np.clip(y_pred, EPSILON, 1.0 - EPSILON))
        values = -(y_true * logp).sum(axis=-1)
        return values.reshape(values.shape[0], -1).sum(axis=1) / max(1, values[0].size)

    def _grad(self, y_true, y_pred):
        scale = 1.0 / (self.n * self._positions_per_sample(y_pred))
        if self.from_logits:
            return ops.cross_entropy_logits_grad(ops.softmax(y_pred), y_true, scale, unit_rows=False)
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        inside = (y_pred > EPSILON) & (y_pred < 1.0 - EPSILON)
        return np.where(inside, -y_true / p * scale, 0.0).astype(y_pred.dtype)

    @staticmethod
    def _positions_per_sample(y_pred):
        return math.prod(y_pred.shape[1:-1])


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    r"""Categorical cross-entropy with integer class labels, on single predictions or sequences.

    ``y_true`` holds class indices of shape (N,) (or (N, 1)) for predictions (N, V), or (N, T) for
    sequences of predictions (N, T, V) (a language model's next-token targets); it is the same
    loss as :class:`CategoricalCrossentropy` with the one-hot targets :math:`y_{n,t,k} = [k = c_{n,t}]` for the labels :math:`c_{n,t}`. Over
    the :math:`M` predicted positions (:math:`M = N` for (N, V), :math:`M = NT` for (N, T, V)):

    .. math::

        L = \frac{1}{M} \sum_{(n,t)} w_n\, \big(-\log p_{n,t,c_{n,t}}\big), \qquad
        \frac{\partial L}{\partial z_{n,t,k}} = \frac{w_n}{M}\,\big(p_{n,t,k} - [k = c_{n,t}]\big)

    from logits (or through a model's fused softmax head), :math:`w_n = 1` without ``sample_weight``.
    The normalizer is the number of *positions* :math:`M`, not the batch size :math:`N`: the loss is the
    mean negative log-likelihood per predicted token, in nats.

    ``ignore_class`` (Keras' argument) masks the positions whose label equals it, typically the
    padding after a short sequence: they get no loss and no gradient, and :math:`M` counts only the
    other positions, so the loss is the mean over the real predictions (as Keras). A batch with no
    unmasked position has loss 0 and a zero gradient. Masked labels need not be valid classes
    (``ignore_class=-1`` is common).

    Parameters
    ----------
    from_logits : bool
        ``y_pred`` holds logits instead of probabilities.
    ignore_class : int, optional
        The label of positions to leave out of the loss.
    """

    name = "sparse_categorical_crossentropy"
    rows_sum_to_one = True  # one-hot rows, built from the labels

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None) -> None:
        super().__init__(from_logits)
        if ignore_class is not None and (
            isinstance(ignore_class, (bool, np.bool_)) or not isinstance(ignore_class, (int, np.integer))
        ):
            raise TypeError(
                f"SparseCategoricalCrossentropy: ignore_class must be an integer label or None, got {ignore_class!r}"
            )
        self.ignore_class = None if ignore_class is None else int(ignore_class)
        self._mask: np.ndarray | None = None

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self.ignore_class is not None:
            config["ignore_class"] = self.ignore_class
        return config

    def _mask_factor(self) -> float:
        """:math:`NT/M`: turns the parent's mean over all positions into the mean over the unmasked."""
        valid = int(np.count_nonzero(self._mask))
        return 0.0 if valid == 0 else self._mask.size / valid

    def forward(self, y_true, y_pred, sample_weight=None, *, rows_sum_to_one: bool = False) -> float:
        """The mean loss over the (unmasked) positions; see the class docstring."""
        self._mask = None
        loss = super().forward(y_true, y_pred, sample_weight, rows_sum_to_one=rows_sum_to_one)
        if self._mask is None:
            return loss
        # masked rows of the one-hot targets are zero, so the parent's sum holds only the
        # unmasked positions; its normalizer NT becomes M
        return loss * self._mask_factor()

    def backward(self) -> np.ndarray:
        grad = super().backward()
        if self._mask is not None:
            # the fused p - t is p on a masked (all-zero) row: zero it, and rescale 1/(NT) to 1/M
            grad *= (self._mask * self._mask_factor()).astype(grad.dtype)[..., None]
        return grad

    def _check(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        labels = np.asarray(y_true)
        if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
            labels = labels[..., 0]
        if labels.shape != y_pred.shape[:-1]:
            raise ValueError(
                f"SparseCategoricalCrossentropy: expected integer labels of shape {y_pred.shape[:-1]} "
                f"for predictions of shape {y_pred.shape}, got {labels.shape}"
                + (
                    " (use categorical_crossentropy for one-hot targets)"
                    if labels.shape == y_pred.shape
                    else ""
                )
            )
        if labels.size and not np.array_equal(labels, np.round(labels)):
            raise ValueError("SparseCategoricalCrossentropy: labels must be whole numbers (class indices)")
        labels = labels.astype(np.intp)
        k = y_pred.shape[-1]
        ignore = getattr(self, "ignore_class", None)
        valid = labels if ignore is None else labels[labels != ignore]
        if valid.size and (valid.min() < 0 or valid.max() >= k):
            raise ValueError(
                f"SparseCategoricalCrossentropy: labels must be in [0, {k - 1}] for {k} outputs"
                + ("" if ignore is None else f" (or ignore_class={ignore})")
                + f", got values from {valid.min()} to {valid.max()}"
            )
        one_hot = np.zeros(y_pred.shape, dtype=y_pred.dtype)
        if ignore is None:
            np.put_along_axis(one_hot, labels[..., None], 1.0, axis=-1)
        else:
            self._mask = labels != ignore
            np.put_along_axis(one_hot, np.where(self._mask, labels, 0)[..., None], 1.0, axis=-1)
            one_hot *= self._mask[..., None]  # a masked position's target row is all zeros
        return one_hot, y_pred


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls
    for cls in (
        MeanSquaredError,
        MeanAbsoluteError,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
    )
}
_ALIASES = {"mean_squared_error": "mse", "mean_absolute_error": "mae"}


def get(identifier: str | Loss) -> Loss:
    """Return a loss object for a name (see :data:`LOSSES`) or pass a Loss through."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    name = _ALIASES.get(identifier, identifier) if isinstance(identifier, str) else identifier
    try:
        return LOSSES[name]()
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {identifier!r}; valid names: {', '.join(sorted(LOSSES))}") from None


def from_name(name: str, config: dict | None = None) -> Loss:
    """Rebuild a loss from its name and :meth:`Loss.get_config` (used by model files)."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; valid names: {', '.join(sorted(LOSSES))}")
    return LOSSES[name](**(config or {}))
