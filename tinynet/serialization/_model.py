"""Models to manifests and back: what a model file says, and the safe rebuild from it.

Saving turns a :class:`~tinynet.Sequential` into a manifest (architecture,
compile settings, training progress) plus named arrays, and hands both to
:mod:`._archive`.  Loading validates the manifest's schema field by field, then
rebuilds the model using only fixed lookups: layer classes from
:data:`tinynet.layers.LAYER_REGISTRY`, losses, optimizers, metrics and schedules
from their modules' dicts.  No name found in a file is ever imported.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import _config
from ..layers.base import LAYER_REGISTRY, Layer
from ..models import Sequential  # one way only: models never imports this package at import time
from ._archive import MAX_MEMBERS, MAX_NDIM, Archive, _all_finite, _describe
from ._configs import check_config
from ._errors import ModelFileError
from ._version import FORMAT_NAME

#: The generators whose state a model file can hold (a fixed list, like every lookup here).
BIT_GENERATORS = ("PCG64",)
# The modules defining tinynet's built-in layers: imported (a fixed list, never a name from a
# file) so that their classes are in the registry whatever the user imported.
_BUILTIN_LAYER_MODULES = (
    "activations",
    "core",
    "dense",
    "normalization",
    "conv",
    "pooling",
    "reshape",
    "merge",
    "embedding",
    "recurrent",
    "attention",
)
_MAX_INT = 2**63 - 1
_MAX_DIM = 2**31 - 1
#: The largest ``epochs_done`` and ``optimizer_iterations`` a file may hold: 2**53 - 1, the largest
#: integer every JSON reader holds exactly (many parse numbers as doubles).  A step a microsecond
#: would take 285 years to reach it; a file claiming more is damaged or forged.
MAX_COUNTER = 2**53 - 1

Fail = Callable[[str], ModelFileError]


def import_builtin_layers() -> None:
    """Make sure every built-in layer class is registered."""
    for module in _BUILTIN_LAYER_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(f"tinynet.layers.{module}")


# ====================================================================== saving
def _part(text: str) -> str:
    """A piece of an array name: a readable, safe version of a layer name or key."""
    part = re.sub(r"[^A-Za-z0-9_.\-]", "_", str(text))[:60]
    return part if part and (part[0].isalnum() or part[0] == "_") else "_" + part[:59]


def _unique(name: str, used: set[str]) -> str:
    candidate, k = name, 1
    while candidate in used:
        candidate, k = f"{name}_{k}", k + 1
    used.add(candidate)
    return candidate


def _jsonable(value: Any, what: str) -> Any:
    import json

    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} cannot be saved: it is not plain JSON ({exc})") from None
    return value


def registered_name(layer: Layer) -> str:
    """The name under which ``type(layer)`` is registered; ValueError when it is not."""
    cls = type(layer)
    name = cls.__dict__.get("registered_name", "")  # not inherited: a subclass needs its own registration
    if not name or LAYER_REGISTRY.get(name) is not cls:
        raise ValueError(
            f"layer {layer.name!r} is a {cls.__qualname__}, which is not a registered layer class, so a "
            "model file could not name it; decorate the class with @tn.register_layer"
        )
    return name


def model_dtype(model) -> np.dtype:
    """The floating-point type of the model's parameters."""
    params = model.named_params()
    if params:
        return next(iter(params.values())).dtype
    first = model.layers[0] if model.layers else None
    return np.dtype(getattr(first, "dtype", None) or _config.get_default_dtype())


def model_manifest(
    model,
    *,
    kind: str = "model",
    include_compile: bool = True,
    allow_nonfinite: bool = False,
    quantize: bool = False,
    card=None,
) -> tuple[dict[str, Any], list[tuple[str, np.ndarray]]]:
    """The manifest (without its ``arrays`` listing) and the named arrays of ``model``.

    Parameters
    ----------
    model : Sequential
    kind : {"model", "weights"}
        ``"weights"`` leaves out the compile settings, the training progress and
        the optimizer state.
    include_compile : bool
        With False, a full model file is written as for an uncompiled model.
    allow_nonfinite : bool
        Store NaN or infinite values; refused by default, as loading refuses them.
    quantize : bool
        Store the kernels of :data:`tinynet.quantization.QUANTIZED_PARAMS` as int8
        with per-output-channel float32 scales, every array packed into one buffer
        (format version 6): then the manifest has the ``packed`` object and the
        arrays returned are none (the buffer is embedded in the manifest) or the
        buffer (see :mod:`._packed`).
    card : ModelCard, optional
        The model card to store (format version 3); its versions are set here.
    """
    from .. import __version__
    from ._archive import storable

    if not model.layers:
        raise ValueError("cannot save a model without layers")
    if not model.built:
        try:
            model.build()
        except ValueError as exc:
            raise ValueError(
                f"cannot save the model before it is built ({exc}); call model.build(input_shape) or train it"
            ) from None
    dtype = model_dtype(model)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"model files hold float32 or float64 models, this one is {dtype}")
    arrays: list[tuple[str, np.ndarray]] = []
    used: set[str] = set()

    def add(name: str, array: np.ndarray, what: str) -> str:
        name = _unique(name, used)
        array = storable(name, array)
        if not allow_nonfinite and array.dtype.kind == "f" and not _all_finite(array):
            raise ValueError(
                f"cannot save the model: {what} holds NaN or infinite values (training diverged?), which "
                "load_model would refuse; pass allow_nonfinite=True to save it anyway (and to load it)"
            )
        arrays.append((name, array))
        return name

    from ..quantization import QUANTIZED_PARAMS, quantize_per_channel

    layers = []
    any_quantized = False
    for i, layer in enumerate(model.layers):
        class_name = registered_name(layer)
        config = _jsonable(layer.get_config(), f"the configuration of layer {layer.name!r} ({class_name})")
        prefix = f"layers/{i:02d}_{_part(layer.name)}"
        where = f"layer {i} ({layer.name})'s"
        axes = QUANTIZED_PARAMS.get(class_name, {}) if quantize else {}
        params, quantized = {}, {}
        for key, value in layer.params.items():
            if key in axes and value.ndim > axes[key]:
                if not _all_finite(value):
                    raise ValueError(
                        f"cannot quantize the model: {where} parameter {key!r} holds NaN or infinity"
                    )
                q, scale = quantize_per_channel(value, axes[key])
                params[key] = add(f"{prefix}/{_part(key)}", q, f"{where} parameter {key!r}")
                scale_name = add(f"{prefix}/{_part(key)}.scale", scale, f"{where} scales of {key!r}")
                quantized[key] = {"scale": scale_name, "axis": axes[key]}
            else:
                params[key] = add(f"{prefix}/{_part(key)}", value, f"{where} parameter {key!r}")
        state = {
            key: add(f"{prefix}/state/{_part(key)}", value, f"{where} state {key!r}")
            for key, value in layer.state.items()
        }
        any_quantized = any_quantized or bool(quantized)
        layers.append(
            {
                "class_name": class_name,
                "config": config,
                "params": params,
                "state": state,
                "quantized": quantized,
            }
        )

    manifest: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": 1,  # the oldest version that can hold the file (see the end of this function)
        "tinynet_version": __version__,
        "kind": kind,
        "model": {
            "class_name": "Sequential",
            "name": str(model.name),
            "dtype": dtype.name,
            "input_shape": [int(s) for s in model.input_shapes[0]]
            if model._graph is not None
            else [int(s) for s in model.input_shape],
        },
        "layers": layers,
        "compile": None,
        "training": None,
    }
    if model._graph is not None:  # a functional model: its graph (format version 5)
        manifest["model"]["class_name"] = "Model"
        graph = model._graph
        manifest["model"]["graph"] = _jsonable(
            {"inputs": graph["inputs"], "inbound": graph["inbound"], "outputs": graph["outputs"]}, "the graph"
        )
    card_json = None if card is None else _card_json(card)
    if kind == "weights":
        check_configs(manifest, _saving)
        return _packed(_versioned(manifest, any_quantized, card_json), arrays, any_quantized)
    compiled = include_compile and model.loss is not None and model.optimizer is not None
    if compiled:
        manifest["compile"] = _compile_settings(model)
    optimizer_state = []
    if compiled:
        state = model.optimizer.state
        for i, layer in enumerate(model.layers):
            for key in layer.params:
                slots = state.get(f"{layer.name}/{key}")
                if not slots:
                    continue
                base = f"optimizer/{i:02d}_{_part(layer.name)}/{_part(key)}"
                names = {
                    slot: add(
                        f"{base}/{_part(slot)}", value, f"the optimizer's {slot!r} of {layer.name}/{key}"
                    )
                    for slot, value in slots.items()
                }
                optimizer_state.append({"layer": i, "param": key, "slots": names})
    manifest["training"] = {
        "epochs_done": int(model.epochs_done),
        "optimizer_iterations": int(model.optimizer.iterations) if compiled else 0,
        "optimizer_state": optimizer_state,
        "rng": rng_to_json(model.rng),
    }
    for key in ("epochs_done", "optimizer_iterations"):
        count = manifest["training"][key]
        if not 0 <= count <= MAX_COUNTER:
            raise ValueError(
                f"cannot save the model: its {key} is {count:,}; a model file holds 0 to {MAX_COUNTER:,}"
            )
    check_configs(manifest, _saving)
    callbacks = callbacks_to_manifest(model, add) if compiled else []
    if callbacks:  # only then version 2: files without callback states stay readable by older tinynets
        manifest["format_version"] = 2
        manifest["training"]["callbacks"] = callbacks
    return _packed(_versioned(manifest, any_quantized, card_json), arrays, any_quantized)


