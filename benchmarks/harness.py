"""Timing harness: interleaved rounds, medians, paired ratios and the machine's description.

Why interleaved.  Machine noise (another process, a frequency change, a cache
flushed by something else) drifts over seconds; timing all tinynet rounds
and then all NumPy rounds lets that drift land on one side only.  Running the
contenders one after the other inside each round (A B C, then B C A, ...) makes
noise hit every side alike, and the ratio of two timings taken in the same
round (the *paired* ratio) cancels most of what remains.

Why fresh builds (:func:`rebuilt`).  See its docstring: memory placement is
luck that lasts as long as the arrays, so the training and inference
workloads build their contenders anew every few rounds.

Why a pause after PyTorch, and PyTorch last.  PyTorch's CPU build runs its
threads under Intel OpenMP, whose idle threads keep spinning for up to 200 ms
after a parallel region (``KMP_BLOCKTIME``).  On a 2-core machine they would
take the cores from whoever runs next, so an untimed pause follows every
PyTorch timing (:data:`PAUSE_AFTER`), leaving PyTorch's own timing untouched.
A run that starts right after the pause starts on an idle machine, and with
all three contenders rotated A B C, B C A, C A B tinynet would start there
twice as often as NumPy; so PyTorch runs last in every round and tinynet and
NumPy alternate in front, each the first after the pause every other round
(and on across :func:`rebuilt`'s builds: restarted in every build of three
rounds, the alternation put tinynet in front twice as often).
The lead matters: on the 100-64-10 MLP, over nine runs of 105 rounds, the
paired ratio was 1.08 to 1.14 in the rounds tinynet led and 1.04 to 1.10 in
those NumPy led, higher in the first in every run (the first after the pause
starts with cold caches, and tinynet has more to bring back).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Result:
    """The timings of one workload: seconds per call, per contender, per round."""

    name: str
    times: dict[str, list[float]] = field(default_factory=dict)
    note: str = ""

    def median(self, who: str) -> float:
        return statistics.median(self.times[who])

    def paired_ratio(self, num: str, den: str) -> float:
        """Median over the rounds of ``time[num] / time[den]`` measured in the same round."""
        return statistics.median(a / b for a, b in zip(self.times[num], self.times[den], strict=True))


#: Untimed seconds of quiet after a contender's timing, for those that leave threads spinning.
PAUSE_AFTER = {"torch": 0.25}


def interleaved(
    name: str,
    contenders: dict[str, Callable[[], object]],
    rounds: int,
    repeat: int = 1,
    warmup: int = 1,
    first_round: int = 0,
) -> Result:
    """Time every contender ``rounds`` times, rotating the order each round.

    Parameters
    ----------
    name : str
        The workload's label.
    contenders : dict of str to callable
        What to time; each call is one unit of work (an epoch, a prediction).
    rounds : int
        Number of timed rounds.
    repeat : int
        Calls per timing (for work too short to time alone); the time reported
        is per call.
    warmup : int
        Untimed calls first: buffers get allocated, the optimizer plans its
        flat groups, BLAS starts its threads.
    first_round : int
        The number of rounds already run by earlier calls whose results will be
        pooled with these (:func:`rebuilt`): the rotation continues from there,
        so that over all of them each contender leads equally often.
    """
    result = Result(name, {who: [] for who in contenders})
    for who, fn in contenders.items():
        for _ in range(warmup):
            fn()
        time.sleep(PAUSE_AFTER.get(who, 0.0))
    # the contenders followed by a pause run last in every round, and the others rotate: so each
    # of those is the first to run after a pause equally often (see the module docstring)
    paused = [who for who in contenders if PAUSE_AFTER.get(who)]
    order = [who for who in contenders if who not in paused]
    for r in range(first_round, first_round + rounds):
        k = r % len(order)
        for who in order[k:] + order[:k] + paused:
            fn = contenders[who]
            t0 = time.perf_counter()
            for _ in range(repeat):
                fn()
            result.times[who].append((time.perf_counter() - t0) / repeat)
            time.sleep(PAUSE_AFTER.get(who, 0.0))  # untimed: let spinning threads go idle
    return result


def rebuilt(
    name: str,
    make: Callable[[], dict[str, Callable[[], object]]],
    rounds: int,
    per_build: int = 3,
    repeat: int = 1,
    warmup: int = 1,
) -> Result:
    """:func:`interleaved` over contenders built afresh (``make()``) every ``per_build`` rounds.

    Why.  Where a process's arrays land in memory (which of them share cache
    sets, how they align) changes a step's time by several percent, on either
    side, and stays fixed for as long as the arrays live: timing one build of
    each contender 21 times measures that build's luck very precisely (paired
    ratios of W1 at batch 32 from 0.97 to 1.18 between builds, each within 0.01
    over 27 rounds).  Pooling the rounds of several builds measures the
    implementations instead.
    """
    result = Result(name, {})
    done = 0
    while done < rounds:
        k = min(per_build, rounds - done)
        # the rotation runs on across builds: restarted in every build of 3 rounds, it would
        # put the first contender in front in 2 rounds of 3
        part = interleaved(name, make(), k, repeat=repeat, warmup=warmup, first_round=done)
        for who, times in part.times.items():
            result.times.setdefault(who, []).extend(times)
        done += k
    return result


def blas_description() -> str:
    """The BLAS numpy uses and its thread count (threadpoolctl when installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl to report it)"
    parts = [
        f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture')}, "
        f"{info.get('num_threads')} thread{'' if info.get('num_threads') == 1 else 's'})"
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]
    return "; ".join(parts) or "none found"


def blas_threads() -> int | None:
    """numpy's BLAS thread count, or None when threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "blas"]
    return counts[0] if counts else None


def cpu_description() -> str:
    """The CPU model (from /proc/cpuinfo on Linux) and the number of cores usable."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores"


def environment() -> dict[str, str]:
    """What a reader needs to compare a table with their own machine's."""
    env = {
        "cpu": cpu_description(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_description(),
    }
    try:
        import torch

        k = torch.get_num_threads()
        env["torch"] = f"{torch.__version__} ({k} thread{'' if k == 1 else 's'})"
    except ImportError:
        env["torch"] = "not installed (PyTorch columns skipped)"
    return env


def format_seconds(t: float) -> str:
    """A duration with a unit that keeps three significant digits."""
    if t >= 1.0:
        return f"{t:.3g} s"
    if t >= 1e-3:
        return f"{t * 1e3:.3g} ms"
    return f"{t * 1e6:.3g} µs"
