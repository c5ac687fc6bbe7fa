"""Property-based tests: whatever happens to a valid file, loading is identical-or-ModelFileError.

Random damage (flipped bytes, truncation, inserted or deleted bytes) must give
either the very model that was saved or a ModelFileError, never another
exception, quickly and without large allocations.  Edits that keep the zip
valid (a rewritten manifest, a rewritten .npy header, rewritten array data, all
with recomputed CRCs) must give a ModelFileError or a model built from what the
file now says (for array data: always the error, naming the array).
"""

import io
import json
import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinynet.serialization import ModelFileError, load_model

from .helpers import (
    assert_same_model,
    build_zip,
    manifest_of,
    members,
    npy_raw,
    replace_member,
    small_model,
    to_bytes,
    with_manifest,
)

# Every load of the small test file must be this quick and this frugal, whatever the damage.
MAX_SECONDS = 2.0
MAX_PEAK_BYTES = 8 * 2**20

_MODEL = small_model(epochs=1)
GOOD = to_bytes(_MODEL)
GOOD_DEFLATED = to_bytes(_MODEL, compress=True)
PROPERTY = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def attempt(data: bytes):
    """Load ``data``; return the model or the ModelFileError, checking time and memory."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        return load_model(io.BytesIO(data))
    except ModelFileError as exc:
        return exc
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert elapsed < MAX_SECONDS, f"loading took {elapsed:.2f} s"
        assert peak < MAX_PEAK_BYTES, f"loading allocated {peak:,} bytes at its peak"


def identical_or_error(data: bytes) -> None:
    result = attempt(data)
    if not isinstance(result, ModelFileError):
        assert_same_model(_MODEL, result)


@pytest.mark.parametrize("original", [GOOD, GOOD_DEFLATED], ids=["stored", "deflated"])
@PROPERTY
@given(data=st.data())
def test_flipped_bytes(original, data):
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 3), label="flips")):
        at = data.draw(st.integers(0, len(original) - 1), label="offset")
        damaged[at] ^= data.draw(st.integers(1, 255), label="xor")
    identical_or_error(bytes(damaged))


@PROPERTY
@given(cut=st.integers(0, len(GOOD) - 1))
def test_truncation_at_any_offset(cut):
    assert isinstance(attempt(GOOD[:cut]), ModelFileError)


@PROPERTY
@given(data=st.data())
def test_inserted_or_deleted_bytes(data):
    at = data.draw(st.integers(0, len(GOOD)), label="offset")
    if data.draw(st.booleans(), label="insert"):
        damaged = GOOD[:at] + data.draw(st.binary(min_size=1, max_size=8), label="bytes") + GOOD[at:]
    else:
        damaged = GOOD[:at] + GOOD[at + data.draw(st.integers(1, 8), label="deleted") :]
    identical_or_error(damaged)


# ------------------------------------------------------------ edits with a valid zip
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["Dense", "relu", "os.system", "layers/00_dense/W", "PCG64", "|O", "<f8", "adam"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value, prefix=()):
    """Every path (tuple of keys and indices) into a JSON value, the root excluded."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


MANIFEST = manifest_of(GOOD)
PATHS = list(_paths(MANIFEST))


def edited(data, manifest: dict, paths: list) -> dict:
    """A copy of ``manifest`` with one or two values at drawn ``paths`` replaced, deleted or added to."""
    manifest = json.loads(json.dumps(manifest))
    for _ in range(data.draw(st.integers(1, 2), label="edits")):
        path = data.draw(st.sampled_from(paths), label="path")
        parent = manifest
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = data.draw(st.sampled_from(["replace", "delete", "add"]), label="action")
            if action == "replace":
                parent[path[-1]] = data.draw(json_values, label="value")
            elif action == "delete":
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[data.draw(st.text(max_size=8), label="key")] = data.draw(json_values, label="value")
            else:
                parent.append(data.draw(json_values, label="value"))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or retyped this path
    return manifest


@PROPERTY
@given(data=st.data())
def test_edited_manifests(data):
    result = attempt(with_manifest(GOOD, edited(data, MANIFEST, PATHS)))
    if not isinstance(result, ModelFileError):
        x = np.ones((2, 3), np.float32)
        assert result.predict(x).shape[0] == 2  # what loads is a working model


ARRAYS = [name for name, _, _ in members(GOOD) if name != "manifest.npy"]
CONTENT = {name: content for name, content, _ in members(GOOD)}


@PROPERTY
@given(
    name=st.sampled_from(ARRAYS),
    descr=st.sampled_from(["<f4", "<f8", ">f4", "|b1", "<i8", "|O", "<U2", "[('a', '<f4')]", "'<f4'"]),
    fortran=st.sampled_from(["False", "True", "0", "None"]),
    shape=st.one_of(
        st.lists(st.integers(-2, 10**9), max_size=4).map(lambda s: repr(tuple(s))),
        st.sampled_from(["(3, 5)", "(5,)", "()", "[3, 5]", "(3.0, 5)", "None", "(2**40,)"]),
    ),
)
def test_edited_npy_headers(name, descr, fortran, shape):
    data = CONTENT[name]
    payload = data[int.from_bytes(data[8:10], "little") + 10 :]
    quoted = descr if descr.startswith(("[", "'")) else repr(descr)
    header = f"{{'descr': {quoted}, 'fortran_order': {fortran}, 'shape': {shape}, }}"
    identical_or_error(replace_member(GOOD, name, npy_raw(header, payload)))


@PROPERTY
@given(name=st.sampled_from(ARRAYS), data=st.data())
def test_rewritten_array_data_is_always_caught(name, data):
    content = CONTENT[name]
    start = int.from_bytes(content[8:10], "little") + 10
    damaged = bytearray(content)
    at = data.draw(st.integers(start, len(content) - 1), label="offset")
    damaged[at] ^= data.draw(st.integers(1, 255), label="xor")
    result = attempt(replace_member(GOOD, name, bytes(damaged)))
    assert isinstance(result, ModelFileError)
    assert f"array {name[:-4]!r}" in str(result)


@PROPERTY
@given(order=st.permutations(range(len(members(GOOD)))))
def test_member_order_does_not_matter(order):
    entries = members(GOOD)
    identical_or_error(build_zip([entries[i][:2] for i in order]))
