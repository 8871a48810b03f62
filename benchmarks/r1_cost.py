"""What R1 costs the default's iteration: ``GAN.train_iteration`` of ``mlp`` with the model's
R1 and without it, taking turns in one process.

    PYTHONPATH=. python benchmarks/r1_cost.py [--rounds 12] [--iters 40]

Both runners are ``bench_cpu.minigan_runner`` (the model's layers, game and remedies, its
moving average of G, a pool of real batches), one with ``r1`` at the model's value and one
at 0; after 20 untimed iterations of each they take turns, the order flipping every round.
Prints the median and the fastest round's milliseconds per iteration of each and their
ratio, beside NumPy's BLAS and the kernels it picked. A machine whose speed changes during
the run slows both alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))      # minigan, from a checkout
sys.path.insert(0, HERE)                       # bench_cpu beside this script

import bench_cpu  # noqa: E402

from minigan.gan import models  # noqa: E402


def build_parser():
    """The script's options: a function, so that they can be read without running the script."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    p.add_argument("--rounds", type=int, default=12, help="rounds of each (default 12)")
    p.add_argument("--iters", type=int, default=40, help="iterations per round (default 40)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    spec = models.MODELS["mlp"]
    gamma = spec.defaults.get("r1", 0.0)
    times = bench_cpu.variant_rounds(
        {r1: dataclasses.replace(spec, defaults=dict(spec.defaults, r1=r1)) for r1 in (0.0, gamma)},
        np, args.rounds, args.iters)
    print(f"numpy {np.__version__}, BLAS {bench_cpu.blas_description(np)}")
    for r1, ts in times.items():
        print(f"mlp, R1 {r1}: {np.median(ts):.2f} ms per iteration (fastest round {min(ts):.2f})")
    print(f"with R1 / without: {np.median(times[gamma]) / np.median(times[0.0]):.3f}")


if __name__ == "__main__":
    main()
