"""Layers: gradients through check_layer, accumulation, modes, freezing, state."""

import re

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan import backend
from minigan.check import testing
from minigan.check.testing import min_kink_distance
from minigan.nn import layers, optim

seeds = testing.seeds()


@given(n=st.integers(1, 5), d_in=st.integers(1, 6), d_out=st.integers(1, 6),
       bias=st.booleans(), init=st.sampled_from(["xavier_normal", "xavier_uniform", "he_normal"]),
       seed=seeds)
def test_dense_layer_gradients(n, d_in, d_out, bias, init, seed):
    r = np.random.default_rng(seed)
    layer = layers.Dense(d_in, d_out, weight_init=init, bias=bias, rng=r, dtype="float64")
    assert set(layer.params) == set(layer.grads) == ({"W", "b"} if bias else {"W"})
    testing.assert_layer_gradients(layer, r.standard_normal((n, d_in)), rng=r)


@given(n=st.integers(1, 4), hidden=st.integers(1, 6), slope=st.floats(0.01, 0.5),
       head=st.sampled_from([layers.Tanh, layers.Sigmoid, layers.ReLU]), seed=seeds)
def test_sequential_mlp_gradients(n, hidden, slope, head, seed):
    r = np.random.default_rng(seed)
    net = layers.Sequential(
        layers.Dense(3, hidden, rng=r, dtype="float64"), layers.LeakyReLU(slope),
        layers.Dense(hidden, 2, rng=r, dtype="float64"), head(),
    )
    x = r.standard_normal((n, 3))
    assume(min_kink_distance(net, x) > 1e-3)
    errors = testing.assert_layer_gradients(net, x, rng=r)   # 0.b's differences can miss
    assert set(errors) == {"x", "0.W", "0.b", "2.W", "2.b"}   # by their truncation (seed 8215)


def test_params_and_grads_share_keys_and_shapes():
    net = layers.Sequential(layers.Dense(4, 3), layers.ReLU(), layers.Dense(3, 1))
    assert list(net.params) == list(net.grads) == ["0.W", "0.b", "2.W", "2.b"]
    for k in net.params:
        assert net.params[k].shape == net.grads[k].shape
        assert net.params[k].dtype == np.float32
    assert net.num_params() == 4 * 3 + 3 + 3 + 1


def test_sequential_state_dicts_are_read_only():
    """A Sequential's params, grads and buffers are derived from its layers: assigning
    to them raises instead of being silently dropped."""
    net = layers.Sequential(layers.Dense(4, 3), layers.BatchNorm(3))
    for attr in ("params", "grads", "buffers"):
        with pytest.raises(AttributeError):
            setattr(net, attr, {})
    assert set(net.buffers) == {"1.running_mean", "1.running_var"}


def test_gradients_accumulate_until_zero_grad():
    r = np.random.default_rng(0)
    layer = layers.Dense(3, 2, rng=r, dtype="float64")
    x1, x2 = r.standard_normal((4, 3)), r.standard_normal((5, 3))
    d1, d2 = r.standard_normal((4, 2)), r.standard_normal((5, 2))
    layer.forward(x1)
    layer.backward(d1)
    layer.forward(x2)
    layer.backward(d2)
    np.testing.assert_allclose(layer.grads["W"], x1.T @ d1 + x2.T @ d2, rtol=1e-13)
    np.testing.assert_allclose(layer.grads["b"], d1.sum(0) + d2.sum(0), rtol=1e-13)
    layer.zero_grad()
    assert not layer.grads["W"].any() and not layer.grads["b"].any()


@pytest.mark.parametrize("make", [lambda r: layers.Dense(3, 2, rng=r),
                                  lambda r: layers.Conv2d(3, 2, 3, padding=1, rng=r)])
def test_an_input_of_another_dtype_than_the_layers_is_refused_at_its_backward_pass(make):
    """A float32 layer given float64 input computed in float64 and added its float64
    gradients into the float32 ones without a word: the GAN refuses such a batch, a layer
    called by hand did not."""
    r = np.random.default_rng(0)
    layer = make(r)
    x = r.standard_normal((2, 3) if isinstance(layer, layers.Dense) else (2, 3, 4, 4))
    out = layer.forward(x)
    with pytest.raises(ValueError, match=r"the gradient of 'W' is float64, its parameter "
                                         r"float32, .*give x.astype\(np.float32\)"):
        layer.backward(np.ones_like(out))
    assert not any(g.any() for g in layer.grads.values())      # nothing added
    layer.backward(np.ones_like(layer.forward(x.astype(np.float32))))
    assert layer.grads["W"].any()


