"""Plots: each renders headless to a PNG that is not blank, accepts ax=, and uses the real optimizers."""

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn
from tinynet import optimizers

pytest.importorskip("matplotlib")

import itertools

from matplotlib.figure import Figure
from matplotlib.image import imread

from tinynet import plot

ROOT = Path(__file__).resolve().parents[1]


def coloured_fraction(fig):
    """Render to PNG and return the fraction of clearly coloured (not grey) pixels.

    Axes, ticks and text are black or grey; the data (lines, regions, bars, cells) are
    coloured, so an empty plot scores 0 even though its frame makes the image non-uniform.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    buf.seek(0)
    rgb = imread(buf)[..., :3]
    assert rgb.std() > 0, "the image is uniform"
    chroma = rgb.max(axis=-1) - rgb.min(axis=-1)
    return float((chroma > 0.15).mean())


@pytest.fixture(scope="module")
def trained():
    tn.set_seed(0)
    x, y = tn.datasets.make_moons(120, noise=0.2, seed=0)
    model = tn.Sequential(
        [tn.layers.Dense(16, input_dim=2, activation="relu"), tn.layers.Dense(1, activation="sigmoid")]
    )
    model.compile("binary_crossentropy", tn.optimizers.Adam(0.02), metrics=["accuracy"])
    history = model.fit(x, y, epochs=10, batch_size=16, validation_split=0.25, verbose=0)
    return model, history, x, y


def test_plot_history(trained):
    _, history, _, _ = trained
    fig = plot.plot_history(history)
    assert isinstance(fig, Figure)
    assert [a.get_title() for a in fig.axes] == ["loss", "accuracy"]
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["training loss", "validation loss"]
    np.testing.assert_allclose(fig.axes[0].get_lines()[1].get_ydata(), history.history["val_loss"])
    assert coloured_fraction(fig) > 0.002
    fig = plot.plot_history(history.history, metrics=["learning_rate"])  # the dict works too
    assert len(fig.axes) == 1
    with pytest.raises(ValueError, match="no \\['f1'\\]"):
        plot.plot_history(history, metrics=["f1"])


def test_plot_decision_boundary_binary_and_multiclass(trained):
    model, _, x, y = trained
    fig = plot.plot_decision_boundary(model, x, y, resolution=60)
    assert coloured_fraction(fig) > 0.3  # the shaded regions fill the axes
    x3, y3 = tn.datasets.make_blobs(90, centers=3, seed=0)
    tn.set_seed(1)
    multi = tn.Sequential([tn.layers.Dense(3, input_dim=2, activation="softmax")])
    multi.compile("sparse_categorical_crossentropy", tn.optimizers.Adam(0.1))
    multi.fit(x3, y3, epochs=5, verbose=0)
    fig = plot.plot_decision_boundary(multi, x3, tn.datasets.one_hot(y3, 3), resolution=60)
    assert coloured_fraction(fig) > 0.3
    with pytest.raises(ValueError, match="shape \\(N, 2\\)"):
        plot.plot_decision_boundary(model, np.zeros((4, 3)), np.zeros(4))


def test_plot_confusion_matrix_and_roc(trained):
    model, _, x, y = trained
    p = model.predict(x)
    fig = plot.plot_confusion_matrix(y, p, labels=["inner", "outer"])
    cells = [t.get_text() for t in fig.axes[0].texts]
    assert cells == [str(c) for c in tn.metrics.confusion_matrix(y, p).ravel()]
    assert coloured_fraction(fig) > 0.05
    fig = plot.plot_confusion_matrix(y, p, normalize=True)
    assert all(0.0 <= float(t.get_text()) <= 1.0 for t in fig.axes[0].texts)
    fig = plot.plot_roc(y, p, label="mlp")
    assert f"AUC = {tn.metrics.roc_auc(y, p):.3f}" in fig.axes[0].get_lines()[0].get_label()
    assert coloured_fraction(fig) > 0.002


def test_plot_weights(trained):
    model, _, _, _ = trained
    fig = plot.plot_weights(model)
    assert len(fig.axes) == 2 * len(model.named_params())
    assert coloured_fraction(fig) > 0.01
    unbuilt = tn.Sequential([tn.layers.Dense(2, input_dim=2)])
    with pytest.raises(ValueError, match="built model"):
        plot.plot_weights(unbuilt)


@pytest.mark.parametrize("surface", ["rosenbrock", "quadratic"])
def test_plot_optimizer_paths(surface):
    fig = plot.plot_optimizer_paths(surface, steps=100)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert [label.split(" ")[0] for label in labels if "f =" in label] == [
        "SGD",
        "Momentum",
        "RMSprop",
        "Adam",
    ]
    assert coloured_fraction(fig) > 0.002


def test_optimizer_paths_come_from_the_real_optimizer_classes():
    start = np.array([-1.5, 2.0])
    paths = plot.optimizer_paths("rosenbrock", start=tuple(start), steps=3)
    assert set(paths) == {"SGD", "Momentum", "RMSprop", "Adam"}
    assert all(path.shape == (4, 2) for path in paths.values())
    grad = plot.SURFACES["rosenbrock"].grad(start)
    np.testing.assert_allclose(paths["SGD"][1], start - 1e-3 * grad)  # theta - eta g
    # Adam's first step moves every coordinate by eta (m_hat / sqrt(v_hat) = sign(g))
    np.testing.assert_allclose(np.abs(paths["Adam"][1] - start), [5e-2, 5e-2], rtol=1e-6)
    # optimizers of your own, and a diverging one ends where the numbers stop being finite
    custom = plot.optimizer_paths("quadratic", {"huge": optimizers.SGD(1.0)}, steps=2000)
    assert np.all(np.isfinite(custom["huge"])) and len(custom["huge"]) < 2001
    with pytest.raises(ValueError, match="unknown surface"):
        plot.optimizer_paths("himmelblau")


def test_ax_draws_into_the_callers_axes():
    fig = Figure()
    ax = fig.add_subplot()
    out = plot.plot_roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], ax=ax, label="a")
    plot.plot_roc([0, 0, 1, 1], [0.2, 0.1, 0.7, 0.8], ax=ax, label="b")  # two models on one plot
    assert out is fig and len(fig.axes) == 1
    assert [line.get_label() for line in ax.get_lines()] == ["a (AUC = 0.750)", "chance", "b (AUC = 1.000)"]
    fig2 = Figure()
    axes = fig2.subplots(1, 2)
    assert plot.plot_history({"loss": [1.0, 0.5], "accuracy": [0.5, 0.7]}, ax=axes) is fig2
    with pytest.raises(ValueError, match="exactly 2 Axes"):
        plot.plot_history({"loss": [1.0, 0.5], "accuracy": [0.5, 0.7]}, ax=ax)


def test_importing_the_plot_module_does_not_import_matplotlib():
    code = "import tinynet.plot, sys; assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def _tick_label_extents(fig, a):
    fig.draw_without_rendering()
    renderer = fig._get_renderer()
    xs = [t.get_window_extent(renderer) for t in a.get_xticklabels() if t.get_text()]
    ys = [t.get_window_extent(renderer) for t in a.get_yticklabels() if t.get_text()]
    return xs, ys


def _overlaps(extents, axis):
    lo, hi = ("x0", "x1") if axis == "x" else ("y0", "y1")
    ordered = sorted(extents, key=lambda e: getattr(e, lo))
    return sum(getattr(a, hi) > getattr(b, lo) + 0.5 for a, b in itertools.pairwise(ordered))


@pytest.mark.parametrize(("k", "long_names"), [(10, True), (26, False), (26, True), (100, True)])
def test_large_confusion_matrices_keep_their_labels_inside(k, long_names):
    rng = np.random.default_rng(k)
    y = rng.integers(0, k, 20 * k)
    p = np.where(rng.random(len(y)) < 0.7, y, rng.integers(0, k, len(y)))
    names = [f"class number {i}" for i in range(k)] if long_names else None
    fig = plot.plot_confusion_matrix(y, p, labels=names)
    assert max(fig.get_size_inches()) <= 16, "the figure grows without bound with the number of classes"
    a = fig.axes[0]
    xs, ys = _tick_label_extents(fig, a)
    assert len(xs) == len(ys) == k
    box = fig.bbox
    outside = [e for e in xs + ys if e.x0 < box.x0 or e.y0 < box.y0 or e.x1 > box.x1 or e.y1 > box.y1]
    assert not outside, f"{len(outside)} tick labels lie outside the figure"
    assert _overlaps(xs, "x") == 0 and _overlaps(ys, "y") == 0, "tick labels overlap"


def test_confusion_matrix_labels_fit_the_callers_axes():
    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    a = fig.subplots()
    y = np.arange(200) % 20
    assert plot.plot_confusion_matrix(y, y, labels=[f"class number {i}" for i in range(20)], ax=a) is fig
    xs, ys = _tick_label_extents(fig, a)
    box = fig.bbox
    assert all(box.x0 <= e.x0 and e.x1 <= box.x1 and box.y0 <= e.y0 and e.y1 <= box.y1 for e in xs + ys)
    assert _overlaps(xs, "x") == 0 and _overlaps(ys, "y") == 0