def _packed(
    manifest: dict[str, Any], arrays: list[tuple[str, np.ndarray]], quantized: bool
) -> tuple[dict[str, Any], list[tuple[str, np.ndarray]]]:
    """A quantized model's file (format version 6, or 7 when it is also compiled with several
    outputs) packs every array into one buffer; others are unchanged."""
    from ._packed import pack

    if quantized:
        manifest["packed"], arrays = pack(arrays)
    return manifest, arrays


def _card_json(card) -> dict[str, Any]:
    """The manifest entry of a :class:`ModelCard` (or a dict of its fields), versions set to this run's."""
    import dataclasses

    from .. import __version__
    from ._card import ModelCard, check_card

    if isinstance(card, dict):
        card = ModelCard(**card)
    if not isinstance(card, ModelCard):
        raise TypeError(
            f"card must be a tinynet.ModelCard (or a dict of its fields), got {type(card).__name__}"
        )
    value = dataclasses.replace(card, tinynet_version=__version__, numpy_version=np.__version__).to_json()
    check_card(value, _saving)
    return _jsonable(value, "the model card")


def _versioned(manifest: dict[str, Any], quantized: bool, card: dict[str, Any] | None) -> dict[str, Any]:
    """The manifest in the oldest version that holds it: 3 only with a model card, 4 only with a
    frozen layer, a GELU or a LeakyReLU layer (see :func:`_layers_version`), 5 only for a functional
    model (``tn.Model``: ``model.class_name`` "Model" and ``model.graph``), 6 only with int8 kernels
    (whose arrays version 6 packs into one buffer: see :mod:`._packed`), 7 only for a compiled model
    with several outputs (``compile.outputs``, see :func:`_compile_settings`)."""
    version_4 = _layers_version(manifest["layers"]) == 4
    version_5 = manifest["model"]["class_name"] == "Model"
    version_7 = manifest["compile"] is not None and "outputs" in manifest["compile"]
    if quantized or card is not None or version_4 or version_5:
        manifest["format_version"] = (
            7 if version_7 else 6 if quantized else 5 if version_5 else 4 if version_4 else 3
        )
        manifest["card"] = card
        if manifest["training"] is not None:
            manifest["training"].setdefault("callbacks", [])
    else:
        for layer in manifest["layers"]:
            del layer["quantized"]
    return manifest


def _layers_version(layers: list[dict[str, Any]]) -> int:
    """4 when a layer is frozen, uses GELU or is a LeakyReLU layer, else 1.

    Version 4 added ``"trainable": false`` to layer configs, made ``"gelu"``
    the exact GELU (``"gelu_tanh"`` its tanh approximation) and renamed
    LeakyReLU's ``alpha`` to ``negative_slope``: an older reader would refuse the
    first and the last and silently read the second as the tanh form.
    """
    for layer in layers:
        config = layer["config"]
        if config.get("trainable") is False or layer["class_name"] in ("GELU", "LeakyReLU"):
            return 4
        if config.get("activation") in ("gelu", "gelu_tanh"):
            return 4
    return 1


def _upgrade_layer_config(entry: dict[str, Any], version: int, where: str, fail: Fail) -> None:
    """Read a layer config of an older format version as version 4 reads it (in place).

    Before version 4 there was no ``trainable`` key, ``"gelu"`` named the tanh
    approximation, which version 4 calls ``"gelu_tanh"``, and LeakyReLU's slope was ``alpha``.
    """
    config = entry["config"]
    if version >= 4:
        return
    if "trainable" in config:
        raise fail(
            f"{where}.config has 'trainable', which format version {version} does not have (version 4 added it)"
        )
    if config.get("activation") == "gelu":
        config["activation"] = "gelu_tanh"
    if entry["class_name"] == "GELU":
        if "approximate" in config:
            raise fail(f"{where}.config has 'approximate', which format version {version} does not have")
        config["approximate"] = True
    if entry["class_name"] == "LeakyReLU":
        if "negative_slope" in config:
            raise fail(f"{where}.config has 'negative_slope', which format version {version} calls 'alpha'")
        if "alpha" in config:
            config["negative_slope"] = config.pop("alpha")


def _saving(reason: str) -> ValueError:
    """The error of a save that would write a file the loader refuses."""
    return ValueError(f"cannot save the model, a model file could not be loaded: {reason}")


def _loss_entry(loss, owner: str) -> dict[str, Any]:
    """``{"class_name", "config"}`` of one of tinynet's losses (``owner``: whose loss, for the error)."""
    from .. import losses

    if losses.LOSSES.get(loss.name) is not type(loss):
        raise ValueError(
            f"{owner} {type(loss).__name__} is not one of tinynet's losses, so a model file cannot "
            "name it; save with tn.save_model(model, path, include_compile=False), or save_weights()"
        )
    return {"class_name": loss.name, "config": _jsonable(loss.get_config(), "the loss configuration")}


