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
    with pytest.raises(ValueError, match=r"vanilla takes 28 x 28 images, but the train images "
                                         r"are 32 x 32 \(shapes\.idx\); .*crop or pad yours to "
                                         r"28 x 28, or train G and D of your own"):
        Trainer(_config(tmp_path, 32))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("model", ["vanilla", "dcgan"])
def test_images_with_the_pixels_of_28_x_28_but_another_shape_are_refused(model, tmp_path):
    """14 x 56 images have 784 pixels: read as flat rows they trained as 28 x 28 ones, each
    cut in two and stacked, without a word."""
    config = _config(tmp_path, 28)
    images = np.zeros((64, 14, 56), np.uint8)
    config["files"] = _own_files(tmp_path / "data", images, np.zeros(64, np.uint8))
    with pytest.raises(ValueError, match=rf"{model} takes 28 x 28 images, but the train images "
                                         r"are 14 x 56"):
        Trainer({**config, "model": model})
    assert not (tmp_path / "run").exists()


def test_eval_of_a_run_on_files_of_ones_own_says_the_scores_are_mnists(tmp_path, data_dir,
                                                                       capsys):
    """The lab scores against MNIST's test digits through a digit classifier whatever the run
    trained on: for a data set of one's own the report says so, on the screen and in
    eval.json; a run on MNIST is not told."""
    import json

    from minigan.app.cli import main

    Trainer(_config(tmp_path, 28)).run()
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "run"), "--data-dir", str(data_dir), "--device", "cpu",
                 "--n", "40", "--no-parzen"]) == 0
    out = capsys.readouterr().out
    said = "this run trained on a data set of its own (shapes.idx, the files setting), not MNIST"
    assert f"warning: {said}" in out
    assert json.loads((tmp_path / "run" / "eval.json").read_text())["warnings"][0].startswith(said)


def test_eval_every_on_files_of_ones_own_warns_before_the_run(tmp_path, data_dir):
    import shutil

    config = _config(tmp_path, 28)
    for path in data_dir.iterdir():          # the MNIST test split the lab scores against
        shutil.copy(path, tmp_path / "data" / path.name)
    trainer = Trainer({**config, "eval_every": 1, "eval_n": 20})
    said = trainer.scoring_warnings()
    assert said and said[0].startswith("--eval-every 1: this run trained on a data set of its "
                                       "own (shapes.idx, the files setting), not MNIST")


def test_a_conditional_run_on_fewer_classes_than_ten_says_which_rows_are_unseen(tmp_path):
    """A conditional GAN has the ten digits' one-hot labels: on a data set of three classes its
    grids draw ten rows, seven of labels G never saw; the run says so before it starts, and
    not for a data set that holds all ten."""
    import warnings

    config = _config(tmp_path, 28)
    labels = np.arange(64, dtype=np.uint8) % 3
    labels[-1] = 5
    config["files"] = _own_files(tmp_path / "data", np.zeros((64, 28, 28), np.uint8), labels)
    with pytest.warns(UserWarning, match=r"--conditional: the labels of shapes-labels\.idx hold "
                                         r"none of the classes 3, 4 and 6 to 9 of a conditional "
                                         r"GAN's 10"):
        Trainer({**config, "conditional": True})
    config["files"] = _own_files(tmp_path / "data", np.zeros((64, 28, 28), np.uint8),
                                 np.arange(64, dtype=np.uint8) % 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Trainer({**config, "conditional": True, "out": str(tmp_path / "all")})


def test_files_without_the_split_asked_for_say_which_it_has(tmp_path):
    """files holding only a test split, trained on the default train split: one ValueError
    that says which split to train on (it was a bare KeyError: 'train')."""
    config = _config(tmp_path, 28)
    config["files"] = {"test": config["files"]["train"]}
    with pytest.raises(ValueError, match=r"files has no train split \(it has test\): train on "
                                         r"split 'test' \(--split test\)"):
        Trainer(config)
    Trainer({**config, "split": "test"})
    with pytest.raises(ValueError, match=r"--data-dir .*nowhere is not a folder; give the folder "
                                         r"that holds the files of the files setting"):
        Trainer({**config, "split": "test", "data_dir": str(tmp_path / "nowhere")})


def test_eval_of_a_run_on_files_of_ones_own_without_mnist_says_why_mnist_is_wanted(
        tmp_path, capsys, monkeypatch):
    from minigan.app.cli import main

    monkeypatch.setenv("MINIGAN_DATA", str(tmp_path / "no-mnist"))
    Trainer(_config(tmp_path, 28)).run()
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "run"), "--device", "cpu", "--n", "40", "--no-parzen",
                 "--no-download"]) == 2
    assert ("eval scores a run against MNIST's test digits, whatever it trained on (this one: a "
            "data set of its own): t10k-images-idx3-ubyte.gz is not in") in capsys.readouterr().err


def _images_only(folder, images):
    """A data set of one's own without a labels file: its ``files`` setting."""
    folder.mkdir(exist_ok=True)
    write_idx(folder / "shapes.idx", images)
    return {"train": {"images": ["shapes.idx",
                                 hashlib.md5((folder / "shapes.idx").read_bytes()).hexdigest()]}}


def test_a_run_without_labels_trains_and_resumes_from_the_command_line(tmp_path, capsys):
    """A GAN without --conditional never reads labels: images alone train (a labels file of
    zeros had to be written for it), and the command line resumes the run from its
    config.json."""
    import json

    from minigan.app.cli import main

    config = _config(tmp_path, 28)
    images = np.random.default_rng(1).integers(0, 256, (64, 28, 28)).astype(np.uint8)
    config["files"] = _images_only(tmp_path / "data", images)
    Trainer(config).run()
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["files"] == config["files"]
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2", "--quiet"]) == 0
    assert "done: 2 epochs, 4 iterations" in capsys.readouterr().out


def test_a_conditional_run_without_labels_is_refused_before_it_starts(tmp_path):
    config = _config(tmp_path, 28)
    config["files"] = _images_only(tmp_path / "data", np.zeros((64, 28, 28), np.uint8))
    with pytest.raises(ValueError, match=r"--conditional trains on the images' labels, but files "
                                         r"gives no labels file for the train split: give "
                                         r"files\['train'\]\['labels'\] = \[NAME, MD5\]"):
        Trainer({**config, "conditional": True})
    assert not (tmp_path / "run").exists()
