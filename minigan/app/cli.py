"""Command line: ``python -m minigan train`` and ``python -m minigan sample``.

Train the default GAN on the MNIST test split found in a folder, one epoch::

    python -m minigan train --split test --data-dir data/mnist --epochs 1 --out runs/v1

continue it for two more epochs (the run keeps its settings; ``--epochs`` is the total)::

    python -m minigan train --resume runs/v1 --epochs 3

draw 64 digits from its checkpoint::

    python -m minigan sample runs/v1 --n 64 --out grid.png

Bad input (a missing data folder, a file that is not IDX, a checkpoint of
another model, an impossible batch size, no GPU for ``--device gpu``, an
``--out`` that cannot be written or already holds a run) ends with one line
``minigan: error: ...`` on stderr and exit code 2, before anything is written.
A run that cannot go on (a full disk, losses that became NaN) ends with one
such line, naming the last good checkpoint, and exit code 1; so does a command
that runs out of memory (the line names the command and what to ask less of), or
that cannot write for a full or failing disk.
Ctrl-C saves a checkpoint and exits with 130, SIGTERM likewise with 143, SIGHUP (a closed
terminal; not under ``nohup``, which ignores it) with 129.
Warnings are one line ``minigan: warning: ...``.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import os
import signal
import sys
import warnings

from minigan import __version__, backend
from minigan.data import DataError
from minigan.gan import conditional, models, penalty
from minigan.lab import metrics, toys

from . import commands, plotting, settings
from .fileio import DiskFailed
from .signals import STOPPING, handled

__all__ = ["main", "build_parser"]

EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 128 + signal.SIGINT    # 130


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived outside the training loop (which saves first, see
    minigan.app.trainer); ``signum`` says which."""

    signum = signal.SIGTERM


class UsageError(Exception):
    """An argument was wrong (argparse's complaint, as one line)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument raises instead of printing the usage and exiting."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but words left over point at the help of the command they were
        given to (argparse's own error names the top parser: ``minigan sample RUN extra``
        said "see 'minigan --help'")."""
        argv = list(sys.argv[1:] if args is None else args)
        self._refuse_borrowed(argv)
        parsed, extras = self.parse_known_args(argv, namespace)
        if extras:
            parser = self._parser_of(parsed, argv, extras[0])
            hint = parser._did_you_mean(extras) or self._given_elsewhere(parser, extras)
            raise UsageError(f"unrecognized arguments: {' '.join(extras)}"
                             f"{hint} (see '{parser.prog} --help')")
        return parsed

    def _refuse_borrowed(self, argv):
        """Refuse an option of another command that begins an option of this one, before
        argparse reads it as that option abbreviated: ``minigan interpolate RUN --n 5`` took
        ``--n`` for ``--no-ema`` (and said only "unrecognized arguments: 5"), ``minigan train
        --label 3`` called ``--label`` ambiguous between ``--label-smoothing`` and
        ``--label-flip``."""
        parser, words = self, argv
        while True:              # down to the command the words after it are given to
            commands = _commands(parser)
            at = next((i for i, w in enumerate(words) if not w.startswith("-")), None)
            if commands is None or at is None or words[at] not in commands.choices:
                break
            parser, words = commands.choices[words[at]], words[at + 1:]
        if parser is self:
            return
        for word in words:
            if word == "--":
                break
            name = word.split("=")[0]
            hint = self._given_elsewhere(parser, [name])
            if hint and name not in parser._option_string_actions and any(
                    option.startswith(name) for option in parser._option_string_actions):
                raise UsageError(f"unrecognized arguments: {name}{hint} (see '{parser.prog} --help')")

    def _given_elsewhere(self, parser, words):
        """``"; --epochs is an option of minigan train, not of minigan toy"`` for the first
        of ``words`` that another command of this parser takes, else ``""``."""
        commands = _commands(self)
        if parser is self or commands is None:
            return ""
        for word in words:
            if word == "--":
                break
            name = word.split("=")[0]
            others = [p.prog for p in _every_command(self)
                      if p is not parser and name in p._option_string_actions]
            if name.startswith("--") and others:
                listed = (", ".join(others[:-1]) + " and " if others[:-1] else "") + others[-1]
                return f"; {name} is an option of {listed}, not of {parser.prog}"
        return ""

    def _did_you_mean(self, words):
        """``"; did you mean --epochs?"`` for the first of ``words`` that looks like a
        misspelt option of this parser (``--epoks``, ``--data_dir=x``), else ``""``. Never
        the option that turns off what was asked for (``--download``: not ``--no-download``,
        which does the opposite), and nothing after ``--`` (values, not options)."""
        options = [o for a in self._actions for o in a.option_strings if o.startswith("--")]
        for word in words:
            if word == "--":
                break
            name = word.split("=")[0]
            if not name.startswith("--") or len(name) < 4:
                continue
            close = [o for o in difflib.get_close_matches(name, options, n=3, cutoff=0.75)
                     if o[2:].removeprefix("no-") != name[2:].removeprefix("no-")]
            if close:
                return f"; did you mean {close[0]}?"
        return ""

    def _parser_of(self, parsed, argv, word):
        """The (sub)parser ``word`` of ``argv`` was given to: the deepest command named
        before it (not the command's own name: ``minigan sample RUN sample``)."""
        chain, start, parser = [(-1, self)], 0, self
        while True:              # each command named, and where
            commands = _commands(parser)
            name = getattr(parsed, commands.dest, None) if commands is not None else None
            if name is None or name not in argv[start:]:
                break
            start = argv.index(name, start) + 1
            parser = commands.choices[name]
            chain.append((start - 1, parser))
        named = {at for at, _ in chain}
        where = next((i for i, a in enumerate(argv) if a == word and i not in named), len(argv))
        return [p for at, p in chain if at < where][-1]


