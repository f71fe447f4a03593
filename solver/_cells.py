"""Cell-by-cell product integration on general meshes.

Used for non-uniform (graded) grids and for kernels with a declared
exponential factor, ``K(t, s) = e^{−μ(t−s)} κ(t, s)`` (:class:`~solver.kernels.Damped`).
Each cell ``[s_c, s_{c+1}]`` integrates ``e^{−μ(t_n − s)}`` exactly against the
Lagrange interpolant of ``κ(t_n, s) y(s)`` through ``p`` mesh points:

* cells whose centred stencil ``c − p/2 + 1 .. c + p/2`` lies in ``[0, n]``
  use it (clipped at the ends of the mesh);
* the last ``p/2 − 1`` cells before ``t_n`` use the stencil ``n − p + 1 .. n``;
* rows ``n < p − 1`` use the stencil ``0 .. p − 1`` (the starting block).

With ``μ = 0`` this is the composite interpolatory rule of order ``p``; with
``Re μ > 0`` the step is set by the smoothness of ``κ y``, not by ``1/μ``, and
cells farther back than ``40/Re μ`` (factor below e^{−40}) are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .product_weights import mesh_weights

#: cells whose exponential factor is below e^{-CUT} are skipped
CUT = 40.0


@dataclass
class CellRule:
    """Precomputed product-integration weights of every cell of a mesh (see module doc)."""

    t: np.ndarray
    p: int
    mu: complex
    sf: np.ndarray  # (N-1,) start node of each cell's centred stencil
    wfinal: np.ndarray  # (N-1, p) weights (times h_c) of the centred stencils
    wrow: np.ndarray  # (N, max(half-1, 1), p) weights of the row stencils, by distance k = n-1-c


def make_rule(t: np.ndarray, p: int, mu: complex) -> CellRule:
    """Weights of the centred stencil of every cell and of the row stencils near the diagonal."""
    N = t.size
    half = p // 2
    h = np.diff(t)
    ncell = N - 1
    c = np.arange(ncell)
    sf = np.clip(c - half + 1, 0, max(N - p, 0))
    z = mu * h
    idx = sf[:, None] + np.arange(p)[None, :]
    nodes = (t[idx] - t[c][:, None]) / h[:, None]
    wfinal = mesh_weights(z, nodes, True) * h[:, None]
    nk = max(half - 1, 1)
    wrow = np.zeros((N, nk, p), dtype=complex)
    rows, ks = np.meshgrid(np.arange(1, N), np.arange(half - 1), indexing="ij")
    cells = rows - 1 - ks
    keep = cells >= 0
    rows, ks, cells = rows[keep], ks[keep], cells[keep]
    if rows.size:
        start = np.clip(rows - p + 1, 0, max(N - p, 0))
        idx = start[:, None] + np.arange(p)[None, :]
        nodes = (t[idx] - t[cells][:, None]) / h[cells][:, None]
        wrow[rows, ks] = mesh_weights(z[cells], nodes, True) * h[cells][:, None]
    return CellRule(t, p, complex(mu), sf, wfinal, wrow)


def window_start(rule: CellRule, n: int) -> int:
    """First cell of row ``n`` whose exponential factor is not negligible."""
    if rule.mu.real <= 0:
        return 0
    tmin = rule.t[n] - CUT / rule.mu.real
    c = int(np.searchsorted(rule.t, tmin, side="right")) - 1
    return max(c, 0)


@numba.njit(cache=True, nogil=True)
def assemble_rows(n0, n1, c0, ncols, t, mu, p, sf, wfinal, wrow, clo):
    """Weights ``W[n - n0, j - c0]`` of rows ``n0 .. n1-1`` (complex)."""
    half = p // 2
    N = t.size
    W = np.zeros((n1 - n0, ncols), dtype=np.complex128)
    for n in range(n0, n1):
        i = n - n0
        for c in range(clo[i], n):
            fac = np.exp(-mu * (t[n] - t[c + 1]))
            if c <= n - half:
                s0 = sf[c]
                for q in range(p):
                    W[i, s0 + q - c0] += fac * wfinal[c, q]
            else:
                k = n - 1 - c
                s0 = n - p + 1
                if s0 < 0:
                    s0 = 0
                if s0 > N - p:
                    s0 = N - p
                for q in range(p):
                    W[i, s0 + q - c0] += fac * wrow[n, k, q]
    return W
