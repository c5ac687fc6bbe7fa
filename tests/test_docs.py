"""The documentation builds with `mkdocs build --strict`: no broken link, missing page or stale API name.

`mkdocs.yml` turns broken links and anchors into warnings (its `validation:` section) and
`--strict` turns every warning into a failure, so this test fails when a page links to a
page or an anchor that does not exist, when `nav` lists a missing page, or when an API page
refers (`::: tinynet.x.Name`) to a name that no longer exists.  It also checks that the
docstrings' reST math reaches the HTML as MathJax input (see `docs/griffe_math.py`), and, in a
real headless Chromium with every host but 127.0.0.1 unreachable, that the formulas of the
derivations page are typeset by the MathJax bundled in `docs/javascripts/mathjax/` (no CDN).
"""

import functools
import http.server
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
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


# --- the built site in a real browser, offline ---------------------------------------------------

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian: apt-get install -y chromium); "
    "the offline formula-rendering check needs a real browser",
)


@pytest.fixture(scope="module")
def served_site(site):
    """Serve the built site on 127.0.0.1 and record every request's path and status."""
    requests: list[tuple[str, int]] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_request(self, code="-", size="-"):
            requests.append((self.path, int(code) if str(code).isdigit() else 0))

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


def chromium(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium on ``url`` with the network off: every host but 127.0.0.1 fails to resolve."""
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--user-data-dir={profile}",
            # let the page's scripts (MathJax) run to completion before dumping or capturing
            "--virtual-time-budget=20000",
            *args,
            url,
        ],
        capture_output=True,
        timeout=120,
    )


def test_the_site_loads_nothing_from_other_hosts(site):
    html = (site / "derivations" / "index.html").read_text(encoding="utf-8")
    external = re.findall(r'<(?:script|link)[^>]*(?:src|href)="((?:https?:)?//[^"]+)"', html)
    assert not external, f"the page loads files from other hosts: {external}"
    assert "javascripts/mathjax/tex-chtml.js" in html


@pytest.mark.slow
@needs_chromium
def test_formulas_are_typeset_offline_in_chromium(served_site, tmp_path):
    base, requests = served_site
    requests.clear()
    result = chromium(f"{base}/derivations/", tmp_path / "profile", "--dump-dom")
    dom = result.stdout.decode("utf-8", "replace")
    assert result.returncode == 0 and "</html>" in dom, result.stderr.decode("utf-8", "replace")[-2000:]
    typeset = dom.count("<mjx-container")
    assert typeset >= 100, f"only {typeset} formulas were typeset on the derivations page"
    # arithmatex wraps each formula in \( \) or \[ \]; MathJax replaces them, so none may be left
    raw = re.findall(r'class="arithmatex">\s*(\\[(\[].{0,60})', dom)
    assert not raw, f"formulas left as raw TeX: {raw[:3]}"
    assert "<mjx-merror" not in dom and "data-mjx-error" not in dom, "MathJax reported a TeX error"
    # the glyphs are drawn: the characters' CSS rules exist and the fonts came from the site
    assert re.search(r"mjx-c\.mjx-c[0-9A-F]+", dom), "MathJax laid out formulas without their characters"
    fonts = {path.rsplit("/", 1)[-1] for path, code in requests if path.endswith(".woff") and code == 200}
    assert "MathJax_Main-Regular.woff" in fonts and "MathJax_Math-Italic.woff" in fonts, fonts
    failed = [(path, code) for path, code in requests if code >= 400]
    assert not failed, f"requests that failed: {failed}"


@pytest.mark.slow
@needs_chromium
def test_screenshot_of_the_derivations_page(served_site, tmp_path):
    image = pytest.importorskip("matplotlib.image")
    base, _ = served_site
    png = tmp_path / "derivations.png"
    result = chromium(
        f"{base}/derivations/", tmp_path / "profile", "--window-size=1280,1600", f"--screenshot={png}"
    )
    assert result.returncode == 0 and png.is_file(), result.stderr.decode("utf-8", "replace")[-2000:]
    pixels = image.imread(png)[..., :3]
    assert pixels.shape[:2] == (1600, 1280)
    # a rendered page, not a blank or single-colour frame: text and formulas darken a few percent
    # of the pixels, in many shades (anti-aliasing)
    dark = (pixels.mean(axis=-1) < 0.5).mean()
    shades = len(set(map(tuple, (pixels.reshape(-1, 3) * 255).astype(int)[::7])))
    assert 0.01 < dark < 0.5 and shades > 50, (dark, shades)
