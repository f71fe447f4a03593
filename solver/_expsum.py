"""The O(N) path for :class:`~solver.kernels.ExpSum` kernels (and piecewise ones).

Each term ``w exp(λ t - μ (t - s))`` is integrated exactly against the
Lagrange interpolant of ``y`` (exponential product integration,
:mod:`solver.product_weights`), and the sum over past cells is carried by a
running-sum queue per term (:mod:`solver._expsum_core`). Breakpoints must fall
on grid points (``beta(t_n)`` an integer number of steps from ``t0``), which
holds for instance for ``beta(t) = 2 t`` on a grid ending at ``t = 0``.
"""

from __future__ import annotations

import numpy as np

from . import _expsum_core
from .kernels import ExpSum, Kernel
from .product_weights import cell_weights

__all__ = ["prepare", "solve", "breakpoints_on_grid"]


def breakpoints_on_grid(kernel: Kernel, t: np.ndarray) -> np.ndarray | None:
    """Breakpoint indices ``(nb, N)`` clipped to ``[0, n]``, or None if off the grid."""
    if not kernel.breakpoints:
        return np.zeros((0, t.size), dtype=np.int64)
    idx = kernel.breakpoint_indices(t)
    rounded = np.rint(idx)
    if np.max(np.abs(idx - rounded), initial=0.0) > 1e-7:
        return None
    return rounded.astype(np.int64)


def prepare(kernel: Kernel, t: np.ndarray, order: int, real: bool = False) -> dict:
    """Arrays for the numba core: segments, terms and product weights.

    With ``real`` (a real problem: real right-hand side and a real kernel), one
    term of each complex-conjugate pair on the same segment is dropped and the
    other counted twice; the core then keeps the real part of every row.
    """
    bp = breakpoints_on_grid(kernel, t)
    if bp is None:
        raise ValueError(
            "kernel: the fast path needs breakpoints on grid points (beta(t_n) - t0 a whole "
            "number of steps); use path='direct'"
        )
    N = t.size
    h = (t[-1] - t[0]) / (N - 1)
    P = len(kernel.pieces)
    edges = np.vstack([np.zeros((1, N), np.int64), bp, np.arange(N, dtype=np.int64)[None, :]])
    for pc in kernel.pieces:
        if not isinstance(pc, ExpSum):
            raise TypeError("the fast path needs ExpSum pieces")
    # A term that appears in consecutive pieces q..q2 is one term on the merged segment
    # [edges[q], edges[q2 + 1]]: the breakpoints between them do not concern it.
    spans: dict[tuple[int, int], int] = {}
    piece, w, lam, mu, right, Om = [], [], [], [], [], []
    used = [np.zeros(pc.weights.size, bool) for pc in kernel.pieces]
    for q, pc in enumerate(kernel.pieces):
        for k in range(pc.weights.size):
            if used[q][k] or pc.weights[k] == 0:
                continue
            key = (pc.weights[k], pc.lam[k], pc.mu[k])
            q2 = q
            while q2 + 1 < P:
                nxt = kernel.pieces[q2 + 1]
                match = np.flatnonzero(
                    (nxt.weights == key[0])
                    & (nxt.lam == key[1])
                    & (nxt.mu == key[2])
                    & ~used[q2 + 1]
                )
                if match.size == 0:
                    break
                used[q2 + 1][match[0]] = True
                q2 += 1
            seg = spans.setdefault((q, q2), len(spans))
            ra = pc.mu[k].real >= 0.0
            piece.append(seg)
            w.append(pc.weights[k])
            lam.append(pc.lam[k])
            mu.append(pc.mu[k])
            right.append(ra)
            Om.append(cell_weights(pc.mu[k] * h, order, ra))
    if real:
        piece, w, lam, mu, right, Om = _fold_conjugates(piece, w, lam, mu, right, Om)
    seg_a = np.zeros((max(len(spans), 1), N), dtype=np.int64)
    seg_b = np.zeros((max(len(spans), 1), N), dtype=np.int64)
    for (q, q2), i in spans.items():
        seg_a[i] = edges[q]
        seg_b[i] = np.maximum(edges[q2 + 1], edges[q])
    if not w:  # a zero kernel
        piece, w, lam, mu, right = [0], [0.0], [0.0], [0.0], [True]
        Om = [np.zeros((order, order), complex)]
    return {
        "t": np.ascontiguousarray(t, float),
        "h": float(h),
        "p": int(order),
        "seg_a": seg_a,
        "seg_b": seg_b,
        "piece": np.asarray(piece, np.int64),
        "w": np.asarray(w, complex),
        "lam": np.asarray(lam, complex),
        "mu": np.asarray(mu, complex),
        "Om": np.ascontiguousarray(np.asarray(Om, complex)),
        "right": np.asarray(right, np.bool_),
    }


def _fold_conjugates(piece, w, lam, mu, right, Om):
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
        [Om[i] for i in idx],
    )


def solve(
    kernel: Kernel,
    t: np.ndarray,
    r: np.ndarray,
    order: int,
    dtype=complex,
    *,
    running_sums: bool = True,
) -> tuple[np.ndarray, dict]:
    """Solve ``y = r + ∫ K y`` on the grid ``t`` (scalar, linear)."""
    real = np.dtype(dtype).kind != "c" and not np.iscomplexobj(r)
    d = prepare(kernel, t, order, real=real)
    N = t.size
    p = d["p"]
    args = (d["seg_a"], d["seg_b"], d["piece"], d["w"], d["lam"], d["mu"], d["Om"], d["right"])
    y = np.zeros(N, dtype=complex)
    rc = np.asarray(r, dtype=complex)
    y[0] = rc[0]
    ns = min(p - 1, N - 1)
    if ns >= 1:
        # starting block: rows 1..ns coupled through the points 0..p-1
        M = np.array(
            [_expsum_core.direct_row(n, d["t"], d["h"], p, *args) for n in range(1, ns + 1)]
        )
        M = M[:, : ns + 1]
        if real:
            M = M.real
        A = np.eye(ns) - M[:, 1:]
        y[1 : ns + 1] = np.linalg.solve(A, rc[1 : ns + 1] + M[:, 0] * y[0])
    stepper = _expsum_core.step_rows if running_sums else _expsum_core.direct_rows
    bad = stepper(d["t"], d["h"], p, rc, y, ns + 1, *args, real)
    if bad >= 0:
        raise np.linalg.LinAlgError(f"the discrete equation is singular at t={t[bad]:.6g}")
    if np.dtype(dtype).kind != "c":
        y = y.real.copy()
    return y, {"terms": int(d["w"].size)}
