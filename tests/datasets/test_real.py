"""The bundled real data sets: shapes and class counts, names, and exact values against the CSVs."""

from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from tinynet import datasets

# parents: [0] tests/datasets, [1] tests, [2] the repository; CI keeps shared/ beside the clone.
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# From the table of shared/data/README.md: loader, CSV, rows, features, count of each class.
TABLE = [
    (datasets.load_pima_diabetes, "pima-indians-diabetes.csv", 768, 8, [500, 268]),
    (datasets.load_breast_cancer, "breast_cancer.csv", 569, 30, [212, 357]),
    (datasets.load_digits, "digits.csv", 1797, 64, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]),
    (datasets.load_iris, "iris.csv", 150, 4, [50, 50, 50]),
    (datasets.load_wine, "wine.csv", 178, 13, [59, 71, 48]),
]
IDS = [row[1] for row in TABLE]

CLASS_NAMES = {
    "pima-indians-diabetes.csv": ["tested_negative", "tested_positive"],
    "breast_cancer.csv": ["malignant", "benign"],
    "digits.csv": [str(d) for d in range(10)],
    "iris.csv": ["setosa", "versicolor", "virginica"],
    "wine.csv": ["cultivar_0", "cultivar_1", "cultivar_2"],
}


@pytest.mark.parametrize(("loader", "csv", "rows", "features", "counts"), TABLE, ids=IDS)
def test_shapes_dtypes_and_class_counts(loader, csv, rows, features, counts):
    x, y = loader()
    assert x.shape == (rows, features)
    assert y.shape == (rows,)
    assert x.dtype == np.float64
    assert y.dtype == np.int64
    assert np.bincount(y).tolist() == counts
    assert np.isfinite(x).all()


@pytest.mark.parametrize(("loader", "csv", "rows", "features", "counts"), TABLE, ids=IDS)
def test_names(loader, csv, rows, features, counts):
    _x, _y, feature_names, class_names = loader(return_names=True)
    assert len(feature_names) == features and all(isinstance(n, str) for n in feature_names)
    assert class_names == CLASS_NAMES[csv]
    assert len(class_names) == len(counts)


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"shared data not found at {SHARED_DATA}")
@pytest.mark.parametrize(("loader", "csv", "rows", "features", "counts"), TABLE, ids=IDS)
def test_values_round_trip_exactly(loader, csv, rows, features, counts):
    # np.loadtxt is a different parser from the one the build script used: agreement bit for bit
    # means the bundled values are the CSV's values.
    path = SHARED_DATA / csv
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    with open(path) as f:
        header = f.readline().strip().split(",")
    x, y, feature_names, _ = loader(return_names=True)
    assert table.shape == (rows, features + 1)
    assert np.array_equal(x, table[:, :-1])
    assert np.array_equal(y, table[:, -1].astype(np.int64))
    assert feature_names == header[:-1]


def test_digits_pixels_and_images():
    x, y = datasets.load_digits()
    assert x.min() == 0 and x.max() == 16
    assert np.array_equal(x, np.round(x))
    images, y_images = datasets.load_digits(as_images=True)
    assert images.shape == (1797, 1, 8, 8)
    assert images.dtype == np.float64
    assert np.array_equal(y_images, y)
    # Row-major: pixel (row 2, column 5) of image 7 is feature 2 * 8 + 5.
    assert images[7, 0, 2, 5] == x[7, 2 * 8 + 5]
    assert np.array_equal(images.reshape(1797, 64), x)
    _, _, feature_names, _ = datasets.load_digits(return_names=True)
    assert feature_names[2 * 8 + 5] == "pixel_2_5"


def test_digits_as_images_with_names():
    images, _y, feature_names, class_names = datasets.load_digits(as_images=True, return_names=True)
    assert images.shape == (1797, 1, 8, 8) and len(feature_names) == 64 and len(class_names) == 10


def test_each_call_returns_fresh_writable_arrays():
    x, y = datasets.load_iris()
    x[0, 0] = -999.0
    y[0] = 7
    x2, y2 = datasets.load_iris()
    assert x2[0, 0] == 5.1 and y2[0] == 0


def test_bundled_files_load_without_pickle():
    data = resources.files("tinynet.datasets") / "data"
    names = sorted(p.name for p in data.iterdir() if p.name.endswith(".npz"))
    assert names == ["breast_cancer.npz", "digits.npz", "iris.npz", "pima_diabetes.npz", "wine.npz"]
    for name in names:
        with (data / name).open("rb") as f, np.load(f, allow_pickle=False) as npz:
            assert sorted(npz.files) == ["class_names", "feature_names", "x", "y"]
            for key in npz.files:
                assert npz[key].dtype != object


def test_sources_are_credited():
    text = (resources.files("tinynet.datasets") / "SOURCES.md").read_text(encoding="utf-8")
    for credit in ("Pima", "Wolberg", "Alpaydin", "Fisher", "Forina", "UCI Machine Learning Repository"):
        assert credit in text
    for loader, *_ in TABLE:
        assert "Source" in loader.__doc__ and "UCI" in loader.__doc__
