"""The training loop behind ``python -m minigan train``.

>>> from minigan.app.trainer import train
>>> train({"model": "vanilla", "epochs": 5, "split": "test",            # doctest: +SKIP
...        "data_dir": "data/mnist", "out": "runs/vanilla"})
>>> train({"resume": "runs/vanilla", "epochs": 10})                      # doctest: +SKIP

A run folder holds::

    config.json           the settings of the run
    metrics.csv           one row per iteration: iteration, epoch, d_loss, g_loss,
                          d_real (mean D(x)), d_fake (mean D(G(z)) in the D step),
                          d_gen (mean D(G(z)) in the G step), penalty (D's R1 or
                          gradient penalty, 0 without one), seconds (training time)
    samples/epoch_0000.png  the generator before training, then a grid after each epoch
    samples/epoch_0001.png  (where an epoch is under GRID_ITERATIONS iterations, after every
                          few, and after each epoch that writes a checkpoint or a score),
                          always from the SAME noise batch, drawn once at the start
                          (a conditional run: 10 rows, one per digit 0-9, the digit
                          written left of its row; with --ema the grids show the
                          moving average of G's weights)
    loss_curves.png       losses and D's outputs against the iteration (and the scores),
                          drawn after an epoch at most every CURVES_EVERY seconds (the
                          first that long into the run), after each scored one, after
                          the last, on Ctrl-C and when the run diverges
    checkpoint.npz        everything needed to continue (see minigan.app.checkpoint),
                          written after the first epoch, after each scored one, after
                          the last, on Ctrl-C, and between them after an epoch at most
                          every CHECKPOINT_EVERY seconds
    scores.csv            with ``eval_every`` (``--eval-every N``): every N epochs, the
                          lab's scores of ``eval_n`` generated digits, at most as many
                          as the real held-out digits (inception score, FID, classes
                          covered, confident share, precision, recall, density, coverage,
                          a conditional run's label agreement; see minigan.lab.scoring),
                          beside the real held-out digits' row

The settings of a run and the rules of resuming live in :mod:`minigan.app.runs`
(``resolve_config`` is re-exported here); :class:`Trainer` builds, loops over
the epochs and saves.

All randomness flows from ``seed`` through four host generators spawned from
one ``numpy.random.SeedSequence``: the weight initialization, the noise z,
the shuffling of the data (one permutation per epoch) and the fixed noise
batch of the sample grids; the library's default generator (used by layers
built without one, e.g. Dropout) is seeded from it too. Streams of their own,
keyed by the seed, draw k-means's seeds of a self-conditioned run
(``groups_rng``), the noise of each score and of the moving average's batch
norm statistics; the checkpoint keeps the groups found.

Exact resume: the checkpoint holds the parameters, BatchNorm buffers, both
optimizers' states, the states of the noise, shuffle and library generators,
the fixed noise batch, the counters and, when a run was stopped in the middle
of an epoch, that epoch's permutation and how far into it the run got. So on
the CPU, 2 epochs in one go and 1 epoch + resume + 1 epoch give the same
parameters, optimizer states and metrics, bit for bit; a run stopped with
Ctrl-C in the middle of an epoch continues from the very next minibatch.
(Bit for bit needs the same machine and BLAS thread count: OpenBLAS adds up a
matrix product in another order when ``OPENBLAS_NUM_THREADS`` differs. A GPU
run resumed on the CPU, or the other way round, continues, but not exactly. With
instance noise, annealed over the run's ``epochs``, it needs the same ``epochs``
in both runs.)
Ctrl-C (or SIGTERM, what ``kill`` and batch schedulers send, or SIGHUP, a terminal
that closed, unless ``nohup`` ignores it) lets the current
iteration finish, saves, and raises :class:`Interrupted`; a second one stops
at once without saving (the last checkpoint written stays whole). A run killed
outright (``kill -9``, a power cut) loses what it did since its last checkpoint, at
most about :data:`CHECKPOINT_EVERY` seconds and an epoch: ``--resume`` trains it
again, to the same numbers. A run killed before its first checkpoint is started over from its
``config.json`` by ``--resume``. Stale temporary files of a killed save are
removed, and a ``metrics.csv`` line torn by a kill is dropped, when a run
starts or resumes; a run resumed in its own folder drops the ``metrics.csv`` rows,
epoch grids and ``scores.csv`` rows after its checkpoint. The losses are checked every
iteration: the first NaN or infinity stops the run (:class:`Diverged`) and the last good
checkpoint stays.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import shlex
import signal
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from minigan import backend, gan
from minigan.data import (
    MNIST_FILES,
    ImageSizeError,
    MNISTDownloadError,
    MNISTError,
    default_data_dir,
    load_mnist,
)
from minigan.data.paths import user_path
from minigan.gan import clusters, conditional, loop, models, monitor
from minigan.gan.ema import EMA
from minigan.nn import layers, optim

from . import checkpoint, plotting, settings
from .fileio import atomic_write, read_bytes_at_most, remove_stale_temps, write_text
from .folderlock import LOCK_FILE, FolderInUse, FolderLock, check_not_in_use
from .runlog import (
    METRICS_COLUMNS,
    SCORE_COLUMNS,
    MetricsLog,
    RunFileError,
    penalty_of,
    read_scores,
    write_scores,
)
from .runs import (
    CHECKPOINT,
    CONFIG,
    DEFAULTS,
    LOSS_CURVES,
    OWN_DATA_VERDICT,
    SAMPLES,
    check_out,
    classes_said,
    classifier_caveat,
    default_outs,
    epoch_grids,
    eval_every_data_dir,
    grid_name,
    mnist_split,
    own_data_caveat,
    resolve_config,
    saved_config,
)
from .signals import stop_requests

__all__ = ["DEFAULTS", "Diverged", "Interrupted", "RunError", "Trainer", "resolve_config",
           "train", "METRICS_COLUMNS", "SCORE_COLUMNS", "CURVES_EVERY", "CHECKPOINT_EVERY",
           "GRID_ITERATIONS"]

#: Default run folders (``runs/<model>-<date>-<time>``, ``-2``, ...) a run tries in turn
#: where other runs started in the same second took the earlier ones, before it gives up.
MAX_DEFAULT_FOLDERS = 100

#: Seconds of wall time between two drawings of ``loss_curves.png`` at the end of an epoch,
#: the first that long after the run starts (it is drawn after each scored epoch, after the
#: last and on a stop too): drawing them takes a quarter to half a second (matplotlib's
#: figure, whatever the number of rows), which a run of a hundred short epochs would pay a
#: hundred times.
CURVES_EVERY = 30.0
#: Seconds of wall time between two checkpoints at the end of an epoch (one is written after
#: the first epoch, after each scored one, after the last and on a stop): the default run's
#: checkpoint is 16 MB and takes about 60 ms to write and fsync, and its epochs of the
#: test split take under 2 s, so a checkpoint after every epoch would write about 3 GB in a
#: five-minute run and cost it about 10 s. A kill that gives no warning loses the training
#: since the last checkpoint, which ``--resume`` does again, to the same numbers.
CHECKPOINT_EVERY = 30.0
#: The iterations between two of the regular sample grids, at the least: an epoch of fewer
#: draws its grid every ``ceil(GRID_ITERATIONS / iterations per epoch)`` epochs (and after
#: each epoch that writes a checkpoint or a score, the last among them). MNIST's test split
#: has 39 iterations an epoch at batches of 256 and 31 at 64 with WGAN-GP's 5 D steps: a
#: grid each epoch (15 at 128 with 5 D steps: every second). A
#: grid takes about one of the default's iterations; the default run's 14,040 iterations on
#: 600 images of one's own are 3,510 epochs of 4, whose grids added about a quarter to the
#: training time, and 175 MB, where each epoch drew one.
GRID_ITERATIONS = 25
#: Seconds between two progress lines where stderr is not a terminal (a log file, a pipe):
#: there a redrawn bar leaves every state it drew, thousands of them on one line.
PROGRESS_LINE_EVERY = 30.0
#: The largest epoch grid a run continued in a new folder copies from the old one (a grid of
#: 10,000 digits, the most a run draws, is a few megabytes).
MAX_GRID_BYTES = 64 << 20

#: The moving average's batch norm statistics are estimated on noise seeded by
#: ``[seed, iteration, STATISTICS_STREAM]``: a stream no other draw of a run uses.
STATISTICS_STREAM = 2
#: ``[seed, 0, GROUPS_STREAM]``: k-means's seeds of a self-conditioned run (``--clusters``),
#: a stream no other draw of a run uses (the scores' are ``[seed, epoch]``).
GROUPS_STREAM = 3


def groups_rng(seed):
    """The generator of k-means's seeds of a run with this seed (``--clusters``)."""
    return np.random.default_rng([int(seed), 0, GROUPS_STREAM])


