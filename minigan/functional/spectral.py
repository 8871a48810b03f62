r"""Spectral normalization (Miyato et al. 2018): a weight divided by its largest singular value, estimated.

The derivation, a worked example and the property test: ``docs/atlas/spectral.rst``.

The weight is seen as a matrix :math:`M` of shape ``(p, q)``: a Dense weight
``(in, out)`` as it is, a Conv2d weight ``(O, C, kh, kw)`` as ``(O, C kh kw)``, as in
the paper (the norm of that matrix, not the operator norm of the convolution, which can
be larger: up to :math:`\sqrt{\lceil k_h/s_h\rceil \lceil k_w/s_w\rceil}` times). A
vector :math:`u \in \mathbb{R}^p`, kept between calls, feeds ONE step of power
iteration per forward pass:

.. math::
    a = M^\top u,\quad v = \frac{a}{\|a\|},\quad c = M v,\quad
    \sigma = \|c\|,\quad u' = \frac{c}{\sigma},\qquad
    W_{\mathrm{SN}} = \frac{M}{\sigma}

In the code both norms are clamped from below, :math:`\|a\| \to \max(\|a\|, \epsilon)` and
:math:`\sigma = \max(\|c\|, \epsilon)` with :math:`\epsilon` = ``EPS`` :math:`= 10^{-12}`,
so that a zero :math:`a` or :math:`c` (a zero weight, or :math:`u` orthogonal to its
columns) gives a zero :math:`v` and :math:`u'` and not a division by zero (:math:`W_{\mathrm{SN}}`
is then :math:`W/\epsilon`: zero for a zero weight, :math:`10^{12} W` for a nonzero one whose
columns are orthogonal to :math:`u`); the backward pass reads the same clamped values,
and the formulas below are exact wherever the clamps are inactive (:math:`\|a\|, \|c\| >
\epsilon`, every weight that trains).

:math:`\sigma = \|M M^\top u\| / \|M^\top u\| = \|M v\|` with :math:`\|v\| = 1`, so
:math:`\sigma` never exceeds the largest singular value :math:`\sigma_1` and tends to it
as :math:`u` is carried over the steps (``u'`` becomes the next ``u``). Until it has,
:math:`\|W_{\mathrm{SN}}\|_2 = \sigma_1/\sigma` is above 1.

The backward pass differentiates this :math:`\sigma(M)` exactly, through the power
iteration, with :math:`u` held fixed (``u`` is a buffer, not a parameter). With
:math:`G = \partial L/\partial W_{\mathrm{SN}}` and a bar for the gradient of :math:`L`
with respect to a quantity, one line per step of the forward (on the right), read upwards:

.. math::
    \begin{aligned}
    \bar M &= G/\sigma,\quad \bar\sigma = -\frac{\langle G, M\rangle}{\sigma^2}
        = -\frac{\langle G, W_{\mathrm{SN}}\rangle}{\sigma}
        &&\qquad W_{\mathrm{SN}} = M/\sigma \\
    \bar c &= \bar\sigma\, u' &&\qquad \sigma = \|c\| \\
    \bar M &\mathrel{+}= \bar c\, v^\top,\quad \bar v = M^\top \bar c &&\qquad c = M v \\
    \bar a &= \frac{(I - v v^\top)\,\bar v}{\|a\|} &&\qquad v = a/\|a\| \\
    \bar M &\mathrel{+}= u\, \bar a^\top &&\qquad a = M^\top u
    \end{aligned}

so that

.. math::
    \frac{\partial L}{\partial M} = \frac{1}{\sigma}\Big(G - \langle G, W_{\mathrm{SN}}\rangle
        \big(u' v^\top + u\, z^\top\big)\Big),\qquad
    z = \frac{(I - v v^\top)\, M^\top u'}{\|a\|}.

The first part is the paper's equation (12),
:math:`\frac{1}{\sigma}(\hat{\mathbb E}[\delta h^\top] - \lambda\, u_1 v_1^\top)` with
:math:`\hat{\mathbb E}[\delta h^\top] = G` and :math:`\lambda = \langle G, W_{\mathrm{SN}}\rangle`,
from :math:`\partial\sigma/\partial M = u' v^\top` (inside its equation (9)); the correction
:math:`z` is the dependence of :math:`v` on :math:`M` and vanishes once the iteration has
converged (then :math:`M^\top u' = \sigma v`, orthogonal to :math:`I - v v^\top`).
Implementations that treat :math:`u, v` as constants drop it.
"""

