"""Make the golden model file of format version 7 (run once; the files are then frozen).

    python -m tests.golden.make_golden_v7 [--force]

Writes, next to this script:

``outputs_v7.npz``
    A functional model with two outputs, compiled per output (what version 7 added): input
    ``x`` (3,); a shared ``trunk = Dense(3, tanh)(x)``; ``cls = Dense(2, softmax)(trunk)`` with
    the categorical cross-entropy and accuracy, ``reg = Dense(1)(trunk)`` with the mean squared
    error, weight 0.5, and the mean absolute error; two epochs of SGD taken (epochs, steps,
    generator; plain SGD keeps no optimizer arrays, which keeps the file small).
``outputs_v7_x.npy``, ``outputs_v7_cls.npy``, ``outputs_v7_reg.npy``
    Inputs and the outputs the model predicted for them when the file was made.
``expected_v7.json``
    The file's SHA-256, its layers, its output names and the compile section of its manifest.

``tests/golden/test_golden_v7.py`` checks that every later tinynet loads the file, compiles
it per output as saved, and predicts the recorded outputs to float32 rounding.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

import tinynet as tn
from tinynet.layers import Dense
from tinynet.serialization import FORMAT_VERSION, inspect_model_file, save_model

HERE = Path(__file__).resolve().parent
NAME = "outputs_v7"


def data() -> tuple[np.ndarray, list[np.ndarray]]:
    """Inputs and the two outputs' targets, exact in float32 (multiples of 1/16)."""
    rng = np.random.default_rng(9)
    x = (rng.integers(-32, 33, size=(6, 3)) / 16).astype(np.float32)
    return x, [tn.datasets.one_hot(rng.integers(0, 2, 6), 2), x[:, :1] - x[:, 1:2]]


def model() -> tuple[tn.Model, np.ndarray]:
    tn.set_seed(2029)
    x = tn.Input(shape=(3,), name="x")
    trunk = Dense(3, activation="tanh", name="trunk")(x)
    cls = Dense(2, activation="softmax", name="cls")(trunk)
    reg = Dense(1, name="reg")(trunk)
    net = tn.Model(x, [cls, reg], name="golden_outputs")
    net.compile(
        tn.optimizers.SGD(0.1),
        loss={"cls": "categorical_crossentropy", "reg": "mse"},
        loss_weights={"reg": 0.5},
        metrics={"cls": ["accuracy"], "reg": ["mae"]},
    )
    xs, ys = data()
    net.fit(xs, ys, epochs=2, batch_size=4, verbose=0)
    return net, xs


def main() -> int:
    parser = argparse.ArgumentParser(description="Make the golden model file of format version 7.")
    parser.add_argument("--force", action="store_true", help="overwrite the existing golden file")
    args = parser.parse_args()
    if FORMAT_VERSION != 7:
        print(
            f"this tinynet writes format version {FORMAT_VERSION}; this is a version 7 file", file=sys.stderr
        )
        return 1
    path = HERE / f"{NAME}.npz"
    if path.exists() and not args.force:
        print("the golden file exists and is frozen; pass --force to overwrite it", file=sys.stderr)
        return 1
    net, xs = model()
    save_model(net, path)
    np.save(HERE / f"{NAME}_x.npy", xs, allow_pickle=False)
    for name, y in zip(net.output_names, net.predict(xs), strict=True):
        np.save(HERE / f"{NAME}_{name}.npy", y, allow_pickle=False)
    manifest = inspect_model_file(path).manifest
    expected = {
        NAME: {
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "layers": [type(layer).registered_name for layer in net.layers],
            "params": net.count_params(),
            "output_names": net.output_names,
            "compile": manifest["compile"],
        }
    }
    (HERE / "expected_v7.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
