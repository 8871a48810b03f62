"""The metrics' classifier: it learns, its checksum pins its weights, save/load round-trips."""


import numpy as np
import pytest

from minigan.check import gradcheck, testing
from minigan.lab import classifier as C
from minigan.nn import layers


@pytest.mark.slow
def test_architecture_gradients_are_exact(float64):
    """The classifier's convolutions and ReLU, checked as one chain. Its thousands of ReLU
    inputs cannot all be kept a KINK_MARGIN from 0; this draw keeps them five steps of the
    differences away (said, so that a change of the layers that moves one nearer fails here
    with its reason, not by chance)."""
    net = C.build(np.random.default_rng(0), dtype="float64")
    chain = layers.Sequential(*net.layers[:4])            # Reshape, Conv2d, ReLU, Conv2d
    x = np.random.default_rng(1).uniform(0, 1, (1, 784))
    assert testing.min_kink_distance(chain, x) > 5 * 1e-5, "a ReLU input on the kink"
    errors = gradcheck.check_layer(chain, x.copy(), h=1e-5)
    assert max(errors.values()) <= testing.GRAD_TOL


@pytest.mark.slow
def test_training_learns_a_tiny_task_and_is_seeded(blobs):
    x, y = blobs(400)
    net = C.train_classifier(x, y, epochs=3, seed=3, max_shift=1)
    clf = C.Classifier(net)
    xt, yt = blobs(200, seed=1)
    assert clf.accuracy(xt, yt) >= 0.9
    again = C.Classifier(C.train_classifier(x, y, epochs=3, seed=3, max_shift=1))
    assert again.checksum == clf.checksum
    other = C.Classifier(C.train_classifier(x, y, epochs=3, seed=4, max_shift=1))
    assert other.checksum != clf.checksum
    feats, probs = clf.features_and_probs(xt)
    assert feats.shape == (200, C.FEATURE_DIM) and probs.shape == (200, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-6)


def test_features_are_what_the_last_layer_sees_with_or_without_dropout():
    """Another network (train_classifier(net=...)) need not have the default's Dropout:
    the probabilities are the softmax of net.forward, the features the last layer's input."""
    rng = np.random.default_rng(0)
    plain = layers.Sequential(layers.Dense(784, 16, rng=rng), layers.ReLU(),
                              layers.Dense(16, 10, rng=rng))
    x = rng.uniform(0, 1, (50, 784)).astype(np.float32)
    for net in (plain, C.build(rng)):
        clf = C.Classifier(net)
        net.train()                                  # the scores are taken in evaluation mode
        feats, probs = clf.features_and_probs(x)
        assert net.training                          # and the mode it had is given back
        net.eval()
        logits = net.forward(x)
        expected = np.exp(logits - logits.max(axis=1, keepdims=True))
        np.testing.assert_allclose(probs, expected / expected.sum(axis=1, keepdims=True),
                                   rtol=1e-5)
        np.testing.assert_allclose(feats, layers.Sequential(*net.layers[:-1]).forward(x),
                                   rtol=1e-6)


def test_save_load_round_trip_and_tampering(tmp_path):
    clf = C.Classifier(C.build(np.random.default_rng(0)), {"trained_on": "nothing"})
    path = C.save(clf, tmp_path / "c.npz")
    back = C.load(path)
    assert back.checksum == clf.checksum and back.info["trained_on"] == "nothing"
    x = np.random.default_rng(2).uniform(0, 1, (5, 784)).astype(np.float32)
    np.testing.assert_array_equal(back.features_and_probs(x)[1], clf.features_and_probs(x)[1])
    with np.load(path) as f:
        arrays = dict(f)
    arrays["param:1.W"] = arrays["param:1.W"] + 1e-3
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="do not match their recorded checksum"):
        C.load(tmp_path / "bad.npz")


def test_default_prefers_the_users_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert C.cache_path() == tmp_path / "minigan" / "classifier_v1.npz"
    clf = C.Classifier(C.build(np.random.default_rng(5)))
    C.save(clf, C.cache_path())
    assert C.load_default().checksum == clf.checksum


def test_default_path_names_the_file_load_default_reads(tmp_path, monkeypatch):
    """``minigan classifier show`` says which file it read: the same choice as load_default's,
    made once."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert C.default_path() == C.shipped_path()
    C.save(C.Classifier(C.build(np.random.default_rng(5))), C.cache_path())
    assert C.default_path() == C.cache_path()
    assert C.default_path(C.shipped_path()) == C.shipped_path()
    with pytest.raises(FileNotFoundError, match="no classifier at .*, or leave --path out"):
        C.default_path(tmp_path / "missing.npz", option="--path")


def test_shipped_classifier_is_small_and_documented():
    path = C.shipped_path()
    assert path.is_file(), "the package ships classifier_v1.npz"
    assert path.stat().st_size < 1_000_000
    clf = C.load(path)
    assert clf.info["version"] == C.VERSION
    assert clf.info["command"].startswith("minigan classifier train")
    assert clf.info["accuracy"] >= 0.985


def test_shipped_classifier_accuracy_on_held_out_digits(real_mnist):
    x, y, xe, ye, _, _ = C.split_for_training("test", str(real_mnist), download=False)
    assert C.load(C.shipped_path()).accuracy(xe, ye) >= 0.985


def test_accuracy_and_training_refuse_labels_that_are_not_one_class_a_digit():
    """accuracy(x, y[:, None]) compared each label with every prediction (about 0.1 whatever
    the classifier), a shorter y failed with NumPy's broadcast error, batch_size=0 in range(),
    and train_classifier on fewer labels than digits with "index 44 is out of bounds";
    epochs=0 returned an untrained network without a word."""
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (30, 784)), rng.integers(0, 10, 30)
    clf = C.Classifier(C.build(np.random.default_rng(1)))
    with pytest.raises(ValueError, match=r"^accuracy: y must hold one class a digit, shape \(30,\), "
                                         r"got shape \(30, 1\) \(y.ravel\(\) for a column of them\)$"):
        clf.accuracy(x, y[:, None])
    with pytest.raises(ValueError, match=r"^accuracy: y must hold .* got shape \(20,\)$"):
        clf.accuracy(x, y[:20])
    with pytest.raises(ValueError, match=r"^batch_size must be >= 1"):
        clf.predict(x, batch_size=0)
    assert 0 <= clf.accuracy(x, y) <= 1
    for kw, words in (({"epochs": 0}, r"^epochs must be >= 1"),
                      ({"batch_size": 0}, r"^batch_size must be >= 1"),
                      ({"max_shift": -1}, r"^max_shift must be >= 0")):
        with pytest.raises(ValueError, match=words):
            C.train_classifier(x, y, **kw)
    with pytest.raises(ValueError, match=r"^train_classifier: one label a digit, .* got labels of "
                                         r"shape \(20,\) for 30 digits$"):
        C.train_classifier(x, y[:20], epochs=1)
