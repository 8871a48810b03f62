"""MNIST: download once, verify, cache, load as float32 arrays::

    from minigan.data import load_mnist
    x, y = load_mnist("train")   # x: (60000, 784) float32 in [-1, 1]; y: (60000,) int64

The four gzipped IDX files are looked for in ``data_dir`` (default:
:func:`~minigan.data.default_data_dir`). A missing file is downloaded from the first of
:data:`~minigan.data.MIRRORS` that works, into a temporary file in the same folder; only
after its md5 matches the published checksum is it renamed to its final
name, so an interrupted or corrupted download never leaves a bad file
behind. A cached file whose md5 is wrong is reported and fetched again; it is kept beside
the new one as ``NAME.<its md5's first 8 digits>.damaged`` (a file of one's own may bear
MNIST's name).

Offline, put the files in a folder yourself and point ``data_dir`` (the
command line's ``--data-dir``, or the ``MINIGAN_DATA`` environment
variable) at it. Un-gzipped copies (``t10k-images-idx3-ubyte``) are accepted
too when the ``.gz`` file is absent.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import numbers
import os
import re
import secrets
import sys
import urllib.error
import urllib.request
import warnings
import zlib
from http.client import HTTPException
from pathlib import Path

import numpy as np

from .idx import IDX_DTYPES, DataError, IDXError, read_idx
from .idx import MAX_BYTES as MAX_IDX_BYTES
from .npz import NpyError, map_npy
from .paths import cache_home, user_path

__all__ = [
    "MNISTError",
    "MNISTDownloadError",
    "ImageSizeError",
    "MNIST_FILES",
    "MIRRORS",
    "default_data_dir",
    "fetch",
    "holds_mnist",
    "load_mnist",
    "own_files",
    "read_data_file",
    "splits_in",
    "valid_file_name",
    "valid_md5",
]


class MNISTError(DataError):
    """A problem with the MNIST files or the folder that holds them."""


class MNISTDownloadError(MNISTError, RuntimeError):
    """An MNIST file is missing and could not (or may not) be downloaded.

    The message names the files needed and the folder to put them in. Raised by
    :func:`load_mnist` for a folder that holds another split, it says so, and has the
    attributes ``other_split`` (that split's name) and ``reason`` (the message without it),
    for a caller that words the advice its own way (``minigan train``: ``--split``); None
    otherwise. ``cause`` is what went wrong without the advice of where to put the files
    (``"... is not in FOLDER and downloading is off (...)"``), for a caller with advice of
    its own; None where the message holds no such advice.
    """

    other_split = None
    reason = None
    cause = None


class ImageSizeError(MNISTError):
    """The images are not of the size asked for (:func:`load_mnist`'s ``image_size``); its
    ``size`` attribute is theirs, ``(height, width)``."""

    size = None


#: For each split, the ``(file name, md5 of the gzipped file)`` of its images and labels.
MNIST_FILES = {
    "train": {
        "images": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        "labels": ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    },
    "test": {
        "images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        "labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    },
}

#: Public mirrors of the original files, tried in this order.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

SPLITS = ("train", "test")
#: The classes a labels file may hold, 0 .. CLASSES - 1: the digits, as many as a conditional
#: GAN's one-hot labels have (minigan.gan.conditional.CLASSES).
CLASSES = 10
SCALES = ("tanh", "sigmoid", None)
TIMEOUT_S = 30
_CHUNK = 1 << 16
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
_HINT = ("(or point data_dir, the command line's --data-dir, or MINIGAN_DATA at a folder that "
         "has them)")
_CHOOSE = "choose another with data_dir (the command line's --data-dir) or MINIGAN_DATA"


_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def valid_file_name(name):
    """Whether ``name`` is a plain file name of the data folder: letters, digits, ``.``,
    ``-`` and ``_``, starting with a letter or digit, no folder in it (so a download or a
    read never lands outside the folder)."""
    return isinstance(name, str) and bool(_FILE_NAME.fullmatch(name)) and ".." not in name


_MD5 = re.compile(r"[0-9a-f]{32}")


def valid_md5(md5):
    """Whether ``md5`` is an md5 as :data:`MNIST_FILES` writes it: 32 lowercase hex digits."""
    return isinstance(md5, str) and bool(_MD5.fullmatch(md5))


def default_data_dir():
    """The folder MNIST is cached in when no ``data_dir`` is given.

    Returns
    -------
    pathlib.Path
        ``$MINIGAN_DATA`` if set, else ``$XDG_CACHE_HOME/minigan/mnist``, else
        ``~/.cache/minigan/mnist``. The folder is not created here.
    """
    env = os.environ.get("MINIGAN_DATA")
    if env:
        return user_path(env)
    return cache_home() / "minigan" / "mnist"


def _md5(path):
    """Hex md5 of a file, read in chunks."""
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _put_files_hint(names, data_dir):
    test_alone = ("; with the test split's files alone at hand, train on them: split \"test\" "
                  "(the command line's --split test)"
                  if any(str(name).startswith("train-") for name in names) else "")
    return f"Put the MNIST files {', '.join(names)} in {data_dir} {_HINT}{test_alone}"


def _ensure_dir(data_dir):
    """Create ``data_dir`` if needed; raise :class:`MNISTError` if it cannot be a folder.

    Returns the folders it created, deepest first (empty if ``data_dir`` existed), so
    that a download that fails can take them away again (:func:`_remove_if_empty`).
    """
    if data_dir.exists() and not data_dir.is_dir():
        raise MNISTError(f"data folder {data_dir} exists but is not a directory")
    missing = []
    folder = data_dir.absolute()
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_if_empty(missing)
        raise MNISTError(
            f"cannot create data folder {data_dir} ({exc.strerror or exc}); {_CHOOSE}"
        ) from None
    return missing


def _remove_if_empty(folders):
    """Remove each folder, deepest first, that exists and is empty (a mistyped
    ``--data-dir`` whose download failed leaves no empty folder behind)."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:        # not empty, gone already, or not ours to remove
            return


def _show_progress(progress):
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(progress) and isatty is not None and isatty()


def _open_temp(data_dir, name, created):
    """A new, uniquely named ``.part`` file in ``data_dir``: ``(binary file, path)``.

    Like ``tempfile.mkstemp`` (``O_EXCL``, random name), but created with mode
    0o666 less the umask, so the final file gets the usual permissions.

    If ``data_dir`` has gone, it is made again, and the folders made join ``created`` (those
    :func:`_fetch` removes if it fails): a process that made the folder for its download
    takes it away again when that download fails, though another one, which found it
    there, is about to write in it.
    """
    for _ in range(100):
        path = data_dir / f".{name}.{secrets.token_hex(6)}.part"
        try:
            fd = os.open(path, _TEMP_FLAGS, 0o666)
        except FileExistsError:
            continue
        except FileNotFoundError:
            if data_dir.is_dir():      # another folder is missing, not data_dir
                raise
            # both lists run up from data_dir, deepest first: keep the longer
            created[:] = max(created, _ensure_dir(data_dir), key=len)
            continue
        return os.fdopen(fd, "wb"), path
    raise FileExistsError(f"no free temporary file name in {data_dir}")


def _download(url, tmp, name, md5, progress):
    """Stream ``url`` into the open binary file ``tmp``; raise ``ValueError`` on md5 mismatch."""
    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "minigan"})
    h = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        with tqdm(
            total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name,
            disable=not _show_progress(progress), leave=False,
        ) as bar:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                tmp.write(chunk)
                h.update(chunk)
                bar.update(len(chunk))
    got = h.hexdigest()
    if got != md5:
        raise ValueError(f"md5 mismatch: got {got}, expected {md5}")


