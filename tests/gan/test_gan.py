"""Algorithm 1: who updates what, how often, and that a GAN really learns."""

import re
import time

import numpy as np
import pytest

from minigan import backend, gan
from minigan.gan import models
from minigan.nn import layers, optim


def small_gan(k=1, seed=0, **kw):
    r = np.random.default_rng(seed)
    G = layers.Sequential(layers.Dense(2, 8, rng=r), layers.ReLU(), layers.Dense(8, 3, rng=r))
    D = layers.Sequential(layers.Dense(3, 8, rng=r), layers.LeakyReLU(0.2), layers.Dense(8, 1, rng=r))
    kw = {"noise_dim": 2, **kw}
    return gan.GAN(G, D, optim.Adam(G), optim.Adam(D), k=k, rng=r, **kw)


def snapshot(model):
    return {k: v.copy() for k, v in {**model.params, **model.grads}.items()}


def real_batches(m=16, seed=1):
    r = np.random.default_rng(seed)
    return lambda: r.standard_normal((m, 3)).astype(np.float32) + 2


def test_d_step_leaves_generator_untouched():
    g = small_gan()
    before_G, before_D = snapshot(g.G), {k: v.copy() for k, v in g.D.params.items()}
    g.d_step(real_batches()())
    for k, v in snapshot(g.G).items():
        np.testing.assert_array_equal(v, before_G[k], err_msg=k)
    assert any(not np.array_equal(g.D.params[k], before_D[k]) for k in before_D)


def test_g_step_leaves_discriminator_untouched():
    g = small_gan()
    g.d_step(real_batches()())  # give D non-zero grads and optimizer state
    before_D = snapshot(g.D)
    before_G = {k: v.copy() for k, v in g.G.params.items()}
    g.g_step(16)
    for k, v in snapshot(g.D).items():  # parameters AND gradients
        np.testing.assert_array_equal(v, before_D[k], err_msg=k)
    assert all(not np.array_equal(g.G.params[k], before_G[k]) for k in before_G)
    assert not g.D.frozen  # D is unfrozen again after the step


def test_a_layer_of_d_frozen_by_the_user_stays_frozen_through_training():
    g = small_gan()
    g.D[0].freeze()                        # a first layer kept fixed while the rest trains
    W0, W2 = g.D[0].params["W"].copy(), g.D[2].params["W"].copy()
    for _ in range(3):
        g.train_iteration(real_batches())
    assert g.D[0].frozen and not g.D.frozen and not g.D[2].frozen
    np.testing.assert_array_equal(g.D[0].params["W"], W0)
    assert not np.array_equal(g.D[2].params["W"], W2)


def test_freezing_restores_each_layer_as_it_was_also_when_the_block_raises():
    g = small_gan()
    g.D[2].freeze()
    with pytest.raises(KeyError), g.D.freezing():
        assert all(layer.frozen for layer in g.D.walk())
        raise KeyError("the block fails")
    assert [layer.frozen for layer in g.D.walk()] == [False, False, False, True]


@pytest.mark.parametrize("k", [1, 3])
def test_k_discriminator_steps_per_generator_step(k):
    g = small_gan(k=k)
    calls = []
    batches = real_batches()

    def next_real():
        calls.append(1)
        return batches()

    stats = g.train_iteration(next_real)
    assert len(calls) == k  # a fresh real minibatch for every D step
    assert g.d_opt.t == k and g.g_opt.t == 1
    assert set(stats) == {"d_loss", "d_real", "d_fake", "g_loss", "d_gen"}
    assert all(np.isfinite(v) for v in stats.values())


def test_real_and_fake_batches_go_through_d_separately():
    g = small_gan()
    seen = []
    forward = g.D.forward
    g.D.forward = lambda x: seen.append(np.array(x)) or forward(x)
    x = real_batches(m=5)()
    g.d_step(x)
    assert len(seen) == 2
    np.testing.assert_array_equal(seen[0], x)           # the real batch alone
    assert seen[1].shape == x.shape                      # then a fake batch of the same size
    assert not np.array_equal(seen[1], x)


