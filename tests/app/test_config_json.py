"""A run's config.json is read back as the command line is: every setting checked, and an
error names the file and the setting, before anything is written."""

import json
import os

import pytest

from minigan.app.cli import main


@pytest.fixture
def stopped_run(train_args, data_dir, tmp_path, monkeypatch):
    """A run folder that holds only its config.json: stopped before its first checkpoint."""
    from minigan.app import trainer

    run = tmp_path / "run"

    def stop_at_once(self, stop):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(trainer.Trainer, "_train_epoch", stop_at_once)
        assert main(train_args(data_dir, run, "--epochs", "1")) == 130
    assert (run / "config.json").is_file() and not (run / "checkpoint.npz").exists()
    return run


@pytest.mark.parametrize("key, value", [
    ("dtype", "int8"), ("split", "validation"), ("data_dir", 123), ("batch_size", "abc"),
    ("epochs", "x"), ("epochs", -1), ("conditional", "false"), ("spectral_norm", "false"),
    ("model", ["vanilla"]), ("betas", []), ("files", {"test": None}), ("lr", True),
    ("files", {"test": {"images": ["./../../x.gz", None], "labels": ["l", None]}}),
    ("files", {"test": {"images": ["t10k-images-idx3-ubyte", None],       # no md5 to check
                        "labels": ["t10k-labels-idx1-ubyte", None]}}),
    ("files", {"test": {"labels": ["t10k-labels-idx1-ubyte", "0" * 32]}}),  # labels alone
    ("n_samples", 10 ** 9),                             # 745 GiB of noise for the grid
])
def test_a_hand_edited_config_json_is_checked(key, value, stopped_run, data_dir, capsys,
                                              assert_one_line_error):
    path = stopped_run / "config.json"
    config = json.loads(path.read_text())
    config[key] = value
    config.get("asked", {}).pop(key, None)
    path.write_text(json.dumps(config))
    before = {p.name: p.read_bytes() for p in stopped_run.rglob("*") if p.is_file()}
    rc = main(["train", "--resume", str(stopped_run), "--quiet", "--device", "cpu",
               "--data-dir", str(data_dir), "--no-download"])
    assert_one_line_error(rc, capsys.readouterr().err, str(path), f'"{key}"')
    assert {p.name: p.read_bytes() for p in stopped_run.rglob("*") if p.is_file()} == before


def test_a_config_json_nested_deep_or_cut_short_is_one_line(stopped_run, data_dir, capsys,
                                                            assert_one_line_error):
    path = stopped_run / "config.json"
    for text in ("[" * 100_000 + "]" * 100_000, path.read_text()[:40]):
        path.write_text(text)
        rc = main(["train", "--resume", str(stopped_run), "--quiet", "--device", "cpu",
                   "--data-dir", str(data_dir), "--no-download"])
        assert_one_line_error(rc, capsys.readouterr().err, str(path))


def test_a_default_run_length_is_the_model_iterations_in_whole_epochs(train_args, data_dir,
                                                                     tmp_path, monkeypatch):
    import dataclasses

    from minigan.gan import models
    spec = models.MODELS["mlp"]
    monkeypatch.setitem(models.MODELS, "mlp", dataclasses.replace(spec, iterations=20))
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--model", "mlp")) == 0       # no --epochs
    config = json.loads((run / "config.json").read_text())
    per_epoch = 256 // 32                                  # the tiny split at batch 32
    assert config["epochs"] == round(20 / per_epoch) == 2
    assert (config["loss"], config["ema"], config["minibatch"]) == ("hinge", 0.9998, "stddev")
    rows = (run / "metrics.csv").read_text().splitlines()[1:]
    assert len(rows) == 2 * per_epoch                      # one row per iteration


