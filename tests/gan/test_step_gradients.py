"""testing.assert_step_gradients on Algorithm 1's steps: a whole D or G step's gradient
against the differences of the loss it returns, every draw replayed.

The games' own property test of the two steps (every game, flips, instance noise, spectral
norm held fixed) is tests/gan/test_gan_losses.py's; here: the public check passes right
steps with state that moves as it trains, fails wrong ones and says why, and leaves the
model as the one checked step left it."""

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan import gan
from minigan.check import gradcheck, testing
from minigan.functional import losses
from minigan.gan import games, loop
from minigan.nn import layers, optim

ROOT = Path(__file__).resolve().parents[2]


def smooth_gan(seed, loss="gan", batch_norm=False, pixel_norm=False, dtype="float64",
               model=gan.GAN, **kw):
    """Tanh players of a few units, so that no kink sits near the differences; batch norm
    (running statistics that each forward pass moves) and pixel norm where asked; ``model``
    the class of the GAN (a subclass with a step of its own)."""
    r = np.random.default_rng(seed)
    norm = [layers.BatchNorm(6, dtype=dtype)] if batch_norm else []
    G = layers.Sequential(layers.Dense(2, 6, rng=r, dtype=dtype), *norm,
                          *([layers.PixelNorm()] if pixel_norm else []), layers.Tanh(),
                          layers.Dense(6, 3, rng=r, dtype=dtype))
    norm = [layers.BatchNorm(6, dtype=dtype)] if batch_norm else []
    D = layers.Sequential(layers.Dense(3, 6, rng=r, dtype=dtype), *norm, layers.Tanh(),
                          layers.Dense(6, 1, rng=r, dtype=dtype))
    return model(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r, loss=loss, **kw)


def d_step(model, x):
    return lambda: model.d_step(x, update=False)["d_loss"]


def g_step(model, m):
    return lambda: model.g_step(m, update=False)["g_loss"]


@given(seed=testing.seeds(), loss=st.sampled_from(["gan", "lsgan", "hinge"]),
       m=st.integers(4, 8), batch_norm=st.booleans(), pixel_norm=st.booleans(),
       smoothing=st.sampled_from([0.0, 0.1]), sigma=st.sampled_from([0.0, 0.3]))
def test_both_steps_pass_as_they_train(seed, loss, m, batch_norm, pixel_norm, smoothing, sigma):
    """Batch norm in training mode in both players (its running statistics move with every
    forward pass), label smoothing and instance noise (fresh draws each step): the check
    replays them and passes. Batches of 4 or more: batch norm over 2 samples gives each
    feature +-1 whatever G's first layer does, and a gradient of 3e-5 against a loss of
    order 1 is at the differences' rounding."""
    model = smooth_gan(seed, loss, batch_norm, pixel_norm,
                       label_smoothing=0.0 if loss == "hinge" else smoothing, instance_noise=sigma)
    x = np.random.default_rng(seed + 1).standard_normal((m, 3))
    if loss == "hinge":                           # the hinge's margin is a kink: off it
        state = model.rng.bit_generator.state
        outs = [model.D.forward(model.noisy(x))]
        outs.append(model.D.forward(model.noisy(model.G.forward(model.sample_noise(m)))))
        model.rng.bit_generator.state = state
        assume(np.abs(1 - np.abs(np.concatenate(outs))).min() > testing.KINK_MARGIN)
    errors = testing.assert_step_gradients(d_step(model, x), model.D, (model.G, model.rng))
    assert set(errors) == {"parameters"}
    if loss == "hinge":
        state = model.rng.bit_generator.state
        out = model.D.forward(model.G.forward(model.sample_noise(m)))
        model.rng.bit_generator.state = state
        assume(np.abs(1 - np.abs(out)).min() > testing.KINK_MARGIN)
    testing.assert_step_gradients(g_step(model, m), model.G, (model.D, model.rng))


class FlippedFake(games.CrossEntropy):
    """The cross-entropy game with the fake term's gradient of the wrong sign."""

    name = "flipped-fake"

    def d_loss(self, logits, target, sign):
        loss, dout = super().d_loss(logits, target, sign)
        return loss, (-dout if sign < 0 else dout)


