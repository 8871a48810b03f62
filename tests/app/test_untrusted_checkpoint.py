"""A checkpoint is untrusted input (people share run folders): every entry is checked before
it is used, and what does not hold is refused in one line naming the file, with exit code 2,
before anything is written; nothing in it can make minigan read more than it needs."""

import json
import tracemalloc
import zipfile

import numpy as np
import pytest

from minigan.app import checkpoint, runs
from minigan.app.cli import main


@pytest.fixture(scope="module")
def run_dir(train_args, write_tiny_mnist, tmp_path_factory):
    root = tmp_path_factory.mktemp("untrusted")
    data = write_tiny_mnist(root / "mnist", n=64)
    out = root / "run"
    assert main(train_args(data, out, "--epochs", "1", "--r1", "0.5")) == 0   # R1's last value too
    return out


@pytest.fixture
def copy(run_dir, tmp_path):
    """A copy of the run folder, and a function that rewrites entries of its checkpoint."""
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(run_dir, out)
    path = out / "checkpoint.npz"

    def rewrite(**changes):
        with np.load(path, allow_pickle=False) as f:           # the test's own, trusted file
            entries = {k: f[k] for k in f.files}
        for key, value in changes.items():
            if value is None:
                entries.pop(key, None)
            elif isinstance(value, (dict, list, str, int, float)) and key in checkpoint._JSON_KEYS:
                entries[key] = np.array(json.dumps(value))
            else:
                entries[key] = value
        np.savez(path, **entries)

    return out, rewrite


def _meta(out, key):
    with np.load(out / "checkpoint.npz", allow_pickle=False) as f:
        return json.loads(str(f[key]))


def _commands(out, data):
    return [["sample", "--checkpoint", str(out), "--out", str(out.parent / "s.png"),
             "--device", "cpu"],
            ["train", "--resume", str(out), "--epochs", "3", "--quiet", "--device", "cpu",
             "--data-dir", str(data), "--no-download"]]


def _refused(out, data, capsys, assert_one_line_error, *needles, commands=None):
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    for argv in commands or _commands(out, data):
        rc = main(argv)
        assert_one_line_error(rc, capsys.readouterr().err, *needles)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not (out.parent / "s.png").exists()


@pytest.mark.parametrize("version", ["2", None, [2], True, -1, float("nan"), 1.5])
@pytest.mark.slow
def test_a_malformed_version_is_one_line(version, copy, run_dir, capsys, assert_one_line_error):
    out, rewrite = copy
    rewrite(minigan={"format": "minigan-checkpoint", "version": version})
    _refused(out, run_dir.parent / "mnist", capsys, assert_one_line_error, "checkpoint version")


@pytest.mark.parametrize("change, words", [
    ({"counters": {"iteration": 8, "epoch": -5}}, "counters 'epoch'"),
    ({"counters": {"iteration": "8", "epoch": 1}}, "counters 'iteration'"),
    ({"extra/fixed_z": np.zeros((6, 100), np.float32)}, "entry 'extra/fixed_z': has shape (6, 100)"),
    ({"G/0.W": np.zeros((100, 128), bool)}, "entry 'G/0.W': has dtype bool"),
    ({"G/0.W": np.zeros((100, 128), np.int8)}, "entry 'G/0.W': has dtype int8"),
    ({"G/0.W": np.zeros((100, 128), "datetime64[s]")}, "entry 'G/0.W': has dtype datetime64"),
    ({"G/0.W": np.full((100, 128), 1e39)},
     "'G/0.W' holds values beyond float32's range (up to 1e+39)"),
    ({"D/extra": np.zeros(3, np.float32)}, "entry 'D/extra': is not an entry of this model"),
    ({"config": None}, "no 'config'"),
])
def test_entries_that_do_not_fit_are_refused(change, words, copy, run_dir, capsys,
                                             assert_one_line_error):
    out, rewrite = copy
    rewrite(**change)
    _refused(out, run_dir.parent / "mnist", capsys, assert_one_line_error, words)


@pytest.mark.parametrize("extra, words", [
    ({"step_in_epoch": 10 ** 6}, "step_in_epoch should be a count below"),
    ({"step_in_epoch": 1}, "counters disagree"),
    ({"seconds": -1}, "seconds should be a number"),
    ({"r1_last": -1.0}, "r1_last should be a number >= 0"),
    ({"r1_last": "0.1"}, "r1_last should be a number >= 0"),
    ({"r1_last": True}, "r1_last should be a number >= 0"),
])
def test_training_state_that_does_not_fit_is_refused_on_resume(extra, words, copy, run_dir,
                                                                capsys, assert_one_line_error):
    out, rewrite = copy
    rewrite(extra={**_meta(out, "extra"), **extra})
    _refused(out, run_dir.parent / "mnist", capsys, assert_one_line_error, words,
             commands=_commands(out, run_dir.parent / "mnist")[1:])