class RunError(RuntimeError):
    """A run stopped on a problem met while training (a full disk, divergence).

    The message says what happened, which checkpoint is the last good one and what to do.
    """


class Diverged(RunError):
    """The losses became NaN or infinite; nothing after the last good checkpoint was saved."""


class Interrupted(Exception):
    """Training was stopped with Ctrl-C (SIGINT), SIGTERM or SIGHUP.

    Attributes
    ----------
    checkpoint : pathlib.Path or None
        The checkpoint to resume from (None if nothing was saved yet).
    saved : bool
        Whether the state at the moment of the interrupt was saved (False
        after a second Ctrl-C that came before it was: the checkpoint is then the last one
        written, which may be several epochs back; see :data:`CHECKPOINT_EVERY`).
    epoch, iteration : int
        Completed epochs and iterations in that checkpoint.
    step_in_epoch : int
        Iterations done in the unfinished epoch that follows.
    signum : int
        The signal that stopped it: ``signal.SIGINT`` (Ctrl-C), ``signal.SIGTERM`` or
        ``signal.SIGHUP``.
    """

    def __init__(self, checkpoint, saved, epoch, iteration, step_in_epoch=0,
                 signum=signal.SIGINT):
        self.checkpoint, self.saved = checkpoint, saved
        self.epoch, self.iteration, self.step_in_epoch = epoch, iteration, step_in_epoch
        self.signum = signum
        where = f"{plural(epoch, 'epoch')} done"
        if step_in_epoch:
            where += f" and {plural(step_in_epoch, 'iteration')} into epoch {epoch + 1}"
        super().__init__(f"iteration {iteration} ({where})")


def _fewer_groups(most):
    """The advice for data that make at most ``most`` groups: a ``--clusters`` of 2 or more,
    else 0 (off); 1 group is refused (it tells G nothing)."""
    return (f"use --clusters {most} or less" if most >= 2 else
            "use --clusters 0 (self-conditioning off: one group tells G nothing)")


