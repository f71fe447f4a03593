"""Numba core of :func:`solver.mesh.stencil_tables`: the stencils and cell shapes of a mesh.

The same tables as the NumPy formulation it replaced (kept as the reference in
the tests), built in two passes over the cells and rows: on the graded meshes
of a few hundred points the fast paths solve on, NumPy's per-call overhead cost
more than the solve itself.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, inline="always")
def _interior_final(j, N, half, run_of):
    lo = j - half + 1
    return lo >= 0 and j + half <= N - 1 and run_of[lo] == run_of[j + half - 1]


@numba.njit(cache=True, nogil=True, inline="always")
def _interior_row(n, N, p, run_of):
    if n - p + 1 < 0:
        return False
    r0 = min(max(n - p + 1, 0), N - 2)
    r1 = min(max(n - 1, 0), N - 2)
    return run_of[r0] == run_of[r1]


@numba.njit(cache=True, nogil=True)
def stencil_tables(h, run_of, step_index, steps, xh, xl, p):
    """``(fstart, gfin, rstart, grow, gh, gnodes)`` of a mesh (see ``mesh.StencilTables``).

    Geometries: first the canonical interior shapes (final, then row offset
    ``k = 0 .. p-2``), one per distinct step (``steps``, ``step_index[j]`` the
    step of cell ``j``); then every boundary cell's final stencil, in cell
    order; then every boundary row entry, row by row.
    """
    N = h.size + 1
    half = p // 2
    S = steps.size
    fstart = np.empty(N - 1, dtype=np.int64)
    rstart = np.empty(N, dtype=np.int64)
    for j in range(N - 1):
        fstart[j] = min(max(j - half + 1, 0), N - p)
    for n in range(N):
        rstart[n] = min(max(n - p + 1, 0), N - p)
    # count the boundary entries
    nfin = 0
    for j in range(N - 1):
        if not _interior_final(j, N, half, run_of):
            nfin += 1
    nrow = 0
    for n in range(N):
        inner = _interior_row(n, N, p, run_of)
        for k in range(p - 1):
            if n - 1 - k >= 0 and not inner:
                nrow += 1
    G = S * p + nfin + nrow
    gh = np.empty(G)
    gnodes = np.empty((G, p))
    for c in range(p):
        for s in range(S):
            g = c * S + s
            gh[g] = steps[s]
            shift = (half - 1) if c == 0 else (p - 2 - (c - 1))
            for i in range(p):
                gnodes[g, i] = i - shift
    gfin = np.empty(N - 1, dtype=np.int32)
    g = S * p
    for j in range(N - 1):
        if _interior_final(j, N, half, run_of):
            gfin[j] = step_index[j]
        else:
            gfin[j] = g
            gh[g] = h[j]
            for i in range(p):
                m = fstart[j] + i
                gnodes[g, i] = ((xh[m] - xh[j]) + (xl[m] - xl[j])) / h[j]
            g += 1
    grow = np.empty((N, p - 1), dtype=np.int32)
    for n in range(N):
        inner = _interior_row(n, N, p, run_of)
        for k in range(p - 1):
            j = n - 1 - k
            if j < 0:
                grow[n, k] = -1
            elif inner:
                grow[n, k] = S * (1 + k) + step_index[j]
            else:
                grow[n, k] = g
                gh[g] = h[j]
                for i in range(p):
                    m = rstart[n] + i
                    gnodes[g, i] = ((xh[m] - xh[j]) + (xl[m] - xl[j])) / h[j]
                g += 1
    return fstart, gfin, rstart, grow, gh, gnodes
