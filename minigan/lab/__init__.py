"""The ``lab`` floor: measuring what a GAN learned, as a library (no command line here).

- :mod:`minigan.lab.metrics`: inception score, FID, precision and recall, the Parzen
  window, TSTR, mode coverage: arrays in, numbers out;
- :mod:`minigan.lab.classifier`: the fixed MNIST classifier behind the scores;
- :mod:`minigan.lab.scoring`: a generator's digits scored beside real held-out digits;
- :mod:`minigan.lab.toys`: the toy games, small enough to watch and measure;
- :mod:`minigan.lab.field`: what the generator is told: D's surface, the gradient each
  generated sample receives, the warped noise (the toys' pictures, ``sample --gradients``).

Imports :mod:`minigan.gan`, :mod:`minigan.nn`, :mod:`minigan.data` and below.
"""
