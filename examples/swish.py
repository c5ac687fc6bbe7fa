r"""A custom layer end to end: Swish, :math:`y = x\,\sigma(\beta x)`, with a trainable :math:`\beta`.

This is the example of ``docs/custom-layers.md`` and ``notebooks/09_custom_layers.ipynb``:
the layer, its backward pass derived by hand, registered for model files.  Run it to
train a small model with it, save it, load it back and predict::

    python examples/swish.py

Derivation.  With :math:`s = \sigma(\beta x)` and :math:`\sigma' = \sigma (1 - \sigma)`,
the product and chain rules give, element by element,

.. math::
    \frac{\partial y}{\partial x} = s + \beta x\, s (1 - s), \qquad
    \frac{\partial y}{\partial \beta} = x^2 s (1 - s).

The backward pass receives :math:`G = \partial L/\partial y` (the shape of :math:`y`).
Every element depends on its own :math:`x` only, but every element depends on the one
:math:`\beta`, so the :math:`\beta` gradient sums over all of them:

.. math::
    \frac{\partial L}{\partial x} = G \odot \big(s + \beta x\, s(1 - s)\big), \qquad
    \frac{\partial L}{\partial \beta} = \sum_{\text{all elements}} G \odot x^2 s (1 - s).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import tinynet as tn
from tinynet.layers import Layer
from tinynet.layers.activations import stable_sigmoid


@tn.register_layer
class Swish(Layer):
    r"""Swish activation with a trainable slope: :math:`y = x\,\sigma(\beta x)`.

    :math:`\beta = 1` gives SiLU; :math:`\beta \to \infty` approaches ReLU and
    :math:`\beta = 0` the linear :math:`x/2`.  Shapes: any; ``beta`` has shape (1,).

    Parameters
    ----------
    beta : float
        The initial :math:`\beta`.
    """

    def __init__(self, beta: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.beta = float(beta)

    def build(self, input_shape: tuple[int, ...]) -> None:
        super().build(input_shape)
        self.add_param("beta", np.full((1,), self.beta))

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        beta = self.params["beta"]
        s = stable_sigmoid(beta * x)
        self.x, self.s = x, s  # the cache: what backward needs
        return x * s

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, s, beta = self.x, self.s, self.params["beta"]
        ds = s * (1.0 - s)  # sigma'(beta x)
        self.grads["beta"][...] = np.sum(grad_output * x * x * ds)  # in place: never rebind grads
        return grad_output * (s + beta * x * ds)

    def get_config(self) -> dict:
        return {**super().get_config(), "beta": self.beta}


def build_model(seed: int = 0) -> tn.Sequential:
    """A small classifier for two moons with a Swish after each hidden layer."""
    tn.set_seed(seed)
    model = tn.Sequential(
        [
            tn.layers.Dense(16, input_dim=2),
            Swish(),
            tn.layers.Dense(16),
            Swish(beta=0.5),
            tn.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer=tn.optimizers.Adam(0.02), metrics=["accuracy"])
    return model


def main(epochs: int = 60, directory: str | Path | None = None) -> dict:
    """Train on two moons, save, load and predict; return what happened.

    Returns
    -------
    dict
        ``accuracy`` (held-out), the learned ``betas``, the model file ``path``
        and ``same_predictions`` (whether the loaded model predicts identically).
    """
    from tinynet.serialization import load_model

    x, y = tn.datasets.make_moons(400, noise=0.15, seed=0)
    x_train, x_test, y_train, y_test = tn.datasets.train_test_split(x, y, test_size=0.25, seed=0)
    model = build_model()
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test)
    betas = [float(layer.params["beta"][0]) for layer in model.layers if isinstance(layer, Swish)]

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(directory or tmp) / "swish_moons.npz"
        model.save(path)
        loaded = load_model(path)
        same = bool(np.array_equal(loaded.predict(x_test), model.predict(x_test)))
        kinds = [type(layer).__name__ for layer in loaded.layers]
    return {
        "accuracy": accuracy,
        "betas": betas,
        "path": str(path),
        "same_predictions": same,
        "layers": kinds,
    }


if __name__ == "__main__":
    result = main()
    print(f"test accuracy {result['accuracy']:.3f}; learned betas {np.round(result['betas'], 3).tolist()}")
    print(
        f"loaded layers {result['layers']}; identical predictions after loading: {result['same_predictions']}"
    )
    sys.exit(0 if result["same_predictions"] else 1)
