"""The grading machinery shared by every exercise: call the student's function safely, compare each
returned array with the reference through :func:`tinynet.testing.diagnose`, and collect the hints."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..gradcheck import relative_error
from ..testing import hints as _hints
from ..testing.hints import Context, Hint, diagnose, fits

#: An array passes when its error against the reference (the measure of :mod:`tinynet.gradcheck`) is below this.
RTOL = 1e-6
#: The seeds each exercise is checked with.
SEEDS = (0, 1, 2)
#: How the student's and the reference's arrays are called in hints.
NAMES = ("yours", "reference")

PASSED, FAILED, NOT_IMPLEMENTED, MISSING, ERROR = "passed", "failed", "not implemented", "missing", "error"


@dataclass(frozen=True)
class Mistake:
    """A classic mistake an exercise recognises: ``pattern(inputs)`` is the array it produces.

    Attributes
    ----------
    key : str
        Which returned array the pattern is for (``"dW"``, ``"update"``).
    kind : str
        A short stable name (``"adam without bias correction"``).
    message : str
        What the mistake is and how to fix it.
    pattern : callable
        ``pattern(inputs) -> ndarray``: the array the mistaken implementation returns.
    """

    key: str
    kind: str
    message: str
    pattern: Callable[[dict[str, Any]], np.ndarray]


@dataclass
class Result:
    """The grade of one exercise.

    Attributes
    ----------
    name : str
        The exercise (the function the student writes).
    status : str
        ``"passed"``, ``"failed"``, ``"not implemented"``, ``"missing"`` (no such function) or ``"error"``.
    score : float
        The fraction of the compared arrays (over all seeds) that matched, in [0, 1].
    hints : list of Hint
        The likely mistakes, most specific first, without repeats.
    details : list of str
        One line per array that failed: seed, name, error.
    """

    name: str
    status: str
    score: float = 0.0
    hints: list[Hint] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __str__(self) -> str:
        lines = [f"{self.name}: {self.status} (score {self.score:.2f})"]
        lines += [f"  {d}" for d in self.details]
        lines += [f"  hint: {h}" for h in self.hints]
        return "\n".join(lines)


@dataclass(frozen=True)
class Exercise:
    """One exercise: the function to write, its inputs, its reference and the mistakes it recognises.

    Attributes
    ----------
    name : str
        The student's function, e.g. ``"dense_backward"``.
    topic : str
        The module (and notebook) it belongs to.
    signature : str
        How it is called and what it returns, for the listing.
    make_inputs : callable
        ``make_inputs(rng, seed) -> dict`` of keyword arguments (float64 arrays and numbers), from a
        generator seeded by ``seed`` (which may also choose a case, e.g. a fresh optimizer state for seed 0).
    reference : callable
        ``reference(**inputs) -> dict`` of the expected arrays by key.
    adapt : callable
        ``adapt(returned, inputs) -> dict``: the student's return value as arrays by key
        (raises ``TypeError`` with a message saying what was expected).
    context : callable
        ``context(inputs, expected) -> dict`` of :class:`~tinynet.testing.Context` fields shared by every key.
    mistakes : tuple of Mistake
    """

    name: str
    topic: str
    signature: str
    make_inputs: Callable[[np.random.Generator, int], dict[str, Any]]
    reference: Callable[..., dict[str, np.ndarray]]
    adapt: Callable[[Any, dict[str, Any]], dict[str, np.ndarray]]
    context: Callable[[dict[str, Any], dict[str, np.ndarray]], dict[str, Any]] = lambda inputs, expected: {}
    mistakes: tuple[Mistake, ...] = ()

    def check(self, func: Callable[..., Any] | None, seeds: Sequence[int] = SEEDS) -> Result:
        """Grade ``func`` (the student's implementation; ``None`` when it does not exist)."""
        if func is None:
            return Result(self.name, MISSING, hints=[Hint(MISSING, f"define a function named {self.name}")])
        if not callable(func):
            return Result(
                self.name, ERROR, details=[f"{self.name} is a {type(func).__name__}, not a function"]
            )
        compared = matched = 0
        hints: list[Hint] = []
        said: set[tuple[str, str]] = set()  # (array, kind): one hint of a kind per array, not one per seed
        details: list[str] = []
        for seed in seeds:
            inputs = self.make_inputs(np.random.default_rng([0x636F7572, seed]), seed)
            expected = self.reference(**_copies(inputs))
            given = _copies(inputs)
            try:
                with np.errstate(all="ignore"):
                    returned = func(**given)
            except NotImplementedError:
                return Result(self.name, NOT_IMPLEMENTED, details=["raises NotImplementedError: write it"])
            except Exception as exc:  # the student's code: any failure is a grade, not a crash
                where = _student_line(exc)
                return Result(
                    self.name,
                    ERROR,
                    score=matched / max(compared, 1),
                    details=[f"seed {seed}: {type(exc).__name__}: {exc}{where}"],
                )
            for key, value in inputs.items():
                if isinstance(value, np.ndarray) and not np.array_equal(given[key], value):
                    _add(
                        hints,
                        Hint(
                            _hints.MODIFIES_ARGUMENT,
                            f"{self.name} modified its argument {key!r} in place; compute into new arrays",
                        ),
                    )
            try:
                got = self.adapt(returned, inputs)
            except (TypeError, ValueError) as exc:
                compared += len(expected)
                details.append(f"seed {seed}: {exc}")
                continue
            shared = self.context(inputs, expected)
            for key, ref in expected.items():
                compared += 1
                mine = got.get(key)
                if mine is None:
                    details.append(f"seed {seed}: {key} is missing from the result")
                    _add(hints, Hint(MISSING, f"{key} is not returned (None): compute it as well"))
                    continue
                mine = np.asarray(mine, dtype=np.float64)
                if mine.shape == ref.shape and np.all(np.isfinite(mine)) and relative_error(mine, ref) < RTOL:
                    matched += 1
                    continue
                error = (
                    relative_error(mine, ref)
                    if mine.shape == ref.shape and np.all(np.isfinite(mine))
                    else float("inf")
                )
                shape = f", shape {mine.shape} instead of {ref.shape}" if mine.shape != ref.shape else ""
                details.append(f"seed {seed}: {key} differs from the reference (error {error:.1e}{shape})")
                specific = [
                    Hint(m.kind, m.message)
                    for m in self.mistakes
                    if m.key == key and _fits(m, inputs, mine, ref)
                ]
                if mine.shape == ref.shape and ref.size and not np.any(mine) and np.any(ref):
                    specific.append(Hint(_hints.ZERO, f"{key} is zero everywhere: it was never computed"))
                for h in specific:
                    _add(hints, h, said, key)
                ctx = Context(key=key, names=NAMES, **shared)
                for h in diagnose(mine, ref, ctx):
                    # a named mistake explains the factor better than an unnamed "constant factor"
                    if h.kind == _hints.ZERO or any(
                        s.kind in (h.kind, _hints.FACTOR) or h.kind == _hints.FACTOR for s in specific
                    ):
                        continue
                    _add(hints, h, said, key)
        score = matched / compared if compared else 0.0
        status = PASSED if compared and matched == compared and not hints else FAILED
        return Result(self.name, status, score=score, hints=hints, details=_unique(details))


def _fits(mistake: Mistake, inputs: dict[str, Any], mine: np.ndarray, ref: np.ndarray) -> bool:
    with np.errstate(all="ignore"):  # a mistaken formula may divide by zero where the right one does not
        pattern = np.asarray(mistake.pattern(_copies(inputs)), dtype=np.float64)
    return fits(pattern, mine, ref)


def _copies(inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.copy() if isinstance(v, np.ndarray) else (dict(v) if isinstance(v, dict) else v))
        for k, v in inputs.items()
    }


