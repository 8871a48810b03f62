"""Tests for minigan.app.checkpoint: round trip, atomic writes, no pickle, clear mismatch errors."""

import json
import zipfile

import numpy as np
import pytest

from minigan import backend, gan
from minigan.app import fileio
from minigan.app.checkpoint import CheckpointError, load_checkpoint, restore, save_checkpoint
from minigan.gan import models
from minigan.nn import layers, optim


def trained_vanilla(seed=0, steps=3):
    """A vanilla GAN after a few steps, so the optimizer moments are not zero."""
    G, D = models.vanilla(np.random.default_rng(seed), dtype="float32")
    g_opt, d_opt = optim.Adam(G), optim.Adam(D)
    g = gan.GAN(G, D, g_opt, d_opt, 100, rng=np.random.default_rng(seed + 1))
    x = np.random.default_rng(seed + 2).random((8, 784)).astype(np.float32)
    for _ in range(steps):
        g.train_iteration(lambda: x)
    return G, D, g_opt, d_opt, g


def save(path, G, D, g_opt, d_opt, rng=None, model="vanilla", extra=None):
    rng = np.random.default_rng(5) if rng is None else rng
    save_checkpoint(path, generator=G, discriminator=D, g_opt=g_opt, d_opt=d_opt,
                    iteration=42, epoch=3, rng_states={"noise": rng.bit_generator.state},
                    config={"model": model, "lr": 1e-3, "betas": [0.9, 0.999]}, extra=extra)


def test_round_trip_restores_everything(tmp_path):
    G, D, g_opt, d_opt, g = trained_vanilla()
    noise_rng = np.random.default_rng(123)
    noise_rng.standard_normal(7)  # advance it: the state is not the seed's
    z = np.arange(6, dtype=np.float32).reshape(2, 3)
    path = tmp_path / "checkpoint.npz"
    save(path, G, D, g_opt, d_opt, rng=noise_rng, extra={"fixed_z": z, "step_in_epoch": 5})

    ckpt = load_checkpoint(path)
    assert ckpt["counters"] == {"iteration": 42, "epoch": 3}
    assert ckpt["config"] == {"model": "vanilla", "lr": 1e-3, "betas": [0.9, 0.999]}
    assert ckpt["extra"]["step_in_epoch"] == 5
    np.testing.assert_array_equal(ckpt["extra"]["fixed_z"], z)
    assert set(ckpt["G"]) == {"0.W", "0.b", "2.W", "2.b"}
    assert set(ckpt["d_opt"]) == {"t", "m.0", "m.1", "m.2", "m.3", "v.0", "v.1", "v.2", "v.3"}

    # the RNG state survives JSON (its 128-bit integers included) and continues the stream
    fresh = np.random.default_rng(0)
    fresh.bit_generator.state = ckpt["rng_states"]["noise"]
    np.testing.assert_array_equal(fresh.standard_normal(5), noise_rng.standard_normal(5))

    G2, D2, g_opt2, d_opt2, _ = trained_vanilla(seed=9, steps=1)
    restore(ckpt, generator=G2, discriminator=D2, g_opt=g_opt2, d_opt=d_opt2, model="vanilla")
    for a, b in [(G, G2), (D, D2), (g_opt, g_opt2), (d_opt, d_opt2)]:
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        for key in sa:
            assert np.array_equal(backend.to_host(sa[key]), backend.to_host(sb[key])), key
    assert g_opt2.t == g_opt.t == 3


