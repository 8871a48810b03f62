"""What each ``minigan`` command does, once :mod:`minigan.app.cli` has parsed its arguments.

One function per command, each taking the parsed arguments and returning the exit code:
:func:`train`, :func:`sample`, :func:`evaluate`, :func:`toy`, :func:`classifier`,
:func:`interpolate`. Bad input raises ``ValueError`` (or ``OSError``,
:class:`minigan.data.DataError`, ...) before anything is written; the command line turns
it into one line and exit code 2.
"""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
import shutil
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path

import numpy as np

from minigan import backend, gan
from minigan.data import MNISTDownloadError, own_files
from minigan.data.npz import NpyError, entry_names, map_npy, read_npz
from minigan.data.paths import user_path
from minigan.gan import conditional
from minigan.gan.algorithm import GENERATE_BATCH
from minigan.lab import classifier as clf_lib
from minigan.lab import field as fields
from minigan.lab import metrics, scoring, toys
from minigan.nn import layers

from . import checkpoint, plotting, runs, settings
from .fileio import DiskFailed, check_destination, remove_stale_temps, write_failure, write_text
from .folderlock import FolderLock, check_not_in_use
from .interpolate import path as interpolate_path
from .signals import STOPPING, signals_deferred


def _json(obj):
    return json.dumps(obj, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))


def train(args):
    """``minigan train``: build a :class:`~minigan.app.trainer.Trainer` (every check, before
    anything is written), then run it; a Ctrl-C, SIGTERM or SIGHUP saves first and exits 130,
    143 or 129."""
    from .trainer import Interrupted, Trainer

    options = {k: v for k, v in vars(args).items()
               if k not in ("command", "handler") and v is not None}
    _own_files(options)
    # without --device: where $MINIGAN_DEVICE says, checked as --device; a resumed run with
    # neither goes on where it was asked to run (runs.resolve_config)
    kept = options.get("device") is None and options.get("resume") is not None \
        and not os.environ.get(backend.DEVICE_VARIABLE)
    from_variable = options.get("device") is None and not kept
    if from_variable:
        options["device"] = settings.check("device", backend.requested_device(),
                                           f"${backend.DEVICE_VARIABLE}")
    try:
        if from_variable:   # chosen now, before a resumed run's checkpoint builds its models
            backend.use(options["device"])          # (the variable's warning, then its error)
        trainer = Trainer(options, typed=True)  # every check here, before anything is written
    except KeyboardInterrupt as exc:   # Ctrl-C, SIGTERM or SIGHUP while loading or grouping the data
        exc.args = exc.args or ("before the run began (loading the data or a checkpoint, "
                                "grouping the images); nothing was written: run the "
                                "same command again",)
        raise
    except backend.BackendError as exc:       # the GPU $MINIGAN_DEVICE asked for: say so
        if getattr(exc, "reason", None) is None or not (from_variable or kept):
            raise
        if kept:                               # the run's own --device gpu, not typed now
            raise backend.BackendError(
                f"--resume: the run was started to run on the GPU (--device gpu, or "
                f"MINIGAN_DEVICE=gpu), where it goes on unless told: {exc.reason}; give "
                f"--device cpu to go on on the CPU (not to the bit)"
            ) from None
        raise backend.gpu_unusable(exc.reason, from_environment=True) from None
    if "eval_n" in options and not trainer.config.get("eval_every"):
        warnings.warn(f"--eval-n {options['eval_n']} without --eval-every: nothing is scored "
                      "during the run (add --eval-every N)", stacklevel=2)
    unscored = _unscored_eval_every(options.get("eval_every"), trainer.epoch,
                                    int(trainer.config["epochs"]))
    for said in ([unscored] if unscored else []) + trainer.scoring_warnings():
        warnings.warn(said, stacklevel=2)
    try:
        trainer.run()
    except MemoryError as exc:        # the CLI says what to ask less of; this, what was kept
        said = " ".join(str(exc).split())
        raise MemoryError(f"{said + '; ' if said else ''}{trainer.last_good()}; "
                          f"{trainer.how_to_continue()}") from None
    except Interrupted as exc:
        by = STOPPING.get(exc.signum, "Ctrl-C")
        if exc.checkpoint is None:
            print(f"minigan: stopped by {by} before the first checkpoint; "
                  f"{trainer.how_to_continue()}", file=sys.stderr)
        else:
            how = "saved" if exc.saved else "not saved (second signal); the last one is"
            print(f"minigan: stopped by {by}; checkpoint {how} at {exc.checkpoint}: {exc}; "
                  f"{trainer.how_to_continue()}", file=sys.stderr)
        return 128 + exc.signum
    return 0


def _own_files(options):
    """``--images FILE [--labels FILE]`` as the run's ``files`` and ``data_dir`` settings (each
    file's md5 computed: :func:`minigan.data.own_files`), in ``options``."""
    images, labels = options.pop("images", None), options.pop("labels", None)
    if images is None:
        if labels is not None:
            raise ValueError("--labels FILE goes with --images FILE, the images they label; "
                             "give both")
        return
    if "resume" in options:
        raise ValueError("--images: a resumed run trains on the files its config.json names "
                         "(--data-dir gives their folder where it moved); drop --images and "
                         "--labels")
    if "data_dir" in options:
        raise ValueError("--images FILE names its folder, the run's data folder: drop "
                         "--data-dir")
    files, folder = own_files(images, labels, options.get("split", "train"))
    options["files"], options["data_dir"] = files, str(folder)
    if labels is not None and not options.get("conditional"):
        warnings.warn("--labels without --conditional: a GAN without labels does not read "
                      "them; add --conditional to train G and D on them", stacklevel=2)


