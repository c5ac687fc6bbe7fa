r"""Plots for training and teaching: history, decision boundaries, confusion matrix, ROC, optimizers, weights.

matplotlib is an optional dependency (``pip install tinynet[plot]``), imported
only when a plot function is called: ``import tinynet`` never loads it.

Every function returns a :class:`matplotlib.figure.Figure`.  Without ``ax=`` it
draws on a new ``Figure`` created *without pyplot*, so it works headless (a
server, CI) and never changes the user's backend: in Jupyter the returned figure
is displayed, with or without ``%matplotlib inline`` (it renders itself as a
PNG); in a script, save it with ``fig.savefig("history.png")``.  To draw into
your own layout (or a pyplot window, then ``plt.show()``) pass ``ax=``: an
Axes, or a sequence of Axes for the functions that draw several panels.

================================  ===========================================================
function                          draws
================================  ===========================================================
:func:`plot_history`              loss and each metric per epoch, training against validation
:func:`plot_decision_boundary`    the regions a 2-D classifier assigns to each class
:func:`plot_confusion_matrix`     true against predicted classes
:func:`plot_roc`                  the ROC curve and its area
:func:`plot_optimizer_paths`      SGD, Momentum, RMSprop and Adam on a 2-D surface
:func:`plot_weights`              histograms of every parameter array and its last gradient
:func:`plot_saliency`             attribution heat maps over images (:mod:`tinynet.explain`)
:func:`plot_attributions`         signed attributions or importances of named features, sorted
:func:`plot_layer_statistics`     each layer's activations and gradients on a batch (:func:`layer_statistics`)
:func:`plot_im2col`               how a padded image unrolls into the columns of :math:`X_{\mathrm{col}}`
================================  ===========================================================

One style for every figure.  Every function above draws inside :func:`style`, the
rcParams in :data:`STYLE` (no top and right spines, light grids, white backgrounds,
text kept as text in SVG files), and a figure they create saves with the same
settings: ``fig.savefig("figure.svg")`` gives a vector file for slides whose
labels stay editable.  Use ``with tn.plot.style():`` around your own matplotlib
code to make its figures match.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from .ops import conv as conv_ops

if TYPE_CHECKING:  # for the annotations only: importing tinynet must not import matplotlib
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "STYLE",
    "SURFACES",
    "LayerStatistics",
    "Surface",
    "im2col_indices",
    "layer_statistics",
    "optimizer_paths",
    "plot_attributions",
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_history",
    "plot_im2col",
    "plot_layer_statistics",
    "plot_optimizer_paths",
    "plot_roc",
    "plot_saliency",
    "plot_weights",
    "style",
]

STYLE: dict[str, Any] = {
    "font.size": 10.0,
    "axes.titlesize": 11.0,
    "axes.labelsize": 10.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.fontsize": 9.0,
    "legend.framealpha": 0.85,
    "lines.linewidth": 1.6,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.bbox": "tight",
    "svg.fonttype": "none",
    "svg.hashsalt": "tinynet",
}
"""The rcParams of every tinynet figure (see :func:`style`).

