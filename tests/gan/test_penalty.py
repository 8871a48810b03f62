"""WGAN-GP's gradient penalty: the hand-written double backward against finite differences
of the penalty itself, against PyTorch's double backward, and the critics it refuses."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan import gan
from minigan.check import gradcheck, testing
from minigan.gan import models, penalty
from minigan.nn import layers, optim


@st.composite
def critics(draw):
    """A float64 critic of Dense / SpectralNorm(Dense) and ReLU / LeakyReLU layers (image
    input through Flatten, or flat input), its input and lambda."""
    seed = draw(testing.seeds())
    rng = np.random.default_rng(seed)
    image = draw(st.booleans())
    n = draw(st.integers(1, 5))
    in_shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))) \
        if image else (draw(st.integers(1, 5)),)
    widths = [int(np.prod(in_shape))] + draw(st.lists(st.integers(1, 6), min_size=0,
                                                       max_size=2)) + [1]
    net = [layers.Flatten()] if image else []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        dense = layers.Dense(a, b, bias=draw(st.booleans()), rng=rng, dtype="float64")
        # not on a one-output layer: W / sigma(W) is then a unit vector, the penalty sees
        # only norms of it, so its W gets an exactly zero gradient and the finite differences
        # measure rounding noise alone (test_penalty_ignores_a_normalized_vector below)
        spectral = b > 1 and draw(st.booleans())
        net.append(layers.SpectralNorm(dense, rng=rng) if spectral else dense)
        if i < len(widths) - 2:
            net.append(draw(st.sampled_from([layers.ReLU(), layers.LeakyReLU(0.2),
                                             layers.LeakyReLU(draw(st.floats(0.01, 0.9)))])))
    critic = layers.Sequential(*net).eval()            # eval: SpectralNorm's u held fixed
    x = rng.standard_normal((n,) + in_shape)
    features = draw(st.none() | st.integers(1, widths[0]))   # a conditional critic's image
    return critic, x, draw(st.sampled_from([1.0, 10.0])), rng, features


@given(critics())
def test_gradient_penalty_double_backward(case):
    """Every parameter gradient of P = lambda/N sum (|grad_x f| - 1)^2 against the centered
    finite differences of P itself, in float64."""
    critic, x, lam, rng, features = case
    assume(testing.min_kink_distance(critic, x) > testing.KINK_MARGIN)
    g = penalty.critic_input_gradient(critic, x)[1].reshape(len(x), -1)
    g = g if features is None else g[:, :features]
    assume(np.sqrt((g * g).sum(axis=1)).min() > 10 * testing.KINK_MARGIN)   # |g| has a kink at 0
    critic.zero_grad()
    dout = rng.standard_normal()                         # a random upstream gradient
    penalty.gradient_penalty(critic, x, lam, features)
    analytic = {k: dout * g for k, g in critic.grads.items()}

    def value():
        return np.array(penalty.gradient_penalty(critic, x, lam, features))

    for k, p in critic.params.items():
        numeric = gradcheck.numeric_vjp(value, p, np.array(dout))
        err = gradcheck.rel_error(analytic[k], numeric)
        assert err <= testing.GRAD_TOL, (k, err)


def test_penalty_ignores_a_normalized_vector():
    """A spectrally normalized one-output Dense layer feeds the critic's input gradient a unit
    vector times what follows, so the penalty does not depend on that layer's W: its gradient
    is zero (up to rounding), while the next layer's is not."""
    rng = np.random.default_rng(3)
    sn = layers.SpectralNorm(layers.Dense(6, 1, rng=rng, dtype="float64"), rng=rng)
    critic = layers.Sequential(sn, layers.LeakyReLU(0.2),
                               layers.Dense(1, 1, rng=rng, dtype="float64")).eval()
    for _ in range(30):                                  # let u converge: sigma = |W|
        sn.train()
        sn.forward(rng.standard_normal((1, 6)))
    sn.eval()
    critic.zero_grad()
    penalty.gradient_penalty(critic, rng.standard_normal((4, 6)), 10.0)
    assert np.abs(critic.grads["0.W"]).max() <= 1e-12
    assert np.abs(critic.grads["2.W"]).max() > 1e-3


