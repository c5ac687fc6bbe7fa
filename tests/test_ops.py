"""Every op of tinynet.ops against float64 central differences, over Hypothesis shapes.

For an op :math:`y = f(x, \\theta)` and a random upstream gradient :math:`G`, the
backward op must return the gradient of :math:`\\sum G \\odot f` with respect to
each input; ``numerical_gradient`` perturbs one element at a time.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinynet import ops
from tinynet.gradcheck import numerical_gradient, relative_error
from tinynet.testing.strategies import arrays, gradient_settings, image_batches, seeds

TOL = 1e-6


def check(analytic, f, x):
    """Assert that ``analytic`` is the gradient of ``f()`` with respect to ``x`` (float64)."""
    err = relative_error(analytic, numerical_gradient(f, x))
    assert err < TOL, err


def upstream(shape, seed):
    return np.random.default_rng(seed).normal(size=shape)


elementwise = [
    ("relu", lambda x: ops.relu(x), lambda x, y, g: ops.relu_backward(y, g)),
    ("leaky_relu", lambda x: ops.leaky_relu(x, 0.2), lambda x, y, g: ops.leaky_relu_backward(x, g, 0.2)),
    ("elu", lambda x: ops.elu(x, 0.7), lambda x, y, g: ops.elu_backward(x, y, g, 0.7)),
    ("sigmoid", lambda x: ops.sigmoid(x), lambda x, y, g: ops.sigmoid_backward(y, g)),
    ("tanh", lambda x: ops.tanh(x), lambda x, y, g: ops.tanh_backward(y, g)),
    ("softplus", lambda x: ops.softplus(x), lambda x, y, g: ops.softplus_backward(x, g)),
    ("gelu", lambda x: ops.gelu(x), lambda x, y, g: ops.gelu_backward(x, g)),
    ("gelu_tanh", lambda x: ops.gelu_tanh(x), lambda x, y, g: ops.gelu_tanh_backward(x, g)),
    ("softmax", lambda x: ops.softmax(x), lambda x, y, g: ops.softmax_backward(y, g)),
]


@pytest.mark.parametrize(("name", "forward", "backward"), elementwise, ids=[e[0] for e in elementwise])
@gradient_settings()
@given(x=arrays(min_dims=1, max_dims=3, max_side=4), seed=seeds())
def test_activation_backward(name, forward, backward, x, seed):
    g = upstream(x.shape, seed)
    y = forward(x)
    dx = backward(x, y, g.copy())
    check(dx, lambda: float(np.sum(g * forward(x))), x)


@given(x=arrays(min_dims=1, max_dims=3, max_side=4), seed=seeds())
def test_activation_ops_write_into_out_even_over_the_incoming_gradient(x, seed):
    g = upstream(x.shape, seed)
    for name in ("relu", "sigmoid", "tanh", "softmax"):
        forward, backward = getattr(ops, name), getattr(ops, name + "_backward")
        y = forward(x)
        out = np.empty_like(x)
        assert forward(x, out=out) is out
        np.testing.assert_array_equal(out, y)
        expected = backward(y, g)
        g_copy = g.copy()
        assert backward(y, g_copy, out=g_copy) is g_copy  # in place, as ReLU in a model
        np.testing.assert_array_equal(g_copy, expected)


@gradient_settings()
@given(
    n=st.integers(1, 4),
    sizes=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    lead=st.booleans(),
    seed=seeds(),
)
def test_dense_backward(n, sizes, lead, seed):
    rng = np.random.default_rng(seed)
    fan_in, units = sizes
    x = rng.normal(size=(2, n, fan_in) if lead else (n, fan_in))
    W, b = rng.normal(size=(fan_in, units)), rng.normal(size=units)
    g = upstream((*x.shape[:-1], units), seed + 1)
    dW, db = np.empty_like(W), np.empty_like(b)
    ops.dense_backward(x, g, dW, db)
    dx = ops.dense_input_grad(g, W)

    def f():
        return float(np.sum(g * ops.dense_forward(x, W, b)))

    check(dW, f, W)
    check(db, f, b)
    check(dx, f, x)


@gradient_settings()
@given(
    x=image_batches(min_side=2, max_side=6),
    filters=st.integers(1, 3),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    strides=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.sampled_from(["valid", "same", 1]),
    seed=seeds(),
)
def test_conv2d_backward(x, filters, kernel, strides, padding, seed):
    n, c, h, w = x.shape
    axes = [
        ops.conv_output_size(size, k, s, padding) for size, k, s in zip((h, w), kernel, strides, strict=True)
    ]
    if None in axes:
        return  # the kernel does not fit: the layer refuses such inputs
    (oh, top, bottom), (ow, left, right) = axes
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(filters, c, *kernel)), rng.normal(size=filters)

    def forward():
        x_pad = ops.pad_images(x, top, bottom, left, right)
        x_col = ops.im2col(x_pad, kernel, strides)
        return x_pad, x_col, ops.conv2d_forward(x_col, W, b, out=np.empty((n, oh, ow, filters)))

    x_pad, x_col, z = forward()
    g = upstream(z.shape, seed + 1)
    G = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).reshape(-1, filters)
    dW, db = np.empty_like(W), np.empty_like(b)
    ops.conv2d_backward(x_col, G, dW, db)
    dx = ops.col2im(G, W, x_pad.shape, strides)[:, :, top : top + h, left : left + w]

    def f():
        return float(np.sum(g * forward()[2]))

    check(dW, f, W)
    check(db, f, b)
    check(dx, f, x)


@gradient_settings()
@given(
    x=image_batches(min_side=2, max_side=6),
    pool=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    strides=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    kind=st.sampled_from(["max", "avg"]),
    seed=seeds(),
)
def test_pooling_backward(x, pool, strides, kind, seed):
    n, c, h, w = x.shape
    if h < pool[0] or w < pool[1]:
        return
    out_hw = ((h - pool[0]) // strides[0] + 1, (w - pool[1]) // strides[1] + 1)

    def forward():
        windows = ops.pool_windows(x, pool, strides, out_hw)
        y = np.empty((n, c, *out_hw))
        if kind == "avg":
            return ops.avg_pool(windows, out=y), None
        argmax = np.empty(y.shape, dtype=np.int8)
        return ops.max_pool(windows, out=y, argmax=argmax), argmax

    y, argmax = forward()
    g = upstream(y.shape, seed)
    if kind == "avg":
        dx = ops.avg_pool_backward(g, pool, strides, out=np.empty(x.shape))
    else:
        dx = ops.max_pool_backward(g, argmax, x.shape, pool, strides)
    check(dx, lambda: float(np.sum(g * forward()[0])), x)  # distinct values: no ties within a window


@gradient_settings()
@given(
    x=arrays(min_dims=2, max_dims=4, max_side=4, min_value=-2.0, max_value=2.0),
    batch_axes=st.booleans(),
    seed=seeds(),
)
def test_normalize_backward(x, batch_axes, seed):
    # batch normalization reduces the batch (and image) axes, layer normalization the last one
    axes = tuple(a for a in range(x.ndim) if a != 1) if batch_axes else (x.ndim - 1,)
    g_hat = upstream(x.shape, seed)
    x_hat, _, _, inv_std = ops.normalize_forward(x, axes, 1e-3)
    dx = ops.normalize_backward(g_hat.copy(), x_hat, inv_std, axes)
    check(dx, lambda: float(np.sum(g_hat * ops.normalize_forward(x, axes, 1e-3)[0])), x)


@gradient_settings()
@given(z=arrays(min_dims=2, max_dims=3, max_side=4, avoid=()), unit=st.booleans(), seed=seeds())
def test_cross_entropy_from_logits(z, unit, seed):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, 1.0, z.shape)
    if unit:
        t /= t.sum(axis=-1, keepdims=True)
    scale = 0.3
    # softmax: the loss per row, its gradient c (p T - t)
    grad = ops.cross_entropy_logits_grad(ops.softmax(z), t, scale, unit_rows=False)
    check(grad, lambda: scale * float(np.sum(ops.softmax_cross_entropy(z, t))), z)
    if unit:  # rows summing to one: p T = p
        np.testing.assert_allclose(ops.cross_entropy_logits_grad(ops.softmax(z), t, scale), grad, atol=1e-15)
    # with the shifted logits and A of logsumexp: the same numbers
    s, A = ops.logsumexp(z)
    np.testing.assert_allclose(ops.softmax_cross_entropy(s, t, A), ops.softmax_cross_entropy(z, t))
    # sigmoid: every element its own two-class softmax, the gradient c (p - t)
    grad = ops.cross_entropy_logits_grad(ops.sigmoid(z), t, scale)
    check(grad, lambda: scale * float(np.sum(ops.sigmoid_cross_entropy(z, t))), z)


def test_cross_entropy_from_huge_logits_stays_finite():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 50.0]], dtype=np.float32)
    t = np.eye(3, dtype=np.float32)[[1, 0]]
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        assert np.isfinite(ops.softmax_cross_entropy(z, t)).all()
        assert np.isfinite(ops.sigmoid_cross_entropy(z, t)).all()
        assert np.isfinite(ops.log_softmax(z)).all()
