"""Make the golden model file of format version 5 (run once; the files are then frozen).

    python -m tests.golden.make_golden_v5 [--force]

Writes, next to this script:

``functional_v5.npz``
    A functional model (what version 5 added): two inputs ``a`` (4,) and ``b`` (3,);
    ``h = Dense(4, relu)(a)``, ``g = Dense(4, tanh)(b)``, a residual ``Add([h, Dense(4)(h)])``,
    ``Multiply([h, g])``, their ``Concatenate`` and ``Dense(2, softmax)``; compiled, with a few
    Adam steps taken (optimizer state, epochs, generator).
``functional_v5_a.npy``, ``functional_v5_b.npy``, ``functional_v5_y.npy``
    Inputs and the outputs the model predicted for them when the file was made.
``expected_v5.json``
    The file's SHA-256, its layers and the graph of its manifest.

``tests/golden/test_golden_v5.py`` checks that every later tinynet loads the file and
predicts the recorded outputs to float32 rounding.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

import tinynet as tn
from tinynet.layers import Add, Concatenate, Dense, Multiply
from tinynet.serialization import FORMAT_VERSION, save_model

HERE = Path(__file__).resolve().parent
NAME = "functional_v5"


def model() -> tuple[tn.Model, list[np.ndarray]]:
    tn.set_seed(2028)
    a, b = tn.Input(shape=(4,), name="a"), tn.Input(shape=(3,), name="b")
    h = Dense(4, activation="relu")(a)
    g = Dense(4, activation="tanh")(b)
    r = Add()([h, Dense(4)(h)])
    y = Dense(2, activation="softmax")(Concatenate()([r, Multiply()([h, g])]))
    net = tn.Model([a, b], y, name="golden_functional")
    net.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(8)
    xa = (rng.integers(-32, 33, size=(6, 4)) / 16).astype(np.float32)
    xb = (rng.integers(-32, 33, size=(6, 3)) / 16).astype(np.float32)
    net.fit([xa, xb], tn.datasets.one_hot(rng.integers(0, 2, 6), 2), epochs=2, batch_size=4, verbose=0)
    return net, [xa, xb]


def main() -> int:
    parser = argparse.ArgumentParser(description="Make the golden model file of format version 5.")
    parser.add_argument("--force", action="store_true", help="overwrite the existing golden file")
    args = parser.parse_args()
    if FORMAT_VERSION != 5:
        print(
            f"this tinynet writes format version {FORMAT_VERSION}; this is a version 5 file", file=sys.stderr
        )
        return 1
    path = HERE / f"{NAME}.npz"
    if path.exists() and not args.force:
        print("the golden file exists and is frozen; pass --force to overwrite it", file=sys.stderr)
        return 1
    net, (xa, xb) = model()
    save_model(net, path)
    np.save(HERE / f"{NAME}_a.npy", xa, allow_pickle=False)
    np.save(HERE / f"{NAME}_b.npy", xb, allow_pickle=False)
    np.save(HERE / f"{NAME}_y.npy", net.predict([xa, xb]), allow_pickle=False)
    graph = net.get_config()
    expected = {
        NAME: {
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "layers": [type(layer).registered_name for layer in net.layers],
            "params": net.count_params(),
            "inputs": graph["inputs"],
            "inbound": [entry["inbound"] for entry in graph["layers"]],
            "outputs": graph["outputs"],
        }
    }
    (HERE / "expected_v5.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
