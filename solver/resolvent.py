"""The resolvent kernel of a linear Volterra equation on a grid."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .api import _check_grid, check_method, solve_volterra
from .kernels import Kernel, as_kernel

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
    """

    t: np.ndarray
    R: np.ndarray
    method: str
    order: int

    def apply(self, f: np.ndarray) -> np.ndarray:
        """``y = f + ∫_{t0}^{t} R(t, s) f(s) ds`` with Gregory rules.

        Row ``n`` uses the Gregory rule of the highest order up to ``order``
        that ``n + 1`` points allow (the first rows have fewer points: row 1
        uses the trapezoidal rule, local error O(h^3)).
        """
        from .weights import gregory_weights

        f = np.asarray(f)
        h = self.t[1] - self.t[0]
        y = np.array(f, dtype=np.result_type(f, self.R), copy=True)
        for n in range(1, self.t.size):
            o = max(o for o in (2, 4, 6, 8) if o <= self.order and (n >= o - 2 or o == 2))
            w = h * gregory_weights(n, o)
            if self.R.ndim == 2:
                y[n] += np.dot(w * self.R[n, : n + 1], f[: n + 1])
            else:
                y[n] += np.einsum("j,jab,jb->a", w, self.R[n, : n + 1], f[: n + 1])
        return y


def resolvent(kernel: Kernel | Callable, t: np.ndarray, *, method: str = "auto") -> Resolvent:
    r"""Resolvent kernel ``R`` of ``K`` on the grid ``t``.

    ``R`` solves ``R(t, s) = K(t, s) + ∫_s^t K(t, u) R(u, s) du`` (the same
    convention as ``y = f + ∫ K y``, whose solution is then
    ``y = f + ∫_{t0}^t R(t, s) f(s) ds``). Each column ``s = t_j`` is a
    Volterra equation in ``t`` on ``[t_j, t_end]``, solved with
    :func:`solve_volterra`; the cost is N solves (O(N^3) on the direct path,
    O(N^2) for kernels with a fast path).

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
    return Resolvent(t, R, method, order)
