"""Hypothesis strategies shared by the gradient tests."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

batch_sizes = st.integers(min_value=1, max_value=5)
features = st.integers(min_value=1, max_value=6)
seeds = st.integers(min_value=0, max_value=2**31 - 1)


@st.composite
def matrices(draw, rows=batch_sizes, cols=features, low=-3.0, high=3.0):
    """A float64 matrix of random shape with values in [low, high]."""
    shape = (draw(rows), draw(cols))
    seed = draw(seeds)
    return np.random.default_rng(seed).uniform(low, high, size=shape)


@st.composite
def away_from_zero(draw, rows=batch_sizes, cols=features, margin=0.05):
    """A float64 matrix whose entries keep a distance ``margin`` from 0 (the kink of relu-like functions)."""
    x = draw(matrices(rows, cols))
    sign = np.where(x >= 0, 1.0, -1.0)
    return sign * (np.abs(x) + margin)


@st.composite
def shapes(draw, min_dims=1, max_dims=4, max_side=4):
    """A shape of 1 to 4 axes with small sides (batch size 1 included)."""
    return draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side))


#: Memory layouts of an image batch: indexing is always NCHW (see tinynet.layers.base.memory_order)
layouts = st.sampled_from(["C", "channels_last"])


def in_layout(x: np.ndarray, layout: str) -> np.ndarray:
    """``x`` (N, C, H, W) with the same values, stored C-ordered or channels-last (as Conv2D's output)."""
    if layout == "C":
        return np.ascontiguousarray(x)
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def stored_in_order(a: np.ndarray, order: tuple[int, ...] | None) -> bool:
    """Whether ``a``'s memory runs in axis order ``order`` (None: C order), as memory_order reports it.

    Checked through contiguity, so that arrays with axes of size 1 (whose strides say nothing)
    count as in every order they fit.
    """
    return (a if order is None else a.transpose(order)).flags.c_contiguous
