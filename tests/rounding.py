"""What the tests promise about floating-point results, in one place (docs/faq.md, "Bit for bit").

Bits are promised for the same computation only: the same model file (or the same weights in
memory), the same inputs in the same batch shapes, the same tinynet, NumPy and BLAS kernel on the
same machine.  The tests check that with ``np.testing.assert_array_equal``: a save and a load, a
fresh process, a resumed run, a deep copy, ``fit`` against its loop of ``train_step``.

Anything else may round differently, and the tests compare it with
:func:`assert_equal_to_rounding`:

- another batch size: BLAS picks its kernel and its order of summation by the shape of the
  matrices, so the rows of a batch of 3 and of a batch of 4 may differ in their last bit;
- another BLAS kernel (OpenBLAS picks one per processor, ``OPENBLAS_CORETYPE`` overrides it):
  another order of summation;
- another NumPy version or another processor: another implementation of ``exp``, ``tanh`` or
  ``log1p`` (NumPy's own accuracy tests allow each of its float32 functions 2 to 4 units in the
  last place, so two correct implementations may disagree by up to 8).

The tolerance is :data:`ULPS` units of the dtype's rounding, ``eps`` (``2**-23`` for float32),
relative to ``1 + |desired|``: room for those 8 and a reordered sum or two, and still fine enough
to see a real change (one bias of a golden model moved by ``2**-10`` moves an output by 90 to 150
times the tolerance: ``tests/golden/test_golden.py``).  It is chosen from these bounds, not from
the differences seen (1 unit: NumPy 1.24 against 2.x, OpenBLAS' Haswell kernel against its
AVX-512 one, a batch of 3 against a batch of 4).
"""

from __future__ import annotations

import numpy as np

#: Units of the dtype's rounding (``np.finfo(dtype).eps``) that two correct computations of the
#: same float result may differ by, relative to ``1 + |value|``.
ULPS = 16


def assert_equal_to_rounding(actual: np.ndarray, desired: np.ndarray, ulps: int = ULPS) -> None:
    """Assert the same dtype and shape, and ``|actual - desired| <= ulps * eps * (1 + |desired|)``.

    ``eps`` is the rounding unit of ``desired``'s dtype (float32: 1.19e-7, float64: 2.2e-16).
    """
    actual, desired = np.asarray(actual), np.asarray(desired)
    assert actual.dtype == desired.dtype, (actual.dtype, desired.dtype)
    assert actual.shape == desired.shape, (actual.shape, desired.shape)
    tol = ulps * float(np.finfo(desired.dtype).eps)
    np.testing.assert_allclose(actual, desired, rtol=tol, atol=tol)
