"""Checkpoints: one ``.npz`` file holding everything needed to continue a run.

>>> save_checkpoint("run/checkpoint.npz", generator=G, discriminator=D,   # doctest: +SKIP
...                 g_opt=g_opt, d_opt=d_opt, iteration=468, epoch=1,
...                 rng_states={"noise": gan_model.rng.bit_generator.state}, config=config)
>>> ckpt = load_checkpoint("run/checkpoint.npz")                          # doctest: +SKIP
>>> restore(ckpt, generator=G, discriminator=D, g_opt=g_opt, d_opt=d_opt,  # doctest: +SKIP
...         model="vanilla", rngs={"noise": gan_model.rng})

Save every random generator the run draws from (its noise, its data order) and restore them
all: the run then goes on as if it had never stopped, bit for bit. A moving average of G
(``g_ema``) is saved with its count of updates and restored with it. Two numbers of a
:class:`~minigan.gan.GAN` are the caller's to keep, in ``extra`` (the trainer does): its
``progress`` through an instance noise schedule, and ``last_r1``, the lazily taken R1's
last value, which the iterations between two R1 steps report (restored without it, they
report 0 until the next R1 step; the weights go on the same).

Layout of the archive (every entry is a plain array, so it loads with
``allow_pickle=False``: a checkpoint is data, never code)::

    minigan          0-d str, JSON {"format": "minigan-checkpoint", "version": 1}
    config           0-d str, JSON of the run's settings (model name included)
    counters         0-d str, JSON {"iteration": ..., "epoch": ...}
    rng_states       0-d str, JSON {name: Generator.bit_generator.state}
    extra            0-d str, JSON of the non-array entries of ``extra``
    G/<key>          generator parameters and buffers, e.g. "G/0.W", "G/1.running_mean"
    D/<key>          discriminator parameters and buffers
    g_opt/<key>      generator optimizer state: "g_opt/t", "g_opt/m.0", "g_opt/v.0", ...
                     (Adam's "g_opt/t.0": the updates of array 0, where fewer than t)
    d_opt/<key>      discriminator optimizer state
    G_ema/<key>      the moving average of G's weights (runs with --ema; optional)
    extra/<name>     the array entries of ``extra`` (e.g. a fixed noise batch)

Arrays are brought to the host first, so a checkpoint written on the GPU
loads on the CPU and the other way round. The file is written atomically:
into a temporary file in the same folder, flushed and fsync'ed, then renamed
over the old one with ``os.replace``. A crash at any moment leaves either the
previous checkpoint or the new one, whole.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from minigan import backend
from minigan.data.npz import NpzError, read_npz
from minigan.nn.layers import StateError

from .fileio import atomic_write

__all__ = ["CheckpointError", "NotFinite", "not_of_this_run", "save_checkpoint", "read_meta",
           "load_checkpoint", "restore", "FORMAT", "VERSION", "MAX_BYTES", "MAX_JSON"]

FORMAT = "minigan-checkpoint"
VERSION = 1
_PARTS = ("G", "D", "g_opt", "d_opt", "G_ema")
_JSON_KEYS = ("minigan", "config", "counters", "rng_states", "extra")


class CheckpointError(ValueError):
    """A file is not a usable minigan checkpoint, or does not fit the model it is loaded into."""


def not_of_this_run(path, what):
    """The :class:`CheckpointError` of the checkpoint at ``path`` whose ``what`` is wrong for
    the run it continues: ``checkpoint PATH: WHAT; the file is damaged or not of this run``
    (the one wording of :func:`restore`'s and the trainer's checks)."""
    return CheckpointError(f"checkpoint {path}: {what}; the file is damaged or not of this run")


class NotFinite(CheckpointError):
    """A state to save holds NaN or inf (``entry`` names the first such array): nothing was
    written, and the last good checkpoint stays."""

    def __init__(self, message, entry):
        super().__init__(message)
        self.entry = entry


def is_checkpoint(names):
    """Whether an ``.npz`` archive whose entries are ``names`` (``ZipFile.namelist()``) is a
    minigan checkpoint: it holds the ``minigan`` header entry :func:`save_checkpoint` writes
    (told without reading any entry; :func:`read_meta` checks the rest)."""
    return "minigan.npy" in names


def _json_array(obj, key="?"):
    """``obj`` as JSON in a 0-d unicode array (never an object array); standard JSON only: a
    CheckpointError names where a value is not (NaN, or a NumPy scalar or another object)."""
    try:
        return np.array(json.dumps(obj, sort_keys=True, allow_nan=False))
    except ValueError as exc:  # NaN or infinity: not JSON
        raise CheckpointError(f"checkpoint entry '{key}' holds a non-finite number ({exc})") \
            from None
    except TypeError as exc:   # json's "Object of type float32 is not JSON serializable"
        found = _not_json(obj, key)
        if found is None:      # keys of several types, which sort_keys cannot order
            raise CheckpointError(f"checkpoint entry '{key}' is not standard JSON ({exc}); "
                                  "give it keys that are all strings") from None
        where, value = found
        kind = ("numpy.random.Generator" if isinstance(value, np.random.Generator) else
                f"{type(value).__module__}.{type(value).__name__}".removeprefix("builtins."))
        hint = ("its state, rng.bit_generator.state" if isinstance(value, np.random.Generator)
                else "a string key" if where.endswith(f"key {value!r}")
                else "a plain Python value (float(x), int(x), x.tolist())")
        raise CheckpointError(f"checkpoint entry '{key}': {where} is a {kind}, which JSON does "
                              f"not write; give {hint}") from None


def _not_json(obj, where):
    """``(path, value)`` of the first value inside ``obj`` (dicts, lists and tuples of JSON's
    own types) that JSON does not write, its path as ``where['a'][0]`` (a key: ``where``'s
    key ...); None when there is none."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                return f"{where}'s key {k!r}", k
            found = _not_json(v, f"{where}[{k!r}]")
            if found:
                return found
        return None
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            found = _not_json(v, f"{where}[{i}]")
            if found:
                return found
        return None
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return None
    return where, obj


