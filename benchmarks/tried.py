"""What bounds a DCGAN iteration on the CPU, and the variants tried against it.

    PYTHONPATH=. python benchmarks/tried.py [--reps 7]

Prints, at the DCGAN's sizes (float32, NumPy's BLAS as the environment sets it):

- the three kinds of large product of D2 (Conv2d 64 -> 128 on 14 x 14, batch 64),
  each 0.82 GFLOP, timed alone: the floor under the 12 such products of one iteration;
- the weight gradient of the real and the fake batch as two products against one with
  the inner dimension doubled;
- one elementwise pass against a square root at G's largest weight (627,200 values),
  which bounds Adam, and Adam's update against a variant without divisions; Adam's NumPy
  body in blocks against each array whole, alone over the default model's weights and
  inside its iteration;
- LeakyReLU with its boolean mask (the code) against a float slope mask;
- minor page faults per training iteration, both models;
- NumPy's normal sampler for one noise batch, float64 then cast against float32;
- the sigmoid's largest error in ulp over 10^6 values, the code against the
  overflow-free blend it replaced (``ab_ops.old_sigmoid``).

Best of ``--reps`` repetitions each; the pairs are timed in the same process, one
after the other. The numbers in benchmarks/README.md ("Tried in this round") came
from this script's measurements.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import timeit

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))      # minigan, from a checkout
sys.path.insert(0, HERE)                       # bench_cpu and ab_ops beside this script

from minigan.functional import activations as A  # noqa: E402
from minigan.nn import optim  # noqa: E402
from minigan.nn.optim import _adam_update_cpu, adam_update  # noqa: E402

F32 = np.float32


def best_ms(fn, reps, number=10):
    fn()
    return min(timeit.repeat(fn, number=number, repeat=reps)) / number * 1e3


def channel_major(rng, shape):
    N, C, H, W = shape
    return rng.standard_normal((C, H, W, N)).astype(F32).transpose(3, 0, 1, 2)


def leaky_float_mask(x, slope=0.2):
    """The variant: s = max([x > 0], slope), out = x * s; the backward is dout * s."""
    s = np.empty_like(x)
    s[...] = x > 0
    np.maximum(s, A._constant_like(slope, s), out=s)
    return np.multiply(x, s), s


def adam_without_divisions(p, g, m, v, lr, b1, b2, eps, bc1, bc2):
    """The variant: PyTorch's order, lr / bc1 and 1 / sqrt(bc2) as scalars."""
    tmp = np.multiply(g, 1.0 - b1)
    m *= b1
    m += tmp
    np.multiply(g, g, out=tmp)
    tmp *= 1.0 - b2
    v *= b2
    v += tmp
    den = np.sqrt(v)
    den *= 1 / np.sqrt(bc2)
    den += eps
    np.divide(m, den, out=tmp)
    tmp *= lr / bc1
    p -= tmp


def adam_blocks(rng, reps):
    """Adam over the default model's weights (G's and D's arrays), the NumPy body in blocks
    of ``ADAM_BLOCK`` elements (the code) against each array whole (the body before)."""
    import bench_cpu

    from minigan.gan import models

    G, D = bench_cpu.build_models(models.MODELS["mlp"], np.random.default_rng(0), np)
    params = [p for net in (G, D) for p, _ in net.parameters()]
    states = [[p.copy(), rng.standard_normal(p.shape).astype(F32), 1e-3 * p.copy(),
               np.abs(1e-3 * p)] for p in params]
    hyper = (1.4e-3, 0.5, 0.999, 1e-8, 1 - 0.5 ** 3, 1 - 0.999 ** 3)
    size = sum(p.size for p in params)

    def run(block):
        for state in states:
            _adam_update_cpu(*state, *hyper, block=block)
    blocked = best_ms(lambda: run(optim.ADAM_BLOCK), reps)
    whole = best_ms(lambda: run(size + 1), reps)
    print(f"Adam at the default model's {size:,} weights in {len(params)} arrays: in blocks of "
          f"{optim.ADAM_BLOCK:,} {1e3 * blocked:.0f} us, each array whole {1e3 * whole:.0f} us")


def adam_blocks_in_the_iteration(rounds=12, iterations=30):
    """The default model's whole iteration (``bench_cpu.minigan_runner``: D step, G step, the
    average's update) with Adam's NumPy body in blocks against each array whole, in rounds
    that alternate (``bench_cpu.alternating_rounds``); printed: the median over rounds of
    blocks / whole."""
    import bench_cpu

    step, _ = bench_cpu.minigan_runner("mlp", np, check_data=False)
    blocks = optim.ADAM_BLOCK

    def with_block(block):
        def run():
            optim.ADAM_BLOCK = block
            step()
        return run

    try:
        _, medians = bench_cpu.alternating_rounds(
            {"blocks": with_block(blocks), "whole": with_block(2**62)}, rounds, iterations,
            warmup=1, pause=0.2)
    finally:
        optim.ADAM_BLOCK = blocks
    ratio = np.median(np.array(medians["blocks"]) / np.array(medians["whole"]))
    print(f"the default's iteration with Adam in blocks / each array whole: {ratio:.3f} "
          f"(medians {1e3 * np.median(medians['blocks']):.2f} and "
          f"{1e3 * np.median(medians['whole']):.2f} ms, {rounds} alternating rounds of "
          f"{iterations})")