def test_a_bad_gradient_refused_leaves_the_others_of_the_call_unadded():
    layer = layers.Dense(3, 2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="the gradient of 'b' has shape"):
        layer._accumulate(W=np.ones((3, 2), np.float32), b=np.ones(3, np.float32))
    assert not layer.grads["W"].any()


def test_frozen_layer_passes_gradient_but_keeps_its_grads():
    r = np.random.default_rng(1)
    net = layers.Sequential(layers.Dense(3, 4, rng=r), layers.ReLU(), layers.Dense(4, 1, rng=r))
    x = r.standard_normal((5, 3)).astype(np.float32)
    net.forward(x)
    dx_live = net.backward(np.ones((5, 1), np.float32))
    before = {k: g.copy() for k, g in net.grads.items()}
    net.freeze()
    net.forward(x)
    dx_frozen = net.backward(np.ones((5, 1), np.float32))
    np.testing.assert_array_equal(dx_frozen, dx_live)
    for k in before:
        np.testing.assert_array_equal(net.grads[k], before[k])
    net.freeze(False)
    net.forward(x)
    net.backward(np.ones((5, 1), np.float32))
    np.testing.assert_allclose(net.grads["0.W"], 2 * before["0.W"], rtol=1e-6)


class Wrapped(layers.Layer):
    """A layer of one's own made of another, passing freeze() on without naming it in
    sublayers()."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def freeze(self, frozen=True):
        self.inner.freeze(frozen)
        return super().freeze(frozen)


def test_freezing_puts_back_every_layer_as_it_was():
    """``with D.freezing():`` (the G step) leaves a layer frozen by the user frozen and the
    others not, also inside a layer that reaches its parts through its own freeze() only
    (the block's end once left those frozen for good: that D stopped learning)."""
    r = np.random.default_rng(1)
    net = layers.Sequential(layers.Dense(3, 4, rng=r), layers.Dense(4, 1, rng=r))
    net.layers[0].freeze()                                   # the user's
    with net.freezing():
        assert all(layer.frozen for layer in net.walk())
    assert [layer.frozen for layer in net.walk()] == [False, True, False]
    wrapped = Wrapped(layers.Sequential(layers.Dense(3, 4, rng=r)))
    with wrapped.freezing():
        assert wrapped.inner.layers[0].frozen
    assert not wrapped.frozen and not wrapped.inner.frozen
    assert not wrapped.inner.layers[0].frozen


def test_train_eval_propagate():
    net = layers.Sequential(layers.Dense(2, 2), layers.Dropout(0.5))
    net.eval()
    assert not net.training and not net[1].training
    net.train()
    assert net[1].training


class Residual(layers.Layer):
    """A layer of one's own made of others, as the docs say: it names them in sublayers()
    and holds their parameters and buffers in its own dicts, nothing more."""

    def __init__(self, *inner):
        super().__init__()
        self.inner = layers.Sequential(*inner)
        self.params, self.grads = self.inner.params, self.inner.grads
        self.buffers = self.inner.buffers

    def sublayers(self):
        return (self.inner,)

    def forward(self, x):
        return x + self.inner.forward(x)

    def backward(self, dout, input_grad=True):
        return dout + self.inner.backward(dout)


def test_a_layer_of_one_s_own_made_of_others_passes_on_its_mode():
    """train() and eval() reach every layer named in sublayers(), as freeze() does: a
    residual block of one's own kept its batch norm in training mode after eval(), and the
    samples of an evaluated G used batch statistics (and moved the running ones)."""
    r = np.random.default_rng(0)
    G = layers.Sequential(layers.Dense(4, 8, rng=r),
                          Residual(layers.Dense(8, 8, rng=r), layers.BatchNorm(8)),
                          layers.Dense(8, 2, rng=r))
    G.eval()
    assert not any(layer.training for layer in G.walk())
    z = r.standard_normal((16, 4))
    np.testing.assert_allclose(G.forward(z)[:3], G.forward(z[:3]), rtol=1e-12)  # running stats
    with G.evaluating():
        pass
    assert not any(layer.training for layer in G.walk())
    G.train()
    assert all(layer.training for layer in G.walk())


def test_evaluating_puts_back_each_layer_s_own_mode():
    """A batch norm kept in evaluation mode by the user stays so after ``evaluating()``
    (the block's end set every layer to the outer layer's mode)."""
    net = layers.Sequential(layers.Dense(2, 2), layers.BatchNorm(2), layers.Dropout(0.5))
    net[1].eval()
    with net.evaluating():
        assert not any(layer.training for layer in net.walk())
    assert [layer.training for layer in net.walk()] == [True, True, False, True]


@pytest.mark.parametrize("start", [True, False])
def test_evaluating_restores_the_mode_it_found(start):
    net = layers.Sequential(layers.Dense(2, 2), layers.BatchNorm(2)).train(start)
    with net.evaluating() as inside:
        assert inside is net and not net.training and not net[1].training
    assert net.training == start and net[1].training == start
    with pytest.raises(RuntimeError), net.evaluating():
        raise RuntimeError("the block fails")
    assert net.training == start and net[1].training == start


def test_dropout_train_and_eval():
    r = np.random.default_rng(3)
    drop = layers.Dropout(0.25, rng=r)
    x = np.ones((200, 50), np.float32)
    out = drop.forward(x)
    kept = out != 0
    assert 0.70 < kept.mean() < 0.80                       # about 1 - p kept
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)  # inverted scaling
    dx = drop.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx != 0, kept)            # same mask backward
    drop.eval()
    np.testing.assert_array_equal(drop.forward(x), x)
    for p in (1.0, float("nan"), None, "0.5"):       # not a TypeError of float() for None
        with pytest.raises(ValueError, match=r"Dropout: p must be a number in \[0, 1\)"):
            layers.Dropout(p)


