"""Global settings: the default floating-point precision and the seeded generator.

tinynet never touches numpy's global random state.  Everything random (weight
initialisation, each model's own generator for shuffling and dropout) is drawn
from one :class:`numpy.random.Generator` owned by this module, so that
``tn.set_seed(n)`` fixes every number a script produces.
"""

from __future__ import annotations

import numpy as np

_state: dict = {
    "dtype": np.dtype(np.float32),
    "rng": np.random.default_rng(),
}


def set_default_dtype(dtype: type | np.dtype | str) -> None:
    """Set the floating-point precision of new parameters and inputs.

    Parameters
    ----------
    dtype : {np.float32, np.float64}
        ``float32`` (the default) is fast; ``float64`` is what gradient checks use.
    """
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"default dtype must be float32 or float64, got {dt}")
    _state["dtype"] = dt


def get_default_dtype() -> np.dtype:
    """Return the floating-point precision used for new parameters and inputs."""
    return _state["dtype"]


def set_seed(seed: int | None) -> None:
    """Seed tinynet's random generator.

    After ``set_seed(n)``, building and training a model gives bit-identical
    weights on every run with the same NumPy and BLAS on the same machine (the
    FAQ says what "bit for bit" promises): initializers draw from this
    generator, and every new model seeds its own generator (for shuffling and
    dropout) from it.

    Parameters
    ----------
    seed : int or None
        The seed; ``None`` draws fresh entropy from the operating system.
    """
    _state["rng"] = np.random.default_rng(seed)


def get_rng() -> np.random.Generator:
    """Return tinynet's global generator (used by initializers and new models)."""
    return _state["rng"]


def new_generator() -> np.random.Generator:
    """Return a new generator seeded from the global one (one per model)."""
    return np.random.default_rng(int(get_rng().integers(2**63)))