def _metric_names(pairs, owner: str) -> list[str]:
    """The names of (name, function) metrics, each one of tinynet's (``owner``: whose, for the error)."""
    from .. import metrics

    names = []
    for name, fn in pairs:
        if metrics.METRICS.get(name) is not fn:
            raise ValueError(
                f"the metric {name!r}{owner} is a custom function, which a model file cannot hold; compile with "
                "metric names from tinynet.metrics.METRICS, or save with include_compile=False"
            )
        names.append(name)
    return names


def _compile_settings(model) -> dict[str, Any]:
    """The ``compile`` entry: loss, optimizer and metrics; for a model with several outputs (format
    version 7) the optimizer and ``outputs``, one ``{"name", "loss", "loss_weight", "metrics"}`` each."""
    from .. import optimizers
    from ..models import MultiOutputLoss

    loss, optimizer = model.loss, model.optimizer
    if isinstance(loss, MultiOutputLoss):
        outputs = [
            {
                "name": name,
                "loss": _loss_entry(fn, f"the loss of output {name!r},"),
                "loss_weight": float(weight),
                "metrics": _metric_names(found, f" of output {name!r}"),
            }
            for name, fn, weight, found in zip(
                loss.names, loss.losses, loss.weights, model._output_metrics, strict=True
            )
        ]
    else:
        loss_entry = _loss_entry(loss, "the model's loss")
    if optimizers.OPTIMIZERS.get(optimizer.name) is not type(optimizer):
        raise ValueError(
            f"the model's optimizer {type(optimizer).__name__} is not one of tinynet's optimizers; save "
            "with tn.save_model(model, path, include_compile=False), or save_weights()"
        )
    try:
        optimizer_config = optimizer.get_config()
    except TypeError as exc:
        raise ValueError(
            f"the optimizer cannot be saved ({exc}); save with tn.save_model(model, path, "
            "include_compile=False), or use a schedule from tinynet.schedules"
        ) from None
    lr = optimizer_config.get("learning_rate")
    if isinstance(lr, dict):
        from .. import schedules

        if schedules.SCHEDULES.get(lr.get("class_name")) is not type(optimizer.learning_rate):
            raise ValueError(
                f"the learning-rate schedule {type(optimizer.learning_rate).__name__} is not one of "
                "tinynet.schedules.SCHEDULES, so a model file cannot name it; save with "
                "tn.save_model(model, path, include_compile=False)"
            )
    optimizer_entry = {
        "class_name": optimizer.name,
        "config": _jsonable(optimizer_config, "the optimizer configuration"),
    }
    if isinstance(loss, MultiOutputLoss):
        return {"optimizer": optimizer_entry, "outputs": outputs}
    names = _metric_names(zip(model.metric_names, model.metrics, strict=True), "")
    return {"loss": loss_entry, "optimizer": optimizer_entry, "metrics": names}


def rng_to_json(generator: np.random.Generator) -> dict[str, Any]:
    """The generator's state as JSON: its 128-bit integers as decimal strings."""
    state = generator.bit_generator.state
    if state.get("bit_generator") not in BIT_GENERATORS:
        raise ValueError(
            f"the model's generator uses {state.get('bit_generator')}; model files hold PCG64 generators "
            "(numpy's default): call model.reseed(seed) before saving"
        )
    return {
        "bit_generator": state["bit_generator"],
        "state": str(int(state["state"]["state"])),
        "inc": str(int(state["state"]["inc"])),
        "has_uint32": int(state["has_uint32"]),
        "uinteger": int(state["uinteger"]),
    }


# ============================================================ schema checks
def _keys(value: Any, keys: set[str], where: str, fail: Fail) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fail(f"{where} must be a JSON object, found {_kind(value)}")
    if set(value) != keys:
        missing, extra = sorted(keys - set(value)), sorted(set(value) - keys)
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(repr(k[:40]) for k in extra[:5])}"] if extra else []
        )
        raise fail(f"{where} has the wrong keys ({'; '.join(parts)})")
    return value


def _string(value: Any, where: str, fail: Fail, max_len: int = 200) -> str:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise fail(
            f"{where} must be a non-empty string of at most {max_len} characters, found {_short(value)}"
        )
    return value


def _int(value: Any, where: str, fail: Fail, low: int = 0, high: int = _MAX_INT) -> int:
    if type(value) is not int or not low <= value <= high:
        raise fail(f"{where} must be an integer in [{low}, {high}], found {_short(value)}")
    return value


