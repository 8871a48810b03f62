"""The training loop behind ``python -m minigan train``.

>>> from minigan.train import train
>>> train({"model": "vanilla", "epochs": 5, "split": "test",            # doctest: +SKIP
...        "data_dir": "data/mnist", "out": "runs/vanilla"})
>>> train({"resume": "runs/vanilla", "epochs": 10})                      # doctest: +SKIP

A run folder holds::

    config.json           the settings of the run
    metrics.csv           one row per iteration: iteration, epoch, d_loss, g_loss,
                          d_real (mean D(x)), d_fake (mean D(G(z)) in the D step),
                          d_gen (mean D(G(z)) in the G step), seconds (training time)
    samples/epoch_0000.png  the generator before training, then one grid per epoch,
    samples/epoch_0001.png  always from the SAME noise batch, drawn once at the start
    loss_curves.png       losses and D's outputs against the iteration
    checkpoint.npz        everything needed to continue (see minigan.checkpoint)

The settings of a run and the rules of resuming live in :mod:`minigan.runs`
(``resolve_config`` is re-exported here); :class:`Trainer` builds, loops over
the epochs and saves.

All randomness flows from ``seed`` through four host generators spawned from
one ``numpy.random.SeedSequence``: the weight initialization, the noise z,
the shuffling of the data (one permutation per epoch) and the fixed noise
batch of the sample grids; the library's default generator (used by layers
built without one, e.g. Dropout) is seeded from it too.

Exact resume: the checkpoint holds the parameters, BatchNorm buffers, both
optimizers' states, the states of the noise, shuffle and library generators,
the fixed noise batch, the counters and, when a run was stopped in the middle
of an epoch, that epoch's permutation and how far into it the run got. So on
the CPU, 2 epochs in one go and 1 epoch + resume + 1 epoch give the same
parameters, optimizer states and metrics, bit for bit; a run stopped with
Ctrl-C in the middle of an epoch continues from the very next minibatch.
(Bit for bit needs the same machine and BLAS thread count: OpenBLAS adds up a
matrix product in another order when ``OPENBLAS_NUM_THREADS`` differs. A GPU
run resumed on the CPU, or the other way round, continues, but not exactly.)
Ctrl-C lets the current iteration finish, saves, and raises
:class:`Interrupted`; a second Ctrl-C stops at once without saving (the
checkpoint of the last completed epoch stays whole).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import signal
import threading
import time
import types
from pathlib import Path

import numpy as np

from . import backend, checkpoint, gan, models, optim, plotting
from .data import load_mnist
from .fileio import write_text
from .runs import CHECKPOINT, DEFAULTS, check_out, default_out, resolve_config

__all__ = ["DEFAULTS", "Interrupted", "Trainer", "resolve_config", "train", "METRICS_COLUMNS"]

METRICS_COLUMNS = ("iteration", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "d_gen",
                   "seconds")


class Interrupted(Exception):
    """Training was stopped with Ctrl-C.

    Attributes
    ----------
    checkpoint : pathlib.Path or None
        The checkpoint to resume from (None if nothing was saved yet).
    saved : bool
        Whether the state at the moment of the interrupt was saved (False
        after a second Ctrl-C: the checkpoint is then the last epoch's).
    epoch, iteration : int
        Completed epochs and iterations in that checkpoint.
    step_in_epoch : int
        Iterations done in the unfinished epoch that follows.
    """

    def __init__(self, checkpoint, saved, epoch, iteration, step_in_epoch=0):
        self.checkpoint, self.saved = checkpoint, saved
        self.epoch, self.iteration, self.step_in_epoch = epoch, iteration, step_in_epoch
        where = f"{epoch} epochs done"
        if step_in_epoch:
            where += f" and {step_in_epoch} iterations into epoch {epoch + 1}"
        super().__init__(f"iteration {iteration} ({where})")


# ---------------------------------------------------------------- the trainer


class Trainer:
    """Everything a run needs, checked and built before anything is written.

    ``Trainer(options)`` builds: it resolves the settings
    (:func:`minigan.runs.resolve_config`), selects the device, loads the data,
    builds the models and optimizers and restores the checkpoint when
    resuming; any problem raises here (``ValueError``, ``OSError``,
    :class:`minigan.data.DataError`, :class:`minigan.backend.BackendError`)
    and nothing is written. :meth:`run` then loops over the epochs and saves
    after each one.
    """

    def __init__(self, options):
        config, ckpt = resolve_config(options)
        self.config = config
        self.quiet = bool(config["quiet"])
        self.spec = models.MODELS[config["model"]]
        self.device = backend.use(config["device"])
        self.dtype = np.dtype(config["dtype"])

        self.out = Path(config["out"]).expanduser() if config["out"] else default_out(
            config["model"])
        config["out"] = str(self.out)
        resuming_here = ckpt is not None and (
            (self.out / CHECKPOINT).resolve() == Path(config["resume"]).resolve())
        check_out(self.out, resuming_here)

        self._load_data()
        self._build(ckpt)
        if ckpt is not None and self.epoch >= int(config["epochs"]):
            raise ValueError(
                f"--resume {config['resume']}: that run has already done {self.epoch} epochs; "
                f"--epochs is the total to reach, so pass more than {self.epoch}"
            )

    # -- build ----------------------------------------------------------
    def _load_data(self):
        c = self.config
        data_dir = c["data_dir"]
        if data_dir is not None and not Path(data_dir).expanduser().is_dir():
            raise ValueError(
                f"--data-dir {data_dir} is not a folder; give the folder that holds the MNIST "
                "files (or leave --data-dir out to use the download cache)"
            )
        images, _ = load_mnist(c["split"], data_dir=data_dir, scale=self.spec.scale,
                               download=c["download"], files=c["files"],
                               progress=not self.quiet)
        n, b, k = len(images), int(c["batch_size"]), int(c["k"])
        if b < 1 or k < 1:
            raise ValueError(f"batch size and k must be >= 1, got {b} and {k}")
        if b * k > n:
            raise ValueError(
                f"batch size {b} x k={k} needs {b * k} images per iteration but the "
                f"{c['split']} split has {n}; use --batch-size {n // k} or less"
            )
        shape = self.spec.image_shape
        if math.prod(shape) != images.shape[1]:
            raise ValueError(
                f"model {c['model']} takes images of shape {shape}, but the data has "
                f"{images.shape[1]} pixels per image"
            )
        self.n_images = n
        self.iters_per_epoch = n // (b * k)
        self.X = backend.asarray(images.reshape((n,) + tuple(shape)), dtype=self.dtype)

    def _build(self, ckpt):
        c = self.config
        init_ss, noise_ss, shuffle_ss, fixed_ss, library_ss = np.random.SeedSequence(
            int(c["seed"])).spawn(5)
        self.G, self.D = models.build(c["model"], np.random.default_rng(init_ss), self.dtype)
        betas = tuple(c["betas"])
        self.g_opt = optim.Adam(self.G, lr=c["lr"], betas=betas)
        self.d_opt = optim.Adam(self.D, lr=c["lr"], betas=betas)
        self.gan = gan.GAN(self.G, self.D, self.g_opt, self.d_opt, self.spec.noise_dim,
                           k=c["k"], g_loss=c["g_loss"], label_smoothing=c["label_smoothing"],
                           prior=c["prior"], rng=np.random.default_rng(noise_ss))
        self.shuffle_rng = np.random.default_rng(shuffle_ss)
        self.library_rng = backend.seed(library_ss)
        self.fixed_z = backend.to_host(gan.sample_noise(
            int(c["n_samples"]), self.spec.noise_dim, c["prior"],
            np.random.default_rng(fixed_ss), self.dtype))
        self.epoch = 0            # completed epochs
        self.iteration = 0        # completed iterations
        self.step_in_epoch = 0    # iterations done in the current (unfinished) epoch
        self.perm = None          # the current epoch's permutation, once drawn
        self.seconds = 0.0        # training time so far
        if ckpt is not None:
            self._restore(ckpt)

    def _rngs(self):
        return {"noise": self.gan.rng, "shuffle": self.shuffle_rng, "library": self.library_rng}

    def _restore(self, ckpt):
        checkpoint.restore(ckpt, generator=self.G, discriminator=self.D, g_opt=self.g_opt,
                           d_opt=self.d_opt, model=self.config["model"])
        path = ckpt["path"]
        try:
            for name, gen in self._rngs().items():
                gen.bit_generator.state = ckpt["rng_states"][name]
            extra = ckpt["extra"]
            self.fixed_z = np.asarray(extra["fixed_z"])
            self.step_in_epoch = int(extra["step_in_epoch"])
            self.seconds = float(extra["seconds"])
            self.perm = np.asarray(extra["perm"]) if "perm" in extra else None
        except (KeyError, TypeError, ValueError) as exc:
            raise checkpoint.CheckpointError(
                f"checkpoint {path} lacks the training state ({type(exc).__name__}: {exc})"
            ) from None
        self.epoch = int(ckpt["counters"]["epoch"])
        self.iteration = int(ckpt["counters"]["iteration"])
        if self.perm is not None and len(self.perm) != self.n_images:
            raise ValueError(
                f"checkpoint {path} was stopped in the middle of an epoch over {len(self.perm)} "
                f"images, but the {self.config['split']} data has {self.n_images}; point "
                "--data-dir at the data it was trained on"
            )

    # -- loop -----------------------------------------------------------
    def run(self):
        """Train up to ``config["epochs"]`` epochs; return a summary dict.

        Each epoch is trained (:meth:`_train_epoch`), then saved
        (:meth:`_end_epoch`). Raises :class:`Interrupted` on Ctrl-C, after
        saving (:meth:`_save_and_stop`; see the module notes).
        """
        self._prepare_out()
        self._log_start()
        epoch_seconds = []
        try:
            with _ctrl_c_requests() as stop:
                while self.epoch < int(self.config["epochs"]):
                    elapsed = self._train_epoch(stop)
                    if stop.requested:
                        self._save_and_stop()
                    epoch_seconds.append(elapsed)
                    self._end_epoch()
        except KeyboardInterrupt:  # a second Ctrl-C: stop at once, without saving
            raise self._interrupted_unsaved() from None
        finally:
            self._metrics_file.close()
        self._log(f"done: {self.epoch} epochs, {self.iteration} iterations; samples in "
                  f"{self.out / 'samples'}, checkpoint {self.out / CHECKPOINT}")
        return {"out": self.out, "epoch": self.epoch, "iteration": self.iteration,
                "epoch_seconds": epoch_seconds, "rows": self.rows}

    def _train_epoch(self, stop):
        """Iterations of the current epoch until it ends or ``stop.requested``; its seconds."""
        if self.perm is None:
            self.perm = self.shuffle_rng.permutation(self.n_images)
            self.step_in_epoch = 0
        next_batch = self._next_batch_fn()
        bar = self._progress_bar()
        start = time.perf_counter()
        with bar:
            while self.step_in_epoch < self.iters_per_epoch and not stop.requested:
                stats = self.gan.train_iteration(next_batch)
                self.step_in_epoch += 1
                self.iteration += 1
                self._record(stats, self.seconds + time.perf_counter() - start)
                _show(bar, stats)
        elapsed = time.perf_counter() - start
        self.seconds += elapsed
        return elapsed

    def _next_batch_fn(self):
        """The real minibatches of this epoch, from where it stands, one per call."""
        xp, b = backend.xp(), int(self.config["batch_size"])
        counter = [self.step_in_epoch * self.gan.k]

        def next_real_batch():
            i = counter[0]
            counter[0] += 1
            idx = self.perm[i * b:(i + 1) * b]
            return self.X[xp.asarray(idx)]

        return next_real_batch

    def _record(self, stats, seconds):
        row = {"iteration": self.iteration, "epoch": self.epoch + 1, "seconds": round(seconds, 3),
               **{k: float(stats[k]) for k in METRICS_COLUMNS[2:7]}}
        self._metrics.writerow(row)
        self.rows.append(row)

    def _progress_bar(self):
        from tqdm import tqdm

        return tqdm(total=self.iters_per_epoch, initial=self.step_in_epoch,
                    desc=f"epoch {self.epoch + 1}/{self.config['epochs']}", leave=True,
                    dynamic_ncols=True, disable=self.quiet, unit="it")

    def _log_start(self):
        c = self.config
        start_at = (f"; resuming at iteration {self.iteration} from {c['resume']}"
                    if c.get("resume") else "")
        self._log(
            f"training {c['model']} on MNIST {c['split']} ({self.n_images} images, "
            f"{self.iters_per_epoch} iterations/epoch) on {self.device}; run folder "
            f"{self.out}{start_at}")

    def _log(self, msg):
        if not self.quiet:
            print(msg, flush=True)

    # -- save -----------------------------------------------------------
    def _end_epoch(self):
        """Count the finished epoch; write its sample grid, the loss curves and a checkpoint."""
        self.epoch += 1
        self.perm, self.step_in_epoch = None, 0
        self._save_samples()
        self._save_loss_curves()
        self._save_checkpoint()

    def _save_and_stop(self):
        """First Ctrl-C: save where the run stands (mid-epoch) and raise :class:`Interrupted`."""
        self._save_checkpoint()
        self._save_loss_curves()
        raise Interrupted(self.out / CHECKPOINT, True, self.epoch, self.iteration,
                          self.step_in_epoch)

    def _interrupted_unsaved(self):
        """Second Ctrl-C: :class:`Interrupted` pointing at the last checkpoint written."""
        path = self.out / CHECKPOINT
        if not path.exists():
            return Interrupted(None, False, 0, 0, 0)
        ckpt = checkpoint.load_checkpoint(path)
        return Interrupted(path, False, ckpt["counters"]["epoch"], ckpt["counters"]["iteration"],
                           int(ckpt["extra"].get("step_in_epoch", 0)))

    def _save_checkpoint(self):
        extra = {"fixed_z": self.fixed_z, "step_in_epoch": self.step_in_epoch,
                 "seconds": self.seconds}
        if self.perm is not None:
            extra["perm"] = self.perm
        config = {k: v for k, v in self.config.items() if k not in ("resume", "quiet")}
        checkpoint.save_checkpoint(
            self.out / CHECKPOINT, generator=self.G, discriminator=self.D, g_opt=self.g_opt,
            d_opt=self.d_opt, iteration=self.iteration, epoch=self.epoch,
            rng_states={k: g.bit_generator.state for k, g in self._rngs().items()},
            config=config, extra=extra)

    def _save_samples(self):
        z = backend.asarray(self.fixed_z, dtype=self.dtype)
        path = self.out / "samples" / f"epoch_{self.epoch:04d}.png"
        plotting.save_grid(self.gan.sample(z=z), path, value_range=self.spec.pixel_range)
        return path

    def _save_loss_curves(self):
        plotting.save_loss_curves(self.rows, self.out / "loss_curves.png")

    def _prepare_out(self):
        """Create the run folder; write config.json, open metrics.csv, draw epoch 0's grid."""
        (self.out / "samples").mkdir(parents=True, exist_ok=True)
        config = {k: v for k, v in self.config.items() if k != "quiet"}
        write_text(self.out / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
        self._open_metrics()
        if self.epoch == 0 and not (self.out / "samples" / "epoch_0000.png").exists():
            self._save_samples()

    def _open_metrics(self):
        """Open metrics.csv for appending, dropping rows past the checkpoint (from a crash)."""
        path = self.out / "metrics.csv"
        self.rows = []
        if path.exists():
            with open(path, newline="") as f:
                self.rows = list(csv.DictReader(f))
            kept = [r for r in self.rows if int(r["iteration"]) <= self.iteration]
            if len(kept) != len(self.rows):
                self.rows = kept
                buf = io.StringIO()
                writer = csv.DictWriter(buf, METRICS_COLUMNS, lineterminator="\n")
                writer.writeheader()
                writer.writerows(kept)
                write_text(path, buf.getvalue())
        new = not path.exists()
        self._metrics_file = open(path, "a", newline="", buffering=1)
        self._metrics = csv.DictWriter(self._metrics_file, METRICS_COLUMNS, lineterminator="\n")
        if new:
            self._metrics.writeheader()


def _show(bar, stats):
    """One more iteration on the progress bar, with the losses and D's outputs."""
    bar.update(1)
    bar.set_postfix({"D loss": f"{stats['d_loss']:.3f}", "G loss": f"{stats['g_loss']:.3f}",
                     "D(x)": f"{stats['d_real']:.2f}", "D(G(z))": f"{stats['d_fake']:.2f}"},
                    refresh=False)


@contextlib.contextmanager
def _ctrl_c_requests():
    """While active, a first Ctrl-C sets ``stop.requested``; a second raises KeyboardInterrupt.

    Only the main thread can take signals; elsewhere Ctrl-C keeps its usual meaning.
    """
    stop = types.SimpleNamespace(requested=False)

    def on_sigint(signum, frame):
        if stop.requested:
            raise KeyboardInterrupt
        stop.requested = True

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield stop
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def train(options):
    """Build a :class:`Trainer` from ``options`` (see :func:`resolve_config`) and run it."""
    return Trainer(options).run()
