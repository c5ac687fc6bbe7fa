"""tinynet.wrappers: scikit-learn estimators in scikeras' spelling, checked by scikit-learn itself."""

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason='scikit-learn is not installed (pip install -e ".[sklearn]")')

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import tinynet as tn  # noqa: E402
from tinynet.wrappers import KerasClassifier, KerasRegressor  # noqa: E402


def build_classifier(meta, units=16):
    k = meta["n_classes_"]
    return tn.Sequential(
        [
            tn.layers.Dense(units, input_dim=meta["n_features_in_"], activation="relu"),
            tn.layers.Dense(1, activation="sigmoid") if k == 2 else tn.layers.Dense(k, activation="softmax"),
        ]
    )


def build_regressor(meta, units=16):
    return tn.Sequential(
        [
            tn.layers.Dense(units, input_dim=meta["n_features_in_"], activation="relu"),
            tn.layers.Dense(meta["n_outputs_"]),
        ]
    )


class Named:
    """A build function with a stable repr: the test ids, which show it, must be the same in every
    pytest-xdist worker (a function's repr shows its address)."""

    def __init__(self, build):
        self.build = build

    def __call__(self, meta, units=16):
        return self.build(meta, units)

    def __repr__(self):
        return self.build.__name__


# Each check left out, and why: scikit-learn's own suite, run on both estimators.
EXPECTED_FAILED_CHECKS = {
    # Mini-batch training with shuffling: a sample of weight 2 is not the same as the sample
    # twice (the batches differ), so the two fits end at different weights, as for any SGD model.
    "check_sample_weight_equivalence_on_dense_data": "mini-batch SGD: weights are not repeated samples",
    # The check passes the name of **model_params itself ("model_params") as a parameter;
    # as in scikeras, only model__* keywords are build-function parameters.
    "check_do_not_raise_errors_in_init_or_set_params": "**model_params takes model__* names only",
}


