"""Run the benchmark suite: ``python -m benchmarks`` (``--quick`` for a 3-round smoke run).

Workloads (issue 7):

W1  MLP 784-256-128-10 (ReLU, softmax + cross-entropy), Adam, float32, batch 128, 10,000 samples, one epoch.
W2  Dense(10, relu) on 8 inputs -> Dense(1, sigmoid), binary cross-entropy, Adam, batch 32,
    768 samples, 10 epochs (per-call overhead).
W3  Conv2D(16, 3x3, same, relu) -> MaxPool 2x2 -> Flatten -> Dense(10, softmax) on the 1,797 8x8
    digits, Adam, batch 64, one epoch.
W4  predict with the W1 model: one sample, and 1,000 samples.
W5  save + load of a model with 25 million float32 parameters, against np.savez (with fsync) + np.load.
W6  Embedding(27, 16) -> LSTM(64, return_sequences) -> Dense(27, softmax), sparse cross-entropy over
    (4,096, 16) token sequences, Adam, batch 128, one epoch (:mod:`benchmarks.bench_lstm`).
W7  the tiny GPT of the names test (2 pre-norm blocks, 4 heads, width 64, context 16, vocabulary 27),
    sparse cross-entropy over (4,096, 16) token sequences, Adam, batch 128, one epoch
    (:mod:`benchmarks.bench_gpt`).

For each, tinynet, the minimal hand-written NumPy loop (:mod:`benchmarks.minimal_numpy`) and
PyTorch on the CPU (when installed) run interleaved in one process; the table gives the
medians and the paired ratios.  ``--extra`` adds other shapes (the goals are meant to hold
for them too).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

import tinynet as tn

from . import bench_gpt, bench_lstm, bench_serialization, minimal_numpy, torch_impl
from .harness import Result, blas_threads, environment, format_seconds, interleaved, rebuilt

GOALS = {
    "W1": 1.10,
    "W2": 1.5,
    "W3": 1.25,
    "W4 (1 sample)": 1.5,
    "W4 (1,000)": 1.15,
    "W5": 1.5,
    "W6": 1.25,
    "W7": 1.25,
}


def goal_for(name: str) -> float | None:
    """The goal of a workload; a variant ("W1 variant: ...") has its workload's goal."""
    return GOALS.get(name, GOALS.get(name.split(" variant")[0]))


#: ``--extra``: other layer, batch and image sizes, each held to its workload's goal;
#: each entry is ``(name, run)`` with ``run(name, rounds)``
VARIANTS: list[tuple[str, Callable[[str, int], Result]]] = [
    (
        "W1 variant: 784-512-512-10, batch 64",
        lambda name, r: mlp_workload(name, [784, 512, 512, 10], "softmax", 10_000, 64, 1, r),
    ),
    (
        "W1 variant: batch 32",
        lambda name, r: mlp_workload(name, [784, 256, 128, 10], "softmax", 10_000, 32, 1, r),
    ),
    (
        "W1 variant: batch 512",
        lambda name, r: mlp_workload(name, [784, 256, 128, 10], "softmax", 10_000, 512, 1, r),
    ),
    (
        "W1 variant: 100-64-10, batch 32",
        lambda name, r: mlp_workload(name, [100, 64, 10], "softmax", 10_000, 32, 1, r),
    ),
    (
        "W2 variant: 20-32-16-1, batch 16",
        lambda name, r: mlp_workload(name, [20, 32, 16, 1], "sigmoid", 768, 16, 10, r),
    ),
    ("W2 variant: batch 128", lambda name, r: mlp_workload(name, [8, 10, 1], "sigmoid", 768, 128, 10, r)),
    ("W3 variant: 16x16 images", lambda name, r: cnn_workload(name, r, scale=2)),
    ("W3 variant: 32 filters", lambda name, r: cnn_workload(name, r, filters=32)),
    ("W3 variant: batch 16", lambda name, r: cnn_workload(name, r, batch=16)),
    ("W3 variant: batch 256", lambda name, r: cnn_workload(name, r, batch=256)),
]


def _one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(labels), k), np.float32)
    out[np.arange(len(labels)), labels] = 1.0
    return out


def _tinynet_mlp(sizes: list[int], head: str) -> tn.Sequential:
    layers = [tn.layers.Dense(sizes[1], "relu", input_dim=sizes[0])]
    layers += [tn.layers.Dense(k, "relu") for k in sizes[2:-1]]
    layers.append(tn.layers.Dense(sizes[-1], head))
    model = tn.Sequential(layers)
    loss = "categorical_crossentropy" if head == "softmax" else "binary_crossentropy"
    model.compile(loss=loss, optimizer=tn.optimizers.Adam(1e-3))
    return model


