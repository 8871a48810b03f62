"""The public property-testing module: its checks catch wrong gradients, its strategies
draw only valid problems, and the site's example of testing a layer of your own runs."""

import copy
import doctest
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minigan import backend
from minigan import functional as F
from minigan.check import gradcheck, testing
from minigan.check.gradcheck import rel_error
from minigan.functional import losses
from minigan.nn import layers

ROOT = Path(__file__).resolve().parents[2]


def _python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


# -- the module ---------------------------------------------------------------------------------
def test_the_rule_is_1e7_with_the_gradchecks_floor():
    assert testing.GRAD_TOL == 1e-7
    assert inspect.signature(rel_error).parameters["floor"].default == testing.ERROR_FLOOR == 1e-8


def test_importing_minigan_does_not_import_hypothesis():
    done = _python("import sys, minigan\nassert 'hypothesis' not in sys.modules, 'imported'\n")
    assert done.returncode == 0, done.stderr


def test_without_hypothesis_the_import_error_says_what_to_install():
    done = _python("import sys\nsys.modules['hypothesis'] = None\nimport minigan.check.testing\n")
    assert done.returncode != 0
    assert "ImportError" in done.stderr and 'pip install "minigan[test]"' in done.stderr


def test_docstring_examples_run():
    result = doctest.testmod(testing, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0


# -- the checks pass on correct gradients and fail on wrong ones ------------------------------------
def _dense_arrays(d_out=3):
    # not seed 0: the checks' default generator would draw dout equal to x, and x^T x is
    # symmetric, so a transposed dW would pass
    r = np.random.default_rng(1)
    return {"x": r.standard_normal((4, 3)), "W": r.standard_normal((3, d_out)),
            "b": r.standard_normal(d_out)}


@given(cfg=testing.dense_configs())
def test_assert_pair_gradients_passes_on_dense(cfg):
    arrays = cfg.arrays(cfg.rng())
    # dW = x^T dout can cancel below what a float64 finite difference resolves (as in
    # test_functional): reject such draws rather than judge them.
    dout = np.random.default_rng(cfg.seed + 1).standard_normal((cfg.batch, cfg.out_features))
    assume(np.abs(arrays["x"].T @ dout).max() > 1e-3)
    errors = testing.assert_pair_gradients(F.dense_forward, F.dense_backward, arrays,
                                           rng=np.random.default_rng(cfg.seed + 1),
                                           **cfg.pair_kwargs)
    assert set(errors) == set(arrays) and max(errors.values()) <= testing.GRAD_TOL


def test_assert_pair_gradients_names_a_slightly_wrong_dx():
    def backward(dout, cache):
        dx, dW, db = F.dense_backward(dout, cache)
        return 1.001 * dx, dW, db

    with pytest.raises(AssertionError, match=r"backward: the gradient of 'x' is off, relative "
                                             r"error \d\.\d\de-04 > 1e-07 \(all: x=.*W=.*b="):
        testing.assert_pair_gradients(F.dense_forward, backward, _dense_arrays())


def test_assert_pair_gradients_names_a_transposed_dW():
    def backward(dout, cache):
        dx, dW, db = F.dense_backward(dout, cache)
        return dx, dW.T, db

    with pytest.raises(AssertionError, match="the gradient of 'W' is off"):
        testing.assert_pair_gradients(F.dense_forward, backward, _dense_arrays(d_out=3))


def test_a_failed_check_names_its_worst_entry_and_both_values_there():
    arrays = _dense_arrays()

    def backward(dout, cache):
        dx, dW, db = F.dense_backward(dout, cache)
        dW = dW.copy()
        dW[1, 0] += 0.5                                 # one entry off
        return dx, dW, db

    with pytest.raises(AssertionError, match="'W' is off") as failure:
        testing.assert_pair_gradients(F.dense_forward, backward, arrays)
    said = re.search(r"\); its worst entry is W\[1, 0\]: (\S+) from the backward pass, (\S+) "
                     r"from the differences", str(failure.value))
    assert said is not None, str(failure.value)
    assert float(said.group(1)) - float(said.group(2)) == pytest.approx(0.5, rel=1e-4)


def test_assert_pair_gradients_tolerance_is_the_bar():
    def backward(dout, cache):
        dx, dW, db = F.dense_backward(dout, cache)
        return dx, dW, db * (1 + 1e-6)

    with pytest.raises(AssertionError, match="'b'"):
        testing.assert_pair_gradients(F.dense_forward, backward, _dense_arrays())
    errors = testing.assert_pair_gradients(F.dense_forward, backward, _dense_arrays(), tol=1e-5)
    assert 1e-7 < errors["b"] <= 1e-5


@settings(deadline=None)
@given(cfg=testing.conv2d_configs(max_size=4))
def test_conv2d_configs_feed_the_functional_pair_and_the_layer(cfg):
    rng = cfg.rng()
    errors = testing.assert_pair_gradients(F.conv2d_forward, F.conv2d_backward, cfg.arrays(rng),
                                           rng=rng, **cfg.pair_kwargs)
    assert set(errors) == ({"x", "W", "b"} if cfg.bias else {"x", "W"})
    layer = layers.Conv2d(**cfg.layer_kwargs, rng=rng, dtype="float64")
    for p in layer.params.values():
        p[...] = rng.standard_normal(p.shape)
    errors = testing.assert_layer_gradients(layer, cfg.input(rng), rng=rng)
    assert set(errors) == set(layer.params) | {"x"}


@settings(deadline=None)
@given(cfg=testing.conv_transpose2d_configs(max_size=3))
def test_conv_transpose2d_configs_feed_the_functional_pair_and_the_layer(cfg):
    rng = cfg.rng()
    testing.assert_pair_gradients(F.conv_transpose2d_forward, F.conv_transpose2d_backward,
                                  cfg.arrays(rng), rng=rng, **cfg.pair_kwargs)
    layer = layers.ConvTranspose2d(**cfg.layer_kwargs, rng=rng, dtype="float64")
    testing.assert_layer_gradients(layer, cfg.input(rng), rng=rng)


class _OffDense(layers.Dense):
    """A square Dense layer whose weight gradient comes out transposed: wrong."""

    def backward(self, dout, input_grad=True):
        dx = super().backward(dout, input_grad)
        self.grads["W"][...] = self.grads["W"].T.copy()
        return dx


def test_assert_layer_gradients_names_the_layer_and_the_parameter():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3))
    testing.assert_layer_gradients(layers.Dense(3, 3, rng=rng, dtype="float64"), x, rng=rng)
    with pytest.raises(AssertionError, match=r"Dense\(3, 3\): the gradient of 'W' is off"):
        testing.assert_layer_gradients(_OffDense(3, 3, rng=rng, dtype="float64"), x, rng=rng)


def test_assert_layer_gradients_needs_float64_parameters():
    with pytest.raises(ValueError, match="parameter 'W' is float32.*dtype='float64'"):
        testing.assert_layer_gradients(layers.Dense(3, 2, dtype="float32"), np.ones((2, 3)))


def test_loss_pair_checks_a_loss_and_catches_a_wrong_one():
    logits = np.random.default_rng(0).standard_normal((6, 1))
    fwd, bwd = testing.loss_pair(lambda a: losses.generator_loss(a, "minimax"))
    assert testing.assert_pair_gradients(fwd, bwd, {"logits": logits})["logits"] <= 1e-7

    def doubled(a):
        loss, d = losses.generator_loss(a, "minimax")
        return loss, 2 * d

    with pytest.raises(AssertionError, match="'logits'"):
        testing.assert_pair_gradients(*testing.loss_pair(doubled), {"logits": logits})


def test_loss_pair_checks_a_loss_of_two_batches_and_catches_a_missing_cross_term():
    """A relativistic term, l(real - mean(fake)): its gradient reaches both batches."""
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((4, 1)), rng.standard_normal((3, 1))

    def relativistic(real, fake, cross=True):
        loss, d = losses.sigmoid_cross_entropy(real - fake.mean(), 1.0)
        return loss, d, (-d.sum() / fake.size if cross else 0.0) * np.ones_like(fake)

    errors = testing.assert_pair_gradients(*testing.loss_pair(relativistic),
                                           {"real": real, "fake": fake}, rng=rng)
    assert set(errors) == {"real", "fake"} and max(errors.values()) <= 1e-7
    with pytest.raises(AssertionError, match="'fake'"):
        testing.assert_pair_gradients(*testing.loss_pair(lambda r, f: relativistic(r, f, False)),
                                      {"real": real, "fake": fake}, rng=rng)


# -- the strategies draw only valid problems -----------------------------------------------------------
@given(cfg=testing.conv2d_configs())
def test_conv2d_configs_are_valid(cfg):
    N, C, H, W = cfg.x_shape
    O, C_w, kh, kw = cfg.W_shape
    assert C_w == C and min(N, C, O, H, W) >= 1
    (sh, sw), (ph, pw) = cfg.stride, cfg.padding
    assert sh >= 1 and sw >= 1 and ph >= 0 and pw >= 0 and cfg.output_padding == (0, 0)
    assert 1 <= kh <= H + 2 * ph and 1 <= kw <= W + 2 * pw    # the kernel fits the padded input
    assert cfg.out_shape[2] >= 1 and cfg.out_shape[3] >= 1
    out, _ = F.conv2d_forward(np.zeros(cfg.x_shape), np.zeros(cfg.W_shape), None,
                              cfg.stride, cfg.padding)
    assert out.shape == cfg.out_shape
    layer = layers.Conv2d(**cfg.layer_kwargs)
    assert layer.params["W"].shape == cfg.W_shape and ("b" in layer.params) == cfg.bias
    assert cfg["x_shape"] == cfg.x_shape and cfg["seed"] == cfg.seed


