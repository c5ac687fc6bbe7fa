r"""Post-training int8 weight quantization: smaller model files, weights dequantized at load.

Symmetric, per output channel.  For a kernel :math:`W` and its output-channel
axis (Dense's ``W`` (in, units): axis 1, one scale per unit; Conv2D's ``W``
(F, C, kh, kw): axis 0, one scale per filter), channel :math:`j` gets

.. math::
    s_j = \frac{\max_i |W_{ij}|}{127}, \qquad
    q_{ij} = \operatorname{round}(W_{ij} / s_j) \in \{-127, \dots, 127\}, \qquad
    \hat W_{ij} = q_{ij}\, s_j,

with :math:`q` stored as int8 and :math:`s` as float32 (a channel of zeros
gets :math:`s_j = 0` and :math:`q = 0`).  Rounding to the nearest integer makes
the error of each weight at most half a step, :math:`|W_{ij} - \hat W_{ij}| \le s_j/2`,
i.e. at most :math:`1/254` of the channel's largest weight.  Biases and
normalization parameters and state stay in floating point: they are few, and a
bias error shifts every output of its channel.

:func:`quantize` returns a copy of the model whose kernels already hold
:math:`\hat W` and which saves as int8 (``model.quantized`` is True): it
predicts exactly what the saved file will predict when loaded.

The file (format version 6, docs/file-format.md) packs the int8 kernels, their
scales and every other array into one byte buffer and is deflated, so that its
fixed part (zip and NPY headers, the manifest) stays small: about 25% of the
float32 file for the digits CNN and 29% for the 101-weight seed model
(``tests/deploy/test_quantization.py`` measures both; docs/deploying.md has the table).
"""

from __future__ import annotations

import io

import numpy as np

#: Registered layer class -> {parameter key: output-channel axis} of the kernels that are quantized.
QUANTIZED_PARAMS: dict[str, dict[str, int]] = {"Dense": {"W": 1}, "Conv2D": {"W": 0}}


def quantize_per_channel(W: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """``(q, s)``: int8 ``q`` of ``W``'s shape and float32 scales ``s`` of shape ``(W.shape[axis],)``.

    See the module docstring for the formulas; ``W`` must be finite.
    """
    W = np.asarray(W)
    if not np.isfinite(W).all():
        raise ValueError("cannot quantize weights that hold NaN or infinite values")
    moved = np.moveaxis(W, axis, 0).reshape(W.shape[axis], -1)
    largest = np.abs(moved).max(axis=1) if moved.shape[1] else np.zeros(W.shape[axis], W.dtype)
    scale = (largest.astype(np.float64) / 127.0).astype(np.float32)
    shape = [1] * W.ndim
    shape[axis] = -1
    divisor = np.where(scale > 0, scale, 1.0).astype(np.float64).reshape(shape)
    q = np.clip(np.rint(W.astype(np.float64) / divisor), -127, 127).astype(np.int8)
    return q, scale


def dequantize(q: np.ndarray, scale: np.ndarray, axis: int, dtype) -> np.ndarray:
    """:math:`\\hat W = q\\, s` along ``axis``, in ``dtype`` (one rounding: int8 values are exact)."""
    shape = [1] * q.ndim
    shape[axis] = -1
    return q.astype(dtype) * scale.astype(dtype).reshape(shape)


def quantize(model, *, include_compile: bool = False):
    """A copy of ``model`` with int8-quantized kernels, saved as int8 with per-channel scales.

    Parameters
    ----------
    model : Sequential or Model
        A built model.  The kernels of its Dense and Conv2D layers are quantized
        (:data:`QUANTIZED_PARAMS`); everything else keeps its values.
    include_compile : bool
        Keep the compile settings and optimizer state (False by default: a
        quantized model is for deployment, and the optimizer's float32 moments
        would be most of the file).

    Returns
    -------
    Sequential or Model
        A new model of the same class: its kernels hold the dequantized weights :math:`q s` (so
        ``predict`` shows the quantized accuracy), ``quantized`` is True, and
        saving it stores int8 kernels in a packed file (format version 6).
        ``model`` is unchanged.

    Raises
    ------
    ValueError
        When the model has no Dense or Conv2D layer (nothing to quantize), or
        cannot be saved (see :func:`tinynet.save_model`).
    """
    from .models import Model
    from .serialization import load_model
    from .serialization._archive import save_archive
    from .serialization._model import model_manifest, registered_name

    if not isinstance(model, Model):
        raise TypeError(
            f"quantize expects a tinynet model (tn.Sequential or tn.Model), got {type(model).__name__}"
        )
    layers = model.layers
    if not any(registered_name(layer) in QUANTIZED_PARAMS for layer in layers):
        raise ValueError("the model has no Dense or Conv2D layer: there are no kernels to quantize")
    manifest, arrays = model_manifest(
        model, include_compile=include_compile, quantize=True, card=getattr(model, "card", None)
    )
    buffer = io.BytesIO()
    save_archive(buffer, manifest, arrays)
    buffer.seek(0)
    return load_model(buffer, compile=include_compile)
