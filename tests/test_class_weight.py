"""Weighted losses: the gradient of L = (1/N) sum w_n l_n checked numerically, by hand, and on Pima."""

import math

import numpy as np
import pytest

import tinynet as tn
from tinynet import losses
from tinynet.gradcheck import check_loss, numerical_gradient, relative_error

RNG = np.random.default_rng(0)
W4 = np.array([0.5, 2.0, 0.0, 1.5])


@pytest.mark.parametrize(
    ("loss", "y_true", "y_pred"),
    [
        (losses.MeanSquaredError(), RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))),
        (losses.MeanAbsoluteError(), RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))),
        (losses.BinaryCrossentropy(), RNG.integers(0, 2, (4, 1)), RNG.uniform(0.1, 0.9, (4, 1))),
        (losses.BinaryCrossentropy(from_logits=True), RNG.integers(0, 2, (4, 2)), RNG.normal(size=(4, 2))),
        (
            losses.CategoricalCrossentropy(),
            np.eye(3)[[0, 2, 1, 2]],
            RNG.dirichlet(np.ones(3), size=4),
        ),
        (losses.CategoricalCrossentropy(from_logits=True), np.eye(3)[[0, 2, 1, 2]], RNG.normal(size=(4, 3))),
        (
            losses.SparseCategoricalCrossentropy(from_logits=True),
            np.array([0, 2, 1, 2]),
            RNG.normal(size=(4, 3)),
        ),
    ],
)
def test_weighted_loss_gradients_match_central_differences(loss, y_true, y_pred):
    # dL/dy_pred_n = (w_n / N) * dl_n/dy_pred_n: every row's gradient scales by its weight
    assert check_loss(loss, y_true, y_pred, sample_weight=W4) < 1e-6
    loss.forward(y_true, y_pred, W4)
    weighted = loss.backward().copy()
    loss.forward(y_true, y_pred)
    plain = loss.backward()
    np.testing.assert_allclose(weighted, plain * W4.reshape((-1,) + (1,) * (plain.ndim - 1)), rtol=1e-12)


def test_weighted_binary_crossentropy_by_hand():
    # two samples, p = 0.8 for a positive (w = 3) and p = 0.4 for a negative (w = 1)
    loss = losses.BinaryCrossentropy()
    value = loss.forward(np.array([[1.0], [0.0]]), np.array([[0.8], [0.4]]), np.array([3.0, 1.0]))
    assert value == pytest.approx((3 * -math.log(0.8) + 1 * -math.log(0.6)) / 2, rel=1e-12)
    # dL/dp = (w/N) (p - t) / (p (1 - p))
    np.testing.assert_allclose(
        loss.backward(), [[3 / 2 * (0.8 - 1) / (0.8 * 0.2)], [1 / 2 * 0.4 / (0.4 * 0.6)]], rtol=1e-12
    )


def _model(output, loss, seed=0):
    tn.set_seed(seed)
    model = tn.Sequential([tn.layers.Dense(4, input_dim=3, activation="tanh"), tn.layers.Dense(*output)])
    model.compile(optimizer="sgd", loss=loss)
    return model


@pytest.mark.parametrize(
    ("output", "loss", "targets"),
    [
        ((1, "sigmoid"), "binary_crossentropy", lambda r: r.integers(0, 2, size=(5, 1))),  # fused
        ((3, "softmax"), "categorical_crossentropy", lambda r: np.eye(3)[r.integers(0, 3, 5)]),  # fused
        ((3, "softmax"), "sparse_categorical_crossentropy", lambda r: r.integers(0, 3, 5)),
        ((2, None), "mse", lambda r: r.normal(size=(5, 2))),
    ],
)
def test_weighted_model_gradients_match_central_differences(float64, output, loss, targets):
    rng = np.random.default_rng(1)
    x, y, w = rng.normal(size=(5, 3)), targets(rng), np.array([1.0, 3.0, 0.5, 0.0, 2.0])
    model = _model(output, loss)
    model.build()
    model.compute_gradients(x, y, sample_weight=w)
    for name, p in model.named_params().items():
        analytic = model.named_grads()[name].copy()
        numeric = numerical_gradient(lambda: model.compute_gradients(x, y, w, backward=False), p)
        assert relative_error(analytic, numeric) < 1e-6, name


