"""Quality per minute: the lab's scores of runs against their training time, in one plot.

    minigan train --split test --data-dir DIR --seed 0 --device cpu --eval-every 10 --out runs/t2d/mlp
    minigan train --model vanilla --split test --data-dir DIR --seed 0 --device cpu \\
        --eval-every 10 --out runs/t2d/vanilla
    minigan train --model dcgan --split test --data-dir DIR --seed 0 --device cpu \\
        --epochs 20 --eval-every 2 --out runs/t2d/dcgan
    minigan train --model mlp-large --split test --data-dir DIR --seed 0 --device cpu \\
        --eval-every 10 --out runs/t2d/large
    python benchmarks/quality_per_minute.py runs/t2d/mlp=default runs/t2d/large=mlp-large \\
        runs/t2d/vanilla runs/t2d/dcgan --data-dir DIR --out docs/figures/quality_per_minute.png

Each run's ``scores.csv`` (``--eval-every``: the inception score, FID and classes covered of
``eval_n`` generated digits, every few epochs) is placed on the clock of its ``metrics.csv``
(``seconds``: training time, scoring left out) at the iteration each row was scored. The
real row, the same scores of as many real held-out digits, is drawn beside them (a dashed
line), computed here by the lab exactly as the trainer computes it. Printed: a table of
every scored row, the machine, the date, the commit and NumPy's BLAS with the kernel set
OpenBLAS ran (``benchmarks/bench_cpu.py``); the picture carries the same footer.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

# the repository root, so that the script runs from a checkout without installing
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_parser():
    """The script's options: a function, so that they can be read without running the script."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", metavar="RUN[=LABEL]",
                   help="run folders trained with --eval-every (label: the folder's name)")
    p.add_argument("--data-dir", required=True, help="the MNIST folder the runs trained on")
    p.add_argument("--out", default="quality_per_minute.png", help="the picture to write")
    return p


def parse_args(argv=None):
    return build_parser().parse_args(argv)


def commit():
    """The repository's commit (with ``+`` when the work tree differs), or ``unknown``."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True).stdout
        return head + ("+" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def read_run(folder):
    """``(config, rows)``: each row of ``scores.csv`` with ``minutes``, the training time at
    its iteration read from ``metrics.csv``."""
    from minigan.app.runlog import MetricsLog, read_scores

    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    scores = read_scores(folder / "scores.csv", 10 ** 12)
    if not scores:
        raise SystemExit(f"{folder}: no scores.csv rows; train the run with --eval-every N")
    # metrics.csv's rows up to the last score's iteration: a run folder holds them all
    last = max(int(row["iteration"]) for row in scores)
    seconds = {int(r["iteration"]): float(r["seconds"])
               for r in MetricsLog(folder / "metrics.csv", upto=last).rows}
    rows = []
    for row in scores:
        it = int(row["iteration"])
        if it in seconds:
            rows.append({**row, "iteration": it, "minutes": seconds[it] / 60})
    return config, rows


def main(argv=None):
    args = parse_args(argv)
    import matplotlib
    import numpy as np
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from bench_cpu import blas_description, cpu_model

    from minigan.lab.scoring import Reference

    runs = []
    for item in args.runs:
        folder, _, label = item.partition("=")
        config, rows = read_run(folder)
        runs.append((label or Path(folder).name, config, rows))
    splits = {c.get("split") for _, c, _ in runs}
    counts = {int(c.get("eval_n") or 2000) for _, c, _ in runs}
    if len(splits) != 1 or len(counts) != 1:
        raise SystemExit(f"the runs trained on {sorted(map(str, splits))} and scored "
                         f"{sorted(counts)} digits: compare runs of one split and one --eval-n")
    ref = Reference.load(data_dir=args.data_dir, download=False, trained_on=splits.pop())
    n = counts.pop()
    real = ref.real_row(n, parzen=False)

    footer = (f"{cpu_model()}, {os.cpu_count()} cores; NumPy {np.__version__}, "
              f"{blas_description(np)}; {datetime.date.today()}; commit {commit()}")
    print(f"quality per minute: {n} generated digits per score, real row of {n} held-out "
          f"digits: IS {real['inception_score']:.2f}, FID {real['fid']:.2f}, classes "
          f"{real['classes_covered']}/10")
    print(footer)
    print(f"{'run':10s} {'epoch':>5s} {'iteration':>9s} {'minutes':>7s} {'IS':>6s} {'FID':>8s} "
          f"{'classes':>7s}")
    for label, _, rows in runs:
        for r in rows:
            print(f"{label:10s} {int(r['epoch']):5d} {r['iteration']:9d} {r['minutes']:7.2f} "
                  f"{float(r['inception_score']):6.2f} {float(r['fid']):8.2f} "
                  f"{int(r['classes_covered']):7d}")

    fig, (ax_is, ax_fid) = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, (label, _, rows) in enumerate(runs):
        t = [r["minutes"] for r in rows]
        ax_is.plot(t, [float(r["inception_score"]) for r in rows], "o-", color=f"C{i}",
                   label=label)
        ax_fid.plot(t, [float(r["fid"]) for r in rows], "o-", color=f"C{i}", label=label)
    ax_is.axhline(real["inception_score"], ls="--", color="k", lw=1,
                  label=f"real held-out digits ({real['inception_score']:.2f})")
    ax_fid.axhline(real["fid"], ls="--", color="k", lw=1,
                   label=f"real held-out digits ({real['fid']:.2f})")
    ax_is.set(xlabel="training minutes", ylabel="inception score (higher is better)",
              ylim=(1, 10))
    ax_fid.set(xlabel="training minutes", ylabel="FID (lower is better)", yscale="log")
    for ax in (ax_is, ax_fid):
        ax.grid(alpha=0.3)
        ax.set_xlim(left=0)
        ax.legend(fontsize=8)
    fig.suptitle(f"quality per minute ({n} generated digits per score, as many real ones)",
                 fontsize=10)
    fig.text(0.01, 0.01, footer, fontsize=6.5, color="0.35")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
