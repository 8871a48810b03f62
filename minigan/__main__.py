"""``python -m minigan train ...`` / ``python -m minigan sample ...`` (see :mod:`minigan.cli`)."""

import sys

from .cli import main

sys.exit(main())
