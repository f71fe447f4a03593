"""Composite and adaptive Gauss rules, vectorised over all nodes at once."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = [
    "GK15_NODES",
    "GK15_WEIGHTS",
    "G7_WEIGHTS",
    "adaptive_gk15",
    "gauss_panels",
    "halving_edges",
    "panel_edges",
]

_GL: dict[int, tuple[np.ndarray, np.ndarray]] = {}

# Gauss-Kronrod 7/15 (QUADPACK qk15): Kronrod abscissae ≥ 0 and weights, and
# the Gauss weights of the abscissae with odd index.
_XK = np.array(
    [
        0.991455371120812639206854697526329,
        0.949107912342758524526189684047851,
        0.864864423359769072789712788640926,
        0.741531185599394439863864773280788,
        0.586087235467691130294144845693013,
        0.405845151377397166906606412076961,
        0.207784955007898467600689403773245,
        0.0,
    ]
)
_WK = np.array(
    [
        0.022935322010529224963732008058970,
        0.063092092629978553290700663189204,
        0.104790010322250183839876322541518,
        0.140653259715525918745189590510238,
        0.169004726639267902826583426598550,
        0.190350578064785409913256402421014,
        0.204432940075298892414161999234649,
        0.209482141084727828012999174891714,
    ]
)
_WG = np.array(
    [
        0.129484966168869693270611432679082,
        0.279705391489276667901467771423780,
        0.381830050505118944950369775488975,
        0.417959183673469387755102040816327,
    ]
)
#: the 15 Kronrod nodes on [-1, 1] (ascending), their weights, and the 7-point Gauss
#: weights on them (zero at the Kronrod-only nodes)
GK15_NODES = np.concatenate([-_XK[:-1], _XK[::-1]])
GK15_WEIGHTS = np.concatenate([_WK[:-1], _WK[::-1]])
G7_WEIGHTS = np.zeros(15)
G7_WEIGHTS[[1, 3, 5]] = _WG[:3]
G7_WEIGHTS[[13, 11, 9]] = _WG[:3]
G7_WEIGHTS[7] = _WG[3]


def gauss_panels(edges: np.ndarray, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of n-point Gauss-Legendre on each panel [edges[i], edges[i+1]]."""
    if n not in _GL:
        _GL[n] = np.polynomial.legendre.leggauss(n)
    xg, wg = _GL[n]
    edges = np.asarray(edges, dtype=float)
    lo, hi = edges[:-1, None], edges[1:, None]
    x = 0.5 * (lo + hi) + 0.5 * (hi - lo) * xg
    w = 0.5 * (hi - lo) * wg
    return x.ravel(), w.ravel()


def halving_edges(top: float, bottom: float) -> np.ndarray:
    """Panel edges 0, t/2^k, ..., t/2, t with t/2^k ≤ ``bottom`` < t/2^(k−1)."""
    edges = [top]
    while edges[-1] > bottom:
        edges.append(0.5 * edges[-1])
    edges.append(0.0)
    return np.array(edges[::-1])


def panel_edges(lo: float, hi: float, width: Callable[[float], float]) -> np.ndarray:
    """Edges lo = e₀ < e₁ < ... = hi with e_{k+1} − e_k = width(e_k) (last one clipped)."""
    edges = [lo]
    while edges[-1] < hi:
        edges.append(min(hi, edges[-1] + width(edges[-1])))
    return np.array(edges)


def adaptive_gk15(
    f: Callable[[np.ndarray], np.ndarray],
    edges: np.ndarray,
    rtol: float = 1e-12,
    atol: float = 0.0,
    max_panels: int = 20_000,
    min_width: float = 1e-9,
) -> tuple[float, float]:
    """∫ f over [edges[0], edges[-1]] by globally adaptive Gauss-Kronrod 7/15.

    ``f`` is called with all nodes of all panels still being refined at once.
    A panel is accepted when |K15 − G7| ≤ max(rtol |I|, atol) × width/length
    (I the current total) or when it is narrower than ``min_width`` × length
    (its error is still counted); others are halved.

    Returns
    -------
    value, error : float
        The integral and the sum of |K15 − G7| over the accepted panels (an
        overestimate for smooth integrands: K15's error is far below G7's).

    When more than ``max_panels`` panels would be needed, the remaining ones
    are accepted as they are; their |K15 − G7| is part of ``error``.

    Raises
    ------
    ArithmeticError
        If the integrand is not finite.
    """
    lo = np.asarray(edges[:-1], dtype=float)
    hi = np.asarray(edges[1:], dtype=float)
    length = float(edges[-1] - edges[0])
    done_val = 0.0
    done_err = 0.0
    while lo.size:
        mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        vals = np.asarray(f((mid[:, None] + half[:, None] * GK15_NODES).ravel()), dtype=float)
        vals = vals.reshape(lo.size, 15)
        k = half * (vals @ GK15_WEIGHTS)
        err = np.abs(k - half * (vals @ G7_WEIGHTS))
        total = done_val + float(k.sum())
        # accept a panel when its error is within its share of the tolerance,
        # or when it is too small to split further (rounding-level noise)
        ok = (err <= max(rtol * abs(total), atol) * (hi - lo) / length) | (
            hi - lo <= min_width * length
        )
        done_val += float(k[ok].sum())
        done_err += float(err[ok].sum())
        if not math.isfinite(total):
            raise ArithmeticError("adaptive_gk15: non-finite integrand")
        lo, hi = lo[~ok], hi[~ok]
        if 2 * lo.size > max_panels:
            # budget exhausted: keep the remaining panels, count their errors
            done_val += float(k[~ok].sum())
            done_err += float(err[~ok].sum())
            break
        if lo.size:
            m = 0.5 * (lo + hi)
            lo, hi = np.concatenate([lo, m]), np.concatenate([m, hi])
    return done_val, done_err
