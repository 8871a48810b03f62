"""Tests for the command line and the training loop: exact resume, bad input, sampling.

Training runs on a tiny MNIST-like set (a few hundred 28 x 28 images written
as IDX files under the real MNIST names), so each run takes a second or two.
"""

import argparse
import csv
import errno
import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minigan import backend, gan
from minigan.app import checkpoint, runlog, runs
from minigan.app import trainer as train_module
from minigan.app.cli import main

ROOT = Path(__file__).resolve().parents[2]







def run_main(argv, capsys):
    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err








@pytest.fixture
def assert_resume_starts_over(train_args, assert_same_run):
    """``assert_resume_starts_over(data_dir, run, straight, capsys)``: ``--resume`` of a run
    stopped before its first checkpoint starts it over, and ends like a 1-epoch run made
    straight away in ``straight``."""
    def check(data_dir, run, straight, capsys):
        rc, out, _ = run_main(["train", "--resume", str(run), "--quiet", "--device", "cpu",
                               "--data-dir", str(data_dir), "--no-download"], capsys)
        assert rc == 0 and "starting it over" in out
        assert main(train_args(data_dir, straight, "--epochs", "1")) == 0
        assert_same_run(straight, run)
    return check


def snapshot(folder):
    """Bytes and modification time of every file under ``folder``."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def earlier_run(train_args, data_dir, tmp_path_factory):
    """A finished one-epoch vanilla run: the outputs that bad input must never touch."""
    out = tmp_path_factory.mktemp("runs") / "earlier"
    assert main(train_args(data_dir, out, "--epochs", "1")) == 0
    return out


# ------------------------------------------------------------------ training and resume



def test_starting_the_command_line_does_not_import_matplotlib():
    """Every command starts by importing the command line, which imports the toys: their
    GIF palette, made at import, pulled in matplotlib (0.2 s) for `minigan --help` too."""
    done = subprocess.run([sys.executable, "-c", "import sys, minigan.app.cli\n"
                           "assert 'matplotlib' not in sys.modules, 'imported'\n"],
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr

def test_run_folder_layout(metrics_rows, earlier_run):
    names = {p.relative_to(earlier_run).as_posix() for p in earlier_run.rglob("*")}
    assert names == {"config.json", "metrics.csv", "checkpoint.npz", "loss_curves.png",
                     "samples", "samples/epoch_0000.png", "samples/epoch_0001.png"}
    rows = metrics_rows(earlier_run)
    assert [int(r["iteration"]) for r in rows] == list(range(1, 9))  # 256 // 32 per epoch
    for png in ("loss_curves.png", "samples/epoch_0001.png"):
        assert (earlier_run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@pytest.mark.parametrize("g_batch", ["fresh", "reuse"])   # the reused batch is never saved
def test_two_epochs_equal_one_plus_resume_plus_one(assert_same_run, metrics_rows, train_args, data_dir,
                                                   tmp_path, g_batch, monkeypatch):
    from minigan.app import trainer
    monkeypatch.setattr(trainer, "GRID_ITERATIONS", 1)        # a grid each epoch of 8
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(train_args(data_dir, straight, "--epochs", "2", "--g-batch", g_batch)) == 0
    assert main(train_args(data_dir, split, "--epochs", "1", "--g-batch", g_batch)) == 0
    first_rows = metrics_rows(split)
    assert main(["train", "--resume", str(split), "--epochs", "2", "--quiet",
                 "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]) == 0
    assert_same_run(straight, split)
    assert metrics_rows(split)[: len(first_rows)] == first_rows  # appended, nothing rewritten
    assert len(metrics_rows(split)) == 16
    for png in ("epoch_0000.png", "epoch_0001.png", "epoch_0002.png"):
        assert (straight / "samples" / png).read_bytes() == (split / "samples" / png).read_bytes()


@pytest.mark.slow
def test_a_run_continued_in_a_new_folder_takes_its_history_along(assert_same_run, metrics_rows,
                                                                  train_args, data_dir, tmp_path,
                                                                  monkeypatch):
    """--resume A --out B: B holds the whole run (metrics, scores, grids up to the
    checkpoint, then its own), the same as one run straight through; A is left as it was."""
    from minigan.app import trainer
    monkeypatch.setattr(trainer, "GRID_ITERATIONS", 1)        # a grid each epoch of 8
    straight, first, branch = tmp_path / "straight", tmp_path / "first", tmp_path / "branch"
    score = ("--eval-every", "1", "--eval-n", "40")
    assert main(train_args(data_dir, straight, "--epochs", "2", *score)) == 0
    assert main(train_args(data_dir, first, "--epochs", "1", *score)) == 0
    before = snapshot(first)
    assert main(["train", "--resume", str(first), "--epochs", "2", "--out", str(branch),
                 "--quiet", "--data-dir", str(data_dir), "--no-download", "--device",
                 "cpu"]) == 0
    assert snapshot(first) == before
    assert_same_run(straight, branch)
    assert len(metrics_rows(branch)) == len(metrics_rows(straight)) == 16
    assert (branch / "scores.csv").read_text() == (straight / "scores.csv").read_text()
    for png in ("epoch_0000.png", "epoch_0001.png", "epoch_0002.png"):
        assert (straight / "samples" / png).read_bytes() == (branch / "samples" / png).read_bytes()
    resume = ["--quiet", "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]
    assert main(["train", "--resume", str(branch), "--epochs", "3", *resume]) == 0   # in place
    assert len(metrics_rows(branch)) == 24                                  # nothing carried twice


def test_a_checkpoint_alone_continued_elsewhere_resumes_again(train_args, data_dir, tmp_path,
                                                              metrics_rows, capsys):
    """A checkpoint file outside any run folder carries no history: its new folder's
    metrics.csv starts after the checkpoint and resumes in place like any other; a damaged
    scores.csv in a run's folder is a warning when it is continued elsewhere."""
    first = tmp_path / "first"
    assert main(train_args(data_dir, first, "--epochs", "1")) == 0
    kept = tmp_path / "kept"
    kept.mkdir()
    shutil.copyfile(first / "checkpoint.npz", kept / "epoch1.npz")
    resume = ["--quiet", "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]
    alone = tmp_path / "alone"
    assert main(["train", "--resume", str(kept / "epoch1.npz"), "--epochs", "2", "--out",
                 str(alone), *resume]) == 0
    assert [int(r["iteration"]) for r in metrics_rows(alone)] == list(range(9, 17))
    assert main(["train", "--resume", str(alone), "--epochs", "3", *resume]) == 0
    assert [int(r["iteration"]) for r in metrics_rows(alone)] == list(range(9, 25))
    (first / "scores.csv").write_text("epoch,is\n1,\"" + "x" * 140_000 + "\n")
    capsys.readouterr()
    assert main(["train", "--resume", str(first), "--epochs", "2", "--out",
                 str(tmp_path / "branch"), *resume]) == 0
    err = capsys.readouterr().err
    assert "minigan: warning:" in err and "scores.csv is not a minigan scores file" in err
    assert len(metrics_rows(tmp_path / "branch")) == 16


def test_a_grid_that_cannot_be_read_is_left_behind_not_waited_on(train_args, data_dir,
                                                                 tmp_path, capsys):
    """RUN's epoch grid a FIFO (which would block for ever) or a link to /dev/zero (which never
    ends): NEW goes on without it, with a warning naming it."""
    import os
    first, branch = tmp_path / "first", tmp_path / "branch"
    assert main(train_args(data_dir, first, "--epochs", "1")) == 0
    grid = first / "samples" / "epoch_0001.png"
    grid.unlink()
    os.mkfifo(grid)
    capsys.readouterr()
    resume = ["--quiet", "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]
    assert main(["train", "--resume", str(first), "--epochs", "2", "--out", str(branch),
                 *resume]) == 0
    err = capsys.readouterr().err
    assert f"{grid}: not a regular file" in err, err
    assert not (branch / "samples" / "epoch_0001.png").exists()
    assert (branch / "samples" / "epoch_0002.png").is_file()


def test_a_history_short_of_the_checkpoint_is_left_behind(train_args, data_dir, tmp_path,
                                                          metrics_rows, capsys):
    """RUN's metrics.csv cut short: NEW starts after the checkpoint (no gap a later resume
    would refuse), with a warning saying so; a later resume of NEW goes on."""
    first, branch = tmp_path / "first", tmp_path / "branch"
    assert main(train_args(data_dir, first, "--epochs", "1")) == 0
    lines = (first / "metrics.csv").read_text().splitlines(keepends=True)
    (first / "metrics.csv").write_text("".join(lines[:6]))                # 5 of 8 rows
    capsys.readouterr()
    resume = ["--quiet", "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]
    assert main(["train", "--resume", str(first), "--epochs", "2", "--out", str(branch),
                 *resume]) == 0
    err = capsys.readouterr().err
    assert "stops at iteration 5, before the checkpoint's 8" in err
    assert "put the whole file back" not in err    # advice for RUN's own resume, not NEW's
    assert main(["train", "--resume", str(branch), "--epochs", "3", *resume]) == 0
    assert [int(r["iteration"]) for r in metrics_rows(branch)] == list(range(9, 25))


@pytest.mark.parametrize("keep", ["nothing", "header"])
def test_a_metrics_file_without_rows_is_refused_where_the_run_trained(train_args, data_dir,
                                                                      tmp_path, capsys, keep,
                                                                      metrics_rows):
    """An empty metrics.csv (a failed copy), or its header alone beside the epoch grids,
    was taken as a run that began at the checkpoint: the history was reset without a word.
    Without grids up to the checkpoint (a run continued here from a file kept elsewhere and
    stopped at once), the header alone goes on."""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    header = (run / "metrics.csv").read_text().splitlines(keepends=True)[0]
    (run / "metrics.csv").write_text("" if keep == "nothing" else header)
    capsys.readouterr()
    resume = ["--quiet", "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]
    assert main(["train", "--resume", str(run), "--epochs", "2", *resume]) == 2
    said = "is empty" if keep == "nothing" else "holds no row, but epoch grids up to epoch 1"
    err = capsys.readouterr().err
    assert f"metrics.csv {said}" in err and "iteration 8 are lost; put the whole file" in err
    assert (run / "metrics.csv").read_text() == ("" if keep == "nothing" else header)
    if keep == "header":
        for grid in (run / "samples").glob("epoch_*.png"):
            if grid.name != "epoch_0000.png":   # drawn before the first iteration: kept
                grid.unlink()
        assert main(["train", "--resume", str(run), "--epochs", "2", *resume]) == 0
        assert [int(r["iteration"]) for r in metrics_rows(run)] == list(range(9, 17))


def test_a_metrics_file_short_of_the_checkpoint_is_refused_in_place(train_args, data_dir,
                                                                     tmp_path, metrics_rows,
                                                                     capsys):
    """Resumed in place, a metrics.csv cut short would get the rows after the checkpoint
    behind a gap no later resume accepts: refused, the file untouched; moved out of the
    folder, the run goes on with a file that starts after the checkpoint."""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    lines = (run / "metrics.csv").read_text().splitlines(keepends=True)
    (run / "metrics.csv").write_text("".join(lines[:6]))                  # 5 of 8 rows
    capsys.readouterr()
    resume = ["--quiet", "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]
    assert main(["train", "--resume", str(run), "--epochs", "2", *resume]) == 2
    assert "stops at iteration 5, before the checkpoint's 8" in capsys.readouterr().err
    assert (run / "metrics.csv").read_text() == "".join(lines[:6])
    (run / "metrics.csv").rename(tmp_path / "short.csv")
    assert main(["train", "--resume", str(run), "--epochs", "2", *resume]) == 0
    assert [int(r["iteration"]) for r in metrics_rows(run)] == list(range(9, 17))
    assert main(["train", "--resume", str(run), "--epochs", "3", *resume]) == 0


@pytest.mark.slow
def test_ctrl_c_mid_epoch_saves_and_resume_continues_exactly(assert_same_run, metrics_rows, train_args,
                                                             data_dir, tmp_path, after_iteration,
                                                             monkeypatch, capsys):
    straight, cut = tmp_path / "straight", tmp_path / "cut"
    assert main(train_args(data_dir, straight, "--epochs", "2", "--k", "2")) == 0
    after_iteration(6)       # Ctrl-C in the middle of epoch 2 (4 iterations an epoch with k=2)
    rc, _, err = run_main(train_args(data_dir, cut, "--epochs", "2", "--k", "2"), capsys)
    monkeypatch.undo()
    assert rc == 130
    assert "checkpoint saved" in err and "--resume" in err and "Traceback" not in err
    assert len(metrics_rows(cut)) == 6
    ckpt = checkpoint.load_checkpoint(cut / "checkpoint.npz")
    assert ckpt["counters"] == {"iteration": 6, "epoch": 1} and ckpt["extra"]["step_in_epoch"] == 2

    assert main(["train", "--resume", str(cut), "--quiet", "--device", "cpu",
                 "--data-dir", str(data_dir), "--no-download"]) == 0
    assert_same_run(straight, cut)


def test_a_resume_refuses_a_folder_trained_by_another_process_since_it_read_it(
        metrics_rows, train_args, data_dir, tmp_path, capsys):
    """A resume (or a start over) reads the run folder, then takes its lock: when another
    process trained the run in between, going on would put the older state over the newer
    one and cut metrics.csv back to it. It is refused, nothing written."""
    run = tmp_path / "run"
    options = {"resume": str(run), "quiet": True, "device": "cpu"}
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    late = train_module.Trainer({**options, "epochs": 2})      # reads iteration 8
    assert main(["train", "--resume", str(run), "--epochs", "3", "--quiet"]) == 0
    with pytest.raises(ValueError, match="changed while this command started: it was at "
                                         "iteration 8, .* now at iteration 24"):
        late.run()
    assert checkpoint.load_checkpoint(run / "checkpoint.npz")["counters"]["iteration"] == 24
    assert len(metrics_rows(run)) == 24 and (run / "samples" / "epoch_0003.png").exists()

    run = tmp_path / "started over"                  # killed before its first checkpoint
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    (run / "checkpoint.npz").unlink()
    late = train_module.Trainer({**options, "resume": str(run), "epochs": 1})
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 0
    with pytest.raises(ValueError, match="it was without a checkpoint, .* now at iteration 16"):
        late.run()
    assert len(metrics_rows(run)) == 16
    capsys.readouterr()


@pytest.mark.slow
def test_resume_drops_rows_written_after_the_checkpoint(metrics_rows, train_args, data_dir, tmp_path):
    """A crash between a metrics row and the next checkpoint must not duplicate rows."""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    with open(run / "metrics.csv", "a") as f:
        lost = {"iteration": 9, "epoch": 2, "seconds": 1.0}   # the row of an iteration lost
        f.write(",".join(str(lost.get(c, 0.5)) for c in train_module.METRICS_COLUMNS) + "\n")
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--device", "cpu",
                 "--data-dir", str(data_dir), "--no-download"]) == 0
    assert [int(r["iteration"]) for r in metrics_rows(run)] == list(range(1, 17))
    assert metrics_rows(run)[8]["d_loss"] != "0.5"


@pytest.mark.slow
def test_dcgan_resume_is_exact(assert_same_run, run_state, train_args, write_tiny_mnist, tmp_path):
    """The DCGAN path: images reshaped to (N, 1, 28, 28); BatchNorm buffers saved and restored."""
    data = write_tiny_mnist(tmp_path / "mnist", n=8)
    common = ["--model", "dcgan", "--batch-size", "4", "--k", "2"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(train_args(data, straight, "--epochs", "2") + common) == 0
    assert main(train_args(data, split, "--epochs", "1") + common) == 0
    assert main(["train", "--resume", str(split), "--epochs", "2", "--quiet", "--device", "cpu",
                 "--data-dir", str(data), "--no-download"]) == 0
    assert_same_run(straight, split)
    arrays, _, _ = run_state(split)
    assert arrays["G/1.running_mean"].shape == (6272,) and arrays["D/3.running_var"].shape == (128,)
    assert not np.array_equal(arrays["D/3.running_var"], np.ones(128, np.float32))


# ------------------------------------------------------------------ bad input




BAD = {
    "missing data folder": (["--data-dir", "{tmp}/no-such-folder"], "no-such-folder"),
    "not IDX": (["--data-dir", "{garbage}"], "t10k-images-idx3-ubyte"),
    "architecture": (["--model", "dcgan"], "made by model 'vanilla'; this run builds 'dcgan'"),
    "data files missing": (["--data-dir", "{tmp}"], "t10k-images-idx3-ubyte.gz"),
    "changed setting": (["--lr", "0.5"], "--lr 0.5 (checkpoint: 0.001) differs; drop that "
                        "option (only --epochs, --device, --data-dir, --no-download, --out, "
                        "--quiet, --eval-every, --eval-n may change)"),
    "nothing left to do": (["--epochs", "1"], ("already done 1 epoch;",
                                               "the model's default length here: --epochs ")),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_resume_leaves_the_earlier_run_untouched(assert_one_line_error, case, earlier_run, tmp_path,
                                                     capsys):
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "t10k-images-idx3-ubyte").write_bytes(b"<html>not found</html>\n" * 40)
    (garbage / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x00")
    extra, needle = BAD[case]
    extra = [a.format(tmp=tmp_path, garbage=garbage) for a in extra]
    before = snapshot(earlier_run)
    options = {"--epochs": "3", "--device": "cpu"}
    options.update(zip(extra[::2], extra[1::2], strict=True))
    argv = ["train", "--resume", str(earlier_run), "--quiet", "--no-download"]
    rc, _, err = run_main(argv + [a for pair in options.items() for a in pair], capsys)
    assert_one_line_error(rc, err, *(needle if isinstance(needle, tuple) else (needle,)))
    assert snapshot(earlier_run) == before


NO_USER = "minigan-no-such-user-7f3a"           # a ~user that no machine the suite runs on has


@pytest.mark.parametrize("argv", [
    ["train", "--out", "~{u}/run"], ["train", "--data-dir", "~{u}/mnist"],
    ["train", "--resume", "~{u}/run"], ["train", "--images", "~{u}/digits.npy"],
    ["eval", "~{u}/run"], ["eval", "{run}", "--out", "~{u}/eval.json"],
    ["eval", "{run}", "--classifier", "~{u}/clf.npz"], ["sample", "~{u}/run"],
    ["sample", "{run}", "--out", "~{u}/grid.png"], ["toy", "xy", "--out", "~{u}/toy"],
], ids=lambda argv: " ".join(argv[:1] + [a for a in argv[1:] if a.startswith("--")]))
def test_a_path_of_a_user_this_machine_has_not_is_said_so(argv, assert_one_line_error, earlier_run,
                                                          data_dir, capsys):
    """pathlib's expanduser() raises a bare RuntimeError ("Could not determine home
    directory.") for a ~user with no home: each path a command takes says which path, and
    why."""
    argv = [a.format(u=NO_USER, run=earlier_run) for a in argv]
    if argv[0] == "train" and not {"--resume", "--data-dir", "--images"} & set(argv):
        argv += ["--data-dir", str(data_dir), "--no-download", "--epochs", "1", "--quiet"]
    before = snapshot(earlier_run)
    rc, _, err = run_main(argv + ["--device", "cpu"] * (argv[0] != "toy"), capsys)
    assert_one_line_error(rc, err, f"~{NO_USER}/", f"no user '{NO_USER}' on this machine")
    assert snapshot(earlier_run) == before


def test_an_out_path_of_ones_home_is_written_there(earlier_run, tmp_path, monkeypatch, capsys):
    """``--out=~/grid.png`` (which no shell expands) goes to the home folder, as --out of a
    run does, not into a folder named '~' here."""
    home, here = tmp_path / "home", tmp_path / "here"
    home.mkdir()
    here.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(here)
    rc, _, _ = run_main(["sample", str(earlier_run), "--out=~/grid.png", "--device", "cpu"], capsys)
    assert rc == 0 and (home / "grid.png").is_file() and not (here / "~").exists()


def test_training_into_an_existing_run_is_refused(assert_one_line_error, train_args, earlier_run, data_dir,
                                                  capsys):
    before = snapshot(earlier_run)
    rc, _, err = run_main(train_args(data_dir, earlier_run, "--epochs", "2"), capsys)
    assert_one_line_error(rc, err, "already holds a run", "--resume")
    assert snapshot(earlier_run) == before


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_batch_size_must_be_a_positive_integer(assert_one_line_error, train_args, value, data_dir, tmp_path,
                                               capsys):
    rc, _, err = run_main(train_args(data_dir, tmp_path / "new", "--batch-size", value), capsys)
    assert_one_line_error(rc, err, "--batch-size", value, "a positive integer")
    assert "null" not in err                # a JSON value no one can type on the command line
    assert not (tmp_path / "new").exists()


def test_a_folder_of_the_other_split_says_so(assert_one_line_error, train_args, data_dir, tmp_path,
                                            capsys):
    """--split train on a folder that holds the test split only: the error says so and how to
    train on what is there."""
    args = train_args(data_dir, tmp_path / "new", "--epochs", "1")
    args[args.index("--split") + 1] = "train"
    rc, _, err = run_main(args, capsys)
    assert_one_line_error(rc, err, "train-images-idx3-ubyte.gz is not in",
                          f"error: {data_dir} holds the test split, not the train split: to "
                          "train on it, add --split test; ")
    assert "split='test'" not in err
    assert not (tmp_path / "new").exists()


def test_batch_size_larger_than_the_data(assert_one_line_error, train_args, data_dir, tmp_path, capsys):
    rc, _, err = run_main(train_args(data_dir, tmp_path / "new", "--batch-size", "300"), capsys)
    assert_one_line_error(rc, err, "batch size 300", "256")
    assert not (tmp_path / "new").exists()


def test_fewer_images_than_critic_steps_suggests_fewer_steps(assert_one_line_error, train_args,
                                                             write_tiny_mnist, tmp_path, capsys):
    """4 images, 5 D steps of 1 image each: --batch-size 0 is no way out; fewer steps are."""
    data = write_tiny_mnist(tmp_path / "four", n=4)
    rc, _, err = run_main(train_args(data, tmp_path / "new", "--batch-size", "1", "--k", "5"),
                          capsys)
    assert_one_line_error(rc, err, "batch size 1 x k=5", "has 4; use --k 4 or less")
    assert "--batch-size 0" not in err and not (tmp_path / "new").exists()
    rc, _, err = run_main(train_args(data, tmp_path / "new", "--batch-size", "3", "--k", "5"),
                          capsys)      # --k 4 would need 12: the suggestion must work
    assert_one_line_error(rc, err, "batch size 3 x k=5", "has 4; use --k 1 or less")
    rc, _, err = run_main(train_args(data, tmp_path / "new", "--batch-size", "8", "--k", "5"),
                          capsys)
    assert_one_line_error(rc, err, "batch size 8 x k=5", "use --batch-size 4 and --k 1")


def test_unwritable_out(assert_one_line_error, train_args, data_dir, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    rc, _, err = run_main(train_args(data_dir, blocker / "run"), capsys)
    assert_one_line_error(rc, err, "--out", "a-file")
    rc, _, err = run_main(train_args(data_dir, blocker), capsys)
    assert_one_line_error(rc, err, "not a folder")
    assert blocker.read_text() == "not a folder\n"


def test_resume_of_a_missing_checkpoint(assert_one_line_error, tmp_path, capsys):
    rc, _, err = run_main(["train", "--resume", str(tmp_path / "nope"), "--device", "cpu"], capsys)
    assert_one_line_error(rc, err, "nope", "checkpoint")


def test_resume_of_a_file_that_is_not_a_checkpoint(assert_one_line_error, tmp_path, capsys):
    bogus = tmp_path / "checkpoint.npz"
    bogus.write_bytes(b"PK\x03\x04 not really a zip")
    rc, _, err = run_main(["train", "--resume", str(bogus), "--device", "cpu"], capsys)
    assert_one_line_error(rc, err, "not a minigan checkpoint")


@pytest.mark.skipif(backend.gpu_available(), reason="a GPU is available here")
def test_device_gpu_without_a_gpu(assert_one_line_error, earlier_run, capsys):
    before = snapshot(earlier_run)
    rc, _, err = run_main(["train", "--resume", str(earlier_run), "--epochs", "2",
                           "--device", "gpu"], capsys)
    assert_one_line_error(rc, err, "GPU", "--device cpu")
    assert snapshot(earlier_run) == before


def test_real_process_exit_code_and_stderr(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MINIGAN_DEVICE", None)
    for args, needle in [(["--batch-size", "0"], "--batch-size"),
                         (["--data-dir", str(tmp_path / "missing")], "missing")]:
        proc = subprocess.run([sys.executable, "-m", "minigan", "train", "--device", "cpu",
                               "--out", str(tmp_path / "run"), *args],
                              capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("minigan: error: ")
        assert needle in proc.stderr
        assert not (tmp_path / "run").exists()


@pytest.mark.gpu
@pytest.mark.slow
def test_a_gpu_run_continues_on_the_cpu(metrics_rows, train_args, data_dir, earlier_run, tmp_path, capsys):
    """Checkpoints hold host arrays: train on the GPU, resume and sample on the CPU.

    One seed draws the same noise and the same shuffles on both devices, so the
    GPU's first epoch follows the CPU's (``earlier_run``) up to rounding.
    """
    run = tmp_path / "gpu"
    args = train_args(data_dir, run, "--epochs", "1")
    args[args.index("--device") + 1] = "gpu"
    assert main(args) == 0
    gpu_rows, cpu_rows = metrics_rows(run), metrics_rows(earlier_run)
    for name in ("d_loss", "g_loss", "d_real", "d_fake", "d_gen"):
        np.testing.assert_allclose([float(r[name]) for r in gpu_rows],
                                   [float(r[name]) for r in cpu_rows], rtol=1e-2, atol=1e-3)
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--device", "cpu",
                 "--data-dir", str(data_dir), "--no-download"]) == 0
    assert len(metrics_rows(run)) == 16
    rc, _, _ = run_main(["sample", "--checkpoint", str(run), "--n", "4", "--device", "cpu",
                         "--out", str(tmp_path / "g.png")], capsys)
    assert rc == 0 and (tmp_path / "g.png").is_file()


# ------------------------------------------------------------------ sample


def test_sample_writes_a_png(earlier_run, tmp_path, capsys):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    for png in (a, b):
        rc, out, _ = run_main(["sample", "--checkpoint", str(earlier_run / "checkpoint.npz"),
                               "--n", "16", "--out", str(png), "--seed", "3", "--device", "cpu"],
                              capsys)
        assert rc == 0 and str(png) in out
    assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert a.read_bytes() == b.read_bytes()  # same seed, same picture


@pytest.mark.parametrize("command", ["sample", "interpolate"])
def test_sample_and_interpolate_take_the_run_as_eval_does(command, assert_one_line_error, earlier_run,
                                                          tmp_path, capsys):
    """``minigan sample RUN`` draws what ``--checkpoint RUN`` draws; neither, or two different
    runs, is one line saying what to give."""
    pictures = []
    for given in ([str(earlier_run)], ["--checkpoint", str(earlier_run)],
                  [str(earlier_run), "--checkpoint", str(earlier_run / "checkpoint.npz")]):
        pictures.append(tmp_path / f"{len(pictures)}.png")
        rc, out, _ = run_main([command, *given, "--out", str(pictures[-1]), "--seed", "1",
                               "--device", "cpu"],
                              capsys)
        assert rc == 0 and str(pictures[-1]) in out
    assert pictures[0].read_bytes() == pictures[1].read_bytes() == pictures[2].read_bytes()
    rc, _, err = run_main([command, "--out", str(tmp_path / "n.png")], capsys)
    assert_one_line_error(rc, err, "which run?", f"python -m minigan {command} RUN")
    other = tmp_path / "other"
    shutil.copytree(earlier_run, other)
    rc, _, err = run_main([command, str(earlier_run), "--checkpoint", str(other),
                           "--out", str(tmp_path / "t.png")], capsys)
    assert_one_line_error(rc, err, "two runs given", "give one")
    assert not any((tmp_path / n).exists() for n in ("n.png", "t.png"))


def test_sample_without_a_seed_says_the_seed_that_draws_it_again(earlier_run, tmp_path, capsys):
    first, again = tmp_path / "first.png", tmp_path / "again.png"
    rc, out, _ = run_main(["sample", str(earlier_run), "--out", str(first), "--device", "cpu"],
                          capsys)
    assert rc == 0
    seed = re.search(r"; --seed (\d+) draws them again", out).group(1)
    rc, _, _ = run_main(["sample", str(earlier_run), "--out", str(again), "--seed", seed,
                         "--device", "cpu"], capsys)
    assert rc == 0 and first.read_bytes() == again.read_bytes()


def test_sample_from_a_missing_checkpoint(assert_one_line_error, tmp_path, capsys):
    rc, _, err = run_main(["sample", "--checkpoint", str(tmp_path / "x.npz"),
                           "--out", str(tmp_path / "g.png")], capsys)
    assert_one_line_error(rc, err, "x.npz")
    assert not (tmp_path / "g.png").exists()


def test_sample_draws_the_noise_of_gan_sample_noise(earlier_run, tmp_path, capsys):
    """`minigan sample --seed s` draws z = gan.sample_noise(n, ..., default_rng(s))."""
    from minigan.app import plotting, runs

    rc, _, _ = run_main(["sample", "--checkpoint", str(earlier_run), "--n", "9", "--seed", "5",
                         "--device", "cpu", "--out", str(tmp_path / "cli.png")], capsys)
    assert rc == 0
    G, spec, config = runs.load_generator(earlier_run / "checkpoint.npz")
    z = gan.sample_noise(9, spec.noise_dim, config["prior"], np.random.default_rng(5))
    plotting.save_grid(G.forward(z), tmp_path / "lib.png", value_range=(0.0, 1.0))
    assert (tmp_path / "cli.png").read_bytes() == (tmp_path / "lib.png").read_bytes()


def test_training_and_sampling_share_one_prior_sampler(train_args, data_dir, tmp_path, monkeypatch, capsys):
    """Every z of a uniform-prior run (steps, the fixed grid batch, `sample`) is drawn
    by gan.sample_noise with that prior, and the fixed batch is U(-1, 1)."""
    calls = []
    real = gan.sample_noise

    def spy(m, noise_shape, prior="gaussian", rng=None, dtype=None):
        calls.append((int(m), prior))
        return real(m, noise_shape, prior, rng, dtype)

    monkeypatch.setattr(gan, "sample_noise", spy)             # what the command line calls
    monkeypatch.setattr(gan.algorithm, "sample_noise", spy)   # what GAN.sample_noise calls
    run = tmp_path / "uniform"
    assert main(train_args(data_dir, run, "--epochs", "1", "--prior", "uniform")) == 0
    # the fixed grid batch, then per iteration one fake batch for D and one for G
    assert calls == [(64, "uniform")] + [(32, "uniform")] * 16
    fixed = checkpoint.load_checkpoint(run / "checkpoint.npz")["extra"]["fixed_z"]
    assert fixed.shape == (64, 100) and fixed.min() >= -1.0 and fixed.max() < 1.0
    calls.clear()
    rc, _, _ = run_main(["sample", "--checkpoint", str(run), "--n", "4", "--seed", "0",
                         "--device", "cpu", "--out", str(tmp_path / "u.png")], capsys)
    assert rc == 0 and calls == [(4, "uniform")]


def test_the_device_default_comes_from_the_backend(assert_one_line_error, train_args, data_dir, tmp_path,
                                                   monkeypatch, capsys):
    """Without --device, `train` runs where $MINIGAN_DEVICE says (backend.requested_device)."""

    monkeypatch.setenv("MINIGAN_DEVICE", "cpu")
    args = train_args(data_dir, tmp_path / "run", "--epochs", "1")
    i = args.index("--device")
    del args[i:i + 2]
    assert main(args) == 0
    assert json.loads((tmp_path / "run" / "config.json").read_text())["device"] == "cpu"
    monkeypatch.setenv("MINIGAN_DEVICE", "tpu")
    args[args.index("--out") + 1] = str(tmp_path / "run2")
    rc, _, err = run_main(args, capsys)
    assert_one_line_error(rc, err, "$MINIGAN_DEVICE", "must be one of 'cpu', 'gpu', 'auto'", '"tpu"')
    assert not (tmp_path / "run2").exists()


def test_a_resumed_run_goes_on_where_it_was_asked_to_run(assert_one_line_error, train_args,
                                                         data_dir, tmp_path, monkeypatch,
                                                         capsys):
    """Without --device and $MINIGAN_DEVICE, a resumed run took auto: a run started with
    --device cpu on a machine with a GPU went on on the GPU, not to the bit. It keeps its
    own; a run of the GPU's on a machine without one is told to give --device cpu."""
    monkeypatch.delenv("MINIGAN_DEVICE", raising=False)
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0        # --device cpu
    resume = ["train", "--resume", str(run), "--quiet", "--data-dir", str(data_dir),
              "--no-download"]
    assert main([*resume, "--epochs", "2"]) == 0
    assert json.loads((run / "config.json").read_text())["device"] == "cpu"
    if backend.gpu_available():     # a GPU here: the run of the GPU's below would go on there
        return
    with np.load(run / "checkpoint.npz") as f:                          # as if of the GPU's
        entries = dict(f)
    saved = json.loads(str(entries["config"]))
    entries["config"] = np.array(json.dumps({**saved, "device": "gpu"}, sort_keys=True))
    np.savez(run / "checkpoint.npz", **entries)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "device": "gpu"}))
    capsys.readouterr()
    rc, _, err = run_main([*resume, "--epochs", "3"], capsys)
    assert_one_line_error(rc, err, "--resume: the run was started to run on the GPU (--device "
                                   "gpu, or MINIGAN_DEVICE=gpu), where it goes on unless told",
                          "give --device cpu")
    monkeypatch.setenv("MINIGAN_DEVICE", "cpu")                         # told, by the variable
    assert main([*resume, "--epochs", "3"]) == 0
    # MINIGAN_DEVICE=gpu: its error alone, where a warning that the run stays on the CPU
    # came first (read when the checkpoint's models were built); a process of its own, which
    # reads the variable when minigan is imported
    env = {**os.environ, "MINIGAN_DEVICE": "gpu", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "minigan", *resume, "--epochs", "4"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert_one_line_error(done.returncode, done.stderr, "MINIGAN_DEVICE=gpu",
                          "needs a usable GPU")


# ------------------------------------------------------------------ kills, signals, full disks




def signal_after_rows(proc, run, rows, signum, timeout=120):
    """Send ``signum`` once ``run/metrics.csv`` has ``rows`` rows; return (rc, stdout, stderr)."""
    metrics_csv = Path(run) / "metrics.csv"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if metrics_csv.exists() and metrics_csv.read_text().count("\n") > rows:
            proc.send_signal(signum)
            break
        time.sleep(0.01)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def slow_data(write_tiny_mnist, tmp_path_factory):
    """512 images at batch 1: a 512-iteration epoch, long enough to be killed in it."""
    return write_tiny_mnist(tmp_path_factory.mktemp("slow"), n=512, seed=1)


def slow_args(data, out, *more):
    return [
        "train", "--split", "test", "--data-dir", str(data), "--no-download", "--device", "cpu",
        "--quiet", "--model", "vanilla", "--batch-size", "1", "--epochs", "1", "--out", str(out),
        *more]


@pytest.fixture(scope="module")
def slow_straight(slow_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("slow-runs") / "straight"
    assert main(slow_args(slow_data, out)) == 0
    return out


@pytest.mark.slow
def test_a_run_killed_before_its_first_checkpoint_starts_over(start_cli, assert_one_line_error,
                                                              assert_same_run, slow_data, slow_straight,
                                                              tmp_path, capsys):
    run = tmp_path / "killed"
    rc, _, _ = signal_after_rows(start_cli(*slow_args(slow_data, run)), run, 3, signal.SIGKILL)
    assert rc == -signal.SIGKILL and not (run / "checkpoint.npz").exists()
    # a fresh --out points at --resume, and --resume starts the run over from its config.json
    rc, _, err = run_main(slow_args(slow_data, run), capsys)
    assert_one_line_error(rc, err, "stopped before its first checkpoint", f"--resume {run}")
    rc, out, err = run_main(["train", "--resume", str(run), "--quiet", "--device", "cpu",
                             "--data-dir", str(slow_data), "--no-download"], capsys)
    assert rc == 0, err
    assert "starting it over with its saved settings" in out
    assert_same_run(slow_straight, run)


@pytest.mark.slow
@pytest.mark.parametrize("signum, said", [(signal.SIGTERM, "SIGTERM")] + (
    [(signal.SIGHUP, "SIGHUP (its terminal closed)")] if hasattr(signal, "SIGHUP") else []))
def test_sigterm_and_sighup_save_like_ctrl_c(start_cli, assert_same_run, metrics_rows, slow_data,
                                             slow_straight, tmp_path, signum, said):
    """SIGTERM exits 143 and SIGHUP (a closed terminal, which killed the run at once, losing
    what it had trained since its last checkpoint) 129, each after saving."""
    run = tmp_path / "terminated"
    rc, _, err = signal_after_rows(start_cli(*slow_args(slow_data, run)), run, 3, signum)
    assert rc == 128 + signum, err
    assert f"stopped by {said}; checkpoint saved at" in err and f"--resume {run}" in err
    assert "Traceback" not in err
    ckpt = checkpoint.load_checkpoint(run / "checkpoint.npz")
    assert ckpt["counters"]["iteration"] == len(metrics_rows(run)) > 0
    assert ckpt["extra"]["step_in_epoch"] == len(metrics_rows(run))
    assert main(["train", "--resume", str(run), "--quiet", "--device", "cpu",
                 "--data-dir", str(slow_data), "--no-download"]) == 0
    assert_same_run(slow_straight, run)


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_sighup_ignored_stays_ignored_and_signals_wait_for_a_swap(monkeypatch):
    """Under nohup (SIGHUP ignored) a run must outlive its terminal: minigan leaves an
    ignored SIGHUP alone, and answers an ignored SIGINT or SIGTERM as before (a shell starts
    `cmd &` with SIGINT ignored). A signal inside signals_deferred is taken when the block
    ends."""
    from minigan.app import signals

    monkeypatch.setattr(signal, "getsignal", lambda s: signal.SIG_IGN)
    assert signals.stopping_signals() == [signal.SIGINT, signal.SIGTERM]
    monkeypatch.undo()
    taken = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: taken.append(("after", signum)))
    try:
        with signals.signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):           # the handler would run at any of these bytecodes
                taken.append("inside")
            assert ("after", signal.SIGTERM) not in taken
        assert taken[-1] == ("after", signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)


def full_disk_on_save(monkeypatch, fail_on_call):
    """Make the ``fail_on_call``-th checkpoint save hit a full disk half way through."""
    calls = {"n": 0}
    real = np.savez

    def savez(f, **arrays):
        calls["n"] += 1
        if calls["n"] == fail_on_call:
            f.write(b"PK\x03\x04 half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(f, **arrays)

    monkeypatch.setattr(checkpoint.np, "savez", savez)


@pytest.mark.slow
def test_full_disk_at_the_first_save_names_the_file_and_can_start_over(assert_resume_starts_over, train_args,
                                                                       data_dir, tmp_path, monkeypatch,
                                                                       capsys):
    run, straight = tmp_path / "run", tmp_path / "straight"
    full_disk_on_save(monkeypatch, 1)
    rc, _, err = run_main(train_args(data_dir, run, "--epochs", "1"), capsys)
    monkeypatch.undo()
    assert rc == 1 and err.count("\n") == 1, err
    assert f"cannot write {run / 'checkpoint.npz'}: No space left on device" in err
    assert "no checkpoint was written yet" in err and f"--resume {run}" in err
    assert not list(run.glob(".checkpoint*")) and not (run / "checkpoint.npz").exists()
    assert_resume_starts_over(data_dir, run, straight, capsys)


@pytest.mark.slow
def test_full_disk_later_names_the_last_good_checkpoint(train_args, data_dir, tmp_path, monkeypatch,
                                                        capsys):
    run = tmp_path / "run"
    full_disk_on_save(monkeypatch, 2)
    rc, _, err = run_main(train_args(data_dir, run, "--epochs", "2"), capsys)
    monkeypatch.undo()
    assert rc == 1
    assert (f"the last good checkpoint is {run / 'checkpoint.npz'} (1 epoch, iteration 8)"
            in err)
    assert checkpoint.load_checkpoint(run / "checkpoint.npz")["counters"]["iteration"] == 8


@pytest.mark.slow
def test_the_command_to_continue_pastes_into_a_shell(train_args, data_dir, tmp_path, monkeypatch,
                                                     capsys):
    """A run folder whose path holds spaces (and other letters): the command a stopped run
    prints to go on is one a shell reads back as that folder."""
    run = tmp_path / "my run (é 数字)"
    full_disk_on_save(monkeypatch, 2)
    rc, _, err = run_main(train_args(data_dir, run, "--epochs", "2"), capsys)
    monkeypatch.undo()
    assert rc == 1 and "continue with: " in err, err
    command = shlex.split(err.strip().split("continue with: ")[1])
    assert command[-2:] == ["--resume", str(run)]
    assert main([*command[command.index("train"):], "--quiet"]) == 0


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_on_a_metrics_row_names_the_file_and_the_last_good_checkpoint(
        metrics_rows, train_args, data_dir, tmp_path, monkeypatch, capsys):
    """A metrics row that a full disk refuses (its bytes go to /dev/full): the run stops in
    one line naming metrics.csv and the last good checkpoint, exit code 1, and resumes.
    (The row used to stay in the file's buffer, written again when the file was closed,
    whose second failure replaced that line with a bare "[Errno 28]", exit code 2.)"""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    capsys.readouterr()
    real_open = open
    monkeypatch.setattr(runlog, "open", lambda path, *a, **kw: real_open(
        "/dev/full" if Path(path) == run / "metrics.csv" else path, *a, **kw), raising=False)
    rc, _, err = run_main(["train", "--resume", str(run), "--epochs", "2", "--quiet"], capsys)
    monkeypatch.undo()
    assert rc == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"cannot write {run / 'metrics.csv'}: No space left on device" in err
    assert f"the last good checkpoint is {run / 'checkpoint.npz'} (1 epoch, iteration 8)" in err
    assert [int(r["iteration"]) for r in metrics_rows(run)] == list(range(1, 9))
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 0


# ------------------------------------------------------------------ divergence


def test_non_finite_lr_is_refused(assert_one_line_error, train_args, data_dir, tmp_path, capsys):
    for value in ("inf", "nan", "1e999"):
        rc, _, err = run_main(train_args(data_dir, tmp_path / "run", "--lr", value), capsys)
        assert_one_line_error(rc, err, "--lr", "finite")
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match="\"lr\" must be a finite positive number"):
        train_module.resolve_config({"lr": float("inf")})


def test_a_diverging_run_stops_at_the_first_nan(metrics_rows, train_args, data_dir, tmp_path, capsys):
    run = tmp_path / "run"
    rc, _, err = run_main(train_args(data_dir, run, "--lr", "1e30"), capsys)
    assert rc == 1
    line = [x for x in err.splitlines() if x.startswith("minigan: error: ")]
    assert len(line) == 1 and "Traceback" not in err
    assert "diverged at iteration 1" in line[0] and "learning rate" in line[0]
    assert "no checkpoint was written" in line[0]
    assert not (run / "checkpoint.npz").exists() and metrics_rows(run) == []
    assert not (run / "loss_curves.png").exists()                   # no row to draw


def test_a_run_diverging_under_instance_noise_wider_than_the_pixels_names_it(train_args, data_dir,
                                                                              tmp_path, capsys):
    """``--instance-noise 1e300`` diverged with the advice of a smaller learning rate."""
    rc, _, err = run_main(train_args(data_dir, tmp_path / "run", "--instance-noise", "1e300"),
                          capsys)
    line = [x for x in err.splitlines() if x.startswith("minigan: error: ")]
    assert rc == 1 and len(line) == 1 and "diverged at iteration" in line[0]
    assert "or --instance-noise 1e+300, noise far wider than the pixels' range" in line[0]
    assert "a smaller --lr, a smaller --instance-noise, or check the data" in line[0]


@pytest.mark.rendered_curves      # the picture drawn by matplotlib, not a blank one
def test_divergence_keeps_the_last_good_checkpoint(metrics_rows, run_state, train_args, data_dir, tmp_path,
                                                   after_iteration, monkeypatch, capsys):
    run = tmp_path / "run"

    def g_of_nans(model, stats):
        for p in model.G.params.values():
            p[...] = np.nan
        stats["g_loss"] = float("nan")

    after_iteration(11, g_of_nans)
    rc, _, err = run_main(train_args(data_dir, run, "--epochs", "3"), capsys)
    monkeypatch.undo()
    assert rc == 1 and "diverged at iteration 11 (epoch 2): g_loss=nan" in err
    assert f"the last good checkpoint is {run / 'checkpoint.npz'} (1 epoch, iteration 8)" in err
    arrays, _, counters = run_state(run)  # loads: every array finite
    assert counters == {"iteration": 8, "epoch": 1}
    assert [int(r["iteration"]) for r in metrics_rows(run)] == list(range(1, 11))
    assert not (run / "samples" / "epoch_0002.png").exists()
    with Image.open(run / "loss_curves.png") as curves:      # what led there, drawn
        assert curves.size == (800, 600)


# ------------------------------------------------------------------ leftovers


def test_a_resume_into_a_samples_folder_it_cannot_write_is_refused_before_training(
        assert_one_line_error, earlier_run, tmp_path, monkeypatch, capsys):
    """samples/ read-only (or made immutable) in a folder that is not: refused before the
    first iteration, not after an epoch of training whose grid could not be written; said
    without naming --out, which was not given (but as the way on)."""
    run = tmp_path / "run"
    shutil.copytree(earlier_run, run)
    access = os.access
    monkeypatch.setattr(runs.os, "access", lambda path, mode, **kw: Path(path) != run / "samples"
                        and access(path, mode, **kw))
    monkeypatch.setattr(gan.GAN, "train_iteration", lambda *a: pytest.fail("trained"))
    rc, _, err = run_main(["train", "--resume", str(run), "--epochs", "2", "--quiet"], capsys)
    assert_one_line_error(rc, err, f"cannot write the run folder {run}, where the run goes on: "
                                   f"no write permission in {run / 'samples'}; continue it in "
                                   f"another folder with --resume {run} --out NEW")


def test_resume_removes_stale_temporary_files(earlier_run, data_dir, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(earlier_run, run)
    stale = [run / ".checkpoint.npz.k2j3h4ab.tmp", run / ".loss_curves.png.abc_1234.tmp",
             run / "samples" / ".epoch_0002.png.x1x1x1x1.tmp", run / ".config.json.zzzzzzzz.tmp",
             run / ".scores.csv.q7_0zz1w.tmp", run / ".metrics.csv.a0a0a0a0.tmp"]
    for path in stale:
        path.write_bytes(b"\0" * 100)
    (run / "notes.tmp").write_text("mine\n")
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--device", "cpu",
                 "--data-dir", str(data_dir), "--no-download"]) == 0
    assert not any(p.exists() for p in stale)
    assert (run / "notes.tmp").read_text() == "mine\n"


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["torn last line", "empty file"])
def test_resume_repairs_a_metrics_file_damaged_by_a_kill(metrics_rows, train_args, damage, data_dir,
                                                         tmp_path):
    straight, run = tmp_path / "straight", tmp_path / "run"
    assert main(train_args(data_dir, straight, "--epochs", "2")) == 0
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    path = run / "metrics.csv"
    if damage == "torn last line":
        with open(path, "a") as f:
            f.write("1")  # the start of a row the kill cut short
        expected = metrics_rows(straight)
    else:        # refused (its rows up to the checkpoint are gone), then moved out: goes on
        path.write_text("")
        expected = metrics_rows(straight)[8:]
        assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--device",
                     "cpu", "--data-dir", str(data_dir), "--no-download"]) == 2
        path.unlink()
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--device", "cpu",
                 "--data-dir", str(data_dir), "--no-download"]) == 0
    assert path.read_text().splitlines()[0] == ",".join(train_module.METRICS_COLUMNS)
    assert metrics_rows(run) == expected


