"""A DCGAN on MNIST (Radford et al. 2015), built layer by layer.

    python examples/dcgan_mnist.py --data-dir data/mnist --split test --epochs 5

Radford et al.'s DCGAN recipe: no pooling (strided convolutions in D, transposed
"fractionally-strided" convolutions in G), batch norm in both players, ReLU in
G with a tanh output, LeakyReLU(0.2) in D, pixels scaled to [-1, 1], weights
from N(0, 0.02²) (standard deviation 0.02), Adam with lr 2e-4 and beta1 0.5;
here with batches of 64 (the paper's are 128). Training is Algorithm 1 as
``minigan.gan.GAN`` runs it (see vanilla_gan_mnist.py for the loop written out). Writes a grid of samples to
``dcgan_mnist.png`` (or ``--out``); Ctrl-C stops training early and writes the
grid of G as it stands (exit code 130).
"""

import argparse
import signal
import sys

import numpy as np

from minigan import backend, data, gan
from minigan.app import plotting
from minigan.nn import layers, optim


def build_parser():
    """The script's options: a function, so that they can be read without running the script."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-dir", default=str(data.default_data_dir()),
                   help="folder with the MNIST .gz files, downloaded there when missing")
    p.add_argument("--split", default="train", choices=("train", "test"), help="MNIST split")
    p.add_argument("--epochs", type=int, default=5, help="passes over the split")
    p.add_argument("--max-iters", type=int, default=None, help="stop after this many iterations")
    p.add_argument("--device", default="auto", choices=("cpu", "gpu", "auto"), help="where to run")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, batches and noise")
    p.add_argument("--out", default="dcgan_mnist.png",
                   help="image file for the grid of samples (.png, .jpg, ...)")
    return p


p = build_parser()
args = p.parse_args()
for option, value in (("--epochs", args.epochs), ("--max-iters", args.max_iters)):
    if value is not None and value < 1:
        p.error(f"{option} {value}: give 1 or more")
try:    # checked before training: a grid that cannot be written would lose the run
    plotting.check_grid_path(args.out)
except ValueError as exc:
    p.error(str(exc))

try:
    backend.use(args.device)
except backend.BackendError as exc:    # --device gpu without a usable GPU
    p.error(str(exc))
rng = np.random.default_rng(args.seed)
try:
    images = data.load_mnist(args.split, args.data_dir, scale="tanh")[0]   # (N, 784) in [-1, 1]
except data.DataError as exc:
    p.error(str(exc))
if len(images) < 64:
    p.error(f"the {args.split} split has {len(images)} digits, fewer than a batch of 64")
X = backend.asarray(images.reshape(-1, 1, 28, 28))                       # on the device, once
m, init = 64, "dcgan_normal"

# G: z(100) -> 128 x 7 x 7 -> 64 x 14 x 14 -> 1 x 28 x 28, each transposed conv doubling the size
G = layers.Sequential(
    layers.Dense(100, 128 * 7 * 7, weight_init=init, rng=rng),
    layers.BatchNorm(128 * 7 * 7), layers.ReLU(),
    layers.Reshape((128, 7, 7)),
    layers.ConvTranspose2d(128, 64, 4, stride=2, padding=1, weight_init=init, rng=rng),
    layers.BatchNorm(64), layers.ReLU(),
    layers.ConvTranspose2d(64, 1, 4, stride=2, padding=1, weight_init=init, rng=rng),
    layers.Tanh(),
)
# D: 1 x 28 x 28 -> 64 x 14 x 14 -> 128 x 7 x 7 -> one logit, strided convolutions instead of pooling
D = layers.Sequential(
    layers.Conv2d(1, 64, 4, stride=2, padding=1, weight_init=init, rng=rng),
    layers.LeakyReLU(0.2),
    layers.Conv2d(64, 128, 4, stride=2, padding=1, weight_init=init, rng=rng),
    layers.BatchNorm(128), layers.LeakyReLU(0.2),
    layers.Flatten(),
    layers.Dense(128 * 7 * 7, 1, weight_init=init, rng=rng),
)
model = gan.GAN(G, D, optim.Adam(G, lr=2e-4, betas=(0.5, 0.999)),
                optim.Adam(D, lr=2e-4, betas=(0.5, 0.999)), noise_dim=100, k=1, rng=rng)

iteration, iters_per_epoch = 0, len(images) // m
epoch_batches = {}  # this epoch's minibatch indices, one shuffle per epoch


def next_real_batch():
    return X[backend.asarray(next(epoch_batches["order"]))]


try:    # Ctrl-C stops training; the grid of G as it stands is written all the same
    for epoch in range(args.epochs):
        perm = rng.permutation(len(images))[: iters_per_epoch * m]
        epoch_batches["order"] = iter(np.split(perm, iters_per_epoch))
        for _ in range(iters_per_epoch):
            stats = model.train_iteration(next_real_batch)   # k = 1 D step, then 1 G step
            iteration += 1
            if iteration == args.max_iters:
                break
        print(f"epoch {epoch + 1}, iteration {iteration}: D loss {stats['d_loss']:.3f}  "
              f"G loss {stats['g_loss']:.3f}  D(x) {stats['d_real']:.2f}  "
              f"D(G(z)) {stats['d_fake']:.2f}", flush=True)
        if iteration == args.max_iters:
            break
    interrupted = False
except KeyboardInterrupt:
    interrupted = True
    print(f"interrupted at iteration {iteration}: the samples are of G as it stands")

signal.signal(signal.SIGINT, signal.SIG_IGN)   # from here a Ctrl-C would only lose the picture
plotting.save_grid(model.sample(64), args.out, value_range=(-1.0, 1.0))
print(f"samples written to {args.out}")
if interrupted:
    sys.exit(130)
