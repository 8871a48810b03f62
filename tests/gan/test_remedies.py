"""The remedies against mode collapse wired into the models, training, sampling and the toys:
conditional GAN, packing, minibatch layers, the moving average of G's weights."""

import json
from pathlib import Path

import numpy as np
import pytest

from minigan import backend, gan
from minigan.app import checkpoint, runs
from minigan.app.cli import main
from minigan.data import load_mnist
from minigan.gan import conditional, models, penalty
from minigan.gan.ema import EMA
from minigan.lab import scoring, toys
from minigan.nn import layers, optim


def _all_arrays(run_dir):
    ckpt = checkpoint.load_checkpoint(Path(run_dir) / "checkpoint.npz")
    out = {f"{p}/{k}": v for p in ("G", "D", "g_opt", "d_opt", "G_ema") for k, v in ckpt[p].items()}
    out.update({f"extra/{k}": np.asarray(v) for k, v in ckpt["extra"].items() if k != "seconds"})
    return out, ckpt["rng_states"]


@pytest.mark.parametrize("name", ["vanilla", "dcgan"])
def test_builders_take_the_remedies_and_keep_the_plain_model(name):
    plain_G, plain_D = models.build(name, np.random.default_rng(0))
    again_G, again_D = models.build(name, np.random.default_rng(0), classes=0, pack=1)
    for a, b in ((plain_G, again_G), (plain_D, again_D)):    # the defaults are the plain model
        assert a.state_dict().keys() == b.state_dict().keys()
        for k in a.state_dict():
            np.testing.assert_array_equal(a.state_dict()[k], b.state_dict()[k])
    G, D = models.build(name, np.random.default_rng(0), classes=10, pack=4, minibatch="stddev")
    assert isinstance(G, layers.ConditionalGenerator) and isinstance(D[0], layers.Pack)
    assert any(isinstance(layer, layers.MinibatchStdDev) for layer in D.layers)
    zc = conditional.labelled_noise(np.zeros((8, 100), np.float32), np.arange(8))
    x = G.forward(zc)
    channels = 11 if name == "dcgan" else 794
    assert x.shape[1] == channels and D.forward(x).shape == (2, 1)   # 8 samples, 2 packs
    with pytest.raises(ValueError, match="unknown minibatch layer 'foo'"):
        models.build(name, np.random.default_rng(0), minibatch="foo")


def test_conditional_gan_noise_carries_labels_and_sample_gives_images():
    G, D = models.build("vanilla", np.random.default_rng(0), classes=10)
    model = conditional.ConditionalGAN(G, D, optim.Adam(G), optim.Adam(D), 100,
                                       rng=np.random.default_rng(1))
    zc = model.sample_noise(500)
    onehot = zc[:, 100:]
    np.testing.assert_array_equal(onehot.sum(axis=1), 1.0)
    assert set(np.bincount(onehot.argmax(axis=1), minlength=10) > 20) == {True}   # all drawn
    assert model.pixel_range == (0.0, 1.0)
    assert model.sample(4, labels=[1, 2, 3, 4]).shape == (4, 784)
    real = conditional.with_labels(np.random.default_rng(2).random((6, 784)).astype(np.float32),
                                   np.array([0, 1, 2, 3, 4, 5]))
    stats = model.train_iteration(lambda: real)
    assert np.isfinite(stats["d_loss"]) and np.isfinite(stats["g_loss"])


def test_conditional_noise_given_one_label_alone_says_what_labels_it_takes():
    """ConditionalGAN.sample_noise(1, labels=3) failed with Python's "object of type 'int' has
    no len()"; one_hot's check says what labels it takes, and a count that does not fit is
    said as such."""
    G, D = models.build("vanilla", np.random.default_rng(0), classes=10)
    model = conditional.ConditionalGAN(G, D, optim.Adam(G), optim.Adam(D), 100,
                                       rng=np.random.default_rng(1))
    for label in (3, np.int64(3), np.array(3)):
        with pytest.raises(ValueError, match=r"^labels must be one integer class a sample"):
            model.sample_noise(1, labels=label)
    with pytest.raises(ValueError, match=r"^2 labels for 3 samples: give one label a sample"):
        model.sample_noise(3, labels=[1, 2])
    assert model.sample_noise(1, labels=[3])[0, 100 + 3] == 1.0


