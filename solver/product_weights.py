"""Exponential product-integration weights on a uniform grid.

For a kernel term ``exp(-mu (t - s))`` the integral over one grid cell
``[s_j, s_j + h]`` is taken exactly against the Lagrange interpolant of the
solution through ``p`` grid points ``s_j + (o + i) h``, ``i = 0 .. p-1``
(offset ``o <= 0``):

    ∫_{s_j}^{s_j+h} e^{-mu (t - s)} y(s) ds ≈ e^{-mu (t - s_a)} h Σ_i Ω_i(z, o) y_{j+o+i},

with ``z = mu h`` and the anchor ``s_a`` the cell's right end when
``Re mu >= 0`` and its left end otherwise, so that ``|e^{...}| <= 1`` inside
the cell. The step is then limited by the smoothness of ``y`` alone, however
fast the exponential.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["cell_weights", "cell_weights_mesh"]

_GL32 = np.polynomial.legendre.leggauss(32)


def _lagrange_values(nodes: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``L_i(x_q)`` for all basis polynomials, shape ``(len(x), len(nodes))``."""
    k = nodes.size
    out = np.ones((x.size, k))
    for i in range(k):
        for m in range(k):
            if m != i:
                out[:, i] *= (x - nodes[m]) / (nodes[i] - nodes[m])
    return out


def _expint_powers(z: complex, kmax: int) -> np.ndarray:
    """``N_k(z) = ∫_0^1 e^{-z v} v^k dv`` for ``k = 0..kmax`` (needs ``|z| > kmax``)."""
    out = np.empty(kmax + 1, dtype=complex)
    ez = np.exp(-z)
    out[0] = -np.expm1(-z) / z
    for k in range(1, kmax + 1):
        out[k] = (k * out[k - 1] - ez) / z
    return out


@lru_cache(maxsize=16)
def _lagrange_on_gauss(p: int) -> np.ndarray:
    """``L_i(x_q)`` at the 32 Gauss points of [0, 1] for every offset, shape (p, 32, p)."""
    xq = 0.5 * (_GL32[0] + 1.0)
    out = np.empty((p, xq.size, p))
    for oi in range(p):
        out[oi] = _lagrange_values(np.arange(oi - (p - 1), oi + 1, dtype=float), xq)
    out.setflags(write=False)
    return out


def cell_weights(z: complex, p: int, right_anchor: bool) -> np.ndarray:
    """Weights ``Ω[o_index, i]`` for all offsets ``o = -(p-1) .. 0``.

    Parameters
    ----------
    z
        ``mu h``.
    p
        Number of interpolation points (the order).
    right_anchor
        Anchor the exponential at the cell's right end (use when
        ``Re mu >= 0``) or at its left end.

    Returns
    -------
    ndarray, shape (p, p), complex
        Row ``o_index = o + p - 1`` holds the weights of the points
        ``o .. o + p - 1`` (cell-local coordinates, the cell is ``[0, 1]``).
    """
    z = complex(z)
    xg, wg = _GL32
    xq = 0.5 * (xg + 1.0)
    wq = 0.5 * wg
    if abs(z) <= 25.0:
        e = np.exp(z * (xq - 1.0)) if right_anchor else np.exp(z * xq)
        return np.einsum("q,oqi->oi", wq * e, _lagrange_on_gauss(p))
    W = np.empty((p, p), dtype=complex)
    for oi in range(p):
        o = oi - (p - 1)
        nodes = np.arange(o, o + p, dtype=float)
        if abs(z) <= 25.0:
            e = np.exp(z * (xq - 1.0)) if right_anchor else np.exp(z * xq)
            W[oi] = (wq * e) @ _lagrange_on_gauss(p)[oi]
            continue
        # large |z|: expand L_i around the anchor and integrate e^{±z u} u^k exactly
        x_a = 1.0 if right_anchor else 0.0
        zz = z if right_anchor else -z
        Nk = _expint_powers(zz, p - 1)
        for i in range(p):
            others = np.delete(nodes, i)
            coef = np.poly(others - x_a)[::-1] / np.prod(nodes[i] - others)  # in u = x - x_a
            # right anchor: ∫_{-1}^{0} e^{z u} u^k du = (-1)^k N_k(z); left: ∫_0^1 e^{z u} u^k du
            sign = (-1.0) ** np.arange(p) if right_anchor else np.ones(p)
            W[oi, i] = np.sum(coef * sign * Nk)
    return W


def cell_weights_mesh(z: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Right-anchored product weights for many cells of a general mesh.

    Parameters
    ----------
    z : ndarray, shape (C,)
        ``mu h_c`` for each cell (``Re z >= 0``).
    nodes : ndarray, shape (C, p)
        Interpolation nodes of each cell in cell-local coordinates (the cell
        is ``[0, 1]``).

    Returns
    -------
    ndarray, shape (C, p), complex
        ``∫_0^1 e^{z (x - 1)} L_i(x) dx`` (multiply by ``h_c``).
    """
    z = np.asarray(z, dtype=complex)
    nodes = np.asarray(nodes, dtype=float)
    C, p = nodes.shape
    out = np.empty((C, p), dtype=complex)
    xg, wg = _GL32
    xq = 0.5 * (xg + 1.0)
    wq = 0.5 * wg
    small = np.abs(z) <= 25.0
    if np.any(small):
        zs = z[small]
        nd = nodes[small]
        e = np.exp(zs[:, None] * (xq[None, :] - 1.0)) * wq[None, :]  # (Cs, q)
        L = np.ones((nd.shape[0], xq.size, p))
        for i in range(p):
            for m in range(p):
                if m != i:
                    L[:, :, i] *= (xq[None, :] - nd[:, m : m + 1]) / (
                        nd[:, i : i + 1] - nd[:, m : m + 1]
                    )
        out[small] = np.einsum("cq,cqi->ci", e, L)
    big = np.flatnonzero(~small)
    if big.size:
        # expand L_i in u = x - 1 and integrate e^{z u} u^k over [-1, 0] exactly:
        # (-1)^k N_k(z), N_k(z) = ∫_0^1 e^{-z v} v^k dv by forward recurrence (|z| > p)
        zb = z[big]
        nd = nodes[big] - 1.0
        Nk = np.empty((big.size, p), dtype=complex)
        ez = np.exp(-zb)
        Nk[:, 0] = -np.expm1(-zb) / zb
        for k in range(1, p):
            Nk[:, k] = (k * Nk[:, k - 1] - ez) / zb
        Nk *= (-1.0) ** np.arange(p)[None, :]
        for i in range(p):
            coef = np.zeros((big.size, p))
            coef[:, 0] = 1.0
            den = np.ones(big.size)
            for m in range(p):
                if m == i:
                    continue
                # multiply by (u - nd_m)
                coef = _times_linear(coef, nd[:, m])
                den *= nd[:, i] - nd[:, m]
            out[big, i] = np.sum(coef * Nk, axis=1) / den
    return out


def _times_linear(coef: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Coefficients (ascending) of ``poly(u) * (u - r)``, row-wise."""
    out = np.zeros_like(coef)
    out[:, 1:] = coef[:, :-1]
    out -= r[:, None] * coef
    return out
