r"""An exponential moving average of the generator's weights (``--ema 0.999``).

A GAN's generator keeps moving around its equilibrium; the average of its
recent weights draws better digits than the last ones (Yazici et al. 2019,
Karras et al. 2018). After every generator step,

.. math::
    \theta_{\mathrm{EMA}} \leftarrow \beta_t\, \theta_{\mathrm{EMA}} + (1 - \beta_t)\, \theta,
    \qquad \beta_t = \min\Big(\beta,\ \frac{1 + t}{w + t}\Big),

with :math:`\theta` G's weights, :math:`\theta_{\mathrm{EMA}}` their average,
:math:`t` the number of updates so far and :math:`w = 10`: the warm-up of
TensorFlow's ``ExponentialMovingAverage(num_updates=t)``, so that the average
does not start out dominated by the random initial weights. Until
:math:`\beta_t` reaches :math:`\beta` (after :math:`(10\beta - 1)/(1 - \beta)`
updates: 8,990 for 0.999, 44,990 for 0.9998) the average spans about the last
:math:`t / (w - 1)` steps.

Batch norm's running statistics are not weights: an average of weights
computes other activations than any of the generators averaged, so the
statistics G gathered do not fit it. :meth:`EMA.update` copies G's (the
average is usable at any time), and :meth:`EMA.estimate_statistics` replaces
them with the averaged generator's own, measured on a few batches of noise
(BigGAN's "standing statistics", PyTorch's ``swa_utils.update_bn``); the
trainer does so before every grid, score and checkpoint. On a G with batch norm (the
default's before it took pixel norm, which keeps no statistics) it lowered FID at nearly
every score measured, by up to a third (the site's "How the default was chosen").

The averaged generator sits beside ``G`` (``EMA.generator``, the same
architecture), is saved in the checkpoint (``G_ema/...``), and draws the
sample grids and what ``minigan sample``, ``minigan interpolate`` and
``minigan eval`` show when a run has one.
"""

from __future__ import annotations

import copy
import math

from minigan.functional.errors import amount, whole_number
from minigan.nn.layers import BatchNorm, Layer

__all__ = ["EMA", "STATISTICS_BATCHES", "STATISTICS_BATCH"]

#: Batches of noise, and vectors in each, that :meth:`EMA.estimate_statistics` draws
#: by default: 4,000 generated samples, about as many as a grid's run of 60 iterations.
STATISTICS_BATCHES, STATISTICS_BATCH = 8, 500


class EMA:
    """The moving average of ``generator``'s parameters, held in a copy of it.

    Parameters
    ----------
    generator : minigan.nn.layers.Layer
        The generator trained; the copy starts from its current weights.
    decay : float
        :math:`\\beta` in [0, 1).
    warmup : float
        :math:`w` > 0 of the warm-up (10, TensorFlow's); a smaller one lets the average
        span more of the run, and 1 or less is none (:math:`\\beta_t = \\beta` from the
        first update). Not saved in :meth:`state_dict`: the trainer uses 10.
    """

    def __init__(self, generator, decay=0.999, warmup=10.0):
        if not isinstance(generator, Layer):
            raise TypeError(f"EMA averages a generator's weights: give the generator, a "
                            f"minigan.nn.layers.Layer (a GAN's model.G), not a "
                            f"{type(generator).__name__}")
        decay = amount("ema decay", decay, below=1.0)
        if not 0.0 < float(warmup) < math.inf:
            raise ValueError(f"ema warm-up must be a finite number above 0 (1 or less: no "
                             f"warm-up; at 0 or below, (1 + t) / (w + t) divides by 0 or is "
                             f"negative at the first update; with inf, beta_t = 0 and the "
                             f"average is G itself), got {warmup}")
        self.source, self.decay, self.updates = generator, float(decay), 0
        self.warmup = float(warmup)
        self.generator = copy.deepcopy(generator).eval()
        self.generator.freeze(True)

    def update(self):
        r"""One step: :math:`\theta_{\mathrm{EMA}} \leftarrow \beta_t\, \theta_{\mathrm{EMA}}
        + (1 - \beta_t)\, \theta` (the average in ``generator.params``, G's weights
        :math:`\theta` in ``source.params``)."""
        beta = min(self.decay, (1.0 + self.updates) / (self.warmup + self.updates))
        shadow = self.generator.params
        for key, value in self.source.params.items():
            avg = shadow[key]
            avg *= beta
            avg += (1.0 - beta) * value
        shadow_buffers = self.generator.buffers
        for key, value in self.source.buffers.items():
            shadow_buffers[key][...] = value
        self.updates += 1

    def estimate_statistics(self, noise, batches=None, batch_size=None):
        r"""Batch norm's running statistics of the averaged generator, from its own activations.

        Each batch norm layer of ``generator`` sees ``batches`` batches of
        ``noise(batch_size)`` in training mode (its other layers stay in evaluation
        mode), with the momentum of a plain average, :math:`1 / (b + 1)` at batch
        :math:`b`, so that

        .. math::
            \mu_{run} = \frac1B \sum_b \mu_b, \qquad
            \sigma^2_{run} = \frac1B \sum_b \tfrac{m}{m-1}\sigma^2_b,

        the mean of the batches' statistics (the unbiased variance, as in training).
        Nothing else changes; the next :meth:`update` copies G's statistics again.

        Parameters
        ----------
        noise : callable
            ``noise(m)``: ``m`` inputs of the generator (noise vectors, with their
            labels for a conditional one) on the generator's device.
        batches, batch_size : int, optional
            :data:`STATISTICS_BATCHES` and :data:`STATISTICS_BATCH` unless given (read at
            each call).

        Returns
        -------
        int : the batch norm layers whose statistics were estimated (0: nothing to do)
        """
        norms = [layer for layer in self.generator.walk() if isinstance(layer, BatchNorm)]
        if not norms:
            return 0
        batches = STATISTICS_BATCHES if batches is None else batches
        batch_size = STATISTICS_BATCH if batch_size is None else batch_size
        if int(batches) < 1 or int(batch_size) < 2:
            raise ValueError(f"estimate_statistics needs at least 1 batch of at least 2 samples, "
                             f"got {batches} of {batch_size}")
        momenta = [layer.momentum for layer in norms]
        try:
            for b in range(int(batches)):
                for layer in norms:
                    layer.train().momentum = 1.0 / (b + 1)
                self.generator.forward(noise(int(batch_size)))
        finally:
            for layer, momentum in zip(norms, momenta, strict=True):
                layer.eval().momentum = momentum
        return len(norms)

    def state_dict(self):
        """The averaged generator's parameters and buffers (what a checkpoint holds). The
        count of updates, which sets the warm-up's decay, is not among them (the state is a
        generator's, which ``minigan sample`` loads into one): save ``ema.updates`` beside
        it and give it back to :meth:`load_state_dict` (the trainer keeps it in its
        checkpoint as ``ema_updates``)."""
        return self.generator.state_dict()

    def load_state_dict(self, state, updates=None):
        """The averaged generator's parameters and buffers from ``state``, in place, and
        ``updates``, the count of updates the saved average had taken (``ema.updates``).
        Without it the count stays this average's own (0 for a new one, whose next update
        keeps only :math:`(1 + 0)/(w + 0)`, a tenth, of the average restored)."""
        if updates is not None:
            updates = whole_number("EMA: updates (the count of updates saved)", updates, 0)
        self.generator.load_state_dict(state)
        if updates is not None:
            self.updates = updates
