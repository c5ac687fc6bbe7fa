r"""Packed arrays (format version 6): every array of a file in one byte buffer.

A model file normally stores each array as its own zip member.  Each member costs a
fixed part whatever its size: an NPY header (64 bytes or more), a zip local header and a
central directory entry (76 bytes plus twice the member's name), and a manifest entry
with a 64-digit SHA-256.  For an int8-quantized model that fixed part is most of the file:
the 8-10-1 seed model's 101 weights take 101 bytes as int8, its per-array file 4.5 KB.  A
*packed* file holds the bytes of all its arrays, one after the other, in one buffer, and
the manifest's ``packed`` object says where each array is:

.. code-block:: json

    "packed": {
      "arrays": [
        {"name": "layers/00_dense/W", "dtype": "|i1", "shape": [8, 10], "offset": 0},
        {"name": "layers/00_dense/W.scale", "dtype": "<f4", "shape": [10], "offset": 80},
        ...
      ],
      "data": "<base64>", "sha256": "<64 hex digits>"
    }

The buffer is stored in one of two places.  A buffer of at most :data:`EMBED_MAX_BYTES`
is *embedded* in the manifest (``data``: its standard base64 text, ``sha256``: its digest)
and the file has no other member: one zip member and one NPY header fewer, about 150
bytes, which for a small model is more than base64's cost (a third more characters,
which deflate to 4 to 12% more than the bytes do).  A larger buffer is *stored* as the
file's one array, ``packed`` (a 1-D ``|u1`` array listed in the manifest's ``arrays``
with its SHA-256, as any array), and ``packed`` has only ``arrays``.

Array ``k`` is ``buffer[offset_k : offset_k + prod(shape_k) * itemsize_k]`` viewed as
``dtype_k`` in C order.  The arrays *tile* the buffer in the order listed (as the members
tile a zip, docs/file-format.md section 2): each one starts at the end of the previous one
rounded up to a multiple of its own itemsize (so every array is aligned), the padding
bytes are zero, and the buffer ends where the last array ends.  A reader computes every
offset and refuses a listing that disagrees, so no byte of the buffer is unaccounted for
and no two arrays overlap.  The buffer's one SHA-256 covers every packed array.

The rest of the loader sees the packed arrays exactly as it sees member arrays: names,
dtypes and shapes checked before anything is read, values checked (finite floats, valid
bools) when read.  This module knows nothing about models.
"""

from __future__ import annotations

import base64
import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._archive import _NAME, _SHA256, ALLOWED_DTYPES, MAX_MEMBERS, MAX_NAME_LENGTH, MAX_NDIM, Member

#: The name of the array holding the buffer, when the buffer is stored rather than embedded.
PACKED_ARRAY = "packed"
#: The format version that added packed files.
PACKED_VERSION = 6
#: The largest buffer tinynet embeds in the manifest (as base64); a larger one is stored as an array.
EMBED_MAX_BYTES = 4096


