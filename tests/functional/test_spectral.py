"""Spectral normalization: the exact gradient through sigma(W) with u held fixed, the layer."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan import functional as F
from minigan.app import checkpoint
from minigan.check import testing
from minigan.nn import layers, optim


@given(shape=st.one_of(testing.shapes(2, 6, min_dims=2), testing.shapes(4, 3, min_dims=4)),
       seed=testing.seeds())
def test_spectral_norm_pair_gradients(shape, seed):
    """dW through W / sigma(W), sigma from one power step from a fixed u, against the
    centered finite differences of the whole forward (u held fixed, v and u' not), where
    the power step is well conditioned (W = [[0.0038, 0.0019]], u = [0.0089] with
    |M^T u| = 0.009 |M|_F missed by 9e-7 at h = 1e-5 and 9e-5 at h = 1e-4: truncation)."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal(shape)
    u = rng.standard_normal(shape[0])
    assume(testing.power_step_conditioned(W, u))
    testing.assert_pair_gradients(F.spectral_norm_forward, F.spectral_norm_backward, {"W": W},
                                  rng=rng, u=u)


def test_dropping_the_correction_is_wrong_before_convergence_and_right_after():
    """The paper's u v^T alone is the gradient only once the power iteration converged."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((5, 4))
    u = rng.standard_normal(5)
    G = rng.standard_normal((5, 4))

    def paper_grad(u):
        W_sn, (M, Wn, u0, v, u1, sigma, na, _) = F.spectral_norm_forward(W, u)
        return (G - (G * Wn).sum() * np.outer(u1, v)) / sigma

    full = F.spectral_norm_backward(G, F.spectral_norm_forward(W, u)[1])
    assert np.abs(full - paper_grad(u)).max() > 1e-3
    u_star = np.linalg.svd(W)[0][:, 0]                       # the converged left vector
    full = F.spectral_norm_backward(G, F.spectral_norm_forward(W, u_star)[1])
    np.testing.assert_allclose(full, paper_grad(u_star), atol=1e-10)


def test_power_iteration_converges_to_the_largest_singular_value():
    rng = np.random.default_rng(1)
    layer = layers.SpectralNorm(layers.Dense(6, 4, rng=rng, dtype="float64"), rng=rng)
    x = rng.standard_normal((3, 6))
    for _ in range(200):                                     # u moves on in training mode
        layer.forward(x)
    top = np.linalg.svd(layer.params["W"], compute_uv=False)[0]
    assert layer.sigma == pytest.approx(top, rel=1e-9)
    np.testing.assert_allclose(layer.forward(x), x @ (layer.params["W"] / top)
                               + layer.params["b"], rtol=1e-8)
    assert np.linalg.svd(layer.weight(), compute_uv=False)[0] == pytest.approx(1.0, rel=1e-9)


@given(cfg=testing.dense_configs())
def test_spectral_norm_dense_layer_gradients(cfg):
    """dx, dW (raw weight) and db of the wrapped Dense; eval mode: u held fixed."""
    rng = cfg.rng()
    layer = layers.SpectralNorm(layers.Dense(**cfg.layer_kwargs, rng=rng, dtype="float64"),
                                rng=rng).eval()
    u = layer.buffers["u"].copy()
    testing.assert_layer_gradients(layer, cfg.input(rng), rng=rng)
    np.testing.assert_array_equal(layer.buffers["u"], u)


@given(cfg=testing.conv2d_configs(max_size=5, max_channels=3))
def test_spectral_norm_conv2d_layer_gradients(cfg):
    rng = cfg.rng()
    layer = layers.SpectralNorm(layers.Conv2d(**cfg.layer_kwargs, rng=rng, dtype="float64"),
                                rng=rng).eval()
    testing.assert_layer_gradients(layer, cfg.input(rng), rng=rng)


def test_u_moves_in_training_and_stays_when_frozen_or_evaluating():
    rng = np.random.default_rng(2)
    layer = layers.SpectralNorm(layers.Conv2d(2, 3, 3, rng=rng, dtype="float64"), rng=rng)
    x = rng.standard_normal((2, 2, 5, 5))
    u0 = layer.buffers["u"].copy()
    layer.forward(x)
    assert not np.allclose(layer.buffers["u"], u0)
    assert np.linalg.norm(layer.buffers["u"]) == pytest.approx(1.0)
    u1 = layer.buffers["u"].copy()
    layer.freeze(True).forward(x)
    layer.freeze(False).eval().forward(x)
    np.testing.assert_array_equal(layer.buffers["u"], u1)


def test_frozen_wrapper_passes_dx_and_keeps_its_grads():
    rng = np.random.default_rng(3)
    layer = layers.SpectralNorm(layers.Dense(4, 2, rng=rng, dtype="float64"), rng=rng)
    x = rng.standard_normal((3, 4))
    layer.freeze(True)
    layer.forward(x)
    dx = layer.backward(np.ones((3, 2)))
    assert dx.shape == x.shape and all(not g.any() for g in layer.grads.values())
    np.testing.assert_allclose(dx, np.ones((3, 2)) @ layer.weight().T)


def test_u_is_a_buffer_saved_in_checkpoints(tmp_path):
    rng = np.random.default_rng(4)
    D = layers.spectral_norm(layers.Sequential(layers.Dense(3, 5, rng=rng), layers.LeakyReLU(),
                                               layers.Dense(5, 1, rng=rng)), rng=rng)
    assert isinstance(D[0], layers.SpectralNorm) and isinstance(D[2], layers.SpectralNorm)
    assert set(D.buffers) == {"0.u", "2.u"} and list(D.params) == ["0.W", "0.b", "2.W", "2.b"]
    D.forward(rng.standard_normal((4, 3)).astype(np.float32))
    G = layers.Sequential(layers.Dense(2, 3, rng=rng))
    path = tmp_path / "c.npz"
    checkpoint.save_checkpoint(path, generator=G, discriminator=D, g_opt=optim.Adam(G),
                               d_opt=optim.Adam(D), iteration=1, epoch=0, rng_states={},
                               config={"model": "toy"})
    D2 = layers.spectral_norm(layers.Sequential(layers.Dense(3, 5), layers.LeakyReLU(),
                                                layers.Dense(5, 1)))
    checkpoint.restore(checkpoint.load_checkpoint(path), discriminator=D2)
    for k, v in D.state_dict().items():
        np.testing.assert_array_equal(D2.state_dict()[k], v)


def test_only_dense_and_conv2d_are_wrapped():
    with pytest.raises(TypeError, match="Dense or a Conv2d.*BatchNorm"):
        layers.SpectralNorm(layers.BatchNorm(3))
    with pytest.raises(ValueError, match=r"SpectralNorm: u of shape \(3,\)"):
        F.spectral_norm_forward(np.ones((4, 2)), np.ones(3))