def _names(value: Any, where: str, fail: Fail) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > MAX_MEMBERS:
        raise fail(f"{where} must be a JSON object mapping keys to array names, found {_kind(value)}")
    for key, name in value.items():
        _string(key, f"a key of {where}", fail)
        _string(name, f"{where}[{key!r}]", fail)
    return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate(archive: Archive) -> dict[str, Any]:
    """Check the whole manifest schema (versions 1 to 6); return the manifest.

    Also checks that every array is referenced exactly once and every reference
    names an array of the file.
    """
    manifest, fail = archive.manifest, archive.error
    version_3 = manifest["format_version"] >= 3  # adds the model card and int8 kernels
    top = {
        "format",
        "format_version",
        "tinynet_version",
        "kind",
        "model",
        "layers",
        "compile",
        "training",
        "arrays",
    }
    if version_3:
        top |= {"card"}
    if manifest["format_version"] >= 6 and "packed" in manifest:  # checked when the file was opened
        top |= {"packed"}
    _keys(manifest, top, "the manifest", fail)
    if version_3 and manifest["card"] is not None:
        from ._card import check_card

        check_card(manifest["card"], fail)
    _string(manifest["tinynet_version"], "'tinynet_version'", fail, 64)
    kind = manifest["kind"]
    if kind not in ("model", "weights"):
        raise fail(f"the manifest's 'kind' must be 'model' or 'weights', found {_short(kind)}")
    functional = (
        manifest["format_version"] >= 5
        and isinstance(manifest["model"], dict)
        and (manifest["model"].get("class_name") == "Model")
    )
    model_keys = {"class_name", "name", "dtype", "input_shape"}
    model = _keys(manifest["model"], model_keys | {"graph"} if functional else model_keys, "'model'", fail)
    if not functional and model["class_name"] != "Sequential":
        allowed = "'Sequential' or 'Model'" if manifest["format_version"] >= 5 else "'Sequential'"
        raise fail(f"'model.class_name' must be {allowed}, found {_short(model['class_name'])}")
    if functional:
        _check_graph(model["graph"], fail)
    _string(model["name"], "'model.name'", fail)
    if model["dtype"] not in ("float32", "float64"):
        raise fail(f"'model.dtype' must be 'float32' or 'float64', found {_short(model['dtype'])}")
    shape = model["input_shape"]
    if not isinstance(shape, list) or not 1 <= len(shape) <= MAX_NDIM:
        raise fail(f"'model.input_shape' must be a list of 1 to {MAX_NDIM} sizes, found {_short(shape)}")
    for k, size in enumerate(shape):
        _int(size, f"'model.input_shape'[{k}]", fail, 1, _MAX_DIM)

    layers = manifest["layers"]
    if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_MEMBERS:
        raise fail(f"'layers' must be a non-empty list of layers, found {_short(layers)}")
    references: dict[str, str] = {}

    def refer(name: str, where: str) -> None:
        if name not in archive.members:
            raise fail(f"{where} refers to the array {name!r}, which the file does not hold")
        if name in references:
            raise fail(f"the array {name!r} is used twice ({references[name]} and {where})")
        references[name] = where

    layer_keys = {"class_name", "config", "params", "state"}
    for i, layer in enumerate(layers):
        where = f"'layers'[{i}]"
        _keys(layer, layer_keys | {"quantized"} if version_3 else layer_keys, where, fail)
        _string(layer["class_name"], f"{where}.class_name", fail, 100)
        if not isinstance(layer["config"], dict):
            raise fail(f"{where}.config must be a JSON object, found {_kind(layer['config'])}")
        _upgrade_layer_config(layer, manifest["format_version"], where, fail)
        for group in ("params", "state"):
            for key, name in _names(layer[group], f"{where}.{group}", fail).items():
                refer(name, f"{where}.{group}[{key!r}]")
        if version_3:
            _check_quantized(archive, layer, where, refer)

    compiled = manifest["compile"]
    if compiled is not None:
        if manifest["format_version"] >= 7 and isinstance(compiled, dict) and "outputs" in compiled:
            _check_output_compile(compiled, model, fail)
        else:
            _keys(compiled, {"loss", "optimizer", "metrics"}, "'compile'", fail)
            _class_entry(compiled["loss"], "'compile.loss'", fail)
            _metric_list(compiled["metrics"], "'compile.metrics'", fail)
        _class_entry(compiled["optimizer"], "'compile.optimizer'", fail)

    training = manifest["training"]
    if kind == "weights" and (compiled is not None or training is not None):
        raise fail("a weights file ('kind': 'weights') has no 'compile' and no 'training'")
    if kind == "model" and training is None:
        raise fail("a model file ('kind': 'model') must have 'training'")
    if training is not None:
        fields = {"epochs_done", "optimizer_iterations", "optimizer_state", "rng"}
        version_2 = manifest["format_version"] >= 2  # adds the callbacks' states
        _keys(training, fields | {"callbacks"} if version_2 else fields, "'training'", fail)
        _int(training["epochs_done"], "'training.epochs_done'", fail, 0, MAX_COUNTER)
        _int(training["optimizer_iterations"], "'training.optimizer_iterations'", fail, 0, MAX_COUNTER)
        entries = training["optimizer_state"]
        if not isinstance(entries, list) or len(entries) > MAX_MEMBERS:
            raise fail(f"'training.optimizer_state' must be a list, found {_short(entries)}")
        if entries and compiled is None:
            raise fail("'training.optimizer_state' is not empty but the file has no 'compile' settings")
        seen = set()
        for k, entry in enumerate(entries):
            where = f"'training.optimizer_state'[{k}]"
            _keys(entry, {"layer", "param", "slots"}, where, fail)
            index = _int(entry["layer"], f"{where}.layer", fail, 0, len(layers) - 1)
            param = _string(entry["param"], f"{where}.param", fail)
            if param not in layers[index]["params"]:
                raise fail(f"{where} is state for the parameter {param!r}, which layer {index} does not have")
            if (index, param) in seen:
                raise fail(f"{where} repeats the optimizer state of layer {index}'s {param!r}")
            seen.add((index, param))
            for slot, name in _names(entry["slots"], f"{where}.slots", fail).items():
                refer(name, f"{where}.slots[{slot!r}]")
        rng_from_json(training["rng"], fail)
        if version_2:
            if training["callbacks"] and compiled is None:
                raise fail("'training.callbacks' is not empty but the file has no 'compile' settings")
            validate_callbacks(training["callbacks"], fail, refer)
    unused = [name for name in archive.members if name not in references]
    if unused:
        raise fail(f"the array {unused[0]!r} is not used by any layer, optimizer or callback state")
    check_configs(manifest, fail)
    return manifest


def _class_entry(entry: Any, where: str, fail: Fail) -> None:
    """A ``{"class_name", "config"}`` object (a loss or an optimizer)."""
    _keys(entry, {"class_name", "config"}, where, fail)
    _string(entry["class_name"], f"{where}.class_name", fail, 100)
    if not isinstance(entry["config"], dict):
        raise fail(f"{where}.config must be a JSON object, found {_kind(entry['config'])}")


def _metric_list(metrics: Any, where: str, fail: Fail) -> None:
    if not isinstance(metrics, list) or len(metrics) > 100:
        raise fail(f"{where} must be a list of metric names, found {_short(metrics)}")
    for k, name in enumerate(metrics):
        _string(name, f"{where}[{k}]", fail, 100)


def _check_output_compile(compiled: dict[str, Any], model: dict[str, Any], fail: Fail) -> None:
    """The per-output ``compile`` entry (version 7): ``{"optimizer", "outputs"}``, one entry per output
    of the graph, in its order; the names are checked against the rebuilt model's by :func:`compile_from`."""
    _keys(compiled, {"optimizer", "outputs"}, "'compile'", fail)
    graph = model.get("graph") if model["class_name"] == "Model" else None
    if graph is None or not (
        isinstance(graph["outputs"], list) and graph["outputs"] and isinstance(graph["outputs"][0], list)
    ):
        raise fail(
            "'compile.outputs' is for a functional model whose 'model.graph.outputs' is a list of outputs"
        )
    outputs = compiled["outputs"]
    if not isinstance(outputs, list) or len(outputs) != len(graph["outputs"]):
        raise fail(
            f"'compile.outputs' must be a list of one entry per output ({len(graph['outputs'])}), "
            f"found {_short(outputs)}"
        )
    names = set()
    for k, entry in enumerate(outputs):
        where = f"'compile.outputs'[{k}]"
        _keys(entry, {"name", "loss", "loss_weight", "metrics"}, where, fail)
        name = _string(entry["name"], f"{where}.name", fail)
        if name in names:
            raise fail(f"{where}.name repeats the output name {name!r}")
        names.add(name)
        _class_entry(entry["loss"], f"{where}.loss", fail)
        weight = entry["loss_weight"]
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight < math.inf:
            raise fail(f"{where}.loss_weight must be a finite number >= 0, found {_short(weight)}")
        _metric_list(entry["metrics"], f"{where}.metrics", fail)


