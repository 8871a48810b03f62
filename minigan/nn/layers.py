"""Layers: thin stateful wrappers around the forward/backward pairs.

Every layer has

- ``forward(x) -> out`` (also ``layer(x)``), which keeps the cache of its
  last call, and ``backward(dout) -> dx``, which uses it;
- ``params`` and ``grads``: dicts with the same keys and shapes. Gradients
  ACCUMULATE (``+=``) over backward calls until ``zero_grad()``: a
  discriminator sees a real batch and a fake batch before one update;
- ``buffers``: state that is not trained (BatchNorm's running statistics);
- ``train()`` / ``eval()``: BatchNorm, Dropout and SpectralNorm behave differently in each
  (SpectralNorm's power iteration moves its ``u`` in training alone);
- ``frozen``: a frozen layer still passes gradients to its input but leaves
  its ``grads`` alone (the discriminator during a generator step, run in
  ``with D.freezing():``, after which a layer you froze yourself stays frozen).

A layer of your own subclasses :class:`Layer` and keeps these rules with three of its
helpers: ``_add_param(name, value, dtype)`` registers a parameter (in the run's floating
type, on the active device) with its zero gradient, ``_accumulate(name=gradient)`` adds to
the gradients unless the layer is frozen (a gradient of another shape than its parameter
is an error), and ``_need_cache()`` returns what ``forward``
kept (an error when ``backward`` comes first). A layer whose function has no derivative at
some inputs (ReLU's 0) names them in ``kinks``, which the gradient checks of
:mod:`minigan.check.testing` read (:func:`~minigan.check.testing.min_kink_distance`).

The mathematics lives in :mod:`minigan.functional`; a layer only keeps state.
The functional ops also check the shapes of what they are given; a layer adds
its own name to their errors (:meth:`Layer._apply`) and checks only its own
constructor arguments.
"""

from __future__ import annotations

import contextlib
import inspect
import math

import numpy as np

from minigan import backend
from minigan import functional as F
from minigan.functional.conv import conv_hyperparameters
from minigan.functional.errors import (
    ShapeError,
    amount,
    check_dout,
    number,
    positive_number,
    state_mapping,
    whole_number,
)
from minigan.functional.im2col import pair

from . import init as initializers

__all__ = [
    "Layer",
    "Dense",
    "ReLU",
    "LeakyReLU",
    "Tanh",
    "Sigmoid",
    "Dropout",
    "Flatten",
    "Reshape",
    "Sequential",
    "LabelledSequential",
    "Conv2d",
    "ConvTranspose2d",
    "BatchNorm",
    "BatchNorm1d",
    "BatchNorm2d",
    "PixelNorm",
    "SpectralNorm",
    "spectral_norm",
    "MinibatchDiscrimination",
    "MinibatchStdDev",
    "Pack",
    "ConditionalGenerator",
    "SelfConditionedGenerator",
    "generated_images",
    "inner_layers",
    "refuse_unheld",
    "StateError",
]


def _size(owner, name, value):
    """``value`` as an int, or a ValueError naming ``owner`` and ``name`` unless it is a whole
    number >= 1 (:func:`~minigan.functional.errors.whole_number`)."""
    return whole_number(f"{owner}: {name}", value, 1)


def _number(owner, name, value, low=None, high=None):
    """``value`` as a float, or a ValueError naming ``owner`` and ``name`` unless it is a
    finite number from ``low`` to ``high`` (:func:`~minigan.functional.errors.number`)."""
    return number(f"{owner}: {name}", value, low, high)


def _denominator_eps(owner, value):
    """A normalizing layer's ``eps`` as a float, or a ValueError unless it is a finite number
    above 0: with ``eps = 0`` values that all agree (a dead feature, a collapsed generator's
    batch) give 0 / 0, NaN in the output or in the gradient."""
    return positive_number(f"{owner}: eps", value, ": with eps = 0 values that all agree (a "
                           "dead feature, a collapsed batch) divide 0 by 0, NaN in the output "
                           "or its gradient")


class StateError(ValueError):
    """A value of a layer's or an optimizer's state is out of range (NaN, infinity, a
    negative variance, ...): the state is damaged, where keys or shapes that do not fit
    raise a plain ``ValueError``.

    Attributes
    ----------
    key : str
        The entry: ``"0.W"``, ``"t"``, ``"v.0"``, ...
    problem : str
        What is wrong with it.
    """

    def __init__(self, key, problem, owner="Optimizer"):
        self.key, self.problem = key, problem
        super().__init__(f"{owner}: state '{key}' {problem}")

    @classmethod
    def not_finite(cls, key, given, dtype, owner="Optimizer", after=""):
        """The error of the entry ``key`` whose array ``given`` is not finite once cast to
        ``dtype``: NaN or infinity in it, or finite values beyond ``dtype``'s range (float64
        1e39 for float32), which the cast made infinite; ``after`` ends the message."""
        host, name = np.asarray(backend.to_host(given)), np.dtype(dtype).name
        if host.dtype.kind == "f" and np.isfinite(host).all():
            problem = f"holds values beyond {name}'s range (up to {float(np.abs(host).max()):g})"
        else:
            problem = f"holds NaN or inf (in {name})"
        return cls(key, problem + after, owner)

    @classmethod
    def check_real(cls, key, given, owner="Optimizer", after=""):
        """Raise the error of the entry ``key`` unless ``given`` (an array, NumPy or CuPy, or
        Python numbers) holds real numbers: a cast would drop a complex value's imaginary
        part (with a warning at most) and parse a string's digits."""
        dtype = given.dtype if hasattr(given, "dtype") else np.asarray(given).dtype
        if dtype.kind not in "biuf":
            raise cls(key, f"holds {dtype} values, not real numbers{after}", owner)


#: What :meth:`Layer.__init__` sets on every layer.
_LAYER_STATE = ("params", "grads", "buffers", "training", "frozen", "_cache")


