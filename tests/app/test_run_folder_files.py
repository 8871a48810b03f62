"""A run folder's files are written only inside it, by names minigan chooses: a link that
would send a write elsewhere is refused in one line, and the cleanup of what a kill left
removes only minigan's own temporary files, never through a link."""

import os

import pytest

from minigan.app import fileio
from minigan.app.cli import main


@pytest.fixture
def run_dir(train_args, data_dir, tmp_path):
    out = tmp_path / "run"
    assert main(train_args(data_dir, out, "--epochs", "1")) == 0
    return out


def _resume(run, data_dir):
    return ["train", "--resume", str(run), "--epochs", "2", "--quiet", "--device", "cpu",
            "--data-dir", str(data_dir), "--no-download"]


@pytest.mark.parametrize("name", ["metrics.csv", "samples", "config.json", "scores.csv"])
@pytest.mark.slow
def test_a_link_in_a_run_folder_is_refused_and_nothing_is_written_through_it(
        name, run_dir, data_dir, tmp_path, capsys, assert_one_line_error):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / name
    source = run_dir / name
    if source.is_dir():
        source.rename(target)
        (target / ".epoch_9999.png.precious.tmp").write_text("keep me")
    elif source.exists():
        source.rename(target)
    else:
        target.write_text("epoch,iteration\n")
    os.symlink(target, source)
    before = {p: p.read_bytes() for p in elsewhere.rglob("*") if p.is_file()}
    rc = main(_resume(run_dir, data_dir))
    err = capsys.readouterr().err
    assert_one_line_error(rc, err, str(source), "is a link")
    if name == "samples":              # what the link stands for: a folder
        assert "replace the link with the folder, or" in err, err
    assert {p: p.read_bytes() for p in elsewhere.rglob("*") if p.is_file()} == before


def test_a_dangling_out_link_says_what_it_points_to(train_args, data_dir, tmp_path, capsys,
                                                    assert_one_line_error):
    out = tmp_path / "out"
    os.symlink(tmp_path / "nowhere", out)
    rc = main(train_args(data_dir, out, "--epochs", "1"))
    assert_one_line_error(rc, capsys.readouterr().err, "is a link to", "which does not exist")


def test_the_cleanup_removes_only_minigan_temporary_files(tmp_path):
    ours = [".checkpoint.npz.a1b2c3d4.tmp", ".epoch_0003.png.zz_09xyz.tmp"]
    theirs = [".checkpoint.npz.tmp", ".checkpoint.npz.notmine.tmp.bak", "checkpoint.npz",
              ".epoch_0003.png.a1b2c3d4e5.tmp"]
    for name in ours + theirs:
        (tmp_path / name).write_text("x")
    os.symlink(tmp_path / "checkpoint.npz", tmp_path / ".checkpoint.npz.q1w2e3r4.tmp")
    fileio.remove_stale_temps(tmp_path, "checkpoint.npz")
    fileio.remove_stale_temps(tmp_path, "epoch_*.png")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(theirs + [".checkpoint.npz.q1w2e3r4.tmp"])


def test_a_read_limit_far_above_the_file_s_size_allocates_nothing_for_it(tmp_path,
                                                                         monkeypatch):
    """A reader's "no limit" (``quality_per_minute.py`` read a run's metrics.csv with a limit
    of 512 bytes a row times 10^12, 5·10^14 bytes): a read of ``limit + 1`` bytes at once
    asked for that much memory (MemoryError). It is read in blocks; a file over the limit,
    or one that grows past it while it is read, is still refused."""
    path = tmp_path / "data.txt"
    path.write_bytes(b"0123456789" * 30)
    assert fileio.read_bytes_at_most(path, 10 ** 15) == b"0123456789" * 30
    assert fileio.read_bytes_at_most(path, 300) == b"0123456789" * 30
    with pytest.raises(ValueError, match="300 bytes, more than the 299 read"):
        fileio.read_bytes_at_most(path, 299)
    monkeypatch.setattr(fileio, "READ_BLOCK", 7)                 # blocks that end mid-file
    assert fileio.read_bytes_at_most(path, 300) == b"0123456789" * 30
    real_fstat = fileio.os.fstat

    def fstat_before_it_grew(fd):                                # the size before it grew
        info = real_fstat(fd)
        return os.stat_result((*info[:6], 200, *info[7:10]))

    monkeypatch.setattr(fileio.os, "fstat", fstat_before_it_grew)
    with pytest.raises(ValueError, match="more than the 250 bytes read"):
        fileio.read_bytes_at_most(path, 250)
    monkeypatch.undo()
    assert fileio.read_text_at_most(path, 10 ** 15) == "0123456789" * 30
