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
    input through Flatten, or flat input), some of them in a Sequential inside it now and
    then; its input and lambda."""
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
    if len(net) > 1 and draw(st.booleans()):            # a Sequential inside the critic
        start = draw(st.integers(0, len(net) - 1))
        stop = draw(st.integers(start + 1, len(net)))
        net[start:stop] = [layers.Sequential(*net[start:stop])]
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
    norms = np.sqrt((g * g).sum(axis=1))
    assume(norms.min() > 10 * testing.KINK_MARGIN)                       # |g| has a kink at 0
    # and P its minimum where every |g| is 1: its gradient vanishes there, and the centred
    # differences' truncation error (falling as h**2) outgrows it (|W| = 1.0003 of one
    # Dense(4, 1): relative error 5.4e-8 at h = 1e-5, 5.4e-6 at 1e-4)
    assume(np.abs(norms - 1).max() > 10 * testing.KINK_MARGIN)
    critic.zero_grad()
    dout = rng.standard_normal()                         # a random upstream gradient
    penalty.gradient_penalty(critic, x, lam, features)
    analytic = {k: dout * g for k, g in critic.grads.items()}

    def value():
        return np.array(penalty.gradient_penalty(critic, x, lam, features))

    for k, p in critic.params.items():
        err = _error_against_differences(value, p, dout, analytic[k])
        assert err <= testing.GRAD_TOL, (k, err)


def _error_against_differences(value, p, dout, analytic, numeric=None, h=1e-5):
    """gradcheck.remeasured's error of ``analytic``, the gradient of ``value()`` in ``p``
    times ``dout`` (measured again over the tolerance: a penalty is a derivative already, and
    spectral norm's W / sigma(W) curves fast, so the step 1e-5 can miss by 1.3e-7 by its
    truncation alone, the W of a SpectralNorm(Dense(6, 2)) under R1); ``numeric``, the
    differences at the step ``h`` when already taken."""
    def differences(step):
        if numeric is not None and step == h:
            return numeric
        return gradcheck.numeric_vjp(value, p, np.array(dout), step)

    return gradcheck.remeasured(analytic, differences, h, testing.GRAD_TOL)[0]


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


@pytest.mark.parametrize("scale", [1e-6, 1e-12, 1e-14])
def test_a_nearly_flat_float32_critic_gets_the_float64_penalty_gradient(scale):
    """A critic whose input gradient is about 1e-24 (weights scaled by 1e-12): squared in
    float32 it underflowed to 0, and the penalty's gradient, divided by that norm, came out
    5 million times too large. Its weights' gradients now equal float64's to float32's
    precision; and a critic whose weights are scaled by 1e-6 (nothing underflows) gets the
    same bits as the plain norm sqrt(sum g^2) gives."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8))
    w1, w2 = rng.standard_normal((8, 6)), rng.standard_normal((6, 1))

    def weight_gradients(dtype):
        critic = layers.Sequential(layers.Dense(8, 6, dtype=dtype), layers.LeakyReLU(0.2),
                                   layers.Dense(6, 1, dtype=dtype))
        critic.layers[0].params["W"][...] = w1 * scale
        critic.layers[2].params["W"][...] = w2 * scale
        critic.zero_grad()
        value = penalty.gradient_penalty(critic, x.astype(dtype), 10.0)
        return value, [g.copy() for _, g in critic.parameters()]

    value32, grads32 = weight_gradients("float32")
    value64, grads64 = weight_gradients("float64")
    assert value32 == pytest.approx(value64, rel=1e-6)
    for g32, g64 in zip(grads32, grads64, strict=True):
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-6 * np.abs(g64).max())
    g = (rng.standard_normal((5, 7)) * [[1e-3], [1.0], [1e3], [0.0], [1e-30]])
    norms = penalty._row_norms(g)
    np.testing.assert_array_equal(norms[:4], np.sqrt((g * g).sum(axis=1, keepdims=True))[:4])
    assert norms[4, 0] == pytest.approx(np.sqrt(((g[4] * 1e30) ** 2).sum()) * 1e-30, rel=1e-15)
    for dtype in (np.float32, np.float64):                  # the largest float: finite, not NaN
        big = np.finfo(dtype).max
        assert penalty._row_norms(np.array([[big, 0]], dtype))[0, 0] == big


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
    (lambda r: models.vanilla(r, pack=2)[1], r"layer 0 .*Pack.*Leave it out, or use another loss$"),
    (lambda r: layers.Sequential(layers.Dense(3, 4, rng=r),
                                 layers.Sequential(layers.Sigmoid(), layers.Dense(4, 1, rng=r))),
     r"layer 1 of the discriminator's layers in order \(those of a Sequential inside it "
     r"counted one by one\), Sigmoid\(\)"),          # inside a Sequential inside it
    (lambda r: models.vanilla(r, minibatch="stddev")[1],
     r"MinibatchStdDev.*Leave it out, or use another loss$"),
])
def test_critics_it_cannot_differentiate_twice_are_refused(bad, name):
    rng = np.random.default_rng(0)
    D = bad(rng)
    G = layers.Sequential(layers.Dense(2, 3, rng=rng))
    with pytest.raises(ValueError, match="WGAN-GP differentiates the critic twice.*" + name):
        gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, loss="wgan-gp")


