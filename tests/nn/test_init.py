"""Initializers: fans, variances, and seeding."""

import numpy as np
import pytest

from minigan.nn import init


def test_compute_fans():
    assert init.compute_fans((784, 128)) == (784, 128)
    assert init.compute_fans((64, 3, 4, 5), "conv") == (3 * 20, 64 * 20)
    assert init.compute_fans((128, 64, 4, 4), "conv_transpose") == (128 * 16, 64 * 16)
    with pytest.raises(ValueError, match="2-D"):
        init.compute_fans((3, 4, 5))
    with pytest.raises(ValueError, match="unknown layout"):
        init.compute_fans((3, 4, 5, 5), "nope")


@pytest.mark.parametrize(
    "name, variance",
    [
        ("xavier_normal", lambda fi, fo: 2 / (fi + fo)),
        ("xavier_uniform", lambda fi, fo: 2 / (fi + fo)),
        ("xavier_fan_in", lambda fi, fo: 1 / fi),
        ("he_normal", lambda fi, fo: 2 / fi),
        ("dcgan_normal", lambda fi, fo: 0.02**2),
    ],
)
def test_variances(name, variance):
    shape = (400, 300)
    w = init.get(name)(shape, init.compute_fans(shape), np.random.default_rng(0))
    assert w.shape == shape
    expected = variance(400, 300)
    # 120,000 samples: the sample variance is within 2% of the true one
    assert abs(w.var() / expected - 1) < 0.02
    assert abs(w.mean()) < 0.01 * np.sqrt(expected) * 10


def test_xavier_uniform_bound():
    w = init.xavier_uniform((50, 70), (50, 70), np.random.default_rng(1))
    a = np.sqrt(6 / 120)
    assert w.max() <= a and w.min() >= -a and w.max() > 0.95 * a


def test_same_seed_same_weights():
    a = init.xavier_normal((5, 4), (5, 4), np.random.default_rng(3))
    b = init.xavier_normal((5, 4), (5, 4), np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
