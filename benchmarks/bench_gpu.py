"""Milliseconds per GAN iteration on an NVIDIA GPU: minigan on CuPy against PyTorch CUDA eager.

    python benchmarks/bench_gpu.py                       # both models, batch 64, 128, 512
    python benchmarks/bench_gpu.py --models dcgan --batches 64 --iters 50
    python benchmarks/bench_gpu.py --device cpu --iters 3 --rounds 1   # dry run of the script

One iteration is Algorithm 1 with k = 1, as ``GAN.train_iteration`` runs it
(see ``bench_cpu.py``). minigan and PyTorch start from the same initial
weights, use the same Adam settings and the same step structure, and their
timing rounds alternate. Each timed iteration ends with a device
synchronization, so the figures are wall-clock time per finished iteration.

Also printed: seconds per MNIST epoch, ``60000 // batch`` iterations at the
median time per iteration (the real batches here are already on the device,
as the trainer keeps the whole data set there: ``Trainer`` moves it once per
run), the GPU's name, and the CuPy, CUDA and PyTorch versions.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the repository root: runs from a checkout
sys.path.insert(0, HERE)

import bench_cpu  # noqa: E402  (the PyTorch twins of the models, FLOP counts, medians)
import numpy as np  # noqa: E402

from minigan import backend, gan  # noqa: E402
from minigan.gan import models  # noqa: E402
from minigan.nn import optim  # noqa: E402

MNIST_TRAIN = 60000


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="vanilla,dcgan")
    p.add_argument("--batches", default="64,128,512", help="comma-separated batch sizes")
    p.add_argument("--iters", type=int, default=30, help="timed iterations per round")
    p.add_argument("--warmup", type=int, default=5, help="untimed iterations per round")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds per configuration")
    p.add_argument("--device", default="gpu", choices=("gpu", "cpu"),
                   help="gpu (default); cpu runs the same script on NumPy / torch CPU, a dry run")
    p.add_argument("--no-torch", action="store_true")
    args = p.parse_args(argv)
    args.models = [m for m in args.models.split(",") if m]
    args.batches = [int(b) for b in args.batches.split(",") if b]
    return args


def synchronize(device):
    if device == "gpu":
        import cupy

        cupy.cuda.get_current_stream().synchronize()


def minigan_step(name, batch, device):
    """One ``train_iteration`` of model ``name`` on the active backend, data already there."""
    spec = models.MODELS[name]
    rng = np.random.default_rng(0)
    G, D = spec.build(rng, dtype=np.float32)
    model = gan.GAN(G, D, optim.Adam(G, spec.lr, spec.betas), optim.Adam(D, spec.lr, spec.betas),
                    spec.noise_dim, rng=rng)
    next_batch = bench_cpu.real_batches(np, spec, rng, batch=batch, move=backend.asarray)

    def step():
        model.train_iteration(next_batch)
        synchronize(device)

    return step


def torch_step(name, batch, torch, dev):
    """The same iteration in PyTorch eager mode on ``dev``."""
    spec = models.MODELS[name]
    rng = np.random.default_rng(0)
    previous = backend.device()
    backend.use("cpu")  # build the twins from host copies of the same initial weights
    try:
        G, D = spec.build(rng, dtype=np.float32)
        tG = bench_cpu.torch_sequential(torch, G, np.zeros((batch, spec.noise_dim), np.float32))
        tD = bench_cpu.torch_sequential(torch, D, np.zeros((batch,) + spec.image_shape, np.float32))
    finally:
        backend.use(previous)
    tG, tD = tG.to(dev).train(), tD.to(dev).train()
    gan_step = bench_cpu.torch_gan_step(torch, tG, tD, spec.lr, spec.betas, batch,
                                        spec.noise_dim, dev)
    next_batch = bench_cpu.real_batches(np, spec, rng, batch=batch,
                                        move=lambda x: torch.from_numpy(x).to(dev))

    def step():
        gan_step(next_batch())
        if dev != "cpu":
            torch.cuda.synchronize()

    return step


def describe(device, torch):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"minigan GPU benchmark, {now}")
    if device == "gpu":
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        print(f"GPU     : {name}")
        print(f"cupy    : {cupy.__version__}, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}")
    else:
        print(f"device  : CPU ({bench_cpu.cpu_model()}): a dry run of this script")
    print("torch   : " + (torch.__version__ if torch is not None else "not available"))


def main(argv=None):
    args = parse_args(argv)
    backend.use(args.device)
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            torch = None
    dev = "cuda" if args.device == "gpu" else "cpu"
    if torch is not None and dev == "cuda" and not torch.cuda.is_available():
        print("torch is installed without CUDA: timing minigan only")
        torch = None
    describe(args.device, torch)

    rows = []
    for name in args.models:
        for batch in args.batches:
            steps = {"minigan": minigan_step(name, batch, args.device)}
            if torch is not None:
                steps["torch"] = torch_step(name, batch, torch, dev)
            times = {k: [] for k in steps}
            for r in range(args.rounds):
                order = list(steps) if r % 2 == 0 else list(steps)[::-1]
                for impl in order:
                    times[impl] += bench_cpu.timed_round(steps[impl], args.iters, args.warmup)
            rows.append((name, batch, {k: bench_cpu.median(v) for k, v in times.items()}))

    print(f"\nms per iteration, median of {args.rounds} rounds x {args.iters} iterations; "
          f"s per MNIST epoch = {MNIST_TRAIN} // batch iterations")
    head = f"{'model':8s} {'batch':>5s} {'minigan ms':>10s} {'epoch s':>8s}"
    if torch is not None:
        head += f" {'torch ms':>9s} {'epoch s':>8s} {'minigan/torch':>13s}"
    print(head)
    for name, batch, med in rows:
        per_epoch = MNIST_TRAIN // batch
        line = f"{name:8s} {batch:5d} {1e3 * med['minigan']:10.2f} {per_epoch * med['minigan']:8.2f}"
        if "torch" in med:
            line += (f" {1e3 * med['torch']:9.2f} {per_epoch * med['torch']:8.2f} "
                     f"{med['minigan'] / med['torch']:13.2f}")
        print(line)


if __name__ == "__main__":
    main()
