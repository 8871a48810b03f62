"""``minigan toy``'s field pictures: field.npz, the step-by-step frames, the noise grid, and
the same metrics.json with and without them."""

import numpy as np
import pytest

from minigan.app.cli import main
from minigan.lab import toys


@pytest.mark.slow
def test_toy_writes_the_field_and_the_same_metrics_without_pictures(tmp_path, capsys):
    drawn, bare = tmp_path / "drawn", tmp_path / "bare"
    common = ["toy", "ring8", "--iterations", "40", "--seed", "3", "--spectral-norm"]
    assert main([*common, "--snapshots", "2", "--noise-grid", "--step-by-step", "2",
                 "--out", str(drawn)]) == 0
    assert "field.npz" in capsys.readouterr().out
    assert main([*common, "--snapshots", "0", "--no-field", "--out", str(bare)]) == 0
    assert "field.npz" not in capsys.readouterr().out
    assert (drawn / "metrics.json").read_bytes() == (bare / "metrics.json").read_bytes()
    names = sorted(p.name for p in drawn.iterdir())
    assert names == ["field.npz", "metrics.json", "ring8.gif", "ring8_steps.gif",
                     "snapshot_00020.png", "snapshot_00040.png", "step_00000.png",
                     "step_00001_d1.png", "step_00001_g.png", "step_00002_d1.png",
                     "step_00002_g.png"]
    assert not (bare / "field.npz").exists() and not list(bare.glob("step_*"))
    # the arrays behind the last picture: those of the same run in the library
    saved = np.load(drawn / "field.npz")
    result = toys.run_gan_toy("ring8", 40, seed=3, snapshots=2, noise_grid=True,
                              opts={"spectral_norm": True})
    last = result["frames"][-1]["field"]
    assert saved["d"].shape == (len(saved["ys"]), len(saved["xs"]))
    assert saved["grad"].shape == saved["points"].shape == (100, 2)
    for key in ("xs", "ys", "d", "points", "grad", "noise", "noise_image"):
        np.testing.assert_array_equal(saved[key], last[key])
    assert int(saved["iteration"]) == 40


def test_a_packed_toy_draws_its_samples_alone(tmp_path, capsys):
    out = tmp_path / "packed"
    assert main(["toy", "ring8", "--iterations", "20", "--snapshots", "1", "--pack", "2",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "the snapshots show the samples alone" in text and "field.npz" not in text
    assert (out / "snapshot_00020.png").is_file() and not (out / "field.npz").exists()


def test_bad_picture_options_are_refused_before_the_folder_is_made(tmp_path, capsys,
                                                                   assert_one_line_error):
    out = tmp_path / "toy"
    for argv, needle in ((["ring8", "--iterations", "3", "--step-by-step", "5"], "only 3"),
                         (["gaussian1d", "--noise-grid"], "--noise-grid"),
                         (["ring8", "--minibatch", "stddev", "--step-by-step", "1"], "--pack"),
                         (["ring8", "--step-by-step", "-1"], "--step-by-step"),
                         (["xy", "--noise-grid"], "xy"), (["xy", "--no-field"], "xy")):
        rc = main(["toy", *argv, "--out", str(out)])
        assert_one_line_error(rc, capsys.readouterr().err, needle)
        assert not out.exists(), argv
