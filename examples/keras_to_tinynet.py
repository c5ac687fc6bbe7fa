r"""Move a trained Keras ``Sequential`` model into tinynet: the architecture and the weights.

tinynet cannot read Keras files (``.keras`` zips, ``.h5`` HDF5 files): they hold a
TensorFlow/JAX/PyTorch-backed graph that tinynet does not interpret.  This script
runs where Keras is installed, loads the Keras model with Keras itself, rebuilds
the same stack of layers in tinynet and copies every weight over, converting the
layouts that differ::

    python examples/keras_to_tinynet.py model.keras model.npz

The result is an ordinary tinynet model file (``tn.load_model("model.npz")``).

What differs, and how the weights move:

=====================  ==================================  ====================================
Keras                  tinynet                             conversion
=====================  ==================================  ====================================
images (N, H, W, C)    images (N, C, H, W)                 transpose your data: ``x.transpose(0, 3, 1, 2)``
Dense kernel (in, out) Dense ``W`` (in, out)               as it is
Conv2D kernel          Conv2D ``W`` (F, C, kh, kw)         ``kernel.transpose(3, 2, 0, 1)``
(kh, kw, C, F)
Flatten of (H, W, C)   Flatten of (C, H, W)                the next Dense's rows are permuted:
                                                           :math:`W_{(c,h,w)} = K_{(h,w,c)}`
BatchNormalization     ``gamma, beta`` + state             as they are
(gamma, beta, mean,    ``moving_mean, moving_variance``
variance)
=====================  ==================================  ====================================

Supported layers: Dense, Conv2D (no dilation, no groups, channels-last), MaxPooling2D,
AveragePooling2D, GlobalAveragePooling2D, Flatten, Dropout, BatchNormalization
(on the channel or feature axis), LayerNormalization (last axis), Activation and the
activation layers ReLU, LeakyReLU, ELU, Softmax.  Anything else is refused by name.
The conversion is checked where it runs: the script compares both models'
predictions on random inputs and refuses to write a file when they disagree.

Keras is imported only inside :func:`main` and :func:`convert`, so the pure-NumPy
layout functions here can be used (and tested) without it.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

import tinynet as tn
from tinynet.layers import (
    ELU,
    Activation,
    AvgPool2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    Layer,
    LayerNormalization,
    LeakyReLU,
    MaxPool2D,
    ReLU,
    Softmax,
)

#: Keras activation names tinynet spells the same way (Keras' "leaky_relu" has slope 0.2: see below).
SAME_ACTIVATIONS = {"linear", "relu", "sigmoid", "softmax", "tanh", "elu", "softplus", "gelu"}


def conv_kernel(kernel: np.ndarray) -> np.ndarray:
    """A Keras Conv2D kernel (kh, kw, C, F) as tinynet's ``W`` (F, C, kh, kw)."""
    return np.ascontiguousarray(np.asarray(kernel).transpose(3, 2, 0, 1))


def dense_after_flatten(kernel: np.ndarray, chw: tuple[int, ...]) -> np.ndarray:
    """The kernel of a Dense that follows Flatten of (H, W, C) maps, for tinynet's Flatten of (C, H, W)."""
    c, h, w = chw
    units = kernel.shape[1]
    return np.ascontiguousarray(
        np.asarray(kernel).reshape(h, w, c, units).transpose(2, 0, 1, 3).reshape(-1, units)
    )


def _activation(name: str | None) -> tuple[str | None, list[Any]]:
    """tinynet's activation argument and the layers to append for a Keras activation name."""
    if name in (None, "linear"):
        return None, []
    if name in SAME_ACTIVATIONS:
        return name, []
    if name == "leaky_relu":  # Keras' function has slope 0.2; tinynet's name "leaky_relu" is 0.01
        return None, [LeakyReLU(negative_slope=0.2)]
    raise ValueError(f"the Keras activation {name!r} has no tinynet counterpart")


