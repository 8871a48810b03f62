"""Channels-last convolutions against minigan's, on the DCGAN's two large layers.

    PYTHONPATH=. python benchmarks/channels_last.py [--reps 15]

minigan's convolutions keep activations channel-major, ``(C, H, W, N)`` memory with the
batch index fastest (``minigan.functional.im2col``): im2col copies 16 slabs whose inner
runs are N = 64 values, and col2im adds them back the same way. The variant here keeps
them channels-last, ``(N, H, W, C)`` memory seen as NCHW, as oneDNN does: im2col is then
one strided copy whose inner runs are ``kw * C`` values (256 for D2), and col2im adds 16
slabs whose inner runs are C values, a few samples at a time right after their GEMM.

Checked first against minigan's passes in float64 (largest difference printed), then
timed in float32 at the DCGAN's sizes, each pass the median of ``--reps``, minigan's and
the variant's one after the other in this process:

- D2, Conv2d(64, 128, k=4, s=2, p=1) on 64 x 64 x 14 x 14: forward, and backward with
  the weight gradient;
- G4, ConvTranspose2d(128, 64, k=4, s=2, p=1) on 64 x 128 x 7 x 7: the same two.

Last, both summed as one DCGAN iteration calls them (D2: three forward, three backward,
the third's weight gradient counted though the G step skips it; G4: two forward, one
backward). NumPy's BLAS and the kernels it picked are printed first.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from numpy.lib.stride_tricks import as_strided

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))      # minigan, from a checkout
sys.path.insert(0, HERE)                       # bench_cpu beside this script

import bench_cpu  # noqa: E402

from minigan.functional.conv import (  # noqa: E402
    conv2d_backward,
    conv2d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
)

K, S, P = 4, 2, 1          # the DCGAN's kernel, stride and padding
SAMPLES_PER_BLOCK = 16     # col2im right after the GEMM of this many samples' columns


# -- the variant: (N, H, W, C) memory, NCHW views ------------------------------------------
def channels_last(a):
    """An NCHW array as the NCHW view of channels-last memory (one transposing copy)."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def channel_major(a):
    """An NCHW array as the NCHW view of minigan's channel-major memory."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def im2col_cl(x_nhwc, oh, ow):
    """``(N*oh*ow, K*K*C)`` columns, rows ordered ``(n, y, x)``, columns ``(i, j, c)``."""
    N, H, W, C = x_nhwc.shape
    xpad = np.zeros((N, H + 2 * P, W + 2 * P, C), x_nhwc.dtype)
    xpad[:, P:P + H, P:P + W] = x_nhwc
    sN, sH, sW, sC = xpad.strides
    windows = as_strided(xpad, (N, oh, ow, K, K * C), (sN, sH * S, sW * S, sH, sC))
    return windows.reshape(N * oh * ow, K * K * C)


def col2im_matmul_cl(a, w, image, oh, ow):
    """``col2im(a @ w)`` onto the padded ``(N, Hp, Wp, C)`` ``image``, a block of samples at
    a time; returns the image without its padding."""
    N, Hp, Wp, C = image.shape
    rows = oh * ow
    buf = np.empty((SAMPLES_PER_BLOCK * rows, w.shape[1]), a.dtype)
    for n0 in range(0, N, SAMPLES_PER_BLOCK):
        n1 = min(N, n0 + SAMPLES_PER_BLOCK)
        block = buf[:(n1 - n0) * rows]
        np.matmul(a[n0 * rows:n1 * rows], w, out=block)
        cols = block.reshape(n1 - n0, oh, ow, K, K, C)
        for i in range(K):
            for j in range(K):
                image[n0:n1, i:i + S * (oh - 1) + 1:S, j:j + S * (ow - 1) + 1:S] += cols[:, :, :, i, j]
    return image[:, P:Hp - P, P:Wp - P]


def conv2d_forward_cl(x, W, b):
    N, C, H, _ = x.shape
    O = W.shape[0]
    oh = (H + 2 * P - K) // S + 1
    cols = im2col_cl(x.transpose(0, 2, 3, 1), oh, oh)
    out = cols @ W.transpose(2, 3, 1, 0).reshape(K * K * C, O)
    out += b
    return out.reshape(N, oh, oh, O).transpose(0, 3, 1, 2), (cols, W, x.shape)


def conv2d_backward_cl(dout, cache):
    cols, W, (N, C, H, Wd) = cache
    O, oh = W.shape[0], dout.shape[2]
    d = np.ascontiguousarray(dout.transpose(0, 2, 3, 1)).reshape(-1, O)
    dW = (d.T @ cols).reshape(O, K, K, C).transpose(0, 3, 1, 2)
    image = np.zeros((N, H + 2 * P, Wd + 2 * P, C), d.dtype)
    dx = col2im_matmul_cl(d, W.transpose(0, 2, 3, 1).reshape(O, K * K * C), image, oh, oh)
    return dx.transpose(0, 3, 1, 2), dW, d.sum(axis=0)


def conv_transpose2d_forward_cl(x, W, b):
    N, C, h, _ = x.shape
    O = W.shape[1]
    H = (h - 1) * S - 2 * P + K
    x_mat = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(-1, C)
    image = np.zeros((N, H + 2 * P, H + 2 * P, O), x.dtype)
    out = col2im_matmul_cl(x_mat, W.transpose(0, 2, 3, 1).reshape(C, K * K * O), image, h, h)
    out += b
    return out.transpose(0, 3, 1, 2), (x_mat, W, x.shape)


def conv_transpose2d_backward_cl(dout, cache):
    x_mat, W, (N, C, h, w) = cache
    O = W.shape[1]
    dcols = im2col_cl(dout.transpose(0, 2, 3, 1), h, w)
    w_mat = W.transpose(0, 2, 3, 1).reshape(C, K * K * O)
    dx = (dcols @ w_mat.T).reshape(N, h, w, C).transpose(0, 3, 1, 2)
    dW = (x_mat.T @ dcols).reshape(C, K, K, O).transpose(0, 3, 1, 2)
    return dx, dW, dout.sum(axis=(0, 2, 3))


# -- check and time ------------------------------------------------------------------------
def largest_difference(rng):
    """The largest difference, in float64 on small sizes, between every output of the
    variant's four passes and minigan's."""
    x = rng.standard_normal((3, 4, 6, 6))
    worst = 0.0
    for forward, backward, forward_cl, backward_cl, shape in (
            (conv2d_forward, conv2d_backward, conv2d_forward_cl, conv2d_backward_cl, (5, 4, K, K)),
            (conv_transpose2d_forward, conv_transpose2d_backward, conv_transpose2d_forward_cl,
             conv_transpose2d_backward_cl, (4, 5, K, K))):
        W = rng.standard_normal(shape)
        b = rng.standard_normal(shape[1] if forward is conv_transpose2d_forward else shape[0])
        out, cache = forward(x, W, b, S, P)
        out_cl, cache_cl = forward_cl(channels_last(x), W, b)
        dout = rng.standard_normal(out.shape)
        grads = backward(dout, cache)
        grads_cl = backward_cl(channels_last(dout), cache_cl)
        worst = max([worst, float(np.abs(out - out_cl).max())]
                    + [float(np.abs(g - h).max()) for g, h in zip(grads, grads_cl, strict=True)])
    return worst


def median_ms(fn, reps):
    """Milliseconds of ``fn``, the median of ``reps`` calls after one untimed call."""
    return bench_cpu.median(bench_cpu.timed_round(fn, reps, warmup=1)) * 1e3


def time_layer(ours, variant, inp, weight, bias, reps):
    """``{"forward": (ms, ms), "backward": (ms, ms)}``: minigan's passes on channel-major
    memory (as its layers run them), then the variant's on channels-last memory."""
    (forward, backward), (forward_cl, backward_cl) = ours, variant
    x_cm, x_cl = channel_major(inp), channels_last(inp)
    out, cache = forward(x_cm, weight, bias, S, P, contiguous=False)
    _, cache_cl = forward_cl(x_cl, weight, bias)
    d_cm, d_cl = channel_major(np.asarray(out)), channels_last(np.asarray(out))
    return {
        "forward": (median_ms(lambda: forward(x_cm, weight, bias, S, P, contiguous=False), reps),
                    median_ms(lambda: forward_cl(x_cl, weight, bias), reps)),
        "backward": (median_ms(lambda: backward(d_cm, cache), reps),
                     median_ms(lambda: backward_cl(d_cl, cache_cl), reps)),
    }


