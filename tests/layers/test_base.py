"""The machinery of tinynet.engine: workspaces, plans per batch shape, and what they reuse."""

import copy
import pickle

import numpy as np
import pytest

import tinynet as tn
from tinynet.engine import FRESH, PLAN_LIMIT, Workspace
from tinynet.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sigmoid, Softmax
from tinynet.layers.base import Layer, memory_order


def test_a_workspace_array_is_the_same_array_for_the_same_shape_and_a_new_one_otherwise():
    ws = Workspace()
    a = ws.array("a", (8, 3), np.float32)
    assert ws.array("a", (8, 3), np.float32) is a
    b = ws.array("a", (5, 3), np.float32)
    assert b is not a and b.shape == (5, 3)
    assert ws.array("a", (5, 3), np.float64).dtype == np.float64  # another dtype, another array
    assert ws.array("b", (5, 3), np.float32) is not ws.array("a", (5, 3), np.float32)


def test_fresh_allocates_every_time():
    assert FRESH.array("a", (2, 2), np.float32) is not FRESH.array("a", (2, 2), np.float32)
    assert FRESH.derived("v", None, list) is not FRESH.derived("v", None, list)


def test_buffer_in_a_memory_order_is_a_transposed_view_of_a_c_ordered_array():
    layer = Layer()
    view = layer.buffer("a", (2, 3, 4, 5), order=(0, 2, 3, 1))
    assert view.shape == (2, 3, 4, 5)
    assert memory_order(view) == (0, 2, 3, 1)
    assert view.transpose(0, 2, 3, 1).flags.c_contiguous


def test_zeroed_buffer_is_zero_when_allocated_and_left_alone_afterwards():
    layer = Layer()
    zeros = layer.zeroed_buffer("z", (4, 3))
    assert not zeros.any()
    zeros[0, 0] = 7.0  # the caller's own writes persist: the buffer is not refilled on reuse
    assert layer.zeroed_buffer("z", (4, 3))[0, 0] == 7.0
    bigger = layer.zeroed_buffer("z", (6, 3))  # reallocated for another shape: zeroed again
    assert not bigger.any()


def test_a_derived_view_is_made_again_for_another_source_array():
    ws = Workspace()
    a, b = np.zeros(4), np.zeros(4)
    first = ws.derived("v", a, lambda: a[::2])
    assert ws.derived("v", a, lambda: a[1::2]) is first  # the same source: made once
    assert np.shares_memory(ws.derived("v", b, lambda: b[::2]), b)  # another source: made anew


@pytest.mark.parametrize("how", [copy.deepcopy, lambda ws: pickle.loads(pickle.dumps(ws))])
def test_a_copied_workspace_starts_empty(how):
    ws = Workspace()
    ws.array("a", (3,), np.float32)
    ws.derived("v", ws.arrays["a"], lambda: ws.arrays["a"][1:])
    copied = how(ws)
    assert type(copied) is Workspace and not copied.arrays and not copied.views


def _mlp_and_cnn(seed=0):
    tn.set_seed(seed)
    cnn = tn.Sequential(
        [
            Conv2D(3, 3, padding="same", activation="relu", input_shape=(2, 6, 6)),
            MaxPool2D(2),
            Conv2D(2, 2, activation="tanh"),
            Flatten(),
            Dense(3, activation="softmax"),
        ]
    )
    cnn.compile(loss="categorical_crossentropy", optimizer="sgd")
    cnn.build()
    return cnn


def test_a_model_keeps_one_plan_per_batch_shape_and_reuses_its_arrays():
    model = _mlp_and_cnn()
    rng = np.random.default_rng(0)
    x, y = (
        rng.normal(size=(8, 2, 6, 6)).astype(np.float32),
        np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)],
    )
    outputs = {}
    for n in (8, 5, 8, 5):
        model.train_step(x[:n], y[:n])
        z = model.layers[0].workspace.arrays["x_col"]  # a work array of the first layer's plan
        assert outputs.setdefault(n, z) is z  # the same array every step of one batch shape
    assert outputs[8] is not outputs[5]
    assert set(model._executor.plans) == {(8, 2, 6, 6), (5, 2, 6, 6)}
    for n in range(1, 3 * PLAN_LIMIT):  # ever-changing batch sizes: the plans stay bounded
        model.train_step(x[: n % 8 + 1], y[: n % 8 + 1])
    assert len(model._executor.plans) <= PLAN_LIMIT
    model.predict(x)  # inference: fresh arrays, the plans untouched
    assert model.layers[0].workspace is FRESH


@pytest.mark.parametrize("shapes", [(8, 8, 8), (8, 5, 8, 5, 3, 8)])
def test_what_a_plan_reuses_never_goes_stale(shapes, float64):
    # a model that reuses its plans (and the views derived from their arrays) must train exactly like
    # one that starts every step from new arrays; inputs are refilled in place, as fit's batch buffer
    a, b = _mlp_and_cnn(), _mlp_and_cnn()
    rng = np.random.default_rng(1)
    buffers = {n: np.empty((n, 2, 6, 6)) for n in set(shapes)}
    for n in shapes:
        x = buffers[n]
        x[...] = rng.normal(size=x.shape)
        y = np.eye(3)[rng.integers(0, 3, n)]
        loss_a = a.train_step(x, y)
        b._executor.plans.clear()  # no plan survives a step: every array and view made anew
        b._executor.active = "unknown"
        loss_b = b.train_step(x.copy(), y)
        assert loss_a == loss_b
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


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
        expected_dx = twin.backward(g.copy()).copy()
        expected_grads = {k: v.copy() for k, v in twin.grads.items()}
        np.testing.assert_array_equal(layer.forward(x, training=True), expected)
        np.testing.assert_array_equal(layer.backward(g), expected_dx)
        for k, v in expected_grads.items():
            np.testing.assert_array_equal(layer.grads[k], v)
