"""Array backend: NumPy on the CPU, CuPy on the GPU, one ``xp`` for both.

Every operation in minigan is written once against an array module ``xp``
(``numpy`` or ``cupy``). The active module is chosen here::

    from minigan import backend
    backend.use("cpu")      # NumPy
    backend.use("gpu")      # CuPy; raises BackendError when no GPU is usable
    backend.use("auto")     # CuPy if it imports and sees a GPU, else NumPy
    backend.use(None)       # what $MINIGAN_DEVICE asks for (auto when unset)

The environment variable ``MINIGAN_DEVICE`` (cpu | gpu | auto) sets the
device when the backend is first used, unless ``use`` was called before.
This module is the only one that reads it: :func:`requested_device` tells
the rest of the library (the command line's defaults) what it asks for.

Randomness always comes from a host ``numpy.random.Generator`` and is moved
to the device afterwards, so one seed draws the same random numbers on CPU and GPU
(the training that uses them differs in the last bits of its products, which a GAN
amplifies: a GPU run does not repeat a CPU run's numbers).

The default floating dtype is float32; ``set_default_dtype("float64")``
switches it (the gradient tests do).

An operation's bodies, one mechanism: :func:`op` makes the plain formula the
operation, and a faster body for NumPy (``@f.cpu``) or a CUDA kernel for CuPy
arrays (``@f.gpu``) is registered beside it; a call runs the body of the device
its arrays live on. The plain formula stays the reference the faster bodies are
tested against.
"""

from __future__ import annotations

import functools
import os
import warnings

import numpy as np

__all__ = [
    "BackendError",
    "use",
    "requested_device",
    "device",
    "xp",
    "get_array_module",
    "on_gpu",
    "gpu_available",
    "asarray",
    "as_array_of",
    "to_host",
    "default_dtype",
    "float_dtype",
    "set_default_dtype",
    "seed",
    "rng",
    "randn",
    "uniform",
    "op",
    "operations",
]


class BackendError(RuntimeError):
    """Raised when the requested device cannot be used."""


DEVICE_VARIABLE = "MINIGAN_DEVICE"
#: Where the variable's choice came from, in its messages: a program called backend.use(None)
#: (the command line, when --device was not given).
_NONE_GIVEN = "no device given: backend.use(None), or no --device"


def _device_variable():
    """``$MINIGAN_DEVICE``, or None when unset or empty: the one read of the variable."""
    return os.environ.get(DEVICE_VARIABLE) or None


def requested_device() -> str:
    """The device ``$MINIGAN_DEVICE`` asks for, ``"auto"`` when it is unset or empty.

    Read at each call (not cached), so it is what ``use(None)`` and the
    command line's ``--device`` default apply now.
    """
    return _device_variable() or "auto"


_state = {
    "xp": np,
    "device": "cpu",
    "dtype": np.dtype(np.float32),
    "rng": np.random.default_rng(),
    "pending_env": _device_variable(),  # applied on first use, see _apply_environment
}


