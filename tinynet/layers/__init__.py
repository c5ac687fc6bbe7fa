"""Layers: each a forward pass and a hand-derived backward pass (see :mod:`tinynet.layers.base`)."""

from .activations import (
    ACTIVATIONS,
    ELU,
    GELU,
    Activation,
    ActivationLayer,
    LeakyReLU,
    Linear,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    get_activation,
)
from .base import LAYER_REGISTRY, Layer, register_layer
from .core import Dropout, Flatten
from .dense import Dense

__all__ = [
    "ACTIVATIONS",
    "ELU",
    "GELU",
    "LAYER_REGISTRY",
    "Activation",
    "ActivationLayer",
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "LeakyReLU",
    "Linear",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "get_activation",
    "register_layer",
]