def _non_finite(arrays):
    """The first key whose floating array holds NaN or inf, or None."""
    for key, value in arrays.items():
        if value.dtype.kind in "fc" and not np.isfinite(value).all():
            return key
    return None


def _finite(array):
    xp = backend.get_array_module(array)
    return bool(xp.isfinite(array).all())


def _is_array(value):
    return isinstance(value, np.ndarray) or backend.on_gpu(value)


def save_checkpoint(path, *, generator, discriminator, g_opt, d_opt, iteration, epoch,
                    rng_states, config, extra=None, g_ema=None):
    """Write a checkpoint to ``path`` (a ``.npz`` file), atomically.

    Parameters
    ----------
    path : str or os.PathLike
    generator, discriminator : minigan.nn.layers.Layer
        Their ``state_dict()`` (parameters and buffers) is saved.
    g_opt, d_opt : minigan.nn.optim.Optimizer
        Their ``state_dict()`` (step count and moments) is saved.
    iteration, epoch : int
        Counters: iterations and epochs completed.
    rng_states : dict
        Name -> ``Generator.bit_generator.state`` (JSON-serializable dicts).
    config : dict
        The run's settings, JSON-serializable; ``config["model"]`` names the
        architecture and is checked by :func:`restore`.
    extra : dict, optional
        More entries: arrays (saved as arrays) or JSON-serializable values.
    g_ema : minigan.gan.ema.EMA, optional
        The moving average of G's weights, saved as ``G_ema/<key>``, and its count of
        updates (``extra["ema_updates"]``), which sets its warm-up's decay.

    Raises
    ------
    CheckpointError
        When an array holds NaN or inf (nothing is written then: the previous
        checkpoint stays), or a value is not standard JSON.
    """
    arrays = {
        "minigan": _json_array({"format": FORMAT, "version": VERSION}),
        "config": _json_array(config, "config"),
        "counters": _json_array({"iteration": int(iteration), "epoch": int(epoch)}, "counters"),
        "rng_states": _json_array(rng_states, "rng_states"),
    }
    parts = {"G": generator.state_dict(), "D": discriminator.state_dict(),
             "g_opt": g_opt.state_dict(), "d_opt": d_opt.state_dict()}
    if g_ema is not None:
        parts["G_ema"] = g_ema.state_dict()
    for part, state in parts.items():
        for key, value in state.items():
            arrays[f"{part}/{key}"] = backend.to_host(value)
    plain = {} if g_ema is None else {"ema_updates": int(g_ema.updates)}
    for name, value in (extra or {}).items():
        if _is_array(value):
            arrays[f"extra/{name}"] = backend.to_host(value)
        else:
            plain[name] = value
    arrays["extra"] = _json_array(plain, "extra")
    for key, value in arrays.items():
        if value.dtype.hasobject:
            raise CheckpointError(f"checkpoint entry '{key}' is an object array; save plain arrays")
    bad = _non_finite(arrays)
    if bad is not None:  # a diverged model is never saved over a good checkpoint
        raise NotFinite(
            f"not saving {path}: array '{bad}' holds NaN or inf (the training diverged)", bad)
    atomic_write(path, lambda f: np.savez(f, **arrays))


