"""Backward compatibility: the frozen format-version-1 files keep loading and predicting what they did.

The files were made once by ``make_golden.py``.  If one of these tests fails
after a change to tinynet, the change breaks files people already have.

What is compared how (docs/faq.md, "Bit for bit"): every array stored in a file is
loaded bit for bit (the file holds those bits); the outputs predicted from it are
compared with the recorded ones to float32 rounding (``tests/rounding.py``), since
they were computed once, by one NumPy on one machine, and another NumPy, processor
or tinynet may round an ``exp`` or a ``tanh`` differently.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn
from tinynet.serialization import inspect_model_file, load_model, load_weights

from ..rounding import assert_equal_to_rounding
from .make_golden import NAMES, GoldenScale

HERE = Path(__file__).resolve().parent
EXPECTED = json.loads((HERE / "expected.json").read_text())


def stored_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array a golden file stores (its manifest aside), as numpy reads it."""
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files if name != "manifest"}


def loaded_arrays(model: tn.Sequential) -> dict[str, np.ndarray]:
    """The model's arrays under the names of the file format (docs/file-format.md)."""
    arrays = {}
    for i, layer in enumerate(model.layers):
        prefix = f"layers/{i:02d}_{layer.name}"
        arrays.update({f"{prefix}/{key}": value for key, value in layer.params.items()})
        arrays.update({f"{prefix}/state/{key}": value for key, value in layer.state.items()})
        if model.optimizer is not None:
            for key in layer.params:
                for slot, value in model.optimizer.state.get(f"{layer.name}/{key}", {}).items():
                    arrays[f"optimizer/{i:02d}_{layer.name}/{key}/{slot}"] = value
    return arrays


def test_golden_files_are_small_and_unchanged():
    files = [p for p in HERE.iterdir() if p.suffix in (".npz", ".npy", ".json")]
    # 50_000 before the version-6 (1.7 kB) and version-7 (6.6 kB) files
    assert sum(p.stat().st_size for p in files) < 60_000
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
    stored, loaded = stored_arrays(HERE / f"{name}.npz"), loaded_arrays(model)
    assert sorted(loaded) == sorted(stored)
    for key, value in stored.items():  # the bits the file holds
        assert loaded[key].dtype == value.dtype, key
        np.testing.assert_array_equal(loaded[key], value, err_msg=key)
    prediction = model.predict(x)
    assert prediction.dtype == y.dtype == np.float32
    assert_equal_to_rounding(prediction, y)  # computed by one NumPy on one machine
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
    stored, loaded = stored_arrays(HERE / "custom_weights_v1.npz"), loaded_arrays(model)
    assert sorted(loaded) == sorted(stored)
    for key, value in stored.items():
        np.testing.assert_array_equal(loaded[key], value, err_msg=key)
    x = np.load(HERE / "custom_weights_v1_x.npy")
    assert_equal_to_rounding(model.predict(x), np.load(HERE / "custom_weights_v1_y.npy"))


@pytest.mark.parametrize("name", ["mlp_v1", "activations_v1"])
def test_the_golden_tolerance_sees_a_weight_moved_by_2_to_the_minus_10(name):
    # the comparison to rounding must still catch a real change: one output bias moved by 2**-10
    # (a quarter of a unit of the 2**-6 grid of the stored weights) moves an output by 90 (mlp) to
    # 150 (activations) times the tolerance
    model = load_model(HERE / f"{name}.npz")
    x, y = np.load(HERE / f"{name}_x.npy"), np.load(HERE / f"{name}_y.npy")
    dense = [layer for layer in model.layers if "b" in layer.params][-1]
    dense.params["b"][0] += 2.0**-10
    with pytest.raises(AssertionError):
        assert_equal_to_rounding(model.predict(x), y)
