"""Exponential product-integration weights on a cell of any mesh.

For a kernel term ``exp(-mu (t - s))`` the integral over one cell
``[s_c, s_c + h]`` is taken exactly against the Lagrange interpolant of the
integrand's smooth factor through ``p`` mesh points ``s_c + x_i h`` (``x_i``
in cell-local coordinates, the cell is ``[0, 1]``):

    ∫_{s_c}^{s_c+h} e^{-mu (t - s)} y(s) ds ≈ e^{-mu (t - s_a)} h Σ_i Ω_i(z, x) y(s_c + x_i h),

with ``z = mu h`` and the anchor ``s_a`` the cell's right end when
``Re mu >= 0`` (``Ω_i = ∫_0^1 e^{z (x - 1)} L_i(x) dx``) and its left end
otherwise (``Ω_i = ∫_0^1 e^{z x} L_i(x) dx``), so that ``|e^{...}| <= 1``
inside the cell. The step is then limited by the smoothness of ``y`` alone,
however fast the exponential: the weights integrate ``e^{-mu (t - s)}`` times
every polynomial of degree ``p - 1`` exactly, for any ``z``.

The weights are ``Ω_i = Σ_k C_ik M_k`` with ``C_ik`` the coefficients of
``L_i`` in powers of ``u = x - x_a`` and ``M_k`` the exponential moments
``∫ e^{z u} u^k du`` over the cell, ``(-1)^k N_k(z)`` (right) or
``N_k(-z)`` (left), ``N_k(w) = ∫_0^1 e^{-w v} v^k dv``: by the forward
recurrence ``N_k = (k N_{k-1} - e^{-w})/w`` where it is stable (``|w| > p``)
and by the backward recurrence ``N_k = (w N_{k+1} + e^{-w})/(k+1)`` otherwise.
Finally the weights are shifted so that they sum exactly to the cell's
integral of the exponential alone: a constant is then integrated to rounding
of one operation, which matters for equations whose solution is amplified by
a small ``1 - (kernel mass)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["mesh_weights", "cell_weights", "monomial_coefficients", "weights_from_coefficients"]

#: start of the backward recurrence above the highest moment (damping (|w|/k)^30)
_BACKWARD_EXTRA = 30


def monomial_coefficients(nodes: np.ndarray, xa: np.ndarray | float) -> np.ndarray:
    """``C[g, i, k]``: coefficients of the Lagrange basis ``L_i`` in powers of ``(x - xa)``.

    Parameters
    ----------
    nodes : ndarray, shape (G, p)
        Interpolation nodes (cell-local coordinates).
    xa : float or ndarray, shape (G,)
        Expansion point of each row.
    """
    nodes = np.atleast_2d(np.asarray(nodes, dtype=float))
    G, p = nodes.shape
    nd = nodes - np.broadcast_to(np.asarray(xa, dtype=float), (G,))[:, None]
    C = np.empty((G, p, p))
    for i in range(p):
        coef = np.zeros((G, p))
        coef[:, 0] = 1.0
        den = np.ones(G)
        for m in range(p):
            if m == i:
                continue
            shifted = np.zeros_like(coef)
            shifted[:, 1:] = coef[:, :-1]
            coef = shifted - nd[:, m : m + 1] * coef
            den *= nd[:, i] - nd[:, m]
        C[:, i, :] = coef / den[:, None]
    return C


def _moments(w: np.ndarray, p: int) -> np.ndarray:
    """``N_k(w) = ∫_0^1 e^{-w v} v^k dv`` for ``k = 0 .. p-1``, shape ``w.shape + (p,)``."""
    w = np.asarray(w, dtype=complex)
    N = np.empty(w.shape + (p,), dtype=complex)
    ew = np.exp(-w)
    big = np.abs(w) > p
    if np.any(big):
        wb = w[big]
        eb = ew[big]
        Nb = np.empty(wb.shape + (p,), dtype=complex)
        Nb[..., 0] = -np.expm1(-wb) / wb
        for k in range(1, p):
            Nb[..., k] = (k * Nb[..., k - 1] - eb) / wb
        N[big] = Nb
    small = ~big
    if np.any(small):
        ws = w[small]
        es = ew[small]
        K = p + _BACKWARD_EXTRA
        acc = np.zeros(ws.shape, dtype=complex)
        Ns = np.empty(ws.shape + (p,), dtype=complex)
        for k in range(K - 1, -1, -1):
            acc = (ws * acc + es) / (k + 1)
            if k < p:
                Ns[..., k] = acc
        N[small] = Ns
    return N


def _cell_mass(z: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``∫_0^1 e^{z (x - x_a)} dx``: ``-expm1(-z)/z`` (right anchor), ``expm1(z)/z`` (left)."""
    z = np.asarray(z, dtype=complex)
    w = np.where(right, z, -z)
    out = np.ones(z.shape, dtype=complex)
    nz = w != 0
    out[nz] = -np.expm1(-w[nz]) / w[nz]
    return out


