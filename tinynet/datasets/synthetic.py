r"""Seeded toy data sets for teaching: two-dimensional shapes a linear model cannot separate.

Every generator draws from its own ``np.random.default_rng(seed)``, never from numpy's global
state, so the same ``seed`` always gives the same data and calling a generator does not
disturb any other random stream.  With ``seed=None`` the data are fresh on each call.

Classification generators return ``x`` of shape ``(n_samples, n_features)`` (float64) and
``y`` of shape ``(n_samples,)`` (int64 labels ``0..K-1``), with the samples in random order so
that taking the first rows gives every class.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["make_blobs", "make_circles", "make_moons", "make_regression", "make_spirals", "make_xor"]


def _check_count(value: int, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_noise(noise: float, name: str = "noise") -> float:
    noise = float(noise)
    # `not noise >= 0` also rejects NaN.
    if not noise >= 0 or not np.isfinite(noise):
        raise ValueError(f"{name} must be a finite number >= 0, got {noise!r}")
    return noise


def _split_evenly(n_samples: int, n_classes: int) -> np.ndarray:
    """Class sizes that differ by at most one, the first classes taking the remainder."""
    sizes = np.full(n_classes, n_samples // n_classes)
    sizes[: n_samples % n_classes] += 1
    return sizes


def _finish(
    x: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle, so that the classes are interleaved, then add Gaussian noise."""
    # Shuffling first: the same seed then gives the same samples in the same order whatever
    # the noise level, which makes the effect of `noise` easy to see.
    order = rng.permutation(len(y))
    x, y = x[order], y[order]
    if noise > 0:
        x = x + rng.normal(scale=noise, size=x.shape)
    return x.astype(np.float64), y.astype(np.int64)