def test_same_seed_same_dropout_mask():
    x = np.ones((4, 6))
    a = layers.Dropout(0.5, rng=np.random.default_rng(7)).forward(x)
    b = layers.Dropout(0.5, rng=np.random.default_rng(7)).forward(x)
    np.testing.assert_array_equal(a, b)


def test_a_dropout_given_a_seed_for_its_generator_is_refused_when_built():
    """Dropout(0.5, rng=0) was built, and failed at its first training pass, inside a model
    already training, with "rng must be a numpy.random.Generator"."""
    with pytest.raises(TypeError, match=r"^rng must be a numpy.random.Generator or None, got 0: "
                                        r"for a seed, pass numpy.random.default_rng\(0\)$"):
        layers.Dropout(0.5, rng=0)
    assert layers.Dropout(0.5).rng is None                          # the library's, at each pass


def test_flatten_and_reshape_round_trip():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    flat = layers.Flatten()
    y = flat.forward(x)
    assert y.shape == (2, 60)
    assert flat.backward(y).shape == x.shape
    rs = layers.Reshape((3, 20))
    z = rs.forward(y)
    assert z.shape == (2, 3, 20)
    np.testing.assert_array_equal(rs.backward(z), y)
    with pytest.raises(ValueError, match=r"Reshape\(\(7, 7\)\): cannot reshape input of shape \(2, 60\)"):
        layers.Reshape((7, 7)).forward(y)
    with pytest.raises(ValueError, match=r"^Reshape: shape must be a tuple of sizes, .*got 7$"):
        layers.Reshape(7)                        # "'int' object is not iterable"


def test_dense_rejects_wrong_input_shape():
    with pytest.raises(ValueError, match=r"Dense\(4, 2\): expected input of shape \(N, 4\), got \(3, 5\)"):
        layers.Dense(4, 2).forward(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="in_features must be >= 1, a whole number"):
        layers.Dense(0, 2)


def test_one_layer_in_two_places_of_a_chain_is_an_error():
    """A layer keeps the cache of its last forward pass: the same activation at two places
    back-propagated the first place's gradient through the second's inputs, without a word."""
    act = layers.Tanh()
    with pytest.raises(ValueError, match=r"item 3 holds Tanh\(\), the same object as item 1"):
        layers.Sequential(layers.Dense(3, 3), act, layers.Dense(3, 3), act)
    block = layers.Sequential(layers.Dense(3, 3), layers.ReLU())
    with pytest.raises(ValueError, match="the same object as item 0"):
        layers.Sequential(block, block)


