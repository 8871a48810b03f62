"""Every forward/backward pair against the numeric vector-Jacobian product, in float64."""

import math
import re

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan import functional as F
from minigan.check import testing
from minigan.check.gradcheck import check_pair
from minigan.check.testing import GRAD_TOL as TOL
from minigan.check.testing import away_from_kinks as away_from_zero

seeds = testing.seeds()
batch = st.integers(1, 6)
features = st.integers(1, 8)


@given(n=batch, d_in=features, d_out=features, seed=seeds)
def test_dense_gradients(n, d_in, d_out, seed):
    r = np.random.default_rng(seed)
    arrays = {"x": r.standard_normal((n, d_in)), "W": r.standard_normal((d_in, d_out)),
              "b": r.standard_normal(d_out)}
    # dW = x^T dout can cancel to ~1e-6 by chance; below ~1e-4 a float64 finite
    # difference (rounding noise ~1e-11) cannot resolve it, so such draws are rejected.
    dout = np.random.default_rng(seed + 1).standard_normal((n, d_out))
    assume(np.abs(arrays["x"].T @ dout).max() > 1e-3)
    testing.assert_pair_gradients(F.dense_forward, F.dense_backward, arrays,
                                  rng=np.random.default_rng(seed + 1))


@given(n=batch, d_in=features, d_out=features, seed=seeds)
def test_dense_forward_is_affine_map(n, d_in, d_out, seed):
    r = np.random.default_rng(seed)
    x, W, b = r.standard_normal((n, d_in)), r.standard_normal((d_in, d_out)), r.standard_normal(d_out)
    out, _ = F.dense_forward(x, W, b)
    expected = np.array([[sum(x[i, k] * W[k, j] for k in range(d_in)) + b[j]
                          for j in range(d_out)] for i in range(n)])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_dense_frozen_skips_parameter_gradients():
    r = np.random.default_rng(0)
    x, W, b = r.standard_normal((3, 4)), r.standard_normal((4, 2)), r.standard_normal(2)
    out, cache = F.dense_forward(x, W, b)
    dx, dW, db = F.dense_backward(np.ones_like(out), cache, param_grads=False)
    assert dW is None and db is None
    np.testing.assert_allclose(dx, np.ones((3, 2)) @ W.T)


def test_dense_shape_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"Dense: input of shape \(3, 5\).*\(4, 2\)"):
        F.dense_forward(np.zeros((3, 5)), np.zeros((4, 2)), np.zeros(2))


@given(shape=testing.shapes(max_dims=4), seed=seeds)
def test_relu_gradients(shape, seed):
    r = np.random.default_rng(seed)
    x = away_from_zero(r.standard_normal(shape))
    errors = check_pair(F.relu_forward, F.relu_backward, {"x": x}, rng=r)
    assert errors["x"] <= TOL


# any finite slope is a LeakyReLU's: 0 to 1 (the fast body's max(x, slope x)), and beyond
@given(shape=testing.shapes(max_dims=4),
       slope=st.one_of(st.floats(0.0, 1.0), st.floats(-2.0, 3.0)), seed=seeds)
def test_leaky_relu_gradients(shape, slope, seed):
    r = np.random.default_rng(seed)
    x = away_from_zero(r.standard_normal(shape))
    errors = check_pair(F.leaky_relu_forward, F.leaky_relu_backward, {"x": x}, rng=r, slope=slope)
    assert errors["x"] <= TOL
    out, _ = F.leaky_relu_forward(x, slope)
    np.testing.assert_array_equal(out, np.where(x > 0, x, slope * x))


# Scales stay where the derivative is resolvable by a finite difference in float64:
# at |x| >= 6 the true derivative (~2.5e-5) is swamped by the difference's rounding noise.
@given(shape=testing.shapes(max_dims=4),
       scale=st.sampled_from([0.1, 0.5, 1.5]), seed=seeds)
