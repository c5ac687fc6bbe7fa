"""Hand-made bad files: each is refused with a ModelFileError that names the file and the problem.

The attacks are those that have broken other model loaders: pickle payloads,
configurations naming arbitrary callables, zip and shape bombs, duplicate or
path-like members, and files that try to switch safety off.
"""

import io
import json
import os
import re
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn
from tinynet.serialization import (
    MAX_MANIFEST_BYTES,
    MAX_MANIFEST_VALUES,
    MAX_MEMBERS,
    ModelFileError,
    load_model,
)

from .helpers import (
    build_zip,
    edit_manifest,
    load_bytes,
    manifest_member,
    manifest_of,
    members,
    npy,
    npy_raw,
    replace_member,
    small_model,
    to_bytes,
    with_manifest,
)


@pytest.fixture(scope="module")
def good() -> bytes:
    return to_bytes(small_model(epochs=1))


def refused(data: bytes, *patterns: str, **kwargs) -> ModelFileError:
    """Load ``data`` expecting a ModelFileError whose message matches every pattern."""
    with pytest.raises(ModelFileError) as info:
        load_bytes(data, **kwargs)
    message = str(info.value)
    assert message.startswith("<BytesIO>: "), message
    for pattern in patterns:
        assert pattern.lower() in message.lower(), (pattern, message)
    return info.value


def test_the_error_is_a_value_error_naming_the_file(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not a model")
    with pytest.raises(ValueError, match=r"broken\.npz: is not a zip archive") as info:
        load_model(path)
    assert isinstance(info.value, ModelFileError) and info.value.source == str(path)
    assert tn.serialization.ModelFileError is ModelFileError


# ---------------------------------------------------------------- not a model file
def test_not_a_zip():
    refused(b"hello world, this is not a zip file at all", "not a zip archive")
    refused(b"", "only 0 bytes")
    refused(b"PK\x03\x04" + b"\x00" * 100, "not a zip archive")


def test_some_other_npz_or_zip():
    buffer = io.BytesIO()
    np.savez(buffer, a=np.arange(3))
    refused(buffer.getvalue(), "no manifest", "not a tinynet model file")
    refused(build_zip([("readme.txt", b"hi")]), "readme.txt", "may not contain")


@pytest.mark.parametrize("cut", [1, 21, 22, 100, 0.25, 0.5, 0.9, -200, -23, -22, -1])
def test_truncated(good, cut):
    n = int(len(good) * cut) if isinstance(cut, float) else cut if cut > 0 else len(good) + cut
    refused(good[:n])


def test_junk_before_after_or_a_comment(good):
    refused(good + b"\x00" * 10, "not a zip archive")
    refused(b"#!/bin/sh\n" + good, "directory does not end where")
    refused(build_zip([(n, c) for n, c, _ in members(good)], comment=b"hello"), "zip comment")


def test_corrupted_array_data_is_caught_by_its_checksum(good):
    damaged = bytearray(good)
    offset = good.index(b"\x93NUMPY") + 128 + 5  # inside the first array's data (W of the first layer)
    damaged[offset] ^= 0x40
    refused(bytes(damaged), "layers/00_dense/W", "altered or corrupted", "sha-256")


def test_altered_array_with_recomputed_crc_is_named(good):
    w = np.load(io.BytesIO(dict((n, c) for n, c, _ in members(good))["layers/02_dense_1/W.npy"]))
    w[0, 0] += 1
    damaged = replace_member(good, "layers/02_dense_1/W.npy", npy(w))
    with zipfile.ZipFile(io.BytesIO(damaged)) as zf:
        assert zf.testzip() is None  # a valid zip: its CRCs were recomputed
    refused(damaged, "array 'layers/02_dense_1/W' was altered")


def test_corrupted_manifest(good):
    damaged = bytearray(good)
    at = good.index(b'"format": "tinynet-model"')
    damaged[at + 3] ^= 0x01
    refused(bytes(damaged), "manifest is corrupted")


# ------------------------------------------------------------------------ manifest
def test_missing_manifest(good):
    refused(build_zip([(n, c) for n, c, _ in members(good) if n != "manifest.npy"]), "has no manifest")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("{not json", "not valid JSON"),
        ('{"a": NaN}', "NaN is not a number JSON allows"),
        ('{"a": 1e999}', "out of range"),
        ('{"a": 1, "a": 2}', "appears twice"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
        ("[1, 2, 3]", "must be a JSON object"),
        ('{"format": "keras"}', "is not a tinynet model file"),
        ('{"format": "tinynet-model", "format_version": "1"}', "positive integer"),
        ('{"format": "tinynet-model", "format_version": true}', "positive integer"),
        ('{"format": "tinynet-model", "format_version": 0}', "positive integer"),
    ],
)
def test_manifest_that_is_not_valid(good, text, pattern):
    refused(with_manifest(good, raw_text=text), pattern)


def test_manifest_not_utf8_or_not_uint8(good):
    refused(replace_member(good, "manifest.npy", npy(np.frombuffer(b"\xff\xfe{}", np.uint8))), "not UTF-8")
    refused(replace_member(good, "manifest.npy", npy(np.zeros(3, np.float32))), "1-D uint8")