def test_a_label_outside_the_classes_or_a_plain_generator_is_refused():
    G, D = models.build("vanilla", np.random.default_rng(0), classes=3)
    model = conditional.ConditionalGAN(G, D, optim.Adam(G), optim.Adam(D), 100,
                                       rng=np.random.default_rng(1))
    for labels in ([0, 3, 1], [-1, 0, 0]):          # one-hot rows of zeros: samples of no class
        with pytest.raises(ValueError, match="labels must be classes 0 to 2, got labels from"):
            model.sample(3, labels=labels)
        with pytest.raises(ValueError, match="labels must be classes 0 to 2"):
            conditional.with_labels(np.zeros((3, 784), np.float32), np.array(labels), classes=3)
    with pytest.raises(ValueError, match="labels must be whole numbers, classes 0 to 2, got 1.5"):
        model.sample(3, labels=np.array([0.0, 1.5, 2.0]))     # 1.5 was a row of zeros
    assert conditional.one_hot(np.array([2.0, 0.0]), 3).tolist() == [[0, 0, 1], [1, 0, 0]]
    for odd in (np.nan, np.inf):    # the message's int(min) failed: "cannot convert float NaN"
        with pytest.raises(ValueError, match=f"labels must be classes 0 to 2, got {odd}$"):
            conditional.one_hot(np.array([0.0, odd]), 3)
    # labels without n: one image a label (n was None, and int(None) a TypeError)
    assert model.sample(labels=np.array([0, 2, 1, 1])).shape[0] == 4
    with pytest.raises(ValueError, match="2 labels for 3 samples: give one label a sample"):
        model.sample(3, labels=np.array([1, 2]))         # was NumPy's concatenate error
    with pytest.raises(TypeError, match="ConditionalGAN needs a layers.ConditionalGenerator"):
        conditional.ConditionalGAN(G.net, D, optim.Adam(G.net), optim.Adam(D), 100)
    with pytest.raises(TypeError, match="from a layers.ConditionalGenerator, got a Sequential: "
                       "a generator without labels.* draws layers.generated_images"):
        conditional.generate(G.net, np.array([1, 2]), 100)   # was an AttributeError, 'images'
    selfish = layers.SelfConditionedGenerator(G.net, 3)
    with pytest.raises(TypeError, match="got a SelfConditionedGenerator: .* draws its group"):
        conditional.generate(selfish, np.array([1, 2]), 100)   # was Dense's shape error


@pytest.mark.parametrize("labels, words", [
    (np.array([[1], [2]]), r"got int64 labels of shape \(2, 1\) \(labels.ravel\(\) for a column"),
    (np.array(["1", "2"]), r"got <U1 labels of shape \(2,\)$")])
def test_labels_that_are_not_one_class_a_sample_are_refused(labels, words):
    """A column of labels (N, 1) gave one-hot rows of shape (N, 1, classes) without a word, and
    with_labels then failed in LabelConcat; labels as strings failed with NumPy's "ufunc
    'minimum' did not contain a loop"."""
    with pytest.raises(ValueError, match=rf"^labels must be one integer class a sample, shape "
                                         rf"\(N,\), {words}"):
        conditional.one_hot(labels, 3)
    with pytest.raises(ValueError, match="^labels must be one integer class a sample"):
        conditional.with_labels(np.zeros((2, 4), np.float32), labels, 3)
    assert conditional.one_hot(np.array([True, False]), 2).tolist() == [[0, 1], [1, 0]]


@pytest.mark.parametrize("labels, kw, words", [
    (np.array([1, 2, 3]), {"batch_size": 0}, r"^batch_size must be >= 1, a whole number, got 0$"),
    (np.array([1, 2, 3]), {"batch_size": 2.5}, r"^batch_size must be >= 1, a whole number"),
    (np.array([], int), {}, r"^labels is empty: give the class of each image to draw")])
def test_generate_refuses_no_labels_and_a_batch_below_one(labels, kw, words):
    """A batch_size of 0 failed with "range() arg 3 must not be zero", no labels with "need at
    least one array to concatenate"."""
    G, _ = models.build("vanilla", np.random.default_rng(0), classes=3)
    with pytest.raises(ValueError, match=words):
        conditional.generate(G, labels, 100, **kw)
    assert conditional.generate(G, np.array([0, 1, 2]), 100, batch_size=2).shape == (3, 784)

@pytest.mark.parametrize("label", [3, np.int64(3), np.array(3)])
def test_labelled_noise_given_one_label_alone_says_what_labels_it_takes(label):
    """A single label, not in an array of one, failed with Python's "object of type 'int' has
    no len()" (the count of labels was read before one_hot's check of their shape)."""
    with pytest.raises(ValueError, match=r"^labels must be one integer class a sample, shape "
                                         r"\(N,\), got int64 labels of shape \(\)$"):
        conditional.labelled_noise(np.zeros((1, 2), np.float32), label, 5)
    assert conditional.labelled_noise(np.zeros((1, 2), np.float32), np.array([label]),
                                      5).tolist() == [[0, 0, 0, 0, 0, 1, 0]]


def test_labelled_noise_wants_one_label_a_noise_vector():
    """It failed with NumPy's "all the input array dimensions except for the concatenation
    axis must match exactly"."""
    with pytest.raises(ValueError, match="^4 noise vectors and 2 labels: give one label a noise "
                                         "vector$"):
        conditional.labelled_noise(np.zeros((4, 2), np.float32), np.array([0, 1]), 3)
    assert conditional.labelled_noise(np.zeros((2, 2), np.float32), np.array([0, 2]),
                                      3).tolist() == [[0, 0, 1, 0, 0], [0, 0, 0, 0, 1]]

