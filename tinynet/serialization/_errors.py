"""The one exception every failure to read a model file becomes."""

from __future__ import annotations


class ModelFileError(ValueError):
    """A model file is invalid, damaged, unsafe or does not fit the model.

    Every failure while reading a tinynet model file raises this exception (a
    :class:`ValueError`), never a bare ``KeyError``, ``zipfile.BadZipFile``,
    ``json.JSONDecodeError`` or ``MemoryError``.  The message names the file and
    says what is wrong with it.

    Parameters
    ----------
    source : str
        The file's path, or a description of the stream it was read from.
    reason : str
        What is wrong, in words a person can act on.

    Attributes
    ----------
    source : str
    reason : str
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason

    __module__ = "tinynet.serialization"  # where users import it from (and how tracebacks name it)

    def __reduce__(self):  # keep the two-argument signature picklable (multiprocessing, pytest-xdist)
        return (type(self), (self.source, self.reason))
