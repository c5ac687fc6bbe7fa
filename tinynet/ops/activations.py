r"""Activation functions and their backward passes.

For an element-wise :math:`y = f(x)` the chain rule gives

.. math:: \frac{\partial L}{\partial x} = G \odot f'(x), \qquad G = \frac{\partial L}{\partial y},

so each ``*_backward`` states :math:`f'`, often as a function of the output
:math:`y` (nothing recomputed).  Shapes: ``x``, ``y``, ``grad`` and the result
share one, arbitrary, shape.  ``out`` may be ``grad`` itself (the input
gradient then overwrites the incoming one); it may not be ``x`` or ``y`` unless
stated.
"""

from __future__ import annotations

import numpy as np


def relu(x: np.ndarray, out=None) -> np.ndarray:
    r"""Rectified linear unit :math:`y = \max(x, 0)`; ``out`` may be ``x``."""
    return np.maximum(x, 0, out=out)


def relu_backward(y: np.ndarray, grad: np.ndarray, out=None) -> np.ndarray:
    r""":math:`G \odot [y > 0]`, since :math:`f'(x) = [x > 0] = [y > 0]` (0 at :math:`x = 0`, a subgradient)."""
    return np.multiply(grad, y > 0, out=out)


def leaky_relu(x: np.ndarray, alpha: float, out=None) -> np.ndarray:
    r"""Leaky ReLU :math:`y = x` for :math:`x > 0`, :math:`\alpha x` otherwise."""
    return np.multiply(x, np.where(x > 0, 1.0, alpha).astype(x.dtype), out=out)


def leaky_relu_backward(x: np.ndarray, grad: np.ndarray, alpha: float, out=None) -> np.ndarray:
    r""":math:`G \odot f'(x)` with :math:`f'(x) = 1` for :math:`x > 0`, :math:`\alpha` otherwise."""
    return np.multiply(grad, np.where(x > 0, 1.0, alpha).astype(grad.dtype), out=out)


def elu(x: np.ndarray, alpha: float, out=None) -> np.ndarray:
    r"""Exponential linear unit :math:`y = x` for :math:`x > 0`, :math:`\alpha (e^x - 1)` otherwise.

    ``exp`` is only evaluated on :math:`\min(x, 0)`, so large inputs never overflow.
    """
    y = np.where(x > 0, x, np.expm1(np.minimum(x, 0)) * alpha)
    if out is None:
        return y
    np.copyto(out, y)
    return out


def elu_backward(x: np.ndarray, y: np.ndarray, grad: np.ndarray, alpha: float, out=None) -> np.ndarray:
    r""":math:`G \odot f'(x)` with :math:`f'(x) = 1` for :math:`x > 0`, :math:`\alpha e^x = y + \alpha` otherwise."""
    return np.multiply(grad, np.where(x > 0, 1.0, y + alpha), out=out)


def sigmoid(x: np.ndarray, out=None) -> np.ndarray:
    r"""Logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})` without overflow.

    With :math:`e = e^{-|x|} \in (0, 1]`: :math:`\sigma(x) = 1/(1+e)` for
    :math:`x \ge 0` and :math:`e/(1+e)` for :math:`x < 0`; no exponential of a
    positive number is ever taken.
    """
    e = np.exp(-np.abs(x))
    return np.divide(np.where(x >= 0, 1.0, e), 1.0 + e, out=out)


def sigmoid_backward(y: np.ndarray, grad: np.ndarray, out=None) -> np.ndarray:
    r""":math:`G \odot y (1 - y)`, since :math:`\sigma'(x) = \sigma(x)(1 - \sigma(x))`; computed as :math:`(y - y^2) G`."""
    return np.multiply(y - np.square(y), grad, out=out)


def tanh(x: np.ndarray, out=None) -> np.ndarray:
    r"""Hyperbolic tangent :math:`y = \tanh x`."""
    return np.tanh(x, out=out)


