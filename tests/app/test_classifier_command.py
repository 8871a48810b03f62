"""``minigan classifier train`` and ``show``: what they refuse, and when."""

import errno

import pytest

from minigan.app.cli import main
from minigan.data import load_mnist
from minigan.lab import classifier as clf_lib


def run_main(argv, capsys):
    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def _no_training(*args, **kwargs):
    raise AssertionError("the training started")


@pytest.mark.parametrize("where, said", [
    ("folder", "is a folder; give a file name in it"),
    ("file/c.npz", "is a file, not a folder; create it or choose another --out"),
    ("file/sub/c.npz", "cannot create it (its folder"),   # named as given, not its folder
])
def test_train_refuses_an_out_it_cannot_write_before_training(where, said, tmp_path, capsys,
                                                              monkeypatch, assert_one_line_error):
    """The weights were written after the training: an --out that is a folder failed then,
    with an error naming a temporary file, and the trained weights were lost."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("mine")
    monkeypatch.setattr(clf_lib, "split_for_training", _no_training)
    monkeypatch.setattr(clf_lib, "train_classifier", _no_training)
    rc, _, err = run_main(["classifier", "train", "--device", "cpu", "--out",
                           str(tmp_path / where)], capsys)
    assert_one_line_error(rc, err, f"--out {tmp_path / where}", said)
    assert ".tmp" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder"]
    assert (tmp_path / "file").read_text() == "mine" and not any((tmp_path / "folder").iterdir())


@pytest.mark.parametrize("name", ["t10k-labels-idx1-ubyte", "notes.txt", "digits.npy",
                                  "damaged.npz"])
def test_train_refuses_to_write_over_a_file_that_is_not_a_classifier(name, tmp_path, capsys,
                                                                      monkeypatch, data_dir,
                                                                      assert_one_line_error):
    """``--out DATA/t10k-labels-idx1-ubyte.gz`` replaced the labels it trained on (offline, for
    good); any file was replaced so. A classifier's file, damaged or not, may be."""
    import shutil
    import zipfile

    path = tmp_path / name
    if name.startswith("t10k"):           # MNIST's labels, as the data folder holds them
        shutil.copy(data_dir / name, path)
    elif name == "damaged.npz":           # a classifier's entries, their bytes cut
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("info.npy", b"cut")
            archive.writestr("param:1.W.npy", b"cut")
    else:
        path.write_bytes(b"mine")
    before = path.read_bytes()
    if name != "damaged.npz":
        monkeypatch.setattr(clf_lib, "split_for_training", _no_training)
        rc, _, err = run_main(["classifier", "train", "--device", "cpu", "--out", str(path)],
                              capsys)
        assert_one_line_error(rc, err, f"--out {path} is a file that holds no classifier",
                              "choose a new file")
        assert path.read_bytes() == before
        return
    assert clf_lib.holds_classifier(path)
    x, y = load_mnist("test", data_dir=data_dir, scale="sigmoid")[:2]
    monkeypatch.setattr(clf_lib, "split_for_training",
                        lambda *a: (x[:128], y[:128], x[128:], y[128:], "a", "b"))
    rc, out, _ = run_main(["classifier", "train", "--device", "cpu", "--epochs", "1", "--out",
                           str(path)], capsys)
    assert rc == 0 and "replacing the file there" in out
    written = clf_lib.load(path).info                    # the weights just trained
    assert written["epochs"] == 1 and written["trained_on"] == "a"


def test_a_write_refused_after_training_is_one_line_naming_out(tmp_path, capsys, monkeypatch,
                                                               data_dir, assert_one_line_error):
    x, y = load_mnist("test", data_dir=data_dir, scale="sigmoid")[:2]
    monkeypatch.setattr(clf_lib, "split_for_training",
                        lambda *a: (x[:128], y[:128], x[128:], y[128:], "a", "b"))

    save = clf_lib.save

    def refused(clf, path):
        if path == tmp_path / "c.npz":
            raise OSError(errno.EROFS, "Read-only file system")
        return save(clf, path)

    monkeypatch.setattr(clf_lib, "save", refused)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "temporary"))
    (tmp_path / "temporary").mkdir()
    rc, _, err = run_main(["classifier", "train", "--device", "cpu", "--epochs", "1", "--out",
                           str(tmp_path / "c.npz")], capsys)
    assert_one_line_error(rc, err, f"--out {tmp_path / 'c.npz'}: cannot write it (Read-only",
                          "the trained classifier is kept in", "--classifier")
    kept = list((tmp_path / "temporary").glob("minigan-classifier-*/classifier.npz"))
    assert len(kept) == 1 and f"kept in {kept[0]}:" in err     # not lost: it loads
    assert clf_lib.load_default(kept[0]).info["epochs"] == 1