def test_a_run_saved_and_restored_through_the_api_goes_on_bit_for_bit(tmp_path):
    """As the module's example says: save G, D, the optimizers, the moving average and the
    noise generator, restore them into fresh objects, and the run goes on as if it had never
    stopped, the moving average too (its count of updates was lost: the next update kept a
    tenth of the average)."""
    from minigan.gan.ema import EMA

    x = np.random.default_rng(2).random((8, 784)).astype(np.float32)

    def fresh(seed):
        G, D = models.vanilla(np.random.default_rng(seed), dtype="float32")
        g_opt, d_opt = optim.Adam(G), optim.Adam(D)
        return gan.GAN(G, D, g_opt, d_opt, 100, rng=np.random.default_rng(seed + 1)), EMA(G)

    def steps(model, ema, n):
        for _ in range(n):
            model.train_iteration(lambda: x)
            ema.update()

    straight, straight_ema = fresh(0)
    steps(straight, straight_ema, 6)
    first, first_ema = fresh(0)
    steps(first, first_ema, 3)
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, generator=first.G, discriminator=first.D, g_opt=first.g_opt,
                    d_opt=first.d_opt, iteration=3, epoch=0,
                    rng_states={"noise": first.rng.bit_generator.state},
                    config={"model": "vanilla"}, g_ema=first_ema)
    again, again_ema = fresh(7)                      # other weights, another noise stream
    restore(load_checkpoint(path), generator=again.G, discriminator=again.D, g_opt=again.g_opt,
            d_opt=again.d_opt, model="vanilla", g_ema=again_ema, rngs={"noise": again.rng})
    assert again_ema.updates == 3
    steps(again, again_ema, 3)
    for a, b in [(straight.G, again.G), (straight.D, again.D),
                 (straight_ema.generator, again_ema.generator)]:
        for key, value in a.state_dict().items():
            np.testing.assert_array_equal(value, b.state_dict()[key], err_msg=key)
    with pytest.raises(CheckpointError, match="the state of its 'data' random generator is not "
                                              "one .KeyError.; the file is damaged"):
        restore(load_checkpoint(path), rngs={"data": np.random.default_rng()})


def test_adam_counts_round_trip_and_are_optional(tmp_path):
    """Adam's per-array counts (``g_opt/t.i``, written where a layer was frozen at some
    steps) go through the file and the run's strict reader; a checkpoint without them
    restores into an Adam that holds counts of its own (it was refused as damaged: the
    counts were taken for entries every checkpoint needs)."""
    from minigan.app import runs

    G, D, g_opt, d_opt, g = trained_vanilla()
    G.layers[0].freeze()
    x = np.random.default_rng(7).random((8, 784)).astype(np.float32)
    g.train_iteration(lambda: x)           # G's first layer holds still at this G step
    G.layers[0].freeze(False)
    assert g_opt.steps[:2] == [3, 3] and g_opt.t == 4
    path = tmp_path / "counts.npz"
    save(path, G, D, g_opt, d_opt)
    ckpt = load_checkpoint(path, runs.expected_entries({**runs.DEFAULTS, "model": "vanilla"}))
    assert int(ckpt["g_opt"]["t.0"]) == 3 and "t.2" not in ckpt["g_opt"]
    G2, D2, g_opt2, d_opt2, _ = trained_vanilla(seed=9, steps=1)
    restore(ckpt, generator=G2, discriminator=D2, g_opt=g_opt2, d_opt=d_opt2, model="vanilla")
    assert g_opt2.steps == g_opt.steps and g_opt2.t == 4
    plain = tmp_path / "plain.npz"                  # no counts in the file
    G3, D3, g_opt3, d_opt3, _ = trained_vanilla(seed=3, steps=2)
    save(plain, G3, D3, g_opt3, d_opt3)
    restore(load_checkpoint(plain), generator=G2, discriminator=D2, g_opt=g_opt2, d_opt=d_opt2,
            model="vanilla")
    assert g_opt2.steps == [2] * len(g_opt2.pairs) and g_opt2.t == 2


def test_file_layout_is_plain_arrays_and_json_strings(tmp_path):
    G, D, g_opt, d_opt, _ = trained_vanilla()
    path = tmp_path / "c.npz"
    save(path, G, D, g_opt, d_opt)
    with np.load(path, allow_pickle=False) as npz:
        keys = set(npz.files)
        assert {"G/0.W", "D/2.b", "g_opt/m.0", "d_opt/t", "config", "rng_states"} <= keys
        for key in keys:
            assert not npz[key].dtype.hasobject, key
        for key in ("minigan", "config", "counters", "rng_states", "extra"):
            assert npz[key].dtype.kind == "U" and npz[key].ndim == 0, key
        assert json.loads(str(npz["minigan"][()]))["format"] == "minigan-checkpoint"
        assert npz["d_opt/t"].dtype == np.int64 and int(npz["d_opt/t"]) == 3
        assert npz["G/0.W"].dtype == np.float32 and npz["G/0.W"].shape == (100, 128)


