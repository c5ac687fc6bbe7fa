r"""Adversarial examples: small input changes that flip a model's answer, and training against them.

A trained model's loss :math:`L(x)` (at the true label) is, near an input :math:`x`,
its first-order Taylor expansion :math:`L(x + \delta) \approx L(x) + \nabla_x L^\top \delta`.
Among the changes no larger than :math:`\epsilon` in every feature
(:math:`\|\delta\|_\infty \le \epsilon`), the one that raises this linear model of the
loss most is :math:`\delta = \epsilon\, \mathrm{sign}(\nabla_x L)`, which gains
:math:`\epsilon \|\nabla_x L\|_1`: a sum over every feature, so that in many
dimensions changes invisible one by one add up to a large change of the output.
That is the *fast gradient sign method* (:func:`fgsm`, Goodfellow et al., 2015).
:func:`pgd` (projected gradient descent, Madry et al., 2018) takes several smaller
such steps, each followed by a projection back onto the :math:`\epsilon`-ball and the
valid input range, from a random start: a much stronger attack.  :func:`adversarial_fit`
trains on the attacked examples of each batch (with the clean ones), the defence that
these attacks measure.

The gradients come from the model's own backward pass in inference form
(``model.forward(x, training=False)``, the compiled loss, ``model.backward``); the
parameters are not changed by an attack (their gradient buffers are overwritten).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .explain import _as_batch, _model_dtype, _positive_int

__all__ = ["adversarial_fit", "fgsm", "loss_input_gradient", "pgd"]


def _check_epsilon(epsilon: Any, name: str = "epsilon") -> float:
    value = float(epsilon)
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {epsilon!r}")
    return value


def _check_clip(clip: tuple[float, float] | None) -> tuple[float, float] | None:
    if clip is None:
        return None
    lo, hi = (float(v) for v in clip)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"clip must be (low, high) with low < high, or None; got {clip!r}")
    return lo, hi


def _targets(model: Any, y: Any, n: int) -> np.ndarray:
    from .losses import SparseCategoricalCrossentropy

    if model.loss is None:
        raise RuntimeError("attacks use the model's loss: compile the model first (model.compile(loss=...))")
    y = np.asarray(y)
    if len(y) != n:
        raise ValueError(f"x has {n} samples but y has {len(y)}")
    if isinstance(model.loss, SparseCategoricalCrossentropy):
        return y
    y = y.astype(_model_dtype(model))
    if y.ndim == 1 and model.output_shape == (1,):
        y = y.reshape(-1, 1)  # (N,) labels for an (N, 1) output, as evaluate reshapes them
    return y


def _loss_gradient(model: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:math:`\\nabla_x L(y, f(x))` of every row (the loss is a mean: each row's is scaled by 1/N)."""
    y_pred = model.forward(x, training=False)
    model.loss.forward(y, y_pred)
    return np.array(model.backward(model.loss.backward()))  # a copy of backward's work buffer


