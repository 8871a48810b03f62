"""The ``nn`` floor: layers that keep state, their initializers, and the optimizers.

- :mod:`minigan.nn.layers`: ``Dense``, ``Conv2d``, ``BatchNorm``, ``SpectralNorm``, ...
  Each layer holds parameters, gradients, buffers and a mode, and calls a
  forward/backward pair of :mod:`minigan.functional` for its mathematics.
- :mod:`minigan.nn.init`: Xavier, He and DCGAN initializers.
- :mod:`minigan.nn.optim`: Adam, RMSProp and SGD with momentum.

Imports :mod:`minigan.functional` and :mod:`minigan.backend` only.
"""

from . import init, layers, optim

__all__ = ["init", "layers", "optim"]
