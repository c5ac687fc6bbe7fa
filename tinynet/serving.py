"""An HTTP JSON prediction server, in the style of TensorFlow Serving's REST API (standard library only).

Endpoints (all answers are JSON objects):

``POST /predict``
    Body ``{"instances": [instance, ...]}`` with ``Content-Type:
    application/json``; each instance is one sample as nested lists of numbers
    of the model's input shape (an image model also takes flat rows of
    ``channels * height * width`` numbers, in (channel, row, column) order).
    Answer ``{"predictions": [prediction, ...]}``, one per instance, in order:
    the values of ``model.predict`` (float32 values printed exactly: read back
    as float32 they are the same numbers).
``GET /health``
    ``{"status": "ok"}`` while the server runs.
``GET /metadata``
    The model's input and output shapes, dtype, layers, parameter count, the
    tinynet and NumPy versions, whether its file stored int8 weights and its
    model card.

A bad request never stops the server; it gets a 4xx status and
``{"error": "what is wrong and what to do"}``: 400 for a body that is not JSON,
not an object with ``"instances"``, instances of the wrong shape or type, or
NaN / infinite values (JSON has no such numbers; Python's ``NaN`` and
``Infinity`` extensions, and numbers too large for the model's dtype, are
refused); 404 for an unknown path; 405 for a wrong method; 411 without
``Content-Length``; 413 for a body over ``max_body_bytes``; 415 for a content
type other than JSON.  An unexpected failure of the model gets 500.  A body the
server does not use is read and dropped when it has at most 4 x ``max_body_bytes``,
so that clients that send the whole body before reading (``http.client``) get the
error message; a larger one is left unread and the connection closed.

Thread safety.  A model's forward pass reuses work arrays between calls (see
:mod:`tinynet.layers.base`), so two threads predicting with one model at the
same time could overwrite each other's activations.  Every prediction here
runs under one lock; parsing and encoding JSON, which take most of the time of
a small request, run outside it.  For throughput on many cores run several
processes (``gunicorn -w 4``), each with its own model.

Production.  :func:`make_wsgi_app` returns a plain WSGI application; ``tinynet
serve`` runs it in the standard library's threaded WSGI server, and any WSGI
server runs it the same way, for example with a file ``app.py``::

    import tinynet as tn
    from tinynet.serving import make_wsgi_app

    app = make_wsgi_app(tn.load_model("model.npz", compile=False))

and ``gunicorn -w 2 -b 127.0.0.1:8000 app:app`` or ``waitress-serve
--listen=127.0.0.1:8000 app:app``.  ASGI servers (uvicorn) run WSGI apps
through an adapter such as ``a2wsgi``.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

#: Largest request body accepted by default, in bytes (``--max-body-bytes``): about 200,000
#: Pima rows or 25,000 digit images of JSON.
DEFAULT_MAX_BODY_BYTES = 16 * 2**20

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
}
_ROUTES = {"/predict": "POST", "/health": "GET", "/metadata": "GET"}


class RequestError(Exception):
    """A request the server refuses: an HTTP status and a message for the client."""

    def __init__(self, status: int, message: str, headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []


def _refuse_constant(name: str) -> float:
    raise RequestError(
        400, f"the body holds {name}, which JSON does not allow: every value must be a finite number"
    )


def parse_instances(body: bytes, input_shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """The batch of a ``/predict`` body, shaped ``(n, *input_shape)`` in ``dtype``; RequestError (400) if bad."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError(400, "the body is not UTF-8 text") from None
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise RequestError(400, f"the body is not valid JSON ({exc})") from None
    except RecursionError:
        raise RequestError(400, "the body's JSON is nested too deeply") from None
    if not isinstance(document, dict) or "instances" not in document:
        raise RequestError(400, 'the body must be a JSON object {"instances": [instance, ...]}')
    if set(document) != {"instances"}:
        extra = sorted(k for k in document if k != "instances")
        raise RequestError(400, f"unknown key {extra[0][:50]!r} in the body; only 'instances' is accepted")
    instances = document["instances"]
    if not isinstance(instances, list) or not instances:
        raise RequestError(400, "'instances' must be a non-empty list of samples")
    width = math.prod(input_shape)
    expected = f"samples of shape {list(input_shape)}" + (
        f" or rows of {width} numbers" if len(input_shape) > 1 else ""
    )
    try:
        x = np.array(instances)
    except (ValueError, TypeError):  # ragged nesting
        raise RequestError(400, f"'instances' must be a list of {expected}; their shapes differ") from None
    if x.dtype.kind not in "iuf":
        raise RequestError(
            400,
            f"every value of 'instances' must be a number in float range (not a string, boolean, null, object "
            f"or an integer beyond 64 bits); expected {expected}",
        )
    if x.shape[1:] != tuple(input_shape):
        if not (x.ndim == 2 and x.shape[1] == width):
            found = f"instances of shape {list(x.shape[1:])}"
            raise RequestError(400, f"'instances' holds {found} but the model expects {expected}")
        x = x.reshape(len(x), *input_shape)
    with np.errstate(over="ignore", invalid="ignore"):  # too large for the dtype: refused just below
        batch = x.astype(dtype)
    finite = np.isfinite(batch)
    if not finite.all():
        row = int(np.argwhere(~finite.reshape(len(batch), -1).all(axis=1))[0, 0])
        raise RequestError(
            400,
            f"instance {row} holds a value too large for {dtype.name} (or not finite); inputs must be finite",
        )
    return batch