# -- R1 ---------------------------------------------------------------------------------
@st.composite
def r1_critics(draw):
    """A float64 critic of Dense / SpectralNorm(Dense) and LeakyReLU / ReLU layers on flat
    input, with the minibatch standard deviation (of the whole batch or of groups) on its
    input, after any hidden layer, several times or not at all; its real batch, gamma and
    the data's width. Groups of three samples or
    more: in a group of two, (x - mu) / sigma is +-1 up to eps, so the first layers' biases
    move the penalty by about 1e-16 and the differences measure their rounding alone."""
    seed = draw(testing.seeds())
    rng = np.random.default_rng(seed)
    group = draw(st.sampled_from([None, 3]))
    n = draw(st.integers(3, 6)) if group is None else group * draw(st.integers(1, 2))
    widths = [draw(st.integers(1, 5))] + draw(st.lists(st.integers(1, 6), min_size=1,
                                                       max_size=2))
    net, width = [], widths[0]
    if draw(st.booleans()):                              # on the input too, now and then
        net.append(layers.MinibatchStdDev(group))
        width += 1
    for b in widths[1:]:
        dense = layers.Dense(width, b, bias=draw(st.booleans()), rng=rng, dtype="float64")
        spectral = b > 1 and draw(st.booleans())
        net += [layers.SpectralNorm(dense, rng=rng) if spectral else dense,
                draw(st.sampled_from([layers.ReLU(), layers.LeakyReLU(0.2)]))]
        width = b
        if draw(st.booleans()):                          # after any hidden layer, maybe twice
            net.append(layers.MinibatchStdDev(group))
            width += 1
    net.append(layers.Dense(width, 1, bias=draw(st.booleans()), rng=rng, dtype="float64"))
    critic = layers.Sequential(*net).eval()            # eval: SpectralNorm's u held fixed
    x = rng.standard_normal((n, widths[0]))
    features = draw(st.none() | st.integers(1, widths[0]))   # a labelled critic's data
    return critic, x, draw(st.sampled_from([0.1, 1.0, 10.0])), rng, features


def _spread_at_minibatch_layer(critic, x):
    """The smallest sigma of a minibatch layer's input (inf without one): the penalty's
    derivatives grow as 1/sigma^2 where two samples nearly coincide."""
    smallest = np.inf
    for layer, layer_input, _ in critic.passes(x):
        if isinstance(layer, layers.MinibatchStdDev):
            G = layer.group_size or len(x)
            xg = layer_input.reshape(G, -1, layer_input.shape[1])
            smallest = min(smallest, float(xg.std(axis=0).min()))
    return smallest


