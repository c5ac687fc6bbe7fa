"""ONNX export of functional models and the sequence layers, run in onnxruntime against model.predict.

Every case: ``onnx.checker`` passes on the exported graph, and onnxruntime's outputs agree with
``model.predict`` to 1e-5 (float32; max absolute difference over every output).  The weights are
random draws away from their initial values (a GRU's two bias rows differ, an LSTM's forget bias is
not 1), the two language models are trained for a few steps.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import tinynet as tn
from tinynet import layers as L

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from tinynet.onnx_export import DEFAULT_OPSET, to_onnx  # noqa: E402
from tinynet.onnx_export._sequence import gate_order, recurrent_weights  # noqa: E402

TOLERANCE = 1e-5
VOCAB = 13  # token ids 0..12
T = 6  # time steps of every sequence case
N = 5  # samples per batch


def session(proto) -> ort.InferenceSession:
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def feeds(proto, xs: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The graph's inputs, in order, in the dtype each takes (int64 token ids, or the model's float)."""
    return {
        info.name: x.astype(onnx.helper.tensor_dtype_to_np_dtype(info.type.tensor_type.elem_type))
        for info, x in zip(proto.graph.input, xs, strict=True)
    }


def max_difference(model, xs: list[np.ndarray], **kwargs) -> float:
    """Max |onnxruntime - predict| over every output; checks the checker, shapes and dtypes on the way."""
    proto = to_onnx(model, **kwargs)
    onnx.checker.check_model(proto, full_check=True)
    expected = model.predict(xs if len(xs) > 1 else xs[0])
    expected = expected if isinstance(expected, list) else [expected]
    got = session(proto).run(None, feeds(proto, xs))
    assert [o.name for o in proto.graph.output] == ["output"] + [f"output_{k}" for k in range(1, len(got))]
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype == model._dtype()
        assert np.all(np.isfinite(a))
    return max(float(np.max(np.abs(a - b))) for a, b in zip(got, expected, strict=True))


