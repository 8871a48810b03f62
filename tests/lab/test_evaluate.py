"""minigan eval: every score beside the real held-out row, eval.json, the trainer's hook."""

import json
import re
import types

import matplotlib.pyplot as plt
import numpy as np
import pytest

from minigan.app import cli
from minigan.data import load_mnist
from minigan.lab import metrics, scoring
from minigan.lab.classifier import load_default
from minigan.nn import layers


@pytest.fixture(scope="module")
def ref(real_mnist):
    x = load_mnist("test", data_dir=str(real_mnist), scale="sigmoid", download=False)[0]
    return scoring.Reference(x[:1000], x[5000:6000], load_default(), "test slices")


def test_real_row_scores_real_digits_as_real(ref):
    real = ref.real_row()
    assert real["classes_covered"] == 10 and real["inception_score"] > 8
    assert real["precision"] > 0.6 and real["recall"] > 0.6
    assert np.isfinite(real["parzen_mean"]) and real["parzen_se"] > 0


def test_the_real_row_is_scored_on_as_many_digits_as_the_generated_one(ref):
    """FID and precision/recall move with the count, so a real row beside 300 generated
    digits is scored on 300 held-out digits, not on all of them."""
    few, every = ref.real_row(300, parzen=False), ref.real_row(parzen=False)
    assert few["n"] == few["n_compared"] == 300 and every["n"] == len(ref.held_out) == 1000
    assert few["fid"] > every["fid"]                # fewer digits: a larger (biased) FID
    assert ref.real_row(300, parzen=False) is few   # computed once per count
    assert ref.real_row(5000, parzen=False)["n"] == 1000    # at most the held-out digits
    digits = np.asarray(ref.held_out[scoring.sample_rows(1000, 300)])   # a random 300
    np.testing.assert_allclose(scoring.score_images(digits, ref, parzen=False, real=True)["fid"],
                               few["fid"])


def test_the_real_rows_inception_score_splits_a_random_order_of_its_digits(real_mnist, ref):
    """Held-out digits in an order of their own (the test split's two populations one after
    the other, or here sorted by class) are scored in a seeded random order: the inception
    score's splits are runs of the digits as given, so sorted by class each split held one
    or two classes and the row scored 1.3 (9.7 in a random order)."""
    x, y = load_mnist("test", data_dir=str(real_mnist), scale="sigmoid", download=False)
    by_class = x[5000:6000][np.argsort(y[5000:6000], kind="stable")]
    sorted_ref = scoring.Reference(ref.reference, by_class, ref.classifier, "sorted")
    assert scoring.score_images(by_class, sorted_ref, parzen=False)["inception_score"] < 3
    real = sorted_ref.real_row(parzen=False)
    as_split = ref.real_row(parzen=False)              # the same digits in the split's order
    assert real["inception_score"] == pytest.approx(as_split["inception_score"], abs=0.3)
    assert real["inception_score"] > 8 and real["fid"] == pytest.approx(as_split["fid"])


@pytest.mark.slow
def test_eval_scores_a_file_of_digits_sorted_by_class_as_in_a_random_order(real_mnist, ref,
                                                                           tmp_path, capsys):
    """A file's digits sorted by class (a conditional generator's, say) are read as a seeded
    random --n in a random order: before, its first --n held the first classes only and
    the inception score's splits one class each (IS 1.3 on 1,000 real digits)."""
    x, y = load_mnist("test", data_dir=str(real_mnist), scale="sigmoid", download=False)
    order = np.argsort(y[5000:6000], kind="stable")
    np.save(tmp_path / "sorted.npy", x[5000:6000][order])
    base = ["--data-dir", str(real_mnist), "--no-download", "--no-parzen", "--device", "cpu"]
    assert cli.main(["eval", str(tmp_path / "sorted.npy"), *base, "--n", "600"]) == 0
    scores = json.loads((tmp_path / "sorted_eval.json").read_text())["generated"]
    assert scores["classes_covered"] == 10 and scores["inception_score"] > 8
    assert min(scores["histogram"]) > 0.05     # the first 600 sorted: classes 0 to 5 only
    assert "a random 600 of its 1,000 digits" in capsys.readouterr().out
    assert (tmp_path / "sorted_eval_classes.png").stat().st_size > 0
    (tmp_path / "sorted_eval_classes.png").unlink()
    (tmp_path / "sorted_eval_classes.png").mkdir()       # refused before the scoring, not after
    assert cli.main(["eval", str(tmp_path / "sorted.npy"), *base, "--out",
                     str(tmp_path / "again.json")]) == 0
    assert cli.main(["eval", str(tmp_path / "sorted.npy"), *base]) == 2
    assert "sorted_eval_classes.png is a folder" in capsys.readouterr().err