def convert(keras_model: Any) -> tn.Sequential:
    """A tinynet Sequential with the architecture and weights of a built Keras Sequential."""
    shape = tuple(keras_model.input_shape[1:])
    image = len(shape) == 3
    if image:
        shape = (shape[2], shape[0], shape[1])  # (H, W, C) -> (C, H, W)
    model = tn.Sequential([tn.Input(shape=shape)])
    flattened_from: tuple[int, ...] | None = None
    new: Layer
    for layer in keras_model.layers:
        kind, config, weights = type(layer).__name__, layer.get_config(), layer.get_weights()
        if kind == "Dense":
            activation, extra = _activation(config.get("activation"))
            new = Dense(config["units"], activation=activation, use_bias=config["use_bias"])
            model.add(new)
            kernel = weights[0]
            if flattened_from is not None:
                kernel, flattened_from = dense_after_flatten(kernel, flattened_from), None
            new.set_weights([kernel, *weights[1:]])
            for e in extra:
                model.add(e)
        elif kind == "Conv2D":
            if tuple(config.get("dilation_rate", (1, 1))) != (1, 1) or config.get("groups", 1) != 1:
                raise ValueError(f"{layer.name}: dilated or grouped convolutions are not supported")
            if config.get("data_format", "channels_last") != "channels_last":
                raise ValueError(f"{layer.name}: only channels_last Keras models are supported")
            activation, extra = _activation(config.get("activation"))
            new = Conv2D(
                config["filters"],
                tuple(config["kernel_size"]),
                strides=tuple(config["strides"]),
                padding=config["padding"],
                activation=activation,
                use_bias=config["use_bias"],
            )
            model.add(new)
            new.set_weights([conv_kernel(weights[0]), *weights[1:]])
            for e in extra:
                model.add(e)
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            if config.get("padding", "valid") != "valid":
                raise ValueError(f"{layer.name}: only 'valid' pooling is supported")
            cls = MaxPool2D if kind == "MaxPooling2D" else AvgPool2D
            model.add(
                cls(tuple(config["pool_size"]), strides=tuple(config["strides"] or config["pool_size"]))
            )
        elif kind == "GlobalAveragePooling2D":
            model.add(GlobalAveragePooling2D())
        elif kind == "Flatten":
            if len(model.output_shape) == 3:
                flattened_from = tuple(model.output_shape)
            model.add(Flatten())
        elif kind == "Dropout":
            model.add(Dropout(config["rate"]))
        elif kind == "BatchNormalization":
            if not (config.get("center", True) and config.get("scale", True)):
                raise ValueError(f"{layer.name}: BatchNormalization without center or scale is not supported")
            new = BatchNormalization(momentum=config["momentum"], epsilon=config["epsilon"])
            model.add(new)
            new.set_weights(weights)  # gamma, beta, moving_mean, moving_variance: tinynet's order
        elif kind == "LayerNormalization":
            new = LayerNormalization(epsilon=config["epsilon"])
            model.add(new)
            new.set_weights(weights)
        elif kind == "Activation":
            activation, extra = _activation(config["activation"])
            for e in [Activation(activation)] if activation else extra:
                model.add(e)
        elif kind == "ReLU":
            model.add(ReLU())
        elif kind == "LeakyReLU":
            model.add(LeakyReLU(negative_slope=config["negative_slope"]))
        elif kind == "ELU":
            model.add(ELU(alpha=config.get("alpha", 1.0)))
        elif kind == "Softmax":
            model.add(Softmax())
        else:
            raise ValueError(f"the Keras layer {layer.name!r} ({kind}) has no tinynet counterpart here")
    return model


def check(keras_model: Any, model: tn.Sequential, seed: int = 0) -> float:
    """The largest difference between both models' predictions on random inputs (NCHW for tinynet)."""
    x = np.random.default_rng(seed).normal(size=(8, *keras_model.input_shape[1:])).astype(np.float32)
    expected = np.asarray(keras_model.predict(x, verbose=0))
    tiny_x = x.transpose(0, 3, 1, 2) if x.ndim == 4 else x
    return float(np.max(np.abs(model.predict(tiny_x) - expected)))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python examples/keras_to_tinynet.py MODEL.keras|MODEL.h5 OUT.npz", file=sys.stderr)
        return 2
    try:
        import keras  # type: ignore[import-not-found]  # optional: only this script needs it
    except ImportError:
        print(
            "this script needs Keras (pip install keras and a backend) to read the Keras file",
            file=sys.stderr,
        )
        return 1
    keras_model = keras.models.load_model(argv[0], compile=False)
    model = convert(keras_model)
    error = check(keras_model, model)
    if error > 1e-4:
        print(f"the converted model's predictions differ by up to {error:.3g}: not written", file=sys.stderr)
        return 1
    model.save(argv[1])
    print(f"wrote {argv[1]} (predictions agree within {error:.2g})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