@given(cfg=testing.conv_transpose2d_configs())
def test_conv_transpose2d_configs_are_valid(cfg):
    N, C, H, W = cfg.x_shape
    C_w, O, kh, kw = cfg.W_shape
    assert C_w == C and min(N, C, O, H, W, kh, kw) >= 1
    for a in (0, 1):
        assert 0 <= cfg.output_padding[a] < cfg.stride[a] and cfg.padding[a] >= 0
    assert cfg.out_shape[2] >= 1 and cfg.out_shape[3] >= 1
    out, _ = F.conv_transpose2d_forward(np.zeros(cfg.x_shape), np.zeros(cfg.W_shape), None,
                                        cfg.stride, cfg.padding, cfg.output_padding)
    assert out.shape == cfg.out_shape
    layer = layers.ConvTranspose2d(**cfg.layer_kwargs)
    assert layer.params["W"].shape == cfg.W_shape and ("b" in layer.params) == cfg.bias


@given(cfg=testing.batchnorm_configs())
def test_batchnorm_configs_are_valid(cfg):
    assert len(cfg.shape) in (2, 4) and min(cfg.shape) >= 1
    per_channel = int(np.prod(cfg.shape)) // cfg.num_features
    assert per_channel >= 2 and (per_channel >= 4 or cfg.eps >= 0.5)
    layer = layers.BatchNorm(**cfg.layer_kwargs)
    assert layer(cfg.input(cfg.rng()).astype(np.float32)).shape == cfg.shape


@given(cfg=testing.dense_configs(max_batch=3, max_features=2))
def test_dense_configs_are_valid(cfg):
    assert 1 <= cfg.batch <= 3 and 1 <= cfg.in_features <= 2 and 1 <= cfg.out_features <= 2
    layer = layers.Dense(**cfg.layer_kwargs)
    x = cfg.input(cfg.rng())
    assert x.dtype == np.float64 and layer(x.astype(np.float32)).shape == (cfg.batch,
                                                                          cfg.out_features)
    assert set(cfg.arrays(cfg.rng())) == ({"x", "W", "b"} if cfg.bias else {"x", "W"})
    with pytest.raises(KeyError):
        cfg["layer_kwargs"]


@given(shape=testing.shapes(max_dims=3, max_side=4, min_dims=2), seed=testing.seeds())
def test_shapes_and_seeds_are_valid(shape, seed):
    assert isinstance(shape, tuple) and 2 <= len(shape) <= 3
    assert all(isinstance(n, int) and 1 <= n <= 4 for n in shape)
    assert 0 <= seed < 2**32 and np.random.default_rng(seed).standard_normal(shape).shape == shape


@given(values=st.lists(st.floats(-2, 2), min_size=1, max_size=20),
       kinks=st.sampled_from([(0.0,), (-1.0, 1.0), (0.5,)]))
def test_away_from_kinks_keeps_the_side_and_the_margin(values, kinks):
    x = np.array(values)
    y = testing.away_from_kinks(x, kinks)
    for k in kinks:
        assert np.all(np.abs(y - k) >= testing.KINK_MARGIN)
        assert np.all((y >= k) == (x >= k))                  # no entry changes side
    far = np.all([np.abs(x - k) >= testing.KINK_MARGIN for k in kinks], axis=0)
    np.testing.assert_array_equal(y[far], x[far])            # the others are untouched
    np.testing.assert_array_equal(x, np.array(values))       # the input is not modified


@pytest.mark.gpu
def test_away_from_kinks_keeps_a_device_input_on_its_device():
    """A configuration's input is on the active device: away_from_kinks refused a GPU array
    (NumPy's implicit conversion), and a property test of a rectifier failed there."""
    backend.use("gpu")
    cfg = testing.DenseConfig(batch=3, in_features=4, out_features=2, bias=False, seed=0)
    rng = cfg.rng()
    x = cfg.input(rng)
    x[0, 0] = 1e-4
    y = testing.away_from_kinks(x)
    assert backend.on_gpu(y) and y.dtype == np.float64
    np.testing.assert_array_equal(backend.to_host(y), testing.away_from_kinks(backend.to_host(x)))
    assert float(backend.to_host(x)[0, 0]) == 1e-4                # the input is not modified
    testing.assert_layer_gradients(layers.ReLU(), y, rng=rng)


def test_min_kink_distance_reads_the_inputs_of_rectifiers():
    rng = np.random.default_rng(0)
    first = layers.Dense(3, 4, rng=rng, dtype="float64")
    x = rng.standard_normal((5, 3))
    net = layers.Sequential(first, layers.LeakyReLU(0.1), layers.Tanh())
    assert testing.min_kink_distance(net, x) == float(np.abs(first(x)).min())
    assert testing.min_kink_distance(layers.Sequential(first, layers.Tanh()), x) == np.inf


def test_min_kink_distance_looks_into_a_chain_inside_the_chain():
    """A D built as Sequential(features, head), its LeakyReLUs inside features: their inputs
    were not looked at (the inner chain names no kink of its own), and the draw on a kink
    that failed a check was not rejected."""
    rng = np.random.default_rng(0)
    first, second = (layers.Dense(3, 4, rng=rng, dtype="float64"),
                     layers.Dense(4, 2, rng=rng, dtype="float64"))
    features = layers.Sequential(first, layers.LeakyReLU(0.2))
    head = layers.Sequential(second, layers.ReLU())
    x = rng.standard_normal((5, 3))
    expected = min(float(np.abs(first(x)).min()),
                   float(np.abs(second(layers.LeakyReLU(0.2)(first(x)))).min()))
    net = layers.Sequential(features, head)
    assert testing.min_kink_distance(net, x) == expected
    assert testing.min_kink_distance(layers.Sequential(features, layers.Tanh()), x) == \
        float(np.abs(first(x)).min())


@pytest.mark.gpu
def test_min_kink_distance_and_the_kink_hint_read_a_net_on_the_gpu():
    """min_kink_distance of a net on the GPU, for an input on the device or on the host (moved
    there, as the checks move it: the forward pass mixed the devices), and the hint of a
    failed check there that an input lies on a kink."""
    backend.use("gpu")
    rng = np.random.default_rng(0)
    net = layers.Sequential(layers.Dense(3, 4, rng=rng, dtype="float64"), layers.ReLU())
    x = rng.standard_normal((5, 3))
    backend.use("cpu")
    expected = testing.min_kink_distance(layers.Sequential(
        layers.Dense(3, 4, rng=np.random.default_rng(0), dtype="float64"), layers.ReLU()), x)
    backend.use("gpu")
    assert testing.min_kink_distance(net, backend.asarray(x)) == expected
    assert testing.min_kink_distance(net, x) == expected           # a host input is moved
    assert testing.min_kink_distance(layers.ReLU(), backend.asarray(x)) == np.abs(x).min()
    net = layers.Sequential(layers.Dense(4, 6, rng=rng, dtype="float64"), layers.ReLU(),
                            layers.Dense(6, 2, rng=rng, dtype="float64"))
    x = rng.standard_normal((3, 4))
    x[1] = 0.0                           # as in the test on the CPU below
    with pytest.raises(AssertionError, match=r"an input of \(1\) ReLU\(\) lies 0\.0e\+00 from its "
                                             r"kink"):
        testing.assert_layer_gradients(net, backend.asarray(x), rng=rng)


def test_min_kink_distance_reads_the_kinks_a_layer_names():
    """A layer of one's own with a kink says where in ``kinks``: inside a Sequential and alone,
    and a failed check names it."""
    class Step(layers.Layer):                       # max(x - 1, 0): a kink at 1
        kinks = (1.0,)

        def forward(self, x):
            self._cache = x
            return np.maximum(x - 1, 0)

        def backward(self, dout, input_grad=True):
            return dout * (self._need_cache() > 1)

    rng = np.random.default_rng(0)
    first = layers.Dense(3, 4, rng=rng, dtype="float64")
    x = rng.standard_normal((5, 3))
    assert testing.min_kink_distance(layers.Sequential(first, Step()), x) == \
        float(np.abs(first(x) - 1).min())
    assert testing.min_kink_distance(Step(), x) == float(np.abs(x - 1).min())
    assert layers.Tanh.kinks == () and layers.ReLU.kinks == (0.0,)
    first.params["b"][...] = 1.0                    # a row of zeros: every unit on the kink
    x[1] = 0.0
    with pytest.raises(AssertionError, match=r"an input of \(1\) Step\(\) lies 0\.0e\+00 from "
                                             r"its kink at 1"):
        testing.assert_layer_gradients(layers.Sequential(first, Step(), layers.Dense(
            4, 2, rng=rng, dtype="float64")), x, rng=rng)


