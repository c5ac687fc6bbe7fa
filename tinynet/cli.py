"""The ``tinynet`` command line (also ``python -m tinynet``).

``tinynet demo``
    Train the classic Keras example (Dense 10 relu on 8 inputs, Dense 1
    sigmoid, binary cross-entropy, Adam) on the bundled Pima Indians diabetes
    data, evaluate it on a held-out split and print the metrics; then save the
    model, load it in a fresh process (``tinynet predict``) and show that the
    predictions are identical.
``tinynet inspect MODEL``
    Print a model file's format version, architecture, parameter counts,
    compile settings and training progress, and verify every checksum, without
    building the model.  Exit status 1 when a checksum fails or the file cannot
    be read.
``tinynet predict MODEL --input X [--output Y]``
    Load a model and predict for the rows of ``X`` (``.csv`` or ``.npy``),
    writing ``Y`` (``.csv`` or ``.npy``; CSV on standard output without
    ``--output``).  The process imports numpy and tinynet, nothing else.  Exit
    status 1 when the model file cannot be loaded, 2 for unusable input (for
    example rows whose width does not fit the model).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

#: Exit status for a model file that cannot be read or fails its checksums.
EXIT_BAD_MODEL = 1
#: Exit status for unusable input data or arguments (argparse uses 2 as well).
EXIT_BAD_INPUT = 2


def demo(args: argparse.Namespace) -> int:
    """Run the quickstart demo; returns the exit status."""
    import tinynet as tn

    tn.set_seed(args.seed)
    x, y = tn.datasets.load_pima_diabetes()
    x_train, x_test, y_train, y_test = tn.datasets.train_test_split(
        x, y, test_size=0.2, seed=args.seed, stratify=True
    )
    x_train, x_test = tn.datasets.standardize(x_train, x_test)
    x_train, x_val, y_train, y_val = tn.datasets.train_test_split(
        x_train, y_train, test_size=0.2, seed=args.seed, stratify=True
    )

    model = tn.Sequential()
    model.add(tn.layers.Dense(10, input_dim=8, activation="relu"))
    model.add(tn.layers.Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.summary()
    print(f"\nTraining on {len(x_train)} patients, validating on {len(x_val)}, testing on {len(x_test)}.")
    model.fit(
        x_train,
        y_train,
        epochs=args.epochs,
        batch_size=32,
        validation_data=(x_val, y_val),
        verbose=args.verbose,
    )

    loss, acc = model.evaluate(x_test, y_test)
    p = model.predict(x_test)
    print(f"\nTest set ({len(x_test)} patients, {int(y_test.sum())} with diabetes onset):")
    print(f"  loss      {loss:.4f}")
    print(f"  accuracy  {acc:.4f}")
    print(f"  precision {tn.metrics.precision(y_test, p):.4f}")
    print(f"  recall    {tn.metrics.recall(y_test, p):.4f}")
    print(f"  f1        {tn.metrics.f1_score(y_test, p):.4f}")
    cm = tn.metrics.confusion_matrix(y_test, p)
    print(f"  confusion matrix (rows: true 0/1, columns: predicted 0/1): {cm.tolist()}")
    return 0 if _predict_in_fresh_process(model, x_test, p, args.save) else 1


def _predict_in_fresh_process(model, x, predictions, save: str | None) -> bool:
    """Save ``model``, predict ``x`` with ``tinynet predict`` in a new process, compare bit for bit."""
    import os
    import subprocess
    import tempfile

    import numpy as np

    import tinynet as tn

    with tempfile.TemporaryDirectory(prefix="tinynet-demo-") as tmp:
        folder = Path(tmp)
        path = Path(save) if save else folder / "pima_diabetes_model.npz"
        model.save(path)
        x_path, y_path = folder / "x_test.npy", folder / "predictions.npy"
        np.save(x_path, x, allow_pickle=False)
        command = [sys.executable, "-m", "tinynet", "predict", str(path), "--input", str(x_path)]
        # the child must import this very tinynet, installed or not
        package_root = str(Path(tn.__file__).resolve().parents[1])
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        )
        result = subprocess.run(
            [*command, "--output", str(y_path)], capture_output=True, text=True, env=env, check=False
        )
        where = path if save else f"a temporary file ({path.name})"
        print(f"\nSaved the model to {where}: {path.stat().st_size:,} bytes.")
        if result.returncode != 0:
            print(f"Predicting in a fresh process failed:\n{result.stderr}", file=sys.stderr)
            return False
        fresh = np.load(y_path, allow_pickle=False)
    identical = fresh.dtype == predictions.dtype and np.array_equal(fresh, predictions)
    print(f"Loaded it in a fresh process: python -m tinynet predict {path.name} --input x_test.npy")
    print(f"  this process:  {' '.join(f'{v:.6f}' for v in predictions[:5, 0])} ...")
    print(f"  fresh process: {' '.join(f'{v:.6f}' for v in fresh[:5, 0])} ...")
    verdict = "identical, bit for bit" if identical else "DIFFERENT"
    print(f"  all {len(fresh)} predictions {verdict} ({fresh.dtype})")
    return identical


def inspect(args: argparse.Namespace) -> int:
    """Print a model file's report; 1 when it cannot be read or a checksum fails."""
    import json

    from .serialization import ModelFileError, inspect_model_file

    try:
        info = inspect_model_file(args.model)
    except (ModelFileError, OSError) as exc:
        print(f"tinynet inspect: error: {exc}", file=sys.stderr)
        return EXIT_BAD_MODEL
    if args.json:
        report = {
            "source": info.source,
            "size": info.size,
            "sha256": info.sha256,
            "checksums_ok": info.checksums_ok,
            "failed": [c.name for c in info.arrays if not c.ok],
            "manifest": info.manifest,
        }
        print(json.dumps(report, indent=1))
    else:
        print(info)
    return 0 if info.checksums_ok else EXIT_BAD_MODEL


