"""The O(N) path for :class:`~solver.kernels.ExpSum` kernels (and piecewise ones).

Each term ``w exp(λ t - μ (t - s))`` is integrated exactly against the
Lagrange interpolant of ``y`` (exponential product integration,
:mod:`solver.product_weights`), and the sum over past cells is carried by a
running-sum queue per term (:mod:`solver._expsum_core`). Any mesh works
(uniform, graded, runs of different steps; weights are computed once per
distinct cell shape, :func:`solver.mesh.stencil_tables`). Breakpoints must fall
on grid points (``beta(t_n)`` one of the ``t_m``), which holds for instance
for ``beta(t) = 2 t`` on a uniform grid ending at ``t = 0``, or on a mesh that
doubling maps into itself.
"""

from __future__ import annotations

import weakref

import numpy as np

from . import _expsum_core
from .kernels import ExpSum, Kernel
from .mesh import Mesh, analyse, stencil_tables_many
from .product_weights import weight_table

__all__ = [
    "prepare",
    "prepare_many",
    "solve",
    "breakpoints_on_grid",
    "coarse_breakpoints",
]


def breakpoints_on_grid(
    kernel: Kernel, t: np.ndarray, beta: np.ndarray | None = None
) -> np.ndarray | None:
    """Breakpoint indices ``(nb, N)`` clipped to ``[0, n]``, or None if off the grid.

    ``beta_i(t_n)`` must coincide with a grid point (to ``1e-7`` of the local
    step) wherever it lies inside ``(t0, t_n)``.
    """
    N = t.size
    if not kernel.breakpoints:
        return np.zeros((0, N), dtype=np.int64)
    if beta is None:
        beta = kernel.breakpoint_values(t)
    rows = np.arange(N)
    out = np.empty(beta.shape, dtype=np.int64)
    for i, b in enumerate(beta):
        m = np.clip(np.searchsorted(t, b), 1, N - 1)
        near = np.where(np.abs(t[m - 1] - b) <= np.abs(t[m] - b), m - 1, m)
        step = np.diff(t)[np.clip(near - (near == N - 1), 0, N - 2)]
        inside = (b > t[0]) & (b < t)
        if np.any(np.abs(t[near] - b)[inside] > 1e-7 * step[inside]):
            return None
        out[i] = np.clip(np.where(b <= t[0], 0, near), 0, rows)
    return out


def coarse_breakpoints(bp: np.ndarray, k: int) -> np.ndarray | None:
    """The breakpoint indices on ``t[::k]`` from those on ``t`` (:func:`breakpoints_on_grid`),
    or None if a breakpoint falls between points of ``t[::k]``.

    Row ``n`` of ``t[::k]`` is row ``k n`` of ``t``; its breakpoints are the same points,
    at index ``i / k`` of ``t[::k]`` when ``k`` divides ``i`` (the clipping to
    ``[0, n]`` is the same), off that grid otherwise.
    """
    rows = bp[:, ::k]
    if np.any(rows % k):
        return None
    return rows // k


def prepare(
    kernel: Kernel, t: np.ndarray, order: int, real: bool = False, bp: np.ndarray | None = None
) -> dict:
    """Arrays for the numba core: mesh, stencil tables, segments, terms and weights.

    With ``real`` (a real problem: real right-hand side and a real kernel), one
    term of each complex-conjugate pair on the same segment is dropped and the
    other counted twice; the core then keeps the real part of every row.
    """
    return prepare_many(kernel, [t], order, real, [bp])[0]


def prepare_many(
    kernel: Kernel,
    grids: list[np.ndarray],
    order: int,
    real: bool = False,
    bps: list[np.ndarray | None] | None = None,
    meshes: list[Mesh | None] | None = None,
) -> list[dict]:
    """:func:`prepare` of one kernel on several grids, their stencil tables in one pass
    (:func:`solver.mesh.stencil_tables_many`; the same arrays, bit for bit).

    ``meshes``: their :func:`solver.mesh.analyse` where known (None: analysed here).
    The fixed cost of the tables (~0.7 ms per grid of a few hundred points) is then
    paid about once for the grids of a Richardson family (``t``, ``t[::2]``,
    ``t[::4]``). The weights stay one table per grid: a table computed for several
    grids at once holds other matrix products (BLAS) and differs from the grid's own
    in the last bits, which an equation amplifying rounding by 1e6 turned into a
    32-fold refinement instead of 4-fold (``tests/solver/test_tolerance.py``).
    """
    if bps is None:
        bps = [None] * len(grids)
    bps = [
        breakpoints_on_grid(kernel, t) if bp is None else bp
        for t, bp in zip(grids, bps, strict=True)
    ]
    if any(bp is None for bp in bps):
        raise ValueError(
            "kernel: the fast path needs breakpoints on grid points (beta(t_n) one of the t_m); "
            "use path='direct'"
        )
    if meshes is None:
        meshes = [None] * len(grids)
    meshes = [analyse(t) if m is None else m for t, m in zip(grids, meshes, strict=True)]
    tables = stencil_tables_many(meshes, order)
    terms = _terms(kernel, real)
    return [
        _prepared(terms, t, bp, mesh, tab, order)
        for t, bp, mesh, tab in zip(grids, bps, meshes, tables, strict=True)
    ]


