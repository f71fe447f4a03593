"""Eqs. (32) and (34) for a general vertex Φ(x) = Σ c_k e^{−α_k|x|} (:class:`Vertex`).

With λ = 1 − Φ and Λ(u) = ∫_0^u λ (``Vertex.lambda_integral``), u = −t ≥ 0:

* Eq. (32): F_(32)(0; Q) = ∫_0^∞ Φ(u) exp(−Qu − Λ(u)) du;
* Eq. (34): ln(τ_φ/τ) = ∫_1^∞ e^{−Λ(η)} dη/η.

(32) is :func:`cooperon._damped_quadrature.damped_integral` with κ = Q + λ
and y = Φ: composite Gauss–Legendre with the closed-form tail over the
periods of the frozen part of Φ (the terms with Re α = 0) once the decaying
terms have died out, or a cut where the exponent has fallen by 45 when that
comes first (or when the frozen part has several incommensurate
frequencies).

(34) has the non-periodic weight 1/η, which the periodic tail cannot take.
With 1/η = ∫_0^∞ e^{−ηs} ds it becomes

    ln(τ_φ/τ) = ∫_0^∞ J(s) ds,   J(s) = e^{−s − Λ(1)} ∫_0^∞ exp(−∫_0^w [s + λ(1 + w')] dw') dw,

an inner damped integral (κ = s + λ(1 + w), y = 1; periodic tail as above)
inside an outer integral over s done like the Q-integral of the dephasing
time (:func:`cooperon._q_integral.q_integral`; J(s) ~ 1/(s + rate) at
small s, ~ e^{−s}/s at large s, cut at s = 40 where e^{−s}/s < 1e-19).
"""

from __future__ import annotations

import math

import numpy as np

from ._damped_quadrature import DampedIntegral, damped_integral
from ._q_integral import q_integral
from .parameters import NoCutoffError
from .vertex import Vertex

__all__ = ["eq32_integral", "eq34_integral"]

#: Transients below this (relative to O(1)) count as gone.
_TRANSIENT_TOL = 1e-17
#: Exponent drop at which the integrals are cut when no periodic tail applies.
_DROP = 45.0
#: Relative tolerance for accepting a set of frozen frequencies as harmonics of one.
_HARMONIC_TOL = 1e-13
#: Upper end of the s-integral of Eq. (34): ∫_S^∞ J ds ≤ e^{−S}/S.
_S_MAX = 40.0


def _require_rate(v: Vertex, Q: float) -> float:
    rate = Q + v.dephasing
    if not rate > 0:
        raise NoCutoffError(
            "F = infinity: nothing cuts off the 2D divergence (Q = 0 and the vertex has "
            f"Φ → 1 in the past: dephasing rate 1 - Σ_(α=0) c = {v.dephasing!r})"
        )
    return rate


def _transient_end(v: Vertex) -> float:
    """|x| beyond which every decaying term c e^{−αx} (and its integral c e^{−αx}/α) is < 1e-17."""
    c, a = v.decaying
    if c.size == 0:
        return 0.0
    size = np.abs(c) * np.maximum(1.0, 1.0 / np.abs(a))
    return float(np.max(np.log(np.maximum(size, _TRANSIENT_TOL) / _TRANSIENT_TOL) / a.real))


def _period(v: Vertex) -> float | None:
    """Period of the frozen part of Φ, None if constant; NaN if it is not periodic."""
    f = v.frequencies
    if f.size == 0:
        return None
    base = float(f[0])
    ratio = f / base
    if np.all(np.abs(ratio - np.round(ratio)) <= _HARMONIC_TOL * ratio):
        return 2.0 * math.pi / base
    return math.nan