@pytest.mark.parametrize("name", ["vanilla", "dcgan"])
def test_a_real_batch_without_its_labels_is_refused_saying_how_to_join_them(name):
    """Images given without their labels failed in D's first layer (Dense(794, 128): expected
    input of shape (N, 794), got (64, 784)), or were read as labels."""
    G, D = models.build(name, np.random.default_rng(0), classes=10)
    model = conditional.ConditionalGAN(G, D, optim.Adam(G), optim.Adam(D), 100,
                                       rng=np.random.default_rng(1))
    shape = (4, 784) if name == "vanilla" else (4, 1, 28, 28)
    images = np.random.default_rng(2).uniform(*model.pixel_range, shape).astype(np.float32)
    where = "columns" if name == "vanilla" else "channels"
    with pytest.raises(ValueError, match=f"last 10 {where} are not one-hot labels.*"
                       r"conditional.with_labels\(x, labels, classes=10\)"):
        model.train_iteration(lambda: images)
    stats = model.train_iteration(lambda: conditional.with_labels(images, np.arange(4)))
    assert np.isfinite(stats["d_loss"])


@pytest.mark.parametrize("name", ["vanilla", "dcgan"])
def test_conditional_instance_noise_leaves_the_labels_alone(name):
    G, D = models.build(name, np.random.default_rng(0), classes=10)
    model = conditional.ConditionalGAN(G, D, optim.Adam(G), optim.Adam(D), 100,
                                       rng=np.random.default_rng(1), instance_noise=0.5)
    shape = (2000, 784) if name == "vanilla" else (40, 1, 28, 28)
    images = np.full(shape, 0.5, np.float32)
    real = conditional.with_labels(images, np.arange(shape[0]) % 10)
    seen = []
    forward = model.D.forward
    model.D.forward = lambda x: seen.append(x.copy()) or forward(x)
    model.d_step(real)
    model.g_step(8, np.float32)
    assert len(seen) == 3                                   # real, fake, the G step's fake
    for x in seen:
        labels = x[:, -10:]
        assert set(np.unique(labels)) == {0.0, 1.0}         # exact one-hot rows or maps
        np.testing.assert_array_equal(labels.sum(axis=1), 1.0)      # one class per sample
    np.testing.assert_array_equal(seen[0][:, -10:], real[:, -10:])
    assert np.std(seen[0][:, :-10] - images) == pytest.approx(0.5, rel=0.05)


def test_conditional_wgan_gp_penalizes_the_image_beside_a_real_label(monkeypatch):
    G, D = models.build("vanilla", np.random.default_rng(0), classes=10)
    model = conditional.ConditionalGAN(G, D, optim.Adam(G), optim.Adam(D), 100,
                                       rng=np.random.default_rng(1), loss="wgan-gp")
    seen = []
    original = penalty.gradient_penalty
    monkeypatch.setattr(penalty, "gradient_penalty", lambda critic, x, w, features=None:
                        seen.append((x.copy(), features)) or original(critic, x, w, features))
    images = np.random.default_rng(2).random((8, 784)).astype(np.float32)
    real = conditional.with_labels(images, np.arange(8))
    stats = model.d_step(real)
    (x_hat, features), = seen
    assert features == 784 and np.isfinite(stats["gradient_penalty"])
    np.testing.assert_array_equal(x_hat[:, 784:], real[:, 784:])    # the real one-hot labels
    assert not np.array_equal(x_hat[:, :784], images)                 # blended images


@pytest.mark.parametrize("warmup", [None, 3.0, 1.0, 0.5])   # 1 or less: beta_t = beta
def test_ema_follows_its_formula_with_warm_up(warmup):
    rng = np.random.default_rng(0)
    G = layers.Sequential(layers.Dense(3, 2, rng=rng, dtype="float64"),
                          layers.BatchNorm(2, dtype="float64"))
    ema = EMA(G, 0.9) if warmup is None else EMA(G, 0.9, warmup=warmup)
    expect = {k: v.copy() for k, v in G.params.items()}
    for t in range(30):
        for v in G.params.values():
            v += rng.standard_normal(v.shape)
        G.buffers["1.running_mean"][...] = t
        ema.update()
        beta = min(0.9, (1 + t) / ((10 if warmup is None else warmup) + t))
        expect = {k: beta * expect[k] + (1 - beta) * G.params[k] for k in expect}
    for k in expect:
        np.testing.assert_allclose(ema.generator.params[k], expect[k], rtol=1e-12)
    np.testing.assert_array_equal(ema.generator.buffers["1.running_mean"], 29.0)
    assert not np.allclose(ema.generator.params["0.W"], G.params["0.W"])   # a copy, not G
    for decay in (1.0, True, None, "0.9", float("nan")):    # None: float()'s TypeError came
        with pytest.raises(ValueError, match=r"^ema decay must be a number in \[0, 1\), got "):
            EMA(G, decay)
    for warmup in (0.0, -1.0):
        with pytest.raises(ValueError, match="^ema warm-up must be a finite number above 0 "):
            EMA(G, 0.9, warmup=warmup)
    with pytest.raises(ValueError, match="^ema warm-up must be a finite number above 0 .*got inf$"):
        EMA(G, 0.9, warmup=float("inf"))       # beta_t = 0: the "average" was G itself


