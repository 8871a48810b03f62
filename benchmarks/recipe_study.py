"""The study behind the default model: one GAN run on MNIST's test split, scored as it trains.

    python benchmarks/recipe_study.py NAME --data-dir DIR --gw 256,512 --dw 512,256 \
        --loss hinge --lr 1e-3 --mbstd 1 --seconds 300

builds an MLP GAN (or a small DCGAN, ``--arch dcgan``) from minigan's layers, trains it with
``minigan.gan.GAN`` for ``--seconds`` of training time (scoring left out) and scores the
moving average of G (``--ema``) every ``--eval_every_s`` seconds with the lab
(``minigan.lab.scoring``: ``--n`` generated digits against a random split of the test split,
stratified by class). Writes ``results/NAME.jsonl``, one line per score, and
``grids/NAME_ema.png``. The site's results page "How the default was chosen" quotes its rows,
each with its options; ``minigan train`` runs the chosen recipe as its default model.
"""
import argparse
import json
import os
import sys
import time

# the repository root, so that the script runs from a checkout without installing
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np

from minigan import gan as gan_mod
from minigan.app import plotting
from minigan.app.trainer import STATISTICS_STREAM
from minigan.data import load_mnist
from minigan.gan.algorithm import R1_EVERY
from minigan.gan.ema import EMA
from minigan.lab import scoring
from minigan.nn import layers as L
from minigan.nn import optim


