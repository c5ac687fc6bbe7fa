"""``tinynet predict``'s input and output rules: one output row per input row, or exit status 2.

Run in-process through :func:`tinynet.cli.main`; ``test_cli_process.py`` runs the real command.
"""

import contextlib
import inspect
import os
import struct
import threading

import numpy as np
import pytest

import tinynet as tn
from tinynet.cli import main

from .helpers import small_model

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [-2.0, 3.0, 0.125]])


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_input")
    small_model(epochs=1).save(folder / "model.npz")
    return str(folder / "model.npz")


@pytest.fixture(scope="module")
def model(model_path):
    return tn.load_model(model_path, compile=False)


def run(capsys, *args):
    """Exit status, stdout, stderr of ``tinynet predict``."""
    status = main(["predict", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def printed(out: str) -> np.ndarray:
    return np.loadtxt(out.splitlines(), delimiter=",", dtype=np.float32, ndmin=2)


def write(path, content) -> str:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return str(path)


# ----------------------------------------------------------------------- CSV: one row in, one row out
@pytest.mark.parametrize(
    "content",
    [
        "\ufeff0.5,-1,2\n1.5,0.25,-0.75\n-2,3,0.125\n",  # a byte-order mark before a data row
        "0.5,-1,2\r\n1.5,0.25,-0.75\r\n-2,3,0.125\r\n",  # CRLF
        '"0.5","-1",2\n1.5, "0.25",-0.75\n-2,3,0.125',  # quoted fields, no final newline
        "0.5,-1,2\n1.5,0.25,-0.75\n-2,3,0.125\n\n\r\n  \n",  # empty lines at the end
        "\ufeffa,b,c\r\n0.5,-1,2\r\n1.5,0.25,-0.75\r\n-2,3,0.125\r\n",  # BOM, header, CRLF
        " +.5 , -1.0e0 ,2.\n15e-1,.25,-0.75\n-2,3E0,0.125\n",  # every plain decimal form
    ],
)
def test_every_row_gets_one_output_row(model_path, model, tmp_path, capsys, content):
    status, out, err = run(capsys, model_path, "--input", write(tmp_path / "x.csv", content))
    assert status == 0, err
    np.testing.assert_array_equal(printed(out), model.predict(X))


def test_a_header_is_detected_only_when_every_field_is_a_name_and_said_on_stderr(
    model_path, model, tmp_path, capsys
):
    path = write(tmp_path / "x.csv", "age,bmi,glucose\n0.5,-1,2\n1.5,0.25,-0.75\n-2,3,0.125\n")
    status, out, err = run(capsys, model_path, "--input", path)
    assert status == 0
    np.testing.assert_array_equal(printed(out), model.predict(X))
    assert "line 1 (age, bmi, glucose) is read as a header" in err and "--no-header" in err
    status, out, err = run(capsys, model_path, "--input", path, "--header")  # explicit: nothing said
    assert status == 0 and err == ""
    np.testing.assert_array_equal(printed(out), model.predict(X))
    status, _, err = run(capsys, model_path, "--input", path, "--no-header")
    assert status == 2 and "line 1, column 1: 'age' is not a number" in err


@pytest.mark.parametrize(
    ("first_line", "message"),
    [
        ("0.5,,2", "line 1, column 2: missing value (an empty field)"),
        ("0.5,NA,2", "line 1, column 2: missing value 'NA'"),
        ("NA,NA,NA", "line 1, column 1: missing value 'NA'"),  # missing values are not names
        ("n/a,?,-", "line 1, column 1: missing value 'n/a'"),
        ("nan,inf,-inf", "line 1, column 1: 'nan' is not a finite number"),
        ("a,1,b", "line 1, column 1: 'a' is not a number"),  # a mixed row is not a header
        ("x1,x2,3", "line 1, column 1: 'x1' is not a number"),
    ],
)
def test_a_first_row_that_is_not_all_names_is_data_and_is_refused(
    model_path, tmp_path, capsys, first_line, message
):
    """The old rule ("does not parse as floats") dropped these rows silently."""
    path = write(tmp_path / "x.csv", first_line + "\n1.5,0.25,-0.75\n-2,3,0.125\n")
    status, out, err = run(capsys, model_path, "--input", path)
    assert status == 2 and out == ""
    assert message in err, err
    assert "Traceback" not in err


def test_header_option_skips_the_first_line_whatever_it_holds(model_path, model, tmp_path, capsys):
    path = write(tmp_path / "x.csv", "9,9,9\n0.5,-1,2\n1.5,0.25,-0.75\n-2,3,0.125\n")
    status, out, _ = run(capsys, model_path, "--input", path, "--header")
    assert status == 0
    np.testing.assert_array_equal(printed(out), model.predict(X))
    status, out, _ = run(capsys, model_path, "--input", path)  # numbers: data by default
    assert status == 0 and len(out.splitlines()) == 4


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,b,c\n1,2,3\n,4,5\n", "line 3, column 1 (a): missing value (an empty field)"),
        ("1,2,3\n4,5,NULL\n", "line 2, column 3: missing value 'NULL'"),
        ("1,2,3\n4,5\n", "line 2 has 2 fields but line 1 has 3"),
        ("1,2,3\n4,5,6,7\n", "line 2 has 4 fields but line 1 has 3"),
        ("1,2,3\n\n4,5,6\n", "line 2 is empty"),
        ("\n1,2,3\n", "line 1 is empty"),
        ("1,2,3\n4,1e400,6\n", "line 2, column 2: '1e400' is too large for a float64"),
        ("1,2,3\n4,1e300,6\n", "line 2, column 2: 1e+300 does not fit in the model's float32"),
        ("1,2,3\n4,Infinity,6\n", "line 2, column 2: 'Infinity' is not a finite number"),
        ("1,2,3\n4,1_000,6\n", "line 2, column 2: '1_000' is not a number"),
        ("1,2,3\n4,0x10,6\n", "line 2, column 2: '0x10' is not a number"),
        ("1,2,3\n4,\u0661,6\n", "line 2, column 2: '\u0661' is not a number"),  # an Arabic-Indic digit
        ('1,2,3\n4,"5,5",6\n', "line 2, column 2: '5,5' is not a number"),
        ('1,2,3\n4,"5"x,6\n', "line 2:"),  # bad quoting
        ("1,2,3\n4;5;6\n", "line 2 has 1 fields but line 1 has 3"),
        ("a,b,c\n", "holds a header but no rows of data"),
        ("", "holds no rows"),
        ("\n\n", "holds no rows"),
        (b"1,2,3\n4,\xff,6\n", "line 2: byte 0xff is not UTF-8 text"),
        ("1,2,3,4\n5,6,7,8\n", "has rows of 4 values but the model expects 3 per sample"),
    ],
)
def test_bad_csv_input_is_refused_with_its_line_and_column(model_path, tmp_path, capsys, content, message):
    status, out, err = run(capsys, model_path, "--input", write(tmp_path / "x.csv", content))
    assert status == 2 and out == ""
    assert f"x.csv{',' if 'line' in message else ''} {message}" in err or message in err, err
    assert "Traceback" not in err