def test_an_average_restored_with_its_count_goes_on_as_the_one_it_was_saved_from():
    """EMA.state_dict holds the averaged weights, not the count of updates that sets the
    warm-up: restored without it, the next update kept a tenth of the average (it moved by
    1.02 where the one saved moved by 0.05). load_state_dict takes the count back."""
    rng = np.random.default_rng(0)
    G = layers.Sequential(layers.Dense(3, 2, rng=rng, dtype="float64"))
    ema = EMA(G, 0.99)
    for _ in range(200):
        G.params["0.W"] += 0.1 * rng.standard_normal((3, 2))
        ema.update()
    state = {k: v.copy() for k, v in ema.state_dict().items()}
    restored, forgetful = EMA(G, 0.99), EMA(G, 0.99)
    restored.load_state_dict(state, updates=ema.updates)
    forgetful.load_state_dict(state)
    for average in (ema, restored, forgetful):
        average.update()
    np.testing.assert_array_equal(restored.generator.params["0.W"], ema.generator.params["0.W"])
    assert restored.updates == ema.updates == 201 and forgetful.updates == 1
    assert not np.allclose(forgetful.generator.params["0.W"], ema.generator.params["0.W"])
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="EMA: updates"):
            EMA(G, 0.99).load_state_dict(state, updates=bad)


def test_ema_of_what_is_not_a_generator_says_what_to_give():
    """EMA(model), the GAN for its G, raised "'GAN' object has no attribute 'eval'"."""
    rng = np.random.default_rng(0)
    G, D = layers.Dense(2, 3, rng=rng), layers.Dense(3, 1, rng=rng)
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=rng)
    with pytest.raises(TypeError, match=r"^EMA averages a generator's weights: give the generator, "
                                        r"a minigan.nn.layers.Layer \(a GAN's model.G\), not a GAN$"):
        EMA(model)


def _standing_statistics(G, zs):
    """Independent float64 arithmetic: each batch norm layer's mean over the batches ``zs`` of
    its batch mean and unbiased batch variance, batch norm normalizing with the batch's
    statistics (Dense -> BatchNorm -> ReLU blocks, then Dense -> Tanh)."""
    blocks = [(G.layers[i], G.layers[i + 1]) for i in range(0, len(G.layers) - 2, 3)]
    means, variances = [0.0] * len(blocks), [0.0] * len(blocks)
    for z in zs:
        h = z
        for j, (dense, norm) in enumerate(blocks):
            a = h @ dense.params["W"] + dense.params["b"]
            mu, var = a.mean(axis=0), a.var(axis=0)
            means[j] = means[j] + mu / len(zs)
            variances[j] = variances[j] + var * len(a) / (len(a) - 1) / len(zs)
            h = np.maximum((a - mu) / np.sqrt(var + norm.eps) * norm.params["gamma"]
                           + norm.params["beta"], 0.0)
    return means, variances


def test_ema_estimates_batch_norm_statistics_of_the_averaged_weights():
    rng = np.random.default_rng(0)
    G = layers.Sequential(layers.Dense(4, 6, rng=rng, dtype="float64"),
                          layers.BatchNorm(6, dtype="float64"), layers.ReLU(),
                          layers.Dense(6, 5, rng=rng, dtype="float64"),
                          layers.BatchNorm(5, dtype="float64"), layers.ReLU(),
                          layers.Dense(5, 3, rng=rng, dtype="float64"), layers.Tanh())
    ema = EMA(G, 0.9)
    for _ in range(5):                       # G moves, and gathers statistics of its own
        for v in G.params.values():
            v += 0.3 * rng.standard_normal(v.shape)
        G.forward(rng.standard_normal((7, 4)) * 2 + 1)
        ema.update()
    avg = ema.generator
    params = {k: v.copy() for k, v in avg.params.items()}
    np.testing.assert_array_equal(avg.buffers["1.running_mean"], G.buffers["1.running_mean"])
    zs = [rng.standard_normal((m, 4)) for m in (9, 4, 11)]
    drawn = iter(zs)
    sizes = []

    def noise(m):
        sizes.append(m)
        return next(drawn)

    assert ema.estimate_statistics(noise, batches=3, batch_size=9) == 2
    assert sizes == [9, 9, 9]
    means, variances = _standing_statistics(avg, zs)
    for j, key in enumerate(("1", "4")):
        np.testing.assert_allclose(avg.buffers[f"{key}.running_mean"], means[j], rtol=1e-12)
        np.testing.assert_allclose(avg.buffers[f"{key}.running_var"], variances[j], rtol=1e-12)
        assert not np.allclose(avg.buffers[f"{key}.running_mean"], G.buffers[f"{key}.running_mean"])
    for k, v in params.items():                # the weights are not touched
        np.testing.assert_array_equal(avg.params[k], v)
    assert all(not layer.training for layer in avg.walk())          # evaluation mode again
    assert [avg.layers[i].momentum for i in (1, 4)] == [0.1, 0.1]   # the momentum restored
    ema.update()                                   # the next update copies G's again
    np.testing.assert_array_equal(avg.buffers["1.running_var"], G.buffers["1.running_var"])
    with pytest.raises(ValueError, match="at least 1 batch of at least 2 samples"):
        ema.estimate_statistics(noise, batches=1, batch_size=1)
    plain = EMA(layers.Sequential(layers.Dense(4, 3, rng=rng, dtype="float64")), 0.9)
    assert plain.estimate_statistics(noise) == 0    # no batch norm: nothing to estimate


