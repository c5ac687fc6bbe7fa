"""Conv2D: gradients, hand-computed values, "same" padding, buffers, shapes and errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet as tn
from tinynet.gradcheck import check_layer, check_model, float64_defaults
from tinynet.layers.base import memory_order
from tinynet.layers.conv import Conv2D
from tinynet.layers.core import Flatten
from tinynet.layers.dense import Dense
from tinynet.layers.pooling import MaxPool2D

from ..strategies import in_layout, layouts, seeds

paddings = st.sampled_from(["valid", "same", 0, 1, 2])


@st.composite
def conv_cases(draw):
    """A small convolution problem whose geometry is valid: (x shape, layer arguments)."""
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    padding = draw(paddings)
    extra = 0 if padding in ("valid", "same") else padding
    # "same" accepts any kernel; otherwise the (padded) image must hold the kernel
    limit_h = 4 if padding == "same" else min(4, h + 2 * extra)
    limit_w = 4 if padding == "same" else min(4, w + 2 * extra)
    kernel = (draw(st.integers(1, limit_h)), draw(st.integers(1, limit_w)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return (n, c, h, w), {"kernel_size": kernel, "strides": strides, "padding": padding}


def naive_conv(x, W, b, strides, pads):
    """Direct evaluation of the forward formula, pixel by pixel (the slow reference)."""
    (top, bottom), (left, right) = pads
    x_pad = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    n, _, hp, wp = x_pad.shape
    f, _, kh, kw = W.shape
    sh, sw = strides
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    z = np.empty((n, f, oh, ow))
    for p in range(oh):
        for q in range(ow):
            patch = x_pad[:, :, p * sh : p * sh + kh, q * sw : q * sw + kw]
            z[:, :, p, q] = np.einsum("ncij,fcij->nf", patch, W) + b
    return z


def same_pads(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


@settings(max_examples=20, deadline=None)
@given(
    case=conv_cases(),
    filters=st.integers(1, 3),
    use_bias=st.booleans(),
    activation=st.sampled_from([None, "tanh", "sigmoid"]),
    seed=seeds,
    x_layout=layouts,
    g_layout=layouts,
)
def test_gradients_match_central_differences(case, filters, use_bias, activation, seed, x_layout, g_layout):
    # inputs and upstream gradients in either memory layout: Conv2D reads both (after a Conv2D
    # they arrive channels-last; a gradient from Flatten arrives C-ordered)
    shape, kwargs = case
    rng = np.random.default_rng(seed)
    tn.set_seed(seed)
    with float64_defaults():
        layer = Conv2D(filters, activation=activation, use_bias=use_bias, **kwargs)
        layer.build(shape[1:])
    if use_bias:
        layer.params["b"][...] = rng.uniform(-1, 1, filters)
    x = in_layout(rng.uniform(-1, 1, shape), x_layout)
    g = in_layout(rng.standard_normal((shape[0], *layer.compute_output_shape(shape[1:]))), g_layout)
    errors = check_layer(layer, x, seed=seed + 1, grad_output=g)
    assert set(errors) == ({"input", "W", "b"} if use_bias else {"input", "W"})
    assert max(errors.values()) < 1e-6, errors


@settings(max_examples=20, deadline=None)
@given(case=conv_cases(), filters=st.integers(1, 3), seed=seeds)
def test_forward_matches_the_direct_formula(case, filters, seed):
    shape, kwargs = case
    rng = np.random.default_rng(seed)
    tn.set_seed(seed)
    with float64_defaults():
        layer = Conv2D(filters, **kwargs)
        layer.build(shape[1:])
    layer.params["b"][...] = rng.uniform(-1, 1, filters)
    x = rng.uniform(-1, 1, shape)
    (kh, kw), (sh, sw), padding = kwargs["kernel_size"], kwargs["strides"], kwargs["padding"]
    if padding == "same":
        pads = (same_pads(shape[2], kh, sh), same_pads(shape[3], kw, sw))
    else:
        p = 0 if padding == "valid" else padding
        pads = ((p, p), (p, p))
    expected = naive_conv(x, layer.params["W"], layer.params["b"], (sh, sw), pads)
    y = layer.forward(x, training=True)
    assert y.shape[1:] == layer.compute_output_shape(shape[1:])
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


def test_output_is_channels_last_in_memory_and_indexed_nchw(float64):
    # the documented layout: the GEMM result (N, OH, OW, F) is returned as its NCHW view, uncopied
    layer = Conv2D(4, 3, padding="same", activation="relu", input_shape=(2, 5, 6))
    x = np.random.default_rng(0).normal(size=(3, 2, 5, 6))
    for training in (True, False):
        y = layer(x, training=training)
        assert y.shape == (3, 4, 5, 6)
        assert memory_order(y) == (0, 2, 3, 1)
        assert y.transpose(0, 2, 3, 1).flags.c_contiguous
    W, b = layer.params["W"], layer.params["b"]
    expected = np.maximum(naive_conv(x, W, b, (1, 1), ((1, 1), (1, 1))), 0)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


def test_known_3x3_convolution(float64):
    layer = Conv2D(1, 3)
    layer.build((1, 4, 4))
    layer.params["W"][...] = [[[[1, 0, -1], [0, 2, 0], [-1, 0, 1]]]]
    layer.params["b"][...] = 0.5
    x = np.array([[[[1, 2, 0, 1], [0, 1, 3, 2], [2, 0, 1, 1], [1, 3, 0, 2]]]], dtype=float)
    # z[p, q] = x[p, q] - x[p, q+2] + 2 x[p+1, q+1] - x[p+2, q] + x[p+2, q+2] + 0.5
    #   (0,0): 1 - 0 + 2*1 - 2 + 1 = 2     (0,1): 2 - 1 + 2*3 - 0 + 1 = 8
    #   (1,0): 0 - 3 + 2*0 - 1 + 0 = -4    (1,1): 1 - 2 + 2*1 - 3 + 2 = 0
    np.testing.assert_allclose(layer.forward(x, training=True), [[[[2.5, 8.5], [-3.5, 0.5]]]])

    g = np.array([[[[1.0, 0.0], [0.0, 2.0]]]])
    dx = layer.backward(g)
    # dW[i, j] = sum_pq g[p, q] x[p+i, q+j] = x[i, j] + 2 x[i+1, j+1]
    np.testing.assert_allclose(layer.grads["W"], [[[[3, 8, 4], [0, 3, 5], [8, 0, 5]]]])
    np.testing.assert_allclose(layer.grads["b"], [3.0])
    # dx = W placed at (0, 0) times 1 plus W placed at (1, 1) times 2
    np.testing.assert_allclose(dx, [[[[1, 0, -1, 0], [0, 4, 0, -2], [-1, 0, 5, 0], [0, -2, 0, 2]]]])


def test_same_padding_puts_the_odd_row_and_column_last(float64):
    # 4x4 input, 3x3 kernel, stride 2: output ceil(4/2) = 2, total padding (2-1)*2 + 3 - 4 = 1,
    # all of it at the bottom/right (TensorFlow), so the first window is x[0:3, 0:3]
    layer = Conv2D(1, 3, strides=2, padding="same", use_bias=False)
    layer.build((1, 4, 4))
    assert layer.output_shape == (1, 2, 2)
    layer.params["W"][...] = 1.0
    x = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    # (0,0): 1+2+3+5+6+7+9+10+11 = 54   (0,1): 3+4+7+8+11+12 = 45
    # (1,0): 9+10+11+13+14+15 = 72      (1,1): 11+12+15+16 = 54
    np.testing.assert_allclose(layer.forward(x), [[[[54, 45], [72, 54]]]])


@pytest.mark.parametrize(
    ("size", "kernel", "strides", "padding", "expected"),
    [
        ((5, 7), 3, 1, "valid", (3, 5)),
        ((5, 7), 3, 2, "valid", (2, 3)),
        ((5, 7), 2, 1, "same", (5, 7)),
        ((5, 7), 3, 2, "same", (3, 4)),
        ((5, 7), (1, 4), (3, 2), "same", (2, 4)),
        ((5, 7), 3, 1, 1, (5, 7)),
        ((5, 7), 5, 2, 2, (3, 4)),
        ((1, 1), 3, 1, "same", (1, 1)),
    ],
)
def test_output_shapes(size, kernel, strides, padding, expected):
    layer = Conv2D(4, kernel, strides=strides, padding=padding)
    assert layer.compute_output_shape((2, *size)) == (4, *expected)


def test_reused_buffers_follow_the_batch_size(float64):
    # training mode writes into buffers reused across calls; a smaller (last) batch must still be right
    layer = Conv2D(3, 3, strides=(1, 2), padding="same", activation="tanh")
    x = np.random.default_rng(0).normal(size=(5, 2, 6, 5))
    expected = layer(x).copy()
    for n in (5, 2, 5, 1):
        np.testing.assert_allclose(layer.forward(x[:n], training=True), expected[:n], rtol=1e-13)
    g = np.random.default_rng(1).normal(size=expected.shape)
    layer.forward(x, training=True)
    dx_full, dW_full = layer.backward(g).copy(), layer.grads["W"].copy()
    layer.forward(x[:2], training=True)
    layer.backward(g[:2])
    layer.forward(x, training=True)
    np.testing.assert_allclose(layer.backward(g), dx_full, rtol=1e-13)
    np.testing.assert_allclose(layer.grads["W"], dW_full, rtol=1e-13)


def test_results_do_not_depend_on_old_buffer_contents(float64):
    # Layer.buffer promises a shape, not contents: poison every work array between two steps
    # (but the zero border of the padding buffer, which zeroed_buffer keeps by contract)
    layer = Conv2D(2, (3, 2), strides=2, padding="same")
    rng = np.random.default_rng(2)
    x, g = rng.normal(size=(3, 2, 5, 6)), rng.normal(size=(3, 2, 3, 3))
    y = layer(x, training=True).copy()
    dx = layer.backward(g).copy()
    for key, buf in layer.workspace.arrays.items():
        if key != "x_pad":
            buf.fill(np.nan)
    np.testing.assert_array_equal(layer(x, training=True), y)
    np.testing.assert_array_equal(layer.backward(g), dx)


def test_inference_returns_a_fresh_array():
    layer = Conv2D(2, 3, input_shape=(1, 5, 5))
    x = np.ones((2, 1, 5, 5), dtype=np.float32)
    first = layer(x)
    second = layer(2 * x)
    assert not np.shares_memory(first, second)


def test_params_have_documented_shapes():
    layer = Conv2D(6, (3, 2), input_shape=(4, 9, 9))
    layer.build((4, 9, 9))
    assert layer.params["W"].shape == (6, 4, 3, 2) and layer.params["b"].shape == (6,)
    assert layer.params["W"].dtype == np.float32
    assert layer.count_params() == 6 * 4 * 3 * 2 + 6
    assert layer.output_shape == (6, 7, 8)
    assert tn.Sequential([Conv2D(1, 1), Conv2D(1, 1)]).layers[1].name == "conv2d_1"


def test_model_gradients_through_the_fused_sigmoid(float64):
    # the last Conv2D's sigmoid is fused into binary cross-entropy via backward_preactivation
    tn.set_seed(3)
    model = tn.Sequential(
        [
            Conv2D(3, 3, padding="same", activation="tanh", input_shape=(2, 5, 5)),
            MaxPool2D(2, strides=1),
            Conv2D(1, 4, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    model.build()
    assert model._executor.head is not None
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 2, 5, 5))
    y = rng.integers(0, 2, size=(3, 1, 1, 1)).astype(float)
    errors = check_model(model, x, y)
    assert max(errors.values()) < 1e-6, errors


def test_model_gradients_into_a_softmax_head(float64):
    tn.set_seed(4)
    model = tn.Sequential(
        [
            Conv2D(2, (2, 3), strides=(2, 1), padding=1, activation="tanh", input_shape=(1, 5, 4)),
            Flatten(),
            Dense(3, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    rng = np.random.default_rng(1)
    errors = check_model(model, rng.normal(size=(4, 1, 5, 4)), rng.integers(0, 3, size=4))
    assert max(errors.values()) < 1e-6, errors


def test_config_round_trip():
    layer = Conv2D(
        8,
        (3, 5),
        strides=(2, 1),
        padding="same",
        activation="relu",
        use_bias=False,
        input_shape=(3, 16, 16),
        kernel_initializer="glorot_uniform",
        name="conv",
    )
    config = layer.get_config()
    assert config["kernel_size"] == [3, 5] and config["strides"] == [2, 1]
    clone = Conv2D.from_config(config)
    assert clone.get_config() == config
    assert Conv2D.from_config(Conv2D(2, 3, padding=1).get_config()).padding == 1
    assert tn.layers.LAYER_REGISTRY["Conv2D"] is Conv2D


def test_valid_padding_with_a_too_small_image_names_the_layer_and_shapes():
    # the model builds its layers as they are added (as Keras), so the constructor refuses it
    with pytest.raises(ValueError, match=r"Conv2D 'conv': input height 3 .*\(1, 3, 8\).* kernel height 5"):
        tn.Sequential([Conv2D(4, 5, input_shape=(1, 3, 8), name="conv")])


def test_wrong_rank_and_channels_are_rejected():
    with pytest.raises(ValueError, match=r"Conv2D 'c1' expects images .* got samples of shape \(64,\)"):
        tn.Sequential([Conv2D(4, 3, input_shape=(64,), name="c1")]).build()
    layer = Conv2D(2, 3, input_shape=(3, 5, 5))
    layer.build((3, 5, 5))
    with pytest.raises(
        ValueError, match=r"batch of shape \(batch, 3, height, width\) but received \(2, 1, 5, 5\)"
    ):
        layer.forward(np.zeros((2, 1, 5, 5), dtype=np.float32))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filters": 0, "kernel_size": 3}, "positive integer number of filters"),
        ({"filters": 2, "kernel_size": 0}, "kernel_size must be a positive int"),
        ({"filters": 2, "kernel_size": (3, 3, 3)}, "kernel_size must be a positive int or a pair"),
        ({"filters": 2, "kernel_size": 3, "strides": (1, 0)}, "strides must be"),
        ({"filters": 2, "kernel_size": 3, "padding": "full"}, "padding must be 'valid', 'same'"),
        ({"filters": 2, "kernel_size": 3, "padding": -1}, "padding must be"),
        ({"filters": 2, "kernel_size": 3, "activation": "relux"}, "unknown activation"),
        ({"filters": 2, "kernel_size": 3, "kernel_initializer": "he"}, "unknown initializer"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Conv2D(**kwargs)
