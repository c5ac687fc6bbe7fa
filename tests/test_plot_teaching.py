"""Teaching visuals: per-layer statistics, the im2col diagram, the one figure style and SVG export.

Each figure is checked for its data: the statistics against a forward and backward pass written
out here in NumPy (and central differences), the im2col numbers against an index loop and the real
Conv2D, the SVG file by parsing it.
"""

import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinynet as tn

pytest.importorskip("matplotlib")

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from tinynet import plot

SVG = "{http://www.w3.org/2000/svg}"


# --------------------------------------------------------------------------- layer statistics
def three_layer_model():
    model = tn.Sequential(
        [
            tn.layers.Dense(5, input_dim=4, activation="tanh"),
            tn.layers.Dense(6, activation="relu"),
            tn.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    return model


def batch(n=7, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    y = tn.datasets.one_hot(rng.integers(0, 3, n), 3)
    return x, y


def test_layer_statistics_equal_a_forward_and_backward_pass_written_out(float64):
    tn.set_seed(3)
    model = three_layer_model()
    x, y = batch()
    stats = plot.layer_statistics(model, x, y)
    (W1, b1), (W2, b2), (W3, b3) = [(layer.params["W"], layer.params["b"]) for layer in model.layers]
    n = len(x)
    A1 = np.tanh(x @ W1 + b1)
    Z2 = A1 @ W2 + b2
    A2 = np.maximum(Z2, 0)
    Z3 = A2 @ W3 + b3
    A3 = np.exp(Z3 - Z3.max(axis=1, keepdims=True))
    A3 /= A3.sum(axis=1, keepdims=True)
    G3 = -y / (A3 * n)  # L = -(1/N) sum t log p
    G2 = ((A3 - y) / n) @ W3.T  # softmax and cross-entropy together: dL/dZ3 = (p - t)/N
    G1 = (G2 * (Z2 > 0)) @ W2.T
    assert [s.name for s in stats] == [layer.name for layer in model.layers]
    assert [s.kind for s in stats] == ["Dense(tanh)", "Dense(relu)", "Dense(softmax)"]
    for s, A, G in zip(stats, (A1, A2, A3), (G1, G2, G3), strict=True):
        np.testing.assert_allclose(s.activations, A, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s.gradients, G, rtol=1e-10, atol=1e-14)
        assert s.activation_mean == pytest.approx(A.mean()) and s.activation_std == pytest.approx(A.std())
        assert s.gradient_mean == pytest.approx(G.mean()) and s.gradient_std == pytest.approx(G.std())

    def loss_of_A1(a1):
        z3 = np.maximum(a1 @ W2 + b2, 0) @ W3 + b3
        log_p = z3 - z3.max(axis=1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
        return -(y * log_p).sum() / n

    h = 1e-6
    numeric = np.zeros_like(A1)
    for index in np.ndindex(A1.shape):  # central differences, entry by entry
        step = np.zeros_like(A1)
        step[index] = h
        numeric[index] = (loss_of_A1(A1 + step) - loss_of_A1(A1 - step)) / (2 * h)
    np.testing.assert_allclose(stats[0].gradients, numeric, rtol=1e-6, atol=1e-9)


def test_layer_statistics_leave_the_model_as_it_was():
    tn.set_seed(0)
    model = tn.Sequential(
        [
            tn.layers.Dense(8, input_dim=4, activation="relu"),
            tn.layers.BatchNormalization(),
            tn.layers.Dropout(0.5),
            tn.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    x, y = batch(16)
    model.fit(x, y, epochs=1, verbose=0)
    before = {k: v.copy() for k, v in model.named_params().items()}
    grads = {k: v.copy() for k, v in model.named_grads().items()}
    state = [layer.get_weights() for layer in model.layers]
    stats = plot.layer_statistics(model, x, y)
    assert len(stats) == 4
    assert np.mean(stats[2].activations == 0) > 0.2, "dropout is active in training mode"
    for k, v in model.named_params().items():
        np.testing.assert_array_equal(v, before[k])
        np.testing.assert_array_equal(model.named_grads()[k], grads[k])
    for layer, weights in zip(model.layers, state, strict=True):
        for a, b in zip(layer.get_weights(), weights, strict=True):
            np.testing.assert_array_equal(a, b)  # batch-norm running averages included
    # in inference mode dropout passes everything through
    inference = plot.layer_statistics(model, x, y, training=False)
    np.testing.assert_allclose(inference[2].activations, inference[1].activations)


def test_layer_statistics_need_a_loss_and_a_sequential():
    model = tn.Sequential([tn.layers.Dense(2, input_dim=3)])
    x = np.ones((4, 3))
    with pytest.raises(ValueError, match="needs a loss"):
        plot.layer_statistics(model, x, np.zeros((4, 2)))
    stats = plot.layer_statistics(model, x, np.zeros((4, 2)), loss="mse")
    # MSE over N*D entries: dL/dY = 2 (Y - T) / (N D)
    np.testing.assert_allclose(stats[0].gradients, 2 * stats[0].activations / 8, rtol=1e-6)
    with pytest.raises(TypeError, match="Sequential"):
        plot.layer_statistics(object(), x, x)
    with pytest.raises(ValueError, match="do not match"):
        plot.layer_statistics(model, x, np.zeros((4, 5)), loss="mse")


def test_plot_layer_statistics_draws_the_statistics(float64):
    tn.set_seed(1)
    model = three_layer_model()
    x, y = batch(20)
    stats = plot.layer_statistics(model, x, y)
    fig = plot.plot_layer_statistics(model, x, y, bins=10)
    left, middle, right = fig.axes
    np.testing.assert_allclose(right.get_lines()[0].get_ydata(), [s.activation_std for s in stats])
    np.testing.assert_allclose(right.get_lines()[1].get_ydata(), [s.gradient_std for s in stats])
    for a, which in ((left, "activations"), (middle, "gradients")):
        labels = [text.get_text() for text in a.get_legend().get_texts()]
        assert labels == [
            f"{s.name}: mean {getattr(s, which).mean():+.2g}, std {getattr(s, which).std():.2g}"
            for s in stats
        ]
    assert [t.get_text() for t in right.get_xticklabels()] == [s.name for s in stats]
    # the precomputed statistics give the same figure, and the caller's axes work
    own = Figure()
    axes = own.subplots(1, 3)
    assert plot.plot_layer_statistics(stats, ax=axes) is own
    with pytest.raises(ValueError, match="needs a batch"):
        plot.plot_layer_statistics(model)
    # a deep model gets a colour bar of depth instead of legends that would hide the histograms
    deep = tn.Sequential(
        [tn.layers.Dense(3, input_dim=4)] + [tn.layers.Dense(3, activation="tanh") for _ in range(7)]
    )
    fig = plot.plot_layer_statistics(deep, x, np.zeros((20, 3)), loss="mse")
    assert fig.axes[0].get_legend() is None and len(fig.axes) == 4
    assert list(fig.axes[3].get_yticks()) == list(range(1, 9))
    with pytest.raises(ValueError, match="exactly 3 Axes"):
        plot.plot_layer_statistics(stats, ax=axes[:2])


# --------------------------------------------------------------------------- im2col
def test_im2col_indices_by_hand():
    padded, columns = plot.im2col_indices(3, 3, kernel_size=2, strides=1, padding="valid")
    np.testing.assert_array_equal(padded, np.arange(9).reshape(3, 3))
    # column (p, q) holds the 2x2 window at (p, q), read row by row
    np.testing.assert_array_equal(columns.T, [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]])
    padded, _ = plot.im2col_indices(2, 2, kernel_size=3, padding=1)
    np.testing.assert_array_equal(
        padded, [[-1, -1, -1, -1], [-1, 0, 1, -1], [-1, 2, 3, -1], [-1, -1, -1, -1]]
    )


@pytest.mark.parametrize(
    ("h", "w", "k", "s", "p"),
    [
        (4, 4, 3, 1, 1),
        (5, 4, (3, 2), (2, 1), "same"),
        (6, 5, 2, 2, "valid"),
        (4, 4, 3, 2, 2),
        (5, 5, 4, 3, "same"),
    ],
)
def test_im2col_indices_are_the_windows_of_the_real_conv2d(float64, h, w, k, s, p):
    padded, columns = plot.im2col_indices(h, w, k, s, p)
    kh, kw = (k, k) if isinstance(k, int) else k
    sh, sw = (s, s) if isinstance(s, int) else s
    oh, ow = (padded.shape[0] - kh) // sh + 1, (padded.shape[1] - kw) // sw + 1
    assert columns.shape == (kh * kw, oh * ow)
    for i, j, r, c in np.ndindex(kh, kw, oh, ow):  # X_col[(i, j), (p, q)] = X~[p s_h + i, q s_w + j]
        assert columns[i * kw + j, r * ow + c] == padded[r * sh + i, c * sw + j]
    # the layer's own output is W_mat times the image gathered by these numbers (zeros at -1)
    rng = np.random.default_rng(0)
    image = rng.standard_normal((1, 1, h, w))
    layer = tn.layers.Conv2D(1, k, strides=s, padding=p, use_bias=False)
    z = layer(image)
    gathered = np.where(columns >= 0, image.ravel()[columns], 0.0)
    np.testing.assert_allclose(z.reshape(-1), layer.params["W"].reshape(-1) @ gathered, rtol=1e-12)
    assert z.shape[2:] == (oh, ow)


def test_im2col_indices_refuse_bad_arguments():
    with pytest.raises(ValueError, match="does not fit"):
        plot.im2col_indices(2, 2, 3)
    with pytest.raises(ValueError, match="padding"):
        plot.im2col_indices(4, 4, 3, padding="full")
    with pytest.raises(ValueError, match="strides"):
        plot.im2col_indices(4, 4, 3, strides=0)
    with pytest.raises(ValueError, match="height"):
        plot.im2col_indices(0, 4, 3)


def test_plot_im2col_shows_the_numbers_of_im2col():
    padded, columns = plot.im2col_indices(5, 4, 3, 2, "same")
    fig = plot.plot_im2col(5, 4, 3, 2, "same", column=3)
    left, right = fig.axes
    for a, grid in ((left, padded), (right, columns)):
        assert [t.get_text() for t in a.texts] == [str(v) for v in grid.ravel() if v >= 0]
        cells = [p for p in a.patches if isinstance(p, Rectangle) and p.get_fill()]
        assert len(cells) == grid.size
        grey = [p for p in cells if np.allclose(p.get_facecolor()[:3], 0.85)]
        assert len(grey) == int((grid < 0).sum())
    (box,) = [p for p in right.patches if not p.get_fill()]
    assert (box.get_x(), box.get_y(), box.get_width(), box.get_height()) == (3, 0, 1, 9)
    (field,) = [p for p in left.patches if not p.get_fill()]
    ow = columns.shape[1] // 3  # 3 rows of outputs for 5 rows with stride 2
    r, c = divmod(3, ow)
    assert (field.get_x(), field.get_y(), field.get_width(), field.get_height()) == (c * 2, r * 2, 3, 3)
    with pytest.raises(ValueError, match="column must be"):
        plot.plot_im2col(4, 4, 3, 1, 1, column=16)


# --------------------------------------------------------------------------- style and SVG
def svg_of(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg")
    return buffer.getvalue()


def test_figures_save_as_svg_with_their_text_as_text(tmp_path):
    fig = plot.plot_im2col(3, 3, 2, 1, 0)
    path = tmp_path / "im2col.svg"
    fig.savefig(path)
    root = ET.parse(path).getroot()  # well-formed XML
    assert root.tag == f"{SVG}svg"
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    for number in range(9):  # every pixel number is a <text> element, editable on a slide
        assert str(number) in texts
    assert any("3x3 image" in t for t in texts)
    patches = [g for g in root.iter(f"{SVG}g") if g.get("id", "").startswith("patch_")]
    assert len(patches) >= 9 + 16  # the image's and X_col's cells
    again = plot.plot_im2col(3, 3, 2, 1, 0)
    assert svg_of(again) == svg_of(plot.plot_im2col(3, 3, 2, 1, 0)), "the same figure gives the same file"
    # a choice the user made in rcParams wins over the style's
    assert b"fill: #ffffff" in svg_of(fig)
    with matplotlib.rc_context({"savefig.facecolor": "#808080"}):
        assert b"fill: #808080" in svg_of(fig)


def test_layer_statistics_figure_saves_as_svg(tmp_path):
    tn.set_seed(0)
    model = three_layer_model()
    x, y = batch()
    path = tmp_path / "stats.svg"
    plot.plot_layer_statistics(model, x, y).savefig(path)
    texts = ["".join(t.itertext()) for t in ET.parse(path).getroot().iter(f"{SVG}text")]
    assert "standard deviation by depth" in texts
    assert any(t.startswith(model.layers[0].name + ": mean") for t in texts)


def test_every_plot_function_draws_in_the_style():
    public = [name for name in plot.__all__ if name.startswith("plot_")]
    assert all(getattr(getattr(plot, name), "__wrapped__", None) for name in public), "not drawn in style()"
    fig = plot.plot_history({"loss": [1.0, 0.5]})
    assert not fig.axes[0].spines["top"].get_visible()
    assert fig.axes[0].title.get_fontsize() == plot.STYLE["axes.titlesize"]
    assert matplotlib.rcParams["axes.spines.top"], "the style does not leak out of the call"
    with plot.style():
        assert all(matplotlib.rcParams[key] == value for key, value in plot.STYLE.items())


class NoInputGradient(tn.layers.Layer):
    """The identity, with an input that takes no gradient (as an Embedding's integer ids)."""

    def compute_output_shape(self, input_shape):
        return input_shape

    def forward(self, x, training=False):
        return x

    def backward(self, grad_output):
        return None


def test_layer_statistics_stop_where_the_backward_pass_stops():
    model = tn.Sequential([NoInputGradient(input_shape=(3,)), tn.layers.Dense(2)])
    stats = plot.layer_statistics(model, np.ones((4, 3)), np.zeros((4, 2)), loss="mse")
    assert [s.name for s in stats] == [model.layers[0].name, model.layers[1].name]
    model = tn.Sequential([tn.layers.Dense(3, input_dim=3), NoInputGradient(), tn.layers.Dense(2)])
    stats = plot.layer_statistics(model, np.ones((4, 3)), np.zeros((4, 2)), loss="mse")
    # the layer that returned None received its gradient; the layer below it got none
    assert [s.name for s in stats] == [layer.name for layer in model.layers[1:]]