def test_a_bad_order_of_the_epoch_is_refused(copy, run_dir, capsys, assert_one_line_error):
    out, rewrite = copy
    counters = {"iteration": 1, "epoch": 0}                 # 2 iterations an epoch
    rewrite(counters=counters, extra={**_meta(out, "extra"), "step_in_epoch": 1},
            **{"extra/perm": np.full(64, 7)})
    _refused(out, run_dir.parent / "mnist", capsys, assert_one_line_error, "perm",
             commands=_commands(out, run_dir.parent / "mnist")[1:])
    rewrite(**{"extra/perm": None})
    _refused(out, run_dir.parent / "mnist", capsys, assert_one_line_error, "no order",
             commands=_commands(out, run_dir.parent / "mnist")[1:])


def test_an_array_header_edited_by_one_byte_is_caught(copy, run_dir, capsys,
                                                      assert_one_line_error):
    """The header's length lowered by 16: the zip checksum is not checked until an entry is
    read to its end, and numpy would read the weights shifted."""
    out, _ = copy
    path = out / "checkpoint.npz"
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("G/0.W.npy")
    off = info.header_offset                                  # the local file header
    start = off + 30 + int.from_bytes(data[off + 26:off + 28], "little") \
        + int.from_bytes(data[off + 28:off + 30], "little")
    length = int.from_bytes(data[start + 8:start + 10], "little")
    data[start + 8:start + 10] = (length - 16).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    _refused(out, run_dir.parent / "mnist", capsys, assert_one_line_error, "G/0.W")


def test_what_a_file_claims_is_bounded_before_it_is_read(tmp_path):
    """A 300-byte archive whose array header claims 32 GiB, and a deflate bomb: refused
    with a checkpoint error, using a few MB at most."""
    header = np.array(json.dumps({"format": "minigan-checkpoint", "version": 1}))
    path = tmp_path / "claims.npz"
    np.savez(path, minigan=header, config=np.array("{}"), counters=np.array(
        '{"epoch": 0, "iteration": 0}'), rng_states=np.array("{}"), extra=np.array("{}"))
    text = b"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296,), }"
    text += b" " * (118 - len(text)) + b"\n"
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("G/0.W.npy", b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text)
    bomb = tmp_path / "bomb.npz"
    np.savez(bomb, minigan=header)
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.npy", b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text
                   + bytes(200_000_000))
    tracemalloc.start()
    try:
        for p in (path, bomb):
            with pytest.raises(checkpoint.CheckpointError):
                checkpoint.load_checkpoint(p, runs.expected_entries({"model": "vanilla"}))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20, peak


@pytest.mark.parametrize("change, words", [
    ({"extra/perm": np.arange(64.0)}, "entry 'extra/perm': has dtype float64"),
    ({"extra/fixed_z": np.zeros((64, 100), np.int64)}, "entry 'extra/fixed_z': has dtype int64"),
])
def test_an_entry_used_as_indices_or_noise_of_another_kind_is_refused(
        change, words, copy, run_dir, capsys, assert_one_line_error):
    """An order of the epoch's images in floats (it indexes the images) is refused by name
    before anything is written, as is a grid's noise in integers."""
    out, rewrite = copy
    rewrite(counters={"iteration": 1, "epoch": 0}, extra={**_meta(out, "extra"),
                                                          "step_in_epoch": 1},
            **{"extra/perm": np.arange(64), **change})
    _refused(out, run_dir.parent / "mnist", capsys, assert_one_line_error, words, "damaged")


def test_an_array_entry_given_as_json_is_refused(copy, run_dir, capsys, assert_one_line_error):
    """``extra``'s JSON may not stand in for the arrays: a perm of floats written there."""
    out, rewrite = copy
    rewrite(counters={"iteration": 1, "epoch": 0},
            extra={**_meta(out, "extra"), "step_in_epoch": 1, "perm": [float(i) for i in range(64)]})
    _refused(out, run_dir.parent / "mnist", capsys, assert_one_line_error, "'perm'",
             "extra/perm")


@pytest.mark.parametrize("key", ["G/0.W", "d_opt/t"])
def test_a_missing_entry_is_named(key, copy, run_dir, capsys, assert_one_line_error):
    out, rewrite = copy
    rewrite(**{key: None})
    commands = _commands(out, run_dir.parent / "mnist")
    _refused(out, run_dir.parent / "mnist", capsys, assert_one_line_error,
             f"has no entry '{key}'", "damaged", "another minigan version",
             commands=commands if key.startswith("G/") else commands[1:])


