"""Run settings and folders (minigan.app.runs), atomic writes (minigan.app.fileio), pixel ranges."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest

import minigan
from minigan import gan
from minigan.app import checkpoint, fileio, folderlock, runs, settings
from minigan.app.cli import main
from minigan.gan import models
from minigan.nn import layers, optim


def save_vanilla(path, config=None):
    """A checkpoint of a fresh vanilla GAN, with a new run's settings unless ``config``."""
    return save_run(path, config or runs.saved_config(runs.settings.new_config(
        {"model": "vanilla"})), "vanilla")


def save_run(path, config, model, **options):
    """A checkpoint at ``path`` of a fresh ``model`` built with ``options`` (``models.build``),
    its settings ``config``; returns its G."""
    G, D = models.build(model, np.random.default_rng(1), **options)
    checkpoint.save_checkpoint(path, generator=G, discriminator=D, g_opt=optim.Adam(G),
                               d_opt=optim.Adam(D), iteration=0, epoch=0, rng_states={},
                               config=config)
    return G


def test_find_checkpoint_takes_a_run_folder_or_the_file(tmp_path):
    path = tmp_path / runs.CHECKPOINT
    save_vanilla(path)
    assert runs.find_checkpoint(tmp_path) == path
    assert runs.find_checkpoint(path) == path
    with pytest.raises(FileNotFoundError, match=r"^--checkpoint .*nope: no such run folder or "
                                                 "file; give a run folder"):
        runs.find_checkpoint(tmp_path / "nope", "--checkpoint")
    with pytest.raises(FileNotFoundError, match=r"^/.*nope: no such run folder or file"):
        runs.find_checkpoint(tmp_path / "nope", None)       # a positional RUN: its path alone
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    with pytest.raises(FileNotFoundError, match=r"dangling: a link to .*gone, which does not "
                                                 "exist"):
        runs.find_checkpoint(tmp_path / "dangling", None)


def test_a_run_stopped_before_its_first_checkpoint_is_named_as_such(train_args, data_dir,
                                                                  tmp_path, capsys):
    """``minigan sample RUN`` of a run cut short before its first checkpoint said "no
    checkpoint" and to give a folder that holds one, not that RUN is a run with nothing saved
    yet, nor how to go on with it."""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    (run / runs.CHECKPOINT).unlink()                  # as a kill before the first epoch's end
    capsys.readouterr()
    for command in ("sample", "eval", "interpolate"):
        assert main([command, str(run), "--device", "cpu"]) == 2
        err = capsys.readouterr().err
        assert f"{run} holds a run stopped before its first checkpoint" in err, err
        assert err.rstrip().endswith(f"train --resume {run} starts it over")
    with pytest.raises(FileNotFoundError) as plain:
        runs.find_checkpoint(tmp_path / "nope", "--checkpoint")
    assert "stopped before" not in str(plain.value)


def test_a_folder_without_checkpoint_is_given_the_advice_train_resume_takes(train_args, data_dir,
                                                                            tmp_path):
    """A run continuing another's checkpoint that stopped before its own, and a run whose
    checkpoint went missing after its second epoch, were both said to be "stopped before its
    first checkpoint" with "train --resume RUN starts it over", which train --resume refuses
    for each."""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "2")) == 0
    (run / runs.CHECKPOINT).unlink()
    with pytest.raises(FileNotFoundError) as missing:
        runs.find_checkpoint(run, None)
    assert str(missing.value).endswith(f"{run} holds a run whose checkpoint.npz is missing "
                                       f"({run / 'metrics.csv'} shows it went past its first "
                                       "checkpoint): put checkpoint.npz back")
    assert main(["train", "--resume", str(run), "--epochs", "3", "--device", "cpu"]) == 2
    branch = tmp_path / "branch"
    branch.mkdir()
    (branch / runs.CONFIG).write_text(json.dumps({"continued_from": "elsewhere/checkpoint.npz"}))
    with pytest.raises(FileNotFoundError) as continued:
        runs.find_checkpoint(branch, None)
    assert str(continued.value).endswith(
        f"{branch} continues elsewhere/checkpoint.npz and stopped before its first checkpoint, "
        f"with no generator saved yet: remove {branch} and continue that checkpoint again "
        f"({settings.program()} train --resume elsewhere/checkpoint.npz --out {branch} ...)")


