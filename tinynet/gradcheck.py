r"""Numerical gradient checking by central differences.

For a scalar function :math:`f` of an array :math:`x`, each partial derivative
is estimated by the central difference

.. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h},

whose truncation error is about :math:`\tfrac{h^2}{6}|f'''|`, while the round-off of the two
evaluations adds about :math:`\varepsilon_{\text{mach}}|f|/h` (:math:`\varepsilon_{\text{mach}}
\approx 2.2 \times 10^{-16}` in float64).  The default :math:`h = 10^{-6}` keeps both far below
the tolerances used here for gradients of order :math:`10^{-2}` and more.  A parameter whose whole
gradient is tiny next to the loss (an LSTM's recurrent kernel over two steps: about
:math:`10^{-4}` for a loss of 2) sees the round-off of about :math:`4 \times 10^{-10}` as a
relative error near :math:`10^{-6}`; check such a case with a larger step, :math:`h = 10^{-5}`
(near :math:`\varepsilon_{\text{mach}}^{1/3}`, where the two errors balance for a function of
scale one), not with a looser tolerance.  The opposite case, a loss of probabilities near 0
(:math:`-\log p` with :math:`p \approx 0.003`, whose :math:`f'''/f'` is :math:`2/p^2`), needs the small step.

A layer's output is not a scalar, so a random upstream gradient :math:`G` (not
all ones, which would hide errors that cancel across outputs) turns it into
one: :math:`f(x) = \sum_k G_k\, y_k(x)`, whose gradient is exactly what
``backward(G)`` must return.

The error reported for an array with analytic gradient :math:`a` and numerical
gradient :math:`n` is the maximal element-wise difference relative to the
array's largest gradient magnitude:

.. math:: e = \frac{\max_i |a_i - n_i|}{\max\big(\max_i |a_i|,\ \max_i |n_i|,\ 10^{-12}\big)}.

Scaling by the array's largest entry (rather than each entry's own size) keeps
round-off in gradients that are nearly zero from raising false alarms, while any
real mistake (a transposed matrix, a missing factor, a wrong sign) gives an
error of order one.  tinynet's own tests require :math:`e < 10^{-6}`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

from . import _config
from .layers.base import Layer

DEFAULT_EPS = 1e-6


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = DEFAULT_EPS) -> np.ndarray:
    """Central-difference gradient of ``f()`` with respect to the array ``x``.

    ``x`` is perturbed in place, one element at a time, and restored exactly.

    Parameters
    ----------
    f : callable
        Takes no argument and returns a float; it must read ``x``.
    x : ndarray
        A float64 array (a parameter or an input), modified during the call.
    eps : float
        The step :math:`h`.

    Returns
    -------
    ndarray
        Same shape as ``x``.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    # one probe per element, by index, so any memory layout works: the slow, obvious reference
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = f()
        x[i] = old - eps
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2.0 * eps)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """The error measure of this module (see the module docstring)."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"gradient shapes differ: analytic {analytic.shape}, numerical {numeric.shape}")
    if analytic.size == 0:
        return 0.0
    scale = max(float(np.abs(analytic).max()), float(np.abs(numeric).max()), 1e-12)
    return float(np.abs(analytic - numeric).max() / scale)


@contextmanager
def float64_defaults():
    """Build layers and models in float64 inside this block."""
    old = _config.get_default_dtype()
    _config.set_default_dtype(np.float64)
    try:
        yield
    finally:
        _config.set_default_dtype(old)


def _require_float64(arrays: dict[str, np.ndarray], owner: str) -> None:
    for key, value in arrays.items():
        if value.dtype != np.float64:
            raise ValueError(
                f"gradient checks need float64: {owner} parameter {key!r} is {value.dtype}; "
                "call tn.set_default_dtype(np.float64) before building it"
            )


def layer_gradients(
    layer: Layer,
    x: np.ndarray,
    *,
    seed: int = 0,
    training: bool = True,
    eps: float = DEFAULT_EPS,
    grad_output: np.ndarray | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Analytic and numerical gradients of a layer, for the input and every parameter.

    Returns
    -------
    dict
        ``{"input": (analytic, numeric), "W": (analytic, numeric), ...}``.
    """
    x = np.array(x, dtype=np.float64)  # a private copy that is perturbed
    if not layer.built:
        layer.dtype = np.dtype(np.float64)  # an unbuilt layer is checked in float64
        layer.build(x.shape[1:])
    _require_float64(layer.params, type(layer).__name__)
    saved_state = {k: v.copy() for k, v in layer.state.items()}

    def run() -> np.ndarray:
        # the same random numbers (dropout masks) on every evaluation
        layer.rng = np.random.default_rng(seed + 1)
        return layer.forward(x, training=training)

    out = run()
    if grad_output is None:
        # salted, so that an x drawn with the same seed never equals G (x.T @ G would then be
        # symmetric and a transposed weight gradient would pass unnoticed)
        grad_output = np.random.default_rng([seed, 0x6AD]).standard_normal(out.shape)
    result = {"input": [np.array(layer.backward(grad_output), dtype=np.float64)]}
    for key, g in layer.grads.items():
        result[key] = [g.astype(np.float64, copy=True)]

    def f() -> float:
        return float(np.sum(run() * grad_output))

    result["input"].append(numerical_gradient(f, x, eps))
    for key, p in layer.params.items():
        result[key].append(numerical_gradient(f, p, eps))
    for key, value in saved_state.items():
        layer.state[key][...] = value
    return {k: (v[0], v[1]) for k, v in result.items()}