def _every_command(parser):
    """The parsers of every command under ``parser``, those of a command's own commands
    (``minigan classifier train``) too, each once, in order."""
    commands = _commands(parser)
    if commands is None:
        return []
    found = []
    for sub in dict.fromkeys(commands.choices.values()):
        inner = _every_command(sub)
        found.extend(inner if inner else [sub])
    return found


def _commands(parser):
    """``parser``'s subcommands (argparse's subparsers action), or None: a command's own
    parser has none."""
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def build_parser():
    """The argument parser of ``minigan``: one subparser per command, each naming its runner.

    A command is added by one ``_add_<command>(sub)`` that builds its
    subparser and sets ``handler`` to the function :func:`main` calls with the
    parsed arguments. Train options default to None: unset.
    """
    parser = _Parser(prog="minigan", description="GANs from scratch on NumPy / CuPy.")
    parser.add_argument("--version", action="version", version=f"minigan {__version__}")
    parser.set_defaults(handler=None)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for add, handler in ((_add_train, "train"), (_add_sample, "sample"), (_add_eval, "evaluate"),
                         (_add_toy, "toy"), (_add_classifier, "classifier"),
                         (_add_interpolate, "interpolate")):
        add(sub).set_defaults(handler=getattr(commands, handler))
    return parser


def _device_option(p):
    p.add_argument("--device", choices=("cpu", "gpu", "auto"), default=None,
                   help="cpu (NumPy), gpu (CuPy) or auto: the GPU where CuPy sees one, else "
                   "the CPU (default: $MINIGAN_DEVICE, else auto; here: "
                   f"{backend.requested_device()})")


def _add_train(sub):
    t = sub.add_parser("train", help="train a GAN on MNIST (or on images of your own)",
                       description="Train a GAN on MNIST, or on images of your own (--images). "
                       "Unset options take the model's "
                       "defaults, or the checkpoint's with --resume: "
                       + "; ".join(f"{name}: {spec.iterations:,} iterations (in whole epochs of "
                                   f"the split), batch {spec.batch_size}, Adam lr {spec.lr:g}, "
                                   f"betas {spec.betas[0]}/{spec.betas[1]}"
                                   + "".join(f", {k} {v}" for k, v in spec.defaults.items())
                                   for name, spec in models.MODELS.items()) + ".")
    settings.add_options(t, "train")
    t.add_argument("--images", metavar="FILE",
                   help="train on a data set of your own: its images, uint8 N x 28 x 28 "
                   "pixels 0 to 255 in a .npy file (numpy.save) or an IDX file (gzipped or "
                   "not; minigan.data.write_idx), in place of MNIST's; its folder is the run's "
                   "data folder")
    t.add_argument("--labels", metavar="FILE",
                   help="with --images: their labels, N integers 0 to 9 in a file of the same "
                   "kinds beside them, which --conditional needs (a run without it does not "
                   "read them)")
    t.add_argument("--resume", metavar="PATH",
                   help="continue the run in this folder (or from this checkpoint file); a "
                   "run stopped before its first checkpoint starts over")
    return t


