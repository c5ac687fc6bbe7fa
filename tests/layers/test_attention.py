"""Attention: the op's gradients, masks and numerics; MultiHeadAttention, PositionalEmbedding and
SinePositionEncoding layers; a whole sequence model; saving and loading."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet as tn
from tinynet import ops
from tinynet.gradcheck import check_layer, check_model, float64_defaults, numerical_gradient, relative_error
from tinynet.layers import (
    Dense,
    LayerNormalization,
    MultiHeadAttention,
    PositionalEmbedding,
    SinePositionEncoding,
)
from tinynet.layers.attention import sine_position_encoding

from ..strategies import seeds

batch = st.integers(1, 3)
steps = st.integers(1, 5)
width = st.integers(1, 6)
heads = st.integers(1, 3)
head_dim = st.integers(1, 4)


def padding_masks(rng, N, T, leading=False):
    """A random 0/1 mask (N, T) with at least one real token per sample (padding at the end, or at the start)."""
    lengths = rng.integers(1, T + 1, size=N)
    real = np.arange(T)[None, :] < lengths[:, None]
    return (real[:, ::-1] if leading else real).astype(np.float64)


# -- the op ----------------------------------------------------------------------------------------


def op_gradients(q, k, v, mask, seed, dropout_mask=None):
    """Relative errors of the op's dQ, dK, dV against central differences of sum(G * O)."""
    o, p = ops.scaled_dot_product_attention(q, k, v, mask, dropout_mask)
    G = np.random.default_rng([seed, 7]).standard_normal(o.shape)
    analytic = ops.scaled_dot_product_attention_backward(G, q, k, v, p, dropout_mask)

    def f():
        return float(np.sum(ops.scaled_dot_product_attention(q, k, v, mask, dropout_mask)[0] * G))

    return [relative_error(a, numerical_gradient(f, x)) for a, x in zip(analytic, (q, k, v), strict=True)]


@given(N=batch, h=heads, T=steps, T_k=steps, d_k=head_dim, d_v=head_dim, causal=st.booleans(), seed=seeds)
def test_op_gradients(N, h, T, T_k, d_k, d_v, causal, seed):
    rng = np.random.default_rng(seed)
    T_k = T if causal else T_k  # causal attention is self-attention: as many keys as queries
    q, k = rng.normal(size=(N, h, T, d_k)), rng.normal(size=(N, h, T_k, d_k))
    v = rng.normal(size=(N, h, T_k, d_v))
    mask = ops.attention_mask(T_k, causal, None, T_q=T)
    assert max(op_gradients(q, k, v, mask, seed)) < 1e-6


@given(N=batch, h=heads, T=steps, d=head_dim, causal=st.booleans(), seed=seeds)
def test_op_gradients_with_padding_and_dropout(N, h, T, d, causal, seed):
    rng = np.random.default_rng(seed)
    q, k, v = (rng.normal(size=(N, h, T, d)) for _ in range(3))
    mask = ops.attention_mask(T, causal, padding_masks(rng, N, T, leading=causal))
    keep = (rng.random((N, h, T, T)) >= 0.3) / 0.7
    assert max(op_gradients(q, k, v, mask, seed)) < 1e-6
    assert max(op_gradients(q, k, v, mask, seed, keep)) < 1e-6


def test_op_matches_a_direct_implementation():
    # softmax(Q K^T / sqrt(d)) V written out for one (sample, head), with masked scores set to -inf
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(4, 3)), rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    allowed = rng.random((4, 6)) < 0.7
    allowed[:, 0] = True
    S = np.where(allowed, q @ k.T / np.sqrt(3), -np.inf)
    P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    o, p = ops.scaled_dot_product_attention(q, k, v, allowed)
    np.testing.assert_allclose(p, P, rtol=1e-13)
    np.testing.assert_allclose(o, P @ v, rtol=1e-12)