def test_a_wrong_step_fails_and_says_how_far():
    model = smooth_gan(0, loss=FlippedFake())
    x = np.random.default_rng(1).standard_normal((4, 3))
    with pytest.raises(AssertionError, match=r"the step's gradient of the Sequential of 4 "
                                             r"parameter arrays: the gradient of 'parameters' "
                                             r"is off, relative error"):
        testing.assert_step_gradients(d_step(model, x), model.D, (model.G, model.rng))
    testing.assert_step_gradients(g_step(model, 4), model.G, (model.D, model.rng))   # its G is right


class NoZeroGrad(gan.GAN):
    """A D step that adds its gradient to what D's grads held: right once, wrong in training,
    where each step would add the last one's too."""

    def d_step(self, x_real, update=True):
        zero_grad, self.D.zero_grad = self.D.zero_grad, lambda: None
        try:
            return super().d_step(x_real, update)
        finally:
            self.D.zero_grad = zero_grad


def test_a_step_that_does_not_zero_the_gradient_is_refused_and_told_why():
    model = smooth_gan(0, model=NoZeroGrad)
    x = np.random.default_rng(1).standard_normal((4, 3))
    with pytest.raises(ValueError, match=r"adds to the gradient already there.*zero_grad\(\)"):
        testing.assert_step_gradients(d_step(model, x), model.D, (model.G, model.rng))
    testing.assert_step_gradients(g_step(model, 4), model.G, (model.D, model.rng))  # G's zeroes


def test_float32_players_are_refused_in_one_line_that_says_how_to_build_them():
    model = smooth_gan(0, dtype="float32")
    x = np.random.default_rng(1).standard_normal((4, 3)).astype("float32")
    with pytest.raises(ValueError) as caught:
        testing.assert_step_gradients(d_step(model, x), model.D, (model.G, model.rng))
    message = str(caught.value)
    assert "\n" not in message
    assert re.search(r"the step's gradient of the Sequential of 4 parameter arrays: parameter "
                     r"'0\.W' is float32; gradient checks need float64 \(build the players "
                     r"with dtype='float64'.*set_default_dtype", message)


class FactorG(games.CrossEntropy):
    """The cross-entropy game whose G loss has its gradient times ``factor``."""

    name = "factor-g"

    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def g_loss(self, logits):
        loss, dout = super().g_loss(logits)
        return loss, self.factor * dout


@pytest.mark.parametrize(("factor", "said"), [(-1.0, r"times -1 in every entry: right in "
                                                      r"size, of the wrong sign"),
                                              (2.0, r"times 2 in every entry: right in "
                                                    r"direction, off by a factor"),
                                              (0.0, r"about 0 in every entry")])
def test_a_gradient_off_by_a_factor_is_said_to_be(factor, said):
    model = smooth_gan(0, loss=FactorG(factor))
    x = np.random.default_rng(1).standard_normal((4, 3))
    model.d_step(x, update=False)
    with pytest.raises(AssertionError, match=said):
        testing.assert_step_gradients(g_step(model, 4), model.G, (model.D, model.rng))


@pytest.mark.parametrize("step", ["d", "g"])
def test_without_replaying_the_noise_it_fails_naming_the_generator(step):
    """The step draws fresh noise: differences that do not replay the model's generator
    compare different batches (what replayed= is for). The check says that the loss moved
    between two runs from the same state and names model.rng, instead of calling a right
    gradient off."""
    model = smooth_gan(0)
    x = np.random.default_rng(1).standard_normal((4, 3))
    run, net, other = ((d_step(model, x), model.D, model.G) if step == "d"
                       else (g_step(model, 4), model.G, model.D))
    with pytest.raises(ValueError, match=r"run again from the same state, returned another "
                       r"loss .* Name it in replayed \(a GAN's noise: model.rng"):
        testing.assert_step_gradients(run, net, (other,))
    testing.assert_step_gradients(run, net, (other, model.rng))


