"""The container of a model file: a zip of ``.npy`` arrays plus a JSON manifest.

This module knows nothing about models.  It writes a list of named arrays and a
manifest dict as a reproducible zip, atomically, and it reads such a zip back
treating every byte as hostile:

1. the zip's end record is parsed by hand first, so that the member count and
   the central directory's size are capped before :mod:`zipfile` builds
   anything from them;
2. every member is checked: a safe name, no duplicate, no encryption, stored
   or deflate only, a plausible compression ratio, a local header that agrees
   with the central directory, no two members overlapping;
3. the manifest member is read (the zip CRC protects it), its size capped, and
   parsed as strict JSON (no ``NaN``, no duplicate keys);
4. the members must be exactly the manifest's arrays plus the manifest, and each
   ``.npy`` header must declare exactly the manifest's dtype and shape, and a
   shape whose byte count equals what the member stores.

Only then is memory allocated, by the caller, for arrays of known size; data is
read straight into it and its SHA-256 compared with the manifest's.  The
format itself is specified in ``docs/file-format.md``.
"""

from __future__ import annotations

import ast
import contextlib
import errno
import hashlib
import io
import json
import math
import os
import re
import secrets
import shutil
import stat
import struct
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ._errors import ModelFileError
from ._version import FORMAT_NAME, FORMAT_VERSION

#: The first bytes of every HDF5 file (Keras' ``.h5`` models).
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: What to do with a Keras file, in the errors that recognise one.
KERAS_ADVICE = (
    "Keras files are not tinynet model files and tinynet does not read them; rebuild the model in tinynet "
    "and copy the weights with examples/keras_to_tinynet.py (it needs keras installed; see the docs' "
    "'Coming from Keras' page)"
)
#: The zip member that holds the manifest (a 1-D uint8 ``.npy`` of UTF-8 JSON).
MANIFEST_MEMBER = "manifest.npy"

# Caps, all documented in docs/file-format.md ("Limits").
#: Largest manifest accepted, in bytes of JSON.
MAX_MANIFEST_BYTES = 16 * 2**20
#: Most JSON values (objects, lists, keys, strings, numbers, literals) a manifest may hold.  Each
#: costs Python 30 to 130 bytes however short its text (``{}`` is 2 bytes of JSON), so this cap, not
#: the byte cap, bounds the memory of parsing.  A file with 10,000 arrays needs about 250,000.
MAX_MANIFEST_VALUES = 2**19
#: Most zip members accepted (arrays plus the manifest).
MAX_MEMBERS = 10_000
#: Longest array name accepted, in characters.
MAX_NAME_LENGTH = 200
#: Longest ``.npy`` header accepted, in bytes (tinynet writes 64 or 128).
MAX_NPY_HEADER = 4096
#: Most array dimensions accepted.
MAX_NDIM = 32
#: Largest uncompressed/compressed size ratio of a deflated member (deflate's own limit is about 1032).
MAX_COMPRESSION_RATIO = 1100
#: Default cap on the bytes all arrays of a file may declare (the ``max_bytes=`` of the loaders).
DEFAULT_MAX_BYTES = 8 * 2**30

#: The dtypes an array may have: little-endian bool, integers and floats, nothing else.
ALLOWED_DTYPES = ("|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8")

# An array name: parts of letters, digits, "_", "-" and "." separated by "/", no part starting
# with "." (so no "." or ".." part), no leading "/" and no backslash.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_END_RECORD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END_RECORD = struct.Struct("<4sQ2H2L4Q")
# Zip flag bits a model file never uses: encryption (0x1), patched data (0x20), strong
# encryption (0x40) and masked headers (0x2000).
_FORBIDDEN_FLAGS = 0x1 | 0x20 | 0x40 | 0x2000
# Fixed metadata makes two saves of one model byte-identical (no clock, no host in the file).
_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_EXTERNAL_ATTR = (stat.S_IFREG | 0o644) << 16
_CREATE_SYSTEM = 3  # "Unix", whatever the platform: zipfile would write 0 on Windows
#: Bytes read, hashed or copied at a time.
CHUNK = 8 * 2**20