def faults_per_iteration(name, iterations=30):
    import bench_cpu

    step, _ = bench_cpu.minigan_runner(name, np)
    for _ in range(5):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(iterations):
        step()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / iterations


def sigmoid_ulps(dtype, n=10**6):
    """Largest distance in ulp of the code's sigmoid and of the old blend from the exact value."""
    import ab_ops

    from minigan import functional as F

    x = (8 * np.random.default_rng(0).standard_normal(n)).astype(dtype)
    exact = 1 / (1 + np.exp(-x.astype(np.longdouble)))
    ulp = np.spacing(exact.astype(dtype)).astype(np.longdouble)
    return [float((np.abs(y.astype(np.longdouble) - exact) / ulp).max())
            for y in (F.sigmoid(x), ab_ops.old_sigmoid(x))]


def build_parser():
    """The script's options: a function, so that they can be read without running the script."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    return ap


def main(argv=None):
    reps = build_parser().parse_args(argv).reps
    rng = np.random.default_rng(0)

    W = rng.standard_normal((128, 1024)).astype(F32)           # D2's weight as (O, C*kh*kw)
    col = rng.standard_normal((1024, 2 * 3136)).astype(F32)    # im2col of two batches
    D = rng.standard_normal((128, 2 * 3136)).astype(F32)       # dout of two batches
    col1, D1 = np.ascontiguousarray(col[:, :3136]), np.ascontiguousarray(D[:, :3136])
    col2, D2 = np.ascontiguousarray(col[:, 3136:]), np.ascontiguousarray(D[:, 3136:])
    print("D2's products, 0.82 GFLOP each (ms):")
    print(f"  forward W @ col          {best_ms(lambda: W @ col1, reps):7.2f}")
    print(f"  weight gradient D @ col.T {best_ms(lambda: D1 @ col1.T, reps):6.2f}")
    print(f"  backward-data W.T @ D    {best_ms(lambda: W.T @ D1, reps):7.2f}")
    two = best_ms(lambda: (D1 @ col1.T, D2 @ col2.T), reps, number=5)
    one = best_ms(lambda: D @ col.T, reps, number=5)
    print(f"real + fake weight gradients: two products {two:.2f} ms, one with K = 6272 {one:.2f} ms")

    g = rng.standard_normal(627200).astype(F32)
    v = np.abs(g)
    out = np.empty_like(g)
    print(f"627,200 values: multiply {1e3 * best_ms(lambda: np.multiply(v, 0.7, out=out), reps):.0f} us, "
          f"sqrt {1e3 * best_ms(lambda: np.sqrt(v, out=out), reps):.0f} us")
    hyper = (2e-4, 0.5, 0.999, 1e-8, 1 - 0.5 ** 3, 1 - 0.999 ** 3)
    state = [a.copy() for a in (g, 1e-3 * g, 1e-3 * g, v)]
    code = best_ms(lambda: adam_update(*state, *hyper), reps)
    variant = best_ms(lambda: adam_without_divisions(*state, *hyper), reps)
    print(f"Adam at 627,200 values: the code {1e3 * code:.0f} us, "
          f"without divisions {1e3 * variant:.0f} us")
    adam_blocks(rng, reps)
    adam_blocks_in_the_iteration()

    x, d = channel_major(rng, (64, 64, 14, 14)), channel_major(rng, (64, 64, 14, 14))
    _, cache = A.leaky_relu_forward(x)
    _, s = leaky_float_mask(x)
    code = (best_ms(lambda: A.leaky_relu_forward(x), reps)
            + best_ms(lambda: A.leaky_relu_backward(d, cache), reps))
    variant = (best_ms(lambda: leaky_float_mask(x), reps)
               + best_ms(lambda: np.multiply(d, s), reps))
    print(f"LeakyReLU forward + backward at D1 (64x64x14x14): boolean mask {1e3 * code:.0f} us, "
          f"float mask {1e3 * variant:.0f} us")

    print(f"minor page faults per iteration: vanilla {faults_per_iteration('vanilla'):.2f}, "
          f"dcgan {faults_per_iteration('dcgan', 10):.2f}")
    r = np.random.default_rng(0)
    f64 = best_ms(lambda: r.standard_normal((128, 100)).astype(F32), reps, number=300)
    f32 = best_ms(lambda: r.standard_normal((128, 100), dtype=F32), reps, number=300)
    print(f"noise 128 x 100: float64 then cast {1e3 * f64:.0f} us, float32 {1e3 * f32:.0f} us")
    for dtype in (np.float32, np.float64):
        code, blend = sigmoid_ulps(dtype)
        print(f"sigmoid, {np.dtype(dtype).name}: at most {code:.1f} ulp from the exact value "
              f"(the old blend: {blend:.1f})")


if __name__ == "__main__":
    main()
