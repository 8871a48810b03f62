"""Public functions given arrays of the other device: each takes the arrays' own module, or
moves them to where the model lives (CuPy refuses to mix NumPy and device arrays, and to turn
a device array into a NumPy one implicitly). Marked ``gpu``: on a GPU through CuPy, elsewhere
through the stand-in that refuses what CuPy refuses."""

import numpy as np
import pytest

from minigan import backend
from minigan.check import testing
from minigan.lab import classifier as C
from minigan.lab import scoring
from minigan.nn import layers as L
from minigan.nn import optim


def _dense_state(device, seed):
    backend.use(device)
    layer = L.Dense(4, 3, rng=np.random.default_rng(seed))
    opt = optim.Adam(layer)
    layer.grads["W"][...] = 1.0
    layer.grads["b"][...] = 1.0
    opt.step()
    return layer, opt


@pytest.mark.gpu
@pytest.mark.parametrize("source, target", [("gpu", "cpu"), ("cpu", "gpu")])
def test_a_state_moves_to_the_device_of_the_model(source, target):
    """A layer's and an optimizer's state, saved on one device, loads into a model on the
    other: the arrays land on the model's device, with the same values."""
    layer, opt = _dense_state(source, 1)
    state, opt_state = layer.state_dict(), opt.state_dict()
    host = {k: backend.to_host(v) for k, v in state.items()}
    host_opt = {k: backend.to_host(v) for k, v in opt_state.items()}

    other, other_opt = _dense_state(target, 2)
    other.load_state_dict(state)
    other_opt.load_state_dict(opt_state)
    for key, value in other.state_dict().items():
        assert backend.on_gpu(value) == (target == "gpu"), key
        np.testing.assert_array_equal(backend.to_host(value), host[key])
    for key, value in other_opt.state_dict().items():
        np.testing.assert_array_equal(backend.to_host(value), host_opt[key])
    assert other_opt.t == opt.t == 1


@pytest.mark.gpu
@pytest.mark.parametrize("model_on, data_on", [("cpu", "gpu"), ("gpu", "cpu"), ("gpu", "gpu")])
def test_the_classifier_runs_where_its_weights_are(model_on, data_on):
    """features_and_probs uses its own weights' module, whatever the active device, and takes
    digits from either device."""
    backend.use(model_on)
    clf = C.load(C.shipped_path())
    digits = np.random.default_rng(0).random((20, 784)).astype(np.float32)
    backend.use("cpu")
    expected = C.load(C.shipped_path()).features_and_probs(digits)
    backend.use("gpu" if data_on == "gpu" else "cpu")
    feats, probs = clf.features_and_probs(backend.asarray(digits) if data_on == "gpu" else digits)
    assert isinstance(feats, np.ndarray) and isinstance(probs, np.ndarray)
    np.testing.assert_allclose(probs, expected[1], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(feats, expected[0], rtol=1e-4, atol=1e-5)


@pytest.mark.gpu
def test_score_images_takes_device_images():
    """score_images of digits on the GPU gives the scores of the same digits on the host."""
    backend.use("cpu")
    digits = np.random.default_rng(0).random((600, 784)).astype(np.float32)
    ref = scoring.Reference(digits[:300], digits[300:], classifier=C.load(C.shipped_path()))
    images = np.random.default_rng(1).random((200, 784)).astype(np.float32)
    on_host = scoring.score_images(images, ref)
    backend.use("gpu")
    on_device = scoring.score_images(backend.asarray(images), ref)
    assert set(on_device) == set(on_host)
    for key, value in on_host.items():
        assert on_device[key] == pytest.approx(value, rel=1e-3, abs=1e-5), key


@pytest.mark.gpu
def test_the_testing_helpers_give_inputs_on_the_layers_device(float64):
    """A config's input and arrays are on the active device, and check_layer takes a host
    input for a GPU layer: a tester's property test runs on the GPU unchanged."""
    backend.use("gpu")
    config = testing.DenseConfig(batch=3, in_features=4, out_features=2, bias=True, seed=0)
    rng = np.random.default_rng(0)
    assert backend.on_gpu(config.input(rng))
    assert all(backend.on_gpu(a) for a in config.arrays(rng).values())
    layer = L.Dense(4, 2, rng=np.random.default_rng(0))
    x_host = np.random.default_rng(1).standard_normal((3, 4))
    errors = testing.assert_layer_gradients(layer, x_host)
    assert max(errors.values()) < testing.GRAD_TOL
