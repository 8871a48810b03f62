"""The one training loop: Algorithm 1, iteration after iteration.

The trainer of ``minigan train`` runs it epoch by epoch and the toys run it whole;
everything they differ in comes in as arguments: where the real batches come from,
how far the run has got and how long it is (the instance noise anneals over it), a
schedule of the step size, the moving average of G's weights, and what to do after
each iteration (record a row, draw a frame, answer a Ctrl-C)::

    from minigan.gan import loop
    loop.train(model, next_real_batch, iterations=1000,
               on_iteration=lambda it, stats: print(it, stats["d_loss"]))

Every iteration's losses and D's outputs are checked: the first that is NaN or
infinite raises :class:`Diverged` before anything of that iteration is reported.
"""

from __future__ import annotations

import math

import numpy as np

from minigan.functional.errors import amount, whole_number

__all__ = ["STATS", "Diverged", "train"]

#: What :meth:`minigan.gan.GAN.train_iteration` reports, each a Python float.
STATS = ("d_loss", "g_loss", "d_real", "d_fake", "d_gen")


class Diverged(ArithmeticError):
    """The losses or D's outputs of an iteration are NaN or infinite.

    Attributes
    ----------
    iteration : int
        The iteration that diverged, counted from 1 over the whole run.
    stats : dict
        Its numbers (those of :data:`STATS` that are not finite say what went).
    """

    def __init__(self, iteration, stats):
        self.iteration, self.stats = int(iteration), dict(stats)
        bad = ", ".join(f"{k}={stats[k]}" for k in STATS if not math.isfinite(stats[k]))
        super().__init__(f"training diverged at iteration {iteration}: {bad}")


def train(model, next_real_batch, iterations, *, done=0, total=None, ema=None, lr=None,
          on_iteration=None, on_step=None, stop=None):
    """Run up to ``iterations`` iterations of Algorithm 1 on ``model``.

    Parameters
    ----------
    model : minigan.gan.GAN
    next_real_batch : callable
        A fresh real minibatch on the device at each call (``k`` calls an iteration).
    iterations : int
        Iterations to run now.
    done : int
        Iterations the run did before this call (a resumed run, a new epoch).
    total : int, optional
        Iterations of the whole run, default ``done + iterations``. Before each
        iteration ``model.progress = done_so_far / total``, which anneals the instance
        noise to 0 over the run.
    ema : minigan.gan.ema.EMA, optional
        Updated after every G step whose iteration reports all of :data:`STATS`, finite (the
        average of a run that diverges holds G as it was before the step that did).
    lr : callable, optional
        ``lr(i)``: the step size of both optimizers for the iteration with ``i``
        iterations before it (``None``: the optimizers keep theirs), a finite number >= 0
        (0 for a warm-up's first iteration).
    on_iteration : callable, optional
        ``on_iteration(iteration, stats)`` after each iteration, ``iteration`` counted
        from 1 over the run, ``stats`` the dict of :data:`STATS`.
    on_step : callable, optional
        ``on_step(iteration, step)`` after each D step (``step``: ``"d1"`` ... ``"dk"``)
        and after the G step (``"g"``, before ``ema`` is updated) of every iteration
        (:meth:`minigan.gan.GAN.train_iteration`).
    stop : callable, optional
        Asked after each iteration; True ends the loop there.

    Returns
    -------
    int : the iterations run (fewer than ``iterations`` when ``stop`` said so)

    Raises
    ------
    Diverged
        When an iteration's numbers are not finite (``on_iteration`` is not called for it).
    ValueError
        When ``total`` is less than ``done + iterations``; when ``lr(i)`` is not a finite
        number >= 0 (before the iteration runs); when an iteration reports fewer
        numbers than :data:`STATS` (a step of your own, a subclass of
        :class:`minigan.gan.GAN`, that returns the losses alone).
    """
    iterations, done = whole_number("iterations", iterations, 0), whole_number("done", done, 0)
    if lr is not None and not callable(lr):
        raise TypeError(f"lr must be a schedule, a function lr(i) of the iterations done before "
                        f"(lambda i: {lr!r} for a constant one), or None to keep the "
                        f"optimizers' own, got {lr!r}")
    if ema is not None and not callable(getattr(ema, "update", None)):
        raise TypeError(f"ema must be a minigan.gan.ema.EMA (EMA(model.G, decay)) or None, "
                        f"got {ema!r}")
    if total is None:
        total = done + iterations
    elif whole_number("total", total, 0) < done + iterations:     # 0: a run of no iterations
        raise ValueError(f"total ({total}), the iterations of the whole run, is less than done + "
                         f"iterations ({done} + {iterations}): the instance noise's progress "
                         "done / total would pass 1; give the run's length, or leave total out")
    for i in range(iterations):
        before = done + i
        model.progress = before / total
        if lr is not None:     # checked first: a NaN or a negative step would ruin the weights
            model.g_opt.lr = model.d_opt.lr = amount(
                f"the step size lr({before}) that the schedule gives", lr(before))
        # an overflow or 0 / 0 shows in the iteration's losses or D's outputs, which the check
        # below turns into Diverged: NumPy's warnings of it would only come before that line
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if on_step is None:
                stats = model.train_iteration(next_real_batch)
            else:
                stats = model.train_iteration(next_real_batch,
                                              lambda step, it=before + 1: on_step(it, step))
        missing = [k for k in STATS if k not in stats]
        if missing:
            raise ValueError(
                f"the iteration reported no {', '.join(missing)} (it gave {', '.join(stats)}): "
                "a step of your own returns what GAN's steps do, d_loss, d_real and d_fake "
                "from d_step (D's mean outputs, self.game.mean_output(outputs)), g_loss and "
                "d_gen from g_step (loop.STATS)")
        if not all(math.isfinite(stats[k]) for k in STATS):
            raise Diverged(before + 1, stats)
        if ema is not None:          # after the checks: the average never takes a step they refuse
            ema.update()
        if on_iteration is not None:
            on_iteration(before + 1, stats)
        if stop is not None and stop():
            return i + 1
    return iterations
