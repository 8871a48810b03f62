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


def test_an_iteration_that_overflows_is_diverged_without_numpy_s_warnings(recwarn):
    """A step size of 1e37 overflows the first iteration's products: the run said so in two
    warnings from NumPy ("overflow encountered in matmul") before the one line of Diverged."""
    r = np.random.default_rng(0)
    G = layers.Dense(2, 3, rng=r, dtype="float32")
    D = layers.Dense(3, 1, rng=r, dtype="float32")
    G.params["W"][...] *= 1e30                               # D's product of G's 1e30s: inf
    D.params["W"][...] *= 1e30
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r)
    with pytest.raises(loop.Diverged):
        loop.train(model, lambda: r.standard_normal((4, 3)).astype(np.float32), 1)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("kw, error, words", [
    ({"lr": 1e-3}, TypeError, r"^lr must be a schedule, a function lr\(i\) .*\(lambda i: 0.001 for "
                              r"a constant one\).*, got 0.001$"),
    ({"ema": 0.999}, TypeError, r"^ema must be a minigan.gan.ema.EMA .*, got 0.999$"),
    ({"iterations": 2.5}, ValueError, r"^iterations must be >= 0, a whole number, got 2.5$"),
    ({"total": 0.5}, ValueError, r"^total must be >= 0, a whole number, got 0.5$"),
    ({"total": 0}, ValueError, r"^total \(0\), the iterations of the whole run, is less "
                               r"than done \+ iterations \(0 \+ 1\)"),
    ({"total": 1, "done": 1}, ValueError, r"^total \(1\), the iterations of the whole run, is less "
                                          r"than done \+ iterations \(1 \+ 1\)"),
    ({"lr": lambda i: -1e-3, "done": 3}, ValueError,
     r"^the step size lr\(3\) that the schedule gives must be a finite number >= 0, got -0.001$"),
    ({"lr": lambda i: float("nan")}, ValueError, r"^the step size lr\(0\) .* got nan$"),
    ({"lr": lambda i: None}, ValueError, r"^the step size lr\(0\) .* got None$"),
])
def test_arguments_of_the_wrong_kind_are_named(kw, error, words):
    """lr=1e-3 raised "'float' object is not callable" at the first iteration, ema=0.999
    "'float' object has no attribute 'update'" after it had trained, iterations=2.5 "'float'
    object cannot be interpreted as an integer"; a schedule's negative step size was taken
    (D and G ascended their losses) and a NaN one turned every weight into NaN, reported as a
    diverged run."""
    r = np.random.default_rng(0)
    G, D = layers.Dense(2, 3, rng=r), layers.Dense(3, 1, rng=r)
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r)
    before = D.params["W"].copy()
    kw = {"iterations": 1, **kw}
    with pytest.raises(error, match=words):
        loop.train(model, lambda: r.standard_normal((4, 3)).astype(np.float32), **kw)
    np.testing.assert_array_equal(D.params["W"], before)        # refused before any step


def test_a_run_of_no_iterations_may_say_its_total():
    """total=0 with no iterations is a whole run of none, as total left out says; it was
    refused as a total below 1."""
    r = np.random.default_rng(0)
    G, D = layers.Dense(2, 3, rng=r), layers.Dense(3, 1, rng=r)
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r)
    before = D.params["W"].copy()
    loop.train(model, lambda: r.standard_normal((4, 3)).astype(np.float32), 0, total=0)
    np.testing.assert_array_equal(D.params["W"], before)


def test_a_warm_up_from_a_step_size_of_zero_is_taken():
    r = np.random.default_rng(0)
    G, D = layers.Dense(2, 3, rng=r), layers.Dense(3, 1, rng=r)
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r)
    seen = []
    loop.train(model, lambda: r.standard_normal((4, 3)).astype(np.float32), 3,
               lr=lambda i: 1e-3 * i, on_iteration=lambda i, s: seen.append(model.d_opt.lr))
    assert seen == [0.0, 1e-3, 2e-3]
