"""Loaders for the small real data sets bundled with tinynet.

The arrays live in ``tinynet/datasets/data/*.npz`` (converted once from CSV by
``tools/build_datasets.py``; the values are exactly those of the original files).  None of
these data sets was made by the tinynet authors; see ``tinynet/datasets/SOURCES.md`` and each
loader's docstring for the source to cite.
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np

__all__ = ["load_breast_cancer", "load_digits", "load_iris", "load_pima_diabetes", "load_wine"]


@functools.cache
def _read(name: str) -> dict[str, np.ndarray]:
    # importlib.resources rather than __file__ so that loading also works from a zipped install.
    path = resources.files(__package__) / "data" / f"{name}.npz"
    with path.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    for array in arrays.values():
        # The cache is shared by every call: freeze it so no caller can corrupt it.
        array.flags.writeable = False
    return arrays


def _load(name: str, return_names: bool) -> tuple:
    arrays = _read(name)
    # Fresh, writable arrays in the documented dtypes on every call.
    x = arrays["x"].astype(np.float64)
    y = arrays["y"].astype(np.int64)
    if return_names:
        return x, y, arrays["feature_names"].tolist(), arrays["class_names"].tolist()
    return x, y


def load_pima_diabetes(return_names: bool = False) -> tuple:
    """Load the Pima Indians Diabetes data set (binary classification, 768 samples).

    Eight medical measurements of female patients of Pima Indian heritage, at least 21 years
    old; the label says whether the patient developed diabetes within five years.  This is the
    data set of the classic Keras tutorial (``Dense(12, input_dim=8) -> ... -> Dense(1,
    activation="sigmoid")``).

    ========  ===============================================================================
    x         (768, 8) float64: pregnancies, glucose, blood_pressure, skin_thickness,
              insulin, bmi, diabetes_pedigree, age
    y         (768,) int64: 0 = tested_negative (500), 1 = tested_positive (268)
    ========  ===============================================================================

    Zeros in glucose, blood_pressure, skin_thickness, insulin and bmi mark *missing* values in
    the original data; they are kept as they are.  The features have very different scales,
    so standardize them (:func:`tinynet.datasets.standardize`) before training.

    Parameters
    ----------
    return_names : bool, default False
        Also return the feature names and the class names.

    Returns
    -------
    x : ndarray of shape (768, 8), float64
    y : ndarray of shape (768,), int64
    feature_names : list of str
        Only when ``return_names`` is true.
    class_names : list of str
        Only when ``return_names`` is true: ``["tested_negative", "tested_positive"]``.

    Notes
    -----
    Source: National Institute of Diabetes and Digestive and Kidney Diseases; J. W. Smith,
    J. E. Everhart, W. C. Dickson, W. C. Knowler and R. S. Johannes, "Using the ADAP learning
    algorithm to forecast the onset of diabetes mellitus", *Proc. Symposium on Computer
    Applications in Medical Care*, 1988, pp. 261-265.  Distributed through the UCI Machine
    Learning Repository.
    """
    return _load("pima_diabetes", return_names)


def load_breast_cancer(return_names: bool = False) -> tuple:
    """Load the Breast Cancer Wisconsin (Diagnostic) data set (binary classification, 569 samples).

    Thirty features computed from a digitised image of a fine-needle aspirate of a breast
    mass: the mean, the standard error and the "worst" (mean of the three largest values) of
    ten measurements of the cell nuclei (radius, texture, perimeter, area, smoothness,
    compactness, concavity, concave points, symmetry, fractal dimension).

    ========  ===============================================================================
    x         (569, 30) float64
    y         (569,) int64: 0 = malignant (212), 1 = benign (357)
    ========  ===============================================================================

    Parameters
    ----------
    return_names : bool, default False
        Also return the feature names and the class names.

    Returns
    -------
    x : ndarray of shape (569, 30), float64
    y : ndarray of shape (569,), int64
    feature_names : list of str
        Only when ``return_names`` is true.
    class_names : list of str
        Only when ``return_names`` is true: ``["malignant", "benign"]``.

    Notes
    -----
    Source: W. H. Wolberg, W. N. Street and O. L. Mangasarian, Breast Cancer Wisconsin
    (Diagnostic), UCI Machine Learning Repository (D. Dua and C. Graff), licensed CC BY 4.0.
    """
    return _load("breast_cancer", return_names)


def load_digits(as_images: bool = False, return_names: bool = False) -> tuple:
    """Load the 8x8 handwritten digits data set (10 classes, 1797 samples).

    Each sample is an 8x8 image of a handwritten digit; each pixel counts the "on" pixels of a
    4x4 block of the original 32x32 bitmap, so its value is an integer from 0 to 16.

    ========  ===============================================================================
    x         (1797, 64) float64, pixels in row-major order, values 0..16;
              or (1797, 1, 8, 8) (NCHW) with ``as_images=True``
    y         (1797,) int64: the digit 0..9 (174 to 183 samples each)
    ========  ===============================================================================

    Parameters
    ----------
    as_images : bool, default False
        Return ``x`` as images of shape (1797, 1, 8, 8) (batch, channel, height, width) for
        convolutional layers, instead of flat rows of 64 pixels.
    return_names : bool, default False
        Also return the feature names (``"pixel_<row>_<col>"``) and the class names
        (``"0"`` to ``"9"``).

    Returns
    -------
    x : ndarray of shape (1797, 64) or (1797, 1, 8, 8), float64
    y : ndarray of shape (1797,), int64
    feature_names : list of str
        Only when ``return_names`` is true.
    class_names : list of str
        Only when ``return_names`` is true.

    Notes
    -----
    Source: E. Alpaydin and C. Kaynak, Optical Recognition of Handwritten Digits (the test
    part, 8x8), UCI Machine Learning Repository (D. Dua and C. Graff), licensed CC BY 4.0.
    """
    result = _load("digits", return_names)
    if as_images:
        # The CSV stores each image row after row, which is exactly C order for (8, 8).
        result = (result[0].reshape(-1, 1, 8, 8), *result[1:])
    return result


def load_iris(return_names: bool = False) -> tuple:
    """Load Fisher's Iris data set (3 classes, 150 samples).

    ========  ===============================================================================
    x         (150, 4) float64: sepal length, sepal width, petal length, petal width (cm)
    y         (150,) int64: 0 = setosa, 1 = versicolor, 2 = virginica (50 each)
    ========  ===============================================================================

    Parameters
    ----------
    return_names : bool, default False
        Also return the feature names and the class names.

    Returns
    -------
    x : ndarray of shape (150, 4), float64
    y : ndarray of shape (150,), int64
    feature_names : list of str
        Only when ``return_names`` is true.
    class_names : list of str
        Only when ``return_names`` is true: ``["setosa", "versicolor", "virginica"]``.

    Notes
    -----
    Source: R. A. Fisher, "The use of multiple measurements in taxonomic problems", *Annals of
    Eugenics* 7 (1936); Iris, UCI Machine Learning Repository (D. Dua and C. Graff), licensed
    CC BY 4.0.
    """
    return _load("iris", return_names)


def load_wine(return_names: bool = False) -> tuple:
    """Load the Wine recognition data set (3 classes, 178 samples).

    Thirteen results of a chemical analysis of wines grown in the same region of Italy from
    three different cultivars.

    ========  ===============================================================================
    x         (178, 13) float64: alcohol, malic acid, ash, alcalinity of ash, magnesium,
              total phenols, flavanoids, nonflavanoid phenols, proanthocyanins, colour
              intensity, hue, OD280/OD315 of diluted wines, proline
    y         (178,) int64: the cultivar, 0 (59), 1 (71), 2 (48)
    ========  ===============================================================================

    The features range from about 0.1 to over 1000 (proline): standardize them first.

    Parameters
    ----------
    return_names : bool, default False
        Also return the feature names and the class names.

    Returns
    -------
    x : ndarray of shape (178, 13), float64
    y : ndarray of shape (178,), int64
    feature_names : list of str
        Only when ``return_names`` is true.
    class_names : list of str
        Only when ``return_names`` is true: ``["cultivar_0", "cultivar_1", "cultivar_2"]``.

    Notes
    -----
    Source: M. Forina et al., PARVUS, Institute of Pharmaceutical and Food Analysis and
    Technologies, Genoa; Wine, UCI Machine Learning Repository (D. Dua and C. Graff), licensed
    CC BY 4.0.
    """
    return _load("wine", return_names)
