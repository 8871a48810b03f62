"""Reading an ``.npz`` archive that may not be what it claims: checkpoints and classifiers that
people share, or that a damaged disk changed.

``numpy.load`` reads an entry whole before anything can look at it: a 300-byte archive
whose array header claims 32 GiB raises ``MemoryError``, a deflate bomb decompresses into
gigabytes, an array header edited by one byte passes the zip checksum (which is checked
only once an entry is read to its end) and shifts every value that follows. Here every
entry's header is read first and checked, against the caller's bounds and against the
size the archive records for it, before its data is read, and the data is read exactly
and to the end (so the checksum is verified):

>>> arrays = read_npz("checkpoint.npz", "checkpoint", limit=lambda name, shape, dtype: None)
... # doctest: +SKIP

Every problem is one :class:`NpzError` naming the file and the entry. Object arrays,
which need pickle (code), are never read.
"""

from __future__ import annotations

import ast
import errno
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .idx import DataError

__all__ = ["NpzError", "NpyError", "read_npz", "map_npy", "entry_names", "MAX_ENTRIES",
           "MAX_HEADER"]

#: The most entries an archive may hold.
MAX_ENTRIES = 4096
#: The longest ``.npy`` header read (NumPy writes a few hundred bytes).
MAX_HEADER = 1 << 14


class NpzError(DataError, ValueError):
    """An ``.npz`` archive is damaged, or holds something it should not."""


class NpyError(DataError, ValueError):
    """A file :func:`map_npy` cannot map as the one array of a ``.npy`` file; the message is
    the reason alone, for the caller's own advice. ``archive`` is True for an ``.npz``
    archive."""

    archive = False


def entry_names(path):
    """The names of the entries of the ``.npz`` (zip) archive at ``path``, read from its
    directory alone (no entry is read), or None where it is no readable archive (missing, not
    a zip, cut short): what tells a checkpoint, a classifier and a file of digits apart."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None


def map_npy(path):
    """The array of the ``.npy`` file ``path``, memory-mapped: its header read and checked,
    its data read only where it is used, nothing unpickled (``allow_pickle=False``).

    Raises :class:`NpyError` with NumPy's reason (its first sentence) for a file that is not
    a ``.npy`` of plain data (a pickled object array, another format, a file cut short, a
    shape whose size overflows, without NumPy's overflow warning), and for an ``.npz``
    archive, closed first (``archive`` True: ``numpy.load`` opened it whatever its name).
    """
    try:
        with np.errstate(over="ignore"):        # a shape whose size overflows: refused here
            array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError, OverflowError) as exc:
        reason = str(exc).split(".")[0][:80]
        if "mmap length is greater than file size" in reason:    # mmap's words for it
            reason = "cut short: its header promises more data than the file holds"
        elif "pickled" in reason and not _begins_as_npy(path):  # NumPy's guess for any bytes
            reason = ("no .npy header (numpy.save's files begin with \\x93NUMPY): raw bytes or "
                      "another format named .npy")
        raise NpyError(reason) from None
    if not isinstance(array, np.ndarray):     # an NpzFile, holding the file open
        array.close()
        error = NpyError("an .npz archive (numpy.savez), not a .npy file")
        error.archive = True
        raise error
    return array


def _begins_as_npy(path):
    """Whether the file at ``path`` begins with the ``.npy`` magic string (and, unreadable,
    True: NumPy's reason then stands)."""
    try:
        with open(path, "rb") as f:
            return f.read(6) == b"\x93NUMPY"
    except OSError:
        return True


def _header(stream, label):
    """The ``.npy`` header of ``stream``: ``(shape, fortran_order, dtype, header_bytes)``."""
    magic = stream.read(8)
    if len(magic) < 8 or magic[:6] != b"\x93NUMPY":
        raise NpzError(f"{label} is not a NumPy array (no .npy header)")
    major = magic[6]
    if major == 1:
        length, start = int.from_bytes(stream.read(2), "little"), 10
    elif major in (2, 3):
        length, start = int.from_bytes(stream.read(4), "little"), 12
    else:
        raise NpzError(f"{label} has an .npy format version {major}.{magic[7]} I do not read")
    if length > MAX_HEADER:
        raise NpzError(f"{label} claims an array header of {length} bytes")
    text = stream.read(length)
    if len(text) != length:
        raise NpzError(f"{label} ends inside its array header")
    try:
        header = ast.literal_eval(text.decode("latin1" if major < 3 else "utf8"))
        shape, fortran, descr = header["shape"], header["fortran_order"], header["descr"]
        if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)
                and isinstance(fortran, bool)):
            raise ValueError("shape or order")
        dtype = np.lib.format.descr_to_dtype(descr)
    except (ValueError, SyntaxError, KeyError, TypeError, RecursionError, UnicodeDecodeError,
            MemoryError) as exc:
        raise NpzError(f"{label} has a damaged array header ({type(exc).__name__})") from None
    return shape, fortran, dtype, start + length


#: The errors of a read that say nothing of the file's contents: the disk, the device or
#: the permissions failed (zipfile's EINVAL, a seek before the start, is a damaged archive).
READ_ERRNOS = frozenset(getattr(errno, name) for name in
                        ("EIO", "EACCES", "EPERM", "ENXIO", "ENODEV", "ESTALE", "ETIMEDOUT")
                        if hasattr(errno, name))