def _fetch(name, md5, data_dir, mirrors, progress, needed):
    """:func:`fetch`, with ``needed`` the file names listed in the error message."""
    data_dir = Path(data_dir)
    if isinstance(mirrors, (str, bytes)):
        mirrors = [mirrors]
    mirrors = list(mirrors)
    created = _ensure_dir(data_dir)
    try:
        return _fetch_into(name, md5, data_dir, mirrors, progress, needed, created)
    except BaseException:
        _remove_if_empty(created)
        raise


def _fetch_into(name, md5, data_dir, mirrors, progress, needed, created):
    """:func:`_fetch` once ``data_dir`` exists; ``created`` is the list of folders it made,
    which grows if ``data_dir`` has to be made again (:func:`_open_temp`)."""
    target = data_dir / name
    damaged = aside = None
    if target.is_file():
        got = _md5(target)
        if got == md5:
            return target
        # a file of one's own that bears MNIST's name is data too: kept, never written over
        aside = target.with_name(f"{name}.{got[:8]}.damaged")
        damaged = f"{target} is damaged: its md5 {got} does not match the expected {md5}"
        warnings.warn(f"{damaged}; downloading it again (the file is kept as {aside.name} "
                      "once the new one is in place)", stacklevel=3)

    failures = []
    for mirror in mirrors:
        url = mirror if mirror.endswith("/") else mirror + "/"
        url += name
        try:
            tmp, tmp_path = _open_temp(data_dir, name, created)
        except OSError as exc:
            raise MNISTError(
                f"cannot write to data folder {data_dir} ({exc.strerror or exc}); {_CHOOSE}"
            ) from None
        done = False
        try:
            with tmp:
                _download(url, tmp, name, md5, progress)
            if aside is not None:
                os.replace(target, aside)
            os.replace(tmp_path, target)
            done = True
            return target
        except (OSError, HTTPException, ValueError) as exc:  # URLError, timeouts are OSError
            failures.append((url, f"{type(exc).__name__}: {exc}"))
        finally:
            if not done:
                try:
                    os.unlink(tmp_path)
                except FileNotFoundError:
                    pass

    reasons = {reason for _, reason in failures}
    tried = ("no mirrors given" if not failures else
             f"each of its {len(failures)} mirrors: {reasons.pop()}"   # offline: one reason
             if len(failures) > 1 and len(reasons) == 1 else
             "; ".join(f"{url}: {reason}" for url, reason in failures))
    if damaged is not None:
        raise MNISTDownloadError(
            f"{damaged} and could not be downloaded again ({tried}); delete it, or replace "
            f"it with the MNIST file {name}"
        )
    cause = f"could not download {name} ({tried})"
    error = MNISTDownloadError(f"{cause}. " + _put_files_hint(needed, data_dir))
    error.cause = cause
    raise error


