"""Tests for minigan.data: the IDX parser and the MNIST downloader/loader.

Downloads are tested against a local HTTP server on 127.0.0.1 serving a tiny
synthetic IDX set; nothing here touches the internet.
"""

import functools
import gzip
import hashlib
import http.server
import os
import re
import shutil
import socket
import stat
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import minigan.data.mnist as mnist_module
from minigan.data import (
    MIRRORS,
    MNIST_FILES,
    DataError,
    IDXError,
    MNISTDownloadError,
    MNISTError,
    default_data_dir,
    fetch,
    load_mnist,
    read_idx,
    splits_in,
    write_idx,
)

IMAGES = "t10k-images-idx3-ubyte.gz"
LABELS = "t10k-labels-idx1-ubyte.gz"


def md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------- IDX


DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (2, 1, 3, 2), (0, 4)])
def test_idx_round_trip(tmp_path, dtype, suffix, shape):
    rng = np.random.default_rng(0)
    if np.dtype(dtype).kind == "f":
        x = rng.standard_normal(shape).astype(dtype) * 1e3
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    path = tmp_path / f"a-idx{suffix}"
    write_idx(path, x)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    y = read_idx(path)
    assert y.dtype == np.dtype(dtype) and y.dtype.isnative
    assert y.shape == shape
    np.testing.assert_array_equal(y, x)
    y[...] = 0  # writable


def test_idx_layout_is_big_endian_c_order(tmp_path):
    path = tmp_path / "x"
    write_idx(path, np.array([[1, 2, 3], [4, 5, 258]], dtype=">i2").astype("<i2"))
    expected = bytes([0, 0, 0x0B, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 1, 2])
    assert path.read_bytes() == expected


def test_idx_gzip_detected_by_magic_not_name(tmp_path):
    x = np.arange(6, dtype=np.uint8).reshape(2, 3)
    write_idx(tmp_path / "a.gz", x)
    (tmp_path / "a.gz").rename(tmp_path / "no-extension")
    np.testing.assert_array_equal(read_idx(tmp_path / "no-extension"), x)


def test_write_idx_is_deterministic(tmp_path):
    x = np.arange(50, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", x)
    write_idx(tmp_path / "b.gz", x)
    assert md5(tmp_path / "a.gz") == md5(tmp_path / "b.gz")


@pytest.mark.parametrize(
    "x, match",
    [
        (np.zeros(3, dtype=np.float16), "cannot write dtype float16"),
        (np.zeros(3, dtype=np.int64), r"cannot write dtype int64 .*; labels or pixels from 0 "
                                      r"to 255 fit uint8: array\.astype\(numpy\.uint8\)$"),
        (np.full(3, 300), r"cannot write dtype int64 as IDX, expected one of [^;]*$"),
        (np.float32(1.0), "0-D array"),
        (np.zeros((1,) * 5, dtype=np.uint8), "5-D array"),
    ],
)
def test_write_idx_rejects(tmp_path, x, match):
    with pytest.raises(IDXError, match=match):
        write_idx(tmp_path / "bad", x)


def _raw_idx(dims=(10, 28, 28), code=0x08):
    return bytes([0, 0, code, len(dims)]) + np.asarray(dims, dtype=">u4").tobytes()


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    "content, match",
    [
        (_raw_idx() + bytes(1234), r"truncated IDX file: header says 10x28x28 uint8 "
         r"\(7840 bytes\) but only 1234 bytes follow; delete it and download it again "
         r"\(MNIST's\), or write it again"),
        (_raw_idx((2, 2)) + bytes(5), r"trailing data .* 2x2 uint8 \(4 bytes\) but 5 bytes "
         r"follow \(1 extra\)"),
        (_raw_idx((3,), 0x0C) + bytes(11), r"header says 3 int32 \(12 bytes\) but only 11"),
        (_raw_idx()[:9], "truncated IDX file: the header needs 16 bytes"),
        (b"\x01\x02\x08\x01" + bytes(8), "bad magic number, first two bytes are 01 02, "
         "expected 00 00"),
        (b"\x89PNG\r\n\x1a\n" + bytes(40), "not an IDX file.*PNG image"),
        (b"<!DOCTYPE html><html><body>404 Not Found</body></html>", "not an IDX file.*HTML"),
        (b"hello, this is a text file\n", "not an IDX file.*text"),
        (b"", "not an IDX file: 0 bytes"),
        (b"\x00\x00\x0a\x01" + bytes(8), "unknown IDX dtype code 0x0A.*0x08 uint8"),
        (b"\x00\x00\x08\x00", "0 dimensions, expected 1 to 4"),
        (b"\x00\x00\x08\x05" + bytes(20), "5 dimensions, expected 1 to 4"),
    ],
)
def test_read_idx_rejects_bad_files(tmp_path, content, match, compress):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(content) if compress else content)
    with pytest.raises(IDXError, match=match) as info:
        read_idx(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": ") and "\n" not in message
    assert isinstance(info.value, ValueError) and isinstance(info.value, DataError)