@pytest.mark.parametrize("key, value, words", [
    ("g_opt/t", np.array(-1), "'g_opt/t' should be the number of steps taken"),
    ("d_opt/t", np.array(3.7), "'d_opt/t' should be the number of steps taken"),
    ("g_opt/v.0", -np.ones((100, 128), np.float32), "'g_opt/v.0' holds a negative value"),
    ("d_opt/m.1", np.full(128, 1e39), "'d_opt/m.1' holds values beyond float32's range"),
])
def test_optimizer_state_out_of_range_is_refused_by_name(key, value, words, copy, run_dir, capsys,
                                                         assert_one_line_error):
    """Not left to end the run later as 'training diverged', blaming the learning rate."""
    out, rewrite = copy
    if value.ndim and value.shape != _shape(out, key):
        value = np.resize(value, _shape(out, key))
    rewrite(**{key: value})
    _refused(out, run_dir.parent / "mnist", capsys, assert_one_line_error, words, "damaged",
             commands=_commands(out, run_dir.parent / "mnist")[1:])


def _shape(out, key):
    with np.load(out / "checkpoint.npz", allow_pickle=False) as f:
        return f[key].shape


@pytest.mark.parametrize("cut, words", [
    (0, "it is empty (0 bytes)"),
    (0.5, "a damaged or cut-short .npz archive"),
    (-10, "a damaged or cut-short .npz archive"),
])
def test_a_cut_checkpoint_says_so_and_what_to_do(cut, words, copy, run_dir, capsys,
                                                 assert_one_line_error):
    out, _ = copy
    path = out / "checkpoint.npz"
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * cut)] if isinstance(cut, float) else data[:cut])
    _refused(out, run_dir.parent / "mnist", capsys, assert_one_line_error, words,
             "interrupted copy", "use another checkpoint")


def test_an_entry_in_the_archive_twice_is_named(copy, run_dir, capsys, assert_one_line_error):
    out, _ = copy
    path = out / "checkpoint.npz"
    with zipfile.ZipFile(path) as z:
        data = z.read("G/0.W.npy")
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "a") as z:
        z.writestr("G/0.W.npy", data)
    _refused(out, run_dir.parent / "mnist", capsys, assert_one_line_error,
             "entry 'G/0.W' is in the archive twice")


def test_a_grid_too_large_for_memory_is_refused_by_its_setting(copy, run_dir, capsys,
                                                               assert_one_line_error):
    """n_samples of 10**9 (745 GiB of noise) without the grid's noise: refused as a setting."""
    out, rewrite = copy
    rewrite(config={**_meta(out, "config"), "n_samples": 10 ** 9}, **{"extra/fixed_z": None})
    _refused(out, run_dir.parent / "mnist", capsys, assert_one_line_error, '"n_samples"',
             "10,000")


@pytest.mark.parametrize("pack", [17, 10 ** 6])
def test_a_pack_too_large_is_refused_by_its_setting_before_a_model_is_built(
        pack, copy, run_dir, capsys, assert_one_line_error):
    """D's first layer grows with the pack: a pack of a million would be a 400 GB weight in this
    vanilla D. Refused as a setting, naming the bound, with a few MB of memory (a pack of 42
    built 68 MB of D and its Adam state before the checkpoint's arrays were found not to fit)."""
    out, rewrite = copy
    rewrite(config={**_meta(out, "config"), "pack": pack})
    tracemalloc.start()
    try:
        _refused(out, run_dir.parent / "mnist", capsys, assert_one_line_error, '"pack"', "16")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20, peak


@pytest.mark.parametrize("updates, words", [
    (None, "it holds no count of the moving average's updates (ema_updates)"),
    (-1, "ema_updates should be a count, got '-1'"),
    ("3", "ema_updates should be a count, got '3'"),
])
def test_a_moving_average_without_its_count_is_refused_on_resume(
        updates, words, train_args, data_dir, tmp_path, capsys, assert_one_line_error):
    """A null count was taken as none given, and the average restarted its warm-up (its next
    update kept a tenth of it): refused, as a count that is not one is."""
    out = tmp_path / "run"
    assert main(train_args(data_dir, out, "--epochs", "1", "--ema", "0.9")) == 0
    path = out / "checkpoint.npz"
    with np.load(path, allow_pickle=False) as f:           # the test's own, trusted file
        entries = {k: f[k] for k in f.files}
    extra = json.loads(str(entries["extra"]))
    assert extra["ema_updates"] > 0
    entries["extra"] = np.array(json.dumps({**extra, "ema_updates": updates}))
    np.savez(path, **entries)
    rc = main(["train", "--resume", str(out), "--epochs", "2", "--quiet", "--device", "cpu",
               "--data-dir", str(data_dir), "--no-download"])
    assert_one_line_error(rc, capsys.readouterr().err, words)
