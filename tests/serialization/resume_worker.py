"""Worker for test_resume.py: train, save and resume in separate processes.

    python resume_worker.py first  FOLDER   # each configuration: 2 epochs, then save
    python resume_worker.py second FOLDER   # each: load in this new process, 2 more epochs, record

Every configuration trains with shuffling and dropout on, so resuming exactly
needs the optimizer state, its step count and the model's generator state.
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


def main(phase: str, folder: Path) -> None:
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
