"""minigan: Generative Adversarial Networks from scratch, gradients written by hand.

The package is built in floors; each imports only the floors below it::

    app          the minigan command, run settings, trainer, checkpoints, pictures
    lab          metrics, the classifier, scoring a generator, the toy games
    gan          Algorithm 1, the games, conditional GAN, penalty, moving average, models
    nn | check   layers, initializers, optimizers | gradient checker, hypothesis strategies
    functional   every forward/backward pair: dense, activations, losses, conv, batch norm, ...
    backend | data   NumPy or CuPy, device, kernels | IDX files and MNIST

An example that trains a GAN by hand needs ``from minigan import backend, data, gan``,
``from minigan.nn import layers, optim``, ``from minigan.functional import losses`` and,
to draw its digits, ``from minigan.app import plotting``. The floors are imported when
first used (``minigan.nn`` or ``from minigan import nn``), so ``import minigan`` is
instant and the command line can answer a Ctrl-C that comes while NumPy is still loading.

The module names of minigan 0.1 still resolve as attributes, each to its floor:
``from minigan import layers`` is :mod:`minigan.nn.layers` (see :data:`MOVED`).
"""

import importlib

__version__ = "0.2.0"

FLOORS = ("backend", "data", "functional", "nn", "check", "gan", "lab", "app")

#: minigan 0.1's modules, by the name ``from minigan import NAME`` used, and where they live now.
MOVED = {
    "layers": "nn.layers", "init": "nn.init", "optim": "nn.optim",
    "losses": "functional.losses", "im2col": "functional.im2col", "kernels": "backend.kernels",
    "gradcheck": "check.gradcheck", "testing": "check.testing",
    "conditional": "gan.conditional", "ema": "gan.ema", "penalty": "gan.penalty",
    "models": "gan.models",
    "metrics": "lab.metrics", "classifier": "lab.classifier", "evaluate": "lab.scoring",
    "toys": "lab.toys",
    "checkpoint": "app.checkpoint", "cli": "app.cli", "plotting": "app.plotting",
    "runs": "app.runs", "train": "app.trainer",
}

__all__ = [*FLOORS, "__version__"]


def __getattr__(name):
    if name in FLOORS or name in MOVED:
        module = importlib.import_module(f".{MOVED.get(name, name)}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'minigan' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(MOVED))
