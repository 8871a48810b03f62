"""Every layer's gradients as it trains: buffers and random streams moved on by the forward
pass that backward differentiates (and in evaluation mode where the two modes differ).

gradcheck.check_layer replays each numeric evaluation from the state the analytic forward
pass started from, so a backward pass that reads a buffer the forward pass changed after
caching it (SpectralNorm's u, before it was copied into its cache) fails here.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan import functional as F
from minigan.check import gradcheck, testing
from minigan.gan import penalty
from minigan.nn import layers

F64 = "float64"


def _off_kinks(x):
    return testing.away_from_kinks(x, margin=10 * testing.KINK_MARGIN)


def _power_step_conditioned(sn):
    """Spectral norm's power step away from where it bends sharply
    (:func:`minigan.check.testing.power_step_conditioned`): 4% of the drawn weights are
    left out, and the worst of 11,562 others is 2e-8."""
    return testing.power_step_conditioned(sn.layer.params["W"], sn.buffers["u"])


def _spread_off_kink(x, group):
    """Minibatch stddev: each group's spread well above the eps-smoothed kink of |d|."""
    n = x.shape[0]
    g = n if group is None else group
    xg = x.reshape(g, n // g, -1)
    return g == 1 or float(np.sqrt(((xg - xg.mean(0)) ** 2).mean(0)).min()) > 10 * testing.KINK_MARGIN


@st.composite
def cases(draw, kind):
    """``(layer, x, rng)`` of one layer ``kind``, float64, small, inputs off every kink."""
    rng = np.random.default_rng(draw(testing.seeds()))
    n = draw(st.integers(2, 4))
    if kind in ("Dense", "SpectralNorm(Dense)"):
        d_in, d_out = draw(st.integers(1, 5)), draw(st.integers(2, 5))
        layer = layers.Dense(d_in, d_out, bias=draw(st.booleans()), rng=rng, dtype=F64)
        if kind != "Dense":
            layer = layers.SpectralNorm(layer, rng=rng)
            assume(_power_step_conditioned(layer))
        return layer, rng.standard_normal((n, d_in)), rng
    if kind in ("Conv2d", "SpectralNorm(Conv2d)", "ConvTranspose2d"):
        make = testing.conv_transpose2d_configs if kind == "ConvTranspose2d" else \
            testing.conv2d_configs
        cfg = draw(make(max_size=4, max_batch=3, max_channels=3, max_kernel=3))
        cls = layers.ConvTranspose2d if kind == "ConvTranspose2d" else layers.Conv2d
        layer = cls(**cfg.layer_kwargs, rng=rng, dtype=F64)
        if kind.startswith("SpectralNorm"):
            layer = layers.SpectralNorm(layer, rng=rng)
            assume(_power_step_conditioned(layer))
        return layer, cfg.input(rng), rng
    if kind in ("ReLU", "LeakyReLU"):
        layer = layers.ReLU() if kind == "ReLU" else layers.LeakyReLU(draw(st.floats(0.01, 0.9)))
        return layer, _off_kinks(rng.standard_normal((n, 3))), rng
    if kind in ("Tanh", "Sigmoid"):
        return getattr(layers, kind)(), np.clip(2 * rng.standard_normal((n, 3)), -4, 4), rng
    if kind == "Dropout":
        return layers.Dropout(draw(st.sampled_from([0.2, 0.5])), rng=rng), \
            rng.standard_normal((n, 5)), rng
    if kind == "Flatten":
        return layers.Flatten(), rng.standard_normal((n, 2, 2, 3)), rng
    if kind == "Reshape":
        return layers.Reshape((2, 3)), rng.standard_normal((n, 6)), rng
    if kind == "BatchNorm":
        cfg = draw(testing.batchnorm_configs(max_channels=3))
        layer = layers.BatchNorm(**cfg.layer_kwargs, dtype=F64)
        layer.buffers["running_mean"][...] = rng.standard_normal(cfg.num_features)
        layer.buffers["running_var"][...] = 0.5 + rng.random(cfg.num_features)
        return layer, cfg.input(rng), rng
    if kind == "MinibatchDiscrimination":
        features, kernels, dim = draw(st.integers(1, 4)), draw(st.integers(1, 3)), \
            draw(st.integers(1, 3))
        layer = layers.MinibatchDiscrimination(features, kernels, dim, rng=rng, dtype=F64)
        x = rng.standard_normal((n, features))
        M = (x @ layer.params["T"]).reshape(n, kernels, dim)
        assume(np.abs(M[:, None] - M[None, :])[~np.eye(n, dtype=bool)].min()
               > testing.KINK_MARGIN)                  # off the kink of |.|
        return layer, x, rng
    if kind == "MinibatchStdDev":
        group = draw(st.sampled_from([None, 1, 2]))
        shape = (2 * draw(st.integers(1, 2)),) + draw(st.sampled_from([(3,), (2, 2, 2)]))
        x = rng.standard_normal(shape)
        assume(_spread_off_kink(x, group))
        return layers.MinibatchStdDev(group), x, rng
    if kind == "PixelNorm":
        shape = (n,) + draw(st.sampled_from([(3,), (2, 2, 2)]))
        x = rng.standard_normal(shape)
        assume(float(np.sqrt((x * x).mean(axis=1)).min()) > 0.1)    # r bounded
        return layers.PixelNorm(), x, rng
    if kind == "Pack":
        m = draw(st.integers(1, 3))
        return layers.Pack(m), rng.standard_normal((m * 2, 3)), rng
    if kind == "ConditionalGenerator":
        classes = draw(st.integers(1, 3))
        net = layers.Sequential(layers.Dense(2 + classes, 4, rng=rng, dtype=F64), layers.Tanh())
        zc = np.concatenate([rng.standard_normal((n, 2)),
                             np.eye(classes)[rng.integers(0, classes, n)]], axis=1)
        return layers.ConditionalGenerator(net, classes), zc, rng
    if kind == "LabelledSequential":   # the label joined at each Dense layer; c any real
        classes, n_in = draw(st.integers(1, 3)), draw(st.integers(1, 3))   # numbers (linear)
        net = layers.LabelledSequential(
            layers.Dense(n_in + classes, 4, rng=rng, dtype=F64), layers.Tanh(),
            layers.PixelNorm(), layers.Dense(4 + classes, 3, rng=rng, dtype=F64), layers.Tanh(),
            layers.Dense(3 + classes, 2, bias=False, rng=rng, dtype=F64), classes=classes)
        return net, rng.standard_normal((n, n_in + classes)), rng
    if kind == "SelfConditionedGenerator":     # z[:, 0] off the cuts, where the label jumps
        classes = draw(st.integers(1, 4))
        net = layers.Sequential(layers.Dense(2 + classes, 4, rng=rng, dtype=F64), layers.Tanh())
        G = layers.SelfConditionedGenerator(net, classes, dtype=F64)
        z = rng.standard_normal((n, 2))
        assume(classes == 1 or np.abs(z[:, :1] - G.cuts[None, :]).min() > 10 * testing.KINK_MARGIN)
        return G, z, rng
    if kind == "Sequential":        # a small D: spectral norm, batch norm, dropout, a minibatch layer
        # (no bias before the batch norm: in training its gradient is exactly 0, and both
        # sides of the check would compare rounding noise)
        net = layers.Sequential(
            layers.SpectralNorm(layers.Dense(3, 4, bias=False, rng=rng, dtype=F64), rng=rng),
            layers.BatchNorm(4, dtype=F64), layers.Tanh(), layers.Dropout(0.3, rng=rng),
            layers.MinibatchStdDev(), layers.Dense(5, 1, rng=rng, dtype=F64))
        return net, rng.standard_normal((4, 3)), rng
    raise AssertionError(kind)


KINDS = ["Dense", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Dropout", "Flatten", "Reshape",
         "Conv2d", "ConvTranspose2d", "BatchNorm", "SpectralNorm(Dense)", "SpectralNorm(Conv2d)",
         "MinibatchDiscrimination", "MinibatchStdDev", "PixelNorm", "Pack",
         "ConditionalGenerator", "SelfConditionedGenerator", "LabelledSequential",
         "Sequential"]
#: The layers whose evaluation mode differs from their training mode.
TWO_MODES = {"Dropout", "BatchNorm", "SpectralNorm(Dense)", "SpectralNorm(Conv2d)", "Sequential"}


def test_every_layer_class_is_checked():
    defined = {name for name in layers.__all__ if isinstance(getattr(layers, name), type)
               and issubclass(getattr(layers, name), layers.Layer) and name != "Layer"}
    covered = {k.split("(")[0] for k in KINDS} | {"BatchNorm1d", "BatchNorm2d"}
    missing = sorted(defined - covered)
    assert not missing, (f"layers of minigan.nn.layers.__all__ without a gradient check as they "
                         f"train: {missing}; add each to KINDS and draw it in cases() "
                         f"(tests/nn/test_train_mode.py), and to TWO_MODES if its evaluation "
                         f"mode differs")


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("kind", KINDS)
def test_layer_gradients_as_it_trains(kind, training):
    if not training and kind not in TWO_MODES:
        pytest.skip(f"{kind} computes the same function in both modes (checked in train)")

    @given(cases(kind))
    def check(case):
        layer, x, rng = case
        layer.train(training)
        state = {k: v.copy() for k, v in layer.buffers.items()}
        # The small D in training stacks spectral norm, batch norm over 4 samples and tanh:
        # its third derivative is large for about 1 seed in 1,000, where the step 1e-5
        # misses by up to 1e-6, an error that falls exactly as h**2 (1e-3 at h = 1e-3, 1e-9
        # at 1e-6): the centred differences' truncation, not the gradient. In evaluation
        # (no batch statistics) a smaller step only adds rounding. (A miss at 1e-5 that
        # falls as that truncation at 1e-6, as spectral norm's W / sigma(W) does now and then
        # for a small W, passes within the check: testing.assert_layer_gradients.)
        curved = kind == "Sequential" and training
        testing.assert_layer_gradients(layer, x, rng=rng, h=1e-6 if curved else 1e-5)
        if not training:                      # evaluation moves no buffer
            for k, v in layer.buffers.items():
                np.testing.assert_array_equal(v, state[k], err_msg=k)

    check()


@pytest.mark.parametrize("make, shape", [
    (lambda rng: layers.Dense(5, 4, rng=rng, dtype=F64), (3, 5)),
    (lambda rng: layers.Dense(64, 32, rng=rng, dtype=F64), (8, 64)),
    (lambda rng: layers.Conv2d(2, 3, 3, stride=2, padding=1, rng=rng, dtype=F64), (2, 2, 5, 5)),
], ids=["Dense(5, 4)", "Dense(64, 32)", "Conv2d(2, 3)"])
def test_spectral_norm_in_training_matches_the_pair_on_a_private_u(make, shape):
    """A D step's SpectralNorm: forward in training (u moves on to u'), then backward. Its
    gradients are those of the functional pair run on a copy of the u the pass started
    from, to 1e-12 (they were those of u', 1e-2 off, while the cache held the buffer)."""
    rng = np.random.default_rng(0)
    inner = make(rng)
    layer = layers.SpectralNorm(inner, rng=rng)
    x, dout = rng.standard_normal(shape), None
    u0 = layer.buffers["u"].copy()
    W, b = inner.params["W"].copy(), inner.params["b"].copy()
    out = layer.forward(x)
    assert not np.array_equal(layer.buffers["u"], u0)             # the iteration went on
    dout = rng.standard_normal(out.shape)
    layer.zero_grad()
    dx = layer.backward(dout)

    W_sn, sn_cache = F.spectral_norm_forward(W, u0.copy())
    if isinstance(inner, layers.Dense):
        ref_out, cache = F.dense_forward(x, W_sn, b)
        ref_dx, dW_sn, db = F.dense_backward(dout, cache)
    else:
        ref_out, cache = F.conv2d_forward(x, W_sn, b, stride=2, padding=1)
        ref_dx, dW_sn, db = F.conv2d_backward(dout, cache)
    ref_dW = F.spectral_norm_backward(dW_sn, sn_cache)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    for got, want in ((dx, ref_dx), (layer.grads["W"], ref_dW), (layer.grads["b"], db)):
        assert gradcheck.rel_error(got, want) < 1e-12


def _spectral_critic(seed, n, bias):
    """A float64 critic of two spectrally normalized Dense layers, ``n`` inputs kept off its
    kinks, and the replay that puts its ``u`` back: what the penalties' training-mode tests
    take."""
    rng = np.random.default_rng(seed)
    critic = layers.Sequential(
        layers.SpectralNorm(layers.Dense(3, 4, bias=bias, rng=rng, dtype=F64), rng=rng),
        layers.LeakyReLU(0.2),
        layers.SpectralNorm(layers.Dense(4, 3, rng=rng, dtype=F64), rng=rng),
        layers.ReLU(), layers.Dense(3, 1, rng=rng, dtype=F64))
    x = rng.standard_normal((n, 3))
    restore = gradcheck.replay(critic)
    assume(testing.min_kink_distance(critic, x) > testing.KINK_MARGIN)
    return critic, x, restore


@given(testing.seeds(), st.integers(1, 4), st.booleans())
def test_gradient_penalty_with_spectral_norm_in_training(seed, n, bias):
    """WGAN-GP with --spectral-norm: the penalty's forward pass moves u on, and its
    parameter gradients are those of the penalty replayed from the u it started from."""
    critic, x, restore = _spectral_critic(seed, n, bias)
    g = penalty.critic_input_gradient(critic, x)[1]
    restore()
    assume(np.sqrt((g * g).sum(axis=1)).min() > 10 * testing.KINK_MARGIN)   # |g| has a kink at 0
    critic.zero_grad()
    penalty.gradient_penalty(critic, x, 10.0)
    analytic = {k: g.copy() for k, g in critic.grads.items()}

    def value():
        restore()
        return np.array(penalty.gradient_penalty(critic, x, 10.0))

    for k, p in critic.params.items():          # measured again over the tolerance: P is a
        err = gradcheck.vjp_error(value, p, np.array(1.0), analytic[k],   # derivative already
                                  testing.GRAD_TOL)
        assert err <= testing.GRAD_TOL, (k, err)


@given(testing.seeds(), st.integers(1, 4), st.booleans())
def test_r1_with_spectral_norm_in_training(seed, n, bias):
    """R1 with --spectral-norm, as a D step runs it (D training, u moving on): its
    parameter gradients are those of the penalty replayed from the u it started from."""
    critic, x, restore = _spectral_critic(seed, n, bias)
    restore()
    critic.zero_grad()
    penalty.r1_penalty(critic, x, 0.5)
    analytic = {k: g.copy() for k, g in critic.grads.items()}
    assume(any(np.abs(g).max() > 0 for g in analytic.values()))   # not a ReLU shut for x

    def value():
        restore()
        return np.array(penalty.r1_penalty(critic, x, 0.5))

    for k, p in critic.params.items():
        err = gradcheck.vjp_error(value, p, np.array(1.0), analytic[k], testing.GRAD_TOL)
        assert err <= testing.GRAD_TOL, (k, err)


def test_check_layer_leaves_the_state_of_one_forward_pass():
    rng = np.random.default_rng(5)
    layer = layers.SpectralNorm(layers.Dense(3, 4, rng=rng, dtype=F64), rng=rng)
    x = rng.standard_normal((2, 3))
    probe = layers.SpectralNorm(layers.Dense(3, 4, dtype=F64))
    probe.load_state_dict(layer.state_dict())
    probe.forward(x)
    gradcheck.check_layer(layer, x)
    np.testing.assert_array_equal(layer.buffers["u"], probe.buffers["u"])
