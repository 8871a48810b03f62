"""Milliseconds per GAN iteration on the CPU: minigan, and the same models in PyTorch.

    PYTHONPATH=. python benchmarks/bench_cpu.py --threads 2
    PYTHONPATH=. python benchmarks/bench_cpu.py --models dcgan --iters 20 --rounds 7 --profile

One iteration is Algorithm 1 with k = 1, exactly what ``GAN.train_iteration``
does: a D step (a real batch and a fake batch in separate forward/backward
passes, then one Adam step) and a G step (G forward, unless the model's G step reuses
the D step's batch, D forward, D backward
without D's parameter gradients, G backward, one Adam step), in the game and
with the layers each model trains with by default (``ModelSpec.defaults``):
the default ``mlp`` (batch 128) plays the hinge game with minibatch standard
deviation in D and ends each iteration with an update of the moving average of
G's weights; vanilla (batch 128) and DCGAN (batch 64) play the cross-entropy
game. Every model is float32 and in training mode.

When ``torch`` imports, the same layers, the same initial weights (copied from
minigan's), the same Adam settings and the same step structure are timed in
PyTorch eager mode with ``torch.set_num_threads(--threads)``. minigan and
PyTorch rounds alternate (the order flips every round), so a load that comes
and goes on the machine hits both; each round starts after a short pause, so
that the worker threads of the library timed before it (OpenBLAS spins about
0.1 s after its last GEMM) no longer compete for the cores.

Printed: the machine, the library versions, the float32 GEMM peak of NumPy's
BLAS measured in the same run (best of several 2048^3 products), the FLOPs of
one iteration, milliseconds per iteration (median over every timed iteration of
every round, fastest round median in brackets), the achieved GFLOP/s, its share
of the GEMM peak, and minigan/PyTorch: the median over rounds of the ratio of
the two round medians, each minigan round paired with the PyTorch round next to
it (a load that drifts over the run cancels out), and the seconds one epoch of
MNIST's 60,000 training images takes at the median iteration time (minigan /
PyTorch). ``--profile`` adds minigan's
time per layer and per pass within one iteration. ``--products`` adds, with torch, the
pieces one library may do faster than the other: each Dense layer's three products at the
model's batch (``x @ W``, ``x.T @ dout``, ``dout @ W.T``, as ``functional.dense`` writes
them) and one Adam step over all of G's and D's parameters (minigan's ``optim.Adam``
against ``torch.optim.Adam``'s default), each in microseconds, in rounds that alternate
the libraries after a pause, as the iterations are timed.

The BLAS thread count must be set before NumPy is imported, so this script sets
``OPENBLAS_NUM_THREADS`` (and OMP/MKL) from ``--threads`` and imports NumPy after.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time

# the repository root, so that the script runs from a checkout without installing
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MODEL_NAMES = ("mlp", "vanilla", "dcgan")


def build_parser():
    """The script's options: a function, so that they can be read without running the script."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=10, help="timed iterations per round (default 10)")
    p.add_argument("--warmup", type=int, default=2,
                   help="untimed iterations before each round (default 2)")
    p.add_argument("--rounds", type=int, default=10,
                   help="alternating minigan/PyTorch rounds per model (default 10)")
    p.add_argument("--pause", type=float, default=0.3,
                   help="idle seconds before each round, so that the other library's worker "
                        "threads stop spinning (OpenBLAS spins ~0.1 s after a GEMM; default 0.3)")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                   help="BLAS threads of NumPy and torch.set_num_threads (default: usable cores)")
    p.add_argument("--models", default=",".join(MODEL_NAMES),
                   help="comma-separated names of minigan.gan.models.MODELS (default "
                        f"{','.join(MODEL_NAMES)})")
    p.add_argument("--no-torch", action="store_true", help="time minigan only")
    p.add_argument("--profile", action="store_true",
                   help="also print minigan's time per layer and pass in one iteration")
    p.add_argument("--products", action="store_true",
                   help="also time each Dense product of the models (forward, weight gradient, "
                        "input gradient) and one Adam step of G and D, NumPy against PyTorch")
    return p


