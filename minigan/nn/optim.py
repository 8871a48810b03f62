r"""Optimizers: Adam, RMSProp and SGD with momentum.

The update rules, a worked example and the property tests: ``docs/atlas/optim.rst``.

An optimizer is built from a model (anything with ``parameters()``) or from a
list of ``(param, grad)`` array pairs. Its state is one entry per parameter
ARRAY, in the order of that list, never keyed by a name that two layers may
share. ``step()`` updates every parameter in place, so the layers keep
referring to the same arrays.

An optimizer built from a model leaves the parameters of its frozen layers (``freeze()``) as
they are at ``step()``, with their state, and checks that the model's arrays are still
those it was built on: a layer added, removed or replaced since, or a parameter assigned a
new array (``layer.params["W"] = ...``), would otherwise go untrained without a word. Build
the optimizer after the model is complete, and change weights in place
(``layer.params["W"][...] = ...``, ``load_state_dict``).
"""

from __future__ import annotations

import math

import numpy as np

from minigan import backend
from minigan.backend import get_array_module, kernels, op
from minigan.functional.errors import positive_number, real_number, state_mapping

from .layers import StateError, refuse_unheld  # StateError: a layer's and an optimizer's

__all__ = ["Optimizer", "Adam", "RMSProp", "SGD"]

#: What Adam's and RMSProp's refusal of ``eps = 0`` adds: what 0 would do.
EPS_ZERO = (" (at 0 an entry whose gradients were all 0, a dead unit or an unused label's "
            "row, would take 0 / 0 and turn NaN; 1e-8 is the usual value)")


def _eps(owner, eps, pairs):
    """``eps`` as a float, refused unless it is a normal number of the dtype of every
    parameter: one below a dtype's smallest normal number is subnormal in it (flushed to 0
    on a GPU and under a CPU's flush-to-zero mode, rounded to 0 below about 7e-46 in
    float32), and an entry whose gradients were all 0 then takes 0 / 0."""
    eps = positive_number(f"{owner}: eps", eps, EPS_ZERO)
    for p, _ in pairs:
        tiny = float(np.finfo(p.dtype).tiny) if np.dtype(p.dtype).kind == "f" else 0.0
        if eps < tiny:
            raise ValueError(f"{owner}: eps {eps:g} is below the smallest normal {p.dtype} "
                             f"number ({tiny:g}), where it rounds or is flushed to 0: an entry "
                             "whose gradients were all 0 would take 0 / 0 and turn NaN; give "
                             "eps of at least that (1e-8 is the usual value)")
    return eps


