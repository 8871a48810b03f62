"""The vanilla GAN on MNIST, with Algorithm 1 of Goodfellow et al. (2014) written out.

    python examples/vanilla_gan_mnist.py --data-dir data/mnist --split test --epochs 5

This does by hand what ``minigan.gan.GAN.train_iteration`` does, so the loop
can be read side by side with the paper: k discriminator steps, then one
generator step through the frozen discriminator. It writes a grid of samples
to ``vanilla_gan_mnist.png`` (or ``--out``); Ctrl-C stops training early and
writes the grid of G as it stands (exit code 130).
"""

import argparse
import signal
import sys

import numpy as np

from minigan import backend, data, gan
from minigan.app import plotting
from minigan.functional import losses
from minigan.nn import layers, optim


def build_parser():
    """The script's options: a function, so that they can be read without running the script."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-dir", default=str(data.default_data_dir()),
                   help="folder with the MNIST .gz files, downloaded there when missing")
    p.add_argument("--split", default="train", choices=("train", "test"), help="MNIST split")
    p.add_argument("--epochs", type=int, default=5, help="passes over the split")
    p.add_argument("--batch-size", type=int, default=128, help="digits in a batch")
    p.add_argument("--k", type=int, default=1, help="D steps per G step")
    p.add_argument("--device", default="auto", choices=("cpu", "gpu", "auto"), help="where to run")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, batches and noise")
    p.add_argument("--out", default="vanilla_gan_mnist.png",
                   help="image file for the grid of samples (.png, .jpg, ...)")
    return p


p = build_parser()
args = p.parse_args()
if args.epochs < 1:
    p.error(f"--epochs {args.epochs}: give 1 or more")
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
    X = backend.asarray(data.load_mnist(args.split, args.data_dir, scale="sigmoid")[0])  # (N, 784), [0, 1]
except data.DataError as exc:
    p.error(str(exc))
m, noise_dim = args.batch_size, 100
if args.k < 1 or not 1 <= m * args.k <= len(X):
    p.error(f"--batch-size {m} x --k {args.k} = {m * args.k} digits an iteration, but the "
            f"{args.split} split has {len(X)}: give a positive --k and --batch-size "
            f"{len(X) // max(args.k, 1)} or less")

# G: z -> 128 ReLU -> 784 sigmoid pixels.  D: x -> 128 ReLU -> 1 logit (no sigmoid).
G = layers.Sequential(layers.Dense(noise_dim, 128, rng=rng), layers.ReLU(),
                      layers.Dense(128, 784, rng=rng), layers.Sigmoid())
D = layers.Sequential(layers.Dense(784, 128, rng=rng), layers.ReLU(),
                      layers.Dense(128, 1, rng=rng))
g_opt = optim.Adam(G, lr=1e-3, betas=(0.9, 0.999))
d_opt = optim.Adam(D, lr=1e-3, betas=(0.9, 0.999))


def noise(n):
    """n vectors z ~ N(0, I), drawn from the same prior sampler as gan.GAN's."""
    return gan.sample_noise(n, noise_dim, "gaussian", rng)


def prob(logits):
    """Mean of D's output sigmoid(logit), for the log line."""
    return float(layers.Sigmoid().forward(logits).mean())


iters_per_epoch = len(X) // (m * args.k)
epochs_done = 0
try:    # Ctrl-C stops training; the grid of G as it stands is written all the same
    for epoch in range(args.epochs):
        batches = iter(np.split(rng.permutation(len(X))[: iters_per_epoch * args.k * m],
                                iters_per_epoch * args.k))
        for _ in range(iters_per_epoch):
            # --- k steps of D: ascend log D(x) + log(1 - D(G(z))) = descend cross-entropy
            for _ in range(args.k):
                x = X[backend.asarray(next(batches))]
                D.zero_grad()
                real_logits = D.forward(x)                                   # real batch
                loss_real, dreal = losses.sigmoid_cross_entropy(real_logits, 1.0)
                D.backward(dreal)                                            # grads accumulate
                fake_logits = D.forward(G.forward(noise(m)))                 # fake batch
                loss_fake, dfake = losses.sigmoid_cross_entropy(fake_logits, 0.0)
                D.backward(dfake)
                d_opt.step()
            # --- one step of G: descend -log D(G(z)) through D, whose parameters stay put
            G.zero_grad()
            fake = G.forward(noise(m))
            with D.freezing():                  # D passes gradients on, keeps its own untouched
                g_loss, dlogits = losses.generator_loss(D.forward(fake), "non_saturating")
                G.backward(D.backward(dlogits))     # dL/dG(z) from D, then into G
            g_opt.step()
        print(f"epoch {epoch + 1}: D loss {loss_real + loss_fake:.3f}  G loss {g_loss:.3f}  "
              f"D(x) {prob(real_logits):.2f}  D(G(z)) {prob(fake_logits):.2f}")
        epochs_done += 1
except KeyboardInterrupt:
    print(f"interrupted in epoch {epochs_done + 1} of {args.epochs}: the samples are of G "
          "as it stands")

signal.signal(signal.SIGINT, signal.SIG_IGN)   # from here a Ctrl-C would only lose the picture
plotting.save_grid(G.eval().forward(noise(64)), args.out)
print(f"samples written to {args.out}")
if epochs_done < args.epochs:
    sys.exit(130)