def test_register_profiles_registers_each_and_keeps_the_loaded_one():
    loaded = settings.default
    name = testing.register_profiles(load=False)
    assert repr(settings.default) == repr(loaded)
    assert name == os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
    ci = settings.get_profile("ci")
    assert ci.max_examples == 15 and ci.derandomize and ci.deadline is None
    assert settings.get_profile("deep").max_examples == 500
    fuzz = settings.get_profile("fuzz")
    assert fuzz.max_examples == 200 and fuzz.derandomize


# -- the site's example: testing a layer of your own ----------------------------------------------
def _readme_example():
    text = (ROOT / "docs" / "extending.md").read_text()
    section = text.split("## Testing a layer of your own", 1)[1].split("\n## ", 1)[0]
    blocks = [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "class Scale" in b]
    assert len(blocks) == 1, "one Scale example in 'Testing a layer of your own'"
    return blocks[0]


def test_readme_example_runs_and_catches_a_wrong_scale_gradient(run_docs_code):
    namespace = run_docs_code(_readme_example(), "docs/extending.md, the Scale example",
                              {"__name__": "readme_example"})
    namespace["test_scale_gradients"]()                      # passes as written

    class WrongScale(namespace["Scale"]):
        def backward(self, dout, input_grad=True):
            dx = super().backward(dout, input_grad)
            self.grads["s"] *= 1.01
            return dx

    namespace["Scale"] = WrongScale
    with pytest.raises(AssertionError, match="the gradient of 's' is off"):
        namespace["test_scale_gradients"]()


def test_readme_example_layer_keeps_the_layer_rules(run_docs_code):
    """The example's layer trains as minigan's do: in the run's floating type, with no
    gradient while frozen, and a clear error for backward before forward."""
    namespace = run_docs_code(_readme_example(), "docs/extending.md, the Scale example",
                              {"__name__": "readme_example"})
    layer = namespace["Scale"](3)
    x = np.ones((2, 3), np.float32)
    with pytest.raises(RuntimeError, match="backward\\(\\) called before forward"):
        layer.backward(x)
    assert layer.forward(x).dtype == np.float32 and layer.grads["s"].dtype == np.float32
    layer.freeze()
    layer.backward(x)
    assert not layer.grads["s"].any()
    layer.freeze(False)
    layer.backward(x)
    np.testing.assert_array_equal(layer.grads["s"], [2.0, 2.0, 2.0])


# -- what the checks say when a backward pass is wrong in a way a tolerance cannot see ---------
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_nan_or_infinite_gradient_fails(bad):
    def backward(dout, cache):
        dx = 5.0 * dout                        # wrong everywhere, and one entry not finite
        dx[0, 0] = bad
        return dx

    x = np.random.default_rng(0).standard_normal((3, 4)) + 0.5
    with pytest.raises(AssertionError, match="NaN or infinite entries"):
        testing.assert_pair_gradients(lambda x: (np.tanh(x), x), backward, {"x": x})
    assert rel_error(np.array([1.0, bad]), np.array([1.0, 2.0])) == float("inf")


def test_a_nan_in_a_layers_gradient_fails():
    class NaNGradient(layers.Tanh):
        def backward(self, dout, input_grad=True):
            return super().backward(dout) * np.nan

    x = np.random.default_rng(0).standard_normal((3, 4))
    with pytest.raises(AssertionError, match="NaN or infinite"):
        testing.assert_layer_gradients(NaNGradient(), x)


def test_a_backward_that_leaves_out_gradients_is_refused():
    arrays = _dense_arrays()
    with pytest.raises(ValueError, match=r"gave 1 gradient\(s\) for 3 inputs \(x, W, b\)"):
        testing.assert_pair_gradients(F.dense_forward, lambda d, c: F.dense_backward(d, c)[0],
                                      arrays)
    with pytest.raises(ValueError, match="gave None for 'b'"):
        testing.assert_pair_gradients(F.dense_forward,
                                      lambda d, c: F.dense_backward(d, c)[:2] + (None,), arrays)


def test_a_gradient_of_another_shape_names_its_input():
    arrays = _dense_arrays()

    def backward(dout, cache):
        dx, dW, db = F.dense_backward(dout, cache)
        return dx, dW[:, :1], db

    with pytest.raises(ValueError, match=r"gradient of 'W' has shape \(3, 1\); 'W' has shape "
                                         r"\(3, 3\)"):
        testing.assert_pair_gradients(F.dense_forward, backward, arrays)

    class Short(layers.Tanh):
        def backward(self, dout, input_grad=True):
            return super().backward(dout)[:, :-1]

    with pytest.raises(ValueError,
                       match=r"Short\(\): the backward pass's gradient of 'x' has shape \(4, 4\)"):
        testing.assert_layer_gradients(Short(), np.ones((4, 5)))


def test_a_relu_input_on_its_kink_is_said_to_be_on_a_kink():
    x = np.array([[-1.0, 0.0, 0.5], [0.0, 2.0, -3.0]])
    with pytest.raises(AssertionError, match=r"on or near a kink.*x\[0, 1\].*x\[1, 0\]") as info:
        testing.assert_pair_gradients(F.relu_forward, F.relu_backward, {"x": x})
    assert "x[0, 0]" not in str(info.value)
    testing.assert_pair_gradients(F.relu_forward, F.relu_backward,
                                  {"x": testing.away_from_kinks(x)})


def test_a_kink_where_the_upstream_gradient_is_small_is_still_a_kink():
    """Each entry is judged against its own miss: x[0, 1] sits on the kink under a weight of
    0.005, where the other entries' slopes are about 1."""
    weight = np.array([[3.0, 0.005, 1.0], [2.0, 1.0, 1.0]])

    def forward(x):
        out, cache = F.relu_forward(x)
        return out * weight, cache

    def backward(dout, cache):
        return F.relu_backward(dout * weight, cache)

    x = np.array([[-1.0, 0.0, 0.5], [0.7, 2.0, -3.0]])
    with pytest.raises(AssertionError, match=r"on or near a kink.*x\[0, 1\]"):
        testing.assert_pair_gradients(forward, backward, {"x": x})


def test_a_wrong_backward_is_not_blamed_on_kinks():
    x = testing.away_from_kinks(np.random.default_rng(0).standard_normal((3, 4)))
    with pytest.raises(AssertionError) as info:
        testing.assert_pair_gradients(F.relu_forward, lambda d, c: -F.relu_backward(d, c),
                                      {"x": x})
    assert "kink" not in str(info.value)


def test_inputs_as_lists_and_strided_views_are_checked():
    testing.assert_pair_gradients(F.tanh_forward, F.tanh_backward, {"x": [[0.1, -0.4, 2.0]]})
    wide = np.random.default_rng(0).standard_normal((3, 8))
    view = wide[:, ::2]
    before = view.copy()
    testing.assert_pair_gradients(F.tanh_forward, F.tanh_backward, {"x": view})
    np.testing.assert_array_equal(view, before)
    with pytest.raises(ValueError, match="'x' is int64"):
        testing.assert_pair_gradients(F.tanh_forward, F.tanh_backward, {"x": np.ones(3, int)})


def test_the_step_is_the_checks_own_argument():
    x = np.random.default_rng(0).standard_normal((3, 4))
    with pytest.raises(AssertionError, match="relative error") as info:
        testing.assert_pair_gradients(F.tanh_forward, F.tanh_backward, {"x": x}, h=0.5)
    assert "kink" not in str(info.value)        # a smooth function's truncation error
    tight = testing.assert_pair_gradients(F.tanh_forward, F.tanh_backward, {"x": x}, h=1e-5)
    assert tight["x"] < testing.GRAD_TOL


def test_a_layer_that_assigns_its_gradients_fails_the_accumulation_check():
    class AssigningScale(layers.Layer):
        def __init__(self, features):
            super().__init__()
            self._add_param("s", np.linspace(0.5, 1.5, features), "float64")

        def forward(self, x):
            self._cache = x
            return x * self.params["s"]

        def backward(self, dout, input_grad=True):
            self.grads["s"] = (dout * self._need_cache()).sum(axis=0)      # not accumulated
            return dout * self.params["s"]

    with pytest.raises(AssertionError, match="the gradient of 's' does not accumulate"):
        testing.assert_layer_gradients(AssigningScale(3),
                                       np.random.default_rng(0).standard_normal((4, 3)))


def test_a_layer_that_zeroes_its_gradients_in_backward_is_told_to_leave_it_to_the_step():
    """A backward pass that calls zero_grad() and then _accumulate was told to use
    _accumulate, which it did."""
    class Zeroing(layers.Dense):
        def backward(self, dout, input_grad=True):
            self.zero_grad()
            return super().backward(dout, input_grad)

    with pytest.raises(AssertionError, match=r"the gradient of 'W' does not accumulate: .* leave "
                                             r"zeroing them to the training step \(zero_grad\(\) "
                                             r"before the passes, not in backward\(\)\)"):
        testing.assert_layer_gradients(Zeroing(3, 2, dtype="float64"),
                                       np.random.default_rng(0).standard_normal((4, 3)))


def test_the_accumulation_check_leaves_the_layer_as_one_checked_pass_left_it():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3))
    checked = layers.BatchNorm(3, dtype="float64")
    testing.assert_layer_gradients(checked, x, rng=np.random.default_rng(1))
    once = layers.BatchNorm(3, dtype="float64")
    once.forward(x)
    for k, v in once.buffers.items():
        np.testing.assert_array_equal(checked.buffers[k], v)
    for g in checked.grads.values():
        assert np.abs(g).max() > 0      # one pass's gradients, kept for the reader