class Optimizer:
    """Base class: holds the ``(param, grad)`` pairs and the per-array state."""

    def __init__(self, params):
        self.model = params if hasattr(params, "parameters") else None
        name = type(self).__name__
        if self.model is not None:      # a parameter of a layer inside it, not listed: never
            refuse_unheld(f"{name}: the model", self.model)                  # trained
        pairs = params.parameters() if self.model is not None else list(params)
        self.pairs = [_checked_pair(name, i, pair) for i, pair in enumerate(pairs)]
        if not self.pairs:
            raise ValueError(f"{name}: no parameters to optimize")
        first = {}
        for i, (p, g) in enumerate(self.pairs):
            if p.shape != g.shape:
                raise ValueError(
                    f"{name}: parameter {i} has shape {p.shape} "
                    f"but its gradient {g.shape}"
                )
            if id(p) in first:
                raise ValueError(
                    f"{name}: parameter {i} is the same array as parameter {first[id(p)]}; "
                    "each step would move it twice, with two states: give each parameter "
                    "once (a model's parameters() lists each of its arrays once)")
            first[id(p)] = i
        self.t = 0

    def zero_grad(self):
        """Set every gradient this optimizer reads to zero, in place (before the backward
        passes of a step: they add to the gradients)."""
        for _, g in self.pairs:
            g[...] = 0

    def check_model(self):
        """Raise ``RuntimeError`` when the model this optimizer was built on no longer holds
        the arrays it updates (see the module's docstring); ``step()`` calls it."""
        if self.model is None:
            return
        now = self.model.parameters()
        if len(now) == len(self.pairs) and all(
                p is q and g is h for (p, g), (q, h) in zip(now, self.pairs, strict=True)):
            return
        same = len(now) == len(self.pairs)
        pairs = list(zip(now, self.pairs, strict=False))
        if same and all(p is q for (p, _), (q, _) in pairs):     # only a gradient replaced
            i = next(i for i, ((_, g), (_, h)) in enumerate(pairs) if g is not h)
            raise RuntimeError(
                f"{type(self).__name__}: the gradient of parameter {i} is no longer the array "
                "this optimizer reads it from, so it would step on a gradient that stays 0: a "
                "backward pass assigned grads[k] a new array (grads[k] = grads[k] + g). Add to "
                "the gradient in place, through Layer._accumulate(k=g)")
        raise RuntimeError(
            f"{type(self).__name__}: the model's parameters are no longer the arrays this "
            f"optimizer was built on ({len(self.pairs)} then, {len(now)} now: a layer added, "
            "removed or replaced, or a parameter assigned a new array since). Build the "
            "optimizer again after changing the model, or change weights in place "
            "(params['W'][...] = ..., load_state_dict)")

    def _moving_states(self, *states):
        """The start of every ``step()``: :meth:`check_model`, the step counted (``t``), then
        ``(param, grad, *its entry of each list in states)`` for each pair the step moves:
        not a parameter of a frozen layer, which ``step()`` leaves as it is, its state too
        (its gradient stays zero, but the momentum in its state would move it on for many
        steps)."""
        self.check_model()
        self.t += 1
        frozen = set() if self.model is None else {
            id(p) for layer in self.model.walk() if layer.frozen for p in layer.params.values()}
        return [(p, g, *entries) for (p, g), *entries in zip(self.pairs, *states, strict=True)
                if id(p) not in frozen]

    def step(self):
        raise NotImplementedError

    #: State lists whose values are never negative, and why (checked on load).
    NON_NEGATIVE = {}

    def _state_arrays(self):
        """Names of the per-parameter state lists, e.g. ``("m", "v")``."""
        return ()

    def state_dict(self):
        """``{"t": t, "m.0": ..., "v.0": ..., ...}``: step count and per-array state, a
        snapshot (copies, on the parameters' device). Unlike a layer's
        :meth:`~minigan.nn.layers.Layer.state_dict`, whose arrays are the layer's own, the
        arrays are copied: the counts cannot be live, and a state of one step's count with a
        later step's moments would restore neither."""
        state = {"t": np.asarray(self.t, dtype=np.int64)}
        for name in self._state_arrays():
            for i, a in enumerate(getattr(self, name)):
                state[f"{name}.{i}"] = a.copy()
        return state

    def load_state_dict(self, state):
        """Restore the step count and per-array state in place (keys and shapes must match), on
        the parameters' device (``state`` may hold NumPy or CuPy arrays).

        Every value is checked before anything is changed: ``t`` a count of steps (an integer
        >= 0), each state array finite after the cast to its parameter's dtype, and those of
        ``NON_NEGATIVE`` (Adam's second moment ``v`` and RMSProp's ``s``, means of squares)
        never below 0.

        Raises
        ------
        ValueError
            When the keys or shapes do not fit these parameters (another architecture).
        TypeError
            When ``state`` is not a mapping of names to arrays (a path, a list of pairs).
        minigan.nn.layers.StateError
            When a value is out of range (a damaged state); its ``key`` names the entry.
        """
        t, loaded = self._checked_state(state)
        for dst, value in loaded:
            dst[...] = value
        self.t = t

    def required_keys(self):
        """The keys a state of this optimizer must hold: ``"t"`` and each per-array entry
        (a subclass may allow more: :meth:`optional_keys`)."""
        return {"t"} | {f"{kind}.{i}" for kind in self._state_arrays()
                        for i in range(len(self.pairs))}

    def optional_keys(self):
        """The keys a state may hold beyond :meth:`required_keys`."""
        return set()

    def _checked_state(self, state):
        """``(t, [(dst, value), ...])``: the step count and each state array cast for its
        parameter, every key and value checked (:meth:`load_state_dict`), nothing changed."""
        state_mapping(type(self).__name__, state)
        expected = self.required_keys()
        missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
        if missing or extra:
            raise ValueError(
                f"{type(self).__name__}: state does not fit these parameters (missing keys "
                f"{missing}, unexpected keys {extra}; another architecture or optimizer?)"
            )
        name = type(self).__name__
        t = backend.to_host(state["t"])
        if not _is_count(t):
            raise StateError("t", f"should be the number of steps taken, an integer >= 0, got "
                             f"{str(t)[:40]} ({np.asarray(t).dtype})", name)
        loaded = []
        for kind in self._state_arrays():
            for i, dst in enumerate(getattr(self, kind)):
                key = f"{kind}.{i}"
                src = state[key]
                StateError.check_real(key, src, name, "; nothing was loaded")
                shape = src.shape if hasattr(src, "shape") else np.shape(src)   # a list too
                if tuple(shape) != tuple(dst.shape):
                    raise ValueError(
                        f"{name}: '{key}' has shape {tuple(shape)} in the "
                        f"state but {tuple(dst.shape)} here (another architecture?)"
                    )
                xp = get_array_module(dst)
                with np.errstate(over="ignore", invalid="ignore"):   # found just below, named
                    value = backend.as_array_of(xp, src, dst.dtype)
                if not bool(xp.isfinite(value).all()):
                    raise StateError.not_finite(key, src, dst.dtype, name)
                if kind in self.NON_NEGATIVE and bool((value < 0).any()):
                    raise StateError(key, f"holds a negative value ({float(value.min()):g}), "
                                     f"where {self.NON_NEGATIVE[kind]} is never below 0", name)
                loaded.append((dst, value))
        return int(t), loaded