def fetch(name, md5, data_dir, mirrors=MIRRORS, progress=True):
    """Make sure ``data_dir/name`` exists with the given md5, downloading it if needed.

    Parameters
    ----------
    name : str
        File name, appended to each mirror URL.
    md5 : str
        Expected hex md5 of the file.
    data_dir : str or os.PathLike
        Folder to keep the file in; created if missing.
    mirrors : sequence of str, optional
        Base URLs tried in order (default :data:`~minigan.data.MIRRORS`).
    progress : bool, optional
        Show a progress bar (only when stderr is a terminal).

    Returns
    -------
    pathlib.Path
        ``data_dir / name``, verified.

    Raises
    ------
    MNISTDownloadError
        If every mirror fails (network error, HTTP error, md5 mismatch). The
        message lists each URL tried with its error and where to put the file.
    MNISTError
        If ``data_dir`` cannot be created or written.

    Notes
    -----
    A file already there with the right md5 is returned without touching the
    network. One with the wrong md5 is reported with a warning and fetched
    again; it is only replaced once a verified copy has been downloaded.
    Downloads go to a temporary file in ``data_dir`` that is renamed with
    ``os.replace`` after verification and removed on any failure.
    """
    return _fetch(name, md5, data_dir, mirrors, progress, needed=(name,))


def _copies(data_dir, name):
    """Where file ``name`` may lie in ``data_dir``: itself, and its un-gzipped copy for a
    ``.gz`` name (else None)."""
    plain = data_dir / name[: -len(".gz")] if name.endswith(".gz") else None
    return data_dir / name, plain


def _resolve(name, md5, data_dir, download, mirrors, progress, needed, own=False):
    """Path of one file: the verified ``.gz``, else a plain copy, else a download.

    ``own``: a file of a data set of one's own (``files``), which no mirror holds unless
    ``mirrors`` were given: it is looked for, never downloaded, and the errors say so.
    """
    gz, plain = _copies(data_dir, name)
    if download and (gz.is_file() or plain is None or not plain.is_file()):
        return _fetch(name, md5, data_dir, mirrors, progress, needed)
    if gz.is_file():
        got = _md5(gz)
        if got != md5:
            if own:
                error = MNISTError(
                    f"{gz}: md5 {got} does not match the md5 {md5} that files gives for it; "
                    "the file changed since, or is another one: put the file of that md5 "
                    f"there, or give {got} in files"
                )
                error.changed = (gz, md5, got)       # for a caller with other advice
                raise error
            raise MNISTError(
                f"{gz}: md5 {got} does not match the published {md5}; the file is damaged "
                "or not the MNIST file: delete it and download it again"
            )
        return gz
    if plain is not None and plain.is_file():
        return plain
    if own:
        raise MNISTDownloadError(
            f"{name} is not in {data_dir}: put the files {', '.join(needed)} (the data set's "
            f"files, as files names them) there {_HINT}"
        )
    cause = (f"{name} is not in {data_dir} and downloading is off (download=False, the "
             "command line's --no-download)")
    error = MNISTDownloadError(f"{cause}. " + _put_files_hint(needed, data_dir))
    error.cause = cause
    raise error