The keys starting with ``savefig.`` and ``svg.`` are applied when a tinynet figure is saved,
unless you changed them in ``matplotlib.rcParams`` yourself (to a value other than
matplotlib's default; ``matplotlib.figure.Figure.savefig(fig, ...)`` saves without them):
``svg.fonttype = "none"`` writes text as ``<text>`` elements (editable and searchable in a
slide, in the font of the slide) and a fixed ``svg.hashsalt`` (with no date in the file)
makes the same figure give the same file.  The colour cycle is matplotlib's (``"C0"``,
``"C1"``, ... keep their meaning).
"""


# --------------------------------------------------------------------------- helpers
def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(
            "tinynet.plot needs matplotlib: pip install 'tinynet[plot]' (or pip install matplotlib)"
        ) from None


@contextmanager
def style() -> Iterator[None]:
    """Draw in tinynet's figure style: ``with tn.plot.style(): ...``.

    A :func:`matplotlib.rc_context` of :data:`STYLE`.  Every plotting function of
    this module draws inside it already; use it for your own matplotlib figures
    (pyplot's too) so that a slide deck's figures look alike.  Artists take the
    style when they are created, and a figure when it is saved: save your own
    figures inside the ``with`` block as well.

    Examples
    --------
    ::

        import matplotlib.pyplot as plt
        import tinynet as tn

        with tn.plot.style():
            fig, ax = plt.subplots()
            ax.plot([0, 1], [1, 0])
            fig.savefig("line.svg")
    """
    _require_matplotlib()
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def _styled(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """Run a plotting function inside :func:`style` (the one style of every tinynet figure)."""

    @functools.wraps(draw)
    def styled(*args: Any, **kwargs: Any) -> Figure:
        with style():
            return draw(*args, **kwargs)

    return styled


def _figure_and_axes(
    ax: Any, n: int, ncols: int | None = None, panel: tuple[float, float] = (4.5, 3.5)
) -> tuple[Figure, list[Axes]]:
    """A new pyplot-free Figure with ``n`` panels, or the ``n`` Axes the caller passed."""
    _require_matplotlib()
    if ax is None:
        from ._figure import Figure  # a matplotlib Figure that Jupyter displays without pyplot

        ncols = max(1, min(ncols or n, n))
        nrows = math.ceil(n / ncols)
        fig = Figure(figsize=(panel[0] * ncols, panel[1] * nrows), layout="constrained")
        grid = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for extra in grid[n:]:
            extra.remove()
        return fig, list(grid[:n])
    axes = [ax] if hasattr(ax, "plot") else list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != n:
        raise ValueError(f"this plot draws {n} panel(s); ax= must give exactly {n} Axes, got {len(axes)}")
    return axes[0].figure, axes


def _labels_from(y: np.ndarray) -> np.ndarray:
    """Integer class labels from (N,), (N, 1) or one-hot (N, K) targets."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    return np.rint(y.reshape(len(y), -1)[:, 0]).astype(np.int64)


def _class_colors(k: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if k <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(k)]


# --------------------------------------------------------------------------- history
@_styled
def plot_history(
    history: Any, metrics: Sequence[str] | None = None, *, ax: Axes | Sequence[Axes] | None = None
) -> Figure:
    """Loss and each metric per epoch, the training curve against the validation curve.

    A validation curve that turns up while the training curve keeps falling is
    the picture of overfitting.

    Parameters
    ----------
    history : History or dict
        What :meth:`tinynet.Sequential.fit` returns, or its ``history`` dict.
    metrics : sequence of str, optional
        The quantities to plot, one panel each (default: ``loss`` and every
        metric that has no ``val_`` prefix; ``"learning_rate"`` may be asked for).
    ax : Axes or sequence of Axes, optional
        One Axes per panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    logs: Mapping[str, Sequence[float]] = getattr(history, "history", history)
    if not isinstance(logs, Mapping) or not logs:
        raise ValueError("plot_history needs a History (from fit) or its non-empty history dict")
    if metrics is None:
        metrics = [k for k in logs if not k.startswith("val_") and k != "learning_rate"]
    missing = [m for m in metrics if m not in logs]
    if missing:
        raise ValueError(f"the history has no {missing}; it has {list(logs)}")
    fig, axes = _figure_and_axes(ax, len(metrics), ncols=min(len(metrics), 3))
    for a, name in zip(axes, metrics, strict=True):
        values = np.asarray(logs[name], dtype=np.float64)
        epochs = np.arange(1, len(values) + 1)
        a.plot(epochs, values, "o-", markersize=3, label=f"training {name}")
        if f"val_{name}" in logs:
            val = np.asarray(logs[f"val_{name}"], dtype=np.float64)
            a.plot(np.arange(1, len(val) + 1), val, "s--", markersize=3, label=f"validation {name}")
        if name == "learning_rate" and np.all(values > 0) and values.max() > 10 * values.min():
            a.set_yscale("log")
        a.set_xlabel("epoch")
        a.set_ylabel(name)
        a.set_title(name)
        a.grid(True, alpha=0.3)
        a.legend()
    return fig


# --------------------------------------------------------------------------- decision boundary
@_styled
def plot_decision_boundary(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    *,
    ax: Axes | None = None,
    resolution: int = 200,
    padding: float = 0.5,
) -> Figure:
    """The class a 2-D classifier predicts at every point of the plane, with the data on top.

    For one sigmoid output the background shows :math:`p(\\text{class } 1 \\mid x)`
    shaded from one class colour to the other, and the boundary
    :math:`p = 0.5` as a black line; for several outputs each point takes the
    colour of its :math:`\\arg\\max` class.

    Parameters
    ----------
    model : Sequential
        A trained classifier with 2 inputs.
    x : ndarray of shape (N, 2)
    y : ndarray of shape (N,), (N, 1) or (N, K)
        Labels, or one-hot rows.
    ax : Axes, optional
    resolution : int
        Grid points per axis.
    padding : float
        Margin around the data, in data units.

    Returns
    -------
    matplotlib.figure.Figure
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary needs 2-D inputs of shape (N, 2), got {x.shape}")
    labels = _labels_from(y)
    fig, (a,) = _figure_and_axes(ax, 1, panel=(5.5, 4.5))
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap

    lo, hi = x.min(axis=0) - padding, x.max(axis=0) + padding
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    out = np.asarray(model.predict(np.c_[gx.ravel(), gy.ravel()]), dtype=np.float64)
    out = out.reshape(len(out), -1)
    k = max(int(labels.max()) + 1, out.shape[1], 2)
    colors = _class_colors(k)
    if out.shape[1] == 1:
        p = out[:, 0].reshape(gx.shape)
        shade = LinearSegmentedColormap.from_list("two_classes", [colors[0], "white", colors[1]])
        a.contourf(
            gx, gy, p, levels=np.linspace(min(p.min(), 0.0), max(p.max(), 1.0), 21), cmap=shade, alpha=0.8
        )
        if p.min() < 0.5 < p.max():
            a.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=1.5)
    else:
        predicted = out.argmax(axis=1).reshape(gx.shape)
        a.contourf(gx, gy, predicted, levels=np.arange(k + 1) - 0.5, cmap=ListedColormap(colors), alpha=0.35)
    for c in range(k):
        mine = labels == c
        if mine.any():
            a.scatter(
                x[mine, 0],
                x[mine, 1],
                s=16,
                color=colors[c],
                edgecolors="k",
                linewidths=0.4,
                label=f"class {c}",
            )
    a.set_xlim(lo[0], hi[0])
    a.set_ylim(lo[1], hi[1])
    a.set_xlabel("$x_1$")
    a.set_ylabel("$x_2$")
    a.set_title("decision boundary")
    a.legend(loc="best", fontsize="small")
    return fig