@pytest.mark.parametrize("make, name, value", [
    (lambda v: layers.Dense(v, 3), "Dense: in_features", 2.5),
    (lambda v: layers.Dense(3, v), "Dense: out_features", True),
    (lambda v: layers.Conv2d(1, v, 3), "Conv2d: out_channels", 1.5),
    (lambda v: layers.BatchNorm(v), "BatchNorm: num_features", 2.5),
    (lambda v: layers.Pack(v), "Pack: m", 2.5),
    (lambda v: layers.MinibatchDiscrimination(4, kernels=v), "MinibatchDiscrimination: kernels", -2),
    (lambda v: layers.MinibatchStdDev(v), "MinibatchStdDev: group_size", 0),
    (lambda v: layers.Reshape((v, 7)), r"Reshape: each size of shape \(-1, 7\)", -1),
    (lambda v: layers.ConditionalGenerator(layers.Dense(2, 2), classes=v),
     "ConditionalGenerator: classes", -1),
])
def test_a_size_that_is_not_a_positive_whole_number_is_refused(make, name, value):
    """int() made 2.5 a 2 and True a 1; a ConditionalGenerator of -1 classes, a group size of
    0 and kernels=0 were taken as given (kernels=-2: NumPy's "negative dimensions")."""
    with pytest.raises(ValueError, match=rf"^{name} must be >= 1, a whole number, "
                                         rf"got {value!r}$"):
        make(value)


@pytest.mark.parametrize("make, words", [
    (lambda: layers.LeakyReLU(float("nan")), "LeakyReLU: slope must be a finite number, got nan"),
    (lambda: layers.BatchNorm(4, momentum=1.5),
     r"BatchNorm: momentum must be a finite number in \[0, 1\], got 1.5"),
    (lambda: layers.BatchNorm(4, momentum=float("nan")),
     r"BatchNorm: momentum must be a finite number in \[0, 1\], got nan"),
    (lambda: layers.BatchNorm(4, eps=-1e-5), "BatchNorm: eps must be a finite number > 0, got -1e-05"),
    (lambda: layers.PixelNorm(eps=-1), "PixelNorm: eps must be a finite number > 0, got -1"),
    (lambda: layers.MinibatchStdDev(eps=float("inf")),
     "MinibatchStdDev: eps must be a finite number > 0, got inf"),
    (lambda: layers.LeakyReLU(True), "LeakyReLU: slope must be a finite number, got True"),
    (lambda: layers.BatchNorm(4, momentum=np.True_),
     r"BatchNorm: momentum must be a finite number in \[0, 1\], got " + re.escape(repr(np.True_))),
    (lambda: layers.BatchNorm(4, eps="1e-5"),
     "BatchNorm: eps must be a finite number > 0, got '1e-5'"),
])
def test_a_constant_out_of_range_is_refused(make, words):
    """A NaN slope made every negative input NaN, a momentum of 1.5 or NaN running statistics
    that evaluation mode then used, a negative eps the square root of a negative variance;
    True was a slope or momentum of 1.0, and a string of digits a number."""
    with pytest.raises(ValueError, match=f"^{words}(: with eps = 0 values that all agree .*)?$"):
        make()


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="backward\\(\\) called before forward\\(\\)"):
        layers.Dense(2, 2).backward(np.zeros((1, 2), np.float32))


def test_a_forward_pass_that_kept_no_cache_is_said_when_backward_needs_it():
    """A layer of one's own whose forward pass forgot self._cache was told that backward came
    before forward, after a forward pass."""
    class Forgetful(layers.Layer):
        def forward(self, x):
            return np.tanh(x)

        def backward(self, dout, input_grad=True):
            return dout * (1 - np.tanh(self._need_cache()) ** 2)

    layer = Forgetful()
    layer.forward(np.ones((1, 2)))
    with pytest.raises(RuntimeError, match=r"Forgetful\(\): .* or after a forward\(\) that "
                                           r"kept nothing for it: .*\(self._cache = x\)"):
        layer.backward(np.ones((1, 2)))


def test_state_dict_round_trip_and_mismatch():
    a = layers.Sequential(layers.Dense(3, 2, rng=np.random.default_rng(0)))
    b = layers.Sequential(layers.Dense(3, 2, rng=np.random.default_rng(1)))
    b.load_state_dict({k: v.copy() for k, v in a.state_dict().items()})
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    c = layers.Sequential(layers.Dense(4, 2))
    with pytest.raises(ValueError, match=r"'0.W' has shape \(3, 2\) in the state but \(4, 2\)"):
        c.load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match="missing keys"):
        c.load_state_dict({})


