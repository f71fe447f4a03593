"""Eq. (24) solved directly: F(t) on t ≤ 0 and F(0), with error control.

The equation is handed to :func:`solver.solve_volterra` as data
(:mod:`cooperon.equation`): the kernel of (24) as sums of exponentials with
the breakpoint s = 2t, the right-hand side Φ/(1+Q), and the history before
the truncation time −T given by the frozen (periodic) far-past solution F∞.

Error control (F(0) is what is controlled):

* **discretisation** – Richardson extrapolation over three grids (h, 2h, 4h):
  where the observed ratio of successive differences is within a factor 2 of
  2^p the estimate is |F_h − F_2h|/(2^(p−2) − 1), otherwise |F_h − F_2h|
  itself; the step ``h`` starts from the shortest time scale of the problem
  (1, 1/ε if r₁ > 0, 1/(2g) if r₃ > 0) and is refined until the estimate is
  below ``rtol |F(0)| / 2`` in the asymptotic range, or until it stops
  falling (rounding floor).
* **truncation** – with the frozen history, the error at −T is the deviation
  F − F∞, driven by the r₃ term of Φ, which dies out like e^{−c|t|} with
  c = min(1, 2g); its effect on F(0) is damped by the resolvent from −T to 0
  (Eq. 33). The bound is spelled out in :func:`_log_truncation_bound`; T is
  the smallest time ≥ 20 with it below ``rtol |F(0)| / 10``, and the reported
  estimate is measured: the same solve from −0.75 T, extrapolated. When
  r₃ = 0 or g = 0 the frozen solution is exact and there is no truncation
  error.
* **conditioning** – ``eps |F(0)|/(Q + rate)``: the rounding of the kernel
  mass amplified by the conditioning of the equation.

Conditioning: F(0) ~ 1/(Q + rate), so a relative error δ in the kernel mass
becomes ~δ/(Q + rate) in F(0); the Richardson estimate measures F(0) itself
and so accounts for it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from solver import METHODS, History, solve_volterra

from . import equation
from .model import lambda_max, theta
from .parameters import Parameters

__all__ = ["DirectSolution", "solve_direct", "truncation_time"]

_MAX_POINTS = 20_000_001
_SAFETY = 2.0


@dataclass
class DirectSolution:
    """F(t) of Eq. (24) on ``[−T, 0]`` and F(0) with its error estimate.

    Attributes
    ----------
    params : Parameters
    t, F : ndarray
        The grid on ``[−T, 0]`` and F there (c = 1).
    F0 : float
        F(0).
    error_estimate : float
        Estimated absolute error of ``F0`` (discretisation + truncation).
    discretisation_error, truncation_error : float
        The two parts of ``error_estimate``.
    T, h : float
        Truncation time and step.
    order : int
        Order of the quadrature.
    converged : bool
        True if ``error_estimate <= rtol |F0|``.
    message : str
    stats : dict
        Refinement history, solver path, timings.
    """

    params: Parameters
    t: np.ndarray
    F: np.ndarray
    F0: float
    error_estimate: float
    discretisation_error: float
    truncation_error: float
    T: float
    h: float
    order: int
    rtol: float
    converged: bool
    message: str
    stats: dict = field(default_factory=dict)

    @property
    def relative_error_estimate(self) -> float:
        """``error_estimate / |F0|``."""
        return self.error_estimate / abs(self.F0)


def _scales(params: Parameters) -> float:
    """Shortest time scale on which F varies (units of τ)."""
    ell = 1.0
    if params.tau_over_tau1 > 0 and params.E_tau > 0:
        ell = min(ell, 1.0 / params.E_tau)
    if params.tau_over_tau3 > 0 and params.gamma_tau > 0:
        ell = min(ell, 1.0 / (2.0 * params.gamma_tau))
    return ell


def _log_truncation_bound(params: Parameters, T: float, scale: float = 1.0) -> float:
    """log of the truncation error bound of F(0), in units of ``scale`` (= max|F∞|).

    With F∞ as history, the error at −T is the deviation δ = F − F∞ there. It is
    driven by the r₃ term of Φ, through the kernel memory e^{−(t−t')}: a forcing
    ≤ r₃ max|F∞| [min(|t|, 1/|1−2g|) + 1] e^{−c|t|}, c = min(1, 2g) (the
    ``min(|t|, ...)`` is the resonance 2g = 1 of the two decays), which the
    frozen resolvent (decay rate κ = (Q + r₁ + r₃)/(1+Q)) accumulates into
    δ ≤ forcing · (1/(c + κ) + 1). Its effect on F(0) is damped by the
    resolvent from −T to 0, bounded by exp(ϑ(−T)/(1 + Q + λ_max)) (Eq. 33; the
    WKB rate λ₁ itself over-estimates the damping when Q or λ is not small).
    A factor 2 of safety is included.
    """
    r1, r3, g, eps = params.tau_over_tau1, params.tau_over_tau3, params.gamma_tau, params.E_tau
    Q = params.Dq2_tau
    if equation.is_periodic(params):
        return -math.inf
    c = min(1.0, 2.0 * g)
    kappa = (Q + (r1 if eps > 0 else 0.0) + r3) / (1.0 + Q)
    resonance = min(T, 1.0 / abs(1.0 - 2.0 * g)) if g != 0.5 else T
    damping = float(theta(-T, params)) / (1.0 + Q + lambda_max(params))
    return (
        math.log(2.0 * r3 * scale)
        + math.log(resonance + 1.0)
        + math.log(1.0 / (c + kappa) + 1.0)
        - c * T
        + damping
    )


def _truncation_estimate(params, K, f, res, T, frozen, method, path, floor) -> float:
    """Measured truncation error of F(0): the same solve from −0.75 T, extrapolated.

    ``Δ = |F0(T) − F0(0.75 T)|`` is the truncation error of the shorter run;
    the error of the longer one is ``Δ q/(1 − q)`` with ``q`` the damping over
    the extra 0.25 T, taken from the decay rate of the bound
    (:func:`_log_truncation_bound`), which is a lower bound on the true rate.
    """
    if equation.is_periodic(params):
        return 0.0
    t = res.t
    k = (t.size - 1) // 4
    t2 = t[k:]
    T2 = -float(t2[0])
    y2 = solve_volterra(
        K,
        f,
        t2,
        method=method,
        history=equation.history(params, T2, frozen),
        path=path,
        error_estimate=False,
    ).y[-1]
    delta = abs(res.y[-1] - y2)
    log_q = _log_truncation_bound(params, T) - _log_truncation_bound(params, T2)
    q = min(math.exp(log_q), 0.99)
    return _SAFETY * max(delta, floor) * q / (1.0 - q)


def truncation_time(
    params: Parameters, rtol: float, scale: float = 1.0, T_max: float = 1e8
) -> float:
    """Smallest T ≥ 20 with truncation bound ≤ rtol/10 (relative; ``scale`` = max|F∞|/|F(0)|)."""
    target = math.log(rtol / 10.0)

    def bound(T):
        return _log_truncation_bound(params, T, scale)

    if bound(20.0) <= target:
        return 20.0
    lo, hi = 20.0, 40.0
    while bound(hi) > target:
        lo, hi = hi, 2 * hi
        if hi > T_max:
            raise ArithmeticError(
                f"the history needed exceeds T = {T_max:g} τ (Q + dephasing rate too small)"
            )
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if bound(mid) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-3 * hi:
            break
    return hi


def solve_direct(
    params: Parameters,
    rtol: float = 1e-8,
    *,
    method: str = "gregory6",
    path: str = "auto",
    h: float | None = None,
    T: float | None = None,
    max_refinements: int = 6,
) -> DirectSolution:
    """Solve Eq. (24) for F(t), t ≤ 0, and return F(0) with an honest error estimate.

    Parameters
    ----------
    params
        The model parameters (validated).
    rtol
        Requested relative accuracy of F(0), in (1e-13, 0.1].
    method
        Quadrature of :func:`solver.solve_volterra` (``"gregory6"`` default).
    path
        ``"auto"`` (the O(N) running-sum path) or ``"direct"`` (the general
        O(N²) path; for checks only).
    h, T
        Fix the step or the truncation time instead of choosing them.
    max_refinements
        How many times the step may be refined.

    Returns
    -------
    DirectSolution

    Raises
    ------
    NoCutoffError
        If nothing cuts off the divergence (F(0) = ∞).
    ValueError
        For an invalid ``rtol``, ``h`` or ``T``.
    """
    start = time.perf_counter()
    if not isinstance(params, Parameters):
        raise TypeError("params must be a cooperon.Parameters")
    params.require_cutoff()
    if not (1e-13 <= rtol <= 0.1):
        raise ValueError(f"rtol must be in [1e-13, 0.1], got {rtol!r}")
    if h is not None and not (0 < h < 10):
        raise ValueError(f"h must be in (0, 10), got {h!r}")
    if T is not None and not (T > 0 and math.isfinite(T)):
        raise ValueError(f"T must be positive and finite, got {T!r}")

    if method == "auto":
        method = "gregory6"
    if method not in METHODS:
        raise ValueError(f"method must be one of {['auto', *METHODS]}, got {method!r}")
    order = METHODS[method]
    frozen = equation.frozen_solution(params)
    # max|F∞| over the typical size of F(0): F∞(0) (F(0) differs from it by O(r3) terms)
    scale = frozen.bound / max(abs(frozen.value_at_zero), 1e-300)
    if T is None:
        T = truncation_time(params, rtol, scale)
        if not equation.is_periodic(params):
            # the history term has a kink at t = -T/2 (where s = 2t crosses -T) of relative
            # size ~ r3 max|F∞| e^{-T/2}; keep it below rtol/100 so that the interpolation
            # across it cannot spoil the order
            kink = 2.0 * math.log(100.0 * params.tau_over_tau3 * scale / rtol)
            T = max(T, kink)
    K = equation.kernel(params)
    f = equation.rhs(params)
    hist = equation.history(params, T, frozen)
    ell = _scales(params)
    step = h if h is not None else ell * min(0.1, 2.0 * rtol ** (1.0 / order))
    stats: dict = {"refinements": []}
    res = None
    est, floor = math.inf, 0.0
    prev_est = math.inf
    ratio_theory = 2.0**order
    for _attempt in range(max_refinements + 1):
        n_q = max(int(math.ceil(T / (4 * step))), order)
        N = 4 * n_q + 1  # so that t[::2] and t[::4] also end at 0 (breakpoints on their grids)
        if N > _MAX_POINTS:
            break
        t = np.linspace(-T, 0.0, N)
        # the history term and f on the finest grid, reused by the coarser ones
        Hs = hist.contribution(t)
        fs = f(t)

        def on(stride, fs=fs, Hs=Hs, t=t):
            return solve_volterra(
                K,
                fs[::stride],
                t[::stride],
                method=method,
                history=History(contribution=Hs[::stride]),
                path=path,
                error_estimate=False,
            )

        res = on(1)
        if not res.success:
            break
        y2, y4 = on(2).y[-1], on(4).y[-1]
        d1, d2 = abs(res.y[-1] - y2), abs(y2 - y4)
        # Richardson: in the asymptotic range (observed ratio d2/d1 within a factor 2 of the
        # theoretical 2^p) the error of y_h is |y_h - y_2h|/(2^p - 1); near the end of the
        # pre-asymptotic range the next reduction can be several times smaller than the last
        # one, so the estimate assumes only 2^(p-2). Outside that range (pre-asymptotic, or the
        # erratic convergence of oscillatory solutions) |y_h - y_2h| itself.
        rho = d2 / d1 if d1 > 0 else math.inf
        floor = 10 * np.finfo(float).eps * math.sqrt(N) * float(np.max(np.abs(res.y)))
        asymptotic = 0.5 * ratio_theory <= rho <= 2.0 * ratio_theory
        est = d1 / (max(ratio_theory / 4.0, 2.0) - 1.0) if asymptotic else d1
        est = max(est, floor)
        stats["refinements"].append(
            {"h": t[1] - t[0], "N": N, "F0": float(res.y[-1]), "est": est, "ratio": rho}
        )
        target = 0.5 * rtol * abs(res.y[-1])
        rounding = d1 <= 100 * floor
        if h is not None or (est <= target and (asymptotic or rounding)):
            break
        if rounding and est > 0.5 * prev_est:
            break  # the estimate no longer falls: rounding floor reached
        prev_est = est
        if asymptotic:
            step = (t[1] - t[0]) * min(0.7, 0.9 * (target / est) ** (1.0 / order))
        else:
            step = 0.5 * (t[1] - t[0])  # not yet in the asymptotic range: halve the step
    if res is None:
        raise ArithmeticError(f"the grid needed exceeds {_MAX_POINTS} points")
    F0 = float(res.y[-1])
    disc = est
    trunc = _truncation_estimate(params, K, f, res, T, frozen, method, path, floor)
    # conditioning: the kernel mass 1 - (Q + rate)/(1+Q) is formed from numbers of size 1, so
    # its rounding error (~eps) becomes a relative error ~eps/(Q + rate) in F(0)
    cond = np.finfo(float).eps * abs(F0) / params.dephasing_rate
    total = disc + trunc + cond
    converged = bool(res.success and total <= rtol * abs(F0))
    if converged:
        message = "converged"
    elif not res.success:
        message = f"solver failed: {res.message}"
    else:
        message = (
            f"requested rtol={rtol:g} not reached: estimated relative error "
            f"{total / abs(F0):.2g} (grid limit or max_refinements)"
        )
    stats.update(path=res.stats.get("path"), seconds=time.perf_counter() - start, N=res.t.size)
    return DirectSolution(
        params=params,
        t=res.t,
        F=res.y,
        F0=F0,
        error_estimate=total,
        discretisation_error=disc,
        truncation_error=trunc,
        T=float(T),
        h=float(res.t[1] - res.t[0]),
        order=res.order,
        rtol=rtol,
        converged=converged,
        message=message,
        stats=stats,
    )