def build_parser():
    """The script's options: a function, so that they can be read without running the script."""
    p = argparse.ArgumentParser()
    p.add_argument("name")
    p.add_argument("--data-dir", required=True, help="the folder with MNIST's test split")
    p.add_argument("--arch", default="mlp", choices=["mlp", "dcgan"])
    p.add_argument("--gw", default="256,512,1024", help="mlp G hidden widths / dcgan: G channels c1,c2")
    p.add_argument("--dw", default="1024,512,256", help="mlp D hidden widths / dcgan: D channels c1,c2")
    p.add_argument("--gbn", type=int, default=1, help="BatchNorm in G hidden layers")
    p.add_argument("--dbn", type=int, default=1, help="dcgan: BatchNorm in D second conv")
    p.add_argument("--gact", default="relu", choices=["relu", "lrelu"])
    p.add_argument("--dact", default="lrelu", choices=["relu", "lrelu"])
    p.add_argument("--init", default="", help="weight init (default xavier_normal mlp / dcgan_normal)")
    p.add_argument("--out", default="tanh", choices=["tanh", "sigmoid"])
    p.add_argument("--loss", default="gan")
    p.add_argument("--ls", type=float, default=0.0, help="one-sided label smoothing")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--lr_d", type=float, default=None, help="D step size (TTUR); default lr")
    p.add_argument("--b1", type=float, default=0.5)
    p.add_argument("--b2", type=float, default=0.999)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--k", type=int, default=1)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--emas", default="",
                   help="comma list of further decays (DECAY or DECAY/WARMUP), each a moving average "
                        "of its own, scored beside --ema's (tag ema@DECAY)")
    p.add_argument("--sn", type=int, default=0, help="spectral norm in D")
    p.add_argument("--mbstd", type=int, default=0,
                   help="minibatch stddev before D's last Dense (1) or before its last hidden layer (2, mlp)")
    p.add_argument("--mbstd_group", type=int, default=0,
                   help="group size of the minibatch stddev layer (0: the whole batch)")
    p.add_argument("--nz", type=int, default=100, help="noise dimension")
    p.add_argument("--pn", type=int, default=0,
                   help="pixel norm (Karras et al.) after each of G's hidden activations (mlp)")
    p.add_argument("--pn_z", type=int, default=0,
                   help="pixel norm on G's input noise too (ProGAN's and StyleGAN's normalized z)")
    p.add_argument("--translate", type=int, default=0,
                   help="DiffAugment's translation (Zhao et al. 2020) first in D: every image D sees, "
                        "real or fake, shifted by up to this many pixels each way (mlp; with --clusters "
                        "the image, not its group)")
    p.add_argument("--inoise", type=float, default=0.0,
                   help="std of the instance noise on D's inputs (GAN's instance_noise), falling "
                        "linearly to 0 over --iters (constant without --iters)")
    p.add_argument("--topk", type=float, default=0.0,
                   help="top-k training (Sinha et al. 2020): G's step learns from the k of its m "
                        "samples D scores highest, k = max(topk m, m gamma^epoch); 0: all m")
    p.add_argument("--topk_gamma", type=float, default=0.99, help="top-k's decay per epoch")
    p.add_argument("--lecam", type=float, default=0.0,
                   help="LeCam regularization (Tseng et al. 2021) added to D's loss: LECAM * "
                        "(mean relu(D(x) - a_fake)^2 + mean relu(a_real - D(G(z)))^2), a_real and "
                        "a_fake moving averages of D's mean outputs")
    p.add_argument("--lecam_decay", type=float, default=0.99, help="decay of LeCam's averages")
    p.add_argument("--r1", type=float, default=0.0,
                   help="R1 (Mescheder et al. 2018): R1/2 * mean_n |d(sum_m D(x_m))/dx_n|^2 on the real "
                        "batch added to D's loss, every --r1_every D steps (scaled by it): GAN's r1")
    p.add_argument("--r1_every", type=int, default=R1_EVERY,
                   help=f"D steps between R1 updates (lazy R1; default {R1_EVERY}, GAN's)")
    p.add_argument("--reuse_fake", type=int, default=0,
                   help="G's step reuses the D step's fake batch (GAN's reuse_fake, minigan "
                        "train's --g-batch reuse) instead of drawing a fresh one")
    p.add_argument("--pack", type=int, default=1)
    p.add_argument("--dropout", type=float, default=0.0, help="dropout in D hidden layers (mlp)")
    p.add_argument("--fm", type=float, default=0.0,
                   help="feature matching (Salimans et al. 2016) added to G's loss: "
                        "FM * |mean h(G(z)) - mean h(x)|^2, h D's last hidden features (mlp), "
                        "x the D step's real batch, through the updated D")
    p.add_argument("--ms", type=float, default=0.0,
                   help="mode seeking (Mao et al. 2019): MS / (lz + 1e-5) added to G's loss, lz = "
                        "mean |G(z1) - G(z2)| / mean |z1 - z2| over the batch's two halves, "
                        "paired to draw the same group (z2's first coordinate is z1's)")
    p.add_argument("--ms_norm", type=int, default=1, choices=(1, 2),
                   help="--ms's distance: 1, mean absolute differences over the halves (Mao et "
                        "al.); 2, lz the mean over the pairs of |x1 - x2|_2 / |z1 - z2|_2")
    p.add_argument("--optimism", type=float, default=0.0,
                   help="optimistic steps (Daskalakis et al. 2018): after each Adam step delta_t, "
                        "theta += c (delta_t - delta_{t-1}); 1: optimistic Adam, 0: plain")
    p.add_argument("--clusters", type=int, default=0,
                   help="self-conditioning (minigan.gan.clusters): D judges each digit with its "
                        "group among K k-means groups of the pixels (no labels), G draws the group "
                        "from its noise in the groups' shares; the mlp builder with --gw, --dw, --pn")
    p.add_argument("--proj", type=int, default=0,
                   help="with --clusters: D takes the group by projection (Miyato & Koyama 2018), "
                        "D(x, c) = head(h) + <E c, h> with h its last features, not at its input")
    p.add_argument("--label_every", type=int, default=0,
                   help="with --clusters: G's one-hot group joins the input of each of its Dense "
                        "layers, not only the first (the mlp builder's g_label='every', the "
                        "default's; 0: g_label='input')")
    p.add_argument("--g_gain", type=int, default=0,
                   help="with --clusters --label_every 1: a gain of the group's own on each of G's "
                        "hidden Dense outputs, h (1 + c Gamma) with Gamma zero at the start "
                        "(conditional batch norm's gain, without the normalization)")
    p.add_argument("--d_label_every", type=int, default=0,
                   help="with --clusters: D's one-hot group joins the input of each of its Dense "
                        "layers too (layers.LabelledSequential), its last one's included")
    p.add_argument("--dconv", default="",
                   help="with --clusters: D's image through two stride-2 convolutions of these "
                        "channels (c1,c2; 4x4 kernels, LeakyReLU) before its Dense layers, which "
                        "take the flattened features joined to the group (ConvFrontD)")
    p.add_argument("--dconv_hidden", type=int, default=256,
                   help="with --dconv: the Dense layer's width after the convolutions (0: none)")
    p.add_argument("--restarts", type=int, default=1,
                   help="with --clusters: k-means runs from new seeds, the lowest within-group "
                        "sum of squares kept")
    p.add_argument("--iters", type=int, default=0, help="stop after this many iterations")
    p.add_argument("--decay_from", type=float, default=0.0,
                   help="with --iters: step sizes fall linearly to 0 from this fraction of the run on")
    p.add_argument("--seconds", type=float, default=300, help="stop after this many training seconds")
    p.add_argument("--eval_every_s", type=float, default=60, help="score every this many training seconds")
    p.add_argument("--eval_iters", default="", help="comma list of iterations to score at (overrides)")
    p.add_argument("--eval_raw", type=int, default=0, help="also score the raw (non-EMA) G")
    p.add_argument("--estimate_statistics", type=int, default=0,
                   help="1: score the average with batch norm statistics of its own "
                        "(EMA.estimate_statistics, what minigan train does); 0: G's, copied")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--draws", type=int, default=1,
                   help="score each G on this many draws of the noise (the first as before); the "
                   "row's scores are the first draw's, FIDs each draw's FID, FID_mean, IS_mean, "
                   "prec_mean and rec_mean the means over all (score_s their time)")
    p.add_argument("--bench", type=int, default=0,
                   help="time this many iterations (after 10 warm-up), no scoring")
    return p


