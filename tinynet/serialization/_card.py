"""Model cards: what a model file says about the model, for the people who deploy it.

A :class:`ModelCard` is a small, validated record saved in the manifest (format
version 3, ``card``): a free-text description, the name and SHA-256 of the
training data, metrics measured at save time, and the tinynet and NumPy versions
that wrote the file (filled in by the save).  It is plain JSON: nothing in it is
executed or looked up, and every field is type- and length-checked on load.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Longest ``description`` accepted, in characters.
MAX_DESCRIPTION = 10_000
#: Longest data name, metric name or version string accepted, in characters.
MAX_NAME = 200
#: Most metrics a card may hold.
MAX_METRICS = 100

_SHA256 = re.compile(r"[0-9a-f]{64}")
_KEYS = {"description", "data", "metrics", "tinynet_version", "numpy_version"}


@dataclass(frozen=True)
class ModelCard:
    """A model's card: description, training data, metrics and versions (saved with the model).

    Attach it with ``model.card = ModelCard(...)`` or pass it to
    ``tn.save_model(model, path, card=...)``; :func:`tinynet.load_model` sets
    ``model.card`` from the file (``None`` when the file has none), and
    ``tinynet inspect`` prints it.

    Parameters
    ----------
    description : str
        Free text (at most 10,000 characters): what the model does, its intended
        use, its limits.
    data_name : str, optional
        The training data's name (at most 200 characters).
    data_sha256 : str, optional
        64 lowercase hexadecimal digits identifying the training data, e.g. from
        :meth:`sha256_of`; needs ``data_name``.
    metrics : mapping of str to float
        Metrics measured at save time (at most 100; finite numbers), e.g.
        ``{"test_accuracy": 0.77}``.
    tinynet_version, numpy_version : str, optional
        The versions that wrote the file: set by the save, whatever is given here.
    """

    description: str = ""
    data_name: str | None = None
    data_sha256: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    tinynet_version: str | None = None
    numpy_version: str | None = None

    def __post_init__(self) -> None:
        metrics = {}
        if isinstance(self.metrics, Mapping):
            for key, value in self.metrics.items():
                number = value
                if isinstance(value, (np.floating, np.integer)) and not isinstance(value, np.bool_):
                    number = value.item()
                metrics[key] = float(number) if type(number) is int else number
        object.__setattr__(self, "metrics", metrics if isinstance(self.metrics, Mapping) else self.metrics)

        def fail(message: str) -> ValueError:
            return ValueError(f"invalid model card: {message}")

        check_card(self.to_json(strict=False), fail, complete=False)

    def to_json(self, strict: bool = True) -> dict[str, Any]:
        """The card as the manifest stores it."""
        data = None
        if self.data_name is not None or self.data_sha256 is not None:
            data = {"name": self.data_name, "sha256": self.data_sha256}
        return {
            "description": self.description,
            "data": data,
            "metrics": dict(self.metrics) if isinstance(self.metrics, Mapping) else self.metrics,
            "tinynet_version": self.tinynet_version,
            "numpy_version": self.numpy_version,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ModelCard:
        """The card of a validated manifest entry."""
        data = value["data"] or {}
        return cls(
            description=value["description"],
            data_name=data.get("name"),
            data_sha256=data.get("sha256"),
            metrics={k: float(v) for k, v in value["metrics"].items()},
            tinynet_version=value["tinynet_version"],
            numpy_version=value["numpy_version"],
        )

    @staticmethod
    def sha256_of(*arrays: np.ndarray) -> str:
        """A SHA-256 identifying data arrays: each array's dtype, shape and C-order bytes, in turn.

        ``ModelCard(data_name="pima", data_sha256=ModelCard.sha256_of(x, y))``.
        """
        h = hashlib.sha256()
        for array in arrays:
            a = np.ascontiguousarray(array)
            if a.dtype.hasobject:
                raise ValueError("sha256_of hashes numeric arrays, not object arrays")
            h.update(f"{a.dtype.str}{a.shape}".encode("ascii"))
            h.update(a.reshape(-1).view(np.uint8))
        return h.hexdigest()

    def __str__(self) -> str:
        lines = [self.description or "(no description)"]
        if self.data_name is not None:
            lines.append(
                f"Data: {self.data_name}" + (f" (sha256 {self.data_sha256})" if self.data_sha256 else "")
            )
        if self.metrics:
            lines.append("Metrics: " + ", ".join(f"{k} {v:.6g}" for k, v in self.metrics.items()))
        if self.tinynet_version:
            lines.append(f"Written by tinynet {self.tinynet_version}, NumPy {self.numpy_version}")
        return "\n".join(lines)


def _text(value: Any, where: str, fail: Callable[[str], Exception], limit: int, empty: bool = False) -> None:
    if not isinstance(value, str) or len(value) > limit or (not empty and not value):
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        size = "a" if empty else "a non-empty"
        raise fail(f"{where} must be {size} string of at most {limit:,} characters, found {shown}")


def check_card(value: Any, fail: Callable[[str], Exception], complete: bool = True) -> None:
    """Validate a card as stored in a manifest (``complete``: the versions must be set)."""
    if not isinstance(value, dict) or set(value) != _KEYS:
        found = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise fail(f"'card' must be an object with keys {', '.join(sorted(_KEYS))}, found {found}")
    _text(value["description"], "'card.description'", fail, MAX_DESCRIPTION, empty=True)
    data = value["data"]
    if data is not None:
        if not isinstance(data, dict) or set(data) != {"name", "sha256"}:
            raise fail("'card.data' must be null or an object with keys name and sha256")
        _text(data["name"], "'card.data.name'", fail, MAX_NAME)
        digest = data["sha256"]
        if digest is not None and (not isinstance(digest, str) or not _SHA256.fullmatch(digest)):
            raise fail(
                f"'card.data.sha256' must be null or 64 lowercase hex digits, found {str(digest)[:80]!r}"
            )
    metrics = value["metrics"]
    if not isinstance(metrics, dict) or len(metrics) > MAX_METRICS:
        raise fail(f"'card.metrics' must be an object of at most {MAX_METRICS} name: number pairs")
    for name, number in metrics.items():
        _text(name, "a name in 'card.metrics'", fail, MAX_NAME)
        if type(number) not in (int, float) or not math.isfinite(number):
            raise fail(f"'card.metrics'[{name[:50]!r}] must be a finite number, found {str(number)[:60]!r}")
    for key in ("tinynet_version", "numpy_version"):
        if value[key] is None and not complete:
            continue
        _text(value[key], f"'card.{key}'", fail, 64)
