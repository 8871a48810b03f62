"""Latent interpolation: straight lines and great circles, and the interpolate command."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan.app import interpolate
from minigan.app.cli import main


@given(st.integers(2, 40), st.integers(2, 12), st.floats(0.1, 10.0), st.integers(0, 2**32 - 1))
def test_slerp_walks_the_great_circle(dim, steps, radius, seed):
    rng = np.random.default_rng(seed)
    z0, z1 = rng.standard_normal((2, dim))
    z0, z1 = radius * z0 / np.linalg.norm(z0), radius * z1 / np.linalg.norm(z1)
    p = interpolate.path(z0, z1, steps, spherical=True)
    np.testing.assert_allclose(p[0], z0, atol=1e-12)
    np.testing.assert_allclose(p[-1], z1, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), radius, rtol=1e-9)   # on the sphere
    # equal angles between neighbours: a constant-speed walk along the arc
    cos = (p[:-1] * p[1:]).sum(axis=1) / radius**2
    np.testing.assert_allclose(cos, cos[0], atol=1e-9)
    # every point lies in the plane of z0 and z1
    basis, _ = np.linalg.qr(np.stack([z0, z1], axis=1))
    np.testing.assert_allclose(basis @ (basis.T @ p.T), p.T, atol=1e-9)


def test_lerp_is_a_straight_line_and_shrinks_the_norm_midway():
    rng = np.random.default_rng(0)
    z0, z1 = rng.standard_normal((2, 100))
    p = interpolate.path(z0, z1, 5)
    np.testing.assert_allclose(p[2], (z0 + z1) / 2)
    np.testing.assert_allclose(np.diff(p, axis=0), np.tile((z1 - z0) / 4, (4, 1)))
    # the midpoint of two Gaussian vectors in 100 dimensions is well inside the shell
    assert np.linalg.norm(p[2]) < 0.8 * min(np.linalg.norm(z0), np.linalg.norm(z1))
    mid = interpolate.path(z0, z1, 5, spherical=True)[2]
    assert np.linalg.norm(mid) > 0.95 * min(np.linalg.norm(z0), np.linalg.norm(z1))
    np.testing.assert_allclose(interpolate.slerp(z0, z0, [0.0, 0.5]), [z0, z0])   # parallel
    with pytest.raises(ValueError, match="opposite directions"):      # no one great circle
        interpolate.slerp(z0, -2 * z0, [0.0, 0.5])


def test_interpolate_command(train_args, data_dir, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1", "--ema", "0.9")) == 0
    capsys.readouterr()
    out = tmp_path / "walk.png"
    assert main(["interpolate", "--checkpoint", str(run), "--steps", "6", "--pairs", "3",
                 "--slerp", "--out", str(out), "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "3 x 6 interpolations along great circles" in text and "moving average" in text
    import matplotlib.image as mpimg
    h, w = mpimg.imread(out).shape[:2]
    assert w / h == pytest.approx(6 / 3, rel=0.1)
    assert main(["interpolate", "--checkpoint", str(run), "--steps", "1", "--out",
                 str(out)]) == 2


def test_slerp_is_refused_for_a_uniform_prior(train_args, data_dir, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1", "--prior", "uniform")) == 0
    capsys.readouterr()
    out = tmp_path / "walk.png"
    assert main(["interpolate", "--checkpoint", str(run), "--slerp", "--out", str(out),
                 "--device", "cpu"]) == 2
    assert "prior is uniform" in capsys.readouterr().err and not out.exists()
    assert main(["interpolate", "--checkpoint", str(run), "--out", str(out),
                 "--device", "cpu"]) == 0                        # the straight line is fine