def _is_npy(path):
    """Whether a data set's file is read as a NumPy ``.npy`` file: by its name."""
    return Path(path).suffix.lower() == ".npy"


def _writer_of(path):
    """The function that writes a data set's file as :func:`read_data_file` reads it."""
    return "numpy.save" if _is_npy(path) else "write_idx"


def read_data_file(path, max_bytes=MAX_IDX_BYTES):
    """The array in a data set's file: an IDX file (:func:`~minigan.data.read_idx`), or a
    NumPy ``.npy`` file (``numpy.save``) by its name, read without pickles.

    Parameters
    ----------
    path : str or os.PathLike
    max_bytes : int
        The most data bytes the file may hold; a ``.npy`` header announcing more is
        refused before its data is read.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    IDXError
        For an IDX file that is not valid IDX; one that is no IDX file at all (an ``.npz``, a
        pickle, a ``.npy`` file named otherwise) says what minigan reads and what to do.
    MNISTError
        For a ``.npy`` file that is not a NumPy array file of numbers, or holds more than
        ``max_bytes``.
    """
    path = Path(path)
    if not _is_npy(path):
        try:
            return read_idx(path, max_bytes)
        except IDXError as exc:
            hint = _not_idx(path)
            if hint is None:
                raise
            raise IDXError(f"{exc}; {hint}") from None
    try:        # mapped, not read: the header is checked before any data
        array = map_npy(path)
    except NpyError as exc:
        if exc.archive:
            raise MNISTError(f"{path}: is an .npz archive (numpy.savez), not a .npy file; save "
                             "each of its arrays with numpy.save") from None
        raise MNISTError(f"{path}: not a NumPy array file of numbers ({exc}); save the array "
                         "with numpy.save") from None
    dtype, nbytes = array.dtype, array.nbytes
    data = np.array(array) if dtype.kind in "biuf" and nbytes <= max_bytes else None
    del array                       # unmapped: an error below holds no map of the file open
    if dtype.kind not in "biuf":
        names = ("; for labels given as names, save their class numbers, "
                 "numpy.save(path, numpy.unique(y, return_inverse=True)[1])"
                 if dtype.kind in "US" else "")
        raise MNISTError(f"{path}: holds {dtype}, not numbers; save numbers (uint8 pixels, "
                         f"integer labels) with numpy.save{names}")
    if data is None:
        raise MNISTError(f"{path}: holds {nbytes:,} bytes of data, more than the "
                         f"{max_bytes:,} minigan reads from a data file")
    return data                     # in memory, the file closed


def _not_idx(path):
    """What to do with ``path``, a file of a data set that is not IDX at all (neither IDX's
    nor gzip's first bytes, or a gzipped ``.npy``), or None for one that is (its fault is
    inside)."""
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError:
        return None
    if head[:2] == b"\x1f\x8b":                    # gzipped: IDX inside, or a .npy
        try:
            with gzip.open(path, "rb") as f:
                inner = f.read(6)
        except (OSError, EOFError, zlib.error):
            return None
        if inner != b"\x93NUMPY":
            return None
        plain = path.name[:-len(".gz")] if path.name.lower().endswith(".gz") else path.name
        return (f"it is a gzipped NumPy .npy file, which minigan reads un-gzipped: save the "
                f"array with numpy.save alone, named {Path(plain).stem}.npy")
    if head[:2] == b"\0\0" and len(head) >= 3 and head[2] in IDX_DTYPES:
        return None                                # IDX's magic: its fault is inside
    if head == b"\x93NUMPY":
        return (f"it is a NumPy .npy file, which minigan reads by its name: name it "
                f"{path.name}.npy")
    how = ("minigan reads a data set's files as NumPy .npy files (numpy.save(\"images.npy\", "
           "x)) or IDX files (minigan.data.write_idx)")
    if head[:4] == b"PK\x03\x04":
        return f"{how}: save each array of an .npz (numpy.savez) with numpy.save"
    return how