#: The longest JSON entry read (the settings, counters, random states: a few KB).
MAX_JSON = 1 << 20
#: The most array bytes a checkpoint may hold when nothing bounds it more closely.
MAX_BYTES = 1 << 31
#: Counters and step indices beyond this are not a run's.
MAX_COUNT = 10 ** 12
_ARRAY_KINDS = {"G": "f", "D": "f", "G_ema": "f", "g_opt": "fi", "d_opt": "fi", "extra": "fiu"}
#: The entries of ``extra`` a run writes, and what they hold: the grid's noise (floating), an
#: order of the epoch's images and the images' groups (integers, used as indices).
_EXTRA_KINDS = {"extra/fixed_z": ("f", "floating-point numbers (the grid's noise)"),
                "extra/perm": ("iu", "integers (an order of the epoch's images)"),
                "extra/clusters": ("iu", "integers (each training image's group)")}


def _json_limit(name, shape, dtype):
    if shape != () or dtype.kind != "U" or dtype.itemsize > 4 * MAX_JSON:
        raise ValueError(f"should be a JSON text of at most {MAX_JSON:,} characters")


def _array_limit(expect):
    """The check of each array entry's name, shape and dtype (``expect``: key -> shape)."""
    def limit(name, shape, dtype):
        part, sep, key = name.partition("/")
        if not sep or part not in _ARRAY_KINDS or not key:
            raise ValueError("is not an entry of a minigan checkpoint")
        if dtype.kind not in _ARRAY_KINDS[part]:
            raise ValueError(f"has dtype {dtype}; a checkpoint's {part} entries are "
                             f"{'floating' if _ARRAY_KINDS[part] == 'f' else 'numbers'}")
        if name in _EXTRA_KINDS and dtype.kind not in _EXTRA_KINDS[name][0]:
            raise ValueError(f"has dtype {dtype}, where a checkpoint holds "
                             f"{_EXTRA_KINDS[name][1]}; the file is damaged: use another "
                             "checkpoint")
        if expect is not None:
            if name not in expect:
                raise ValueError("is not an entry of this model's checkpoint")
            if expect[name] is not None and tuple(shape) != tuple(expect[name]):
                raise ValueError(f"has shape {tuple(shape)}; this model's is "
                                 f"{tuple(expect[name])}")
    return limit


def _count(value, what, path):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise CheckpointError(f"{path}: {what} should be a count (a non-negative integer), got "
                              f"{str(value)[:40]!r}")
    return value


