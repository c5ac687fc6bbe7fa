"""Make the golden model files of format version 1 (run once; the files are then frozen).

    python tests/golden/make_golden.py [--force]

Writes, next to this script:

``mlp_v1.npz``
    Dense(8, relu) -> Dropout(0.25) -> Dense(3, softmax), categorical
    cross-entropy, Adam, trained 3 epochs (optimizer state and generator state
    included).
``activations_v1.npz``
    Dense(6, relu) -> LeakyReLU(0.25) -> Dense(4, gelu) -> BatchNormalization ->
    ELU(0.5) -> Activation("softplus") -> Tanh, MSE, SGD with Nesterov momentum,
    trained 2 epochs: every kind of activation layer and a layer with state.
``custom_weights_v1.npz``
    A weights-only file of a model with a user-registered layer (``GoldenScale``).
``<name>_x.npy``, ``<name>_y.npy``
    Inputs and the outputs the model predicted for them when the file was made.
``expected.json``
    Each file's SHA-256 and what its manifest says (layers, epochs, steps).

tests/golden/test_golden.py checks that every later tinynet still loads these
files bit for bit and predicts the recorded outputs to float32 rounding, so that
a new version can never silently break old files.  Never regenerate them after a
format change: add new golden files for the new version instead.

Rounding across machines.  Before saving, every weight is rounded to a multiple
of 2**-6 and the inputs are multiples of 2**-4, so that the first matrix product
sums exactly representable float32 values, exact in any order (BLAS kernels
differ between CPUs in their summation order).  Past the first nonlinearity that
no longer holds, and the element-wise functions (``exp``, ``tanh``, ...) may be
rounded differently by another NumPy or processor; tinynet itself changed a
last bit once (GELU computed its sigmoid in float64 on NumPy 2 until its
constant became a Python float).  So the recorded outputs are compared to
rounding, not bit for bit (``tests/rounding.py``, docs/faq.md "Bit for bit").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

import tinynet as tn
from tinynet.layers.activations import ELU, LeakyReLU, Tanh
from tinynet.layers.normalization import BatchNormalization
from tinynet.serialization import FORMAT_VERSION, save_model, save_weights

HERE = Path(__file__).resolve().parent
NAMES = ("mlp_v1", "activations_v1", "custom_weights_v1")


@tn.register_layer(name="GoldenScale")
class GoldenScale(tn.layers.Layer):
    """A user-defined layer: ``y = x * s + t`` with trainable per-feature ``s`` and ``t``."""

    def __init__(self, start: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.start = float(start)

    def build(self, input_shape):
        super().build(input_shape)
        self.add_param("s", np.full(self.input_shape[-1:], self.start, dtype=self.dtype))
        self.add_param("t", np.zeros(self.input_shape[-1:], dtype=self.dtype))

    def forward(self, x, training=False):
        self.x = x
        return x * self.params["s"] + self.params["t"]

    def backward(self, grad_output):
        self.grads["s"][...] = (grad_output * self.x).sum(axis=0)
        self.grads["t"][...] = grad_output.sum(axis=0)
        return grad_output * self.params["s"]

    def get_config(self):
        return {**super().get_config(), "start": self.start}


def dyadic(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Inputs that are multiples of 2**-4 in [-2, 2]."""
    return (rng.integers(-32, 33, size=shape) / 16).astype(np.float32)


def round_weights(model: tn.Sequential) -> None:
    """Round every parameter to a multiple of 2**-6, in place (see the module docstring)."""
    for value in model.named_params().values():
        value[...] = np.round(value * 64) / 64


def mlp() -> tuple[tn.Sequential, np.ndarray]:
    tn.set_seed(2024)
    rng = np.random.default_rng(1)
    x = dyadic(rng, (60, 4))
    y = np.eye(3, dtype=np.float32)[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)]
    model = tn.Sequential(
        [
            tn.layers.Dense(8, input_dim=4, activation="relu"),
            tn.layers.Dropout(0.25),
            tn.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer=tn.optimizers.Adam(0.02), metrics=["accuracy"])
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    round_weights(model)
    return model, dyadic(rng, (7, 4))


def activations() -> tuple[tn.Sequential, np.ndarray]:
    tn.set_seed(2025)
    rng = np.random.default_rng(2)
    x = dyadic(rng, (48, 5))
    y = np.stack([np.tanh(x[:, 0]), x[:, 1] * x[:, 2], np.abs(x[:, 3]), x[:, 4] > 0], axis=1).astype(
        np.float32
    )
    model = tn.Sequential(
        [
            tn.layers.Dense(6, input_dim=5, activation="relu"),
            LeakyReLU(alpha=0.25),
            tn.layers.Dense(4, activation="gelu"),
            BatchNormalization(momentum=0.8),
            ELU(alpha=0.5),
            tn.layers.Activation("softplus"),
            Tanh(),
        ]
    )
    optimizer = tn.optimizers.SGD(0.05, momentum=0.9, nesterov=True)
    model.compile(loss="mse", optimizer=optimizer, metrics=["mae"])
    model.fit(x, y, epochs=2, batch_size=12, verbose=0)
    round_weights(model)
    return model, dyadic(rng, (6, 5))


def custom() -> tuple[tn.Sequential, np.ndarray]:
    tn.set_seed(2026)
    rng = np.random.default_rng(3)
    x = dyadic(rng, (40, 3))
    model = tn.Sequential([GoldenScale(0.5, input_shape=(3,)), tn.layers.Dense(2, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="rmsprop")
    model.fit(x, (x[:, :2] > 0).astype(np.float32), epochs=2, batch_size=8, verbose=0)
    round_weights(model)
    return model, dyadic(rng, (5, 3))


def main() -> int:
    parser = argparse.ArgumentParser(description="Make the golden model files (format version 1).")
    parser.add_argument("--force", action="store_true", help="overwrite existing golden files")
    args = parser.parse_args()
    if FORMAT_VERSION != 1:
        print(
            f"this tinynet writes format version {FORMAT_VERSION}; these are version 1 files", file=sys.stderr
        )
        return 1
    if any((HERE / f"{name}.npz").exists() for name in NAMES) and not args.force:
        print("golden files exist and are frozen; pass --force to overwrite them", file=sys.stderr)
        return 1
    expected = {}
    for name, make in zip(NAMES, (mlp, activations, custom), strict=True):
        model, x = make()
        path = HERE / f"{name}.npz"
        if name.startswith("custom_weights"):
            save_weights(model, path)
        else:
            save_model(model, path)
        np.save(HERE / f"{name}_x.npy", x, allow_pickle=False)
        np.save(HERE / f"{name}_y.npy", model.predict(x), allow_pickle=False)
        expected[name] = {
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "layers": [type(layer).registered_name for layer in model.layers],
            "params": model.count_params(),
            "kind": "weights" if name.startswith("custom_weights") else "model",
        }
        if expected[name]["kind"] == "model":  # a weights file holds no training progress
            expected[name]["epochs_done"] = model.epochs_done
            expected[name]["optimizer_iterations"] = model.optimizer.iterations
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    total = sum(p.stat().st_size for p in HERE.iterdir() if p.suffix in (".npz", ".npy", ".json"))
    print(f"wrote {len(NAMES)} golden models to {HERE} ({total:,} bytes in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
