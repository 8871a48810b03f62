"""Optimizers as properties, in float64: hypothesis draws the shapes, the number of steps and
the hyperparameters; each trajectory is held to its rule written in closed form (a moment as
the weighted sum of every gradient so far, not the recurrence the code runs), and Adam's and
RMSProp's steps to their invariances under the gradients' scale and sign.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from minigan.check import testing
from minigan.nn import optim

RTOL = 1e-12

steps = st.integers(1, 6)
lrs = st.floats(1e-5, 0.5)
decays = st.floats(0.0, 0.999)
epsilons = st.sampled_from([1e-8, 1e-4, 1e-1])


def trajectory(make, grads, **hyper):
    """The parameter after each step of ``make`` from 1s, fed ``grads`` in turn, and the
    optimizer."""
    p = np.ones(grads[0].shape)
    g = np.zeros_like(p)
    opt = make([(p, g)], **hyper)
    after = []
    for grad in grads:
        g[...] = grad
        opt.step()
        after.append(p.copy())
    return np.array(after), opt


def draw_grads(shape, t, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(t)]


def weighted_sum(decay, values, t):
    r""":math:`\sum_{i=1}^t \beta^{t-i} x_i`, the closed form of a moving sum started at 0."""
    return sum(decay ** (t - i) * values[i - 1] for i in range(1, t + 1))


@given(testing.shapes(max_dims=3), steps, lrs, decays, decays, epsilons, testing.seeds())
def test_adam_follows_its_closed_form(shape, t, lr, b1, b2, eps, seed):
    r""":math:`m_t = (1-\beta_1)\sum_i \beta_1^{t-i} g_i`, :math:`v_t` likewise of
    :math:`g_i^2`, and :math:`\theta_t = \theta_0 - \sum_{s \le t} \eta\,\hat m_s /
    (\sqrt{\hat v_s} + \epsilon)` with the bias corrections of step :math:`s`."""
    grads = draw_grads(shape, t, seed)
    after, opt = trajectory(optim.Adam, grads, lr=lr, betas=(b1, b2), eps=eps)
    theta = np.ones(shape)
    for s in range(1, t + 1):
        m = (1 - b1) * weighted_sum(b1, grads, s)
        v = (1 - b2) * weighted_sum(b2, [g * g for g in grads], s)
        theta = theta - lr * (m / (1 - b1 ** s)) / (np.sqrt(v / (1 - b2 ** s)) + eps)
        testing.assert_close_on_scale(after[s - 1], theta, RTOL, f"step {s}")
    testing.assert_close_on_scale(opt.m[0], m, RTOL, "m")
    testing.assert_close_on_scale(opt.v[0], v, RTOL, "v")


@given(testing.shapes(max_dims=3), steps, lrs, decays, epsilons, testing.seeds())
def test_rmsprop_follows_its_closed_form(shape, t, lr, alpha, eps, seed):
    r""":math:`s_t = (1-\alpha)\sum_i \alpha^{t-i} g_i^2` and
    :math:`\theta_t = \theta_0 - \sum_{k \le t} \eta\, g_k / (\sqrt{s_k} + \epsilon)`."""
    grads = draw_grads(shape, t, seed)
    after, opt = trajectory(optim.RMSProp, grads, lr=lr, alpha=alpha, eps=eps)
    theta = np.ones(shape)
    for k in range(1, t + 1):
        s = (1 - alpha) * weighted_sum(alpha, [g * g for g in grads], k)
        theta = theta - lr * grads[k - 1] / (np.sqrt(s) + eps)
        testing.assert_close_on_scale(after[k - 1], theta, RTOL, f"step {k}")
    testing.assert_close_on_scale(opt.s[0], s, RTOL, "s")


@given(testing.shapes(max_dims=3), steps, lrs, decays, testing.seeds())
def test_sgd_follows_its_closed_form(shape, t, lr, momentum, seed):
    r""":math:`u_t = -\eta \sum_i \mu^{t-i} g_i` and :math:`\theta_t = \theta_0 + \sum_{k \le t}
    u_k`: with momentum 0, plain steps :math:`-\eta g_k`."""
    grads = draw_grads(shape, t, seed)
    after, opt = trajectory(optim.SGD, grads, lr=lr, momentum=momentum)
    theta = np.ones(shape)
    for k in range(1, t + 1):
        u = -lr * weighted_sum(momentum, grads, k)
        theta = theta + u
        testing.assert_close_on_scale(after[k - 1], theta, RTOL, f"step {k}")
    testing.assert_close_on_scale(opt.u[0], u, RTOL, "u")


@given(testing.shapes(max_dims=3), steps, lrs, decays, decays, testing.seeds(),
       st.floats(1e-3, 1e3), st.sampled_from([1.0, -1.0]))
def test_adams_steps_ignore_the_gradients_scale_and_follow_their_sign(shape, t, lr, b1, b2,
                                                                      seed, scale, sign):
    """Gradients times ``sign * scale`` move the parameter by ``sign`` times the steps of the
    gradients themselves, where eps (1e-300 here) is negligible beside the gradients."""
    grads = draw_grads(shape, t, seed)
    after, _ = trajectory(optim.Adam, grads, lr=lr, betas=(b1, b2), eps=1e-300)
    scaled, _ = trajectory(optim.Adam, [sign * scale * g for g in grads], lr=lr,
                           betas=(b1, b2), eps=1e-300)
    testing.assert_close_on_scale(scaled - 1, sign * (after - 1), 1e-10)


@given(testing.shapes(max_dims=3), steps, lrs, decays, testing.seeds(), st.floats(1e-3, 1e3),
       st.sampled_from([1.0, -1.0]))
def test_rmsprops_steps_ignore_the_gradients_scale_and_follow_their_sign(shape, t, lr, alpha,
                                                                         seed, scale, sign):
    """As Adam's: RMSProp divides each gradient by a root mean square of its own."""
    grads = draw_grads(shape, t, seed)
    after, _ = trajectory(optim.RMSProp, grads, lr=lr, alpha=alpha, eps=1e-300)
    scaled, _ = trajectory(optim.RMSProp, [sign * scale * g for g in grads], lr=lr,
                           alpha=alpha, eps=1e-300)
    testing.assert_close_on_scale(scaled - 1, sign * (after - 1), 1e-10)
