"""Weight penalties: values by hand, gradients checked numerically, in the model's loss and gradient, saving."""

import json

import numpy as np
import pytest

import tinynet as tn
from tinynet import regularizers
from tinynet.gradcheck import check_model, numerical_gradient, relative_error
from tinynet.regularizers import L1, L1L2, L2

W = np.array([[1.0, -2.0], [3.0, -4.0]])


@pytest.mark.parametrize(
    ("reg", "penalty", "gradient"),
    [
        (L2(0.5), 0.5 * 30.0, 2 * 0.5 * W),  # lambda * sum W^2, gradient 2 lambda W
        (L1(0.1), 0.1 * 10.0, 0.1 * np.sign(W)),  # lambda * sum |W|, gradient lambda sign W
        (L1L2(l1=0.1, l2=0.5), 1.0 + 15.0, 0.1 * np.sign(W) + W),
        (L1L2(), 0.0, np.zeros_like(W)),  # Keras 3's defaults: no penalty
    ],
)
def test_penalties_and_gradients_by_hand(reg, penalty, gradient):
    assert reg.penalty(W) == pytest.approx(penalty, rel=1e-15)
    assert reg(W) == reg.penalty(W)
    np.testing.assert_allclose(reg.gradient(W), gradient, rtol=1e-15)
    g = np.ones_like(W)
    reg.add_gradient(W, g)  # in place, added to what is there
    np.testing.assert_allclose(g, 1.0 + gradient, rtol=1e-15)


@pytest.mark.parametrize("reg", [L1(0.3), L2(0.7), L1L2(0.2, 0.4)])
def test_gradients_match_central_differences(reg):
    w = np.random.default_rng(0).uniform(0.1, 2.0, size=(4, 3)) * np.where(
        np.random.default_rng(1).random((4, 3)) < 0.5, -1, 1
    )  # away from 0, the kink of |w|
    numeric = numerical_gradient(lambda: reg.penalty(w), w)
    assert relative_error(reg.gradient(w), numeric) < 1e-8


def test_get_accepts_instances_names_and_serialized_dicts():
    reg = L2(1e-4)
    assert regularizers.get(reg) is reg
    assert regularizers.get(None) is None
    assert regularizers.get("l2") == L2(0.01)  # Keras' default factor
    assert regularizers.get("L1") == L1(0.01)
    assert regularizers.get("l1_l2") == L1L2(0.0, 0.0)
    assert regularizers.l2(1e-3) == L2(1e-3) and regularizers.l1_l2(l1=1e-3) == L1L2(1e-3, 0.0)
    stored = json.loads(json.dumps(regularizers.serialize(L1L2(1e-3, 2e-3))))
    assert stored == {"class_name": "L1L2", "config": {"l1": 1e-3, "l2": 2e-3}}
    assert regularizers.get(stored) == L1L2(1e-3, 2e-3)


def test_get_rejects_what_it_cannot_use():
    with pytest.raises(ValueError, match="valid names"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="unknown regularizer 'os.system'"):
        regularizers.get({"class_name": "os.system", "config": {}})
    with pytest.raises(TypeError, match="gradient"):
        regularizers.get(lambda w: 0.0)
    with pytest.raises(ValueError, match=">= 0"):
        L2(-1.0)


def test_dense_config_carries_the_regularizer_as_json_and_back():
    layer = tn.layers.Dense(3, activation="relu", kernel_regularizer=regularizers.l2(1e-4))
    config = json.loads(json.dumps(layer.get_config()))
    assert config["kernel_regularizer"] == {"class_name": "L2", "config": {"l2": 1e-4}}
    clone = tn.layers.Dense(**config)
    assert clone.kernel_regularizer == L2(1e-4)
    assert clone.regularizers == {"W": L2(1e-4)}
    assert clone.get_config() == config
    assert "kernel_regularizer" not in tn.layers.Dense(3).get_config()  # unchanged without one
    assert tn.layers.Dense(3, kernel_regularizer="l1").kernel_regularizer == L1(0.01)


def _pair(seed=0, reg=None, dtype=None):
    """Two identical small models, the first with ``reg`` on both kernels."""
    models = []
    for r in (reg, None):
        tn.set_seed(seed)
        m = tn.Sequential(
            [
                tn.layers.Dense(5, input_dim=3, activation="tanh", kernel_regularizer=r),
                tn.layers.Dense(2, activation="softmax", kernel_regularizer=r),
            ]
        )
        m.compile(loss="categorical_crossentropy", optimizer=tn.optimizers.SGD(0.1))
        m.build()
        models.append(m)
    return models