def _add_sample(sub):
    s = sub.add_parser("sample", help="draw samples from a checkpoint into an image grid",
                       description="Draw samples from a trained generator (a checkpoint or a "
                       "run folder) and save them as one grid image; the format follows the "
                       f"extension of --out ({', '.join(plotting.GRID_FORMATS)}).")
    _checkpoint_argument(s)
    s.add_argument("--n", type=settings.GRID.parse, default=64,
                   help="number of samples (default 64; at most "
                   f"{settings.MAX_GRID:,}, the digits one picture holds: for more, draw more "
                   "pictures, each with its own --seed)")
    s.add_argument("--out", default=None,
                   help="image file to write (default: samples.png in the run folder, beside "
                   "the checkpoint)")
    s.add_argument("--seed", type=settings.NON_NEGATIVE_INT.parse, default=None,
                   help="seed of the noise (default: a new one each time, printed)")
    s.add_argument("--nrow", type=settings.POSITIVE_INT.parse, default=None,
                   help="images per row (a conditional run without --label: one row per digit, "
                        "--n / 10 a row, rounded up)")
    s.add_argument("--label", type=int, choices=range(conditional.CLASSES), metavar="L",
                   help="a conditional run: draw only the digit L (default: one row per digit)")
    s.add_argument("--no-ema", dest="ema", action="store_false",
                   help="use G's own weights even when the run kept their moving average")
    s.add_argument("--gradients", action="store_true",
                   help="beside each digit, -dL_G/dx: the gradient G's loss sends it through the "
                   "run's discriminator, as in a G step (the N digits are D's batch), a signed "
                   "image (default --out: gradients.png in the run folder; N at most "
                   f"{commands.MAX_PAIRS})")
    _device_option(s)
    return s


def _checkpoint_argument(p):
    """The run a command draws from: ``minigan sample RUN`` as ``minigan eval RUN``, or
    ``--checkpoint RUN`` (one of the two; :func:`minigan.app.commands.checkpoint_path` reads
    them)."""
    p.add_argument("run", nargs="?", metavar="RUN_OR_CHECKPOINT",
                   help="a run folder or a checkpoint.npz (or give it as --checkpoint)")
    p.add_argument("--checkpoint", metavar="RUN", help="the same: a run folder or a "
                   "checkpoint.npz")


def _add_eval(subparsers):
    """Add ``minigan eval RUN_OR_CHECKPOINT`` to the command line's subparsers."""
    p = subparsers.add_parser("eval", help="score a run's generator, or a file of digits, beside "
                              "real held-out digits",
                              description="Score a run's generator (or a file of digits drawn "
                              "elsewhere) with the lab's metrics, beside the same scores of real "
                              "held-out MNIST test digits: inception score, FID, the classes it "
                              "draws, precision and recall, nearest training digits, TSTR for a "
                              "conditional run. Prints a table and writes eval.json.")
    p.add_argument("run", nargs="?", metavar="RUN_OR_CHECKPOINT", help="a run folder or a checkpoint.npz; "
                   "or a .npy file (an .npz of one array) of digits drawn elsewhere, shaped "
                   "(N, 784), (N, 28, 28), (N, 1, 28, 28) or (N, 28, 28, 1), scored as they are "
                   "(--n takes a seeded random N; --seed, --draws, --no-ema and --tstr-epochs are "
                   "a generator's)")
    p.add_argument("--scale", choices=tuple(commands.SCALES), default=None,
                   help="a file of digits: its pixel range, sigmoid [0, 1] (the default), tanh "
                   "[-1, 1] or 255 [0, 255]")
    p.add_argument("--n", type=settings.POSITIVE_INT.parse, default=10000,
                   help="generated digits, or a seeded random N of a file's digits (default "
                   "10000); the first of them are scored, as many as the real held-out digits "
                   "(5,000 with the test split alone)")
    _device_option(p)
    p.add_argument("--data-dir", help="folder with the MNIST .gz files (default: the folder "
                   "the run trained from when it holds the test split, else $MINIGAN_DATA or "
                   "the download cache)")
    p.add_argument("--no-download", dest="download", action="store_false",
                   help="never download the test split")
    # None: not given (0, 1 and the average for a run; a file of digits refuses them given)
    p.add_argument("--seed", type=settings.NON_NEGATIVE_INT.parse, default=None,
                   help="seed of the noise (default 0)")
    p.add_argument("--draws", type=settings.DRAWS.parse, default=None, metavar="K",
                   help="score K draws of the noise (--seed, --seed + 1, ...) and report each "
                   "score's spread over them: FID moves with the noise (default 1)")
    p.add_argument("--classifier", help="a classifier .npz (default: cached, else shipped)")
    p.add_argument("--no-parzen", dest="parzen", action="store_false",
                   help="leave out the Parzen window (the slowest metric)")
    p.add_argument("--out", help="where to write the report: a .json file, or a folder to "
                   "write eval.json in (default: eval.json in the run folder; for a file of "
                   "digits D.npy, D_eval.json beside it)")
    p.add_argument("--no-ema", dest="ema", action="store_const", const=False, default=None,
                   help="score G's own weights even when the run kept their moving average")
    p.add_argument("--tstr-epochs", type=settings.TSTR_EPOCHS.parse,
                   default=None,          # None: not given (metrics.TSTR_EPOCHS for a conditional run)
                   help="a conditional run: epochs of the train-on-synthetic classifier "
                   f"(default {metrics.TSTR_EPOCHS}; 0 leaves TSTR out)")
    return p


