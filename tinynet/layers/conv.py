r"""The 2-D convolution layer, computed as im2col plus one matrix product.

Images are stored NCHW: (batch, channels, height, width).  The helpers at the
end of the module (argument parsing, output sizes, padding, window views) are
shared with :mod:`tinynet.layers.pooling`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import initializers, regularizers
from ..regularizers import Regularizer
from .activations import ActivatedLayer, ActivationLayer, get_activation
from .base import Layer, register_layer, remember

PaddingSpec = str | int


@register_layer
class Conv2D(ActivatedLayer):
    r"""2-D convolution (cross-correlation, as in every deep learning library).

    Forward.  Let :math:`\tilde X` be the input zero-padded by
    :math:`(t, \cdot, l, \cdot)` rows/columns at the top, bottom, left and right,
    :math:`s_h, s_w` the strides and :math:`k_h, k_w` the kernel size.  For sample
    :math:`n`, filter :math:`f` and output pixel :math:`(p, q)`:

    .. math::
        Z_{nfpq} = b_f + \sum_{c=0}^{C-1} \sum_{i=0}^{k_h-1} \sum_{j=0}^{k_w-1}
                   W_{fcij}\, \tilde X_{n,c,\,p s_h + i,\,q s_w + j},
        \qquad Y = f(Z).

    im2col.  Gather every receptive field into the columns of one matrix,

    .. math::
        X_{\mathrm{col}}[(c, i, j),\ (n, p, q)] = \tilde X_{n,c,\,p s_h + i,\,q s_w + j},

    with rows ordered like the flattened kernel
    :math:`W_{\mathrm{mat}} = W.\mathrm{reshape}(F, C k_h k_w)`.  The triple sum is
    then one matrix product over the whole batch, computed with a row per
    output pixel,

    .. math:: Z_{\mathrm{mat}} = X_{\mathrm{col}}^\top W_{\mathrm{mat}}^\top + \mathbf 1 b^\top,
        \qquad Z_{\mathrm{mat}}[(n, p, q), f] = Z_{nfpq}.

    Memory layout.  :math:`Z_{\mathrm{mat}}` (N*OH*OW, F) *is* the output stored
    channels-last, (N, OH, OW, F); the layer returns the NCHW view
    ``z.transpose(0, 3, 1, 2)`` of it instead of copying it into NCHW order.
    The activation and pooling layers that follow keep that layout (see
    :func:`tinynet.layers.base.memory_order`), so their element-wise loops run
    over contiguous channels, and the gradient arrives channels-last for the
    backward pass below.  Indexing is NCHW throughout; only the strides differ.

    Backward.  With :math:`G = \partial L/\partial Z` (after the activation's own
    backward) laid out the same way, :math:`G_{\mathrm{mat}}[(n,p,q), f] = G_{nfpq}`,
    the layer is a :class:`~tinynet.layers.Dense` with inputs
    :math:`X_{\mathrm{col}}^\top`, so the same three lines of calculus apply:

    .. math::
        \frac{\partial L}{\partial W_{fcij}} = \sum_{n,p,q} G_{nfpq}\,
            \tilde X_{n,c,\,p s_h+i,\,q s_w+j}
            \;\Rightarrow\; dW_{\mathrm{mat}} = G_{\mathrm{mat}}^\top X_{\mathrm{col}}^\top,
        \qquad
        \frac{\partial L}{\partial b_f} = \sum_{n,p,q} G_{nfpq}
            \;\Rightarrow\; db = G_{\mathrm{mat}}^\top \mathbf 1,

    .. math::
        dX_{\mathrm{col}} = W_{\mathrm{mat}}^\top G_{\mathrm{mat}}^\top, \qquad
        \frac{\partial L}{\partial \tilde X_{nchw}} =
            \sum_{\substack{i,j,p,q:\\ p s_h + i = h,\ q s_w + j = w}}
            dX_{\mathrm{col}}[(c,i,j),(n,p,q)].

    The last sum (col2im) is the adjoint of the gather: every pixel receives
    the gradient of each column it was copied into.  For a fixed kernel offset
    :math:`(i, j)` the pixels :math:`(p s_h + i, q s_w + j)` are distinct, so
    col2im is :math:`k_h k_w` vectorised additions of strided slices; finally
    :math:`\partial L/\partial X` is :math:`\partial L/\partial \tilde X` without
    the padding.

    Shapes: ``x`` (N, C, H, W); ``W`` (F, C, kh, kw); ``b`` (F,); ``z``, ``y``
    (N, F, OH, OW), stored as (N, OH, OW, F); ``x_col`` and ``dx_col``
    (C*kh*kw, N*OH*OW); ``G_mat`` (N*OH*OW, F).  Cache: ``x_col`` (the only use
    of the input in backward), the input's shape, and the activation's own cache.

    Output size per axis, for input size :math:`n`, kernel :math:`k`, stride :math:`s`:
    ``"valid"``: :math:`\lfloor (n - k)/s \rfloor + 1` (needs :math:`n \ge k`);
    ``"same"``: :math:`\lceil n/s \rceil` with total padding
    :math:`\max((\lceil n/s \rceil - 1)s + k - n, 0)`, the odd extra row/column
    at the bottom/right (as TensorFlow); an int :math:`p`: :math:`p` zeros on
    each side, :math:`\lfloor (n + 2p - k)/s \rfloor + 1`.

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
        self._geometries: dict[tuple, tuple] = {}  # batch shape -> its _geometry (checked once)

    def _reset_work(self) -> None:
        super()._reset_work()
        self._step_arrays: dict[tuple, tuple] = {}  # batch shape -> _arrays_for's views (training)
        # the last training input and everything its step uses (the padding buffer's interior,
        # _arrays_for's views, the backward's shapes), then the last G_Z and its companions: in a
        # model both are the same work arrays every step, so each step looks them up once
        self._forward_for: tuple = (None,)
        self._grad_for: tuple = (None,)

    # ------------------------------------------------------------------ shapes
    def default_name(self) -> str:
        return "conv2d"  # as Keras; the generic rule would give "conv2_d"

    def _describe(self) -> str:
        return f"Conv2D {self.name!r}" if self.name else "Conv2D"

    def _geometry(self, input_shape: tuple[int, ...]) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """((OH, top, bottom), (OW, left, right)) for one sample of shape (C, H, W)."""
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
        if training and self._forward_for[0] is x:  # the same work array as last step
            _, interior, arrays, self._cache_shapes = self._forward_for
            if interior is not None:
                np.copyto(interior, x)  # pad_input's copy, into the remembered view
        else:
            geometry = self._geometries.get(x.shape)
            if geometry is None:  # a new batch shape: check it, then remember its geometry
                _check_batch(x, self.params["W"].shape[1], self._describe())
                geometry = remember(self._geometries, x.shape, self._geometry(x.shape[1:]))
            (oh, top, bottom), (ow, left, right) = geometry
            x_pad = pad_input(self, x, top, bottom, left, right, training)
            arrays = self._step_arrays.get(x.shape) if training else None
            if arrays is None or arrays[0] is not x_pad:
                arrays = self._arrays_for(x.shape, x_pad, oh, ow, training)
                if training and x_pad is not x:  # our own padding buffer: the same views every step
                    remember(self._step_arrays, x.shape, arrays)
            self._cache_shapes = (x.shape, x_pad.shape, (top, left), (oh, ow))
            if training:
                h, w = x.shape[2:]
                interior = None if x_pad is x else x_pad[:, :, top : top + h, left : left + w]
                self._forward_for = (x, interior, arrays, self._cache_shapes)
        _, windows, x_col, self.x_col, z_mat, z_rows, z = arrays
        np.copyto(x_col, windows)  # the single im2col copy

        # Z_mat = X_col^T W_mat^T (+ b): one GEMM for the whole batch, channels-last (N, OH, OW, F)
        np.matmul(self.x_col.T, self.params["W"].reshape(self.filters, -1).T, out=z_rows)
        if self.use_bias:
            z_mat += self.params["b"]
        return self.activate(z, training)

    def _arrays_for(
        self, x_shape: tuple[int, ...], x_pad: np.ndarray, oh: int, ow: int, training: bool
    ) -> tuple:
        """The arrays one forward pass works on, as views (remembered per batch shape in training).

        ``(x_pad, windows, x_col, X_col, z_mat, Z_rows, z)``: the (C, kh, kw, N, OH, OW)
        view of every receptive field of ``x_pad``, in X_col's order (no copy yet);
        the im2col work array in that shape and as the (C kh kw, N OH OW) matrix
        :math:`X_{col}`; the channels-last output (N, OH, OW, F), the same as
        (N OH OW, F) rows for the GEMM, and its NCHW view ``z`` (no copy, see
        "Memory layout").
        """
        n, c = x_shape[:2]
        (kh, kw), (sh, sw), F = self.kernel_size, self.strides, self.filters
        windows = sliding_window_view(x_pad, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
        windows = windows.transpose(1, 4, 5, 0, 2, 3)
        x_col = flat_work(self, "x_col", (c, kh, kw, n, oh, ow), training, x_pad.dtype)
        z_mat = self.output_array("z", (n, oh, ow, F), training, x_pad.dtype)
        X_col = x_col.reshape(c * kh * kw, n * oh * ow)
        return x_pad, windows, x_col, X_col, z_mat, z_mat.reshape(-1, F), z_mat.transpose(0, 3, 1, 2)

    def backward_preactivation(self, grad_z: np.ndarray) -> np.ndarray | None:
        """Backward pass from :math:`G = \\partial L/\\partial Z`, skipping the activation.

        The model calls this directly when the activation is fused into the loss.
        """
        x_shape, pad_shape, (top, left), (oh, ow) = self._cache_shapes
        F = self.filters
        # (N, OH, OW, F): a view when grad_z is channels-last, one copy when it is laid out otherwise
        # (into a work array, the same while grad_z is the same work array: then only the copy repeats)
        if self._grad_for[0] is grad_z and self._grad_for[1] is self._cache_shapes:
            _, _, G_src, G_copy, G, ones = self._grad_for
        else:
            G_src = grad_z.transpose(0, 2, 3, 1)
            G_copy = self.c_order_buffer("G", G_src)
            G = (G_src if G_copy is None else G_copy).reshape(-1, F)
            ones = self._ones(len(G), G.dtype) if self.use_bias else None
            self._grad_for = (grad_z, self._cache_shapes, G_src, G_copy, G, ones)
        if G_copy is not None:
            np.copyto(G_copy, G_src)

        # grads["W"] is contiguous (own array or a slice of the model's flat buffer): reshape is a view
        np.matmul(G.T, self.x_col.T, out=self.grads["W"].reshape(F, -1))  # dW = G_mat^T X_col^T
        if ones is not None:
            np.matmul(ones, G, out=self.grads["b"])  # db = G_mat^T 1

        if not self.need_input_grad:  # first layer of a model in training: skip dX_col and col2im
            return None
        n, c, h, w = x_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        dx_col = self.buffer("dx_col_flat", (self.x_col.size,), grad_z.dtype).reshape(self.x_col.shape)
        np.matmul(self.params["W"].reshape(F, -1).T, G.T, out=dx_col)  # dX_col = W_mat^T G_mat^T

        # col2im: for each kernel offset (i, j), add its columns back onto the pixels they came from
        dx_col = dx_col.reshape(c, kh, kw, n, oh, ow)
        dx_pad = self.buffer("dx_pad", pad_shape, grad_z.dtype)
        dx_pad.fill(0)
        for i in range(kh):
            rows = slice(i, i + sh * (oh - 1) + 1, sh)  # p s_h + i for p = 0..OH-1
            for j in range(kw):
                cols = slice(j, j + sw * (ow - 1) + 1, sw)
                dx_pad[:, :, rows, cols] += dx_col[:, i, j].transpose(1, 0, 2, 3)
        return dx_pad[:, :, top : top + h, left : left + w]

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
    """Output size and (before, after) padding of one spatial axis; see :class:`Conv2D`."""
    if padding == "same":
        out = math.ceil(size / s)
        total = max((out - 1) * s + k - size, 0)
        return out, total // 2, total - total // 2  # the odd row/column goes after (TensorFlow)
    p = 0 if padding == "valid" else int(padding)
    if size + 2 * p < k:
        raise ValueError(
            f"{layer}: input {what} {size} (samples of shape {sample_shape}) is smaller than the "
            f"kernel {what} {k} with padding {padding!r}; use padding='same' or a smaller kernel"
        )
    return (size + 2 * p - k) // s + 1, p, p


def _check_batch(x: np.ndarray, channels: int, layer: str) -> None:
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(
            f"{layer} expects a batch of shape (batch, {channels}, height, width) but received {x.shape}"
        )


def flat_work(layer: Layer, key: str, shape: tuple[int, ...], training: bool, dtype) -> np.ndarray:
    """A work array of ``shape`` cut from a flat reusable buffer when training, fresh otherwise.

    ``x_col`` and friends have the batch on an inner axis, so :meth:`Layer.buffer`'s
    "first rows" reuse would not apply; a 1-D buffer's prefix does (the last,
    smaller batch of an epoch allocates nothing).
    """
    size = math.prod(shape)
    if not training:
        return np.empty(shape, dtype=dtype)
    return layer.buffer(key + "_flat", (size,), dtype).reshape(shape)


def pad_input(
    layer: Layer, x: np.ndarray, top: int, bottom: int, left: int, right: int, training: bool
) -> np.ndarray:
    """``x`` with zero rows/columns around the two spatial axes (``x`` itself when there are none)."""
    if top == bottom == left == right == 0:
        return x
    n, c, h, w = x.shape
    shape = (n, c, top + h + bottom, left + w + right)
    if not training:
        x_pad = np.zeros(shape, dtype=x.dtype)
    else:
        # a reused buffer, zeroed when allocated: the border stays zero, the interior is overwritten below
        x_pad = layer.zeroed_buffer("x_pad", shape, x.dtype)
    x_pad[:, :, top : top + h, left : left + w] = x
    return x_pad