p = build_parser()
a = p.parse_args()
if a.draws < 1:
    p.error(f"--draws must be at least 1, got {a.draws}")

os.makedirs("results", exist_ok=True)
logpath = f"results/{a.name}.jsonl"
open(logpath, "w").close()
print(json.dumps(vars(a)), flush=True)
rng = np.random.default_rng(a.seed)
init_rng, noise_rng, shuf_rng, eval_seed = [np.random.default_rng(s) for s in
                                            np.random.SeedSequence(a.seed).spawn(4)]
t_load = time.perf_counter()
X, _ = load_mnist("test", data_dir=a.data_dir, scale=a.out, download=False)
t_load = time.perf_counter() - t_load
NZ = a.nz


class Translate(L.Layer):
    """Each 28x28 image shifted by its own (dy, dx) in [-P, P], the background (-1 or 0)
    coming in at the edges; backward puts each gradient back where its pixel came from."""

    def __init__(self, shift, background, rng):
        super().__init__()
        self.shift, self.background, self.rng = shift, background, rng

    def forward(self, x):
        if not self.training:
            return x
        P, m = self.shift, x.shape[0]
        padded = np.full((m, 28 + 2 * P, 28 + 2 * P), self.background, dtype=x.dtype)
        padded[:, P:P + 28, P:P + 28] = x.reshape(m, 28, 28)
        dy, dx = self.rng.integers(0, 2 * P + 1, size=(2, m, 1, 1))
        idx = (np.arange(m)[:, None, None], np.arange(28)[None, :, None] + dy,
               np.arange(28)[None, None, :] + dx)
        self._cache = idx, padded.shape, x.shape
        return padded[idx].reshape(x.shape)

    def backward(self, dout, input_grad=True):
        if not self.training:
            return dout
        idx, pshape, xshape = self._need_cache()
        P = self.shift
        gpad = np.zeros(pshape, dtype=dout.dtype)
        gpad[idx] = dout.reshape(-1, 28, 28)
        return np.ascontiguousarray(gpad[:, P:P + 28, P:P + 28]).reshape(xshape)


class Embed(L.Layer):
    """E, a (classes, features) parameter for ProjectionD; no pass of its own."""

    def __init__(self, classes, width):
        super().__init__()
        self._add_param("E", np.zeros((classes, width)))


class ProjectionD(L.Sequential):
    """D(x, c) = head(h) + sum_f (E^T c)_f h_f, h = body(x) (Miyato & Koyama 2018's projection
    discriminator), on D's input [x, c] with c the one-hot group in the last ``classes``
    columns. Backward: dh = head'(dout) + dout (c E), dE = c^T (dout h), dc = 0."""

    def __init__(self, body, head, classes, width):
        super().__init__(body, head, Embed(classes, width))
        self.classes = classes

    def forward(self, xc):
        body, head, embed = self.layers
        x, c = xc[:, :-self.classes], xc[:, -self.classes:]
        h = body.forward(x)
        ce = c @ embed.params["E"]
        self._cache = c, h, ce
        return head.forward(h) + (ce * h).sum(axis=1, keepdims=True)

    def backward(self, dout, input_grad=True):
        body, head, embed = self.layers
        c, h, ce = self._need_cache()
        dh = head.backward(dout) + dout * ce
        embed._accumulate(E=c.T @ (dout * h))
        dx = body.backward(dh, input_grad=input_grad)
        return None if dx is None else np.concatenate([dx, np.zeros_like(c)], axis=1)


class TranslatedImages(L.Sequential):
    """D of a self-conditioned pair behind Translate: on D's input [x, c] the image x is
    shifted (Translate), the group c passes as it is; backward splits D's input gradient
    the same way and sends the image's part back through the shift."""

    def __init__(self, translate, D, classes):
        super().__init__(translate, D)
        self.classes = classes

    def forward(self, xc):
        translate, D = self.layers
        x, c = xc[:, :-self.classes], xc[:, -self.classes:]
        return D.forward(np.concatenate([translate.forward(x), c], axis=1))

    def backward(self, dout, input_grad=True):
        translate, D = self.layers
        dxc = D.backward(dout, input_grad=input_grad)
        if dxc is None:
            return None
        dx = translate.backward(dxc[:, :-self.classes])
        return np.concatenate([dx, dxc[:, -self.classes:]], axis=1)


