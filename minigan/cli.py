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
import os
import sys

import numpy as np

from . import backend, checkpoint, models, plotting
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
    """The argument parser of ``minigan``. Train options default to None: unset."""
    parser = _Parser(prog="minigan", description="GANs from scratch on NumPy / CuPy.")
    sub = parser.add_subparsers(dest="command", metavar="{train,sample,eval,toy,classifier}",
                                parser_class=_Parser)
    sub.required = True
    device_default = os.environ.get("MINIGAN_DEVICE") or "auto"

    t = sub.add_parser("train", help="train a GAN on MNIST",
                       description="Train a GAN on MNIST. Unset options take the model's "
                       "defaults (vanilla: batch 128, Adam lr 1e-3, betas 0.9/0.999; dcgan: "
                       "batch 64, lr 2e-4, betas 0.5/0.999), or the checkpoint's with --resume.")
    t.add_argument("--model", choices=sorted(models.MODELS), help="architecture (default vanilla)")
    t.add_argument("--epochs", type=_positive_int,
                   help="train until this many epochs are done in total (default 1)")
    t.add_argument("--batch-size", type=_positive_int, help="minibatch size m")
    t.add_argument("--lr", type=_positive_float, help="Adam learning rate of both players")
    t.add_argument("--k", type=_positive_int, help="D steps per G step (default 1)")
    t.add_argument("--seed", type=int, help="seed of every random choice (default 0)")
    t.add_argument("--device", choices=("cpu", "gpu", "auto"),
                   help=f"cpu (NumPy), gpu (CuPy) or auto (default: $MINIGAN_DEVICE or auto; "
                   f"now {device_default})")
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
    t.add_argument("--prior", choices=("gaussian", "uniform"),
                   help="noise prior (default gaussian)")
    t.add_argument("--resume", metavar="PATH",
                   help="continue the run in this folder (or from this checkpoint file)")
    t.add_argument("--quiet", action="store_true", default=None, help="no progress bars")

    s = sub.add_parser("sample", help="draw samples from a checkpoint into a PNG grid")
    s.add_argument("--checkpoint", required=True, help="checkpoint.npz, or a run folder")
    s.add_argument("--n", type=_positive_int, default=64, help="number of samples (default 64)")
    s.add_argument("--out", default="samples.png", help="PNG file to write (default samples.png)")
    s.add_argument("--seed", type=int, default=None, help="seed of the noise (default: random)")
    s.add_argument("--nrow", type=_positive_int, default=None, help="images per row")
    s.add_argument("--device", choices=("cpu", "gpu", "auto"), default=None,
                   help=f"default: $MINIGAN_DEVICE or auto (now {device_default})")
    for module in _lab_modules():   # minigan eval | toy | classifier
        module.add_parser(sub)
    return parser


def _lab_modules():
    """The lab's commands: each module offers ``add_parser(subparsers)`` and ``run(args)``."""
    from . import classifier, evaluate, toys
    return (evaluate, toys, classifier)


def _train(args):
    from .train import Interrupted, Trainer

    options = {k: v for k, v in vars(args).items() if k != "command" and v is not None}
    options.setdefault("device", os.environ.get("MINIGAN_DEVICE") or None)
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
    path = args.checkpoint
    if os.path.isdir(path):
        path = os.path.join(path, "checkpoint.npz")
    backend.use(args.device or os.environ.get("MINIGAN_DEVICE") or "auto")
    ckpt = checkpoint.load_checkpoint(path)
    name = ckpt["config"].get("model")
    if name not in models.MODELS:
        raise checkpoint.CheckpointError(
            f"checkpoint {path} names model {name!r}, which this minigan does not know "
            f"({sorted(models.MODELS)})")
    spec = models.MODELS[name]
    dtype = np.dtype(ckpt["config"].get("dtype", "float32"))
    G, _ = models.build(name, np.random.default_rng(0), dtype)
    checkpoint.restore(ckpt, generator=G, model=name)
    rng = np.random.default_rng(args.seed)
    shape = (args.n, spec.noise_dim)
    if ckpt["config"].get("prior", "gaussian") == "uniform":
        z = backend.uniform(-1.0, 1.0, shape, rng, dtype)
    else:
        z = backend.randn(shape, rng, dtype)
    images = G.eval().forward(z)
    low = -1.0 if spec.scale == "tanh" else 0.0
    plotting.save_grid(images, args.out, nrow=args.nrow, value_range=(low, 1.0))
    print(f"wrote {args.n} samples from {path} to {args.out}")
    return 0


def main(argv=None):
    """Run the command line; return the exit code (0, 2 on bad input, 130 on Ctrl-C)."""
    try:
        args = build_parser().parse_args(argv)
        if args.command not in ("train", "sample"):
            return next(m for m in _lab_modules() if args.command in m.COMMANDS).run(args)
        return _train(args) if args.command == "train" else _sample(args)
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