def test_newer_format_version_says_which_tinynet_it_needs(good):
    from tinynet.serialization import FORMAT_VERSION

    def newer(m):
        m["format_version"] = FORMAT_VERSION + 1
        m["tinynet_version"] = "9.1.0"
        m["something_new"] = {"x": 1}

    refused(
        edit_manifest(good, newer),
        f"format version {FORMAT_VERSION + 1}",
        "tinynet 9.1.0",
        "upgrade tinynet",
        f"reads format version {FORMAT_VERSION}",
    )


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda m: m.__setitem__("layers", "Dense"), "'layers' must be a non-empty list"),
        (lambda m: m.__setitem__("layers", []), "'layers' must be a non-empty list"),
        (lambda m: m["layers"][0].__setitem__("config", [1]), "'layers'[0].config must be a JSON object"),
        (
            lambda m: m["layers"][0].__setitem__("class_name", 7),
            "'layers'[0].class_name must be a non-empty string",
        ),
        (lambda m: m["layers"][0].pop("state"), "missing state"),
        (lambda m: m["model"].__setitem__("dtype", "float16"), "'model.dtype' must be"),
        (lambda m: m["model"].__setitem__("input_shape", [0]), "'model.input_shape'[0]"),
        (lambda m: m["model"].__setitem__("input_shape", [3.0]), "'model.input_shape'[0]"),
        (lambda m: m["model"].__setitem__("class_name", "Functional"), "'Sequential'"),
        (lambda m: m["training"].__setitem__("epochs_done", -1), "'training.epochs_done'"),
        (lambda m: m["training"].__setitem__("epochs_done", 2**70), "'training.epochs_done'"),
        (lambda m: m["training"]["rng"].__setitem__("state", "12ab"), "'training.rng.state'"),
        (lambda m: m["training"]["rng"].__setitem__("inc", str(2**128)), "'training.rng.inc'"),
        (lambda m: m["training"]["rng"].__setitem__("bit_generator", "MT19937"), "must be one of PCG64"),
        (lambda m: m.__setitem__("kind", "pickle"), "'kind' must be"),
        (lambda m: m.__setitem__("training", None), "must have 'training'"),
        (lambda m: m.__setitem__("arrays", {}), "'arrays' must be a list"),
        (lambda m: m["arrays"][0].__setitem__("sha256", "00"), "invalid sha256"),
        (lambda m: m["arrays"][0].__setitem__("shape", [-3, 5]), "invalid shape"),
        (lambda m: m["arrays"][0].__setitem__("extra", 1), "keys name, dtype, shape, sha256"),
        (lambda m: m["layers"][0]["params"].__setitem__("W", "layers/02_dense_1/W"), "is used twice"),
        (lambda m: m["layers"][0]["params"].__setitem__("W", "nowhere/W"), "which the file does not hold"),
        (lambda m: m["layers"][0]["params"].pop("b"), "parameter 'b', which layer 0 does not have"),
        (lambda m: m["training"]["optimizer_state"][0].__setitem__("layer", 9), "optimizer_state'[0].layer"),
        (lambda m: m["training"]["optimizer_state"][0].__setitem__("param", "Z"), "does not have"),
        (lambda m: m["compile"].__setitem__("metrics", "accuracy"), "'compile.metrics' must be a list"),
    ],
)
def test_manifest_with_wrong_types_or_references(good, edit, pattern):
    refused(edit_manifest(good, edit), pattern)


def test_an_array_nobody_uses(good):
    import hashlib

    spare = np.zeros(2, np.float32)

    def add(m):
        m["arrays"].append(
            {
                "name": "spare",
                "dtype": "<f4",
                "shape": [2],
                "sha256": hashlib.sha256(spare.tobytes()).hexdigest(),
            }
        )

    entries = [(n, c) for n, c, _ in members(edit_manifest(good, add))]
    refused(build_zip([*entries[:-1], ("spare.npy", npy(spare)), entries[-1]]), "'spare' is not used")


def test_options_in_the_file_cannot_switch_safety_off(good):
    def switch_off(m):
        m["allow_pickle"] = True
        m["allow_nonfinite"] = True

    refused(edit_manifest(good, switch_off), "unexpected 'allow_nonfinite', 'allow_pickle'")

    def object_dtype(m):
        m["arrays"][0]["dtype"] = "|O"

    refused(edit_manifest(good, object_dtype), "dtype '|O'")


# ------------------------------------------------- nothing is imported by name
@pytest.mark.parametrize(
    "name", ["os.system", "builtins.eval", "__import__", "subprocess.Popen", "Sequential"]
)
def test_layer_classes_come_only_from_the_registry(good, name):
    def evil(m):
        m["layers"][1]["class_name"] = name

    before = set(sys.modules)
    error = refused(
        edit_manifest(good, evil), f"layer 1 is a '{name}'", "not a registered layer class", "register_layer"
    )
    assert "Dense" in str(error)  # the registered classes are listed
    assert set(sys.modules) == before