class Layer:
    """Base class: parameter bookkeeping, train/eval mode, freezing, state dicts."""

    #: The inputs where this layer's function is not smooth enough for a centred difference
    #: (ReLU's 0): the gradient checks keep inputs off them and name them when a check fails
    #: (:func:`minigan.check.testing.min_kink_distance`); none for a smooth layer.
    kinks = ()

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.buffers = {}
        self.training = True
        self.frozen = False
        self._cache = None

    def __getattr__(self, name):
        # only for attributes not found: a layer of one's own whose __init__ forgot
        # super().__init__() has none of the state Layer.__init__ gives it
        if name in _LAYER_STATE and "_cache" not in vars(self):
            raise AttributeError(
                f"{type(self).__name__} has no attribute {name!r}: its __init__ does not call "
                "super().__init__(), which gives a layer its params, grads, buffers, training "
                "and frozen flags and its cache; call it first")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- the two passes -------------------------------------------------
    def forward(self, x):
        """``out`` from ``x``, keeping in ``self._cache`` what :meth:`backward` needs (each
        call replaces the last one's cache); state it moves goes into ``buffers``."""
        raise NotImplementedError(f"{type(self).__name__} defines no forward(self, x): a layer "
                                  "of one's own writes forward (returning out, keeping in "
                                  "self._cache what backward needs) and backward")

    def backward(self, dout, input_grad=True):
        """``dx`` from ``dout``, accumulating parameter gradients. With ``input_grad=False``
        a layer may skip ``dx`` and return None (Dense and the convolutions do)."""
        raise NotImplementedError(f"{type(self).__name__} defines no backward(self, dout, "
                                  "input_grad=True): a layer of one's own writes it beside "
                                  "forward, returning dx and adding each parameter's gradient "
                                  "with self._accumulate(name=g)")

    def __call__(self, x):
        return self.forward(x)

    def sublayers(self):
        """The layers this one is made of (a Sequential's, a wrapper's inner layer); none here."""
        return ()

    def walk(self):
        """This layer and every layer inside it, depth first."""
        yield self
        for inner in self.sublayers():
            yield from inner.walk()

    def _apply(self, op, *args, **kwargs):
        """``op(*args, **kwargs)`` for a functional op; its :class:`ShapeError` is raised
        again under this layer's name (its ``repr``)."""
        try:
            return op(*args, **kwargs)
        except ShapeError as exc:
            raise exc.under(self) from None
        except AttributeError:                      # x.ndim of a list: say what to give
            if args:
                self._need_array(args[0])
            raise

    def _need_array(self, x):
        """``x``, or a TypeError naming the layer when it is not an array (a list): an op
        fails on it deep inside, with "'list' object has no attribute 'ndim'"."""
        if not hasattr(x, "shape"):
            dtype = next((p.dtype for p in self.params.values()), backend.default_dtype())
            raise TypeError(f"{self!r}: the input is a {type(x).__name__}, not an array; give "
                            "a NumPy array (a CuPy one on the GPU) of the layer's dtype, "
                            f"np.asarray(x, dtype=np.{dtype})") from None
        return x

    def _need_cache(self):
        """What the last :meth:`forward` kept (``self._cache``); a RuntimeError naming the
        layer when ``backward`` comes before any forward pass, or after one that kept nothing."""
        if self._cache is None:
            raise RuntimeError(f"{self!r}: backward() called before forward(), or after a "
                               "forward() that kept nothing for it: a forward pass keeps what "
                               "backward needs in self._cache (self._cache = x)")
        return self._cache

    # -- parameters -----------------------------------------------------
    def _add_param(self, name, host_value, dtype=None):
        """Register a parameter (moved to the active device) and its zero gradient."""
        dtype = backend.float_dtype(dtype, f"{type(self).__name__}: dtype")
        value = backend.asarray(np.asarray(host_value, dtype=dtype))
        self.params[name] = value
        self.grads[name] = backend.xp().zeros_like(value)
        return value

    def _add_weight_and_bias(self, shape, layout, weight_init, bias, rng, dtype):
        """Register ``W`` of ``shape`` (initialized from its fans in ``layout``, see
        :func:`minigan.nn.init.compute_fans`) and, when ``bias``, a zero ``b`` of ``shape``'s
        output size (axis 1 for ``"dense"`` and ``"conv_transpose"``, axis 0 for ``"conv"``)."""
        fans = initializers.compute_fans(shape, layout)
        W = initializers.get(weight_init)(shape, fans, backend.rng(rng))
        got = tuple(np.shape(W))
        name = weight_init if isinstance(weight_init, str) else getattr(
            weight_init, "__name__", repr(weight_init))
        if got != tuple(shape):
            raise ValueError(f"{type(self).__name__}: weight_init {name} gave an array of shape "
                             f"{got} for a weight of shape {tuple(shape)}; an initializer "
                             "f(shape, fans, rng) returns an array of the shape it is given")
        W = self._add_param("W", W, dtype)
        if not bool(backend.get_array_module(W).isfinite(W).all()):
            raise ValueError(f"{type(self).__name__}: weight_init {name} gave NaN or infinite "
                             f"weights (in {np.dtype(W.dtype).name}); an initializer returns "
                             "finite numbers, within the dtype's range")
        self.has_bias = bool(bias)
        if self.has_bias:
            self._add_param("b", np.zeros(shape[0 if layout == "conv" else 1]), dtype)

    def _accumulate(self, **grads):
        """``grads[k] += g`` for each gradient, unless the layer is frozen. A gradient
        that was not computed (None: no bias) is skipped; one of another shape or dtype than
        its parameter is a ValueError naming both (NumPy would broadcast a sum that lost an
        axis, a scalar, into every entry, and cast a float64 gradient into float32 ones),
        raised before any gradient of the call is added."""
        if self.frozen:
            return
        for name, g in grads.items():
            if g is None:
                continue
            if name not in self.grads:
                raise KeyError(f"{self!r}: no gradient '{name}' to accumulate into; register "
                               f"the parameter with self._add_param('{name}', value)")
            shape = getattr(g, "shape", ())                 # a Python number: ()
            dtype = getattr(g, "dtype", None)
            held = getattr(self.params.get(name), "dtype", None)
            if held is not None and held != self.grads[name].dtype:   # params[k] = new array
                raise ValueError(f"{self!r}: parameter '{name}' is {held} but its gradient "
                                 f"{self.grads[name].dtype}: one of them was replaced by an "
                                 f"array of another dtype; write into it in place "
                                 f"(params['{name}'][...] = value), or build the layer in "
                                 f"{held}")
            if dtype is not None and dtype != self.grads[name].dtype:
                want = self.grads[name].dtype
                raise ValueError(f"{self!r}: the gradient of '{name}' is {dtype}, its parameter "
                                 f"{want}, so the update would be cast without a word: either "
                                 "the forward pass was given an input of another dtype (give "
                                 f"x.astype(np.{want}), or build the layer in that dtype), or "
                                 f"the backward pass casts (compute the gradient in {want})")
            if shape != self.grads[name].shape:
                raise ValueError(f"{self!r}: the gradient of '{name}' has shape "
                                 f"{shape}, its parameter "
                                 f"{self.grads[name].shape}; sum the gradient over the axes the "
                                 "parameter was broadcast along in the forward pass (the "
                                 "batch's, and a per-channel parameter's spatial ones), so that "
                                 "it has the parameter's shape")
        for name, g in grads.items():                       # each checked: none added half
            if g is not None:
                self.grads[name] += g

    def parameters(self):
        """List of ``(param, grad)`` array pairs, in a stable order (what optimizers take).
        A parameter without its gradient (put into ``params`` by hand, not registered with
        :meth:`_add_param`) is a KeyError that says so."""
        missing = [k for k in self.params if k not in self.grads]
        if missing:
            raise KeyError(self.unregistered(missing[0]))
        return [(self.params[k], self.grads[k]) for k in self.params]

    def unregistered(self, name):
        """What is wrong with the parameter ``name`` that has no entry in ``grads``, and
        what to do: the one wording of the layer's and the gradient checks' errors."""
        return (f"{self!r}: parameter {name!r} has no entry in grads: register it with "
                f"self._add_param({name!r}, value), which gives it its zero gradient, instead "
                "of writing self.params[...] by hand")

    def zero_grad(self):
        """Set every gradient to zero, in place."""
        for g in self.grads.values():
            g[...] = 0

    def num_params(self):
        """Number of scalar parameters."""
        return sum(int(p.size) for p in self.params.values())

    # -- modes ----------------------------------------------------------
    def train(self, mode=True):
        """Training mode (batch statistics, dropout on), of this layer and every layer inside
        it: a layer made of others names them in :meth:`sublayers`, through which this
        reaches them (as :meth:`freeze` does). Returns self."""
        self.training = bool(mode)
        for inner in self.sublayers():
            inner.train(mode)
        return self

    def eval(self):
        """Evaluation mode (running statistics, dropout off). Returns self."""
        return self.train(False)

    @contextlib.contextmanager
    def evaluating(self):
        """``with layer.evaluating():`` evaluation mode inside the block, for the layer and
        every layer inside it, then each in the mode it had before (also when the block
        raises): a layer kept in evaluation mode by itself, say a frozen batch norm, stays so."""
        was_training = [(layer, layer.training) for layer in self.walk()]
        self.eval()
        try:
            yield self
        finally:
            self.train(was_training[0][1])      # as freezing() does: all train() reaches,
            for layer, training in was_training:     # then each layer walk() found
                layer.training = training

    def freeze(self, frozen=True):
        """Stop (or resume) accumulating parameter gradients, this layer's and every layer's
        inside it; an optimizer built from the model leaves a frozen layer's parameters as they
        are (:mod:`minigan.nn.optim`). A layer made of others names them in
        :meth:`sublayers`, through which this reaches them. Returns self."""
        self.frozen = bool(frozen)
        for inner in self.sublayers():
            inner.freeze(frozen)
        return self

    @contextlib.contextmanager
    def freezing(self):
        """``with layer.freezing():`` the layer and every layer inside it frozen in the block,
        then each as it was before (also when the block raises): a layer frozen by itself,
        say a discriminator's first layer kept fixed, stays frozen. The G step runs D so."""
        was_frozen = [(layer, layer.frozen) for layer in self.walk()]
        self.freeze(True)
        try:
            yield self
        finally:
            # first all that freeze() reached, as this layer was (also the parts a layer of
            # your own passes freeze() on to without naming them in sublayers(), which walk()
            # misses); then each layer walk() found, as it was
            self.freeze(was_frozen[0][1])
            for layer, frozen in was_frozen:
                layer.frozen = frozen

    # -- state ----------------------------------------------------------
    def state_dict(self):
        """Parameters and buffers by name (the arrays themselves, on their device).

        The arrays are the layer's own, which each optimizer step changes in place: a
        snapshot to come back to is a copy, ``{k: v.copy() for k, v in
        layer.state_dict().items()}``; ``numpy.savez(path, **layer.state_dict())`` writes one
        to a file, and :meth:`load_state_dict` takes either back (``numpy.load(path)``).
        """
        return {**self.params, **self.buffers}

    def load_state_dict(self, state):
        """Copy arrays from ``state`` into this layer's parameters and buffers, in place, on
        this layer's device (``state`` may hold NumPy or CuPy arrays).

        Raises ``ValueError`` naming the key and both shapes when they differ,
        ``KeyError``-like ``ValueError`` when keys are missing or extra, and
        :class:`StateError` naming the key of an array that holds NaN or infinity (a
        diverged run's weights), or overflows this layer's dtype. Every key, shape and value is
        checked before anything is copied: a state that does not fit leaves the layer as it
        was. A ``state`` that is not a mapping (a path, a list of pairs) raises ``TypeError``.
        """
        state_mapping(type(self).__name__, state)
        own = self.state_dict()
        missing = sorted(set(own) - set(state))
        extra = sorted(set(state) - set(own))
        if missing or extra:
            raise ValueError(
                f"{type(self).__name__}: state does not fit this architecture "
                f"(missing keys {missing}, unexpected keys {extra})"
            )
        for k, dst in own.items():
            src = state[k]
            StateError.check_real(k, src, type(self).__name__, "; nothing was loaded")
            shape = tuple(src.shape if hasattr(src, "shape") else np.shape(src))   # CuPy too
            if shape != tuple(dst.shape):
                raise ValueError(
                    f"{type(self).__name__}: '{k}' has shape {shape} in the state but "
                    f"{tuple(dst.shape)} in this model (a different architecture?)"
                )
        with np.errstate(over="ignore"):       # cast first: float64 1e39 is a float32 inf
            values = {k: backend.as_array_of(backend.get_array_module(dst), state[k], dst.dtype)
                      for k, dst in own.items()}
        for k, value in values.items():       # a diverged run's weights, a damaged file
            if value.dtype.kind == "f" and not bool(backend.get_array_module(value)
                                                    .isfinite(value).all()):
                raise StateError.not_finite(k, state[k], value.dtype, type(self).__name__,
                                            "; nothing was loaded")
        for k, dst in own.items():
            dst[...] = values[k]

    def __repr__(self):
        return f"{type(self).__name__}()"


