"""The toy experiments: geometry, the xy game, D*, and short seeded runs that learn."""

import dataclasses
import json
import math

import numpy as np
import pytest

from minigan.app import cli
from minigan.functional import losses
from minigan.gan import games
from minigan.lab import toys


def test_mixture_geometry():
    ring = toys.ring8_modes()
    np.testing.assert_allclose(np.hypot(ring[:, 0], ring[:, 1]), 2.0)
    assert len(ring) == 8
    grid = toys.grid25_modes()
    assert len(grid) == 25 and set(np.unique(grid)) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    x = toys.mixture_sampler(ring, 0.02)(np.random.default_rng(0), 4000)
    d = np.sqrt(((x[:, None] - ring[None]) ** 2).sum(-1)).min(1)
    assert np.mean(d <= 3 * 0.02) > 0.98                    # the data is high quality itself


@pytest.mark.parametrize("lr", [0.05, 0.1, 0.3])
def test_simultaneous_play_spirals_out_and_alternating_play_circles(lr):
    steps = 500
    sim = toys.xy_play(steps, lr)
    start = math.hypot(2, 2)
    # each simultaneous step multiplies the distance by sqrt(1 + lr^2) exactly
    assert np.hypot(*sim[-1]) == pytest.approx(start * (1 + lr**2) ** (steps / 2), rel=1e-9)
    alt = toys.xy_play(steps, lr, alternating=True)
    r = np.hypot(alt[:, 0], alt[:, 1])
    assert r.max() < 1.5 * start and r.min() > 0.5 * start   # never converges, never escapes
    # alternating play is area-preserving: the map has determinant 1
    x, y = 0.3, -0.7
    step = toys.xy_play(1, lr, (x, y), alternating=True)[1]
    jac = np.array([[1, lr], [-lr, 1 - lr**2]])
    np.testing.assert_allclose(step, jac @ [x, y], rtol=1e-12)
    assert np.linalg.det(jac) == pytest.approx(1.0)


@pytest.mark.parametrize("args, message", [
    ({"steps": -1}, r"steps must be >= 0, a whole number, got -1"),     # was one point, silently
    ({"steps": 2.5}, r"steps must be >= 0, a whole number, got 2.5"),   # was a TypeError of range
    ({"lr": "0.1"}, r"lr, the step size, must be a finite number, got '0.1'"),
    ({"start": (1.0, 2.0, 3.0)}, r"start must be two finite numbers \(x, y\), got \(1.0, 2.0, 3.0\)"),
])
def test_xy_play_names_a_wrong_argument(args, message):
    with pytest.raises(ValueError, match=r"xy_play: " + message):
        toys.xy_play(**args)


