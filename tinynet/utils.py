"""Keras' utility functions under Keras' names: ``tn.utils.to_categorical``."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._config import get_default_dtype
from .datasets.preprocessing import one_hot

__all__ = ["to_categorical"]


def to_categorical(x: ArrayLike, num_classes: int | None = None) -> np.ndarray:
    r"""Encode integer class labels as one-hot vectors, as ``keras.utils.to_categorical``.

    .. math:: Y_{\dots k} = [\,x_{\dots} = k\,], \qquad k = 0, \dots, K - 1.

    Parameters
    ----------
    x : array-like of integers, any shape
        Class labels ``0 .. K-1`` (floats such as ``2.0`` are accepted).  A last axis
        of length 1, as in labels of shape (N, 1), is dropped first, as Keras does.
    num_classes : int, optional
        :math:`K`; by default ``max(x) + 1``.

    Returns
    -------
    ndarray of shape ``x.shape + (K,)``
        In tinynet's default dtype (float32 unless :func:`tinynet.set_default_dtype`
        says otherwise), the dtype a model trains in; Keras 3 returns float64 here.

    Raises
    ------
    ValueError
        If a label is negative, not an integer, or ``>= num_classes``.

    Examples
    --------
    >>> to_categorical([0, 2, 1]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    >>> to_categorical([[1], [0]], num_classes=3).shape
    (2, 3)
    """
    labels = np.asarray(x)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    encoded = one_hot(labels.reshape(-1), num_classes=num_classes, dtype=get_default_dtype())
    return encoded.reshape(*shape, encoded.shape[-1])
