"""The loss-curves picture: D's outputs drawn on the axis their game gives them."""

import numpy as np
import pytest

from minigan.app import plotting

pytestmark = pytest.mark.rendered_curves    # drawn by matplotlib, not a blank PNG (tests/conftest.py)


def rows(d_real, d_fake, n=40):
    return [{"iteration": i + 1, "d_loss": 1.0, "g_loss": 2.0, "d_real": d_real,
             "d_fake": d_fake} for i in range(n)]


def undecided_lines(ax):
    """The y values of the dotted horizontal lines on ``ax``."""
    return [line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == ":"]


def test_probabilities_on_a_fixed_axis_around_one_half():
    fig = plotting.loss_curves_figure(rows(0.7, 0.3))
    ax = fig.axes[1]
    assert ax.get_ylim() == pytest.approx((-0.02, 1.02))
    assert undecided_lines(ax) == [0.5] and "probability" in ax.get_ylabel()


@pytest.mark.parametrize("loss, line", [("lsgan", [0.5]), ("hinge", [0.0]), ("wgan-gp", [])])
def test_raw_outputs_get_an_axis_that_holds_them(loss, line):
    fig = plotting.loss_curves_figure(rows(5.0, -3.0), loss=loss)
    ax = fig.axes[1]
    low, high = ax.get_ylim()
    assert low < -3.0 and high > 5.0                     # not clipped to [0, 1]
    assert undecided_lines(ax) == line and "probability" not in ax.get_ylabel()
    curves = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
    np.testing.assert_allclose(curves["D(x)"], 5.0)
    np.testing.assert_allclose(curves["D(G(z))"], -3.0)


def test_a_game_of_ones_own_gives_its_axis_and_line():
    from minigan.gan import games

    class Shifted(games.Hinge):
        name, output_label, boundary = "shifted", "D(x), shifted output", 2.0

    ax = plotting.loss_curves_figure(rows(5.0, -3.0), loss=Shifted()).axes[1]
    assert undecided_lines(ax) == [2.0] and ax.get_ylabel() == "D(x), shifted output"


