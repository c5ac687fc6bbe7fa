"""The embedding layer: token ids to learned vectors."""

from __future__ import annotations

import numpy as np

from .. import initializers, ops, regularizers
from ..ops import embedding as embedding_ops
from ..regularizers import Regularizer
from .base import Layer, register_layer


@register_layer
class Embedding(Layer):
    r"""Turns integer token ids into dense vectors: :math:`Y_{n,t} = E_{k_{n,t}}`.

    The parameter ``embeddings`` :math:`E` has shape (input_dim, output_dim), one row per token, as
    in Keras (weights move between the two unchanged). Backward is a scatter-add,
    :math:`dE_v = \sum_{(n,t): k_{n,t} = v} G_{n,t}`: repeated tokens accumulate (derived in
    :mod:`tinynet.ops.embedding`). The ids take no gradient: ``backward`` returns ``None``.

    Shapes: ids (N, T) (or (N,)), output (N, T, output_dim) (or (N, output_dim)). The ids may be
    an integer array or a float array of whole numbers (a model converts its inputs to its float
    dtype); anything else, and ids outside [0, input_dim), is refused with an error naming the layer.

    Parameters
    ----------
    input_dim : int
        The vocabulary size :math:`V`: ids run from 0 to ``input_dim - 1``.
    output_dim : int
        The size :math:`D` of each vector.
    embeddings_initializer : str
        Keras' default ``"uniform"``, :math:`U(-0.05, 0.05)` (see :mod:`tinynet.initializers`).
    embeddings_regularizer : Regularizer, str or dict, optional
        A penalty on ``embeddings``.
    embeddings_constraint : None
        Keras' argument; constraints are not implemented, only ``None`` is accepted.
    mask_zero : bool
        Keras' argument; masks are not propagated in tinynet, only ``False`` is accepted (mask
        padding in the loss instead, with ``SparseCategoricalCrossentropy(ignore_class=...)``).
    input_shape : tuple, optional
        ``(T,)`` for the first layer of a Sequential (or use ``tn.Input(shape=(T,))``).
    name : str, optional
    trainable : bool
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: str = "uniform",
        embeddings_regularizer: Regularizer | str | dict | None = None,
        embeddings_constraint: None = None,
        mask_zero: bool = False,
        *,
        input_shape: tuple[int, ...] | None = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape, trainable=trainable)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Embedding {arg} must be a positive integer, got {value!r}")
        if embeddings_constraint is not None:
            raise ValueError("Embedding: embeddings_constraint is not implemented in tinynet; pass None")
        if mask_zero is not False:
            raise ValueError(
                "Embedding: mask_zero=True is not implemented in tinynet (layers do not pass masks); "
                "mask padded positions in the loss with SparseCategoricalCrossentropy(ignore_class=...)"
            )
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = embeddings_initializer
        initializers.get(embeddings_initializer)  # validate early
        self.embeddings_regularizer = self.add_regularizer("embeddings", embeddings_regularizer)

    def build(self, input_shape):
        super().build(input_shape)
        self.add_param("embeddings", self.embeddings_initializer, (self.input_dim, self.output_dim))

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape), self.output_dim)

    def token_ids(self, x: np.ndarray) -> np.ndarray:
        """``x`` as integer ids, refusing non-integers and ids outside [0, input_dim)."""
        x = np.asarray(x)
        if x.dtype.kind == "f":
            if not np.array_equal(x, np.floor(x)):  # NaN and inf fail too (NaN != NaN, inf - inf)
                raise ValueError(
                    f"{self._describe()}: token ids must be whole numbers, got non-integer values "
                    f"(input of shape {x.shape}); pass integer token ids"
                )
        elif x.dtype.kind not in "iu":
            raise ValueError(f"{self._describe()}: token ids must be integers, got dtype {x.dtype}")
        if x.size and (x.min() < 0 or x.max() >= self.input_dim):  # checked before any cast
            raise ValueError(
                f"{self._describe()}: token ids must be in [0, {self.input_dim - 1}] (input_dim="
                f"{self.input_dim}), got values from {int(x.min())} to {int(x.max())} "
                f"in an input of shape {x.shape}"
            )
        return x if x.dtype.kind in "iu" else x.astype(np.intp)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.ids = self.token_ids(x)
        y = self.output_array("y", (*self.ids.shape, self.output_dim), training)
        return ops.embedding_forward(self.ids, self.params["embeddings"], out=y)

    def backward(self, grad_output: np.ndarray) -> None:
        embedding_ops.embedding_backward(self.ids, grad_output, self.grads["embeddings"])
        return None

    def get_config(self) -> dict:
        config = {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": self.embeddings_initializer,
        }
        if self.embeddings_regularizer is not None:
            config["embeddings_regularizer"] = regularizers.serialize(self.embeddings_regularizer)
        return config