def _prepared(terms: dict, t, bp, mesh, tables, order: int) -> dict:
    """The arrays of one grid (:func:`prepare_many`)."""
    N = t.size
    # the weights depend on mu only (the anchor follows from it): once per distinct mu
    Wt = weight_table(terms["mu_distinct"], terms["right_distinct"], tables.h, tables.nodes)
    if terms["mu_index"] is not None:
        Wt = Wt[terms["mu_index"]]
    edges = np.vstack([np.zeros((1, N), np.int64), bp, np.arange(N, dtype=np.int64)[None, :]])
    seg_a = np.zeros((max(len(terms["spans"]), 1), N), dtype=np.int64)
    seg_b = np.zeros((max(len(terms["spans"]), 1), N), dtype=np.int64)
    for (q, q2), i in terms["spans"].items():
        seg_a[i] = edges[q]
        seg_b[i] = np.maximum(edges[q2 + 1], edges[q])
    mu_a, right_a = terms["mu"], terms["right"]
    steps, sid = np.unique(mesh.h, return_inverse=True)
    # step factors between neighbouring anchors: exp(-mu h) (at most 1 for Re mu >= 0) and,
    # for left-anchored terms (Re mu < 0), exp(mu h) (at most 1). A growing term's
    # exp(-mu h) may overflow on long steps: those terms ("recur" False) use direct
    # exponentials next to the diagonal instead of products of step factors
    zs = mu_a[:, None] * steps[None, :]
    recur = np.max(-zs.real, axis=1, initial=0.0) < 300.0
    EM = np.exp(np.where(recur[:, None], -zs, 0.0))
    EP = np.exp(np.where(right_a[:, None], 0.0, zs))
    return {
        "t": np.ascontiguousarray(t, float),
        "xh": mesh.xh,
        "xl": mesh.xl,
        "sid": np.ascontiguousarray(sid.ravel(), dtype=np.int64),
        "EM": np.ascontiguousarray(EM),
        "EP": np.ascontiguousarray(EP),
        "recur": recur,
        "p": int(order),
        "seg_a": seg_a,
        "seg_b": seg_b,
        **{k: terms[k] for k in ("piece", "w", "lam", "mu", "right", "row", "col", "dim")},
        "W": np.ascontiguousarray(Wt),
        "fstart": tables.fstart,
        "gfin": tables.gfin,
        "rstart": tables.rstart,
        "grow": tables.grow,
    }


