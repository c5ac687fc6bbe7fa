"""Exact resume: 2 epochs, save, a new process loads and trains 2 more = 4 epochs without stopping.

Bit for bit: every weight (np.testing.assert_array_equal) and every number of
the history, with shuffling and dropout on, for Adam, SGD with momentum (and
batch normalization's running statistics) and AdamW with a cosine schedule.
"""

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