def test_score_images_hands_back_the_class_read_in_each_scored_digit(ref):
    """classes_out gets the classes of the scoring's own pass of the classifier: what
    predict() reads, digit for digit, for the m digits scored (eval's picture of the
    classes read them from a second pass over all of them)."""
    digits = np.asarray(ref.held_out)                 # m: as many as ref holds, 1,000
    classes = []
    scoring.score_images(np.concatenate([digits, digits[:300]]), ref, parzen=False,
                         classes_out=classes)
    assert len(classes) == 1 and len(classes[0]) == len(digits)
    np.testing.assert_array_equal(classes[0], ref.classifier.predict(digits))


@pytest.mark.slow
def test_eval_of_a_file_draws_its_classes_from_the_scoring_pass(real_mnist, ref, tmp_path,
                                                                monkeypatch):
    """The picture of the classes takes the classes the scores were read from: eval of a
    file runs the classifier over its digits once (a second pass took 1.5 s of 10,000)."""
    from minigan.lab import classifier

    x = load_mnist("test", data_dir=str(real_mnist), scale="sigmoid", download=False)[0]
    np.save(tmp_path / "digits.npy", x[5000:5300])
    passes = []
    real = classifier.Classifier.features_and_probs

    def counted(self, images, *args, **kwargs):
        passes.append(len(images))
        return real(self, images, *args, **kwargs)

    monkeypatch.setattr(classifier.Classifier, "features_and_probs", counted)
    assert cli.main(["eval", str(tmp_path / "digits.npy"), "--data-dir", str(real_mnist),
                     "--no-download", "--no-parzen", "--device", "cpu", "--n", "300"]) == 0
    assert passes.count(300) == 2, passes       # the file's digits and the real row's
    assert (tmp_path / "digits_eval_classes.png").stat().st_size > 0


def test_the_report_says_how_many_real_digits_its_real_column_scored(ref):
    """Beside 300 generated digits the real column scores 300 of the 1,000 held-out ones,
    and the report's last line says so rather than leaving the whole real row's count."""
    digits = np.asarray(ref.held_out[:300])
    scores = scoring.score_images(digits, ref, parzen=False)
    last = scoring.format_table(scores, ref.real_row(300, parzen=False), ref).splitlines()[-1]
    assert last.startswith("test slices") and "scores 300 of the 1,000 held-out" in last
    every = scoring.format_table(ref.real_row(parzen=False), ref.real_row(parzen=False), ref)
    assert every.splitlines()[-1] == "test slices"     # all of them: nothing to add


@pytest.mark.gpu
def test_the_label_agreement_reads_the_labels_asked_for_on_the_gpu_as_on_the_host(ref):
    """score_images(asked=) takes the labels as NumPy or CuPy, as it takes the digits: a
    conditional generator's labels drawn on the GPU were refused (NumPy's implicit
    conversion), and the prefix of the labels scored is the prefix of the digits."""
    from minigan import backend

    digits = np.asarray(ref.held_out[:300])
    asked = np.arange(300) % 10
    host = scoring.score_images(digits, ref, parzen=False, asked=asked)["label_agreement"]
    backend.use("gpu")
    device = scoring.score_images(backend.asarray(digits), ref, parzen=False,
                                  asked=backend.asarray(asked))["label_agreement"]
    assert device == host and host["agreement"] < 0.5      # the held-out digits' own classes


@pytest.mark.gpu
def test_a_reference_takes_its_training_digits_on_the_gpu_as_its_other_digits(ref):
    """Reference(training=) read a CuPy array with np.asarray (which CuPy refuses) where
    its reference and held-out digits go through the host."""
    from minigan import backend

    backend.use("gpu")
    on_device = scoring.Reference(backend.asarray(ref.reference[:100]),
                                  backend.asarray(ref.held_out[:100]), ref.classifier,
                                  training=backend.asarray(ref.reference[:50]))
    assert isinstance(on_device.training, np.ndarray)
    np.testing.assert_array_equal(on_device.training, ref.reference[:50])


def test_too_few_digits_are_refused(real_mnist, ref, tmp_path, capsys):
    with pytest.raises(ValueError, match="at least 20 digits"):
        scoring.score_images(np.asarray(ref.held_out[:19]), ref, parzen=False)
    assert cli.main(["eval", str(tmp_path), "--n", "3", "--data-dir", str(real_mnist),
                     "--device", "cpu"]) == 2
    assert "--n must be at least 20" in capsys.readouterr().err


