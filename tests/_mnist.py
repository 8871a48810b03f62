"""Where the tests find the real MNIST files: ``$MINIGAN_DATA``, else ``../shared/data/mnist``.

The tests that need real digits (the integration test, the examples, the IDX
parser on the real files) look there and are skipped, saying where they
looked, when the files are missing.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "mnist"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"


def real_mnist_dir():
    """The folder of the real MNIST files: ``$MINIGAN_DATA`` when set, else the shared copy."""
    env = os.environ.get("MINIGAN_DATA")
    return Path(env).expanduser() if env else SHARED


REAL_MNIST = real_mnist_dir()

#: Skip a test when the real MNIST test split is not in :data:`REAL_MNIST`.
needs_real_mnist = pytest.mark.skipif(
    not (REAL_MNIST / TEST_IMAGES).is_file(),
    reason=f"the MNIST test split is not in {REAL_MNIST} (set MINIGAN_DATA to its folder)",
)