def _check_graph(graph: Any, fail: Fail) -> None:
    """The shape of ``model.graph`` (version 5); what it refers to is checked when the model is rebuilt."""
    _keys(graph, {"inputs", "inbound", "outputs"}, "'model.graph'", fail)
    inputs = graph["inputs"] if isinstance(graph["inputs"], list) else [graph["inputs"]]
    if not 1 <= len(inputs) <= MAX_MEMBERS:
        raise fail(
            f"'model.graph.inputs' must hold 1 to {MAX_MEMBERS} inputs, found {_short(graph['inputs'])}"
        )
    for k, entry in enumerate(inputs):
        where = f"'model.graph.inputs'[{k}]"
        _keys(entry, {"name", "shape"}, where, fail)
        _string(entry["name"], f"{where}.name", fail)
        shape = entry["shape"]
        if not isinstance(shape, list) or not 1 <= len(shape) <= MAX_NDIM:
            raise fail(f"{where}.shape must be a list of 1 to {MAX_NDIM} sizes, found {_short(shape)}")
        for i, size in enumerate(shape):
            _int(size, f"{where}.shape[{i}]", fail, 1, _MAX_DIM)

    def ref(value: Any, where: str) -> None:
        if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)):
            raise fail(f"{where} must be a reference [name, index], found {_short(value)}")
        _string(value[0], f"{where}[0]", fail)
        _int(value[1], f"{where}[1]", fail, 0, 1000)

    def refs(value: Any, where: str) -> None:
        if isinstance(value, list) and value and isinstance(value[0], list):
            if len(value) > MAX_MEMBERS:
                raise fail(f"{where} holds too many references")
            for i, r in enumerate(value):
                ref(r, f"{where}[{i}]")
        else:
            ref(value, where)

    if not isinstance(graph["inbound"], list):
        raise fail(f"'model.graph.inbound' must be a list, found {_kind(graph['inbound'])}")
    for i, inbound in enumerate(graph["inbound"]):
        refs(inbound, f"'model.graph.inbound'[{i}]")
    refs(graph["outputs"], "'model.graph.outputs'")


def _check_quantized(archive: Archive, layer: dict[str, Any], where: str, refer) -> None:
    """A layer's ``quantized`` entry: int8 parameters, each with a float32 scale per channel of its axis."""
    fail = archive.error
    entries = layer["quantized"]
    if not isinstance(entries, dict) or len(entries) > MAX_MEMBERS:
        raise fail(f"{where}.quantized must be a JSON object, found {_kind(entries)}")
    for key, entry in entries.items():
        at = f"{where}.quantized[{key[:50]!r}]"
        if key not in layer["params"]:
            raise fail(f"{at} quantizes a parameter {key[:50]!r} that the layer does not store")
        _keys(entry, {"scale", "axis"}, at, fail)
        q = archive.members[layer["params"][key]]
        if q.dtype.str != "|i1":
            raise fail(f"{at}: the quantized array {q.name!r} must be int8 (|i1), found {q.dtype.str}")
        if not q.shape:
            raise fail(f"{at}: the quantized array {q.name!r} has no axis to hold output channels")
        axis = _int(entry["axis"], f"{at}.axis", fail, 0, len(q.shape) - 1)
        scale_name = _string(entry["scale"], f"{at}.scale", fail)
        refer(scale_name, f"{at}.scale")
        scale = archive.members[scale_name]
        if scale.dtype.str != "<f4" or scale.shape != (q.shape[axis],):
            raise fail(
                f"{at}: the scales {scale_name!r} must be float32 of shape ({q.shape[axis]},) (one per channel "
                f"of axis {axis}), found {scale.dtype.str} {scale.shape}"
            )


def check_configs(manifest: dict[str, Any], fail: Callable[[str], Exception]) -> None:
    """Type- and range-check every configuration against its constructor (see :mod:`._configs`).

    Layers whose class is not registered are left alone here (loading refuses them by name;
    inspecting lists them); unknown losses and optimizers are refused by :func:`compile_from`.
    """
    from .. import losses, optimizers

    import_builtin_layers()
    for i, layer in enumerate(manifest["layers"]):
        cls = LAYER_REGISTRY.get(layer["class_name"])
        if cls is not None:
            check_config(cls, layer["config"], f"'layers'[{i}].config", fail)
    settings = manifest["compile"]
    if settings is not None:
        entries = [("'compile'.optimizer", settings["optimizer"], optimizers.OPTIMIZERS)]
        if "outputs" in settings:  # several outputs (version 7): a loss each
            entries += [
                (f"'compile'.outputs[{k}].loss", entry["loss"], losses.LOSSES)
                for k, entry in enumerate(settings["outputs"])
            ]
        else:
            entries.append(("'compile'.loss", settings["loss"], losses.LOSSES))
        for where, entry, table in entries:
            cls = table.get(entry["class_name"])
            if cls is not None:
                check_config(cls, entry["config"], f"{where}.config", fail)


def rng_from_json(value: Any, fail: Fail) -> dict[str, Any]:
    """Validate a generator state from a manifest; return numpy's ``bit_generator.state`` dict."""
    _keys(value, {"bit_generator", "state", "inc", "has_uint32", "uinteger"}, "'training.rng'", fail)
    if value["bit_generator"] not in BIT_GENERATORS:
        raise fail(
            f"'training.rng.bit_generator' must be one of {', '.join(BIT_GENERATORS)}, "
            f"found {_short(value['bit_generator'])}"
        )
    numbers = {}
    for key in ("state", "inc"):
        text = value[key]
        if not isinstance(text, str) or not re.fullmatch(r"[0-9]{1,39}", text) or int(text) >= 2**128:
            raise fail(
                f"'training.rng.{key}' must be a decimal string of a 128-bit integer, found {_short(text)}"
            )
        numbers[key] = int(text)
    if numbers["inc"] % 2 == 0:
        # PCG64's increment is always odd (numpy makes it 2 * sequence + 1): with an even one the
        # generator's period collapses, e.g. state 0 and inc 0 draw 0 forever
        raise fail(
            f"'training.rng.inc' must be odd (a PCG64 increment always is), found {_short(value['inc'])}"
        )
    return {
        "bit_generator": value["bit_generator"],
        "state": numbers,
        "has_uint32": _int(value["has_uint32"], "'training.rng.has_uint32'", fail, 0, 1),
        "uinteger": _int(value["uinteger"], "'training.rng.uinteger'", fail, 0, 2**32 - 1),
    }


# ==================================================================== loading
@contextlib.contextmanager
def _creation_context(dtype: str) -> Iterator[None]:
    """Create layers as when the model was made: its dtype as default, tinynet's global generator untouched.

    Building a model draws from the global generator (each new model seeds its
    own from it); restoring its state afterwards makes loading free of side effects.
    Both are process-wide settings, so a load should not run while another thread
    creates models.
    """
    old_dtype = _config.get_default_dtype()
    generator = _config.get_rng()
    old_state = generator.bit_generator.state
    _config.set_default_dtype(dtype)
    try:
        yield
    finally:
        _config.set_default_dtype(old_dtype)
        generator.bit_generator.state = old_state


