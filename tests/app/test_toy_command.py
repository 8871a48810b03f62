"""``minigan toy NAME``: what it prints and writes, over several seeds."""

import errno
import json
import os
import signal
from pathlib import Path

import pytest

from minigan.app.cli import main
from minigan.lab import toys


def test_a_seed_without_a_reverse_kl_is_left_out_of_its_summary(tmp_path, monkeypatch, capsys):
    """A seed whose samples are all far from the modes has no reverse KL (None); the summary
    over the seeds averages the others instead of failing after the whole run, and says so:
    the mean read as the three seeds', flattering the remedy whose worst seed it left out."""
    kls = iter([0.5, None, 0.25])

    def fake_run(name, iterations, seed, snapshots, opts=None, record_frames=True, **pictures):
        metrics = {"modes_covered": seed, "high_quality": 0.1 * seed, "reverse_kl": next(kls)}
        return {"metrics": metrics, "frames": [], "real": None, "history": [], "seconds": 0.0,
                "iterations": 10}

    monkeypatch.setattr(toys, "run_gan_toy", fake_run)
    monkeypatch.setattr(toys, "save_pictures", lambda *a, **k: [])
    assert main(["toy", "ring8", "--seeds", "3", "--out", str(tmp_path / "t")]) == 0
    report = json.loads((tmp_path / "t" / "metrics.json").read_text())
    assert report["mean_std"]["reverse_kl"] == [0.375, 0.125]
    assert report["mean_std"]["modes_covered"][0] == 1.0
    assert report["seeds_counted"] == {"reverse_kl": 2}     # the mean says of how many seeds
    out = capsys.readouterr().out
    assert "modes 1.0" in out
    assert "reverse KL 0.38 ± 0.12 over the 2 of the 3 seeds with a high-quality sample" in out


def test_a_toy_stopped_while_its_first_pictures_are_drawn_keeps_nothing(tmp_path, monkeypatch,
                                                                        capsys):
    """Stopped inside the first seed's pictures, the seed counted as done: the command said it
    wrote the snapshots and the GIF, of which one snapshot was there."""
    def fake_run(name, iterations, seed, snapshots, opts=None, record_frames=True, **pictures):
        return {"metrics": {"modes_covered": 8, "high_quality": 0.5, "reverse_kl": 0.1},
                "frames": [], "real": None, "history": [], "seconds": 0.0, "iterations": 10}

    def cut_short(name, result, out, label):
        (out / "snapshot_00010.png").write_bytes(b"png")
        raise KeyboardInterrupt

    monkeypatch.setattr(toys, "run_gan_toy", fake_run)
    monkeypatch.setattr(toys, "save_pictures", cut_short)
    out = tmp_path / "t"
    assert main(["toy", "ring8", "--seeds", "3", "--out", str(out)]) == 130
    assert not out.exists() and "wrote" not in capsys.readouterr().out


@pytest.mark.parametrize("stop, code", [(KeyboardInterrupt, 130), ("terminated", 143)])
def test_a_toy_stopped_after_some_seeds_writes_what_they_made(tmp_path, monkeypatch, capsys,
                                                              stop, code):
    """Ctrl-C (or SIGTERM) in the third of five seeds: the two seeds done, minutes of work,
    were thrown away with the staging folder ("minigan: interrupted" alone). Their summary,
    metrics.json and the first seed's pictures are written, and the exit code is the
    signal's."""
    from minigan.app.cli import Terminated

    done = []

    def fake_run(name, iterations, seed, snapshots, opts=None, record_frames=True, **pictures):
        if len(done) == 2:
            raise Terminated() if stop == "terminated" else stop()
        done.append(seed)
        return {"metrics": {"modes_covered": 8, "high_quality": 0.5, "reverse_kl": 0.1 * seed},
                "frames": [], "real": None, "history": [], "seconds": 0.0, "iterations": 10}

    def pictures(name, result, out, label):
        (out / "snapshot_00010.png").write_bytes(b"png")

    monkeypatch.setattr(toys, "run_gan_toy", fake_run)
    monkeypatch.setattr(toys, "save_pictures", pictures)
    out = tmp_path / "t"
    assert main(["toy", "ring8", "--seeds", "5", "--seed", "3", "--out", str(out)]) == code
    report = json.loads((out / "metrics.json").read_text())
    assert report["seeds"] == [3, 4] and report["seeds_asked"] == 5
    assert (out / "snapshot_00010.png").is_file()
    captured = capsys.readouterr()
    assert "ring8, 2 seeds," in captured.out
    assert captured.err.rstrip().endswith("in seed 5; the summary and metrics.json are of the 2 "
                                          "seeds done of the 5 asked for")


