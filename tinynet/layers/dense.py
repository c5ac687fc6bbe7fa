"""The fully connected layer."""

from __future__ import annotations

import numpy as np

from .. import initializers, regularizers
from ..regularizers import Regularizer
from .activations import ActivatedLayer, ActivationLayer, get_activation
from .base import register_layer


@register_layer
class Dense(ActivatedLayer):
    r"""Fully connected layer: an affine map followed by an optional activation.

    Forward, for a batch :math:`X` of :math:`N` rows:

    .. math:: Z = X W + \mathbf{1} b^\top, \qquad Y = f(Z).

    Backward.  With :math:`G = \partial L/\partial Y`, the activation gives
    :math:`G_Z = \partial L/\partial Z = G \odot f'(Z)` (or its own Jacobian
    product for softmax).  Since :math:`Z_{nj} = \sum_i X_{ni} W_{ij} + b_j`,

    .. math::
        \frac{\partial L}{\partial W_{ij}} = \sum_n X_{ni}\, (G_Z)_{nj}
            \;\Rightarrow\; dW = X^\top G_Z, \qquad
        \frac{\partial L}{\partial b_j} = \sum_n (G_Z)_{nj}
            \;\Rightarrow\; db = \mathbf{1}^\top G_Z, \qquad
        \frac{\partial L}{\partial X_{ni}} = \sum_j (G_Z)_{nj} W_{ij}
            \;\Rightarrow\; dX = G_Z W^\top.

    Shapes: ``x`` (N, in_features) (more leading axes are allowed and act as
    batch axes), ``W`` (in_features, units), ``b`` (units,), ``z`` and ``y``
    (N, units); cache: ``x`` and the activation's own cache.

    Parameters
    ----------
    units : int
        Number of outputs.
    activation : str, optional
        Name of an activation (see :mod:`tinynet.layers.activations`).
    input_dim : int, optional
        Number of input features, for the first layer (Keras' spelling).
    use_bias : bool
        Whether to add ``b``.
    kernel_initializer, bias_initializer : str
        Names from :mod:`tinynet.initializers`.
    kernel_regularizer : Regularizer, str or dict, optional
        A penalty on ``W``, e.g. ``tn.regularizers.l2(1e-4)``: the model adds
        :math:`R(W)` to the loss and :math:`\partial R/\partial W` to ``grads["W"]``
        (see :mod:`tinynet.regularizers`).
    input_shape : tuple, optional
        Alternative to ``input_dim``.
    name : str, optional
        Layer name.
    trainable : bool
        ``False`` freezes ``W`` and ``b`` (see :attr:`Layer.trainable`).
    """

    def __init__(
        self,
        units: int,
        activation: str | None = None,
        input_dim: int | None = None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        kernel_regularizer: Regularizer | str | dict | None = None,
        *,
        input_shape: tuple[int, ...] | None = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        if input_shape is None and input_dim is not None:
            input_shape = (int(input_dim),)
        super().__init__(name=name, input_shape=input_shape, trainable=trainable)
        if int(units) <= 0:
            raise ValueError(f"Dense needs a positive number of units, got {units!r}")
        self.units = int(units)
        self.activation: ActivationLayer | None = get_activation(activation)
        if self.activation is not None and self.activation.activation_name == "linear":
            self.activation = None
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        initializers.get(kernel_initializer), initializers.get(bias_initializer)  # validate early
        self.kernel_regularizer = self.add_regularizer("W", kernel_regularizer)

    def build(self, input_shape):
        super().build(input_shape)
        fan_in = self.input_shape[-1]
        self.add_param("W", self.kernel_initializer, (fan_in, self.units))
        if self.use_bias:
            self.add_param("b", self.bias_initializer, (self.units,))

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self.units)

    def _reset_work(self) -> None:
        super()._reset_work()
        # the last training input and its z buffer, then the last G_Z and its ones vector and dX
        # buffer: in a model both are the same work arrays every step, so their companions are
        # looked up once ("Work done once" in tinynet.layers.base)
        self._z_for: tuple = (None, None)
        self._grad_for: tuple = (None, None, None)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.x = x
        if training and self._z_for[0] is x:
            z = self._z_for[1]
        else:
            z = self.output_array("z", (*x.shape[:-1], self.units), training)
            if training:
                self._z_for = (x, z)
        np.matmul(x, self.params["W"], out=z)
        if self.use_bias:
            z += self.params["b"]
        return self.activate(z, training)

    def backward_preactivation(self, grad_z: np.ndarray) -> np.ndarray | None:
        """Backward pass from :math:`G_Z = \\partial L/\\partial Z`, skipping the activation.

        The model calls this directly when the activation is fused into the loss.
        """
        x2, g2 = self.x, grad_z
        if x2.ndim > 2:  # extra leading axes act as batch axes: fold them into the rows
            x2, g2 = x2.reshape(-1, x2.shape[-1]), g2.reshape(-1, self.units)
        if self._grad_for[0] is not grad_z:
            ones = self._ones(len(g2), g2.dtype) if self.use_bias else None
            self._grad_for = (grad_z, ones, self.buffer("dx", self.x.shape, grad_z.dtype))
        _, ones, grad_input = self._grad_for
        np.matmul(x2.T, g2, out=self.grads["W"])
        if ones is not None:
            # db = 1^T G_Z, as written above: one matrix-vector product, several times
            # faster than g2.sum(axis=0) (a strided reduction over the rows)
            np.matmul(ones, g2, out=self.grads["b"])
        if not self.need_input_grad:  # first layer of a model in training: dX is never used
            return None
        np.matmul(grad_z, self.params["W"].T, out=grad_input)
        return grad_input

    def get_config(self) -> dict:
        config = {
            **super().get_config(),
            "units": self.units,
            "activation": None if self.activation is None else self.activation.activation_name,
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
        }
        if self.kernel_regularizer is not None:  # as {"class_name", "config"}: JSON-able, loaded by lookup
            config["kernel_regularizer"] = regularizers.serialize(self.kernel_regularizer)
        return config
