"""The HTTP prediction server: the WSGI app in-process, and `tinynet serve` as a real process on loopback."""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import numpy as np
import pytest

import tinynet as tn
from tinynet import layers as L
from tinynet.serving import make_server, make_wsgi_app, parse_instances

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 20  # seconds: every wait is bounded


def small_model():
    tn.set_seed(3)
    model = tn.Sequential([L.Dense(6, input_dim=4, activation="tanh"), L.Dense(3, activation="softmax")])
    model.build()
    return model


def image_model():
    tn.set_seed(4)
    model = tn.Sequential([L.Conv2D(2, 3, padding="same", input_shape=(1, 4, 4)), L.Flatten(), L.Dense(2)])
    model.build()
    return model


def call(
    app,
    method: str,
    path: str,
    body: bytes = b"",
    content_type: str | None = "application/json",
    length: str | None = None,
):
    environ: dict = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(body)}
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    environ["CONTENT_LENGTH"] = str(len(body)) if length is None else length
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, headers):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

    data = b"".join(app(environ, start_response))
    assert answer["headers"]["Content-Type"] == "application/json"
    assert int(answer["headers"]["Content-Length"]) == len(data)
    return answer["status"], json.loads(data)


def instances(x) -> bytes:
    return json.dumps({"instances": np.asarray(x).tolist()}).encode()


def test_wsgi_app_predicts_exactly_what_predict_does():
    model = small_model()
    app = make_wsgi_app(model)
    x = np.random.default_rng(0).normal(size=(9, 4)).astype(np.float32)
    status, answer = call(app, "POST", "/predict", instances(x))
    assert status == 200
    got = np.array(answer["predictions"], dtype=np.float32)
    np.testing.assert_array_equal(got, model.predict(x))  # float32 survives JSON exactly


def test_image_model_takes_images_or_flat_rows():
    model = image_model()
    app = make_wsgi_app(model)
    x = np.random.default_rng(1).normal(size=(3, 1, 4, 4)).astype(np.float32)
    expected = model.predict(x)
    for sent in (x, x.reshape(3, 16)):
        status, answer = call(app, "POST", "/predict", instances(sent))
        assert status == 200
        np.testing.assert_array_equal(np.array(answer["predictions"], np.float32), expected)


def test_health_and_metadata():
    model = image_model()
    app = make_wsgi_app(model)
    assert call(app, "GET", "/health") == (200, {"status": "ok"})
    status, meta = call(app, "GET", "/metadata")
    assert status == 200
    assert meta["model"]["input_shape"] == [1, 4, 4] and meta["model"]["output_shape"] == [2]
    assert meta["model"]["dtype"] == "float32" and meta["model"]["params"] == model.count_params()
    assert [layer["class_name"] for layer in meta["model"]["layers"]] == ["Conv2D", "Flatten", "Dense"]
    assert meta["tinynet_version"] == tn.__version__ and meta["numpy_version"] == np.__version__


