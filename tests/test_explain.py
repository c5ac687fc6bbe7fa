"""tinynet.explain: input gradients checked against central differences, completeness of integrated
gradients, occlusion against a slow reference, and permutation importance against scikit-learn."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet as tn
from tinynet import explain
from tinynet.gradcheck import numerical_gradient, relative_error
from tinynet.layers import (
    AvgPool2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LayerNormalization,
    MaxPool2D,
)

from .test_adversarial import digits_cnn as small_digits_cnn

ROOT = Path(__file__).resolve().parents[1]


def selected_output_sum(model, x, t):
    """sum_n f_{t_n}(x_n): its gradient with respect to x is every row's input gradient at once."""
    y = model.forward(x, training=False)
    return float(y[np.arange(len(x)), t].sum())


def check_input_gradients(model, x, target):
    analytic = explain.input_gradients(model, x, target)
    t = np.broadcast_to(np.asarray(target), (len(x),)) if target is not None else None
    if t is None:
        t = np.zeros(len(x), int) if model.output_shape == (1,) else model.predict(x).argmax(axis=1)
    probe = x.copy()
    numeric = numerical_gradient(lambda: selected_output_sum(model, probe, t), probe)
    assert analytic.shape == x.shape and analytic.dtype == np.float64
    assert relative_error(analytic, numeric) < 1e-6


@given(
    n=st.integers(1, 5),
    d=st.integers(1, 6),
    hidden=st.integers(1, 6),
    k=st.integers(1, 4),
    activation=st.sampled_from(["tanh", "sigmoid", "gelu", "elu", "softplus"]),
    seed=st.integers(0, 2**31 - 1),
    data=st.data(),
)
def test_input_gradients_match_central_differences_for_mlps(n, d, hidden, k, activation, seed, data):
    tn.set_default_dtype(np.float64)  # the autouse fixture of conftest.py restores float32
    tn.set_seed(seed)
    head = "sigmoid" if k == 1 else "softmax"
    model = tn.Sequential([Dense(hidden, input_dim=d, activation=activation), Dense(k, activation=head)])
    x = np.random.default_rng(seed).normal(size=(n, d))
    target = data.draw(st.one_of(st.none(), st.integers(0, k - 1)))
    check_input_gradients(model, x, target)


@pytest.fixture(scope="module")
def every_layer_cnn():
    """A float64 CNN with every kind of layer, trained a little (so batch norm's moving statistics matter)."""
    old = tn.get_default_dtype()
    tn.set_default_dtype(np.float64)
    tn.set_seed(3)
    model = tn.Sequential(
        [
            Conv2D(3, 3, padding="same", activation="tanh", input_shape=(2, 6, 6)),
            BatchNormalization(),
            MaxPool2D(2),
            Conv2D(4, 2, activation="gelu"),
            AvgPool2D(2, strides=1),
            Dropout(0.3),
            Flatten(),
            Dense(6, activation="elu"),
            LayerNormalization(),
            Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(16, 2, 6, 6)), rng.integers(0, 3, 16), epochs=3, batch_size=8, verbose=0)
    tn.set_default_dtype(old)
    return model


@pytest.mark.parametrize("target", [None, 1, np.array([2, 0, 1])])
def test_input_gradients_match_central_differences_through_every_layer(every_layer_cnn, target):
    # inference form: batch norm with its moving statistics, dropout the identity
    x = np.random.default_rng(1).normal(size=(3, 2, 6, 6))
    check_input_gradients(every_layer_cnn, x, target)


def test_explaining_changes_neither_the_model_nor_the_input(every_layer_cnn):
    model = every_layer_cnn
    x = np.random.default_rng(2).normal(size=(4, 2, 6, 6))
    x_before, weights, rng_state = x.copy(), model.get_weights(), model.rng.bit_generator.state
    global_state = np.random.get_state()[1].copy()  # noqa: NPY002 (the legacy global state, untouched)
    y_before = model.predict(x)
    for method in (explain.input_gradients, explain.saliency, explain.gradient_x_input):
        method(model, x)
    explain.smoothgrad(model, x, n_samples=3, seed=1)
    explain.integrated_gradients(model, x, steps=4)
    explain.occlusion(model, x, patch_size=3, stride=3)
    np.testing.assert_array_equal(x, x_before)
    for w, w0 in zip(model.get_weights(), weights, strict=True):  # moving statistics included
        np.testing.assert_array_equal(w, w0)
    assert model.rng.bit_generator.state == rng_state
    np.testing.assert_array_equal(np.random.get_state()[1], global_state)  # noqa: NPY002
    np.testing.assert_array_equal(model.predict(x), y_before)


