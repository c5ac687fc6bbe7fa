"""The documentation builds with `mkdocs build --strict`: no broken link, missing page or stale API name.

`mkdocs.yml` turns broken links and anchors into warnings (its `validation:` section) and
`--strict` turns every warning into a failure, so this test fails when a page links to a
page or an anchor that does not exist, when `nav` lists a missing page, or when an API page
refers (`::: tinynet.x.Name`) to a name that no longer exists.  It also checks that the
docstrings' reST math reaches the HTML as MathJax input (see `docs/griffe_math.py`).
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _missing(modules: tuple[str, ...]) -> list[str]:
    missing = []
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(module)
    return missing


_MISSING = _missing(("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"))

pytestmark = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"the docs tooling is not installed (missing: {', '.join(_MISSING)}); "
    'install it with pip install -e ".[dev]"',
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site_dir = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        # the Material theme prints a banner about its successor unless told not to
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"},
    )
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{output}"
    warnings = [line for line in output.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert not warnings, output
    return site_dir


def test_docs_build_strict(site):
    assert (site / "index.html").is_file()
    assert (site / "derivations" / "index.html").is_file()


def test_docstring_math_reaches_mathjax(site):
    # Dense's docstring writes `.. math:: Z = X W + \mathbf{1} b^\top`; griffe_math.py must turn it
    # into an arithmatex block, and `:math:` roles into inline arithmatex spans.
    html = (site / "api" / "layers" / "index.html").read_text(encoding="utf-8")
    assert '<div class="arithmatex">\\[\nZ = X W + \\mathbf{1} b^\\top' in html
    assert '<span class="arithmatex">\\(G = \\partial L/\\partial Y\\)</span>' in html
    assert ".. math::" not in html and ":math:`" not in html


@pytest.fixture(scope="module")
def griffe_math():
    spec = importlib.util.spec_from_file_location("griffe_math", ROOT / "docs" / "griffe_math.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rest_math_becomes_arithmatex_markdown(griffe_math):
    text = "Forward:\n\n.. math:: y = \\sigma(x)\n\nwith :math:`x` the input.\n\n.. math::\n    a &= b \\\\\n    c &= d\n"
    out = griffe_math.rest_to_markdown(text)
    assert "$$\ny = \\sigma(x)\n$$" in out
    assert "with $x$ the input." in out
    assert "$$\n\\begin{aligned}\na &= b \\\\\nc &= d\n\\end{aligned}\n$$" in out


def test_math_in_a_list_item_stays_in_the_item(griffe_math):
    out = griffe_math.rest_to_markdown("1. Step:\n\n   .. math:: x = 1\n")
    assert "    $$\n    x = 1\n    $$" in out


def test_roles_tables_and_definition_lists(griffe_math):
    out = griffe_math.rest_to_markdown(
        "See :class:`~tinynet.layers.Dense` and :func:`f`.\n\n"
        "====  =====\nname  value\n====  =====\na     1\nb     2\n====  =====\n\n"
        "``build(shape)``\n    Create the parameters.\n"
    )
    assert "See `tinynet.layers.Dense` and `f`." in out
    assert "| name | value |\n| --- | --- |\n| a | 1 |\n| b | 2 |" in out
    assert "``build(shape)``\n:   Create the parameters." in out