def test_d_step_updates_d_by_the_gradient_it_accumulated():
    """D's update is one step of its optimizer on the gradient its step left in D.grads
    (that this gradient is the sum of both halves of the loss:
    test_d_step_descends_the_discriminator_loss)."""
    g = small_gan()
    g.d_opt = optim.SGD(g.D, lr=1e-3)
    w_before = g.D.params["0.W"].copy()
    g.d_step(real_batches()())
    grad = g.D.grads["0.W"]
    np.testing.assert_allclose(g.D.params["0.W"], w_before - 1e-3 * grad, rtol=1e-5, atol=1e-8)


def test_priors_and_smoothing():
    assert small_gan(prior="uniform").sample_noise(1000).max() <= 1.0
    z = small_gan(prior="uniform").sample_noise(1000)
    assert z.min() >= -1.0 and z.shape == (1000, 2)
    assert abs(float(small_gan().sample_noise(20000).std()) - 1) < 0.02
    # label smoothing's loss and gradient: test_d_step_descends_the_discriminator_loss


def test_bad_arguments():
    with pytest.raises(ValueError, match="k .* must be >= 1"):
        small_gan(k=0)
    with pytest.raises(ValueError, match=r"^k \(discriminator steps per generator step\) must be "
                                         r">= 1, a whole number, got 1.5$"):
        small_gan(k=1.5)                       # int() made it 1 without a word
    with pytest.raises(ValueError, match="^noise_dim must be >= 1, a whole number, got -5$"):
        small_gan(noise_dim=-5)                # NumPy's "negative dimensions" at the first step
    with pytest.raises(ValueError, match=r"^each size of noise_dim \(4, 0\) must be >= 1"):
        small_gan(noise_dim=(4, 0))
    with pytest.raises(ValueError, match=r"^m \(the number of noise vectors\) must be >= 0, a "
                                         r"whole number, got -1$"):
        small_gan().sample(-1)
    with pytest.raises(ValueError, match=r"^m \(the G step's samples\) must be >= 1, a whole "
                                         r"number, got 0$"):
        small_gan().g_step(0)                  # ZeroDivisionError in the loss's mean
    with pytest.raises(ValueError, match="unknown g_loss"):
        small_gan(g_loss="wasserstein")
    with pytest.raises(ValueError, match="label_smoothing"):
        small_gan(label_smoothing=1.0)
    with pytest.raises(ValueError, match="unknown prior"):
        small_gan(prior="cauchy")


def test_optimizers_not_built_on_their_players_are_an_error():
    """Swapped, or one for both: a D step stepped G's weights (with G's stale gradients) and
    D never trained, without a word."""
    g = small_gan()
    G, D, g_opt, d_opt = g.G, g.D, g.g_opt, g.d_opt
    with pytest.raises(ValueError, match=r"^g_optimizer updates arrays that are not the "
                                         r"generator's parameters .*optim.Adam\(generator\)"):
        gan.GAN(G, D, d_opt, g_opt, noise_dim=2)
    with pytest.raises(ValueError, match="^d_optimizer updates arrays that are not the "
                                         "discriminator's parameters"):
        gan.GAN(G, D, g_opt, g_opt, noise_dim=2)


