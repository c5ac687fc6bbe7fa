"""Make the golden model file of format version 6 (run once; the files are then frozen).

    python -m tests.golden.make_golden_v6 [--force]

Writes, next to this script:

``quantized_v6.npz``
    Conv2D(2, 2x2, relu) on (1, 4, 4) images -> Flatten -> Dense(3, softmax), quantized
    by ``tn.quantize``: a packed file (what version 6 added), its one buffer embedded in
    the manifest.  The buffer holds the conv kernel (int8, 8 bytes), its scales and bias,
    the dense kernel (int8, 54 bytes, then 2 bytes of padding so the float32 scales that
    follow are aligned), its scales and bias.
``expected_v6.json``
    The file's SHA-256, its layers, its packed layout (names, dtypes, shapes, offsets),
    and inputs with the outputs the model predicted for them when the file was made (in
    JSON rather than in .npy files, whose headers would cost more than the numbers: the
    golden files share a size budget).

Exactness as in make_golden_v3.py: every kernel is an integer from -127 to 127 times a
power of two, with a +-127 in each output channel, so each scale is that power of two and
the dequantized weights are the same dyadic numbers on any machine; biases are multiples
of 2**-6 and inputs multiples of 2**-4.  ``tests/golden/test_golden_v6.py`` checks that
every later tinynet loads the file and predicts the recorded outputs to float32 rounding.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

import tinynet as tn
from tinynet.serialization import FORMAT_VERSION, save_model

from .make_golden_v3 import dyadic_kernel

HERE = Path(__file__).resolve().parent
NAME = "quantized_v6"


def model() -> tuple[tn.Sequential, np.ndarray]:
    tn.set_seed(2029)
    rng = np.random.default_rng(9)
    net = tn.Sequential(
        [
            tn.layers.Conv2D(2, 2, activation="relu", input_shape=(1, 4, 4)),
            tn.layers.Flatten(),
            tn.layers.Dense(3, activation="softmax"),
        ],
        name="golden_packed",
    )
    net.build()
    conv, dense = net.layers[0], net.layers[2]
    conv.params["W"][...] = dyadic_kernel(rng, (2, 1, 2, 2), 0, -7)
    dense.params["W"][...] = dyadic_kernel(rng, (18, 3), 1, -8)
    conv.params["b"][...] = rng.integers(-32, 33, size=2) / 64
    dense.params["b"][...] = rng.integers(-32, 33, size=3) / 64
    x = (rng.integers(-32, 33, size=(2, 1, 4, 4)) / 16).astype(np.float32)
    return tn.quantize(net), x


def main() -> int:
    parser = argparse.ArgumentParser(description="Make the golden model file of format version 6.")
    parser.add_argument("--force", action="store_true", help="overwrite the existing golden file")
    args = parser.parse_args()
    if FORMAT_VERSION < 6:
        print(f"this tinynet reads format version {FORMAT_VERSION} at most", file=sys.stderr)
        return 1
    path = HERE / f"{NAME}.npz"
    if path.exists() and not args.force:
        print("the golden file exists and is frozen; pass --force to overwrite it", file=sys.stderr)
        return 1
    net, x = model()
    buffer = io.BytesIO()
    save_model(net, buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as zf:
        manifest = json.loads(np.load(zf.open("manifest.npy"), allow_pickle=False).tobytes())
    if manifest["format_version"] != 6 or "data" not in manifest["packed"]:
        print("this tinynet does not write this model as an embedded version 6 file", file=sys.stderr)
        return 1
    path.write_bytes(buffer.getvalue())
    expected = {
        NAME: {
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "layers": [type(layer).registered_name for layer in net.layers],
            "params": net.count_params(),
            "quantized": ["0/W", "2/W"],
            "packed": [
                [e["name"], e["dtype"], e["shape"], e["offset"]] for e in manifest["packed"]["arrays"]
            ],
            "x": x.tolist(),
            # the shortest decimal of each float32 output (it reads back to the same float32)
            "y": [[float(str(v)) for v in row] for row in net.predict(x)],
        }
    }
    (HERE / "expected_v6.json").write_text(json.dumps(expected, separators=(",", ":")) + "\n")
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