def test_a_frozen_layer_or_a_float32_one_is_refused_with_what_to_do():
    x = np.random.default_rng(0).standard_normal((4, 3))
    with pytest.raises(ValueError, match=r"frozen.*freeze\(False\)"):
        testing.assert_layer_gradients(layers.Dense(3, 2, dtype="float64").freeze(), x)
    inner = layers.Dense(3, 2, dtype="float64").freeze()
    with pytest.raises(ValueError, match=r"Dense\(3, 2\) inside it is frozen"):
        testing.assert_layer_gradients(layers.Sequential(inner, layers.Tanh()), x)
    from minigan.check import gradcheck
    with pytest.raises(ValueError, match="parameter 'W' is float32.*dtype='float64'"):
        gradcheck.check_layer(layers.Dense(3, 2, dtype="float32"), x)


def test_a_layer_alike_without_buffers_is_checked():
    """The layer the docstring asks for: forward, backward, params, grads, zero_grad; no
    buffers, no train mode, not a minigan Layer."""
    class Alike:
        def __init__(self):
            self.params, self.grads = {"s": np.ones(3)}, {"s": np.zeros(3)}

        def zero_grad(self):
            self.grads["s"][...] = 0

        def forward(self, x):
            self.x = x
            return x * self.params["s"]

        def backward(self, dout):
            self.grads["s"] += (dout * self.x).sum(axis=0)
            return dout * self.params["s"]

    errors = testing.assert_layer_gradients(Alike(), np.arange(6.0).reshape(2, 3))
    assert sorted(errors) == ["s", "x"]


def test_a_parameter_set_without_add_param_is_named():
    class Unregistered(layers.Layer):
        def __init__(self):
            super().__init__()
            self.params["s"] = np.ones(3)

        def forward(self, x):
            self._cache = x
            return x * self.params["s"]

        def backward(self, dout, input_grad=True):
            self._accumulate(s=(dout * self._need_cache()).sum(axis=0))
            return dout * self.params["s"]

    layer = Unregistered()
    layer.forward(np.ones((2, 3)))
    with pytest.raises(KeyError, match=r"no gradient 's'.*_add_param\('s', value\)"):
        layer.backward(np.ones((2, 3)))


@pytest.mark.parametrize("reduce, shape", [(lambda g: g.sum(), r"\(\)"),
                                           (lambda g: g.sum(axis=0, keepdims=True), r"\(1, 3\)"),
                                           (lambda g: float(g.sum()), r"\(\)")])
def test_a_gradient_of_another_shape_than_its_parameter_is_named_when_accumulated(reduce, shape):
    """NumPy would broadcast a sum over every axis into each entry (a wrong value the check
    calls off, saying nothing of the shape) and refuse a kept axis in its own words."""
    class Scale(layers.Layer):
        def __init__(self):
            super().__init__()
            self._add_param("s", np.ones(3), "float64")

        def forward(self, x):
            self._cache = x
            return x * self.params["s"]

        def backward(self, dout, input_grad=True):
            self._accumulate(s=reduce(dout * self._need_cache()))
            return dout * self.params["s"]

    with pytest.raises(ValueError, match=rf"Scale\(\): the gradient of 's' has shape {shape}, "
                       r"its parameter \(3,\); sum the gradient over the axes the parameter was "
                       r"broadcast along"):
        testing.assert_layer_gradients(Scale(), np.ones((2, 3)))


_NOT_ONE = [
    ({"h": 0}, ValueError, r"^h, the step of the centred differences, must be a finite number "
                           r"above 0 \(1e-5 unless you have a reason\), got 0$"),
    ({"h": float("nan")}, ValueError, r"^h, the step .* got nan$"),
    ({"h": -1e-5}, ValueError, r"^h, the step .* got -1e-05$"),
    ({"tol": 0}, ValueError, r"^tol, the largest relative error that passes, must be a finite "
                             r"number above 0 \(testing.GRAD_TOL, 1e-07, .*\), got 0$"),
    ({"tol": float("nan")}, ValueError, r"^tol, .* got nan$"),
    ({"rng": 0}, TypeError, r"^rng must be a numpy.random.Generator or None, got 0: for a seed, "
                            r"pass numpy.random.default_rng\(0\)$")]


def _checks_of_a_dense_layer():
    """The three gradient checks of one Dense layer by name ("pair", "layer", "step"), each
    a function of the check's keyword arguments."""
    r = np.random.default_rng(0)
    layer = layers.Dense(3, 2, rng=r, dtype="float64")
    x = r.standard_normal((4, 3))
    return {
        "pair": lambda **k: testing.assert_pair_gradients(F.dense_forward, F.dense_backward,
                                                          _dense_arrays(), **k),
        "layer": lambda **k: testing.assert_layer_gradients(layer, x, **k),
        "step": lambda **k: testing.assert_step_gradients(
            lambda: (layer.zero_grad(), layer.backward(layer.forward(x)), 0.5 * (
                layer.forward(x) ** 2).sum())[2], layer, **k)}


@pytest.mark.parametrize("check, kw, error, words",
                         [(c, *case) for c in ("pair", "layer", "step") for case in _NOT_ONE
                          if not (c == "step" and "rng" in case[0])])    # a step has no rng
def test_a_step_tolerance_or_generator_that_is_not_one_is_named(kw, error, words, check):
    """h = 0 raised ZeroDivisionError; h = NaN failed saying the backward pass's gradient held
    NaN or infinite entries; tol = NaN passed every check and tol = 0 failed every one, each
    naming the worst gradient; rng = 0 raised "'int' object has no attribute
    'standard_normal'"."""
    calls = _checks_of_a_dense_layer()
    with pytest.raises(error, match=words):
        calls[check](**kw)
    calls[check]()


@pytest.mark.parametrize("check", ["pair", "layer", "step"])
@pytest.mark.parametrize("kw", [{"h": np.array(1e-5)}, {"tol": np.array(1e-6)},
                                {"h": np.float32(1e-5), "tol": np.float64(1e-6)}])
def test_a_step_or_tolerance_given_as_a_numpy_number_is_taken(kw, check):
    """A 0-d array (a number read back from an .npz) was refused as "a finite number above 0",
    which it is: each check tested "a number" on its own, apart from errors.real_number."""
    calls = _checks_of_a_dense_layer()
    assert calls[check](**kw)


