"""The ``tinynet`` command line (also ``python -m tinynet``).

``tinynet demo [--epochs N] [--seed N] [--verbose {0,1,2}] [--save PATH]``
    Train the classic Keras example (Dense 10 relu on 8 inputs, Dense 1
    sigmoid, binary cross-entropy, Adam) on the bundled Pima Indians diabetes
    data, evaluate it on a held-out split and print the metrics; then save the
    model, load it in a fresh process (``tinynet predict``) and show that the
    predictions are identical.
``tinynet inspect MODEL [--json] [--allow-nonfinite]``
    Print a model file's format version, architecture, parameter counts,
    compile settings and training progress, and verify every checksum, without
    building the model.  ``MODEL`` may be ``-`` (standard input).  Names from
    the file are printed with control characters escaped (``\x1b``).
``tinynet predict MODEL --input X [--output Y] [options]``
    Load a model and predict for the rows of ``X``: one output row per input
    row, or the command fails.  The process imports numpy and tinynet, nothing
    else.  Options:

    ``--input X``, ``-i X``
        A ``.csv`` (one sample per row) or ``.npy`` file, or ``-`` for standard
        input (a ``.npy`` is recognised by its magic string, anything else is
        read as CSV).  FIFOs, devices and folders are refused: use ``-``.
    ``--output Y``, ``-o Y``
        ``.csv`` or ``.npy``; ``-`` or no ``--output``: CSV on standard output.
        A file is written atomically (a temporary file renamed over ``Y``); its
        folder must exist; a symbolic link is followed.
    ``--input-format {csv,npy}``, ``--output-format {csv,npy}``
        Override the format taken from the file name (needed for ``.npy`` on
        standard output).
    ``--header``, ``--no-header``
        Whether the CSV's first line holds column names.  Default: it does
        when every field of it is a *name* (has a letter, is neither a number
        nor a missing-value marker such as ``NA``), which is then said on
        standard error.
    ``--batch-size N``
        Samples per forward pass (a positive integer; default: all at once).
    ``--allow-nonfinite``
        Load a model file whose weights hold NaN or infinite values.

    CSV input is UTF-8 (a byte-order mark is skipped), LF or CRLF, comma
    separated, fields optionally quoted; every field must be a finite decimal
    number.  Missing values, NaN, infinities, rows of different widths and
    empty lines before the last row are refused, naming the line and column.

``tinynet export MODEL OUTPUT.onnx [--opset N] [--allow-nonfinite]``
    Load a model file and write it as ONNX (opset 17 by default) for
    onnxruntime and other serving engines; needs the ``onnx`` package
    (``pip install tinynet[onnx]``).  Status 1 also for a model with a layer
    that has no ONNX mapping (the message names it).
``tinynet serve MODEL [--host H] [--port N] [--max-body-bytes N] [--allow-nonfinite]``
    Serve predictions over HTTP (see :mod:`tinynet.serving`): ``POST /predict``
    with ``{"instances": [...]}``, ``GET /health``, ``GET /metadata``.  Prints
    ``serving MODEL on http://HOST:PORT`` on standard output once listening
    (``--port 0`` picks a free port); SIGINT or SIGTERM stop it (status 0).

``tinynet exercises list``
    List the exercises (:mod:`tinynet.exercises`): each function to write, its signature and topic.
``tinynet exercises grade FILE.py [--exercise NAME ...]``
    Import the student's Python file (their own code, run in this process) and grade every exercise
    function it defines (or those named with ``--exercise``; a named one it lacks is ``missing``):
    one line per exercise with its status and score, then the failing arrays and the hints.
    Exit status 0 when every graded exercise passes, 1 otherwise (also when the file cannot be
    imported: the error and its line are printed, not a traceback), 2 when the file is not a
    readable ``.py`` file.

Exit status: 0 success; 1 the model file cannot be read, fails a checksum or
cannot be loaded; 2 unusable input, output or arguments (also argparse's usage
errors, and ``tinynet`` without a command, which prints the help on standard
error); 130 interrupted (Ctrl-C); 141 standard output was closed early (as in
``tinynet predict ... | head``), as if killed by SIGPIPE.  No traceback is
printed for any of these.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import _io
from ._io import InputError, escape, write_text

#: Exit status for a model file that cannot be read or fails its checksums.
EXIT_BAD_MODEL = 1
#: Exit status for unusable input data, output or arguments (argparse uses 2 as well).
EXIT_BAD_INPUT = 2
#: Exit status after Ctrl-C (128 + SIGINT, as a shell reports it).
EXIT_INTERRUPTED = 130
#: Exit status when standard output was closed early (128 + SIGPIPE, as a shell reports it).
EXIT_BROKEN_PIPE = 141


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


def _error(command: str, message: str) -> None:
    write_text(sys.stderr, f"tinynet {command}: error: {escape(message)}\n")


def _model_error(exc: BaseException) -> str:
    # the loader speaks Python (allow_nonfinite=True); the command line has a flag for it
    return str(exc).replace("pass allow_nonfinite=True", "pass --allow-nonfinite")


def _model_source(path: str):
    return sys.stdin.buffer if path == "-" else path


def inspect(args: argparse.Namespace) -> int:
    """Print a model file's report; 1 when it cannot be read, a checksum fails or (without
    ``--allow-nonfinite``) an array holds NaN or infinite values."""
    import json

    from ..serialization import ModelFileError, inspect_model_file

    try:
        info = inspect_model_file(_model_source(args.model), allow_nonfinite=args.allow_nonfinite)
    except (ModelFileError, OSError) as exc:
        _error("inspect", _model_error(exc))
        return EXIT_BAD_MODEL
    if args.json:  # json.dumps escapes control and non-ASCII characters itself
        report = {
            "source": info.source,
            "size": info.size,
            "sha256": info.sha256,
            "checksums_ok": info.checksums_ok,
            "failed": [c.name for c in info.arrays if not c.ok],
            "nonfinite": info.nonfinite,
            "ok": info.ok,
            "manifest": info.manifest,
        }
        write_text(sys.stdout, json.dumps(report, indent=1) + "\n")
    else:
        write_text(sys.stdout, f"{_escaped(info)}\n")
    if info.checksums_ok and not info.ok:
        _error(
            "inspect",
            "the file holds NaN or infinite values, which load_model refuses; pass --allow-nonfinite to accept them",
        )
    return 0 if info.ok else EXIT_BAD_MODEL


def _escaped(value):
    """``value`` (a report, its lists, dicts and strings) with control characters in every string escaped."""
    import dataclasses

    if isinstance(value, str):
        return escape(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _escaped(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **fields)
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_escaped(v) for v in value)
    return value


def _fit_to_model(x, shape: tuple[int, ...], name: str):
    """Shape the rows of ``x`` for a model whose samples have ``shape``; InputError when they cannot fit."""
    import math

    width = math.prod(shape)
    described = f"input shape ({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''})"
    if tuple(x.shape) == shape:  # a single sample without its batch axis
        return x.reshape(1, *shape)
    if tuple(x.shape[1:]) == shape:
        return x
    if x.ndim == 2 and x.shape[1] == width:  # flat rows (a CSV) for a model of images
        return x.reshape(len(x), *shape)
    got = f"rows of {x.shape[1]} values" if x.ndim == 2 else f"samples of shape {x.shape[1:]}"
    raise InputError(
        f"{name} has {got} but the model expects {width} per sample ({described}); "
        "check the columns (and --header/--no-header)"
    )


def _formats(args: argparse.Namespace) -> tuple[str | None, str]:
    """The input format (None: recognise on standard input) and the output format; InputError if unknown."""
    input_format = args.input_format
    if input_format is None and args.input != "-":
        input_format = Path(args.input).suffix.lower().lstrip(".")
        if input_format not in ("csv", "npy"):
            raise InputError(
                f"{args.input}: the input must be a .csv or .npy file (or pass --input-format csv|npy)"
            )
    output_format = args.output_format
    if output_format is None:
        if args.output in (None, "-"):
            output_format = "csv"
        else:
            output_format = Path(args.output).suffix.lower().lstrip(".")
            if output_format not in ("csv", "npy"):
                raise InputError(
                    f"{args.output}: the output must be a .csv or .npy file (or pass --output-format csv|npy)"
                )
    return input_format, output_format


def _read_input(args: argparse.Namespace, input_format: str | None):
    """The input array (as stored) and, for a CSV, its table (for line numbers); InputError on any problem."""
    name = "<stdin>" if args.input == "-" else escape(args.input)
    data = _io.read_stream(sys.stdin.buffer) if args.input == "-" else _io.read_file(args.input)
    if input_format is None:
        input_format = "npy" if _io.is_npy(data) else "csv"
    if input_format == "npy":
        if args.header is not None:
            raise InputError(f"{name} is a .npy file: --header and --no-header apply to CSV input only")
        return _io.parse_npy(data, name), None
    table = _io.parse_csv(data, name, args.header)
    return table.values, table


def predict(args: argparse.Namespace) -> int:
    """Predict with a saved model; 1 for a bad model file, 2 for unusable input or output."""
    import numpy as np

    from ..serialization import ModelFileError, load_model
    from ..serialization._archive import atomic_write

    try:  # every argument is checked before any work starts
        if args.model == "-" and args.input == "-":
            raise InputError("the model and --input cannot both be read from standard input ('-')")
        input_format, output_format = _formats(args)
        to_stdout = args.output in (None, "-")
        if to_stdout and output_format == "npy" and sys.stdout.isatty():
            raise InputError("refusing to write binary .npy data to a terminal; redirect standard output")
        target = None if to_stdout else _io.check_output_path(args.output)
        x, table = _read_input(args, input_format)
    except InputError as exc:
        _error("predict", str(exc))
        return EXIT_BAD_INPUT
    except MemoryError:
        _error("predict", f"{args.input}: not enough memory to read it")
        return EXIT_BAD_INPUT
    try:
        model = load_model(_model_source(args.model), compile=False, allow_nonfinite=args.allow_nonfinite)
    except (ModelFileError, OSError) as exc:
        _error("predict", _model_error(exc))
        return EXIT_BAD_MODEL
    if model._multi_input or model._multi_output:  # a functional model with several inputs or outputs
        _error(
            "predict",
            f"{escape(args.model)}: the model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
            "tinynet predict reads one array for a model with one input and one output (use model.predict "
            "in Python with a list of arrays)",
        )
        return EXIT_BAD_MODEL
    name = "<stdin>" if args.input == "-" else escape(args.input)
    try:
        original = _fit_to_model(x, tuple(model.input_shape), name)
        dtype = model.layers[0].dtype
        with np.errstate(over="ignore", invalid="ignore"):  # too large for the model's dtype: refused below
            inputs = original.astype(dtype)
        _io.refuse_nonfinite(inputs, original, name, table)
        y = model.predict(inputs, batch_size=args.batch_size)
    except InputError as exc:
        _error("predict", str(exc))
        return EXIT_BAD_INPUT
    except MemoryError:
        _error("predict", f"not enough memory to predict {len(x):,} samples; pass a smaller --batch-size")
        return EXIT_BAD_INPUT
    if len(y) != len(inputs):  # pragma: no cover - a model maps each sample to one output
        _error("predict", f"the model gave {len(y)} outputs for {len(inputs)} samples")
        return EXIT_BAD_MODEL
    write = _io.write_npy if output_format == "npy" else _io.write_csv
    if target is None:
        if output_format == "npy":
            sys.stdout.flush()
            write(sys.stdout.buffer, y)
            sys.stdout.buffer.flush()
        else:
            write(sys.stdout, y)
        return 0
    try:
        atomic_write(Path(target), lambda f: write(f, y))
    except OSError as exc:
        _error("predict", f"cannot write {args.output}: {exc.strerror or exc}")
        return EXIT_BAD_INPUT
    return 0


def export(args: argparse.Namespace) -> int:
    """Write a model file as ONNX; 1 for a bad model file or a layer without ONNX mapping, 2 for
    unusable arguments or output."""
    from ..serialization import ModelFileError, load_model

    try:
        import onnx

        from ..onnx_export import MIN_OPSET, to_onnx
        from ..serialization._archive import atomic_write
    except ImportError:
        _error("export", "exporting to ONNX needs the onnx package: pip install 'tinynet[onnx]'")
        return EXIT_BAD_INPUT
    try:
        target = _io.check_output_path(args.output)
        newest = onnx.defs.onnx_opset_version()
        if not MIN_OPSET <= args.opset <= newest:
            raise InputError(f"--opset must be between {MIN_OPSET} and {newest}, got {args.opset}")
    except InputError as exc:
        _error("export", str(exc))
        return EXIT_BAD_INPUT
    try:
        model = load_model(_model_source(args.model), compile=False, allow_nonfinite=args.allow_nonfinite)
    except (ModelFileError, OSError) as exc:
        _error("export", _model_error(exc))
        return EXIT_BAD_MODEL
    try:
        data = to_onnx(model, opset=args.opset).SerializeToString()
    except ValueError as exc:
        _error("export", str(exc))
        return EXIT_BAD_MODEL
    try:
        atomic_write(Path(target), lambda f: f.write(data))
    except OSError as exc:
        _error("export", f"cannot write {args.output}: {exc.strerror or exc}")
        return EXIT_BAD_INPUT
    return 0


def serve(args: argparse.Namespace) -> int:
    """Serve predictions over HTTP until SIGINT or SIGTERM; 1 for a bad model file, 2 for an
    address that cannot be used."""
    from ..serialization import ModelFileError, load_model
    from ..serving import run_server

    try:
        model = load_model(args.model, compile=False, allow_nonfinite=args.allow_nonfinite)
    except (ModelFileError, OSError) as exc:
        _error("serve", _model_error(exc))
        return EXIT_BAD_MODEL
    try:
        run_server(
            model,
            host=args.host,
            port=args.port,
            max_body_bytes=args.max_body_bytes,
            source=escape(args.model),
        )
    except OSError as exc:  # address in use, host unknown, port not allowed
        _error("serve", f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        return EXIT_BAD_INPUT
    return 0


def exercises_list(args: argparse.Namespace) -> int:
    """Print the exercises, one per line: name, topic, signature."""
    from .. import exercises

    rows = [(ex.name, ex.topic, ex.signature) for ex in exercises.EXERCISES.values()]
    width = max(len(r[0]) for r in rows)
    topic_width = max(len(r[1]) for r in rows)
    for name, topic, signature in rows:
        write_text(sys.stdout, f"{name.ljust(width)}  {topic.ljust(topic_width)}  {signature}\n")
    return 0


def exercises_grade(args: argparse.Namespace) -> int:
    """Grade a student's file: 0 when every graded exercise passes, 1 otherwise, 2 for an unusable path."""
    from .. import exercises

    unknown = [n for n in args.exercise or () if n not in exercises.EXERCISES]
    if unknown:
        _error(
            "exercises",
            f"unknown exercise {unknown[0]!r}; `tinynet exercises list` shows them: {', '.join(exercises.EXERCISES)}",
        )
        return EXIT_BAD_INPUT
    try:
        module = exercises.load_file(args.file)
    except (FileNotFoundError, IsADirectoryError, ValueError) as exc:
        _error("exercises", str(exc))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        raise
    except (Exception, SystemExit) as exc:  # the student's module failed to import: report it, no traceback
        line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else _innermost_line(exc)
        where = f" (line {line})" if line else ""
        _error("exercises", f"cannot import {args.file}: {type(exc).__name__}: {exc}{where}")
        return 1
    results = exercises.grade(module, names=args.exercise or None)
    if not results:
        _error(
            "exercises",
            f"{args.file} defines none of the exercise functions; `tinynet exercises list` shows their names",
        )
        return 1
    for result in results:
        # every line escaped on its own: hints quote the student's exception messages
        write_text(sys.stdout, "".join(escape(line) + "\n" for line in str(result).split("\n")))
    passed = sum(r.passed for r in results)
    total = sum(r.score for r in results)
    write_text(sys.stdout, f"\n{passed} of {len(results)} passed, score {total:.2f} of {len(results)}\n")
    return 0 if passed == len(results) else 1


