"""Elementwise work on both cores: one array formula, run in pieces over a thread pool.

NumPy's ufuncs release the GIL on large arrays, so two threads that each run the
same formula on one half of the arrays take about half the time of one thread.
:func:`chunked` is the only place that splits work: the formulas (BatchNorm,
LeakyReLU, Adam) keep one readable body and hand it over, with the arrays it
reads and writes.

The split is along the axis that is outermost in memory (axis 0 of a
C-contiguous array, axis 1 of the channel-major NCHW views the convolutions
return), so every piece is one contiguous block. Elementwise results do not
depend on how the work was split: the same inputs give the same bits with one
thread or two. Small arrays (below :data:`MIN_SIZE` values) and non-NumPy
arrays (CuPy) run the body once, in the calling thread.

The number of threads is ``$MINIGAN_THREADS`` (default 1: one thread, no
pool), or :func:`set_threads`. Each piece handed to a second thread costs a
wake-up of that thread (about 0.15 ms measured on a busy 2-core machine)
against elementwise passes of 0.05 to 0.5 ms at DCGAN's sizes;
``benchmarks/ab_ops.py --threads 2`` measures whether the second core pays on
a given machine.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["chunked", "outer_axis", "threads", "set_threads", "MIN_SIZE"]

#: Arrays with fewer values than this run in one piece: below it, handing work to a
#: thread costs more than the second core saves.
MIN_SIZE = 1 << 16

THREADS_VARIABLE = "MINIGAN_THREADS"

_pool = None
_threads = None


def threads():
    """Number of threads :func:`chunked` splits over: :func:`set_threads`, else
    ``$MINIGAN_THREADS``, else 1."""
    global _threads
    if _threads is None:
        value = os.environ.get(THREADS_VARIABLE) or "1"
        try:
            _threads = max(1, int(value))
        except ValueError:
            raise ValueError(f"{THREADS_VARIABLE} must be a positive int, got {value!r}") from None
    return _threads


def set_threads(n):
    """Split :func:`chunked`'s work over ``n >= 1`` threads from now on."""
    global _threads
    n = int(n)
    if n < 1:
        raise ValueError(f"set_threads: n must be >= 1, got {n}")
    _threads = n


def _executor(workers):
    """The pool of worker threads, (re)made when it has fewer than ``workers``."""
    global _pool
    if _pool is None or _pool._max_workers < workers:
        if _pool is not None:
            _pool.shutdown()
        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="minigan")
    return _pool


def outer_axis(a):
    """The axis of ``a`` outermost in memory (largest stride) among those longer than 1."""
    axes = [ax for ax in range(a.ndim) if a.shape[ax] > 1]
    return max(axes, key=lambda ax: abs(a.strides[ax])) if axes else 0


def chunked(fn, *arrays, out=None):
    """``fn(*arrays, out=out)`` (or ``fn(*arrays)`` without ``out``), in pieces over the cores.

    Every argument with the shape of ``out`` (or, without ``out``, of the first argument)
    is cut into one piece per thread along its outermost memory axis; the others
    (scalars, per-channel vectors shaped to broadcast, with length 1 along that axis)
    are passed whole. ``fn`` must be elementwise along that axis: each piece of the
    result may depend only on the same piece of the inputs. It writes its result in
    place (into ``out``'s piece, or into the argument arrays it updates).

    Returns ``out``.
    """
    ref = out if out is not None else arrays[0]
    n = threads()
    if (n < 2 or not isinstance(ref, np.ndarray) or ref.size < MIN_SIZE):
        fn(*arrays, out=out) if out is not None else fn(*arrays)
        return out
    axis = outer_axis(ref)
    length = ref.shape[axis]
    n = min(n, length)
    bounds = [length * k // n for k in range(n + 1)]

    def piece(a, k):
        if (isinstance(a, np.ndarray) and a.ndim == ref.ndim
                and a.shape[axis] == length and length > 1):
            index = [slice(None)] * a.ndim
            index[axis] = slice(bounds[k], bounds[k + 1])
            return a[tuple(index)]
        return a

    def run(k):
        args = [piece(a, k) for a in arrays]
        if out is None:
            fn(*args)
        else:
            fn(*args, out=piece(out, k))

    pool = _executor(n - 1)
    futures = [pool.submit(run, k) for k in range(1, n)]
    run(0)
    for f in futures:
        f.result()
    return out
