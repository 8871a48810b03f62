"""Milliseconds per GAN iteration on an NVIDIA GPU: minigan on CuPy against PyTorch CUDA eager.

    python benchmarks/bench_gpu.py                       # both models, batch 64, 128, 512
    python benchmarks/bench_gpu.py --models dcgan --batches 64 --iters 50
    python benchmarks/bench_gpu.py --device cpu --iters 3 --rounds 1   # dry run of the script

One iteration is Algorithm 1 with k = 1, as ``GAN.train_iteration`` runs it
(see ``bench_cpu.py``). minigan and PyTorch start from the same initial
weights, use the same Adam settings and the same step structure, and their
timing rounds alternate. Each timed iteration ends with a device
synchronization, so the figures are wall-clock time per finished iteration. Both compute in
full float32: PyTorch's TF32 is turned off (cuDNN's convolutions use it by default on
Ampere and later GPUs); CuPy's products use it only with ``CUPY_TF32=1``.

Also printed: seconds per MNIST epoch, ``60000 // batch`` iterations at the
median time per iteration (the real batches here are already on the device,
as the trainer keeps the whole data set there: ``Trainer`` moves it once per
run), the GPU's name, and the CuPy, CUDA and PyTorch versions; the GPU memory each
implementation holds (minigan: CuPy's memory pool after the timed iterations, which keeps
every block it ever allocated, so the peak of what the iteration needed plus the pool's
rounding; PyTorch: its caching allocator's peak, reserved and allocated).

Do the CUDA kernels pay? ``--plain`` times a third implementation in the same rounds:
minigan with every operation's GPU body replaced by its plain formula (CuPy's own array
operations, :func:`minigan.backend.operations`). ``--plain-each`` then replaces one body at a
time, each body the model's iteration runs (the others are named), and prints what each
kernel saves per iteration (positive: the kernel is faster).

    python benchmarks/bench_gpu.py --plain --plain-each --csv gpu.csv
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import gc
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the repository root: runs from a checkout
sys.path.insert(0, HERE)

import bench_cpu  # noqa: E402  (the PyTorch twins of the models, FLOP counts, medians)
import numpy as np  # noqa: E402

from minigan import backend  # noqa: E402
from minigan.gan import models  # noqa: E402

MNIST_TRAIN = 60000


def build_parser():
    """The script's options: a function, so that they can be read without running the script."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="mlp,vanilla,dcgan",
                   help="comma-separated names of minigan train --model (default %(default)s)")
    p.add_argument("--batches", default="64,128,512",
                   help="comma-separated batch sizes (default %(default)s)")
    p.add_argument("--iters", type=int, default=30,
                   help="timed iterations per round (default %(default)s)")
    p.add_argument("--warmup", type=int, default=5,
                   help="untimed iterations before each round (default %(default)s)")
    p.add_argument("--rounds", type=int, default=5,
                   help="alternating rounds per configuration (default %(default)s)")
    p.add_argument("--device", default="gpu", choices=("gpu", "cpu"),
                   help="gpu (default); cpu runs the same script on NumPy / torch CPU, a dry run")
    p.add_argument("--no-torch", action="store_true", help="time minigan alone")
    p.add_argument("--no-minigan", action="store_true",
                   help="time PyTorch alone: with --no-torch in another process, each "
                        "library's time without the other's rounds in between")
    p.add_argument("--plain", action="store_true",
                   help="also time minigan with every GPU body replaced by its plain formula")
    p.add_argument("--plain-each", action="store_true",
                   help="then each GPU body the iteration runs alone replaced: what each "
                        "kernel saves")
    p.add_argument("--torch-stats", action="store_true",
                   help="also time PyTorch reading the iteration's five statistics, as "
                        "minigan's train_iteration returns them")
    p.add_argument("--csv", help="write the rows to this CSV file too")
    return p


def parse_args(argv=None):
    args = build_parser().parse_args(argv)
    args.models = [m for m in args.models.split(",") if m]
    args.batches = [int(b) for b in args.batches.split(",") if b]
    return args