class Dense(Layer):
    """Fully connected layer ``out = x @ W + b``, ``W`` of shape ``(in_features, out_features)``.

    Parameters
    ----------
    in_features, out_features : int
    weight_init : str or callable
        A name from :data:`minigan.nn.init.INITIALIZERS` or ``f(shape, fans, rng)``.
    bias : bool
        Whether to learn a bias (initialized to zero).
    rng : numpy.random.Generator, optional
        Host generator for the initialization (the library default if None).
    dtype : float32 or float64, optional
    """

    def __init__(self, in_features, out_features, weight_init="xavier_normal", bias=True,
                 rng=None, dtype=None):
        super().__init__()
        self.in_features = _size("Dense", "in_features", in_features)
        self.out_features = _size("Dense", "out_features", out_features)
        self._add_weight_and_bias((self.in_features, self.out_features), "dense", weight_init,
                                  bias, rng, dtype)

    def forward(self, x):
        b = self.params["b"] if self.has_bias else None
        out, self._cache = self._apply(F.dense_forward, x, self.params["W"], b)
        return out

    def backward(self, dout, input_grad=True):
        dx, dW, db = self._apply(F.dense_backward, dout, self._need_cache(),
                                 param_grads=not self.frozen, input_grad=input_grad)
        self._accumulate(W=dW, b=db)
        return dx

    def __repr__(self):
        return f"Dense({self.in_features}, {self.out_features})"


class ReLU(Layer):
    """``max(x, 0)``."""

    kinks = (0.0,)

    def forward(self, x):
        out, self._cache = self._apply(F.relu_forward, x)
        return out

    def backward(self, dout, input_grad=True):
        return self._apply(F.relu_backward, dout, self._need_cache())


class LeakyReLU(Layer):
    """``x`` for ``x > 0``, else ``slope * x`` (DCGAN's discriminator uses slope 0.2)."""

    kinks = (0.0,)

    def __init__(self, slope=0.2):
        super().__init__()
        self.slope = _number("LeakyReLU", "slope", slope)

    def forward(self, x):
        out, self._cache = self._apply(F.leaky_relu_forward, x, self.slope)
        return out

    def backward(self, dout, input_grad=True):
        return self._apply(F.leaky_relu_backward, dout, self._need_cache())

    def __repr__(self):
        return f"LeakyReLU({self.slope})"


class Tanh(Layer):
    """``tanh(x)``: the generator output in [-1, 1]."""

    def forward(self, x):
        out, self._cache = F.tanh_forward(self._need_array(x))
        return out

    def backward(self, dout, input_grad=True):
        return self._apply(F.tanh_backward, dout, self._need_cache())


