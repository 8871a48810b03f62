"""Command line: ``python -m minigan train`` and ``python -m minigan sample``.

Train the vanilla GAN on the MNIST test split found in a folder, one epoch::

    python -m minigan train --split test --data-dir data/mnist --epochs 1 --out runs/v1

continue it for two more epochs (the run keeps its settings; ``--epochs`` is the total)::

    python -m minigan train --resume runs/v1 --epochs 3

draw 64 digits from its checkpoint::

    python -m minigan sample --checkpoint runs/v1/checkpoint.npz --n 64 --out grid.png

Bad input (a missing data folder, a file that is not IDX, a checkpoint of
another model, an impossible batch size, no GPU for ``--device gpu``, an
``--out`` that cannot be written or already holds a run) ends with one line
``minigan: error: ...`` on stderr and exit code 2, before anything is written.
A run that cannot go on (a full disk, losses that became NaN) ends with one
such line, naming the last good checkpoint, and exit code 1. Ctrl-C saves a
checkpoint and exits with 130, SIGTERM likewise with 143. Warnings are one
line ``minigan: warning: ...``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import warnings
from pathlib import Path

import numpy as np

from . import __version__, argtypes, backend, gan, models, plotting, remedies, runs
from .data import DataError

__all__ = ["main", "build_parser"]

EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 128 + signal.SIGINT    # 130
EXIT_TERMINATED = 128 + signal.SIGTERM    # 143


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived outside the training loop (which saves first, see minigan.train)."""


class UsageError(Exception):
    """An argument was wrong (argparse's complaint, as one line)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument raises instead of printing the usage and exiting."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


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
    _add_train(sub)
    _add_sample(sub)
    for module in _lab_modules():   # minigan eval | toy | classifier
        module.add_parser(sub)
        for name in module.COMMANDS:
            sub.choices[name].set_defaults(handler=module.run)
    return parser


def _device_option(p):
    p.add_argument("--device", choices=("cpu", "gpu", "auto"), default=None,
                   help="cpu (NumPy), gpu (CuPy) or auto (default: $MINIGAN_DEVICE or auto; "
                   f"now {backend.requested_device()})")


def _add_train(sub):
    t = sub.add_parser("train", help="train a GAN on MNIST",
                       description="Train a GAN on MNIST. Unset options take the model's "
                       "defaults, or the checkpoint's with --resume: "
                       + "; ".join(f"{name}: {spec.epochs} epochs, batch {spec.batch_size}, "
                                   f"Adam lr {spec.lr:g}, betas {spec.betas[0]}/{spec.betas[1]}"
                                   for name, spec in models.MODELS.items()) + ".")
    t.set_defaults(handler=_train)
    t.add_argument("--model", choices=sorted(models.MODELS), help="architecture (default vanilla)")
    t.add_argument("--epochs", type=argtypes.positive_int,
                   help="train until this many epochs are done in total (default: the "
                   "model's)")
    t.add_argument("--batch-size", type=argtypes.positive_int, help="minibatch size m")
    t.add_argument("--lr", type=argtypes.positive_float, help="Adam learning rate of both players")
    t.add_argument("--k", type=argtypes.positive_int,
                   help="D steps per G step (default 1; 5 with --loss wgan-gp)")
    t.add_argument("--seed", type=argtypes.non_negative_int, help="seed of every random choice (default 0)")
    _device_option(t)
    t.add_argument("--data-dir", help="folder with the MNIST .gz files (default: the download "
                   "cache, $MINIGAN_DATA or ~/.cache/minigan/mnist)")
    t.add_argument("--split", choices=("train", "test"), help="MNIST split (default train)")
    t.add_argument("--no-download", dest="download", action="store_false", default=None,
                   help="never download: fail if the files are not in --data-dir")
    t.add_argument("--out", help="run folder (default runs/<model>-<date>-<time>)")
    t.add_argument("--g-loss", choices=("non_saturating", "minimax"),
                   help="generator loss (default non_saturating)")
    t.add_argument("--label-smoothing", type=argtypes.fraction,
                   help="one-sided: real target 1 - s (default 0)")
    t.add_argument("--prior", choices=gan.PRIORS, help="noise prior (default gaussian)")
    t.add_argument("--n-critic", dest="k", type=argtypes.positive_int, metavar="N",
                   help="critic (D) steps per G step: the same setting as --k")
    t.add_argument("--resume", metavar="PATH",
                   help="continue the run in this folder (or from this checkpoint file); a "
                   "run stopped before its first checkpoint starts over")
    t.add_argument("--eval-every", type=argtypes.positive_int, metavar="N",
                   help="every N epochs, score the generator with the lab's metrics (IS, FID, "
                   "classes covered, precision, recall of --eval-n digits, beside real held-out "
                   "digits) into scores.csv and the curves picture; needs the MNIST test split")
    t.add_argument("--eval-n", type=argtypes.positive_int, metavar="N",
                   help="generated digits per evaluation (default 2000)")
    t.add_argument("--quiet", action="store_true", default=None,
                   help="no progress bars (the run folder and the result are still printed)")
    remedies.add_options(t)


def _add_sample(sub):
    s = sub.add_parser("sample", help="draw samples from a checkpoint into an image grid",
                       description="Draw samples from a trained generator (a checkpoint or a "
                       "run folder) and save them as one grid image; the format follows the "
                       f"extension of --out ({', '.join(plotting.GRID_FORMATS)}).")
    s.set_defaults(handler=_sample)
    s.add_argument("--checkpoint", required=True, help="checkpoint.npz, or a run folder")
    s.add_argument("--n", type=argtypes.positive_int, default=64, help="number of samples (default 64)")
    s.add_argument("--out", default="samples.png",
                   help="image file to write (default samples.png)")
    s.add_argument("--seed", type=argtypes.non_negative_int, default=None,
                   help="seed of the noise (default: random)")
    s.add_argument("--nrow", type=argtypes.positive_int, default=None, help="images per row")
    s.add_argument("--label", type=int, choices=range(10), metavar="L",
                   help="a conditional run: draw only the digit L (default: one row per digit)")
    s.add_argument("--no-ema", dest="ema", action="store_false",
                   help="use G's own weights even when the run kept their moving average")
    _device_option(s)


def _lab_modules():
    """The lab's commands: each module offers ``add_parser(subparsers)`` and ``run(args)``."""
    from . import classifier, evaluate, interpolate, toys
    return (evaluate, toys, classifier, interpolate)


