"""Reading the inputs and writing the outputs of ``tinynet predict``, strictly.

Every problem becomes an :class:`InputError` (exit status 2) whose message
names the file and, for a value, where it is: the line and column of a CSV
file (counted from 1, as an editor shows them), the index of a ``.npy`` array
(counted from 0, as numpy indexes).  Nothing here guesses silently: a row is
either read as one sample or the whole command fails.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
import sys
from dataclasses import dataclass
from typing import BinaryIO, TextIO

import numpy as np

from ..serialization._archive import NotRegularFileError, open_regular_file

#: What a missing value looks like in CSV files written by spreadsheets, R and pandas.
MISSING_MARKERS = frozenset({"na", "n/a", "nan", "null", "none", "nil", "missing", "-", "?", "#n/a"})

#: The characters a plain decimal number may contain (with the field separator and white space).
_NOT_DECIMAL = re.compile(r"[^0-9eE+\-.,\s]", re.ASCII)
_DECIMAL = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*", re.ASCII)
_NPY_MAGIC = b"\x93NUMPY"
_CHUNK = 1 << 20
#: Control characters, and the Unicode marks that reorder the text around them.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class InputError(Exception):
    """Input, output or arguments the command cannot use (exit status 2)."""


# ------------------------------------------------------------------ text out
def escape(text: str) -> str:
    r"""``text`` with every control character written as an escape (``\x1b``, ``\n``, ``\u202e``).

    Names come from files that anyone may have written: printed raw, an escape
    sequence could rewrite the terminal and a newline could forge a line of the
    report.
    """
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def write_text(stream: TextIO, text: str) -> None:
    """Write ``text``, with ``\\xe8``-style escapes for characters ``stream``'s encoding lacks."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))


# ------------------------------------------------------------------- files
def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_file(path: str) -> bytes:
    """The bytes of the regular file ``path``, opened once; FIFOs, devices, folders are refused.

    The opening is :func:`tinynet.serialization._archive.open_regular_file`'s, the
    model loader's: ``stat`` looks before anything is opened (opening a FIFO for
    reading blocks until a writer comes, and opening some devices has effects),
    and the file is opened without blocking and checked again on the open
    descriptor, so that a file swapped in between is refused too.
    """
    name = escape(path)
    try:
        f = open_regular_file(path)
    except NotRegularFileError:
        raise InputError(
            f"cannot read {name}: it is {kind_of(os.stat(path).st_mode)}, not a regular file; "
            "to read from a pipe, pass --input - and send the data to standard input"
        ) from None
    except IsADirectoryError:
        raise InputError(f"cannot read {name}: it is a folder, not a regular file") from None
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    with f:
        try:
            return _read_all(f, os.fstat(f.fileno()).st_size)
        except OSError as exc:
            raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None


def read_stream(stream: BinaryIO) -> bytes:
    """Everything on a binary stream (standard input), in pieces."""
    return _read_all(stream, None)


def _read_all(f: BinaryIO, size: int | None) -> bytes:
    # A regular file is read at its size at once (no copies); a stream grows a buffer in chunks,
    # so that the memory used follows the data that actually arrives.
    if size is not None:
        data = f.read(size)
        rest = f.read(_CHUNK)  # a file that grew while being read
        return data + rest if rest else data
    buffer = bytearray()
    while chunk := f.read(_CHUNK):
        buffer += chunk
    return bytes(buffer)


