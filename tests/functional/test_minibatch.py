"""Minibatch discrimination, minibatch standard deviation and packing: forward and gradients."""

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan import functional as F
from minigan.check import testing
from minigan.nn import layers


@st.composite
def mbd_problems(draw):
    """A batch (N, F), kernels B of dimension C, and a seed."""
    return (draw(st.integers(1, 6)), draw(st.integers(1, 5)), draw(st.integers(1, 4)),
            draw(st.integers(1, 3)), draw(testing.seeds()))


def _mbd_arrays(problem):
    N, Fdim, B, C, seed = problem
    rng = np.random.default_rng(seed)
    x, T = rng.standard_normal((N, Fdim)), rng.standard_normal((Fdim, B * C))
    M = (x @ T).reshape(N, B, C)
    off = ~np.eye(N, dtype=bool)
    # |M_ibc - M_jbc| has a kink where two rows meet: keep the draws away from it
    assume(N == 1 or np.abs(M[:, None] - M[None, :])[off].min() > testing.KINK_MARGIN)
    return rng, x, T, B


@given(mbd_problems())
def test_minibatch_discrimination_gradients(problem):
    rng, x, T, B = _mbd_arrays(problem)
    testing.assert_pair_gradients(F.minibatch_discrimination_forward,
                                  F.minibatch_discrimination_backward, {"x": x, "T": T},
                                  rng=rng, kernels=B)


@given(mbd_problems())
def test_minibatch_discrimination_layer_gradients(problem):
    rng, x, T, B = _mbd_arrays(problem)
    layer = layers.MinibatchDiscrimination(x.shape[1], B, T.shape[1] // B, dtype="float64")
    layer.params["T"][...] = T
    testing.assert_layer_gradients(layer, x, rng=rng)


def test_minibatch_discrimination_forward_by_loops():
    rng = np.random.default_rng(0)
    x, T = rng.standard_normal((4, 3)), rng.standard_normal((3, 6))
    out, _ = F.minibatch_discrimination_forward(x, T, 2)
    M = (x @ T).reshape(4, 2, 3)
    for i in range(4):
        for b in range(2):
            expect = sum(np.exp(-np.abs(M[i, b] - M[j, b]).sum()) for j in range(4) if j != i)
            assert np.isclose(out[i, 3 + b], expect)
    np.testing.assert_array_equal(out[:, :3], x)
    # a collapsed batch (all rows equal) gets the largest closeness, N - 1, in every kernel
    same, _ = F.minibatch_discrimination_forward(np.tile(x[:1], (4, 1)), T, 2)
    np.testing.assert_allclose(same[:, 3:], 3.0)


@st.composite
def stddev_problems(draw):
    G = draw(st.integers(1, 4))
    M = draw(st.integers(1, 3))
    rest = draw(st.sampled_from([(draw(st.integers(1, 5)),),
                                 (draw(st.integers(1, 3)), draw(st.integers(1, 3)),
                                  draw(st.integers(1, 3)))]))
    # one group: the whole batch, its size, or a larger size (min(G, N), as Karras et al.)
    group = draw(st.sampled_from([G, None, G + draw(st.integers(1, 3))])) if M == 1 else G
    eps = draw(st.sampled_from([1e-8, 1e-4, 0.5, 10.0]))
    return (G * M,) + rest, group, eps, draw(testing.seeds())


@given(stddev_problems())
def test_minibatch_stddev_gradients(problem):
    shape, group, eps, seed = problem
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    G = shape[0] if group is None else min(group, shape[0])
    xg = x.reshape(G, shape[0] // G, -1)
    # sigma = sqrt(spread^2 + eps) is a smoothed kink at spread 0: keep the draws far from it
    assume(G == 1 or np.sqrt(((xg - xg.mean(0)) ** 2).mean(0)).min() > 10 * testing.KINK_MARGIN)
    testing.assert_pair_gradients(F.minibatch_stddev_forward, F.minibatch_stddev_backward,
                                  {"x": x}, rng=rng, group_size=group, eps=eps)
    testing.assert_layer_gradients(layers.MinibatchStdDev(group, eps=eps), x, rng=rng)


def test_minibatch_stddev_forward_values():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 2, 3, 3))
    out, _ = F.minibatch_stddev_forward(x, group_size=3, eps=0.0)
    assert out.shape == (6, 3, 3, 3)
    np.testing.assert_array_equal(out[:, :2], x)
    # sample n = g * 2 + m is in group m: groups {0, 2, 4} and {1, 3, 5}
    for m in range(2):
        expect = x[m::2].std(axis=0).mean()
        np.testing.assert_allclose(out[m::2, 2], expect)
    rows, _ = F.minibatch_stddev_forward(np.ones((5, 4)), eps=0.0)
    np.testing.assert_array_equal(rows[:, 4], 0.0)      # a collapsed batch has no spread


@given(st.integers(1, 4), st.integers(1, 3), st.booleans(), testing.seeds())
def test_pack_gradients_and_layout(m, packs, maps, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m * packs, 2, 3, 2) if maps else (m * packs, 3))
    out, _ = F.pack_forward(x, m)
    assert out.shape == (packs, m * x.shape[1]) + x.shape[2:]
    for p in range(packs):      # pack p holds samples p*m .. p*m + m - 1, side by side
        np.testing.assert_array_equal(out[p], np.concatenate(list(x[p * m:(p + 1) * m]), axis=0))
    testing.assert_pair_gradients(F.pack_forward, F.pack_backward, {"x": x}, rng=rng, m=m)
    testing.assert_layer_gradients(layers.Pack(m), x, rng=rng)


def test_bad_shapes_are_named():
    import pytest
    with pytest.raises(ValueError, match="Pack\\(3\\).*not a multiple of 3"):
        layers.Pack(3).forward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="MinibatchStdDev.*group size"):
        layers.MinibatchStdDev(4).forward(np.zeros((6, 2)))
    # a 3-D input was said to be a batch "not a multiple of the group size", an empty one
    # "of group size 0"; MinibatchDiscrimination's empty batch failed in a reshape
    with pytest.raises(ValueError, match=r"MinibatchStdDev.*input of shape \(4, 2, 3\): "
                                         r"expected \(N, F\) or \(N, C, H, W\)$"):
        layers.MinibatchStdDev(4).forward(np.zeros((4, 2, 3)))
    for layer in (lambda: layers.MinibatchStdDev(eps=0), lambda: layers.PixelNorm(eps=0.0),
                  lambda: layers.BatchNorm(2, eps=0)):
        with pytest.raises(ValueError, match=r"eps must be a finite number > 0, got 0.*divide 0 "
                                             "by 0"):
            layer()
    # why: a collapsed batch, the one the layer is for, had a gradient of 0 / 0
    out, cache = F.minibatch_stddev_forward(np.ones((4, 3)), eps=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.isnan(F.minibatch_stddev_backward(np.ones_like(out), cache)).all()
    with pytest.raises(ValueError, match="MinibatchStdDev.*an empty batch has no spread"):
        layers.MinibatchStdDev().forward(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="MinibatchDiscrimination.*an empty batch"):
        layers.MinibatchDiscrimination(2, 3, 2, rng=np.random.default_rng(0)).forward(
            np.zeros((0, 2)))
