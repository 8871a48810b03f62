"""loop.train: the numbers each iteration must report."""

import numpy as np
import pytest

from minigan import gan
from minigan.gan import ema, loop
from minigan.nn import layers, optim


class LossesAlone(gan.GAN):
    """A step of one's own that returns its losses and nothing else."""

    def d_step(self, x_real, update=True):
        return {"d_loss": super().d_step(x_real, update)["d_loss"]}

    def g_step(self, m, dtype=None, update=True):
        return {"g_loss": super().g_step(m, dtype, update)["g_loss"]}


def test_an_iteration_without_d_outputs_is_refused_naming_them():
    r = np.random.default_rng(0)
    G, D = layers.Dense(2, 3, rng=r), layers.Dense(3, 1, rng=r)
    model = LossesAlone(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r)
    with pytest.raises(ValueError, match=r"reported no d_real, d_fake, d_gen \(it gave "
                                         r"d_loss, g_loss\).*mean_output"):
        loop.train(model, lambda: r.standard_normal((4, 3)).astype(np.float32), 1)


class NaNGLoss(gan.GAN):
    """A step of one's own whose G loss is not a number (its steps are GAN's)."""

    def g_step(self, m, dtype=None, update=True):
        return {**super().g_step(m, dtype, update), "g_loss": float("nan")}


@pytest.mark.parametrize("step, error", [(LossesAlone, ValueError), (NaNGLoss, loop.Diverged)])
def test_the_average_of_g_never_takes_an_iteration_the_loop_refuses(step, error):
    r = np.random.default_rng(0)
    G, D = layers.Dense(2, 3, rng=r), layers.Dense(3, 1, rng=r)
    model = step(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r)
    average = ema.EMA(G, decay=0.5)
    before = {k: v.copy() for k, v in average.generator.params.items()}
    with pytest.raises(error):
        loop.train(model, lambda: r.standard_normal((4, 3)).astype(np.float32), 1, ema=average)
    assert average.updates == 0
    assert not np.array_equal(G.params["W"], before["W"])          # G took its step
    for key, value in average.generator.params.items():
        assert np.array_equal(value, before[key]), key
