"""The vectorised erf, erfc and normal distribution against the standard library's math.erf/erfc."""

import math

import numpy as np
import pytest

from tinynet import _special


@pytest.mark.parametrize("fn, ref", [(_special.erf, math.erf), (_special.erfc, math.erfc)])
def test_matches_the_standard_library_to_float64_precision(fn, ref):
    x = np.concatenate([np.linspace(-8, 8, 4001), np.linspace(-27, 27, 2001), [0.0, 2.0, -2.0, 1e-300]])
    got = fn(x)
    expected = np.array([ref(v) for v in x])
    scale = np.maximum(np.abs(expected), 1e-300)
    # erfc keeps its relative precision in the tail (erfc(26) ~ 6e-296), erf near 0
    assert np.max(np.abs(got - expected) / scale) < 2e-13


def test_normal_cdf_lower_tail_keeps_relative_precision():
    x = np.array([-38.0, -20.0, -10.0, -3.0, 0.0, 3.0, 10.0])
    expected = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    np.testing.assert_allclose(_special.normal_cdf(x), expected, rtol=2e-13)


def test_huge_arguments_neither_warn_nor_overflow():
    x = np.array([-1e300, -1e10, 1e10, 1e300, -np.inf, np.inf])
    np.testing.assert_array_equal(_special.erf(x), [-1, -1, 1, 1, -1, 1])
    np.testing.assert_array_equal(_special.normal_cdf(x), [0, 0, 1, 1, 0, 1])
    np.testing.assert_array_equal(_special.normal_pdf(x), 0.0)


def test_float32_stays_float32():
    x = np.linspace(-5, 5, 11, dtype=np.float32)
    assert _special.erf(x).dtype == np.float32
    assert _special.normal_cdf(x).dtype == np.float32
