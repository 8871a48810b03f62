"""What the field pictures cost a toy run: ``minigan toy NAME`` against ``--no-field``.

    PYTHONPATH=. python benchmarks/toy_pictures.py
    PYTHONPATH=. python benchmarks/toy_pictures.py --toys ring8 --rounds 7

Each round runs each toy twice, each time in a fresh process, at its default iterations
and snapshots: ``minigan toy NAME`` (the snapshots with D's output over the plane, the
arrows along -dL_G/dx and field.npz) and ``minigan toy NAME --no-field`` (the samples
alone), the order flipping every round so that a load that comes and goes hits both.
Each is timed from the start of its process to its end: the command as a user waits for
it (start-up, training, the field, the pictures, the files). One BLAS thread
(``OPENBLAS_NUM_THREADS=1``, what the toys run fastest with).

Printed: the machine, then per toy and round the two times and their ratio, and per toy
the median ratio over the rounds (with field / without).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOYS = ("gaussian1d", "gaussian2d", "ring8", "grid25")


def build_parser():
    """The script's options: a function, so that they can be read without running the script."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--toys", default=",".join(TOYS),
                   help=f"comma-separated toys (default {','.join(TOYS)})")
    p.add_argument("--rounds", type=int, default=3, help="rounds per toy (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of every run (default 0)")
    return p


def parse_args(argv=None):
    return build_parser().parse_args(argv)


def run_once(name, out, field, seed):
    """Seconds of one ``minigan toy`` process."""
    cmd = [sys.executable, "-m", "minigan", "toy", name, "--out", out, "--overwrite",
           "--seed", str(seed)] + ([] if field else ["--no-field"])
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": ROOT, "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv=None):
    args = parse_args(argv)
    try:
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        load = "unknown"
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} usable cores, Python {platform.python_version()}, "
          f"load average at the start {load}")
    summary = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.toys.split(","):
            ratios = []
            for r in range(args.rounds):
                order = (True, False) if r % 2 == 0 else (False, True)
                seconds = {field: run_once(name, os.path.join(tmp, f"{name}-{field}"), field,
                                           args.seed) for field in order}
                ratios.append(seconds[True] / seconds[False])
                print(f"{name} round {r + 1}: with the field {seconds[True]:.2f} s, without "
                      f"{seconds[False]:.2f} s, ratio {ratios[-1]:.3f}", flush=True)
            summary[name] = statistics.median(ratios)
    for name, ratio in summary.items():
        print(f"{name}: median ratio with / without the field over {args.rounds} rounds: "
              f"{ratio:.3f} ({100 * (ratio - 1):+.1f}%)")


if __name__ == "__main__":
    main()