def linear_model(d=5, k=1, seed=0):
    tn.set_seed(seed)
    model = tn.Sequential([Dense(k, input_dim=d)])  # f(x) = x W + b
    model.build()
    model.layers[0].params["b"][...] = 0.7
    return model


def test_saliency_and_gradient_x_input_of_a_linear_model(float64):
    model = linear_model(d=5, k=3)
    W = model.layers[0].params["W"]
    x = np.random.default_rng(0).normal(size=(4, 5))
    g = explain.input_gradients(model, x, target=2)
    np.testing.assert_allclose(g, np.broadcast_to(W[:, 2], x.shape), rtol=1e-12)
    np.testing.assert_allclose(explain.saliency(model, x, 2), np.abs(g), rtol=0)
    gxi = explain.gradient_x_input(model, x, target=2)
    np.testing.assert_allclose(gxi, x * W[:, 2], rtol=1e-12)
    # sum_i w_i x_i = f(x) - f(0) for a linear model
    np.testing.assert_allclose(gxi.sum(axis=1), model.predict(x)[:, 2] - 0.7, rtol=1e-12)


def test_default_target_is_the_predicted_class(float64, every_layer_cnn):
    x = np.random.default_rng(4).normal(size=(5, 2, 6, 6))
    predicted = every_layer_cnn.predict(x).argmax(axis=1)
    np.testing.assert_array_equal(
        explain.input_gradients(every_layer_cnn, x), explain.input_gradients(every_layer_cnn, x, predicted)
    )


def test_smoothgrad_is_seeded_and_is_the_gradient_without_noise(every_layer_cnn):
    model = every_layer_cnn
    x = np.random.default_rng(5).normal(size=(3, 2, 6, 6))
    a = explain.smoothgrad(model, x, noise_level=0.2, n_samples=8, seed=7, batch_size=5)
    np.testing.assert_array_equal(a, explain.smoothgrad(model, x, noise_level=0.2, n_samples=8, seed=7))
    assert not np.allclose(a, explain.smoothgrad(model, x, noise_level=0.2, n_samples=8, seed=8))
    np.testing.assert_allclose(
        explain.smoothgrad(model, x, noise_level=0.0, n_samples=3),
        explain.input_gradients(model, x),
        rtol=1e-12,
    )


def test_smoothgrad_averages_the_gradients_of_noisy_copies(float64):
    # with noise of a fixed draw, SmoothGrad is the mean of the plain gradients at those points
    tn.set_seed(0)
    model = tn.Sequential([Dense(4, input_dim=3, activation="tanh"), Dense(2, activation="softmax")])
    x = np.random.default_rng(0).normal(size=(2, 3))
    t = np.array([0, 1])
    s = explain.smoothgrad(model, x, t, noise_level=0.5, n_samples=4, seed=11)
    sigma = 0.5 * (x.max(axis=1, keepdims=True) - x.min(axis=1, keepdims=True))
    noise = np.random.default_rng(11).standard_normal((4, *x.shape))
    expected = np.mean([explain.input_gradients(model, x + sigma * e, t) for e in noise], axis=0)
    np.testing.assert_allclose(s, expected, rtol=1e-12)


# ------------------------------------------------------------------ integrated gradients
def test_integrated_gradients_of_a_linear_model_are_exact_with_one_step(float64):
    model = linear_model(d=5, k=2)
    W = model.layers[0].params["W"]
    x = np.random.default_rng(0).normal(size=(3, 5))
    x0 = np.random.default_rng(1).normal(size=(1, 5))
    for method in ("trapezoid", "midpoint"):
        ig = explain.integrated_gradients(model, x, 1, baseline=x0, steps=1, method=method)
        np.testing.assert_allclose(ig, (x - x0) * W[:, 1], rtol=1e-12)