def test_tanh_gradients(shape, scale, seed):
    r = np.random.default_rng(seed)
    x = scale * r.standard_normal(shape)
    errors = check_pair(F.tanh_forward, F.tanh_backward, {"x": x}, rng=r)
    assert errors["x"] <= TOL


@given(shape=testing.shapes(max_dims=4),
       scale=st.sampled_from([0.1, 1.0, 3.0]), seed=seeds)
def test_sigmoid_gradients(shape, scale, seed):
    r = np.random.default_rng(seed)
    x = scale * r.standard_normal(shape)
    errors = check_pair(F.sigmoid_forward, F.sigmoid_backward, {"x": x}, rng=r)
    assert errors["x"] <= TOL


def test_sigmoid_no_overflow_at_extremes():
    x = np.array([-1e308, -1e4, -1e3, -745.0, -50.0, 0.0, 50.0, 1e3, 1e4, 1e308])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # overflow, 0/0 or x/0 would raise
        out, _ = F.sigmoid_forward(x)
    assert np.all(np.isfinite(out))
    assert out[0] == 0.0 and out[-1] == 1.0 and out[5] == 0.5
    assert np.all(np.diff(out) >= 0)
    x32 = np.array([-3e38, -1e4, -1e3, -100.0, 0.0, 100.0, 1e3, 1e4, 3e38], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out32, _ = F.sigmoid_forward(x32)
    assert out32.dtype == np.float32 and np.all(np.isfinite(out32))
    assert out32[0] == 0.0 and out32[-1] == 1.0


def test_sigmoid_matches_definition_where_definition_is_safe():
    x = np.linspace(-30, 30, 601)
    out, _ = F.sigmoid_forward(x)
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-x)), rtol=1e-14)


@given(shape=testing.shapes(max_dims=3),
       p=st.floats(0.0, 0.999), seed=seeds)
def test_dropout_gradients(shape, p, seed):
    r = np.random.default_rng(seed)
    x = r.standard_normal(shape)
    mask = (r.random(shape) >= p) / (1 - p)
    errors = check_pair(F.dropout_forward, F.dropout_backward, {"x": x}, rng=r, mask=mask)
    assert errors["x"] <= TOL


def test_dense_without_bias():
    r = np.random.default_rng(1)
    x, W = r.standard_normal((3, 4)), r.standard_normal((4, 2))
    out, cache = F.dense_forward(x, W, None)
    np.testing.assert_array_equal(out, x @ W)
    dout = r.standard_normal((3, 2))
    dx, dW, db = F.dense_backward(dout, cache)
    assert db is None
    np.testing.assert_allclose(dW, x.T @ dout, rtol=1e-13)
    np.testing.assert_allclose(dx, dout @ W.T, rtol=1e-13)


def _every_body(operation):
    """The formula and each body registered for it (a plain function: itself)."""
    bodies = getattr(operation, "bodies", {})
    return [operation.reference, *bodies.values()] if bodies else [operation]


@pytest.mark.parametrize("name, forward, backward", [
    ("ReLU", F.relu_forward, F.relu_backward),
    ("LeakyReLU", F.leaky_relu_forward, F.leaky_relu_backward),
    ("Tanh", F.tanh_forward, F.tanh_backward),
    ("Sigmoid", F.sigmoid_forward, F.sigmoid_backward),
    ("PixelNorm", F.pixel_norm_forward, F.pixel_norm_backward),
    ("Dropout", lambda x: F.dropout_forward(x, np.full_like(x, 2.0)), F.dropout_backward),
    ("Dense", lambda x: F.dense_forward(x, np.ones((5, 3)), np.zeros(3)), F.dense_backward),
])
@pytest.mark.parametrize("wrong", [(5,), (1, 5), (4, 1), (4, 3, 1)])
def test_every_backward_refuses_an_upstream_gradient_of_another_shape(name, forward, backward,
                                                                       wrong):
    """A dout that would broadcast (a row, a column) gives an error naming the op and the
    output's shape, from the formula and every faster body (the GPU's before its kernel)."""
    x = np.random.default_rng(0).standard_normal((4, 5))
    out, cache = forward(x)
    for body in _every_body(backward):
        with pytest.raises(F.ShapeError, match=rf"^{name}: dout of shape "
                                               rf"{re.escape(str(wrong))}, expected "
                                               rf"{re.escape(str(out.shape))}"):
            body(np.ones(wrong), cache)


