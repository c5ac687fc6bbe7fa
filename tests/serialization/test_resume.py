"""Exact resume: 2 epochs, save, a new process loads and trains 2 more = 4 epochs without stopping.

Bit for bit: every weight (np.testing.assert_array_equal) and every number of
the history, with shuffling and dropout on, for Adam, SGD with momentum (and
batch normalization's running statistics) and AdamW with a cosine schedule.

With callbacks too: for LearningRateScheduler, EarlyStopping (with and without
restore_best_weights), ReduceLROnPlateau and ModelCheckpoint(save_best_only),
a run split after every epoch k (k epochs, save, load in a new process, the
rest) equals the uninterrupted run: weights, history (learning rates included),
global epoch numbers, the stopping epoch and the checkpoint files, byte for byte.
"""

import hashlib

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from . import resume_worker

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(resume_worker.__file__)


@pytest.fixture(scope="module")
def resumed(tmp_path_factory) -> Path:
    """Run the two phases, each in its own new process; return the folder of their results."""
    folder = tmp_path_factory.mktemp("resume")
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    for phase in ("first", "second"):
        subprocess.run([sys.executable, str(WORKER), phase, str(folder)], check=True, env=env, timeout=120)
    return folder


@pytest.mark.parametrize("config", resume_worker.CONFIGS)
def test_resuming_in_a_new_process_equals_training_without_stopping(resumed, config):
    model = resume_worker.make_model(config)
    straight = resume_worker.fit(model, 4)

    with np.load(resumed / f"{config}_weights.npz") as saved:
        resumed_weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    expected = model.get_weights()
    assert len(resumed_weights) == len(expected)
    for got, want in zip(resumed_weights, expected, strict=True):
        np.testing.assert_array_equal(got, want)

    first = json.loads((resumed / f"{config}_first.json").read_text())
    second = json.loads((resumed / f"{config}_second.json").read_text())
    assert set(first) == set(second) == set(straight)
    for key, values in straight.items():
        assert first[key] + second[key] == values, key  # floats compared exactly

    progress = json.loads((resumed / f"{config}_progress.json").read_text())
    assert progress == {"epochs_done": 4, "iterations": model.optimizer.iterations}


@pytest.fixture(scope="module")
def callback_runs(tmp_path_factory) -> tuple[Path, dict]:
    """Every callback configuration: the uninterrupted run here, and for every split k < the epochs
    it ran, k epochs here and a file; then one new process resumes every file."""
    folder = tmp_path_factory.mktemp("resume_callbacks")
    straight = {}
    for config in resume_worker.CALLBACK_CONFIGS:
        model = resume_worker.make_callback_model()
        result = resume_worker.fit_callbacks(
            model, config, resume_worker.CALLBACK_EPOCHS, folder / f"straight_{config}"
        )
        straight[config] = (result, model.get_weights())
        for k in range(1, result["epochs_done"]):
            model = resume_worker.make_callback_model()
            first = resume_worker.fit_callbacks(model, config, k, folder / f"cb_{config}_{k}")
            model.save(folder / f"cb_{config}_{k}.npz")
            (folder / f"cb_{config}_{k}_first.json").write_text(json.dumps(first))
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    subprocess.run([sys.executable, str(WORKER), "callbacks", str(folder)], check=True, env=env, timeout=120)
    return folder, straight


def _digests(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("config", resume_worker.CALLBACK_CONFIGS)
def test_a_run_with_callbacks_split_at_every_epoch_resumes_exactly(callback_runs, config):
    folder, straight = callback_runs
    result, weights = straight[config]
    epochs = result["epochs_done"]
    assert epochs >= 3  # something to split
    if config.startswith("early_stopping"):
        assert epochs < resume_worker.CALLBACK_EPOCHS and result["stopped_epoch"] == epochs - 1
    for k in range(1, epochs):
        name = f"cb_{config}_{k}"
        first = json.loads((folder / f"{name}_first.json").read_text())
        second = json.loads((folder / f"{name}_second.json").read_text())
        assert first["epochs_done"] == k, k
        assert first["epoch"] + second["epoch"] == result["epoch"] == list(range(epochs)), k
        for key, values in result["history"].items():  # learning_rate included; floats compared exactly
            assert first["history"][key] + second["history"][key] == values, (k, key)
        assert second["epochs_done"] == epochs, k  # stopped at the same epoch
        assert second["stopped_epoch"] == result["stopped_epoch"], k
        assert second["learning_rate"] == result["learning_rate"], k
        with np.load(folder / f"{name}_weights.npz") as saved:
            resumed = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        assert len(resumed) == len(weights)
        for got, want in zip(resumed, weights, strict=True):
            np.testing.assert_array_equal(got, want)
        # ModelCheckpoint: the same files, byte for byte (the same epochs, models and states)
        assert _digests(folder / name) == _digests(folder / f"straight_{config}"), k
    if config == "checkpoint":
        assert len(_digests(folder / f"straight_{config}")) >= 3


def test_without_the_generator_state_resuming_would_differ(resumed):
    """The check above can fail: reseeding the generator after loading changes the outcome."""
    from tinynet.serialization import load_model

    model = load_model(resumed / "adam.npz")
    model.reseed(0)
    resume_worker.fit(model, 2)
    straight = resume_worker.make_model("adam")
    resume_worker.fit(straight, 4)
    assert not all(
        np.array_equal(a, b) for a, b in zip(model.get_weights(), straight.get_weights(), strict=True)
    )