def make_moons(
    n_samples: int = 100, noise: float = 0.0, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Two interleaving half circles ("moons") in the plane.

    Class 0 lies on the upper half of the unit circle and class 1 on a lower half circle
    shifted right and down, so that each moon reaches into the other:

    .. math::

        x^{(0)} = (\cos t,\ \sin t), \qquad
        x^{(1)} = (1 - \cos t,\ \tfrac12 - \sin t), \qquad t \in [0, \pi].

    Parameters
    ----------
    n_samples : int, default 100
        Total number of points, split as evenly as possible between the two moons.
    noise : float, default 0.0
        Standard deviation of the Gaussian noise added to every coordinate.
    seed : int or None, default None
        Seed of the local random generator; the same seed gives the same data.

    Returns
    -------
    x : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64
        Labels 0 and 1.

    Examples
    --------
    >>> x, y = make_moons(200, noise=0.1, seed=0)
    >>> x.shape, y.shape, int(y.sum())
    ((200, 2), (200,), 100)
    """
    n_samples = _check_count(n_samples, "n_samples", 2)
    noise = _check_noise(noise)
    rng = np.random.default_rng(seed)
    n0, n1 = _split_evenly(n_samples, 2)
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    x = np.concatenate(
        [np.column_stack([np.cos(t0), np.sin(t0)]), np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])]
    )
    y = np.repeat([0, 1], [n0, n1])
    return _finish(x, y, noise, rng)


def make_circles(
    n_samples: int = 100, noise: float = 0.0, factor: float = 0.5, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""A circle inside a larger circle: class 0 on the outer one, class 1 on the inner one.

    .. math::

        x^{(0)} = (\cos t,\ \sin t), \qquad x^{(1)} = f\,(\cos t,\ \sin t),
        \qquad t \in [0, 2\pi),

    with :math:`f` = ``factor``.  No straight line separates them, but the squared radius
    :math:`x_1^2 + x_2^2` does.

    Parameters
    ----------
    n_samples : int, default 100
        Total number of points, split as evenly as possible between the two circles.
    noise : float, default 0.0
        Standard deviation of the Gaussian noise added to every coordinate.
    factor : float, default 0.5
        Radius of the inner circle relative to the outer one, strictly between 0 and 1.
    seed : int or None, default None
        Seed of the local random generator; the same seed gives the same data.

    Returns
    -------
    x : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64
        Labels 0 (outer) and 1 (inner).
    """
    n_samples = _check_count(n_samples, "n_samples", 2)
    noise = _check_noise(noise)
    factor = float(factor)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be strictly between 0 and 1, got {factor!r}")
    rng = np.random.default_rng(seed)
    n0, n1 = _split_evenly(n_samples, 2)
    # endpoint=False: 0 and 2*pi are the same point and would appear twice.
    t0 = np.linspace(0.0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0.0, 2 * np.pi, n1, endpoint=False)
    x = np.concatenate(
        [np.column_stack([np.cos(t0), np.sin(t0)]), factor * np.column_stack([np.cos(t1), np.sin(t1)])]
    )
    y = np.repeat([0, 1], [n0, n1])
    return _finish(x, y, noise, rng)


def make_spirals(
    n_samples: int = 100,
    noise: float = 0.0,
    n_classes: int = 2,
    turns: float = 1.0,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Interleaved spiral arms, one per class, winding out from the origin.

    Arm :math:`k` of :math:`K` is the Archimedean spiral

    .. math::

        x^{(k)}(r) = r\,(\cos\theta,\ \sin\theta), \qquad
        \theta = 2\pi\,\Bigl(\text{turns}\cdot r + \frac{k}{K}\Bigr), \qquad r \in [0.05, 1],

    so the arms are rotated copies of each other.  Two arms give the classic "two spirals"
    benchmark; three give the spiral data set of the CS231n course notes.

    Parameters
    ----------
    n_samples : int, default 100
        Total number of points, split as evenly as possible between the arms.
    noise : float, default 0.0
        Standard deviation of the Gaussian noise added to every coordinate (the spiral has
        radius 1, so 0.05 to 0.1 is already a hard problem).
    n_classes : int, default 2
        Number of arms (classes), at least 2.
    turns : float, default 1.0
        How many full turns each arm makes; more turns need a bigger network.
    seed : int or None, default None
        Seed of the local random generator; the same seed gives the same data.

    Returns
    -------
    x : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64
        Labels ``0 .. n_classes - 1``.
    """
    n_classes = _check_count(n_classes, "n_classes", 2)
    n_samples = _check_count(n_samples, "n_samples", n_classes)
    noise = _check_noise(noise)
    turns = float(turns)
    if not turns > 0 or not np.isfinite(turns):
        raise ValueError(f"turns must be a positive number, got {turns!r}")
    rng = np.random.default_rng(seed)
    sizes = _split_evenly(n_samples, n_classes)
    y = np.repeat(np.arange(n_classes), sizes)
    # Position of each point along its arm, 0..1 within each class (a vectorised linspace);
    # starting at r = 0.05 keeps the arms from meeting in a single point at the origin.
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    steps = np.maximum(np.repeat(sizes, sizes) - 1, 1)
    r = 0.05 + 0.95 * (np.arange(n_samples) - starts) / steps
    theta = 2 * np.pi * (turns * r + y / n_classes)
    x = r[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
    return _finish(x, y, noise, rng)


def make_xor(
    n_samples: int = 100, noise: float = 0.0, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""The XOR problem: points in the square :math:`[-1, 1]^2`, labelled by their quadrant.

    .. math:: y = [x_1 > 0] \oplus [x_2 > 0],

    i.e. label 1 in the second and fourth quadrants, 0 in the first and third.  The smallest
    data set that needs a hidden layer.  The labels are computed *before* the noise is added,
    so with ``noise > 0`` some points near the axes cross into the other class.

    Parameters
    ----------
    n_samples : int, default 100
        Number of points, drawn uniformly in the square.
    noise : float, default 0.0
        Standard deviation of the Gaussian noise added to every coordinate.
    seed : int or None, default None
        Seed of the local random generator; the same seed gives the same data.

    Returns
    -------
    x : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64
        Labels 0 and 1.
    """
    n_samples = _check_count(n_samples, "n_samples", 1)
    noise = _check_noise(noise)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n_samples, 2))
    y = np.logical_xor(x[:, 0] > 0, x[:, 1] > 0)
    return _finish(x, y, noise, rng)


