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

import math

import numpy as np

from .._special import normal_cdf, normal_pdf


def relu(x: np.ndarray, out=None, zeros: np.ndarray | None = None) -> np.ndarray:
    r"""Rectified linear unit :math:`y = \max(x, 0)`; ``out`` may be ``x``.

    ``zeros``, an array of zeros shaped (and laid out) like ``x``, makes it about
    three times faster: the maximum against an array is NumPy's fastest loop,
    against a scalar 0 a slower one.
    """
    return np.maximum(x, 0 if zeros is None else zeros, out=out)


def relu_backward(y: np.ndarray, grad: np.ndarray, out=None) -> np.ndarray:
    r"""ReLU's backward pass :math:`G \odot [y > 0]`.

    .. math::

        y = \max(x, 0), \qquad f'(x) = [x > 0] = [y > 0].

    At :math:`x = 0` the function has a kink and no derivative; tinynet uses 0 there (a valid subgradient).
    Since :math:`[x > 0] = [y > 0]`, the backward pass reads the mask from the output. So the input is not
    needed once :math:`y` exists, and ReLU may work **in place**: inside a Dense or Conv2D (``activation="relu"``)
    :math:`y` overwrites the layer's own pre-activation buffer, and inside a model's backward pass
    :math:`G \odot [y > 0]` overwrites the incoming gradient, which nothing reads again (see
    ``reuse_grad_output`` in ``tinynet/layers/base.py``). A ReLU called on your own arrays never writes them.
    """
    return np.multiply(grad, y > 0, out=out)


def leaky_relu(x: np.ndarray, alpha: float, out=None) -> np.ndarray:
    r"""Leaky ReLU :math:`y = x` for :math:`x > 0`, :math:`\alpha x` otherwise."""
    return np.multiply(x, np.where(x > 0, 1.0, alpha).astype(x.dtype), out=out)


def leaky_relu_backward(x: np.ndarray, grad: np.ndarray, alpha: float, out=None) -> np.ndarray:
    r"""Leaky ReLU's backward pass :math:`G \odot f'(x)`.

    .. math::

        y = \begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases}, \qquad
        f'(x) = \begin{cases} 1 & x > 0 \\ \alpha & x \le 0. \end{cases}

    Each piece is linear, so its derivative is its slope.
    """
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
    r"""ELU's backward pass :math:`G \odot f'(x)`, with :math:`f'` from the output.

    .. math::

        y = \begin{cases} x & x > 0 \\ \alpha (e^x - 1) & x \le 0 \end{cases}, \qquad
        f'(x) = \begin{cases} 1 & x > 0 \\ \alpha e^x & x \le 0. \end{cases}

    For :math:`x \le 0`: :math:`\alpha e^x = \alpha(e^x - 1) + \alpha = y + \alpha`, so the derivative comes from the
    output. The exponential is only evaluated on :math:`\min(x, 0)`, so it never overflows.
    """
    return np.multiply(grad, np.where(x > 0, 1.0, y + alpha), out=out)


def sigmoid(x: np.ndarray, out=None, e=None) -> np.ndarray:
    r"""Logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})` without overflow.

    With :math:`e = e^{-|x|} \in (0, 1]`: :math:`\sigma(x) = 1/(1+e)` for
    :math:`x \ge 0` and :math:`e/(1+e)` for :math:`x < 0`; no exponential of a
    positive number is ever taken.  ``e`` (like ``x``), when given, receives
    :math:`e^{-|x|}`: with it the log-normalizer :math:`\log(1 + e^x) =
    \max(x, 0) + \log(1 + e)` of a fused head costs two ufuncs.
    """
    e = np.negative(np.abs(x, out=e), out=e)
    np.exp(e, out=e)
    return np.divide(np.where(x >= 0, 1.0, e), 1.0 + e, out=out)


def sigmoid_backward(y: np.ndarray, grad: np.ndarray, out=None) -> np.ndarray:
    r"""The sigmoid's backward pass :math:`G \odot y (1 - y)`.

    .. math::

        y = \sigma(x) = \frac{1}{1 + e^{-x}} .

    Derivative, step by step: with :math:`u = 1 + e^{-x}`, :math:`y = u^{-1}` and :math:`du/dx = -e^{-x}`, so

    .. math::

        f'(x) = -u^{-2}\cdot(-e^{-x}) = \frac{e^{-x}}{(1 + e^{-x})^2}
        = \frac{1}{1 + e^{-x}}\cdot\frac{e^{-x}}{1 + e^{-x}} = y\,(1 - y),

    using :math:`\frac{e^{-x}}{1+e^{-x}} = 1 - \frac{1}{1+e^{-x}}`. Numerically, :math:`\sigma` is computed as
    :math:`1/(1 + e^{-|x|})` for :math:`x \ge 0` and :math:`e^{-|x|}/(1 + e^{-|x|})` for :math:`x < 0`, never exponentiating a
    positive number. When sigmoid is followed by binary cross-entropy, the model skips this backward
    pass and uses the fused gradient of BCE from logits.
    """
    return np.multiply(y - np.square(y), grad, out=out)


