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

import numpy as np

__all__ = ["lerp", "slerp", "path"]

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
