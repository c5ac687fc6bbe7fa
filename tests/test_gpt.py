"""The tiny GPT of tinynet.text: the transformer block, the whole model, its data and its sampling."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet as tn
from tinynet.gradcheck import check_model, float64_defaults, numerical_gradient, relative_error
from tinynet.layers import Dense

from .strategies import seeds


def jitter(model, seed, scale=0.3):
    """Move every parameter off its initial value (zero biases, unit gains) so that all of them matter."""
    rng = np.random.default_rng([seed, 7])
    for p in model.named_params().values():
        p += scale * rng.standard_normal(p.shape)


def masked_targets(rng, n, T, V):
    """Random (n, T) targets in 0..V-1 with some trailing positions marked -1 (padding)."""
    y = rng.integers(0, V, (n, T))
    lengths = rng.integers(1, T + 1, n)
    y[np.arange(T)[None, :] >= lengths[:, None]] = -1
    return y


def sequence_loss():
    return tn.losses.SparseCategoricalCrossentropy(ignore_class=-1)


# -- the transformer block -----------------------------------------------------------------------


def block_model(T, D, heads, F, dropout=0.0):
    x = tn.Input(shape=(T, D))
    y = tn.text.transformer_block(x, heads, F, dropout=dropout, name="b")
    return tn.Model(x, y)


@given(
    N=st.integers(1, 3),
    T=st.integers(1, 4),
    heads=st.integers(1, 2),
    key=st.integers(3, 4),  # D >= 3 (below)
    F=st.integers(1, 5),
    dropout=st.sampled_from([0.0, 0.25]),
    seed=seeds,
)
def test_transformer_block_gradients(N, T, heads, key, F, dropout, seed):
    # D >= 3: a layer norm over D = 2 features outputs about +-1 whatever its input, so its input
    # gradient is of the order of the round-off of a central difference (tests/layers check it alone)
    D = heads * key
    with float64_defaults():
        tn.set_seed(seed)
        model = block_model(T, D, heads, F, dropout)
    jitter(model, seed)
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(N, T, D)), rng.normal(size=(N, T, D))
    errors = check_model(model, x, y, seed=seed)
    assert max(errors.values()) < 1e-6, errors
    # and the input gradient, through both residual paths and the norms, for a random upstream G
    G = rng.normal(size=(N, T, D))

    def f():
        model.reseed(seed)
        return float(np.sum(model.forward(x, training=True) * G))

    f()
    dx = np.array(model.backward(G))
    assert relative_error(dx, numerical_gradient(f, x)) < 1e-6


def gelu_tanh(z):
    return 0.5 * z * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (z + 0.044715 * z**3)))


def layer_norm(z, gamma, beta, eps):
    mu = z.mean(-1, keepdims=True)
    var = ((z - mu) ** 2).mean(-1, keepdims=True)
    return (z - mu) / np.sqrt(var + eps) * gamma + beta


def block_by_hand(x, layers, heads):
    """The block's formula written out (NumPy, float64), from its layers' weights."""
    (n1, att, n2, d1, d2) = layers
    N, T, _ = x.shape
    h = layer_norm(x, n1.params["gamma"], n1.params["beta"], n1.epsilon)
    P = att.params
    q, k, v = h @ P["Wq"] + P["bq"], h @ P["Wk"] + P["bk"], h @ P["Wv"] + P["bv"]
    d = q.shape[-1] // heads
    split = lambda z: z.reshape(N, T, heads, d).transpose(0, 2, 1, 3)  # noqa: E731
    s = split(q) @ split(k).transpose(0, 1, 3, 2) / np.sqrt(d)
    s = np.where(np.tril(np.ones((T, T), bool)), s, -np.inf)
    a = np.exp(s - s.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    o = (a @ split(v)).transpose(0, 2, 1, 3).reshape(N, T, heads * d)
    x = x + o @ P["Wo"] + P["bo"]
    h = layer_norm(x, n2.params["gamma"], n2.params["beta"], n2.epsilon)
    return x + gelu_tanh(h @ d1.params["W"] + d1.params["b"]) @ d2.params["W"] + d2.params["b"]


@given(N=st.integers(1, 3), T=st.integers(1, 5), heads=st.integers(1, 3), seed=seeds)
def test_transformer_block_computes_the_pre_norm_formula(N, T, heads, seed):
    D = 2 * heads
    with float64_defaults():
        tn.set_seed(seed)
        model = block_model(T, D, heads, 7)
    jitter(model, seed)
    names = ["b_attention_norm", "b_attention", "b_mlp_norm", "b_mlp_intermediate", "b_mlp_output"]
    layers = [model.get_layer(name) for name in names]
    assert layers[1].causal and layers[1].key_dim == 2 and layers[3].units == 7
    x = np.random.default_rng(seed).normal(size=(N, T, D))
    np.testing.assert_allclose(
        model.predict(x, verbose=0), block_by_hand(x, layers, heads), rtol=1e-10, atol=1e-12
    )


def test_the_residual_paths_pass_the_gradient_through(float64):
    # with both branches' output weights at zero the block is the identity, and so is its Jacobian
    tn.set_seed(3)
    x_in = tn.Input(shape=(4, 6))
    y_out = tn.text.transformer_block(x_in, 2, 8, name="b")
    model = tn.Model(x_in, Dense(2)(y_out))
    model.get_layer("b_attention").params["Wo"][...] = 0.0
    model.get_layer("b_mlp_output").params["W"][...] = 0.0
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 6))
    head = model.layers[-1]
    np.testing.assert_allclose(
        model.predict(x, verbose=0), x @ head.params["W"] + head.params["b"], atol=1e-12
    )
    model.compile("sgd", "mse")
    model.compute_gradients(x, rng.normal(size=(3, 4, 2)))
    g = rng.normal(size=(3, 4, 2))
    model.forward(x, training=True)
    np.testing.assert_allclose(model.backward(g), g @ head.params["W"].T, atol=1e-12)


def test_transformer_block_errors():
    x = tn.Input(shape=(4, 6))
    with pytest.raises(ValueError, match="not a multiple of num_heads"):
        tn.text.transformer_block(x, 4, 8)
    with pytest.raises(ValueError, match="symbolic tensor of sequences"):
        tn.text.transformer_block(np.zeros((2, 4, 6)), 2, 8)
    with pytest.raises(ValueError, match="symbolic tensor of sequences"):
        tn.text.transformer_block(tn.Input(shape=(6,)), 2, 8)
    with pytest.raises(ValueError, match="dropout"):
        tn.text.transformer_block(x, 2, 8, dropout=1.0)
    assert tn.text.transformer_block(x, 4, 8, key_dim=3).shape == (4, 6)


# -- the whole GPT ---------------------------------------------------------------------------------


@given(
    N=st.integers(1, 3),
    T=st.integers(1, 4),
    V=st.integers(2, 5),
    heads=st.integers(1, 2),
    key=st.integers(3, 4),  # D >= 3, as in the block's check
    layers=st.integers(1, 2),
    F=st.integers(1, 4),
    seed=seeds,
)
def test_whole_gpt_gradients(N, T, V, heads, key, layers, F, seed):
    with float64_defaults():
        tn.set_seed(seed)
        model = tn.text.gpt(V, T, d_model=heads * key, num_heads=heads, num_layers=layers, intermediate_dim=F)
    jitter(model, seed)
    model.compile(optimizer="sgd", loss=sequence_loss())  # the fused softmax head, padding masked
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, V, (N, T)), masked_targets(rng, N, T, V)
    errors = check_model(model, x, y, seed=seed)
    assert max(errors.values()) < 1e-6, errors


def test_gpt_structure_and_parameter_count():
    tn.set_seed(0)
    model = tn.text.gpt(27, 16)
    assert model.count_params() == 104_603
    assert model.output_shape == (16, 27) and model.layers[-1].activation.activation_name == "softmax"
    blocks = [layer for layer in model.layers if isinstance(layer, tn.layers.MultiHeadAttention)]
    assert len(blocks) == 2 and all(b.causal and b.num_heads == 4 and b.key_dim == 16 for b in blocks)
    assert model.get_layer("gpt_block1_mlp_intermediate").units == 256
    assert model.loss is None  # uncompiled
    small = tn.text.gpt(5, 3, d_model=8, num_heads=2, num_layers=3, intermediate_dim=4, name="g")
    assert sum(isinstance(la, tn.layers.MultiHeadAttention) for la in small.layers) == 3
    assert small.name == "g" and small.get_layer("g_block2_mlp_intermediate").units == 4
    with pytest.raises(ValueError, match="num_layers"):
        tn.text.gpt(5, 3, num_layers=0)
    with pytest.raises(ValueError, match="vocab_size"):
        tn.text.gpt(0, 3)


def test_gpt_is_causal(float64):
    # the output at position t does not depend on the tokens after t
    tn.set_seed(1)
    model = tn.text.gpt(6, 5, d_model=8, num_heads=2, num_layers=2)
    jitter(model, 1)
    rng = np.random.default_rng(1)
    x = rng.integers(0, 6, (4, 5))
    base = model.predict(x, verbose=0)
    for t in range(5):
        changed = x.copy()
        changed[:, t + 1 :] = rng.integers(0, 6, changed[:, t + 1 :].shape)
        np.testing.assert_array_equal(model.predict(changed, verbose=0)[:, : t + 1], base[:, : t + 1])


def test_gpt_save_and_load_round_trip(tmp_path):
    tn.set_seed(2)
    model = tn.text.gpt(7, 6, d_model=8, num_heads=2, num_layers=2, dropout=0.1)
    model.compile(tn.optimizers.Adam(3e-3), sequence_loss())
    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 7, (32, 6)), masked_targets(rng, 32, 6, 7)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "gpt.npz"
    tn.save_model(model, path)
    loaded = tn.load_model(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # and training resumes identically
    a = model.fit(x, y, epochs=1, batch_size=8, verbose=0).history["loss"]
    b = loaded.fit(x, y, epochs=1, batch_size=8, verbose=0).history["loss"]
    assert a == b


def test_gpt_trains_with_sequence_accuracy():
    tn.set_seed(4)
    model = tn.text.gpt(5, 4, d_model=8, num_heads=2, num_layers=1)
    model.compile(
        tn.optimizers.Adam(1e-2), sequence_loss(), metrics=["accuracy", "sparse_categorical_accuracy"]
    )
    rng = np.random.default_rng(4)
    x = rng.integers(0, 5, (64, 4))
    y = np.roll(x, 1, axis=1)  # copy the previous token: needs attention
    y[:, 0] = -1
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0, validation_data=(x, y)).history
    assert history["accuracy"] == history["sparse_categorical_accuracy"]
    assert history["val_accuracy"][-1] > 0.9, history["val_accuracy"][-5:]
    _, acc, _ = model.evaluate(x, y, verbose=0)
    assert acc == tn.metrics.accuracy(y, model.predict(x, verbose=0))


# -- data and sampling -----------------------------------------------------------------------------


def test_name_sequences_layout_and_errors():
    tok = tn.text.CharTokenizer(boundary=".").fit(["ab", "c"])
    x, y = tn.text.name_sequences(["ab", "c"], tok, context=4)
    assert x.tolist() == [[0, 1, 2, 0], [0, 3, 0, 0]]
    assert y.tolist() == [[1, 2, 0, -1], [3, 0, -1, -1]]
    x, y = tn.text.name_sequences(["ab", "c"], tok)  # the shortest context that fits: 3
    assert x.shape == y.shape == (2, 3) and x.dtype == y.dtype == np.int64
    assert tn.text.name_sequences(["ab"], tok, 3, pad=-100)[1].tolist() == [[1, 2, 0]]
    assert tn.text.name_sequences(["c"], tok, 3, pad=-100)[1].tolist() == [[3, 0, -100]]
    with pytest.raises(ValueError, match=r"name 0 \('ab'\) has 2 characters and needs context >= 3"):
        tn.text.name_sequences(["ab", "c"], tok, context=2)
    with pytest.raises(ValueError, match="pad must be a negative integer"):
        tn.text.name_sequences(["ab"], tok, 4, pad=0)
    with pytest.raises(ValueError, match="boundary"):
        tn.text.name_sequences(["ab"], tn.text.CharTokenizer().fit("abc"), 4)


def test_name_sequences_hold_the_same_predictions_as_name_windows():
    names = tn.datasets.load_names()[:300]
    tok = tn.text.CharTokenizer(boundary=".").fit(names)
    x, y = tn.text.name_sequences(names, tok)
    T = x.shape[1]
    real = y != -1
    assert real.sum() == sum(len(name) + 1 for name in names)
    # every prediction (context so far, next character) of the sequences is one of name_windows'
    wx, wy = tn.text.name_windows(names, tok, context=T)
    windows = {(tuple(row), int(nxt)) for row, nxt in zip(wx, wy, strict=True)}
    for n, t in zip(*np.nonzero(real), strict=True):
        seen = np.concatenate([np.zeros(T - t - 1, np.int64), x[n, : t + 1]])  # left-padded, as windows
        assert (tuple(seen.tolist()), int(y[n, t])) in windows


def test_right_padded_reads_the_last_real_position(float64):
    tn.set_seed(5)
    model = tn.text.gpt(4, 5, d_model=4, num_heads=1, num_layers=1)
    sampler = tn.text.RightPadded(model, 5)
    ids = np.array([[0, 2, 3]])
    full = model.predict(np.array([[0, 2, 3, 0, 0]]), verbose=0)
    np.testing.assert_array_equal(sampler.predict(ids), full[:, 2])
    np.testing.assert_array_equal(
        sampler.predict(np.array([[1, 0, 2, 3, 1, 2]])),
        model.predict(np.array([[0, 2, 3, 1, 2]]), verbose=0)[:, 4],
    )  # longer: the last 5 tokens
    with pytest.raises(ValueError, match=r"shape \(1, k\)"):
        sampler.predict(np.zeros((2, 3), np.int64))
    with pytest.raises(TypeError, match="predict"):
        tn.text.RightPadded(object(), 5)


def test_generate_from_a_gpt_is_reproducible_under_a_seed():
    names = ["anna", "bob", "carla", "dan", "emma"]
    tok = tn.text.CharTokenizer(boundary=".").fit(names)
    tn.set_seed(6)
    model = tn.text.gpt(tok.vocab_size, 8, d_model=8, num_heads=2, num_layers=1)
    sampler = tn.text.RightPadded(model, 8)
    first = [tn.text.generate(sampler, "", 7, seed=s, tokenizer=tok) for s in range(8)]
    again = [tn.text.generate(sampler, "", 7, seed=s, tokenizer=tok) for s in range(8)]
    assert first == again
    assert len(set(first)) > 1, first  # the seed matters
    assert all(len(g) <= 7 and set(g) <= set("".join(names)) for g in first)
    # a prompt, temperature and top-k: still reproducible
    a = tn.text.generate(sampler, "an", 5, temperature=0.7, top_k=3, seed=1, tokenizer=tok)
    assert a == tn.text.generate(sampler, "an", 5, temperature=0.7, top_k=3, seed=1, tokenizer=tok)


# -- accuracy on sequences -------------------------------------------------------------------------


@given(N=st.integers(1, 4), T=st.integers(1, 5), K=st.integers(2, 5), seed=seeds)
def test_sequence_accuracy_is_the_mean_over_the_real_positions(N, T, K, seed):
    rng = np.random.default_rng(seed)
    scores = rng.random((N, T, K))
    labels = masked_targets(rng, N, T, K)
    real = labels >= 0
    expected = (scores.argmax(-1) == labels)[real].mean()
    for metric in (tn.metrics.accuracy, tn.metrics.sparse_categorical_accuracy):
        assert metric(labels, scores) == expected
        assert metric(labels[..., None], scores) == expected  # (N, T, 1) labels
        assert metric(labels.astype(np.float32), scores) == expected  # integral floats, as fit stores them
    # the same as the (N*T, K) rows of the real positions
    assert tn.metrics.accuracy(labels[real], scores[real]) == expected


def test_sequence_accuracy_errors():
    scores = np.zeros((2, 3, 4))
    for metric in (tn.metrics.accuracy, tn.metrics.sparse_categorical_accuracy):
        with pytest.raises(ValueError, match=r"need labels of shape \(2, 3\)"):
            metric(np.zeros((2, 4), np.int64), scores)
        with pytest.raises(ValueError, match="empty"):
            metric(np.full((2, 3), -1), scores)  # every position is padding
        with pytest.raises(ValueError, match="integers"):
            metric(np.full((2, 3), 0.5), scores)
    # a one-hot (N, T, K) target is refused, as before (one label per position is the sequence form)
    with pytest.raises(ValueError, match="shape"):
        tn.metrics.accuracy(np.zeros((2, 3, 4)), scores)
