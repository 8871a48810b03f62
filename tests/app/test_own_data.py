"""A run on a data set of one's own (the ``files`` setting): what it says it trains on, and
the errors that say what to do."""

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from minigan.app import runs
from minigan.app.trainer import Trainer
from minigan.data import write_idx

#: A one-epoch command-line run of a small model, for the runs on a data set of one's own.
ONE_EPOCH = ["--model", "vanilla", "--batch-size", "32", "--epochs", "1", "--quiet",
             "--device", "cpu"]


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
    assert first.startswith("training vanilla on shapes.idx, images of your own (64 images")


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
    warned = json.loads((tmp_path / "run" / "eval.json").read_text())["warnings"]
    assert warned[0].startswith(said)
    # a digit classifier's verdicts (mode collapse, "like no digit") hold only of digits,
    # said so: a run on shapes was given them as they are
    verdicts = [line for line in out.splitlines() if line.startswith("warning: ")][1:]
    assert verdicts and all(v.startswith("warning: if its images are digits: ") for v in verdicts)
    assert all(w.startswith("if its images are digits: ") for w in warned[1:]) and warned[1:]


def test_eval_every_on_files_of_ones_own_warns_before_the_run(tmp_path, data_dir, monkeypatch):
    config = _config(tmp_path, 28)
    monkeypatch.setenv("MINIGAN_DATA", str(data_dir))   # the test split the lab scores against
    trainer = Trainer({**config, "eval_every": 1, "eval_n": 20})
    said = trainer.scoring_warnings()
    assert said and said[0].startswith("--eval-every 1: this run trained on a data set of its "
                                       "own (shapes.idx, the files setting), not MNIST")
    assert "held only" not in said[0]
    with pytest.warns(UserWarning, match="hold none of the classes 1 to 9"):
        labelled = Trainer({**config, "eval_every": 1, "eval_n": 20, "conditional": True})
    assert said[0] + ", and its labels held only the class 0, where a conditional run is " \
        "scored on all ten" == labelled.scoring_warnings()[0]     # as eval says it
    logged = []                 # a digit classifier's verdict on each score, said as such
    trainer._log = logged.append
    trainer.out.mkdir(parents=True)       # as run() makes it, for scores.csv
    trainer._evaluate()
    verdicts = [line for line in logged if line.startswith(f"epoch {trainer.epoch}: ")]
    assert verdicts and all(v.startswith(f"epoch {trainer.epoch}: if its images are digits: ")
                            for v in verdicts)