def check_output_path(path: str) -> str:
    """Refuse an ``--output`` that cannot be written atomically; return the path to replace.

    The parent folder must exist; an existing target must be a regular file (a
    folder, FIFO or device is refused: the command replaces the file by a
    rename, which would remove a FIFO or device node rather than write to it).
    A symbolic link is followed: the file it points to is replaced, the link
    stays.
    """
    name = escape(path)
    target = os.path.realpath(path) if os.path.islink(path) else path
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        folder = os.path.dirname(os.path.abspath(target))
        if not os.path.isdir(folder):
            raise InputError(
                f"cannot write {name}: the folder {escape(folder)} does not exist; create it first"
            ) from None
        return target
    except OSError as exc:
        raise InputError(f"cannot write {name}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"cannot write {name}: it is a folder; name a file (.csv or .npy) inside it")
    if not stat.S_ISREG(mode):
        raise InputError(
            f"cannot write {name}: it is {kind_of(mode)}, not a regular file; "
            "to write to a pipe or device, pass --output - and redirect standard output"
        )
    return target


# -------------------------------------------------------------------- .npy
def parse_npy(data: bytes, name: str) -> np.ndarray:
    """The numeric array of a ``.npy`` file's bytes: never unpickles, checks every size first."""
    if not data:
        raise InputError(f"{name} is empty")
    f = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
    except Exception as exc:  # numpy raises ValueError, SyntaxError, tokenize.TokenError, ...
        raise InputError(f"{name} is not a valid .npy file: {escape(str(exc))}") from None
    if dtype.hasobject or dtype.names is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
        raise InputError(
            f"{name} holds {escape(str(dtype))} values; tinynet predict reads numbers "
            "(bool, integer or float arrays; never Python objects)"
        )
    expected = math.prod(shape) * dtype.itemsize
    available = len(data) - f.tell()
    if available != expected:
        problem = (
            f"is truncated: its header declares {shape} {dtype} ({expected:,} bytes of data) "
            f"but only {available:,} bytes follow"
            if available < expected
            else f"has {available - expected:,} bytes after its {shape} {dtype} array"
        )
        raise InputError(f"{name} {problem}")
    x = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=f.tell())
    x = x.reshape(shape[::-1]).T if fortran else x.reshape(shape)
    if x.ndim == 0:
        raise InputError(f"{name} holds a single number (shape ()); it must hold samples, one per row")
    if x.shape[0] == 0:
        raise InputError(f"{name} holds no samples (shape {x.shape})")
    return x


def is_npy(data: bytes) -> bool:
    """Whether ``data`` starts with the ``.npy`` magic string (never valid UTF-8, so never a CSV)."""
    return data.startswith(_NPY_MAGIC)


# --------------------------------------------------------------------- CSV
@dataclass
class CsvTable:
    """The numbers of a CSV file, with where each row came from."""

    values: np.ndarray  # (rows, columns) float64
    lines: list[int]  # the file's line number (from 1) of each row
    names: list[str] | None  # the header's column names, if there was one


def is_name(field: str) -> bool:
    """Whether a CSV field is a column *name*: has a letter, is not a number nor a missing-value marker."""
    text = field.strip()
    if not text or text.lower() in MISSING_MARKERS or not any(ch.isalpha() for ch in text):
        return False
    try:
        float(text)
    except ValueError:
        return True
    return False  # "inf", "infinity", "nan": numbers to float(), never names


