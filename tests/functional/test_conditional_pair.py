"""The label joined to a sample: the pair's gradients and the conditional generator layer."""

import statistics

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan import functional as F
from minigan.check import testing
from minigan.nn import layers


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.booleans(), testing.seeds())
def test_label_concat_gradients(n, channels, classes, maps, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, channels, 3, 2) if maps else (n, channels))
    c = rng.standard_normal((n, classes))
    testing.assert_pair_gradients(F.label_concat_forward, F.label_concat_backward,
                                  {"x": x, "c": c}, rng=rng)


def test_label_concat_makes_constant_channel_maps():
    x = np.zeros((2, 1, 4, 4))
    c = np.eye(3)[[2, 0]]
    out, _ = F.label_concat_forward(x, c)
    assert out.shape == (2, 4, 4, 4)
    np.testing.assert_array_equal(out[0, 3], 1.0)       # class 2: channel 1 + 2 all ones
    np.testing.assert_array_equal(out[0, 1:3], 0.0)
    np.testing.assert_array_equal(out[1, 1], 1.0)


@given(testing.dense_configs(max_features=5), st.integers(1, 3), st.booleans())
def test_conditional_generator_layer_gradients(cfg, classes, maps):
    rng = cfg.rng()
    width = cfg.in_features + classes
    net = [layers.Dense(width, 6 if maps else cfg.out_features, rng=rng, dtype="float64"),
           layers.Tanh()]
    if maps:
        net.append(layers.Reshape((1, 3, 2)))
    G = layers.ConditionalGenerator(layers.Sequential(*net), classes)
    zc = rng.standard_normal((cfg.batch, width))
    testing.assert_layer_gradients(G, zc, rng=rng)
    assert set(G.state_dict()) == {"0.W", "0.b"}


@given(st.integers(1, 5), st.integers(1, 4), st.integers(1, 5), testing.seeds())
def test_label_from_noise_gradients(n, dim, classes, seed):
    """Off the cuts (where the label jumps) the label is constant: z's gradient is its slice."""
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.standard_normal(classes - 1))
    z = rng.standard_normal((n, dim))
    if classes > 1:     # keep z[:, 0] a margin away from every cut
        near = np.abs(z[:, :1] - cuts[None, :]) < 10 * testing.KINK_MARGIN
        z[:, 0] += np.where(near.any(axis=1), 30 * testing.KINK_MARGIN, 0.0)
    testing.assert_pair_gradients(lambda z: F.label_from_noise_forward(z, cuts),
                                  F.label_from_noise_backward, {"z": z}, rng=rng)


def test_label_from_noise_counts_the_cuts_below_the_first_coordinate():
    z = np.array([[-2.0, 5.0], [-0.5, 5.0], [0.5, 5.0], [3.0, 5.0], [1.0, 5.0]])
    out, _ = F.label_from_noise_forward(z, np.array([-1.0, 0.0, 1.0]))
    np.testing.assert_array_equal(out[:, 0], 0.0)      # the chooser is not passed on
    np.testing.assert_array_equal(out[:, 1], z[:, 1])
    # [1.0] is on the last cut, not above it: class 2, as at 0.5
    np.testing.assert_array_equal(out[:, 2:].argmax(axis=1), [0, 1, 2, 3, 2])
    np.testing.assert_array_equal(out[:, 2:].sum(axis=1), 1.0)


def test_self_conditioned_generator_is_a_function_of_the_noise():
    rng = np.random.default_rng(0)
    net = layers.Sequential(layers.Dense(3 + 4, 5, rng=rng), layers.Tanh())
    G = layers.SelfConditionedGenerator(net, 4, cuts=[-0.5, 0.0, 0.5])
    z = rng.standard_normal((64, 3)).astype(np.float32)
    out = G.forward(z)
    label = (z[:, 0, None] > np.array([-0.5, 0.0, 0.5])).sum(axis=1)
    np.testing.assert_array_equal(out[:, 5:].argmax(axis=1), label)     # the pair D judges
    np.testing.assert_array_equal(G.images(z), out[:, :5])
    np.testing.assert_array_equal(layers.generated_images(G, z), out[:, :5])
    z_seen = np.concatenate([np.zeros((64, 1), np.float32), z[:, 1:]], axis=1)
    np.testing.assert_array_equal(
        net.forward(np.concatenate([z_seen, np.eye(4, dtype=np.float32)[label]], axis=1)),
        out[:, :5])
    z_other = z.copy()     # another first coordinate within the same group: the same images
    z_other[:, 0] = np.array([-1.0, -0.25, 0.25, 1.0], np.float32)[label]
    np.testing.assert_array_equal(G.images(z_other), G.images(z))
    assert G.backward(np.ones_like(out)).shape == z.shape
    assert set(G.state_dict()) == {"0.W", "0.b", "label_cuts"}     # saved with the weights
    other = layers.SelfConditionedGenerator(
        layers.Sequential(layers.Dense(7, 5, rng=rng), layers.Tanh()), 4)
    other.load_state_dict(G.state_dict())
    np.testing.assert_array_equal(other.images(z), G.images(z))


def test_a_conditional_generator_given_the_wrong_noise_says_what_it_takes():
    """Plain noise given to a conditional generator (or noise with a label to one that draws
    its own) failed in its first Dense layer, which named neither labels nor the fix."""
    rng = np.random.default_rng(0)
    G = layers.ConditionalGenerator(layers.Sequential(layers.Dense(6, 5, rng=rng)), 2)
    for call in (G.images, G.forward):
        with pytest.raises(ValueError, match=r"^Dense\(6, 5\): expected .*; a ConditionalGenerator's "
                           r"input is the noise with a one-hot label joined as its last 2 "
                           r"columns: .*labelled_noise\(z, labels\)$"):
            call(np.zeros((3, 4)))
    own = layers.SelfConditionedGenerator(layers.Sequential(layers.Dense(6, 5, rng=rng)), 2)
    for call in (own.images, own.forward):
        with pytest.raises(ValueError, match="the noise alone, without a label"):
            call(np.zeros((3, 6)))
    assert G.images(np.zeros((3, 6))).shape == (3, 5) and own.images(np.zeros((3, 4))).shape == (3, 5)


def test_self_conditioned_generator_refuses_unsorted_cuts():
    net = layers.Sequential(layers.Dense(5, 2, rng=np.random.default_rng(0)))
    with pytest.raises(ValueError, match="2 sorted numbers"):
        layers.SelfConditionedGenerator(net, 3, cuts=[0.5, -0.5])


@given(st.lists(st.floats(0.01, 1.0), min_size=1, max_size=8))
def test_label_cuts_are_the_quantiles_of_the_cumulative_shares(shares):
    p = np.array(shares) / sum(shares)
    normal = statistics.NormalDist()
    cuts = F.label_cuts(shares, "gaussian")
    np.testing.assert_allclose([normal.cdf(t) for t in cuts], np.cumsum(p)[:-1], atol=1e-9)
    np.testing.assert_allclose(F.label_cuts(shares, "uniform"), 2 * np.cumsum(p)[:-1] - 1,
                               atol=1e-12)


def test_label_cuts_refuses_bad_shares_and_priors():
    with pytest.raises(ValueError, match="shares"):
        F.label_cuts([0.5, -0.1])
    with pytest.raises(ValueError, match="prior"):
        F.label_cuts([0.5, 0.5], "laplace")