@pytest.fixture
def fewer_statistics_batches(monkeypatch):
    """The moving average's batch norm statistics from 2 batches of 50 (the default's 4,000
    samples through the DCGAN's G took most of these tests' time)."""
    from minigan.gan import ema
    monkeypatch.setattr(ema, "STATISTICS_BATCHES", 2)
    monkeypatch.setattr(ema, "STATISTICS_BATCH", 50)


@pytest.mark.slow
def test_a_run_saves_the_average_with_statistics_of_its_own(train_args, data_dir, tmp_path,
                                                            fewer_statistics_batches):
    from minigan.app.trainer import STATISTICS_STREAM

    out = tmp_path / "dcgan"                     # its G has batch norm; an average asked for
    assert main(train_args(data_dir, out, "--model", "dcgan", "--ema", "0.999",
                           "--epochs", "1")) == 0
    ckpt = checkpoint.load_checkpoint(out / "checkpoint.npz")
    key = "1.running_mean"
    assert not np.allclose(ckpt["G_ema"][key], ckpt["G"][key])   # not G's statistics
    G, _ = models.build("dcgan", np.random.default_rng(0), "float32")
    again = EMA(G, 0.999)
    again.load_state_dict(ckpt["G_ema"])
    seed, iteration = ckpt["config"]["seed"], ckpt["counters"]["iteration"]
    noise = scoring.scoring_noise(100, "gaussian",
                                  np.random.default_rng([seed, iteration, STATISTICS_STREAM]),
                                  np.float32)
    again.estimate_statistics(noise)
    for k in ("1.running_mean", "1.running_var", "5.running_mean", "5.running_var"):
        np.testing.assert_allclose(ckpt["G_ema"][k], again.generator.buffers[k], rtol=1e-5)


@pytest.mark.slow
def test_a_model_with_batch_norm_in_g_resumes_bit_for_bit_with_the_averages_statistics(
        metrics_rows, train_args, data_dir, tmp_path, fewer_statistics_batches):
    straight, split = tmp_path / "straight", tmp_path / "split"
    dcgan = ("--model", "dcgan", "--ema", "0.999")
    assert main(train_args(data_dir, straight, *dcgan, "--epochs", "2")) == 0
    assert main(train_args(data_dir, split, *dcgan, "--epochs", "1")) == 0
    assert main(["train", "--resume", str(split), "--epochs", "2", "--quiet", "--data-dir",
                 str(data_dir), "--no-download", "--device", "cpu"]) == 0
    a, rng_a = _all_arrays(straight)
    b, rng_b = _all_arrays(split)
    assert a.keys() == b.keys() and rng_a == rng_b and "G_ema/1.running_var" in a
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert metrics_rows(straight) == metrics_rows(split)


@pytest.mark.slow
def test_remedy_run_resumes_bit_for_bit_and_saves_the_average(metrics_rows, train_args, data_dir,
                                                              tmp_path):
    more = ("--conditional", "--pack", "2", "--minibatch", "discrimination", "--ema", "0.9")
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(train_args(data_dir, straight, "--epochs", "2", *more)) == 0
    assert main(train_args(data_dir, split, "--epochs", "1", *more)) == 0
    assert main(["train", "--resume", str(split), "--epochs", "2", "--quiet", "--data-dir",
                 str(data_dir), "--no-download", "--device", "cpu"]) == 0
    a, rng_a = _all_arrays(straight)
    b, rng_b = _all_arrays(split)
    assert a.keys() == b.keys() and rng_a == rng_b
    assert any(k.startswith("G_ema/") for k in a)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert metrics_rows(straight) == metrics_rows(split)
    config = json.loads((straight / "config.json").read_text())
    assert config["conditional"] and config["pack"] == 2 and config["ema"] == 0.9
    # the moving average differs from G, and sample / eval load it unless told not to
    G_avg, _, c1 = runs.load_generator(straight / "checkpoint.npz")
    G_raw, _, c2 = runs.load_generator(straight / "checkpoint.npz", ema=False)
    assert (c1["weights"], c2["weights"]) == ("G_ema", "G")
    assert not np.array_equal(G_avg.params["0.W"], G_raw.params["0.W"])


def test_old_checkpoints_without_the_new_settings_still_load(train_args, data_dir, tmp_path):
    out = tmp_path / "plain"
    assert main(train_args(data_dir, out, "--epochs", "1")) == 0
    ckpt = checkpoint.load_checkpoint(out / "checkpoint.npz")
    assert ckpt["G_ema"] == {}
    old = {k: v for k, v in ckpt["config"].items()
           if k not in ("conditional", "pack", "minibatch", "ema")}
    G, _ = models.build("vanilla", np.random.default_rng(0), **models.remedies(old))
    checkpoint.restore(ckpt, generator=G, model="vanilla")