@pytest.mark.parametrize("every, scored, drawn_after", [
    (1e9, (), [3]), (0.0, (), [1, 2, 3]),
    (1e9, ("--eval-every", "2", "--eval-n", "40"), [2, 3]),      # after a scored epoch too
])
@pytest.mark.slow
def test_the_loss_curves_are_redrawn_at_most_every_curves_every_seconds(
        every, scored, drawn_after, train_args, data_dir, tmp_path, monkeypatch):
    from minigan.app import plotting, trainer
    drawn = []
    save = plotting.save_loss_curves

    def counting(rows, path, **kwargs):
        drawn.append(len(rows))
        return save(rows, path, **kwargs)

    monkeypatch.setattr(trainer, "CURVES_EVERY", every)
    monkeypatch.setattr(plotting, "save_loss_curves", counting)
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "3", *scored)) == 0
    per_epoch = 256 // 32
    assert drawn == [per_epoch * e for e in drawn_after]      # the first CURVES_EVERY s in; the last
    assert (run / "loss_curves.png").exists()


@pytest.mark.parametrize("every, saved_after", [(1e9, [1, 2, 4]), (0.0, [1, 2, 3, 4])])
@pytest.mark.slow
def test_a_checkpoint_is_written_at_most_every_checkpoint_every_seconds(
        every, saved_after, train_args, data_dir, tmp_path, monkeypatch):
    """After the first epoch, each scored one (--eval-every 2) and the last, and between
    them once CHECKPOINT_EVERY seconds have passed."""
    from minigan.app import trainer
    saved = []
    save = trainer.checkpoint.save_checkpoint

    def counting(path, **kwargs):
        saved.append(kwargs["epoch"])
        return save(path, **kwargs)

    monkeypatch.setattr(trainer, "CHECKPOINT_EVERY", every)
    monkeypatch.setattr(trainer.checkpoint, "save_checkpoint", counting)
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "4", "--eval-every", "2",
                           "--eval-n", "40")) == 0
    assert saved == saved_after


class Killed(BaseException):
    """A kill that gives the run no warning: nothing after it is written."""


def kill_at(monkeypatch, method, epoch):
    """``Trainer.<method>`` raises :class:`Killed` when called at the end of ``epoch``;
    returns the function that puts the method back."""
    from minigan.app import trainer
    real = getattr(trainer.Trainer, method)

    def killing(self):
        if self.epoch == epoch:
            raise Killed
        return real(self)

    monkeypatch.setattr(trainer.Trainer, method, killing)
    return lambda: monkeypatch.setattr(trainer.Trainer, method, real)


def test_a_run_killed_between_checkpoints_resumes_to_the_same_numbers(
        assert_same_run, metrics_rows, train_args, data_dir, tmp_path, monkeypatch):
    """Killed after its third epoch's rows, with its last checkpoint after the first: the
    rows after the checkpoint are trained again, to the same numbers and grids as one run
    straight through."""
    from minigan.app import trainer
    monkeypatch.setattr(trainer, "CHECKPOINT_EVERY", 1e9)
    monkeypatch.setattr(trainer, "GRID_ITERATIONS", 1)        # a grid each epoch of 8
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert main(train_args(data_dir, straight, "--epochs", "4")) == 0
    revive = kill_at(monkeypatch, "_save_samples", 3)       # after the third epoch's rows
    with pytest.raises(Killed):
        main(train_args(data_dir, killed, "--epochs", "4"))
    per_epoch = 256 // 32
    assert len(metrics_rows(killed)) == 3 * per_epoch                # the rows were written
    assert trainer.checkpoint.read_meta(killed / "checkpoint.npz")["counters"]["epoch"] == 1
    revive()
    assert main(["train", "--resume", str(killed), "--quiet", "--data-dir", str(data_dir),
                 "--no-download", "--device", "cpu"]) == 0
    assert_same_run(straight, killed)
    assert len(metrics_rows(killed)) == 4 * per_epoch
    for epoch in range(5):
        png = f"samples/epoch_{epoch:04d}.png"
        assert (killed / png).read_bytes() == (straight / png).read_bytes(), png


