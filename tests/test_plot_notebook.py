"""In a fresh notebook, without `%matplotlib inline`, every `tn.plot` figure is displayed as a PNG.

The notebook is built here with nbformat and executed by nbclient in a kernel started the way
Jupyter starts one (no MPLBACKEND set by us, no magic), so it shows what a user sees: a cell
ending in a plot call must produce an `image/png` output, not the text `<Figure size ...>`.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SETUP = """\
import numpy as np
import tinynet as tn

tn.set_seed(0)
x, y = tn.datasets.make_moons(80, noise=0.2, seed=0)
model = tn.Sequential([tn.layers.Dense(8, input_dim=2, activation="relu"), tn.layers.Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
p = model.predict(x)[:, 0]
"""

#: one cell per public plotting function of tinynet.plot, each ending in the call
PLOT_CELLS = {
    "plot_history": "tn.plot.plot_history(history)",
    "plot_decision_boundary": "tn.plot.plot_decision_boundary(model, x, y)",
    "plot_confusion_matrix": "tn.plot.plot_confusion_matrix(y, p)",
    "plot_roc": "tn.plot.plot_roc(y, p)",
    "plot_optimizer_paths": "tn.plot.plot_optimizer_paths()",
    "plot_weights": "tn.plot.plot_weights(model)",
    "plot_saliency": "tn.plot.plot_saliency(np.eye(4)[None], np.eye(4)[None] - 0.5)",
    "plot_attributions": "tn.plot.plot_attributions(np.array([0.3, -0.1]), ['a', 'b'])",
    "plot_layer_statistics": "tn.plot.plot_layer_statistics(model, x, y)",
    "plot_im2col": "tn.plot.plot_im2col()",
}


def test_every_plot_function_has_a_cell():
    from tinynet import plot

    assert sorted(PLOT_CELLS) == sorted(name for name in plot.__all__ if name.startswith("plot_"))


@pytest.mark.slow
@pytest.mark.parametrize("magic", ["", "%matplotlib inline\n"], ids=["no magic", "inline magic"])
def test_plots_display_in_a_fresh_notebook(magic):
    # without the magic the figure must render itself; with it, it must not be shown twice
    pytest.importorskip("matplotlib")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME
    from matplotlib.image import imread

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(magic + SETUP)] + [
        nbformat.v4.new_code_cell(code) for code in PLOT_CELLS.values()
    ]
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # as Jupyter leaves it
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name=NATIVE_KERNEL_NAME, allow_errors=False)
    client.execute(env=env, cwd=str(ROOT))

    for name, cell in zip(PLOT_CELLS, nb.cells[1:], strict=True):
        pngs = [out["data"]["image/png"] for out in cell.outputs if "image/png" in out.get("data", {})]
        texts = [out.get("data", {}).get("text/plain", out.get("text", "")) for out in cell.outputs]
        assert len(pngs) == 1, f"{name}: expected one PNG output, got {len(pngs)}: {texts}"
        pixels = imread(io.BytesIO(base64.b64decode(pngs[0])))
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100 and pixels.std() > 0, name
