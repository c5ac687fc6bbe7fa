"""The ``tinynet`` command line (also ``python -m tinynet``).

``tinynet demo``
    Train the classic Keras example (Dense 10 relu on 8 inputs, Dense 1
    sigmoid, binary cross-entropy, Adam) on the bundled Pima Indians diabetes
    data, evaluate it on a held-out split and print the metrics.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


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
    p_demo.add_argument("--verbose", type=int, default=0, help="1 prints one line per epoch")
    p_demo.set_defaults(func=demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tinynet`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
