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

from .._special import normal_cdf, normal_pdf
from .base import Layer, memory_order, register_layer


class ActivationLayer(Layer):
    """Base class of the element-wise activations (no parameters).

    In place.  An activation whose class sets :attr:`in_place` (ReLU) may write
    its output over its input and its input gradient over ``grad_output``, which
    saves two arrays the size of the activation and the memory traffic to fill
    them.  It does so only when the caller allows it: ``forward(..., in_place=True)``
    (the layers with an ``activation=`` argument pass their own pre-activation
    buffer this way) and, for ``backward``, :attr:`Layer.reuse_grad_output`.

    Attributes
    ----------
    x : ndarray
        The last input (kept by reference: the fused losses read the logits
        here); after an in-place forward, the same array as ``y``.
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

    def _reset_work(self) -> None:
        super()._reset_work()
        # the last training input and the output buffer it got: in a model the input is the
        # same work array every step, so the buffer is looked up once, not every step
        self._y_for: tuple = (None, None)

    def forward(self, x: np.ndarray, training: bool = False, *, in_place: bool = False) -> np.ndarray:
        """Return :math:`f(x)`; with ``in_place=True`` (``x`` is a work array nobody else
        reads) an activation with :attr:`in_place` overwrites ``x`` instead of allocating."""
        self.x = x
        self.training = training
        if in_place and self.in_place:
            self.y = x
        elif training and self._y_for[0] is x:  # the same work array as last step: the same output buffer
            self.y = self._y_for[1]
        else:  # the output keeps the input's memory layout (channels-last after a Conv2D)
            self.y = self.output_array("y", x.shape, training, x.dtype, memory_order(x))
            if training:
                self._y_for = (x, self.y)
        self._forward(x, self.y)
        return self.y

    def loss_logits(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The logits a fused loss reads for the last forward, and their log-normalizer.

        Here the input itself and ``None`` (the loss computes what it needs); the heads
        the model fuses with a loss (:class:`Sigmoid`, :class:`Softmax`) return arrays
        their forward pass computed already.
        """
        return self.x, None

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self.in_place and self.reuse_grad_output:
            grad_input = grad_output
        else:
            grad_input = self.buffer("dx", grad_output.shape, grad_output.dtype, memory_order(grad_output))
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
    r"""Rectified linear unit.

    .. math:: y = \max(x, 0), \qquad f'(x) = [x > 0] = [y > 0].

    The derivative at exactly 0 is taken as 0 (a subgradient).
    """

    activation_name = "relu"
    in_place = True  # [x > 0] = [y > 0]: the input is not needed once y exists

    def _reset_work(self) -> None:
        super()._reset_work()
        # the last step's input and its array of zeros, then the last gradient and its mask: in
        # training both are the same work arrays every step, so their companions are looked up once
        self._zeros_for: tuple = (None, None)
        self._mask_for: tuple = (None, None)

    def _forward(self, x, out):
        # max(x, 0) against an array of zeros: numpy's fastest loop for it (a scalar 0 is
        # broadcast through a slower path); in inference a scalar avoids keeping the array
        if not (self.training and x.ndim):
            np.maximum(x, 0, out=out)
            return
        if self._zeros_for[0] is not x:  # zeros with the shape and memory layout of x
            self._zeros_for = (x, self.zeroed_buffer("zeros", x.shape, x.dtype, memory_order(x)))
        np.maximum(x, self._zeros_for[1], out=out)

    def _backward(self, grad_output, out):
        if self._mask_for[0] is not out:
            self._mask_for = (out, self.buffer("mask", out.shape, np.dtype(bool), memory_order(out)))
        mask = self._mask_for[1]
        np.greater(self.y, 0, out=mask)
        np.multiply(grad_output, mask, out=out)


@register_layer
class LeakyReLU(ActivationLayer):
    r"""Leaky ReLU, with Keras 3's argument name and default.

    .. math:: y = \begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases}, \qquad
              f'(x) = \begin{cases} 1 & x > 0 \\ \alpha & x \le 0 \end{cases}

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
        np.multiply(x, np.where(x > 0, 1.0, self.negative_slope).astype(x.dtype), out=out)

    def _backward(self, grad_output, out):
        np.multiply(grad_output, np.where(self.x > 0, 1.0, self.negative_slope).astype(out.dtype), out=out)

    def get_config(self) -> dict:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class _LeakyReLUActivation(LeakyReLU):
    """The activation named ``"leaky_relu"``: slope 0.01, as before (see :class:`LeakyReLU`)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(negative_slope=0.01, **kwargs)


