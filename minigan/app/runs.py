"""Run folders and run settings: what a new run uses, what a resumed run may change.

>>> from minigan import runs
>>> config, ckpt = runs.resolve_config({"model": "dcgan", "epochs": 5})
>>> config["batch_size"], config["lr"], ckpt          # the model's defaults; a new run
(64, 0.0002, None)
>>> runs.find_checkpoint("runs/dcgan")                # doctest: +SKIP
PosixPath('runs/dcgan/checkpoint.npz')

A run folder holds ``config.json``, ``metrics.csv``, ``samples/``,
``loss_curves.png`` and ``checkpoint.npz`` (see :mod:`minigan.app.trainer`). A
new run fills the settings it was not given from :data:`DEFAULTS` and its
model's :class:`~minigan.gan.models.ModelSpec`; a resumed run takes every
setting from its checkpoint and may change only :data:`RESUME_MAY_CHANGE`.
A run folder stopped before its first checkpoint (killed in its first epoch)
holds only its ``config.json``: ``--resume`` starts it over from those
settings. Every rule here raises before anything is written.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np

from minigan.functional import losses
from minigan.gan import models

from . import checkpoint

__all__ = [
    "DEFAULTS", "RESUME_MAY_CHANGE", "RUN_FILES", "CHECKPOINT", "CONFIG",
    "find_checkpoint", "resolve_config", "read_config", "saved_config", "default_out",
    "check_out", "load_generator",
]

#: Settings of a new run; ``None`` means "the model's default" (see minigan.gan.models.MODELS).
DEFAULTS = {
    "model": "vanilla",
    "epochs": None,
    "batch_size": None,
    "lr": None,
    "betas": None,
    "k": None,   # 1; 5 (n_critic) for loss wgan-gp
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
    "eval_every": 0,   # score G with the lab's metrics every N epochs (0: never)
    "eval_n": 2000,    # generated digits per evaluation
    "spectral_norm": False,
    "label_flip": 0.0,
    "instance_noise": 0.0,
    "loss": "gan",
    "gp_weight": 10.0,
    "conditional": False,  # G(z, c) and D(x, c): minigan.gan.conditional
    "pack": 1,             # D judges packs of m samples (PacGAN)
    "minibatch": None,     # a minibatch layer in D: "discrimination" or "stddev"
    "ema": None,           # decay of the moving average of G's weights (minigan.gan.ema)
}

#: WGAN-GP's defaults where a run does not say (Gulrajani et al. 2017: n_critic 5,
#: lambda 10; Adam 1e-4 with betas 0.5 / 0.9, those of their MNIST and toy code).
WGAN_GP_DEFAULTS = {"k": 5, "lr": 1e-4, "betas": (0.5, 0.9)}

#: Settings not saved with a run: how it was started, not what it is.
NOT_SAVED = ("resume", "restart", "quiet")

#: Settings a resumed run may change; every other one comes from the checkpoint.
RESUME_MAY_CHANGE = ("epochs", "device", "data_dir", "download", "files", "out", "quiet",
                     "eval_every", "eval_n")

#: The files of a run folder; a folder holding any of them holds a run (an empty
#: ``samples`` folder does not count: it is made first, before anything is written).
RUN_FILES = ("checkpoint.npz", "metrics.csv", "config.json", "loss_curves.png", "samples",
             "scores.csv")
CHECKPOINT = "checkpoint.npz"
CONFIG = "config.json"


def find_checkpoint(path, option="--resume"):
    """The checkpoint file of ``path``: a run folder holding ``checkpoint.npz``, or the file.

    ``option`` names the command-line option the path came from, for the error.

    Raises
    ------
    FileNotFoundError
        When there is no checkpoint there.
    """
    found = Path(path).expanduser()
    if found.is_dir():
        found = found / CHECKPOINT
    if not found.exists():
        raise FileNotFoundError(
            f"{option} {path}: no checkpoint at {found}; give a run folder that holds "
            f"{CHECKPOINT} or the checkpoint file itself"
        )
    return found


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
        return _new_config(options), None
    folder = Path(resume).expanduser()
    if folder.is_dir() and not (folder / CHECKPOINT).exists() and (folder / CONFIG).is_file():
        return _restart_config(folder, resume, options), None

    path = find_checkpoint(resume)
    ckpt = checkpoint.load_checkpoint(path)
    saved = ckpt["config"]
    _check_unchanged(options, saved, resume, f"checkpoint {path}", "checkpoint")
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


def _check_unchanged(options, saved, resume, source, what):
    """Refuse options that differ from the ``saved`` settings of the run resumed."""
    if "model" in options and options["model"] != saved.get("model"):
        raise checkpoint.CheckpointError(
            f"{source} was made by model '{saved.get('model')}'; this run builds "
            f"'{options['model']}' (drop --model to continue that run, or start a new run "
            "without --resume)"
        )
    clashes = [
        f"{key}={options[key]!r} ({what}: {saved.get(key)!r})"
        for key in options
        if key not in RESUME_MAY_CHANGE and not _same(options[key], saved.get(key))
    ]
    if clashes:
        raise ValueError(
            f"--resume {resume}: a resumed run keeps its {what}'s settings, but "
            f"{', '.join(clashes)} differ; drop those options (only "
            f"{', '.join(RESUME_MAY_CHANGE)} may change)"
        )


def read_config(folder):
    """The settings in ``folder/config.json`` as given to the run (see :func:`saved_config`)."""
    path = Path(folder) / CONFIG
    try:
        saved = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read the settings in {path} ({exc}); start a new run "
                         "with another --out") from None
    if not isinstance(saved, dict) or saved.get("model") not in models.MODELS:
        raise ValueError(f"{path} does not hold the settings of a minigan run; start a new "
                         "run with another --out")
    asked = saved.pop("asked", None)
    saved.update(asked if isinstance(asked, dict) else {})
    return {k: v for k, v in saved.items() if k in DEFAULTS and k not in NOT_SAVED}


def saved_config(config, used=None):
    """The settings to save with a run (config.json, checkpoint): JSON, no run-only keys.

    ``used`` maps settings to what the run actually used (the device, the data
    folder); they replace the asked values, which are kept under ``"asked"``.
    """
    saved = {k: v for k, v in config.items() if k not in NOT_SAVED}
    if used:
        saved["asked"] = {k: saved.get(k) for k in used}
        saved.update(used)
    return saved


def _restart_config(folder, resume, options):
    """Settings to start over a run stopped before its first checkpoint (``folder/config.json``).

    The run keeps the settings it was started with; only :data:`RESUME_MAY_CHANGE` may change.
    """
    saved = read_config(folder)
    _check_unchanged(options, saved, resume, f"the run in {folder}", "config.json")
    config = _new_config({**saved, **options})
    if "out" not in options:
        config["out"] = str(folder)
    config["restart"] = str(folder)
    return config


def _new_config(options):
    """A new run's settings: ``options`` over :data:`DEFAULTS` over the model's defaults."""
    config = {**DEFAULTS, **options}
    if config["model"] not in models.MODELS:
        raise ValueError(
            f"unknown model {config['model']!r}; choose one of {sorted(models.MODELS)}")
    spec = models.MODELS[config["model"]]
    if config["loss"] not in losses.LOSSES:
        raise ValueError(f"unknown loss {config['loss']!r}; choose one of {losses.LOSSES}")
    for key, value in WGAN_GP_DEFAULTS.items():
        if config["loss"] == "wgan-gp" and config[key] is None:
            config[key] = value
    if config["k"] is None:
        config["k"] = 1
    for key in ("epochs", "batch_size", "lr", "betas"):
        if config[key] is None:
            config[key] = getattr(spec, key)
    config["betas"] = list(config["betas"])
    lr, seed = config["lr"], config["seed"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (
            math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite positive number, got {lr!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    _check_remedies(config)
    return config


def _check_remedies(config):
    """Refuse settings of the remedies against mode collapse that cannot be built."""
    pack, ema, minibatch = config["pack"], config["ema"], config["minibatch"]
    if isinstance(pack, bool) or not isinstance(pack, int) or pack < 1:
        raise ValueError(f"pack must be a positive integer, got {pack!r}")
    if int(config["batch_size"]) % pack:
        raise ValueError(f"--pack {pack} cuts each batch into packs of {pack}, but the batch "
                         f"size {config['batch_size']} is not a multiple of it; choose a "
                         "--batch-size that is")
    if ema is not None and not (isinstance(ema, (int, float)) and 0.0 <= ema < 1.0):
        raise ValueError(f"ema must be a decay in [0, 1) such as 0.999, got {ema!r}")
    if minibatch is not None and minibatch not in models.MINIBATCH:
        raise ValueError(f"unknown minibatch layer {minibatch!r}; use one of {models.MINIBATCH}")


def default_out(model):
    """``runs/<model>-<date>-<time>``, with ``-2``, ``-3``, ... when that folder exists."""
    base = Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def check_out(out, resuming_here):
    """Refuse an ``out`` that cannot be written or would overwrite another run; write nothing.

    ``resuming_here`` is True when the run resumed is the one in ``out``.
    """
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise ValueError(f"--out {out} exists and is not a folder; choose another --out")
        held = sorted(name for name in RUN_FILES if (out / name).exists()
                      and not (name == "samples" and not any((out / name).iterdir())))
        if held and not resuming_here:
            if (out / CHECKPOINT).exists():
                raise ValueError(
                    f"--out {out} already holds a run ({', '.join(held)}); continue it with "
                    f"--resume {out}, or choose another --out"
                )
            if (out / CONFIG).is_file():
                raise ValueError(
                    f"--out {out} already holds a run ({', '.join(held)}) stopped before its "
                    f"first checkpoint; start it over with --resume {out} (its saved "
                    "settings), or choose another --out"
                )
            raise ValueError(
                f"--out {out} already holds a run ({', '.join(held)}) but no {CONFIG} or "
                f"{CHECKPOINT} to continue from; choose another --out"
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


def load_generator(path, ema=True):
    """The trained generator of a checkpoint file, on the active device, in eval mode.

    Parameters
    ----------
    path : str or os.PathLike
        A checkpoint file (see :func:`find_checkpoint` for a run folder).
    ema : bool
        Take the moving average of G's weights when the run kept one (``--ema``),
        else G's own weights.

    Returns
    -------
    generator : minigan.nn.layers.Sequential (a :class:`~minigan.nn.layers.ConditionalGenerator`
        for a conditional run)
    spec : minigan.gan.models.ModelSpec
        Its model: ``noise_dim`` and ``pixel_range`` for sampling and drawing.
    config : dict
        The run's settings (``prior``, ``dtype``, ...), and ``weights``: ``"G_ema"``
        (the moving average) or ``"G"``, the weights loaded.
    """
    ckpt = checkpoint.load_checkpoint(path)
    config = ckpt["config"]
    name = config.get("model")
    if name not in models.MODELS:
        raise checkpoint.CheckpointError(
            f"checkpoint {path} names model {name!r}, which this minigan does not know "
            f"({sorted(models.MODELS)})")
    dtype = np.dtype(config.get("dtype", "float32"))
    G, _ = models.build(name, np.random.default_rng(0), dtype, **models.remedies(config))
    weights = "G_ema" if ema and ckpt.get("G_ema") else "G"
    checkpoint.restore({**ckpt, "G": ckpt[weights]}, generator=G, model=name)
    return G.eval(), models.MODELS[name], {**config, "weights": weights}