def test_resume_refuses_a_foreign_metrics_file(assert_one_line_error, earlier_run, data_dir, tmp_path,
                                               capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(earlier_run, run)
    (run / "metrics.csv").write_text("step,loss\n1,0.5\n")
    before = snapshot(run)
    rc, _, err = run_main(["train", "--resume", str(run), "--epochs", "2", "--quiet",
                           "--device", "cpu", "--data-dir", str(data_dir), "--no-download"],
                          capsys)
    assert_one_line_error(rc, err, "metrics.csv", "not a minigan metrics file")
    assert snapshot(run) == before
    header = ",".join(train_module.METRICS_COLUMNS)
    (run / "metrics.csv").write_text(f"{header},mine\n")    # one column added at its end
    rc, _, err = run_main(["train", "--resume", str(run), "--epochs", "2", "--quiet",
                           "--device", "cpu", "--data-dir", str(data_dir), "--no-download"],
                          capsys)
    # the header shown is cut at 60 characters, where the two looked the same
    assert_one_line_error(rc, err, "metrics.csv", "not a minigan metrics file", ": it adds mine,")


# ------------------------------------------------------------------ messages


@pytest.mark.parametrize("command", ["train", "sample"])
def test_a_negative_seed_names_seed(assert_one_line_error, train_args, command, earlier_run, data_dir,
                                    tmp_path, capsys):
    if command == "train":
        argv = train_args(data_dir, tmp_path / "run", "--seed", "-1")
    else:
        argv = ["sample", "--checkpoint", str(earlier_run), "--seed", "-1",
                "--out", str(tmp_path / "g.png")]
    rc, _, err = run_main(argv, capsys)
    assert_one_line_error(rc, err, "--seed", "non-negative integer")
    assert list(tmp_path.iterdir()) == []


def test_sample_out_errors_name_out(assert_one_line_error, earlier_run, tmp_path, capsys):
    base = ["sample", "--checkpoint", str(earlier_run), "--n", "4", "--device", "cpu"]
    rc, _, err = run_main(base + ["--out", str(tmp_path / "nodir" / "x.png")], capsys)
    assert_one_line_error(rc, err, "--out", "nodir", "does not exist")
    assert ".tmp" not in err
    rc, _, err = run_main(base + ["--out", "/proc/foo.png"], capsys)
    assert_one_line_error(rc, err, "--out /proc/foo.png")
    assert ".tmp" not in err
    rc, _, err = run_main(base + ["--out", str(tmp_path / "x.gif")], capsys)
    assert_one_line_error(rc, err, "--out", "x.gif", ".png", ".jpg")
    assert list(tmp_path.iterdir()) == []


def test_eval_never_replaces_a_file_training_wrote(assert_one_line_error, earlier_run, capsys):
    """eval --out RUN/config.json replaced the run's settings with its report, without a
    word: a run stopped before its first checkpoint could no longer be started over."""
    before = snapshot(earlier_run)
    out = earlier_run / "config.json"
    rc, _, err = run_main(["eval", str(earlier_run), "--device", "cpu", "--n", "40",
                           "--no-parzen", "--out", str(out)], capsys)
    assert_one_line_error(rc, err, f"--out {out} is the run's settings (what --resume reads), "
                          "written by its training; choose another --out (without --out the "
                          "report is")
    assert snapshot(earlier_run) == before


@pytest.mark.parametrize("argv, said", [
    (["eval", "RUN", "--draws", "1000000"], "--draws: must be an integer from 1 to 100"),
    (["eval", "RUN", "--tstr-epochs", "100000"], "--tstr-epochs: must be an integer from 0 to 200"),
    (["toy", "ring8", "--iterations", str(10 ** 9)], "--iterations: must be an integer from 1 "
                                                     "to 1,000,000"),
    (["toy", "ring8", "--snapshots", "501"], "--snapshots: must be an integer from 0 to 500 "
                                             "(frames kept in memory"),
    (["toy", "ring8", "--step-by-step", "10000"], "--step-by-step: must be an integer from 0 "
                                                  "to 250"),
    (["toy", "ring8", "--seeds", "1000"], "--seeds: must be an integer from 1 to 100"),
])
def test_options_whose_work_grows_with_them_are_bounded(argv, said, capsys,
                                                        assert_one_line_error):
    """`--draws 1000000` and `--tstr-epochs 100000` were taken (days of scoring), a toy's
    `--snapshots` and `--step-by-step` kept every frame in memory until its GIF (about 5 GB
    for `--step-by-step 10000`), `--iterations 10**9` ran for ever: refused as they are read."""
    rc, _, err = run_main(argv, capsys)
    assert_one_line_error(rc, err, said)


@pytest.mark.parametrize("error, code", [(errno.ENOSPC, 1), (errno.EACCES, 2)])
def test_eval_writes_its_report_before_its_pictures(earlier_run, tmp_path, capsys, data_dir,
                                                    monkeypatch, error, code):
    """A full disk at its picture of the classes lost the report of the minutes of scoring
    (the pictures came first, the report last). A full disk is a command that could not go
    on (exit 1, as a run's), a destination it may not write a choice to make again (2)."""
    from minigan.app import plotting

    def full(*args, **kwargs):
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(plotting, "save_grid", full)
    out = tmp_path / "report.json"
    rc, _, err = run_main(["eval", str(earlier_run), "--device", "cpu", "--n", "40",
                           "--no-parzen", "--data-dir", str(data_dir), "--out", str(out)], capsys)
    assert rc == code and os.strerror(error) in err and f"the report {out} was written" in err
    assert json.loads(out.read_text())["generated"]["n"] == 40


def test_a_picture_that_cannot_be_written_is_named_as_it_was_given(earlier_run, tmp_path,
                                                                     capsys, monkeypatch):
    """``sample RUN`` without --out spoke of "--out RUN/samples.png", an option not given:
    a default place is named by its path alone, a given one with its option."""
    from minigan.app import plotting

    def refused(*args, **kwargs):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(plotting, "save_grid", refused)
    rc, _, err = run_main(["sample", str(earlier_run), "--device", "cpu", "--n", "4"], capsys)
    assert rc == 2 and err.startswith(f"minigan: error: {earlier_run / 'samples.png'}: cannot "
                                      "write it (Permission denied)"), err
    out = tmp_path / "g.png"
    rc, _, err = run_main(["sample", str(earlier_run), "--device", "cpu", "--n", "4", "--out",
                           str(out)], capsys)
    assert rc == 2 and err.startswith(f"minigan: error: --out {out}: cannot write it"), err
    monkeypatch.undo()
    (earlier_run / "samples.png").mkdir()            # refused before the work, as named
    try:
        rc, _, err = run_main(["sample", str(earlier_run), "--device", "cpu", "--n", "4"],
                              capsys)
    finally:
        (earlier_run / "samples.png").rmdir()
    assert rc == 2 and err == (f"minigan: error: {earlier_run / 'samples.png'} is a folder, "
                               "where this command writes a file; move it, or give --out\n")


def test_eval_says_when_it_replaces_its_report(earlier_run, tmp_path, capsys, data_dir):
    out = tmp_path / "report.json"
    args = ["eval", str(earlier_run), "--device", "cpu", "--n", "40", "--no-parzen",
            "--data-dir", str(data_dir), "--out", str(out)]
    rc, said, _ = run_main(args, capsys)
    assert rc == 0 and f"wrote {out} and" in said and "replacing" not in said
    rc, said, _ = run_main(args, capsys)
    assert rc == 0 and f"wrote {out} (replacing the file there) and" in said


def test_eval_reports_the_iteration_of_the_weights_it_scored(train_args, data_dir, tmp_path,
                                                           capsys, monkeypatch):
    """eval read the checkpoint's counters again after scoring: a run that saved meanwhile
    had its later iteration written beside the earlier weights' scores."""
    import shutil

    from minigan.lab import scoring

    run, later = tmp_path / "run", tmp_path / "later"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    assert main(train_args(data_dir, later, "--epochs", "2")) == 0
    scored = scoring.evaluate_generator

    def training_beside(*args, **kwargs):     # the run saves a checkpoint while eval scores
        shutil.copy(later / "checkpoint.npz", run / "checkpoint.npz")
        return scored(*args, **kwargs)

    monkeypatch.setattr(scoring, "evaluate_generator", training_beside)
    rc, said, _ = run_main(["eval", str(run), "--device", "cpu", "--n", "40", "--no-parzen",
                            "--data-dir", str(data_dir), "--out", str(tmp_path / "e.json")],
                           capsys)
    report = json.loads((tmp_path / "e.json").read_text())["generated"]
    assert rc == 0 and report["epoch"] == 1 and "(1 whole epoch" in said


@pytest.mark.parametrize("inside", ["samples", "samples/deeper", "fresh"])
def test_a_run_or_a_toy_inside_a_runs_folder_is_refused(inside, assert_one_line_error, train_args,
                                                       earlier_run, data_dir, capsys):
    """--out r1/samples made a second run among the first's grids (its checkpoint, config and
    metrics beside them), and a toy's --out there mixed its pictures in: a remedy that says
    to remove what is in the way would remove a run."""
    before = snapshot(earlier_run)
    out = earlier_run / inside
    rc, _, err = run_main(train_args(data_dir, out, "--epochs", "1"), capsys)
    assert_one_line_error(rc, err, f"--out {out} is inside the folder of the training run "
                          f"{earlier_run.resolve()}; a run is written into a folder of its own")
    rc, _, err = run_main(["toy", "xy", "--out", str(out)], capsys)
    assert_one_line_error(rc, err, "a toy is written into a folder of its own")
    assert snapshot(earlier_run) == before


def test_a_folder_above_with_files_of_the_same_names_but_no_run_is_no_run(train_args, data_dir,
                                                                           tmp_path, capsys):
    """A project's own config.json beside a samples/ folder, or an archive named
    checkpoint.npz, is not a minigan run: runs below it are not refused."""
    project = tmp_path / "project"
    (project / "samples").mkdir(parents=True)
    (project / "config.json").write_text('{"model": "resnet50", "lr": 0.1}')
    np.savez(project / "checkpoint.npz", weights=np.zeros(3))
    assert main(train_args(data_dir, project / "runs" / "a", "--epochs", "1")) == 0


def test_a_run_nested_before_the_rule_resumes_in_place(train_args, data_dir, earlier_run,
                                                       tmp_path, capsys):
    outer = tmp_path / "outer"
    shutil.copytree(earlier_run, outer)
    inner = outer / "inner"
    shutil.copytree(earlier_run, inner)          # as a run written there before
    assert main(["train", "--resume", str(inner), "--epochs", "2", "--quiet", "--device",
                 "cpu", "--no-download"]) == 0


def test_classifier_train_never_replaces_a_file_training_wrote(assert_one_line_error,
                                                               earlier_run, capsys):
    before = snapshot(earlier_run)
    rc, _, err = run_main(["classifier", "train", "--out", str(earlier_run / "checkpoint.npz")],
                          capsys)
    assert_one_line_error(rc, err, "is the run's checkpoint, written by its training")
    assert snapshot(earlier_run) == before


def test_default_folders_under_a_link_to_nowhere_stop_at_once(train_args, data_dir, tmp_path,
                                                             monkeypatch, capsys):
    """runs/ a link to a missing folder: every default name raised FileExistsError (from a
    folder above), taken for another run's, and the run tried the next name forever."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").symlink_to(tmp_path / "missing" / "runs")
    args = [a for a in train_args(data_dir, "unused", "--epochs", "1")]
    i = args.index("--out")
    del args[i:i + 2]
    rc, _, err = run_main(args, capsys)
    assert rc == 2 and "a folder above it is a file, or a link to nowhere" in err


def test_a_run_into_a_toys_folder_is_refused(assert_one_line_error, train_args, data_dir, tmp_path,
                                             capsys):
    toy = tmp_path / "toy"
    assert main(["toy", "xy", "--out", str(toy), "--iterations", "20"]) == 0
    before = snapshot(toy)
    rc, _, err = run_main(train_args(data_dir, toy, "--epochs", "1"), capsys)
    assert_one_line_error(rc, err, f"--out {toy} holds a toy run's results (metrics.json")
    assert snapshot(toy) == before
    (toy.parent / "mine").mkdir()               # a folder of one's own with a gif is not a toy's
    (toy.parent / "mine" / "a.gif").write_bytes(b"GIF89a")
    assert main(train_args(data_dir, toy.parent / "mine", "--epochs", "1")) == 0


@pytest.mark.parametrize("command", ["sample", "interpolate"])
@pytest.mark.parametrize("picture, said", [("loss_curves.png", "the run's loss curves"),
                                           ("samples/epoch_0001.png", "the run's grid of epoch 1")])
def test_sample_and_interpolate_never_replace_what_training_drew(command, picture, said,
                                                                 assert_one_line_error,
                                                                 earlier_run, tmp_path, capsys,
                                                                 monkeypatch):
    """--out naming a picture of the run (its loss curves, an epoch's grid) replaced it
    without a word: the run's record of its training, lost."""
    before = snapshot(earlier_run)
    rc, _, err = run_main([command, str(earlier_run), "--device", "cpu", "--out",
                           str(earlier_run / picture)], capsys)
    assert_one_line_error(rc, err, f"--out {earlier_run / picture} is {said}, written by its "
                          "training; choose another --out")
    assert snapshot(earlier_run) == before
    other = tmp_path / "copy"           # in another run's folder as well
    shutil.copytree(earlier_run, other)
    rc, _, err = run_main([command, str(earlier_run), "--device", "cpu", "--out",
                           str(other / picture)], capsys)
    assert_one_line_error(rc, err, said)
    rc, out, _ = run_main([command, str(earlier_run), "--device", "cpu", "--out",
                           str(other / "samples" / "mine.png")], capsys)
    assert rc == 0 and (other / "samples" / "mine.png").is_file()
    # named from inside the folder, as a relative path (it was written over)
    picture = Path(picture)
    monkeypatch.chdir(other / picture.parent)
    before = snapshot(other)
    rc, _, err = run_main([command, str(earlier_run), "--device", "cpu", "--out",
                           picture.name], capsys)
    assert_one_line_error(rc, err, said)
    assert snapshot(other) == before
    # through ".." or a link to the folder (the atomic write follows both)
    (other / "elsewhere").mkdir()
    (other / "to_run").symlink_to(other / picture.parent if picture.parent.name else other)
    for named in (other / "elsewhere" / ".." / picture, other / "to_run" / picture.name):
        rc, _, err = run_main([command, str(earlier_run), "--device", "cpu", "--out",
                               str(named)], capsys)
        assert_one_line_error(rc, err, said)
    assert snapshot(other) == before
    # a name training never writes is the user's own (epoch_1.png: training writes epoch_0001)
    if picture.parent.name == "samples":
        rc, out, _ = run_main([command, str(earlier_run), "--device", "cpu", "--out",
                               "epoch_1.png"], capsys)
        assert rc == 0 and (other / "samples" / "epoch_1.png").is_file()


@pytest.mark.parametrize("more, said", [([], "wrote 1 sample from"),
                                         (["--gradients"], "wrote 1 sample from")])
def test_sample_counts_one_digit_as_one(more, said, earlier_run, tmp_path, capsys):
    """``sample --n 1`` said "wrote 1 samples", and with --gradients "wrote 1 digits"."""
    rc, out, _ = run_main(["sample", str(earlier_run), "--n", "1", "--seed", "0", "--device",
                           "cpu", "--out", str(tmp_path / "one.png"), *more], capsys)
    assert rc == 0 and said in out, out


@pytest.mark.parametrize("command", [["sample", "--n", "4"], ["sample", "--n", "4", "--gradients"],
                                     ["interpolate", "--pairs", "1"]])
def test_a_picture_written_over_another_says_so(command, earlier_run, tmp_path, capsys):
    """A second ``sample`` or ``interpolate`` to one --out replaced the first picture without
    a word."""
    argv = [*command, str(earlier_run), "--seed", "0", "--device", "cpu", "--out",
            str(tmp_path / "p.png")]
    rc, first, _ = run_main(argv, capsys)
    assert rc == 0 and "replacing" not in first
    rc, second, _ = run_main(argv, capsys)
    assert rc == 0 and f"{tmp_path / 'p.png'}" in second and "replacing the file there" in second


@pytest.mark.parametrize("name, magic", [("x.jpg", b"\xff\xd8\xff"), ("x.JPEG", b"\xff\xd8\xff"),
                                         ("x.tiff", b"II*\x00"), ("x.png", b"\x89PNG")])
def test_sample_writes_the_format_the_extension_names(name, magic, earlier_run, tmp_path, capsys):
    rc, out, _ = run_main(["sample", "--checkpoint", str(earlier_run), "--n", "4", "--device",
                           "cpu", "--out", str(tmp_path / name)], capsys)
    assert rc == 0 and str(tmp_path / name) in out
    assert (tmp_path / name).read_bytes().startswith(magic)


def test_quiet_still_says_where_the_run_went_and_how_it_ended(train_args, data_dir, tmp_path, capsys):
    rc, out, err = run_main(train_args(data_dir, tmp_path / "run", "--epochs", "1"), capsys)
    assert rc == 0
    assert f"run folder {tmp_path / 'run'}" in out
    assert re.search(r"done: 1 epoch, 8 iterations in \d+\.\d s of training, \d+\.\d ms an "
                     r"iteration; samples in ", out), out
    assert str(tmp_path / "run" / "checkpoint.npz") in out
    assert "it/s" not in out + err  # no progress bar


def test_no_command_prints_the_usage(capsys):
    rc, out, err = run_main([], capsys)
    assert rc == 2 and err == ""
    assert out.startswith("usage: minigan") and "train" in out and "sample" in out


@pytest.mark.parametrize("argv, left_over, where", [
    (["sample", "run", "extra"], "extra", "minigan sample --help"),
    (["classifier", "show", "extra"], "extra", "minigan classifier show --help"),
    (["--version-typo"], "--version-typo", "minigan --help"),
    (["--bogus", "sample", "run"], "--bogus", "minigan --help"),          # before the command
    (["classifier", "--bogus", "show"], "--bogus", "minigan classifier --help"),
    (["classifier", "train", "--out", "x", "sample"], "sample", "minigan classifier train --help"),
    (["sample", "run", "sample"], "sample", "minigan sample --help"),     # the command's name again
    (["classifier", "show", "show"], "show", "minigan classifier show --help"),
])
def test_words_left_over_point_at_the_help_of_the_command_given(argv, left_over, where, capsys):
    rc, out, err = run_main(argv, capsys)
    assert rc == 2
    meant = "; did you mean --version?" if left_over == "--version-typo" else ""
    assert f"unrecognized arguments: {left_over}{meant} (see '{where}')" in err, err


@pytest.mark.parametrize("argv, meant", [
    (["train", "--epoks", "1"], "--epochs"),
    (["train", "--data_dir=x"], "--data-dir"),
    (["eval", "run", "--no-parzn"], "--no-parzen"),
    (["classifier", "train", "--sead", "1"], "--seed"),
    (["train", "--zzzz", "1"], None),
    (["train", "--download"], None),            # not --no-download: the opposite
    (["sample", "run", "--ema"], None),         # not --no-ema
    (["train", "--", "--epochs"], None),        # after --: a value
    (["train", "--epochs", "1", "--", "--lr"], None),
])
def test_a_misspelt_option_is_answered_with_the_option_it_is_close_to(argv, meant,
                                                                      assert_one_line_error,
                                                                      capsys):
    rc, _, err = run_main(argv, capsys)
    assert_one_line_error(rc, err, "unrecognized arguments")
    assert (f"did you mean {meant}?" in err) if meant else "did you mean" not in err, err


@pytest.mark.parametrize("argv, name, owners, where", [
    (["interpolate", "run", "--n", "5"], "--n", "minigan sample and minigan eval",
     "minigan interpolate"),                        # was read as --no-ema: "arguments: 5"
    (["interpolate", "run", "--n"], "--n", "minigan sample and minigan eval",
     "minigan interpolate"),                        # was --no-ema, without a word
    (["train", "--label=3", "--conditional"], "--label", "minigan sample and minigan interpolate",
     "minigan train"),                              # was "ambiguous option"
])
def test_another_commands_option_is_not_read_as_an_abbreviation(argv, name, owners, where,
                                                                 assert_one_line_error, capsys):
    rc, _, err = run_main(argv, capsys)
    assert_one_line_error(rc, err, f"unrecognized arguments: {name}; {name} is an option of "
                          f"{owners}, not of {where} (see '{where} --help')")


def test_every_command_and_option_says_what_it_is():
    """Each command's --help opens with a description, and each option and argument has a
    line of help (the help of one used to end at the option's name)."""
    from minigan.app.cli import build_parser

    def parsers(parser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in dict.fromkeys(action.choices.values()):
                    yield from parsers(child)

    for parser in parsers(build_parser()):
        assert parser.description, parser.prog
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, f"{parser.prog} {action.option_strings or action.dest}"


def test_version(capsys):
    import minigan

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"minigan {minigan.__version__}"


def test_sample_help_describes_the_command(capsys):
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    out = capsys.readouterr().out
    assert "Draw samples from a trained generator" in out


def test_eval_help_gives_the_default_out_of_a_run_and_of_a_file_of_digits(capsys, monkeypatch,
                                                                          tmp_path, data_dir):
    """--out's help said "(default: the run folder)"; a file of digits is reported beside it."""
    monkeypatch.setenv("COLUMNS", "1000")
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert ("(default: eval.json in the run folder; for a file of digits D.npy, D_eval.json "
            "beside it)") in text
    np.save(tmp_path / "D.npy", np.random.default_rng(0).uniform(0, 1, (40, 784)))
    assert main(["eval", str(tmp_path / "D.npy"), "--n", "40", "--no-parzen", "--data-dir",
                 str(data_dir), "--no-download", "--device", "cpu"]) == 0
    assert (tmp_path / "D_eval.json").is_file()


def _at_import(tmp_path, module, command, on_find="raise KeyboardInterrupt", **run):
    """Run ``python *command`` with a sitecustomize whose import hook runs the lines
    ``on_find`` when ``module`` is looked up (a Ctrl-C arriving during that import)."""
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(
        "import os, signal, sys, time\n"
        "class CtrlC:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {module!r}:\n"
        + textwrap.indent(on_find, " " * 12) + "\n"
        "sys.meta_path.insert(0, CtrlC())\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)])}
    return subprocess.run([sys.executable, *command], capture_output=True, text=True, env=env,
                          timeout=60, **run)


def test_ctrl_c_during_the_imports_prints_no_traceback(tmp_path):
    """A Ctrl-C while NumPy loads: one line and exit code 130, no traceback."""
    for command in (["-m", "minigan", "train"], ["-c", "from minigan.__main__ import run; run()"]):
        proc = _at_import(tmp_path, "numpy", command)
        assert proc.returncode == 130, proc.stderr
        assert proc.stderr == "minigan: interrupted\n"


def test_ctrl_c_before_the_run_begins_says_the_folder_was_not_touched(train_args, data_dir, tmp_path,
                                                               monkeypatch, capsys):
    """A Ctrl-C while the run groups its images (k-means, before its folder exists): exit 130
    and one line saying where it stood, that nothing was written and what to do."""
    from minigan.gan import clusters

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(clusters, "kmeans", ctrl_c)
    rc, _, err = run_main(train_args(data_dir, tmp_path / "run", "--model", "mlp", "--epochs", "1"),
                          capsys)
    assert rc == 130
    assert err == ("minigan: interrupted before the run began (loading the data or a checkpoint, "
                   "grouping the images); nothing was written: run the same command "
                   "again\n")
    assert not (tmp_path / "run").exists()


def test_grouping_the_images_shows_its_iterations_on_a_terminal(train_args, data_dir, tmp_path,
                                                               monkeypatch):
    """k-means takes half a minute on the 60,000 training images, after one line: on a
    terminal a bar says its iteration (and how many images the last one moved: the bar is
    redrawn ten times a second, more rarely than the tiny split's iterations come); in a log
    (not a terminal) and with --quiet, nothing but the line."""
    from minigan.gan import clusters

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    told, real = [], clusters.kmeans

    def kmeans_told(*args, progress=None, **kwargs):
        def heard(restart, iteration, moved):
            told.append((iteration, moved))
            progress(restart, iteration, moved)
        return real(*args, progress=None if progress is None else heard, **kwargs)

    monkeypatch.setattr(clusters, "kmeans", kmeans_told)
    for terminal, quiet, shown in ((True, False, True), (False, False, False), (True, True, False)):
        err, told[:] = Terminal() if terminal else io.StringIO(), []
        monkeypatch.setattr(sys, "stderr", err)
        args = train_args(data_dir, tmp_path / f"run{terminal}{quiet}", "--model", "mlp",
                          "--epochs", "1", "--clusters", "3")
        if not quiet:
            args.remove("--quiet")
        assert main(args) == 0
        said = err.getvalue()
        assert ("k-means: iteration 0 (at most 100), 00:00 elapsed" in said) is shown, said
        assert bool(told) is shown                  # the bar hears every iteration
        if shown:
            assert told[0][0] == 1 and told[-1][1] == 0


def test_config_json_records_what_was_used_and_what_was_asked(train_args, data_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("MINIGAN_DEVICE", raising=False)
    args = train_args(data_dir, tmp_path / "run", "--epochs", "1")
    i = args.index("--device")
    del args[i:i + 2]   # auto
    args.remove("--no-download")
    assert main(args) == 0
    text = (tmp_path / "run" / "config.json").read_text()
    config = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    assert config["device"] == backend.device() and config["asked"]["device"] == "auto"
    assert config["data_dir"] == str(data_dir.resolve()) and config["download"] is False
    assert config["asked"]["download"] is True and config["asked"]["data_dir"] == str(data_dir)
    assert "resume" not in config and "quiet" not in config


@pytest.mark.slow
def test_a_second_ctrl_c_in_the_first_epoch_points_at_a_resume_that_works(assert_resume_starts_over,
                                                                          train_args, data_dir, tmp_path,
                                                                          after_iteration, monkeypatch,
                                                                          capsys):
    run, straight = tmp_path / "run", tmp_path / "straight"

    def twice_ctrl_c(model, stats):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)  # the second stops at once, unsaved

    after_iteration(3, twice_ctrl_c)
    rc, _, err = run_main(train_args(data_dir, run, "--epochs", "1"), capsys)
    monkeypatch.undo()
    assert rc == 130 and not (run / "checkpoint.npz").exists()
    assert f"before the first checkpoint; start it over with: python -m minigan train --resume {run}" in err
    assert_resume_starts_over(data_dir, run, straight, capsys)


def test_a_second_ctrl_c_after_the_first_saved_says_it_was_saved(train_args, data_dir, tmp_path,
                                                                  after_iteration, monkeypatch, capsys):
    """The second Ctrl-C comes while the first's stop draws the loss curves, after its
    checkpoint: the message says the checkpoint was saved, not "not saved (second signal)"."""
    run = tmp_path / "run"
    real_curves = train_module.Trainer._save_loss_curves

    def curves_then_ctrl_c(self):
        real_curves(self)
        os.kill(os.getpid(), signal.SIGINT)

    after_iteration(3)
    monkeypatch.setattr(train_module.Trainer, "_save_loss_curves", curves_then_ctrl_c)
    rc, _, err = run_main(train_args(data_dir, run, "--epochs", "1"), capsys)
    monkeypatch.undo()
    assert rc == 130 and "Traceback" not in err, err
    assert checkpoint.load_checkpoint(run / "checkpoint.npz")["counters"]["iteration"] == 3
    assert f"checkpoint saved at {run / 'checkpoint.npz'}: iteration 3 (0 epochs done and 3 " \
           "iterations into epoch 1)" in err, err


@pytest.mark.slow
def test_ctrl_c_while_the_run_folder_is_made_saves_iteration_0(assert_same_run, train_args, data_dir,
                                                               tmp_path, monkeypatch, capsys):
    run, straight = tmp_path / "run", tmp_path / "straight"
    real_prepare = train_module.Trainer._prepare_out

    def prepare_then_ctrl_c(self):
        real_prepare(self)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(train_module.Trainer, "_prepare_out", prepare_then_ctrl_c)
    rc, _, err = run_main(train_args(data_dir, run, "--epochs", "1"), capsys)
    monkeypatch.undo()
    assert rc == 130 and "checkpoint saved" in err
    assert checkpoint.load_checkpoint(run / "checkpoint.npz")["counters"]["iteration"] == 0
    assert main(["train", "--resume", str(run), "--quiet", "--device", "cpu",
                 "--data-dir", str(data_dir), "--no-download"]) == 0
    assert main(train_args(data_dir, straight, "--epochs", "1")) == 0
    assert_same_run(straight, run)


def test_an_out_that_cannot_be_created_names_out(assert_one_line_error, train_args, data_dir, capsys):
    rc, _, err = run_main(train_args(data_dir, "/proc/minigan-run", "--epochs", "1"), capsys)
    assert_one_line_error(rc, err, "--out /proc/minigan-run")


# ------------------------------------------------------------------ --eval-every


def scores_csv(run_dir):
    with open(Path(run_dir) / "scores.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.rendered_curves      # the picture drawn by matplotlib, not a blank one
@pytest.mark.slow
def test_eval_every_scores_the_generator_and_resumes_exactly(assert_same_run, run_state, train_args, data_dir,
                                                             tmp_path, capsys):
    straight, split = tmp_path / "straight", tmp_path / "split"
    score = ("--eval-every", "1", "--eval-n", "64")
    rc, out, _ = run_main(train_args(data_dir, straight, "--epochs", "2", *score), capsys)
    assert rc == 0
    assert "epoch 2 scores (64 digits; real held-out digits in brackets): IS" in out
    rows = scores_csv(straight)
    assert [(r["epoch"], r["iteration"]) for r in rows] == [("1", "8"), ("2", "16")]
    for r in rows:
        assert 1.0 <= float(r["inception_score"]) <= 10.0
        assert 0 <= int(r["classes_covered"]) <= 10
        assert float(r["fid"]) >= 0 and 0 <= float(r["precision"]) <= 1
    # scoring draws its own noise: the training is the one of a run without it
    plain = tmp_path / "plain"
    assert main(train_args(data_dir, plain, "--epochs", "2")) == 0
    assert run_state(plain)[0].keys() == run_state(straight)[0].keys()
    for key, value in run_state(plain)[0].items():
        assert np.array_equal(value, run_state(straight)[0][key]), key
    assert not (plain / "scores.csv").exists()
    # and 1 epoch + resume + 1 epoch scores the same digits the same way
    assert main(train_args(data_dir, split, "--epochs", "1", *score)) == 0
    assert main(["train", "--resume", str(split), "--epochs", "2", "--quiet",
                 "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]) == 0
    assert_same_run(straight, split)
    assert scores_csv(split) == rows
    with Image.open(split / "loss_curves.png") as curves:    # with the scores' panels
        assert curves.format == "PNG" and curves.size == (800, 900)


def test_eval_every_without_the_test_split_is_refused_before_anything_is_written(write_tiny_mnist,
        tmp_path, capsys):
    folder = tmp_path / "train_only"
    folder.mkdir()
    train_dir = write_tiny_mnist(tmp_path / "tiny")
    for name in ("images-idx3", "labels-idx1"):   # the same digits, named as the train split
        (train_dir / f"t10k-{name}-ubyte").rename(folder / f"train-{name}-ubyte")
    out = tmp_path / "run"
    rc, _, err = run_main(["train", "--data-dir", str(folder), "--no-download", "--device",
                           "cpu", "--quiet", "--batch-size", "32", "--out", str(out),
                           "--epochs", "1", "--eval-every", "1"], capsys)
    assert rc == 2 and "minigan: error:" in err and "t10k" in err
    assert "--eval-every 1 scores against the MNIST test split" in err
    assert not out.exists()


@pytest.mark.parametrize("looks, said", [
    (1.0, "epoch 1: the generated digits cover 0% of the real digits' neighbourhoods"),
    (0.0, "epoch 1: the generated digits look like none of the real ones (precision 0.000")])
def test_eval_every_says_when_the_generator_collapsed(looks, said, train_args, data_dir,
                                                     tmp_path, monkeypatch, capsys):
    """A score whose coverage is under half the real digits' says mode collapse beside its
    line, as minigan eval does beside its table (precision alone can look good then), where
    its digits look real (precision and density ``looks``); digits that look like no real
    one (an untrained generator's noise) are said to, not to have collapsed."""
    from minigan.lab import scoring

    real_evaluate = scoring.evaluate_generator

    def collapsed(*args, **kwargs):
        return {**real_evaluate(*args, **kwargs), "coverage": 0.0, "precision": looks,
                "density": looks}

    monkeypatch.setattr(scoring, "evaluate_generator", collapsed)
    assert main(train_args(data_dir, tmp_path / "run", "--epochs", "1", "--eval-every", "1",
                           "--eval-n", "40")) == 0
    out = capsys.readouterr().out
    assert said in out
    assert ("(mode collapse)" in out) == bool(looks)


def test_eval_n_without_eval_every_warns_that_nothing_is_scored(train_args, data_dir, tmp_path,
                                                                 capsys):
    assert main(train_args(data_dir, tmp_path / "run", "--epochs", "1", "--eval-n", "100")) == 0
    err = capsys.readouterr().err
    assert "minigan: warning: --eval-n 100 without --eval-every: nothing is scored" in err
    assert main(train_args(data_dir, tmp_path / "two", "--epochs", "1")) == 0
    assert "--eval-n" not in capsys.readouterr().err


def test_eval_every_with_a_cached_classifier_of_other_weights_says_so(train_args, data_dir,
                                                                     tmp_path, capsys,
                                                                     monkeypatch):
    """The scores of --eval-every were made by the cached classifier without a word, where
    the docs' were made by the one minigan ships."""
    from minigan.data import load_mnist
    from minigan.lab import classifier as clf_lib

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    x, y = load_mnist("test", data_dir=data_dir, scale="sigmoid")[:2]
    clf_lib.save(clf_lib.Classifier(clf_lib.train_classifier(x[:64], y[:64], epochs=1, seed=0)),
                 clf_lib.cache_path())
    argv = train_args(data_dir, tmp_path / "run", "--epochs", "1", "--eval-every", "1",
                      "--eval-n", "100")
    assert main(argv) == 0
    assert (f"minigan: warning: --eval-every 1: scored with the cached classifier "
            f"{clf_lib.cache_path()}") in capsys.readouterr().err


def test_eval_every_of_a_conditional_run_scores_its_label_agreement(train_args, data_dir, tmp_path,
                                                                    monkeypatch, capsys):
    """A conditional run's scores say how often its digits read as the class G was asked
    for, from the same reading of the classifier as minigan eval's (the trainer's scores
    left it out); a plain run's column is blank."""
    from minigan.lab import classifier as clf_lib
    from minigan.lab import scoring

    real_evaluate, drawn = scoring.evaluate_generator, []
    monkeypatch.setattr(scoring, "evaluate_generator",
                        lambda *a, **kw: real_evaluate(*a, **kw, images_out=drawn))
    for name, more in (("c", ["--conditional"]), ("p", [])):
        drawn.clear()
        rc, printed, err = run_main(train_args(data_dir, tmp_path / name, "--epochs", "1", *more,
                                               "--eval-every", "1", "--eval-n", "40"), capsys)
        assert rc == 0, err
        (row,) = scores_csv(tmp_path / name)
        if name == "p":
            assert row["label_agreement"] == "" and "label agreement" not in printed
            continue
        read = clf_lib.load_default(None).predict(drawn[0][:40])
        right = read == np.arange(40) % 10          # the labels asked for, 0 .. 9 in turn
        assert float(row["label_agreement"]) == pytest.approx(right.mean(), abs=1e-5)
        least = min(range(10), key=lambda c: (right[c::10].mean(), c))
        assert (f", label agreement {100 * right.mean():.1f}% (the least: digit {least}, "
                f"{100 * right[least::10].mean():.1f}%)") in printed


@pytest.mark.parametrize("columns", [runlog.SCORE_COLUMNS[:10], runlog.SCORE_COLUMNS[:8]])
def test_scores_of_an_earlier_version_are_read_with_blanks(columns, tmp_path):
    """A scores.csv written before label agreement (or density and coverage) was scored is
    read, the scores it lacks blank; one of other columns is refused."""
    row = {k: "1" for k in columns}
    (tmp_path / "scores.csv").write_text(runlog.csv_text(columns, [row]))
    (read,) = runlog.read_scores(tmp_path / "scores.csv", 1)
    assert tuple(read) == runlog.SCORE_COLUMNS
    assert all(read[k] == ("1" if k in columns else "") for k in runlog.SCORE_COLUMNS)
    (tmp_path / "scores.csv").write_text(runlog.csv_text(columns[:-1], [{k: "1" for k in
                                                                         columns[:-1]}]))
    with pytest.raises(runlog.RunFileError, match="is not a minigan scores file"):
        runlog.read_scores(tmp_path / "scores.csv", 1)


@pytest.mark.slow
def test_eval_every_scores_a_conditional_run_through_its_moving_average(train_args, data_dir, tmp_path,
                                                                         capsys):
    out = tmp_path / "cond"
    rc, printed, err = run_main(train_args(data_dir, out, "--epochs", "1", "--conditional",
                                           "--ema", "0.9", "--eval-every", "1", "--eval-n", "40"),
                                capsys)
    assert rc == 0, err
    assert "epoch 1 scores (40 digits" in printed
    (row,) = scores_csv(out)
    assert row["epoch"] == "1" and 1.0 <= float(row["inception_score"]) <= 10.0


@pytest.mark.parametrize("argv, words", [
    (["sample", "--n", "1000000000000"], ["argument --n", "from 1 to 10,000"]),
    (["interpolate", "--steps", "1000000000000"], ["argument --steps", "from 2 to 100"]),
    (["interpolate", "--pairs", "101"], ["argument --pairs", "from 1 to 100"]),
])
def test_picture_sizes_are_bounded_where_they_are_parsed(argv, words, assert_one_line_error,
                                                         earlier_run, tmp_path, capsys):
    """A grid of a million million digits is refused by its option, not by a MemoryError
    traceback."""
    out = tmp_path / "x.png"
    rc, _, err = run_main([*argv, str(earlier_run), "--out", str(out), "--device", "cpu"], capsys)
    assert_one_line_error(rc, err, *words)
    assert not out.exists()


def test_sample_draws_its_digits_in_batches(earlier_run, tmp_path, monkeypatch, capsys):
    """G's forward passes take GENERATE_BATCH digits at most (a convolutional G's buffers grow
    with its batch), and the picture is the one a single pass draws."""
    from minigan.app import commands
    from minigan.nn import layers

    whole, batched = tmp_path / "whole.png", tmp_path / "batched.png"
    argv = ["sample", str(earlier_run), "--n", "10", "--seed", "4", "--device", "cpu", "--out"]
    assert run_main([*argv, str(whole)], capsys)[0] == 0
    sizes = []
    forward = layers.generated_images
    monkeypatch.setattr(commands, "GENERATE_BATCH", 4)
    monkeypatch.setattr(layers, "generated_images", lambda G, z: sizes.append(len(z)) or forward(G, z))
    assert run_main([*argv, str(batched)], capsys)[0] == 0
    assert sizes == [4, 4, 2]
    assert whole.read_bytes() == batched.read_bytes()


def test_running_out_of_memory_is_one_line_naming_the_command(earlier_run, tmp_path, monkeypatch,
                                                               capsys):
    from minigan.app import commands

    def too_much(*args, **kwargs):
        raise MemoryError("Unable to allocate 745. GiB for an array with shape (1000000000, 100)")

    monkeypatch.setattr(commands, "generate", too_much)
    rc, _, err = run_main(["sample", str(earlier_run), "--out", str(tmp_path / "x.png"),
                           "--device", "cpu"], capsys)
    assert rc == 1
    assert err == ("minigan: error: minigan sample ran out of memory (Unable to allocate 745. GiB "
                   "for an array with shape (1000000000, 100)); ask for less (a smaller --n), or "
                   "use a machine with more memory\n")
    assert not (tmp_path / "x.png").exists()


def test_a_run_out_of_memory_says_how_to_ask_for_less(train_args, data_dir, tmp_path,
                                                     monkeypatch, capsys):
    """Its folder holds config.json now: the smaller batch goes into a new run (a resumed one
    keeps its batch size, so --resume with another --batch-size would be refused)."""
    from minigan.app import trainer

    def too_much(self):
        raise MemoryError("Unable to allocate 40. GiB")

    monkeypatch.setattr(trainer.Trainer, "run", too_much)
    rc, _, err = run_main(train_args(data_dir, tmp_path / "run"), capsys)
    assert rc == 1 and "minigan train ran out of memory" in err
    assert "a smaller --batch-size in a new run with another --out" in err, err
    assert "no checkpoint was written yet; nothing of it was written" in err, err


def test_a_run_out_of_memory_half_way_names_its_last_good_checkpoint(train_args, data_dir,
                                                                     tmp_path, monkeypatch,
                                                                     capsys):
    """As a full disk or a divergence does (exit 1, the last good checkpoint named): it gave
    only the advice to ask for less, and no way to go on."""
    from minigan.gan import algorithm

    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    capsys.readouterr()

    def too_much(self, *args, **kwargs):
        raise MemoryError("Unable to allocate 40. GiB")

    monkeypatch.setattr(algorithm.GAN, "train_iteration", too_much)
    rc, _, err = run_main(["train", "--resume", str(run), "--epochs", "2", "--quiet",
                           "--device", "cpu", "--data-dir", str(data_dir), "--no-download"],
                          capsys)
    assert rc == 1 and "minigan train ran out of memory (Unable to allocate 40. GiB; the last " \
        f"good checkpoint is {run / 'checkpoint.npz'} (1 epoch, iteration 8), kept; continue " \
        f"with: " in err and f"train --resume {run})" in err, err


def test_weights_gone_to_inf_with_finite_losses_end_as_a_divergence(earlier_run, data_dir,
                                                                   tmp_path, monkeypatch, capsys):
    """A checkpoint's optimizer state out of scale can drive a weight to inf while the losses
    stay finite: the save refuses it, and the run ends as a divergence does (exit 1, the last
    good checkpoint named and kept), not as bad input."""
    import shutil

    from minigan.app import checkpoint, trainer
    run = tmp_path / "run"
    shutil.copytree(earlier_run, run)
    kept = (run / "checkpoint.npz").read_bytes()

    def not_finite(path, **kwargs):
        raise checkpoint.NotFinite(f"not saving {path}: array 'G/0.b' holds NaN or inf", "G/0.b")

    monkeypatch.setattr(trainer.checkpoint, "save_checkpoint", not_finite)
    rc, _, err = run_main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--device",
                           "cpu", "--data-dir", str(data_dir), "--no-download"], capsys)
    assert rc == 1, err
    assert "training diverged by iteration" in err and "'G/0.b' holds NaN or inf" in err
    assert "the last good checkpoint is" in err and "Traceback" not in err
    assert (run / "checkpoint.npz").read_bytes() == kept


def test_ctrl_c_while_the_trainer_is_imported_prints_no_traceback(tmp_path):
    """The command line's own late import (the trainer's errors) is inside its Ctrl-C
    handling: one line and exit code 130."""
    proc = _at_import(tmp_path, "minigan.app.trainer", ["-m", "minigan", "train", "--help"])
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr == "minigan: interrupted\n"


def test_ctrl_c_that_an_import_turns_into_an_import_error_is_still_a_ctrl_c(tmp_path):
    """NumPy's C extensions turn a Ctrl-C during their import into an ImportError (whose
    message blames the installation): the command line knows it was a Ctrl-C."""
    proc = _at_import(
        tmp_path, "numpy", ["-m", "minigan", "train", "--help"],
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    time.sleep(5)\n"
        "except KeyboardInterrupt:\n"
        "    raise ImportError('PyCapsule_Import could not import module') from None",
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr == "minigan: interrupted\n"


@pytest.mark.parametrize("unbuffered", ["1", ""], ids=["printed-at-once", "printed-at-exit"])
@pytest.mark.slow
def test_a_reader_that_leaves_early_does_not_stop_the_command(real_mnist, tmp_path, unbuffered):
    """``minigan eval DIGITS.npy | head -0``: the pipe closes before anything is printed;
    the command still scores the digits and writes its report, exit 0, no "Broken pipe"
    (before: "minigan: error: [Errno 32] Broken pipe", exit 2 and no report when stdout was
    written at once; "Exception ignored ... BrokenPipeError", exit 120, at exit otherwise)."""
    from minigan.data import load_mnist
    np.save(tmp_path / "g.npy", load_mnist("test", data_dir=str(real_mnist), scale="sigmoid",
                                           download=False)[0][:100])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": unbuffered}
    with subprocess.Popen([sys.executable, "-m", "minigan", "eval", str(tmp_path / "g.npy"),
                           "--data-dir", str(real_mnist), "--no-download", "--no-parzen",
                           "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env) as proc:     # its pipes closed at the end of the block
        proc.stdout.close()                     # the reader leaves before the first line
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 0, err
    assert "Broken pipe" not in err and "BrokenPipeError" not in err, err
    assert json.loads((tmp_path / "g_eval.json").read_text())["generated"]["n"] == 100


def test_a_command_without_stdout_runs(monkeypatch, capsys):
    """``minigan --version >&-``: no stdout at all (sys.stdout is None); print skips it, and
    the reader-may-leave wrapper must not stand in for it (an AttributeError from its
    flush, and the wrapper left installed)."""
    monkeypatch.setattr(sys, "stdout", None)
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and sys.stdout is None


class ClosedPipe:
    """A stream whose reader left: every write and flush raises BrokenPipeError."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self):
        raise OSError("no descriptor")


def test_an_error_line_for_a_reader_that_left_does_not_stop_the_command(monkeypatch):
    """``minigan ... 2>&1 | head``: the one-line error goes nowhere once the reader has left,
    and the exit code is still the command's (the BrokenPipeError went up from main)."""
    monkeypatch.setattr(sys, "stderr", ClosedPipe())
    assert main(["sample", "/no/such/run"]) == 2
    assert isinstance(sys.stderr, ClosedPipe)          # put back as it was


class HungUpTerminal(ClosedPipe):
    """A terminal that closed: every write and flush raises EIO."""

    def write(self, text):
        raise OSError(errno.EIO, "Input/output error")

    def flush(self):
        raise OSError(errno.EIO, "Input/output error")

    def isatty(self):
        return True


def test_a_terminal_that_hung_up_is_a_reader_gone_and_other_errors_still_raise(monkeypatch):
    """After SIGHUP a write to the closed terminal raises EIO: the command goes on (it saves,
    says where, exits with its code), as for a pipe whose reader left."""
    monkeypatch.setattr(sys, "stderr", HungUpTerminal())
    assert main(["sample", "/no/such/run"]) == 2

    class FailingDisk(HungUpTerminal):       # EIO of a file: an error, not a reader gone
        def isatty(self):
            return False

    monkeypatch.setattr(sys, "stderr", FailingDisk())
    with pytest.raises(OSError, match="Input/output error"):
        main(["sample", "/no/such/run"])

    class FullDisk(ClosedPipe):
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sys, "stderr", FullDisk())
    with pytest.raises(OSError, match="No space left"):
        main(["sample", "/no/such/run"])


@pytest.mark.parametrize("seconds, iterations, said", [
    (316.4, 14040, "5 min 16 s of training, 22.5 ms an iteration"),
    (59.4, 1000, "59.4 s of training, 59.4 ms an iteration"),
    (0.0, 0, "0.0 s of training"),
])
def test_the_last_line_says_the_training_time_and_the_mean_iteration(seconds, iterations, said):
    """The figures the docs' tables give for a run, from its own last line."""
    assert train_module._training_time(seconds, iterations) == said


def test_eval_every_beyond_the_run_s_last_epoch_warns_that_nothing_is_scored(
        train_args, data_dir, tmp_path, capsys):
    """``--eval-every 5 --epochs 2`` scored nothing and said nothing: the option was taken
    and had no effect. Resumed, the epochs it trains are the ones that count."""
    assert main(train_args(data_dir, tmp_path / "run", "--epochs", "2", "--eval-every", "5")) == 0
    err = capsys.readouterr().err
    assert ("minigan: warning: --eval-every 5: no epoch this run trains (epochs 1 to 2) is a "
            "multiple of 5, so nothing is scored during the run; give --eval-every 2 or less, "
            "or --epochs 5") in err
    assert not (tmp_path / "run" / "scores.csv").exists()
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "3", "--eval-every", "2",
                 "--quiet"]) == 0
    assert "(epoch 3) is a multiple of 2" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "4", "--eval-every", "2",
                 "--eval-n", "40", "--quiet"]) == 0
    assert "--eval-every" not in capsys.readouterr().err            # epoch 4 is scored
    assert (tmp_path / "run" / "scores.csv").read_text().count("\n") == 2


def test_an_eval_n_beyond_the_real_digits_is_said_and_the_line_gives_the_count_scored(
        train_args, data_dir, tmp_path, capsys):
    """``--eval-n 8000`` with the test split alone scored 5,000 digits (as many as the real
    held-out row) and each line said "8000 digits"."""
    from minigan.lab import scoring

    held = len(scoring.Reference.load(str(data_dir), download=False).held_out)
    assert main(train_args(data_dir, tmp_path / "run", "--epochs", "1", "--eval-every", "1",
                           "--eval-n", str(held + 7))) == 0
    out, err = capsys.readouterr()
    assert (f"minigan: warning: --eval-n {held + 7}: each evaluation scores {held:,} digits, as "
            f"many as the real held-out digits it is scored beside; give --eval-n {held} or "
            "less") in err
    assert f"epoch 1 scores ({held} digits; real held-out digits in brackets)" in out
    assert main(train_args(data_dir, tmp_path / "fits", "--epochs", "1", "--eval-every", "1",
                           "--eval-n", str(held))) == 0
    out, err = capsys.readouterr()
    assert "--eval-n" not in err and f"epoch 1 scores ({held} digits;" in out


def test_eval_every_of_a_run_on_the_test_split_alone_says_it_is_scored_on_what_it_trains_on(
        train_args, data_dir, tmp_path, capsys):
    """Its lines called the test digits it trains on "real held-out digits", without a word,
    where minigan eval of the same run warns of it."""
    assert main(train_args(data_dir, tmp_path / "run", "--epochs", "1", "--eval-every", "1",
                           "--eval-n", "40")) == 0
    err = capsys.readouterr().err
    assert ("minigan: warning: --eval-every 1: this run trains on the MNIST test split, the only "
            "split at hand, and each score compares its digits with test digits it trains on") in err
    assert main(train_args(data_dir, tmp_path / "plain", "--epochs", "1")) == 0
    assert "trains on the MNIST test split" not in capsys.readouterr().err


def test_long_steps_say_what_they_do_on_a_terminal_alone(monkeypatch, earlier_run, data_dir,
                                                         tmp_path):
    """eval was silent for 20 to 50 s (the Parzen window, TSTR, --draws), a toy for 30 s: a
    line says what is under way where someone waits at a terminal, none in a log or a pipe."""
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for stream, said in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        assert main(["eval", str(earlier_run), "--device", "cpu", "--n", "40", "--draws", "2",
                     "--data-dir", str(data_dir), "--out", str(tmp_path / "e.json")]) == 0
        line = (f"minigan: scoring the digits of {earlier_run / 'checkpoint.npz'}, 2 draws of "
                "the noise (the Parzen window takes the longest; --no-parzen leaves it out) ...")
        assert (line in stream.getvalue()) == said, stream.getvalue()


def test_a_small_data_set_s_grids_come_every_few_epochs_and_at_each_checkpoint(
        train_args, data_dir, tmp_path, monkeypatch):
    """An epoch of fewer iterations than GRID_ITERATIONS draws its grid every few epochs
    (ceil(GRID_ITERATIONS / iterations an epoch)) and after each epoch that writes a
    checkpoint (the first, a scored one, the last, a timed one; a resumed run's first), by
    the same rule after a resume. MNIST's test split, at every model's batch, at the quarter
    of an hour's batches of 256 and at the DCGAN's 64 with WGAN-GP's 5 D steps, has an epoch
    of at least GRID_ITERATIONS: a grid each epoch."""
    from minigan.app import trainer
    from minigan.gan import models
    smallest = min([10_000 // 256, 10_000 // (64 * 5)] +
                   [10_000 // spec.batch_size for spec in models.MODELS.values()])
    assert trainer.GRID_ITERATIONS <= smallest            # the test split: every epoch
    monkeypatch.setattr(trainer, "GRID_ITERATIONS", 20)   # 256 images, batch 32: 8 an epoch,
    monkeypatch.setattr(trainer, "CHECKPOINT_EVERY", 1e9)  # a grid every 3 epochs
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0

    def grids():
        return sorted(int(p.stem.split("_")[1]) for p in (run / "samples").glob("epoch_*.png"))

    assert grids() == [0, 1]                               # 1: the first checkpoint, the last
    assert main(["train", "--resume", str(run), "--epochs", "10", "--eval-every", "5",
                 "--eval-n", "40", "--quiet", "--data-dir", str(data_dir), "--no-download",
                 "--device", "cpu"]) == 0
    assert grids() == [0, 1, 2, 3, 5, 6, 9, 10]   # 2: the resumed run's first checkpoint;
                                                  # 3, 6, 9: every 3; 5, 10: scored (10: last)
    monkeypatch.setattr(trainer, "CHECKPOINT_EVERY", 0.0)  # a checkpoint after each epoch
    assert main(["train", "--resume", str(run), "--epochs", "13", "--quiet", "--data-dir",
                 str(data_dir), "--no-download", "--device", "cpu"]) == 0
    assert grids() == [0, 1, 2, 3, 5, 6, 9, 10, 11, 12, 13]