def _guard_parameters(layer: Layer, expected: dict[str, tuple[str, tuple[int, ...]]], where: str, fail: Fail):
    """Wrap ``layer.add_param`` so that no parameter is allocated unless the file stores one of that shape.

    A configuration edited to ``units=10**9`` is refused here, before memory is
    allocated: every expected shape is one the file really stores bytes for.
    Initializers are skipped (the values come from the file), so building costs
    no random draws and no initial-value arrays.
    """
    original = layer.add_param
    # add_param's zeros_like writes every byte of the gradient; when the layer keeps the base
    # class's add_param, register the (calloc'ed, untouched) arrays directly instead
    plain = type(layer).add_param is Layer.add_param

    def add_param(key, value, *args, **kwargs):
        if isinstance(value, str):
            shape = args[0] if args else kwargs.get("shape")
            shape = tuple(int(s) for s in shape)
        else:
            shape = tuple(np.shape(value))
        if key not in expected:
            raise fail(f"{where} creates a parameter {key!r} that the file does not store")
        name, stored = expected[key]
        if shape != stored:
            raise fail(f"array {name!r} has shape {stored} but {where} needs {shape} for its {key!r}")
        if not isinstance(value, str):
            return original(key, value, *args, **kwargs)
        # zeros from calloc: the pages cost nothing until the file's values are written into them
        value = np.zeros(shape, dtype=layer.dtype)
        if plain and len(args) <= 1 and set(kwargs) <= {"shape"}:
            layer.params[key] = value
            layer.grads[key] = np.zeros(shape, dtype=layer.dtype)
            return value
        result = original(key, value, *args, **kwargs)
        grad = layer.grads.get(key)
        if grad is not None and grad.shape == shape and grad.nbytes >= 2**20:
            layer.grads[key] = np.zeros(shape, dtype=grad.dtype)  # the same zeros, untouched
        return result

    layer.add_param = add_param


def rebuild(archive: Archive, manifest: dict[str, Any]):
    """The model of the manifest, built, with parameters of the stored shapes (values not read yet)."""
    fail = archive.error
    import_builtin_layers()
    entries = manifest["layers"]
    if manifest["model"]["class_name"] == "Model":
        return _rebuild_functional(archive, manifest)
    with _creation_context(manifest["model"]["dtype"]):
        model = Sequential(name=manifest["model"]["name"])
        model._build_on_add = False  # built once below, with every parameter's allocation guarded
        for i, layer in enumerate(_layers_of(archive, entries)):
            try:
                model.add(layer)
            except Exception as exc:
                raise fail(
                    f"layer {i} ({entries[i]['class_name']}) cannot be added to the model ({_describe(exc)})"
                ) from exc
        for i, (layer, entry) in enumerate(zip(model.layers, entries, strict=True)):
            expected = {key: (name, archive.members[name].shape) for key, name in entry["params"].items()}
            _guard_parameters(layer, expected, f"layer {i} ({entry['class_name']} {layer.name!r})", fail)
        try:
            model.build(tuple(manifest["model"]["input_shape"]))
        except ModelFileError:
            raise
        except Exception as exc:
            raise fail(f"the model cannot be built from the file's architecture ({_describe(exc)})") from exc
        finally:
            for layer in model.layers:
                layer.__dict__.pop("add_param", None)
            del model._build_on_add
    check_architecture(archive, manifest, model)
    return model


def _layers_of(archive: Archive, entries: list[dict[str, Any]]) -> list[Layer]:
    """New layers from the manifest's configs (not built)."""
    fail = archive.error
    layers = []
    for i, entry in enumerate(entries):
        class_name = entry["class_name"]
        cls = LAYER_REGISTRY.get(class_name)
        if cls is None:
            raise fail(
                f"layer {i} is a {class_name!r}, which is not a registered layer class. If it is your own "
                "layer, decorate its class with @tn.register_layer and import it before loading; "
                f"registered classes: {', '.join(sorted(LAYER_REGISTRY))}"
            )
        try:
            layer = cls.from_config(dict(entry["config"]))
        except Exception as exc:
            raise fail(
                f"layer {i} ({class_name}) cannot be rebuilt from its configuration ({_describe(exc)})"
            ) from exc
        if not isinstance(layer, cls):
            raise fail(f"layer {i}: {class_name}.from_config returned {type(layer).__name__}")
        layers.append(layer)
    return layers


def _rebuild_functional(archive: Archive, manifest: dict[str, Any]):
    """A functional model (format version 5): its layers, connected as ``model.graph`` says, each
    layer's parameters guarded to the stored shapes while the graph builds them."""
    from ..models import model_from_graph

    fail = archive.error
    entries = manifest["layers"]
    with _creation_context(manifest["model"]["dtype"]):
        layers = _layers_of(archive, entries)
        for i, (layer, entry) in enumerate(zip(layers, entries, strict=True)):
            expected = {key: (name, archive.members[name].shape) for key, name in entry["params"].items()}
            _guard_parameters(layer, expected, f"layer {i} ({entry['class_name']} {layer.name!r})", fail)
        try:
            model = model_from_graph(
                manifest["model"]["name"],
                manifest["model"]["graph"],
                layers,
                lambda reason: fail(f"the graph: {reason}"),
            )
        finally:
            for layer in layers:
                layer.__dict__.pop("add_param", None)
    if [layer.name for layer in model.layers] != [layer.name for layer in layers]:
        raise fail("the file's layers are not in the order of its graph (each after the layers it reads)")
    check_architecture(archive, manifest, model)
    return model


def _same_type(stored: np.dtype, array: np.ndarray) -> bool:
    return array.dtype.newbyteorder("<") == stored


def check_architecture(archive: Archive, manifest: dict[str, Any], model) -> None:
    """Every parameter and state array of ``model`` must be stored, with its shape and dtype, and nothing else."""
    fail = archive.error
    if len(model.layers) != len(manifest["layers"]):
        raise fail(f"the file holds {len(manifest['layers'])} layers but the model has {len(model.layers)}")
    for i, (layer, entry) in enumerate(zip(model.layers, manifest["layers"], strict=True)):
        where = f"layer {i} ({type(layer).__name__} {layer.name!r})"
        if entry["class_name"] != type(layer).__dict__.get("registered_name", type(layer).__name__):
            raise fail(
                f"the file's layer {i} is a {entry['class_name']} but the model's is a {type(layer).__name__}"
            )
        for group, arrays in (("params", layer.params), ("state", layer.state)):
            stored = entry[group]
            if set(stored) != set(arrays):
                raise fail(
                    f"{where} has {group} {sorted(arrays)} but the file stores {sorted(stored)} for it"
                )
            quantized = entry.get("quantized", {}) if group == "params" else {}
            for key, array in arrays.items():
                member = archive.members[stored[key]]
                same_type = key in quantized or _same_type(member.dtype, array)  # int8: dequantized to any
                if member.shape != array.shape or not same_type:
                    raise fail(
                        f"array {member.name!r} is {member.dtype.newbyteorder('=').name} {member.shape} but "
                        f"{where} needs {array.dtype.name} {array.shape} for its {key!r}"
                    )


def read_param(
    archive: Archive, entry: dict[str, Any], key: str, dtype: np.dtype, allow_nonfinite: bool
) -> np.ndarray:
    """Layer ``entry``'s parameter ``key`` in ``dtype``; an int8 one dequantized (:math:`q s`), its
    values checked: :math:`q \\in [-127, 127]`, scales finite and non-negative."""
    from ..quantization import dequantize

    name = entry["params"][key]
    quantized = entry.get("quantized", {}).get(key)
    if quantized is None:
        return archive.read_array(name, allow_nonfinite=allow_nonfinite)
    q = archive.read_array(name)
    scale = archive.read_array(quantized["scale"])  # scales are always finite: no allow_nonfinite
    if q.size and int(q.min()) < -127:
        raise archive.error(
            f"the quantized array {name!r} holds -128; symmetric int8 weights lie in [-127, 127]"
        )
    if scale.size and not float(scale.min()) >= 0.0:
        raise archive.error(f"the scales {quantized['scale']!r} must be non-negative")
    return dequantize(q, scale, quantized["axis"], dtype)