def _import_cupy():
    """Return ``(cupy, None)`` when CuPy imports, sees a GPU and runs on it, else
    ``(None, reason)``."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a CUDA library missing at import
        return None, (
            f"CuPy is not importable ({type(exc).__name__}: {exc}). Install the wheel that "
            "matches your CUDA driver: pip install 'cupy-cuda12x' (CUDA 12) or "
            "'cupy-cuda13x' (CUDA 13)"
        )
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return None, (f"CuPy is installed but CUDA is not usable ({type(exc).__name__}: {exc})"
                      f"{_driver_hint(exc)}")
    if n < 1:
        return None, "CuPy is installed but no NVIDIA GPU is visible"
    reason = _probe(cupy)
    if reason is not None:
        return None, (
            f"CuPy sees a GPU but cannot run on it ({reason}); install the CUDA libraries "
            "CuPy needs for your CUDA version (NVRTC compiles the kernels, cuBLAS multiplies: "
            "pip install nvidia-cuda-nvrtc-cu12 nvidia-cublas-cu12 for CUDA 12)"
        )
    return cupy, None


def _driver_hint(exc):
    """What CUDA's "insufficient driver" error means here, or "": the CUDA runtime gives it both
    for a driver older than the runtime in the CuPy wheel and for no NVIDIA driver at all."""
    text = str(exc)
    if "InsufficientDriver" not in text and "driver version is insufficient" not in text:
        return ""
    return ("; no NVIDIA driver was found, or it is older than the CUDA of this CuPy wheel "
            "(nvidia-smi names the driver and the newest CUDA it runs: cupy-cuda12x needs one "
            "for CUDA 12, cupy-cuda13x one for CUDA 13)")


def _probe(cupy):
    """Run once what training runs first on a GPU: a tiny kernel (compiled by NVRTC) and a
    2 x 2 product (cuBLAS). Returns None when both give the right numbers, else what failed.

    A CuPy install can see a GPU and still miss the CUDA libraries it loads at the first
    kernel or product; without this, such an install would fail at the first training step.
    The result is remembered for this ``cupy`` module.
    """
    seen = _state.get("probed")
    if seen is not None and seen[0] is cupy:
        return seen[1]
    try:
        a = cupy.asarray(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
        doubled = cupy.ElementwiseKernel("T x", "T y", "y = x + x;", "minigan_probe")(a)
        product = a @ a
        right = (np.array_equal(cupy.asnumpy(doubled), [[2.0, 4.0], [6.0, 8.0]])
                 and np.array_equal(cupy.asnumpy(product), [[7.0, 10.0], [15.0, 22.0]]))
        reason = None if right else "a test kernel and product gave wrong numbers"
    except Exception as exc:  # NVRTC or cuBLAS missing, a driver error: all say the same
        reason = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    _state["probed"] = (cupy, reason)
    return reason


def gpu_available() -> bool:
    """True when CuPy imports, sees a GPU and runs a kernel and a product on it."""
    return _import_cupy()[0] is not None


def use(name: str | None = "auto") -> str:
    """Select the array backend and return the device actually chosen.

    Parameters
    ----------
    name : {"cpu", "gpu", "auto"} or None
        ``"cpu"`` selects NumPy. ``"gpu"`` selects CuPy and raises
        :class:`BackendError` saying what is missing when no GPU is usable.
        ``"auto"`` selects CuPy only when it imports, sees a GPU and runs on it (a tiny
        kernel and a product, tried once); when CuPy sees a GPU it cannot run on, ``auto``
        warns why and selects NumPy.
        None applies :func:`requested_device` (``$MINIGAN_DEVICE``, else auto).
    """
    _state.pop("pending_env", None)  # an explicit choice wins over MINIGAN_DEVICE
    from_environment = name is None
    name = str(requested_device() if name is None else name).lower()
    if name in ("cuda",):
        name = "gpu"
    if name not in ("cpu", "gpu", "auto"):
        if from_environment:        # not given: say where it came from
            raise ValueError(f"{DEVICE_VARIABLE}={_device_variable()} ({_NONE_GIVEN}): "
                             f"unknown device {name!r}; set {DEVICE_VARIABLE} to cpu, gpu or "
                             f"auto (or unset it), or give one: backend.use('cpu') "
                             f"(--device cpu)")
        raise ValueError(f"unknown device {name!r}: use 'cpu', 'gpu' or 'auto'")
    if name == "cpu":
        _state.update(xp=np, device="cpu")
        return "cpu"
    cupy, reason = _import_cupy()
    if cupy is None:
        if name == "gpu":
            raise gpu_unusable(reason, from_environment)
        if reason.startswith("CuPy sees a GPU"):      # a GPU that was meant to be used
            warnings.warn(f"--device auto: {reason}; running on the CPU", stacklevel=2)
        _state.update(xp=np, device="cpu")
        return "cpu"
    _state.update(xp=cupy, device="gpu")
    return "gpu"


def gpu_unusable(reason, from_environment=False):
    """The :class:`BackendError` of a GPU asked for and not usable, naming where it was
    asked for: ``backend.use("gpu")`` (``--device gpu`` on the command line), or
    ``MINIGAN_DEVICE`` when no device was given and the variable chose
    (``from_environment``)."""
    if not from_environment:
        error = BackendError(f"backend.use('gpu') (--device gpu) needs a usable GPU: {reason}. "
                             f"Use backend.use('cpu') (--device cpu).")
    else:
        error = BackendError(f"{DEVICE_VARIABLE}={_device_variable()} ({_NONE_GIVEN}) needs "
                             f"a usable GPU: {reason}. Use backend.use('cpu') (--device cpu), "
                             f"or unset {DEVICE_VARIABLE}.")
    error.reason = reason
    return error


def device() -> str:
    """The active device: ``"cpu"`` or ``"gpu"``."""
    _apply_environment()
    return _state["device"]


def xp():
    """The active array module (``numpy`` or ``cupy``)."""
    _apply_environment()
    return _state["xp"]


def on_gpu(*arrays) -> bool:
    """True when any of ``arrays`` is a CuPy array: the one test of "is this on the GPU"."""
    for a in arrays:  # a loop, not any(<generator>): called several times per layer
        if type(a).__module__.startswith("cupy"):
            return True
    return False


def get_array_module(*arrays):
    """The array module that owns ``arrays``: ``cupy`` if any is a CuPy array, else ``numpy``."""
    if on_gpu(*arrays):
        import cupy

        return cupy
    return np


def op(reference):
    """Decorator: ``reference``, the plain formula of an operation, becomes the operation.

    The returned function runs ``reference`` unless a faster body was registered for
    the device of its arguments, beside the formula::

        @backend.op
        def relu_forward(x):            # the formula, what a reader studies
            ...

        @relu_forward.cpu
        def _relu_forward_cpu(x):       # the same numbers, faster on NumPy arrays
            ...

        @relu_forward.gpu
        def _relu_forward_gpu(x):       # one CUDA kernel for CuPy arrays
            ...

    A call goes to the ``gpu`` body when any positional argument is a CuPy array,
    else to the ``cpu`` body; a device without a body of its own runs ``reference``
    (written against ``xp``, it runs on both). ``f.reference`` is the formula,
    ``f.bodies`` the bodies by device (what the tests compare with it).
    """
    bodies = {"cpu": reference, "gpu": reference}

    @functools.wraps(reference)
    def operation(*args, **kwargs):
        for a in args:      # on_gpu, inlined: it runs on every call of every operation
            if type(a).__module__.startswith("cupy"):
                return bodies["gpu"](*args, **kwargs)
        return bodies["cpu"](*args, **kwargs)

    def register(device):
        def add(body):
            bodies[device] = body
            return body
        add.__doc__ = f"Register ``body`` as the {device.upper()} body of {reference.__name__}."
        return add

    operation.reference, operation.bodies = reference, bodies
    operation.cpu, operation.gpu = register("cpu"), register("gpu")
    _operations.append(operation)
    return operation


_operations = []


def operations():
    """Every operation made by :func:`op` so far (those of the modules imported), in the order
    they were made: what a benchmark walks to time a GPU body against its plain formula."""
    return list(_operations)


def default_dtype() -> np.dtype:
    """The floating dtype new parameters and data are created in (float32 unless set)."""
    return _state["dtype"]


def float_dtype(dtype=None, what="dtype") -> np.dtype:
    """``dtype`` as a NumPy dtype, :func:`default_dtype` when None; ``ValueError`` naming
    ``what`` unless it is float32 or float64, the two minigan computes in (an integer
    parameter cannot take a step; float16 loses the small updates)."""
    if dtype is None:
        return default_dtype()
    try:
        checked = np.dtype(dtype)
    except TypeError:                      # a misspelled name: "data type 'flaot32' not understood"
        raise ValueError(f"{what} must be float32 or float64, got {dtype!r}") from None
    if checked not in (np.float32, np.float64):
        raise ValueError(f"{what} must be float32 or float64, got {checked}")
    return checked


def set_default_dtype(dtype) -> None:
    """Set the default floating dtype: ``"float32"`` or ``"float64"``."""
    _state["dtype"] = float_dtype(dtype, "default dtype")


def asarray(a, dtype=None):
    """Move ``a`` to the active device (no copy when it is already there)."""
    _apply_environment()
    return _state["xp"].asarray(a, dtype=dtype)


def as_array_of(xp, a, dtype=None):
    """``a`` (a NumPy or CuPy array, or Python numbers) as an array of the module ``xp``: the
    module of the arrays it is going to meet (a model's parameters, say).

    To CuPy by ``xp.asarray``; to NumPy by :func:`to_host`, since CuPy refuses to turn a
    device array into a NumPy one implicitly (``numpy.asarray`` of it raises).
    """
    if xp is np:
        return np.asarray(to_host(a), dtype=dtype)
    return xp.asarray(a, dtype=dtype)


def to_host(a) -> np.ndarray:
    """Bring an array (NumPy or CuPy) back to a host ``numpy.ndarray``."""
    if on_gpu(a):
        return a.get()
    return np.asarray(a)


def seed(value: int | None) -> np.random.Generator:
    """Reseed the library's default host generator and return it. ``value``: a whole number
    >= 0, a ``numpy.random.SeedSequence`` or None (fresh entropy)."""
    try:
        generator = np.random.default_rng(value)
    except (TypeError, ValueError) as exc:   # NumPy's words name neither the seed nor the value
        raise ValueError(f"seed must be a whole number >= 0, a numpy.random.SeedSequence or None, "
                         f"got {value!r} ({exc})") from None
    _state["rng"] = generator
    return _state["rng"]


def rng(generator: np.random.Generator | None = None) -> np.random.Generator:
    """``generator`` itself, or the library's default host generator when None; a TypeError
    for anything else (a seed given where a generator is wanted)."""
    if generator is None:
        return _state["rng"]
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or None, got {generator!r}: for "
                        f"a seed, pass numpy.random.default_rng({generator!r})")
    return generator


def randn(shape, generator=None, dtype=None):
    """Standard normal samples drawn on the host, returned on the active device, in
    ``dtype`` (float32 or float64; :func:`default_dtype` when None). Another dtype is a
    ValueError: an integer one would truncate every draw to a whole number."""
    dtype = float_dtype(dtype, "randn: dtype")
    host = rng(generator).standard_normal(shape).astype(dtype, copy=False)
    return asarray(host)


def uniform(low, high, shape, generator=None, dtype=None):
    """Uniform samples in ``[low, high)`` drawn on the host, returned on the active device, in
    ``dtype`` (float32 or float64; :func:`default_dtype` when None; another is a ValueError)."""
    dtype = float_dtype(dtype, "uniform: dtype")
    host = rng(generator).uniform(low, high, shape).astype(dtype, copy=False)
    return asarray(host)


def _apply_environment():
    """Apply ``MINIGAN_DEVICE`` on first use of the backend, unless ``use`` came first.

    A device that cannot be used is reported as a warning and the CPU is kept
    (importing or using the library must not fail on it); ``use("gpu")``
    raises the full error when called explicitly.
    """
    name = _state.pop("pending_env", None)
    if not name:
        return
    try:
        use(name)
    except BackendError as exc:
        warnings.warn(f"{DEVICE_VARIABLE}={name} asks for a GPU that is not usable: "
                      f"{getattr(exc, 'reason', exc)}; staying on the CPU (unset "
                      f"{DEVICE_VARIABLE} for no warning)", stacklevel=3)
    except ValueError as exc:
        warnings.warn(f"{DEVICE_VARIABLE}={name}: {exc}; staying on the CPU", stacklevel=3)
