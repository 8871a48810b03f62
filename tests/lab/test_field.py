"""The toys' field: D's surface, the gradient G's loss sends each generated sample, the warped
noise; checked against D's forward pass and finite differences in float64, and against the
training numbers of the same run without pictures."""

import numpy as np
import pytest

from minigan import backend
from minigan.check import gradcheck, testing
from minigan.lab import field, toys
from minigan.nn import layers


def _g_loss(model, points):
    """G's loss on ``points`` as one batch, through the frozen D (an independent path: the
    game's loss of D's forward pass)."""
    model.D.freeze(True)
    try:
        return np.array(model.game.g_loss(model.D.forward(points))[0])
    finally:
        model.D.freeze(False)


@pytest.mark.parametrize("name, opts", [
    ("ring8", {}), ("ring8", {"loss": "lsgan", "spectral_norm": True}),
    ("grid25", {"loss": "hinge"}), ("gaussian2d", {"loss": "wgan-gp"}),
    ("gaussian1d", {"g_loss": "minimax"})])
def test_grad_is_the_finite_difference_of_g_s_loss_at_the_saved_points(name, opts, float64):
    result = toys.run_gan_toy(name, 40, seed=0, snapshots=1, n_eval=300, opts=opts)
    model, f = result["model"], result["frames"][-1]["field"]
    points = f["points"].copy()
    assert points.dtype == np.float64 and f["grad"].shape == points.shape
    assert len(points) == toys.TOYS[name].batch       # one batch of G's, as in a G step
    np.testing.assert_array_equal(points, result["frames"][-1]["samples"][:len(points)])
    h = 1e-5
    numeric = gradcheck.numeric_vjp(lambda: _g_loss(model, points), points, np.array(1.0), h)
    # judged at the points whose differences cross no kink of D's LeakyReLUs: a point whose
    # step of h moves an input of one across 0 has a one-sided derivative there, which a
    # centred difference averages (most points are far enough; those are all compared)
    smooth = [testing.min_kink_distance(model.D, points[i:i + 1]) > 10 * h
              for i in range(len(points))]
    assert np.mean(smooth) > 0.75
    assert gradcheck.rel_error(f["grad"][smooth], numeric[smooth]) <= testing.GRAD_TOL
    assert np.abs(f["grad"]).max() > 0


@pytest.mark.parametrize("name, loss", [("ring8", "gan"), ("gaussian2d", "hinge"),
                                        ("gaussian1d", "lsgan")])
def test_d_is_d_s_forward_on_the_grid(name, loss, float64):
    result = toys.run_gan_toy(name, 20, seed=1, snapshots=1, n_eval=300, opts={"loss": loss})
    model, f = result["model"], result["frames"][-1]["field"]
    game, xs = model.game, f["xs"]
    rng = np.random.default_rng(0)
    if name == "gaussian1d":
        assert "ys" not in f and f["d"].shape == xs.shape
        picks = [(i,) for i in rng.integers(0, len(xs), 20)]
        at = [np.array([[xs[i]]]) for (i,) in picks]
    else:
        ys = f["ys"]
        assert f["d"].shape == (len(ys), len(xs))
        lo, hi = toys._center(toys.TOYS[name]) - toys.TOYS[name].extent, \
            toys._center(toys.TOYS[name]) + toys.TOYS[name].extent
        assert (xs[0], xs[-1], ys[0], ys[-1]) == pytest.approx((lo[0], hi[0], lo[1], hi[1]))
        picks = [tuple(p) for p in zip(rng.integers(0, len(ys), 20), rng.integers(0, len(xs), 20),
                                       strict=True)]
        at = [np.array([[xs[i], ys[j]]]) for j, i in picks]   # d[j, i] is D at (xs[i], ys[j])
    with model.D.evaluating():                      # one point at a time, a fresh forward pass
        expect = [float(backend.to_host(game.read(model.D.forward(x)))[0, 0]) for x in at]
    got = [f["d"][p] for p in picks]
    np.testing.assert_allclose(got, expect, rtol=1e-12, atol=0)
    if game.probabilities:
        assert 0 < f["d"].min() and f["d"].max() < 1