def randomize(model, seed: int = 2) -> None:
    """Every parameter redrawn: matrices ~ N(0, 1/fan_in), vectors (biases, norms) ~ N(0, 0.5^2)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for key, value in layer.params.items():
            if key == "embeddings":
                scale = 1.0
            elif value.ndim == 2 and key != "bias":
                scale = 1.0 / np.sqrt(value.shape[0])
            else:
                scale = 0.5
            value[...] = rng.normal(0.0, scale, value.shape)


def ids(rng, shape=(N, T)) -> np.ndarray:
    return rng.integers(0, VOCAB, shape)


def sequences(rng, d: int = 4) -> np.ndarray:
    return rng.normal(0.0, 1.5, (N, T, d)).astype(np.float32)


# --------------------------------------------------------------------------- Sequential cases

# name -> (layers, "ids" or the features per step)
SEQUENTIAL: dict[str, tuple[Callable[[], list], str | int]] = {
    "embedding": (lambda: [L.Embedding(VOCAB, 5, input_shape=(T,))], "ids"),
    "embedding_dense_3d_layernorm_gelu": (
        lambda: [
            L.Embedding(VOCAB, 8, input_shape=(T,)),
            L.Dense(8, activation="gelu"),
            L.LayerNormalization(),
            L.Dense(6, activation="gelu_tanh"),
            L.GELU(approximate=True),
            L.GELU(),
            L.Dense(VOCAB, activation="softmax"),
        ],
        "ids",
    ),
    "dense_3d_no_bias": (lambda: [L.Dense(3, use_bias=False, activation="relu")], 4),
    "layernorm_3d": (lambda: [L.LayerNormalization(epsilon=1e-5)], 4),
    **{
        f"simple_rnn_{act}{'_sequences' if seq else ''}": (
            lambda act=act, seq=seq: [L.SimpleRNN(5, activation=act, return_sequences=seq)],
            4,
        )
        for act in ("tanh", "relu", "sigmoid", "linear")
        for seq in (False, True)
    },
    "simple_rnn_no_bias": (lambda: [L.SimpleRNN(3, use_bias=False)], 4),
    "lstm": (lambda: [L.LSTM(5)], 4),
    "lstm_sequences": (lambda: [L.LSTM(5, return_sequences=True)], 4),
    "lstm_relu": (lambda: [L.LSTM(4, activation="relu")], 4),
    "lstm_linear": (lambda: [L.LSTM(4, activation=None)], 4),
    "lstm_tanh_gates": (lambda: [L.LSTM(4, recurrent_activation="tanh", return_sequences=True)], 4),
    "lstm_no_bias": (lambda: [L.LSTM(3, use_bias=False, return_sequences=True)], 4),
    "gru": (lambda: [L.GRU(5)], 4),
    "gru_sequences": (lambda: [L.GRU(5, return_sequences=True)], 4),
    "gru_relu_tanh_gates": (lambda: [L.GRU(4, activation="relu", recurrent_activation="tanh")], 4),
    "gru_linear": (lambda: [L.GRU(4, activation="linear", return_sequences=True)], 4),
    "gru_no_bias": (lambda: [L.GRU(3, use_bias=False)], 4),
    "stacked_recurrent": (
        lambda: [
            L.LSTM(6, return_sequences=True),
            L.GRU(5, return_sequences=True),
            L.SimpleRNN(4),
            L.Dense(2, activation="softmax"),
        ],
        3,
    ),
    "mha": (lambda: [L.MultiHeadAttention(2, 3)], 4),
    "mha_causal": (lambda: [L.MultiHeadAttention(2, 3, causal=True)], 4),
    "mha_value_dim_no_bias": (lambda: [L.MultiHeadAttention(3, 2, value_dim=4, use_bias=False)], 5),
    "mha_one_head_dropout": (lambda: [L.MultiHeadAttention(1, 4, dropout=0.3, causal=True)], 4),
    "positional_embedding": (lambda: [L.PositionalEmbedding(T + 3)], 4),
    "sine_position_encoding": (lambda: [L.SinePositionEncoding()], 8),
    "sine_position_encoding_odd": (lambda: [L.SinePositionEncoding(max_wavelength=100.0)], 5),
    "embedding_positions_causal_attention": (
        lambda: [
            L.Embedding(VOCAB, 8, input_shape=(T,)),
            L.PositionalEmbedding(T),
            L.MultiHeadAttention(2, 4, causal=True),
            L.Dense(VOCAB),
        ],
        "ids",
    ),
}


@pytest.mark.parametrize("case", sorted(SEQUENTIAL))
def test_sequence_layers_match_predict(case):
    make, kind = SEQUENTIAL[case]
    tn.set_seed(1)
    model = tn.Sequential(make())
    model.build(None if kind == "ids" else (T, kind))
    randomize(model)
    rng = np.random.default_rng(3)
    x = ids(rng) if kind == "ids" else sequences(rng, kind)
    difference = max_difference(model, [x])
    print(f"{case}: {difference:.2g}")
    assert difference <= TOLERANCE


# --------------------------------------------------------------------------- functional cases


def residual():
    x = tn.Input(shape=(6,))
    h = L.Dense(8, activation="relu")(x)
    h = L.Add()([h, L.Dense(8, activation="tanh")(h)])
    return tn.Model(x, L.Dense(3, activation="softmax")(h)), ["float"]


def merges_of_three():
    a, b, c = (tn.Input(shape=(T, 4), name=n) for n in ("a", "b", "c"))
    s = L.Add()([a, b, c])
    p = L.Multiply()([a, b, c])
    joined = L.Concatenate()([s, p, L.Dense(2)(c)])  # (T, 10)
    in_time = L.Concatenate(axis=1)([a, b])  # (2T, 4)
    in_time_negative = L.Concatenate(axis=-2)([s, c])  # (2T, 4)
    return tn.Model([a, b, c], [joined, in_time, in_time_negative]), ["float"] * 3


def two_inputs_two_outputs():
    p, q = tn.Input(shape=(3,), name="p"), tn.Input(shape=(2,), name="q")
    h = L.Dense(6, activation="relu")(p)
    h = L.Add()([h, L.Dropout(0.25)(L.Dense(6, activation="elu")(h))])
    both = L.Concatenate()([h, L.Dense(2)(q)])
    return tn.Model([p, q], [L.Dense(3, activation="softmax")(both), L.Dense(1)(both)]), ["float", "float"]


def states(cls, return_sequences: bool):
    def make():
        x = tn.Input(shape=(T, 4))
        outs = cls(5, return_sequences=return_sequences, return_state=True)(x)
        return tn.Model(x, outs), ["float"]

    return make


def encoder_states():
    """An LSTM encoder whose final states feed a Dense head (a state used inside the graph)."""
    x = tn.Input(shape=(T, 4))
    _, h, c = L.LSTM(5, return_state=True)(x)
    _, g = L.GRU(3, return_state=True)(x)
    return tn.Model(x, L.Dense(2)(L.Concatenate()([h, c, g]))), ["float"]


def attention_with_padding(causal: bool):
    def make():
        x, mask = tn.Input(shape=(T, 4), name="x"), tn.Input(shape=(T,), name="mask")
        y = L.MultiHeadAttention(2, 3, causal=causal)([x, mask])
        return tn.Model([x, mask], y), ["float", "mask"]

    return make


def sine_encoding_added():
    """KerasHub's use: x + SinePositionEncoding()(x)."""
    x = tn.Input(shape=(T, 8))
    return tn.Model(x, L.Add()([x, L.SinePositionEncoding()(x)])), ["float"]


