"""What a larger batch costs the default's iteration: ``GAN.train_iteration`` of ``mlp`` at
its batch of 128 and at another, taking turns in one process.

    PYTHONPATH=. python benchmarks/batch_cost.py [--batch 256] [--rounds 12] [--iters 40]

Both runners are ``bench_cpu.minigan_runner`` (the model's layers, game and remedies, R1,
its moving average of G, a pool of real batches), one at the model's batch size and one at
``--batch``; after 20 untimed iterations of each they take turns, the order flipping every
round. Prints the median and the fastest round's milliseconds per iteration of each and
their ratio, beside NumPy's BLAS and the kernels it picked, as ``r1_cost.py`` does for R1.
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
    p.add_argument("--batch", type=int, default=256, help="the other batch size (default 256)")
    p.add_argument("--rounds", type=int, default=12, help="rounds of each (default 12)")
    p.add_argument("--iters", type=int, default=40, help="iterations per round (default 40)")
    return p


def main(argv=None):
    p = build_parser()
    args = p.parse_args(argv)
    spec = models.MODELS["mlp"]
    sizes = (spec.batch_size, args.batch)
    if args.batch < 2 or args.batch == spec.batch_size:
        p.error(f"--batch must be at least 2 and not the model's {spec.batch_size}")
    times = bench_cpu.variant_rounds(
        {size: dataclasses.replace(spec, batch_size=size) for size in sizes},
        np, args.rounds, args.iters)
    print(f"numpy {np.__version__}, BLAS {bench_cpu.blas_description(np)}")
    for size, ts in times.items():
        print(f"mlp, batch {size}: {np.median(ts):.2f} ms per iteration (fastest round "
              f"{min(ts):.2f})")
    print(f"batch {args.batch} / {spec.batch_size}: "
          f"{np.median(times[args.batch]) / np.median(times[spec.batch_size]):.3f}")


if __name__ == "__main__":
    main()