#: the term tables of recently solved kernels (a solve to a tolerance prepares the same
#: kernel on 3-5 grids): kernel -> {real: table}
_TERMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _terms(kernel: Kernel, real: bool) -> dict:
    """The terms of ``kernel`` for the core (grid-independent; remembered per kernel object).

    A term that appears in consecutive pieces q..q2 is one term on the merged
    segment ``[edges[q], edges[q2 + 1]]`` (``spans[(q, q2)]``): the breakpoints
    between them do not concern it. Kernels are immutable, so the table of a
    kernel object never changes.
    """
    try:
        cached = _TERMS.setdefault(kernel, {})
    except TypeError:  # (an object that cannot be weakly referenced: not remembered)
        cached = {}
    if real in cached:
        return cached[real]
    P = len(kernel.pieces)
    for pc in kernel.pieces:
        if not isinstance(pc, ExpSum):
            raise TypeError("the fast path needs ExpSum pieces")
    dims = {pc.dim for pc in kernel.pieces}
    if len(dims) != 1:
        raise ValueError("kernel: all pieces must have the same dim (scalar or one system size)")
    spans: dict[tuple[int, int], int] = {}
    piece, w, lam, mu, right, row, col = [], [], [], [], [], [], []
    # (the arrays stay writeable: Numba compiles read-only arrays as a type of their own)
    cols_of = [_entries(pc) for pc in kernel.pieces]
    used = [np.zeros(pc.weights.size, bool) for pc in kernel.pieces]
    for q, pc in enumerate(kernel.pieces):
        rq, cq = cols_of[q]
        for k in range(pc.weights.size):
            if used[q][k] or pc.weights[k] == 0:
                continue
            q2 = q
            while q2 + 1 < P:
                nxt = kernel.pieces[q2 + 1]
                rn, cn = cols_of[q2 + 1]
                match = np.flatnonzero(
                    (nxt.weights == pc.weights[k])
                    & (nxt.lam == pc.lam[k])
                    & (nxt.mu == pc.mu[k])
                    & (rn == rq[k])
                    & (cn == cq[k])
                    & ~used[q2 + 1]
                )
                if match.size == 0:
                    break
                used[q2 + 1][match[0]] = True
                q2 += 1
            seg = spans.setdefault((q, q2), len(spans))
            piece.append(seg)
            w.append(pc.weights[k])
            lam.append(pc.lam[k])
            mu.append(pc.mu[k])
            right.append(pc.mu[k].real >= 0.0)
            row.append(rq[k])
            col.append(cq[k])
    if real:
        piece, w, lam, mu, right = _fold_conjugates(piece, w, lam, mu, right)
        row, col = [0] * len(w), [0] * len(w)
    if not w:  # a zero kernel
        piece, w, lam, mu, right, row, col = [0], [0.0], [0.0], [0.0], [True], [0], [0]
    mu_distinct, mu_index = np.unique(np.asarray(mu, complex), return_inverse=True)
    table = {
        "mu_distinct": mu_distinct,
        "right_distinct": mu_distinct.real >= 0.0,
        # (None: the distinct mu are the terms' own, in order)
        "mu_index": None if np.array_equal(mu_distinct, mu) else mu_index.ravel(),
        "spans": spans,
        "piece": np.asarray(piece, np.int64),
        "w": np.asarray(w, complex),
        "lam": np.asarray(lam, complex),
        "mu": np.asarray(mu, complex),
        "right": np.asarray(right, np.bool_),
        "row": np.asarray(row, np.int64),
        "col": np.asarray(col, np.int64),
        "dim": int(next(iter(dims)) or 1),
    }
    cached[real] = table
    return table


