"""Every file minigan reads, fuzzed: mutated checkpoints, config.json files, metrics.csv files,
IDX files and classifier files give minigan's own errors (one line through the command line),
never another exception, and never use much memory on the way.

The number of examples is the hypothesis profile's; ``.ci/run`` also runs these with the
``fuzz`` profile (many more, derandomized).
"""

import gzip
import json
import shutil
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minigan.app import checkpoint, runs
from minigan.app.cli import main
from minigan.app.settings import SettingError
from minigan.app.trainer import Trainer
from minigan.data import DataError, read_idx, write_idx
from minigan.lab import classifier as C

#: What a loader may raise: minigan's own errors, each a one-line message.
OURS = (checkpoint.CheckpointError, SettingError, DataError, C.ClassifierError)
MEMORY = 64 << 20
PROFILE = settings(suppress_health_check=list(HealthCheck), deadline=None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=10)


@st.composite
def byte_mutations(draw):
    """A few byte flips, maybe a cut and an insertion, as positions in [0, 1)."""
    flips = draw(st.lists(st.tuples(st.floats(0, 0.999), st.integers(0, 255)), max_size=8))
    cut = draw(st.none() | st.floats(0.0, 1.0))
    insert = draw(st.none() | st.tuples(st.floats(0, 0.999), st.binary(min_size=1, max_size=64)))
    return flips, cut, insert


def mutate(data, mutations):
    flips, cut, insert = mutations
    data = bytearray(data)
    for where, byte in flips:
        data[int(where * len(data))] = byte
    if insert is not None:
        at = int(insert[0] * len(data))
        data[at:at] = insert[1]
    if cut is not None:
        data = data[:int(cut * len(data))]
    return bytes(data)


def bounded(call):
    """Run ``call``; return what it raised (None if nothing), asserting it used little memory."""
    tracemalloc.start()
    try:
        call()
        raised = None
    except Exception as exc:  # noqa: BLE001 - the test is what may come out
        raised = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MEMORY, (peak, raised)
    return raised


