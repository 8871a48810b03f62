"""Paths a user types: ``~`` and ``~user`` expanded, or a clear error where they cannot be.

>>> str(user_path("runs/mnist"))
'runs/mnist'
"""

from __future__ import annotations

import os
from pathlib import Path

from .idx import DataError

__all__ = ["user_path", "cache_home"]


def user_path(path):
    """``Path(path).expanduser()``, where a ``~user`` that names no user of this machine (or a
    ``~`` without a home folder: ``HOME`` unset, no entry in the password database) raises
    :class:`~minigan.data.DataError` naming the path, not pathlib's bare ``RuntimeError``
    ("Could not determine home directory.")."""
    given = Path(path)
    if not os.fspath(path).startswith("~"):     # "./~x": a file named ~x here, no home
        return given
    try:
        return given.expanduser()
    except RuntimeError:
        head = given.parts[0]
        whose = (f"no user '{head[1:]}' on this machine" if len(head) > 1
                 else "no home folder known ($HOME is not set)")
        raise DataError(f"{path}: {head} names a home folder, and there is {whose}; write the "
                        f"path without {head} (in full, or relative to this folder)") from None


def cache_home():
    """The folder minigan caches under (MNIST's download, the classifier): ``$XDG_CACHE_HOME``,
    else ``~/.cache``. Without either (``HOME`` unset, no entry in the password database) a
    :class:`~minigan.data.DataError` says which variables to set, where pathlib raised a bare
    ``RuntimeError``."""
    cache = os.environ.get("XDG_CACHE_HOME")
    if cache:
        return user_path(cache)
    try:
        return Path.home() / ".cache"
    except RuntimeError:
        raise DataError("minigan caches its downloads and classifier under ~/.cache, and this "
                        "machine knows no home folder ($HOME is not set): set $HOME or "
                        "$XDG_CACHE_HOME, or give the folders (--data-dir, $MINIGAN_DATA, "
                        "--out)") from None