def test_a_loss_near_zero_that_moves_by_its_rounding_is_not_refused():
    """The second run's loss is judged by the checks' relative error, with its floor: a loss
    of 0 that comes back as 1e-21 (the rounding of a sum in another order) is the same loss,
    not a draw the replay missed (a purely relative test refused it); a loss that moves by
    1e-6 still is."""
    net = layers.Dense(3, 2, dtype="float64", rng=np.random.default_rng(0))
    start = {k: v.copy() for k, v in net.params.items()}
    def stepper(wobble):
        runs = []

        def step():
            net.zero_grad()
            runs.append(None)
            for k in net.grads:
                net.grads[k][...] = 1.0                  # the gradient of the sum below
            return sum(float((net.params[k] - start[k]).sum()) for k in net.params) \
                + wobble * (len(runs) % 2)
        return step

    for wobble, refused in ((1e-21, False), (1e-6, True)):
        step = stepper(wobble)
        if refused:
            with pytest.raises(ValueError, match="returned another loss"):
                testing.assert_step_gradients(step, net)
        else:
            assert max(testing.assert_step_gradients(step, net).values()) < testing.GRAD_TOL


def test_a_failed_step_names_the_parameter_array_it_misses_most():
    """One vector is judged, but the message names each array's miss, the worst first: a
    wrong gradient in one layer points at that layer."""
    model = smooth_gan(0)
    x = np.random.default_rng(1).standard_normal((4, 3))
    names = list(model.D.params)

    def step():
        loss = model.d_step(x, update=False)["d_loss"]
        model.D.grads[names[1]] += 0.01                    # one array off, the others right
        return loss

    with pytest.raises(AssertionError, match="is off") as failure:
        testing.assert_step_gradients(step, model.D, (model.G, model.rng))
    shown = re.search(r"by parameter array, worst first \(.*\): (.*)$", str(failure.value))
    misses = dict(item.split("=") for item in shown.group(1).split(", "))
    assert list(misses) == [names[1], *[k for k in misses if k != names[1]]]
    assert sorted(misses) == sorted(names)
    assert all(float(v) < 1e-6 for k, v in misses.items() if k != names[1])


def test_a_gradient_at_a_kink_is_said_to_be_one():
    """A hinge output on its margin: one-sided differences agree with the gradient, the
    centred one averages two slopes; the message says so, not that the step is wrong."""
    model = smooth_gan(0, loss="hinge")
    x = np.random.default_rng(1).standard_normal((4, 3))
    out = model.D.forward(x)
    model.D.params["2.b"][...] += 1.0 - out[0, 0]          # the first real output at 1
    with pytest.raises(AssertionError, match="kink"):
        testing.assert_step_gradients(d_step(model, x), model.D, (model.G, model.rng))


def test_spectral_norm_in_training_mode_is_named_and_passes_in_evaluation_mode():
    model = smooth_gan(1)
    layers.spectral_norm(model.D, np.random.default_rng(3))
    x = np.random.default_rng(2).standard_normal((5, 3))
    with pytest.raises(AssertionError, match=r"SpectralNorm.*training mode.*\.eval\(\)"):
        testing.assert_step_gradients(d_step(model, x), model.D, (model.G, model.rng))
    model.D.eval()
    testing.assert_step_gradients(d_step(model, x), model.D, (model.G, model.rng))


def assert_left_as_one_step(checked, once, x, before):
    """``checked``, after a step check of its D step on ``x``, holds D's weights ``before``
    and the gradient, buffers and generator state that one D step of ``once`` (a twin of
    ``checked`` as it was) leaves."""
    d_step(once, x)()
    for k in before:
        np.testing.assert_array_equal(checked.D.params[k], before[k])
        np.testing.assert_array_equal(checked.D.grads[k], once.D.grads[k])
    for net in ("D", "G"):
        for k, b in getattr(once, net).buffers.items():
            np.testing.assert_array_equal(getattr(checked, net).buffers[k], b)
    assert checked.rng.bit_generator.state == once.rng.bit_generator.state


def test_it_leaves_the_model_as_the_checked_step_did():
    """Parameters, buffers, gradients and the generator: as one step of update=False left
    them; the weights where they were."""
    checked, once = smooth_gan(3, batch_norm=True), smooth_gan(3, batch_norm=True)
    x = np.random.default_rng(4).standard_normal((5, 3))
    before = {k: p.copy() for k, p in checked.D.params.items()}
    testing.assert_step_gradients(d_step(checked, x), checked.D, (checked.G, checked.rng))
    assert_left_as_one_step(checked, once, x, before)