def own_files(images, labels=None, split="train"):
    """The ``files`` setting and the data folder of a data set of one's own, from its files.

    What :func:`load_mnist` (``files=``, ``data_dir=``) and a run's settings take, with each
    file's md5 computed here: ``minigan train --images FILE [--labels FILE]`` and code alike.

    Parameters
    ----------
    images : str or os.PathLike
        The images' file (uint8, ``N x H x W``): IDX, gzipped or not, or a ``.npy``
        (:func:`read_data_file`).
    labels : str or os.PathLike, optional
        The labels' file (``N`` integers), IDX or ``.npy``, in the same folder; none for a
        GAN that does not read labels (not conditional).
    split : {"train", "test"}
        The split the files are given as.

    Returns
    -------
    files : dict
        ``{split: {"images": [name, md5], "labels": [name, md5]}}`` (no ``"labels"``
        without them).
    data_dir : pathlib.Path
        The folder that holds them.

    Raises
    ------
    ValueError
        For an unknown split, a file name :func:`load_mnist` does not read (a name of
        letters, digits, ``.``, ``-`` and ``_``) or labels in another folder than the images.
    MNISTError
        For a file that is missing or not a file.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    paths = {"images": images} if labels is None else {"images": images, "labels": labels}
    paths = {kind: user_path(path) for kind, path in paths.items()}
    for kind, path in paths.items():
        if not path.is_file():
            raise MNISTError(f"{path}: {'no such file' if not path.exists() else 'not a file'}; "
                             f"give the {kind} file, an IDX file (minigan.data.write_idx writes "
                             "one) or a .npy (numpy.save)")
        if not valid_file_name(path.name):
            raise ValueError(f"{path}: minigan reads data files whose names are letters, "
                             "digits, '.', '-' and '_', starting with a letter or digit; "
                             "rename the file")
    folder = paths["images"].parent
    if labels is not None and paths["labels"].parent.resolve() != folder.resolve():
        raise ValueError(f"the labels file {paths['labels']} is not in the images' folder "
                         f"{folder}: a data set's files lie in one folder; put them side by side")
    return {split: {kind: [path.name, _md5(path)] for kind, path in paths.items()}}, folder


def _how_to_write(x, writer, said="x"):
    """How to write the array ``x`` of a data set's images as minigan reads them (uint8
    pixels 0 to 255, ``N x H x W``): ``": numpy.save(path, x[..., 0])"`` for images with a
    channel axis, the conversion its pixels' range asks for, or ``""`` where neither tells."""
    shape = x.shape                     # ``said``: the expression that gives x
    if x.ndim == 4 and 1 in (shape[1], shape[3]):                      # one grey channel
        said = "x[:, 0]" if shape[1] == 1 else "x[..., 0]"
    elif x.ndim == 4 and (shape[1] in (3, 4) or shape[3] in (3, 4)):   # colour: made grey
        first = shape[1] in (3, 4) and shape[3] not in (3, 4)   # channels first
        said, grey_x = (("x[:, :3].mean(1)", x[:, :3].mean(1)) if first else
                        ("x[..., :3].mean(-1)", x[..., :3].mean(-1)))   # RGBA: not its alpha
        grey = "; minigan's models draw grey images, one channel: average the colour channels"
        if x.dtype == np.uint8:
            return f"{grey}, {writer}(path, numpy.round({said}).astype(numpy.uint8))"
        return grey + _how_to_write(grey_x, writer, said)     # its pixels' range, as grey ones
    elif x.ndim == 2 and shape[1] > 1 and math.isqrt(shape[1]) ** 2 == shape[1]:
        side = math.isqrt(shape[1])                                     # flat rows
        said = f"x.reshape(-1, {side}, {side})"
    elif x.ndim != 3:
        return ""
    if x.dtype != np.uint8 and x.size:
        lo, hi = float(x.min()), float(x.max())
        if x.dtype.kind == "b" or x.dtype.kind in "iu" and 0 <= lo and hi <= 1:   # 0/1 masks
            said = f"({said} * 255).astype(numpy.uint8)"
        elif not (math.isfinite(lo) and math.isfinite(hi)):
            return "; these pixels hold NaN or infinity: give each pixel a value 0 to 255"
        elif x.dtype.kind in "iu" and 0 <= lo and hi <= 255:
            said = f"{said}.astype(numpy.uint8)"
        elif x.dtype.kind == "f" and 0 <= lo and hi <= 1:
            said = f"numpy.round({said} * 255).astype(numpy.uint8)"
        elif x.dtype.kind == "f" and -1 <= lo and hi <= 1:
            said = f"numpy.round(({said} + 1) * 127.5).astype(numpy.uint8)"
        elif x.dtype.kind == "f" and 0 <= lo and hi <= 255:
            said = f"numpy.round({said}).astype(numpy.uint8)"
        elif x.dtype == np.uint16:                       # 16-bit pixels: 65535 / 257 = 255
            said = f"({said} // 257).astype(numpy.uint8)"
        else:
            if hi == lo:                                 # one value: no range to map
                return f"; every pixel is {lo:g}: map them to 0 to 255 first"
            shifted = f"{said} + {-lo:g}" if lo < 0 else f"{said} - {lo:g}" if lo else said
            return (f"; these pixels lie in [{lo:g}, {hi:g}]: map them to 0 to 255 first, "
                    f"as their scale says (from their range: numpy.round(({shifted}) / "
                    f"{hi - lo:g} * 255).astype(numpy.uint8))")
    return f": {writer}(path, {said})"


