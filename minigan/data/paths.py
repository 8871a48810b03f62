"""Paths a user types: ``~`` and ``~user`` expanded, or a clear error where they cannot be.

>>> str(user_path("runs/mnist"))
'runs/mnist'
"""

from __future__ import annotations

import os
from pathlib import Path

from .idx import DataError

__all__ = ["user_path"]


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