def completeness_gap(model, x, baseline, **kwargs):
    t = model.predict(x).argmax(axis=1) if model.output_shape != (1,) else np.zeros(len(x), int)
    ig = explain.integrated_gradients(model, x, baseline=baseline, **kwargs)
    rows = np.arange(len(x))
    change = model.predict(x)[rows, t] - model.predict(np.broadcast_to(baseline, x.shape))[rows, t]
    total = ig.reshape(len(x), -1).sum(axis=1, dtype=np.float64)
    return np.abs(total - change), np.abs(change)


@pytest.fixture(scope="module")
def pima():
    x, y, names, _ = tn.datasets.load_pima_diabetes(return_names=True)
    x_train, x_test, y_train, y_test = tn.datasets.train_test_split(
        x, y, test_size=0.2, seed=0, stratify=True
    )
    x_train, x_test = tn.datasets.standardize(x_train, x_test)
    tn.set_seed(0)
    model = tn.Sequential([Dense(12, input_dim=8, activation="relu"), Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=30, batch_size=32, verbose=0)
    return model, x_train, x_test, y_train, y_test, names


@pytest.fixture(scope="module")
def digits_cnn():
    x, y = tn.datasets.load_digits(as_images=True)
    x = x / 16.0
    x_train, x_test, y_train, y_test = tn.datasets.train_test_split(
        x, y, test_size=0.2, seed=0, stratify=True
    )
    model = small_digits_cnn(seed=0)
    model.fit(x_train, y_train, epochs=10, batch_size=32, verbose=0)
    return model, x_train, x_test, y_train, y_test


@pytest.mark.parametrize("method", ["trapezoid", "midpoint"])
def test_integrated_gradients_are_complete_on_the_trained_pima_mlp(pima, method):
    model, _, x_test, *_ = pima
    # ReLU units switch along the path: the integrand jumps there, and the quadrature error is
    # O(1/steps) (measured: 2% at 256 steps, 0.5% at 1024, 0.16% at 4096)
    gap, change = completeness_gap(model, x_test, np.zeros(8), steps=1024, method=method)
    big = change > 0.02  # relative to a tiny change, the error is large but the test is about 1%
    assert big.sum() > 50
    assert np.max(gap[big] / change[big]) < 0.01
    # every sample, small changes included: each jump of the integrand costs at most
    # |jump| / (2 steps), and the output is a probability
    assert np.max(gap) < 1.0 / 1024
    # and the quadrature converges: fewer steps are visibly worse
    coarse, _ = completeness_gap(model, x_test, np.zeros(8), steps=64, method=method)
    assert np.max(coarse[big] / change[big]) > 0.01


@pytest.mark.parametrize("method", ["trapezoid", "midpoint"])
def test_integrated_gradients_are_complete_on_the_trained_digits_cnn(digits_cnn, method):
    model, _, x_test, *_ = digits_cnn
    x = x_test[:60]
    gap, change = completeness_gap(model, x, 0.0, steps=256, method=method)
    assert np.all(change > 0.05)  # black image against a confidently recognised digit
    assert np.max(gap / change) < 0.01
    coarse, _ = completeness_gap(model, x, 0.0, steps=4, method=method)
    assert np.max(coarse / change) > 0.01


# ------------------------------------------------------------------ occlusion
def occlusion_reference(model, x, t, ph, pw, sh, sw, baseline):
    """The obvious loops: one occluded image at a time."""
    n, _, H, W = x.shape
    total, count = np.zeros((n, H, W)), np.zeros((H, W))
    base = model.predict(x)[np.arange(n), t]
    for i in range(0, H - ph + 1, sh):
        for j in range(0, W - pw + 1, sw):
            xo = x.copy()
            xo[:, :, i : i + ph, j : j + pw] = baseline
            drop = base - model.predict(xo)[np.arange(n), t]
            total[:, i : i + ph, j : j + pw] += drop[:, None, None]
            count[i : i + ph, j : j + pw] += 1
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0)