def _how_to_write_labels(y, writer):
    """How to write the array ``y`` of a data set's labels as minigan reads them (one
    integer class an image): ``"; one class an image, ...: numpy.save(path, y.argmax(1))"``
    for one-hot rows, or the words alone where the array does not tell."""
    said = "; write one whole-number class an image, N integers"
    if y.ndim == 2 and y.shape[1] >= 1:
        y, how = (y[:, 0], "y[:, 0]") if y.shape[1] == 1 else (y.argmax(1), "y.argmax(1)")
    elif y.ndim == 1:
        how = "y"
    else:
        return said
    if y.dtype.kind == "b" or y.dtype.kind == "f" and y.size and np.isfinite(y).all() \
            and (y == np.round(y)).all():
        how = f"{how}.astype(numpy.int64)"
    elif y.dtype.kind not in "iu":
        return said
    return f"{said}: {writer}(path, {how})" + (" (one-hot rows)" if "argmax" in how else "")


def _kinds(entry, real):
    """The files of a split's ``entry``: images and labels, or the images alone for a data
    set of one's own that gives no labels (a GAN without labels never reads them)."""
    if not real and isinstance(entry, dict) and "labels" not in entry:
        return ("images",)
    return ("images", "labels")


def splits_in(data_dir, files=None):
    """The splits whose images and labels files are both in ``data_dir`` (gzipped or
    plain; the images alone for ``files`` without labels), without reading them: what a
    folder offers, for the messages that say so.

    Parameters
    ----------
    data_dir : str or os.PathLike
    files : dict, optional
        As for :func:`load_mnist` (default :data:`MNIST_FILES`).

    Returns
    -------
    list of str, in the order of ``files``
    """
    folder = user_path(data_dir)
    found = []
    for split, entry in (MNIST_FILES if files is None else files).items():
        names = [entry[kind][0] if isinstance(entry, dict) and kind in entry else None
                 for kind in _kinds(entry, files is None)]
        if all(valid_file_name(name) and any(copy is not None and copy.is_file()
                                             for copy in _copies(folder, name))
               for name in names):
            found.append(split)
    return found


def holds_mnist(data_dir, split):
    """Whether ``data_dir`` holds MNIST's own ``split``: both its files gzipped, as
    downloaded, with MNIST's md5s (read to tell). A folder of one's own data may hold files
    of MNIST's names (Fashion-MNIST's are so named, a plain copy is not checked): what
    :func:`splits_in` finds by name is not MNIST until this says so."""
    folder = user_path(data_dir)
    return all((folder / name).is_file() and _md5(folder / name) == md5
               for name, md5 in MNIST_FILES[split].values())


