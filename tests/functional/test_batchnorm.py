"""Tests for minigan.functional.batchnorm and the BatchNorm layer.

Gradients are compared with numeric vector-Jacobian products in float64; the
running statistics and the evaluation mode with hand computations of
PyTorch's conventions.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minigan import functional as F
from minigan.check import testing
from minigan.check.gradcheck import rel_error
from minigan.check.testing import batchnorm_configs as bn_configs
from minigan.nn import layers


def _reduce_axes(x):
    return (0,) if x.ndim == 2 else (0, 2, 3)


def _bshape(x):
    return (1, -1) if x.ndim == 2 else (1, -1, 1, 1)


# -- gradients ---------------------------------------------------------------------------
@settings(deadline=None)
@given(cfg=bn_configs(), training=st.booleans())
def test_batchnorm_gradients_match_numeric_vjp(cfg, training):
    rng = np.random.default_rng(cfg["seed"])
    shape = cfg["shape"]
    C = shape[1]
    x = rng.standard_normal(shape) * 2 + 1
    gamma = rng.standard_normal(C)
    beta = rng.standard_normal(C)
    running_mean = rng.standard_normal(C)
    running_var = rng.uniform(0.5, 2.0, C)
    testing.assert_pair_gradients(F.batchnorm_forward, F.batchnorm_backward,
                                  {"x": x, "gamma": gamma, "beta": beta}, rng=rng,
                                  running_mean=running_mean, running_var=running_var,
                                  training=training, eps=cfg["eps"])


@settings(deadline=None)
@given(cfg=bn_configs())
def test_batchnorm_layer_gradients_match_numeric_vjp(cfg):
    rng = np.random.default_rng(cfg["seed"])
    C = cfg["shape"][1]
    layer = layers.BatchNorm(C, eps=cfg["eps"], dtype="float64")
    layer.params["gamma"][...] = rng.standard_normal(C)
    layer.params["beta"][...] = rng.standard_normal(C)
    x = rng.standard_normal(cfg["shape"])
    # a gain near 0 (-3.8e-5 for seed 117) leaves the output hardly moving with x, and its
    # differences at step 1e-5 at their rounding (8.6e-7; 1.3e-8 at 1e-4): the check's
    # rule for that, a step ten times larger (testing.assert_layer_gradients)
    errors = testing.assert_layer_gradients(layer, x, rng=rng)
    assert set(errors) == {"x", "gamma", "beta"}


@settings(deadline=None)
@given(cfg=bn_configs(), training=st.booleans(), dout_channel_major=st.booleans())
def test_channel_major_memory_gives_the_same_results(cfg, training, dout_channel_major):
    """The conv layers hand BatchNorm NCHW views of channel-major memory (batch index
    fastest); every pass must give what it gives on the C-contiguous copy."""
    shape = cfg["shape"]
    assume(len(shape) == 4 and shape[0] > 1)
    rng = np.random.default_rng(cfg["seed"])
    C = shape[1]
    x = rng.standard_normal(shape) * 2 + 1
    dout = rng.standard_normal(shape)
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)

    def channel_major(a):
        return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)

    results = []
    for xx, dd in ((x, dout), (channel_major(x), channel_major(dout) if dout_channel_major
                               else dout)):
        rm, rv = np.zeros(C), np.ones(C)
        out, cache = F.batchnorm_forward(xx, gamma, beta, rm, rv, training, 0.1, cfg["eps"])
        results.append((out, rm, rv) + F.batchnorm_backward(dd, cache))
    assert results[1][0].strides[0] == 8           # the layout is kept
    for a, b in zip(*results, strict=True):
        assert rel_error(a, b) <= 1e-12


# -- the forward pass and the running statistics --------------------------------------------------
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2, 5)])
def test_training_normalizes_each_channel(shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 3 + 2
    layer = layers.BatchNorm(3, dtype="float64")
    out = layer(x)
    axes = _reduce_axes(x)
    np.testing.assert_allclose(out.mean(axis=axes), 0, atol=1e-12)
    m = x.size // 3
    biased = x.var(axis=axes)
    # normalized with the BIASED variance (plus eps)
    np.testing.assert_allclose(out.var(axis=axes), biased / (biased + 1e-5), rtol=1e-12)
    assert m > 1


@given(shape=st.sampled_from([(5, 3), (3, 3, 4, 2)]),
       momentum=st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0)))
def test_running_statistics_follow_pytorch(shape, momentum):
    """running = (1 - momentum) * running + momentum * batch_stat, unbiased variance; momentum
    0 keeps the first statistics, 1 takes the last batch's."""
    rng = np.random.default_rng(1)
    layer = layers.BatchNorm(3, momentum=momentum, dtype="float64")
    rm, rv = np.zeros(3), np.ones(3)
    for _ in range(2):
        x = rng.standard_normal(shape) * 2 - 1
        layer(x)
        axes = _reduce_axes(x)
        m = x.size // 3
        mean = x.sum(axis=axes) / m
        unbiased = ((x - mean.reshape(_bshape(x))) ** 2).sum(axis=axes) / (m - 1)
        rm = (1 - momentum) * rm + momentum * mean
        rv = (1 - momentum) * rv + momentum * unbiased
        np.testing.assert_allclose(layer.buffers["running_mean"], rm, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(layer.buffers["running_var"], rv, rtol=1e-13)


@pytest.mark.parametrize("shape", [(5, 3), (3, 3, 4, 2)])
def test_eval_uses_running_statistics(shape):
    rng = np.random.default_rng(2)
    layer = layers.BatchNorm(3, eps=1e-3, dtype="float64")
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    layer.params["gamma"][...] = gamma
    layer.params["beta"][...] = beta
    layer.buffers["running_mean"][...] = mean
    layer.buffers["running_var"][...] = var
    layer.eval()
    x = rng.standard_normal(shape)
    out = layer(x)
    b = _bshape(x)
    expected = (gamma.reshape(b) * (x - mean.reshape(b)) / np.sqrt(var.reshape(b) + 1e-3)
                + beta.reshape(b))
    assert rel_error(out, expected) <= 1e-14
    # evaluation updates nothing
    np.testing.assert_array_equal(layer.buffers["running_mean"], mean)
    np.testing.assert_array_equal(layer.buffers["running_var"], var)
    # and its input gradient is the affine one
    dout = rng.standard_normal(shape)
    dx = layer.backward(dout)
    assert rel_error(dx, dout * (gamma / np.sqrt(var + 1e-3)).reshape(b)) <= 1e-14
    # a batch of one is fine in evaluation mode
    assert layer(x[:1]).shape == (1,) + tuple(shape[1:])


# -- layer bookkeeping ----------------------------------------------------------------------------
def test_frozen_layer_leaves_grads_untouched():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 2, 3, 3))
    dout = rng.standard_normal(x.shape)
    layer = layers.BatchNorm(2, dtype="float64")
    layer(x)
    dx = layer.backward(dout)
    once = {k: g.copy() for k, g in layer.grads.items()}
    layer(x)
    layer.backward(dout)
    for k, g in layer.grads.items():                       # gradients accumulate
        np.testing.assert_allclose(g, 2 * once[k], rtol=1e-14)
    layer.zero_grad()
    layer.freeze()
    layer(x)
    frozen_dx = layer.backward(dout)
    np.testing.assert_array_equal(frozen_dx, dx)
    assert all(np.all(g == 0) for g in layer.grads.values())


