"""Packed model files (format version 6): the layout, the round trip, and every damaged field refused.

A packed file holds all its arrays in one byte buffer, embedded in the manifest as base64
(small buffers) or stored as the one array ``packed`` (docs/file-format.md section 5.5).
Each bad file below is refused with a ModelFileError that names the file and the problem.
"""

import base64
import hashlib
import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet as tn
from tinynet import layers as L
from tinynet.cli import main
from tinynet.serialization import FORMAT_VERSION, ModelFileError, inspect_model_file, load_model
from tinynet.serialization._packed import EMBED_MAX_BYTES, aligned, pack

from .helpers import (
    build_zip,
    edit_manifest,
    manifest_of,
    members,
    npy,
    replace_member,
    small_model,
    to_bytes,
)
from .packing import repack, unpack, unpacked

EMBEDDED, STORED = "embedded", "stored"


def quantized_model(seed: int = 0) -> tn.Sequential:
    """Conv2D -> BatchNorm -> Flatten -> Dense, quantized: int8 kernels, float32 scales, biases, state."""
    tn.set_seed(seed)
    model = tn.Sequential(
        [
            L.Conv2D(3, 2, activation="relu", input_shape=(1, 4, 4)),
            L.BatchNormalization(),
            L.Flatten(),
            L.Dense(5, activation="softmax"),
        ]
    )
    model.build()
    rng = np.random.default_rng(seed)
    model.layers[1].state["moving_mean"][...] = rng.normal(size=3)
    return tn.quantize(model)


def inputs(n: int = 7) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(n, 1, 4, 4)).astype(np.float32)


def file_of(model, placement: str) -> bytes:
    """``model``'s packed file with its buffer embedded (tinynet's choice for this small model) or stored."""
    data = to_bytes(model)
    if placement == STORED:
        data = repack(*unpack(data), embed_max_bytes=0)
    return data


@pytest.fixture(scope="module")
def model():
    return quantized_model()


@pytest.fixture(params=[EMBEDDED, STORED])
def good(request, model) -> bytes:
    return file_of(model, request.param)


def refused(data: bytes, *patterns: str, **kwargs) -> ModelFileError:
    with pytest.raises(ModelFileError) as info:
        load_model(io.BytesIO(data), **kwargs)
    for pattern in patterns:
        assert pattern.lower() in str(info.value).lower(), (pattern, str(info.value))
    assert str(info.value).startswith("<BytesIO>: ")  # the message names the file
    return info.value


def edited(data: bytes, edit) -> bytes:
    """``data`` with ``edit(manifest, arrays)`` applied, then repacked (offsets and checksums recomputed)
    in the placement ``data`` has."""
    manifest, arrays = unpack(data)
    edit(manifest, arrays)
    return repack(manifest, arrays, embed_max_bytes=EMBED_MAX_BYTES if "data" in manifest["packed"] else 0)


def with_buffer(data: bytes, buffer: bytes, *, fix_sha256: bool = True) -> bytes:
    """``data`` with its packed buffer's bytes replaced (its SHA-256 updated unless ``fix_sha256`` is False)."""
    digest = hashlib.sha256(buffer).hexdigest()
    if "data" in manifest_of(data)["packed"]:

        def change(m):
            m["packed"]["data"] = base64.b64encode(buffer).decode("ascii")
            if fix_sha256:
                m["packed"]["sha256"] = digest

        return edit_manifest(data, change)
    data = replace_member(data, "packed.npy", npy(np.frombuffer(buffer, np.uint8)))

    def fix(m):
        m["arrays"][0]["shape"] = [len(buffer)]
        if fix_sha256:
            m["arrays"][0]["sha256"] = digest

    return edit_manifest(data, fix)


def buffer_of(data: bytes) -> bytes:
    packed = manifest_of(data)["packed"]
    if "data" in packed:
        return base64.b64decode(packed["data"])
    content = next(c for name, c, _ in members(data) if name == "packed.npy")
    return np.load(io.BytesIO(content), allow_pickle=False).tobytes()


