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

__all__ = ["stop_requests", "signals_deferred", "STOPPING", "stopping_signals"]

#: The signals that stop a command, and the words said of each: Ctrl-C, SIGTERM (what
#: ``kill`` and batch schedulers send) and SIGHUP (a terminal or ssh session closed).
STOPPING = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
if hasattr(signal, "SIGHUP"):          # not on Windows
    STOPPING[signal.SIGHUP] = "SIGHUP (its terminal closed)"


def stopping_signals():
    """The signals of :data:`STOPPING` minigan answers now: all but one the process was told
    to ignore (``nohup`` ignores SIGHUP, so that a run outlives its terminal)."""
    return [s for s in STOPPING if signal.getsignal(s) is not signal.SIG_IGN]


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

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in stopping_signals():
            previous[signum] = signal.signal(signum, on_signal)
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


@contextlib.contextmanager
def signals_deferred():
    """While active, a Ctrl-C, SIGTERM or SIGHUP waits: it is taken when the block ends (the
    first of them, raised again), so that a few renames that must all happen are not cut in
    half. kill -9 cannot wait. Only the main thread can take signals; elsewhere nothing
    changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    asked = []
    previous = {signum: signal.signal(signum, lambda signum, frame: asked.append(signum))
                for signum in stopping_signals()}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if asked:
            signal.raise_signal(asked[0])