def test_digits_of_any_common_layout_score_alike_and_other_ranges_are_refused(ref):
    """Digits from elsewhere: (N, 28, 28), (N, 1, 28, 28), channels-last and float64 score as
    (N, 784) does; [-1, 1] and [0, 255] pixels, NaNs and other shapes are refused with the
    remedy (scored as they were, [0, 255] digits gave a better inception score than [0, 1] and FID 3.5e7)."""
    digits = np.asarray(ref.held_out[:200])
    fid = scoring.score_images(digits, ref, parzen=False)["fid"]
    for same in (digits.reshape(-1, 28, 28), digits.reshape(-1, 1, 28, 28),
                 digits.reshape(-1, 28, 28, 1), digits.astype(np.float64)):
        assert scoring.score_images(same, ref, parzen=False)["fid"] == pytest.approx(fid)
    nan = digits.copy()
    nan[7, 3] = np.nan
    refused = {"pass (x + 1) / 2": digits * 2 - 1,
               "pass x / 255": (digits * 255).astype(np.uint8),
               "1 of 200 digit holds NaN or infinite pixels (the first: digit 7)": nan,
               "shape (200, 32, 32)": np.zeros((200, 32, 32), np.float32),
               "shape (200, 3, 28, 28)": np.repeat(digits.reshape(-1, 1, 28, 28), 3, axis=1),
               "clip them": digits * 1.5 - 0.2}
    for message, images in refused.items():
        with pytest.raises(ValueError, match=re.escape(message)):
            scoring.score_images(images, ref, parzen=False)
    with pytest.raises(ValueError, match="held_out: pixels from -1"):
        scoring.Reference(digits, digits * 2 - 1, ref.classifier)


