"""The remedies' options of ``minigan train`` and ``minigan toy``: saved, resumed exactly."""

import json
import os
import re
import signal

import numpy as np
import pytest

from minigan import functional as F
from minigan import gan
from minigan.app import checkpoint, runs, settings
from minigan.app.cli import main
from minigan.gan import penalty
from minigan.nn import layers


@pytest.fixture(scope="module")
def data_dir(write_tiny_mnist, tmp_path_factory):
    return write_tiny_mnist(tmp_path_factory.mktemp("mnist"), n=128)


REMEDIES = ["--spectral-norm", "--label-flip", "0.1", "--instance-noise", "0.2"]


@pytest.mark.slow
def test_remedies_resume_exactly(assert_same_run, metrics_rows, train_args, data_dir, tmp_path, monkeypatch):
    """Two epochs straight equal a run stopped by Ctrl-C in epoch 2 and resumed; the
    instance noise anneals over the iterations of --epochs, so the schedule goes on."""
    progress = []
    original = gan.GAN.train_iteration

    def spy(self, next_real_batch):
        progress.append(self.progress)
        stats = original(self, next_real_batch)
        if stop_at and len(progress) == stop_at:
            os.kill(os.getpid(), signal.SIGINT)
        return stats

    monkeypatch.setattr(gan.GAN, "train_iteration", spy)
    straight, cut = tmp_path / "straight", tmp_path / "cut"
    stop_at = None
    assert main(train_args(data_dir, straight, "--epochs", "2", *REMEDIES)) == 0
    np.testing.assert_allclose(progress, np.arange(8) / 8)    # 4 iterations an epoch
    progress.clear()
    stop_at = 6
    assert main(train_args(data_dir, cut, "--epochs", "2", *REMEDIES)) == 130
    assert main(["train", "--resume", str(cut), "--quiet", "--data-dir", str(data_dir),
                 "--no-download", "--device", "cpu"]) == 0
    np.testing.assert_allclose(progress, np.arange(8) / 8)
    assert_same_run(straight, cut)
    config = json.loads((straight / "config.json").read_text())
    assert (config["spectral_norm"], config["label_flip"], config["instance_noise"]) == \
        (True, 0.1, 0.2)
    ckpt = checkpoint.load_checkpoint(straight / "checkpoint.npz")
    assert {"0.u", "2.u"} <= set(ckpt["D"])                  # u of both Dense layers of D
    assert len(metrics_rows(straight)) == 8


