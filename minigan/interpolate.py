r"""``minigan interpolate``: walk between noise vectors and watch the digits change.

A grid of ``pairs`` rows; each row starts at a noise vector :math:`z_0`,
ends at another, :math:`z_1`, and shows the generator at ``steps`` evenly
spaced points between them, along a straight line or (``--slerp``) along the
great circle through them (White 2016; the ganhacks advice):

.. math::
    \text{lerp}(t) = (1 - t)\, z_0 + t\, z_1, \qquad
    \text{slerp}(t) = \frac{\sin((1 - t)\,\Omega)}{\sin \Omega}\, z_0
        + \frac{\sin(t\,\Omega)}{\sin \Omega}\, z_1,
    \quad \cos \Omega = \frac{z_0 \cdot z_1}{|z_0|\,|z_1|}.

In 100 dimensions a Gaussian vector has norm close to 10, and the midpoint of
a straight line between two of them has norm close to :math:`10/\sqrt 2`, a
region the generator never saw in training; the great circle keeps the norm
(exactly, when :math:`|z_0| = |z_1|`). A conditional run keeps one digit per
row (drawn at random, or ``--label L``)::

    minigan interpolate --checkpoint runs/vanilla --steps 10 --pairs 8 --slerp
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import backend, gan, plotting, runs

__all__ = ["COMMANDS", "lerp", "slerp", "path", "add_parser", "run"]

COMMANDS = ("interpolate",)


def lerp(z0, z1, t):
    """Points ``(1 - t) z0 + t z1`` for each ``t``: ``(len(t), d)`` from two ``(d,)`` vectors."""
    t = np.asarray(t, dtype=np.float64)[:, None]
    return (1 - t) * z0 + t * z1


def slerp(z0, z1, t):
    """Points on the great circle from ``z0`` to ``z1`` (see the module docstring).

    Vectors pointing (nearly) the same way, where :math:`\\sin\\Omega` vanishes, fall
    back to :func:`lerp` (the arc is then the line). Vectors pointing (nearly) opposite
    ways are refused: every great circle through them is as short, so the path is not
    defined, and a line between them passes through 0.
    """
    z0, z1 = np.asarray(z0, dtype=np.float64), np.asarray(z1, dtype=np.float64)
    cos = float(z0 @ z1) / max(float(np.linalg.norm(z0) * np.linalg.norm(z1)), 1e-300)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6 and cos < 0:
        raise ValueError("slerp: z0 and z1 point in opposite directions, so no single great "
                         "circle joins them; move one of them, or use lerp")
    if np.sin(omega) < 1e-6:
        return lerp(z0, z1, t)
    t = np.asarray(t, dtype=np.float64)[:, None]
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def path(z0, z1, steps, spherical=False):
    """``steps`` points from ``z0`` to ``z1``, both ends included."""
    t = np.linspace(0.0, 1.0, int(steps))
    return (slerp if spherical else lerp)(z0, z1, t)


def add_parser(subparsers):
    """Add ``minigan interpolate`` to the command line's subparsers."""
    p = subparsers.add_parser("interpolate", help="a grid walking between noise vectors",
                              description="Draw a grid: each row walks from one noise vector "
                              "to another, linearly or (--slerp) along a great circle.")
    p.add_argument("--checkpoint", required=True, help="checkpoint.npz, or a run folder")
    p.add_argument("--steps", type=int, default=10, help="images per row, ends included "
                   "(default 10)")
    p.add_argument("--pairs", type=int, default=8, help="rows: pairs of noise vectors (default 8)")
    p.add_argument("--slerp", action="store_true", help="along the great circle, not a line")
    p.add_argument("--label", type=int, choices=range(10), metavar="L",
                   help="a conditional run: every row draws the digit L (default: one at random "
                   "per row)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    p.add_argument("--out", default="interpolation.png", help="image file (default "
                   "interpolation.png)")
    p.add_argument("--no-ema", dest="ema", action="store_false",
                   help="use G's own weights even when the run kept their moving average")
    p.add_argument("--device", choices=("cpu", "gpu", "auto"), default=None)


def run(args):
    """Run ``minigan interpolate``; returns the exit code."""
    if args.steps < 2 or args.pairs < 1:
        raise ValueError(f"--steps must be at least 2 and --pairs at least 1, got {args.steps} "
                         f"and {args.pairs}")
    out = Path(args.out)
    if plotting.grid_format(out) is None:
        raise ValueError(f"--out {out}: cannot tell the image format from the name; end it in "
                         f"one of {', '.join('.' + f for f in plotting.GRID_FORMATS)}")
    backend.use(args.device)
    ckpt = runs.find_checkpoint(args.checkpoint, "--checkpoint")
    G, spec, config = runs.load_generator(ckpt, ema=args.ema)
    rng = np.random.default_rng(args.seed)
    prior, dtype = config.get("prior", "gaussian"), config.get("dtype", "float32")
    if args.slerp and prior != "gaussian":
        raise ValueError(f"--slerp keeps the norm of a Gaussian prior's noise; this run's prior "
                         f"is {prior} on [-1, 1]^{spec.noise_dim}, where a great circle leaves the "
                         "cube the generator was trained on and the straight line (without "
                         "--slerp) stays inside it")
    ends = backend.to_host(gan.sample_noise(2 * args.pairs, spec.noise_dim, prior, rng, "float64"))
    z = np.concatenate([path(ends[2 * i], ends[2 * i + 1], args.steps, args.slerp)
                        for i in range(args.pairs)])
    z = backend.asarray(z, dtype=dtype)
    if config.get("conditional"):
        from . import conditional
        if args.label is None:
            labels = rng.integers(0, conditional.CLASSES, args.pairs)
        else:
            labels = np.full(args.pairs, args.label)
        images = G.images(conditional.labelled_noise(z, np.repeat(labels, args.steps)))
    else:
        if args.label is not None:
            raise ValueError(f"--label {args.label}: {ckpt} is not of a conditional run")
        images = G.forward(z)
    plotting.save_grid(images, out, nrow=args.steps, value_range=spec.pixel_range)
    how = "great circles (slerp)" if args.slerp else "straight lines"
    weights = "moving average of G's weights" if config["weights"] == "G_ema" else "G's weights"
    print(f"wrote {args.pairs} x {args.steps} interpolations along {how} from {ckpt} "
          f"({weights}) to {out}")
    return 0
