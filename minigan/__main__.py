"""``python -m minigan train ...`` / ``python -m minigan sample ...`` (see :mod:`minigan.app.cli`)."""

import signal
import sys


def run():
    """The ``minigan`` command: :func:`minigan.app.cli.main`, quiet about a Ctrl-C during imports,
    also one that a library's import turns into an ``ImportError`` (NumPy's C extensions do)."""
    ctrl_c = []

    def on_ctrl_c(signum, frame):
        ctrl_c.append(signum)
        raise KeyboardInterrupt

    ours = signal.getsignal(signal.SIGINT) is signal.default_int_handler   # not ignored
    if ours:
        signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        from .app.cli import main
    except KeyboardInterrupt:
        _interrupted()
    except ImportError:
        if ctrl_c:
            _interrupted()
        raise
    finally:
        if ours:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())


def _interrupted():
    print("minigan: interrupted", file=sys.stderr)
    sys.exit(130)


if __name__ == "__main__":
    run()
