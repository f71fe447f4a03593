"""Histories: the part of the integral that lies before the first grid point.

An equation posed on ``(-inf, t_end]`` (or any ``[a, t_end]`` with ``a < t0``)
is solved on the grid ``t0 .. t_end`` once the history term

    H(t) = ∫_{-∞}^{t0} K(t, s) G(s, φ(s)) ds

is known; ``φ`` is the solution before ``t0``. The caller either gives ``φ``
(:class:`History` with ``y=``) and the solver integrates, or gives ``H`` itself
(``contribution=``).

The integral over ``s < t0`` is computed in ``u = t0 - s`` with Gauss-Legendre
rules (16 points) on geometrically growing intervals ``[0, h], [h, 3h],
[3h, 7h], ...`` starting at the grid step ``h``; each interval is bisected
until halving it changes no row by more than ``tol`` relative to the largest
``|H|``, and intervals are added until three in a row contribute less than
that. Breakpoints ``beta_i(t) < t0`` of a :class:`~solver.kernels.Piecewise`
kernel split the integral, so the kink costs no accuracy. The rest beyond the
last interval is not bounded rigorously: it is taken as negligible once the
integrand has been negligible over three doublings of the range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import _jit
from .kernels import Kernel

__all__ = ["History", "HistoryError"]

_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)


class HistoryError(ArithmeticError):
    """The history integral could not be computed to the requested tolerance."""


@dataclass(frozen=True)
class History:
    """The solution before the first grid point, or its contribution.

    Parameters
    ----------
    y
        ``φ(s)`` for ``s < t0``: the solution there (vectorised over NumPy
        arrays, or scalar: then compiled with Numba). The solver integrates
        ``K(t, s) G(s, φ(s))`` over ``(-inf, t0)``; the integrand must decay.
    contribution
        ``H(t)`` for the grid points, as a function or an array of shape
        ``y.shape``: the history integral computed by the caller.
    tol
        Relative tolerance of the history quadrature (relative to ``max |H|``).
    """

    y: Callable | None = None
    contribution: Callable | np.ndarray | None = None
    tol: float = 1e-13

    def __post_init__(self):
        if (self.y is None) == (self.contribution is None):
            raise ValueError("History: give exactly one of y= (the history) or contribution=")
        if self.y is not None and not callable(self.y):
            raise TypeError("History: y must be a function phi(s) for s < t0")
        if not (0 < self.tol < 1):
            raise ValueError(f"History: tol must be in (0, 1), got {self.tol}")

    def evaluate(
        self,
        kernel: Kernel,
        t: np.ndarray,
        vshape: tuple[int, ...],
        dtype,
        nonlinearity: Callable | None = None,
    ) -> tuple[np.ndarray, np.ndarray, dict]:
        """``H`` at the grid points, its estimated error, and counters."""
        if self.contribution is not None:
            H = _values_on_grid(self.contribution, t, vshape, "History.contribution")
            return H, np.zeros(H.shape, dtype=float), {}
        return _integrate(self, kernel, t, vshape, dtype, nonlinearity)


def _values_on_grid(src, t, vshape, what):
    shape = (t.size,) + vshape
    if callable(src):
        v = _jit.Evaluator(src, what, value=vshape)(t)
    else:
        v = np.asarray(src)
    if v.shape != shape:
        raise ValueError(f"{what}: expected shape {shape}, got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{what} contains NaN or inf")
    return v


def _integrate(hist: History, kernel: Kernel, t, vshape, dtype, G):
    N = t.size
    t0 = t[0]
    h = (t[-1] - t[0]) / max(N - 1, 1) if N > 1 else 1.0
    # finite segments in u = t0 - s from breakpoints that lie before t0
    cuts = np.zeros((0, N))
    if kernel.breakpoints:
        beta = kernel.breakpoint_values(t)
        cuts = np.sort(np.clip(t0 - beta, 0.0, None), axis=0)
    edges = np.vstack([np.zeros((1, N)), cuts])  # (nseg_finite + 1, N)
    phi = _jit.Evaluator(hist.y, "History.y", value=vshape, compile=True)
    G_ev = None if G is None else _jit.Evaluator(G, "nonlinearity", value=vshape)

    def phi_g(s):
        sf = s.ravel()
        v = phi(sf)
        if G_ev is not None:
            # G(s, y) on arrays gets y with the components first, shape (d, n), for systems
            v = G_ev(sf, v.T if vshape else v)
        return v.reshape(s.shape + vshape)

    def integrate_map(a, b):
        """Gauss rule for u in [a_n, b_n] (arrays over rows)."""
        u = 0.5 * (b - a)[:, None] * _GL_X[None, :] + 0.5 * (a + b)[:, None]
        w = 0.5 * (b - a)[:, None] * _GL_W[None, :]
        s = t0 - u
        T = np.repeat(t, _GL_X.size)
        Kv = kernel.evaluate(T, s.ravel()).reshape((N, _GL_X.size) + vshape * 2)
        P = phi_g(s)
        if vshape:
            vals = np.einsum("nqab,nqb->nqa", Kv, P)
            return np.einsum("nq,nqa->na", w, vals)
        return np.sum(w * Kv * P, axis=1)

    state = {"evals": 0, "scale": 0.0}

    def adaptive(a, b, depth=0):
        whole = integrate_map(a, b)
        m = 0.5 * (a + b)
        halves = integrate_map(a, m) + integrate_map(m, b)
        state["evals"] += 3 * N * _GL_X.size
        diff = np.abs(halves - whole)
        scale = max(state["scale"], float(np.max(np.abs(halves))), 1e-300)
        if np.max(diff) <= hist.tol * scale or depth >= 30:
            if depth >= 30:
                raise HistoryError("history integral: interval bisection did not converge")
            return halves, diff
        r1, e1 = adaptive(a, m, depth + 1)
        r2, e2 = adaptive(m, b, depth + 1)
        return r1 + r2, e1 + e2

    H = np.zeros((N,) + vshape, dtype=np.result_type(dtype, float))
    err = np.zeros((N,) + vshape)
    for k in range(edges.shape[0] - 1):
        a, b = edges[k], edges[k + 1]
        if np.any(b > a):
            r, e = adaptive(a, np.maximum(b, a))
            H = H + r
            err += e
            state["scale"] = max(state["scale"], float(np.max(np.abs(H))))
    # the infinite tail [c, inf), geometric intervals starting at the grid step
    c = edges[-1]
    quiet = 0
    lo = 0.0
    width = h
    for _ in range(200):
        r, e = adaptive(c + lo, c + lo + width)
        H = H + r
        err += e
        scale = max(state["scale"], float(np.max(np.abs(H))), 1e-300)
        state["scale"] = scale
        quiet = quiet + 1 if np.max(np.abs(r)) <= hist.tol * scale else 0
        lo += width
        width *= 2.0
        if quiet >= 3:
            break
    else:
        raise HistoryError(
            "history integral did not converge: the integrand K(t, s) G(s, phi(s)) does not "
            "decay as s -> -inf"
        )
    if not np.all(np.isfinite(H)):
        raise HistoryError("history integral is NaN or inf (check History.y and the kernel)")
    if np.iscomplexobj(H) and not np.any(H.imag != 0):
        H = H.real
    return H, err, {"history_kernel_evaluations": state["evals"]}