def plural(n, word):
    """``"1 epoch"``, ``"2 epochs"``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _minutes(seconds):
    """``"42 s"``, ``"9 min 10 s"``."""
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60} s" if whole >= 60 else f"{whole} s"


def _training_time(seconds, iterations):
    """``"5 min 16 s of training, 22.5 ms an iteration"``: a run's training time (the
    ``seconds`` of its ``metrics.csv``, every resumed part's together) and its mean
    iteration."""
    said = _minutes(seconds) if round(seconds) >= 60 else f"{seconds:.1f} s"
    if iterations:
        said += f" of training, {1e3 * seconds / iterations:.1f} ms an iteration"
    else:
        said += " of training"
    return said


# ---------------------------------------------------------------- the trainer


class Trainer:
    """Everything a run needs, checked and built before anything is written.

    ``Trainer(options)`` builds: it resolves the settings
    (:func:`minigan.app.runs.resolve_config`, with ``typed``: options chosen one by one, as
    the command line's), selects the device, loads the data,
    builds the models and optimizers and restores the checkpoint when
    resuming; any problem raises here (``ValueError``, ``OSError``,
    :class:`minigan.data.DataError`, :class:`minigan.backend.BackendError`)
    and nothing is written. :meth:`run` then loops over the epochs, draws their grids
    and writes a checkpoint when one is due (:data:`GRID_ITERATIONS`,
    :data:`CHECKPOINT_EVERY`).
    """

    def __init__(self, options, typed=False):
        config, ckpt = resolve_config(options, typed)
        self.config = config
        self.quiet = bool(config["quiet"])
        self.spec = models.MODELS[config["model"]]
        self.device = backend.use(config["device"])
        self.dtype = np.dtype(config["dtype"])

        # a run not given --out: the first free default folder now, and the next ones should
        # another run take it before this one makes it (_lock); one given --out: that folder
        self._free_outs = None if config["out"] else default_outs(config["model"])
        self.out = user_path(config["out"]) if config["out"] else next(self._free_outs)
        config["out"] = str(self.out)
        # the run continued (its checkpoint) or started over (its folder), if any
        resumed = config.get("resume") if ckpt is not None else config.get("restart")
        here = self.out / CHECKPOINT if ckpt is not None else self.out
        self.resuming_here = resumed is not None and here.resolve() == Path(resumed).resolve()
        check_not_in_use(self.out)        # another process writes there: say which, now
        check_out(self.out, self.resuming_here)

        self.reference = self.real_scores = None
        self._load_data()
        self._build(ckpt)
        if ckpt is not None and self.epoch >= int(config["epochs"]):
            full = self.spec.epochs_for(self.iters_per_epoch)
            raise ValueError(
                f"--resume {config['resume']}: that run has already done "
                f"{plural(self.epoch, 'epoch')}; --epochs is the total to reach, so pass more "
                f"than {self.epoch}" + (f" (the model's default length here: --epochs {full}, "
                                       f"{full * self.iters_per_epoch:,} iterations)"
                                       if full > self.epoch else "")
            )
        self.log = MetricsLog(self.out / "metrics.csv", self.iteration)
        # a run folder's checkpoint continued in another folder: its history comes along
        self.branched_from = Path(resumed).parent if self._continued() and \
            Path(resumed).name == CHECKPOINT else None
        if self.branched_from is not None:
            self.log.carry(self._history_rows())
        elif ckpt is not None:
            self._check_history_kept()
        self._watch = None
        self._load_reference()
        self._prepare_scores()

    def _check_history_kept(self):
        """A resumed run's ``metrics.csv`` with no row at all where the run trained to its
        checkpoint in this folder (the file empty, as a failed copy leaves it, or epoch grids
        up to the checkpoint's epoch beside it): a RunFileError, where the run went on and
        the rows up to the checkpoint were gone for good. A run continued here from a
        checkpoint kept elsewhere and stopped at once leaves a file of the header alone."""
        path = self.out / "metrics.csv"
        if not self.iteration or self.log.rows or not path.is_file():
            return
        grids = [epoch for epoch, _ in epoch_grids(self.out)     # epoch 0's: drawn before
                 if 1 <= epoch <= self.epoch]                   # any training
        empty = not path.stat().st_size
        if not empty and not grids:
            return
        said = ("is empty" if empty else
                f"holds no row, but epoch grids up to epoch {max(grids)} beside it say the run "
                "trained here")
        raise RunFileError(f"{path} {said}: the rows up to the checkpoint's iteration "
                           f"{self.iteration:,} are lost",
                           "put the whole file back, or move it out of the run folder (the run "
                           "then goes on with a metrics.csv that starts after the checkpoint)")

    # -- build ----------------------------------------------------------
    def _load_data(self):
        c = self.config
        data_dir = c["data_dir"]
        if c["files"] is not None and c["split"] not in c["files"]:
            has = sorted(c["files"])
            raise ValueError(
                f"files has no {c['split']} split (it has {' and '.join(has)}): train on "
                f"split {has[0]!r} (--split {has[0]}), or give files a {c['split']!r} entry"
            )
        if c.get("conditional") and c["files"] is not None \
                and "labels" not in c["files"][c["split"]]:
            raise ValueError(
                f"--conditional trains on the images' labels, but files gives no labels file for "
                f"the {c['split']} split: give --labels FILE beside --images (from Python, "
                f"files[{c['split']!r}]['labels'] = [NAME, MD5]), a file of the classes 0 to "
                f"{conditional.CLASSES - 1}, or train without --conditional")
        if data_dir is not None and not user_path(data_dir).is_dir():
            if c.get("resume") or c.get("restart"):      # given, or the run's own
                raise ValueError(
                    f"the data folder {data_dir} is not a folder (--data-dir as given, else the "
                    "run's own, moved or removed since it trained on it); give the folder that "
                    "holds the run's files with --data-dir, which a resumed run may change")
            raise ValueError(
                f"--data-dir {data_dir} is not a folder; give the folder that holds the "
                + ("MNIST files (or leave --data-dir out to use the download cache)"
                   if c["files"] is None else "files of the files setting")
            )
        folder = default_data_dir() if data_dir is None else user_path(data_dir)
        files = c["files"]
        if files is not None and not c.get("conditional"):   # a GAN without labels: unread
            files = {c["split"]: {"images": files[c["split"]]["images"]}}
        names = [name for name, _ in (files or MNIST_FILES)[c["split"]].values()]
        before = _file_stamps(folder, names)
        shape = self.spec.image_shape          # (1, 28, 28), or flat rows of square images
        side = math.isqrt(math.prod(shape))
        size = tuple(shape[-2:]) if len(shape) == 3 else (side, side) \
            if side * side == math.prod(shape) else None
        try:
            images, labels = load_mnist(c["split"], data_dir=data_dir, scale=self.spec.scale,
                                        download=c["download"], files=files,
                                        progress=not self.quiet,
                                        classes=conditional.CLASSES if c.get("conditional") else None,
                                        image_size=size)
        except ImageSizeError as exc:          # 14 x 56 images would pass as 28 x 28 rows
            h, w = exc.size
            raise ValueError(
                f"model {c['model']} takes {size[0]} x {size[1]} images, but the {c['split']} "
                f"images are {h} x {w} ({names[0]}); the built-in models draw 28 x 28 images: "
                "crop or pad yours to 28 x 28, or train G and D of your own layers for another "
                "size (minigan.gan.GAN)") from None
        except MNISTDownloadError as exc:      # the folder holds the other split: said first
            if exc.other_split is None:
                raise
            wanted = (exc.reason if exc.cause is None else
                      f"for the {c['split']} split, put its files in {folder} or give --data-dir "
                      f"a folder that has them ({exc.cause})")
            raise MNISTDownloadError(
                f"{folder} holds the {exc.other_split} split, not the {c['split']} split: to "
                f"train on it, add --split {exc.other_split}; {wanted}") from None
        except MNISTError as exc:              # a resumed run's own file, changed since
            changed = getattr(exc, "changed", None)
            if changed is None or c.get("resume") is None:
                raise
            path, _, got = changed
            own = c["files"][c["split"]] if c.get("files") else None
            again = ("" if own is None else " (minigan train --images " + " --labels ".join(
                shlex.quote(str(folder / own[kind][0])) for kind in ("images", "labels")
                if kind in own) + (" --conditional" if c.get("conditional") else "") + " ...)")
            raise MNISTError(
                f"--resume: {path} changed since the run began (md5 {got}, not the one its "
                "config.json gives): a resumed run trains on the data it began with; put "
                f"that file back, or train a new run on the files as they are now{again}"
            ) from None
        # what the run used, recorded in config.json beside what was asked
        self.used = {"device": self.device, "data_dir": str(folder.resolve()),
                     "download": _file_stamps(folder, names) != before}
        n, b, k = len(images), int(c["batch_size"]), int(c["k"])
        if b < 1 or k < 1:
            raise ValueError(f"batch size and k must be >= 1, got {b} and {k}")
        statistics = settings.batch_statistics(c)
        if statistics and n < 2:          # --batch-size 1 would be refused in turn
            verb = "need" if len(statistics) > 1 else "needs"
            raise ValueError(f"{self._images_said()} has {n} image, and "
                             f"{' and '.join(statistics)} {verb} batches of 2 or more: train "
                             "on 2 or more images, or on a model without it (--model vanilla, "
                             "without --minibatch, trains on batches of 1)")
        if b * k > n:
            fix = (f"--batch-size {n // k} or less" if n >= k else
                   f"--k {n // b} or less" if n >= b else f"--batch-size {n} and --k 1")
            raise ValueError(
                f"batch size {b} x k={k} needs {b * k} images per iteration but "
                f"{self._images_said()} has {n}; use {fix}"
            )
        shape = self.spec.image_shape
        if math.prod(shape) != images.shape[1]:
            raise ValueError(
                f"model {c['model']} takes images of shape {shape}, but the data has "
                f"{images.shape[1]} pixels per image; the built-in models draw 28 x 28 images: "
                "crop or pad yours to 28 x 28, or train G and D of your own layers for another "
                "size (minigan.gan.GAN)"
            )
        # The whole data set is checked once here (one min and one max: NaN propagates
        # into both), so GAN.train_iteration need not check every batch again.
        low, high = self.spec.pixel_range
        lo, hi = float(images.min()), float(images.max())
        if not (low <= lo and hi <= high):
            raise ValueError(
                f"the images of {self._images_said()} have pixels in [{lo:g}, {hi:g}]; model "
                f"{c['model']} needs them in [{low:g}, {high:g}]"
            )
        groups = int(c.get("clusters") or 0)
        if groups > n:
            raise ValueError(f"--clusters {groups}: {self._images_said()} has "
                             f"{n:,} image{'s' * (n != 1)}, fewer than the groups; "
                             f"{_fewer_groups(n)}")
        self.classes_present = None          # every class (MNIST's ten digits)
        if c.get("conditional") and c.get("files") is not None:
            present = np.unique(labels).tolist()           # sorted, each class once
            missing = sorted(set(range(conditional.CLASSES)) - set(present))
            if missing:          # its one-hot rows are the ten digits', whatever the data
                self.classes_present = present   # the fake batches draw these labels alone
                warnings.warn(
                    f"--conditional: the labels of {names[1]} hold none of the "
                    f"{'class' if len(missing) == 1 else 'classes'} {classes_said(missing)} of a "
                    f"conditional GAN's {conditional.CLASSES} (0 to {conditional.CLASSES - 1}): "
                    "training draws its fakes' labels from the classes the data holds, and the "
                    "rows of the epoch grids for the others draw what G makes of a label it "
                    "never saw (minigan sample draws the classes the data holds)", stacklevel=2)
        self.n_images = n
        self.iters_per_epoch = n // (b * k)
        if c["epochs"] is None:   # the model's length in iterations, in whole epochs of this data
            c["epochs"] = self.spec.epochs_for(self.iters_per_epoch)
        self.X = backend.asarray(images.reshape((n,) + tuple(shape)), dtype=self.dtype)
        # a conditional run's real batches carry their labels (minigan.gan.conditional)
        self.Y = backend.asarray(labels) if c.get("conditional") else None

    def _build(self, ckpt):
        c = self.config
        init_ss, noise_ss, shuffle_ss, fixed_ss, library_ss = np.random.SeedSequence(
            int(c["seed"])).spawn(5)
        init_rng = np.random.default_rng(init_ss)
        self.G, self.D = models.build(c["model"], init_rng, self.dtype, **models.remedies(c))
        if c["spectral_norm"]:   # u drawn after the weights: the weights stay the same
            layers.spectral_norm(self.D, rng=init_rng)
        gan.algorithm.check_penalized_critic(   # before the groups' k-means: refused at once
            self.D, gan.games.get(c["loss"], c["g_loss"]), c.get("r1"))
        if c.get("clusters"):    # before the average copies G: its cuts are G's
            self._find_groups(ckpt)
        betas = tuple(c["betas"])
        self.g_opt = optim.Adam(self.G, lr=c["lr"], betas=betas)
        self.d_opt = optim.Adam(self.D, lr=c["lr"], betas=betas)
        self.ema = EMA(self.G, c["ema"]) if c.get("ema") is not None else None
        self._ema_statistics_at = None   # the iteration the average's statistics are of
        game = conditional.ConditionalGAN if c.get("conditional") else gan.GAN
        self.gan = game(self.G, self.D, self.g_opt, self.d_opt, self.spec.noise_dim,
                        k=c["k"], g_loss=c["g_loss"], label_smoothing=c["label_smoothing"],
                        prior=c["prior"], rng=np.random.default_rng(noise_ss),
                        check_data=False,  # the data set was checked whole, at load
                        label_flip=c["label_flip"], instance_noise=c["instance_noise"],
                        loss=c["loss"], gp_weight=c["gp_weight"],
                        reuse_fake=c.get("g_batch") == "reuse", r1=c.get("r1") or 0.0)
        if self.classes_present is not None:     # a data set of one's own without some classes
            self.gan.drawn_classes = self.classes_present
        self.shuffle_rng = np.random.default_rng(shuffle_ss)
        self.library_rng = backend.seed(library_ss)
        self.fixed_z = backend.to_host(gan.sample_noise(
            int(c["n_samples"]), self.spec.noise_dim, c["prior"],
            np.random.default_rng(fixed_ss), self.dtype))
        if c.get("clusters"):      # the grid in the order of the groups G draws
            self.fixed_z = self.fixed_z[np.argsort(self.fixed_z[:, 0], kind="stable")]
        if c.get("conditional"):   # the grid: one row per digit, 0 to 9, 10 samples each
            self.fixed_z = backend.to_host(conditional.labelled_noise(
                gan.sample_noise(10 * conditional.CLASSES, self.spec.noise_dim, c["prior"],
                                 np.random.default_rng(fixed_ss), self.dtype),
                conditional.digit_rows(10)))
        self.epoch = 0            # completed epochs
        self.iteration = 0        # completed iterations
        self.step_in_epoch = 0    # iterations done in the current (unfinished) epoch
        self.perm = None          # the current epoch's permutation, once drawn
        self.seconds = 0.0        # training time so far
        self._curves_at = None        # when loss_curves.png was last drawn (perf_counter)
        self._saved_at = -math.inf    # when the last checkpoint was written (perf_counter)
        if ckpt is not None:
            self._restore(ckpt)

    def _find_groups(self, ckpt):
        """Self-conditioning (:mod:`minigan.gan.clusters`): each training image's group, the
        checkpoint's or found by k-means on the pixels (seeded by the run: the same groups
        every time), as the label of its real batches; G draws each group in its share."""
        c, n = self.config, self.n_images
        k = int(c["clusters"])
        groups = None if ckpt is None else ckpt["extra"].get("clusters")
        if groups is None:
            self._load_reference()     # a missing test split said before the minutes of k-means
            self._log(f"grouping the {n:,} images of {self._images_said()} into {k} groups "
                      "(k-means, --clusters)")
            with self._grouping_bar() as progress:
                centres, groups = clusters.kmeans(backend.to_host(self.X).reshape(n, -1), k,
                                                  groups_rng(c["seed"]), progress=progress)
            different = len(np.unique(centres, axis=0))
            if different < k:     # fewer different images than groups: groups of copies
                self._warn(f"--clusters {k}: the {n:,} image{'s' * (n != 1)} of "
                           f"{self._images_said()} make only {plural(different, 'different group')} "
                           f"(the others hold copies of the same images); "
                           f"{_fewer_groups(different)}")
        else:
            groups = np.asarray(groups)
            if groups.ndim != 1:
                raise checkpoint.not_of_this_run(
                    ckpt["path"], f"its groups (clusters) should be one per training image, "
                                  f"got an array of shape {groups.shape}")
            if len(groups) != n:
                raise ValueError(f"checkpoint {ckpt['path']} grouped {len(groups)} images, but "
                                 f"{self._images_said()} has {n}; point --data-dir at the data "
                                 "it was trained on")
            if groups.min() < 0 or groups.max() >= k:   # integers: checkpoint._EXTRA_KINDS
                raise checkpoint.not_of_this_run(
                    ckpt["path"], f"its groups (clusters) should be integers in [0, {k})")
        self.groups = groups.astype(np.int64)
        self.Y = backend.asarray(self.groups)
        clusters.self_condition(self.G, self.groups, c["prior"])
        self.cuts = backend.to_host(self.G.cuts).copy()   # what a checkpoint's G must hold

    @contextlib.contextmanager
    def _grouping_bar(self):
        """k-means' progress where someone waits at a terminal (the 60,000 training images
        take half a minute): a bar of Lloyd's iterations, at most
        :data:`~minigan.gan.clusters.KMEANS_ITERATIONS` (it ends sooner, when no image changes
        group), with the images the last one moved; gone when the groups are found. Yields
        the ``progress`` callable for :func:`~minigan.gan.clusters.kmeans`, or None (``--quiet``,
        a log or a pipe: the line before says what is under way)."""
        if self.quiet or not on_a_terminal(sys.stderr):
            yield None
            return
        from tqdm import tqdm

        # no share or time left: the iterations end when no image changes group, mostly
        # well before the limit
        with tqdm(total=clusters.KMEANS_ITERATIONS, desc="k-means", leave=False,
                  bar_format="{desc}: iteration {n_fmt} (at most {total_fmt}), {elapsed} "
                             "elapsed{postfix}") as bar:
            def progress(restart, iteration, moved):
                bar.set_postfix_str(f"{plural(moved, 'image')} changed group", refresh=False)
                bar.update(iteration - bar.n)
            yield progress

    def _rngs(self):
        return {"noise": self.gan.rng, "shuffle": self.shuffle_rng, "library": self.library_rng}

    def _restore(self, ckpt):
        """Put the checkpoint's state into the run, every value checked against it: a
        damaged or hand-made checkpoint is refused in one line naming the file and what is
        wrong, before anything is written."""
        checkpoint.restore(ckpt, generator=self.G, discriminator=self.D, g_opt=self.g_opt,
                           d_opt=self.d_opt, model=self.config["model"], g_ema=self.ema,
                           rngs=self._rngs())
        path, extra, counters = ckpt["path"], ckpt["extra"], ckpt["counters"]

        def bad(what):
            return checkpoint.not_of_this_run(path, what)

        def number(name, value):
            """``value`` as a float if it is a finite number >= 0 (not a bool), else refused."""
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not (math.isfinite(value) and value >= 0):
                raise bad(f"{name} should be a number >= 0, got {str(value)[:40]!r}")
            return float(value)

        if self.config.get("clusters"):     # G draws the groups in the shares it saved
            for name, gen in (("G", self.G), ("G_ema", None if self.ema is None
                                                 else self.ema.generator)):
                if gen is not None and not np.allclose(backend.to_host(gen.cuts), self.cuts,
                                                       rtol=1e-5, atol=1e-6):
                    raise bad(f"{name}'s label_cuts do not draw its saved groups in their "
                              "shares")
        self.epoch, self.iteration = int(counters["epoch"]), int(counters["iteration"])
        step, seconds = extra.get("step_in_epoch"), extra.get("seconds")
        if isinstance(step, bool) or not isinstance(step, int) \
                or not 0 <= step < self.iters_per_epoch:
            raise bad(f"step_in_epoch should be a count below the {self.iters_per_epoch} "
                      f"iterations of an epoch, got {str(step)[:40]!r}")
        seconds = number("seconds", seconds)
        if self.iteration != self.epoch * self.iters_per_epoch + step:
            raise bad(f"its counters disagree: iteration {self.iteration} is not epoch "
                      f"{self.epoch} x {self.iters_per_epoch} iterations + {step}")
        self.step_in_epoch, self.seconds = step, seconds
        self.fixed_z = np.asarray(extra.get("fixed_z", self.fixed_z))
        self.perm = np.asarray(extra["perm"]) if "perm" in extra else None
        if self.perm is None and step:
            raise bad(f"it stopped {step} iterations into an epoch but holds no order of "
                      "that epoch's images (perm)")
        if self.perm is not None and len(self.perm) != self.n_images:
            raise ValueError(
                f"checkpoint {path} was stopped in the middle of an epoch over {len(self.perm)} "
                f"images, but the {self.config['split']} data has {self.n_images}; point "
                "--data-dir at the data it was trained on"
            )
        if self.perm is not None and not np.array_equal(np.sort(self.perm),
                                                        np.arange(self.n_images)):
            raise bad("its order of the epoch's images (perm) is not an order of them")
        if self.ema is not None and extra.get("ema_updates") is None:   # restore() took it
            raise bad("it holds no count of the moving average's updates (ema_updates)")
        if self.gan.r1 and "r1_last" in extra:   # R1's last value, reported until taken again
            self.gan.last_r1 = number("r1_last", extra["r1_last"])

    # -- loop -----------------------------------------------------------
    def run(self):
        """Train up to ``config["epochs"]`` epochs; return a summary dict.

        Each epoch is trained (:meth:`_train_epoch`), then saved
        (:meth:`_end_epoch`). Raises :class:`Interrupted` on Ctrl-C, SIGTERM or SIGHUP,
        after saving (:meth:`_save_and_stop`; see the module notes),
        :class:`Diverged` when the losses stop being finite and
        :class:`RunError` when a file cannot be written.
        """
        epoch_seconds = []
        with stop_requests() as stop, self._lock(), self._progress_bar():
            try:
                self._prepare_out()
                self._log_start()
                self._curves_at = time.perf_counter()   # the first drawing CURVES_EVERY s in
                while self.epoch < int(self.config["epochs"]):
                    elapsed = self._train_epoch(stop)
                    if stop.requested:
                        self._save_and_stop(stop.signum)
                    epoch_seconds.append(elapsed)
                    self._end_epoch()
            except KeyboardInterrupt:  # a second signal: stop at once, without saving
                raise self._interrupted_unsaved(stop.signum) from None
            except Diverged:
                self._draw_what_led_there()
                raise
            except OSError as exc:  # a full disk, a folder made read-only
                raise RunError(self._cannot_write(exc)) from None
            finally:
                self.log.close()
        self._log(f"done: {plural(self.epoch, 'epoch')}, {plural(self.iteration, 'iteration')} in "
                  f"{_training_time(self.seconds, self.iteration)}; samples in "
                  f"{self.out / SAMPLES}, checkpoint {self.out / CHECKPOINT}")
        return {"out": self.out, "epoch": self.epoch, "iteration": self.iteration,
                "epoch_seconds": epoch_seconds, "rows": self.log.rows}

    def _train_epoch(self, stop):
        """Iterations of the current epoch until it ends or ``stop.requested``; its seconds.

        The iterations are :func:`minigan.gan.loop.train`'s, which checks that every
        iteration's losses are finite: the first that is not stops the run
        (:class:`Diverged`) before anything of that iteration is saved.
        """
        if self.perm is None:
            self.perm = self.shuffle_rng.permutation(self.n_images)
            self.step_in_epoch = 0
        next_batch = self._next_batch_fn()
        bar = self._bar
        bar.set_description(f"epoch {self.epoch + 1}/{self.config['epochs']}", refresh=False)
        start = time.perf_counter()

        def after(iteration, stats):
            row = {"iteration": iteration, "epoch": self.epoch + 1,
                   "seconds": round(self.seconds + time.perf_counter() - start, 3),
                   **{k: stats[k] for k in METRICS_COLUMNS[2:7]},
                   "penalty": penalty_of(stats)}
            self.step_in_epoch += 1
            self.iteration += 1
            self.log.append(row)
            _show(bar, stats)
            self._watch_the_game(iteration, stats)

        if not stop.requested:
            try:
                loop.train(self.gan, next_batch, self.iters_per_epoch - self.step_in_epoch,
                           done=self.iteration,
                           total=int(self.config["epochs"]) * self.iters_per_epoch,
                           ema=self.ema, on_iteration=after, stop=lambda: stop.requested)
            except loop.Diverged as exc:
                raise Diverged(self._diverged(exc)) from None
        elapsed = time.perf_counter() - start
        self.seconds += elapsed
        return elapsed

    def _watch_the_game(self, iteration, stats):
        """Say when the game stops (D certain on both batches for a long stretch) and when
        it resumes; the run goes on either way (:mod:`minigan.gan.monitor`)."""
        if self._watch is None or self._watch.stretch != monitor.STRETCH:
            self._watch = monitor.GameWatch(self.gan.game, monitor.STRETCH)
        event = self._watch.update(iteration, stats)
        if event == "stopped":
            w = self._watch
            self._warn(
                f"the game stopped at iteration {w.since}: for {w.stretch} iterations D has told "
                f"real from fake with certainty (now mean D(x) {stats['d_real']:.3g}, D(G(z)) "
                f"{stats['d_fake']:.3g}; G loss {stats['g_loss']:.4g}), and G learns little from "
                f"so certain a D. The run goes on, since it may recover; if it does not, start "
                f"again with a smaller --lr (now {self.config['lr']:g}), label smoothing or "
                "instance noise")
        elif event == "resumed":
            self._warn(f"the game resumed at iteration {iteration}: D is no longer certain")

    def _warn(self, msg):
        """A ``minigan: warning: ...`` line on stderr, above the progress bar."""
        self._log(f"minigan: warning: {msg}", file=sys.stderr)

    def _next_batch_fn(self):
        """The real minibatches of this epoch, from where it stands, one per call."""
        xp, b = backend.xp(), int(self.config["batch_size"])
        counter = [self.step_in_epoch * self.gan.k]

        def next_real_batch():
            i = counter[0]
            counter[0] += 1
            idx = xp.asarray(self.perm[i * b:(i + 1) * b])
            if self.Y is not None:   # the digits' labels, or the groups of --clusters
                return conditional.with_labels(self.X[idx], self.Y[idx], self.G.classes)
            return self.X[idx]

        return next_real_batch

    @contextlib.contextmanager
    def _progress_bar(self):
        """One bar for the whole run (its iterations, the epoch in its label), which the
        run's lines are printed above; where stderr is not a terminal, a line of the same
        at most every :data:`PROGRESS_LINE_EVERY` seconds instead (:class:`ProgressLines`)."""
        from tqdm import tqdm

        total = int(self.config["epochs"]) * self.iters_per_epoch
        if self.quiet or on_a_terminal(sys.stderr):
            bar = tqdm(total=total, initial=self.iteration, leave=True, dynamic_ncols=True,
                       disable=self.quiet, unit="it")
        else:
            bar = ProgressLines(total, self.iteration)
        with bar:
            self._bar = bar
            try:
                yield bar
            finally:
                self._bar = None

    def _log_start(self):
        c = self.config
        start_at = ""
        if c.get("resume"):
            start_at = f"; resuming at iteration {self.iteration} from {c['resume']}"
        elif c.get("restart"):
            start_at = (f"; {c['restart']} was stopped before its first checkpoint: starting "
                        "it over with its saved settings")
        self._log(
            f"training {c['model']} on {self._data_name()} ({plural(self.n_images, 'image')}, "
            f"{plural(self.iters_per_epoch, 'iteration')}/epoch, {plural(c['epochs'], 'epoch')}) "
            f"on {self.device}; run folder {self.out}{start_at}")

    def _images_said(self):
        """Whose images the run trains on, after "the N images of": "the train split" (of
        MNIST), "images.npy" (of one's own; its file)."""
        c = self.config
        if c.get("files") is None:
            return f"the {c['split']} split"
        return c['files'][c['split']]['images'][0]

    def _data_name(self):
        """What the run trains on, for its first line: "MNIST train", or a data set of one's
        own by its images file ("img.idx, images of your own"; "img.idx, the test split of
        your files" for another split than ``train``, --images's), MNIST's own files given so
        by the split they hold ("t10k-images-idx3-ubyte.gz (MNIST test)")."""
        c = self.config
        if c.get("files") is None:
            return f"MNIST {c['split']}"
        mnist, name = mnist_split(c), self._images_said()        # its images file
        return (f"{name} (MNIST {mnist})" if mnist else
                f"{name}, images of your own" if c["split"] == "train" else
                f"{name}, the {c['split']} split of your files")

    def _log(self, msg, file=None):
        """Print a line (above the progress bar) on ``file``, stdout when None; ``quiet``
        hides only the bar, never where the run is and how it ended."""
        if getattr(self, "_bar", None) is not None and not self.quiet:
            self._bar.write(msg, file=file)
        else:
            print(msg, file=file, flush=True)

    # -- save -----------------------------------------------------------
    def _end_epoch(self):
        """Count the finished epoch; write its sample grid, the loss curves and a checkpoint
        when they are due (:data:`GRID_ITERATIONS`, :data:`CURVES_EVERY`,
        :data:`CHECKPOINT_EVERY`)."""
        self.epoch += 1
        self.perm, self.step_in_epoch = None, 0
        every = int(self.config.get("eval_every") or 0)
        scored = bool(every and self.epoch % every == 0)
        last = self.epoch >= int(self.config["epochs"])
        checkpoint_due = (scored or last or
                          time.perf_counter() - self._saved_at >= CHECKPOINT_EVERY)
        # an epoch that ends with a checkpoint (a run's first, a resumed one's first) draws its
        # grid: the grids show a resume that the run trained here (_check_history_kept,
        # runs._past_first_checkpoint)
        if checkpoint_due or self.epoch % math.ceil(GRID_ITERATIONS / self.iters_per_epoch) == 0:
            self._save_samples()
        if scored:
            self._evaluate()
        if scored or last or time.perf_counter() - self._curves_at >= CURVES_EVERY:
            self._save_loss_curves()
        if checkpoint_due:
            self._save_checkpoint()

    def _save_and_stop(self, signum):
        """First Ctrl-C, SIGTERM or SIGHUP: save where the run stands and raise :class:`Interrupted`."""
        self._save_checkpoint()
        if self.log.rows:
            self._save_loss_curves()
        raise Interrupted(self.out / CHECKPOINT, True, self.epoch, self.iteration,
                          self.step_in_epoch, signum)

    def last_checkpoint(self):
        """``(path, epoch, iteration, step_in_epoch)`` of the checkpoint on disk, or None."""
        path = self.out / CHECKPOINT
        try:
            meta = checkpoint.read_meta(path)
        except (OSError, ValueError):
            return None
        step = meta["extra"].get("step_in_epoch", 0)
        return (path, meta["counters"]["epoch"], meta["counters"]["iteration"],
                step if isinstance(step, int) else 0)

    def how_to_continue(self):
        """The command that goes on from what this run left on disk, ready to paste (the
        folder quoted for the shell when it holds a space or another special character)."""
        resume = f"{settings.program()} train --resume {shlex.quote(str(self.out))}"
        if (self.out / CHECKPOINT).exists():
            return f"continue with: {resume}"
        if not (self.out / CONFIG).exists():
            return "nothing of it was written; run the same command again"
        if self._continued():
            return (f"nothing of the continued run was saved: remove {self.out} and run the "
                    "same command again")
        return f"start it over with: {resume}"

    def _interrupted_unsaved(self, signum):
        """Second signal: :class:`Interrupted` pointing at the last checkpoint written, saved
        when that checkpoint holds where the run stands (the second signal came after the
        first's save, while the loss curves were drawn)."""
        path, epoch, iteration, step_in_epoch = self.last_checkpoint() or (None, 0, 0, 0)
        saved = path is not None and iteration == self.iteration
        return Interrupted(path, saved, epoch, iteration, step_in_epoch, signum)

    def last_good(self):
        """``"the last good checkpoint is PATH (N epochs, iteration I), kept"``, or that none
        was written yet: what a run that cannot go on says it left."""
        last = self.last_checkpoint()
        if last is None:
            return "no checkpoint was written yet"
        path, epoch, iteration, _ = last
        return (f"the last good checkpoint is {path} ({plural(epoch, 'epoch')}, "
                f"iteration {iteration}), kept")

    def _cannot_write(self, exc):
        where = exc.filename or self.out
        reason = exc.strerror or str(exc)
        if not (self.out / CONFIG).exists():
            return (f"cannot write {where}: {reason}; nothing of the run was written; run the "
                    "same command again once that is fixed")
        return f"cannot write {where}: {reason}; {self.last_good()}; {self.how_to_continue()}"

    def _diverged(self, exc):
        """The message of a run stopped by :class:`minigan.gan.loop.Diverged` ``exc``."""
        bad = ", ".join(f"{k}={v}" for k, v in exc.stats.items()
                        if k in METRICS_COLUMNS and not math.isfinite(v))
        c, (low, high) = self.config, self.spec.pixel_range
        noise = float(c.get("instance_noise") or 0)
        wide = "" if noise <= high - low else (     # D's inputs drowned, at least at first
            f" or --instance-noise {noise:g}, noise far wider than the pixels' range on D's "
            "inputs (0.1 is a common start)")
        return (
            f"training diverged at iteration {exc.iteration} (epoch {self.epoch + 1}): {bad}; "
            f"nothing of it was saved and {self.last_good()}. Likely causes: a learning rate "
            f"too large (lr {c['lr']:g}; {c['model']}'s default is {self.spec.lr:g}) or data "
            f"outside the model's pixel range [{low:g}, {high:g}]{wide}; start a new run with "
            f"a smaller --lr{', a smaller --instance-noise' if wide else ''}, or check the data"
        )

    def _save_checkpoint(self):
        extra = {"fixed_z": self.fixed_z, "step_in_epoch": self.step_in_epoch,
                 "seconds": self.seconds}
        if self.perm is not None:
            extra["perm"] = self.perm
        if self.config.get("clusters"):
            extra["clusters"] = self.groups
        if self.gan.r1:
            extra["r1_last"] = self.gan.last_r1
        if self.classes_present is not None:   # what sample, interpolate and eval say of labels
            extra["classes_present"] = self.classes_present
        if self.ema is not None:         # saved with its count of updates (checkpoint)
            self._averaged_generator()   # its own batch norm statistics, saved with it
        self.log.sync()                  # the rows up to it on disk before the checkpoint is
        try:
            checkpoint.save_checkpoint(
                self.out / CHECKPOINT, generator=self.G, discriminator=self.D, g_opt=self.g_opt,
                d_opt=self.d_opt, iteration=self.iteration, epoch=self.epoch,
                rng_states={k: g.bit_generator.state for k, g in self._rngs().items()},
                config=saved_config(self.config), extra=extra, g_ema=self.ema)
        except checkpoint.NotFinite as exc:    # weights gone while the losses stayed finite
            raise Diverged(
                f"training diverged by iteration {self.iteration} (epoch {self.epoch}): "
                f"'{exc.entry}' holds NaN or inf while the losses stayed finite; nothing of "
                f"it was saved and {self.last_good()}. Likely causes: a learning rate too "
                f"large, or an optimizer state out of scale in the checkpoint resumed; start a "
                "new run, or resume an earlier checkpoint") from None
        self._saved_at = time.perf_counter()
        if self._wrote_continued_from:       # its own checkpoint now: no continued_from
            self._write_config(continued=False)

    def _save_samples(self):
        z = backend.asarray(self.fixed_z, dtype=self.dtype)
        path = self.out / SAMPLES / grid_name(self.epoch)
        if self.ema is not None:   # the grids show the moving average of G's weights
            G = self._averaged_generator()
            images = layers.generated_images(G, z)
        else:
            images = self.gan.sample(z=z)
        digits = range(conditional.CLASSES) if self.config.get("conditional") else None
        plotting.save_grid(images, path, value_range=self.spec.pixel_range,   # a row per digit
                           nrow=10 if digits else None, row_labels=digits)
        return path

    def _averaged_generator(self):
        """The moving average of G's weights with batch norm statistics of its own
        (:meth:`minigan.gan.ema.EMA.estimate_statistics`), estimated once per iteration
        asked at, from noise of its own (seeded by the run's seed and the iteration: the
        training draws the same numbers, and a resumed run the same statistics)."""
        if self._ema_statistics_at != self.iteration:
            from minigan.lab.scoring import scoring_noise

            c = self.config
            rng = np.random.default_rng([int(c["seed"]), self.iteration, STATISTICS_STREAM])
            self.ema.estimate_statistics(scoring_noise(self.spec.noise_dim, c["prior"], rng,
                                                       self.dtype, c.get("conditional")))
            self._ema_statistics_at = self.iteration
        return self.ema.generator

    def _draw_what_led_there(self):
        """A diverged run's loss curves, up to its last finite row: a picture of what led
        there (nothing when no row was written, or when the picture cannot be written: the
        error that stopped the run is the one to say)."""
        if self.log.rows:
            with contextlib.suppress(OSError):
                self._save_loss_curves()

    def _save_loss_curves(self):
        self._curves_at = time.perf_counter()
        plotting.save_loss_curves(self.log.rows, self.out / LOSS_CURVES,
                                  scores=self.scores or None, real_scores=self.real_scores,
                                  loss=self.config["loss"])

    # -- scores (--eval-every) ------------------------------------------
    def _load_reference(self):
        """With ``eval_every``: the lab's reference digits and classifier, loaded once, before
        anything is written (a missing test split is bad input): before the groups' k-means
        where one runs (minutes on 60,000 images), else once the model is built, after the
        resume's own checks. Without it nothing is loaded (the settings checked again)."""
        if self.reference is not None:
            return
        every = int(self.config.get("eval_every") or 0)
        self.config["eval_n"] = int(self.config.get("eval_n") or DEFAULTS["eval_n"])
        from minigan.lab.scoring import MIN_DIGITS, Reference

        if every < 0 or self.config["eval_n"] < MIN_DIGITS:
            raise ValueError(f"--eval-every must be >= 0 and --eval-n >= {MIN_DIGITS}, got "
                             f"{every} and {self.config['eval_n']}")
        if every:
            try:
                self.reference = Reference.load(
                    eval_every_data_dir(self.config), download=self.config["download"],
                    trained_on=mnist_split(self.config))
            except MNISTDownloadError as exc:      # say why the test split is wanted
                if self.config.get("files") is not None:   # no --data-dir beside --images
                    own = user_path(self.config["data_dir"] or default_data_dir())
                    raise MNISTDownloadError(
                        f"--eval-every {every} scores against the MNIST test split, which a run "
                        f"on a data set of its own reads from the default folder "
                        f"{default_data_dir()} ($MINIGAN_DATA, else the download cache) unless "
                        f"its files' folder {own} holds it: "
                        f"{exc.cause or exc}; put MNIST's "
                        "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in either, or "
                        "train without --eval-every and score the run with minigan eval RUN "
                        "--data-dir FOLDER, a folder that has them") from None
                raise MNISTDownloadError(
                    f"--eval-every {every} scores against the MNIST test split: {exc}") from None
            self.real_scores = self.reference.real_row(self.config["eval_n"], parzen=False)

    def _prepare_scores(self):
        """With ``eval_every``: the rows of ``scores.csv`` up to the checkpoint."""
        source = self.out if self.branched_from is None else self.branched_from
        self.scores = self._read_branch_history(
            lambda: read_scores(source / "scores.csv", self.epoch), [])

    def scoring_warnings(self):
        """What a run scored with ``--eval-every`` should be told before it starts (said once
        the run is built, every check passed): that it trains on the digits it is scored
        against (the test split alone at hand), and an ``--eval-n`` beyond the real
        held-out digits, whose count every score takes."""
        if self.reference is None:
            return []
        every, n = int(self.config["eval_every"]), int(self.config["eval_n"])
        own = own_data_caveat({**self.config, "classes_present": self.classes_present})
        said = [f"--eval-every {every}: {own}"] if own is not None else []
        other = classifier_caveat(self.reference.classifier)     # not the shipped classifier
        said += [f"--eval-every {every}: {other}"] if other is not None else []
        if self.reference.caveat:          # the test split alone: scored on what it learns
            said.append(f"--eval-every {every}: this run trains on the MNIST test split, the "
                        "only split at hand, and each score compares its digits with test "
                        "digits it trains on (the 'real held-out digits' too): what it "
                        "memorises flatters them; put the training split beside the test split "
                        "to score on digits it has not seen")
        held = len(self.reference.held_out)
        if n > held:                       # every score compares as many as the real row
            said.append(f"--eval-n {n}: each evaluation scores {held:,} digits, as many as the "
                        f"real held-out digits it is scored beside; give --eval-n {held} or less")
        return said

    def _evaluate(self):
        """Score ``eval_n`` digits of G (its own noise generator, seeded by the run's seed
        and the epoch, so training draws the same numbers with or without scoring); append
        the row to ``scores.csv`` and print it beside the real row."""
        from minigan.lab.scoring import (
            collapse_warning,
            evaluate_generator,
            least_said,
            scored_labels,
            scoring_noise,
            unlike_warning,
        )

        c = self.config
        G = self.G if self.ema is None else self._averaged_generator()   # what the grids show
        noise = scoring_noise(self.spec.noise_dim, c["prior"],
                              np.random.default_rng([int(c["seed"]), self.epoch]), self.dtype,
                              c.get("conditional"))
        n = int(c["eval_n"])
        scores = evaluate_generator(G, noise, n, self.reference, scale=self.spec.scale,
                                    parzen=False,
                                    asked=scored_labels(n) if c.get("conditional") else None)
        agreement = scores.get("label_agreement")        # a conditional run's; else blank
        row = {"epoch": self.epoch, "iteration": self.iteration,
               **{k: round(float(scores[k]), 5) for k in SCORE_COLUMNS[2:]
                  if k != "label_agreement"},
               "label_agreement": "" if agreement is None else round(agreement["agreement"], 5),
               "classes_covered": int(scores["classes_covered"])}
        self.scores = [r for r in self.scores if int(r["epoch"]) < self.epoch] + [row]
        write_scores(self.out / "scores.csv", self.scores)
        real = self.real_scores
        self._log(
            f"epoch {self.epoch} scores ({scores['n']} digits; real held-out digits in "
            f"brackets): IS {row['inception_score']:.2f} [{real['inception_score']:.2f}], "
            f"FID {row['fid']:.2f} [{real['fid']:.2f}], classes "
            f"{row['classes_covered']} [{real['classes_covered']}], precision "
            f"{row['precision']:.2f} [{real['precision']:.2f}], recall {row['recall']:.2f} "
            f"[{real['recall']:.2f}], coverage {row['coverage']:.2f} [{real['coverage']:.2f}]"
            + ("" if agreement is None else
               f", label agreement {100 * agreement['agreement']:.1f}% ({least_said(agreement)})"))
        said = unlike_warning(row, real) or collapse_warning(row, real)
        if said and own_data_caveat(c) is not None:   # a digit classifier's verdict
            said = OWN_DATA_VERDICT + said
        if said:
            self._log(f"epoch {self.epoch}: {said}")

    @contextlib.contextmanager
    def _lock(self):
        """Hold the run folder's lock while the run writes (:mod:`minigan.app.folderlock`):
        a second run, resume or eval into it is refused, naming this process. Taking it
        creates the folder; under it the folder is checked again, since another run may
        have written there between the checks of :meth:`__init__` and this moment.

        A folder given with ``--out`` is refused when another process holds it; a run not
        given one takes a default folder only by creating it, and moves on to the next
        free name where another run started in the same second made or holds it first
        (:func:`minigan.app.runs.default_outs`)."""
        default = self._free_outs is not None
        for tries in itertools.count(1):
            lock = FolderLock(self.out, "minigan train")
            try:
                lock.acquire(new=default)
                break
            except FolderInUse:
                if not default:              # a ValueError, going up as it is
                    raise
            except FileExistsError as exc:   # new=True only: a default folder there already
                if not os.path.lexists(self.out):   # no: a folder above it is a file, a link
                    raise ValueError(f"cannot create --out {self.out}: {exc.strerror or exc} "
                                     "(a folder above it is a file, or a link to nowhere); "
                                     "choose another --out") from None
            except OSError as exc:  # bad input, found out only now: nothing was written
                if self.resuming_here:     # the run's own folder, no --out given or chosen
                    raise ValueError(f"cannot write in the run folder {self.out} (its lock "
                                     f"file {LOCK_FILE}): {exc.strerror or exc}; free some "
                                     "space or give the folder write permission, or continue "
                                     "the run elsewhere with --out") from None
                raise ValueError(f"cannot create --out {self.out}: {exc.strerror or exc}; "
                                 "choose another --out") from None
            if tries >= MAX_DEFAULT_FOLDERS:
                raise ValueError(f"{tries} default run folders like {self.out} are taken by "
                                 "other runs; choose an --out")
            self._move_to(next(self._free_outs))     # another run's: the next name
        try:
            check_out(self.out, self.resuming_here)
            self._check_still_where_it_started()
            yield lock
        finally:
            lock.release()

    def _move_to(self, out):
        """Make ``out`` the folder of this new run, whose default folder another run took
        (:meth:`_lock`): its settings and its metrics log name it (the log holds no rows:
        a run not given ``--out`` is a new one)."""
        self.out = out
        self.config["out"] = str(out)
        self.log = MetricsLog(out / "metrics.csv", self.iteration)

    def _check_still_where_it_started(self):
        """Under the lock, refuse a run folder resumed or started over here that another
        process has trained since :meth:`__init__` read it (its checkpoint now at another
        iteration, or written where there was none): going on from what was read would
        put an older state over the newer one, and drop the rows and grids after it."""
        if not self.resuming_here:
            return
        last = self.last_checkpoint()
        now = None if last is None else last[2]
        read = self.iteration if self.config.get("resume") else None
        if now != read:
            was = (f"at iteration {read}" if read is not None else "without a checkpoint")
            raise ValueError(
                f"{self.out} changed while this command started: it was {was}, and another "
                f"minigan process has trained it since (its checkpoint is now "
                f"{'unreadable' if last is None else f'at iteration {now}'}); nothing was "
                f"written: {self.how_to_continue()}")

    def _continued(self):
        """Whether this run continues a checkpoint of another folder (``--resume RUN --out
        NEW``, or a checkpoint file kept elsewhere)."""
        return bool(self.config.get("resume")) and not self.resuming_here

    def _write_config(self, continued):
        """Write ``config.json``: the settings and what the run used, and, until this run's
        first checkpoint, ``continued_from``, the checkpoint it continues (started over
        before that, it would train from scratch: :func:`minigan.app.runs.resolve_config`
        refuses)."""
        config = saved_config(self.config, self.used)
        if continued:
            config["continued_from"] = str(Path(self.config["resume"]).resolve())
        write_text(self.out / CONFIG,
                   json.dumps(config, indent=2, sort_keys=True, allow_nan=False) + "\n")
        self._wrote_continued_from = continued

    def _history_rows(self):
        """The rows of ``metrics.csv`` in the folder this run branched from, up to its
        checkpoint (none when that file is missing or unreadable, or stops short of the
        checkpoint: a warning says so, and this run's metrics.csv starts after it)."""
        path = self.branched_from / "metrics.csv"
        return self._read_branch_history(
            lambda: MetricsLog(path, self.iteration).rows if path.exists() else [], [])

    def _read_branch_history(self, read, empty):
        """What ``read()`` returns (a file of the folder this run branched from), or ``empty``
        with a warning when it cannot be read: that history is a courtesy, not the run."""
        try:
            return read()
        except (OSError, ValueError) as exc:
            if self.branched_from is None:
                raise
            said = exc.fact if isinstance(exc, RunFileError) else str(exc)  # not its advice
            warnings.warn(f"{' '.join(said.split())} (read for {self.out}'s history, which "
                          "goes on without it)", stacklevel=2)
            return empty

    def _carry_grids(self):
        """Copy the epoch grids of the folder this run branched from, up to its checkpoint,
        each written atomically (a write error stops the run as any other would)."""
        for epoch, grid in epoch_grids(self.branched_from):
            if epoch > self.epoch:
                continue
            data = self._read_branch_history(lambda grid=grid: _read_grid(grid), None)
            if data is not None:
                atomic_write(self.out / SAMPLES / grid.name, lambda f, data=data: f.write(data))

    def _prepare_out(self):
        """Create the samples folder, clear what a kill left, write config.json, open
        metrics.csv. Draws epoch 0's grid on a new run; a run continued in a new folder
        takes along its history (metrics, scores, grids) up to the checkpoint.
        """
        (self.out / SAMPLES).mkdir(exist_ok=True)
        for name in (CHECKPOINT, CONFIG, "metrics.csv", "scores.csv", LOSS_CURVES):
            remove_stale_temps(self.out, name)
        remove_stale_temps(self.out / SAMPLES, "epoch_*.png")
        if self.resuming_here:
            self._drop_after_checkpoint()
        self._write_config(continued=self._continued())
        if self.branched_from is not None:     # after config.json, which names the source
            self._carry_grids()
            if self.scores and not (self.out / "scores.csv").exists():
                write_scores(self.out / "scores.csv", self.scores)
        self.log.open()
        if self.epoch == 0 and not (self.out / SAMPLES / grid_name(0)).exists():
            self._save_samples()

    def _drop_after_checkpoint(self):
        """A run resumed (or started over) in its own folder: remove the epoch grids and
        ``scores.csv`` rows of epochs after its checkpoint, which a kill between checkpoints
        left (as :class:`MetricsLog` drops the rows of ``metrics.csv``): the run draws them
        again when it gets there, and one resumed to fewer epochs never does."""
        for epoch, grid in epoch_grids(self.out):
            if epoch > self.epoch and grid.is_file() and not grid.is_symlink():
                grid.unlink(missing_ok=True)
        path = self.out / "scores.csv"
        if path.exists() and len(read_scores(path, math.inf)) != len(self.scores):
            write_scores(path, self.scores)



def _read_grid(path):
    """An epoch grid's bytes (:data:`MAX_GRID_BYTES` at most, a regular file), or a ValueError
    naming it."""
    try:
        return read_bytes_at_most(path, MAX_GRID_BYTES)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _file_stamps(folder, names):
    """Size and modification time of each file that exists (to tell what a load fetched)."""
    stamps = {}
    for name in names:
        for path in (folder / name, folder / name.removesuffix(".gz")):
            if path.is_file():
                st = path.stat()
                stamps[path.name] = (st.st_size, st.st_mtime_ns)
    return stamps


def on_a_terminal(stream):
    """Whether ``stream`` is a terminal (where a bar redrawn in place reads as one line)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


class ProgressLines:
    """The progress bar, read into a log: where stderr is not a terminal, a line at most
    every :data:`PROGRESS_LINE_EVERY` seconds, ``epoch 12/180: iteration 936/14,040 (7%),
    42 s elapsed, about 9 min 10 s left; D loss 1.234, G loss 0.987, D(x) 0.51, D(G(z))
    0.49`` (a run shorter than that prints none). It takes the calls the trainer makes of a
    ``tqdm`` bar."""

    def __init__(self, total, initial=0):
        self.total, self.n, self.initial = total, initial, initial
        self.description, self.postfix = "", {}
        self.started = self.last = time.monotonic()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def set_description(self, description, refresh=True):
        self.description = description

    def set_postfix(self, values, refresh=True):
        self.postfix = dict(values)

    def update(self, n=1):
        self.n += n
        now = time.monotonic()
        if now - self.last >= PROGRESS_LINE_EVERY:
            self.last = now
            print(self.line(now - self.started), file=sys.stderr, flush=True)

    def line(self, seconds):
        """The line ``seconds`` after the bar began (this command's part of the run): the
        time left at the pace of its iterations so far."""
        share = f" ({self.n / self.total:.0%})" if self.total else ""
        done = self.n - self.initial
        left = (f", about {_minutes(seconds * (self.total - self.n) / done)} left"
                if done > 0 else "")
        values = ", ".join(f"{k} {v}" for k, v in self.postfix.items())
        return (f"{self.description}: iteration {self.n:,}/{self.total:,}{share}, "
                f"{_minutes(seconds)} elapsed{left}" + (f"; {values}" if values else ""))

    def write(self, message, file=None):
        print(message, file=file, flush=True)


def _show(bar, stats):
    """One more iteration on the progress bar, with its losses and D's outputs (set first,
    so that the bar's redrawing by ``update`` shows this iteration's)."""
    bar.set_postfix({"D loss": f"{stats['d_loss']:.3f}", "G loss": f"{stats['g_loss']:.3f}",
                     "D(x)": f"{stats['d_real']:.2f}", "D(G(z))": f"{stats['d_fake']:.2f}"},
                    refresh=False)
    bar.update(1)


def train(options):
    """Build a :class:`Trainer` from ``options`` (see :func:`resolve_config`) and run it."""
    return Trainer(options).run()
