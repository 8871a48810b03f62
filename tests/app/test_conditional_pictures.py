"""A conditional run's pictures say which digit each row draws: the epoch grids, ``minigan
sample`` (also ``--gradients``) and ``minigan interpolate`` write the digit left of its row."""

import re

import matplotlib.image as mpimg
import numpy as np
import pytest

from minigan.app import plotting
from minigan.app.cli import main


@pytest.fixture(scope="module")
def conditional_run(train_args, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "conditional"
    assert main(train_args(data_dir, out, "--epochs", "1", "--conditional")) == 0
    return out


@pytest.fixture
def drawn(monkeypatch):
    """The ``row_labels`` of every picture drawn, in order (None: a picture without them)."""
    seen = []
    grid, pairs = plotting.save_grid, plotting.save_gradient_pairs

    def save_grid(images, path, **kwargs):
        seen.append(kwargs.get("row_labels"))
        grid(images, path, **kwargs)

    def save_gradient_pairs(path, images, grads, **kwargs):
        seen.append(kwargs.get("row_labels"))
        pairs(path, images, grads, **kwargs)
    monkeypatch.setattr(plotting, "save_grid", save_grid)
    monkeypatch.setattr(plotting, "save_gradient_pairs", save_gradient_pairs)
    return seen


def test_row_labels_sit_in_a_margin_beside_the_grid_s_own_pixels(tmp_path):
    images = np.random.default_rng(0).uniform(-1, 1, (30, 784))
    plotting.save_grid(images, tmp_path / "plain.png", nrow=10)
    plotting.save_grid(images, tmp_path / "labelled.png", nrow=10, row_labels=["0", "1", "2"])
    plain = mpimg.imread(tmp_path / "plain.png")                  # one grey channel
    labelled = mpimg.imread(tmp_path / "labelled.png")             # RGB
    margin = labelled.shape[1] - plain.shape[1]
    assert labelled.shape[0] == plain.shape[0] and margin > 0 and labelled.shape[2] == 3
    np.testing.assert_array_equal(labelled[:, margin:], np.repeat(plain[..., None], 3, axis=2))
    text = labelled[:, :margin].min(axis=2) < 0.5         # dark pixels: the labels' strokes
    cell = 2 * (28 + 2)                                   # a row's height, upscaled twice
    assert all(text[4 + r * cell:4 + r * cell + 56].any() for r in range(3))   # one per row
    with pytest.raises(ValueError, match="2 labels for 3 rows"):
        plotting.save_grid(images, tmp_path / "bad.png", nrow=10, row_labels=["0", "1"])


@pytest.mark.slow
def test_a_conditional_run_labels_each_row_with_its_digit(conditional_run, drawn, tmp_path,
                                                          capsys):
    digits = list(range(10))
    assert main(["sample", str(conditional_run), "--n", "20", "--seed", "1", "--device", "cpu",
                 "--out", str(tmp_path / "s.png")]) == 0
    assert main(["sample", str(conditional_run), "--n", "10", "--gradients", "--seed", "1",
                 "--device", "cpu", "--out", str(tmp_path / "g.png")]) == 0
    assert main(["sample", str(conditional_run), "--n", "4", "--label", "7", "--seed", "1",
                 "--device", "cpu", "--out", str(tmp_path / "seven.png")]) == 0
    assert main(["sample", str(conditional_run), "--n", "6", "--label", "3", "--nrow", "4",
                 "--seed", "1", "--device", "cpu", "--out", str(tmp_path / "three.png")]) == 0
    assert main(["sample", str(conditional_run), "--n", "9", "--label", "5", "--gradients",
                 "--seed", "1", "--device", "cpu", "--out", str(tmp_path / "five.png")]) == 0
    # one digit throughout: every row says it too, the picture alone tells which digit it is
    assert [None if labels is None else list(labels) for labels in drawn] == \
        [digits, digits, [7, 7], [3, 3], [5, 5, 5]]
    drawn.clear()
    capsys.readouterr()
    assert main(["interpolate", str(conditional_run), "--pairs", "4", "--steps", "3",
                 "--device", "cpu", "--out", str(tmp_path / "i.png")]) == 0
    said = re.search(r"the rows of the digits ([\d ]+) \(", capsys.readouterr().out).group(1)
    assert [str(d) for d in drawn[0]] == said.split() and len(drawn[0]) == 4


def test_the_epoch_grids_of_a_conditional_run_are_labelled(train_args, data_dir, drawn,
                                                           tmp_path):
    assert main(train_args(data_dir, tmp_path / "run", "--epochs", "1", "--conditional")) == 0
    assert [list(labels) for labels in drawn] == [list(range(10))] * 2     # epochs 0 and 1
    drawn.clear()
    assert main(train_args(data_dir, tmp_path / "plain", "--epochs", "1")) == 0
    assert drawn == [None, None]


def test_an_nrow_that_would_break_the_digit_rows_is_refused(conditional_run, tmp_path, capsys,
                                                            assert_one_line_error):
    """--nrow 5 of 7 digits a digit used to wrap the rows across digits, still said to be
    "one row per digit"."""
    out = tmp_path / "s.png"
    rc = main(["sample", str(conditional_run), "--nrow", "5", "--seed", "1", "--device", "cpu",
               "--out", str(out)])
    assert_one_line_error(rc, capsys.readouterr().err, "--nrow 5", "one row per digit",
                          "--n 50", "--label")
    assert not out.exists()
    assert main(["sample", str(conditional_run), "--nrow", "7", "--seed", "1", "--device", "cpu",
                 "--out", str(out)]) == 0                            # 64 digits: 7 a row
    assert main(["sample", str(conditional_run), "--nrow", "5", "--label", "3", "--seed", "1",
                 "--device", "cpu", "--out", str(out)]) == 0        # one digit: any layout


def test_a_sample_of_all_ten_digits_says_when_n_was_rounded_up(conditional_run, tmp_path,
                                                               capsys):
    """``sample --n 64`` of a conditional run draws 70 digits, whole rows of each: the line
    said "wrote 70 samples" without saying why not 64."""
    out = tmp_path / "s.png"
    assert main(["sample", str(conditional_run), "--seed", "1", "--device", "cpu",
                 "--out", str(out)]) == 0
    assert ("wrote 70 samples, one row per digit 0-9 (--n 64 rounded up to 70: 7 of each digit) "
            "from") in capsys.readouterr().out
    assert main(["sample", str(conditional_run), "--n", "30", "--seed", "1", "--device", "cpu",
                 "--out", str(out)]) == 0
    assert "wrote 30 samples, one row per digit 0-9 from" in capsys.readouterr().out


def test_interpolate_says_the_digit_of_one_row_or_of_every_row(conditional_run, tmp_path, capsys):
    """``--pairs 1`` printed "the rows of the digits 4", ``--label 5`` "the rows of the digits
    5 5 5"."""
    base = ["interpolate", str(conditional_run), "--steps", "3", "--device", "cpu", "--out",
            str(tmp_path / "i.png")]
    assert main([*base, "--pairs", "1", "--label", "4"]) == 0
    assert ", the row of the digit 4 (labelled at its left) from" in capsys.readouterr().out
    assert main([*base, "--pairs", "3", "--label", "5"]) == 0
    assert ", every row of the digit 5 (labelled at its left) from" in capsys.readouterr().out