def _cut(v: Vertex, s: float, shift: float, drop: float) -> float:
    """A w with K(w) = s w + Λ(shift + w) − Λ(shift) ≥ drop from there on.

    Since Λ(u) = rate u − Σ_(α≠0) c_k (1 − e^{−α_k u})/α_k, K(w) ≥ (s + rate) w −
    2B with B = Σ_(α≠0) 2|c_k/α_k|: beyond w_max = (drop + 2B)/(s + rate) that
    holds for sure; the first point of a geometric grid on [1e-3, w_max]
    after the last one where K < drop is returned.
    """
    sel = v.alpha != 0
    B = float(np.sum(2.0 * np.abs(v.c[sel] / v.alpha[sel])))
    w_max = (drop + 2.0 * B) / (s + v.dephasing)
    w = np.geomspace(min(1e-3, 0.5 * w_max), w_max, 2000)
    K = s * w + v.lambda_integral(shift + w) - v.lambda_integral(shift)
    low = np.flatnonzero(K < drop)
    return float(w[low[-1] + 1]) if low.size and low[-1] + 1 < w.size else float(w_max)


def _damped(v: Vertex, s: float, shift: float, weight_phi: bool) -> DampedIntegral:
    """∫_0^∞ exp(−∫_0^w [s + λ(shift + w')] dw') y(w) dw, y = Φ(shift + w) or 1."""

    def evaluate(w: np.ndarray):
        kappa = s + v.lam(shift + w)  # not s + 1 − Φ: λ ≪ 1 would lose eps/λ relative
        return kappa, (v(shift + w) if weight_phi else np.ones_like(w))

    period = _period(v)
    transient = max(_transient_end(v) - shift, 0.0)
    if period is not None and math.isnan(period):  # incommensurate frequencies: always cut
        period, transient = None, math.inf
    damp_end = _cut(v, s, shift, _DROP)
    scale = v.shortest_scale()
    first = 0.25 * min(1.0, scale)
    # resolve every oscillation, and keep |κ| · panel ≤ 16 with the a-priori bound of κ
    kappa_bound = s + v.lambda_bound
    omega = float(np.max(np.abs(v.alpha.imag), initial=0.0))
    hmax = max(16.0 / kappa_bound, min(damp_end, transient) / 64.0)
    if omega > 0:
        hmax = min(hmax, 2.0 * math.pi / omega)
    return damped_integral(
        evaluate,
        first=first,
        hmax=hmax,
        transient_end=transient,
        period=period,
        damp_end=damp_end,
        max_nodes=2_000_000,
    )


def eq32_integral(v: Vertex, Q: float) -> tuple[float, float]:
    """F_(32)(0; Q) = ∫_0^∞ Φ(u) e^{−Qu − Λ(u)} du for a vertex, and its error estimate.

    Raises
    ------
    NoCutoffError
        If Q + dephasing rate = 0 (the integral diverges).
    ArithmeticError
        If the quadrature needs more than 2e6 points (the history is too long
        for the shortest scale of Φ).
    """
    _require_rate(v, Q)
    res = _damped(v, Q, 0.0, True)
    return res.value, res.error_estimate


def eq34_integral(v: Vertex, tol: float = 1e-12) -> tuple[float, float]:
    """ln(τ_φ/τ) = ∫_1^∞ e^{−Λ(η)} dη/η for a vertex (Eq. 34), and its error estimate.

    ``tol`` is the absolute accuracy requested from the outer quadrature
    (the inner integrals are accurate to ~1e-13 relative).

    Raises
    ------
    NoCutoffError
        If the vertex has no dephasing (1 − Σ_(α=0) c = 0): the integral diverges.
    """
    rate = _require_rate(v, 0.0)
    lam1 = float(v.lambda_integral(1.0))

    def J(s: float, allowance: float):
        res = _damped(v, s, 1.0, False)
        factor = math.exp(-s - lam1)
        return factor * res.value, factor * res.error_estimate, None

    y_max = math.log1p(_S_MAX / rate)
    res = q_integral(J, rate, y_max, tol=0.5 * tol, node_tol=0.25 * tol, panel_length=3.0)
    # ∫_S^∞ J ≤ e^{−S − Λ(1)} ∫_S^∞ e^{−(s−S)}/(s+...) ≤ e^{−S − Λ(1)}/S
    tail = math.exp(-_S_MAX - lam1) / _S_MAX
    error = res.quadrature_error + res.node_error + tail
    if not res.converged:
        raise ArithmeticError(
            f"Eq. (34) for the vertex: the s-quadrature did not converge (error {error:.3g})"
        )
    return res.value, error
