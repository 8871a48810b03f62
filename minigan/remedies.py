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

from . import argtypes
from .models import MINIBATCH

__all__ = ["add_options"]


def add_options(parser, conditional=True):
    """Add the options of the table above to ``parser`` (unset: None)."""
    g = parser.add_argument_group("against mode collapse")
    if conditional:
        g.add_argument("--conditional", action="store_true", default=None,
                       help="conditional GAN: G and D take the digit's one-hot label")
    g.add_argument("--pack", type=argtypes.positive_int, metavar="M",
                   help="PacGAN: D judges packs of M samples at once (default 1)")
    g.add_argument("--minibatch", choices=MINIBATCH,
                   help="a minibatch layer before D's last layer: Salimans et al.'s minibatch "
                   "discrimination or Karras et al.'s minibatch standard deviation")
    g.add_argument("--ema", type=argtypes.decay, metavar="DECAY",
                   help="keep a moving average of G's weights (e.g. 0.999); sample grids, "
                   "sample, interpolate and eval use it")
