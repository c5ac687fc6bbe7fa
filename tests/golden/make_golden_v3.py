"""Make the golden model file of format version 3 (run once; the files are then frozen).

    python -m tests.golden.make_golden_v3 [--force]

Writes, next to this script:

``quantized_v3.npz``
    Conv2D(2, 2x2, relu) on (1, 4, 4) images -> Flatten -> Dense(3, softmax),
    quantized by ``tn.quantize`` (int8 kernels, per-output-channel float32
    scales) and carrying a model card (description, data name and SHA-256,
    metrics): the two things version 3 added.
``quantized_v3_x.npy``, ``quantized_v3_y.npy``
    Inputs and the outputs the model predicted for them when the file was made.
``expected_v3.json``
    The file's SHA-256, its layers, int8 arrays and card.

Exactness (see make_golden.py): every kernel is an integer from -127 to 127
times a power of two, with a +-127 in each output channel, so each scale is
that power of two and the dequantized weights are the same dyadic numbers on
any machine; biases are multiples of 2**-6 and inputs multiples of 2**-4.
``tests/golden/test_golden_v3.py`` checks that every later tinynet loads the
file and predicts the recorded outputs to float32 rounding.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

import tinynet as tn
from tinynet.serialization import FORMAT_VERSION, save_model

HERE = Path(__file__).resolve().parent
NAME = "quantized_v3"


def dyadic_kernel(rng: np.random.Generator, shape: tuple[int, ...], axis: int, exponent: int) -> np.ndarray:
    """Integers in [-127, 127] with a +-127 in every channel of ``axis``, times ``2**exponent``."""
    q = rng.integers(-127, 128, size=shape)
    moved = np.moveaxis(q, axis, 0).reshape(shape[axis], -1)  # a view: writes go to q
    moved[:, 0] = np.where(rng.random(shape[axis]) < 0.5, -127, 127)
    return (q * 2.0**exponent).astype(np.float32)


def model() -> tuple[tn.Sequential, np.ndarray]:
    tn.set_seed(2027)
    rng = np.random.default_rng(7)
    net = tn.Sequential(
        [
            tn.layers.Conv2D(2, 2, activation="relu", input_shape=(1, 4, 4)),
            tn.layers.Flatten(),
            tn.layers.Dense(3, activation="softmax"),
        ]
    )
    net.build()
    conv, dense = net.layers[0], net.layers[2]
    conv.params["W"][...] = dyadic_kernel(rng, (2, 1, 2, 2), 0, -7)
    dense.params["W"][...] = dyadic_kernel(rng, (18, 3), 1, -8)
    conv.params["b"][...] = rng.integers(-32, 33, size=2) / 64
    dense.params["b"][...] = rng.integers(-32, 33, size=3) / 64
    x = (rng.integers(-32, 33, size=(5, 1, 4, 4)) / 16).astype(np.float32)
    quantized = tn.quantize(net)
    quantized.card = tn.ModelCard(
        description="Golden file of format version 3: int8 kernels and a model card.",
        data_name="dyadic test inputs",
        data_sha256=tn.ModelCard.sha256_of(x),
        metrics={"accuracy": 0.5, "loss": 1.25},
    )
    return quantized, x


def main() -> int:
    parser = argparse.ArgumentParser(description="Make the golden model file of format version 3.")
    parser.add_argument("--force", action="store_true", help="overwrite the existing golden file")
    args = parser.parse_args()
    if FORMAT_VERSION != 3:
        print(
            f"this tinynet writes format version {FORMAT_VERSION}; this is a version 3 file", file=sys.stderr
        )
        return 1
    path = HERE / f"{NAME}.npz"
    if path.exists() and not args.force:
        print("the golden file exists and is frozen; pass --force to overwrite it", file=sys.stderr)
        return 1
    net, x = model()
    save_model(net, path)
    np.save(HERE / f"{NAME}_x.npy", x, allow_pickle=False)
    np.save(HERE / f"{NAME}_y.npy", net.predict(x), allow_pickle=False)
    expected = {
        NAME: {
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "layers": [type(layer).registered_name for layer in net.layers],
            "params": net.count_params(),
            "quantized": ["0/W", "2/W"],
            "card": net.card.to_json() | {"tinynet_version": tn.__version__, "numpy_version": np.__version__},
        }
    }
    (HERE / "expected_v3.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
