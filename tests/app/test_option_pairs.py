"""Every pair of the training options (the game, the remedies, conditional, k), run for a few
iterations on a small model: each pair trains, or is refused in one line before anything is
written, and the pairs refused are exactly the ones that cannot go together.

An option that only some games read is refused with the others, not saved where it does
nothing: ``--gp-weight`` weighs WGAN-GP's penalty, and only that game has one (the tests
after the pairs, in the default part, each rule refused and accepted, and a run saved
with the weight its game never took still resuming).

``train`` pairs run on the tiny MNIST-like split (the vanilla model, whose default game is
the cross-entropy one, an epoch of a few iterations), ``toy`` pairs (no ``--conditional``)
on ring8; both in the slow part (about two minutes). The default part runs the pair that
once broke (a packed D with flipped labels) in ``tests/gan``.
"""

import itertools
import json
import math

import pytest

from minigan.app import runs, settings
from minigan.app.cli import main

#: One non-default value of each training option, as command-line words.
OPTIONS = {
    "lsgan": ("--loss", "lsgan"),
    "hinge": ("--loss", "hinge"),
    "wgan-gp": ("--loss", "wgan-gp"),
    "minimax": ("--g-loss", "minimax"),
    "smoothing": ("--label-smoothing", "0.1"),
    "flip": ("--label-flip", "0.2"),
    "instance-noise": ("--instance-noise", "0.1"),
    "uniform-prior": ("--prior", "uniform"),
    "pack": ("--pack", "2"),
    "mbdisc": ("--minibatch", "discrimination"),
    "mbstd": ("--minibatch", "stddev"),
    "ema": ("--ema", "0.9"),
    "spectral-norm": ("--spectral-norm",),
    "k2": ("--k", "2"),
    "conditional": ("--conditional",),
    "gp-weight": ("--gp-weight", "5"),
}
#: Options that set the same thing: never a pair.
SAME = [{"lsgan", "hinge", "wgan-gp"}, {"mbdisc", "mbstd"}]
NO_LABELS = {"hinge", "wgan-gp"}          # games without labels to smooth or flip
#: The pairs that cannot go together, each for its reason.
REFUSED = (
    {frozenset((game, "minimax")) for game in ("lsgan", "hinge", "wgan-gp")}   # a form of 'gan'
    | {frozenset((game, noise)) for game in NO_LABELS for noise in ("smoothing", "flip")}
    | {frozenset(("wgan-gp", per_batch)) for per_batch in ("pack", "mbdisc", "mbstd")}
    # a penalty's weight beside any game but the one with the penalty (the vanilla model's
    # and the toys' game is gan unless --loss says otherwise)
    | {frozenset(("gp-weight", other)) for other in OPTIONS if other not in ("gp-weight",
                                                                            "wgan-gp")}
)


def pairs(names):
    return [pair for pair in itertools.combinations(names, 2)
            if not any(set(pair) <= same for same in SAME)]


TRAIN_PAIRS = pairs(OPTIONS)
TOY_PAIRS = pairs([name for name in OPTIONS if name != "conditional"])


def _check(rc, err, out, pair, written):
    if frozenset(pair) in REFUSED:
        assert rc == 2, f"{pair} should be refused: rc {rc}"
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("minigan: error: "), err
        assert not out.exists(), f"{pair}: refused after writing {sorted(out.iterdir())}"
    else:
        assert rc == 0, f"{pair} should train: rc {rc}, {err}"
        assert written(), pair


