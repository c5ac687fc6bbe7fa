"""BatchNormalization and LayerNormalization: gradients, statistics, running averages, state."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet as tn
from tinynet.gradcheck import check_layer, check_model, float64_defaults
from tinynet.layers.activations import Activation
from tinynet.layers.conv import Conv2D
from tinynet.layers.dense import Dense
from tinynet.layers.normalization import BatchNormalization, LayerNormalization
from tinynet.layers.pooling import GlobalAveragePooling2D

from ..strategies import seeds

# Groups (the numbers standardized together) of at least 3: a group of 2 standardizes to exactly
# +-1 up to epsilon, so its input gradient is O(epsilon) and a relative check measures round-off;
# groups of 1 and 2 have their own tests below.
bn_shapes = st.one_of(
    st.tuples(st.integers(3, 6), st.integers(1, 4)),
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)).filter(
        lambda s: s[0] * s[2] * s[3] >= 3
    ),
)
ln_shapes = st.one_of(
    st.tuples(st.integers(1, 5), st.integers(3, 6)),
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(3, 5)),
)


def built(cls, shape, seed, **kwargs):
    """A ``cls`` layer in float64, built, with random gamma and beta (ones and zeros would hide mistakes)."""
    with float64_defaults():
        layer = cls(**kwargs)
    layer.build(shape[1:])
    rng = np.random.default_rng(seed)
    for p in layer.params.values():
        p[...] = rng.uniform(-2, 2, p.shape)
    return layer


@settings(max_examples=25, deadline=None)
@given(shape=bn_shapes, training=st.booleans(), seed=seeds)
def test_batch_norm_gradients(shape, training, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(rng.uniform(-3, 3), rng.uniform(0.5, 3), size=shape)
    layer = built(BatchNormalization, shape, seed + 1)
    # inference mode uses running statistics: make them non-trivial
    layer.state["moving_mean"][...] = rng.normal(size=shape[1])
    layer.state["moving_variance"][...] = rng.uniform(0.5, 2, size=shape[1])
    errors = check_layer(layer, x, seed=seed + 2, training=training)
    assert set(errors) == {"input", "gamma", "beta"}
    assert max(errors.values()) < 1e-6, errors


@settings(max_examples=25, deadline=None)
@given(shape=ln_shapes, seed=seeds)
def test_layer_norm_gradients(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(rng.uniform(-3, 3), rng.uniform(0.5, 3), size=shape)
    errors = check_layer(built(LayerNormalization, shape, seed + 1), x, seed=seed + 2)
    assert set(errors) == {"input", "gamma", "beta"}
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("training", [True, False])
def test_groups_of_two_with_a_visible_epsilon(training):
    # with epsilon = 0.5 the gradient through a pair's statistics is O(1), so the check is meaningful
    rng = np.random.default_rng(7)
    bn = built(BatchNormalization, (2, 3), 8, epsilon=0.5)
    assert max(check_layer(bn, rng.normal(size=(2, 3)), seed=9, training=training).values()) < 1e-6
    ln = built(LayerNormalization, (4, 2), 8, epsilon=0.5)
    assert max(check_layer(ln, rng.normal(size=(4, 2)), seed=9).values()) < 1e-6


def test_layer_norm_single_feature_gives_beta_and_zero_input_gradient():
    layer = built(LayerNormalization, (3, 1), 0)
    np.testing.assert_allclose(
        layer(np.array([[1.0], [-2.0], [5.0]])), np.full((3, 1), layer.params["beta"][0])
    )
    np.testing.assert_allclose(layer.backward(np.ones((3, 1))), 0.0)


def test_batch_norm_training_standardizes_each_feature(float64):
    x = np.random.default_rng(0).normal(5.0, 3.0, size=(64, 3))
    y = BatchNormalization()(x, training=True)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1 / (1 + 1e-3 / x.var(axis=0)), rtol=1e-12)  # Keras' epsilon


def test_batch_norm_running_averages_after_a_known_batch(float64):
    layer = BatchNormalization(momentum=0.9, epsilon=1e-3)
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    y = layer(x, training=True)
    # batch mean [2, 4], biased variance [1, 4]: y = (x - mean) / sqrt(var + eps)
    np.testing.assert_allclose(
        y, [[-1 / np.sqrt(1.001), -2 / np.sqrt(4.001)], [1 / np.sqrt(1.001), 2 / np.sqrt(4.001)]]
    )
    # running = 0.9 running + 0.1 batch, from mean 0 and variance 1
    np.testing.assert_allclose(layer.state["moving_mean"], [0.2, 0.4])
    np.testing.assert_allclose(layer.state["moving_variance"], [0.9 + 0.1, 0.9 + 0.4])
    # inference uses the running averages and leaves them alone
    out = layer(np.array([[0.2, 1.4]]), training=False)
    np.testing.assert_allclose(out, [[0.0, 1.0 / np.sqrt(1.3 + 1e-3)]], atol=1e-15)  # 0.2 - 0.1*2 rounds
    np.testing.assert_allclose(layer.state["moving_mean"], [0.2, 0.4])
    np.testing.assert_allclose(layer.state["moving_variance"], [1.0, 1.3])


def test_batch_norm_on_images_uses_per_channel_statistics_over_batch_and_pixels(float64):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 3, 2, 5)) * [[[[1.0]], [[2.0]], [[3.0]]]] + [[[[0.0]], [[10.0]], [[-5.0]]]]
    layer = BatchNormalization(momentum=0.5)
    layer.build((3, 2, 5))
    layer.params["gamma"][...] = [1.0, 2.0, 3.0]
    layer.params["beta"][...] = [0.0, 1.0, -1.0]
    y = layer(x, training=True)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    x_hat = (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-3)
    np.testing.assert_allclose(
        y, x_hat * [[[1.0]], [[2.0]], [[3.0]]] + [[[0.0]], [[1.0]], [[-1.0]]], rtol=1e-12
    )
    np.testing.assert_allclose(layer.state["moving_mean"], 0.5 * mean)
    np.testing.assert_allclose(layer.state["moving_variance"], 0.5 + 0.5 * var)


def test_batch_norm_backward_matches_the_compact_formula_by_hand(float64):
    layer = BatchNormalization()
    layer.build((1,))
    layer.params["gamma"][...] = 2.0
    x = np.array([[0.0], [1.0], [2.0]])
    layer(x, training=True)
    g = np.array([[1.0], [0.0], [2.0]])
    dx = layer.backward(g)
    # mean 1, var 2/3, s = sqrt(2/3 + 1e-3), x_hat = [-1, 0, 1]/s; sum g = 3, sum g x_hat = 1/s
    s = np.sqrt(2 / 3 + 1e-3)
    x_hat = np.array([-1.0, 0.0, 1.0]) / s
    expected = 2.0 / (3 * s) * (3 * g[:, 0] - 3 - x_hat * (1 / s))
    np.testing.assert_allclose(dx[:, 0], expected, rtol=1e-12)
    np.testing.assert_allclose(layer.grads["beta"], [3.0])
    np.testing.assert_allclose(layer.grads["gamma"], [1 / s], rtol=1e-12)


def test_batch_norm_state_is_never_touched_by_the_optimizer(float64):
    model = tn.Sequential([BatchNormalization(input_shape=(2,)), Dense(1)])
    model.compile(loss="mse", optimizer=tn.optimizers.SGD(learning_rate=10.0))
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 1.0]])
    y = np.array([[1.0], [0.0], [2.0]])
    model.build()
    bn = model.layers[0]
    assert not any("moving" in name for name in model.named_params())
    params_before = {k: v.copy() for k, v in model.named_params().items()}
    model.train_step(x, y)
    # a huge learning rate moved the parameters, but the state holds exactly the running averages
    assert not np.allclose(
        model.named_params()["batch_normalization/gamma"], params_before["batch_normalization/gamma"]
    )
    # Keras' default momentum 0.99
    np.testing.assert_allclose(bn.state["moving_mean"], 0.01 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.state["moving_variance"], 0.99 + 0.01 * x.var(axis=0), rtol=1e-12)
    assert not any("moving" in name for name in model.optimizer.state)
    # the state travels with get_weights/set_weights (parameters first, then state)
    weights = bn.get_weights()
    assert len(weights) == 4
    np.testing.assert_array_equal(weights[2], bn.state["moving_mean"])


def test_model_gradients_through_batch_norm_on_images(float64):
    tn.set_seed(5)
    model = tn.Sequential(
        [
            # no bias: batch normalization subtracts every per-channel constant, so its gradient is 0
            Conv2D(3, 3, padding="same", use_bias=False, input_shape=(2, 4, 4)),
            BatchNormalization(),
            Activation("tanh"),
            GlobalAveragePooling2D(),
            Dense(3, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    rng = np.random.default_rng(6)
    errors = check_model(model, rng.normal(size=(5, 2, 4, 4)), rng.integers(0, 3, size=5))
    assert max(errors.values()) < 1e-6, errors


def test_batch_norm_batch_of_one_gives_beta_and_zero_input_gradient(float64):
    layer = built(BatchNormalization, (1, 3), 0)
    y = layer(np.array([[1.0, -2.0, 3.0]]), training=True)
    np.testing.assert_allclose(y, layer.params["beta"][None, :])
    np.testing.assert_allclose(layer.backward(np.ones((1, 3))), 0.0)


def test_results_do_not_depend_on_old_buffer_contents(float64):
    rng = np.random.default_rng(4)
    for cls, shape in ((BatchNormalization, (3, 2, 2, 3)), (LayerNormalization, (2, 3, 4))):
        layer = built(cls, shape, 5)
        x, g = rng.normal(size=shape), rng.normal(size=shape)
        saved = {k: v.copy() for k, v in layer.state.items()}
        y = layer(x, training=True).copy()
        dx = layer.backward(g).copy()
        for buf in layer.workspace.arrays.values():
            buf.fill(np.nan)
        for k, v in saved.items():
            layer.state[k][...] = v
        np.testing.assert_array_equal(layer(x, training=True), y)
        np.testing.assert_array_equal(layer.backward(g), dx)


def test_layer_norm_standardizes_each_sample_and_ignores_the_mode(float64):
    x = np.array([[1.0, 2.0, 3.0, 6.0], [-1.0, -1.0, 1.0, 1.0]])
    layer = LayerNormalization(epsilon=1e-3)
    y = layer(x, training=True).copy()
    # row 1: mean 3, variance (4 + 1 + 0 + 9)/4 = 3.5; row 2: mean 0, variance 1
    np.testing.assert_allclose(y[0], (x[0] - 3.0) / np.sqrt(3.5 + 1e-3))
    np.testing.assert_allclose(y[1], x[1] / np.sqrt(1.0 + 1e-3))
    np.testing.assert_allclose(layer(x, training=False), y)
    assert layer.state == {}


def test_config_round_trip():
    bn = BatchNormalization(momentum=0.99, epsilon=1e-3, name="bn")
    assert BatchNormalization.from_config(bn.get_config()).get_config() == bn.get_config()
    ln = LayerNormalization(epsilon=1e-6, input_shape=(4,))
    assert LayerNormalization.from_config(ln.get_config()).get_config() == ln.get_config()


def test_shapes_and_errors_name_the_layer():
    bn = BatchNormalization(input_shape=(3, 4, 4))
    bn.build((3, 4, 4))
    assert bn.params["gamma"].shape == bn.state["moving_variance"].shape == (3,)
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn' normalizes .* samples of shape \(5, 3\)"):
        tn.Sequential([BatchNormalization(input_shape=(5, 3), name="bn")]).build()
    with pytest.raises(ValueError, match=r"built for 3 features/channels .* received \(2, 4, 4, 4\)"):
        bn.forward(np.zeros((2, 4, 4, 4), dtype=np.float32))
    ln = LayerNormalization()
    ln.build((5,))
    with pytest.raises(ValueError, match=r"LayerNormalization was built for 5 features .* received \(2, 4\)"):
        ln.forward(np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        BatchNormalization(momentum=1.0)
    with pytest.raises(ValueError, match="epsilon must be positive"):
        LayerNormalization(epsilon=0.0)
