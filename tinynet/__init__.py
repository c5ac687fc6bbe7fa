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
from .layers.base import Input, register_layer
from .models import Model, Sequential
from .quantization import quantize
from .serialization import (
    ModelCard,
    ModelFileError,
    inspect_model_file,
    load_model,
    load_weights,
    save_model,
    save_weights,
)

__version__ = "0.1.0"


def __getattr__(name: str):
    # optional parts, imported on first use so that ``import tinynet`` stays NumPy-only:
    # tn.export_onnx needs the onnx package; tn.serving is the HTTP prediction server
    if name == "export_onnx":
        from .onnx_export import export_onnx

        return export_onnx
    if name == "serving":
        import importlib

        return importlib.import_module(".serving", __name__)
    raise AttributeError(f"module 'tinynet' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "export_onnx", "serving"})


__all__ = [
    "Input",
    "Model",
    "ModelCard",
    "ModelFileError",
    "Sequential",
    "__version__",
    "adversarial",
    "callbacks",
    "datasets",
    "explain",
    "export_onnx",
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
    "quantize",
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
