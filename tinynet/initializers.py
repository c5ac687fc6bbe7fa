r"""Weight initializers.

Every initializer is a function ``init(shape, dtype=None, rng=None)`` that draws
from tinynet's seeded generator (see :func:`tinynet.set_seed`).  The fan-in and
fan-out of a shape follow Keras: for a matrix ``(fan_in, fan_out)``; for a
convolution kernel ``(filters, in_channels, kh, kw)`` the receptive field
``kh * kw`` multiplies both, ``fan_in = in_channels * kh * kw`` and
``fan_out = filters * kh * kw``.

=================  ==================================================================
name               distribution
=================  ==================================================================
glorot_uniform     :math:`U(-l, l)`, :math:`l = \sqrt{6 / (\text{fan\_in} + \text{fan\_out})}`
glorot_normal      truncated :math:`N(0, \sigma^2)`, :math:`\sigma = \sqrt{2 / (\text{fan\_in} + \text{fan\_out})}`
he_uniform         :math:`U(-l, l)`, :math:`l = \sqrt{6 / \text{fan\_in}}`
he_normal          truncated :math:`N(0, \sigma^2)`, :math:`\sigma = \sqrt{2 / \text{fan\_in}}`
lecun_normal       truncated :math:`N(0, \sigma^2)`, :math:`\sigma = \sqrt{1 / \text{fan\_in}}`
orthogonal         a random orthogonal matrix (Keras' recurrent kernels, see :func:`orthogonal`)
uniform            :math:`U(-0.05, 0.05)` (Keras' ``"uniform"``, the default of Embedding)
zeros, ones        constants
=================  ==================================================================

The normal variants are truncated at two standard deviations (redrawn beyond),
and, as in Keras, :math:`\sigma` is divided by 0.8796, the standard deviation
of a unit normal truncated at :math:`\pm 2`, so the variance is the intended one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._config import get_default_dtype, get_rng

Shape = tuple[int, ...]
Initializer = Callable[..., np.ndarray]

_TRUNC_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


def _fans(shape: Shape) -> tuple[int, int]:
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def _uniform(shape: Shape, limit: float, dtype, rng) -> np.ndarray:
    rng = get_rng() if rng is None else rng
    dtype = get_default_dtype() if dtype is None else dtype
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def _truncated_normal(shape: Shape, std: float, dtype, rng) -> np.ndarray:
    rng = get_rng() if rng is None else rng
    dtype = get_default_dtype() if dtype is None else dtype
    z = rng.standard_normal(size=shape)
    bad = np.abs(z) > 2.0
    while bad.any():  # redraw the few values beyond two deviations
        z[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(z) > 2.0
    return (z * (std / _TRUNC_STD)).astype(dtype)


def glorot_uniform(shape: Shape, dtype=None, rng=None) -> np.ndarray:
    """Glorot (Xavier) uniform: ``U(-l, l)``, ``l = sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _fans(shape)
    return _uniform(shape, np.sqrt(6.0 / (fan_in + fan_out)), dtype, rng)


def glorot_normal(shape: Shape, dtype=None, rng=None) -> np.ndarray:
    """Glorot normal: truncated normal with ``std = sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _fans(shape)
    return _truncated_normal(shape, np.sqrt(2.0 / (fan_in + fan_out)), dtype, rng)


def he_uniform(shape: Shape, dtype=None, rng=None) -> np.ndarray:
    """He uniform: ``U(-l, l)``, ``l = sqrt(6 / fan_in)``."""
    fan_in, _ = _fans(shape)
    return _uniform(shape, np.sqrt(6.0 / fan_in), dtype, rng)


def he_normal(shape: Shape, dtype=None, rng=None) -> np.ndarray:
    """He normal: truncated normal with ``std = sqrt(2 / fan_in)``."""
    fan_in, _ = _fans(shape)
    return _truncated_normal(shape, np.sqrt(2.0 / fan_in), dtype, rng)


def lecun_normal(shape: Shape, dtype=None, rng=None) -> np.ndarray:
    """LeCun normal: truncated normal with ``std = sqrt(1 / fan_in)``."""
    fan_in, _ = _fans(shape)
    return _truncated_normal(shape, np.sqrt(1.0 / fan_in), dtype, rng)


def orthogonal(shape: Shape, dtype=None, rng=None) -> np.ndarray:
    r"""A random orthogonal matrix (Saxe et al., 2014), Keras' default for recurrent kernels.

    The shape is flattened to :math:`(r, c)` with :math:`c` the last axis. A :math:`\max(r, c) \times
    \min(r, c)` standard normal matrix :math:`A` is factored :math:`A = QR`; multiplying each column
    of :math:`Q` by the sign of the matching diagonal entry of :math:`R` makes the result uniformly
    distributed over the orthogonal matrices (Haar measure) instead of depending on the QR routine's
    sign convention. :math:`Q` (transposed when :math:`r < c`) has orthonormal columns (or rows):
    every singular value is 1, so repeated multiplication by it neither grows nor shrinks a vector.
    """
    rng = get_rng() if rng is None else rng
    dtype = get_default_dtype() if dtype is None else dtype
    if len(shape) < 2:
        raise ValueError(f"the orthogonal initializer needs a shape of at least 2 axes, got {tuple(shape)}")
    rows, cols = int(np.prod(shape[:-1])), int(shape[-1])
    a = rng.standard_normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.where(np.diag(r) < 0, -1.0, 1.0)
    if rows < cols:
        q = q.T
    return q.reshape(shape).astype(dtype)


def uniform(shape: Shape, dtype=None, rng=None) -> np.ndarray:
    """``U(-0.05, 0.05)``: Keras' ``"uniform"`` (``RandomUniform()`` with its defaults)."""
    return _uniform(shape, 0.05, dtype, rng)


def zeros(shape: Shape, dtype=None, rng=None) -> np.ndarray:
    """All zeros."""
    return np.zeros(shape, dtype=get_default_dtype() if dtype is None else dtype)


def ones(shape: Shape, dtype=None, rng=None) -> np.ndarray:
    """All ones."""
    return np.ones(shape, dtype=get_default_dtype() if dtype is None else dtype)


INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
    "uniform": uniform,
    "zeros": zeros,
    "ones": ones,
}


def get(name: str) -> Initializer:
    """Return the initializer called ``name`` (one of :data:`INITIALIZERS`)."""
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown initializer {name!r}; valid names: {', '.join(sorted(INITIALIZERS))}"
        ) from None
