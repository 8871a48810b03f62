"""The lab's protocol on constructed cases: a real row from the same population as the
reference, scores of equal counts, a warning for digits the generator trained on, copies
flagged as copies, and degenerate generators ranked last or marked on every line."""

import numpy as np
import pytest

from minigan.data import load_mnist
from minigan.lab import metrics, scoring


def test_the_split_is_seeded_stratified_and_disjoint():
    labels = np.random.default_rng(3).integers(0, 10, 1000)
    a, b = scoring.stratified_split(labels, 500)
    again = scoring.stratified_split(labels, 500)
    assert np.array_equal(a, again[0]) and np.array_equal(b, again[1])    # the same every time
    assert len(a) == 500 and len(b) == 500 and not set(a) & set(b)
    assert set(a) | set(b) == set(range(1000))
    shares = [np.bincount(labels[part], minlength=10) / len(part) for part in (a, b)]
    np.testing.assert_allclose(shares[0], shares[1], atol=0.01)
    assert not np.array_equal(a, np.arange(500))                           # not the ordered cut
    for count in (0, 1000):                                                # all to one part
        a, b = scoring.stratified_split(labels, count)
        assert len(a) == count and len(b) == 1000 - count
    for wrong in (1001, -1, 2.5, True):        # an IndexError from deep inside, or a wrong cut
        with pytest.raises(ValueError, match="first should be a count of labels from 0 to 1,000"):
            scoring.stratified_split(labels, wrong)


@pytest.fixture(scope="module")
def ref(real_mnist):
    return scoring.Reference.load(real_mnist, download=False, trained_on="test")


@pytest.fixture(scope="module")
def test_digits(real_mnist):
    return load_mnist("test", data_dir=real_mnist, scale="sigmoid", download=False)


@pytest.mark.slow
def test_the_real_row_is_of_the_reference_s_population(ref, test_digits):
    """MNIST's ordered halves come from two populations (FID 18 between them); the lab's
    random halves from one (FID about 1)."""
    x = test_digits[0]
    feats = ref.classifier.features_and_probs(x)[0]
    ordered = metrics.fid(feats[:5000], feats[5000:])
    real = ref.real_row()
    assert ordered > 10 and real["fid"] < 3, (ordered, real["fid"])
    assert real["n"] == len(ref.held_out) == 5000


@pytest.mark.slow
def test_generated_and_real_digits_are_scored_on_as_many(ref, test_digits):
    scores = scoring.score_images(np.concatenate([test_digits[0]] * 2), ref, parzen=False)
    assert scores["n"] == scores["n_compared"] == 5000


@pytest.mark.slow
def test_a_run_trained_on_the_digits_scored_is_told_so(ref, real_mnist):
    assert ref.caveat and "trained on the MNIST test split" in ref.caveat
    assert "trained on the test split" in ref.description
    clean = scoring.Reference.load(real_mnist, classifier=ref.classifier, download=False,
                                   trained_on="train")
    assert clean.caveat is None


@pytest.mark.slow
def test_copies_of_the_training_digits_are_flagged_and_new_digits_are_not(ref, test_digits):
    x, y = test_digits
    a, b = scoring.stratified_split(y, 5000)
    # a generator trained on the digits a: the digits b are new to it
    lab = scoring.Reference(x[a], x[b], ref.classifier, "a test", training=x[a])
    copies = scoring.memorisation(x[a][:2000], lab)
    assert copies["copies"] > 0.9 and copies["pixels_generated"] < 1e-6
    fresh = scoring.memorisation(x[b][2000:4000], lab)          # real digits it never saw
    assert fresh["copies"] < 0.05, fresh
    real = lab.real_row(2000, parzen=False)
    copied = scoring.score_images(x[a][:2000], lab, parzen=False)
    copied["memorisation"] = copies
    assert any("copies its training digits" in w for w in scoring.warnings(copied, real, lab))
    new = scoring.score_images(x[b][2000:4000], lab, parzen=False)
    new["memorisation"] = fresh
    assert scoring.warnings(new, real, lab) == []
    # a run trained on every test digit, where only they are at hand: each held-out digit
    # is measured to its nearest other training digit
    assert ref.training is not None and (ref.held_out_in_training >= 0).all()
    assert scoring.memorisation(ref.held_out[:500], ref)["copies"] > 0.9


