"""A stand-in for the part of CuPy that minigan uses: the GPU code path, run on the CPU.

Tests only. Where no GPU is present, the tests marked ``gpu`` run against this module
installed as ``cupy`` (their names say ``numpy-standin``); on a GPU they run against CuPy,
which stays the authority. What it does:

- its ``ndarray`` holds a NumPy array and is a ``cupy.ndarray`` to minigan (its type's
  module is ``cupy``), so every dispatch on "is this on the GPU" takes the GPU path;
- it refuses what CuPy refuses: converting a device array to NumPy implicitly
  (``numpy.asarray(a)``; ``a.get()`` and ``cupy.asnumpy`` are the explicit ways), mixing
  NumPy arrays and device arrays in one operation or kernel, dtypes CuPy has no kernels
  for, and names that ``cupy`` does not have (``cupy.errstate`` is ``cupyx``'s);
- like CuPy's, its reductions and elements stay on the device: ``a.sum()``, ``a.max()``,
  ``a[i, j]`` are 0-d device arrays, not NumPy scalars (``float()`` of one is a read back
  to the host), and a device array is no index (CuPy's ``ndarray`` has no ``__index__``:
  ``range(a.sum())`` or ``rows[a.argmax()]`` of a host list raise);
- its ``ElementwiseKernel`` runs the kernel's CUDA body compiled for the CPU by the host
  C++ compiler, laid out as CuPy lays it out (:func:`standalone_source`), with CuPy's
  checks of the arguments and with CuPy's own compile option ``-ftz=true``: float32
  results below the smallest normal float are flushed to zero, as on a GPU;
- its matrix products sum in another order than NumPy's (the reduction split in two
  halves, as a split-K GEMM does), so a comparison with the CPU sees the rounding
  differences a GPU gives, not the same bits;
- ``install(broken=...)`` makes it a GPU on which kernels do not compile (``"nvrtc"``) or
  products fail (``"cublas"``), the installs minigan must refuse to use.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import hashlib
import itertools
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from minigan.backend.kernels import CUPY_OPTIONS  # what CuPy adds to every kernel's options

#: The dtypes CuPy has kernels for.
_KINDS = "biufc"
_REFUSED_METHODS = {"ctypes", "tofile", "dump", "dumps", "itemset", "newbyteorder", "byteswap",
                    # NumPy's ndarray has these, CuPy 14's has not
                    "getfield", "setfield", "setflags", "resize", "to_device"}


class StandinUnavailable(RuntimeError):
    """The stand-in cannot run kernels here (no C++ compiler)."""


def _refuse_numpy(value, where):
    if isinstance(value, np.ndarray):
        raise TypeError(f"Unsupported type {type(value)} in {where}: a NumPy array cannot be "
                        "mixed with cupy arrays (move it with cupy.asarray)")


def _unwrap(value, where):
    """``value`` with every stand-in array replaced by its NumPy array; NumPy arrays refused."""
    if isinstance(value, ndarray):
        return value._data
    _refuse_numpy(value, where)
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, where) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v, where) for k, v in value.items()}
    return value


def _wrap(value):
    if isinstance(value, np.ndarray):
        return ndarray(value)
    if isinstance(value, np.generic) and value.dtype.kind in _KINDS:   # a reduction, an element:
        return ndarray(np.asarray(value))                              # 0-d, as CuPy's
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _check_dtype(dtype, where):
    dtype = np.dtype(dtype)
    if dtype.kind not in _KINDS:
        raise TypeError(f"Unsupported dtype {dtype} in {where}")
    return dtype


def _split_matmul(a, b, out=None):
    """``a @ b`` summed as two halves of the inner dimension: a GPU's order, not NumPy's."""
    _state_check("cublas")
    k = a.shape[-1] if a.ndim else 0
    if k < 2 or a.ndim == 0 or b.ndim == 0 or a.dtype.kind != "f":
        result = np.matmul(a, b)
    else:
        h = k // 2
        bl, br = (b[:h], b[h:]) if b.ndim == 1 else (b[..., :h, :], b[..., h:, :])
        result = np.matmul(a[..., :h], bl) + np.matmul(a[..., h:], br)
    if out is not None:
        out[...] = result
        return out
    return result


class ndarray(NDArrayOperatorsMixin):  # noqa: N801 - CuPy's name
    """A device array of the stand-in: a NumPy array that refuses to become one implicitly."""

    __array_priority__ = 100

    def __init__(self, data):
        _check_dtype(data.dtype, "cupy.ndarray")
        self._data = data

    # -- what CuPy refuses ---------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use "
                        "`.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = f"numpy.{ufunc.__name__}"
        args = _unwrap(inputs, where)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _unwrap(out, where)
        if ufunc is np.matmul and method == "__call__":
            result = _split_matmul(*args, out=kwargs.get("out", (None,))[0])
        else:
            result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types_, args, kwargs):
        where = f"numpy.{func.__name__}"
        if func.__name__ in _ARRAY_LIKES:          # cupy.shape, cupy.ndim: below
            return globals()[func.__name__](*args, **kwargs)
        if func.__name__ not in _NAMES:
            raise AttributeError(f"module 'cupy' has no attribute '{func.__name__}'")
        return _wrap(func(*_unwrap(args, where), **_unwrap(kwargs, where)))

    # -- the array ---------------------------------------------------------------------------
    shape = property(lambda self: self._data.shape)
    dtype = property(lambda self: self._data.dtype)
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: self._data.size)
    itemsize = property(lambda self: self._data.itemsize)
    nbytes = property(lambda self: self._data.nbytes)
    strides = property(lambda self: self._data.strides)
    flags = property(lambda self: self._data.flags)
    T = property(lambda self: ndarray(self._data.T))

    def get(self, stream=None, order="C", out=None):
        """The explicit copy to the host."""
        return np.array(self._data, order=order)

    def __getitem__(self, key):
        return _wrap(self._data[_unwrap_index(key)])

    def __setitem__(self, key, value):
        self._data[_unwrap_index(key)] = value._data if isinstance(value, ndarray) else value

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        return (_wrap(row) for row in self._data)

    def __float__(self):
        return float(self._data)

    def __int__(self):
        return int(self._data)

    def __bool__(self):
        return bool(self._data)

    def __matmul__(self, other):
        return _wrap(_split_matmul(self._data, _unwrap(other, "cupy.matmul")))

    def __rmatmul__(self, other):
        return _wrap(_split_matmul(_unwrap(other, "cupy.matmul"), self._data))

    def __repr__(self):
        return f"standin.{self._data!r}"

    def astype(self, dtype, copy=True, **kwargs):
        _check_dtype(dtype, "cupy.ndarray.astype")
        return ndarray(self._data.astype(dtype, copy=copy, **kwargs))

    def __getattr__(self, name):
        if name.startswith("__") or name in _REFUSED_METHODS:
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")
        value = getattr(self._data, name)
        if not callable(value):
            return _wrap(value)

        @functools.wraps(value)
        def method(*args, **kwargs):
            where = f"cupy.ndarray.{name}"
            return _wrap(value(*_unwrap(args, where), **_unwrap(kwargs, where)))
        return method


ndarray.__module__ = "cupy"


def _unwrap_index(key):
    """An index: stand-in arrays unwrapped; NumPy arrays are allowed, as CuPy allows them."""
    if isinstance(key, ndarray):
        return key._data
    if isinstance(key, tuple):
        return tuple(_unwrap_index(k) for k in key)
    return key


# -- the module ----------------------------------------------------------------------------------
#: Functions of ``cupy`` that minigan may call (NumPy's of the same name, on device arrays).
_NAMES = set("""
abs absolute add all allclose amax amin any arange arccos arcsin arctan arctan2 argmax argmin
argsort around array_split atleast_1d atleast_2d average bincount broadcast_arrays broadcast_to
ceil clip concatenate copyto cos cosh count_nonzero cumprod cumsum diag diagonal diff divide dot
einsum empty_like equal exp exp2 expand_dims expm1 eye flatnonzero flip floor floor_divide fmax frexp ldexp
fmin full full_like greater greater_equal hstack identity inner isclose isfinite isinf isnan
kron less less_equal linspace log log10 log1p log2 logaddexp logical_and logical_not
logical_or logical_xor matmul max maximum mean median min minimum mod moveaxis multiply
nan_to_num nanmax nanmean nanmin nansum negative nonzero not_equal ones ones_like outer pad
partition percentile power prod ptp ravel reciprocal remainder repeat reshape roll rollaxis
round sign signbit sin sinh sort split sqrt square squeeze stack std subtract sum swapaxes take
take_along_axis tan tanh tensordot tile trace transpose tril triu true_divide trunc unique var
vdot vstack where zeros zeros_like empty may_share_memory size
""".split())
_CONSTANTS = {"inf", "nan", "pi", "e", "newaxis", "float16", "float32", "float64", "int8",
              "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool_",
              "dtype", "finfo", "iinfo", "isscalar", "result_type", "promote_types",
              "issubdtype", "floating", "integer", "number", "generic"}
_CREATION = {"empty", "zeros", "ones", "full", "arange", "eye", "identity", "linspace"}


def _function(name):
    numpy_function = getattr(np, name)
    where = f"cupy.{name}"

    @functools.wraps(numpy_function)
    def function(*args, **kwargs):
        args, kwargs = _unwrap(args, where), _unwrap(kwargs, where)
        if name in ("matmul", "dot") and len(args) == 2:
            return _wrap(_split_matmul(*args))
        if name in _CREATION and kwargs.get("dtype") is not None:
            _check_dtype(kwargs["dtype"], where)
        return _wrap(numpy_function(*args, **kwargs))
    return function


#: Functions of ``cupy`` that take any array-like, a NumPy array too, as CuPy's do.
_ARRAY_LIKES = ("shape", "ndim")


def shape(a):
    """``cupy.shape``: of a device array or, as CuPy's, of anything NumPy reads."""
    return np.shape(a._data if isinstance(a, ndarray) else a)


