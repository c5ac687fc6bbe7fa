r"""Why did the model say that?  Attributions of a prediction to the input features.

Every method here explains one scalar output of a trained model, the *target*
:math:`f_c(x)` (the probability of class :math:`c`, or the one output of a
sigmoid or regression model), and returns one number per input feature: how much
that feature is responsible for :math:`f_c(x)`.  The gradient methods need only
the model's own backward pass (``model.forward(x, training=False)`` then
``model.backward(G)`` with :math:`G = e_c` returns :math:`\nabla_x f_c(x)`, the
chain rule through every layer in inference form); the perturbation methods need
only ``model.predict``.

===================================  ==========================================================
function                             attribution of feature :math:`i`
===================================  ==========================================================
:func:`input_gradients`              :math:`\partial f_c / \partial x_i` (signed)
:func:`saliency`                     :math:`|\partial f_c / \partial x_i|`
:func:`gradient_x_input`             :math:`x_i\, \partial f_c / \partial x_i`
:func:`smoothgrad`                   :math:`\mathbb E_{\varepsilon}[\partial f_c(x + \varepsilon) / \partial x_i]`
:func:`integrated_gradients`         :math:`(x_i - x'_i) \int_0^1 \partial_i f_c(x' + \alpha (x - x'))\, d\alpha`
:func:`occlusion`                    :math:`f_c(x) - f_c(x \text{ with a patch over } i)`, averaged
:func:`permutation_importance`       score drop when column :math:`i` is shuffled (whole data set)
===================================  ==========================================================

The derivations are on the documentation's interpretability page.

Side effect: the gradient methods run ``model.backward``, which also writes the
parameter gradients (``model.named_grads()``); the parameters themselves, the
optimizer and the model's generator are never touched, and nothing is trained.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import metrics as metrics_module
from ._config import get_default_dtype

__all__ = [
    "PermutationImportance",
    "gradient_x_input",
    "input_gradients",
    "integrated_gradients",
    "occlusion",
    "permutation_importance",
    "saliency",
    "smoothgrad",
]

#: Rows per forward/backward pass when a method evaluates many perturbed copies.
DEFAULT_BATCH_SIZE = 512


# --------------------------------------------------------------------------- helpers
def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _model_dtype(model: Any) -> np.dtype:
    params = model.named_params() if model.built else {}
    return next(iter(params.values())).dtype if params else get_default_dtype()


def _as_batch(model: Any, x: Any, caller: str) -> np.ndarray:
    """``x`` as a batch in the model's dtype, the model built for it."""
    if not model.layers:
        raise ValueError(f"{caller}: the model has no layers")
    try:
        arr = np.array(x, dtype=_model_dtype(model))  # a copy: the caller's array is never written to
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{caller}: x must be a numeric array: {exc}") from None
    if arr.ndim < 2:
        raise ValueError(
            f"{caller}: x must have a batch axis, got shape {arr.shape}; for one sample use x[None]"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{caller}: x holds NaN or infinite values")
    if not model.built:
        model.build_for(arr)
        arr = arr.astype(_model_dtype(model), copy=False)
    model.build_for(arr)  # checks the sample shape
    if isinstance(model.output_shape, list):
        raise ValueError(
            f"{caller} explains a model with one output; this one has {len(model.output_shape)} "
            f"({', '.join(model.output_names)}). Explain one of them through a model of the same "
            "layers with that output alone, tn.Model(inputs, outputs[k]) of the tensors it was built from"
        )
    if len(model.output_shape) != 1:
        raise ValueError(
            f"{caller} explains models with outputs of shape (N, K); this one has (N, "
            f"{', '.join(map(str, model.output_shape))})"
        )
    return arr


def _targets(model: Any, x: np.ndarray, target: Any, caller: str) -> np.ndarray:
    """The output index to explain for each sample, shape (N,) int.

    ``None``: the predicted class (argmax) of a K-output model, output 0 of a
    one-output model; an int: that output for every sample; an array: one each.
    """
    k = model.output_shape[0]
    n = len(x)
    if target is None:
        if k == 1:
            return np.zeros(n, dtype=np.intp)
        return np.argmax(model.predict(x), axis=1).astype(np.intp)
    t = np.asarray(target)
    if t.ndim == 0:
        t = np.full(n, t)
    if t.shape != (n,) or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(
            f"{caller}: target must be None, an int or {n} ints (one per sample), got {np.asarray(target)!r}"
        )
    if np.any(t < 0) or np.any(t >= k):
        raise ValueError(f"{caller}: target must be in [0, {k}) for a model with {k} outputs, got {t}")
    return t.astype(np.intp)


def _output_gradients(model: Any, x: np.ndarray, t: np.ndarray, batch_size: int) -> np.ndarray:
    r""":math:`\nabla_x f_{t_n}(x_n)` for every row, by the model's backward pass in inference form.

    One backward pass with :math:`G_{nk} = [k = t_n]` gives every row's gradient at once,
    because the rows of a batch do not interact in inference (batch norm uses its moving
    statistics, dropout is the identity).
    """
    out = np.empty_like(x)
    k = model.output_shape[0]
    for lo in range(0, len(x), batch_size):
        hi = min(len(x), lo + batch_size)
        model.forward(x[lo:hi], training=False)
        G = np.zeros((hi - lo, k), dtype=x.dtype)
        G[np.arange(hi - lo), t[lo:hi]] = 1.0
        out[lo:hi] = model.backward(G)  # copied: backward's array is a reused work buffer
    return out


def _selected(model: Any, x: np.ndarray, t: np.ndarray, batch_size: int) -> np.ndarray:
    """:math:`f_{t_n}(x_n)`, shape (N,)."""
    y = model.predict(x, batch_size=batch_size)
    return y[np.arange(len(x)), t]


# --------------------------------------------------------------------------- gradients
def input_gradients(
    model: Any, x: np.ndarray, target: int | np.ndarray | None = None, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> np.ndarray:
    r"""The gradient of the explained output with respect to the input, :math:`\nabla_x f_c(x)`.

    .. math:: g_i = \frac{\partial f_c}{\partial x_i}(x)

    computed by the model's backward pass (inference form) from :math:`G = e_c`: to first
    order, :math:`f_c(x + \delta) \approx f_c(x) + g^\top \delta`, so :math:`g_i` says how
    much a small change of feature :math:`i` moves the output, and in which direction.

    Parameters
    ----------
    model : Sequential
        A built (usually trained) model with outputs of shape (N, K).
    x : ndarray of shape (N, ...)
        Inputs, the shape the model takes.
    target : int or ndarray of shape (N,), optional
        The output to explain: the predicted class by default (output 0 for one output).
    batch_size : int
        Rows per forward/backward pass.

    Returns
    -------
    ndarray
        Same shape as ``x``, in the model's dtype.
    """
    x = _as_batch(model, x, "input_gradients")
    t = _targets(model, x, target, "input_gradients")
    return _output_gradients(model, x, t, _positive_int(batch_size, "batch_size"))


def saliency(
    model: Any, x: np.ndarray, target: int | np.ndarray | None = None, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> np.ndarray:
    r"""The saliency map of Simonyan et al. (2014): the magnitude of the input gradient, :math:`|\nabla_x f_c(x)|`.

    Same arguments and shape as :func:`input_gradients`.  For a colour image, take the
    maximum over the channel axis (``s.max(axis=1)``) for one map per pixel.
    """
    return np.abs(input_gradients(model, x, target, batch_size=batch_size))


def gradient_x_input(
    model: Any, x: np.ndarray, target: int | np.ndarray | None = None, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> np.ndarray:
    r"""Gradient times input: :math:`a_i = x_i\, \partial f_c / \partial x_i`.

    The first-order Taylor term of each feature around the all-zero input: for a linear
    model :math:`f = w^\top x + b` it is exactly :math:`w_i x_i`, and
    :math:`\sum_i a_i = f(x) - f(0)`; for a ReLU network without biases too (it is then
    positively homogeneous).  Same arguments and shape as :func:`input_gradients`.
    """
    x = _as_batch(model, x, "gradient_x_input")
    t = _targets(model, x, target, "gradient_x_input")
    return x * _output_gradients(model, x, t, _positive_int(batch_size, "batch_size"))


def smoothgrad(
    model: Any,
    x: np.ndarray,
    target: int | np.ndarray | None = None,
    *,
    noise_level: float = 0.15,
    n_samples: int = 50,
    seed: int | None = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> np.ndarray:
    r"""SmoothGrad (Smilkov et al., 2017): the input gradient averaged over noisy copies.

    .. math:: \hat g(x) = \frac{1}{n} \sum_{s=1}^{n} \nabla_x f_c(x + \varepsilon_s),
              \qquad \varepsilon_s \sim \mathcal N(0, \sigma^2 I),
              \qquad \sigma = \text{noise\_level}\,(\max_i x_i - \min_i x_i)

    (the range is each sample's own).  The gradient of a ReLU network jumps from point to
    point; averaging over a neighbourhood keeps what is stable and removes the speckle.

    Parameters
    ----------
    model, x, target, batch_size
        As for :func:`input_gradients`; the target is resolved once, at ``x``.
    noise_level : float
        :math:`\sigma` as a fraction of each sample's value range (0 gives the plain gradient).
    n_samples : int
        Noisy copies per sample.
    seed : int or None
        Seeds a private generator (the same seed gives the same map); ``None`` draws fresh noise.

    Returns
    -------
    ndarray
        Same shape as ``x``.
    """
    x = _as_batch(model, x, "smoothgrad")
    noise_level = float(noise_level)
    if not (np.isfinite(noise_level) and noise_level >= 0):
        raise ValueError(f"smoothgrad: noise_level must be finite and >= 0, got {noise_level}")
    n_samples = _positive_int(n_samples, "n_samples")
    batch_size = _positive_int(batch_size, "batch_size")
    t = _targets(model, x, target, "smoothgrad")
    rng = np.random.default_rng(seed)
    n = len(x)
    axes = tuple(range(1, x.ndim))
    sigma = noise_level * (x.max(axis=axes, keepdims=True) - x.min(axis=axes, keepdims=True))
    total = np.zeros_like(x, dtype=np.float64)
    # copies of the batch, as many at a time as fit in batch_size rows
    per_pass = max(1, batch_size // n)
    for lo in range(0, n_samples, per_pass):
        m = min(per_pass, n_samples - lo)
        noisy = x[None] + sigma[None] * rng.standard_normal((m, *x.shape))
        noisy = noisy.astype(x.dtype, copy=False).reshape(m * n, *x.shape[1:])
        grads = _output_gradients(model, noisy, np.tile(t, m), batch_size)
        total += grads.reshape(m, *x.shape).sum(axis=0)
    return (total / n_samples).astype(x.dtype)


def integrated_gradients(
    model: Any,
    x: np.ndarray,
    target: int | np.ndarray | None = None,
    *,
    baseline: float | np.ndarray = 0.0,
    steps: int = 50,
    method: str = "trapezoid",
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> np.ndarray:
    r"""Integrated gradients (Sundararajan et al., 2017) along the straight path from a baseline.

    Walk from the baseline :math:`x'` (an input that means "nothing": black pixels, the
    mean patient) to :math:`x` along :math:`\gamma(\alpha) = x' + \alpha (x - x')`,
    :math:`\alpha \in [0, 1]`.  By the fundamental theorem of calculus for path integrals,

    .. math:: f_c(x) - f_c(x') = \int_0^1 \frac{d f_c(\gamma(\alpha))}{d\alpha}\, d\alpha
              = \int_0^1 \nabla f_c(\gamma(\alpha))^\top \gamma'(\alpha)\, d\alpha
              = \sum_i \underbrace{(x_i - x'_i) \int_0^1
                \frac{\partial f_c}{\partial x_i}(\gamma(\alpha))\, d\alpha}_{\mathrm{IG}_i(x)},

    so the attributions add up to the change of the output (*completeness*):
    :math:`\sum_i \mathrm{IG}_i(x) = f_c(x) - f_c(x')`.  The integral is a quadrature over
    ``steps`` intervals, the gradients of all the path points computed as batches:

    ``"trapezoid"``
        :math:`\alpha_k = k/m`, :math:`k = 0..m`, weights :math:`\tfrac1m` (halved at both ends).
    ``"midpoint"``
        :math:`\alpha_k = (k + \tfrac12)/m`, :math:`k = 0..m-1`, weights :math:`\tfrac1m`.

    Both have an error of :math:`O(1/m^2)` on a smooth path; a ReLU network's integrand
    jumps where a unit switches, which makes it :math:`O(1/m)`.  Check the result with
    completeness: ``attr.sum(axis=...)`` against ``f(x) - f(baseline)``.

    Parameters
    ----------
    model, x, target, batch_size
        As for :func:`input_gradients`; the target is resolved once, at ``x``.
    baseline : float or ndarray
        :math:`x'`: a number for every feature, or an array broadcastable to ``x``.
    steps : int
        The number :math:`m` of quadrature intervals.
    method : {"trapezoid", "midpoint"}

    Returns
    -------
    ndarray
        Same shape as ``x``.
    """
    x = _as_batch(model, x, "integrated_gradients")
    steps = _positive_int(steps, "steps")
    batch_size = _positive_int(batch_size, "batch_size")
    try:
        x0 = np.broadcast_to(np.asarray(baseline, dtype=x.dtype), x.shape)
    except ValueError:
        raise ValueError(
            f"integrated_gradients: baseline of shape {np.shape(baseline)} does not broadcast to x's {x.shape}"
        ) from None
    if not np.all(np.isfinite(x0)):
        raise ValueError("integrated_gradients: baseline holds NaN or infinite values")
    if method == "trapezoid":
        alphas = np.linspace(0.0, 1.0, steps + 1)
        weights = np.full(steps + 1, 1.0 / steps)
        weights[[0, -1]] *= 0.5
    elif method == "midpoint":
        alphas = (np.arange(steps) + 0.5) / steps
        weights = np.full(steps, 1.0 / steps)
    else:
        raise ValueError(f"integrated_gradients: method must be 'trapezoid' or 'midpoint', got {method!r}")
    t = _targets(model, x, target, "integrated_gradients")
    n = len(x)
    delta = x - x0
    shape = (-1,) + (1,) * x.ndim  # alpha per path point, broadcast over a batch
    average = np.zeros(x.shape, dtype=np.float64)  # the quadrature of the gradient along the path
    per_pass = max(1, batch_size // n)
    for lo in range(0, len(alphas), per_pass):
        a = alphas[lo : lo + per_pass]
        points = (x0[None] + a.reshape(shape).astype(x.dtype) * delta[None]).reshape(-1, *x.shape[1:])
        grads = _output_gradients(model, points, np.tile(t, len(a)), batch_size).reshape(len(a), *x.shape)
        average += np.tensordot(weights[lo : lo + per_pass], grads, axes=1)
    return (delta * average).astype(x.dtype)


# --------------------------------------------------------------------------- occlusion
def occlusion(
    model: Any,
    x: np.ndarray,
    target: int | np.ndarray | None = None,
    *,
    patch_size: int | tuple[int, int] = 2,
    stride: int | tuple[int, int] = 1,
    baseline: float = 0.0,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> np.ndarray:
    r"""Occlusion (Zeiler and Fergus, 2014): how much the output drops when a patch is covered.

    Every position :math:`p` of a ``patch_size`` window sliding by ``stride`` over the image
    gives a copy :math:`x^{(p)}` whose patch (all channels) is set to ``baseline``; its
    effect is :math:`\Delta_p = f_c(x) - f_c(x^{(p)})`.  A pixel's attribution is the mean
    effect of the patches that cover it,

    .. math:: a_{hw} = \frac{\sum_p \Delta_p [(h, w) \in p]}{\sum_p [(h, w) \in p]}

    (0 for a pixel no patch covers).  Positive: covering the pixel lowers the output.
    All the occluded copies are built with array operations, as one mask per position,
    and predicted in batches of ``batch_size`` rows.

    Parameters
    ----------
    model, x, target, batch_size
        As for :func:`input_gradients`; ``x`` holds images (N, C, H, W).
    patch_size, stride : int or (int, int)
        The window's height and width, and its steps.
    baseline : float
        The value of an occluded pixel.

    Returns
    -------
    ndarray of shape (N, H, W)
        One attribution per pixel position (the patch covers every channel).
    """
    x = _as_batch(model, x, "occlusion")
    if x.ndim != 4:
        raise ValueError(f"occlusion: x must be images (N, C, H, W), got shape {x.shape}")
    ph, pw = _pair(patch_size, "patch_size")
    sh, sw = _pair(stride, "stride")
    batch_size = _positive_int(batch_size, "batch_size")
    baseline = float(baseline)
    n, _, H, W = x.shape
    if ph > H or pw > W:
        raise ValueError(f"occlusion: patch_size {(ph, pw)} is larger than the images ({H}, {W})")
    t = _targets(model, x, target, "occlusion")
    rows = np.arange(0, H - ph + 1, sh)  # top edges of the patches
    cols = np.arange(0, W - pw + 1, sw)
    h, w = np.arange(H), np.arange(W)
    in_rows = (h[None] >= rows[:, None]) & (h[None] < rows[:, None] + ph)  # (R, H)
    in_cols = (w[None] >= cols[:, None]) & (w[None] < cols[:, None] + pw)  # (S, W)
    masks = (in_rows[:, None, :, None] & in_cols[None, :, None, :]).reshape(-1, H, W)  # (P, H, W)
    P = len(masks)
    base = _selected(model, x, t, batch_size)
    drops = np.empty((n, P), dtype=np.float64)
    per_pass = max(1, batch_size // P)  # samples whose P copies form one pass
    for lo in range(0, n, per_pass):
        hi = min(n, lo + per_pass)
        copies = np.where(masks[None, :, None], x.dtype.type(baseline), x[lo:hi, None])  # (m, P, C, H, W)
        y = model.predict(copies.reshape(-1, *x.shape[1:]), batch_size=batch_size)
        picked = y.reshape(hi - lo, P, -1)[np.arange(hi - lo), :, t[lo:hi]]  # (m, P)
        drops[lo:hi] = base[lo:hi, None] - picked
    covered = masks.sum(axis=0)  # (H, W)
    total = np.tensordot(drops, masks.astype(np.float64), axes=1)  # (N, H, W)
    out = np.divide(total, covered, out=np.zeros_like(total), where=covered > 0)
    return out.astype(x.dtype)


def _pair(value: Any, name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or (height, width), got {value!r}")
    return _positive_int(pair[0], name), _positive_int(pair[1], name)


# --------------------------------------------------------------------------- permutation importance
@dataclass
class PermutationImportance:
    """What :func:`permutation_importance` returns (the fields of scikit-learn's result).

    Attributes
    ----------
    importances_mean : ndarray of shape (n_features,)
    importances_std : ndarray of shape (n_features,)
        The population standard deviation over the repeats (``ddof=0``, as scikit-learn).
    importances : ndarray of shape (n_features, n_repeats)
        The score drop of every repeat.
    baseline_score : float
        The score on the unshuffled data.
    """

    importances_mean: np.ndarray
    importances_std: np.ndarray
    importances: np.ndarray
    baseline_score: float


def _scorer(model: Any, scoring: str | Callable) -> Callable[[np.ndarray, np.ndarray], float]:
    """``score(y, y_pred)``, higher is better."""
    if callable(scoring):
        return scoring
    if scoring == "loss":
        if model.loss is None:
            raise ValueError("permutation_importance: scoring='loss' needs a compiled model")
        loss = model.loss
        return lambda y, y_pred: -float(loss.forward(y, y_pred))
    return metrics_module.get(scoring)


def permutation_importance(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    *,
    scoring: str | Callable = "loss",
    n_repeats: int = 5,
    seed: int | None = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> PermutationImportance:
    r"""Permutation feature importance (Breiman, 2001): the score lost when a column is shuffled.

    Shuffling column :math:`j` across the samples keeps its distribution but breaks its
    link to the target (and to the other features).  With :math:`s` the score on the data
    and :math:`s_{j,r}` the score after the :math:`r`-th shuffle of column :math:`j`,

    .. math:: I_{j,r} = s - s_{j,r}, \qquad I_j = \frac1R \sum_{r=1}^{R} I_{j,r}.

    It explains the model's reliance on a feature over a whole data set (not one
    prediction), needs only predictions, and works for any model.  Scores are
    "higher is better": ``"loss"`` scores :math:`-L` (scikit-learn's ``neg_log_loss``
    convention), a metric name such as ``"accuracy"`` scores the metric.

    Parameters
    ----------
    model : Sequential
        A model with inputs (N, D).
    x : ndarray of shape (N, D)
    y : ndarray
        Targets, as ``model.evaluate`` takes them.
    scoring : "loss", a metric name, or callable
        ``"loss"`` uses the compiled loss; a name is looked up by :func:`tinynet.metrics.get`;
        a callable is ``score(y_true, y_pred) -> float``, higher better.
    n_repeats : int
        Shuffles per column.
    seed : int or None
        Seeds a private generator: the same seed gives the same permutations.
    batch_size : int
        Rows per forward pass.

    Returns
    -------
    PermutationImportance
    """
    x = _as_batch(model, x, "permutation_importance")
    if x.ndim != 2:
        raise ValueError(f"permutation_importance: x must be a table (N, D), got shape {x.shape}")
    y = np.asarray(y)
    if len(y) != len(x):
        raise ValueError(f"permutation_importance: x has {len(x)} samples but y has {len(y)}")
    if y.ndim == 1 and model.output_shape == (1,) and model.loss is not None:
        from .losses import SparseCategoricalCrossentropy

        if not isinstance(model.loss, SparseCategoricalCrossentropy):
            y = y.reshape(-1, 1)  # (N,) labels for an (N, 1) output, as evaluate reshapes them
    n_repeats = _positive_int(n_repeats, "n_repeats")
    batch_size = _positive_int(batch_size, "batch_size")
    score = _scorer(model, scoring)
    rng = np.random.default_rng(seed)
    n, d = x.shape
    baseline = float(score(y, model.predict(x, batch_size=batch_size)))
    importances = np.empty((d, n_repeats), dtype=np.float64)
    for j in range(d):  # one column at a time, all its repeats predicted as one stack
        stacked = np.repeat(x[None], n_repeats, axis=0)  # (R, N, D)
        order = rng.permuted(np.broadcast_to(np.arange(n), (n_repeats, n)), axis=1)
        stacked[:, :, j] = x[order, j]
        y_pred = model.predict(stacked.reshape(-1, d), batch_size=batch_size).reshape(n_repeats, n, -1)
        importances[j] = [baseline - float(score(y, y_pred[r])) for r in range(n_repeats)]
    return PermutationImportance(
        importances_mean=importances.mean(axis=1),
        importances_std=importances.std(axis=1),
        importances=importances,
        baseline_score=baseline,
    )
