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
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

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


# ------------------------------------------------------------------ callback states in model files
def _trained_with(callbacks, epochs=3):
    model = resume_worker.make_callback_model()
    x, y, x_val, y_val = resume_worker.make_data()
    model.fit(
        x[:30],
        y[:30],
        epochs=epochs,
        batch_size=8,
        validation_data=(x_val, y_val),
        verbose=0,
        callbacks=callbacks,
    )
    return model


def test_a_checkpoint_written_during_fit_resumes_exactly(tmp_path):
    """A crash after epoch k: the ModelCheckpoint file (listed last) holds every callback's state."""
    from tinynet.callbacks import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
    from tinynet.serialization import load_model

    def callbacks(folder):
        return [
            EarlyStopping(patience=4, restore_best_weights=True),
            ReduceLROnPlateau(factor=0.5, patience=1),
            ModelCheckpoint(folder / "ckpt-{epoch}.npz"),
        ]

    x, y, x_val, y_val = resume_worker.make_data()
    straight = resume_worker.make_callback_model()
    history = straight.fit(
        x[:30],
        y[:30],
        epochs=6,
        batch_size=8,
        validation_data=(x_val, y_val),
        verbose=0,
        callbacks=callbacks(tmp_path / "straight"),
    )
    assert len(history.epoch) == 6
    for k in (2, 4):
        model = load_model(tmp_path / "straight" / f"ckpt-{k}.npz")
        rest = model.fit(
            x[:30],
            y[:30],
            epochs=6 - k,
            batch_size=8,
            validation_data=(x_val, y_val),
            verbose=0,
            callbacks=callbacks(tmp_path / f"resumed_{k}"),
        )
        assert rest.epoch == history.epoch[k:]
        for key, values in history.history.items():
            assert rest.history[key] == values[k:], (k, key)
        for got, want in zip(model.get_weights(), straight.get_weights(), strict=True):
            np.testing.assert_array_equal(got, want)


def test_a_file_without_callback_states_is_version_1_and_one_with_them_version_2():
    from tests.serialization.helpers import manifest_of, to_bytes
    from tinynet.callbacks import EarlyStopping, LearningRateScheduler

    plain = manifest_of(to_bytes(_trained_with([LearningRateScheduler(lambda epoch: 0.01)])))
    assert plain["format_version"] == 1 and "callbacks" not in plain["training"]
    stateful = manifest_of(to_bytes(_trained_with([EarlyStopping(patience=9)])))
    assert stateful["format_version"] == 2
    (entry,) = stateful["training"]["callbacks"]
    assert entry["class_name"] == "EarlyStopping" and entry["key"] == 0
    assert set(entry["state"]) == {"best", "wait", "best_epoch", "best_weights", "resume_weights"}


def test_user_callback_states_round_trip_with_non_finite_floats():
    from tests.serialization.helpers import load_bytes, to_bytes
    from tinynet.callbacks import Callback

    class Keeper(Callback):
        state: ClassVar[dict] = {
            "n": 3,
            "big": -(2**63),
            "x": 0.1,
            "up": math.inf,
            "down": -math.inf,
            "nan": math.nan,
            "on": True,
            "none": None,
        }

        def get_state(self):
            return dict(self.state)

        def set_state(self, state):
            self.got = state

    model = _trained_with([Keeper()], epochs=1)
    loaded = load_bytes(to_bytes(model))
    (entry,) = loaded.callback_states
    state = entry["state"]
    assert entry["class_name"] == "Keeper" and math.isnan(state.pop("nan"))
    assert state == {k: v for k, v in Keeper.state.items() if k != "nan"}
    assert [type(v) for v in state.values()] == [int, int, float, float, float, bool, type(None)]
    keeper = Keeper()
    loaded.fit(*resume_worker.make_data()[:2], epochs=1, verbose=0, callbacks=[keeper])
    assert keeper.got["x"] == 0.1
    Keeper.state = {"name": "text"}
    with pytest.raises(ValueError, match="Keeper .* its 'name' is 'text'"):
        to_bytes(_trained_with([Keeper()], epochs=1))
    Keeper.state = {"w": [np.zeros(3)]}
    with pytest.raises(ValueError, match="its 'w' is a list but not of arrays shaped as the model's weights"):
        to_bytes(_trained_with([Keeper()], epochs=1))


@pytest.fixture(scope="module")
def with_states() -> bytes:
    from tests.serialization.helpers import to_bytes
    from tinynet.callbacks import EarlyStopping, ReduceLROnPlateau

    model = _trained_with(
        [EarlyStopping(patience=9, restore_best_weights=True), ReduceLROnPlateau(patience=1)]
    )
    return to_bytes(model)