def ids_also_read_as_numbers():
    """An ids input read by a Dense too: the graph takes it as float and casts it for the Embedding."""
    x = tn.Input(shape=(T,))
    return tn.Model(x, [L.Embedding(VOCAB, 3)(x), L.Dense(2)(x)]), ["ids"]


FUNCTIONAL: dict[str, Callable] = {
    "residual": residual,
    "merges_of_three": merges_of_three,
    "two_inputs_two_outputs": two_inputs_two_outputs,
    **{
        f"{cls.__name__.lower()}_return_state{'_sequences' if seq else ''}": states(cls, seq)
        for cls in (L.SimpleRNN, L.LSTM, L.GRU)
        for seq in (False, True)
    },
    "encoder_states": encoder_states,
    "mha_padding_mask": attention_with_padding(False),
    "mha_causal_padding_mask": attention_with_padding(True),
    "sine_encoding_added": sine_encoding_added,
    "ids_also_read_as_numbers": ids_also_read_as_numbers,
}


def functional_inputs(model, kinds: list[str], rng) -> list[np.ndarray]:
    xs = []
    for tensor, kind in zip(model.inputs, kinds, strict=True):
        if kind == "ids":
            xs.append(ids(rng))
        elif kind == "mask":
            # trailing padding, leading padding (with a causal mask: queries that see no key), no
            # padding, and a sample that is all padding
            mask = np.ones((N, T), np.float32)
            mask[0, 4:] = 0
            mask[1, :2] = 0
            mask[3, 1::2] = 0
            mask[4] = 0
            xs.append(mask)
        else:
            xs.append(rng.normal(0.0, 1.5, (N, *tensor.shape)).astype(np.float32))
    return xs


@pytest.mark.parametrize("case", sorted(FUNCTIONAL))
def test_functional_models_match_predict(case):
    tn.set_seed(1)
    model, kinds = FUNCTIONAL[case]()
    randomize(model)
    xs = functional_inputs(model, kinds, np.random.default_rng(3))
    difference = max_difference(model, xs)
    print(f"{case}: {difference:.2g}")
    assert difference <= TOLERANCE


def test_inputs_keep_their_names_and_ids_are_int64():
    tn.set_seed(0)
    model, _ = attention_with_padding(True)()
    proto = to_onnx(model)
    assert [(i.name, i.type.tensor_type.elem_type) for i in proto.graph.input] == [
        ("x", onnx.TensorProto.FLOAT),
        ("mask", onnx.TensorProto.FLOAT),
    ]
    model, _ = ids_also_read_as_numbers()
    assert to_onnx(model).graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    gpt, _ = tiny_gpt()
    dims = to_onnx(gpt).graph.input[0].type.tensor_type
    assert dims.elem_type == onnx.TensorProto.INT64
    assert dims.shape.dim[0].dim_param == "batch" and dims.shape.dim[1].dim_value == T


def test_fully_padded_queries_get_the_output_bias():
    """A query that sees no key (leading padding under a causal mask) outputs b_o, as in tinynet."""
    tn.set_seed(0)
    model, kinds = attention_with_padding(True)()
    randomize(model)
    x, mask = functional_inputs(model, kinds, np.random.default_rng(0))
    proto = to_onnx(model)
    got = session(proto).run(None, feeds(proto, [x, mask]))[0]
    bo = model.layers[0].params["bo"]
    np.testing.assert_allclose(got[1, :2], np.broadcast_to(bo, (2, 4)), rtol=0, atol=1e-6)
    np.testing.assert_allclose(got[4], np.broadcast_to(bo, (T, 4)), rtol=0, atol=1e-6)


# --------------------------------------------------------------------------- the weight layouts


