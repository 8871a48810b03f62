"""``python -m minigan train ...`` / ``python -m minigan sample ...`` (see :mod:`minigan.app.cli`)."""

import sys


def run():
    """The ``minigan`` command: :func:`minigan.app.cli.main`, quiet about a Ctrl-C during imports."""
    try:
        from .app.cli import main
    except KeyboardInterrupt:
        print("minigan: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())


if __name__ == "__main__":
    run()
