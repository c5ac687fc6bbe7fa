"""The real ``tinynet`` process (``python -m tinynet``): pipes, standard streams, exit statuses, encodings."""

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn

from .helpers import small_model

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # seconds; a hang fails the test instead of the suite


def env(**extra) -> dict[str, str]:
    """The environment of a child that imports this very tinynet."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path, **extra)


def tinynet(*args, stdin=None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinynet", *map(str, args)],
        input=stdin,
        capture_output=True,
        env=kwargs.pop("environment", None) or env(),
        timeout=TIMEOUT,
        check=False,
        **kwargs,
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_process")
    model = small_model(epochs=1)
    model.save(folder / "model.npz")
    return tn.load_model(folder / "model.npz", compile=False), folder / "model.npz"


def test_version():
    result = tinynet("--version")
    assert result.returncode == 0 and result.stdout.decode().strip() == f"tinynet {tn.__version__}"


def test_no_command_prints_the_help_on_stderr_with_status_2():
    result = tinynet()
    assert result.returncode == 2 and result.stdout == b""
    err = result.stderr.decode()
    assert (
        err.startswith("usage: tinynet") and "predict" in err and "inspect" in err and "Traceback" not in err
    )
    result = tinynet("--help")
    assert result.returncode == 0 and b"usage: tinynet" in result.stdout


def test_dash_reads_stdin_and_writes_stdout(saved):
    model, path = saved
    x = np.random.default_rng(0).normal(size=(4, 3))
    text = "\n".join(",".join(repr(float(v)) for v in row) for row in x).encode()
    result = tinynet("predict", path, "--input", "-", "--output", "-", stdin=text)
    assert result.returncode == 0, result.stderr
    printed = np.loadtxt(io.StringIO(result.stdout.decode()), delimiter=",", dtype=np.float32)
    np.testing.assert_array_equal(printed, model.predict(x))

    buffer = io.BytesIO()
    np.save(buffer, x)  # a .npy on standard input is recognised by its magic string
    result = tinynet("predict", path, "-i", "-", "-o", "-", "--output-format", "npy", stdin=buffer.getvalue())
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.load(io.BytesIO(result.stdout)), model.predict(x))

    result = tinynet("predict", "-", "-i", "-", stdin=b"")
    assert result.returncode == 2 and b"cannot both be read from standard input" in result.stderr
    result = tinynet("inspect", "-", stdin=path.read_bytes())  # a model on standard input
    assert result.returncode == 0 and b"File        <stdin>" in result.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_as_input_is_refused_and_does_not_hang(saved, tmp_path):
    _, path = saved
    for name in ("x.csv", "x.npy"):
        os.mkfifo(tmp_path / name)
        result = tinynet("predict", path, "--input", tmp_path / name)  # no writer ever comes
        assert result.returncode == 2
        assert b"it is a FIFO (named pipe), not a regular file" in result.stderr
        assert b"Traceback" not in result.stderr


def test_predict_into_a_pipe_closed_early_stops_quietly(saved, tmp_path):
    """``tinynet predict ... | head -1``: the reader leaves after one line."""
    _, path = saved
    np.save(tmp_path / "x.npy", np.ones((200_000, 3), np.float32))  # ~2 MB of CSV: more than a pipe holds
    process = subprocess.Popen(
        [sys.executable, "-m", "tinynet", "predict", str(path), "-i", str(tmp_path / "x.npy")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(),
    )
    try:
        assert process.stdout.readline().count(b",") == 1
        process.stdout.close()
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 141, err
    assert err == b""


@pytest.mark.parametrize("command", ["inspect", "inspect --json", "predict", "--help"])
def test_a_closed_stdout_gives_no_traceback(saved, tmp_path, command):
    _, path = saved
    np.save(tmp_path / "x.npy", np.ones((3, 3), np.float32))
    args = {
        "inspect": ["inspect", path],
        "inspect --json": ["inspect", path, "--json"],
        "predict": ["predict", path, "-i", tmp_path / "x.npy"],
        "--help": ["--help"],
    }[command]
    read, write = os.pipe()
    os.close(read)  # no reader at all: the first write fails with EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "-m", "tinynet", *map(str, args)],
            stdout=write,
            stderr=subprocess.PIPE,
            env=env(),
            timeout=TIMEOUT,
            check=False,
        )
    finally:
        os.close(write)
    # argparse itself ignores a failed write of --help (status 0); every other output stops with 141
    assert result.returncode == (0 if command == "--help" else 141), result.stderr
    assert result.stderr == b""


def test_names_the_terminal_cannot_encode_are_escaped(tmp_path):
    tn.set_seed(0)
    model = tn.Sequential(
        [tn.layers.Dense(2, input_dim=3, name="dense_\u00e9t\u00e9")], name="mod\u00e8le_\u6a21\u578b"
    )
    model.build()
    model.save(tmp_path / "m.npz")
    ascii_terminal = env(PYTHONIOENCODING="ascii")
    result = tinynet("inspect", tmp_path / "m.npz", environment=ascii_terminal)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode("ascii")
    assert r'"mod\xe8le_\u6a21\u578b"' in out and r"dense_\xe9t\xe9 (Dense)" in out
    result = tinynet(
        "predict", tmp_path / "m.npz", "-i", tmp_path / "donn\u00e9es.csv", environment=ascii_terminal
    )
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    assert rb"donn\xe9es.csv" in result.stderr


def test_exit_statuses(saved, tmp_path):
    _, path = saved
    (tmp_path / "x.csv").write_text("1,2,3\n")
    (tmp_path / "bad.csv").write_text("1,,3\n")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    assert tinynet("predict", path, "-i", tmp_path / "x.csv").returncode == 0
    assert tinynet("predict", path, "-i", tmp_path / "bad.csv").returncode == 2
    assert tinynet("predict", tmp_path / "junk.npz", "-i", tmp_path / "x.csv").returncode == 1
    assert tinynet("inspect", tmp_path / "junk.npz").returncode == 1
    assert tinynet("predict", path).returncode == 2  # --input missing: a usage error
    assert tinynet("frobnicate").returncode == 2
