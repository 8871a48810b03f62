"""Ctrl-C and SIGTERM while a run trains: finish the iteration, save, then stop.

>>> with stop_requests() as stop:           # doctest: +SKIP
...     while not stop.requested:
...         train_one_iteration()
"""

from __future__ import annotations

import contextlib
import signal
import threading
import types

__all__ = ["stop_requests"]


@contextlib.contextmanager
def stop_requests():
    """While active, a first Ctrl-C or SIGTERM sets ``stop.requested``; a second raises.

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
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
