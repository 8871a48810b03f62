"""minigan: Generative Adversarial Networks from scratch, gradients written by hand.

``from minigan import layers, optim, losses, gan`` is all an example needs.
"""

from . import backend, functional, gan, gradcheck, init, layers, losses, models, optim

__version__ = "0.1.0"
__all__ = [
    "backend", "functional", "gan", "gradcheck", "init", "layers", "losses", "models", "optim",
    "__version__",
]