def _train(args):
    from .train import Interrupted, Trainer

    options = {k: v for k, v in vars(args).items()
               if k not in ("command", "handler") and v is not None}
    options.setdefault("device", backend.requested_device())
    trainer = Trainer(options)  # every check happens here, before anything is written
    try:
        trainer.run()
    except Interrupted as exc:
        by = "SIGTERM" if exc.signum == signal.SIGTERM else "Ctrl-C"
        if exc.checkpoint is None:
            print(f"minigan: stopped by {by} before the first checkpoint; "
                  f"{trainer.how_to_continue()}", file=sys.stderr)
        else:
            how = "saved" if exc.saved else "not saved (second signal); the last one is"
            print(f"minigan: stopped by {by}; checkpoint {how} at {exc.checkpoint}: {exc}; "
                  f"{trainer.how_to_continue()}", file=sys.stderr)
        return 128 + exc.signum
    return 0


def _sample(args):
    out = Path(args.out)
    fmt = plotting.grid_format(out)
    if fmt is None:
        raise ValueError(f"--out {out}: cannot tell the image format from the name; end it "
                         f"in one of {', '.join('.' + f for f in plotting.GRID_FORMATS)}")
    folder = out.parent
    if not folder.is_dir():
        raise ValueError(f"--out {out}: the folder {folder} does not exist; create it or "
                         "choose another --out")
    backend.use(args.device)  # None: $MINIGAN_DEVICE, else auto
    path = runs.find_checkpoint(args.checkpoint, "--checkpoint")
    G, spec, config = runs.load_generator(path, ema=args.ema)
    nrow, what = args.nrow, ""
    if config.get("conditional"):
        from . import conditional
        if args.label is None:    # one row per digit: n rounded up to a multiple of 10
            per = -(-args.n // conditional.CLASSES)
            labels, nrow = conditional.digit_rows(per), nrow or per
            what = ", one row per digit 0-9"
        else:
            labels, what = np.full(args.n, args.label), f" of the digit {args.label}"
        images = conditional.generate(G, labels, spec.noise_dim, config.get("prior", "gaussian"),
                                      np.random.default_rng(args.seed), config.get("dtype"))
    else:
        if args.label is not None:
            raise ValueError(f"--label {args.label}: {path} is not of a conditional run "
                             "(trained without --conditional); leave --label out")
        z = gan.sample_noise(args.n, spec.noise_dim, config.get("prior", "gaussian"),
                             np.random.default_rng(args.seed), config.get("dtype", "float32"))
        images = G.forward(z)
    try:
        plotting.save_grid(images, out, nrow=nrow, value_range=spec.pixel_range)
    except OSError as exc:
        raise ValueError(f"--out {out}: cannot write it ({exc.strerror or exc})") from None
    weights = "the moving average of G's weights" if config["weights"] == "G_ema" else \
        "G's weights"
    print(f"wrote {len(images)} samples{what} from {path} ({weights}) to {out} ({fmt.upper()})")
    return 0


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as ``minigan: warning: ...``, without the source line."""
    print(f"minigan: warning: {' '.join(str(message).split())}", file=sys.stderr)


def _on_sigterm(signum, frame):
    raise Terminated


def main(argv=None):
    """Run the command line; return the exit code.

    0 on success, 1 when a run cannot go on, 2 on bad input, 130 on Ctrl-C, 143 on SIGTERM.
    """
    previous_warning = warnings.showwarning
    warnings.showwarning = _one_line_warning
    on_main = threading.current_thread() is threading.main_thread()
    previous_sigterm = signal.signal(signal.SIGTERM, _on_sigterm) if on_main else None
    try:
        return _main(argv)
    finally:
        warnings.showwarning = previous_warning
        if on_main:
            signal.signal(signal.SIGTERM,
                          signal.SIG_DFL if previous_sigterm is None else previous_sigterm)


def _main(argv):
    from .train import RunError

    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.handler is None:  # no command: show what there is
            parser.print_help()
            return EXIT_ERROR
        return args.handler(args)
    except Terminated:
        print("minigan: stopped by SIGTERM", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("minigan: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except RunError as exc:
        print(f"minigan: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_FAILED
    except (UsageError, DataError, backend.BackendError, ValueError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in message:
            message = f"{exc.filename}: {message}"
        print(f"minigan: error: {message}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
