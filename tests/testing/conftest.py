"""Fixtures of the tinynet.testing tests: the Swish example module and the documentation pages."""

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_swish():
    """``examples/swish.py`` as the module ``swish``, loaded once (its layer registers itself)."""
    module = sys.modules.get("swish")
    if module is None:
        spec = importlib.util.spec_from_file_location("swish", ROOT / "examples" / "swish.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["swish"] = module
        spec.loader.exec_module(module)
    return module


def doc_block(page: str, marker: str) -> str:
    """The code block that follows ``<!-- marker -->`` in ``docs/<page>``."""
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    match = re.search(rf"<!-- {re.escape(marker)} -->\n```\w*\n(.*?)```", text, re.S)
    assert match, f"docs/{page} has no code block after <!-- {marker} -->"
    return match.group(1)


def python_blocks(page: str) -> list[str]:
    """Every ```python block of ``docs/<page>``, in order."""
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, re.S)


@pytest.fixture(scope="session")
def swish():
    return load_swish()
