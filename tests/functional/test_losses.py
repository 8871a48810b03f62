"""Losses from logits: stable values, exact gradients, the GAN forms."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan.check import testing
from minigan.check.gradcheck import check_pair
from minigan.check.testing import GRAD_TOL as TOL
from minigan.check.testing import loss_pair as as_pair
from minigan.functional import losses

seeds = testing.seeds()


@given(n=st.integers(1, 8), scale=st.sampled_from([0.1, 1.0, 5.0]), soft=st.booleans(),
       seed=seeds)
def test_sigmoid_cross_entropy_gradient(n, scale, soft, seed):
    r = np.random.default_rng(seed)
    logits = scale * r.standard_normal((n, 1))
    targets = r.uniform(0, 1, (n, 1)) if soft else r.integers(0, 2, (n, 1)).astype(float)
    # off the loss's minimum, sigmoid(a) = t, where the gradient is about 0 and the centred
    # differences are rounding alone (n = 1, a soft target 1e-5 from sigmoid(a): a relative
    # error of 1.3e-7, above GRAD_TOL's 1e-7)
    assume(np.abs(1 / (1 + np.exp(-logits)) - targets).max() > 1e-3)
    fwd, bwd = as_pair(lambda a: losses.sigmoid_cross_entropy(a, targets))
    assert check_pair(fwd, bwd, {"logits": logits}, rng=r)["logits"] <= TOL


@given(n=st.integers(1, 8), scale=st.sampled_from([0.1, 1.0, 5.0]),
       form=st.sampled_from(losses.G_LOSSES), seed=seeds)
def test_generator_loss_gradient(n, scale, form, seed):
    r = np.random.default_rng(seed)
    logits = scale * r.standard_normal((n, 1))
    fwd, bwd = as_pair(lambda a: losses.generator_loss(a, form))
    assert check_pair(fwd, bwd, {"logits": logits}, rng=r)["logits"] <= TOL


def test_extreme_logits_are_finite_with_exact_gradient():
    a = np.array([[1e3], [-1e3], [1e3], [-1e3]])
    t = np.array([[1.0], [1.0], [0.0], [0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, d = losses.sigmoid_cross_entropy(a, t)
    # per element: 0, 1000, 1000, 0 (log1p(e^-1000) underflows to 0 exactly)
    assert loss == pytest.approx(2000 / 4, rel=1e-15)
    # d = (sigmoid(a) - t) / 4 with sigmoid(+-1e3) = 1 or 0 to double precision
    np.testing.assert_array_equal(d, np.array([[0.0], [-0.25], [0.25], [0.0]]))
    # and the finite difference agrees (the loss is linear out there, so a wide step is exact)
    fwd, bwd = as_pair(lambda x: losses.sigmoid_cross_entropy(x, t))
    assert check_pair(fwd, bwd, {"a": a.copy()}, h=1e-2)["a"] <= TOL
    for form in losses.G_LOSSES:
        val, grad = losses.generator_loss(a, form)
        assert np.isfinite(val) and np.all(np.isfinite(grad))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradient_keeps_its_digits_where_sigmoid_rounds_to_one(dtype):
    """For a hard target the gradient is -sigma(-a) (t = 1) or sigma(a) (t = 0), which has
    no cancellation: at a = 20 to 700, where sigma(a) rounds to 1 (float64 above about 37,
    float32 above 17), it is e^{-a} (1 - e^{-a}) to the dtype's precision, not 0."""
    a = np.array([[20.0], [40.0], [80.0], [300.0], [700.0]]).astype(dtype)
    tiny = np.exp(-a.astype(np.float64))
    expected = tiny * (1 - tiny) / a.size              # sigma(-a) to double precision
    rtol = {np.float64: 1e-14, np.float32: 1e-6}[dtype]
    keep = expected >= np.finfo(dtype).tiny            # below it float32 flushes to 0
    _, d_real = losses.sigmoid_cross_entropy(a, 1.0)
    np.testing.assert_allclose(-d_real[keep], expected[keep], rtol=rtol)
    _, d_fake = losses.sigmoid_cross_entropy(-a, 0.0)
    np.testing.assert_allclose(d_fake[keep], expected[keep], rtol=rtol)
    _, d_g = losses.generator_loss(a, "non_saturating")
    np.testing.assert_allclose(-d_g[keep], expected[keep], rtol=rtol)
    assert d_real.dtype == dtype


