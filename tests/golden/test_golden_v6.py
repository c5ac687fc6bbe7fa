"""Backward compatibility of format version 6: the frozen packed quantized file keeps loading.

Made once by ``make_golden_v6.py``; if a test here fails after a change, the change breaks
version-6 files people already have.
"""

import base64
import hashlib
import json
from pathlib import Path

import numpy as np

from tinynet.serialization import inspect_model_file, load_model

from ..rounding import assert_equal_to_rounding
from ..serialization.packing import unpack
from .make_golden_v6 import NAME

HERE = Path(__file__).resolve().parent
EXPECTED = json.loads((HERE / "expected_v6.json").read_text())[NAME]


def test_golden_v6_file_is_unchanged():
    assert hashlib.sha256((HERE / f"{NAME}.npz").read_bytes()).hexdigest() == EXPECTED["sha256"]


def test_golden_v6_is_packed_as_recorded():
    manifest, arrays = unpack((HERE / f"{NAME}.npz").read_bytes())
    assert manifest["format_version"] == 6 and manifest["arrays"] == []
    layout = [[e["name"], e["dtype"], e["shape"], e["offset"]] for e in manifest["packed"]["arrays"]]
    assert layout == EXPECTED["packed"]
    buffer = base64.b64decode(manifest["packed"]["data"])
    assert len(buffer) == 104 and buffer[78:80] == b"\0\0"  # the padding before the dense scales
    assert hashlib.sha256(buffer).hexdigest() == manifest["packed"]["sha256"]
    assert [arrays[name].dtype.str for name, *_ in layout] == [dtype for _, dtype, *_ in layout]


def test_golden_v6_loads_dequantizes_and_predicts_the_recorded_outputs():
    model = load_model(HERE / f"{NAME}.npz")
    assert [type(layer).registered_name for layer in model.layers] == EXPECTED["layers"]
    assert model.count_params() == EXPECTED["params"] and model.quantized
    _, arrays = unpack((HERE / f"{NAME}.npz").read_bytes())
    for index, key in (k.split("/") for k in EXPECTED["quantized"]):
        layer = model.layers[int(index)]
        prefix = f"layers/{int(index):02d}_{layer.name}/{key}"
        q, scale = arrays[prefix], arrays[prefix + ".scale"]
        assert q.dtype == np.int8 and scale.dtype == np.float32
        axis = 0 if type(layer).registered_name == "Conv2D" else 1
        shape = [1] * q.ndim
        shape[axis] = -1
        # the loaded kernel is exactly q * s (one float32 product of exact factors)
        np.testing.assert_array_equal(layer.params[key], q.astype(np.float32) * scale.reshape(shape))
    x = np.array(EXPECTED["x"], dtype=np.float32)
    assert_equal_to_rounding(model.predict(x), np.array(EXPECTED["y"], dtype=np.float32))


def test_golden_v6_inspects_clean():
    info = inspect_model_file(HERE / f"{NAME}.npz")
    assert info.format_version == 6 and info.ok and info.sha256 == EXPECTED["sha256"]
    assert info.quantized == EXPECTED["quantized"] and len(info.arrays) == len(EXPECTED["packed"])