def check_layer(
    layer: Layer,
    x: np.ndarray,
    *,
    seed: int = 0,
    training: bool = True,
    eps: float = DEFAULT_EPS,
    grad_output: np.ndarray | None = None,
) -> dict[str, float]:
    """Relative error of a layer's backward pass, for the input and every parameter.

    Parameters
    ----------
    layer : Layer
        Built in float64, or not built yet (then it is built in float64 here).
    x : ndarray
        A batch of inputs.
    seed : int
        Seeds the random upstream gradient and the layer's random numbers.
    training : bool
        Which mode to check (dropout and batch normalization differ).
    grad_output : ndarray, optional
        The upstream gradient :math:`G` (default: standard normal, drawn from ``seed``).

    Returns
    -------
    dict
        ``{"input": e, "W": e, ...}`` with ``e`` as in the module docstring.
    """
    pairs = layer_gradients(layer, x, seed=seed, training=training, eps=eps, grad_output=grad_output)
    return {key: relative_error(a, n) for key, (a, n) in pairs.items()}


def loss_gradients(loss, y_true, y_pred, sample_weight=None, eps: float = DEFAULT_EPS):
    """Analytic and numerical :math:`\\partial L/\\partial \\hat y` of a loss, as a pair."""
    y_pred = np.array(y_pred, dtype=np.float64)
    loss.forward(y_true, y_pred, sample_weight)
    analytic = np.array(loss.backward(), dtype=np.float64)
    numeric = numerical_gradient(lambda: loss.forward(y_true, y_pred, sample_weight), y_pred, eps)
    return analytic, numeric


def check_loss(loss, y_true, y_pred, sample_weight=None, eps: float = DEFAULT_EPS) -> float:
    """Relative error of ``loss.backward()`` against central differences of ``loss.forward``."""
    return relative_error(*loss_gradients(loss, y_true, y_pred, sample_weight, eps))


def model_gradients(model, x, y, *, seed: int = 0, eps: float = DEFAULT_EPS):
    """Analytic and numerical gradients of a compiled model's loss for every parameter.

    Returns ``{"dense/W": (analytic, numeric), ...}``.  The model must be built
    in float64; its random numbers (dropout) are reseeded for every evaluation.
    """
    if isinstance(x, (list, tuple)):  # a functional model with several inputs
        x = [np.asarray(a, dtype=np.float64) for a in x]
    else:
        x = np.asarray(x, dtype=np.float64)
    if not model.built:
        for layer in model.layers:
            if not layer.built:
                layer.dtype = np.dtype(np.float64)  # an unbuilt model is checked in float64
        model.build_for(x)
    for layer in model.layers:
        _require_float64(layer.params, f"layer {layer.name!r}")

    def loss() -> float:
        model.reseed(seed)
        return model.compute_gradients(x, y, backward=False)

    model.reseed(seed)
    model.compute_gradients(x, y)
    analytic = {name: g.astype(np.float64, copy=True) for name, g in model.named_grads().items()}
    return {
        name: (analytic[name], numerical_gradient(loss, p, eps)) for name, p in model.named_params().items()
    }


def check_model(model, x, y, *, seed: int = 0, eps: float = DEFAULT_EPS) -> dict[str, float]:
    """Relative error of every parameter gradient of a compiled model (one call checks it all)."""
    return {
        name: relative_error(a, n)
        for name, (a, n) in model_gradients(model, x, y, seed=seed, eps=eps).items()
    }
