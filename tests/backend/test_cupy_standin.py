"""The CuPy stand-in refuses what CuPy refuses and rounds as a GPU may: without these, the
tests that run through it could pass where CuPy would fail."""

import numpy as np
import pytest

from minigan import backend
from minigan.backend import kernels


def test_it_refuses_what_cupy_refuses(cupy_standin):
    cp = cupy_standin()
    a = cp.asarray(np.ones((2, 3), np.float32))
    assert backend.on_gpu(a) and backend.get_array_module(a) is cp
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(a)
    for mix in (lambda: a + np.ones(3, np.float32), lambda: np.ones(3, np.float32) * a,
                lambda: cp.concatenate([a, np.ones((1, 3), np.float32)]),
                lambda: cp.ascontiguousarray(np.ones(3))):
        with pytest.raises(TypeError):
            mix()
    with pytest.raises(AttributeError, match="errstate"):
        getattr(cp, "errstate")  # noqa: B009 - the attribute lookup is the test
    for method in ("resize", "setflags", "getfield"):             # NumPy's, not CuPy's ndarray's
        with pytest.raises(AttributeError, match=method):
            getattr(a, method)
    with pytest.raises(TypeError, match="Unsupported dtype"):
        cp.asarray(np.array(["a"]))
    with pytest.raises(TypeError, match="Unsupported type"):
        kernels.relu_backward_gpu(a, np.ones((2, 3), np.float32))
    assert float((a * np.float32(2) + 1).sum()) == 18.0          # scalars are welcome
    np.testing.assert_array_equal(a.get(), np.ones((2, 3)))        # the explicit way out


def test_its_reductions_and_elements_stay_on_the_device(cupy_standin):
    """As CuPy's: a sum, a maximum, an argmax and an element are 0-d device arrays, read with
    float() or int(); none is an index of a host sequence (CuPy's ndarray has no __index__)."""
    cp = cupy_standin()
    a = cp.asarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    for value in (a.sum(), a.max(), cp.sum(a), a[1, 2], a.argmax(), (a > 4).any()):
        assert backend.on_gpu(value) and value.shape == (), value
    assert float(a.sum()) == 15.0 and int(a.argmax()) == 5 and bool((a > 4).any())
    with pytest.raises(TypeError):
        [0, 1, 2, 3, 4, 5][a.argmax()]
    assert a.sum().item() == 15.0 and type(a.sum().item()) is float   # the explicit way out


def test_its_shape_and_ndim_take_any_array_like_as_cupy_s_do(cupy_standin):
    """CuPy's shape and ndim read NumPy arrays and lists too, and NumPy's reach them for a
    device array (the gradient check's np.shape of a device output): the stand-in refused."""
    cp = cupy_standin()
    a = cp.asarray(np.ones((2, 3), np.float32))
    assert cp.shape(a) == np.shape(a) == (2, 3) and cp.ndim(a) == np.ndim(a) == 2
    assert cp.shape(np.ones(4)) == (4,) and cp.ndim([[1, 2]]) == 2


def test_its_products_round_in_another_order(cupy_standin):
    cp = cupy_standin()
    r = np.random.default_rng(0)
    x, w = r.standard_normal((64, 301)).astype(np.float32), r.standard_normal((301, 8)).astype(
        np.float32)
    device, host = (cp.asarray(x) @ cp.asarray(w)).get(), x @ w
    np.testing.assert_allclose(device, host, rtol=1e-4, atol=1e-4)
    assert not np.array_equal(device, host)


def test_its_kernels_flush_float32_subnormals_only(cupy_standin):
    cp = cupy_standin()
    x = np.array([-87.5], np.float32)
    assert kernels.sigmoid_gpu(cp.asarray(x)).get()[0] == 0.0
    assert kernels.sigmoid_gpu(cp.asarray(x.astype(np.float64))).get()[0] > 0.0


def test_it_can_be_a_gpu_that_cannot_run(cupy_standin):
    cp = cupy_standin("cublas")
    a = cp.asarray(np.ones((2, 2), np.float32))
    with pytest.raises(RuntimeError, match="CUBLAS"):
        a @ a