class Wrapped(layers.Layer):
    """A layer of one's own made of another that it names in ``sublayers()`` but whose
    parameters it does not hold: ``parameters()`` lists none of them."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def sublayers(self):
        return (self.inner,)

    def forward(self, x):
        return self.inner.forward(x)

    def backward(self, dout, input_grad=True):
        return self.inner.backward(dout, input_grad)


def test_a_player_holding_parameters_it_does_not_list_is_an_error():
    """Neither optimizer would step the wrapped layer's weights and no checkpoint would save
    them: the players were accepted, and its weights stayed as initialized."""
    g = small_gan()
    D = layers.Sequential(Wrapped(layers.Dense(784, 8)), layers.Dense(8, 1))
    d_opt = optim.Adam(D.layers[1].parameters())        # pairs: the optimizer cannot tell
    with pytest.raises(ValueError, match=r"^discriminator: parameter 'W' of Dense\(784, 8\) "
                                         r"inside it is not among its params: .* never trains"):
        gan.GAN(g.G, D, g.g_opt, d_opt, noise_dim=2)


@pytest.mark.parametrize("value", [(1, 0), (0, 1, 2), 1])
def test_a_pixel_range_that_is_not_low_then_high_is_an_error(value):
    """(1, 0) called every real batch "far outside the generator's range [1, 0]", (0, 1, 2)
    and 1 raised unpacking errors."""
    with pytest.raises(ValueError, match=r"^pixel_range must be \(low, high\), two finite "
                                         rf"numbers with low < high.*, got {re.escape(repr(value))}$"):
        small_gan(pixel_range=value)


def test_same_seed_same_run():
    a, b = small_gan(seed=5), small_gan(seed=5)
    ra, rb = real_batches(seed=2), real_batches(seed=2)
    for _ in range(3):
        sa, sb = a.train_iteration(ra), b.train_iteration(rb)
    assert sa == sb
    for k in a.G.params:
        np.testing.assert_array_equal(a.G.params[k], b.G.params[k])


@pytest.mark.slow
def test_gan_learns_a_1d_gaussian():
    """The 1-D demo: data N(4, 1.25); G and D small MLPs; Algorithm 1 with k = 3.

    The learning rate decays linearly to ~0, so the game settles instead of
    orbiting the equilibrium. After 4,000 iterations (about 5 s on 2 cores) the
    generator's samples have the data's mean and standard deviation within 10%.
    """
    mu, sigma, m, hidden, iters, lr = 4.0, 1.25, 256, 32, 4000, 1e-3
    r = np.random.default_rng(0)
    G = layers.Sequential(layers.Dense(1, hidden, rng=r), layers.ReLU(), layers.Dense(hidden, 1, rng=r))
    D = layers.Sequential(
        layers.Dense(1, hidden, rng=r), layers.LeakyReLU(0.2),
        layers.Dense(hidden, hidden, rng=r), layers.LeakyReLU(0.2),
        layers.Dense(hidden, 1, rng=r),
    )
    g_opt = optim.Adam(G, lr=lr, betas=(0.5, 0.999))
    d_opt = optim.Adam(D, lr=lr, betas=(0.5, 0.999))
    model = gan.GAN(G, D, g_opt, d_opt, noise_dim=1, k=3, rng=r)

    def data():
        return backend.asarray(r.normal(mu, sigma, (m, 1)).astype(np.float32))

    start = backend.to_host(model.sample(20000))
    assert abs(start.mean() - mu) > 0.5 * mu  # it starts far away
    t0 = time.perf_counter()
    for i in range(iters):
        g_opt.lr = d_opt.lr = lr * (1 - i / iters) + 1e-5
        stats = model.train_iteration(data)
    elapsed = time.perf_counter() - t0
    x = backend.to_host(model.sample(20000))
    print(f"1-D GAN: mean {x.mean():.3f} std {x.std():.3f} in {elapsed:.1f} s; last {stats}")
    assert abs(x.mean() - mu) <= 0.1 * mu
    assert abs(x.std() - sigma) <= 0.1 * sigma
    assert 0.3 < stats["d_real"] < 0.7 and 0.3 < stats["d_fake"] < 0.7  # near the equilibrium 1/2


# ------------------------------------------------------------------ the noise prior and the D loss


@pytest.mark.parametrize("prior", gan.PRIORS)
def test_one_prior_sampler(prior):
    """GAN.sample_noise is gan.sample_noise with the GAN's prior and generator."""
    model = small_gan(prior=prior)
    model.rng = np.random.default_rng(7)
    z = model.sample_noise(50)
    expected = gan.sample_noise(50, 2, prior, np.random.default_rng(7))
    assert z.shape == (50, 2) and z.dtype == expected.dtype
    np.testing.assert_array_equal(z, expected)
    assert not np.array_equal(model.sample_noise(50), expected)  # the stream moves on
    z = gan.sample_noise(10000, (2, 3), prior, np.random.default_rng(0), "float64")
    assert z.shape == (10000, 2, 3) and z.dtype == np.float64
    if prior == "uniform":
        assert -1.0 <= z.min() and z.max() < 1.0 and abs(float(z.mean())) < 0.02
    else:
        assert abs(float(z.std()) - 1.0) < 0.02 and float(z.min()) < -1.0
    with pytest.raises(ValueError, match="unknown prior 'cauchy'"):
        gan.sample_noise(1, 2, "cauchy")