def parse_args(argv=None):
    p = build_parser()
    args = p.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not args.models:
        p.error("--models: name at least one model")      # the names are checked in main()
    if min(args.iters, args.rounds, args.threads) < 1 or min(args.warmup, args.pause) < 0:
        p.error("--iters, --rounds and --threads must be >= 1, --warmup and --pause >= 0")
    return args


# -- machine and libraries -------------------------------------------------------------
def cpu_model():
    """The CPU's model name from /proc/cpuinfo (or what the platform module says)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def blas_description(np):
    """NumPy's BLAS: name, version and, for OpenBLAS, the kernel set it picked at load time."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        text = f"{blas.get('name', '?')} {blas.get('version', '?')}"
    except Exception:
        return "unknown BLAS"
    core = _openblas_core(np)
    forced = os.environ.get("OPENBLAS_CORETYPE")
    if core:
        text += f" (kernels: {core}" + (f", OPENBLAS_CORETYPE={forced})" if forced else ")")
    return text


def _openblas_core(np):
    """The core name OpenBLAS chose (``openblas_get_corename``), or None when not found."""
    import ctypes
    import glob

    libdir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(libdir, "*openblas*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for sym in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                    "openblas_get_corename64_", "openblas_get_corename"):
            fn = getattr(lib, sym, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return None


def gemm_peak(np, n=2048, reps=7):
    """Best float32 GFLOP/s of ``reps`` n x n x n products with ``np.matmul(out=...)``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    np.matmul(a, b, out=c)
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        np.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


# -- FLOPs -----------------------------------------------------------------------------
def gemm_macs(seq, x):
    """Multiply-adds of each Dense / conv layer's forward product for input ``x``, as a list.

    The backward-data and the weight-gradient products of a layer have the same
    count (they are the same sum, read in another order).
    """
    from minigan.nn import layers as L

    seq, x = plain_net(seq, x)
    macs = []
    for layer, inp, out in seq.passes(x):
        if isinstance(layer, L.Dense):
            macs.append(inp.shape[0] * layer.in_features * layer.out_features)
        elif isinstance(layer, L.Conv2d):          # every output value: C*kh*kw products
            kh, kw = layer.kernel_size
            macs.append(out.size * layer.in_channels * kh * kw)
        elif isinstance(layer, L.ConvTranspose2d):  # every input value stamps O*kh*kw products
            kh, kw = layer.kernel_size
            macs.append(inp.size * layer.out_channels * kh * kw)
    return macs


def iteration_flops(name, np):
    """FLOPs of the GEMMs one minigan iteration (k = 1) performs, 2 per multiply-add.

    D: forward x3 (real, fake, G step), backward-data x3 but its first layer's
    only in the G step (no one needs the gradient with respect to the data),
    weight gradients x2 (frozen in the G step). G: forward x2 (D step, G step; x1 where
    the model's G step reuses the D step's batch, ``g_batch`` "reuse"), backward-data x1
    without its first layer's (nor with respect to the noise), weight gradients x1.
    PyTorch skips the same two input gradients.
    """
    from minigan.gan import models

    spec = models.MODELS[name]
    G, D = build_models(spec, np.random.default_rng(0), np)
    m = spec.batch_size
    g = gemm_macs(G, np.zeros((m, spec.noise_dim), np.float32))
    d = gemm_macs(D, d_input(np, spec, m))
    d_total, g_total = sum(d), sum(g)
    g_forwards = 1 if spec.reuse_fake else 2
    return 2 * (3 * d_total + (3 * d_total - 2 * d[0]) + 2 * d_total
                + g_forwards * g_total + (g_total - g[0]) + g_total)


# -- the two implementations ----------------------------------------------------------
def build_models(spec, rng, np):
    """G and D of ``spec`` in float32, with the remedies its runs add by default (the
    trainer's :func:`minigan.gan.models.remedies` of the model's defaults: the default's G
    draws one of its 30 groups from its noise, and its D judges the image with the group)."""
    from minigan.gan import models

    name = next(n for n, s in models.MODELS.items() if s is spec)
    return models.build(name, rng, np.float32, **models.remedies(spec.defaults))


def groups_of(spec):
    """The groups of a self-conditioned model's runs (``clusters``), 0 for the others."""
    return int(spec.defaults.get("clusters") or 0)


def d_input(np, spec, m):
    """Zeros of the shape of D's input batch: the images, with a self-conditioned model's
    one-hot group joined to them (features of a row, or channel maps)."""
    return with_groups(np, spec, np.zeros((m,) + spec.image_shape, np.float32),
                       np.zeros(m, np.int64))


def with_groups(np, spec, x, groups):
    """The images ``x`` as D takes them: with a self-conditioned model's groups joined."""
    from minigan.gan import conditional

    return conditional.with_labels(x, groups, groups_of(spec)) if groups_of(spec) else x


def plain_net(net, x):
    """``(Sequential, input)``: a labelled generator's net and its input ``[z, c]``, any
    other network and ``x`` itself."""
    from minigan.nn import layers as L

    if isinstance(net, L.SelfConditionedGenerator):
        return net.net, None if x is None else net.labelled_noise(x)
    return net, x


def real_batches(np, spec, rng, count=4, batch=None, move=None):
    """``next_batch()``: a few fixed real batches in the model's pixel range, served in turn.

    ``batch`` defaults to the model's batch size; ``move`` (e.g. to a device) is
    applied to each batch once, when the pool is made.
    """
    lo = 0.0 if spec.scale == "sigmoid" else -1.0
    shape = (spec.batch_size if batch is None else batch,) + spec.image_shape
    pool = [rng.uniform(lo, 1.0, shape).astype(np.float32) for _ in range(count)]
    if groups_of(spec):           # with a group's one-hot label, as the trainer's batches
        pool = [with_groups(np, spec, x, rng.integers(0, groups_of(spec), len(x))) for x in pool]
    if move is not None:
        pool = [move(x) for x in pool]
    state = {"i": 0}

    def next_batch():
        state["i"] = (state["i"] + 1) % count
        return pool[state["i"]]

    return next_batch


def minigan_runner(name, np, batch=None, move=None, check_data=True):
    """``(step, gan)``: ``step()`` runs one ``GAN.train_iteration`` of model ``name`` (and the
    moving average of G where the model keeps one). ``batch`` and ``move`` go to
    :func:`real_batches`; ``check_data=False`` leaves out the per-batch data check, as the
    trainer does."""
    from minigan import gan
    from minigan.gan import models
    from minigan.gan.ema import EMA
    from minigan.nn import optim

    spec = models.MODELS[name]
    rng = np.random.default_rng(0)
    G, D = build_models(spec, rng, np)
    model = gan.GAN(G, D, optim.Adam(G, spec.lr, spec.betas), optim.Adam(D, spec.lr, spec.betas),
                    spec.noise_dim, rng=rng, loss=spec.defaults.get("loss", "gan"),
                    check_data=check_data, reuse_fake=spec.reuse_fake,
                    r1=spec.defaults.get("r1", 0.0))
    next_batch = real_batches(np, spec, rng, batch=batch, move=move)
    if not spec.defaults.get("ema"):
        return (lambda: model.train_iteration(next_batch)), model
    ema = EMA(G, spec.defaults["ema"])

    def step():
        model.train_iteration(next_batch)
        ema.update()

    return step, model


def torch_sequential(torch, seq, x):
    """A ``torch.nn.Sequential`` with the layers of minigan's ``seq`` and its current weights
    (a self-conditioned generator: its net, inside :func:`TorchSelfConditioned`)."""
    from minigan import backend
    from minigan.nn import layers as L

    if isinstance(seq, L.SelfConditionedGenerator):
        net = torch_sequential(torch, seq.net, seq.labelled_noise(x))
        return TorchSelfConditioned(torch, net, backend.to_host(seq.cuts).copy(), seq.classes)
    nn = torch.nn
    mods = []
    for layer, inp, _ in seq.passes(x):
        p = {k: torch.from_numpy(v.copy()) for k, v in layer.params.items()}
        if isinstance(layer, L.Dense):
            mod = nn.Linear(layer.in_features, layer.out_features, bias=layer.has_bias)
            weights = {"weight": p["W"].T.contiguous(), "bias": p.get("b")}
        elif isinstance(layer, (L.Conv2d, L.ConvTranspose2d)):
            if isinstance(layer, L.Conv2d):
                mod = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                layer.stride, layer.padding, bias=layer.has_bias)
            else:
                mod = nn.ConvTranspose2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                         layer.stride, layer.padding, layer.output_padding,
                                         bias=layer.has_bias)
            weights = {"weight": p["W"], "bias": p.get("b")}
        elif isinstance(layer, L.BatchNorm):
            cls = nn.BatchNorm1d if inp.ndim == 2 else nn.BatchNorm2d
            mod = cls(layer.num_features, eps=layer.eps, momentum=layer.momentum)
            weights = {"weight": p["gamma"], "bias": p["beta"]}
        elif isinstance(layer, L.LeakyReLU):
            mod, weights = nn.LeakyReLU(layer.slope), {}
        elif isinstance(layer, L.Reshape):
            mod, weights = nn.Unflatten(1, layer.shape), {}
        elif isinstance(layer, L.MinibatchStdDev) and layer.group_size is None and inp.ndim == 2:
            mod, weights = TorchMinibatchStdDev(torch, layer.eps), {}
        elif isinstance(layer, L.PixelNorm):
            mod, weights = TorchPixelNorm(torch, layer.eps), {}
        else:
            simple = {L.ReLU: nn.ReLU, L.Tanh: nn.Tanh, L.Sigmoid: nn.Sigmoid,
                      L.Flatten: nn.Flatten}
            mod, weights = simple[type(layer)](), {}
        with torch.no_grad():
            for k, v in weights.items():
                if v is not None:
                    getattr(mod, k).copy_(v)
        mods.append(mod)
    if isinstance(seq, L.LabelledSequential):     # the label joined at its Dense layers
        return TorchLabelled(torch, mods, seq.joins, seq.classes)
    return nn.Sequential(*mods)


