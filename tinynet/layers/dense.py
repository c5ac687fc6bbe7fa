"""The fully connected layer."""

from __future__ import annotations

import numpy as np

from .. import initializers, ops, regularizers
from ..regularizers import Regularizer
from .activations import ActivatedLayer, ActivationLayer, get_activation
from .base import register_layer


@register_layer
class Dense(ActivatedLayer):
    r"""Fully connected layer: an affine map followed by an optional activation.

    .. math:: Z = X W + \mathbf{1} b^\top, \qquad Y = f(Z);

    backward, with :math:`G = \partial L/\partial Y`, from :math:`G_Z = \partial L/\partial Z`
    (the activation's :math:`G \odot f'(Z)`, or its own Jacobian product for softmax):
    :math:`dW = X^\top G_Z`, :math:`db = \mathbf{1}^\top G_Z`, :math:`dX = G_Z W^\top`
    (derived in :func:`tinynet.ops.dense_backward` and :func:`tinynet.ops.dense_input_grad`).

    Shapes: ``x`` (N, in_features) (more leading axes are allowed and act as
    batch axes), ``W`` (in_features, units), ``b`` (units,), ``z`` and ``y``
    (N, units); cache: ``x`` and the activation's own cache.

    Parameters
    ----------
    units : int
        Number of outputs.
    activation : str, optional
        Name of an activation (see :mod:`tinynet.layers.activations`).
    use_bias : bool
        Whether to add ``b``.
    kernel_initializer, bias_initializer : str
        Names from :mod:`tinynet.initializers`.
    kernel_regularizer : Regularizer, str or dict, optional
        A penalty on ``W``, e.g. ``tn.regularizers.l2(1e-4)``: the model adds
        :math:`R(W)` to the loss and :math:`\partial R/\partial W` to ``grads["W"]``
        (see :mod:`tinynet.regularizers`).
    input_dim : int, optional
        Number of input features, for the first layer (Keras' spelling; a keyword,
        as in Keras, whose positional order this signature follows).
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
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        kernel_regularizer: Regularizer | str | dict | None = None,
        *,
        input_dim: int | None = None,
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
        if not isinstance(use_bias, (bool, np.bool_)):
            raise TypeError(
                f"Dense use_bias must be True or False, got {use_bias!r} (input_dim is a keyword: "
                "Dense(units, activation, input_dim=...), as in Keras)"
            )
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

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.x = x
        z = self.output_array("z", (*x.shape[:-1], self.units), training)
        ops.dense_forward(x, self.params["W"], self.params.get("b"), out=z)
        return self.activate(z, training)

    def backward_preactivation(self, grad_z: np.ndarray) -> np.ndarray | None:
        """Backward pass from :math:`G_Z = \\partial L/\\partial Z`, skipping the activation."""
        ops.dense_backward(self.x, grad_z, self.grads["W"], self.grads.get("b"))
        if not self.need_input_grad:  # the first layer of a model in training: dX is never used
            return None
        dx = self.buffer("dx", self.x.shape, grad_z.dtype)
        return ops.dense_input_grad(grad_z, self.params["W"], out=dx)

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