def _unscored_eval_every(every, done, epochs):
    """The warning for ``--eval-every N`` given to a run whose epochs ``done + 1`` to
    ``epochs`` hold no multiple of N (the epochs it scores), or None where one is scored."""
    if not every or (done // every + 1) * every <= epochs:
        return None
    span = f"epoch {epochs}" if done + 1 == epochs else f"epochs {done + 1} to {epochs}"
    fits = epochs - done
    return (f"--eval-every {every}: no epoch this run trains ({span}) is a multiple of {every}, "
            f"so nothing is scored during the run; give --eval-every {fits}"
            f"{' or less' if fits > 1 else ''}, or --epochs {(done // every + 1) * every}")


def checkpoint_path(args):
    """The checkpoint of ``minigan sample`` or ``interpolate``: its run given as
    RUN_OR_CHECKPOINT (as ``minigan eval`` takes it) or as ``--checkpoint``, once (twice
    only where both name the same checkpoint)."""
    command = f"{settings.program()} {getattr(args, 'command', None) or 'sample'}"
    given = [(path, option) for path, option in ((getattr(args, "run", None), None),
                                                 (args.checkpoint, "--checkpoint"))
             if path is not None]
    if not given:
        raise ValueError(f"which run? give a run folder or a checkpoint.npz: {command} RUN "
                         f"(see '{command} --help')")
    found = [runs.find_checkpoint(path, option) for path, option in given]
    if len(found) == 2 and found[0].resolve() != found[1].resolve():
        raise ValueError(f"two runs given, {given[0][0]} and --checkpoint {given[1][0]}; "
                         "give one")
    return found[0]


def sample(args):
    """``minigan sample``: draw digits from a run's generator into one grid image (beside the
    checkpoint, in the run folder, unless ``--out`` says otherwise); with ``--gradients``,
    each digit beside the gradient G's loss sends it through the run's discriminator."""
    gradients = getattr(args, "gradients", False)
    if gradients and args.n > MAX_PAIRS:
        raise ValueError(f"--gradients draws each digit beside its gradient: at most "
                         f"{MAX_PAIRS} pairs in one picture, got --n {args.n}; give --n "
                         f"{MAX_PAIRS} or fewer")
    path = checkpoint_path(args)
    out, fmt = _picture_destination(args.out, path,
                                    "gradients.png" if gradients else "samples.png")
    backend.use(args.device)  # None: $MINIGAN_DEVICE, else auto
    if gradients:
        G, spec, config, D, game = runs.load_players(path, ema=args.ema)
        if not (config.get("conditional") and args.label is None):  # else once rows round it
            _check_gradient_batch(args.n, config, D)
    else:
        G, spec, config = runs.load_generator(path, ema=args.ema)
    nrow, what, row_labels = args.nrow, "", None
    seed = draw_seed() if args.seed is None else args.seed      # said below: drawn again by it
    prior, rng = config.get("prior", "gaussian"), np.random.default_rng(seed)
    if config.get("conditional"):
        if args.label is None:    # one row per class: n rounded up to a multiple of the rows
            # the ten digits, or the classes a data set of one's own held (no row G never saw)
            rows = config.get("classes_present") or list(range(conditional.CLASSES))
            each = ("digit 0-9" if len(rows) == conditional.CLASSES else
                    f"class its data held ({runs.classes_said(rows)})")
            per = -(-args.n // len(rows))
            if nrow not in (None, per):
                raise ValueError(
                    f"--nrow {nrow}: {path} is of a conditional run, whose grid has one row "
                    f"per {each}, --n {args.n} giving {_plural(per, 'sample')} a row; for {nrow} "
                    f"a row give --n {len(rows) * nrow} without --nrow, or draw one digit "
                    "with --label L")
            labels, nrow = conditional.digit_rows(per, rows), per
            what, row_labels = f", one row per {each}", rows
            if gradients:                  # the rows round --n up: checked as drawn
                _check_gradient_batch(len(labels), config, D, args.n, len(rows))
            if args.n != len(labels):           # the rows are whole: say why more were drawn
                what += (f" (--n {args.n} rounded up to {len(labels)}: {per} of each "
                         f"{'digit' if len(rows) == conditional.CLASSES else 'class'})")
        else:       # the digit written left of every row, as the rows of all ten are
            labels, what = np.full(args.n, args.label), f" of the digit {args.label}"
            row_labels = [args.label] * plotting.grid_shape(args.n, nrow)[0]
            _warn_unseen(config, labels, path)
        if gradients:
            noise = conditional.labelled_noise(
                gan.sample_noise(len(labels), spec.noise_dim, prior, rng, config.get("dtype")),
                labels)
        else:
            images = conditional.generate(G, labels, spec.noise_dim, prior, rng,
                                          config.get("dtype"))
    else:
        if args.label is not None:
            raise ValueError(f"--label {args.label}: {path} is not of a conditional run "
                             "(trained without --conditional); leave --label out")
        noise = gan.sample_noise(args.n, spec.noise_dim, prior, rng,
                                 config.get("dtype", "float32"))
        if not gradients:
            images = generate(G, noise)
    weights = _weights_said(config["weights"], config.get("ema"))
    replacing = _replacing(out)
    given = _given_out(args.out)
    if gradients:
        images, grads, d = fields.digit_gradients(G, D, game, noise)
        with _writer(out, given):
            plotting.save_gradient_pairs(out, images, grads, d=d, nrow=nrow,
                                         value_range=spec.pixel_range,
                                         output_label=game.point_label or game.output_label,
                                         row_labels=row_labels)
        print(f"wrote {_plural(len(images), 'sample')}{what} from {path} ({weights}), each beside "
              f"-dL_G/dx, the gradient G's loss ({game.name}) sends it through the run's "
              f"discriminator, to {out} ({fmt.upper()}{replacing}); --seed {seed} draws them "
              "again")
        return 0
    with _writer(out, given):
        plotting.save_grid(images, out, nrow=nrow, value_range=spec.pixel_range,
                           row_labels=row_labels)
    print(f"wrote {_plural(len(images), 'sample')}{what} from {path} ({weights}) to {out} "
          f"({fmt.upper()}{replacing}); --seed {seed} draws them again")
    return 0


def _weights_said(weights, decay=None):
    """What the messages call the weights :func:`minigan.app.runs.load_generator` loaded, of a
    run whose ``--ema`` was ``decay``: with 0 the average followed G step by step."""
    if weights != "G_ema":
        return "G's weights"
    if decay == 0:
        return "G's weights, as its --ema 0 average followed them"
    return "the moving average of G's weights"


def _replacing(path):
    """What the message of a write to ``path`` adds when a file is there already (said before
    the write): ``", replacing the file there"``, else nothing."""
    return ", replacing the file there" if Path(path).is_file() else ""


def _plural(n, word):
    """``"1 sample"``, ``"2 samples"``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def generate(generator, z, batch_size=None):
    """The images of the noise ``z`` (G in evaluation mode, whose images do not depend on
    their batch), ``batch_size`` rows at a time
    (``minigan.gan.algorithm.GENERATE_BATCH`` unless given), on
    the host."""
    batch_size = batch_size or GENERATE_BATCH
    return np.concatenate([backend.to_host(layers.generated_images(generator,
                                                                   z[i:i + batch_size]))
                           for i in range(0, len(z), batch_size)])


def draw_seed():
    """A seed for noise the user did not seed (``minigan sample`` without ``--seed``): new
    each time, small enough to type back."""
    return int(np.random.SeedSequence().entropy % 1_000_000)


#: The most digit-gradient pairs ``minigan sample --gradients`` draws in one picture.
MAX_PAIRS = 256


def _check_gradient_batch(n, config, discriminator, asked=None, rows=None):
    """The ``n`` digits of ``sample --gradients`` are one batch of D's, as in a G step: a
    packed D needs a multiple of its pack, batch norm at least two. ``asked``: the ``--n``
    a conditional grid of ``rows`` rows rounded up to ``n`` (None: ``n`` was asked, and
    checked against :data:`MAX_PAIRS` already); the rounded ``n`` is held to it here."""
    pack = int(config.get("pack") or 1)
    step = None if asked is None else math.lcm(rows, pack)   # whole rows and whole packs
    if asked is not None and n > MAX_PAIRS:
        raise ValueError(f"--gradients draws each digit beside its gradient: at most {MAX_PAIRS} "
                         f"pairs in one picture, and --n {asked} rounds up to {n}, {n // rows} "
                         f"for each of the {rows} rows; give --n {MAX_PAIRS // step * step} or "
                         "fewer")
    if n % pack:
        if asked is None:
            raise ValueError(f"--gradients: the run's D judges packs of {pack} digits (--pack "
                             f"{pack}); draw a multiple of {pack} digits, not --n {n}")
        raise ValueError(f"--gradients: the run's D judges packs of {pack} digits (--pack "
                         f"{pack}), and --n {asked} rounds up to {n}, {n // rows} for each of "
                         f"the {rows} rows; give --n a multiple of {step} (of both)")
    mixing = fields.mixing_layer(discriminator)
    if n < 2 and mixing is not None:
        raise ValueError(f"--gradients: the run's D mixes the digits of its batch "
                         f"({mixing!r}), as in the G step; draw --n 2 or more")


def _picture_destination(out, ckpt_path, default):
    """Where a picture goes: ``out``, else ``default`` beside the checkpoint (in its run
    folder); refused before any work when the format or the folder will not do."""
    given = _given_out(out)
    out = user_path(out) if out else Path(ckpt_path).parent / default
    fmt = plotting.check_grid_path(out, given)
    _not_a_training_file(out, f"without --out the picture is {default} in the run folder")
    check_not_in_use(out.parent)
    return out, fmt


def _not_a_training_file(out, default_said):
    """Refuse an ``--out`` that names a file training wrote in a run folder
    (:func:`minigan.app.runs.training_file`), saying where the output goes without it."""
    training_wrote = runs.training_file(out)
    if training_wrote:
        raise ValueError(f"--out {out} is {training_wrote}, written by its training; choose "
                         f"another --out ({default_said})")


#: The run folders whose lock this command holds from start to end (``eval``: minutes of
#: scoring before its report), by resolved path: :func:`_writer` writes there under it.
_HELD_FOR_COMMAND = {}


def _given_out(out):
    """How a destination is named in messages: ``"--out"`` where the user gave ``out``, else
    None (a default place, named by its path alone)."""
    return "--out" if out else None


@contextlib.contextmanager
def _holding(folder):
    """Hold the lock of ``folder`` while the command works, when that folder holds a run: a
    training started there meanwhile is refused at its start, naming this command, instead
    of this command's report being refused after its minutes of work. The lock is taken
    again by nothing inside (:func:`_writer` finds it held)."""
    if not runs.holds_run(folder):
        yield
        return
    key = Path(folder).resolve()
    try:
        lock = FolderLock(folder).acquire()
    except OSError as exc:                           # a full disk, a read-only folder
        raise write_failure(exc, f"{folder}: cannot write its lock file "
                                 f"({exc.strerror or exc})") from None
    _HELD_FOR_COMMAND[key] = lock
    try:
        yield
    finally:
        del _HELD_FOR_COMMAND[key]
        lock.release()


@contextlib.contextmanager
def _writer(path, option=None):
    """While ``path`` is written: the lock of its folder when that folder holds a run (one
    writer per run folder; under it, the temporary file of a write of ``path`` cut short by
    a kill is removed), and a write error as one line naming the file (``option``: the
    option that gave ``path``, ``--out``, when the user gave it). A lock the command
    holds already (:func:`_holding`) is written under, not taken again."""
    folder = path.parent
    held = _HELD_FOR_COMMAND.get(folder.resolve())
    try:
        with (contextlib.nullcontext(held) if held is not None
              else FolderLock(folder) if runs.holds_run(folder)
              else contextlib.nullcontext()) as lock:
            if lock is not None and lock.held:       # no other writer: a temporary file is stale
                remove_stale_temps(folder, glob.escape(path.name))
            yield
    except OSError as exc:         # named as given (--out PATH), else by the path alone
        raise write_failure(exc, f"{f'{option} ' if option else ''}{path}: cannot write it "
                                 f"({exc.strerror or exc})") from None


def evaluate_checkpoint(path, n=10000, ref=None, seed=0, parzen=True, ema=True, images_out=None,
                        draws=1, classes_out=None, loaded_out=None):
    """Load a run's generator (a run folder or checkpoint file) and score ``n`` of its digits.

    ``ema``: score the moving average of G's weights when the run kept one
    (``--ema``), else G's own weights (``scores["weights"]`` says which). A
    conditional run draws the ten digits in equal numbers. Memorisation is measured
    when ``ref`` knows the digits the run trained on. ``draws`` > 1: the same generator
    also scores the noise of ``seed + 1``, ..., ``seed + draws - 1`` (each what ``seed``
    set to it scores, without the Parzen window and memorisation), and ``scores["draws"]``
    holds the spread of the ``draws`` draws (:func:`~minigan.lab.scoring.draw_spread`, with
    their ``seeds`` and count ``n``). ``images_out``, ``classes_out``: lists the digits
    scored (of ``seed``) and the class the classifier reads in each are appended to;
    ``loaded_out``: a list ``(generator, spec, config)`` is appended to, what was scored (a
    run training beside it may replace its checkpoint meanwhile).

    Returns
    -------
    (scores, real_scores, checkpoint_path)
    """
    ckpt_path = runs.find_checkpoint(path, "checkpoint")
    G, spec, config = runs.load_generator(ckpt_path, ema=ema)
    if loaded_out is not None:
        loaded_out.append((G, spec, config))

    def asked(count):      # a conditional run's labels, read back in the label agreement
        return scoring.scored_labels(count) if config.get("conditional") else None

    def score(seed, count, first):
        noise = scoring.scoring_noise(spec.noise_dim, config.get("prior", "gaussian"),
                                      np.random.default_rng(seed),
                                      np.dtype(config.get("dtype", "float32")),
                                      config.get("conditional"))
        return scoring.evaluate_generator(G, noise, count, ref, scale=spec.scale,
                                          parzen=parzen and first, memorise=first,
                                          images_out=images_out if first else None,
                                          asked=asked(count),
                                          classes_out=classes_out if first else None)

    scores = score(seed, n, True)
    if draws > 1:
        seeds = list(range(seed, seed + draws))
        others = [score(s, scores["n"], False) for s in seeds[1:]]   # the count scored
        scores["draws"] = {"seeds": seeds, "n": scores["n"],
                           **scoring.draw_spread([scores] + others)}
    counters = config["counters"]             # the weights' own, not the file's by now
    scores["epoch"], scores["iteration"] = counters["epoch"], counters["iteration"]
    scores["weights"] = config["weights"]
    return scores, ref.real_row(n, parzen), ckpt_path


#: What ``minigan eval`` writes, in the run folder or in the folder ``--out`` names.
EVAL_FILE = "eval.json"

#: Digits a row of ``eval``'s picture of the classes shows (:func:`_class_picture`).
CLASS_ROW = 12


#: ``minigan eval --scale``: a file's pixel range -> the map to [0, 1].
SCALES = {"sigmoid": lambda x: x, "tanh": lambda x: (x + 1) / 2, "255": lambda x: x / 255}
#: The pixel range of each ``--scale`` (one of the lab's ``classifier.PIXEL_RANGES``).
SCALE_RANGES = {"sigmoid": (0, 1), "tanh": (-1, 1), "255": (0, 255)}


def _digits_file(path):
    """The array of digits in ``path`` when it is a ``.npy`` file, or an ``.npz`` archive
    that is not a checkpoint (no ``minigan`` entry) holding one array; else None (a run)."""
    given = user_path(path)
    if given.suffix == ".npy":
        if not given.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        try:       # mapped, not read: a header claiming more than the file holds is refused
            digits = map_npy(given)
        except NpyError as exc:
            raise ValueError(f"{path} is not a NumPy array file of numbers ({exc}); save the "
                             "digits with numpy.save") from None
        if digits.dtype.kind not in "biuf" or digits.ndim == 0:
            raise ValueError(f"{path} holds {'one value' if digits.ndim == 0 else 'an array'} "
                             f"of dtype {digits.dtype}; a file of digits holds an array of "
                             "numbers, one digit a row")
        return digits
    if given.suffix != ".npz" or not given.is_file():
        return None
    names = entry_names(given)
    if names is None or checkpoint.is_checkpoint(names):    # find_checkpoint says what it is
        return None
    if len(names) != 1:         # said before any entry is read: a field.npz, a classifier
        entries = ", ".join(sorted(name.removesuffix(".npy") for name in names))
        entries = f" ({entries if len(entries) <= 80 else entries[:77] + '...'})" if names else ""
        raise ValueError(f"{path} holds {_plural(len(names), 'array') if names else 'no array'}"
                         f"{entries}; a file of digits holds one (numpy.savez(path, digits)) or "
                         "is a .npy (numpy.save)")

    def numbers(name, shape, dtype):
        if dtype.kind not in "biuf":
            raise ValueError(f"has dtype {dtype}; digits are numbers")

    arrays = read_npz(given, "file of digits", numbers)
    if len(arrays) != 1:
        raise ValueError(f"{path} holds {len(arrays)} arrays ({', '.join(sorted(arrays))[:80]}); "
                         "a file of digits holds one (numpy.savez(path, digits))")
    return next(iter(arrays.values()))


def _report_path(args, default):
    """Where ``minigan eval`` writes its report: ``--out`` (a .json file, or a folder to write
    eval.json in), else ``default``; checked before the minutes of work, not after."""
    out = default if not args.out else user_path(args.out)
    if args.out and (args.out.endswith(("/", os.sep)) or out.is_dir()):
        out = out / EVAL_FILE
    elif args.out and out.suffix.lower() != ".json":
        raise ValueError(f"--out {args.out}: neither a .json file nor a folder; end the file's "
                         f"name in .json, or name a folder that exists to write {EVAL_FILE} in")
    _not_a_training_file(out, f"without --out the report is {default}")
    check_destination(out, _given_out(args.out))
    check_destination(_class_picture_path(out), None)        # beside it, not given
    check_not_in_use(out.parent)
    return out


def _classifier_info(clf):
    """What a report says of the classifier that scored it."""
    return {k: clf.info.get(k) for k in ("version", "checksum", "trained_on", "accuracy",
                                         "evaluated_on")}


def evaluate_digits(args, digits):
    """``minigan eval FILE.npy``: score digits drawn elsewhere, beside real held-out digits,
    and count those that are copies of the real digits (:func:`~minigan.lab.scoring.copies_of_real`);
    print the table and write the report (``--out``, default ``FILE_eval.json`` beside it)."""
    path = user_path(args.run)
    out = _report_path(args, path.with_name(path.stem + "_eval.json"))
    with _holding(out.parent):
        return _evaluate_digits(args, digits, path, out)


def _evaluate_digits(args, digits, path, out):
    """:func:`evaluate_digits` once its report's place ``out`` is held."""
    given = [option for option, value in (("--seed", args.seed), ("--draws", args.draws),
                                          ("--no-ema", args.ema), ("--tstr-epochs", args.tstr_epochs))
             if value is not None]                  # the parser's None: not given
    if given:
        raise ValueError(f"{' and '.join(given)} set{'s' if len(given) == 1 else ''} a "
                         f"generator's scoring; the digits of "
                         f"{args.run} are scored as they are: leave {' and '.join(given)} out")
    scale, digits_in_file = args.scale or "sigmoid", digits
    what = f"the digits of {args.run}"
    clf_lib.check_digit_shape(np.shape(digits), what)      # the file's, before its pixels
    # a seeded random --n of them in a random order: a file's digits may come sorted (by
    # class: the scores would take the first classes, and the inception score's splits one)
    raw = np.asarray(digits[scoring.shuffled_rows(len(digits), args.n)], dtype=np.float32)
    if raw.size and np.isfinite(raw).all():     # the range the pixels look like (the lab's)
        lo, hi = float(raw.min()), float(raw.max())
        looks = clf_lib.pixel_range(lo, hi)
        if looks != SCALE_RANGES[scale]:
            seen = f"{what}: pixels from {lo:.4g} to {hi:.4g}"
            if looks is None:
                raise ValueError(f"{seen}, in none of [0, 1], [-1, 1], [0, 255]; map them to "
                                 "[0, 1] (or clip them) and save them again")
            fit = next(name for name, range_ in SCALE_RANGES.items() if range_ == looks)
            given = "leave --scale out" if fit == "sigmoid" else f"give --scale {fit}"
            default = " (the default)" if args.scale is None else ""
            low, high = SCALE_RANGES[scale]
            raise ValueError(f"{seen}, which look like [{looks[0]}, {looks[1]}], not the "
                             f"[{low}, {high}] of --scale {scale}{default}: {given}")
    digits = clf_lib.as_digits(SCALES[scale](raw), what)    # the shape, NaNs
    if len(digits) < scoring.MIN_DIGITS:
        raise ValueError(f"{args.run} holds {len(digits)} digits; scoring needs at least "
                         f"{scoring.MIN_DIGITS} (the inception score's 10 splits, k = 5 "
                         "nearest neighbours)")
    backend.use(args.device)
    start = time.perf_counter()
    clf = clf_lib.load_default(args.classifier)
    ref = scoring.Reference.load(args.data_dir, clf, args.download)
    classes = []                    # the class read in each digit scored
    scores = scoring.score_images(digits, ref, parzen=args.parzen, classes_out=classes)
    # digits of the test split itself score as well as the real row or better: say so
    scores["copies_of_real"] = scoring.copies_of_real(digits[:scores["n"]], ref)
    real = ref.real_row(len(digits), args.parzen)
    seconds = time.perf_counter() - start
    some = "all" if scores["n"] == len(digits_in_file) else f"a random {scores['n']:,}"
    cut = _cut_to_real(scores["n"], args.n, len(digits))
    print(f"minigan eval {args.run}: {some} of its {len(digits_in_file):,} digits "
          f"(--scale {scale}{cut}), scored in {seconds:.0f} s")
    print(scoring.format_table(scores, real, ref, of_file=True))
    other = _classifier_warnings(clf, args.classifier)
    scored = digits[:scores["n"]]
    pictures = [lambda: _class_picture(out, scored, scores, classes[0])]
    report = {"digits": str(path), "scale": scale, "generated": scores, "real_held_out": real,
              "classifier": _classifier_info(clf),
              "data": ref.description,
              "warnings": scoring.warnings(scores, real, ref, of_file=True) + other,
              "seconds": round(seconds, 1)}
    return _write_report(out, report, pictures, _given_out(args.out))


def _classifier_warnings(clf, given):
    """The report's warning on the classifier ``clf`` when it is not the shipped one
    (:func:`minigan.app.runs.classifier_caveat`; ``given``: ``--classifier``), printed below
    the table: a list of it, or empty."""
    other = runs.classifier_caveat(clf, given)
    if other is None:
        return []
    print(f"warning: {other}")
    return [other]


def _cut_to_real(scored, asked, available=None):
    """What ``eval``'s first line adds when it scored fewer digits than ``--n`` (``asked``)
    and the file (``available`` digits) gave it: every score compares as many digits as the
    real held-out row has (5,000 with the test split alone), the first of them."""
    given = asked if available is None else min(asked, available)
    return (f"; --n {asked:,} cut to {scored:,}, as many as the real held-out digits"
            if scored < given else "")


def _class_picture(out, digits, scores, classes):
    """Draw ``<report>_classes.png`` beside the report ``out``: a row per class 0-9 of the
    first scored ``digits`` (host, [0, 1]) the classifier reads as that class (``classes``,
    its reading of each), labelled with the class and its share of them (the table's class
    shares); a class it reads none as is a black row (a mode dropped, at a glance). Returns
    ``(path, what it shows)``."""
    path = _class_picture_path(out)
    digits = np.asarray(backend.to_host(digits))
    rows = scoring.digits_by_class(digits, classes, CLASS_ROW)
    labels = [f"{c}: {100 * share:.{0 if share >= 0.01 or share == 0 else 2}f}%"
              for c, share in enumerate(scores["histogram"])]
    with _writer(path):
        plotting.save_grid(rows, path, nrow=CLASS_ROW, value_range=(0.0, 1.0), row_labels=labels)
    return path, (f"a row per class: the first {CLASS_ROW} scored digits the classifier reads "
                  "as it, and its share")


def _agreement_line(agreement, n, clf):
    """``eval``'s line on a conditional run's digits read as the class asked for, with the
    worst class and the classifier's accuracy on real digits it did not train on beside."""
    real = clf.info.get("accuracy")
    beside = (f"; it reads {100 * real:.2f}% of real digits right "
              f"({clf.info.get('evaluated_on')})" if real else "")
    return (f"label agreement: the classifier reads {100 * agreement['agreement']:.1f}% of "
            f"the {n:,} generated digits as the class G was asked for "
            f"({scoring.least_said(agreement)}){beside}")


def _class_picture_path(out):
    """Where :func:`_class_picture` draws beside the report ``out``: ``<stem>_classes.png``."""
    return out.with_name(out.stem + "_classes.png")


def _neighbours_picture(out, near, pairs):
    """Draw ``<report>_neighbours.png`` beside the report ``out``: the ``pairs`` generated
    digits nearest a training digit (the first row of ``near``), each above it. Returns
    ``(path, what it shows)``."""
    path = out.with_name(out.stem + "_neighbours.png")
    with _writer(path):
        plotting.save_grid(near, path, nrow=pairs, value_range=(0.0, 1.0),
                           row_labels=NEIGHBOUR_ROWS)
    return path, "the generated digits nearest a training digit, each above it"


def _write_report(out, report, pictures, option=None):
    """``eval``'s end: the report (with the Parzen window's caveat beside its score) written
    to ``out`` first, the scores being what the minutes of scoring made, then each picture
    (``pictures``: callables that draw one and return ``(path, what it shows)``), then the
    last line naming them all; a picture that cannot be written (a full disk) leaves the
    report written, and its error says so. Returns the exit code 0."""
    if "parzen_mean" in report["generated"]:
        report["parzen_caveat"] = metrics.PARZEN_CAVEAT
    replacing = _replacing(out).removeprefix(", ")
    with _writer(out, option):
        write_text(out, json.dumps(report, indent=1) + "\n")
    drawn = []
    try:
        for draw in pictures:
            drawn.append(draw())
    except (ValueError, DiskFailed) as exc:   # _writer's one line: the report is there
        raise type(exc)(f"{exc}; the report {out} was written") from None
    print(f"wrote {out}" + (f" ({replacing})" if replacing else "")
          + "".join(f" and {path} ({what})" for path, what in drawn))
    return 0


def evaluate(args):
    """``minigan eval``: print the table, write eval.json and its pictures (the scored digits
    by class; for a run scored on the digits it trained on, the generated digits nearest
    them); returns the exit code. A ``.npy`` file (or an ``.npz`` of one array) of digits is
    scored by :func:`evaluate_digits`."""
    if args.run is None:
        command = f"{settings.program()} eval"
        raise ValueError(f"which run? give a run folder, a checkpoint.npz or a .npy file of "
                         f"digits: {command} RUN (see '{command} --help')")
    if args.n < scoring.MIN_DIGITS:
        raise ValueError(f"--n must be at least {scoring.MIN_DIGITS} (the inception score's "
                         f"10 splits, k = 5 nearest neighbours), got {args.n}")
    digits = _digits_file(args.run)
    if digits is not None:
        return evaluate_digits(args, digits)
    # a run's defaults for what the parser leaves None when not given (a file refuses them),
    # set on a copy: the caller's arguments stay as given (a second eval of them is refused
    # or scored as the first)
    args = types.SimpleNamespace(**vars(args))
    args.seed = 0 if getattr(args, "seed", None) is None else args.seed
    args.draws = 1 if getattr(args, "draws", None) is None else args.draws
    args.ema = getattr(args, "ema", None) is not False
    if getattr(args, "scale", None) is not None:
        raise ValueError(f"--scale is for a .npy file of digits; {args.run} is a run, whose "
                         "generator says its own pixel range: leave --scale out")
    ckpt = runs.find_checkpoint(args.run, None)
    out = _report_path(args, ckpt.parent / EVAL_FILE)
    with _holding(out.parent):
        return _evaluate_run(args, ckpt, out)


def _evaluate_run(args, ckpt, out):
    """:func:`evaluate` of the checkpoint ``ckpt`` once its report's place ``out`` is held."""
    config = runs.run_settings(ckpt)
    if not config.get("conditional") and args.tstr_epochs not in (None, 0):
        raise ValueError(f"--tstr-epochs {args.tstr_epochs}: {ckpt} is not of a conditional run "
                         "(trained without --conditional), and TSTR trains on the digits a "
                         "conditional generator is told to draw; leave --tstr-epochs out")
    trained_on = runs.mnist_split(config)
    backend.use(args.device)  # None: $MINIGAN_DEVICE, else auto
    start = time.perf_counter()
    clf = clf_lib.load_default(args.classifier)
    data_dir = runs.scoring_data_dir(ckpt, config, args.data_dir)
    own = runs.own_data_caveat(config)
    try:
        ref = scoring.Reference.load(data_dir, clf, args.download, trained_on=trained_on)
    except MNISTDownloadError as exc:   # a run on images of its own: why MNIST is wanted
        if own is None:
            raise
        raise MNISTDownloadError(f"eval scores a run against MNIST's test digits, whatever it "
                                 f"trained on (this one: a data set of its own): {exc}") from None
    drawn, classes = [], []         # the digits scored and the class read in each
    loaded = []                     # the generator scored: TSTR trains on its digits too
    _progress(f"scoring the digits of {ckpt}"
              + (f", {args.draws} draws of the noise" if args.draws > 1 else "")
              + (" (the Parzen window takes the longest; --no-parzen leaves it out)"
                 if args.parzen else ""))
    scores, real, ckpt_path = evaluate_checkpoint(ckpt, args.n, ref, args.seed, args.parzen,
                                                  getattr(args, "ema", True), drawn,
                                                  getattr(args, "draws", 1), classes, loaded)
    spread = scores.pop("draws", None)      # eval.json keeps it beside "generated", not in it
    tstr = _conditional_tstr(*loaded[0], args, data_dir)
    seconds = time.perf_counter() - start
    weights = _weights_said(scores["weights"], config.get("ema"))
    # the iterations in all, then the epochs they complete: "936 iterations trained (12 whole
    # epochs)"; a checkpoint of a run stopped in its first epoch, "50 ... (0 whole epochs)"
    trained = (f"{_plural(scores['iteration'], 'iteration')} trained "
               f"({_plural(scores['epoch'], 'whole epoch')})")
    print(f"minigan eval {args.run}: {scores['n']} generated digits ({trained}, "
          f"{weights}{_cut_to_real(scores['n'], args.n)}), scored in {seconds:.0f} s")
    if args.data_dir is None and data_dir is not None:
        print(f"MNIST from the run's data folder {data_dir} (--data-dir to choose another)")
    if own is not None:
        print(f"warning: {own}")
    # a data set of one's own: a digit classifier's verdicts hold only of digits
    verdict = "" if own is None else runs.OWN_DATA_VERDICT
    print(scoring.format_table(scores, real, ref, spread, verdicts=verdict or True))
    other = _classifier_warnings(clf, args.classifier)
    scored = drawn[0][:scores["n"]]
    if "label_agreement" in scores:
        print(_agreement_line(scores["label_agreement"], len(scored), clf))
    mem = scores.get("memorisation")
    pictures = [lambda: _class_picture(out, scored, scores, classes[0])]   # a row a class read
    if mem is not None:
        print(f"memorisation: {100 * mem['copies']:.1f}% of {mem['n']} generated digits sit "
              f"nearer a training digit than 99% of real held-out digits do (about 1% for new "
              f"digits); median distance to the nearest training digit: generated "
              f"{mem['pixels_generated']:.2f}, real {mem['pixels_real']:.2f} (pixels), "
              f"{mem['features_generated']:.2f} and {mem['features_real']:.2f} (features)")
        pairs = np.array(mem["pairs"])
        near = np.concatenate([drawn[0][pairs[:, 0]], ref.training[pairs[:, 1]]])
        pictures.append(lambda: _neighbours_picture(out, near, len(pairs)))
    if tstr is not None:
        epochs = f"{tstr['epochs']} epoch" + ("s" if tstr["epochs"] != 1 else "")
        print(f"TSTR (classifier trained on {tstr['n_synthetic']} labelled generated digits, "
              f"{epochs}): {100 * tstr['tstr']:.2f}% on {tstr['n_test']} real "
              f"digits; trained on {tstr['n_real']} real digits: {100 * tstr['trtr']:.2f}% "
              f"({tstr['data']})")
        scores["tstr"] = tstr
    report = {"checkpoint": str(ckpt_path), "generated": scores, "real_held_out": real,
              "classifier": _classifier_info(clf),
              "data": ref.description, "trained_on": trained_on,
              "warnings": ([] if own is None else [own]) + [
                  verdict + w for w in scoring.warnings(scores, real, ref)] + other,
              "seed": args.seed,
              "seconds": round(seconds, 1)}
    if spread is not None:
        report["draws"] = spread
    return _write_report(out, report, pictures, _given_out(args.out))


#: The rows of ``eval_neighbours.png``, written left of them: the generated digits, and below
#: each the training digit it sits nearest.
NEIGHBOUR_ROWS = ("generated", "training")


def _progress(message):
    """A line saying what a long step is doing, on stderr when it is a terminal (someone is
    waiting; a log or a pipe gets the results alone)."""
    try:
        waiting = sys.stderr.isatty()
    except (AttributeError, OSError, ValueError):
        waiting = False
    if waiting:
        print(f"minigan: {message} ...", file=sys.stderr, flush=True)


def _conditional_tstr(G, spec, config, args, data_dir):
    """TSTR of a conditional run's generator ``G`` (:func:`minigan.lab.scoring.conditional_tstr`),
    or None."""
    epochs = getattr(args, "tstr_epochs", None)
    epochs = metrics.TSTR_EPOCHS if epochs is None else epochs     # None: --tstr-epochs not given
    if not config.get("conditional") or epochs < 1:
        return None
    _progress(f"TSTR: training the classifier on labelled generated digits, then on as many "
              f"real ones, {_plural(epochs, 'epoch')} each (--tstr-epochs 0 leaves it out)")
    return scoring.conditional_tstr(G, spec.noise_dim, spec.scale, config.get("prior", "gaussian"),
                            n=args.n, data_dir=data_dir, download=args.download,
                            epochs=epochs, seed=args.seed, dtype=config.get("dtype"))


def toy(args):
    """``minigan toy NAME``: train (or play) a toy game, write its pictures and metrics.json.

    Every option is checked before the folder is made. The files are written into a
    hidden folder inside ``--out`` and moved into place once all are there, so a run cut
    short leaves the folder as it found it; a folder holding another toy run's results is
    refused unless ``--overwrite``, and one holding a training run is refused. A toy runs on
    the CPU: its networks hold a few thousand weights (``$MINIGAN_DEVICE=gpu`` is warned of).
    """
    if backend.requested_device() == "gpu":
        warnings.warn(f"${backend.DEVICE_VARIABLE}=gpu: a toy runs on the CPU (its networks "
                      "hold a few thousand weights, too few for a GPU to speed)", stacklevel=2)
    backend.use("cpu")
    out = user_path(args.out or f"runs/toy-{args.name}")
    if args.name == "xy":
        given = [flag for flag, on in (("--no-field", not args.field),
                                       ("--noise-grid", args.noise_grid),
                                       ("--step-by-step", args.step_by_step),
                                       ("--seed", args.seed is not None),
                                       ("--seeds", args.seeds is not None),
                                       ("--snapshots", args.snapshots is not None)) if on]
        given += [settings.as_option(key) for key in settings.TOY_KEYS
                  if getattr(args, key, None) is not None]
        if given:
            raise ValueError(f"{', '.join(given)}: a GAN toy's "
                             f"{'options' if len(given) > 1 else 'option'} (its game, remedies, "
                             "seeds and pictures); xy plays V(x, y) = xy from (2, 2) by "
                             f"gradient steps, without D or G: leave "
                             f"{'them' if len(given) > 1 else 'it'} out")
        steps = args.iterations or toys.XY_STEPS
        lr = toys.XY_LR if args.lr is None else args.lr
        with _toy_folder(out, args.overwrite) as stage:
            result = toys.run_xy(steps, lr)
            toys.save_xy_plot(result, stage / "xy.png", stage / "xy.gif")
            m = result["metrics"]
            write_text(stage / runs.TOY_RECORD, _json(m))
        print(f"xy: V(x, y) = xy from (2, 2), {steps} steps of size {lr}; distance from "
              f"(0, 0): start {m['start_distance']:.3f}, simultaneous {m['simultaneous_distance']:.3f}"
              f" (grows by sqrt(1 + lr^2) a step), alternating {m['alternating_distance']:.3f} "
              f"(circles, never converges)")
        print(f"wrote {out / 'xy.png'}, {out / 'xy.gif'}, {out / runs.TOY_RECORD}")
        return 0
    if args.lr is not None:
        raise ValueError(f"--lr {args.lr:g}: the step size of xy's gradient play; a GAN toy "
                         "trains with Adam at its own step size: leave it out")
    if args.noise_grid and not args.field:
        raise ValueError("--noise-grid is drawn with D's output over the plane, which --no-field "
                         "leaves out: leave one or the other out")
    opts = settings.toy_options(vars(args))
    field = toys.check_pictures(args.name, opts, args.iterations, args.step_by_step,
                                args.noise_grid) and args.field
    if args.field and not field:
        print(f"{args.name}: with --pack or --minibatch D judges several samples at once, so "
              "it has no value at a point of the plane: the snapshots show the samples alone")
    with _toy_folder(out, args.overwrite) as stage:
        stopped = _toy_runs(args, opts, stage, field)
    written = ["snapshot_*.png", f"{args.name}.gif"]
    if args.step_by_step:
        written += ["step_*.png", f"{args.name}_steps.gif"]
    if args.name == "gaussian1d" and opts["loss"] == "gan":    # _toy_runs draws it then
        written.append("generator_gradient.png")
    if field:
        written.append("field.npz")
    print(f"wrote {out}/ ({', '.join(written)}, {runs.TOY_RECORD})")
    if stopped is not None:           # the seeds done are written: the signal's exit code now
        raise stopped
    return 0


#: Snapshots of a GAN toy's run and its seeds unless told (``--snapshots``, ``--seeds``).
TOY_SNAPSHOTS, TOY_SEEDS = 8, 1


def _toy_runs(args, opts, out, field=True):
    """The seeds of a GAN toy, their summary printed and written into ``out`` (the pictures:
    the first seed's). Interrupted after a seed is done (Ctrl-C, SIGTERM, SIGHUP), the seeds
    done are summarized and written, and the interrupt returned (None when not), for the
    command to raise once they are in place."""
    seed = settings.DEFAULTS["seed"] if args.seed is None else args.seed
    seeds = TOY_SEEDS if args.seeds is None else args.seeds
    snapshots = TOY_SNAPSHOTS if args.snapshots is None else args.snapshots
    loss = opts["loss"]
    plain = settings.toy_options({})          # the toy's own game and no remedy
    own = settings.toy_options({"loss": loss})   # the game's own defaults (WGAN-GP's k 5)
    options = [settings.as_option(key, value) for key, value in opts.items()
               if value != plain[key] and (key == "loss" or value != own[key])]
    results, asked = [], seeds
    try:
        for i in range(seeds):
            first = i == 0
            _progress(f"{args.name}: training seed {seed + i}"
                      + (f" ({i + 1} of {seeds})" if seeds > 1 else "")
                      + (", drawing its pictures" if first else ""))
            result = toys.run_gan_toy(args.name, args.iterations, seed + i,
                                      snapshots if first else 0, opts=opts,
                                      record_frames=first, field=field and first,
                                      noise_grid=args.noise_grid and first,
                                      step_by_step=args.step_by_step if first else 0)
            if first:
                toys.save_pictures(args.name, result, out,    # the title names the options
                                   label=" ".join([args.name, *options]))
            results.append(result)          # done: its pictures drawn (a stop in them: not)
            print(f"seed {seed + i}: {_seed_said(args.name, result['metrics'])} "
                  f"({result['seconds']:.1f} s)")
    except KeyboardInterrupt as exc:   # Ctrl-C, SIGTERM, SIGHUP: the seeds done summarized
        if not results:
            raise
        seeds, stopped = len(results), exc
        stopped.args = (f"in seed {seed + seeds}; the summary and {runs.TOY_RECORD} are of the "
                        f"{_plural(seeds, 'seed')} done of the {asked} asked for",)
    else:
        stopped = None
    report = {"toy": args.name, "options": opts, "iterations": results[0]["iterations"],
              "seeds": [seed + i for i in range(seeds)],
              "runs": [r["metrics"] for r in results],
              "history": results[0]["history"]}
    if seeds < asked:
        report["seeds_asked"] = asked
    # mean and spread over the seeds of each number; a seed without one (the reverse KL of a
    # run with no high-quality sample is None) is left out of that number's summary, and the
    # seeds it is of are counted ("seeds_counted", the summary line): that seed is the worst
    summary, counted = {}, {}
    for k in results[0]["metrics"]:
        values = [r["metrics"][k] for r in results if isinstance(r["metrics"][k], (int, float))]
        if values:
            summary[k] = (float(np.mean(values)), float(np.std(values)))
            if len(values) < seeds:
                counted[k] = len(values)
    report["mean_std"] = summary
    if counted:
        report["seeds_counted"] = counted
    if args.name == "gaussian1d" and loss == "gan":   # the cross-entropy G losses compared
        norms = toys.generator_gradient_norms(min(200, results[0]["iterations"]), seed, opts)
        toys.save_gradient_plot(norms, out / "generator_gradient.png")
        report["generator_gradient"] = norms
        early = {f: float(np.mean(r["grad_norm"][:50])) for f, r in norms.items()}
        print(f"generator gradient norm, mean of the first 50 iterations: minimax "
              f"{early['minimax']:.3g}, non-saturating {early['non_saturating']:.3g}")
    one = seeds == 1                      # a spread over one seed would read as "no spread"
    ran = results[0]["iterations"]
    iterations = f"{ran:,} iteration" + ("" if ran == 1 else "s")
    if args.name in toys.PUBLISHED:
        pub = toys.PUBLISHED[args.name]
        report["published_pacgan_table1_gan"] = pub
        m, s = summary["modes_covered"]
        hq, hq_s = summary["high_quality"]
        with_kl = counted.get("reverse_kl", seeds)     # the seeds with a high-quality sample
        kl = (f"reverse KL {summary['reverse_kl'][0]:.2g}"
              + ("" if with_kl == 1 else f" ± {summary['reverse_kl'][1]:.2g}")
              + ("" if with_kl == seeds else
                 f" over the {with_kl} of the {seeds} seeds with a high-quality sample")
              if "reverse_kl" in summary else "no reverse KL (no high-quality sample)")
        full = toys.TOYS[args.name].iterations
        differs = ([f"stopped at {ran:,} of the toy's {full:,} iterations"] if ran < full else [])
        differs += [f"ran with {', '.join(options)}"] if options else []
        ours = (f"seed {seed}, {iterations}: modes {m:.0f} of "
                f"{len(toys.TOYS[args.name].modes)}, high quality {100 * hq:.1f}%" if one else
                f"{seeds} seeds, {iterations}, mean ± standard deviation over the seeds: "
                f"modes {m:.1f} ± {s:.1f} of {len(toys.TOYS[args.name].modes)}, high quality "
                f"{100 * hq:.1f}% ± {100 * hq_s:.1f}%")
        print(f"{args.name}, {ours}, {kl}; "
              f"PacGAN Table 1 (cross-entropy GAN, 400 epochs of 100,000 points; ± standard "
              f"error over 10 trials): modes {pub['modes'][0]} ± {pub['modes'][1]}, high "
              f"quality {100 * pub['high_quality'][0]:.1f}% ± {100 * pub['high_quality'][1]:.1f}%, "
              f"reverse KL {pub['reverse_kl'][0]:.2f} ± {pub['reverse_kl'][1]:.2f}"
              + (f"; not the same run: this one {' and '.join(differs)}" if differs else ""))
    else:                  # the seed's numbers, or their mean and spread over the seeds
        def said(key):
            mean, sd = summary[key]
            return f"{mean:.3f}" if one else f"{mean:.3f} ± {sd:.3f}"
        head = (f"{args.name}, seed {seed}, {iterations}" if one else
                f"{args.name}, {seeds} seeds, {iterations}, mean ± standard deviation "
                "over the seeds")
        if args.name == "gaussian1d":
            gap = (f"distance between D and D*: mean |D - D*| {said('d_vs_dstar_mean_abs')}, "
                   f"max {said('d_vs_dstar_max_abs')}" if "d_vs_dstar_mean_abs" in summary else
                   "no pointwise D* for the Wasserstein critic")
            print(f"{head}: data N(4, 1.25^2); G's samples mean {said('mean')}, std "
                  f"{said('std')}; {gap}")
        else:
            print(f"{head}: error of the mean {said('mean_error')}, of the covariance "
                  f"(Frobenius) {said('cov_error')}")
    write_text(out / runs.TOY_RECORD, _json(report))
    return stopped


def _seed_said(name, m):
    """One seed's numbers of the GAN toy ``name`` (its ``metrics``), in the words of the
    summary line: a share as a percentage, the modes out of the toy's."""
    if "modes_covered" in m:
        kl = ("no reverse KL (no high-quality sample)" if m.get("reverse_kl") is None
              else f"reverse KL {m['reverse_kl']:.2g}")
        return (f"modes {m['modes_covered']} of {len(toys.TOYS[name].modes)}, high quality "
                f"{100 * m['high_quality']:.1f}%, {kl}")
    if "mean_error" in m:
        return (f"error of the mean {m['mean_error']:.3f}, of the covariance (Frobenius) "
                f"{m['cov_error']:.3f}")
    said = f"G's samples mean {m['mean']:.3f}, std {m['std']:.3f}"
    if "d_vs_dstar_mean_abs" in m:
        said += (f", mean |D - D*| {m['d_vs_dstar_mean_abs']:.3f}, max "
                 f"{m['d_vs_dstar_max_abs']:.3f}")
    return said


@contextlib.contextmanager
def _toy_folder(out, overwrite):
    """A staging folder inside ``out`` whose files replace ``out``'s toy files at the end."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder; choose another --out")
    if out.is_dir() and runs.holds_run(out):     # a training run's folder: its files, its lock
        raise ValueError(f"--out {out} holds a training run ({runs.CONFIG} or "
                         f"{runs.CHECKPOINT}); a toy writes into a folder of its own: choose "
                         "another --out")
    runs.check_not_inside_a_run(out, "a toy")
    old = runs.toy_outputs(out) if out.is_dir() else []
    if old and not overwrite:
        names = ", ".join(sorted({p.name.split("_")[0] + "_*.png"
                                  if p.name.startswith(("snapshot_", "step_")) else p.name
                                  for p in old}))
        raise ValueError(f"--out {out} already holds a toy run's results ({names}); choose "
                         "another --out, or add --overwrite to replace them")
    if out.is_dir():
        check_destination(out / runs.TOY_RECORD)
    else:
        _check_creatable(out, out)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".toy-*"):                 # what a killed run left
        shutil.rmtree(stale, ignore_errors=True)
    stage = Path(tempfile.mkdtemp(dir=out, prefix=".toy-"))
    try:
        yield stage
        try:
            with signals_deferred():      # the old results go and the new come, all or none
                _swap_in(stage, out)
        except KeyboardInterrupt as exc:  # a signal that waited for the swap: it is done
            exc.args = exc.args or (f"after this run's results were put in {out}, whole",)
            raise
    except OSError as exc:
        raise write_failure(exc, f"--out {out}: cannot write {exc.filename or 'the results'} "
                                 f"({exc.strerror or exc}); nothing of this run was kept") \
            from None
    finally:
        if not any((stage / ".old").glob("*")):   # else old results a failed swap left there
            shutil.rmtree(stage, ignore_errors=True)
        if created and not any(out.iterdir()):
            out.rmdir()


def _swap_in(stage, out):
    """The files of ``stage`` in place of ``out``'s toy results, all or none: the old ones are
    moved aside into a folder of ``stage`` first and moved back if a new one cannot be put in
    place (a full disk, a read-only file); the ``OSError`` then goes up, ``out`` as it was."""
    aside = stage / ".old"
    aside.mkdir()
    old, new = runs.toy_outputs(out), sorted(p for p in stage.iterdir() if p != aside)
    moved_aside, moved_in = [], []
    try:
        for p in old:
            os.replace(p, aside / p.name)
            moved_aside.append(p.name)
        for p in new:
            os.replace(p, out / p.name)
            moved_in.append(p.name)
    except OSError:
        for name in moved_in:
            (out / name).unlink(missing_ok=True)
        for name in moved_aside:
            os.replace(aside / name, out / name)
        raise
    shutil.rmtree(aside)


def _check_creatable(folder, given):
    """``folder`` does not exist yet: its nearest existing parent must be a writable folder
    (``given``: the ``--out`` the user gave, which is or holds ``folder``)."""
    parent = folder.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        made = "" if folder == Path(given) else f" (its folder {folder})"
        raise ValueError(f"--out {given}: cannot create it{made}: {parent} is not a folder I "
                         "can write in; choose another --out")


def classifier(args):
    """Run ``minigan classifier ...``; returns the exit code."""
    if args.classifier_command == "show":
        path = clf_lib.default_path(args.path, option="--path")
        clf, cached = clf_lib.load_default(args.path, option="--path"), clf_lib.cache_path()
        where = (f"{path} (--path)" if args.path else
                 f"{path} (the cached one)" if path == cached else
                 f"{path} (the one shipped with minigan; none is cached at {cached})")
        print(f"{clf.describe()}\nfile: {where}")
        print(json.dumps(clf.info, indent=1, sort_keys=True))
        return 0
    out = user_path(args.out) if args.out else clf_lib.cache_path()
    # checked before the training, whose weights a write refused after it would lose
    _not_a_training_file(out, f"without --out the classifier is cached at {clf_lib.cache_path()}")
    if out.is_file() and not clf_lib.holds_classifier(out):
        raise ValueError(f"--out {out} is a file that holds no classifier, and classifier train "
                         "writes over its --out; choose a new file, or the file of a classifier "
                         "to replace")
    if out.parent.exists():
        check_destination(out, _given_out(args.out))
    else:
        _check_creatable(out.parent, out)
    backend.use(args.device)
    x, y, xe, ye, trained_on, evaluated_on = clf_lib.split_for_training(args.split, args.data_dir,
                                                                args.download)
    start = time.perf_counter()
    epochs_done = []                      # one entry an epoch: its line

    def log(line):
        epochs_done.append(line)
        print(line, flush=True)

    try:
        net = clf_lib.train_classifier(x, y, epochs=args.epochs, seed=args.seed, log=log)
    except KeyboardInterrupt as exc:      # Ctrl-C, SIGTERM or SIGHUP: say what was lost
        exc.args = (f"after {len(epochs_done)} of {args.epochs} epochs of the classifier; "
                    "nothing was written (the classifier is saved only when all its epochs "
                    "are trained; fewer --epochs take less time)",)
        raise
    seconds = time.perf_counter() - start
    clf = clf_lib.Classifier(net)
    acc = clf.accuracy(xe, ye)
    clf.info.update(trained_on=trained_on, evaluated_on=evaluated_on, accuracy=acc,
                    seconds=round(seconds, 1), seed=args.seed, epochs=args.epochs,
                    command=f"minigan classifier train --split {args.split} "
                            f"--epochs {args.epochs} --seed {args.seed}")
    replacing = _replacing(out)     # the cached one: the classifier eval used until now
    try:
        with _writer(out, _given_out(args.out)):
            path = clf_lib.save(clf, out)
    except (ValueError, DiskFailed) as exc:   # refused after the checks above (a full disk)
        raise type(exc)(f"{exc}; {_kept_elsewhere(clf)}") from None
    cached = Path(path).resolve() == clf_lib.cache_path().resolve()
    used = (f"minigan eval scores with it from now on (remove {path} to score with the one "
            "minigan ships again)" if cached else
            f"minigan eval scores with it given --classifier {path}")
    print(f"accuracy {100 * acc:.2f}% on {evaluated_on}; trained in {seconds:.0f} s")
    print(f"{clf.describe()}\nwrote {path}{replacing}; {used}")
    return 0


def _kept_elsewhere(clf):
    """Where the trained classifier went when ``--out`` refused it at the end: a new file in
    the system's temporary folder, said as the rest of the error's sentence."""
    folder = None
    try:
        folder = Path(tempfile.mkdtemp(prefix="minigan-classifier-"))
        path = clf_lib.save(clf, folder / "classifier.npz")
    except Exception as exc:          # anything: the first error is the one to report
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        return f"nor could it be kept in the temporary folder ({getattr(exc, 'strerror', None) or exc})"
    return f"the trained classifier is kept in {path}: move it, or use it as it is with --classifier {path}"


def _warn_unseen(config, labels, path):
    """Warn where a conditional run is asked to draw a class its data set never held."""
    said = runs.unseen_classes_said(config, labels)
    if said is not None:
        warnings.warn(f"{path}: {said}", stacklevel=2)


def interpolate(args):
    """``minigan interpolate``: a grid walking between noise vectors (beside the checkpoint,
    in the run folder, unless ``--out`` says otherwise)."""
    ckpt = checkpoint_path(args)     # --steps and --pairs: bounded where parsed (settings.STEPS)
    out, _ = _picture_destination(args.out, ckpt, "interpolation.png")
    backend.use(args.device)
    G, spec, config = runs.load_generator(ckpt, ema=args.ema)
    rng = np.random.default_rng(args.seed)
    prior, dtype = config.get("prior", "gaussian"), config.get("dtype", "float32")
    if args.slerp and prior != "gaussian":
        raise ValueError(f"--slerp keeps the norm of a Gaussian prior's noise; this run's prior "
                         f"is {prior} on [-1, 1]^{spec.noise_dim}, where a great circle leaves the "
                         "cube the generator was trained on and the straight line (without "
                         "--slerp) stays inside it")
    ends = backend.to_host(gan.sample_noise(2 * args.pairs, spec.noise_dim, prior, rng, "float64"))
    z = np.concatenate([interpolate_path(ends[2 * i], ends[2 * i + 1], args.steps, args.slerp)
                        for i in range(args.pairs)])
    z = backend.asarray(z, dtype=dtype)
    labels, what = None, ""
    if config.get("conditional"):
        if args.label is None:   # a data set lacking some classes: those it holds
            labels = conditional.draw_labels(rng, args.pairs,
                                             present=config.get("classes_present"))
        else:
            labels = np.full(args.pairs, args.label)
            _warn_unseen(config, labels, ckpt)
        z = conditional.labelled_noise(z, np.repeat(labels, args.steps))
        what = (f", the row of the digit {labels[0]} (labelled at its left)" if args.pairs == 1
                else f", every row of the digit {args.label} (labelled at its left)"
                if args.label is not None else
                f", the rows of the digits {' '.join(map(str, labels))} (labelled at their left)")
    elif args.label is not None:
        raise ValueError(f"--label {args.label}: {ckpt} is not of a conditional run "
                         "(trained without --conditional); leave --label out")
    images = generate(G, z)
    replacing = _replacing(out)
    with _writer(out, _given_out(args.out)):
        plotting.save_grid(images, out, nrow=args.steps, value_range=spec.pixel_range,
                           row_labels=labels)
    how = "great circles (slerp)" if args.slerp else "straight lines"
    weights = _weights_said(config["weights"], config.get("ema"))
    print(f"wrote {args.pairs} x {args.steps} interpolations along {how}{what} from {ckpt} "
          f"({weights}) to {out}{replacing}")
    return 0