@pytest.fixture(scope="module")
def run_dir(train_args, write_tiny_mnist, tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    data = write_tiny_mnist(root / "mnist", n=64)
    out = root / "run"
    assert main(train_args(data, out, "--epochs", "1", "--ema", "0.9")) == 0
    return out


def _fresh(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("case") / "run"
    shutil.copytree(run_dir, out)
    return out


def _load_generator(path):
    runs.load_generator(path)


@PROFILE
@given(mutations=byte_mutations())
def test_mutated_checkpoint_bytes(mutations, run_dir, tmp_path_factory):
    out = _fresh(run_dir, tmp_path_factory)
    path = out / "checkpoint.npz"
    path.write_bytes(mutate(path.read_bytes(), mutations))
    raised = bounded(lambda: _load_generator(path))
    assert raised is None or isinstance(raised, OURS), repr(raised)


@PROFILE
@given(entry=st.sampled_from(["minigan", "config", "counters", "rng_states", "extra"]),
       key=st.text(max_size=12) | st.sampled_from(["version", "model", "epoch", "iteration",
                                                   "step_in_epoch", "seconds", "noise",
                                                   "dtype", "pack", "conditional",
                                                   "clusters", "g_label", "g_batch"]),
       value=json_values)
def test_mutated_checkpoint_entries(entry, key, value, run_dir, tmp_path_factory):
    out = _fresh(run_dir, tmp_path_factory)
    path = out / "checkpoint.npz"
    with np.load(path, allow_pickle=False) as f:              # the test's own, trusted file
        entries = {k: f[k] for k in f.files}
    content = json.loads(str(entries[entry]))
    if isinstance(content, dict):
        content[key] = value
    else:
        content = value
    entries[entry] = np.array(json.dumps(content))
    np.savez(path, **entries)

    def resume_and_sample():
        Trainer(     # restores: every value checked
            {"resume": str(out), "epochs": 5, "quiet": True, "device": "cpu",
             "data_dir": str(run_dir.parent / "mnist"), "download": False})

    raised = bounded(resume_and_sample)
    assert raised is None or isinstance(raised, OURS), repr(raised)


@PROFILE
@given(key=st.sampled_from(["model", "epochs", "batch_size", "lr", "betas", "k", "seed", "split",
                            "dtype", "files", "data_dir", "conditional", "pack", "minibatch",
                            "ema", "loss", "gp_weight", "asked", "n_samples", "clusters",
                            "g_label", "g_batch"]) | st.text(max_size=8),
       value=json_values, cut=st.none() | st.integers(0, 300))
def test_mutated_config_json(key, value, cut, run_dir, tmp_path_factory, capsys):
    out = _fresh(run_dir, tmp_path_factory)
    (out / "checkpoint.npz").unlink()                  # a run stopped before its checkpoint
    path = out / "config.json"
    config = json.loads(path.read_text())
    config[key] = value
    text = json.dumps(config)
    path.write_text(text if cut is None else text[:cut])
    rc = main(["train", "--resume", str(out), "--epochs", "1", "--quiet", "--device", "cpu",
               "--data-dir", str(run_dir.parent / "mnist"), "--no-download"])
    err = capsys.readouterr().err
    assert rc in (0, 1, 2) and "Traceback" not in err, err
    if rc == 2:
        assert len(err.strip().splitlines()) == 1 and err.startswith("minigan: error: "), err
    if rc == 1:     # a step size of 7e8 is a setting, and the run it trains diverges
        assert err.strip().splitlines()[-1].startswith("minigan: error: training diverged "), err


@PROFILE
@given(mutations=byte_mutations())
def test_mutated_metrics_csv(mutations, run_dir, tmp_path_factory, capsys):
    out = _fresh(run_dir, tmp_path_factory)
    path = out / "metrics.csv"
    path.write_bytes(mutate(path.read_bytes(), mutations))
    rc = main(["train", "--resume", str(out), "--epochs", "2", "--quiet", "--device", "cpu",
               "--data-dir", str(run_dir.parent / "mnist"), "--no-download"])
    err = capsys.readouterr().err
    assert rc in (0, 2) and "Traceback" not in err, err


@PROFILE
@given(mutations=byte_mutations(), compressed=st.booleans())
def test_mutated_idx_files(mutations, compressed, tmp_path_factory):
    path = tmp_path_factory.mktemp("idx") / "data.idx"
    write_idx(path, np.arange(6 * 4 * 3, dtype=np.uint8).reshape(6, 4, 3))
    data = path.read_bytes()
    data = mutate(gzip.compress(data) if compressed else data, mutations)
    path.write_bytes(data)
    raised = bounded(lambda: read_idx(path, max_bytes=1 << 20))
    assert raised is None or isinstance(raised, DataError), repr(raised)


@pytest.fixture(scope="module")
def classifier_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("clf") / "c.npz"
    shutil.copy(C.shipped_path(), path)
    return path


@PROFILE
@given(mutations=byte_mutations())
def test_mutated_classifier_files(mutations, classifier_file, tmp_path_factory):
    path = tmp_path_factory.mktemp("clf") / "c.npz"
    path.write_bytes(mutate(classifier_file.read_bytes(), mutations))
    raised = bounded(lambda: C.load(path))
    assert raised is None or isinstance(raised, OURS), repr(raised)


def test_the_mutations_reach_the_loaders(run_dir, tmp_path_factory):
    """A mutation the loaders see: a cut checkpoint, refused as ours."""
    out = _fresh(run_dir, tmp_path_factory)
    path = out / "checkpoint.npz"
    path.write_bytes(mutate(path.read_bytes(), ([], 0.5, None)))
    assert isinstance(bounded(lambda: _load_generator(path)), checkpoint.CheckpointError)
