"""The figure class of :mod:`tinynet.plot`: a matplotlib Figure that Jupyter displays by itself.

tinynet's plots are drawn without pyplot (so they work headless and never change the user's
backend), and IPython only shows such a figure if something registered a PNG formatter for
it, which ``%matplotlib inline`` does and a fresh notebook does not: the cell would print
``<Figure size 900x350 with 2 Axes>``.  ``_repr_png_`` is IPython's display protocol, so the
figure renders itself, with or without the magic (with it, IPython's own formatter is used).
Imported only when a plot is drawn: ``import tinynet`` never imports matplotlib.

Saving uses the save-time settings of :data:`tinynet.plot.STYLE` (``savefig.*``, ``svg.*``:
white background, text as text in SVG, reproducible SVG ids, no date in an SVG), except those the user changed in
``matplotlib.rcParams``, so that ``fig.savefig("figure.svg")`` gives the same file for slides
wherever it is called.
"""

from __future__ import annotations

import io
import os
from typing import Any

import matplotlib
from matplotlib.figure import Figure as MatplotlibFigure


class Figure(MatplotlibFigure):
    """A :class:`matplotlib.figure.Figure` that IPython and Jupyter display as a PNG, saved in tinynet's style."""

    def savefig(self, *args: Any, **kwargs: Any) -> None:
        from .plot import STYLE

        rc, defaults = matplotlib.rcParams, matplotlib.rcParamsDefault
        saving = {
            key: value
            for key, value in STYLE.items()
            if key.startswith(("savefig.", "svg.")) and rc[key] == defaults[key]  # the user's own choice wins
        }
        target = args[0] if args else kwargs.get("fname")
        fmt = kwargs.get("format") or (
            os.path.splitext(os.fspath(target))[1][1:] if _is_path(target) else None
        )
        if fmt == "svg" and "metadata" not in kwargs:  # no date: the same figure gives the same file
            kwargs["metadata"] = {"Date": None}
        with matplotlib.rc_context(saving):
            super().savefig(*args, **kwargs)

    def _repr_png_(self) -> bytes:
        # "tight", as the inline backend saves: nothing outside the figure's artists is cut
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


def _is_path(target: Any) -> bool:
    return isinstance(target, (str, os.PathLike))
