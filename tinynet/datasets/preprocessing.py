r"""Splitting, scaling and encoding data before training.

* :func:`train_test_split` holds out a random (optionally stratified) test set.
* :func:`standardize` / :class:`Standardizer` rescale every feature to mean 0 and standard
  deviation 1, using statistics of the *training* set only.
* :func:`one_hot` turns integer labels into the one-hot rows that categorical cross-entropy
  expects.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

__all__ = ["Standardizer", "one_hot", "standardize", "train_test_split"]


def _stratify_labels(y: np.ndarray) -> np.ndarray:
    """The class of each sample, whether ``y`` holds labels, a label column or one-hot rows."""
    if y.ndim == 1:
        return y
    if y.ndim == 2 and y.shape[1] == 1:
        return y[:, 0]
    if y.ndim == 2:
        return np.argmax(y, axis=1)
    raise ValueError(f"stratify=True needs y of shape (N,), (N, 1) or one-hot (N, K), got {y.shape}")


def _n_test(test_size: float | int, n: int) -> int:
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.integer, np.floating)):
        raise ValueError(f"test_size must be a float in (0, 1) or an int, got {test_size!r}")
    if isinstance(test_size, (int, np.integer)):
        n_test = int(test_size)
        if not 1 <= n_test <= n - 1:
            raise ValueError(f"test_size={n_test} must be between 1 and n_samples - 1 = {n - 1}")
        return n_test
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size={test_size!r} must be strictly between 0 and 1 (or an int count)")
    # Rounding first: 0.07 * 100 is 7.000000000000001 in binary and must not become 8.
    n_test = math.ceil(round(test_size * n, 9))
    if not 1 <= n_test <= n - 1:
        raise ValueError(
            f"test_size={test_size!r} of {n} samples gives {n_test} test and {n - n_test} train samples; "
            "both sets need at least one"
        )
    return n_test


def _stratified_counts(counts: np.ndarray, n_test: int) -> np.ndarray:
    """How many test samples to take from each class: proportional, at least 1, leaving 1."""
    ideal = counts * n_test / counts.sum()
    alloc = np.floor(ideal).astype(np.int64)
    # Largest-remainder rounding keeps the total exact and each count within 1 of its ideal.
    leftover = n_test - int(alloc.sum())
    alloc[np.argsort(-(ideal - alloc), kind="stable")[:leftover]] += 1
    # Rare classes may round to 0 (or everything) - move single samples until every class is on
    # both sides; the caller checked that this is possible.  At most K moves each.
    while (alloc < 1).any():
        alloc[np.argmax(alloc < 1)] += 1
        alloc[np.argmax(alloc)] -= 1
    while (alloc > counts - 1).any():
        alloc[np.argmax(alloc > counts - 1)] -= 1
        alloc[np.argmax(counts - 1 - alloc)] += 1
    return alloc


def train_test_split(
    x: ArrayLike,
    y: ArrayLike,
    test_size: float | int = 0.2,
    seed: int | None = None,
    stratify: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Split arrays into random train and test subsets.

    The samples (rows) are shuffled with a local ``np.random.default_rng(seed)`` and
    :math:`n_\text{test} = \lceil \text{test\_size} \cdot N \rceil` of them are held out.

    With ``stratify=True`` each class keeps (up to rounding) its proportion in both subsets:
    class :math:`k` with :math:`N_k` samples contributes about
    :math:`N_k\, n_\text{test} / N` test samples (largest-remainder rounding, at least one
    sample of each class on each side).

    Parameters
    ----------
    x : array-like of shape (N, ...)
        Features; the first axis indexes the samples.
    y : array-like of shape (N,) or (N, K)
        Targets: labels, a column of labels, one-hot rows or regression targets.
    test_size : float or int, default 0.2
        Fraction of the samples in the test set (strictly between 0 and 1), or their number.
    seed : int or None, default None
        Seed of the local random generator; the same seed gives the same split.
    stratify : bool, default False
        Preserve the class proportions of ``y`` (labels, or the argmax of one-hot rows).

    Returns
    -------
    x_train, x_test, y_train, y_test : ndarray
        In that order (as Keras and scikit-learn users expect).

    Raises
    ------
    ValueError
        If ``x`` and ``y`` have different numbers of samples, ``test_size`` leaves an empty
        subset, or, with ``stratify=True``, a class has fewer than two samples or there are
        more classes than test (or train) samples.

    Examples
    --------
    >>> x = np.arange(20).reshape(10, 2); y = np.array([0] * 5 + [1] * 5)
    >>> x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.4, seed=0, stratify=True)
    >>> x_tr.shape, x_te.shape, np.bincount(y_te).tolist()
    ((6, 2), (4, 2), [2, 2])
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError("x and y must be arrays with one row per sample, not scalars")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of samples, got {len(x)} and {len(y)}")
    n = len(x)
    if n < 2:
        raise ValueError(f"need at least 2 samples to split, got {n}")
    n_test = _n_test(test_size, n)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    if not stratify:
        test_idx, train_idx = perm[:n_test], perm[n_test:]
    else:
        classes, codes = np.unique(_stratify_labels(y), return_inverse=True)
        codes = codes.reshape(-1)
        counts = np.bincount(codes)
        k = len(classes)
        if counts.min() < 2:
            raise ValueError(
                f"stratify=True needs at least 2 samples of every class, but class "
                f"{classes[np.argmin(counts)].item()!r} has only {counts.min()}"
            )
        if n_test < k or n - n_test < k:
            raise ValueError(
                f"stratify=True needs at least one sample of each of the {k} classes in both sets, "
                f"but test_size={test_size!r} gives {n_test} test and {n - n_test} train samples"
            )
        alloc = _stratified_counts(counts, n_test)
        # Group the shuffled samples by class (stable sort keeps the random order inside each
        # class) and send the first alloc[c] of class c to the test set.
        grouped = perm[np.argsort(codes[perm], kind="stable")]
        starts = np.cumsum(counts) - counts
        rank = np.arange(n) - starts[codes[grouped]]
        in_test = rank < alloc[codes[grouped]]
        # Shuffle again so that neither subset is sorted by class.
        test_idx, train_idx = rng.permutation(grouped[in_test]), rng.permutation(grouped[~in_test])
    return x[train_idx], x[test_idx], y[train_idx], y[test_idx]


class Standardizer:
    r"""Rescale every feature to zero mean and unit variance, with statistics of the training set.

    .. math:: z = \frac{x - \mu}{\sigma},

    where :math:`\mu` and :math:`\sigma` are the mean and (population) standard deviation of
    each feature over the samples (axis 0) of the array given to :meth:`fit`.  A constant
    feature has :math:`\sigma = 0`; it is given :math:`\sigma = 1` instead, so it maps to 0
    rather than to ``nan``.

    Fit on the training set only and apply the same transform to the test set: using the
    test set's statistics would leak information about it into training.

    Attributes
    ----------
    mean_ : ndarray of shape x.shape[1:], float64
        The per-feature mean, after :meth:`fit`.
    std_ : ndarray of shape x.shape[1:], float64
        The per-feature standard deviation (1 where the feature is constant).

    Examples
    --------
    >>> scaler = Standardizer().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> scaler.transform(np.array([[2.0, 5.0], [5.0, 6.0]])).tolist()
    [[0.0, 0.0], [3.0, 1.0]]
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def fit(self, x: ArrayLike) -> Standardizer:
        """Compute the mean and standard deviation of each feature; return ``self``."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim < 1 or len(x) == 0:
            raise ValueError(f"cannot fit a Standardizer on an empty array (shape {x.shape})")
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        # Test for constant features exactly: rounding leaves a tiny non-zero std (e.g. the mean of
        # [0.1, 0.1, 0.1] is not exactly 0.1), which would blow the feature up instead of zeroing it.
        constant = np.ptp(x, axis=0) == 0
        self.mean_ = np.where(constant, x[0], mean)
        self.std_ = np.where(constant | (std == 0), 1.0, std)
        return self

    def _check(self, x: ArrayLike) -> np.ndarray:
        if self.mean_ is None or self.std_ is None:
            raise RuntimeError("this Standardizer is not fitted yet: call fit(x_train) first")
        x = np.asarray(x)
        if x.shape[1:] != self.mean_.shape:
            raise ValueError(
                f"expected samples of shape {self.mean_.shape} (as in fit), got {x.shape[1:]} "
                f"(array of shape {x.shape})"
            )
        return x

    @staticmethod
    def _out_dtype(x: np.ndarray) -> np.dtype:
        # Keep float32 data float32 (the engine's default precision); integers become float64.
        return x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)

    def transform(self, x: ArrayLike) -> np.ndarray:
        r"""Return :math:`(x - \mu) / \sigma` (a new array; ``x`` is not modified)."""
        x = self._check(x)
        return ((x - self.mean_) / self.std_).astype(self._out_dtype(x), copy=False)

    def fit_transform(self, x: ArrayLike) -> np.ndarray:
        """Fit on ``x`` and return it transformed."""
        return self.fit(x).transform(x)

    def inverse_transform(self, z: ArrayLike) -> np.ndarray:
        r"""Undo :meth:`transform`: return :math:`z \sigma + \mu`."""
        z = self._check(z)
        return (z * self.std_ + self.mean_).astype(self._out_dtype(z), copy=False)

    def __repr__(self) -> str:
        state = "unfitted" if self.mean_ is None else f"n_features={self.mean_.size}"
        return f"Standardizer({state})"


def standardize(
    x_train: ArrayLike, x_test: ArrayLike | None = None, *, return_scaler: bool = False
) -> np.ndarray | tuple:
    r"""Standardize features with the mean and standard deviation of the training set.

    .. math:: z = \frac{x - \mu_\text{train}}{\sigma_\text{train}}

    (:math:`\sigma` is replaced by 1 for constant features).  A shortcut for
    :class:`Standardizer`.

    Parameters
    ----------
    x_train : array-like of shape (N, ...)
        Training features; the statistics are computed from these only.
    x_test : array-like of shape (M, ...), optional
        Test features, transformed with the *training* statistics.
    return_scaler : bool, default False
        Also return the fitted :class:`Standardizer` (to transform new data later).

    Returns
    -------
    x_train_std : ndarray
        Returned alone when neither ``x_test`` nor ``return_scaler`` is given.
    x_test_std : ndarray
        Only when ``x_test`` is given.
    scaler : Standardizer
        Only when ``return_scaler`` is true.

    Examples
    --------
    >>> x_tr, x_te = standardize(np.array([[0.0], [2.0]]), np.array([[4.0]]))
    >>> x_tr.ravel().tolist(), x_te.ravel().tolist()
    ([-1.0, 1.0], [3.0])
    """
    scaler = Standardizer().fit(x_train)
    result: tuple = (scaler.transform(x_train),)
    if x_test is not None:
        result += (scaler.transform(x_test),)
    if return_scaler:
        result += (scaler,)
    return result[0] if len(result) == 1 else result


def one_hot(y: ArrayLike, num_classes: int | None = None, dtype: DTypeLike = np.float64) -> np.ndarray:
    r"""Encode integer class labels as one-hot rows.

    .. math:: Y_{nk} = [\,y_n = k\,], \qquad k = 0, \dots, K - 1.

    Parameters
    ----------
    y : array-like of shape (N,) or (N, 1)
        Integer labels ``0 .. K-1`` (floats such as ``2.0`` are accepted).
    num_classes : int, optional
        :math:`K`; by default ``max(y) + 1``.
    dtype : dtype, default float64
        Type of the result.

    Returns
    -------
    ndarray of shape (N, K)

    Raises
    ------
    ValueError
        If the labels are not non-negative integers, or one is ``>= num_classes``.

    Examples
    --------
    >>> one_hot([0, 2, 1]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"one_hot expects labels of shape (N,) or (N, 1), got {y.shape}")
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.bool_)):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(np.isfinite(y) & (y == np.round(y))):
            raise ValueError(f"one_hot expects integer class labels, got values of dtype {y.dtype}")
    labels = y.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"class labels must be >= 0, got {labels.min()}")
    if num_classes is None:
        if labels.size == 0:
            raise ValueError("cannot infer num_classes from empty labels; pass num_classes")
        num_classes = int(labels.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(f"label {labels.max()} is out of range for num_classes={num_classes}")
    out = np.zeros((labels.size, int(num_classes)), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out