def _add_toy(subparsers):
    """Add ``minigan toy NAME`` to the command line's subparsers."""
    p = subparsers.add_parser("toy", help="toy experiments (GANs on 1-D/2-D data, "
                              "gradient play on xy)",
                              description="Train a tiny GAN on 1-D or 2-D data in seconds and "
                              "draw the game: snapshots of the samples over training, with D's "
                              "output over the plane and the gradient G's loss sends each "
                              "sample (a PNG each, a GIF of them), metrics.json and a summary; or "
                              "play the xy game with gradient steps.")
    p.add_argument("name", choices=sorted(toys.TOYS) + ["xy"], metavar="NAME",
                   help="gaussian1d: one Gaussian on a line; gaussian2d: one correlated 2-D "
                   "Gaussian; ring8: eight Gaussians on a circle; grid25: 25 Gaussians on a 5 x 5 "
                   "grid (the mode-collapse toys); xy: gradient play on V(x, y) = x*y, x ascending "
                   "it and y descending it, in simultaneous and in alternating steps (no "
                   "networks)")
    p.add_argument("--seeds", type=settings.TOY_SEEDS.parse, default=None,
                   help="run seeds seed .. seed+N-1 and print mean and std (pictures of the "
                   f"first; default {commands.TOY_SEEDS})")
    p.add_argument("--out", help="folder for the pictures and metrics.json (default runs/toy-NAME)")
    p.add_argument("--iterations", type=settings.TOY_ITERATIONS.parse, default=None,
                   help="training iterations, or steps of xy (default: the toy's own)")
    p.add_argument("--snapshots", type=settings.SNAPSHOTS.parse, default=None,
                   help=f"frames over training, the last iteration's always among them "
                   f"(default {commands.TOY_SNAPSHOTS}; 0 or 1: that one alone)")
    p.add_argument("--no-field", dest="field", action="store_false",
                   help="snapshots of the samples alone: without D's output over the plane "
                   "and the arrows along -dL_G/dx, the gradient G's loss sends each generated "
                   "sample (and without field.npz)")
    p.add_argument("--noise-grid", action="store_true",
                   help="2-D toys: also draw G's image of a regular grid of noise vectors")
    p.add_argument("--step-by-step", type=settings.STEP_FRAMES.parse, default=0,
                   metavar="N", help="for the first N iterations, a frame after each D step and "
                   "one after each G step (step_*.png, NAME_steps.gif; default 0)")
    p.add_argument("--lr", type=settings.POSITIVE_NUMBER.parse, default=None,
                   help=f"xy only: step size (default {toys.XY_LR})")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the results of an earlier toy run in --out")
    settings.add_options(p, "toy")
    return p