def TorchLabelled(torch, mods, joins, classes):
    """PyTorch's twin of ``LabelledSequential(*layers, classes=classes)``: the label (the
    input's last ``classes`` columns) joined to the input of the modules at ``joins``."""

    class Labelled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList(mods)

        def forward(self, x):
            c = x[:, x.shape[1] - classes:]
            for i, mod in enumerate(self.layers):
                if i in joins:
                    x = torch.cat([x, c], dim=1)
                x = mod(x)
            return x

    return Labelled()


def TorchSelfConditioned(torch, net, cuts, classes):
    """PyTorch's twin of ``SelfConditionedGenerator(net, classes, cuts)``: ``z -> [net([0, z_1,
    ..., c]), c]`` with ``c`` the one-hot of the cuts below ``z[:, 0]`` (0 in its place);
    ``images(z)`` without ``c``."""

    class SelfConditioned(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net
            self.register_buffer("cuts", torch.from_numpy(cuts))

        def labelled(self, z):          # [0, z_1, ..., one_hot(c)] and one_hot(c)
            c = (z[:, :1] > self.cuts[None, :]).sum(dim=1)
            c = torch.nn.functional.one_hot(c, classes).to(z.dtype)
            return torch.cat([torch.zeros_like(z[:, :1]), z[:, 1:], c], dim=1), c

        def images(self, z):
            return self.net(self.labelled(z)[0])

        def forward(self, z):
            zc, c = self.labelled(z)
            return torch.cat([self.net(zc), c], dim=1)

    return SelfConditioned()


def TorchMinibatchStdDev(torch, eps):
    """PyTorch's twin of ``MinibatchStdDev()`` on ``(N, F)`` rows (the whole batch one group)."""

    class MinibatchStdDev(torch.nn.Module):
        def forward(self, x):
            sigma = torch.sqrt(x.var(dim=0, unbiased=False) + eps)    # (F,)
            return torch.cat([x, sigma.mean().expand(x.shape[0], 1)], dim=1)

    return MinibatchStdDev()


def TorchPixelNorm(torch, eps):
    """PyTorch's twin of ``PixelNorm()``: axis 1 scaled to a root mean square of one."""

    class PixelNorm(torch.nn.Module):
        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)

    return PixelNorm()


