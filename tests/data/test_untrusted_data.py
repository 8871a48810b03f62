"""Data files are untrusted: an IDX file is read header first, bounded by what it may hold,
and decompressed only as far as it announces; names of data files never leave the folder."""

import gzip
import io
import os
import tracemalloc

import numpy as np
import pytest

from minigan.data import IDXError, MNISTError, idx, load_mnist, read_idx, write_idx


def _peak(f):
    tracemalloc.start()
    try:
        f()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_gzip_stream_without_the_gz_name_is_not_decompressed_whole(tmp_path):
    """9 MB of compressed zeros (about 9 GB decompressed) under a plain IDX name: refused at
    its header, with a few MB at most."""
    path = tmp_path / "t10k-images-idx3-ubyte"
    with gzip.open(path, "wb", compresslevel=1) as f:
        zeros = bytes(1 << 24)
        for _ in range(40):                      # 640 MB of zeros, about 0.6 MB on disk
            f.write(zeros)
    def refused():
        with pytest.raises(IDXError, match="unknown IDX dtype code 0x00"):
            read_idx(path)

    assert _peak(refused) < 8 << 20


def test_an_announced_size_beyond_the_bound_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.idx"
    path.write_bytes(b"\x00\x00\x08\x03" + (200000).to_bytes(4, "big") + (28).to_bytes(4, "big")
                     + (28).to_bytes(4, "big") + bytes(100))
    with pytest.raises(IDXError, match="more than the 47,040,000"):
        read_idx(path, max_bytes=60000 * 28 * 28)
    gz = tmp_path / "huge.idx.gz"
    gz.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + (1 << 31).to_bytes(4, "big")))
    with pytest.raises(IDXError, match="more than"):
        read_idx(gz, max_bytes=1 << 20)


def test_a_zero_size_array_and_a_cut_header_name_the_file(tmp_path):
    empty = tmp_path / "empty.idx"
    write_idx(empty, np.zeros((0, 3), np.uint8))
    assert read_idx(empty).shape == (0, 3)
    cut = tmp_path / "cut.idx"
    cut.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(IDXError, match=str(cut)):
        read_idx(cut)
    assert idx.MAX_BYTES >= 60000 * 28 * 28


@pytest.mark.parametrize("name", ["./../../x.gz", "../x.gz", "/tmp/x.gz", "sub/x.gz", ".hidden",
                                  "", None, 7])
def test_data_file_names_never_leave_the_folder(name, tmp_path):
    files = {"test": {"images": [name, None], "labels": ["labels.idx", None]}}
    with pytest.raises(ValueError, match=r"files\['test'\]\['images'\] should name a file"):
        load_mnist("test", data_dir=tmp_path / "data", files=files, download=True)
    assert not list(tmp_path.rglob("*"))           # nothing downloaded, nothing made


def _own_files(folder, images, labels):
    """A data set of one's own in ``folder``: its ``files`` setting, names and md5s."""
    import hashlib

    folder.mkdir(exist_ok=True)
    write_idx(folder / "img.idx", images)
    write_idx(folder / "lab.idx", labels)
    return {"train": {kind: (name, hashlib.md5((folder / name).read_bytes()).hexdigest())
                      for kind, name in (("images", "img.idx"), ("labels", "lab.idx"))}}


@pytest.mark.parametrize("bad", [200, -5, 10])
def test_labels_outside_the_classes_are_refused_where_labels_are_used(bad, tmp_path):
    """A conditional GAN's one-hot row of label 200 is all zeros: asked for its classes, the
    set is refused at load, naming the labels file and the first label outside them; an
    unconditional run on a data set of one's own does not read its labels, which may be
    any integers (26 letters, say)."""
    labels = np.arange(8, dtype=np.int32) % 10
    labels[5] = bad
    files = _own_files(tmp_path, np.full((8, 4, 4), 100, np.uint8), labels)
    with pytest.raises(MNISTError, match=rf"lab\.idx: labels must be classes 0\.\.9, "
                                         rf"found {bad} \(label 5 of 8"):
        load_mnist("train", data_dir=tmp_path, files=files, download=False, classes=10)
    _, read = load_mnist("train", data_dir=tmp_path, files=files, download=False)
    assert read[5] == bad


def test_an_empty_data_set_says_it_is_empty(tmp_path):
    files = _own_files(tmp_path, np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8))
    with pytest.raises(MNISTError, match=r"img\.idx: the data set is empty \(the file holds 0 "):
        load_mnist("train", data_dir=tmp_path, files=files, download=False)


