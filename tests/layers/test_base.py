"""The layer protocol's work-array helpers: buffer, zeroed_buffer, c_ordered, c_order_buffer, memory_order, remember."""

import numpy as np
import pytest

from tinynet.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sigmoid, Softmax
from tinynet.layers.base import CACHE_LIMIT, Layer, memory_order, remember


def test_a_smaller_batch_gets_a_view_of_the_same_buffer():
    layer = Layer()
    full = layer.buffer("a", (8, 3))
    last = layer.buffer("a", (5, 3))
    assert last.base is full or last.base is full.base
    assert np.shares_memory(full, last) and last.shape == (5, 3)


def test_buffer_views_are_remembered_for_both_shapes_of_an_epoch():
    # an epoch alternates full batches and one smaller batch: neither request builds a new view
    layer = Layer()
    full, last = layer.buffer("a", (8, 3)), layer.buffer("a", (5, 3))
    assert layer.buffer("a", (8, 3)) is full
    assert layer.buffer("a", (5, 3)) is last
    assert layer.buffer("a", (8, 3), np.dtype(np.float64)) is not full  # another dtype, another array


def test_buffer_in_a_memory_order_is_a_transposed_view_of_a_c_ordered_array():
    layer = Layer()
    view = layer.buffer("a", (2, 3, 4, 5), order=(0, 2, 3, 1))
    assert view.shape == (2, 3, 4, 5)
    assert memory_order(view) == (0, 2, 3, 1)
    assert view.transpose(0, 2, 3, 1).flags.c_contiguous


def test_per_shape_caches_stay_bounded():
    layer = Layer()
    for n in range(1, 3 * CACHE_LIMIT):
        layer.buffer("a", (n, 2))
    assert len(layer._views) <= CACHE_LIMIT
    cache: dict = {}
    for k in range(3 * CACHE_LIMIT):
        assert remember(cache, k, str(k)) == str(k)
        assert cache[k] == str(k)  # the value just stored is always there
    assert len(cache) <= CACHE_LIMIT


def test_zeroed_buffer_is_zero_when_allocated_and_left_alone_afterwards():
    layer = Layer()
    zeros = layer.zeroed_buffer("z", (4, 3))
    assert not zeros.any()
    zeros[0, 0] = 7.0  # the caller's own writes persist: the buffer is not refilled on reuse
    assert layer.zeroed_buffer("z", (4, 3))[0, 0] == 7.0
    bigger = layer.zeroed_buffer("z", (6, 3))  # reallocated for a larger batch: zeroed again
    assert not bigger.any()


def test_c_ordered_copies_only_what_is_not_c_contiguous():
    layer = Layer()
    a = np.arange(24.0).reshape(2, 3, 4)
    assert layer.c_ordered("k", a) is a
    t = a.transpose(0, 2, 1)
    copy = layer.c_ordered("k", t)
    assert copy.flags.c_contiguous and not np.shares_memory(copy, a)
    np.testing.assert_array_equal(copy, t)
    # the decision alone, for layers that make it once and repeat only the copy
    assert layer.c_order_buffer("k", a) is None
    assert layer.c_order_buffer("k", t) is copy


def test_an_epochs_last_batch_reuses_the_plans_of_conv_and_pooling():
    conv, pool = Conv2D(3, 3, padding="same", activation="relu"), MaxPool2D(2)
    x = np.random.default_rng(0).normal(size=(8, 2, 6, 6)).astype(np.float32)
    conv.build(x.shape[1:])
    for n in (8, 5, 8, 5):
        y = pool.forward(conv.forward(x[:n], training=True), training=True)
        pool.backward(np.ones_like(y))
    assert len(conv._step_arrays) == 2 and len(conv._geometries) == 2
    assert len(pool._plans) == 2
    views = dict(conv._views)
    for n in (8, 5):
        pool.forward(conv.forward(x[:n], training=True), training=True)
    assert conv._views.keys() == views.keys()
    assert all(conv._views[k] is v for k, v in views.items())  # the same views, none rebuilt


def _channels_last(rng, shape):
    """A random NCHW array stored channels-last, as a Conv2D returns it."""
    n, c, h, w = shape
    return np.ascontiguousarray(rng.normal(size=(n, h, w, c))).transpose(0, 3, 1, 2)


@pytest.mark.parametrize(
    "make",
    [
        lambda: MaxPool2D(2),
        lambda: Flatten(),
        lambda: ReLU(),
        lambda: Softmax(),
        lambda: Sigmoid(),
        lambda: Conv2D(3, 3, padding="same", activation="relu"),
        lambda: Dense(3, "relu"),
    ],
    ids=["maxpool", "flatten", "relu", "softmax", "sigmoid", "conv", "dense"],
)
def test_what_layers_remember_about_a_work_array_never_goes_stale(make, float64):
    # in a model a layer sees the same work arrays every step (its input, the gradient from above)
    # and remembers what it derived from them (views, companion buffers): new contents, another
    # array of the same shape and the first array again must all give what a fresh twin gives
    rng = np.random.default_rng(0)
    layer = make()
    if isinstance(layer, Dense):
        a, b, c = rng.normal(size=(4, 5)), rng.normal(size=(4, 5)), rng.normal(size=(2, 5))
    else:
        a, b = _channels_last(rng, (4, 2, 6, 6)), _channels_last(rng, (4, 2, 6, 6))
        c = _channels_last(rng, (2, 2, 6, 6))  # an epoch's last, smaller batch
    if isinstance(layer, (Conv2D, Dense)):
        layer.build(a.shape[1:])
    upstream = {}  # one gradient array per input array, refilled every time, as a model's
    for x in (a, a, b, b, c, a, c):
        x[...] = rng.normal(size=x.shape)  # new contents in the same array
        twin = make()
        if isinstance(layer, (Conv2D, Dense)):
            twin.build(a.shape[1:])
            twin.set_weights(layer.get_weights())
        out_shape = twin.forward(x.copy(order="K"), training=True).shape
        g = upstream.setdefault(id(x), np.empty(out_shape))
        g[...] = rng.normal(size=out_shape)
        expected = twin.forward(x.copy(order="K"), training=True).copy()
        # the softmax's and sigmoid's A(x) and the logits they hand a fused loss, from forward's arrays
        has_a = hasattr(twin, "log_normalizer")
        expected_a = twin.log_normalizer().copy() if has_a else None
        expected_logits = [v.copy() for v in twin.loss_logits()] if has_a else None
        expected_dx = twin.backward(g.copy()).copy()
        expected_grads = {k: v.copy() for k, v in twin.grads.items()}
        np.testing.assert_array_equal(layer.forward(x, training=True), expected)
        if has_a:
            np.testing.assert_array_equal(layer.log_normalizer(), expected_a)
            for got, want in zip(layer.loss_logits(), expected_logits, strict=True):
                np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(layer.backward(g), expected_dx)
        for k, v in expected_grads.items():
            np.testing.assert_array_equal(layer.grads[k], v)
