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

__all__ = [
    "Mesh",
    "analyse",
    "coarsen",
    "refine",
    "is_uniform",
    "stencil_tables",
    "stencil_tables_many",
    "StencilTables",
]

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


def coarsen(mesh: Mesh, k: int) -> Mesh | None:
    """The mesh of ``mesh.t[::k]`` as a sub-mesh of ``mesh``, or None where it is not one.

    ``k`` a power of 2. When every run of equal steps begins and ends on a point of
    ``t[::k]``, the runs of ``t[::k]`` are those runs, their nominal steps are ``k``
    times those of ``mesh`` (to the bit, as a step is the run's length over its
    number of cells) and the double-double positions of the points are those of
    ``mesh`` (the same exact sums of the same nominal lengths), which costs no more
    than slicing. On refinements of runs of equal steps this is :func:`analyse` of
    ``t[::k]`` bit for bit (tested); where :func:`analyse` would find other runs in
    ``t[::k]`` (steps equal to within ``STEP_RTOL`` on one grid and not on the
    other), the sub-mesh keeps the runs of ``mesh``: the coarse solves of a
    Richardson family then see the nominal points and steps of the fine one.
    """
    if k == 1:
        return mesh
    if k < 1 or k & (k - 1) or (mesh.n - 1) % k or np.any(mesh.run_start % k):
        return None
    t = mesh.t[::k]
    starts = mesh.run_start // k
    lengths = np.diff(starts)
    steps = (t[starts[1:]] - t[starts[:-1]]) / lengths
    if not np.array_equal(steps, k * mesh.h[mesh.run_start[:-1]]):
        return None
    return Mesh(t, np.repeat(steps, lengths), starts, mesh.xh[::k].copy(), mesh.xl[::k].copy())


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
    return stencil_tables_many([mesh], p)[0]