@pytest.mark.parametrize("case", ["blank", "one digit"])
@pytest.mark.slow
def test_a_degenerate_generator_ranks_last_or_is_marked(case, ref):
    n = 2000
    images = np.zeros((n, 784), np.float32) if case == "blank" else \
        np.repeat(ref.held_out[7:8], n, axis=0)
    bad = scoring.score_images(images, ref, parzen=False)
    real = ref.real_row(n, parzen=False)
    good = scoring.score_images(ref.held_out[::-1][:n], ref, parzen=False)   # real digits
    for key, better in (("inception_score", max), ("classes_covered", max), ("fid", min),
                        ("recall", max), ("coverage", max)):
        assert better(bad[key], good[key]) == good[key] != bad[key], key
    table = scoring.format_table(bad, real, ref)
    for line in table.splitlines():
        if line.startswith(("precision", "density", "confident share")):
            assert "\u2021" in line, line                 # the lines that cannot see it
    assert any("collapsed" in w for w in scoring.warnings(bad, real, ref))


def test_the_parzen_window_s_validation_digits_are_a_random_choice(ref, test_digits,
                                                                   monkeypatch):
    """The bandwidth is chosen on 1,000 held-out digits and the log-likelihood measured on
    the others: the first 1,000 were all of the test split's cleaner population (digits
    0-4,999), and the rest held less of it. Both parts are a random choice now, about
    half of each population, and together every held-out digit once."""
    where = {row.tobytes(): i for i, row in enumerate(test_digits[0].astype(np.float32))}
    seen = {}

    def record(centres, valid, test, *args, **kwargs):
        seen["valid"] = [where[row.tobytes()] for row in np.asarray(valid, np.float32)]
        seen["test"] = [where[row.tobytes()] for row in np.asarray(test, np.float32)]
        return {"sigma": 0.2, "mean": 0.0, "se": 0.0, "n_samples": len(test)}

    monkeypatch.setattr(metrics, "parzen_window", record)
    scoring.score_images(ref.held_out[:200], ref)
    assert len(seen["valid"]) == 1000 and len(seen["test"]) == len(ref.held_out) - 1000
    assert sorted(seen["valid"] + seen["test"]) == sorted(where[row.tobytes()]
                                                          for row in ref.held_out)
    for part in ("valid", "test"):
        later = np.mean(np.asarray(seen[part]) >= 5000)
        assert 0.4 < later < 0.6, (part, later)


def test_fewer_digits_than_the_halves_hold_are_a_random_choice_of_them(ref, test_digits,
                                                                        monkeypatch):
    """Both halves keep the test split's order, whose first 5,000 digits are cleaner than the
    rest: the first 2,000 of either are all of the cleaner population. The real row of 2,000
    digits (``--eval-n``'s default) and the reference digits generated ones are compared with
    are a random choice of each half instead (the real row's FID was 6.2 on the first 2,000,
    about 2 on a random 2,000)."""
    where = {row.tobytes(): i for i, row in enumerate(test_digits[0].astype(np.float32))}
    seen = {}

    def record(images, ref, parzen=True, real=False):
        seen["held_out"] = [where[row.tobytes()] for row in np.asarray(images, np.float32)]
        return {"n": len(images)}

    saved = ref._real_rows.pop(2000, None)            # scored by another test
    with monkeypatch.context() as patch:
        patch.setattr(scoring, "score_images", record)
        ref.real_row(2000, parzen=False)
    ref._real_rows.pop(2000)
    if saved is not None:
        ref._real_rows[2000] = saved

    class Compared(Exception):
        pass

    def compared(real, fake, *args, **kwargs):
        rows = [int(np.flatnonzero((ref.ref_features == f).all(axis=1))[0]) for f in real]
        seen["reference"] = [where[ref.reference[r].tobytes()] for r in rows]
        raise Compared

    monkeypatch.setattr(metrics, "precision_recall", compared)
    with pytest.raises(Compared):
        scoring.score_images(ref.held_out[:200], ref, parzen=False)
    for part, count in (("held_out", 2000), ("reference", 200)):
        later = np.mean(np.asarray(seen[part]) >= 5000)
        assert len(set(seen[part])) == count and 0.35 < later < 0.65, (part, later)