# --------------------------------------------------------------------------- confusion matrix and ROC
@_styled
def plot_confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    labels: Sequence[str] | None = None,
    *,
    normalize: bool = False,
    ax: Axes | None = None,
) -> Figure:
    """The confusion matrix :math:`C_{ij}` = number of samples of class :math:`i` predicted as :math:`j`.

    Parameters
    ----------
    y_true : array-like
        Labels or one-hot rows.
    y_pred : array-like
        Predicted labels, probabilities of class 1, or class scores (as
        :func:`tinynet.metrics.confusion_matrix` accepts).
    labels : sequence of str, optional
        Class names, in class order.
    normalize : bool
        Show each row as fractions of its true class (the diagonal is then the
        per-class recall).
    ax : Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    cm = metrics_module.confusion_matrix(y_true, y_pred, None if labels is None else len(labels))
    k = cm.shape[0]
    names = [str(i) for i in range(k)] if labels is None else [str(name) for name in labels]
    if len(names) != k:
        raise ValueError(f"labels has {len(names)} names for {k} classes")
    shown = cm.astype(np.float64)
    if normalize:
        rows = shown.sum(axis=1, keepdims=True)
        shown = np.divide(shown, rows, out=np.zeros_like(shown), where=rows > 0)
    # About 0.6 inch a cell, but at most 14 inches a side: 100 classes still fit a screen (and a
    # notebook's PNG), with smaller labels.  Fonts follow the cell's size on the drawn axes (the
    # caller's too), so that labels neither overlap nor leave the figure.
    side = min(0.6 * k + 3.0, 14.0)
    fig, (a,) = _figure_and_axes(ax, 1, panel=(side + 1.5, side))
    width, height = a.get_position().size * a.figure.get_size_inches()
    # points; 0.75: the layout still takes the labels' and the colorbar's room from the axes
    cell = 0.75 * 72.0 * min(width, height) / max(k, 1)
    label_size = float(np.clip(0.6 * cell, 4.0, 10.0))
    image = a.imshow(shown, cmap="Blues", vmin=0)
    a.figure.colorbar(image, ax=a, fraction=0.046, pad=0.04)
    threshold = shown.max() / 2 if shown.size else 0
    digits = max(len(f"{shown.max():.2f}" if normalize else f"{cm.max():d}"), 1)
    text_size = min(10.0, 1.2 * cell / digits)  # a digit is about 0.6 em wide
    if text_size >= 4.0:  # counts too small to read are left out: the colours still show them
        for i in range(k):
            for j in range(k):
                text = f"{shown[i, j]:.2f}" if normalize else f"{cm[i, j]:d}"
                a.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=text_size,
                    color="white" if shown[i, j] > threshold else "black",
                )
    # names wider than a cell stand upright under their column instead of running into the next
    upright = max(map(len, names)) * 0.6 * label_size > cell
    a.set_xticks(range(k), names, fontsize=label_size, rotation=90 if upright else 0)
    a.set_yticks(range(k), names, fontsize=label_size)
    a.set_xlabel("predicted class")
    a.set_ylabel("true class")
    a.set_title("confusion matrix" + (" (rows normalized)" if normalize else ""))
    return fig


@_styled
def plot_roc(
    y_true: np.ndarray, scores: np.ndarray, *, ax: Axes | None = None, label: str | None = None
) -> Figure:
    """The ROC curve (true against false positive rate over all thresholds) with its area.

    Uses :func:`tinynet.metrics.roc_curve` and :func:`tinynet.metrics.roc_auc`;
    the dashed diagonal is a classifier that guesses at random (AUC 0.5).  Call
    it again with the same ``ax`` to compare models.

    Parameters
    ----------
    y_true : array-like
        Binary labels 0/1.
    scores : array-like
        Scores for class 1 (probabilities, logits, ...).
    ax : Axes, optional
    label : str, optional
        Legend name of the curve.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fpr, tpr, _ = metrics_module.roc_curve(y_true, scores)
    auc = metrics_module.roc_auc(y_true, scores)
    fig, (a,) = _figure_and_axes(ax, 1, panel=(4.5, 4.5))
    a.plot(fpr, tpr, lw=2, label=f"{label or 'model'} (AUC = {auc:.3f})")
    if not any(line.get_label() == "chance" for line in a.get_lines()):
        a.plot([0, 1], [0, 1], "k--", lw=1, label="chance")
    a.set_xlim(0, 1)
    a.set_ylim(0, 1.01)
    a.set_aspect("equal")
    a.set_xlabel("false positive rate")
    a.set_ylabel("true positive rate")
    a.set_title("ROC curve")
    a.legend(loc="lower right")
    return fig


