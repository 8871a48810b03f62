"""One writer per run folder.

A command that writes into a run folder (``train``, ``train --resume``, ``eval`` writing
``eval.json``, from its start, ``sample`` and ``interpolate`` writing their picture there)
holds the folder's lock while it writes: an advisory lock (``flock``) on the file
``.minigan.lock`` in the folder, which also names the process that holds it. A second
command is refused in one line that names that process, before it writes anything.

The lock file is removed when its command ends. The operating system releases the lock
when its process ends, however it ends: a run killed with ``kill -9`` or by a power cut
leaves the file behind, and the next command takes the lock as if it were not there.
(Where ``fcntl`` is missing, on Windows, the lock is not taken: one writer per folder is
then the user's to keep.)
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import sys
import time
import warnings
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["LOCK_FILE", "FolderInUse", "FolderLock", "check_not_in_use"]

LOCK_FILE = ".minigan.lock"


class FolderInUse(ValueError):
    """Another minigan process holds the run folder's lock; ``holder`` says which, in words
    ("minigan process 4237 on host (minigan train ..., since ...)")."""

    def __init__(self, message, holder="another minigan process"):
        super().__init__(message)
        self.holder = holder


def _holder(path, wait=0.5):
    """What the lock file says of the process that holds it, in words.

    A holder writes who it is just after it takes the lock, so a command refused in that
    instant finds the file still empty: it reads again for up to ``wait`` seconds before
    it settles for "another minigan process".
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            info = json.loads(path.read_text()[:4096])
            return (f"minigan process {int(info['pid'])} on {info.get('host', '?')} "
                    f"({str(info.get('command', '?'))[:120]}, since {info.get('started', '?')})")
        except (OSError, ValueError, TypeError, KeyError):
            if time.monotonic() >= deadline:
                return "another minigan process"
            time.sleep(0.01)


#: What ``flock`` fails with when another process holds the lock (anything else: the file
#: system takes no locks).
_HELD = (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)


def _in_use(folder, path):
    """The :class:`FolderInUse` of ``folder``, whose lock file ``path`` names its holder."""
    holder = _holder(path)
    return FolderInUse(f"{folder} is in use by {holder}; wait for it to end, or write "
                       "elsewhere (--out in another folder)", holder)


#: Flags of every open of the lock file: not through a link, not waiting on a FIFO, never
#: making a terminal the process's own.
_NOT_THROUGH = (getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) |
                getattr(os, "O_NOCTTY", 0))


def _refuse_odd(path):
    """A ValueError when the lock file's place holds a link or a folder (checked by path; the
    open file is checked again by :func:`_open_lock_file`)."""
    if os.path.islink(path):
        raise ValueError(f"{path} is a link (to {os.readlink(path)}); minigan writes a run "
                         "folder's lock only inside it: remove the link (nothing was "
                         "written)")
    if os.path.isdir(path):
        raise ValueError(f"{path} is a folder where minigan writes its lock file: remove it "
                         "(nothing was written)")


def _open_lock_file(path, flags):
    """The lock file opened with ``flags``, refusing what would send its write elsewhere.

    The lock file is written (who holds it) and then removed, so it must be a file of its
    own in the folder: not a symbolic link (``O_NOFOLLOW``: the write would land where it
    points), not a hard link to another file (truncated and overwritten in place), not a
    FIFO or a device. A ValueError says which, and that nothing was written.
    """
    _refuse_odd(path)
    try:
        fd = os.open(path, flags | _NOT_THROUGH, 0o644)
    except OSError:
        _refuse_odd(path)               # made meanwhile
        raise
    try:
        info = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    problem = ("is not a regular file" if not stat.S_ISREG(info.st_mode)
               else f"has {info.st_nlink} names (a hard link)" if info.st_nlink > 1 else None)
    if problem:
        os.close(fd)
        raise ValueError(f"{path} {problem}; minigan writes its lock there and then removes "
                         "it: remove that file (nothing was written)")
    return fd


def _still_at(fd, path):
    """Whether the file open as ``fd`` is still the one at ``path``: not removed, nor
    replaced by another process's lock file, since it was opened."""
    try:
        here = os.stat(path)
    except FileNotFoundError:
        return False
    there = os.fstat(fd)
    return (here.st_ino, here.st_dev) == (there.st_ino, there.st_dev)


