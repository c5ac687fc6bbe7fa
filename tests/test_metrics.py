"""Tests of tinynet.metrics: hand-computed values, edge cases and properties."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinynet import metrics
from tinynet.metrics import (
    accuracy,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision,
    r2_score,
    recall,
    roc_auc,
    roc_curve,
)

# ---------------------------------------------------------------- a binary example, by hand
#
#   index      0    1    2    3    4    5    6     7
#   y_true     1    1    1    0    0    0    0     1
#   p          0.9  0.4  0.6  0.2  0.7  0.1  0.55  0.8
#   p > 0.5    1    0    1    0    1    0    1     1
#
# TP = {0, 2, 7} = 3, FN = {1} = 1, FP = {4, 6} = 2, TN = {3, 5} = 2
# confusion matrix (rows true, columns predicted) = [[TN, FP], [FN, TP]] = [[2, 2], [1, 3]]
# accuracy = 5/8, precision = 3/5, recall = 3/4, F1 = 2*3 / (2*3 + 2 + 1) = 2/3
# with pos_label=0: precision = TN/(TN+FN) = 2/3, recall = 2/4, F1 = 4 / (4 + 1 + 2) = 4/7
BIN_TRUE = np.array([1, 1, 1, 0, 0, 0, 0, 1])
BIN_PROB = np.array([0.9, 0.4, 0.6, 0.2, 0.7, 0.1, 0.55, 0.8])
BIN_PRED = np.array([1, 0, 1, 0, 1, 0, 1, 1])

# ---------------------------------------------------------------- a 3-class example, by hand
#
#   y_true  0 0 0 0 0 1 1 1 2 2        support = (5, 3, 2)
#   y_pred  0 0 0 1 2 1 1 0 2 1
#
#   C = [[3, 1, 1],     column sums (predicted counts) = (4, 4, 2)
#        [1, 2, 0],     TP = (3, 2, 1), FP = (1, 2, 1), FN = (2, 1, 1)
#        [0, 1, 1]]
#
#   precision per class = (3/4, 2/4, 1/2)   recall = (3/5, 2/3, 1/2)
#   F1 = 2TP / (2TP + FP + FN) = (6/9, 4/7, 2/4) = (2/3, 4/7, 1/2)
#
#   macro    P = (3/4 + 1/2 + 1/2) / 3 = 7/12
#            R = (3/5 + 2/3 + 1/2) / 3 = (18 + 20 + 15)/30 / 3 = 53/90
#            F1 = (2/3 + 4/7 + 1/2) / 3 = (28 + 24 + 21)/42 / 3 = 73/126
#   micro    P = R = F1 = sum TP / N = 6/10 (= accuracy)
#   weighted P = (5*3/4 + 3*1/2 + 2*1/2) / 10 = 25/4 / 10 = 5/8
#            R = (5*3/5 + 3*2/3 + 2*1/2) / 10 = 6/10
#            F1 = (5*2/3 + 3*4/7 + 2*1/2) / 10 = (70 + 36 + 21)/21 / 10 = 127/210
MC_TRUE = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2, 2])
MC_PRED = np.array([0, 0, 0, 1, 2, 1, 1, 0, 2, 1])
MC_CM = [[3, 1, 1], [1, 2, 0], [0, 1, 1]]


def _scores_for(labels, k, seed=0):
    """Random class scores whose argmax is ``labels``."""
    s = np.random.default_rng(seed).uniform(0, 0.4, size=(len(labels), k))
    s[np.arange(len(labels)), labels] += 1.0
    return s


# ------------------------------------------------------------------------------- accuracy


class TestAccuracy:
    def test_binary_probabilities(self):
        assert accuracy(BIN_TRUE, BIN_PROB) == 5 / 8
        assert accuracy(BIN_TRUE.reshape(-1, 1), BIN_PROB.reshape(-1, 1)) == 5 / 8
        assert accuracy(BIN_TRUE.astype(np.float32).reshape(-1, 1), BIN_PROB.astype(np.float32)) == 5 / 8

    def test_threshold_is_strict(self):
        # Keras' binary accuracy: 0.5 itself is class 0.
        assert accuracy([0, 1], [0.5, 0.5000001]) == 1.0

    def test_labels(self):
        assert accuracy(BIN_TRUE, BIN_PRED) == 5 / 8
        assert accuracy(MC_TRUE, MC_PRED) == 0.6

    def test_integral_float_labels_are_labels_not_probabilities(self):
        # 2.0 thresholded would become 1: float labels must be kept as labels.
        assert accuracy([0.0, 2.0, 1.0], [0.0, 2.0, 2.0]) == pytest.approx(2 / 3)

    def test_sparse_and_one_hot_against_scores(self):
        scores = _scores_for(MC_PRED, 3)
        assert accuracy(MC_TRUE, scores) == 0.6
        assert accuracy(MC_TRUE.reshape(-1, 1), scores) == 0.6
        assert accuracy(np.eye(3)[MC_TRUE], scores) == 0.6

    def test_one_hot_two_class_target_against_sigmoid(self):
        assert accuracy(np.eye(2)[BIN_TRUE], BIN_PROB.reshape(-1, 1)) == 5 / 8

    def test_bool_labels(self):
        assert accuracy(np.array([True, False]), np.array([True, True])) == 0.5

    def test_returns_python_float(self):
        assert type(accuracy([1, 0], [1, 0])) is float

    def test_nan_predictions_do_not_warn(self):
        # A diverged model must not crash training from inside a metric.
        assert accuracy([0, 1], [np.nan, 0.9]) == 1.0

    @pytest.mark.parametrize(
        ("y_true", "y_pred", "match"),
        [
            ([0, 1, 1], [0, 1], "numbers of samples"),
            ([], [], "empty"),
            ([0, -1], [0, 1], "negative"),
            (np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), "shape"),
            (np.array(["a", "b"]), [0, 1], "numeric"),
        ],
    )
    def test_bad_input(self, y_true, y_pred, match):
        with pytest.raises(ValueError, match=match):
            accuracy(y_true, y_pred)


# ------------------------------------------------------------------------- confusion matrix


class TestConfusionMatrix:
    def test_binary_by_hand(self):
        cm = confusion_matrix(BIN_TRUE, BIN_PROB)
        assert cm.dtype == np.int64
        assert cm.tolist() == [[2, 2], [1, 3]]

    def test_multiclass_by_hand(self):
        assert confusion_matrix(MC_TRUE, MC_PRED).tolist() == MC_CM
        assert confusion_matrix(np.eye(3)[MC_TRUE], _scores_for(MC_PRED, 3)).tolist() == MC_CM

    def test_rows_are_true_columns_predicted(self):
        # One sample of class 0 predicted as 2: cell (0, 2), not (2, 0).
        assert confusion_matrix([0], [2]).tolist() == [[0, 0, 1], [0, 0, 0], [0, 0, 0]]

    def test_num_classes(self):
        cm = confusion_matrix([0, 1], [1, 1], num_classes=4)
        assert cm.shape == (4, 4)
        assert cm[0, 1] == 1 and cm[1, 1] == 1 and cm.sum() == 2

    def test_width_of_scores_sets_k(self):
        # Class 3 never occurs, but a (N, 4) softmax output says there are 4 classes.
        assert confusion_matrix([0, 1], _scores_for([0, 1], 4)).shape == (4, 4)

    def test_label_out_of_range(self):
        with pytest.raises(ValueError, match="out of range"):
            confusion_matrix([0, 3], [0, 1], num_classes=3)

    def test_bad_num_classes(self):
        with pytest.raises(ValueError, match="positive integer"):
            confusion_matrix([0, 1], [0, 1], num_classes=0)

    @given(
        st.integers(1, 6).flatmap(
            lambda k: st.tuples(
                st.just(k),
                hnp.arrays(np.int64, st.integers(1, 40), elements=st.integers(0, k - 1)),
                st.integers(0, 2**32 - 1),
            )
        )
    )
    def test_properties(self, args):
        k, t, seed = args
        p = np.random.default_rng(seed).integers(0, k, size=t.size)
        cm = confusion_matrix(t, p, num_classes=k)
        assert cm.shape == (k, k)
        assert cm.sum() == t.size
        assert cm.sum(axis=1).tolist() == np.bincount(t, minlength=k).tolist()
        assert cm.sum(axis=0).tolist() == np.bincount(p, minlength=k).tolist()
        assert np.trace(cm) / t.size == accuracy(t, p)
        # Swapping the roles transposes the matrix.
        assert (confusion_matrix(p, t, num_classes=k) == cm.T).all()


# --------------------------------------------------------------- precision, recall, F1


class TestPrecisionRecallF1:
    def test_binary_by_hand(self):
        assert precision(BIN_TRUE, BIN_PROB) == pytest.approx(3 / 5)
        assert recall(BIN_TRUE, BIN_PROB) == pytest.approx(3 / 4)
        assert f1_score(BIN_TRUE, BIN_PROB) == pytest.approx(2 / 3)
        # Same from labels and from a (N, 1) sigmoid column.
        assert precision(BIN_TRUE, BIN_PRED) == pytest.approx(3 / 5)
        assert recall(BIN_TRUE.reshape(-1, 1), BIN_PROB.reshape(-1, 1)) == pytest.approx(3 / 4)

    def test_binary_pos_label_0(self):
        assert precision(BIN_TRUE, BIN_PROB, pos_label=0) == pytest.approx(2 / 3)
        assert recall(BIN_TRUE, BIN_PROB, pos_label=0) == pytest.approx(1 / 2)
        assert f1_score(BIN_TRUE, BIN_PROB, pos_label=0) == pytest.approx(4 / 7)

    def test_multiclass_by_hand(self):
        t, p = MC_TRUE, MC_PRED
        assert precision(t, p, average="macro") == pytest.approx(7 / 12)
        assert recall(t, p, average="macro") == pytest.approx(53 / 90)
        assert f1_score(t, p, average="macro") == pytest.approx(73 / 126)
        for fn in (precision, recall, f1_score):
            assert fn(t, p, average="micro") == pytest.approx(6 / 10)
        assert precision(t, p, average="weighted") == pytest.approx(5 / 8)
        assert recall(t, p, average="weighted") == pytest.approx(6 / 10)
        assert f1_score(t, p, average="weighted") == pytest.approx(127 / 210)

    def test_per_class(self):
        np.testing.assert_allclose(precision(MC_TRUE, MC_PRED, average=None), [3 / 4, 1 / 2, 1 / 2])
        np.testing.assert_allclose(recall(MC_TRUE, MC_PRED, average=None), [3 / 5, 2 / 3, 1 / 2])
        np.testing.assert_allclose(f1_score(MC_TRUE, MC_PRED, average=None), [2 / 3, 4 / 7, 1 / 2])

    def test_multiclass_from_scores_and_one_hot(self):
        scores = _scores_for(MC_PRED, 3)
        assert f1_score(np.eye(3)[MC_TRUE], scores, average="macro") == pytest.approx(73 / 126)

    def test_macro_f1_is_not_f1_of_macro_precision_and_recall(self):
        p, r = 7 / 12, 53 / 90
        assert f1_score(MC_TRUE, MC_PRED, average="macro") != pytest.approx(2 * p * r / (p + r))

    def test_no_positive_predictions_gives_zero_without_warning(self):
        # TP + FP = 0: precision is 0/0, defined as 0; F1 also 0.
        assert precision([0, 1, 1], [0, 0, 0]) == 0.0
        assert recall([0, 1, 1], [0, 0, 0]) == 0.0
        assert f1_score([0, 1, 1], [0.1, 0.2, 0.3]) == 0.0

    def test_no_positive_samples(self):
        # TP + FN = 0: recall is 0/0 -> 0; precision 0/1 = 0.
        assert recall([0, 0], [0, 1]) == 0.0
        assert precision([0, 0], [0, 1]) == 0.0
        assert recall([0, 0], [0, 0]) == 0.0

    def test_only_class_0_anywhere(self):
        # Labels span a single class: class 1 is absent, its score is 0, not an IndexError.
        assert f1_score([0, 0], [0, 0]) == 0.0
        assert f1_score([0, 0], [0, 0], pos_label=0) == 1.0

    def test_macro_ignores_classes_absent_from_both(self):
        # A 4-column softmax where class 3 never occurs: macro over classes 0..2 only.
        scores = _scores_for(MC_PRED, 4)
        assert f1_score(MC_TRUE, scores, average="macro") == pytest.approx(73 / 126)

    def test_macro_counts_class_only_predicted(self):
        # Class 2 is predicted but never true: it counts, with precision 0.
        assert precision([0, 1], [0, 2], average="macro") == pytest.approx((1 + 0 + 0) / 3)

    def test_perfect(self):
        assert f1_score(MC_TRUE, MC_TRUE, average="macro") == 1.0

    def test_binary_rejects_multiclass(self):
        with pytest.raises(ValueError, match="average='macro'"):
            precision(MC_TRUE, MC_PRED)

    def test_bad_average_and_pos_label(self):
        with pytest.raises(ValueError, match="average must be one of"):
            recall(BIN_TRUE, BIN_PRED, average="samples")
        with pytest.raises(ValueError, match="pos_label"):
            recall(BIN_TRUE, BIN_PRED, pos_label=2)

    @given(
        st.integers(2, 6).flatmap(
            lambda k: st.tuples(
                hnp.arrays(np.int64, st.integers(1, 50), elements=st.integers(0, k - 1)),
                st.integers(0, 2**32 - 1),
                st.just(k),
            )
        )
    )
    def test_micro_equals_accuracy(self, args):
        t, seed, k = args
        p = np.random.default_rng(seed).integers(0, k, size=t.size)
        acc = accuracy(t, p)
        assert f1_score(t, p, average="micro") == pytest.approx(acc)
        assert precision(t, p, average="micro") == pytest.approx(acc)
        assert recall(t, p, average="micro") == pytest.approx(acc)
        # Support-weighted recall is also the accuracy.
        assert recall(t, p, average="weighted") == pytest.approx(acc)

    @given(
        hnp.arrays(np.int64, st.integers(1, 50), elements=st.integers(0, 1)),
        hnp.arrays(np.float64, st.integers(1, 50), elements=st.floats(0, 1)),
    )
    def test_binary_f1_is_harmonic_mean(self, t, probs):
        n = min(t.size, probs.size)
        t, probs = t[:n], probs[:n]
        p, r, f = precision(t, probs), recall(t, probs), f1_score(t, probs)
        assert 0.0 <= f <= 1.0
        expected = 0.0 if p + r == 0 else 2 * p * r / (p + r)
        assert f == pytest.approx(expected)
        assert min(p, r) - 1e-12 <= f <= max(p, r) + 1e-12


# ------------------------------------------------------------------------------ regression


class TestRegression:
    # errors y - p = (0.5, -0.5, 0, -1): MAE = 2/4, MSE = (0.25 + 0.25 + 0 + 1)/4 = 3/8
    # mean y = 11.5/4 = 2.875; SS_tot = 0.125^2 + 3.375^2 + 0.875^2 + 4.125^2 = 29.1875 = 467/16
    # SS_res = 1.5 = 24/16, so R^2 = 1 - 24/467 = 443/467
    Y = np.array([3.0, -0.5, 2.0, 7.0])
    P = np.array([2.5, 0.0, 2.0, 8.0])

    def test_by_hand(self):
        assert mean_absolute_error(self.Y, self.P) == 0.5
        assert mean_squared_error(self.Y, self.P) == 0.375
        assert r2_score(self.Y, self.P) == pytest.approx(443 / 467)

    def test_column_output_does_not_broadcast(self):
        # (N,) against (N, 1) would silently broadcast to (N, N) without the reshape.
        assert mean_squared_error(self.Y, self.P.reshape(-1, 1)) == 0.375
        assert r2_score(self.Y.reshape(-1, 1), self.P) == pytest.approx(443 / 467)

    def test_short_names(self):
        assert metrics.mae(self.Y, self.P) == 0.5
        assert metrics.mse(self.Y, self.P) == 0.375

    def test_r2_mean_prediction_is_zero_and_worse_is_negative(self):
        assert r2_score(self.Y, np.full(4, self.Y.mean())) == pytest.approx(0.0, abs=1e-12)
        assert r2_score(self.Y, -self.Y) < 0

    def test_r2_constant_targets(self):
        assert r2_score([2.0, 2.0], [2.0, 2.0]) == 1.0
        assert r2_score([2.0, 2.0], [2.0, 3.0]) == 0.0

    def test_r2_multi_output_averages_columns(self):
        y = np.column_stack([self.Y, self.Y])
        p = np.column_stack([self.P, self.Y])
        assert r2_score(y, p) == pytest.approx((443 / 467 + 1.0) / 2)

    def test_bad_input(self):
        with pytest.raises(ValueError, match="same shape"):
            mean_absolute_error([1.0, 2.0], [1.0, 2.0, 3.0])
        with pytest.raises(ValueError, match="empty"):
            r2_score([], [])

    @given(hnp.arrays(np.float64, st.integers(2, 30), elements=st.floats(-100, 100)))
    def test_perfect_prediction(self, y):
        assert mean_absolute_error(y, y) == 0.0
        assert mean_squared_error(y, y) == 0.0
        assert r2_score(y, y) == 1.0


# -------------------------------------------------------------------------------------- ROC


def _pairwise_auc(t, s):
    """AUC as P(score of a positive > score of a negative), ties counted 1/2 (O(n^2), for tests)."""
    pos, neg = s[t == 1], s[t == 0]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


class TestROC:
    def test_curve_by_hand(self):
        fpr, tpr, thr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        assert fpr.tolist() == [0.0, 0.0, 0.5, 0.5, 1.0]
        assert tpr.tolist() == [0.0, 0.5, 0.5, 1.0, 1.0]
        assert thr.tolist() == [math.inf, 0.8, 0.4, 0.35, 0.1]
        assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75

    def test_ties_form_one_diagonal_step(self):
        # Positives score {0.5, 0.9}, negatives {0.5, 0.2}: the 0.5/0.5 pair counts 1/2,
        # so AUC = (1/2 + 1 + 1 + 1) / 4 = 0.875.
        t, s = [0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]
        fpr, tpr, thr = roc_curve(t, s)
        assert fpr.tolist() == [0.0, 0.0, 0.5, 1.0]
        assert tpr.tolist() == [0.0, 0.5, 1.0, 1.0]
        assert thr.tolist() == [math.inf, 0.9, 0.5, 0.2]
        assert roc_auc(t, s) == 0.875

    def test_all_tied_is_chance(self):
        assert roc_auc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]) == 0.5

    def test_perfect_and_reversed(self):
        assert roc_auc([0, 0, 1], [0.1, 0.2, 0.9]) == 1.0
        assert roc_auc([0, 0, 1], [0.9, 0.8, 0.1]) == 0.0

    def test_score_shapes(self):
        t = np.array([0, 0, 1, 1])
        s = np.array([0.1, 0.4, 0.35, 0.8])
        assert roc_auc(t.reshape(-1, 1), s.reshape(-1, 1)) == 0.75
        assert roc_auc(t, np.column_stack([1 - s, s])) == 0.75
        # Unsigned integer scores must not wrap around when negated for sorting.
        assert roc_auc(t, np.array([1, 4, 3, 8], dtype=np.uint8)) == 0.75

    @pytest.mark.parametrize(
        ("t", "s", "match"),
        [
            ([1, 1], [0.2, 0.3], "both positive"),
            ([0, 0], [0.2, 0.3], "both positive"),
            ([0, 2], [0.2, 0.3], "binary labels"),
            ([0, 1], [0.2, np.nan], "NaN"),
            ([0, 1], [0.2], "numbers of samples"),
            ([0, 1], np.zeros((2, 3)), "shape"),
        ],
    )
    def test_bad_input(self, t, s, match):
        with pytest.raises(ValueError, match=match):
            roc_curve(t, s)

    @given(
        hnp.arrays(np.int64, st.integers(2, 40), elements=st.integers(0, 1)).filter(
            lambda t: 0 < t.sum() < t.size
        ),
        st.integers(0, 2**32 - 1),
    )
    def test_auc_matches_pairwise_definition(self, t, seed):
        # Few distinct values, so that ties are frequent.
        s = np.random.default_rng(seed).integers(0, 5, size=t.size).astype(np.float64)
        auc = roc_auc(t, s)
        assert auc == pytest.approx(_pairwise_auc(t, s))
        assert roc_auc(t, -s) == pytest.approx(1.0 - auc)
        fpr, tpr, thr = roc_curve(t, s)
        assert fpr[0] == tpr[0] == 0.0 and fpr[-1] == tpr[-1] == 1.0
        assert (np.diff(fpr) >= 0).all() and (np.diff(tpr) >= 0).all() and (np.diff(thr) < 0).all()


# ------------------------------------------------------------------------------- registry


class TestRegistry:
    @pytest.mark.parametrize(
        ("name", "canonical"),
        [
            ("accuracy", "accuracy"),
            ("acc", "accuracy"),
            ("precision", "precision"),
            ("recall", "recall"),
            ("f1_score", "f1_score"),
            ("f1", "f1_score"),
            ("mae", "mae"),
            ("mean_absolute_error", "mae"),
            ("mse", "mse"),
            ("mean_squared_error", "mse"),
            ("r2_score", "r2_score"),
            ("r2", "r2_score"),
            ("ACC", "accuracy"),
        ],
    )
    def test_names(self, name, canonical):
        fn = metrics.get(name)
        assert fn.__name__ == canonical
        assert fn is metrics.METRICS[canonical]

    def test_every_function_is_named_by_its_key(self):
        for key, fn in metrics.METRICS.items():
            assert metrics.METRICS[fn.__name__] is fn, key

    def test_registered_metrics_compute(self):
        assert metrics.get("acc")(BIN_TRUE, BIN_PROB) == 5 / 8
        assert metrics.get("mae")([1.0, 2.0], [2.0, 2.0]) == 0.5

    def test_callable_passes_through(self):
        def custom(y_true, y_pred):
            return 0.0

        assert metrics.get(custom) is custom

    def test_unknown_name_lists_valid_ones(self):
        with pytest.raises(ValueError, match="unknown metric 'accuracyy'.*accuracy.*f1_score"):
            metrics.get("accuracyy")

    def test_wrong_type(self):
        with pytest.raises(TypeError):
            metrics.get(3)