def _entries(pc: ExpSum) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the terms of an ExpSum (zeros for a scalar kernel)."""
    if pc.is_system:
        return pc.rows, pc.cols
    z = np.zeros(pc.weights.size, dtype=np.int64)
    return z, z


def _fold_conjugates(piece, w, lam, mu, right):
    """Drop one term of each conjugate pair (same segment), doubling the other."""
    keep = np.ones(len(w), bool)
    wf = list(w)
    for i in range(len(w)):
        if not keep[i] or (np.imag(w[i]) == 0 and np.imag(lam[i]) == 0 and np.imag(mu[i]) == 0):
            continue
        for j in range(i + 1, len(w)):
            if (
                keep[j]
                and piece[j] == piece[i]
                and w[j] == np.conj(w[i])
                and lam[j] == np.conj(lam[i])
                and mu[j] == np.conj(mu[i])
            ):
                keep[j] = False
                wf[i] = 2.0 * w[i]
                break
    idx = np.flatnonzero(keep)
    return (
        [piece[i] for i in idx],
        [wf[i] for i in idx],
        [lam[i] for i in idx],
        [mu[i] for i in idx],
        [right[i] for i in idx],
    )


def is_real(r: np.ndarray, dtype) -> bool:
    """Is the problem with right-hand side ``r`` solved in real arithmetic (scalar, real)?"""
    return np.dtype(dtype).kind != "c" and not np.iscomplexobj(r) and np.ndim(r) != 2


def row_coefficients(d: dict, n: int) -> np.ndarray:
    """Coefficients ``c[j, a, b]`` (``j = 0 .. max(n, p-1)``) of row ``n``, summed cell by cell.

    The same discretisation as the running sums of :mod:`solver._expsum_core`
    in O(n) work (NumPy, all terms at once): used for the starting block and as the
    reference the running sums are tested against.
    """
    return rows_coefficients(d, np.array([n]))[0]


def rows_coefficients(d: dict, rows: np.ndarray) -> np.ndarray:
    """:func:`row_coefficients` of several rows: shape ``(rows, max(n_max + 1, p), d, d)``."""
    p, dim = d["p"], d["dim"]
    half = p // 2
    rows = np.asarray(rows, dtype=np.int64)
    width = max(int(rows.max(initial=0)) + 1, p)
    c = np.zeros((rows.size, width, dim, dim), dtype=complex)
    n = rows[:, None, None]  # (R, 1, 1)
    a = d["seg_a"][d["piece"]][:, rows].T[:, :, None]  # (R, T, 1)
    b = d["seg_b"][d["piece"]][:, rows].T[:, :, None]
    j = np.arange(width - 1)[None, None, :]  # cells
    live = (j >= a) & (j < b) & (j < n)
    if not np.any(live):
        return c
    ri, tau, j = np.nonzero(live)
    n = rows[ri]
    final = (j <= n - half) & (n >= p - 1)
    s0 = np.where(final, d["fstart"][j], d["rstart"][n])
    g = np.where(final, d["gfin"][j], d["grow"][n, np.clip(n - 1 - j, 0, p - 2)])
    apos = np.where(d["right"][tau], j + 1, j)
    dist = (d["xh"][n] - d["xh"][apos]) + (d["xl"][n] - d["xl"][apos])
    fac = d["w"][tau] * np.exp(d["lam"][tau] * d["t"][n] - d["mu"][tau] * dist)
    vals = fac[:, None] * d["W"][tau, g, :]  # (cells, p)
    node = s0[:, None] + np.arange(p)[None, :]
    flat = ((ri[:, None] * width + node) * dim + d["row"][tau][:, None]) * dim
    flat = flat + d["col"][tau][:, None]
    np.add.at(c.reshape(-1), flat.ravel(), vals.ravel())
    return c


def _cellwise_rows(d: dict, r: np.ndarray, y: np.ndarray, n_begin: int, real: bool) -> int:
    """O(N^2) stepping with :func:`row_coefficients` (the reference for tests)."""
    dim = d["dim"]
    for n in range(n_begin, d["t"].size):
        c = row_coefficients(d, n)
        rhs = r[n] + np.einsum("jab,jb->a", c[:n], y[:n])
        A = np.eye(dim) - c[n]
        if real and dim == 1:
            y[n, 0] = rhs[0].real / A[0, 0].real
            continue
        try:
            y[n] = np.linalg.solve(A, rhs)
        except np.linalg.LinAlgError:
            return n
    return -1


def solve(
    kernel: Kernel,
    t: np.ndarray,
    r: np.ndarray,
    order: int,
    dtype=complex,
    *,
    running_sums: bool = True,
    bp: np.ndarray | None = None,
    prepared: dict | None = None,
) -> tuple[np.ndarray, dict]:
    """Solve ``y = r + ∫ K y`` on the grid ``t`` (linear, scalar or a system; any mesh).

    ``r`` has shape ``(N,)`` for a scalar kernel and ``(N, dim)`` for a system.
    ``prepared``: the arrays :func:`prepare_many` made for this grid (with
    ``real=is_real(r, dtype)``), else they are made here.
    """
    system = np.ndim(r) == 2
    real = is_real(r, dtype)
    d = prepare(kernel, t, order, real=real, bp=bp) if prepared is None else prepared
    N = t.size
    p = d["p"]
    dim = d["dim"]
    geo = (d["seg_a"], d["seg_b"], d["piece"], d["w"], d["lam"], d["mu"], d["right"])
    ent = (d["row"], d["col"])
    tabs = (d["W"], d["fstart"], d["gfin"], d["rstart"], d["grow"])
    # (contiguous and writeable whatever the layout of r: one Numba specialisation of the core)
    rc = np.require(np.asarray(r, dtype=complex).reshape(N, dim), requirements="CW")
    y = np.zeros((N, dim), dtype=complex)
    y[0] = rc[0]
    ns = min(p - 1, N - 1)
    if ns >= 1:
        # starting block: rows 1..ns coupled through the points 0..p-1
        M = rows_coefficients(d, np.arange(1, ns + 1))[:, : ns + 1]
        if real:
            M = M.real
        A = np.eye(ns * dim) - M[:, 1:].transpose(0, 2, 1, 3).reshape(ns * dim, ns * dim)
        b = rc[1 : ns + 1] + np.einsum("nab,b->na", M[:, 0], y[0])
        y[1 : ns + 1] = np.linalg.solve(A, b.reshape(-1)).reshape(ns, dim)
    if running_sums:
        steps = (d["sid"], d["EM"], d["EP"], d["recur"])
        head = (d["t"], d["xh"], d["xl"], *steps, p, rc, y, ns + 1, *geo)
        if system:
            bad = _expsum_core.step_rows_system(*head, *ent, *tabs)
        else:
            bad = _expsum_core.step_rows(*head, *tabs, real)
    else:
        bad = _cellwise_rows(d, rc, y, ns + 1, real)
    if bad >= 0:
        raise np.linalg.LinAlgError(f"the discrete equation is singular at t={t[bad]:.6g}")
    if not system:
        y = y[:, 0]
    if np.dtype(dtype).kind != "c":
        y = y.real.copy()
    return y, {"terms": int(d["w"].size)}