class Sigmoid(Layer):
    """Logistic ``1 / (1 + exp(-x))``: a generator output in [0, 1]. Right for any ``x``: where
    ``exp(-x)`` overflows to inf (very negative ``x``) the result is the limit 0, without a
    warning (:func:`minigan.functional.sigmoid`)."""

    def forward(self, x):
        out, self._cache = F.sigmoid_forward(self._need_array(x))
        return out

    def backward(self, dout, input_grad=True):
        return self._apply(F.sigmoid_backward, dout, self._need_cache())


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``p`` and scale the
    rest by ``1 / (1 - p)``; in evaluation, the identity. The mask is drawn from a host
    generator and moved to the device."""

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        self.p = amount("Dropout: p", p, below=1.0)
        self.rng = rng if rng is None else backend.rng(rng)   # a seed: refused now, not at a pass

    def forward(self, x):
        x = self._need_array(x)
        if not self.training or self.p == 0.0:
            self._cache = tuple(x.shape)         # the identity: only its shape to check
            return x
        keep = backend.rng(self.rng).random(x.shape) >= self.p
        mask = keep.astype(np.dtype(x.dtype)) / (1.0 - self.p)
        mask = backend.get_array_module(x).asarray(mask, dtype=x.dtype)
        out, self._cache = F.dropout_forward(x, mask)
        return out

    def backward(self, dout, input_grad=True):
        cache = self._need_cache()
        if isinstance(cache, tuple):
            self._apply(check_dout, "Dropout", dout, cache)
            return dout
        return self._apply(F.dropout_backward, dout, cache)

    def __repr__(self):
        return f"Dropout(p={self.p})"


class Flatten(Layer):
    """``(N, d1, d2, ...) -> (N, d1*d2*...)``; backward restores the shape."""

    def forward(self, x):
        self._cache = self._need_array(x).shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout, input_grad=True):
        shape = self._need_cache()
        self._apply(check_dout, "Flatten", dout, (shape[0], math.prod(shape[1:])))
        return dout.reshape(shape)


class Reshape(Layer):
    """``(N, ...) -> (N, *shape)``, e.g. ``Reshape((128, 7, 7))`` after a Dense 6272."""

    def __init__(self, shape):
        super().__init__()
        if not isinstance(shape, (tuple, list)):
            raise ValueError(f"Reshape: shape must be a tuple of sizes, one sample's shape such as "
                             f"(128, 7, 7), got {shape!r}")
        self.shape = tuple(_size("Reshape", f"each size of shape {tuple(shape)}", s) for s in shape)

    def forward(self, x):
        per_sample = math.prod(self._need_array(x).shape[1:])
        if per_sample != math.prod(self.shape):
            raise ValueError(
                f"{self!r}: cannot reshape input of shape {tuple(x.shape)} "
                f"({per_sample} values per sample) to (N, {', '.join(map(str, self.shape))})"
            )
        self._cache = x.shape
        return x.reshape((x.shape[0],) + self.shape)

    def backward(self, dout, input_grad=True):
        shape = self._need_cache()
        self._apply(check_dout, "Reshape", dout, (shape[0],) + self.shape)
        return dout.reshape(shape)

    def __repr__(self):
        return f"Reshape({self.shape})"


def _check_backward_signature(i, layer):
    """A TypeError unless ``layer.backward`` takes ``input_grad``, which a chain passes to
    each layer (a layer of one's own with ``backward(self, dout)`` failed at the first
    backward pass, in Python's words)."""
    try:
        parameters = inspect.signature(layer.backward).parameters
    except (TypeError, ValueError):          # no signature to read (a builtin): let it run
        return
    if "input_grad" not in parameters and not any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        raise TypeError(f"Sequential: item {i}, {type(layer).__name__}, has backward"
                        f"{inspect.signature(layer.backward)}, without input_grad, which a "
                        "chain passes to each layer: define backward(self, dout, "
                        "input_grad=True) (a layer may skip dx when it is False)")


class Sequential(Layer):
    """A chain of layers. ``params`` / ``grads`` are flat dicts keyed ``"<index>.<name>"``."""

    def __init__(self, *layers):
        # not Layer.__init__: params, grads and buffers are derived from the layers
        self.training, self.frozen, self._cache = True, False, None
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        where = {}                         # id of each layer in the chain (and inside it)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: item {i} is {type(layer).__name__}, not a Layer")
            _check_backward_signature(i, layer)
            for inner in layer.walk():
                if id(inner) in where:
                    raise ValueError(
                        f"Sequential: item {i} holds {inner!r}, the same object as item "
                        f"{where[id(inner)]}; a layer keeps the cache of its last forward pass, "
                        "so one object in two places back-propagates through the wrong "
                        "inputs: give each place a layer of its own (two LeakyReLU(0.2), not "
                        "one twice)")
                where[id(inner)] = i
        self.layers = list(layers)

    def sublayers(self):
        return tuple(self.layers)

    def forward(self, x):
        took = self._input_dtypes = []      # each layer's input's: what its dx must be in
        for layer in self.layers:
            took.append(getattr(x, "dtype", None))
            x = layer.forward(x)
        return x

    def backward(self, dout, input_grad=True):
        """Back through every layer. ``input_grad=False``: the first layer may skip the
        gradient with respect to the network's input (data or noise), returning None. A
        layer that returns ``dx`` in neither its input's dtype nor its ``dout``'s is named
        (the layer before it was blamed, its gradient of another dtype)."""
        took = self._took()
        for i in range(len(self.layers) - 1, -1, -1):
            given, dout = dout, self.layers[i].backward(dout, input_grad=input_grad or i > 0)
            self._check_dx(i, given, dout, took)
        return dout

    def _took(self):
        """The dtype of each layer's input in the last forward pass (None each when unknown)."""
        took = getattr(self, "_input_dtypes", ())
        return took if len(took) == len(self.layers) else (None,) * len(self.layers)

    def _check_dx(self, i, given, dx, took):
        """A ValueError naming layer ``i`` when the ``dx`` it returned from ``given`` is in
        neither its input's dtype (``took[i]``) nor its dout's."""
        dtype = getattr(dx, "dtype", None)
        if dx is not None and dtype != getattr(given, "dtype", None) \
                and took[i] is not None and dtype != took[i]:
            raise ValueError(
                f"{self.layers[i]!r}: its backward pass returned dx in {dtype} from a dout "
                f"in {given.dtype}, for an input in {took[i]}: a backward pass returns dx in "
                "the dtype of its input (compute it in that dtype, or dx.astype(x.dtype))")

    def passes(self, x):
        """``(layer, its input, its output)`` for each layer in turn from the chain's input
        ``x``: the forward pass one layer at a time, for tools that look inside the chain
        (kink distances, FLOP counts, twins in other libraries)."""
        took = self._input_dtypes = []      # as forward keeps them, for backward's check
        for layer in self.layers:
            took.append(getattr(x, "dtype", None))
            out = layer.forward(x)
            yield layer, x, out
            x = out

    def _flat(self, attr):
        return _Gathered(attr, {f"{i}.{k}": v for i, layer in enumerate(self.layers)
                                for k, v in getattr(layer, attr).items()})

    @property
    def params(self):
        """Every layer's parameters, keyed ``"<index>.<name>"`` (a new dict, read-only: assign
        to a layer's arrays, or use ``load_state_dict``)."""
        return self._flat("params")

    @property
    def grads(self):
        """Every layer's gradients, keyed like :attr:`params`."""
        return self._flat("grads")

    @property
    def buffers(self):
        """Every layer's buffers, keyed like :attr:`params`."""
        return self._flat("buffers")

    def parameters(self):
        return [pg for layer in self.layers for pg in layer.parameters()]

    def zero_grad(self):
        for layer in self.layers:
            layer.zero_grad()

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = "\n".join(f"  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"


class _Gathered(dict):
    """A chain's ``params``, ``grads`` or ``buffers``: its layers' arrays gathered into a new
    dict at each read, so an entry assigned or removed would change no layer; refused, saying
    what to do (the arrays themselves are the layers': writing into them is writing the
    layers')."""

    def __init__(self, attr, entries):
        super().__init__(entries)
        self.attr = attr

    def _refuse(self, *args, **kwargs):
        raise TypeError(f"a Sequential's {self.attr} are its layers' gathered into a new dict "
                        f"at each read: changing that dict changes no layer. Write into an "
                        f"array (net.{self.attr}['0.W'][...] = value), into a layer's own "
                        f"(net.layers[0].{self.attr}['W']), or use net.load_state_dict(...)")

    def __setitem__(self, key, value):
        if key in self and value is self[key]:   # net.params["0.W"] += g: the array moved
            return                               # in place, then is put back as it is
        self._refuse()

    __delitem__ = update = pop = popitem = setdefault = clear = __ior__ = _refuse

    def __reduce__(self):       # copy, deepcopy, pickle: built whole, not entry by entry
        return (_Gathered, (self.attr, dict(self)))


# -- convolutions and batch normalization ------------------------------------------
def _fmt_hw(hw):
    """``4`` for a square pair ``(4, 4)``, else ``(3, 4)``."""
    return str(hw[0]) if hw[0] == hw[1] else f"({hw[0]}, {hw[1]})"


class _ConvBase(Layer):
    """Shared bookkeeping of Conv2d and ConvTranspose2d.

    On the CPU both layers return their output as the NCHW view of channel-major
    memory ``(C, H, W, N)``, the layout the GEMM and col2im produce
    (``contiguous=False`` in :mod:`minigan.functional.conv`): the shape and values
    are PyTorch's, only the strides differ. Elementwise layers keep that layout, and
    the next convolution reads it without a transposing copy;
    ``np.ascontiguousarray`` gives a C-contiguous copy when one is wanted. The
    backward passes return the input gradient in the memory layout the input had
    (the functional ops record it), so the Dense layers never see a column-major view.
    """

    _name = "Conv"

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding,
                 weight_init, bias, rng, dtype, layout):
        super().__init__()
        name = self._name
        self.in_channels = _size(name, "in_channels", in_channels)
        self.out_channels = _size(name, "out_channels", out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size", name, 1)
        self.stride, self.padding, self.output_padding = conv_hyperparameters(
            name, stride, padding, output_padding)
        if layout == "conv":
            shape = (self.out_channels, self.in_channels) + self.kernel_size
        else:
            shape = (self.in_channels, self.out_channels) + self.kernel_size
        self._add_weight_and_bias(shape, layout, weight_init, bias, rng, dtype)

    def __repr__(self):
        extra = ""
        if self.output_padding != (0, 0):
            extra += f", op={_fmt_hw(self.output_padding)}"
        if not self.has_bias:
            extra += ", bias=False"
        return (
            f"{self._name}({self.in_channels}, {self.out_channels}, "
            f"k={_fmt_hw(self.kernel_size)}, s={_fmt_hw(self.stride)}, "
            f"p={_fmt_hw(self.padding)}{extra})"
        )


class Conv2d(_ConvBase):
    r"""2-D convolution over NCHW input, PyTorch's layout and semantics.

    Weight ``W`` of shape ``(out_channels, in_channels, kh, kw)``, bias ``b`` of
    shape ``(out_channels,)``; output size
    :math:`\lfloor (H + 2p - k)/s \rfloor + 1` along each axis. See
    :func:`minigan.functional.conv2d_forward`.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding : int or (int, int)
    weight_init : str or callable
        A name from :data:`minigan.nn.init.INITIALIZERS` or ``f(shape, fans, rng)``;
        ``"he_normal"`` by default (DCGAN passes ``"dcgan_normal"``).
    bias : bool
    rng : numpy.random.Generator, optional
    dtype : float32 or float64, optional
    """

    _name = "Conv2d"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 weight_init="he_normal", bias=True, rng=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, 0,
                         weight_init, bias, rng, dtype, "conv")

    def forward(self, x):
        b = self.params["b"] if self.has_bias else None
        out, self._cache = self._apply(F.conv2d_forward, x, self.params["W"], b, self.stride,
                                       self.padding, contiguous=False)
        return out

    def backward(self, dout, input_grad=True):
        dx, dW, db = self._apply(F.conv2d_backward, dout, self._need_cache(),
                                 param_grads=not self.frozen, input_grad=input_grad)
        self._accumulate(W=dW, b=db)
        return dx


class ConvTranspose2d(_ConvBase):
    r"""2-D transposed convolution over NCHW input, PyTorch's layout and semantics.

    Weight ``W`` of shape ``(in_channels, out_channels, kh, kw)``, bias ``b``
    of shape ``(out_channels,)``; output size
    :math:`(\text{size} - 1)s - 2p + k + \text{output_padding}` along each axis
    (``output_padding < stride``). See
    :func:`minigan.functional.conv_transpose2d_forward`.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding, output_padding : int or (int, int)
    weight_init : str or callable
        ``"he_normal"`` by default (fans of the ``(in, out, kh, kw)`` layout).
    bias : bool
    rng : numpy.random.Generator, optional
    dtype : float32 or float64, optional
    """

    _name = "ConvTranspose2d"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, weight_init="he_normal", bias=True, rng=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding,
                         output_padding, weight_init, bias, rng, dtype, "conv_transpose")

    def forward(self, x):
        b = self.params["b"] if self.has_bias else None
        out, self._cache = self._apply(F.conv_transpose2d_forward, x, self.params["W"], b,
                                       self.stride, self.padding, self.output_padding,
                                       contiguous=False)
        return out

    def backward(self, dout, input_grad=True):
        dx, dW, db = self._apply(F.conv_transpose2d_backward, dout, self._need_cache(),
                                 param_grads=not self.frozen, input_grad=input_grad)
        self._accumulate(W=dW, b=db)
        return dx