# ------------------------------------------------------------------ the layout
def test_pack_tiles_the_buffer_with_aligned_offsets():
    arrays = [
        ("a", np.arange(3, dtype=np.int8)),
        ("b", np.array([1.5, -2.0], "<f8")),
        ("c", np.array([True, False])),
        ("d", np.zeros((0, 4), "<f4")),
        ("e", np.array(7, "<i2")),
    ]
    packed, stored = pack(arrays)
    assert stored == [] and set(packed) == {"arrays", "data", "sha256"}
    assert [entry["offset"] for entry in packed["arrays"]] == [0, 8, 24, 28, 28]
    buffer = base64.b64decode(packed["data"])
    assert len(buffer) == 30 and buffer[3:8] == b"\0" * 5  # zero padding before the float64 array
    assert packed["sha256"] == hashlib.sha256(buffer).hexdigest()
    assert [entry["shape"] for entry in packed["arrays"]] == [[3], [2], [2], [0, 4], []]
    # a buffer beyond the embedding limit is stored as the array "packed"
    packed, stored = pack(arrays, embed_max_bytes=29)
    assert set(packed) == {"arrays"} and stored[0][0] == "packed" and stored[0][1].tobytes() == buffer
    assert aligned(9, 4) == 12 and aligned(12, 4) == 12 and aligned(0, 8) == 0


def test_a_quantized_model_file_is_one_member_or_two(model):
    small = to_bytes(model)
    assert [name for name, _, _ in members(small)] == ["manifest.npy"]
    assert all(method == 8 for _, _, method in members(small))  # deflated
    manifest = manifest_of(small)
    assert manifest["format_version"] == 6 and manifest["arrays"] == []
    assert [entry["name"] for entry in manifest["packed"]["arrays"]] == [
        "layers/00_conv2d/W",
        "layers/00_conv2d/W.scale",
        "layers/00_conv2d/b",
        "layers/01_batch_normalization/gamma",
        "layers/01_batch_normalization/beta",
        "layers/01_batch_normalization/state/moving_mean",
        "layers/01_batch_normalization/state/moving_variance",
        "layers/03_dense/W",
        "layers/03_dense/W.scale",
        "layers/03_dense/b",
    ]
    text = next(c for name, c, _ in members(small) if name == "manifest.npy")
    assert b"\n " not in text  # a packed file's manifest is written without indentation
    large = to_bytes(tn.quantize(tn.Sequential([L.Dense(80, input_dim=60)])))  # 4,800 int8 weights
    assert [name for name, _, _ in members(large)] == ["packed.npy", "manifest.npy"]
    assert [(a["name"], a["dtype"]) for a in manifest_of(large)["arrays"]] == [("packed", "|u1")]


@pytest.mark.parametrize("placement", [EMBEDDED, STORED])
def test_a_packed_file_loads_to_exactly_what_quantize_returned(model, placement, tmp_path):
    path = tmp_path / "q.npz"
    path.write_bytes(file_of(model, placement))
    loaded = load_model(path)
    assert loaded.quantized and loaded.count_params() == model.count_params()
    np.testing.assert_array_equal(loaded.predict(inputs()), model.predict(inputs()))
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    info = inspect_model_file(path)
    assert info.ok and info.format_version == 6 and len(info.arrays) == 10
    place = "embedded in the manifest" if placement == EMBEDDED else "stored as the array 'packed'"
    assert f"Packed      all 10 arrays in one buffer of 260 bytes, {place}" in str(info)


@settings(max_examples=15)
@given(
    st.lists(st.integers(1, 9), min_size=1, max_size=3),
    st.integers(1, 6),
    st.booleans(),
    st.integers(0, 2**16),
)
def test_any_quantized_dense_stack_round_trips_exactly(units, inputs_, stored, seed):
    tn.set_seed(seed)
    net = tn.Sequential([L.Dense(units[0], input_dim=inputs_, activation="tanh")])
    for n in units[1:]:
        net.add(L.Dense(n, activation="relu"))
    quantized = tn.quantize(net)
    data = to_bytes(quantized)
    if stored:
        data = repack(*unpack(data), embed_max_bytes=0)
    x = np.random.default_rng(seed).normal(size=(5, inputs_)).astype(np.float32)
    np.testing.assert_array_equal(load_model(io.BytesIO(data)).predict(x), quantized.predict(x))


