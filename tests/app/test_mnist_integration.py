"""Train the vanilla GAN for a few hundred iterations on the real MNIST test split.

Skipped when the MNIST test split is not there ($MINIGAN_DATA, else
../shared/data/mnist). It goes through the whole pipeline (data loading, the
training loop, plots, checkpoint) on the CPU.
"""

import numpy as np
import pytest

from minigan import backend
from minigan.app.trainer import train


def test_minigan_data_points_the_tests_at_another_folder(tmp_path, monkeypatch, real_mnist_dir,
                                                       root):
    """The real-MNIST tests look where $MINIGAN_DATA says, not only in ../shared/data/mnist."""
    monkeypatch.setenv("MINIGAN_DATA", str(tmp_path))
    assert real_mnist_dir() == tmp_path
    monkeypatch.delenv("MINIGAN_DATA")
    assert real_mnist_dir() == root.parent / "shared" / "data" / "mnist"


@pytest.mark.slow
def test_vanilla_gan_learns_on_real_mnist(tmp_path, real_mnist):
    previous = backend.device()
    try:
        result = train({"model": "vanilla", "split": "test", "data_dir": str(real_mnist),
                        "download": False, "batch_size": 64, "epochs": 2, "seed": 0,
                        "device": "cpu", "out": str(tmp_path / "run"), "quiet": True})
    finally:
        backend.use(previous)
    rows = result["rows"]
    assert len(rows) == 2 * (10_000 // 64) == 312

    def column(name, rows=rows):
        return np.array([float(r[name]) for r in rows])

    for name in ("d_loss", "g_loss", "d_real", "d_fake", "d_gen"):
        assert np.all(np.isfinite(column(name))), name
    last = rows[-50:]
    d_fake_end, d_gen_end = column("d_fake", last).mean(), column("d_gen", last).mean()
    # With seed 0: D(G(z)) starts at 0.81 (D step) and 0.23 (G step) and falls to about 0.02
    # and 0.006 over the last 50 iterations: D learns to reject the fakes, D(x) rises to 0.97.
    assert float(rows[0]["d_fake"]) - d_fake_end > 0.4, (rows[0]["d_fake"], d_fake_end)
    assert float(rows[0]["d_gen"]) - d_gen_end > 0.1, (rows[0]["d_gen"], d_gen_end)
    assert column("d_real", last).mean() > 0.8
    assert column("d_loss", last).mean() < 0.5 * float(rows[0]["d_loss"])
    assert (tmp_path / "run" / "samples" / "epoch_0002.png").is_file()