def _numbers(optimizer, **values):
    """The hyperparameters ``values`` as floats, in their order; a ValueError naming the first
    that is not a number (a string read from a file, None, True)."""
    out = []
    for name, value in values.items():
        v = real_number(value)                 # not True: float(True) is 1.0
        if v is None:
            raise ValueError(f"{optimizer}: {name} must be a number, got {value!r}")
        out.append(v)
    return out


def _checked_pair(optimizer, i, pair):
    """``(param, grad)`` from item ``i`` of an optimizer's list, or a TypeError saying what an
    optimizer takes (a layer, a dict of parameters or its names are not such pairs)."""
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or not all(hasattr(a, "shape") for a in pair)):
        raise TypeError(
            f"{optimizer}: item {i} of the parameters is a {type(pair).__name__}, not a "
            "(param, grad) pair of arrays; give a model (anything with parameters()) or a "
            "list of (param, grad) pairs, such as model.parameters()")
    return pair[0], pair[1]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015, Algorithm 1) with bias correction.

    For each parameter :math:`\theta` with gradient :math:`g`, at its :math:`t`-th update:

    .. math::
        m &\leftarrow \beta_1 m + (1-\beta_1)\, g \\
        v &\leftarrow \beta_2 v + (1-\beta_2)\, g^2 \\
        \hat m &= m / (1-\beta_1^t), \qquad \hat v = v / (1-\beta_2^t) \\
        \theta &\leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \epsilon)

    :math:`t` counts the updates of that parameter array (``steps[i]``), which is the
    optimizer's step count ``t`` unless the array's layer was frozen at some ``step()``:
    such a step leaves the array, its ``m`` and ``v`` and its count as they are, so that
    its first update after thawing is bias-corrected by the updates it has taken (as a
    first update only where it had taken none).

    Parameters
    ----------
    params : model or list of (param, grad)
    lr : float
        Step size :math:`\eta` (TensorFlow's and the paper's default 1e-3;
        DCGAN uses 2e-4).
    betas : (float, float)
        :math:`(\beta_1, \beta_2)`; DCGAN uses (0.5, 0.999).
    eps : float
        Added to the root mean square, :math:`\epsilon > 0` (at 0 an entry whose gradients
        were all 0 so far, a dead unit or an unused label's row, would take
        :math:`0 / 0`: NaN).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params)
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        lr, b1, b2, eps = _numbers("Adam", lr=lr, beta1=betas[0], beta2=betas[1], eps=eps)
        betas = (b1, b2)
        if not 0 < lr < math.inf:                # NaN too
            raise ValueError(f"Adam: lr must be positive and finite, got {lr}")
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"Adam: betas must be in [0, 1), got {betas}")
        eps = _eps("Adam", eps, self.pairs)
        self.lr, self.betas, self.eps = float(lr), (float(betas[0]), float(betas[1])), float(eps)
        self.m = [get_array_module(p).zeros_like(p) for p, _ in self.pairs]
        self.v = [get_array_module(p).zeros_like(p) for p, _ in self.pairs]
        self.steps = [0] * len(self.pairs)       # each array's own t: the updates it has taken

    NON_NEGATIVE = {"v": "Adam's second moment, a mean of squared gradients,"}

    def _state_arrays(self):
        return ("m", "v")

    def step(self):
        r"""One update of every parameter a frozen layer does not hold, in place
        (:func:`adam_update`), each with the bias corrections :math:`1 - \beta^t` of its own
        count of updates ``steps[i]``."""
        b1, b2 = self.betas
        for p, g, m, v, i in self._moving_states(self.m, self.v, range(len(self.pairs))):
            self.steps[i] += 1
            t = self.steps[i]                    # bias corrections 1 - b^t of this array
            adam_update(p, g, m, v, self.lr, b1, b2, self.eps, 1.0 - b1 ** t, 1.0 - b2 ** t)

    def state_dict(self):
        """As :meth:`Optimizer.state_dict`, plus ``"t.i"``: the updates array ``i`` has
        taken, only where they are fewer than ``t`` (a layer frozen at some steps)."""
        state = super().state_dict()
        for i, steps in enumerate(self.steps):
            if steps != self.t:
                state[f"t.{i}"] = np.asarray(steps, dtype=np.int64)
        return state

    def optional_keys(self):
        """``"t.i"``: the updates array ``i`` has taken, where they are fewer than ``t``."""
        return {f"t.{i}" for i in range(len(self.pairs))}

    def load_state_dict(self, state):
        """As :meth:`Optimizer.load_state_dict`; an array without its ``"t.i"`` has taken
        ``t`` updates (a state saved before any layer was frozen at a step). A count that is
        not an integer between 0 and ``t`` raises :class:`~minigan.nn.layers.StateError`; every entry is
        checked before any is loaded."""
        state_mapping(type(self).__name__, state)
        counts = {key: int(key[2:]) for key in self.optional_keys() if key in state}
        t, loaded = self._checked_state({k: v for k, v in state.items() if k not in counts})
        steps = [t] * len(self.pairs)
        for key, i in counts.items():
            n = backend.to_host(state[key])
            if not _is_count(n) or int(n) > t:
                raise StateError(key, f"should be the number of updates of parameter {i}, an "
                                 f"integer between 0 and t = {t}, got {str(n)[:40]}", "Adam")
            steps[i] = int(n)
        for dst, value in loaded:
            dst[...] = value
        self.t, self.steps = t, steps


