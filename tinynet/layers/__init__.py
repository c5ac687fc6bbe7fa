"""Layers: each a forward pass and a hand-derived backward pass (see :mod:`tinynet.layers.base`)."""

from .activations import (
    ACTIVATIONS,
    ELU,
    GELU,
    ActivatedLayer,
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
from .attention import MultiHeadAttention, PositionalEmbedding, SinePositionEncoding
from .base import LAYER_REGISTRY, Input, Layer, memory_order, register_layer
from .conv import Conv2D
from .core import Dropout, Flatten
from .dense import Dense
from .embedding import Embedding
from .merge import Add, Concatenate, Multiply
from .normalization import BatchNormalization, LayerNormalization
from .pooling import AvgPool2D, GlobalAveragePooling2D, MaxPool2D
from .recurrent import GRU, LSTM, Recurrent, SimpleRNN
from .reshape import Reshape

__all__ = [
    "ACTIVATIONS",
    "ELU",
    "GELU",
    "GRU",
    "LAYER_REGISTRY",
    "LSTM",
    "ActivatedLayer",
    "Activation",
    "ActivationLayer",
    "Add",
    "AvgPool2D",
    "BatchNormalization",
    "Concatenate",
    "Conv2D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GlobalAveragePooling2D",
    "Input",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "Linear",
    "MaxPool2D",
    "MultiHeadAttention",
    "Multiply",
    "PositionalEmbedding",
    "ReLU",
    "Recurrent",
    "Reshape",
    "Sigmoid",
    "SimpleRNN",
    "SinePositionEncoding",
    "Softmax",
    "Softplus",
    "Tanh",
    "get_activation",
    "memory_order",
    "register_layer",
]