def make_blobs(
    n_samples: int = 100,
    centers: int | ArrayLike = 3,
    n_features: int = 2,
    cluster_std: float | Sequence[float] = 1.0,
    center_box: tuple[float, float] = (-10.0, 10.0),
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Isotropic Gaussian clusters, one class per cluster.

    Sample :math:`i` of class :math:`k` is drawn from
    :math:`\mathcal N(\mu_k, \sigma_k^2 I)`, with the centres :math:`\mu_k` either given or
    drawn uniformly in ``center_box``.

    Parameters
    ----------
    n_samples : int, default 100
        Total number of points, split as evenly as possible between the clusters.
    centers : int or array-like of shape (n_centers, n_features), default 3
        The number of clusters (centres drawn at random), or the centres themselves.
    n_features : int, default 2
        Dimension of the points; ignored when ``centers`` is an array.
    cluster_std : float or sequence of float, default 1.0
        Standard deviation of each cluster (one value for all, or one per cluster).
    center_box : (float, float), default (-10.0, 10.0)
        Bounds of the random centres.
    seed : int or None, default None
        Seed of the local random generator; the same seed gives the same data.

    Returns
    -------
    x : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,), int64
        The cluster of each point, ``0 .. n_centers - 1``.
    """
    rng = np.random.default_rng(seed)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        n_centers = _check_count(centers, "centers", 1)
        n_features = _check_count(n_features, "n_features", 1)
        low, high = (float(v) for v in center_box)
        if not low < high:
            raise ValueError(f"center_box must be (low, high) with low < high, got {center_box!r}")
        mu = rng.uniform(low, high, size=(n_centers, n_features))
    else:
        mu = np.asarray(centers, dtype=np.float64)
        if mu.ndim != 2 or mu.shape[0] == 0 or mu.shape[1] == 0:
            raise ValueError(f"centers must be an int or a 2-D array (n_centers, n_features), got {mu.shape}")
        n_centers = mu.shape[0]
    n_samples = _check_count(n_samples, "n_samples", n_centers)
    std = np.asarray(cluster_std, dtype=np.float64)
    if std.ndim == 0:
        std = np.full(n_centers, float(std))
    if std.shape != (n_centers,) or not np.all(std >= 0) or not np.all(np.isfinite(std)):
        raise ValueError(
            f"cluster_std must be one number >= 0 or one per centre ({n_centers}), got {cluster_std!r}"
        )
    y = np.repeat(np.arange(n_centers), _split_evenly(n_samples, n_centers))
    x = mu[y] + std[y, None] * rng.standard_normal((n_samples, mu.shape[1]))
    return _finish(x, y, 0.0, rng)


def make_regression(
    n_samples: int = 100,
    n_features: int = 1,
    noise: float = 0.0,
    n_informative: int | None = None,
    bias: float = 0.0,
    return_coef: bool = False,
    seed: int | None = None,
) -> tuple[np.ndarray, ...]:
    r"""A linear regression problem with Gaussian noise.

    .. math::

        y = X w + b + \varepsilon, \qquad X_{ij} \sim \mathcal N(0, 1), \qquad
        \varepsilon_i \sim \mathcal N(0, \sigma^2),

    where the first ``n_informative`` weights are drawn uniformly in :math:`[-5, 5]` and the
    others are zero (those features carry no information about :math:`y`).

    Parameters
    ----------
    n_samples : int, default 100
        Number of samples.
    n_features : int, default 1
        Number of features.
    noise : float, default 0.0
        Standard deviation :math:`\sigma` of the noise added to the targets.
    n_informative : int or None, default None
        Number of features with a non-zero weight; all of them by default.
    bias : float, default 0.0
        The intercept :math:`b`.
    return_coef : bool, default False
        Also return the true weights :math:`w`.
    seed : int or None, default None
        Seed of the local random generator; the same seed gives the same data.

    Returns
    -------
    x : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,), float64
        Continuous targets.
    coef : ndarray of shape (n_features,), float64
        Only when ``return_coef`` is true.
    """
    n_samples = _check_count(n_samples, "n_samples", 1)
    n_features = _check_count(n_features, "n_features", 1)
    noise = _check_noise(noise)
    if n_informative is None:
        n_informative = n_features
    n_informative = _check_count(n_informative, "n_informative", 0)
    if n_informative > n_features:
        raise ValueError(f"n_informative ({n_informative}) cannot exceed n_features ({n_features})")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_samples, n_features))
    coef = np.zeros(n_features)
    coef[:n_informative] = rng.uniform(-5.0, 5.0, size=n_informative)
    y = x @ coef + float(bias)
    if noise > 0:
        y = y + rng.normal(scale=noise, size=n_samples)
    return (x, y, coef) if return_coef else (x, y)