@pytest.mark.parametrize("name, forward, backward, wrong", [
    ("MinibatchDiscrimination",
     lambda x: F.minibatch_discrimination_forward(x, np.ones((5, 6)), 2),
     F.minibatch_discrimination_backward, (4, 6)),
    ("MinibatchStdDev", lambda x: F.minibatch_stddev_forward(x, 2), F.minibatch_stddev_backward,
     (4, 5)),
    ("MinibatchStdDev", lambda x: F.minibatch_stddev_forward(x.reshape(4, 5, 1, 1), 2),
     F.minibatch_stddev_backward, (4, 5, 1, 1)),
    ("MinibatchStdDev", lambda x: F.minibatch_stddev_forward(x.reshape(4, 5, 1, 1), 2),
     F.minibatch_stddev_backward, (4, 3, 1, 2)),             # 6 values a sample, as (6, 1, 1)
    ("Pack", lambda x: F.pack_forward(x, 2), F.pack_backward, (5, 4)),   # (2, 10): 20 values too
    ("LabelConcat", lambda x: F.label_concat_forward(x, np.eye(4)[:, :3]),
     F.label_concat_backward, (4, 7)),
    ("LabelFromNoise", lambda x: F.label_from_noise_forward(x, np.array([0.0])),
     F.label_from_noise_backward, (4, 8)),
])
def test_the_remedies_backward_refuse_an_upstream_gradient_of_another_shape(name, forward,
                                                                           backward, wrong):
    """The same rule for the remedies' operations: a dout that reshapes or slices into place
    (a pack's (5, 4) for (2, 10), a label join's extra column) is named, not used."""
    x = np.random.default_rng(0).standard_normal((4, 5))
    out, cache = forward(x)
    assert tuple(out.shape) != wrong
    with pytest.raises(F.ShapeError, match=rf"^{name}: dout of shape "
                                           rf"{re.escape(str(wrong))}, expected "
                                           rf"{re.escape(str(tuple(out.shape)))}"):
        backward(np.ones(wrong), cache)


def test_spectral_norms_backward_refuses_an_upstream_gradient_of_another_shape():
    """Its dout is shaped like the weight (a conv's 4-D one, which the pass reads as a matrix):
    a transposed one would give a transposed gradient."""
    W = np.random.default_rng(0).standard_normal((4, 5))
    _, cache = F.spectral_norm_forward(W, np.ones(4) / 2)
    for wrong in [(5, 4), (4, 4)]:
        with pytest.raises(F.ShapeError, match=rf"^SpectralNorm: dout of shape "
                                               rf"{re.escape(str(wrong))}, expected \(4, 5\)"):
            F.spectral_norm_backward(np.ones(wrong), cache)


@pytest.mark.parametrize("layer, x_shape, wrong", [
    ("Flatten", (4, 2, 2, 3), (12, 4)),
    ("Flatten", (4, 2, 2, 3), (48,)),
    ("Reshape", (4, 12), (4, 4, 3)),
    ("Dropout-eval", (4, 5), (5,)),
    ("Dropout-0", (4, 5), (1, 5)),
])
def test_shape_layers_refuse_an_upstream_gradient_of_another_shape(layer, x_shape, wrong):
    from minigan.nn import layers
    made = {"Flatten": lambda: layers.Flatten(), "Reshape": lambda: layers.Reshape((3, 4)),
            "Dropout-eval": lambda: layers.Dropout(0.5).eval(),
            "Dropout-0": lambda: layers.Dropout(0.0)}[layer]()
    out = made.forward(np.ones(x_shape))
    with pytest.raises(ValueError, match=rf"dout of shape {re.escape(str(wrong))}, expected "
                                         rf"{re.escape(str(tuple(out.shape)))}"):
        made.backward(np.ones(wrong))