@pytest.mark.parametrize("name, opts", [
    ("ring8", {"spectral_norm": True, "k": 2}), ("grid25", {"ema": 0.9, "loss": "wgan-gp"}),
    ("gaussian1d", {"spectral_norm": True}), ("gaussian2d", {"instance_noise": 0.2})])
@pytest.mark.slow
def test_drawing_the_field_changes_no_training_number(name, opts):
    """The same seed with every picture (snapshots with the field, the noise grid, frames
    after each step) and with none: the same numbers, and the same players at the end."""
    bare = toys.run_gan_toy(name, 60, seed=2, snapshots=0, n_eval=300, opts=opts, field=False)
    drawn = toys.run_gan_toy(name, 60, seed=2, snapshots=4, n_eval=300, opts=opts,
                             noise_grid=name != "gaussian1d", step_by_step=3)
    assert len(drawn["steps"]) == 1 + 3 * (drawn["model"].k + 1)
    assert all("field" in f for f in drawn["frames"] + drawn["steps"])
    assert bare["history"] == drawn["history"] and bare["metrics"] == drawn["metrics"]
    for net in ("G", "D"):
        a, b = (getattr(r["model"], net).state_dict() for r in (bare, drawn))
        assert all(np.array_equal(a[k], b[k]) for k in a), net


def test_step_frames_show_d_move_then_the_samples():
    result = toys.run_gan_toy("ring8", 5, seed=0, snapshots=1, n_eval=300, step_by_step=2,
                              opts={"k": 2})
    steps = result["steps"]
    assert [(s["iteration"], s["step"]) for s in steps] == [
        (0, None), (1, "d1"), (1, "d2"), (1, "g"), (2, "d1"), (2, "d2"), (2, "g")]
    for before, after in zip(steps[:-1], steps[1:], strict=True):
        g_step = after["step"] == "g"
        # a D step moves D's surface and not the samples, a G step the samples and not D
        assert np.array_equal(before["samples"], after["samples"]) != g_step
        assert np.array_equal(before["field"]["d"], after["field"]["d"]) == g_step
        assert not np.array_equal(before["field"]["grad"], after["field"]["grad"])


def test_noise_grid_is_g_of_a_regular_grid(float64):
    result = toys.run_gan_toy("gaussian2d", 10, seed=0, snapshots=1, n_eval=300,
                              noise_grid=True)
    model, f = result["model"], result["frames"][-1]["field"]
    z, image = f["noise"], f["noise_image"]
    n = field.NOISE_GRID
    assert z.shape == (n, n, 4) and image.shape == (n, n, 2)
    u = np.linspace(-field.NOISE_SPAN["gaussian"], field.NOISE_SPAN["gaussian"], n)
    np.testing.assert_array_equal(z[3, 5], [u[5], u[3], 0.0, 0.0])      # z[j, i] = (u[i], u[j])
    with model.G.evaluating():
        np.testing.assert_allclose(image[3, 5], model.G.forward(z[3, 5][None])[0], rtol=1e-12)


def test_noise_grid_names_the_priors_for_an_unknown_one():
    """"normal" for the Gaussian prior was a bare KeyError: 'normal'."""
    G = layers.Sequential(layers.Dense(2, 2, rng=np.random.default_rng(0)))
    with pytest.raises(ValueError, match=r"prior must be one of 'gaussian', 'uniform' .*got 'normal'"):
        field.noise_grid(G, 2, "normal")