def test_files_without_an_md5_are_refused_before_any_read(tmp_path):
    """An md5 of None would fail every check ('does not match the published None')."""
    files = _own_files(tmp_path, np.zeros((2, 4, 4), np.uint8), np.zeros(2, np.uint8))
    files["train"]["labels"] = ("lab.idx", None)
    with pytest.raises(ValueError, match=r"files\['train'\]\['labels'\] should be \[name, md5\]"):
        load_mnist("train", data_dir=tmp_path, files=files, download=False)


def test_a_conditional_run_refuses_labels_outside_its_classes_an_unconditional_one_trains(
        tmp_path):
    """The trainer asks for the classes only where it reads the labels: a conditional GAN."""
    from minigan.app.trainer import Trainer
    labels = np.arange(64, dtype=np.int32) % 12                     # 12 classes, not 10
    images = np.random.default_rng(0).integers(0, 256, (64, 28, 28)).astype(np.uint8)
    files = _own_files(tmp_path / "data", images, labels)
    common = {"files": files, "data_dir": str(tmp_path / "data"), "split": "train",
              "download": False, "device": "cpu", "quiet": True, "model": "vanilla",
              "batch_size": 32, "epochs": 1}
    with pytest.raises(MNISTError, match=r"lab\.idx: labels must be classes 0\.\.9, found 10"):
        Trainer({**common, "conditional": True, "out": str(tmp_path / "cond")})
    assert not (tmp_path / "cond").exists()
    Trainer({**common, "out": str(tmp_path / "plain")}).run()
    assert (tmp_path / "plain" / "checkpoint.npz").is_file()


