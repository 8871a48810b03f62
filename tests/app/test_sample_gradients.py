"""``minigan sample --gradients``: each digit beside the gradient G's loss sends it through the
run's discriminator, the vector a G step hands to G's backward pass."""

import numpy as np
import pytest

from minigan import gan
from minigan.app import plotting, runs
from minigan.app.cli import main
from minigan.gan import conditional
from minigan.nn import optim


@pytest.fixture(scope="module")
def trained(train_args, data_dir, tmp_path_factory):
    """``trained(*options)``: a one-epoch run of the tiny split with those options (cached)."""
    made = {}

    def run(*options):
        if options not in made:
            out = tmp_path_factory.mktemp("runs") / ("run" + "".join(options).replace("-", "_"))
            assert main(train_args(data_dir, out, "--epochs", "1", *options)) == 0
            made[options] = out
        return made[options]
    return run


def _spy(monkeypatch):
    seen = {}
    original = plotting.save_gradient_pairs

    def save(path, images, grads, **kwargs):
        seen.update(images=images, grads=grads, **kwargs)
        original(path, images, grads, **kwargs)
    monkeypatch.setattr(plotting, "save_gradient_pairs", save)
    return seen


@pytest.mark.parametrize("options", [(), ("--loss", "hinge"), ("--model", "dcgan")])
@pytest.mark.slow
def test_each_digit_gets_what_a_g_step_hands_g(options, trained, tmp_path, monkeypatch, capsys):
    """The gradients drawn are those G's backward pass receives in a G step of the run's GAN
    on the same noise, bit for bit (for the DCGAN, with D's batch norm in training mode)."""
    run = trained(*options)
    seen = _spy(monkeypatch)
    out = tmp_path / "pairs.png"
    assert main(["sample", "--checkpoint", str(run), "--gradients", "--n", "8", "--seed", "4",
                 "--device", "cpu", "--out", str(out)]) == 0
    assert "each beside -dL_G/dx" in capsys.readouterr().out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    G, spec, config, D, game = runs.load_players(run / "checkpoint.npz")
    model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), spec.noise_dim, loss=config["loss"],
                    prior=config["prior"], rng=np.random.default_rng(4))
    handed = {}
    monkeypatch.setattr(G, "backward", lambda dout, **kw: handed.setdefault("dout", dout))
    with G.evaluating():                   # G draws as sample draws (its running statistics)
        model.g_step(8, np.float32)
    grads = np.asarray(handed["dout"], np.float64).reshape(seen["grads"].shape)
    assert np.array_equal(seen["grads"], grads)
    assert seen["images"].shape == seen["grads"].shape and len(seen["d"]) == 8
    assert seen["output_label"] == (game.point_label or game.output_label)
    assert np.abs(grads).max() > 0


def test_a_conditional_run_gives_the_image_s_gradient(trained, tmp_path, monkeypatch, capsys):
    run = trained("--conditional")
    seen = _spy(monkeypatch)
    assert main(["sample", "--checkpoint", str(run), "--gradients", "--n", "4", "--label", "3",
                 "--seed", "1", "--device", "cpu", "--out", str(tmp_path / "c.png")]) == 0
    assert "of the digit 3" in capsys.readouterr().out
    assert seen["images"].shape == seen["grads"].shape == (4, 784)     # without the label
    G, spec, config, D, game = runs.load_players(run / "checkpoint.npz")
    z = gan.sample_noise(4, spec.noise_dim, config["prior"], np.random.default_rng(1), "float32")
    x = G.forward(conditional.labelled_noise(z, np.full(4, 3)))
    _, _, dx = gan.generator_gradient(D, game, x)
    np.testing.assert_array_equal(seen["grads"], np.asarray(dx[:, :784], np.float64))


def test_bad_gradient_requests_are_refused_before_anything_is_written(
        trained, tmp_path, capsys, assert_one_line_error):
    packed = trained("--pack", "2")
    out = tmp_path / "g.png"
    for run, more, needle in ((packed, ["--n", "3"], "packs of 2"),
                              (packed, ["--n", "300"], "give --n 256 or fewer"),
                              (trained("--model", "dcgan"), ["--n", "1"], "--n 2 or more")):
        rc = main(["sample", "--checkpoint", str(run), "--gradients", "--device", "cpu",
                   "--out", str(out), *more])
        assert_one_line_error(rc, capsys.readouterr().err, needle)
        assert not out.exists()
    assert not (packed / "gradients.png").exists()


