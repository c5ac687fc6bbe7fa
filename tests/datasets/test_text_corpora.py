"""The bundled text corpora: exact content (against the shared files and a recorded SHA-256), lazy loading."""

import hashlib
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from tinynet import datasets

# parents: [0] tests/datasets, [1] tests, [2] the repository; CI keeps shared/ beside the clone.
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"shared data not found at {SHARED_DATA}")

# SHA-256 of the original files in shared/data (`sha256sum names.txt tinyshakespeare.txt`), so that
# the bundled content is checked even where the shared folder is absent.
NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def test_names_content_hash():
    # names.txt has no final newline, so its lines joined by "\n" are the file's bytes.
    assert sha256("\n".join(datasets.load_names())) == NAMES_SHA256


def test_tiny_shakespeare_content_hash():
    assert sha256(datasets.load_tiny_shakespeare()) == SHAKESPEARE_SHA256


def test_names_shape_and_alphabet():
    names = datasets.load_names()
    # 32,032 newlines, and a last line without one: 32,033 names (the makemore count).
    assert len(names) == 32033
    assert len(set(names)) == 29494
    assert all(isinstance(n, str) and 2 <= len(n) <= 15 for n in names)
    assert set("".join(names)) == set("abcdefghijklmnopqrstuvwxyz")
    assert names[:3] == ["emma", "olivia", "ava"] and names[-1] == "zzyzx"


def test_tiny_shakespeare_shape():
    text = datasets.load_tiny_shakespeare()
    assert len(text) == 1115394
    assert text.count("\n") == 40000 and text.endswith("\n")
    assert len(set(text)) == 65
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")


@needs_shared
def test_names_equal_the_shared_file():
    lines = (SHARED_DATA / "names.txt").read_text(encoding="ascii").split("\n")
    assert datasets.load_names() == lines
    assert sha256("\n".join(lines)) == NAMES_SHA256


@needs_shared
def test_tiny_shakespeare_equals_the_shared_file():
    text = (SHARED_DATA / "tinyshakespeare.txt").read_text(encoding="ascii")
    assert datasets.load_tiny_shakespeare() == text
    assert sha256(text) == SHAKESPEARE_SHA256


def test_each_call_returns_a_fresh_list():
    names = datasets.load_names()
    names[0] = "changed"
    names.append("extra")
    again = datasets.load_names()
    assert again[0] == "emma" and len(again) == 32033


def test_import_does_not_read_the_corpora():
    code = (
        "import tinynet\n"
        "from tinynet.datasets import _text\n"
        "assert _text._read_text.cache_info().currsize == 0, 'a corpus was read at import'\n"
        "tinynet.datasets.load_names()\n"
        "assert _text._read_text.cache_info().currsize == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bundled_files_are_gzip_text():
    data = resources.files("tinynet.datasets") / "data"
    assert sorted(p.name for p in data.iterdir() if p.name.endswith(".gz")) == [
        "names.txt.gz",
        "tinyshakespeare.txt.gz",
    ]


def test_sources_are_credited():
    text = (resources.files("tinynet.datasets") / "SOURCES.md").read_text(encoding="utf-8")
    for credit in ("makemore", "char-rnn", "Karpathy", "Social Security", "public domain", "MIT"):
        assert credit in text
    for loader in (datasets.load_names, datasets.load_tiny_shakespeare):
        assert "Source" in loader.__doc__ and "Karpathy" in loader.__doc__ and "MIT" in loader.__doc__
