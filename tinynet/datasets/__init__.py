"""Data for tinynet: real data sets, seeded toy generators and preprocessing helpers.

Real data sets (bundled, no network needed; see ``SOURCES.md`` for the credits)
    :func:`load_pima_diabetes`, :func:`load_breast_cancer`, :func:`load_digits`,
    :func:`load_iris`, :func:`load_wine`; each returns ``(x, y)`` with float64 features and
    int64 labels, or ``(x, y, feature_names, class_names)`` with ``return_names=True``.

Text corpora (bundled, read only when loaded; for character-level language models)
    :func:`load_names` (32,033 first names, a list of str) and :func:`load_tiny_shakespeare`
    (1.1 million characters, a str); :mod:`tinynet.text` tokenizes them.

Toy problems for teaching (deterministic given ``seed``)
    :func:`make_moons`, :func:`make_circles`, :func:`make_spirals`, :func:`make_xor`,
    :func:`make_blobs`, :func:`make_regression`.

Preprocessing
    :func:`train_test_split`, :func:`standardize` (and :class:`Standardizer`),
    :func:`one_hot`.

Example
-------
>>> from tinynet import datasets
>>> x, y = datasets.load_iris()
>>> x_train, x_test, y_train, y_test = datasets.train_test_split(x, y, seed=0, stratify=True)
>>> x_train, x_test = datasets.standardize(x_train, x_test)
>>> x_train.shape, x_test.shape
((120, 4), (30, 4))
"""

from ._real import load_breast_cancer, load_digits, load_iris, load_pima_diabetes, load_wine
from ._text import load_names, load_tiny_shakespeare
from .preprocessing import Standardizer, one_hot, standardize, train_test_split
from .synthetic import make_blobs, make_circles, make_moons, make_regression, make_spirals, make_xor

__all__ = [
    "Standardizer",
    "load_breast_cancer",
    "load_digits",
    "load_iris",
    "load_names",
    "load_pima_diabetes",
    "load_tiny_shakespeare",
    "load_wine",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_regression",
    "make_spirals",
    "make_xor",
    "one_hot",
    "standardize",
    "train_test_split",
]