# ----------------------------------------------------------------------- .npy
def npy_bytes(header: str, data: bytes = b"") -> bytes:
    header = header.encode("latin1")
    pad = 64 - (10 + len(header) + 1) % 64
    return (
        b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header) + pad + 1) + header + b" " * pad + b"\n" + data
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (np.zeros((0, 3)), "holds no samples (shape (0, 3))"),
        (np.float64(1.0), "holds a single number"),
        (np.ones((2, 3), dtype=complex), "holds complex128 values"),
        (np.array([[1, 2, 3]], dtype=object), "holds object values"),
        (np.zeros(2, dtype=[("a", "f4"), ("b", "f4")]), "tinynet predict reads numbers"),
        (np.ones((2, 3, 1)), "has samples of shape (3, 1) but the model expects 3 per sample"),
        (np.array([[1.0, 2.0, 3.0], [4.0, 5.0, np.nan]]), "x[1, 2]: nan is not a finite number"),
        (np.array([[1.0, 2.0, 3.0], [4.0, -np.inf, 0.0]]), "x[1, 1]: -inf is not a finite number"),
        (
            np.array([[1.0, 2.0, 3.0], [1e300, 0.0, 0.0]]),
            "x[1, 0]: 1e+300 does not fit in the model's float32",
        ),
        (
            npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 3), }"),
            "is truncated",
        ),
        (
            npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3), }", b"\0" * 23),
            "is truncated",
        ),
        (
            npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3), }", b"\0" * 25),
            "has 1 bytes after",
        ),
        (npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3)"), "is not a valid .npy file"),
        (b"\x93NUMPY\x01", "is not a valid .npy file"),
        (b"", "is empty"),
    ],
)
def test_bad_npy_input_is_refused(model_path, tmp_path, capsys, content, message):
    path = tmp_path / "x.npy"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.save(path, content, allow_pickle=content.dtype.hasobject)
    status, out, err = run(capsys, model_path, "--input", path)
    assert status == 2 and out == ""
    assert message in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("layout", ["fortran", "big-endian", "int16", "bool"])
