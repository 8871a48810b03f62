"""A run on a data set of one's own (the ``files`` setting): what it says it trains on, and
the errors that say what to do."""

import hashlib

import numpy as np
import pytest

from minigan.app.trainer import Trainer
from minigan.data import write_idx


def _own_files(folder, images, labels):
    """A data set of one's own in ``folder``: its ``files`` setting."""
    folder.mkdir(exist_ok=True)
    write_idx(folder / "shapes.idx", images)
    write_idx(folder / "shapes-labels.idx", labels)
    return {"train": {kind: [name, hashlib.md5((folder / name).read_bytes()).hexdigest()]
                      for kind, name in (("images", "shapes.idx"),
                                         ("labels", "shapes-labels.idx"))}}


def _config(tmp_path, side):
    images = np.random.default_rng(0).integers(0, 256, (64, side, side)).astype(np.uint8)
    files = _own_files(tmp_path / "data", images, np.zeros(64, np.uint8))
    return {"files": files, "data_dir": str(tmp_path / "data"), "split": "train",
            "download": False, "device": "cpu", "quiet": True, "model": "vanilla",
            "batch_size": 32, "epochs": 1, "out": str(tmp_path / "run")}


def test_a_run_on_files_of_ones_own_does_not_say_it_trains_on_mnist(tmp_path, capsys):
    Trainer(_config(tmp_path, 28)).run()
    first = capsys.readouterr().out.splitlines()[0]
    assert "MNIST" not in first
    assert first.startswith("training vanilla on shapes.idx (the train split of files) (64 images")


def test_images_of_another_size_say_what_to_do(tmp_path):
    with pytest.raises(ValueError, match=r"takes images of shape \(784,\), but the data has 1024 "
                                         r"pixels per image; .*crop or pad yours to 28 x 28"):
        Trainer(_config(tmp_path, 32))
    assert not (tmp_path / "run").exists()