@pytest.mark.parametrize("state", ["model.npz", [("W", np.zeros((3, 2)))], None])
def test_a_state_that_is_not_a_mapping_is_refused_saying_what_to_give(state, tmp_path):
    """A path failed with "unexpected keys ['.', 'a', 'd', ...]" (its letters), a list of pairs
    with "unexpected keys [('W', ...)]" and None with "'NoneType' object is not iterable"; the
    archive of ``numpy.savez(path, **state_dict())`` loads as it is."""
    model = layers.Sequential(layers.Dense(3, 2, rng=np.random.default_rng(0)))
    with pytest.raises(TypeError, match=r"^Sequential: load_state_dict takes a mapping of names "
                                        r"to arrays, as state_dict\(\) gives .*numpy.load\(path\)"
                                        rf"\), got {type(state).__name__}$"):
        model.load_state_dict(state)
    np.savez(tmp_path / "model.npz", **model.state_dict())
    other = layers.Sequential(layers.Dense(3, 2, rng=np.random.default_rng(1)))
    with np.load(tmp_path / "model.npz") as archive:
        other.load_state_dict(archive)
    np.testing.assert_array_equal(other.params["0.W"], model.params["0.W"])


@pytest.mark.parametrize("dtype", ["float16", "int64", int, "uint8"])
@pytest.mark.parametrize("make", [lambda d: layers.Dense(2, 3, dtype=d),
                                  lambda d: layers.Conv2d(1, 2, 3, dtype=d),
                                  lambda d: layers.BatchNorm(3, dtype=d)])
def test_a_parameter_dtype_other_than_float32_or_float64_is_refused(make, dtype):
    with pytest.raises(ValueError, match=r"^(Dense|Conv2d|BatchNorm): dtype must be float32 or "
                                         r"float64, got (float16|int64|uint8)$"):
        make(dtype)       # int weights cannot take an optimizer's step; float16 loses them


def test_a_state_that_does_not_fit_leaves_the_model_as_it_was():
    r = np.random.default_rng(0)
    model = layers.Sequential(layers.Dense(2, 8, rng=r), layers.ReLU(), layers.Dense(8, 2, rng=r))
    other = layers.Sequential(layers.Dense(2, 8, rng=r), layers.ReLU(), layers.Dense(8, 3, rng=r))
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"'2.W' has shape \(8, 3\) in the state but \(8, 2\)"):
        model.load_state_dict(other.state_dict())      # its first layer fits, its last does not
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


@pytest.mark.parametrize("key, value", [("2.W", np.nan), ("0.b", -np.inf),
                                        ("1.running_var", np.nan), ("0.W", 1e39)])
def test_a_state_of_nan_or_overflowing_values_is_refused_and_nothing_loaded(key, value):
    """A diverged run's weights were copied in without a word, and every output after was
    NaN; a float64 state beyond float32's range became infinities in the cast (and is said as
    such: it holds no NaN or inf itself)."""
    r = np.random.default_rng(0)
    model = layers.Sequential(layers.Dense(2, 8, rng=r), layers.BatchNorm(8),
                              layers.Dense(8, 2, rng=r))
    before = {k: v.copy() for k, v in model.state_dict().items()}
    state = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    state[key].flat[0] = value
    said = (r"holds values beyond float32's range \(up to 1e\+39\)" if value == 1e39
            else r"holds NaN or inf \(in float32\)")
    with pytest.raises(layers.StateError, match=rf"^Sequential: state '{key}' {said}; nothing "
                                                rf"was loaded$"):
        model.load_state_dict(state)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    assert optim.StateError is layers.StateError      # one error for every state's values


@pytest.mark.parametrize("value, got", [(np.zeros((2, 3)), r"\(2, 3\)"), (0.0, r"\(\)")])
def test_an_initializer_that_gives_another_shape_is_an_error(value, got):
    """A Dense(3, 2) whose W came out (2, 3), or a number, was built without a word and
    failed later, at its first input, naming a width it was never given."""
    def custom(shape, fans, rng):
        return value

    with pytest.raises(ValueError, match=rf"^Dense: weight_init custom gave an array of shape "
                                         rf"{got} for a weight of shape \(3, 2\)"):
        layers.Dense(3, 2, weight_init=custom)


