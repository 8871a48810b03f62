"""The settings of a run: one table of every setting's default, check and option.

A setting reaches a run from the command line (``--batch-size 64``), from a
run's ``config.json`` (a restart) or from a checkpoint (``--resume``). Each
comes through the same check of :data:`SETTINGS`: a value of the wrong type or
out of range is refused in one line that names where it came from, the setting
and what was expected (``config.json: "batch_size" must be a positive integer,
got "abc"``). JSON values are taken as they are typed: ``"false"`` is a string,
not a boolean, and ``7`` is not a boolean either.

:func:`add_options` builds the command-line options of ``minigan train`` and
``minigan toy`` from the same table, and :func:`new_config` fills in what a
new run did not choose: the table's defaults, then the game's
(:mod:`minigan.gan.games`: WGAN-GP's 5 critic steps, Adam 1e-4, betas 0.5 /
0.9), then the model's (:data:`minigan.gan.models.MODELS`: epochs, batch size,
step size). The rules of resuming live in :mod:`minigan.app.runs`.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from minigan.data.mnist import valid_file_name, valid_md5
from minigan.gan import games, models
from minigan.gan.algorithm import PRIORS, R1_EVERY

__all__ = ["SettingError", "Kind", "Setting", "SETTINGS", "DEFAULTS", "RESUME_MAY_CHANGE",
           "NOT_SAVED", "TOY_KEYS", "GP_WEIGHT", "program", "as_option", "option_value", "check",
           "check_all", "batch_statistics", "gp_weight_unread", "check_gp_weight_given",
           "add_options", "new_config", "toy_options"]


class SettingError(ValueError):
    """A setting's value is of the wrong type or out of range; the message names where it
    came from, the setting and what was expected."""


# -- kinds of values ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Kind:
    """A kind of setting value: how command-line text becomes one, which values are one.

    ``what`` says what is expected ("a positive integer"); ``convert`` turns the text
    of an option into a value (raising ValueError); ``valid`` tells whether a value,
    converted or read from JSON, is one (Python types included: a JSON string is never
    an int, a JSON number never a bool). ``on_command_line`` is what the command line takes, where
    it differs from ``what`` (a JSON null cannot be typed there).
    """

    what: str
    convert: object
    valid: object
    options: tuple | None = None
    on_command_line: str | None = None

    def parse(self, text):
        """argparse's ``type=``: the value of ``text``, or an error saying what was expected."""
        what = self.on_command_line or self.what
        try:
            value = self.convert(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not self.valid(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _in(lo, hi, closed_hi=False):
    return lambda v: _number(v) and lo <= v and (v <= hi if closed_hi else v < hi)


POSITIVE_INT = Kind("a positive integer", int, lambda v: _int(v) and v >= 1)
NON_NEGATIVE_INT = Kind("a non-negative integer", int, lambda v: _int(v) and v >= 0)
POSITIVE_NUMBER = Kind("a finite positive number", float, lambda v: _number(v) and v > 0)
NON_NEGATIVE_NUMBER = Kind("a finite number >= 0", float, lambda v: _number(v) and v >= 0)
FRACTION = Kind("a number in [0, 1)", float, _in(0.0, 1.0))
FLIP_PROBABILITY = Kind("a number in [0, 0.5)", float, _in(0.0, 0.5))
DECAY = Kind("a decay in [0, 1) such as 0.999", float, _in(0.0, 1.0))
CLUSTERS = Kind("0 (off) or a number of groups from 2 to 1000", int,
                lambda v: _int(v) and (v == 0 or 2 <= v <= 1000))
BOOLEAN = Kind("true or false", None, lambda v: isinstance(v, bool))
TEXT = Kind("a text", str, lambda v: isinstance(v, str) and "\0" not in v and len(v) < 4096)
BETAS = Kind("two numbers in [0, 1) (Adam's beta1 and beta2)", None,
             lambda v: isinstance(v, (list, tuple)) and len(v) == 2
             and all(_in(0.0, 1.0)(b) for b in v))


def count(low, high, why):
    """The kind of a whole number from ``low`` to ``high``; ``why`` says what the bound is."""
    return Kind(f"an integer from {low} to {high:,} ({why})", int,
                lambda v: _int(v) and low <= v <= high)


#: The most digits one picture shows: a grid of 100 x 100 (6,000 pixels a side as minigan
#: draws it, about 1.3 GB of memory while it is drawn).
MAX_GRID = 10_000
#: The most images a row of ``minigan interpolate`` walks through, and its most rows.
MAX_STEPS = MAX_ROWS = 100
GRID = count(1, MAX_GRID, "the digits of one picture")
STEPS = count(2, MAX_STEPS, "the images of a row, both ends included")
#: Bounds of the options whose work or memory grows with them, beyond any use: eval's draws
#: of the noise and TSTR's epochs (minutes each), a toy's iterations, seeds and frames (each
#: frame kept until its GIF is written, about 0.3 MB).
DRAWS = count(1, 100, "draws of the noise, each scored whole")
TSTR_EPOCHS = count(0, 200, "epochs of the TSTR classifier")
TOY_ITERATIONS = count(1, 10 ** 6, "a toy trains in minutes")
TOY_SEEDS = count(1, 100, "runs of the toy, one a seed")
SNAPSHOTS = count(0, 500, "frames kept in memory until the GIF is written")
STEP_FRAMES = count(0, 250, "iterations drawn step by step, two frames each, kept in memory")
#: The most samples D judges at once (``--pack``): D's first layer takes that many images, so
#: its weights grow with the pack (PacGAN packs 2 to 4); a run folder's settings claim no more.
MAX_PACK = 16
PACK = count(1, MAX_PACK, "the samples D judges at once; its first layer grows with them")
PAIRS = count(1, MAX_ROWS, "the rows of one picture")


def choice(*options):
    """The kind of a setting that takes one of ``options``."""
    return Kind("one of " + ", ".join(repr(o) for o in options), str,
                lambda v: isinstance(v, str) and v in options, tuple(options))


def optional(kind):
    """``kind`` or None (JSON null): "unset, take the default"."""
    return Kind(kind.what + " (or null)", kind.convert, lambda v: v is None or kind.valid(v),
                kind.options, kind.on_command_line or kind.what)


def _valid_files(v):
    """``files``: split -> ``{"images": [name, md5], "labels": [name, md5]}``, plain names;
    the labels may be left out (a run without ``conditional`` never reads them)."""
    if not isinstance(v, dict) or not v or not set(v) <= {"train", "test"}:
        return False
    for parts in v.values():
        if not isinstance(parts, dict) or set(parts) not in ({"images"}, {"images", "labels"}):
            return False
        for entry in parts.values():
            if not (isinstance(entry, (list, tuple)) and len(entry) == 2
                    and valid_file_name(entry[0])
                    and valid_md5(entry[1])):
                return False
    return True


FILES = Kind('MNIST-like file names by split ({"test": {"images": [NAME, MD5], "labels": '
             '[NAME, MD5]}}, each NAME a plain file name in the data folder, each MD5 its md5 '
             'in 32 hex digits; "labels" may be left out of a run without conditional)', None,
             _valid_files)


# -- the table -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """One setting of a run.

    Attributes
    ----------
    key : str
        Its name in ``config.json`` and the checkpoint.
    kind : Kind
    default
        A new run's value when not chosen; None: the game's or the model's default
        (:func:`new_config`), or "none".
    help : str
    flags : tuple of str
        Its command-line options (none: a setting only code and files set).
    commands : tuple of str
        The commands that take it: ``"train"``, ``"toy"``.
    negate : bool
        A boolean set False by its flag (``--no-download``).
    resume_may_change : bool
        Whether a resumed run may be given another value (where it runs, how long).
    saved : bool
        Whether it is saved with a run (not how the run was started: ``resume``,
        ``quiet``).
    group : str
        The command-line help group.
    metavar : str or None
    toy_help : str or None
        ``minigan toy``'s help, where its default differs from a run's (``help``).
    """

    key: str
    kind: Kind
    default: object
    help: str
    flags: tuple = ()
    commands: tuple = ("train",)
    negate: bool = False
    resume_may_change: bool = False
    saved: bool = True
    group: str = ""
    metavar: str | None = None
    toy_help: str | None = None


REMEDY = "against mode collapse"
#: The weight of WGAN-GP's gradient penalty unless told (``--gp-weight``); every run saves
#: it, whatever its game.
GP_WEIGHT = 10.0
#: The game of ``minigan toy`` unless told (a run's is its model's).
TOY_LOSS = "gan"
BOTH = ("train", "toy")

#: Every setting of a run, in the order ``minigan train --help`` lists them.
SETTINGS = (
    Setting("model", choice(*models.MODELS), models.DEFAULT_MODEL,
            f"architecture (default {models.DEFAULT_MODEL})", ("--model",)),
    Setting("epochs", optional(POSITIVE_INT), None, "train until this many epochs are done "
            "in total (default: the model's)", ("--epochs",), resume_may_change=True),
    Setting("batch_size", optional(POSITIVE_INT), None, "minibatch size m (default: the "
            "model's)", ("--batch-size",)),
    Setting("lr", optional(POSITIVE_NUMBER), None, "Adam step size of both players (default: "
            "the model's; 1e-4 with --loss wgan-gp)", ("--lr",)),
    Setting("betas", optional(BETAS), None, "Adam's beta1 and beta2 (default: the model's; "
            "0.5 and 0.9 with --loss wgan-gp)"),
    Setting("k", optional(POSITIVE_INT), None, "D (critic) steps per G step (default 1; 5 "
            "with --loss wgan-gp)", ("--k", "--n-critic"), BOTH, metavar="K"),
    Setting("seed", NON_NEGATIVE_INT, 0, "seed of every random choice (default 0)", ("--seed",),
            BOTH),
    Setting("device", choice("cpu", "gpu", "auto"), "auto", "cpu (NumPy), gpu (CuPy) or auto "
            "(default: $MINIGAN_DEVICE or auto)", ("--device",), resume_may_change=True),
    Setting("data_dir", optional(TEXT), None, "folder with the MNIST .gz files (default: the "
            "download cache: $MINIGAN_DATA where it is set, else "
            "$XDG_CACHE_HOME/minigan/mnist or ~/.cache/minigan/mnist)", ("--data-dir",),
            resume_may_change=True),
    Setting("split", choice("train", "test"), "train", "MNIST split (default train)",
            ("--split",)),
    Setting("download", BOOLEAN, True, "never download: fail if the files are not in "
            "--data-dir", ("--no-download",), negate=True, resume_may_change=True),
    Setting("files", optional(FILES), None, "the data files by split, in place of MNIST's "
            "(a small data set of your own; train's --images and --labels set it)",
            resume_may_change=True),
    Setting("out", optional(TEXT), None, "run folder (default runs/<model>-<date>-<time>, "
            "with -2, -3, ... appended where another run has it)", ("--out",),
            resume_may_change=True),
    Setting("g_loss", choice(*games.G_LOSSES), "non_saturating", "generator loss of the "
            "cross-entropy game (default non_saturating)", ("--g-loss",), BOTH),
    Setting("label_smoothing", FRACTION, 0.0, "one-sided: the real target becomes 1 - s "
            "(default 0)", ("--label-smoothing",), BOTH),
    Setting("prior", choice(*PRIORS), "gaussian", "noise prior (default gaussian)",
            ("--prior",), BOTH),
    Setting("n_samples", GRID, 64, "samples in an epoch's grid"),
    Setting("dtype", choice("float32", "float64"), "float32", "floating type of the run"),
    Setting("quiet", BOOLEAN, False, "no progress bars (the run folder and the result are "
            "still printed)", ("--quiet",), resume_may_change=True, saved=False),
    Setting("eval_every", NON_NEGATIVE_INT, 0, "every N epochs, score the generator with the "
            "lab's metrics (IS, FID, classes covered, precision, recall, density, coverage "
            "of --eval-n digits, beside real held-out digits; a conditional run's label "
            "agreement) into scores.csv and the curves picture; needs the "
            "MNIST test split", ("--eval-every",), resume_may_change=True, metavar="N"),
    Setting("eval_n", POSITIVE_INT, 2000, "generated digits per evaluation (default 2000; at "
            "most as many as the real held-out digits, 5,000 with the test split alone)",
            ("--eval-n",), resume_may_change=True, metavar="N"),
    # -- the remedies against mode collapse and the games
    Setting("conditional", BOOLEAN, False, "conditional GAN: G and D take the digit's one-hot "
            "label", ("--conditional",), group=REMEDY),
    Setting("clusters", optional(CLUSTERS), None, "self-conditioning: the training images "
            "are split into K groups by k-means on their pixels (no labels), D judges each "
            "image with its group and G draws the group from its own noise, each in its share "
            "(default: the model's, 30 for mlp, 0 (off) for the others and with --conditional)",
            ("--clusters",), group=REMEDY, metavar="K"),
    Setting("g_label", optional(choice(*models.G_LABELS)), None, "where G takes its label "
            "(--conditional's digit or --clusters' group): with its noise only (input), or "
            "again at each of its Dense layers (every; models mlp and mlp-large) (default: "
            "the model's where the run has labels, every for mlp, input for the others)",
            ("--g-label",), group=REMEDY),
    Setting("pack", PACK, 1, f"PacGAN: D judges packs of M samples at once, M from 1 to "
            f"{MAX_PACK} (default 1)",
            ("--pack",), BOTH, group=REMEDY, metavar="M"),
    Setting("minibatch", optional(choice(*models.MINIBATCH)), None, "a minibatch layer before "
            "D's last layer: Salimans et al.'s minibatch discrimination or Karras et al.'s "
            "minibatch standard deviation (default: the model's, stddev for mlp)",
            ("--minibatch",), BOTH, group=REMEDY,
            toy_help="a minibatch layer before D's last layer: Salimans et al.'s minibatch "
            "discrimination or Karras et al.'s minibatch standard deviation (default: none)"),
    Setting("ema", optional(DECAY), None, "keep a moving average of G's weights (e.g. 0.999); "
            "sample grids, sample, interpolate and eval use it (default: the model's, 0.9998 "
            "for mlp, 0.999 for mlp-large; 0 follows G itself)", ("--ema",), BOTH, group=REMEDY,
            metavar="DECAY", toy_help="keep a moving average of G's weights (e.g. 0.999); the "
            "metrics and pictures then come from it (default: none, G itself)"),
    Setting("spectral_norm", BOOLEAN, False, "spectral normalization of D's Dense and Conv2d "
            "weights", ("--spectral-norm",), BOTH, group=REMEDY,
            toy_help="spectral normalization of D's Dense weights"),
    Setting("label_flip", FLIP_PROBABILITY, 0.0, "swap each label of D's batches with "
            "probability P (default 0)", ("--label-flip",), BOTH, group=REMEDY, metavar="P"),
    Setting("instance_noise", NON_NEGATIVE_NUMBER, 0.0, "Gaussian noise of std SIGMA on D's "
            "inputs (the images, not a conditional run's labels), falling linearly to SIGMA/T "
            "at the last of T iterations (default 0)", ("--instance-noise",), BOTH, group=REMEDY,
            metavar="SIGMA", toy_help="Gaussian noise of std SIGMA on D's inputs (the real "
            "and the generated points), falling linearly to SIGMA/T at the last of T iterations "
            "(default 0)"),
    Setting("g_batch", optional(choice("fresh", "reuse")), None, "the fake batch G's step "
            "learns from: fresh noise, as in Algorithm 1, or the D step's batch, one forward "
            "pass of G fewer (default: the model's, reuse for mlp, fresh for the others)",
            ("--g-batch",)),
    Setting("loss", choice(*games.NAMES), None, "the game (default: the model's, hinge for mlp, "
            "gan for vanilla and dcgan): gan (cross-entropy), lsgan "
            "(least squares), hinge, wgan-gp (Wasserstein with gradient penalty; defaults "
            "n-critic 5, Adam betas 0.5/0.9, and lr 1e-4 in train)", ("--loss",), BOTH,
            group=REMEDY, toy_help=f"the game (default {TOY_LOSS}): gan (cross-entropy), lsgan "
            "(least squares), hinge, wgan-gp (Wasserstein with gradient penalty; default "
            "n-critic 5)"),
    Setting("gp_weight", NON_NEGATIVE_NUMBER, GP_WEIGHT, "weight of WGAN-GP's gradient "
            "penalty (default 10; only with --loss wgan-gp)", ("--gp-weight",), BOTH,
            group=REMEDY, metavar="LAMBDA"),
    Setting("r1", optional(NON_NEGATIVE_NUMBER), None, "R1: GAMMA/2 times the mean squared "
            "norm of D's input gradient on the real batch joins D's loss, every "
            f"{R1_EVERY}th D step (default: the model's, 0.1 for mlp, 0 (off) for the others "
            "and with --conditional, --loss wgan-gp, --pack or --minibatch discrimination; a D "
            "of Dense, ReLU, LeakyReLU and minibatch standard deviation layers; not with --loss "
            "wgan-gp, whose critic has its own penalty)", ("--r1",),
            group=REMEDY, metavar="GAMMA"),
)

#: The settings by key.
BY_KEY = {s.key: s for s in SETTINGS}
#: A new run's settings before the game and the model fill in theirs (None: theirs).
DEFAULTS = {s.key: s.default for s in SETTINGS if "train" in s.commands}
#: Settings a resumed run may change; every other one comes from its checkpoint.
RESUME_MAY_CHANGE = tuple(s.key for s in SETTINGS if s.resume_may_change)
#: Settings not saved with a run: how it was started, not what it is.
NOT_SAVED = ("resume", "restart") + tuple(s.key for s in SETTINGS if not s.saved)
#: The settings of a toy GAN (``minigan toy``): the game and the remedies, not the seed.
TOY_KEYS = tuple(s.key for s in SETTINGS if "toy" in s.commands and s.key != "seed")


# -- checks ----------------------------------------------------------------------------------
def _shown(value):
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."


def program():
    """The command as the user typed it, for the commands the messages suggest: ``minigan``
    (the console script) or ``python -m minigan``."""
    return "minigan" if Path(sys.argv[0]).stem == "minigan" else "python -m minigan"


def as_option(key, value=None):
    """How a user gives ``key`` on the command line: ``--batch-size 64``, ``--no-download``,
    ``--conditional``; with ``value`` None the option alone. A value the command line cannot
    give (a setting without an option, such as ``files``; a boolean option's other value) is
    shown as ``key=value``."""
    setting = BY_KEY.get(key)
    flag = setting.flags[0] if setting is not None and setting.flags else None
    if flag is not None and value is None:
        return flag
    if flag is not None and setting.kind is BOOLEAN:
        if value is (not setting.negate):
            return flag
        flag = None
    if flag is None:
        return key if value is None else f"{key}={_shown(value)}"
    return f"{flag} {option_value(value)}"


def option_value(value):
    """A setting's value as the command line writes it: ``0.0014`` as ``0.0014``, a pair of
    numbers as ``0.5 0.999``, text as itself."""
    if isinstance(value, (list, tuple)):
        return " ".join(option_value(v) for v in value)
    if isinstance(value, float):
        return repr(value)                  # the shortest text that reads back as the value
    return str(value)


def check(key, value, source="the settings"):
    """``value`` if it is a valid ``key``, else :class:`SettingError` naming ``source``."""
    setting = BY_KEY.get(key)
    if setting is None:
        raise SettingError(f'{source}: unknown setting "{key}"; known: {", ".join(BY_KEY)}')
    if not setting.kind.valid(value):
        raise SettingError(f'{source}: "{key}" must be {setting.kind.what}, got '
                           f"{_shown(value)}")
    return value


def batch_statistics(config):
    """What in a run with the settings ``config`` estimates statistics over the batch, and so
    needs batches of 2 or more: ``["model dcgan's batch norm", "the minibatch layer
    (stddev)"]``, or empty."""
    spec = models.MODELS.get(config.get("model"))
    return ([f"model {config['model']}'s batch norm"] if spec is not None and spec.batch_norm
            else []) + ([f"the minibatch layer ({config['minibatch']})"]
                        if config.get("minibatch") else [])


def check_all(config, source="the settings"):
    """Check every setting of ``config`` (a dict) and how they fit together; return it.

    Raises :class:`SettingError` for the first that is not valid.
    """
    if not isinstance(config, dict):
        raise SettingError(f"{source}: expected the settings as a JSON object, got "
                           f"{type(config).__name__}")
    for key, value in config.items():
        check(key, value, source)
    _check_together(config, source)
    return config


def check_g_label(c, source="the settings"):
    """``g_label`` "every" needs a label to join (``conditional`` or ``clusters``, where the
    settings say so) and a model whose G is a chain of Dense layers."""
    if c.get("g_label") != "every":
        return
    if "clusters" in c and not c.get("clusters") and not c.get("conditional"):
        raise SettingError(f"{source}: --g-label every joins G's label to its layers, but "
                           "this run has none; add --conditional (the digits' labels) or "
                           "--clusters K (groups of the images), or leave --g-label out")
    if c.get("model", models.DEFAULT_MODEL) not in models.G_LABEL_MODELS:
        raise SettingError(f"{source}: --g-label every is built for the models "
                           f"{', '.join(models.G_LABEL_MODELS)}; model {c.get('model')!r} "
                           "takes its label with its noise only (leave --g-label out)")


def gp_weight_unread(c):
    """Whether the settings ``c`` weigh a gradient penalty that their game does not take: a
    ``gp_weight`` other than :data:`GP_WEIGHT` beside a ``loss`` without WGAN-GP's penalty
    (``Game.penalty``, :mod:`minigan.gan.games`). Every run saves the default, whatever its game,
    so only another value was chosen; with no ``loss`` in ``c`` (the model's, not yet
    filled in) the question waits for it."""
    game = games.GAMES.get(c.get("loss"))
    return game is not None and not game.penalty and c.get("gp_weight", GP_WEIGHT) != GP_WEIGHT


def check_gp_weight_given(given, config, source, whose=None, resumed=False):
    """Refuse ``gp_weight`` among the options ``given`` (those the user chose) whatever its
    value, the default's too, where the game of the run's settings ``config`` has no gradient
    penalty to weigh (:func:`gp_weight_unread` judges a whole set of settings, which always
    holds a weight, by its value). ``whose`` (``"model mlp"``, ``"minigan toy"``) plays
    ``config``'s game when ``given`` has no ``loss``; ``resumed``: the game is the saved run's."""
    game = games.GAMES.get(config.get("loss"))
    if "gp_weight" not in given or game is None or game.penalty:
        return
    said = _gp_weight_refusal(given["gp_weight"], game.name, source, resumed)
    if whose and "loss" not in given:
        said += _whose_game(whose, game.name)
    raise SettingError(said)


def _gp_weight_refusal(weight, loss, source, resumed=False):
    """What :func:`check_gp_weight_given` and :func:`check_all` say of a weight that the game
    ``loss`` does not read."""
    try:
        given = f"--gp-weight {float(weight):g}"
    except (TypeError, ValueError):
        given = "--gp-weight"
    if resumed:
        return (f"{source}: {given} weighs WGAN-GP's gradient penalty, which the run's loss "
                f"{loss!r} does not have; leave --gp-weight out")
    return (f"{source}: {given} weighs WGAN-GP's gradient penalty, which loss {loss!r} does "
            "not have; use it with --loss wgan-gp, or leave --gp-weight out")


def _check_together(c, source):
    """The settings that must fit each other: the game's labels and penalty, the pack and the
    batch."""
    game = games.GAMES.get(c.get("loss", "gan"))
    if game is not None and c.get("loss") not in (None, "gan") and \
            c.get("g_loss", "non_saturating") != "non_saturating":
        raise SettingError(f"{source}: g_loss {c['g_loss']!r} is a form of the cross-entropy "
                           f"game; loss {c['loss']!r} has its own generator loss (leave "
                           "--g-loss out)")
    if game is not None and not game.labels and (c.get("label_smoothing") or c.get("label_flip")):
        raise SettingError(f"{source}: loss {game.name!r} has no labels to smooth or flip; "
                           "use --label-smoothing and --label-flip with gan or lsgan")
    if gp_weight_unread(c):
        raise SettingError(_gp_weight_refusal(c["gp_weight"], c["loss"], source))
    check_g_label(c, source)
    if c.get("r1") and not math.isfinite(c["r1"] * R1_EVERY):
        raise SettingError(f"{source}: --r1 {c['r1']:g}: every {R1_EVERY}th D step weighs R1 "
                           f"{R1_EVERY} times that, which is not a finite number; give a "
                           "smaller --r1 (0.1 is the default model's)")
    if game is not None and game.penalty and c.get("r1"):
        raise SettingError(f"{source}: --r1 {c['r1']:g} and loss {game.name!r}: the critic "
                           "already has its own gradient penalty (--gp-weight); one penalty "
                           "per D (--r1 0, or another --loss)")
    if c.get("clusters") and c.get("conditional"):
        raise SettingError(f"{source}: --conditional and --clusters {c['clusters']}: the "
                           "labels are either the digits' (--conditional) or groups the run "
                           "finds (--clusters); choose one (--clusters 0 turns the groups off)")
    pack, batch = c.get("pack") or 1, c.get("batch_size")
    by_batch = batch_statistics(c)
    if isinstance(batch, int) and batch < 2 and by_batch:
        verb = "estimate" if len(by_batch) > 1 else "estimates"
        raise SettingError(f"{source}: {' and '.join(by_batch)} {verb} statistics over the "
                           f"batch, which a batch of {batch} cannot give; use --batch-size 2 "
                           "or more (the vanilla model, without a minibatch layer, trains on "
                           "batches of 1)")
    if batch is not None and batch % pack:
        raise SettingError(f"{source}: --pack {pack} cuts each batch into packs of {pack}, "
                           f"but the batch size {batch} is not a multiple of it; choose a "
                           "--batch-size that is")


# -- the command line ------------------------------------------------------------------------
def add_options(parser, command):
    """Add the options of ``command``'s settings to the argparse ``parser``; unset: None."""
    groups = {}
    for s in SETTINGS:
        if command not in s.commands or not s.flags:
            continue
        target = parser
        if s.group:
            target = groups.get(s.group) or groups.setdefault(
                s.group, parser.add_argument_group(s.group))
        said = s.toy_help if command == "toy" and s.toy_help else s.help
        if s.kind is BOOLEAN:
            target.add_argument(*s.flags, dest=s.key, default=None, help=said,
                                action="store_false" if s.negate else "store_true")
            continue
        how = {"choices": s.kind.options} if s.kind.options else {"type": s.kind.parse}
        target.add_argument(*s.flags, dest=s.key, default=None, help=said,
                            metavar=s.metavar, **how)


# -- a new run's settings --------------------------------------------------------------------
def new_config(options, source="the command line"):
    """A new run's settings: ``options`` over :data:`DEFAULTS`, then the model's defaults
    (its game, EMA and minibatch layer, then its batch size and Adam settings) and the
    game's for what is still unset; every value checked. The length, ``epochs``, stays
    unset unless chosen: it follows the data (:meth:`minigan.gan.models.ModelSpec.epochs_for`).

    Parameters
    ----------
    options : dict
        Settings chosen (None: unset).
    source : str
        Where they came from, for the errors (a ``config.json`` path, ...).
    """
    chosen = {k: v for k, v in options.items() if v is not None}
    check_all(chosen, source)
    config = {**DEFAULTS, **chosen}
    spec = models.MODELS[config["model"]]
    loss_chosen = config["loss"] is not None
    if not loss_chosen:
        config["loss"] = spec.defaults.get("loss", "gan")
    game = games.GAMES[config["loss"]]
    for key, value in spec.defaults.items():          # the model's EMA and minibatch layer
        if key in ("minibatch", "r1") and game.penalty:   # a penalized critic judges each
            continue                                  # sample alone, under its own penalty
        if key in ("clusters", "r1") and config["conditional"]:   # the digits' labels
            continue                                  # instead; R1 measured with the groups
        if config[key] is None:
            config[key] = value
    for key, value in game.defaults.items():
        if config[key] is None:
            config[key] = value
    if config["k"] is None:
        config["k"] = 1
    if config["g_batch"] is None:                     # Algorithm 1: fresh noise
        config["g_batch"] = "fresh"
    if config["clusters"] is None:                    # no groups: a plain GAN
        config["clusters"] = 0
    if config["r1"] is None or ("r1" not in chosen and (
            (config["pack"] or 1) > 1 or config["minibatch"] == "discrimination")):
        config["r1"] = 0.0    # none, or the model's but D packs or mixes what R1 cannot follow
    labelled = config["conditional"] or config["clusters"]
    if config["g_label"] is None or (not labelled and "g_label" not in chosen):
        config["g_label"] = "input"   # no label: none to join (a chosen every: check_g_label)
    for key in ("batch_size", "lr", "betas"):
        if config[key] is None:
            config[key] = getattr(spec, key)
    config["betas"] = list(config["betas"])
    _check_filled(config, source, loss_chosen, f"model {config['model']}")
    return config


def _check_filled(config, source, loss_chosen, whose):
    """:func:`check_all` of settings with the defaults filled in; an error that names a game
    the user did not choose says whose game it is (``model vanilla``, ``minigan toy``)."""
    try:
        check_all(config, source)
    except SettingError as exc:
        if loss_chosen or repr(config["loss"]) not in str(exc):
            raise
        raise SettingError(f"{exc}{_whose_game(whose, config['loss'])}") from None


def _whose_game(whose, loss):
    """What an error naming a game the user did not choose adds: whose game it is."""
    return f" ({whose} plays {loss} unless --loss says otherwise)"


def toy_options(options, source="the command line"):
    """The GAN settings of a toy (:data:`TOY_KEYS`): those given, checked, over the table's
    defaults; ``k`` from the game when unset (WGAN-GP's 5 critic steps); then checked
    together with the game (``--gp-weight`` without wgan-gp's penalty)."""
    chosen = {k: options[k] for k in TOY_KEYS if options.get(k) is not None}
    check_all(chosen, source)
    opts = {k: BY_KEY[k].default for k in TOY_KEYS}
    opts.update(chosen)
    if opts["loss"] is None:
        opts["loss"] = TOY_LOSS
    if opts["k"] is None:
        opts["k"] = games.GAMES[opts["loss"]].defaults.get("k", 1)
    _check_filled(opts, source, "loss" in chosen, "minigan toy")
    check_gp_weight_given(chosen, opts, source, "minigan toy")
    return opts
