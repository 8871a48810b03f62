"""Where eval, sample and interpolate write, and what they do when they cannot: the
destination is checked before the work, files are written whole or not at all, and a
picture of a run goes into its run folder unless --out says otherwise."""

import errno
import json
import os
import re

import numpy as np
import pytest

from minigan.app import checkpoint, fileio, folderlock, plotting
from minigan.app.cli import main
from minigan.lab import scoring


@pytest.fixture(scope="module")
def run_dir(train_args, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(train_args(data_dir, out, "--epochs", "1")) == 0
    return out


def test_eval_refuses_a_missing_destination_before_the_work(run_dir, tmp_path, monkeypatch,
                                                            capsys, assert_one_line_error):
    def no_work(*args, **kwargs):
        raise AssertionError("the evaluation started")

    monkeypatch.setattr(scoring.Reference, "load", no_work)
    for out, words in ((str(tmp_path / "missing" / "x.json"), "does not exist"),
                       (str(tmp_path / "missing") + os.sep, "missing/eval.json: its folder"),
                       (str(tmp_path / "report"), "neither a .json file nor a folder")):
        rc = main(["eval", str(run_dir), "--out", out, "--device", "cpu"])
        assert_one_line_error(rc, capsys.readouterr().err, "--out", words)
    assert not (tmp_path / "missing").exists()
    assert not (tmp_path / "report").exists()     # was a JSON file named "report"


def test_eval_out_a_folder_writes_eval_json_in_it(run_dir, data_dir, tmp_path, capsys):
    """--out naming a folder (there, or with a trailing slash) writes eval.json in it."""
    (tmp_path / "reports").mkdir()
    for out in (str(tmp_path / "reports"), str(tmp_path / "reports") + os.sep):
        assert main(["eval", str(run_dir), "--out", out, "--n", "40", "--no-parzen",
                     "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]) == 0
        assert str(tmp_path / "reports" / "eval.json") in capsys.readouterr().out
        assert (tmp_path / "reports" / "eval.json").is_file()
        (tmp_path / "reports" / "eval.json").unlink()


def test_eval_into_a_run_folder_in_use_is_refused(run_dir, monkeypatch, capsys,
                                                  assert_one_line_error):
    monkeypatch.setattr(scoring.Reference, "load", lambda *a, **k: pytest.fail("evaluated"))
    with folderlock.FolderLock(run_dir, "a training run"):
        rc = main(["eval", str(run_dir), "--device", "cpu"])
    assert_one_line_error(rc, capsys.readouterr().err, "in use by minigan process",
                          str(os.getpid()))


@pytest.mark.slow
def test_eval_on_a_full_disk_leaves_no_half_written_file(run_dir, real_mnist, monkeypatch, capsys,
                                                         assert_one_line_failure):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", full)
    rc = main(["eval", str(run_dir), "--n", "40", "--no-parzen", "--data-dir", str(real_mnist),
               "--device", "cpu"])
    assert_one_line_failure(rc, capsys.readouterr().err, str(run_dir / "eval"),   # exit 1
                            "No space left on device")
    assert not (run_dir / "eval.json").exists() and not (run_dir / "eval_neighbours.png").exists()
    assert not (run_dir / "eval_classes.png").exists()
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]


def test_a_picture_written_into_a_run_folder_removes_its_own_temporary_file_left_by_a_kill(
        run_dir, capsys):
    """``sample`` and ``interpolate`` killed while their picture was written leave its
    temporary file in the run folder: the next write of that picture removes it, under the
    folder's lock, and nothing else."""
    stale = [run_dir / ".samples.png.k2j3h4ab.tmp", run_dir / ".interpolation.png.abc_1234.tmp"]
    other = run_dir / ".[x]samples.png.k2j3h4ab.tmp"
    for path in stale + [other]:
        path.write_bytes(b"\0" * 100)
    assert main(["sample", str(run_dir), "--n", "4", "--device", "cpu"]) == 0
    assert main(["interpolate", str(run_dir), "--steps", "3", "--pairs", "2",
                 "--device", "cpu"]) == 0
    capsys.readouterr()
    assert not any(p.exists() for p in stale) and other.exists()
    other.unlink()


def test_sample_and_interpolate_write_into_the_run_folder(run_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)                  # not into the folder the command runs in
    assert main(["sample", "--checkpoint", str(run_dir), "--n", "4", "--device", "cpu"]) == 0
    assert main(["interpolate", "--checkpoint", str(run_dir), "--steps", "3", "--pairs", "2",
                 "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert (run_dir / "samples.png").is_file() and (run_dir / "interpolation.png").is_file()
    assert str(run_dir / "samples.png") in out and not list(tmp_path.iterdir())
    assert main(["sample", "--checkpoint", str(run_dir), "--n", "4", "--device", "cpu",
                 "--out", str(tmp_path / "mine.png")]) == 0
    assert (tmp_path / "mine.png").is_file()


def test_eval_neighbours_picture_says_which_row_is_generated(run_dir, data_dir, tmp_path,
                                                             monkeypatch, capsys):
    """eval_neighbours.png draws generated digits above their nearest training digits: its
    rows say which is which (the picture alone did not)."""
    drawn, save_grid = {}, plotting.save_grid

    def spy(images, path, **kwargs):
        drawn[path.name] = (len(images), kwargs.get("row_labels"))
        save_grid(images, path, **kwargs)
    monkeypatch.setattr(plotting, "save_grid", spy)
    assert main(["eval", str(run_dir), "--out", str(tmp_path / "e.json"), "--n", "40",
                 "--no-parzen", "--data-dir", str(data_dir), "--no-download",
                 "--device", "cpu"]) == 0
    assert "e_neighbours.png (the generated digits nearest a training digit, each above it)" \
        in capsys.readouterr().out
    n, labels = drawn["e_neighbours.png"]
    assert list(labels) == ["generated", "training"] and n % 2 == 0 and n > 0


def test_eval_s_first_line_says_what_its_seconds_are(run_dir, data_dir, tmp_path, capsys):
    """The first line of eval ended in a bare ", 6 s": it is the time the scoring took."""
    np.save(tmp_path / "d.npy", np.random.default_rng(0).uniform(0, 1, (40, 784)))
    for what in (str(run_dir), str(tmp_path / "d.npy")):
        assert main(["eval", what, "--out", str(tmp_path / "e.json"), "--n", "40", "--no-parzen",
                     "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]) == 0
        first = capsys.readouterr().out.splitlines()[0]
        assert first.startswith(f"minigan eval {what}: ") and re.search(r"\), scored in \d+ s$",
                                                                         first), first


def test_eval_s_first_line_says_when_n_was_cut_to_the_real_digits(run_dir, data_dir, tmp_path,
                                                                  capsys):
    """``--n`` beyond the real held-out digits scores as many as those: the first line said
    "5000 generated digits" after the default --n 10000, without a word on why."""
    held_out = len(scoring.Reference.load(str(data_dir), download=False).held_out)
    np.save(tmp_path / "d.npy", np.random.default_rng(0).uniform(0, 1, (held_out + 10, 784)))
    base = ["--out", str(tmp_path / "e.json"), "--no-parzen", "--data-dir", str(data_dir),
            "--no-download", "--device", "cpu"]
    iters = run_counters(run_dir)["iteration"]
    for what, n, first in (
            (str(run_dir), held_out + 5, f"{held_out} generated digits ({iters} iterations "
                                         "trained (1 whole epoch), G's weights; "
                                         f"--n {held_out + 5:,} cut to {held_out:,}, as many as "
                                         "the real held-out digits), scored in"),
            (str(tmp_path / "d.npy"), held_out + 5,
             f"a random {held_out:,} of its {held_out + 10:,} digits (--scale sigmoid; --n "
             f"{held_out + 5:,} cut to {held_out:,}, as many as the real held-out digits), "
             "scored in"),
            (str(run_dir), held_out, f"{held_out} generated digits ({iters} iterations "
                                     "trained (1 whole epoch), G's weights), scored in")):
        assert main(["eval", what, "--n", str(n), *base]) == 0
        assert capsys.readouterr().out.splitlines()[0].startswith(f"minigan eval {what}: {first}")


def test_eval_of_an_npz_of_several_arrays_says_it_holds_them(tmp_path, capsys,
                                                             assert_one_line_error):
    """A toy's field.npz or a classifier given to eval was refused for its first entry that
    is not numbers ("entry 'loss': has dtype <U3; digits are numbers"), not for holding
    several arrays where a file of digits holds one."""
    np.savez(tmp_path / "field.npz", loss=np.array("gan"), xs=np.zeros(5), d=np.zeros((5, 5)))
    np.savez(tmp_path / "none.npz")
    for name, said in (("field.npz", "holds 3 arrays (d, loss, xs); a file of digits holds one"),
                       ("none.npz", "holds no array; a file of digits holds one")):
        rc = main(["eval", str(tmp_path / name), "--device", "cpu"])
        assert_one_line_error(rc, capsys.readouterr().err, f"{tmp_path / name} {said}")


def run_counters(run_dir):
    """The counters of ``run_dir``'s checkpoint: its epochs and iterations."""
    return checkpoint.read_meta(run_dir / "checkpoint.npz")["counters"]


def test_eval_of_a_checkpoint_taken_in_an_epoch_says_its_iterations(run_dir, data_dir, tmp_path,
                                                                     monkeypatch, capsys):
    """A checkpoint saved by Ctrl-C 50 iterations into the first epoch was said to be of
    "epoch 0", as if untrained: the line gives the iterations trained and the whole epochs
    they make (it said "1 epoch and 78 iterations" of a run of one epoch of 78 iterations,
    read as 1 epoch and 78 more)."""
    read_meta = checkpoint.read_meta

    def stopped_in_an_epoch(path):
        meta = read_meta(path)
        return {**meta, "counters": {"epoch": 0, "iteration": 5}}
    monkeypatch.setattr(checkpoint, "read_meta", stopped_in_an_epoch)
    assert main(["eval", str(run_dir), "--out", str(tmp_path / "e.json"), "--n", "40",
                 "--no-parzen", "--data-dir", str(data_dir), "--no-download",
                 "--device", "cpu"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "40 generated digits (5 iterations trained (0 whole epochs), G's weights)" in first
    report = json.loads((tmp_path / "e.json").read_text())
    assert (report["generated"]["epoch"], report["generated"]["iteration"]) == (0, 5)


def test_eval_leaves_the_arguments_it_was_given_as_they_were(run_dir, data_dir, tmp_path, capsys):
    """eval set a run's defaults (--seed 0, --draws 1) on the caller's arguments: the same
    arguments then given for a file of digits were refused as "--seed and --draws set a
    generator's scoring", though the caller gave neither."""
    from minigan.app import cli, commands

    np.save(tmp_path / "d.npy", np.random.default_rng(0).uniform(0, 1, (40, 784)))
    args = cli.build_parser().parse_args(
        ["eval", str(run_dir), "--out", str(tmp_path / "e.json"), "--n", "40", "--no-parzen",
         "--data-dir", str(data_dir), "--no-download", "--device", "cpu"])
    given = dict(vars(args))
    assert commands.evaluate(args) == 0
    assert vars(args) == given
    args.run = str(tmp_path / "d.npy")
    assert commands.evaluate(args) == 0
    capsys.readouterr()


def test_a_run_of_ema_0_is_said_to_be_drawn_from_gs_weights(data_dir, tmp_path, train_args,
                                                           capsys):
    """``--ema 0`` follows G itself (the settings' help), but sample, interpolate and eval
    said "the moving average of G's weights", which the help says only of a run that kept
    one."""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1", "--ema", "0")) == 0
    capsys.readouterr()
    said = "G's weights, as its --ema 0 average followed them"
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert f"({said})" in capsys.readouterr().out
    assert main(["interpolate", str(run), "--out", str(tmp_path / "i.png")]) == 0
    assert f"({said})" in capsys.readouterr().out
    assert main(["eval", str(run), "--n", "200", "--no-parzen", "--out", str(tmp_path / "e.json"),
                 "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert said in out and "moving average" not in out


def test_a_checkpoint_without_its_average_is_refused_and_names_the_entries(data_dir, tmp_path,
                                                                           train_args, capsys,
                                                                           assert_one_line_error):
    """Every G_ema/ entry removed, sample, interpolate and eval drew from G's own weights
    without a word (a resume refused the file); one removed was named 'G/...'."""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1", "--ema", "0.9")) == 0
    path = run / "checkpoint.npz"
    with np.load(path) as f:
        entries = {k: f[k] for k in f.files}
    averaged = sorted(k for k in entries if k.startswith("G_ema/"))
    assert averaged
    for drop, said in ((averaged, "has none of the entries G_ema/... of the moving average of "
                                  "G that its run kept (--ema 0.9)"),
                       (averaged[:1], f"has no entry '{averaged[0]}'")):
        np.savez(path, **{k: v for k, v in entries.items() if k not in drop})
        capsys.readouterr()
        rc = main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "s.png")])
        assert_one_line_error(rc, capsys.readouterr().err, said)
        assert not (tmp_path / "s.png").exists()
    np.savez(path, **{k: v for k, v in entries.items() if k not in averaged})
    assert main(["sample", str(run), "--n", "4", "--no-ema", "--out", str(tmp_path / "s.png")]) == 0