def test_the_field_refuses_a_d_that_mixes_its_batch():
    rng = np.random.default_rng(0)
    packed = layers.Sequential(layers.Pack(2), layers.Dense(4, 1, rng=rng))
    assert field.mixing_layer(packed) is packed.layers[0]
    bn = layers.Sequential(layers.Dense(2, 3, rng=rng), layers.BatchNorm(3),
                           layers.Dense(3, 1, rng=rng))
    assert isinstance(field.mixing_layer(bn), layers.BatchNorm)
    assert field.mixing_layer(bn.eval()) is None                 # running statistics: pointwise
    with pytest.raises(ValueError, match="one point at a time"):
        field.surface(packed, toys.games.get("gan"), field.plane((0.0, 0.0), 1.0, 5))
    # a packed toy: snapshots without the field, and --step-by-step refused
    assert toys.check_pictures("ring8", {"pack": 2}) is False
    with pytest.raises(ValueError, match="--pack or --minibatch"):
        toys.check_pictures("ring8", {"minibatch": "stddev"}, step_by_step=1)
    result = toys.run_gan_toy("ring8", 5, seed=0, snapshots=1, n_eval=300, opts={"pack": 2})
    assert "field" not in result["frames"][-1]


@pytest.mark.slow
def test_the_frames_are_drawn_with_their_field(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    result = toys.run_gan_toy("ring8", 30, seed=0, snapshots=1, n_eval=300, noise_grid=True,
                              step_by_step=1)
    fig = Figure()
    ax, cax = fig.add_axes((0.1, 0.1, 0.6, 0.8)), fig.add_axes((0.8, 0.1, 0.05, 0.8))
    image = toys.draw_frame(ax, "ring8", result["frames"][-1], result["real"], cax=cax)
    assert image is not None and np.array_equal(image.get_array(),
                                                 result["frames"][-1]["field"]["d"])
    assert image.get_clim() == (0.0, 1.0)                          # a probability
    labels = ax.get_legend_handles_labels()[1]
    assert {"real", "generated", "G of a regular noise grid"} <= set(labels)
    assert ax.get_xlabel() == "x1" and ax.get_ylabel() == "x2" and "probability" in cax.get_ylabel()
    assert len(ax.collections) >= 3                                # the arrows among them
    toys.draw_frame(ax, "ring8", result["steps"][1], result["real"], cax=cax)
    assert "after D step 1" in ax.get_title()
    paths = toys.save_pictures("ring8", result, tmp_path)
    names = sorted(p.name for p in paths)
    assert names == ["field.npz", "ring8.gif", "ring8_steps.gif", "snapshot_00030.png",
                     "step_00000.png", "step_00001_d1.png", "step_00001_g.png"]
    saved = np.load(tmp_path / "field.npz")
    assert set(saved.files) == {"xs", "ys", "d", "points", "grad", "level", "loss", "noise",
                                "noise_image", "iteration"}
    last = result["frames"][-1]["field"]
    for k in ("xs", "ys", "d", "points", "grad", "noise", "noise_image"):
        np.testing.assert_array_equal(saved[k], last[k])
    assert int(saved["iteration"]) == 30 and str(saved["loss"]) == "gan"


def test_the_surface_shares_no_hue_with_the_samples():
    """Each colour of D's surface, as drawn (over white at its alpha), is far in hue from
    the real and the generated samples' colours wherever it has a hue at all: the samples
    stay visible where D says fake (an orange "fake" once hid G's orange samples)."""
    import colorsys

    import matplotlib
    from matplotlib import colors

    surface = matplotlib.colormaps[toys.SURFACE]
    for sample in (toys.REAL, toys.GENERATED):
        hue = colorsys.rgb_to_hsv(*colors.to_rgb(sample))[0]
        for t in np.linspace(0.0, 1.0, 101):
            drawn = 0.75 * np.array(surface(t)[:3]) + 0.25
            h, s, _ = colorsys.rgb_to_hsv(*drawn)
            if s > 0.1:
                apart = min(abs(h - hue), 1 - abs(h - hue)) * 360
                assert apart > 45, (sample, t, apart)


@pytest.mark.slow
def test_a_run_s_frames_share_one_colour_scale_and_keep_the_plot_clear(tmp_path, monkeypatch):
    """A raw output's colours span the same range in every frame of a GIF (else one colour
    means another output in the next frame); the legend, with the arrows' longest length,
    sits under the axes and their x label, off the samples."""
    result = toys.run_gan_toy("ring8", 30, seed=0, snapshots=3, n_eval=300,
                              opts={"loss": "hinge"})
    fields = [f["field"] for f in result["frames"]]
    own = [float(np.abs(f["d"] - f["level"]).max()) for f in fields]
    assert len(set(own)) == 3                    # the frames' own ranges differ
    assert toys.colour_spread(result["frames"]) == max(own)
    assert toys.colour_spread(toys.run_gan_toy("ring8", 2, seed=0, snapshots=1,
                                               n_eval=300)["frames"]) is None   # [0, 1]
    drawn, draw = [], toys.draw_frame

    def record(ax, *args, **kwargs):
        image = draw(ax, *args, **kwargs)
        ax.figure.canvas.draw()
        legend = ax.get_legend()
        assert legend.get_window_extent().y1 < ax.xaxis.label.get_window_extent().y0
        assert any(t.get_text().startswith("-dL_G/dx, longest ")
                   for t in legend.get_texts())
        drawn.append(image.get_clim())
        return image

    monkeypatch.setattr(toys, "draw_frame", record)
    toys.save_pictures("ring8", result, tmp_path, gif=False)
    assert drawn == [(-max(own), max(own))] * 3          # hinge: centred on 0


def test_the_dashed_line_is_named_as_the_colour_bar_names_its_level():
    """The cross-entropy D is undecided on its dashed line (0.5); a Wasserstein critic's
    dashed line is its level midway between its means on real and fake, as its colour bar
    says, not a place where it cannot tell."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure()
    ax, cax = fig.add_axes((0.1, 0.1, 0.6, 0.8)), fig.add_axes((0.8, 0.1, 0.05, 0.8))
    for loss, name in (("gan", "D undecided"), ("wgan-gp", "critic midway")):
        result = toys.run_gan_toy("ring8", 10, seed=0, snapshots=1, n_eval=300,
                                  opts={"loss": loss})
        toys.draw_frame(ax, "ring8", result["frames"][-1], result["real"], cax=cax)
        dashed = [label for line, label in zip(*ax.get_legend_handles_labels(), strict=True)
                  if getattr(line, "get_linestyle", lambda: "")() == "--"]
        assert dashed == [name], loss
    assert "midway between its means" in cax.get_ylabel()


def test_a_gif_frame_keeps_the_samples_colours_beside_d_s_surface():
    """A frame whose many shades of D's surface fill an adaptive palette still draws the
    few real samples blue and the generated orange (they came out grey), and the rest near
    its own colours."""
    from matplotlib import colormaps
    from PIL import Image

    u, v = np.meshgrid(np.linspace(0.0, 1.0, 240), np.linspace(0.2, 1.0, 240))
    rgb = np.array(colormaps[toys.SURFACE](u)[..., :3]) * v[..., None] + 1 - v[..., None]
    rgb = (255 * rgb).round()                        # D's surface over white: 16,744 colours
    rgb[100:102, 100:102] = toys.gif_keep()[0]                      # a real sample
    rgb[150:152, 50:52] = toys.gif_keep()[2]                        # a generated one
    image = Image.fromarray(rgb.astype(np.uint8), mode="RGB")
    drawn = np.asarray(toys.gif_frame(image).convert("RGB")).astype(int)
    assert toys.gif_frame(image).mode == "P"
    np.testing.assert_array_equal(drawn[100:102, 100:102], np.full((2, 2, 3), toys.gif_keep()[0]))
    np.testing.assert_array_equal(drawn[150:152, 50:52], np.full((2, 2, 3), toys.gif_keep()[2]))
    assert np.abs(drawn - rgb).mean() < 2      # the adaptive palette's own error: 1.4


def test_each_pixel_of_a_gif_frame_is_its_nearest_palette_colour():
    """Every pixel takes the palette colour nearest it (squared RGB distance; of equally
    near ones, the first), whatever the colours: checked pixel by pixel against every
    entry of the frame's palette."""
    from PIL import Image

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(40, 50, 3))
    rgb[:10] = rng.integers(0, 4, size=(10, 50, 3)) * 85         # some colours many times
    frame = toys.gif_frame(Image.fromarray(rgb.astype(np.uint8), mode="RGB"))
    palette = np.array(frame.getpalette()[:768]).reshape(-1, 3)
    distance = ((rgb.reshape(-1, 1, 3) - palette[None]) ** 2).sum(axis=-1)   # pixel x entry
    np.testing.assert_array_equal(np.asarray(frame).reshape(-1), distance.argmin(axis=1))