def test_the_xy_picture_marks_where_the_players_are_and_where_they_started():
    """The alternating path closes on itself after a turn: a dot at each path's last point
    says where its players are in every frame of the GIF."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    result = toys.run_xy(100, 0.1)
    ax = Figure().subplots()
    for upto in (2, 101):
        toys.draw_xy(ax, result, upto)
        dots = [line.get_xydata()[0] for line in ax.get_lines() if line.get_marker() == "o"]
        np.testing.assert_array_equal(dots, [result["simultaneous"][upto - 1],
                                             result["alternating"][upto - 1], (2.0, 2.0)])
        assert ax.get_title() == f"gradient play on V = xy, step {upto - 1}"
    assert "start (2, 2)" in ax.get_legend_handles_labels()[1]


def test_optimal_discriminator():
    p = np.array([0.2, 0.0, 0.3, 0.0])
    q = np.array([0.2, 0.5, 0.1, 0.0])
    np.testing.assert_allclose(toys.optimal_discriminator(p, q), [0.5, 0.0, 0.75, 0.5])


def test_optimal_discriminator_is_the_weighted_mean_of_the_targets():
    p = np.array([0.2, 0.0, 0.3, 0.0])
    q = np.array([0.2, 0.5, 0.1, 0.0])
    np.testing.assert_allclose(toys.optimal_discriminator(p, q, 0.9, 0.1), [0.5, 0.1, 0.7, 0.5])
    # it minimizes p l(D, t_r) + q l(D, t_f) pointwise, for cross-entropy and least squares
    d = np.linspace(1e-4, 1 - 1e-4, 200001)
    for a, b in ((0.2, 0.2), (0.3, 0.1), (0.05, 0.4)):
        ce = -a * (0.9 * np.log(d) + 0.1 * np.log(1 - d)) - b * (0.1 * np.log(d) + 0.9 * np.log(1 - d))
        ls = a * (d - 0.9) ** 2 + b * (d - 0.1) ** 2
        best = toys.optimal_discriminator(np.array([a]), np.array([b]), 0.9, 0.1)[0]
        assert abs(d[ce.argmin()] - best) < 1e-4 and abs(d[ls.argmin()] - best) < 1e-4


@pytest.mark.parametrize("loss, smoothing, flip", [("gan", 0.2, 0.1), ("lsgan", 0.0, 0.0),
                                                   ("hinge", 0.0, 0.0), ("wgan-gp", 0.0, 0.0)])
def test_gaussian1d_pictures_each_game_s_own_d_and_d_star(loss, smoothing, flip):
    opts = {"loss": loss, "label_smoothing": smoothing, "label_flip": flip}
    result = toys.run_gan_toy("gaussian1d", 60, seed=0, snapshots=1, n_eval=500, opts=opts)
    frame = result["frames"][-1]
    c, m = frame["curves"], frame["metrics"]
    if loss == "gan":             # a probability; D* with the expected targets 0.72 and 0.08
        assert c["d"].min() > 0 and c["d"].max() < 1
        np.testing.assert_allclose(c["d_star"], toys.optimal_discriminator(
            c["p_data"], c["p_g"], 0.9 * 0.8, 0.1 * 0.8))
        assert "0.72 p_data + 0.08 p_g" in c["d_star_label"]
    if loss == "hinge":
        np.testing.assert_array_equal(c["d_star"], np.sign(c["p_data"] - c["p_g"]))
    if loss == "wgan-gp":         # no pointwise optimum: the critic's shape, rescaled
        assert c["d_star"] is None and "d_vs_dstar_mean_abs" not in m
        assert c["d"].min() == 0.0 and c["d"].max() == 1.0
    else:
        mass = c["p_data"] + c["p_g"]
        on = mass > toys.D_STAR_SUPPORT * mass.max()
        assert np.array_equal(c["support"], on) and 0 < on.sum() < len(on)
        assert m["d_vs_dstar_mean_abs"] == pytest.approx(np.abs(c["d"] - c["d_star"])[on].mean())
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    ax = Figure().subplots()
    toys.draw_frame(ax, "gaussian1d", frame, result["real"])
    labels = ax.get_legend_handles_labels()[1]
    assert c["d_label"] in labels and (c["d_star"] is None) == (len(labels) == 4)
    if c["d_star"] is not None:     # drawn where the densities have mass, a gap elsewhere
        line, = [line for line in ax.get_lines() if line.get_label() == c["d_star_label"]]
        assert np.array_equal(np.isnan(line.get_ydata()), ~c["support"])
    assert "G's samples" in labels                       # and the arrows of the field:
    assert any(t.get_text().startswith("-dL_G/dx, longest ")
               for t in ax.get_legend().get_texts())


def test_gaussian1d_names_its_axis_and_marks_a_density_above_it():
    """Densities and D share one axis up to 1.02: a density that peaks above it is cut off,
    so the picture says where it went and how high; G's samples beyond the x axis are
    counted (they were unseen)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    result = toys.run_gan_toy("gaussian1d", 20, seed=0, snapshots=1, n_eval=500)
    frame = result["frames"][-1]
    c, ax = frame["curves"], Figure().subplots()
    inside = np.clip(frame["samples"], c["grid"][0], c["grid"][-1])
    for peak, said in ((0.5, []), (1.9, ["p_g peaks at 1.9, above the axes"])):
        scaled = {**frame, "samples": inside,
                  "curves": {**c, "p_g": c["p_g"] * peak / c["p_g"].max()}}
        toys.draw_frame(ax, "gaussian1d", scaled, result["real"])
        assert [t.get_text() for t in ax.texts] == said
        assert "density" in ax.get_ylabel() and "D" in ax.get_ylabel()
    far = inside.copy()
    far[:3] = c["grid"][-1] + 5                          # three of G's samples off the picture
    toys.draw_frame(ax, "gaussian1d", {**frame, "samples": far}, result["real"])
    assert (f"3 of G's {len(far):,} samples outside [{c['grid'][0]:g}, {c['grid'][-1]:g}]"
            in [t.get_text() for t in ax.texts])
    # each note on a white box: the curves behind it do not cross its letters
    notes = [t for t in ax.texts if "outside" in t.get_text() or "peaks" in t.get_text()]
    assert notes and all(t.get_bbox_patch() is not None
                         and t.get_bbox_patch().get_facecolor()[:3] == (1.0, 1.0, 1.0)
                         for t in notes)