def ndim(a):
    """``cupy.ndim``: of a device array or, as CuPy's, of anything NumPy reads."""
    return np.ndim(a._data if isinstance(a, ndarray) else a)


def asarray(a, dtype=None, order=None):
    """The host-to-device move: NumPy arrays and Python data are welcome here."""
    if isinstance(a, ndarray):
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    data = np.array(a, dtype=dtype, order=order or "K", copy=True)
    _check_dtype(data.dtype, "cupy.asarray")
    return ndarray(data)


def array(a, dtype=None, copy=True, order="K"):
    if isinstance(a, ndarray):
        return ndarray(np.array(a._data, dtype=dtype, copy=copy, order=order))
    return asarray(a, dtype=dtype, order=order)


def ascontiguousarray(a, dtype=None):
    if not isinstance(a, ndarray):
        raise TypeError(f"Argument 'a' has incorrect type (expected cupy.ndarray, got "
                        f"{type(a).__name__})")
    return ndarray(np.ascontiguousarray(a._data, dtype=dtype))


def asnumpy(a, stream=None, order="C"):
    return a.get(order=order) if isinstance(a, ndarray) else np.asarray(a, order=order)


def get_array_module(*args):
    return sys.modules["cupy"] if any(isinstance(a, ndarray) for a in args) else np


