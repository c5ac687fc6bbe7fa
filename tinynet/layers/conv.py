r"""The 2-D convolution layer, computed as im2col plus one matrix product.

Images are stored NCHW: (batch, channels, height, width).  The helpers at the
end of the module (argument parsing, output sizes, padding, window views) are
shared with :mod:`tinynet.layers.pooling`.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .. import initializers, ops, regularizers
from ..regularizers import Regularizer
from .activations import ActivatedLayer, ActivationLayer, get_activation
from .base import register_layer

PaddingSpec = str | int


@register_layer
class Conv2D(ActivatedLayer):
    r"""2-D convolution (cross-correlation, as in every deep learning library).

    .. math::
        Z_{nfpq} = b_f + \sum_{c,i,j} W_{fcij}\, \tilde X_{n,c,\,p s_h + i,\,q s_w + j},
        \qquad Y = f(Z),

    computed as im2col plus one matrix product; the derivation of both passes
    is in :mod:`tinynet.ops.conv` (:func:`~tinynet.ops.im2col`,
    :func:`~tinynet.ops.conv2d_forward`, :func:`~tinynet.ops.conv2d_backward`,
    :func:`~tinynet.ops.col2im`), with the output sizes of each ``padding``.

    Memory layout.  The GEMM's result (N*OH*OW, F) *is* the output stored
    channels-last, (N, OH, OW, F); the layer returns its NCHW view
    ``z.transpose(0, 3, 1, 2)`` instead of copying it into NCHW order.  The
    activation and pooling layers that follow keep that layout (see
    :func:`tinynet.layers.base.memory_order`), so their element-wise loops run
    over contiguous channels, and the gradient arrives channels-last for the
    backward pass.  Indexing is NCHW throughout; only the strides differ.

    Shapes: ``x`` (N, C, H, W); ``W`` (F, C, kh, kw); ``b`` (F,); ``z``, ``y``
    (N, F, OH, OW), stored as (N, OH, OW, F).  Cache: ``x_col`` (C*kh*kw,
    N*OH*OW), the only use of the input in backward, and the padding.

    Parameters
    ----------
    filters : int
        Number of output channels :math:`F`.
    kernel_size : int or (int, int)
        :math:`(k_h, k_w)`.
    strides : int or (int, int)
        :math:`(s_h, s_w)`.
    padding : {"valid", "same"} or int
        See above.
    activation : str, optional
        Name of an activation applied to :math:`Z`.
    use_bias : bool
        Whether to add ``b``.
    input_shape : tuple, optional
        (C, H, W) of one sample, for the first layer of a model.
    kernel_initializer : str
        Name from :mod:`tinynet.initializers` (fan-in :math:`C k_h k_w`, fan-out
        :math:`F k_h k_w`); ``b`` starts at 0.  The default, ``"glorot_uniform"``,
        is Keras' (PyTorch's default is close to ``"he_uniform"`` scaled by
        :math:`1/\sqrt{6}`; see the docs' table of defaults).
    kernel_regularizer : Regularizer, str or dict, optional
        A penalty on ``W`` (see :mod:`tinynet.regularizers`); the model adds it
        to the loss and its gradient to ``grads["W"]``.
    name : str, optional
        Layer name.
    trainable : bool
        ``False`` freezes ``W`` and ``b`` (see :attr:`Layer.trainable`).
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, int],
        strides: int | tuple[int, int] = 1,
        padding: PaddingSpec = "valid",
        activation: str | None = None,
        use_bias: bool = True,
        input_shape: tuple[int, ...] | None = None,
        kernel_initializer: str = "glorot_uniform",
        name: str | None = None,
        kernel_regularizer: Regularizer | str | dict | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape, trainable=trainable)
        if isinstance(filters, bool) or int(filters) != filters or int(filters) <= 0:
            raise ValueError(f"Conv2D needs a positive integer number of filters, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2D")
        self.strides = pair(strides, "strides", "Conv2D")
        self.padding = check_padding(padding, "Conv2D")
        self.activation: ActivationLayer | None = get_activation(activation)
        if self.activation is not None and self.activation.activation_name == "linear":
            self.activation = None
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        initializers.get(kernel_initializer)  # fail at construction, not at build
        self.kernel_regularizer = self.add_regularizer("W", kernel_regularizer)

    # ------------------------------------------------------------------ shapes
    def default_name(self) -> str:
        return "conv2d"  # as Keras; the generic rule would give "conv2_d"

    def _geometry(self, input_shape: tuple[int, ...]) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """((OH, top, bottom), (OW, left, right)) for one sample of shape (C, H, W)."""
        geometry = _geometry(tuple(input_shape), self.kernel_size, self.strides, self.padding)
        if geometry is not None:
            return geometry
        if len(input_shape) != 3:
            raise ValueError(
                f"{self._describe()} expects images of shape (batch, channels, height, width), i.e. samples "
                f"of 3 axes, but got samples of shape {tuple(input_shape)}; reshape the data to NCHW"
            )
        return tuple(
            conv_axis(n, k, s, self.padding, what, self._describe(), tuple(input_shape))
            for n, k, s, what in zip(
                input_shape[1:], self.kernel_size, self.strides, ("height", "width"), strict=True
            )
        )

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        (oh, _, _), (ow, _, _) = self._geometry(tuple(input_shape))
        return (self.filters, oh, ow)

    def build(self, input_shape: tuple[int, ...]) -> None:
        super().build(input_shape)
        c = self.input_shape[0]
        kh, kw = self.kernel_size
        self.add_param("W", self.kernel_initializer, (self.filters, c, kh, kw))
        if self.use_bias:
            self.add_param("b", "zeros", (self.filters,))

    # ------------------------------------------------------------------ passes
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        (oh, top, bottom), (ow, left, right) = self._batch_geometry(x)
        n, c, h, w = x.shape
        pad_shape = (n, c, top + h + bottom, left + w + right)
        self._padding = (x.shape, pad_shape, top, left)
        x_pad = self.zeroed_buffer("x_pad", pad_shape) if training else None
        x_pad = ops.pad_images(x, top, bottom, left, right, out=x_pad)
        windows = self.workspace.derived("windows", x_pad, lambda: self._receptive_fields(x_pad))
        x_col = self.output_array("x_col", (windows.size,), training)
        self.x_col = ops.im2col(x_pad, self.kernel_size, self.strides, out=x_col, windows=windows)
        z_mem = self.output_array("z", (n, oh, ow, self.filters), training)  # channels-last (Memory layout)
        z = ops.conv2d_forward(self.x_col, self.params["W"], self.params.get("b"), out=z_mem)
        # one NCHW view of the work array for all steps: the next layer then sees the same input
        # array every step and keeps what it derives from it (a pooling layer's window views)
        z = self.workspace.derived("z", z_mem, lambda: z)
        return self.activate(z, training)

    def _receptive_fields(self, x_pad: np.ndarray) -> np.ndarray:
        return ops.receptive_fields(x_pad, self.kernel_size, self.strides)

    def backward_preactivation(self, grad_z: np.ndarray) -> np.ndarray | None:
        """Backward pass from :math:`G_Z = \\partial L/\\partial Z`, skipping the activation."""
        G = grad_z.transpose(0, 2, 3, 1)  # (N, OH, OW, F): a view when grad_z is channels-last
        if not G.flags.c_contiguous:
            G = _copy(G, self.buffer("G", G.shape, G.dtype))
        G = G.reshape(-1, self.filters)
        ops.conv2d_backward(self.x_col, G, self.grads["W"], self.grads.get("b"))
        if not self.need_input_grad:  # the first layer of a model in training: skip dX_col and col2im
            return None
        (_, _, h, w), pad_shape, top, left = self._padding
        dx_col, dx_pad = (
            self.buffer("dx_col", self.x_col.shape, G.dtype),
            self.buffer("dx_pad", pad_shape, G.dtype),
        )
        dx_pad = ops.col2im(G, self.params["W"], pad_shape, self.strides, out=dx_pad, dx_col=dx_col)
        return dx_pad[:, :, top : top + h, left : left + w]

    def _batch_geometry(self, x: np.ndarray) -> tuple:
        """:meth:`_geometry` of a batch, after checking it is (N, C, H, W) with this layer's C."""
        channels = self.params["W"].shape[1]
        if x.ndim != 4 or x.shape[1] != channels:
            raise ValueError(
                f"{self._describe()} expects a batch of shape (batch, {channels}, height, width) but received {x.shape}"
            )
        return self._geometry(x.shape[1:])

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "activation": None if self.activation is None else self.activation.activation_name,
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
        }
        if self.kernel_regularizer is not None:  # as {"class_name", "config"}, like Dense
            config["kernel_regularizer"] = regularizers.serialize(self.kernel_regularizer)
        return config