def read_meta(path):
    """The JSON entries of a checkpoint (``minigan``, ``config``, ``counters``,
    ``rng_states``, ``extra``), checked, without reading any array.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    CheckpointError
        If the file is not a minigan checkpoint of a version this minigan reads, or an entry
        is damaged; the message names the file and the entry.
    """
    path = Path(path)
    try:
        entries = read_npz(path, "checkpoint", _json_limit, select=lambda n: n in _JSON_KEYS)
    except NpzError as exc:
        raise CheckpointError(str(exc)) from None
    if "minigan" not in entries:
        raise CheckpointError(f"{path} is not a minigan checkpoint (no 'minigan' entry); give "
                              "a run folder, or the checkpoint.npz minigan train wrote in it")
    meta = {}
    for key in _JSON_KEYS:
        if key not in entries:
            raise CheckpointError(f"{path} is an incomplete minigan checkpoint (no '{key}')")
        try:
            meta[key] = json.loads(str(entries[key][()]))
        except (ValueError, RecursionError) as exc:
            raise CheckpointError(f"{path}: entry '{key}' is not valid JSON "
                                  f"({type(exc).__name__})") from None
        if key != "minigan" and not isinstance(meta[key], dict):
            raise CheckpointError(f"{path}: entry '{key}' should be a JSON object")
    header = meta.pop("minigan")
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a minigan checkpoint (format "
                              f"{str(header)[:60]})")
    version = header.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{path}: the checkpoint version should be a positive integer, "
                              f"got {str(version)[:40]!r}; the file is damaged")
    if version > VERSION:
        raise CheckpointError(f"{path} has checkpoint version {version}, newer than this "
                              f"minigan reads ({VERSION}); upgrade minigan")
    counters = meta["counters"]
    for name in ("iteration", "epoch"):
        _count(counters.get(name), f"counters '{name}'", path)
    for name in _EXTRA_KINDS:            # an array's name: read as the array, checked, or not at all
        key = name.partition("/")[2]
        if key in meta["extra"]:
            raise CheckpointError(f"{path}: entry 'extra' holds '{key}', which a checkpoint "
                                  f"holds as the array '{name}'; the file is damaged")
    return {"path": str(path), **meta}


def load_checkpoint(path, expect=None):
    """Read a checkpoint written by :func:`save_checkpoint`, every entry checked before it is
    read (:func:`minigan.data.npz.read_npz`).

    Parameters
    ----------
    path : str or os.PathLike
    expect : dict, optional
        ``"G/0.W" -> shape`` (None: any shape) for every array the model's checkpoint holds
        (:func:`minigan.app.runs.expected_entries`): any other entry, or another shape, is
        refused before it is read. Without it, any numeric array of the five parts is read,
        up to :data:`MAX_BYTES` in all.

    Returns
    -------
    dict with ``path`` (str), ``config``, ``counters``, ``rng_states``,
    ``extra`` (JSON entries and arrays merged) and ``G``, ``D``, ``g_opt``,
    ``d_opt``, ``G_ema``: dicts of host arrays keyed like the ``state_dict`` they came
    from (``G_ema`` is empty for a run without ``--ema``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    CheckpointError
        If the file is not a minigan checkpoint, holds object arrays (which would need
        pickle), an entry that does not fit, is damaged, or holds an array with NaN or inf.
    """
    meta = read_meta(path)
    budget = MAX_BYTES
    if expect is not None:
        budget = sum(8 * int(np.prod(s, dtype=object)) for s in expect.values() if s is not None)
        budget += 8 * 10 ** 7 * sum(s is None for s in expect.values())
    try:
        entries = read_npz(path, "checkpoint", _array_limit(expect), max_bytes=budget,
                           select=lambda n: n not in _JSON_KEYS)
    except NpzError as exc:
        raise CheckpointError(str(exc)) from None
    bad = _non_finite(entries)
    if bad is not None:
        raise CheckpointError(
            f"{path}: array '{bad}' holds NaN or inf; this checkpoint is of a run that "
            "diverged and cannot be used (take an earlier one, or start a new run)"
        )
    out = {**meta, **{part: {} for part in _PARTS}}   # "extra": the JSON's, arrays join it
    for key, value in entries.items():
        part, _, name = key.partition("/")
        out[part][name] = value
    return out