def test_the_penalty_is_added_to_the_loss_and_its_gradient_to_the_grads():
    lam = 0.05
    reg_model, plain = _pair(reg=L2(lam))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)), tn.datasets.one_hot(rng.integers(0, 2, size=8), 2)
    loss_reg, loss_plain = reg_model.compute_gradients(x, y), plain.compute_gradients(x, y)
    kernels = [layer.params["W"] for layer in plain.layers]
    penalty = lam * sum(float(np.sum(w**2)) for w in kernels)
    assert loss_reg - loss_plain == pytest.approx(penalty, rel=1e-5)
    assert reg_model.regularization_loss() == pytest.approx(penalty, rel=1e-6)
    for layer_r, layer_p in zip(reg_model.layers, plain.layers, strict=True):
        np.testing.assert_allclose(
            layer_r.grads["W"], layer_p.grads["W"] + 2 * lam * layer_p.params["W"], rtol=1e-5, atol=1e-7
        )
        np.testing.assert_array_equal(layer_r.grads["b"], layer_p.grads["b"])  # biases are not penalised
    # evaluate reports the same objective (as Keras)
    assert reg_model.evaluate(x, y) - plain.evaluate(x, y) == pytest.approx(penalty, rel=1e-5)


@pytest.mark.parametrize("reg", [L2(0.3), L1(0.2), L1L2(0.1, 0.2)])
def test_the_regularized_model_gradient_is_checked_numerically(float64, reg):
    reg_model, _ = _pair(seed=3, reg=reg)
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6, 3)), tn.datasets.one_hot(rng.integers(0, 2, size=6), 2)
    errors = check_model(reg_model, x, y)
    assert max(errors.values()) < 1e-6, errors


def test_without_regularizers_the_model_has_nothing_to_do_per_step():
    _, plain = _pair()
    assert plain._regularized == [] and plain.regularization_loss() == 0.0


def test_a_penalty_shrinks_the_weights_in_training():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3))
    y = tn.datasets.one_hot((x[:, 0] > 0).astype(int), 2)
    norms = []
    for reg in (None, L2(0.05)):
        tn.set_seed(0)
        m = tn.Sequential(
            [
                tn.layers.Dense(8, input_dim=3, activation="relu", kernel_regularizer=reg),
                tn.layers.Dense(2, activation="softmax", kernel_regularizer=reg),
            ]
        )
        m.compile(loss="categorical_crossentropy", optimizer=tn.optimizers.Adam(0.05))
        m.fit(x, y, epochs=20, batch_size=16, verbose=0)
        norms.append(sum(float(np.sum(layer.params["W"] ** 2)) for layer in m.layers))
    assert norms[1] < 0.5 * norms[0]


def test_a_regularizer_for_a_missing_parameter_is_an_error():
    layer = tn.layers.Dense(2, input_dim=3, use_bias=False)
    layer.add_regularizer("b", "l2")
    with pytest.raises(ValueError, match="regularizer for 'b' but no such parameter"):
        tn.Sequential([layer])  # built as the layer is added (as Keras): refused there


def test_a_saved_model_keeps_its_regularizers_and_schedule(tmp_path):
    from tinynet import schedules
    from tinynet.serialization import load_model

    reg_model, _ = _pair(reg=L1L2(1e-3, 2e-3))
    reg_model.compile(
        loss="categorical_crossentropy", optimizer=tn.optimizers.Adam(schedules.CosineDecay(0.01, 100))
    )
    x = np.random.default_rng(0).normal(size=(4, 3))
    y = tn.datasets.one_hot(np.array([0, 1, 1, 0]), 2)
    reg_model.fit(x, y, epochs=1, verbose=0)
    reg_model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert [layer.kernel_regularizer for layer in loaded.layers] == [L1L2(1e-3, 2e-3)] * 2
    assert loaded.optimizer.learning_rate == schedules.CosineDecay(0.01, 100)
    assert loaded.regularization_loss() == reg_model.regularization_loss() > 0
    assert loaded.evaluate(x, y) == reg_model.evaluate(x, y)


@pytest.mark.parametrize("reg", [L2(0.2), L1(0.1)])
def test_conv2d_takes_a_kernel_regularizer_with_a_checked_gradient(float64, reg):
    from tinynet.layers.conv import Conv2D

    tn.set_seed(4)
    model = tn.Sequential(
        [
            Conv2D(2, 3, input_shape=(2, 5, 5), activation="tanh", kernel_regularizer=reg),
            tn.layers.Flatten(),
            tn.layers.Dense(1, kernel_regularizer=reg),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(3, 2, 5, 5)), rng.normal(size=(3, 1))
    errors = check_model(model, x, y)
    assert max(errors.values()) < 1e-6, errors
    conv = model.layers[0]
    assert model.regularization_loss() == pytest.approx(
        reg.penalty(conv.params["W"]) + reg.penalty(model.layers[2].params["W"]), rel=1e-12
    )
    config = json.loads(json.dumps(conv.get_config()))
    assert Conv2D(**config).kernel_regularizer == reg