def tanh(x: np.ndarray, out=None) -> np.ndarray:
    r"""Hyperbolic tangent :math:`y = \tanh x`."""
    return np.tanh(x, out=out)


def tanh_backward(y: np.ndarray, grad: np.ndarray, out=None) -> np.ndarray:
    r"""The hyperbolic tangent's backward pass :math:`G \odot (1 - y^2)`.

    .. math::

        y = \tanh x = \frac{e^x - e^{-x}}{e^x + e^{-x}}, \qquad f'(x) = 1 - y^2 .

    With :math:`s = e^x - e^{-x}` and :math:`c = e^x + e^{-x}` (so :math:`s' = c`, :math:`c' = s`), the quotient rule gives
    :math:`f' = (c\cdot c - s\cdot s)/c^2 = 1 - (s/c)^2 = 1 - y^2`.
    """
    return np.multiply(1 - np.square(y), grad, out=out)


def softplus(x: np.ndarray, out=None) -> np.ndarray:
    r"""Softplus, a smooth ReLU: :math:`y = \log(1 + e^x) = \max(x, 0) + \log(1 + e^{-|x|})` (see
    :func:`softplus_backward`); also the log-normalizer of the sigmoid (:func:`sigmoid_cross_entropy`)."""
    return np.add(np.maximum(x, 0), np.log1p(np.exp(-np.abs(x))), out=out)


def softplus_backward(x: np.ndarray, grad: np.ndarray, out=None) -> np.ndarray:
    r"""Softplus' backward pass :math:`G \odot \sigma(x)`.

    .. math::

        y = \log(1 + e^x) = \max(x, 0) + \log(1 + e^{-|x|}), \qquad f'(x) = \frac{e^x}{1 + e^x} = \sigma(x).

    The two forms are equal: for :math:`x \ge 0`, :math:`\log(1 + e^x) = x + \log(e^{-x} + 1)`; for :math:`x < 0` there is
    nothing to rewrite. The right-hand form never exponentiates a positive number.
    """
    return np.multiply(sigmoid(x), grad, out=out)


# a Python float: NumPy 2 would carry a NumPy float64 scalar's precision into float32 work (NEP 50)
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715


def gelu(x: np.ndarray, out=None) -> np.ndarray:
    r"""Gaussian error linear unit, exact (Keras' and PyTorch's default): :math:`y = x\,\Phi(x)`
    (derived in :func:`gelu_backward`)."""
    return np.multiply(x, normal_cdf(x), out=out)


def gelu_backward(x: np.ndarray, grad: np.ndarray, out=None) -> np.ndarray:
    r"""The exact GELU's backward pass :math:`G \odot f'(x)`.

    The GELU weighs :math:`x` by the probability that a standard normal variable is below it:

    .. math::

        y = x\,\Phi(x), \qquad \Phi(x) = \tfrac12\big(1 + \mathrm{erf}(x/\sqrt2)\big)
          = \tfrac12\,\mathrm{erfc}(-x/\sqrt2).

    Derivative: the product rule, with :math:`\Phi' = \varphi`, the normal density, exactly:

    .. math::

        f'(x) = \Phi(x) + x\,\varphi(x), \qquad \varphi(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}} .

    **Computing** :math:`\Phi` **without erf.** NumPy has no error function and ``math.erf`` takes one
    number at a time; :mod:`tinynet._special` evaluates it element-wise with two classical expansions,
    each where it converges fast and cancels nothing.  For :math:`|t| < 2` the series (Abramowitz and
    Stegun 7.1.6)

    .. math::

        \mathrm{erf}(t) = \frac{2}{\sqrt\pi}\,e^{-t^2} \sum_{n \ge 0} \frac{2^n\, t^{2n+1}}{1\cdot 3 \cdots (2n+1)},

    whose terms all have the sign of :math:`t` (40 terms: relative error below :math:`2\cdot10^{-15}`);
    for :math:`t \ge 2` the continued fraction (A&S 7.1.14)

    .. math::

        \mathrm{erfc}(t) = \frac{e^{-t^2}}{\sqrt\pi}\;
        \cfrac{1}{t + \cfrac{1/2}{t + \cfrac{1}{t + \cfrac{3/2}{t + \cdots}}}}

    evaluated from depth 40 up (relative error below :math:`10^{-13}`).  Taking :math:`\Phi` from
    :math:`\mathrm{erfc}` keeps the negative tail's relative precision, where :math:`1 + \mathrm{erf}`
    would cancel; the usual short approximations (A&S 7.1.26, :math:`1.5\cdot10^{-7}`) are too coarse
    for float64 gradient checks.
    """
    return np.multiply(normal_cdf(x) + x * normal_pdf(x), grad, out=out)


