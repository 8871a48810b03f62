"""Run folders and run settings: what a new run uses, what a resumed run may change.

>>> from minigan.app import runs
>>> config, ckpt = runs.resolve_config({"model": "dcgan", "epochs": 5})
>>> config["batch_size"], config["lr"], ckpt          # the model's defaults; a new run
(64, 0.0002, None)
>>> runs.find_checkpoint("runs/dcgan")                # doctest: +SKIP
PosixPath('runs/dcgan/checkpoint.npz')

A run folder holds ``config.json``, ``metrics.csv``, ``samples/``,
``loss_curves.png`` and ``checkpoint.npz`` (see :mod:`minigan.app.trainer`). A
new run fills the settings it was not given from the table of
:mod:`minigan.app.settings` (its defaults, then the game's and the model's); a
resumed run takes every setting from its checkpoint and may change only
:data:`~minigan.app.settings.RESUME_MAY_CHANGE`. The settings read back from a checkpoint or a
``config.json`` go through the same checks as the command line's.
A run folder stopped before its first checkpoint (killed in its first epoch)
holds only its ``config.json``: ``--resume`` starts it over from those
settings. Every rule here raises before anything is written.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import time
from pathlib import Path

import numpy as np

from minigan.data import MNIST_FILES, holds_mnist, splits_in
from minigan.data.npz import entry_names
from minigan.data.paths import user_path
from minigan.gan import conditional, games, models
from minigan.nn import layers

from . import checkpoint, settings
from .fileio import read_text_at_most
from .folderlock import LOCK_FILE, FolderInUse, check_not_in_use
from .runlog import METRICS_COLUMNS, SCORE_COLUMNS
from .settings import DEFAULTS, NOT_SAVED, RESUME_MAY_CHANGE

__all__ = [
    "DEFAULTS", "RESUME_MAY_CHANGE", "RUN_FILES", "CHECKPOINT", "CONFIG",
    "find_checkpoint", "scoring_data_dir", "mnist_split", "own_data_caveat", "OWN_DATA_VERDICT",
    "classifier_caveat",
    "resolve_config", "read_config",
    "saved_config", "default_outs",
    "check_out", "load_generator", "load_players", "expected_entries", "holds_run",
    "training_file", "TRAINING_FILES", "TOY_FILES", "toy_outputs",
    "enclosing_run", "check_not_inside_a_run", "grid_name", "LOSS_CURVES", "SAMPLES",
]

CHECKPOINT = "checkpoint.npz"
CONFIG = "config.json"
#: The pictures training draws in a run folder: its loss curves, and one grid an epoch in
#: ``samples/`` (:func:`grid_name`).
LOSS_CURVES = "loss_curves.png"
SAMPLES = "samples"
#: The files a run writes in its folder; a new run refuses a folder holding any of them
#: (:func:`check_out`; an empty ``samples`` folder does not count: it is made first). A
#: folder whose settings or checkpoint are there holds a run to resume or read
#: (:func:`holds_run`).
RUN_FILES = (CHECKPOINT, "metrics.csv", CONFIG, LOSS_CURVES, SAMPLES, "scores.csv")
#: The largest config.json read (minigan writes about 1 KB).
MAX_CONFIG = 1 << 20


def find_checkpoint(path, option="--resume"):
    """The checkpoint file of ``path``: a run folder holding ``checkpoint.npz``, or the file.

    ``option`` names the command-line option the path came from, for the error (None: the
    command's positional argument, named by the path alone).

    Raises
    ------
    FileNotFoundError
        When there is no checkpoint there (naming the runs inside, when ``path`` is a
        folder of runs).
    """
    given = user_path(path)
    found = given / CHECKPOINT if given.is_dir() else given
    if not found.exists():
        inside = _runs_inside(given) if given.is_dir() else []
        listed = ""
        if inside:
            shown = ", ".join(str(Path(path) / name) for name in inside[:LISTED_RUNS])
            more = f" and {len(inside) - LISTED_RUNS} more" if len(inside) > LISTED_RUNS else ""
            listed = f"; it holds the runs {shown}{more}: give one of them"
        elif given.is_dir() and (given / CONFIG).is_file():     # a run cut short before it
            try:
                check_not_in_use(given)
                listed = f"; {_without_checkpoint(given, path)}"
            except FolderInUse as exc:      # training its first epoch now: not stopped
                listed = (f"; {path} holds a run still training its first epoch, by "
                          f"{exc.holder}: its first checkpoint is written when that epoch "
                          "ends, give it again then")
            except ValueError:              # an odd lock file: said where the run is resumed
                listed = f"; {path} holds a run with no generator saved yet"
        missing = (f"no checkpoint at {found}" if given.exists() else
                   f"a link to {os.readlink(given)}, which does not exist"
                   if given.is_symlink() else "no such run folder or file")
        raise FileNotFoundError(
            f"{f'{option} ' if option else ''}{path}: {missing}; give a run folder that holds "
            f"{CHECKPOINT} or the checkpoint file itself{listed}"
        )
    return found


#: Runs named by :func:`find_checkpoint` when pointed at the folder that holds them.
LISTED_RUNS = 5


def _runs_inside(folder):
    """The names of the folders in ``folder`` that hold a checkpoint, newest first."""
    try:
        found = [(entry.stat().st_mtime, entry.name) for entry in folder.iterdir()
                 if entry.is_dir() and (entry / CHECKPOINT).is_file()]
    except OSError:
        return []
    return [name for _, name in sorted(found, reverse=True)]


def eval_every_data_dir(config):
    """The data folder a run's ``--eval-every`` reads MNIST's test split from.

    A run on MNIST: its data folder (the test split is downloaded there, beside the train
    split, when missing). A run on a data set of its own (``files``): its data folder when
    that holds MNIST's own test split (:func:`minigan.data.holds_mnist`: files of one's own
    may bear MNIST's names, and a download would replace them), else None, the default folder
    (:func:`minigan.data.default_data_dir`), as ``minigan eval`` reads it
    (:func:`scoring_data_dir`): MNIST's files are not downloaded among one's own.
    """
    data_dir = config.get("data_dir")
    if config.get("files") is None or (data_dir is not None and holds_mnist(data_dir, "test")):
        return data_dir
    return None


def scoring_data_dir(ckpt, config, given=None):
    """The data folder that scores the generator of checkpoint ``ckpt`` (``minigan eval``).

    ``given`` (the command line's ``--data-dir``) when set; else the folder the run
    trained from, when it still holds the MNIST test split (a run on a data set of its own:
    MNIST's own files, :func:`minigan.data.holds_mnist`), so that ``eval`` reads what the
    run's own ``--eval-every`` scores read: the absolute path its ``config.json`` records,
    else the folder its settings (``config``, the checkpoint's) name; else None (the
    default folder, :func:`minigan.data.default_data_dir`).
    """
    if given is not None:
        return given
    own = config.get("files") is not None     # a folder of one's own: MNIST's own files alone
    for recorded in (_recorded_data_dir(Path(ckpt).parent), config.get("data_dir")):
        if isinstance(recorded, str) and (holds_mnist(recorded, "test") if own else
                                          "test" in splits_in(recorded)):
            return str(user_path(recorded))
    return None


#: What the lab's warnings (mode collapse, no digit) of a run on a data set of its own begin
#: with: a digit classifier's verdicts hold only where its images are digits.
OWN_DATA_VERDICT = "if its images are digits: "


def mnist_split(config):
    """The MNIST split a run trained on, or None for a data set of its own.

    ``config["split"]`` for a run on MNIST; for one on files of its own (``files``), the
    MNIST split whose images file it was given (``--images`` naming MNIST's own
    ``t10k-images-idx3-ubyte.gz``, say, recognized by its md5 in
    :data:`minigan.data.MNIST_FILES`): the lab then scores it as a run on that split, saying
    when it saw the digits it is scored against; else None.
    """
    files = config.get("files")
    if not files:
        return config["split"]
    entry = files.get(config.get("split", "train")) or next(iter(files.values()))
    md5 = entry["images"][1]
    return next((split for split, kinds in MNIST_FILES.items() if kinds["images"][1] == md5),
                None)


def classifier_caveat(clf, given=None):
    """What a score made with the classifier ``clf`` must say when it is the cached one that
    ``minigan classifier train`` wrote, with other weights than the one minigan ships: its
    scores compare with no score the docs quote, and nothing else said how to go back; None
    otherwise (``given``: the ``--classifier`` the user named, whose scores are theirs)."""
    from minigan.lab import classifier as clf_lib

    cached = clf_lib.cache_path()
    if given or clf_lib.default_path() != cached:
        return None
    try:
        shipped = clf_lib.load(clf_lib.shipped_path())
    except (OSError, clf_lib.ClassifierError):     # none shipped: nothing to compare with
        return None
    if shipped.checksum == clf.checksum:
        return None
    return (f"scored with the cached classifier {cached} (sha256:{clf.checksum[:16]}), which "
            f"'minigan classifier train' wrote, not the one minigan ships "
            f"(sha256:{shipped.checksum[:16]}), which made the scores its docs quote: scores "
            f"compare only when made by the same classifier; remove {cached} to score with the "
            "shipped one")


def own_data_caveat(config):
    """What scoring a run trained on a data set of its own (``files``) must say, or None
    (MNIST's own images given as files, :func:`mnist_split`, are MNIST).

    The lab scores images against MNIST's test digits through a classifier of the ten
    digits, whatever the run trained on: for other images (shapes, letters) its numbers
    mean nothing, and nothing else in the report says so.
    """
    files = config.get("files")
    if not files or mnist_split(config) is not None:
        return None
    split = config.get("split", "train")
    entry = files.get(split) or next(iter(files.values()))
    present = config.get("classes_present")
    lacking = ("" if present is None else
               f", and its labels held only the {'class' if len(present) == 1 else 'classes'} "
               f"{classes_said(present)}, where a conditional run is scored on all ten")
    return (f"this run trained on a data set of its own ({entry['images'][0]}, the files "
            "setting), not MNIST: the lab scores its images against MNIST's test digits "
            "through a classifier of the digits 0 to 9, so these numbers mean something only "
            "when the images are handwritten digits of 28 x 28; look at its samples "
            f"(minigan sample) for other images{lacking}")


def _data_dir_as_used(config, options, recorded_data_dir):
    """A run's ``--data-dir`` given relative is relative to where it was started: resumed
    from elsewhere without ``--data-dir``, it is the absolute folder the run's
    ``config.json`` records as used (``recorded_data_dir()``, read only then; when that is
    still a folder), in ``config``."""
    typed = config.get("data_dir")
    if "data_dir" in options or not isinstance(typed, str) or user_path(typed).is_absolute():
        return
    recorded = recorded_data_dir()
    if isinstance(recorded, str) and Path(recorded).is_absolute() and Path(recorded).is_dir():
        config["data_dir"] = recorded


def _recorded_data_dir(folder):
    """The data folder a run used, as its ``config.json`` records it, or None."""
    try:
        recorded = _config_json(folder / CONFIG)
    except _UNREADABLE:
        return None
    return recorded.get("data_dir") if isinstance(recorded, dict) else None


def _config_json(path):
    """What ``config.json`` at ``path`` holds, read as JSON (at most :data:`MAX_CONFIG`
    bytes); the reading's errors (:data:`_UNREADABLE`) are the caller's to word."""
    return json.loads(read_text_at_most(path, MAX_CONFIG))


#: What :func:`_config_json` raises when the file cannot be read (OSError), is too large,
#: not UTF-8 or not JSON (ValueErrors, UnicodeDecodeError among them) or nests too deep.
_UNREADABLE = (OSError, ValueError, RecursionError)


def _same(a, b):
    """Compare settings the way they survive JSON (tuples become lists)."""
    if isinstance(a, tuple):
        a = list(a)
    if isinstance(b, tuple):
        b = list(b)
    return a == b


def resolve_config(options, typed=False):
    """The complete settings of a run from the ones given, and the checkpoint to resume.

    Parameters
    ----------
    options : dict
        Keys of :data:`~minigan.app.settings.DEFAULTS`, plus ``"resume"`` (a checkpoint file or run
        folder). Only the settings actually chosen need to be given: a new
        run fills in :data:`~minigan.app.settings.DEFAULTS` and the model's defaults; a
        resumed run takes every setting from its checkpoint, and only those in
        :data:`~minigan.app.settings.RESUME_MAY_CHANGE` may be given differently.
        A folder or file (``data_dir``, ``out``, ``resume``) may be a ``pathlib.Path``.
    typed : bool
        The options were chosen one by one (the command line's): then one that the run's game
        does not read (``gp_weight`` beside a game without a penalty) is refused whatever its
        value (:func:`~minigan.app.settings.check_gp_weight_given`). A dict of every setting
        (``read_config``'s, :data:`~minigan.app.settings.DEFAULTS`) holds the default weight:
        untyped, only another value is refused.

    Returns
    -------
    config : dict
    ckpt : dict or None
        The loaded checkpoint when resuming.
    """
    # a folder or file as code gives it (pathlib.Path, own_files' folder) is its text
    options = {k: os.fspath(v) if isinstance(v, os.PathLike) else v
               for k, v in options.items() if v is not None}
    unknown = sorted(set(options) - set(DEFAULTS) - {"resume"})
    if unknown:
        raise ValueError(f"unknown settings {unknown}; known: {sorted(DEFAULTS)}")
    resume = options.pop("resume", None)
    if resume is None:
        config = settings.new_config(options)
        if typed:
            settings.check_gp_weight_given(options, config, "the command line",
                                           f"model {config['model']}")
        return config, None
    folder = user_path(resume)
    if folder.is_dir() and not (folder / CHECKPOINT).exists() and (folder / CONFIG).is_file():
        return _restart_config(folder, resume, options, typed), None

    path = find_checkpoint(resume)
    saved = _known(checkpoint.read_meta(path)["config"], f"checkpoint {path}")
    ckpt = checkpoint.load_checkpoint(path, expected_entries(saved))
    _check_unchanged(options, saved, resume, f"checkpoint {path}", "checkpoint", typed)
    config = {**DEFAULTS, **saved, **options}
    # where it runs now: --device when given, else where the run was asked to run (a run
    # started with --device cpu on a machine with a GPU stays on the CPU, bit for bit)
    config["device"] = options.get("device", saved.get("device", DEFAULTS["device"]))
    _data_dir_as_used(config, options, lambda: _recorded_data_dir(path.parent))
    if "out" not in options:
        if path.name != CHECKPOINT:
            raise ValueError(
                f"--resume {resume}: the checkpoint is not a run folder's own {CHECKPOINT} "
                "(a copy kept elsewhere or under another name), so it has no folder to go on "
                "in; give --out for the continued run"
            )
        config["out"] = str(path.parent)
    if user_path(config["out"]).resolve() == path.parent.resolve():    # as the trainer reads it
        _check_config_file(path.parent / CONFIG, saved)
    settings.check_all(config, f"checkpoint {path}")
    config["resume"] = str(path)
    return config, ckpt


def _check_config_file(path, saved):
    """Refuse to resume where ``config.json`` at ``path`` (beside the checkpoint, which the
    resumed run writes again from the checkpoint's settings ``saved``) cannot be read, holds
    a bad value or another value than the checkpoint of a setting a resumed run keeps: a
    hand edit would be dropped without a word. No file there: nothing to check; something
    else than a regular file there (a FIFO, a folder) is refused, not replaced."""
    if not path.is_file():
        if os.path.lexists(path):
            raise settings.SettingError(f"{path} is not a regular file (a FIFO, a folder or "
                                        "another special file), where a run folder holds its "
                                        "settings: remove it, or put the run's config.json back")
        return
    keep = ("a resumed run takes its settings from its checkpoint and writes them to "
            f"{CONFIG} again: put the file back as it was, or remove it")
    held = _config_object(path, f"; {keep}")

    def changed(recorded):
        """The first setting the file holds with another value than the checkpoint's."""
        return next(((key, value) for key, value in saved.items() if key not in
                     RESUME_MAY_CHANGE and key in held and not _same(recorded[key], value)),
                    None)

    try:
        recorded = _settings_in(held, path)
    except settings.SettingError as exc:    # a value changed may clash with another: say it
        edit = changed(held)                # (an edited "model" was told of --g-label)
        setting = None if edit is None else settings.BY_KEY.get(edit[0])
        if setting is None or not setting.kind.valid(held[edit[0]]):
            raise settings.SettingError(f"{exc}; {keep}") from None
        recorded = held
    edit = changed(recorded)               # those the file holds (_known fills in the rest)
    if edit is not None:
        key, value = edit
        may = [settings.as_option(k) for k in RESUME_MAY_CHANGE if settings.BY_KEY[k].flags]
        raise settings.SettingError(
            f"{path}: {json.dumps(key)} is {json.dumps(recorded[key])} where the "
            f"checkpoint's is {json.dumps(value)}; {keep} (only {', '.join(may)} may "
            "change when resuming; for other settings start a new run)")


#: What a run saved before a setting existed did without it (and a model without the choice).
_BEFORE_IT_EXISTED = {
    "g_batch": "fresh",     # --g-batch, or a model without the choice: each G step drew fresh noise
    "clusters": 0,          # --clusters: no groups
    "g_label": "input",     # --g-label: G took its label with its noise only
    "r1": 0.0,              # --r1: no R1
}


#: Settings every saved run holds with a value (a new run's are filled in by
#: :func:`~minigan.app.settings.new_config`, none left null): a run without one cannot be
#: built again as it trained.
_SAVED_FILLED = ("split", "batch_size", "lr", "betas", "k", "loss")


def _known(saved, source):
    """The settings of a saved run that this minigan knows, each checked (:mod:`settings`);
    those it does not know (of another version) are left out, those it saved before they
    existed take :data:`_BEFORE_IT_EXISTED`, and a gradient penalty weight that its game never
    took (saved before minigan refused one: :func:`~minigan.app.settings.gp_weight_unread`)
    is read as the default, which weighs nothing either, so that the run still resumes."""
    if not isinstance(saved, dict):
        raise settings.SettingError(f"{source}: the settings are not a JSON object")
    known = {k: v for k, v in saved.items() if k in DEFAULTS and k not in NOT_SAVED}
    if "model" not in known:
        raise settings.SettingError(f'{source}: no "model" among the settings')
    for key, value in known.items():
        settings.check(key, value, source)
    for key, before in _BEFORE_IT_EXISTED.items():
        if known.get(key) is None:
            known[key] = before
    for key in _SAVED_FILLED:
        if known.get(key) is None:
            raise settings.SettingError(
                f'{source}: "{key}" is {"null" if key in known else "missing"}, where every '
                "run saves the value it trained with; the file is not as minigan wrote it "
                "(edited, or written otherwise): put it back, or start a new run")
    if settings.gp_weight_unread(known):
        known["gp_weight"] = settings.GP_WEIGHT
    settings.check_g_label(known, source)   # before any model is built from them
    return known


def _check_unchanged(options, saved, resume, source, what, typed=False):
    """Refuse options that differ from the ``saved`` settings of the run resumed, and, when
    they were ``typed`` (:func:`resolve_config`), a ``--gp-weight`` that its game does not
    read, whatever its value."""
    if typed:
        settings.check_gp_weight_given(options, saved, f"--resume {resume}", resumed=True)
    if "model" in options and options["model"] != saved.get("model"):
        raise checkpoint.CheckpointError(
            f"{source} was made by model '{saved.get('model')}'; this run builds "
            f"'{options['model']}' (drop --model to continue that run, or start a new run "
            "without --resume)"
        )
    clashes = [_clash(key, options[key], saved.get(key), what) for key in options
               if key not in RESUME_MAY_CHANGE and not _same(options[key], saved.get(key))]
    if clashes:
        noun, verb = ("that option", "differs") if len(clashes) == 1 else ("those options", "differ")
        may = [settings.as_option(key) for key in RESUME_MAY_CHANGE
               if settings.BY_KEY[key].flags]
        raise ValueError(
            f"--resume {resume}: a resumed run keeps its {what}'s settings, but "
            f"{', '.join(clashes)} {verb}; drop {noun} (only {', '.join(may)} may change)"
        )


def _clash(key, given, saved, what):
    """One setting given otherwise than the run saved it, as :func:`_check_unchanged` says so:
    ``--batch-size 64 (checkpoint: 128)``, ``--spectral-norm (checkpoint: off)``, or, for a
    value the command line cannot give, ``betas=[0.5, 0.9] (checkpoint: [0.5, 0.999])``."""
    option = settings.as_option(key, given)
    if not option.startswith("--"):
        return f"{key}={json.dumps(given)} ({what}: {json.dumps(saved)})"
    if isinstance(saved, bool):
        return f"{option} ({what}: {'on' if saved else 'off'})"
    return f"{option} ({what}: {'unset' if saved is None else settings.option_value(saved)})"


def read_config(folder):
    """The settings in ``folder/config.json`` as given to the run (see :func:`saved_config`),
    each checked as the command line's are; the errors name the file and the setting."""
    path = Path(folder) / CONFIG
    return _settings_in(_config_object(path), path)


#: What a config.json that cannot be read means for a run stopped before its checkpoint.
_NOT_STARTED_OVER = (", so the run there cannot be started over; start a new run with another "
                     "--out")


def _config_object(path, advice=_NOT_STARTED_OVER):
    """What ``config.json`` at ``path`` holds, a JSON object, or a ValueError saying why not,
    then ``advice`` (by default: why the run there cannot be started over)."""
    try:
        saved = _config_json(path)
    except _UNREADABLE as exc:
        raise ValueError(f"cannot read the settings in {path} ({type(exc).__name__}: "
                         f"{str(exc)[:120]}){advice}") from None
    if not isinstance(saved, dict):
        raise ValueError(f"{path} does not hold the settings of a minigan run (not a JSON "
                         f"object){advice}")
    return saved


def _settings_in(saved, path):
    """The settings of the JSON object ``saved`` of ``config.json`` at ``path``, as asked."""
    saved = dict(saved)
    asked = saved.pop("asked", None)
    saved.update(asked if isinstance(asked, dict) else {})
    return _known(saved, str(path))


def saved_config(config, used=None):
    """The settings to save with a run (config.json, checkpoint): JSON, no run-only keys.

    ``used`` maps settings to what the run actually used (the device, the data
    folder); they replace the asked values, which are kept under ``"asked"``.
    """
    saved = {k: v for k, v in config.items() if k not in NOT_SAVED}
    if used:
        saved["asked"] = {k: saved.get(k) for k in used}
        saved.update(used)
    return saved


def _restart_config(folder, resume, options, typed=False):
    """Settings to start over a run stopped before its first checkpoint (``folder/config.json``).

    The run keeps the settings it was started with; only
    :data:`~minigan.app.settings.RESUME_MAY_CHANGE` may change.
    """
    path = Path(folder) / CONFIG
    recorded = _config_object(path)              # read once: settings, source, data folder
    saved = _settings_in(recorded, path)
    source = recorded.get("continued_from")
    if isinstance(source, str):      # started over, it would train from scratch
        raise ValueError(
            f"--resume {folder}: it continues {source} and stopped before its first "
            f"checkpoint; remove {folder} and continue that checkpoint again (minigan train "
            f"--resume {shlex.quote(source)} --out {shlex.quote(str(folder))} ...)")
    _check_unchanged(options, saved, resume, f"the run in {folder}", "config.json", typed)
    _check_never_checkpointed(folder)
    config = settings.new_config({**saved, **options}, str(path))
    _data_dir_as_used(config, options, lambda: recorded.get("data_dir"))
    if "out" not in options:
        config["out"] = str(folder)
    config["restart"] = str(folder)
    return config


def _without_checkpoint(folder, path):
    """What the run folder ``folder`` (given as ``path``), which holds ``config.json`` and no
    checkpoint, holds and what to do, as ``train --resume`` will answer it: a run that
    continues another's checkpoint and stopped before its own, one whose checkpoint is
    missing (:func:`_past_first_checkpoint`), or one stopped before its first, which
    ``train --resume`` starts over."""
    try:
        source = _config_object(Path(folder) / CONFIG).get("continued_from")
    except ValueError:                   # damaged: train --resume says how
        source = None
    if isinstance(source, str):
        return (f"{path} continues {source} and stopped before its first checkpoint, with no "
                f"generator saved yet: remove {path} and continue that checkpoint again "
                f"({settings.program()} train --resume {shlex.quote(source)} --out "
                f"{shlex.quote(str(path))} ...)")
    evidence = _past_first_checkpoint(folder)
    if evidence is not None:
        return (f"{path} holds a run whose {CHECKPOINT} is missing ({evidence} shows it went "
                f"past its first checkpoint): put {CHECKPOINT} back")
    return (f"{path} holds a run stopped before its first checkpoint (written after its first "
            f"epoch), with no generator saved yet: {settings.program()} train --resume "
            f"{shlex.quote(str(path))} starts it over")


def _past_first_checkpoint(folder):
    """The file in the run folder ``folder`` that shows the run went past its first
    checkpoint (see :func:`_check_never_checkpointed`), or None."""
    folder = Path(folder)
    evidence = [grid for epoch, grid in epoch_grids(folder) if epoch >= 2]
    for name, columns in (("metrics.csv", METRICS_COLUMNS), ("scores.csv", SCORE_COLUMNS)):
        if _last_epoch(folder / name, columns.index("epoch")) >= 2:
            evidence.append(folder / name)
    return evidence[-1] if evidence else None


def _check_never_checkpointed(folder):
    """Refuse to start over a run folder without ``checkpoint.npz`` that shows the run went
    past its first checkpoint, written at the end of epoch 1: an epoch grid numbered 2 or
    more, or a row of epoch 2 in ``metrics.csv`` (its last line) or ``scores.csv``. (Epoch 0's
    grid is drawn when a run starts; epoch 1's grid, and its loss curves and scores when they
    are due, just before its first checkpoint, which a kill or a full disk may have
    stopped.) Its checkpoint is missing: starting over would rewrite ``metrics.csv`` and
    leave the old grids beside a new run."""
    evidence = _past_first_checkpoint(folder)
    if evidence is not None:
        raise ValueError(
            f"--resume {folder}: it holds no {CHECKPOINT} but {evidence} shows the run "
            f"went past its first checkpoint: the checkpoint is missing. Put {CHECKPOINT} "
            f"back to go on; to start the run over, remove metrics.csv, loss_curves.png, "
            f"scores.csv and samples/ from it, or train into another --out")


def _last_epoch(path, column):
    """The epoch in ``column`` of the last whole line of the CSV file ``path`` (its last 4 KB
    read, a regular file only), or 0 when there is none to read."""
    if not os.path.isfile(path):          # not waiting on a FIFO
        return 0
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
            lines = f.read(4096).decode("utf-8", "replace").splitlines()
    except OSError:
        return 0
    for line in reversed(lines[1:]):      # the first: the header, or a line cut by the seek
        cells = line.split(",")
        epoch = epoch_number(cells[column].strip()) if len(cells) > column else None
        if epoch:
            return epoch
    return 0


def epoch_number(text):
    """``text`` as an epoch number when it is one (ASCII digits, at most 9 of them), else
    None: ``epoch_0012.png``'s ``0012``, a CSV row's epoch column."""
    return int(text) if re.fullmatch(r"[0-9]{1,9}", text) else None


def grid_name(epoch):
    """The file name of the grid training draws after ``epoch``: ``epoch_0012.png``."""
    return f"epoch_{epoch:04d}.png"


def holds_run(folder):
    """Whether ``folder`` holds a run: its ``config.json`` or ``checkpoint.npz``."""
    return any((Path(folder) / name).is_file() for name in (CONFIG, CHECKPOINT))


#: The files training writes in a run folder, by name, and what each is to the run.
TRAINING_FILES = {CONFIG: "the run's settings (what --resume reads)",
                  CHECKPOINT: "the run's checkpoint", "metrics.csv": "the run's metrics",
                  "scores.csv": "the run's scores", LOSS_CURVES: "the run's loss curves"}


def training_file(path):
    """What ``path`` is when it names a file training writes in a run folder (its settings,
    checkpoint, metrics, scores, loss curves, the grid of an epoch), else None: another
    command's ``--out`` there would replace it (``minigan eval --out RUN/config.json`` left a
    run that could not be resumed). A relative ``path`` is taken from the working folder, its
    folders' links and ``..`` followed, as a write to it would follow them (the file itself a
    link is replaced, not followed, by an atomic write)."""
    path = Path(os.path.realpath(Path(path).parent)) / Path(path).name
    if path.name in TRAINING_FILES and holds_run(path.parent):
        return TRAINING_FILES[path.name]
    epoch = epoch_number(path.name.removeprefix("epoch_").removesuffix(".png"))
    if (epoch is not None and path.name == grid_name(epoch) and path.parent.name == SAMPLES
            and holds_run(path.parent.parent)):
        return f"the run's grid of epoch {epoch}"
    return None


def epoch_grids(folder):
    """The epoch grids of the run folder ``folder`` (``samples/epoch_0012.png``), in order of
    name, as ``(epoch, path)`` pairs; a grid whose number is not an epoch's is passed over."""
    for grid in sorted((Path(folder) / SAMPLES).glob("epoch_*.png")):
        epoch = epoch_number(grid.stem.removeprefix("epoch_"))
        if epoch is not None:
            yield epoch, grid


def default_outs(model):
    """The folders a run not given ``--out`` may take, in order, each one that does not exist
    when it is asked for: ``runs/<model>-<date>-<time>`` (the time of the first, to the
    second), then that name with ``-2``, ``-3``, ... appended.

    A name free when asked may be taken a moment later by another run started in the same
    second: the run takes the first that it creates itself
    (``FolderLock.acquire(new=True)`` in ``minigan/app/folderlock.py``), so that each run has a
    folder of its own.
    """
    base = Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"
    for n in itertools.count(1):
        out = base if n == 1 else base.with_name(f"{base.name}-{n}")
        if not out.exists():
            yield out


#: The file every toy run writes in its folder (``minigan toy``): its record.
TOY_RECORD = "metrics.json"
#: What a toy run writes in its folder, as glob patterns: its record, then its pictures.
TOY_FILES = (TOY_RECORD, "snapshot_*.png", "step_*.png", "*.gif", "generator_gradient.png",
             "xy.png", "field.npz")


def toy_outputs(folder):
    """The files of a toy run in ``folder`` (:data:`TOY_FILES`), sorted."""
    return sorted({p for pattern in TOY_FILES for p in Path(folder).glob(pattern)})


def enclosing_run(path):
    """The nearest folder above ``path`` (its links and ``..`` followed) that holds a minigan
    training run (:func:`_holds_minigan_run`), else None. A run or a toy written inside a
    run's folder would mix their files with the run's (``samples/``: its grids), and a
    remedy that says to remove what is in the way would remove a run."""
    path = Path(os.path.realpath(path))
    return next((folder for folder in path.parents if _holds_minigan_run(folder)), None)


def _holds_minigan_run(folder):
    """Whether ``folder`` holds a minigan run, told by its content, not by its files' names
    alone (a project's own ``config.json`` or ``checkpoint.npz`` are common names): a
    ``checkpoint.npz`` whose archive holds minigan's header entry, or a ``config.json`` that
    is a JSON object naming one of minigan's models."""
    ckpt, config = Path(folder) / CHECKPOINT, Path(folder) / CONFIG
    if ckpt.is_file() and checkpoint.is_checkpoint(entry_names(ckpt) or ()):
        return True
    if config.is_file():
        try:
            saved = _config_json(config)
        except _UNREADABLE:
            return False
        return isinstance(saved, dict) and saved.get("model") in models.MODELS
    return False


def check_not_inside_a_run(out, what="a run"):
    """Refuse an ``--out`` inside a training run's folder (:func:`enclosing_run`)."""
    run = enclosing_run(out)
    if run is not None:
        raise ValueError(f"--out {out} is inside the folder of the training run {run}; "
                         f"{what} is written into a folder of its own: choose an --out "
                         "outside it")


def check_out(out, resuming_here):
    """Refuse an ``out`` that cannot be written or would overwrite another run, a toy's
    results or a folder inside another run's; write nothing.

    ``resuming_here`` is True when the run resumed is the one in ``out``.
    """
    out = Path(out)
    if out.is_symlink() and not out.exists():
        raise ValueError(f"--out {out} is a link to {os.readlink(out)}, which does not exist; "
                         "create that folder, or choose another --out")
    if not resuming_here:                      # a run nested before this rule resumes
        check_not_inside_a_run(out)
    if out.exists():
        if not out.is_dir():
            raise ValueError(f"--out {out} exists and is not a folder; choose another --out")
        toy = toy_outputs(out)
        if (out / TOY_RECORD).is_file() and len(toy) > 1:      # its record and a picture
            raise ValueError(f"--out {out} holds a toy run's results ({', '.join(p.name for p in toy[:3])}"
                             f"{', ...' if len(toy) > 3 else ''}); a training run is written "
                             "into a folder of its own: choose another --out")
        check_no_links(out)
        held = sorted(name for name in RUN_FILES if (out / name).exists()
                      and not (name == SAMPLES and not any((out / name).iterdir())))
        if held and not resuming_here:
            if (out / CHECKPOINT).exists():
                raise ValueError(
                    f"--out {out} already holds a run ({', '.join(held)}); continue it with "
                    f"--resume {out}, or choose another --out"
                )
            if (out / CONFIG).is_file():
                recorded = _config_object(out / CONFIG)   # read once, checked as --resume would
                _settings_in(recorded, out / CONFIG)
                source = recorded.get("continued_from")
                if isinstance(source, str):    # --resume of it would send the user back here
                    raise ValueError(
                        f"--out {out} already holds a run ({', '.join(held)}) that continues "
                        f"{source} and stopped before its first checkpoint; remove {out} "
                        "and give the command again, or choose another --out")
                raise ValueError(
                    f"--out {out} already holds a run ({', '.join(held)}) stopped before its "
                    f"first checkpoint; start it over with --resume {out} (its saved "
                    "settings), or choose another --out"
                )
            raise ValueError(
                f"--out {out} already holds a run ({', '.join(held)}) but no {CONFIG} or "
                f"{CHECKPOINT} to continue from; choose another --out"
            )
        folder = out
    else:
        folder = out.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise ValueError(f"cannot create --out {out}: {folder} is not a folder")
    for where in (folder, out / SAMPLES):      # the grids go into samples/, made or not
        if where.is_dir() and not os.access(where, os.W_OK | os.X_OK):
            if resuming_here:                  # no --out was given: the run's own folder
                raise PermissionError(f"cannot write the run folder {out}, where the run goes "
                                      f"on: no write permission in {where}; continue it in "
                                      f"another folder with --resume {out} --out NEW")
            raise PermissionError(f"cannot write --out {out}: no write permission in {where}")


#: What minigan writes in a run folder: none may be a link, which would send a write elsewhere.
WRITTEN = RUN_FILES + ("eval.json", "samples.png", "interpolation.png", LOCK_FILE)


def check_no_links(folder):
    """Refuse a run folder where a file minigan writes (or ``samples/`` or a grid in it) is a
    symbolic link: its writes would land outside the folder. Writes nothing."""
    folder = Path(folder)
    found = [folder / name for name in WRITTEN if (folder / name).is_symlink()]
    samples = folder / SAMPLES
    if samples.is_dir() and not samples.is_symlink():
        found += [p for p in samples.iterdir() if p.is_symlink()]
    if found:
        what = "folder" if found[0] == samples else "file"
        raise ValueError(f"{found[0]} is a link (to {os.readlink(found[0])}); minigan writes a "
                         f"run folder's files only inside it: replace the link with the {what}, "
                         "or choose another folder")


def load_generator(path, ema=True):
    """The trained generator of a checkpoint file, on the active device, in eval mode.

    Parameters
    ----------
    path : str or os.PathLike
        A checkpoint file, or a run folder that holds one (:func:`find_checkpoint`).
    ema : bool
        Take the moving average of G's weights when the run kept one (``--ema``),
        else G's own weights.

    Returns
    -------
    generator : minigan.nn.layers.Sequential, or a :class:`~minigan.nn.layers.ConditionalGenerator`
        for a conditional run and a :class:`~minigan.nn.layers.SelfConditionedGenerator` for
        a self-conditioned one (``clusters``, the default model's), whose ``forward``
        appends the one-hot label to each image: :func:`minigan.nn.layers.generated_images`
        gives the images of any of them
    spec : minigan.gan.models.ModelSpec
        Its model: ``noise_dim`` and ``pixel_range`` for sampling and drawing.
    config : dict
        The run's settings (``prior``, ``dtype``, ...), ``weights``: ``"G_ema"`` (the moving
        average) or ``"G"``, the weights loaded, and ``counters``: the checkpoint's
        ``iteration`` and ``epoch``, read with those weights (the file may be replaced by
        the time they are reported: a run training beside it).
    """
    G, _, _, spec, config = _load(path, ema, discriminator=False)
    return G, spec, config


def load_players(path, ema=True):
    """Both players of a checkpoint file (or a run folder's) and the run's game, on the
    active device.

    Returns
    -------
    generator, spec, config
        As :func:`load_generator` gives them (G in evaluation mode).
    discriminator : minigan.nn.layers.Sequential
        D as the G step runs it: in training mode (batch norm normalizes with the statistics
        of the batch it is given), spectrally normalized when the run was.
    game : minigan.gan.games.Game
        The run's (``loss`` and ``g_loss``).
    """
    G, D, game, spec, config = _load(path, ema, discriminator=True)
    return G, spec, config, D, game


def _load(path, ema, discriminator):
    path = find_checkpoint(path, "checkpoint")        # a run folder: its checkpoint.npz
    config = run_settings(path)
    name = config["model"]
    ckpt = checkpoint.load_checkpoint(path, expected_entries(config))
    dtype = np.dtype(config["dtype"])
    G, D = models.build(name, np.random.default_rng(0), dtype, **models.remedies(config))
    kept = config.get("ema") is not None         # the run kept an average (0: a copy of G)
    if ema and kept and not ckpt.get("G_ema"):
        raise checkpoint.CheckpointError(
            f"checkpoint {path} has none of the entries G_ema/... of the moving average of G "
            f"that its run kept (--ema {config['ema']:g}): the file is damaged; use another "
            "checkpoint, or --no-ema for G's own weights")
    weights = "G_ema" if ema and kept else "G"
    if weights == "G_ema":                       # its entries named as the file names them
        checkpoint.restore(ckpt, g_ema=G, model=name)
    else:
        checkpoint.restore(ckpt, generator=G, model=name)
    game = None
    if discriminator:
        if config.get("spectral_norm"):
            layers.spectral_norm(D, np.random.default_rng(0))   # u: the checkpoint's, below
        checkpoint.restore(ckpt, discriminator=D, model=name)
        game = games.get(config["loss"], config["g_loss"])
    return G.eval(), (D if discriminator else None), game, models.MODELS[name], \
        {**config, "weights": weights, "counters": ckpt["counters"]}


def run_settings(path):
    """The settings of the run a checkpoint file belongs to, checked, defaults filled in;
    and ``classes_present`` where a conditional run's data set lacked some of the ten
    classes (:func:`classes_present`)."""
    meta = checkpoint.read_meta(path)
    model = meta["config"].get("model") if isinstance(meta["config"], dict) else None
    if isinstance(model, str) and model not in models.MODELS:    # a GAN of one's own, saved
        raise checkpoint.CheckpointError(                       # with save_checkpoint
            f"checkpoint {path} names model {model[:40]!r}, not one minigan builds "
            f"({', '.join(models.MODELS)}): load a checkpoint of layers of your own with "
            "checkpoint.load_checkpoint, then checkpoint.restore into those layers")
    config = {**DEFAULTS, **_known(meta["config"], f"checkpoint {path}")}
    present = classes_present(meta["extra"], path) if config.get("conditional") else None
    if present is not None:
        config["classes_present"] = present
    return config


def classes_present(extra, path):
    """The classes a conditional run's data set held, sorted, where it lacked some of the
    ten (its checkpoint's ``extra`` entry ``classes_present``: the labels G was trained to
    draw), else None."""
    present = extra.get("classes_present")
    if present is None:
        return None
    if not (isinstance(present, list) and present
            and all(type(c) is int for c in present)          # bool is not a class
            and present == sorted(set(present))
            and 0 <= present[0] and present[-1] < conditional.CLASSES
            and len(present) < conditional.CLASSES):
        raise checkpoint.CheckpointError(
            f"checkpoint {path}: its classes_present should list, in order, the classes of "
            f"0 to {conditional.CLASSES - 1} its data held (some, not all), got "
            f"{str(present)[:60]}; the file is damaged or not of a minigan run")
    return present


def classes_said(classes):
    """``[3, 4, 5, 9]`` as "3 to 5 and 9", ``[3, 4, 6]`` as "3, 4 and 6"."""
    spans, start = [], classes[0]
    for a, b in zip(classes, classes[1:] + [None], strict=True):
        if b != a + 1:
            spans.append(str(a) if a == start else f"{start}, {a}" if a == start + 1
                         else f"{start} to {a}")
            start = b
    return ", ".join(spans[:-1]) + " and " + spans[-1] if len(spans) > 1 else spans[0]


def unseen_classes_said(config, labels):
    """Where a conditional run is asked for ``labels`` its data set never held: what G
    draws of them, said (a warning's text), else None."""
    present = config.get("classes_present")
    if present is None:
        return None
    unseen = sorted({int(c) for c in labels} - set(present))
    if not unseen:
        return None
    one = len(unseen) == 1
    return (f"the run's data held no image of the {'class' if one else 'classes'} "
            f"{classes_said(unseen)} (only {classes_said(present)}): G was never trained on "
            f"{'that label' if one else 'those labels'}, and draws what it makes of a label it "
            "never saw")


def expected_entries(config):
    """Every array a checkpoint of a run with these settings holds, and its shape (None:
    known only against the data: the order of an epoch's images, the images' groups).

    What :func:`minigan.app.checkpoint.load_checkpoint` bounds the file by: any other
    entry, or another shape, is refused before it is read.
    """
    config = {**DEFAULTS, **config}
    G, D = models.build(config["model"], np.random.default_rng(0), np.float32,
                        **models.remedies(config))
    if config.get("spectral_norm"):
        layers.spectral_norm(D)
    expect = {}
    for part, net in (("G", G), ("D", D)):
        expect.update({f"{part}/{k}": tuple(v.shape) for k, v in net.state_dict().items()})
    for part, net in (("g_opt", G), ("d_opt", D)):
        expect[f"{part}/t"] = ()
        for i, (p, _) in enumerate(net.parameters()):
            expect[f"{part}/m.{i}"] = expect[f"{part}/v.{i}"] = tuple(p.shape)
            expect[f"{part}/t.{i}"] = ()        # Adam's count of array i, where it is not t
    if config.get("ema") is not None:
        expect.update({f"G_ema/{k}": tuple(v.shape) for k, v in G.state_dict().items()})
    spec = models.MODELS[config["model"]]
    if config.get("conditional"):   # the grid: one row of 10 per digit
        expect["extra/fixed_z"] = (10 * conditional.CLASSES, spec.noise_dim + conditional.CLASSES)
    else:
        expect["extra/fixed_z"] = (int(config["n_samples"]), spec.noise_dim)
    expect["extra/perm"] = None
    if int(config.get("clusters") or 0):   # each training image's group
        expect["extra/clusters"] = None
    return expect
