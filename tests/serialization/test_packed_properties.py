"""Property-based tests of packed files (format version 6): whatever happens to one, loading gives the
saved model or a ModelFileError, never another exception, quickly and without large allocations.

The same properties as test_properties.py, for a quantized model's file with its buffer embedded in the
manifest and with it stored as the array ``packed``.
"""

import base64
import hashlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet as tn
from tinynet import layers as L
from tinynet.serialization import ModelFileError

from .helpers import assert_same_model, manifest_of, to_bytes, with_manifest
from .packing import repack, unpack
from .test_properties import PROPERTY, _paths, attempt, edited


def _quantized() -> tn.Sequential:
    tn.set_seed(5)
    model = tn.Sequential([L.Dense(6, input_dim=3, activation="relu"), L.Dense(2, activation="softmax")])
    model.build()
    return tn.quantize(model)


_MODEL = _quantized()
EMBEDDED = to_bytes(_MODEL)
STORED = repack(*unpack(EMBEDDED), embed_max_bytes=0)


def identical_or_error(data: bytes) -> None:
    result = attempt(data)
    if not isinstance(result, ModelFileError):
        assert_same_model(_MODEL, result, compiled=False)


@pytest.mark.parametrize("original", [EMBEDDED, STORED], ids=["embedded", "stored"])
@PROPERTY
@given(data=st.data())
def test_flipped_bytes(original, data):
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 3), label="flips")):
        position = data.draw(st.integers(0, len(damaged) - 1), label="position")
        damaged[position] ^= data.draw(st.integers(1, 255), label="mask")
    identical_or_error(bytes(damaged))


@pytest.mark.parametrize("original", [EMBEDDED, STORED], ids=["embedded", "stored"])
@PROPERTY
@given(data=st.data())
def test_truncation_at_any_offset(original, data):
    identical_or_error(original[: data.draw(st.integers(0, len(original) - 1), label="cut")])


@pytest.mark.parametrize("original", [EMBEDDED, STORED], ids=["embedded", "stored"])
@PROPERTY
@given(data=st.data())
def test_edited_manifests(original, data):
    manifest = manifest_of(original)
    result = attempt(with_manifest(original, edited(data, manifest, list(_paths(manifest)))))
    if not isinstance(result, ModelFileError):
        assert result.predict(np.ones((2, 3), np.float32)).shape == (2, 2)  # what loads is a working model


@PROPERTY
@given(data=st.data())
def test_rewritten_buffer_bytes_are_always_caught(data):
    """Any change to the buffer's bytes is refused, naming an array, unless its SHA-256 is recomputed too."""
    manifest = manifest_of(EMBEDDED)
    buffer = bytearray(base64.b64decode(manifest["packed"]["data"]))
    position = data.draw(st.integers(0, len(buffer) - 1), label="position")
    buffer[position] ^= data.draw(st.integers(1, 255), label="mask")
    manifest["packed"]["data"] = base64.b64encode(bytes(buffer)).decode("ascii")
    result = attempt(with_manifest(EMBEDDED, manifest))
    assert isinstance(result, ModelFileError) and "altered or corrupted" in str(result)
    manifest["packed"]["sha256"] = hashlib.sha256(bytes(buffer)).hexdigest()
    result = attempt(with_manifest(EMBEDDED, manifest))  # now only the values' own rules can refuse it
    if not isinstance(result, ModelFileError):
        assert result.predict(np.ones((2, 3), np.float32)).shape == (2, 2)