@given(r1_critics())
def test_r1_double_backward(case):
    """Every parameter gradient of R1's P = gamma/2N sum |d(sum f)/dx_n|^2 against the centered
    finite differences of P itself, in float64, with and without the minibatch standard
    deviation (whose backward pass moves with the input)."""
    critic, x, gamma, rng, features = case
    assume(testing.min_kink_distance(critic, x) > testing.KINK_MARGIN)
    assume(_spread_at_minibatch_layer(critic, x) > 0.05)
    critic.zero_grad()
    dout = rng.standard_normal()                         # a random upstream gradient
    value0 = penalty.r1_penalty(critic, x, gamma, features)
    analytic = {k: dout * g for k, g in critic.grads.items()}

    def value():
        return np.array(penalty.r1_penalty(critic, x, gamma, features))

    # A bias below a minibatch layer whose units keep their side for every sample shifts
    # them all alike, leaving x - mu and sigma, and so P, unchanged: its gradient is 0, and
    # the differences then measure P's rounding alone, about 1e-16 |P| / h (biases only)
    rounding = 1e-10 * max(1.0, abs(value0 * dout))
    for k, p in critic.params.items():
        numeric = gradcheck.numeric_vjp(value, p, np.array(dout))
        near_zero = k.endswith(".b") and np.abs(analytic[k] - numeric).max() <= rounding
        err = _error_against_differences(value, p, dout, analytic[k], numeric)
        assert err <= testing.GRAD_TOL or near_zero, (k, err)


def test_r1_is_half_gamma_times_the_mean_squared_input_gradient():
    rng = np.random.default_rng(4)
    critic = layers.Sequential(layers.Dense(5, 6, rng=rng, dtype="float64"), layers.LeakyReLU(0.2),
                               layers.MinibatchStdDev(), layers.Dense(7, 1, rng=rng, dtype="float64"))
    x = rng.standard_normal((8, 5))
    critic.forward(x)
    g = critic.backward(np.ones((8, 1)))[:, :3]          # the gradient of the batch's sum
    assert penalty.r1_penalty(critic, x, 0.3, features=3) == pytest.approx(
        0.15 * (g ** 2).sum() / 8, rel=1e-13)


def test_r1_matches_pytorch_through_the_minibatch_stddev():
    torch = pytest.importorskip("torch", reason="PyTorch is the independent reference here")
    rng = np.random.default_rng(5)
    critic = layers.Sequential(layers.Dense(4, 6, rng=rng, dtype="float64"), layers.LeakyReLU(0.2),
                               layers.MinibatchStdDev(), layers.Dense(7, 1, rng=rng, dtype="float64"))
    x = rng.standard_normal((6, 4))
    critic.zero_grad()
    value = penalty.r1_penalty(critic, x, 0.5)
    W0, b0, W1, b1 = (torch.tensor(critic[i].params[k], requires_grad=True)
                      for i, k in ((0, "W"), (0, "b"), (3, "W"), (3, "b")))
    xt = torch.tensor(x, requires_grad=True)
    h = torch.nn.functional.leaky_relu(xt @ W0 + b0, 0.2)
    sigma = torch.sqrt(((h - h.mean(dim=0)) ** 2).mean(dim=0) + 1e-8)
    h = torch.cat([h, sigma.mean().expand(6, 1)], dim=1)
    out = h @ W1 + b1
    (g,) = torch.autograd.grad(out.sum(), xt, create_graph=True)
    p = 0.25 * (g ** 2).sum() / 6
    p.backward()
    assert value == pytest.approx(p.item(), rel=1e-12)
    for (i, k), t in zip(((0, "W"), (0, "b"), (3, "W"), (3, "b")), (W0, b0, W1, b1), strict=True):
        expected = np.zeros_like(critic[i].grads[k]) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(critic[i].grads[k], expected, rtol=1e-9, atol=1e-14)


def test_r1_takes_the_minibatch_stddev_and_refuses_what_it_cannot_differentiate():
    rng = np.random.default_rng(0)
    _, D = models.mlp(rng, minibatch="stddev")
    penalty.check_critic(D, r1=True)                     # the default's D
    with pytest.raises(ValueError, match="WGAN-GP.*MinibatchStdDev"):
        penalty.check_critic(D)
    _, D_conv = models.dcgan(rng)
    with pytest.raises(penalty.CriticError, match=r"R1 .*layer 0 .*Conv2d.*r1=0$") as info:
        penalty.check_critic(D_conv, r1=True)
    # the library's advice is in its own terms; the command line gives its own (trainer)
    assert "--" not in str(info.value) and info.value.reason == "layer"