def test_values_match_the_probability_form():
    r = np.random.default_rng(0)
    a = r.standard_normal((16, 1)) * 3
    p = 1 / (1 + np.exp(-a))
    loss, _ = losses.sigmoid_cross_entropy(a, 0.9)
    assert loss == pytest.approx(np.mean(-0.9 * np.log(p) - 0.1 * np.log(1 - p)), rel=1e-12)
    ns, _ = losses.generator_loss(a, "non_saturating")
    assert ns == pytest.approx(np.mean(-np.log(p)), rel=1e-12)
    mm, _ = losses.generator_loss(a, "minimax")
    assert mm == pytest.approx(np.mean(np.log(1 - p)), rel=1e-12)


def test_minimax_saturates_where_non_saturating_does_not():
    a = np.full((4, 1), -8.0)  # D confidently rejects the fakes
    _, d_mm = losses.generator_loss(a, "minimax")
    _, d_ns = losses.generator_loss(a, "non_saturating")
    assert np.abs(d_mm).max() < 1e-3 * np.abs(d_ns).max()


def test_float32_stays_float32():
    a = np.linspace(-5, 5, 8, dtype=np.float32).reshape(8, 1)
    _, d = losses.sigmoid_cross_entropy(a, 1.0)
    assert d.dtype == np.float32


def test_unknown_generator_loss():
    with pytest.raises(ValueError, match="unknown generator loss 'wgan'"):
        losses.generator_loss(np.zeros((2, 1)), "wgan")


@pytest.mark.parametrize("loss", [losses.sigmoid_cross_entropy, losses.least_squares_loss])
def test_targets_that_would_broadcast_the_outputs_are_refused(loss):
    """Targets of shape (N,) against outputs (N, 1) broadcast to an (N, N) loss: a value N
    times too many terms and a gradient of another shape than the outputs'. Refused, naming
    both shapes; targets of the outputs' shape, or any that broadcast to it, are fine."""
    a, t = np.array([[1.0], [-2.0], [0.5]]), np.array([1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"targets of shape \(3,\) .* outputs of shape \(3, 1\)"):
        loss(a, t)
    with pytest.raises(ValueError, match=r"targets of shape \(3,\) "):    # a list's shape too
        loss(a, [1.0, 0.0, 1.0])
    value, d = loss(a, t[:, None])
    assert d.shape == a.shape
    assert loss(a, np.ones((1, 1)))[1].shape == loss(a, 1.0)[1].shape == a.shape


@pytest.mark.parametrize("call, words", [
    (lambda a: losses.sigmoid_cross_entropy(a, 2.0), r"targets must be probabilities in \[0, 1\].*"
                                                     r"got 2.0$"),
    (lambda a: losses.sigmoid_cross_entropy(a, np.nan), r"targets must be probabilities .*got nan$"),
    (lambda a: losses.sigmoid_cross_entropy(a, np.array([[1.0], [-1.0], [0.0]])),
     r"targets must be probabilities .*got float64 targets from -1.0 to 1.0$"),
    (lambda a: losses.sigmoid_cross_entropy(a[:0], 1.0), r"outputs of shape \(0, 1\) hold no entry"),
    (lambda a: losses.least_squares_loss(a[:0], 1.0), r"outputs of shape \(0, 1\) hold no entry"),
    (lambda a: losses.hinge_loss(a[:0], 1), r"outputs of shape \(0, 1\) hold no entry"),
    (lambda a: losses.wasserstein_loss(a[:0], -1), r"outputs of shape \(0, 1\) hold no entry"),
    (lambda a: losses.hinge_loss(a, 2), r"sign must be \+1 \(real samples\) or -1 \(fakes\), got 2$"),
    (lambda a: losses.hinge_loss(a, 0), r"sign must be \+1 .*got 0$"),
    (lambda a: losses.wasserstein_loss(a, 0.5), r"sign must be \+1 .*got 0.5$")])
def test_targets_signs_and_batches_a_loss_cannot_take_are_refused(call, words):
    """A cross-entropy target of 2 or NaN gave a number that is no cross-entropy, a hinge or
    Wasserstein sign of 2, 0 or 0.5 scaled the loss and its gradient, and an empty batch raised
    ZeroDivisionError, each without a word."""
    a = np.array([[1.0], [-2.0], [0.5]])
    with pytest.raises(ValueError, match=r"^\w+: " + words):
        call(a)
    for target in (0.0, 0.9, np.array([[1.0], [0.0], [1.0]])):
        assert np.isfinite(losses.sigmoid_cross_entropy(a, target)[0])
    assert losses.least_squares_loss(a, -1.0)[0] > 0           # least squares: any target