def test_gate_orders():
    """Keras' LSTM blocks [i, f, c, o] become ONNX's [i, o, f, c]; the GRU's [z, r, h] stay; biases split."""
    blocks = np.concatenate([np.full((2, 3), k) for k in range(4)], axis=1)  # block k holds k
    assert gate_order(blocks, [0, 3, 1, 2])[0].tolist() == [0] * 3 + [3] * 3 + [1] * 3 + [2] * 3
    tn.set_seed(0)
    lstm, gru = L.LSTM(3), L.GRU(3)
    lstm.build((T, 2))
    gru.build((T, 2))
    rng = np.random.default_rng(0)
    for layer in (lstm, gru):
        for value in layer.params.values():
            value[...] = rng.normal(size=value.shape)
    W, R, B = recurrent_weights(lstm)
    k = lstm.params["kernel"]
    assert W.shape == (1, 12, 2) and R.shape == (1, 12, 3) and B.shape == (1, 24)
    np.testing.assert_array_equal(W[0, 3:6], k[:, 9:12].T)  # ONNX's o block is Keras' 4th
    np.testing.assert_array_equal(W[0, 6:9], k[:, 3:6].T)  # ONNX's f block is Keras' 2nd
    np.testing.assert_array_equal(B[0, 12:], 0.0)  # Rb: Keras' LSTM has a single bias
    W, R, B = recurrent_weights(gru)
    np.testing.assert_array_equal(W[0], gru.params["kernel"].T)
    np.testing.assert_array_equal(B[0], gru.params["bias"].reshape(-1))  # [Wb, Rb] = Keras' two rows


def test_recurrent_attributes():
    tn.set_seed(0)
    model = tn.Sequential([L.LSTM(4, activation=None, input_shape=(T, 2)), L.Dense(1)])
    model.build()
    node = next(n for n in to_onnx(model).graph.node if n.op_type == "LSTM")
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attrs["activations"] == [b"Sigmoid", b"Affine", b"Affine"]
    assert attrs["activation_alpha"] == [1.0, 1.0] and attrs["activation_beta"] == [0.0, 0.0]
    assert attrs.get("layout", 0) == 0  # time-major: onnxruntime refuses layout=1
    gru = tn.Sequential([L.GRU(4, input_shape=(T, 2))])
    gru.build()
    node = next(n for n in to_onnx(gru).graph.node if n.op_type == "GRU")
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attrs["linear_before_reset"] == 1 and attrs["activations"] == [b"Sigmoid", b"Tanh"]


# --------------------------------------------------------------------------- the two language models

TEXT = (
    "the quick brown fox jumps over the lazy dog while the cat sleeps by the fire and the bird sings "
    "in the old oak tree until the sun goes down behind the hill"
)


def char_windows() -> tuple[np.ndarray, np.ndarray, int]:
    """Next-character windows of TEXT: ids (n, T) and targets (n, T) (every position predicts the next)."""
    chars = sorted(set(TEXT))
    codes = np.array([chars.index(c) for c in TEXT])
    starts = np.arange(0, len(codes) - T - 1, 2)
    x = np.stack([codes[s : s + T] for s in starts])
    y = np.stack([codes[s + 1 : s + T + 1] for s in starts])
    return x, y, len(chars)


