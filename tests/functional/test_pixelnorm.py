"""Pixel norm: forward values and gradients, rows and maps."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan import functional as F
from minigan.check import testing
from minigan.nn import layers


@st.composite
def pixel_norm_problems(draw):
    """(N, F) rows or (N, C, H, W) maps, eps, and a seed.

    With one feature (or channel) the output is sign(x) whatever x (up to eps), so dx is of
    the order of eps and a finite difference cannot resolve it at a relative scale: for one
    feature a large eps is drawn, as for batch norm's two values per channel.
    """
    n = draw(st.integers(1, 4))
    shape = draw(st.sampled_from([(n, draw(st.integers(1, 6))),
                                  (n, draw(st.integers(1, 4)), draw(st.integers(1, 3)),
                                   draw(st.integers(1, 3)))]))
    eps = 0.5 if shape[1] == 1 else draw(st.sampled_from([1e-8, 0.1]))
    return shape, eps, draw(testing.seeds())


@given(pixel_norm_problems())
def test_pixel_norm_gradients(problem):
    shape, eps, seed = problem
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    # r = (mean x^2 + eps)^-1/2 grows without bound as a sample's features near 0: keep the
    # draws' root mean squares away from there
    assume(np.sqrt((x * x).mean(axis=1)).min() > 0.1)
    testing.assert_pair_gradients(F.pixel_norm_forward, F.pixel_norm_backward, {"x": x},
                                  rng=rng, eps=eps)
    layer = layers.PixelNorm(eps)
    testing.assert_layer_gradients(layer, x, rng=rng)
    with layer.evaluating():                       # no statistics: the same in evaluation
        np.testing.assert_array_equal(layer.forward(x), F.pixel_norm_forward(x, eps)[0])


def test_pixel_norm_forward_values():
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((5, 7))
    out, _ = F.pixel_norm_forward(rows, eps=0.0)
    np.testing.assert_allclose(np.sqrt((out ** 2).mean(axis=1)), 1.0)   # unit RMS per sample
    np.testing.assert_allclose(out * np.sqrt((rows ** 2).mean(axis=1, keepdims=True)), rows)
    maps = rng.standard_normal((2, 3, 4, 5))
    out, _ = F.pixel_norm_forward(maps, eps=0.0)
    np.testing.assert_allclose(np.sqrt((out ** 2).mean(axis=1)), 1.0)   # per pixel, over C
    # one sample at a time: a sample's output does not depend on the rest of the batch
    np.testing.assert_array_equal(F.pixel_norm_forward(rows[2:3])[0], F.pixel_norm_forward(rows)[0][2:3])
    # scaling a sample changes nothing (up to eps), and the gradient along x is 0
    np.testing.assert_allclose(F.pixel_norm_forward(3.0 * rows, eps=0.0)[0],
                               F.pixel_norm_forward(rows, eps=0.0)[0])
    out, cache = F.pixel_norm_forward(rows, eps=0.0)
    np.testing.assert_allclose((F.pixel_norm_backward(out, cache) * rows).sum(axis=1), 0.0,
                               atol=1e-12)


def test_pixel_norm_bad_shape_is_named():
    with pytest.raises(ValueError, match="PixelNorm.*\\(N, F\\) rows or \\(N, C, H, W\\) maps"):
        layers.PixelNorm().forward(np.zeros(3))