def test_a_run_killed_between_checkpoints_and_resumed_to_fewer_epochs_keeps_nothing_after_them(
        metrics_rows, train_args, data_dir, tmp_path, monkeypatch):
    """Killed while it drew its curves after scoring epoch 4, its checkpoint that of epoch 2:
    resumed to 3 epochs, the folder holds epoch 4's grid and scores row no longer (they were
    of a run that this one is not: its rows after the checkpoint are dropped too)."""
    from minigan.app import trainer
    from minigan.app.runlog import read_scores
    monkeypatch.setattr(trainer, "CHECKPOINT_EVERY", 1e9)
    monkeypatch.setattr(trainer, "GRID_ITERATIONS", 1)        # a grid each epoch of 8
    run = tmp_path / "run"
    revive = kill_at(monkeypatch, "_save_loss_curves", 4)   # after scoring the fourth epoch
    with pytest.raises(Killed):
        main(train_args(data_dir, run, "--epochs", "6", "--eval-every", "2", "--eval-n", "40"))
    assert trainer.checkpoint.read_meta(run / "checkpoint.npz")["counters"]["epoch"] == 2
    assert (run / "samples" / "epoch_0004.png").exists()
    assert [int(r["epoch"]) for r in read_scores(run / "scores.csv", 100)] == [2, 4]
    revive()
    assert main(["train", "--resume", str(run), "--epochs", "3", "--eval-every", "0", "--quiet",
                 "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]) == 0
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        f"epoch_{e:04d}.png" for e in range(4)]
    assert [int(r["epoch"]) for r in read_scores(run / "scores.csv", 100)] == [2]
    assert len(metrics_rows(run)) == 3 * (256 // 32)


@pytest.mark.parametrize("edit, said", [
    ({"batch_size": -3}, '"batch_size" must be a positive integer'),
    ({"batch_size": 64}, '"batch_size" is 64 where the checkpoint\'s is 32'),
    ({"seed": 7}, '"seed" is 7 where the checkpoint\'s is 0'),
    # edits that clash with each other: said as edits, not as the clash (--g-label "given")
    ({"model": "dcgan", "g_label": "every"}, '"g_label" is "every" where the checkpoint\'s is '
                                             '"input"'),
    (None, "cannot read the settings in"),
])
def test_a_hand_edited_config_json_beside_a_checkpoint_is_not_dropped(
        edit, said, train_args, data_dir, tmp_path, capsys, assert_one_line_error):
    """A resumed run takes its settings from its checkpoint and writes config.json again: a
    bad or changed value there trained on without a word (the checkpoint's batch) and the edit was
    written over. A setting a resume may change (--epochs) is the checkpoint's to hold."""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    path = run / "config.json"
    config = json.loads(path.read_text())
    assert config["batch_size"] == 32
    path.write_text("{" if edit is None else json.dumps({**config, **edit}))
    before = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    resume = ["train", "--resume", str(run), "--epochs", "2", "--quiet", "--device", "cpu",
              "--data-dir", str(data_dir), "--no-download"]
    rc = main(resume)
    assert_one_line_error(rc, capsys.readouterr().err, str(path), said,
                          "put the file back as it was, or remove it")
    assert {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    elsewhere = tmp_path / "elsewhere"       # continued into another folder: not rewritten
    assert main([*resume, "--out", str(elsewhere)]) == 0
    assert path.read_bytes() == before["config.json"]
    path.write_text(json.dumps({**config, "epochs": 5}))   # one a resume may change
    assert main(resume) == 0
    more = [*resume[:4], "3", *resume[5:]]
    path.write_text(json.dumps({k: v for k, v in config.items() if k != "g_batch"}))
    assert main(more) == 0            # a key left out: not compared as a made-up value
    path.write_bytes(b"\xff" * 10)
    assert main(more) == 2 and "UnicodeDecodeError" in capsys.readouterr().err
    path.unlink()                                          # none: written again
    more[4] = "4"
    assert main(more) == 0 and json.loads(path.read_text())["seed"] == 0


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_config_json_that_is_no_regular_file_is_refused_not_replaced(
        kind, train_args, data_dir, tmp_path, capsys, assert_one_line_error):
    """A FIFO (or a folder) in config.json's place beside a checkpoint was passed over as "no
    file there" and replaced by the resumed run's; files.md says a FIFO is refused."""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    path = run / "config.json"
    path.unlink()
    os.mkfifo(path) if kind == "fifo" else path.mkdir()
    rc = main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--device", "cpu",
               "--data-dir", str(data_dir), "--no-download"])
    assert_one_line_error(rc, capsys.readouterr().err, f"{path} is not a regular file")
    assert (path.is_fifo() if kind == "fifo" else path.is_dir())