def test_backend_seed_seeds_the_default_noise():
    """A GAN built without an rng draws from the backend's generator: backend.seed fixes it."""

    def run(seed):
        r = np.random.default_rng(0)  # the same weights every time
        G = layers.Sequential(layers.Dense(2, 8, rng=r), layers.ReLU(), layers.Dense(8, 3, rng=r))
        D = layers.Sequential(layers.Dense(3, 8, rng=r), layers.ReLU(), layers.Dense(8, 1, rng=r))
        backend.seed(seed)
        model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2)
        assert model.rng is backend.rng()
        batches = real_batches(seed=3)
        stats = [model.train_iteration(batches) for _ in range(3)]
        return stats, {k: v.copy() for k, v in G.params.items()}

    (stats_a, params_a), (stats_b, params_b) = run(11), run(11)
    assert stats_a == stats_b
    for k in params_a:
        np.testing.assert_array_equal(params_a[k], params_b[k], err_msg=k)
    stats_c, _ = run(12)
    assert stats_c != stats_a  # another seed, other noise


def test_d_step_descends_the_discriminator_loss():
    r"""d_loss is :math:`-\frac1m\sum [0.9\log D(x) + 0.1\log(1-D(x))] - \frac1m\sum\log(1-D(G(z)))`
    (label smoothing 0.1) and D's gradient is that of both halves."""
    r = np.random.default_rng(0)
    G = layers.Sequential(layers.Dense(2, 3, rng=r, dtype="float64"))
    D = layers.Sequential(layers.Dense(3, 1, rng=r, dtype="float64"))
    model = gan.GAN(G, D, optim.SGD(G), optim.SGD(D), noise_dim=2, label_smoothing=0.1,
                    rng=np.random.default_rng(4))
    x = r.standard_normal((8, 3)) + 1.0
    W, b = D.params["0.W"].copy(), D.params["0.b"].copy()  # before the update
    stats = model.d_step(x)
    fake = G.forward(gan.sample_noise(8, 2, "gaussian", np.random.default_rng(4), "float64"))
    pr, pf = 1 / (1 + np.exp(-(x @ W + b))), 1 / (1 + np.exp(-(fake @ W + b)))
    expected = np.mean(-0.9 * np.log(pr) - 0.1 * np.log(1 - pr)) + np.mean(-np.log(1 - pf))
    assert stats["d_loss"] == pytest.approx(expected, rel=1e-12)
    assert stats["d_real"] == pytest.approx(pr.mean(), rel=1e-12)
    assert stats["d_fake"] == pytest.approx(pf.mean(), rel=1e-12)
    dW = x.T @ ((pr - 0.9) / 8) + fake.T @ (pf / 8)
    np.testing.assert_allclose(D.grads["0.W"], dW, rtol=1e-12)


def mnist_like_gan(output):
    r = np.random.default_rng(0)
    G = layers.Sequential(layers.Dense(4, 6, rng=r),
                          layers.Sigmoid() if output == "sigmoid" else layers.Tanh())
    D = layers.Sequential(layers.Dense(6, 1, rng=r))
    return gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=4, rng=r)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_real_data_with_nan_or_inf_is_an_error(bad):
    model = mnist_like_gan("sigmoid")
    x = np.full((8, 6), 0.5, np.float32)
    x[3, 2] = bad
    before = {k: v.copy() for k, v in {**model.G.params, **model.D.params}.items()}
    with pytest.raises(ValueError, match="NaN or inf"):
        model.train_iteration(lambda: x)
    for k, v in {**model.G.params, **model.D.params}.items():  # nothing was updated
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_a_batch_given_where_a_function_of_batches_is_wanted_is_an_error():
    """The batch itself raised "'numpy.ndarray' object is not callable" from inside the loop."""
    with pytest.raises(TypeError, match=r"^next_real_batch must be a function that returns a "
                                        r"fresh real batch .*, got ndarray$"):
        small_gan().train_iteration(np.zeros((4, 3), np.float32))


