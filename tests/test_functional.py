"""The functional API: tn.Input as a symbolic tensor, tn.Model over a DAG, the graph executor."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet as tn
from tinynet.gradcheck import check_model, numerical_gradient, relative_error
from tinynet.layers import Add, Concatenate, Dense, Dropout, Multiply, Reshape

from .strategies import seeds


def residual_block(width=4, head="sigmoid"):
    x = tn.Input(shape=(3,))
    h = Dense(width, activation="tanh")(x)
    f = Dense(width, activation="relu")(h)
    f = Dense(width)(f)
    h = Add()([h, f])  # h feeds two layers: its gradient is a sum
    y = Dense(2, activation=head)(h)
    return tn.Model(x, y)


def two_branches(width=4):
    x = tn.Input(shape=(3,))
    a = Dense(width, activation="relu")(x)  # x is read by two branches
    b = Dense(width, activation="elu")(x)
    b = Reshape((width,))(b)
    c = Concatenate()([a, Multiply()([a, b])])
    y = Dense(3, activation="softmax")(c)
    return tn.Model(x, y)


def two_inputs(width=4):
    p, q = tn.Input(shape=(3,), name="p"), tn.Input(shape=(2,), name="q")
    a = Dense(width, activation="relu")(p)
    b = Dense(width, activation="tanh")(q)
    s = Add()([a, b])
    t = Dense(width, activation="relu")(s)
    y = Dense(1)(Concatenate()([t, s, a]))
    return tn.Model([p, q], y)


def float64_model(make, seed):
    with tn.gradcheck.float64_defaults():
        tn.set_seed(seed)
        return make()


@given(seed=seeds, n=st.integers(1, 5))
def test_residual_block_gradients(seed, n):
    model = float64_model(residual_block, seed)
    model.compile(optimizer="sgd", loss="binary_crossentropy")  # the fused sigmoid head
    rng = np.random.default_rng(seed)
    errors = check_model(model, rng.normal(size=(n, 3)), rng.integers(0, 2, (n, 2)))
    assert max(errors.values()) < 1e-6, errors


@given(seed=seeds, n=st.integers(1, 5), loss=st.sampled_from(["categorical_crossentropy", "mse"]))
def test_tensor_used_by_two_branches_gradients(seed, n, loss):
    model = float64_model(two_branches, seed)
    model.compile(optimizer="sgd", loss=loss)
    rng = np.random.default_rng(seed)
    y = tn.datasets.one_hot(rng.integers(0, 3, n), 3)
    errors = check_model(model, rng.normal(size=(n, 3)), y)
    assert max(errors.values()) < 1e-6, errors


@given(seed=seeds, n=st.integers(1, 5))
def test_two_inputs_gradients(seed, n):
    model = float64_model(two_inputs, seed)
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(seed)
    errors = check_model(model, [rng.normal(size=(n, 3)), rng.normal(size=(n, 2))], rng.normal(size=(n, 1)))
    assert max(errors.values()) < 1e-6, errors


@settings(max_examples=25)
@given(seed=seeds, n=st.integers(1, 4), make=st.sampled_from([residual_block, two_branches, two_inputs]))
def test_input_gradients_for_a_random_upstream_gradient(seed, n, make):
    """backward(G) returns dL/dx of L = sum(model(x) * G) for every input, and every parameter gradient."""
    model = float64_model(make, seed)
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(n, *shape)) for shape in model.input_shapes]
    arg = xs if len(xs) > 1 else xs[0]
    out = np.array(model.forward(arg, training=True))
    G = np.random.default_rng([seed, 1]).standard_normal(out.shape)
    grads = model.backward(G)
    grads = grads if isinstance(grads, list) else [grads]
    analytic = {k: g.copy() for k, g in model.named_grads().items()}

    def f() -> float:
        return float(np.sum(np.asarray(model.forward(arg, training=True)) * G))

    for x, g in zip(xs, grads, strict=True):
        assert relative_error(np.array(g), numerical_gradient(f, x)) < 1e-6
    for key, p in model.named_params().items():
        assert relative_error(analytic[key], numerical_gradient(f, p)) < 1e-6, key


def test_the_caller_gradient_and_the_merge_gradients_are_not_overwritten():
    # Add hands the same array to both inputs; a ReLU below a Reshape below it must not write over it
    tn.set_seed(0)
    x = tn.Input(shape=(5,))
    a = Reshape((5,))(Dense(5, activation="relu")(x))
    b = Dense(5, activation="relu")(x)
    model = tn.Model(x, Add()([a, b]))
    xb = np.random.default_rng(0).normal(size=(8, 5)).astype(np.float32)
    model.forward(xb, training=True)
    G = np.random.default_rng(1).normal(size=(8, 5)).astype(np.float32)
    G_copy = G.copy()
    model.backward(G)
    np.testing.assert_array_equal(G, G_copy)


def test_a_training_step_equals_the_sequential_one():
    # a chain built with the functional API trains bit for bit like the same Sequential
    def make(functional):
        tn.set_seed(3)
        layers = [Dense(8, activation="relu"), Dropout(0.2), Dense(3, activation="softmax")]
        if functional:
            x = tn.Input(shape=(4,))
            h = x
            for layer in layers:
                h = layer(h)
            model = tn.Model(x, h)
        else:
            model = tn.Sequential([tn.Input(shape=(4,)), *layers])
        model.compile("adam", "categorical_crossentropy")
        return model

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 4)), tn.datasets.one_hot(rng.integers(0, 3, 50), 3)
    f, s = make(True), make(False)
    f.set_weights(
        s.get_weights()
    )  # the layers of a functional model draw their weights before the model exists
    f.reseed(7)
    s.reseed(7)
    f.fit(x, y, epochs=2, batch_size=16, verbose=0)
    s.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for a, b in zip(f.get_weights(), s.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_keras_spelling_and_class_relation():
    tn.set_seed(0)
    x = tn.Input(shape=(8,))
    h = Dense(16, activation="relu")(x)
    y = Dense(1, activation="sigmoid")(h)
    model = tn.Model(x, y)
    assert isinstance(model, tn.Model) and isinstance(tn.Sequential([Dense(1, input_dim=2)]), tn.Model)
    assert [layer.name for layer in model.layers] == ["dense", "dense_1"]
    assert model.input_shape == (8,) and model.output_shape == (1,)
    assert y.shape == (1,) and "dense_1" in repr(y)
    model.compile(tn.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(64, 8))
    ys = (xs.sum(axis=1) > 0).astype(float)
    history = model.fit(xs, ys, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(xs, ys)[1] > 0.9
    assert model.predict(xs).shape == (64, 1)
    assert model(xs[:2]).shape == (2, 1)


def test_several_inputs_fit_evaluate_predict():
    tn.set_seed(0)
    model = two_inputs()
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    p, q = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    y = p[:, :1] + q[:, :1]
    history = model.fit([p, q], y, epochs=20, batch_size=8, verbose=0, validation_data=([p, q], y))
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert np.isfinite(model.evaluate([p, q], y))
    assert model.predict([p, q], batch_size=7).shape == (40, 1)
    with pytest.raises(ValueError, match=r"2 inputs \['p', 'q'\].*list of 2 arrays"):
        model.predict(p)
    with pytest.raises(ValueError, match=r"2 inputs.*got a list of 3"):
        model.fit([p, q, q], y, verbose=0)
    with pytest.raises(
        ValueError, match=r"x\[0\] \(input 'p'\) has 40 samples but x\[1\] \(input 'q'\) has 39"
    ):
        model.fit([p, q[:39]], y, verbose=0)
    with pytest.raises(ValueError, match=r"input 'q' of model .* expects samples of shape \(batch, 2\)"):
        model.predict([p, p])


def test_several_inputs_are_shuffled_together():
    # each sample's target is a function of both inputs: shuffling them apart would not fit it
    tn.set_seed(1)
    a, b = tn.Input(shape=(1,)), tn.Input(shape=(1,))
    model = tn.Model([a, b], Dense(1)(Concatenate()([a, b])))
    model.compile(tn.optimizers.SGD(0.1), "mse")
    rng = np.random.default_rng(0)
    p, q = rng.normal(size=(64, 1)), rng.normal(size=(64, 1))
    model.fit([p, q], 2 * p - 3 * q, epochs=100, batch_size=8, verbose=0)
    np.testing.assert_allclose(model.layers[-1].params["W"].ravel(), [2, -3], atol=1e-3)


def test_several_outputs_predict():
    # training them: tests/test_multi_output.py
    x = tn.Input(shape=(3,))
    h = Dense(4, activation="relu")(x)
    model = tn.Model(x, [Dense(1)(h), Dense(2, activation="softmax")(h)])
    out = model.predict(np.ones((5, 3)))
    assert [o.shape for o in out] == [(5, 1), (5, 2)]
    assert [o.shape for o in model(np.ones((2, 3)))] == [(2, 1), (2, 2)]
    assert model.output_names == ["dense_1", "dense_2"]


def test_summary_has_a_connected_to_column():
    tn.set_seed(0)
    lines = []
    residual_block().summary(print_fn=lines.append)
    text = lines[0]
    assert "Connected to" in text and "input (InputLayer)" in text
    assert "add (Add)" in text and "dense, dense_2" in text


def test_errors_name_the_layer_or_tensor():
    x = tn.Input(shape=(3,), name="x")
    dense = Dense(2, name="shared")
    dense(x)
    with pytest.raises(ValueError, match="layer 'shared' is already called on 'x'.*used once"):
        dense(x)
    other = tn.Input(shape=(3,), name="other")
    y = Add()([Dense(2)(x), Dense(2)(other)])
    with pytest.raises(ValueError, match="depend on the Input 'other'.*not among the model's inputs"):
        tn.Model(x, y)
    unused = tn.Input(shape=(1,), name="unused")
    with pytest.raises(ValueError, match="Input 'unused'.*not used to compute the outputs"):
        tn.Model([x, other, unused], y)
    with pytest.raises(ValueError, match=r"cannot be called on 'x' of shape \(3,\)"):
        Dense(2, input_dim=5)(x)
    with pytest.raises(TypeError, match="needs inputs and outputs"):
        tn.Model()
    with pytest.raises(TypeError, match="must be tn.Input"):
        tn.Model(y, y)
    inner = tn.Sequential([Dense(3, input_dim=3)])
    with pytest.raises(TypeError, match="cannot be called on symbolic tensors.*does not nest models"):
        inner(x)


def test_get_config_from_config_round_trip():
    tn.set_seed(0)
    model = two_inputs()
    config = model.get_config()
    again = tn.Model.from_config(config)
    assert again.get_config() == config
    again.set_weights(model.get_weights())
    rng = np.random.default_rng(0)
    data = [rng.normal(size=(4, 3)), rng.normal(size=(4, 2))]
    np.testing.assert_array_equal(again.predict(data), model.predict(data))


def test_input_still_starts_a_sequential():
    model = tn.Sequential([tn.Input(shape=(4,)), Dense(2)])
    assert model.built and model.input_shape == (4,)


class NoInputGradient(tn.layers.Layer):
    """A layer with a weight whose input takes no gradient (as an Embedding of integer ids)."""

    def build(self, input_shape):
        self.add_param("W", np.ones(input_shape))
        super().build(input_shape)

    def forward(self, x, training=False):
        self.x = x
        return x * self.params["W"]

    def backward(self, grad_output):
        self.grads["W"][...] = (grad_output * self.x).sum(axis=0)
        return None


def test_a_branch_that_returns_no_gradient_stops_there():
    with tn.gradcheck.float64_defaults():
        tn.set_seed(0)
        ids, x = tn.Input(shape=(3,)), tn.Input(shape=(3,))
        below = Dense(3)(ids)  # below a layer returning None: skipped, its gradients zero
        h = Add()([NoInputGradient()(below), Dense(3, activation="tanh")(x)])
        model = tn.Model([ids, x], Dense(1)(h))
    model.compile("sgd", "mse")
    rng = np.random.default_rng(0)
    data, y = [rng.normal(size=(4, 3)), rng.normal(size=(4, 3))], rng.normal(size=(4, 1))
    model.layers[0].grads["W"][...] = 7.0  # a stale gradient must not survive
    model.compute_gradients(data, y)
    assert not model.layers[0].grads["W"].any()
    grads = model.backward(np.ones((4, 1)))
    assert grads[0] is None and grads[1].shape == (4, 3)
    errors = check_model(model, data, y)
    assert errors["no_input_gradient/W"] < 1e-6 and errors["dense_1/W"] < 1e-6, errors
