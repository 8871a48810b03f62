"""Every faster body computes its operation's formula: the NumPy bodies registered beside the
plain formulas (minigan.backend.op) against the formulas, on random inputs and layouts."""

import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan import backend
from minigan import functional as F
from minigan.check import testing
from minigan.functional import activations, batchnorm, im2col, losses
from minigan.nn import optim


def operations():
    """Every operation made with backend.op in the functional floor and the optimizers."""
    found = {}
    for module in (activations, batchnorm, im2col, losses, optim):
        for name, obj in vars(module).items():
            if callable(obj) and hasattr(obj, "bodies") and hasattr(obj, "reference") \
                    and obj.__module__ == module.__name__:          # not an imported one
                found[f"{module.__name__.rsplit('.', 1)[1]}.{name}"] = obj
    return found


def _layouts(x, layout):
    """``x`` C-contiguous, or the same values in channel-major or transposed memory."""
    if layout == "channel-major" and x.ndim == 4:
        return np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    if layout == "fortran":
        return np.asfortranarray(x)
    return x


@st.composite
def arrays(draw, min_dims=1, max_dims=4):
    shape = draw(testing.shapes(max_dims, 5, min_dims))
    rng = np.random.default_rng(draw(testing.seeds()))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    return _layouts(x, draw(st.sampled_from(["c", "channel-major", "fortran"]))), rng


