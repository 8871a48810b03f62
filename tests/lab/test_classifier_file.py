"""A classifier file is untrusted input: what is not the classifier is refused in one line
naming the file, before any evaluation and without reading more than the file claims."""

import os
import zipfile

import numpy as np
import pytest

from minigan.app.cli import main
from minigan.lab import classifier as C


def _eval(run, classifier):
    return ["eval", str(run), "--classifier", str(classifier), "--device", "cpu", "--no-parzen"]


@pytest.fixture(scope="module")
def run_dir(train_args, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(train_args(data_dir, out, "--epochs", "1")) == 0
    return out


def test_what_is_not_a_classifier_is_refused_in_one_line(run_dir, tmp_path, capsys,
                                                         assert_one_line_error):
    noise = tmp_path / "noise.npz"
    noise.write_bytes(os.urandom(5000))
    cases = [(run_dir / "checkpoint.npz", "is not a parameter of the classifier"),
             (noise, "not an .npz archive"),
             (tmp_path / "missing.npz", "no classifier at")]
    for path, words in cases:
        rc = main(_eval(run_dir, path))
        err = capsys.readouterr().err
        assert_one_line_error(rc, err, str(path), words)
        assert "allow_pickle" not in err and "none shipped" not in err


def test_nan_weights_with_a_matching_checksum_are_refused(tmp_path):
    clf = C.load_default()
    clf.net.params["8.W"][0, 0] = np.nan                 # the checksum is recomputed on save
    bad = C.save(C.Classifier(clf.net, clf.info), tmp_path / "nan.npz")
    with pytest.raises(C.ClassifierError, match=r"param:8.W holds NaN"):
        C.load(bad)


def test_a_header_claiming_gigabytes_is_refused_without_reading_them(tmp_path):
    path = tmp_path / "huge.npz"
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (8000000000,), }"
    header += b" " * (118 - len(header)) + b"\n"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("param:1.W.npy", b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
                   + header)
    with pytest.raises(C.ClassifierError, match="has shape"):
        C.load(path)