def test_bad_remedy_settings_are_refused(train_args, data_dir, tmp_path, capsys):
    assert main(train_args(data_dir, tmp_path / "x", "--pack", "3")) == 2
    assert "batch size 32 is not a multiple" in capsys.readouterr().err
    assert main(train_args(data_dir, tmp_path / "y", "--ema", "1.5")) == 2
    assert "[0, 1)" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


@pytest.mark.slow
def test_conditional_sample_draws_one_row_per_digit(train_args, write_tiny_mnist, tmp_path, capsys,
                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = write_tiny_mnist(tmp_path / "mnist", n=64)
    assert main(train_args(folder, tmp_path / "run", "--epochs", "1", "--model", "dcgan",
                           "--conditional")) == 0
    grid = tmp_path / "run" / "samples" / "epoch_0001.png"
    import matplotlib.image as mpimg
    h, w = mpimg.imread(grid).shape[:2]
    assert h == 10 * 2 * (28 + 2) + 4 and w > h    # 10 rows of 10, their digits in a margin
    captured = capsys.readouterr()
    assert main(["sample", "--checkpoint", str(tmp_path / "run"), "--out", "a.png",
                 "--n", "20", "--seed", "1"]) == 0
    assert "one row per digit 0-9" in capsys.readouterr().out
    assert main(["sample", "--checkpoint", str(tmp_path / "run"), "--out", "b.png",
                 "--n", "5", "--label", "7"]) == 0
    assert "of the digit 7" in capsys.readouterr().out
    # the images of a label are the generator's output for that one-hot label
    G, spec, config = runs.load_generator(tmp_path / "run" / "checkpoint.npz")
    imgs = conditional.generate(G, np.array([7, 7]), 100, rng=np.random.default_rng(3))
    z = np.random.default_rng(3).standard_normal((2, 100)).astype(np.float32)
    np.testing.assert_allclose(imgs, G.images(conditional.labelled_noise(z, [7, 7])), atol=1e-6)
    del captured


def test_label_refused_for_a_plain_run(train_args, data_dir, tmp_path, capsys):
    assert main(train_args(data_dir, tmp_path / "p", "--epochs", "1")) == 0
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(tmp_path / "p"), "--out",
                 str(tmp_path / "s.png"), "--label", "3"]) == 2
    assert "not of a conditional run" in capsys.readouterr().err
    # interpolate says what to do as sample does (it said only "not of a conditional run")
    for command in ("sample", "interpolate"):
        assert main([command, str(tmp_path / "p"), "--out", str(tmp_path / "i.png"), "--label",
                     "3"]) == 2
        assert capsys.readouterr().err.strip().endswith(
            "is not of a conditional run (trained without --conditional); leave --label out")
    assert not (tmp_path / "s.png").exists() and not (tmp_path / "i.png").exists()


@pytest.mark.parametrize("epochs", ["3", "5"])
def test_tstr_epochs_refused_for_a_plain_run(epochs, train_args, data_dir, tmp_path, capsys,
                                             assert_one_line_error):
    """TSTR needs the labels a conditional generator is given: asked of a plain run it was
    left out without a word (and still was when asked with the default's 5 epochs)."""
    assert main(train_args(data_dir, tmp_path / "p", "--epochs", "1")) == 0
    capsys.readouterr()
    rc = main(["eval", str(tmp_path / "p"), "--tstr-epochs", epochs, "--n", "20", "--no-parzen",
               "--data-dir", str(data_dir), "--device", "cpu"])
    assert_one_line_error(rc, capsys.readouterr().err, f"--tstr-epochs {epochs}: ", "is not of a "
                          "conditional run", "leave --tstr-epochs out")
    assert not (tmp_path / "p" / "eval.json").exists()


