"""The label joined to a sample: the pair's gradients and the conditional generator layer."""

import numpy as np
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