def test_bad_toy_input_is_refused_before_the_folder_is_made(tmp_path, capsys,
                                                            assert_one_line_error):
    out = tmp_path / "toy"
    for argv in (["ring8", "--iterations", "0"], ["ring8", "--iterations", "-5"],
                 ["gaussian1d", "--iterations", "0"], ["ring8", "--seeds", "0"],
                 ["ring8", "--seeds", "-1"], ["ring8", "--snapshots", "-1"],
                 ["xy", "--iterations", "0"], ["xy", "--iterations", "-3"],
                 ["ring8", "--label-flip", "0.5"], ["ring8", "--loss", "hinge",
                                                     "--label-smoothing", "0.1"]):
        rc = main(["toy", *argv, "--out", str(out)])
        assert_one_line_error(rc, capsys.readouterr().err)
        assert not out.exists(), argv


@pytest.mark.slow
def test_options_of_the_other_kind_of_toy_are_refused(tmp_path, capsys, assert_one_line_error):
    """xy has no D or G: a game's option is refused there; --lr is xy's alone."""
    out = tmp_path / "toy"
    rc = main(["toy", "xy", "--loss", "hinge", "--ema", "0.9", "--out", str(out)])
    assert_one_line_error(rc, capsys.readouterr().err, "--ema, --loss: a GAN toy's options",
                          "xy plays V(x, y) = xy", "leave them out")
    for option, value in (("--seed", "3"), ("--seeds", "2"), ("--snapshots", "2")):
        rc = main(["toy", "xy", option, value, "--out", str(out)])
        assert_one_line_error(rc, capsys.readouterr().err, f"{option}: a GAN toy's option")
    rc = main(["toy", "ring8", "--lr", "0.5", "--out", str(out)])
    assert_one_line_error(rc, capsys.readouterr().err, "--lr 0.5: the step size of xy's",
                          "leave it out")
    assert not out.exists()
    assert main(["toy", "xy", "--iterations", "5", "--out", str(out)]) == 0
    assert f"5 steps of size {toys.XY_LR}" in capsys.readouterr().out


