"""The seeded toy data generators."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinynet import datasets
from tinynet.datasets import make_blobs, make_circles, make_moons, make_regression, make_spirals, make_xor

CLASSIFIERS = [make_moons, make_circles, make_spirals, make_xor, make_blobs]


@pytest.mark.parametrize("make", [*CLASSIFIERS, make_regression])
@given(n=st.integers(3, 60), seed=st.integers(0, 2**32 - 1))
def test_deterministic_given_seed(make, n, seed):
    a, b = make(n, seed=seed), make(n, seed=seed)
    for u, v in zip(a, b, strict=True):
        assert np.array_equal(u, v)


@pytest.mark.parametrize("make", [*CLASSIFIERS, make_regression])
def test_different_seeds_differ_and_global_state_untouched(make):
    # The legacy global state is exactly what the generators must leave alone.
    np.random.seed(123)  # noqa: NPY002
    before = np.random.random()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    x0, _ = make(50, seed=0)
    x1, _ = make(50, seed=1)
    assert np.random.random() == before  # noqa: NPY002
    assert not np.array_equal(x0, x1)


@pytest.mark.parametrize("make", CLASSIFIERS)
def test_shapes_and_types(make):
    x, y = make(101, seed=0)
    assert x.shape == (101, 2) and x.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64
    assert np.isfinite(x).all()


@pytest.mark.parametrize("make", [make_moons, make_circles, make_spirals])
def test_balanced_and_shuffled(make):
    _x, y = make(101, seed=0)
    assert np.bincount(y).tolist() == [51, 50]
    # Shuffled: the first ten samples are not all one class.
    assert 0 < y[:10].sum() < 10


def test_moons_geometry_without_noise():
    x, y = make_moons(200, seed=0)
    upper, lower = x[y == 0], x[y == 1]
    assert np.allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    assert np.allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert (upper[:, 1] >= -1e-12).all() and (lower[:, 1] <= 0.5 + 1e-12).all()


def test_noise_moves_points():
    clean, y_clean = make_moons(200, seed=0)
    noisy, y_noisy = make_moons(200, noise=0.1, seed=0)
    # Same seed, any noise level: the same samples in the same order, only displaced.
    assert np.array_equal(y_clean, y_noisy)
    assert np.abs(noisy - clean).max() < 1.0
    assert not np.allclose(np.hypot(noisy[y_noisy == 0, 0], noisy[y_noisy == 0, 1]), 1.0)


@pytest.mark.parametrize("factor", [0.3, 0.5, 0.8])
def test_circles_radii(factor):
    x, y = make_circles(100, factor=factor, seed=0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.allclose(r[y == 0], 1.0)
    assert np.allclose(r[y == 1], factor)


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_spirals_arms(n_classes):
    x, y = make_spirals(300, n_classes=n_classes, seed=0)
    assert sorted(set(y.tolist())) == list(range(n_classes))
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.min() == pytest.approx(0.05) and r.max() == pytest.approx(1.0)
    # Arm k is arm 0 rotated by 2*pi*k/K: rotate it back and it lies on arm 0.
    order = np.lexsort((r, y))
    per_class = np.bincount(y)
    assert (per_class == per_class[0]).all()
    arms = x[order].reshape(n_classes, per_class[0], 2)
    for k in range(1, n_classes):
        a = -2 * np.pi * k / n_classes
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        assert np.allclose(arms[k] @ rot.T, arms[0])


def test_xor_labels_follow_quadrants():
    x, y = make_xor(500, seed=3)
    assert np.array_equal(y, ((x[:, 0] > 0) != (x[:, 1] > 0)).astype(np.int64))
    assert (np.abs(x) <= 1).all()
    # Noise is added after labelling, so some points end up in the "wrong" quadrant.
    xn, yn = make_xor(500, noise=0.3, seed=3)
    assert not np.array_equal(yn, ((xn[:, 0] > 0) != (xn[:, 1] > 0)).astype(np.int64))


def test_blobs_given_centers_and_std():
    centers = np.array([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0]])
    x, y = make_blobs(4000, centers=centers, cluster_std=[1.0, 3.0], seed=0)
    assert x.shape == (4000, 3)
    assert np.bincount(y).tolist() == [2000, 2000]
    assert np.allclose(x[y == 0].mean(axis=0), centers[0], atol=0.2)
    assert np.allclose(x[y == 1].mean(axis=0), centers[1], atol=0.4)
    assert (x[y == 0] - centers[0]).std() == pytest.approx(1.0, rel=0.1)
    assert (x[y == 1] - centers[1]).std() == pytest.approx(3.0, rel=0.1)


def test_blobs_random_centers_in_box():
    x, y = make_blobs(300, centers=4, n_features=5, cluster_std=0.0, center_box=(-2.0, 2.0), seed=1)
    assert x.shape == (300, 5) and np.bincount(y).tolist() == [75, 75, 75, 75]
    assert (np.abs(x) <= 2).all()
    # cluster_std=0: every point sits exactly on its centre.
    assert all(len(np.unique(x[y == k], axis=0)) == 1 for k in range(4))


def test_regression_is_linear():
    x, y, coef = make_regression(200, n_features=4, n_informative=2, bias=3.0, return_coef=True, seed=0)
    assert x.shape == (200, 4) and y.shape == (200,) and y.dtype == np.float64
    assert coef[2:].tolist() == [0.0, 0.0] and (coef[:2] != 0).all()
    assert np.allclose(y, x @ coef + 3.0)
    _, y_noisy = make_regression(200, n_features=4, n_informative=2, bias=3.0, noise=0.5, seed=0)
    residual = y_noisy - (x @ coef + 3.0)
    assert residual.std() == pytest.approx(0.5, rel=0.2)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: make_moons(1), "n_samples"),
        (lambda: make_moons(10.5), "n_samples"),
        (lambda: make_moons(10, noise=-0.1), "noise"),
        (lambda: make_xor(10, noise=float("nan")), "noise"),
        (lambda: make_circles(10, factor=1.0), "factor"),
        (lambda: make_spirals(10, n_classes=1), "n_classes"),
        (lambda: make_spirals(2, n_classes=3), "n_samples"),
        (lambda: make_spirals(10, turns=0), "turns"),
        (lambda: make_blobs(10, centers=0), "centers"),
        (lambda: make_blobs(10, centers=[1.0, 2.0]), "centers"),
        (lambda: make_blobs(10, cluster_std=[1.0, 2.0]), "cluster_std"),
        (lambda: make_blobs(10, cluster_std=-1.0), "cluster_std"),
        (lambda: make_blobs(10, center_box=(1.0, 1.0)), "center_box"),
        (lambda: make_regression(10, n_features=2, n_informative=3), "n_informative"),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_exported_from_package():
    assert datasets.make_spirals is make_spirals