def test_update_false_keeps_the_weights_and_the_default_moves_them():
    model = smooth_gan(5)
    x = np.random.default_rng(6).standard_normal((4, 3))
    weights = {k: p.copy() for k, p in {**model.D.params, **model.G.params}.items()}
    model.d_step(x, update=False)
    model.g_step(4, update=False)
    assert all(np.array_equal(p, weights[k])
               for k, p in {**model.D.params, **model.G.params}.items())
    assert model.d_opt.t == model.g_opt.t == 0
    model.d_step(x)
    model.g_step(4)
    assert not np.array_equal(model.D.params["0.W"], weights["0.W"])
    assert model.d_opt.t == model.g_opt.t == 1


def test_a_step_that_moves_the_weights_is_refused():
    """A step with its optimizer's update would pass (each run starts from the same weights)
    while every difference took an optimizer step: Adam's count and moments moved on."""
    model = smooth_gan(7)
    x = np.random.default_rng(8).standard_normal((4, 3))
    with pytest.raises(ValueError, match="moved the parameters.*update=False"):
        testing.assert_step_gradients(lambda: model.d_step(x)["d_loss"], model.D,
                                      (model.G, model.rng))
    assert model.d_opt.t == 1                     # the one checked step's, no more


class ScaledG(games.CrossEntropy):
    """The cross-entropy game with G's gradient 1.5 times too large."""

    name = "scaled-g"

    def g_loss(self, outputs):
        loss, doutputs = super().g_loss(outputs)
        return loss, 1.5 * doutputs


def test_a_spectral_norm_in_the_frozen_d_of_a_g_step_is_not_blamed():
    """The G step runs D frozen (its u left alone) and D's weights are not the ones the
    differences move: a wrong G step with a spectral norm in D is just off."""
    model = smooth_gan(1, loss=ScaledG())
    layers.spectral_norm(model.D, np.random.default_rng(3))
    with pytest.raises(AssertionError, match="is off") as failure:
        testing.assert_step_gradients(g_step(model, 5), model.G, (model.D, model.rng))
    assert "SpectralNorm" not in str(failure.value)


@pytest.mark.parametrize("t", [0, 1])
def test_an_r1_step_is_checked_with_the_penalty_it_adds(t):
    """d_loss leaves R1 out; a D step that takes it (d_opt.t a multiple of r1_every) adds its
    gradient r1_every times over: the loss the docs give passes on both kinds of step, and
    d_loss alone fails where R1 is taken."""
    r = np.random.default_rng(9)
    G = layers.Sequential(layers.Dense(2, 6, rng=r, dtype="float64"), layers.Tanh(),
                          layers.Dense(6, 3, rng=r, dtype="float64"))
    D = layers.Sequential(layers.Dense(3, 6, rng=r, dtype="float64"), layers.LeakyReLU(0.2),
                          layers.Dense(6, 1, rng=r, dtype="float64"))
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r, r1=2.0, r1_every=2)
    model.d_opt.t = t
    x = np.random.default_rng(10).standard_normal((5, 3))

    def step():
        stats = model.d_step(x, update=False)
        took = model.d_opt.t % model.r1_every == 0
        return stats["d_loss"] + (model.r1_every * stats["r1"] if took else 0.0)

    testing.assert_step_gradients(step, model.D, (model.G, model.rng))
    if t == 0:
        with pytest.raises(AssertionError, match="is off"):
            testing.assert_step_gradients(d_step(model, x), model.D, (model.G, model.rng))
    else:
        testing.assert_step_gradients(d_step(model, x), model.D, (model.G, model.rng))


def test_a_g_step_on_the_kept_fake_batch_is_refused_not_called_off():
    """With reuse_fake the checked G step learns from the D step's kept batch, drawing no
    noise, and the differences' runs from fresh noise: not the same step, which the check
    says (the gradient is right) instead of calling it off; the model as the step left it."""
    model = smooth_gan(11, reuse_fake=True)
    x = np.random.default_rng(12).standard_normal((4, 3))
    model.d_step(x, update=False)
    state = model.rng.bit_generator.state
    with pytest.raises(ValueError, match="drew other random numbers.*reuse_fake"):
        testing.assert_step_gradients(g_step(model, 4), model.G, (model.D, model.rng))
    assert model.rng.bit_generator.state == state and model._kept_fake is None
    testing.assert_step_gradients(g_step(model, 4), model.G, (model.D, model.rng))