def torch_losses(torch, game, m, device="cpu"):
    """``(d_real, d_fake, g_fake)``: the game's three loss terms on D's outputs, as PyTorch
    functions, the same as minigan's ``cross_entropy`` (non-saturating G) or ``hinge`` game."""
    F = torch.nn.functional
    if game == "hinge":
        return (lambda a: F.relu(1 - a).mean(), lambda a: F.relu(1 + a).mean(),
                lambda a: -a.mean())
    if game != "gan":
        raise ValueError(f"no PyTorch twin of the {game!r} game here")
    ones = torch.ones(m, 1, device=device)
    zeros = torch.zeros(m, 1, device=device)
    bce = F.binary_cross_entropy_with_logits                      # mean, on logits
    return (lambda a: bce(a, ones), lambda a: bce(a, zeros), lambda a: bce(a, ones))


def torch_gan_step(torch, tG, tD, lr, betas, m, noise_dim, device="cpu", game="gan", ema=None,
                   read_stats=False, reuse_fake=False, r1=0.0, data_width=None):
    """``step(x)``: one iteration of Algorithm 1 (k = 1) in PyTorch on the real batch ``x``.

    The structure of ``minigan.gan.GAN.train_iteration``: a D step on ``x`` and a
    fake batch in separate forward/backward passes (gradients accumulate, one Adam
    update), then a G step through D with D's parameter gradients not kept; with
    ``ema`` (a decay), then the moving average of G's weights and a copy of its buffers,
    as ``minigan.gan.ema.EMA.update`` does (``step.averaged_generator`` holds it). With
    ``read_stats``, the step also reads what ``train_iteration`` returns as Python numbers
    (D's loss, the mean D outputs on the real and the fake batch, G's loss, the mean D
    output in the G step): five reads from the device on a GPU. With ``reuse_fake``, the G
    step learns from the D step's fake batch, as ``GAN(reuse_fake=True)`` does (the
    model's ``g_batch`` default "reuse"): G's forward pass runs once, kept for G's backward.
    With ``r1`` (a gamma), R1 as ``GAN(r1=...)`` takes it: on every ``R1_EVERY``-th D step,
    ``R1_EVERY`` times gamma/2 the mean squared norm of the gradient of D's summed output
    with respect to the first ``data_width`` values of each real sample (PyTorch's double
    backward).
    """
    from minigan.gan.algorithm import R1_EVERY

    g_opt = torch.optim.Adam(tG.parameters(), lr=lr, betas=betas, eps=1e-8)
    d_opt = torch.optim.Adam(tD.parameters(), lr=lr, betas=betas, eps=1e-8)
    d_real_loss, d_fake_loss, g_loss = torch_losses(torch, game, m, device)
    d_params = list(tD.parameters())
    shadow, updates, d_steps = None, 0, 0
    if ema is not None:
        import copy

        shadow = copy.deepcopy(tG)
        g_params, s_params = list(tG.parameters()), list(shadow.parameters())
        g_buffers, s_buffers = list(tG.buffers()), list(shadow.buffers())

    def step(x):
        nonlocal updates, d_steps
        # D step: real and fake batches in separate passes, gradients accumulate, one update
        d_opt.zero_grad()
        real_out = tD(x)
        loss_real = d_real_loss(real_out)
        loss_real.backward()
        if reuse_fake:                            # G's forward, kept for the G step
            fake = tG(torch.randn(m, noise_dim, device=device))
            fake_out = tD(fake.detach())
        else:
            with torch.no_grad():                 # G's forward only feeds D here
                fake = tG(torch.randn(m, noise_dim, device=device))
            fake_out = tD(fake)
        loss_fake = d_fake_loss(fake_out)
        loss_fake.backward()
        if r1 and d_steps % R1_EVERY == 0:        # lazy R1 on the real batch
            x_in = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(tD(x_in).sum(), x_in, create_graph=True)
            g = g.reshape(m, -1)[:, :data_width]
            (0.5 * r1 * R1_EVERY * g.pow(2).sum() / m).backward()
        d_steps += 1
        d_opt.step()
        # G step through D, D's parameter gradients not kept
        g_opt.zero_grad()
        for p in d_params:
            p.requires_grad_(False)
        try:
            gen_out = tD(fake if reuse_fake else tG(torch.randn(m, noise_dim, device=device)))
            loss_g = g_loss(gen_out)
            loss_g.backward()
        finally:
            for p in d_params:
                p.requires_grad_(True)
        g_opt.step()
        if ema is not None:                        # shadow <- beta shadow + (1 - beta) theta
            beta = min(ema, (1.0 + updates) / (10.0 + updates))
            updates += 1
            with torch.no_grad():
                torch._foreach_lerp_(s_params, g_params, 1.0 - beta)
                for s, b in zip(s_buffers, g_buffers, strict=True):
                    s.copy_(b)
        if read_stats:
            return ((loss_real + loss_fake).item(), real_out.mean().item(),
                    fake_out.mean().item(), loss_g.item(), gen_out.mean().item())

    step.averaged_generator = shadow     # None without ``ema``
    return step


