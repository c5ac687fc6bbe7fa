"""Data frames without pandas: remember a frame's column names and check them later.

A model fitted on a pandas DataFrame has learned one weight per *column position*; handed
a frame whose columns are reordered or missing, it would compute a wrong answer silently.
These helpers let ``fit`` remember the names and ``predict`` check them.  Nothing here
imports pandas: a frame is recognised by duck typing (it has ``columns`` and
``to_numpy``), and pandas is imported only to build a result for an input that is already
a pandas object, so it is installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def is_frame(x: Any) -> bool:
    """Whether ``x`` is a data frame (pandas, polars, ...): it has ``columns`` and ``to_numpy``."""
    return hasattr(x, "columns") and hasattr(x, "to_numpy") and not isinstance(x, np.ndarray)


def columns_of(x: Any) -> list[str] | None:
    """The column names of a data frame, as strings, in order; ``None`` for anything else."""
    if not is_frame(x):
        return None
    return [str(name) for name in x.columns]


def check_columns(expected: Sequence[str] | None, x: Any, what: str = "x") -> None:
    """Raise if ``x`` is a data frame whose columns are not ``expected``, in the same order.

    Parameters
    ----------
    expected : list of str or None
        The names remembered by ``fit`` (``None``: fitted on an array, nothing to check).
    x : array-like or data frame
        The new input.  An array has no names, so it is accepted (its width is checked
        by the model, as for any array).
    what : str
        The argument's name, for the message.

    Raises
    ------
    ValueError
        Naming the missing, the unexpected and the reordered columns.
    """
    columns = columns_of(x)
    if expected is None or columns is None or list(columns) == list(expected):
        return
    expected = list(expected)
    missing = [c for c in expected if c not in columns]
    unexpected = [c for c in columns if c not in expected]
    problems = []
    if missing:
        problems.append(f"missing {missing}")
    if unexpected:
        problems.append(f"unexpected {unexpected}")
    if not problems:
        problems.append(f"in another order: {columns}")
    raise ValueError(
        f"{what} has columns that differ from those the model was fitted on ({'; '.join(problems)}); "
        f"fit saw {expected}: select them in that order, e.g. {what}[{expected!r}]"
    )


def to_frame(x: Any, values: np.ndarray, columns: Sequence[Any] | None = None) -> Any:
    """Wrap ``values`` (one row per row of ``x``) in a pandas object carrying ``x``'s index.

    A 1-D ``values`` becomes a Series, a 2-D one a DataFrame (with ``columns`` when given).

    Raises
    ------
    TypeError
        If ``x`` is not a pandas DataFrame or Series (only those have an index to keep).
    """
    if not (hasattr(x, "index") and type(x).__module__.partition(".")[0] == "pandas"):
        raise TypeError(
            f"a result with an index needs a pandas DataFrame or Series as input, got {type(x).__name__}"
        )
    import pandas as pd  # installed: x is a pandas object

    values = np.asarray(values)
    if len(values) != len(x.index):
        raise ValueError(f"{len(values)} result rows for an input of {len(x.index)} rows")
    if values.ndim == 1:
        return pd.Series(values, index=x.index)
    return pd.DataFrame(values.reshape(len(values), -1), index=x.index, columns=columns)