def test_a_copy_of_a_checkpoint_beside_it_is_not_said_to_be_outside_the_run(train_args,
                                                                            data_dir, tmp_path,
                                                                            capsys):
    """``--resume RUN/checkpoint_e1.npz`` was refused as "not inside a run folder", which it
    is: it is not the folder's own checkpoint.npz."""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    copy = run / "checkpoint_e1.npz"
    copy.write_bytes((run / runs.CHECKPOINT).read_bytes())
    capsys.readouterr()
    assert main(["train", "--resume", str(copy), "--epochs", "2", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert f"--resume {copy}: the checkpoint is not a run folder's own checkpoint.npz (a copy " \
           "kept elsewhere or under another name)" in err and "give --out" in err, err


def test_a_run_training_its_first_epoch_is_not_said_to_be_stopped(tmp_path):
    """A run folder whose training holds its lock, in its first epoch, has no checkpoint yet:
    it was said to be "a run stopped before its first checkpoint", with "train --resume RUN
    starts it over", which its lock refuses; it is said to be training, by whom."""
    run = tmp_path / "run"
    run.mkdir()
    (run / runs.CONFIG).write_text("{}")
    with folderlock.FolderLock(run, "minigan train"):
        with pytest.raises(FileNotFoundError) as training:
            runs.find_checkpoint(run, "RUN")
    said = str(training.value)
    assert f"{run} holds a run still training its first epoch, by minigan process" in said, said
    assert said.endswith("its first checkpoint is written when that epoch ends, give it again "
                         "then") and "stopped" not in said
    with pytest.raises(FileNotFoundError, match="holds a run stopped before its first checkpoint"):
        runs.find_checkpoint(run, "RUN")                     # the lock let go: stopped


def test_the_default_run_is_the_mlp_gan_with_its_measured_remedies():
    config, _ = runs.resolve_config({})
    assert config["model"] == models.DEFAULT_MODEL == "mlp"
    assert (config["loss"], config["ema"], config["minibatch"]) == ("hinge", 0.9998, "stddev")
    assert config["batch_size"] == 128 and config["lr"] == 1.4e-3 and config["betas"] == [0.5, 0.999]
    assert config["g_batch"] == "reuse" and models.MODELS["mlp"].reuse_fake
    assert config["clusters"] == 30                     # self-conditioned on 30 groups
    assert config["g_label"] == "every"                 # the group at each of G's layers
    spec = models.MODELS["mlp"]          # 14,040 iterations: 180 epochs of the test split,
    assert spec.epochs_for(10000 // 128) == 180 and spec.epochs_for(60000 // 128) == 30  # 30 of train
    assert spec.iterations == 180 * (10000 // 128) == 30 * (60000 // 128)   # both whole
    said, _ = runs.resolve_config({"loss": "gan", "ema": 0.99, "minibatch": "discrimination"})
    assert (said["loss"], said["ema"], said["minibatch"]) == ("gan", 0.99, "discrimination")


def test_the_seed_vanilla_gan_keeps_its_settings():
    config, _ = runs.resolve_config({"model": "vanilla"})
    assert (config["loss"], config["ema"], config["minibatch"]) == ("gan", None, None)
    assert config["batch_size"] == 128 and config["betas"] == [0.9, 0.999]
    assert config["g_batch"] == "fresh"                         # Algorithm 1: fresh noise
    assert config["clusters"] == 0 and config["g_label"] == "input"
    spec = models.MODELS["vanilla"]
    assert spec.epochs_for(10000 // 128) == 100                 # 100 epochs of the test split


def test_a_penalized_critic_gets_no_minibatch_layer_by_default():
    config, _ = runs.resolve_config({"loss": "wgan-gp"})
    assert config["minibatch"] is None and config["ema"] == 0.9998
    assert config["k"] == 5 and config["lr"] == 1e-4 and config["betas"] == [0.5, 0.9]


def test_a_setting_that_clashes_with_the_model_game_names_it():
    with pytest.raises(ValueError, match=r"hinge.*no labels to smooth.*model mlp plays hinge "
                                         r"unless --loss says otherwise"):
        runs.resolve_config({"label_smoothing": 0.9})
    config, _ = runs.resolve_config({"label_smoothing": 0.9, "loss": "gan"})
    assert config["label_smoothing"] == 0.9


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_the_default_length_follows_the_data_not_the_epochs(name):
    spec = models.MODELS[name]
    for n_images in (10000, 60000):                  # the test split and the training split
        per_epoch = n_images // spec.batch_size
        iterations = spec.epochs_for(per_epoch) * per_epoch
        assert abs(iterations - spec.iterations) <= per_epoch / 2   # whole epochs, nearest
    assert spec.epochs_for(10 ** 9) == 1                   # at least one epoch


def test_new_config_takes_the_model_defaults():
    config, ckpt = runs.resolve_config({"model": "dcgan", "lr": 1e-3, "epochs": None})
    spec = models.MODELS["dcgan"]
    assert ckpt is None
    assert config["batch_size"] == spec.batch_size and config["betas"] == list(spec.betas)
    assert config["lr"] == 1e-3 and config["epochs"] is None      # it follows the data
    assert set(config) == set(runs.DEFAULTS)
    with pytest.raises(ValueError, match="unknown settings \\['colour'\\]"):
        runs.resolve_config({"colour": "red"})
    with pytest.raises(ValueError, match='"model" must be one of .*got "gpt"'):
        runs.resolve_config({"model": "gpt"})


def test_resume_keeps_the_checkpoint_settings(tmp_path):
    saved, _ = runs.resolve_config({"model": "vanilla", "seed": 3})
    save_vanilla(tmp_path / runs.CHECKPOINT, {k: v for k, v in saved.items() if k != "quiet"})
    config, ckpt = runs.resolve_config({"resume": tmp_path, "epochs": 4, "seed": 3})
    assert ckpt["config"]["seed"] == 3 and config["epochs"] == 4
    assert config["out"] == str(tmp_path) and config["resume"] == str(tmp_path / runs.CHECKPOINT)
    with pytest.raises(ValueError, match="--seed 4 \\(checkpoint: 3\\) differs"):
        runs.resolve_config({"resume": tmp_path, "seed": 4})


def test_check_out(tmp_path):
    runs.check_out(tmp_path / "new" / "run", resuming_here=False)  # may be created
    assert not (tmp_path / "new").exists()                        # and nothing was written
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "metrics.csv").write_text("")
    with pytest.raises(ValueError, match="already holds a run \\(metrics.csv\\)"):
        runs.check_out(tmp_path / "old", resuming_here=False)
    runs.check_out(tmp_path / "old", resuming_here=True)
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="not a folder"):
        runs.check_out(tmp_path / "file", resuming_here=False)


def test_load_generator(tmp_path):
    G = save_vanilla(tmp_path / "ckpt.npz")
    loaded, spec, config = runs.load_generator(tmp_path / "ckpt.npz")
    assert spec is models.MODELS["vanilla"] and config["model"] == "vanilla"
    assert not loaded.training
    z = gan.sample_noise(4, spec.noise_dim, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(loaded.forward(z), G.eval().forward(z))
    save_vanilla(tmp_path / "other.npz", {"model": "stylegan"})
    with pytest.raises(ValueError, match="names model 'stylegan', not one minigan builds "
                                         r"\(mlp, .*\): load a checkpoint of layers of your own "
                                         "with checkpoint.load_checkpoint, then "
                                         "checkpoint.restore"):
        runs.load_generator(tmp_path / "other.npz")


def test_load_generator_takes_a_run_folder(tmp_path):
    """As every command does: a run folder stands for its checkpoint.npz; a folder without
    one is named with the file looked for."""
    G = save_vanilla(tmp_path / runs.CHECKPOINT)
    loaded, _, _ = runs.load_generator(tmp_path)
    z = gan.sample_noise(4, 100, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(loaded.forward(z), G.eval().forward(z))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no checkpoint at .*empty/checkpoint.npz"):
        runs.load_players(tmp_path / "empty")


def test_pixel_range_follows_the_data_scaling():
    assert models.MODELS["vanilla"].pixel_range == (0.0, 1.0)
    assert models.MODELS["dcgan"].pixel_range == (-1.0, 1.0)
    for spec in models.MODELS.values():
        low, high = spec.pixel_range
        G, _ = spec.build(np.random.default_rng(0))
        x = G.forward(gan.sample_noise(8, spec.noise_dim, rng=np.random.default_rng(0)))
        assert low <= float(x.min()) and float(x.max()) <= high
        assert float(x.min()) < (low + high) / 2  # the output really spans that range's low half


def test_write_text_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "config.json"
    fileio.write_text(path, "{}\n")
    assert path.read_text() == "{}\n"

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", crash)
    with pytest.raises(OSError, match="No space"):
        fileio.write_text(path, '{"half": ')
    monkeypatch.undo()
    assert path.read_text() == "{}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]  # no temporary file left


def test_the_file_writers_import_fileio_not_each_other():
    """plotting writes PNGs and checkpoint writes .npz files; neither imports the other."""
    package = Path(minigan.__file__).parent
    for name, other in (("plotting", "checkpoint"), ("checkpoint", "plotting")):
        tree = ast.parse((package / "app" / f"{name}.py").read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                     for a in n.names}
        assert "fileio" in imported and other not in imported, name


@pytest.mark.parametrize("options, names", [
    ({"batch_size": 1}, r"the minibatch layer \(stddev\) estimates"),
    ({"batch_size": 1, "model": "dcgan"}, r"model dcgan's batch norm estimates"),
    ({"batch_size": 1, "model": "vanilla", "minibatch": "stddev"},
     r"the minibatch layer \(stddev\) estimates"),
])
def test_a_batch_of_one_is_refused_where_batch_statistics_are_estimated(options, names):
    with pytest.raises(ValueError, match=names + r".*a batch of 1 cannot give; use "
                                                 r"--batch-size 2 or more"):
        runs.resolve_config(options)
    config, _ = runs.resolve_config({"batch_size": 1, "model": "vanilla"})
    assert config["batch_size"] == 1


def test_an_mlp_run_saved_before_g_batch_existed_resumes_on_fresh_noise(tmp_path):
    """A checkpoint whose settings have no ``g_batch`` trained each G step on fresh noise:
    resumed, it goes on so (a new mlp run reuses the D step's batch)."""
    saved, _ = runs.resolve_config({"seed": 3})
    assert saved["g_batch"] == "reuse"
    older = {k: v for k, v in saved.items()
             if k not in ("quiet", "g_batch", "clusters", "g_label")}
    save_run(tmp_path / runs.CHECKPOINT, older, "mlp", minibatch="stddev")
    config, _ = runs.resolve_config({"resume": tmp_path})
    assert config["g_batch"] == "fresh" and config["batch_size"] == 128
    again, _ = runs.resolve_config({"resume": tmp_path, "g_batch": "fresh"})  # what it did
    assert again["g_batch"] == "fresh"
    with pytest.raises(ValueError, match=r"--g-batch reuse \(checkpoint: fresh\) differs"):
        runs.resolve_config({"resume": tmp_path, "g_batch": "reuse"})


def test_a_run_folder_saved_before_g_batch_existed_starts_over_on_fresh_noise(tmp_path):
    """Started over (config.json, no checkpoint yet), a run of a version without ``g_batch``
    keeps the fresh noise it was started with, not today's model default."""
    saved, _ = runs.resolve_config({"seed": 3, "batch_size": 64, "lr": 1e-3})
    older = {k: v for k, v in runs.saved_config(saved).items() if k != "g_batch"}
    (tmp_path / runs.CONFIG).write_text(json.dumps(older))
    config, ckpt = runs.resolve_config({"resume": tmp_path})
    assert ckpt is None and config["restart"] == str(tmp_path)
    assert config["g_batch"] == "fresh" and config["batch_size"] == 64


def test_a_run_whose_checkpoint_is_missing_is_not_started_over(train_args, data_dir, tmp_path,
                                                                capsys):
    """A run past the end of an epoch (its grids, its loss curves) without checkpoint.npz lost
    its checkpoint: starting it over would rewrite metrics.csv beside the old grids."""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "2")) == 0
    (run / runs.CHECKPOINT).unlink()
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert "holds no checkpoint.npz" in err and "the checkpoint is missing" in err, err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_a_conditional_run_takes_the_digits_labels_instead_of_groups():
    config, _ = runs.resolve_config({"conditional": True})
    assert config["clusters"] == 0 and config["g_batch"] == "reuse"
    with pytest.raises(ValueError, match=r"--conditional and --clusters 30: .* choose one"):
        runs.resolve_config({"conditional": True, "clusters": 30})


def test_an_mlp_run_saved_before_clusters_existed_resumes_without_groups(tmp_path):
    """A checkpoint whose settings have no ``clusters`` is of a plain GAN: resumed, it stays
    one (a new mlp run is self-conditioned), and asking for groups is a change of setting."""
    saved, _ = runs.resolve_config({"seed": 3})
    older = {k: v for k, v in saved.items() if k not in ("quiet", "clusters", "g_label")}
    save_run(tmp_path / runs.CHECKPOINT, older, "mlp", minibatch="stddev")
    config, _ = runs.resolve_config({"resume": tmp_path})
    assert config["clusters"] == 0
    G2, _ = models.build("mlp", np.random.default_rng(1), **models.remedies(config))
    assert not isinstance(G2, layers.ConditionalGenerator)
    with pytest.raises(ValueError, match=r"--clusters 30 \(checkpoint: 0\) differs"):
        runs.resolve_config({"resume": tmp_path, "clusters": 30})
    (tmp_path / runs.CHECKPOINT).unlink()             # started over from its folder alone
    (tmp_path / runs.CONFIG).write_text(json.dumps(runs.saved_config(older)))
    config, ckpt = runs.resolve_config({"resume": tmp_path})
    assert ckpt is None and config["clusters"] == 0


def test_a_run_saved_before_g_label_existed_resumes_with_the_label_at_g_input(tmp_path):
    """A self-conditioned checkpoint whose settings have no ``g_label`` has G's group at its
    input only: resumed, its weights load into that G (a new run's G takes the group at every
    Dense layer, with weights of other shapes), and asking for every layer is a change."""
    saved, _ = runs.resolve_config({"seed": 3})
    older = {k: v for k, v in saved.items() if k not in ("quiet", "g_label")}
    save_run(tmp_path / runs.CHECKPOINT, older, "mlp", clusters=30, minibatch="stddev")
    config, ckpt = runs.resolve_config({"resume": tmp_path})
    assert config["g_label"] == "input" and config["clusters"] == 30
    G2, _ = models.build("mlp", np.random.default_rng(2), **models.remedies(config))
    assert not isinstance(G2.net, layers.LabelledSequential)
    G2.load_state_dict(ckpt["G"])
    new, _ = models.build("mlp", np.random.default_rng(2), **models.remedies(saved))
    assert isinstance(new.net, layers.LabelledSequential)
    with pytest.raises(ValueError, match=r"--g-label every \(checkpoint: input\) differs"):
        runs.resolve_config({"resume": tmp_path, "g_label": "every"})


@pytest.mark.parametrize("options, message", [
    ({"g_label": "every", "clusters": 0}, r"--g-label every joins G's label to its layers, but "
                                          r"this run has none; add --conditional"),
    ({"model": "vanilla", "conditional": True, "g_label": "every"},
     r"--g-label every is built for the models mlp, mlp-large; model 'vanilla'"),
    ({"model": "dcgan", "conditional": True, "g_label": "every"}, r"model 'dcgan' takes its"),
])
def test_g_label_every_is_refused_where_g_has_no_label_or_no_dense_chain(options, message):
    with pytest.raises(ValueError, match=message):
        runs.resolve_config(options)


@pytest.mark.parametrize("edit, message", [
    ({"model": "vanilla", "conditional": True}, r"model 'vanilla' takes its label with its "
                                                r"noise only"),
    ({"clusters": 0}, r"--g-label every joins G's label to its layers, but this run has none"),
])
def test_settings_of_a_file_with_g_label_every_that_cannot_be_built_are_refused(tmp_path, edit,
                                                                                 message):
    """A checkpoint's settings edited to ``g_label: every`` with a model or labels that cannot
    take it: refused with the file named, before a model is built (resume, and the commands
    that load a generator), not a TypeError from the builder."""
    saved, _ = runs.resolve_config({"seed": 3})
    save_run(tmp_path / runs.CHECKPOINT, {**saved, **edit, "quiet": False}, "mlp", clusters=30,
             minibatch="stddev", g_label="every")
    with pytest.raises(ValueError, match=rf"checkpoint .*{message}"):
        runs.resolve_config({"resume": tmp_path})
    with pytest.raises(ValueError, match=message):
        runs.load_generator(tmp_path / runs.CHECKPOINT)


def test_g_label_follows_the_model_and_the_labels():
    """mlp takes the label at every layer by default, with the digits' labels too;
    mlp-large at its input unless told; a run without labels saves input."""
    assert runs.resolve_config({"conditional": True})[0]["g_label"] == "every"
    assert runs.resolve_config({"model": "mlp-large"})[0]["g_label"] == "input"
    assert runs.resolve_config({"model": "mlp-large", "conditional": True,
                                "g_label": "every"})[0]["g_label"] == "every"
    assert runs.resolve_config({"clusters": 0})[0]["g_label"] == "input"
    assert runs.resolve_config({"g_label": "input"})[0]["g_label"] == "input"


def test_a_run_started_with_a_relative_data_dir_resumes_from_another_folder(
        write_tiny_mnist, tmp_path, monkeypatch, capsys):
    """--data-dir mnist is relative to where the run started: resumed from elsewhere it reads
    the folder its config.json records as used, not ./mnist of the new working folder."""
    start, elsewhere = tmp_path / "start", tmp_path / "elsewhere"
    write_tiny_mnist(start / "mnist")
    elsewhere.mkdir()
    monkeypatch.chdir(start)
    args = ["--split", "test", "--no-download", "--device", "cpu", "--quiet", "--model",
            "vanilla", "--batch-size", "32"]
    assert main(["train", "--data-dir", "mnist", "--out", "rel/run", "--epochs", "1", *args]) == 0
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["train", "--resume", str(start / "rel" / "run"), "--epochs", "2"]) == 0, \
        capsys.readouterr().err
    saved = json.loads((start / "rel" / "run" / "config.json").read_text())
    assert saved["data_dir"] == str((start / "mnist").resolve())


def test_the_rows_are_on_disk_before_their_checkpoint(train_args, data_dir, tmp_path,
                                                      monkeypatch):
    """metrics.csv is fsync'ed before each checkpoint is written, so that after a power cut
    its rows still reach the checkpoint (a file short of it is refused)."""
    from minigan.app import runlog, trainer
    order = []
    real_sync, real_save = runlog.MetricsLog.sync, trainer.checkpoint.save_checkpoint

    def sync(log):
        order.append(("sync", len(log.rows)))
        return real_sync(log)

    def save(path, **kwargs):
        order.append(("checkpoint", kwargs["iteration"]))
        return real_save(path, **kwargs)

    monkeypatch.setattr(runlog.MetricsLog, "sync", sync)
    monkeypatch.setattr(trainer.checkpoint, "save_checkpoint", save)
    assert main(train_args(data_dir, tmp_path / "run", "--epochs", "2")) == 0
    saves = [i for i, (what, _) in enumerate(order) if what == "checkpoint"]
    assert len(saves) == 2, order
    for i in saves:                  # synced just before, with every row up to it
        assert order[i - 1] == ("sync", order[i][1]), order


def test_a_missing_checkpoint_is_told_by_the_metrics_too(train_args, data_dir, tmp_path, capsys):
    """Without its later grids, metrics.csv's rows of epoch 2 still show the first checkpoint
    was written."""
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "2")) == 0
    (run / runs.CHECKPOINT).unlink()
    (run / "samples" / "epoch_0002.png").unlink()
    before = (run / "metrics.csv").read_bytes()
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert "metrics.csv shows the run went past its first checkpoint" in err, err
    assert (run / "metrics.csv").read_bytes() == before


