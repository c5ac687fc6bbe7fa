"""Project-level promises: the README's commands, CI, and what importing tinynet costs."""

import re
import subprocess
import sys
from pathlib import Path

import tinynet as tn

ROOT = Path(__file__).resolve().parents[1]


def quickstart_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quickstart\s+```bash\n(.*?)```", readme, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quickstart_has_exactly_two_commands_and_ci_runs_the_second_verbatim():
    commands = quickstart_commands()
    assert len(commands) == 2
    assert "demo" in commands[0] and "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands[1] in ci


def test_import_does_not_pull_matplotlib():
    code = "import tinynet, sys; assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_public_api_is_exported():
    for name in [
        "Sequential",
        "set_seed",
        "set_default_dtype",
        "register_layer",
        "layers",
        "losses",
        "optimizers",
        "metrics",
        "datasets",
        "gradcheck",
        "initializers",
        "callbacks",
    ]:
        assert hasattr(tn, name), name
    assert set(tn.__all__) <= set(dir(tn))


def test_demo_runs_and_reports_the_metrics(capsys):
    from tinynet.cli import main

    assert main(["demo", "--epochs", "5"]) == 0
    out = capsys.readouterr().out
    for word in ("accuracy", "precision", "recall", "f1"):
        assert re.search(rf"{word}\s+0\.\d{{4}}", out), word


def test_ci_also_runs_the_suite_on_the_lowest_numpy_that_pyproject_allows():
    # docs/faq.md ("What does bit for bit promise?"): the suite must pass on the lowest and the
    # newest supported NumPy; .ci/run reads the floor from pyproject.toml's "numpy>=X.Y"
    assert re.search(r'"numpy>=\d+\.\d+', (ROOT / "pyproject.toml").read_text())
    ci = (ROOT / ".ci" / "run").read_text()
    assert '"numpy==${floor}.*"' in ci
    assert ".venv-lowest-numpy/bin/python -m pytest -n 2" in ci
