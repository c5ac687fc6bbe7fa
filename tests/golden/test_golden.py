"""Backward compatibility: the frozen format-version-1 files keep loading and predicting what they did.

The files were made once by ``make_golden.py`` (see its docstring, also for why
the recorded outputs are exact on any machine).  If one of these tests fails
after a change to tinynet, the change breaks files people already have.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn
from tinynet.serialization import inspect_model_file, load_model, load_weights

from .make_golden import NAMES, GoldenScale

HERE = Path(__file__).resolve().parent
EXPECTED = json.loads((HERE / "expected.json").read_text())


def test_golden_files_are_small_and_unchanged():
    files = [p for p in HERE.iterdir() if p.suffix in (".npz", ".npy", ".json")]
    assert sum(p.stat().st_size for p in files) < 50_000
    for name in NAMES:
        digest = hashlib.sha256((HERE / f"{name}.npz").read_bytes()).hexdigest()
        assert digest == EXPECTED[name]["sha256"], f"{name}.npz was modified: golden files are frozen"


@pytest.mark.parametrize("name", NAMES)
def test_golden_files_load_and_predict_the_recorded_outputs(name):
    expected = EXPECTED[name]
    model = load_model(HERE / f"{name}.npz")
    assert [type(layer).registered_name for layer in model.layers] == expected["layers"]
    assert model.count_params() == expected["params"]
    x = np.load(HERE / f"{name}_x.npy", allow_pickle=False)
    y = np.load(HERE / f"{name}_y.npy", allow_pickle=False)
    prediction = model.predict(x)
    assert prediction.dtype == y.dtype == np.float32
    np.testing.assert_array_equal(prediction, y)
    if expected["kind"] == "model":
        assert model.epochs_done == expected["epochs_done"]
        assert model.optimizer.iterations == expected["optimizer_iterations"]
    else:
        assert model.loss is None and model.epochs_done == 0


@pytest.mark.parametrize("name", NAMES)
def test_golden_files_inspect_clean(name):
    info = inspect_model_file(HERE / f"{name}.npz")
    assert info.format_version == 1 and info.checksums_ok
    assert info.sha256 == EXPECTED[name]["sha256"]
    assert [layer.class_name for layer in info.layers] == EXPECTED[name]["layers"]


@pytest.mark.parametrize("name", ["mlp_v1", "activations_v1"])
def test_golden_models_go_on_training(name):
    model = load_model(HERE / f"{name}.npz")
    x = np.load(HERE / f"{name}_x.npy")
    target = model.predict(x)
    before = model.optimizer.iterations
    model.fit(x, target, epochs=1, batch_size=4, verbose=0)
    assert model.optimizer.iterations == before + 2
    assert model.epochs_done == EXPECTED[name]["epochs_done"] + 1


def test_golden_weights_file_loads_into_a_model_of_the_same_architecture():
    tn.set_seed(0)
    model = tn.Sequential([GoldenScale(input_shape=(3,)), tn.layers.Dense(2, activation="sigmoid")])
    load_weights(model, HERE / "custom_weights_v1.npz")
    x = np.load(HERE / "custom_weights_v1_x.npy")
    np.testing.assert_array_equal(model.predict(x), np.load(HERE / "custom_weights_v1_y.npy"))
