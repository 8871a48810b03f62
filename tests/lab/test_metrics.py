"""Each metric against a case whose answer is known."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan import backend
from minigan.lab import metrics, scoring


def confident(labels, n_classes=10, p=1.0):
    probs = np.full((len(labels), n_classes), (1 - p) / (n_classes - 1))
    probs[np.arange(len(labels)), labels] = p
    return probs


def test_inception_score_cuts_the_parts_of_salimans_et_al_s_code():
    """Part i runs from i N // 10 to (i + 1) N // 10, as in the improved-GAN code
    (``preds[(i * N // splits):((i + 1) * N // splits)]``): with N not a multiple of 10
    np.array_split put the extra rows in the first parts (4e-3 in the mean at N = 1003)."""
    r = np.random.default_rng(0)
    logits = 3 * r.standard_normal((1003, 10))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    scores = []
    for i in range(10):
        part = probs[(i * 1003 // 10):((i + 1) * 1003 // 10), :]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    mean, std = metrics.inception_score(probs)
    assert mean == pytest.approx(np.mean(scores), rel=1e-10)
    assert std == pytest.approx(np.std(scores), rel=1e-8)


def test_inception_score_one_class_is_one_and_balanced_is_the_class_count():
    mean, std = metrics.inception_score(confident(np.full(1000, 3)))
    assert mean == pytest.approx(1.0, abs=1e-9) and std == pytest.approx(0, abs=1e-9)
    balanced = confident(np.tile(np.arange(10), 100))      # every split holds each class equally
    mean, std = metrics.inception_score(balanced, splits=10)
    assert mean == pytest.approx(10.0, rel=1e-9) and std == pytest.approx(0, abs=1e-9)
    five = confident(np.tile(np.arange(5), 200))
    assert metrics.inception_score(five, splits=1)[0] == pytest.approx(5.0, rel=1e-9)
    # uncertain predictions lower it: uniform p(y|x) gives 1 whatever the classes
    assert metrics.inception_score(np.full((100, 10), 0.1))[0] == pytest.approx(1.0)


def test_class_statistics():
    labels = np.array([0] * 50 + [1] * 46 + [2] * 4)
    stats = metrics.class_statistics(confident(labels, p=0.95))
    assert stats["classes_covered"] == 2                   # class 2 holds 4% < 5%
    assert stats["histogram"][:3] == [0.5, 0.46, 0.04]
    assert stats["confident_share"] == 1.0
    assert metrics.class_statistics(confident(labels, p=0.5))["confident_share"] == 0.0


def test_fid_of_a_set_with_itself_is_zero_and_a_shift_adds_its_square():
    r = np.random.default_rng(0)
    a = r.standard_normal((500, 8)) @ r.standard_normal((8, 8))
    assert metrics.fid(a, a) == pytest.approx(0.0, abs=1e-8)
    shift = r.standard_normal(8)
    assert metrics.fid(a, a + shift) == pytest.approx(float(shift @ shift), rel=1e-8)


def test_features_a_distance_cannot_compare_are_refused_with_the_reason():
    """Before, these gave "Eigenvalues did not converge", a matmul's core-dimension error,
    "kth(=3) out of bounds" and, for logits given as probabilities, an inception score of
    NaN without a word."""
    r = np.random.default_rng(0)
    a, b = r.standard_normal((50, 16)), r.standard_normal((40, 16))
    nan = a.copy()
    nan[3, 2] = np.nan
    refused = [(lambda: metrics.fid(a, b[:, :8]), "different feature sizes"),
               (lambda: metrics.fid(a[:1], b), "features1 holds 1 rows"),
               (lambda: metrics.fid(nan, b), "features1 holds NaN"),
               (lambda: metrics.fid(a[0], b[0]), r"features1 of shape \(16,\)"),
               (lambda: metrics.precision_recall(a[:3], b), "real holds 3 rows; .* at least 4"),
               (lambda: metrics.density_coverage(a, b[:, :4]), "different feature sizes"),
               (lambda: metrics.inception_score(r.standard_normal((100, 10))), "apply a softmax")]
    for call, message in refused:
        with pytest.raises(ValueError, match=message):
            call()
    # one fake point is enough there: density = the real balls (radius: each real point's
    # 5th nearest other) it lies in, over k = 5
    real, fake = a.astype(np.float64), b[:1].astype(np.float64)
    between = ((real[:, None] - real[None]) ** 2).sum(-1)
    radii = np.sort(between, axis=1)[:, 5]                # [:, 0] is the point itself
    inside = (((real - fake) ** 2).sum(-1) <= radii).sum()
    assert metrics.density_coverage(a, b[:1])[0] == pytest.approx(inside / 5)



@pytest.mark.parametrize("call, words", [
    (lambda a, b: metrics.precision_recall(a, b, k=-1), "precision_recall: k"),
    (lambda a, b: metrics.precision_recall(a, b, k=0), "precision_recall: k"),
    (lambda a, b: metrics.precision_recall(a, b, k=2.5), "precision_recall: k"),
    (lambda a, b: metrics.precision_recall(a, b, chunk=0), "precision_recall: chunk"),
    (lambda a, b: metrics.parzen_log_likelihood(a, b, 0.5, chunk=0), "parzen_log_likelihood: chunk"),
    (lambda a, b: metrics.parzen_window(a, b, b, chunk=0), "parzen_log_likelihood: chunk"),
    (lambda a, b: metrics.density_coverage(a, b, k=-1), "density_coverage: k"),
    (lambda a, b: metrics.density_coverage(a, b, k=0), "density_coverage: k"),
    (lambda a, b: metrics.density_coverage(a, b, k=True), "density_coverage: k"),
    (lambda a, b: metrics.knn_radii(a, k=0), "knn_radii: k"),
    (lambda a, b: metrics.inception_score(confident(np.arange(10)), splits=0), "splits"),
    (lambda a, b: metrics.inception_score(confident(np.arange(10)), splits=-3), "splits"),
    (lambda a, b: metrics.inception_score(confident(np.arange(10)), splits=2.5), "splits")])
def test_a_neighbour_count_or_split_count_below_one_is_refused(call, words):
    """Before, k = -1 gave precision and recall 1.0 and a density of -47 (the farthest point
    set each ball), k = 0 precision and recall 0.0 and a ZeroDivisionError in density, and
    0 or -3 splits the inception score of one split, each without a word; a chunk of 0 failed
    in range()."""
    r = np.random.default_rng(0)
    a, b = r.standard_normal((50, 4)), r.standard_normal((60, 4))
    with pytest.raises(ValueError, match="must be >= 1, a whole number") as error:
        call(a, b)
    assert words in str(error.value)
    assert metrics.inception_score(confident(np.arange(10)), splits=20) == \
        metrics.inception_score(confident(np.arange(10)), splits=10)     # one split a sample


@pytest.mark.parametrize("kw, words", [
    ({"min_share": -1}, r"min_share must be a number in \(0, 1\], .*got -1$"),
    ({"min_share": 0}, r"min_share must be .*got 0$"),
    ({"min_share": 2}, r"min_share must be .*got 2$"),
    ({"confident": 1.5}, r"confident must be a probability in \[0, 1\], got 1.5$"),
    ({"confident": np.nan}, r"confident must be a probability in \[0, 1\], got nan$")])
def test_class_statistics_refuses_shares_and_probabilities_outside_their_range(kw, words):
    """A min_share of 0 or below counted all ten classes covered for samples all of one class,
    one above 1 none; a confident of 1.5 or NaN counted no sample confident."""
    probs = confident(np.zeros(20, int))                        # every sample a sure 0
    with pytest.raises(ValueError, match=r"^class_statistics: " + words):
        metrics.class_statistics(probs, **kw)
    stats = metrics.class_statistics(probs, min_share=1, confident=1)
    assert stats["classes_covered"] == 1 and stats["confident_share"] == 1.0


@pytest.mark.parametrize("kw", [{"min_share": np.array(0.5)}, {"confident": np.array(0.9)},
                                {"min_share": np.float32(0.5), "confident": np.float32(0.9)},
                                {"confident": True}])
def test_class_statistics_takes_a_number_as_numpy_gives_it(kw):
    """A 0-d array (a number read back from an .npz, a reduction) was refused as "a number in
    (0, 1]" it is; True stays no probability."""
    probs = confident(np.zeros(20, int))
    if kw.get("confident") is True:
        with pytest.raises(ValueError, match=r"confident must be a probability .*got True$"):
            metrics.class_statistics(probs, **kw)
        return
    stats = metrics.class_statistics(probs, **kw)
    assert stats["classes_covered"] == 1 and stats["confident_share"] == 1.0


@pytest.mark.gpu
def test_class_statistics_takes_a_number_held_on_the_device(gpu_device):
    """A 0-d device array (a share computed on the GPU) is one number too: it was refused, and
    compared with the host's shares it would mix the two devices."""
    backend.use("gpu")
    probs = confident(np.zeros(20, int))
    stats = metrics.class_statistics(probs, min_share=backend.asarray(np.array(0.5)),
                                     confident=backend.asarray(np.array(0.9)))
    assert stats["classes_covered"] == 1 and stats["confident_share"] == 1.0

def test_label_agreement_counts_the_digits_read_as_asked():
    asked = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    read = np.array([0, 1, 0, 0, 2, 2, 1, 1])
    a = metrics.label_agreement(read, asked, n_classes=4)
    assert a["agreement"] == 5 / 8
    assert a["per_class"] == [2 / 3, 2 / 3, 1 / 2, None]       # class 3 never asked
    assert a["least_class"] == 2
    rng = np.random.default_rng(0)                               # G ignoring its label
    asked = np.arange(10000) % 10
    assert abs(metrics.label_agreement(rng.integers(0, 10, 10000), asked)["agreement"]
               - 0.1) < 0.01
    assert metrics.label_agreement(asked, asked)["per_class"] == [1.0] * 10
    assert metrics.label_agreement(asked, asked)["least_class"] == 0        # a tie: the lowest


def test_the_least_class_of_a_label_agreement_is_said_to_be_a_digit():
    """"the least: 2, 50.0%" did not say whether 2 was a digit or a count."""
    a = metrics.label_agreement(np.array([0, 1, 0, 0, 2, 2, 1, 1]),
                                np.array([0, 1, 2, 0, 1, 2, 0, 1]), n_classes=4)
    assert scoring.least_said(a) == "the least: digit 2, 50.0%"


@pytest.mark.parametrize("read, asked, words", [
    (np.array([0, 1]), np.array([0, 1, 2]), "one predicted class per asked label"),
    (np.array([[0, 1]]), np.array([[0, 1]]), "1-D"),
    (np.array([], int), np.array([], int), "got shapes (0,)"),
    (np.array([0.0, 1.0]), np.array([0, 1]), "predicted must hold whole classes"),
    (np.array([0, 10]), np.array([0, 1]), "0 .. 9, got int64 values 0 .. 10"),
    (np.array([0, 1]), np.array([-1, 1]), "asked must hold whole classes")])
def test_label_agreement_refuses_what_it_cannot_count(read, asked, words):
    with pytest.raises(ValueError, match="^label_agreement: ") as error:
        metrics.label_agreement(read, asked)
    assert words in str(error.value)


def test_class_statistics_parzen_and_mode_coverage_refuse_what_they_cannot_score():
    """Before, a NaN row of probabilities was counted as class 0, a NaN sample made every
    Parzen log-likelihood NaN, and a NaN sample fell out of the modes' high-quality share,
    each without a word; modes of another dimension raised NumPy's broadcast error."""
    r = np.random.default_rng(0)
    probs = confident(np.tile(np.arange(10), 10))
    probs[7] = np.nan
    samples, points = r.standard_normal((30, 2)), r.standard_normal((7, 2))
    nan = samples.copy()
    nan[4, 1] = np.nan
    modes = np.array([[0.0, 0.0], [1.0, 1.0]])
    refused = [(lambda: metrics.class_statistics(probs), "finite, non-negative"),
               (lambda: metrics.class_statistics(probs[:0]), r"probs of shape \(0, 10\)"),
               (lambda: metrics.parzen_log_likelihood(nan, points, 0.5), "samples holds NaN"),
               (lambda: metrics.parzen_log_likelihood(samples, points + np.inf, 0.5),
                "points holds NaN or infinite"),
               (lambda: metrics.parzen_log_likelihood(samples, points, 0.0), "sigma must be"),
               (lambda: metrics.parzen_window(samples, points, points, sigmas=[0.1, np.nan]),
                "sigma must be"),
               (lambda: metrics.mode_coverage(nan, modes, 0.1), "samples holds NaN"),
               (lambda: metrics.mode_coverage(samples, modes[:, :1], 0.1),
                "different feature sizes"),
               (lambda: metrics.mode_coverage(samples, modes, -0.1), "std must be"),
               (lambda: metrics.mode_coverage(samples, modes, 0.1, quality_stds=np.nan),
                "quality_stds must be"),
               # one std per mode broadcast against the samples, one per sample: with as
               # many samples as modes it scored each sample by its own row's std
               (lambda: metrics.mode_coverage(samples[:2], modes, np.array([0.1, 1.0])),
                r"std must be one number, got an array of shape \(2,\)"),
               (lambda: metrics.parzen_log_likelihood(samples, points, np.full((2, 1), 0.5)),
                "sigma must be one number or a 1-D array")]
    for call, message in refused:
        with pytest.raises(ValueError, match=message):
            call()
    finite = metrics.parzen_log_likelihood(samples, points, np.array([0.2, 0.5]))
    assert finite.shape == (2, 7) and np.isfinite(finite).all()


def test_frechet_distance_of_commuting_covariances():
    # diagonal covariances: Tr(S1 + S2 - 2 sqrt(S1 S2)) = sum (sqrt(s1) - sqrt(s2))^2
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    d = metrics.frechet_distance(np.zeros(3), np.diag(s1), np.ones(3), np.diag(s2))
    assert d == pytest.approx(3 + ((np.sqrt(s1) - np.sqrt(s2)) ** 2).sum(), rel=1e-12)


@given(n=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
def test_sqrtm_psd_squares_back(n, seed):
    r = np.random.default_rng(seed)
    b = r.standard_normal((n, n))
    a = b @ b.T
    root = metrics.sqrtm_psd(a)
    np.testing.assert_allclose(root @ root, a, atol=1e-9 * np.abs(a).max())
    np.testing.assert_allclose(root, root.T, atol=1e-12 * np.abs(a).max())


def test_precision_recall_self_is_one_and_far_disjoint_set_is_zero():
    r = np.random.default_rng(1)
    a = r.standard_normal((300, 5))
    assert metrics.precision_recall(a, a, chunk=64) == (1.0, 1.0)
    assert metrics.precision_recall(a, a + 100.0, chunk=64) == (0.0, 0.0)


def test_precision_recall_of_a_collapsed_generator():
    r = np.random.default_rng(2)
    real = r.standard_normal((400, 2))
    fake = 0.05 * r.standard_normal((400, 2))               # all samples near the centre
    precision, recall = metrics.precision_recall(real, fake)
    assert precision > 0.95 and recall < 0.2


def test_knn_radii_against_brute_force():
    r = np.random.default_rng(3)
    a = r.standard_normal((50, 3))
    d = np.sqrt(((a[:, None] - a[None]) ** 2).sum(-1))
    np.testing.assert_allclose(metrics.knn_radii(a, k=3, chunk=7), np.sort(d, axis=1)[:, 3],
                               rtol=1e-7, atol=1e-6)


def test_parzen_matches_the_direct_formula_and_survives_far_points():
    r = np.random.default_rng(4)
    s, x = r.standard_normal((30, 4)), r.standard_normal((7, 4))
    sigma = 0.7
    d2 = ((x[:, None] - s[None]) ** 2).sum(-1)
    direct = np.log(np.mean(np.exp(-d2 / (2 * sigma**2)), axis=1)) - 2 * np.log(2 * np.pi * sigma**2)
    np.testing.assert_allclose(metrics.parzen_log_likelihood(s, x, sigma, chunk=3), direct,
                               rtol=1e-10)
    far = metrics.parzen_log_likelihood(s, x + 1e3, 0.1)     # exp underflows without the LSE
    assert np.all(np.isfinite(far)) and np.all(far < -1e7)


def test_parzen_window_picks_the_bandwidth_of_the_data():
    r = np.random.default_rng(5)
    true = 0.3
    samples, valid, test = (true * r.standard_normal((k, 2)) for k in (2000, 500, 500))
    result = metrics.parzen_window(samples, valid, test)
    assert result["sigma"] in metrics.PARZEN_SIGMAS
    assert 0.1 <= result["sigma"] <= 0.3
    expected = -math.log(2 * math.pi * true**2) - 1.0     # E log N(x; 0, 0.3^2 I) in 2-D
    assert result["mean"] == pytest.approx(expected, abs=0.15)
    assert 0 < result["se"] < 0.1


def test_mode_coverage_on_hand_placed_samples():
    modes = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    std = 0.01
    samples = np.array([
        [0.0, 0.02],      # mode 0, 2 stds away: high quality
        [0.0, -0.029],    # mode 0, 2.9 stds
        [1.0, 0.0],       # mode 1, exactly on it
        [1.0, 0.05],      # nearest mode 1 but 5 stds away: low quality
        [0.5, 0.5],       # between modes: low quality
        [0.03, 1.0],      # mode 2 at exactly 3 stds: counts (within)
    ])
    out = metrics.mode_coverage(samples, modes, std)
    assert out["counts"] == [2, 1, 1, 0]
    assert out["modes_covered"] == 3
    assert out["high_quality"] == pytest.approx(4 / 6)
    q = np.array([0.5, 0.25, 0.25])
    assert out["reverse_kl"] == pytest.approx(float((q * np.log(4 * q)).sum()))
    uniform = metrics.mode_coverage(modes.repeat(5, axis=0), modes, std)
    assert uniform["reverse_kl"] == pytest.approx(0.0) and uniform["modes_covered"] == 4
    assert metrics.mode_coverage(modes + 5.0, modes, std)["reverse_kl"] is None
    # plain lists, as before the checks of finite sets of one dimension came in front
    assert metrics.mode_coverage(samples.tolist(), modes.tolist(), std) == out


def test_tstr_trains_on_a_random_subset_of_the_larger_set(monkeypatch):
    """Generated digits come sorted by class: the classifier must not see only the first
    classes of the larger set, and both classifiers train on the same number of digits."""
    from minigan.lab import classifier
    seen = []
    monkeypatch.setattr(classifier, "train_classifier",
                        lambda x, y, **kw: seen.append(np.bincount(y, minlength=10)) or None)
    monkeypatch.setattr(classifier, "Classifier",
                        lambda net: type("C", (), {"accuracy": lambda self, x, y: 0.5})())
    x_sorted = np.zeros((1000, 784), np.float32)
    y_sorted = np.repeat(np.arange(10), 100)                    # 0 .. 0, 1 .. 1, ...
    x_real, y_real = np.zeros((300, 784), np.float32), np.arange(300) % 10
    scores = metrics.tstr(x_sorted, y_sorted, x_real, y_real, x_real, y_real)
    assert scores["n_train"] == 300 and [c.sum() for c in seen] == [300, 300]
    assert (seen[0] > 10).all()                                 # every class, about 30 each
    np.testing.assert_array_equal(seen[1], np.bincount(y_real))


def test_tstr_on_labelled_real_data_and_on_wrong_labels(blobs):
    x, y = blobs(300, 0)
    xt, yt = blobs(200, 1)
    good = metrics.tstr(x, y, x, y, xt, yt, epochs=2)
    assert good["tstr"] == good["trtr"] >= 0.9 and good["n_train"] == 300
    shuffled = metrics.tstr(x, (y + 1) % 10, x, y, xt, yt, epochs=2)   # every label wrong
    assert shuffled["tstr"] < 0.2 and shuffled["trtr"] >= 0.9


def test_a_point_on_a_ball_s_edge_is_inside_it():
    """The balls are closed: a set scored against itself puts each ball's centre and its k
    nearest neighbours inside it, density (k + 1) / k. The radii were square roots squared
    again, which rounding moved below the squared distance to the k-th neighbour for a
    quarter of the balls (density 1.15 here)."""
    real = np.random.default_rng(0).standard_normal((200, 8))
    density, coverage = metrics.density_coverage(real, real, k=5)
    assert density == pytest.approx(1.2, abs=1e-12) and coverage == 1.0
    assert metrics.precision_recall(real, real, k=3) == (1.0, 1.0)


def test_a_ball_s_edge_is_inside_it_in_float32_and_in_chunks():
    """float32 features, and more of them than a chunk: a matrix product's
    rounding moves with the side a row is on and the chunk's size, so the distance of a
    centre's k-th neighbour, computed with the points as rows, left it outside its ball for
    about one ball in twenty (density 1.189 here at chunk 64)."""
    real = np.random.default_rng(0).standard_normal((200, 64)).astype(np.float32)
    density, coverage = metrics.density_coverage(real, real, k=5, chunk=64)
    assert density == pytest.approx(1.2, abs=1e-12) and coverage == 1.0


def test_float32_features_far_from_zero_are_measured_as_in_float64():
    """The neighbour measures expand |a - b|^2 = |a|^2 + |b|^2 - 2 a.b, which cancels in
    float32 for features around 1e4 with a spread of 1 (precision and recall (1.0, 1.0) and
    density 17.1 where float64 gave (1.0, 0.025) and 1.6): they measure in float64."""
    rng = np.random.default_rng(0)
    real = np.repeat(1e4 + rng.standard_normal((40, 64)), 4, axis=0)
    fake = np.repeat(real[:1], 20, axis=0)           # one real point, over and over
    for call in (metrics.precision_recall, metrics.density_coverage):
        expected = call(real, fake)
        assert call(real.astype(np.float32), fake.astype(np.float32)) == \
            pytest.approx(call(real.astype(np.float32).astype(np.float64),
                               fake.astype(np.float32).astype(np.float64)), abs=1e-12)
        assert call(real.astype(np.float32), fake.astype(np.float32)) == \
            pytest.approx(expected, abs=1e-3)
    assert metrics.precision_recall(real, fake)[1] == pytest.approx(1 / 40)  # one of 40 points
    assert metrics.knn_radii(real.astype(np.float32)).dtype == np.float64


def test_distances_of_whole_numbers_are_those_of_their_floats():
    """The neighbour metrics squared uint8 pixels in uint8 (200**2 is 64): precision and
    recall (1.0, 0.0) where the same digits as floats gave (0.0, 0.0). Whole numbers and
    booleans are measured in float64, lists read as arrays, complex numbers refused."""
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (40, 30)).astype(np.uint8)
    fake = real.copy()
    fake[:, :15] = 0                               # half of each fake black: far from real
    for dtype in (np.uint8, np.int32, np.int64, bool):
        r, f = real.astype(dtype), fake.astype(dtype)
        r64, f64 = r.astype(np.float64), f.astype(np.float64)
        assert metrics.precision_recall(r, f) == metrics.precision_recall(r64, f64)
        assert metrics.density_coverage(r, f) == metrics.density_coverage(r64, f64)
        np.testing.assert_array_equal(metrics.knn_radii(r), metrics.knn_radii(r64))
        np.testing.assert_array_equal(metrics.squared_distances(r, f),
                                      metrics.squared_distances(r64, f64))
    r64, f64 = real.astype(np.float64), fake.astype(np.float64)
    brute = ((r64[:, None] - f64[None]) ** 2).sum(-1)          # each distance by its definition
    np.testing.assert_allclose(metrics.squared_distances(real, fake), brute, rtol=1e-12)
    assert metrics.precision_recall(real.tolist(), fake.tolist()) == \
        metrics.precision_recall(r64, f64)
    with pytest.raises(TypeError, match="real of dtype complex128: features are real numbers"):
        metrics.precision_recall(real + 0j, fake)
    with pytest.raises(ValueError, match=r"knn_radii: features holds 3 rows; this measure "
                                         "needs at least 4"):
        metrics.knn_radii(real[:3])
    assert metrics.fid(real[:, :1], fake[:, :1]) > 0       # one feature: a (1, 1) covariance
    with pytest.raises(ValueError, match=r"frechet_distance: means of shape \(d,\) and "
                                         r"covariances \(d, d\) of one d, got mu1 \(3,\)"):
        metrics.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_tstr_and_train_classifier_refuse_pixels_that_are_not_digits_in_0_1(blobs):
    """Pixels in [-1, 1] trained a classifier (TSTR 0.09 where the same digits in [0, 1]
    scored 0.18), [0, 255] and NaN pixels too, without a word; other sizes failed in a
    reshape."""
    from minigan.lab import classifier

    x, y = blobs(50, 0)
    x = x.reshape(50, 784)
    for images, said in ((x * 2 - 1, r"look like \[-1, 1\]"),
                         (x * 255, r"look like \[0, 255\]"),
                         (np.full_like(x, np.nan), "NaN or infinite pixels"),
                         (x[:0], "no digits to score"),
                         (np.zeros((50, 32, 32), np.float32), r"shape \(50, 32, 32\)")):
        with pytest.raises(ValueError, match="train_classifier: images.*" + said):
            classifier.train_classifier(images, y[:len(images)], epochs=1)
        with pytest.raises(ValueError, match="tstr: x_synthetic.*" + said):
            metrics.tstr(images, y[:len(images)], x, y, x, y, epochs=1)
    for labels, said in ((y % 11 + (y == 0) * 10, "labels must be whole classes 0 to 9"),
                         (np.full((50, 10), -0.1), r"targets must be probabilities in \[0, 1\] "
                                                   r"\(rows of class probabilities")):
        with pytest.raises(ValueError, match="^train_classifier: softmax_cross_entropy: " + said):
            classifier.train_classifier(x, labels, epochs=1, log=_no_epoch)


def _no_epoch(line):
    raise AssertionError(f"trained before its labels were checked: {line}")