def _is_count(n):
    """Whether the host value ``n`` is a count: a 0-d integer >= 0."""
    return np.ndim(n) == 0 and np.asarray(n).dtype.kind in "iu" and int(n) >= 0


@op
def adam_update(p, g, m, v, lr, b1, b2, eps, bc1, bc2):
    r"""One Adam update of one parameter array, in place (``p``, ``m``, ``v``).

    ``bc1 = 1 - b1**t`` and ``bc2 = 1 - b2**t`` are the bias corrections.

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1)\, g, \quad
        v \leftarrow \beta_2 v + (1-\beta_2)\, g^2, \quad
        \theta \leftarrow \theta - \eta\, \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}
    """
    xp = get_array_module(p)
    m[...] = b1 * m + (1.0 - b1) * g
    v[...] = b2 * v + (1.0 - b2) * (g * g)
    p -= lr * (m / bc1) / (xp.sqrt(v / bc2) + eps)


#: Elements of one block of :func:`adam_update`'s NumPy body: its six arrays' blocks (3 MiB
#: in float64, 1.5 MiB in float32) stay in the caches (a core's L2 and the shared L3) for
#: all fourteen passes.
ADAM_BLOCK = 65536


@adam_update.cpu
def _adam_update_cpu(p, g, m, v, lr, b1, b2, eps, bc1, bc2, block=None):
    """:func:`adam_update` with two temporaries instead of seven, in blocks of ``block``
    elements (:data:`ADAM_BLOCK` unless given, read at each call): the same operations in
    the same order, so the same numbers. A block's
    passes read what the pass before it wrote while it is still in the cache, where the
    whole array's would each go out to memory (about a quarter faster at the default
    model's 1.1 million weights, ``benchmarks/tried.py``)."""
    block = ADAM_BLOCK if block is None else block
    arrays = (p, g, m, v)
    if p.size <= block or not all(a.flags.c_contiguous for a in arrays):
        _adam_block(p, g, m, v, lr, b1, b2, eps, bc1, bc2, np.empty_like(g), np.empty_like(g))
        return
    p, g, m, v = (a.reshape(-1) for a in arrays)    # views: the updates land in the arrays
    tmp, den = np.empty(block, g.dtype), np.empty(block, g.dtype)
    for start in range(0, p.size, block):
        cut = slice(start, start + block)
        n = min(block, p.size - start)
        _adam_block(p[cut], g[cut], m[cut], v[cut], lr, b1, b2, eps, bc1, bc2, tmp[:n], den[:n])


