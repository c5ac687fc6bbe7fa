"""Atomic saves: a save that dies at any moment leaves the previous file intact."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn
from tinynet.serialization import load_model, save_model

ROOT = Path(__file__).resolve().parents[2]

# Saves a 16 MB model over and over, its bias equal to the version's number (so that almost all
# of each loop is spent writing the file), and says "ready" once the first version is on disk.
SAVER = textwrap.dedent(
    """
    import sys
    import tinynet as tn

    path = sys.argv[1]
    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(2000, input_dim=2000)])
    model.build()
    model.layers[0].params["W"][...] = 1.0
    version = 0
    model.layers[0].params["b"][...] = version
    model.save(path)
    print("ready", flush=True)
    while True:
        version += 1
        model.layers[0].params["b"][...] = version
        model.save(path)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_sigkill_mid_save_leaves_the_previous_file_intact(tmp_path):
    path = tmp_path / "model.npz"
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    killed_mid_write = 0
    for attempt in range(10):
        proc = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(path)], stdout=subprocess.PIPE, env=env, text=True
        )
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(0.1 + 0.05 * attempt)  # a few saves in: the next one is under way
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        stale = list(tmp_path.glob(".model.npz.tmp-*"))
        killed_mid_write += bool(stale)
        # whatever the moment of death, the file is one complete version, checksums and all
        model = load_model(path)
        assert np.all(model.layers[0].params["W"] == 1.0)
        bias = model.layers[0].params["b"]
        assert bias.shape == (2000,) and np.all(bias == bias[0])
        for leftover in stale:  # stale temporary files are harmless; clean up for the next attempt
            leftover.unlink()
        if killed_mid_write:
            break
    assert killed_mid_write, "no attempt killed the saver in the middle of writing a file"


def test_a_failing_save_leaves_the_previous_file_and_no_temporary(tmp_path):
    path = tmp_path / "model.npz"
    tn.set_seed(0)
    good = tn.Sequential([tn.layers.Dense(2, input_dim=2)])
    good.build()
    good.save(path)
    before = path.read_bytes()

    class Broken:
        def __init__(self, model):
            self.__dict__.update(model.__dict__)

        def named_params(self):
            raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        save_model(Broken(good), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_failure_while_writing_removes_the_temporary_file(tmp_path, monkeypatch):
    from tinynet.serialization import _archive

    path = tmp_path / "model.npz"
    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(2, input_dim=2)])
    model.build()
    model.save(path)
    before = path.read_bytes()
    model.layers[0].params["W"][...] = 5.0

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # even an interrupt in the middle of writing

    monkeypatch.setattr(_archive, "npy_header", crash)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_replacing_keeps_the_file_permissions(tmp_path):
    path = tmp_path / "model.npz"
    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(2, input_dim=2)])
    model.build()
    model.save(path)
    os.chmod(path, 0o640)
    model.save(path)
    assert (os.stat(path).st_mode & 0o777) == 0o640


# ------------------------------------------------ errors name the target; symlinks
def _tiny():
    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(2, input_dim=2)])
    model.build()
    return model


@pytest.mark.parametrize("where", ["missing folder", "a directory"])
def test_errors_while_saving_name_the_target_not_the_temporary_file(tmp_path, where):
    path = tmp_path / "missing" / "model.npz" if where == "missing folder" else tmp_path / "model.npz"
    if where == "a directory":
        path.mkdir()
    with pytest.raises(OSError) as info:
        _tiny().save(path)
    message = str(info.value)
    assert str(path) in message and ".tmp-" not in message, message
    assert info.value.filename == str(path)
    assert not list(tmp_path.rglob(".*tmp-*"))


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_saving_over_a_symlink_writes_through_it(tmp_path):
    target = tmp_path / "versions" / "v1.npz"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "model.npz"
    link.symlink_to(target)
    model = _tiny()
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)  # the link is kept
    np.testing.assert_array_equal(load_model(target).get_weights()[0], model.get_weights()[0])
    assert sorted(p.name for p in target.parent.iterdir()) == ["v1.npz"]  # no temporary left behind


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_saving_through_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "model.npz"
    link.symlink_to(tmp_path / "real.npz")
    _tiny().save(link)
    assert link.is_symlink() and (tmp_path / "real.npz").is_file()
