"""Type information: tinynet ships `py.typed`, and mypy accepts the README's and the examples' code.

mypy checks the README's ```python blocks (joined in order, as one session) and `examples/*.py`
with `--follow-imports=silent`: tinynet itself is analysed for its types, as an installed typed
package is, but only the user's code is reported.  A snippet checks that `register_layer` keeps
the decorated class's type (untyped, it returned `Any`, and every use of the class went unchecked).
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

needs_mypy = pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None, reason='mypy is not installed (pip install -e ".[dev]")'
)

REGISTER_SNIPPET = """
from typing_extensions import assert_type

import numpy as np
import tinynet as tn


@tn.register_layer
class Scale(tn.layers.Layer):
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return 2 * x


@tn.register_layer(name="typing_snippet.Shift")
class Shift(tn.layers.Layer):
    pass


# mypy does not apply a class decorator's return type, so check the calls the decorator makes too
assert_type(tn.register_layer(Scale), type[Scale])
assert_type(tn.register_layer(name="typing_snippet.Shift")(Shift), type[Shift])
assert_type(tn.layers.register_layer(Scale, name="typing_snippet.Scale"), type[Scale])
assert_type(Scale().forward(np.ones(2)), np.ndarray)
model = tn.Sequential([Scale(), Shift()])
"""


def readme_python() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has no ```python blocks"
    return "\n".join(blocks)


def run_mypy(paths: list[Path], cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--python-version",
            "3.10",
            "--follow-imports=silent",
            "--no-error-summary",
            "--cache-dir",
            str(cache),
            *map(str, paths),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_py_typed_is_shipped():
    assert (ROOT / "tinynet" / "py.typed").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    package_data = re.search(r"^\[tool\.setuptools\.package-data\]\ntinynet = \[(.*)\]$", pyproject, re.M)
    assert package_data and '"py.typed"' in package_data.group(1)


@pytest.mark.slow
@needs_mypy
def test_mypy_accepts_the_readme_and_the_examples(tmp_path):
    readme = tmp_path / "readme_examples.py"
    readme.write_text(readme_python(), encoding="utf-8")
    snippet = tmp_path / "register_layer_snippet.py"
    snippet.write_text(REGISTER_SNIPPET, encoding="utf-8")
    examples = sorted((ROOT / "examples").glob("*.py"))
    assert examples
    # one wrong use of the API in the same run (mypy takes seconds to load tinynet): the check can
    # fail, and this must be the only error reported
    bad = tmp_path / "bad.py"
    bad.write_text("import tinynet as tn\n\nmodel: int = tn.Sequential()\n", encoding="utf-8")
    result = run_mypy([readme, snippet, *examples, bad], tmp_path / "mypy_cache")
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and errors[0].startswith(f"{bad}:3: error: Incompatible types in assignment"), (
        f"mypy found errors:\n{result.stdout}{result.stderr}"
    )