def test_unknown_layer_class_points_at_register_layer(good):
    def custom(m):
        m["layers"][0]["class_name"] = "MyFancyDense"

    refused(edit_manifest(good, custom), "'MyFancyDense'", "@tn.register_layer")


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda m: m["layers"][0]["config"].__setitem__("activation", "os.system"), "unknown activation"),
        (lambda m: m["layers"][0]["config"].__setitem__("kernel_initializer", "eval"), "unknown initializer"),
        (
            lambda m: m["layers"][0]["config"].__setitem__("__class__", "x"),
            "'__class__', which Dense does not take",
        ),
        (
            lambda m: m["layers"][0]["config"].__setitem__(
                "kernel_regularizer", {"class_name": "os.system", "config": {}}
            ),
            "unknown regularizer",
        ),
        (lambda m: m["compile"]["loss"].__setitem__("class_name", "builtins.exec"), "unknown loss"),
        (
            lambda m: m["compile"]["optimizer"].__setitem__("class_name", "subprocess.Popen"),
            "unknown optimizer",
        ),
        (
            lambda m: m["compile"]["optimizer"]["config"].__setitem__(
                "learning_rate", {"class_name": "os.system", "config": {}}
            ),
            "unknown learning-rate schedule",
        ),
        (
            lambda m: m["compile"]["optimizer"]["config"].__setitem__("learning_rate", "0.1"),
            "'compile'.optimizer.config.learning_rate must be a number or a learning-rate schedule",
        ),
        (
            lambda m: m["compile"]["optimizer"]["config"].__setitem__("beta_1", [1]),
            "'compile'.optimizer.config.beta_1 must be a number, found a list",
        ),
        (lambda m: m["compile"].__setitem__("metrics", ["eval"]), "unknown metric 'eval'"),
        (
            lambda m: m["training"]["optimizer_state"][0]["slots"].__setitem__(
                "momentum", m["training"]["optimizer_state"][0]["slots"].pop("m")
            ),
            "keeps m, v",
        ),
    ],
)
def test_names_in_configs_come_only_from_fixed_lists(good, edit, pattern):
    refused(edit_manifest(good, edit), pattern)


def test_a_config_asking_for_a_huge_layer_is_refused_before_allocating(good):
    def huge(m):
        m["layers"][0]["config"]["units"] = 10**9

    tracemalloc.start()
    try:
        refused(edit_manifest(good, huge), "'layers/00_dense/W' has shape (3, 5)", "needs (3, 1000000000)")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20


# --------------------------------------------------------- members and headers
def test_pickle_payloads_are_never_unpickled(good):
    payload = np.array([{"x": 1}, print], dtype=object)
    refused(replace_member(good, "layers/00_dense/b.npy", npy(payload)), "dtype '|O'", "never a pickle")


@pytest.mark.parametrize("dtype", ["<c8", "<U3", "<M8[s]", "|V4", ">f4", "<f16"])
def test_only_little_endian_bool_int_float_dtypes(good, dtype):
    member = npy_raw(f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': (5,), }}", b"\x00" * 80)
    refused(replace_member(good, "layers/00_dense/b.npy", member), "layers/00_dense/b", "dtype")


def test_fortran_order_is_refused(good):
    w = np.asfortranarray(np.ones((3, 5), np.float32))
    refused(replace_member(good, "layers/00_dense/W.npy", npy(w)), "fortran order")


def test_header_disagreeing_with_the_manifest(good):
    refused(
        replace_member(good, "layers/00_dense/b.npy", npy(np.zeros(6, np.float32))), "(6,)", "manifest says"
    )
    refused(
        replace_member(good, "layers/00_dense/b.npy", npy(np.zeros(5, np.float64))), "<f8", "manifest says"
    )


def test_shape_and_dtype_that_do_not_fit_the_architecture(good):
    def wider(m):
        for entry in m["arrays"]:
            if entry["name"] == "layers/00_dense/W":
                entry["shape"] = [4, 5]

    data = replace_member(
        edit_manifest(good, wider), "layers/00_dense/W.npy", npy(np.zeros((4, 5), np.float32))
    )
    refused(data, "'layers/00_dense/W' has shape (4, 5)", "needs (3, 5)")

    def float64(m):
        for entry in m["arrays"]:
            if entry["name"] == "layers/00_dense/b":
                entry["dtype"] = "<f8"

    data = replace_member(edit_manifest(good, float64), "layers/00_dense/b.npy", npy(np.zeros(5, np.float64)))
    refused(data, "'layers/00_dense/b' is float64 (5,)", "needs float32 (5,)")


def test_a_200_byte_shape_bomb_allocates_nothing():
    """numpy would allocate the declared 40 GB before reading the 4 bytes the member holds."""
    member = npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }", b"\x00" * 4)
    arrays = [{"name": "w", "dtype": "<f4", "shape": [100000, 100000], "sha256": "0" * 64}]
    manifest = {"format": "tinynet-model", "format_version": 1, "arrays": arrays}
    data = build_zip([("w.npy", member), ("manifest.npy", manifest_member(manifest))])
    assert len(data) < 1000
    tracemalloc.start()
    start = time.perf_counter()
    try:
        refused(data, "declares shape (100000, 100000) (40,000,000,000 bytes)", "stores 4 bytes")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20 and time.perf_counter() - start < 1.0