def test_a_gif_frame_keeps_the_colour_bar_s_purple_beside_a_green_plane():
    """A frame where D says "fake" everywhere: the plane's many greens filled the adaptive
    palette and its colour bar's purple end, a few pixels wide, came out greyed."""
    from matplotlib import colormaps
    from PIL import Image

    def over_white(t, v):
        return np.array(colormaps[toys.SURFACE](t)[..., :3]) * v + 1 - v

    u, v = np.meshgrid(np.linspace(0.0, 0.45, 240), np.linspace(0.3, 1.0, 240))
    rgb = over_white(u, v[..., None])                                  # the green plane
    rgb[:, 230:] = over_white(np.linspace(0.0, 1.0, 240), toys.SURFACE_ALPHA)[:, None]   # the bar
    rgb = (255 * rgb).round()
    drawn = np.asarray(toys.gif_frame(Image.fromarray(rgb.astype(np.uint8), mode="RGB"))
                       .convert("RGB")).astype(int)
    bar, bar_drawn = rgb[:, 230:], drawn[:, 230:]
    assert np.abs(bar_drawn - bar).max() < 24      # 16 now; 41 before, greyed
    top = bar_drawn[-20:].reshape(-1, 3)           # the purple end: red and blue over green
    assert (top[:, 0] > top[:, 1] + 30).all() and (top[:, 2] > top[:, 1] + 30).all()


