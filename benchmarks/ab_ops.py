"""A/B timing of single operations at DCGAN's sizes: the previous code against the current.

Both variants run in ONE process, interleaved (old, new, old, new, ...), so a
machine whose load changes during the run slows both alike; printed per
operation: the median of each and new/old (below 1: the current code is
faster), and whether both gave the same bits.

    PYTHONPATH=. python benchmarks/ab_ops.py [--reps 20] [--only bn_fwd,sigmoid]

The "old" bodies below are the code as it stood before the change, kept here
only for this comparison.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from minigan import functional as F
from minigan.functional import batchnorm as bn
from minigan.functional.conv import is_channel_major
from minigan.functional.im2col import ConvGeometry, _block_rows, col2im_matmul_cpu, nchw_copy
from minigan.nn.optim import adam_update

F32 = np.float32


# -- the previous code ---------------------------------------------------------------
def old_leaky_forward(x, slope=0.2):
    positive = x > 0
    out = x * slope
    np.maximum(x, out, out=out)
    return out, (positive, slope)


def old_leaky_backward(dout, cache):
    positive, slope = cache
    scale = positive.astype(dout.dtype)
    np.maximum(scale, scale.dtype.type(slope), out=scale)
    return dout * scale


def old_sigmoid(x):
    """The overflow-free blend: where(x >= 0, 1/(1+e), e/(1+e)) with e = exp(-|x|)."""
    e = np.exp(-np.abs(x))
    pos = (x >= 0).astype(x.dtype)
    out = (1 / (1 + e)) * pos
    out += (e / (1 + e)) * (1 - pos)
    return out


def old_relu_forward(x):
    return np.maximum(x, 0)


def old_relu_backward(dout, out):
    return dout * (out > 0)


def old_bn_forward(x, gamma, beta, rm, rv, momentum=0.1, eps=1e-5):
    C = gamma.shape[0]
    m = x.size // C
    pc = bn._per_channel
    mean = bn._channel_sum(x) / m
    xhat = x - pc(mean, x)
    var = bn._channel_sum(xhat, xhat) / m
    inv_std = 1 / np.sqrt(var + eps)
    xhat *= pc(inv_std, x)
    rm *= 1 - momentum
    rm += momentum * mean
    rv *= 1 - momentum
    rv += (momentum * m / (m - 1)) * var
    out = xhat * pc(gamma, x)
    out += pc(beta, x)
    return out, (xhat, gamma, inv_std, True)


def old_bn_backward(dout, cache):
    xhat, gamma, inv_std, _ = cache
    C = gamma.shape[0]
    pc = bn._per_channel
    dout = bn.as_layout_of(dout, xhat)
    scale = pc(gamma * inv_std, xhat)
    dbeta = bn._channel_sum(dout)
    dgamma = bn._channel_sum(dout, xhat)
    m = xhat.size // C
    dx = xhat * pc(dgamma / m, xhat)
    dx += pc(dbeta / m, xhat)
    np.subtract(dout, dx, out=dx)
    dx *= scale
    return dx, dgamma, dbeta


def old_adam(p, g, m, v, lr, b1, b2, eps, bc1, bc2):
    tmp = (1.0 - b1) * g
    m *= b1
    m += tmp
    np.multiply(g, g, out=tmp)
    tmp *= 1.0 - b2
    v *= b2
    v += tmp
    den = v / bc2
    np.sqrt(den, out=den)
    den += eps
    np.divide(m, bc1, out=tmp)
    tmp *= lr
    tmp /= den
    p -= tmp


def old_col2im_matmul(a, d, geom, bias=None, contiguous=True):
    """col2im of a product onto a zero-padded image, then the crop."""
    (kh, kw), (oh, ow), (sh, sw) = geom.kernel, geom.grid, geom.stride
    K = a.shape[0]
    C, N = K // (kh * kw), d.shape[1] // (oh * ow)
    width = ow * N
    rows = _block_rows(K, ow, N, 4, oh)
    xpad = np.zeros((C, *geom.padded(), N), dtype=np.float32)
    buf = np.empty(K * rows * width, dtype=np.float32)
    for y0 in range(0, oh, rows):
        nr = min(rows, oh - y0)
        block = buf[:K * nr * width].reshape(K, nr * width)
        np.matmul(a, d[:, y0 * width:(y0 + nr) * width], out=block)
        col = block.reshape(C, kh, kw, nr, ow, N)
        for i in range(kh):
            i0, i_end = y0 * sh + i, (y0 + nr - 1) * sh + i + 1
            for j in range(kw):
                xpad[:, i0:i_end:sh, j:j + sw * (ow - 1) + 1:sw, :] += col[:, i, j]
    (h, w), (ph, pw) = geom.image, geom.padding
    crop = xpad[:, ph:ph + h, pw:pw + w, :]
    if not contiguous:
        if bias is not None:
            return np.add(crop, bias.reshape(C, 1, 1, 1)).transpose(3, 0, 1, 2)
        return np.ascontiguousarray(crop).transpose(3, 0, 1, 2)
    return nchw_copy(crop.transpose(3, 0, 1, 2), bias)


# -- inputs --------------------------------------------------------------------------
def channel_major(rng, shape):
    """An NCHW view of channel-major memory, as the convolution layers return."""
    N, C, H, W = shape
    a = rng.standard_normal((C, H, W, N)).astype(F32).transpose(3, 0, 1, 2)
    assert is_channel_major(a)
    return a


def adam_params(rng):
    """D's and G's parameter shapes of models.dcgan (about 1.0M values in all)."""
    shapes = [(64, 1, 4, 4), (64,), (128, 64, 4, 4), (128,), (128,), (128,), (1, 6272), (1,),
              (6272, 100), (6272,), (6272,), (6272,), (128, 64, 4, 4), (64,), (64,), (64,),
              (64, 1, 4, 4), (1,)]
    return [tuple(rng.standard_normal(s).astype(F32) for _ in range(4)) for s in shapes]


def cases(rng):
    """name -> (old thunk, new thunk), each returning its result; fresh copies where in place."""
    out = {}
    for tag, shape in (("D1 (64,64,14,14)", (64, 64, 14, 14)),
                       ("D4 (64,128,7,7)", (64, 128, 7, 7))):
        x, d = channel_major(rng, shape), channel_major(rng, shape)
        out["leaky_fwd " + tag] = (lambda x=x: old_leaky_forward(x)[0],
                                   lambda x=x: F.leaky_relu_forward(x)[0])
        c = F.leaky_relu_forward(x)[1]
        out["leaky_bwd " + tag] = (lambda d=d, c=c: old_leaky_backward(d, c),
                                   lambda d=d, c=c: F.leaky_relu_backward(d, c))
    x, d = channel_major(rng, (64, 128, 7, 7)), rng.standard_normal((64, 128, 7, 7)).astype(F32)
    c = F.leaky_relu_forward(x)[1]                       # dout from the Flatten: C-contiguous
    out["leaky_bwd D4, dout NCHW"] = (lambda d=d, c=c: old_leaky_backward(d, c),
                                      lambda d=d, c=c: F.leaky_relu_backward(d, c))
    for name, shape in (("sigmoid vanilla G3 (128,784)", (128, 784)),
                        ("sigmoid (64,784)", (64, 784))):
        x = 3 * rng.standard_normal(shape).astype(F32)
        out[name] = (lambda x=x: old_sigmoid(x), lambda x=x: F.sigmoid(x))
    for name, shape in (("relu_fwd G2 (64,6272)", (64, 6272)),
                        ("relu_fwd G6 (64,64,14,14)", (64, 64, 14, 14))):
        x = channel_major(rng, shape) if len(shape) == 4 else rng.standard_normal(shape).astype(F32)
        d = channel_major(rng, shape) if len(shape) == 4 else np.ascontiguousarray(x[::-1])
        out[name] = (lambda x=x: old_relu_forward(x), lambda x=x: F.relu_forward(x)[0])
        y = F.relu_forward(x)[0]
        out[name.replace("fwd", "bwd")] = (lambda d=d, y=y: old_relu_backward(d, y),
                                           lambda d=d, y=y: F.relu_backward(d, y))
    for name, shape in (("bn_fwd D3 (64,128,7,7)", (64, 128, 7, 7)),
                        ("bn_fwd G5 (64,64,14,14)", (64, 64, 14, 14))):
        x = channel_major(rng, shape)
        C = shape[1]
        g, b = rng.standard_normal(C).astype(F32), rng.standard_normal(C).astype(F32)
        z = np.zeros(C, F32)
        o = np.ones(C, F32)
        out[name] = (lambda x=x, g=g, b=b, z=z, o=o: old_bn_forward(x, g, b, z.copy(), o.copy())[0],
                     lambda x=x, g=g, b=b, z=z, o=o: F.batchnorm_forward(
                         x, g, b, z.copy(), o.copy(), True)[0])
        d = channel_major(rng, shape)
        c = F.batchnorm_forward(x, g, b, z.copy(), o.copy(), True)[1]
        out[name.replace("fwd", "bwd")] = (lambda d=d, c=c: old_bn_backward(d, c)[0],
                                           lambda d=d, c=c: F.batchnorm_backward(d, c)[0])
    for name, geom, R, C in (
            ("col2im D2 dx 128->64 7->14", ConvGeometry.conv((14, 14), 4, 2, 1), 128, 64),
            ("col2im G4 fwd 128->64 7->14", ConvGeometry.conv_transpose((7, 7), 4, 2, 1), 128, 64),
            ("col2im G7 fwd 64->1 14->28", ConvGeometry.conv_transpose((14, 14), 4, 2, 1), 64, 1)):
        a = rng.standard_normal((C * 16, R)).astype(F32)
        d = rng.standard_normal((R, geom.grid[0] * geom.grid[1] * 64)).astype(F32)
        b = rng.standard_normal(C).astype(F32) if C == 1 else None
        out[name] = (lambda a=a, d=d, g=geom, b=b: old_col2im_matmul(a, d, g, b, False),
                     lambda a=a, d=d, g=geom, b=b: col2im_matmul_cpu(a, d, g, b, contiguous=False))
    params = adam_params(rng)
    hyper = (2e-4, 0.5, 0.999, 1e-8, 1 - 0.5 ** 3, 1 - 0.999 ** 3)

    def adam(fn):
        state = [(p.copy(), g.copy(), m.copy(), np.abs(v)) for p, g, m, v in params]
        for p, g, m, v in state:
            fn(p, g, m, v, *hyper)
        return np.concatenate([t[0].ravel() for t in state])

    out["adam D+G (1.0M values)"] = (lambda: adam(old_adam), lambda: adam(adam_update))
    return out


def timed(fn):
    t = time.perf_counter()
    r = fn()
    return time.perf_counter() - t, r


def compare(pairs, reps, labels):
    """Interleave each pair ``(a, b)`` ``reps`` times; print medians, b/a, equal bits."""
    print(f"{'operation':30s} {labels[0]:>9s} {labels[1]:>9s} {'ratio':>6s}  same bits")
    for name, (a, b) in pairs.items():
        for _ in range(3):                               # warm-up, both
            a(), b()
        t_a, t_b = [], []
        for _ in range(reps):
            dt, r_a = timed(a)
            t_a.append(dt)
            dt, r_b = timed(b)
            t_b.append(dt)
        same = np.array_equal(np.asarray(r_a), np.asarray(r_b))
        ma, mb = np.median(t_a) * 1e3, np.median(t_b) * 1e3
        print(f"{name:30s} {ma:9.3f} {mb:9.3f} {mb / ma:6.2f}  {same}")


def build_parser():
    """The script's options: a function, so that they can be read without running the script."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--only", default="", help="comma-separated name prefixes")
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    only = [s for s in args.only.split(",") if s]
    picked = {k: v for k, v in cases(np.random.default_rng(0)).items()
              if not only or any(k.startswith(o) for o in only)}
    print("previous code against the current code (ms, medians; ratio new/old)")
    compare(picked, args.reps, ("old", "new"))


if __name__ == "__main__":
    main()