def test_a_compiled_quantized_model_packs_its_optimizer_state_too(tmp_path):
    net = small_model(epochs=1)
    quantized = tn.quantize(net, include_compile=True)
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    quantized.fit(x, np.eye(2, dtype=np.float32)[[0, 1] * 4], epochs=1, batch_size=4, verbose=0)
    quantized.save(tmp_path / "q.npz")
    manifest, arrays = unpack((tmp_path / "q.npz").read_bytes())
    assert any(name.startswith("optimizer/") for name in arrays) and manifest["compile"] is not None
    loaded = load_model(tmp_path / "q.npz")
    assert loaded.optimizer.iterations == quantized.optimizer.iterations
    for name, slots in quantized.optimizer.state.items():
        for slot, value in slots.items():
            np.testing.assert_array_equal(loaded.optimizer.state[name][slot], value)


def test_a_quantized_functional_model_is_version_6():
    tn.set_seed(3)
    a = tn.Input(shape=(4,), name="a")
    h = L.Dense(3, activation="relu")(a)
    net = tn.Model(a, L.Dense(2)(L.Add()([h, L.Dense(3)(h)])))
    quantized = tn.quantize(net)
    data = to_bytes(quantized)
    assert manifest_of(data)["format_version"] == 6 and manifest_of(data)["model"]["class_name"] == "Model"
    x = np.random.default_rng(0).normal(size=(4, 4)).astype(np.float32)
    np.testing.assert_array_equal(load_model(io.BytesIO(data)).predict(x), quantized.predict(x))


def test_a_quantized_weights_file_is_packed_too(model, tmp_path):
    tn.save_weights(model, tmp_path / "w.npz")
    manifest = manifest_of((tmp_path / "w.npz").read_bytes())
    assert manifest["kind"] == "weights" and manifest["format_version"] == 6 and "packed" in manifest
    np.testing.assert_array_equal(load_model(tmp_path / "w.npz").predict(inputs()), model.predict(inputs()))
    fresh = quantized_model(seed=4)
    tn.load_weights(fresh, tmp_path / "w.npz")
    np.testing.assert_array_equal(fresh.predict(inputs()), model.predict(inputs()))


def test_files_without_int8_kernels_keep_their_versions_and_layout():
    data = to_bytes(small_model())
    manifest = manifest_of(data)
    assert manifest["format_version"] == 1 and "packed" not in manifest
    assert len(members(data)) == 1 + len(manifest["arrays"])


# ------------------------------------------------------------------ bad files
def test_good_files_load(good):
    np.testing.assert_array_equal(
        load_model(io.BytesIO(good)).predict(inputs()), quantized_model().predict(inputs())
    )


def test_a_truncated_buffer_is_refused(good):
    buffer = buffer_of(good)
    refused(
        with_buffer(good, buffer[:-4]), "layers/03_dense/b", "needs bytes 240 to 260", "holds only 256 bytes"
    )
    refused(with_buffer(good, buffer[:100]), "holds only 100 bytes", "truncated")
    refused(with_buffer(good, b""), "holds only 0 bytes")
    refused(with_buffer(good, buffer + b"\0" * 4), "holds 264 bytes but its arrays end at byte 260")


def test_a_truncated_stored_member_is_refused(model):
    data = file_of(model, STORED)
    content = next(c for name, c, _ in members(data) if name == "packed.npy")
    refused(replace_member(data, "packed.npy", content[:-10]), "declares shape (260,)", "stores 250 bytes")


def test_wrong_offsets_are_refused(good):
    def offset(i, value):
        return edit_manifest(good, lambda m: m["packed"]["arrays"][i].update(offset=value))

    refused(offset(1, 40), "'layers/00_conv2d/W.scale' has offset 40", "must start at byte 12")
    refused(offset(1, 16), "must start at byte 12")  # a gap
    refused(offset(2, 0), "must start at byte 24")  # overlapping the kernel
    refused(offset(0, -1), "must start at byte 0")
    refused(offset(0, 2**70), "must start at byte 0")
    refused(offset(0, "0"), "offset 0, but")
    refused(offset(0, True), "must start at byte 0")
    refused(offset(0, 0.0), "must start at byte 0")


