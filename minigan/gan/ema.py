r"""An exponential moving average of the generator's weights (``--ema 0.999``).

A GAN's generator keeps moving around its equilibrium; the average of its
recent weights draws better digits than the last ones (Yazici et al. 2019,
Karras et al. 2018). After every generator step,

.. math::
    \bar\theta \leftarrow \beta_t\, \bar\theta + (1 - \beta_t)\, \theta, \qquad
    \beta_t = \min\Big(\beta,\ \frac{1 + t}{10 + t}\Big),

with :math:`t` the number of updates so far: the warm-up of TensorFlow's
``ExponentialMovingAverage(num_updates=t)``, so that the average does not
start out dominated by the random initial weights. BatchNorm's running
statistics are copied, not averaged. The averaged generator sits beside
``G`` (``EMA.generator``, the same architecture), is saved in the
checkpoint (``G_ema/...``), and draws the sample grids and what
``minigan sample``, ``minigan interpolate`` and ``minigan eval`` show when a
run has one.
"""

from __future__ import annotations

import copy

__all__ = ["EMA"]


class EMA:
    """The moving average of ``generator``'s parameters, held in a copy of it.

    Parameters
    ----------
    generator : minigan.nn.layers.Layer
        The generator trained; the copy starts from its current weights.
    decay : float
        :math:`\\beta` in [0, 1).
    """

    def __init__(self, generator, decay=0.999):
        if not 0.0 <= float(decay) < 1.0:
            raise ValueError(f"ema decay must be in [0, 1), got {decay}")
        self.source, self.decay, self.updates = generator, float(decay), 0
        self.generator = copy.deepcopy(generator).eval()
        self.generator.freeze(True)

    def update(self):
        r"""One step: :math:`\bar\theta \leftarrow \beta_t \bar\theta + (1 - \beta_t)\theta`."""
        beta = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        shadow = self.generator.params
        for key, value in self.source.params.items():
            avg = shadow[key]
            avg *= beta
            avg += (1.0 - beta) * value
        shadow_buffers = self.generator.buffers
        for key, value in self.source.buffers.items():
            shadow_buffers[key][...] = value
        self.updates += 1

    def state_dict(self):
        """The averaged generator's parameters and buffers (what a checkpoint holds)."""
        return self.generator.state_dict()

    def load_state_dict(self, state):
        self.generator.load_state_dict(state)