class _InputError(Exception):
    """Input data the model cannot use (exit status 2)."""


def _read_input(path: Path):
    import numpy as np

    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            x = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            with open(path, encoding="utf-8") as f:
                first = f.readline()
            if not first.strip():
                raise _InputError(f"{path} is empty")
            skip = 0 if _numeric_row(first) else 1  # a header row of column names
            x = np.loadtxt(path, delimiter=",", ndmin=2, skiprows=skip, dtype=np.float64)
        else:
            raise _InputError(f"{path}: the input must be a .csv or .npy file")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise _InputError(f"cannot read {path}: {exc}") from None
    if x.dtype.kind not in "biuf":
        raise _InputError(f"{path} holds {x.dtype} values; the model needs numbers")
    return x


def _numeric_row(line: str) -> bool:
    try:
        [float(field) for field in line.split(",")]
    except ValueError:
        return False
    return True


def _fit_to_model(x, shape: tuple[int, ...], path: Path):
    """Shape the rows of ``x`` for a model whose samples have ``shape``; _InputError when they cannot fit."""
    import math

    width = math.prod(shape)
    described = f"input shape ({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''})"
    if tuple(x.shape) == shape:  # a single sample without its batch axis
        return x.reshape(1, *shape)
    if tuple(x.shape[1:]) == shape:
        return x
    if x.ndim == 2 and x.shape[1] == width:  # flat rows (a CSV) for a model of images
        return x.reshape(len(x), *shape)
    got = x.shape[1] if x.ndim == 2 else x.shape[1:]
    raise _InputError(
        f"{path} has rows of {got} values but the model expects {width} per sample ({described}); "
        "check the columns (and that a header row, if any, is the first line)"
    )


def predict(args: argparse.Namespace) -> int:
    """Predict with a saved model; 1 for a bad model file, 2 for unusable input."""
    import numpy as np

    from .serialization import ModelFileError, load_model

    input_path = Path(args.input)
    output = Path(args.output) if args.output else None
    if output is not None and output.suffix.lower() not in (".csv", ".npy"):
        print(f"tinynet predict: error: {output}: the output must be a .csv or .npy file", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        x = _read_input(input_path)
    except _InputError as exc:
        print(f"tinynet predict: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        model = load_model(args.model, compile=False)
    except (ModelFileError, OSError) as exc:
        print(f"tinynet predict: error: {exc}", file=sys.stderr)
        return EXIT_BAD_MODEL
    try:
        x = _fit_to_model(x, tuple(model.input_shape), input_path)
    except _InputError as exc:
        print(f"tinynet predict: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    y = model.predict(x, batch_size=args.batch_size)
    if output is not None and output.suffix.lower() == ".npy":
        np.save(output, y, allow_pickle=False)
        return 0
    # 9 (float32) or 17 (float64) significant digits: the text reads back to the same floats
    fmt = "%.9g" if y.dtype == np.float32 else "%.17g"
    rows = y.reshape(len(y), -1)
    if output is None:
        np.savetxt(sys.stdout, rows, fmt=fmt, delimiter=",")
    else:
        np.savetxt(output, rows, fmt=fmt, delimiter=",")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tinynet`` command."""
    parser = argparse.ArgumentParser(
        prog="tinynet", description="tinynet: deep learning from scratch in NumPy."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser(
        "demo", help="train the quickstart model on the Pima diabetes data and report metrics"
    )
    p_demo.add_argument("--epochs", type=int, default=100)
    p_demo.add_argument("--seed", type=int, default=0)
    p_demo.add_argument(
        "--verbose",
        type=int,
        default=0,
        help="1 shows a progress bar (one line per epoch when not a terminal)",
    )
    p_demo.add_argument("--save", metavar="PATH", help="keep the saved model file at PATH")
    p_demo.set_defaults(func=demo)

    p_inspect = sub.add_parser(
        "inspect", help="show a model file's architecture and training progress and verify its checksums"
    )
    p_inspect.add_argument("model", help="a model file (.npz)")
    p_inspect.add_argument("--json", action="store_true", help="print the manifest and results as JSON")
    p_inspect.set_defaults(func=inspect)

    p_predict = sub.add_parser("predict", help="load a model file and predict for the rows of a .csv or .npy")
    p_predict.add_argument("model", help="a model file (.npz)")
    p_predict.add_argument(
        "--input", "-i", required=True, help="the inputs: a .csv (one sample per row) or .npy"
    )
    p_predict.add_argument(
        "--output", "-o", help="where to write the predictions (.csv or .npy; default: CSV on stdout)"
    )
    p_predict.add_argument("--batch-size", type=int, default=None, help="samples per forward pass")
    p_predict.set_defaults(func=predict)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tinynet`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
