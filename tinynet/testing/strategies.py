r"""Hypothesis strategies for arrays and shapes that suit gradient checks.

A gradient check needs inputs on which central differences are exact to
:math:`O(h^2)`: finite, moderate values, away from the *kinks* where a layer is
not differentiable (ReLU at 0, a tie inside a max-pooling window), and shapes
that exercise the corner cases of a backward pass: batch size 1, odd and
non-square sizes, a single feature.

The shapes come from Hypothesis (so a failing case shrinks to the smallest
shape).  The values of :func:`arrays` are drawn by NumPy from a seed that
Hypothesis chooses: they are generic (no accidental ties or symmetric
patterns that could hide a transposed matrix), and they lie in
:math:`[\text{min\_value}, \text{max\_value}]` minus a margin around each kink.

This module needs Hypothesis (``pip install hypothesis``); ``import tinynet``
never imports it.

Examples
--------
A ten-line test file for a custom layer::

    import hypothesis.strategies as st
    from hypothesis import given

    from swish import Swish
    from tinynet.testing import assert_layer_gradients
    from tinynet.testing.strategies import arrays, gradient_settings


    @gradient_settings()
    @given(x=arrays(), beta=st.floats(-2.0, 2.0))
    def test_swish_backward(x, beta):
        assert_layer_gradients(Swish(beta=beta), x)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

try:
    from hypothesis import HealthCheck, settings
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError("tinynet.testing.strategies needs hypothesis: pip install hypothesis") from exc

__all__ = [
    "KINKS",
    "arrays",
    "away_from",
    "batch_shapes",
    "gradient_settings",
    "image_batches",
    "image_shapes",
    "seeds",
    "shapes",
]

#: The default kinks to avoid: 0, where ReLU, leaky ReLU, ELU and absolute values bend.
KINKS: tuple[float, ...] = (0.0,)

Shape = tuple[int, ...]


def gradient_settings(max_examples: int = 25, **kwargs) -> settings:
    """Hypothesis settings for gradient checks: few examples, no deadline.

    Central differences evaluate the layer twice per input and parameter
    element, which can exceed Hypothesis' default 200 ms deadline on the first,
    cold call; use as a decorator above ``@given``.

    Parameters
    ----------
    max_examples : int
        Examples per test.
    **kwargs
        Further :class:`hypothesis.settings` (e.g. ``database=None`` in a notebook).
    """
    kwargs.setdefault("suppress_health_check", [HealthCheck.too_slow])
    return settings(max_examples=max_examples, deadline=None, **kwargs)


def seeds() -> st.SearchStrategy[int]:
    """Seeds for NumPy generators (shrinking towards 0)."""
    return st.integers(min_value=0, max_value=2**32 - 1)


def _allowed(min_value: float, max_value: float, points: Sequence[float], margin: float) -> np.ndarray:
    """The intervals of [min_value, max_value] at distance >= margin from every point, as rows (lo, hi)."""
    if not (np.isfinite(min_value) and np.isfinite(max_value) and min_value < max_value):
        raise ValueError(f"need finite min_value < max_value, got {min_value} and {max_value}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    forbidden = sorted((float(p) - margin, float(p) + margin) for p in points)
    intervals, lo = [], float(min_value)
    for a, b in forbidden:
        if a > lo:
            intervals.append((lo, min(a, float(max_value))))
        lo = max(lo, b)
        if lo >= max_value:
            break
    if lo < max_value:
        intervals.append((lo, float(max_value)))
    intervals = [(a, b) for a, b in intervals if b > a]
    if not intervals:
        raise ValueError(
            f"nothing of [{min_value}, {max_value}] is at distance {margin} from the points {list(points)}"
        )
    return np.array(intervals, dtype=np.float64)


def _place(t: np.ndarray, intervals: np.ndarray) -> np.ndarray:
    """Map positions t in [0, total length) onto the allowed intervals, in order (a monotone map)."""
    lengths = intervals[:, 1] - intervals[:, 0]
    starts = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    k = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(intervals) - 1)
    return np.clip(intervals[k, 0] + (t - starts[k]), intervals[k, 0], intervals[k, 1])


def away_from(
    points: Sequence[float] = KINKS,
    margin: float = 0.05,
    *,
    min_value: float = -3.0,
    max_value: float = 3.0,
) -> st.SearchStrategy[float]:
    r"""Floats in :math:`[\text{min\_value}, \text{max\_value}]` at distance at least ``margin`` from every point.

    Built by mapping, not filtering, so no example is ever rejected; it
    shrinks towards ``min_value``.  Use it as ``elements=`` of :func:`arrays`,
    or for a scalar argument (a slope, a ``beta``) that must avoid a value.

    Parameters
    ----------
    points : sequence of float
        The kinks to avoid.
    margin : float
        The smallest distance to each point; keep it far above the
        central-difference step (:math:`10^{-6}`).
    min_value, max_value : float
        The range.
    """
    intervals = _allowed(min_value, max_value, points, margin)
    total = float(np.sum(intervals[:, 1] - intervals[:, 0]))
    return st.floats(min_value=0.0, max_value=total, allow_nan=False, allow_infinity=False).map(
        lambda t: float(_place(np.array([t]), intervals)[0])
    )


def shapes(
    *, min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 5
) -> st.SearchStrategy[Shape]:
    """Shapes of one sample (no batch axis): small sides, odd ones and 1 included."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def batch_shapes(
    sample_shape: Shape | st.SearchStrategy[Shape] | None = None,
    *,
    min_batch: int = 1,
    max_batch: int = 5,
    min_dims: int = 1,
    max_dims: int = 1,
    min_side: int = 1,
    max_side: int = 6,
) -> st.SearchStrategy[Shape]:
    """Batch shapes ``(N, *sample_shape)`` with :math:`N` from ``min_batch`` (default 1) to ``max_batch``.

    Parameters
    ----------
    sample_shape : tuple or strategy, optional
        The shape of one sample; drawn by :func:`shapes` (with ``min_dims`` ...
        ``max_side``) when omitted, so by default ``(N, F)``.
    min_batch, max_batch : int
        The range of :math:`N`; keep 1, the batch size that exposes a missing
        ``keepdims`` or a sum over the wrong axis.
    """
    if sample_shape is None:
        sample_shape = shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)
    elif not isinstance(sample_shape, st.SearchStrategy):
        sample_shape = st.just(tuple(int(s) for s in sample_shape))
    return st.tuples(st.integers(min_batch, max_batch), sample_shape).map(lambda t: (t[0], *t[1]))


