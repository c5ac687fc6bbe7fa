"""The fixed cost of a training step: ``python -m benchmarks.overhead [--rounds N] [--threads 1]``.

On small models a step's time is mostly per-call overhead, not arithmetic, so
tinynet / NumPy there is set by how much Python the layer protocol adds to
each step.  For a few MLPs this script measures it two ways, on one fixed
batch (no shuffling, no epoch bookkeeping):

* the time of ``model.train_step`` against the reference loop's ``step``
  (:class:`benchmarks.minimal_numpy.MinimalMLP`), interleaved, median of the
  rounds, and the difference;
* the Python work of one step on each side: the Python functions called and
  the bytecode instructions run, counted with :func:`sys.settrace`.  The
  counts are exact and do not depend on the machine; the NumPy calls
  themselves are the same on both sides.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from . import minimal_numpy
from .harness import blas_threads
from .run_all import mlp_model_and_data

#: (layer sizes, batch): the smallest step, W2's model, the small MLP of W1's variants
SHAPES = [([2, 2, 2], 1), ([8, 10, 1], 32), ([100, 64, 10], 32)]


def _contenders(sizes: list[int], batch: int):
    head = "sigmoid" if sizes[-1] == 1 else "softmax"
    model, x, y = mlp_model_and_data(sizes, head, max(batch, 64))
    ref = minimal_numpy.MinimalMLP(sizes, head, batch)
    xb, yb = x[:batch].copy(), y[:batch].copy()
    unit_rows = head == "softmax"  # what fit passes for one-hot targets
    return (
        lambda: model.train_step(xb, yb, rows_sum_to_one=unit_rows),
        lambda: ref.step(xb, yb),
    )


def python_work_per_step(step, steps: int = 20) -> tuple[float, float]:
    """Python function calls and bytecode instructions per call of ``step``, counted with
    :func:`sys.settrace` (exact, and the same on every machine)."""
    counts = {"call": 0, "opcode": 0}

    def trace(frame, event, arg):
        frame.f_trace_opcodes = True
        if event in counts:
            counts[event] += 1
        return trace

    step()  # warm-up: buffers, plans
    sys.settrace(trace)
    try:
        for _ in range(steps):
            step()
    finally:
        sys.settrace(None)
    return counts["call"] / steps, counts["opcode"] / steps


def time_per_step(tinynet_step, numpy_step, rounds: int, steps: int = 300) -> tuple[float, float]:
    """Median seconds per step of each, over interleaved rounds of ``steps`` steps."""
    times: dict[str, list[float]] = {"tinynet": [], "numpy": []}
    pairs = [("tinynet", tinynet_step), ("numpy", numpy_step)]
    for r in range(rounds):
        for who, step in pairs if r % 2 == 0 else pairs[::-1]:
            start = time.perf_counter()
            for _ in range(steps):
                step()
            times[who].append((time.perf_counter() - start) / steps)
    return statistics.median(times["tinynet"]), statistics.median(times["numpy"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.overhead", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--threads", type=int, default=None, help="limit numpy's BLAS threads")
    args = parser.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads, user_api="blas")
    print(f"BLAS threads: {blas_threads()}; {args.rounds} interleaved rounds of 300 steps\n")
    print("| MLP, batch | tinynet | reference | difference | Python calls | bytecodes |")
    print("|---|---|---|---|---|---|")
    with np.errstate(over="ignore", under="ignore"):  # as fit and the reference's epoch loop
        for sizes, batch in SHAPES:
            tinynet_step, numpy_step = _contenders(sizes, batch)
            calls_t, ops_t = python_work_per_step(tinynet_step)
            calls_n, ops_n = python_work_per_step(numpy_step)
            t, n = time_per_step(tinynet_step, numpy_step, args.rounds)
            label = "-".join(map(str, sizes))
            print(
                f"| {label}, {batch} | {t * 1e6:.1f} µs | {n * 1e6:.1f} µs | {(t - n) * 1e6:.1f} µs "
                f"| {calls_t:.0f} / {calls_n:.0f} | {ops_t:.0f} / {ops_n:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
