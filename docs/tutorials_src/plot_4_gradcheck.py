r"""
Checking a gradient yourself
============================

A backward pass computes a vector-Jacobian product: given :math:`\bar y = \partial L/\partial y`
it returns :math:`\bar x = J^\top \bar y`, the gradient of the scalar
:math:`s(x) = \langle f(x), \bar y\rangle`. :mod:`minigan.check.gradcheck` differentiates that
scalar numerically, one entry at a time, with a centered difference,

.. math:: \bar x_i \approx \frac{s(x + h e_i) - s(x - h e_i)}{2h},

and compares with :func:`minigan.check.gradcheck.rel_error`,

.. math:: \frac{\max_i |a_i - b_i|}{\max\left(\max_i |a_i| + \max_i |b_i|,\ 10^{-8}\right)}.

Everything is float64 and :math:`\bar y` is random, so no column of :math:`J` hides
behind a zero. The test suite asks for at most :data:`minigan.check.testing.GRAD_TOL`
:math:`= 10^{-7}`.
"""

import matplotlib.pyplot as plt
import numpy as np

from minigan import functional as F
from minigan.check import gradcheck, testing
from minigan.nn import layers

r = np.random.default_rng(0)
x, W, b = r.standard_normal((4, 3)), r.standard_normal((3, 2)), r.standard_normal(2)
print("dense pair: ", gradcheck.check_pair(F.dense_forward, F.dense_backward,
                                           {"x": x, "W": W, "b": b}, rng=r))
conv = layers.Conv2d(2, 3, 3, stride=2, padding=1, rng=r, dtype="float64")
print("Conv2d layer:", gradcheck.check_layer(conv, r.standard_normal((2, 2, 5, 5)), rng=r))

# %%
# A wrong gradient is caught
# --------------------------
# Here is tanh with a classic slip, :math:`1 - \text{out}` instead of :math:`1 - \text{out}^2`.
# :func:`minigan.check.testing.assert_pair_gradients` fails naming the input and its error.


def bad_tanh_backward(dout, cache):
    return dout * (1 - cache)


try:
    testing.assert_pair_gradients(F.tanh_forward, bad_tanh_backward, {"x": x}, rng=r)
except AssertionError as err:
    print("AssertionError:", err)

# %%
# Property tests: shapes drawn by hypothesis
# ------------------------------------------
# One example proves little; :mod:`minigan.check.testing` draws the problems. This runs the
# check on every Conv2d configuration hypothesis draws (kernel, stride, padding, batch,
# channels), the test that guards :func:`minigan.functional.conv2d_backward`:

from hypothesis import given, settings  # noqa: E402


@settings(max_examples=10, deadline=None, derandomize=True)
@given(testing.conv2d_configs())
def test_conv2d_gradients(cfg):
    rng = cfg.rng()
    testing.assert_pair_gradients(F.conv2d_forward, F.conv2d_backward, cfg.arrays(rng),
                                  rng=rng, **cfg.pair_kwargs)


test_conv2d_gradients()
print("10 drawn Conv2d problems: every gradient within", testing.GRAD_TOL)

# %%
# Choosing the step h
# -------------------
# The centered difference has a truncation error :math:`O(h^2)` and a rounding error
# :math:`O(\epsilon |f| / h)`, with :math:`\epsilon \approx 2.2\times 10^{-16}`: too
# large a step measures curvature, too small a step measures noise. For tanh (curved
# everywhere) the error is smallest near :math:`h = \epsilon^{1/3} \approx 6\times 10^{-6}`,
# just below :math:`10^{-5}`, the default of :func:`minigan.check.gradcheck.numeric_vjp`,
# where it is still far under the tolerance. Where a function curves
# faster, :func:`minigan.check.testing.assert_pair_gradients` compares again with
# Richardson's extrapolation of the steps h and h/10, which cancels the h**2 term
# (:func:`minigan.check.gradcheck.extrapolated_vjp`).

x = r.standard_normal((5, 4))
out, cache = F.tanh_forward(x)
dout = r.standard_normal(out.shape)
exact = F.tanh_backward(dout, cache)
hs = np.logspace(-12, -1, 45)
errs = [gradcheck.rel_error(exact, gradcheck.numeric_vjp(lambda: np.tanh(x), x, dout, h))
        for h in hs]
fig, ax = plt.subplots(figsize=(6, 3.6))
ax.loglog(hs, errs, "o-", ms=3)
ax.axhline(testing.GRAD_TOL, color="C3", ls="--", label=f"GRAD_TOL = {testing.GRAD_TOL:g}")
ax.axvline(1e-5, color="0.5", ls=":", label="default h = 1e-5")
ax.set_xlabel("finite-difference step h")
ax.set_ylabel("relative error of the numeric VJP")
ax.set_title("tanh's backward pass against the numeric VJP, by step h")
ax.legend()
fig.tight_layout()
plt.show()