def same(got, want):
    """Bit for bit: the same numbers, dtype and shape (arrays inside tuples too)."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            same(g, w)
        return
    if isinstance(want, np.ndarray):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    else:
        assert got == want


@given(arrays(), st.sampled_from([0.01, 0.2, 1.0, 1.5, np.float64(0.2), np.float32(0.3)]))
def test_activation_bodies_give_the_formulas_numbers(case, slope):
    x, rng = case
    dout = rng.standard_normal(x.shape).astype(x.dtype)
    same(F.relu_forward(x), F.relu_forward.reference(x))
    same(F.leaky_relu_forward(x, slope), F.leaky_relu_forward.reference(x, slope))
    assert F.leaky_relu_forward.reference(x, slope)[0].dtype == x.dtype   # a NumPy slope too
    cache = F.leaky_relu_forward(x, slope)[1]
    same(F.leaky_relu_backward(dout, cache), F.leaky_relu_backward.reference(dout, cache))
    with np.errstate(over="ignore"):
        same(F.sigmoid(100 * x), F.sigmoid.reference(100 * x))     # saturated too


@given(testing.batchnorm_configs(), st.booleans(), st.sampled_from(["c", "channel-major"]),
       st.booleans())
def test_batchnorm_bodies_compute_the_formula(cfg, training, layout, param_grads):
    rng = cfg.rng()
    backend.set_default_dtype("float64")
    C = cfg.num_features
    x = _layouts(cfg.input(rng), layout)
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    stats = [rng.standard_normal(C), 0.5 + rng.random(C)]
    both = [[s.copy() for s in stats] for _ in range(2)]
    out, cache = F.batchnorm_forward(x, gamma, beta, *both[0], training, 0.1, cfg.eps)
    ref_out, ref_cache = F.batchnorm_forward.reference(x, gamma, beta, *both[1], training, 0.1,
                                                       cfg.eps)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    for a, b in zip(both[0], both[1], strict=True):             # the running statistics
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(x.shape)
    got = F.batchnorm_backward(dout, cache, param_grads)
    want = F.batchnorm_backward.reference(dout, ref_cache, param_grads)
    for g, w in zip(got, want, strict=True):
        if w is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-10 * np.abs(dout).max())


@given(testing.conv2d_configs(max_size=6), st.integers(1, 3), st.booleans())
def test_the_blocked_col2im_product_computes_the_whole_product(cfg, rows, bias):
    rng = cfg.rng()
    O, C, kh, kw = cfg.W_shape
    geom = im2col.ConvGeometry.conv(cfg.x_shape[2:], (kh, kw), cfg.stride, cfg.padding)
    a = rng.standard_normal((C * kh * kw, O))
    d = rng.standard_normal((O, geom.grid[0] * geom.grid[1] * cfg.x_shape[0]))
    b = rng.standard_normal(C) if bias else None
    want = im2col.col2im_matmul.reference(a, d, geom, b)
    for contiguous in (True, False):
        got = im2col.col2im_matmul_cpu(a, d, geom, b, rows=rows, contiguous=contiguous)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@given(arrays(), st.sampled_from([1e-3, 2e-4]), st.sampled_from([(0.5, 0.999), (0.9, 0.99)]))
def test_the_adam_body_gives_the_formulas_numbers(case, lr, betas):
    p, rng = case
    p = np.ascontiguousarray(p)
    states = [[p.copy(), np.zeros_like(p), np.zeros_like(p)] for _ in range(2)]
    for t in range(1, 4):
        g = rng.standard_normal(p.shape).astype(p.dtype)
        bc1, bc2 = 1 - betas[0] ** t, 1 - betas[1] ** t
        optim.adam_update(*states[0][:1], g, *states[0][1:], lr, *betas, 1e-8, bc1, bc2)
        optim.adam_update.reference(*states[1][:1], g, *states[1][1:], lr, *betas, 1e-8, bc1,
                                    bc2)
    for got, want in zip(*states, strict=True):
        same(got, want)


@given(arrays(), st.integers(1, 40))
def test_the_adam_body_in_blocks_gives_the_formulas_numbers(case, block):
    """Blocks smaller than the array, a last block cut short, and non-contiguous arrays
    (updated whole, in place: a flattened copy would lose the update)."""
    p, rng = case
    states = [[p.copy(order="K"), np.zeros_like(p), np.zeros_like(p)] for _ in range(2)]
    for t in range(1, 4):
        g = rng.standard_normal(p.shape).astype(p.dtype)
        bc1, bc2 = 1 - 0.5 ** t, 1 - 0.999 ** t
        optim._adam_update_cpu(states[0][0], g, *states[0][1:], 1e-3, 0.5, 0.999, 1e-8, bc1,
                               bc2, block=block)
        optim.adam_update.reference(states[1][0], g, *states[1][1:], 1e-3, 0.5, 0.999, 1e-8,
                                    bc1, bc2)
    for got, want in zip(*states, strict=True):
        same(got, want)


#: Each operation with a NumPy body of its own, and the test above that holds it to its formula.
CHECKED = {"activations.relu_forward", "activations.leaky_relu_forward",
           "activations.leaky_relu_backward", "activations.sigmoid",
           "batchnorm.batchnorm_forward", "batchnorm.batchnorm_backward",
           "im2col.col2im_matmul", "optim.adam_update"}


def test_every_faster_numpy_body_is_checked_here():
    tuned = {name for name, f in operations().items() if f.bodies["cpu"] is not f.reference}
    assert tuned == CHECKED, (tuned - CHECKED, CHECKED - tuned)
    for name in tuned:                              # the formula comes first in its module
        f = operations()[name]
        assert inspect.getsourcelines(f.reference)[1] < inspect.getsourcelines(f.bodies["cpu"])[1]
    assert len(operations()) >= 14


@pytest.mark.parametrize("name", sorted(operations()))
def test_a_tuned_body_names_the_formula_it_computes_and_takes_its_arguments(name):
    """A body is called with the operation's arguments, positional ones included: its
    parameters are the formula's, in the same order (it may add keyword-only extras after).
    Every body other than the formula itself, the CPU's and the GPU's, names it (four GPU
    bodies had no word of theirs)."""
    f = operations()[name]
    for device, body in f.bodies.items():
        if body is f.reference:
            continue
        assert f":func:`{f.reference.__name__}`" in (body.__doc__ or ""), (name, device)
        want = list(inspect.signature(f.reference).parameters.items())
        got = list(inspect.signature(body).parameters.items())
        assert [(k, p.default) for k, p in got[:len(want)]] == \
            [(k, p.default) for k, p in want], (name, device)