def test_a_panel_of_a_figure_keeps_its_legend_off_its_label_and_the_next_row():
    """draw_frame into the panels of a tight figure (the tutorials' and the gallery's): each
    legend sits under its x label, whatever the panel's size, and above the next row's
    title (it sat over the label and into the next row's title, at a fixed share of the
    axes below them)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    result = toys.run_gan_toy("ring8", 20, seed=0, snapshots=2, n_eval=300)
    fig = Figure(figsize=(10, 7))
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2)
    for row in axes:
        for ax, frame in zip(row, result["frames"], strict=True):
            toys.draw_frame(ax, "ring8", frame, result["real"])
    fig.tight_layout()
    fig.canvas.draw()
    for top, bottom in zip(axes[0], axes[1], strict=True):
        for ax in (top, bottom):
            assert ax.get_legend().get_window_extent().y1 < ax.xaxis.label.get_window_extent().y0
        assert top.get_legend().get_window_extent().y0 > bottom.title.get_window_extent().y1


def test_gaussian1d_refuses_packs_and_minibatch_layers():
    for opts in ({"pack": 2}, {"minibatch": "stddev"}):
        with pytest.raises(ValueError, match="one point at a time"):
            toys.run_gan_toy("gaussian1d", 5, opts=opts)


@pytest.mark.slow
def test_gaussian1d_learns_the_data_and_d_approaches_d_star():
    result = toys.run_gan_toy("gaussian1d", 1500, seed=0, snapshots=3)
    last = result["metrics"]
    assert abs(last["mean"] - 4.0) < 0.5 and abs(last["std"] - 1.25) < 0.9
    assert len(result["frames"]) == 3
    assert last["d_vs_dstar_mean_abs"] < 0.3


@pytest.mark.slow
def test_ring8_seeded_short_run_covers_the_modes():
    spec = dataclasses.replace(toys.TOYS["ring8"], batch=100)   # a ToySpec works as well as a name
    a = toys.run_gan_toy(spec, 2000, seed=0, snapshots=0, record_frames=False)
    assert a["metrics"]["modes_covered"] >= 6 and a["metrics"]["high_quality"] > 0.3
    b = toys.run_gan_toy(spec, 2000, seed=0, snapshots=0, record_frames=False)
    assert a["metrics"] == b["metrics"]                       # seeded: the same run again


class Doubled(games.Hinge):
    """A game of one's own, known to no list of names."""

    name, output_label = "hinge2", "D(x), doubled hinge"

    def d_loss(self, outputs, target, sign):
        loss, dout = losses.hinge_loss(outputs, sign)
        return 2 * loss, 2 * dout