def test_own_files_are_never_fetched_from_mnists_mirrors(tmp_path, monkeypatch):
    """A data set of one's own whose md5 does not match (the file was written again) is not
    looked for on MNIST's mirrors under its own name, and the error says which md5 to give;
    a missing one says to put it in the folder, not that downloading is off."""
    import urllib.request

    def no_network(*args, **kwargs):
        raise AssertionError("a data set of one's own was fetched from the network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    files = _own_files(tmp_path, np.zeros((2, 4, 4), np.uint8), np.zeros(2, np.uint8))
    good = files["train"]["images"][1]
    files["train"]["images"] = ("img.idx", "0" * 32)
    with pytest.raises(MNISTError, match=rf"img\.idx: md5 {good} does not match the md5 0{{32}} "
                                         rf"that files gives for it.*give {good} in files"):
        load_mnist("train", data_dir=tmp_path, files=files)
    files["train"]["images"] = ("gone.idx", good)
    with pytest.raises(MNISTError, match=r"gone\.idx is not in .*: put the files gone\.idx, "
                                         r"lab\.idx \(the data set's files"):
        load_mnist("train", data_dir=tmp_path, files=files)


@pytest.mark.parametrize("images", [np.zeros((2, 4, 4), np.float32), np.zeros((2, 16), np.uint8)])
def test_own_images_that_are_not_uint8_rows_say_how_to_write_them(images, tmp_path):
    """Pixels already scaled to [0, 1] or [-1, 1] in a float IDX file, or flat rows, are refused
    saying what minigan reads (uint8 pixels 0 to 255, N x H x W) and how to write it."""
    files = _own_files(tmp_path, images, np.zeros(2, np.uint8))
    with pytest.raises(MNISTError, match=r"img\.idx: expected uint8 images of shape N x H x W, "
                                         r"got .*; write them as uint8 pixels 0 to 255"):
        load_mnist("train", data_dir=tmp_path, files=files, download=False)


def test_images_of_another_size_than_asked_are_refused_naming_theirs(tmp_path):
    """Flat rows of 14 x 56 images are as long as those of 28 x 28 ones: image_size tells them
    apart, naming the file and the size found."""
    from minigan.data import ImageSizeError

    files = _own_files(tmp_path, np.full((2, 14, 56), 100, np.uint8), np.zeros(2, np.uint8))
    with pytest.raises(ImageSizeError, match=r"img\.idx: the images are 14 x 56, not the 28 x 28 "
                                             r"asked for") as caught:
        load_mnist("train", data_dir=tmp_path, files=files, download=False, image_size=(28, 28))
    assert caught.value.size == (14, 56)
    x, _ = load_mnist("train", data_dir=tmp_path, files=files, download=False, image_size=(14, 56))
    assert x.shape == (2, 784)


@pytest.mark.parametrize("images, how", [
    (np.full((2, 4, 4), 0.5), r"numpy\.save\(path, numpy\.round\(x \* 255\)\.astype\(numpy\.uint8\)\)"),
    (np.full((2, 4, 4), 200.0, np.float32), r"numpy\.save\(path, numpy\.round\(x\)\.astype\("),
    (np.full((2, 4, 4), -0.5), r"numpy\.round\(\(x \+ 1\) \* 127\.5\)\.astype\(numpy\.uint8\)"),
    (np.full((2, 16), 7, np.uint8), r"numpy\.save\(path, x\.reshape\(-1, 4, 4\)\)$"),
    (np.zeros((2, 4, 4, 1), np.uint8), r"numpy\.save\(path, x\[\.\.\., 0\]\)$"),
    (np.zeros((2, 1, 4, 4), np.uint8), r"numpy\.save\(path, x\[:, 0\]\)$"),
    (np.full((2, 4, 4), 255, np.int64), r"numpy\.save\(path, x\.astype\(numpy\.uint8\)\)$"),
    (np.ones((2, 4, 4), bool), r"numpy\.save\(path, \(x \* 255\)\.astype\(numpy\.uint8\)\)$"),
    (np.full((2, 16), 0.5), r"numpy\.round\(x\.reshape\(-1, 4, 4\) \* 255\)\.astype"),
    (np.full((2, 4, 4), -300, np.int16), r"every pixel is -300: map them to 0 to 255 first$"),
    (np.full((2, 4, 4), 65535, np.uint16), r"numpy\.save\(path, \(x // 257\)\.astype\("
                                           r"numpy\.uint8\)\)$"),
    (np.arange(-100, 3100, 100, dtype=np.int32).reshape(2, 4, 4),
     r"these pixels lie in \[-100, 3000\]: map them to 0 to 255 first, as their scale says "
     r"\(from their range: numpy\.round\(\(x \+ 100\) / 3100 \* 255\)\.astype\(numpy\.uint8\)\)$"),
    (np.full((2, 4, 4), np.nan), r"these pixels hold NaN or infinity"),
])
def test_own_images_not_as_minigan_reads_them_say_how_to_write_these(images, how, tmp_path):
    """The advice fits the array: flat rows, a channel axis and whole-number pixels 0 to 255
    (int64, as numpy makes them) are each told their conversion, and floats by their range;
    it said numpy.round(x * 255) "for pixels in [0, 1]" to every one of them (uint8 flat
    rows, pixels 0 to 255), and "one image a row" to flat rows, which are that already."""
    from minigan.data import own_files

    np.save(tmp_path / "img.npy", images)
    files, folder = own_files(tmp_path / "img.npy")
    with pytest.raises(MNISTError, match=r"img\.npy: expected uint8 images of shape N x H x W, "
                                         r"got .*; write them as uint8 pixels 0 to 255.*" + how):
        load_mnist("train", data_dir=folder, files=files)


@pytest.mark.parametrize("labels, how", [
    (np.eye(10, dtype=np.uint8)[np.arange(4) % 10], r": numpy\.save\(path, y\.argmax\(1\)\) "
                                                    r"\(one-hot rows\)$"),
    (np.arange(4)[:, None], r": numpy\.save\(path, y\[:, 0\]\)$"),
    (np.arange(4, dtype=np.float32), r": numpy\.save\(path, y\.astype\(numpy\.int64\)\)$"),
    (np.arange(4) > 1, r": numpy\.save\(path, y\.astype\(numpy\.int64\)\)$"),
    (np.arange(4) + 0.5, r", N integers$"),
])
def test_own_labels_not_as_minigan_reads_them_say_how_to_write_these(labels, how, tmp_path):
    """One-hot rows, a column of classes and whole-number floats were refused as "expected
    integer labels of shape (N,)" without what to do."""
    from minigan.data import own_files

    np.save(tmp_path / "img.npy", np.zeros((4, 4, 4), np.uint8))
    np.save(tmp_path / "lab.npy", labels)
    files, folder = own_files(tmp_path / "img.npy", tmp_path / "lab.npy")
    with pytest.raises(MNISTError, match=r"lab\.npy: expected integer labels of shape \(N,\), "
                                         r"got .*; write one whole-number class an image.*" + how):
        load_mnist("train", data_dir=folder, files=files)


@pytest.mark.parametrize("shape", [(2 ** 64,), (2 ** 62, 2 ** 62)])
def test_a_npy_header_of_a_size_past_any_machine_s_is_refused_in_one_line(shape, tmp_path,
                                                                          capsys,
                                                                          assert_one_line_error):
    """A .npy header of (2**64,) bytes raised OverflowError out of numpy's memmap, a
    traceback; (2**62, 2**62) printed numpy's 'overflow encountered in scalar multiply'
    as a warning before its error."""
    from numpy.lib import format as npy

    from minigan.app.cli import main

    path = tmp_path / "huge.npy"
    with open(path, "wb") as f:
        npy.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False, "shape": shape})
        f.write(bytes(64))
    rc = main(["train", "--images", str(path), "--out", str(tmp_path / "run"), "--quiet",
               "--device", "cpu"])
    assert_one_line_error(rc, capsys.readouterr().err, "huge.npy: not a NumPy array file of "
                          "numbers")


