"""The paper's ODE step, Eq. (29): F_ODE(0) and the ODE resolvent columns.

Convention: λ₁ = λ₁(t) at the running (later) time t of r(t, s), the
variable (29) differentiates; the WKB solution (31),
R_WKB(t, s) = exp(−∫_s^t λ₁), solves ∂ₜR = −λ₁(t) R.

F_ODE(0) = f(0) + z₀(0), where z = ∫_{−∞}^t (r, ∂ₜr, ∂ₜ²r)_ODE(t, s) f(s) ds
obeys z′ = A(t) z + ρ(t) f(t) (ρ = the initial values of a column at t = s;
``docs/closed_forms.md``).  z starts in the far past from

* the periodic (or constant) steady state of the far-field system, once the
  r₃ e^{2gt} transient is below 1e-3 rtol·min(1, rate) (Floquet: the affine
  map over one period, z = (I − G)⁻¹ g); or
* the quasi-static value −A⁻¹ρf at the point where e^{ϑ} < 1e-3 rtol, if that
  comes first (the start error is damped by the slow mode, e^{ϑ}).

Steps are uniform, a fraction of ℓ = min(2π/ε, 1/(2g), 8/sup λ₁) (the fast
modes e^{−t} of (29), and the slow one where λ₁ is large, need no resolution
in z: they are slaved to the smooth forcing, and Radau IIA is L-stable); the
fraction is halved until two successive results agree to rtol.  Error estimate: |F_h − F_{2h}|, or
|F_h − F_{2h}|/(2³ − 1) when the observed ratio of differences is within a
factor 2 of 2⁵ (order 5; the 2³ is a safety margin, as in solve_direct).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from . import _ode29_core as core
from ._closure import Channels
from ._wkb_quadrature import cut_point
from .parameters import Parameters

__all__ = ["ODEStepResult", "ode29_initial_conditions", "ode29_resolvent", "ode_step"]

_CA, _AA = core.radau_tableau()
_ORDER = 5
#: Steps per scale ℓ at the first attempt, and the cap on the total number of steps.
_FIRST_STEPS = 8
_MAX_STEPS = 2_000_000


@dataclass(frozen=True)
class ODEStepResult:
    """F(0) with the resolvent of Eq. (24) replaced by the solution of Eq. (29).

    Attributes
    ----------
    F0 : float
        F_ODE(0) = f(0) + ∫ r_ODE(0, s) f(s) ds.
    error_estimate : float
        Estimated absolute error of ``F0`` (discretisation + start of the history).
    converged : bool
        ``error_estimate <= rtol |F0|``.
    status : int
        0 if converged, 1 if the step limit was reached first.
    message : str
    steps : int
        Radau steps of the finest attempt (history and period together).
    history : float
        |t| where the integration started.
    """

    F0: float
    error_estimate: float
    converged: bool
    status: int
    message: str
    steps: int
    history: float

    @property
    def success(self) -> bool:
        """``status == 0``."""
        return self.status == 0


def _par(ch: Channels) -> np.ndarray:
    return np.array([ch.re, ch.r1, ch.r3, ch.eps, ch.g, ch.Q], dtype=float)


def ode29_initial_conditions(s: npt.ArrayLike, params: Parameters) -> np.ndarray:
    """r(s, s), ∂ₜr(s, s), ∂ₜ²r(s, s) of the resolvent of Eq. (24), for s ≤ 0.

    From r(t, s) = k(t, s) + ∫_s^t k(t, u) r(u, s) du with
    k(t, s) = c e^{−(t−s)} Φ(2t − s), c = 1/(1+Q) (Φ, Φ′, Φ″ at s):

        r(s,s)    = c Φ
        ∂ₜr(s,s)  = c (2Φ′ − Φ) + c² Φ²
        ∂ₜ²r(s,s) = c (Φ − 4Φ′ + 4Φ″) + 5c² ΦΦ′ − 2c² Φ² + c³ Φ³

    Returns
    -------
    numpy.ndarray
        Shape (3,) + shape of ``s``.
    """
    s = np.asarray(s, dtype=float)
    if np.any(~np.isfinite(s)) or np.any(s > 0):
        raise ValueError("s must be finite and <= 0")
    par = _par(Channels.from_params(params))
    out = core.initial_values_at(np.ascontiguousarray(s.ravel()), par)
    return out.reshape((3,) + s.shape)


def _scale(ch: Channels) -> float:
    ell = 8.0 / (ch.Q + 2.0 * ch.r1 + ch.r3)
    if ch.r1:
        ell = min(ell, 2.0 * math.pi / ch.eps)
    if ch.r3:
        ell = min(ell, 0.5 / ch.g)
    return ell


def ode29_resolvent(params: Parameters, s: npt.ArrayLike, steps_per_scale: int = 64) -> np.ndarray:
    """r_ODE(0, s): the column s of the resolvent from Eq. (29), at t = 0.

    Each column is integrated from t = s (initial values of
    :func:`ode29_initial_conditions`) to 0 with Radau IIA steps growing from
    1/``steps_per_scale`` (the fast modes e^{−(t−s)} excited at the start) to
    ℓ/``steps_per_scale``, ℓ = min(2π/ε, 1/(2g), 1/sup λ₁); the default gives
    ≲ 1e-10 relative accuracy.  Cost O(Σ|s|/step).
    """
    s = np.asarray(s, dtype=float)
    if np.any(~np.isfinite(s)) or np.any(s > 0):
        raise ValueError("s must be finite and <= 0")
    if not (isinstance(steps_per_scale, int) and steps_per_scale >= 1):
        raise ValueError(f"steps_per_scale must be a positive int, got {steps_per_scale!r}")
    ch = Channels.from_params(params)
    # a column decays at the slow rate ~λ₁, not slaved to a forcing: resolve 1/sup λ₁ too
    ell = min(_scale(ch), 1.0 / (ch.Q + 2.0 * ch.r1 + ch.r3))
    h0 = min(1.0, ell) / steps_per_scale
    hmax = ell / steps_per_scale
    if float(np.sum(-s)) / hmax > 50 * _MAX_STEPS:
        raise ArithmeticError(f"more than {50 * _MAX_STEPS} Radau steps needed (columns too long)")
    flat = np.ascontiguousarray(s.ravel())
    values, _ = core.columns_at_zero(flat, h0, hmax, _par(ch), _CA, _AA)
    return values.reshape(s.shape)


def _start(ch: Channels, params: Parameters, rtol: float):
    """(T, far-field start?) : where the integration starts and how."""
    rate = params.dephasing_rate
    tol = 1e-3 * rtol * min(1.0, rate)
    transient = 0.0
    if ch.r3:
        transient = max(math.log(ch.r3 / tol), 0.0) / (2.0 * ch.g)
    damp = cut_point(params, math.log(1e3 / rtol))
    if transient <= damp:
        return transient, True
    return damp, False


def _counts(ch: Channels, T: float, far_start: bool, per_scale: int) -> tuple[int, int]:
    """Steps over the far-field period (0 if none) and over the history."""
    ell = _scale(ch)
    period = ch.period()
    n_p = max(math.ceil(per_scale * period / ell), 4) if far_start and period else 0
    return n_p, (math.ceil(per_scale * T / ell) if T > 0 else 0)


def _solve(ch: Channels, par: np.ndarray, T: float, far_start: bool, per_scale: int):
    """F_ODE(0) with ``per_scale`` steps per scale ℓ; returns (F0, steps)."""
    c = 1.0 / (1.0 + ch.Q)
    steps = 0
    period = ch.period()
    n_p, n = _counts(ch, T, far_start, per_scale)
    if n_p:
        G, g = core.compose(-T - period, period / n_p, n_p, par, True, True, _CA, _AA)
        z = np.linalg.solve(np.eye(3) - G, g)
        steps += n_p
    else:
        A, b = core._system(-T, par, far_start, True)
        z = -np.linalg.solve(A, b)
    if n:
        z = core.propagate(z, -T, T / n, n, par, False, True, _CA, _AA)
        steps += n
    return c * (ch.re + ch.r1 + ch.r3) + z[0], steps


def ode_step(params: Parameters, rtol: float) -> ODEStepResult:
    """Driver of :func:`cooperon.closed_forms.F0_ode_step` (arguments validated there)."""
    if not (isinstance(rtol, (int, float)) and 1e-12 <= rtol <= 1e-2):
        raise ValueError(f"rtol must be in [1e-12, 1e-2], got {rtol!r}")
    ch = Channels.from_params(params)
    par = _par(ch)
    T, far_start = _start(ch, params, rtol)
    first = sum(_counts(ch, T, far_start, _FIRST_STEPS))
    if 3 * first > _MAX_STEPS:  # two attempts (first, 2 × first) are the least
        raise ArithmeticError(
            f"the ODE step needs more than {_MAX_STEPS} Radau steps: the history "
            f"(|t| = {T:.3g}) is too long for its shortest scale ({_scale(ch):.3g})"
        )
    start_error = 0.0 if far_start else 1e-3 * rtol
    per_scale = _FIRST_STEPS
    values: list[float] = []
    steps = 0
    est = math.inf
    while True:
        F, steps = _solve(ch, par, T, far_start, per_scale)
        values.append(F)
        if len(values) >= 2:
            d1 = abs(values[-1] - values[-2])
            est = d1
            if len(values) >= 3 and d1 > 0:
                ratio = abs(values[-2] - values[-3]) / d1
                if 0.5 * 2**_ORDER <= ratio <= 2.0 * 2**_ORDER:
                    # in the asymptotic range; like solve_direct, assume only 2^(p−2)
                    est = d1 / (2 ** (_ORDER - 2) - 1)
            est = max(est, 1e-15 * abs(F)) + start_error * abs(F)
            if est <= 0.5 * rtol * abs(F):
                break
        if 3 * steps > _MAX_STEPS:  # the next attempt would exceed the budget
            break
        per_scale *= 2
    converged = bool(est <= rtol * abs(values[-1]))
    message = (
        "converged"
        if converged
        else f"requested rtol={rtol:g} not reached: estimated relative error "
        f"{est / max(abs(values[-1]), 1e-300):.2g} after {steps} steps (step limit)"
    )
    return ODEStepResult(
        F0=float(values[-1]),
        error_estimate=float(est),
        converged=converged,
        status=0 if converged else 1,
        message=message,
        steps=int(steps),
        history=float(T),
    )