def test_the_d_and_g_step_on_the_kept_batch_pass_as_one_step():
    """The message's advice: the pair of steps as one, G's loss reaching G's weights
    through the D step's batch, passes; and a G step whose gradient is wrong fails so."""
    model = smooth_gan(11, reuse_fake=True)
    x = np.random.default_rng(12).standard_normal((4, 3))

    def pair():
        model.d_step(x, update=False)
        return model.g_step(4, update=False)["g_loss"]

    testing.assert_step_gradients(pair, model.G, (model.D, model.rng))
    backward = model.G.backward
    model.G.backward = lambda dout, input_grad=True: backward(1.01 * dout, input_grad)
    with pytest.raises(AssertionError, match="is off"):
        testing.assert_step_gradients(pair, model.G, (model.D, model.rng))


def test_a_dropout_with_a_generator_of_an_old_kind_is_replayed():
    """A generator whose state holds an array (MT19937): put back and compared as such."""
    model = smooth_gan(13)
    model.D.layers.insert(2, layers.Dropout(0.3, rng=np.random.Generator(np.random.MT19937(5))))
    x = np.random.default_rng(14).standard_normal((6, 3))
    testing.assert_step_gradients(d_step(model, x), model.D, (model.G, model.rng))


class UnfrozenG(gan.GAN):
    """A G step of its own that runs D unfrozen: D's grads take its term too (harmless in
    training, where the D step zeroes them first)."""

    def g_step(self, m, dtype=None, update=True):
        self.G.zero_grad()
        outputs = self.D.forward(self.G.forward(self.sample_noise(m, dtype)))
        loss, doutputs = self.game.g_loss(outputs)
        self.G.backward(self.D.backward(doutputs), input_grad=False)
        if update:
            self.g_opt.step()
        return {"g_loss": loss}


def test_the_other_networks_grads_are_the_checked_steps():
    """A step that adds to the replayed network's grads: one step's worth of them after the
    check, not one per run of the differences."""
    checked, once = (smooth_gan(15, model=UnfrozenG) for _ in range(2))
    testing.assert_step_gradients(g_step(checked, 5), checked.G, (checked.D, checked.rng))
    g_step(once, 5)()
    for k, g in once.D.grads.items():
        np.testing.assert_array_equal(checked.D.grads[k], g)


def test_a_net_with_a_frozen_layer_is_refused():
    """A frozen layer's gradient stays 0 while the loss moves with its weights: refused by
    name, as check_layer refuses one, not called off."""
    model = smooth_gan(16)
    model.D.layers[0].freeze()
    x = np.random.default_rng(17).standard_normal((4, 3))
    with pytest.raises(ValueError, match=r"Dense\(3, 6\).* frozen"):
        testing.assert_step_gradients(d_step(model, x), model.D, (model.G, model.rng))


def test_a_failed_check_leaves_the_model_as_the_checked_step_did():
    """The failure's measures (extrapolation, larger and smaller steps, one-sided
    differences, the rounding) run the step again: each puts the model back after it."""
    checked = smooth_gan(3, loss=FlippedFake(), batch_norm=True)
    once = smooth_gan(3, loss=FlippedFake(), batch_norm=True)
    x = np.random.default_rng(4).standard_normal((5, 3))
    before = {k: p.copy() for k, p in checked.D.params.items()}
    with pytest.raises(AssertionError, match="is off"):
        testing.assert_step_gradients(d_step(checked, x), checked.D, (checked.G, checked.rng))
    assert_left_as_one_step(checked, once, x, before)


# -- the site's example: a step of your own ----------------------------------------------------
def _site_example():
    text = (ROOT / "docs" / "extending.md").read_text()
    section = text.split("## A game of your own", 1)[1].split("\n## ", 1)[0]
    blocks = [b for b in re.findall(r"```python\n(.*?)```", section, re.S)
              if "class RelativisticAverageGAN" in b]
    assert len(blocks) == 1, "one relativistic example in 'A game of your own'"
    return blocks[0]