def test_an_upstream_gradient_that_is_a_number_is_named():
    """A game's g_loss that returned its gradient as a number (-1 / m, not an array of one
    row a sample) raised "'float' object has no attribute 'shape'" from check_dout."""
    from minigan.nn import layers
    layer = layers.Dense(3, 1)
    layer.forward(np.ones((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"^Dense\(3, 1\): dout a float, not an array, expected "
                                         r"\(4, 1\)"):
        layer.backward(-0.25)


def test_each_family_lists_its_pairs_and_the_package_lists_every_family():
    """The atlas's recipe for a new operation: both names in the module's ``__all__`` and in
    ``minigan.functional``'s. Each module lists the public functions it defines, and the
    package's ``__all__`` holds every pair (``*_forward``, ``*_backward``) among them."""
    import importlib
    import inspect
    import pkgutil

    listed = set()
    for info in pkgutil.iter_modules(F.__path__):
        module = importlib.import_module(f"minigan.functional.{info.name}")
        defined = {name for name, value in vars(module).items()
                   if inspect.isfunction(value) and value.__module__ == module.__name__
                   and not name.startswith("_")}
        assert hasattr(module, "__all__"), f"minigan.functional.{info.name} has no __all__"
        missing = defined - set(module.__all__)
        assert not missing, f"minigan.functional.{info.name}.__all__ lacks {sorted(missing)}"
        listed |= {name for name in module.__all__ if name.endswith(("_forward", "_backward"))}
    missing = listed - set(F.__all__)
    assert not missing, f"minigan.functional.__all__ lacks {sorted(missing)}"


@pytest.mark.parametrize("value", [math.inf, -math.inf, np.float64(np.inf)])
def test_an_infinite_whole_number_is_named(value):
    """int(inf) raised OverflowError, "cannot convert float infinity to integer", naming
    neither the argument nor what it takes."""
    from minigan.functional.errors import whole_number
    with pytest.raises(ValueError, match=r"^k must be >= 1, a whole number, got "):
        whole_number("k", value, 1)


@pytest.mark.parametrize("value, read", [
    (0.5, 0.5), (3, 3.0), (np.float32(0.25), 0.25), (np.array(2.0), 2.0), (math.nan, "nan"),
    (True, None), (np.True_, None), (np.array(True), None), ("0.5", None), (b"1", None),
    (None, None), (np.array([1.0, 2.0]), None), (1 + 2j, None), ([0.5], None),
])
def test_real_number_is_one_real_number_and_not_a_switch_or_text(value, read):
    """The one test of "a number" behind amount, number and the optimizers: float() would
    take True as 1.0, "0.5" as 0.5, and an array of two raised TypeError, not ValueError."""
    from minigan.functional.errors import real_number
    got = real_number(value)
    assert (math.isnan(got) if read == "nan" else got == read), got


@pytest.mark.parametrize("value, low, high, said", [
    (math.inf, None, None, "must be a finite number, got inf"),
    (-1, 0.0, None, "must be a finite number >= 0, got -1"),
    (2, None, 1.0, "must be a finite number <= 1, got 2"),
    (1.5, 0.0, 1.0, r"must be a finite number in \[0, 1\], got 1.5"),
    (True, 0.0, 1.0, r"must be a finite number in \[0, 1\], got True"),
    (np.array([0.1, 0.2]), None, None, r"must be a finite number, got array\(\[0.1, 0.2\]\)"),
])
def test_number_names_what_it_checks_and_its_bounds(value, low, high, said):
    from minigan.functional.errors import number
    with pytest.raises(ValueError, match=rf"^x {said}$"):
        number("x", value, low, high)
    assert number("x", 0.5, low, high if high is None or high >= 0.5 else None) == 0.5
