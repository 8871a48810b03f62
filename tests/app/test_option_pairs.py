"""Every pair of the training options (the game, the remedies, conditional, k), run for a few
iterations on a small model: each pair trains, or is refused in one line before anything is
written, and the pairs refused are exactly the ones that cannot go together.

``train`` pairs run on the tiny MNIST-like split (the vanilla model, whose default game is
the cross-entropy one, an epoch of a few iterations), ``toy`` pairs (no ``--conditional``)
on ring8; both in the slow part (about two minutes). The default part runs the pair that
once broke (a packed D with flipped labels) in ``tests/gan``.
"""

import itertools
import json
import math

import pytest

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
}
#: Options that set the same thing: never a pair.
SAME = [{"lsgan", "hinge", "wgan-gp"}, {"mbdisc", "mbstd"}]
NO_LABELS = {"hinge", "wgan-gp"}          # games without labels to smooth or flip
#: The pairs that cannot go together, each for its reason.
REFUSED = (
    {frozenset((game, "minimax")) for game in ("lsgan", "hinge", "wgan-gp")}   # a form of 'gan'
    | {frozenset((game, noise)) for game in NO_LABELS for noise in ("smoothing", "flip")}
    | {frozenset(("wgan-gp", per_batch)) for per_batch in ("pack", "mbdisc", "mbstd")}
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
