"""When the game has stopped being a game.

A GAN can run to its last iteration with finite losses and learn nothing: with a step
size far too large, D soon tells every real sample from every fake one with certainty
(mean D(x) 1, mean D(G(z)) 0 in the cross-entropy game), G's loss grows without bound or
its gradient vanishes, and the digits stay blobs. Nothing is NaN, so nothing stops the
run. This module names such a stretch: D *saturated* on both batches (the game's own
criterion, :meth:`minigan.gan.games.Game.saturated`) for :data:`STRETCH` iterations in a
row. The trainer says so in its log and shades it in ``loss_curves.png``, and lets the
run go on, since a run may recover.

>>> from minigan.gan import games
>>> watch = GameWatch(games.get("gan"), stretch=3)
>>> [watch.update(i, {"d_real": 1.0, "d_fake": 0.0}) for i in (1, 2, 3, 4)]
[None, None, 'stopped', None]
>>> watch.update(5, {"d_real": 0.6, "d_fake": 0.4})
'resumed'
"""

from __future__ import annotations

from minigan.functional.errors import whole_number

from . import games

__all__ = ["STRETCH", "GameWatch", "stretches"]

#: Iterations in a row with D saturated on both batches before the game counts as stopped.
STRETCH = 200


class GameWatch:
    """Follows a run's iterations and says when the game stops and when it resumes.

    Parameters
    ----------
    game : minigan.gan.games.Game or str
        The game, or its name (``"gan"``, ``"hinge"``, ...: :func:`minigan.gan.games.get`).
    stretch : int
        Saturated iterations in a row that make a stop (:data:`STRETCH`), a whole number
        >= 1 (0 would never count a stop, 2.5 would count 2).
    """

    def __init__(self, game, stretch=STRETCH):
        self.game = games.get(game)
        self.stretch = whole_number("stretch (saturated iterations in a row)", stretch, 1)
        self.run_length, self.stopped, self.since = 0, False, None

    def update(self, iteration, stats):
        """Take one iteration's stats; return ``"stopped"`` on the iteration that completes a
        saturated stretch, ``"resumed"`` on the first unsaturated one after it, else None."""
        if self.game.saturated(stats["d_real"], stats["d_fake"]):
            self.run_length += 1
            if self.run_length == 1:
                self.since = iteration
            if self.run_length == self.stretch and not self.stopped:
                self.stopped = True
                return "stopped"
            return None
        self.run_length = 0
        if self.stopped:
            self.stopped = False
            return "resumed"
        return None


def stretches(rows, game, stretch=STRETCH):
    """The ``(first, last)`` iterations of every saturated stretch of at least ``stretch``
    iterations in the rows of ``metrics.csv`` (numbers or strings); ``game`` as in
    :class:`GameWatch`."""
    game = games.get(game)
    stretch = whole_number("stretch (saturated iterations in a row)", stretch, 1)
    out, first, last = [], None, None
    for row in rows:
        it = int(float(row["iteration"]))
        if game.saturated(float(row["d_real"]), float(row["d_fake"])):
            first, last = (it if first is None else first), it
            continue
        if first is not None and last - first + 1 >= stretch:
            out.append((first, last))
        first = None
    if first is not None and last - first + 1 >= stretch:
        out.append((first, last))
    return out
