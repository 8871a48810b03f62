"""The gradient checker itself: it must catch a wrong backward pass."""

import numpy as np
import pytest

from minigan import functional as F
from minigan.check.gradcheck import check_pair, numeric_vjp, rel_error


def test_rel_error_floor_and_scale():
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    # error 0.1 against scale |2| + |2.1|
    assert rel_error(np.array([2.0]), np.array([2.1])) == pytest.approx(0.1 / 4.1)
    # the floor: tiny gradients are judged against 1e-8, not against themselves
    assert rel_error(np.array([1e-12]), np.array([0.0])) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(2), np.zeros(3))


def test_numeric_vjp_of_a_known_function():
    x = np.array([0.5, -1.0, 2.0])
    dout = np.array([1.0, 2.0, -3.0])
    grad = numeric_vjp(lambda: x**3, x, dout)
    np.testing.assert_allclose(grad, 3 * x**2 * dout, rtol=1e-8)
    np.testing.assert_array_equal(x, [0.5, -1.0, 2.0])  # restored


def test_check_pair_catches_a_wrong_backward():
    r = np.random.default_rng(0)
    arrays = {"x": r.standard_normal((4, 3)), "W": r.standard_normal((3, 2)),
              "b": r.standard_normal(2)}

    def wrong_backward(dout, cache):
        dx, dW, db = F.dense_backward(dout, cache)
        return dx, dW, 2 * db  # off by a factor of two

    errors = check_pair(F.dense_forward, wrong_backward, arrays, rng=r)
    assert errors["x"] < 1e-7 and errors["W"] < 1e-7
    assert errors["b"] > 0.1


def test_check_pair_requires_float64():
    with pytest.raises(ValueError, match="float64"):
        check_pair(F.relu_forward, F.relu_backward, {"x": np.ones(3, dtype=np.float32)})
