"""Writing files so that a crash never leaves one half written; reading them with a limit.

>>> atomic_write("run/config.json", lambda f: f.write(b"{}"))       # doctest: +SKIP
>>> write_text("run/config.json", "{}\\n")                          # doctest: +SKIP

The bytes go into a temporary file in the same folder, are flushed and
fsync'ed, and the file is renamed over the old one with ``os.replace``: a
crash at any moment leaves either the previous file or the new one, whole.
Checkpoints, sample grids, loss curves and a run's config all go through here.

A run folder may come from elsewhere: :func:`read_bytes_at_most` and
:func:`read_text_at_most` read one of its files only when it is a regular file no larger
than a limit (a FIFO would block, a link
to ``/dev/zero`` would never end).
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "write_text", "remove_stale_temps", "check_destination",
           "read_bytes_at_most", "read_text_at_most", "DiskFailed", "write_failure"]

_SUFFIX = ".tmp"

#: The errors of a write that say the disk could not go on (full, over quota, failing), not
#: that the destination was a bad choice (read-only, no permission, not a folder).
DISK_ERRNOS = frozenset(getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EIO")
                        if hasattr(errno, name))


class DiskFailed(RuntimeError):
    """A command could not go on: a file could not be written for lack of space or a failing
    disk (the command line's exit code 1, as a run's full disk; bad input is 2)."""


def write_failure(exc, message):
    """The error to raise for the ``OSError`` ``exc`` of a write, said as ``message``: a
    :class:`DiskFailed` when the disk could not go on (``DISK_ERRNOS``), else a
    ``ValueError`` (a destination to choose again)."""
    return (DiskFailed if exc.errno in DISK_ERRNOS else ValueError)(message)


def atomic_write(path, write):
    """Call ``write(binary_file)`` on a temporary file next to ``path``, then rename it.

    The temporary file is flushed and fsync'ed before ``os.replace`` puts it
    in place, and removed if anything fails, so ``path`` is never half written.
    An ``OSError`` (no such folder, no permission, a full disk) names ``path``,
    never the temporary file.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_SUFFIX)
    except OSError as exc:
        raise _naming(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise _naming(exc, path) from None
        raise
    _fsync_dir(path.parent)


def remove_stale_temps(folder, pattern="*"):
    """Remove the temporary files :func:`atomic_write` left in ``folder`` when killed.

    Only regular files (not links) directly in ``folder`` whose names have the exact form
    :func:`atomic_write` gives them, ``.<name>.<8 random characters>.tmp`` with ``<name>``
    matching the glob ``pattern`` (e.g. ``"checkpoint.npz"`` or ``"epoch_*.png"``), are
    removed. Returns the paths removed.
    """
    name = fnmatch.translate(pattern).removesuffix(r"\Z").removeprefix("(?s:").removesuffix(")")
    ours = re.compile(rf"\.(?:{name})\.[a-z0-9_]{{8}}{re.escape(_SUFFIX)}")
    removed = []
    for tmp in sorted(Path(folder).glob(f".{pattern}.*{_SUFFIX}")):
        if ours.fullmatch(tmp.name) and tmp.is_file() and not tmp.is_symlink():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _naming(exc, path):
    """``exc`` (an OSError) again, naming ``path`` instead of a temporary file."""
    if exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror or str(exc), str(path))


def write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write`)."""
    data = text.encode()
    atomic_write(path, lambda f: f.write(data))


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder):
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_destination(path, option="--out"):
    """Refuse, before any work, a file ``path`` that cannot be written: its folder missing or
    not a folder, no write permission there, or ``path`` itself a folder. Writes nothing.

    The errors are ``ValueError`` naming ``option`` and what to do (``option`` None: ``path``
    is the command's default place, named by itself, and ``--out`` gives another).
    """
    path = Path(path)
    folder = path.parent
    named, another = ((f"{option} {path}", f"another {option}") if option else
                      (f"{path}", "another place with --out"))
    if path.is_dir():
        raise ValueError(f"{named} is a folder; give a file name in it" if option else
                         f"{path} is a folder, where this command writes a file; move it, "
                         "or give --out")
    if not folder.is_dir():
        what = ("is a file, not a folder" if folder.exists() else "does not exist")
        raise ValueError(f"{named}: its folder {folder} {what}; create it or choose {another}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{named}: no permission to write in {folder}; choose {another}")


#: Bytes :func:`read_bytes_at_most` reads at a time.
READ_BLOCK = 1 << 20


def read_bytes_at_most(path, limit):
    """The bytes of the file at ``path`` when it is a regular file of at most ``limit``
    bytes; else a ValueError that says which (an ``OSError`` when it cannot be opened).

    Opened without waiting (a FIFO is refused, not waited on), checked with ``fstat`` on
    the open file (a link to a device is refused too), and read to ``limit + 1`` bytes at
    most, so a file that grows while it is read is refused as well. Read in blocks: a
    ``limit`` far above the file's size (a reader's "no limit") allocates nothing for it.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > limit:
            raise ValueError(f"{info.st_size:,} bytes, more than the {limit:,} read")
        blocks, total = [], 0
        with os.fdopen(os.dup(fd), "rb") as f:
            while total <= limit:
                block = f.read(min(READ_BLOCK, limit + 1 - total))
                if not block:
                    break
                blocks.append(block)
                total += len(block)
        data = b"".join(blocks)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError(f"more than the {limit:,} bytes read")
    return data


def read_text_at_most(path, limit, errors="strict"):
    """:func:`read_bytes_at_most` decoded as UTF-8."""
    return read_bytes_at_most(path, limit).decode("utf-8", errors)