@pytest.mark.parametrize(("patch", "stride", "batch_size"), [(1, 1, 512), (2, 1, 7), ((3, 2), (2, 3), 50)])
def test_occlusion_matches_the_loop_over_patches(float64, every_layer_cnn, patch, stride, batch_size):
    x = np.random.default_rng(6).normal(size=(4, 2, 6, 6))
    t = np.array([0, 1, 2, 1])
    ph, pw = (patch, patch) if isinstance(patch, int) else patch
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    got = explain.occlusion(
        every_layer_cnn, x, t, patch_size=patch, stride=stride, baseline=-0.5, batch_size=batch_size
    )
    expected = occlusion_reference(every_layer_cnn, x, t, ph, pw, sh, sw, -0.5)
    assert got.shape == (4, 6, 6)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_occlusion_of_single_pixels_of_a_linear_model_is_gradient_x_input(float64):
    tn.set_seed(0)
    model = tn.Sequential([Flatten(input_shape=(1, 4, 4)), Dense(3)])
    x = np.random.default_rng(0).normal(size=(2, 1, 4, 4))
    occ = explain.occlusion(model, x, 1, patch_size=1)
    np.testing.assert_allclose(occ, explain.gradient_x_input(model, x, 1)[:, 0], rtol=1e-10)


# ------------------------------------------------------------------ permutation importance
def test_permutation_importance_is_seeded_and_zero_for_an_unused_feature(pima):
    model, _, x_test, _, y_test, _ = pima
    a = explain.permutation_importance(model, x_test, y_test, n_repeats=4, seed=3)
    b = explain.permutation_importance(model, x_test, y_test, n_repeats=4, seed=3)
    np.testing.assert_array_equal(a.importances, b.importances)
    assert a.importances.shape == (8, 4)
    np.testing.assert_allclose(a.importances_mean, a.importances.mean(axis=1))
    assert a.baseline_score == pytest.approx(-model.evaluate(x_test, y_test)[0], rel=1e-6)
    # glucose (column 1) is the strongest predictor of diabetes in this data set
    assert np.argmax(a.importances_mean) == 1
    # a model that ignores column 4 (its weights zeroed) loses nothing when it is shuffled
    blind = tn.Sequential([Dense(12, input_dim=8, activation="relu"), Dense(1, activation="sigmoid")])
    blind.compile(optimizer="adam", loss="binary_crossentropy")
    blind.build()
    blind.set_weights(model.get_weights())
    blind.layers[0].params["W"][4] = 0.0
    c = explain.permutation_importance(blind, x_test, y_test, n_repeats=4, seed=3, scoring="accuracy")
    np.testing.assert_array_equal(c.importances[4], 0.0)
    assert c.importances_mean[1] > 0.02


