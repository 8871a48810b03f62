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
Ctrl-C saves a checkpoint and exits with 130.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import backend, gan, models, plotting, runs
from .data import DataError

__all__ = ["main", "build_parser"]

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """An argument was wrong (argparse's complaint, as one line)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument raises instead of printing the usage and exiting."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def build_parser():
    """The argument parser of ``minigan``: one subparser per command, each naming its runner.

    A command is added by one ``_add_<command>(sub)`` that builds its
    subparser and sets ``run`` to the function :func:`main` calls with the
    parsed arguments. Train options default to None: unset.
    """
    parser = _Parser(prog="minigan", description="GANs from scratch on NumPy / CuPy.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    sub.required = True
    _add_train(sub)
    _add_sample(sub)
    return parser


def _device_option(p):
    p.add_argument("--device", choices=("cpu", "gpu", "auto"), default=None,
                   help="cpu (NumPy), gpu (CuPy) or auto (default: $MINIGAN_DEVICE or auto; "
                   f"now {backend.requested_device()})")


def _add_train(sub):
    t = sub.add_parser("train", help="train a GAN on MNIST",
                       description="Train a GAN on MNIST. Unset options take the model's "
                       "defaults (vanilla: batch 128, Adam lr 1e-3, betas 0.9/0.999; dcgan: "
                       "batch 64, lr 2e-4, betas 0.5/0.999), or the checkpoint's with --resume.")
    t.set_defaults(run=_train)
    t.add_argument("--model", choices=sorted(models.MODELS), help="architecture (default vanilla)")
    t.add_argument("--epochs", type=_positive_int,
                   help="train until this many epochs are done in total (default 1)")
    t.add_argument("--batch-size", type=_positive_int, help="minibatch size m")
    t.add_argument("--lr", type=_positive_float, help="Adam learning rate of both players")
    t.add_argument("--k", type=_positive_int, help="D steps per G step (default 1)")
    t.add_argument("--seed", type=int, help="seed of every random choice (default 0)")
    _device_option(t)
    t.add_argument("--data-dir", help="folder with the MNIST .gz files (default: the download "
                   "cache, $MINIGAN_DATA or ~/.cache/minigan/mnist)")
    t.add_argument("--split", choices=("train", "test"), help="MNIST split (default train)")
    t.add_argument("--no-download", dest="download", action="store_false", default=None,
                   help="never download: fail if the files are not in --data-dir")
    t.add_argument("--out", help="run folder (default runs/<model>-<date>-<time>)")
    t.add_argument("--g-loss", choices=("non_saturating", "minimax"),
                   help="generator loss (default non_saturating)")
    t.add_argument("--label-smoothing", type=_fraction,
                   help="one-sided: real target 1 - s (default 0)")
    t.add_argument("--prior", choices=gan.PRIORS, help="noise prior (default gaussian)")
    t.add_argument("--resume", metavar="PATH",
                   help="continue the run in this folder (or from this checkpoint file)")
    t.add_argument("--quiet", action="store_true", default=None, help="no progress bars")


def _add_sample(sub):
    s = sub.add_parser("sample", help="draw samples from a checkpoint into a PNG grid")
    s.set_defaults(run=_sample)
    s.add_argument("--checkpoint", required=True, help="checkpoint.npz, or a run folder")
    s.add_argument("--n", type=_positive_int, default=64, help="number of samples (default 64)")
    s.add_argument("--out", default="samples.png", help="PNG file to write (default samples.png)")
    s.add_argument("--seed", type=int, default=None, help="seed of the noise (default: random)")
    s.add_argument("--nrow", type=_positive_int, default=None, help="images per row")
    _device_option(s)


def _train(args):
    from .train import Interrupted, Trainer

    options = {k: v for k, v in vars(args).items()
               if k not in ("command", "run") and v is not None}
    options.setdefault("device", backend.requested_device())
    trainer = Trainer(options)  # every check happens here, before anything is written
    try:
        trainer.run()
    except Interrupted as exc:
        if exc.checkpoint is None:
            print("minigan: interrupted before the first checkpoint; nothing to resume",
                  file=sys.stderr)
        else:
            how = "saved" if exc.saved else "not saved (second Ctrl-C); the last one is"
            print(f"minigan: interrupted; checkpoint {how} at {exc.checkpoint}: {exc}; "
                  f"continue with: python -m minigan train --resume {trainer.out}",
                  file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _sample(args):
    backend.use(args.device)  # None: $MINIGAN_DEVICE, else auto
    path = runs.find_checkpoint(args.checkpoint, "--checkpoint")
    G, spec, config = runs.load_generator(path)
    z = gan.sample_noise(args.n, spec.noise_dim, config.get("prior", "gaussian"),
                         np.random.default_rng(args.seed), config.get("dtype", "float32"))
    plotting.save_grid(G.forward(z), args.out, nrow=args.nrow, value_range=spec.pixel_range)
    print(f"wrote {args.n} samples from {path} to {args.out}")
    return 0


def main(argv=None):
    """Run the command line; return the exit code (0, 2 on bad input, 130 on Ctrl-C)."""
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except KeyboardInterrupt:
        print("minigan: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UsageError, DataError, backend.BackendError, ValueError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in message:
            message = f"{exc.filename}: {message}"
        print(f"minigan: error: {message}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
