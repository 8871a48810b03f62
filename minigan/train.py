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

import csv
import io
import json
import math
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np

from . import backend, checkpoint, gan, models, optim, plotting
from .data import load_mnist

__all__ = ["DEFAULTS", "Interrupted", "Trainer", "resolve_config", "train", "METRICS_COLUMNS"]

#: Settings of a new run; ``None`` means "the model's default" (see minigan.models.MODELS).
DEFAULTS = {
    "model": "vanilla",
    "epochs": 1,
    "batch_size": None,
    "lr": None,
    "betas": None,
    "k": 1,
    "seed": 0,
    "device": "auto",
    "data_dir": None,
    "split": "train",
    "download": True,
    "files": None,  # replaces minigan.data.MNIST_FILES: a small data set of your own
    "out": None,
    "g_loss": "non_saturating",
    "label_smoothing": 0.0,
    "prior": "gaussian",
    "n_samples": 64,
    "dtype": "float32",
    "quiet": False,
}

#: Settings a resumed run may change; every other one comes from the checkpoint.
RESUME_MAY_CHANGE = ("epochs", "device", "data_dir", "download", "files", "out", "quiet")

METRICS_COLUMNS = ("iteration", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "d_gen",
                   "seconds")
RUN_FILES = ("checkpoint.npz", "metrics.csv", "config.json", "loss_curves.png", "samples")
CHECKPOINT = "checkpoint.npz"


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


# ---------------------------------------------------------------- configuration


def _find_checkpoint(resume):
    """``resume`` is a checkpoint file or a run folder holding ``checkpoint.npz``."""
    path = Path(resume).expanduser()
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(
            f"--resume {resume}: no checkpoint at {path}; give a run folder that holds "
            f"{CHECKPOINT} or the checkpoint file itself"
        )
    return path


def _same(a, b):
    """Compare settings the way they survive JSON (tuples become lists)."""
    if isinstance(a, tuple):
        a = list(a)
    if isinstance(b, tuple):
        b = list(b)
    return a == b


def resolve_config(options):
    """The complete settings of a run from the ones given, and the checkpoint to resume.

    Parameters
    ----------
    options : dict
        Keys of :data:`DEFAULTS`, plus ``"resume"`` (a checkpoint file or run
        folder). Only the settings actually chosen need to be given: a new
        run fills in :data:`DEFAULTS` and the model's defaults; a resumed run
        takes every setting from its checkpoint, and only those in
        :data:`RESUME_MAY_CHANGE` may be given differently.

    Returns
    -------
    config : dict
    ckpt : dict or None
        The loaded checkpoint when resuming.
    """
    options = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(options) - set(DEFAULTS) - {"resume"})
    if unknown:
        raise ValueError(f"unknown settings {unknown}; known: {sorted(DEFAULTS)}")
    resume = options.pop("resume", None)
    if resume is None:
        config = {**DEFAULTS, **options}
        if config["model"] not in models.MODELS:
            raise ValueError(
                f"unknown model {config['model']!r}; choose one of {sorted(models.MODELS)}")
        spec = models.MODELS[config["model"]]
        for key in ("batch_size", "lr", "betas"):
            if config[key] is None:
                config[key] = getattr(spec, key)
        config["betas"] = list(config["betas"])
        return config, None

    path = _find_checkpoint(resume)
    ckpt = checkpoint.load_checkpoint(path)
    saved = ckpt["config"]
    if "model" in options and options["model"] != saved.get("model"):
        raise checkpoint.CheckpointError(
            f"checkpoint {path} was made by model '{saved.get('model')}'; this run builds "
            f"'{options['model']}' (drop --model to continue that run, or start a new run "
            "without --resume)"
        )
    clashes = [
        f"{key}={options[key]!r} (checkpoint: {saved.get(key)!r})"
        for key in options
        if key not in RESUME_MAY_CHANGE and not _same(options[key], saved.get(key))
    ]
    if clashes:
        raise ValueError(
            f"--resume {resume}: a resumed run keeps its checkpoint's settings, but "
            f"{', '.join(clashes)} differ; drop those options (only "
            f"{', '.join(RESUME_MAY_CHANGE)} may change)"
        )
    config = {**DEFAULTS, **saved, **options}
    config["device"] = options.get("device", DEFAULTS["device"])  # where it runs now
    if "out" not in options:
        if path.name != CHECKPOINT:
            raise ValueError(
                f"--resume {resume}: the checkpoint is not inside a run folder; give --out "
                "for the continued run"
            )
        config["out"] = str(path.parent)
    config["resume"] = str(path)
    return config, ckpt