# --------------------------------------------------------------------------- optimizer paths
@dataclass(frozen=True)
class Surface:
    """A function of two variables to minimise, with its gradient and a view of it.

    Attributes
    ----------
    name : str
    f : callable
        ``f(x, y)``, vectorised over arrays.
    grad : callable
        ``grad(p) -> ndarray (2,)`` for a point ``p = (x, y)``.
    xlim, ylim : (float, float)
        The region drawn.
    start : (float, float)
        Where the optimizers start by default.
    minimum : (float, float)
        The minimiser, marked with a star.
    learning_rates : dict
        Default learning rate per optimizer name, chosen so that each shows its
        character without diverging.
    steps : int
        Default number of steps.
    log_levels : bool
        Space the contours logarithmically (for surfaces with a huge range).
    """

    name: str
    f: Callable[[np.ndarray, np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    start: tuple[float, float]
    minimum: tuple[float, float]
    learning_rates: Mapping[str, float]
    steps: int
    log_levels: bool = False


def _rosenbrock(x, y):
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


def _rosenbrock_grad(p):
    x, y = p
    return np.array([-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)])


def _quadratic(x, y):
    return 0.5 * (x**2 + 25.0 * y**2)


def _quadratic_grad(p):
    return np.array([1.0, 25.0]) * p


#: Built-in surfaces for :func:`plot_optimizer_paths`.
#:
#: ``"rosenbrock"``: :math:`f(x, y) = (1 - x)^2 + 100 (y - x^2)^2`, a curved, narrow
#: valley with its minimum at (1, 1): plain SGD crawls along the flat valley floor,
#: momentum builds up speed along it, RMSprop and Adam rescale each coordinate.
#:
#: ``"quadratic"``: :math:`f(x, y) = \tfrac12 (x^2 + 25 y^2)`, an ill-conditioned bowl
#: (curvatures 1 and 25): SGD zig-zags across the steep direction while creeping along
#: the shallow one; the adaptive methods equalise the two.
SURFACES: dict[str, Surface] = {
    "rosenbrock": Surface(
        "rosenbrock",
        _rosenbrock,
        _rosenbrock_grad,
        xlim=(-2.0, 2.0),
        ylim=(-1.0, 3.0),
        start=(-1.5, 2.0),
        minimum=(1.0, 1.0),
        learning_rates={"SGD": 1e-3, "Momentum": 1e-3, "RMSprop": 1e-2, "Adam": 5e-2},
        steps=1000,
        log_levels=True,
    ),
    "quadratic": Surface(
        "quadratic",
        _quadratic,
        _quadratic_grad,
        xlim=(-5.0, 5.0),
        ylim=(-1.5, 1.5),
        start=(-4.5, 1.0),
        minimum=(0.0, 0.0),
        learning_rates={"SGD": 0.075, "Momentum": 0.02, "RMSprop": 0.1, "Adam": 0.3},
        steps=60,
    ),
}

_DEFAULT_OPTIMIZERS: dict[str, Callable[[float], optimizers_module.Optimizer]] = {
    "SGD": lambda lr: optimizers_module.SGD(lr),
    "Momentum": lambda lr: optimizers_module.Momentum(lr, momentum=0.9),
    "RMSprop": lambda lr: optimizers_module.RMSprop(lr),
    "Adam": lambda lr: optimizers_module.Adam(lr),
}


def _surface(surface: str | Surface) -> Surface:
    if isinstance(surface, Surface):
        return surface
    try:
        return SURFACES[surface]
    except KeyError:
        raise ValueError(f"unknown surface {surface!r}; built in: {', '.join(SURFACES)}") from None


def optimizer_paths(
    surface: str | Surface = "rosenbrock",
    optimizers: Mapping[str, optimizers_module.Optimizer] | None = None,
    start: tuple[float, float] | None = None,
    steps: int | None = None,
) -> dict[str, np.ndarray]:
    """Run tinynet's real optimizers on a 2-D surface and return the points they visit.

    Each optimizer updates one parameter, the point :math:`p = (x, y)`, from the
    surface's exact gradient, through the same ``optimizer.step(params, grads)``
    call that trains a network.  A path that leaves the finite numbers (a
    diverging learning rate) ends there.

    Parameters
    ----------
    surface : str or Surface
        ``"rosenbrock"`` or ``"quadratic"`` (see :data:`SURFACES`), or your own.
    optimizers : dict of str to Optimizer, optional
        Fresh optimizers by legend name (they are stepped, so their state
        changes); default SGD, Momentum, RMSprop and Adam with the surface's
        learning rates.
    start : (float, float), optional
    steps : int, optional

    Returns
    -------
    dict of str to ndarray
        For each optimizer the path, shape (steps + 1, 2), starting point first.
    """
    s = _surface(surface)
    if optimizers is None:
        optimizers = {name: make(s.learning_rates[name]) for name, make in _DEFAULT_OPTIMIZERS.items()}
    start = s.start if start is None else start
    steps = s.steps if steps is None else int(steps)
    paths = {}
    for name, opt in optimizers.items():
        p = np.array(start, dtype=np.float64)
        g = np.zeros(2)
        path = [p.copy()]
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging path ends; it does not warn
            for _ in range(steps):
                g[...] = s.grad(p)
                if not np.all(np.isfinite(g)):
                    break
                opt.step({"p": p}, {"p": g})
                if not np.all(np.isfinite(p)):
                    break
                path.append(p.copy())
        paths[name] = np.array(path)
    return paths


@_styled
def plot_optimizer_paths(
    surface: str | Surface = "rosenbrock",
    optimizers: Mapping[str, optimizers_module.Optimizer] | None = None,
    start: tuple[float, float] | None = None,
    steps: int | None = None,
    *,
    ax: Axes | None = None,
) -> Figure:
    """SGD, Momentum, RMSprop and Adam stepping on a 2-D surface, drawn over its contours.

    The paths come from :func:`optimizer_paths` (tinynet's own optimizer
    classes); the legend gives each one's final value of :math:`f`.

    Parameters
    ----------
    surface, optimizers, start, steps
        As in :func:`optimizer_paths`.
    ax : Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    s = _surface(surface)
    paths = optimizer_paths(s, optimizers, start, steps)
    fig, (a,) = _figure_and_axes(ax, 1, panel=(6.5, 5.0))
    gx, gy = np.meshgrid(np.linspace(*s.xlim, 300), np.linspace(*s.ylim, 300))
    z = s.f(gx, gy)
    if s.log_levels:
        lo = max(float(z.min()), 1e-3)
        levels = np.logspace(math.log10(lo), math.log10(float(z.max())), 25)
    else:
        levels = np.linspace(float(z.min()), float(z.max()), 25)
    a.contour(gx, gy, z, levels=levels, colors="0.6", linewidths=0.6)
    colors = _class_colors(len(paths))
    for color, (name, path) in zip(colors, paths.items(), strict=True):
        final = float(s.f(*path[-1]))
        a.plot(path[:, 0], path[:, 1], "-", color=color, lw=1.5, label=f"{name} (f = {final:.2g})")
        a.plot(path[-1, 0], path[-1, 1], "o", color=color, markersize=5)
    start_point = paths[next(iter(paths))][0] if paths else np.asarray(s.start)
    a.plot(*start_point, "ks", markersize=6, label="start")
    a.plot(*s.minimum, "*", color="gold", markeredgecolor="k", markersize=14, label="minimum")
    a.set_xlim(*s.xlim)
    a.set_ylim(*s.ylim)
    a.set_xlabel("$x$")
    a.set_ylabel("$y$")
    n = max((len(p) - 1 for p in paths.values()), default=0)
    a.set_title(f"optimizers on the {s.name} surface ({n} steps)")
    a.legend(loc="best", fontsize="small")
    return fig


# --------------------------------------------------------------------------- weights
@_styled
def plot_weights(model: Any, *, ax: Sequence[Axes] | None = None, bins: int = 30) -> Figure:
    """Histograms of every parameter array (left) and of its last gradient (right).

    Healthy layers have weights spread on the scale of their initializer and
    gradients neither all zero (dead units, vanishing gradients) nor huge
    (exploding gradients).  The gradients are those of the last training step
    (after any clipping).

    Parameters
    ----------
    model : Sequential
        A built model.
    ax : sequence of Axes, optional
        Two per parameter array, in the order weights, gradient, weights, ...
    bins : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not getattr(model, "built", False):
        raise ValueError("plot_weights needs a built model: train it or call model.build(input_shape) first")
    params, grads = model.named_params(), model.named_grads()
    if not params:
        raise ValueError("the model has no parameters to plot")
    fig, axes = _figure_and_axes(ax, 2 * len(params), ncols=2, panel=(4.5, 2.2))
    for i, (name, w) in enumerate(params.items()):
        for a, values, what, color in (
            (axes[2 * i], w, "weights", "C0"),
            (axes[2 * i + 1], grads[name], "last gradient", "C1"),
        ):
            flat = np.asarray(values, dtype=np.float64).ravel()
            a.hist(flat, bins=bins, color=color, histtype="stepfilled")
            a.set_title(f"{name} {what}  (std {flat.std():.2g})", fontsize="small")
            a.tick_params(labelsize="x-small")
    return fig


# --------------------------------------------------------------------------- explanations
def _image_batch(images: np.ndarray, what: str) -> np.ndarray:
    """(N, H, W) from (H, W), (N, H, W) or (N, C, H, W) (channels summed: one value per pixel)."""
    arr = np.asarray(images, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim == 4:
        arr = arr.sum(axis=1)
    if arr.ndim != 3:
        raise ValueError(
            f"{what} must be images (H, W), (N, H, W) or (N, C, H, W), got shape {np.shape(images)}"
        )
    return arr


@_styled
def plot_saliency(
    images: np.ndarray,
    attributions: np.ndarray,
    *,
    titles: Sequence[str] | None = None,
    ax: Axes | Sequence[Axes] | None = None,
    alpha: float = 0.6,
    ncols: int = 6,
) -> Figure:
    """Attribution heat maps laid over their images, one panel per image.

    Each panel shows the image in grey with the attributions on top (transparency
    ``alpha``), on one colour scale shared by every panel, with its colour bar.
    Signed attributions (gradients, gradient x input, integrated gradients, occlusion)
    use a diverging map centred on 0, blue for negative and red for positive evidence;
    non-negative ones (:func:`tinynet.explain.saliency`) white to red.  Several
    channels are summed into one map (take ``.max(axis=1)`` of a saliency first to keep
    the maximum instead).

    Parameters
    ----------
    images : ndarray of shape (N, C, H, W), (N, H, W) or (H, W)
    attributions : ndarray
        The same number of images, of shape (N, C, H, W) or (N, H, W).
    titles : sequence of str, optional
        One per image (e.g. the true and the predicted class).
    ax : Axes or sequence of Axes, optional
        One per image.
    alpha : float
        Opacity of the heat map.
    ncols : int
        Panels per row of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    pictures = _image_batch(images, "images")
    maps = _image_batch(attributions, "attributions")
    if maps.shape != pictures.shape:
        raise ValueError(
            f"attributions {np.shape(attributions)} do not match the images {np.shape(images)}: "
            "one map of the same height and width per image"
        )
    if titles is not None and len(titles) != len(maps):
        raise ValueError(f"titles has {len(titles)} entries for {len(maps)} images")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    n = len(maps)
    fig, axes = _figure_and_axes(ax, n, ncols=ncols, panel=(2.2, 2.2))
    signed = bool(np.any(maps < 0))
    top = float(np.max(np.abs(maps))) or 1.0
    cmap, lo = ("RdBu_r", -top) if signed else ("Reds", 0.0)  # white at 0: the image shows through
    shown = None
    for i, a in enumerate(axes):
        a.imshow(pictures[i], cmap="gray_r", interpolation="nearest")
        shown = a.imshow(maps[i], cmap=cmap, vmin=lo, vmax=top, alpha=alpha, interpolation="nearest")
        a.set_xticks([])
        a.set_yticks([])
        if titles is not None:
            a.set_title(titles[i], fontsize="small")
    fig.colorbar(shown, ax=axes, shrink=0.8, label="attribution")
    return fig


@_styled
def plot_attributions(
    attributions: np.ndarray,
    feature_names: Sequence[str] | None = None,
    *,
    errors: np.ndarray | None = None,
    title: str = "attributions",
    top: int | None = None,
    ax: Axes | None = None,
) -> Figure:
    """A horizontal bar per feature, signed, sorted by magnitude (largest at the top).

    For one prediction's attributions (integrated gradients, gradient x input of a
    tabular model) or a data set's permutation importances (with their standard
    deviations as ``errors``).  Red bars push the output up, blue bars down.

    Parameters
    ----------
    attributions : ndarray of shape (D,)
        One value per feature.
    feature_names : sequence of str, optional
        ``D`` names (default ``x0``, ``x1``, ...).
    errors : ndarray of shape (D,), optional
        Error bars (e.g. ``importances_std``).
    title : str
    top : int, optional
        Show only the ``top`` largest magnitudes.
    ax : Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = np.asarray(attributions, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(
            f"plot_attributions takes one value per feature, shape (D,), got {values.shape}; "
            "for several samples pass one row, or their mean"
        )
    d = len(values)
    names = [f"x{i}" for i in range(d)] if feature_names is None else [str(f) for f in feature_names]
    if len(names) != d:
        raise ValueError(f"feature_names has {len(names)} names for {d} attributions")
    err = None if errors is None else np.asarray(errors, dtype=np.float64).reshape(-1)
    if err is not None and len(err) != d:
        raise ValueError(f"errors has {len(err)} entries for {d} attributions")
    order = np.argsort(-np.abs(values), kind="stable")[: d if top is None else max(1, int(top))]
    fig, (a,) = _figure_and_axes(ax, 1, panel=(5.5, 0.8 + 0.32 * len(order)))
    rows = np.arange(len(order))[::-1]  # the largest at the top
    colors = ["C3" if values[j] >= 0 else "C0" for j in order]
    a.barh(rows, values[order], color=colors, xerr=None if err is None else err[order], capsize=2)
    a.set_yticks(rows, [names[j] for j in order])
    a.axvline(0.0, color="k", linewidth=0.8)
    a.set_title(title)
    return fig


# --------------------------------------------------------------------------- layer statistics
@dataclass(frozen=True)
class LayerStatistics:
    r"""One layer's output :math:`A_l` on a batch and the gradient :math:`G_l = \partial L/\partial A_l`.

    Attributes
    ----------
    name : str
        The layer's name.
    kind : str
        Its class name, with its activation (``"Dense(tanh)"``).
    activations : ndarray
        :math:`A_l`, the layer's output (after its activation), float64, shape
        (N, ...).
    gradients : ndarray
        :math:`G_l`, the gradient of the batch loss with respect to :math:`A_l`
        (what the layer's ``backward`` receives), the same shape.
    """

    name: str
    kind: str
    activations: np.ndarray
    gradients: np.ndarray

    @property
    def activation_mean(self) -> float:
        """The mean of every entry of :math:`A_l`."""
        return float(self.activations.mean())

    @property
    def activation_std(self) -> float:
        """The standard deviation of every entry of :math:`A_l` (population, ``ddof=0``)."""
        return float(self.activations.std())

    @property
    def gradient_mean(self) -> float:
        """The mean of every entry of :math:`G_l`."""
        return float(self.gradients.mean())

    @property
    def gradient_std(self) -> float:
        """The standard deviation of every entry of :math:`G_l` (population, ``ddof=0``)."""
        return float(self.gradients.std())


def _layer_kind(layer: Any) -> str:
    activation = getattr(layer, "activation", None)
    inner = getattr(activation, "activation_name", None) or getattr(
        getattr(layer, "fn", None), "activation_name", None
    )
    return f"{type(layer).__name__}({inner})" if inner else type(layer).__name__


def layer_statistics(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    *,
    loss: str | losses_module.Loss | None = None,
    training: bool = True,
) -> list[LayerStatistics]:
    r"""Every layer's output and the loss gradient with respect to it, on one batch.

    A forward pass stores each layer's output :math:`A_l` (after its
    activation); the loss of the last output then gives
    :math:`\partial L/\partial A_L`, and the backward pass, layer by layer from
    the top, gives each :math:`G_l = \partial L/\partial A_l`, the gradient the
    layer above hands down to layer :math:`l`:

    .. math::

        A_l = f_l(A_{l-1}), \qquad
        G_{l-1} = G_l \, \frac{\partial A_l}{\partial A_{l-1}} .

    At a good initialization the standard deviations of :math:`A_l` and of
    :math:`G_l` stay roughly the same from layer to layer; when they shrink or
    grow geometrically with depth, the signal (forward) or the gradient
    (backward) vanishes or explodes.

    The passes run on a copy of the model (``copy.deepcopy``), so the model
    itself is left exactly as it was: its weights, gradients, batch-norm
    averages and random state.  The loss is computed from the output
    probabilities (not fused with the output activation), which gives the same
    gradients below the output layer.

    Parameters
    ----------
    model : Sequential
        A model (built, or buildable from ``x``).
    x : ndarray
        A batch of inputs.
    y : ndarray
        Its targets, as for ``fit``.
    loss : str or Loss, optional
        The loss to differentiate (default: the compiled model's loss).
    training : bool
        Run the layers in training mode (dropout active, batch normalization
        with the batch's statistics), as a training step does.

    Returns
    -------
    list of LayerStatistics
        One per layer of ``model.layers``, bottom to top.  A layer whose input
        takes no gradient (an ``Embedding``) ends the backward pass; the layers
        below it have no gradients and are left out.

    Raises
    ------
    TypeError
        When ``model`` is not a :class:`~tinynet.Sequential`.
    ValueError
        When there is no loss (an uncompiled model and no ``loss=``), or ``x``
        and ``y`` do not fit the model.
    """
    from .models import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"layer_statistics takes a tinynet.Sequential model, got {type(model).__name__}")
    if loss is None and model.loss is None:
        raise ValueError(
            "layer_statistics needs a loss: compile the model first, or pass loss='mse' (or another)"
        )
    clone = copy.deepcopy(model)  # the passes below move nothing of the caller's model
    if loss is not None:
        clone.loss = losses_module.get(loss)
    batch = clone._as_input(x)
    clone.build_for(batch)
    targets = clone._check_targets(clone._as_target(y))
    if len(targets) != len(batch):
        raise ValueError(f"x has {len(batch)} samples but y has {len(targets)}")
    outputs = []
    h = batch
    for layer in clone.layers:
        h = layer.forward(h, training)
        outputs.append(np.array(h, dtype=np.float64))  # a copy: work arrays are reused
    clone.loss.forward(targets, np.asarray(h))
    grad: np.ndarray | None = clone.loss.backward()
    gradients: list[np.ndarray | None] = [None] * len(clone.layers)
    for i in range(len(clone.layers) - 1, -1, -1):
        gradients[i] = np.array(grad, dtype=np.float64)
        grad = clone.layers[i].backward(grad)
        if grad is None:
            break
    return [
        LayerStatistics(layer.name, _layer_kind(layer), a, g)
        for layer, a, g in zip(model.layers, outputs, gradients, strict=True)
        if g is not None
    ]


