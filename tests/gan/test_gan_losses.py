"""Least squares, hinge and WGAN-GP: the losses, whole D and G steps, and the game's rules."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan import gan
from minigan.check import testing
from minigan.functional import losses
from minigan.gan import games, penalty
from minigan.nn import layers, optim


@given(shape=st.sampled_from([(1, 1), (4, 1), (7, 1)]), seed=testing.seeds(),
       target=st.sampled_from([0.0, 0.9, 1.0]), sign=st.sampled_from([1, -1]))
def test_loss_gradients(shape, seed, target, sign):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape) * 2
    a = testing.away_from_kinks(a, kinks=(-1.0, 1.0))       # the hinge's kinks at y a = 1
    for fn in (lambda o: losses.least_squares_loss(o, target),
               lambda o: losses.hinge_loss(o, sign),
               lambda o: losses.wasserstein_loss(o, sign)):
        forward, backward = testing.loss_pair(fn)
        testing.assert_pair_gradients(forward, backward, {"outputs": a}, rng=rng)


def test_loss_values():
    a = np.array([[2.0], [-0.5], [0.5]])
    assert losses.least_squares_loss(a, 1.0)[0] == pytest.approx((1 + 2.25 + 0.25) / 6)
    assert losses.hinge_loss(a, 1)[0] == pytest.approx((0 + 1.5 + 0.5) / 3)
    assert losses.hinge_loss(a, -1)[0] == pytest.approx((3 + 0.5 + 1.5) / 3)
    assert losses.wasserstein_loss(a, 1)[0] == pytest.approx(-2.0 / 3)
    assert losses.wasserstein_loss(a, -1)[0] == pytest.approx(2.0 / 3)


def test_hinge_gradient_is_plus_zero_where_the_margin_is_met():
    """Outputs past the margin get a gradient of 0, not -0 (which prints as ``-0.``)."""
    a = np.array([[2.0], [-0.5], [0.5]], np.float32)
    _, grad = losses.hinge_loss(a, 1)
    assert grad.dtype == np.float32
    np.testing.assert_array_equal(grad, np.array([[0.0], [-1 / 3], [-1 / 3]], np.float32))
    assert not np.signbit(grad[0, 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hinge_of_an_infinite_output_past_the_margin_is_zero(dtype):
    """D infinitely sure and right (+inf on a real digit, -inf on a fake) costs nothing: the
    loss was NaN (the margin, -inf, times the indicator 0); infinitely wrong, infinite."""
    for sign in (1, -1):
        loss, grad = losses.hinge_loss(np.array([[sign * np.inf], [0.0]], dtype), sign)
        assert loss == 0.5 and grad.dtype == dtype
        np.testing.assert_array_equal(grad, np.array([[0.0], [-sign / 2]], dtype))
        loss, grad = losses.hinge_loss(np.array([[-sign * np.inf], [0.0]], dtype), sign)
        assert loss == np.inf
        np.testing.assert_array_equal(grad, np.array([[-sign / 2], [-sign / 2]], dtype))


def make_gan(seed, loss, act, **kw):
    r = np.random.default_rng(seed)
    G = layers.Sequential(layers.Dense(2, 5, rng=r, dtype="float64"), layers.Tanh(),
                          layers.Dense(5, 3, rng=r, dtype="float64"))
    D = layers.Sequential(layers.Dense(3, 6, rng=r, dtype="float64"), act,
                          layers.Dense(6, 4, rng=r, dtype="float64"), layers.LeakyReLU(0.2),
                          layers.Dense(4, 1, rng=r, dtype="float64"))
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r, loss=loss, **kw)
    model.d_opt.step = model.g_opt.step = lambda: None
    return model


def record_inputs(model, monkeypatch):
    """Every input D sees in a step (the penalty's x_hat included) and every output."""
    seen, outs = [], []
    forward = model.D.forward

    def spy(x):
        seen.append(x.copy())
        out = forward(x)
        outs.append(out.copy())
        return out

    model.D.forward = spy
    original = penalty.gradient_penalty
    monkeypatch.setattr(penalty, "gradient_penalty",
                        lambda critic, x, w, **kw: seen.append(x.copy()) or original(critic, x, w,
                                                                                    **kw))
    return seen, outs


@given(seed=testing.seeds(), loss=st.sampled_from(games.NAMES), m=st.integers(1, 6),
       sn=st.booleans(), sigma=st.sampled_from([0.0, 0.2]))
def test_d_and_g_step_gradients(step_gradients, seed, loss, m, sn, sigma):
    """The whole D step (real and fake terms, and for WGAN-GP the penalty at fresh x_hat)
    and the whole G step against centered finite differences of the step's loss, with
    every random draw held fixed."""
    with pytest.MonkeyPatch.context() as mp:
        model = make_gan(seed, loss, layers.LeakyReLU(0.3), instance_noise=sigma)
        if sn:
            layers.spectral_norm(model.D, np.random.default_rng(seed)).eval()   # u held fixed
        x = np.random.default_rng(seed + 1).standard_normal((m, 3))
        seen, outs = record_inputs(model, mp)
        errors = step_gradients(model, lambda: model.d_step(x)["d_loss"], model.D)
        kink = min(testing.min_kink_distance(model.D, s) for s in seen)
        hinge = np.abs(1 - np.abs(np.concatenate(outs))).min() if loss == "hinge" else 1.0
        assume(kink > testing.KINK_MARGIN and hinge > testing.KINK_MARGIN)
        assert max(errors.values()) <= testing.GRAD_TOL, errors
        seen.clear()
        errors = step_gradients(model, lambda: model.g_step(m, np.float64)["g_loss"], model.G)
        assume(min(testing.min_kink_distance(model.D, s) for s in seen) > testing.KINK_MARGIN)
        assert max(errors.values()) <= testing.GRAD_TOL, errors


def test_wgan_gp_step_reports_the_penalty_and_its_weight():
    model = make_gan(0, "wgan-gp", layers.ReLU(), gp_weight=10.0)
    x = np.random.default_rng(1).standard_normal((8, 3))
    stats = model.d_step(x)
    assert stats["gradient_penalty"] > 0
    real, fake = stats["d_real"], stats["d_fake"]      # raw critic outputs, not probabilities
    assert stats["d_loss"] == pytest.approx(fake - real + stats["gradient_penalty"])
    zero = make_gan(0, "wgan-gp", layers.ReLU(), gp_weight=0.0)
    assert zero.d_step(x)["gradient_penalty"] == 0.0


def test_default_game_is_unchanged():
    """loss='gan' is the cross-entropy GAN: the same numbers as before the option existed."""
    a = make_gan(3, "gan", layers.Tanh())
    x = np.random.default_rng(4).standard_normal((5, 3))
    stats = a.d_step(x)
    logits = a.D.forward(x)
    assert 0 < stats["d_real"] < 1
    assert stats["d_real"] == pytest.approx(float((1 / (1 + np.exp(-logits))).mean()))


@pytest.mark.parametrize("kw, needle", [
    ({"loss": "lsgan", "g_loss": "minimax"}, "has its own generator loss"),
    ({"loss": "hinge", "label_smoothing": 0.1}, "no labels to smooth or flip"),
    ({"loss": "wgan-gp", "label_flip": 0.1}, "no labels to smooth or flip"),
    ({"loss": "wasserstein"}, "unknown loss"),
    ({"loss": "wgan-gp", "gp_weight": -1.0}, "gp_weight must be"),
])
def test_bad_games_are_refused(kw, needle):
    with pytest.raises(ValueError, match=needle):
        make_gan(0, act=layers.ReLU(), **kw)


class Doubled(games.Hinge):
    """A game of one's own: the hinge game with D's loss twice over."""

    name = "hinge2"

    def d_loss(self, outputs, target, sign):
        loss, dout = losses.hinge_loss(outputs, sign)
        return 2 * loss, 2 * dout


def test_a_game_of_ones_own_is_played_and_checked_like_the_four():
    game = Doubled()
    model = make_gan(0, game, layers.ReLU())
    assert model.game is game and model.loss == "hinge2"
    x = np.random.default_rng(1).standard_normal((6, 3))
    plain = make_gan(0, "hinge", layers.ReLU())
    assert model.d_step(x)["d_loss"] == pytest.approx(2 * plain.d_step(x)["d_loss"])
    with pytest.raises(ValueError, match="'hinge2' has no labels to smooth"):
        make_gan(0, Doubled(), layers.ReLU(), label_smoothing=0.1)
    with pytest.raises(ValueError, match=r"is a class; give the game, an instance of it \(Doubled\(\)\)"):
        make_gan(0, Doubled, layers.ReLU())
    with pytest.raises(ValueError, match="Doubled.*plays its own generator loss"):
        make_gan(0, Doubled(), layers.ReLU(), g_loss="minimax")
    with pytest.raises(ValueError, match="'minimax' with the game CrossEntropy.*'non_saturating'"
                                         r".* plays its own generator loss") as info:
        make_gan(0, games.CrossEntropy(), layers.ReLU(), g_loss="minimax")
    assert "loss 'gan' has its own generator loss" not in str(info.value)   # it has not
    same = games.CrossEntropy("minimax")        # given twice, the same form: taken
    assert make_gan(0, same, layers.ReLU(), g_loss="minimax").game is same
    with pytest.raises(ValueError, match="or give a game of your own, an instance of a subclass"):
        make_gan(0, "ragan", layers.ReLU())
    minimax = make_gan(0, games.CrossEntropy("minimax"), layers.ReLU())
    assert (minimax.loss, minimax.g_loss) == ("gan", "minimax")     # the game's, not the default


class LossAsArray(games.Hinge):
    def g_loss(self, outputs):
        loss, dout = losses.hinge_loss(outputs, 1)
        return np.full((1, 1), loss), dout              # a mean kept as an array


class FlatGradient(games.Hinge):
    def d_loss(self, outputs, target, sign):
        loss, dout = losses.hinge_loss(outputs, sign)
        return loss, dout.ravel()


class SinglePrecisionGradient(games.Hinge):
    def g_loss(self, outputs):
        loss, dout = losses.hinge_loss(outputs, 1)
        return loss, dout.astype(np.float32)            # float64 players: trained rounded


class Swapped(games.Hinge):
    def d_loss(self, outputs, target, sign):
        return losses.hinge_loss(outputs, sign)[::-1]


class NoGeneratorLoss(games.Game):
    name = "half"

    def d_loss(self, outputs, target, sign):
        return losses.hinge_loss(outputs, sign)


@pytest.mark.parametrize("game, error, words", [
    (LossAsArray(), TypeError, r"^LossAsArray.g_loss: its loss must be one number, got an array "
                               r"of shape \(1, 1\) \(return float\(loss\)"),
    (FlatGradient(), ValueError, r"^FlatGradient.d_loss: its gradient is of shape \(6,\), D's "
                                 r"outputs \(6, 1\): return one entry per output"),
    (Swapped(), TypeError, r"^Swapped.d_loss: its loss must be one number, got an array of "
                           r"shape \(6, 1\)"),
    (SinglePrecisionGradient(), ValueError, r"^SinglePrecisionGradient.g_loss: its gradient is "
                                            r"float32, D's outputs float64: compute it in the "
                                            r"outputs' dtype")])
def test_a_game_whose_losses_answer_in_another_form_is_named(game, error, words):
    """A loss returned as a (1, 1) array trained and was reported as that array, and the loop
    failed on it with "only 0-dimensional arrays can be converted to Python scalars"; a flat
    gradient or the pair swapped failed in D's last Dense layer, naming the layer; a float32
    gradient to float64 players trained rounded to float32."""
    model = make_gan(0, game, layers.ReLU())
    x = np.random.default_rng(1).standard_normal((6, 3))
    with pytest.raises(error, match=words):
        model.train_iteration(lambda: x)
    assert isinstance(make_gan(0, "hinge", layers.ReLU()).train_iteration(lambda: x)["g_loss"],
                      float)


def test_a_game_without_one_of_its_losses_is_refused_when_the_gan_is_built():
    """It trained until its first G step, then raised a NotImplementedError with no words."""
    with pytest.raises(TypeError, match=r"^the game NoGeneratorLoss defines no g_loss\(outputs\); "):
        make_gan(0, NoGeneratorLoss(), layers.ReLU())

def test_the_games_module_example_runs():
    import doctest
    result = doctest.testmod(games)
    assert result.failed == 0 and result.attempted > 0     # not a module without examples


@pytest.mark.slow
def test_train_and_toy_take_the_losses(train_args, write_tiny_mnist, tmp_path):
    import json

    from minigan.app import runs
    from minigan.app.cli import main

    config, _ = runs.resolve_config({"loss": "wgan-gp"})
    assert (config["k"], config["lr"], config["betas"], config["gp_weight"]) == \
        (5, 1e-4, [0.5, 0.9], 10.0)
    config, _ = runs.resolve_config({"loss": "wgan-gp", "k": 2, "lr": 1e-3})
    assert (config["k"], config["lr"]) == (2, 1e-3)
    assert runs.resolve_config({})[0]["k"] == 1
    data = write_tiny_mnist(tmp_path / "mnist", n=64)
    for loss in ("lsgan", "hinge", "wgan-gp"):
        out = tmp_path / loss
        assert main(train_args(data, out, "--epochs", "1", "--loss", loss, "--n-critic", "2",
                               "--batch-size", "16")) == 0
        saved = json.loads((out / "config.json").read_text())
        assert saved["loss"] == loss and saved["k"] == 2
    assert main(train_args(data, tmp_path / "dc", "--model", "dcgan", "--loss", "wgan-gp")) == 2
    assert not (tmp_path / "dc").exists()
    out = tmp_path / "toy"
    assert main(["toy", "ring8", "--iterations", "10", "--snapshots", "1", "--out", str(out),
                 "--loss", "wgan-gp", "--gp-weight", "5"]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["options"]["k"] == 5 and report["options"]["gp_weight"] == 5.0
    out = tmp_path / "g1d"                     # the G-loss comparison is the cross-entropy's only
    assert main(["toy", "gaussian1d", "--loss", "hinge", "--iterations", "20", "--snapshots", "1",
                 "--out", str(out)]) == 0
    assert "generator_gradient" not in json.loads((out / "metrics.json").read_text())


def test_each_game_says_its_output_at_one_sample_without_a_mean():
    """The curves' label of the critic's output is a mean over a batch; at one sample it is
    the critic's output there (``point_label``); the other games' labels fit both."""
    for name in ("gan", "lsgan", "hinge", "wgan-gp"):
        game = games.get(name)
        said = game.point_label or game.output_label
        assert "mean" not in said and said.startswith(("D(x)", "critic f(x)"))
    assert games.get("wgan-gp").output_label == "critic f(x), mean"