def _innermost_line(exc: BaseException) -> int | None:
    tb, line = exc.__traceback__, None
    while tb is not None:
        line, tb = tb.tb_lineno, tb.tb_next
    return line


def _int_at_least(low: int, meaning: str):
    """An argparse ``type`` for an integer of at least ``low`` (``meaning`` says so in the error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {meaning}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {meaning}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_natural_int = _int_at_least(0, "an integer >= 0")


def _port(text: str) -> int:
    value = _natural_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {value}")
    return value


#: The default of ``tinynet serve --max-body-bytes`` (the same as :data:`tinynet.serving.DEFAULT_MAX_BODY_BYTES`).
DEFAULT_MAX_BODY_BYTES = 16 * 2**20


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tinynet`` command."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="tinynet",
        description="tinynet: deep learning from scratch in NumPy.",
        epilog="Exit status: 0 success, 1 bad model file, 2 bad input, output or arguments.",
    )
    parser.add_argument("--version", action="version", version=f"tinynet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p_demo = sub.add_parser(
        "demo", help="train the quickstart model on the Pima diabetes data and report metrics"
    )
    p_demo.add_argument("--epochs", type=_positive_int, default=100)
    p_demo.add_argument("--seed", type=_natural_int, default=0)
    p_demo.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=0,
        help="1 shows a progress bar (one line per epoch when not a terminal), 2 one line per epoch",
    )
    p_demo.add_argument("--save", metavar="PATH", help="keep the saved model file at PATH")
    p_demo.set_defaults(func=demo)

    p_inspect = sub.add_parser(
        "inspect", help="show a model file's architecture and training progress and verify its checksums"
    )
    p_inspect.add_argument("model", help="a model file (.npz), or - for standard input")
    p_inspect.add_argument("--json", action="store_true", help="print the manifest and results as JSON")
    p_inspect.add_argument(
        "--allow-nonfinite", action="store_true", help="accept NaN or infinite weights in the file"
    )
    p_inspect.set_defaults(func=inspect)

    p_predict = sub.add_parser(
        "predict",
        help="load a model file and predict for the rows of a .csv or .npy",
        description="Predict for every row of the input: one output row per input row, or exit status 2.",
    )
    p_predict.add_argument("model", help="a model file (.npz), or - for standard input")
    p_predict.add_argument(
        "--input", "-i", required=True, help="the inputs: a .csv (one sample per row) or .npy; - for stdin"
    )
    p_predict.add_argument(
        "--output", "-o", help="where to write the predictions (.csv or .npy; default or -: CSV on stdout)"
    )
    p_predict.add_argument("--input-format", choices=("csv", "npy"), help="override the input's file name")
    p_predict.add_argument(
        "--output-format", choices=("csv", "npy"), help="override the output's file name (npy on stdout)"
    )
    header = p_predict.add_mutually_exclusive_group()
    header.add_argument(
        "--header",
        dest="header",
        action="store_const",
        const=True,
        help="the CSV's first line holds column names (default: when every field of it is a name)",
    )
    header.add_argument(
        "--no-header", dest="header", action="store_const", const=False, help="every CSV line is data"
    )
    p_predict.add_argument(
        "--batch-size", type=_positive_int, default=None, help="samples per forward pass (default: all)"
    )
    p_predict.add_argument(
        "--allow-nonfinite", action="store_true", help="load a model file with NaN or infinite weights"
    )
    p_predict.set_defaults(func=predict)

    p_export = sub.add_parser(
        "export",
        help="write a model file as ONNX (needs the onnx package)",
        description="Write MODEL as an ONNX graph computing its predictions (see tinynet.onnx_export).",
    )
    p_export.add_argument("model", help="a model file (.npz), or - for standard input")
    p_export.add_argument("output", help="the .onnx file to write (atomically)")
    p_export.add_argument("--opset", type=_positive_int, default=17, help="the ONNX opset (default 17)")
    p_export.add_argument(
        "--allow-nonfinite", action="store_true", help="load a model file with NaN or infinite weights"
    )
    p_export.set_defaults(func=export)

    p_serve = sub.add_parser(
        "serve",
        help="serve predictions over HTTP (POST /predict, GET /health, GET /metadata)",
        description="An HTTP JSON prediction server in the style of TensorFlow Serving's REST API.",
    )
    p_serve.add_argument("model", help="a model file (.npz)")
    p_serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p_serve.add_argument(
        "--port", type=_port, default=8000, help="port to listen on (default 8000; 0: a free port)"
    )
    p_serve.add_argument(
        "--max-body-bytes",
        type=_positive_int,
        default=DEFAULT_MAX_BODY_BYTES,
        help=f"largest request body accepted (default {DEFAULT_MAX_BODY_BYTES:,}); larger ones get 413",
    )
    p_serve.add_argument(
        "--allow-nonfinite", action="store_true", help="load a model file with NaN or infinite weights"
    )
    p_serve.set_defaults(func=serve)

    p_exercises = sub.add_parser(
        "exercises",
        help="list the exercises, or grade a student's file with scores and hints",
        description="The exercise track (docs/exercises.md): list the exercises or grade a student's .py file.",
    )
    ex_sub = p_exercises.add_subparsers(dest="exercises_command", metavar="ACTION", required=True)
    p_list = ex_sub.add_parser("list", help="list the exercises: function, topic, signature")
    p_list.set_defaults(func=exercises_list)
    p_grade = ex_sub.add_parser(
        "grade",
        help="grade the exercise functions a student's .py file defines",
        description="Exit status 0 when every graded exercise passes, 1 otherwise, 2 for an unusable file.",
    )
    p_grade.add_argument("file", help="the student's Python file (it is imported: run only code you trust)")
    p_grade.add_argument(
        "--exercise",
        action="append",
        metavar="NAME",
        help="grade this exercise (repeatable; default: every exercise function the file defines)",
    )
    p_grade.set_defaults(func=exercises_grade)
    return parser


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that flushing it at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # pragma: no cover - no file descriptor to redirect
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tinynet`` command; returns the exit status."""
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit:  # --help, --version, a usage error: flush here, where a closed pipe is handled
            sys.stdout.flush()
            raise
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_BAD_INPUT
        status = int(args.func(args))
        sys.stdout.flush()  # here, where a closed pipe can still be handled, not at exit
        return status
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as Unix tools do
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        write_text(sys.stderr, "tinynet: interrupted\n")
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
