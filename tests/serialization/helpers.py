"""Small models, their files, and tools to take a model file apart and put it back together."""

from __future__ import annotations

import io
import json
import struct
import warnings
import zipfile

import numpy as np

import tinynet as tn
from tinynet.serialization import load_model, save_model

DATE = (1980, 1, 1, 0, 0, 0)


def small_model(seed: int = 0, optimizer="adam", epochs: int = 1, dropout: float = 0.5) -> tn.Sequential:
    """Dense(5, relu) -> Dropout -> Dense(2, softmax) on 3 inputs, trained ``epochs`` epochs."""
    tn.set_seed(seed)
    model = tn.Sequential(
        [
            tn.layers.Dense(5, input_dim=3, activation="relu"),
            tn.layers.Dropout(dropout),
            tn.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    x, y = data(seed)
    model.build()
    if epochs:
        model.fit(x, y, epochs=epochs, batch_size=8, verbose=0)
    return model


def data(seed: int = 0, n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[(x[:, 0] + x[:, 1] > 0).astype(int)]
    return x, y


def to_bytes(model, **kwargs) -> bytes:
    buffer = io.BytesIO()
    save_model(model, buffer, **kwargs)
    return buffer.getvalue()


def load_bytes(data: bytes, **kwargs):
    return load_model(io.BytesIO(data), **kwargs)


def assert_same_model(a, b, *, compiled: bool = True) -> None:
    """Architecture, weights, state, training progress and (when ``compiled``) optimizer state all equal."""
    assert [type(layer) for layer in a.layers] == [type(layer) for layer in b.layers]
    assert [layer.get_config() for layer in a.layers] == [layer.get_config() for layer in b.layers]
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb, strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    assert a.epochs_done == b.epochs_done
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    if compiled:
        assert type(a.loss) is type(b.loss) and a.loss.get_config() == b.loss.get_config()
        assert a.optimizer.get_config() == b.optimizer.get_config()
        assert a.metric_names == b.metric_names
        assert a.optimizer.iterations == b.optimizer.iterations
        assert set(a.optimizer.state) == set(b.optimizer.state)
        for name, slots in a.optimizer.state.items():
            assert set(slots) == set(b.optimizer.state[name])
            for slot, value in slots.items():
                np.testing.assert_array_equal(value, b.optimizer.state[name][slot])


# ------------------------------------------------------------------ taking files apart
def members(data: bytes) -> list[tuple[str, bytes, int]]:
    """(name, uncompressed bytes, compression) of every member, in order (duplicates kept)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(info.filename, zf.read(info), info.compress_type) for info in zf.infolist()]


def build_zip(entries: list[tuple[str, bytes]] | list[tuple[str, bytes, int]], comment: bytes = b"") -> bytes:
    """A zip of ``entries`` (name, bytes[, compression]) in order; duplicates allowed; CRCs computed."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names, which some tests want
        with zipfile.ZipFile(buffer, "w") as zf:
            for entry in entries:
                name, content = entry[0], entry[1]
                info = zipfile.ZipInfo(name, date_time=DATE)
                info.compress_type = entry[2] if len(entry) > 2 else zipfile.ZIP_STORED
                zf.writestr(info, content)
            zf.comment = comment
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def npy_raw(header: str, payload: bytes) -> bytes:
    """A .npy member with a hand-written header dict (padded like numpy's) and raw data."""
    text = header + " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1") + payload


def manifest_of(data: bytes) -> dict:
    for name, content, _ in members(data):
        if name == "manifest.npy":
            array = np.load(io.BytesIO(content), allow_pickle=False)
            return json.loads(array.tobytes().decode("utf-8"))
    raise AssertionError("no manifest")


def manifest_member(manifest, *, raw_text: str | None = None) -> bytes:
    text = raw_text if raw_text is not None else json.dumps(manifest)
    return npy(np.frombuffer(text.encode("utf-8"), dtype=np.uint8))


def replace_member(data: bytes, name: str, content: bytes) -> bytes:
    """The same file with member ``name``'s bytes replaced (CRC recomputed)."""
    entries = [(n, content if n == name else c, m) for n, c, m in members(data)]
    assert any(n == name for n, _, _ in entries), name
    return build_zip(entries)


def with_manifest(data: bytes, manifest: dict | None = None, *, raw_text: str | None = None) -> bytes:
    return replace_member(data, "manifest.npy", manifest_member(manifest, raw_text=raw_text))


def edit_manifest(data: bytes, edit) -> bytes:
    """Apply ``edit(manifest)`` (in place) and rewrite the file with a valid CRC."""
    manifest = manifest_of(data)
    edit(manifest)
    return with_manifest(data, manifest)


def array_names(data: bytes) -> list[str]:
    return [n[:-4] for n, _, _ in members(data) if n != "manifest.npy"]