# ---------------------------------------------------------------------- helpers
def pair(value: int | tuple[int, int] | list[int], what: str, layer: str) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(2, 3)`` stays; anything else but positive ints raises ``ValueError``."""
    values = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != 2 or any(
        isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in values
    ):
        raise ValueError(f"{layer} {what} must be a positive int or a pair of positive ints, got {value!r}")
    return int(values[0]), int(values[1])


def check_padding(padding: PaddingSpec, layer: str) -> PaddingSpec:
    """Validate ``"valid"``, ``"same"`` or a non-negative int."""
    if isinstance(padding, str) and padding.lower() in ("valid", "same"):
        return padding.lower()
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool) and padding >= 0:
        return int(padding)
    raise ValueError(f"{layer} padding must be 'valid', 'same' or a non-negative int, got {padding!r}")


def conv_axis(
    size: int, k: int, s: int, padding: PaddingSpec, what: str, layer: str, sample_shape: tuple
) -> tuple[int, int, int]:
    """Output size and (before, after) padding of one spatial axis (:func:`tinynet.ops.conv_output_size`)."""
    result = ops.conv_output_size(size, k, s, padding)
    if result is None:
        raise ValueError(
            f"{layer}: input {what} {size} (samples of shape {sample_shape}) is smaller than the "
            f"kernel {what} {k} with padding {padding!r}; use padding='same' or a smaller kernel"
        )
    return result


@functools.lru_cache(maxsize=256)
def _geometry(sample_shape, kernel_size, strides, padding) -> tuple | None:
    """((OH, top, bottom), (OW, left, right)) for samples (C, H, W), or None when they do not fit."""
    if len(sample_shape) != 3:
        return None
    axes = [
        ops.conv_output_size(n, k, s, padding)
        for n, k, s in zip(sample_shape[1:], kernel_size, strides, strict=True)
    ]
    return None if None in axes else tuple(axes)


def _copy(source: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.copyto(out, source)
    return out
