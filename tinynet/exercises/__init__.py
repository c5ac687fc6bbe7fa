"""Exercises with automatic feedback: the student writes the math, the grader compares it with tinynet's.

Each exercise is a pure function on arrays, with the signature of the :mod:`tinynet.ops` function it
re-derives where one exists (``dense_forward(x, W, b)``, ``softmax_backward(y, grad)``, ...).  Its check
calls the student's function on seeded float64 inputs, compares every returned array with the
built-in reference, and explains a mismatch with the hints of :mod:`tinynet.testing.hints` and the
exercise's own list of classic mistakes (:class:`Mistake`).

Topics (modules): :mod:`~tinynet.exercises.dense`, :mod:`~tinynet.exercises.activations`,
:mod:`~tinynet.exercises.losses`, :mod:`~tinynet.exercises.network` (backpropagation through a whole
2-layer network), :mod:`~tinynet.exercises.optimizers`, :mod:`~tinynet.exercises.conv` (im2col, col2im,
Conv2D), :mod:`~tinynet.exercises.pooling`, :mod:`~tinynet.exercises.normalization`,
:mod:`~tinynet.exercises.recurrent` (an RNN step, backpropagation through time, the backward
pass of an LSTM step and, optionally, of a GRU step), :mod:`~tinynet.exercises.attention` (scaled
dot-product attention, forward and backward, with a causal mask); each module's functions are the
stubs (they raise ``NotImplementedError``).

Example
-------
>>> import numpy as np
>>> from tinynet import exercises
>>> def relu_backward(y, grad):
...     return -grad * (y > 0)
>>> result = exercises.check("relu_backward", relu_backward)
>>> result.status, [h.kind for h in result.hints]
('failed', ['sign error'])
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from . import (
    activations,
    attention,
    conv,
    dense,
    losses,
    network,
    normalization,
    optimizers,
    pooling,
    recurrent,
)
from ._core import ERROR, FAILED, MISSING, NOT_IMPLEMENTED, PASSED, Exercise, Mistake, Result

__all__ = [
    "ERROR",
    "EXERCISES",
    "FAILED",
    "MISSING",
    "NOT_IMPLEMENTED",
    "PASSED",
    "Exercise",
    "Mistake",
    "Result",
    "check",
    "grade",
    "load_file",
]

#: Every exercise by name, in the order of the course.
EXERCISES: dict[str, Exercise] = {
    ex.name: ex
    for module in (
        dense,
        activations,
        losses,
        network,
        optimizers,
        conv,
        pooling,
        normalization,
        recurrent,
        attention,
    )
    for ex in module.EXERCISES
}


def check(name: str, func: Callable[..., Any] | None) -> Result:
    """Grade one function against exercise ``name`` (see :data:`EXERCISES`).

    Raises
    ------
    KeyError
        For an unknown exercise name (the message lists the valid ones).
    """
    try:
        exercise = EXERCISES[name]
    except KeyError:
        raise KeyError(f"unknown exercise {name!r}; the exercises are: {', '.join(EXERCISES)}") from None
    return exercise.check(func)


def grade(namespace: ModuleType | Mapping[str, Any], names: Iterable[str] | None = None) -> list[Result]:
    """Grade every exercise (or those in ``names``) whose function ``namespace`` defines.

    ``namespace`` is a module (the student's file, see :func:`load_file`) or a dict such as a
    notebook's ``globals()``.  With ``names=None``, the exercises the namespace does not define are
    left out; name them explicitly to have them graded as ``missing``.
    """
    space = vars(namespace) if isinstance(namespace, ModuleType) else namespace
    wanted = [n for n in EXERCISES if n in space] if names is None else list(names)
    return [check(n, space.get(n)) for n in wanted]


def load_file(path: str | Path) -> ModuleType:
    """Import a student's ``.py`` file by path, as a module of its own (not added to ``sys.modules``).

    The file is the student's own code and runs in this process, with the folder it is in first on
    ``sys.path`` during the import (so that its own helper modules import).

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        When ``path`` is not a file.
    ValueError
        When it is not a ``.py`` file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if not path.is_file():
        raise IsADirectoryError(f"{path} is not a file: give the student's .py file")
    if path.suffix != ".py":
        raise ValueError(
            f"{path} is not a .py file: give the student's Python file (a notebook: save it as .py)"
        )
    spec = importlib.util.spec_from_file_location(f"_tinynet_student_{abs(hash(str(path.resolve())))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    finally:
        if sys.path and sys.path[0] == folder:
            del sys.path[0]
    return module
