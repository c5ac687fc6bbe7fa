"""tinynet: a deep learning engine written from scratch in NumPy, to learn from.

Every formula of training (forward pass, loss, gradient, optimizer update) is
explicit, derived by hand in the docstrings, and verified by tests.
"""

from . import (
    callbacks,
    datasets,
    gradcheck,
    initializers,
    layers,
    losses,
    metrics,
    optimizers,
    plot,
    regularizers,
    schedules,
    testing,
)
from ._config import get_default_dtype, set_default_dtype, set_seed
from .layers.base import register_layer
from .models import Sequential

__version__ = "0.1.0"

__all__ = [
    "Sequential",
    "__version__",
    "callbacks",
    "datasets",
    "get_default_dtype",
    "gradcheck",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "optimizers",
    "plot",
    "register_layer",
    "regularizers",
    "schedules",
    "set_default_dtype",
    "set_seed",
    "testing",
]
