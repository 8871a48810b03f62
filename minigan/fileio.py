"""Writing files so that a crash never leaves one half written.

>>> atomic_write("run/config.json", lambda f: f.write(b"{}"))       # doctest: +SKIP
>>> write_text("run/config.json", "{}\\n")                          # doctest: +SKIP

The bytes go into a temporary file in the same folder, are flushed and
fsync'ed, and the file is renamed over the old one with ``os.replace``: a
crash at any moment leaves either the previous file or the new one, whole.
Checkpoints, sample grids, loss curves and a run's config all go through here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "write_text"]


def atomic_write(path, write):
    """Call ``write(binary_file)`` on a temporary file next to ``path``, then rename it.

    The temporary file is flushed and fsync'ed before ``os.replace`` puts it
    in place, and removed if anything fails, so ``path`` is never half written.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


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
