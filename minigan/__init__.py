"""minigan: Generative Adversarial Networks from scratch, gradients written by hand.

``from minigan import backend, data, gan, layers, losses, optim, plotting`` is all an
example needs: ``layers`` to build the two players, ``losses`` and ``optim`` to
train them, ``gan`` for Algorithm 1 and the noise prior, ``data`` for MNIST,
``backend`` for the device and ``plotting`` for a grid of samples.
"""

from . import (
    backend,
    data,
    functional,
    gan,
    gradcheck,
    init,
    layers,
    losses,
    models,
    optim,
    plotting,
)

__version__ = "0.1.0"
__all__ = [
    "backend", "data", "functional", "gan", "gradcheck", "init", "layers", "losses", "models",
    "optim", "plotting", "__version__",
]
