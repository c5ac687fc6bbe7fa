"""train_test_split, standardize / Standardizer and one_hot."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinynet.datasets import Standardizer, one_hot, standardize, train_test_split

# ---------------------------------------------------------------------- train_test_split


def _rows(n, d=3):
    """x whose first column is the sample index, to trace rows through the split."""
    return np.column_stack([np.arange(n), np.zeros((n, d - 1))]).astype(np.float64)


def test_split_sizes_and_order_of_outputs():
    x, y = _rows(10), np.arange(10) * 10
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, seed=0)
    assert x_tr.shape == (7, 3) and x_te.shape == (3, 3)
    assert y_tr.shape == (7,) and y_te.shape == (3,)
    # Rows stay paired with their targets.
    assert np.array_equal(x_tr[:, 0] * 10, y_tr) and np.array_equal(x_te[:, 0] * 10, y_te)


@pytest.mark.parametrize(
    ("n", "test_size", "n_test"), [(100, 0.07, 7), (50, 0.28, 14), (10, 0.25, 3), (5, 0.5, 3), (10, 4, 4)]
)
def test_test_size_rounds_up_without_float_error(n, test_size, n_test):
    # 0.07 * 100 is 7.000000000000001 in floating point: still 7 test samples, not 8.
    _, x_te, _, _ = train_test_split(_rows(n), np.zeros(n), test_size=test_size, seed=0)
    assert len(x_te) == n_test


@given(n=st.integers(2, 80), frac=st.floats(0.01, 0.99), seed=st.integers(0, 2**32 - 1))
def test_split_is_a_partition_and_deterministic(n, frac, seed):
    x, y = _rows(n), np.arange(n)
    try:
        parts = train_test_split(x, y, test_size=frac, seed=seed)
    except ValueError:
        # Only when the rounded test set would be empty or everything.
        assert not 1 <= np.ceil(round(frac * n, 9)) <= n - 1
        return
    _x_tr, _x_te, y_tr, y_te = parts
    assert sorted(np.r_[y_tr, y_te].tolist()) == list(range(n))
    again = train_test_split(x, y, test_size=frac, seed=seed)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))


def test_split_shuffles_and_seed_matters():
    x, y = _rows(100), np.arange(100)
    _, _, y_tr0, _ = train_test_split(x, y, seed=0)
    _, _, y_tr1, _ = train_test_split(x, y, seed=1)
    assert not np.array_equal(y_tr0, np.sort(y_tr0))
    assert not np.array_equal(y_tr0, y_tr1)


def test_split_multidimensional_x_and_one_hot_y():
    x = np.zeros((20, 1, 8, 8))
    y = np.eye(4)[np.arange(20) % 4]
    x_tr, _x_te, _y_tr, y_te = train_test_split(x, y, test_size=0.2, seed=0, stratify=True)
    assert x_tr.shape == (16, 1, 8, 8) and y_te.shape == (4, 4)
    assert y_te.sum(axis=0).tolist() == [1, 1, 1, 1]


def test_stratified_keeps_proportions():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    x = _rows(100)
    _x_tr, _x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, seed=0, stratify=True)
    assert np.bincount(y_te).tolist() == [12, 6, 2]
    assert np.bincount(y_tr).tolist() == [48, 24, 8]
    # Not grouped by class on output.
    assert not np.array_equal(y_tr, np.sort(y_tr))


def test_stratified_gives_every_class_both_sides():
    # 2% of the rare class rounds to 0 test samples; stratification still puts one on each side.
    y = np.repeat([0, 1], [98, 2])
    _, _, y_tr, y_te = train_test_split(_rows(100), y, test_size=0.1, seed=0, stratify=True)
    assert np.bincount(y_te).tolist() == [9, 1]
    assert np.bincount(y_tr).tolist() == [89, 1]
    # And the mirror case: a test fraction so large a class would go entirely to the test set.
    y = np.repeat([0, 1], [3, 7])
    _, _, y_tr, y_te = train_test_split(_rows(10), y, test_size=0.8, seed=0, stratify=True)
    assert (np.bincount(y_tr, minlength=2) >= 1).all() and len(y_te) == 8


def test_stratified_when_small_classes_cannot_keep_proportions():
    # 25 of 30 samples to test; classes of 2 can give at most 1 each (one must stay in train).
    y = np.repeat([0, 1, 2, 3], [2, 2, 2, 24])
    _, _, y_tr, y_te = train_test_split(_rows(30), y, test_size=25, seed=0, stratify=True)
    assert np.bincount(y_te).tolist() == [1, 1, 1, 22]
    assert np.bincount(y_tr).tolist() == [1, 1, 1, 2]


@given(
    counts=st.lists(st.integers(2, 30), min_size=2, max_size=5),
    frac=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**32 - 1),
)
def test_stratified_property(counts, frac, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    n, k = len(y), len(counts)
    n_test = int(np.ceil(round(frac * n, 9)))
    if not k <= n_test <= n - k:
        with pytest.raises(ValueError):
            train_test_split(_rows(n), y, test_size=frac, seed=seed, stratify=True)
        return
    x_tr, x_te, y_tr, y_te = train_test_split(_rows(n), y, test_size=frac, seed=seed, stratify=True)
    assert len(y_te) == n_test
    te = np.bincount(y_te, minlength=k)
    tr = np.bincount(y_tr, minlength=k)
    assert (te >= 1).all() and (tr >= 1).all()
    assert (te + tr).tolist() == counts
    ideal = np.array(counts) * n_test / n
    if ((ideal >= 1) & (ideal <= np.array(counts) - 1)).all():
        # No class needs forcing onto a side: plain largest-remainder rounding, within 1 of ideal.
        assert (np.abs(te - ideal) < 1).all()
    else:
        # E.g. counts (2, 2, 2, 24) with 25 test samples: the small classes can give only one
        # each, so the big one gives 22 instead of 20.  Each forced move shifts one sample.
        assert (np.abs(te - ideal) <= k).all()
    # Rows stay paired with their labels, and every sample lands in exactly one set.
    assert np.array_equal(y[x_te[:, 0].astype(int)], y_te) and np.array_equal(y[x_tr[:, 0].astype(int)], y_tr)
    assert sorted(np.r_[x_tr[:, 0], x_te[:, 0]].tolist()) == list(range(n))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"test_size": 0.0}, "strictly between 0 and 1"),
        ({"test_size": 1.0}, "strictly between 0 and 1"),
        ({"test_size": -0.2}, "strictly between 0 and 1"),
        ({"test_size": 10}, "between 1 and n_samples - 1"),
        ({"test_size": 0}, "between 1 and n_samples - 1"),
        ({"test_size": True}, "test_size"),
        ({"test_size": "0.2"}, "test_size"),
        ({"test_size": 0.95}, "both sets need at least one"),
    ],
)
def test_split_bad_test_size(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_test_split(_rows(10), np.zeros(10), **kwargs)


def test_split_mismatched_lengths():
    with pytest.raises(ValueError, match="same number of samples, got 10 and 9"):
        train_test_split(_rows(10), np.zeros(9))


def test_split_too_few_samples():
    with pytest.raises(ValueError, match="at least 2 samples"):
        train_test_split(_rows(1), np.zeros(1))


def test_stratify_class_too_small():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 0])
    with pytest.raises(ValueError, match="class 2 has only 1"):
        train_test_split(_rows(10), y, stratify=True)


def test_stratify_more_classes_than_test_samples():
    y = np.repeat([0, 1, 2, 3, 4], 2)
    with pytest.raises(ValueError, match="each of the 5 classes"):
        train_test_split(_rows(10), y, test_size=0.2, stratify=True)


# --------------------------------------------------------------------------- standardize


def test_standardize_uses_train_statistics_only():
    x_train = np.array([[1.0, 10.0], [3.0, 30.0]])  # mean (2, 20), std (1, 10)
    x_test = np.array([[5.0, 0.0]])
    tr, te = standardize(x_train, x_test)
    assert tr.tolist() == [[-1.0, -1.0], [1.0, 1.0]]
    assert te.tolist() == [[3.0, -2.0]]


def test_standardize_return_forms():
    x = np.array([[0.0], [2.0]])
    assert isinstance(standardize(x), np.ndarray)
    tr, scaler = standardize(x, return_scaler=True)
    assert tr.ravel().tolist() == [-1.0, 1.0]
    assert isinstance(scaler, Standardizer) and scaler.mean_.tolist() == [1.0]
    tr, te, scaler = standardize(x, x + 1, return_scaler=True)
    assert tr.ravel().tolist() == [-1.0, 1.0] and te.ravel().tolist() == [0.0, 2.0]
    assert scaler.std_.tolist() == [1.0]


def test_constant_feature_maps_to_zero_not_nan():
    # 0.1 is not exactly representable: the computed mean differs from 0.1 by an ulp and a naive
    # std guard (std == 0) would leave a tiny std that blows the column up.
    x = np.column_stack([np.full(7, 0.1), np.arange(7.0)])
    z = standardize(x)
    assert np.isfinite(z).all()
    assert (z[:, 0] == 0).all()
    scaler = Standardizer().fit(x)
    assert scaler.std_[0] == 1.0
    assert np.array_equal(scaler.transform(np.array([[1.1, 3.0]]))[:, 0], [1.0])


@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(2, 30), st.integers(1, 5)),
        elements=st.floats(-1e3, 1e3, allow_subnormal=False),
    )
)
def test_standardized_columns_have_mean_0_std_1(x):
    z = standardize(x)
    constant = np.ptp(x, axis=0) == 0
    assert (z[:, constant] == 0).all()
    # A column whose values differ by a few ulps cannot be centred exactly in floating point
    # (the differences themselves are quantised); check the well-conditioned ones.
    clear = np.ptp(x, axis=0) > 1e-6 * np.maximum(1.0, np.abs(x).max(axis=0))
    assert np.allclose(z[:, clear].mean(axis=0), 0.0, atol=1e-9)
    assert np.allclose(z[:, clear].std(axis=0), 1.0)
    scaler = Standardizer().fit(x)
    assert np.allclose(scaler.inverse_transform(scaler.transform(x)), x, atol=1e-9)


def test_standardizer_dtypes_and_images():
    x32 = np.arange(12, dtype=np.float32).reshape(3, 1, 2, 2)
    scaler = Standardizer().fit(x32)
    assert scaler.mean_.shape == (1, 2, 2)
    assert scaler.transform(x32).dtype == np.float32
    assert scaler.transform(np.arange(12).reshape(3, 1, 2, 2)).dtype == np.float64
    assert "n_features=4" in repr(scaler)


def test_standardizer_errors():
    with pytest.raises(RuntimeError, match="fit"):
        Standardizer().transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="empty"):
        Standardizer().fit(np.zeros((0, 3)))
    scaler = Standardizer().fit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"expected samples of shape \(3,\)"):
        scaler.transform(np.zeros((4, 2)))


def test_standardize_does_not_modify_input():
    x = np.array([[1.0], [3.0]])
    standardize(x)
    assert x.tolist() == [[1.0], [3.0]]


# ------------------------------------------------------------------------------- one_hot


def test_one_hot_values():
    assert one_hot([2, 0, 1]).tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0]]
    out = one_hot(np.array([[1], [0]]), num_classes=4, dtype=np.float32)
    assert out.dtype == np.float32 and out.tolist() == [[0, 1, 0, 0], [1, 0, 0, 0]]
    assert one_hot([0.0, 2.0]).shape == (2, 3)
    assert one_hot([], num_classes=3).shape == (0, 3)


@given(hnp.arrays(np.int64, st.integers(1, 40), elements=st.integers(0, 9)))
def test_one_hot_round_trip(y):
    encoded = one_hot(y)
    assert encoded.shape == (y.size, y.max() + 1)
    assert (encoded.sum(axis=1) == 1).all()
    assert np.array_equal(encoded.argmax(axis=1), y)


@pytest.mark.parametrize(
    ("y", "kwargs", "match"),
    [
        ([0, 1.5], {}, "integer class labels"),
        ([0, -1], {}, ">= 0"),
        ([0, 3], {"num_classes": 3}, "out of range"),
        ([0, 1], {"num_classes": 0}, "positive integer"),
        ([], {}, "empty"),
        (np.zeros((2, 2)), {}, r"shape \(N,\)"),
        (["a", "b"], {}, "integer class labels"),
    ],
)
def test_one_hot_bad_input(y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        one_hot(y, **kwargs)
