"""Label noise: swapped labels (--label-flip) and annealed instance noise (--instance-noise)."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan import gan
from minigan.check import testing
from minigan.lab import toys
from minigan.nn import layers, optim


def smooth_gan(seed, dtype="float64", **kw):
    """A small GAN with smooth activations (no kink for a finite difference to straddle)."""
    r = np.random.default_rng(seed)
    G = layers.Sequential(layers.Dense(2, 5, rng=r, dtype=dtype), layers.Tanh(),
                          layers.Dense(5, 3, rng=r, dtype=dtype))
    D = layers.Sequential(layers.Dense(3, 6, rng=r, dtype=dtype), layers.Tanh(),
                          layers.Dense(6, 1, rng=r, dtype=dtype))
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r, **kw)
    model.d_opt.step = model.g_opt.step = lambda: None    # gradients only: nothing moves
    return model


def packed_gan(seed, pack, dtype="float64", **kw):
    """``smooth_gan`` with a PacGAN discriminator judging packs of ``pack`` samples."""
    r = np.random.default_rng(seed)
    G = layers.Sequential(layers.Dense(2, 5, rng=r, dtype=dtype), layers.Tanh(),
                          layers.Dense(5, 3, rng=r, dtype=dtype))
    D = layers.Sequential(layers.Pack(pack), layers.Dense(3 * pack, 6, rng=r, dtype=dtype),
                          layers.Tanh(), layers.Dense(6, 1, rng=r, dtype=dtype))
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r, **kw)
    model.d_opt.step = model.g_opt.step = lambda: None
    return model


@given(seed=testing.seeds(), flip=st.floats(0.05, 0.45), smoothing=st.sampled_from([0.0, 0.1]),
       sigma=st.sampled_from([0.0, 0.3]), progress=st.floats(0.0, 1.0), m=st.integers(1, 8))
def test_d_step_gradient_with_flipped_labels_and_instance_noise(step_gradients, seed, flip, smoothing, sigma,
                                                                progress, m):
    model = smooth_gan(seed, label_flip=flip, label_smoothing=smoothing, instance_noise=sigma)
    model.progress = progress
    x = np.random.default_rng(seed + 1).standard_normal((m, 3))
    errors = step_gradients(model, lambda: model.d_step(x)["d_loss"], model.D)
    assert max(errors.values()) <= testing.GRAD_TOL, errors


@given(seed=testing.seeds(), sigma=st.floats(0.01, 1.0), progress=st.floats(0.0, 0.99),
       m=st.integers(1, 8))
def test_g_step_gradient_through_instance_noise(step_gradients, seed, sigma, progress, m):
    model = smooth_gan(seed, instance_noise=sigma)
    model.progress = progress
    errors = step_gradients(model, lambda: model.g_step(m, np.float64)["g_loss"], model.G)
    assert max(errors.values()) <= testing.GRAD_TOL, errors


def test_flips_swap_the_targets_with_probability_p():
    model = smooth_gan(0, label_flip=0.2, label_smoothing=0.1)
    real, fake = model.d_targets(20000, np.float64)
    assert real.shape == fake.shape == (20000, 1)
    assert set(np.unique(real)) == {0.0, 0.9} and set(np.unique(fake)) == {0.0, 0.9}
    assert np.mean(real == 0.0) == pytest.approx(0.2, abs=0.015)
    assert np.mean(fake == 0.9) == pytest.approx(0.2, abs=0.015)
    plain = smooth_gan(0, label_smoothing=0.1)
    state = plain.rng.bit_generator.state
    assert plain.d_targets(5, np.float64) == (0.9, 0.0)
    assert plain.rng.bit_generator.state == state         # no flips: nothing drawn


@given(seed=testing.seeds(), pack=st.integers(2, 4), packs=st.integers(1, 5),
       flip=st.floats(0.05, 0.45))
def test_a_packed_d_with_flipped_labels_flips_a_pack_as_one(step_gradients, seed, pack, packs,
                                                            flip):
    """A packed D returns one output per pack: one target per pack, flipped as one; the D
    step's gradient is exact."""
    model = packed_gan(seed, pack, label_flip=flip)
    real, fake = model.d_targets(pack * packs, np.float64)
    assert real.shape == fake.shape == (packs, 1)
    x = np.random.default_rng(seed + 1).standard_normal((pack * packs, 3))
    errors = step_gradients(model, lambda: model.d_step(x)["d_loss"], model.D)
    assert max(errors.values()) <= testing.GRAD_TOL, errors


def test_instance_noise_reaches_every_input_of_d_and_anneals_to_zero():
    model = smooth_gan(1, instance_noise=0.5)
    seen = []
    forward = model.D.forward
    model.D.forward = lambda x: seen.append(x.copy()) or forward(x)
    x = np.full((4000, 3), 2.0)
    for progress, std in ((0.0, 0.5), (0.5, 0.25), (1.0, 0.0)):
        model.progress = progress
        assert model.instance_noise_std() == pytest.approx(std)
        seen.clear()
        model.d_step(x)
        assert np.std(seen[0] - x) == pytest.approx(std, rel=0.05, abs=1e-12)   # real batch
        fake = model.G.forward(np.zeros((1, 2)))
        assert len(seen) == 2 and (std == 0.0 or np.std(seen[1]) > 0.9 * std)
        model.g_step(10, np.float64)
        assert len(seen) == 3                                # the G step sees D's noisy view
    assert fake.shape == (1, 3)


def test_toy_loop_anneals_linearly_over_its_iterations(monkeypatch):
    progress = []
    original = gan.GAN.train_iteration

    def spy(self, next_real_batch):
        progress.append((self.progress, self.instance_noise_std()))
        return original(self, next_real_batch)

    monkeypatch.setattr(gan.GAN, "train_iteration", spy)
    toys.run_gan_toy("ring8", 20, seed=0, snapshots=0, record_frames=False,
                     opts={"instance_noise": 0.4, "label_flip": 0.1})
    np.testing.assert_allclose([p for p, _ in progress], np.arange(20) / 20)
    np.testing.assert_allclose([s for _, s in progress], 0.4 * (1 - np.arange(20) / 20))


def test_bad_values_are_refused():
    with pytest.raises(ValueError, match=r"label_flip must be a number in \[0, 0.5\)"):
        smooth_gan(0, label_flip=0.5)
    with pytest.raises(ValueError, match="instance_noise must be"):
        smooth_gan(0, instance_noise=-1.0)
    # a switch is not an amount: True was a noise of standard deviation 1.0
    for name, value in [("instance_noise", True), ("label_smoothing", True), ("r1", True),
                        ("label_flip", "0.1"), ("gp_weight", float("inf")),
                        ("instance_noise", np.True_), ("r1", np.array(True))]:
        with pytest.raises(ValueError, match=f"{name} must be .*, got {re.escape(repr(value))}"):
            smooth_gan(0, **{name: value})