def _unreadable(path, what, exc):
    """What to say of a file the system could not read (an ``OSError`` with an errno: a disk
    error, no permission), which says nothing of its contents: not "damaged"."""
    return (f"{what} {path} could not be read ({exc.strerror or exc}); the file itself may be "
            "whole: check the disk and the file's permissions, then try again")


def _not_an_archive(path, what, exc):
    """What to say of a file the zip reader cannot open: empty, a zip cut short, or no zip."""
    try:
        with open(path, "rb") as f:
            start = f.read(4)
    except OSError:
        start = None
    why = f"{type(exc).__name__}: {str(exc)[:80]}"
    if start == b"":
        return (f"{path} is not a minigan {what}: it is empty (0 bytes), e.g. an interrupted "
                f"copy or download; copy it again, or use another {what}")
    if start == b"PK\x03\x04":     # a zip's first entry, without its directory at the end
        return (f"{path} is not a minigan {what}: a damaged or cut-short .npz archive ({why}), "
                f"e.g. an interrupted copy or download; copy it again, or use another {what}")
    return f"{path} is not a minigan {what} (not an .npz archive, {why}); use another {what}"


def read_npz(path, what, limit, max_bytes=1 << 31, select=None):
    """The arrays of the ``.npz`` file ``path``, each checked before it is read.

    Parameters
    ----------
    path : str or os.PathLike
    what : str
        What the file should be ("checkpoint", "classifier"), for the errors.
    limit : callable
        ``limit(name, shape, dtype)`` for each entry, before its data is read: raises
        ``ValueError`` (its message says what is wrong) for an entry the caller does not
        accept (an unknown name, a shape that does not fit, a dtype it does not take).
    max_bytes : int
        The most bytes all arrays together may hold.
    select : callable, optional
        ``select(name)``: read only the entries it accepts (of the others only the header is
        read, to refuse an object array).

    Returns
    -------
    dict name -> numpy.ndarray

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    NpzError
        For anything else, naming the file and, where it is an entry's, the entry.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} {path} does not exist")
    if not path.is_file():
        raise NpzError(f"{what} {path} is not a file")
    try:
        archive = zipfile.ZipFile(path)
    except OSError as exc:
        if exc.errno in READ_ERRNOS:
            raise NpzError(_unreadable(path, what, exc)) from None
        raise NpzError(_not_an_archive(path, what, exc)) from None
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise NpzError(_not_an_archive(path, what, exc)) from None
    out, seen, total = {}, set(), 0
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise NpzError(f"{path} holds {len(infos)} entries; a minigan {what} holds at most "
                           f"{MAX_ENTRIES}")
        for info in infos:
            name = info.filename.removesuffix(".npy")
            label = f"{path}: entry '{name[:80]}'"
            if name in seen:    # which of the two a reader takes is the zip reader's choice
                raise NpzError(f"{label} is in the archive twice; a minigan {what} holds each "
                               "entry once (the file is damaged or was edited): use another "
                               f"{what}")
            seen.add(name)
            if not info.filename.endswith(".npy") or not name:
                raise NpzError(f"{label} is not an array of a minigan {what}")
            skip = select is not None and not select(name)
            if info.flag_bits & 0x1:
                raise NpzError(f"{label} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise NpzError(f"{label} is compressed in a way I do not read "
                               f"(method {info.compress_type})")
            try:
                with archive.open(info) as stream:
                    shape, fortran, dtype, header_size = _header(stream, label)
                    if dtype.hasobject:
                        raise NpzError(f"{label} holds Python objects, which need pickle (code) "
                                       f"to load; a minigan {what} holds plain arrays only")
                    if skip:                 # not read now: its header only was looked at
                        continue
                    try:
                        limit(name, shape, dtype)
                    except ValueError as exc:
                        raise NpzError(f"{label}: {exc}") from None
                    count = int(np.prod(shape, dtype=object))
                    size = count * dtype.itemsize
                    total += size
                    if total > max_bytes:
                        raise NpzError(f"{label} claims {size:,} bytes, more than a minigan "
                                       f"{what} holds")
                    if header_size + size != info.file_size:
                        raise NpzError(f"{label} is damaged: its header describes {size:,} "
                                       f"bytes of data, the archive holds "
                                       f"{info.file_size - header_size:,}")
                    data = stream.read(size)
                    if len(data) != size or stream.read(1):
                        raise NpzError(f"{label} is damaged (its data is cut short)")
            except NpzError:
                raise
            except OSError as exc:
                if exc.errno in READ_ERRNOS:
                    raise NpzError(_unreadable(path, what, exc)) from None
                raise NpzError(f"{label} is damaged and cannot be read "
                               f"({type(exc).__name__}: {str(exc)[:100]})") from None
            except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError,
                    NotImplementedError, ValueError, OverflowError, MemoryError) as exc:
                raise NpzError(f"{label} is damaged and cannot be read "
                               f"({type(exc).__name__}: {str(exc)[:100]})") from None
            array = np.frombuffer(data, dtype=dtype, count=count)
            out[name] = array.reshape(shape, order="F" if fortran else "C").copy()
    return out
