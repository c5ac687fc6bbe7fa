"""The command line: ``tinynet inspect``, ``tinynet predict`` and the demo's fresh-process check."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tinynet.cli import main

from ..rounding import assert_equal_to_rounding
from .helpers import npy, replace_member, small_model, to_bytes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    model = small_model(epochs=2)
    model.save(folder / "model.npz")
    return model, folder


def test_inspect_prints_the_report(saved, capsys):
    _, folder = saved
    assert main(["inspect", str(folder / "model.npz")]) == 0
    out = capsys.readouterr().out
    for needle in (
        "tinynet-model version 1",
        "input shape (3,)",
        "dense (Dense)",
        "dropout (Dropout)",
        "Total params: 32",
        "loss categorical_crossentropy, optimizer adam",
        "2 epochs done, 6 optimizer steps",
        "Checksums   OK: all 12 arrays",
    ):
        assert needle in out, needle


def test_inspect_json(saved, capsys):
    _, folder = saved
    assert main(["inspect", str(folder / "model.npz"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["checksums_ok"] is True and report["manifest"]["format_version"] == 1


def test_inspect_exit_status_1_for_a_failed_checksum_or_a_bad_file(saved, tmp_path, capsys):
    model, _ = saved
    damaged = replace_member(to_bytes(model), "layers/02_dense_1/b.npy", npy(np.ones(2, np.float32)))
    (tmp_path / "damaged.npz").write_bytes(damaged)
    assert main(["inspect", str(tmp_path / "damaged.npz")]) == 1
    out = capsys.readouterr().out
    assert "FAILED for 1 of 12 arrays" in out and "layers/02_dense_1/b" in out
    (tmp_path / "junk.npz").write_bytes(b"junk")
    assert main(["inspect", str(tmp_path / "junk.npz")]) == 1
    assert "junk.npz: is not a zip archive" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path / "missing.npz")]) == 1


def test_predict_csv_with_a_header_to_stdout(saved, tmp_path, capsys):
    model, folder = saved
    x = np.random.default_rng(0).normal(size=(4, 3))
    np.savetxt(tmp_path / "x.csv", x, delimiter=",", header="a,b,c", comments="")
    assert main(["predict", str(folder / "model.npz"), "--input", str(tmp_path / "x.csv")]) == 0
    printed = np.loadtxt(capsys.readouterr().out.splitlines(), delimiter=",", dtype=np.float32)
    np.testing.assert_array_equal(printed, model.predict(x))  # 9 digits read back to the same float32


def test_predict_npy_to_npy_and_csv(saved, tmp_path):
    model, folder = saved
    x = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert (
        main(
            [
                "predict",
                str(folder / "model.npz"),
                "-i",
                str(tmp_path / "x.npy"),
                "-o",
                str(tmp_path / "y.npy"),
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), model.predict(x))
    assert (
        main(
            [
                "predict",
                str(folder / "model.npz"),
                "-i",
                str(tmp_path / "x.npy"),
                "-o",
                str(tmp_path / "y.csv"),
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(
        np.loadtxt(tmp_path / "y.csv", delimiter=",", dtype=np.float32), model.predict(x)
    )
    np.save(tmp_path / "one.npy", x[0])  # one sample without its batch axis
    assert (
        main(
            [
                "predict",
                str(folder / "model.npz"),
                "-i",
                str(tmp_path / "one.npy"),
                "-o",
                str(tmp_path / "y1.npy"),
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(np.load(tmp_path / "y1.npy"), model.predict(x[:1]))


def test_predict_exit_status_2_for_input_that_does_not_fit(saved, tmp_path, capsys):
    _, folder = saved
    model_path = str(folder / "model.npz")
    np.savetxt(tmp_path / "wide.csv", np.ones((2, 4)), delimiter=",")
    assert main(["predict", model_path, "--input", str(tmp_path / "wide.csv")]) == 2
    err = capsys.readouterr().err
    assert "wide.csv has rows of 4 values but the model expects 3 per sample (input shape (3,))" in err
    np.save(tmp_path / "narrow.npy", np.ones((2, 2)))
    assert main(["predict", model_path, "--input", str(tmp_path / "narrow.npy")]) == 2
    (tmp_path / "x.txt").write_text("1,2,3\n")
    assert main(["predict", model_path, "--input", str(tmp_path / "x.txt")]) == 2
    (tmp_path / "bad.csv").write_text("a,b,c\n1,2,x\n")
    assert main(["predict", model_path, "--input", str(tmp_path / "bad.csv")]) == 2
    np.save(tmp_path / "obj.npy", np.array(["a", "b"]))
    assert main(["predict", model_path, "--input", str(tmp_path / "obj.npy")]) == 2
    np.savetxt(tmp_path / "ok.csv", np.ones((2, 3)), delimiter=",")
    assert (
        main(["predict", model_path, "--input", str(tmp_path / "ok.csv"), "-o", str(tmp_path / "y.json")])
        == 2
    )
    (tmp_path / "junk.npz").write_bytes(b"junk")
    assert main(["predict", str(tmp_path / "junk.npz"), "--input", str(tmp_path / "ok.csv")]) == 1


def test_predict_imports_only_numpy_and_tinynet(saved, tmp_path):
    """``python -m tinynet predict`` in a fresh process: no third-party module but numpy is imported."""
    _, folder = saved
    np.save(tmp_path / "x.npy", np.ones((2, 3), np.float32))
    code = textwrap.dedent(
        """
        import runpy, sys
        before = set(sys.modules)
        sys.argv = ["tinynet", "predict", sys.argv[1], "--input", sys.argv[2], "--output", sys.argv[3]]
        try:
            runpy.run_module("tinynet", run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            assert exc.code == 0, exc.code
        new = {name.split(".")[0] for name in set(sys.modules) - before}
        # numpy's compiled (Cython) modules register the Cython runtime under these names
        cython = {name for name in new if name.startswith("_cython_") or name == "cython_runtime"}
        print(sorted(new - cython - set(sys.stdlib_module_names) - {"numpy", "tinynet"}))
        """
    )
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(folder / "model.npz"),
            str(tmp_path / "x.npy"),
            str(tmp_path / "y.npy"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert result.stdout.strip() == "[]", result.stdout
    assert np.load(tmp_path / "y.npy").shape == (2, 2)


def test_demo_reloads_in_a_fresh_process_and_predicts_identically(tmp_path, capsys):
    assert main(["demo", "--epochs", "2", "--save", str(tmp_path / "pima.npz")]) == 0
    out = capsys.readouterr().out
    assert "Loaded it in a fresh process" in out
    assert "all 154 predictions identical, bit for bit (float32)" in out
    assert (tmp_path / "pima.npz").is_file()


def test_predict_reshapes_flat_csv_rows_for_a_model_of_images(tmp_path, capsys):
    import tinynet as tn

    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Flatten(input_shape=(1, 2, 3)), tn.layers.Dense(2)])
    model.build()
    model.save_weights(tmp_path / "img.npz")  # a weights file predicts too
    images = np.random.default_rng(3).normal(size=(4, 1, 2, 3)).astype(np.float32)
    np.savetxt(tmp_path / "x.csv", images.reshape(4, 6), delimiter=",", fmt="%.9g")
    args = [
        "predict",
        str(tmp_path / "img.npz"),
        "-i",
        str(tmp_path / "x.csv"),
        "-o",
        str(tmp_path / "y.npy"),
    ]
    assert main([*args, "--batch-size", "3"]) == 0
    # bits are promised for the same batches (3 and 1); all 4 at once may round differently (the
    # BLAS kernel depends on the shape): equal to float32 rounding, see tests/rounding.py
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), model.predict(images, batch_size=3))
    assert_equal_to_rounding(np.load(tmp_path / "y.npy"), model.predict(images))
    assert main(["inspect", str(tmp_path / "img.npz")]) == 0
    assert "weights only" in capsys.readouterr().out
