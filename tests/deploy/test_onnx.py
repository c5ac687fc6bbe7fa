"""ONNX export: every built-in layer, run in onnxruntime, agrees with model.predict to 1e-5 (float32)."""

from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn
from tinynet import layers as L

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from tinynet.onnx_export import DEFAULT_OPSET, to_onnx  # noqa: E402

from .trained import digits_cnn, pima_model  # noqa: E402

TOLERANCE = 1e-5


def run_onnx(path_or_proto, x: np.ndarray) -> np.ndarray:
    source = path_or_proto if isinstance(path_or_proto, str) else path_or_proto.SerializeToString()
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def max_difference(model, x: np.ndarray, **kwargs) -> float:
    proto = to_onnx(model, **kwargs)
    onnx.checker.check_model(proto, full_check=True)
    expected = model.predict(x)
    got = run_onnx(proto, x)
    assert got.shape == expected.shape and got.dtype == expected.dtype == np.float32
    return float(np.max(np.abs(got - expected)))


def _randomize(model, rng) -> None:
    """Weights, BatchNorm statistics and norm parameters away from their initial values."""
    for layer in model.layers:
        for key, value in layer.params.items():
            fan_in = max(
                1, value.size // value.shape[-1] if key == "W" and value.ndim == 2 else value[0].size
            )
            value[...] = rng.normal(0.0, 1.0 / np.sqrt(fan_in), value.shape)
        if "moving_mean" in layer.state:
            layer.state["moving_mean"][...] = rng.normal(0.0, 1.0, layer.state["moving_mean"].shape)
            layer.state["moving_variance"][...] = rng.uniform(0.2, 3.0, layer.state["moving_variance"].shape)


ACTIVATIONS = ["relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax", "softplus", "gelu", "linear", None]

