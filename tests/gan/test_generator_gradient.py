"""What the G step receives from D: dL_G/dx at G's samples, against finite differences of G's
loss through D, and the vector the G step hands to G's backward pass."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan import gan
from minigan.check import gradcheck, testing
from minigan.gan import games
from minigan.nn import layers, optim


@st.composite
def discriminators(draw):
    """A float64 D of Dense / SpectralNorm(Dense) and LeakyReLU layers in training mode, a
    batch of samples and a game."""
    rng = np.random.default_rng(draw(testing.seeds()))
    widths = [draw(st.integers(1, 4))] + draw(st.lists(st.integers(2, 6), max_size=2)) + [1]
    net = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        dense = layers.Dense(a, b, rng=rng, dtype="float64")
        net.append(layers.SpectralNorm(dense, rng=rng) if b > 1 and draw(st.booleans())
                   else dense)
        if i < len(widths) - 2:
            net.append(layers.LeakyReLU(draw(st.sampled_from([0.0, 0.2]))))
    x = rng.standard_normal((draw(st.integers(1, 6)), widths[0]))
    name = draw(st.sampled_from(games.NAMES))
    form = draw(st.sampled_from(games.G_LOSSES)) if name == "gan" else "non_saturating"
    return layers.Sequential(*net), x, games.get(name, form)


@given(discriminators())
def test_the_generator_gradient_is_the_derivative_of_g_s_loss_through_d(case):
    D, x, game = case
    assume(testing.min_kink_distance(D, x) > testing.KINK_MARGIN)
    state = {k: v.copy() for k, v in D.state_dict().items()}
    loss, outputs, dx = gan.generator_gradient(D, game, x)
    assert loss == pytest.approx(game.g_loss(outputs)[0])

    def value():
        D.freeze(True)                         # the spectral norm's u held, as in the G step
        try:
            return np.array(game.g_loss(D.forward(x))[0])
        finally:
            D.freeze(False)

    # (a gradient of 1.9e-5 against a loss of order 1 leaves the step's differences at their
    # rounding, 1.3e-7: vjp_error measures again at a larger step)
    assert gradcheck.vjp_error(value, x, np.array(1.0), dx, testing.GRAD_TOL) <= testing.GRAD_TOL
    # D left as it was: its parameters and u, no gradient accumulated, not frozen
    assert all(np.array_equal(v, state[k]) for k, v in D.state_dict().items())
    assert all(not g.any() for g in D.grads.values()) and not D.frozen


@pytest.mark.parametrize("loss", games.NAMES)
def test_the_g_step_hands_g_the_generator_gradient(loss, monkeypatch):
    """The vector G's backward pass receives in a G step is generator_gradient at G's
    samples, bit for bit (D does not move in the G step)."""
    rng = np.random.default_rng(0)
    G = layers.Sequential(layers.Dense(2, 8, rng=rng), layers.ReLU(), layers.Dense(8, 2, rng=rng))
    D = layers.Sequential(layers.Dense(2, 8, rng=rng), layers.LeakyReLU(0.2),
                          layers.Dense(8, 1, rng=rng))
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), 2, loss=loss, rng=rng)
    seen = {}
    forward, backward = G.forward, G.backward
    monkeypatch.setattr(G, "forward", lambda z: seen.setdefault("fake", forward(z)))
    monkeypatch.setattr(G, "backward", lambda dout, **kw: seen.setdefault("dout", dout.copy())
                        is not None and backward(dout, **kw))
    model.g_step(16)
    _, _, dx = gan.generator_gradient(D, model.game, seen["fake"])
    assert np.array_equal(dx, seen["dout"])


def test_train_iteration_reports_each_step_and_trains_the_same():
    """on_step sees k D steps then the G step; a callback that draws D and G changes nothing."""
    def build():
        rng = np.random.default_rng(1)
        G = layers.Sequential(layers.Dense(2, 8, rng=rng), layers.ReLU(),
                              layers.Dense(8, 2, rng=rng))
        D = layers.Sequential(layers.Dense(2, 8, rng=rng), layers.LeakyReLU(0.2),
                              layers.SpectralNorm(layers.Dense(8, 4, rng=rng), rng=rng),
                              layers.LeakyReLU(0.2), layers.Dense(4, 1, rng=rng))
        return gan.GAN(G, D, optim.Adam(G), optim.Adam(D), 2, k=3, rng=rng, instance_noise=0.1)

    data = np.random.default_rng(2).standard_normal((16, 2)).astype(np.float32)
    z = np.random.default_rng(3).standard_normal((8, 2)).astype(np.float32)
    plain, watched = build(), build()
    steps = []

    def look(step):          # what a picture does between the steps (from its own noise)
        steps.append(step)
        gan.generator_gradient(watched.D, watched.game, watched.sample(z=z))

    for _ in range(2):
        a = plain.train_iteration(lambda: data)
        b = watched.train_iteration(lambda: data, look)
        assert a == b
    assert steps == ["d1", "d2", "d3", "g"] * 2
    for net in ("G", "D"):
        sa, sb = getattr(plain, net).state_dict(), getattr(watched, net).state_dict()
        assert all(np.array_equal(sa[k], sb[k]) for k in sa), net


@pytest.mark.parametrize("name", games.NAMES)
def test_the_game_may_be_given_by_name(name):
    """A name failed with "'str' object has no attribute 'g_loss'"."""
    r = np.random.default_rng(0)
    D = layers.Sequential(layers.Dense(2, 4, rng=r, dtype="float64"), layers.Tanh(),
                          layers.Dense(4, 1, rng=r, dtype="float64"))
    x = r.standard_normal((5, 2))
    by_name, by_game = gan.generator_gradient(D, name, x), gan.generator_gradient(D, games.get(name), x)
    assert by_name[0] == by_game[0]
    np.testing.assert_array_equal(by_name[2], by_game[2])
    with pytest.raises(ValueError, match="unknown loss 'gna'"):
        gan.generator_gradient(D, "gna", x)
