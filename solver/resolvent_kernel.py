"""The resolvent kernel of a linear Volterra equation on a grid.

:func:`resolvent` computes ``R`` with ``R(t, s) = K(t, s) + ∫_s^t K(t, u) R(u, s) du``
on a uniform grid; :meth:`Resolvent.apply` gives the solution
``y = f + ∫_{t0}^t R(t, s) f(s) ds`` of ``y = f + ∫ K y`` from it, with the
full order of the method in every row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .api import _check_grid, check_method, solve_volterra
from .kernels import Kernel, as_kernel
from .weights import gregory_weights, min_gregory_n

__all__ = ["resolvent", "Resolvent"]


@dataclass
class Resolvent:
    """The resolvent ``R(t_n, t_j)`` on a grid.

    Attributes
    ----------
    t : ndarray, shape (N,)
    R : ndarray, shape (N, N) or (N, N, d, d)
        ``R[n, j]`` for ``j <= n``; zero above the diagonal.
    method : str
    order : int
        Order of the method. Columns with fewer than ``2 order`` points below
        the diagonal are computed on a grid refined by an integer factor, so
        every entry has the full order.
    start_rows : tuple of ndarray
        For the first rows ``n = 1 .. order - 3``, whose ``n + 1`` grid points
        are too few for the Gregory rule of the full order: ``R(t_n, s)`` on
        the points ``s = t_0 + k h / start_refine``, ``k = 0 .. n start_refine``
        (used by :meth:`apply`).
    start_refine : int
        The refinement factor of ``start_rows``.
    """

    t: np.ndarray
    R: np.ndarray
    method: str
    order: int
    start_rows: tuple[np.ndarray, ...] = ()
    start_refine: int = 1

    def apply(self, f: np.ndarray) -> np.ndarray:
        """``y = f + ∫_{t0}^{t} R(t, s) f(s) ds``, with the full order in every row.

        Row ``n`` uses the Gregory rule of order :attr:`order` on the grid.
        The first rows (``n < order - 2``, too few points for that rule)
        integrate :attr:`start_rows` -- ``R(t_n, ·)`` on a grid refined by
        :attr:`start_refine` -- against ``f`` interpolated there by the
        polynomial through its first ``order`` grid values; so every row has
        an error O(h^order).

        Parameters
        ----------
        f : ndarray, shape (N,) or (N, d)
            The right-hand side on the grid.
        """
        f = np.asarray(f)
        if f.shape[:1] != self.t.shape:
            raise ValueError(f"f must have {self.t.size} rows (one per grid point), got {f.shape}")
        h = self.t[1] - self.t[0]
        y = np.array(f, dtype=np.result_type(f, self.R), copy=True)
        n_start = len(self.start_rows)
        if n_start:
            r = self.start_refine
            k = min(self.t.size, self.order)
            x = np.arange(n_start * r + 1) / r
            from scipy.interpolate import BarycentricInterpolator

            f_fine = BarycentricInterpolator(np.arange(k), f[:k], axis=0)(x)
            for n, row in enumerate(self.start_rows, start=1):
                w = (h / r) * gregory_weights(n * r, self.order)
                y[n] += _weighted_sum(w, row, f_fine[: n * r + 1])
        for n in range(n_start + 1, self.t.size):
            o = self.order if n >= min_gregory_n(self.order) else 2
            w = h * gregory_weights(n, o)
            y[n] += _weighted_sum(w, self.R[n, : n + 1], f[: n + 1])
        return y


def _weighted_sum(w: np.ndarray, R_row: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``Σ_j w_j R_row[j] f[j]`` for scalar (R_row 1-D) and system (R_row (n, d, d)) rows."""
    if R_row.ndim == 1:
        return np.dot(w * R_row, f)
    return np.einsum("j,jab,jb->a", w, R_row, f)


def _resolvent_matrix(kernel: Kernel, t: np.ndarray, method: str, order: int) -> np.ndarray:
    """``R[n, j]`` on the uniform grid ``t``: one Volterra solve per column."""
    N = t.size
    first = np.asarray(kernel.evaluate(t[:1], t[:1]))
    R = np.zeros((N, N) + first.shape[1:], dtype=np.result_type(first, float))
    for j in range(N):
        sub = t[j:]
        kcol = kernel.evaluate(sub, np.full(sub.size, t[j]))
        if sub.size == 1:
            R[j, j] = kcol[0]
            continue
        # a column with fewer than 2 * order points is solved on a grid refined by an
        # integer factor, so that every column gets the full order
        refine = 1 if sub.size >= 2 * order else int(np.ceil((2 * order - 1) / (sub.size - 1)))
        fine = np.linspace(sub[0], sub[-1], (sub.size - 1) * refine + 1)
        kfine = kcol if refine == 1 else kernel.evaluate(fine, np.full(fine.size, t[j]))
        if kfine.ndim == 1:
            res = solve_volterra(kernel, kfine, fine, method=method, error_estimate=False)
            res.raise_for_status()
            col = res.y
        else:
            # a system: the column R(., t_j) is a (d, d) matrix function; each of its
            # columns solves the vector equation with the matching column of K(., t_j)
            col = np.empty(kfine.shape, dtype=np.result_type(kfine, float))
            for c in range(kfine.shape[2]):
                res = solve_volterra(
                    kernel, kfine[:, :, c], fine, method=method, error_estimate=False
                )
                res.raise_for_status()
                if np.iscomplexobj(res.y) and not np.iscomplexobj(col):
                    col = col.astype(complex)
                col[:, :, c] = res.y
        if np.iscomplexobj(col) and not np.iscomplexobj(R):
            R = R.astype(complex)
        R[j:, j] = col[::refine]
    return R


def resolvent(kernel: Kernel | Callable, t: np.ndarray, *, method: str = "auto") -> Resolvent:
    r"""Resolvent kernel ``R`` of ``K`` on the grid ``t``.

    ``R`` solves ``R(t, s) = K(t, s) + ∫_s^t K(t, u) R(u, s) du`` (the same
    convention as ``y = f + ∫ K y``, whose solution is then
    ``y = f + ∫_{t0}^t R(t, s) f(s) ds``, :meth:`Resolvent.apply`). Each column
    ``s = t_j`` is a Volterra equation in ``t`` on ``[t_j, t_end]``, solved with
    :func:`solve_volterra`; the cost is N solves (O(N^3) on the direct path,
    O(N^2) for kernels with a fast path).  For the first ``order - 3`` rows
    the resolvent is also computed on a grid refined by ``order - 2`` (a few
    dozen points at most), for :meth:`Resolvent.apply`.

    Parameters
    ----------
    kernel
        As for :func:`solve_volterra` (linear problems only).
    t
        Uniform increasing grid.
    method
        As for :func:`solve_volterra`.
    """
    t = _check_grid(t)
    method, order = check_method(method)
    kernel = as_kernel(kernel)
    R = _resolvent_matrix(kernel, t, method, order)
    n_start = min(min_gregory_n(order) - 1, t.size - 1)
    if n_start < 1 or order == 2:
        return Resolvent(t, R, method, order)
    refine = min_gregory_n(order)  # row 1 then has exactly the points the full rule needs
    fine = np.linspace(t[0], t[n_start], n_start * refine + 1)
    R_fine = _resolvent_matrix(kernel, fine, method, order)
    rows = tuple(R_fine[n * refine, : n * refine + 1].copy() for n in range(1, n_start + 1))
    if np.iscomplexobj(R_fine) and not np.iscomplexobj(R):
        R = R.astype(complex)
    return Resolvent(t, R, method, order, rows, refine)
