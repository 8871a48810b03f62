"""Optimizers against worked examples of their update rules."""

import numpy as np
import pytest

from minigan.nn import layers, optim


def run(opt_cls, grads, **kw):
    p = np.array([1.0, 1.0])
    g = np.zeros(2)
    opt = opt_cls([(p, g)], **kw)
    trajectory = []
    for step_grad in grads:
        g[...] = step_grad
        opt.step()
        trajectory.append(p.copy())
    return np.array(trajectory), opt


def test_adam_worked_example():
    r"""lr 0.1, betas (0.9, 0.999), eps 1e-8, theta_0 = 1, gradients 0.5, -1, 2.

    t=1: m = 0.05,     v = 0.00025,       m^ = 0.5,         v^ = 0.25
         theta = 1 - 0.1 * 0.5 / (0.5 + 1e-8)                       = 0.900000002
    t=2: m = -0.055,   v = 0.00124975,    m^ = -0.055/0.19  = -0.2894736842...
                                          v^ = 0.00124975/0.001999 = 0.6251875938...
         theta = 0.900000002 + 0.1 * 0.2894736842 / 0.7906880508    = 0.9366103542...
    t=3: m = 0.1505,   v = 0.00524850025, m^ = 0.1505/0.271 = 0.5553505535...
                                          v^ = 0.00524850025/0.002997001 = 1.7512507503...
         theta = 0.9366103542 - 0.1 * 0.5553505535 / 1.3233483061   = 0.8946447927...

    The second coordinate gets gradients scaled by -2: Adam's step is invariant
    to the gradient's scale and odd in its sign, so it moves by the same amounts
    the other way.
    """
    g = [0.5, -1.0, 2.0]
    traj, opt = run(optim.Adam, [[x, -2 * x] for x in g], lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    expected = [0.900000002, 0.9366103542405653, 0.8946447927181044]
    np.testing.assert_allclose(traj[:, 0], expected, rtol=1e-10)
    np.testing.assert_allclose(traj[:, 1] - 1, -(np.array(expected) - 1), rtol=1e-6)
    assert opt.t == 3
    np.testing.assert_allclose(opt.m[0][0], 0.1505, rtol=1e-12)
    np.testing.assert_allclose(opt.v[0][0], 0.00524850025, rtol=1e-12)


def test_sgd_momentum_worked_example():
    r"""lr 0.1, momentum 0.9, theta_0 = 1, gradients 0.5, -1, 2.

    u_1 = -0.05,                  theta_1 = 0.95
    u_2 = 0.9(-0.05) + 0.1 = 0.055,   theta_2 = 1.005
    u_3 = 0.9(0.055) - 0.2 = -0.1505, theta_3 = 0.8545
    """
    traj, opt = run(optim.SGD, [[0.5, 0.5], [-1.0, -1.0], [2.0, 2.0]], lr=0.1, momentum=0.9)
    np.testing.assert_allclose(traj[:, 0], [0.95, 1.005, 0.8545], rtol=1e-12)
    np.testing.assert_allclose(opt.u[0], [-0.1505, -0.1505], rtol=1e-12)


@pytest.mark.parametrize("make", [optim.Adam, optim.RMSProp])
def test_an_eps_that_rounds_to_zero_in_the_parameters_dtype_is_refused(make):
    """1e-46 is above 0 but 0 in float32 (and below the smallest normal float32, which a GPU
    flushes to 0): a zero-gradient entry took 0 / 0. Refused for float32 parameters; the same
    eps is a float64 number, taken for float64 ones."""
    p32, g32 = np.ones(3, np.float32), np.array([0.5, 0.0, -0.5], np.float32)
    with pytest.raises(ValueError, match=rf"^{make.__name__}: eps 1e-46 is below the smallest "
                                         r"normal float32 number \(1.17549e-38\)"):
        make([(p32, g32)], lr=0.1, eps=1e-46)
    make([(p32, g32)], lr=0.1, eps=float(np.finfo(np.float32).tiny)).step()
    assert p32[1] == 1.0 and np.isfinite(p32).all()
    make([(np.ones(3), np.zeros(3))], lr=0.1, eps=1e-46)


@pytest.mark.parametrize("make", [optim.Adam, optim.RMSProp])
def test_an_entry_whose_gradients_were_all_zero_stays_put(make):
    """A dead unit's or an unused label's entry (gradient 0 at every step so far) does not
    move, at the smallest eps taken, while its neighbours do."""
    p = np.ones(3)
    g = np.array([0.5, 0.0, -0.5])
    opt = make([(p, g)], lr=0.1, eps=np.finfo(np.float64).tiny)
    for _ in range(3):
        opt.step()
    assert p[1] == 1.0 and p[0] < 1.0 < p[2]


def test_rmsprop_worked_example():
    r"""lr 0.01, alpha 0.9, eps 1e-300 (below the last bit of every root mean square here:
    the figures are those of eps 0), theta_0 = 1, gradients 0.5, -1, 2.

    t=1: s = 0.025,           theta = 1 - 0.01 * 0.5 / sqrt(0.025)  = 0.9683772234...
    t=2: s = 0.1225,          theta = + 0.01 * 1 / 0.35             = 0.9969486520...
    t=3: s = 0.51025,         theta = - 0.01 * 2 / 0.7143178564     = 0.9689499119...

    The second coordinate gets gradients scaled by 100: RMSProp's step is invariant to the
    gradient's scale (exactly with eps 0, to the last bit with 1e-300), so it moves by the
    same amounts.
    """
    traj, opt = run(optim.RMSProp, [[x, 100 * x] for x in [0.5, -1.0, 2.0]],
                    lr=0.01, alpha=0.9, eps=1e-300)
    expected = [1 - 0.01 * 0.5 / np.sqrt(0.025), 0, 0]
    expected[1] = expected[0] + 0.01 / np.sqrt(0.1225)
    expected[2] = expected[1] - 0.01 * 2 / np.sqrt(0.51025)
    np.testing.assert_allclose(expected, [0.9683772234, 0.9969486520, 0.9689499119], atol=1e-10)
    np.testing.assert_allclose(traj[:, 0], expected, rtol=1e-14)
    np.testing.assert_allclose(traj[:, 1], expected, rtol=1e-14)
    np.testing.assert_allclose(opt.s[0], [0.51025, 5102.5], rtol=1e-12)
    assert opt.t == 3


def test_rmsprop_against_torch_if_available():
    """The same steps as PyTorch's RMSprop (its form without momentum), in float64."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: it is only a "
                                "reference here, never a dependency")
    rng = np.random.default_rng(0)
    p0, grads = rng.standard_normal((3, 4)), rng.standard_normal((6, 3, 4))
    p, g = p0.copy(), np.zeros_like(p0)
    opt = optim.RMSProp([(p, g)], lr=3e-3, alpha=0.95, eps=1e-6)
    q = torch.tensor(p0, requires_grad=True)
    ref = torch.optim.RMSprop([q], lr=3e-3, alpha=0.95, eps=1e-6)
    for step_grad in grads:
        g[...] = step_grad
        opt.step()
        q.grad = torch.tensor(step_grad)
        ref.step()
    np.testing.assert_allclose(p, q.detach().numpy(), rtol=1e-13, atol=1e-15)


def test_plain_sgd():
    traj, _ = run(optim.SGD, [[1.0, -1.0]], lr=0.5)
    np.testing.assert_allclose(traj[0], [0.5, 1.5])


def test_state_is_per_array_and_updates_are_in_place():
    # two layers whose parameters share the name "W": the states must stay separate
    net = layers.Sequential(layers.Dense(2, 2), layers.Dense(2, 2))
    W0, W1 = net[0].params["W"], net[1].params["W"]
    before0, before1 = W0.copy(), W1.copy()
    opt = optim.Adam(net, lr=0.1)
    assert len(opt.m) == 4
    net[0].grads["W"][...] = 1.0  # only the first layer has a gradient
    opt.step()
    assert net[0].params["W"] is W0  # same array, updated in place
    np.testing.assert_allclose(W0, before0 - 0.1, rtol=1e-5)
    np.testing.assert_array_equal(W1, before1)
    assert not opt.m[2].any()


@pytest.mark.parametrize("make", [optim.Adam, optim.SGD, optim.RMSProp])
@pytest.mark.parametrize("state", ["adam.npz", [("t", 0)], None])
def test_a_state_that_is_not_a_mapping_is_refused_saying_what_to_give(make, state):
    """A path, a list of pairs or None failed with "'str' object has no attribute 'items'" (or
    "unexpected keys" of a path's letters, "'NoneType' object is not iterable")."""
    opt = make([(np.zeros(2), np.zeros(2))])
    with pytest.raises(TypeError, match=rf"^{make.__name__}: load_state_dict takes a mapping of "
                                        rf"names to arrays, .*got {type(state).__name__}$"):
        opt.load_state_dict(state)

def test_state_dict_round_trip():
    traj, opt = run(optim.Adam, [[0.5, 1.0], [1.0, 2.0]], lr=0.1)
    state = {k: np.array(v, copy=True) for k, v in opt.state_dict().items()}
    p, g = np.array([0.0, 0.0]), np.zeros(2)
    other = optim.Adam([(p, g)], lr=0.1)
    other.load_state_dict(state)
    assert other.t == 2
    np.testing.assert_array_equal(other.m[0], opt.m[0])
    np.testing.assert_array_equal(other.v[0], opt.v[0])
    with pytest.raises(ValueError, match="'m.0' has shape"):
        optim.Adam([(np.zeros(3), np.zeros(3))]).load_state_dict(state)
    with pytest.raises(ValueError, match=r"missing keys \['t'\]"):
        other.load_state_dict({k: v for k, v in state.items() if k != "t"})
    with pytest.raises(ValueError, match=r"unexpected keys \['m.1', 'v.1'\]"):
        other.load_state_dict({**state, "m.1": np.zeros(2), "v.1": np.zeros(2)})
    with pytest.raises(ValueError, match=r"missing keys \['u.0'\]"):
        optim.SGD([(p, g)]).load_state_dict(state)
    _, rms = run(optim.RMSProp, [[0.5, 1.0], [1.0, 2.0]], lr=0.1)
    twin = optim.RMSProp([(np.zeros(2), np.zeros(2))], lr=0.1)
    twin.load_state_dict({k: np.array(v, copy=True) for k, v in rms.state_dict().items()})
    assert twin.t == 2 and twin.state_dict().keys() == {"t", "s.0"}
    np.testing.assert_array_equal(twin.s[0], rms.s[0])
    with pytest.raises(optim.StateError, match=r"'s.0' holds a negative value .* RMSProp's mean"):
        twin.load_state_dict({"t": np.array(1), "s.0": np.array([0.5, -1.0])})


def test_bad_hyperparameters():
    pair = [(np.zeros(1), np.zeros(1))]
    with pytest.raises(ValueError, match="lr must be positive"):
        optim.Adam(pair, lr=0)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(pair, betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD(pair, momentum=1.5)
    with pytest.raises(ValueError, match="RMSProp: lr must be positive"):
        optim.RMSProp(pair, lr=-1e-3)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\)"):
        optim.RMSProp(pair, alpha=1.0)
    for make in (optim.Adam, optim.RMSProp):     # inf: every step would be 0
        for eps in (float("nan"), float("inf"), 0.0, -1e-8):   # 0: 0 / 0 where g was all 0
            with pytest.raises(ValueError, match=f"eps must be a finite number > 0, got {eps}"):
                make(pair, eps=eps)
        with pytest.raises(ValueError, match=f"^{make.__name__}: eps must be a number, got True$"):
            make(pair, eps=True)                     # a switch: it was an eps of 1.0
    for make in (optim.Adam, optim.RMSProp, optim.SGD):      # NaN compares false both ways
        with pytest.raises(ValueError, match="lr must be positive and finite, got nan"):
            make(pair, lr=float("nan"))
    with pytest.raises(ValueError, match="Adam: eps must be a finite number > 0, got 0.0 .at 0 an "
                                         "entry whose gradients were all 0"):
        optim.Adam(pair, eps=0)
    with pytest.raises(ValueError, match="no parameters"):
        optim.SGD([])


@pytest.mark.parametrize("make", [optim.Adam, optim.RMSProp, optim.SGD])
def test_parameters_that_are_not_param_grad_pairs_are_refused_saying_what_to_give(make):
    """A model's layers, its params dict (whose items are names) or a bare array: each the
    first item named, where unpacking it raised "too many values to unpack"."""
    net = layers.Sequential(layers.Dense(2, 3), layers.ReLU(), layers.Dense(3, 1))
    for given, kind in [(net.layers, "Dense"), (net.params, "str"), ([np.zeros(2)], "ndarray")]:
        with pytest.raises(TypeError, match=rf"^{make.__name__}: item 0 of the parameters is a "
                                            rf"{kind}, not a \(param, grad\) pair.*"
                                            r"model.parameters\(\)$"):
            make(given)


@pytest.mark.parametrize("make", [optim.Adam, optim.RMSProp, optim.SGD])
def test_a_parameter_given_twice_is_refused(make):
    """Listed twice (two models' lists joined, one of them twice), an array took two steps
    each step, with two states, without a word."""
    net = layers.Sequential(layers.Dense(2, 3), layers.ReLU(), layers.Dense(3, 1))
    with pytest.raises(ValueError, match=rf"^{make.__name__}: parameter 4 is the same array "
                                         r"as parameter 0; each step would move it twice"):
        make(net.parameters() + net.parameters())


@pytest.mark.parametrize("make, kw, words", [
    (optim.Adam, {"lr": None}, "Adam: lr must be a number, got None"),
    (optim.SGD, {"momentum": "high"}, "SGD: momentum must be a number, got 'high'"),
    (optim.RMSProp, {"lr": float("inf")}, "RMSProp: lr must be positive and finite, got inf"),
    (optim.Adam, {"betas": 0.9}, r"Adam: betas must be a pair \(beta1, beta2\), got 0.9"),
    (optim.Adam, {"betas": (0.5, 0.9, 0.99)}, r"Adam: betas must be a pair .*, got \(0.5, 0.9, 0.99\)"),
])
def test_a_hyperparameter_of_the_wrong_kind_is_named(make, kw, words):
    """None or a word raised "'>' not supported between instances of ... and 'int'",
    betas=0.9 "'float' object is not subscriptable"; three betas dropped the third and
    lr=inf gave NaN weights at the first step, without a word."""
    with pytest.raises(ValueError, match=f"^{words}$"):
        make([(np.zeros(1), np.zeros(1))], **kw)


@pytest.mark.parametrize("key, value, words", [
    ("t", np.array(-1), "'t' should be the number of steps taken"),
    ("t", np.array(3.7), "'t' should be the number of steps taken"),
    ("t", np.array(True), "'t' should be the number of steps taken"),
    ("t", np.array([2]), "'t' should be the number of steps taken"),
    ("v.0", np.array([0.1, -0.2]), "'v.0' holds a negative value"),
    ("v.0", np.array([0.1, np.inf]), "'v.0' holds NaN or inf"),
    ("m.0", np.array([np.nan, 0.0]), "'m.0' holds NaN or inf"),
])
def test_a_damaged_state_is_refused_by_key_and_changes_nothing(key, value, words):
    """A step count that is not a count, a second moment below 0 (its square root is NaN at
    the next step), a moment that is not finite: each named, before any state is replaced."""
    _, opt = run(optim.Adam, [[0.5, 1.0], [1.0, 2.0]], lr=0.1)
    state = {k: np.array(v, copy=True) for k, v in opt.state_dict().items()}
    p, g = np.array([0.0, 0.0]), np.zeros(2)
    other = optim.Adam([(p, g)], lr=0.1)
    with pytest.raises(optim.StateError, match=words) as info:
        other.load_state_dict({**state, key: value})
    assert info.value.key == key
    assert other.t == 0 and not other.m[0].any() and not other.v[0].any()


def test_a_moment_too_large_for_the_dtype_is_refused():
    p, g = np.zeros(2, np.float32), np.zeros(2, np.float32)
    opt = optim.SGD([(p, g)], momentum=0.9)
    with pytest.raises(optim.StateError, match=r"'u.0' holds values beyond float32's range "
                                               r"\(up to 1e\+39\)$"):
        opt.load_state_dict({"t": np.array(1), "u.0": np.array([1e39, 0.0])})


@pytest.mark.parametrize("make", [optim.Adam, optim.RMSProp, optim.SGD])
@pytest.mark.parametrize("change", ["append a layer", "replace a layer", "assign a new array"])
def test_stepping_an_optimizer_built_before_the_model_changed_is_an_error(make, change):
    r = np.random.default_rng(0)
    model = layers.Sequential(layers.Dense(2, 4, rng=r), layers.ReLU())
    opt = make(model)
    if change == "append a layer":
        model.layers.append(layers.Dense(4, 1, rng=r))           # would never be trained
    elif change == "replace a layer":
        model.layers[0] = layers.Dense(2, 4, rng=r)
    else:
        model[0].params["W"] = np.zeros((2, 4), np.float32)      # the optimizer holds the old one
    with pytest.raises(RuntimeError, match="no longer the arrays this optimizer was built on"):
        opt.step()
    model[0].params["W"][...] = 1.0                              # in place: nothing to say
    make(model).step()


@pytest.mark.parametrize("make", [optim.Adam, optim.RMSProp, optim.SGD])
def test_a_gradient_replaced_by_a_new_array_is_named(make):
    """A backward pass that assigns grads[k] = grads[k] + g left the optimizer reading the old,
    zero array; the error said a parameter was assigned, which the layer never did."""
    r = np.random.default_rng(0)
    model = layers.Sequential(layers.Dense(2, 4, rng=r), layers.Dense(4, 1, rng=r))
    opt = make(model)
    model[1].grads["b"] = model[1].grads["b"] + 1
    with pytest.raises(RuntimeError, match=r"the gradient of parameter 3 is no longer the array "
                                           r".*grads\[k\] = grads\[k\] \+ g.*_accumulate"):
        opt.step()


@pytest.mark.parametrize("make", [lambda m: optim.Adam(m, lr=0.1),
                                  lambda m: optim.RMSProp(m, lr=0.1),
                                  lambda m: optim.SGD(m, lr=0.1, momentum=0.9)])
def test_a_frozen_layer_stays_where_it_is_and_moves_again_when_thawed(make):
    """A layer frozen mid-training: its gradient stays zero, but the momentum in the
    optimizer's state moved it on, step after step; now it and its state hold still."""
    r = np.random.default_rng(0)
    model = layers.Sequential(layers.Dense(3, 4, rng=r), layers.Dense(4, 2, rng=r))
    opt, x = make(model), r.standard_normal((5, 3)).astype(np.float32)

    def step():
        opt.zero_grad()
        model.backward(np.ones_like(model.forward(x)))
        opt.step()

    def first_layer():       # its W and b, and their moments: the optimizer's arrays 0 and 1
        state = {k: v for k, v in opt.state_dict().items()
                 if k.endswith((".0", ".1")) and not k.startswith("t.")}   # Adam's own counts
        return {k: v.copy() for k, v in {**model.layers[0].params, **state}.items()}

    step()                                               # momentum in the state
    model.layers[0].freeze()
    held, other = first_layer(), model.layers[1].params["W"].copy()
    step()
    for k, v in first_layer().items():
        np.testing.assert_array_equal(v, held[k], err_msg=k)
    assert not np.array_equal(model.layers[1].params["W"], other)  # the rest trains on
    model.layers[0].freeze(False)
    step()
    assert not np.array_equal(model.layers[0].params["W"], held["W"])


def test_adam_bias_corrects_each_array_by_the_updates_it_has_taken():
    """Adam's t is each parameter's own count of updates: a layer frozen at the first 50
    steps takes its first update at the 51st step of the optimizer, and that update is the
    first step of Algorithm 1, lr * sign(g) (with the optimizer's count, 1 - beta2^51 in
    place of 1 - beta2, the step was 3.5 lr at betas (0.5, 0.999)). The count survives a
    state_dict round trip."""
    r = np.random.default_rng(0)
    model = layers.Sequential(layers.Dense(3, 2, rng=r, dtype="float64"),
                              layers.Dense(2, 1, rng=r, dtype="float64"))
    opt, x = optim.Adam(model, lr=1e-3, betas=(0.5, 0.999)), r.standard_normal((4, 3))

    def step():
        opt.zero_grad()
        model.backward(np.ones_like(model.forward(x)))
        opt.step()

    model.layers[0].freeze()
    for _ in range(50):
        step()
    model.layers[0].freeze(False)
    W = model.layers[0].params["W"].copy()
    step()
    g = model.layers[0].grads["W"]
    np.testing.assert_allclose(W - model.layers[0].params["W"], 1e-3 * g / (np.abs(g) + 1e-8),
                               rtol=1e-12, atol=1e-15)
    assert opt.t == 51
    state = {k: np.array(v, copy=True) for k, v in opt.state_dict().items()}
    assert int(state["t.0"]) == 1 and "t.2" not in state      # saved where it is not t
    twin = optim.Adam(layers.Sequential(layers.Dense(3, 2, dtype="float64"),
                                        layers.Dense(2, 1, dtype="float64")),
                      lr=1e-3, betas=(0.5, 0.999))
    twin.load_state_dict(state)
    assert twin.steps == opt.steps == [1, 1, 51, 51]
    twin.load_state_dict({k: v for k, v in state.items() if not k.startswith("t.")})
    assert twin.steps == [51] * 4                              # a state without counts: t each
    with pytest.raises(optim.StateError, match=r"'t.0' should be .* between 0 and t = 51"):
        twin.load_state_dict({**state, "t.0": np.array(52)})
    with pytest.raises(ValueError, match=r"unexpected keys \['t.4'\]"):
        twin.load_state_dict({**state, "t.4": np.array(1)})
    # a damaged t is named as t, before any count is judged against it, and nothing loads
    before = {k: np.array(v, copy=True) for k, v in twin.state_dict().items()}
    with pytest.raises(optim.StateError, match=r"^Adam: state 't' should be the number of steps"):
        twin.load_state_dict({**state, "t": np.array(2.0), "t.0": np.array(-1)})
    with pytest.raises(optim.StateError, match=r"'t.1' should be"):
        twin.load_state_dict({**state, "t.1": np.array(-1)})
    after = twin.state_dict()
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)
    assert twin.required_keys() == {"t"} | {f"{k}.{i}" for k in "mv" for i in range(4)}
    assert twin.optional_keys() == {f"t.{i}" for i in range(4)}


def test_a_state_dict_is_a_snapshot_of_the_step_count_and_the_moments_alike():
    """The moments were the optimizer's own arrays and the count a copy: a state kept, then
    more steps, restored the old count with the new moments without a word. Lists load as
    arrays do (a layer's state took them); complex values are refused, not cut to their real
    part."""
    _, opt = run(optim.Adam, [[0.5, 1.0], [1.0, 2.0]], lr=0.1)
    state = opt.state_dict()
    kept = {k: np.array(v, copy=True) for k, v in state.items()}
    opt.pairs[0][1][...] = [3.0, -4.0]
    opt.step()                                          # moves m and v in place
    for k in kept:
        np.testing.assert_array_equal(state[k], kept[k], err_msg=k)
    opt.load_state_dict(state)
    assert opt.t == int(kept["t"])
    np.testing.assert_array_equal(opt.m[0], kept["m.0"])
    np.testing.assert_array_equal(opt.v[0], kept["v.0"])
    other = optim.Adam([(np.zeros(2), np.zeros(2))], lr=0.1)
    other.load_state_dict({k: v.tolist() for k, v in kept.items()})
    np.testing.assert_array_equal(other.v[0], kept["v.0"])
    with pytest.raises(optim.StateError, match="'m.0' holds complex128 values, not real numbers"):
        other.load_state_dict({**kept, "m.0": kept["m.0"] + 1j})
    layer = layers.Dense(2, 2, rng=np.random.default_rng(0), dtype="float64")
    with pytest.raises(optim.StateError, match="'W' holds <U3 values, not real numbers; nothing "
                                               "was loaded"):
        layer.load_state_dict({**layer.state_dict(), "W": np.full((2, 2), "1.5")})


@pytest.mark.parametrize("make", [optim.Adam, optim.SGD, optim.RMSProp])
@pytest.mark.parametrize("declared", [True, False])
def test_a_model_holding_parameters_it_does_not_list_is_refused(make, declared):
    """A layer of one's own made of a Dense layer that does not gather its parameters:
    ``parameters()`` misses them, and the optimizer built from the model never stepped them
    (nor did ``state_dict()`` save them), without a word."""
    class Wrapped(layers.Layer):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def sublayers(self):
            return (self.inner,) if declared else ()

    model = layers.Sequential(layers.Dense(3, 3), Wrapped(layers.Dense(3, 2)))
    also = "" if declared else r", and return those layers from sublayers\(\)"
    with pytest.raises(ValueError, match=rf"^{make.__name__}: the model: parameter 'W' of "
                                         rf"Dense\(3, 2\) inside it is not among its params: "
                                         rf".*SpectralNorm \(.*\){also}; a part held fixed"):
        make(model)