class BatchNorm(Layer):
    r"""Batch normalization over ``(N, C)`` or ``(N, C, H, W)`` input, per channel.

    .. math:: \text{out} = \gamma\,\frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta

    In training mode :math:`\mu, \sigma^2` are the batch's (biased variance)
    and the buffers ``running_mean`` / ``running_var`` are updated in place
    with PyTorch's convention (``running_var`` from the unbiased variance);
    in evaluation mode the buffers are used. See
    :func:`minigan.functional.batchnorm_forward`.

    Parameters
    ----------
    num_features : int
        ``C``.
    momentum : float
        Weight of the new batch statistic in the running averages.
    eps : float
        Above 0 (0 would divide a constant channel's 0 by 0).
    dtype : float32 or float64, optional
    """

    def __init__(self, num_features, momentum=0.1, eps=1e-5, dtype=None):
        super().__init__()
        self.num_features = _size("BatchNorm", "num_features", num_features)
        self.momentum = _number("BatchNorm", "momentum", momentum, 0.0, 1.0)
        self.eps = _denominator_eps("BatchNorm", eps)
        C = self.num_features
        self._add_param("gamma", np.ones(C), dtype)
        self._add_param("beta", np.zeros(C), dtype)
        dtype = backend.float_dtype(dtype, f"{type(self).__name__}: dtype")
        self.buffers["running_mean"] = backend.asarray(np.zeros(C, dtype=dtype))
        self.buffers["running_var"] = backend.asarray(np.ones(C, dtype=dtype))

    def forward(self, x):
        out, self._cache = self._apply(
            F.batchnorm_forward, x, self.params["gamma"], self.params["beta"],
            self.buffers["running_mean"], self.buffers["running_var"], self.training,
            self.momentum, self.eps)
        return out

    def backward(self, dout, input_grad=True):
        dx, dgamma, dbeta = self._apply(F.batchnorm_backward, dout, self._need_cache(),
                                        param_grads=not self.frozen)
        self._accumulate(gamma=dgamma, beta=dbeta)
        return dx

    def __repr__(self):
        extra = "" if self.momentum == 0.1 else f", momentum={self.momentum}"
        extra += "" if self.eps == 1e-5 else f", eps={self.eps}"
        return f"BatchNorm({self.num_features}{extra})"