def _shapes(model) -> list[tuple[int, ...]]:
    if getattr(model, "_graph", None) is not None:  # a functional model: its layers know their shapes
        return [tuple(int(s) for s in layer.output_shape) for layer in model.layers]
    shapes, shape = [], tuple(model.input_shape)
    for layer in model.layers:
        shape = tuple(int(s) for s in layer.compute_output_shape(shape))
        shapes.append(shape)
    return shapes


def model_metadata(model) -> dict[str, Any]:
    """What ``GET /metadata`` returns about ``model``."""
    from . import __version__

    shapes = _shapes(model)
    card = getattr(model, "card", None)
    return {
        "model": {
            "name": str(model.name),
            "input_shape": list(model.input_shape),
            "output_shape": list(shapes[-1]),
            "dtype": np.dtype(model.layers[0].dtype).name,
            "params": int(model.count_params()),
            "layers": [
                {
                    "class_name": type(layer).__name__,
                    "name": str(layer.name),
                    "output_shape": list(shape),
                    "params": int(sum(p.size for p in layer.params.values())),
                }
                for layer, shape in zip(model.layers, shapes, strict=True)
            ],
            "quantized": bool(getattr(model, "quantized", False)),
            "card": None if card is None else card.to_json(),
        },
        "tinynet_version": __version__,
        "numpy_version": np.__version__,
    }


