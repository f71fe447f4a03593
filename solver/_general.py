"""Direct (O(N^2)) stepping for any kernel on a uniform grid.

Row ``n`` of the discrete equation is

    y_n = r_n + sum_j A[n, j] G(t_j, y_j),    A[n, j] = h sum_pieces W^p_{nj} K_p(t_n, t_j),

with ``r_n = f(t_n) + H(t_n)`` and ``W^p`` the quadrature weights of piece
``p`` over its part of ``[t0, t_n]`` (:func:`solver.weights.interval_weights`).
For ``n >= order - 1`` the weights only touch ``j <= n`` (a Gregory rule, with
Lagrange-interpolated cut cells at breakpoints); the first ``order - 1`` rows
form the starting block, which uses the points ``0 .. order - 1`` and is
solved as one coupled system.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import _cells, _core
from .kernels import Convolution, Damped, Kernel
from .weights import gregory_end_weights, gregory_weights, interval_weights

# rows per assembled block are chosen so that a block holds about this many entries
_BLOCK_ENTRIES = 1 << 21


@dataclass
class Discretisation:
    """Everything the stepping needs about one problem on one grid."""

    t: np.ndarray
    h: float
    order: int
    kernel: Kernel
    bp: np.ndarray | None  # breakpoints in index units, shape (nb, N), or None
    vshape: tuple[int, ...]  # () for scalar problems, (d,) for systems
    dtype: type
    cells: _cells.CellRule | None = None  # product integration on a general mesh
    smooth: Kernel | None = None  # the kernel evaluated at the nodes in cell mode

    @property
    def n(self) -> int:
        return self.t.size

    @property
    def nstart(self) -> int:
        """Rows ``1 .. nstart`` form the starting block."""
        return min(self.order - 1, self.n - 1)


def make_discretisation(
    kernel: Kernel, t: np.ndarray, order: int, vshape, dtype, *, uniform: bool = True
) -> Discretisation:
    """Gregory weights with breakpoints on a uniform grid, or cell rules on a general mesh."""
    h = float(t[1] - t[0])
    if isinstance(kernel, Damped) or not uniform:
        if kernel.breakpoints:
            raise ValueError(
                "kernel: Piecewise kernels need a uniform grid (breakpoints are not supported "
                "on non-uniform grids)"
            )
        mu = kernel.mu if isinstance(kernel, Damped) else 0.0
        smooth = kernel.smooth if isinstance(kernel, Damped) else kernel
        rule = _cells.make_rule(t, order, mu)
        return Discretisation(t, h, order, kernel, None, vshape, dtype, rule, smooth)
    bp = kernel.breakpoint_indices(t) if kernel.breakpoints else None
    return Discretisation(t, h, order, kernel, bp, vshape, dtype)


def row_weights(disc: Discretisation, n: int) -> list[tuple[int, int, np.ndarray]]:
    """Quadrature weights of row ``n`` as ``(piece, start, w)`` in index units."""
    p = disc.order
    nmax = max(n, disc.nstart)
    if disc.bp is None:
        if n >= p - 1:
            return [(0, 0, gregory_weights(n, p))]
        start, w = interval_weights(0.0, float(n), nmax, p)
        return [(0, start, w)]
    edges = np.concatenate(([0.0], disc.bp[:, n], [float(n)]))
    out = []
    for i in range(edges.size - 1):
        a, b = edges[i], edges[i + 1]
        if b > a:
            start, w = interval_weights(a, b, nmax, p)
            out.append((i, start, w))
    return out


def assemble(disc: Discretisation, rows: np.ndarray, ncols: int) -> tuple[np.ndarray, int, int]:
    """Dense weighted kernel rows ``A[i, j - c0]`` for the given rows, ``c0 <= j < ncols``.

    Returns the block, its first column ``c0`` and the number of kernel
    evaluations made.
    """
    if disc.cells is not None:
        return _assemble_cells(disc, rows, ncols)
    B = rows.size
    pieces = disc.kernel.pieces
    A = np.zeros((B, ncols) + disc.vshape * 2, dtype=disc.dtype)
    nevals = 0
    for ip, piece in enumerate(pieces):
        W = np.zeros((B, ncols))
        any_w = False
        for i, n in enumerate(rows):
            for jp, start, w in row_weights(disc, int(n)):
                if jp == ip:
                    W[i, start : start + w.size] += w
                    any_w = True
        if not any_w:
            continue
        cols = np.flatnonzero(np.any(W != 0.0, axis=0))
        if cols.size == 0:  # the piece's intervals are empty (rounding-size slivers)
            continue
        c0, c1 = cols[0], cols[-1] + 1
        K = _kernel_rect(piece, disc.t[rows], disc.t[c0:c1])
        nevals += K.shape[0] * K.shape[1]
        Wc = W[:, c0:c1]
        if disc.vshape:
            Wc = Wc[:, :, None, None]
        A[:, c0:c1] += disc.h * Wc * K
    return A, 0, nevals


def _assemble_cells(disc: Discretisation, rows: np.ndarray, ncols: int):
    rule = disc.cells
    n0, n1 = int(rows[0]), int(rows[-1]) + 1
    clo = np.array([_cells.window_start(rule, int(n)) for n in rows], dtype=np.int64)
    c0 = int(rule.sf[clo[0]]) if clo[0] < rule.sf.size else 0
    c0 = min(c0, n0)
    width = ncols - c0
    W = _cells.assemble_rows(
        n0, n1, c0, width, rule.t, rule.mu, rule.p, rule.sf, rule.wfinal, rule.wrow, clo
    )
    if np.dtype(disc.dtype).kind != "c":
        W = W.real
    K = _kernel_rect(disc.smooth, disc.t[rows], disc.t[c0:ncols])
    if disc.vshape:
        W = W[:, :, None, None]
    return (W * K).astype(disc.dtype, copy=False), c0, K.shape[0] * K.shape[1]


def _kernel_rect(piece: Kernel, tr: np.ndarray, sc: np.ndarray) -> np.ndarray:
    """Kernel values on the rectangle ``tr x sc``."""
    if isinstance(piece, Convolution):
        # K(t_n, s_j) depends on n - j only on a uniform grid
        lags = tr[:, None] - sc[None, :]
        v = piece.evaluate_lag(lags.ravel())
        return v.reshape(lags.shape + v.shape[1:])
    T = np.repeat(tr, sc.size)
    S = np.tile(sc, tr.size)
    v = piece.evaluate(T, S)
    return v.reshape((tr.size, sc.size) + v.shape[1:])


def check_finite_block(A: np.ndarray, rows: np.ndarray, disc: Discretisation) -> None:
    if not np.all(np.isfinite(A)):
        bad = np.argwhere(~np.isfinite(A.reshape(A.shape[0], A.shape[1], -1)))[0]
        raise FloatingPointError(
            f"kernel returned NaN or inf at t={disc.t[rows[bad[0]]]:.6g}, s={disc.t[bad[1]]:.6g}"
        )


def block_rows(disc: Discretisation) -> int:
    d2 = int(np.prod(disc.vshape)) ** 2 if disc.vshape else 1
    return int(max(8, min(512, _BLOCK_ENTRIES // max(disc.n * d2, 1))))


def _row_blocks(disc: Discretisation, stats: dict):
    """Yield ``(n0, n1, A, c0)``: the weighted kernel rows after the starting block, in blocks."""
    B = block_rows(disc)
    for n0 in range(disc.nstart + 1, disc.n, B):
        n1 = min(n0 + B, disc.n)
        rows = np.arange(n0, n1)
        A, c0, ne = assemble(disc, rows, n1)
        stats["kernel_evaluations"] += ne
        check_finite_block(A, rows, disc)
        yield n0, n1, A, c0


def _start_block(disc: Discretisation, stats: dict) -> np.ndarray:
    """Weighted kernel rows ``1 .. nstart`` over the points ``0 .. nstart``."""
    rows = np.arange(1, disc.nstart + 1)
    A, _, ne = assemble(disc, rows, disc.nstart + 1)
    stats["kernel_evaluations"] += ne
    check_finite_block(A, rows, disc)
    return A


def solve_linear(disc: Discretisation, r: np.ndarray) -> tuple[np.ndarray, dict]:
    """Solve ``y = r + A y`` (the linear case)."""
    N = disc.n
    y = np.zeros((N,) + disc.vshape, dtype=disc.dtype)
    y[0] = r[0]
    stats = {"kernel_evaluations": 0}
    if N == 1:
        return y, stats
    ns = disc.nstart
    A = _start_block(disc, stats)
    _solve_start_linear(A, r, y, ns, disc.vshape)
    if (
        isinstance(disc.kernel, Convolution)
        and not disc.vshape
        and disc.bp is None
        and disc.cells is None
    ):
        kv = disc.kernel.evaluate_lag(disc.t - disc.t[0]).astype(disc.dtype)
        stats["kernel_evaluations"] += N
        if not np.all(np.isfinite(kv)):
            raise FloatingPointError("kernel returned NaN or inf")
        w_end = np.asarray(gregory_end_weights(disc.order), dtype=float)
        bad = _core.toeplitz_rows(kv, w_end, r[ns + 1 :].copy(), y, ns + 1, N, disc.h)
        _raise_singular(bad, disc)
        return y, stats
    for n0, n1, A, c0 in _row_blocks(disc, stats):
        rhs = r[n0:n1].copy()
        if disc.vshape:
            bad = _core.forward_system(A, rhs, y, n0, c0)
        else:
            bad = _core.forward_scalar(A, rhs, y, n0, c0)
        _raise_singular(bad, disc)
    return y, stats


def _raise_singular(bad: int, disc: Discretisation) -> None:
    if bad >= 0:
        raise np.linalg.LinAlgError(
            f"the discrete equation is singular at t={disc.t[bad]:.6g} "
            "(1 - h w K(t, t) = 0); refine the grid"
        )


def _solve_start_linear(A, r, y, ns, vshape) -> None:
    """Starting block: rows 1..ns coupled through the points 0..ns."""
    if ns < 1:
        return
    if vshape:
        d = vshape[0]
        M = -A[:, 1:].transpose(0, 2, 1, 3).reshape(ns * d, ns * d)
        M += np.eye(ns * d)
        rhs = (r[1 : ns + 1] + np.einsum("ijk,k->ij", A[:, 0], y[0])).reshape(-1)
        y[1 : ns + 1] = np.linalg.solve(M, rhs).reshape(ns, d)
    else:
        M = np.eye(ns) - A[:, 1:]
        rhs = r[1 : ns + 1] + A[:, 0] * y[0]
        y[1 : ns + 1] = np.linalg.solve(M, rhs)


def solve_nonlinear(
    disc: Discretisation,
    r: np.ndarray,
    G: Callable,
    *,
    newton_tol: float = 1e-13,
    max_iter: int = 50,
) -> tuple[np.ndarray, dict]:
    """Solve ``y = r + A G(t, y)`` with Newton's method at every step.

    Raises
    ------
    ArithmeticError
        If a Newton iteration does not converge; the message gives ``t``.
    """
    N = disc.n
    t = disc.t
    y = np.zeros((N,) + disc.vshape, dtype=disc.dtype)
    g = np.zeros_like(y)
    stats = {"kernel_evaluations": 0, "newton_iterations": 0}
    y[0] = r[0]
    g[0] = _g(G, t[0], y[0], disc)
    if N == 1:
        return y, stats
    ns = disc.nstart
    A = _start_block(disc, stats)
    # starting block: Newton on the coupled unknowns y_1..y_ns
    Y = np.repeat(y[:1], ns, axis=0)

    def residual(Yf):
        Yv = Yf.reshape(Y.shape)
        gv = np.concatenate([g[:1], [_g(G, t[k + 1], Yv[k], disc) for k in range(ns)]])
        return (Yv - r[1 : ns + 1] - _apply(A, gv, disc.vshape)).reshape(-1)

    Yf, it = _newton(residual, Y.reshape(-1), newton_tol, max_iter, t[ns], disc.dtype)
    stats["newton_iterations"] += it
    y[1 : ns + 1] = Yf.reshape(Y.shape)
    for k in range(1, ns + 1):
        g[k] = _g(G, t[k], y[k], disc)
    for n0, n1, A, c0 in _row_blocks(disc, stats):
        for i, n in enumerate(range(n0, n1)):
            known = r[n] + _apply(A[i : i + 1, : n - c0], g[c0:n], disc.vshape)[0]
            diag = A[i, n - c0]

            def residual(yv, known=known, diag=diag, n=n):
                gv = _g(G, t[n], yv.reshape(disc.vshape), disc)
                out = yv.reshape(disc.vshape) - known - (diag @ gv if disc.vshape else diag * gv)
                return np.atleast_1d(out)

            guess = np.atleast_1d(2 * y[n - 1] - y[n - 2])
            yn, it = _newton(residual, guess, newton_tol, max_iter, t[n], disc.dtype)
            stats["newton_iterations"] += it
            y[n] = yn.reshape(disc.vshape) if disc.vshape else yn[0]
            g[n] = _g(G, t[n], y[n], disc)
    return y, stats


def _apply(A: np.ndarray, g: np.ndarray, vshape) -> np.ndarray:
    if vshape:
        return np.einsum("ijab,jb->ia", A, g)
    return A @ g


def _g(G: Callable, s: float, yv, disc: Discretisation):
    v = G(s, yv)
    v = np.asarray(v, dtype=np.result_type(v, disc.dtype))
    if not np.all(np.isfinite(v)):
        raise FloatingPointError(f"nonlinearity G(s, y) returned NaN or inf at s={s:.6g}")
    if disc.vshape:
        if v.shape != disc.vshape:
            raise ValueError(f"nonlinearity must return shape {disc.vshape}, got {v.shape}")
        return v
    if v.ndim != 0:
        raise ValueError(f"nonlinearity must return a scalar, got shape {v.shape}")
    return v[()]


def _newton(residual, x0, tol, max_iter, t_at, dtype):
    """Newton's method with a finite-difference Jacobian."""
    x = np.array(x0, dtype=dtype)
    F = residual(x)
    for it in range(1, max_iter + 1):
        J = np.empty((x.size, x.size), dtype=np.result_type(dtype, F))
        for k in range(x.size):
            dx = 1e-7 * max(1.0, abs(x[k]))
            xp = x.copy()
            xp[k] += dx
            J[:, k] = (residual(xp) - F) / dx
        try:
            step = np.linalg.solve(J, F)
        except np.linalg.LinAlgError:
            break
        x = x - step
        if not np.all(np.isfinite(x)):
            break
        F = residual(x)
        if np.max(np.abs(step)) <= tol * max(1.0, np.max(np.abs(x))):
            return x, it
    raise ArithmeticError(
        f"Newton's method did not converge at t={t_at:.6g} within {max_iter} iterations "
        "(nonlinearity too stiff for this grid: refine it)"
    )