def test_an_empty_real_batch_is_an_error():
    """It raised NumPy's "zero-size array to reduction operation minimum" from check_real."""
    g = small_gan()
    with pytest.raises(ValueError, match=r"^the real batch is empty \(shape \(0, 3\)\)"):
        g.train_iteration(lambda: np.zeros((0, 3), np.float32))


@pytest.mark.parametrize("batch, words", [
    (np.full((8, 3), np.nan, np.float32), "holds NaN or inf"),
    (np.zeros((0, 3), np.float32), "is empty"),
    ([[0.5, 0.5, 0.5]] * 8, "is a list, not an array"),
    (np.zeros((8, 3)), "is float64, the players' weights float32")])
def test_a_d_step_of_its_own_checks_its_real_batch_as_train_iteration_does(batch, words):
    """d_step, public and called alone by a loop of one's own and by the step checks, took a
    NaN batch and moved D's weights to NaN, raised ZeroDivisionError on an empty batch and
    "'list' object has no attribute 'shape'" on a list: train_iteration alone checked."""
    model = small_gan()
    before = {k: v.copy() for k, v in model.D.params.items()}
    with pytest.raises(ValueError, match=f"^the real batch .*{re.escape(words)}"):
        model.d_step(batch)
    for k, v in model.D.params.items():                            # nothing was updated
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    assert np.isfinite(small_gan(check_data=False).d_step(
        np.zeros((8, 3), np.float32))["d_loss"])                    # unchecked when asked


@pytest.mark.parametrize("g_dtype, d_dtypes, words", [
    ("float32", ("float64", "float64"), "the generator's '0.W' is float32 and the "
                                        "discriminator's '0.W' is float64"),
    ("float64", ("float64", "float32"), "the generator's '0.W' is float64 and the "
                                        "discriminator's '2.W' is float32")])
def test_players_of_two_dtypes_are_refused_naming_a_parameter_of_each(g_dtype, d_dtypes, words):
    """A float32 G with a float64 D trained without a word: G ran on float64 noise, every pass
    of it in float64, its gradients cast back to float32."""
    r = np.random.default_rng(0)
    G = layers.Sequential(layers.Dense(2, 8, rng=r, dtype=g_dtype), layers.ReLU(),
                          layers.Dense(8, 3, rng=r, dtype=g_dtype))
    D = layers.Sequential(layers.Dense(3, 8, rng=r, dtype=d_dtypes[0]), layers.ReLU(),
                          layers.Dense(8, 1, rng=r, dtype=d_dtypes[1]))
    with pytest.raises(ValueError, match=rf"^the players' parameters are not of one dtype: "
                                         rf"{re.escape(words)}; build every layer of both in one "
                                         rf"dtype"):
        gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r)

def test_noise_of_another_dtype_is_sampled_in_the_players_dtype():
    """Float64 noise given to float32 players ran G in float64 and gave float64 samples
    (training refuses such a batch; sampling took it without a word)."""
    model = small_gan()
    z = np.random.default_rng(3).standard_normal((5, 2))               # float64
    samples = model.sample(z=z)
    assert model.dtype == np.float32 and samples.dtype == np.float32
    np.testing.assert_array_equal(samples, model.sample(z=z.astype(np.float32)))