def test_read_idx_corrupt_gzip(tmp_path):
    good = gzip.compress(_raw_idx((4,)) + bytes(4))
    cases = {
        "cut": good[: len(good) // 2],
        "crc": good[:-8] + bytes(b ^ 0xFF for b in good[-8:-4]) + good[-4:],
        "garbage": good[:10] + b"\xff" * (len(good) - 10),
    }
    for label, content in cases.items():
        path = tmp_path / label
        path.write_bytes(content)
        with pytest.raises(IDXError, match=f"{label}: corrupt gzip file"):
            read_idx(path)


# ------------------------------------------------------------------ HTTP fixtures


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _closed_port_url():
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 20-image 28x28 set served over HTTP.

    ``good/`` has the right files, ``bad/`` has other bytes under the same names,
    ``missing/`` does not exist (404).
    """
    root = tmp_path_factory.mktemp("served")
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    images[0, 0, :2] = (0, 255)
    labels = (np.arange(20) % 10).astype(np.uint8)
    (root / "good").mkdir()
    (root / "bad").mkdir()
    write_idx(root / "good" / IMAGES, images)
    write_idx(root / "good" / LABELS, labels)
    write_idx(root / "bad" / IMAGES, images[:19])
    write_idx(root / "bad" / LABELS, labels[:19])
    files = {
        "test": {
            "images": (IMAGES, md5(root / "good" / IMAGES)),
            "labels": (LABELS, md5(root / "good" / LABELS)),
        }
    }
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    yield {
        "images": images,
        "labels": labels,
        "files": files,
        "root": root,
        "good": base + "good/",
        "bad": base + "bad/",
        "missing": base + "missing/",
    }
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything tries to open a URL."""

    def fail(*args, **kwargs):
        raise AssertionError("the network was used")

    monkeypatch.setattr(urllib.request, "urlopen", fail)


def _listing(folder):
    return sorted(p.name for p in Path(folder).iterdir())


# -------------------------------------------------------------- download + load


def test_load_mnist_downloads_verifies_and_parses(tiny, tmp_path):
    data_dir = tmp_path / "cache" / "mnist"
    x, y = load_mnist("test", data_dir=data_dir, mirrors=[tiny["good"]], files=tiny["files"],
                      progress=False)
    assert x.shape == (20, 784) and x.dtype == np.float32
    assert y.shape == (20,) and y.dtype == np.int64
    np.testing.assert_allclose(x, tiny["images"].reshape(20, 784) / 127.5 - 1, atol=1e-6)
    assert x.min() == -1.0 and x.max() == 1.0
    np.testing.assert_array_equal(y, tiny["labels"])
    assert _listing(data_dir) == sorted([IMAGES, LABELS])
    for kind in ("images", "labels"):
        name, digest = tiny["files"]["test"][kind]
        assert md5(data_dir / name) == digest


def test_cached_files_are_used_without_network(tiny, tmp_path, no_network):
    for name in (IMAGES, LABELS):
        (tmp_path / name).write_bytes((tiny["root"] / "good" / name).read_bytes())
    x, y = load_mnist("test", data_dir=tmp_path, files=tiny["files"], download=True)
    np.testing.assert_array_equal(y, tiny["labels"])
    assert x.shape == (20, 784)


@pytest.mark.parametrize(
    "scale, expected",
    [("sigmoid", lambda p: p / 255.0), (None, lambda p: p), ("tanh", lambda p: p / 127.5 - 1)],
)
def test_scales(tiny, tmp_path, scale, expected):
    x, _ = load_mnist("test", data_dir=tmp_path, mirrors=[tiny["good"]], files=tiny["files"],
                      scale=scale, progress=False)
    pixels = tiny["images"].reshape(20, -1)
    assert x.dtype == (np.uint8 if scale is None else np.float32)
    np.testing.assert_allclose(x, expected(pixels.astype(np.float64)), atol=1e-6)


def test_dead_mirrors_are_skipped(tiny, tmp_path):
    mirrors = [_closed_port_url(), tiny["missing"], tiny["good"].rstrip("/")]
    _, y = load_mnist("test", data_dir=tmp_path, mirrors=mirrors, files=tiny["files"],
                      progress=False)
    np.testing.assert_array_equal(y, tiny["labels"])
    assert _listing(tmp_path) == sorted([IMAGES, LABELS])


def test_corrupt_cached_file_is_fetched_again_and_kept_aside(tiny, tmp_path):
    """The file in the way is kept beside the new one: a file of one's own that bears
    MNIST's name (Fashion-MNIST's files do) was written over by MNIST's."""
    (tmp_path / IMAGES).write_bytes(b"not the right bytes")
    name, digest = tiny["files"]["test"]["images"]
    aside = f"{IMAGES}.{hashlib.md5(b'not the right bytes').hexdigest()[:8]}.damaged"
    with pytest.warns(UserWarning, match=rf"does not match the expected .* \(the file is kept "
                                         rf"as {re.escape(aside)} once the new one is in place"):
        path = fetch(name, digest, tmp_path, mirrors=[tiny["good"]], progress=False)
    assert path == tmp_path / IMAGES
    assert path.read_bytes() == (tiny["root"] / "good" / IMAGES).read_bytes()
    assert _listing(tmp_path) == sorted([IMAGES, aside])
    assert (tmp_path / aside).read_bytes() == b"not the right bytes"


def test_wrong_bytes_from_server_leave_nothing_behind(tiny, tmp_path):
    name, digest = tiny["files"]["test"]["images"]
    with pytest.raises(MNISTDownloadError, match="md5 mismatch") as info:
        fetch(name, digest, tmp_path, mirrors=[tiny["bad"]], progress=False)
    assert tiny["bad"] + IMAGES in str(info.value)
    assert _listing(tmp_path) == []


def test_failed_download_does_not_damage_existing_files(tiny, tmp_path):
    good_labels = (tiny["root"] / "good" / LABELS).read_bytes()
    (tmp_path / LABELS).write_bytes(good_labels)
    (tmp_path / IMAGES).write_bytes(b"damaged")
    with pytest.warns(UserWarning), pytest.raises(MNISTDownloadError):
        load_mnist("test", data_dir=tmp_path, mirrors=[tiny["bad"]], files=tiny["files"],
                   progress=False)
    assert (tmp_path / LABELS).read_bytes() == good_labels
    assert (tmp_path / IMAGES).read_bytes() == b"damaged"  # not replaced by unverified bytes
    assert _listing(tmp_path) == sorted([IMAGES, LABELS])


def test_interrupted_download_leaves_nothing_behind(tiny, tmp_path, monkeypatch):
    def interrupted(url, tmp, name, md5, progress):
        tmp.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(mnist_module, "_download", interrupted)
    name, digest = tiny["files"]["test"]["images"]
    with pytest.raises(KeyboardInterrupt):
        fetch(name, digest, tmp_path, mirrors=[tiny["good"]], progress=False)
    assert _listing(tmp_path) == []


def test_downloaded_file_gets_the_usual_permissions(tiny, tmp_path):
    umask = os.umask(0o022)
    try:
        name, digest = tiny["files"]["test"]["labels"]
        path = fetch(name, digest, tmp_path, mirrors=[tiny["good"]], progress=False)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_offline_error_says_what_to_put_where(tiny, tmp_path):
    data_dir = tmp_path / "mnist"
    dead = _closed_port_url()
    with pytest.raises(MNISTDownloadError) as info:
        load_mnist("test", data_dir=data_dir, mirrors=[dead], files=tiny["files"],
                   progress=False)
    message = str(info.value)
    assert f"could not download {IMAGES} ({dead}{IMAGES}: " in message
    assert f"Put the MNIST files {IMAGES}, {LABELS} in {data_dir}" in message
    assert "MINIGAN_DATA" in message
    assert isinstance(info.value, DataError) and isinstance(info.value, RuntimeError)
    assert not data_dir.exists()          # the folder made for the download is gone again


def test_mirrors_that_fail_alike_are_said_once(tiny, tmp_path):
    """Offline, each of the three mirrors failed with the same name-resolution error, and the
    message spelled out all three (about 700 characters with its advice); mirrors that fail
    each their own way are each named."""
    dead = _closed_port_url()
    for mirrors, said in (([dead, dead.rstrip("/")],
                           r"\(each of its 2 mirrors: URLError: "),
                          ([dead, "nonsense://x/"], r"\(http://.*: URLError: .*; nonsense://x/")):
        with pytest.raises(MNISTDownloadError, match=rf"could not download {IMAGES} {said}"):
            load_mnist("test", data_dir=tmp_path / "mnist", mirrors=mirrors,
                       files=tiny["files"], progress=False)


def test_failed_download_removes_only_the_folders_it_made(tiny, tmp_path):
    (tmp_path / "kept").mkdir()
    data_dir = tmp_path / "kept" / "made" / "mnist"
    with pytest.raises(MNISTDownloadError):
        load_mnist("test", data_dir=data_dir, mirrors=[_closed_port_url()],
                   files=tiny["files"], progress=False)
    assert _listing(tmp_path) == ["kept"] and _listing(tmp_path / "kept") == []
    # a folder that held something, or that was there before, stays
    x, _ = load_mnist("test", data_dir=data_dir, mirrors=[tiny["good"]],
                      files=tiny["files"], progress=False)
    assert _listing(data_dir) == sorted([IMAGES, LABELS])
    (data_dir / IMAGES).unlink()
    with pytest.raises(MNISTDownloadError):
        load_mnist("test", data_dir=data_dir, mirrors=[_closed_port_url()],
                   files=tiny["files"], progress=False)
    assert _listing(data_dir) == [LABELS]


def test_a_folder_another_download_took_away_is_made_again(tiny, tmp_path, monkeypatch):
    """Two processes download into one new folder: A makes it, B finds it there, then A's
    download fails and A takes the empty folder away before B writes in it. B makes it
    again and carries on; should B's download fail too, B takes away what it made."""
    ensure_dir = mnist_module._ensure_dir
    data_dir = tmp_path / "new" / "mnist"
    name, digest = tiny["files"]["test"]["images"]

    def race():
        made_by_a = ensure_dir(data_dir)

        def found_then_taken_away(folder):
            monkeypatch.setattr(mnist_module, "_ensure_dir", ensure_dir)
            found = ensure_dir(folder)                   # B's: nothing made
            mnist_module._remove_if_empty(made_by_a)     # A's download failed
            return found

        monkeypatch.setattr(mnist_module, "_ensure_dir", found_then_taken_away)

    race()
    path = fetch(name, digest, data_dir, mirrors=[tiny["good"]], progress=False)
    assert path == data_dir / name
    assert path.read_bytes() == (tiny["root"] / "good" / name).read_bytes()
    assert _listing(data_dir) == [name]

    path.unlink()
    data_dir.rmdir()
    (tmp_path / "new").rmdir()
    race()
    with pytest.raises(MNISTDownloadError, match="could not download"):
        fetch(name, digest, data_dir, mirrors=[_closed_port_url()], progress=False)
    assert _listing(tmp_path) == []


def test_no_download_when_disabled(tmp_path, no_network):
    with pytest.raises(MNISTDownloadError, match="downloading is off") as info:
        load_mnist("test", data_dir=tmp_path / "empty", download=False)
    message = str(info.value)
    assert f"Put the MNIST files {IMAGES}, {LABELS} in {tmp_path / 'empty'}" in message
    assert not (tmp_path / "empty").exists()


def test_wrong_md5_without_download_is_an_error(tiny, tmp_path, no_network):
    (tmp_path / IMAGES).write_bytes(b"damaged")
    with pytest.raises(MNISTError, match="does not match the md5 .* that files gives for it"):
        load_mnist("test", data_dir=tmp_path, download=False, files=tiny["files"])


def test_plain_uncompressed_files_are_accepted(tmp_path, no_network):
    images = np.full((3, 28, 28), 255, dtype=np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([1, 2, 3], dtype=np.uint8))
    x, y = load_mnist("test", data_dir=tmp_path)  # real names and md5s: no md5 for plain
    assert x.shape == (3, 784) and np.all(x == 1.0)
    np.testing.assert_array_equal(y, [1, 2, 3])


def test_splits_in_names_the_splits_whose_two_files_are_there(tmp_path):
    """A split counts when its images and its labels are both there, gzipped or plain."""
    assert splits_in(tmp_path / "missing") == [] and splits_in(tmp_path) == []
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28), dtype=np.uint8))
    assert splits_in(tmp_path) == []                        # the labels are missing
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(2, dtype=np.uint8))
    assert splits_in(tmp_path) == ["test"]
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"")
    assert splits_in(tmp_path) == ["train", "test"]
    own = {"mine": {"images": ("img", None), "labels": ("lab", None)}}
    assert splits_in(tmp_path, own) == []