def test_toy_help_gives_the_toys_defaults(capsys):
    """The options a toy shares with train say the toy's default, not the mlp model's."""
    try:
        main(["toy", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "for mlp" not in text
    assert "standard deviation (default: none)" in text and "(default: none, G itself)" in text
    assert "the game (default gan)" in text
    assert "D's inputs (the real and the generated points)" in text     # a toy has no images
    assert "images" not in text
    assert "spectral normalization of D's Dense weights" in text and "Conv2d" not in text


def test_a_short_run_is_told_apart_from_the_published_figure(tmp_path, monkeypatch, capsys):
    def fake_run(name, iterations, seed, snapshots, opts=None, record_frames=True, **pictures):
        return {"metrics": {"modes_covered": 5, "high_quality": 0.5, "reverse_kl": 0.1},
                "frames": [], "real": None, "history": [], "seconds": 0.0,
                "iterations": iterations or toys.TOYS[name].iterations}

    monkeypatch.setattr(toys, "run_gan_toy", fake_run)
    monkeypatch.setattr(toys, "save_pictures", lambda *a, **k: [])
    assert main(["toy", "ring8", "--iterations", "300", "--loss", "hinge",
                 "--out", str(tmp_path / "t")]) == 0
    out = capsys.readouterr().out
    full = toys.TOYS["ring8"].iterations
    assert ("ring8, seed 0, 300 iterations: modes 5 of 8, high quality 50.0%, reverse KL 0.1; "
            "PacGAN Table 1 (cross-entropy GAN, 400 epochs of 100,000 points; ± standard error "
            "over 10 trials): modes 6.3 ± 0.5, "
            "high quality 98.2% ± 0.2%, reverse KL 0.45 ± 0.09; not the same run: this one "
            f"stopped at 300 of the toy's {full:,} iterations and ran with --loss hinge") in out
    assert main(["toy", "ring8", "--ema", "0.9", "--spectral-norm", "--out",
                 str(tmp_path / "ema")]) == 0
    assert "not the same run: this one ran with --ema 0.9, --spectral-norm" in capsys.readouterr().out
    assert main(["toy", "ring8", "--out", str(tmp_path / "full")]) == 0
    assert "not the same run" not in capsys.readouterr().out     # the toy's length and game
    monkeypatch.setattr(toys, "run_gan_toy", lambda *a, **k: {     # no high-quality sample
        **fake_run(*a, **k), "metrics": {"modes_covered": 0, "high_quality": 0.0,
                                         "reverse_kl": None}})
    assert main(["toy", "ring8", "--out", str(tmp_path / "none")]) == 0
    assert "high quality 0.0%, no reverse KL (no high-quality sample); " in \
        capsys.readouterr().out
    assert main(["toy", "ring8", "--seeds", "2", "--out", str(tmp_path / "two")]) == 0
    assert ("ring8, 2 seeds, 10,000 iterations, mean ± standard deviation over the seeds: "
            "modes 0.0 ± 0.0 of 8, high quality 0.0% ± 0.0%, no reverse KL") in \
        capsys.readouterr().out


@pytest.mark.slow
def test_a_toy_folder_is_not_reused_unless_asked(tmp_path, capsys, assert_one_line_error):
    out = tmp_path / "toy"
    assert main(["toy", "ring8", "--iterations", "40", "--snapshots", "4", "--out", str(out)]) == 0
    first = sorted(p.name for p in out.iterdir())
    assert "metrics.json" in first and len([n for n in first if n.startswith("snapshot_")]) == 4
    rc = main(["toy", "ring8", "--iterations", "30", "--snapshots", "2", "--out", str(out)])
    assert_one_line_error(rc, capsys.readouterr().err, "already holds a toy run", "--overwrite")
    assert sorted(p.name for p in out.iterdir()) == first
    (out / "notes.txt").write_text("mine")
    assert main(["toy", "ring8", "--iterations", "30", "--snapshots", "2", "--out", str(out),
                 "--overwrite"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert len([n for n in names if n.startswith("snapshot_")]) == 2     # no old snapshot left
    assert "notes.txt" in names and not [n for n in names if n.startswith(".toy-")]
    assert json.loads((out / "metrics.json").read_text())["iterations"] == 30


def test_a_training_run_s_folder_is_refused_as_a_toy_s_out(train_args, data_dir, tmp_path,
                                                           capsys, assert_one_line_error):
    """``minigan toy ring8 --out RUN`` wrote its snapshots, GIF and metrics.json among a
    training run's files, without its lock."""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    capsys.readouterr()
    before = sorted(p.name for p in run.iterdir())
    for more in ([], ["--overwrite"]):
        rc = main(["toy", "ring8", "--iterations", "5", "--snapshots", "1", "--out", str(run),
                   *more])
        assert_one_line_error(rc, capsys.readouterr().err, f"--out {run} holds a training run",
                              "choose another --out")
    assert sorted(p.name for p in run.iterdir()) == before


@pytest.mark.slow
def test_a_toy_run_cut_short_or_on_a_full_disk_leaves_the_folder_as_it_was(tmp_path, monkeypatch,
                                                                          capsys):
    out = tmp_path / "toy"
    assert main(["toy", "xy", "--iterations", "20", "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(toys, "save_xy_plot", full)
    assert main(["toy", "xy", "--iterations", "30", "--out", str(out), "--overwrite"]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    def cut(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(toys, "save_xy_plot", cut)
    assert main(["toy", "xy", "--iterations", "30", "--out", str(out), "--overwrite"]) == 130
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.slow
def test_a_swap_that_fails_half_way_puts_the_old_results_back(tmp_path, monkeypatch, capsys):
    """A full disk at the second file of --overwrite's swap left the old results deleted and
    one new file in place, saying "nothing of this run was kept": the old ones are moved
    aside first and back on an error."""
    from minigan.app import commands

    out = tmp_path / "toy"
    assert main(["toy", "xy", "--iterations", "20", "--out", str(out)]) == 0
    old = {p.name: p.read_bytes() for p in out.iterdir()}
    calls, replace = [], os.replace

    def full_at_the_second_in(src, dst):
        if Path(dst).parent == out and Path(src).parent.name != ".old":   # not a move back
            calls.append(dst)
            if len(calls) == 2:
                raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        replace(src, dst)

    monkeypatch.setattr(commands.os, "replace", full_at_the_second_in)
    assert main(["toy", "xy", "--iterations", "30", "--out", str(out), "--overwrite"]) == 1
    assert "nothing of this run was kept" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == old and len(calls) == 2


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_results_are_swapped_waits_until_all_are(tmp_path, monkeypatch,
                                                                     capsys, signum):
    """A Ctrl-C or SIGTERM after the old results were deleted and before the new were all
    moved in left neither set whole (the new ones cleaned away with the staging folder): it
    now waits until the new set is in place, then stops the command."""
    from minigan.app import commands

    out = tmp_path / "toy"
    assert main(["toy", "xy", "--iterations", "20", "--out", str(out)]) == 0
    old = {p.name: p.read_bytes() for p in out.iterdir()}
    moves, replace = [], os.replace

    def replace_then_signal(src, dst):
        replace(src, dst)
        if Path(dst).parent == out:               # a file of the swap, not one staged
            moves.append(Path(dst).name)
            if len(moves) == 1:
                os.kill(os.getpid(), signum)      # in the middle of the swap

    monkeypatch.setattr(commands.os, "replace", replace_then_signal)
    assert main(["toy", "xy", "--iterations", "30", "--out", str(out), "--overwrite"]) == \
        128 + signum
    new = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(moves) > 1 and sorted(new) == sorted(moves)          # every new file in place
    assert new != old and not list(out.glob(".toy-*"))
    err = capsys.readouterr().err                      # it said "interrupted" alone
    assert err.rstrip().endswith(f"after this run's results were put in {out}, whole"), err


def test_gaussian1d_refuses_packing_before_saying_what_its_pictures_will_show(
        tmp_path, capsys, assert_one_line_error):
    """gaussian1d with --pack or --minibatch is refused; no note on the snapshots comes first
    (that note is for the 2-D toys, which run)."""
    out = tmp_path / "toy"
    for option in (["--pack", "2"], ["--minibatch", "stddev"]):
        rc = main(["toy", "gaussian1d", *option, "--out", str(out)])
        captured = capsys.readouterr()
        assert_one_line_error(rc, captured.err, "gaussian1d compares D(x)")
        assert "samples alone" not in captured.out + captured.err
        assert not out.exists()


@pytest.mark.slow
def test_the_last_line_names_every_picture_the_run_wrote(tmp_path, capsys):
    """gaussian1d's generator-gradient plot is named beside its snapshots."""
    out = tmp_path / "g"
    assert main(["toy", "gaussian1d", "--iterations", "20", "--snapshots", "1",
                 "--out", str(out)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert (out / "generator_gradient.png").is_file()
    assert last == (f"wrote {out}/ (snapshot_*.png, gaussian1d.gif, generator_gradient.png, "
                    "field.npz, metrics.json)")
    assert main(["toy", "gaussian1d", "--iterations", "20", "--snapshots", "1", "--loss",
                 "hinge", "--out", str(tmp_path / "h")]) == 0
    assert not (tmp_path / "h" / "generator_gradient.png").exists()
    assert "generator_gradient.png" not in capsys.readouterr().out


def test_an_option_of_another_command_is_named_as_such(tmp_path, capsys, assert_one_line_error):
    """An MNIST trainer's option given to a toy says whose option it is, a command's own
    command's (classifier train) too."""
    out = tmp_path / "toy"
    rc = main(["toy", "ring8", "--epochs", "3", "--out", str(out)])
    assert_one_line_error(rc, capsys.readouterr().err, "unrecognized arguments: --epochs 3; "
                          "--epochs is an option of minigan train and minigan classifier train, "
                          "not of minigan toy (see 'minigan toy --help')")
    rc = main(["toy", "ring8", "--device", "cpu", "--out", str(out)])
    assert_one_line_error(rc, capsys.readouterr().err, "--device is an option of minigan "
                          "train, minigan sample, minigan eval, minigan classifier train and "
                          "minigan interpolate, not of minigan toy")
    rc = main(["toy", "ring8", "--epoks", "3", "--out", str(out)])      # a toy's own, misspelt
    err = capsys.readouterr().err
    assert_one_line_error(rc, err, "unrecognized arguments: --epoks 3 (see 'minigan toy --help')")
    assert not out.exists()


def test_a_toy_says_it_runs_on_the_cpu_whatever_the_device_variable_asks(
        tmp_path, capsys, monkeypatch):
    """MINIGAN_DEVICE=gpu was passed over without a word, though the docs say a command
    runs where it says."""
    monkeypatch.setenv("MINIGAN_DEVICE", "gpu")
    assert main(["toy", "xy", "--iterations", "5", "--out", str(tmp_path / "toy")]) == 0
    assert "$MINIGAN_DEVICE=gpu: a toy runs on the CPU" in capsys.readouterr().err


@pytest.mark.slow
def test_the_pictures_title_names_the_options_the_run_was_given(tmp_path, monkeypatch, capsys):
    """A snapshot of ring8 --pack 2 says so (it looked like the plain GAN's); a game's own
    defaults (WGAN-GP's 5 critic steps) are not named as if given."""
    titles, draw = [], toys.draw_frame

    def record(ax, *args, **kwargs):
        image = draw(ax, *args, **kwargs)
        titles.append(ax.get_title())
        return image

    monkeypatch.setattr(toys, "draw_frame", record)
    assert main(["toy", "ring8", "--iterations", "20", "--snapshots", "1", "--pack", "2",
                 "--out", str(tmp_path / "p")]) == 0
    assert titles[-1].startswith("ring8 --pack 2, iteration 20\n")
    assert main(["toy", "ring8", "--iterations", "20", "--snapshots", "1", "--loss", "wgan-gp",
                 "--out", str(tmp_path / "w")]) == 0
    assert titles[-1].startswith("ring8 --loss wgan-gp, iteration 20\n")
    assert "this one stopped at 20 of the toy's 10,000 iterations and ran with --loss wgan-gp" \
        in capsys.readouterr().out
    assert main(["toy", "ring8", "--iterations", "20", "--snapshots", "1", "--loss", "wgan-gp",
                 "--k", "2", "--out", str(tmp_path / "k")]) == 0
    assert titles[-1].startswith("ring8 --k 2 --loss wgan-gp, iteration 20\n")
    assert main(["toy", "ring8", "--iterations", "20", "--snapshots", "1",
                 "--out", str(tmp_path / "plain")]) == 0
    assert titles[-1].startswith("ring8, iteration 20\n")


@pytest.mark.slow
def test_no_snapshots_or_one_draws_the_last_iterations_alone(tmp_path, capsys):
    """``--snapshots 0`` and ``--snapshots 1`` each draw the last iteration's frame, as the
    option's help says; 3 draws it among the three."""
    drawn = {}
    for k in (0, 1, 3):
        out = tmp_path / f"s{k}"
        assert main(["toy", "ring8", "--iterations", "30", "--snapshots", str(k), "--no-field",
                     "--out", str(out)]) == 0
        drawn[k] = sorted(p.name for p in out.glob("snapshot_*.png"))
    capsys.readouterr()
    assert drawn[0] == drawn[1] == ["snapshot_00030.png"]
    assert len(drawn[3]) == 3 and drawn[3][-1] == "snapshot_00030.png"


def test_the_one_gaussian_toys_summarise_every_seed_not_the_first(tmp_path, monkeypatch, capsys):
    """``--seeds N`` prints the mean and spread over the seeds, as its help says: gaussian1d
    and gaussian2d printed the first seed's numbers alone, without saying so."""
    values = {0: (1.0, 3.0), 1: (2.0, 5.0)}

    def fake_run(name, iterations, seed, snapshots, opts=None, record_frames=True, **pictures):
        a, b = values[seed]
        metrics = ({"mean_error": a, "cov_error": b} if name == "gaussian2d" else
                   {"mean": a, "std": b, "d_vs_dstar_mean_abs": a / 10, "d_vs_dstar_max_abs": b / 10})
        return {"metrics": metrics, "frames": [], "real": None, "history": [], "seconds": 0.0,
                "iterations": 20}

    monkeypatch.setattr(toys, "run_gan_toy", fake_run)
    monkeypatch.setattr(toys, "save_pictures", lambda *a, **k: [])
    assert main(["toy", "gaussian2d", "--seeds", "2", "--out", str(tmp_path / "two")]) == 0
    assert ("gaussian2d, 2 seeds, 20 iterations, mean ± standard deviation over the seeds: "
            "error of the mean 1.500 ± 0.500, of the covariance (Frobenius) 4.000 ± 1.000"
            ) in capsys.readouterr().out
    assert main(["toy", "gaussian1d", "--seeds", "2", "--loss", "lsgan",
                 "--out", str(tmp_path / "one_d")]) == 0
    assert ("gaussian1d, 2 seeds, 20 iterations, mean ± standard deviation over the seeds: "
            "data N(4, 1.25^2); G's samples mean 1.500 ± 0.500, std 4.000 ± 1.000; distance "
            "between D and D*: mean |D - D*| 0.150 ± 0.050, max 0.400 ± 0.100"
            ) in capsys.readouterr().out
    assert main(["toy", "gaussian2d", "--out", str(tmp_path / "one")]) == 0
    assert ("gaussian2d, seed 0, 20 iterations: error of the mean 1.000, of the covariance "
            "(Frobenius) 3.000") in capsys.readouterr().out


def test_a_toy_of_one_iteration_says_iteration(tmp_path, capsys):
    assert main(["toy", "ring8", "--iterations", "1", "--snapshots", "1", "--no-field",
                 "--out", str(tmp_path / "r")]) == 0
    assert "ring8, seed 0, 1 iteration: modes" in capsys.readouterr().out
    assert main(["toy", "gaussian2d", "--iterations", "1", "--snapshots", "1", "--no-field",
                 "--out", str(tmp_path / "g")]) == 0
    assert "gaussian2d, seed 0, 1 iteration: error of the mean" in capsys.readouterr().out


def test_each_seed_s_line_says_its_numbers_in_words(tmp_path, monkeypatch, capsys):
    """A seed's line named metrics.json's keys and a share as a fraction ("modes_covered 6,
    high_quality 0.0052"), beside a summary in words and percentages."""
    def fake_run(name, iterations, seed, snapshots, opts=None, record_frames=True, **pictures):
        metrics = ({"modes_covered": 6, "high_quality": 0.0052, "reverse_kl": 0.595}
                   if name == "ring8" else
                   {"mean": 5.7, "std": 2.4, "d_vs_dstar_mean_abs": 0.3, "d_vs_dstar_max_abs": 0.6})
        return {"metrics": metrics, "frames": [], "real": None, "history": [], "seconds": 0.5,
                "iterations": 20}

    monkeypatch.setattr(toys, "run_gan_toy", fake_run)
    monkeypatch.setattr(toys, "save_pictures", lambda *a, **k: [])
    assert main(["toy", "ring8", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "seed 0: modes 6 of 8, high quality 0.5%, reverse KL 0.59 (0.5 s)" in out
    assert "modes_covered" not in out and "high_quality" not in out
    assert main(["toy", "gaussian1d", "--loss", "lsgan", "--out", str(tmp_path / "g")]) == 0
    assert ("seed 0: G's samples mean 5.700, std 2.400, mean |D - D*| 0.300, max 0.600 (0.5 s)"
            in capsys.readouterr().out)


def test_a_noise_grid_the_snapshots_would_not_draw_is_refused(tmp_path, capsys,
                                                               assert_one_line_error):
    """``--noise-grid`` with ``--no-field``, ``--pack`` or ``--minibatch`` was taken and no grid
    drawn: it is drawn with D's surface, which those leave out."""
    for more, said in ((["--no-field"], "which --no-field leaves out"),
                       (["--pack", "2"], "which --pack and --minibatch leave out"),
                       (["--minibatch", "stddev"], "which --pack and --minibatch leave out")):
        rc = main(["toy", "ring8", "--iterations", "5", "--noise-grid", *more,
                   "--out", str(tmp_path / "t")])
        assert_one_line_error(rc, capsys.readouterr().err, "--noise-grid is drawn with D's",
                              said, "leave one or the other out")
        assert not (tmp_path / "t").exists()
