"""Throughput of ``tinynet serve`` on loopback: requests per second for 1-row and 100-row requests.

Run:  python benchmarks/bench_serving.py [--requests 400] [--clients 1 4 8] [--model digits|pima]

What it measures (the numbers in docs/deploying.md come from here): a model is
saved, ``python -m tinynet serve`` is started as a separate process on
127.0.0.1 with a free port, and N client threads (``http.client``, one
connection per request, as the stdlib server closes each) send a fixed number
of ``POST /predict`` requests of 1 row and of 100 rows; the wall time of all
requests gives requests/s and rows/s.  Every answer is checked for status 200.
The server runs predictions under one lock, so on 2 cores the clients and the
server share the machine; the numbers are for loopback only (no network).

The models: ``digits``, the digits CNN of tests/test_cnn_digits.py (untrained:
speed does not depend on the weights), or ``pima``, the seed model
Dense(10, relu) -> Dense(1, sigmoid) on 8 features.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def build_model(name: str):
    import tinynet as tn
    from tinynet.layers import Conv2D, Dense, Flatten, MaxPool2D

    tn.set_seed(0)
    if name == "pima":
        model = tn.Sequential([Dense(10, input_dim=8, activation="relu"), Dense(1, activation="sigmoid")])
    else:
        model = tn.Sequential(
            [
                Conv2D(16, 3, padding="same", activation="relu", input_shape=(1, 8, 8)),
                MaxPool2D(2),
                Conv2D(32, 3, padding="same", activation="relu"),
                Flatten(),
                Dense(10, activation="softmax"),
            ]
        )
    model.build()
    return model


def start_server(path: Path) -> tuple[subprocess.Popen, int]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "tinynet", "serve", str(path), "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(30)
    if not line or not line[0].startswith("serving "):
        process.kill()
        raise RuntimeError(f"the server did not start: {line}")
    return process, int(line[0].rsplit(":", 1)[1])


def post(port: int, body: bytes) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/predict", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def measure(port: int, body: bytes, requests: int, clients: int) -> float:
    """Requests per second for ``requests`` POSTs of ``body`` sent by ``clients`` threads."""
    for _ in range(5):  # warm up
        post(port, body)
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        statuses = list(pool.map(lambda _: post(port, body), range(requests)))
    elapsed = time.perf_counter() - start
    if any(s != 200 for s in statuses):
        raise RuntimeError(f"some requests failed: {sorted(set(statuses))}")
    return requests / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per measurement (default 400)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8], help="concurrent clients")
    parser.add_argument("--model", choices=("digits", "pima"), default="digits")
    args = parser.parse_args(argv)
    import tinynet as tn

    model = build_model(args.model)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.npz"
        tn.save_model(model, path)
        process, port = start_server(path)
        try:
            print(
                f"model {args.model} ({model.count_params():,} parameters), {os.cpu_count()} CPUs, loopback"
            )
            print(f"{'rows/request':>12}  {'clients':>7}  {'requests/s':>10}  {'rows/s':>9}")
            for rows in (1, 100):
                x = rng.normal(size=(rows, *model.input_shape)).astype(np.float32)
                body = json.dumps({"instances": x.tolist()}).encode()
                for clients in args.clients:
                    rate = measure(port, body, args.requests, clients)
                    print(f"{rows:>12}  {clients:>7}  {rate:>10.0f}  {rate * rows:>9.0f}")
        finally:
            process.terminate()
            process.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