def restore(ckpt, *, generator=None, discriminator=None, g_opt=None, d_opt=None, model=None,
            g_ema=None, rngs=None):
    """Copy a loaded checkpoint's arrays into models and optimizers, in place.

    Parameters
    ----------
    ckpt : dict
        From :func:`load_checkpoint`.
    generator, discriminator, g_opt, d_opt, g_ema : optional
        Whatever is given is restored through its ``load_state_dict``; ``g_ema`` also takes
        back its count of updates (a checkpoint saved without it leaves the count as it is).
    rngs : dict, optional
        Name -> ``numpy.random.Generator``: each takes back the state saved under its name
        in ``rng_states``.
    model : str, optional
        The architecture name this run builds; compared with the checkpoint's
        ``config["model"]`` first, for a clear error.

    Raises
    ------
    CheckpointError
        When the checkpoint was made by another model, or its arrays do not
        fit (the message names the part, the key and both shapes), or a random generator's
        state is missing or not one, or the moving average's count is not one.
    """
    path = ckpt.get("path", "<checkpoint>")
    made_by = ckpt.get("config", {}).get("model")
    if model is not None and made_by is not None and made_by != model:
        raise CheckpointError(
            f"checkpoint {path} was made by model '{made_by}'; this run builds '{model}' "
            f"(use --model {made_by}, or start a new run without --resume)"
        )
    targets = {"G": generator, "D": discriminator, "g_opt": g_opt, "d_opt": d_opt,
               "G_ema": g_ema}
    for part, target in targets.items():
        if target is None:
            continue
        # an optimizer's own: the entries it needs, not those it may hold (Adam's t.i)
        own = target.required_keys() if hasattr(target, "required_keys") else set(target.state_dict())
        may = target.optional_keys() if hasattr(target, "optional_keys") else set()
        held = set(ckpt.get(part, {}))
        missing = sorted(own - held)
        if missing and held - may <= own:   # entries lost, none in their place (else: other layers)
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise CheckpointError(
                f"checkpoint {path} has no entry '{part}/{missing[0]}'{more}: the file is "
                "damaged, or was made by another minigan version (continue it with that "
                "version, or use another checkpoint)")
        try:
            with np.errstate(over="ignore"):     # a value too large for the model's dtype:
                target.load_state_dict(ckpt[part])   # found just below, named
        except StateError as exc:                # a value out of range: not another version's
            raise CheckpointError(f"checkpoint {path}: '{part}/{exc.key}' {exc.problem}; the "
                                  "file is damaged: use another checkpoint") from None
        except (ValueError, KeyError, TypeError) as exc:
            hint = ""
            if made_by is not None and made_by == model:
                hint = (f"; it names model '{made_by}' too, so it was made by another minigan "
                        f"version, which built '{made_by}' differently: continue it with that "
                        "version, or start a new run (the changelog says what changed)")
            raise CheckpointError(
                f"checkpoint {path} does not fit this model ({part}: {exc}){hint}"
            ) from None
        for key, value in target.state_dict().items():
            # after the cast to the model's dtype (1e39 is inf in float32); a device array's
            # dtype is read from it, not through an implicit copy to the host
            dtype = value.dtype if hasattr(value, "dtype") else np.asarray(value).dtype
            if dtype.kind == "f" and not _finite(value):
                raise CheckpointError(
                    f"checkpoint {path}: '{part}/{key}' is not finite in this model's "
                    f"{dtype} (a value too large for it); the file is "
                    "damaged or not of this model")
    updates = ckpt.get("extra", {}).get("ema_updates")
    if g_ema is not None and updates is not None:
        if isinstance(updates, bool) or not isinstance(updates, int) or updates < 0:
            raise not_of_this_run(path, f"ema_updates should be a count, got "
                                        f"{str(updates)[:40]!r}")
        g_ema.updates = updates
    for name, gen in (rngs or {}).items():
        try:
            gen.bit_generator.state = ckpt["rng_states"][name]
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise not_of_this_run(path, f"the state of its '{name}' random generator is not "
                                        f"one ({type(exc).__name__})") from None