def test_class_weight_is_sample_weight_looked_up_by_label():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(40, 3)), rng.integers(0, 2, size=40)
    histories, weights = [], []
    for kwargs in ({"class_weight": {0: 1.0, 1: 3.0}}, {"sample_weight": np.where(y == 1, 3.0, 1.0)}):
        model = _model((1, "sigmoid"), "binary_crossentropy", seed=5)
        histories.append(model.fit(x, y, epochs=2, batch_size=8, verbose=0, **kwargs).history)
        weights.append(model.get_weights())
    assert histories[0] == histories[1]
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_class_weight_and_sample_weight_multiply_and_one_hot_targets_work():
    model = _model((3, "softmax"), "categorical_crossentropy")
    y = np.eye(3)[[0, 1, 2, 2]]
    w = model._sample_weights(y, {0: 2.0, 1: 1.0, 2: 0.5}, np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(w, [2.0, 2.0, 1.5, 2.0])
    with pytest.raises(ValueError, match=r"no entry for the classes \[2\]"):
        model._sample_weights(y, {0: 1.0, 1: 1.0}, None)


def test_the_epoch_loss_is_the_weighted_mean():
    # one batch holding every sample: the logged loss is (1/N) sum w_n l_n at the starting weights
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(12, 3)), rng.integers(0, 2, size=12)
    w = np.where(y == 1, 3.0, 1.0)
    model = _model((1, "sigmoid"), "binary_crossentropy")
    p = model.predict(x)[:, 0].astype(np.float64)
    per_sample = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    history = model.fit(
        x, y, epochs=1, batch_size=12, shuffle=False, class_weight={0: 1.0, 1: 3.0}, verbose=0
    )
    assert history.history["loss"][0] == pytest.approx(np.mean(w * per_sample), rel=1e-5)


def test_class_weight_raises_recall_on_pima():
    x, y = tn.datasets.load_pima_diabetes()  # 35% positive
    x_train, x_test, y_train, y_test = tn.datasets.train_test_split(
        x, y, test_size=0.25, seed=0, stratify=True
    )
    x_train, x_test = tn.datasets.standardize(x_train, x_test)
    scores = {}
    for key, class_weight in (("plain", None), ("weighted", {0: 1.0, 1: 3.0})):
        tn.set_seed(0)
        model = tn.Sequential(
            [tn.layers.Dense(8, input_dim=8, activation="relu"), tn.layers.Dense(1, activation="sigmoid")]
        )
        model.compile(loss="binary_crossentropy", optimizer=tn.optimizers.Adam(0.01))
        model.fit(x_train, y_train, epochs=20, batch_size=32, class_weight=class_weight, verbose=0)
        p = model.predict(x_test)
        scores[key] = (tn.metrics.recall(y_test, p), tn.metrics.precision(y_test, p))
    # missing a positive now costs three times as much: more positives are found...
    assert scores["weighted"][0] > scores["plain"][0] + 0.15
    # ...at the price of more false alarms
    assert scores["weighted"][1] < scores["plain"][1]


@pytest.mark.parametrize("bad", [0.7, -1.0, np.nan])
def test_class_weight_refuses_targets_that_are_not_class_labels(bad):
    # a soft binary target of 0.7 used to be truncated to class 0 and weighed as such, silently
    model = tn.Sequential([tn.layers.Dense(1, input_dim=2, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((4, 2), np.float32)
    y = np.array([0.0, 1.0, bad, 1.0], np.float32)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="sample 2"):
        model.fit(x, y, epochs=1, verbose=0, class_weight={0: 1.0, 1: 2.0})
    for w, w0 in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)