@pytest.mark.parametrize("fail_in", ["savez", "replace"])
def test_crash_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch, fail_in):
    G, D, g_opt, d_opt, g = trained_vanilla()
    path = tmp_path / "checkpoint.npz"
    save(path, G, D, g_opt, d_opt)
    before = path.read_bytes()
    w_before = backend.to_host(G.params["0.W"]).copy()

    g.train_iteration(lambda: np.zeros((8, 784), np.float32))  # the model moves on
    if fail_in == "savez":
        real_savez = np.savez

        def crash(file, **arrays):  # write part of the archive, then die
            real_savez(file, **dict(list(arrays.items())[:3]))
            raise KeyboardInterrupt("killed while writing")

        monkeypatch.setattr(np, "savez", crash)
    else:
        def crash(src, dst):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(fileio.os, "replace", crash)
    with pytest.raises((KeyboardInterrupt, OSError)):
        save(path, G, D, g_opt, d_opt)
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz"]  # no temp file left
    np.testing.assert_array_equal(load_checkpoint(path)["G"]["0.W"], w_before)


def test_object_arrays_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    header = np.array(json.dumps({"format": "minigan-checkpoint", "version": 1}))
    np.savez(path, minigan=header, payload=np.array([{"code": "anything"}], dtype=object))
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(path)


@pytest.mark.parametrize("kind", ["text", "npy", "other_npz", "truncated"])
def test_a_file_that_is_not_a_checkpoint(tmp_path, kind):
    path = tmp_path / "x.npz"
    if kind == "text":
        path.write_text("hello\n")
    elif kind == "npy":
        np.save(tmp_path / "x.npy", np.zeros(3))
        (tmp_path / "x.npy").rename(path)
    elif kind == "other_npz":
        np.savez(path, weights=np.zeros(3))
    else:
        G, D, g_opt, d_opt, _ = trained_vanilla()
        save(path, G, D, g_opt, d_opt)
        path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="not a minigan checkpoint|damaged"):
        load_checkpoint(path)


def test_an_npz_that_is_no_checkpoint_is_answered_with_what_to_give(tmp_path):
    """"x.npz is not a minigan checkpoint (no 'minigan' entry)" said what was wrong, not what
    to give instead."""
    np.savez(tmp_path / "x.npz", weights=np.zeros(3))
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path / "x.npz")
    assert str(err.value) == (f"{tmp_path / 'x.npz'} is not a minigan checkpoint (no 'minigan' "
                              "entry); give a run folder, or the checkpoint.npz minigan train "
                              "wrote in it")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.npz")


def test_another_architecture_is_named(tmp_path):
    G, D, g_opt, d_opt, _ = trained_vanilla()
    path = tmp_path / "checkpoint.npz"
    save(path, G, D, g_opt, d_opt, model="vanilla")
    ckpt = load_checkpoint(path)
    with pytest.raises(CheckpointError, match="made by model 'vanilla'; this run builds 'dcgan'"):
        restore(ckpt, generator=G, model="dcgan")

    # same name, different shapes: the layer's message, with the part, key and shapes
    rng = np.random.default_rng(0)
    G64 = layers.Sequential(layers.Dense(100, 64, rng=rng), layers.ReLU(),
                            layers.Dense(64, 784, rng=rng), layers.Sigmoid())
    with pytest.raises(CheckpointError, match=r"G: .*'0.W'.*\(100, 128\).*\(100, 64\)"):
        restore(ckpt, generator=G64, model="vanilla")
    with pytest.raises(CheckpointError, match="does not fit"):
        restore(ckpt, g_opt=optim.Adam(G64), model="vanilla")


def test_a_checkpoint_of_an_earlier_build_of_the_same_model_says_so(tmp_path):
    """minigan 0.2's ``mlp`` had batch norm in G; today's has none, and pixel norm, which the
    one before it had not. The same model name with other layers: the error names the part
    and the keys, and says where it came from."""
    rng = np.random.default_rng(0)
    old_G, D = models.mlp(rng, dtype="float32", g_batchnorm=True)
    path = tmp_path / "checkpoint.npz"
    save(path, old_G, D, optim.Adam(old_G), optim.Adam(D), model="mlp")
    G, _ = models.mlp(rng, dtype="float32")
    with pytest.raises(CheckpointError, match=r"G: .*running_mean.*another minigan version, "
                                              r"which built 'mlp' differently"):
        restore(load_checkpoint(path), generator=G, model="mlp")
    # the default's G before pixel norm: the same weights, at other places in the Sequential
    no_pixelnorm, _ = models.mlp(rng, dtype="float32", g_pixelnorm=False)
    save(path, no_pixelnorm, D, optim.Adam(no_pixelnorm), optim.Adam(D), model="mlp")
    with pytest.raises(CheckpointError, match=r"G: .*another minigan version, "
                                              r"which built 'mlp' differently"):
        restore(load_checkpoint(path), generator=G, model="mlp")