def test_npy_layouts_predict_the_same(model_path, model, tmp_path, capsys, layout):
    x = {
        "fortran": np.asfortranarray(X),
        "big-endian": X.astype(">f8"),
        "int16": np.round(X * 4).astype(np.int16),
        "bool": X > 0,
    }[layout]
    np.save(tmp_path / "x.npy", x)
    status, _, err = run(capsys, model_path, "-i", tmp_path / "x.npy", "-o", tmp_path / "y.npy")
    assert status == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), model.predict(np.asarray(x, np.float32)))


def test_header_options_are_for_csv_only(model_path, tmp_path, capsys):
    np.save(tmp_path / "x.npy", X)
    status, _, err = run(capsys, model_path, "-i", tmp_path / "x.npy", "--header")
    assert status == 2 and "--header and --no-header apply to CSV input only" in err


def test_formats_can_be_named_explicitly(model_path, model, tmp_path, capsys):
    np.save(tmp_path / "x.npy", X)
    os.replace(tmp_path / "x.npy", tmp_path / "x.data")
    args = ["-i", tmp_path / "x.data", "--input-format", "npy", "-o", tmp_path / "y.out"]
    status, _, err = run(capsys, model_path, *args, "--output-format", "npy")
    assert status == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "y.out"), model.predict(X))
    status, _, err = run(capsys, model_path, "-i", tmp_path / "x.data")
    assert status == 2 and "pass --input-format" in err


# ----------------------------------------------------------------------- files and output
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_or_device_as_input_is_refused_without_opening_it(model_path, tmp_path, capsys):
    fifo = tmp_path / "x.csv"
    os.mkfifo(fifo)  # opening it for reading blocks until a writer comes

    def release():  # a watchdog, so that a reader that does open it fails this test instead of hanging
        with contextlib.suppress(OSError):  # ENXIO: nobody is reading, nothing to release
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    watchdog = threading.Timer(10, release)
    watchdog.start()
    try:
        status, _, err = run(capsys, model_path, "--input", fifo)
    finally:
        watchdog.cancel()
    assert status == 2 and "it is a FIFO (named pipe), not a regular file" in err and "--input -" in err
    if os.path.exists("/dev/zero"):
        status, _, err = run(capsys, model_path, "--input", "/dev/zero", "--input-format", "npy")
        assert status == 2 and "it is a device" in err
    (tmp_path / "folder.csv").mkdir()
    status, _, err = run(capsys, model_path, "--input", tmp_path / "folder.csv")
    assert status == 2 and "it is a folder" in err
    status, _, err = run(capsys, model_path, "--input", tmp_path / "missing.csv")
    assert status == 2 and "cannot read" in err and "missing.csv" in err


