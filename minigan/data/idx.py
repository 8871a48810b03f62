"""Read and write IDX files, the format MNIST is published in.

An IDX file is a 4-byte magic number, one big-endian ``uint32`` per
dimension, then the array itself in C order, big-endian::

    byte 0, 1   0x00 0x00
    byte 2      dtype code: 0x08 uint8, 0x09 int8, 0x0B int16,
                0x0C int32, 0x0D float32, 0x0E float64
    byte 3      number of dimensions, ndim
    4 * ndim    the sizes, big-endian uint32
    rest        prod(sizes) * itemsize bytes of data

Example
-------
>>> import numpy as np, tempfile, os
>>> from minigan.data import read_idx, write_idx
>>> path = os.path.join(tempfile.mkdtemp(), "digits-idx3-ubyte.gz")
>>> write_idx(path, np.arange(12, dtype=np.uint8).reshape(3, 2, 2))
>>> read_idx(path).shape
(3, 2, 2)

Files may be plain or gzip-compressed; compression is recognised by the
gzip magic bytes ``1f 8b``, whatever the file is called. Everything that
is wrong with a file raises :class:`IDXError` with one line naming the
file, what was found and what was expected.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["DataError", "IDXError", "read_idx", "write_idx", "IDX_DTYPES", "MAX_NDIM"]


class DataError(Exception):
    """Base class of every error raised by :mod:`minigan.data`.

    Catch this one to report any data problem (bad file, failed download,
    unusable folder) in one place.
    """


class IDXError(DataError, ValueError):
    """A file is not a valid IDX file (or an array cannot be written as one)."""


#: IDX dtype code -> NumPy dtype (big-endian, as stored in the file).
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

#: Largest number of dimensions accepted (MNIST uses 1 for labels, 3 for images).
MAX_NDIM = 4

_GZIP_MAGIC = b"\x1f\x8b"
_CODE_OF = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
_EXPECTED_CODES = ", ".join(f"0x{code:02X} {dt.name}" for code, dt in IDX_DTYPES.items())


def _describe(dims, dtype):
    """``10000x28x28 uint8`` for error messages."""
    return "x".join(str(d) for d in dims) + f" {dtype.name}"


def _guess_kind(head):
    """A hint about what a non-IDX file looks like, or ``""``."""
    if head.startswith(b"\x89PNG"):
        return " (it looks like a PNG image)"
    if head.startswith(b"PK\x03\x04"):
        return " (it looks like a zip archive)"
    stripped = head.lstrip()
    if stripped.startswith(b"<"):
        return " (it looks like HTML or XML, e.g. an error page saved instead of the data)"
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head[:64]):
        return " (it looks like text)"
    return ""


#: The most data bytes :func:`read_idx` reads unless told otherwise (MNIST's largest file
#: holds 47 MB).
MAX_BYTES = 1 << 31


#: What to do with an IDX file found damaged: MNIST's are downloaded, a user's own are not.
_AGAIN = "delete it and download it again (MNIST's), or write it again (a file of your own)"


def read_idx(path, max_bytes=MAX_BYTES):
    """Read an IDX file, plain or gzip-compressed, into a NumPy array.

    The header is read first and checked (and the size it announces bounded by
    ``max_bytes``) before any data; the data, decompressed on the way when the file is a
    gzip stream, is read exactly as announced. A file that claims more, or a gzip stream
    that would decompress into more, is refused without being read.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip compression is detected from the first two bytes
        (``1f 8b``), not from the name.
    max_bytes : int
        The most data bytes the file may announce.

    Returns
    -------
    numpy.ndarray
        A writable array in native byte order with the shape and dtype
        given by the header (uint8, int8, int16, int32, float32 or float64).

    Raises
    ------
    IDXError
        If the file is a damaged gzip stream, its magic number or dtype
        code is not IDX, it has 0 or more than ``MAX_NDIM`` dimensions, it
        announces more than ``max_bytes``, or its data is shorter (truncated)
        or longer (trailing bytes) than the header announces.
    OSError
        If the file cannot be opened (for example ``FileNotFoundError``).
    """
    path = Path(path)
    name = str(path)
    with open(path, "rb") as plain:
        compressed = plain.read(2) == _GZIP_MAGIC
    try:
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as f:
            return _read_idx_stream(f, name, max_bytes)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise IDXError(
            f"{name}: corrupt gzip file ({type(exc).__name__}: {exc}); "
            f"{_AGAIN}"
        ) from None


def _read_idx_stream(f, name, max_bytes):
    magic = f.read(4)
    if len(magic) < 4:
        raise IDXError(
            f"{name}: not an IDX file: {len(magic)} bytes, but the IDX magic number alone "
            "needs 4"
        )
    if magic[0] != 0 or magic[1] != 0:
        raise IDXError(
            f"{name}: not an IDX file: bad magic number, first two bytes are "
            f"{magic[0]:02x} {magic[1]:02x}, expected 00 00{_guess_kind(magic + f.read(60))}"
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        raise IDXError(
            f"{name}: unknown IDX dtype code 0x{code:02X} in the magic number, "
            f"expected one of {_EXPECTED_CODES}"
        )
    if not 1 <= ndim <= MAX_NDIM:
        raise IDXError(
            f"{name}: IDX header gives {ndim} dimensions, expected 1 to {MAX_NDIM}"
        )
    header = f.read(4 * ndim)
    if len(header) < 4 * ndim:
        raise IDXError(
            f"{name}: truncated IDX file: the header needs {4 + 4 * ndim} bytes for {ndim} "
            f"dimensions but the file has {4 + len(header)}; {_AGAIN}"
        )
    dims = tuple(int(d) for d in np.frombuffer(header, dtype=">u4", count=ndim))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=object)) * dtype.itemsize
    if expected > max_bytes:
        raise IDXError(
            f"{name}: the IDX header announces {_describe(dims, dtype)} ({expected:,} bytes), "
            f"more than the {max_bytes:,} this file may hold; it is damaged or not this data"
        )
    data = f.read(expected)
    if len(data) < expected:
        raise IDXError(
            f"{name}: truncated IDX file: header says {_describe(dims, dtype)} "
            f"({expected} bytes) but only {len(data)} bytes follow; {_AGAIN}"
        )
    extra = len(f.read(1 << 16))          # counted up to 64 KB: a stream may be endless
    if extra:
        more = " or more" if extra == 1 << 16 else ""
        raise IDXError(
            f"{name}: trailing data in IDX file: header says {_describe(dims, dtype)} "
            f"({expected} bytes) but {expected + extra}{more} bytes follow ({extra}{more} extra)"
        )
    array = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize) if expected \
        else np.zeros(0, dtype=dtype)
    return array.astype(dtype.newbyteorder("="), copy=True).reshape(dims)


def write_idx(path, array):
    """Write an array as an IDX file, gzip-compressed when ``path`` ends with ``.gz``.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file; overwritten if it exists.
    array : array_like
        1 to ``MAX_NDIM`` dimensions, dtype uint8, int8, int16, int32,
        float32 or float64 (any byte order), each size below ``2**32``.

    Raises
    ------
    IDXError
        If the dtype has no IDX code or the shape cannot be stored.

    Notes
    -----
    The gzip header carries no timestamp or file name, so writing the same
    array twice gives byte-identical files (and the same md5).
    """
    path = Path(path)
    array = np.asarray(array)
    code = _CODE_OF.get(array.dtype.newbyteorder("="))
    if code is None:
        fits = ("; labels or pixels from 0 to 255 fit uint8: array.astype(numpy.uint8)"
                if array.dtype.kind in "iub" and array.size and 0 <= array.min()
                and array.max() <= 255 else "")      # int64 labels, the usual way to have them
        raise IDXError(
            f"{path}: cannot write dtype {array.dtype} as IDX, expected one of "
            f"{_EXPECTED_CODES}{fits}"
        )
    if not 1 <= array.ndim <= MAX_NDIM:
        raise IDXError(
            f"{path}: cannot write a {array.ndim}-D array as IDX, expected 1 to {MAX_NDIM} "
            f"dimensions (shape {array.shape})"
        )
    if any(d >= 2**32 for d in array.shape):
        raise IDXError(f"{path}: shape {array.shape} has a size that does not fit in uint32")

    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if os.fspath(path).endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
