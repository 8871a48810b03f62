"""Ctrl-C, SIGTERM and SIGHUP while a run trains: finish the iteration, save, then stop;
while files are swapped into place: wait until all are (:func:`signals_deferred`).

>>> with stop_requests() as stop:           # doctest: +SKIP
...     while not stop.requested:
...         train_one_iteration()
"""

from __future__ import annotations

import contextlib
import signal
import threading
import types

__all__ = ["stop_requests", "signals_deferred", "handled", "STOPPING", "stopping_signals"]

#: The signals that stop a command, and the words said of each: Ctrl-C, SIGTERM (what
#: ``kill`` and batch schedulers send) and SIGHUP (a terminal or ssh session closed).
STOPPING = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
if hasattr(signal, "SIGHUP"):          # not on Windows
    STOPPING[signal.SIGHUP] = "SIGHUP (its terminal closed)"


def stopping_signals():
    """The signals of :data:`STOPPING` minigan answers now: all three, but SIGHUP only where
    the process was not told to ignore it (``nohup`` ignores it, so that a run outlives its
    terminal). An ignored SIGINT or SIGTERM is answered as before (a shell starts ``cmd &``
    with SIGINT ignored; ``kill -INT`` still stops the run, saving first)."""
    hangup = getattr(signal, "SIGHUP", None)
    return [s for s in STOPPING
            if not (s == hangup and signal.getsignal(s) is signal.SIG_IGN)]


@contextlib.contextmanager
def handled(handler, leaving=()):
    """While active, ``handler`` answers each of :func:`stopping_signals` but those of
    ``leaving`` (main thread only: elsewhere nothing changes). Each is installed inside the
    block that puts the previous ones back, and each is put back whatever a signal raises
    while the others are: none is left answered by ``handler`` after the block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = []
    try:
        for signum in stopping_signals():
            if signum not in leaving:
                previous.append((signum, signal.signal(signum, handler)))
        yield
    finally:
        _put_back(previous)


def _put_back(previous):
    """Each ``(signum, handler)`` of ``previous`` installed again, the rest too when a signal
    answered by one put back raises between two of them."""
    if not previous:
        return
    (signum, handler), rest = previous[0], previous[1:]
    try:
        signal.signal(signum, signal.SIG_DFL if handler is None else handler)
    finally:
        _put_back(rest)


@contextlib.contextmanager
def stop_requests():
    """While active, a first Ctrl-C, SIGTERM or SIGHUP (:func:`stopping_signals`) sets
    ``stop.requested``; a second raises.

    ``stop.signum`` is the signal that asked first. The second signal raises
    KeyboardInterrupt. Only the main thread can take signals; elsewhere they keep
    their usual meaning.
    """
    stop = types.SimpleNamespace(requested=False, signum=signal.SIGINT)

    def on_signal(signum, frame):
        if stop.requested:
            raise KeyboardInterrupt
        stop.requested, stop.signum = True, signum

    with handled(on_signal):
        yield stop


@contextlib.contextmanager
def signals_deferred():
    """While active, a Ctrl-C, SIGTERM or SIGHUP waits: it is taken when the block ends (the
    first of them, raised again, unless the block ends with an exception of its own), so
    that a few renames that must all happen are not cut in half. kill -9 cannot wait. Only
    the main thread can take signals; elsewhere nothing changes."""
    asked = []
    with handled(lambda signum, frame: asked.append(signum)):
        yield
    if asked:                       # the block ended without an exception
        signal.raise_signal(asked[0])
