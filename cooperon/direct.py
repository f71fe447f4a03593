"""Eq. (24) solved directly: F(t) on t ≤ 0 and F(0), with error control.

The equation is handed to :func:`solver.solve_volterra` as data
(:mod:`cooperon.equation`): the kernel of (24) as sums of exponentials with
the breakpoint s = 2t, the right-hand side Φ/(1+Q), and the history before
the truncation time −T given by the frozen (periodic) far-past solution F∞.

Error control (F(0) is what is controlled):

* **discretisation** – the solver's Richardson estimate (order 6 by default);
  the step ``h`` starts from the shortest time scale of the problem
  (1, 1/ε if r₁ > 0, 1/(2g) if r₃ > 0) and is refined until the estimate is
  below ``rtol |F(0)| / 2``.
* **truncation** – with the frozen history, the error at −T is the deviation
  F − F∞, driven by the r₃ term of Φ, which dies out like e^{−c|t|} with
  c = min(1, 2g); its effect on F(0) is damped by the resolvent, ≈ e^{ϑ(−T)}
  (Eq. 33). The bound used is ``|F(0)| (r₃/c) e^{ϑ(−T) − cT}``; T is the
  smallest time with this below ``rtol |F(0)| / 10``. When r₃ = 0 or g = 0 the
  frozen solution is exact and there is no truncation error.

Conditioning: F(0) ~ 1/(Q + rate), so a relative error δ in the kernel mass
becomes ~δ/(Q + rate) in F(0); the Richardson estimate measures F(0) itself
and so accounts for it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from solver import solve_volterra

from . import equation
from .model import theta
from .parameters import Parameters

__all__ = ["DirectSolution", "solve_direct", "truncation_time"]

_MAX_POINTS = 20_000_001


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
        return self.error_estimate / abs(self.F0)


def _scales(params: Parameters) -> float:
    """Shortest time scale on which F varies (units of τ)."""
    ell = 1.0
    if params.tau_over_tau1 > 0 and params.E_tau > 0:
        ell = min(ell, 1.0 / params.E_tau)
    if params.tau_over_tau3 > 0 and params.gamma_tau > 0:
        ell = min(ell, 1.0 / (2.0 * params.gamma_tau))
    return ell


def _log_truncation_bound(params: Parameters, T: float) -> float:
    """log of the relative truncation error bound (r₃/c) e^{ϑ(−T) − cT}."""
    r3, g = params.tau_over_tau3, params.gamma_tau
    if equation.is_periodic(params):
        return -math.inf
    c = min(1.0, 2.0 * g)
    return math.log(r3 / c) + float(theta(-T, params)) - c * T


def truncation_time(params: Parameters, rtol: float, T_max: float = 1e8) -> float:
    """Smallest T with truncation bound ≤ rtol/10 (20 when there is no truncation error)."""
    target = math.log(rtol / 10.0)
    if _log_truncation_bound(params, 20.0) <= target:
        return 20.0
    lo, hi = 20.0, 40.0
    while _log_truncation_bound(params, hi) > target:
        lo, hi = hi, 2 * hi
        if hi > T_max:
            raise ArithmeticError(
                f"the history needed exceeds T = {T_max:g} τ (Q + dephasing rate too small)"
            )
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _log_truncation_bound(params, mid) > target:
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

    frozen = equation.frozen_solution(params)
    if T is None:
        T = truncation_time(params, rtol)
    K = equation.kernel(params)
    f = equation.rhs(params)
    hist = equation.history(params, T, frozen)
    order = int(method[-1]) if method.startswith("gregory") else 2
    step = h if h is not None else _scales(params) * 0.6 * rtol ** (1.0 / order)
    stats: dict = {"refinements": []}
    res = None
    for _attempt in range(max_refinements + 1):
        n_half = max(int(math.ceil(T / (2 * step))), order)
        N = 2 * n_half + 1  # odd, so the coarse (Richardson) grid also ends at 0
        if N > _MAX_POINTS:
            break
        t = np.linspace(-T, 0.0, N)
        res = solve_volterra(K, f, t, method=method, history=hist, path=path)
        est = float(res.error_estimate[-1])
        stats["refinements"].append({"h": t[1] - t[0], "N": N, "F0": float(res.y[-1]), "est": est})
        if not res.success:
            break
        target = 0.5 * rtol * abs(res.y[-1])
        if est <= target or h is not None:
            break
        step = (t[1] - t[0]) * min(0.7, 0.9 * (target / est) ** (1.0 / order))
    if res is None:
        raise ArithmeticError(f"the grid needed exceeds {_MAX_POINTS} points")
    F0 = float(res.y[-1])
    disc = float(res.error_estimate[-1])
    trunc = abs(F0) * math.exp(_log_truncation_bound(params, T))
    total = disc + trunc
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