_LEGEND_LAYERS = 6  # more layers than this: a colour bar instead of the histograms' legends


@_styled
def plot_layer_statistics(
    model: Any,
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
    *,
    loss: str | losses_module.Loss | None = None,
    training: bool = True,
    bins: int = 60,
    ax: Sequence[Axes] | None = None,
) -> Figure:
    r"""Histograms of every layer's activations and gradients, and their standard deviations by depth.

    Three panels, from :func:`layer_statistics`: the distribution of each
    layer's output :math:`A_l` (left), of the gradient
    :math:`G_l = \partial L/\partial A_l` it receives (middle, on a symmetric
    range that holds 99 % of all entries, the rest counted in the end bins), and the standard deviations of both
    against the layer's depth (right, on a log scale: a straight line is a
    geometric decay or growth).  For up to six layers the legends give each
    layer's mean and standard deviation; for more, a colour bar gives the depth.

    Parameters
    ----------
    model : Sequential or list of LayerStatistics
        A model (then ``x`` and ``y`` are needed) or what
        :func:`layer_statistics` returned.
    x, y : ndarray, optional
        A batch and its targets.
    loss, training
        As in :func:`layer_statistics`.
    bins : int
        Bins per histogram.
    ax : sequence of 3 Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if isinstance(model, Sequence) and all(isinstance(s, LayerStatistics) for s in model):
        stats = list(model)
    else:
        if x is None or y is None:
            raise ValueError("plot_layer_statistics needs a batch: plot_layer_statistics(model, x, y)")
        stats = layer_statistics(model, x, y, loss=loss, training=training)
    if not stats:
        raise ValueError("there are no layer statistics to plot")
    if int(bins) < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    fig, (left, middle, right) = _figure_and_axes(ax, 3, ncols=3, panel=(4.6, 3.6))
    from matplotlib import colormaps

    depth_colors = colormaps["viridis"](np.linspace(0.0, 0.9, len(stats)))
    for which, a, title in (
        ("activations", left, "activations $A_l$"),
        ("gradients", middle, r"gradients $\partial L/\partial A_l$"),
    ):
        values = [getattr(s, which).ravel() for s in stats]
        top = float(np.quantile(np.abs(np.concatenate(values)), 0.99)) or 1.0
        edges = np.linspace(-top, top, int(bins) + 1)
        for s, v, color in zip(stats, values, depth_colors, strict=True):
            a.hist(
                np.clip(v, -top, top),
                bins=edges,
                histtype="step",
                color=color,
                label=f"{s.name}: mean {v.mean():+.2g}, std {v.std():.2g}",
            )
        a.set_title(title)
        a.set_xlabel("value")
        a.set_ylabel("count")
        a.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))  # 1e-4 scales stay readable
        a.xaxis.get_major_locator().set_params(nbins=5)
        if len(stats) <= _LEGEND_LAYERS:
            a.legend(fontsize="x-small", loc="upper right")
    if len(stats) > _LEGEND_LAYERS:  # a legend would hide the histograms: a colour scale of depth
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import BoundaryNorm, ListedColormap

        scale = ScalarMappable(
            BoundaryNorm(np.arange(len(stats) + 1) + 0.5, len(stats)), ListedColormap(depth_colors)
        )
        bar = fig.colorbar(scale, ax=[left, middle], pad=0.02, aspect=30)
        bar.set_ticks(np.arange(1, len(stats) + 1))
        bar.set_label("layer (1: input side)")
    depth = np.arange(1, len(stats) + 1)
    right.plot(depth, [s.activation_std for s in stats], "o-", label="std of $A_l$")
    right.plot(depth, [s.gradient_std for s in stats], "s-", label=r"std of $\partial L/\partial A_l$")
    if any(s.activation_std > 0 or s.gradient_std > 0 for s in stats):
        right.set_yscale("log", nonpositive="mask")  # a std of exactly 0 (a constant output) is left out
    right.set_xticks(depth, [s.name for s in stats], rotation=45, ha="right", fontsize="x-small")
    right.set_xlabel("layer (input side first)")
    right.set_title("standard deviation by depth")
    right.grid(True)
    right.legend()
    return fig


# --------------------------------------------------------------------------- im2col
def im2col_indices(
    height: int,
    width: int,
    kernel_size: int | tuple[int, int],
    strides: int | tuple[int, int] = 1,
    padding: str | int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Which pixel lands in which entry of :math:`X_{\mathrm{col}}`, from tinynet's own im2col.

    The pixels of one ``height`` :math:`\times` ``width`` image with one channel
    are numbered 0, 1, ... row by row; the image of those numbers goes through
    :func:`tinynet.ops.conv.conv_output_size`, :func:`~tinynet.ops.conv.pad_images`
    and :func:`~tinynet.ops.conv.im2col`, the functions ``Conv2D`` runs, so that
    the result is the layer's real index computation:

    .. math::

        X_{\mathrm{col}}\big[(i, j),\ (p, q)\big] = \tilde X_{p s_h + i,\ q s_w + j}.

    Parameters
    ----------
    height, width : int
        The image size (before padding).
    kernel_size, strides : int or (int, int)
    padding : "valid", "same" or int
        As ``Conv2D``'s (an integer pads that many zeros on every side).

    Returns
    -------
    padded : ndarray of int, shape (H + padding, W + padding)
        :math:`\tilde X` as pixel numbers, ``-1`` for the padding zeros.
    columns : ndarray of int, shape (kh kw, OH OW)
        :math:`X_{\mathrm{col}}` as pixel numbers, ``-1`` where it holds a
        padding zero; row :math:`i k_w + j` is the kernel offset :math:`(i, j)`,
        column :math:`p \cdot OW + q` the output pixel :math:`(p, q)`.
    """
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    sh, sw = (strides, strides) if isinstance(strides, int) else tuple(strides)
    for label, value in (("height", height), ("width", width), ("kernel_size", kh), ("kernel_size", kw)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"im2col_indices: {label} must be a positive integer, got {value!r}")
    for value in (sh, sw):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"im2col_indices: strides must be positive integers, got {strides!r}")
    if not (
        padding in ("valid", "same")
        or (isinstance(padding, int) and not isinstance(padding, bool) and padding >= 0)
    ):
        raise ValueError(
            f"im2col_indices: padding must be 'valid', 'same' or an integer >= 0, got {padding!r}"
        )
    rows = conv_ops.conv_output_size(height, kh, sh, padding)
    cols = conv_ops.conv_output_size(width, kw, sw, padding)
    if rows is None or cols is None:
        raise ValueError(
            f"im2col_indices: a {kh}x{kw} kernel does not fit the {height}x{width} image "
            f"with padding {padding!r}"
        )
    numbers = np.arange(1, height * width + 1, dtype=np.int64).reshape(1, 1, height, width)
    padded = conv_ops.pad_images(numbers, rows[1], rows[2], cols[1], cols[2])  # zeros: the padding
    columns = conv_ops.im2col(padded, (kh, kw), (sh, sw))
    return padded[0, 0] - 1, columns - 1