def _add_classifier(subparsers):
    """Add ``minigan classifier {train,show}`` to the command line's subparsers."""
    p = subparsers.add_parser("classifier", help="train or show the MNIST classifier of the metrics",
                              description="The classifier minigan eval's scores read digits "
                              "with (inception score, FID's features, the classes drawn): "
                              "train one of your own, or show which one eval uses.")
    sub = p.add_subparsers(dest="classifier_command", metavar="{train,show}",
                           parser_class=type(p))
    sub.required = True
    t = sub.add_parser("train", help="train the classifier (seeded) and cache its weights",
                       description="Train the metrics' MNIST classifier (seeded: the same "
                       "weights every time on the same machine), print its accuracy on held-out "
                       "digits and save its weights where minigan eval finds them.")
    t.add_argument("--split", choices=("train", "test"), default="train",
                   help="train: 60k digits, accuracy on the test split; test: first 8,000 test "
                   "digits, accuracy on the last 2,000 (default train)")
    t.add_argument("--data-dir", help="folder with the MNIST .gz files")
    t.add_argument("--no-download", dest="download", action="store_false",
                   help="never download MNIST: the split must be in --data-dir")
    t.add_argument("--epochs", type=settings.POSITIVE_INT.parse, default=20,
                   help="passes over the data (default 20)")
    t.add_argument("--seed", type=settings.NON_NEGATIVE_INT.parse, default=0, help="seed (default 0)")
    t.add_argument("--out", help="weights file (default ~/.cache/minigan/classifier_v1.npz, or "
                   "under $XDG_CACHE_HOME/minigan where it is set: the cached classifier that "
                   "minigan eval scores with; it replaces the one there)")
    _device_option(t)
    s = sub.add_parser("show", help="print the classifier minigan eval would use",
                       description="Print which classifier minigan eval would score with (the "
                       "cached one, else the one shipped with minigan) and how it was "
                       "trained: its digits, its accuracy, its checksum.")
    s.add_argument("--path", help="a classifier .npz (default: cached, else shipped)")
    return p