@pytest.mark.gpu
def test_a_state_beyond_the_dtype_s_range_is_said_so_on_the_gpu(gpu_device):
    """The array's values are read where they are (a device state into a model on the GPU):
    NaN is NaN, and float64 1e39 for a float32 layer is too large, not a NaN or an inf."""
    backend.use("gpu")
    layer = layers.Dense(2, 3, rng=np.random.default_rng(0))
    state = {k: backend.asarray(backend.to_host(v).astype(np.float64))
             for k, v in layer.state_dict().items()}
    state["W"][0, 0] = 1e39
    with pytest.raises(layers.StateError, match=r"^Dense: state 'W' holds values beyond "
                                                r"float32's range \(up to 1e\+39\); nothing"):
        layer.load_state_dict(state)
    state["W"][0, 0] = np.nan
    with pytest.raises(layers.StateError, match=r"^Dense: state 'W' holds NaN or inf"):
        layer.load_state_dict(state)


@pytest.mark.parametrize("value, dtype", [(np.nan, "float64"), (np.inf, "float64"),
                                          (1e39, "float32")])
@pytest.mark.parametrize("make", [lambda init, dtype: layers.Dense(3, 2, weight_init=init,
                                                                   dtype=dtype),
                                  lambda init, dtype: layers.Conv2d(1, 2, 3, weight_init=init,
                                                                    dtype=dtype)])
def test_an_initializer_that_gives_weights_that_are_not_finite_is_an_error(make, value, dtype):
    """NaN weights (or 1e39, infinite in float32) were taken, and the first forward pass gave
    NaN outputs without a word."""
    def custom(shape, fans, rng):
        return np.full(shape, value)

    with pytest.raises(ValueError, match=rf"^(Dense|Conv2d): weight_init custom gave NaN or "
                                         rf"infinite weights \(in {dtype}\)"), \
            np.errstate(over="ignore"):                    # NumPy's warning of the cast
        make(custom, dtype)

def test_weight_init_by_name_and_callable():
    def ones(shape, fans, rng):
        return np.ones(shape)

    layer = layers.Dense(3, 2, weight_init=ones)
    np.testing.assert_array_equal(layer.params["W"], np.ones((3, 2)))
    with pytest.raises(ValueError, match="unknown weight_init 'nope'"):
        layers.Dense(3, 2, weight_init="nope")


def test_input_grad_false_skips_only_the_input_gradient():
    """The first layer of a network fed with data or noise need not compute dL/dx."""
    r = np.random.default_rng(4)
    x = r.standard_normal((3, 1, 8, 8))
    nets = []
    for _ in range(2):
        rr = np.random.default_rng(5)
        nets.append(layers.Sequential(
            layers.Conv2d(1, 2, 3, stride=2, padding=1, rng=rr, dtype="float64"), layers.ReLU(),
            layers.Flatten(), layers.Dense(32, 4, rng=rr, dtype="float64"), layers.Tanh(),
            layers.Reshape((1, 2, 2)),
            layers.ConvTranspose2d(1, 1, 2, stride=2, rng=rr, dtype="float64"),
        ))
    dout = r.standard_normal((3, 1, 4, 4))
    full, skip = nets
    full.forward(x)
    dx = full.backward(dout)
    skip.forward(x)
    assert skip.backward(dout, input_grad=False) is None
    assert dx.shape == x.shape
    for k in full.grads:
        np.testing.assert_array_equal(skip.grads[k], full.grads[k], err_msg=k)
    # each layer on its own, first in the chain or not
    for layer, inp in ((layers.Dense(4, 3, dtype="float64"), r.standard_normal((2, 4))),
                       (layers.ConvTranspose2d(2, 1, 3, dtype="float64"),
                        r.standard_normal((2, 2, 3, 3)))):
        out = layer.forward(inp)
        assert layer.backward(np.ones_like(out), input_grad=False) is None
        assert any(g.any() for g in layer.grads.values())