def gelu_tanh(x: np.ndarray, out=None, s=None) -> np.ndarray:
    r"""Gaussian error linear unit, tanh approximation (Hendrycks and Gimpel): :math:`y = x\, s`,
    :math:`s = \sigma(2u)`, :math:`u = c\,(x + k x^3)` (derived in :func:`gelu_tanh_backward`).

    ``s`` (like ``x``), when given, receives :math:`s` for the backward pass (which then needs not
    compute it again); otherwise, with an ``out`` that does not overlap ``x``, :math:`s` is computed
    in ``out`` itself: no temporary array."""
    if s is None:
        s = _gelu_s(x, out=None if out is None or np.may_share_memory(out, x) else out)
        return np.multiply(x, s, out=s if out is None else out)
    return np.multiply(x, _gelu_s(x, out=s), out=out)


def gelu_tanh_backward(x: np.ndarray, grad: np.ndarray, out=None, s=None) -> np.ndarray:
    r"""The tanh-approximate GELU's backward pass :math:`G \odot f'(x)`; ``s``, when given, is the
    forward pass's :math:`s = \sigma(2u)` (:func:`gelu_tanh`), otherwise it is computed again.

    .. math::

        u = c\,(x + k x^3), \quad y = \tfrac12 x\,(1 + \tanh u), \qquad c = \sqrt{2/\pi},\ k = 0.044715 .

    **Computed as a sigmoid.** :math:`\tanh u = 2\sigma(2u) - 1`, so :math:`\tfrac12(1 + \tanh u) = \sigma(2u) =: s`
    and :math:`y = x\,s`. The two forms are equal in exact arithmetic but not in floating point: for
    :math:`x \lesssim -4`, :math:`\tanh u` is within rounding of :math:`-1` and :math:`1 + \tanh u` keeps only a few correct
    digits, enough to wreck a central-difference check of the gradient there (float64,
    :math:`h = 10^{-6}`, against this derivative: a relative error of :math:`1.3\cdot 10^{-3}` at
    :math:`x = -5.5`, :math:`9\cdot 10^{-3}` at :math:`-5.8`, :math:`0.15` at :math:`-6` and about 1,
    nothing right, from :math:`-6.5` on), while the stable sigmoid keeps full relative precision
    (:math:`< 10^{-9}` at the same points).

    Derivative: the product rule on :math:`x \cdot s`, with :math:`\sigma' = \sigma(1 - \sigma)` and
    :math:`du/dx = c\,(1 + 3k x^2)`:

    .. math::

        f'(x) = s + x\, 2 s (1 - s)\, c\,(1 + 3 k x^2)
        \qquad\Big(= \tfrac12 (1 + t) + \tfrac12 x\,(1 - t^2)\, c\,(1 + 3 k x^2),\ t = \tanh u\Big).
    """
    if s is None:
        s = _gelu_s(x)
    # in place, as s + 2c w + 2c 3k w x^2 with w = x s (1 - s): three work arrays instead of ten
    # temporaries.  Where s (1 - s) is 0 (|x| above about 10, s is exactly 0 or 1) so is w, and
    # w x x stays 0 however large x is (an x^2 formed first would overflow and give 0 * inf = NaN).
    t = np.subtract(1.0, s)
    t *= s
    w = np.multiply(x, t, out=t)
    w *= 2.0 * _GELU_C
    # the derivative is built in ``out`` when it overlaps neither input (a layer's own gradient array)
    work = out is not None and not (np.may_share_memory(out, x) or np.may_share_memory(out, grad))
    d = np.multiply(w, x, out=out if work else None)
    d *= x
    d *= 3.0 * _GELU_K
    d += w
    d += s
    return np.multiply(d, grad, out=d if work else out)