def test_a_classifier_that_cannot_be_kept_anywhere_leaves_no_folder(tmp_path, capsys, monkeypatch,
                                                                     data_dir,
                                                                     assert_one_line_failure):
    x, y = load_mnist("test", data_dir=data_dir, scale="sigmoid")[:2]
    monkeypatch.setattr(clf_lib, "split_for_training",
                        lambda *a: (x[:128], y[:128], x[128:], y[128:], "a", "b"))

    def refused(clf, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(clf_lib, "save", refused)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "temporary"))
    (tmp_path / "temporary").mkdir()
    rc, _, err = run_main(["classifier", "train", "--device", "cpu", "--epochs", "1", "--out",
                           str(tmp_path / "c.npz")], capsys)
    assert_one_line_failure(rc, err, "cannot write it (No space left on device)",  # exit 1
                            "nor could it be kept in the temporary folder (No space left")
    assert list((tmp_path / "temporary").iterdir()) == []


def test_show_names_its_own_option_for_a_missing_file(tmp_path, capsys, assert_one_line_error):
    """``show --path`` of no file told to leave --classifier out, an option show has not."""
    rc, _, err = run_main(["classifier", "show", "--path", str(tmp_path / "none.npz")], capsys)
    assert_one_line_error(rc, err, f"no classifier at {tmp_path / 'none.npz'}",
                          "leave --path out")
    assert "--classifier" not in err


def test_train_says_it_replaced_a_classifier(tmp_path, capsys, monkeypatch, data_dir):
    """Trained to a file that exists (the cache, the default --out, is one: the classifier
    minigan eval scored with until then), the message says the file was replaced."""
    x, y = load_mnist("test", data_dir=data_dir, scale="sigmoid")[:2]
    monkeypatch.setattr(clf_lib, "split_for_training",
                        lambda *a: (x[:128], y[:128], x[128:], y[128:], "a", "b"))
    argv = ["classifier", "train", "--device", "cpu", "--epochs", "1", "--out",
            str(tmp_path / "c.npz")]
    rc, out, _ = run_main(argv, capsys)
    used = f"; minigan eval scores with it given --classifier {tmp_path / 'c.npz'}"
    assert rc == 0 and out.rstrip().endswith(f"wrote {tmp_path / 'c.npz'}{used}")
    rc, out, _ = run_main(argv, capsys)
    assert rc == 0 and out.rstrip().endswith(f"wrote {tmp_path / 'c.npz'}, replacing the file "
                                             f"there{used}")


def test_train_says_how_eval_will_use_the_classifier(tmp_path, capsys, monkeypatch, data_dir):
    """A classifier written to --out is used by eval only when given as --classifier; the one
    written to the cache, the default --out, by every eval after it. The last line said
    "wrote PATH" alone."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    x, y = load_mnist("test", data_dir=data_dir, scale="sigmoid")[:2]
    monkeypatch.setattr(clf_lib, "split_for_training",
                        lambda *a: (x[:128], y[:128], x[128:], y[128:], "a", "b"))
    rc, out, _ = run_main(["classifier", "train", "--device", "cpu", "--epochs", "1"], capsys)
    assert rc == 0 and out.rstrip().endswith(f"wrote {clf_lib.cache_path()}; minigan eval scores "
                                             f"with it from now on (remove "
                                             f"{clf_lib.cache_path()} to score with the one "
                                             "minigan ships again)")


def test_scores_made_with_a_cached_classifier_of_other_weights_say_so(tmp_path, capsys,
                                                                      monkeypatch, data_dir):
    """After ``classifier train`` (its default --out, the cache), every eval scored with the
    new weights under the same version name, and nothing said how to go back: the real row's
    inception score moved from 9.66 to 7.17 for a one-epoch classifier."""
    import json

    import numpy as np

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    x, y = load_mnist("test", data_dir=data_dir, scale="sigmoid")[:2]
    digits = tmp_path / "digits.npy"
    np.save(digits, x[:100])
    argv = ["eval", str(digits), "--data-dir", str(data_dir), "--device", "cpu", "--no-parzen"]
    said = "warning: scored with the cached classifier"
    clf_lib.cache_path().parent.mkdir(parents=True)
    clf_lib.cache_path().write_bytes(clf_lib.shipped_path().read_bytes())   # the same weights
    rc, out, _ = run_main(argv, capsys)
    assert rc == 0 and said not in out
    net = clf_lib.train_classifier(x[:64], y[:64], epochs=1, seed=0)
    clf_lib.save(clf_lib.Classifier(net), clf_lib.cache_path())
    rc, out, _ = run_main(argv, capsys)
    assert rc == 0 and (f"{said} {clf_lib.cache_path()} (sha256:" in out)
    assert f"remove {clf_lib.cache_path()} to score with the shipped one" in out
    report = json.loads((tmp_path / "digits_eval.json").read_text())
    assert any(w.startswith("scored with the cached classifier") for w in report["warnings"])
    rc, out, _ = run_main([*argv, "--classifier", str(clf_lib.cache_path())], capsys)
    assert rc == 0 and said not in out                  # named by the user: theirs


def test_train_help_says_what_its_default_out_replaces(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")     # argparse wraps a long path in the middle
    with pytest.raises(SystemExit):
        main(["classifier", "train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default ~/.cache/minigan/classifier_v1.npz, or under $XDG_CACHE_HOME/minigan " \
           "where it is set: the cached classifier that minigan eval scores with; it replaces " \
           "the one there)" in text
    assert "--no-download never download MNIST" in text


def test_show_says_which_file_eval_would_use(tmp_path, capsys, monkeypatch):
    """It printed the version and training of the classifier, not whether it was the cached one
    or the one shipped with minigan, which its help says it prints."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cached = tmp_path / "minigan" / "classifier_v1.npz"
    rc, out, _ = run_main(["classifier", "show"], capsys)
    assert rc == 0
    assert f"file: {clf_lib.shipped_path()} (the one shipped with minigan; none is cached at " \
           f"{cached})" in out
    cached.parent.mkdir()
    cached.write_bytes(clf_lib.shipped_path().read_bytes())
    rc, out, _ = run_main(["classifier", "show"], capsys)
    assert rc == 0 and f"file: {cached} (the cached one)" in out
    rc, out, _ = run_main(["classifier", "show", "--path", str(cached)], capsys)
    assert rc == 0 and f"file: {cached} (--path)" in out