def test_a_folder_of_the_other_split_says_so(tmp_path, no_network):
    """Asked for a split a folder does not hold, beside one it does: the message says which
    split is there and how to load it, and the error names it for a caller's own words."""
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(2, dtype=np.uint8))
    with pytest.raises(MNISTDownloadError) as info:
        load_mnist("train", data_dir=tmp_path, download=False)
    message = str(info.value)
    assert message.startswith("train-images-idx3-ubyte.gz is not in")
    assert message.endswith(f" ({tmp_path} holds the test split, split='test')")
    assert info.value.other_split == "test" and message.startswith(info.value.reason)
    with pytest.raises(MNISTDownloadError) as info:           # nothing else there: as it was
        load_mnist("train", data_dir=tmp_path / "empty", download=False)
    assert str(info.value).startswith("train-images-idx3-ubyte.gz is not in")


def test_no_download_names_the_command_line_option(tmp_path, no_network):
    with pytest.raises(MNISTDownloadError) as info:
        load_mnist("train", data_dir=tmp_path, download=False)
    message = str(info.value)
    assert "downloading is off (download=False, the command line's --no-download)" in message
    assert "point data_dir, the command line's --data-dir, or MINIGAN_DATA" in message


def test_real_mnist_shape_is_checked(tmp_path, no_network):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 8, 8), dtype=np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, dtype=np.uint8))
    with pytest.raises(MNISTError, match="must be 28 x 28"):
        load_mnist("train", data_dir=tmp_path, download=False)