def test_a_conditional_run_on_fewer_classes_than_ten_says_which_rows_are_unseen(tmp_path):
    """A conditional GAN has the ten digits' one-hot labels: on a data set of three classes its
    grids draw ten rows, seven of labels G never saw; the run says so before it starts, and
    not for a data set that holds all ten."""
    import warnings

    config = _config(tmp_path, 28)
    labels = np.arange(64, dtype=np.uint8) % 3
    labels[-1] = 5
    config["files"] = _own_files(tmp_path / "data", np.full((64, 28, 28), 200, np.uint8), labels)
    with pytest.warns(UserWarning, match=r"--conditional: the labels of shapes-labels\.idx hold "
                                         r"none of the classes 3, 4 and 6 to 9 of a conditional "
                                         r"GAN's 10"):
        Trainer({**config, "conditional": True})
    config["files"] = _own_files(tmp_path / "data", np.full((64, 28, 28), 200, np.uint8),
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
    config["files"] = _images_only(tmp_path / "data", np.full((64, 28, 28), 200, np.uint8))
    with pytest.raises(ValueError, match=r"--conditional trains on the images' labels, but files "
                                         r"gives no labels file for the train split: give "
                                         r"--labels FILE beside --images \(from Python, "
                                         r"files\['train'\]\['labels'\] = \[NAME, MD5\]\)"):
        Trainer({**config, "conditional": True})
    assert not (tmp_path / "run").exists()


def _write_own(folder, n=64, labels=True):
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(2)
    write_idx(folder / "shapes.idx.gz", rng.integers(0, 256, (n, 28, 28)).astype(np.uint8))
    if labels:
        write_idx(folder / "shapes-labels.idx.gz", (np.arange(n) % 10).astype(np.uint8))
    return folder / "shapes.idx.gz", folder / "shapes-labels.idx.gz"


def test_train_images_trains_on_files_of_ones_own_from_the_command_line(tmp_path, capsys):
    """``--images FILE [--labels FILE]``: the files setting (md5s computed) and the data
    folder from the command line, where a run on a data set of one's own had to start from
    Python; the run resumes, and a conditional one trains on the labels."""
    import json

    from minigan.app.cli import main

    images, labels = _write_own(tmp_path / "own")
    assert main(["train", "--images", str(images), "--out", str(tmp_path / "run"),
                 *ONE_EPOCH]) == 0
    assert "training vanilla on shapes.idx.gz, images of your own (64 images" in \
        capsys.readouterr().out
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["files"] == {"train": {"images": [
        "shapes.idx.gz", hashlib.md5(images.read_bytes()).hexdigest()]}}
    assert Path(config["data_dir"]).resolve() == (tmp_path / "own").resolve()
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2", "--quiet"]) == 0
    assert "done: 2 epochs" in capsys.readouterr().out
    assert main(["train", "--images", str(images), "--labels", str(labels), "--conditional",
                 "--out", str(tmp_path / "cond"), *ONE_EPOCH]) == 0
    config = json.loads((tmp_path / "cond" / "config.json").read_text())
    assert config["files"]["train"]["labels"] == [
        "shapes-labels.idx.gz", hashlib.md5(labels.read_bytes()).hexdigest()]


@pytest.mark.parametrize("args, said", [
    (["--labels", "{labels}"], "--labels FILE goes with --images FILE"),
    (["--images", "{own}/nothing.idx"], "nothing.idx: no such file; give the images file"),
    (["--images", "{own}"], "own: not a file; give the images file"),
    (["--images", "{images}", "--data-dir", "{own}"], "--images FILE names its folder, the "
                                                     "run's data folder: drop --data-dir"),
    (["--images", "{images}", "--labels", "{elsewhere}"], "is not in the images' folder"),
    (["--images", "{images}", "--conditional"], "--conditional trains on the images' labels, "
                                                "but files gives no labels file"),
])
def test_train_images_refuses_what_it_cannot_train_on(args, said, tmp_path, capsys,
                                                      assert_one_line_error):
    from minigan.app.cli import main

    images, labels = _write_own(tmp_path / "own")
    _, elsewhere = _write_own(tmp_path / "elsewhere")
    paths = {"own": tmp_path / "own", "images": images, "labels": labels,
             "elsewhere": elsewhere}
    rc = main(["train", *[a.format(**paths) for a in args], "--out", str(tmp_path / "run"),
               "--device", "cpu", "--quiet"])
    assert_one_line_error(rc, capsys.readouterr().err, said)
    assert not (tmp_path / "run").exists()


def test_a_resumed_run_is_not_given_other_images(tmp_path, capsys, assert_one_line_error):
    from minigan.app.cli import main

    images, _ = _write_own(tmp_path / "own")
    assert main(["train", "--images", str(images), *ONE_EPOCH,
                 "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    rc = main(["train", "--resume", str(tmp_path / "run"), "--images", str(images)])
    assert_one_line_error(rc, capsys.readouterr().err, "--images: a resumed run trains on the "
                          "files its config.json names")


def test_own_files_computes_the_md5s_load_mnist_checks(tmp_path):
    from minigan.data import load_mnist, own_files

    images, labels = _write_own(tmp_path / "own")
    files, folder = own_files(images, labels, split="test")
    assert folder == tmp_path / "own" and set(files) == {"test"}
    x, y = load_mnist("test", data_dir=folder, files=files, scale=None)
    assert x.shape == (64, 784) and list(y[:12]) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    with pytest.raises(ValueError, match="split must be one of"):
        own_files(images, split="validation")
    (tmp_path / "own" / "my shapes.idx").write_bytes(images.read_bytes())
    with pytest.raises(ValueError, match="whose names are letters, digits"):
        own_files(tmp_path / "own" / "my shapes.idx")


def test_train_images_reads_npy_files(tmp_path, capsys):
    """Images and labels saved with numpy.save train as IDX files do (no write_idx needed);
    the run resumes with the md5s of the .npy files."""
    from minigan.app.cli import main

    folder = tmp_path / "own"
    folder.mkdir()
    rng = np.random.default_rng(3)
    np.save(folder / "shapes.npy", rng.integers(0, 256, (64, 28, 28)).astype(np.uint8))
    np.save(folder / "labels.npy", np.arange(64) % 10)                 # int64 labels
    assert main(["train", "--images", str(folder / "shapes.npy"), "--labels",
                 str(folder / "labels.npy"), "--conditional", *ONE_EPOCH,
                 "--out", str(tmp_path / "run")]) == 0
    assert "training vanilla on shapes.npy" in capsys.readouterr().out
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2", "--quiet"]) == 0


@pytest.mark.parametrize("content, said", [
    (lambda: np.zeros((4, 28, 28), np.float32), r"expected uint8 images of shape N x H x W, got "
                                                r"float32 .* numpy\.save\(path, numpy\.round"),
    (lambda: np.array(["a", "b"]), r"holds <U1, not numbers; save numbers \(uint8 pixels, integer labels\)"),
    (lambda: np.array([{}], dtype=object), r"not a NumPy array file of numbers"),
    (lambda: b"not a numpy file", r"not a NumPy array file of numbers"),
    (lambda: np.zeros((4, 28, 28), np.uint8).tobytes(),          # raw bytes: NumPy said
     r"not a NumPy array file of numbers \(no \.npy header .*: raw bytes or another format "
     r"named \.npy\)"),                                              # "pickled data"
])
def test_a_npy_file_that_holds_no_images_is_refused(content, said, tmp_path):
    from minigan.data import MNISTError, load_mnist, own_files

    made = content()
    path = tmp_path / "x.npy"
    if isinstance(made, bytes):
        path.write_bytes(made)
    else:
        np.save(path, made, allow_pickle=True)
    files, folder = own_files(path)
    with pytest.raises(MNISTError, match=said):
        load_mnist("train", data_dir=folder, files=files)


def test_a_npy_file_is_bounded_before_it_is_read(tmp_path):
    """The bound is checked on the header: a file of 16 MB refused at 1 MB is not read (a
    bound checked after np.load read the data passed the test as well)."""
    import tracemalloc

    from minigan.data import MNISTError, read_data_file

    np.save(tmp_path / "x.npy", np.zeros((10, 28, 28), np.uint8))
    assert read_data_file(tmp_path / "x.npy", max_bytes=7840).shape == (10, 28, 28)
    with pytest.raises(MNISTError, match=r"holds 7,840 bytes of data, more than the 7,839"):
        read_data_file(tmp_path / "x.npy", max_bytes=7839)
    np.save(tmp_path / "big.npy", np.zeros(1 << 24, np.uint8))
    tracemalloc.start()
    try:
        with pytest.raises(MNISTError, match=r"holds 16,777,216 bytes of data, more than"):
            read_data_file(tmp_path / "big.npy", max_bytes=1 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_eval_every_of_a_run_on_files_of_ones_own_reads_mnist_from_the_default_folder(
        tmp_path, data_dir, monkeypatch):
    """--eval-every scores against MNIST's test split: for a data set of one's own it is read
    from the default folder (the download cache), not downloaded among one's own files, unless
    the data folder holds MNIST's own files (by their md5: files of one's own may bear MNIST's
    names, and a download replaced them); a run on MNIST reads its own data folder."""
    from minigan.app import runs

    monkeypatch.setenv("MINIGAN_DATA", str(data_dir))
    config = _config(tmp_path, 28)
    before = sorted(p.name for p in (tmp_path / "data").iterdir())
    trainer = Trainer({**config, "eval_every": 1, "eval_n": 20})
    assert trainer.reference is not None
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == before
    assert runs.eval_every_data_dir(trainer.config) is None
    assert runs.eval_every_data_dir({"files": None, "data_dir": "mnist"}) == "mnist"
    for path in data_dir.iterdir():          # files of MNIST's names beside one's own files
        (tmp_path / "data" / path.name).write_bytes(path.read_bytes())
    assert runs.eval_every_data_dir(trainer.config) is None     # not MNIST's own: not read
    for path in data_dir.iterdir():          # gzipped as downloaded, MNIST's md5s below
        (tmp_path / "data" / f"{path.name}.gz").write_bytes(gzip.compress(path.read_bytes()))
    assert runs.eval_every_data_dir(trainer.config) is None
    ckpt = tmp_path / "run" / "checkpoint.npz"                 # eval's choice likewise
    assert runs.scoring_data_dir(ckpt, trainer.config) is None
    own_md5s = {kind: (name, hashlib.md5((tmp_path / "data" / name).read_bytes()).hexdigest())
                for kind, (name, _) in runs.MNIST_FILES["test"].items()}
    monkeypatch.setitem(runs.MNIST_FILES, "test", own_md5s)     # as if they were MNIST's
    assert runs.eval_every_data_dir(trainer.config) == config["data_dir"]
    assert runs.scoring_data_dir(ckpt, trainer.config) == str(tmp_path / "data")


def test_own_files_folder_goes_to_train_as_it_is_returned(tmp_path, capsys):
    """cli.md: own_files gives "the files setting and the folder, for
    minigan.app.trainer.train({"files": files, "data_dir": folder, ...})": the folder is a
    pathlib.Path, which the settings refused as not a text (so was a Path given as out)."""
    from minigan.app.trainer import train
    from minigan.data import own_files

    images, _ = _write_own(tmp_path / "own")
    files, folder = own_files(images)
    train({"files": files, "data_dir": folder, "model": "vanilla", "batch_size": 32,
           "epochs": 1, "quiet": True, "device": "cpu", "out": tmp_path / "run"})
    assert "training vanilla on shapes.idx.gz" in capsys.readouterr().out
    assert (tmp_path / "run" / "checkpoint.npz").is_file()
    train({"resume": tmp_path / "run", "epochs": 2, "quiet": True, "data_dir": folder})
    assert "done: 2 epochs" in capsys.readouterr().out


@pytest.mark.parametrize("name, write, said", [
    ("x.npz", lambda p: np.savez(p, images=np.zeros((4, 28, 28), np.uint8)),
     r"x\.npz: not an IDX file: .*; minigan reads a data set's files as NumPy \.npy files "
     r"\(numpy\.save\(\"images\.npy\", x\)\) or IDX files .*: save each array of an \.npz "
     r"\(numpy\.savez\) with numpy\.save$"),
    ("x.pkl", lambda p: p.write_bytes(__import__("pickle").dumps(np.zeros((4, 28, 28)))),
     r"x\.pkl: not an IDX file: .*; minigan reads a data set's files as NumPy \.npy files"),
    ("images", lambda p: p.write_bytes(_npy_bytes(np.zeros((4, 28, 28), np.uint8))),
     r"images: not an IDX file: .*; it is a NumPy \.npy file, which minigan reads by its "
     r"name: name it images\.npy$"),
    ("x.dat", lambda p: p.write_bytes(np.zeros((4, 28, 28), np.uint8).tobytes()),   # raw bytes
     r"x\.dat: unknown IDX dtype code 0x00 .*; minigan reads a data set's files as NumPy "
     r"\.npy files"),
    ("x.npy.gz", lambda p: p.write_bytes(gzip.compress(_npy_bytes(np.zeros((4, 28, 28), np.uint8)))),
     r"x\.npy\.gz: not an IDX file: .*; it is a gzipped NumPy \.npy file, which minigan reads "
     r"un-gzipped: save the array with numpy\.save alone, named x\.npy$"),
])
def test_a_file_neither_npy_nor_idx_says_what_minigan_reads(name, write, said, tmp_path):
    """An .npz, a pickle or a .npy file named otherwise were refused as "not an IDX file"
    alone, which did not say that minigan reads .npy files too, nor what to do."""
    from minigan.data import DataError, load_mnist, own_files

    write(tmp_path / name)
    files, folder = own_files(tmp_path / name)
    with pytest.raises(DataError, match=said):
        load_mnist("train", data_dir=folder, files=files)


def _npy_bytes(array):
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_a_run_without_conditional_does_not_read_the_labels_given_to_it(tmp_path, capsys):
    """cli.md and --help: "a run without --conditional does not read labels given to it".
    It read them, and refused the run for labels it never uses (one-hot rows, too few of
    them, changed since, in a resumed run)."""
    from minigan.app.cli import main

    images, labels = _write_own(tmp_path / "own")
    np.save(tmp_path / "own" / "onehot.npy", np.eye(10, dtype=np.uint8)[np.arange(64) % 10])
    assert main(["train", "--images", str(images), "--labels",
                 str(tmp_path / "own" / "onehot.npy"), "--out", str(tmp_path / "run"),
                 *ONE_EPOCH]) == 0
    write_idx(labels, np.zeros(3, np.uint8))        # too few, and not the md5 of files
    assert main(["train", "--images", str(images), "--labels", str(labels),
                 "--out", str(tmp_path / "two"), *ONE_EPOCH]) == 0
    write_idx(labels, np.zeros(5, np.uint8))
    assert main(["train", "--resume", str(tmp_path / "two"), "--epochs", "2", "--quiet"]) == 0
    assert "done: 2 epochs" in capsys.readouterr().out


@pytest.mark.parametrize("model", [["--model", "vanilla"], ["--model", "mlp", "--clusters", "2"]])
def test_eval_every_on_images_without_mnist_says_where_to_put_it(tmp_path, capsys,
                                                                 assert_one_line_error,
                                                                 monkeypatch, model):
    """--eval-every reads MNIST's test split from the default folder, or the images' folder
    where it holds the split: the error said to point --data-dir or MINIGAN_DATA at a folder
    that has it, and --data-dir is refused beside --images. It comes before the groups'
    k-means (minutes on 60,000 images), which ran first."""
    from minigan.app.cli import main
    from minigan.gan import clusters

    def kmeans_ran(*args, **kwargs):
        raise AssertionError("k-means ran before the missing test split was said")

    monkeypatch.setattr(clusters, "kmeans", kmeans_ran)
    monkeypatch.setenv("MINIGAN_DATA", str(tmp_path / "cache"))
    images, _ = _write_own(tmp_path / "own")
    rc = main(["train", "--images", str(images), "--eval-every", "1", "--no-download",
               *model, "--batch-size", "32", "--quiet", "--device", "cpu",
               "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert_one_line_error(rc, err, "--eval-every 1 scores against the MNIST test split, which a "
                          "run on a data set of its own reads from the default folder "
                          f"{tmp_path / 'cache'} ($MINIGAN_DATA, else the download cache) unless "
                          f"its files' folder {tmp_path / 'own'} holds it: "
                          f"t10k-images-idx3-ubyte.gz is not in {tmp_path / 'cache'}",
                          "; put MNIST's t10k-images-idx3-ubyte.gz and "
                          "t10k-labels-idx1-ubyte.gz in either, or train without --eval-every "
                          "and score the run with minigan eval RUN --data-dir FOLDER")
    assert "--data-dir, or MINIGAN_DATA" not in err
    assert not (tmp_path / "run").exists()


def test_labels_without_conditional_are_said_to_be_unread(tmp_path, capsys):
    """--labels given without --conditional trained without reading them, without a word."""
    from minigan.app.cli import main

    images, labels = _write_own(tmp_path / "own")
    assert main(["train", "--images", str(images), "--labels", str(labels), *ONE_EPOCH,
                 "--out", str(tmp_path / "run")]) == 0
    assert ("minigan: warning: --labels without --conditional: a GAN without labels does not "
            "read them; add --conditional") in capsys.readouterr().err


def test_masks_of_0_and_1_are_told_to_be_scaled(tmp_path):
    """0/1 masks as uint8 trained as black images without a word, and as int64 were told
    x.astype(numpy.uint8), which keeps them black."""
    from minigan.data import MNISTError, load_mnist, own_files

    masks = (np.random.default_rng(4).uniform(size=(8, 28, 28)) > 0.5)
    np.save(tmp_path / "u8.npy", masks.astype(np.uint8))
    files, folder = own_files(tmp_path / "u8.npy")
    with pytest.warns(UserWarning, match=r"every pixel is 0 or 1 of 0 to 255, so the images are "
                                         r"black; for masks of 0 and 1, save x \* 255"):
        load_mnist("train", data_dir=folder, files=files)
    np.save(tmp_path / "i64.npy", masks.astype(np.int64))
    files, folder = own_files(tmp_path / "i64.npy")
    with pytest.raises(MNISTError, match=r"numpy\.save\(path, \(x \* 255\)\.astype\(numpy\.uint8\)\)"):
        load_mnist("train", data_dir=folder, files=files)


def test_a_resumed_run_whose_images_changed_says_what_to_do(tmp_path, capsys,
                                                            assert_one_line_error):
    """The md5 refusal told a command-line user to "give <md5> in files", which --resume
    cannot take: a resumed run trains on the data it began with."""
    from minigan.app.cli import main

    images, _ = _write_own(tmp_path / "own")
    assert main(["train", "--images", str(images), *ONE_EPOCH,
                 "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    write_idx(images, np.full((64, 28, 28), 9, np.uint8))            # written again
    rc = main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2", "--quiet"])
    assert_one_line_error(rc, capsys.readouterr().err,
                          f"--resume: {images} changed since the run began (md5 ",
                          "a resumed run trains on the data it began with; put that file back, "
                          "or train a new run on the files as they are now (minigan train "
                          f"--images {images} ...)")


def test_a_conditional_run_whose_labels_changed_names_both_files_and_conditional(
        tmp_path, capsys, assert_one_line_error):
    """The advice named the changed file as --images (the labels file here), without
    --labels or --conditional."""
    from minigan.app.cli import main

    images, labels = _write_own(tmp_path / "own")
    assert main(["train", "--images", str(images), "--labels", str(labels), "--conditional",
                 *ONE_EPOCH, "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    write_idx(labels, np.zeros(64, np.uint8))                        # written again
    rc = main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2", "--quiet"])
    assert_one_line_error(rc, capsys.readouterr().err, f"--resume: {labels} changed",
                          f"(minigan train --images {images} --labels {labels} --conditional ...)")


def test_a_resumed_run_whose_data_folder_moved_says_so(tmp_path, capsys, assert_one_line_error):
    """It said "--data-dir X is not a folder" of a folder the user never typed (the one the
    run recorded), and a resume may be given the new one."""
    from minigan.app.cli import main

    images, _ = _write_own(tmp_path / "own")
    assert main(["train", "--images", str(images), *ONE_EPOCH,
                 "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    (tmp_path / "own").rename(tmp_path / "moved")
    rc = main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2", "--quiet"])
    assert_one_line_error(rc, capsys.readouterr().err, "is not a folder (--data-dir as given, "
                          "else the run's own, moved or removed since it trained on it)",
                          "--data-dir, which a resumed run may change")
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2", "--quiet",
                 "--data-dir", str(tmp_path / "moved")]) == 0


def test_colour_images_names_and_labels_of_other_numbers_are_told_how_to_convert(tmp_path):
    """Colour images, labels saved as names and labels outside 0..9 were refused without a
    word on what to do (one-channel images, one-hot labels had their conversion)."""
    from minigan.data import MNISTError, load_mnist, own_files

    rng = np.random.default_rng(0)
    np.save(tmp_path / "rgb.npy", rng.integers(0, 256, (8, 28, 28, 3)).astype(np.uint8))
    files, folder = own_files(tmp_path / "rgb.npy")
    with pytest.raises(MNISTError, match=r"draw grey images, one channel: .*numpy\.save\(path, "
                                         r"numpy\.round\(x\[\.\.\., :3\]\.mean\(-1\)\)\."
                                         r"astype\(numpy\.uint8\)\)"):
        load_mnist("train", data_dir=folder, files=files)
    # float colour in [-1, 1], channels first: its range's conversion of the grey mean
    np.save(tmp_path / "rgbf.npy", rng.uniform(-1, 1, (8, 3, 28, 28)).astype(np.float32))
    files, folder = own_files(tmp_path / "rgbf.npy")
    with pytest.raises(MNISTError, match=r"numpy\.round\(\(x\[:, :3\]\.mean\(1\) \+ 1\) "
                                         r"\* 127\.5\)\.astype\(numpy\.uint8\)"):
        load_mnist("train", data_dir=folder, files=files)
    for n, labels, said in (
            (6, np.array(["sq", "ci", "cr"] * 2),
             r"for labels given as names, save their class numbers, numpy\.save\(path, "
             r"numpy\.unique\(y, return_inverse=True\)\[1\]\)"),
            (6, np.array([-1, 0, 1, 2, 3, 4]),
             r"with 6 classes of other numbers, number them 0 to 5, numpy\.unique"),
            (6, np.array([0, 1, 2, 9, 10, 11]),
             r"with 6 classes of other numbers, number them 0 to 5, numpy\.unique"),
            (12, np.arange(12),
             r"the data has 12 classes, more than the 10 a conditional run draws: train it "
             r"without --conditional")):
        np.save(tmp_path / "img.npy", rng.integers(0, 256, (n, 28, 28)).astype(np.uint8))
        np.save(tmp_path / "labels.npy", labels)
        files, folder = own_files(tmp_path / "img.npy", tmp_path / "labels.npy")
        with pytest.raises(MNISTError, match=said):
            load_mnist("train", data_dir=folder, files=files, classes=10)


def test_a_conditional_run_on_three_classes_draws_its_fakes_labels_from_them(tmp_path):
    """Fake labels were drawn from the ten classes whatever the data: on three classes, 70% of
    the fake batches carried labels no real image has (D learned "3 to 9 is fake"). A run on
    MNIST's ten classes draws as before."""
    images = np.random.default_rng(0).integers(0, 256, (60, 28, 28)).astype(np.uint8)
    files = _own_files(tmp_path / "data", images, (np.arange(60) % 3).astype(np.uint8))
    config = {"files": files, "data_dir": str(tmp_path / "data"), "split": "train",
              "download": False, "device": "cpu", "quiet": True, "model": "vanilla",
              "batch_size": 20, "epochs": 1, "out": str(tmp_path / "run"), "conditional": True}
    with pytest.warns(UserWarning, match="draws its fakes' labels from the classes the data "
                                         "holds"):
        trainer = Trainer(config)
    assert trainer.gan.drawn_classes == [0, 1, 2]
    drawn = trainer.gan.sample_noise(600)[:, -10:].argmax(axis=1)
    assert set(drawn.tolist()) == {0, 1, 2}
    trainer.run()
    ten = (np.arange(60) % 10).astype(np.uint8)
    files = _own_files(tmp_path / "ten", images, ten)
    trainer = Trainer({**config, "files": files, "data_dir": str(tmp_path / "ten"),
                       "out": str(tmp_path / "run10")})
    assert trainer.gan.drawn_classes is None


def test_sample_interpolate_and_eval_say_which_labels_a_conditional_run_never_saw(
        tmp_path, capsys):
    """A run on three classes warned once, when it trained: `sample --label 7` and the rows
    of the digits 3 to 9 drew what G makes of a label it was never trained on without a word,
    interpolate's random rows drew them too, and eval's caveat did not name them. The
    checkpoint keeps the classes the data held."""
    from minigan.app import runs
    from minigan.app.checkpoint import CheckpointError
    from minigan.app.cli import main

    images = np.random.default_rng(0).integers(0, 256, (60, 28, 28)).astype(np.uint8)
    files = _own_files(tmp_path / "data", images, (np.arange(60) % 3).astype(np.uint8))
    config = {"files": files, "data_dir": str(tmp_path / "data"), "split": "train",
              "download": False, "device": "cpu", "quiet": True, "model": "vanilla",
              "batch_size": 20, "epochs": 1, "out": str(tmp_path / "run"), "conditional": True}
    with pytest.warns(UserWarning, match="draws its fakes' labels"):
        Trainer(config).run()
    run = tmp_path / "run"
    saved = runs.run_settings(run / "checkpoint.npz")
    assert saved["classes_present"] == [0, 1, 2]
    assert "its labels held only the classes 0 to 2" in runs.own_data_caveat(saved)
    capsys.readouterr()
    for argv, unseen in ((["--label", "7"], "the class 7 (only 0 to 2)"),
                         ([], None), (["--label", "1"], None)):
        assert main(["sample", str(run), "--n", "10", "--device", "cpu", "--out",
                     str(tmp_path / "s.png"), *argv]) == 0
        out, err = capsys.readouterr()
        assert (f"no image of {unseen}: G was never trained on" in err) if unseen else \
            "never trained" not in err
        if not argv:   # its grid: a row per class the data held (3 to 9 drew unseen labels)
            assert ("wrote 12 samples, one row per class its data held (0 to 2) (--n 10 "
                    "rounded up to 12: 4 of each class)") in out
    assert main(["interpolate", str(run), "--pairs", "12", "--device", "cpu", "--out",
                 str(tmp_path / "i.png")]) == 0
    out, err = capsys.readouterr()
    rows = out.split("the rows of the digits ")[1].split(" (")[0].split()
    assert len(rows) == 12 and set(rows) <= {"0", "1", "2"} and "never trained" not in err
    assert main(["interpolate", str(run), "--label", "5", "--device", "cpu", "--out",
                 str(tmp_path / "i.png")]) == 0
    assert "no image of the class 5 (only 0 to 2)" in capsys.readouterr().err
    for damaged in ([3, 1], [], [0, True], [0, 10], list(range(10)), "0 1 2"):
        with pytest.raises(CheckpointError, match="classes_present should list, in order"):
            runs.classes_present({"classes_present": damaged}, "x.npz")


def test_a_data_set_of_one_image_is_said_in_the_singular(tmp_path, capsys):
    """"(1 images, ..." in the run's first line."""
    config = _config(tmp_path, 28)
    config["files"] = _own_files(tmp_path / "data", np.full((1, 28, 28), 200, np.uint8),
                                 np.zeros(1, np.uint8))
    Trainer({**config, "batch_size": 1}).run()
    first = capsys.readouterr().out.splitlines()[0]
    assert "(1 image, 1 iteration/epoch, 1 epoch)" in first


@pytest.mark.parametrize("different, clusters, warned", [(3, 4, True), (4, 4, False),
                                                         (1, 4, True)])
def test_groups_of_copies_say_how_many_groups_the_images_make(tmp_path, capsys, different,
                                                             clusters, warned):
    """``--clusters K`` on images of which fewer than K differ: k-means fills the other groups
    with copies of the same images, which the run says (and how many groups to ask for)."""
    config = _config(tmp_path, 28)
    images = np.random.default_rng(1).integers(0, 256, (different, 28, 28)).astype(np.uint8)
    config["files"] = _own_files(tmp_path / "data", np.resize(images, (64, 28, 28)),
                                 np.zeros(64, np.uint8))
    config.update(model="mlp", clusters=clusters)
    Trainer(config)
    err = capsys.readouterr().err
    groups = "1 different group" if different == 1 else f"{different} different groups"
    advice = ("use --clusters 0 (self-conditioning off" if different == 1 else
              f"use --clusters {different} or less")
    expected = (f"minigan: warning: --clusters {clusters}: the 64 images of shapes.idx make "
                f"only {groups} (the others hold copies of the same images); {advice}")
    assert (expected in err) is warned, err


def test_mnists_own_images_given_as_files_are_mnist(tmp_path, capsys, monkeypatch):
    """``--images t10k-images-idx3-ubyte.gz``: MNIST's own file, known by its md5, trains and
    is scored as MNIST's test split (the lab says it saw the digits it is scored against, and
    not that its images may not be digits); any other file is a data set of its own."""
    config = _config(tmp_path, 28)
    assert runs.mnist_split(config) is None
    assert "a data set of its own" in runs.own_data_caveat(config)
    md5 = config["files"]["train"]["images"][1]
    monkeypatch.setitem(runs.MNIST_FILES, "test", {"images": ("t10k-images-idx3-ubyte.gz", md5),
                                                   "labels": runs.MNIST_FILES["test"]["labels"]})
    assert runs.mnist_split(config) == "test"
    assert runs.own_data_caveat(config) is None
    Trainer(config).run()
    assert capsys.readouterr().out.startswith("training vanilla on shapes.idx (MNIST test) (64")
    assert runs.mnist_split({"split": "train"}) == "train"      # a run on MNIST itself


@pytest.mark.parametrize("model, extra, said", [
    ("mlp", {}, r"shapes.idx has 1 image, and the minibatch layer \(stddev\) needs "
                r"batches of 2 or more: train on 2 or more images, or on a model without"),
    ("vanilla", {"batch_size": 1, "clusters": 30},
     r"--clusters 30: shapes.idx has 1 image, fewer than the groups; use --clusters 0 "
     r"\(self-conditioning off")])
def test_one_image_gets_advice_it_can_follow(tmp_path, model, extra, said):
    """One image: "use --batch-size 1 or less", then for --batch-size 1 "use --batch-size 2 or
    more" (the minibatch layer); "--clusters 1 or less", then --clusters 1 refused."""
    config = _config(tmp_path, 28)
    image = np.random.default_rng(2).integers(0, 256, (1, 28, 28)).astype(np.uint8)
    config["files"] = _own_files(tmp_path / "data", image, np.zeros(1, np.uint8))
    config.update(model=model, **extra)
    with pytest.raises(ValueError, match=f"^{said}"):
        Trainer(config)


def test_all_black_images_are_not_told_to_be_masks(tmp_path):
    """Images that are all 0 were told "for masks of 0 and 1, save x * 255", which keeps
    them black."""
    import warnings

    from minigan.data import load_mnist, own_files

    np.save(tmp_path / "black.npy", np.zeros((8, 28, 28), np.uint8))
    files, folder = own_files(tmp_path / "black.npy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_mnist("train", data_dir=folder, files=files)
    said = [str(w.message) for w in caught]
    assert len(said) == 1 and said[0].endswith("black.npy: every pixel is 0: the images are all "
                                               "black"), said
