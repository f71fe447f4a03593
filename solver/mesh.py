"""Meshes: a grid seen as runs of equal steps, and its refinement by integer factors.

The fast paths compute product-integration weights from the *nominal* steps
of a grid rather than from differences of its floating-point points: in a run
of equal steps every cell gets exactly the same step, so cells of the same
shape share one set of weights, and the sum of the cell integrals of a
constant equals the integral over the whole run to rounding. Positions are
accumulated from the nominal steps in double-double arithmetic, so the
distance between two nearby points is accurate to rounding *of the distance*,
not of the points (on ``[-1e8, 0]`` the points themselves carry errors of
~1e-8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Mesh", "analyse", "refine", "is_uniform", "stencil_tables", "StencilTables"]

#: relative deviation of a step from its run's step below which steps count as equal
STEP_RTOL = 1e-8


@dataclass(frozen=True, eq=False)
class Mesh:
    """A grid with the nominal step of each cell.

    Attributes
    ----------
    t : ndarray, shape (N,)
        The points.
    h : ndarray, shape (N - 1,)
        Nominal step of each cell (equal, bit for bit, within a run).
    run_start : ndarray of int, shape (R + 1,)
        Cell index where each run of equal steps begins (and ``N - 1`` at the end).
    xh, xl : ndarray, shape (N,)
        Position of each point from ``t[0]`` as the sum of the nominal steps,
        in double-double (``xh + xl``).
    """

    t: np.ndarray
    h: np.ndarray
    run_start: np.ndarray
    xh: np.ndarray
    xl: np.ndarray

    @property
    def n(self) -> int:
        return self.t.size

    @property
    def uniform(self) -> bool:
        """True if the grid is a single run of equal steps."""
        return self.run_start.size == 2

    def distance(self, i: np.ndarray | int, j: np.ndarray | int) -> np.ndarray:
        """``x_i - x_j`` from the nominal steps (accurate to rounding of the distance)."""
        return (self.xh[i] - self.xh[j]) + (self.xl[i] - self.xl[j])


def _tolerance(t: np.ndarray, h: np.ndarray) -> np.ndarray:
    return STEP_RTOL * h + 4.0 * np.finfo(float).eps * np.max(np.abs(t))


def _runs(t: np.ndarray) -> np.ndarray:
    """Cell indices where runs of equal steps begin, plus ``N - 1``."""
    d = np.diff(t)
    tol = _tolerance(t, d)
    brk = np.flatnonzero(np.abs(np.diff(d)) > tol[1:]) + 1
    starts = np.concatenate(([0], brk, [d.size]))
    # a run whose steps drift (a smoothly graded grid) is not a run of equal steps: check
    # every step against its run's mean and split runs that fail into single cells
    lengths = np.diff(starts)
    means = (t[starts[1:]] - t[starts[:-1]]) / lengths
    dev = np.abs(d - np.repeat(means, lengths))
    bad = np.maximum.reduceat(dev - tol, starts[:-1]) > 0
    if np.any(bad):
        pieces = []
        for k in range(lengths.size):
            a, b = starts[k], starts[k + 1]
            pieces.append(np.arange(a, b) if bad[k] else np.array([a]))
        starts = np.concatenate([*pieces, [d.size]])
    return starts.astype(np.int64)


def analyse(t: np.ndarray) -> Mesh:
    """Find the runs of equal steps of an increasing grid ``t`` (at least 2 points)."""
    t = np.ascontiguousarray(t, dtype=float)
    starts = _runs(t)
    lengths = np.diff(starts)
    steps = (t[starts[1:]] - t[starts[:-1]]) / lengths
    h = np.repeat(steps, lengths)
    xh, xl = _positions(h, starts, steps)
    return Mesh(t, h, starts, xh, xl)


def _positions(h: np.ndarray, starts: np.ndarray, steps: np.ndarray):
    """Double-double positions: exact products within a run, error-free sums across runs."""
    counts = np.diff(starts)
    # the position where each run begins, accumulated run by run in double-double
    lh, ll = _two_prod(counts.astype(float), steps)  # run lengths
    base_h = np.empty(steps.size)
    base_l = np.empty(steps.size)
    bh, bl = 0.0, 0.0
    for r in range(steps.size):
        base_h[r], base_l[r] = bh, bl
        a = float(lh[r])
        s = bh + a
        bb = s - bh
        bl += (bh - (s - bb)) + (a - bb) + float(ll[r])
        bh = s
    # every point j in run r (the run's end point belongs to the next run): base + k step
    n = h.size + 1
    run = np.repeat(np.arange(steps.size), counts)
    run = np.append(run, steps.size - 1)
    k = np.arange(n, dtype=float) - starts[run]
    ph, pl = _two_prod(k, steps[run])
    sh, sl = _two_sum(base_h[run], ph)
    return sh, sl + pl + base_l[run]


def _split(a):
    c = 134217729.0 * a  # 2^27 + 1 (Dekker's split)
    hi = c - (c - a)
    return hi, a - hi


def _two_prod(a: np.ndarray, b):
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(np.asarray(b, dtype=float))
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, err


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def is_uniform(t: np.ndarray) -> bool:
    """True if all steps of ``t`` agree (to ``STEP_RTOL`` and rounding of the points)."""
    d = np.diff(t)
    h = (t[-1] - t[0]) / (t.size - 1)
    return bool(
        np.max(np.abs(d - h)) <= STEP_RTOL * h + 4 * np.finfo(float).eps * np.max(np.abs(t))
    )


def refine(t: np.ndarray, m: int) -> np.ndarray:
    """Split every cell of ``t`` into ``m`` equal cells (``t`` is a subset of the result)."""
    t = np.asarray(t, dtype=float)
    if m == 1:
        return t.copy()
    mesh = analyse(t)
    frac = np.arange(m) / m
    fine = (t[:-1, None] + mesh.h[:, None] * frac[None, :]).ravel()
    return np.concatenate((fine, t[-1:]))


@dataclass(frozen=True, eq=False)
class StencilTables:
    """Interpolation stencils of every cell of a mesh, grouped by shape.

    A cell ``j`` is integrated against the Lagrange interpolant through ``p``
    consecutive points: its *final* stencil ``fstart[j] .. fstart[j] + p - 1``
    (centred, once row ``n >= j + p/2``), or, for the cells just behind row
    ``n``, the *row* stencil ``rstart[n] .. rstart[n] + p - 1`` (ending at
    ``n``; the starting rows ``n < p - 1`` use ``0 .. p - 1``). Cells whose
    stencils have the same shape (step and node offsets in units of the step)
    share a *geometry* ``g``; ``nodes[g]`` are the node offsets in cell-local
    coordinates and ``h[g]`` the step. Interior cells of a run of equal steps
    share the canonical geometries of that step; cells near the ends of runs
    (where a stencil spans two steps, or is clipped at the mesh's ends) get a
    geometry each.

    Attributes
    ----------
    fstart, gfin : ndarray of int, shape (N - 1,)
        Final stencil start and geometry of each cell.
    rstart : ndarray of int, shape (N,)
        Row stencil start of each row.
    grow : ndarray of int32, shape (N, p - 1)
        Geometry of cell ``n - 1 - k`` with the row stencil of row ``n``
        (``-1`` where ``n - 1 - k < 0``).
    h : ndarray, shape (G,)
    nodes : ndarray, shape (G, p)
    """

    fstart: np.ndarray
    gfin: np.ndarray
    rstart: np.ndarray
    grow: np.ndarray
    h: np.ndarray
    nodes: np.ndarray


def stencil_tables(mesh: Mesh, p: int) -> StencilTables:
    """The stencils and distinct cell geometries of ``mesh`` for ``p``-point interpolation."""
    N = mesh.n
    half = p // 2
    if N < p:
        raise ValueError(f"t: {p}-point stencils need at least {p} grid points, got {N}")
    run_of = np.repeat(np.arange(mesh.run_start.size - 1), np.diff(mesh.run_start))
    cells = np.arange(N - 1)
    fstart = np.clip(cells - half + 1, 0, N - p)
    rows = np.arange(N)
    rstart = np.clip(rows - p + 1, 0, N - p)

    # interior cells: the stencil and the cell lie in one run (canonical integer offsets)
    lo = cells - half + 1
    hi = cells + half - 1
    fin_int = (lo >= 0) & (cells + half <= N - 1)
    fin_int[fin_int] = run_of[lo[fin_int]] == run_of[hi[fin_int]]
    k = np.arange(p - 1)
    jrow = rows[:, None] - 1 - k[None, :]  # (N, p-1) cell of (n, k)
    valid = jrow >= 0
    row_int = (rows[:, None] - p + 1 >= 0) & valid
    r0 = np.clip(rows - p + 1, 0, N - 2)
    r1 = np.clip(rows - 1, 0, N - 2)
    row_int &= (run_of[r0] == run_of[r1])[:, None]

    def offsets(start: np.ndarray, j: np.ndarray) -> np.ndarray:
        idx = start[:, None] + np.arange(p)[None, :]
        return mesh.distance(idx, j[:, None]) / mesh.h[j][:, None]

    # geometries: first the canonical shapes of interior cells (final, then row k = 0..p-2),
    # one per distinct step; then every boundary entry on its own
    steps = np.unique(mesh.h)
    S = steps.size
    step_index = np.searchsorted(steps, mesh.h)  # step of each cell
    canon = [np.arange(p, dtype=float) - (half - 1)]
    canon += [np.arange(p, dtype=float) - (p - 2 - kk) for kk in range(p - 1)]
    jb = cells[~fin_int]
    nb, kb = np.nonzero(valid & ~row_int)
    jrb = jrow[nb, kb]
    hs = [np.tile(steps, p), mesh.h[jb], mesh.h[jrb]]
    nodes = [
        np.repeat(np.array(canon), S, axis=0),
        offsets(fstart[jb], jb),
        offsets(rstart[nb], jrb),
    ]
    gfin = np.empty(N - 1, dtype=np.int32)
    gfin[fin_int] = step_index[fin_int]
    gfin[~fin_int] = S * p + np.arange(jb.size)
    grow = np.full((N, p - 1), -1, dtype=np.int32)
    for kk in range(p - 1):
        sel = row_int[:, kk]
        grow[sel, kk] = S * (1 + kk) + step_index[jrow[sel, kk]]
    grow[nb, kb] = S * p + jb.size + np.arange(nb.size)
    uniq = np.column_stack([np.concatenate(hs), np.vstack(nodes)])
    return StencilTables(
        fstart.astype(np.int64),
        gfin,
        rstart.astype(np.int64),
        grow,
        np.ascontiguousarray(uniq[:, 0]),
        np.ascontiguousarray(uniq[:, 1:]),
    )