def arrays(
    shape: Shape | st.SearchStrategy[Shape] | None = None,
    *,
    min_dims: int = 1,
    max_dims: int = 1,
    min_side: int = 1,
    max_side: int = 6,
    min_value: float = -3.0,
    max_value: float = 3.0,
    avoid: Sequence[float] = KINKS,
    margin: float = 0.05,
    distinct: bool = True,
    elements: st.SearchStrategy[float] | None = None,
) -> st.SearchStrategy[np.ndarray]:
    r"""Float64 arrays for gradient checks: finite, generic, away from kinks.

    Parameters
    ----------
    shape : tuple or strategy, optional
        A fixed shape, a strategy of shapes, or (default) :func:`batch_shapes`
        with the four arguments below: by default ``(N, F)`` with
        :math:`1 \le N \le 5`, :math:`1 \le F \le 6`.
    min_dims, max_dims : int
        Number of axes after the batch axis (when ``shape`` is not given).
    min_side, max_side : int
        Range of the sizes of those axes (when ``shape`` is not given).
    min_value, max_value : float
        The range of the values.
    avoid : sequence of float
        Kinks: every value keeps a distance of at least ``margin`` from each.
    margin : float
        See ``avoid``.
    distinct : bool
        Spread the values so that any two differ by at least half of (allowed
        length / size): no ties, as a max-pooling window or a sort would need.
        Otherwise they are independent uniform draws.
    elements : strategy, optional
        Draw each element with this Hypothesis strategy instead (e.g.
        :func:`away_from`); ``min_value`` ... ``distinct`` are then ignored.
        Element-wise strategies shrink value by value, but also produce ties
        and repeated values.

    Returns
    -------
    strategy of ndarray
        float64 arrays of the drawn shape.

    Raises
    ------
    ValueError
        At once (not when drawing) when no value of the range keeps ``margin``
        from the kinks.
    """
    if shape is None:
        shape = batch_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)
    shapes_ = shape
    if not isinstance(shapes_, st.SearchStrategy):
        shapes_ = st.just(tuple(int(s) for s in shapes_))
    if elements is not None:
        return shapes_.flatmap(lambda s: hnp.arrays(np.float64, s, elements=elements))
    intervals = _allowed(min_value, max_value, avoid, margin)
    total = float(np.sum(intervals[:, 1] - intervals[:, 0]))

    def make(args: tuple[Shape, int]) -> np.ndarray:
        the_shape, seed = args
        rng = np.random.default_rng(seed)
        size = int(np.prod(the_shape))
        if distinct:
            # stratified: one value per slot of width total/size, at least half a slot apart
            t = (rng.permutation(size) + rng.uniform(0.25, 0.75, size)) * (total / max(size, 1))
        else:
            t = rng.uniform(0.0, total, size)
        return _place(t, intervals).reshape(the_shape)

    return st.tuples(shapes_, seeds()).map(make)


def image_shapes(
    *,
    min_batch: int = 1,
    max_batch: int = 3,
    min_channels: int = 1,
    max_channels: int = 3,
    min_side: int = 1,
    max_side: int = 6,
    square: bool = False,
) -> st.SearchStrategy[Shape]:
    """Shapes ``(N, C, H, W)`` of image batches (the parameters as in :func:`image_batches`)."""
    sides = st.integers(min_side, max_side)
    hw = sides.map(lambda s: (s, s)) if square else st.tuples(sides, sides)
    return st.tuples(st.integers(min_batch, max_batch), st.integers(min_channels, max_channels), hw).map(
        lambda t: (t[0], t[1], *t[2])
    )


def image_batches(
    *,
    min_batch: int = 1,
    max_batch: int = 3,
    min_channels: int = 1,
    max_channels: int = 3,
    min_side: int = 1,
    max_side: int = 6,
    square: bool = False,
    **array_kwargs,
) -> st.SearchStrategy[np.ndarray]:
    """Float64 image batches ``(N, C, H, W)`` (tinynet's NCHW layout) for convolution and pooling.

    Parameters
    ----------
    min_batch, max_batch, min_channels, max_channels : int
        Ranges of :math:`N` and :math:`C`.
    min_side, max_side : int
        Range of :math:`H` and :math:`W` (raise ``min_side`` to the kernel
        size for ``padding="valid"``).
    square : bool
        Force :math:`H = W` (by default they may differ, to catch swapped axes).
    **array_kwargs
        Passed to :func:`arrays` (``avoid``, ``distinct``, ...).
    """
    shape = image_shapes(
        min_batch=min_batch,
        max_batch=max_batch,
        min_channels=min_channels,
        max_channels=max_channels,
        min_side=min_side,
        max_side=max_side,
        square=square,
    )
    return arrays(shape, **array_kwargs)