@pytest.mark.slow
def test_eval_of_a_conditional_run_says_how_often_its_digits_read_as_asked(
        train_args, data_dir, tmp_path, capsys):
    """The share of a conditional run's scored digits the classifier reads as the class G
    was asked for, beside the classifier's accuracy on real digits; none for a plain run."""
    from minigan.app import commands
    from minigan.lab import classifier as clf_lib

    for name, more in (("c", ["--conditional"]), ("p", [])):
        assert main(train_args(data_dir, tmp_path / name, "--epochs", "1", *more)) == 0
        capsys.readouterr()
        assert main(["eval", str(tmp_path / name), "--n", "40", "--no-parzen", "--tstr-epochs",
                     "0", "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]) == 0
        out = capsys.readouterr().out
        report = json.loads((tmp_path / name / "eval.json").read_text())["generated"]
        if name == "p":
            assert "label agreement" not in out and "label_agreement" not in report
            continue
        drawn = []
        ref = scoring.Reference.load(data_dir, clf_lib.load_default(None), download=False,
                                     trained_on="test")
        commands.evaluate_checkpoint(tmp_path / name, 40, ref, images_out=drawn, parzen=False)
        read = clf_lib.load_default(None).predict(drawn[0][:40])
        right = read == np.arange(40) % 10
        assert report["label_agreement"]["agreement"] == pytest.approx(right.mean())
        assert report["label_agreement"]["per_class"][3] == pytest.approx(right[3::10].mean())
        assert (f"label agreement: the classifier reads {100 * right.mean():.1f}% of the 40 "
                "generated digits as the class G was asked for") in out
        assert "of real digits right (MNIST test digits 8,000-9,999)" in out


@pytest.mark.slow
def test_tstr_scores_labelled_generated_digits(real_mnist):
    """TSTR trains on the generated digits and their labels: a generator whose digit of label
    k is a real digit of class k scores like real data; one that ignores the label does not."""
    x, y = load_mnist("test", data_dir=real_mnist, scale="sigmoid", download=False)
    prototypes = np.stack([x[5000:][y[5000:] == k][0] for k in range(10)])

    class Lookup(layers.Layer):     # label k -> a real digit of class k (or always a 0)
        classes = 10

        def __init__(self, honest):
            super().__init__()
            self.honest = honest

        def images(self, zc):
            k = zc[:, -10:].argmax(axis=1) if self.honest else np.zeros(len(zc), int)
            return prototypes[k]

    scores = [scoring.conditional_tstr(Lookup(h), 100, "sigmoid", n=500, data_dir=real_mnist,
                               download=False, epochs=3) for h in (True, False)]
    assert scores[0]["n_synthetic"] == scores[0]["n_real"] == 500 and scores[0]["trtr"] > 0.5
    assert scores[0]["tstr"] > 0.3 > scores[1]["tstr"]


@pytest.mark.slow
def test_toy_takes_the_remedies(tmp_path, capsys):
    out = tmp_path / "ring"
    assert main(["toy", "ring8", "--iterations", "100", "--snapshots", "1", "--out", str(out),
                 "--pack", "2", "--minibatch", "stddev", "--ema", "0.9"]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["options"]["pack"] == 2 and report["options"]["minibatch"] == "stddev"
    assert report["options"]["ema"] == 0.9
    assert main(["toy", "gaussian1d", "--iterations", "10", "--out", str(tmp_path / "g"),
                 "--pack", "2"]) == 2
    assert "gaussian1d compares D(x)" in capsys.readouterr().err


def test_toy_packing_keeps_the_number_of_packs(monkeypatch):
    """As in PacGAN's code: with --pack m, D sees as many packs as the plain GAN sees samples."""
    seen = []
    real_step = toys.gan.GAN.d_step

    def d_step(self, x):
        seen.append(x.shape[0])
        return real_step(self, x)

    monkeypatch.setattr(toys.gan.GAN, "d_step", d_step)
    toys.run_gan_toy("ring8", 2, snapshots=0, opts={"pack": 3})
    assert seen == [300, 300]


def test_mlp_large_is_the_default_with_a_third_hidden_layer_in_g(train_args, data_dir, tmp_path):
    """``--model mlp-large``: the default's D and game (its average at 0.999, the default's at
    0.9998; batches of 64 at 1e-3 and G's step on fresh noise, without groups or R1, the
    default's 128 at 1.4e-3 on the D step's batch, self-conditioned on 30 groups at each of G's
    layers, with R1 at 0.1), G
    with hidden widths 256, 512, 1024 and no pixel norm (the default's G has it after each
    hidden activation); a run of it trains, and its checkpoint loads back as that model for
    sample and eval."""
    large, default = models.MODELS["mlp-large"], models.MODELS["mlp"]
    assert large.defaults is not default.defaults          # the game and remedies, but the
    assert dict(large.defaults, ema=0.9998, g_batch="reuse", clusters=30,
                g_label="every", r1=0.1) == default.defaults
    assert large.betas == default.betas                     # batch 64 at 1e-3, the default's
    assert (large.lr, large.batch_size) == (1e-3, 64)       # 128 at 1.4e-3
    G, D = models.build("mlp-large", np.random.default_rng(0), "float32", minibatch="stddev")
    _, D_default = models.build("mlp", np.random.default_rng(0), "float32", minibatch="stddev")
    dense = [layer for layer in G.layers if isinstance(layer, layers.Dense)]
    assert [(d.in_features, d.out_features) for d in dense] == [(100, 256), (256, 512),
                                                                (512, 1024), (1024, 784)]
    assert repr(D) == repr(D_default)
    G_default, _ = models.build("mlp", np.random.default_rng(0), "float32")
    assert [type(layer).__name__ for layer in G_default.layers] == [
        "Dense", "LeakyReLU", "PixelNorm", "Dense", "LeakyReLU", "PixelNorm", "Dense", "Tanh"]
    assert not any(isinstance(layer, layers.PixelNorm) for layer in G.layers)
    out = tmp_path / "large"
    assert main(train_args(data_dir, out, "--model", "mlp-large", "--epochs", "1")) == 0
    G_loaded, spec, config = runs.load_generator(out / "checkpoint.npz", ema=True)
    assert spec is large and config["model"] == "mlp-large" and config["ema"] == 0.999
    assert G_loaded.forward(np.zeros((2, 100), np.float32)).shape == (2, 784)


def test_g_label_every_joins_the_label_to_each_of_g_dense_layers():
    """``g_label="every"``: G's later Dense layers take ``classes`` more inputs, and its output
    moves with the label when the noise stays (through every layer, not only the first);
    ``"input"`` builds the plain chain; the builder refuses other values."""
    rng = np.random.default_rng(0)
    G, _ = models.mlp(rng, "float64", classes=4, g_label="every")
    net = G.net
    assert isinstance(net, layers.LabelledSequential) and net.classes == 4
    dense = [layer for layer in net.layers if isinstance(layer, layers.Dense)]
    assert [d.in_features for d in dense] == [104, 256 + 4, 512 + 4]
    z = rng.standard_normal((3, 100))
    c1, c2 = np.eye(4)[[0, 0, 0]], np.eye(4)[[1, 1, 1]]
    first = dense[0].params["W"]
    first[100:] = 0                                   # the label's weights at the input gone:
    out1, out2 = (net.forward(np.concatenate([z, c], 1)) for c in (c1, c2))
    assert np.abs(out1 - out2).max() > 1e-3           # it still reaches the image
    zc = np.concatenate([z, c2], 1)               # the passes one layer at a time: the
    passes = list(net.passes(zc))                  # joined inputs, and forward's output
    assert [inp.shape[1] for layer, inp, _ in passes if isinstance(layer, layers.Dense)] == \
        [104, 260, 516]
    np.testing.assert_array_equal(passes[-1][2], net.forward(zc))
    with pytest.raises(ValueError, match="joins a label to its layers"):
        penalty.check_critic(net)
    plain, _ = models.mlp(np.random.default_rng(0), "float64", classes=4)
    assert type(plain.net) is layers.Sequential
    with pytest.raises(ValueError, match="g_label must be one of"):
        models.mlp(rng, classes=4, g_label="hidden")
    assert "g_label" not in models.remedies({"model": "vanilla", "g_label": "input"})
    assert models.remedies({"clusters": 30, "g_label": "every"})["g_label"] == "every"



@pytest.mark.gpu
@pytest.mark.parametrize("device", ["cpu", "gpu"])
def test_a_conditional_real_batch_is_checked_with_one_read_back(device, monkeypatch):
    """The labels' check read them back on their own, a second wait on the device at every
    D step beside the one for the batch's range."""
    backend.use(device)
    G, D = models.build("vanilla", np.random.default_rng(0), classes=10)
    model = conditional.ConditionalGAN(G, D, optim.Adam(G), optim.Adam(D), 100,
                                       rng=np.random.default_rng(1))
    images = np.zeros((4, 784), np.float32)
    good = backend.asarray(conditional.with_labels(images, np.arange(4)))
    bad = backend.asarray(np.concatenate([images, np.full((4, 10), 0.5, np.float32)], axis=1))
    reads = []
    real_to_host = backend.to_host
    monkeypatch.setattr(backend, "to_host", lambda a: reads.append(a) or real_to_host(a))
    model.check_real(good)
    assert len(reads) == 1
    with pytest.raises(ValueError, match="last 10 columns are not one-hot labels"):
        model.check_real(bad)


@pytest.mark.gpu
def test_a_real_batch_on_another_device_than_the_players_is_refused_saying_where(
        gpu_device):
    """The README's loop with $MINIGAN_DEVICE=gpu gave NumPy batches to players on the GPU:
    CuPy's "a NumPy array cannot be mixed with cupy arrays" from inside a Dense layer. The
    batch's check says where each is and how to move the data."""
    backend.use("gpu")
    G, D = models.build("vanilla", np.random.default_rng(0))
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), 100, rng=np.random.default_rng(1))
    host = np.full((4, 784), 0.5, np.float32)
    with pytest.raises(ValueError, match=r"the real batch is a NumPy array and the players' "
                                         r"weights are on the GPU .*X = backend.asarray\(X\)"):
        model.train_iteration(lambda: host)
    model.check_real(backend.asarray(host))              # on the device: taken
    backend.use("cpu")
    G, D = models.build("vanilla", np.random.default_rng(0))
    on_cpu = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), 100, rng=np.random.default_rng(1))
    backend.use("gpu")
    with pytest.raises(ValueError, match=r"the real batch is on the GPU and the players' "
                                         r"weights on the CPU"):
        on_cpu.check_real(backend.asarray(host))


@pytest.mark.parametrize("kw", [{"g_widths": 256}, {"d_widths": "512"}])
def test_mlp_refuses_one_width_given_for_its_hidden_layers(kw):
    """g_widths=256 failed with "'int' object is not iterable"; a string was read as widths
    of one character each (Dense refused "5")."""
    (what, value), = kw.items()
    with pytest.raises(TypeError, match=rf"^mlp: {what} must be a sequence of widths, one per "
                                        rf"hidden layer \(\(256,\) for one layer of 256\), "
                                        rf"got {value!r}$"):
        models.mlp(np.random.default_rng(0), **kw)
    G, _ = models.mlp(np.random.default_rng(0), g_widths=[64])          # a list: one layer
    assert G.layers[0].out_features == 64
