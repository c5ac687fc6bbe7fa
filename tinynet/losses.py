r"""Loss functions with their gradients derived by hand.

Every loss follows Keras' argument order: ``loss.forward(y_true, y_pred)``
returns the mean loss over the batch (a Python float), and ``loss.backward()``
returns :math:`\partial L / \partial \hat y`, an array shaped like ``y_pred``.

Reduction.  Each loss first computes a per-sample loss :math:`\ell_n` (for
element-wise losses, the mean over the last axis, as Keras does), then

.. math:: L = \frac{1}{N} \sum_{n=1}^{N} w_n \ell_n ,

with sample weights :math:`w_n = 1` unless ``sample_weight`` is given.  The
:math:`1/N` (and the :math:`w_n`) therefore appear in every gradient below.

Fused, stable forms.  A sigmoid followed by binary cross-entropy, or a softmax
followed by categorical cross-entropy, has the remarkably simple gradient with
respect to the *logits* :math:`z` (the activation's input)

.. math:: \frac{\partial L}{\partial z} = \frac{w_n}{N}\,(p - t), \qquad p = \sigma(z)\ \text{or}\ \mathrm{softmax}(z).

Computing it this way is both cheaper and numerically safer than chaining
:math:`\partial L/\partial p = -t/p + \dots` (which divides by probabilities
that round to 0 in float32) through the activation's Jacobian.  The loss value
is computed from the logits too, with the log-sum-exp trick, so it stays finite
for logits of any size.  ``from_logits=True`` selects these forms explicitly;
a :class:`tinynet.Sequential` whose last activation is sigmoid or softmax uses
them automatically.

Speed.  Without sample weights, the fused forms (``from_logits=True``) compute
the same formulas with ``out=`` into work arrays kept between calls: the loss
is at most three reductions over all elements (a subtraction and one dot
product when the caller passes its head's log-normalizer), and
:meth:`Loss.backward` reuses what ``forward`` computed (:math:`e^{-|z|}`, or
the exponentials and their sums), or the probabilities themselves when the
caller passes them (the model passes its sigmoid's or softmax's output).  The gradients are bit-identical to the
general path's; the loss value may differ in the last bits (summation order).
A model checks its training batch itself and calls :meth:`Loss.fused_forward`
(the same computation without ``forward``'s argument checks), and it lets its
private fused loss return its gradient in a work array
(:attr:`Loss.reuse_gradient`), so a training step allocates nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _validation
from .layers.activations import stable_sigmoid
from .layers.base import remember

#: Probabilities are clipped to [EPSILON, 1 - EPSILON] before taking logs (as Keras).
EPSILON = 1e-7


class Loss:
    """Base class: subclasses implement :meth:`per_sample` and :meth:`_grad`."""

    name = ""
    #: The activation whose output this loss can consume through the fused form.
    fusable_activation: str | None = None
    #: Whether the fused :meth:`backward` may return a work array that its next call
    #: overwrites, instead of a fresh one.  The model sets it on its private fused loss,
    #: which nobody else calls, so that a training step allocates nothing.
    reuse_gradient = False

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = bool(from_logits)
        self._buffers: dict[str, np.ndarray] = {}  # key -> the work array of the last call
        self._scratch: dict[tuple, np.ndarray] = {}  # (key, shape, dtype) -> work array
        self._work_for: dict[str, tuple] = {}  # key -> (the last z, its work array)
        self._fast = False  # whether the last forward took the allocation-free logits path
        self._probabilities: np.ndarray | None = None

    def _work(self, key: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """A reusable scratch array (contents undefined), one per key and batch shape."""
        buf = self._scratch.get((key, shape, dtype))
        if buf is None:
            buf = remember(self._scratch, (key, shape, dtype), np.empty(shape, dtype=dtype))
        self._buffers[key] = buf  # the one of the last call, for backward
        return buf

    def _work_like(self, key: str, z: np.ndarray) -> np.ndarray:
        """:meth:`_work` shaped like ``z``, looked up once while ``z`` is the same work array
        (the model's logits, step after step)."""
        last = self._work_for.get(key)
        if last is None or last[0] is not z:
            last = self._work_for[key] = (z, self._work(key, z.shape, z.dtype))
        return last[1]

    def _gradient_array(self, z: np.ndarray) -> np.ndarray:
        """The array the fused :meth:`backward` writes into: fresh, or with :attr:`reuse_gradient`
        a work array."""
        return self._work_like("grad", z) if self.reuse_gradient else np.empty_like(z)

    def _start_fast(
        self, y_true, y_pred, sample_weight, probabilities=None, log_normalizer=None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None] | None:
        """The checked arguments of :meth:`fused_forward` ``(t, z, probabilities, log_normalizer)``
        when the fused logits path applies (unweighted, floating, non-empty), else None.

        ``probabilities`` (the activation of ``z``, from the caller) is passed on when its
        shape and dtype match; ``log_normalizer`` with it when its dtype matches.
        """
        self._fast = False
        if not self.from_logits or sample_weight is not None:
            return None
        if (
            type(y_true) is np.ndarray
            and type(y_pred) is np.ndarray
            and y_true.shape == y_pred.shape
            and y_true.dtype == y_pred.dtype
        ):
            t, z = y_true, y_pred  # what _check would return, without its conversions
        else:
            t, z = self._check(y_true, y_pred)
        if z.size == 0 or z.ndim == 0 or z.dtype.kind != "f":
            return None
        p = A = None
        if probabilities is not None and probabilities.shape == z.shape and probabilities.dtype == z.dtype:
            p = probabilities
            if log_normalizer is not None and log_normalizer.dtype == z.dtype:
                A = log_normalizer
        return t, z, p, A

    def fused_forward(
        self,
        y_true: np.ndarray,
        logits: np.ndarray,
        probabilities: np.ndarray | None = None,
        log_normalizer: np.ndarray | None = None,
        rows_sum_to_one: bool = False,
    ) -> float:
        """The fused loss from logits, without :meth:`forward`'s argument checks (no sample weights).

        For a caller that has checked its arrays already: ``y_true`` and ``logits``
        share one shape (with a batch axis) and one floating dtype and are not
        empty; ``probabilities`` and ``log_normalizer``, when given, are the
        head's own (see :meth:`forward`).  :class:`tinynet.Sequential` calls it on
        every training step with its head's ``loss_logits()`` (for a softmax, the
        logits shifted by their row maxima, which leaves the loss unchanged, and
        their log-normalizer); :meth:`backward` then works as after :meth:`forward`.
        Only the losses with a :attr:`fusable_activation` implement it.
        """
        raise NotImplementedError(f"{type(self).__name__} has no fused form")

    def _remember_fused(self, t: np.ndarray, z: np.ndarray, probabilities: np.ndarray | None) -> None:
        """What the fused :meth:`backward` reads."""
        self.y_true, self.y_pred, self.n, self.sample_weight = t, z, len(z), None
        self._probabilities = probabilities
        self._fast = True

    def forward(
        self,
        y_true: np.ndarray,
        y_pred: np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        probabilities: np.ndarray | None = None,
        log_normalizer: np.ndarray | None = None,
    ) -> float:
        r"""Return the (weighted) mean loss and remember what :meth:`backward` needs.

        ``probabilities``, when ``y_pred`` are logits, is their sigmoid or softmax
        if the caller has it already (the model passes its head's output); the
        fused cross-entropies reuse it in :meth:`backward`, other losses ignore it.
        ``log_normalizer`` likewise passes the head's log-normalizer :math:`A(z)`:
        the softmax's :math:`\log\sum_j e^{z_j}` per row, or the sigmoid's
        :math:`\log(1 + e^z)` (see :meth:`tinynet.layers.Softmax.log_normalizer`
        and :meth:`tinynet.layers.Sigmoid.log_normalizer`), which the fused
        cross-entropies then do not recompute.
        """
        y_true, y_pred = self._check(y_true, y_pred)
        self.y_true, self.y_pred = y_true, y_pred
        self.n = y_pred.shape[0]
        self.sample_weight = None if sample_weight is None else self._check_weight(sample_weight, y_pred)
        per_sample = self.per_sample(y_true, y_pred)
        if self.sample_weight is not None:
            per_sample = per_sample * self.sample_weight
        return float(np.add.reduce(per_sample, axis=None, dtype=np.float64) / self.n)

    __call__ = forward

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
        return int(np.prod(y_pred.shape[1:])) if y_pred.ndim > 1 else 1


class MeanSquaredError(Loss):
    r"""Mean squared error, the mean over every element.

    .. math:: \ell_n = \frac{1}{D}\sum_d (\hat y_{nd} - t_{nd})^2, \qquad
              \frac{\partial L}{\partial \hat y_{nd}} = \frac{2}{N D} (\hat y_{nd} - t_{nd}).

    Shapes: ``y_true`` and ``y_pred`` (N, ...) with D elements per sample.
    """

    name = "mse"

    def per_sample(self, y_true, y_pred):
        return self._mean_last(np.square(y_pred - y_true))

    def _grad(self, y_true, y_pred):
        return (y_pred - y_true) * (2.0 / (self.n * self._elements_per_sample(y_pred)))


class MeanAbsoluteError(Loss):
    r"""Mean absolute error.

    .. math:: \ell_n = \frac{1}{D}\sum_d |\hat y_{nd} - t_{nd}|, \qquad
              \frac{\partial L}{\partial \hat y_{nd}} = \frac{\operatorname{sign}(\hat y_{nd} - t_{nd})}{N D}.

    The derivative at :math:`\hat y = t` is taken as 0.
    """

    name = "mae"

    def per_sample(self, y_true, y_pred):
        return self._mean_last(np.abs(y_pred - y_true))

    def _grad(self, y_true, y_pred):
        return np.sign(y_pred - y_true) * (1.0 / (self.n * self._elements_per_sample(y_pred)))


class BinaryCrossentropy(Loss):
    r"""Binary cross-entropy for targets :math:`t \in [0, 1]`.

    From probabilities :math:`p` (clipped to :math:`[\epsilon, 1-\epsilon]`,
    :math:`\epsilon = 10^{-7}`, so that :math:`\log 0` never happens):

    .. math:: \ell_n = -\frac{1}{D}\sum_d \big[t \log p + (1 - t)\log(1 - p)\big], \qquad
              \frac{\partial L}{\partial p} = \frac{1}{N D}\,\frac{p - t}{p (1 - p)}

    (zero where the clip is active: that is the derivative of what is computed).

    From logits :math:`z` (``from_logits=True``), with :math:`p = \sigma(z)`,
    :math:`\log p = -\log(1 + e^{-z})` and :math:`\log(1-p) = -z - \log(1+e^{-z})`, so

    .. math:: \ell = \max(z, 0) - z t + \log\!\big(1 + e^{-|z|}\big), \qquad
              \frac{\partial L}{\partial z} = \frac{\sigma(z) - t}{N D},

    where the rewritten form never exponentiates a positive number.
    """

    name = "binary_crossentropy"
    fusable_activation = "sigmoid"

    def forward(
        self, y_true, y_pred, sample_weight=None, *, probabilities=None, log_normalizer=None
    ) -> float:
        """The mean loss; from logits, ``probabilities`` may pass :math:`\\sigma(z)` when the
        caller has it already (the model passes its sigmoid's output), for :meth:`backward`.
        With it, ``log_normalizer`` may pass :math:`A(z) = \\log(1 + e^z)` (see
        :meth:`tinynet.layers.Sigmoid.log_normalizer`), shaped like ``z``.

        Targets outside [0, 1] (NaN included) raise ``ValueError``: their
        cross-entropy is unbounded below, no loss to minimise."""
        checked = self._start_fast(y_true, y_pred, sample_weight, probabilities, log_normalizer)
        if checked is None:
            return super().forward(y_true, y_pred, sample_weight)  # checks the targets in _check
        _validation.unit_interval_targets(checked[0], "BinaryCrossentropy: targets")
        return self.fused_forward(*checked)

    def _check(self, y_true, y_pred):
        y_true, y_pred = super()._check(y_true, y_pred)
        _validation.unit_interval_targets(y_true, "BinaryCrossentropy: targets")
        return y_true, y_pred

    def fused_forward(self, y_true, logits, probabilities=None, log_normalizer=None, rows_sum_to_one=False):
        # The formula of the class docstring, summed over every element in three reductions and
        # with e = exp(-|z|) kept for backward; unweighted, the mean over the last axis then over
        # the batch is the mean over all elements.  (rows_sum_to_one concerns softmax targets only.)
        t, z, A = y_true, logits, log_normalizer
        self._remember_fused(t, z, probabilities)
        if A is not None and A.shape == z.shape:
            # the model's sigmoid passed A(z) = max(z, 0) + log(1 + e^{-|z|}): the loss is sum(A - z t)
            return (float(np.add.reduce(A, axis=None)) - float(np.vdot(z, t))) / z.size
        e = self._work("e", z.shape, z.dtype)
        work = self._work("work", z.shape, z.dtype)
        np.abs(z, out=e)
        np.negative(e, out=e)
        np.exp(e, out=e)
        np.log1p(e, out=work)
        total = float(np.add.reduce(work, axis=None))
        np.maximum(z, 0, out=work)
        total += float(np.add.reduce(work, axis=None)) - float(np.vdot(z, t))
        return total / z.size

    def backward(self) -> np.ndarray:
        if not getattr(self, "_fast", False):
            return super().backward()
        z = self.y_pred
        grad = self._gradient_array(z)
        if self._probabilities is not None:  # sigma(z), computed by the model's sigmoid already
            np.subtract(self._probabilities, self.y_true, out=grad)
            grad *= 1.0 / z.size
            return grad
        # sigma(z) = num / (1 + e), num = 1 where z >= 0 else e: stable_sigmoid, from the cached e
        e = self._buffers["e"]
        np.copyto(grad, e)
        nonneg = self._work("nonneg", z.shape, np.dtype(bool))
        np.greater_equal(z, 0, out=nonneg)
        np.copyto(grad, 1.0, where=nonneg)
        den = self._work("work", z.shape, z.dtype)
        np.add(e, 1.0, out=den)
        np.divide(grad, den, out=grad)
        grad -= self.y_true
        grad *= 1.0 / z.size
        return grad

    def per_sample(self, y_true, y_pred):
        if self.from_logits:
            z = y_pred
            values = np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
        else:
            p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
            values = -(y_true * np.log(p) + (1.0 - y_true) * np.log1p(-p))
        return self._mean_last(values)

    def _grad(self, y_true, y_pred):
        scale = 1.0 / (self.n * self._elements_per_sample(y_pred))
        if self.from_logits:
            grad = stable_sigmoid(y_pred)
            grad -= y_true
            grad *= scale
            return grad
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        inside = (y_pred > EPSILON) & (y_pred < 1.0 - EPSILON)
        return np.where(inside, (p - y_true) / (p * (1.0 - p)) * scale, 0.0).astype(y_pred.dtype)


def log_softmax(z: np.ndarray) -> np.ndarray:
    r"""Stable :math:`\log \mathrm{softmax}(z) = z - m - \log \sum_j e^{z_j - m}`, :math:`m = \max_j z_j`."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    """Stable softmax over the last axis."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class CategoricalCrossentropy(Loss):
    r"""Categorical cross-entropy for one-hot (or probability) targets over the last axis.

    From probabilities (clipped to :math:`[\epsilon, 1-\epsilon]`):

    .. math:: \ell_n = -\sum_k t_{nk} \log p_{nk}, \qquad
              \frac{\partial L}{\partial p_{nk}} = -\frac{1}{N}\,\frac{t_{nk}}{p_{nk}}.

    From logits (``from_logits=True``), with :math:`\log p = z - \mathrm{LSE}(z)`:

    .. math:: \ell_n = -\sum_k t_{nk} \Big(z_{nk} - \log\sum_j e^{z_{nj}}\Big), \qquad
              \frac{\partial L}{\partial z_{nk}} = \frac{1}{N}\Big(p_{nk} \sum_j t_{nj} - t_{nk}\Big),

    which is the famous :math:`(p - t)/N` when each target row sums to 1.
    The log-sum-exp is evaluated after subtracting :math:`\max_j z_{nj}`.
    """

    name = "categorical_crossentropy"
    fusable_activation = "softmax"

    #: Whether every target row is known to sum to 1, so that the fused gradient is
    #: :math:`(p - t)/N` without the row sums :math:`T` (see :meth:`forward`).
    rows_sum_to_one = False

    def forward(
        self,
        y_true,
        y_pred,
        sample_weight=None,
        *,
        probabilities=None,
        log_normalizer=None,
        rows_sum_to_one: bool = False,
    ) -> float:
        """The mean loss; from logits, ``probabilities`` may pass :math:`\\mathrm{softmax}(z)` when
        the caller has it already (the model passes its softmax's output), for :meth:`backward`,
        and with it ``log_normalizer`` :math:`A(z) = \\log\\sum_j e^{z_j}` per row, shape (..., 1).
        ``rows_sum_to_one=True`` promises that every row of ``y_true`` sums to exactly 1
        (one-hot labels, smoothed labels): the fused gradient then skips :math:`T`
        (``fit`` checks its targets once and passes it; it changes no bit of the result)."""
        checked = self._start_fast(y_true, y_pred, sample_weight, probabilities, log_normalizer)
        if checked is None or checked[1].ndim < 2:
            return super().forward(y_true, y_pred, sample_weight)
        return self.fused_forward(*checked, rows_sum_to_one=rows_sum_to_one)

    def fused_forward(self, y_true, logits, probabilities=None, log_normalizer=None, rows_sum_to_one=False):
        t, z, A = y_true, logits, log_normalizer
        self._remember_fused(t, z, probabilities)
        self._unit_rows = rows_sum_to_one or self.rows_sum_to_one
        count = self._count = z.size // z.shape[-1]  # rows: N times the positions per sample
        if A is not None and A.shape == (*z.shape[:-1], 1):
            # -log p_k = A - z_k, element by element (each term >= 0, no difference of large sums)
            neg_log_p = self._work_like("neg_log_p", z)
            np.subtract(A, z, out=neg_log_p)
            return float(np.vdot(t, neg_log_p)) / count
        # With s = z - m (m the row max), E = exp(s) and S = sum_j E_j, A = m + log S and
        #   sum_k t_k log p_k = sum_k t_k s_k - T log S,  T = sum_k t_k,
        # so the loss is (sum T log S - sum t s) / (N * positions); E and S are kept for backward.
        rows = z.shape[:-1]
        m = self._work("m", rows, z.dtype)
        E = self._work("E", z.shape, z.dtype)
        S = self._work("S", rows, z.dtype)
        log_s = self._work("log_s", rows, z.dtype)
        np.maximum.reduce(z, axis=-1, out=m)
        np.subtract(z, m[..., None], out=E)
        dot = float(np.vdot(t, E))
        np.exp(E, out=E)
        np.add.reduce(E, axis=-1, out=S)
        np.log(S, out=log_s)
        return (float(np.vdot(self._row_sums(t), log_s)) - dot) / count

    def _row_sums(self, t: np.ndarray) -> np.ndarray:
        """:math:`T = \\sum_k t_k` per row, into a work array."""
        return np.add.reduce(t, axis=-1, out=self._work("T", t.shape[:-1], t.dtype))

    def backward(self) -> np.ndarray:
        if not getattr(self, "_fast", False):
            return super().backward()
        # p * T - t, scaled: the same operations as softmax(z) in _grad, from the cached E and S;
        # with rows summing to 1, p * T = p exactly, so the product is skipped, not approximated
        z, t, b = self.y_pred, self.y_true, self._buffers
        grad = self._gradient_array(z)
        p = self._probabilities  # softmax(z), computed by the model's softmax already
        if p is None:
            p = np.divide(b["E"], b["S"][..., None], out=grad)
        if self._unit_rows:
            np.subtract(p, t, out=grad)
        else:
            np.multiply(p, self._row_sums(t)[..., None], out=grad)
            grad -= t
        grad *= 1.0 / self._count
        return grad

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
            grad = softmax(y_pred)
            grad *= y_true.sum(axis=-1, keepdims=True)
            grad -= y_true
            grad *= scale
            return grad
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        inside = (y_pred > EPSILON) & (y_pred < 1.0 - EPSILON)
        return np.where(inside, -y_true / p * scale, 0.0).astype(y_pred.dtype)

    @staticmethod
    def _positions_per_sample(y_pred):
        return int(np.prod(y_pred.shape[1:-1])) if y_pred.ndim > 2 else 1


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    r"""Categorical cross-entropy with integer class labels.

    ``y_true`` holds class indices of shape (N,) (or (N, 1)); it is the same
    loss as :class:`CategoricalCrossentropy` with the one-hot targets
    :math:`t_{nk} = [k = y_n]`, so :math:`\ell_n = -\log p_{n, y_n}` and, from
    logits, :math:`\partial L/\partial z_{nk} = (p_{nk} - [k = y_n])/N`.
    """

    name = "sparse_categorical_crossentropy"
    rows_sum_to_one = True  # one-hot rows, built from the labels

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
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            raise ValueError(
                f"SparseCategoricalCrossentropy: labels must be in [0, {k - 1}] for {k} outputs, "
                f"got values from {labels.min()} to {labels.max()}"
            )
        one_hot = np.zeros(y_pred.shape, dtype=y_pred.dtype)
        np.put_along_axis(one_hot, labels[..., None], 1.0, axis=-1)
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