def test_zip_entries_are_npy_members(tmp_path):
    """The archive is an ordinary .npz: any NumPy reads it, no minigan needed."""
    G, D, g_opt, d_opt, _ = trained_vanilla()
    path = tmp_path / "checkpoint.npz"
    save(path, G, D, g_opt, d_opt)
    with zipfile.ZipFile(path) as z:
        assert "G/0.W.npy" in z.namelist()


def test_a_checkpoint_with_nan_is_never_written(tmp_path):
    G, D, g_opt, d_opt, _ = trained_vanilla()
    path = tmp_path / "ckpt.npz"
    save(path, G, D, g_opt, d_opt)
    good = path.read_bytes()
    D.params["2.W"][0, 0] = np.nan
    with pytest.raises(CheckpointError, match="array 'D/2.W' holds NaN or inf"):
        save(path, G, D, g_opt, d_opt)
    assert path.read_bytes() == good and sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_load_rejects_non_finite_arrays_naming_them(tmp_path):
    G, D, g_opt, d_opt, _ = trained_vanilla()
    path = tmp_path / "ckpt.npz"
    save(path, G, D, g_opt, d_opt)
    with np.load(path) as npz:
        entries = {k: npz[k] for k in npz.files}
    entries["g_opt/v.0"] = entries["g_opt/v.0"].copy()
    entries["g_opt/v.0"].flat[7] = np.inf
    np.savez(path, **entries)
    with pytest.raises(CheckpointError, match="array 'g_opt/v.0' holds NaN or inf"):
        load_checkpoint(path)


def test_settings_are_standard_json(tmp_path):
    G, D, g_opt, d_opt, _ = trained_vanilla()
    with pytest.raises(CheckpointError, match="'config' holds a non-finite number"):
        save_checkpoint(tmp_path / "c.npz", generator=G, discriminator=D, g_opt=g_opt,
                        d_opt=d_opt, iteration=0, epoch=0, rng_states={},
                        config={"model": "vanilla", "lr": float("inf")})
    assert not (tmp_path / "c.npz").exists()


@pytest.mark.parametrize("entry, value, words", [
    ("config", {"model": "vanilla", "lr": np.float32(2e-4)},
     r"'config': config\['lr'\] is a numpy.float32, which JSON does not write; give a plain "
     r"Python value \(float\(x\)"),
    ("rng_states", {"noise": np.random.default_rng(0)},
     r"'rng_states': rng_states\['noise'\] is a numpy.random.Generator, which JSON does not "
     r"write; give its state, rng.bit_generator.state"),
    ("extra", {"history": [1.0, {"best": np.int64(3)}]},
     r"'extra': extra\['history'\]\[1\]\['best'\] is a numpy.int64"),
    ("config", {"model": "vanilla", (1, 2): 3}, r"'config': config's key \(1, 2\) is a tuple, which JSON "
                                                r"does not write; give a string key"),
    ("config", {"model": "vanilla", 3: 3}, r"'config' is not standard JSON .*give it keys that "
                                           r"are all strings")])
def test_a_value_json_does_not_write_is_named_with_what_to_give(tmp_path, entry, value, words):
    """It was json's TypeError ("Object of type float32 is not JSON serializable"), naming no
    entry, where the docstring promises a CheckpointError."""
    G, D, g_opt, d_opt, _ = trained_vanilla()
    given = {"rng_states": {}, "config": {"model": "vanilla"}, "extra": None, entry: value}
    with pytest.raises(CheckpointError, match=rf"^checkpoint entry {words}"):
        save_checkpoint(tmp_path / "c.npz", generator=G, discriminator=D, g_opt=g_opt,
                        d_opt=d_opt, iteration=0, epoch=0, **given)
    assert not (tmp_path / "c.npz").exists()