@register_layer
class ELU(ActivationLayer):
    r"""Exponential linear unit.

    .. math:: y = \begin{cases} x & x > 0 \\ \alpha (e^x - 1) & x \le 0 \end{cases}, \qquad
              f'(x) = \begin{cases} 1 & x > 0 \\ \alpha e^x = y + \alpha & x \le 0 \end{cases}

    ``exp`` is only evaluated on :math:`\min(x, 0)`, so large inputs never overflow.
    """

    activation_name = "elu"

    def __init__(self, alpha: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def _forward(self, x, out):
        neg = np.expm1(np.minimum(x, 0)) * self.alpha
        np.copyto(out, np.where(x > 0, x, neg))

    def _backward(self, grad_output, out):
        np.multiply(grad_output, np.where(self.x > 0, 1.0, self.y + self.alpha), out=out)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}


def stable_sigmoid(
    x: np.ndarray,
    out: np.ndarray | None = None,
    *,
    e: np.ndarray | None = None,
    den: np.ndarray | None = None,
    nonneg: np.ndarray | None = None,
) -> np.ndarray:
    r"""Logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})` without overflow.

    With :math:`e = e^{-|x|} \in (0, 1]`: :math:`\sigma(x) = 1/(1+e)` for
    :math:`x \ge 0` and :math:`e/(1+e)` for :math:`x < 0`; no exponential of a
    positive number is ever taken.  With ``out``, the optional work arrays ``e``
    and ``den`` (shaped like ``x``) receive :math:`e` and :math:`1 + e`, and the
    boolean ``nonneg`` receives :math:`[x \ge 0]`, so that the call allocates
    nothing and the caller may keep :math:`e`.
    """
    if out is None or out.shape != np.shape(x) or np.may_share_memory(out, x):
        e = np.exp(-np.abs(x))
        num = np.where(x >= 0, 1.0, e)
        return np.divide(num, 1.0 + e, out=out)
    return _sigmoid_into(x, out, out if e is None else e, den, nonneg)


def _sigmoid_into(x, out, e, den=None, nonneg=None) -> np.ndarray:
    """:func:`stable_sigmoid`'s operations into ``out``, ``e`` (which may be ``out``) and the
    optional ``den`` and ``nonneg``; ``out`` must not overlap ``x``."""
    np.abs(x, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)
    den = np.add(e, 1.0, out=den)
    if e is not out:
        np.copyto(out, e)
    np.copyto(out, 1.0, where=np.greater_equal(x, 0, out=nonneg))
    return np.divide(out, den, out=out)


@register_layer
class Sigmoid(ActivationLayer):
    r"""Logistic sigmoid.

    .. math:: y = \sigma(x) = \frac{1}{1 + e^{-x}}, \qquad f'(x) = y (1 - y).

    Followed by binary cross-entropy, the model uses the fused gradient
    :math:`(y - t)/N` with respect to :math:`x` instead (see :mod:`tinynet.losses`).
    """

    activation_name = "sigmoid"

    def _reset_work(self) -> None:
        super()._reset_work()
        # the last input and its work arrays e^{-|x|}, 1 + e and [x >= 0], in its memory order
        # (the same arrays while x is the same work array, step after step); then the last e
        # and log_normalizer's work array
        self._arrays_for: tuple = (None, None, None, None)
        self._A_for: tuple = (None, None)

    def _forward(self, x, out):
        if self._arrays_for[0] is not x:
            order, shape = memory_order(x), x.shape
            e, den = self.buffer("e", shape, x.dtype, order), self.buffer("den", shape, x.dtype, order)
            self._arrays_for = (x, e, den, self.buffer("nonneg", shape, np.dtype(bool), order))
        _, self._e, den, nonneg = self._arrays_for  # e is kept for log_normalizer
        _sigmoid_into(x, out, self._e, den, nonneg)

    def log_normalizer(self) -> np.ndarray:
        r"""The log-partition :math:`A(x) = \log(1 + e^x) = \max(x, 0) + \log(1 + e^{-|x|})` (softplus).

        Sigmoid is the softmax over the two logits :math:`(0, x)`, and :math:`A` is
        their log-sum-exp: :math:`y = e^{x - A(x)}` and :math:`\log(1 - y) = -A(x)`
        exactly.  Computed from the :math:`e^{-|x|}` that forward kept; the fused
        binary cross-entropy :math:`A(z) - t z` reads it.  A work array, valid
        until the next call.
        """
        e = self._e
        if self._A_for[0] is not e:
            self._A_for = (e, self.buffer("A", e.shape, e.dtype, memory_order(e)))
        A, relu = self._A_for[1], self._arrays_for[2]  # 1 + e is free after forward: it takes max(x, 0)
        np.log1p(e, out=A)
        np.maximum(self.x, 0, out=relu)
        A += relu
        return A

    def loss_logits(self) -> tuple[np.ndarray, np.ndarray]:
        """The input and its :meth:`log_normalizer`: the fused binary cross-entropy is
        :math:`A(x) - t x`."""
        return self.x, self.log_normalizer()

    def _backward(self, grad_output, out):
        # G * y * (1 - y), written without a temporary for (1 - y)
        np.subtract(self.y, np.square(self.y), out=out)
        np.multiply(out, grad_output, out=out)