BatchNorm1d = BatchNorm
BatchNorm2d = BatchNorm


class PixelNorm(Layer):
    r"""Karras et al.'s pixelwise feature normalization: each sample's features (each
    pixel's channels) scaled to a root mean square of one.

    .. math:: \text{out} = x \Big/ \sqrt{\tfrac1K \textstyle\sum_k x_k^2 + \epsilon}

    One sample at a time, no parameters, no running statistics: the same in training and
    in evaluation. See :func:`minigan.functional.pixel_norm_forward`.

    Parameters
    ----------
    eps : float
        Above 0 (0 would divide a zero vector's 0 by 0).
    """

    def __init__(self, eps=1e-8):
        super().__init__()
        self.eps = _denominator_eps("PixelNorm", eps)

    def forward(self, x):
        out, self._cache = self._apply(F.pixel_norm_forward, x, self.eps)
        return out

    def backward(self, dout, input_grad=True):
        return self._apply(F.pixel_norm_backward, dout, self._need_cache())

    def __repr__(self):
        return "PixelNorm()" if self.eps == 1e-8 else f"PixelNorm(eps={self.eps})"


# -- spectral normalization ---------------------------------------------------------
class SpectralNorm(Layer):
    r"""Spectral normalization of a Dense or Conv2d layer's weight (Miyato et al. 2018).

    The wrapped layer computes with :math:`W_{\mathrm{SN}} = W / \sigma(W)` instead of ``W``;
    :math:`\sigma` comes from one power-iteration step per forward pass from the
    buffer ``u``, which the step replaces in training mode (not in evaluation mode, and
    not while frozen: the discriminator in a generator step). ``params`` and ``grads`` are
    the wrapped layer's (``W`` is the raw weight the optimizer updates); ``buffers`` adds
    ``u``, so checkpoints keep it. ``dW`` goes through :math:`\sigma(W)` exactly
    (:func:`minigan.functional.spectral_norm_backward`, ``u`` held fixed).

    One step never overestimates the largest singular value :math:`\sigma_1`, so the
    normalized weight's norm :math:`\sigma_1/\sigma` is 1 or more, near 1 once ``u`` has
    converged over the training steps; for a Conv2d, :math:`\sigma` is the norm of the
    weight as an ``(O, C kh kw)`` matrix, which does not bound the convolution's
    (:doc:`/atlas/spectral`).

    Beside PyTorch: a training forward pass matches the older hook,
    ``torch.nn.utils.spectral_norm``; the newer ``parametrizations.spectral_norm`` orders its
    iteration otherwise, and before it has converged the two :math:`\sigma` differ (by a
    fifth for a Conv2d seen). In evaluation mode minigan still takes a step from ``u`` (not
    kept), where PyTorch computes :math:`\sigma` from the vectors it stored; and ``dW`` goes
    through :math:`\sigma`'s dependence on ``v``, where PyTorch holds both vectors constant.

    Parameters
    ----------
    layer : Dense or Conv2d
    rng : numpy.random.Generator, optional
        Draws the first ``u`` (a random unit vector), on the host.
    """

    def __init__(self, layer, rng=None):
        super().__init__()
        if type(layer) not in (Dense, Conv2d):
            raise TypeError(f"SpectralNorm wraps a Dense or a Conv2d layer, not {layer!r}")
        self.layer = layer
        self.params, self.grads = layer.params, layer.grads    # the same dicts: W, b
        W = layer.params["W"]
        u = backend.rng(rng).standard_normal(W.shape[0])
        self.buffers["u"] = backend.asarray((u / np.linalg.norm(u)).astype(W.dtype))
        self.sigma = None

    def sublayers(self):
        return (self.layer,)

    def forward(self, x):
        W = self.params["W"]
        W_sn, sn_cache = self._apply(F.spectral_norm_forward, W, self.buffers["u"])
        self.sigma = sn_cache[5]
        if self.training and not self.frozen:
            self.buffers["u"][...] = sn_cache[4]           # the power iteration goes on
        inner = self.layer
        inner.params["W"] = W_sn                           # the wrapped layer computes with W_sn
        try:
            out = inner.forward(x)
        finally:
            inner.params["W"] = W
        self._cache = sn_cache
        return out

    def backward(self, dout, input_grad=True):
        sn_cache = self._need_cache()
        inner, dW = self.layer, self.grads["W"]
        inner.grads["W"] = dW_sn = backend.get_array_module(dW).zeros_like(dW)
        try:
            dx = inner.backward(dout, input_grad=input_grad)   # dL/dx with W_sn; dL/dW_sn; db
        finally:
            inner.grads["W"] = dW
        self._accumulate(W=None if self.frozen else F.spectral_norm_backward(dW_sn, sn_cache))
        return dx

    def accumulate_weight_grad(self, dW_sn):
        """Add ``dL/dW`` for a gradient ``dW_sn`` with respect to the normalized weight of the
        last forward pass (used by the gradient penalty)."""
        self._accumulate(W=F.spectral_norm_backward(dW_sn, self._need_cache()))

    def weight(self):
        r"""The normalized weight :math:`W / \sigma` of the last forward pass."""
        M, W_sn = self._need_cache()[:2]
        return W_sn.reshape(self.params["W"].shape)

    def __repr__(self):
        return f"SpectralNorm({self.layer!r})"


def spectral_norm(net, rng=None):
    """``net`` with every Dense and Conv2d layer wrapped in :class:`SpectralNorm`.

    A :class:`Sequential` is changed in place (and returned); a single layer is returned
    wrapped. Layers already wrapped are left alone.
    """
    if isinstance(net, Sequential):
        for i, layer in enumerate(net.layers):
            if type(layer) in (Dense, Conv2d):
                net.layers[i] = SpectralNorm(layer, rng)
        return net
    return SpectralNorm(net, rng) if type(net) in (Dense, Conv2d) else net
# -- remedies against mode collapse: D sees the minibatch; G takes a label ----------------
class MinibatchDiscrimination(Layer):
    r"""Salimans et al.'s minibatch discrimination: ``(N, F) -> (N, F + kernels)``.

    Each row gets, per kernel, how close it lies to the other rows of the
    batch after a learned projection ``T`` (see
    :func:`minigan.functional.minibatch_discrimination_forward`).

    Parameters
    ----------
    in_features : int
    kernels, kernel_dim : int
        ``B`` and ``C``: ``T`` has shape ``(in_features, B * C)``, drawn from N(0, 0.1^2)
        (small, so that the closeness features start away from 0).
    rng, dtype : as for :class:`Dense`
    """

    def __init__(self, in_features, kernels=50, kernel_dim=5, rng=None, dtype=None):
        super().__init__()
        name = "MinibatchDiscrimination"
        self.in_features = _size(name, "in_features", in_features)
        self.kernels = _size(name, "kernels", kernels)
        self.kernel_dim = _size(name, "kernel_dim", kernel_dim)
        shape = (self.in_features, self.kernels * self.kernel_dim)
        self._add_param("T", 0.1 * backend.rng(rng).standard_normal(shape), dtype)

    def forward(self, x):
        out, self._cache = self._apply(F.minibatch_discrimination_forward, x, self.params["T"],
                                       self.kernels)
        return out

    def backward(self, dout, input_grad=True):
        dx, dT = self._apply(F.minibatch_discrimination_backward, dout, self._need_cache())
        self._accumulate(T=dT)
        return dx

    def __repr__(self):
        return f"MinibatchDiscrimination({self.in_features}, {self.kernels}, {self.kernel_dim})"