def test_a_npy_file_cut_short_is_said_to_be(tmp_path, capsys, assert_one_line_error):
    """It said mmap's "mmap length is greater than file size"."""
    from minigan.app.cli import main

    path = tmp_path / "cut.npy"
    np.save(path, np.zeros((100, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:4000])
    rc = main(["train", "--images", str(path), "--out", str(tmp_path / "run"), "--quiet",
               "--device", "cpu"])
    assert_one_line_error(rc, capsys.readouterr().err, "cut.npy",
                          "cut short: its header promises more data than the file holds")
    assert not (tmp_path / "run").exists()


def _npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _held_open(path):
    """Whether this process holds ``path`` open, as a file or a memory map (Linux's /proc)."""
    fds = [os.path.join("/proc/self/fd", fd) for fd in os.listdir("/proc/self/fd")]
    links = {os.readlink(fd) for fd in fds if os.path.islink(fd)}
    with open("/proc/self/maps") as maps:
        return str(path) in links or str(path) in maps.read()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc")
@pytest.mark.parametrize("write, said", [
    (lambda p: p.write_bytes(_npz_bytes(x=np.zeros(3, np.uint8))),
     r"is an \.npz archive \(numpy\.savez\), not a \.npy file; save each of its arrays"),
    (lambda p: np.save(p, np.zeros(3, dtype=[("a", "u1")])), r"not numbers"),
    (lambda p: np.save(p, np.zeros(100, np.uint8)), r"more than the 99 minigan reads"),
])
def test_a_refused_npy_file_is_not_held_open_by_its_error(write, said, tmp_path):
    """An .npz named .npy came back from np.load as an open NpzFile, and a .npy of another
    dtype or too large stayed mapped: the error's frame held the file open (on Windows, not
    to be written again) while the error lived (a notebook's last error, say); the error
    called the .npz 'NpzFile'."""
    from minigan.data import read_data_file

    path = tmp_path / "x.npy"
    write(path)
    with pytest.raises(MNISTError, match=said) as caught:
        read_data_file(path, max_bytes=99)
    assert caught.value is not None and not _held_open(path)


@pytest.mark.parametrize("at", ["open", "entry"])
def test_a_read_error_is_not_called_a_damaged_file(tmp_path, monkeypatch, at):
    """An I/O error (EIO) or no permission while reading a whole checkpoint was reported as "a
    damaged or cut-short .npz archive ... copy it again": a user could throw away a good
    checkpoint. A system error says the file could not be read."""
    import errno
    import zipfile

    from minigan.data import npz

    path = tmp_path / "a.npz"
    np.savez(path, x=np.arange(3.0))
    if at == "open":
        def failing(*args, **kwargs):
            raise OSError(errno.EIO, "Input/output error")
        monkeypatch.setattr(npz.zipfile, "ZipFile", failing)
    else:
        real_open = zipfile.ZipFile.open

        def failing(self, *args, **kwargs):
            stream = real_open(self, *args, **kwargs)
            stream.read = lambda *a: (_ for _ in ()).throw(OSError(errno.EIO, "Input/output error"))
            return stream
        monkeypatch.setattr(zipfile.ZipFile, "open", failing)
    with pytest.raises(npz.NpzError, match=r"^checkpoint .*a\.npz could not be read "
                                           r"\(Input/output error\); the file itself may be whole"):
        npz.read_npz(path, "checkpoint", lambda *a: None)
    monkeypatch.undo()
    assert npz.read_npz(path, "checkpoint", lambda *a: None)["x"].tolist() == [0.0, 1.0, 2.0]
    # a file cut at its head: zipfile seeks before its start (OSError EINVAL), which is damage
    cut = tmp_path / "cut.npz"
    cut.write_bytes(path.read_bytes()[40:])
    with pytest.raises(npz.NpzError) as info:
        npz.read_npz(cut, "checkpoint", lambda *a: None)
    assert "could not be read" not in str(info.value) and "damaged" in str(info.value)