def test_sampling_from_both_a_count_and_the_noise_is_refused():
    """sample(3, z=z) drew len(z) samples, leaving n unread; a conditional GAN's sample(z=z,
    labels=...) drew z's own labels, leaving the labels given unread."""
    model = small_gan()
    z = model.sample_noise(5)
    with pytest.raises(ValueError, match=r"^give n \(that many fresh noise vectors\) or z \(the "
                                         r"noise itself\), not both: got n=3 and z of shape "
                                         r"\(5, 2\)$"):
        model.sample(3, z=z)
    assert model.sample(z=z).shape == (5, 3) and model.sample(4).shape == (4, 3)
    G, D = models.build("vanilla", np.random.default_rng(0), classes=3)
    cgan = gan.conditional.ConditionalGAN(G, D, optim.Adam(G), optim.Adam(D), 100,
                                          rng=np.random.default_rng(1))
    zc = cgan.sample_noise(2, labels=np.array([0, 1]))
    with pytest.raises(ValueError, match="^give labels with n .*, not with z"):
        cgan.sample(z=zc, labels=np.array([2, 2]))
    with pytest.raises(ValueError, match="^give n .* or z .*, not both"):
        cgan.sample(2, z=zc)
    assert cgan.sample(z=zc).shape == cgan.sample(2, labels=np.array([2, 2])).shape == (2, 784)

def test_train_iteration_checks_each_real_batch_once(monkeypatch):
    model, calls = small_gan(k=2), []
    check = model.check_real
    monkeypatch.setattr(model, "check_real", lambda x: (calls.append(x), check(x)))
    model.train_iteration(real_batches())
    assert len(calls) == 2                                          # one per D step
    model.d_step(real_batches()())
    assert len(calls) == 3

@pytest.mark.parametrize("dtype", [np.float64, np.uint8, np.float16, np.complex64])
def test_a_real_batch_of_another_dtype_than_the_players_is_an_error(dtype):
    """NumPy's default float64 (or 8-bit pixels) given to float32 players ran the whole
    iteration in float64 without a word: twice as slow, and other numbers."""
    model = mnist_like_gan("sigmoid")
    x = np.random.default_rng(2).random((8, 6)).astype(np.float32)
    before = {k: v.copy() for k, v in {**model.G.params, **model.D.params}.items()}
    advice = {np.float64: r"give the batches as float32 \(x.astype\(numpy.float32\)\), or "
                          r"build the players in float64",
              # float16: no players are built of it (set_default_dtype refuses it)
              np.float16: r"give the batches as float32 \(x.astype\(numpy.float32\)\)$",
              np.uint8: r"give float pixels, x.astype\(numpy.float32\) scaled to the "
                        r"generator's range \(8-bit pixels: / 255 for \[0, 1\]",
              np.complex64: r"give real pixels as float32, scaled to the generator's range$",
              }[dtype]
    with pytest.raises(ValueError, match=f"the real batch is {np.dtype(dtype)}, the players' "
                                         f"weights float32: {advice}"):
        model.train_iteration(lambda: x.astype(dtype))
    for k, v in {**model.G.params, **model.D.params}.items():  # nothing was updated
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    with pytest.raises(ValueError, match="the real batch is a list, not an array"):
        model.train_iteration(lambda: x.tolist())             # was an AttributeError
    model.train_iteration(lambda: x)


@pytest.mark.parametrize("output, expected", [("sigmoid", r"\[0, 1\]"), ("tanh", r"\[-1, 1\]")])
def test_uint8_pixels_given_to_a_model_of_another_range_are_an_error(output, expected):
    model = mnist_like_gan(output)
    assert model.pixel_range == ((0.0, 1.0) if output == "sigmoid" else (-1.0, 1.0))
    x = np.random.default_rng(1).integers(0, 256, (8, 6)).astype(np.float32)
    x[0, :2] = 0, 255
    with pytest.raises(ValueError, match=f"values in \\[0, 255\\], far outside the generator's "
                                         f"range {expected}"):
        model.train_iteration(lambda: x)
    model.train_iteration(lambda: x / 255.0 if output == "sigmoid" else x / 127.5 - 1)
    model.check_data = False  # the caller checked the data itself
    model.train_iteration(lambda: x)