@_styled
def plot_im2col(
    height: int = 4,
    width: int = 4,
    kernel_size: int | tuple[int, int] = 3,
    strides: int | tuple[int, int] = 1,
    padding: str | int = 1,
    *,
    column: int = 0,
    ax: Sequence[Axes] | None = None,
) -> Figure:
    r"""How a small padded image unrolls into the columns of :math:`X_{\mathrm{col}}`.

    Left, the padded image :math:`\tilde X` with its pixels numbered (padding
    zeros as blank grey cells) and the receptive field of output pixel ``column`` outlined;
    right, :math:`X_{\mathrm{col}}` with a row per kernel offset :math:`(i, j)`
    and a column per output pixel :math:`(p, q)`, each entry the number of the
    pixel copied there (in that pixel's colour), the same column outlined.  A
    pixel that appears in several columns is the duplication that makes
    im2col cost :math:`k_h k_w / (s_h s_w)` times the input's memory, and the
    reason col2im *adds* the gradients of the copies.  The numbers come from
    :func:`im2col_indices`, tinynet's own im2col.

    Parameters
    ----------
    height, width, kernel_size, strides, padding
        As in :func:`im2col_indices`.
    column : int
        The output pixel (column of :math:`X_{\mathrm{col}}`) to outline.
    ax : sequence of 2 Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    padded, columns = im2col_indices(height, width, kernel_size, strides, padding)
    n_rows, n_cols = columns.shape
    if isinstance(column, bool) or int(column) != column or not 0 <= column < n_cols:
        raise ValueError(f"column must be an output pixel in [0, {n_cols}), got {column!r}")
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    sh, sw = (strides, strides) if isinstance(strides, int) else tuple(strides)
    out_h, out_w = _output_grid(padded.shape, (kh, kw), (sh, sw))
    ph, pw = padded.shape
    scale = 0.42  # inches per cell
    fig, (left, right) = _figure_and_axes(
        ax,
        2,
        ncols=2,
        panel=(max(2.5, scale * max(pw, n_cols) + 1.2), max(2.5, scale * max(ph, n_rows) + 1.4)),
    )
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    cmap = colormaps["tab20"]

    def cell(a: Axes, row: int, col: int, number: int) -> None:
        pad = number < 0
        color = "0.85" if pad else cmap(number % 20)
        a.add_patch(Rectangle((col, row), 1, 1, facecolor=color, edgecolor="white", linewidth=1.0))
        if not pad:  # a padding zero is the grey cell itself
            a.text(col + 0.5, row + 0.5, str(number), ha="center", va="center", fontsize=8)

    for r in range(ph):
        for c in range(pw):
            cell(left, r, c, int(padded[r, c]))
    for r in range(n_rows):
        for c in range(n_cols):
            cell(right, r, c, int(columns[r, c]))
    p, q = divmod(int(column), out_w)
    outline = {"fill": False, "edgecolor": "k", "linewidth": 2.2}
    left.add_patch(Rectangle((q * sw, p * sh), kw, kh, **outline))
    right.add_patch(Rectangle((column, 0), 1, n_rows, **outline))
    for a, rows_, cols_ in ((left, ph, pw), (right, n_rows, n_cols)):
        a.set_xlim(0, cols_)
        a.set_ylim(rows_, 0)  # row 0 at the top, as an image
        a.set_aspect("equal")
        for side in a.spines.values():
            side.set_visible(False)
    left.set_xticks([])
    left.set_yticks([])
    pad_label = f"padding {padding}" if isinstance(padding, int) else f'padding "{padding}"'
    left.set_title(f"{height}x{width} image, {pad_label} (grey: zeros)")
    left.set_xlabel(f"kernel {kh}x{kw}, stride {sh}x{sw}: output pixel ({p}, {q}) outlined")
    right.set_xticks(np.arange(n_cols) + 0.5, [f"{i // out_w},{i % out_w}" for i in range(n_cols)])
    right.tick_params(axis="x", labelsize=6, rotation=90, length=0)
    right.set_yticks(np.arange(n_rows) + 0.5, [f"{i // kw},{i % kw}" for i in range(n_rows)])
    right.tick_params(axis="y", labelsize=7, length=0)
    right.set_xlabel("column: output pixel (p, q)")
    right.set_ylabel("row: kernel offset (i, j)")
    right.set_title(f"$X_{{col}}$: {n_rows} x {n_cols} ({out_h}x{out_w} outputs)")
    return fig


def _output_grid(
    pad_shape: tuple[int, int], kernel: tuple[int, int], strides: tuple[int, int]
) -> tuple[int, int]:
    """(OH, OW) of a padded image, as ``tinynet.ops.conv`` counts its windows."""
    oh, ow = ((n - k) // s + 1 for n, k, s in zip(pad_shape, kernel, strides, strict=True))
    return oh, ow