def test_max_bytes_caps_what_a_file_may_declare(good):
    refused(good, "max_bytes=100", max_bytes=100)
    assert load_bytes(good, max_bytes=len(good)).count_params() == 32


def _patch_sizes(data: bytes, name: str, size: int) -> bytes:
    """Rewrite the uncompressed size of member ``name`` in both its local and central headers."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(name)
    struct.pack_into("<L", out, info.header_offset + 22, size)
    central = data.index(b"PK\x01\x02")
    while True:
        n, extra, comment = struct.unpack_from("<3H", out, central + 28)
        if bytes(out[central + 46 : central + 46 + n]) == name.encode():
            struct.pack_into("<L", out, central + 24, size)
            return bytes(out)
        central += 46 + n + extra + comment


def test_zip_bomb_declaring_more_than_deflate_can_produce(good):
    entries = [(n, c, zipfile.ZIP_DEFLATED) for n, c, _ in members(good)]
    deflated = build_zip(entries)
    bomb = _patch_sizes(deflated, "layers/00_dense/W.npy", 3_000_000_000)
    tracemalloc.start()
    try:
        refused(bomb, "layers/00_dense/W.npy", "more than deflate can")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_highly_compressed_members_still_obey_max_bytes():
    zeros = np.zeros(2_000_000, np.float32)  # 8 MB of zeros deflate to about 8 KB
    member = npy(zeros)
    import hashlib

    digest = hashlib.sha256(zeros.tobytes()).hexdigest()
    manifest = {
        "format": "tinynet-model",
        "format_version": 1,
        "arrays": [{"name": "z", "dtype": "<f4", "shape": [2_000_000], "sha256": digest}],
    }
    data = build_zip([("z.npy", member, zipfile.ZIP_DEFLATED), ("manifest.npy", manifest_member(manifest))])
    assert len(data) < 50_000
    refused(data, "max_bytes=1,000,000", max_bytes=1_000_000)


def test_deflated_member_that_lies_about_its_size(good):
    entries = [(n, c, zipfile.ZIP_DEFLATED) for n, c, _ in members(good)]
    deflated = build_zip(entries)
    with zipfile.ZipFile(io.BytesIO(deflated)) as zf:
        size = zf.getinfo("layers/00_dense/W.npy").file_size
    refused(_patch_sizes(deflated, "layers/00_dense/W.npy", size - 4), "layers/00_dense/W", "corrupted")


def test_duplicate_member_names(good):
    entries = [(n, c) for n, c, _ in members(good)]
    twin = ("layers/00_dense/W.npy", npy(np.full((3, 5), 7, np.float32)))
    refused(build_zip([*entries[:-1], twin, entries[-1]]), "two members named 'layers/00_dense/W.npy'")


@pytest.mark.parametrize(
    "name",
    [
        "../evil.npy",
        "/etc/evil.npy",
        "a\\b.npy",
        "layers/../x.npy",
        "layers/./x.npy",
        "évil.npy",
        "x.txt",
        ".npy",
        "a//b.npy",
    ],
)
def test_path_like_or_odd_member_names(good, name):
    entries = [(n, c) for n, c, _ in members(good)]
    refused(build_zip([*entries[:-1], (name, npy(np.zeros(1, np.float32))), entries[-1]]), "may not contain")


def test_a_member_name_with_a_nul_byte(good):
    data = bytearray(build_zip([(n, c) for n, c, _ in members(good)] + [("abc/evil.npy", b"x")]))
    for start in range(len(data)):
        start = data.find(b"abc/evil.npy", start)
        if start < 0:
            break
        data[start + 3] = 0  # "abc\x00evil.npy": zipfile would silently cut the name at the NUL
    refused(bytes(data), "may not contain")


def test_extra_and_missing_members(good):
    entries = [(n, c) for n, c, _ in members(good)]
    refused(
        build_zip([*entries[:-1], ("extra.npy", npy(np.zeros(2))), entries[-1]]), "does not list: extra.npy"
    )
    refused(
        build_zip([e for e in entries if e[0] != "layers/00_dense/b.npy"]),
        "has no member layers/00_dense/b.npy",
    )


def test_a_member_that_is_not_npy(good):
    refused(
        replace_member(good, "layers/00_dense/b.npy", b"\x00" * 84), "'layers/00_dense/b' is not a valid .npy"
    )
    header = npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), 'evil': __import__('os')}", b"")
    refused(replace_member(good, "layers/00_dense/b.npy", header + b"\x00" * 20), "not a valid .npy")
    python2 = npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (5L,), }", b"\x00" * 20)
    refused(replace_member(good, "layers/00_dense/b.npy", python2), "not a valid .npy")


def test_encrypted_or_oddly_compressed_members(good):
    data = bytearray(good)
    central = good.index(b"PK\x01\x02")
    data[central + 8] |= 0x01  # the "encrypted" flag of the first member
    refused(bytes(data), "encrypted")
    data = bytearray(good)
    data[central + 10] = 12  # bzip2 in the directory
    refused(bytes(data), "compression method 12")


def test_too_many_members():
    entries = [(f"a{i}.npy", b"") for i in range(MAX_MEMBERS + 1)]
    start = time.perf_counter()
    refused(build_zip(entries), "at most 10,000")
    assert time.perf_counter() - start < 2.0


def test_manifest_too_large(good):
    big = '{"pad": "' + "x" * (16 * 2**20 + 10) + '"}'
    refused(with_manifest(good, raw_text=big), "a manifest may hold at most")


def test_local_header_that_disagrees_with_the_directory(good):
    data = bytearray(good)
    at = good.index(b"layers/00_dense/W.npy")  # the first occurrence is in the local header
    data[at] = ord("X")
    refused(bytes(data), "disagrees with the zip directory")


def test_overlapping_members(good):
    """A member whose local record lies inside another member's data (the 'overlapping files' bomb)."""
    b_content = npy(np.zeros(2))
    b_record = build_zip([("b.npy", b_content)])
    b_record = b_record[: b_record.index(b"PK\x01\x02")]  # b's local header and data
    manifest = members(good)[-1][1]
    data = bytearray(build_zip([("a.npy", b_record), ("b.npy", b_content), ("manifest.npy", manifest)]))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        a = zf.getinfo("a.npy")
    a_data = a.header_offset + 30 + len("a.npy")
    second_entry = bytes(data).index(b"PK\x01\x02", bytes(data).index(b"PK\x01\x02") + 1)
    struct.pack_into("<L", data, second_entry + 42, a_data)  # b's directory entry -> inside a's data
    refused(bytes(data), "member 'b.npy' overlaps the previous member")


