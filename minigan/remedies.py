"""The command-line options of the remedies against mode collapse, shared by ``train`` and ``toy``.

=====================================  ==================================================
option                                 what it builds
=====================================  ==================================================
``--conditional`` (train only)         G(z, c) and D(x, c): :mod:`minigan.conditional`
``--pack M``                           D judges packs of M samples: :class:`~minigan.layers.Pack`
``--minibatch discrimination``         :class:`~minigan.layers.MinibatchDiscrimination` in D
``--minibatch stddev``                 :class:`~minigan.layers.MinibatchStdDev` in D
``--ema DECAY``                        a moving average of G's weights: :mod:`minigan.ema`
=====================================  ==================================================
"""

from __future__ import annotations

import argparse

from .models import MINIBATCH

__all__ = ["add_options"]


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _ema_decay(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a decay in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1) (e.g. 0.999), got {value}")
    return value


def add_options(parser, conditional=True):
    """Add the options of the table above to ``parser`` (unset: None)."""
    g = parser.add_argument_group("against mode collapse")
    if conditional:
        g.add_argument("--conditional", action="store_true", default=None,
                       help="conditional GAN: G and D take the digit's one-hot label")
    g.add_argument("--pack", type=_positive_int, metavar="M",
                   help="PacGAN: D judges packs of M samples at once (default 1)")
    g.add_argument("--minibatch", choices=MINIBATCH,
                   help="a minibatch layer before D's last layer: Salimans et al.'s minibatch "
                   "discrimination or Karras et al.'s minibatch standard deviation")
    g.add_argument("--ema", type=_ema_decay, metavar="DECAY",
                   help="keep a moving average of G's weights (e.g. 0.999); sample grids, "
                   "sample, interpolate and eval use it")