def _add_interpolate(subparsers):
    """Add ``minigan interpolate`` to the command line's subparsers."""
    p = subparsers.add_parser("interpolate", help="a grid walking between noise vectors",
                              description="Draw a grid: each row walks from one noise vector "
                              "to another, linearly or (--slerp) along a great circle.")
    _checkpoint_argument(p)
    p.add_argument("--steps", type=settings.STEPS.parse, default=10,
                   help=f"images per row, ends included (default 10; 2 to {settings.MAX_STEPS})")
    p.add_argument("--pairs", type=settings.PAIRS.parse, default=8,
                   help=f"rows: pairs of noise vectors (default 8; at most {settings.MAX_ROWS})")
    p.add_argument("--slerp", action="store_true", help="along the great circle, not a line")
    p.add_argument("--label", type=int, choices=range(conditional.CLASSES), metavar="L",
                   help="a conditional run: every row draws the digit L (default: one at random "
                   "per row)")
    p.add_argument("--seed", type=settings.NON_NEGATIVE_INT.parse, default=0,
                   help="seed of the noise (default 0)")
    p.add_argument("--out", default=None, help="image file (default: interpolation.png in the "
                   "run folder, beside the checkpoint)")
    p.add_argument("--no-ema", dest="ema", action="store_false",
                   help="use G's own weights even when the run kept their moving average")
    _device_option(p)
    return p


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as ``minigan: warning: ...``, without the source line."""
    print(f"minigan: warning: {' '.join(str(message).split())}", file=sys.stderr)


def _on_sigterm(signum, frame):
    exc = Terminated()
    exc.signum = signum
    raise exc


class _ReaderMayLeave:
    """``sys.stdout`` (and ``sys.stderr``) while a command runs, for a reader that may leave
    before the end (``minigan eval RUN | head``, ``2>&1 | head``): once a write or flush
    finds the pipe closed, what the command prints there goes to ``os.devnull`` and the
    command goes on, writing its files as it would have (before: "[Errno 32] Broken pipe",
    and eval.json not written)."""

    def __init__(self, stream):
        self._stream = stream
        try:         # asked now: a terminal that hung up no longer says it is one
            self._terminal = bool(stream.isatty())
        except (AttributeError, OSError, ValueError):
            self._terminal = False

    def write(self, text):
        try:
            return self._stream.write(text)
        except OSError as exc:
            self._left_or_raise(exc)
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except OSError as exc:
            self._left_or_raise(exc)

    def _left_or_raise(self, exc):
        """A closed pipe, or a terminal that hung up (EIO), is a reader gone; else raise (EIO
        of a file on a failing disk among them)."""
        if not (isinstance(exc, BrokenPipeError) or (exc.errno == errno.EIO and self._terminal)):
            raise exc
        self._reader_left()

    def _reader_left(self):
        try:       # the descriptor itself, so that the stream's own flush at exit succeeds
            fd = self._stream.fileno()
        except (OSError, ValueError):                  # a stream without a descriptor
            self._stream = open(os.devnull, "w")
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv=None):
    """Run the command line; return the exit code.

    0 on success, 1 when a run cannot go on, 2 on bad input, 130 on Ctrl-C, 143 on SIGTERM,
    129 on SIGHUP. A reader of the output that leaves early (``| head``), or a terminal that
    closed, does not stop the command.
    """
    # SIGTERM and SIGHUP as Terminated; Ctrl-C stays Python's KeyboardInterrupt
    with handled(_on_sigterm, leaving=(signal.SIGINT,)):
        previous_warning = warnings.showwarning
        warnings.showwarning = _one_line_warning
        streams = {"stdout": sys.stdout, "stderr": sys.stderr}   # None: none at all (>&-)
        for name, stream in streams.items():
            if stream is not None:
                setattr(sys, name, _ReaderMayLeave(stream))
        try:
            return _main(argv)
        finally:
            try:
                for name, stream in streams.items():
                    if stream is not None:
                        getattr(sys, name).flush()   # what is still buffered, reader gone or not
            finally:
                sys.stdout, sys.stderr = streams["stdout"], streams["stderr"]
                warnings.showwarning = previous_warning


def _said(exc):
    """What a command added to the interruption (where it was, what was kept), after a
    space; empty when it added nothing."""
    return f" {exc.args[0]}" if exc.args and isinstance(exc.args[0], str) else ""


def _main(argv):
    try:
        return _command(argv)
    except Terminated as exc:
        print(f"minigan: stopped by {STOPPING[exc.signum]}{_said(exc)}", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt as exc:
        print(f"minigan: interrupted{_said(exc)}", file=sys.stderr)
        return EXIT_INTERRUPTED


#: What to do, in the options' terms, when D cannot take a penalty
#: (``penalty.CriticError.reason``): R1's advice first, WGAN-GP's second.
CRITIC_ADVICE = {
    "layer": ("Use --model mlp, mlp-large or vanilla, or --r1 0",
              "Use --model mlp, mlp-large or vanilla, or another --loss"),
    "mixes": ("Leave out --pack and --minibatch discrimination, or use --r1 0",
              "Leave out --pack and --minibatch with --loss wgan-gp, or use another --loss"),
    "labels": ("Leave out --conditional, or use --r1 0",
               "Leave out --conditional, or use another --loss"),
}


def _command(argv):
    """Parse ``argv`` and run its command; its errors as one line and an exit code (a signal
    goes up to :func:`_main`, which answers it even while the imports here are under way)."""
    from .trainer import RunError

    command = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.handler is None:  # no command: show what there is
            parser.print_help()
            return EXIT_ERROR
        command = args.command
        return args.handler(args)
    except (RunError, DiskFailed) as exc:     # could not go on: a full disk, a divergence
        print(f"minigan: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_FAILED
    except penalty.CriticError as exc:   # the library's advice, in the options' terms
        advice = CRITIC_ADVICE[exc.reason][0 if exc.penalty == "R1" else 1]
        print(f"minigan: error: {' '.join(exc.problem.split())}. {advice}", file=sys.stderr)
        return EXIT_ERROR
    except (UsageError, DataError, backend.BackendError, ValueError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in message:
            message = f"{exc.filename}: {message}"
        print(f"minigan: error: {message}", file=sys.stderr)
        return EXIT_ERROR
    except MemoryError as exc:   # the last defence: a size no check foresaw
        said = " ".join(str(exc).split())
        print(f"minigan: error: {f'minigan {command}' if command else 'minigan'} ran out of memory"
              f"{f' ({said})' if said else ''}; ask for less "
              f"({SMALLER.get(command, 'smaller sizes')}), or use a machine with more memory",
              file=sys.stderr)
        return EXIT_FAILED


#: What to ask for less of when a command runs out of memory.
SMALLER = {"train": "a smaller --eval-n, which --resume may change, or a smaller --batch-size "
                    "in a new run with another --out: a resumed run keeps its batch size",
           "sample": "a smaller --n",
           "interpolate": "fewer --steps or --pairs", "eval": "a smaller --n",
           "toy": "fewer --iterations, --snapshots or --step-by-step",
           "classifier": "--split test"}


if __name__ == "__main__":
    sys.exit(main())