BAD_BODIES = {
    "not json": (b"{instances: [1, 2]", 400, "not valid JSON"),
    "not utf-8": (b'{"instances": [[1, 2, 3, "\xff"]]}', 400, "UTF-8"),
    "not an object": (b"[[1, 2, 3, 4]]", 400, "instances"),
    "no instances": (b'{"inputs": [[1, 2, 3, 4]]}', 400, "instances"),
    "extra key": (b'{"instances": [[1, 2, 3, 4]], "signature_name": "x"}', 400, "unknown key"),
    "empty": (b'{"instances": []}', 400, "non-empty"),
    "wrong width": (b'{"instances": [[1, 2, 3]]}', 400, "expects samples of shape \\[4\\]"),
    "ragged": (b'{"instances": [[1, 2, 3, 4], [1, 2]]}', 400, "shapes differ"),
    "strings": (b'{"instances": [["1", "2", "3", "4"]]}', 400, "must be a number"),
    "booleans": (b'{"instances": [[true, false, true, true]]}', 400, "must be a number"),
    "null": (b'{"instances": [[1, null, 3, 4]]}', 400, "must be a number"),
    "NaN": (b'{"instances": [[1, NaN, 3, 4]]}', 400, "NaN"),
    "Infinity": (b'{"instances": [[1, 2, -Infinity, 4]]}', 400, "Infinity"),
    "overflow": (
        b'{"instances": [[0, 0, 0, 0], [1, 2, 1e39, 4]]}',
        400,
        "instance 1 holds a value too large",
    ),
    "huge int": (b'{"instances": [[1, 2, 3, ' + b"9" * 400 + b"]]}", 400, "must be a number"),
    "deep": (b'{"instances": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "."),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_bodies_get_400_with_a_message(case):
    body, status, message = BAD_BODIES[case]
    app = make_wsgi_app(small_model())
    got, answer = call(app, "POST", "/predict", body)
    assert got == status
    assert set(answer) == {"error"}
    import re

    assert re.search(message, answer["error"]), answer["error"]


def test_protocol_errors():
    app = make_wsgi_app(small_model(), max_body_bytes=100)
    ok = instances(np.zeros((1, 4)))
    assert call(app, "GET", "/nowhere")[0] == 404
    status, answer = call(app, "GET", "/predict")
    assert status == 405 and "POST" in answer["error"]
    assert call(app, "POST", "/health")[0] == 405
    assert call(app, "POST", "/predict", ok, content_type="text/plain")[0] == 415
    assert call(app, "POST", "/predict", ok, content_type=None)[0] == 415
    assert call(app, "POST", "/predict", ok, content_type="application/json; charset=utf-8")[0] == 200
    assert call(app, "POST", "/predict", ok, length="")[0] == 411
    assert call(app, "POST", "/predict", ok, length=str(len(ok) + 5))[0] == 400  # truncated body
    status, answer = call(app, "POST", "/predict", instances(np.zeros((20, 4))))
    assert status == 413 and "100" in answer["error"]


def test_a_failing_model_gets_500_and_the_app_goes_on():
    model = small_model()
    app = make_wsgi_app(model)
    original = model.predict
    model.predict = lambda x: (_ for _ in ()).throw(RuntimeError("boom"))
    status, answer = call(app, "POST", "/predict", instances(np.zeros((1, 4))))
    assert status == 500 and "boom" in answer["error"]
    model.predict = original
    assert call(app, "POST", "/predict", instances(np.zeros((1, 4))))[0] == 200


def test_make_wsgi_app_validates_its_arguments():
    with pytest.raises(ValueError, match="max_body_bytes"):
        make_wsgi_app(small_model(), max_body_bytes=0)
    with pytest.raises(ValueError, match="built"):
        make_wsgi_app(tn.Sequential([L.Dense(2)]))


def test_parse_instances_casts_to_the_model_dtype():
    x = parse_instances(b'{"instances": [[1, 2.5]]}', (2,), np.dtype(np.float64))
    assert x.dtype == np.float64 and x.tolist() == [[1.0, 2.5]]


def _post(port: int, path: str, body: bytes, content_type: str = "application/json"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request("POST", path, body, {"Content-Type": content_type})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_threaded_stdlib_server_in_process_under_concurrency():
    model = small_model()
    server = make_server(model, "127.0.0.1", 0)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        rng = np.random.default_rng(5)
        batches = [rng.normal(size=(int(rng.integers(1, 50)), 4)).astype(np.float32) for _ in range(40)]
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda x: _post(port, "/predict", instances(x)), batches))
        for x, (status, answer) in zip(batches, answers, strict=True):
            assert status == 200
            np.testing.assert_array_equal(np.array(answer["predictions"], np.float32), model.predict(x))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


def _start(model_path: Path, *extra: str, preexec_fn=None) -> tuple[subprocess.Popen, int]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tinynet",
            "serve",
            str(model_path),
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=preexec_fn,
    )
    line = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(TIMEOUT)
    if not line or not line[0].startswith("serving "):
        process.kill()
        process.wait(TIMEOUT)
        raise AssertionError(f"the server did not start: {line} {process.stderr.read()}")
    return process, int(line[0].rsplit(":", 1)[1])


