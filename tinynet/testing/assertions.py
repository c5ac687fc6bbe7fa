r"""Assertions that check gradients, for tests of your own layers, losses and models.

Each assertion compares a hand-derived backward pass with float64 central
differences (:mod:`tinynet.gradcheck`) under a random upstream gradient
:math:`G`, so that it checks the whole Jacobian product
:math:`\partial (\sum_k G_k y_k) / \partial x`, not a sum that could hide
errors cancelling across outputs.  An array passes when

.. math:: e = \frac{\max_i |a_i - n_i|}{\max\big(\max_i |a_i|,\ \max_i |n_i|,\ 10^{-12}\big)} < \mathrm{rtol}

for its analytic gradient :math:`a` and numerical gradient :math:`n`.  On failure
the :class:`AssertionError` message is a small table (each array, its error,
the worst element with both values there) followed by hints from
:mod:`tinynet.testing.hints` when the pattern suggests a classic mistake.

Besides the values, the assertions check the layer protocol: ``forward`` and
``backward`` must not modify their arguments, ``grads`` must be written in
place (never rebound), and a second identical call must give the same
gradients (no ``+=`` accumulation across calls).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..gradcheck import DEFAULT_EPS, layer_gradients, loss_gradients, model_gradients, relative_error
from ..layers.base import Layer
from . import hints as _hints
from .hints import Context, Hint, diagnose

__all__ = [
    "assert_layer_gradients",
    "assert_loss_gradients",
    "assert_model_gradients",
    "assert_same_as",
]


#: Mixed into the seeds of the random numbers drawn here (see :func:`_upstream_rng`).
_SALT = 0x74696E79


# --------------------------------------------------------------------------- report
@dataclass
class _Row:
    """One line of a report: one array compared with its expected values."""

    key: str
    analytic: np.ndarray
    numeric: np.ndarray
    context: Context
    seed: int | None = None
    notes: list[Hint] = field(default_factory=list)
    error: float = 0.0

    def __post_init__(self) -> None:
        a, n = self.analytic, self.numeric
        if a.shape != n.shape:
            self.error = float("inf")
        elif not (np.all(np.isfinite(a)) and np.all(np.isfinite(n))):
            self.error = float("nan")
        else:
            self.error = relative_error(a, n)

    def failed(self, rtol: float) -> bool:
        return not self.error < rtol or bool(self.notes)

    def cells(self, rtol: float) -> list[str]:
        a, n = self.analytic, self.numeric
        status = "FAIL" if self.failed(rtol) else "ok"
        if a.shape != n.shape:
            worst, va, vn = "-", f"shape {a.shape}", f"shape {n.shape}"
        elif a.size == 0:
            worst, va, vn = "-", "-", "-"
        else:
            with np.errstate(invalid="ignore", over="ignore"):
                diff = np.abs(a - n)
            diff = np.where(np.isnan(diff), np.inf, diff)
            flat = int(np.argmax(diff))
            idx = np.unravel_index(flat, a.shape)
            worst = str(tuple(int(i) for i in idx))
            va, vn = f"{a.reshape(-1)[flat]:.6g}", f"{n.reshape(-1)[flat]:.6g}"
        error = "inf" if self.error == float("inf") else f"{self.error:.1e}"
        cells = [self.key, str(n.shape), error, status, worst, va, vn]
        return cells if self.seed is None else [str(self.seed), *cells]

    def hints(self) -> list[Hint]:
        found = diagnose(self.analytic, self.numeric, self.context)
        return [*self.notes, *(h for h in found if h not in self.notes)]


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(headers), *map(list, rows)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(headers))]
    return "\n".join(
        "  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _report(
    title: str, rows: list[_Row], rtol: float, names: tuple[str, str], notes: Sequence[Hint] = ()
) -> str:
    headers = ["array", "shape", "error", "", "worst index", *names]
    if any(r.seed is not None for r in rows):
        headers = ["seed", *headers]
    lines = [
        title,
        f"An array passes when error = max|{names[0]} - {names[1]}| / max(|{names[0]}|, |{names[1]}|) "
        f"< rtol = {rtol:g}.",
        "",
        _table(headers, (r.cells(rtol) for r in rows)),
    ]
    seen: dict[tuple[str, Hint], list[int]] = {}  # the same hint for several seeds is shown once
    for r in rows:
        if r.failed(rtol):
            for h in r.hints():
                seen.setdefault((r.key, h), []).extend([] if r.seed is None else [r.seed])
    hint_lines = []
    for (key, h), seeds in seen.items():
        label = (
            key if not seeds else f"{key} (seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))})"
        )
        hint_lines.append(f"  {label}: {h}")
    hint_lines.extend(f"  layer: {note}" for note in notes)
    if hint_lines:
        lines += ["", "Hints:", *hint_lines]
    return "\n".join(lines)


def _copy(value: Any) -> np.ndarray:
    return np.array(value, dtype=np.float64, copy=True)


def _upstream_rng(seed: int) -> np.random.Generator:
    """The generator of the upstream gradient: a stream of its own, so that :math:`G` never equals
    inputs a test drew with ``default_rng(seed)`` (with :math:`G = x`, :math:`x^\top G` is symmetric
    and a transposed weight gradient would pass)."""
    return np.random.default_rng([_SALT, seed])


def _build_float64(layer: Layer, sample_shape: tuple[int, ...]) -> None:
    """Build an unbuilt layer in float64 (as :func:`tinynet.gradcheck.layer_gradients` does)."""
    if not layer.built:
        layer.dtype = np.dtype(np.float64)
        layer.build(sample_shape)


def _check_protocol(layer: Layer, owner: str) -> None:
    if set(layer.params) != set(layer.grads):
        raise AssertionError(
            f"{owner}: params and grads must have the same keys, got params {sorted(layer.params)} and "
            f"grads {sorted(layer.grads)}; create each parameter with self.add_param(key, ...)"
        )
    for key, p in layer.params.items():
        if layer.grads[key].shape != p.shape:
            raise AssertionError(
                f"{owner}: grads[{key!r}] has shape {layer.grads[key].shape} but params[{key!r}] has "
                f"shape {p.shape}; they must match"
            )


def _differs(again: np.ndarray | None, first: np.ndarray) -> bool:
    """Whether a repeated, identical computation gave a different array."""
    if again is None or again.shape != first.shape:
        return False
    return not (np.all(np.isfinite(again)) and relative_error(again, first) < 1e-9)


def _verdict(rows: list[_Row], rtol: float, plural: bool = False) -> str:
    """What the title says: the values disagree, or only the layer protocol is broken."""
    s = "" if plural else "s"
    if any(not r.error < rtol for r in rows):
        return f"disagree{s} with central differences"
    return f"match{'' if plural else 'es'} central differences but break{s} the layer protocol"


def _name(layer: Any) -> str:
    return f"{type(layer).__name__} {layer.name!r}" if getattr(layer, "name", None) else type(layer).__name__


# ---------------------------------------------------------------------- layers
def assert_layer_gradients(
    layer: Layer,
    x: np.ndarray,
    *,
    training: bool = True,
    seed: int = 0,
    rtol: float = 1e-6,
    eps: float = DEFAULT_EPS,
) -> dict[str, float]:
    r"""Assert that a layer's backward pass matches central differences.

    The input gradient and every parameter gradient of ``backward(G)`` are
    compared with numerical gradients of :math:`f = \sum_k G_k\, y_k` for a
    random upstream gradient :math:`G \sim \mathcal N(0, 1)` (seeded).

    Parameters
    ----------
    layer : Layer
        Not built yet (it is then built in float64 for ``x``), or built in float64.
    x : array_like
        A batch of inputs; float64 copies are used, ``x`` is never modified.
        Keep it away from kinks (ReLU at 0): see :mod:`tinynet.testing.strategies`.
    training : bool
        Which mode to check (dropout and batch normalization differ).
    seed : int
        Seeds :math:`G` (from a stream of its own, so that it never equals an
        ``x`` drawn with ``default_rng(seed)``) and the layer's random numbers
        (the dropout mask, ``default_rng(seed + 1)`` as in :mod:`tinynet.gradcheck`).
    rtol : float
        Largest error allowed (see the module docstring).
    eps : float
        The central-difference step :math:`h`.

    Returns
    -------
    dict
        ``{"input": e, "W": e, ...}``, the error of each array.

    Raises
    ------
    AssertionError
        With a table of the arrays and hints, when an array fails, or when the
        layer breaks the protocol (modifies its arguments, rebinds ``grads``,
        accumulates gradients across calls).
    ValueError
        When the layer was built in float32.

    Examples
    --------
    >>> import numpy as np
    >>> import tinynet as tn
    >>> from tinynet.testing import assert_layer_gradients
    >>> x = np.random.default_rng(0).normal(size=(3, 4))
    >>> errors = assert_layer_gradients(tn.layers.Dense(2, activation="tanh"), x)
    >>> sorted(errors)
    ['W', 'b', 'input']
    """
    owner = _name(layer)
    x = _copy(x)
    if x.ndim < 1:
        raise ValueError(f"x must be a batch of inputs with a batch axis, got shape {x.shape}")
    _build_float64(layer, x.shape[1:])
    _check_protocol(layer, owner)
    saved_rng = layer.rng
    saved_state = {k: v.copy() for k, v in layer.state.items()}
    arrays_before = {("grads", k): v for k, v in layer.grads.items()}
    arrays_before.update({("params", k): v for k, v in layer.params.items()})
    notes: list[Hint] = []

    def restore_state() -> None:
        for k, v in saved_state.items():
            layer.state[k][...] = v

    def run(x_in: np.ndarray) -> np.ndarray:
        layer.rng = np.random.default_rng(seed + 1)  # the convention of gradcheck.layer_gradients
        return layer.forward(x_in, training=training)

    try:
        x_in = x.copy()
        y = _copy(run(x_in))
        if not np.array_equal(x_in, x):
            notes.append(
                Hint(
                    _hints.MODIFIES_ARGUMENT,
                    "forward modified its input x in place: compute into a new array (or a buffer) "
                    "instead, e.g. np.maximum(x, 0) rather than x[x < 0] = 0",
                )
            )
        restore_state()
        G = _upstream_rng(seed).standard_normal(y.shape)
        pairs = layer_gradients(layer, x, seed=seed, training=training, eps=eps, grad_output=G.copy())
        # a second identical call must give the same gradients
        restore_state()
        run(x.copy())
        G2 = G.copy()
        dx2 = _copy(layer.backward(G2))
        grads2 = {k: _copy(g) for k, g in layer.grads.items()}
        if not np.array_equal(G2, G):
            notes.append(
                Hint(
                    _hints.MODIFIES_ARGUMENT,
                    "backward modified grad_output in place: the array belongs to the caller (the next "
                    "layer or the loss); write into a new array or a buffer",
                )
            )
    finally:
        restore_state()
        layer.rng = saved_rng

    rebound = {k for (kind, k), v in arrays_before.items() if getattr(layer, kind).get(k) is not v}
    rows = []
    for key, (a, n) in pairs.items():
        ctx = Context(
            key=key,
            batch_size=x.shape[0] if x.ndim else None,
            value=x if key == "input" else _copy(layer.params[key]),
            output=y,
            upstream=G,
            rebound=key in rebound,
        )
        row = _Row(key, a, n, ctx)
        again = dx2 if key == "input" else grads2.get(key)
        if row.error < rtol and _differs(again, a):
            row.notes.append(
                Hint(
                    _hints.ACCUMULATES,
                    "a second identical forward/backward gave different gradients: overwrite grads "
                    "(self.grads[key][...] = value) instead of adding to them (+=), and keep no "
                    "state between calls",
                )
            )
        if key in rebound:
            row.notes.append(_hints.rebound_hint(key))
        rows.append(row)
    if notes or any(r.failed(rtol) for r in rows):
        mode = "training" if training else "inference"
        title = (
            f"{owner}: the backward pass {_verdict(rows, rtol)} "
            f"(float64, h={eps:g}, seed={seed}, {mode} mode, x of shape {x.shape})."
        )
        raise AssertionError(_report(title, rows, rtol, ("analytic", "numerical"), notes))
    return {r.key: r.error for r in rows}


# ---------------------------------------------------------------------- losses
def assert_loss_gradients(
    loss: Any,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    rtol: float = 1e-6,
    eps: float = DEFAULT_EPS,
) -> float:
    r"""Assert that ``loss.backward()`` is the gradient of ``loss.forward`` with respect to ``y_pred``.

    Parameters
    ----------
    loss : Loss
        An object with ``forward(y_true, y_pred, sample_weight=None) -> float``
        and ``backward() -> ndarray`` (see :mod:`tinynet.losses`).
    y_true : array_like
        Targets (or integer labels for the sparse loss).
    y_pred : array_like
        Predictions, converted to a float64 copy.  Keep them away from kinks
        (``y_pred = y_true`` for the absolute error, the clipping of
        probabilities at :math:`10^{-7}` and :math:`1 - 10^{-7}`).
    sample_weight : array_like, optional
        Per-sample weights passed to ``forward``.
    rtol, eps : float
        As in :func:`assert_layer_gradients`.

    Returns
    -------
    float
        The error of the gradient.

    Raises
    ------
    AssertionError
        With a one-row table and hints (e.g. ``missing 1/N``) on failure.
    """
    y_pred = _copy(y_pred)
    analytic, numeric = loss_gradients(loss, y_true, y_pred, sample_weight, eps)
    ctx = Context(
        key="y_pred",
        batch_size=y_pred.shape[0] if y_pred.ndim else None,
        sample_size=int(np.prod(y_pred.shape[1:])) if y_pred.ndim > 1 else None,
        value=y_pred,
    )
    row = _Row("y_pred", analytic, numeric, ctx)
    if row.failed(rtol):
        title = (
            f"{type(loss).__name__}: backward() is not the gradient of forward() with respect to y_pred "
            f"(float64 central differences, h={eps:g})."
        )
        raise AssertionError(_report(title, [row], rtol, ("analytic", "numerical")))
    return row.error


# ---------------------------------------------------------------------- models
def assert_model_gradients(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    *,
    seed: int = 0,
    rtol: float = 1e-6,
    eps: float = DEFAULT_EPS,
) -> dict[str, float]:
    """Assert that a compiled model's gradients match central differences of its loss.

    Every parameter of every layer (``model.named_grads()``, the arrays the
    optimizer reads) is compared with the numerical gradient of the loss of
    ``model.compute_gradients(x, y)``, the exact quantity a training step
    differentiates (fused output activations included).

    Parameters
    ----------
    model : Sequential
        Compiled; built in float64, or not built (its layers are then built in
        float64), e.g. inside ``with tn.gradcheck.float64_defaults():``.
    x, y : array_like
        A batch of inputs and targets.
    seed : int
        Seeds the model's random numbers (dropout) for every evaluation.
    rtol, eps : float
        As in :func:`assert_layer_gradients`.

    Returns
    -------
    dict
        ``{"dense/W": e, ...}``.

    Raises
    ------
    AssertionError
        With a table and hints on failure (a layer that rebinds ``grads``
        shows up here as a ``zero gradient`` plus a ``rebound array`` hint).
    """
    pairs = model_gradients(model, x, y, seed=seed, eps=eps)
    x = np.asarray(x)
    grads, params = model.named_grads(), model.named_params()
    rebound = {
        f"{layer.name}/{key}"
        for layer in model.layers
        for key in layer.params
        if layer.grads.get(key) is not grads.get(f"{layer.name}/{key}")
        or layer.params.get(key) is not params.get(f"{layer.name}/{key}")
    }
    # a second identical call must give the same gradients
    saved_state = [{k: v.copy() for k, v in layer.state.items()} for layer in model.layers]
    model.reseed(seed)
    model.compute_gradients(x, y)
    again = {name: _copy(g) for name, g in grads.items()}
    for layer, state in zip(model.layers, saved_state, strict=True):
        for k, v in state.items():
            layer.state[k][...] = v
    rows = []
    for name, (a, n) in pairs.items():
        ctx = Context(key=name, batch_size=len(x), value=_copy(params[name]), rebound=name in rebound)
        row = _Row(name, a, n, ctx)
        if row.error < rtol and _differs(again[name], a):
            row.notes.append(
                Hint(
                    _hints.ACCUMULATES,
                    "a second identical training step gave different gradients: overwrite grads instead "
                    "of adding to them (+=)",
                )
            )
        rows.append(row)
    if any(r.failed(rtol) for r in rows):
        title = (
            f"{getattr(model, 'name', type(model).__name__)}: the gradients of the loss "
            f"{_verdict(rows, rtol, plural=True)} "
            f"(float64, h={eps:g}, seed={seed}, x of shape {x.shape})."
        )
        raise AssertionError(_report(title, rows, rtol, ("analytic", "numerical")))
    return {r.key: r.error for r in rows}


# ------------------------------------------------------------- two implementations
def _as_batch(x: np.ndarray | Sequence[int], seed: int) -> np.ndarray:
    if isinstance(x, tuple) and all(isinstance(s, (int, np.integer)) for s in x):
        return np.random.default_rng([_SALT, seed, 1]).standard_normal(x)
    return _copy(x)


def assert_same_as(
    layer: Layer,
    reference_layer: Layer,
    x: np.ndarray | tuple[int, ...],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    training: bool = True,
    randomize: bool = True,
    rtol: float = 1e-6,
) -> None:
    r"""Assert that two implementations of a layer compute the same thing.

    For a course: ``layer`` is a student's ``Dense``, ``reference_layer``
    tinynet's.  Both are built for ``x`` (in float64 when not built yet), the
    reference's parameters are copied into ``layer`` (matched by key and
    shape), and for every seed both run ``forward`` on the same inputs and
    ``backward`` on the same random upstream gradient :math:`G`; the outputs,
    the input gradients and every parameter gradient must agree within
    ``rtol`` (the error measure of :mod:`tinynet.gradcheck`).

    Parameters
    ----------
    layer : Layer
        The implementation under test.
    reference_layer : Layer
        The trusted implementation.
    x : array_like or tuple of int
        A batch of inputs used for every seed, or the shape of one (then fresh
        :math:`\mathcal N(0, 1)` inputs are drawn for each seed).
    seeds : sequence of int
        One comparison per seed: it seeds :math:`G`, the parameters (when
        ``randomize``), the inputs (when ``x`` is a shape) and both layers'
        random numbers.
    training : bool
        The mode of the forward passes.
    randomize : bool
        Draw every parameter from :math:`\mathcal N(0, 1)` for each seed (in
        both layers) rather than keep the reference's initial values, so that
        a bias initialised to zero cannot hide a forgotten bias.  The
        reference's parameters are overwritten.
    rtol : float
        Largest error allowed.

    Raises
    ------
    AssertionError
        When the parameters differ in keys or shapes, or when an output or a
        gradient differs; the message is a table with hints.
    """
    student, reference = _name(layer), _name(reference_layer)
    if not seeds:
        raise ValueError("assert_same_as needs at least one seed")
    sample_shape = tuple(np.shape(_as_batch(x, seeds[0])))[1:]
    for lay in (layer, reference_layer):
        _build_float64(lay, sample_shape)
    _check_protocol(layer, student)
    _check_protocol(reference_layer, reference)
    shapes = {k: v.shape for k, v in layer.params.items()}
    ref_shapes = {k: v.shape for k, v in reference_layer.params.items()}
    if shapes != ref_shapes:
        lines = [
            f"{student} and {reference} do not have the same parameters, so the weights cannot be shared:",
            "",
            _table(
                ["key", f"{type(layer).__name__} (yours)", f"{type(reference_layer).__name__} (reference)"],
                (
                    [k, str(shapes.get(k, "missing")), str(ref_shapes.get(k, "missing"))]
                    for k in sorted(set(shapes) | set(ref_shapes))
                ),
            ),
        ]
        for k in sorted(set(shapes) & set(ref_shapes)):
            if shapes[k] != ref_shapes[k] and shapes[k] == ref_shapes[k][::-1]:
                lines.append(f"\nHint: {k!r} is stored transposed: the reference uses shape {ref_shapes[k]}.")
        raise AssertionError("\n".join(lines))
    for lay, who in ((layer, student), (reference_layer, reference)):
        for key, p in lay.params.items():
            if p.dtype != np.float64:
                raise ValueError(
                    f"assert_same_as needs float64: {who} parameter {key!r} is {p.dtype}; pass layers that "
                    "are not built yet, or build them after tn.set_default_dtype(np.float64)"
                )

    rows: list[_Row] = []
    names = ("yours", "reference")
    for seed in seeds:
        xs = _as_batch(x, seed)
        rng = _upstream_rng(seed)
        for key, p in reference_layer.params.items():
            if randomize:
                p[...] = rng.standard_normal(p.shape)
            layer.params[key][...] = p
        for key, s in reference_layer.state.items():
            if key in layer.state and layer.state[key].shape == s.shape:
                layer.state[key][...] = s
        results = []
        for lay in (layer, reference_layer):
            lay.rng = np.random.default_rng(seed + 1)
            results.append(_copy(lay.forward(xs.copy(), training=training)))
        y, y_ref = results
        rows.append(_Row("output", y, y_ref, Context(key="output", batch_size=len(xs), names=names), seed))
        if y.shape != y_ref.shape:
            continue
        G = rng.standard_normal(y_ref.shape)
        dx, dx_ref = (_copy(lay.backward(G.copy())) for lay in (layer, reference_layer))
        common = {"batch_size": len(xs), "output": y_ref, "upstream": G, "names": names}
        rows.append(_Row("input", dx, dx_ref, Context(key="input", value=xs, **common), seed))
        for key in reference_layer.grads:
            ctx = Context(key=key, value=_copy(reference_layer.params[key]), **common)
            rows.append(_Row(key, _copy(layer.grads[key]), _copy(reference_layer.grads[key]), ctx, seed))
    if any(r.failed(rtol) for r in rows):
        title = (
            f"{student} (yours) and {reference} (reference) disagree "
            f"(float64, shared weights, {'training' if training else 'inference'} mode, seeds {list(seeds)})."
        )
        raise AssertionError(_report(title, rows, rtol, names))