def _adam_block(p, g, m, v, lr, b1, b2, eps, bc1, bc2, tmp, den):
    """One block of :func:`_adam_update_cpu`: the formula's fourteen passes, in place, with
    ``tmp`` and ``den`` (arrays of ``g``'s shape) as its two temporaries."""
    np.multiply(g, 1.0 - b1, out=tmp)
    m *= b1
    m += tmp                                  # m <- b1 m + (1 - b1) g
    np.multiply(g, g, out=tmp)
    tmp *= 1.0 - b2
    v *= b2
    v += tmp                                  # v <- b2 v + (1 - b2) g^2
    np.divide(v, bc2, out=den)                # v^ = v / (1 - b2^t)
    np.sqrt(den, out=den)
    den += eps                                # sqrt(v^) + eps
    np.divide(m, bc1, out=tmp)                # m^ = m / (1 - b1^t)
    tmp *= lr
    tmp /= den
    p -= tmp                                  # theta <- theta - lr m^ / (sqrt(v^) + eps)


@adam_update.gpu
def _adam_update_gpu(p, g, m, v, lr, b1, b2, eps, bc1, bc2):
    """:func:`adam_update`'s formula, ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``p <- p - lr (m / bc1) / (sqrt(v / bc2) + eps)``: p, m and v updated by one fused kernel
    launch (minigan.backend.kernels)."""
    kernels.adam_update_gpu(p, g, m, v, lr, b1, b2, eps, bc1, bc2)


