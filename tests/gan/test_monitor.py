"""When the game has stopped: each game's own saturation, stretches of it found online and
in metrics rows, and a run that says so without stopping."""

import doctest

import pytest

from minigan.app.cli import main
from minigan.gan import games, monitor


def test_the_module_example_runs():
    result = doctest.testmod(monitor)
    assert result.failed == 0 and result.attempted > 0     # not a module without examples


@pytest.mark.parametrize("name, saturated, playing", [
    ("gan", (1.0, 0.0), (0.7, 0.3)), ("lsgan", (0.99, 0.01), (0.6, 0.4)),
    ("hinge", (1.2, -1.5), (0.5, -0.2))])
def test_each_game_says_when_d_is_certain(name, saturated, playing):
    game = games.get(name)
    assert game.saturated(*saturated) and not game.saturated(*playing)
    assert games.get("wgan-gp").saturated(*saturated) is None      # no such state


def test_stretches_in_rows_need_the_whole_length():
    rows = [{"iteration": i, "d_real": 1.0 if 3 <= i <= 7 or i >= 10 else 0.5,
             "d_fake": 0.0} for i in range(1, 13)]
    assert monitor.stretches(rows, games.get("gan"), stretch=3) == [(3, 7), (10, 12)]
    assert monitor.stretches(rows, games.get("gan"), stretch=4) == [(3, 7)]
    assert monitor.stretches(rows, games.get("wgan-gp"), stretch=1) == []


@pytest.mark.parametrize("stretch", [0, 2.5, -1])
def test_a_stretch_that_is_not_a_whole_number_above_0_is_refused(stretch):
    """0 never counted a stop (the run length is 1 at the first saturated iteration) and
    2.5 counted one at 2, without a word."""
    with pytest.raises(ValueError, match=r"^stretch \(saturated iterations in a row\) must be "
                                         r">= 1, a whole number"):
        monitor.GameWatch(games.get("gan"), stretch)
    with pytest.raises(ValueError, match=r"^stretch "):
        monitor.stretches([], games.get("gan"), stretch)


def test_the_game_may_be_given_by_name():
    """A name failed with "'str' object has no attribute 'saturated'"."""
    watch = monitor.GameWatch("gan", stretch=2)
    assert [watch.update(i, {"d_real": 1.0, "d_fake": 0.0}) for i in (1, 2)] == [None, "stopped"]
    rows = [{"iteration": i, "d_real": 1.2, "d_fake": -1.5} for i in (1, 2, 3)]
    assert monitor.stretches(rows, "hinge", stretch=3) == [(1, 3)]
    with pytest.raises(ValueError, match="unknown loss 'gna'"):
        monitor.GameWatch("gna")

def test_a_run_whose_game_stopped_says_so_and_goes_on(train_args, data_dir, tmp_path, capsys,
                                                      monkeypatch):
    monkeypatch.setattr(monitor, "STRETCH", 5)
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "6", "--lr", "10")) == 0
    out, err = capsys.readouterr()
    assert "warning: the game stopped at iteration" in err and "--lr" in err
    assert "done: 6 epochs" in out
