"""Backward compatibility of format version 7: the frozen two-output model file keeps loading.

Made once by ``make_golden_v7.py``; if a test here fails after a change, the change breaks
version-7 files (models with several outputs, compiled per output) people already have.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

import tinynet as tn
from tinynet.serialization import inspect_model_file, load_model

from ..rounding import assert_equal_to_rounding
from .make_golden_v7 import NAME, data

HERE = Path(__file__).resolve().parent
EXPECTED = json.loads((HERE / "expected_v7.json").read_text())[NAME]


def test_golden_v7_file_is_unchanged():
    assert hashlib.sha256((HERE / f"{NAME}.npz").read_bytes()).hexdigest() == EXPECTED["sha256"]


def test_golden_v7_loads_compiled_per_output_and_predicts_the_recorded_outputs():
    model = load_model(HERE / f"{NAME}.npz")
    assert type(model) is tn.Model
    assert [type(layer).registered_name for layer in model.layers] == EXPECTED["layers"]
    assert model.count_params() == EXPECTED["params"]
    assert model.output_names == EXPECTED["output_names"] == ["cls", "reg"]
    # the compile section: a loss, a weight and metrics per output
    assert [type(fn).__name__ for fn in model.loss.losses] == ["CategoricalCrossentropy", "MeanSquaredError"]
    assert model.loss.weights == [1.0, 0.5]
    assert model.metric_names == ["cls_accuracy", "reg_mae"]
    assert model.optimizer.iterations == 4 and model.epochs_done == 2
    x = np.load(HERE / f"{NAME}_x.npy", allow_pickle=False)
    for name, got in zip(model.output_names, model.predict(x), strict=True):
        assert_equal_to_rounding(got, np.load(HERE / f"{NAME}_{name}.npy", allow_pickle=False))


def test_golden_v7_evaluates_and_goes_on_training():
    model = load_model(HERE / f"{NAME}.npz")
    x, ys = data()
    results = model.evaluate(x, ys, return_dict=True)
    assert list(results) == ["loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"]
    assert np.isclose(results["loss"], results["cls_loss"] + 0.5 * results["reg_loss"])
    history = model.fit(x, {"cls": ys[0], "reg": ys[1]}, epochs=1, batch_size=4, verbose=0)
    assert model.epochs_done == 3 and np.isfinite(history.history["reg_loss"][0])


def test_golden_v7_inspects_clean():
    info = inspect_model_file(HERE / f"{NAME}.npz")
    assert info.format_version == 7 and info.ok and info.sha256 == EXPECTED["sha256"]
    assert info.compile == EXPECTED["compile"]
    assert "cls: loss categorical_crossentropy x 1.0, metrics: accuracy" in str(info)