class SGD(Optimizer):
    r"""Stochastic gradient descent with (classical) momentum.

    .. math::
        u &\leftarrow \mu\, u - \eta\, g \\
        \theta &\leftarrow \theta + u

    the form Goodfellow et al. (2014) trained their GANs with. ``momentum=0``
    is plain SGD, :math:`\theta \leftarrow \theta - \eta g`.

    The velocity keeps the step sizes it was built with: where ``lr`` changes (a schedule),
    the steps follow it only gradually, and at ``lr = 0`` the weights still move by
    :math:`\mu u`. PyTorch's ``torch.optim.SGD`` keeps :math:`b \leftarrow \mu b + g` and
    steps by the current :math:`\eta b`: the two agree while ``lr`` is constant.
    """

    def __init__(self, params, lr=0.01, momentum=0.0):
        super().__init__(params)
        lr, momentum = _numbers("SGD", lr=lr, momentum=momentum)
        if not 0 < lr < math.inf:                # NaN too
            raise ValueError(f"SGD: lr must be positive and finite, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum}")
        self.lr, self.momentum = float(lr), float(momentum)
        self.u = [get_array_module(p).zeros_like(p) for p, _ in self.pairs]

    def _state_arrays(self):
        return ("u",)

    def step(self):
        """One update of every parameter a frozen layer does not hold, in place: the velocity
        ``u`` first, then the parameter along it."""
        for p, g, u in self._moving_states(self.u):
            u *= self.momentum
            u -= self.lr * g        # u <- mu u - lr g
            p += u                  # theta <- theta + u


class RMSProp(Optimizer):
    r"""RMSProp (Tieleman & Hinton, 2012, Lecture 6.5): each entry's step divided by a moving
    root mean square of its gradients, without momentum or bias correction.

    .. math::
        s &\leftarrow \alpha\, s + (1-\alpha)\, g^2 \\
        \theta &\leftarrow \theta - \eta\, g / (\sqrt{s} + \epsilon)

    the form of PyTorch's ``RMSprop`` (its defaults, without its momentum and centred
    options). With :math:`s_0 = 0` the first step is :math:`\eta / \sqrt{1 - \alpha}` in
    every entry whose gradient is well above :math:`\epsilon` (ten times :math:`\eta` at
    :math:`\alpha = 0.99`): there is no bias correction, as there is in Adam. WGAN with
    weight clipping (Arjovsky et al., 2017, Algorithm 1) trains both players with it at
    :math:`\eta = 5\cdot 10^{-5}`.

    Parameters
    ----------
    params : model or list of (param, grad)
    lr : float
        Step size :math:`\eta`.
    alpha : float
        Decay :math:`\alpha` of the mean square, in [0, 1).
    eps : float
        Added to the root mean square, :math:`\epsilon > 0` (as Adam's).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
        super().__init__(params)
        lr, alpha, eps = _numbers("RMSProp", lr=lr, alpha=alpha, eps=eps)
        if not 0 < lr < math.inf:                # NaN too
            raise ValueError(f"RMSProp: lr must be positive and finite, got {lr}")
        if not 0 <= alpha < 1:
            raise ValueError(f"RMSProp: alpha must be in [0, 1), got {alpha}")
        eps = _eps("RMSProp", eps, self.pairs)
        self.lr, self.alpha, self.eps = float(lr), float(alpha), float(eps)
        self.s = [get_array_module(p).zeros_like(p) for p, _ in self.pairs]

    NON_NEGATIVE = {"s": "RMSProp's mean square of the gradients"}

    def _state_arrays(self):
        return ("s",)

    def step(self):
        """One update of every parameter a frozen layer does not hold, in place: the running
        mean of squares ``s`` first, then the parameter scaled by it."""
        for p, g, s in self._moving_states(self.s):
            xp = get_array_module(p)
            s *= self.alpha
            s += (1.0 - self.alpha) * (g * g)           # s <- alpha s + (1 - alpha) g^2
            p -= self.lr * g / (xp.sqrt(s) + self.eps)  # theta <- theta - lr g / (sqrt(s) + eps)