def test_pixels_in_minus_one_to_one_given_to_a_sigmoid_generator_are_an_error():
    """load_mnist's default scale is "tanh": left at it for a Sigmoid G, half of every real
    pixel's range lay where G cannot reach, and the run trained without a word."""
    model = mnist_like_gan("sigmoid")
    x = np.random.default_rng(1).uniform(-1, 1, (8, 6)).astype(np.float32)
    x[0, :2] = -1, 1
    with pytest.raises(ValueError, match=r"values in \[-1, 1\], which look like \[-1, 1\] "
                                         r"pixels, and the generator draws in \[0, 1\]: give "
                                         r"\(x \+ 1\) / 2"):
        model.train_iteration(lambda: x)
    model.train_iteration(lambda: (x + 1) / 2)


@pytest.mark.parametrize("output, values, ok", [
    ("sigmoid", (-0.49, 1.49), True), ("sigmoid", (-0.2, 1.6), False),
    ("tanh", (-1.99, 1.99), True), ("tanh", (-1, 3.5), False), ("tanh", (-4, 1), False),
])
def test_values_beyond_the_generators_range_by_half_its_width_are_an_error(output, values, ok):
    """Within half the range's width the odd outlier passes; beyond it, values G cannot draw."""
    model = mnist_like_gan(output)
    x = np.zeros((8, 6), np.float32)
    x[0, :2] = values
    if ok:
        model.check_real(x)
        return
    with pytest.raises(ValueError, match=r"beyond the generator's range \[-?[01], 1\] by more "
                                         r"than half its width: it cannot draw them"):
        model.check_real(x)


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_each_model_says_whether_it_has_batch_norm(name):
    """``ModelSpec.batch_norm`` (which refuses batches of one) is what the builder builds."""
    spec = models.MODELS[name]
    G, D = spec.build(np.random.default_rng(0))
    found = any(isinstance(layer, layers.BatchNorm) for net in (G, D) for layer in net.walk())
    assert spec.batch_norm == found


def counting_forwards(layer):
    """Wrap ``layer.forward`` to count its calls; returns the list that grows by one per call."""
    calls, forward = [], layer.forward
    layer.forward = lambda x: calls.append(1) or forward(x)
    return calls


@pytest.mark.parametrize("k", [1, 2])
def test_reuse_fake_runs_g_once_and_learns_from_the_d_steps_batch(k):
    """With ``reuse_fake`` the G step's gradient is G's loss gradient at the last D step's
    noise (the batch D was just trained against), with one forward pass of G per D step
    and none more; without it, Algorithm 1 draws fresh noise for G."""
    reused, fresh = small_gan(k=k, reuse_fake=True), small_gan(k=k)
    for model in (reused, fresh):
        noises, sample = [], model.sample_noise
        model.sample_noise = lambda m, dtype=None, _s=sample, _n=noises: _n.append(_s(m, dtype)) or _n[-1]
        g_calls = counting_forwards(model.G)
        model.train_iteration(real_batches())
        model.noises, model.g_calls = noises, g_calls
    assert len(reused.g_calls) == k and len(fresh.g_calls) == k + 1
    assert len(reused.noises) == k and len(fresh.noises) == k + 1
    # the gradient the G step used, recomputed by hand at the last D step's noise, with G's
    # first weights (the same seed; D steps leave G alone) and D's after its last step
    expect = small_gan(k=k)
    expect.D.load_state_dict(reused.D.state_dict())
    expect.G.zero_grad()
    _, _, dfake = gan.generator_gradient(expect.D, expect.game,
                                         expect.G.forward(reused.noises[-1]))
    expect.G.backward(dfake, input_grad=False)
    for name, grad in expect.G.grads.items():
        assert np.any(grad != 0), name
        np.testing.assert_array_equal(reused.G.grads[name], grad, err_msg=name)