def tanh_backward(y: np.ndarray, grad: np.ndarray, out=None) -> np.ndarray:
    r""":math:`G \odot (1 - y^2)`, since :math:`\tanh' x = 1 - \tanh^2 x`."""
    return np.multiply(1 - np.square(y), grad, out=out)


def softplus(x: np.ndarray, out=None) -> np.ndarray:
    r"""Softplus, a smooth ReLU: :math:`y = \log(1 + e^x) = \max(x, 0) + \log(1 + e^{-|x|})`.

    The right-hand form never exponentiates a positive number.  It is also the
    log-normalizer of the sigmoid (see :func:`tinynet.ops.sigmoid_cross_entropy`).
    """
    return np.add(np.maximum(x, 0), np.log1p(np.exp(-np.abs(x))), out=out)


def softplus_backward(x: np.ndarray, grad: np.ndarray, out=None) -> np.ndarray:
    r""":math:`G \odot \sigma(x)`: the derivative of :math:`\log(1 + e^x)` is :math:`e^x/(1 + e^x) = \sigma(x)`."""
    return np.multiply(sigmoid(x), grad, out=out)


_GELU_C = np.sqrt(2.0 / np.pi)
_GELU_K = 0.044715


def gelu(x: np.ndarray, out=None) -> np.ndarray:
    r"""Gaussian error linear unit, tanh approximation (Hendrycks and Gimpel).

    .. math::
        u = c\,(x + k x^3),\qquad y = \tfrac12 x (1 + \tanh u) = x\, \sigma(2u),
        \qquad c = \sqrt{2/\pi},\ k = 0.044715

    using :math:`\tfrac12(1 + \tanh u) = \sigma(2u)`.  The sigmoid form matters in
    the negative tail: there :math:`\tanh u` is within rounding of :math:`-1`, so
    :math:`1 + \tanh u` cancels to a few correct digits, while the stable
    :math:`\sigma(2u)` keeps full relative precision.
    """
    return np.multiply(x, _gelu_s(x), out=out)


def gelu_backward(x: np.ndarray, grad: np.ndarray, out=None) -> np.ndarray:
    r""":math:`G \odot f'(x)`.  With :math:`s = \sigma(2u)` and :math:`\sigma' = \sigma(1 - \sigma)`,
    the product rule gives

    .. math:: f'(x) = s + x\, 2 s (1 - s)\, c\, (1 + 3 k x^2).
    """
    s = _gelu_s(x)
    d = s + x * (2.0 * s * (1.0 - s)) * _GELU_C * (1.0 + 3.0 * _GELU_K * x * x)
    return np.multiply(d, grad, out=out)


def _gelu_s(x: np.ndarray) -> np.ndarray:
    r""":math:`s = \sigma(2u)`, :math:`u = c (x + k x^3)`."""
    return sigmoid(2.0 * _GELU_C * (x + _GELU_K * x**3))


def softmax(x: np.ndarray, out=None) -> np.ndarray:
    r"""Softmax over the last axis.

    .. math:: y_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \qquad m = \max_j x_j

    Subtracting the maximum changes nothing mathematically (softmax is invariant
    to adding a constant) and keeps every exponent :math:`\le 0`, so nothing
    overflows.  ``out`` may not be ``x``.
    """
    out = np.subtract(x, np.max(x, axis=-1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= np.add.reduce(out, axis=-1, keepdims=True)
    return out


def softmax_backward(y: np.ndarray, grad: np.ndarray, out=None) -> np.ndarray:
    r"""The Jacobian-vector product of softmax, never the full Jacobian.

    :math:`\partial y_i/\partial x_j = y_i(\delta_{ij} - y_j)`, so

    .. math:: \frac{\partial L}{\partial x_j} = \sum_i G_i\, y_i (\delta_{ij} - y_j)
              = y_j \Big(G_j - \sum_i G_i y_i\Big).
    """
    dot = np.einsum("...i,...i->...", grad, y)[..., None]
    out = np.subtract(grad, dot, out=out)
    return np.multiply(out, y, out=out)