def test_bad_dtypes_are_refused(good):
    def dtype(i, value):
        return edit_manifest(good, lambda m: m["packed"]["arrays"][i].update(dtype=value))

    for bad in ("|O", "<c8", ">f4", "float32", "<U4", 4, None):
        refused(dtype(2, bad), "'layers/00_conv2d/b' has dtype", "little-endian bool, integers and floats")
    # allowed dtypes that do not fit: the rest of the buffer moves, or the layer refuses it
    refused(dtype(2, "<f8"), "'layers/01_batch_normalization/gamma' has offset 36", "must start at byte 48")
    refused(dtype(0, "<i2"), "must start at byte")
    refused(
        edited(good, lambda m, a: a.update({"layers/00_conv2d/b": a["layers/00_conv2d/b"].astype("<f8")})),
        "float64 (3,)",
        "needs float32 (3,)",
    )
    refused(
        edited(good, lambda m, a: a.update({"layers/00_conv2d/W": a["layers/00_conv2d/W"].astype("<f4")})),
        "must be int8",
    )


def test_bad_shapes_and_names_are_refused(good):
    def entry(i, **change):
        return edit_manifest(good, lambda m: m["packed"]["arrays"][i].update(**change))

    refused(entry(9, shape=[-5]), "invalid shape")
    refused(entry(9, shape=[5.0]), "invalid shape")
    refused(entry(9, shape=[1] * 33), "invalid shape")
    refused(entry(9, shape=5), "invalid shape")
    refused(entry(9, shape=[2**40]), "needs bytes")  # a shape bomb: refused before anything is allocated
    refused(entry(9, shape=[6]), "needs bytes")
    refused(entry(9, shape=[4]), "holds 260 bytes but its arrays end at byte 256")
    refused(entry(9, name="../etc/passwd"), "invalid array name")
    refused(entry(9, name="manifest"), "reserved name")
    refused(entry(9, name="layers/00_conv2d/W"), "twice")
    refused(
        entry(9, name="layers/99_other/b"), "'layers'[3].params['b'] refers to the array 'layers/03_dense/b'"
    )
    refused(entry(9, extra=1), "keys name, dtype, shape, offset")


def test_the_packed_object_is_checked(good):
    def change(edit):
        return edit_manifest(good, edit)

    refused(change(lambda m: m.update(packed=[])), "'packed' must be an object")
    refused(change(lambda m: m["packed"].update(extra=1)), "'packed' must be an object with keys")
    refused(change(lambda m: m["packed"].update(arrays={})), "'packed.arrays' must be a list")
    refused(change(lambda m: m.pop("packed")), "which the file does not hold")
    refused(change(lambda m: m.update(format_version=5)), "'packed', which format version 5 does not have")


def test_a_checksum_mismatch_is_refused(good):
    buffer = bytearray(buffer_of(good))
    buffer[40] ^= 0x10  # inside the BatchNorm gamma
    error = refused(with_buffer(good, bytes(buffer), fix_sha256=False), "altered or corrupted")
    assert hashlib.sha256(bytes(buffer)).hexdigest() in str(error)
    # inspect reports it instead of raising, and names the buffer
    info = inspect_model_file(io.BytesIO(with_buffer(good, bytes(buffer), fix_sha256=False)))
    assert not info.checksums_ok and not info.ok
    assert "Checksums   FAILED for the packed buffer (all 10 arrays)" in str(info)


def test_embedded_data_is_checked(model):
    data = file_of(model, EMBEDDED)

    def change(**fields):
        return edit_manifest(data, lambda m: m["packed"].update(**fields))

    text = manifest_of(data)["packed"]["data"]
    for bad in (
        text[:-1],
        text + "=",
        text.replace("A", "-", 1),
        text[:8] + "\n" + text[8:],
        "QR==",
        12,
        None,
    ):
        refused(change(data=bad), "'packed.data' must be the standard base64 text")
    for bad in ("0" * 63, "A" * 64, 5):
        refused(change(sha256=bad), "'packed.sha256' must be 64 lowercase hex digits")
    embedded = manifest_of(data)["packed"]
    both = edit_manifest(file_of(model, STORED), lambda m: m["packed"].update(embedded))
    refused(both, "embedded in the manifest, so it stores no arrays, but it stores 'packed'")
    refused(data, "max_bytes=100", max_bytes=100)


