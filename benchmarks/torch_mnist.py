"""A minigan model trained in PyTorch the way ``minigan train`` trains it, scored by the lab.

    python benchmarks/torch_mnist.py --data-dir DIR                      # the default, mlp
    python benchmarks/torch_mnist.py --model dcgan --data-dir DIR --epochs 5 --no-score

The same layers and initial weights (copied from a minigan model built as ``minigan train
--seed`` builds it), the same game, minibatch layer and moving average (the model's
``ModelSpec.defaults``), the same Adam settings, batch size, length in epochs and step
structure (a D step on a real and a separate fake batch, then a G step through D), in
PyTorch eager mode on the CPU. The noise and the order of the batches are PyTorch's and
NumPy's own draws, not minigan's: the two runs are the same recipe, not the same numbers.

At the end it writes a grid of 64 samples in minigan's format and, unless ``--no-score``,
scores the moving average of G (or G) the way ``minigan eval`` does: batch norm
statistics of the average's own (``torch.optim.swa_utils.update_bn``'s mean over
batches, as ``minigan.gan.ema.EMA.estimate_statistics``), then ``--n`` digits against
the lab's reference (``minigan.lab.scoring.score_images``). It prints the milliseconds
per iteration and the scores. PyTorch is needed only here, never by minigan itself.
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
from minigan.data import load_mnist  # noqa: E402
from minigan.gan import models  # noqa: E402
from minigan.gan.ema import STATISTICS_BATCH, STATISTICS_BATCHES  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=models.DEFAULT_MODEL, choices=sorted(models.MODELS))
    p.add_argument("--data-dir", default=None)
    p.add_argument("--split", default="test", choices=("train", "test"))
    p.add_argument("--epochs", type=int, default=None,
                   help="default: the model's length, as minigan train's (ModelSpec.epochs_for)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--n", type=int, default=5000, help="digits scored (minigan eval's count)")
    p.add_argument("--no-score", action="store_true", help="write the grid only")
    p.add_argument("--out", default=None, help="the grid (default torch_MODEL_mnist.png)")
    return p.parse_args(argv)


def estimate_statistics(torch, generator, noise_dim):
    """Batch norm's running statistics of ``generator`` from its own activations: the mean
    of each layer's batch statistics over the batches (momentum None: a plain average)."""
    norms = [m for m in generator.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    generator.train()
    with torch.no_grad():
        for _ in range(STATISTICS_BATCHES):
            generator(torch.randn(STATISTICS_BATCH, noise_dim))
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    generator.eval()


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    spec = models.MODELS[args.model]
    m = spec.batch_size
    X = load_mnist(args.split, args.data_dir, scale=spec.scale)[0].reshape((-1,) + spec.image_shape)
    epochs = args.epochs or spec.epochs_for(len(X) // m)
    # minigan train's initial weights: its first stream of SeedSequence(seed).spawn(5)
    init_rng = np.random.default_rng(np.random.SeedSequence(args.seed).spawn(5)[0])
    G, D = bench_cpu.build_models(spec, init_rng, np)
    tG = bench_cpu.torch_sequential(torch, G, np.zeros((m, spec.noise_dim), np.float32)).train()
    tD = bench_cpu.torch_sequential(torch, D, np.zeros((m,) + spec.image_shape, np.float32)).train()
    game = spec.defaults.get("loss", "gan")
    step = bench_cpu.torch_gan_step(torch, tG, tD, spec.lr, spec.betas, m, spec.noise_dim,
                                    game=game, ema=spec.defaults.get("ema"))
    print(f"PyTorch {torch.__version__}, {args.threads} thread(s): model {args.model} "
          f"({game} game, defaults {spec.defaults}), {args.split} split, {epochs} epochs of "
          f"{len(X) // m} iterations, batch {m}", flush=True)

    order = np.random.default_rng(args.seed + 1)
    seconds = 0.0
    for epoch in range(epochs):
        perm = order.permutation(len(X))
        start = time.perf_counter()
        for i in range(len(X) // m):
            step(torch.from_numpy(X[perm[i * m:(i + 1) * m]]))   # a D step, then a G step
        seconds += time.perf_counter() - start
        if (epoch + 1) % max(1, epochs // 10) == 0 or epoch + 1 == epochs:
            print(f"epoch {epoch + 1}/{epochs}: {seconds:.1f} s of training, "
                  f"{1e3 * seconds / ((epoch + 1) * (len(X) // m)):.2f} ms per iteration",
                  flush=True)

    sampler = step.averaged_generator if step.averaged_generator is not None else tG
    if step.averaged_generator is not None:
        estimate_statistics(torch, sampler, spec.noise_dim)
    sampler.eval()
    out = args.out or f"torch_{args.model}_mnist.png"
    with torch.no_grad():
        plotting.save_grid(sampler(torch.randn(64, spec.noise_dim)).numpy(), out,
                           value_range=spec.pixel_range)
    print(f"samples written to {out}")
    if args.no_score:
        return
    from minigan.lab import scoring

    ref = scoring.Reference.load(data_dir=args.data_dir, download=False,
                                 trained_on=args.split if args.split == "test" else None)
    low, high = spec.pixel_range
    with torch.no_grad():
        images = np.concatenate([sampler(torch.randn(min(1000, args.n - i), spec.noise_dim)).numpy()
                                 for i in range(0, args.n, 1000)]).reshape(args.n, -1)
    s = scoring.score_images((images - low) / (high - low), ref, parzen=False)
    real = ref.real_row(args.n, parzen=False)
    weights = "the moving average of G's weights" if step.averaged_generator is not None else "G"
    print(f"scores of {s['n']} digits ({weights}; real held-out digits in brackets): "
          f"IS {s['inception_score']:.2f} ± {s['inception_score_std']:.2f} "
          f"[{real['inception_score']:.2f}], FID {s['fid']:.2f} [{real['fid']:.2f}], classes "
          f"{s['classes_covered']} [{real['classes_covered']}], precision {s['precision']:.3f}, "
          f"recall {s['recall']:.3f}, coverage {s['coverage']:.3f}")


if __name__ == "__main__":
    main()