@pytest.mark.slow
@parametrize_with_checks(
    [
        KerasClassifier(Named(build_classifier), epochs=30, random_state=0),
        KerasRegressor(Named(build_regressor), epochs=100, random_state=0),
    ],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_scikit_learn_check_estimator(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def moons():
    x, y = tn.datasets.make_moons(200, noise=0.1, seed=0)
    return x, y.astype(int)


def test_cross_val_score_grid_search_and_pipeline(moons):
    x, y = moons
    clf = KerasClassifier(build_classifier, epochs=40, batch_size=16, random_state=0)
    scores = cross_val_score(clf, x, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8
    grid = GridSearchCV(clf, {"model__units": [2, 16], "epochs": [1, 40]}, cv=3).fit(x, y)
    assert grid.best_params_ == {"epochs": 40, "model__units": 16}
    assert grid.best_estimator_.model_.layers[0].units == 16
    pipe = make_pipeline(StandardScaler(), clone(clf)).fit(x, y)
    assert pipe.score(x, y) > 0.85


def test_clone_and_params():
    clf = KerasClassifier(build_classifier, epochs=3, model__units=8)
    assert clf.get_params()["model__units"] == 8 and clf.get_params()["epochs"] == 3
    twin = clone(clf)
    assert twin is not clf and twin.get_params() == clf.get_params()
    assert clf.set_params(model__units=4, batch_size=8) is clf
    assert clf.model__units == 4 and clf.batch_size == 8


def test_labels_of_any_kind_are_encoded(moons):
    x, y = moons
    names = np.array(["no", "yes"])[y]
    clf = KerasClassifier(build_classifier, epochs=40, random_state=0).fit(x, names)
    assert list(clf.classes_) == ["no", "yes"]
    assert set(clf.predict(x)) <= {"no", "yes"} and clf.score(x, names) > 0.85
    p = clf.predict_proba(x)
    assert p.shape == (200, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    with pytest.raises(NotFittedError):
        KerasClassifier(build_classifier).predict(x)


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
def test_multiclass_with_a_compiled_model(loss):
    x, y = tn.datasets.load_iris()
    labels = np.array(["setosa", "versicolor", "virginica"])[y.astype(int)]

    def build():
        model = tn.Sequential(
            [tn.layers.Dense(8, input_dim=4, activation="relu"), tn.layers.Dense(3, activation="softmax")]
        )
        model.compile(loss=loss, optimizer=tn.optimizers.Adam(0.05))
        return model

    clf = make_pipeline(StandardScaler(), KerasClassifier(build, epochs=30, random_state=0)).fit(x, labels)
    assert clf.score(x, labels) > 0.9
    assert clf.predict_proba(x).shape == (150, 3)


def test_random_state_fixes_the_fit_and_leaves_the_global_generator_alone(moons):
    x, y = moons
    tn.set_seed(123)
    expected = tn._config.get_rng().integers(1 << 30)
    tn.set_seed(123)
    a = KerasClassifier(build_classifier, epochs=3, random_state=7).fit(x, y).predict_proba(x)
    assert tn._config.get_rng().integers(1 << 30) == expected
    b = KerasClassifier(build_classifier, epochs=3, random_state=7).fit(x, y).predict_proba(x)
    np.testing.assert_array_equal(a, b)


def test_a_model_instance_is_copied_not_trained_in_place(moons):
    x, y = moons
    tn.set_seed(0)
    model = build_classifier({"n_classes_": 2, "n_features_in_": 2})
    model.build((2,))
    before = [w.copy() for w in model.get_weights()]
    clf = KerasClassifier(model, epochs=5).fit(x, y)
    assert clf.model_ is not model
    for w, w0 in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)


def test_regressor_shapes_follow_y():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    y = x @ np.array([1.0, -2.0, 0.5])
    reg = KerasRegressor(build_regressor, epochs=200, random_state=0).fit(x, y)
    assert reg.predict(x).shape == (120,) and reg.score(x, y) > 0.9
    y2 = np.column_stack([y, -y])
    assert KerasRegressor(build_regressor, epochs=2, random_state=0).fit(x, y2).predict(x).shape == (120, 2)


def test_bad_arguments_say_what_to_do(moons):
    x, y = moons
    with pytest.raises(TypeError, match="model__units"):
        KerasClassifier(build_classifier, units=3).fit(x, y)
    with pytest.raises(ValueError, match="needs model="):
        KerasClassifier().fit(x, y)
    with pytest.raises(ValueError, match=r"Dense\(3, activation='softmax'\)"):
        KerasClassifier(lambda: tn.Sequential([tn.layers.Dense(1, input_dim=2)])).fit(x, np.arange(200) % 3)
    with pytest.raises(ValueError, match="at least 2 classes"):
        KerasClassifier(build_classifier).fit(x, np.zeros(200))


# --- pandas: column names remembered by fit, checked by predict; results with the input's index


@pytest.fixture
def frame(moons):
    pd = pytest.importorskip("pandas")
    x, y = moons
    return pd.DataFrame(x, columns=["u", "v"], index=[f"s{i}" for i in range(len(x))]), y


def test_a_dataframe_s_columns_are_checked(frame):
    df, y = frame
    clf = KerasClassifier(build_classifier, epochs=2, random_state=0).fit(df, y)
    assert list(clf.feature_names_in_) == ["u", "v"]
    clf.predict(df)
    with pytest.raises(ValueError, match="order"):
        clf.predict(df[["v", "u"]])
    with pytest.raises(ValueError, match="v"):
        clf.predict(df[["u"]])
    reg = KerasRegressor(build_regressor, epochs=2, random_state=0).fit(df, y.astype(float))
    with pytest.raises(ValueError, match="order"):
        reg.predict(df[["v", "u"]])


def test_predict_on_a_dataframe_can_keep_its_index(frame):
    df, y = frame
    clf = KerasClassifier(build_classifier, epochs=2, random_state=0).fit(df, y)
    labels = clf.predict(df.iloc[5:8], as_frame=True)
    assert list(labels.index) == ["s5", "s6", "s7"]
    np.testing.assert_array_equal(labels.to_numpy(), clf.predict(df.iloc[5:8]))
    proba = clf.predict_proba(df.iloc[5:8], as_frame=True)
    assert list(proba.index) == ["s5", "s6", "s7"] and list(proba.columns) == [0, 1]
    reg = KerasRegressor(build_regressor, epochs=2, random_state=0).fit(df, y.astype(float))
    assert list(reg.predict(df.iloc[:2], as_frame=True).index) == ["s0", "s1"]
    # an array after a DataFrame: scikit-learn warns that the names cannot be checked
    with pytest.raises(TypeError, match="pandas DataFrame"), pytest.warns(UserWarning, match="feature names"):
        clf.predict(df.to_numpy(), as_frame=True)


def test_the_user_guide_page_runs(capsys):
    import re
    from pathlib import Path

    pytest.importorskip("pandas")
    page = Path(__file__).resolve().parents[1] / "docs" / "user-guide" / "scikit-learn.md"
    code = "\n".join(re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S))
    namespace: dict = {}
    exec(compile(code, str(page), "exec"), namespace)
    out = capsys.readouterr().out
    assert float(out.splitlines()[0]) > 0.9
    assert "Feature names must be in the same order" in out
    assert list(namespace["proba"].index) == [147, 148, 149] and list(namespace["proba"].columns) == [0, 1, 2]
