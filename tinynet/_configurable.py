"""A mixin for small objects described entirely by their constructor arguments."""

from __future__ import annotations

from typing import Any


class Configurable:
    """An object whose ``get_config()`` returns its constructor's keyword arguments, JSON-able.

    That one method gives the rest: :meth:`from_config` rebuilds the object, and
    the representation, equality and hash all follow from the configuration.
    Regularizers and learning-rate schedules are such objects, which is what
    lets a model file store them as ``{"class_name": ..., "config": ...}``.
    """

    def get_config(self) -> dict[str, Any]:
        """The constructor's keyword arguments, JSON-able."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        """Rebuild the object from :meth:`get_config`'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(sorted(self.get_config().items()))))
