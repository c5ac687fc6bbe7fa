"""Functional models (tn.Model) in model files: format version 5, round trip, exact resume, the CLI."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn
from tinynet.cli import main
from tinynet.layers import Add, Dense
from tinynet.serialization import ModelFileError

from .helpers import edit_manifest

ROOT = Path(__file__).resolve().parents[2]

BUILD = """
import numpy as np
import tinynet as tn
from tinynet.layers import Add, Concatenate, Dense, Dropout


def make_model():
    tn.set_seed(11)
    p, q = tn.Input(shape=(3,), name="p"), tn.Input(shape=(2,), name="q")
    h = Dense(6, activation="relu")(p)
    r = Dropout(0.25)(Dense(6, activation="tanh")(h))
    h = Add()([h, r])
    y = Dense(3, activation="softmax")(Concatenate()([h, Dense(2)(q)]))
    model = tn.Model([p, q], y, name="two_inputs")
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    return model


def data():
    rng = np.random.default_rng(5)
    p, q = rng.normal(size=(50, 3)), rng.normal(size=(50, 2))
    y = tn.datasets.one_hot((p[:, 0] + q[:, 0] > 0).astype(int) + (p[:, 1] > 1), 3)
    return [p, q], y
"""

namespace: dict = {}
exec(compile(BUILD, "<build>", "exec"), namespace)
make_model, data = namespace["make_model"], namespace["data"]


def single_input_model():
    tn.set_seed(2)
    x = tn.Input(shape=(3,))
    h = Dense(4, activation="relu")(x)
    y = Dense(2, activation="softmax")(Add()([h, Dense(4)(h)]))
    model = tn.Model(x, y)
    model.compile("adam", "categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(20, 3)), tn.datasets.one_hot(rng.integers(0, 2, 20), 2), epochs=1, verbose=0)
    return model


def test_round_trip_and_format_version(tmp_path):
    model = make_model()
    x, y = data()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    model.save(tmp_path / "m.npz")
    again = tn.load_model(tmp_path / "m.npz")
    assert type(again) is tn.Model and again.name == "two_inputs"
    assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]
    assert [t.name for t in again.inputs] == ["p", "q"]
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    assert again.get_config() == model.get_config()
    assert again.optimizer.iterations == model.optimizer.iterations
    info = tn.serialization.inspect_model_file(tmp_path / "m.npz")
    assert info.format_version == 5 and info.manifest["model"]["class_name"] == "Model"
    assert "Graph       functional; inputs p (3,), q (2,); outputs dense_3" in str(info)


def test_a_sequential_file_keeps_its_version(tmp_path):
    model = tn.Sequential([tn.Input(shape=(2,)), Dense(1)])
    model.save(tmp_path / "s.npz")
    assert tn.serialization.inspect_model_file(tmp_path / "s.npz").format_version == 1


def test_resuming_in_a_new_process_equals_training_without_stopping(tmp_path):
    x, y = data()
    first = make_model()
    history_first = first.fit(x, y, epochs=2, batch_size=16, verbose=0).history
    first.save(tmp_path / "half.npz")
    script = BUILD + textwrap.dedent(
        f"""
        import json
        model = tn.load_model({str(tmp_path / "half.npz")!r})
        x, y = data()
        history = model.fit(x, y, epochs=2, batch_size=16, verbose=0).history
        np.savez({str(tmp_path / "weights.npz")!r}, *model.get_weights())
        with open({str(tmp_path / "history.json")!r}, "w") as f:
            json.dump(history, f)
        """
    )
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    straight = make_model()
    history = straight.fit(x, y, epochs=4, batch_size=16, verbose=0).history
    with np.load(tmp_path / "weights.npz") as saved:
        resumed = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    for got, want in zip(resumed, straight.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    second = json.loads((tmp_path / "history.json").read_text())
    for key in history:
        assert history_first[key] + second[key] == history[key], key


def test_a_graph_that_refers_to_nothing_is_refused(tmp_path):
    make_model().save(tmp_path / "m.npz")

    def edit(manifest):
        manifest["model"]["graph"]["inbound"][1] = ["nowhere", 0]

    (tmp_path / "bad.npz").write_bytes(edit_manifest((tmp_path / "m.npz").read_bytes(), edit))
    with pytest.raises(ModelFileError, match=r"layers\[1\].inbound refers to \['nowhere', 0\]"):
        tn.load_model(tmp_path / "bad.npz")


def test_cli_predict_and_inspect_on_a_functional_model(tmp_path, capsys):
    model = single_input_model()
    model.save(tmp_path / "f.npz")
    x = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert (
        main(
            [
                "predict",
                str(tmp_path / "f.npz"),
                "--input",
                str(tmp_path / "x.npy"),
                "--output",
                str(tmp_path / "y.npy"),
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), model.predict(x))
    assert main(["inspect", str(tmp_path / "f.npz")]) == 0
    out = capsys.readouterr().out
    assert "version 5" in out and "Graph       functional; inputs input (3,)" in out


def test_cli_predict_refuses_a_model_with_several_inputs(tmp_path, capsys):
    make_model().save(tmp_path / "m.npz")
    np.save(tmp_path / "x.npy", np.zeros((2, 3), np.float32))
    status = main(["predict", str(tmp_path / "m.npz"), "--input", str(tmp_path / "x.npy")])
    assert status == 1
    assert "2 inputs and 1 outputs; tinynet predict reads one array" in capsys.readouterr().err


def test_the_spec_documents_the_graph_fields(tmp_path):
    spec = (ROOT / "docs" / "file-format.md").read_text(encoding="utf-8")
    make_model().save(tmp_path / "m.npz")
    graph = tn.serialization.inspect_model_file(tmp_path / "m.npz").manifest["model"]["graph"]
    assert not [key for key in (*graph, "graph", "inputs", "name", "shape") if f"`{key}`" not in spec]
    assert '`"Model"`' in spec and "| 5 |" in spec


def test_serving_refuses_what_it_cannot_handle():
    from tinynet.serving import make_wsgi_app, model_metadata

    model = single_input_model()
    metadata = model_metadata(model)
    assert [layer["output_shape"] for layer in metadata["model"]["layers"]][-1] == [2]
    make_wsgi_app(model)  # one input, one output: served
    with pytest.raises(ValueError, match="2 inputs and 1 outputs"):
        make_wsgi_app(make_model())


def test_functional_model_files_export_to_onnx(tmp_path):
    """A saved functional model (one input, and two named inputs) exports, and onnxruntime agrees."""
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(1)
    for model, xs in (
        (single_input_model(), [rng.normal(size=(6, 3))]),
        (make_model(), data()[0]),
    ):
        model.save(tmp_path / "m.npz")
        assert main(["export", str(tmp_path / "m.npz"), str(tmp_path / "m.onnx")]) == 0
        session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        assert names == [t.name for t in model.inputs]
        got = session.run(None, {n: np.asarray(x, np.float32) for n, x in zip(names, xs, strict=True)})[0]
        expected = model.predict(xs if len(xs) > 1 else xs[0])
        assert float(np.max(np.abs(got - expected))) <= 1e-5
