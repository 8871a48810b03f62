"""The example scripts run as a reader would run them, on real MNIST digits."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import minigan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_the_examples_use_only_the_promised_surface():
    """minigan's docstring names the imports an example needs; the examples use just those."""
    promised = set()
    for module, names in re.findall(r"``from (minigan[\w.]*) import ([\w, ]+)``", minigan.__doc__):
        promised |= {f"{module}.{name.strip()}" for name in names.split(",")}
    assert {"minigan.gan", "minigan.nn.layers", "minigan.nn.optim"} <= promised
    used = set()
    for path in EXAMPLES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("minigan"):
                used |= {f"{node.module}.{alias.name}" for alias in node.names}
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("minigan") for a in node.names), path.name
    assert len(EXAMPLES) >= 2 and used <= promised, used - promised


@pytest.mark.slow
@pytest.mark.parametrize("script, extra", [
    ("vanilla_gan_mnist.py", ["--epochs", "1"]),
    ("dcgan_mnist.py", ["--epochs", "1", "--max-iters", "3"]),
])
def test_example_trains_and_writes_a_grid(script, extra, tmp_path, real_mnist):
    out = tmp_path / "grid.png"
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), "--data-dir", str(real_mnist),
         "--split", "test", "--device", "cpu", "--out", str(out), *extra],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])},
    )
    assert run.returncode == 0, run.stderr
    assert "epoch 1" in run.stdout and "D(G(z))" in run.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_vanilla_example_refuses_a_batch_larger_than_the_data(tmp_path, data_dir):
    """A batch the split cannot fill is one argparse error saying the largest that fits,
    not a ZeroDivisionError out of the loop."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "vanilla_gan_mnist.py"), "--data-dir",
         str(data_dir), "--split", "test", "--device", "cpu", "--batch-size", "20000",
         "--out", str(tmp_path / "grid.png")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])},
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "--batch-size 20000 x --k 1 = 20000 digits an iteration, but the test split has 256" \
        in run.stderr
    assert not (tmp_path / "grid.png").exists()
