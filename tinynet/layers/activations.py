r"""Activation functions as layers, each with its derivative written out.

Every activation is element-wise except softmax.  For an element-wise
:math:`y = f(x)` the chain rule gives the backward pass

.. math:: \frac{\partial L}{\partial x} = G \odot f'(x), \qquad G = \frac{\partial L}{\partial y},

so each class only has to state :math:`f` and :math:`f'` (often as a function of
the output :math:`y`, which saves recomputing anything).  Shapes: ``x``, ``y``,
``grad_output`` and the returned gradient all have the same, arbitrary shape.

Use them as layers (``ReLU()``), by name (``Activation("relu")``) or inside
``Dense(..., activation="relu")``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import ops
from .base import Layer, register_layer


class ActivationLayer(Layer):
    r"""Base class of the activations (no parameters): :math:`y = f(x)`.

    A subclass states :math:`f` in ``_forward(x, out)`` and the product
    :math:`G \odot f'(x)` in ``_backward(grad_output, out)``, each writing into
    ``out`` (in :mod:`tinynet.ops.activations`); this class supplies the arrays.

    In place.  An activation whose class sets :attr:`in_place` (ReLU) may write
    its output over its input and its input gradient over ``grad_output``, which
    saves two arrays the size of the activation and the memory traffic to fill
    them.  It does so only when the caller allows it: ``forward(..., in_place=True)``
    (the layers with an ``activation=`` argument pass their own pre-activation
    work array this way) and, for ``backward``, :attr:`Layer.reuse_grad_output`.

    Attributes
    ----------
    x : ndarray
        The last input (the logits of a fused head, see :mod:`tinynet.engine`);
        after an in-place forward, the same array as ``y``.
    y : ndarray
        The last output.
    """

    #: The name used by ``activation=`` strings and :class:`Activation`.
    activation_name = ""
    #: Whether the last forward call was in training mode.
    training = False
    #: Whether the derivative needs neither the input after forward nor ``grad_output``
    #: after the first write, so that both passes may run in place (see above).
    in_place = False

    def forward(self, x: np.ndarray, training: bool = False, *, in_place: bool = False) -> np.ndarray:
        """Return :math:`f(x)`; with ``in_place=True`` (``x`` is a work array nobody else
        reads) an activation with :attr:`in_place` overwrites ``x`` instead of allocating."""
        self.x, self.training = x, training
        if in_place and self.in_place:
            self.y = x
        elif training:  # the output keeps the input's memory layout (channels-last after a Conv2D)
            self.y = self.buffer_like("y", x)
        else:
            self.y = np.empty_like(x, subok=False)
        self._forward(x, self.y)
        return self.y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self.in_place and self.reuse_grad_output:
            grad_input = grad_output
        else:
            grad_input = self.buffer_like("dx", grad_output)
        self._backward(grad_output, grad_input)
        return grad_input

    def _forward(self, x: np.ndarray, out: np.ndarray) -> None:
        raise NotImplementedError

    def _backward(self, grad_output: np.ndarray, out: np.ndarray) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        return Layer.get_config(self)


class ActivatedLayer(Layer):
    r"""Base of the layers with an ``activation=`` argument (Dense, Conv2D): :math:`Y = f(Z)`.

    A subclass computes its pre-activation :math:`Z` into a work array of its
    own and returns :meth:`activate` of it, and implements
    :meth:`backward_preactivation` from :math:`G_Z = \partial L/\partial Z`.
    :meth:`backward` is then the chain rule through :math:`f` first:
    :math:`G_Z = G \odot f'(Z)` (the activation's own backward pass).
    """

    activation: ActivationLayer | None = None

    def activate(self, z: np.ndarray, training: bool) -> np.ndarray:
        """:math:`f(Z)`; ``z`` is this layer's own work array, so the activation may overwrite it."""
        return z if self.activation is None else self.activation.forward(z, training, in_place=True)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        grad_z = grad_output
        if self.activation is not None:
            self.activation.reuse_grad_output = self.reuse_grad_output
            grad_z = self.activation.backward(grad_output)
        return self.backward_preactivation(grad_z)

    def backward_preactivation(self, grad_z: np.ndarray) -> np.ndarray | None:
        r"""Fill ``grads`` and return :math:`\partial L/\partial X` from :math:`G_Z`, skipping the activation.

        The model calls this directly when the activation is fused into the loss.
        """
        raise NotImplementedError


@register_layer
class Linear(ActivationLayer):
    r"""Identity: :math:`y = x`, :math:`\partial L/\partial x = G`."""

    activation_name = "linear"

    def _forward(self, x, out):
        np.copyto(out, x)

    def _backward(self, grad_output, out):
        np.copyto(out, grad_output)


@register_layer
class ReLU(ActivationLayer):
    r"""Rectified linear unit :math:`y = \max(x, 0)` (:func:`tinynet.ops.relu`).

    The derivative :math:`[x > 0] = [y > 0]` needs only the output, so ReLU may
    work in place (see :class:`ActivationLayer`).
    """

    activation_name = "relu"
    in_place = True  # [x > 0] = [y > 0]: the input is not needed once y exists

    def _forward(self, x, out):
        zeros = self.buffer_like("zeros", x, zeros=True) if self.training else None
        ops.relu(x, out=out, zeros=zeros)

    def _backward(self, grad_output, out):
        ops.relu_backward(self.y, grad_output, out=out)


@register_layer
class LeakyReLU(ActivationLayer):
    r"""Leaky ReLU (:func:`tinynet.ops.leaky_relu`), with Keras 3's argument name and default.

    Parameters
    ----------
    negative_slope : float
        :math:`\alpha`, the slope for negative inputs, >= 0 (default 0.3, Keras'
        ``LeakyReLU`` layer; PyTorch's default is 0.01).  The activation *name*
        ``"leaky_relu"`` (``Dense(..., activation="leaky_relu")``) keeps this layer's
        slope as before, 0.01 (Keras' ``leaky_relu`` function uses 0.2; see the docs'
        table of defaults).
    alpha : float, optional
        Deprecated spelling of ``negative_slope`` (Keras 2's); warns.
    """

    activation_name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.3, alpha: float | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if alpha is not None:
            warnings.warn(
                "LeakyReLU(alpha=...) is deprecated; use negative_slope=... (Keras 3's name)",
                DeprecationWarning,
                stacklevel=2,
            )
            negative_slope = alpha
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float, np.number)):
            raise TypeError(f"LeakyReLU negative_slope must be a number, got {negative_slope!r}")
        if not 0.0 <= float(negative_slope) < math.inf:
            raise ValueError(f"LeakyReLU negative_slope must be finite and >= 0, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    @property
    def alpha(self) -> float:
        """The slope (Keras 2's name for :attr:`negative_slope`)."""
        return self.negative_slope

    def _forward(self, x, out):
        ops.leaky_relu(x, self.negative_slope, out=out)

    def _backward(self, grad_output, out):
        ops.leaky_relu_backward(self.x, grad_output, self.negative_slope, out=out)

    def get_config(self) -> dict:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class _LeakyReLUActivation(LeakyReLU):
    """The activation named ``"leaky_relu"``: slope 0.01, as before (see :class:`LeakyReLU`)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(negative_slope=0.01, **kwargs)


@register_layer
class ELU(ActivationLayer):
    r"""Exponential linear unit (:func:`tinynet.ops.elu`).

    Parameters
    ----------
    alpha : float
        Scale of the negative part (default 1).
    """

    activation_name = "elu"

    def __init__(self, alpha: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def _forward(self, x, out):
        ops.elu(x, self.alpha, out=out)

    def _backward(self, grad_output, out):
        ops.elu_backward(self.x, self.y, grad_output, self.alpha, out=out)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}


#: The stable logistic function (:func:`tinynet.ops.sigmoid`), under its old name.
stable_sigmoid = ops.sigmoid


@register_layer
class Sigmoid(ActivationLayer):
    r"""Logistic sigmoid :math:`y = \sigma(x)`, :math:`f'(x) = y(1 - y)` (:func:`tinynet.ops.sigmoid`).

    Followed by binary cross-entropy, a model uses the fused gradient
    :math:`(p - y)/(N D)` with respect to :math:`x` instead, :math:`p` this
    layer's output, :math:`y` the targets and :math:`D` the outputs per sample
    (:math:`(p - y)/N` only for one output; see :mod:`tinynet.engine`),
    and the :math:`e^{-|x|}` that forward keeps.
    """

    activation_name = "sigmoid"

    def _forward(self, x, out):
        self.e = self.buffer_like("e", x)  # e^{-|x|}, kept for a fused head
        ops.sigmoid(x, out=out, e=self.e)

    def _backward(self, grad_output, out):
        ops.sigmoid_backward(self.y, grad_output, out=out)


@register_layer
class Tanh(ActivationLayer):
    r"""Hyperbolic tangent :math:`y = \tanh x`, :math:`f'(x) = 1 - y^2` (:func:`tinynet.ops.tanh`)."""

    activation_name = "tanh"

    def _forward(self, x, out):
        ops.tanh(x, out=out)

    def _backward(self, grad_output, out):
        ops.tanh_backward(self.y, grad_output, out=out)


@register_layer
class Softplus(ActivationLayer):
    r"""Softplus :math:`y = \log(1 + e^x)`, :math:`f'(x) = \sigma(x)` (:func:`tinynet.ops.softplus`)."""

    activation_name = "softplus"

    def _forward(self, x, out):
        ops.softplus(x, out=out)

    def _backward(self, grad_output, out):
        ops.softplus_backward(self.x, grad_output, out=out)


@register_layer
class GELU(ActivationLayer):
    r"""Gaussian error linear unit (Hendrycks and Gimpel): exact by default, as Keras.

    Exact (``approximate=False``, the name ``"gelu"``, :func:`tinynet.ops.gelu`):
    :math:`y = x\,\Phi(x)`, :math:`\Phi` the standard normal distribution function,
    evaluated to float64 precision without ``erf`` (see :mod:`tinynet._special`).

    Tanh approximation (``approximate=True``, the name ``"gelu_tanh"``, PyTorch's
    ``approximate="tanh"``, :func:`tinynet.ops.gelu_tanh`):
    :math:`y = \tfrac12 x (1 + \tanh(c(x + kx^3)))`.  The two differ by less than
    :math:`10^{-3}`.  Model files before format version 4 meant the tanh form by
    ``"gelu"``; loading reads them so.

    Parameters
    ----------
    approximate : bool
        Use the tanh approximation (default False, as Keras' ``gelu``).
    """

    activation_name = "gelu"

    def __init__(self, approximate: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(approximate, (bool, np.bool_)):
            raise TypeError(f"GELU approximate must be True or False, got {approximate!r}")
        self.approximate = bool(approximate)
        self.activation_name = "gelu_tanh" if self.approximate else "gelu"

    def _forward(self, x, out):
        self.s = None
        if not self.approximate:
            ops.gelu(x, out=out)
        elif self.training:  # keep s = sigmoid(2u) for the backward pass: 8 passes fewer there
            self.s = self.buffer_like("s", x)
            ops.gelu_tanh(x, out=out, s=self.s)
        else:
            ops.gelu_tanh(x, out=out)

    def _backward(self, grad_output, out):
        if self.approximate:
            ops.gelu_tanh_backward(self.x, grad_output, out=out, s=self.s)
        else:
            ops.gelu_backward(self.x, grad_output, out=out)

    def get_config(self) -> dict:
        config = super().get_config()
        if self.approximate:  # only then: an exact GELU's config is as before
            config["approximate"] = True
        return config


class _GELUTanh(GELU):
    """The activation named ``"gelu_tanh"``: :class:`GELU` with ``approximate=True``."""

    def __init__(self, **kwargs) -> None:
        super().__init__(approximate=True, **kwargs)


@register_layer
class Softmax(ActivationLayer):
    r"""Softmax over the last axis (:func:`tinynet.ops.softmax`); backward is the exact
    Jacobian-vector product :math:`y \odot (G - \sum_i G_i y_i)` (:func:`tinynet.ops.softmax_backward`).

    Followed by categorical cross-entropy, a model uses the fused gradient
    :math:`(p - y)/N` instead, :math:`p` this layer's output and :math:`y` the
    targets (:math:`(p - y)/(N T)` over sequences :math:`(N, T, K)`; see
    :mod:`tinynet.engine`), starting from the
    shifted logits ``s`` and row sums ``S`` that forward keeps.
    """

    activation_name = "softmax"

    def _forward(self, x, out):
        self.s = self.buffer_like("s", x)  # kept for a fused head
        self.S = self.buffer("S", (*x.shape[:-1], 1), x.dtype)
        ops.softmax(x, out=out, shifted=self.s, sums=self.S)

    def _backward(self, grad_output, out):
        ops.softmax_backward(self.y, grad_output, out=out)


ACTIVATIONS: dict[str, type[ActivationLayer]] = {
    cls.activation_name: cls for cls in (Linear, ReLU, LeakyReLU, ELU, Sigmoid, Tanh, Softmax, Softplus, GELU)
}
ACTIVATIONS["gelu_tanh"] = _GELUTanh
ACTIVATIONS["leaky_relu"] = _LeakyReLUActivation


def get_activation(name: str | None) -> ActivationLayer | None:
    """Return a new activation layer for ``name`` (``None`` or ``"linear"``: no activation object for None)."""
    if name is None:
        return None
    if isinstance(name, ActivationLayer):
        return name
    try:
        return ACTIVATIONS[name.lower()]()  # case-insensitive, as Keras' names ("ReLU", "Softmax")
    except (KeyError, TypeError, AttributeError):
        raise ValueError(
            f"unknown activation {name!r}; valid names: {', '.join(sorted(ACTIVATIONS))}"
        ) from None


@register_layer
class Activation(Layer):
    """An activation chosen by name: ``Activation("relu")``.

    Delegates forward and backward to the named activation layer (``self.fn``).

    Parameters
    ----------
    activation : str
        One of ``linear, relu, leaky_relu, elu, sigmoid, tanh, softmax, softplus, gelu``.
    """

    def __init__(self, activation: str, **kwargs) -> None:
        super().__init__(**kwargs)
        fn = get_activation(activation)
        if fn is None:
            raise ValueError("Activation needs a name, e.g. Activation('relu')")
        self.fn: ActivationLayer = fn
        self.activation = fn.activation_name

    def build(self, input_shape):
        super().build(input_shape)
        self.fn.build(input_shape)

    def forward(self, x, training=False):
        return self.fn.forward(x, training)

    def backward(self, grad_output):
        self.fn.reuse_grad_output = self.reuse_grad_output
        return self.fn.backward(grad_output)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": self.activation}