def test_a_layer_whose_init_forgets_super_init_is_told_so():
    """A layer of one's own that sets its parameters without ``super().__init__()`` met a
    bare ``AttributeError: ... 'grads'`` at its first ``_add_param``; the error says what to
    call. Other missing attributes, and those of a layer set up as it should be, keep
    Python's own message."""
    class Scale(layers.Layer):
        def __init__(self):
            self._add_param("a", np.ones(3), "float64")

    with pytest.raises(AttributeError, match=r"^Scale has no attribute 'params'.*does not call "
                       r"super\(\).__init__\(\)"):
        Scale()
    relu = layers.ReLU()
    with pytest.raises(AttributeError, match=r"^'ReLU' object has no attribute 'weights'$"):
        _ = relu.weights
    assert not hasattr(relu, "weights") and relu.params == {}
    seq = layers.Sequential(layers.Dense(2, 2))
    with pytest.raises(AttributeError, match=r"^'Sequential' object has no attribute 'nope'$"):
        _ = seq.nope


@pytest.mark.parametrize("make", [lambda: layers.Dense(2, 3), lambda: layers.Conv2d(1, 2, 3),
                                  lambda: layers.BatchNorm(2), lambda: layers.PixelNorm(),
                                  layers.ReLU, layers.LeakyReLU, layers.Tanh, layers.Sigmoid,
                                  layers.Dropout, lambda: layers.ConvTranspose2d(1, 2, 3),
                                  lambda: layers.MinibatchStdDev(), lambda: layers.Pack(2),
                                  lambda: layers.Dropout(0.0), layers.Flatten,
                                  lambda: layers.Reshape((2,))])
