"""Backward compatibility of format version 3: the frozen quantized file with a model card keeps loading.

Made once by ``make_golden_v3.py``; if a test here fails after a change, the change breaks
version-3 files people already have.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

import tinynet as tn
from tinynet.serialization import inspect_model_file, load_model

from ..rounding import assert_equal_to_rounding
from .make_golden_v3 import NAME

HERE = Path(__file__).resolve().parent
EXPECTED = json.loads((HERE / "expected_v3.json").read_text())[NAME]


def test_golden_v3_file_is_unchanged():
    assert hashlib.sha256((HERE / f"{NAME}.npz").read_bytes()).hexdigest() == EXPECTED["sha256"]


def test_golden_v3_loads_dequantizes_and_predicts_the_recorded_outputs():
    model = load_model(HERE / f"{NAME}.npz")
    assert [type(layer).registered_name for layer in model.layers] == EXPECTED["layers"]
    assert model.count_params() == EXPECTED["params"] and model.quantized
    with np.load(HERE / f"{NAME}.npz", allow_pickle=False) as npz:
        for index, key in (k.split("/") for k in EXPECTED["quantized"]):
            layer = model.layers[int(index)]
            prefix = f"layers/{int(index):02d}_{layer.name}/{key}"
            q, scale = npz[prefix], npz[prefix + ".scale"]
            assert q.dtype == np.int8 and scale.dtype == np.float32
            axis = 0 if type(layer).registered_name == "Conv2D" else 1
            shape = [1] * q.ndim
            shape[axis] = -1
            # the loaded kernel is exactly q * s (one float32 product of exact factors)
            np.testing.assert_array_equal(layer.params[key], q.astype(np.float32) * scale.reshape(shape))
    x = np.load(HERE / f"{NAME}_x.npy", allow_pickle=False)
    assert_equal_to_rounding(model.predict(x), np.load(HERE / f"{NAME}_y.npy", allow_pickle=False))
    card = model.card
    assert card.to_json() == EXPECTED["card"]
    assert card.data_sha256 == tn.ModelCard.sha256_of(x)


def test_golden_v3_inspects_clean():
    info = inspect_model_file(HERE / f"{NAME}.npz")
    assert info.format_version == 3 and info.ok and info.sha256 == EXPECTED["sha256"]
    assert info.quantized == EXPECTED["quantized"] and info.card == EXPECTED["card"]