def full_float32(torch):
    """PyTorch's float32 convolutions and matrix products in full float32, as minigan's are.

    cuDNN runs float32 convolutions in TF32 (inputs rounded to 10-bit mantissas, on tensor
    cores) on Ampere and later GPUs unless told not to (``torch.backends.cudnn.allow_tf32``
    is True by default): the DCGAN's PyTorch rows would time a cheaper arithmetic than
    CuPy's float32 products (TF32 there only with ``CUPY_TF32=1``)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def synchronize(device):
    if device == "gpu":
        import cupy

        cupy.cuda.get_current_stream().synchronize()


def minigan_step(name, batch, device):
    """One ``train_iteration`` of model ``name`` on the active backend, data already there:
    ``bench_cpu.minigan_runner`` (the model's game and remedies as the trainer builds them,
    the moving average of G where the model keeps one, no per-batch data check, as the
    trainer checks its data set at load), then a device synchronization."""
    run, _ = bench_cpu.minigan_runner(name, np, batch=batch, move=backend.asarray,
                                      check_data=False)

    def step():
        run()
        synchronize(device)

    return step


def torch_step(name, batch, torch, dev, read_stats=False):
    """The same iteration in PyTorch eager mode on ``dev`` (``read_stats``: reading the five
    numbers ``train_iteration`` returns, as minigan's iteration does)."""
    spec = models.MODELS[name]
    rng = np.random.default_rng(0)
    previous = backend.device()
    backend.use("cpu")  # build the twins from host copies of the same initial weights
    try:
        G, D = bench_cpu.build_models(spec, rng, np)
        tG = bench_cpu.torch_sequential(torch, G, np.zeros((batch, spec.noise_dim), np.float32))
        tD = bench_cpu.torch_sequential(torch, D, bench_cpu.d_input(np, spec, batch))
    finally:
        backend.use(previous)
    tG, tD = tG.to(dev).train(), tD.to(dev).train()
    gan_step = bench_cpu.torch_gan_step(torch, tG, tD, spec.lr, spec.betas, batch,
                                        spec.noise_dim, dev, game=spec.defaults.get("loss", "gan"),
                                        ema=spec.defaults.get("ema"), read_stats=read_stats,
                                        reuse_fake=spec.reuse_fake,
                                        r1=spec.defaults.get("r1", 0.0),
                                        data_width=int(np.prod(spec.image_shape)))
    next_batch = bench_cpu.real_batches(np, spec, rng, batch=batch,
                                        move=lambda x: torch.from_numpy(x).to(dev))

    def step():
        gan_step(next_batch())
        if dev != "cpu":
            torch.cuda.synchronize()

    return step


def kernel_operations():
    """The operations whose GPU body is not their plain formula (a CUDA kernel, or a body
    tuned for both devices), by name."""
    return {f.__name__: f for f in backend.operations() if f.bodies["gpu"] is not f.reference}


@contextlib.contextmanager
def gpu_bodies(bodies):
    """Inside the block, each operation of ``bodies`` (operation -> function) runs that
    function as its GPU body; its own body is put back after the block."""
    own = {f: f.bodies["gpu"] for f in bodies}
    for f, body in bodies.items():
        f.bodies["gpu"] = body
    try:
        yield
    finally:
        for f, body in own.items():
            f.bodies["gpu"] = body


def with_plain(step, names):
    """``step`` run with the operations ``names`` on their plain formula on the GPU too (their
    GPU bodies put back after each call)."""
    ops = kernel_operations()
    plain = {ops[name]: ops[name].reference for name in names}   # resolved once, not per call

    def plain_step():
        with gpu_bodies(plain):
            step()
    return plain_step


def memory_mb(step, device, torch=None, iters=3):
    """GPU memory held after ``iters`` more calls of ``step``, in MB: CuPy's pool (every block
    it allocated since it was emptied) or, with ``torch``, its allocator's peaks
    ``(reserved, allocated)``."""
    if device != "gpu":
        return None
    if torch is not None:
        torch.cuda.reset_peak_memory_stats()
        for _ in range(iters):
            step()
        return (torch.cuda.max_memory_reserved() / 2**20,
                torch.cuda.max_memory_allocated() / 2**20)
    import cupy

    for _ in range(iters):
        step()
    return cupy.get_default_memory_pool().total_bytes() / 2**20


def empty_pool(device):
    """Free what the last configuration left in CuPy's pool."""
    gc.collect()
    if device == "gpu":
        import cupy

        cupy.get_default_memory_pool().free_all_blocks()


def describe(device, torch):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"minigan GPU benchmark, {now}")
    if device == "gpu":
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        print(f"GPU     : {name}")
        print(f"cupy    : {cupy.__version__}, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}"
              f", CUPY_TF32={os.environ.get('CUPY_TF32', '0')} (1: float32 products in TF32)")
    else:
        print(f"device  : CPU ({bench_cpu.cpu_model()}): a dry run of this script")
    print("torch   : " + (torch.__version__ if torch is not None else "not available")
          + (", TF32 off (float32 in full)" if torch is not None and device == "gpu" else ""))


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
    if args.no_minigan and torch is None:
        sys.exit("--no-minigan times PyTorch alone: it needs torch (and without --no-torch)")
    if torch is not None and dev == "cuda" and not torch.cuda.is_available():
        print("torch is installed without CUDA: timing minigan only")
        torch = None
    if torch is not None and dev == "cuda":
        full_float32(torch)
    describe(args.device, torch)

    rows, each_rows = [], []
    for name in args.models:
        for batch in args.batches:
            empty_pool(args.device)
            steps, memory = {}, {}
            if not args.no_minigan:
                steps["minigan"] = minigan_step(name, batch, args.device)
                memory["minigan"] = memory_mb(steps["minigan"], args.device)
            if torch is not None:
                if dev != "cpu":
                    torch.cuda.empty_cache()
                steps["torch"] = torch_step(name, batch, torch, dev)
                memory["torch"] = memory_mb(steps["torch"], args.device, torch)
                if args.torch_stats:
                    steps["torch_stats"] = torch_step(name, batch, torch, dev, read_stats=True)
            if args.plain and "minigan" in steps:
                steps["plain"] = with_plain(steps["minigan"], sorted(kernel_operations()))
            rows.append((name, batch, alternate(steps, args), memory))
            if args.plain_each and "minigan" in steps:
                each_rows += time_each_kernel(name, batch, steps["minigan"], args)
            del steps

    print(f"\nms per iteration, median of {args.rounds} rounds x {args.iters} iterations; "
          f"s per MNIST epoch = {MNIST_TRAIN} // batch iterations")
    impls = [k for k in ("minigan", "torch", "plain", "torch_stats") if any(k in r[2] for r in rows)]
    labels = {"minigan": "minigan", "torch": "torch", "plain": "plain", "torch_stats": "torch+stats"}
    ratios = [(a, b) for a, b in (("minigan", "torch"), ("minigan", "plain"),
                                  ("minigan", "torch_stats")) if a in impls and b in impls]
    head = f"{'model':8s} {'batch':>5s}" + "".join(
        f" {labels[k] + ' ms':>14s} {'epoch s':>8s}" for k in impls) + "".join(
        f" {labels[a] + '/' + labels[b]:>20s}" for a, b in ratios)
    print(head)
    table = []
    for name, batch, med, _ in rows:
        per_epoch = MNIST_TRAIN // batch
        line = f"{name:8s} {batch:5d}"
        row = {"model": name, "batch": batch}
        for k in impls:
            line += f" {1e3 * med[k]:14.2f} {per_epoch * med[k]:8.2f}"
            row.update({f"{k}_ms": 1e3 * med[k], f"{k}_epoch_s": per_epoch * med[k]})
        for a, b in ratios:
            line += f" {med[a] / med[b]:20.2f}"
            row[f"{a}_over_{b}"] = med[a] / med[b]
        print(line)
        table.append(row)

    if args.device == "gpu":
        print("\nGPU memory, MB: minigan = CuPy's pool after the iterations; "
              "PyTorch = its allocator's peak reserved (allocated)")
        for (name, batch, _, mem), row in zip(rows, table, strict=True):
            line = f"{name:8s} {batch:5d}"
            if mem.get("minigan") is not None:
                line += f" minigan {mem['minigan']:8.1f}"
                row["minigan_mb"] = mem["minigan"]
            if mem.get("torch"):
                line += f"   torch {mem['torch'][0]:8.1f} ({mem['torch'][1]:.1f})"
                row.update(torch_reserved_mb=mem["torch"][0], torch_allocated_mb=mem["torch"][1])
            print(line)

    if each_rows:
        print("\neach GPU body against its plain formula, alone: ms per iteration saved by the "
              "body (median of the rounds; positive: the body is faster)")
        for row in each_rows:
            print(f"{row['model']:8s} {row['batch']:5d} {row['operation']:24s} "
                  f"body {row['minigan_ms']:7.3f}  formula {row['plain_ms']:7.3f}  "
                  f"saves {row['plain_ms'] - row['minigan_ms']:+7.3f}")
    if args.csv:
        fields = sorted({k for row in table + each_rows for k in row})
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(table + each_rows)


