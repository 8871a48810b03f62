"""The DCGAN of ``minigan.gan.models.dcgan`` trained in PyTorch, for comparing samples.

    python benchmarks/torch_dcgan_mnist.py --data-dir DIR --split test --epochs 5

The same layers, initialization (copied from a minigan model built with
``--seed``), Adam settings, batch size and step structure as
``minigan train --model dcgan`` (a D step on a real and a separate fake batch,
then a G step through D), in PyTorch eager mode on the CPU. It writes a grid of
64 samples in the same format as minigan's and prints the seconds per epoch.
PyTorch is needed only here, never by minigan itself.
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


def build_parser():
    """The script's options: a function, so that they can be read without running the script."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--split", default="test", choices=("train", "test"))
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--out", default="torch_dcgan_mnist.png")
    return p


p = build_parser()
args = p.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
spec = models.MODELS["dcgan"]
m = spec.batch_size
X = load_mnist(args.split, args.data_dir, scale="tanh")[0].reshape((-1,) + spec.image_shape)
rng = np.random.default_rng(args.seed)
G, D = spec.build(rng)
tG = bench_cpu.torch_sequential(torch, G, np.zeros((m, spec.noise_dim), np.float32)).train()
tD = bench_cpu.torch_sequential(torch, D, np.zeros((m,) + spec.image_shape, np.float32)).train()
step = bench_cpu.torch_gan_step(torch, tG, tD, spec.lr, spec.betas, m, spec.noise_dim)

start = time.perf_counter()
for epoch in range(args.epochs):
    perm = rng.permutation(len(X))
    for i in range(len(X) // m):
        step(torch.from_numpy(X[perm[i * m:(i + 1) * m]]))   # a D step, then a G step
    elapsed = time.perf_counter() - start
    print(f"epoch {epoch + 1}: {elapsed / (epoch + 1):.1f} s per epoch", flush=True)

tG.eval()
with torch.no_grad():
    samples = tG(torch.randn(64, spec.noise_dim)).numpy()
plotting.save_grid(samples, args.out, value_range=(-1.0, 1.0))
print(f"samples written to {args.out}")