# -- the kernels: CUDA bodies compiled for the CPU ----------------------------------------------
_CTYPES = {"int32": "int", "bool": "bool", "T": "T"}
_NP_TYPES = {"int32": np.int32, "bool": np.bool_}


def params(spec):
    """``[(raw, type, name), ...]`` of a CuPy parameter list such as ``"raw T img, int32 h"``."""
    return [(p.split()[0] == "raw", p.split()[-2], p.split()[-1]) for p in spec.split(",")]


#: What every kernel compiled for the host begins with (once in a file of several kernels).
CPP_HEADER = ("#include <algorithm>\n#include <cmath>\n#include <xmmintrin.h>\n"
              "using std::exp; using std::fabs; using std::log1p; using std::max;\n"
              "using std::min; using std::sqrt;\n")


def standalone_source(source, ctype, target="cuda", ftz=False, symbol=None, header=True):
    """``source`` as a complete file, laid out the way ``cupy.ElementwiseKernel`` lays it out:
    ``T`` a typedef, ``raw`` parameters indexed by hand, the other inputs read and the
    outputs written at element ``i``, one iteration per element.

    ``target="cuda"``: a ``__global__`` kernel with a grid-stride loop (for NVRTC).
    ``target="cpp"``: a plain C++ function looping over ``i`` (for the host compiler); with
    ``ftz`` (x86), subnormal inputs and results are taken as zero while it runs, as
    ``-ftz=true`` makes a GPU do in single precision. ``symbol`` names the function (default
    the kernel's name); ``header=False`` leaves out :data:`CPP_HEADER`, for a file of
    several kernels (:func:`_library_of_every_kernel`).
    """
    parameters, prologue = [], []
    for raw, ptype, name in params(source.in_params):
        ptype = _CTYPES[ptype]
        if raw:
            parameters.append(f"const {ptype}* {name}")
        else:
            parameters.append(f"const {ptype}* _in_{name}")
            prologue.append(f"const {ptype} {name} = _in_{name}[i];")
    for _, ptype, name in params(source.out_params):
        ptype = _CTYPES[ptype]
        parameters.append(f"{ptype}* _out_{name}")
        prologue.append(f"{ptype} &{name} = _out_{name}[i];")
    signature = f'{symbol or source.name}({", ".join(parameters)}, long long _n)'
    if target == "cuda":
        head = f'typedef {ctype} T;\nextern "C" __global__ void {signature} {{\n'
        loop = ("  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < _n;\n"
                "       i += (long long)blockDim.x * gridDim.x) {\n")
        tail = "  }\n}\n"
    else:
        head = ((CPP_HEADER if header else "")
                + f'typedef {ctype} T;\nextern "C" void {signature} {{\n')
        loop = "  for (long long i = 0; i < _n; ++i) {\n"
        tail = "  }\n}\n"
        if ftz:
            head += "  unsigned int _csr = _mm_getcsr();  _mm_setcsr(_csr | 0x8040);  // FTZ, DAZ\n"
            tail = "  }\n  _mm_setcsr(_csr);\n}\n"
    return head + loop + f"    {' '.join(prologue)}\n{source.operation};\n" + tail