# ================================================================== writing
def npy_header(dtype: str, shape: tuple[int, ...]) -> bytes:
    """The NPY 1.0 header tinynet writes for an array of ``dtype`` and ``shape``.

    ``{'descr': '<f4', 'fortran_order': False, 'shape': (8, 10), }`` padded with
    spaces and a final newline so that the data starts at a multiple of 64 bytes,
    as numpy does; written here rather than by numpy so the bytes never depend on
    the numpy version.
    """
    text = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {tuple(int(s) for s in shape)!r}, }}"
    prefix = 10  # magic (6) + version (2) + header length (2)
    padding = -(prefix + len(text) + 1) % 64
    body = (text + " " * padding + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body


def storable(name: str, array: np.ndarray) -> np.ndarray:
    """``array`` as a C-ordered little-endian array of an allowed dtype (a copy only if needed)."""
    arr = np.asarray(array)
    dtype = arr.dtype.newbyteorder("<")
    if dtype.str not in ALLOWED_DTYPES:
        raise ValueError(
            f"array {name!r} has dtype {arr.dtype}; a model file stores only bool, integer and "
            "float arrays (float16/32/64)"
        )
    return arr.astype(dtype, order="C", copy=False)


def _bytes_of(array: np.ndarray) -> np.ndarray:
    """A flat uint8 view of a C-contiguous array (zero-dimensional and empty arrays included)."""
    return array.reshape(-1).view(np.uint8)


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(_bytes_of(array)).hexdigest()


def _zipinfo(name: str, method: int, size: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_DATE_TIME)
    info.compress_type = method
    info.create_system = _CREATE_SYSTEM
    info.external_attr = _EXTERNAL_ATTR
    info.file_size = size  # known in advance: zipfile then picks zip64 only for members near 4 GiB
    return info


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest as tinynet writes it: ASCII-only JSON without NaN or infinity, indented by one
    space, except in a packed file (format version 6), whose manifest is written without whitespace."""
    if "packed" in manifest:
        return json.dumps(manifest, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")
    return json.dumps(manifest, indent=1, ensure_ascii=True, allow_nan=False).encode("ascii")


def write_archive(
    fp: BinaryIO, manifest: dict[str, Any], arrays: list[tuple[str, np.ndarray]], compress: bool
) -> dict[str, Any]:
    """Write the zip to the seekable ``fp``: the arrays in order, then the manifest.

    ``manifest`` gets its ``arrays`` listing (name, dtype, shape, SHA-256) here;
    the complete manifest is returned.  The digests are computed by a second
    thread while this one writes (hashlib and file writes release the GIL), which
    is why the manifest comes last.  A packed file (a manifest with ``packed``,
    format version 6) is always deflated: it exists to be small.
    """
    _check_writable(arrays)
    method = zipfile.ZIP_DEFLATED if compress or "packed" in manifest else zipfile.ZIP_STORED
    big = sum(arr.nbytes for _, arr in arrays) > CHUNK
    pool = _thread_pool() if big else None
    try:
        digests = [pool.submit(_sha256, arr) for _, arr in arrays] if pool else None
        with zipfile.ZipFile(fp, "w", allowZip64=True) as zf:
            for name, arr in arrays:
                header = npy_header(arr.dtype.str, arr.shape)
                with zf.open(_zipinfo(name + ".npy", method, len(header) + arr.nbytes), "w") as member:
                    member.write(header)
                    if arr.nbytes:
                        member.write(memoryview(_bytes_of(arr)))
            listing = [
                {
                    "name": name,
                    "dtype": arr.dtype.str,
                    "shape": [int(s) for s in arr.shape],
                    "sha256": digests[i].result() if digests else _sha256(arr),
                }
                for i, (name, arr) in enumerate(arrays)
            ]
            manifest = {**manifest, "arrays": listing}
            text = manifest_bytes(manifest)
            if len(text) > MAX_MANIFEST_BYTES:
                raise ValueError(
                    f"the manifest would take {len(text):,} bytes, more than the {MAX_MANIFEST_BYTES:,} "
                    "a model file may hold; is a layer's configuration very large?"
                )
            if json_values(text) > MAX_MANIFEST_VALUES:
                raise ValueError(
                    f"the manifest would hold about {json_values(text):,} JSON values, more than the "
                    f"{MAX_MANIFEST_VALUES:,} a model file may hold; is a layer's configuration very large?"
                )
            header = npy_header("|u1", (len(text),))
            with zf.open(_zipinfo(MANIFEST_MEMBER, method, len(header) + len(text)), "w") as member:
                member.write(header)
                member.write(text)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return manifest


def _check_writable(arrays: list[tuple[str, np.ndarray]]) -> None:
    """Refuse to write what a reader would refuse: too many members, a bad name, too many dimensions."""
    if len(arrays) + 1 > MAX_MEMBERS:
        raise ValueError(
            f"the model has {len(arrays):,} arrays (parameters, layer state and optimizer slots), more than "
            f"the {MAX_MEMBERS - 1:,} a model file may hold; save_weights() or include_compile=False "
            "leaves the optimizer's arrays out"
        )
    for name, arr in arrays:
        if len(name) > MAX_NAME_LENGTH or not _NAME.fullmatch(name) or name == "manifest":
            raise ValueError(f"{name!r} is not a valid array name for a model file")
        if arr.ndim > MAX_NDIM:
            raise ValueError(f"array {name!r} has {arr.ndim} dimensions; a model file allows {MAX_NDIM}")


def json_values(text: bytes, start: int = 0) -> int:
    """An upper bound on the number of values (and keys) in the JSON ``text[start:]``, without parsing it.

    In valid JSON every value but the first of an array or object follows a ``,``, every
    object value follows a ``:``, and the first value of an array or object follows its
    ``[`` or ``{``: so values <= ``,`` + ``:`` + ``[`` + ``{`` + 1.  Counting the
    characters inside strings too only adds to the bound.  ``bytes.count`` allocates
    nothing, so this costs no memory whatever the text.
    """
    return sum(text.count(c, start) for c in (b",", b":", b"[", b"{")) + 1


def _thread_pool():
    from concurrent.futures import ThreadPoolExecutor  # deferred: only large files use a thread

    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="tinynet-serialization")


def save_archive(
    target: str | os.PathLike | BinaryIO,
    manifest: dict[str, Any],
    arrays: list[tuple[str, np.ndarray]],
    compress: bool = False,
) -> dict[str, Any]:
    """Write a model file to a path (atomically) or to a writable binary file object.

    Returns the complete manifest.
    """
    if isinstance(target, (str, os.PathLike)):
        result: dict[str, Any] = {}

        def write(f: BinaryIO) -> None:
            result.update(write_archive(f, manifest, arrays, compress))

        atomic_write(Path(os.fspath(target)), write)
        return result
    if not hasattr(target, "write") or isinstance(target, io.TextIOBase):
        raise TypeError(
            f"cannot save to {target!r}: pass a path or a file object opened for writing in binary mode ('wb')"
        )
    # Build the file in a temporary file first: the bytes are then the same as a save to a
    # path (zipfile would write data descriptors to a stream it cannot seek in), and a
    # failure never leaves half an archive in the caller's stream.
    with tempfile.TemporaryFile() as tmp:
        result = write_archive(tmp, manifest, arrays, compress)
        tmp.seek(0)
        shutil.copyfileobj(tmp, target, CHUNK)
    flush = getattr(target, "flush", None)
    if flush is not None:
        flush()
    return result


def temporary_name(path: Path) -> Path:
    """A fresh name for the temporary file of a save to ``path``: ``.<name>.tmp-<8 hex digits>``.

    The leading dot hides it from listings; a save killed mid-write may leave
    one behind, and loaders never look at it.
    """
    return path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write ``path`` so that it is always either the old file or the complete new one.

    The data goes to a temporary file in the same folder (so that the rename
    stays on one file system), which is flushed and fsynced before
    :func:`os.replace` puts it in place; then the folder itself is fsynced, so
    that the rename survives a power cut.  If anything fails, the temporary
    file is removed and ``path`` is untouched.

    A symbolic link is written *through*: the file it points to is replaced
    (the temporary file goes next to that file) and the link stays a link, as
    with ``open(path, "wb")``.  An :class:`OSError` names ``path`` as given,
    never the hidden temporary file.
    """
    shown = path
    try:
        path = Path(os.path.realpath(path))  # through every symlink: replace the file, keep the link
        _atomic_write(path, write)
    except OSError as exc:
        if exc.errno is None:
            raise
        raise _naming(exc, shown) from exc


def _naming(exc: OSError, path: Path) -> OSError:
    """The same kind of error (same class and errno) about ``path``: the temporary file means nothing
    to the caller, and the file being replaced is ``path`` itself."""
    return type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), str(path))


def _atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    path = path.absolute()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = temporary_name(path)
        try:
            fd = os.open(tmp, flags, 0o666)  # the umask applies, as for any new file
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 32 random bits
        raise FileExistsError(errno.EEXIST, "could not create a temporary file next to it", str(path))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):  # keep the permissions of the file being replaced
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    if os.name == "nt":  # Windows cannot open a directory; NTFS journals the rename itself
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse to fsync a directory
        pass
    finally:
        os.close(fd)


# ================================================================== reading
@dataclass
class Member:
    """One array member, as checked: where its bytes are and what they hold."""

    name: str
    info: zipfile.ZipInfo
    data_offset: int  # file offset of the member's (possibly compressed) bytes
    sha256: str = ""
    dtype: np.dtype | None = None
    shape: tuple[int, ...] = ()
    header_len: int = 0  # bytes of the .npy header, before the array data

    @property
    def nbytes(self) -> int:
        return self.info.file_size - self.header_len


def describe_source(source: Any) -> str:
    """How error messages name a file: its path, else its ``name``, else its type."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        return path if isinstance(path, str) else os.fsdecode(path)
    name = getattr(source, "name", None)
    if isinstance(name, str):
        return name
    return f"<{type(source).__name__}>"


_FILE_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFileError(ValueError):
    """A path names a FIFO, a device or a socket, which :func:`open_regular_file` will not read.

    A :class:`ValueError` (bad input, not a failed system call); ``reason`` is the
    message without the path.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def _not_regular(path: str, mode: int) -> NotRegularFileError:
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
    return NotRegularFileError(
        path, f"is {kind}, not a regular file; reading it could block forever or never end, so pass a file"
    )


def open_regular_file(path: str | os.PathLike) -> BinaryIO:
    """Open ``path`` for reading in binary mode, once, refusing anything but a regular file.

    A FIFO, a device or a socket would make a reader block forever (a FIFO with no
    writer) or read without end (``/dev/zero``), so the path is checked with
    :func:`os.stat` *before* it is opened (a device is never opened at all), then
    opened without blocking, and the open file checked again with
    :func:`os.fstat` (the same file, still regular: no race with a swap in between).

    Raises
    ------
    NotRegularFileError
        A :class:`ValueError` naming the path and what it is.
    IsADirectoryError, FileNotFoundError, PermissionError, ...
        As :func:`open` would.
    """
    name = describe_source(path)
    before = os.stat(path)
    if stat.S_ISDIR(before.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), name)
    if not stat.S_ISREG(before.st_mode):
        raise _not_regular(name, before.st_mode)
    flags = (
        os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    )
    fd = os.open(path, flags)
    try:
        after = os.fstat(fd)
        if not stat.S_ISREG(after.st_mode):
            raise _not_regular(name, after.st_mode)
        if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
            raise NotRegularFileError(name, "was replaced by another file while it was opened; try again")
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_source(source: Any, max_bytes: int) -> tuple[BinaryIO, bool]:
    """Return a seekable binary file for ``source`` and whether we opened it (and must close it)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raise TypeError(
            "pass a path or a binary file object; for bytes received over a network use io.BytesIO(data)"
        )
    if isinstance(source, (str, os.PathLike)):
        try:
            return open_regular_file(source), True  # closed by Archive.close
        except NotRegularFileError as exc:
            raise ModelFileError(describe_source(source), exc.reason) from None
    if not hasattr(source, "read") or isinstance(source, io.TextIOBase):
        raise TypeError(
            f"cannot read a model from {source!r}: pass a path or a file object opened in binary mode ('rb')"
        )
    seekable = getattr(source, "seekable", None)
    if seekable is not None and seekable():
        return source, False
    # A stream (a socket, a pipe): zip needs random access, so take a capped copy in memory.
    limit = max_bytes + MAX_MANIFEST_BYTES + MAX_MEMBERS * MAX_NPY_HEADER
    copy = io.BytesIO()
    while True:
        data = source.read(CHUNK)  # in pieces: read(limit) could allocate the whole limit at once
        if not data:
            break
        if not isinstance(data, bytes):
            raise TypeError(f"cannot read a model from {source!r}: it is not a binary stream")
        copy.write(data)
        if copy.tell() > limit:
            raise ModelFileError(describe_source(source), f"the stream holds more than {limit:,} bytes")
    return copy, True


class Archive:
    """A model file opened for reading, with its structure and manifest checked.

    Parameters
    ----------
    source : path or binary file object
    max_bytes : int
        Cap on the bytes the arrays may declare (see :data:`DEFAULT_MAX_BYTES`).

    Attributes
    ----------
    name : str
        How messages name the file.
    manifest : dict
        The parsed manifest (format name and version checked, ``arrays`` validated).
    members : dict of str to Member
        The arrays by name, in the manifest's order, headers checked: the arrays the
        manifest's layers, optimizer and callback states refer to.  In a packed file
        (format version 6) these are the packed arrays
        (:class:`~tinynet.serialization._packed.PackedArray`), read from the one stored buffer.
    stored : dict of str to Member
        The arrays stored as zip members (``members`` itself, unless the file is packed).
    packed : dict of str to PackedArray
        The packed arrays (empty unless the file is packed).
    size : int
        The file's size in bytes.
    """

    def __init__(self, source: Any, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.name = describe_source(source)
        self._fp, self._owned = _open_source(source, max_bytes)
        self._zf: zipfile.ZipFile | None = None
        self._pool = None
        try:
            self._open(int(max_bytes))
        except BaseException as exc:
            self.close()
            if isinstance(exc, ModelFileError) or not isinstance(exc, Exception):
                raise
            raise self.error(f"cannot be read ({_describe(exc)})") from exc

    def error(self, reason: str) -> ModelFileError:
        """A :class:`ModelFileError` about this file."""
        return ModelFileError(self.name, reason)

    def close(self) -> None:
        """Release the file (when it was opened from a path) and the worker thread."""
        if self._zf is not None:
            self._zf.close()
            self._zf = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._owned and self._fp is not None:
            self._fp.close()
        self._fp = None

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -------------------------------------------------------------- structure
    def _open(self, max_bytes: int) -> None:
        fp = self._fp
        self.size = fp.seek(0, io.SEEK_END)
        fp.seek(0)
        if fp.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
            raise self.error(
                f"is an HDF5 file (a Keras .h5 model?), not a tinynet model file. {KERAS_ADVICE}"
            )
        count, directory_offset = self._end_record()
        try:
            self._zf = zipfile.ZipFile(fp)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, struct.error) as exc:
            raise self.error(f"is not a valid zip archive ({_describe(exc)})") from exc
        infos = self._zf.infolist()
        names = {info.filename for info in infos}
        if MANIFEST_MEMBER not in names and ("config.json" in names or "model.weights.h5" in names):
            raise self.error(
                f"is a Keras model archive (.keras: config.json, model.weights.h5), not a tinynet model file. "
                f"{KERAS_ADVICE}"
            )
        if len(infos) != count:
            raise self.error(f"the zip directory lists {len(infos)} members but its end record says {count}")
        members = self._check_members(infos, directory_offset, max_bytes)
        manifest_info = members.pop(MANIFEST_MEMBER, None)
        if manifest_info is None:
            raise self.error(
                f"has no manifest (member {MANIFEST_MEMBER!r}): it is not a tinynet model file, or it is damaged"
            )
        self.manifest = self._read_manifest(manifest_info)
        self._check_format()
        self.stored = self._match_arrays(members, max_bytes)
        self.members = self.stored
        self.packed: dict[str, Any] = {}
        self._packed_data: tuple[np.ndarray, str] | None = None
        self._embedded: np.ndarray | None = None
        self._padding_checked = False
        if "packed" in self.manifest:  # format version 6: the arrays are in one buffer
            from ._packed import read_listing

            self.packed, self._embedded = read_listing(self.manifest, self.stored, max_bytes, self.error)
            self.members = self.packed

    def _end_record(self) -> tuple[int, int]:
        """Parse the end of central directory record by hand; return (member count, directory offset).

        Done before :mod:`zipfile` sees the file so that a directory claiming a
        million members is refused before a million objects are built.
        """
        fp, size = self._fp, self.size
        if size < _END_RECORD.size:
            raise self.error(f"is not a zip archive: only {size} bytes (empty or truncated)")
        end = size - _END_RECORD.size
        fp.seek(end)
        record = fp.read(_END_RECORD.size)
        sig, disk, directory_disk, on_disk, count, directory_size, directory_offset, comment = (
            _END_RECORD.unpack(record)
        )
        if sig != b"PK\x05\x06" or comment != 0:
            raise self.error(
                "is not a zip archive, or is truncated: it does not end with a zip end-of-directory record "
                "(model files carry no zip comment)"
            )
        directory_end = end
        if count == 0xFFFF or directory_size == 0xFFFFFFFF or directory_offset == 0xFFFFFFFF:
            locator_at = end - _ZIP64_LOCATOR.size
            if locator_at < _ZIP64_END_RECORD.size:
                raise self.error("is damaged: its zip64 end record is missing")
            fp.seek(locator_at)
            lsig, _, record_at, _ = _ZIP64_LOCATOR.unpack(fp.read(_ZIP64_LOCATOR.size))
            if lsig != b"PK\x06\x07" or record_at + _ZIP64_END_RECORD.size > locator_at:
                raise self.error("is damaged: its zip64 end record locator is invalid")
            fp.seek(record_at)
            fields = _ZIP64_END_RECORD.unpack(fp.read(_ZIP64_END_RECORD.size))
            (
                zsig,
                record_size,
                _,
                _,
                disk,
                directory_disk,
                on_disk,
                count,
                directory_size,
                directory_offset,
            ) = fields
            if zsig != b"PK\x06\x06" or record_at + 12 + record_size != locator_at:
                raise self.error("is damaged: its zip64 end record is invalid")
            directory_end = record_at
        if disk != 0 or directory_disk != 0 or on_disk != count:
            raise self.error("is a multi-part zip archive, which a model file never is")
        if count > MAX_MEMBERS:
            raise self.error(f"has {count:,} zip members; a model file may have at most {MAX_MEMBERS:,}")
        per_member = 46 + MAX_NAME_LENGTH + 4 + 64  # fixed part, name, zip64 extra field (generous)
        if directory_size > count * per_member:
            raise self.error(f"its zip directory is {directory_size:,} bytes for {count} members: damaged")
        if directory_offset + directory_size != directory_end:
            raise self.error(
                "is damaged or not a plain model file: its zip directory does not end where the end record "
                "begins (truncated, or bytes added before or inside the archive)"
            )
        return count, directory_offset

    def _check_members(
        self, infos: list[zipfile.ZipInfo], directory_offset: int, max_bytes: int
    ) -> dict[str, Member]:
        members: dict[str, Member] = {}
        declared = 0
        for info in infos:
            name = info.filename
            stem = name[:-4] if name.endswith(".npy") else ""
            if (
                info.orig_filename != name
                or len(stem) > MAX_NAME_LENGTH
                or not (stem and _NAME.fullmatch(stem))
            ):
                raise self.error(
                    f"holds a member named {info.orig_filename!r}, which a model file may not contain: names "
                    "are parts of letters, digits, '_', '-' and '.' joined by '/', end in '.npy', and are "
                    "never absolute, never contain '..' and never a backslash"
                )
            if name in members:
                raise self.error(f"holds two members named {name!r}; a model file's member names are unique")
            if info.flag_bits & _FORBIDDEN_FLAGS:
                raise self.error(f"member {name!r} is encrypted or masked, which a model file never is")
            if info.compress_type == zipfile.ZIP_STORED:
                if info.compress_size != info.file_size:
                    raise self.error(
                        f"member {name!r} is stored uncompressed but its sizes differ "
                        f"({info.compress_size:,} and {info.file_size:,} bytes): damaged"
                    )
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
                    raise self.error(
                        f"member {name!r} claims to inflate {info.compress_size:,} bytes into "
                        f"{info.file_size:,}, more than deflate can (a zip bomb, or a damaged file)"
                    )
            else:
                raise self.error(
                    f"member {name!r} uses zip compression method {info.compress_type}; model files are "
                    "stored (0) or deflated (8)"
                )
            declared += info.file_size
            if declared > max_bytes + MAX_MANIFEST_BYTES + MAX_MEMBERS * MAX_NPY_HEADER:
                raise self.error(
                    f"its members hold more than max_bytes={max_bytes:,} bytes; pass a larger max_bytes "
                    "if the file is trusted and that large"
                )
            members[name] = Member(stem, info, self._local_header(info, directory_offset))
        # The members tile the file from byte 0 to the directory (spec section 2): no overlap (the
        # "overlapping files" zip bomb), no bytes before the first member (a shell script or another
        # format's header: a polyglot), no gap between members, nothing between them and the directory.
        end = 0
        for member in sorted(members.values(), key=lambda m: m.info.header_offset):
            start = member.info.header_offset
            if start < end:
                raise self.error(f"member {member.info.filename!r} overlaps the previous member: damaged")
            if start > end:
                where = (
                    "before its first member"
                    if end == 0
                    else f"in a gap before member {member.info.filename!r}"
                )
                raise self.error(
                    f"holds {start - end:,} bytes {where}, which a model file never has (another file glued "
                    "to the archive, or a damaged one)"
                )
            end = member.data_offset + member.info.compress_size
            if end > directory_offset:
                raise self.error(f"member {member.info.filename!r} runs into the zip directory: truncated")
        if end != directory_offset:
            raise self.error(
                f"holds {directory_offset - end:,} bytes in a gap between its last member and the zip "
                "directory, which a model file never has"
            )
        return members

    def _local_header(self, info: zipfile.ZipInfo, directory_offset: int) -> int:
        """Check the member's local header against the directory; return where its data starts."""
        if info.header_offset + _LOCAL_HEADER.size > directory_offset:
            raise self.error(f"member {info.filename!r} starts outside the archive's data: damaged")
        self._fp.seek(info.header_offset)
        raw = self._fp.read(_LOCAL_HEADER.size)
        sig, _, _, method, _, _, _, _, _, name_len, extra_len = _LOCAL_HEADER.unpack(raw)
        if sig != b"PK\x03\x04":
            raise self.error(f"the local header of member {info.filename!r} is damaged")
        if method != info.compress_type or self._fp.read(name_len) != info.filename.encode("ascii"):
            raise self.error(f"the local header of member {info.filename!r} disagrees with the zip directory")
        return info.header_offset + _LOCAL_HEADER.size + name_len + extra_len

    def _read_manifest(self, member: Member) -> dict[str, Any]:
        if member.info.file_size > MAX_MANIFEST_BYTES + MAX_NPY_HEADER:
            raise self.error(
                f"its manifest is {member.info.file_size:,} bytes; a manifest may hold at most "
                f"{MAX_MANIFEST_BYTES:,}"
            )
        try:
            raw = self._read_whole(member)  # checks the zip CRC: the manifest has no other checksum
        except ModelFileError:
            raise
        except Exception as exc:  # BadZipFile, zlib.error, EOFError, ...
            raise self.error(f"its manifest is corrupted ({_describe(exc)})") from exc
        dtype, shape, fortran, header_len = self._npy_header(raw[: MAX_NPY_HEADER + 16], "manifest")
        if dtype.str != "|u1" or len(shape) != 1 or shape[0] != len(raw) - header_len or fortran:
            raise self.error(
                f"its manifest must be a 1-D uint8 array of UTF-8 JSON, found dtype {dtype.str} shape {shape}"
            )
        if shape[0] > MAX_MANIFEST_BYTES:
            raise self.error(
                f"its manifest is {shape[0]:,} bytes; a manifest may hold at most {MAX_MANIFEST_BYTES:,}"
            )
        values = json_values(raw, header_len)
        if values > MAX_MANIFEST_VALUES:
            # json.loads would build every one of them first: 16 MiB of "[{},{},...]" are 1 GB of dicts
            raise self.error(
                f"its manifest holds up to {values:,} JSON values; a manifest may hold at most "
                f"{MAX_MANIFEST_VALUES:,}"
            )
        try:
            text = str(memoryview(raw)[header_len:], "utf-8")  # no copy of the bytes first
        except UnicodeDecodeError as exc:
            raise self.error(f"its manifest is not UTF-8 text ({exc})") from exc
        try:
            manifest = json.loads(
                text,
                parse_constant=_reject_constant,
                parse_float=_finite_float,
                object_pairs_hook=_unique_keys,
            )
        except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            raise self.error(f"its manifest is not valid JSON ({_describe(exc)})") from exc
        if not isinstance(manifest, dict):
            raise self.error(f"its manifest must be a JSON object, found {type(manifest).__name__}")
        return manifest

    def _read_whole(self, member: Member) -> bytearray:
        """A member's bytes, read into one buffer of its declared size (``ZipFile.read`` would
        hold the data about three times over while inflating it)."""
        out = bytearray(member.info.file_size)
        view = memoryview(out)
        pos = 0
        with self._zf.open(member.info) as f:
            while data := f.read(min(2**20, len(out) - pos) or 1):  # to the end: zipfile checks the CRC
                if pos + len(data) > len(out):
                    raise self.error(f"member {member.info.filename!r} holds more data than it declares")
                view[pos : pos + len(data)] = data
                pos += len(data)
        if pos != len(out):
            raise self.error(f"member {member.info.filename!r} is truncated")
        return out

    def _check_format(self) -> None:
        manifest = self.manifest
        if manifest.get("format") != FORMAT_NAME:
            raise self.error(
                f"is not a tinynet model file: its manifest's 'format' is {manifest.get('format')!r}, "
                f"expected {FORMAT_NAME!r}"
            )
        version = manifest.get("format_version")
        if type(version) is not int or version < 1:
            raise self.error(f"its manifest's 'format_version' must be a positive integer, got {version!r}")
        if version > FORMAT_VERSION:
            from .. import __version__

            writer = manifest.get("tinynet_version")
            writer = writer if isinstance(writer, str) and len(writer) < 40 else "a newer tinynet"
            raise self.error(
                f"uses model file format version {version}, written by tinynet {writer}; this tinynet "
                f"({__version__}) reads format version {FORMAT_VERSION} and older. Upgrade tinynet to "
                f"{writer} or later (pip install --upgrade tinynet) to load it"
            )

    def _match_arrays(self, members: dict[str, Member], max_bytes: int) -> dict[str, Member]:
        """Check the manifest's ``arrays`` listing against the members and their ``.npy`` headers."""
        listing = self.manifest.get("arrays")
        if not isinstance(listing, list):
            raise self.error("its manifest's 'arrays' must be a list")
        by_name = {m.name: m for m in members.values()}
        result: dict[str, Member] = {}
        total = 0
        for i, entry in enumerate(listing):
            where = f"manifest 'arrays'[{i}]"
            if not isinstance(entry, dict) or set(entry) != {"name", "dtype", "shape", "sha256"}:
                raise self.error(f"{where} must be an object with keys name, dtype, shape, sha256")
            name, dtype, shape, digest = entry["name"], entry["dtype"], entry["shape"], entry["sha256"]
            if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH or not _NAME.fullmatch(name):
                raise self.error(f"{where} has an invalid array name {name!r}")
            if name == "manifest" or name in result:
                raise self.error(f"the manifest lists the array {name!r} twice (or uses a reserved name)")
            if dtype not in ALLOWED_DTYPES:
                raise self.error(
                    f"array {name!r} has dtype {dtype!r}; a model file may hold only "
                    f"{', '.join(ALLOWED_DTYPES)} (little-endian bool, integers and floats)"
                )
            if (
                not isinstance(shape, list)
                or len(shape) > MAX_NDIM
                or not all(type(s) is int and s >= 0 for s in shape)
            ):
                raise self.error(f"array {name!r} has an invalid shape {shape!r} in the manifest")
            if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
                raise self.error(f"array {name!r} has an invalid sha256 {digest!r} in the manifest")
            member = by_name.pop(name, None)
            if member is None:
                raise self.error(
                    f"the manifest lists the array {name!r} but the archive has no member {name}.npy"
                )
            member.sha256 = digest
            self._check_npy(member, np.dtype(dtype), tuple(shape))
            total += member.nbytes
            if total > max_bytes:
                raise self.error(
                    f"its arrays hold more than max_bytes={max_bytes:,} bytes; pass a larger max_bytes "
                    "if the file is trusted and that large"
                )
            result[name] = member
        if by_name:
            extra = sorted(m.info.filename for m in by_name.values())
            raise self.error(f"holds members the manifest does not list: {', '.join(extra[:5])}")
        return result

    def _check_npy(self, member: Member, dtype: np.dtype, shape: tuple[int, ...]) -> None:
        """Parse a member's .npy header (never its data) and check it against the manifest."""
        prefix = self._read_prefix(member, min(member.info.file_size, MAX_NPY_HEADER + 16))
        found, found_shape, fortran, header_len = self._npy_header(prefix, f"array {member.name!r}")
        if fortran:
            raise self.error(f"array {member.name!r} is stored in Fortran order; model files store C order")
        if found.str != dtype.str or found_shape != shape:
            raise self.error(
                f"array {member.name!r} is stored as {found.str} {found_shape} but the manifest says "
                f"{dtype.str} {shape}"
            )
        expected = math.prod(shape) * dtype.itemsize
        stored = member.info.file_size - header_len
        if expected != stored:
            # numpy would allocate the declared shape before noticing the data is missing
            raise self.error(
                f"array {member.name!r} declares shape {shape} ({expected:,} bytes) but its member stores "
                f"{stored:,} bytes of data"
            )
        member.dtype, member.shape, member.header_len = dtype, shape, header_len

    def _npy_header(self, prefix: bytes, what: str) -> tuple[np.dtype, tuple[int, ...], bool, int]:
        fp = io.BytesIO(prefix)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # e.g. numpy's "created on Python 2" header repair
                version = np.lib.format.read_magic(fp)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp, MAX_NPY_HEADER)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp, MAX_NPY_HEADER)
                else:
                    raise ValueError(
                        f"NPY format version {version[0]}.{version[1]} is not used by model files"
                    )
                # NumPy before 1.25 silently repairs a Python 2 header ("(5L,)") that later versions
                # warn about (an error above): parse the text itself, so every NumPy refuses the same files
                text = prefix[8 + (2 if version == (1, 0) else 4) : fp.tell()].decode("latin1")
                ast.literal_eval(text)
        except Exception as exc:
            raise self.error(f"{what} is not a valid .npy array ({_describe(exc)})") from exc
        if dtype.str not in ALLOWED_DTYPES:
            raise self.error(
                f"{what} has dtype {dtype.str!r}; a model file may hold only {', '.join(ALLOWED_DTYPES)} "
                "(no objects, so never a pickle; little-endian only)"
            )
        if len(shape) > MAX_NDIM or any(s < 0 for s in shape):
            raise self.error(f"{what} has an invalid shape {shape}")
        return dtype, tuple(shape), bool(fortran), fp.tell()

    def _read_prefix(self, member: Member, n: int) -> bytes:
        if member.info.compress_type == zipfile.ZIP_STORED:
            self._fp.seek(member.data_offset)
            data = self._fp.read(n)
        else:
            try:
                with self._zf.open(member.info) as f:
                    data = f.read(n)
            except Exception as exc:  # BadZipFile (CRC), zlib.error, EOFError
                raise self.error(f"member {member.info.filename!r} is corrupted ({_describe(exc)})") from exc
        if len(data) != n:
            raise self.error(f"member {member.info.filename!r} is truncated")
        return data

    # -------------------------------------------------------------- data
    def read_into(self, name: str, dest: np.ndarray, *, allow_nonfinite: bool = False) -> None:
        """Read array ``name`` into ``dest`` (same shape; same dtype up to byte order), checking it.

        The SHA-256 of the stored bytes must match the manifest's, and floats must be finite
        unless ``allow_nonfinite``.  On failure ``dest`` may hold part of the data.
        """
        if name in self.packed:
            self._read_packed(name, dest, allow_nonfinite)
            return
        member = self.members[name]
        direct = dest.dtype == member.dtype and dest.flags.c_contiguous
        target = dest if direct else np.empty(member.shape, dtype=member.dtype)
        check_finite = member.dtype.kind == "f" and not allow_nonfinite
        try:
            digest, finite = self._read_data(member, target, check_finite)
        except ModelFileError:
            raise
        except Exception as exc:
            raise self.error(f"array {name!r} cannot be read ({_describe(exc)})") from exc
        if digest != member.sha256:
            raise self.error(
                f"array {name!r} was altered or corrupted: its SHA-256 is {digest}, the manifest records "
                f"{member.sha256}"
            )
        self._check_values(name, target, allow_nonfinite, finite)
        if not direct:
            dest[...] = target

    def _check_values(
        self, name: str, values: np.ndarray, allow_nonfinite: bool, finite: bool = False
    ) -> None:
        """Refuse NaN or infinite floats (unless ``allow_nonfinite``; ``finite``: already known to be
        finite) and booleans stored as bytes other than 0 and 1."""
        kind = values.dtype.kind
        if kind == "f" and not allow_nonfinite and not (finite or _all_finite(values)):
            raise self.error(
                f"array {name!r} contains NaN or infinite values (pass allow_nonfinite=True to load it anyway)"
            )
        if kind == "b" and not _valid_bools(values):
            raise self.error(f"array {name!r} is boolean but holds bytes other than 0 and 1")

    def read_array(self, name: str, *, allow_nonfinite: bool = False) -> np.ndarray:
        """Read array ``name`` into a new native-byte-order array, checked as :meth:`read_into`."""
        member = self.members[name]
        out = np.empty(member.shape, dtype=member.dtype.newbyteorder("="))
        self.read_into(name, out, allow_nonfinite=allow_nonfinite)
        return out

    # -------------------------------------------------------------- packed arrays (format version 6)
    def _packed_sha256(self) -> str:
        """The SHA-256 the manifest records for the packed buffer."""
        from ._packed import PACKED_ARRAY

        if self._embedded is not None:
            return self.manifest["packed"]["sha256"]
        return self.stored[PACKED_ARRAY].sha256

    def _packed_buffer(self) -> tuple[np.ndarray, str]:
        """The packed buffer, read once, and the SHA-256 of its bytes (not yet compared)."""
        if self._packed_data is None and self._embedded is not None:
            self._packed_data = (self._embedded, hashlib.sha256(self._embedded).hexdigest())
        if self._packed_data is None:
            from ._packed import PACKED_ARRAY

            member = self.stored[PACKED_ARRAY]
            data = np.empty(member.nbytes, dtype=np.uint8)
            try:
                digest, _ = self._read_data(member, data, False)
            except ModelFileError:
                raise
            except Exception as exc:
                raise self.error(
                    f"the packed buffer {PACKED_ARRAY!r} cannot be read ({_describe(exc)})"
                ) from exc
            self._packed_data = (data, digest)
        return self._packed_data

    def _packed_values(self, name: str) -> np.ndarray:
        """Packed array ``name`` as a read-only view into the buffer, after the buffer's SHA-256
        and zero padding are checked."""
        from ._packed import check_padding, values

        data, digest = self._packed_buffer()
        expected = self._packed_sha256()
        if digest != expected:
            raise self.error(
                f"array {name!r} cannot be read: the packed buffer holding it was altered or corrupted: its "
                f"SHA-256 is {digest}, the manifest records {expected}"
            )
        if not self._padding_checked:
            check_padding(data, self.packed, self.error)
            self._padding_checked = True
        return values(data, self.packed[name])

    def _read_packed(self, name: str, dest: np.ndarray, allow_nonfinite: bool) -> None:
        found = self._packed_values(name)
        self._check_values(name, found, allow_nonfinite)
        dest[...] = found

    def verify(self, name: str) -> str:
        """Stream array ``name`` through SHA-256 without keeping it; return the hex digest."""
        if name in self.packed:
            return self._packed_buffer()[1]
        member = self.members[name]
        buffer = np.empty(min(member.nbytes, CHUNK), dtype=np.uint8)
        h = hashlib.sha256()
        for chunk in self._chunks(member, buffer):
            h.update(chunk)
        return h.hexdigest()

    def verify_values(self, name: str) -> tuple[str, bool]:
        """Like :meth:`verify`, and also tell whether a float array holds only finite values.

        Returns ``(sha256, finite)``; ``finite`` is True for arrays that are not
        floating point.  The data is streamed; a chunk whose end splits an
        element carries the partial element over to the next.
        """
        if name in self.packed:  # the buffer's digest, and the finiteness of this array's part
            from ._packed import values

            data, digest = self._packed_buffer()
            if digest == self._packed_sha256():
                self._packed_values(name)  # checks the padding too
            array = self.packed[name]
            return digest, array.dtype.kind != "f" or _all_finite(values(data, array))
        member = self.members[name]
        buffer = np.empty(min(member.nbytes, CHUNK), dtype=np.uint8)
        h = hashlib.sha256()
        check, itemsize = member.dtype.kind == "f", member.dtype.itemsize
        finite, carry = True, b""
        for chunk in self._chunks(member, buffer):
            h.update(chunk)
            if check and finite:
                data = carry + bytes(chunk) if carry else chunk
                whole = len(data) - len(data) % itemsize
                finite = _all_finite(np.frombuffer(data, dtype=member.dtype, count=whole // itemsize))
                carry = bytes(data[whole:])
        return h.hexdigest(), finite

    def file_sha256(self) -> str:
        """The SHA-256 of the whole file (which identifies a model: saves are reproducible)."""
        h = hashlib.sha256()
        self._fp.seek(0)
        while data := self._fp.read(CHUNK):
            h.update(data)
        return h.hexdigest()

    def _read_data(self, member: Member, target: np.ndarray, check_finite: bool) -> tuple[str, bool]:
        """Fill ``target`` with the member's data; return its SHA-256 and whether it is surely finite.

        "Surely finite" is a fast check done along the way (False means: not known).
        """
        out = _bytes_of(target)
        if member.info.compress_type == zipfile.ZIP_STORED and out.nbytes > CHUNK:
            return self._read_stored_pipelined(member, target, check_finite)
        h = hashlib.sha256()
        for chunk in self._chunks(member, out):
            h.update(chunk)
        return h.hexdigest(), False

    def _chunks(self, member: Member, buffer: np.ndarray):
        """Yield the member's data in pieces; with ``buffer`` as long as the data, straight into it."""
        n = member.nbytes
        whole = buffer.nbytes == n
        if member.info.compress_type == zipfile.ZIP_STORED:
            self._fp.seek(member.data_offset + member.header_len)
            pos = 0
            while pos < n:
                size = min(CHUNK, n - pos)
                view = memoryview(buffer[pos : pos + size] if whole else buffer[:size])
                self._read_exact(view, member)
                yield view
                pos += size
            return
        with self._zf.open(member.info) as f:
            if len(f.read(member.header_len)) != member.header_len:
                raise self.error(f"member {member.info.filename!r} is truncated")
            pos = 0
            while pos < n:
                data = f.read(min(CHUNK, n - pos))
                if not data:
                    raise self.error(f"member {member.info.filename!r} is truncated")
                view = buffer[pos : pos + len(data)] if whole else buffer[: len(data)]
                view[...] = np.frombuffer(data, dtype=np.uint8)
                yield memoryview(view)
                pos += len(data)
            if f.read(1):  # reading to the end also makes zipfile check the CRC
                raise self.error(f"member {member.info.filename!r} holds more data than it declares")

    def _read_stored_pipelined(
        self, member: Member, target: np.ndarray, check_finite: bool
    ) -> tuple[str, bool]:
        """Read a large stored array chunk by chunk; a second thread hashes each chunk while this
        one reads the next and sums the last (the finiteness check), so that the three overlap."""
        if self._pool is None:
            self._pool = _thread_pool()
        self._fp.seek(member.data_offset + member.header_len)
        h = hashlib.sha256()
        values = target.reshape(-1)
        itemsize = target.dtype.itemsize  # CHUNK is a multiple of every itemsize
        finite = check_finite
        pending = None
        view = memoryview(_bytes_of(target))
        for start in range(0, len(view), CHUNK):
            part = view[start : start + CHUNK]
            self._read_exact(part, member)
            if pending is not None:
                pending.result()
            pending = self._pool.submit(h.update, part)
            if finite:
                finite = _sum_is_finite(values[start // itemsize : (start + len(part)) // itemsize])
        if pending is not None:
            pending.result()
        return h.hexdigest(), finite

    def _read_exact(self, view: memoryview, member: Member) -> None:
        fp = self._fp
        while view.nbytes:
            readinto = getattr(fp, "readinto", None)
            if readinto is not None:
                n = readinto(view)
            else:
                data = fp.read(view.nbytes)
                n = len(data)
                view[:n] = data
            if not n:
                raise self.error(f"member {member.info.filename!r} is truncated")
            view = view[n:]


def _sum_is_finite(values: np.ndarray) -> bool:
    """True when the sum is finite, which proves every value finite (NaN or infinity make it so).

    False is not proof of the contrary: a sum of large finite values can overflow.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return math.isfinite(float(np.add.reduce(values)))


def _all_finite(array: np.ndarray) -> bool:
    """Whether every element is finite: one summation, then an exact look only if the sum is not."""
    flat = array.reshape(-1)
    if _sum_is_finite(flat):
        return True
    return all(bool(np.isfinite(flat[i : i + 2**20]).all()) for i in range(0, flat.size, 2**20))


def _valid_bools(array: np.ndarray) -> bool:
    raw = _bytes_of(np.ascontiguousarray(array))
    return bool((raw <= 1).all())


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:30]} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key[:50]!r} appears twice in one object")
        result[key] = value
    return result


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if len(text) > 300:
        text = text[:300] + "..."
    return f"{type(exc).__name__}: {text}"
