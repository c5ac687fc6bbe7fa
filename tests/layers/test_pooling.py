"""MaxPool2D, AvgPool2D and GlobalAveragePooling2D: gradients, known values, ties, overlaps, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet as tn
from tinynet.gradcheck import check_layer
from tinynet.layers.base import memory_order
from tinynet.layers.pooling import AvgPool2D, GlobalAveragePooling2D, MaxPool2D

from ..strategies import in_layout, layouts, seeds, stored_in_order


@st.composite
def pool_cases(draw):
    """(x shape, pool_size, strides) with the image at least as large as the window."""
    pool = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    shape = (
        draw(st.integers(1, 3)),
        draw(st.integers(1, 3)),
        draw(st.integers(pool[0], 7)),
        draw(st.integers(pool[1], 7)),
    )
    return shape, pool, strides


def distinct_values(shape, seed):
    """Values without ties, at least 1/size apart (far beyond the finite-difference step 1e-6)."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    return (rng.permutation(size).reshape(shape) + 1.0) / size * rng.choice([-1.0, 1.0])


def naive_pool(x, pool, strides, reduce):
    (kh, kw), (sh, sw) = pool, strides
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    y = np.empty((*x.shape[:2], oh, ow))
    for p in range(oh):
        for q in range(ow):
            y[:, :, p, q] = reduce(x[:, :, p * sh : p * sh + kh, q * sw : q * sw + kw], axis=(2, 3))
    return y


def upstream(layer, x, seed, layout):
    """A random upstream gradient for ``layer``'s output, stored in ``layout``."""
    shape = (x.shape[0], *layer.compute_output_shape(x.shape[1:]))
    return in_layout(np.random.default_rng([seed, 1]).standard_normal(shape), layout)


@settings(max_examples=25, deadline=None)
@given(case=pool_cases(), seed=seeds, x_layout=layouts, g_layout=layouts)
def test_max_pool_gradients_including_overlapping_windows(case, seed, x_layout, g_layout):
    shape, pool, strides = case
    x = in_layout(distinct_values(shape, seed), x_layout)
    layer = MaxPool2D(pool, strides)
    y = layer(x)
    np.testing.assert_array_equal(y, naive_pool(x, pool, layer.strides, np.max))
    assert stored_in_order(y, memory_order(x))  # the output keeps the input's layout
    g = upstream(layer, x, seed, g_layout)
    assert check_layer(MaxPool2D(pool, strides), x, seed=seed, grad_output=g)["input"] < 1e-6


@settings(max_examples=25, deadline=None)
@given(case=pool_cases(), seed=seeds, x_layout=layouts, g_layout=layouts)
def test_avg_pool_gradients_including_overlapping_windows(case, seed, x_layout, g_layout):
    shape, pool, strides = case
    x = in_layout(np.random.default_rng(seed).uniform(-1, 1, shape), x_layout)
    layer = AvgPool2D(pool, strides)
    y = layer(x)
    np.testing.assert_allclose(y, naive_pool(x, pool, layer.strides, np.mean), rtol=1e-12)
    assert stored_in_order(y, memory_order(x))
    g = upstream(layer, x, seed, g_layout)
    assert check_layer(AvgPool2D(pool, strides), x, seed=seed, grad_output=g)["input"] < 1e-6


@settings(max_examples=15, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 5), st.integers(1, 5)), seed=seeds
)
def test_global_average_pooling_gradient(shape, seed):
    x = np.random.default_rng(seed).uniform(-1, 1, shape)
    layer = GlobalAveragePooling2D()
    np.testing.assert_allclose(layer(x), x.mean(axis=(2, 3)), rtol=1e-12)
    assert check_layer(GlobalAveragePooling2D(), x, seed=seed)["input"] < 1e-6


def test_max_pool_known_argmax_and_routed_gradient():
    x = np.array([[[[1, 5, 2, 0], [3, 4, 8, 1], [0, 2, 6, 7], [9, 1, 3, 5]]]], dtype=np.float32)
    layer = MaxPool2D(2)
    # windows [1 5; 3 4], [2 0; 8 1], [0 2; 9 1], [6 7; 3 5]
    np.testing.assert_array_equal(layer.forward(x, training=True), [[[[5, 8], [9, 7]]]])
    np.testing.assert_array_equal(layer.argmax, [[[[1, 2], [2, 1]]]])  # raster index inside each window
    dx = layer.backward(np.array([[[[1, 2], [3, 4]]]], dtype=np.float32))
    expected = np.zeros((1, 1, 4, 4), dtype=np.float32)
    expected[0, 0, 0, 1], expected[0, 0, 1, 2], expected[0, 0, 3, 0], expected[0, 0, 2, 3] = 1, 2, 3, 4
    np.testing.assert_array_equal(dx, expected)


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    x = np.array([[[[0, 3, 2, 2], [3, 1, 2, 2]]]], dtype=np.float32)
    layer = MaxPool2D(2)
    layer.forward(x, training=True)
    dx = layer.backward(np.array([[[[1, 1]]]], dtype=np.float32))
    # left window: 3 at (0,1) and (1,0), (0,1) comes first; right window: four 2s, top-left wins
    np.testing.assert_array_equal(dx, [[[[0, 1, 1, 0], [0, 0, 0, 0]]]])


