"""What a run says: one progress bar for the whole run, counts in words that agree, the
commands it suggests spelled as the user typed theirs."""

import argparse
import sys

import pytest

from minigan.app import commands, settings, trainer
from minigan.app.cli import main


def test_a_run_draws_one_progress_bar(train_args, data_dir, tmp_path, capfd, monkeypatch):
    monkeypatch.setattr(trainer, "on_a_terminal", lambda stream: True)
    argv = [a for a in train_args(data_dir, tmp_path / "run", "--epochs", "3") if a != "--quiet"]
    assert main(argv) == 0
    err = capfd.readouterr().err
    bars = [line for line in err.split("\n") if "%|" in line]
    assert len(bars) == 1, err            # redrawn in place (\r), one line left at the end
    assert "epoch 3/3" in bars[0] and "24/24" in bars[0]


@pytest.mark.parametrize("every", [0.0, 1e9])
def test_a_run_logged_to_a_file_prints_progress_lines_not_a_bar(every, train_args, data_dir,
                                                                 metrics_rows, tmp_path, capfd,
                                                                 monkeypatch):
    """Where stderr is not a terminal a bar leaves every state it drew on one line: a line
    at most every PROGRESS_LINE_EVERY seconds instead (every iteration at 0; none in a run
    shorter than it), with that iteration's losses."""
    monkeypatch.setattr(trainer, "PROGRESS_LINE_EVERY", every)
    run = tmp_path / "run"
    argv = [a for a in train_args(data_dir, run, "--epochs", "3") if a != "--quiet"]
    assert main(argv) == 0
    err = capfd.readouterr().err
    assert "%|" not in err and "\r" not in err, err
    lines = [line for line in err.split("\n") if ": iteration " in line]
    assert len(lines) == (24 if every == 0 else 0), err
    for i, (line, row) in enumerate(zip(lines, metrics_rows(run), strict=False), start=1):
        assert line.startswith(f"epoch {(i - 1) // 8 + 1}/3: iteration {i}/24 ({i / 24:.0%}), ")
        assert " s elapsed, about " in line and " left; " in line
        assert f"; D loss {float(row['d_loss']):.3f}, G loss {float(row['g_loss']):.3f}, " in line


@pytest.mark.parametrize("n, words", [(1, "1 iteration into epoch 2"),
                                      (2, "2 iterations into epoch 2")])
def test_counts_agree_with_their_words(n, words):
    assert words in str(trainer.Interrupted(None, True, 1, 8 + n, n))


@pytest.mark.parametrize("argv0, typed", [("/venv/bin/minigan", "minigan"),
                                          ("/src/minigan/__main__.py", "python -m minigan")])
def test_suggested_commands_are_spelled_as_the_user_typed_them(argv0, typed, monkeypatch):
    """The console script's user is told ``minigan train --resume``, ``python -m minigan``'s
    user ``python -m minigan train --resume``."""
    monkeypatch.setattr(sys, "argv", [argv0, "train"])
    assert settings.program() == typed
    missing = argparse.Namespace(command="sample", run=None, checkpoint=None)
    with pytest.raises(ValueError, match=f"give a run folder or a checkpoint.npz: {typed} "
                                         "sample RUN"):
        commands.checkpoint_path(missing)


def test_eval_without_a_run_asks_which_as_sample_does(capsys):
    """``minigan eval`` with nothing to score: the same one line as ``minigan sample``'s,
    naming the three things it scores (it was argparse's "arguments are required")."""
    assert main(["eval"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("minigan: error: which run? give a run folder, a checkpoint.npz or "
                          "a .npy file of digits: ") and " eval RUN (see '" in err, err
    assert len(err.strip().splitlines()) == 1