def test_defaults_buffers_and_repr():
    layer = layers.BatchNorm(4)
    np.testing.assert_array_equal(layer.params["gamma"], np.ones(4))
    np.testing.assert_array_equal(layer.params["beta"], np.zeros(4))
    np.testing.assert_array_equal(layer.buffers["running_mean"], np.zeros(4))
    np.testing.assert_array_equal(layer.buffers["running_var"], np.ones(4))
    assert set(layer.state_dict()) == {"gamma", "beta", "running_mean", "running_var"}
    assert layers.BatchNorm1d is layers.BatchNorm2d is layers.BatchNorm
    assert repr(layer) == "BatchNorm(4)"
    assert repr(layers.BatchNorm(4, momentum=0.2)) == "BatchNorm(4, momentum=0.2)"


@pytest.mark.parametrize("shape", [(8, 3), (8, 3, 5, 5)])
def test_float32_stays_float32(shape):
    rng = np.random.default_rng(0)
    layer = layers.BatchNorm(3, dtype="float32")
    x = rng.standard_normal(shape).astype(np.float32)
    out = layer(x)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == np.float32
    assert all(a.dtype == np.float32 for a in (*layer.grads.values(), *layer.buffers.values()))


# -- errors --------------------------------------------------------------------------------------
def test_one_value_per_channel_in_training_raises():
    layer = layers.BatchNorm(3)
    for x in (np.zeros((1, 3), np.float32), np.zeros((1, 3, 1, 1), np.float32)):
        with pytest.raises(ValueError) as info:
            layer(x)
        msg = str(info.value)
        assert "BatchNorm(3)" in msg and str(x.shape) in msg and "more than one value" in msg