def compiler():
    """The host C++ compiler (``$CXX``, g++ or clang++), or None."""
    return os.environ.get("CXX") or shutil.which("g++") or shutil.which("clang++")


_BUILDS = itertools.count()
#: A folder that keeps the compiled kernels between test runs and worker processes (set by
#: tests/conftest.py to one in pytest's cache), or None: each process compiles its own.
BUILD_CACHE = None


@functools.lru_cache(maxsize=None)
def _build_folder():
    """One temporary folder for this process's compiled kernels, removed when it exits (by
    this process: not by a child forked from it)."""
    folder, owner = tempfile.mkdtemp(prefix="minigan-kernels-"), os.getpid()
    atexit.register(lambda: os.getpid() == owner and shutil.rmtree(folder, ignore_errors=True))
    return folder


@functools.lru_cache(maxsize=None)
def _compiler_version(cxx):
    """What ``cxx --version`` prints (part of a cached library's key: an upgraded compiler
    builds anew)."""
    done = subprocess.run([cxx, "--version"], capture_output=True, text=True)
    return done.stdout


#: The variants of each of minigan's kernels the stand-in runs: float32 as CuPy compiles it
#: (subnormals flushed) and without, float64.
_VARIANTS = (("float", True), ("float", False), ("double", False))


def _identity(source):
    """What a kernel's code is made of: a ``kernels.Source`` and the stand-in's
    ``ElementwiseKernel`` record of the same kernel are the same kernel."""
    return (source.name, source.in_params, source.out_params, source.operation)


def _symbol(source, ctype, ftz):
    return f"{source.name}__{ctype}{'_ftz' if ftz else ''}"


@functools.lru_cache(maxsize=None)
def _library_of_every_kernel():
    """Every kernel of ``minigan.backend.kernels.SOURCES`` in each of :data:`_VARIANTS`,
    compiled as one library (one run of the compiler, under a second, where one run for
    each of the 30 took 10 to 20 s of the suite), each in a namespace of its own for its ``T``; a
    ``dict`` of ``(identity, ctype, ftz)`` to the function's symbol, and the library."""
    from minigan.backend import kernels

    symbols, parts = {}, [CPP_HEADER]
    for i, source in enumerate(kernels.SOURCES.values()):
        for ctype, ftz in _VARIANTS:
            symbol = _symbol(source, ctype, ftz)
            symbols[(_identity(source), ctype, ftz)] = symbol
            parts.append(f"namespace kernel_{i}_{ctype}_{int(ftz)} {{\n"
                         + standalone_source(source, ctype, target="cpp", ftz=ftz,
                                             symbol=symbol, header=False) + "}\n")
    return symbols, _compile("".join(parts), "every_kernel", "all")


