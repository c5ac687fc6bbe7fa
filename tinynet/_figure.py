"""The figure class of :mod:`tinynet.plot`: a matplotlib Figure that Jupyter displays by itself.

tinynet's plots are drawn without pyplot (so they work headless and never change the user's
backend), and IPython only shows such a figure if something registered a PNG formatter for
it, which ``%matplotlib inline`` does and a fresh notebook does not: the cell would print
``<Figure size 900x350 with 2 Axes>``.  ``_repr_png_`` is IPython's display protocol, so the
figure renders itself, with or without the magic (with it, IPython's own formatter is used).
Imported only when a plot is drawn: ``import tinynet`` never imports matplotlib.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure as MatplotlibFigure


class Figure(MatplotlibFigure):
    """A :class:`matplotlib.figure.Figure` that IPython and Jupyter display as a PNG."""

    def _repr_png_(self) -> bytes:
        # "tight", as the inline backend saves: nothing outside the figure's artists is cut
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()