def test_custom_files_accept_any_size(tmp_path):
    write_idx(tmp_path / "img", np.arange(2 * 5 * 3, dtype=np.uint8).reshape(2, 5, 3))
    write_idx(tmp_path / "lab", np.array([7, 8], dtype=np.uint8))
    files = {"train": {"images": ("img", md5(tmp_path / "img")),
                       "labels": ("lab", md5(tmp_path / "lab"))}}
    x, y = load_mnist(data_dir=tmp_path, files=files, scale=None, download=False)
    np.testing.assert_array_equal(x, np.arange(30).reshape(2, 15))
    np.testing.assert_array_equal(y, [7, 8])


def test_count_mismatch(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((3, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(2, dtype=np.uint8))
    with pytest.raises(MNISTError, match="3 images .* but 2 labels"):
        load_mnist("test", data_dir=tmp_path, download=False)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        load_mnist("validation", data_dir=tmp_path, download=False)
    with pytest.raises(ValueError, match="scale must be one of"):
        load_mnist("test", data_dir=tmp_path, scale="relu", download=False)
    for classes in (0, -1, 10.5, True):    # 0 and 10.5 checked nothing, -1 asked for "0..-2"
        with pytest.raises(ValueError, match=rf"^classes must be None or a whole number >= 1 "
                                             rf".*, got {classes!r}$"):
            load_mnist("test", data_dir=tmp_path, download=False, classes=classes)
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(DataError, match="exists but is not a directory"):
        load_mnist("test", data_dir=not_a_dir)
    with pytest.raises(MNISTError, match="cannot create data folder"):
        fetch(IMAGES, "0" * 32, not_a_dir / "sub", mirrors=[], progress=False)


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("MINIGAN_DATA", str(tmp_path / "m"))
    assert default_data_dir() == tmp_path / "m"
    monkeypatch.delenv("MINIGAN_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "minigan" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_data_dir() == Path.home() / ".cache" / "minigan" / "mnist"


def test_constants():
    assert MIRRORS[0].startswith("https://") and all(m.endswith("/") for m in MIRRORS)
    names = [name for split in MNIST_FILES.values() for name, _ in split.values()]
    assert len(set(names)) == 4 and all(name.endswith("-ubyte.gz") for name in names)
    assert all(len(digest) == 32 for split in MNIST_FILES.values() for _, digest in split.values())


# ------------------------------------------------------------------ real MNIST


def test_real_mnist_test_split(no_network, real_mnist):
    for name, digest in MNIST_FILES["test"].values():
        assert md5(real_mnist / name) == digest
    x, y = load_mnist("test", data_dir=real_mnist, download=False)
    assert x.shape == (10000, 784) and x.dtype == np.float32
    assert x.min() == -1.0 and x.max() == 1.0
    assert y.shape == (10000,) and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(10))


def test_a_damaged_cached_file_that_cannot_be_fetched_again_is_named(tiny, tmp_path):
    (tmp_path / IMAGES).write_bytes(b"damaged")
    with pytest.warns(UserWarning, match=f"{IMAGES} is damaged"), \
            pytest.raises(MNISTDownloadError) as info:
        load_mnist("test", data_dir=tmp_path, mirrors=[_closed_port_url()], files=tiny["files"],
                   progress=False)
    message = str(info.value)
    assert f"{tmp_path / IMAGES} is damaged: its md5" in message
    assert "could not be downloaded again" in message and "delete it, or replace it" in message
    assert "Put the MNIST files" not in message  # they are there, only damaged


def test_the_command_line_reports_a_damaged_file_in_one_line_each(tiny, tmp_path, monkeypatch,
                                                                  capsys):
    """No Python warning with its source line: `minigan: warning: ...`, then the error."""
    from minigan.app.cli import main

    (tmp_path / IMAGES).write_bytes(b"damaged")
    monkeypatch.setattr(mnist_module, "MIRRORS", (_closed_port_url(),))
    rc = main(["train", "--split", "test", "--data-dir", str(tmp_path), "--device", "cpu",
               "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("minigan: warning: ") and "is damaged" in lines[0]
    assert lines[1].startswith("minigan: error: ") and "delete it, or replace it" in lines[1]
    assert "Warning:" not in err and "warnings.warn" not in err
    assert not (tmp_path / "run").exists()


def test_files_without_labels_load_the_images_alone(tiny, tmp_path, no_network):
    """A data set of one's own may leave out its labels file (a GAN without labels never
    reads them): labels is None, the split counts as there with its images alone, and asking
    for classes of such files says the labels file is missing. MNIST's own files keep both."""
    shutil.copy(tiny["root"] / "good" / IMAGES, tmp_path / IMAGES)
    files = {"test": {"images": tiny["files"]["test"]["images"]}}
    x, y = load_mnist("test", data_dir=tmp_path, files=files, scale="sigmoid")
    assert y is None
    np.testing.assert_array_equal(x, tiny["images"].reshape(20, 784) / np.float32(255))
    assert splits_in(tmp_path, files) == ["test"] and splits_in(tmp_path) == []
    with pytest.raises(ValueError, match=r"files\['test'\] has no 'labels' entry, but "
                                         r"classes=10 asks for labels 0\.\.9"):
        load_mnist("test", data_dir=tmp_path, files=files, classes=10)


def test_a_users_path_is_expanded_or_said_to_name_no_home(tmp_path, monkeypatch):
    from pathlib import Path

    from minigan.data import DataError
    from minigan.data.paths import user_path

    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_path("~/runs/a") == tmp_path / "runs" / "a"
    assert user_path("runs/~a") == Path("runs/~a")               # only a leading ~ is a home
    assert user_path("./~minigan-no-such-user-7f3a") == Path("~minigan-no-such-user-7f3a")
    with pytest.raises(DataError, match="~minigan-no-such-user-7f3a names a home folder, and "
                       "there is no user 'minigan-no-such-user-7f3a' on this machine"):
        user_path("~minigan-no-such-user-7f3a/runs")

    def no_home(self):
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "expanduser", no_home)         # HOME unset, no password entry
    with pytest.raises(DataError, match=r"~/runs: ~ names a home folder, and there is no home "
                       r"folder known \(\$HOME is not set\)"):
        user_path("~/runs")


def test_a_missing_training_split_says_the_test_split_alone_may_be_trained_on(tmp_path):
    """Offline, `minigan train` said only where to put the training files: a user with the
    test split at hand was not told that --split test trains on it."""
    with pytest.raises(MNISTDownloadError) as info:
        load_mnist("train", data_dir=tmp_path / "empty", download=False, progress=False)
    assert ("with the test split's files alone at hand, train on them: split \"test\" (the "
            "command line's --split test)") in str(info.value)
    with pytest.raises(MNISTDownloadError) as info:
        load_mnist("test", data_dir=tmp_path / "empty", download=False, progress=False)
    assert "--split test" not in str(info.value)
