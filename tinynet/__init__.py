"""tinynet: a deep learning engine written from scratch in NumPy, to learn from.

Every formula of training (forward pass, loss, gradient, optimizer update) is
explicit, derived by hand in the docstrings, and verified by tests.
"""

from . import (
    adversarial,
    callbacks,
    datasets,
    explain,
    gradcheck,
    initializers,
    layers,
    losses,
    metrics,
    optimizers,
    plot,
    regularizers,
    schedules,
    serialization,
    testing,
    text,
    utils,
)
from ._config import get_default_dtype, set_default_dtype, set_seed
from .layers.base import register_layer
from .models import Sequential
from .serialization import (
    ModelFileError,
    inspect_model_file,
    load_model,
    load_weights,
    save_model,
    save_weights,
)

__version__ = "0.1.0"

__all__ = [
    "ModelFileError",
    "Sequential",
    "__version__",
    "adversarial",
    "callbacks",
    "datasets",
    "explain",
    "get_default_dtype",
    "gradcheck",
    "initializers",
    "inspect_model_file",
    "layers",
    "load_model",
    "load_weights",
    "losses",
    "metrics",
    "optimizers",
    "plot",
    "register_layer",
    "regularizers",
    "save_model",
    "save_weights",
    "schedules",
    "serialization",
    "set_default_dtype",
    "set_seed",
    "testing",
    "text",
    "utils",
]