@pytest.mark.parametrize("name", ["ring8", "gaussian1d"])
def test_a_snapshot_of_ones_own_loop_is_the_toy_s_frame(name):
    """toys.snapshot gives a loop of one's own the frames run_gan_toy records (draw_frame
    failed on a frame made by hand with KeyError: 'level'): the same samples, metrics and
    field for the same players and noise."""
    result = toys.run_gan_toy(name, 5, seed=0, snapshots=1, n_eval=300)
    spec, model = toys.TOYS[name], result["model"]
    eval_rng = np.random.default_rng([0, 2])
    z = backend.randn((300, spec.noise_dim), eval_rng)       # run_gan_toy's fixed noise
    real = spec.sample(eval_rng, 300)
    frame, mine = result["frames"][-1], toys.snapshot(spec, model, real, 5, z)
    assert mine["iteration"] == 5 and mine["metrics"] == frame["metrics"]
    np.testing.assert_array_equal(mine["samples"], frame["samples"])
    for key in ("d", "points", "grad"):
        np.testing.assert_array_equal(mine["field"][key], frame["field"][key])
    plt = toys._pyplot()
    fig, ax = plt.subplots()
    toys.draw_frame(ax, spec, mine, real)
    assert ax.get_title().startswith(f"{name}, iteration 5\n")
    plt.close(fig)


@pytest.mark.parametrize("axes, said", [
    (np.linspace(0.0, 1.0, 5), r"got an array of shape \(5,\); for 1-D samples wrap xs: \(xs,\)$"),
    ((np.zeros(3), np.zeros(3), np.zeros(3)), r"got tuple of shapes \[\(3,\), \(3,\), \(3,\)\]$"),
    (([1.0, 2.0], [[1.0, 2.0]]), r"got tuple of shapes \[\(2,\), \(1, 2\)\]$"),
    (([1.0, np.nan], [0.0]), r"got tuple of shapes \[\(2,\), \(1,\)\]$"),
    (([], [0.0]), r"got tuple of shapes \[\(0,\), \(1,\)\]$"),
    ((["a", "b"],), r"got tuple of shapes \[\(2,\)\]$"),
])
def test_surface_says_what_axes_it_takes(axes, said):
    """A bare array of xs was meshed as one axis per value and D said "expected input of
    shape (N, 2), got (1, 5)"; three axes, a 2-D axis or a NaN were taken or failed in D."""
    from minigan.gan import games
    d = layers.Sequential(layers.Dense(2, 4), layers.Tanh(), layers.Dense(4, 1))
    with pytest.raises(ValueError, match=r"^field.surface: axes must be \(xs,\) for 1-D samples "
                                         r"or \(xs, ys\) for 2-D samples, .*" + said):
        field.surface(d, games.get(), axes)