def test_max_pool_overlapping_windows_accumulate():
    x = np.array([[[[1, 2, 3], [4, 9, 5], [6, 7, 8]]]], dtype=np.float32)
    layer = MaxPool2D(2, strides=1)
    np.testing.assert_array_equal(layer.forward(x, training=True), [[[[9, 9], [9, 9]]]])
    dx = layer.backward(np.array([[[[1, 2], [3, 4]]]], dtype=np.float32))
    np.testing.assert_array_equal(dx, [[[[0, 0, 0], [0, 10, 0], [0, 0, 0]]]])  # the centre won all four


def test_avg_pool_known_values_and_overlap():
    x = np.arange(9, dtype=np.float64).reshape(1, 1, 3, 3)
    layer = AvgPool2D(2, strides=1)
    np.testing.assert_allclose(layer.forward(x, training=True), [[[[2, 3], [5, 6]]]])
    dx = layer.backward(np.ones((1, 1, 2, 2)))
    # each pixel receives 1/4 from every window that contains it
    np.testing.assert_allclose(dx, [[[[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]]]])


def test_uncovered_pixels_get_zero_gradient():
    x = distinct_values((2, 1, 5, 5), 0)
    for layer in (MaxPool2D(2), AvgPool2D(2)):
        layer.forward(x, training=True)
        dx = layer.backward(np.ones((2, 1, 2, 2)))
        assert not dx[:, :, 4, :].any() and not dx[:, :, :, 4].any()  # row/column 4 lies in no window


def test_results_do_not_depend_on_old_buffer_contents():
    rng = np.random.default_rng(3)
    x = distinct_values((3, 2, 6, 5), 3)
    cases = [  # overlapping, gapped, leftover-border and tiling windows (the last skips the zero fill)
        (MaxPool2D(3, strides=(2, 1)), x),
        (AvgPool2D((2, 3), strides=(3, 1)), x),
        (MaxPool2D(2), x),
        (MaxPool2D(2), in_layout(distinct_values((3, 2, 6, 4), 4), "channels_last")),
    ]
    for layer, x in cases:
        g_layer = rng.normal(size=(3, *layer.compute_output_shape(x.shape[1:])))
        y = layer(x, training=True).copy()
        dx = layer.backward(g_layer).copy()
        for buf in layer.workspace.arrays.values():
            buf.fill(-7 if buf.dtype.kind != "b" else True)
        np.testing.assert_array_equal(layer(x, training=True), y)
        np.testing.assert_array_equal(layer.backward(g_layer), dx)


def test_output_shapes_and_default_strides():
    assert MaxPool2D().compute_output_shape((3, 8, 8)) == (3, 4, 4)
    assert MaxPool2D(3).strides == (3, 3)
    assert MaxPool2D(3, strides=1).compute_output_shape((3, 8, 7)) == (3, 6, 5)
    assert AvgPool2D((2, 3), strides=(1, 2)).compute_output_shape((1, 5, 7)) == (1, 4, 3)
    assert GlobalAveragePooling2D().compute_output_shape((6, 3, 3)) == (6,)


def test_models_use_the_pooling_output_shapes():
    model = tn.Sequential(
        [MaxPool2D(2, input_shape=(2, 5, 5)), AvgPool2D(2, strides=1), GlobalAveragePooling2D()]
    )
    out = model.predict(np.ones((4, 2, 5, 5), dtype=np.float32))
    assert out.shape == (4, 2) and model.output_shape == (2,)
    assert [layer.name for layer in model.layers] == ["max_pool2d", "avg_pool2d", "global_average_pooling2d"]


def test_config_round_trip():
    for layer in (MaxPool2D((2, 3), strides=1, name="p"), AvgPool2D(3), GlobalAveragePooling2D(name="g")):
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config
    assert MaxPool2D((2, 3), strides=1).get_config()["strides"] == [1, 1]


def test_errors_name_the_layer_and_shapes():
    with pytest.raises(
        ValueError, match=r"MaxPool2D 'pool': images of height x width 3x1 .*\(2, 3, 1\).*pool size 2x2"
    ):
        tn.Sequential([MaxPool2D(2, input_shape=(2, 3, 1), name="pool")]).build()
    with pytest.raises(ValueError, match=r"AvgPool2D expects images .* got samples of shape \(10,\)"):
        AvgPool2D().compute_output_shape((10,))
    with pytest.raises(ValueError, match=r"GlobalAveragePooling2D 'gap' expects images"):
        tn.Sequential([GlobalAveragePooling2D(input_shape=(4, 4), name="gap")]).build()
    with pytest.raises(ValueError, match=r"pool_size must be a positive int"):
        MaxPool2D(0)
    with pytest.raises(ValueError, match=r"strides must be"):
        AvgPool2D(2, strides=(1, 2, 3))