def alternate(steps, args):
    """Median seconds per call of each of ``steps`` (name -> step), timed in ``args.rounds``
    rounds that alternate their order."""
    times, _ = bench_cpu.alternating_rounds(steps, args.rounds, args.iters, args.warmup)
    return {k: bench_cpu.median(v) for k, v in times.items()}


def operations_called(step):
    """The names of the operations of :func:`kernel_operations` whose GPU body one call of
    ``step`` runs (each body wrapped to note its call, :func:`gpu_bodies`)."""
    called = set()

    def noting(name, body):
        def noted(*args, **kwargs):
            called.add(name)
            return body(*args, **kwargs)
        return noted

    with gpu_bodies({f: noting(name, f.bodies["gpu"]) for name, f in kernel_operations().items()}):
        step()
    return called


def time_each_kernel(name, batch, step, args):
    """One row per GPU body the model's iteration runs: the iteration with it, and with it
    alone on its formula; each printed as soon as it is measured (a run stopped at a time
    limit keeps those done). The bodies the iteration never runs are named, not timed (their
    rows would time the same iteration twice)."""
    out = []
    called = operations_called(step)
    unused = sorted(set(kernel_operations()) - called)
    if unused:
        print(f"{name} {batch}: not timed, never run by its iteration: {', '.join(unused)}",
              flush=True)
    for operation in sorted(called):
        med = alternate({"body": step, "formula": with_plain(step, [operation])}, args)
        out.append({"model": name, "batch": batch, "operation": operation,
                    "minigan_ms": 1e3 * med["body"], "plain_ms": 1e3 * med["formula"]})
        print(f"measured: {name} {batch} {operation}: body {out[-1]['minigan_ms']:.3f} ms, "
              f"formula {out[-1]['plain_ms']:.3f} ms", flush=True)
    return out


if __name__ == "__main__":
    main()