def test_a_resumed_run_keeps_its_remedies(train_args, data_dir, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1", "--label-flip", "0.1")) == 0
    capsys.readouterr()
    rc = main(["train", "--resume", str(run), "--epochs", "2", "--label-flip", "0.2",
               "--data-dir", str(data_dir), "--no-download", "--device", "cpu", "--quiet"])
    assert rc == 2 and "--label-flip 0.2 (checkpoint: 0.1) differs" in capsys.readouterr().err


def test_an_old_checkpoint_without_the_new_settings_resumes(train_args, data_dir, tmp_path):
    """Checkpoints written before these options existed hold none of their keys."""
    run = tmp_path / "old"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    path = run / "checkpoint.npz"
    with np.load(path) as npz:
        arrays = dict(npz)
    config = json.loads(str(arrays["config"]))
    for key in ("spectral_norm", "label_flip", "instance_noise", "r1"):
        config.pop(key)
    arrays["config"] = np.array(json.dumps(config))
    np.savez(path, **arrays)
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet",
                 "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]) == 0


@pytest.mark.parametrize("argv, needle", [
    (["--label-flip", "0.5"], "must be a number in [0, 0.5)"),
    (["--instance-noise", "-1"], "must be a finite number >= 0"),
])
def test_bad_remedy_values_are_refused(train_args, argv, needle, data_dir, tmp_path, capsys):
    rc = main(train_args(data_dir, tmp_path / "r", *argv))
    assert rc == 2 and needle in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_toy_takes_the_remedies(tmp_path, capsys):
    out = tmp_path / "toy"
    assert main(["toy", "ring8", "--iterations", "30", "--snapshots", "1", "--out", str(out),
                 *REMEDIES]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["options"]["spectral_norm"] is True
    assert report["options"]["label_flip"] == 0.1 and report["options"]["instance_noise"] == 0.2


def test_spectral_norm_wraps_every_dense_and_conv_of_the_dcgan_discriminator():
    from minigan.gan import models
    _, D = models.dcgan(np.random.default_rng(0))
    layers.spectral_norm(D, np.random.default_rng(1))
    wrapped = [type(layer.layer).__name__ for layer in D.layers
               if isinstance(layer, layers.SpectralNorm)]
    assert wrapped == ["Conv2d", "Conv2d", "Dense"]
    assert D.forward(np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 1)


@pytest.mark.parametrize("more, reuse", [
    (["--model", "mlp"], True),                          # the default's: the D step's batch
    (["--model", "mlp", "--g-batch", "fresh"], False),   # Algorithm 1's fresh noise
    ([], False),                                         # the vanilla GAN: fresh noise
    (["--g-batch", "reuse"], True),
    (["--model", "mlp", "--conditional"], True),         # labelled batches, kept the same way
])
@pytest.mark.slow
def test_g_batch_reaches_algorithm_1(more, reuse, train_args, data_dir, tmp_path, monkeypatch):
    """``--g-batch`` (default: the model's) is what the run's G step learns from: with
    "reuse" the G step runs no forward pass of G (the D step's is reused), on fresh noise
    one; config.json keeps the choice."""
    forwards = []
    original = gan.GAN.g_step

    def spy(self, m, dtype=None):
        calls, forward = [], self.G.forward
        self.G.forward = lambda x: calls.append(1) or forward(x)
        try:
            return original(self, m, dtype)
        finally:
            del self.G.forward                  # the class's method again
            forwards.append(len(calls))

    monkeypatch.setattr(gan.GAN, "g_step", spy)
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1", *more)) == 0
    assert forwards and all(n == (0 if reuse else 1) for n in forwards)
    config = json.loads((run / "config.json").read_text())
    assert config["g_batch"] == ("reuse" if reuse else "fresh")


def test_a_g_batch_that_is_no_choice_is_refused(train_args, data_dir, tmp_path, capsys):
    rc = main(train_args(data_dir, tmp_path / "r", "--g-batch", "stale"))
    assert rc == 2 and "invalid choice: 'stale'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("model, g_label", [("vanilla", "input"), ("mlp", "every")])
@pytest.mark.slow
def test_a_self_conditioned_run_keeps_its_groups_and_resumes_exactly(assert_same_run, train_args,
                                                                      data_dir, tmp_path, capsys,
                                                                      model, g_label):
    """--clusters: the groups of the training images are saved with the run, G draws each in
    its share (its cuts saved with its weights), and a resumed run equals a straight one;
    the default model's G, which takes the group at each of its layers, too."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    more = ["--model", model, "--clusters", "4"]
    assert main(train_args(data_dir, straight, "--epochs", "2", *more)) == 0
    assert main(train_args(data_dir, split, "--epochs", "1", *more)) == 0
    assert main(["train", "--resume", str(split), "--epochs", "2", "--quiet",
                 "--data-dir", str(data_dir), "--no-download", "--device", "cpu"]) == 0
    assert_same_run(straight, split)
    ckpt = checkpoint.load_checkpoint(straight / "checkpoint.npz")
    groups = np.asarray(ckpt["extra"]["clusters"])
    assert groups.shape == (128,) and set(groups.tolist()) == {0, 1, 2, 3}
    shares = np.bincount(groups, minlength=4) / 128
    np.testing.assert_allclose(ckpt["G"]["label_cuts"], F.label_cuts(shares),
                               rtol=1e-6)
    saved = json.loads((straight / "config.json").read_text())
    assert saved["clusters"] == 4 and saved["g_label"] == g_label
    G = runs.load_generator(straight / "checkpoint.npz")[0]
    assert isinstance(G.net, layers.LabelledSequential) == (g_label == "every")
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(straight), "--n", "6", "--device", "cpu"]) == 0
    assert "wrote 6 samples" in capsys.readouterr().out


@pytest.mark.parametrize("entry, damage, message", [
    ("extra/clusters", lambda g: g[:100],
     "grouped 100 images, but the test split has 128; point --data-dir"),
    ("extra/clusters", lambda g: g + 4, r"its groups \(clusters\) should be integers in \[0, 4\)"),
    ("extra/clusters", lambda g: g.reshape(2, 64), r"one per training image, got an array of "
                                                  r"shape \(2, 64\)"),
    ("G/label_cuts", lambda t: t[::-1].copy(), "G's label_cuts do not draw its saved groups"),
])
def test_a_checkpoint_with_wrong_groups_is_refused(train_args, data_dir, tmp_path, capsys, entry,
                                                   damage, message):
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1", "--clusters", "4")) == 0
    path = run / "checkpoint.npz"
    with np.load(path) as f:
        arrays = dict(f)
    arrays[entry] = damage(arrays[entry])
    np.savez(path, **arrays)
    capsys.readouterr()
    rc = main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--data-dir",
               str(data_dir), "--no-download", "--device", "cpu"])
    assert rc == 2
    assert re.search(message, capsys.readouterr().err)


def test_clusters_and_conditional_are_refused_together(train_args, data_dir, tmp_path, capsys):
    rc = main(train_args(data_dir, tmp_path / "run", "--conditional", "--clusters", "5"))
    assert rc == 2 and "choose one" in capsys.readouterr().err
    rc = main(train_args(data_dir, tmp_path / "run", "--clusters", "1"))
    assert rc == 2 and "0 (off) or a number of groups from 2 to 1000" in capsys.readouterr().err
    rc = main(train_args(data_dir, tmp_path / "run", "--clusters", "1001"))
    assert rc == 2 and "0 (off) or a number of groups from 2 to 1000" in capsys.readouterr().err
    rc = main(train_args(data_dir, tmp_path / "run", "--clusters", "200"))
    assert rc == 2 and "has 128 images, fewer than the groups" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_r1_resumes_exactly_in_its_rhythm(assert_same_run, train_args, data_dir, tmp_path,
                                          monkeypatch):
    """--r1: the penalty joins D's step on every 4th D step, counted by D's optimizer, so a
    run stopped after 3 iterations and resumed takes it on the same steps as a straight run
    (0 and 4 of 8) and ends the same."""
    taken = []
    original = penalty.r1_penalty

    def spy(critic, x, gamma, features=None):
        taken.append(gamma)
        return original(critic, x, gamma, features)

    def stop_after_3(self, next_real_batch):
        stats = plain(self, next_real_batch)
        iterations.append(1)
        if stop and len(iterations) == 6:     # in R1's second window (steps 4 to 7)
            os.kill(os.getpid(), signal.SIGINT)
        return stats

    plain, iterations = gan.GAN.train_iteration, []
    monkeypatch.setattr(penalty, "r1_penalty", spy)
    monkeypatch.setattr(gan.GAN, "train_iteration", stop_after_3)
    straight, cut = tmp_path / "straight", tmp_path / "cut"
    stop = False
    assert main(train_args(data_dir, straight, "--epochs", "2", "--r1", "0.5")) == 0
    assert taken == [2.0, 2.0]                                 # 8 iterations: steps 0 and 4
    taken.clear()
    iterations.clear()
    stop = True
    assert main(train_args(data_dir, cut, "--epochs", "2", "--r1", "0.5")) == 130
    assert main(["train", "--resume", str(cut), "--quiet", "--data-dir", str(data_dir),
                 "--no-download", "--device", "cpu"]) == 0
    assert taken == [2.0, 2.0]
    assert_same_run(straight, cut)
    assert json.loads((straight / "config.json").read_text())["r1"] == 0.5


def test_a_run_saved_before_r1_resumes_without_it():
    """A default (mlp) run saved before --r1 existed trained without R1: its settings say 0,
    not the model's 0.1."""
    saved = runs.saved_config(settings.new_config({"model": "mlp"}))
    del saved["r1"]
    assert runs._known(saved, "config.json")["r1"] == 0.0


@pytest.mark.parametrize("options, r1", [
    ({"model": "mlp"}, 0.1),
    ({"model": "mlp", "r1": 0.0}, 0.0),
    ({"model": "mlp", "r1": 0.3, "pack": 2}, 0.3),
    ({"model": "mlp", "pack": 2}, 0.0),
    ({"model": "mlp", "minibatch": "discrimination"}, 0.0),
    ({"model": "mlp", "loss": "wgan-gp"}, 0.0),
    ({"model": "mlp", "conditional": True}, 0.0),
    ({"model": "mlp-large"}, 0.0),
    ({"model": "vanilla"}, 0.0),
])
def test_r1_is_the_defaults_unless_its_d_cannot_take_it(options, r1):
    assert settings.new_config(dict(options))["r1"] == r1


def test_r1_on_a_convolutional_d_is_refused_before_the_run_starts(train_args, data_dir,
                                                                     tmp_path, capsys):
    rc = main(train_args(data_dir, tmp_path / "r", "--model", "dcgan", "--r1", "0.1"))
    err = capsys.readouterr().err
    assert rc == 2 and "R1 differentiates the critic twice" in err and "Conv2d" in err
    assert "--r1 0" in err and not (tmp_path / "r").exists()
    # the models that take R1, not the toys, which have no --r1
    assert "--model mlp, mlp-large or vanilla" in err and "(--model vanilla, the toys)" not in err


@pytest.mark.parametrize("options, advice", [
    (("--pack", "2", "--r1", "0.1"), "Leave out --pack and --minibatch discrimination, or use --r1 0"),
    (("--pack", "2", "--loss", "wgan-gp", "--k", "1"),
     "Leave out --pack and --minibatch with --loss wgan-gp"),
    (("--model", "dcgan", "--loss", "wgan-gp", "--k", "1"),
     "Use --model mlp, mlp-large or vanilla, or another --loss"),
])
def test_a_critic_the_penalty_cannot_take_is_refused_in_the_command_lines_terms(
        options, advice, train_args, data_dir, tmp_path, capsys):
    rc = main(train_args(data_dir, tmp_path / "r", *options))
    captured = capsys.readouterr()
    assert rc == 2 and "differentiates the critic twice" in captured.err and advice in captured.err
    assert "r1=0" not in captured.err and "another loss" not in captured.err
    assert "k-means" not in captured.out + captured.err     # refused before the groups are found
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("r1", [True, False])
def test_the_models_a_critic_s_advice_names_are_those_whose_d_the_penalty_takes(r1):
    """``Use --model ...``: every model named takes the penalty, and every model that takes
    it is named (WGAN-GP's advice named the vanilla GAN alone; mlp and mlp-large take it)."""
    from minigan.app import cli
    from minigan.gan import models

    advice = cli.CRITIC_ADVICE["layer"][0 if r1 else 1]
    named = set(re.search(r"--model (.*?), or ", advice).group(1).replace(" or ", ", ").split(", "))
    takes = set()
    for name in models.MODELS:
        try:
            penalty.check_critic(models.build(name, np.random.default_rng(0), np.float32)[1], r1=r1)
        except penalty.CriticError:
            continue
        takes.add(name)
    assert named == takes


def test_a_toy_with_a_critic_the_penalty_cannot_take_gets_the_options_advice(tmp_path, capsys):
    rc = main(["toy", "ring8", "--loss", "wgan-gp", "--pack", "2", "--out", str(tmp_path / "t")])
    err = capsys.readouterr().err
    assert rc == 2 and "layer 0 of the discriminator, Pack(2)" in err
    assert err.rstrip().endswith("Leave out --pack and --minibatch with --loss wgan-gp, or use "
                                 "another --loss")


def test_metrics_csv_holds_the_penalty_d_took(train_args, data_dir, metrics_rows, tmp_path,
                                              monkeypatch):
    """The ``penalty`` column: R1's value at its last step (steps 0 and 4 of 8), 0 without R1."""
    values, original = [], penalty.r1_penalty

    def spy(critic, x, gamma, features=None):
        values.append(original(critic, x, gamma, features))
        return values[-1]

    monkeypatch.setattr(penalty, "r1_penalty", spy)
    for r1 in ("0.5", "0"):
        out = tmp_path / f"r1_{r1}"
        assert main(train_args(data_dir, out, "--epochs", "2", "--r1", r1)) == 0
        column = [float(row["penalty"]) for row in metrics_rows(out)]
        expected = [v / 4 for v in values for _ in range(4)] if r1 != "0" else [0.0] * 8
        assert column == pytest.approx(expected, rel=1e-6) and len(column) == 8
        if r1 != "0":
            assert all(v > 0 for v in column)


def test_r1_and_the_wgan_gp_critic_are_refused_together():
    """One penalty per D: WGAN-GP's critic has its gradient penalty, so an explicit --r1
    beside it is refused with what to do (without --r1 it defaults to 0, above)."""
    with pytest.raises(settings.SettingError, match=r"--r1 0.1 and loss 'wgan-gp'.*--r1 0"):
        settings.new_config({"model": "mlp", "loss": "wgan-gp", "r1": 0.1})
    assert settings.new_config({"model": "mlp", "loss": "wgan-gp", "r1": 0.0})["r1"] == 0.0


def test_metrics_csv_holds_wgan_gps_gradient_penalty(train_args, data_dir, metrics_rows, tmp_path,
                                                     monkeypatch):
    """A WGAN-GP run's ``penalty`` column is its gradient penalty at each iteration."""
    values, original = [], penalty.gradient_penalty

    def spy(*args, **kwargs):
        values.append(original(*args, **kwargs))
        return values[-1]

    monkeypatch.setattr(penalty, "gradient_penalty", spy)
    out = tmp_path / "wgan"
    assert main(train_args(data_dir, out, "--epochs", "1", "--loss", "wgan-gp", "--k", "1")) == 0
    column = [float(row["penalty"]) for row in metrics_rows(out)]
    assert len(column) == 4 and column == pytest.approx(values, rel=1e-6) and all(column)


def test_an_r1_too_large_for_its_lazy_weight_is_refused_before_the_run(train_args, data_dir,
                                                                        tmp_path, capsys,
                                                                        assert_one_line_error):
    """``--r1 1e308``: the R1 step weighs it R1_EVERY times, inf; the run had written its
    folder when the first R1 step refused the weight, in words naming no option."""
    out = tmp_path / "r"
    rc = main(train_args(data_dir, out, "--model", "mlp", "--r1", "1e308", "--epochs", "1"))
    assert_one_line_error(rc, capsys.readouterr().err, "--r1 1e+308", "give a smaller --r1")
    assert not out.exists()
    G, D = gan.models.build("vanilla", np.random.default_rng(0), "float64")
    with pytest.raises(ValueError, match="r1 1e\\+308 times r1_every 16"):
        gan.GAN(G, D, None, None, 100, r1=1e308, r1_every=16)
