"""The example scripts run as a reader would run them, on real MNIST digits."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"

pytestmark = pytest.mark.skipif(
    not (MNIST / "t10k-images-idx3-ubyte.gz").exists(),
    reason=f"the MNIST test split is not at {MNIST} (the examples need real digits)",
)


@pytest.mark.parametrize("script, extra", [
    ("vanilla_gan_mnist.py", ["--epochs", "1"]),
    ("dcgan_mnist.py", ["--epochs", "1", "--max-iters", "3"]),
])
def test_example_trains_and_writes_a_grid(script, extra, tmp_path):
    out = tmp_path / "grid.png"
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), "--data-dir", str(MNIST),
         "--split", "test", "--device", "cpu", "--out", str(out), *extra],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])},
    )
    assert run.returncode == 0, run.stderr
    assert "epoch 1" in run.stdout and "D(G(z))" in run.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