def read_weights(archive: Archive, manifest: dict[str, Any], model, allow_nonfinite: bool) -> None:
    """Read every parameter and state array straight into the (new) model's arrays
    (int8 kernels dequantized), and set ``model.quantized`` and ``model.card``."""
    for layer, entry in zip(model.layers, manifest["layers"], strict=True):
        for key, name in entry["params"].items():
            if key in entry.get("quantized", {}):
                layer.params[key][...] = read_param(
                    archive, entry, key, layer.params[key].dtype, allow_nonfinite
                )
            else:
                archive.read_into(name, layer.params[key], allow_nonfinite=allow_nonfinite)
        for key, name in entry["state"].items():
            archive.read_into(name, layer.state[key], allow_nonfinite=allow_nonfinite)
    set_metadata(manifest, model)


def set_metadata(manifest: dict[str, Any], model) -> None:
    """``model.quantized`` (whether the file stored int8 kernels) and ``model.card`` from a manifest."""
    from ._card import ModelCard

    model.quantized = any(entry.get("quantized") for entry in manifest["layers"])
    card = manifest.get("card")
    model.card = None if card is None else ModelCard.from_json(card)


def compile_from(archive: Archive, manifest: dict[str, Any], model) -> None:
    """Compile ``model`` with the file's loss, optimizer and metrics (fixed lookups only)."""
    from .. import losses, metrics, optimizers

    fail = archive.error
    settings = manifest["compile"]

    def rebuild_loss(entry: dict[str, Any], owner: str):
        loss_name = entry["class_name"]
        if loss_name not in losses.LOSSES:
            raise fail(
                f"unknown loss {loss_name!r}{owner}; tinynet's losses are {', '.join(sorted(losses.LOSSES))}"
            )
        try:
            return losses.from_name(loss_name, dict(entry["config"]))
        except Exception as exc:
            raise fail(
                f"the loss {loss_name!r}{owner} cannot be rebuilt from its configuration ({_describe(exc)})"
            ) from exc

    def check_metrics(names: list[str]) -> list[str]:
        for name in names:
            if name not in metrics.METRICS:
                raise fail(
                    f"unknown metric {name!r}; tinynet's metrics are {', '.join(sorted(metrics.METRICS))}"
                )
        return names

    outputs = settings.get("outputs")
    if outputs is not None:  # several outputs (version 7)
        expected = model.output_names if model._multi_output else None
        found = [entry["name"] for entry in outputs]
        if found != expected:
            raise fail(
                f"'compile.outputs' names the outputs {found}, but the model's outputs are "
                f"{expected if expected is not None else 'one tensor'}"
            )
        loss: Any = [rebuild_loss(entry["loss"], f" (output {entry['name']!r})") for entry in outputs]
        loss_weights: Any = [float(entry["loss_weight"]) for entry in outputs]
        names: Any = [check_metrics(list(entry["metrics"])) for entry in outputs]
    else:
        loss, loss_weights = rebuild_loss(settings["loss"], ""), None
        names = check_metrics(settings["metrics"])
    optimizer_name = settings["optimizer"]["class_name"]
    cls = optimizers.OPTIMIZERS.get(optimizer_name)
    if cls is None:
        raise fail(
            f"unknown optimizer {optimizer_name!r}; tinynet's optimizers are "
            f"{', '.join(sorted(optimizers.OPTIMIZERS))}"
        )
    config = dict(settings["optimizer"]["config"])
    lr = config.get("learning_rate", 0.0)
    if isinstance(lr, dict):
        config["learning_rate"] = _schedule(lr, fail)
    elif isinstance(lr, bool) or not isinstance(lr, (int, float)):
        raise fail(f"the optimizer's learning_rate must be a number or a schedule, found {_short(lr)}")
    try:
        optimizer = cls(**config)
    except Exception as exc:
        raise fail(
            f"the optimizer {optimizer_name!r} cannot be rebuilt from its configuration ({_describe(exc)})"
        ) from exc
    try:
        model.compile(loss=loss, optimizer=optimizer, loss_weights=loss_weights, metrics=names)
    except Exception as exc:
        raise fail(f"the model cannot be compiled with the file's settings ({_describe(exc)})") from exc


def _schedule(value: dict[str, Any], fail: Fail):
    try:
        from .. import schedules
    except ImportError:  # pragma: no cover - schedules ship with tinynet
        raise fail("the optimizer uses a learning-rate schedule, which this tinynet cannot build") from None
    _keys(value, {"class_name", "config"}, "the learning-rate schedule", fail)
    name = value["class_name"]
    if not isinstance(name, str) or name not in schedules.SCHEDULES:
        raise fail(
            f"unknown learning-rate schedule {_short(name)}; tinynet's schedules are "
            f"{', '.join(sorted(schedules.SCHEDULES))}"
        )
    if not isinstance(value["config"], dict):
        raise fail("the learning-rate schedule's config must be a JSON object")
    try:
        return schedules.get(name, dict(value["config"]))
    except Exception as exc:
        raise fail(f"the learning-rate schedule {name!r} cannot be rebuilt ({_describe(exc)})") from exc


def restore_training(
    archive: Archive, manifest: dict[str, Any], model, *, optimizer_state: bool, allow_nonfinite: bool
) -> None:
    """Epochs done, the generator's state and (when compiled) the optimizer's steps and state."""
    training = manifest["training"]
    if training is None:
        return
    fail = archive.error
    optimizer = model.optimizer
    if optimizer_state and optimizer is not None:
        state: dict[str, dict[str, np.ndarray]] = {}
        for entry in training["optimizer_state"]:
            layer = model.layers[entry["layer"]]
            param = layer.params[entry["param"]]
            slots = {}
            for slot, name in entry["slots"].items():
                if slot not in optimizer.slots:
                    raise fail(
                        f"the file holds optimizer state {slot!r} for {layer.name}/{entry['param']}, but "
                        f"{type(optimizer).__name__} keeps {', '.join(optimizer.slots) or 'no state'}"
                    )
                member = archive.members[name]
                if member.shape != param.shape or not _same_type(member.dtype, param):
                    raise fail(
                        f"array {name!r} is {member.dtype.newbyteorder('=').name} {member.shape} but the "
                        f"parameter it belongs to is {param.dtype.name} {param.shape}"
                    )
                slots[slot] = archive.read_array(name, allow_nonfinite=allow_nonfinite)
            state[f"{layer.name}/{entry['param']}"] = slots
        # The optimizer copies this state, by parameter name, into its flat buffers on its first step.
        optimizer.state = state
        optimizer.iterations = training["optimizer_iterations"]
        restore_callbacks(archive, training.get("callbacks", []), model, allow_nonfinite)
    model.epochs_done = training["epochs_done"]
    rng_state = rng_from_json(training["rng"], fail)
    if model.rng.bit_generator.state.get("bit_generator") != rng_state["bit_generator"]:  # pragma: no cover
        model.rng = np.random.Generator(np.random.PCG64())
        for layer in model.layers:
            layer.rng = model.rng
    try:
        model.rng.bit_generator.state = rng_state
    except Exception as exc:  # pragma: no cover - values were range-checked
        raise fail(f"'training.rng' is not a valid generator state ({_describe(exc)})") from exc