def _default_out(model):
    base = Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def _check_out(out, resuming_here):
    """Refuse an ``out`` that cannot be written or would overwrite another run; write nothing."""
    if out.exists():
        if not out.is_dir():
            raise ValueError(f"--out {out} exists and is not a folder; choose another --out")
        held = sorted(name for name in RUN_FILES if (out / name).exists())
        if held and not resuming_here:
            raise ValueError(
                f"--out {out} already holds a run ({', '.join(held)}); continue it with "
                f"--resume {out}, or choose another --out"
            )
        folder = out
    else:
        folder = out.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise ValueError(f"cannot create --out {out}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write --out {out}: no write permission in {folder}")


# ---------------------------------------------------------------- the trainer


class Trainer:
    """Everything a run needs, checked and built before anything is written.

    ``Trainer(options)`` resolves the settings, selects the device, loads the
    data, builds the models and optimizers and restores the checkpoint when
    resuming; any problem raises here (``ValueError``, ``OSError``,
    :class:`minigan.data.DataError`, :class:`minigan.backend.BackendError`)
    and nothing is written. :meth:`run` then trains.
    """

    def __init__(self, options):
        config, ckpt = resolve_config(options)
        self.config = config
        self.quiet = bool(config["quiet"])
        self.spec = models.MODELS[config["model"]]
        self.device = backend.use(config["device"])
        self.dtype = np.dtype(config["dtype"])

        self.out = Path(config["out"]).expanduser() if config["out"] else _default_out(
            config["model"])
        config["out"] = str(self.out)
        resuming_here = ckpt is not None and (
            (self.out / CHECKPOINT).resolve() == Path(config["resume"]).resolve())
        _check_out(self.out, resuming_here)

        self._load_data()
        self._build(ckpt)
        if ckpt is not None and self.epoch >= int(config["epochs"]):
            raise ValueError(
                f"--resume {config['resume']}: that run has already done {self.epoch} epochs; "
                f"--epochs is the total to reach, so pass more than {self.epoch}"
            )

    # -- set-up ---------------------------------------------------------
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
        shape = (int(c["n_samples"]), self.spec.noise_dim)
        fixed_rng = np.random.default_rng(fixed_ss)
        if c["prior"] == "gaussian":
            self.fixed_z = fixed_rng.standard_normal(shape).astype(self.dtype)
        else:
            self.fixed_z = fixed_rng.uniform(-1.0, 1.0, shape).astype(self.dtype)
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

    # -- outputs --------------------------------------------------------
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
        low = -1.0 if self.spec.scale == "tanh" else 0.0
        path = self.out / "samples" / f"epoch_{self.epoch:04d}.png"
        plotting.save_grid(self.gan.sample(z=z), path, value_range=(low, 1.0))
        return path

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
                checkpoint.atomic_write(path, lambda f: f.write(buf.getvalue().encode()))
        new = not path.exists()
        self._metrics_file = open(path, "a", newline="", buffering=1)
        self._metrics = csv.DictWriter(self._metrics_file, METRICS_COLUMNS, lineterminator="\n")
        if new:
            self._metrics.writeheader()

    def _prepare_out(self):
        (self.out / "samples").mkdir(parents=True, exist_ok=True)
        config = {k: v for k, v in self.config.items() if k != "quiet"}
        text = json.dumps(config, indent=2, sort_keys=True) + "\n"
        checkpoint.atomic_write(self.out / "config.json", lambda f: f.write(text.encode()))
        self._open_metrics()
        if self.epoch == 0 and not (self.out / "samples" / "epoch_0000.png").exists():
            self._save_samples()

    def _log(self, msg):
        if not self.quiet:
            print(msg, flush=True)

    # -- the loop -------------------------------------------------------
    def _next_batch_fn(self):
        xp, b = backend.xp(), int(self.config["batch_size"])
        counter = [self.step_in_epoch * self.gan.k]

        def next_real_batch():
            i = counter[0]
            counter[0] += 1
            idx = self.perm[i * b:(i + 1) * b]
            return self.X[xp.asarray(idx)]

        return next_real_batch

    def run(self):
        """Train up to ``config["epochs"]`` epochs; return a summary dict.

        Raises :class:`Interrupted` on Ctrl-C, after saving (see the module notes).
        """
        from tqdm import tqdm

        c = self.config
        self._prepare_out()
        start_at = (f"; resuming at iteration {self.iteration} from {c['resume']}"
                    if c.get("resume") else "")
        self._log(
            f"training {c['model']} on MNIST {c['split']} ({self.n_images} images, "
            f"{self.iters_per_epoch} iterations/epoch) on {self.device}; run folder "
            f"{self.out}{start_at}")
        stop = {"requested": False}
        previous = None

        def on_sigint(signum, frame):
            if stop["requested"]:
                raise KeyboardInterrupt
            stop["requested"] = True

        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, on_sigint)
        epoch_seconds = []
        try:
            while self.epoch < int(c["epochs"]):
                if self.perm is None:
                    self.perm = self.shuffle_rng.permutation(self.n_images)
                    self.step_in_epoch = 0
                next_batch = self._next_batch_fn()
                bar = tqdm(total=self.iters_per_epoch, initial=self.step_in_epoch,
                           desc=f"epoch {self.epoch + 1}/{c['epochs']}", leave=True,
                           dynamic_ncols=True, disable=self.quiet, unit="it")
                start = time.perf_counter()
                with bar:
                    while self.step_in_epoch < self.iters_per_epoch and not stop["requested"]:
                        stats = self.gan.train_iteration(next_batch)
                        self.step_in_epoch += 1
                        self.iteration += 1
                        row = {"iteration": self.iteration, "epoch": self.epoch + 1,
                               "seconds": round(self.seconds + time.perf_counter() - start, 3),
                               **{k: float(stats[k]) for k in METRICS_COLUMNS[2:7]}}
                        self._metrics.writerow(row)
                        self.rows.append(row)
                        bar.update(1)
                        bar.set_postfix({"D loss": f"{stats['d_loss']:.3f}",
                                         "G loss": f"{stats['g_loss']:.3f}",
                                         "D(x)": f"{stats['d_real']:.2f}",
                                         "D(G(z))": f"{stats['d_fake']:.2f}"}, refresh=False)
                elapsed = time.perf_counter() - start
                self.seconds += elapsed
                if stop["requested"]:
                    self._save_checkpoint()
                    plotting.save_loss_curves(self.rows, self.out / "loss_curves.png")
                    raise Interrupted(self.out / CHECKPOINT, True, self.epoch, self.iteration,
                                      self.step_in_epoch)
                epoch_seconds.append(elapsed)
                self.epoch += 1
                self.perm, self.step_in_epoch = None, 0
                self._save_samples()
                plotting.save_loss_curves(self.rows, self.out / "loss_curves.png")
                self._save_checkpoint()
        except KeyboardInterrupt:
            path = self.out / CHECKPOINT
            raise Interrupted(path if path.exists() else None, False, *self._saved_counters(path)
                              ) from None
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            self._metrics_file.close()
        self._log(f"done: {self.epoch} epochs, {self.iteration} iterations; samples in "
                  f"{self.out / 'samples'}, checkpoint {self.out / CHECKPOINT}")
        return {"out": self.out, "epoch": self.epoch, "iteration": self.iteration,
                "epoch_seconds": epoch_seconds, "rows": self.rows}

    @staticmethod
    def _saved_counters(path):
        if not path.exists():
            return 0, 0, 0
        ckpt = checkpoint.load_checkpoint(path)
        return (ckpt["counters"]["epoch"], ckpt["counters"]["iteration"],
                int(ckpt["extra"].get("step_in_epoch", 0)))


def train(options):
    """Build a :class:`Trainer` from ``options`` (see :func:`resolve_config`) and run it."""
    return Trainer(options).run()
