"""SimpleRNN, LSTM, GRU and Embedding: gradients (BPTT, scatter-add), shapes, outputs, errors, files."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet as tn
from tinynet.gradcheck import check_model, float64_defaults, numerical_gradient, relative_error
from tinynet.layers import GRU, LSTM, Dense, Embedding, SimpleRNN

from ..strategies import seeds

RECURRENT = [SimpleRNN, LSTM, GRU]
steps = st.integers(1, 5)
small = st.integers(1, 4)


def multi_output_errors(layer, x, seed):
    """Relative errors of a layer's input and parameter gradients, for one output or a list of them.

    Every output gets its own random upstream gradient G_k, so f = sum_k <G_k, y_k> checks the
    gradients flowing in through every output (the final states included).
    """
    rng = np.random.default_rng([seed, 7])

    def outputs():
        out = layer.forward(x, training=True)
        return out if isinstance(out, list) else [out]

    grads_out = [rng.standard_normal(o.shape) for o in outputs()]
    dx = layer.backward(grads_out if layer.return_state else grads_out[0])
    analytic = {key: g.copy() for key, g in layer.grads.items()}

    def f() -> float:
        return float(sum(np.sum(o * g) for o, g in zip(outputs(), grads_out, strict=True)))

    errors = {"input": relative_error(dx, numerical_gradient(f, x))}
    for key, p in layer.params.items():
        errors[key] = relative_error(analytic[key], numerical_gradient(f, p))
    return errors


def built(cls, x, units, seed, **kwargs):
    """A float64 layer with a random (not zero) bias, so that every bias path is exercised."""
    tn.set_seed(seed)
    layer = cls(units, **kwargs)
    layer.dtype = np.dtype(np.float64)
    layer.build(x.shape[1:])
    if layer.use_bias:
        bias = layer.params["bias"]
        bias[...] = np.random.default_rng(seed).normal(0.0, 0.5, size=bias.shape)
    return layer


@pytest.mark.parametrize("cls", RECURRENT)
@given(
    n=small,
    t=steps,
    d=small,
    units=small,
    return_sequences=st.booleans(),
    return_state=st.booleans(),
    seed=seeds,
)
def test_bptt_matches_central_differences(cls, n, t, d, units, return_sequences, return_state, seed):
    x = np.random.default_rng(seed).normal(size=(n, t, d))
    layer = built(cls, x, units, seed, return_sequences=return_sequences, return_state=return_state)
    errors = multi_output_errors(layer, x, seed)
    assert set(errors) == {"input", "kernel", "recurrent_kernel", "bias"}
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("cls", RECURRENT)
@pytest.mark.parametrize("activation", ["relu", "sigmoid", None])
def test_other_activations_and_no_bias(cls, activation):
    x = np.random.default_rng(3).normal(size=(3, 4, 2))
    kwargs = {"activation": activation, "use_bias": False, "return_sequences": True}
    if cls is not SimpleRNN:
        kwargs["recurrent_activation"] = "tanh"
    layer = built(cls, x, 3, 3, **kwargs)
    errors = multi_output_errors(layer, x, 3)
    assert "bias" not in errors and max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("cls", RECURRENT)
def test_each_state_output_carries_its_own_gradient(cls):
    # a gradient only on the final states (the output unused, None): the weights still learn,
    # through BPTT from the last step
    x = np.random.default_rng(0).normal(size=(2, 3, 2))
    layer = built(cls, x, 3, 0, return_state=True)
    outputs = layer.forward(x, training=True)
    k = len(outputs)
    for which in range(1, k):
        grads = [None] * k
        grads[which] = np.ones_like(outputs[which])
        dx = layer.backward(grads)

        def f(which=which):
            return float(np.sum(layer.forward(x, training=True)[which]))

        assert relative_error(dx, numerical_gradient(f, x)) < 1e-6


@pytest.mark.parametrize("cls", RECURRENT)
def test_outputs_shapes_and_keras_order(cls, float64):
    x = np.random.default_rng(0).normal(size=(2, 5, 3))
    layer = cls(4, return_sequences=True, return_state=True)
    outputs = layer(x)
    states = 2 if cls is LSTM else 1
    assert isinstance(outputs, list) and len(outputs) == 1 + states
    assert outputs[0].shape == (2, 5, 4) and all(s.shape == (2, 4) for s in outputs[1:])
    assert np.array_equal(outputs[0][:, -1], outputs[1])  # h is the last output
    assert layer.compute_output_shape((5, 3)) == [(5, 4)] + [(4,)] * states
    last = cls(4)
    last.build((5, 3))
    last.set_weights(layer.get_weights())
    assert np.allclose(last(x), outputs[1]) and last.output_shape == (4,)


def test_keras_weight_layouts_and_initializers():
    lstm, gru, rnn = LSTM(5), GRU(5), SimpleRNN(5)
    for layer in (lstm, gru, rnn):
        layer.build((7, 3))
    assert {k: v.shape for k, v in lstm.params.items()} == {
        "kernel": (3, 20),
        "recurrent_kernel": (5, 20),
        "bias": (20,),
    }
    assert {k: v.shape for k, v in gru.params.items()} == {
        "kernel": (3, 15),
        "recurrent_kernel": (5, 15),
        "bias": (2, 15),
    }
    assert rnn.params["recurrent_kernel"].shape == (5, 5)
    # unit_forget_bias: the forget block [5:10] starts at 1, the others at 0
    assert np.array_equal(lstm.params["bias"], np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
    assert not gru.params["bias"].any()
    # orthogonal recurrent kernels: orthonormal rows
    U = rnn.params["recurrent_kernel"].astype(np.float64)
    assert np.allclose(U @ U.T, np.eye(5), atol=1e-6)
    U = lstm.params["recurrent_kernel"].astype(np.float64)
    assert np.allclose(U @ U.T, np.eye(5), atol=1e-6)
    no_forget = LSTM(5, unit_forget_bias=False)
    no_forget.build((7, 3))
    assert not no_forget.params["bias"].any()


def test_orthogonal_initializer():
    rng = np.random.default_rng(0)
    tall = tn.initializers.orthogonal((8, 3), dtype=np.float64, rng=rng)
    wide = tn.initializers.orthogonal((3, 8), dtype=np.float64, rng=rng)
    assert np.allclose(tall.T @ tall, np.eye(3)) and np.allclose(wide @ wide.T, np.eye(3))
    with pytest.raises(ValueError, match="at least 2 axes"):
        tn.initializers.orthogonal((4,))
    u = tn.initializers.uniform((1000,), rng=rng)
    assert np.abs(u).max() <= 0.05 and np.abs(u).max() > 0.04


def test_known_values_of_one_lstm_step(float64):
    # one step from zero state: c = i g, h = o tanh(c), with hand-set gates
    layer = LSTM(1, use_bias=True)
    layer.build((1, 1))
    layer.params["kernel"][...] = [[1.0, 2.0, 3.0, 4.0]]
    layer.params["recurrent_kernel"][...] = 0.0
    layer.params["bias"][...] = 0.0
    x = np.array([[[0.5]]])
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    c = sig(0.5) * np.tanh(1.5)
    assert np.allclose(layer(x), [[sig(2.0) * np.tanh(c)]])


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match="positive integer number of units"):
        LSTM(0)
    with pytest.raises(ValueError, match="activations"):
        GRU(3, activation="softmax")
    with pytest.raises(TypeError, match="return_sequences must be True or False"):
        SimpleRNN(3, return_sequences="yes")
    with pytest.raises(ValueError, match="reset_after=True"):
        GRU(3, reset_after=False)
    with pytest.raises(ValueError, match=r"'rnn' expects sequences of shape \(batch, timesteps, features\)"):
        SimpleRNN(3, name="rnn").build((4,))
    layer = LSTM(2, return_state=True, name="enc")
    layer(np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="needs a list of 3 gradients"):
        layer.backward(np.zeros((1, 2)))


@pytest.mark.parametrize("cls", RECURRENT)
def test_sequential_refuses_return_state_and_points_to_model(cls):
    model = tn.Sequential([tn.Input(shape=(3, 2))])
    with pytest.raises(ValueError, match=r"return_state=True .*tn\.Model"):
        model.add(cls(4, return_state=True))
    assert model.layers == []


# --------------------------------------------------------------------------- Embedding


@given(n=small, t=steps, vocab=st.integers(1, 4), dim=small, seed=seeds)
def test_embedding_scatter_add_matches_central_differences(n, t, vocab, dim, seed):
    # few token ids and many positions: ids repeat, and their gradients must accumulate
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, size=(n, t))
    layer = Embedding(vocab, dim)
    layer.dtype = np.dtype(np.float64)
    layer.build((t,))
    G = rng.standard_normal((n, t, dim))
    layer.forward(ids, training=True)
    assert layer.backward(G) is None  # ids take no gradient
    numeric = numerical_gradient(lambda: float(np.sum(layer.forward(ids) * G)), layer.params["embeddings"])
    assert relative_error(layer.grads["embeddings"], numeric) < 1e-6


def test_embedding_repeated_ids_accumulate_and_unused_rows_get_zero(float64):
    layer = Embedding(4, 2)
    layer.build((3,))
    ids = np.array([[1, 1, 3]])
    layer.forward(ids, training=True)
    layer.backward(np.array([[[1.0, 2.0], [10.0, 20.0], [5.0, 5.0]]]))
    assert np.array_equal(layer.grads["embeddings"], [[0, 0], [11, 22], [0, 0], [5, 5]])


def test_embedding_lookup_ids_and_errors(float64):
    layer = Embedding(5, 3, name="tok")
    out = layer(np.array([[0, 4], [2, 2]]))
    E = layer.params["embeddings"]
    assert out.shape == (2, 2, 3) and np.array_equal(out[1, 0], E[2]) and np.array_equal(out[0, 1], E[4])
    assert np.array_equal(layer(np.array([[0.0, 4.0], [2.0, 2.0]])), out)  # whole floats, as a model gives
    assert Embedding(5, 3)(np.array([1, 2])).shape == (2, 3)  # (N,) ids
    assert np.abs(E).max() <= 0.05  # Keras' "uniform" default
    with pytest.raises(ValueError, match=r"'tok'.*must be in \[0, 4\].*from 0 to 5"):
        layer(np.array([[0, 5], [1, 1]]))
    with pytest.raises(ValueError, match=r"'tok'.*from -1"):
        layer(np.array([[-1, 0], [1, 1]]))
    with pytest.raises(ValueError, match="'tok'.*whole numbers"):
        layer(np.array([[0.5, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="whole numbers"):
        layer(np.array([[np.nan, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="mask_zero=True is not implemented"):
        Embedding(5, 3, mask_zero=True)
    with pytest.raises(ValueError, match="positive integer"):
        Embedding(0, 3)


# --------------------------------------------------------------------------- whole models


def _sequence_model(vocab, t, units, cell=LSTM, ignore_class=None):
    model = tn.Sequential(
        [
            tn.Input(shape=(t,)),
            Embedding(vocab, 3),
            cell(units, return_sequences=True),
            Dense(vocab, activation="softmax"),
        ]
    )
    model.compile("adam", tn.losses.SparseCategoricalCrossentropy(ignore_class=ignore_class))
    # weights of order one: with the default small ones every gradient is ~1e-4 and a central
    # difference of the loss (~2) would measure float64 rounding (~1e-10) instead of the gradient
    rng = np.random.default_rng(0)
    for name, p in model.named_params().items():
        if name.endswith("embeddings") or name.endswith("kernel"):
            p[...] = rng.normal(0.0, 0.7, size=p.shape)
    return model


@pytest.mark.parametrize("cell", RECURRENT)
@given(n=small, t=steps, units=small, masked=st.booleans(), seed=seeds)
def test_sequence_model_gradients(cell, n, t, units, masked, seed):
    # Embedding -> RNN(return_sequences) -> Dense softmax, fused with the sequence loss
    vocab = 5
    tn.set_seed(seed)
    with float64_defaults():
        model = _sequence_model(vocab, t, units, cell, ignore_class=-1 if masked else None)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, vocab, size=(n, t))
    y = rng.integers(0, vocab, size=(n, t))
    if masked:
        y[rng.random((n, t)) < 0.3] = -1
    # h = 1e-5: a recurrent kernel over two steps can have a whole gradient near 1e-4 for a loss
    # of 2, where the default step's round-off (2e-16 * 2 / 1e-6) is already 1e-6 of it (the
    # gradcheck module docstring); its truncation error stays near 1e-11 here
    errors = check_model(model, x, y, seed=seed, eps=1e-5)
    assert max(errors.values()) < 1e-6, errors


def test_save_and_load_round_trip(tmp_path):
    tn.set_seed(0)
    model = tn.Sequential(
        [
            tn.Input(shape=(6,)),
            Embedding(9, 4, name="emb"),
            SimpleRNN(5, return_sequences=True, activation="relu"),
            GRU(5, return_sequences=True),
            LSTM(
                6, return_sequences=True, unit_forget_bias=False, kernel_regularizer=tn.regularizers.l2(1e-4)
            ),
            Dense(9, activation="softmax"),
        ]
    )
    model.compile("adam", tn.losses.SparseCategoricalCrossentropy(ignore_class=-1))
    x = np.random.default_rng(0).integers(0, 9, size=(8, 6))
    y = np.roll(x, -1, axis=1)
    y[:, -1] = -1
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "seq.tnm"
    model.save(path)
    loaded = tn.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Embedding",
        "SimpleRNN",
        "GRU",
        "LSTM",
        "Dense",
    ]
    assert loaded.get_config() == model.get_config()
    assert loaded.loss.ignore_class == -1
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert np.isclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0))