def test_lazy_r1_joins_every_fourth_d_step(monkeypatch):
    """With ``r1_every=4``, the penalty (times 4) is taken on the D steps whose optimizer had
    taken 0, 4, 8, ... steps; every step reports the last value, per step of gamma."""
    rng = np.random.default_rng(0)
    G, D = models.mlp(rng, minibatch="stddev")
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), 100, loss="hinge", rng=rng,
                    check_data=False, r1=0.2, r1_every=4)
    calls = []

    def r1_penalty(critic, x, gamma, features=None):
        calls.append((model.d_opt.t, gamma, features))
        return 8.0
    monkeypatch.setattr(penalty, "r1_penalty", r1_penalty)
    x = rng.uniform(-1, 1, (16, 784)).astype(np.float32)
    reported = [model.d_step(x)["r1"] for _ in range(9)]
    assert [t for t, _, _ in calls] == [0, 4, 8]
    assert all(g == pytest.approx(0.8) and f == 784 for _, g, f in calls)
    assert reported == [2.0] * 9                         # 8.0 / 4


def test_r1_changes_d_steps_gradient_by_the_penalty():
    """The D step's update with R1 is the one of D's loss plus the penalty's gradient."""
    grads = []
    for r1 in (0.0, 0.5):
        G, D = models.mlp(np.random.default_rng(2), minibatch="stddev", dtype="float64")
        d_opt = optim.SGD(D, lr=1e-3)
        d_opt.step = lambda: None                        # keep D where it is
        model = gan.GAN(G, D, optim.SGD(G, lr=1e-3), d_opt, 100, loss="hinge",
                        rng=np.random.default_rng(3), check_data=False, r1=r1, r1_every=1)
        model.d_step(np.random.default_rng(4).uniform(-1, 1, (8, 784)))
        grads.append({k: g.copy() for k, g in D.grads.items()})
        if r1:
            D.zero_grad()
            penalty.r1_penalty(D, np.random.default_rng(4).uniform(-1, 1, (8, 784)), 0.5)
            for k, g in D.grads.items():
                np.testing.assert_allclose(grads[1][k] - grads[0][k], g, rtol=1e-9, atol=1e-15)


def test_r1_measures_the_image_values_of_an_image_shaped_batch(monkeypatch):
    """A D that takes (N, C, H, W) images: the penalty's ``features`` are the values of the
    data channels of one sample (C*H*W), not the channel count."""
    rng = np.random.default_rng(6)
    G = layers.Sequential(layers.Dense(4, 16, rng=rng), layers.Reshape((1, 4, 4)))
    D = layers.Sequential(layers.Flatten(), layers.Dense(16, 5, rng=rng), layers.LeakyReLU(0.2),
                          layers.Dense(5, 1, rng=rng))
    seen = []
    monkeypatch.setattr(penalty, "r1_penalty",
                        lambda critic, x, gamma, features=None: seen.append(features) or 0.0)
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), 4, loss="hinge", rng=rng,
                    check_data=False, r1=0.1, pixel_range=(-1, 1))
    model.d_step(rng.uniform(-1, 1, (6, 1, 4, 4)).astype(np.float32))
    assert seen == [16]