class MinibatchStdDev(Layer):
    """Karras et al.'s minibatch standard deviation: one more feature or channel.

    See :func:`minigan.functional.minibatch_stddev_forward`; no parameters.

    Parameters
    ----------
    group_size : int, optional (default: the whole batch)
    eps : float
        Above 0 (0 gives a collapsed batch, the one this layer is for, a gradient of 0 / 0).
    """

    def __init__(self, group_size=None, eps=1e-8):
        super().__init__()
        if group_size is not None:
            group_size = _size("MinibatchStdDev", "group_size", group_size)
        self.group_size, self.eps = group_size, _denominator_eps("MinibatchStdDev", eps)

    def forward(self, x):
        out, self._cache = self._apply(F.minibatch_stddev_forward, x, self.group_size, self.eps)
        return out

    def backward(self, dout, input_grad=True):
        return self._apply(F.minibatch_stddev_backward, dout, self._need_cache())

    def __repr__(self):
        return "MinibatchStdDev()" if self.group_size is None else \
            f"MinibatchStdDev(group_size={self.group_size})"


class Pack(Layer):
    """PacGAN's packing, the first layer of a packed D: ``(N, ...) -> (N / m, m * ...)``.

    See :func:`minigan.functional.pack_forward`.
    """

    def __init__(self, m):
        super().__init__()
        self.m = _size("Pack", "m", m)

    def forward(self, x):
        out, self._cache = self._apply(F.pack_forward, x, self.m)
        return out

    def backward(self, dout, input_grad=True):
        return self._apply(F.pack_backward, dout, self._need_cache())

    def __repr__(self):
        return f"Pack({self.m})"


class ConditionalGenerator(Layer):
    """A generator of labelled samples: ``[z, c] -> [G([z, c]), c]``.

    The input is the noise with the one-hot label ``c`` (``classes`` last
    columns) appended; the wrapped ``net`` maps it to an image, and the label
    is appended again to the image (as features of a row, or as constant
    channel maps: :func:`minigan.functional.label_concat_forward`), so that
    the discriminator judges the pair (image, label) and the GAN's steps need
    not know about labels. ``params``, ``grads`` and ``buffers`` are ``net``'s
    own, under the same names, so a checkpoint of ``net`` fits.

    Parameters
    ----------
    net : Layer, ``(N, noise_dim + classes) -> (N, F)`` or ``(N, C, H, W)``
    classes : int
    """

    def __init__(self, net, classes=10):
        self.net, self.classes = net, _size(type(self).__name__, "classes", classes)
        self.training, self.frozen, self._cache = True, False, None

    params = property(lambda self: self.net.params)
    grads = property(lambda self: self.net.grads)
    buffers = property(lambda self: self.net.buffers)

    def sublayers(self):
        return (self.net,)

    def images(self, zc):
        """``net([z, c])``: the images alone, without the label appended."""
        return self._net_forward(zc)

    def forward(self, zc):
        c = zc[:, zc.shape[1] - self.classes:]
        out, self._cache = self._apply(F.label_concat_forward, self._net_forward(zc), c)
        return out

    def _net_forward(self, zc):
        """``net.forward(zc)``; a ValueError of net's (a layer's wrong input) also says what
        this generator's input is: plain noise, without the label, failed in net's first
        layer, which named neither labels nor the fix."""
        try:
            return self.net.forward(zc)
        except ValueError as exc:
            raise ValueError(f"{exc}; {self._input_said()}") from None

    def _input_said(self):
        return (f"a ConditionalGenerator's input is the noise with a one-hot label joined as "
                f"its last {self.classes} columns: "
                "minigan.gan.conditional.labelled_noise(z, labels)")

    def backward(self, dout, input_grad=True):
        dx, dc = self._apply(F.label_concat_backward, dout, self._need_cache())
        dzc = _not_a_view_of(self.net.backward(dx, input_grad=input_grad), dout)
        if dzc is not None:              # c reaches the output twice: through net and directly
            dzc[:, dzc.shape[1] - self.classes:] += dc
        return dzc

    def parameters(self):
        return self.net.parameters()

    def zero_grad(self):
        self.net.zero_grad()

    def __repr__(self):
        return f"ConditionalGenerator({self.classes} classes, {self.net!r})"


def _not_a_view_of(array, caller):
    """``array``, or a copy of it when it may share memory with ``caller``'s array: a gradient
    added to in place must not write into the upstream gradient the caller passed in (an
    identity-like net, a Flatten, hands back a view of it)."""
    if array is None or not backend.get_array_module(array).may_share_memory(array, caller):
        return array
    return array.copy()


class LabelledSequential(Sequential):
    r"""A chain of layers that joins the label to the input of every :class:`Dense` layer
    in it (not one wrapped in another layer, such as :class:`SpectralNorm`): a conditional
    generator's net told its label at each layer, not only at its input.

    The input is ``[z, c]`` with the one-hot label ``c`` in its last ``classes`` columns (what
    :class:`ConditionalGenerator` and :class:`SelfConditionedGenerator` give their net); the
    first Dense layer takes it as it is, each later Dense layer takes ``[h, c]``
    (:func:`minigan.functional.label_concat_forward`). With one-hot ``c``, ``[h, c] W = h W_h +
    W_c[c]``: each later layer adds a row of biases of the class's own, where a label at the
    input alone reaches them only through the activations between.

    Backward: each join splits its gradient (:func:`minigan.functional.label_concat_backward`)
    into the layer input's part, which goes on down the chain, and the label's, which is
    added to the input's last ``classes`` columns: ``c`` reaches the output through every
    join.

    Parameters
    ----------
    *layers : Layer
        As :class:`Sequential`'s; every Dense layer after the first takes ``classes`` more
        inputs than the layer before it gives.
    classes : int, >= 1
    """

    def __init__(self, *layers, classes):
        super().__init__(*layers)
        self.classes = _size("LabelledSequential", "classes", classes)
        dense = [i for i, layer in enumerate(self.layers) if isinstance(layer, Dense)]
        self.joins = tuple(dense[1:])      # the layers whose input is [h, c]

    def forward(self, x):
        c = x[:, x.shape[1] - self.classes:]
        self._cache = []                   # each join's cache, in the order of the joins
        took = self._input_dtypes = []     # each layer's input's: what its dx must be in
        for i, layer in enumerate(self.layers):
            if i in self.joins:
                x, cache = self._apply(F.label_concat_forward, x, c)
                self._cache.append(cache)
            took.append(getattr(x, "dtype", None))
            x = layer.forward(x)
        return x

    def passes(self, x):
        c = x[:, x.shape[1] - self.classes:]
        took = self._input_dtypes = []
        for i, layer in enumerate(self.layers):
            if i in self.joins:
                x = self._apply(F.label_concat_forward, x, c)[0]
            took.append(getattr(x, "dtype", None))
            out = layer.forward(x)
            yield layer, x, out
            x = out

    def backward(self, dout, input_grad=True):
        caches, dc, upstream, took = list(self._need_cache()), 0, dout, self._took()
        for i in range(len(self.layers) - 1, -1, -1):
            given, dout = dout, self.layers[i].backward(dout, input_grad=input_grad or i > 0)
            self._check_dx(i, given, dout, took)
            if i in self.joins:
                dout, dc_join = self._apply(F.label_concat_backward, dout, caches.pop())
                dc = dc + dc_join
        if self.joins and dout is not None:
            dout = _not_a_view_of(dout, upstream)
            dout[:, dout.shape[1] - self.classes:] += dc
        return dout

    def __repr__(self):
        inner = "\n".join(f"  ({i}) {'[h, c] -> ' if i in self.joins else ''}{layer!r}"
                          for i, layer in enumerate(self.layers))
        return f"LabelledSequential({self.classes} classes,\n{inner}\n)"