def test_a_list_given_as_input_is_named(make):
    """A list failed with "'list' object has no attribute 'ndim'" (or 'shape', 'dtype'),
    deep in the op or in the layer's own forward pass; Tanh and Sigmoid took it (NumPy's
    functions read lists) where the layers around them refused it."""
    layer = make()
    with pytest.raises(TypeError, match=rf"^{re.escape(repr(layer))}: the input is a list, not an "
                                        r"array; give a NumPy array .*np.asarray\(x, "):
        layer.forward([[0.1, 0.2]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_list_given_as_input_is_told_the_layer_s_own_dtype(dtype):
    """The advice said np.asarray(x, dtype=np.float32) to a float64 layer too."""
    with pytest.raises(TypeError, match=rf"np.asarray\(x, dtype=np.{dtype}\)$"):
        layers.Sequential(layers.Dense(2, 3, dtype=dtype), layers.ReLU()).forward([[0.1, 0.2]])


def test_a_chain_refuses_a_layer_whose_backward_takes_no_input_grad():
    """backward(self, dout) of one's own failed at the chain's first backward pass with
    "got an unexpected keyword argument 'input_grad'"."""

    class Twice(layers.Layer):
        def forward(self, x):
            return 2 * x

        def backward(self, dout):
            return 2 * dout

    with pytest.raises(TypeError, match=r"^Sequential: item 1, Twice, has backward\(dout\), "
                                        r"without input_grad, .*backward\(self, dout, "
                                        r"input_grad=True\)"):
        layers.Sequential(layers.Dense(2, 2), Twice())

    class Kept(Twice):
        def backward(self, dout, **kw):        # takes it
            return 2 * dout

    x = np.ones((1, 2), np.float32)
    chain = layers.Sequential(layers.Dense(2, 2), Kept())
    chain.forward(x)
    assert chain.backward(np.ones((1, 2), np.float32)).shape == (1, 2)


def test_a_layer_of_ones_own_without_its_passes_or_its_gradients_is_told_what_to_write():
    """A bare NotImplementedError() for a missing pass; a KeyError: 's' from parameters()
    (where the optimizers and the gradient checks start) for a parameter put into params by
    hand."""
    class NoPasses(layers.Layer):
        pass

    with pytest.raises(NotImplementedError, match=r"NoPasses defines no forward\(self, x\)"):
        NoPasses().forward(np.ones(2))
    with pytest.raises(NotImplementedError, match=r"NoPasses defines no backward\(self, dout, "
                                                  r"input_grad=True\).*self._accumulate"):
        NoPasses().backward(np.ones(2))

    class ByHand(layers.Layer):
        def __init__(self):
            super().__init__()
            self.params["s"] = np.ones(4)

    with pytest.raises(KeyError, match=r"parameter 's' has no entry in grads: register it with "
                                       r"self._add_param\('s', value\)"):
        ByHand().parameters()


def test_a_gradient_cast_in_the_backward_pass_is_named_as_a_possible_cause():
    """The message blamed the forward pass's input alone, where x was float64 and the cast
    was in the backward pass."""
    class CastScale(layers.Layer):
        def __init__(self):
            super().__init__()
            self._add_param("s", np.ones(3), "float64")

        def forward(self, x):
            self._cache = x
            return x * self.params["s"]

        def backward(self, dout, input_grad=True):
            self._accumulate(s=(dout * self._cache).astype(np.float32).sum(0))
            return dout * self.params["s"]

    layer = CastScale()
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"the gradient of 's' is float32, its parameter float64, "
                                         r".* or the backward pass casts"):
        layer.backward(np.ones((2, 3)))


def test_a_layer_returning_dx_in_another_dtype_is_named_in_a_chain():
    """A layer of one's own whose backward pass returns a float32 ``dx`` inside a float64
    chain: the Dense layer before it was blamed, its gradient "float32" said to come from an
    input of another dtype, or from its own backward pass."""
    class Halves(layers.Layer):
        def forward(self, x):
            return x

        def backward(self, dout, input_grad=True):
            return dout.astype(np.float32)

    net = layers.Sequential(layers.Dense(3, 4, dtype="float64"), Halves(),
                            layers.Dense(4, 2, dtype="float64"))
    out = net.forward(np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"^Halves\(\): its backward pass returned dx in float32 "
                                         r"from a dout in float64, for an input in float64: a "
                                         r"backward pass returns dx in the dtype of its input"):
        net.backward(np.ones_like(out))
    assert not net.layers[0].grads["W"].any()          # nothing accumulated before it

    class Cast(layers.Layer):            # converts, and its dx is in its input's dtype: taken
        def forward(self, x):
            self._cache = x.dtype
            return x.astype(np.float32)

        def backward(self, dout, input_grad=True):
            return dout.astype(self._cache)

    net = layers.Sequential(Cast(), layers.Dense(3, 2))
    out = net.forward(np.ones((5, 3)))
    assert out.dtype == np.float32 and net.backward(np.ones_like(out)).dtype == np.float64
    labelled = layers.LabelledSequential(layers.Dense(5, 4, dtype="float64"), Halves(),
                                         layers.Dense(6, 2, dtype="float64"), classes=2)
    out = labelled.forward(np.ones((3, 5)))          # the default G's kind of chain too
    with pytest.raises(ValueError, match=r"^Halves\(\): its backward pass returned dx in float32"):
        labelled.backward(np.ones_like(out))


def test_an_entry_assigned_in_a_chains_gathered_dicts_is_refused_saying_what_to_do():
    """``net.params`` is a new dict at each read: ``net.params["0.W"] = zeros`` changed no
    layer, without a word. An array changed in place and put back (``+=``) is taken."""
    net = layers.Sequential(layers.Dense(2, 3, dtype="float64"))
    W = net.layers[0].params["W"]
    for attr in ("params", "grads", "buffers"):
        with pytest.raises(TypeError, match=rf"^a Sequential's {attr} are its layers' gathered "
                                            rf"into a new dict at each read: .*Write into an "
                                            rf"array \(net.{attr}\['0.W'\]\[...\] = value\)"):
            getattr(net, attr)["0.W"] = np.zeros((2, 3))
        with pytest.raises(TypeError, match="changes no layer"):
            getattr(net, attr).update({"0.W": np.zeros((2, 3))})
    import copy
    import pickle

    for copied in (copy.copy(net.params), copy.deepcopy(net.params),
                   pickle.loads(pickle.dumps(net.params))):        # as EMA copies a wrapper
        assert copied.keys() == net.params.keys() and copied.attr == "params"
    before = W.copy()
    params = net.params
    params["0.W"] += 1.0                                 # in place: the layer's own array
    np.testing.assert_array_equal(net.layers[0].params["W"], before + 1.0)
    assert net.layers[0].params["W"] is W


def test_a_parameter_replaced_by_an_array_of_another_dtype_is_named_as_such():
    """``params["W"] = float64 array`` in a float32 layer: the error said the gradient was
    float64 and "its parameter float32", the gradient array's dtype, not the parameter's."""
    dense = layers.Dense(3, 2)
    dense.params["W"] = np.zeros((3, 2))
    out = dense.forward(np.ones((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"^Dense\(3, 2\): parameter 'W' is float64 but its "
                                         r"gradient float32: one of them was replaced by an "
                                         r"array of another dtype; write into it in place"):
        dense.backward(np.ones_like(out))