def test_a_damaged_cached_classifier_says_it_can_be_removed_for_the_shipped_one(
        tmp_path, capsys, monkeypatch, assert_one_line_error):
    """"retrain" alone, where removing the cached file scores with the shipped classifier."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cached = clf_lib.cache_path()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(clf_lib.shipped_path().read_bytes()[:-100])
    rc, _, err = run_main(["classifier", "show"], capsys)
    assert_one_line_error(rc, err, str(cached), "the cached classifier: remove it to score with "
                                                "the one shipped with minigan")
    rc, _, err = run_main(["classifier", "show", "--path", str(cached)], capsys)
    assert rc == 2 and "remove it" not in err           # a file given: no word of the cache


def test_no_home_folder_is_one_line_naming_what_to_set(tmp_path, capsys, monkeypatch,
                                                      assert_one_line_error):
    """``HOME`` unset and no password entry: pathlib's RuntimeError ("Could not determine home
    directory.") came out of every default cache folder, as a traceback."""
    from pathlib import Path

    from minigan.data import mnist

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("MINIGAN_DATA", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    rc, _, err = run_main(["classifier", "show"], capsys)
    assert_one_line_error(rc, err, "knows no home folder ($HOME is not set): set $HOME or "
                                   "$XDG_CACHE_HOME")
    with pytest.raises(mnist.DataError, match=r"set \$HOME or \$XDG_CACHE_HOME"):
        mnist.default_data_dir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert clf_lib.cache_path() == tmp_path / "minigan" / "classifier_v1.npz"


def test_a_training_stopped_says_how_far_it_got_and_that_nothing_was_written(
        tmp_path, capsys, monkeypatch, data_dir):
    """Ctrl-C or SIGTERM in the middle of the epochs printed "minigan: interrupted" alone:
    it says how many epochs were trained and that none of it was kept."""
    x, y = load_mnist("test", data_dir=data_dir, scale="sigmoid")[:2]
    monkeypatch.setattr(clf_lib, "split_for_training",
                        lambda *a: (x[:128], y[:128], x[128:], y[128:], "a", "b"))
    real = clf_lib.train_classifier

    def stopped_in_the_third_epoch(*args, log, **kwargs):
        def log_then_stop(line):
            log(line)
            if line.startswith("epoch 2/"):
                raise KeyboardInterrupt
        return real(*args, log=log_then_stop, **kwargs)

    monkeypatch.setattr(clf_lib, "train_classifier", stopped_in_the_third_epoch)
    rc, out, err = run_main(["classifier", "train", "--device", "cpu", "--epochs", "5", "--out",
                             str(tmp_path / "c.npz")], capsys)
    assert rc == 130 and "epoch 2/5" in out
    assert err == ("minigan: interrupted after 2 of 5 epochs of the classifier; nothing was "
                   "written (the classifier is saved only when all its epochs are trained; "
                   "fewer --epochs take less time)\n")
    assert not (tmp_path / "c.npz").exists()