@register_layer
class Tanh(ActivationLayer):
    r"""Hyperbolic tangent: :math:`y = \tanh x`, :math:`f'(x) = 1 - y^2`."""

    activation_name = "tanh"

    def _forward(self, x, out):
        np.tanh(x, out=out)

    def _backward(self, grad_output, out):
        np.square(self.y, out=out)
        np.subtract(1, out, out=out)
        np.multiply(out, grad_output, out=out)


@register_layer
class Softplus(ActivationLayer):
    r"""Softplus, a smooth ReLU.

    .. math:: y = \log(1 + e^x) = \max(x, 0) + \log(1 + e^{-|x|}), \qquad f'(x) = \sigma(x).

    The right-hand form never exponentiates a positive number.
    """

    activation_name = "softplus"

    def _forward(self, x, out):
        np.add(np.maximum(x, 0), np.log1p(np.exp(-np.abs(x))), out=out)

    def _backward(self, grad_output, out):
        stable_sigmoid(self.x, out=out)
        np.multiply(out, grad_output, out=out)


# a Python float: NumPy 2 would carry a NumPy float64 scalar's precision into float32 work (NEP 50)
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715


@register_layer
class GELU(ActivationLayer):
    r"""Gaussian error linear unit (Hendrycks and Gimpel): exact by default, as Keras.

    Exact (``approximate=False``, the name ``"gelu"``): with the standard normal
    distribution function :math:`\Phi` and density :math:`\varphi`,

    .. math::
        y = x\, \Phi(x) = \tfrac12 x\, \mathrm{erfc}(-x/\sqrt2), \qquad
        f'(x) = \Phi(x) + x\, \varphi(x), \quad \varphi(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}},

    :math:`\Phi` evaluated to float64 precision by :mod:`tinynet._special` (NumPy
    has no erf), through erfc so that the negative tail keeps its relative precision.

    Tanh approximation (``approximate=True``, the name ``"gelu_tanh"``; PyTorch's
    ``approximate="tanh"``):

    .. math::
        u = c\,(x + k x^3),\qquad y = \tfrac12 x (1 + \tanh u) = x\, \sigma(2u),
        \qquad c = \sqrt{2/\pi},\ k = 0.044715

    using :math:`\tfrac12(1 + \tanh u) = \sigma(2u)`.  The sigmoid form matters in
    the negative tail: there :math:`\tanh u` is within rounding of :math:`-1`, so
    :math:`1 + \tanh u` cancels to a few correct digits, while the stable
    :math:`\sigma(2u)` keeps full relative precision.  With
    :math:`s = \sigma(2u)` and :math:`\sigma' = \sigma(1 - \sigma)`, the product
    rule gives

    .. math:: f'(x) = s + x\, 2 s (1 - s)\, c\, (1 + 3 k x^2).

    The two differ by less than :math:`10^{-3}`.  Model files before format
    version 3 meant the tanh form by ``"gelu"``; loading reads them so.

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
        if self.approximate:
            u2 = 2.0 * _GELU_C * (x + _GELU_K * x**3)
            self._s = s = stable_sigmoid(u2)
        else:
            self._s = s = normal_cdf(x)
        np.multiply(x, s, out=out)

    def _backward(self, grad_output, out):
        x, s = self.x, self._s
        if self.approximate:
            d = s + x * (2.0 * s * (1.0 - s)) * _GELU_C * (1.0 + 3.0 * _GELU_K * x * x)
        else:
            d = s + x * normal_pdf(x)  # Phi(x) + x phi(x)
        np.multiply(d, grad_output, out=out)

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
    r"""Softmax over the last axis.

    .. math:: y_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \qquad m = \max_j x_j

    Subtracting the maximum changes nothing mathematically (softmax is invariant
    to adding a constant) and keeps every exponent :math:`\le 0`, so nothing
    overflows.  The Jacobian is :math:`\partial y_i/\partial x_j = y_i(\delta_{ij} - y_j)`;
    the backward pass is its exact vector product, never the full matrix:

    .. math:: \frac{\partial L}{\partial x_j} = \sum_i G_i\, y_i (\delta_{ij} - y_j)
              = y_j \Big(G_j - \sum_i G_i y_i\Big).

    Followed by categorical cross-entropy, the model uses the fused gradient
    :math:`(y - t)/N` instead (see :mod:`tinynet.losses`).
    """

    activation_name = "softmax"

    def _reset_work(self) -> None:
        super()._reset_work()
        # the last input and its work arrays m, S (per row) and x - m; then the last S and the
        # work array of log S
        self._rows_for: tuple = (None, None, None, None)
        self._log_S_for: tuple = (None, None)

    def _forward(self, x, out):
        # m, S and the shifted logits x - m are kept for loss_logits (the same arrays while x is
        # the same work array)
        if self._rows_for[0] is not x:
            rows = (*x.shape[:-1], 1)
            shifted = self.buffer("shifted", x.shape, x.dtype, memory_order(x))
            self._rows_for = (x, self.buffer("m", rows, x.dtype), self.buffer("S", rows, x.dtype), shifted)
        _, m, S, shifted = self._rows_for
        self._m, self._S, self._shifted = m, S, shifted
        np.maximum.reduce(x, axis=-1, keepdims=True, out=m)
        np.subtract(x, m, out=shifted)
        np.exp(shifted, out=out)
        np.add.reduce(out, axis=-1, keepdims=True, out=S)
        out /= S

    def loss_logits(self) -> tuple[np.ndarray, np.ndarray]:
        r"""The last forward's shifted logits :math:`s = x - m` and their log-partition :math:`\log S`.

        Cross-entropy from logits does not change when a constant is subtracted from a
        row: :math:`A(x - c) = A(x) - c`, so :math:`A(x) - x_k = A(s) - s_k`.  The
        fused loss may therefore read :math:`s`, which forward computed anyway, and
        its log-partition is a single logarithm, :math:`A(s) = \log \sum_j e^{s_j} = \log S`,
        where :math:`A(x)` needs the row maximum added back.  Shapes: :math:`s` like
        ``x``, :math:`\log S` (..., 1).  Work arrays, valid until the next call.
        """
        S = self._S
        if self._log_S_for[0] is not S:
            self._log_S_for = (S, self.buffer("log_S", S.shape, S.dtype))
        log_S = self._log_S_for[1]
        np.log(S, out=log_S)
        return self._shifted, log_S

    def log_normalizer(self) -> np.ndarray:
        r"""The log-partition :math:`A(x) = \log \sum_j e^{x_j} = m + \log S` of the last forward's rows.

        Shape (..., 1).  With it :math:`y = e^{x - A(x)}` and :math:`\log y = x - A(x)`
        exactly, without the log of a probability that may have rounded to 0.  The
        model's fused cross-entropy reads the same quantity one step cheaper, on
        the shifted logits (:meth:`loss_logits`).  A new array.
        """
        return self.loss_logits()[1] + self._m

    def _backward(self, grad_output, out):
        dot = np.einsum("...i,...i->...", grad_output, self.y)[..., None]
        np.subtract(grad_output, dot, out=out)
        np.multiply(out, self.y, out=out)


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