class SelfConditionedGenerator(ConditionalGenerator):
    """A generator that draws its own label from its noise: ``z -> [G([0, z_1.., c]), c]``.

    ``c`` is the place of ``z[:, 0]`` among the sorted ``cuts`` (one-hot,
    :func:`minigan.functional.label_from_noise_forward`, which passes the other coordinates
    on and 0 in place of the first): with the cuts at the quantiles of the prior's first
    coordinate at the classes' cumulative shares, class ``k`` comes with its share. So the
    pair is an unconditional generator, a function of ``z`` alone that takes the run's
    plain noise, while D still judges (image, label) pairs as in a conditional GAN: the
    self-conditioned GAN, whose labels are groups of the training images it finds itself
    (:mod:`minigan.gan.clusters`), not the digits' labels.

    Parameters
    ----------
    net : Layer, ``(N, noise_dim + classes) -> (N, F)`` or ``(N, C, H, W)``
    classes : int, >= 1
    cuts : array of shape (classes - 1,), optional
        Sorted thresholds on ``z[:, 0]``, a buffer (saved and loaded with the weights).
        Default: equal shares under a standard normal ``z[:, 0]``.
    dtype : float32 or float64, optional
    """

    def __init__(self, net, classes, cuts=None, dtype=None):
        super().__init__(net, classes)
        if cuts is None:
            cuts = F.label_cuts(np.ones(self.classes), "gaussian")
        cuts = np.asarray(backend.to_host(cuts), dtype=np.float64)
        if cuts.shape != (self.classes - 1,) or not np.all(np.diff(cuts) >= 0):
            raise ValueError(f"cuts must be {self.classes - 1} sorted numbers, got "
                             f"{np.array2string(cuts, threshold=8)}")
        dtype = backend.float_dtype(dtype, f"{type(self).__name__}: dtype")
        self.cuts = backend.asarray(cuts.astype(dtype))
        self._label_cache = None

    buffers = property(lambda self: {**self.net.buffers, "label_cuts": self.cuts})

    def labelled_noise(self, z):
        """``[0, z_1, ..., one_hot(c)]``: the net's input, the noise with the label it
        chooses in place of its first coordinate."""
        return self._apply(F.label_from_noise_forward, z, self.cuts)[0]

    def images(self, z):
        """``net([z, c])``: the images alone, without the label appended."""
        return self._net_forward(self.labelled_noise(z))

    def _input_said(self):
        return ("a SelfConditionedGenerator's input is the noise alone, without a label: it "
                "draws its label from the noise's first coordinate")

    def forward(self, z):
        zc, self._label_cache = self._apply(F.label_from_noise_forward, z, self.cuts)
        return super().forward(zc)

    def backward(self, dout, input_grad=True):
        dzc = super().backward(dout, input_grad=input_grad)
        if dzc is None:
            return None
        if self._label_cache is None:
            raise RuntimeError(f"{self!r}: backward() called before forward()")
        return self._apply(F.label_from_noise_backward, dzc, self._label_cache)

    def __repr__(self):
        return f"SelfConditionedGenerator({self.classes} classes, {self.net!r})"


def generated_images(generator, z):
    """A generator's images of its input ``z``: a :class:`ConditionalGenerator`'s without
    the label it appends (its :meth:`~ConditionalGenerator.images`), any other's ``forward``."""
    if isinstance(generator, ConditionalGenerator):
        return generator.images(z)
    return generator.forward(z)


def inner_layers(layer):
    """``(layer inside, declared)`` for every layer inside ``layer``: those ``walk()`` finds
    (``declared``) and, beyond them, those held as an attribute (or in a list, a tuple or
    a dict attribute) of a layer found; each once."""
    found, todo = {id(layer): layer}, [layer]
    declared = {id(inner) for inner in layer.walk()} if hasattr(layer, "walk") else set()
    while todo:
        held = []
        for value in getattr(todo.pop(), "__dict__", {}).values():
            values = value.values() if isinstance(value, dict) else value
            held += [v for v in (values if isinstance(values, list | tuple) else (value,))
                     if hasattr(v, "params") and hasattr(v, "backward")
                     and not isinstance(v, type)]      # a class held (a factory): no layer
        for inner in held:
            if id(inner) not in found:
                found[id(inner)] = inner
                todo.append(inner)
    return [(inner, id(inner) in declared) for inner in found.values() if inner is not layer]


def refuse_unheld(what, layer):
    """Nothing, or a ValueError (its message begins with ``what``) naming a parameter or
    buffer that ``layer`` does not reach: one of a layer inside it that is not in its own
    ``params`` or ``buffers`` (the arrays themselves; a parameter of a part held fixed may
    be among its buffers), or a parameter that its ``parameters()`` does not list. Such a
    parameter
    is neither checked nor trained (an optimizer takes ``parameters()``), and such a buffer
    neither saved (``state_dict()``) nor replayed. The optimizers and
    :class:`~minigan.gan.GAN` call it on the model they are given, the gradient checks on the
    layer they check."""
    own = {kind: {id(a) for a in getattr(layer, kind, {}).values()}
           for kind in ("params", "buffers")}
    for inner, declared in inner_layers(layer):
        for kind, why in (("params", "neither an optimizer built from it (parameters()) "
                                     "nor the gradient checks reach it, so it never trains"),
                          ("buffers", "state_dict() does not save it and the checks do not "
                                      "replay it")):
            # a parameter of a part held fixed may be among the layer's buffers (constants)
            reached = own[kind] | (own["buffers"] if kind == "params" else set())
            for k, a in getattr(inner, kind, {}).items():
                if id(a) not in reached:
                    sub = "" if declared else ", and return those layers from sublayers()"
                    raise ValueError(
                        f"{what}: {kind[:-1].replace('param', 'parameter')} '{k}' of {inner!r} "
                        f"inside it is not among its {kind}: {why}. Hold the parameters, "
                        "gradients and buffers of the layers it is made of in its own dicts, "
                        "as Sequential does (its params, grads and buffers gather its layers') "
                        "or SpectralNorm (self.params, self.grads = layer.params, layer.grads)"
                        f"{sub}; a part held fixed, never trained, keeps its parameters in its "
                        "buffers")
    if hasattr(layer, "parameters"):
        listed = {id(p) for p, _ in layer.parameters()}
        for k, p in layer.params.items():
            if id(p) not in listed:
                raise ValueError(f"{what}: parameter '{k}' is not in its parameters(), the list "
                                 "an optimizer built from it takes, so it never trains; list "
                                 "every parameter there (Layer.parameters() lists params)")