def test_gradient_penalty_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is the independent reference here")
    rng = np.random.default_rng(0)
    critic = layers.Sequential(layers.Dense(4, 7, rng=rng, dtype="float64"), layers.LeakyReLU(0.2),
                               layers.Dense(7, 5, rng=rng, dtype="float64"), layers.ReLU(),
                               layers.Dense(5, 1, rng=rng, dtype="float64"))
    x = rng.standard_normal((6, 4))
    value = penalty.gradient_penalty(critic, x, 10.0)
    Ws = [torch.tensor(critic[i].params["W"], requires_grad=True) for i in (0, 2, 4)]
    bs = [torch.tensor(critic[i].params["b"], requires_grad=True) for i in (0, 2, 4)]
    xt = torch.tensor(x, requires_grad=True)
    h = torch.nn.functional.leaky_relu(xt @ Ws[0] + bs[0], 0.2)
    h = torch.relu(h @ Ws[1] + bs[1])
    out = h @ Ws[2] + bs[2]
    (g,) = torch.autograd.grad(out.sum(), xt, create_graph=True)
    p = 10.0 * ((g.norm(dim=1) - 1) ** 2).mean()
    p.backward()
    assert value == pytest.approx(p.item(), rel=1e-12)
    for i, W in zip((0, 2, 4), Ws, strict=True):
        np.testing.assert_allclose(critic[i].grads["W"], W.grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_array_equal(critic[i].grads["b"], 0.0)


def test_input_gradient_is_the_ordinary_backward_pass():
    rng = np.random.default_rng(1)
    critic = layers.Sequential(layers.Flatten(), layers.Dense(6, 4, rng=rng, dtype="float64"),
                               layers.LeakyReLU(0.2), layers.Dense(4, 1, rng=rng, dtype="float64"))
    x = rng.standard_normal((3, 1, 2, 3))
    out, g, _ = penalty.critic_input_gradient(critic, x)
    np.testing.assert_allclose(out, critic.forward(x))
    np.testing.assert_allclose(g, critic.backward(np.ones((3, 1))))


def test_a_frozen_critic_keeps_its_gradients():
    rng = np.random.default_rng(2)
    critic = layers.Sequential(layers.Dense(3, 4, rng=rng), layers.ReLU(), layers.Dense(4, 1, rng=rng))
    critic.freeze(True)
    assert penalty.gradient_penalty(critic, rng.standard_normal((5, 3)).astype(np.float32)) > 0
    assert all(not g.any() for g in critic.grads.values())


@pytest.mark.parametrize("bad, name", [
    (lambda r: models.dcgan(r)[1], r"layer 0 of the discriminator, Conv2d\(1, 64"),
    (lambda r: layers.Sequential(layers.Dense(3, 4, rng=r), layers.BatchNorm(4),
                                 layers.Dense(4, 1, rng=r)), r"layer 1 .*BatchNorm\(4\).*mixes"),
    (lambda r: layers.Sequential(layers.Dense(3, 4, rng=r), layers.Sigmoid(),
                                 layers.Dense(4, 1, rng=r)), r"layer 1 .*Sigmoid\(\)"),
    (lambda r: models.vanilla(r, pack=2)[1], r"layer 0 .*Pack.*Leave out --pack"),
    (lambda r: models.vanilla(r, minibatch="stddev")[1],
     r"MinibatchStdDev.*Leave out --pack and --minibatch"),
])
def test_critics_it_cannot_differentiate_twice_are_refused(bad, name):
    rng = np.random.default_rng(0)
    D = bad(rng)
    G = layers.Sequential(layers.Dense(2, 3, rng=rng))
    with pytest.raises(ValueError, match="WGAN-GP differentiates the critic twice.*" + name):
        gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, loss="wgan-gp")
