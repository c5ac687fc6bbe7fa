"""The explanation plots: saliency heat maps over digits, and signed, sorted attribution bars."""

import numpy as np
import pytest

import tinynet as tn

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure

from tests.test_plot import coloured_fraction
from tinynet import explain, plot


@pytest.fixture(scope="module")
def digits_model():
    x, y = tn.datasets.load_digits(as_images=True)
    x = x[:300] / 16.0
    y = y[:300]
    tn.set_seed(0)
    model = tn.Sequential(
        [
            tn.layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=(1, 8, 8)),
            tn.layers.Flatten(),
            tn.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("sparse_categorical_crossentropy", "adam")
    model.fit(x, y, epochs=5, verbose=0)
    return model, x, y


def test_plot_saliency_overlays_signed_and_unsigned_maps(digits_model):
    model, x, y = digits_model
    images = x[:6]
    ig = explain.integrated_gradients(model, images, steps=16)
    fig = plot.plot_saliency(images, ig, titles=[f"digit {d}" for d in y[:6]])
    assert isinstance(fig, Figure)
    panels = [a for a in fig.axes if a.get_title()]
    assert [a.get_title() for a in panels] == [f"digit {d}" for d in y[:6]]
    image, heat = panels[0].get_images()
    np.testing.assert_allclose(image.get_array(), images[0, 0])
    np.testing.assert_allclose(heat.get_array(), ig[0, 0], rtol=1e-6)
    low, high = heat.get_clim()
    assert low == -high == -np.abs(ig).max()  # signed: a diverging scale centred on 0
    assert heat.get_cmap().name == "RdBu_r"
    assert coloured_fraction(fig) > 0.05
    unsigned = plot.plot_saliency(images, explain.saliency(model, images))
    heat = unsigned.axes[0].get_images()[1]
    assert heat.get_clim()[0] == 0.0 and heat.get_cmap().name == "Reds"
    # occlusion's (N, H, W) maps fit the (N, C, H, W) images too
    plot.plot_saliency(images, explain.occlusion(model, images))


def test_plot_saliency_checks_its_inputs(digits_model):
    _, x, _ = digits_model
    with pytest.raises(ValueError, match="do not match the images"):
        plot.plot_saliency(x[:3], np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="titles has 1 entries for 3 images"):
        plot.plot_saliency(x[:3], np.zeros((3, 8, 8)), titles=["a"])


def test_plot_attributions_sorts_by_magnitude_and_colours_by_sign():
    values = np.array([0.1, -0.5, 0.3, 0.0, -0.05])
    names = ["a", "b", "c", "d", "e"]
    fig = plot.plot_attributions(values, names, errors=np.full(5, 0.01), title="why")
    a = fig.axes[0]
    labels = [t.get_text() for t in a.get_yticklabels()]
    assert labels == ["b", "c", "a", "e", "d"]  # by magnitude (stable on ties) ...
    assert list(a.get_yticks()) == [4, 3, 2, 1, 0]  # ... from the top down
    bars = {names[i]: p for i, p in zip(np.argsort(-np.abs(values), kind="stable"), a.patches, strict=False)}
    assert bars["b"].get_width() == pytest.approx(-0.5) and bars["c"].get_width() == pytest.approx(0.3)
    red, blue = bars["c"].get_facecolor(), bars["b"].get_facecolor()
    assert red[0] > red[2] and blue[2] > blue[0]  # positive red, negative blue
    assert a.get_title() == "why"
    assert coloured_fraction(fig) > 0.01
    top2 = plot.plot_attributions(values, names, top=2)
    assert [t.get_text() for t in top2.axes[0].get_yticklabels()] == ["b", "c"]


def test_plot_attributions_of_a_pima_model_by_name():
    x, y, names, _ = tn.datasets.load_pima_diabetes(return_names=True)
    x = tn.datasets.standardize(x)
    tn.set_seed(0)
    model = tn.Sequential(
        [tn.layers.Dense(8, input_dim=8, activation="relu"), tn.layers.Dense(1, activation="sigmoid")]
    )
    model.compile("binary_crossentropy", "adam")
    model.fit(x, y, epochs=5, verbose=0)
    result = explain.permutation_importance(model, x, y, n_repeats=3)
    fig = plot.plot_attributions(result.importances_mean, names, errors=result.importances_std)
    assert sorted(t.get_text() for t in fig.axes[0].get_yticklabels()) == sorted(names)
    with pytest.raises(ValueError, match="one value per feature"):
        plot.plot_attributions(np.zeros((2, 8)), names)
    with pytest.raises(ValueError, match="feature_names has 2 names for 8"):
        plot.plot_attributions(np.zeros(8), names[:2])


def test_explanation_plots_draw_into_the_callers_axes(digits_model):
    _, x, _ = digits_model
    fig = Figure()
    axes = fig.subplots(1, 3)
    assert plot.plot_saliency(x[:2], x[:2], ax=axes[:2]) is fig
    assert plot.plot_attributions(np.arange(3.0) - 1, ax=axes[2]) is fig