@pytest.mark.parametrize("shape", [(4, 2), (4, 5, 2, 2), (4, 3, 2), (4,)])
def test_bad_shapes_name_the_layer(shape):
    with pytest.raises(ValueError) as info:
        layers.BatchNorm(3)(np.zeros(shape, np.float32))
    msg = str(info.value)
    assert "BatchNorm(3)" in msg and str(shape) in msg and "expected input (N, 3)" in msg


def test_functional_errors_name_the_shapes():
    z = np.zeros
    with pytest.raises(ValueError, match=r"BatchNorm: input of shape \(4, 2\) does not fit 3"):
        F.batchnorm_forward(z((4, 2)), z(3), z(3), z(3), z(3), True)
    with pytest.raises(ValueError, match=r"BatchNorm: running_var of shape \(2,\)"):
        F.batchnorm_forward(z((4, 3)), z(3), z(3), z(3), z(2), True)
    out, cache = F.batchnorm_forward(z((4, 3)), z(3), z(3), z(3), np.ones(3), True)
    with pytest.raises(ValueError, match=r"BatchNorm: dout of shape \(4, 2\), expected \(4, 3\)"):
        F.batchnorm_backward(z((4, 2)), cache)


# -- optional: an independent implementation -----------------------------------------------------
@settings(deadline=None)
@given(cfg=bn_configs())
def test_against_torch_if_available(cfg):
    torch = pytest.importorskip(
        "torch", reason="torch is not installed (optional; hand computations cover this)")
    rng = np.random.default_rng(cfg["seed"])
    shape, eps = cfg["shape"], cfg["eps"]
    C = shape[1]
    x, gamma, beta = rng.standard_normal(shape), rng.standard_normal(C), rng.standard_normal(C)
    rm, rv = np.zeros(C), np.ones(C)
    trm, trv = torch.zeros(C, dtype=torch.float64), torch.ones(C, dtype=torch.float64)
    tx = torch.tensor(x, requires_grad=True)
    tg = torch.tensor(gamma, requires_grad=True)
    tb = torch.tensor(beta, requires_grad=True)
    out, cache = F.batchnorm_forward(x, gamma, beta, rm, rv, True, 0.1, eps)
    ref = torch.nn.functional.batch_norm(tx, trm, trv, tg, tb, True, 0.1, eps)
    dout = rng.standard_normal(shape)
    ref.backward(torch.from_numpy(dout))
    dx, dgamma, dbeta = F.batchnorm_backward(dout, cache)
    assert rel_error(out, ref.detach().numpy()) <= 1e-12
    assert rel_error(rm, trm.numpy()) <= 1e-12 and rel_error(rv, trv.numpy()) <= 1e-12
    for mine, theirs in ((dx, tx), (dgamma, tg), (dbeta, tb)):
        assert rel_error(mine, theirs.grad.numpy()) <= 1e-10