def _stop(process: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` and check that the server stops cleanly: status 0, "stopped", no traceback."""
    process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate(timeout=TIMEOUT)
        raise
    assert process.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_tinynet_serve_in_a_real_process(tmp_path, sig):
    model = small_model()
    path = tmp_path / "model.npz"
    tn.save_model(model, path)
    process, port = _start(path, "--max-body-bytes", "5000")
    try:
        rng = np.random.default_rng(6)
        batches = [rng.normal(size=(int(rng.integers(1, 20)), 4)).astype(np.float32) for _ in range(24)]
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda x: _post(port, "/predict", instances(x)), batches))
        for x, (status, answer) in zip(batches, answers, strict=True):
            assert status == 200
            np.testing.assert_array_equal(np.array(answer["predictions"], np.float32), model.predict(x))
        # every error case answers and leaves the server running
        assert _post(port, "/predict", b"{not json")[0] == 400
        assert _post(port, "/predict", b'{"instances": [[1, 2]]}')[0] == 400
        assert _post(port, "/predict", b'{"instances": [[1, 2, NaN, 4]]}')[0] == 400
        assert _post(port, "/predict", instances(np.zeros((1, 4))), "text/csv")[0] == 415
        status, answer = _post(port, "/predict", instances(np.zeros((400, 4))))
        assert status == 413 and "5,000" in answer["error"]
        assert _post(port, "/nowhere", b"{}")[0] == 404
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        conn.request("GET", "/metadata")
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["model"]["input_shape"] == [4]
        conn.close()
        x = batches[0]
        status, answer = _post(port, "/predict", instances(x))
        assert status == 200
        np.testing.assert_array_equal(np.array(answer["predictions"], np.float32), model.predict(x))
    finally:
        _stop(process, sig)


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_tinynet_serve_stops_on_sigint_even_when_it_was_started_with_sigint_ignored(tmp_path):
    # a background job of a non-interactive shell (a CI script's `tinynet serve &`) inherits SIGINT
    # as ignored; Python then raises no KeyboardInterrupt, so the server needs a handler of its own
    path = tmp_path / "model.npz"
    tn.save_model(small_model(), path)
    process, port = _start(path, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert _post(port, "/predict", instances(np.zeros((2, 4))))[0] == 200
    _stop(process, signal.SIGINT)


def test_tinynet_serve_refuses_a_bad_model_file(tmp_path):
    from tinynet.cli import main

    (tmp_path / "bad.npz").write_bytes(b"garbage")
    assert main(["serve", str(tmp_path / "bad.npz"), "--port", "0"]) == 1


def test_metadata_reports_the_card_and_quantization():
    model = tn.quantize(small_model())
    model.card = tn.ModelCard(description="a test model", metrics={"accuracy": 0.9})
    _, meta = call(make_wsgi_app(model), "GET", "/metadata")
    assert meta["model"]["quantized"] is True
    assert meta["model"]["card"]["description"] == "a test model"
    assert meta["model"]["card"]["metrics"] == {"accuracy": 0.9}
    _, plain = call(make_wsgi_app(small_model()), "GET", "/metadata")
    assert plain["model"]["quantized"] is False and plain["model"]["card"] is None


def test_tinynet_serve_argument_errors(tmp_path, capsys):
    from tinynet.cli import main

    path = tmp_path / "model.npz"
    tn.save_model(small_model(), path)
    with pytest.raises(SystemExit) as info:
        main(["serve", str(path), "--port", "70000"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["serve", str(path), "--max-body-bytes", "0"])
    assert info.value.code == 2
    capsys.readouterr()
    # an address this machine does not have
    assert main(["serve", str(path), "--host", "192.0.2.1", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "tinynet serve: error: cannot listen on 192.0.2.1:0" in err and "Traceback" not in err


def test_the_cli_default_body_limit_is_the_serving_one():
    from tinynet import cli, serving

    # the CLI keeps its own copy so that `tinynet --help` does not import the server
    assert cli.DEFAULT_MAX_BODY_BYTES == serving.DEFAULT_MAX_BODY_BYTES


def test_a_client_that_sends_its_whole_body_first_gets_the_413():
    # http.client writes the whole body before reading: without the server reading (and dropping)
    # the body, the client would get a broken pipe instead of the error message
    server = make_server(small_model(), "127.0.0.1", 0, max_body_bytes=1_000_000)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        big = instances(np.zeros((100_000, 4)))
        assert 1_000_000 < len(big) < 4_000_000
        status, answer = _post(port, "/predict", big)
        assert status == 413 and "1,000,000" in answer["error"]
        assert _post(port, "/elsewhere", big[:900_000])[0] == 404
        assert _post(port, "/predict", instances(np.ones((2, 4))))[0] == 200
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


def test_import_tinynet_imports_neither_onnx_nor_the_server():
    # runs without the onnx extra too (tests/deploy/test_onnx.py is skipped then)
    code = (
        "import sys, tinynet as tn; tn.Sequential; tn.quantize; tn.ModelCard; "
        "bad = [m for m in ('onnx', 'onnxruntime', 'tinynet.onnx_export', 'tinynet.serving', "
        "'http.server', 'wsgiref', 'socketserver') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