def test_surface_of_axes_that_do_not_fit_d_says_so_in_d_s_words():
    from minigan.gan import games
    d = layers.Sequential(layers.Dense(2, 4), layers.Tanh(), layers.Dense(4, 1))
    with pytest.raises(ValueError, match=r"^field.surface: one axis makes 1-D points, which D "
                                         r"does not take \(Dense\(2, 4\): expected input of "
                                         r"shape \(N, 2\), got \(5, 1\)\); give one axis per"):
        field.surface(d, games.get(), (np.zeros(5),))
    assert field.surface(d, games.get(), (np.zeros(5), np.ones(3))).shape == (3, 5)
    packed = layers.Sequential(layers.Pack(2), layers.Dense(4, 1))
    with pytest.raises(ValueError, match="^D's surface needs a discriminator that judges one"):
        field.surface(packed, games.get(), (np.zeros(4), np.zeros(2)))


def test_surface_of_an_unknown_game_names_the_game_not_the_axes():
    """An unknown name was caught with D's errors and said as "two axes make 2-D points,
    which D does not take (unknown loss 'gna'; ...)", though the axes fit D."""
    d = layers.Sequential(layers.Dense(2, 4), layers.Tanh(), layers.Dense(4, 1))
    with pytest.raises(ValueError, match=r"^unknown loss 'gna'"):
        field.surface(d, "gna", (np.zeros(3), np.zeros(2)))


@pytest.mark.parametrize("name", ["gan", "lsgan", "hinge", "wgan-gp"])
def test_the_field_takes_the_game_by_name(name):
    """A name failed with "'str' object has no attribute 'read'" (or 'g_loss')."""
    from minigan.gan import games

    r = np.random.default_rng(0)
    D = layers.Sequential(layers.Dense(2, 4, rng=r, dtype="float64"), layers.Tanh(),
                          layers.Dense(4, 1, rng=r, dtype="float64"))
    x = r.standard_normal((5, 2))
    game = games.get(name)
    np.testing.assert_array_equal(field.read_at(D, name, x), field.read_at(D, game, x))
    for a, b in zip(field.gradients(D, name, x), field.gradients(D, game, x), strict=True):
        np.testing.assert_array_equal(a, b)
    axes = (np.linspace(-1, 1, 3), np.linspace(-1, 1, 4))
    assert field.surface(D, name, axes, "float64").shape == (4, 3)


@pytest.mark.parametrize("dtype", ["int32", np.int64, "float16"])
def test_the_field_refuses_a_dtype_that_would_round_the_grid(dtype):
    """An integer dtype rounded every point of the plane to a whole number, and D's surface
    was drawn from a handful of points."""
    from minigan.gan import games
    d = layers.Sequential(layers.Dense(2, 4), layers.Tanh(), layers.Dense(4, 1))
    axes = (np.linspace(-1, 1, 5), np.linspace(-1, 1, 4))
    with pytest.raises(ValueError, match=r"^field: dtype must be float32 or float64, got "):
        field.surface(d, games.get(), axes, dtype)
    with pytest.raises(ValueError, match=r"^field: dtype must be float32 or float64, got "):
        field.read_at(d, games.get(), np.zeros((3, 2)), dtype)
    assert field.surface(d, games.get(), axes, "float32").shape == (4, 5)