def count_of(shape: tuple[int, ...]) -> int:
    """Number of elements of an array of ``shape``."""
    return math.prod(shape)


# ============================================================ callback states
# The optional "training.callbacks" entry (format version 2): the states of the callbacks of the
# model's last fit (tinynet.callbacks.Callback.get_state), so that the next fit goes on with them.
# A value is an int, a finite float, a bool, null, one of the strings below for the non-finite
# floats JSON cannot hold, or {"weights": [array names]}: arrays shaped as the model's weights.
_NONFINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
_MAX_STATE_KEYS = 1000


def callbacks_to_manifest(model, add: Callable[[str, np.ndarray, str], str]) -> list[dict[str, Any]]:
    """The manifest entries of ``model.callback_states``; ``add(name, array, what)`` stores an array."""
    entries = []
    shapes = None
    for k, entry in enumerate(model.callback_states):
        owner = f"the state of the callback {entry['class_name']} (key {entry['key']!r})"
        state = {}
        for key, value in entry["state"].items():
            if isinstance(value, (list, tuple)):
                if shapes is None:
                    shapes = [(w.shape, w.dtype) for w in model.get_weights()]
                if [(np.shape(w), getattr(w, "dtype", None)) for w in value] != shapes:
                    raise ValueError(
                        f"{owner} cannot be saved: its {key!r} is a list but not of arrays shaped as the "
                        "model's weights (model.get_weights()), the only arrays a callback state may hold"
                    )
                base = f"callbacks/{k:02d}_{_part(entry['class_name'])}/{_part(key)}"
                state[key] = {
                    "weights": [add(f"{base}/{i:02d}", w, f"{owner}'s {key!r}") for i, w in enumerate(value)]
                }
            else:
                state[key] = _state_value(value, f"{owner} cannot be saved: its {key!r}")
        entries.append({"class_name": entry["class_name"], "key": entry["key"], "state": state})

    def refuse(message: str) -> ValueError:
        return ValueError(f"the callback states cannot be saved, loading would refuse them: {message}")

    validate_callbacks(entries, refuse, lambda name, where: None)  # what loading accepts, nothing else
    return entries


def _state_value(value: Any, what: str) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, np.integer)):
        if not -_MAX_INT - 1 <= int(value) <= _MAX_INT:
            raise ValueError(f"{what} is {value}, beyond the 64-bit integers")
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isfinite(value):
            return value
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    raise ValueError(
        f"{what} is {_short(value)}; a callback state holds ints, floats, bools, None and lists of "
        "arrays shaped as the model's weights"
    )


def validate_callbacks(entries: Any, fail: Fail, refer: Callable[[str, str], None]) -> None:
    """Check ``training.callbacks`` strictly (built-in callbacks: each key and its type)."""
    from ..callbacks import STATE_SCHEMAS

    if not isinstance(entries, list) or len(entries) > MAX_MEMBERS:
        raise fail(f"'training.callbacks' must be a list, found {_short(entries)}")
    seen = set()
    for k, entry in enumerate(entries):
        where = f"'training.callbacks'[{k}]"
        _keys(entry, {"class_name", "key", "state"}, where, fail)
        name = _string(entry["class_name"], f"{where}.class_name", fail, 100)
        key = entry["key"]
        if isinstance(key, str):
            _string(key, f"{where}.key", fail)
        else:
            _int(key, f"{where}.key", fail, 0, MAX_MEMBERS)
        if (name, key) in seen:
            raise fail(f"{where} repeats the state of the callback {name} with key {key!r}")
        seen.add((name, key))
        state = entry["state"]
        if not isinstance(state, dict) or len(state) > _MAX_STATE_KEYS:
            raise fail(
                f"{where}.state must be a JSON object of at most {_MAX_STATE_KEYS} keys, found {_kind(state)}"
            )
        schema = STATE_SCHEMAS.get(name)
        if schema is not None and set(state) != set(schema):
            _keys(state, set(schema), f"{where}.state", fail)  # raises, naming the keys
        for field_name, value in state.items():
            at = f"{where}.state[{_string(field_name, f'a key of {where}.state', fail)!r}]"
            expected = schema[field_name] if schema is not None else None
            weights = isinstance(value, dict)
            if weights:
                _keys(value, {"weights"}, at, fail)
                names = value["weights"]
                if not isinstance(names, list) or len(names) > MAX_MEMBERS:
                    raise fail(f"{at}.weights must be a list of array names, found {_short(names)}")
                for i, array in enumerate(names):
                    refer(_string(array, f"{at}.weights[{i}]", fail), f"{at}.weights[{i}]")
            ok = {
                None: weights
                or value is None
                or isinstance(value, bool)
                or (type(value) is int and -_MAX_INT - 1 <= value <= _MAX_INT)
                or type(value) is float
                or value in _NONFINITE,
                "count": type(value) is int and 0 <= value <= _MAX_INT,
                "float": type(value) in (int, float) or (isinstance(value, str) and value in _NONFINITE),
                "weights": weights or value is None,
            }[expected]
            if not ok:
                kinds = {
                    None: "an int, a float, a bool, null, 'inf', '-inf', 'nan' or {'weights': [...]}",
                    "count": "an integer >= 0",
                    "float": "a number or 'inf', '-inf', 'nan'",
                    "weights": "null or {'weights': [array names]}",
                }
                raise fail(f"{at} must be {kinds[expected]}, found {_short(value)}")


def restore_callbacks(archive: Archive, entries: list[dict[str, Any]], model, allow_nonfinite: bool) -> None:
    """Set ``model.callback_states`` from validated entries, reading the weight lists (checked
    against the model's weights)."""
    fail = archive.error
    targets = model.get_weights()
    states = []
    for k, entry in enumerate(entries):
        state: dict[str, Any] = {}
        for key, value in entry["state"].items():
            at = f"'training.callbacks'[{k}].state[{key!r}]"
            if isinstance(value, dict):
                names = value["weights"]
                if len(names) != len(targets):
                    raise fail(f"{at} holds {len(names)} arrays but the model has {len(targets)} weights")
                arrays = []
                for name, target in zip(names, targets, strict=True):
                    member = archive.members[name]
                    if member.shape != target.shape or not _same_type(member.dtype, target):
                        raise fail(
                            f"array {name!r} of {at} is {member.dtype.newbyteorder('=').name} {member.shape} "
                            f"but the model's weight there is {target.dtype.name} {target.shape}"
                        )
                    arrays.append(archive.read_array(name, allow_nonfinite=allow_nonfinite))
                state[key] = arrays
            elif isinstance(value, str):
                state[key] = _NONFINITE[value]
            else:
                state[key] = value
        states.append({"class_name": entry["class_name"], "key": entry["key"], "state": state})
    model.callback_states = states
