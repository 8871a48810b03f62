"""minigan.parallel: the same bits on one thread and on several, in any memory layout."""

import numpy as np
import pytest

from minigan import functional as F
from minigan import parallel
from minigan.optim import adam_update


@pytest.fixture
def threads():
    """Restore the thread count after a test that changes it."""
    before = parallel.threads()
    yield parallel.set_threads
    parallel.set_threads(before)


def _layouts(rng, shape):
    """The same kind of values as a C-contiguous array and as a channel-major NCHW view."""
    N, C, H, W = shape
    yield rng.standard_normal(shape).astype(np.float32)
    yield rng.standard_normal((C, H, W, N)).astype(np.float32).transpose(3, 0, 1, 2)


def _run_ops(x, d):
    """Every result of the operations that split their work, for inputs ``x`` and ``d``."""
    C = x.shape[1]
    gamma = np.linspace(0.5, 1.5, C, dtype=np.float32)
    beta = np.linspace(-1, 1, C, dtype=np.float32)
    out, cache = F.leaky_relu_forward(x, 0.2)
    results = [out, cache[0], F.leaky_relu_backward(d, cache)]
    bn_out, bn_cache = F.batchnorm_forward(x, gamma, beta, np.zeros(C, np.float32),
                                           np.ones(C, np.float32), True)
    results += [bn_out, *F.batchnorm_backward(d, bn_cache)]
    p, m, v = x.copy(), d.copy(), np.abs(d) + 1
    adam_update(p, d, m, v, 2e-4, 0.5, 0.999, 1e-8, 0.5, 0.001)
    return results + [p, m, v]


@pytest.mark.parametrize("shape", [(64, 32, 8, 8), (5, 3, 200, 30)])
def test_same_bits_with_two_threads(threads, shape):
    rng = np.random.default_rng(1)
    for x in _layouts(rng, shape):
        d = rng.standard_normal(shape).astype(np.float32)
        assert x.size >= parallel.MIN_SIZE  # large enough to be split
        threads(1)
        one = _run_ops(x, d)
        threads(2)
        two = _run_ops(x, d)
        for a, b in zip(one, two, strict=True):
            assert a.shape == b.shape and a.strides == b.strides
            assert np.array_equal(a, b)


def test_chunked_splits_the_outer_memory_axis(threads):
    threads(3)
    x = np.arange(7 * 3 * 60 * 60, dtype=np.float32).reshape(3, 60, 60, 7).transpose(3, 0, 1, 2)
    seen = []

    def body(a, out):
        seen.append(a.shape)
        np.negative(a, out=out)

    out = parallel.chunked(body, x, out=np.empty_like(x))
    assert np.array_equal(out, -x)
    assert sorted(seen) == [(7, 1, 60, 60)] * 3  # three channel blocks, not batch slices


def test_relu_and_leaky_relu_match_the_scalar_formula():
    rng = np.random.default_rng(2)
    for x in _layouts(rng, (16, 8, 20, 20)):
        x[0, 0, 0, :3] = [0.0, -0.0, np.nan]
        out, _ = F.relu_forward(x)
        ref = np.maximum(x, 0)
        assert out.strides == ref.strides
        np.testing.assert_array_equal(out, ref)
        assert np.array_equal(np.signbit(out), np.signbit(ref))
        d = rng.standard_normal(x.shape).astype(np.float32)
        _, cache = F.leaky_relu_forward(x, 0.3)
        expected = d * np.maximum((x > 0).astype(np.float32), np.float32(0.3))
        np.testing.assert_array_equal(F.leaky_relu_backward(d, cache), expected)


def test_set_threads_rejects_zero():
    with pytest.raises(ValueError, match="n must be >= 1"):
        parallel.set_threads(0)
