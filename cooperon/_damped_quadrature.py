"""Quadrature of I = ∫_0^∞ exp(−∫_0^u κ) y(u) du for the local closures.

The closed forms of :mod:`cooperon.closed_forms` that go beyond Eq. (32)
reduce to integrals of this shape, with κ(u) and y(u) built from Φ of
Eq. (25) at t = −u.  Their structure is used as follows.

* Composite Gauss-Legendre (20 nodes per panel).  The inner integral
  K(u) = ∫_0^u κ is carried from panel to panel and, inside a panel, given at
  the nodes by the Legendre integration matrix (exact for polynomials of
  degree 19), so K is as accurate as the outer rule.
* Panels double in length from ``first`` (which resolves the shortest scale
  near u = 0) up to ``hmax`` (half a period of cos εu and 8/sup|κ| at most);
  exponential transients e^{−ρu} on a panel [u, 2u] are integrated to
  rounding level by 20 nodes for every ρu.  If a panel turns out to carry
  |κ|·length > 16, the whole integral is redone with a shorter ``hmax``.
* Beyond ``transient_end`` the integrand is periodic with ``period`` (or
  constant): the tail is summed as a geometric series,
  ∫_U^∞ = e^{−K(U)} I_P / (1 − e^{−K_P}), with I_P, K_P the integrals over one
  period, or e^{−K(U)} y(∞)/κ(∞) when constant.  So a history of 10⁹ τ with
  10⁸ periods costs one period.
* If ``damp_end`` comes before the tail (``transient_end`` plus one period)
  the integral is cut there; the cut is accepted only if e^{−K} has dropped
  below 1e-17 relative to the result, otherwise ``damp_end`` is doubled.

The error estimate is the difference between two resolutions (all panels
halved), which over-estimates the error of the finer one (Gauss-Legendre
converges geometrically here), plus the rounding bound
1e-16 · (number of nodes)^½ · ∫ e^{−K}|y|.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import legendre

__all__ = ["DampedIntegral", "damped_integral"]

_N = 20
_X, _W = legendre.leggauss(_N)


def _integration_matrix() -> np.ndarray:
    """S[i, k] = ∫_{−1}^{x_i} ℓ_k, ℓ_k the Lagrange polynomials of the nodes."""
    V = legendre.legvander(_X, _N - 1)  # V[i, j] = P_j(x_i)
    Vint = np.empty_like(V)
    for j in range(_N):
        c = np.zeros(_N)
        c[j] = 1.0
        Vint[:, j] = legendre.legval(_X, legendre.legint(c, lbnd=-1.0))
    return Vint @ np.linalg.inv(V)


_SINT = _integration_matrix()
#: Panels per vectorised evaluation (bounds the memory of one chunk).
_CHUNK = 4096
#: Largest |κ|·(panel length) accepted on a panel.
_MAX_KL = 16.0
#: Relative size of the discarded tail beyond a damping cut.
_CUT_TOL = 1e-17
#: Panels starting where K exceeds its running minimum by more than this are not
#: checked for resolution (e^{−K} < 1e-20 there).
_LIVE_K = 46.0

Evaluate = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class DampedIntegral:
    """Result of :func:`damped_integral`.

    Attributes
    ----------
    value : float
        The integral.
    error_estimate : float
        Estimated absolute error.
    abs_integral : float
        ∫ e^{−K} |y| (the scale of rounding errors).
    nodes : int
        Number of evaluation points of the finer resolution.
    end : float
        Where the panels end (the transient end, or the damping cut).
    tail : float
        The part beyond ``end`` summed in closed form (0 after a damping cut).
    """

    value: float
    error_estimate: float
    abs_integral: float
    nodes: int
    end: float
    tail: float


def _edges(
    start: float, end: float, first: float, hmax: float, max_panels: float = math.inf
) -> np.ndarray:
    """Panel edges start = e₀ < … < end: lengths first, first, 2 first, … ≤ hmax.

    Raises ``_TooMany`` (with the number of panels) before allocating more than
    ``max_panels``.
    """
    if end <= start:
        return np.array([start])
    out = [start]
    length = first
    x = start
    while x < end and length < hmax:
        x = min(x + length, end)
        out.append(x)
        length *= 2.0
    if x < end:
        n = math.ceil((end - x) / hmax)
        if len(out) - 1 + n > max_panels:
            raise _TooMany(len(out) - 1 + n)
        out.extend(np.linspace(x, end, n + 1)[1:])
    edges = np.asarray(out)
    edges[-1] = end
    return edges


def _panels(evaluate: Evaluate, edges: np.ndarray, K0: float):
    """Sum over the panels of ``edges``.

    Returns ∫e^{−K}y, ∫e^{−K}|y|, K(end), (max |κ|L, that L) over the panels where
    e^{−K} is not negligible, and max|y|.
    """
    total = 0.0
    absolute = 0.0
    worst = (0.0, 0.0)
    ymax = 0.0
    K = K0
    kmin = K0
    for lo in range(0, edges.size - 1, _CHUNK):
        a = edges[lo : lo + _CHUNK + 1]
        half = 0.5 * np.diff(a)
        u = a[:-1, None] + half[:, None] * (_X + 1.0)
        kap, y = evaluate(u.ravel())
        kap = kap.reshape(u.shape)
        y = y.reshape(u.shape)
        # (einsum, not BLAS: threaded BLAS can take milliseconds on busy cores)
        dK = half * np.einsum("pn,n->p", kap, _W)
        start = K + np.concatenate(([0.0], np.cumsum(dK)[:-1]))
        Kn = start[:, None] + half[:, None] * np.einsum("pn,in->pi", kap, _SINT)
        e = np.exp(-Kn)
        total += float(np.sum(half[:, None] * _W * e * y))
        absolute += float(np.sum(half[:, None] * _W * e * np.abs(y)))
        K = float(start[-1] + dK[-1])
        # resolution of e^{−K} matters only where it is not negligible
        running_min = np.minimum(kmin, np.minimum.accumulate(start))
        kmin = float(running_min[-1])
        live = start <= _LIVE_K + running_min
        if live.any():
            kl = np.where(live, np.abs(kap).max(axis=1) * 2.0 * half, 0.0)
            j = int(np.argmax(kl))
            if kl[j] > worst[0]:
                worst = (float(kl[j]), float(2.0 * half[j]))
        ymax = max(ymax, float(np.max(np.abs(y))))
    return total, absolute, K, worst, ymax


class _TooMany(Exception):
    """More panels than allowed (``args[0]``: how many)."""


def _once(evaluate, first, hmax, end, tail_start, period, max_nodes):
    """One resolution: panels on [0, end], then the closed-form tail if tail_start."""
    try:
        edges = _edges(0.0, end, first, hmax, max_nodes / _N)
        nodes = (edges.size - 1) * _N
        tail_edges = None
        if tail_start is not None and period is not None:
            tail_edges = _edges(0.0, period, min(first, period), min(hmax, period), max_nodes / _N)
            nodes += (tail_edges.size - 1) * _N
    except _TooMany as exc:
        nodes = exc.args[0] * _N
    if nodes > max_nodes:
        raise ArithmeticError(
            f"the closed-form quadrature needs {nodes} points (> {max_nodes}): the history "
            f"(to |t| = {end:.3g}) is too long for its shortest scale ({hmax:.3g})"
        )
    total, absolute, K_end, worst, ymax = _panels(evaluate, edges, 0.0)
    tail = 0.0
    if tail_start is not None:
        if tail_edges is not None:
            shifted = _shift(evaluate, end)
            IP, AP, KP, w2, y2 = _panels(shifted, tail_edges, 0.0)
            worst = max(worst, w2)
            ymax = max(ymax, y2)
            if not KP > 0.0:
                raise ArithmeticError(f"no decay over a period of the far field (K_P = {KP})")
            factor = math.exp(-K_end) / -math.expm1(-KP)
            tail = IP * factor
            absolute += AP * factor
        else:
            kap, y = evaluate(np.array([end]))
            if not kap[0] > 0.0:
                raise ArithmeticError(f"no decay in the far field (κ = {kap[0]})")
            tail = math.exp(-K_end) * float(y[0]) / float(kap[0])
            absolute += abs(tail)
        total += tail
    return total, absolute, K_end, worst, ymax, nodes, tail


def _shift(evaluate: Evaluate, by: float) -> Evaluate:
    def shifted(u: np.ndarray):
        return evaluate(u + by)

    return shifted


def damped_integral(
    evaluate: Evaluate,
    *,
    first: float,
    hmax: float = math.inf,
    transient_end: float,
    period: float | None,
    damp_end: float,
    max_nodes: int = 4_000_000,
) -> DampedIntegral:
    """∫_0^∞ exp(−∫_0^u κ) y(u) du for κ, y periodic (or constant) beyond a transient.

    Parameters
    ----------
    evaluate
        ``evaluate(u) -> (κ(u), y(u))`` for a 1-d array ``u ≥ 0``.
    first
        Length of the first panel (a fraction of the shortest scale near 0).
    hmax
        Longest panel (e.g. a period); shortened automatically where K varies faster.
    transient_end
        Beyond it κ and y are periodic with ``period`` (constant if None) to
        rounding level.
    period
        Period of the far field, or None.
    damp_end
        A point beyond which e^{−K} is negligible (checked, and doubled if not).
    max_nodes
        Refuse (ArithmeticError) integrals needing more evaluation points.

    Returns
    -------
    DampedIntegral
    """
    if not (first > 0 and hmax > 0 and transient_end >= 0 and damp_end > 0):
        raise ValueError("first, hmax, damp_end must be > 0 and transient_end >= 0")
    first = min(first, hmax)
    for _ in range(12):
        # cut at the damping point if that comes before the periodic (or constant) tail
        cut = damp_end < transient_end + (period or 0.0)
        end = damp_end if cut else transient_end
        tail_start = None if cut else end
        results = []
        for scale in (1.0, 0.5):
            results.append(
                _once(evaluate, first * scale, hmax * scale, end, tail_start, period, max_nodes)
            )
        coarse, fine = results
        kl, length = fine[3]
        if kl > _MAX_KL:  # some panel too long for the variation of K: shorten hmax
            hmax = min(hmax, length) * 0.5 * _MAX_KL / kl
            first = min(first, hmax)
            continue
        value, absolute, K_end, _, ymax, nodes, tail = fine
        if cut and math.exp(-K_end) * ymax * max(end, 1.0) > _CUT_TOL * abs(value):
            damp_end *= 2.0
            continue
        rounding = 1e-16 * math.sqrt(nodes) * absolute
        return DampedIntegral(
            value=value,
            error_estimate=abs(value - coarse[0]) + rounding,
            abs_integral=absolute,
            nodes=nodes,
            end=end,
            tail=tail,
        )
    raise ArithmeticError("the closed-form quadrature did not settle (panels or cut)")