class ConvFrontD(L.Sequential):
    """D of a self-conditioned pair with convolutions first: on D's input [x, c] the image x
    (784 values, read as 1 x 28 x 28) goes through ``conv``; its features, flattened, join
    the group c and go on through ``head``. Backward splits head's input gradient into the
    features' part, which goes back through ``conv``, and the group's, which is D's own."""

    def __init__(self, conv, head, classes):
        super().__init__(conv, head)
        self.classes = classes

    def forward(self, xc):
        conv, head = self.layers
        x, c = xc[:, :-self.classes], xc[:, -self.classes:]
        f = conv.forward(x.reshape(len(x), 1, 28, 28))
        self._cache = f.shape
        return head.forward(np.concatenate([f.reshape(len(f), -1), c], axis=1))

    def backward(self, dout, input_grad=True):
        conv, head = self.layers
        fshape = self._need_cache()
        dfc = head.backward(dout)
        dx = conv.backward(dfc[:, :-self.classes].reshape(fshape), input_grad=input_grad)
        if dx is None:
            return None
        return np.concatenate([dx.reshape(len(dx), -1), dfc[:, -self.classes:]], axis=1)


def conv_front(classes):
    """--dconv's D: Conv(1, c1) LReLU Conv(c1, c2) LReLU, flattened and joined to the group,
    then [Dense(., --dconv_hidden) LReLU] MinibatchStdDev Dense(., 1)."""
    c1, c2 = (int(v) for v in a.dconv.split(","))
    conv = L.Sequential(
        L.Conv2d(1, c1, 4, stride=2, padding=1, weight_init="xavier_normal", rng=init_rng),
        L.LeakyReLU(0.2),
        L.Conv2d(c1, c2, 4, stride=2, padding=1, weight_init="xavier_normal", rng=init_rng),
        L.LeakyReLU(0.2))
    head, prev = [], c2 * 49 + classes
    if a.dconv_hidden:
        head += [L.Dense(prev, a.dconv_hidden, weight_init="xavier_normal", rng=init_rng),
                 L.LeakyReLU(0.2)]
        prev = a.dconv_hidden
    head += [L.MinibatchStdDev(), L.Dense(prev + 1, 1, weight_init="xavier_normal", rng=init_rng)]
    return ConvFrontD(conv, L.Sequential(*head), classes)


class GroupGain(L.Layer):
    """out = h * (1 + c Gamma): a gain of the group's own on each of h's features (Gamma a
    (classes, features) parameter, zero at the start: the layer starts as the identity).
    GainedSequential hands it the group c before each forward pass; backward gives dh and
    keeps the group's part for GainedSequential:
    dh = dout * (1 + c Gamma), dGamma = c^T (dout * h), dc = (dout * h) Gamma^T."""

    def __init__(self, classes, width):
        super().__init__()
        self._add_param("Gamma", np.zeros((classes, width)))
        self.group = self.dgroup = None

    def forward(self, h):
        scale = 1 + self.group @ self.params["Gamma"]
        self._cache = h, self.group, scale
        return h * scale

    def backward(self, dout, input_grad=True):
        h, c, scale = self._need_cache()
        dh_scaled = dout * h
        self._accumulate(Gamma=c.T @ dh_scaled)
        self.dgroup = dh_scaled @ self.params["Gamma"].T
        return dout * scale


class GainedSequential(L.LabelledSequential):
    """LabelledSequential (the group joined to each later Dense layer) with a GroupGain
    after each hidden Dense layer: the group scales each hidden feature, as conditional
    batch norm's gain does, besides the biases of its own that the joins add. The chain's
    passes are LabelledSequential's; each gain's group gradient joins the label columns."""

    def _gains(self):
        return [layer for layer in self.layers if isinstance(layer, GroupGain)]

    def forward(self, x):
        for gain in self._gains():
            gain.group = x[:, x.shape[1] - self.classes:]
        return super().forward(x)

    def backward(self, dout, input_grad=True):
        dout = super().backward(dout, input_grad=input_grad)
        if dout is not None:
            dout[:, dout.shape[1] - self.classes:] += sum(g.dgroup for g in self._gains())
        return dout


def with_gains(net, classes):
    """net's layers with a GroupGain after each Dense layer but the last, as GainedSequential."""
    dense = [i for i, layer in enumerate(net.layers) if isinstance(layer, L.Dense)]
    layers = []
    for i, layer in enumerate(net.layers):
        layers.append(layer)
        if i in dense[:-1]:
            layers.append(GroupGain(classes, layer.params["W"].shape[1]))
    return GainedSequential(*layers, classes=classes)


def translation():
    """--translate's layer: shifts of up to --translate pixels, the background coming in,
    drawn from the stream [seed, 99]."""
    return Translate(a.translate, -1.0 if a.out == "tanh" else 0.0,
                     np.random.default_rng([a.seed, 99]))


def act(kind):
    return L.ReLU() if kind == "relu" else L.LeakyReLU(0.2)


