"""Score a study run's generator with its noise scaled: variety against precision.

    python benchmarks/noise_scale.py results/NAME_G.npz --data-dir DIR \
        [--scales 0.9,0.95,1,1.05,1.1,1.2,1.3] [--draws 3] [--n 5000]

``recipe_study.py`` saves its generators as ``results/NAME_G.npz`` (``G/...`` the raw
weights, ``E/...`` the moving average); this reads the average of a run of the default's
recipe (``--gw 256,512 --gact lrelu --gbn 0 --pn 1 --clusters 30 --label_every 1``, the
architecture of ``minigan train``'s ``mlp`` with its groups) and scores it as the study does
(the lab's scores on ``--n`` digits against the test split's reference, noise seeds 12345,
12346, ...), with the Gaussian coordinates of the noise times each scale: below 1,
BigGAN's truncation trick in its simplest form (more precision, less recall); above 1, the
other way. The first coordinate, which picks the group, is left as drawn, so that each
scale draws the groups in the same shares.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minigan.gan import algorithm, models  # noqa: E402
from minigan.lab import scoring  # noqa: E402
from minigan.nn import layers as L  # noqa: E402

NOISE_DIM = 100
CHUNK = 1000


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("weights", help="a study run's results/NAME_G.npz")
    p.add_argument("--data-dir", required=True, help="the folder with MNIST's test split")
    p.add_argument("--scales", default="0.9,0.95,1,1.05,1.1,1.2,1.3",
                   help="comma-separated factors of the noise's Gaussian coordinates")
    p.add_argument("--draws", type=int, default=3, help="draws of the noise per scale")
    p.add_argument("--n", type=int, default=5000, help="digits scored per draw")
    return p


def load_average(path):
    """The moving average of G that ``recipe_study.py`` saved, in the default's architecture."""
    saved = np.load(path)
    G, _ = models.build("mlp", np.random.default_rng(0), dtype=np.float32, clusters=30,
                        g_label="every")
    G.load_state_dict({k[2:]: saved[k] for k in saved.files if k.startswith("E/")})
    return G


def images(G, scale, seed, n):
    """``n`` digits in [0, 1] of noise seed ``seed``, its Gaussian coordinates times ``scale``."""
    rng, out = np.random.default_rng(seed), []
    with G.evaluating():
        for _ in range(0, n, CHUNK):
            z = algorithm.sample_noise(CHUNK, NOISE_DIM, "gaussian", rng)
            z[:, 1:] *= scale                  # the group (z[:, 0]) as drawn
            out.append(np.asarray(L.generated_images(G, z)).reshape(CHUNK, -1))
    return (np.concatenate(out)[:n].astype(np.float32) + 1) / 2


def main(argv=None):
    a = build_parser().parse_args(argv)
    G = load_average(a.weights)
    ref = scoring.Reference.load(data_dir=a.data_dir, download=False, trained_on="test")
    print("scale  FID per draw                  mean FID  IS    precision  recall")
    for scale in (float(s) for s in a.scales.split(",")):
        rows = [scoring.score_images(images(G, scale, 12345 + d, a.n), ref, parzen=False)
                for d in range(a.draws)]
        fids = [float(r["fid"]) for r in rows]
        print(f"{scale:5.2f}  {' '.join(f'{f:5.2f}' for f in fids):28s}  {np.mean(fids):8.2f}  "
              f"{np.mean([float(r['inception_score']) for r in rows]):4.2f}  "
              f"{np.mean([float(r['precision']) for r in rows]):9.3f}  "
              f"{np.mean([float(r['recall']) for r in rows]):6.3f}", flush=True)


if __name__ == "__main__":
    main()
