"""Quadrature weights on uniform grids: Gregory rules, Lagrange stencils, cut intervals.

All weights here are in *index units*: a grid point ``t_j = t0 + j h`` is the
number ``j`` and the weights must be multiplied by ``h``.

The Gregory rule of order ``p`` on ``[0, n]`` is the trapezoidal rule with the
first and last ``p - 1`` weights corrected so that it integrates every
polynomial of degree ``p - 1`` exactly (Gregory end corrections, see e.g.
P. Linz, *Analytical and Numerical Methods for Volterra Equations*, SIAM 1985,
Sec. 2.4). The rule is valid for every ``n >= p - 2``: the two end corrections
may overlap and simply add.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache, lru_cache

import numpy as np

__all__ = [
    "ORDERS",
    "gregory_end_weights",
    "gregory_weights",
    "lagrange_integral_weights",
    "interval_weights",
]

# Left-end corrections of the Gregory rules relative to the trapezoidal rule
# (weight 1/2 at the end point, 1 inside), derived by requiring exactness for
# all polynomials of degree p - 1 for every n (solved in exact rational
# arithmetic; see tests/solver/test_weights.py for the check).
_GREGORY_CORRECTIONS: dict[int, tuple[Fraction, ...]] = {
    2: (),
    4: (Fraction(-1, 8), Fraction(1, 6), Fraction(-1, 24)),
    6: (
        Fraction(-49, 288),
        Fraction(77, 240),
        Fraction(-7, 30),
        Fraction(73, 720),
        Fraction(-3, 160),
    ),
    8: (
        Fraction(-3383, 17280),
        Fraction(6961, 15120),
        Fraction(-66109, 120960),
        Fraction(33, 70),
        Fraction(-31523, 120960),
        Fraction(1247, 15120),
        Fraction(-275, 24192),
    ),
}

ORDERS: tuple[int, ...] = tuple(sorted(_GREGORY_CORRECTIONS))


def _check_order(order: int) -> int:
    if order not in _GREGORY_CORRECTIONS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    return order


@cache
def gregory_end_weights(order: int) -> np.ndarray:
    """Weights of the first ``max(order - 1, 1)`` points of the Gregory rule.

    For ``order == 4`` these are the classical ``3/8, 7/6, 23/24``. The last
    points of the rule carry the same weights in reverse order.
    """
    _check_order(order)
    corr = _GREGORY_CORRECTIONS[order]
    if not corr:
        return np.array([0.5])
    end = [Fraction(1) + c for c in corr]
    end[0] -= Fraction(1, 2)
    out = np.array([float(e) for e in end])
    out.setflags(write=False)
    return out


def min_gregory_n(order: int) -> int:
    """Smallest ``n`` (number of cells) for which the Gregory rule exists."""
    return max(order - 2, 1)


def gregory_weights(n: int, order: int) -> np.ndarray:
    """Weights of the Gregory rule of the given order on ``[0, n]`` (``n + 1`` points)."""
    _check_order(order)
    if n < min_gregory_n(order):
        raise ValueError(f"the Gregory rule of order {order} needs n >= {min_gregory_n(order)}")
    e = gregory_end_weights(order)
    m = e.size
    w = np.ones(n + 1)
    w[:m] += e - 1.0
    w[n + 1 - m :] += e[::-1] - 1.0
    return w


@lru_cache(maxsize=64)
def _gauss(npts: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(npts)
    return x, w


def lagrange_integral_weights(nodes: np.ndarray, a: float, b: float) -> np.ndarray:
    """Weights ``c_j = ∫_a^b L_j(x) dx`` of the Lagrange basis on ``nodes``.

    Exact for polynomials of degree ``len(nodes) - 1`` (Gauss-Legendre with
    enough points is used for the integral of the basis polynomials).
    """
    nodes = np.asarray(nodes, dtype=float)
    k = nodes.size
    x, w = _gauss(max((k + 1) // 2 + 1, 2))
    xq = 0.5 * (b - a) * x + 0.5 * (a + b)
    wq = 0.5 * (b - a) * w
    # Lagrange basis values at the Gauss points, shape (nq, k)
    diff = xq[:, None] - nodes[None, :]
    out = np.empty(k)
    for j in range(k):
        others = np.delete(np.arange(k), j)
        num = np.prod(diff[:, others], axis=1)
        den = np.prod(nodes[j] - nodes[others])
        out[j] = np.dot(wq, num) / den
    return out


def interval_weights(a: float, b: float, nmax: int, order: int) -> tuple[int, np.ndarray]:
    """Weights for ``∫_a^b g`` from the values ``g_0 .. g_nmax`` (index units).

    ``0 <= a <= b <= nmax`` may lie off the grid. Where ``[a, b]`` holds at
    least ``order - 1`` whole cells the Gregory rule is used on the whole
    cells it contains and the cut cells at either end are integrated with a
    Lagrange interpolant through ``order`` nearby grid points; shorter
    intervals are integrated with one interpolant through ``order`` points
    around them. Every stencil stays inside ``[0, nmax]``, so the rule is of
    the requested order whenever ``nmax >= order - 1``.

    Returns
    -------
    start, w
        The weights apply to the points ``start .. start + len(w) - 1``.
    """
    if not (0.0 <= a <= b <= nmax + 1e-12):
        raise ValueError(f"need 0 <= a <= b <= nmax, got a={a}, b={b}, nmax={nmax}")
    p = order
    if b - a <= 0.0:
        return 0, np.zeros(0)
    eps = 1e-9
    ka = int(np.ceil(a - eps))
    kb = int(np.floor(b + eps))
    if abs(ka - a) <= eps:
        a = float(ka)
    if abs(kb - b) <= eps:
        b = float(kb)
    ncells = kb - ka
    if ncells >= min_gregory_n(p):
        lo, w = ka, gregory_weights(ncells, p)
        if a < ka:
            s0, c = _stencil(a, float(ka), nmax, p)
            w, lo = _add_grow(w, lo, c, s0)
        if b > kb:
            s0, c = _stencil(float(kb), b, nmax, p)
            w, lo = _add_grow(w, lo, c, s0)
        return lo, w
    s0, c = _stencil(a, b, nmax, p)
    return s0, c


def _stencil(a: float, b: float, nmax: int, p: int) -> tuple[int, np.ndarray]:
    """``p`` consecutive grid points centred on ``[a, b]``, clipped to ``[0, nmax]``."""
    npts = min(p, nmax + 1)
    mid = 0.5 * (a + b)
    s0 = int(np.floor(mid - 0.5 * (npts - 1) + 0.5))
    s0 = min(max(s0, 0), nmax + 1 - npts)
    nodes = np.arange(s0, s0 + npts, dtype=float)
    return s0, lagrange_integral_weights(nodes, a, b)


def _add_grow(w: np.ndarray, lo: int, c: np.ndarray, s0: int) -> tuple[np.ndarray, int]:
    new_lo = min(lo, s0)
    new_hi = max(lo + w.size - 1, s0 + c.size - 1)
    out = np.zeros(new_hi - new_lo + 1)
    out[lo - new_lo : lo - new_lo + w.size] += w
    out[s0 - new_lo : s0 - new_lo + c.size] += c
    return out, new_lo
