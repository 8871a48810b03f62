"""A minigan model trained in PyTorch the way ``minigan train`` trains it, scored by the lab.

    python benchmarks/torch_mnist.py --data-dir DIR                      # the default, mlp
    python benchmarks/torch_mnist.py --model dcgan --data-dir DIR --epochs 5 --no-score

The same layers and initial weights (copied from a minigan model built as ``minigan train
--seed`` builds it), the same game, minibatch layer, moving average and groups (the model's
``ModelSpec.defaults``; the groups found by the same k-means, seeded as the trainer seeds
it), the same Adam settings, batch size, length in epochs and step
structure (a D step on a real and a separate fake batch, then a G step through D, on the
D step's fake batch where the model's ``g_batch`` is "reuse"), in
PyTorch eager mode on the CPU. The noise and the order of the batches are PyTorch's and
NumPy's own draws, not minigan's: the two runs are the same recipe, not the same numbers.

At the end it writes a grid of 64 samples in minigan's format and, unless ``--no-score``,
scores the moving average of G (or G) the way ``minigan eval`` does: batch norm
statistics of the average's own (``torch.optim.swa_utils.update_bn``'s mean over
batches, as ``minigan.gan.ema.EMA.estimate_statistics``), then ``--n`` digits against
the lab's reference (``minigan.lab.scoring.score_images``). It prints the milliseconds
per iteration and the scores. PyTorch is needed only here, never by minigan itself.

``--side-by-side RUN`` trains ``minigan train`` itself in the same run, in the folder
``RUN``, taking turns with PyTorch: ``--blocks`` blocks of epochs each (``minigan train
--epochs e`` for the first, ``minigan train --resume RUN --epochs e`` for the next, one
process each, so a drift of the machine's speed hits both alike), and scores both after
every block on the same count of digits (minigan's with ``minigan eval``'s own code,
:func:`minigan.app.commands.evaluate_checkpoint`). It prints a table: iterations,
milliseconds per iteration of each over the block (minigan's from the training seconds of
its ``metrics.csv``: iterations only, not its grids and checkpoints) and the scores.

    python benchmarks/torch_mnist.py --model mlp-large --data-dir DIR --side-by-side runs/large
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import bench_cpu  # noqa: E402  (minigan layers -> torch modules, the PyTorch iteration)
import numpy as np  # noqa: E402
import torch  # noqa: E402

from minigan.app import plotting  # noqa: E402
from minigan.app.trainer import groups_rng  # noqa: E402
from minigan.data import load_mnist  # noqa: E402
from minigan.gan import clusters, models  # noqa: E402
from minigan.gan.ema import STATISTICS_BATCH, STATISTICS_BATCHES  # noqa: E402


def build_parser():
    """The script's options: a function, so that they can be read without running the script."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=models.DEFAULT_MODEL, choices=sorted(models.MODELS))
    p.add_argument("--data-dir", default=None)
    p.add_argument("--split", default="test", choices=("train", "test"))
    p.add_argument("--epochs", type=int, default=None,
                   help="default: the model's length, as minigan train's (ModelSpec.epochs_for)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=None,
                   help="default: the model's, as minigan train's (passed to it with "
                        "--side-by-side)")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--n", type=int, default=5000, help="digits scored (minigan eval's count)")
    p.add_argument("--no-score", action="store_true", help="write the grid only")
    p.add_argument("--out", default=None, help="the grid (default torch_MODEL_mnist.png, in "
                   "the --side-by-side run's folder when there is one)")
    p.add_argument("--side-by-side", metavar="RUN", default=None,
                   help="also train `minigan train` in this run folder, taking turns")
    p.add_argument("--blocks", type=int, default=4,
                   help="with --side-by-side: turns of each, scored after each (default 4)")
    p.add_argument("--eval-every", type=int, default=0, metavar="N",
                   help="with --side-by-side: minigan train's --eval-every (its scores.csv, for "
                        "benchmarks/quality_per_minute.py)")
    return p


def parse_args(argv=None):
    return build_parser().parse_args(argv)


def estimate_statistics(torch, generator, noise_dim, generator_rng=None):
    """Batch norm's running statistics of ``generator`` from its own activations: the mean
    of each layer's batch statistics over the batches (momentum None: a plain average).
    The noise comes from ``generator_rng`` (default: PyTorch's global generator)."""
    norms = [m for m in generator.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    generator.train()
    with torch.no_grad():
        for _ in range(STATISTICS_BATCHES):
            generator(torch.randn(STATISTICS_BATCH, noise_dim, generator=generator_rng))
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    generator.eval()


def score_sampler(sampler, spec, ref, n, generator_rng=None):
    """The lab's scores of ``n`` digits of the PyTorch generator ``sampler`` (in eval mode)."""
    from minigan.lab import scoring

    low, high = spec.pixel_range
    with torch.no_grad():
        images = np.concatenate([
            images_of(sampler)(torch.randn(min(1000, n - i), spec.noise_dim,
                                           generator=generator_rng)).numpy()
            for i in range(0, n, 1000)]).reshape(n, -1)
    return scoring.score_images((images - low) / (high - low), ref, parzen=False)


def images_of(generator):
    """The generator's images of its noise: a self-conditioned one's without its group."""
    return getattr(generator, "images", generator)


def scores_line(s):
    return (f"IS {s['inception_score']:.2f} ± {s['inception_score_std']:.2f}, FID {s['fid']:.2f}, "
            f"classes {s['classes_covered']}, precision {s['precision']:.3f}, recall "
            f"{s['recall']:.3f}, coverage {s['coverage']:.3f}")


def minigan_block(args, epochs):
    """``minigan train`` in ``args.side_by_side`` until ``epochs`` epochs are done (a new run
    or ``--resume``); returns (iterations, training seconds) from its ``metrics.csv``."""
    import csv
    import subprocess

    run = args.side_by_side
    if os.path.exists(os.path.join(run, "checkpoint.npz")):
        cmd = ["--resume", run]
    else:
        cmd = ["--model", args.model, "--split", args.split, "--seed", str(args.seed),
               "--device", "cpu", "--out", run, "--eval-every", str(args.eval_every)] + (
                   ["--data-dir", args.data_dir] if args.data_dir else []) + (
                   ["--batch-size", str(args.batch_size)] if args.batch_size is not None else [])
    cmd = [sys.executable, "-m", "minigan", "train", *cmd, "--epochs", str(epochs), "--quiet"]
    print("$ " + " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True)
    with open(os.path.join(run, "metrics.csv"), newline="") as f:
        last = list(csv.DictReader(f))[-1]
    return int(last["iteration"]), float(last["seconds"])


def main(argv=None):
    args = parse_args(argv)
    if args.blocks < 1:
        raise SystemExit("--blocks must be at least 1")
    if args.side_by_side and os.path.exists(os.path.join(args.side_by_side, "checkpoint.npz")):
        raise SystemExit(f"--side-by-side: {args.side_by_side} already holds a run; its turns "
                         f"would not start where PyTorch's do: name a new folder")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    spec = models.MODELS[args.model]
    m = spec.batch_size if args.batch_size is None else args.batch_size
    if m < 2:
        raise SystemExit(f"--batch-size must be at least 2, got {m}")
    X = load_mnist(args.split, args.data_dir, scale=spec.scale)[0].reshape((-1,) + spec.image_shape)
    per_epoch = len(X) // m
    epochs = args.epochs or spec.epochs_for(per_epoch)
    # minigan train's initial weights: its first stream of SeedSequence(seed).spawn(5)
    init_rng = np.random.default_rng(np.random.SeedSequence(args.seed).spawn(5)[0])
    G, D = bench_cpu.build_models(spec, init_rng, np)
    if bench_cpu.groups_of(spec):   # self-conditioned: minigan train's groups and G's cuts
        k = bench_cpu.groups_of(spec)
        groups = clusters.kmeans(X.reshape(len(X), -1), k, groups_rng(args.seed))[1]
        clusters.self_condition(G, groups)
        X = bench_cpu.with_groups(np, spec, X, groups)   # the images with their groups
    tG = bench_cpu.torch_sequential(torch, G, np.zeros((m, spec.noise_dim), np.float32)).train()
    tD = bench_cpu.torch_sequential(torch, D, bench_cpu.d_input(np, spec, m)).train()
    game = spec.defaults.get("loss", "gan")
    step = bench_cpu.torch_gan_step(torch, tG, tD, spec.lr, spec.betas, m, spec.noise_dim,
                                    game=game, ema=spec.defaults.get("ema"),
                                    reuse_fake=spec.reuse_fake, r1=spec.defaults.get("r1", 0.0),
                                    data_width=int(np.prod(spec.image_shape)))
    print(f"PyTorch {torch.__version__}, {args.threads} thread(s): model {args.model} "
          f"({game} game, defaults {spec.defaults}), {args.split} split, {epochs} epochs of "
          f"{per_epoch} iterations, batch {m}", flush=True)
    sampler = step.averaged_generator if step.averaged_generator is not None else tG
    weights = "the moving average of G's weights" if step.averaged_generator is not None else "G"

    def prepare_sampler(generator_rng=None):
        if step.averaged_generator is not None:
            estimate_statistics(torch, sampler, spec.noise_dim, generator_rng)
        sampler.eval()

    ref = None
    if not args.no_score:
        from minigan.app import commands
        from minigan.lab import scoring

        ref = scoring.Reference.load(data_dir=args.data_dir, download=False,
                                     trained_on=args.split if args.split == "test" else None)
    # each block's last epoch; fewer epochs than blocks: a block of none is left out
    blocks = (sorted({round(epochs * (b + 1) / args.blocks) for b in range(args.blocks)} - {0})
              if args.side_by_side else [epochs])
    rows, done, minigan_done = [], 0, (0, 0.0)
    order = np.random.default_rng(args.seed + 1)
    seconds = 0.0
    for block_end in blocks:
        block_start, block_seconds = done, seconds
        for epoch in range(done, block_end):
            perm = order.permutation(len(X))
            start = time.perf_counter()
            for i in range(per_epoch):
                step(torch.from_numpy(X[perm[i * m:(i + 1) * m]]))   # a D step, then a G step
            seconds += time.perf_counter() - start
            if (epoch + 1) % max(1, epochs // 10) == 0 or epoch + 1 == epochs:
                print(f"epoch {epoch + 1}/{epochs}: {seconds:.1f} s of training, "
                      f"{1e3 * seconds / ((epoch + 1) * per_epoch):.2f} ms per iteration",
                      flush=True)
        done = block_end
        if not args.side_by_side:
            break
        torch_ms = 1e3 * (seconds - block_seconds) / ((block_end - block_start) * per_epoch)
        time.sleep(0.3)          # PyTorch's worker threads stop spinning before minigan starts
        iterations, mg_seconds = minigan_block(args, block_end)
        minigan_ms = 1e3 * (mg_seconds - minigan_done[1]) / (iterations - minigan_done[0])
        minigan_done = (iterations, mg_seconds)
        row = {"epochs": block_end, "iterations": block_end * per_epoch,
               "minigan_ms": minigan_ms, "torch_ms": torch_ms}
        if ref is not None:
            prepare_sampler(torch.Generator().manual_seed(args.seed))
            row["torch"] = score_sampler(sampler, spec, ref, args.n,
                                         torch.Generator().manual_seed(args.seed + 1))
            if sampler is tG:
                tG.train()
            row["minigan"] = commands.evaluate_checkpoint(args.side_by_side, args.n, ref,
                                                          seed=0, parzen=False)[0]
            print(f"after {block_end} epochs: minigan {scores_line(row['minigan'])}; "
                  f"PyTorch {scores_line(row['torch'])}", flush=True)
        rows.append(row)

    if args.side_by_side:
        print(f"\nminigan train against PyTorch, turn by turn ({args.model}, {args.split} split, "
              f"seed {args.seed}; scores of {args.n} digits, {weights})")
        print(f"{'epochs':>6s} {'iterations':>10s} {'ms/it minigan':>13s} {'ms/it torch':>11s} "
              f"{'ratio':>5s}" + ("" if ref is None else
                                  f" {'IS minigan':>10s} {'IS torch':>8s} {'FID minigan':>11s} "
                                  f"{'FID torch':>9s}"))
        for r in rows:
            line = (f"{r['epochs']:6d} {r['iterations']:10d} {r['minigan_ms']:13.2f} "
                    f"{r['torch_ms']:11.2f} {r['minigan_ms'] / r['torch_ms']:5.2f}")
            if ref is not None:
                line += (f" {r['minigan']['inception_score']:10.2f} "
                         f"{r['torch']['inception_score']:8.2f} {r['minigan']['fid']:11.2f} "
                         f"{r['torch']['fid']:9.2f}")
            print(line)
        if ref is not None:
            real = ref.real_row(args.n, parzen=False)
            print(f"real held-out digits: {scores_line(real)}")

    prepare_sampler()
    out = args.out or os.path.join(args.side_by_side or "", f"torch_{args.model}_mnist.png")
    with torch.no_grad():
        plotting.save_grid(images_of(sampler)(torch.randn(64, spec.noise_dim)).numpy(), out,
                           value_range=spec.pixel_range)
    print(f"samples written to {out}")
    if ref is None or args.side_by_side:
        return
    s = score_sampler(sampler, spec, ref, args.n)
    real = ref.real_row(args.n, parzen=False)
    print(f"scores of {s['n']} digits ({weights}; real held-out digits in brackets): "
          f"IS {s['inception_score']:.2f} ± {s['inception_score_std']:.2f} "
          f"[{real['inception_score']:.2f}], FID {s['fid']:.2f} [{real['fid']:.2f}], classes "
          f"{s['classes_covered']} [{real['classes_covered']}], precision {s['precision']:.3f}, "
          f"recall {s['recall']:.3f}, coverage {s['coverage']:.3f}")


if __name__ == "__main__":
    main()