def host_library(source, ctype, ftz=False):
    """The kernel body compiled by the host C++ compiler, loaded with ctypes: an object with
    the kernel's name as its function. minigan's own kernels come from one library of them
    all (:func:`_library_of_every_kernel`); another kernel (one a test makes) is compiled
    alone.

    ``-ffp-contract=off`` is the host's ``--fmad=false``: no multiply-add contraction.
    """
    if ftz and platform.machine() not in ("x86_64", "AMD64", "i386", "i686"):
        raise StandinUnavailable("flushing subnormals on the host is written for x86 only")
    symbols, library = _library_of_every_kernel()
    symbol = symbols.get((_identity(source), ctype, ftz))
    if symbol is not None:
        return types.SimpleNamespace(**{source.name: getattr(library, symbol)})
    return _compile(standalone_source(source, ctype, target="cpp", ftz=ftz), source.name, ctype)


@functools.lru_cache(maxsize=None)
def _compile(text, name, ctype):
    """``text`` compiled as a shared library and loaded (kept in :data:`BUILD_CACHE` when set)."""
    cxx = compiler()
    if not cxx:
        raise StandinUnavailable("running the kernel bodies on the CPU needs a C++ compiler "
                                 "(g++ or $CXX)")
    command = [cxx, "-O1", "-ffp-contract=off", "-shared", "-fPIC"]
    kept = None
    if BUILD_CACHE is not None:     # the same source, compiler, flags and machine: the same library
        key = hashlib.sha256("\0".join([*command, _compiler_version(cxx), platform.machine(),
                                         text]).encode()).hexdigest()[:24]
        kept = os.path.join(BUILD_CACHE, f"{name}_{ctype}_{key}.so")
        if os.path.isfile(kept):
            try:
                return ctypes.CDLL(kept)
            except OSError:         # not loadable here after all: compile it again
                pass
    # a file of its own per build: a library is never overwritten while it is loaded
    stem = os.path.join(_build_folder(), f"{name}_{next(_BUILDS)}")
    cpp, lib = stem + ".cpp", stem + ".so"
    with open(cpp, "w") as f:
        f.write(text)
    done = subprocess.run([*command, "-o", lib, cpp], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{name} ({ctype}) does not compile as C++:\n{done.stderr}")
    if kept is not None:            # whole or not at all, for another process reading it
        part = f"{kept}.{os.getpid()}.part"
        shutil.copyfile(lib, part)
        os.replace(part, kept)
    return ctypes.CDLL(lib)


def run_on_host(source, *args, out=None, ftz=False):
    """Run ``source`` like ``ElementwiseKernel.__call__(*args)``, on the CPU, through C++, on
    NumPy arrays.

    Inputs that are not ``raw`` are broadcast to the output shape (scalars included);
    outputs are ``out`` (modified in place) or new arrays. Returns the outputs. ``ftz``
    flushes float32 subnormals (CuPy's ``-ftz=true``; float64 is never flushed).
    """
    ins, outs = params(source.in_params), params(source.out_params)
    T = next(np.dtype(a.dtype) for a, (_, t, _) in zip(args, ins, strict=True)
             if t == "T" and isinstance(a, np.ndarray))
    if out is None:
        shape = np.broadcast_shapes(*(np.shape(a) for a, (raw, _, _) in
                                      zip(args, ins, strict=True) if not raw))
        out = [np.empty(shape, dtype=T if t == "T" else _NP_TYPES[t]) for _, t, _ in outs]
    shape = out[0].shape
    arrays = []
    for a, (raw, t, _) in zip(args, ins, strict=True):
        dt = T if t == "T" else _NP_TYPES[t]
        a = np.asarray(a, dtype=dt) if raw else np.broadcast_to(np.asarray(a, dtype=dt), shape)
        arrays.append(np.ascontiguousarray(a))
    assert all(o.flags.c_contiguous for o in out)
    ctype = {np.float32: "float", np.float64: "double"}[T.type]
    lib = host_library(source, ctype, ftz=ftz and ctype == "float")
    pointers = [ctypes.c_void_p(a.ctypes.data) for a in arrays + list(out)]
    getattr(lib, source.name)(*pointers, ctypes.c_longlong(out[0].size))
    return out


class _Source(types.SimpleNamespace):
    """What :func:`run_on_host` reads of a kernel (a ``Source``-like record, hashable)."""

    def __hash__(self):
        return hash((self.name, self.in_params, self.out_params, self.operation))

    def __eq__(self, other):
        return isinstance(other, _Source) and hash(self) == hash(other)


class ElementwiseKernel:
    """``cupy.ElementwiseKernel``: CuPy's checks of the arguments, then the CUDA body run on
    the CPU (compiled at the first call, as CuPy compiles at the first call)."""

    def __init__(self, in_params, out_params, operation, name="kernel", options=(), **kwargs):
        self.source = _Source(name=name, in_params=in_params, out_params=out_params,
                              operation=operation)
        self.options = tuple(options) + CUPY_OPTIONS
        self.nin, self.nout = len(params(in_params)), len(params(out_params))

    def __call__(self, *args, size=None, **kwargs):
        where = f"ElementwiseKernel {self.source.name}"
        if len(args) not in (self.nin, self.nin + self.nout):
            raise TypeError(f"Wrong number of arguments for {self.source.name!r}")
        _state_check("nvrtc")
        for a in args:
            _refuse_numpy(a, where)
            if not (isinstance(a, ndarray) or np.isscalar(a)):
                raise TypeError(f"Unsupported type {type(a)} in {where}")
        ins = params(self.source.in_params)
        outs_given = args[self.nin:]
        typed = {a.dtype for a, (_, t, _) in zip(args[:self.nin], ins, strict=True)
                 if t == "T" and isinstance(a, ndarray)}
        if outs_given:
            typed |= {o.dtype for o, (_, t, _) in
                      zip(outs_given, params(self.source.out_params), strict=True) if t == "T"}
        if len(typed) != 1:
            raise TypeError(f"Type is mismatched. T {sorted(map(str, typed))} in {where}")
        host_in = [a._data if isinstance(a, ndarray) else a for a in args[:self.nin]]
        out = [o._data for o in outs_given] if outs_given else None
        if out is not None and not all(o.flags.c_contiguous for o in out):
            raise ValueError(f"{where}: the outputs must be C-contiguous here")
        ftz = "-ftz=true" in self.options
        result = run_on_host(self.source, *host_in, out=out, ftz=ftz)
        wrapped = list(outs_given) if outs_given else [ndarray(r) for r in result]
        return wrapped[0] if self.nout == 1 else tuple(wrapped)


# -- cupy.cuda -----------------------------------------------------------------------------------
class CUDARuntimeError(RuntimeError):
    pass


def _device_count():
    return 1


#: What ``cupy.__version__`` says here.
__version__ = "stand-in"

runtime = types.SimpleNamespace(
    getDeviceCount=_device_count, CUDARuntimeError=CUDARuntimeError,
    deviceSynchronize=lambda: None, runtimeGetVersion=lambda: 0,
    getDeviceProperties=lambda i: {"name": b"CuPy stand-in (NumPy on the CPU)"})
_stream = types.SimpleNamespace(synchronize=lambda: None)
cuda = types.SimpleNamespace(runtime=runtime, is_available=lambda: True,
                             get_current_stream=lambda: _stream,
                             Device=lambda i=0: types.SimpleNamespace(synchronize=lambda: None,
                                                                      id=i))


class _MemoryPool:
    """``cupy.get_default_memory_pool()``: nothing is held on a device here."""

    def total_bytes(self):
        return 0

    def used_bytes(self):
        return 0

    def free_all_blocks(self):
        pass


_POOL = _MemoryPool()


def get_default_memory_pool():
    return _POOL

_state = {"broken": None}


def _state_check(part):
    if _state["broken"] == part:
        if part == "nvrtc":
            raise RuntimeError("nvrtc: error: failed to open libnvrtc.so.12 (stand-in: NVRTC "
                               "missing)")
        raise RuntimeError("CUBLAS_STATUS_NOT_INITIALIZED (stand-in: cuBLAS missing)")


def __getattr__(name):
    if name in _NAMES:
        return _function(name)
    if name in _CONSTANTS:
        return getattr(np, name)
    raise AttributeError(f"module 'cupy' has no attribute '{name}'")


# -- installing it ---------------------------------------------------------------------------
def install(broken=None):
    """Make ``import cupy`` give this module (``broken``: None, "nvrtc" or "cublas");
    return what :func:`uninstall` needs to put things back."""
    if broken not in (None, "nvrtc", "cublas"):
        raise ValueError(f"unknown broken part {broken!r}")
    _state["broken"] = broken
    saved = {name: sys.modules.get(name) for name in ("cupy", "cupy.cuda")}
    sys.modules["cupy"] = sys.modules[__name__]
    sys.modules["cupy.cuda"] = cuda
    return saved


def uninstall(saved):
    _state["broken"] = None
    for name, module in saved.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module
