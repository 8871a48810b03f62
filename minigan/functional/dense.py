"""Dense (fully connected) layer: forward and backward pass.

The derivation, a worked example and the property test: ``docs/atlas/dense.rst``.

``W`` has shape ``(in_features, out_features)``, as in the TensorFlow listing
of the vanilla GAN (``tf.matmul(x, W) + b``), so a row of ``x`` is one sample.
"""

from __future__ import annotations

from .errors import ShapeError, check_dout

__all__ = ["dense_forward", "dense_backward"]


def dense_forward(x, W, b):
    r"""Affine map of a batch of row vectors.

    .. math:: \text{out} = x W + b

    Parameters
    ----------
    x : ndarray of shape (N, D_in)
    W : ndarray of shape (D_in, D_out)
    b : ndarray of shape (D_out,) or None (no bias)

    Returns
    -------
    out : ndarray of shape (N, D_out)
    cache : tuple ``(x, W, has_bias)``, what the backward pass needs.
    """
    if x.ndim != 2 or x.shape[1] != W.shape[0]:
        raise ShapeError(
            "Dense",
            f"input of shape {tuple(x.shape)} does not fit weight of shape "
            f"{tuple(W.shape)}; expected (N, {W.shape[0]})",
            layer_message=f"expected input of shape (N, {W.shape[0]}), got {tuple(x.shape)}",
        )
    out = x @ W
    if b is not None:
        out += b
    return out, (x, W, b is not None)


def dense_backward(dout, cache, param_grads=True, input_grad=True):
    r"""Gradients of the loss through ``out = x W + b``.

    .. math::
        \frac{\partial L}{\partial x} = \text{dout}\, W^\top,\qquad
        \frac{\partial L}{\partial W} = x^\top\, \text{dout},\qquad
        \frac{\partial L}{\partial b} = \textstyle\sum_n \text{dout}_n

    Parameters
    ----------
    dout : ndarray of shape (N, D_out)
    cache : tuple from :func:`dense_forward`
    param_grads : bool
        When False, ``dW`` and ``db`` are not computed (returned as None): a
        frozen layer only passes the gradient on to its input.
    input_grad : bool
        When False, ``dx`` is not computed (returned as None): nothing before
        this layer needs it (the first layer of a network whose input is data).

    Returns
    -------
    dx : ndarray of shape (N, D_in) or None
    dW : ndarray of shape (D_in, D_out) or None
    db : ndarray of shape (D_out,) or None (also None without a bias)
    """
    x, W, has_bias = cache
    check_dout("Dense", dout, (x.shape[0], W.shape[1]))
    dx = None
    if input_grad:
        # dL/dx_ni = sum_j dout_nj W_ij: dout @ W.T. For one output unit (a discriminator's
        # logit) that is an outer product, and NumPy's matmul with an inner size of 1 is
        # ~20x slower than the broadcast product that gives the same numbers
        dx = dout @ W.T if W.shape[1] > 1 else dout * W.T
    if not param_grads:
        return dx, None, None
    dW = x.T @ dout                  # dL/dW_ij = sum_n x_ni dout_nj
    db = dout.sum(axis=0) if has_bias else None  # dL/db_j = sum_n dout_nj
    return dx, dW, db
