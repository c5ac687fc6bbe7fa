"""Packaging: `python -m build` makes an sdist and a wheel with PEP 639 license metadata and no warning.

The sdist ships no tests (MANIFEST.in prunes them): the suite needs the whole repository, and a
partial copy (setuptools' default took the top-level `tests/test_*.py` only) would fail.  The
wheel holds the package, its data, `py.typed` and the license.
"""

import importlib.util
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    if importlib.util.find_spec("build") is None:
        pytest.skip('the build frontend is not installed (pip install -e ".[dev]")')
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        # with it set, setuptools warns that it skips byte-compiling: noise, not a packaging problem
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    return out, log


@pytest.mark.slow
def test_build_prints_no_deprecation_or_metadata_warning(dist):
    _, log = dist
    bad = [line for line in log.splitlines() if re.search(r"deprecat|^\s*WARNING|Warning:", line, re.I)]
    assert not bad, "\n".join(bad)


@pytest.mark.slow
def test_sdist_has_the_package_and_no_tests(dist):
    out, _ = dist
    (sdist,) = out.glob("tinynet-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = [name.split("/", 1)[1] for name in tar.getnames() if "/" in name]
        pkg_info = tar.extractfile(next(m for m in tar.getmembers() if m.name.endswith("/PKG-INFO"))).read()
    assert not [n for n in names if n.startswith("tests")], "the sdist has a partial copy of the tests"
    assert {
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "tinynet/py.typed",
        "tinynet/datasets/data/iris.npz",
        "tinynet/datasets/data/names.txt.gz",
        "tinynet/datasets/data/tinyshakespeare.txt.gz",
    } <= set(names)
    assert b"License-Expression: MIT" in pkg_info


@pytest.mark.slow
def test_wheel_has_py_typed_data_and_license(dist):
    out, _ = dist
    (wheel,) = out.glob("tinynet-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        metadata = whl.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "tinynet/py.typed" in names and "tinynet/datasets/data/digits.npz" in names
    assert {"tinynet/datasets/data/names.txt.gz", "tinynet/datasets/data/tinyshakespeare.txt.gz"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: MIT" in metadata
    assert "Classifier: License ::" not in metadata  # superseded by the expression (PEP 639)
    assert not [n for n in names if n.startswith("tests/")]