def tiny_gpt(sine: bool = False, gelu: str = "gelu"):
    """Embedding + positions, one pre-norm causal attention block with a GELU MLP, a softmax head."""
    _, _, vocab = char_windows()
    d = 16
    ids_in = tn.Input(shape=(T,), name="tokens")
    h = L.Embedding(vocab, d)(ids_in)
    h = L.Add()([h, L.SinePositionEncoding()(h)]) if sine else L.PositionalEmbedding(T)(h)
    a = L.MultiHeadAttention(2, d // 2, causal=True)(L.LayerNormalization()(h))
    h = L.Add()([h, a])
    m = L.Dense(d)(L.Dense(4 * d, activation=gelu)(L.LayerNormalization()(h)))
    h = L.Add()([h, m])
    y = L.Dense(vocab, activation="softmax")(L.LayerNormalization()(h))
    return tn.Model(ids_in, y, name="tiny_gpt"), ["ids"]


def recurrent_text_model():
    _, _, vocab = char_windows()
    model = tn.Sequential(
        [
            L.Embedding(vocab, 8, input_shape=(T,)),
            L.LSTM(16, return_sequences=True),
            L.GRU(16, return_sequences=True),
            L.Dense(vocab, activation="softmax"),
        ],
        name="lstm_gru_text",
    )
    return model, ["ids"]


def trained(make: Callable, **kwargs):
    tn.set_seed(0)
    model, _ = make(**kwargs)
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y, _ = char_windows()
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    return model, x


@pytest.mark.parametrize(
    "make, kwargs",
    [(tiny_gpt, {}), (tiny_gpt, {"sine": True, "gelu": "gelu_tanh"}), (recurrent_text_model, {})],
    ids=["tiny_gpt", "tiny_gpt_sine", "lstm_gru_text"],
)
def test_language_models_match_predict(make, kwargs, tmp_path):
    model, x = trained(make, **kwargs)
    difference = max_difference(model, [x])
    print(f"{make.__name__}{kwargs}: {difference:.2g}")
    assert difference <= TOLERANCE
    path = tmp_path / "lm.onnx"  # the file too, and through a saved model and the CLI
    tn.export_onnx(model, path)
    onnx.checker.check_model(str(path), full_check=True)
    from tinynet.cli import main

    tn.save_model(model, tmp_path / "lm.npz")
    assert main(["export", str(tmp_path / "lm.npz"), str(tmp_path / "cli.onnx")]) == 0
    proto = onnx.load(str(tmp_path / "cli.onnx"))
    got = session(proto).run(None, feeds(proto, [x]))[0]
    assert float(np.max(np.abs(got - model.predict(x)))) <= TOLERANCE


def test_a_later_opset():
    tn.set_seed(0)
    model, kinds = tiny_gpt()
    randomize(model)
    xs = functional_inputs(model, kinds, np.random.default_rng(0))
    assert max_difference(model, xs, opset=21) <= TOLERANCE
    assert [o.version for o in to_onnx(model, opset=21).opset_import] == [21]
    assert [o.version for o in to_onnx(model).opset_import] == [DEFAULT_OPSET]


def test_token_ids_are_not_validated_by_the_graph():
    """The documented limit: onnxruntime's Gather fails on ids >= V and wraps negative ids (tinynet refuses both)."""
    tn.set_seed(0)
    model = tn.Sequential([L.Embedding(VOCAB, 3, input_shape=(2,))])
    model.build()
    proto = to_onnx(model)
    run = session(proto).run
    E = model.layers[0].params["embeddings"]
    np.testing.assert_array_equal(run(None, {"input": np.array([[-1, 0]])})[0][0, 0], E[-1])
    with pytest.raises(Exception, match="out of data bounds"):
        run(None, {"input": np.array([[VOCAB, 0]])})
    with pytest.raises(ValueError, match="token ids"):
        model.predict(np.array([[-1, 0]]))


def test_float64_graphs(float64):
    """float64 attention runs in onnxruntime; float64 recurrent graphs are valid ONNX that it cannot run."""
    for make, kwargs in ((tiny_gpt, {"sine": True, "gelu": "gelu_tanh"}), (attention_with_padding(True), {})):
        tn.set_seed(0)
        model, kinds = make(**kwargs)  # the tanh GELU: onnxruntime has no float64 Erf (the exact GELU's)
        # epsilons that float32 holds exactly: ONNX keeps the attribute as a float32
        for layer in model.layers:
            if isinstance(layer, L.LayerNormalization):
                layer.epsilon = 2.0**-10
        randomize(model)
        xs = functional_inputs(model, kinds, np.random.default_rng(0))
        xs = [x.astype(np.float64) if x.dtype == np.float32 else x for x in xs]
        proto = to_onnx(model)
        got = session(proto).run(None, feeds(proto, xs))[0]
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, model.predict(xs if len(xs) > 1 else xs[0]), rtol=0, atol=1e-10)
    lstm = tn.Sequential([L.LSTM(3, input_shape=(T, 2))])
    lstm.build()
    proto = to_onnx(lstm)  # checked by onnx.checker inside
    with pytest.raises(Exception, match="double|implementation"):
        session(proto).run(None, {"input": np.zeros((1, T, 2))})


@tn.register_layer
class Halver(L.Layer):
    def forward(self, x, training=False):
        return x / 2

    def backward(self, grad_output):
        return grad_output / 2


def test_a_functional_model_with_a_layer_without_mapping_is_named():
    x = tn.Input(shape=(3,))
    h = L.Dense(3)(x)
    model = tn.Model(x, L.Add()([h, Halver(name="half")(h)]))
    with pytest.raises(ValueError, match=r"layer 'half' \(Halver\) has no ONNX mapping"):
        to_onnx(model)


def test_import_tinynet_does_not_import_onnx():
    import subprocess
    import sys

    code = (
        "import sys, tinynet, tinynet.onnx_export; tinynet.export_onnx; "
        "assert not {'onnx', 'onnxruntime'} & set(sys.modules), 'onnx imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