def make_wsgi_app(model, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> Callable:
    """A WSGI application serving ``model``'s predictions (see the module docstring for the API).

    Parameters
    ----------
    model : Sequential
        A built model; its predictions run under a lock (one at a time).
    max_body_bytes : int
        Largest request body accepted; a larger ``Content-Length`` gets 413
        before the body is read.

    Returns
    -------
    callable
        ``app(environ, start_response)``, for any WSGI server.
    """
    if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be a positive integer, got {max_body_bytes!r}")
    if not model.built:
        raise ValueError("cannot serve a model before it is built; call model.build(input_shape) or load one")
    if getattr(model, "_multi_input", False) or getattr(model, "_multi_output", False):
        raise ValueError(
            f"cannot serve model {model.name!r}: it has {len(model.inputs)} inputs and {len(model.outputs)} "
            "outputs, and /predict takes one array for a model with one input and one output"
        )
    lock = threading.Lock()
    input_shape = tuple(model.input_shape)
    dtype = np.dtype(model.layers[0].dtype)
    metadata = _encode(model_metadata(model))

    def predict(environ: dict) -> bytes:
        content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise RequestError(
                415,
                f"the body must be JSON sent with Content-Type: application/json, not {content_type[:60]!r}",
            )
        length_text = environ.get("CONTENT_LENGTH", "")
        if not length_text.strip().isdigit():
            raise RequestError(
                411, "the request needs a Content-Length header (chunked bodies are not accepted)"
            )
        length = int(length_text)
        if length > max_body_bytes:
            raise RequestError(
                413,
                f"the body has {length:,} bytes, more than the {max_body_bytes:,} this server accepts; "
                "send fewer instances per request",
            )
        body = environ["wsgi.input"].read(length)
        environ["tinynet.body_read"] = True
        if len(body) != length:
            raise RequestError(400, f"the body ended after {len(body):,} of its {length:,} bytes")
        x = parse_instances(body, input_shape, dtype)
        with lock:  # the forward pass reuses work arrays: one prediction at a time
            y = model.predict(x)
        return _encode({"predictions": y.tolist()})

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        headers: list[tuple[str, str]] = []
        try:
            allowed = _ROUTES.get(path)
            if allowed is None:
                raise RequestError(
                    404, f"no such path {path[:100]!r}; use POST /predict, GET /health or GET /metadata"
                )
            if method != allowed:
                raise RequestError(405, f"{path} answers {allowed} requests only", [("Allow", allowed)])
            if path == "/predict":
                status, body = 200, predict(environ)
            elif path == "/health":
                status, body = 200, _encode({"status": "ok"})
            else:
                status, body = 200, metadata
        except RequestError as exc:
            status, body, headers = exc.status, _encode({"error": exc.message}), exc.headers
        except MemoryError:
            status, body = 413, _encode({"error": "not enough memory for this request; send fewer instances"})
        except Exception as exc:  # a failing model must not take the server down
            status, body = (
                500,
                _encode({"error": f"the prediction failed ({type(exc).__name__}: {str(exc)[:300]})"}),
            )
        if not environ.get("tinynet.body_read"):
            _discard_body(environ, 4 * max_body_bytes)
        start_response(
            f"{status} {_REASONS[status]}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers],
        )
        return [body]

    return app


def _discard_body(environ: dict, limit: int) -> None:
    """Read and drop a body the app did not use, when it declares at most ``limit`` bytes.

    A client such as :mod:`http.client` sends its whole body before it reads the
    answer: if the server answered 413 (or 404, 415, ...) and closed without reading,
    the client would see a broken pipe instead of the error message.  Larger bodies
    are left unread (the connection is closed on them): reading them would let a
    client make the server read without end.
    """
    text = environ.get("CONTENT_LENGTH", "").strip()
    if not text.isdigit() or not 0 < int(text) <= limit:
        return
    remaining = int(text)
    stream = environ["wsgi.input"]
    try:
        while remaining > 0:
            chunk = stream.read(min(remaining, 2**16))
            if not chunk:
                break
            remaining -= len(chunk)
    except OSError:  # the client went away: nothing to answer
        pass


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, allow_nan=False).encode("ascii")


def make_server(
    model, host: str = "127.0.0.1", port: int = 8000, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
):
    """The standard library's threaded WSGI server running :func:`make_wsgi_app` (not started).

    Call ``serve_forever()`` on it, and ``shutdown()`` from another thread to stop;
    ``server.server_address`` holds the port chosen for ``port=0``.
    """
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

    class Handler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: no line per request
            pass

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True  # a stuck client never blocks the shutdown
        request_queue_size = 128

    server = Server((host, port), Handler)
    server.set_app(make_wsgi_app(model, max_body_bytes=max_body_bytes))
    return server


def run_server(
    model,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    source: str = "the model",
) -> None:
    """Serve until SIGINT (Ctrl-C) or SIGTERM; prints ``serving SOURCE on http://HOST:PORT`` once listening.

    The server loop runs in a thread of its own and the main thread only waits for
    a signal, so a signal never interrupts the handling of a request: a stop raised
    inside ``socketserver``'s request code would be taken for a failed request and
    the server would go on (SIGTERM first stopped the server that way, under load).

    Both signals get a handler of their own rather than Python's KeyboardInterrupt:
    a process started as a background job of a non-interactive shell inherits SIGINT
    as *ignored*, Python then never raises KeyboardInterrupt, and ``kill -INT`` left
    the server running (it hung a CI run that way).
    """
    server = make_server(model, host, port, max_body_bytes=max_body_bytes)
    stopping = threading.Event()
    previous = {}
    loop = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    try:
        if threading.current_thread() is threading.main_thread():  # only the main thread may set handlers
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, lambda signum, frame: stopping.set())
        loop.start()
        bound_host, bound_port = server.server_address[:2]
        print(f"serving {source} on http://{bound_host}:{bound_port}", flush=True)
        while not stopping.wait(0.5):  # a timeout, so that the handlers get to run promptly
            pass
        server.shutdown()  # returns once serve_forever has left its loop
        loop.join()
        print("stopped", flush=True)
    finally:
        server.server_close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    sys.stdout.flush()