def _gelu_s(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    r""":math:`s = \sigma(2u) = 1/(1 + e^{-2u})`, :math:`u = c (x + k x^3)`, in place in one work array.

    :math:`1/(1 + e^{-2u})` keeps full relative precision for every :math:`u` (nothing cancels:
    :math:`1 + e^{-2u} \ge 1`), as the general stable :func:`sigmoid` does with two passes and two
    temporaries more.  For very negative :math:`x` (:math:`x \lesssim -9.2` in float32,
    :math:`\lesssim -23` in float64) :math:`e^{-2u}` is larger than the largest float and is
    rounded to :math:`+\infty`, the IEEE result, silently; then :math:`s = 1/\infty = 0`, which is
    :math:`\sigma(2u)` rounded to the nearest float (below the smallest one).  So is :math:`x^2`
    for :math:`|x| > 1.8 \cdot 10^{19}` (float32), with the same right :math:`s` (0 or 1) in the end.

    Eight ufunc passes over one array (``out``, or a new one).  :math:`x^3` is never formed with ``x**3``: that goes
    through ``pow``, about 300 times slower on a float32 array (31 ms against 0.1 ms for
    2048 x 256 values), and was most of the time of a tiny GPT's training step.
    """
    with np.errstate(over="ignore"):
        v = np.multiply(x, x, out=out)
        v *= -2.0 * _GELU_C * _GELU_K
        v -= 2.0 * _GELU_C
        v *= x  # -2u = -2c (x + k x^3)
        np.exp(v, out=v)
    v += 1.0
    return np.divide(1.0, v, out=v)


def softmax(x: np.ndarray, out=None, shifted=None, sums=None) -> np.ndarray:
    r"""Softmax over the last axis.

    .. math:: y_i = \frac{e^{s_i}}{S}, \qquad s_i = x_i - m, \quad m = \max_j x_j, \quad S = \sum_j e^{s_j}

    Subtracting the maximum changes nothing mathematically (softmax is invariant
    to adding a constant) and keeps every exponent :math:`\le 0`, so nothing
    overflows.  ``shifted`` (like ``x``) and ``sums`` (shape (..., 1)), when
    given, receive :math:`s` and :math:`S`: with them a fused cross-entropy
    needs only :math:`\log S`, the log-normalizer of :math:`s` (see
    :func:`tinynet.ops.logsumexp`).  ``out`` may not be ``x``.
    """
    s = np.subtract(x, np.maximum.reduce(x, axis=-1, keepdims=True), out=out if shifted is None else shifted)
    out = np.exp(s, out=out)
    S = np.add.reduce(out, axis=-1, keepdims=True, out=sums)
    out /= S
    return out


def softmax_backward(y: np.ndarray, grad: np.ndarray, out=None) -> np.ndarray:
    r"""Softmax's backward pass, a Jacobian-vector product.

    Softmax acts on the last axis of each sample as a whole, so it is **not** element-wise:

    .. math::

        y_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \qquad m = \max_j x_j .

    Subtracting :math:`m` multiplies numerator and denominator by :math:`e^{-m}`, so it changes nothing, but it
    keeps every exponent :math:`\le 0`: nothing overflows.

    **Jacobian.** Write :math:`S = \sum_j e^{x_j}`, so :math:`y_i = e^{x_i}/S` and :math:`\partial S/\partial x_j = e^{x_j}`.
    By the quotient rule,

    .. math::

        \frac{\partial y_i}{\partial x_j} = \frac{\delta_{ij} e^{x_i} S - e^{x_i} e^{x_j}}{S^2}
        = y_i \delta_{ij} - y_i y_j = y_i(\delta_{ij} - y_j).

    **Backward.** Every :math:`y_i` depends on every :math:`x_j`, so the chain-rule sum has :math:`K` terms:

    .. math::

        \frac{\partial L}{\partial x_j} = \sum_i G_i\, y_i(\delta_{ij} - y_j)
        = G_j y_j - y_j \sum_i G_i y_i = y_j\Big(G_j - \sum_i G_i y_i\Big).

    In array form: :math:`dX = Y \odot \big(G - (G \odot Y)\mathbf 1\,\mathbf 1^\top\big)`, one dot product per
    sample and one element-wise pass. The :math:`K \times K` Jacobian is never built. When softmax is followed
    by categorical cross-entropy, the model uses the fused gradient of
    CCE from logits instead.

    Shapes: ``x``, ``y``, :math:`G` :math:`(N, \dots, K)`; the inner sum is taken over the last axis for every sample.
    """
    dot = np.einsum("...i,...i->...", grad, y)[..., None]
    out = np.subtract(grad, dot, out=out)
    return np.multiply(out, y, out=out)
