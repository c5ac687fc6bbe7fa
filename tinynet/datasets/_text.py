"""Loaders for the two text corpora bundled with tinynet, for character-level language models.

The files live in ``tinynet/datasets/data/*.txt.gz``: the original text, byte for byte, gzip
compressed by ``tools/build_datasets.py``.  They are read only when a loader is called, never
at ``import tinynet``.  Neither corpus was made by the tinynet authors; see
``tinynet/datasets/SOURCES.md`` and the loaders' docstrings for the credits.
"""

from __future__ import annotations

import functools
import gzip
from importlib import resources

__all__ = ["load_names", "load_tiny_shakespeare"]


@functools.cache
def _read_text(filename: str) -> str:
    # importlib.resources rather than __file__ so that loading also works from a zipped install.
    path = resources.files(__package__) / "data" / filename
    with path.open("rb") as f:
        raw = gzip.decompress(f.read())
    # Both corpora are plain ASCII (the build script checks it); a str is immutable, so the
    # cached value can be shared by every call.
    return raw.decode("ascii")


def load_names() -> list[str]:
    """Load the names data set: 32,033 lowercase first names, one string each.

    The data set of the *makemore* character-level language-modelling lectures: first names from
    U.S. Social Security Administration baby-name records, lowercase ``a`` to ``z`` only, 2 to 15
    characters long, in the order of the original file.  Some names occur more than once (29,494
    are distinct).

    Returns
    -------
    names : list of str
        A new list on each call (32,033 names); its elements are the lines of the original file.

    Notes
    -----
    ``wc -l`` counts 32,032 lines in the original ``names.txt`` because its last line (``zzyzx``)
    has no final newline; it holds 32,033 names.

    Source: ``names.txt`` of the ``makemore`` repository by Andrej Karpathy (MIT licence),
    https://github.com/karpathy/makemore; the underlying name records are U.S. government public
    data (Social Security Administration).
    """
    return _read_text("names.txt.gz").split("\n")


def load_tiny_shakespeare() -> str:
    """Load Tiny Shakespeare: about 1.1 million characters of Shakespeare's plays as one string.

    The classic corpus of character-level language modelling: 40,000 lines (1,115,394
    characters, 65 distinct: letters, digits ``3``, punctuation, space and newline) of the works of
    Shakespeare concatenated as plain text, speaker names on their own line.

    Returns
    -------
    text : str
        The whole file, exactly as it is (it ends with a newline).

    Notes
    -----
    Source: ``tinyshakespeare/input.txt`` of the ``char-rnn`` repository by Andrej Karpathy (MIT
    licence), https://github.com/karpathy/char-rnn; Shakespeare's text is in the public domain.
    """
    return _read_text("tinyshakespeare.txt.gz")
