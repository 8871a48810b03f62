"""minigan: Generative Adversarial Networks from scratch, gradients written by hand.

``from minigan import backend, data, gan, layers, losses, optim, plotting`` is all an
example needs: ``layers`` to build the two players, ``losses`` and ``optim`` to
train them, ``gan`` for Algorithm 1 and the noise prior, ``data`` for MNIST,
``backend`` for the device and ``plotting`` for a grid of samples.

The submodules are imported when first used (``minigan.layers`` or ``from minigan
import layers``), so ``import minigan`` is instant and the command line can
answer a Ctrl-C that comes while NumPy is still loading.
"""

import importlib

__version__ = "0.1.0"
__all__ = [
    "backend", "checkpoint", "classifier", "data", "evaluate", "functional", "gan", "gradcheck",
    "init", "layers", "losses", "metrics", "models", "optim", "plotting", "runs", "toys", "train",
    "__version__",
]


def __getattr__(name):
    if name in __all__:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'minigan' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