def test_the_sites_relativistic_step_passes_and_its_cross_terms_are_needed(run_docs_code):
    namespace = run_docs_code(_site_example(), "docs/extending.md, the relativistic example",
                              {"__name__": "site_example"})                # its checks pass
    model, x = namespace["model"], namespace["x"]
    right = namespace["relativistic_loss"]

    def without_cross_terms(a, b):
        loss, _, _ = right(a, b)
        return (loss, losses.sigmoid_cross_entropy(a - b.mean(), 1.0)[1],
                losses.sigmoid_cross_entropy(b - a.mean(), 0.0)[1])

    namespace["relativistic_loss"] = without_cross_terms     # the steps look it up here
    with pytest.raises(AssertionError, match="is off"):
        testing.assert_step_gradients(lambda: model.d_step(x, update=False)["d_loss"],
                                      model.D, replayed=(model.G, model.rng))
    with pytest.raises(AssertionError, match="is off"):
        testing.assert_step_gradients(lambda: model.g_step(16, update=False)["g_loss"],
                                      model.G, replayed=(model.D, model.rng))
    namespace["relativistic_loss"] = right
    before = model.G.params["0.W"].copy()
    stats = model.train_iteration(lambda: np.random.default_rng(1).standard_normal((16, 2)))
    assert np.isfinite(stats["d_loss"]) and np.isfinite(stats["g_loss"])
    assert not np.array_equal(model.G.params["0.W"], before)
    rows = []                                      # the loop reads every number of STATS
    loop.train(model, lambda: np.random.default_rng(2).standard_normal((16, 2)), 2,
               on_iteration=lambda it, stats: rows.append(stats))
    assert len(rows) == 2 and set(loop.STATS) <= set(rows[-1])


def test_the_sites_step_needs_the_replay_it_describes_with_dropout_in_d(run_docs_code):
    """The real pass run again draws a new dropout mask: the site's step fails the check,
    and passes with D's state put back before the second pass, as the text says."""
    namespace = run_docs_code(_site_example(), "docs/extending.md, the relativistic example",
                              {"__name__": "site_example"})
    relativistic_loss = namespace["relativistic_loss"]

    class Replaying(namespace["RelativisticAverageGAN"]):
        def d_step(self, x_real, update=True):
            self.D.zero_grad()
            fake = self.G.forward(self.sample_noise(len(x_real), x_real.dtype))
            at_real = gradcheck.replay(self.D)
            real_out, fake_out = self.D.forward(x_real), self.D.forward(fake)
            at_end = gradcheck.replay(self.D)
            loss, d_real, d_fake = relativistic_loss(real_out, fake_out)
            self.D.backward(d_fake, input_grad=False)
            at_real()
            self.D.forward(x_real)
            self.D.backward(d_real, input_grad=False)
            at_end()
            self.real_batch = x_real
            return {"d_loss": loss}

    def model_of(cls):
        r = np.random.default_rng(0)
        G = layers.Sequential(layers.Dense(2, 8, rng=r, dtype="float64"), layers.Tanh(),
                              layers.Dense(8, 2, rng=r, dtype="float64"))
        D = layers.Sequential(layers.Dense(2, 8, rng=r, dtype="float64"), layers.Tanh(),
                              layers.Dropout(0.3, rng=np.random.default_rng(3)),
                              layers.BatchNorm1d(8, dtype="float64"),
                              layers.Dense(8, 1, rng=r, dtype="float64"))
        return cls(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r)

    x = np.random.default_rng(4).standard_normal((16, 2))
    plain = model_of(namespace["RelativisticAverageGAN"])
    with pytest.raises(AssertionError, match="is off"):
        testing.assert_step_gradients(d_step(plain, x), plain.D, (plain.G, plain.rng))
    replaying, once = model_of(Replaying), model_of(Replaying)
    testing.assert_step_gradients(d_step(replaying, x), replaying.D,
                                  (replaying.G, replaying.rng))
    d_step(once, x)()
    for k, b in once.D.buffers.items():
        np.testing.assert_array_equal(replaying.D.buffers[k], b)
