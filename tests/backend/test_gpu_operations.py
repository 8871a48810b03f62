"""The operations added after the GPU path was written, each on the GPU against the CPU.

The layers among them (spectral norm in training mode, the minibatch statistics, packing,
the conditional generator's label join) are in ``test_kernels.py``'s table of layers; here
are those that are not a layer's forward and backward pass: the softmax cross-entropy and
the classifier it trains, the hinge and Wasserstein losses, the label join itself, the
gradient penalty's double backward, and the generator's moving average. Each runs the same
numbers on both devices (drawn on the host) and compares within the dtype's tolerance,
relative to the problem's scale: float64 to 1e-12, float32 to 1e-5 (1e-4 where a network
sums many products).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan import backend
from minigan import functional as F
from minigan.check import testing
from minigan.functional import losses
from minigan.gan import ema as ema_module
from minigan.gan import penalty
from minigan.lab import classifier as C
from minigan.nn import layers as L

seeds = st.integers(0, 2**32 - 1)
dtypes = st.sampled_from([np.float32, np.float64])
RTOL = {np.float32: 1e-5, np.float64: 1e-12}
NETWORK_RTOL = {np.float32: 1e-4, np.float64: 1e-12}


def assert_same(gpu, cpu, rtol, what=""):
    """``gpu`` (moved to the host) equals ``cpu`` within ``rtol`` of the largest |cpu|."""
    testing.assert_close_on_scale(gpu, np.asarray(cpu), rtol, what)


def on_each_device(run, dtype):
    """``run()`` on the CPU, then on the GPU, with ``dtype`` the default: both results."""
    results = []
    for device in ("cpu", "gpu"):
        backend.use(device)
        backend.set_default_dtype(dtype)
        results.append(run())
    return results


@pytest.mark.gpu
@given(n=st.integers(1, 9), classes=st.integers(2, 12), soft=st.booleans(),
       scale=st.sampled_from([1.0, 30.0]), dtype=dtypes, seed=seeds)
def test_softmax_cross_entropy_on_gpu_equals_cpu(n, classes, soft, scale, dtype, seed):
    """Value and gradient, hard (integer) and soft targets, logits large enough to overflow
    an exponent taken without the row maximum."""
    r = np.random.default_rng(seed)
    logits = (scale * r.standard_normal((n, classes))).astype(dtype)
    if soft:
        targets = r.dirichlet(np.ones(classes), size=n).astype(dtype)
    else:
        targets = r.integers(0, classes, size=n)

    def run():
        return losses.softmax_cross_entropy(backend.asarray(logits), backend.asarray(targets))

    (cpu_loss, cpu_grad), (gpu_loss, gpu_grad) = on_each_device(run, dtype)
    assert isinstance(gpu_loss, float)
    assert gpu_loss == pytest.approx(cpu_loss, rel=RTOL[dtype], abs=RTOL[dtype])
    assert_same(gpu_grad, cpu_grad, RTOL[dtype], "dlogits")


@pytest.mark.gpu
@given(n=st.integers(1, 9), game=st.sampled_from(["hinge", "wasserstein"]),
       sign=st.sampled_from([1, -1]), dtype=dtypes, seed=seeds)
def test_the_plain_games_losses_on_gpu_equal_cpu(n, game, sign, dtype, seed):
    """The hinge loss (the default's game) and the critic's Wasserstein term, written in
    array operations both devices run: the same value, the same gradient in the outputs'
    dtype, and 0 (not -0) where the hinge is inactive."""
    outputs = (2 * np.random.default_rng(seed).standard_normal((n, 1))).astype(dtype)
    loss = {"hinge": losses.hinge_loss, "wasserstein": losses.wasserstein_loss}[game]
    (cpu_loss, cpu_grad), (gpu_loss, gpu_grad) = on_each_device(
        lambda: loss(backend.asarray(outputs), sign), dtype)
    assert isinstance(gpu_loss, float) and backend.on_gpu(gpu_grad)
    assert gpu_loss == pytest.approx(cpu_loss, rel=RTOL[dtype], abs=RTOL[dtype])
    gpu_grad = backend.to_host(gpu_grad)
    assert gpu_grad.dtype == cpu_grad.dtype == dtype
    assert_same(gpu_grad, cpu_grad, RTOL[dtype], "doutputs")
    assert np.array_equal(np.signbit(gpu_grad), np.signbit(cpu_grad))


@pytest.mark.gpu
@given(four_d=st.booleans(), dtype=dtypes, seed=seeds)
def test_label_join_on_gpu_equals_cpu(four_d, dtype, seed):
    """label_concat_forward/backward: features of a row, or constant channel maps."""
    r = np.random.default_rng(seed)
    x = r.standard_normal((3, 2, 4, 5) if four_d else (3, 6)).astype(dtype)
    c = np.eye(10, dtype=dtype)[r.integers(0, 10, 3)]

    def run():
        out, cache = F.label_concat_forward(backend.asarray(x), backend.asarray(c))
        dout = backend.asarray(np.random.default_rng(seed + 1).standard_normal(out.shape)
                               .astype(dtype))
        dx, dc = F.label_concat_backward(dout, cache)
        return [backend.to_host(a) for a in (out, dx, dc)]

    cpu, gpu = on_each_device(run, dtype)
    for what, g, c_ in zip(("out", "dx", "dc"), gpu, cpu, strict=True):
        assert_same(g, c_, RTOL[dtype], what)


def _critic(rng, spectral):
    dense = L.Dense(12, 8, rng=rng)
    return L.Sequential(L.Flatten(), L.SpectralNorm(dense, rng=rng) if spectral else dense,
                        L.LeakyReLU(0.2), L.Dense(8, 5, rng=rng), L.ReLU(), L.Dense(5, 1, rng=rng))


@pytest.mark.gpu
@pytest.mark.parametrize("spectral", [False, True], ids=["dense", "spectral"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_penalty_on_gpu_equals_cpu(dtype, spectral):
    """The penalty's value and the gradients its double backward adds to the critic."""
    x_hat = np.random.default_rng(1).standard_normal((6, 3, 2, 2)).astype(dtype)

    def run():
        critic = _critic(np.random.default_rng(0), spectral)
        critic.zero_grad()
        critic.forward(backend.asarray(x_hat))      # fills the spectral norm's sigma and u
        critic.zero_grad()
        value = penalty.gradient_penalty(critic, backend.asarray(x_hat), weight=10.0)
        return value, {k: backend.to_host(v) for k, v in critic.grads.items()}

    (cpu_value, cpu_grads), (gpu_value, gpu_grads) = on_each_device(run, dtype)
    assert gpu_value == pytest.approx(cpu_value, rel=NETWORK_RTOL[dtype])
    assert set(gpu_grads) == set(cpu_grads)
    scale = max(float(np.abs(g).max()) for g in cpu_grads.values())
    assert scale > 0
    for key, c in cpu_grads.items():
        np.testing.assert_allclose(gpu_grads[key], c, rtol=NETWORK_RTOL[dtype],
                                   atol=NETWORK_RTOL[dtype] * scale, err_msg=key)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_r1_penalty_on_gpu_equals_cpu(dtype):
    """R1's value and the gradients its two sweeps add to a D with the minibatch standard
    deviation (the default's D, its group's columns left out)."""
    x = np.random.default_rng(2).uniform(-1, 1, (8, 12)).astype(dtype)

    def run():
        rng = np.random.default_rng(0)
        critic = L.Sequential(L.Dense(12, 8, rng=rng), L.LeakyReLU(0.2), L.Dense(8, 5, rng=rng),
                              L.LeakyReLU(0.2), L.MinibatchStdDev(), L.Dense(6, 1, rng=rng))
        critic.zero_grad()
        value = penalty.r1_penalty(critic, backend.asarray(x), gamma=0.5, features=10)
        return value, {k: backend.to_host(v) for k, v in critic.grads.items()}

    (cpu_value, cpu_grads), (gpu_value, gpu_grads) = on_each_device(run, dtype)
    assert gpu_value == pytest.approx(cpu_value, rel=NETWORK_RTOL[dtype])
    scale = max(float(np.abs(g).max()) for g in cpu_grads.values())
    assert scale > 0
    for key, c in cpu_grads.items():
        np.testing.assert_allclose(gpu_grads[key], c, rtol=NETWORK_RTOL[dtype],
                                   atol=NETWORK_RTOL[dtype] * scale, err_msg=key)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ema_on_gpu_equals_cpu(dtype):
    """Three updates of the moving average after three changes of G, then its own batch norm
    statistics: the averaged generator's parameters and buffers on both devices."""
    def run():
        r = np.random.default_rng(0)
        G = L.Sequential(L.Dense(4, 6, rng=r), L.BatchNorm(6), L.ReLU(), L.Dense(6, 3, rng=r),
                         L.Tanh())
        average = ema_module.EMA(G, decay=0.9)
        for _ in range(3):
            for value in G.params.values():
                value += backend.asarray(r.standard_normal(value.shape).astype(dtype) * 0.1)
            G.train().forward(backend.asarray(r.standard_normal((5, 4)).astype(dtype)))
            average.update()
        noise_rng = np.random.default_rng(5)
        average.estimate_statistics(
            lambda m: backend.asarray(noise_rng.standard_normal((m, 4)).astype(dtype)),
            batches=3, batch_size=8)
        shadow = average.generator
        return ({k: backend.to_host(v) for k, v in shadow.params.items()},
                {k: backend.to_host(v) for k, v in shadow.buffers.items()})

    cpu, gpu = on_each_device(run, dtype)
    for c_dict, g_dict in zip(cpu, gpu, strict=True):
        assert set(c_dict) == set(g_dict) and c_dict
        for key, c in c_dict.items():
            assert_same(g_dict[key], c, NETWORK_RTOL[dtype], key)


@pytest.mark.gpu
@pytest.mark.slow
def test_classifier_training_on_gpu_follows_cpu():
    """Two Adam steps of the lab's classifier (softmax cross-entropy through its convolutions,
    dropout and shifts drawn on the host), float64: the weights agree on both devices."""
    r = np.random.default_rng(0)
    images = r.random((64, 784))
    labels = r.integers(0, 10, 64)

    def run():
        net = C.build(np.random.default_rng(1))
        trained = C.train_classifier(images, labels, epochs=1, batch_size=32, seed=2,
                                     max_shift=1, net=net)
        return {k: backend.to_host(v) for k, v in trained.params.items()}

    cpu, gpu = on_each_device(run, np.float64)
    assert set(cpu) == set(gpu)
    for key, c in cpu.items():
        assert gpu[key].dtype == np.float64
        # Adam divides by each gradient's own scale: rounding differences of 1e-16 in a
        # gradient near zero move a weight by up to lr (1e-3) times their relative size
        np.testing.assert_allclose(gpu[key], c, rtol=1e-9, atol=1e-9, err_msg=key)