def test_causal_mask_hides_the_future():
    M = ops.attention_mask(4, causal=True)
    np.testing.assert_array_equal(M[0, 0], np.tril(np.ones((4, 4), bool)))
    rng = np.random.default_rng(1)
    q, k, v = (rng.normal(size=(1, 1, 4, 2)) for _ in range(3))
    _, p = ops.scaled_dot_product_attention(q, k, v, M)
    assert np.all(p[0, 0][np.triu_indices(4, 1)] == 0.0)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-14)
    # changing a future value changes nothing before it
    v2 = v.copy()
    v2[0, 0, 3] += 10.0
    o, _ = ops.scaled_dot_product_attention(q, k, v, M)
    o2, _ = ops.scaled_dot_product_attention(q, k, v2, M)
    np.testing.assert_array_equal(o[0, 0, :3], o2[0, 0, :3])


def test_fully_masked_rows_give_zero_weights_output_and_gradient():
    # causal + leading padding: query 0 of sample 0 may see no key at all
    rng = np.random.default_rng(2)
    q, k, v = (rng.normal(size=(2, 2, 4, 3)) for _ in range(3))
    padding = np.array([[0, 1, 1, 1], [1, 1, 1, 1]])
    mask = ops.attention_mask(4, True, padding)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        o, p = ops.scaled_dot_product_attention(q, k, v, mask)
        dq, dk, dv = ops.scaled_dot_product_attention_backward(np.ones_like(o), q, k, v, p)
    assert np.all(np.isfinite(o)) and np.all(np.isfinite(p))
    np.testing.assert_array_equal(p[0, :, 0], 0.0)
    np.testing.assert_array_equal(o[0, :, 0], 0.0)
    np.testing.assert_array_equal(dq[0, :, 0], 0.0)
    np.testing.assert_array_equal(p[0, :, 1:, 0], 0.0)  # the padded key gets no weight from anyone
    np.testing.assert_array_equal(dk[0, :, 0], 0.0)  # ... and so no gradient
    np.testing.assert_array_equal(dv[0, :, 0], 0.0)
    np.testing.assert_allclose(p[0, :, 1:].sum(axis=-1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(p[1].sum(axis=-1), 1.0, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("causal", [False, True])
def test_large_scores_neither_overflow_nor_warn(dtype, causal):
    # scores of order 1e4 (float32) or 1e150 (float64): exp() of them would overflow without the shift
    big = 1e2 if dtype == np.float32 else 1e75
    rng = np.random.default_rng(3)
    q, k, v = (rng.normal(size=(2, 2, 5, 4)).astype(dtype) for _ in range(3))
    q *= dtype(big)
    k *= dtype(big)
    mask = ops.attention_mask(5, causal, np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        o, p = ops.scaled_dot_product_attention(q, k, v, mask)
        grads = ops.scaled_dot_product_attention_backward(np.ones_like(o), q, k, v, p)
    assert o.dtype == p.dtype == dtype
    for a in (o, p, *grads):
        assert np.all(np.isfinite(a))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-5)
    # saturated: each row puts (almost) all its weight on its best visible key
    assert np.all(p.max(axis=-1) > 0.99)


# -- MultiHeadAttention ----------------------------------------------------------------------------


def mha(seed, **kwargs):
    tn.set_seed(seed)
    with float64_defaults():
        return MultiHeadAttention(**kwargs)


def randomize_biases(layer, seed):
    rng = np.random.default_rng([seed, 3])
    for key, p in layer.params.items():
        if key.startswith("b"):
            p[...] = rng.normal(size=p.shape)


def assert_attention_gradients(errors):
    assert max(errors.values()) < 1e-6, errors


def layer_errors(layer, x, seed, mask=None, training=True):
    """Input and parameter errors of ``layer`` on ``x`` (or on ``[x, mask]``)."""
    x = np.array(x, dtype=np.float64)
    inputs = x if mask is None else [x, mask]
    if not layer.built:
        layer.build(x.shape[1:] if mask is None else [x.shape[1:], mask.shape[1:]])
    randomize_biases(layer, seed)

    def run():
        layer.rng = np.random.default_rng(seed + 1)
        return layer.forward(inputs, training=training)

    y = run()
    G = np.random.default_rng([seed, 0x6AD]).standard_normal(y.shape)
    dx = layer.backward(G)
    if mask is not None:
        assert isinstance(dx, list) and len(dx) == 2 and dx[1] is None
        dx = dx[0]
    analytic = {"input": np.array(dx), **{k: g.copy() for k, g in layer.grads.items()}}

    def f():
        return float(np.sum(run() * G))

    errors = {"input": relative_error(analytic["input"], numerical_gradient(f, x))}
    for key, p in layer.params.items():
        errors[key] = relative_error(analytic[key], numerical_gradient(f, p))
    if "bk" in analytic:  # the key bias cancels in the softmax: its gradient is 0, exactly
        np.testing.assert_array_equal(analytic["bk"], 0.0)
    return errors


@given(N=batch, T=steps, D=width, h=heads, d_k=head_dim, d_v=head_dim, causal=st.booleans(), seed=seeds)
def test_mha_gradients(N, T, D, h, d_k, d_v, causal, seed):
    layer = mha(seed, num_heads=h, key_dim=d_k, value_dim=d_v, causal=causal)
    x = np.random.default_rng(seed).normal(size=(N, T, D))
    errors = layer_errors(layer, x, seed)
    assert set(errors) == {"input", "Wq", "bq", "Wk", "bk", "Wv", "bv", "Wo", "bo"}
    assert_attention_gradients(errors)


@given(
    N=batch, T=steps, D=width, h=heads, d_k=head_dim, causal=st.booleans(), leading=st.booleans(), seed=seeds
)
def test_mha_gradients_with_padding_mask(N, T, D, h, d_k, causal, leading, seed):
    rng = np.random.default_rng(seed)
    layer = mha(seed, num_heads=h, key_dim=d_k, causal=causal)
    x = rng.normal(size=(N, T, D))
    assert_attention_gradients(layer_errors(layer, x, seed, mask=padding_masks(rng, N, T, leading)))


@given(seed=seeds, use_bias=st.booleans())
def test_mha_gradients_with_dropout_and_without_bias(seed, use_bias):
    layer = mha(seed, num_heads=2, key_dim=3, value_dim=2, dropout=0.4, use_bias=use_bias)
    x = np.random.default_rng(seed).normal(size=(3, 4, 5))
    errors = layer_errors(layer, x, seed)
    assert ("bq" in errors) == use_bias
    assert_attention_gradients(errors)


def test_padding_mask_hides_padded_keys_and_the_input_gradient_ignores_them(float64):
    rng = np.random.default_rng(4)
    layer = MultiHeadAttention(2, 3)
    x = rng.normal(size=(2, 5, 4))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    y = layer([x, mask])
    p = layer.attention_scores
    assert p.shape == (2, 2, 5, 5)
    np.testing.assert_array_equal(p[0, :, :, 3:], 0.0)
    # what sits at a padded position cannot change the real positions' outputs
    x2 = x.copy()
    x2[0, 3:] = rng.normal(size=(2, 4)) * 100
    np.testing.assert_allclose(layer([x2, mask])[0, :3], y[0, :3], rtol=1e-12)
    dx, dmask = layer.backward(np.ones_like(y))
    assert dmask is None and dx.shape == x.shape


def test_a_query_that_sees_nothing_outputs_the_output_bias(float64):
    layer = MultiHeadAttention(2, 3, causal=True)
    x = np.random.default_rng(5).normal(size=(1, 4, 3))
    layer.build([x.shape[1:], (4,)])
    layer.params["bo"][...] = [1.0, 2.0, 3.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = layer([x, np.array([[0, 0, 1, 1]])])
    np.testing.assert_array_equal(y[0, :2], [[1.0, 2.0, 3.0]] * 2)
    assert np.all(np.isfinite(y))


def test_mha_is_float32_by_default_and_float64_on_request(float64):
    x = np.random.default_rng(6).normal(size=(2, 3, 4))
    y64 = MultiHeadAttention(2, 2)(x)
    assert y64.dtype == np.float64
    tn.set_default_dtype(np.float32)
    layer = MultiHeadAttention(2, 2)
    y32 = layer(x.astype(np.float32), training=True)
    assert y32.dtype == np.float32 and layer.attention_scores.dtype == np.float32
    assert all(p.dtype == np.float32 for p in layer.params.values())
    assert layer.backward(np.ones_like(y32)).dtype == np.float32


def test_mha_param_shapes_and_order():
    layer = MultiHeadAttention(4, 3, value_dim=2)
    layer.build((7, 5))
    assert {k: v.shape for k, v in layer.params.items()} == {
        "Wq": (5, 12),
        "bq": (12,),
        "Wk": (5, 12),
        "bk": (12,),
        "Wv": (5, 8),
        "bv": (8,),
        "Wo": (8, 5),
        "bo": (5,),
    }
    assert list(layer.params) == ["Wq", "bq", "Wk", "bk", "Wv", "bv", "Wo", "bo"]
    assert layer.compute_output_shape((7, 5)) == (7, 5)
    assert layer.compute_output_shape([(7, 5), (7,)]) == (7, 5)


def test_mha_heads_are_independent_blocks_of_columns(float64):
    # head a uses columns a*d_k:(a+1)*d_k of Wq and Wk: computed head by head, the layer agrees
    rng = np.random.default_rng(7)
    layer = MultiHeadAttention(3, 2, value_dim=2, causal=True)
    x = rng.normal(size=(2, 4, 5))
    y = layer(x)
    P = layer.params
    heads = []
    for a in range(3):
        cols = slice(2 * a, 2 * a + 2)
        q = x @ P["Wq"][:, cols] + P["bq"][cols]
        k = x @ P["Wk"][:, cols] + P["bk"][cols]
        v = x @ P["Wv"][:, cols] + P["bv"][cols]
        S = q @ np.swapaxes(k, 1, 2) / np.sqrt(2) + np.triu(np.full((4, 4), -np.inf), 1)
        A = np.exp(S - S.max(-1, keepdims=True))
        heads.append((A / A.sum(-1, keepdims=True)) @ v)
    np.testing.assert_allclose(y, np.concatenate(heads, axis=-1) @ P["Wo"] + P["bo"], rtol=1e-12)


def test_mha_accepts_other_lengths_than_it_was_built_for(float64):
    layer = MultiHeadAttention(2, 2)
    layer(np.zeros((1, 6, 4)))
    assert layer(np.ones((3, 2, 4))).shape == (3, 2, 4)


def test_mha_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="num_heads"):
        MultiHeadAttention(0, 2)
    with pytest.raises(ValueError, match="key_dim"):
        MultiHeadAttention(2, 1.5)
    with pytest.raises(ValueError, match="dropout"):
        MultiHeadAttention(2, 2, dropout=1.0)
    with pytest.raises(TypeError, match="causal"):
        MultiHeadAttention(2, 2, causal="yes")
    layer = MultiHeadAttention(2, 2, name="att")
    with pytest.raises(ValueError, match="'att'.*sequences"):
        layer(np.zeros((2, 4), np.float32))
    layer(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match=r"'att'.*\(batch, time, 4\)"):
        layer(np.zeros((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"'att'.*padding mask.*\(2, 3\)"):
        layer([np.zeros((2, 3, 4), np.float32), np.ones((2, 4))])
    with pytest.raises(ValueError, match="'att'.*1 \\(real token\\) or 0"):
        layer([np.zeros((2, 3, 4), np.float32), np.full((2, 3), 0.5)])


# -- position layers -------------------------------------------------------------------------------


@given(N=batch, T=steps, extra=st.integers(0, 3), D=width, seed=seeds)
def test_positional_embedding_gradients(N, T, extra, D, seed):
    tn.set_seed(seed)
    with float64_defaults():
        layer = PositionalEmbedding(T + extra)
    x = np.random.default_rng(seed).normal(size=(N, T, D))
    errors = check_layer(layer, x, seed=seed)
    assert set(errors) == {"input", "embeddings"}
    assert max(errors.values()) < 1e-6, errors
    # rows past T get exactly zero gradient (a stale gradient there would move them)
    np.testing.assert_array_equal(layer.grads["embeddings"][T:], 0.0)


def test_positional_embedding_adds_the_first_T_rows_and_refuses_longer_sequences():
    layer = PositionalEmbedding(5, name="pos")
    x = np.random.default_rng(8).normal(size=(2, 3, 4)).astype(np.float32)
    y = layer(x)
    assert layer.params["embeddings"].shape == (5, 4)
    np.testing.assert_allclose(y, x + layer.params["embeddings"][:3])
    assert layer(np.zeros((1, 5, 4), np.float32)).shape == (1, 5, 4)
    # a shorter batch after a full-length one: the rows it did not reach get 0, not the last gradient
    layer(np.zeros((1, 5, 4), np.float32), training=True)
    layer.backward(np.ones((1, 5, 4), np.float32))
    layer(x, training=True)
    layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(layer.grads["embeddings"], [[2.0] * 4] * 3 + [[0.0] * 4] * 2)
    with pytest.raises(ValueError, match="'pos'.*up to 5 steps.*6 steps"):
        layer(np.zeros((1, 6, 4), np.float32))
    with pytest.raises(ValueError, match="up to 2 steps"):
        PositionalEmbedding(2).compute_output_shape((3, 4))
    with pytest.raises(ValueError, match="sequence_length"):
        PositionalEmbedding(0)


def test_sine_position_encoding_values_and_zero_gradient():
    T, D = 6, 8
    pe = sine_position_encoding(T, D)
    t, i = 4, 3  # feature 2*1 + 1: a cosine at frequency 10000^(-2/8)
    assert pe[t, 2 * i] == pytest.approx(np.sin(t / 10000 ** (2 * i / D)), rel=1e-14)
    assert pe[t, 2 * i + 1] == pytest.approx(np.cos(t / 10000 ** (2 * i / D)), rel=1e-14)
    np.testing.assert_array_equal(pe[0], np.arange(D) % 2)  # sin 0 = 0, cos 0 = 1
    layer = SinePositionEncoding()
    x = np.random.default_rng(9).normal(size=(3, T, D)).astype(np.float32)
    y = layer(x, training=True)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, np.broadcast_to(pe, x.shape), rtol=1e-6)  # KerasHub's: PE only, not x + PE
    np.testing.assert_array_equal(layer.backward(np.ones_like(y)), 0.0)
    assert not layer.params


@given(N=batch, T=steps, D=width, seed=seeds)
def test_sine_position_encoding_gradient_check(N, T, D, seed):
    x = np.random.default_rng(seed).normal(size=(N, T, D))
    assert check_layer(SinePositionEncoding(max_wavelength=50.0), x, seed=seed) == {"input": 0.0}


# -- per-position Dense and LayerNormalization, and a whole model ----------------------------------


@given(N=batch, T=steps, D=st.integers(3, 6), units=width, seed=seeds)
def test_dense_and_layer_norm_act_per_position_on_sequences(N, T, D, units, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, T, D))
    tn.set_seed(seed)
    with float64_defaults():
        dense, norm = Dense(units, activation="tanh"), LayerNormalization()
    for layer in (dense, norm):
        errors = check_layer(layer, x, seed=seed)
        assert max(errors.values()) < 1e-6, errors
    # per position: the same as the layer applied to the (N*T, D) rows (forward: __call__ checks the shape)
    for layer in (dense, norm):
        np.testing.assert_allclose(
            layer.forward(x).reshape(N * T, -1), layer.forward(x.reshape(N * T, D)), rtol=1e-12, atol=1e-15
        )


def sequence_model(T, D, seed, causal=True):
    tn.set_seed(seed)
    model = tn.Sequential(
        [
            tn.Input(shape=(T, 3)),
            Dense(D),
            PositionalEmbedding(T + 1),
            MultiHeadAttention(2, 3, causal=causal),
            LayerNormalization(),
            Dense(2),
        ]
    )
    model.compile(loss="mse", optimizer="adam")
    return model


@given(N=batch, T=steps, D=st.integers(3, 5), seed=seeds)
def test_whole_sequence_model_gradients(N, T, D, seed):
    with float64_defaults():
        model = sequence_model(T, D, seed)
    randomize_biases(model.layers[2], seed)
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(N, T, 3)), rng.normal(size=(N, T, 2))
    errors = check_model(model, x, y, seed=seed)
    assert max(errors.values()) < 1e-6, errors


def test_the_key_bias_cancels(float64):
    # softmax_j(q_i . (k_j + b)) = softmax_j(q_i . k_j): bk changes nothing, so its gradient is 0
    rng = np.random.default_rng(12)
    layer = MultiHeadAttention(2, 3, causal=True)
    x = rng.normal(size=(2, 4, 5))
    y = layer(x).copy()
    layer.params["bk"][...] = rng.normal(size=6) * 10
    np.testing.assert_array_equal(layer(x, training=True), y)
    layer.backward(rng.normal(size=y.shape))
    np.testing.assert_array_equal(layer.grads["bk"], 0.0)
    # with the bias in the keys, as PyTorch computes it, the output agrees to round-off
    P = layer.params
    k_with_bias = layer._heads(x @ P["Wk"] + P["bk"], 3)
    o, _ = ops.scaled_dot_product_attention(layer.q, k_with_bias, layer.v, ops.attention_mask(4, True))
    np.testing.assert_allclose(layer._merge(o) @ P["Wo"] + P["bo"], y, rtol=1e-12, atol=1e-12)


@pytest.mark.slow
def test_a_causal_model_learns_to_copy_the_previous_step():
    # y_t = x_{t-1}: only attention can move information between positions
    rng = np.random.default_rng(10)
    x = rng.normal(size=(512, 6, 3))
    y = np.zeros((512, 6, 2))
    y[:, 1:] = x[:, :-1, :2]
    model = sequence_model(6, 16, 0)
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    last = model.evaluate(x, y, verbose=0)
    first, last = (v if np.isscalar(v) else v[0] for v in (first, last))
    assert last < 0.2 * first, (first, last)


# -- saving and loading ----------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path):
    model = sequence_model(5, 8, 3)
    model.add(SinePositionEncoding(max_wavelength=100.0))
    x = np.random.default_rng(11).normal(size=(4, 5, 3)).astype(np.float32)
    model.layers[2].dropout = 0.0
    path = tmp_path / "seq.tinynet"
    tn.save_model(model, path)
    loaded = tn.load_model(path)
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    att = loaded.layers[2]
    assert (att.num_heads, att.key_dim, att.value_dim, att.causal) == (2, 3, 3, True)
    assert loaded.layers[1].sequence_length == 6 and loaded.layers[-1].max_wavelength == 100.0
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(model.layers, loaded.layers, strict=True):
        for key in a.params:
            np.testing.assert_array_equal(a.params[key], b.params[key])


def test_config_round_trip():
    layer = MultiHeadAttention(3, 4, value_dim=2, dropout=0.1, use_bias=False, causal=True, name="a")
    again = MultiHeadAttention.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    for cls, kwargs in ((PositionalEmbedding, {"sequence_length": 7}), (SinePositionEncoding, {})):
        layer = cls(**kwargs)
        assert cls.from_config(layer.get_config()).get_config() == layer.get_config()
    assert all(name in tn.layers.LAYER_REGISTRY for name in ("MultiHeadAttention", "PositionalEmbedding"))
    assert "SinePositionEncoding" in tn.layers.LAYER_REGISTRY