def test_a_stored_buffer_is_checked(model):
    data = file_of(model, STORED)
    refused(_renamed(data, "buffer"), "stores exactly one array, 'packed'")
    as_int16 = replace_member(data, "packed.npy", npy(np.zeros(130, "<i2")))

    def fix(m):
        m["arrays"][0].update(dtype="<i2", shape=[130], sha256=hashlib.sha256(bytes(260)).hexdigest())

    refused(edit_manifest(as_int16, fix), "must be a 1-D uint8 (|u1) array")


def _renamed(data: bytes, name: str) -> bytes:
    """The stored buffer under another name (manifest and member renamed together)."""
    entries = [(f"{name}.npy" if n == "packed.npy" else n, c) for n, c, _ in members(data)]
    manifest = json.loads(np.load(io.BytesIO(entries[-1][1]), allow_pickle=False).tobytes())
    manifest["arrays"][0]["name"] = name
    text = json.dumps(manifest).encode()
    return build_zip([entries[0], ("manifest.npy", npy(np.frombuffer(text, np.uint8)))])


def test_non_zero_padding_is_refused():
    tn.set_seed(0)
    net = tn.quantize(tn.Sequential([L.Dense(3, input_dim=3)]))  # 9 int8 weights, then 3 bytes of padding
    data = to_bytes(net)
    assert [entry["offset"] for entry in manifest_of(data)["packed"]["arrays"]] == [0, 12, 24]
    buffer = bytearray(buffer_of(data))
    assert buffer[9:12] == b"\0\0\0"
    buffer[10] = 1
    refused(with_buffer(data, bytes(buffer)), "non-zero bytes in the padding", "bytes 9 to 12")


def test_a_future_version_is_refused(good):
    newer = edit_manifest(good, lambda m: m.update(format_version=FORMAT_VERSION + 1, tinynet_version="9.9"))
    refused(newer, f"format version {FORMAT_VERSION + 1}", "tinynet 9.9", "Upgrade tinynet")


def test_non_finite_values_in_packed_arrays(tmp_path):
    net = quantized_model()
    net.layers[3].params["b"][1] = np.nan
    tn.save_model(net, tmp_path / "nan.npz", allow_nonfinite=True)
    with pytest.raises(ModelFileError, match=r"nan\.npz: array 'layers/03_dense/b' contains NaN"):
        load_model(tmp_path / "nan.npz")
    assert np.isnan(load_model(tmp_path / "nan.npz", allow_nonfinite=True).layers[3].params["b"][1])
    info = inspect_model_file(tmp_path / "nan.npz")
    assert info.checksums_ok and not info.ok and info.nonfinite == ["layers/03_dense/b"]


def test_errors_name_the_path(tmp_path, model):
    path = tmp_path / "damaged.npz"
    path.write_bytes(edit_manifest(to_bytes(model), lambda m: m["packed"]["arrays"][1].update(offset=3)))
    with pytest.raises(ModelFileError, match=r"damaged\.npz: the packed array 'layers/00_conv2d/W.scale'"):
        load_model(path)


def test_the_command_line_inspects_a_packed_file(tmp_path, model, capsys):
    (tmp_path / "q.npz").write_bytes(to_bytes(model))
    assert main(["inspect", str(tmp_path / "q.npz")]) == 0
    out = capsys.readouterr().out
    for needle in ("tinynet-model version 6", "Quantized   int8 kernels", "Packed      all 10 arrays"):
        assert needle in out, needle
    assert main(["inspect", str(tmp_path / "q.npz"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["checksums_ok"] and report["failed"] == [] and "packed" in report["manifest"]


def test_the_version_3_layout_still_loads(model):
    old = unpacked(to_bytes(model))
    assert "packed" not in manifest_of(old) and manifest_of(old)["format_version"] == 3
    np.testing.assert_array_equal(load_model(io.BytesIO(old)).predict(inputs()), model.predict(inputs()))