def build():
    gw = [int(v) for v in a.gw.split(",")]
    dw = [int(v) for v in a.dw.split(",")]
    out_act = L.Tanh() if a.out == "tanh" else L.Sigmoid()
    if a.arch == "mlp":
        init = a.init or "xavier_normal"
        g, prev = ([L.PixelNorm()] if a.pn_z else []), NZ
        for w in gw:
            g += [L.Dense(prev, w, weight_init=init, rng=init_rng)]
            if a.gbn:
                g += [L.BatchNorm(w)]
            g += [act(a.gact)]
            if a.pn:
                g += [L.PixelNorm()]
            prev = w
        g += [L.Dense(prev, 784, weight_init=init, rng=init_rng), out_act]
        d, prev = [], 784 * a.pack
        if a.translate:
            d += [translation()]
        if a.pack > 1:
            d += [L.Pack(a.pack)]
        for i, w in enumerate(dw):
            if a.mbstd == 2 and i == len(dw) - 1:      # before D's last hidden layer
                d += [L.MinibatchStdDev(a.mbstd_group or None)]
                prev += 1
            d += [L.Dense(prev, w, weight_init=init, rng=init_rng), act(a.dact)]
            if a.dropout:
                d += [L.Dropout(a.dropout, rng=init_rng)]
            prev = w
        if a.mbstd == 1:
            d += [L.MinibatchStdDev(a.mbstd_group or None)]
            prev += 1
        d += [L.Dense(prev, 1, weight_init=init, rng=init_rng)]
        shape = (784,)
    else:
        init = a.init or "dcgan_normal"
        c1, c2 = gw  # G: Dense -> (c1,7,7) -> ConvT c2 -> ConvT 1
        g = [L.Dense(NZ, c1 * 49, weight_init=init, rng=init_rng)]
        if a.gbn:
            g += [L.BatchNorm(c1 * 49)]
        g += [act(a.gact), L.Reshape((c1, 7, 7)),
              L.ConvTranspose2d(c1, c2, 4, stride=2, padding=1, weight_init=init, rng=init_rng)]
        if a.gbn:
            g += [L.BatchNorm(c2)]
        g += [act(a.gact), L.ConvTranspose2d(c2, 1, 4, stride=2, padding=1, weight_init=init,
                                             rng=init_rng), out_act]
        e1, e2 = dw
        d = []
        if a.pack > 1:
            d += [L.Pack(a.pack)]
        d += [L.Conv2d(a.pack, e1, 4, stride=2, padding=1, weight_init=init, rng=init_rng),
              act(a.dact), L.Conv2d(e1, e2, 4, stride=2, padding=1, weight_init=init, rng=init_rng)]
        if a.dbn:
            d += [L.BatchNorm(e2)]
        d += [act(a.dact)]
        if a.mbstd:
            d += [L.MinibatchStdDev(a.mbstd_group or None)]
        d += [L.Flatten(), L.Dense((e2 + (1 if a.mbstd else 0)) * 49, 1, weight_init=init, rng=init_rng)]
        shape = (1, 28, 28)
    G, D = L.Sequential(*g), L.Sequential(*d)
    if a.sn:
        L.spectral_norm(D, rng=init_rng)
    return G, D, shape


G, D, shape = build()
if a.proj and a.d_label_every:
    sys.exit("--proj and --d_label_every each build D's way of taking the group: choose one")
if a.g_gain and not a.label_every:
    sys.exit("--g_gain joins the gains to --label_every 1's G: give both")
if (a.proj or a.restarts != 1 or a.label_every or a.d_label_every or a.dconv) and not a.clusters:
    sys.exit("--proj, --restarts, --label_every, --d_label_every and --dconv are options of the "
             "groups: give --clusters K too")
if a.clusters:
    from minigan.app.trainer import groups_rng
    from minigan.gan import conditional as cond_mod
    from minigan.gan.clusters import kmeans, self_condition
    plain = {"arch": "mlp", "out": "tanh", "mbstd": 1, "sn": 0, "pack": 1, "gbn": 0,
             "gact": "lrelu", "dact": "lrelu", "init": "", "dropout": 0.0,
             "pn_z": 0, "nz": 100, "fm": 0.0}       # what the mlp builder it takes builds
    other = {k: getattr(a, k) for k, v in plain.items() if getattr(a, k) != v}
    if other:
        sys.exit(f"--clusters builds the default's mlp (minigan.gan.models.mlp, --gw, --dw, "
                 f"--pn); it does not take {other}")
    t_k = time.perf_counter()
    Yc = kmeans(X.reshape(len(X), -1), a.clusters, groups_rng(a.seed),
                restarts=a.restarts)[1]   # the trainer's
    print("kmeans", a.clusters, f"{time.perf_counter() - t_k:.1f}s shares",
          np.round(np.bincount(Yc, minlength=a.clusters) / len(Yc), 3).tolist(), flush=True)
    G, D = gan_mod.models.mlp(init_rng, classes=a.clusters, minibatch="stddev",
                              g_widths=tuple(int(v) for v in a.gw.split(",")),
                              d_widths=tuple(int(v) for v in a.dw.split(",")),
                              g_pixelnorm=bool(a.pn),
                              g_label="every" if a.label_every else "input")
    if a.proj:
        D0 = gan_mod.models.mlp(init_rng, minibatch="stddev",
                                d_widths=tuple(int(v) for v in a.dw.split(",")))[1]
        D = ProjectionD(L.Sequential(*D0.layers[:-1]), D0.layers[-1], a.clusters,
                        D0.layers[-1].params["W"].shape[0])
    if a.d_label_every:
        body, prev = [], 784
        for w in (int(v) for v in a.dw.split(",")):
            body += [L.Dense(prev + a.clusters, w, weight_init="xavier_normal", rng=init_rng),
                     L.LeakyReLU(0.2)]
            prev = w
        D = L.LabelledSequential(*body, L.MinibatchStdDev(),
                                 L.Dense(prev + 1 + a.clusters, 1, weight_init="xavier_normal",
                                         rng=init_rng), classes=a.clusters)
    if a.dconv:
        if a.proj or a.d_label_every:
            sys.exit("--dconv builds D's way of taking the group: drop --proj, --d_label_every")
        D = conv_front(a.clusters)
    if a.translate:
        D = TranslatedImages(translation(), D, a.clusters)
    if a.g_gain:
        G.net = with_gains(G.net, a.clusters)
    G = L.SelfConditionedGenerator(G.net, a.clusters)      # G draws its group from z[:, 0]
    self_condition(G, Yc)
