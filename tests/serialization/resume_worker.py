"""Worker for test_resume.py: train, save and resume in separate processes.

    python resume_worker.py first  FOLDER   # each configuration: 2 epochs, then save
    python resume_worker.py second FOLDER   # each: load in this new process, 2 more epochs, record
    python resume_worker.py callbacks FOLDER  # each FOLDER/cb_<config>_<k>.npz (k epochs done):
                                              # load, train the rest of CALLBACK_EPOCHS, record

Every configuration trains with shuffling and dropout on, so resuming exactly
needs the optimizer state, its step count and the model's generator state; the
callback configurations need the callbacks' states and global epoch numbers too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import tinynet as tn
from tinynet import schedules
from tinynet.layers.normalization import BatchNormalization
from tinynet.serialization import load_model

CONFIGS = ("adam", "sgd_momentum", "adamw_cosine")


def make_data() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(42)
    x = rng.normal(size=(90, 6)).astype(np.float32)
    y = ((x[:, 0] * x[:, 1] + x[:, 2]) > 0).astype(np.float32)
    return x[:70], y[:70], x[70:], y[70:]


def make_model(config: str) -> tn.Sequential:
    tn.set_seed(7)
    layers = [tn.layers.Dense(16, input_dim=6, activation="relu")]
    if config == "sgd_momentum":
        layers.append(BatchNormalization())  # running statistics: non-trainable state in the file
    layers += [tn.layers.Dropout(0.3), tn.layers.Dense(1, activation="sigmoid")]
    model = tn.Sequential(layers)
    if config == "adam":
        optimizer = tn.optimizers.Adam(0.01)
    elif config == "sgd_momentum":
        optimizer = tn.optimizers.SGD(0.05, momentum=0.9)
    else:
        optimizer = tn.optimizers.AdamW(schedules.CosineDecay(0.02, decay_steps=40), weight_decay=0.01)
    model.compile(loss="binary_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


def fit(model: tn.Sequential, epochs: int) -> dict[str, list]:
    x, y, x_val, y_val = make_data()
    history = model.fit(
        x, y, epochs=epochs, batch_size=16, shuffle=True, validation_data=(x_val, y_val), verbose=0
    )
    return history.history


# ------------------------------------------------------------------ callbacks
#: Epochs of the uninterrupted run of every callback configuration.
CALLBACK_EPOCHS = 7
CALLBACK_CONFIGS = ("scheduler", "early_stopping", "early_stopping_best", "plateau", "checkpoint")


def make_callbacks(config: str, folder: Path) -> list:
    """Fresh callbacks of ``config``; ``folder`` receives ModelCheckpoint's files."""
    from tinynet import callbacks

    if config == "scheduler":  # depends on the global epoch and on the current rate
        return [
            callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch % 2 else lr + 0.01 * epoch)
        ]
    if config == "early_stopping":
        return [callbacks.EarlyStopping(monitor="val_loss", patience=1, start_from_epoch=1)]
    if config == "early_stopping_best":
        return [callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)]
    if config == "plateau":
        return [
            callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_delta=0.0, cooldown=1)
        ]
    if config == "checkpoint":
        return [
            callbacks.ModelCheckpoint(folder / "best-{epoch:02d}.npz", monitor="loss", save_best_only=True)
        ]
    raise ValueError(config)


def make_callback_model() -> tn.Sequential:
    tn.set_seed(3)
    model = tn.Sequential(
        [
            tn.layers.Dense(32, input_dim=6, activation="relu"),
            tn.layers.Dropout(0.2),
            tn.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer=tn.optimizers.Adam(0.08), metrics=["accuracy"])
    return model


def fit_callbacks(model: tn.Sequential, config: str, epochs: int, folder: Path) -> dict:
    """Train ``epochs`` epochs with the callbacks of ``config``; what the resume test compares."""
    x, y, x_val, y_val = make_data()
    cbs = make_callbacks(config, folder)
    history = model.fit(
        x[:30], y[:30], epochs=epochs, batch_size=8, validation_data=(x_val, y_val), verbose=0, callbacks=cbs
    )
    return {
        "history": history.history,
        "epoch": history.epoch,
        "epochs_done": model.epochs_done,
        "learning_rate": float(model.optimizer.learning_rate),
        "stopped_epoch": getattr(cbs[0], "stopped_epoch", None),
    }


def resume_callbacks(folder: Path) -> None:
    for path in sorted(folder.glob("cb_*.npz")):
        model = load_model(path)
        config = path.stem[3:].rsplit("_", 1)[0]
        result = fit_callbacks(model, config, CALLBACK_EPOCHS - model.epochs_done, folder / path.stem)
        np.savez(folder / f"{path.stem}_weights.npz", *model.get_weights())
        (folder / f"{path.stem}_second.json").write_text(json.dumps(result))


def main(phase: str, folder: Path) -> None:
    if phase == "callbacks":
        resume_callbacks(folder)
        return
    for config in CONFIGS:
        if phase == "first":
            model = make_model(config)
            history = fit(model, 2)
            model.save(folder / f"{config}.npz")
        else:
            model = load_model(folder / f"{config}.npz")
            history = fit(model, 2)
            np.savez(folder / f"{config}_weights.npz", *model.get_weights())
            (folder / f"{config}_progress.json").write_text(
                json.dumps({"epochs_done": model.epochs_done, "iterations": model.optimizer.iterations})
            )
        (folder / f"{config}_{phase}.json").write_text(json.dumps(history))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