class FolderLock:
    """The lock of the run folder ``folder``, for a command described by ``what``.

    :meth:`acquire` creates the folder if it is missing (and remembers that it did), takes
    the lock without waiting, and writes who holds it; :class:`FolderInUse` when another
    process holds it. :meth:`release` lets it go (and removes the folder it created if
    nothing else was written into it). Also a context manager.

    ``acquire(new=True)`` takes a folder only if it creates it: ``FileExistsError`` where
    the folder is there already. ``os.mkdir`` creates a folder for one process only, so two
    processes that try the same new folder at once never both take it (a run not given
    ``--out``: :func:`minigan.app.runs.default_outs`).
    """

    def __init__(self, folder, what="minigan"):
        self.folder, self.what = Path(folder), what
        self.path = self.folder / LOCK_FILE
        self._fd, self.created = None, False

    def acquire(self, new=False):
        try:
            self.folder.mkdir(parents=True)
            self.created = True
        except FileExistsError:          # there already, or made a moment ago by another
            if new:
                raise
        if fcntl is None:
            return self
        while True:
            try:
                fd = _open_lock_file(self.path, os.O_RDWR | os.O_CREAT)
            except PermissionError:      # a lock file of another user's, or read-only
                if not os.path.isfile(self.path):
                    raise
                self._remove_if_stale()
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in _HELD:
                    return self._unlocked(exc)
                raise _in_use(self.folder, self.path) from None
            try:
                same = _still_at(fd, self.path)      # a holder may have removed it meanwhile
            except OSError:
                os.close(fd)
                raise
            if same:
                break
            os.close(fd)
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]) or self.what,
                "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        self._fd = fd
        try:
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(info).encode())
        except OSError:             # a full disk, say: let the lock go, and the file
            self.release()
            raise
        return self

    @property
    def held(self):
        """Whether this process holds the lock now (not where the file system takes none)."""
        return self._fd is not None

    def _remove_if_stale(self):
        """The lock file cannot be opened for writing (another user's, or read-only): if no
        process holds it (a read-only descriptor can take the lock), it was left by a killed
        run and is removed while held; else :class:`FolderInUse`."""
        try:
            fd = os.open(self.path, os.O_RDONLY | _NOT_THROUGH)
        except FileNotFoundError:        # removed meanwhile: try again
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise _in_use(self.folder, self.path) from None
            if not _still_at(fd, self.path):     # removed, or another's lock file since
                return
            try:
                os.unlink(self.path)
            except OSError as exc:
                raise PermissionError(
                    exc.errno, f"cannot remove the lock file a killed run left ({exc.strerror}); "
                    f"remove it, or choose another folder", str(self.path)) from None
        finally:
            os.close(fd)

    def _unlocked(self, exc):
        """The file system takes no locks (``flock`` fails with ``exc``, not "held"): go on
        without one, said in a warning; one writer per folder is then the user's to keep."""
        try:
            os.unlink(self.path)
        except OSError:
            pass
        warnings.warn(f"cannot lock {self.folder} on this file system ({exc.strerror}); going "
                      "on without the lock: run one command at a time in this folder",
                      stacklevel=3)
        return self

    def release(self):
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.unlink(self.path)             # while still held: the next one makes its own
        except OSError:
            pass
        os.close(fd)                         # closing releases the lock
        if self.created:
            try:
                if not any(self.folder.iterdir()):
                    self.folder.rmdir()      # a folder made here, and nothing written into it
            except OSError:                  # removed meanwhile (by hand), or written into
                pass

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def check_not_in_use(folder):
    """Raise :class:`FolderInUse` if a live process holds ``folder``'s lock, and a ValueError
    if the lock file's place holds a link, a folder, a FIFO or a hard link (as
    :meth:`FolderLock.acquire` would, but before the work); write nothing."""
    if fcntl is None:
        return
    path = Path(folder) / LOCK_FILE
    if path.is_symlink() or path.exists():
        _refuse_odd(path)                # before the work, not at the write after it
        if not path.is_file() or path.stat().st_nlink > 1:
            os.close(_open_lock_file(path, os.O_RDONLY))     # says what it is
    if not path.is_file():
        return
    try:
        fd = os.open(path, os.O_RDONLY | _NOT_THROUGH)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in _HELD:
            return                       # a file system without locks: nobody holds one
        raise _in_use(folder, path) from None
    finally:
        os.close(fd)