def torch_runner(name, np, torch):
    """``step()`` running one iteration of the same model in PyTorch, the same structure."""
    from minigan.gan import models

    spec = models.MODELS[name]
    rng = np.random.default_rng(0)
    G, D = build_models(spec, rng, np)         # the same initial weights as minigan's run
    m = spec.batch_size
    tG = torch_sequential(torch, G, np.zeros((m, spec.noise_dim), np.float32)).train()
    tD = torch_sequential(torch, D, d_input(np, spec, m)).train()
    step = torch_gan_step(torch, tG, tD, spec.lr, spec.betas, m, spec.noise_dim,
                          game=spec.defaults.get("loss", "gan"), ema=spec.defaults.get("ema"),
                          reuse_fake=spec.reuse_fake, r1=spec.defaults.get("r1", 0.0),
                          data_width=int(np.prod(spec.image_shape)))
    host_batch = real_batches(np, spec, rng)
    return lambda: step(torch.from_numpy(host_batch()))


# -- timing ------------------------------------------------------------------------------
def timed_round(step, iters, warmup):
    """Seconds of each of ``iters`` calls of ``step``, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return times


def alternating_rounds(steps, rounds, iters, warmup, pause=0.0):
    """Time each of ``steps`` (name -> step) in ``rounds`` rounds of :func:`timed_round`
    whose order flips every round, each after ``pause`` idle seconds (so that the worker
    threads of the step timed before it have stopped spinning).

    Returns ``(times, round_medians)``: name -> the seconds of every timed call, and
    name -> the median of each round (paired round by round across names).
    """
    times = {name: [] for name in steps}
    round_medians = {name: [] for name in steps}
    for r in range(rounds):
        order = list(steps) if r % 2 == 0 else list(steps)[::-1]
        for name in order:
            time.sleep(pause)
            t = timed_round(steps[name], iters, warmup)
            times[name] += t
            round_medians[name].append(median(t))
    return times, round_medians


def variant_rounds(variants, np, rounds, iters, warmup=20):
    """Milliseconds per iteration of variants of a model taking turns in one process: each
    ``label -> ModelSpec`` run by :func:`minigan_runner` (without the per-batch data check,
    as the trainer runs), ``warmup`` untimed iterations of each, then
    :func:`alternating_rounds` of ``iters`` iterations. Returns label -> the mean of each
    round (``r1_cost.py``, ``batch_cost.py``)."""
    from minigan.gan import models

    steps = {}
    for label, spec in variants.items():
        name = f"variant {label!r}"                # minigan_runner builds a model by its name
        models.MODELS[name] = spec
        try:
            steps[label] = minigan_runner(name, np, check_data=False)[0]
        finally:
            del models.MODELS[name]
    for step in steps.values():
        timed_round(step, 0, warmup)
    times, _ = alternating_rounds(steps, rounds, iters, 0)
    return {label: [1e3 * sum(t[r * iters:(r + 1) * iters]) / iters for r in range(rounds)]
            for label, t in times.items()}


def profile_iteration(name, np, iters):
    """minigan's milliseconds per iteration spent in each layer's forward/backward and in Adam."""
    step, model = minigan_runner(name, np)
    totals = {}

    def wrap(key, fn):
        def timed(*a, **k):
            t = time.perf_counter()
            out = fn(*a, **k)
            totals[key] = totals.get(key, 0.0) + time.perf_counter() - t
            return out
        return timed

    for tag, seq in (("G", plain_net(model.G, None)[0]), ("D", model.D)):
        for i, layer in enumerate(seq.layers):
            key = f"{tag}{i} {layer!r}"
            layer.forward = wrap((key, "fwd"), layer.forward)
            layer.backward = wrap((key, "bwd"), layer.backward)
    model.d_opt.step = wrap(("Adam (D)", "step"), model.d_opt.step)
    model.g_opt.step = wrap(("Adam (G)", "step"), model.g_opt.step)
    for _ in range(3):
        step()
    totals.clear()
    t = time.perf_counter()
    for _ in range(iters):
        step()
    wall = (time.perf_counter() - t) / iters
    rows = {}
    for (key, what), sec in totals.items():
        rows.setdefault(key, {})[what] = 1e3 * sec / iters
    print(f"\nminigan {name}: ms per iteration by layer (sum over the calls of one iteration; "
          f"{iters} iterations)")
    print(f"  {'layer':45s} {'forward':>8s} {'backward':>9s}")
    for key, r in rows.items():
        if "step" in r:
            print(f"  {key:45s} {r['step']:8.2f}")
        else:
            print(f"  {key:45s} {r.get('fwd', 0.0):8.2f} {r.get('bwd', 0.0):9.2f}")
    inside = sum(sum(r.values()) for r in rows.values())
    print(f"  {'layers + Adam':45s} {inside:8.2f}   iteration {1e3 * wall:.2f} "
          f"(the rest: losses, noise, bookkeeping)")


def products_table(name, np, torch, reps=50, rounds=5, pause=0.3):
    """Print microseconds of each Dense product of model ``name`` and of one Adam step over
    all its parameters, NumPy (minigan's bodies) against PyTorch: ``rounds`` rounds of
    ``reps`` calls of each library, alternating by round after ``pause`` idle seconds (so
    that the other library's worker threads have stopped spinning), the median of the
    round medians and of the paired ratios."""
    from minigan.gan import models
    from minigan.nn import optim

    spec = models.MODELS[name]
    rng = np.random.default_rng(0)
    G, D = build_models(spec, rng, np)
    rows = []
    for layer, in_shape in dense_inputs(np, spec, G, D):
        a = rng.standard_normal(in_shape, dtype=np.float32)
        W = layer.params["W"]
        d = rng.standard_normal((a.shape[0], W.shape[1]), dtype=np.float32)
        ta, tW, td = (torch.from_numpy(v) for v in (a, W, d))
        label = f"Dense({W.shape[0]}, {W.shape[1]}) batch {a.shape[0]}"
        rows += [(f"{label}: x @ W", lambda a=a, W=W: a @ W, lambda a=ta, W=tW: a @ W),
                 (f"{label}: x.T @ dout", lambda a=a, d=d: a.T @ d,
                  lambda a=ta, d=td: a.t() @ d),
                 (f"{label}: dout @ W.T",     # a broadcast product for one output
                  (lambda d=d, W=W: d @ W.T) if W.shape[1] > 1 else
                  (lambda d=d, W=W: d * W.T), lambda d=td, W=tW: d @ W.t())]
    params = [p for net in (G, D) for p, _ in net.parameters()]
    grads = [rng.standard_normal(p.shape, dtype=np.float32) for p in params]
    mine = optim.Adam(list(zip([p.copy() for p in params], grads, strict=True)), spec.lr,
                      spec.betas)
    tparams = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params]
    for tp, g in zip(tparams, grads, strict=True):
        tp.grad = torch.from_numpy(g)
    theirs = torch.optim.Adam(tparams, lr=spec.lr, betas=spec.betas, eps=1e-8)
    n = sum(p.size for p in params)
    rows.append((f"Adam step, {len(params)} arrays, {n:,} weights", mine.step, theirs.step))

    print(f"\n{name}: microseconds per call, median of {rounds} rounds of {reps} calls each, "
          f"the libraries alternating by round after a {pause} s pause (float32)")
    print(f"  {'product':46s} {'numpy':>8s} {'torch':>8s} {'numpy/torch':>11s}")
    for label, np_call, torch_call in rows:
        _, medians = alternating_rounds({"numpy": np_call, "torch": torch_call}, rounds, reps,
                                        5, pause)
        a, b = median(medians["numpy"]) * 1e6, median(medians["torch"]) * 1e6
        ratio = median([x / y for x, y in zip(medians["numpy"], medians["torch"], strict=True)])
        print(f"  {label:46s} {a:8.1f} {b:8.1f} {ratio:11.2f}")


def dense_inputs(np, spec, G, D):
    """``(layer, input shape)`` of each Dense layer of G's and D's passes at the model's batch
    (the input of a layer a label joins is ``[h, c]``)."""
    from minigan.nn import layers as L

    m = spec.batch_size
    for net, x in (plain_net(G, np.zeros((m, spec.noise_dim), np.float32)),
                   (D, d_input(np, spec, m))):
        for layer, layer_in, _ in net.passes(x):
            if isinstance(layer, L.Dense):
                yield layer, layer_in.shape


def median(values):
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def main(argv=None):
    args = parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np

    from minigan.gan import models  # after NumPy's thread count is set

    unknown = sorted(set(args.models) - set(models.MODELS))
    if unknown:
        raise SystemExit(f"bench_cpu.py: --models: unknown {unknown}; choose from "
                         f"{', '.join(models.MODELS)}")
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            torch = None
        else:
            torch.set_num_threads(args.threads)

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"minigan CPU benchmark, {now}")
    print(f"machine : {cpu_model()}, {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} "
          f"usable), load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"python  : {platform.python_version()}")
    print(f"numpy   : {np.__version__}, BLAS {blas_description(np)}, {args.threads} thread(s)")
    print("torch   : " + (f"{torch.__version__}, {torch.get_num_threads()} thread(s)"
                          if torch is not None else "not available (minigan only)"))
    peak = gemm_peak(np)
    print(f"float32 GEMM peak (numpy matmul 2048^3, best of 7): {peak:.1f} GFLOP/s")
    print("FLOPs counted: 2 per multiply-add of every Dense/conv product one iteration performs:\n"
          "  D forward x3 (real, fake, G step), D backward-data x3 (its first layer's x1),\n"
          "  D weight gradients x2; G forward x2 (D step, G step; x1 where G's step reuses\n"
          "  the D step's batch: mlp), G backward-data x1\n"
          "  (not its first layer's), G weight gradients x1.\n"
          "  Elementwise work (activations, BatchNorm, Adam, losses) is not counted.")

    results = []
    for name in args.models:
        steps = {"minigan": minigan_runner(name, np)[0]}
        if torch is not None:
            steps["torch"] = torch_runner(name, np, torch)
        times, round_medians = alternating_rounds(steps, args.rounds, args.iters, args.warmup,
                                                  args.pause)
        results.append((name, iteration_flops(name, np), times, round_medians))
    peak = max(peak, gemm_peak(np))   # measured again after the rounds; the better one counts

    print(f"\nms per iteration: median over {args.rounds} rounds x {args.iters} iterations "
          f"(fastest round's median in brackets); minigan/torch: median of the paired "
          f"round ratios; GEMM peak {peak:.1f} GFLOP/s")
    head = f"{'model':8s} {'batch':>5s} {'GFLOP/it':>8s} {'minigan ms':>16s}"
    if torch is not None:
        head += f" {'torch ms':>16s} {'minigan/torch':>13s}"
    head += f" {'minigan GFLOP/s':>15s} {'of peak':>7s} {'s/epoch (60k)':>15s}"
    print(head)
    for name, flops, times, rmed in results:
        mg = median(times["minigan"])
        row = (f"{name:8s} {models.MODELS[name].batch_size:5d} {flops / 1e9:8.3f} "
               f"{1e3 * mg:8.2f} ({1e3 * min(rmed['minigan']):5.2f})")
        if torch is not None:
            tt = median(times["torch"])
            ratio = median([a / b for a, b in zip(rmed["minigan"], rmed["torch"], strict=True)])
            row += f" {1e3 * tt:8.2f} ({1e3 * min(rmed['torch']):5.2f}) {ratio:13.2f}"
        gflops = flops / mg / 1e9
        row += f" {gflops:15.1f} {100 * gflops / peak:6.1f}%"
        iterations = 60000 / models.MODELS[name].batch_size   # one epoch of MNIST's training split
        epoch = f"{iterations * mg:.1f}"
        if torch is not None:
            epoch += f" / {iterations * median(times['torch']):.1f}"
        row += f" {epoch:>15s}"
        print(row)
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")

    if args.profile:
        for name in args.models:
            profile_iteration(name, np, args.iters)
    if args.products and torch is not None:
        for name in args.models:
            products_table(name, np, torch, pause=args.pause)


if __name__ == "__main__":
    main()