@pytest.mark.slow
def test_a_conditional_grid_rounded_past_the_pair_limit_is_refused(trained, tmp_path, capsys,
                                                                 assert_one_line_error):
    """--n 251 passed the limit of 256 pairs, then its ten rows rounded it up to 260."""
    out = tmp_path / "g.png"
    rc = main(["sample", "--checkpoint", str(trained("--conditional")), "--gradients",
               "--device", "cpu", "--n", "251", "--out", str(out)])
    assert_one_line_error(rc, capsys.readouterr().err, "--n 251 rounds up to 260, 26 for each "
                                                       "of the 10 rows; give --n 250 or fewer")
    assert not out.exists()
    packed = trained("--conditional", "--pack", "4")    # the pack is checked on the rounded n
    rc = main(["sample", "--checkpoint", str(packed), "--gradients", "--device", "cpu",
               "--n", "4", "--out", str(out)])
    assert_one_line_error(rc, capsys.readouterr().err, "(--pack 4), and --n 4 rounds up to 10, "
                          "1 for each of the 10 rows; give --n a multiple of 20 (of both)")
    rc = main(["sample", "--checkpoint", str(packed), "--gradients", "--device", "cpu",
               "--n", "252", "--out", str(out)])
    assert_one_line_error(rc, capsys.readouterr().err, "give --n 240 or fewer")
    assert main(["sample", "--checkpoint", str(packed), "--gradients", "--device", "cpu",
                 "--n", "20", "--out", str(out)]) == 0
    assert out.is_file()


@pytest.mark.gpu
@pytest.mark.parametrize("options", [(), ("--model", "dcgan")])
@pytest.mark.slow
def test_the_gradients_on_the_gpu_are_the_cpu_s(options, trained, tmp_path, monkeypatch, capsys):
    """The same digits and gradients from the GPU (CuPy, or the stand-in that refuses what
    CuPy refuses), up to float32 rounding."""
    run = trained(*options)
    seen = _spy(monkeypatch)
    drawn = {}
    for device in ("cpu", "gpu"):
        assert main(["sample", "--checkpoint", str(run), "--gradients", "--n", "6", "--seed",
                     "2", "--device", device, "--out", str(tmp_path / f"{device}.png")]) == 0
        drawn[device] = dict(seen)
    for key in ("images", "grads", "d"):
        assert isinstance(drawn["gpu"][key], np.ndarray)
        scale = np.abs(drawn["cpu"][key]).max()
        np.testing.assert_allclose(drawn["gpu"][key], drawn["cpu"][key], rtol=0,
                                   atol=1e-4 * scale)
    # the checkpoint's arrays land on the device without an implicit copy to the host (CuPy
    # refuses one): a plain sample on the GPU too
    assert main(["sample", "--checkpoint", str(run), "--n", "4", "--device", "gpu",
                 "--out", str(tmp_path / "plain.png")]) == 0


def test_a_critic_s_output_above_each_digit_is_not_called_a_mean(trained, tmp_path, monkeypatch,
                                                                 capsys):
    """Above each pair of a WGAN-GP run stood "critic f(x), mean", the loss curves' axis:
    each number is the critic's output at that one digit."""
    run = trained("--loss", "wgan-gp")
    seen = _spy(monkeypatch)
    assert main(["sample", "--checkpoint", str(run), "--gradients", "--n", "4", "--seed", "0",
                 "--device", "cpu", "--out", str(tmp_path / "w.png")]) == 0
    assert seen["output_label"] == "critic f(x)"
    seen.clear()
    assert main(["sample", "--checkpoint", str(trained("--loss", "hinge")), "--gradients", "--n",
                 "4", "--seed", "0", "--device", "cpu", "--out", str(tmp_path / "h.png")]) == 0
    assert seen["output_label"] == "D(x), raw output"