def test_explain_does_not_import_scikit_learn():
    code = (
        "import sys, tinynet.explain, tinynet.adversarial; "
        "assert 'sklearn' not in sys.modules and 'matplotlib' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.parametrize(("ours", "theirs"), [("accuracy", None), ("loss", "neg_log_loss")])
def test_permutation_importance_agrees_with_scikit_learn(ours, theirs):
    """The same trained model, scored by tinynet and by scikit-learn through the KerasClassifier wrapper.

    The two draw their permutations from different generators (tinynet: numpy's Generator;
    scikit-learn: the legacy RandomState), so with the same seed they shuffle differently: the
    baseline scores must be equal, and each feature's mean importance must agree within the
    sampling error of the two means (a z-score below 4 for each of the 8 features).
    """
    pytest.importorskip("sklearn")
    from sklearn.inspection import permutation_importance

    from tinynet.wrappers import KerasClassifier

    x, y = tn.datasets.load_pima_diabetes()
    x_train, x_test, y_train, y_test = tn.datasets.train_test_split(
        x, y, test_size=0.3, seed=1, stratify=True
    )
    x_train, x_test = tn.datasets.standardize(x_train, x_test)

    def build(meta):
        return tn.Sequential(
            [Dense(12, input_dim=meta["n_features_in_"], activation="relu"), Dense(1, activation="sigmoid")]
        )

    clf = KerasClassifier(build, loss="binary_crossentropy", epochs=40, random_state=0).fit(x_train, y_train)
    repeats = 30
    mine = explain.permutation_importance(clf.model_, x_test, y_test, scoring=ours, n_repeats=repeats, seed=0)
    ref = permutation_importance(clf, x_test, y_test, scoring=theirs, n_repeats=repeats, random_state=0)
    reference_score = clf.score(x_test, y_test) if theirs is None else None
    if reference_score is not None:
        assert mine.baseline_score == reference_score
    se = np.sqrt((mine.importances_std**2 + ref.importances_std**2) / repeats)
    z = np.abs(mine.importances_mean - ref.importances_mean) / np.maximum(se, 1e-12)
    assert np.all(z < 4), (mine.importances_mean, ref.importances_mean, z)
    assert np.argmax(mine.importances_mean) == np.argmax(ref.importances_mean) == 1  # glucose
    assert np.max(mine.importances_mean) > 10 * np.max(se)  # the comparison has power


# ------------------------------------------------------------------ validation
def test_bad_arguments_get_clear_errors(every_layer_cnn, pima):
    model = every_layer_cnn
    x = np.zeros((2, 2, 6, 6))
    with pytest.raises(ValueError, match="target must be in"):
        explain.input_gradients(model, x, target=3)
    with pytest.raises(ValueError, match="target must be None, an int or 2 ints"):
        explain.input_gradients(model, x, target=[0, 1, 2])
    with pytest.raises(ValueError, match="batch axis"):
        explain.saliency(model, np.zeros(6))
    with pytest.raises(ValueError, match="NaN"):
        explain.saliency(model, np.full_like(x, np.nan))
    with pytest.raises(ValueError, match="expects inputs of shape"):
        explain.saliency(model, np.zeros((2, 1, 6, 6)))
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        explain.integrated_gradients(model, x, steps=0)
    with pytest.raises(ValueError, match="method must be"):
        explain.integrated_gradients(model, x, method="simpson")
    with pytest.raises(ValueError, match="does not broadcast"):
        explain.integrated_gradients(model, x, baseline=np.zeros(5))
    with pytest.raises(ValueError, match="noise_level"):
        explain.smoothgrad(model, x, noise_level=-1)
    with pytest.raises(ValueError, match="larger than the images"):
        explain.occlusion(model, x, patch_size=7)
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        explain.occlusion(model, x, stride=0)
    mlp, _, x_test, _, y_test, _ = pima
    with pytest.raises(ValueError, match=r"images \(N, C, H, W\)"):
        explain.occlusion(mlp, x_test)
    with pytest.raises(ValueError, match="has 154 samples but y has 3"):
        explain.permutation_importance(mlp, x_test, y_test[:3])
    with pytest.raises(ValueError, match="unknown metric|Unknown metric|valid"):
        explain.permutation_importance(mlp, x_test, y_test, scoring="no_such_metric")


def test_a_model_with_several_outputs_is_explained_one_output_at_a_time():
    tn.set_seed(0)
    x = tn.Input(shape=(4,))
    h = tn.layers.Dense(8, activation="tanh")(x)
    model = tn.Model(
        x, [tn.layers.Dense(3, activation="softmax", name="cls")(h), tn.layers.Dense(1, name="reg")(h)]
    )
    X = np.random.default_rng(0).normal(size=(5, 4))
    with pytest.raises(
        ValueError, match=r"one output; this one has 2 \(cls, reg\).*tn.Model\(inputs, outputs\[k\]\)"
    ):
        tn.explain.saliency(model, X)
    with pytest.raises(ValueError, match="one output; this one has 2"):
        tn.explain.permutation_importance(model, X, np.zeros(5))
    first = tn.Model(x, model.outputs[0])  # the same layers, one output
    assert np.array_equal(first.predict(X, verbose=0), model.predict(X, verbose=0)[0])
    assert tn.explain.saliency(first, X).shape == (5, 4)