def test_reuse_fake_draws_fresh_noise_when_a_callback_runs_between_the_steps():
    model = small_gan(reuse_fake=True)
    g_calls = counting_forwards(model.G)
    model.train_iteration(real_batches(), on_step=lambda step: None)
    assert len(g_calls) == 2
    model.d_step(real_batches()())       # a D step alone, then a G step of another size
    model.g_step(5)
    assert len(g_calls) == 4


def test_sampling_between_the_steps_drops_the_kept_batch():
    """``sample`` runs G and overwrites its caches: the G step after it draws fresh noise
    rather than back-propagate through another batch's forward pass."""
    model = small_gan(reuse_fake=True)
    g_calls = counting_forwards(model.G)
    model.d_step(real_batches()())
    model.sample(4)
    model.g_step(16)
    assert len(g_calls) == 3


@pytest.mark.parametrize("head", [lambda r: layers.Dense(8, 2, rng=r), lambda r: layers.Flatten()])
def test_a_discriminator_without_one_output_a_sample_is_an_error(head):
    r = np.random.default_rng(0)
    G = layers.Sequential(layers.Dense(2, 3, rng=r))
    D = layers.Sequential(layers.Dense(3, 8, rng=r), layers.LeakyReLU(0.2), head(r))
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r)
    with pytest.raises(ValueError, match=r"outputs of shape \(16, [28]\); it must give one raw "
                                         r"output \(a logit\) per sample, shape \(m, 1\)"):
        model.train_iteration(real_batches())
    with pytest.raises(ValueError, match=r"shape \(m, 1\)"):
        model.g_step(16)


def test_a_discriminator_ending_in_a_sigmoid_is_an_error():
    r = np.random.default_rng(0)
    G = layers.Sequential(layers.Dense(2, 3, rng=r))
    D = layers.Sequential(layers.Dense(3, 1, rng=r), layers.Sigmoid())
    with pytest.raises(ValueError, match="ends in a Sigmoid; the losses take its raw output"):
        gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r)


def test_the_noise_is_drawn_in_the_players_dtype():
    """float64 players were given float32 noise (the library's default dtype), rounded."""
    r = np.random.default_rng(0)
    G = layers.Sequential(layers.Dense(4, 6, rng=r, dtype="float64"), layers.Sigmoid())
    D = layers.Sequential(layers.Dense(6, 1, rng=r, dtype="float64"))
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=4, rng=r)
    assert model.sample_noise(3).dtype == np.float64
    assert model.sample(3).dtype == np.float64
    assert model.sample_noise(3, np.float32).dtype == np.float32


def test_the_floor_s_docstring_names_each_of_its_modules():
    """Where a reader looks for the games, the loop or the monitor: the list of the floor,
    each module once."""
    import types
    modules = [name for name in gan.__all__ if isinstance(getattr(gan, name), types.ModuleType)]
    assert modules and all(gan.__doc__.count(f":mod:`minigan.gan.{name}`") == 1 for name in modules)


@pytest.mark.parametrize("noise_dim, g_out, real, words", [
    (3, 2, 2, r"^the generator on its noise \(noise_dim 3\), of shape \(8, 3\): Dense\(2, 16\): "),
    (2, 3, 2, r"^the discriminator on G's samples, of shape \(8, 3\): Dense\(2, 16\): "),
    (2, 2, 5, r"^the discriminator on the real batch, of shape \(8, 5\): Dense\(2, 16\): "),
])
def test_a_shape_that_does_not_fit_names_the_pass_of_algorithm_1(noise_dim, g_out, real, words):
    """A wrong noise_dim, a G whose samples do not fit D and a real batch of another width
    all failed with the same words of D's or G's first Dense layer, naming no player."""
    r = np.random.default_rng(0)
    G = layers.Sequential(layers.Dense(2, 16, rng=r), layers.Tanh(), layers.Dense(16, g_out, rng=r))
    D = layers.Sequential(layers.Dense(2, 16, rng=r), layers.Tanh(), layers.Dense(16, 1, rng=r))
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=noise_dim, rng=r)
    with pytest.raises(ValueError, match=words + r"expected input of shape \(N, 2\)"):
        model.train_iteration(lambda: np.zeros((8, real), np.float32))
