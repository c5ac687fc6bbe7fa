"""Taking packed model files (format version 6) apart and putting them back together."""

from __future__ import annotations

import base64
import io

import numpy as np

from tinynet.serialization._archive import write_archive
from tinynet.serialization._packed import EMBED_MAX_BYTES, pack

from .helpers import manifest_of, members


def unpack(data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """The manifest and the packed arrays (by name, in order) of a packed file, with numpy, json and
    base64 alone, as docs/file-format.md section 5.5 describes them (no checks: tests damage files)."""
    manifest = manifest_of(data)
    packed = manifest["packed"]
    if "data" in packed:
        buffer = np.frombuffer(base64.b64decode(packed["data"]), dtype=np.uint8)
    else:
        content = next(c for name, c, _ in members(data) if name == "packed.npy")
        buffer = np.load(io.BytesIO(content), allow_pickle=False)
    arrays = {}
    for entry in packed["arrays"]:
        dtype = np.dtype(entry["dtype"])
        size = int(np.prod(entry["shape"])) * dtype.itemsize
        raw = buffer[entry["offset"] : entry["offset"] + size]
        arrays[entry["name"]] = raw.view(dtype).reshape(entry["shape"]).copy()
    return manifest, arrays


def repack(manifest: dict, arrays: dict[str, np.ndarray], *, embed_max_bytes: int = EMBED_MAX_BYTES) -> bytes:
    """A packed file with ``manifest``'s fields and ``arrays`` packed in the dict's order (offsets,
    base64 and checksums recomputed), written as tinynet writes one."""
    fields = {key: value for key, value in manifest.items() if key not in ("packed", "arrays")}
    listing = [(name, np.ascontiguousarray(array)) for name, array in arrays.items()]
    fields["packed"], stored = pack(listing, embed_max_bytes)
    buffer = io.BytesIO()
    write_archive(buffer, fields, stored, compress=True)
    return buffer.getvalue()


def unpacked(data: bytes, version: int = 3) -> bytes:
    """The same model as a file of separate array members (the layout before version 6), of ``version``."""
    manifest, arrays = unpack(data)
    fields = {key: value for key, value in manifest.items() if key not in ("packed", "arrays")}
    fields["format_version"] = version
    buffer = io.BytesIO()
    write_archive(buffer, fields, list(arrays.items()), compress=False)
    return buffer.getvalue()