def test_unknown_loss_and_empty_rows_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown loss 'wgan'"):
        plotting.loss_curves_figure(rows(0.5, 0.5), loss="wgan")
    with pytest.raises(ValueError, match="no metrics rows"):
        plotting.save_loss_curves([], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("loss, penalty, label", [
    ("hinge", [0.25] * 40, "R1 penalty"),
    ("wgan-gp", [0.5] * 40, "gradient penalty (in D loss)"),
    ("hinge", [0.0] * 40, None),                  # a run without a penalty: no line
    ("hinge", [""] * 20 + [0.25] * 20, "R1 penalty"),   # an older file's rows: a gap
    ("hinge", [""] * 40, None),                   # nothing known
])
def test_the_penalty_is_drawn_beside_the_losses_where_a_run_has_one(loss, penalty, label):
    metrics = [{**row, "penalty": p} for row, p in zip(rows(0.5, -0.5), penalty, strict=True)]
    fig = plotting.loss_curves_figure(metrics, loss=loss)
    curves = {line.get_label(): (ax, line.get_ydata()) for ax in fig.axes
              for line in ax.get_lines()}
    drawn = [name for name in curves if "penalty" in name]
    assert drawn == ([label] if label else [])
    if label:                                   # beside the losses, on an axis of its own
        ax, values = curves[label]
        np.testing.assert_allclose(values, [np.nan if p == "" else p for p in penalty])
        assert ax is not fig.axes[0] and ax.bbox.bounds == fig.axes[0].bbox.bounds
        assert ax.get_ylabel() == label and ax.get_ylim()[0] == 0
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend == ["D loss", "G loss", label]          # one legend, above both
        assert fig.axes[0].get_legend() is None


def test_an_nrow_beyond_the_images_gives_one_row_of_them():
    """``minigan sample --n 5 --nrow 20`` drew five digits and fifteen empty gray cells."""
    images = np.random.default_rng(0).uniform(size=(5, 28, 28))
    assert plotting.make_grid(images, nrow=20).shape == plotting.make_grid(images, nrow=5).shape
    assert plotting.make_grid(images, nrow=20).shape == (2 + 30, 2 + 5 * 30)
    one = plotting.gradient_pairs_figure(images, images, nrow=20)
    five = plotting.gradient_pairs_figure(images, images, nrow=5)
    assert tuple(one.get_size_inches()) == tuple(five.get_size_inches())
    with pytest.raises(ValueError, match="nrow must be >= 1"):
        plotting.gradient_pairs_figure(images, images, nrow=0)


@pytest.mark.parametrize("n, nrow", [(1, None), (7, None), (9, None), (10, 4), (5, 20), (64, 8)])
def test_grid_shape_is_the_layout_make_grid_draws(n, nrow):
    """A row label per row of the picture: ``grid_shape`` counts the rows ``make_grid`` draws."""
    rows, per_row = plotting.grid_shape(n, nrow)
    grid = plotting.make_grid(np.zeros((n, 28, 28)), nrow=nrow)
    assert grid.shape == (2 + rows * 30, 2 + per_row * 30)
    assert (rows - 1) * per_row < n <= rows * per_row


def test_check_grid_path_says_what_would_not_do(tmp_path):
    assert plotting.check_grid_path(tmp_path / "a.JPG") == "jpg"
    with pytest.raises(ValueError, match="cannot tell the image format from the name"):
        plotting.check_grid_path(tmp_path / "a.gif")
    with pytest.raises(ValueError, match="^--grid .*its folder .*missing does not exist"):
        plotting.check_grid_path(tmp_path / "missing" / "a.png", "--grid")
    with pytest.raises(ValueError, match="^--grid .*a.gif: cannot tell the image format"):
        plotting.check_grid_path(tmp_path / "a.gif", "--grid")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("n", [1, 3, 12])
def test_the_colour_bars_label_fits_in_a_picture_of_one_row_of_pairs(n):
    """With one row of pairs (``minigan sample --gradients --n 1``) the bar's label, which says
    what red and blue mean, was longer than the figure and lost its ends."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    images = np.random.default_rng(0).uniform(size=(n, 28, 28))
    fig = plotting.gradient_pairs_figure(images, images - 0.5, d=np.zeros(n))
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    label = fig.axes[-1].yaxis.label.get_window_extent(renderer)
    assert 0 <= label.y0 and label.y1 <= fig.bbox.height and label.x1 <= fig.bbox.width
    pairs = fig.axes[0].get_window_extent(renderer)
    assert pairs.y0 >= 0 and abs(pairs.y1 - fig.axes[-1].get_window_extent(renderer).y1) < 1


@pytest.mark.parametrize("n", [1, 2, 6, 100])
def test_the_colour_bar_stands_beside_the_pairs_and_both_are_centred(n):
    """A few pairs in a figure as wide as its title: the bar stood at the right edge, far
    from the pairs, with a wide blank between."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    images = np.random.default_rng(0).uniform(size=(n, 28, 28))
    fig = plotting.gradient_pairs_figure(images, images - 0.5)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    pairs, bar = fig.axes[0].get_window_extent(renderer), fig.axes[-1].get_window_extent(renderer)
    assert 0 < bar.x0 - pairs.x1 <= 0.2 * fig.dpi            # 0.15 inches between
    label = fig.axes[-1].yaxis.label.get_window_extent(renderer)
    assert abs(pairs.x0 - (fig.bbox.width - label.x1)) < 0.5 * fig.dpi   # margins alike


@pytest.mark.parametrize("scores, size", [(None, (800, 600)),
                                          ([{"iteration": 20, "inception_score": 8.0,
                                             "fid": 3.0}], (800, 900))])
def test_the_curves_are_written_as_a_png_of_the_figure_s_size(scores, size, tmp_path):
    from PIL import Image
    path = tmp_path / "loss_curves.png"
    plotting.save_loss_curves(rows(0.7, 0.3), path, scores=scores)
    with Image.open(path) as picture:
        assert picture.format == "PNG" and picture.size == size


def test_the_scores_are_drawn_on_two_panels_each_beside_its_real_value():
    """One panel each: on one panel with two axes, a run's first inception score (low on its
    axis) sat on the line of real digits' FID (low on the other) and read as reached."""
    scores = [{"iteration": 40, "inception_score": 3.1, "fid": 45.0}]
    fig = plotting.loss_curves_figure(rows(0.7, 0.3), scores=scores,
                                      real_scores={"inception_score": 9.7, "fid": 6.2})
    ax_is, ax_fid = fig.axes[-2:]
    for ax, label, generated, real in ((ax_is, "inception score", 3.1, 9.7),
                                       (ax_fid, "FID (log scale)", 45.0, 6.2)):
        assert ax.get_ylabel() == label
        assert undecided_lines(ax) == [real]
        solid = [line for line in ax.get_lines() if line.get_linestyle() != ":"]
        assert [list(line.get_ydata()) for line in solid] == [[generated]]
    assert len(fig.axes) == 4                       # the losses, D's outputs, IS, FID
    assert ax_is.get_position().x1 < ax_fid.get_position().x0      # side by side


@pytest.mark.parametrize("fids, real, scale", [([120.0, 25.0, 3.0, 2.6], 1.87, "log"),
                                               ([120.0, 25.0, 0.0], 1.87, "linear"),
                                               ([3.0, 2.6], 0.0, "linear")])
def test_fid_is_drawn_on_a_log_scale_where_every_value_is_above_zero(fids, real, scale):
    """A run's FID falls from about 100 to about 2: on a linear axis its last scores and the
    real digits' lie on one line at the bottom; on a log scale the gap between them shows. A
    FID of 0 (a set scored against itself) keeps the linear axis, which can draw it."""
    scores = [{"iteration": 10 * (i + 1), "inception_score": 9.0, "fid": f}
              for i, f in enumerate(fids)]
    fig = plotting.loss_curves_figure(rows(0.7, 0.3), scores=scores,
                                      real_scores={"inception_score": 9.6, "fid": real})
    ax_is, ax_fid = fig.axes[-2:]
    assert ax_fid.get_yscale() == scale and ax_is.get_yscale() == "linear"
    assert ax_fid.get_ylabel() == ("FID (log scale)" if scale == "log" else "FID")
    low, high = ax_fid.get_ylim()
    assert low <= min(fids + [real]) and high >= max(fids)


@pytest.mark.parametrize("loss", ["gan", "wgan-gp"])
@pytest.mark.slow
def test_rows_read_back_from_the_run_s_files_are_drawn(loss, tmp_path):
    """What the trainer hands over: metrics.csv's and scores.csv's rows as strings, a
    penalty column known on some rows only, the real digits' scores, the run's game."""
    from PIL import Image
    metrics = [{"iteration": str(i + 1), "epoch": "1", "d_loss": f"{1 + 0.01 * i:.4f}",
                "g_loss": "0.5", "d_real": "0.7", "d_fake": "0.3", "d_gen": "0.3",
                "penalty": "" if i < 10 else f"{0.1 * i:.3f}"} for i in range(60)]
    scores = [{"iteration": "30", "epoch": "1", "inception_score": "4.5", "fid": "40.0"},
              {"iteration": "60", "epoch": "2", "inception_score": "6.0", "fid": "20.0"}]
    path = tmp_path / "loss_curves.png"
    plotting.save_loss_curves(metrics, path, scores=scores, loss=loss,
                              real_scores={"inception_score": 9.66, "fid": 0.95})
    with Image.open(path) as picture:
        assert picture.size == (800, 900)


def test_an_output_that_rounds_to_zero_is_written_without_a_sign():
    """D's output above a pair read "-0.00" where it was a little below 0."""
    images = np.random.default_rng(0).uniform(size=(3, 28, 28))
    fig = plotting.gradient_pairs_figure(images, images, d=np.array([-0.001, 0.004, -0.5]))
    said = [t.get_text() for t in fig.axes[0].texts]
    assert said == ["0.00", "0.00", "-0.50"]


def test_a_grid_is_one_grey_channel_with_the_pixels_imsave_writes(tmp_path):
    """save_grid writes the grey bytes matplotlib's imsave(cmap="gray") wrote, in one channel
    (imsave's RGBA PNG held each four times, at twice the file size), in every format but
    WebP, which stores RGB."""
    from matplotlib.image import imsave
    from PIL import Image

    images = np.random.default_rng(0).uniform(-1, 1, (12, 784))
    grid = plotting.make_grid(images, nrow=4).repeat(2, axis=0).repeat(2, axis=1)
    imsave(tmp_path / "imsave.png", grid, cmap="gray", vmin=0.0, vmax=1.0)
    plotting.save_grid(images, tmp_path / "grid.png", nrow=4)
    with Image.open(tmp_path / "grid.png") as ours, Image.open(tmp_path / "imsave.png") as rgba:
        theirs = np.asarray(rgba)
        assert ours.mode == "L" and rgba.mode == "RGBA" and (theirs[..., 3] == 255).all()
        for channel in range(3):
            np.testing.assert_array_equal(np.asarray(ours), theirs[..., channel])
    for fmt in plotting.GRID_FORMATS:
        plotting.save_grid(images, tmp_path / f"grid.{fmt}", nrow=4)
        with Image.open(tmp_path / f"grid.{fmt}") as picture:
            assert picture.size == (grid.shape[1], grid.shape[0])
            assert picture.mode == ("RGB" if fmt == "webp" else "L")


def test_losses_near_the_largest_float_are_drawn(tmp_path):
    """A metrics.csv holding losses of -1e308 and 1e308 (accepted: finite) stopped the resumed
    run in matplotlib ("arange: cannot compute length"), after NumPy's overflow warnings."""
    import warnings

    metrics = rows(0.7, 0.3)
    metrics[3] = {**metrics[3], "d_loss": 1e308}
    metrics[4] = {**metrics[4], "g_loss": -1e308}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plotting.save_loss_curves(metrics, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
