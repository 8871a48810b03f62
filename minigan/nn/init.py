r"""Weight initializers.

Each initializer is a function ``f(shape, fans, rng) -> numpy.ndarray`` (on
the host, float64; the layer casts it and moves it to the device). ``fans`` is
``(fan_in, fan_out)`` from :func:`compute_fans`; ``rng`` is a
``numpy.random.Generator``. A layer takes ``weight_init`` either by name
(a key of :data:`INITIALIZERS`) or as such a callable.

==============  =====================================================  ==========================
name            distribution                                           variance
==============  =====================================================  ==========================
xavier_normal   :math:`N(0, \sigma^2)`                                 :math:`2/(n_{in}+n_{out})`
xavier_uniform  :math:`U(-a, a)`, :math:`a=\sqrt{6/(n_{in}+n_{out})}`  :math:`2/(n_{in}+n_{out})`
xavier_fan_in   :math:`N(0, \sigma^2)`  (a.k.a. LeCun normal)          :math:`1/n_{in}`
he_normal       :math:`N(0, \sigma^2)`                                 :math:`2/n_{in}`
dcgan_normal    :math:`N(0, 0.02^2)`                                   :math:`0.0004`
zeros           all zero                                               0
==============  =====================================================  ==========================

Glorot & Bengio (2010) proposed :math:`\mathrm{Var}(W) = 2/(n_{in}+n_{out})`, a
compromise between keeping the forward signal (:math:`1/n_{in}`) and the
backward signal (:math:`1/n_{out}`) at constant variance; the
:math:`1/n_{in}` variant keeps only the forward signal. He et al. (2015) double
it for ReLU, which zeroes half of its inputs. Radford et al. (2015) initialize
DCGANs from :math:`N(0, 0.02^2)`, a standard deviation of 0.02.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "compute_fans",
    "xavier_normal",
    "xavier_uniform",
    "xavier_fan_in",
    "he_normal",
    "dcgan_normal",
    "zeros",
    "INITIALIZERS",
    "get",
]


def compute_fans(shape, layout="dense"):
    """Fan-in and fan-out of a weight array.

    Parameters
    ----------
    shape : tuple of int
    layout : {"dense", "conv", "conv_transpose"}
        ``"dense"``: ``(in, out)``, minigan's Dense weight.
        ``"conv"``: ``(out, in, kh, kw)``, a Conv2d weight: each output sees
        ``in*kh*kw`` inputs and each input feeds ``out*kh*kw`` outputs.
        ``"conv_transpose"``: ``(in, out, kh, kw)``, a ConvTranspose2d weight
        (``in*kh*kw`` and ``out*kh*kw``, ignoring the stride). ``torch.nn.init`` reads such a
        weight as a Conv2d's, the other way round (fan-in ``out*kh*kw``): Xavier's
        initializers are the same either way, He's differ by the square root of ``out / in``.

    Returns
    -------
    (fan_in, fan_out) : tuple of int
    """
    shape = tuple(int(s) for s in shape)
    if layout == "dense":
        if len(shape) != 2:
            raise ValueError(f"a dense weight is 2-D (in, out), got shape {shape}")
        return shape[0], shape[1]
    if len(shape) < 3:
        raise ValueError(f"a {layout} weight has a kernel, got shape {shape}")
    receptive = math.prod(shape[2:])
    if layout == "conv":
        return shape[1] * receptive, shape[0] * receptive
    if layout == "conv_transpose":
        return shape[0] * receptive, shape[1] * receptive
    raise ValueError(f"unknown layout {layout!r}: use 'dense', 'conv' or 'conv_transpose'")


def xavier_normal(shape, fans, rng):
    """Glorot normal: N(0, 2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def xavier_uniform(shape, fans, rng):
    """Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)), variance 2 / (fan_in + fan_out)."""
    fan_in, fan_out = fans
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape)


def xavier_fan_in(shape, fans, rng):
    """The 1 / fan_in variant (LeCun normal): keeps the forward signal's variance."""
    return rng.normal(0.0, math.sqrt(1.0 / fans[0]), size=shape)


def he_normal(shape, fans, rng):
    """He normal: N(0, 2 / fan_in), for layers followed by ReLU."""
    return rng.normal(0.0, math.sqrt(2.0 / fans[0]), size=shape)


def dcgan_normal(shape, fans, rng):
    """N(0, 0.02^2), the DCGAN initialization of Radford et al. (2015)."""
    return rng.normal(0.0, 0.02, size=shape)


def zeros(shape, fans, rng):
    """All zeros (biases)."""
    return np.zeros(shape)


#: The initializers by name: a layer's ``weight_init`` may be any of
#: these keys, resolved by :func:`get`; the table above gives each one's distribution.
INITIALIZERS = {
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "xavier_fan_in": xavier_fan_in,
    "he_normal": he_normal,
    "dcgan_normal": dcgan_normal,
    "zeros": zeros,
}


def get(init):
    """Resolve ``init`` (a name from :data:`INITIALIZERS` or a callable) to a callable."""
    if callable(init):
        return init
    try:
        return INITIALIZERS[init]
    except KeyError:
        raise ValueError(
            f"unknown weight_init {init!r}; use one of {sorted(INITIALIZERS)} "
            "or a callable f(shape, fans, rng)"
        ) from None