print("G:", G, "\nD:", D, flush=True)


def nparams(m):
    return int(sum(v.size for v in m.params.values()))


print("params G", nparams(G), "D", nparams(D), flush=True)
Xs = X.reshape((len(X),) + shape)
g_opt = optim.Adam(G, lr=a.lr, betas=(a.b1, a.b2))
d_opt = optim.Adam(D, lr=a.lr_d or a.lr, betas=(a.b1, a.b2))


def optimistic(opt, c):
    """Wrap ``opt.step``: theta_{t+1} = theta_t + delta_t + c (delta_t - delta_{t-1}), where
    delta_t is the plain step (c = 1: optimistic mirror descent's 2 delta_t - delta_{t-1})."""
    plain = opt.step
    last = [np.zeros_like(p) for p, _ in opt.pairs]

    def step():
        before = [p.copy() for p, _ in opt.pairs]
        plain()
        for (p, _), b, d_prev in zip(opt.pairs, before, last, strict=True):
            delta = p - b
            p += c * (delta - d_prev)
            d_prev[...] = delta
    opt.step = step


if a.optimism:
    optimistic(g_opt, a.optimism)
    optimistic(d_opt, a.optimism)
model = gan_mod.GAN(G, D, g_opt, d_opt, NZ, k=a.k, loss=a.loss, label_smoothing=a.ls,
                    prior="gaussian", rng=noise_rng, check_data=False,
                    instance_noise=a.inoise, reuse_fake=bool(a.reuse_fake),
                    r1=a.r1, r1_every=a.r1_every)
if a.fm:
    n_feat = max(i for i, layer in enumerate(D.layers) if isinstance(layer, L.MinibatchStdDev))
    feat, head = D.layers[:n_feat], D.layers[n_feat:]

    def g_step_fm(m, dtype=None):
        """The G step, with feature matching added to the game's G loss."""
        G.zero_grad()
        fake = model.g_step_batch(m, dtype)
        D.freeze(True)
        try:
            hr = state["real"]                        # the last D step's real batch
            for layer in feat:
                hr = layer.forward(hr)
            mu_real = hr.mean(axis=0)
            h = fake
            for layer in feat:
                h = layer.forward(h)
            out = h
            for layer in head:
                out = layer.forward(out)
            loss, dout = model.game.g_loss(out)
            for layer in reversed(head):
                dout = layer.backward(dout)
            diff = h.mean(axis=0) - mu_real
            dout = dout + (2.0 * a.fm / m) * diff     # d/dh_i of FM |mean h - mu|^2
            for layer in reversed(feat):
                dout = layer.backward(dout)
        finally:
            D.freeze(False)
        G.backward(dout, input_grad=False)
        g_opt.step()
        return {"g_loss": loss + a.fm * float(diff @ diff), "d_gen": model.game.mean_output(out)}

    model.g_step = g_step_fm