@pytest.mark.parametrize("make, message", [
    (lambda: testing.dense_configs(max_batch=0), "max_batch must be at least 1, got 0"),
    (lambda: testing.dense_configs(min_features=5, max_features=4),
     "min_features=5 is above max_features=4"),
    (lambda: testing.conv2d_configs(max_padding=-1), "max_padding must be at least 0"),
    (lambda: testing.conv_transpose2d_configs(max_stride=0), "max_stride must be at least 1"),
    (lambda: testing.batchnorm_configs(max_channels=0), "max_channels must be at least 1"),
    (lambda: testing.shapes(max_dims=1, min_dims=3), "min_dims=3 is above max_dims=1"),
    (lambda: testing.dense_configs(max_batch=2.5), "max_batch must be an integer"),
])
def test_impossible_strategy_bounds_are_refused_when_the_strategy_is_made(make, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        make()


@given(testing.shapes(min_dims=np.int64(2), max_dims=np.int64(2)),
       testing.dense_configs(max_batch=np.int32(1)))
def test_the_strategies_take_numpy_integers(shape, cfg):
    """hypothesis takes Python ints only: the bounds are converted when the strategy is made."""
    assert len(shape) == 2 and cfg.batch == 1


@given(testing.dense_configs(min_batch=3, max_batch=4, min_features=4, max_features=5),
       testing.shapes(max_dims=2, min_dims=2, max_side=3, min_side=2))
def test_the_strategies_lower_bounds_hold(cfg, shape):
    assert 3 <= cfg.batch <= 4 and 4 <= cfg.in_features <= 5 and 4 <= cfg.out_features <= 5
    assert len(shape) == 2 and all(2 <= side <= 3 for side in shape)


def test_a_backward_that_writes_into_dout_is_checked_on_its_own_copy():
    """The checker hands the backward pass a copy of the upstream gradient it differentiates
    against: writing into it in place (legal for the caller's array) is no false alarm."""
    def backward(dout, cache):
        dout *= 2
        return dout

    x = np.random.default_rng(0).standard_normal((3, 4))
    testing.assert_pair_gradients(lambda x: (2 * x, None), backward, {"x": x})


def test_a_conditional_generator_leaves_the_callers_dout_alone():
    """Its label's gradient is added to net's input gradient, which an identity-like net hands
    back as a view of dout."""
    G = layers.ConditionalGenerator(layers.Flatten(), classes=2)
    zc = np.random.default_rng(0).standard_normal((3, 5))
    dout = np.random.default_rng(1).standard_normal(G.forward(zc).shape)
    before = dout.copy()
    G.backward(dout)
    np.testing.assert_array_equal(dout, before)
    testing.assert_layer_gradients(G, zc)


def test_a_backward_may_return_a_list_and_a_forward_a_number():
    testing.assert_pair_gradients(F.dense_forward, lambda d, c: list(F.dense_backward(d, c)),
                                  _dense_arrays())
    testing.assert_pair_gradients(lambda x: (float((x * x).sum()), x),
                                  lambda d, x: 2 * x * d, {"x": np.arange(1.0, 4.0)})


def test_gradients_at_the_rounding_noise_are_said_to_be():
    """A bias before batch norm: its gradient is 0 and the differences' noise about 1e-11;
    no relative error can tell them apart, and the message says so."""
    rng = np.random.default_rng(0)
    net = layers.Sequential(layers.Dense(4, 5, rng=rng, dtype="float64"),
                            layers.BatchNorm(5, dtype="float64"))
    with pytest.raises(AssertionError, match=r"both gradients of '0\.b' are at the "
                                             r"differences' rounding noise"):
        testing.assert_layer_gradients(net, rng.standard_normal((6, 4)), rng=rng)


def test_the_differences_truncation_is_cancelled_before_a_check_fails():
    """A curved function misses at the step h by its truncation, h**2 times the third
    derivative: against Richardson's extrapolation of the steps h and h / 10, which cancels
    it, the gradient passes, and the check returns that error. A backward pass off by a
    factor that the truncation at h / 10 alone would have hidden (the truncation of
    exp(kx) has the gradient's own pattern) still fails."""
    x = np.random.default_rng(0).standard_normal((3, 4))
    errors = testing.assert_pair_gradients(F.tanh_forward, F.tanh_backward, {"x": x}, h=1e-3)
    at_h = gradcheck.check_pair(F.tanh_forward, F.tanh_backward, {"x": x}, h=1e-3)["x"]
    assert at_h > testing.GRAD_TOL and errors["x"] <= testing.GRAD_TOL
    assert errors.measured == {"x": "extrapolated"}

    k = 1.1e4
    grow = (lambda x: (np.exp(k * x), x), lambda d, x: k * np.exp(k * x) * d)
    off = (grow[0], lambda d, x: k * np.exp(k * x) * d * (1 + 2.0e-5))
    y = np.random.default_rng(1).uniform(-1e-4, 1e-4, 6)
    finer = gradcheck.check_pair(*off, {"x": y}, h=1e-6)["x"]
    assert finer <= testing.GRAD_TOL       # at h / 10 alone the wrong factor would pass
    with pytest.raises(AssertionError, match="relative error"):
        testing.assert_pair_gradients(*off, {"x": y}, h=1e-5)
    testing.assert_pair_gradients(*grow, {"x": y}, h=1e-5)


def test_vjp_error_measures_again_as_the_checks_do():
    """gradcheck.vjp_error, for a function that is not a layer or a pair: a curved one's
    truncation cancelled by the extrapolation, a nearly flat one's rounding divided at a
    larger step, a wrong gradient's error kept."""
    k, tol = 1.1e4, testing.GRAD_TOL
    y = np.random.default_rng(1).uniform(-1e-4, 1e-4, 6)
    dout = np.random.default_rng(2).standard_normal(6)
    right = k * np.exp(k * y) * dout

    def grow():
        return np.exp(k * y)

    assert gradcheck.rel_error(right, gradcheck.numeric_vjp(grow, y, dout)) > tol
    assert gradcheck.vjp_error(grow, y, dout, right, tol) <= tol
    assert gradcheck.vjp_error(grow, y, dout, right * (1 + 2e-5), tol) > tol
    z = np.random.default_rng(3).standard_normal(4)

    def flat():
        return 1 + 1e-5 * z

    assert gradcheck.rel_error(1e-5 * np.ones(4), gradcheck.numeric_vjp(flat, z, np.ones(4),
                                                                      1e-7)) > tol
    assert gradcheck.vjp_error(flat, z, np.ones(4), 1e-5 * np.ones(4), tol, h=1e-7) <= tol


def test_the_differences_rounding_passes_where_a_step_ten_times_larger_shows_it():
    """An output that hardly moves with its input (batch norm with a gain of -3.8e-5 on a
    batch of two, as a property test drew it) leaves the differences at step 1e-5 at their
    rounding noise, which a step ten times larger divides by ten: the check passes with the
    error at that step. Where even that step is too small, the message says so."""
    rng = np.random.default_rng(117)
    layer = layers.BatchNorm(1, eps=0.5, dtype="float64")
    layer.params["gamma"][...] = rng.standard_normal(1)
    layer.params["beta"][...] = rng.standard_normal(1)
    x = rng.standard_normal((2, 1))
    at_h = gradcheck.check_layer(copy.deepcopy(layer), x, rng=copy.deepcopy(rng))["x"]
    errors = testing.assert_layer_gradients(layer, x, rng=rng)
    assert at_h > testing.GRAD_TOL and errors["x"] <= at_h / gradcheck.ROUNDING_FALL
    flat = (lambda x: (1 + 1e-4 * x, None), lambda d, cache: 1e-4 * d)     # rounding at 10 h too
    with pytest.raises(AssertionError, match="step ten times larger.*pass a larger h"):
        testing.assert_pair_gradients(*flat, {"x": np.random.default_rng(0).standard_normal(4)},
                                      h=1e-9)
    assert not gradcheck.is_rounding(1e-6, 3e-7, testing.GRAD_TOL)    # not within tol
    assert not gradcheck.is_rounding(1e-7 * 3, 9e-8, testing.GRAD_TOL)   # fell 3 times only


def test_a_step_too_large_or_too_small_is_said_to_be():
    # sin(kx) at kh = 1: the extrapolation leaves (kh)**4 / 12,000, the step h / 10 falls
    # about 100 times (the differences' truncation)
    k = 1e5
    wave = (lambda x: (np.sin(k * x), x), lambda d, x: k * np.cos(k * x) * d)
    x = np.random.default_rng(0).standard_normal((3, 3)) / k
    with pytest.raises(AssertionError, match="step ten times smaller.*pass a smaller h"):
        testing.assert_pair_gradients(*wave, {"x": x})
    testing.assert_pair_gradients(*wave, {"x": x}, h=1e-8)


def test_a_forward_pass_that_rounds_in_float32_is_said_to_lose_precision():
    """A float32 array inside a float64 forward pass leaves a miss that falls for a larger
    step, as the differences' rounding does, but far above it: the message told to pass a
    larger h, and no step passes."""
    tanh32 = (lambda x: (np.tanh(x.astype(np.float32)).astype(np.float64), x),
              lambda d, x: d * (1 - np.tanh(x) ** 2))
    x = np.random.default_rng(0).standard_normal((3, 4))
    with pytest.raises(AssertionError, match=r"step ten times larger.* far above float64's "
                       r"rounding of the differences .* loses precision inside \(a float32"):
        testing.assert_pair_gradients(*tanh32, {"x": x})


def test_a_lazy_float32_parameter_is_named():
    class Lazy(layers.Layer):
        def forward(self, x):
            if "s" not in self.params:
                self._add_param("s", np.ones(x.shape[1]), "float32")
            self._cache = x
            return x * self.params["s"]

        def backward(self, dout, input_grad=True):
            self._accumulate(s=(dout * self._need_cache()).sum(axis=0))
            return dout * self.params["s"]

    with pytest.raises(ValueError, match="parameter 's' is float32"):
        testing.assert_layer_gradients(Lazy(), np.ones((2, 3)))


def test_a_generator_the_layer_holds_under_any_name_is_replayed():
    class Noisy(layers.Layer):
        def __init__(self):
            super().__init__()
            self.gen = np.random.default_rng(3)

        def forward(self, x):
            self._cache = self.gen.random(x.shape) + 0.5
            return x * self._cache

        def backward(self, dout, input_grad=True):
            return dout * self._need_cache()

    testing.assert_layer_gradients(Noisy(), np.ones((2, 3)))


@pytest.mark.parametrize("draw", ["global", "random_state", "in_a_dict"])
def test_a_forward_pass_that_replay_cannot_repeat_is_refused_saying_why(draw):
    """A draw replay does not reach makes every difference a difference of two functions:
    the check says so, instead of calling a right backward pass off."""
    class Noisy(layers.Layer):
        def __init__(self):
            super().__init__()
            self._add_param("s", np.ones(3), "float64")
            self.gens = {"noise": np.random.default_rng(3)}
            self.legacy = np.random.RandomState(3)

        def forward(self, x):
            noise = {"global": np.random.random, "random_state": self.legacy.random_sample,
                     "in_a_dict": self.gens["noise"].random}[draw](x.shape)
            self._cache = (x, noise + 0.5)
            return x * self._cache[1] * self.params["s"]

        def backward(self, dout, input_grad=True):
            x, noise = self._need_cache()
            self._accumulate(s=(dout * x * noise).sum(axis=0))
            return dout * noise * self.params["s"]

    with pytest.raises(ValueError, match=r"Noisy\(\): its forward pass, run again on the same "
                       r"input from the same state, gave another output .* Draw random numbers "
                       r"from a numpy.random.Generator held as an attribute of the layer"):
        testing.assert_layer_gradients(Noisy(), np.ones((2, 3)))


def test_an_infinite_output_that_changes_sign_on_a_second_run_is_another_output():
    """A run repeated from the same state is the same run only where its NaNs and
    infinities are where they were and as they were: +inf then -inf, the finite entries
    equal, is another output (the step check's loss is judged by the same rule)."""
    class Flip(layers.Layer):
        def __init__(self):
            super().__init__()
            self._add_param("s", np.ones(3), "float64")
            self.calls = 0                                  # state replay does not reach

        def forward(self, x):
            self.calls += 1
            self._cache = x
            return np.append(x * self.params["s"], np.inf * (-1) ** self.calls)

        def backward(self, dout, input_grad=True):
            self._accumulate(s=(dout[:-1] * self._need_cache()))
            return dout[:-1] * self.params["s"]

    with pytest.raises(ValueError, match=r"Flip\(\): its forward pass, run again on the same "
                       r"input from the same state, gave another output \(relative error inf\)"):
        gradcheck.check_layer(Flip(), np.ones(3))


def test_a_layer_made_of_others_is_told_to_name_them_in_sublayers():
    """A layer that draws through a Dropout of its own holds the generator in that layer:
    the refusal says that replay finds it through sublayers(), and with them the check
    passes."""
    class Noisy(layers.Layer):
        def __init__(self, declared):
            super().__init__()
            self.dense = layers.Dense(3, 2, rng=np.random.default_rng(0), dtype="float64")
            self.drop = layers.Dropout(0.5, rng=np.random.default_rng(1))
            self.params, self.grads = self.dense.params, self.dense.grads
            self.declared = declared

        def sublayers(self):
            return (self.dense, self.drop) if self.declared else ()

        def forward(self, x):
            return self.drop.forward(self.dense.forward(x))

        def backward(self, dout, input_grad=True):
            return self.dense.backward(self.drop.backward(dout))

    x = np.random.default_rng(2).standard_normal((4, 3))
    with pytest.raises(ValueError, match=r"gave another output .* held as an attribute of the "
                       r"layer or of a layer inside it that its sublayers\(\) returns"):
        testing.assert_layer_gradients(Noisy(declared=False), x)
    testing.assert_layer_gradients(Noisy(declared=True), x)


class _Residual(layers.Layer):
    """x + inner(x), a layer made of a Dense: it holds the Dense's parameters or not, and
    names it in sublayers() or not."""

    def __init__(self, held, declared):
        super().__init__()
        self.inner = layers.Dense(3, 3, rng=np.random.default_rng(0), dtype="float64")
        if held:
            self.params, self.grads = self.inner.params, self.inner.grads
        self.declared = declared

    def sublayers(self):
        return (self.inner,) if self.declared else ()

    def forward(self, x):
        return x + self.inner.forward(x)

    def backward(self, dout, input_grad=True):
        return dout + self.inner.backward(dout)


@pytest.mark.parametrize("declared", [True, False])
def test_a_parameter_of_a_layer_inside_that_is_not_held_is_refused(declared):
    """A layer made of others that does not hold their parameters passed its check on x
    alone, and an optimizer built from it never trained them."""
    x = np.random.default_rng(1).standard_normal((4, 3))
    said = (r"\)" if declared else r"\), and return those layers from sublayers\(\)") + \
        r"; a part held fixed, never trained, keeps its parameters in its buffers$"
    with pytest.raises(ValueError, match=r"_Residual\(\): parameter 'W' of Dense\(3, 3\) inside "
                       r"it is not among its params: .*never trains.* as Sequential does.*" + said):
        testing.assert_layer_gradients(_Residual(held=False, declared=declared), x)
    with pytest.raises(ValueError, match=r"parameter 'W' of Dense\(3, 3\) inside it"):
        gradcheck.check_step(lambda: 0.0, layers.Sequential(
            _Residual(held=False, declared=declared), layers.Dense(3, 1, dtype="float64")))
    assert sorted(testing.assert_layer_gradients(_Residual(held=True, declared=True), x)) == [
        "W", "b", "x"]


def test_a_part_held_fixed_keeps_its_parameters_in_the_layer_s_buffers():
    """A layer with a fixed inner network (a feature extractor it never trains) holds the
    network's parameters as constants, in its buffers: checked on x alone, not refused."""
    class Fixed(_Residual):
        def __init__(self):
            super().__init__(held=False, declared=True)
            self.buffers = {"inner." + k: v for k, v in self.inner.params.items()}

        def backward(self, dout, input_grad=True):
            with self.inner.freezing():                # its weights take no gradient
                return super().backward(dout)

    layer = Fixed()
    before = {k: v.copy() for k, v in layer.inner.params.items()}
    assert sorted(testing.assert_layer_gradients(
        layer, np.random.default_rng(1).standard_normal((4, 3)))) == ["x"]
    for k, v in layer.inner.params.items():
        np.testing.assert_array_equal(v, before[k])
        assert not layer.inner.grads[k].any()


def test_a_class_held_as_an_attribute_is_neither_a_layer_nor_an_array():
    """A layer that keeps a class of layers (a factory, Sequential's params a property of the
    class) failed the check with "'property' object has no attribute 'items'", and one that
    keeps its dtype as np.float64 with "Cannot interpret '<attribute 'dtype' ...>' as a data
    type": both were taken for what they make."""
    class Factory(layers.Dense):
        def __init__(self):
            super().__init__(3, 2, rng=np.random.default_rng(0), dtype="float64")
            self.block = layers.Sequential
            self.kind = np.float64          # a dtype given as NumPy's type, kept

    assert sorted(testing.assert_layer_gradients(Factory(), np.ones((4, 3)))) == ["W", "b", "x"]


def test_a_buffer_of_a_layer_inside_that_is_not_held_is_refused():
    class Normed(_Residual):
        def __init__(self):
            super().__init__(held=True, declared=True)
            self.norm = layers.BatchNorm(3, dtype="float64")
            self.params = {**self.inner.params, **{"n." + k: v for k, v in self.norm.params.items()}}
            self.grads = {**self.inner.grads, **{"n." + k: v for k, v in self.norm.grads.items()}}

        def sublayers(self):
            return (self.inner, self.norm)

        def forward(self, x):
            return self.norm.forward(super().forward(x))

        def backward(self, dout, input_grad=True):
            return super().backward(self.norm.backward(dout))

    with pytest.raises(ValueError, match=r"buffer 'running_mean' of BatchNorm.* is not among its "
                       r"buffers: state_dict\(\) does not save it"):
        testing.assert_layer_gradients(Normed(), np.random.default_rng(1).standard_normal((4, 3)))


def test_a_parameter_that_parameters_does_not_list_is_refused():
    class Hidden(layers.Dense):
        def parameters(self):
            return [(self.params["W"], self.grads["W"])]

    with pytest.raises(ValueError, match=r"parameter 'b' is not in its parameters\(\), the list "
                                         r"an optimizer built from it takes"):
        testing.assert_layer_gradients(Hidden(3, 2, dtype="float64"), np.ones((4, 3)))


class _Slope(layers.Layer):
    """PReLU whose slope is an array held as an attribute (or a buffer, with ``kept``)."""

    def __init__(self, kept):
        super().__init__()
        slope = np.full(3, 0.25)
        if kept:
            self.buffers["a"] = slope
        else:
            self.a, self.da = slope, np.zeros(3)

    def forward(self, x):
        self._cache = x
        return np.where(x > 0, x, self._slope() * x)

    def backward(self, dout, input_grad=True):
        x = self._need_cache()
        if not self.buffers:
            self.da += (dout * np.minimum(x, 0)).sum(axis=0)
        return dout * np.where(x > 0, 1.0, self._slope())

    def _slope(self):
        return self.buffers["a"] if self.buffers else self.a


def test_an_array_the_forward_pass_reads_outside_params_and_buffers_is_refused():
    """A slope learned outside params passed the check on x alone, and no optimizer trained
    it; kept as a buffer (a constant), it passes, and so do arrays the layer only caches."""
    x = testing.away_from_kinks(np.random.default_rng(0).standard_normal((4, 3)))
    with pytest.raises(ValueError, match=r"_Slope\(\): its forward pass reads 'a', an array of "
                       r"shape \(3,\) held as an attribute, neither a parameter nor a buffer: .* "
                       r"self._add_param\('a', value\).* self.buffers\['a'\]$"):
        testing.assert_layer_gradients(_Slope(kept=False), x)
    with pytest.raises(ValueError, match=r"reads 'a' of _Slope\(\) inside it"):
        testing.assert_layer_gradients(layers.Sequential(layers.Tanh(), _Slope(kept=False)), x)
    layer = _Slope(kept=True)
    layer.out = np.zeros(3)                  # an array the forward pass does not read
    assert sorted(testing.assert_layer_gradients(layer, x)) == ["x"]
    np.testing.assert_array_equal(layer.buffers["a"], np.full(3, 0.25))


def test_a_buffer_moved_in_the_backward_pass_is_refused_and_put_back():
    """A running mean moved in backward() passed the check: each difference replays the
    state the forward pass started from, and backward's update was never seen."""
    class Centre(layers.Layer):
        def __init__(self):
            super().__init__()
            self.buffers["mean"] = np.zeros(3)

        def forward(self, x):
            self._cache = x.mean(axis=0)
            return x - self._cache

        def backward(self, dout, input_grad=True):
            self.buffers["mean"] += 0.1 * (self._need_cache() - self.buffers["mean"])
            return dout - dout.mean(axis=0)

    layer = Centre()
    with pytest.raises(ValueError, match=r"Centre\(\): its backward pass changed buffer 'mean'.*"
                                         r"Move its update into forward\(\)"):
        testing.assert_layer_gradients(layer, np.random.default_rng(0).standard_normal((4, 3)))
    np.testing.assert_array_equal(layer.buffers["mean"], np.zeros(3))


def test_a_forward_pass_that_writes_into_its_input_is_refused_and_the_input_kept():
    class InPlaceTanh(layers.Layer):
        def forward(self, x):
            self._cache = np.tanh(x, out=x)
            return self._cache

        def backward(self, dout, input_grad=True):
            return dout * (1 - self._need_cache() ** 2)

    x = np.random.default_rng(0).standard_normal((3, 4))
    kept = x.copy()
    with pytest.raises(ValueError, match=r"InPlaceTanh\(\): its forward pass wrote into its "
                                         r"input x; .* computes a new array"):
        testing.assert_layer_gradients(InPlaceTanh(), x)
    np.testing.assert_array_equal(x, kept)


@pytest.mark.parametrize("start, count, said", [
    (0, lambda n: n + 1, "int"),
    (np.float64(0), lambda n: n + 1, "float64"),                    # a NumPy number
    (np.zeros(()), lambda n: n + 1, "float64 after a forward pass")])   # 0-d + 1: a number
def test_a_buffer_that_is_not_an_array_is_named_with_what_to_do(start, count, said):
    class Counting(layers.Layer):
        def __init__(self):
            super().__init__()
            self.buffers["n"] = start

        def forward(self, x):
            self.buffers["n"] = count(self.buffers["n"])
            return 2 * x

        def backward(self, dout, input_grad=True):
            return 2 * dout

    with pytest.raises(ValueError, match=rf"Counting\(\): buffer 'n' is of type {said}, not an "
                       r"array; replay puts buffers back in place"):
        testing.assert_layer_gradients(Counting(), np.ones((2, 3)))


def test_a_count_kept_in_a_0_d_array_is_replayed():
    """What the refusal above says to do."""
    class Counting(layers.Layer):
        def __init__(self):
            super().__init__()
            self.buffers["n"] = np.zeros(())

        def forward(self, x):
            self.buffers["n"] += 1
            return (1 + self.buffers["n"]) * x

        def backward(self, dout, input_grad=True):
            return (1 + self.buffers["n"]) * dout

    layer = Counting()
    testing.assert_layer_gradients(layer, np.ones((2, 3)))
    assert layer.buffers["n"] == 1 and isinstance(layer.buffers["n"], np.ndarray)


def test_kinks_inside_a_net_are_named_when_no_entry_can_be_explained():
    """A row of zeros through Dense (zero bias) and ReLU: every hidden unit of that row sits on
    its kink, so no one-sided difference of an input entry matches; the net says so."""
    rng = np.random.default_rng(0)
    net = layers.Sequential(layers.Dense(4, 6, rng=rng, dtype="float64"), layers.ReLU(),
                            layers.Dense(6, 2, rng=rng, dtype="float64"))
    x = rng.standard_normal((3, 4))
    x[1] = 0.0
    with pytest.raises(AssertionError, match=r"an input of \(1\) ReLU\(\) lies 0\.0e\+00 from its "
                                             r"kink at 0"):
        testing.assert_layer_gradients(net, x, rng=rng)


def test_a_miss_on_a_kink_inside_a_net_names_the_layer_whose_input_lies_there():
    """One ReLU input 3e-6 from 0, within the step: the one-sided differences explain the
    miss, and the message names the layer, by its index in the Sequential (and in a chain
    inside it); it named one only when nothing else explained the failure."""
    rng = np.random.default_rng(0)
    first = layers.Dense(3, 4, rng=rng, dtype="float64")
    x = rng.standard_normal((5, 3))
    first.params["b"][0] -= first(x)[2, 0] - 3e-6       # row 2's unit 0: 3e-6 above the kink
    net = layers.Sequential(first, layers.ReLU(), layers.Dense(4, 2, rng=rng, dtype="float64"))
    with pytest.raises(AssertionError, match=r"lie on or near a kink \(an input of \(1\) ReLU\(\) "
                                             r"lies 3\.0e-06 from its kink at 0, within the step "
                                             r"h = 1e-05\), where the one-sided differences"):
        testing.assert_layer_gradients(net, x, rng=rng)
    nested = layers.Sequential(layers.Sequential(first, layers.ReLU()), net.layers[2])
    with pytest.raises(AssertionError, match=r"on or near a kink \(an input of \(0\.1\) ReLU\(\) "
                                             r"lies 3\.0e-06"):
        testing.assert_layer_gradients(nested, x, rng=rng)


def test_a_wrong_small_gradient_is_not_blamed_on_rounding():
    """out = [100 x; 1e-3 b]: b's gradient is small against the output, not zero; a wrong one
    is the backward pass's fault, whatever the noise over the whole output."""
    def forward(x, b):
        return np.concatenate([100 * x, 1e-3 * b]), None

    def backward(dout, cache, wrong=False):
        return 100 * dout[:4], (2e-3 if wrong else 1e-3) * dout[4:]

    arrays = {"x": np.arange(1.0, 5.0), "b": np.arange(1.0, 4.0)}
    testing.assert_pair_gradients(forward, backward, arrays)
    with pytest.raises(AssertionError) as info:
        testing.assert_pair_gradients(forward, lambda d, c: backward(d, c, True), arrays)
    assert "rounding" not in str(info.value) and "step" not in str(info.value)


def test_a_step_is_blamed_only_when_another_step_passes():
    """sin(1e4 x) with a backward 4e-5 off: a smaller step lowers the error but never below
    the tolerance, so the backward pass is not cleared."""
    x = np.random.default_rng(0).standard_normal((2, 3)) * 1e-3
    with pytest.raises(AssertionError) as info:
        testing.assert_pair_gradients(lambda x: (np.sin(1e4 * x), x),
                                      lambda d, x: 1e4 * np.cos(1e4 * x) * d * (1 + 4e-5),
                                      {"x": x})
    assert "not the backward pass" not in str(info.value)


def test_a_wrong_gradient_given_as_a_list_is_judged():
    x = np.random.default_rng(0).standard_normal((2, 3))
    with pytest.raises(AssertionError, match="the gradient of 'x' is off"):
        testing.assert_pair_gradients(F.tanh_forward,
                                      lambda d, c: (2 * F.tanh_backward(d, c)).tolist(), {"x": x})


@pytest.mark.parametrize(("factor", "said"), [(-1.0, "times -1 in every entry"),
                                              (0.5, r"times 0.5 in every entry: right in "
                                                    r"direction, off by a factor \(a mean"),
                                              (2.0, r"times 2 in every entry: right in "
                                                    r"direction, off by a factor \(a gradient "
                                                    r"added twice"),
                                              (0.0, "about 0 in every entry")])
def test_a_gradient_that_is_a_multiple_of_the_differences_is_said_to_be(factor, said):
    square = (lambda x: (x * x, x), lambda d, x: factor * 2 * x * d)
    x = np.random.default_rng(0).standard_normal((3, 2))
    with pytest.raises(AssertionError, match=said):
        testing.assert_pair_gradients(*square, {"x": x})


class _OneScale(layers.Layer):
    """out = x * s, ``s`` of one entry; its backward pass gives ``factor`` times the gradient
    of ``s`` (a custom layer of one feature, where hypothesis shrinks a failing draw)."""

    def __init__(self, factor):
        super().__init__()
        self._add_param("s", np.array([0.7]), "float64")
        self.factor = factor

    def forward(self, x):
        self._cache = x
        return x * self.params["s"]

    def backward(self, dout, input_grad=True):
        self._accumulate(s=self.factor * (dout * self._need_cache()).sum(axis=0))
        return dout * self.params["s"]


@pytest.mark.parametrize(("factor", "said"), [(-1.0, r"the gradient of 's' is the differences' "
                                                     r"times -1 in every entry: right in size, "
                                                     r"of the wrong sign"),
                                              (0.0, r"the gradient of 's' is about 0 in every "
                                                    r"entry, its differences are not: nothing "
                                                    r"reached the gradient")])
def test_a_one_entry_gradient_of_the_wrong_sign_or_zero_is_said_to_be(factor, said):
    """One entry supports these two: its sign and 0 (hypothesis shrinks a custom layer to one
    feature, and the hint was lost there)."""
    x = np.random.default_rng(0).standard_normal((4, 1))
    with pytest.raises(AssertionError, match=said):
        testing.assert_layer_gradients(_OneScale(factor), x, rng=np.random.default_rng(1))


@pytest.mark.parametrize("factor", [0.25, 2.0])
def test_a_one_entry_gradient_off_by_another_ratio_is_said_as_a_ratio_not_a_cause(factor):
    """Any wrong value of one entry is some multiple of the right one: 0.25 there is no
    evidence of a mean over another count, so the message gives the entry's ratio (where
    hypothesis shrinks a doubled gradient to one entry, 2 is the clue) without calling it a
    factor of every entry, and says how to tell."""
    x = np.random.default_rng(0).standard_normal((4, 1))
    with pytest.raises(AssertionError, match="the gradient of 's' is off") as info:
        testing.assert_layer_gradients(_OneScale(factor), x, rng=np.random.default_rng(1))
    said = str(info.value)
    assert f"its one nonzero entry is the differences' times {factor:g}. " in said
    assert "names no cause" in said and "in every entry" not in said


def test_a_bias_gradient_left_out_of_accumulate_is_said_to_be():
    class NoBiasGradient(layers.Dense):
        def backward(self, dout, input_grad=True):
            x = self._need_cache()[0]
            self._accumulate(W=x.T @ dout)
            return dout @ self.params["W"].T

    rng = np.random.default_rng(0)
    layer = NoBiasGradient(3, 4, rng=rng, dtype="float64")
    with pytest.raises(AssertionError, match=r"the gradient of 'b' is about 0 in every entry.*"
                                             r"a parameter's gradient never given to _accumulate"):
        testing.assert_layer_gradients(layer, rng.standard_normal((5, 3)), rng=rng)


def test_a_layer_that_writes_its_grads_while_frozen_fails_its_check():
    """A backward pass that adds to ``grads`` itself ignores ``freeze()``: the G step runs D
    frozen and D's grads took the G step's gradient. Its gradients are right, so only the
    frozen pass tells it; a layer that adds through ``_accumulate`` passes, and the check
    leaves the layer unfrozen with its grads as the checked pass left them."""

    class Scale(layers.Layer):
        def __init__(self, n, through_accumulate):
            super().__init__()
            self._add_param("s", np.linspace(0.5, 1.5, n), "float64")
            self.through_accumulate = through_accumulate

        def forward(self, x):
            self._cache = x
            return x * self.params["s"]

        def backward(self, dout):
            x = self._need_cache()
            if self.through_accumulate:
                self._accumulate(s=(dout * x).sum(axis=0))
            else:
                self.grads["s"] += (dout * x).sum(axis=0)
            return dout * self.params["s"]

    x = np.random.default_rng(0).standard_normal((4, 3))
    right = Scale(3, through_accumulate=True)
    testing.assert_layer_gradients(right, x, rng=np.random.default_rng(1))
    assert gradcheck.check_frozen(right, x) == [] and not right.frozen
    wrong = Scale(3, through_accumulate=False)
    with pytest.raises(AssertionError, match="frozen, it still wrote the gradient of 's'"):
        testing.assert_layer_gradients(wrong, x, rng=np.random.default_rng(1))
    before = wrong.grads["s"].copy()
    assert gradcheck.check_frozen(wrong, x) == ["s"]
    np.testing.assert_array_equal(wrong.grads["s"], before)
    assert not wrong.frozen


class _Cube(layers.Layer):
    """out = x**3, with a backward pass that ``bug`` spoils: "in_place" squares the cached
    input into itself, "float32" returns dx in float32, "dout" scales dout in place."""

    def __init__(self, bug):
        super().__init__()
        self.bug = bug

    def forward(self, x):
        self._cache = x
        return x ** 3

    def backward(self, dout, input_grad=True):
        x = self._need_cache()
        if self.bug == "in_place":
            np.multiply(x, x, out=x)
            return 3 * dout * x
        if self.bug == "dout":
            dout *= 3
            return dout * x * x
        if self.bug == "both":
            np.multiply(x, x, out=x)
            dout *= 3
            return dout * x
        return (3 * dout * x * x).astype(np.float32)


def test_a_backward_pass_writing_into_its_cached_input_is_said_to_and_x_is_put_back():
    """It was blamed on state that replay() does not put back (the next forward pass saw the
    squared input), and the caller's x stayed squared."""
    x = np.random.default_rng(0).standard_normal((3, 2))
    kept = x.copy()
    with pytest.raises(ValueError, match=r"_Cube\(\): its backward pass wrote into its input "
                                         r"x, which its forward pass kept in its cache"):
        testing.assert_layer_gradients(_Cube("in_place"), x)
    assert np.array_equal(x, kept)


def test_a_backward_pass_writing_into_dout_is_refused():
    """Its gradients are right, and it passed; but a residual block of it, dout +
    inner.backward(dout), adds the changed dout."""
    x = np.random.default_rng(0).standard_normal((3, 2))
    with pytest.raises(ValueError, match=r"_Cube\(\): its backward pass wrote into dout, the "
                                         r"gradient it was given; a layer that hands the same"):
        testing.assert_layer_gradients(_Cube("dout"), x)
    kept = x.copy()
    with pytest.raises(ValueError, match=r"wrote into its input x"):  # and into dout: x put back
        testing.assert_layer_gradients(_Cube("both"), x)
    assert np.array_equal(x, kept)


def test_a_0_d_input_keeps_its_shape():
    """A 0-d array (a learned scalar) was made (1,) by the check, which then blamed the
    backward pass's correct () gradient for its shape."""
    def forward(x, beta):
        s = 1 / (1 + np.exp(-beta * x))
        return x * s, (x, s, beta)

    def backward(dout, cache):
        x, s, beta = cache
        return dout * (s + beta * x * s * (1 - s)), (dout * x * x * s * (1 - s)).sum()

    r = np.random.default_rng(0)
    testing.assert_pair_gradients(forward, backward, {"x": r.standard_normal((3, 4)),
                                                      "beta": np.array(1.3)}, rng=r)


def test_a_float32_input_gradient_is_refused():
    """A cast in the backward pass lost digits below the check's tolerance (relative error
    about 1e-8): it passed."""
    x = np.random.default_rng(0).standard_normal((3, 2))
    with pytest.raises(ValueError, match=r"its backward pass returned dx in float32 for an input "
                                         r"x in float64; compute dx in x's dtype"):
        testing.assert_layer_gradients(_Cube("float32"), x)


class _Step(layers.Layer):
    """out = x + 0.5 [x > 0.5]: a jump at 0.5 that the class does not name in ``kinks``; its
    backward pass is right away from it."""

    def forward(self, x):
        self._cache = x
        return x + 0.5 * (x > 0.5)

    def backward(self, dout, input_grad=True):
        return dout.copy()


def test_a_kink_the_layer_does_not_name_is_said_to_need_its_kinks():
    """The advice was away_from_kinks and min_kink_distance, which know nothing of it: the
    first moves ReLU's 0 unless told, the second returns inf for the layer."""
    x = np.array([[0.5, -1.0], [2.0, 0.3]])
    with pytest.raises(AssertionError, match=r"on or near a kink.*a kink no layer names: where it "
                                             r"is one of the layer's own .* kinks = \(\.\.\.\)") \
            as info:
        testing.assert_layer_gradients(_Step(), x)
    assert "x[0, 0]" in str(info.value)
    ReLUish = type("ReLUish", (layers.ReLU,), {})         # a named kink: the usual hint alone
    with pytest.raises(AssertionError, match=r"on or near a kink") as info:
        testing.assert_layer_gradients(ReLUish(), np.array([[0.0, 1.0]]))
    assert "no layer names" not in str(info.value)


class _Centre(layers.Layer):
    """out = x * r, r a running mean of the inputs that the forward pass moves after reading
    it; with ``stale``, the backward pass reads the moved buffer where the value the forward
    pass used (kept in its cache) belongs."""

    def __init__(self, stale):
        super().__init__()
        self.buffers["r"] = np.ones(2)
        self.stale = stale

    def forward(self, x):
        used = self.buffers["r"].copy()
        self.buffers["r"] = 0.5 * used + 0.5 * x.mean(axis=0)
        self._cache = (x, used)
        return x * used

    def backward(self, dout, input_grad=True):
        x, used = self._need_cache()
        return dout * (self.buffers["r"] if self.stale else used)


def test_a_backward_pass_reading_a_moved_buffer_is_pointed_at_the_buffers():
    """The failure said only that dx was off; the checker's own docstring names this bug."""
    x = np.random.default_rng(0).standard_normal((4, 2)) + 3
    testing.assert_layer_gradients(_Centre(stale=False), x)
    with pytest.raises(AssertionError, match=r"its backward pass reads the buffers 'r', which its "
                                             r"forward pass moved .* reads those from its cache"):
        testing.assert_layer_gradients(_Centre(stale=True), x)

    class Wrong(_Centre):                # off for another reason: no word of the buffers
        def backward(self, dout, input_grad=True):
            return dout * self._need_cache()[1] + 0.01 * self._cache[0]

    layer = Wrong(stale=False)
    with pytest.raises(AssertionError, match="the gradient of 'x' is off") as info:
        testing.assert_layer_gradients(layer, x)
    assert "buffers" not in str(info.value)
    np.testing.assert_array_equal(layer._cache[1], np.ones(2))   # the checked pass's cache


def test_a_gradient_that_is_zero_by_construction_says_how_to_check_the_layer():
    """A bias before batch norm in training mode: its exact gradient is 0 and both sides are
    rounding noise, which the message said, without a way to check the layer at all."""
    rng = np.random.default_rng(0)
    net = layers.Sequential(layers.Dense(3, 4, dtype="float64", rng=rng),
                            layers.BatchNorm1d(4, dtype="float64"))
    with pytest.raises(AssertionError, match=r"'0.b' are at the differences' rounding noise .*"
                                             r"check the layer without that parameter "
                                             r"\(bias=False before a batch norm"):
        testing.assert_layer_gradients(net, rng.standard_normal((6, 3)), rng)
    net = layers.Sequential(layers.Dense(3, 4, bias=False, dtype="float64", rng=rng),
                            layers.BatchNorm1d(4, dtype="float64"))
    testing.assert_layer_gradients(net, rng.standard_normal((6, 3)), rng)     # as advised
