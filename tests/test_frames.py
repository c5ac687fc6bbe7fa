"""tinynet._frames: column names remembered and checked, results with the input's index; no pandas import."""

import subprocess
import sys

import numpy as np
import pytest

from tinynet._frames import check_columns, columns_of, is_frame, to_frame

pd = pytest.importorskip("pandas")


@pytest.fixture
def frame():
    return pd.DataFrame(
        {"age": [30.0, 40.0], "bmi": [22.0, 31.0], "glucose": [90.0, 150.0]}, index=["a", "b"]
    )


def test_columns_of_a_frame_and_of_an_array(frame):
    assert is_frame(frame) and not is_frame(frame.to_numpy())
    assert columns_of(frame) == ["age", "bmi", "glucose"]
    assert columns_of(frame.to_numpy()) is None and columns_of([[1, 2]]) is None


def test_same_columns_pass(frame):
    check_columns(["age", "bmi", "glucose"], frame)
    check_columns(None, frame)  # fitted on an array: nothing to check
    check_columns(["age", "bmi", "glucose"], frame.to_numpy())  # an array has no names


def test_reordered_columns_are_an_error(frame):
    with pytest.raises(ValueError, match=r"in another order: \['bmi', 'age', 'glucose'\]"):
        check_columns(["age", "bmi", "glucose"], frame[["bmi", "age", "glucose"]])


def test_missing_and_unexpected_columns_are_named(frame):
    with pytest.raises(ValueError, match=r"missing \['glucose'\]"):
        check_columns(["age", "bmi", "glucose"], frame[["age", "bmi"]])
    with pytest.raises(ValueError, match=r"missing \['glucose'\]; unexpected \['insulin'\]"):
        check_columns(["age", "bmi", "glucose"], frame.rename(columns={"glucose": "insulin"}))


def test_to_frame_keeps_the_index(frame):
    series = to_frame(frame, np.array([0.1, 0.9]))
    assert list(series.index) == ["a", "b"] and series.tolist() == [0.1, 0.9]
    table = to_frame(frame, np.array([[0.9, 0.1], [0.2, 0.8]]), columns=["no", "yes"])
    assert list(table.index) == ["a", "b"] and list(table.columns) == ["no", "yes"]
    with pytest.raises(TypeError, match="pandas DataFrame"):
        to_frame(frame.to_numpy(), np.zeros(2))
    with pytest.raises(ValueError, match="3 result rows"):
        to_frame(frame, np.zeros(3))


def test_import_tinynet_imports_neither_pandas_nor_sklearn():
    code = "import sys, tinynet, tinynet._frames; print(sorted({'pandas', 'sklearn'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_sequential_remembers_and_checks_a_dataframe_s_columns():
    import tinynet as tn

    x, y = tn.datasets.load_iris()
    df = pd.DataFrame(x, columns=list("abcd"), index=[f"r{i}" for i in range(150)])
    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(3, input_dim=4, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    model.fit(df, y, epochs=1, verbose=0)
    assert model.feature_names_in_ == list("abcd")
    out = model.predict(df.head(3), as_frame=True)
    assert list(out.index) == ["r0", "r1", "r2"]
    np.testing.assert_array_equal(out.to_numpy(), model.predict(df.head(3)))
    for bad in (df[list("bacd")], df[list("abc")]):
        with pytest.raises(ValueError, match="fit saw"):
            model.predict(bad)
        with pytest.raises(ValueError, match="fit saw"):
            model.evaluate(bad, y)
    model.predict(x)  # an array has no names to check
    with pytest.raises(ValueError, match="fit saw"):  # and a refused fit remembers nothing new
        model.fit(df[list("dcba")], y, epochs=1, verbose=0)
    assert model.feature_names_in_ == list("abcd")
    one = tn.Sequential([tn.layers.Dense(1, input_dim=4)])
    series = one.predict(df.head(2), as_frame=True)  # one output per row: a Series with the index
    assert isinstance(series, pd.Series) and list(series.index) == ["r0", "r1"]