if a.ms:
    if a.fm:
        sys.exit("--ms and --fm each replace G's step: give one")
    plain_noise = model.sample_noise

    def paired_noise(m, dtype=None):
        """The prior's noise, its second half paired with its first: the same first
        coordinate (the group a self-conditioned G draws), the others drawn apart."""
        z = plain_noise(m, dtype)
        h = m // 2
        z[h:2 * h, 0] = z[:h, 0]
        state["z"] = z
        return z

    model.sample_noise = paired_noise

    def g_step_ms(m, dtype=None):
        """The G step, with mode seeking's term added to the game's G loss:
        L_ms = MS / (lz + eps), lz = mean|x1 - x2| / mean|z1 - z2| (images x, noise z
        without the coordinate they share), dL_ms/dx1 = -MS / (lz + eps)^2 sign(x1 - x2)
        / (size(x1) mean|z1 - z2|) and the opposite for x2."""
        G.zero_grad()
        fake = model.g_step_batch(m, dtype)
        z = state["z"]
        loss, outputs, dfake = gan_mod.generator_gradient(model.D, model.game, model.noisy(fake))
        h, width = m // 2, 784
        diff = fake[:h, :width] - fake[h:2 * h, :width]
        if a.ms_norm == 1:
            dz = float(np.abs(z[:h, 1:] - z[h:2 * h, 1:]).mean())
            lz = float(np.abs(diff).mean()) / dz
            g = ((-a.ms / (lz + 1e-5) ** 2) / (diff.size * dz)) * np.sign(diff)
        else:   # lz = mean_i |d_i| / |dz_i|; d lz / d d_i = d_i / (h |d_i| |dz_i|)
            dz = np.linalg.norm(z[:h, 1:] - z[h:2 * h, 1:], axis=1, keepdims=True)
            dn = np.maximum(np.linalg.norm(diff, axis=1, keepdims=True), 1e-12)
            lz = float((dn / dz).mean())
            g = (-a.ms / (lz + 1e-5) ** 2) * diff / (h * dn * dz)
        dfake = np.array(dfake, copy=True)
        dfake[:h, :width] += g.astype(dfake.dtype)
        dfake[h:2 * h, :width] -= g.astype(dfake.dtype)
        G.backward(dfake, input_grad=False)
        g_opt.step()
        state["lz"] = lz
        return {"g_loss": loss + a.ms / (lz + 1e-5), "d_gen": model.game.mean_output(outputs)}

    model.g_step = g_step_ms
ema = EMA(G, a.ema) if a.ema > 0 else None
extra_emas = [(f"ema@{v}", EMA(G, *(float(f) for f in v.split("/")))) for v in a.emas.split(",") if v]
if a.lecam:
    plain_d_loss = model.game.d_loss
    anchors = {+1: 0.0, -1: 0.0}                  # moving averages of mean D(x), mean D(G(z))

    def lecam_d_loss(outputs, target, sign):
        """The game's D loss plus LeCam's term for this batch (sign +1 real, -1 fake)."""
        loss, dout = plain_d_loss(outputs, target, sign)
        out = np.asarray(outputs, dtype=np.float64)
        anchors[sign] = a.lecam_decay * anchors[sign] + (1 - a.lecam_decay) * float(out.mean())
        gap = np.maximum(sign * (out - anchors[-sign]), 0.0)  # real above a_fake, fake below a_real
        m = out.shape[0]
        dreg = (2.0 * a.lecam / m) * sign * gap
        return loss + a.lecam * float((gap ** 2).sum() / m), dout + dreg.astype(dout.dtype)

    model.game.d_loss = lecam_d_loss
if a.topk:
    plain_g_loss = model.game.g_loss

    def topk_g_loss(outputs):
        """The game's G loss over the k samples D scores highest; 0 gradient to the rest."""
        m = outputs.shape[0]
        k = max(int(np.ceil(a.topk * m)), int(np.ceil(m * a.topk_gamma ** state["epoch"])))
        if k >= m:
            return plain_g_loss(outputs)
        keep = np.argpartition(-outputs[:, 0], k - 1)[:k]
        loss, dkeep = plain_g_loss(outputs[keep])
        dout = np.zeros_like(outputs)
        dout[keep] = dkeep
        return loss, dout

    model.game.g_loss = topk_g_loss
ref = None if a.bench else scoring.Reference.load(data_dir=a.data_dir, download=False,
                                                  trained_on="test")

n, b = len(Xs), a.batch
ipe = n // (b * a.k)
state = {"perm": None, "i": 0, "epoch": -1}


def next_batch():
    if state["perm"] is None or state["i"] >= ipe * a.k:
        state["perm"] = shuf_rng.permutation(n)
        state["i"] = 0
        state["epoch"] += 1
    idx = state["perm"][state["i"] * b:(state["i"] + 1) * b]
    state["i"] += 1
    state["real"] = Xs[idx]                   # kept for --fm's G step
    if a.clusters:
        return cond_mod.with_labels(Xs[idx], Yc[idx], a.clusters)
    return state["real"]