def test_the_penalties_refuse_a_critic_they_cannot_differentiate_when_called_directly():
    rng = np.random.default_rng(7)
    critic = layers.Sequential(layers.Dense(3, 4, rng=rng), layers.LeakyReLU(0.2),
                               layers.MinibatchStdDev(), layers.Dense(5, 1, rng=rng))
    x = rng.standard_normal((6, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="WGAN-GP.*MinibatchStdDev"):
        penalty.gradient_penalty(critic, x)
    assert penalty.r1_penalty(critic, x, 0.1) > 0            # R1 takes it
    critic = layers.Sequential(layers.Dense(3, 4, rng=rng), layers.BatchNorm(4),
                               layers.Dense(4, 1, rng=rng))
    with pytest.raises(ValueError, match="R1 .*BatchNorm"):
        penalty.r1_penalty(critic, x, 0.1)


@pytest.mark.parametrize("group", [None, 3])
def test_r1_through_two_minibatch_layers(group):
    """The minibatch standard deviation on the input and after each hidden layer: the upper
    layers' tangent reaches the lower ones through their extra column (the dS term)."""
    for seed in range(20):
        rng = np.random.default_rng(seed)
        critic = layers.Sequential(
            layers.MinibatchStdDev(group), layers.Dense(4, 5, rng=rng, dtype="float64"),
            layers.LeakyReLU(0.2), layers.MinibatchStdDev(group),
            layers.Dense(6, 4, rng=rng, dtype="float64"), layers.LeakyReLU(0.2),
            layers.MinibatchStdDev(group), layers.Dense(5, 1, rng=rng, dtype="float64"))
        x = rng.standard_normal((6, 3))
        if testing.min_kink_distance(critic, x) > testing.KINK_MARGIN and \
                _spread_at_minibatch_layer(critic, x) > 0.05:     # test_r1_double_backward's
            break
    else:
        pytest.fail("no seed of 20 drew a case off the kinks")
    critic.zero_grad()
    penalty.r1_penalty(critic, x, 2.0)
    analytic = {k: g.copy() for k, g in critic.grads.items()}
    for k, p in critic.params.items():
        numeric = gradcheck.numeric_vjp(lambda: np.array(penalty.r1_penalty(critic, x, 2.0)),
                                        p, np.array(1.0))
        assert gradcheck.rel_error(analytic[k], numeric) <= testing.GRAD_TOL, k


@pytest.mark.parametrize("call, words", [
    (lambda D, x: penalty.gradient_penalty(D, x, -10.0), r"^gradient_penalty: weight must be a "
                                                         r"finite number >= 0, got -10.0$"),
    (lambda D, x: penalty.gradient_penalty(D, x, float("nan")), r"^gradient_penalty: weight .*nan"),
    (lambda D, x: penalty.r1_penalty(D, x, -1.0), r"^r1_penalty: gamma must be a finite number"),
    (lambda D, x: penalty.r1_penalty(D, x[:0], 1.0), r"^the penalty is a mean over the samples: "
                                                     r"give an array .*got shape \(0, 3\)$"),
    (lambda D, x: penalty.gradient_penalty(D, x, 10.0, features=0), r"^features .* must be >= 1"),
    (lambda D, x: penalty.gradient_penalty(D, x, 10.0, features=4),
     r"^features is 4, more than the 3 values of each sample$")])
def test_a_penalty_s_weight_batch_and_features_are_checked(call, words):
    """A negative or NaN weight gave a negative or NaN penalty and its gradient, features=0
    measured no gradient (a penalty of the weight itself) and features=4 of 3 values all of
    them, each without a word; an empty batch failed in NumPy's reshape."""
    r = np.random.default_rng(0)
    D = layers.Sequential(layers.Dense(3, 4, rng=r, dtype="float64"), layers.LeakyReLU(0.2),
                          layers.Dense(4, 1, rng=r, dtype="float64"))
    x = r.standard_normal((5, 3))
    with pytest.raises(ValueError, match=words):
        call(D, x)
    assert penalty.gradient_penalty(D, x, 10.0, features=3) == penalty.gradient_penalty(D, x, 10.0)


def test_r1_through_a_sequential_inside_the_critic_is_r1_through_the_flat_chain():
    """A critic written as Sequential(Sequential(Dense, LeakyReLU), ...) was refused, its
    inner Sequential named as a layer whose second derivative is not written."""
    rng = np.random.default_rng(0)
    inner = layers.Sequential(layers.Dense(4, 5, rng=rng, dtype="float64"), layers.LeakyReLU(0.2))
    nested = layers.Sequential(inner, layers.MinibatchStdDev(),
                               layers.Dense(6, 1, rng=rng, dtype="float64"))
    flat = layers.Sequential(*inner.layers, *nested.layers[1:])      # the same layers
    x = rng.standard_normal((6, 4))
    got = []
    for critic in (nested, flat):
        critic.zero_grad()
        got.append((penalty.r1_penalty(critic, x, 1.0),
                    {k: g.copy() for k, g in critic.grads.items()}))
    assert got[0][0] == got[1][0] > 0
    for (k, a), b in zip(got[0][1].items(), got[1][1].values(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=k)
    assert any(g.any() for g in got[0][1].values())
    G = layers.Sequential(layers.Dense(2, 4, rng=rng, dtype="float64"))
    gan.GAN(G, nested, optim.Adam(G), optim.Adam(nested), noise_dim=2, r1=0.1)   # accepted
