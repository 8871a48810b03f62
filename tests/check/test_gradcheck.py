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


def test_factor_says_how_many_nonzero_differences_it_rests_on():
    """GradientErrors.factor says how many nonzero differences its factor rests on: one
    entry's ratio is a fit of nothing (it gave an infinite residual, and a one-entry
    gradient of the wrong sign lost its hint), two or more agree on a factor."""
    wrong_sign = (lambda x: (x * x, x), lambda d, x: -2 * x * d)
    c, residual, entries = check_pair(*wrong_sign, {"x": np.array([0.5])}).factor("x")
    assert entries == 1 and c == pytest.approx(-1, abs=1e-9) and residual < 1e-12
    c, residual, entries = check_pair(*wrong_sign, {"x": np.array([0.5, 0.0])}).factor("x")
    assert entries == 1 and c == pytest.approx(-1, abs=1e-9) and residual < 1e-12
    c, residual, entries = check_pair(*wrong_sign, {"x": np.array([0.5, 2.0])}).factor("x")
    assert entries == 2 and c == pytest.approx(-1, abs=1e-9) and residual < 1e-12


def test_check_pair_requires_float64():
    with pytest.raises(ValueError, match="float64"):
        check_pair(F.relu_forward, F.relu_backward, {"x": np.ones(3, dtype=np.float32)})


def test_a_checked_layer_ends_with_the_cache_of_its_checked_pass():
    """The differences run the forward pass again and again; the layer ends as the one
    checked pass left it, its cache too (Tanh's output, which the last bias moves)."""
    import copy

    from minigan.check.gradcheck import check_layer
    from minigan.nn import layers
    r = np.random.default_rng(0)
    layer = layers.Sequential(layers.Dense(3, 4, rng=r, dtype="float64"), layers.Tanh())
    x = r.standard_normal((5, 3))
    twin = copy.deepcopy(layer)
    check_layer(layer, x, rng=np.random.default_rng(1))
    twin.forward(x)
    dout = r.standard_normal((5, 4))
    assert np.array_equal(layer.backward(dout), twin.backward(dout))


def test_a_checked_step_ends_with_what_its_checked_run_left():
    """After the step check a GAN's last_r1 is the checked D step's, not the last
    difference's (D's last layer without a bias: its last weight moves the penalty)."""
    import copy

    from minigan import gan
    from minigan.check.gradcheck import check_step
    from minigan.nn import layers, optim
    r = np.random.default_rng(0)
    G = layers.Sequential(layers.Dense(2, 6, rng=r, dtype="float64"), layers.Tanh(),
                          layers.Dense(6, 3, rng=r, dtype="float64"))
    D = layers.Sequential(layers.Dense(3, 6, rng=r, dtype="float64"), layers.LeakyReLU(0.2),
                          layers.Dense(6, 1, bias=False, rng=r, dtype="float64"))
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=r, r1=0.5, r1_every=1)
    x = r.standard_normal((5, 3))
    twin = copy.deepcopy(model)                 # its noise generator where the model's is

    def step(m):
        stats = m.d_step(x, update=False)
        return stats["d_loss"] + m.r1_every * stats["r1"]

    check_step(lambda: step(model), model.D, replayed=(model.G, model.rng))
    step(twin)
    assert model.last_r1 == twin.last_r1


def test_a_layer_checked_whole_ends_as_its_checked_pass_left_it():
    """assert_layer_gradients runs more passes after the checked one (the accumulation
    check, from the state after it: another Dropout mask); the layer ends with the checked
    pass's mask, state and gradient."""
    import copy

    from minigan.check import testing
    from minigan.nn import layers
    r = np.random.default_rng(0)
    layer = layers.Sequential(layers.Dense(3, 4, rng=r, dtype="float64"),
                              layers.Dropout(0.5, rng=np.random.default_rng(5)))
    twin = copy.deepcopy(layer)
    x = r.standard_normal((6, 3))
    testing.assert_layer_gradients(layer, x, rng=np.random.default_rng(1))
    twin.forward(x)
    dout = r.standard_normal((6, 4))
    assert layer.layers[1].rng.bit_generator.state == twin.layers[1].rng.bit_generator.state
    assert np.array_equal(layer.backward(dout), twin.backward(dout))


def _noisy_step():
    """A step on a Dense layer whose loss reads noise from its own generator."""
    from minigan.nn import layers

    rng = np.random.default_rng(0)
    net = layers.Dense(3, 2, rng=rng, dtype="float64")
    x, noise = rng.standard_normal((4, 3)), np.random.default_rng(1)

    def step():
        net.zero_grad()
        out = net.forward(x + noise.standard_normal(x.shape))
        net.backward(out)
        return {"loss": 0.5 * float((out ** 2).sum())}

    return net, noise, step


def test_a_step_that_returns_something_else_than_its_loss_is_told_what_to_return():
    """A dict (a GAN step's stats) failed with "float() argument must be a string or a real
    number, not 'dict'"."""
    from minigan.check.gradcheck import check_step

    net, noise, step = _noisy_step()
    with pytest.raises(TypeError, match=r": the step must return its loss, one number, got a dict "
                                        r"\(a GAN's D step: .*\['d_loss'\]\)$"):
        check_step(step, net, replayed=(noise,))
    with pytest.raises(TypeError, match=r"one number, got an array of shape \(2,\)"):
        check_step(lambda: np.ones(2), net)


def test_one_generator_or_layer_may_be_replayed_without_a_tuple():
    """replayed=model.rng failed with "'numpy.random._generator.Generator' object is not
    iterable"."""
    from minigan.check.gradcheck import check_step

    net, noise, step = _noisy_step()
    assert check_step(lambda: step()["loss"], net, replayed=noise)["parameters"] < 1e-7
    with pytest.raises(ValueError, match="draws from a generator that is not replayed"):
        check_step(lambda: step()["loss"], net)                  # it is replayed, above


@pytest.mark.parametrize("thing", [lambda x: x, np.tanh, F.relu_forward])
def test_a_function_given_where_a_layer_is_wanted_is_named(thing):
    """It failed with "'function' object has no attribute 'params'"."""
    from minigan.check import testing

    with pytest.raises(TypeError, match=r"^the gradient checks take a layer, with forward\(x\), "
                                        r"backward\(dout\), .*got a \w+; check a forward/backward "
                                        r"pair of functions with check_pair"):
        testing.assert_layer_gradients(thing, np.ones((2, 2)))
