"""Sequential: the explicit loop, fit semantics, reproducibility, learning and errors."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet as tn
from tinynet.gradcheck import check_layer, check_model
from tinynet.layers import Dense, Dropout, Layer

from .strategies import seeds


def seed_model(seed=0, hidden_activation="relu"):
    tn.set_seed(seed)
    model = tn.Sequential()
    model.add(Dense(10, input_dim=8, activation=hidden_activation))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def toy_data(n=100, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    y = (x[:, 0] - x[:, 3] > 0).astype(np.float32)
    return x, y


def test_fit_is_exactly_the_documented_loop_of_train_steps():
    x, y = toy_data(70)
    a = seed_model()
    a.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    b = seed_model()
    for _ in range(3):
        for lo in range(0, len(x), 16):  # 16, 16, 16, 16 and a last batch of 6
            b.train_step(x[lo : lo + 16], y[lo : lo + 16].reshape(-1, 1))
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert a.optimizer.iterations == b.optimizer.iterations == 15


def softmax_model(seed=0):
    tn.set_seed(seed)
    model = tn.Sequential([Dense(6, "relu", input_dim=4), Dense(3, "softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    return model


@pytest.mark.parametrize("targets", ["one-hot", "smoothed", "unnormalized", "multi-hot", "a zero row"])
def test_fit_with_the_fused_softmax_head_is_exactly_the_loop_of_train_steps(targets):
    # fit checks once whether every target row sums to 1 and then skips the row sums in the fused
    # gradient: that must change no bit against the plain loop, and must not apply to other targets
    # (0/1 targets take a faster check: multi-hot rows and a zero row must fail it)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]
    y = {
        "one-hot": y,
        "smoothed": 0.9 * y + 0.1 / 3,
        "unnormalized": 2.0 * y,
        "multi-hot": np.maximum(y, np.eye(3, dtype=np.float32)[np.arange(40) % 3]),
        "a zero row": np.where(np.arange(40)[:, None] == 37, 0.0, y),
    }[targets].astype(np.float32)
    a = softmax_model()
    history = a.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    b = softmax_model()
    losses = [b.train_step(x[lo : lo + 16], y[lo : lo + 16]) for _ in range(2) for lo in (0, 16, 32)]
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert history.history["loss"][1] == (losses[3] * 16 + losses[4] * 16 + losses[5] * 8) / 40


def test_epoch_loss_is_the_batch_losses_mean_weighted_by_size():
    x, y = toy_data(70)
    a = seed_model()
    history = a.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    b = seed_model()
    losses = [b.train_step(x[lo : lo + 32], y[lo : lo + 32].reshape(-1, 1)) for lo in (0, 32, 64)]
    expected = (losses[0] * 32 + losses[1] * 32 + losses[2] * 6) / 70
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-12)


def test_the_readme_example_runs_and_reports_what_it_should(capsys):
    x, y = toy_data(200)
    model = seed_model()
    history = model.fit(x[:120], y[:120], epochs=3, batch_size=32, validation_data=(x[120:160], y[120:160]))
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert all(len(v) == 3 for v in history.history.values())
    assert "Epoch 3/3" in capsys.readouterr().out
    loss, acc = model.evaluate(x[160:], y[160:])
    assert 0.0 <= acc <= 1.0 and loss > 0
    as_dict = model.evaluate(x[160:], y[160:], return_dict=True)
    assert as_dict == {"loss": loss, "accuracy": acc}
    predictions = model.predict(x[160:])
    assert predictions.shape == (40, 1) and predictions.dtype == np.float32
    assert ((predictions > 0) & (predictions < 1)).all()
    model.summary(print_fn=lambda s: print(s))
    table = capsys.readouterr().out
    assert "dense (Dense)" in table and "(None, 10)" in table and "Total params: 101" in table


def test_evaluate_without_metrics_returns_the_loss_alone():
    x, y = toy_data(40)
    model = seed_model()
    model.compile(loss="mse", optimizer="sgd")
    assert isinstance(model.evaluate(x, y), float)


def test_validation_split_holds_out_the_last_samples():
    x, y = toy_data(100)
    a = seed_model()
    ha = a.fit(x, y, epochs=2, validation_split=0.2, verbose=0)
    b = seed_model()
    hb = b.fit(x[:80], y[:80], epochs=2, validation_data=(x[80:], y[80:]), verbose=0)
    assert ha.history == hb.history


def test_fit_is_reproducible_bit_for_bit_under_a_seed():
    x, y = toy_data(100)

    def train():
        tn.set_seed(42)
        model = tn.Sequential(
            [Dense(16, input_dim=8, activation="relu"), Dropout(0.3), Dense(1, activation="sigmoid")]
        )
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
        return model.get_weights(), history.history

    (w1, h1), (w2, h2) = train(), train()
    assert h1 == h2
    for a, b in zip(w1, w2, strict=True):
        np.testing.assert_array_equal(a, b)


def test_parameters_live_in_one_flat_buffer_and_are_updated_in_place():
    model = seed_model()
    model.build()
    W = model.layers[0].params["W"]
    assert W.base is model._flat_params and model.layers[1].grads["b"].base is model._flat_grads
    before = W.copy()
    x, y = toy_data(32)
    model.train_step(x, y.reshape(-1, 1))
    assert model.layers[0].params["W"] is W and not np.array_equal(W, before)


@given(seed=seeds, activation=st.sampled_from(["tanh", "sigmoid", "gelu", "softplus"]))
def test_whole_model_gradients_sigmoid_head(seed, activation):
    with tn.gradcheck.float64_defaults():
        tn.set_seed(seed)
        model = tn.Sequential(
            [Dense(5, input_dim=3, activation=activation), Dropout(0.2), Dense(2, activation="sigmoid")]
        )
        model.compile(optimizer="sgd", loss="binary_crossentropy")
    rng = np.random.default_rng(seed)
    errors = check_model(model, rng.normal(size=(4, 3)), rng.integers(0, 2, (4, 2)))
    assert max(errors.values()) < 1e-6, errors


@given(
    seed=seeds, loss=st.sampled_from(["sparse_categorical_crossentropy", "categorical_crossentropy", "mse"])
)
def test_whole_model_gradients_softmax_head(seed, loss):
    with tn.gradcheck.float64_defaults():
        tn.set_seed(seed)
        model = tn.Sequential(
            [Dense(4, input_dim=3, activation="elu"), Dense(3), tn.layers.Activation("softmax")]
        )
        model.compile(optimizer="sgd", loss=loss)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, 5)
    y = labels if loss.startswith("sparse") else np.eye(3)[labels]
    errors = check_model(model, rng.normal(size=(5, 3)), y)
    assert max(errors.values()) < 1e-6, errors
    assert (model._executor.head is not None) == (loss != "mse")


def test_fused_and_unfused_training_agree():
    # the fused gradient (p - t)/N is the chain rule through sigmoid, just computed stably
    x, y = toy_data(64)
    with tn.gradcheck.float64_defaults():
        fused = seed_model()
        plain = seed_model()
    plain.build()
    plain._executor.head = None  # the loss then sees probabilities and chains through the sigmoid
    for model in (fused, plain):
        model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(fused.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


class WrongDense(Dense):
    """A Dense whose weight gradient forgets the transpose: the classic mistake."""

    def backward_preactivation(self, grad_z):
        grad_input = super().backward_preactivation(grad_z)
        self.grads["W"][...] = (self.x.T @ grad_z)[::-1]  # rows in the wrong order
        return grad_input


def test_gradcheck_catches_a_wrong_backward():
    x = np.random.default_rng(0).normal(size=(4, 3))
    errors = check_layer(WrongDense(3), x)
    assert errors["W"] > 0.1 and errors["input"] < 1e-6


class ForgetsOneOverN(Layer):
    """Mean over the batch whose backward forgets the 1/N."""

    def forward(self, x, training=False):
        self.n = x.shape[0]
        return np.broadcast_to(x.mean(axis=0), x.shape).copy()

    def backward(self, grad_output):
        return np.broadcast_to(grad_output.sum(axis=0), grad_output.shape).copy()


def test_gradcheck_catches_a_missing_factor():
    errors = check_layer(ForgetsOneOverN(), np.random.default_rng(1).normal(size=(5, 2)))
    assert errors["input"] > 0.5


@pytest.mark.slow
def test_learns_xor_perfectly():
    # the truth table itself: no straight line separates it, one hidden layer does
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    tn.set_seed(0)
    model = tn.Sequential([Dense(8, input_dim=2, activation="tanh"), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=tn.optimizers.Adam(0.05), metrics=["accuracy"])
    model.fit(x, y, epochs=300, batch_size=4, verbose=0)
    assert model.evaluate(x, y)[1] == 1.0
    np.testing.assert_array_equal(model.predict(x).ravel() > 0.5, y.astype(bool))


@pytest.mark.slow
def test_learns_sampled_xor():
    # 200 points in the square; a few lie within a hair of the axes, so ask for 99%
    x, y = tn.datasets.make_xor(n_samples=200, noise=0.0, seed=0)
    tn.set_seed(0)
    model = tn.Sequential([Dense(16, input_dim=2, activation="tanh"), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=tn.optimizers.Adam(0.05), metrics=["accuracy"])
    model.fit(x, y, epochs=150, batch_size=32, verbose=0)
    assert model.evaluate(x, y)[1] >= 0.99


@pytest.mark.slow
def test_learns_two_moons():
    x, y = tn.datasets.make_moons(n_samples=400, noise=0.15, seed=0)
    tn.set_seed(0)
    model = tn.Sequential(
        [
            Dense(32, input_dim=2, activation="relu"),
            Dense(32, activation="relu"),
            Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer=tn.optimizers.Adam(0.01), metrics=["accuracy"])
    model.fit(x, y, epochs=60, batch_size=32, verbose=0)
    assert model.evaluate(x, y)[1] > 0.95


@pytest.mark.slow
def test_quickstart_model_learns_pima():
    x, y = tn.datasets.load_pima_diabetes()
    x_train, x_test, y_train, y_test = tn.datasets.train_test_split(
        x, y, test_size=0.2, seed=0, stratify=True
    )
    x_train, x_test = tn.datasets.standardize(x_train, x_test)
    model = seed_model()
    history = model.fit(x_train, y_train, epochs=60, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] - 0.1
    # majority-class guessing scores 65%; the seed model clearly beats it
    assert model.evaluate(x_test, y_test)[1] > 0.72


def test_using_the_model_before_compile_says_what_to_do():
    model = tn.Sequential([Dense(1, input_dim=2)])
    with pytest.raises(
        RuntimeError, match=r"compiled before fit: call model.compile\(loss=..., optimizer=...\)"
    ):
        model.fit(np.zeros((4, 2)), np.zeros(4))


def test_unknown_names_list_the_valid_ones():
    model = tn.Sequential([Dense(1, input_dim=2)])
    with pytest.raises(ValueError, match="unknown loss 'crossentropy'; valid names: binary_crossentropy"):
        model.compile(loss="crossentropy", optimizer="adam")
    with pytest.raises(ValueError, match="unknown optimizer 'adan'; valid names: adagrad, adam"):
        model.compile(loss="mse", optimizer="adan")


def test_a_diverging_loss_stops_with_the_epoch_and_batch():
    x, y = toy_data(64)
    model = seed_model()
    model.compile(loss="mse", optimizer=tn.optimizers.SGD(learning_rate=1e6))
    model.layers[-1].activation = None  # a linear output makes the explosion quick
    model._setup_execution()
    with pytest.raises(FloatingPointError, match=r"loss became (nan|inf) at epoch \d+, batch \d+"):
        with np.errstate(over="ignore", invalid="ignore"):
            model.fit(x * 1e3, y * 1e3, epochs=50, batch_size=16, verbose=0)


def test_shape_errors_name_the_layer_and_the_shapes():
    model = seed_model()
    with pytest.raises(
        ValueError, match=r"layer 'dense' expects inputs of shape \(batch, 8\) but received \(10, 3\)"
    ):
        model.fit(np.zeros((10, 3)), np.zeros(10), verbose=0)
    with pytest.raises(ValueError, match=r"targets of shape \(10, 2\) do not match the model's output shape"):
        model.fit(np.zeros((10, 8)), np.zeros((10, 2)), verbose=0)
    with pytest.raises(ValueError, match="x has 10 samples but y has 9"):
        model.fit(np.zeros((10, 8)), np.zeros(9), verbose=0)
    with pytest.raises(ValueError, match="must have a batch axis"):
        model.predict(np.zeros(8))
    multi = tn.Sequential([Dense(3, input_dim=2, activation="softmax")])
    multi.compile(optimizer="adam", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        multi.fit(np.zeros((4, 2)), np.array([0, 1, 2, 1]), verbose=0)


def test_float64_on_request():
    tn.set_default_dtype(np.float64)
    model = seed_model()
    x, y = toy_data(16)
    model.fit(x, y, epochs=1, verbose=0)
    assert model.layers[0].params["W"].dtype == np.float64
    assert model.predict(x).dtype == np.float64


def test_summary_shows_image_shapes_through_a_cnn():
    from tinynet.layers import Conv2D, GlobalAveragePooling2D, MaxPool2D

    model = tn.Sequential(
        [
            Conv2D(16, 3, padding="same", activation="relu", input_shape=(1, 8, 8)),
            MaxPool2D(),
            Conv2D(32, 3, padding="same", activation="relu"),
            GlobalAveragePooling2D(),
            Dense(10, activation="softmax"),
        ]
    )
    lines = []
    model.summary(print_fn=lines.append)
    table = "\n".join(lines)
    for shape, params in [
        ("(None, 16, 8, 8)", "160"),
        ("(None, 16, 4, 4)", "0"),
        ("(None, 32, 4, 4)", "4,640"),
        ("(None, 32)", "0"),
        ("(None, 10)", "330"),
    ]:
        assert re.search(rf"{re.escape(shape)}\s+{params}\b", table), shape
    assert "Total params: 5,130" in table


def test_training_skips_the_first_layers_input_gradient_but_backward_still_returns_it():
    calls = []

    class Spy(Dense):
        def backward_preactivation(self, grad_z):
            calls.append(self.need_input_grad)
            return super().backward_preactivation(grad_z)

    tn.set_seed(0)
    model = tn.Sequential([Spy(4, input_dim=3, activation="tanh"), Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    x, y = np.ones((2, 3)), np.ones((2, 1))
    model.train_step(x, y)
    assert calls == [False] and model.layers[0].need_input_grad  # skipped, and the flag restored
    model.forward(x, training=True)
    grad_x = model.backward(np.ones((2, 1)))
    assert grad_x.shape == (2, 3) and calls == [False, True]


def test_training_lets_relu_work_in_place_but_never_touches_the_callers_arrays():
    seen = []

    class Spy(Dense):
        def backward(self, grad_output):
            self.received = grad_output
            return super().backward(grad_output)

        def backward_preactivation(self, grad_z):
            seen.append((self.reuse_grad_output, grad_z is self.received))
            return super().backward_preactivation(grad_z)

    tn.set_seed(0)
    model = tn.Sequential([Dense(5, input_dim=3, activation="relu"), Spy(4, "relu"), Dense(2, "softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(6, 3))
    y = np.eye(2)[[0, 1, 0, 1, 1, 0]]
    model.train_step(x, y)
    # inside the model's backward the ReLU masked the incoming gradient in place (no new array) ...
    assert seen == [(True, True)]
    relu = model.layers[1].activation
    assert relu.y is relu.x  # ... and its output overwrote the layer's own pre-activation buffer
    assert not any(layer.reuse_grad_output for layer in model.layers)  # the flags are restored
    # an explicit backward by the user leaves the user's gradient alone
    model.forward(x, training=True)
    g = np.random.default_rng(1).normal(size=(6, 2))
    g_before = g.copy()
    model.backward(g)
    np.testing.assert_array_equal(g, g_before)


@given(seed=seeds, activation=st.sampled_from(["softmax", "sigmoid"]))
def test_a_custom_activated_layer_gets_the_activation_and_the_fused_head(seed, activation):
    # the documented extension point (docs/custom-layers.md): Z = x * w, element-wise
    class Scale(tn.layers.ActivatedLayer):
        def __init__(self, activation=None, **kwargs):
            super().__init__(**kwargs)
            self.activation = tn.layers.get_activation(activation)

        def build(self, input_shape):
            super().build(input_shape)
            self.add_param("w", "ones", tuple(input_shape))

        def forward(self, x, training=False):
            self.x = x
            return self.activate(x * self.params["w"], training)

        def backward_preactivation(self, grad_z):
            self.grads["w"][...] = np.sum(grad_z * self.x, axis=0)
            return grad_z * self.params["w"]

    with tn.gradcheck.float64_defaults():
        tn.set_seed(seed)
        model = tn.Sequential([Dense(3, input_dim=2, activation="tanh"), Scale(activation=activation)])
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.build()
    model.layers[1].params["w"][...] = np.random.default_rng(seed).uniform(0.5, 2.0, 3)
    rng = np.random.default_rng(seed + 1)
    y = np.eye(3)[rng.integers(0, 3, 5)] if activation == "softmax" else rng.uniform(0.1, 1.0, (5, 3))
    errors = check_model(model, rng.normal(size=(5, 2)), y)
    assert max(errors.values()) < 1e-6, errors
    assert (model._executor.head is not None) == (activation == "softmax")


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copy_of_a_trained_model_trains_exactly_like_the_original(how):
    # the copy must not keep the original's remembered views (they come back as independent
    # arrays) nor lose the one flat buffer the optimizer updates: same losses, same weights
    import copy
    import pickle

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 1, 6, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]
    tn.set_seed(0)
    model = tn.Sequential(
        [
            tn.layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=(1, 6, 6)),
            tn.layers.MaxPool2D(2),
            tn.layers.Flatten(),
            Dense(8, "relu", kernel_regularizer=tn.regularizers.l2(1e-3)),
            Dense(3, "softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)  # caches, moments and buffers in use
    twin = copy.deepcopy(model) if how == "deepcopy" else pickle.loads(pickle.dumps(model))
    assert twin.layers[0].params["W"].base is twin._flat_params  # one flat buffer again
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0).history["loss"]
    assert twin.fit(x, y, epochs=2, batch_size=16, verbose=0).history["loss"] == history
    for a, b in zip(model.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    model.train_step(x[:16], y[:16])  # and the two stay independent
    assert not np.array_equal(model.layers[0].params["W"], twin.layers[0].params["W"])


def test_a_layer_added_to_a_built_model_is_built_on_the_next_call():
    # forward takes a batch as it is only while the model stays built for it
    model = tn.Sequential([tn.layers.Dense(4, input_dim=3)])
    x = np.ones((2, 3), np.float32)
    assert model.forward(x).shape == (2, 4)
    model.add(tn.layers.Dense(2))
    assert model.forward(x).shape == (2, 2)
    assert model.forward(x.astype(np.float64)).dtype == np.float32  # converted to the model's dtype
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, 3\) but received \(2, 5\)"):
        model.forward(np.ones((2, 5), np.float32))


@pytest.mark.parametrize(
    ("head", "loss"),
    [("softmax", "categorical_crossentropy"), ("sigmoid", "binary_crossentropy"), (None, "mse")],
)
def test_train_step_is_the_four_documented_lines_bit_for_bit(head, loss):
    # models.py's docstring: forward, loss.forward, backward, optimizer.step
    def make():
        tn.set_seed(0)
        model = tn.Sequential([Dense(6, input_dim=4, activation="relu"), Dense(3, activation=head)])
        model.compile(loss=loss, optimizer=tn.optimizers.Adam(0.01))
        return model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 10)]
    a, b = make(), make()
    for lo in (0, 4, 8, 0):
        xb, yb = x[lo : lo + 4], y[lo : lo + 4]
        loss_a = a.train_step(xb, yb)
        y_pred = b.forward(xb, training=True)
        loss_b = b.loss.forward(yb, y_pred)
        b.backward(b.loss.backward())
        b.optimizer.step(b.named_params(), b.named_grads())
        assert loss_a == loss_b
        for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
            np.testing.assert_array_equal(wa, wb)


def test_fit_goes_through_model_backward():
    x, y = toy_data(40)
    model = seed_model()
    calls = []
    backward = model.backward

    def spy(grad_output, input_grad=True):
        calls.append(type(grad_output).__name__)
        return backward(grad_output, input_grad)

    model.backward = spy
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert calls == ["LogitGradient"] * 6  # 3 steps per epoch, each from the fused head's gradient