CASES = {
    **{f"dense_{a}": (lambda a=a: [L.Dense(5, activation=a)], (4,)) for a in ACTIVATIONS},
    "dense_no_bias": (lambda: [L.Dense(3, use_bias=False)], (4,)),
    "dense_3d_input": (lambda: [L.Dense(3, activation="tanh")], (2, 4)),
    **{
        f"activation_{a}": (lambda a=a: [L.Dense(6), L.Activation(a)], (4,))
        for a in ACTIVATIONS
        if a is not None
    },
    "activation_layers": (
        lambda: [L.Dense(6), L.LeakyReLU(0.2), L.ELU(0.7), L.GELU(), L.Softplus(), L.Tanh(), L.Softmax()],
        (4,),
    ),
    "leaky_relu_alpha": (lambda: [L.Dense(6, activation=L.LeakyReLU(0.3))], (4,)),
    "dropout_batchnorm_dense": (lambda: [L.Dense(6), L.Dropout(0.4), L.BatchNormalization(), L.ReLU()], (4,)),
    "batchnorm_conv": (lambda: [L.Conv2D(3, 3), L.BatchNormalization(epsilon=1e-3)], (2, 6, 6)),
    "conv_valid": (lambda: [L.Conv2D(4, 3, activation="relu")], (2, 7, 6)),
    "conv_same_stride2": (lambda: [L.Conv2D(3, 3, strides=2, padding="same")], (2, 7, 8)),
    "conv_same_even_kernel": (lambda: [L.Conv2D(3, (2, 4), strides=(1, 3), padding="same")], (1, 5, 9)),
    "conv_int_padding": (lambda: [L.Conv2D(2, (3, 2), strides=(2, 1), padding=2, use_bias=False)], (3, 5, 5)),
    "conv_gelu": (lambda: [L.Conv2D(2, 1, activation="gelu")], (2, 3, 3)),
    "maxpool": (lambda: [L.MaxPool2D(2)], (2, 7, 6)),
    "maxpool_overlapping": (lambda: [L.MaxPool2D(3, strides=(1, 2))], (2, 7, 6)),
    "avgpool": (lambda: [L.AvgPool2D((2, 3), strides=(2, 1))], (3, 6, 7)),
    "global_average_pooling": (lambda: [L.GlobalAveragePooling2D(), L.Dense(2)], (3, 4, 5)),
    "conv_flatten_dense": (lambda: [L.Conv2D(3, 3, padding="same"), L.Flatten(), L.Dense(4)], (2, 5, 4)),
    "reshape_to_images": (lambda: [L.Reshape((1, 4, -1)), L.Conv2D(2, 2), L.Flatten()], (12,)),
    "reshape_layernorm": (
        lambda: [L.Reshape((3, 4)), L.LayerNormalization(epsilon=1e-3), L.Flatten()],
        (12,),
    ),
    "layernorm_dense": (lambda: [L.Dense(8), L.LayerNormalization(), L.Dense(2, activation="softmax")], (5,)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_layer_matches_predict_in_onnxruntime(case):
    make, shape = CASES[case]
    tn.set_seed(1)
    model = tn.Sequential(make())
    model.build(shape)
    rng = np.random.default_rng(2)
    _randomize(model, rng)
    x = rng.normal(0.0, 2.0, (7, *shape)).astype(np.float32)
    assert max_difference(model, x) <= TOLERANCE


@pytest.mark.parametrize("name", [a for a in ACTIVATIONS if a is not None])
def test_activations_at_extreme_inputs(name):
    """Softplus, sigmoid, softmax and GELU must not overflow in the graph either."""
    model = tn.Sequential([L.Activation(name)])
    model.build((6,))
    x = np.array(
        [[-100.0, -40.0, -1e-3, 0.0, 40.0, 100.0], [88.0, 89.0, -88.0, -89.0, 1.0, -1.0]], np.float32
    )
    assert max_difference(model, x) <= TOLERANCE


@pytest.mark.slow
def test_seed_model_and_digits_cnn_match_predict(tmp_path):
    for make in (pima_model, digits_cnn):
        model, x, _ = make()
        path = tmp_path / "model.onnx"
        tn.export_onnx(model, path)
        onnx.checker.check_model(str(path), full_check=True)
        difference = float(np.max(np.abs(run_onnx(str(path), x) - model.predict(x))))
        print(f"{make.__name__}: max |onnxruntime - predict| = {difference:.3g}")
        assert difference <= TOLERANCE


def test_declares_the_opset_and_a_dynamic_batch():
    model = tn.Sequential([L.Dense(2, input_dim=3)])
    proto = to_onnx(model)
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", DEFAULT_OPSET)] == [("", 17)]
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3]
    assert [o.version for o in to_onnx(model, opset=19).opset_import] == [19]
    x = np.ones((11, 3), np.float32)
    np.testing.assert_allclose(run_onnx(proto, x), model.predict(x), atol=TOLERANCE)


@pytest.mark.parametrize("opset", [16, 10**6, 17.0, True])
def test_refuses_an_opset_out_of_range(opset):
    with pytest.raises(ValueError, match="opset"):
        to_onnx(tn.Sequential([L.Dense(2, input_dim=3)]), opset=opset)


@tn.register_layer
class Doubler(L.Layer):
    def forward(self, x, training=False):
        return 2 * x

    def backward(self, grad_output):
        return 2 * grad_output


class MyDense(L.Dense):
    pass


@pytest.mark.parametrize("custom", [lambda: Doubler(name="twice"), lambda: MyDense(2, name="twice")])
def test_a_layer_without_mapping_is_named(custom, tmp_path):
    model = tn.Sequential([L.Dense(3, input_dim=2), custom()])
    path = tmp_path / "m.onnx"
    with pytest.raises(ValueError, match=r"layer 'twice' \((Doubler|MyDense)\) has no ONNX mapping"):
        tn.export_onnx(model, path)
    assert not path.exists()


def test_an_unbuilt_model_is_refused():
    with pytest.raises(ValueError, match="built"):
        to_onnx(tn.Sequential([L.Dense(2)]))


def test_cli_export(tmp_path):
    from tinynet.cli import main

    model = tn.Sequential([L.Dense(4, input_dim=3, activation="relu"), L.Dense(2, activation="softmax")])
    source, target = tmp_path / "m.npz", tmp_path / "m.onnx"
    tn.save_model(model, source)
    assert main(["export", str(source), str(target)]) == 0
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(str(target), x), model.predict(x), atol=TOLERANCE)
    assert main(["export", str(source), str(tmp_path / "o.onnx"), "--opset", "18"]) == 0
    assert onnx.load(str(tmp_path / "o.onnx")).opset_import[0].version == 18


def test_cli_export_errors(tmp_path, capsys):
    from tinynet.cli import main

    model = tn.Sequential([L.Dense(4, input_dim=3)])
    source = tmp_path / "m.npz"
    tn.save_model(model, source)
    assert main(["export", str(tmp_path / "missing.npz"), str(tmp_path / "x.onnx")]) == 1
    assert "tinynet export: error:" in capsys.readouterr().err
    (tmp_path / "bad.npz").write_bytes(b"not a zip\x1b")
    assert main(["export", str(tmp_path / "bad.npz"), str(tmp_path / "x.onnx")]) == 1
    assert main(["export", str(source), str(tmp_path / "no" / "such" / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "\x1b" not in err
    assert main(["export", str(source), str(tmp_path / "x.onnx"), "--opset", "3"]) == 2
    assert "opset" in capsys.readouterr().err


def test_a_float64_model_exports_in_float64(float64):
    tn.set_seed(0)
    model = tn.Sequential([L.Dense(4, input_dim=3, activation="gelu"), L.LayerNormalization(), L.Dense(2)])
    model.build()
    proto = to_onnx(model)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    x = np.random.default_rng(0).normal(size=(5, 3))
    got = run_onnx(proto, x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, model.predict(x), rtol=0, atol=1e-10)


def test_cli_export_names_a_layer_without_mapping(tmp_path, capsys):
    from tinynet.cli import main

    model = tn.Sequential([L.Dense(3, input_dim=2), Doubler(name="twice")])
    tn.save_model(model, tmp_path / "m.npz")
    assert main(["export", str(tmp_path / "m.npz"), str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert "layer 'twice' (Doubler) has no ONNX mapping" in err and "Traceback" not in err
    assert not (tmp_path / "m.onnx").exists()