def test_a_toy_plays_and_pictures_a_game_of_ones_own(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    game = Doubled()
    result = toys.run_gan_toy("ring8", 20, seed=0, snapshots=1, opts={"loss": game})
    assert result["model"].game is game
    frame = result["frames"][-1]
    fig = Figure()
    ax, cax = fig.add_axes((0.1, 0.2, 0.6, 0.7)), fig.add_axes((0.8, 0.2, 0.03, 0.7))
    toys.draw_frame(ax, "ring8", frame, result["real"], cax=cax,
                    spread=toys.colour_spread(result["frames"]))
    assert cax.get_ylabel().startswith("D(x), doubled hinge; white: 0")
    out = tmp_path / "pictures" / "hinge2"            # not made yet: save_pictures makes it
    paths = toys.save_pictures("ring8", result, out, gif=False)
    assert str(np.load(out / "field.npz")["loss"]) == "hinge2"
    assert out / "snapshot_00020.png" in paths and all(p.exists() for p in paths)


class SymmetricLeastSquares(games.Game):
    """Least squares with the -1/1 coding: a game without labels whose D* goes below 0."""

    name, labels, boundary = "lsgan-sym", False, 0.0
    optimal_label = "D*(x) = (p_data - p_g) / (p_data + p_g)"

    def d_loss(self, outputs, target, sign):
        return losses.least_squares_loss(outputs, float(sign))

    def g_loss(self, outputs):
        return losses.least_squares_loss(outputs, 0.0)

    def optimal_output(self, p_data, p_g, real_target=1.0, fake_target=0.0):
        return games.optimal_discriminator(p_data, p_g, 1.0, -1.0)


class Unsaid(SymmetricLeastSquares):
    optimal_output = games.Game.optimal_output      # says no optimum of its own


def test_gaussian1d_asks_a_game_without_labels_for_its_d_star_and_axis():
    """Its D* named and drawn as the game says, on an axis down to -1 (the axis was the
    hinge game's by name alone, and every other game's D* was labelled sign(p_data - p_g));
    one that names no D* is not given the targets' of the games with labels."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    result = toys.run_gan_toy("gaussian1d", 20, seed=0, snapshots=1, n_eval=500,
                              opts={"loss": SymmetricLeastSquares()})
    frame = result["frames"][-1]
    c, ax = frame["curves"], Figure().subplots()
    np.testing.assert_array_equal(c["d_star"], games.optimal_discriminator(
        c["p_data"], c["p_g"], 1.0, -1.0))
    toys.draw_frame(ax, "gaussian1d", frame, result["real"])
    assert SymmetricLeastSquares.optimal_label in ax.get_legend_handles_labels()[1]
    assert ax.get_ylim() == (-1.1, 1.1)
    unsaid = toys.run_gan_toy("gaussian1d", 20, seed=0, snapshots=1, n_eval=500,
                              opts={"loss": Unsaid()})["frames"][-1]
    assert unsaid["curves"]["d_star"] is None and "d_vs_dstar_mean_abs" not in unsaid["metrics"]
    assert unsaid["curves"]["limits"] == (-0.02, 1.02)


def test_draw_frame_titles_a_modified_spec_with_its_label():
    """The pictures of a changed spec (the tutorial's weaker D) use its extent and numbers."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = dataclasses.replace(toys.TOYS["ring8"], d_sizes=(2, 16, 16, 1), extent=2.5)
    result = toys.run_gan_toy(spec, 40, seed=0, snapshots=1)
    frame = result["frames"][-1]
    fig, ax = plt.subplots()
    toys.draw_frame(ax, spec, frame, result["real"], label="weak D")
    m = frame["metrics"]
    assert ax.get_title() == (f"weak D, iteration {frame['iteration']}\n"
                              f"{m['modes_covered']}/8 modes, "
                              f"{100 * m['high_quality']:.1f}% high quality")
    assert ax.get_xlim() == (-2.5, 2.5) and ax.get_ylim() == (-2.5, 2.5)
    toys.draw_frame(ax, "ring8", frame, result["real"])     # a name; the title is the toy's
    assert ax.get_title().startswith(f"ring8, iteration {frame['iteration']}\n")
    assert ax.get_xlim() == (-3.0, 3.0)
    plt.close(fig)


def _moons(rng, n):
    """Two interleaved half circles: data of one's own, without modes."""
    t, upper = rng.uniform(0, np.pi, n), rng.integers(0, 2, n).astype(bool)
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    return np.stack([x, y], axis=1) + 0.05 * rng.standard_normal((n, 2))


def test_a_toy_of_ones_own_data_is_measured_and_pictured(tmp_path):
    """A new ToySpec without modes (ToySpec's docstring: "or a new one") is measured against
    its own real samples, and save_pictures takes the spec: a TypeError in the metrics
    ("'NoneType' object is not subscriptable") stopped its run, and save_pictures took
    names in TOYS alone."""
    spec = toys.ToySpec("moons", _moons, noise_dim=2, g_sizes=(2, 16, 2), d_sizes=(2, 16, 1),
                        iterations=20, extent=2.5)
    result = toys.run_gan_toy(spec, seed=0, snapshots=1, n_eval=500)
    samples, real = result["frames"][-1]["samples"], result["real"]
    assert result["metrics"] == {
        "mean_error": pytest.approx(float(np.linalg.norm(samples.mean(0) - real.mean(0)))),
        "cov_error": pytest.approx(float(np.linalg.norm(np.cov(samples, rowvar=False)
                                                        - np.cov(real, rowvar=False))))}
    paths = toys.save_pictures(spec, result, tmp_path, gif=True)
    assert {p.name for p in paths} == {"snapshot_00020.png", "moons.gif", "field.npz"}
    gauss = toys.run_gan_toy("gaussian2d", 20, seed=0, snapshots=1, n_eval=500)
    assert set(gauss["metrics"]) == {"mean_error", "cov_error"}      # against its own target


def test_draw_frame_draws_the_real_samples_larger_under_g_s():
    """A mode G misses shows its real samples alone, one G covers a rim of them round G's
    orange: the real samples larger than G's, under them (the same size, a ring's small
    modes showed no blue where G covered them)."""
    plt = toys._pyplot()
    result = toys.run_gan_toy("ring8", 20, seed=0, snapshots=1, n_eval=200)
    fig, ax = plt.subplots()
    toys.draw_frame(ax, "ring8", result["frames"][-1], result["real"])
    order = [c.get_label() for c in ax.collections]
    by_label = {c.get_label(): c for c in ax.collections if c.get_label() in ("real", "generated")}
    assert order.index("real") < order.index("generated")
    assert by_label["real"].get_zorder() <= by_label["generated"].get_zorder()
    assert by_label["real"].get_sizes()[0] >= 4 * by_label["generated"].get_sizes()[0]
    plt.close(fig)


def test_minimax_gradient_saturates_after_d_learns():
    norms = toys.generator_gradient_norms(iterations=20, seed=0)
    early = {f: np.mean(r["grad_norm"][:10]) for f, r in norms.items()}
    assert early["minimax"] < early["non_saturating"]
    assert np.mean(norms["minimax"]["d_gen"][:10]) < 0.5      # D rejects the fakes


def test_the_generator_gradient_plot_names_each_loss_and_d_s_head_start(tmp_path, monkeypatch):
    """The legend gives each G loss as the docs write it, the x axis the D steps taken
    alone before the first iteration."""
    plt = toys._pyplot()
    drawn = []
    monkeypatch.setattr(plt, "close", drawn.append)
    norms = {form: {"grad_norm": [1.0, 0.5], "d_gen": [0.1, 0.1]} for form in losses.G_LOSSES}
    toys.save_gradient_plot(norms, tmp_path / "g.png", d_warmup=7)
    ax, = drawn[0].axes
    assert ax.get_legend_handles_labels()[1] == ["non-saturating: -log D(G(z))",
                                                 "minimax: log(1 - D(G(z)))"]
    assert ax.get_xlabel() == "iteration (both from the same weights, after 7 D steps alone)"
    assert (tmp_path / "g.png").is_file()


def test_the_generator_gradient_study_runs_in_float64(float64):
    """Its batches in the players' dtype, as run_gan_toy's (float32 batches for float64
    players were refused)."""
    norms = toys.generator_gradient_norms(iterations=2, seed=0, d_warmup=1)
    assert all(np.isfinite(r["grad_norm"]).all() for r in norms.values())


@pytest.mark.slow
def test_toy_command_writes_pictures_gif_and_metrics(tmp_path, capsys):
    out = tmp_path / "ring"
    assert cli.main(["toy", "ring8", "--iterations", "300", "--seeds", "2", "--snapshots", "2",
                     "--out", str(out), "--k", "2", "--label-smoothing", "0.1"]) == 0
    text = capsys.readouterr().out
    assert "ring8, 2 seeds, 300 iterations, mean ± standard deviation over the seeds: " in text
    assert ("PacGAN Table 1 (cross-entropy GAN, 400 epochs of 100,000 points; ± standard error "
            "over 10 trials): modes 6.3 ± 0.5, high quality 98.2% ± 0.2%, reverse KL 0.45 ± "
            "0.09; not the same run: this one stopped at 300 of the toy's 10,000 iterations") in text
    assert (out / "ring8.gif").stat().st_size > 0
    assert sorted(p.name for p in out.glob("snapshot_*.png")) == ["snapshot_00150.png",
                                                                  "snapshot_00300.png"]
    report = json.loads((out / "metrics.json").read_text())
    assert report["seeds"] == [0, 1] and len(report["runs"]) == 2
    assert report["options"]["k"] == 2 and report["options"]["label_smoothing"] == 0.1
    assert set(report["mean_std"]) >= {"modes_covered", "high_quality"}


@pytest.mark.slow
def test_xy_and_gaussian1d_commands(tmp_path, capsys):
    assert cli.main(["toy", "xy", "--iterations", "50", "--out", str(tmp_path / "xy")]) == 0
    assert "simultaneous" in capsys.readouterr().out
    assert (tmp_path / "xy" / "xy.gif").is_file()
    m = json.loads((tmp_path / "xy" / "metrics.json").read_text())
    assert m["simultaneous_distance"] > m["start_distance"]
    assert cli.main(["toy", "gaussian1d", "--iterations", "200", "--snapshots", "2",
                     "--g-loss", "minimax", "--out", str(tmp_path / "g1")]) == 0
    assert "distance between D and D*" in capsys.readouterr().out
    assert (tmp_path / "g1" / "generator_gradient.png").is_file()
    assert (tmp_path / "g1" / "gaussian1d.gif").is_file()


def test_an_option_the_toys_do_not_take_is_refused_not_dropped():
    with pytest.raises(ValueError, match=r"unknown toy option 'r1'; the toys take k, g_loss"):
        toys.run_gan_toy("ring8", 2, snapshots=0, opts={"r1": 1.0})


def test_the_command_lines_toy_options_are_all_taken():
    from minigan.app import settings
    assert set(settings.TOY_KEYS) <= set(toys._OPTIONS)


@pytest.mark.parametrize("call", [lambda: toys.run_gan_toy("ring9", iterations=1),
                                  lambda: toys.toy_spec("ring9")])
def test_an_unknown_toy_is_named_with_the_toys_there_are(call):
    with pytest.raises(ValueError, match=r"no toy named 'ring9'; the toys are .*ring8.*grid25"):
        call()


def test_data_where_a_toy_is_asked_for_says_how_to_make_a_toy_of_it():
    """An array of data (unhashable type: 'numpy.ndarray') or a sampler (no toy named
    <function ...>) given as the toy: a TypeError with the ToySpec to make; the xy game's
    name points to run_xy."""
    with pytest.raises(TypeError, match=r"got ndarray of shape \(10, 2\); for data of your own, "
                                        r"a ToySpec whose sample\(rng, n\)"):
        toys.run_gan_toy(np.zeros((10, 2)), 1)
    with pytest.raises(TypeError, match=r"or a ToySpec, got function"):
        toys.toy_spec(_moons)
    with pytest.raises(ValueError, match=r"no toy named 'xy'.*the xy game is no GAN: run_xy\(\)"):
        toys.run_gan_toy("xy", 1)


@pytest.mark.parametrize("change, message", [
    ({"sample": lambda rng, n: rng.normal(size=n)},
     r"sample\(rng, n\) must give one row per sample, an array of shape \(n, dim\), but "
     r"sample\(rng, 2\) gave shape \(2,\) \(1-D data: x\[:, None\]"),
    ({"sample": lambda rng, n: rng.normal(size=(n, 3))},
     r"g_sizes\[-1\], G's output, is 2; it must be 3, the samples' dimension"),
    ({"noise_dim": 3}, r"g_sizes\[0\], G's input, is 2; it must be 3, the noise_dim"),
    ({"d_sizes": (3, 16, 1)}, r"d_sizes\[0\], D's input, is 3; it must be 2"),
    ({"d_sizes": (2, 16, 2)}, r"d_sizes\[-1\], D's output, is 2; it must be 1, one output a sample"),
])
def test_a_toy_whose_data_and_networks_do_not_fit_says_which_field_to_change(change, message):
    """Before: a Dense layer's "expected input of shape (N, 3), got (14641, 2)" from deep in
    the pictures, naming none of the ToySpec's fields."""
    spec = dataclasses.replace(toys.ToySpec("moons", _moons, 2, (2, 16, 2), (2, 16, 1), 5),
                               **change)
    with pytest.raises(ValueError, match=r"toy 'moons': " + message):
        toys.run_gan_toy(spec, snapshots=1, n_eval=100)


@pytest.mark.parametrize("change, kw, message", [
    ({"iterations": 0}, {}, r"toy 'moons': iterations must be >= 1, a whole number, got 0$"),
    ({}, {"iterations": 0}, r"^iterations must be >= 1, a whole number, got 0$"),
    ({}, {"iterations": 2.5}, r"^iterations must be >= 1, a whole number, got 2.5$"),
    ({"batch": 0}, {}, r"toy 'moons': batch must be >= 1, a whole number, got 0$"),
    ({"extent": -1.0}, {}, r"toy 'moons': extent must be a number above 0, half the width of the "
                           r"pictures' plane, got -1.0$"),
    ({"extent": 0}, {}, r"toy 'moons': extent must be a number above 0"),
    ({"g_sizes": (2,)}, {}, r"toy 'moons': g_sizes must be the widths of the network's layers, "
                            r"from its input to its output, at least two whole numbers >= 1, "
                            r"got \(2,\)$"),
    ({"d_sizes": (2, 0, 1)}, {}, r"toy 'moons': d_sizes must be the widths .* got \(2, 0, 1\)$"),
    ({}, {"snapshots": -1}, r"^snapshots must be >= 0, a whole number, got -1$"),
])
def test_a_toy_s_counts_and_extent_are_checked_before_its_run(change, kw, message):
    """iterations=0 trained nothing and failed with "list index out of range"; g_sizes of one
    width failed with "Adam: no parameters to optimize"; an extent of 0 or below, a fractional
    iteration count and a negative snapshot count were taken without a word."""
    spec = dataclasses.replace(toys.ToySpec("moons", _moons, 2, (2, 16, 2), (2, 16, 1), 5),
                               **change)
    with pytest.raises(ValueError, match=message):
        toys.run_gan_toy(spec, **{"snapshots": 1, "n_eval": 100, **kw})

def test_a_toy_of_three_coordinates_is_measured_and_refused_a_picture():
    """3-D data trains and is measured (the field needs a plane); its pictures are refused
    with what to use, where the field failed in a Dense layer over a 2-D grid."""
    spec = toys.ToySpec("ball", lambda rng, n: rng.normal(size=(n, 3)), 2, (2, 16, 3),
                        (3, 16, 1), 5)
    result = toys.run_gan_toy(spec, seed=0, snapshots=1, n_eval=100)
    assert set(result["metrics"]) == {"mean_error", "cov_error"}
    assert "field" not in result["frames"][-1]
    with pytest.raises(ValueError, match=r"draws samples of 1 or 2 coordinates; ball's have 3"):
        toys.draw_frame(None, spec, result["frames"][-1], result["real"])
    with pytest.raises(ValueError, match=r"ball's samples have 3 coordinates: leave them out"):
        toys.run_gan_toy(spec, snapshots=1, n_eval=100, noise_grid=True)


def test_a_one_dimensional_toy_of_ones_own_is_pictured_with_its_own_density(tmp_path):
    """1-D data other than gaussian1d's is drawn as gaussian1d is, its p_data a KDE of its
    real samples on a grid around them; save_pictures failed with KeyError: 'ys' (the 1-D
    pictures went by gaussian1d's name, its grid and its density)."""
    def bumps(rng, n):
        return np.where(rng.random((n, 1)) < 0.5, rng.normal(-2, 0.4, (n, 1)),
                        rng.normal(1.5, 0.6, (n, 1)))

    spec = toys.ToySpec("bumps", bumps, 1, (1, 16, 1), (1, 16, 1), 10)
    result = toys.run_gan_toy(spec, seed=0, snapshots=1, n_eval=500)
    frame, real = result["frames"][-1], result["real"]
    c = frame["curves"]
    assert c["grid"][0] == pytest.approx(real.mean() - 4 * real.std())
    assert c["p_data"] == pytest.approx(toys._kde(real, c["grid"]))
    assert np.array_equal(frame["field"]["xs"], c["grid"])
    assert "d_vs_dstar_mean_abs" in result["metrics"]
    paths = toys.save_pictures(spec, result, tmp_path, gif=False)
    assert tmp_path / "snapshot_00010.png" in paths
    with pytest.raises(ValueError, match=r"bumps compares D\(x\), one point at a time"):
        toys.run_gan_toy(spec, snapshots=1, opts={"pack": 2})
    own = toys.run_gan_toy(dataclasses.replace(toys.TOYS["gaussian1d"], name="g"), 10, seed=0,
                           snapshots=1, n_eval=500)["frames"][-1]["curves"]
    assert own["p_data"] == pytest.approx(toys._normal_pdf(own["grid"], *toys.GAUSS1D))


def test_a_toy_of_ones_own_is_pictured_around_its_center():
    """Two moons lie over [-1, 2] x [-0.5, 1]: the pictures' plane, centred at the origin
    whatever the data, cut them off at x1 = extent; ToySpec's center moves it."""
    spec = toys.ToySpec("moons", _moons, 2, (2, 16, 2), (2, 16, 1), 5, extent=1.75,
                        center=(0.5, 0.25))
    result = toys.run_gan_toy(spec, seed=0, snapshots=1, n_eval=200)
    f = result["frames"][-1]["field"]
    assert (f["xs"][0], f["xs"][-1]) == (-1.25, 2.25) and (f["ys"][0], f["ys"][-1]) == (-1.5, 2.0)
    plt = toys._pyplot()
    fig, ax = plt.subplots()
    toys.draw_frame(ax, spec, result["frames"][-1], result["real"])
    assert ax.get_xlim() == (-1.25, 2.25) and ax.get_ylim() == (-1.5, 2.0)
    plt.close(fig)
    with pytest.raises(ValueError, match=r"toy 'moons': center must be two finite numbers"):
        toys.run_gan_toy(dataclasses.replace(spec, center=(0.5,)), snapshots=1)


def test_a_mixture_of_ones_own_is_checked_before_its_run():
    """Modes as nested lists failed in the sampler ("only integer scalar arrays can be
    converted to a scalar index"); modes without std only at the run's first measure."""
    modes = [[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]]
    x = toys.mixture_sampler(modes, 0.1)(np.random.default_rng(0), 5)
    assert x.shape == (5, 2)
    with pytest.raises(ValueError, match=r"mixture_sampler: std must be a number above 0, got 0"):
        toys.mixture_sampler(modes, 0)
    with pytest.raises(ValueError, match=r"mixture_sampler: modes must be .*got shape \(2,\)"):
        toys.mixture_sampler([1.0, 2.0], 0.1)
    spec = toys.ToySpec("tri", toys.mixture_sampler(modes, 0.1), 2, (2, 16, 2), (2, 16, 1), 5,
                        modes=np.array(modes))
    with pytest.raises(ValueError, match=r"toy 'tri': with modes, std must be .*got None"):
        toys.run_gan_toy(spec, snapshots=1)
    with pytest.raises(ValueError, match=r"toy 'tri': modes must be .* \(K, 2\), got shape \(3,\)"):
        toys.run_gan_toy(dataclasses.replace(spec, modes=np.zeros(3), std=0.1), snapshots=1)
    result = toys.run_gan_toy(dataclasses.replace(spec, std=0.1), seed=0, snapshots=1, n_eval=200)
    assert set(result["metrics"]) == {"modes_covered", "high_quality", "reverse_kl"}


@pytest.mark.parametrize("loss", ["gan", "hinge"])
def test_a_1d_picture_keeps_its_y_label_inside_the_figure(tmp_path, monkeypatch, loss):
    """hinge's axis runs from -1.1, whose tick labels ("-0.75") pushed the y
    label, "density (p_data, p_g) and D's output", past the picture's left edge."""
    result = toys.run_gan_toy("gaussian1d", 5, seed=0, snapshots=1, n_eval=300,
                              opts={"loss": loss})
    seen, draw = [], toys.draw_frame

    def record(ax, *args, **kwargs):
        out = draw(ax, *args, **kwargs)
        ax.figure.canvas.draw()
        seen.append(ax.yaxis.label.get_window_extent().x0)
        return out

    monkeypatch.setattr(toys, "draw_frame", record)
    toys.save_pictures("gaussian1d", result, tmp_path, gif=False)
    assert seen and min(seen) >= 0


def test_run_xy_plays_both_forms_from_the_start_it_is_given():
    """run_xy started every game at (2, 2), where xy_play takes a start."""
    result = toys.run_xy(30, 0.2, start=(1.0, -0.5))
    np.testing.assert_array_equal(result["simultaneous"], toys.xy_play(30, 0.2, (1.0, -0.5)))
    np.testing.assert_array_equal(result["alternating"],
                                  toys.xy_play(30, 0.2, (1.0, -0.5), alternating=True))
    assert result["metrics"]["start_distance"] == pytest.approx(np.hypot(1.0, 0.5))
    with pytest.raises(ValueError, match="start must be two finite numbers"):
        toys.run_xy(3, 0.1, start=(1.0,))


def test_check_pictures_refuses_a_noise_grid_without_d_s_surface():
    """The noise grid is drawn with D's surface, which a D of packs or of a minibatch layer
    has not: run_gan_toy took noise_grid=True there and drew no grid."""
    with pytest.raises(ValueError, match="--noise-grid is drawn with D's output over the plane"):
        toys.check_pictures("ring8", {"pack": 2}, noise_grid=True)
    assert toys.check_pictures("ring8", {"pack": 2}) is False       # the samples alone
    assert toys.check_pictures("ring8", {}, noise_grid=True) is True
