"""Softmax cross-entropy from logits: exact gradient, stable at any logit, soft targets."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan.check.gradcheck import check_pair
from minigan.functional import losses

TOL = 1e-7


def pair(targets):
    def forward(logits):
        loss, dlogits = losses.softmax_cross_entropy(logits, targets)
        return np.array(loss), dlogits

    def backward(dout, dlogits):
        return dout * dlogits

    return forward, backward


@given(n=st.integers(1, 6), c=st.integers(2, 10), scale=st.sampled_from([0.1, 1.0, 10.0]),
       kind=st.sampled_from(["labels", "soft", "unnormalized"]), seed=st.integers(0, 2**32 - 1))
def test_gradient_matches_finite_differences(n, c, scale, kind, seed):
    r = np.random.default_rng(seed)
    logits = scale * r.standard_normal((n, c))
    if kind == "labels":
        targets = r.integers(0, c, n)
    else:
        targets = r.uniform(0, 1, (n, c))
        if kind == "soft":
            targets /= targets.sum(axis=1, keepdims=True)
    fwd, bwd = pair(targets)
    assert check_pair(fwd, bwd, {"logits": logits}, rng=r)["logits"] <= TOL


def test_value_matches_the_probability_form():
    r = np.random.default_rng(1)
    a = r.standard_normal((5, 4))
    y = np.array([0, 3, 1, 1, 2])
    p = np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)
    loss, d = losses.softmax_cross_entropy(a, y)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(5), y])), rel=1e-12)
    onehot = np.eye(4)[y]
    np.testing.assert_allclose(d, (p - onehot) / 5, rtol=1e-12)
    loss_soft, d_soft = losses.softmax_cross_entropy(a, onehot)
    assert loss_soft == pytest.approx(loss, rel=1e-14)
    np.testing.assert_allclose(d_soft, d, rtol=1e-14)


def test_huge_logits_are_finite_with_exact_gradient():
    a = np.array([[1e3, -1e3, 0.0], [-1e3, -1e3, 1e3], [1e3, 1e3, -1e3]])
    y = np.array([1, 2, 0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, d = losses.softmax_cross_entropy(a, y)
    # row losses: 2000 (label at -1e3 against max 1e3), 0, log 2
    assert loss == pytest.approx((2000 + 0 + np.log(2)) / 3, rel=1e-14)
    assert np.all(np.isfinite(d))
    fwd, bwd = pair(y)
    assert check_pair(fwd, bwd, {"a": a.copy()}, h=1e-2)["a"] <= TOL


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_confident_row_keeps_the_digits_of_its_gradient(dtype):
    """At the largest logit p - 1 rounds to 0 in a confident row (margin above 37 in
    float64, 17 in float32) where the true value, minus the sum of the other p, is
    representable: the gradient keeps it, and the row sums to 0 as the exact one does."""
    margins = np.array([20.0, 40.0, 80.0])
    a = np.zeros((3, 3))
    a[:, 0] = margins                                  # class 0 sure, 1 and 2 at e^-margin
    a = a.astype(dtype)
    tiny = np.exp(-margins)                            # p_1 = p_2 = tiny / (1 + 2 tiny)
    p_other = tiny / (1 + 2 * tiny)
    rtol = {np.float64: 1e-14, np.float32: 1e-6}[dtype]
    _, d = losses.softmax_cross_entropy(a, np.zeros(3, dtype=int))
    np.testing.assert_allclose(d[:, 0], -2 * p_other / 3, rtol=rtol)
    np.testing.assert_allclose(d[:, 1:], np.repeat(p_other[:, None], 2, 1) / 3, rtol=rtol)
    soft = np.tile(np.array([1.0, 0.0, 0.0]), (3, 1))  # the same target as a row
    _, d_soft = losses.softmax_cross_entropy(a, soft)
    np.testing.assert_allclose(d_soft, d, rtol=rtol)
    assert d.dtype == dtype


def test_a_flat_row_s_largest_logit_keeps_the_plain_form_s_precision():
    """Where the label is not the largest logit and the row is flat (p_max near 1/C), the
    expm1 form (p_max - 1) + 1 cancels: kept for rows where p_max > 1/2 only, the top
    entry of a flat row of 1000 classes is p_max to a few ulps (it was 5e-14 off)."""
    r = np.random.default_rng(0)
    a = 1e-3 * r.standard_normal((8, 1000))
    labels = (a.argmax(axis=1) + 1) % 1000                 # never the largest
    _, d = losses.softmax_cross_entropy(a, labels)
    exact = np.exp(a.astype(np.longdouble))
    exact /= exact.sum(axis=1, keepdims=True)               # p in extended precision
    top = a.argmax(axis=1)
    rows = np.arange(8)
    p_top = exact[rows, top].astype(np.float64)
    np.testing.assert_allclose(d[rows, top] * 8, p_top, rtol=8 * np.finfo(float).eps)


def test_float32_in_float32_out_and_shape_errors():
    a = np.zeros((3, 10), dtype=np.float32)
    loss, d = losses.softmax_cross_entropy(a, np.array([1, 2, 3]))
    assert d.dtype == np.float32 and loss == pytest.approx(np.log(10), rel=1e-6)
    with pytest.raises(ValueError, match="targets of shape"):
        losses.softmax_cross_entropy(a, np.zeros((3, 9)))


@pytest.mark.parametrize("labels, words", [
    (np.array([1, 2, -1]), r"labels must be whole classes 0 to 9, got int64 labels from -1 to 2 "),
    (np.array([1, 2, 10]), r"labels must be whole classes 0 to 9, got int64 labels from 1 to 10 "),
    (np.array([1.0, 2.0, 1.5]), r"labels must be whole classes 0 to 9, got float64 labels"),
    (np.array([1, 2]), r"2 labels for 3 rows of logits: give one label a row$")])
def test_labels_that_are_not_one_class_a_row_are_refused(labels, words):
    """-1 picked the last class and 1.5 class 1 without a word; 10 raised NumPy's "index 10 is
    out of bounds", two labels for three rows "shape mismatch: indexing arrays could not be
    broadcast"."""
    a = np.random.default_rng(0).standard_normal((3, 10))
    with pytest.raises(ValueError, match=r"^softmax_cross_entropy: " + words):
        losses.softmax_cross_entropy(a, labels)
    with pytest.raises(ValueError, match=r"^softmax_cross_entropy: .* hold no entry"):
        losses.softmax_cross_entropy(a[:0], labels[:0])
    assert losses.softmax_cross_entropy(a, np.array([0.0, 9.0, 3.0]))[0] > 0   # whole floats


def test_soft_targets_outside_0_1_are_refused():
    """A negative soft target gave a loss below 0 without a word; rows that do not sum to 1
    are the formula's general case and stay allowed."""
    a = np.random.default_rng(0).standard_normal((2, 3))
    with pytest.raises(ValueError, match=r"^softmax_cross_entropy: targets must be "
                                         r"probabilities in \[0, 1\].* from -1.0 to 2.0"):
        losses.softmax_cross_entropy(a, np.array([[2.0, -1.0, 0.0], [0.0, 1.0, 0.0]]))
    with pytest.raises(ValueError, match="targets must be probabilities"):
        losses.softmax_cross_entropy(a, np.array([[np.nan, 1.0, 0.0], [0.0, 1.0, 0.0]]))
    assert losses.softmax_cross_entropy(a, np.full((2, 3), 0.5))[0] > 0