def evaluate(it, secs):
    rows = []
    gens = [("ema", ema.generator)] if ema is not None else []
    gens += [(tag, e.generator) for tag, e in extra_emas]
    if ema is None or a.eval_raw:
        gens.append(("raw", G))
    if ema is not None and a.estimate_statistics:
        stats_rng = np.random.default_rng([a.seed, it, STATISTICS_STREAM])
        ema.estimate_statistics(lambda m: gan_mod.sample_noise(m, NZ, "gaussian", stats_rng))
    def draw(gen, noise_seed):
        zr = np.random.default_rng(noise_seed)
        imgs = []
        with gen.evaluating():
            for _ in range(0, a.n, 1000):
                z = gan_mod.sample_noise(1000, NZ, "gaussian", zr)
                imgs.append(np.asarray(L.generated_images(gen, z)).reshape(1000, -1))
        imgs = np.concatenate(imgs).astype(np.float32)
        return (imgs + 1) / 2 if a.out == "tanh" else imgs

    for tag, gen in gens:
        t = time.perf_counter()
        s = scoring.score_images(draw(gen, 12345), ref, parzen=False)
        more = [scoring.score_images(draw(gen, 12345 + d), ref, parzen=False)
                for d in range(1, a.draws)]
        row = {"iter": it, "train_s": round(secs, 2), "s_per_it": round(secs / max(it, 1), 5),
               "g": tag, "IS": round(float(s["inception_score"]), 3),
               "FID": round(float(s["fid"]), 3), "n_compared": int(s["n_compared"]),
               "classes": int(s["classes_covered"]),
               "hist": [round(float(v), 3) for v in s["histogram"]],
               "prec": round(float(s["precision"]), 3), "rec": round(float(s["recall"]), 3),
               "conf": round(float(s["confident_share"]), 3), "score_s": round(time.perf_counter() - t, 1)}
        if more:
            every = [s] + more
            row["FIDs"] = [round(float(x["fid"]), 3) for x in every]
            for key, score in (("FID", "fid"), ("IS", "inception_score"), ("rec", "recall"),
                               ("prec", "precision")):
                row[f"{key}_mean"] = round(float(np.mean([x[score] for x in every])), 3)
        rows.append(row)
        print(json.dumps(row), flush=True)
        with open(logpath, "a") as f:
            f.write(json.dumps(row) + "\n")
    return rows


if a.bench:
    for _ in range(10):
        model.train_iteration(next_batch)
        if ema is not None:
            ema.update()
    t0 = time.perf_counter()
    for _ in range(a.bench):
        model.train_iteration(next_batch)
        if ema is not None:
            ema.update()
    dt = (time.perf_counter() - t0) / a.bench
    print(f"BENCH {a.name} {dt*1000:.2f} ms/it")
    with open("results/bench.txt", "a") as f:
        f.write(f"{a.name}\t{dt*1000:.2f} ms/it\t{' '.join(sys.argv[2:])}\n")
    sys.exit(0)
eval_iters = sorted(int(v) for v in a.eval_iters.split(",")) if a.eval_iters else None
secs, it, next_eval_s = 0.0, 0, a.eval_every_s
last = None
while True:
    t0 = time.perf_counter()
    if a.decay_from and a.iters:
        start = a.decay_from * a.iters     # lr <- lr0 (iters - it) / (iters - start) after start
        scale = min(1.0, (a.iters - it) / (a.iters - start))
        g_opt.lr, d_opt.lr = a.lr * scale, (a.lr_d or a.lr) * scale
    if a.iters:
        model.progress = it / a.iters      # instance noise falls linearly to 0
    stats = model.train_iteration(next_batch)
    if ema is not None:
        ema.update()
    for _, e in extra_emas:
        e.update()
    secs += time.perf_counter() - t0
    it += 1
    if it % 200 == 0:
        print(f"it {it} {secs:.1f}s d_loss {float(stats['d_loss']):.3f} g_loss {float(stats['g_loss']):.3f} "
              f"d_real {float(stats['d_real']):.3f} d_fake {float(stats['d_fake']):.3f}"
              + (f" r1 {stats['r1']:.4f}" if "r1" in stats else ""), flush=True)
    if not np.isfinite(float(stats["d_loss"])) or not np.isfinite(float(stats["g_loss"])):
        print("DIVERGED", flush=True)
        break
    done = (a.iters and it >= a.iters) or (not a.iters and secs >= a.seconds)
    due = (it in eval_iters) if eval_iters else (secs >= next_eval_s)
    if due or done:
        last = evaluate(it, secs)
        if not eval_iters:
            while next_eval_s <= secs:
                next_eval_s += a.eval_every_s
    if done:
        break
save = {("G/" + k): np.asarray(v) for k, v in G.state_dict().items()}
if ema is not None:
    save.update({("E/" + k): np.asarray(v) for k, v in ema.generator.state_dict().items()})
np.savez(f"results/{a.name}_G.npz", **save)
os.makedirs("grids", exist_ok=True)
zg = gan_mod.sample_noise(100, NZ, "gaussian", np.random.default_rng(777))
for tag, gen in ([("ema", ema.generator)] if ema is not None else []) + [("raw", G)]:
    with gen.evaluating():
        im = np.asarray(L.generated_images(gen, zg)).reshape(100, 1, 28, 28)
    plotting.save_grid(im, f"grids/{a.name}_{tag}.png", nrow=10,
                       value_range=(-1, 1) if a.out == "tanh" else (0, 1))
print(f"done {it} iterations, {secs:.1f} s training, {secs / it * 1000:.1f} ms/it, data load {t_load:.2f}s",
      flush=True)
