"""Two ways of drawing from trained runs, scored beside the plain draw: neither lowered FID.

    python benchmarks/drawing_tries.py RUN [RUN ...] --data-dir DIR [--draws 3] \
        [--temperatures 2,1,0.5] [--pool 40000]

Each RUN is a run folder of ``minigan train`` (its checkpoint's moving average of G, and D);
the digits are scored as ``minigan eval`` scores them (the lab's scores of 5,000 digits
against the reference of the first run's split, the test split's for a run on the test
split), without the Parzen window.

- **A mixture of the runs** (two or more RUNs): each draw takes an equal share of 5,000
  digits from each run, run k's from the noise of seed ``s + 100 k`` (so that no two runs
  share a noise), ``s`` = 0, 1, ... for the ``--draws`` draws, the shares shuffled together.
  Where each run misses digits the other draws, the mixture's recall and FID would gain.
- **D's rejection sampling** (of the first RUN): a ``--pool`` of its digits of noise seed 0,
  each kept with probability ``min(1, exp((l - l95) / T))``, ``l`` the logit D gives it
  (judged in batches of the run's size, D in training mode, as the G step judges), ``l95``
  the pool's 95th percentile, for each temperature T: rejection sampling of
  ``p_g(x) exp(l / T)``, which is the real digits' distribution where D is the optimal
  cross-entropy D and T = 1 (Azadi et al. 2019, "Discriminator rejection sampling"). The
  first 5,000 digits kept are scored; "plain" is the pool's first 5,000, the digits
  ``minigan eval RUN`` scores.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minigan import backend  # noqa: E402
from minigan.app import runs as run_files  # noqa: E402
from minigan.lab import scoring  # noqa: E402
from minigan.nn import layers as L  # noqa: E402

SCORED = 5000
SEED_STRIDE = 100        # run k of a mixture draws the noise of seed s + 100 k


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders of minigan train")
    p.add_argument("--data-dir", required=True, help="the folder with MNIST's test split")
    p.add_argument("--draws", type=int, default=3, help="draws of the mixture (default 3)")
    p.add_argument("--temperatures", default="2,1,0.5",
                   help="comma-separated temperatures T of the rejection (default 2,1,0.5)")
    p.add_argument("--pool", type=int, default=40000,
                   help="digits drawn for the rejection to keep from (default 40000)")
    return p


def draw(run, n, seed):
    """``(unit, logits)``: ``n`` digits in [0, 1] of ``run``'s average of G from the noise of
    ``seed`` (the noise ``minigan eval --seed`` draws), and D's logit of each."""
    G, spec, config, D, _ = run_files.load_players(run)
    noise = scoring.scoring_noise(spec.noise_dim, config.get("prior", "gaussian"),
                                  np.random.default_rng(seed), np.float32, False)(n)
    batch = config["batch_size"]
    images, logits = [], []
    with G.evaluating():
        for i in range(0, n, batch):
            out = G.forward(noise[i:i + batch])        # what D judges: a group's one-hot too
            logits.append(np.asarray(D.forward(out)).ravel())
            images.append(np.asarray(L.generated_images(G, noise[i:i + batch])))
    images = np.concatenate(images).reshape(n, -1).astype(np.float32)
    unit = (images + 1) / 2 if spec.scale == "tanh" else images
    return unit, np.concatenate(logits)


def line(name, scores):
    return (f"{name:34s} IS {scores['inception_score']:.2f}  FID {scores['fid']:.3f}  "
            f"precision {scores['precision']:.3f}  recall {scores['recall']:.3f}  "
            f"classes {scores['classes_covered']}  shares (%) 0..9 "
            + " ".join(f"{100 * h:.0f}" for h in scores["histogram"]))


def mixture(runs, ref, draws):
    share = SCORED // len(runs)
    for s in range(draws):
        parts = [draw(run, share, s + SEED_STRIDE * k)[0] for k, run in enumerate(runs)]
        mixed = np.concatenate(parts)
        mixed = mixed[np.random.default_rng(s).permutation(len(mixed))]
        print(line(f"mixture, draw {s}", scoring.score_images(mixed, ref, parzen=False)),
              flush=True)


def rejection(run, ref, temperatures, pool):
    unit, logits = draw(run, pool, 0)
    q05, q50, q95 = np.quantile(logits, [0.05, 0.5, 0.95])
    print(f"{run}: D's logits of {pool:,} digits: 5% {q05:.2f}, median {q50:.2f}, "
          f"95% {q95:.2f}, largest {logits.max():.2f}")
    print(line("plain", scoring.score_images(unit[:SCORED], ref, parzen=False)), flush=True)
    uniform = np.random.default_rng(1).random(pool)
    for T in temperatures:
        kept = np.flatnonzero(uniform < np.minimum(1.0, np.exp((logits - q95) / T)))
        name = f"rejection T = {T:g}, {len(kept) / pool:.0%} kept"
        if len(kept) < SCORED:
            print(f"{name}: fewer than {SCORED:,} kept; give a larger --pool")
            continue
        print(line(name, scoring.score_images(unit[kept[:SCORED]], ref, parzen=False)),
              flush=True)


def main(argv=None):
    a = build_parser().parse_args(argv)
    backend.use("cpu")
    trained_on = run_files.run_settings(run_files.find_checkpoint(a.runs[0], "RUN"))["split"]
    ref = scoring.Reference.load(data_dir=a.data_dir, download=False, trained_on=trained_on)
    for run in a.runs:
        s = scoring.score_images(draw(run, SCORED, 0)[0], ref, parzen=False)
        print(line(f"{run} alone, draw 0", s), flush=True)
    if len(a.runs) > 1:
        mixture(a.runs, ref, a.draws)
    rejection(a.runs[0], ref, [float(t) for t in a.temperatures.split(",")], a.pool)


if __name__ == "__main__":
    main()