def mlp_model_and_data(sizes: list[int], head: str, n: int):
    """The seeded tinynet MLP of W1/W2 and its random float32 data ``(model, x, y)``."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, sizes[0])).astype(np.float32)
    if head == "softmax":
        y = _one_hot(rng.integers(0, sizes[-1], n), sizes[-1])
    else:
        y = (rng.random((n, 1)) < 0.5).astype(np.float32)
    tn.set_seed(0)
    return _tinynet_mlp(sizes, head), x, y


# ---------------------------------------------------------------------------- workloads
def mlp_workload(
    name: str, sizes: list[int], head: str, n: int, batch: int, epochs: int, rounds: int
) -> Result:
    """W1 and W2: ``fit`` for ``epochs`` epochs of an MLP with a fused head."""

    def make() -> dict[str, Callable[[], object]]:
        model, x, y = mlp_model_and_data(sizes, head, n)
        ref = minimal_numpy.MinimalMLP(sizes, head, batch)
        contenders: dict[str, Callable[[], object]] = {
            "tinynet": lambda: model.fit(x, y, epochs=epochs, batch_size=batch, verbose=0),
            "numpy": lambda: [ref.fit_epoch(x, y) for _ in range(epochs)],
        }
        if torch_impl.available():
            trainer = torch_impl.mlp_trainer(sizes, head, x, y, batch)
            contenders["torch"] = lambda: [trainer.fit_epoch() for _ in range(epochs)]
        return contenders

    return rebuilt(name, make, rounds)


def cnn_model_and_data(scale: int = 1, filters: int = 16, batch: int = 64):
    """The W3 model (compiled) and data: the digits as NCHW images (``scale`` > 1 upsamples them)."""
    from tinynet.layers.conv import Conv2D
    from tinynet.layers.pooling import MaxPool2D

    data = np.load(os.path.join(os.path.dirname(tn.__file__), "datasets", "data", "digits.npz"))
    x = (data["x"].astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    if scale > 1:
        x = np.ascontiguousarray(x.repeat(scale, axis=2).repeat(scale, axis=3))
    y = _one_hot(data["y"].astype(np.int64), 10)
    tn.set_seed(0)
    model = tn.Sequential(
        [
            Conv2D(filters, 3, padding="same", activation="relu", input_shape=x.shape[1:]),
            MaxPool2D(2),
            tn.layers.Flatten(),
            tn.layers.Dense(10, "softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer=tn.optimizers.Adam(1e-3))
    return model, x, y, batch, 1


def cnn_workload(name: str, rounds: int, scale: int = 1, filters: int = 16, batch: int = 64) -> Result:
    """W3: one epoch of a small CNN on the digits (``scale`` > 1 for other image sizes)."""

    def make() -> dict[str, Callable[[], object]]:
        model, x, y, _, _ = cnn_model_and_data(scale, filters, batch)
        image = x.shape[1:]
        ref = minimal_numpy.MinimalCNN(image, filters, 3, 10, batch)
        contenders: dict[str, Callable[[], object]] = {
            "tinynet": lambda: model.fit(x, y, epochs=1, batch_size=batch, verbose=0),
            "numpy": lambda: ref.fit_epoch(x, y),
        }
        if torch_impl.available():
            trainer = torch_impl.cnn_trainer(image, filters, 3, 10, x, y, batch)
            contenders["torch"] = trainer.fit_epoch
        return contenders

    return rebuilt(name, make, rounds)


def predict_workload(name: str, sizes: list[int], n: int, rounds: int) -> Result:
    """W4: inference with the W1 model on ``n`` samples (repeated calls when they are short)."""

    def make() -> dict[str, Callable[[], object]]:
        rng = np.random.default_rng(1)
        x = rng.standard_normal((n, sizes[0])).astype(np.float32)
        tn.set_seed(0)
        model = _tinynet_mlp(sizes, "softmax")
        model.build()
        ref = minimal_numpy.MinimalMLP(sizes, "softmax", 128)
        contenders: dict[str, Callable[[], object]] = {
            "tinynet": lambda: model.predict(x),
            "numpy": lambda: ref.predict(x),
        }
        if torch_impl.available():
            torch_predict = torch_impl.mlp_predictor(sizes)
            contenders["torch"] = lambda: torch_predict(x)
        return contenders

    repeat = 2000 if n == 1 else 20
    return rebuilt(name, make, rounds, repeat=repeat, warmup=repeat)


def sequence_workload(name: str, rounds: int, bench: ModuleType, reference: Callable[[], Any]) -> Result:
    """W6 and W7: one epoch of a language model, :mod:`benchmarks.bench_lstm` or
    :mod:`benchmarks.bench_gpt` (``bench``; ``reference`` makes its hand-written loop)."""

    def make() -> dict[str, Callable[[], object]]:
        x, y = bench.data()
        model = bench.tinynet_model()
        ref = reference()
        contenders: dict[str, Callable[[], object]] = {
            "tinynet": lambda: model.fit(x, y, epochs=1, batch_size=bench.BATCH, verbose=0),
            "numpy": lambda: ref.fit_epoch(x, y),
        }
        if torch_impl.available():
            contenders["torch"] = bench.torch_trainer(x, y).fit_epoch
        return contenders

    return rebuilt(name, make, rounds)


def serialization_workload(name: str, rounds: int) -> Result:
    """W5: save + load of a 25-million-parameter model.

    The model and the NumPy side come from :mod:`benchmarks.bench_serialization`
    (the serialization's own benchmark, which also measures memory), so both agree.
    """
    model = bench_serialization.build_model()
    arrays = {f"arr_{i}": w for i, w in enumerate(model.get_weights())}
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "model.npz"), os.path.join(tmp, "plain.npz")

        def tinynet_io():
            model.save(a)
            return tn.load_model(a)

        def numpy_io():
            bench_serialization.numpy_save(arrays, b)
            return bench_serialization.numpy_load(b)

        return interleaved(name, {"tinynet": tinynet_io, "numpy": numpy_io}, rounds)


# ------------------------------------------------------------------------------ report
def table(results: list[Result]) -> str:
    """The Markdown table of medians and paired ratios."""
    has_torch = any("torch" in r.times for r in results)
    head = ["workload", "tinynet", "minimal NumPy", "tinynet / NumPy", "goal"]
    if has_torch:
        head += ["PyTorch", "PyTorch / tinynet"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        goal = goal_for(r.name)
        ratio = r.paired_ratio("tinynet", "numpy")
        verdict = "" if goal is None else f"<= {goal:.2f} " + ("met" if ratio <= goal else "**missed**")
        cells = [r.name, format_seconds(r.median("tinynet")), format_seconds(r.median("numpy"))]
        cells += [f"{ratio:.2f}", verdict]
        if has_torch:
            if "torch" in r.times:
                cells += [format_seconds(r.median("torch")), f"{r.paired_ratio('torch', 'tinynet'):.2f}"]
            else:
                cells += ["-", "-"]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 11 (a smoke run)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per workload")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated workloads, e.g. W1,W4; with --extra a part of a variant's name selects it "
        "too (--only 100-64-10; --only W1 then also runs W1's variants; X: every variant)",
    )
    parser.add_argument("--extra", action="store_true", help="also run other layer, batch and image sizes")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even when it is installed")
    parser.add_argument("--threads", type=int, default=None, help="limit numpy's BLAS (and torch) threads")
    parser.add_argument("--markdown", default=None, help="also write the report to this file")
    args = parser.parse_args(argv)
    if args.no_torch:
        torch_impl.torch = None
    if args.threads:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            parser.error("--threads needs threadpoolctl (pip install threadpoolctl)")
        threadpool_limits(args.threads, user_api="blas")
    rounds = args.rounds or (3 if args.quick else 11)
    only = {w.strip().upper() for w in args.only.split(",") if w.strip()}

    torch_impl.set_threads(blas_threads())
    env = environment()
    lines = [f"- {k}: {v}" for k, v in env.items()]
    if torch_impl.available():
        lines.append("- PyTorch threads set to numpy's BLAS thread count")
    lines.append(f"- rounds: {rounds} (interleaved; medians; ratios paired per round)")
    if hasattr(os, "getloadavg"):
        lines.append(
            "- load average at start (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
        )
    print("\n".join(lines), flush=True)

    jobs: list[tuple[str, str, Callable[[], Result]]] = [
        ("W1", "W1", lambda: mlp_workload("W1", [784, 256, 128, 10], "softmax", 10_000, 128, 1, rounds)),
        ("W2", "W2", lambda: mlp_workload("W2", [8, 10, 1], "sigmoid", 768, 32, 10, rounds)),
        ("W3", "W3", lambda: cnn_workload("W3", rounds)),
        ("W4", "W4 (1 sample)", lambda: predict_workload("W4 (1 sample)", [784, 256, 128, 10], 1, rounds)),
        ("W4", "W4 (1,000)", lambda: predict_workload("W4 (1,000)", [784, 256, 128, 10], 1000, rounds)),
        ("W5", "W5", lambda: serialization_workload("W5", rounds)),
        ("W6", "W6", lambda: sequence_workload("W6", rounds, bench_lstm, bench_lstm.MinimalLSTM)),
        ("W7", "W7", lambda: sequence_workload("W7", rounds, bench_gpt, bench_gpt.MinimalGPT)),
    ]
    if args.extra:
        jobs += [("X", name, lambda name=name, run=run: run(name, rounds)) for name, run in VARIANTS]
    results = []
    for key, name, job in jobs:
        if only and key not in only and not any(part in name.upper() for part in only):
            continue
        result = job()
        results.append(result)
        print(table([result]).splitlines()[-1], flush=True)
    if hasattr(os, "getloadavg"):
        lines.append("- load average at end: " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    report = "\n".join(lines) + "\n\n" + table(results)
    print("\n" + report)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(report + "\n")
    return 0