def _add(hints: list[Hint], hint: Hint, said: set[tuple[str, str]] | None = None, key: str = "") -> None:
    """Append ``hint`` unless it is there already, or (with ``said``) ``key`` has a hint of its kind."""
    if hint in hints or (said is not None and (key, hint.kind) in said):
        return
    hints.append(hint)
    if said is not None:
        said.add((key, hint.kind))


def _unique(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def _student_line(exc: BaseException) -> str:
    """`` (line N of FILE)`` for the innermost frame of the traceback, so that the student finds it."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return ""
    return f" (line {last.tb_lineno} of {last.tb_frame.f_code.co_filename})"


# ---------------------------------------------------------------- adapters
def as_array(
    name: str, shape_of: str | None = None
) -> Callable[[Any, dict[str, Any]], dict[str, np.ndarray]]:
    """The adapter of a function returning one array, compared as key ``name``."""

    def adapt(returned: Any, inputs: dict[str, Any]) -> dict[str, np.ndarray]:
        if returned is None:
            raise TypeError("the function returned None: return the array")
        return {name: np.asarray(returned, dtype=np.float64)}

    return adapt


def as_tuple(*names: str) -> Callable[[Any, dict[str, Any]], dict[str, np.ndarray]]:
    """The adapter of a function returning a tuple of arrays, in the order ``names``."""

    def adapt(returned: Any, inputs: dict[str, Any]) -> dict[str, np.ndarray]:
        if not isinstance(returned, (tuple, list)) or len(returned) != len(names):
            raise TypeError(
                f"expected a tuple of {len(names)} arrays ({', '.join(names)}), got {type(returned).__name__}"
            )
        return {
            n: (None if r is None else np.asarray(r, dtype=np.float64))
            for n, r in zip(names, returned, strict=True)
        }

    return adapt


def as_scalar(name: str) -> Callable[[Any, dict[str, Any]], dict[str, np.ndarray]]:
    """The adapter of a function returning one number."""

    def adapt(returned: Any, inputs: dict[str, Any]) -> dict[str, np.ndarray]:
        value = np.asarray(returned, dtype=np.float64) if returned is not None else None
        if value is None or value.size != 1:
            shape = None if value is None else value.shape
            raise TypeError(
                f"expected one number (the mean loss), got {'None' if value is None else f'an array of shape {shape}'}"
            )
        return {name: value.reshape(())}

    return adapt
