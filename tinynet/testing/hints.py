r"""Hints: recognise the classic mistakes behind a failed gradient check.

When an analytic gradient :math:`a` disagrees with the numerical one :math:`n`,
the *pattern* of the disagreement often names the mistake.  :func:`diagnose`
tests a short list of such patterns and returns a :class:`Hint` for each one
that fits.  The same rules compare a student's result with a reference
implementation in :func:`tinynet.testing.assert_same_as` (there :math:`a` is the
student's array and :math:`n` the reference's).

Matching.  With :math:`e(u, v)` the error measure of :mod:`tinynet.gradcheck`,

.. math:: e(u, v) = \frac{\max_i |u_i - v_i|}{\max(\max_i |u_i|,\ \max_i |v_i|,\ 10^{-12})},

a mistaken pattern :math:`p` (an array computed from :math:`n` or from the
layer's arrays) *fits* when both

.. math:: e(a, p) < \tau_{\text{fit}} = 10^{-4} \qquad\text{and}\qquad e(p, n) > \tau_{\text{apart}} = 10^{-2}:

the analytic gradient is the pattern, and the pattern is clearly not the correct
gradient.  The second condition is what keeps hints from firing on a correct
layer: a correct :math:`a` is close to :math:`n`, so it cannot be close to a
pattern that is far from :math:`n`.  Hints are only looked for on arrays that
failed the check anyway.

The rules, in the order they are tried (see :data:`RULES`):

``not finite``
    :math:`a` or :math:`n` holds NaN or infinity.  Nothing else is tried.
``no gradient``
    ``backward`` returned ``None`` instead of the input gradient.
``wrong shape`` / ``transposed``
    :math:`a` and :math:`n` have different shapes; ``transposed`` when :math:`a`
    fits :math:`n` with its axes permuted (e.g. :math:`a \approx n^\top`).
``round-off only``
    Both :math:`|a|` and :math:`|n|` stay below :data:`ROUNDOFF_LEVEL`
    (:math:`10^{-7}`): the true gradient is probably zero (a bias followed by
    batch normalization, which removes it) and the numerical one is round-off,
    which a relative error cannot judge.  Nothing else is tried.
``zero gradient``
    :math:`a` is exactly zero everywhere while :math:`n` is not: ``grads`` was
    never filled, or was rebound to a new array that the model never reads.
``rebound array``
    ``layer.grads[key]`` (or ``params[key]``) is a different object after the
    call: the layer assigned a new array instead of writing in place, which
    detaches it from the model's flat buffer.
``accumulates`` (found by the assertions, not by :func:`diagnose`)
    A second, identical call gave different gradients: ``grads[key] += ...``
    adds to the previous call's values instead of overwriting them.
``modifies its argument`` (found by the assertions)
    ``forward`` wrote into its input ``x``, or ``backward`` into ``grad_output``:
    both arrays belong to the caller.
``transposed`` (same shape)
    :math:`a` fits :math:`n` with its axes permuted (reversed, or the first or
    last two swapped) and reshaped to :math:`a`'s shape; for a square matrix
    that is :math:`a \approx n^\top`.
constant ratio
    :math:`a` fits :math:`c\, n` for the least-squares
    :math:`c = \langle a, n\rangle / \langle n, n\rangle` with :math:`|c - 1| > 10^{-2}`.
    :math:`c` is then explained:

    * ``sign error``: :math:`c < 0` (with :math:`|c| = 1`, a pure sign error);
    * ``missing 1/N`` / ``extra 1/N``: :math:`|c| = N^{\pm 1}`, :math:`N` the batch size;
    * ``missing 1/D`` / ``extra 1/D``: :math:`|c| = D^{\pm 1}`, :math:`D` the number of
      elements per sample (losses, which average over them);
    * ``factor 2``: :math:`|c| = 2^{\pm 1}` (the 2 of :math:`\frac{d}{dx}x^2 = 2x`, or a
      gradient added twice);
    * products of these (:math:`|c| = 2N`, :math:`N D`, ...): the decompositions with
      the fewest factors are reported (several when they tie, e.g. :math:`N = 2`);
    * ``constant factor``: any other :math:`c`.

    Two numbers are always proportional, so unless :math:`n` has at least two
    entries above :math:`10^{-3} \max_i |n_i|`, only the named factors are
    reported, never ``constant factor`` (nor a sign error with another factor).
``same offset for every sample``
    For a batch array (an output, an input gradient, ``y_pred``) with
    :math:`N \ge 2` rows: :math:`a - n` is the same row for every sample and
    not zero, i.e. :math:`a` fits :math:`n + \overline{(a - n)}` (the mean over
    the batch axis): a bias is missing, added twice, or broadcast wrongly.
``forward output``
    :math:`a \approx y` (the layer's output) or :math:`a \approx G \odot y`: the
    backward pass returns, or multiplies by, the forward value :math:`f(x)`
    instead of the derivative :math:`f'(x)`.
``upstream gradient ignored``
    :math:`a \odot G \approx n`: the local derivative is right but the chain
    rule's product with the upstream gradient :math:`G` is missing.
``local derivative missing``
    :math:`a \approx G`: ``grad_output`` is passed through unchanged.
``Jacobian diagonal only``
    :math:`a \approx G \odot y \odot (1 - y)` for the layer's output :math:`y`: an input gradient
    that keeps only the diagonal :math:`\partial y_i/\partial x_i = y_i(1 - y_i)` of the softmax
    Jacobian and drops its off-diagonal terms :math:`-y_i y_j` (for a sigmoid, that product is the
    correct gradient and the rule cannot fire: the pattern is then close to :math:`n`).
``normalization statistics held constant``
    :math:`a \approx G \odot c` for a per-feature constant :math:`c` (constant along the batch
    axis, and for images along height and width too) that is not the same for every feature: the
    backward pass of a normalization with the inference formula :math:`\gamma / \sqrt{\sigma^2 +
    \epsilon}`, as if the batch mean and variance did not depend on :math:`x` (they do in training
    mode).  Only for arrays shaped like :math:`G` with at least three samples.
``off-by-one`` (arrays with spatial axes, :attr:`Context.spatial_axes`)
    :math:`a` matches :math:`n` moved by one or two positions along the spatial axes, or with one
    or two rows or columns more or fewer (the shapes may then differ): on the overlapping part,
    :math:`e(a_{[i + d]}, n_{[i]}) < \tau_{\text{fit}}` for offsets :math:`d` with
    :math:`|d| \le 2` and a different shape or a nonzero :math:`d`.  The overlap covers all but at
    most two positions of :math:`n` along each axis, and holds at least two nonzero values.  What
    an off-by-one in the zero padding of im2col or col2im produces (``p + 1`` rows on one side,
    ``p - 1`` on the other; ``p`` on one side only; a crop started one row late), or an output size
    without its :math:`+1`, :math:`\lfloor (H + 2p - k)/s \rfloor`.  Tried before ``wrong shape``.
``value instead of gradient``
    :math:`a \approx` the array itself (the input :math:`x`, or the parameter
    :math:`\theta` for its gradient).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from ..gradcheck import relative_error

#: Gradients below this (in absolute value) are at the round-off level of central differences.
ROUNDOFF_LEVEL = 1e-7
#: A pattern fits the analytic gradient when their error is below this.
FIT_TOL = 1e-4
#: ... and only counts when it is at least this far from the numerical gradient.
APART_TOL = 1e-2

# The kinds of hint (stable strings: tests and the teachers' page refer to them).
NOT_FINITE = "not finite"
NO_GRADIENT = "no gradient"
ROUNDOFF = "round-off only"
WRONG_SHAPE = "wrong shape"
ZERO = "zero gradient"
REBOUND = "rebound array"
TRANSPOSED = "transposed"
SIGN = "sign error"
MISSING_MEAN = "missing 1/N"
EXTRA_MEAN = "extra 1/N"
MISSING_SAMPLE_MEAN = "missing 1/D"
EXTRA_SAMPLE_MEAN = "extra 1/D"
FACTOR_2 = "factor 2"
FACTOR = "constant factor"
OFFSET = "same offset for every sample"
FORWARD_OUTPUT = "forward output"
NO_UPSTREAM = "upstream gradient ignored"
NO_LOCAL = "local derivative missing"
OWN_VALUE = "value instead of gradient"
JACOBIAN_DIAGONAL = "Jacobian diagonal only"
FROZEN_STATISTICS = "normalization statistics held constant"
OFF_BY_ONE = "off-by-one"
ACCUMULATES = "accumulates"
MODIFIES_ARGUMENT = "modifies its argument"

#: Every kind of hint, in the order :func:`diagnose` may report them.
KINDS: tuple[str, ...] = (
    NOT_FINITE,
    NO_GRADIENT,
    WRONG_SHAPE,
    ROUNDOFF,
    ZERO,
    REBOUND,
    ACCUMULATES,
    MODIFIES_ARGUMENT,
    TRANSPOSED,
    SIGN,
    MISSING_MEAN,
    EXTRA_MEAN,
    MISSING_SAMPLE_MEAN,
    EXTRA_SAMPLE_MEAN,
    FACTOR_2,
    FACTOR,
    OFFSET,
    FORWARD_OUTPUT,
    NO_UPSTREAM,
    NO_LOCAL,
    JACOBIAN_DIAGONAL,
    FROZEN_STATISTICS,
    OFF_BY_ONE,
    OWN_VALUE,
)


@dataclass(frozen=True)
class Hint:
    """A likely cause of a failed check.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS` (``"sign error"``, ``"transposed"``, ...).
    message : str
        One sentence for the reader: what was seen and what usually causes it.
    """

    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass
class Context:
    """What the rules may compare an array's analytic gradient with.

    Every field is optional; a rule whose arrays are missing is skipped.

    Attributes
    ----------
    key : str
        The array's name (``"input"``, ``"W"``, ``"dense/W"``).
    batch_size : int, optional
        :math:`N`, for the ``1/N`` rules.
    sample_size : int, optional
        :math:`D`, elements per sample, for the ``1/D`` rules (losses).
    value : ndarray, optional
        The array itself (the input :math:`x` or the parameter :math:`\\theta`).
    output : ndarray, optional
        The layer's forward output :math:`y`.
    upstream : ndarray, optional
        The upstream gradient :math:`G` that was passed to ``backward``.
    spatial_axes : tuple of int, optional
        The axes of the array that index pixels (height, width, kernel rows...), for the
        ``off-by-one`` rule; ``(2, 3)`` for NCHW images.
    axis_names : tuple of str, optional
        A name for each axis of the array, for messages (default ``"axis k"``).
    rebound : bool
        The layer replaced ``grads[key]`` by a new array during the call.
    names : (str, str)
        How to call the checked and the expected array in messages.
    """

    key: str = "array"
    batch_size: int | None = None
    sample_size: int | None = None
    value: np.ndarray | None = None
    output: np.ndarray | None = None
    upstream: np.ndarray | None = None
    spatial_axes: tuple[int, ...] | None = None
    axis_names: tuple[str, ...] | None = None
    rebound: bool = False
    names: tuple[str, str] = field(default=("analytic", "numerical"))


def fits(candidate: np.ndarray, analytic: np.ndarray, numeric: np.ndarray) -> bool:
    """Whether ``analytic`` matches the mistaken pattern ``candidate`` (see the module docstring)."""
    if candidate.shape != analytic.shape or not np.all(np.isfinite(candidate)) or not np.any(candidate):
        return False
    if candidate.shape == numeric.shape and relative_error(candidate, numeric) <= APART_TOL:
        return False
    return relative_error(analytic, candidate) < FIT_TOL


def _permutations(numeric: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """Axis permutations of ``numeric`` that a transposition mistake produces."""
    nd = numeric.ndim
    if nd < 2:
        return
    seen = set()
    orders = [("transposed (all axes reversed)", tuple(range(nd))[::-1])]
    if nd > 2:
        orders.append(("first two axes swapped", (1, 0, *range(2, nd))))
        orders.append(("last two axes swapped", (*range(nd - 2), nd - 1, nd - 2)))
    for label, order in orders:
        if order not in seen:
            seen.add(order)
            yield label, np.transpose(numeric, order)


def _rule_shape(a: np.ndarray, n: np.ndarray, ctx: Context) -> list[Hint]:
    mine, expected = ctx.names
    if ctx.key == "input" and a.ndim == 0 and np.isnan(a) and n.ndim > 0:
        return [
            Hint(
                NO_GRADIENT,
                "backward returned None: it must return the gradient with respect to its input "
                f"(an array of shape {n.shape}), even when it also fills grads",
            )
        ]
    hints = []
    if a.size == n.size:
        for label, perm in _permutations(n):
            if perm.shape == a.shape and relative_error(a, perm) < FIT_TOL:
                hints.append(
                    Hint(
                        TRANSPOSED,
                        f"{mine} has shape {a.shape}, the {expected} gradient {n.shape}, and the values "
                        f"match with the axes {label}: e.g. G.T @ x where x.T @ G was meant",
                    )
                )
                return hints
        if relative_error(a.reshape(n.shape), n) < FIT_TOL:
            fix = "reshape before returning" if ctx.key == "input" else "write into grads in place"
            return [
                Hint(WRONG_SHAPE, f"the values are right but the shape is {a.shape}, not {n.shape}: {fix}")
            ]
    return [Hint(WRONG_SHAPE, f"{mine} has shape {a.shape} but the array has shape {n.shape}")]


def _offsets(a_len: int, n_len: int, spatial: bool) -> tuple[int, ...] | None:
    """The offsets :math:`d` (``a[i + d]`` against ``n[i]``) to try along one axis; None: the rule cannot fit."""
    grow = a_len - n_len
    if not spatial:
        return (0,) if grow == 0 else None
    if abs(grow) > 2:
        return None
    return (-1, 0, 1) if grow == 0 else tuple(range(min(grow, 0), max(grow, 0) + 1))


def off_by_one(a: np.ndarray, n: np.ndarray, spatial_axes: tuple[int, ...]) -> tuple[int, ...] | None:
    """The offsets (one per axis) by which ``a`` is ``n`` moved along ``spatial_axes``, or None.

    ``a[i + d] ≈ n[i]`` on the part where both exist (module docstring, ``off-by-one``); the shapes
    may differ by up to two along the spatial axes.  The offsets of a match are never all zero
    when the shapes are equal (that is no mistake).
    """
    if a.ndim != n.ndim or a.size == 0 or n.size == 0:
        return None
    axes = {ax % n.ndim for ax in spatial_axes if -n.ndim <= ax < n.ndim}  # the others are not this array's
    options = []
    for ax in range(n.ndim):
        choice = _offsets(a.shape[ax], n.shape[ax], ax in axes)
        if choice is None:
            return None
        options.append(choice)
    # the simplest explanation first: a move along one axis before a move along two
    ordered = sorted(itertools.product(*options), key=lambda o: (sum(d != 0 for d in o), sum(map(abs, o))))
    for offsets in ordered:
        if a.shape == n.shape and not any(offsets):
            continue
        in_a, in_n = [], []
        for ax, d in enumerate(offsets):
            lo, hi = max(0, -d), min(n.shape[ax], a.shape[ax] - d)
            if hi - lo < max(1, n.shape[ax] - 2):
                break
            in_n.append(slice(lo, hi))
            in_a.append(slice(lo + d, hi + d))
        else:
            part_a, part_n = a[tuple(in_a)], n[tuple(in_n)]
            if np.count_nonzero(part_n) >= 2 and relative_error(part_a, part_n) < FIT_TOL:
                return offsets
    return None


def _rule_off_by_one(a: np.ndarray, n: np.ndarray, ctx: Context) -> list[Hint]:
    if not ctx.spatial_axes:
        return []
    offsets = off_by_one(a, n, ctx.spatial_axes)
    if offsets is None:
        return []
    mine, expected = ctx.names

    def axis(ax: int) -> str:
        names = ctx.axis_names
        return names[ax] if names is not None and ax < len(names) else f"axis {ax}"

    moved = [f"{axis(ax)} by {d:+d}" for ax, d in enumerate(offsets) if d]
    sizes = [
        f"{axis(ax)} has {a.shape[ax]} instead of {n.shape[ax]}"
        for ax in range(n.ndim)
        if a.shape[ax] != n.shape[ax]
    ]
    seen = "; ".join(
        part
        for part in (
            ("it is moved along " + ", ".join(moved)) if moved else "",
            ", ".join(sizes),
        )
        if part
    )
    return [
        Hint(
            OFF_BY_ONE,
            f"{mine} is the {expected} array moved by a row or column ({seen}): an off-by-one, "
            "typically in the zero padding of im2col/col2im (p rows and columns on every side: the "
            "padded image is H + 2p high, output row r reads padded rows r·s to r·s + k - 1, and the "
            "padding is cut off as [p:p + H]) or in the output size ⌊(H + 2p - k)/s⌋ + 1",
        )
    ]


def _rule_zero(a: np.ndarray, n: np.ndarray, ctx: Context) -> list[Hint]:
    if np.any(a) or not np.any(n):
        return []
    where = "grads" if ctx.key != "input" else "the returned input gradient"
    return [
        Hint(
            ZERO,
            f"{ctx.names[0]} is zero everywhere but the {ctx.names[1]} gradient is not: {where} was never "
            "written (forgot self.grads[key][...] = ...), or a new array was assigned "
            "(self.grads[key] = ...) that the model never reads",
        )
    ]


def rebound_hint(key: str) -> Hint:
    """The hint for a layer that assigned a new array to ``grads[key]`` (or ``params[key]``)."""
    short = key.rsplit("/", 1)[-1]
    return Hint(
        REBOUND,
        f"{key!r} is a new array after the call: write into the existing one in place, "
        f"self.grads[{short!r}][...] = value (or np.matmul(..., out=self.grads[{short!r}])); inside a "
        "model the arrays are views of one flat buffer, and the optimizer never sees a rebound array",
    )


def _rule_rebound(a: np.ndarray, n: np.ndarray, ctx: Context) -> list[Hint]:
    return [rebound_hint(ctx.key)] if ctx.rebound else []


def _rule_transposed(a: np.ndarray, n: np.ndarray, ctx: Context) -> list[Hint]:
    mine, expected = ctx.names
    for label, perm in _permutations(n):
        if perm.size == a.size and fits(perm.reshape(a.shape), a, n):
            what = f"{expected}.T" if n.ndim == 2 and n.shape[0] == n.shape[1] else f"{expected} {label}"
            return [
                Hint(
                    TRANSPOSED,
                    f"{mine} ≈ {what}: a transposed matrix, e.g. G.T @ x instead of x.T @ G for dW, "
                    "or W instead of W.T in G @ W.T",
                )
            ]
    return []


def _factor_names(ctx: Context) -> list[tuple[str, float, tuple[str, str], tuple[str, str]]]:
    """(symbol, value, (kind, message) when c = value, (kind, message) when c = 1/value)."""
    factors = [
        (
            "2",
            2.0,
            (
                FACTOR_2,
                "an extra factor 2: a gradient added twice (e.g. += into a filled array), or 2x kept twice",
            ),
            (FACTOR_2, "a factor 2 is missing: the derivative of x² is 2x"),
        )
    ]
    if ctx.batch_size is not None and ctx.batch_size > 1:
        N = ctx.batch_size
        factors.append(
            (
                "N",
                float(N),
                (MISSING_MEAN, f"the 1/N of the batch mean is missing (N = {N}, the batch size)"),
                (
                    EXTRA_MEAN,
                    f"an extra 1/N (N = {N}, the batch size): the mean over the batch is taken twice, "
                    "e.g. a layer divides by N although the loss already does",
                ),
            )
        )
    if ctx.sample_size is not None and ctx.sample_size > 1:
        D = ctx.sample_size
        factors.append(
            (
                "D",
                float(D),
                (
                    MISSING_SAMPLE_MEAN,
                    f"the 1/D of the mean over each sample's elements is missing (D = {D})",
                ),
                (EXTRA_SAMPLE_MEAN, f"an extra 1/D (D = {D} elements per sample)"),
            )
        )
    return factors


def _rule_ratio(a: np.ndarray, n: np.ndarray, ctx: Context) -> list[Hint]:
    mine, expected = ctx.names
    nn = float(np.vdot(n, n))
    if nn == 0.0:
        return []
    c = float(np.vdot(a, n)) / nn
    if abs(c - 1.0) <= APART_TOL or c == 0.0 or not fits(c * n, a, n):
        return []
    significant = int(np.count_nonzero(np.abs(n) > 1e-3 * np.abs(n).max()))
    size = abs(c)
    factors = _factor_names(ctx)
    matches: list[list[tuple[str, str]]] = []
    if abs(size - 1.0) > FIT_TOL:
        for count in (1, 2, 3):
            for combo in itertools.combinations(factors, count):
                for signs in itertools.product((1, -1), repeat=count):
                    value = float(np.prod([f[1] ** s for f, s in zip(combo, signs, strict=True)]))
                    if abs(size / value - 1.0) < FIT_TOL:
                        matches.append([f[2] if s > 0 else f[3] for f, s in zip(combo, signs, strict=True)])
            if matches:
                break
    explained = abs(size - 1.0) <= FIT_TOL or bool(matches)
    if not explained and significant < 2:
        return []  # two numbers are always proportional: only a named factor means something
    hints = []
    if c < 0:
        hints.append(
            Hint(
                SIGN,
                f"{mine} ≈ -{expected}"
                + (f" × {size:.6g}" if abs(size - 1.0) > FIT_TOL else "")
                + ": a sign error, e.g. (t - y) instead of (y - t), or a minus lost in a derivative",
            )
        )
    if abs(size - 1.0) <= FIT_TOL:
        return hints
    prefix = f"{mine} = {size:.6g} × {expected}" if c > 0 else f"|{mine}| = {size:.6g} × |{expected}|"
    either = " (one of several readings)" if len(matches) > 1 else ""
    for reading in matches:
        for kind, message in reading:
            hints.append(Hint(kind, f"{prefix}{either}: {message}"))
    if not matches:
        hints.append(
            Hint(FACTOR, f"{prefix} everywhere: a constant factor is wrong (a scale, a mean, or a count)")
        )
    return hints


#: The arrays whose first axis is the batch axis (the offset rule applies to them only).
BATCH_ARRAYS = ("input", "output", "y_pred")


def _rule_offset(a: np.ndarray, n: np.ndarray, ctx: Context) -> list[Hint]:
    mine, expected = ctx.names
    N = ctx.batch_size
    if ctx.key not in BATCH_ARRAYS or N is None or N < 2 or a.ndim < 2 or a.shape[0] != N:
        return []
    if not fits(n + (a - n).mean(axis=0, keepdims=True), a, n):
        return []
    return [
        Hint(
            OFFSET,
            f"{mine} - {expected} is the same for every sample: a per-feature constant is missing or "
            "added twice (a forgotten bias, or a bias broadcast along the wrong axis)",
        )
    ]


def _rule_patterns(a: np.ndarray, n: np.ndarray, ctx: Context) -> list[Hint]:
    mine, _ = ctx.names
    hints = []
    y, G, v = ctx.output, ctx.upstream, ctx.value
    if y is not None and fits(y, a, n):
        hints.append(
            Hint(
                FORWARD_OUTPUT,
                f"{mine} equals the layer's forward output y: backward returns the forward value f(x) "
                "instead of the derivative",
            )
        )
    if y is not None and G is not None and y.shape == G.shape and fits(G * y, a, n):
        hints.append(
            Hint(
                FORWARD_OUTPUT,
                f"{mine} ≈ G ⊙ y: backward multiplies the upstream gradient by the forward output f(x) "
                "instead of the derivative f'(x)",
            )
        )
    if G is not None and G.shape == a.shape and a.shape == n.shape:
        product = a * G
        if np.any(product) and relative_error(product, n) < FIT_TOL and relative_error(a, n) > APART_TOL:
            hints.append(
                Hint(
                    NO_UPSTREAM,
                    f"{mine} ⊙ G ≈ the expected gradient: the local derivative is right but it is not "
                    "multiplied by grad_output (the chain rule)",
                )
            )
        if fits(G, a, n):
            hints.append(
                Hint(
                    NO_LOCAL,
                    f"{mine} equals grad_output: the upstream gradient is passed through without the "
                    "local derivative",
                )
            )
    if y is not None and G is not None and y.shape == G.shape == a.shape and fits(G * y * (1.0 - y), a, n):
        hints.append(
            Hint(
                JACOBIAN_DIAGONAL,
                f"{mine} ≈ G ⊙ y(1 - y): only the diagonal of the Jacobian is used; for a softmax every "
                "output depends on every input, dy_i/dx_j = y_i(δ_ij - y_j), so the backward pass is "
                "y ⊙ (G - Σ_i G_i y_i) (one dot product per sample)",
            )
        )
    if G is not None and G.shape == a.shape and a.ndim >= 2 and a.shape[0] >= 3:
        for axes, what in _feature_groups(a.ndim):
            scale = _per_group_scale(a, G, axes)
            if np.ptp(scale) > APART_TOL * np.abs(scale).max() and fits(G * scale, a, n):
                hints.append(
                    Hint(
                        FROZEN_STATISTICS,
                        f"{mine} ≈ G × a constant per {what}: the normalization's inference formula "
                        "γ/√(σ² + ε) used in training mode, as if the batch mean and variance were constants; "
                        "they depend on x, which adds two terms: dx = (ĝ - mean(ĝ) - x̂ mean(ĝ x̂)) / s, "
                        "ĝ = γ G, means over the batch",
                    )
                )
                break
    if v is not None and fits(np.asarray(v, dtype=np.float64), a, n):
        what = "its input x" if ctx.key == "input" else f"the parameter {ctx.key!r} itself"
        hints.append(
            Hint(OWN_VALUE, f"{mine} equals {what}: the array's value was written instead of its gradient")
        )
    return hints


def _feature_groups(ndim: int) -> list[tuple[tuple[int, ...], str]]:
    """The axes a per-feature constant is constant along: the batch axis (one value per feature),
    and for images (N, C, H, W) the batch and spatial axes (one value per channel)."""
    groups = [((0,), "feature")]
    if ndim > 2:
        groups.append(((0, *range(2, ndim)), "channel"))
    return groups


def _per_group_scale(a: np.ndarray, G: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """The least-squares :math:`c` of :math:`a \approx G c`, one value per group (0 where G is)."""
    GG = np.add.reduce(G * G, axis=axes, keepdims=True)
    aG = np.add.reduce(a * G, axis=axes, keepdims=True)
    return np.divide(aG, GG, out=np.zeros_like(GG), where=GG > 0)


#: The rules :func:`diagnose` tries, in order: ``(name, rule)``; each rule maps
#: ``(analytic, numeric, context)`` to a list of hints.
RULES: tuple[tuple[str, Callable[[np.ndarray, np.ndarray, Context], list[Hint]]], ...] = (
    ("zero gradient", _rule_zero),
    ("rebound array", _rule_rebound),
    ("transposed", _rule_transposed),
    ("constant ratio", _rule_ratio),
    ("off-by-one", _rule_off_by_one),
    ("same offset", _rule_offset),
    ("patterns", _rule_patterns),
)


def diagnose(analytic: np.ndarray, numeric: np.ndarray, context: Context | None = None) -> list[Hint]:
    """Return the hints whose pattern fits a failed gradient (see the module docstring).

    Parameters
    ----------
    analytic : ndarray
        The gradient being checked (or a student's result).
    numeric : ndarray
        The expected gradient (numerical, or the reference implementation's).
    context : Context, optional
        Batch size, output, upstream gradient...: what the rules compare with.

    Returns
    -------
    list of Hint
        Empty when no rule fits, or when the arrays agree (error below
        :data:`FIT_TOL`): a hint never fires on a correct gradient.

    Examples
    --------
    >>> import numpy as np
    >>> n = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> [h.kind for h in diagnose(-n, n)]
    ['sign error']
    >>> [h.kind for h in diagnose(n.T, n)]
    ['transposed']
    """
    ctx = context or Context()
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    mine, expected = ctx.names
    for arr, name in ((a, mine), (n, expected)):
        if arr.ndim > 0 and not np.all(np.isfinite(arr)):
            return [
                Hint(
                    NOT_FINITE,
                    f"the {name} gradient holds NaN or infinity"
                    + (
                        ": the inputs are at an overflow or a singularity; choose other inputs"
                        if name == expected
                        else ": look for a division by zero, log(0) or an overflowing exp"
                    ),
                )
            ]
    if a.shape != n.shape:
        shifted = _rule_off_by_one(a, n, ctx)
        return [*(shifted or _rule_shape(a, n, ctx)), *_rule_rebound(a, n, ctx)]
    if a.size == 0 or (relative_error(a, n) < FIT_TOL and not ctx.rebound):
        return []
    if max(float(np.abs(a).max()), float(np.abs(n).max())) < ROUNDOFF_LEVEL:
        roundoff = Hint(
            ROUNDOFF,
            f"both gradients are below {ROUNDOFF_LEVEL:g}, at the round-off level of central "
            "differences: the true gradient is probably zero (e.g. a bias right before batch "
            "normalization, which cancels it), which a relative error cannot judge; drop the "
            "parameter or check this array on its own",
        )
        return [roundoff, *_rule_rebound(a, n, ctx)]
    zero = _rule_zero(a, n, ctx)
    if zero:
        return [*zero, *_rule_rebound(a, n, ctx)]
    hints: list[Hint] = []
    for _, rule in RULES[1:]:
        for hint in rule(a, n, ctx):
            if hint not in hints:
                hints.append(hint)
    return hints