def _state(index):
    return lambda m: m["training"]["callbacks"][index]["state"]


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (
            lambda m: _state(0)(m).__setitem__("wait", "2"),
            "'training.callbacks'[0].state['wait'] must be an integer >= 0",
        ),
        (lambda m: _state(0)(m).__setitem__("wait", 2.0), "state['wait'] must be an integer >= 0"),
        (lambda m: _state(0)(m).__setitem__("wait", -1), "state['wait'] must be an integer >= 0"),
        (
            lambda m: _state(1)(m).__setitem__("cooldown_counter", True),
            "state['cooldown_counter'] must be an integer",
        ),
        (lambda m: _state(0)(m).__setitem__("best", "0.5"), "state['best'] must be a number or 'inf'"),
        (lambda m: _state(0)(m).__setitem__("best", False), "state['best'] must be a number"),
        (lambda m: _state(0)(m).__setitem__("resume_weights", 0), "state['resume_weights'] must be null or"),
        (
            lambda m: _state(0)(m).__setitem__("patience", 3),
            "state has the wrong keys (unexpected 'patience')",
        ),
        (lambda m: _state(1)(m).pop("wait"), "state has the wrong keys (missing wait)"),
        (
            lambda m: m["training"]["callbacks"][0].__setitem__("key", -1),
            "'training.callbacks'[0].key must be",
        ),
        (
            lambda m: m["training"]["callbacks"][1].update(class_name="EarlyStopping", key=1),
            "'training.callbacks'[1].state has the wrong keys",
        ),
        (
            lambda m: m["training"]["callbacks"].append(m["training"]["callbacks"][1]),
            "repeats the state of the callback",
        ),
        (
            lambda m: m["training"]["callbacks"][0].__setitem__("extra", 1),
            "'training.callbacks'[0] has the wrong keys",
        ),
        (lambda m: m["training"].__setitem__("callbacks", {}), "'training.callbacks' must be a list"),
        (
            lambda m: m.__setitem__("format_version", 1),
            "'training' has the wrong keys (unexpected 'callbacks')",
        ),
        (lambda m: _state(0)(m)["best_weights"]["weights"].pop(), "is not used by any layer"),
        (
            lambda m: _state(0)(m)["best_weights"]["weights"].__setitem__(0, m["layers"][0]["params"]["W"]),
            "is used twice",
        ),
    ],
)
def test_bad_callback_states_are_refused_naming_the_key(with_states, edit, pattern):
    from tests.serialization.helpers import edit_manifest, load_bytes
    from tinynet.serialization import ModelFileError

    with pytest.raises(ModelFileError) as info:
        load_bytes(edit_manifest(with_states, edit))
    assert pattern.lower() in str(info.value).lower(), str(info.value)


def test_callback_weights_must_fit_the_model(with_states):
    from tests.serialization.helpers import edit_manifest, load_bytes
    from tinynet.serialization import ModelFileError

    def swap(m):  # two arrays of different shapes trade places in the best weights
        names = m["training"]["callbacks"][0]["state"]["best_weights"]["weights"]
        names[0], names[1] = names[1], names[0]

    with pytest.raises(
        ModelFileError, match=r"state\['best_weights'\] is float32 \(32,\) but the model's weight"
    ):
        load_bytes(edit_manifest(with_states, swap))
    loaded = load_bytes(with_states)
    assert [s["class_name"] for s in loaded.callback_states] == ["EarlyStopping", "ReduceLROnPlateau"]
    assert load_bytes(with_states, compile=False).callback_states == []  # training state is skipped


def test_the_spec_documents_the_callback_states_and_its_reader_reads_them(with_states, tmp_path):
    import re

    from tests.serialization.helpers import manifest_of

    from .test_spec import SPEC, _keys

    text = SPEC.read_text(encoding="utf-8")
    manifest = manifest_of(with_states)
    training = dict(manifest["training"], optimizer_state=[])  # the slots belong to the optimizers
    undocumented = sorted(key for key in _keys(training, set()) if f"`{key}`" not in text)
    assert not undocumented, f"fields missing from docs/file-format.md: {undocumented}"
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", text[text.index("## 11. A reader") :], re.S):
        exec(compile(block, str(SPEC), "exec"), namespace)
    (tmp_path / "m.npz").write_bytes(with_states)
    read, arrays = namespace["read_model_file"](tmp_path / "m.npz")
    assert read == manifest and read["format_version"] == 2
    best = read["training"]["callbacks"][0]["state"]["best_weights"]["weights"]
    assert [arrays[name].shape for name in best] == [
        arrays[name].shape for name in read["layers"][0]["params"].values()
    ] + [arrays[name].shape for name in read["layers"][2]["params"].values()]


def test_saving_refuses_callback_states_that_loading_would_refuse():
    from tests.serialization.helpers import to_bytes
    from tinynet import callbacks

    class EarlyStopping(callbacks.EarlyStopping):  # a user's subclass under the built-in's name
        def get_state(self):
            return {**super().get_state(), "extra": 1}

    with pytest.raises(
        ValueError, match=r"loading would refuse them: .*state has the wrong keys \(unexpected 'extra'\)"
    ):
        to_bytes(_trained_with([EarlyStopping(patience=9)], epochs=1))
    checkpoint = callbacks.ModelCheckpoint("unused.npz", save_best_only=True, monitor="val_loss")
    checkpoint.state_key = "k" * 201
    checkpoint.on_epoch_end = lambda epoch, logs=None: None  # writes nothing
    with pytest.raises(ValueError, match=r"'training.callbacks'\[0\].key must be a non-empty string"):
        to_bytes(_trained_with([checkpoint], epochs=1))


def test_after_an_interrupted_fit_the_states_are_those_of_its_last_epoch():
    from tinynet.callbacks import Callback, EarlyStopping

    class Interrupt(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    model = resume_worker.make_callback_model()
    x, y, x_val, y_val = resume_worker.make_data()
    stopper = EarlyStopping(patience=9)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=4, validation_data=(x_val, y_val), verbose=0, callbacks=[stopper, Interrupt()])
    (entry,) = model.callback_states
    assert entry["state"]["best"] == stopper.best and entry["state"]["best_epoch"] == stopper.best_epoch
    model.callback_states = []  # a fresh start is still possible
    assert model.callback_states == []