@dataclass
class PackedArray:
    """One array of a packed file: where its bytes lie in the buffer, and what they hold.

    It has the attributes of a :class:`~tinynet.serialization._archive.Member` that the
    loader uses (``name``, ``dtype``, ``shape``, ``nbytes``, ``sha256``); ``sha256`` is the
    digest the manifest records for the whole buffer, which is what protects the array.
    """

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    offset: int
    sha256: str

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def aligned(position: int, itemsize: int) -> int:
    """``position`` rounded up to a multiple of ``itemsize``: where the next array of that itemsize starts."""
    return -(-position // itemsize) * itemsize


def pack(
    arrays: list[tuple[str, np.ndarray]], embed_max_bytes: int = EMBED_MAX_BYTES
) -> tuple[dict[str, Any], list[tuple[str, np.ndarray]]]:
    """The manifest's ``packed`` object and the arrays left to store as members (none, or the buffer).

    ``arrays`` are C-contiguous little-endian arrays of allowed dtypes (as
    :func:`~tinynet.serialization._archive.storable` makes them), in the order to pack.
    A buffer of at most ``embed_max_bytes`` is embedded in the manifest.
    """
    if len(arrays) > MAX_MEMBERS:
        raise ValueError(
            f"the model has {len(arrays):,} arrays, more than the {MAX_MEMBERS:,} a packed model file may hold"
        )
    listing, end = [], 0
    for name, array in arrays:
        offset = aligned(end, array.dtype.itemsize)
        listing.append(
            {"name": name, "dtype": array.dtype.str, "shape": [int(s) for s in array.shape], "offset": offset}
        )
        end = offset + array.nbytes
    buffer = np.zeros(end, dtype=np.uint8)  # the padding stays zero
    for entry, (_, array) in zip(listing, arrays, strict=True):
        buffer[entry["offset"] : entry["offset"] + array.nbytes] = array.reshape(-1).view(np.uint8)
    if buffer.nbytes <= embed_max_bytes:
        data = buffer.tobytes()
        embedded = {
            "data": base64.b64encode(data).decode("ascii"),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        return {"arrays": listing, **embedded}, []
    return {"arrays": listing}, [(PACKED_ARRAY, buffer)]


def read_listing(
    manifest: dict[str, Any], stored: dict[str, Member], max_bytes: int, fail
) -> tuple[dict[str, PackedArray], np.ndarray | None]:
    """Check the manifest's ``packed`` object; return the packed arrays by name and the embedded buffer.

    The embedded buffer is None when the buffer is stored as the array ``packed``.  Every
    field is checked before any array data is read: the object's keys, the embedded base64
    text, each entry's name, dtype, shape and offset (which must be exactly where the
    tiling rule puts the array), and that the arrays end exactly where the buffer does.
    The buffer's SHA-256 is compared when an array is read.  ``fail(reason)`` makes the
    :class:`ModelFileError` naming the file.
    """
    version = manifest["format_version"]
    if version < PACKED_VERSION:
        raise fail(
            f"its manifest has 'packed', which format version {version} does not have "
            f"(version {PACKED_VERSION} added packed files)"
        )
    packed = manifest["packed"]
    if not isinstance(packed, dict) or set(packed) not in ({"arrays"}, {"arrays", "data", "sha256"}):
        raise fail(
            "its manifest's 'packed' must be an object with keys arrays (and data and sha256 when the "
            "buffer is embedded)"
        )
    embedded = None
    if "data" in packed:
        data, digest = packed["data"], packed["sha256"]
        raw = _decode(data)
        if raw is None:
            raise fail("'packed.data' must be the standard base64 text (with padding) of the packed buffer")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise fail(f"'packed.sha256' must be 64 lowercase hex digits, found {str(digest)[:70]!r}")
        if len(raw) > max_bytes:
            raise fail(
                f"its packed arrays hold more than max_bytes={max_bytes:,} bytes; pass a larger max_bytes "
                "if the file is trusted and that large"
            )
        embedded = np.frombuffer(raw, dtype=np.uint8)
        if stored:
            raise fail(
                "its packed buffer is embedded in the manifest, so it stores no arrays, but it stores "
                + ", ".join(repr(name) for name in list(stored)[:5])
            )
        size, sha256 = embedded.size, digest
    else:
        buffer = stored.get(PACKED_ARRAY)
        if buffer is None or len(stored) != 1:
            names = ", ".join(repr(name) for name in list(stored)[:5]) or "none"
            raise fail(
                f"a packed file whose buffer is not embedded stores exactly one array, {PACKED_ARRAY!r} (the "
                f"buffer); this one stores {names}"
            )
        if buffer.dtype.str != "|u1" or len(buffer.shape) != 1:
            raise fail(
                f"the packed buffer {PACKED_ARRAY!r} must be a 1-D uint8 (|u1) array, found "
                f"{buffer.dtype.str} {buffer.shape}"
            )
        size, sha256 = buffer.shape[0], buffer.sha256
    listing = packed["arrays"]
    if not isinstance(listing, list) or len(listing) > MAX_MEMBERS:
        raise fail(f"'packed.arrays' must be a list of at most {MAX_MEMBERS:,} arrays")
    result: dict[str, PackedArray] = {}
    end = 0
    for i, entry in enumerate(listing):
        where = f"'packed.arrays'[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"name", "dtype", "shape", "offset"}:
            raise fail(f"{where} must be an object with keys name, dtype, shape, offset")
        name, dtype, shape, offset = entry["name"], entry["dtype"], entry["shape"], entry["offset"]
        if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH or not _NAME.fullmatch(name):
            raise fail(f"{where} has an invalid array name {str(name)[:60]!r}")
        if name == "manifest" or name in result:
            raise fail(f"'packed.arrays' lists the array {name!r} twice (or uses a reserved name)")
        if dtype not in ALLOWED_DTYPES:
            raise fail(
                f"the packed array {name!r} has dtype {str(dtype)[:20]!r}; a model file may hold only "
                f"{', '.join(ALLOWED_DTYPES)} (little-endian bool, integers and floats)"
            )
        if (
            not isinstance(shape, list)
            or len(shape) > MAX_NDIM
            or not all(type(s) is int and s >= 0 for s in shape)
        ):
            raise fail(f"the packed array {name!r} has an invalid shape {str(shape)[:60]} in the manifest")
        dtype = np.dtype(dtype)
        expected = aligned(end, dtype.itemsize)
        if type(offset) is not int or offset != expected:
            raise fail(
                f"the packed array {name!r} has offset {str(offset)[:30]}, but it must start at byte "
                f"{expected:,}: the previous array ends at byte {end:,}, and a {dtype.str} array starts at "
                f"the next multiple of {dtype.itemsize} (packed arrays tile the buffer in order)"
            )
        array = PackedArray(name, dtype, tuple(shape), offset, sha256)
        end = offset + array.nbytes  # exact: Python integers, however large the shape claims to be
        if end > size:
            raise fail(
                f"the packed array {name!r} ({dtype.str} {tuple(shape)}) needs bytes {offset:,} to {end:,} "
                f"of the packed buffer, which holds only {size:,} bytes (truncated, or a wrong shape)"
            )
        result[name] = array
    if end != size:
        raise fail(
            f"the packed buffer holds {size:,} bytes but its arrays end at byte {end:,}: a packed buffer "
            "holds its arrays and nothing else"
        )
    return result, embedded


def _decode(data: Any) -> bytes | None:
    """The bytes of standard base64 text (RFC 4648 section 4, padded, nothing else), or None.

    Only the canonical text of some bytes, what ``base64.b64encode`` writes, is accepted:
    no line breaks or spaces, no missing or misplaced ``=``, no stray bits in the last character.
    """
    if not isinstance(data, str) or len(data) % 4 or not data.isascii():
        return None
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:  # binascii.Error
        return None
    return raw if base64.b64encode(raw) == data.encode("ascii") else None


def check_padding(data: np.ndarray, arrays: dict[str, PackedArray], fail) -> None:
    """The bytes between packed arrays (alignment padding) must be zero: the buffer hides nothing."""
    end = 0
    for array in arrays.values():
        if array.offset > end and data[end : array.offset].any():
            raise fail(
                f"the packed buffer holds non-zero bytes in the padding before the packed array "
                f"{array.name!r} (bytes {end:,} to {array.offset:,}); padding is zero"
            )
        end = array.offset + array.nbytes


def values(data: np.ndarray, array: PackedArray) -> np.ndarray:
    """The packed ``array`` as a read-only view into the buffer ``data`` (its dtype and shape)."""
    view = data[array.offset : array.offset + array.nbytes].view(array.dtype).reshape(array.shape)
    view.flags.writeable = False
    return view
