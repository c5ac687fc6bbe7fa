"""Saving and loading models: a safe, versioned ``.npz`` model file.

A model file is an ordinary ``.npz`` (a zip of ``.npy`` arrays) with a JSON
manifest, readable with numpy and json alone; ``docs/file-format.md`` is its
specification.  It holds the architecture, the weights, the compile settings
and the training progress (epochs done, the optimizer's steps and state, the
model's random generator), so that training resumes bit for bit on the same
machine and installation (the FAQ says what "bit for bit" promises)::

    model.save("model.npz")                             # or tn.save_model(model, "model.npz")
    model = tn.load_model("model.npz")                  # compiled, ready to predict or train on
    model = tn.load_model("model.npz", compile=False)   # architecture and weights only

Safety.  Loading treats every file as hostile: it never unpickles, builds layer
classes only from :data:`tinynet.layers.LAYER_REGISTRY` (built-ins plus
:func:`tinynet.register_layer`), checks every size before allocating memory,
verifies every array's SHA-256, and turns every failure into a
:class:`ModelFileError` that names the file and what is wrong.  Saving is
atomic (a temporary file, fsync, rename) and reproducible (the same model gives
the same bytes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from ._archive import (
    ALLOWED_DTYPES,
    DEFAULT_MAX_BYTES,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST_MEMBER,
    MAX_COMPRESSION_RATIO,
    MAX_MANIFEST_BYTES,
    MAX_MANIFEST_VALUES,
    MAX_MEMBERS,
    MAX_NAME_LENGTH,
    MAX_NDIM,
    MAX_NPY_HEADER,
    Archive,
    _describe,
    save_archive,
)
from ._card import ModelCard
from ._errors import ModelFileError
from ._model import (
    check_architecture,
    compile_from,
    count_of,
    import_builtin_layers,
    model_manifest,
    read_param,
    read_weights,
    rebuild,
    restore_training,
    validate,
)

if TYPE_CHECKING:  # the models module imports this one lazily; no cycle at run time
    from ..models import Sequential

__all__ = [
    "ALLOWED_DTYPES",
    "DEFAULT_MAX_BYTES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MANIFEST_MEMBER",
    "MAX_COMPRESSION_RATIO",
    "MAX_MANIFEST_BYTES",
    "MAX_MANIFEST_VALUES",
    "MAX_MEMBERS",
    "MAX_NAME_LENGTH",
    "MAX_NDIM",
    "MAX_NPY_HEADER",
    "ArrayCheck",
    "LayerInfo",
    "ModelCard",
    "ModelFileError",
    "ModelFileInfo",
    "inspect_model_file",
    "load_model",
    "load_weights",
    "save_model",
    "save_weights",
]

PathOrFile = str | os.PathLike | BinaryIO


def _flags(**flags: Any) -> None:
    """Every flag must be a bool: ``allow_nonfinite="no"`` would otherwise mean yes."""
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {value!r}")


def _max_bytes(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"max_bytes must be a non-negative integer (a number of bytes), got {value!r}")
    return int(value)


def save_model(
    model: Sequential,
    path: PathOrFile,
    *,
    compress: bool = False,
    include_compile: bool = True,
    allow_nonfinite: bool = False,
    card: ModelCard | dict | None = None,
) -> None:
    """Write ``model`` to a model file: architecture, weights, compile settings, training progress.

    Parameters
    ----------
    model : Sequential
        A built model (an unbuilt one is built first when its input shape is known).
    path : str, path-like or writable binary file object
        Exactly the path written (no ``.npz`` is appended).  A path is written
        atomically: to a temporary file ``.<name>.tmp-<hex>`` in the same folder,
        flushed and fsynced, then renamed over ``path``; a crash leaves the
        previous file intact.
    compress : bool
        Deflate the arrays (smaller, slower; the default stores them as they are).
    include_compile : bool
        With False, leave out the loss, optimizer, metrics and optimizer state
        (e.g. for a model compiled with a custom loss or metric function).
    allow_nonfinite : bool
        Store weights, state or optimizer values that are NaN or infinite.  Refused
        by default, naming the array, since :func:`load_model` refuses them too
        unless given ``allow_nonfinite=True``.
    card : ModelCard or dict, optional
        A model card to store (description, training data, metrics; the tinynet
        and NumPy versions are recorded here); by default ``model.card``, if set.

    Raises
    ------
    ValueError
        When the model holds something a model file cannot name: an
        unregistered layer class, a custom loss, optimizer, metric or schedule,
        or a configuration that is not plain JSON; or NaN or infinite values
        (without ``allow_nonfinite``); or anything else a loader would refuse.
    OSError
        When the path cannot be written; the error names ``path``, never the
        temporary file.  A symbolic link is written through: the file it points
        to is replaced, and the link stays.

    Notes
    -----
    A model returned by :func:`tinynet.quantize` (``model.quantized``) is saved
    with int8 kernels and per-channel scales, all its arrays packed into one
    buffer and the file deflated whatever ``compress`` says (format version 6:
    about a quarter of the float32 file, see docs/deploying.md).  A file with a
    card is format version 3; other files keep the older versions.

    Examples
    --------
    >>> model.save("model.npz")                  # doctest: +SKIP
    >>> tn.save_model(model, "model.npz", compress=True)  # doctest: +SKIP
    """
    _flags(compress=compress, include_compile=include_compile, allow_nonfinite=allow_nonfinite)
    manifest, arrays = model_manifest(
        model,
        kind="model",
        include_compile=include_compile,
        allow_nonfinite=allow_nonfinite,
        quantize=bool(getattr(model, "quantized", False)),
        card=card if card is not None else getattr(model, "card", None),
    )
    save_archive(path, manifest, arrays, compress=compress)


def save_weights(
    model: Sequential,
    path: PathOrFile,
    *,
    compress: bool = False,
    allow_nonfinite: bool = False,
    card: ModelCard | dict | None = None,
) -> None:
    """Write the architecture and weights of ``model`` (no compile settings, no training state).

    The file is an ordinary model file of kind ``"weights"``: :func:`load_weights`
    reads it into a model of the same architecture, and :func:`load_model`
    rebuilds an uncompiled model from it.

    Parameters
    ----------
    model : Sequential
    path : str, path-like or writable binary file object
    compress : bool
    allow_nonfinite : bool
    card : ModelCard or dict, optional
        As for :func:`save_model` (int8 kernels too, for a quantized model).
    """
    _flags(compress=compress, allow_nonfinite=allow_nonfinite)
    manifest, arrays = model_manifest(
        model,
        kind="weights",
        allow_nonfinite=allow_nonfinite,
        quantize=bool(getattr(model, "quantized", False)),
        card=card if card is not None else getattr(model, "card", None),
    )
    save_archive(path, manifest, arrays, compress=compress)


def load_model(
    path: PathOrFile,
    *,
    compile: bool = True,
    allow_nonfinite: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Sequential:
    """Rebuild a model from a model file.

    Parameters
    ----------
    path : str, path-like or readable binary file object
        E.g. ``io.BytesIO(data)`` for bytes received over a network.
    compile : bool
        Compile the model with the saved loss, optimizer and metrics and restore
        the optimizer's steps and state, ready to go on training exactly where
        it stopped.  With False, only the architecture and weights are read
        (the optimizer arrays are skipped): enough to predict.
    allow_nonfinite : bool
        Accept NaN or infinite values in the arrays (refused by default).
    max_bytes : int
        The most bytes the file's arrays may hold (default 8 GiB); a file that
        declares more is refused before anything is allocated.

    Returns
    -------
    Sequential
        Built, with the saved weights (int8 kernels dequantized), ``epochs_done``
        and random generator state; ``model.card`` is the file's
        :class:`ModelCard` (or None) and ``model.quantized`` tells whether the
        file stored int8 kernels.

    Raises
    ------
    ModelFileError
        For every problem with the file's content, naming the file and the problem;
        also for a path that is a FIFO, a device or a socket (refused before it is
        opened: reading one could block forever).
    OSError
        When the path cannot be opened (e.g. ``FileNotFoundError``, ``IsADirectoryError``).
    """
    _flags(compile=compile, allow_nonfinite=allow_nonfinite)
    with Archive(path, max_bytes=_max_bytes(max_bytes)) as archive:
        try:
            manifest = validate(archive)
            model = rebuild(archive, manifest)
            read_weights(archive, manifest, model, allow_nonfinite)
            if compile and manifest["compile"] is not None:
                compile_from(archive, manifest, model)
            restore_training(
                archive, manifest, model, optimizer_state=compile, allow_nonfinite=allow_nonfinite
            )
        except ModelFileError:
            raise
        except Exception as exc:  # a guarantee: nothing but ModelFileError escapes for a bad file
            raise archive.error(f"cannot be loaded ({_describe(exc)})") from exc
    return model


def load_weights(
    model: Sequential, path: PathOrFile, *, allow_nonfinite: bool = False, max_bytes: int = DEFAULT_MAX_BYTES
) -> None:
    """Read the weights of a model file (either kind) into ``model``, checked against its architecture.

    The file's layers must match the model's: same count, classes, parameter
    and state keys, shapes and dtypes (layer names may differ).  Everything is
    read and verified before the model is touched, so a bad file leaves the
    model as it was.

    Parameters
    ----------
    model : Sequential
        Built, or buildable (its input shape known, else the file's is used).
    path : str, path-like or readable binary file object
    allow_nonfinite : bool
    max_bytes : int

    Raises
    ------
    ModelFileError
        For a bad file, or one whose architecture does not fit the model.
    """
    _flags(allow_nonfinite=allow_nonfinite)
    with Archive(path, max_bytes=_max_bytes(max_bytes)) as archive:
        try:
            manifest = validate(archive)
            if not model.built:
                first = model._known_input_shape() if model.layers else None
                model.build(first if first is not None else tuple(manifest["model"]["input_shape"]))
            check_architecture(archive, manifest, model)
            values = []
            for layer, entry in zip(model.layers, manifest["layers"], strict=True):
                for key in entry["params"]:
                    param = layer.params[key]
                    values.append((param, read_param(archive, entry, key, param.dtype, allow_nonfinite)))
                for key, name in entry["state"].items():
                    values.append(
                        (layer.state[key], archive.read_array(name, allow_nonfinite=allow_nonfinite))
                    )
        except ModelFileError:
            raise
        except Exception as exc:
            raise archive.error(f"cannot be loaded ({_describe(exc)})") from exc
    for target, value in values:
        target[...] = value  # in place: parameters are views into the model's flat buffer


# ================================================================ inspection
@dataclass(frozen=True)
class ArrayCheck:
    """One array of a model file and the result of checking its SHA-256.

    In a packed file (format version 6) the arrays share one checksum, that of the
    buffer holding them: ``expected_sha256`` and ``actual_sha256`` are the buffer's.
    """

    name: str
    dtype: str
    shape: tuple[int, ...]
    expected_sha256: str
    actual_sha256: str
    #: False when a floating-point array holds NaN or infinite values.
    finite: bool = True

    @property
    def ok(self) -> bool:
        """Whether the stored bytes have the manifest's SHA-256."""
        return self.expected_sha256 == self.actual_sha256


@dataclass(frozen=True)
class LayerInfo:
    """One layer as a model file describes it."""

    index: int
    name: str
    class_name: str
    registered: bool
    params: int
    state: int
    arrays: dict[str, tuple[str, tuple[int, ...]]]


@dataclass(frozen=True)
class ModelFileInfo:
    """What :func:`inspect_model_file` found: the manifest's content and every checksum.

    ``str(info)`` is the report that ``tinynet inspect`` prints.
    """

    source: str
    size: int
    sha256: str
    format_version: int
    tinynet_version: str
    kind: str
    model_name: str
    dtype: str
    input_shape: tuple[int, ...]
    layers: list[LayerInfo]
    compile: dict[str, Any] | None
    epochs_done: int | None
    optimizer_iterations: int | None
    optimizer_arrays: int
    arrays: list[ArrayCheck]
    manifest: dict[str, Any] = field(repr=False)
    #: Whether NaN and infinite values were allowed (``inspect_model_file(..., allow_nonfinite=True)``).
    nonfinite_allowed: bool = False
    #: The model card as stored (format version 3), or None.
    card: dict[str, Any] | None = None
    #: ``"<layer index>/<key>"`` of every int8 kernel (format versions 3 and 6).
    quantized: list[str] = field(default_factory=list)

    @property
    def checksums_ok(self) -> bool:
        """Whether every array's SHA-256 matches the manifest."""
        return all(check.ok for check in self.arrays)

    @property
    def nonfinite(self) -> list[str]:
        """The arrays that hold NaN or infinite values (which :func:`load_model` refuses by default)."""
        return [check.name for check in self.arrays if not check.finite]

    @property
    def ok(self) -> bool:
        """Whether :func:`load_model` would accept the data: checksums match, and the values are
        finite unless non-finite values were allowed."""
        return self.checksums_ok and (self.nonfinite_allowed or not self.nonfinite)

    @property
    def total_params(self) -> int:
        """Trainable scalars over all layers."""
        return sum(layer.params for layer in self.layers)

    def __str__(self) -> str:
        lines = [
            f"File        {self.source} ({self.size:,} bytes, sha256 {self.sha256})",
            f"Format      {FORMAT_NAME} version {self.format_version}, written by tinynet "
            f"{self.tinynet_version} ({'model' if self.kind == 'model' else 'weights only'})",
            f'Model       "{self.model_name}", {self.dtype}, input shape '
            f"({', '.join(map(str, self.input_shape))}{',' if len(self.input_shape) == 1 else ''})",
        ]
        graph = self.manifest.get("model", {}).get("graph")
        if graph is not None:  # a functional model (format version 5): its inputs and outputs
            inputs = graph["inputs"] if isinstance(graph["inputs"], list) else [graph["inputs"]]
            outputs = graph["outputs"] if isinstance(graph["outputs"][0], list) else [graph["outputs"]]
            lines.append(
                "Graph       functional; inputs "
                + ", ".join(f"{entry['name']} {tuple(entry['shape'])}" for entry in inputs)
                + "; outputs "
                + ", ".join(f"{name}[{index}]" if index else name for name, index in outputs)
            )
        lines.append("")
        rows = [("#", "Layer (class)", "Param #", "Arrays")]
        for layer in self.layers:
            label = f"{layer.name} ({layer.class_name}{'' if layer.registered else ', NOT REGISTERED'})"
            arrays = ", ".join(f"{key} {dtype} {shape}" for key, (dtype, shape) in layer.arrays.items())
            rows.append((str(layer.index), label, f"{layer.params:,}", arrays or "-"))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for k, row in enumerate(rows):
            lines.append(
                f"{row[0].rjust(widths[0])}  {row[1].ljust(widths[1])}  {row[2].rjust(widths[2])}  {row[3]}".rstrip()
            )
            if k == 0:
                lines.append("-" * min(100, sum(widths) + 6 + max(len(r[3]) for r in rows)))
        state = sum(layer.state for layer in self.layers)
        lines.append(
            f"Total params: {self.total_params:,}" + (f" (and {state:,} state values)" if state else "")
        )
        lines.append("")
        if self.compile is None:
            lines.append("Compiled    no")
        elif "outputs" in self.compile:  # several outputs (format version 7)
            optimizer = self.compile["optimizer"]
            settings = ", ".join(f"{k}={v}" for k, v in optimizer["config"].items())
            lines.append(f"Compiled    optimizer {optimizer['class_name']} ({settings}), per output:")
            for entry in self.compile["outputs"]:
                metrics = ", ".join(entry["metrics"]) or "none"
                lines.append(
                    f"            {entry['name']}: loss {entry['loss']['class_name']} "
                    f"x {entry['loss_weight']}, metrics: {metrics}"
                )
        else:
            optimizer = self.compile["optimizer"]
            settings = ", ".join(f"{k}={v}" for k, v in optimizer["config"].items())
            metrics = ", ".join(self.compile["metrics"]) or "none"
            lines.append(
                f"Compiled    loss {self.compile['loss']['class_name']}, optimizer "
                f"{optimizer['class_name']} ({settings}), metrics: {metrics}"
            )
        if self.epochs_done is not None:
            lines.append(
                f"Training    {self.epochs_done} epochs done, {self.optimizer_iterations} optimizer steps, "
                f"{self.optimizer_arrays} optimizer state arrays, generator state saved"
            )
        if self.quantized:
            lines.append(
                f"Quantized   int8 kernels with per-output-channel float32 scales: {', '.join(self.quantized)}"
            )
        if self.card is not None:
            card = ModelCard.from_json(self.card)
            lines.append("Card        " + str(card).replace("\n", "\n            "))
        if self.nonfinite:
            verdict = (
                "allowed" if self.nonfinite_allowed else "REFUSED by load_model unless allow_nonfinite=True"
            )
            lines.append(
                f"Values      {len(self.nonfinite)} of {len(self.arrays)} arrays hold NaN or infinite values "
                f"({verdict}): {', '.join(self.nonfinite)}"
            )
        else:
            lines.append("Values      OK: no NaN or infinite values")
        packed = self.manifest.get("packed")
        if isinstance(packed, dict):  # format version 6: one buffer, one checksum
            place = "embedded in the manifest" if "data" in packed else "stored as the array 'packed'"
            lines.append(
                f"Packed      all {len(self.arrays)} arrays in one buffer of {_packed_size(packed):,} bytes, {place}"
            )
            if self.checksums_ok:
                lines.append("Checksums   OK: the packed buffer matches its SHA-256")
            else:
                check = self.arrays[0]
                lines.append(
                    f"Checksums   FAILED for the packed buffer (all {len(self.arrays)} arrays): the manifest "
                    f"records {check.expected_sha256}, the data hashes to {check.actual_sha256}"
                )
            return "\n".join(lines)
        bad = [check for check in self.arrays if not check.ok]
        if not bad:
            lines.append(f"Checksums   OK: all {len(self.arrays)} arrays match their SHA-256")
        else:
            lines.append(f"Checksums   FAILED for {len(bad)} of {len(self.arrays)} arrays:")
            for check in bad:
                lines.append(
                    f"  {check.name}: the manifest records {check.expected_sha256}, "
                    f"the data hashes to {check.actual_sha256}"
                )
        return "\n".join(lines)


def _packed_size(packed: dict[str, Any]) -> int:
    """The bytes of a (validated) packed buffer: where its last array ends."""
    if not packed["arrays"]:
        return 0
    last = packed["arrays"][-1]
    return last["offset"] + count_of(tuple(last["shape"])) * np.dtype(last["dtype"]).itemsize


def inspect_model_file(
    path: PathOrFile, *, max_bytes: int = DEFAULT_MAX_BYTES, allow_nonfinite: bool = False
) -> ModelFileInfo:
    """Read a model file's manifest and verify every checksum, without building the model.

    Parameters
    ----------
    path : str, path-like or readable binary file object
    max_bytes : int
    allow_nonfinite : bool
        Whether arrays holding NaN or infinite values count as acceptable
        (``info.ok``), as for :func:`load_model`.  Either way they are listed in
        ``info.nonfinite`` and in the report.

    Returns
    -------
    ModelFileInfo
        ``info.checksums_ok`` tells whether every array is intact, ``info.ok``
        also whether the values are acceptable (finite, unless allowed); ``str(info)``
        is a printable report (format, architecture table, parameter counts,
        compile settings, training progress, checksums).

    Raises
    ------
    ModelFileError
        When the file is not a readable model file at all (a checksum mismatch
        is reported in the result, not raised).
    """
    from ..layers.base import LAYER_REGISTRY

    _flags(allow_nonfinite=allow_nonfinite)
    import_builtin_layers()
    with Archive(path, max_bytes=_max_bytes(max_bytes)) as archive:
        try:
            manifest = validate(archive)
            checks = [
                ArrayCheck(name, m.dtype.str, m.shape, m.sha256, *archive.verify_values(name))
                for name, m in archive.members.items()
            ]
            digest = archive.file_sha256()
        except ModelFileError:
            raise
        except Exception as exc:
            raise archive.error(f"cannot be inspected ({_describe(exc)})") from exc
        layers = []
        quantized_keys: list[str] = []
        for i, entry in enumerate(manifest["layers"]):
            shapes = {}
            counts = {"params": 0, "state": 0}
            for group in ("params", "state"):
                for key, name in entry[group].items():
                    member = archive.members[name]
                    label = key if group == "params" else f"state/{key}"
                    shapes[label] = (member.dtype.newbyteorder("=").name, member.shape)
                    counts[group] += count_of(member.shape)
            for key, quantized in entry.get("quantized", {}).items():
                scale = archive.members[quantized["scale"]]
                shapes[f"{key}.scale"] = (scale.dtype.newbyteorder("=").name, scale.shape)
                quantized_keys.append(f"{i}/{key}")
            config_name = entry["config"].get("name")
            layers.append(
                LayerInfo(
                    index=i,
                    name=config_name if isinstance(config_name, str) else "?",
                    class_name=entry["class_name"],
                    registered=entry["class_name"] in LAYER_REGISTRY,
                    params=counts["params"],
                    state=counts["state"],
                    arrays=shapes,
                )
            )
        training = manifest["training"]
        return ModelFileInfo(
            source=archive.name,
            size=archive.size,
            sha256=digest,
            format_version=manifest["format_version"],
            tinynet_version=manifest["tinynet_version"],
            kind=manifest["kind"],
            model_name=manifest["model"]["name"],
            dtype=manifest["model"]["dtype"],
            input_shape=tuple(manifest["model"]["input_shape"]),
            layers=layers,
            compile=manifest["compile"],
            epochs_done=None if training is None else training["epochs_done"],
            optimizer_iterations=None if training is None else training["optimizer_iterations"],
            optimizer_arrays=0
            if training is None
            else sum(len(entry["slots"]) for entry in training["optimizer_state"]),
            arrays=checks,
            manifest=manifest,
            nonfinite_allowed=allow_nonfinite,
            card=manifest.get("card"),
            quantized=quantized_keys,
        )