def load_mnist(
    split="train",
    data_dir=None,
    scale="tanh",
    download=True,
    mirrors=None,
    files=None,
    progress=True,
    classes=None,
    image_size=None,
):
    """Load an MNIST split as flat float32 images and int64 labels.

    Parameters
    ----------
    split : {"train", "test"}
        ``"train"`` has 60,000 digits, ``"test"`` 10,000.
    data_dir : str or os.PathLike, optional
        Folder holding (or to receive) the files; default
        :func:`~minigan.data.default_data_dir`.
    scale : {"tanh", "sigmoid", None}
        ``"tanh"``: pixels mapped to [-1, 1] as ``x / 127.5 - 1`` (for a
        generator ending in tanh); ``"sigmoid"``: to [0, 1] as ``x / 255``;
        ``None``: the raw uint8 pixels.
    download : bool
        Download missing files. With ``False`` nothing touches the network,
        and a missing file raises :class:`MNISTDownloadError`.
    mirrors : sequence of str, optional
        Base URLs to download from, in order (default :data:`~minigan.data.MIRRORS`).
    files : dict, optional
        Replaces :data:`~minigan.data.MNIST_FILES` (same layout: split -> ``"images"`` /
        ``"labels"`` -> ``(name, md5)``), e.g. for a small data set of your
        own, IDX files or NumPy ``.npy`` files (:func:`read_data_file`). Images may then
        have any height and width, and a split may leave out its
        ``"labels"`` (for a GAN that does not read them; ``labels`` is then None). Such files
        are never downloaded unless ``mirrors`` are given (MNIST's mirrors do not hold
        them): they must be in ``data_dir``, each with its md5.
    progress : bool
        Show a download progress bar when stderr is a terminal.
    classes : int, optional
        The labels must lie in 0 .. classes - 1 (a conditional GAN's one-hot labels).
        MNIST's own files are held to the ten digits; a data set of one's own
        (``files``) is checked only when ``classes`` is given.
    image_size : (int, int), optional
        The height and width the images must have (a model's): others raise
        :class:`ImageSizeError`, where the flat rows returned would hide them (14 x 56
        images have the pixels of 28 x 28 ones).

    Returns
    -------
    images : numpy.ndarray, shape (N, H * W)
        float32 (uint8 when ``scale=None``); ``H = W = 28`` for MNIST.
    labels : numpy.ndarray, shape (N,), or None
        int64 classes: 0 to 9 for MNIST's files, 0 to ``classes - 1`` when given; None for
        ``files`` whose split gives no labels file.

    Raises
    ------
    ValueError
        For an unknown ``split`` or ``scale``, a malformed ``files``, or ``classes`` given
        for ``files`` without labels.
    MNISTDownloadError
        If a file is missing and cannot (or may not) be downloaded.
    MNISTError
        If ``data_dir`` is not a folder or cannot be created, a gzipped file
        has the wrong md5 with ``download=False``, or the files do not hold
        a consistent image set (counts, shapes, dtypes), hold no image, or a label
        outside the classes (the message names the file and the first such label).
    ImageSizeError
        If the images are not of ``image_size``.
    IDXError
        If a file is not valid IDX.

    Notes
    -----
    The published md5 checksums are those of the gzipped files. When only
    an un-gzipped copy (the name without ``.gz``) is present, it is used
    without an md5 check: the IDX parser still checks its header and
    length, and the shapes are checked here.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if classes is not None and (isinstance(classes, bool) or not isinstance(classes, numbers.Integral)
                                or classes < 1):
        raise ValueError(f"classes must be None or a whole number >= 1 (the labels' count), "
                         f"got {classes!r}")
    real = files is None
    files = MNIST_FILES if real else files
    if split not in files:
        raise ValueError(f"files has no entry for split {split!r} (it has {sorted(files)})")
    entry = files[split]
    kinds = _kinds(entry, real)
    if "labels" not in kinds and classes is not None:
        raise ValueError(
            f"files[{split!r}] has no 'labels' entry, but classes={classes} asks for labels "
            f"0..{classes - 1} (a conditional GAN's): give the labels file as "
            f"files[{split!r}]['labels'] = [name, md5], or train without labels")
    for kind in kinds:
        name = entry[kind][0] if isinstance(entry, dict) and kind in entry else None
        if not valid_file_name(name):
            raise ValueError(f"files[{split!r}][{kind!r}] should name a file of the data folder "
                             f"(letters, digits, '.', '-', '_'; no folder), got {str(name)[:80]!r}")
        pair = entry[kind]
        md5 = pair[1] if isinstance(pair, (list, tuple)) and len(pair) == 2 else None
        if not valid_md5(md5):
            raise ValueError(f"files[{split!r}][{kind!r}] should be [name, md5] with the file's "
                             f"md5 in 32 hex digits, got {str(pair)[:80]!r}")
    data_dir = default_data_dir() if data_dir is None else user_path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise MNISTError(f"data folder {data_dir} exists but is not a directory")
    # MNIST's mirrors do not hold a data set of one's own: its files are looked for, not
    # downloaded (a wrong md5 would fetch the file's name from them), unless mirrors are given
    own = not real and mirrors is None
    download = download and not own
    mirrors = MIRRORS if mirrors is None else mirrors

    needed = [entry[kind][0] for kind in kinds]
    try:
        paths = {
            kind: _resolve(*entry[kind], data_dir, download, mirrors, progress, needed, own)
            for kind in kinds
        }
    except MNISTDownloadError as exc:     # the folder may hold another split: say so
        there = [other for other in splits_in(data_dir, None if real else files) if other != split]
        if not there:
            raise
        error = MNISTDownloadError(f"{exc} ({data_dir} holds the {there[0]} split, "
                                   f"split={there[0]!r})")
        error.other_split, error.reason, error.cause = there[0], str(exc), exc.cause
        raise error from None
    # real MNIST: no file may announce more than its split holds (60,000 digits of 28 x 28)
    bound = {"images": 60000 * 28 * 28, "labels": 60000} if real else {}
    read = read_idx if real else read_data_file
    images = read(paths["images"], bound.get("images", MAX_IDX_BYTES))
    labels = read(paths["labels"], bound.get("labels", MAX_IDX_BYTES)) \
        if "labels" in paths else None

    what = f"MNIST {split}" if real else f"{split} set"
    if images.ndim != 3 or images.dtype != np.uint8:
        writer = _writer_of(paths["images"])
        fix = "" if real else (
            "; write them as uint8 pixels 0 to 255, one image a row of the first axis (minigan "
            f"scales them for the model){_how_to_write(images, writer)}")
        raise MNISTError(
            f"{paths['images']}: expected uint8 images of shape N x H x W, got "
            f"{images.dtype} of shape {images.shape}{fix}"
        )
    if real and images.shape[1:] != (28, 28):
        raise MNISTError(
            f"{paths['images']}: {what} images must be 28 x 28, got shape {images.shape}"
        )
    if image_size is not None and images.shape[1:] != tuple(image_size):
        h, w = images.shape[1:]
        error = ImageSizeError(
            f"{paths['images']}: the images are {h} x {w}, not the {image_size[0]} x "
            f"{image_size[1]} asked for (image_size); crop or pad them to that size"
        )
        error.size = (h, w)
        raise error
    if labels is not None and (labels.ndim != 1 or labels.dtype.kind not in "iu"):
        writer = _writer_of(paths["labels"])
        raise MNISTError(
            f"{paths['labels']}: expected integer labels of shape (N,), got "
            f"{labels.dtype} of shape {labels.shape}"
            + ("" if real else _how_to_write_labels(labels, writer))
        )
    if labels is not None and len(images) != len(labels):
        raise MNISTError(
            f"{what}: {len(images)} images ({paths['images'].name}) but {len(labels)} labels "
            f"({paths['labels'].name}); the counts must agree"
        )
    if len(images) == 0:
        raise MNISTError(f"{paths['images']}: the data set is empty (the file holds 0 "
                         f"images); give a data folder whose {split} files hold images")
    classes = CLASSES if real and classes is None else classes
    outside = np.flatnonzero((labels < 0) | (labels >= classes)) if classes and labels is not None \
        else ()
    if len(outside):             # a conditional GAN's one-hot row of such a label is all zeros
        i = int(outside[0])
        distinct = len(np.unique(labels))
        remap = ("" if real else
                 f"; with {distinct} classes of other numbers, number them 0 to {distinct - 1}, "
                 "numpy.unique(y, return_inverse=True)[1]" if distinct <= classes else
                 f"; the data has {distinct} classes, more than the {classes} a conditional "
                 "run draws: train it without --conditional, or on " + f"{classes} of them")
        raise MNISTError(
            f"{paths['labels']}: labels must be classes 0..{classes - 1}, found "
            f"{labels[i]} (label {i} of {len(labels)}; {len(outside)} outside in all){remap}"
        )

    if not real and int(images.max()) == 0:     # nothing to learn but black
        warnings.warn(f"{paths['images']}: every pixel is 0: the images are all black",
                      stacklevel=2)
    elif not real and int(images.max()) == 1:   # 0/1 masks would train as black images
        warnings.warn(f"{paths['images']}: every pixel is 0 or 1 of 0 to 255, so the images "
                      "are black; for masks of 0 and 1, save x * 255", stacklevel=2)
    images = images.reshape(len(images), images.shape[1] * images.shape[2])
    if scale == "tanh":
        images = images.astype(np.float32)
        images /= 127.5
        images -= 1.0
    elif scale == "sigmoid":
        images = images.astype(np.float32)
        images /= 255.0
    return images, None if labels is None else labels.astype(np.int64)