@pytest.mark.slow
@pytest.mark.parametrize("pair", TRAIN_PAIRS, ids="+".join)
def test_every_pair_of_training_options_trains_or_is_refused(pair, tmp_path, train_args,
                                                            write_tiny_mnist, capsys):
    data = write_tiny_mnist(tmp_path / "mnist", n=96)     # WGAN-GP's k = 5 needs 80
    out = tmp_path / "run"
    words = [w for name in pair for w in OPTIONS[name]]
    rc = main(train_args(data, out, "--batch-size", "16", "--epochs", "1", *words))
    err = capsys.readouterr().err

    def written():
        lines = (out / "metrics.csv").read_text().splitlines()
        header, last = lines[0].split(","), lines[-1].split(",")
        row = dict(zip(header, last, strict=True))
        assert int(row["iteration"]) == len(lines) - 1 >= 1, row     # a row per iteration
        return all(math.isfinite(float(row[key])) for key in ("d_loss", "g_loss"))

    _check(rc, err, out, pair, written)


@pytest.mark.slow
@pytest.mark.parametrize("pair", TOY_PAIRS, ids="+".join)
def test_every_pair_of_toy_options_trains_or_is_refused(pair, tmp_path, capsys):
    out = tmp_path / "toy"
    words = [w for name in pair for w in OPTIONS[name]]
    rc = main(["toy", "ring8", "--iterations", "6", "--snapshots", "1", "--out", str(out),
               *words])
    err = capsys.readouterr().err

    def written():
        result = json.loads((out / "metrics.json").read_text())
        return result["iterations"] == 6

    _check(rc, err, out, pair, written)


def test_the_refused_pairs_are_pairs_of_options():
    """REFUSED names only options of OPTIONS (a renamed option cannot silently pass)."""
    assert set().union(*REFUSED) <= set(OPTIONS)
    assert all(frozenset(pair) in {frozenset(p) for p in TRAIN_PAIRS} for pair in REFUSED)


# -- options that only some games read: refused with the others -----------------------------
@pytest.mark.parametrize("game", [(), ("--loss", "lsgan"), ("--loss", "hinge")],
                         ids=["vanilla's gan", "lsgan", "hinge"])
def test_gp_weight_is_refused_with_a_game_without_the_penalty(game, data_dir, tmp_path,
                                                              train_args, capsys,
                                                              assert_one_line_error):
    out = tmp_path / "run"
    rc = main(train_args(data_dir, out, "--epochs", "1", "--gp-weight", "5", *game))
    loss = game[1] if game else "gan"
    assert_one_line_error(rc, capsys.readouterr().err, "--gp-weight 5", f"loss {loss!r}",
                          "--loss wgan-gp", "leave --gp-weight out")
    assert not out.exists()


def test_gp_weight_is_refused_with_the_model_s_game_and_says_whose_it_is():
    with pytest.raises(settings.SettingError, match=r"loss 'hinge' .* \(model mlp plays hinge "
                       r"unless --loss says otherwise\)"):
        settings.new_config({"model": "mlp", "gp_weight": 5.0})
    with pytest.raises(settings.SettingError, match=r"loss 'gan' .* \(minigan toy plays gan "):
        settings.toy_options({"gp_weight": 5.0})


@pytest.mark.parametrize("weight", ["10", "0"], ids=["the default", "zero"])
def test_gp_weight_given_is_refused_whatever_its_value(weight, data_dir, tmp_path, train_args,
                                                      capsys, assert_one_line_error):
    """Given at all, the default's value too: a rule on the value would let ``--gp-weight 10``
    pass with a game that never reads it where ``--gp-weight 10.5`` is refused."""
    out = tmp_path / "run"
    rc = main(train_args(data_dir, out, "--epochs", "1", "--gp-weight", weight))
    assert_one_line_error(rc, capsys.readouterr().err, f"--gp-weight {weight}", "loss 'gan'",
                          "leave --gp-weight out")
    assert not out.exists()
    with pytest.raises(settings.SettingError, match=r"--gp-weight 10 .* \(model mlp plays hinge "
                       r"unless --loss says otherwise\)"):
        runs.resolve_config({"model": "mlp", "gp_weight": 10.0}, typed=True)
    with pytest.raises(settings.SettingError, match=r"--gp-weight 10 .*loss 'lsgan'"):
        settings.toy_options({"loss": "lsgan", "gp_weight": 10.0})
    assert runs.resolve_config({"model": "mlp", "loss": "wgan-gp", "gp_weight": 10.0}, typed=True)