def test_a_continued_run_stopped_before_its_checkpoint_is_not_started_from_scratch(
        train_args, data_dir, tmp_path, monkeypatch, capsys):
    """NEW of --resume RUN --out NEW stopped before its own first checkpoint (a full disk):
    started over from its config.json it would train from random weights; it says to continue
    RUN again instead. Once NEW has a checkpoint, config.json no longer names RUN's."""
    from minigan.app import trainer
    first, branch = tmp_path / "first", tmp_path / "branch"
    assert main(train_args(data_dir, first, "--epochs", "1")) == 0
    resume = ["--quiet", "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]
    real_save = trainer.checkpoint.save_checkpoint

    def full_disk(path, **kwargs):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(trainer.checkpoint, "save_checkpoint", full_disk)
    assert main(["train", "--resume", str(first), "--epochs", "2", "--out", str(branch),
                 *resume]) == 1
    source = (first / runs.CHECKPOINT).resolve()
    assert json.loads((branch / runs.CONFIG).read_text())["continued_from"] == str(source)
    assert f"remove {branch}" in capsys.readouterr().err
    monkeypatch.setattr(trainer.checkpoint, "save_checkpoint", real_save)
    assert main(["train", "--resume", str(branch), "--epochs", "3", *resume]) == 2
    err = capsys.readouterr().err
    assert f"continues {source}" in err and f"remove {branch}" in err, err
    # the same command again (after a kill -9, say) said to start it over with --resume
    # BRANCH, which sends the user back here: it says to remove BRANCH
    assert main(["train", "--resume", str(first), "--epochs", "2", "--out", str(branch),
                 *resume]) == 2
    err = capsys.readouterr().err
    assert f"continues {source}" in err and f"remove {branch} and give the command again" in err
    again = tmp_path / "again"
    assert main(["train", "--resume", str(first), "--epochs", "2", "--out", str(again),
                 *resume]) == 0
    assert "continued_from" not in json.loads((again / runs.CONFIG).read_text())


def test_an_epoch_number_is_ascii_digits():
    assert runs.epoch_number("12") == 12 and runs.epoch_number("0002") == 2
    assert runs.epoch_number("0") == 0
    assert runs.epoch_number("\u00b2") is None and runs.epoch_number("9" * 5000) is None
    assert runs.epoch_number("") is None and runs.epoch_number("1.5") is None


@pytest.mark.parametrize("key", ["batch_size", "lr", "betas", "k", "loss", "split"])
@pytest.mark.parametrize("how", ["null", "missing"])
def test_a_checkpoint_without_a_setting_every_run_saves_is_one_line(key, how, tmp_path, capsys,
                                                                     assert_one_line_error):
    """``batch_size: null`` passed the checks (a new run's "the model's") and the trainer
    failed with a TypeError; a missing ``split`` became "train" without a word, and ``lr``
    null said "Adam: lr must be a number" without naming the file."""
    config = runs.saved_config(runs.settings.new_config({"model": "vanilla"}))
    if how == "null":
        config[key] = None
    else:
        del config[key]
    save_vanilla(tmp_path / runs.CHECKPOINT, config)
    for argv in (["train", "--resume", str(tmp_path), "--device", "cpu"],
                 ["sample", str(tmp_path), "--out", str(tmp_path / "s.png")]):
        rc = main(argv)
        refused_by_its_kind = how == "null" and key in ("loss", "split")   # no null allowed
        assert_one_line_error(rc, capsys.readouterr().err, f'"{key}"',
                              *(() if refused_by_its_kind else (f"is {how}", "put it back")))
    assert not (tmp_path / "s.png").exists()