def test_unusable_outputs_are_refused_before_any_work(model_path, tmp_path, capsys):
    x = write(tmp_path / "x.csv", "1,2,3\n")
    (tmp_path / "out.csv").mkdir()
    status, _, err = run(capsys, model_path, "-i", x, "-o", tmp_path / "out.csv")
    assert status == 2 and "it is a folder" in err
    status, _, err = run(capsys, model_path, "-i", x, "-o", tmp_path / "no" / "such" / "y.csv")
    assert status == 2 and "does not exist; create it first" in err
    status, _, err = run(capsys, model_path, "-i", x, "-o", tmp_path / "y.json")
    assert status == 2 and "the output must be a .csv or .npy file" in err
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.csv")  # the atomic rename would replace the FIFO: refused
        status, _, err = run(capsys, model_path, "-i", x, "-o", tmp_path / "fifo.csv")
        assert status == 2 and "FIFO" in err and "--output -" in err
    status, _, err = run(capsys, "-", "-i", "-", "-o", tmp_path / "y.csv")
    assert status == 2 and "cannot both be read from standard input" in err


def test_the_output_is_written_atomically_and_only_after_success(model_path, model, tmp_path, capsys):
    out = tmp_path / "y.csv"
    out.write_text("old\n")
    status, _, _ = run(capsys, model_path, "-i", write(tmp_path / "x.csv", "1,2,3\n4,,6\n"), "-o", out)
    assert status == 2 and out.read_text() == "old\n"
    status, _, _ = run(capsys, model_path, "-i", write(tmp_path / "x.csv", "0.5,-1,2\n"), "-o", out)
    assert status == 0
    np.testing.assert_array_equal(
        np.loadtxt(out, delimiter=",", ndmin=2, dtype=np.float32), model.predict(X[:1])
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv", "y.csv"]  # no temporary file left


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_an_output_through_a_symbolic_link_replaces_the_target(model_path, tmp_path, capsys):
    (tmp_path / "real.csv").write_text("old\n")
    os.symlink(tmp_path / "real.csv", tmp_path / "link.csv")
    status, _, _ = run(
        capsys, model_path, "-i", write(tmp_path / "x.csv", "1,2,3\n"), "-o", tmp_path / "link.csv"
    )
    assert status == 0
    assert os.path.islink(tmp_path / "link.csv") and (tmp_path / "real.csv").read_text() != "old\n"


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_batch_size_must_be_a_positive_integer(model_path, tmp_path, capsys, value):
    x = write(tmp_path / "x.csv", "1,2,3\n")
    with pytest.raises(SystemExit) as exc:
        main(["predict", model_path, "-i", x, "--batch-size", value])
    assert exc.value.code == 2
    assert "--batch-size: must be a positive integer" in capsys.readouterr().err


# ----------------------------------------------------------------------- non-finite weights
def nan_model_file(folder) -> str:
    model = small_model(epochs=0)
    weights = model.get_weights()
    weights[0][0, 0] = np.nan
    model.set_weights(weights)
    path = folder / "nan.npz"
    if "allow_nonfinite" in inspect.signature(tn.save_model).parameters:
        tn.save_model(model, path, allow_nonfinite=True)
    else:
        tn.save_model(model, path)
    return str(path)


@pytest.mark.skipif(
    "allow_nonfinite" not in inspect.signature(tn.load_model).parameters,
    reason="load_model has no allow_nonfinite yet",
)
def test_predict_allow_nonfinite_loads_a_model_with_nan_weights(tmp_path, capsys):
    path = nan_model_file(tmp_path)
    x = write(tmp_path / "x.csv", "1,2,3\n")
    status, out, err = run(capsys, path, "-i", x)
    assert status == 1 and "NaN or infinite" in err and "pass --allow-nonfinite" in err
    status, out, err = run(capsys, path, "-i", x, "--allow-nonfinite")
    assert status == 0, err
    assert len(out.splitlines()) == 1


def test_inspect_allow_nonfinite(tmp_path, capsys):
    path = nan_model_file(tmp_path)
    assert main(["inspect", path]) == 1
    assert "--allow-nonfinite" in capsys.readouterr().err
    assert main(["inspect", path, "--allow-nonfinite"]) == 0
    out = capsys.readouterr().out
    assert "hold NaN or infinite values (allowed)" in out


def test_inspect_finds_nonfinite_values_across_chunk_boundaries(tmp_path, monkeypatch):
    """The streamed finiteness check sees a NaN wherever it lies, also in an element that a chunk
    boundary splits (a chunk size that is not a multiple of the item size), stored or deflated."""
    from tinynet.serialization import _archive

    for compress in (False, True):
        model = tn.Sequential([tn.layers.Dense(3, input_dim=5)])
        model.build()
        W = model.layers[0].params["W"]
        for flat_index in (0, 7, W.size - 1):
            W[...] = 1.0
            W.reshape(-1)[flat_index] = np.nan
            path = tmp_path / f"m{compress}{flat_index}.npz"
            tn.save_model(model, path, compress=compress, allow_nonfinite=True)
            for chunk in (_archive.CHUNK, 6, 13):
                monkeypatch.setattr(_archive, "CHUNK", chunk)
                info = tn.inspect_model_file(path)
                assert info.checksums_ok and not info.ok, (compress, flat_index, chunk)
                assert info.nonfinite == [info.manifest["layers"][0]["params"]["W"]]
                assert tn.inspect_model_file(path, allow_nonfinite=True).ok
            monkeypatch.undo()
        W[...] = 1.0
        path = tmp_path / f"finite{compress}.npz"
        tn.save_model(model, path, compress=compress)
        info = tn.inspect_model_file(path)
        assert info.ok and info.nonfinite == [] and "Values      OK" in str(info)


def test_inspect_accepts_allow_nonfinite(tmp_path, capsys):
    small_model(epochs=0).save(tmp_path / "m.npz")
    assert main(["inspect", str(tmp_path / "m.npz"), "--allow-nonfinite"]) == 0
    assert "Checksums   OK" in capsys.readouterr().out


# ----------------------------------------------------------------------- names from files
def test_control_characters_in_names_are_printed_escaped(tmp_path, capsys):
    tn.set_seed(0)
    model = tn.Sequential(
        [tn.layers.Dense(2, input_dim=3, name="d\x1b[2J\nChecksums   OK")], name="m\u202eodel\x07"
    )
    model.build()
    model.save(tmp_path / "weird.npz")
    assert main(["inspect", str(tmp_path / "weird.npz")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert r"d\x1b[2J\nChecksums   OK (Dense)" in out and r'"m\u202eodel\x07"' in out
    assert sum(line.startswith("Checksums") for line in out.splitlines()) == 1  # no forged line
    status, _, err = run(capsys, tmp_path / "weird.npz", "-i", tmp_path / "x\x1b[31m.csv")
    assert status == 2 and r"x\x1b[31m.csv" in err and "\x1b" not in err


def test_ctrl_c_exits_130_without_a_traceback(model_path, tmp_path, capsys, monkeypatch):
    import tinynet.cli._io as cli_io

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_io, "parse_csv", interrupted)
    status, out, err = run(capsys, model_path, "-i", write(tmp_path / "x.csv", "1,2,3\n"))
    assert status == 130 and out == "" and err == "tinynet: interrupted\n"


def test_a_long_header_is_shortened_in_the_note(model_path, tmp_path, capsys):
    names = ",".join(f"c{i}" for i in range(12))
    status, _, err = run(
        capsys, model_path, "-i", write(tmp_path / "x.csv", f"{names}\n" + ",".join(["1"] * 12))
    )
    assert status == 2 and "(c0, c1, c2, c3, c4, c5, c6, c7, ...) is read as a header" in err