def loss_input_gradient(model: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""The gradient of the compiled loss with respect to the input, :math:`\nabla_x L(y, f(x))`.

    The loss is the batch mean, so row :math:`n` holds :math:`\tfrac1N \nabla_{x_n} \ell_n`.

    Parameters
    ----------
    model : Sequential
        A compiled model.
    x : ndarray of shape (N, ...)
    y : ndarray
        Targets, as ``model.evaluate`` takes them.

    Returns
    -------
    ndarray
        Same shape as ``x``.
    """
    x = _as_batch(model, x, "loss_input_gradient")
    return _loss_gradient(model, x, _targets(model, y, len(x)))


def _project(x_adv: np.ndarray, x: np.ndarray, epsilon: float, clip: tuple[float, float] | None) -> None:
    """In place: back into the L-infinity ball of radius epsilon around x, then into the valid range."""
    np.clip(x_adv, x - epsilon, x + epsilon, out=x_adv)
    if clip is not None:
        np.clip(x_adv, clip[0], clip[1], out=x_adv)


def fgsm(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    epsilon: float,
    *,
    clip: tuple[float, float] | None = (0.0, 1.0),
) -> np.ndarray:
    r"""The fast gradient sign method: one step of size :math:`\epsilon` up the sign of the loss gradient.

    .. math:: x_\text{adv} = \mathrm{clip}\big(x + \epsilon\, \mathrm{sign}(\nabla_x L(y, f(x)))\big)

    the maximiser of the loss' first-order expansion over :math:`\|\delta\|_\infty \le \epsilon`
    (see the module docstring), clipped to the valid input range.

    Parameters
    ----------
    model : Sequential
        A compiled model (its loss is attacked).
    x : ndarray of shape (N, ...)
        Clean inputs.
    y : ndarray
        Their true targets, as ``model.evaluate`` takes them.
    epsilon : float
        The largest change of any feature.
    clip : (float, float) or None
        The valid input range (default [0, 1], images scaled to it); ``None`` for none.

    Returns
    -------
    ndarray
        The adversarial inputs, same shape as ``x``, in the model's dtype.
    """
    epsilon, clip = _check_epsilon(epsilon), _check_clip(clip)
    x = _as_batch(model, x, "fgsm")
    g = _loss_gradient(model, x, _targets(model, y, len(x)))
    x_adv = x + epsilon * np.sign(g)
    _project(x_adv, x, epsilon, clip)
    return x_adv


def pgd(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    epsilon: float,
    *,
    step_size: float | None = None,
    steps: int = 10,
    random_start: bool = True,
    seed: int | None = 0,
    clip: tuple[float, float] | None = (0.0, 1.0),
) -> np.ndarray:
    r"""Projected gradient descent on the loss within the L-infinity ball (Madry et al., 2018).

    .. math:: x^{(0)} = \Pi\big(x + u\big),\ u \sim U[-\epsilon, \epsilon]^d, \qquad
              x^{(k+1)} = \Pi\big(x^{(k)} + \eta\, \mathrm{sign}(\nabla_x L(y, f(x^{(k)})))\big)

    where :math:`\Pi` projects onto :math:`\{x' : \|x' - x\|_\infty \le \epsilon\}` (a clip per
    feature) and then onto the valid range.  Ascent on the loss, "descent" by tradition.

    Parameters
    ----------
    model, x, y, epsilon, clip
        As for :func:`fgsm`.
    step_size : float, optional
        :math:`\eta`; default :math:`2.5\,\epsilon / \text{steps}` (Madry et al.'s choice), so
        that the walk can reach the ball's border from anywhere inside.
    steps : int
        Gradient steps.
    random_start : bool
        Start from a uniformly random point of the ball (else from ``x``).
    seed : int or None
        Seeds a private generator for the random start (same seed, same attack).

    Returns
    -------
    ndarray
        The adversarial inputs, same shape as ``x``.
    """
    epsilon, clip = _check_epsilon(epsilon), _check_clip(clip)
    steps = _positive_int(steps, "steps")
    eta = 2.5 * epsilon / steps if step_size is None else _check_epsilon(step_size, "step_size")
    x = _as_batch(model, x, "pgd")
    y = _targets(model, y, len(x))
    x_adv = x.copy()
    if random_start:
        rng = np.random.default_rng(seed)
        x_adv += rng.uniform(-epsilon, epsilon, size=x.shape).astype(x.dtype)
        _project(x_adv, x, epsilon, clip)
    for _ in range(steps):
        x_adv += eta * np.sign(_loss_gradient(model, x_adv, y))
        _project(x_adv, x, epsilon, clip)
    return x_adv


def adversarial_fit(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    epsilon: float,
    *,
    attack: str = "fgsm",
    epochs: int = 1,
    batch_size: int = 32,
    adversarial_fraction: float = 0.5,
    clip: tuple[float, float] | None = (0.0, 1.0),
    seed: int | None = 0,
    pgd_steps: int = 7,
) -> dict[str, list[float]]:
    r"""Adversarial training: each step trains on a batch and on its attacked copy.

    For every mini-batch :math:`B` the attack (FGSM or PGD against the *current* model)
    makes :math:`B_\text{adv}`, and one :meth:`~tinynet.Sequential.train_step` on the
    concatenation minimises the mixture of Goodfellow et al. (2015),

    .. math:: \tilde L = (1 - \lambda)\, L(B) + \lambda\, L(B_\text{adv}),

    with :math:`\lambda` = ``adversarial_fraction`` (as per-sample weights; 0.5, an even
    mix, is their choice).  Madry et al.'s min-max training is ``attack="pgd"`` with
    :math:`\lambda = 1`.

    Parameters
    ----------
    model : Sequential
        A compiled model, trained in place (with its optimizer; ``model.epochs_done`` grows).
    x, y : ndarray
        Training inputs and targets, as ``fit`` takes them.
    epsilon, clip
        As for :func:`fgsm`.
    attack : {"fgsm", "pgd"}
    epochs, batch_size : int
    adversarial_fraction : float
        :math:`\lambda \in [0, 1]`.
    seed : int or None
        Seeds a private generator for the shuffling and PGD's random starts.
    pgd_steps : int
        Steps of the PGD attack (its step size is the default of :func:`pgd`).

    Returns
    -------
    dict
        ``{"loss": [...]}``: each epoch's mean training loss (of the mixture).
    """
    epsilon, clip = _check_epsilon(epsilon), _check_clip(clip)
    epochs = _positive_int(epochs, "epochs")
    batch_size = _positive_int(batch_size, "batch_size")
    pgd_steps = _positive_int(pgd_steps, "pgd_steps")
    lam = float(adversarial_fraction)
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"adversarial_fraction must be in [0, 1], got {adversarial_fraction!r}")
    if attack not in ("fgsm", "pgd"):
        raise ValueError(f"attack must be 'fgsm' or 'pgd', got {attack!r}")
    if model.optimizer is None:
        raise RuntimeError("adversarial_fit trains the model: compile it first (model.compile(...))")
    x = _as_batch(model, x, "adversarial_fit")
    y = _targets(model, y, len(x))
    rng = np.random.default_rng(seed)
    n = len(x)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(n)
        total = 0.0
        for lo in range(0, n, batch_size):
            idx = order[lo : lo + batch_size]
            xb, yb = x[idx], y[idx]
            if attack == "fgsm":
                xa = fgsm(model, xb, yb, epsilon, clip=clip)
            else:
                xa = pgd(model, xb, yb, epsilon, steps=pgd_steps, seed=int(rng.integers(2**63)), clip=clip)
            k = len(idx)
            # weights 2(1 - lam) and 2 lam: the loss is a mean over 2k rows, so this is the mixture
            w = None
            if lam != 0.5:
                w = np.concatenate([np.full(k, 2.0 * (1.0 - lam)), np.full(k, 2.0 * lam)]).astype(x.dtype)
            total += model.train_step(np.concatenate([xb, xa]), np.concatenate([yb, yb]), w) * k
        model.epochs_done += 1
        losses.append(total / n)
    return {"loss": losses}
