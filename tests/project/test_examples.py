"""The example scripts run as a reader would run them, on real MNIST digits."""

import ast
import importlib.util
import os
import re
import runpy
import signal
import subprocess
import sys
import types
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


def _example_env():
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}


@pytest.fixture
def run_example(monkeypatch, capsys):
    """``run_example(script, *args, cwd=folder)``: the example run as ``python script args``
    from ``folder``, in this process (``runpy``, as ``__main__``; a child process would
    spend most of a second importing NumPy and minigan again): its exit code, stdout and
    stderr. An exception it lets out fails the test, with its traceback."""

    def run(script, *args, cwd):
        path = ROOT / "examples" / script
        capsys.readouterr()                          # what the test printed before
        with monkeypatch.context() as patch:
            patch.chdir(cwd)
            patch.setattr(sys, "argv", [str(path), *args])
            try:
                runpy.run_path(str(path), run_name="__main__")
                code = 0
            except SystemExit as exit_:                # sys.exit(n), sys.exit("message")
                code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
                if isinstance(exit_.code, str):
                    print(exit_.code, file=sys.stderr)
        said = capsys.readouterr()
        return types.SimpleNamespace(returncode=code, stdout=said.out, stderr=said.err)

    return run


@pytest.mark.parametrize("script", ["vanilla_gan_mnist.py", "dcgan_mnist.py"])
@pytest.mark.parametrize("out, said", [
    ("missing/grid.png", "its folder {tmp}/missing does not exist; create it"),
    ("grid.pgn", "cannot tell the image format from the name; end it in one of .png"),
    ("taken.png", "is a folder; give a file name in it"),
])
def test_an_example_refuses_an_out_it_cannot_write_before_training(script, out, said, tmp_path,
                                                                    data_dir, run_example):
    """The grid is written after the last epoch: an --out it cannot be written to is said
    before the first, not as a traceback that throws the trained players away."""
    if out == "taken.png":
        (tmp_path / out).mkdir()
    run = run_example(script, "--data-dir", str(data_dir), "--split", "test", "--device", "cpu",
                       "--out", str(tmp_path / out), cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert said.format(tmp=tmp_path) in run.stderr and "epoch" not in run.stdout
    assert [p.name for p in tmp_path.iterdir() if p.name != "taken.png"] == []


@pytest.mark.parametrize("script, option", [
    ("vanilla_gan_mnist.py", ["--epochs", "-1"]),
    ("vanilla_gan_mnist.py", ["--epochs", "0"]),
    ("dcgan_mnist.py", ["--epochs", "0"]),
    ("dcgan_mnist.py", ["--max-iters", "0"]),      # it trained every epoch
    ("dcgan_mnist.py", ["--max-iters", "-3"]),
])
def test_an_example_refuses_a_length_below_one(script, option, tmp_path, data_dir, run_example):
    run = run_example(script, "--data-dir", str(data_dir), "--split", "test", "--device", "cpu",
                       "--out", str(tmp_path / "grid.png"), *option, cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert f"error: {option[0]} {option[1]}: give 1 or more" in run.stderr
    assert not (tmp_path / "grid.png").exists()


@pytest.mark.parametrize("script", ["vanilla_gan_mnist.py", "dcgan_mnist.py"])
def test_an_example_says_a_bad_data_folder_in_one_line(script, tmp_path, run_example):
    (tmp_path / "afile").write_text("")
    run = run_example(script, "--data-dir", str(tmp_path / "afile"), "--split", "test",
                       "--device", "cpu", "--out", str(tmp_path / "grid.png"), cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert f"error: data folder {tmp_path / 'afile'} exists but is not a directory" in run.stderr


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
@pytest.mark.parametrize("script", ["vanilla_gan_mnist.py", "dcgan_mnist.py"])
def test_an_example_says_a_missing_gpu_in_one_line(script, tmp_path, data_dir, run_example):
    run = run_example(script, "--data-dir", str(data_dir), "--split", "test", "--device", "gpu",
                       "--out", str(tmp_path / "grid.png"), cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert "error: backend.use('gpu') (--device gpu) needs a usable GPU" in run.stderr


@pytest.mark.parametrize("script", ["vanilla_gan_mnist.py", "dcgan_mnist.py"])
def test_an_examples_help_gives_every_default(script, tmp_path, run_example):
    """argparse's ArgumentDefaultsHelpFormatter says the default of an option with a help
    text only: --epochs, --split, --seed and --out said none."""
    run = run_example(script, "--help", cwd=tmp_path)
    assert run.returncode == 0
    text = " ".join(run.stdout.split())
    for said in ("(default: train)", "(default: 5)", "(default: auto)", "(default: 0)",
                 f"(default: {script.replace('.py', '.png')})"):
        assert said in text, said


@pytest.mark.parametrize("script", ["vanilla_gan_mnist.py", "dcgan_mnist.py"])
@pytest.mark.slow
def test_ctrl_c_in_an_example_writes_the_grid_of_g_as_it_stands(script, tmp_path, data_dir):
    """Ctrl-C ended the example with a KeyboardInterrupt traceback and no picture: the
    minutes trained were lost. It now writes the grid and exits with 130."""
    out = tmp_path / "grid.png"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / script), "--data-dir", str(data_dir), "--split",
         "test", "--device", "cpu", "--epochs", "100000", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env=_example_env())
    try:
        first = proc.stdout.readline()          # an epoch done: training is under way
        assert first.startswith("epoch 1"), (first, proc.stderr.read())
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    assert "interrupted" in stdout and f"samples written to {out}" in stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("script, length", [("vanilla_gan_mnist.py", ["--epochs", "1"]),
                                            ("dcgan_mnist.py", ["--max-iters", "1"])])
def test_a_ctrl_c_while_an_example_writes_its_picture_does_not_lose_it(script, length, tmp_path,
                                                                        data_dir, run_example,
                                                                        monkeypatch):
    """Training done, a Ctrl-C that came while the grid was being written (matplotlib
    importing) ended the example in a traceback without the picture."""
    from minigan.app import plotting

    real_save = plotting.save_grid

    def save_after_a_ctrl_c(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(plotting, "save_grid", save_after_a_ctrl_c)
    handler = signal.getsignal(signal.SIGINT)
    out = tmp_path / "grid.png"
    try:
        run = run_example(script, "--data-dir", str(data_dir), "--split", "test", "--device",
                          "cpu", "--out", str(out), *length, cwd=tmp_path)
    finally:
        signal.signal(signal.SIGINT, handler)
    assert run.returncode == 0 and f"samples written to {out}" in run.stdout, run.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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


def test_the_vanilla_example_refuses_a_batch_larger_than_the_data(tmp_path, data_dir, run_example):
    """A batch the split cannot fill is one argparse error saying the largest that fits,
    not a ZeroDivisionError out of the loop."""
    run = run_example("vanilla_gan_mnist.py", "--data-dir", str(data_dir), "--split", "test",
                      "--device", "cpu", "--batch-size", "20000",
                      "--out", str(tmp_path / "grid.png"), cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "--batch-size 20000 x --k 1 = 20000 digits an iteration, but the test split has 256" \
        in run.stderr
    assert not (tmp_path / "grid.png").exists()
