"""Backward compatibility of format version 5: the frozen functional model file keeps loading.

Made once by ``make_golden_v5.py``; if a test here fails after a change, the change breaks
version-5 files people already have.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

import tinynet as tn
from tinynet.serialization import inspect_model_file, load_model

from ..rounding import assert_equal_to_rounding
from .make_golden_v5 import NAME

HERE = Path(__file__).resolve().parent
EXPECTED = json.loads((HERE / "expected_v5.json").read_text())[NAME]


def test_golden_v5_file_is_unchanged():
    assert hashlib.sha256((HERE / f"{NAME}.npz").read_bytes()).hexdigest() == EXPECTED["sha256"]


def test_golden_v5_loads_its_graph_and_predicts_the_recorded_outputs():
    model = load_model(HERE / f"{NAME}.npz")
    assert type(model) is tn.Model
    assert [type(layer).registered_name for layer in model.layers] == EXPECTED["layers"]
    assert model.count_params() == EXPECTED["params"]
    config = model.get_config()
    assert config["inputs"] == EXPECTED["inputs"] and config["outputs"] == EXPECTED["outputs"]
    assert [entry["inbound"] for entry in config["layers"]] == EXPECTED["inbound"]
    xs = [np.load(HERE / f"{NAME}_{k}.npy", allow_pickle=False) for k in "ab"]
    assert_equal_to_rounding(model.predict(xs), np.load(HERE / f"{NAME}_y.npy", allow_pickle=False))
    assert model.optimizer is not None and model.optimizer.iterations == 4 and model.epochs_done == 2


def test_golden_v5_inspects_clean():
    info = inspect_model_file(HERE / f"{NAME}.npz")
    assert info.format_version == 5 and info.ok and info.sha256 == EXPECTED["sha256"]