def parse_csv(data: bytes, name: str, header: bool | None, note: TextIO | None = None) -> CsvTable:
    """Read the rows of a CSV file: one sample per row, every field a plain decimal number.

    Parameters
    ----------
    data : bytes
        The file's bytes: UTF-8, with or without a byte-order mark, lines ended
        by LF or CRLF, fields separated by commas and optionally quoted.
    name : str
        How messages name the file.
    header : bool or None
        True: the first line is a header (skipped); False: every line is data;
        None: the first line is a header when every field of it is a name
        (:func:`is_name`), which is then said on ``note`` (default: standard error).

    Raises
    ------
    InputError
        For a missing value (an empty field, ``NA``, ...), a field that is not a
        finite decimal number, rows of different widths, a blank line before
        the last row, bytes that are not UTF-8, bad quoting, or no rows at all.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{name}, line {line}: byte 0x{data[exc.start]:02x} is not UTF-8 text; save the file as UTF-8"
        ) from None
    if text.startswith("\ufeff"):  # the byte-order mark some programs put first
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, skipinitialspace=True)
    records: list[tuple[int, list[str]]] = []
    try:
        for fields in reader:
            records.append((reader.line_num, fields))
    except csv.Error as exc:
        raise InputError(f"{name}, line {reader.line_num}: {exc}") from None
    while records and _blank(records[-1][1]):  # empty lines at the end are no rows
        records.pop()
    if not records:
        raise InputError(f"{name} holds no rows")
    for line, fields in records:
        if _blank(fields):
            raise InputError(
                f"{name}, line {line} is empty; every line must hold one sample (empty lines may only end the file)"
            )
    width = len(records[0][1])
    for line, fields in records:
        if len(fields) != width:
            raise InputError(
                f"{name}, line {line} has {len(fields)} fields but line {records[0][0]} has {width}; "
                "every row must have the same columns"
            )

    first_line, first = records[0]
    if header is None:
        header = all(is_name(field) for field in first)
        if header:
            shown = ", ".join(escape(field.strip()) for field in first[:8]) + (", ..." if width > 8 else "")
            write_text(
                note or sys.stderr,
                f"tinynet predict: {name}: line {first_line} ({shown}) is read as a header of column names, "
                "not as data (pass --header or --no-header to say which)\n",
            )
    names = [field.strip() for field in first] if header else None
    body = records[1:] if header else records
    if not body:
        raise InputError(f"{name} holds a header but no rows of data")

    rows: list[list[float]] = []
    for line, fields in body:
        try:
            if _NOT_DECIMAL.search(",".join(fields)):
                raise ValueError
            rows.append(list(map(float, fields)))
        except ValueError:
            _refuse_row(name, line, fields, names, first_line == line and not header)
    values = np.array(rows, dtype=np.float64).reshape(len(rows), width)
    overflow = ~np.isfinite(values)  # a plain decimal can still be too large: 1e400
    if overflow.any():
        row, column = (int(i) for i in np.argwhere(overflow)[0])
        line = body[row][0]
        where = f"{name}, line {line}, column {column + 1}" + (
            f" ({escape(names[column])})" if names is not None else ""
        )
        raise InputError(
            f"{where}: {escape(body[row][1][column].strip())!r} is too large for a float64 number; "
            "every field must hold a finite number"
        )
    return CsvTable(values, [line for line, _ in body], names)


def _blank(fields: list[str]) -> bool:
    return not fields or (len(fields) == 1 and not fields[0].strip())


def _refuse_row(name: str, line: int, fields: list[str], names: list[str] | None, maybe_header: bool):
    """Raise the InputError for the first field of a row that is not a plain decimal number."""
    for column, field in enumerate(fields, start=1):
        if _DECIMAL.fullmatch(field):
            continue
        where = f"{name}, line {line}, column {column}"
        if names is not None:
            where += f" ({escape(names[column - 1])})"
        text = field.strip()
        if not text:
            problem = "missing value (an empty field)"
        elif text.lower() in MISSING_MARKERS and text.lower() != "nan":
            problem = f"missing value {escape(text)!r}"
        else:
            try:
                number = float(text)
            except ValueError:
                number = None
            if number is not None and not math.isfinite(number):
                problem = f"{escape(text)!r} is not a finite number"
            else:
                problem = f"{escape(text)!r} is not a number (write plain decimals such as -1.5 or 2e-3)"
        hint = ""
        if maybe_header:
            hint = "; if this line is a header of column names, pass --header"
        raise InputError(f"{where}: {problem}; every field must hold a finite number{hint}")
    raise AssertionError("unreachable: the row failed to parse")  # pragma: no cover


def refuse_nonfinite(x: np.ndarray, original: np.ndarray, name: str, table: CsvTable | None) -> None:
    """Raise an InputError naming the first value of ``x`` that is NaN or infinite."""
    bad = ~np.isfinite(x)
    if not bad.any():
        return
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    value = float(original.reshape(x.shape)[index])
    count = int(bad.sum())
    more = f" ({count - 1:,} more such values)" if count > 1 else ""
    if math.isfinite(value):
        problem = f"{value!r} does not fit in the model's {x.dtype} (larger than {np.finfo(x.dtype).max:.4g})"
    else:
        problem = f"{value!r} is not a finite number"
    if table is not None:  # the CSV's rows and columns are the model's samples, flattened
        row, column = index[0], int(np.ravel_multi_index(index[1:], x.shape[1:]))
        where = f"{name}, line {table.lines[row]}, column {column + 1}"
        if table.names is not None:
            where += f" ({escape(table.names[column])})"
    else:
        where = f"{name}, x[{', '.join(map(str, index))}]"
    raise InputError(f"{where}: {problem}{more}; the model needs finite inputs")


# ------------------------------------------------------------------ output
def csv_format(dtype: np.dtype) -> str:
    """9 (float32) or 17 (float64) significant digits: the text reads back to the same floats."""
    return "%.9g" if np.dtype(dtype).itemsize <= 4 else "%.17g"


def write_csv(f, y: np.ndarray) -> None:
    """One line per sample, its outputs flattened and separated by commas."""
    np.savetxt(f, y.reshape(len(y), -1), fmt=csv_format(y.dtype), delimiter=",")


def write_npy(f, y: np.ndarray) -> None:
    np.save(f, y, allow_pickle=False)