@pytest.mark.slow
def test_eval_scores_a_npy_file_of_digits_drawn_elsewhere(real_mnist, ref, tmp_path, capsys):
    """minigan eval DIGITS.npy: the table of score_images for digits of another library, in
    [-1, 1] with --scale tanh; a file whose pixels do not fit --scale is refused, naming the
    --scale they fit (before: 'not a minigan checkpoint')."""
    digits = np.asarray(ref.held_out[:200])
    np.save(tmp_path / "g.npy", (digits * 2 - 1).reshape(-1, 1, 28, 28))
    np.savez(tmp_path / "g8.npz", (digits * 255).astype(np.uint8).reshape(-1, 28, 28, 1))
    np.save(tmp_path / "bright.npy", digits * 1.5)          # no known range: not 8-bit pixels
    np.save(tmp_path / "one.npy", np.float32(0.5))
    np.save(tmp_path / "text.npy", np.array(["a"] * 30))
    np.save(tmp_path / "complex.npy", digits.astype(complex))
    base = ["--data-dir", str(real_mnist), "--no-download", "--no-parzen", "--device", "cpu"]
    assert cli.main(["eval", str(tmp_path / "g.npy"), "--scale", "tanh", *base]) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "g_eval.json").read_text())
    assert report["scale"] == "tanh" and report["generated"]["n"] == 200
    assert "FID (200 vs reference)" in out and f"{report['generated']['fid']:.2f}" in out
    fid = report["generated"]["fid"]
    assert report["real_held_out"]["n"] == 200 and 0 < fid < 100
    assert cli.main(["eval", str(tmp_path / "g8.npz"), "--scale", "255", *base,
                     "--out", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["generated"]["fid"] == \
        pytest.approx(fid, rel=1e-4)
    capsys.readouterr()
    assert cli.main(["eval", str(tmp_path / "g.npy"), "--scale", "tanh", "--n", "50", *base,
                     "--out", str(tmp_path / "n.json")]) == 0
    assert "a random 50 of its 200 digits" in capsys.readouterr().out
    assert json.loads((tmp_path / "n.json").read_text())["generated"]["n"] == 50
    for args, message in ((["g.npy"], "look like [-1, 1], not the [0, 1] of --scale sigmoid "
                                      "(the default): give --scale tanh"),
                          (["g8.npz"], "look like [0, 255]"),
                          (["g.npy", "--scale", "255"], "give --scale tanh"),
                          (["g.npy", "--scale", "tanh", "--draws", "3", "--no-ema"],
                           "--draws and --no-ema set a generator's scoring"),
                          (["g.npy", "--tstr-epochs", "5"],          # the default's 5 passed
                           "--tstr-epochs sets a generator's scoring"),
                          (["g.npy", "--scale", "tanh", "--seed", "0", "--draws", "1"],
                           "--seed and --draws set a generator's scoring"),   # the defaults passed
                          (["bright.npy", "--scale", "255"], "in none of [0, 1], [-1, 1], "
                                                              "[0, 255]"),   # scored / 255
                          (["one.npy"], "holds one value of dtype float32"),   # an IndexError
                          (["text.npy"], "holds an array of dtype <U1"),       # 'could not convert'
                          (["complex.npy"], "holds an array of dtype complex128")):   # scored
        assert cli.main(["eval", str(tmp_path / args[0]), *args[1:], *base]) == 2
        assert message in capsys.readouterr().err


class Constant(layers.Layer):
    """A collapsed generator: the same digit whatever the noise."""

    def __init__(self, digit):
        super().__init__()
        self.digit = digit

    def forward(self, z):
        return np.repeat(self.digit[None], len(z), axis=0)


def test_a_collapsed_generator_scores_as_collapsed(ref):
    g = Constant(ref.held_out[7])
    rng = np.random.default_rng(0)
    scores = scoring.evaluate_generator(g, lambda m: rng.standard_normal((m, 4)), 600, ref,
                                         parzen=False)
    assert scores["n"] == 600 and scores["n_compared"] == 600
    assert scores["classes_covered"] == 1
    assert scores["inception_score"] == pytest.approx(1.0, abs=1e-6)
    assert scores["recall"] < 0.05
    assert scores["fid"] > 10 * ref.real_row()["fid"]
    assert "parzen_mean" not in scores
    assert g.training                                       # the generator's mode is restored


def _scores_of_features(fake, real_f, classes):
    """The scores the collapse and unlike warnings read, of features ``fake`` against the
    reference features ``real_f`` (what score_images computes from the classifier's)."""
    p, r = metrics.precision_recall(real_f, fake)
    density, coverage = metrics.density_coverage(real_f, fake)
    return {"precision": p, "recall": r, "density": density, "coverage": coverage,
            "confident_share": 1.0, "classes_covered": classes}


@pytest.mark.parametrize("share, said", [(0.0, "unlike"), (0.05, "unlike"),
                                         (0.3, "collapse"), (1.0, "collapse")])
def test_noise_is_told_apart_from_a_collapse_onto_one_class(share, said):
    """Features of ten classes; the generated ones a ``share`` of copies of one class's
    (a generator collapsed onto it) and the rest far from every real feature (noise, which
    the classifier reads somewhere no digit is). Pure noise covers nothing, as a collapse
    covers little, and was called mode collapse; digits that look like none of the real
    ones (precision and density under a tenth of the real row's) are named so instead, and
    a collapse is said where some of the digits look real (0.3 of them: precision 0.3)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 6, (10, 8))
    real_f = (centres[np.arange(1000) % 10] + rng.normal(0, 1, (1000, 8))).astype(np.float32)
    held = (centres[np.arange(1000) % 10] + rng.normal(0, 1, (1000, 8))).astype(np.float32)
    real = _scores_of_features(held, real_f, 10)
    n, like = 1000, int(share * 1000)
    copies = held[0::10][rng.integers(0, 100, like)]     # of class 0's held-out features
    noise = rng.normal(0, 1, (n - like, 8)).astype(np.float32) + 100
    fake = _scores_of_features(np.concatenate([copies, noise]), real_f, 1)
    assert fake["coverage"] < 0.5 * real["coverage"]     # both cover little of the data
    unlike, collapse = scoring.unlike_warning(fake, real), scoring.collapse_warning(fake, real)
    assert scoring.looks_like_no_digit(fake, real) == (said == "unlike")
    if said == "unlike":
        assert collapse is None and "look like none of the real ones" in unlike
        assert "confident share 1.000, 1 class covered), which says nothing" in unlike
        assert "not trained yet" in unlike and "pixels' scale" not in unlike    # a run's
        of_file = scoring.unlike_warning(fake, real, of_file=True)
        assert "pixels' scale" in of_file and "had trained" in of_file
        assert scoring.warnings(fake, real, types.SimpleNamespace(caveat=None),
                                of_file=True) == [of_file]
    else:
        assert unlike is None and "(mode collapse)" in collapse
    lab = types.SimpleNamespace(caveat=None)
    assert scoring.warnings(fake, real, lab) == [unlike or collapse]
    assert scoring.warnings(real, real, lab) == []      # real features: neither


def test_eval_of_a_file_of_noise_says_it_looks_like_no_digit_not_mode_collapse(data_dir,
                                                                               tmp_path,
                                                                               capsys):
    """minigan eval NOISE.npy: precision, density and coverage 0, and the report said the
    generator had collapsed onto part of the data, beside a confident share of 1.000; it
    says the digits look like none of the real ones, and what to check."""
    np.save(tmp_path / "noise.npy", np.random.default_rng(0).random((100, 784)).astype("f4"))
    assert cli.main(["eval", str(tmp_path / "noise.npy"), "--no-parzen", "--data-dir",
                     str(data_dir), "--no-download", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "noise_eval.json").read_text())
    assert report["generated"]["precision"] == report["generated"]["density"] == 0
    said = [w for w in report["warnings"] if "look like none of the real ones" in w]
    assert len(said) == 1 and f"warning: {said[0]}" in out
    assert "pixels' scale and layout" in said[0]            # a file's advice, not a run's
    assert "collapse" not in out.replace("not a collapse", "")
    assert report["generated"]["copies_of_real"]["copies"] == 0      # none is a real digit
    assert "are copies of the real digits" not in out


def test_copies_of_the_real_digits_are_counted_whatever_round_trip_they_made(real_mnist, ref):
    """Digits of the reference and of the real row, saved as 8-bit pixels or as a tanh's
    float16 and read back, among noise: each is a copy (every pixel within half an 8-bit
    level of a real digit's), counted by the set it copies; a pixel moved by more is not."""
    rng = np.random.default_rng(0)
    tanh16 = ((ref.held_out[10:20] * 2 - 1).astype(np.float16).astype(np.float32) + 1) / 2
    near = ref.reference[30:32].copy()
    near[:, 0] += 0.4 / 255                       # the corner pixel, black in every digit
    copies = np.concatenate([ref.reference[:30], near,
                             (ref.held_out[:10] * 255).round().astype(np.uint8) / 255, tanh16])
    moved = ref.reference[40:42].copy()
    moved[:, 0] += 0.6 / 255                      # over half a level: a digit of its own
    images = np.concatenate([copies, moved, rng.random((246, 784), dtype=np.float32)])
    order = rng.permutation(len(images))
    found = scoring.copies_of_real(images[order], ref)
    assert (found["copies"], found["n"], found["reference"], found["held_out"]) == (52, 300, 32, 20)
    assert found["share"] == pytest.approx(52 / 300)
    assert found["first"] == sorted(np.flatnonzero(order < len(copies)))[:10]
    said = scoring.copies_warning(found)
    assert said.startswith("52 of the 300 scored digits (17.3%) are copies of the real digits "
                           "they are scored against (32 of the reference digits, 20 of the "
                           "real row's held-out digits;")
    assert "the scores of copies flatter" in said and "not MNIST's test digits" in said
    x = load_mnist("test", data_dir=str(real_mnist), scale="sigmoid", download=False)[0]
    other = scoring.copies_of_real(x[2000:2300], ref)     # test digits ref does not hold
    assert other["copies"] == 0 and scoring.copies_warning(other) is None
    # copies in another range were clipped to [0, 1] and counted as none: refused, said
    with pytest.raises(ValueError, match=r"look like \[0, 255\].*pass x / 255"):
        scoring.copies_of_real((ref.reference[:20] * 255).round().astype(np.uint8), ref)
    with pytest.raises(ValueError, match=r"look like \[-1, 1\]"):
        scoring.copies_of_real(ref.reference[:20] * 2 - 1, ref)
    scores = {**ref.real_row(300, parzen=False), "copies_of_real": other}
    assert scoring.warnings(scores, ref.real_row(300, parzen=False), ref) == []


def test_eval_of_a_file_holding_real_digits_counts_them_in_its_report(data_dir, tmp_path,
                                                                     capsys):
    """A file of MNIST's test digits scored better than the real row (FID 0.65 against
    0.95: half of them are the reference) without a word; eval counts the scored digits
    that are copies of the reference or of the real row, warns, and keeps the count in
    eval.json beside the scores, as a run's memorisation is."""
    x = load_mnist("test", data_dir=str(data_dir), scale="sigmoid", download=False)[0]
    noise = np.random.default_rng(0).random((60, 784)).astype(np.float32)
    np.save(tmp_path / "mixed.npy", np.concatenate([x[:40].reshape(40, 784), noise]))
    assert cli.main(["eval", str(tmp_path / "mixed.npy"), "--no-parzen", "--data-dir",
                     str(data_dir), "--no-download", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "mixed_eval.json").read_text())
    copies = report["generated"]["copies_of_real"]
    assert copies["copies"] == 40 and copies["n"] == 100 and copies["share"] == 0.4
    assert copies["reference"] + copies["held_out"] == 40
    said = report["warnings"][0]
    assert said.startswith("40 of the 100 scored digits (40.0%) are copies of the real digits")
    assert f"warning: {said}" in out


def test_a_reference_too_small_to_score_against_or_a_real_row_of_too_few_is_refused(ref):
    """A reference of 5 digits was built and failed at the first score with "real holds 5
    rows; this measure needs at least 6", naming an argument the caller never gave; real_row(-1)
    scored 999 of the 1,000 held-out digits."""
    for reference, held_out, name in ((ref.reference[:5], ref.held_out, "reference"),
                                      (ref.reference, ref.held_out[:19], "held_out")):
        with pytest.raises(ValueError, match=rf"^{name} holds \d+ digits; a reference needs at "
                                             r"least 20 in each set"):
            scoring.Reference(reference, held_out, ref.classifier)
    for n in (-1, 0, 19, 25.5):
        with pytest.raises(ValueError, match=r"^n \(the real digits to score; scoring needs at "
                                             rf"least 20\) must be >= 20, a whole number, got {n}$"):
            ref.real_row(n)
    assert ref.real_row(20, parzen=False)["n"] == 20

@pytest.mark.parametrize("kw, words", [({"chunk": 0}, r"^memorisation: chunk .* must be >= 1"),
                                       ({"n": 0}, r"^memorisation: n .* must be >= 1"),
                                       ({"ref": None}, r"^ref must be a scoring.Reference")])
def test_memorisation_refuses_a_count_below_one_and_what_is_no_reference(ref, kw, words):
    """chunk=0 failed in range(); ref=None with "'NoneType' object has no attribute
    'training'"."""
    trained = scoring.Reference(ref.reference, ref.held_out, ref.classifier,
                                training=ref.reference[:100])
    args = {"ref": trained, **kw}
    with pytest.raises((ValueError, TypeError), match=words):
        scoring.memorisation(ref.held_out[:50], **args)

def _drawing(last):
    net = layers.Sequential(layers.Dense(4, 784, rng=np.random.default_rng(0)), last)
    drawn = []
    forward = net.forward
    net.forward = lambda z: (drawn.append(len(z)), forward(z))[1]
    return net, drawn


@pytest.mark.parametrize("last, kw, error, words", [
    (layers.Tanh(), {}, ValueError,
     r"^the generator ends in a Tanh, whose pixels are in \[-1, 1\], and scale is 'sigmoid': "
     r"pass scale='tanh'$"),
    (layers.Sigmoid(), {"scale": "tanh"}, ValueError,
     r"^the generator ends in a Sigmoid, .* pass scale='sigmoid'$"),
    (layers.Tanh(), {"scale": "Tanh"}, ValueError, r"^scale must be one of \('sigmoid', 'tanh'\)"),
    (layers.Sigmoid(), {"n": 0}, ValueError, r"^n \(the digits to score.* must be >= 20"),
    (layers.Sigmoid(), {"n": 25.5}, ValueError, r"^n \(the digits to score.* got 25.5$"),
    (layers.Sigmoid(), {"batch_size": 0}, ValueError, r"^batch_size must be >= 1"),
    (layers.Sigmoid(), {"ref": None}, TypeError,
     r"^ref must be a scoring.Reference.*got NoneType$")])
def test_evaluate_generator_refuses_what_would_score_wrongly_before_drawing(ref, last, kw, error,
                                                                            words):
    """A sigmoid generator scored with scale="tanh" had its pixels mapped to [0.5, 1] and
    scored without a word (an FID of 1485 for 50 digits); "Tanh" was taken for "sigmoid" and a
    tanh generator's pixels refused with "pass (x + 1) / 2", which evaluate_generator's caller
    cannot do; n = 0 failed with "need at least one array to concatenate", 25.5 with "'float'
    object cannot be interpreted as an integer", batch_size 0 in range(), ref None with
    "'NoneType' object has no attribute 'classifier'"."""
    g, drawn = _drawing(last)
    rng = np.random.default_rng(0)
    args = {"n": 40, "ref": ref, "parzen": False, **kw}
    with pytest.raises(error, match=words):
        scoring.evaluate_generator(g, lambda m: rng.standard_normal((m, 4)).astype(np.float32),
                                   **args)
    assert drawn == []
    with pytest.raises(TypeError, match="^ref must be a scoring.Reference"):
        scoring.score_images(ref.held_out[:40], None)
    scores = scoring.evaluate_generator(g, lambda m: rng.standard_normal((m, 4)).astype(np.float32),
                                        40, ref, scale="tanh" if isinstance(last, layers.Tanh)
                                        else "sigmoid", parzen=False)
    assert scores["n"] == 40

@pytest.mark.slow
def test_eval_command_prints_both_rows_and_writes_eval_json(real_mnist, tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["train", "--split", "test", "--data-dir", str(real_mnist), "--no-download",
                     "--epochs", "1", "--seed", "0", "--device", "cpu", "--out", str(run),
                     "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["eval", str(run), "--n", "1500", "--data-dir", str(real_mnist),
                     "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    clf = load_default()
    for text in ("inception score", "FID", "precision", "recall", "Parzen", "real held-out",
                 "Theis", clf.checksum[:16], clf.version,
                 "a random split stratified by class", "trained on the MNIST test split"):
        assert text in out
    report = json.loads((run / "eval.json").read_text())
    assert report["classifier"]["checksum"] == clf.checksum
    assert report["generated"]["n"] == 1500 and report["generated"]["n_compared"] == 1500
    assert report["real_held_out"]["classes_covered"] == 10
    assert report["real_held_out"]["n"] == 1500             # as many as the generated digits
    assert report["generated"]["epoch"] == 1
    picture = plt.imread(run / "eval_classes.png")           # 10 rows of 12 digits, labelled
    cell = 2 * (28 + 2)                                      # upscaled 2, with the padding
    assert picture.shape[0] == 10 * cell + 4 and picture.shape[1] > 12 * cell
    assert f"wrote {run / 'eval.json'} and {run / 'eval_classes.png'} (a row per class" in out


def test_shuffled_rows_are_sample_rows_in_another_order():
    """The real row's digits and a file's are chosen as sample_rows chooses them, so every
    score but the inception score's splits is the same as with the sorted choice."""
    for n, m in ((1000, 300), (5000, 2000), (50, 50), (50, 80)):
        shuffled, chosen = scoring.shuffled_rows(n, m), scoring.sample_rows(n, m)
        np.testing.assert_array_equal(np.sort(shuffled), chosen)
        assert len(shuffled) == min(n, m) and not np.array_equal(shuffled, chosen)


def test_digits_by_class_puts_the_first_of_each_class_in_its_row_and_black_where_none():
    images = np.arange(1, 8, dtype=np.float32)[:, None] * np.ones((7, 4), np.float32)
    classes = np.array([2, 0, 2, 2, 1, 2, 0])
    rows = scoring.digits_by_class(images, classes, per_class=3, n_classes=4)
    assert rows.shape == (12, 4) and rows.dtype == np.float32
    np.testing.assert_array_equal(rows[:, 0], [2, 7, 0,  5, 0, 0,  1, 3, 4,  0, 0, 0])
    with pytest.raises(ValueError, match="7 images and 6 classes"):
        scoring.digits_by_class(images, classes[:6], per_class=3)


def test_eval_rejects_a_missing_run(real_mnist, tmp_path, capsys):
    assert cli.main(["eval", str(tmp_path / "nothing"), "--data-dir", str(real_mnist),
                     "--device", "cpu"]) == 2
    assert "minigan: error:" in capsys.readouterr().err


def test_draw_spread_gives_each_scores_values_mean_sample_sd_and_range():
    rng = np.random.default_rng(0)
    draws = [{name: float(rng.uniform(1, 10)) for name in scoring.DRAW_SCORES} for _ in range(4)]
    spread = scoring.draw_spread(draws)
    assert set(spread) == set(scoring.DRAW_SCORES)
    for name in scoring.DRAW_SCORES:
        values = [d[name] for d in draws]
        s = spread[name]
        assert s["values"] == values
        assert s["mean"] == pytest.approx(sum(values) / 4)
        sd = (sum((v - s["mean"]) ** 2 for v in values) / 3) ** 0.5     # divided by K - 1
        assert s["std"] == pytest.approx(sd)
        assert (s["min"], s["max"]) == (min(values), max(values))
    with pytest.raises(ValueError, match="two draws or more"):
        scoring.draw_spread(draws[:1])


@pytest.fixture(scope="module")
def tiny_run(train_args, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    assert cli.main(train_args(data_dir, out, "--epochs", "1")) == 0
    return out


@pytest.mark.slow
def test_eval_draws_scores_each_seed_as_eval_with_that_seed_would(tiny_run, data_dir, tmp_path,
                                                                   capsys):
    """--draws 3 --seed 2 scores the noise of seeds 2, 3 and 4: its first draw is the table's,
    its last what --seed 4 alone scores, and the report gives their spread."""
    common = ["--n", "60", "--no-parzen", "--data-dir", str(data_dir), "--no-download",
              "--device", "cpu"]
    assert cli.main(["eval", str(tiny_run), "--draws", "3", "--seed", "2",
                     "--out", str(tmp_path / "three.json"), *common]) == 0
    out = capsys.readouterr().out
    assert "over 3 draws of the noise" in out and "(--seed 2 to 4, 60 digits each)" in out
    report = json.loads((tmp_path / "three.json").read_text())
    draws = report["draws"]
    assert draws["seeds"] == [2, 3, 4] and draws["n"] == 60
    assert len(set(draws["fid"]["values"])) == 3                  # three different draws
    assert cli.main(["eval", str(tiny_run), "--seed", "4", "--out", str(tmp_path / "four.json"),
                     *common]) == 0
    alone = json.loads((tmp_path / "four.json").read_text())
    assert "draws" not in alone and "draws of the noise" not in capsys.readouterr().out
    for name in scoring.DRAW_SCORES:
        assert draws[name]["values"][2] == alone["generated"][name]


def test_the_spread_rows_stand_in_the_tables_columns(ref):
    """The spread's mean and range line up under the table's two columns of numbers."""
    scores = [scoring.score_images(np.asarray(ref.held_out[i:i + 200]), ref, parzen=False)
              for i in (0, 200, 400)]
    draws = {"seeds": [0, 1, 2], "n": 200, **scoring.draw_spread(scores)}
    table = scoring.format_table(scores[0], ref.real_row(200, parzen=False), ref, draws)
    lines = table.splitlines()
    width = len(lines[0])                           # "metric ... generated   real held-out"
    first = lines.index(next(line for line in lines if line.startswith("over 3 draws")))
    assert "(--seed 0 to 2, 200 digits each)" in lines[first + 1]
    rows = lines[first + 2:first + 2 + len(scoring.DRAW_SCORES)]
    fid = draws["fid"]
    assert rows[0].split()[0] == "FID" and rows[0].endswith(f"{fid['min']:.2f} to "
                                                            f"{fid['max']:.2f}")
    for line in [lines[first]] + rows:
        assert len(line) == width, line                # every row ends where the header does
        assert line[width - 30:width - 14].strip()     # something in the middle column


def test_eval_draws_must_be_positive(tmp_path, data_dir, capsys):
    assert cli.main(["eval", str(tmp_path), "--draws", "0", "--data-dir", str(data_dir),
                     "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "--draws: must be an integer from 1 to 100" in err


def test_eval_reads_the_runs_own_data_folder(tiny_run, data_dir, tmp_path, monkeypatch, capsys):
    """Without --data-dir, eval scores against the MNIST files of the folder the run trained
    from (config.json records it), as the run's own scores did; --data-dir still wins."""
    monkeypatch.setenv("MINIGAN_DATA", str(tmp_path / "empty"))      # the default: nothing
    common = ["--n", "40", "--no-parzen", "--no-download", "--device", "cpu"]
    assert cli.main(["eval", str(tiny_run), "--out", str(tmp_path / "own.json"), *common]) == 0
    out = capsys.readouterr().out
    assert f"MNIST from the run's data folder {data_dir.resolve()}" in out
    assert cli.main(["eval", str(tiny_run), "--out", str(tmp_path / "given.json"),
                     "--data-dir", str(data_dir), *common]) == 0
    assert "run's data folder" not in capsys.readouterr().out
    own, given = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("own", "given"))
    assert own["generated"]["fid"] == given["generated"]["fid"]
    assert cli.main(["eval", str(tiny_run), "--data-dir", str(tmp_path / "empty"),
                     "--out", str(tmp_path / "none.json"), *common]) == 2
    assert "downloading is off" in capsys.readouterr().err


def test_eval_of_the_folder_that_holds_runs_names_them(tiny_run, data_dir, capsys):
    parent = tiny_run.parent
    assert cli.main(["eval", str(parent), "--data-dir", str(data_dir), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert f"no checkpoint at {parent / 'checkpoint.npz'}" in err
    assert f"it holds the runs {parent / tiny_run.name}: give one of them" in err


def test_eval_finds_a_relative_data_folder_from_anywhere(train_args, data_dir, tmp_path,
                                                         monkeypatch, capsys):
    """A run trained with a relative --data-dir is scored from another folder: eval reads the
    absolute folder config.json recorded, not the relative one the checkpoint keeps."""
    monkeypatch.setenv("MINIGAN_DATA", str(tmp_path / "empty"))
    monkeypatch.chdir(data_dir.parent)
    run = tmp_path / "run"
    assert cli.main(train_args(data_dir.name, run, "--epochs", "1")) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert cli.main(["eval", str(run / "checkpoint.npz"), "--n", "40", "--no-parzen",
                     "--no-download", "--device", "cpu"]) == 0
    assert f"MNIST from the run's data folder {data_dir.resolve()}" in capsys.readouterr().out


def test_eval_of_a_npy_that_numpy_opens_as_something_else_is_one_line(tmp_path, capsys,
                                                                      assert_one_line_error):
    """An .npz saved under a .npy name came back from numpy.load as an open NpzFile, and a
    header whose shape overflows raised OverflowError: tracebacks, where a data set's .npy
    said what was wrong (eval's reader now shares minigan.data.npz.map_npy with it)."""
    from numpy.lib import format as npy

    from minigan.app import cli

    np.savez(tmp_path / "archive.npz", np.zeros((4, 784)))
    (tmp_path / "archive.npz").rename(tmp_path / "archive.npy")
    with open(tmp_path / "huge.npy", "wb") as f:
        npy.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False,
                                       "shape": (2 ** 64,)})
        f.write(bytes(64))
    for name, reason in (("archive.npy", "(an .npz archive (numpy.savez), not a .npy file)"),
                         ("huge.npy", "")):
        rc = cli.main(["eval", str(tmp_path / name), "--no-parzen", "--device", "cpu"])
        assert_one_line_error(rc, capsys.readouterr().err,
                              f"{name} is not a NumPy array file of numbers {reason}")


@pytest.mark.parametrize("shape, option", [((512, 28, 28, 3), ["--scale", "255"]),
                                           ((300,), [])])
def test_eval_of_a_file_of_other_shape_names_the_files_shape_first(tmp_path, capsys, shape,
                                                                   option, assert_one_line_error):
    """RGB digits were said to be of shape (100, 28, 28, 3), the --n drawn of them, not the
    file's; a file of labels was told of its pixel range ("look like [0, 255]") before its
    shape."""
    from minigan.app import cli

    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).integers(0, 10, shape).astype(np.uint8))
    rc = cli.main(["eval", str(path), "--n", "100", "--no-parzen", "--device", "cpu", *option])
    assert_one_line_error(rc, capsys.readouterr().err,
                          f"the digits of {path} of shape {shape}: the lab scores a batch of 28 "
                          "x 28 MNIST digits of one channel")


def test_evaluate_generator_draws_no_more_digits_than_its_scores_read(ref):
    """An --eval-n of 10**9 drew 10**9 digits (until the memory ran out) to score the first
    as many as the real held-out digits: it draws those, and the scores are the same."""
    drawn = []

    class Counting(Constant):
        def forward(self, z):
            drawn.append(len(z))
            return np.clip(0.5 + 0.1 * z[:, :1] + 0 * self.digit[None], 0, 1)

    held = len(ref.held_out)
    g = Counting(ref.held_out[7])

    def noise():
        rng = np.random.default_rng(0)
        return lambda m: rng.standard_normal((m, 4))

    scores = [scoring.evaluate_generator(g, noise(), n, ref, parzen=False, batch_size=97)
              for n in (held, 10 ** 9)]
    assert drawn and sum(drawn) == 2 * held
    assert scores[0] == scores[1] and scores[1]["n"] == held
    drawn.clear()
    images = []
    scoring.evaluate_generator(g, noise(), 10 ** 9, ref, parzen=False, memorise=True,
                               images_out=images)
    assert sum(drawn) == len(images[0]) == max(held, scoring.MEMORISED_DIGITS)