def test_errors_never_escape_as_other_types(good, tmp_path):
    """A sample of damages, each must be a ModelFileError (never KeyError, BadZipFile, ...)."""
    samples = [good[: len(good) // 3], good[:-7], good.replace(b"PK\x01\x02", b"PK\x01\x03", 1)]
    for i, data in enumerate(samples):
        path = tmp_path / f"bad{i}.npz"
        path.write_bytes(data)
        with pytest.raises(ModelFileError, match=str(path)):
            load_model(path)


def test_optimizer_state_mismatches(good):
    def shape(m):
        name = m["training"]["optimizer_state"][0]["slots"]["m"]
        m["training"]["optimizer_state"][0]["slots"]["m"] = m["layers"][0]["params"]["b"]
        m["layers"][0]["params"]["b"] = name

    refused(edit_manifest(good, shape), "array")

    def orphan(m):
        m["compile"] = None

    refused(edit_manifest(good, orphan), "no 'compile' settings")


def test_weights_kind_must_not_carry_training(good):
    def weights(m):
        m["kind"] = "weights"

    refused(edit_manifest(good, weights), "has no 'compile' and no 'training'")


def test_manifest_json_round_trip_of_a_good_file_loads(good):
    """The manifest tools above are faithful: rewriting an unchanged manifest still loads."""
    rewritten = with_manifest(good, manifest_of(good))
    assert load_bytes(rewritten).count_params() == 32
    assert json.loads(json.dumps(manifest_of(rewritten))) == manifest_of(good)


@pytest.mark.parametrize(
    ("first", "edit", "pattern"),
    [
        ("conv", lambda m: m["model"].__setitem__("input_shape", [2**31 - 1, 6, 6]), "layers/00_conv2d/W"),
        ("conv", lambda m: m["layers"][0]["config"].__setitem__("filters", 2**30), "layers/00_conv2d/W"),
        (
            "conv",
            lambda m: m["layers"][0]["config"].__setitem__("kernel_size", [6, 30000]),
            "cannot be built",
        ),
        (
            "batchnorm",
            lambda m: m["model"].__setitem__("input_shape", [2**31 - 1]),
            "layers/00_batch_normalization/gamma",
        ),
    ],
)
def test_shape_bombs_through_layer_configs_allocate_nothing(first, edit, pattern):
    """Configurations edited to ask for huge layers are refused before their arrays exist."""
    from tinynet.layers.conv import Conv2D
    from tinynet.layers.normalization import BatchNormalization

    tn.set_seed(0)
    if first == "conv":
        model = tn.Sequential(
            [Conv2D(2, 3, input_shape=(1, 6, 6)), BatchNormalization(), tn.layers.Flatten()]
        )
    else:
        model = tn.Sequential([BatchNormalization(input_shape=(4,)), tn.layers.Dense(2)])
    model.build()
    data = edit_manifest(to_bytes(model), edit)
    tracemalloc.start()
    try:
        refused(data, pattern)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


# ------------------------------------------------------ FIFOs, devices, folders
_READERS = {
    "load_model": "tn.load_model(path)",
    "load_weights": "tn.load_weights(tn.Sequential([tn.layers.Dense(2, input_dim=3)]), path)",
    "inspect_model_file": "tn.inspect_model_file(path)",
    "open_regular_file": "from tinynet.serialization._archive import open_regular_file; open_regular_file(path)",
}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (POSIX)")
@pytest.mark.parametrize("reader", sorted(_READERS))
def test_a_fifo_is_refused_without_blocking(tmp_path, reader):
    """Opening a FIFO that no one writes to blocks forever: it must be refused before it is opened."""
    path = tmp_path / "model.npz"
    os.mkfifo(path)
    script = (
        "import sys\nimport tinynet as tn\n"
        f"path = sys.argv[1]\ntry:\n    {_READERS[reader]}\n"
        "except ValueError as exc:\n    print(exc)\n    sys.exit(3)\n"
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{reader} blocked on a FIFO")
    assert result.returncode == 3, result.stderr
    assert f"{path}: is a FIFO (named pipe), not a regular file" in result.stdout


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_refused_unopened():
    with pytest.raises(ModelFileError, match="/dev/zero: is a character device, not a regular file"):
        load_model("/dev/zero")
    with pytest.raises(ModelFileError, match="character device"):
        tn.inspect_model_file(Path("/dev/null"))


def test_a_folder_is_still_an_os_error(tmp_path):
    with pytest.raises(IsADirectoryError, match=re.escape(str(tmp_path))):
        load_model(tmp_path)


def test_each_input_is_opened_once(tmp_path, monkeypatch, good):
    """One open per read: the file checked is the file read (no second open a swap could redirect)."""
    from tinynet.serialization import _archive

    path = tmp_path / "model.npz"
    path.write_bytes(good)
    opened = []
    real_open = os.open
    monkeypatch.setattr(_archive.os, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    tn.load_model(path)
    tn.inspect_model_file(path)
    tn.load_weights(tn.load_model(io.BytesIO(good)), path)
    assert opened == [path, path, path]


# ------------------------------------------------ section 2: nothing but the zip
def _insert(data: bytes, at: int, junk: bytes) -> bytes:
    """``data`` with ``junk`` inserted at offset ``at``, every zip offset after it shifted to match.

    The result is a zip every zip reader accepts (as ``zip -A`` makes of a self-extracting archive).
    """
    end = len(data) - 22
    directory_offset = struct.unpack_from("<L", data, end + 16)[0]
    out = bytearray(data[:at] + junk + data[at:])
    shift = len(junk)
    end += shift
    directory = directory_offset + (shift if directory_offset >= at else 0)
    struct.pack_into("<L", out, end + 16, directory)
    pos = directory
    while out[pos : pos + 4] == b"PK\x01\x02":
        n, extra, comment = struct.unpack_from("<3H", out, pos + 28)
        offset = struct.unpack_from("<L", out, pos + 42)[0]
        if offset >= at:
            struct.pack_into("<L", out, pos + 42, offset + shift)
        pos += 46 + n + extra + comment
    return bytes(out)


def test_the_offset_fixing_helper_makes_zips_other_readers_accept(good):
    for data in (
        _insert(good, 0, b"#!/bin/sh\nexit 0\n"),
        _insert(good, good.index(b"PK\x03\x04", 1), b"x" * 9),
    ):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert zf.testzip() is None
            assert [i.filename for i in zf.infolist()] == [n for n, _, _ in members(good)]


def test_a_shell_script_polyglot_is_refused(good, tmp_path):
    """A file that is both a shell script and a zip: bytes before the first member (spec section 2)."""
    polyglot = _insert(good, 0, b"#!/bin/sh\necho pwned\nexit 0\n")
    refused(
        polyglot,
        "17 bytes before its first member".replace("17", str(len(b"#!/bin/sh\necho pwned\nexit 0\n"))),
    )
    path = tmp_path / "model.npz"
    path.write_bytes(polyglot)
    with pytest.raises(ModelFileError, match="before its first member"):
        tn.inspect_model_file(path)


def test_a_gap_between_members_is_refused(good):
    second = good.index(b"PK\x03\x04", 1)
    refused(_insert(good, second, b"\x00" * 7), "7 bytes", "gap")


def test_bytes_between_the_last_member_and_the_directory_are_refused(good):
    directory = struct.unpack_from("<L", good, len(good) - 22 + 16)[0]
    refused(_insert(good, directory, b"hidden payload"), "14 bytes", "gap")


# ---------------------------------------------- the memory of parsing a manifest
def _deflated_manifest(good: bytes, text: str) -> bytes:
    entries = [(n, c, zipfile.ZIP_DEFLATED) for n, c, _ in members(with_manifest(good, raw_text=text))]
    return build_zip(entries)


def _peak_while_refusing(data: bytes, *patterns: str) -> int:
    tracemalloc.start()
    try:
        refused(data, *patterns)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_manifest_of_millions_of_empty_objects_is_refused_before_parsing(good):
    """16 MiB of "[{},{},...]" deflate to 22 KB, and json.loads would build 5.6 million dicts (1 GB)."""
    n = (MAX_MANIFEST_BYTES - 200) // 3
    text = '{"format": "tinynet-model", "format_version": 1, "pad": [' + ",".join(["{}"] * n) + "]}"
    data = _deflated_manifest(good, text)
    assert len(data) < 100_000
    peak = _peak_while_refusing(data, "JSON values", f"at most {MAX_MANIFEST_VALUES:,}")
    assert peak < 1.25 * MAX_MANIFEST_BYTES  # the manifest's bytes themselves, and nothing per value


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["empty objects", "distinct keys", "nested lists"])
def test_parsing_a_manifest_at_the_value_cap_costs_a_bounded_amount(good, shape):
    """Just under the cap, the costliest shapes of JSON (many tiny containers or keys) still parse
    in bounded memory: about 100 bytes per value, whatever the text."""
    k = MAX_MANIFEST_VALUES // 2 - 100
    pad = {
        "empty objects": "[" + ",".join(["{}"] * k) + "]",
        "distinct keys": "{" + ",".join(f'"{i:x}": 0' for i in range(k)) + "}",
        "nested lists": "[" + ",".join(["[[]]"] * (k // 2)) + "]",
    }[shape]
    text = '{"format": "tinynet-model", "format_version": 1, "pad": ' + pad + "}"
    peak = _peak_while_refusing(_deflated_manifest(good, text), "'arrays' must be a list")
    assert peak < MAX_MANIFEST_VALUES * 128


def test_the_value_cap_is_checked_when_saving_too(monkeypatch, good):
    """A manifest the loader would refuse is never written."""
    from tinynet.serialization import _archive

    monkeypatch.setattr(_archive, "MAX_MANIFEST_VALUES", 100)
    with pytest.raises(ValueError, match="JSON values, more than the 100"):
        to_bytes(small_model(epochs=0))
    refused(good, "at most 100")


# ------------------------------------------------------- config types and ranges
@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (
            lambda m: m["layers"][0]["config"].__setitem__("units", "5"),
            "'layers'[0].config.units must be an integer",
        ),
        (
            lambda m: m["layers"][0]["config"].__setitem__("units", 5.0),
            "'layers'[0].config.units must be an integer",
        ),
        (
            lambda m: m["layers"][0]["config"].__setitem__("units", True),
            "'layers'[0].config.units must be an integer",
        ),
        (
            lambda m: m["layers"][0]["config"].__setitem__("units", 0),
            "'layers'[0].config.units must be in [1, ",
        ),
        (
            lambda m: m["layers"][0]["config"].pop("units"),
            "'layers'[0].config has no 'units', which Dense requires",
        ),
        (
            lambda m: m["layers"][0]["config"].__setitem__("use_bias", 1),
            "'layers'[0].config.use_bias must be true or false",
        ),
        (
            lambda m: m["layers"][0]["config"].__setitem__("input_shape", [3.0]),
            "'layers'[0].config.input_shape",
        ),
        (
            lambda m: m["layers"][0]["config"].__setitem__("name", 7),
            "'layers'[0].config.name must be a string or null",
        ),
        (
            lambda m: m["layers"][1]["config"].__setitem__("rate", "0.5"),
            "'layers'[1].config.rate must be a number",
        ),
        (
            lambda m: m["layers"][1]["config"].__setitem__("rate", 1.5),
            "'layers'[1].config.rate must be in [0, 1)",
        ),
        (
            lambda m: m["layers"][0]["config"].__setitem__(
                "kernel_regularizer", {"class_name": "L2", "config": {"l2": "0.01"}}
            ),
            "'layers'[0].config.kernel_regularizer.config.l2 must be a number",
        ),
        (
            lambda m: m["layers"][0]["config"].__setitem__(
                "kernel_regularizer", {"class_name": "L2", "config": {"l2": -1}}
            ),
            "'layers'[0].config.kernel_regularizer.config.l2 must be >= 0",
        ),
        (
            lambda m: m["compile"]["loss"]["config"].__setitem__("from_logits", 0),
            "'compile'.loss.config.from_logits",
        ),
        (
            lambda m: m["compile"]["optimizer"]["config"].__setitem__("learning_rate", -0.001),
            "learning_rate must be >= 0",
        ),
        (
            lambda m: m["compile"]["optimizer"]["config"].__setitem__("beta_2", 1.0),
            "beta_2 must be in [0, 1)",
        ),
        (lambda m: m["compile"]["optimizer"]["config"].__setitem__("epsilon", 0), "epsilon must be > 0"),
        (
            lambda m: m["compile"]["optimizer"]["config"].__setitem__("clipnorm", "1"),
            "clipnorm must be a number or null",
        ),
        (
            lambda m: m["compile"]["optimizer"]["config"].__setitem__(
                "learning_rate",
                {"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1, "decay_steps": 10.5}},
            ),
            "learning_rate.config.decay_steps must be an integer",
        ),
        (
            lambda m: m["training"].__setitem__("epochs_done", 2**63 - 1),
            "'training.epochs_done' must be an integer in [0, 9007199254740991]",
        ),
        (
            lambda m: m["training"].__setitem__("optimizer_iterations", 2**53),
            "'training.optimizer_iterations' must be an integer in [0, 9007199254740991]",
        ),
        (lambda m: m["training"]["rng"].__setitem__("inc", "0"), "'training.rng.inc' must be odd"),
    ],
)
def test_config_values_of_the_wrong_type_or_range_name_the_key(edit, pattern):
    model = small_model(epochs=1)
    model.layers[0].kernel_regularizer = tn.regularizers.L2(0.01)
    refused(edit_manifest(to_bytes(model), edit), pattern)


def _every_kind_of_layer() -> tn.Sequential:
    from tinynet.layers import activations, conv, normalization, pooling, reshape

    tn.set_seed(0)
    model = tn.Sequential(
        [
            conv.Conv2D(2, 3, padding="same", input_shape=(1, 6, 6), kernel_regularizer="l1"),
            normalization.BatchNormalization(),
            activations.ReLU(),
            pooling.MaxPool2D(2),
            pooling.AvgPool2D(1, strides=1),
            reshape.Reshape((2, -1)),
            tn.layers.Flatten(),
            tn.layers.Dropout(0.25),
            tn.layers.Dense(4, activation="tanh", kernel_regularizer=tn.regularizers.L1L2(0.1, 0.2)),
            normalization.LayerNormalization(),
            activations.LeakyReLU(0.2),
            activations.ELU(),
            activations.GELU(),
            activations.Activation("sigmoid"),
            tn.layers.Dense(2),
            activations.Softmax(),
        ]
    )
    model.build()
    return model


def _wrong_values(value):
    """Values of a JSON type a parameter saved as ``value`` never accepts: a bool for a number,
    a number for a bool, a float for an integer, the text of a number or a list."""
    if isinstance(value, bool):
        return [int(value), str(value).lower()]
    if isinstance(value, int):
        return [float(value), True, str(value)]
    if isinstance(value, float):
        return [True, str(value)]
    if isinstance(value, list) and value and all(type(v) is int for v in value):
        return [[float(v) for v in value], str(value), [*value[:-1], True]]
    return []


def test_every_config_value_of_every_built_in_class_is_type_checked():
    """Not only the examples: every number, bool and list of ints of every layer, loss, optimizer and
    schedule in a file, given a value of the wrong JSON type, is refused naming its key."""
    model = _every_kind_of_layer()
    schedule = tn.schedules.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=3)
    model.compile(loss="categorical_crossentropy", optimizer=tn.optimizers.AdamW(schedule, clipnorm=1.0))
    good = to_bytes(model)
    manifest = manifest_of(good)
    targets = [(f"'layers'[{i}].config", entry["config"]) for i, entry in enumerate(manifest["layers"])]
    targets += [
        (f"'compile'.{part}.config", manifest["compile"][part]["config"]) for part in ("loss", "optimizer")
    ]
    targets.append(
        (
            "'compile'.optimizer.config.learning_rate.config",
            manifest["compile"]["optimizer"]["config"]["learning_rate"]["config"],
        )
    )
    checked = 0
    for where, config in targets:
        for key, value in config.items():
            for wrong in _wrong_values(value):
                config[key] = wrong
                refused(with_manifest(good, manifest), f"{where}.{key} must be")
                config[key] = value
                checked += 1
    assert checked > 100
    assert load_bytes(with_manifest(good, manifest)).count_params() == model.count_params()


@pytest.mark.parametrize("registry", ["layers", "losses", "optimizers", "schedules", "regularizers"])
def test_what_every_built_in_class_saves_passes_its_own_checks(registry):
    """The type and range table agrees with the constructors: every default config is accepted."""
    from tinynet import losses, optimizers, regularizers, schedules
    from tinynet.layers.base import LAYER_REGISTRY
    from tinynet.serialization._configs import check_config
    from tinynet.serialization._model import import_builtin_layers

    import_builtin_layers()

    def fail(reason):
        return AssertionError(reason)

    required = {
        "Activation": {"activation": "relu"},
        "Conv2D": {"filters": 2, "kernel_size": 3},
        "Dense": {"units": 2},
        "Dropout": {"rate": 0.5},
        "MultiHeadAttention": {"num_heads": 2, "key_dim": 3},
        "PositionalEmbedding": {"sequence_length": 4},
        "Embedding": {"input_dim": 5, "output_dim": 2},
        "SimpleRNN": {"units": 2},
        "LSTM": {"units": 2},
        "GRU": {"units": 2},
        "Reshape": {"target_shape": (2, -1)},
        "ExponentialDecay": {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5},
        "InverseTimeDecay": {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5},
        "PiecewiseConstantDecay": {"boundaries": [3], "values": [0.1, 0.01]},
        "CosineDecay": {"initial_learning_rate": 0.1, "decay_steps": 5},
    }
    table = {
        "layers": LAYER_REGISTRY,
        "losses": losses.LOSSES,
        "optimizers": optimizers.OPTIMIZERS,
        "schedules": schedules.SCHEDULES,
        "regularizers": regularizers.REGULARIZERS,
    }[registry]
    for name, cls in table.items():
        obj = cls(**required.get(cls.__name__, {}))
        check_config(cls, json.loads(json.dumps(obj.get_config())), name, fail)


def test_counters_beyond_what_a_file_holds_are_refused_at_save():
    model = small_model(epochs=1)
    model.epochs_done = 2**53
    with pytest.raises(ValueError, match="epochs_done is 9,007,199,254,740,992; a model file holds 0 to"):
        to_bytes(model)
    model.epochs_done = 2**53 - 1
    assert load_bytes(to_bytes(model)).epochs_done == 2**53 - 1