def build_parser():
    """The script's options: a function, so that they can be read without running the script."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=15, help="repetitions of each pass (default 15)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    print(f"machine : {bench_cpu.cpu_model()}, {os.cpu_count()} cores")
    print(f"numpy   : {np.__version__}, BLAS {bench_cpu.blas_description(np)}")
    rng = np.random.default_rng(0)
    print(f"largest difference from minigan's passes (float64): {largest_difference(rng):.1e}")
    f32 = np.float32
    x = rng.standard_normal((64, 64, 14, 14)).astype(f32)
    W, b = rng.standard_normal((128, 64, K, K)).astype(f32), np.zeros(128, f32)
    z = rng.standard_normal((64, 128, 7, 7)).astype(f32)
    WT, bT = rng.standard_normal((128, 64, K, K)).astype(f32), np.zeros(64, f32)
    layers = {}
    for name, forward, backward, forward_cl, backward_cl, inp, weight, bias in (
            ("D2 Conv2d(64, 128)", conv2d_forward, conv2d_backward, conv2d_forward_cl,
             conv2d_backward_cl, x, W, b),
            ("G4 ConvTranspose2d(128, 64)", conv_transpose2d_forward, conv_transpose2d_backward,
             conv_transpose2d_forward_cl, conv_transpose2d_backward_cl, z, WT, bT)):
        layers[name] = time_layer((forward, backward), (forward_cl, backward_cl), inp, weight,
                                  bias, args.reps)
    print(f"\nms per pass, median of {args.reps} (float32, batch 64)")
    print(f"  {'layer':30s} {'pass':9s} {'minigan':>8s} {'channels-last':>14s}")
    for name, passes in layers.items():
        for kind, (ours, cl) in passes.items():
            print(f"  {name:30s} {kind:9s} {ours:8.2f} {cl:14.2f}")
    calls = {"D2 Conv2d(64, 128)": (3, 3), "G4 ConvTranspose2d(128, 64)": (2, 1)}
    total = [sum(f * layers[n]["forward"][i] + bw * layers[n]["backward"][i]
                 for n, (f, bw) in calls.items()) for i in (0, 1)]
    print(f"\nas one DCGAN iteration calls them (D2: 3 forward, 3 backward; G4: 2 forward, "
          f"1 backward): minigan {total[0]:.1f} ms, channels-last {total[1]:.1f} ms "
          f"({total[1] / total[0]:.2f})")


if __name__ == "__main__":
    main()