def weights_from_coefficients(z, C, right) -> np.ndarray:
    """Weights ``Ω[r, i]`` from coefficients ``C[r, i, k]`` about each row's anchor.

    ``z`` (R,), ``C`` (R, p, p) expanded about ``x_a = 1`` where ``right`` and
    ``0`` elsewhere.
    """
    z = np.asarray(z, dtype=complex)
    right = np.broadcast_to(np.asarray(right, dtype=bool), z.shape)
    p = C.shape[-1]
    w = np.where(right, z, -z)
    M = _moments(w, p)
    M = np.where(right[:, None], M * (-1.0) ** np.arange(p)[None, :], M)
    W = np.einsum("rik,rk->ri", C, M)
    # exact constant: the weights sum to the cell integral of the exponential
    W += ((_cell_mass(z, right) - W.sum(axis=1)) / p)[:, None]
    return W


def mesh_weights(z, nodes, right_anchor) -> np.ndarray:
    """Product weights ``Ω[g, i]`` of many cells at once.

    Parameters
    ----------
    z : array_like, shape (G,)
        ``mu h`` of each cell.
    nodes : array_like, shape (G, p)
        Interpolation nodes of each cell in cell-local coordinates (the cell
        is ``[0, 1]``; nodes may lie outside it).
    right_anchor : bool or array_like of bool, shape (G,)
        Anchor the exponential at the cell's right end (for ``Re mu >= 0``)
        or at its left end.

    Returns
    -------
    ndarray, shape (G, p), complex
        ``∫_0^1 e^{z (x - x_a)} L_i(x) dx`` with ``x_a = 1`` (right) or ``0``
        (left); multiply by the cell length ``h``.
    """
    z = np.atleast_1d(np.asarray(z, dtype=complex))
    nodes = np.atleast_2d(np.asarray(nodes, dtype=float))
    right = np.broadcast_to(np.asarray(right_anchor, dtype=bool), z.shape)
    C = monomial_coefficients(nodes, np.where(right, 1.0, 0.0))
    return weights_from_coefficients(z, C, right)


@lru_cache(maxsize=64)
def _offset_nodes(p: int) -> np.ndarray:
    """Nodes ``o .. o + p - 1`` for the offsets ``o = -(p-1) .. 0``, shape (p, p)."""
    return np.arange(p)[None, :] - np.arange(p - 1, -1, -1)[:, None].astype(float)


def cell_weights(z: complex, p: int, right_anchor: bool) -> np.ndarray:
    """Weights ``Ω[o_index, i]`` of a uniform grid for all offsets ``o = -(p-1) .. 0``.

    Row ``o_index = o + p - 1`` holds the weights of the points ``o .. o + p - 1``
    (cell-local coordinates, the cell is ``[0, 1]``); see :func:`mesh_weights`.
    """
    nodes = _offset_nodes(p)
    return mesh_weights(np.full(p, complex(z)), nodes, right_anchor)
