"""Self-conditioning: k-means's groups, the cuts that draw each group in its share, and a GAN
whose generator draws its own label."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan import gan
from minigan.check import testing
from minigan.gan import clusters, conditional, models
from minigan.nn import layers, optim


def _blobs(rng, k=4, per=30, dim=5, spread=0.1):
    centres = 10.0 * rng.standard_normal((k, dim))
    truth = np.repeat(np.arange(k), per)
    return centres[truth] + spread * rng.standard_normal((k * per, dim)), truth


@given(testing.seeds(), st.integers(2, 5))
def test_kmeans_finds_separate_groups(seed, k):
    rng = np.random.default_rng(seed)
    x, truth = _blobs(rng, k)
    # k-means++ draws each next seed in proportion to its squared distance, so now and then
    # (one run in 300 for seed 191182746, k = 5) two seeds land in one blob and two blobs
    # share one centre: a local minimum Lloyd's steps keep. The best of three runs, as
    # scikit-learn's n_init, misses about one in 300^3.
    centres, labels = clusters.kmeans(x, k, rng, restarts=3)
    # the same partition, up to the groups' names
    pairs = set(zip(truth.tolist(), labels.tolist(), strict=True))
    assert len(pairs) == k and len({b for _, b in pairs}) == k
    for j in range(k):                         # each centre is its group's mean
        np.testing.assert_allclose(centres[j], x[labels == j].mean(axis=0), rtol=1e-12)


def test_kmeans_is_a_fixed_point_and_seeded():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((200, 4))
    centres, labels = clusters.kmeans(x, 6, np.random.default_rng(1))
    d = ((x[:, None, :] - centres[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(d.argmin(axis=1), labels)       # each row in its nearest
    again = clusters.kmeans(x, 6, np.random.default_rng(1))
    np.testing.assert_array_equal(again[1], labels)
    assert np.bincount(labels, minlength=6).min() >= 1


def test_kmeans_says_its_progress_and_changes_nothing_by_it():
    """``progress(restart, iteration, moved)`` after each iteration of each run: every row
    moves at the first, none at the last (a converged run), and the groups are those found
    without it."""
    x = np.random.default_rng(3).standard_normal((200, 4))
    told = []
    centres, labels = clusters.kmeans(x, 6, np.random.default_rng(1), restarts=2,
                                      progress=lambda *said: told.append(said))
    plain = clusters.kmeans(x, 6, np.random.default_rng(1), restarts=2)
    np.testing.assert_array_equal(labels, plain[1])
    np.testing.assert_array_equal(centres, plain[0])
    for restart in (0, 1):
        run = [(i, moved) for r, i, moved in told if r == restart]
        assert [i for i, _ in run] == list(range(1, len(run) + 1))
        assert run[0][1] == 200 and run[-1][1] == 0 and all(m > 0 for _, m in run[1:-1])
    stopped = []
    clusters.kmeans(x, 6, np.random.default_rng(1), iterations=2,
                    progress=lambda *said: stopped.append(said))
    assert [i for _, i, _ in stopped] == [1, 2]                  # the limit, not converged


@pytest.mark.parametrize("seed", range(4))
def test_kmeans_fills_empty_groups(seed):
    # ten copies of one row and two others: with five groups, two or more seeds coincide
    x = np.array([[0.0, 0.0]] * 10 + [[1.0, 1.0], [2.0, 2.0]])
    centres, labels = clusters.kmeans(x, 5, np.random.default_rng(seed))
    assert np.bincount(labels, minlength=5).min() >= 1 and np.isfinite(centres).all()


def _within(x, centres, labels):
    return float(((x - centres[labels]) ** 2).sum())


@given(testing.seeds(), st.integers(2, 4))
def test_kmeans_restarts_keep_the_run_with_the_lowest_within_sum(seed, restarts):
    x = np.random.default_rng(seed).standard_normal((120, 3))   # no clear groups: runs differ
    best = clusters.kmeans(x, 7, np.random.default_rng(seed + 1), restarts=restarts)
    rng = np.random.default_rng(seed + 1)                      # the same draws, one run at a time
    runs = [clusters.kmeans(x, 7, rng) for _ in range(restarts)]
    within = [_within(x, *run) for run in runs]
    np.testing.assert_array_equal(best[1], runs[int(np.argmin(within))][1])
    assert _within(x, *best) == min(within)


@pytest.mark.parametrize("option", [{"restarts": 0}, {"iterations": 0}])
def test_kmeans_refuses_no_runs_or_no_iterations(option):
    with pytest.raises(ValueError, match=f"k-means: {next(iter(option))} must be >= 1, a whole "
                                         "number, got 0"):
        clusters.kmeans(np.zeros((3, 2)), 2, np.random.default_rng(0), **option)


def test_kmeans_refuses_rows_that_are_not_finite_and_a_seed_for_a_generator():
    """A NaN row was grouped without a word (its distances NaN, its group's centre NaN); a
    seed given as rng failed with "'int' object has no attribute 'integers'"."""
    x = np.random.default_rng(0).standard_normal((12, 3))
    x[7, 1] = np.nan
    with pytest.raises(ValueError, match=r"^k-means needs finite rows; row 7 holds NaN or inf"):
        clusters.kmeans(x, 2, np.random.default_rng(1))
    with pytest.raises(TypeError, match=r"^rng must be a numpy.random.Generator or None, got 3"):
        clusters.kmeans(x[:7], 2, 3)
    assert np.isfinite(clusters.kmeans(x[:7], 2, np.random.default_rng(1))[0]).all()

def test_kmeans_refuses_more_groups_than_rows():
    with pytest.raises(ValueError, match="1 <= k <= the number of rows"):
        clusters.kmeans(np.zeros((3, 2)), 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"k-means: k \(the number of groups\) must be >= 1, "
                                         "a whole number, got 2.5"):
        clusters.kmeans(np.zeros((3, 2)), 2.5, np.random.default_rng(0))   # ran with 2


def test_self_condition_refuses_what_is_not_each_image_s_group():
    """kmeans's (centres, groups), float, negative or 2-D groups failed inside NumPy; no
    groups set NaN cuts, which drew every sample from group 0 without a word."""
    G = layers.SelfConditionedGenerator(
        layers.Sequential(layers.Dense(2 + 3, 4, rng=np.random.default_rng(0))), 3)
    found = clusters.kmeans(np.random.default_rng(0).standard_normal((30, 2)), 3,
                            np.random.default_rng(1))
    with pytest.raises(TypeError, match=r"kmeans returns \(centres, groups\), so pass "
                                        r"kmeans\(\.\.\.\)\[1\]"):
        clusters.self_condition(G, found)
    before = G.cuts.copy()
    for groups, said in ((np.array([0.0, 1.0]), "got float64 of shape"),
                         (np.zeros((2, 2), int), r"of shape \(2, 2\)"),
                         (np.zeros(0, int), r"of shape \(0,\)"),
                         (np.array([0, -1]), "run from -1 to 0"),
                         (np.array([0, 3]), "draws groups 0 to 2")):
        with pytest.raises(ValueError, match=said):
            clusters.self_condition(G, groups)
    np.testing.assert_array_equal(G.cuts, before)             # nothing set by a refusal
    clusters.self_condition(G, found[1])
    assert not np.array_equal(G.cuts, before)


@pytest.mark.parametrize("prior", gan.PRIORS)
def test_self_conditioned_generator_draws_each_group_in_its_share(prior):
    groups = np.repeat(np.arange(3), [600, 300, 100])
    net = layers.Sequential(layers.Dense(2 + 3, 4, rng=np.random.default_rng(0)))
    G = layers.SelfConditionedGenerator(net, 3)
    shares = clusters.self_condition(G, groups, prior)
    np.testing.assert_allclose(shares, [0.6, 0.3, 0.1])
    z = gan.sample_noise(40000, 2, prior, np.random.default_rng(1))
    drawn = G.forward(z)[:, 4:].argmax(axis=1)
    # 40,000 draws: each share within 5 standard errors
    np.testing.assert_allclose(np.bincount(drawn, minlength=3) / len(z), shares,
                               atol=5 * np.sqrt(0.25 / len(z)))


def test_a_self_conditioned_gan_trains_on_labelled_real_batches():
    rng = np.random.default_rng(0)
    G, D = gan.models.build("mlp", rng, np.float64, clusters=3, minibatch="stddev")
    assert isinstance(G, layers.SelfConditionedGenerator) and G.classes == 3
    model = gan.GAN(G, D, optim.Adam(G, lr=1e-3), optim.Adam(D, lr=1e-3), 100, loss="hinge",
                    rng=np.random.default_rng(1), reuse_fake=True)
    assert model.label_channels == 3 and model.pixel_range == (-1.0, 1.0)
    x = np.tanh(rng.standard_normal((16, 784)))
    real = conditional.with_labels(x, rng.integers(0, 3, 16), 3)
    before = {k: v.copy() for k, v in G.params.items()}
    stats = model.train_iteration(lambda: real)
    assert np.isfinite(float(stats["g_loss"]))
    assert any(not np.array_equal(before[k], v) for k, v in G.params.items())
    assert model.sample(5).shape == (5, 784)          # the images, without their label


@pytest.mark.parametrize("kw, words", [
    ({"clusters": 1.5}, r"^clusters must be >= 0, a whole number, got 1.5$"),
    ({"clusters": -1}, r"^clusters must be >= 0, a whole number, got -1$"),
    ({"clusters": 5, "classes": 10}, r"^classes=10 and clusters=5: .*give one of them$"),
])
def test_build_refuses_a_count_of_groups_that_cannot_be(kw, words):
    """clusters=1.5 built one group, -1 failed naming a ConditionalGenerator's classes, and
    classes=10 with clusters=5 built five groups, the classes dropped, without a word."""
    with pytest.raises(ValueError, match=words):
        models.build("vanilla", np.random.default_rng(0), **kw)