from __future__ import annotations

from minigan.backend import get_array_module

from .errors import ShapeError, check_dout

__all__ = ["spectral_norm_forward", "spectral_norm_backward", "l2_normalize"]

EPS = 1e-12


def l2_normalize(x, eps=EPS):
    """``x / max(||x||, eps)``: a unit vector (the zero vector stays zero)."""
    xp = get_array_module(x)
    return x / max(float(xp.sqrt((x * x).sum())), eps)


def spectral_norm_forward(W, u):
    r"""One power-iteration step and the normalized weight :math:`W_{\mathrm{SN}} = W / \sigma`.

    .. math::
        a = M^\top u,\quad v = \frac{a}{\max(\|a\|, \epsilon)},\quad c = M v,\quad
        \sigma = \max(\|c\|, \epsilon),\quad u' = \frac{c}{\sigma}

    with :math:`\epsilon` = ``EPS`` :math:`= 10^{-12}` (see the module docstring).

    Parameters
    ----------
    W : ndarray of shape (p, ...)
        Seen as the matrix ``W.reshape(p, -1)`` of shape (p, q).
    u : ndarray of shape (p,)
        The left vector of the last step (held fixed here).

    Returns
    -------
    W_sn : ndarray like ``W``
    cache : tuple ``(M, W_sn, u, v, u_new, sigma, norm_a, shape)`` (``W_sn`` as the
        matrix, ``shape`` the weight's); ``cache[4]`` is the
        next ``u`` and ``cache[5]`` is :math:`\sigma`. The cache holds its own copy of
        ``u``: a caller that carries the power iteration on by writing ``u'`` into its
        ``u`` buffer in place (as :class:`minigan.nn.layers.SpectralNorm` does in training)
        leaves the backward pass differentiating the ``u`` this pass started from.
    """
    xp = get_array_module(W)
    if u.ndim != 1 or u.shape[0] != W.shape[0]:
        raise ShapeError("SpectralNorm", f"u of shape {tuple(u.shape)} does not fit weight of "
                         f"shape {tuple(W.shape)}; expected ({W.shape[0]},)")
    u = u.copy()                                  # the cache's own u (see Returns)
    M = W.reshape(W.shape[0], -1)
    a = M.T @ u                                   # a = M^T u
    norm_a = max(float(xp.sqrt((a * a).sum())), EPS)
    v = a / norm_a                                # v = a / |a|
    c = M @ v                                     # c = M v
    sigma = max(float(xp.sqrt((c * c).sum())), EPS)
    u_new = c / sigma                             # u' = c / sigma
    W_sn = W / sigma
    return W_sn, (M, W_sn.reshape(M.shape), u, v, u_new, sigma, norm_a, W.shape)


def spectral_norm_backward(dout, cache):
    r"""``dW`` from ``dout`` :math:`= \partial L/\partial W_{\mathrm{SN}}`, through :math:`\sigma(W)`.

    .. math::
        \frac{\partial L}{\partial W} = \frac{1}{\sigma}\Big(G - \langle G, W_{\mathrm{SN}}\rangle
            \big(u' v^\top + u\, z^\top\big)\Big),\quad
        z = \frac{(I - v v^\top) M^\top u'}{\|M^\top u\|}

    (see the module docstring for the derivation, one line per forward step).

    Parameters
    ----------
    dout : ndarray like ``W``
    cache : tuple from :func:`spectral_norm_forward`

    Returns
    -------
    dW : ndarray like ``W``
    """
    M, W_sn, u, v, u_new, sigma, norm_a, shape = cache
    check_dout("SpectralNorm", dout, shape)       # dout is shaped like W, M is W as a matrix
    G = dout.reshape(M.shape)
    d_sigma = -float((G * W_sn).sum()) / sigma    # W_sn = M / sigma
    dc = d_sigma * u_new                          # sigma = |c|
    dM = G / sigma + dc[:, None] * v[None, :]     # c = M v  (and the direct path)
    dv = M.T @ dc
    da = (dv - v * float(v @ dv)) / norm_a        # v = a / |a|
    dM += u[:, None] * da[None, :]                # a = M^T u
    return dM.reshape(dout.shape)