def stencil_tables_many(meshes: list[Mesh], p: int) -> list[StencilTables]:
    """:func:`stencil_tables` of several meshes in one pass: the same tables, bit for bit.

    The meshes are laid end to end (their cells, rows and runs numbered on), so that
    the NumPy work is that of one call on their total size instead of one call per
    mesh (a call costs ~0.3 ms however small the mesh: most of the preparation of
    a solve on a few hundred points). Each mesh keeps its own numbering of its
    geometries, and so its own weight table, computed as for the mesh alone.
    """
    half = p // 2
    sizes = np.array([m.n for m in meshes], dtype=np.int64)
    if np.any(sizes < p):
        raise ValueError(
            f"t: {p}-point stencils need at least {p} grid points, got {int(sizes.min())}"
        )
    K = sizes.size
    # rows (points) and cells of every mesh: the mesh each belongs to, and the global index
    # of its mesh's first row (point) and first cell
    row_off = np.concatenate(([0], np.cumsum(sizes)))
    cell_off = row_off - np.arange(K + 1)
    mrow = np.repeat(np.arange(K), sizes)
    mcell = np.repeat(np.arange(K), sizes - 1)
    rows = np.arange(row_off[-1]) - row_off[mrow]  # local row index
    cells = np.arange(cell_off[-1]) - cell_off[mcell]  # local cell index
    N_row, N_cell = sizes[mrow], sizes[mcell]  # N of the mesh of each row and cell
    h = np.concatenate([m.h for m in meshes])
    xh = np.concatenate([m.xh for m in meshes])
    xl = np.concatenate([m.xl for m in meshes])
    # runs numbered on from mesh to mesh (no run spans two meshes)
    run_of = np.repeat(
        np.arange(sum(m.run_start.size - 1 for m in meshes)),
        np.concatenate([np.diff(m.run_start) for m in meshes]),
    )
    fstart = np.clip(cells - half + 1, 0, N_cell - p)
    rstart = np.clip(rows - p + 1, 0, N_row - p)

    # interior cells: the stencil and the cell lie in one run (canonical integer offsets)
    lo = cells - half + 1
    hi = cells + half - 1
    fin_int = (lo >= 0) & (cells + half <= N_cell - 1)
    c0 = cell_off[mcell]
    fin_int[fin_int] = run_of[(c0 + lo)[fin_int]] == run_of[(c0 + hi)[fin_int]]
    k = np.arange(p - 1)
    jrow = rows[:, None] - 1 - k[None, :]  # (rows, p-1) local cell of (n, k)
    valid = jrow >= 0
    row_int = (rows[:, None] - p + 1 >= 0) & valid
    cr0 = cell_off[mrow]  # first cell of each row's mesh
    cell_of_row = cr0[:, None] + jrow  # global cell of (n, k) where valid
    r0 = np.clip(rows - p + 1, 0, N_row - 2)
    r1 = np.clip(rows - 1, 0, N_row - 2)
    row_int &= (run_of[cr0 + r0] == run_of[cr0 + r1])[:, None]

    def offsets(start: np.ndarray, j: np.ndarray, base: np.ndarray, hj: np.ndarray):
        idx = (base + start)[:, None] + np.arange(p)[None, :]
        jj = (base + j)[:, None]
        return ((xh[idx] - xh[jj]) + (xl[idx] - xl[jj])) / hj[:, None]

    # geometries: first the canonical shapes of interior cells (final, then row k = 0..p-2),
    # one per distinct step; then every boundary entry on its own
    canon = np.array(
        [np.arange(p, dtype=float) - (half - 1)]
        + [np.arange(p, dtype=float) - (p - 2 - kk) for kk in range(p - 1)]
    )
    jb = np.flatnonzero(~fin_int)  # (global cells)
    nb, kb = np.nonzero(valid & ~row_int)  # (global rows)
    jrb = cell_of_row[nb, kb]  # (global cells)
    nodes_fb = offsets(fstart[jb], cells[jb], row_off[mcell[jb]], h[jb])
    nodes_rb = offsets(rstart[nb], jrow[nb, kb], row_off[mrow[nb]], h[jrb])
    # the boundary entries of each mesh (jb and nb are sorted, mesh by mesh)
    fb_off = np.searchsorted(jb, cell_off)
    rb_off = np.searchsorted(nb, row_off)
    # per mesh: its distinct steps (the index of each cell's step among them)
    steps = [np.unique(m.h) for m in meshes]
    S = np.array([s.size for s in steps])
    step_index = np.concatenate(
        [np.searchsorted(s, m.h) for s, m in zip(steps, meshes, strict=True)]
    )
    S_cell, S_row = S[mcell], S[mrow]
    # geometries of each mesh, numbered as stencil_tables numbers them alone: the canonical
    # shapes (final, then row k = 0..p-2) of each of its steps, then its boundary entries
    gfin = np.empty(h.size, dtype=np.int32)
    gfin[fin_int] = step_index[fin_int]
    gfin[jb] = S_cell[jb] * p + (np.arange(jb.size) - np.repeat(fb_off[:-1], np.diff(fb_off)))
    grow = np.full((rows.size, p - 1), -1, dtype=np.int32)
    for kk in range(p - 1):
        sel = row_int[:, kk]
        grow[sel, kk] = S_row[sel] * (1 + kk) + step_index[cell_of_row[sel, kk]]
    n_fb = np.diff(fb_off)[mrow]  # boundary cells of each row's mesh
    rank = np.arange(nb.size) - np.repeat(rb_off[:-1], np.diff(rb_off))
    grow[nb, kb] = S_row[nb] * p + n_fb[nb] + rank
    fstart = fstart.astype(np.int64)
    rstart = rstart.astype(np.int64)
    out = []
    for i in range(K):
        fb = slice(fb_off[i], fb_off[i + 1])
        rb = slice(rb_off[i], rb_off[i + 1])
        gh = np.concatenate([np.tile(steps[i], p), h[jb[fb]], h[jrb[rb]]])
        gnodes = np.vstack([np.repeat(canon, S[i], axis=0), nodes_fb[fb], nodes_rb[rb]])
        out.append(
            StencilTables(
                fstart[cell_off[i] : cell_off[i + 1]],
                gfin[cell_off[i] : cell_off[i + 1]],
                rstart[row_off[i] : row_off[i + 1]],
                grow[row_off[i] : row_off[i + 1]],
                np.ascontiguousarray(gh),
                np.ascontiguousarray(gnodes),
            )
        )
    return out
