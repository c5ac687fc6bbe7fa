r"""Evaluation metrics: classification, regression and ROC analysis.

Every metric takes ``(y_true, y_pred)`` in Keras' order and returns a Python ``float``.

Classification metrics accept the model's raw output and turn both arguments into integer
class labels the same way:

=====================================  ==================================================
array                                  labels
=====================================  ==================================================
integer (or integral float) ``(N,)``   used as they are
or ``(N, 1)``
other floats ``(N,)`` or ``(N, 1)``    probabilities of class 1: :math:`[p > 0.5]`
``(N, K)`` with :math:`K \ge 2`        one-hot rows or class scores: ``argmax`` over the
                                       last axis
=====================================  ==================================================

so ``accuracy(y, model.predict(x))`` works for a sigmoid output (N, 1), a softmax output
(N, K), integer labels and one-hot targets alike.

**Sequences.** :func:`accuracy` and :func:`sparse_categorical_accuracy` also take the outputs of
a model that predicts at every position, scores (N, T, K) with integer labels (N, T) (or
(N, T, 1); not one-hot sequences): every position is one prediction, the accuracy is their mean
over the :math:`N T` positions, and a position whose label is **negative** is padding and is left
out (the convention of ``SparseCategoricalCrossentropy(ignore_class=-1)`` and of
:func:`tinynet.text.name_sequences`; a metric sees only the two arrays, not the loss, so padding
marked with another id counts).  Keras counts every position; it leaves out padding only through
its tensor masks, which tinynet does not have.  (The threshold is strict, as in Keras: a
probability of exactly 0.5 counts as class 0.  Outputs that happen to be exactly 0.0 or 1.0
give the same label either way.)

The counts behind precision, recall and F1 all come from the confusion matrix :math:`C`,
where :math:`C_{ij}` is the number of samples of true class :math:`i` predicted as class
:math:`j`:

.. math::

    TP_k = C_{kk}, \qquad FP_k = \sum_i C_{ik} - C_{kk}, \qquad FN_k = \sum_j C_{kj} - C_{kk}.

A ratio whose denominator is zero (e.g. precision when nothing is predicted positive) is
defined as 0.0, silently.

:data:`METRICS` maps the names accepted by ``model.compile(metrics=[...])`` to the functions;
:func:`get` looks one up.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "METRICS",
    "accuracy",
    "auc",
    "binary_accuracy",
    "categorical_accuracy",
    "confusion_matrix",
    "f1_score",
    "get",
    "mae",
    "mean_absolute_error",
    "mean_squared_error",
    "mse",
    "precision",
    "r2_score",
    "recall",
    "roc_auc",
    "roc_curve",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
]

_AVERAGES = ("binary", "macro", "micro", "weighted", None)


# --------------------------------------------------------------------------- label handling


def _to_labels(y: ArrayLike, what: str) -> tuple[np.ndarray, int]:
    """Integer labels (N,) and the number of classes the array's shape implies (0 if none)."""
    y = np.asarray(y)
    if y.ndim == 0 or y.ndim > 2:
        raise ValueError(f"{what} must have shape (N,), (N, 1) or (N, K), got {y.shape}")
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1).astype(np.int64), y.shape[1]
    y = y.reshape(-1)
    if np.issubdtype(y.dtype, np.bool_):
        return y.astype(np.int64), 2
    if np.issubdtype(y.dtype, np.integer):
        labels = y.astype(np.int64)
    elif np.issubdtype(y.dtype, np.floating):
        finite = np.isfinite(y)
        if np.all(finite & (y == np.round(y))):
            labels = y.astype(np.int64)
        else:
            # Probabilities of class 1 (sigmoid output); NaN compares False and gives class 0.
            return (y > 0.5).astype(np.int64), 2
    else:
        raise ValueError(f"{what} must be numeric, got dtype {y.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"{what} contains a negative class label ({labels.min()}); labels must be 0..K-1")
    return labels, 0


def _pair(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None) -> tuple:
    """Labels of both arrays and the number of classes K (shape, labels or num_classes)."""
    t, k_t = _to_labels(y_true, "y_true")
    p, k_p = _to_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred have different numbers of samples: {t.size} and {p.size}")
    k_labels = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
        if k_labels > num_classes:
            raise ValueError(f"label {k_labels - 1} is out of range for num_classes={num_classes}")
        k = int(num_classes)
    else:
        k = max(k_t, k_p, k_labels)
    return t, p, k


def _positions(y_true: ArrayLike, y_pred: ArrayLike, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """Sequence outputs as one prediction per position: labels (M,) and scores (M, K), padding left out.

    ``y_pred`` is (N, T, K) (any number of axes before K); ``y_true`` holds integer labels of
    ``y_pred``'s shape without its last axis, or the same with a last axis of 1.  Positions whose
    label is negative are padding and are dropped.
    """
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.ndim == p.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    if t.shape != p.shape[:-1]:
        raise ValueError(
            f"{owner}: sequence scores of shape {p.shape} need labels of shape {p.shape[:-1]} (one per "
            f"position, negative for padding), got {t.shape}"
        )
    t = t.reshape(-1)
    if not (np.issubdtype(t.dtype, np.integer) or np.issubdtype(t.dtype, np.bool_)):
        if not np.issubdtype(t.dtype, np.floating) or not np.all(np.isfinite(t) & (t == np.round(t))):
            raise ValueError(f"{owner}: sequence labels must be integers, got dtype {t.dtype}")
    keep = t >= 0
    return t[keep].astype(np.int64), p.reshape(-1, p.shape[-1])[keep]


def _require_samples(t: np.ndarray) -> None:
    if t.size == 0:
        raise ValueError("metrics are undefined for empty arrays (no samples)")


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den element-wise, with 0/0 (and x/0) defined as 0.0, without a warning."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


# --------------------------------------------------------------------------- classification


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None) -> np.ndarray:
    r"""Count the samples of each (true class, predicted class) pair.

    .. math:: C_{ij} = \#\{\, n : y_n = i,\ \hat y_n = j \,\}

    Rows are true classes and columns predicted classes, so the diagonal holds the correct
    predictions and :math:`\sum_{ij} C_{ij} = N`.

    Parameters
    ----------
    y_true : array-like of shape (N,), (N, 1) or (N, K)
        True labels, or one-hot rows.
    y_pred : array-like of shape (N,), (N, 1) or (N, K)
        Predicted labels, probabilities of class 1, or class scores (see the module notes).
    num_classes : int, optional
        :math:`K`; by default the number of columns of a (N, K) input, or the largest
        label + 1 (at least 2 when probabilities are thresholded).

    Returns
    -------
    ndarray of shape (K, K), int64

    Examples
    --------
    >>> confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2]).tolist()
    [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    t, p, k = _pair(y_true, y_pred, num_classes)
    # One bincount over the flat index t*K + p counts every cell at once.
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    r"""Fraction of samples whose predicted class is the true class.

    .. math:: \mathrm{accuracy} = \frac{1}{N} \sum_{n=1}^{N} [\,\hat y_n = y_n\,]

    Parameters
    ----------
    y_true : array-like of shape (N,), (N, 1) or (N, K)
        True labels, or one-hot rows.
    y_pred : array-like of shape (N,), (N, 1) or (N, K)
        Predicted labels, probabilities of class 1 (thresholded at 0.5), or class scores
        (argmax).

    Returns
    -------
    float
        Between 0 and 1.

    Examples
    --------
    >>> accuracy([0, 1, 1, 0], [0.2, 0.9, 0.4, 0.1])
    0.75
    >>> accuracy([2, 0], [[0.1, 0.2, 0.7], [0.3, 0.6, 0.1]])
    0.5

    Sequences (module notes): scores (N, T, K), labels (N, T), negative labels left out:

    >>> accuracy([[2, 0, -1]], [[[0.1, 0.2, 0.7], [0.3, 0.6, 0.1], [0.9, 0.1, 0.0]]])
    0.5
    """
    if np.ndim(y_pred) >= 3:
        y_true, y_pred = _positions(y_true, y_pred, "accuracy")
    t, p, _ = _pair(y_true, y_pred)
    _require_samples(t)
    return float(np.mean(t == p))


def _counts(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class TP, FP, FN and support (number of true samples), from the confusion matrix."""
    t, p, k = _pair(y_true, y_pred)
    _require_samples(t)
    cm = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    return tp, cm.sum(axis=0) - tp, support - tp, support


def _average(
    per_class: np.ndarray,
    micro: float,
    tp: np.ndarray,
    fp: np.ndarray,
    fn: np.ndarray,
    support: np.ndarray,
    average: str | None,
    pos_label: int,
    name: str,
) -> float | np.ndarray:
    if average is None:
        return per_class
    if average == "binary":
        k = per_class.size
        if k > 2:
            raise ValueError(
                f"{name}: average='binary' needs two classes, but the labels span {k}; "
                "use average='macro', 'micro' or 'weighted' for multiclass problems"
            )
        if pos_label not in (0, 1):
            raise ValueError(f"{name}: pos_label must be 0 or 1, got {pos_label!r}")
        # Only labels 0 seen (k == 1): class 1 exists but has no samples, so its score is 0.
        return float(per_class[pos_label]) if pos_label < k else 0.0
    if average == "micro":
        return float(micro)
    if average == "macro":
        # Classes that never occur (neither true nor predicted) would add a meaningless 0.
        present = (support > 0) | (tp + fp > 0)
        return float(per_class[present].mean())
    if average == "weighted":
        return float(_safe_div(np.sum(per_class * support), np.sum(support)))
    raise ValueError(f"{name}: average must be one of {_AVERAGES}, got {average!r}")


def precision(
    y_true: ArrayLike, y_pred: ArrayLike, *, average: str | None = "binary", pos_label: int = 1
) -> float | np.ndarray:
    r"""Precision: of the samples predicted as a class, the fraction that really are.

    .. math:: \mathrm{precision}_k = \frac{TP_k}{TP_k + FP_k}

    (0 when nothing is predicted as class :math:`k`).

    Parameters
    ----------
    y_true : array-like of shape (N,), (N, 1) or (N, K)
        True labels, or one-hot rows.
    y_pred : array-like of shape (N,), (N, 1) or (N, K)
        Predicted labels, probabilities of class 1 or class scores.
    average : {"binary", "macro", "micro", "weighted"} or None, default "binary"
        ``"binary"``: the score of class ``pos_label`` (two-class problems only).
        ``"macro"``: the unweighted mean of the per-class scores, over the classes that occur.
        ``"micro"``: computed from the total counts,
        :math:`\sum_k TP_k / \sum_k (TP_k + FP_k)` (equal to accuracy when each sample has
        one label). ``"weighted"``: the mean of the per-class scores weighted by each class's
        support (number of true samples).  ``None``: the array of per-class scores.
    pos_label : int, default 1
        The positive class for ``average="binary"``.

    Returns
    -------
    float, or ndarray of shape (K,) when ``average`` is None

    Examples
    --------
    >>> precision([0, 1, 1, 0], [1, 1, 0, 0])
    0.5
    """
    tp, fp, fn, support = _counts(y_true, y_pred)
    per_class = _safe_div(tp, tp + fp)
    micro = _safe_div(tp.sum(), tp.sum() + fp.sum())
    return _average(per_class, micro, tp, fp, fn, support, average, pos_label, "precision")


def recall(
    y_true: ArrayLike, y_pred: ArrayLike, *, average: str | None = "binary", pos_label: int = 1
) -> float | np.ndarray:
    r"""Recall (sensitivity, true positive rate): the fraction of a class that is found.

    .. math:: \mathrm{recall}_k = \frac{TP_k}{TP_k + FN_k}

    (0 when class :math:`k` has no true samples).

    Parameters
    ----------
    y_true : array-like of shape (N,), (N, 1) or (N, K)
        True labels, or one-hot rows.
    y_pred : array-like of shape (N,), (N, 1) or (N, K)
        Predicted labels, probabilities of class 1 or class scores.
    average : {"binary", "macro", "micro", "weighted"} or None, default "binary"
        How to combine the per-class scores, as for :func:`precision`.  Micro-averaged
        recall, :math:`\sum_k TP_k / N`, equals accuracy.
    pos_label : int, default 1
        The positive class for ``average="binary"``.

    Returns
    -------
    float, or ndarray of shape (K,) when ``average`` is None

    Examples
    --------
    >>> recall([0, 1, 1, 0], [1, 1, 0, 0])
    0.5
    """
    tp, fp, fn, support = _counts(y_true, y_pred)
    per_class = _safe_div(tp, support)
    micro = _safe_div(tp.sum(), support.sum())
    return _average(per_class, micro, tp, fp, fn, support, average, pos_label, "recall")


def f1_score(
    y_true: ArrayLike, y_pred: ArrayLike, *, average: str | None = "binary", pos_label: int = 1
) -> float | np.ndarray:
    r"""F1 score: the harmonic mean of precision and recall.

    .. math::

        F_{1,k} = \frac{2\, P_k R_k}{P_k + R_k} = \frac{2\, TP_k}{2\, TP_k + FP_k + FN_k}

    (0 when :math:`TP_k + FP_k + FN_k = 0`).  ``"macro"`` averages the per-class
    :math:`F_{1,k}` (it is *not* the F1 of macro precision and macro recall); ``"micro"``
    applies the formula to the summed counts.

    Parameters
    ----------
    y_true : array-like of shape (N,), (N, 1) or (N, K)
        True labels, or one-hot rows.
    y_pred : array-like of shape (N,), (N, 1) or (N, K)
        Predicted labels, probabilities of class 1 or class scores.
    average : {"binary", "macro", "micro", "weighted"} or None, default "binary"
        How to combine the per-class scores, as for :func:`precision`.
    pos_label : int, default 1
        The positive class for ``average="binary"``.

    Returns
    -------
    float, or ndarray of shape (K,) when ``average`` is None

    Examples
    --------
    >>> f1_score([0, 1, 1, 1], [1, 1, 1, 0])  # P = 2/3, R = 2/3
    0.6666666666666666
    """
    tp, fp, fn, support = _counts(y_true, y_pred)
    # The count form needs no special case when P or R is itself 0/0.
    per_class = _safe_div(2 * tp, 2 * tp + fp + fn)
    micro = _safe_div(2 * tp.sum(), 2 * tp.sum() + fp.sum() + fn.sum())
    return _average(per_class, micro, tp, fp, fn, support, average, pos_label, "f1_score")


# --------------------------------------------------------------------------- regression


def _regression_pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        # (N,) targets against a Dense(1) output (N, 1) would otherwise broadcast to (N, N).
        if t.ndim >= 1 and p.ndim >= 1 and t.shape[0] == p.shape[0] and t.size == p.size:
            t = t.reshape(p.shape)
        else:
            raise ValueError(f"y_true and y_pred must have the same shape, got {t.shape} and {p.shape}")
    if t.size == 0:
        raise ValueError("metrics are undefined for empty arrays (no samples)")
    return t, p


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    r"""Mean absolute error, over all samples and outputs.

    .. math:: \mathrm{MAE} = \frac{1}{N} \sum_{n=1}^{N} \lvert y_n - \hat y_n \rvert

    Parameters
    ----------
    y_true, y_pred : array-like of the same shape
        Targets and predictions; ``(N,)`` against ``(N, 1)`` is accepted.

    Returns
    -------
    float

    Examples
    --------
    >>> mean_absolute_error([1.0, 2.0, 3.0], [2.0, 2.0, 1.0])
    1.0
    """
    t, p = _regression_pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    r"""Mean squared error, over all samples and outputs.

    .. math:: \mathrm{MSE} = \frac{1}{N} \sum_{n=1}^{N} (y_n - \hat y_n)^2

    Parameters
    ----------
    y_true, y_pred : array-like of the same shape
        Targets and predictions; ``(N,)`` against ``(N, 1)`` is accepted.

    Returns
    -------
    float

    Examples
    --------
    >>> mean_squared_error([1.0, 2.0, 3.0], [2.0, 2.0, 1.0])
    1.6666666666666667
    """
    t, p = _regression_pair(y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Short name of :func:`mean_absolute_error` (the history key ``"mae"``)."""
    return mean_absolute_error(y_true, y_pred)


def mse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Short name of :func:`mean_squared_error` (the history key ``"mse"``)."""
    return mean_squared_error(y_true, y_pred)


def r2_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    r"""Coefficient of determination :math:`R^2`.

    .. math::

        R^2 = 1 - \frac{\sum_n (y_n - \hat y_n)^2}{\sum_n (y_n - \bar y)^2}

    1 is a perfect fit, 0 is no better than always predicting the mean :math:`\bar y`, and it
    is negative for worse predictions.  With several outputs (columns), the :math:`R^2` of
    each output is computed and their mean returned.  If the targets of an output are
    constant, its :math:`R^2` is 1.0 for a perfect prediction and 0.0 otherwise (instead of
    dividing by zero).

    Parameters
    ----------
    y_true, y_pred : array-like of the same shape
        Targets and predictions; ``(N,)`` against ``(N, 1)`` is accepted.

    Returns
    -------
    float

    Examples
    --------
    >>> r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.5
    """
    t, p = _regression_pair(y_true, y_pred)
    t2 = t.reshape(t.shape[0], -1) if t.ndim > 1 else t[:, None]
    p2 = p.reshape(t2.shape)
    ss_res = np.sum((t2 - p2) ** 2, axis=0)
    ss_tot = np.sum((t2 - t2.mean(axis=0)) ** 2, axis=0)
    r2 = np.where(ss_tot > 0, 1.0 - _safe_div(ss_res, ss_tot), np.where(ss_res == 0, 1.0, 0.0))
    return float(np.mean(r2))


# --------------------------------------------------------------------------- ROC


def _binary_scores(y_true: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t, _ = _to_labels(y_true, "y_true")
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 2 and s.shape[1] == 2:
        s = s[:, 1]  # a two-column softmax: the score of class 1
    elif s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim != 1:
        raise ValueError(f"scores must have shape (N,), (N, 1) or (N, 2), got {np.shape(scores)}")
    if s.shape != t.shape:
        raise ValueError(f"y_true and scores have different numbers of samples: {t.size} and {s.size}")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    if t.size and t.max() > 1:
        raise ValueError(f"roc_curve needs binary labels 0/1 in y_true, got label {t.max()}")
    n_pos = int(t.sum())
    if n_pos == 0 or n_pos == t.size:
        raise ValueError("the ROC curve needs both positive (1) and negative (0) samples in y_true")
    return t, s


def roc_curve(y_true: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Receiver operating characteristic: the true and false positive rates at every threshold.

    Predicting class 1 when :math:`s_n \ge \tau` gives, for each threshold :math:`\tau`,

    .. math::

        \mathrm{TPR}(\tau) = \frac{\#\{n : s_n \ge \tau,\ y_n = 1\}}{\#\{n : y_n = 1\}}, \qquad
        \mathrm{FPR}(\tau) = \frac{\#\{n : s_n \ge \tau,\ y_n = 0\}}{\#\{n : y_n = 0\}}.

    The thresholds are the distinct scores in decreasing order, preceded by
    :math:`+\infty` (nothing predicted positive), so the curve runs from (0, 0) to (1, 1).
    Tied scores form a single step, drawn as a diagonal segment.

    Parameters
    ----------
    y_true : array-like of shape (N,) or (N, 1)
        Binary labels 0/1 (one-hot (N, 2) rows are accepted too).
    scores : array-like of shape (N,), (N, 1) or (N, 2)
        Scores for class 1: probabilities, logits or any monotone score (column 1 of a
        two-column softmax).

    Returns
    -------
    fpr : ndarray of shape (M,), float64
        Non-decreasing false positive rates, from 0 to 1.
    tpr : ndarray of shape (M,), float64
        Non-decreasing true positive rates, from 0 to 1.
    thresholds : ndarray of shape (M,), float64
        Decreasing thresholds, ``thresholds[0] = inf``.

    Examples
    --------
    >>> fpr, tpr, thr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr.tolist(), tpr.tolist(), thr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0], [inf, 0.8, 0.4, 0.35, 0.1])
    """
    t, s = _binary_scores(y_true, scores)
    order = np.argsort(-s, kind="stable")
    s, t = s[order], t[order]
    # The last index of each run of equal scores: all tied samples switch class together.
    ends = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tps = np.cumsum(t)[ends]
    fps = (ends + 1) - tps
    tpr = np.r_[0, tps] / tps[-1]
    fpr = np.r_[0, fps] / fps[-1]
    return fpr, tpr, np.r_[np.inf, s[ends]]


def roc_auc(y_true: ArrayLike, scores: ArrayLike) -> float:
    r"""Area under the ROC curve, by the trapezoid rule.

    .. math:: \mathrm{AUC} = \sum_{i} (\mathrm{FPR}_{i+1} - \mathrm{FPR}_i)\,
              \frac{\mathrm{TPR}_{i+1} + \mathrm{TPR}_i}{2}

    Because tied scores form one diagonal step, this equals the probability that a random
    positive sample scores higher than a random negative one, counting ties as one half:

    .. math:: \mathrm{AUC} = \frac{1}{N_+ N_-} \sum_{i: y_i = 1} \sum_{j: y_j = 0}
              \Bigl([s_i > s_j] + \tfrac12 [s_i = s_j]\Bigr).

    Parameters
    ----------
    y_true : array-like of shape (N,) or (N, 1)
        Binary labels 0/1.
    scores : array-like of shape (N,), (N, 1) or (N, 2)
        Scores for class 1.

    Returns
    -------
    float
        1.0 for a perfect ranking, 0.5 for a random one.

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    fpr, tpr, _ = roc_curve(y_true, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


# --------------------------------------------------------------------------- Keras' accuracies


def binary_accuracy(y_true: ArrayLike, y_pred: ArrayLike, threshold: float = 0.5) -> float:
    r"""Keras' ``binary_accuracy``: the fraction of entries whose thresholded prediction is right.

    .. math:: \frac{1}{NK} \sum_{n,k} \big[\, [\hat y_{nk} > \tau] = y_{nk} \,\big]

    Element-wise, so for multi-label outputs (N, K) every label counts; for an
    (N, 1) sigmoid output it equals :func:`accuracy`.  ``y_true`` holds 0/1 and
    may be (N,) for an (N, 1) output.

    Examples
    --------
    >>> binary_accuracy([[1, 0], [0, 0]], [[0.9, 0.6], [0.2, 0.1]])
    0.75
    """
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.ndim == p.ndim - 1 and p.shape[-1] == 1:
        t = t.reshape(p.shape)
    if t.shape != p.shape:
        raise ValueError(f"binary_accuracy: y_true has shape {t.shape} but y_pred has shape {p.shape}")
    if t.size == 0:
        raise ValueError("metrics are undefined for empty arrays (no samples)")
    return float(np.mean((p > threshold) == (t > 0.5)))


def categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    r"""Keras' ``categorical_accuracy``: one-hot ``y_true`` (N, K), :math:`[\arg\max \hat y_n = \arg\max y_n]`.

    Examples
    --------
    >>> categorical_accuracy([[0, 1], [1, 0]], [[0.3, 0.7], [0.4, 0.6]])
    0.5
    """
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.ndim != 2 or t.shape != p.shape:
        raise ValueError(
            f"categorical_accuracy needs one-hot y_true and y_pred of one shape (N, K), got {t.shape} and "
            f"{p.shape}; for integer labels use sparse_categorical_accuracy"
        )
    _require_samples(t)
    return float(np.mean(np.argmax(t, axis=1) == np.argmax(p, axis=1)))


def sparse_categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    r"""Keras' ``sparse_categorical_accuracy``: integer labels (N,) against scores (N, K).

    Also labels (N, T) against sequence scores (N, T, K), one prediction per position, with the
    positions of negative labels (padding) left out (module notes).

    Examples
    --------
    >>> sparse_categorical_accuracy([1, 0], [[0.3, 0.7], [0.4, 0.6]])
    0.5
    >>> sparse_categorical_accuracy([[1, -1]], [[[0.3, 0.7], [0.4, 0.6]]])
    1.0
    """
    if np.ndim(y_pred) >= 3:
        y_true, y_pred = _positions(y_true, y_pred, "sparse_categorical_accuracy")
    t, p = np.asarray(y_true).reshape(-1), np.asarray(y_pred)
    if p.ndim != 2 or len(t) != len(p):
        raise ValueError(
            f"sparse_categorical_accuracy needs labels (N,) and scores (N, K), got {np.shape(y_true)} and {p.shape}"
        )
    _require_samples(t)
    return float(np.mean(t.astype(np.int64) == np.argmax(p, axis=1)))


def _in_top_k(labels: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """Whether each label's score is among the ``k`` largest of its row (fewer than k scores above it)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    own = np.take_along_axis(scores, labels[:, None], axis=1)
    return np.sum(scores > own, axis=1) < k


def top_k_categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike, k: int = 5) -> float:
    r"""Keras' ``top_k_categorical_accuracy``: the true class (one-hot ``y_true``) is among the ``k``
    highest scores, :math:`\#\{j : \hat y_{nj} > \hat y_{n c_n}\} < k` (ties count for the sample).

    Examples
    --------
    >>> top_k_categorical_accuracy([[0, 0, 1], [1, 0, 0]], [[0.5, 0.3, 0.2], [0.1, 0.8, 0.1]], k=2)
    0.5
    """
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.ndim != 2 or t.shape != p.shape:
        raise ValueError(
            f"top_k_categorical_accuracy needs one-hot y_true and scores of one shape (N, K), got {t.shape} "
            f"and {p.shape}"
        )
    _require_samples(t)
    return float(np.mean(_in_top_k(np.argmax(t, axis=1), p, k)))


def auc(y_true: ArrayLike, scores: ArrayLike) -> float:
    """Keras' ``"AUC"`` metric name: the area under the ROC curve, :func:`roc_auc` (exact, not binned)."""
    return roc_auc(y_true, scores)


# --------------------------------------------------------------------------- registry

#: Metric names accepted by ``model.compile(metrics=[...])``.  Aliases map to the same
#: function, whose ``__name__`` is the canonical key to record in the training history.
METRICS: dict[str, Callable[[ArrayLike, ArrayLike], float]] = {
    "accuracy": accuracy,
    "acc": accuracy,
    "precision": precision,
    "recall": recall,
    "f1_score": f1_score,
    "f1": f1_score,
    "mae": mae,
    "mean_absolute_error": mae,
    "mse": mse,
    "mean_squared_error": mse,
    "r2_score": r2_score,
    "r2": r2_score,
    # Keras' names (case-insensitive: "AUC" works)
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "auc": auc,
    "roc_auc": roc_auc,
}


def get(name: str | Callable) -> Callable:
    """Return the metric function called ``name`` (a callable is returned unchanged).

    Parameters
    ----------
    name : str or callable
        One of the keys of :data:`METRICS` (case-insensitive), or a function
        ``f(y_true, y_pred) -> float``.

    Returns
    -------
    callable
        Its ``__name__`` is the canonical name, e.g. ``get("acc").__name__ == "accuracy"``.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.

    Examples
    --------
    >>> get("acc") is accuracy
    True
    """
    if callable(name):
        return name
    if not isinstance(name, str):
        raise TypeError(f"a metric must be a name or a callable, got {type(name).__name__}")
    try:
        return METRICS[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; valid names are: {', '.join(sorted(METRICS))}") from None