def test_a_whole_set_of_settings_from_python_keeps_its_default_weight(data_dir, tmp_path,
                                                                       train_args):
    """From Python, a dict of every setting (read_config's, DEFAULTS spread) holds the default
    weight whatever its game: it is not refused, for a new run or a resume (another value
    still is)."""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    saved = runs.read_config(run)
    assert saved["gp_weight"] == 10.0 and saved["loss"] == "gan"
    assert runs.resolve_config({**saved, "out": str(tmp_path / "new"), "seed": 1})[0]["seed"] == 1
    assert runs.resolve_config({**saved, "resume": str(run), "epochs": 3})[0]["epochs"] == 3
    assert runs.resolve_config({**settings.DEFAULTS, "model": "mlp"})[0]["loss"] == "hinge"
    with pytest.raises(settings.SettingError, match="--gp-weight 5"):
        runs.resolve_config({**saved, "out": str(tmp_path / "new"), "gp_weight": 5.0})


def test_a_resumed_run_refuses_gp_weight_its_game_does_not_read(data_dir, tmp_path, train_args,
                                                                capsys, assert_one_line_error):
    """Resumed, the saved game decides: ``--gp-weight`` with a run of the cross-entropy game is
    refused for what it is (not as a value other than the checkpoint's), and nothing of the
    run changes."""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    before = (run / "checkpoint.npz").read_bytes()
    capsys.readouterr()
    rc = main(["train", "--resume", str(run), "--epochs", "2", "--gp-weight", "10", "--quiet",
               "--data-dir", str(data_dir), "--no-download", "--device", "cpu"])
    assert_one_line_error(rc, capsys.readouterr().err, "--gp-weight 10", "the run's loss 'gan'",
                          "leave --gp-weight out")
    assert (run / "checkpoint.npz").read_bytes() == before


def test_gp_weight_is_taken_with_wgan_gp_and_its_default_by_every_game(data_dir, tmp_path,
                                                                      train_args):
    out = tmp_path / "run"
    assert main(train_args(data_dir, out, "--epochs", "1", "--loss", "wgan-gp",
                           "--gp-weight", "5")) == 0
    assert json.loads((out / "config.json").read_text())["gp_weight"] == 5.0
    assert settings.toy_options({"loss": "wgan-gp", "gp_weight": 5.0})["gp_weight"] == 5.0
    for loss in ("gan", "lsgan", "hinge"):    # the default, which every run saves
        assert settings.new_config({"model": "vanilla", "loss": loss, "gp_weight": 10.0})


def test_runs_saved_beside_a_game_without_the_penalty_still_resume(data_dir, tmp_path, train_args,
                                                                    monkeypatch):
    """A run saves the default weight whatever its game, and one saved with another weight
    before minigan refused it (the weight weighed nothing) resumes, read as the default."""
    resume = ["--epochs", "2", "--quiet", "--data-dir", str(data_dir), "--no-download",
              "--device", "cpu"]
    default, earlier = tmp_path / "default", tmp_path / "earlier"
    assert main(train_args(data_dir, default, "--epochs", "1")) == 0
    assert json.loads((default / "config.json").read_text())["gp_weight"] == 10.0
    with monkeypatch.context() as m:     # as a minigan that took --gp-weight with any game
        m.setattr(settings, "gp_weight_unread", lambda c: False)
        m.setattr(settings, "check_gp_weight_given", lambda *a, **k: None)
        assert main(train_args(data_dir, earlier, "--epochs", "1", "--gp-weight", "5")) == 0
    assert json.loads((earlier / "config.json").read_text())["gp_weight"] == 5.0
    assert runs.read_config(earlier)["gp_weight"] == 10.0
    for run in (default, earlier):
        assert main(["train", "--resume", str(run), *resume]) == 0
        config = json.loads((run / "config.json").read_text())
        assert (config["loss"], config["gp_weight"]) == ("gan", 10.0)
