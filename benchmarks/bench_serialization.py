"""Save and load speed and memory of a 25-million-parameter model file, against plain numpy.

Run:  python benchmarks/bench_serialization.py [--rounds 7] [--dir /tmp]

What it measures (the numbers in docs/saving-and-deploying.md come from here):

1. Time.  A model ``Dense(5000, input_dim=5000)`` (25,005,000 float32
   parameters, 100 MB) is saved with ``model.save`` and loaded back with
   ``tn.load_model``, against the same arrays written by ``np.savez`` to a file
   that is then flushed and fsynced (``model.save`` fsyncs too, for its atomic
   rename) and read back by ``np.load``, every array materialized.  Rounds
   alternate which of the two goes first, so that neither always meets a warm
   or cold page cache; the medians are compared.  Target: tinynet within 1.5x.
2. Memory.  Each loader runs in a fresh process that reports its peak resident
   set size (``VmHWM`` of ``/proc/self/status``; ``ru_maxrss`` elsewhere) before
   and after loading; the difference is the peak extra memory of the load.
   Target: below 2x the model's 100 MB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
UNITS = 5000

_MEMORY_PROBE = r"""
import resource, sys
import numpy as np
from tinynet.serialization import load_model

def peak_mb():
    # VmHWM is this process image's own peak; ru_maxrss would carry over the parent's peak
    # across fork and exec, hiding the load behind the benchmark's own memory
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except OSError:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux, bytes on macOS
        return kb / 1024 if sys.platform != "darwin" else kb / 2**20

kind, path = sys.argv[1], sys.argv[2]
before = peak_mb()
if kind == "tinynet":
    model = load_model(path)
    total = sum(p.nbytes for p in model.named_params().values())
else:
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    total = sum(a.nbytes for a in arrays.values())
print(before, peak_mb(), total / 2**20)
"""


def build_model():
    import tinynet as tn

    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(UNITS, input_dim=UNITS)])
    model.compile(loss="mse", optimizer="sgd")  # plain SGD keeps no optimizer state: the file is the weights
    model.build()
    return model


def numpy_save(arrays: dict[str, np.ndarray], path: Path) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())


def numpy_load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def time_rounds(model, arrays, folder: Path, rounds: int) -> dict[str, list[float]]:
    from tinynet.serialization import load_model

    times: dict[str, list[float]] = {
        "tinynet save": [],
        "tinynet load": [],
        "numpy save": [],
        "numpy load": [],
    }
    tn_path, np_path = folder / "model.npz", folder / "arrays.npz"

    def timed(who: str, save, load, path: Path):
        def run():
            t0 = time.perf_counter()
            save(path)
            t1 = time.perf_counter()
            loaded = load(path)
            t2 = time.perf_counter()
            times[f"{who} save"].append(t1 - t0)
            times[f"{who} load"].append(t2 - t1)
            del loaded

        return run

    run_tinynet = timed("tinynet", model.save, load_model, tn_path)
    run_numpy = timed("numpy", lambda path: numpy_save(arrays, path), numpy_load, np_path)

    run_tinynet(), run_numpy()  # warm-up: first-touch page faults, imports
    for key in times:
        times[key].clear()
    for r in range(rounds):
        for run in (run_tinynet, run_numpy) if r % 2 == 0 else (run_numpy, run_tinynet):
            run()
    return times


def peak_memory(kind: str, path: Path) -> tuple[float, float]:
    """(peak extra MB while loading, MB of arrays loaded), measured in a fresh process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, kind, str(path)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.split()
    before, after, total = map(float, out)
    return after - before, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--dir", default=None, help="folder for the files (default: a temporary folder)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    model = build_model()
    arrays = {name.replace("/", "_"): value for name, value in model.named_params().items()}
    n_params = model.count_params()
    size_mb = sum(a.nbytes for a in arrays.values()) / 2**20
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        times = time_rounds(model, arrays, folder, args.rounds)
        mem_tn, _ = peak_memory("tinynet", folder / "model.npz")
        mem_np, _ = peak_memory("numpy", folder / "arrays.npz")
        file_mb = (folder / "model.npz").stat().st_size / 2**20

    med = {key: statistics.median(values) for key, values in times.items()}
    tn_total = med["tinynet save"] + med["tinynet load"]
    np_total = med["numpy save"] + med["numpy load"]
    print(f"Model: Dense({UNITS}, input_dim={UNITS}), {n_params:,} float32 parameters, {size_mb:.1f} MiB")
    print(f"File: {file_mb:.1f} MiB; {args.rounds} interleaved rounds, medians; numpy {np.__version__}")
    load = f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "unknown"
    print(f"Machine: {os.cpu_count()} CPUs, load average {load} (the checksum thread needs a free core)")
    print()
    print(f"{'':24}{'save (s)':>10}{'load (s)':>10}{'total (s)':>11}{'peak extra memory':>20}")
    print(
        f"{'tinynet save/load_model':24}{med['tinynet save']:>10.3f}{med['tinynet load']:>10.3f}"
        f"{tn_total:>11.3f}{mem_tn:>14.0f} MiB ({mem_tn / size_mb:.2f}x)"
    )
    print(
        f"{'np.savez+fsync/np.load':24}{med['numpy save']:>10.3f}{med['numpy load']:>10.3f}"
        f"{np_total:>11.3f}{mem_np:>14.0f} MiB ({mem_np / size_mb:.2f}x)"
    )
    print()
    ratio = tn_total / np_total
    print(f"time ratio tinynet / numpy: {ratio:.2f} (target <= 1.5): {'OK' if ratio <= 1.5 else 'MISSED'}")
    print(
        f"peak extra memory while loading: {mem_tn / size_mb:.2f}x the model's size (target < 2): "
        f"{'OK' if mem_tn < 2 * size_mb else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
