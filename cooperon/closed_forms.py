"""Closed-form approximations of F(0) of Eq. (24), and the paper's ODE step.

Time is in units of τ and c = 1.  With Φ of Eq. (25) and ϑ of Eq. (33)
(:mod:`cooperon.model`); derivations in ``docs/closed_forms.md``:

* :func:`R_wkb` -- the WKB resolvent of Eq. (31),
  R_WKB(t, t₁) = exp(−∫_{t₁}^{t} λ₁ ds) = exp(ϑ(t₁) − ϑ(t)).
* :func:`F0_eq32` -- Eq. (32) as printed, F(0) ≈ ∫_{−∞}^0 Φ(t') e^{ϑ(t')} dt'.
* :func:`F0_wkb_eq27` -- Eq. (27) with R_WKB and its first term kept,
  consistently with the forcing Φ/(1+Q) of Eq. (24):
  F(0) ≈ [Φ(0) + ∫R_WKB Φ]/(1+Q) = ∫_{−∞}^0 e^{ϑ(t)} dt exactly
  (Φ = 1 + Q − λ₁ and dϑ/dt = λ₁).  Exact for Φ ≡ 1 (F = 1/Q).
* :func:`ln_tau_phi` -- Eq. (34), ln(τ_φ/τ) = ∫_1^∞ (dη/η) e^{−Γ₁(η) − Γ₃(η)}.
* :func:`F0_local_closure` -- beyond the paper: the exact identity
  (1+Q)(F′ + F) = Φ′ + Φ + ΦF + 2∫_0^∞ e^{−v}Φ′(t+v)F(t−v)dv closed locally,
  F(t−v) ≈ F(t) (order 0) or F(t) − vF′(t) (order 1), which turns Eq. (24)
  into a first-order linear ODE solved by one quadrature; by default after
  one exact Neumann step (``iterated``).
* :func:`F0_ode_step` -- the paper's intermediate step: the third-order ODE
  (29) for the resolvent, solved numerically with the initial conditions
  that follow from the resolvent equation, F_ODE(0) = f(0) + ∫ r_ODE(0,s) f(s) ds.

Eqs. (27), (32) and the closures are integrated by composite Gauss-Legendre
with a closed-form periodic tail (:mod:`cooperon._damped_quadrature`; (27)
and (32) fall back to QUADPACK, :mod:`cooperon._wkb_quadrature`, where that
would need too many points), Eq. (34) by QUADPACK, the ODE step by a Radau
IIA integrator (:mod:`cooperon._ode29`).  F = ∞ raises
:class:`~cooperon.parameters.NoCutoffError`; inf/NaN are never returned.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._closure import Channels, closure_integral, history_integral
from ._ode29 import ODEStepResult, ode29_initial_conditions, ode29_resolvent, ode_step
from ._wkb_quadrature import wkb_integral
from .model import FloatOrArray, _out, lambda1_integral
from .parameters import NoCutoffError, Parameters, require_cutoff

__all__ = [
    "F0_eq32",
    "F0_local_closure",
    "F0_ode_step",
    "F0_wkb_eq27",
    "ODEStepResult",
    "R_wkb",
    "ln_tau_phi",
    "ode29_initial_conditions",
    "ode29_resolvent",
]


def _theta_integral(params: Parameters, kind: str) -> float:
    """∫_0^∞ y(u) e^{ϑ(−u)} du, y = Φ ("F32") or 1 ("M").

    Composite Gauss-Legendre with the closed-form periodic tail
    (:mod:`cooperon._damped_quadrature`, ~0.3 ms); QUADPACK
    (:mod:`cooperon._wkb_quadrature`) where that would need too many points
    (both channels active with 2g ≪ rate ≪ ε).  Both reach ~1e-13.
    """
    ch = Channels.from_params(params)

    def evaluate(u):
        w = ch.common(u)
        return ch.lam1(u, w), (ch.phi(u, w) if kind == "F32" else np.ones_like(u))

    try:
        lam1_max = ch.Q + 2.0 * ch.r1 + ch.r3
        res = history_integral(ch, params, evaluate, 45.0, lam1_max, max_nodes=200_000)
    except ArithmeticError:
        return float(wkb_integral(params, kind)[0])
    if not res.error_estimate <= 1e-12 * abs(res.value) + 1e-14 * res.abs_integral:
        return float(wkb_integral(params, kind)[0])
    return float(res.value)


def F0_eq32(params: Parameters) -> float:
    """F(0) in the WKB closed form of Eq. (32), as printed in the paper.

    F_WKB(0) = ∫_{−∞}^0 Φ(t') e^{ϑ(t')} dt', with Φ of Eq. (25) and ϑ of
    Eq. (33), time in units of τ and the prefactor c = 1.  This is Eq. (27)
    with the WKB resolvent (31) and the first term of (27) dropped; see
    :func:`F0_wkb_eq27` for the version that keeps it.  Identity:
    Eq. (32) = (1 + Q) F0_wkb_eq27 − 1.

    Parameters
    ----------
    params : Parameters
        Model parameters; Q > 0 or an active dephasing channel is required.

    Returns
    -------
    float
        The integral, relative accuracy ≤ 1e-12 (when Φe^ϑ nearly averages
        out, rₑ + r₃ ≈ 0 with ε ≫ 1, the error is instead ≲ 1e-14 ∫e^ϑ).
        Exact special case: if Φ ≡ 1 it equals 1/Q.

    Raises
    ------
    NoCutoffError
        If F is infinite (Q = 0 and no active dephasing channel).
    OverflowError
        If the cutoff is so weak (rate ≲ 1e-248) that F, though finite, is
        not representable.
    """
    require_cutoff(params)
    return _theta_integral(params, "F32")


def F0_wkb_eq27(params: Parameters) -> float:
    """F(0) from Eq. (27) with the WKB resolvent (31), first term kept: ∫_{−∞}^0 e^{ϑ}.

    Eq. (24) is F = f + 𝒦F with f = Φ/(1+Q), so F = f + ∫ r f (Eq. 27 in the
    project's convention).  Replacing r(0, s) by R_WKB(0, s) = e^{ϑ(s)}:

        F(0) ≈ [Φ(0) + ∫_{−∞}^0 e^{ϑ(s)} Φ(s) ds]/(1+Q) = ∫_{−∞}^0 e^{ϑ(t)} dt,

    because Φ = 1 + Q − λ₁ and λ₁ e^ϑ = d e^ϑ/dt, so ∫e^ϑ Φ = (1+Q)∫e^ϑ − 1
    (``docs/closed_forms.md``).  Exact for Φ ≡ 1 (F = 1/Q).

    Parameters
    ----------
    params : Parameters
        Model parameters; Q > 0 or an active dephasing channel is required.

    Returns
    -------
    float
        ∫_{−∞}^0 e^{ϑ(t)} dt > 0, relative accuracy ≤ 1e-12.

    Raises
    ------
    NoCutoffError
        If F is infinite.
    OverflowError
        If the cutoff rate is ≲ 1e-248 (see :func:`F0_eq32`).
    """
    require_cutoff(params)
    return _theta_integral(params, "M")


def R_wkb(t: npt.ArrayLike, t1: npt.ArrayLike, params: Parameters) -> FloatOrArray:
    """WKB resolvent of Eq. (31): R_WKB(t, t₁) = exp(−∫_{t₁}^{t} λ₁(s) ds).

    With ϑ(t) = −∫_t^0 λ₁ (Eq. 33) this is exp(ϑ(t₁) − ϑ(t)); it is
    evaluated with :func:`cooperon.model.lambda1_integral`, which avoids the
    cancellation in the difference of two ϑ values.  It solves
    ∂ₜR = −λ₁(t) R: the decay rate is λ₁ at the later time t.  (The exact
    resolvent of Eq. (24) decays at λ₁/(1+Q) where Φ is constant; see
    :mod:`cooperon.resolvent`.)

    Parameters
    ----------
    t : array_like
        Later time t ≤ 0 (units of τ).
    t1 : array_like
        Earlier time t₁ ≤ t; broadcast against ``t``.
    params : Parameters
        Model parameters.

    Returns
    -------
    float or numpy.ndarray
        R_WKB ∈ (0, 1]; R_WKB(t, t) = 1.

    Raises
    ------
    ValueError
        Unless t₁ ≤ t ≤ 0.
    """
    return _out(np.exp(-np.asarray(lambda1_integral(t1, t, params))))


def ln_tau_phi(params: Parameters) -> float:
    """ln(τ_φ/τ) of Eq. (34).

    ln(τ_φ/τ) = ∫_1^∞ (dη/η) exp(−Γ₁(η) − Γ₃(η)),
    Γ₁ = r₁ [η − sin(ηε)/ε],  Γ₃ = r₃ [η − (1 − e^{−2ηg})/(2g)].

    Γ₁ + Γ₃ = −ϑ(−η) at Q = 0 (Eq. 33); Q does not enter.  Asymptotics
    (35): for Γ = α ηⁿ with α ≪ 1 the result is ln α^{−1/n} − γ_E/n + O(α)
    (γ_E = Euler's constant; the paper keeps the leading term only).

    Parameters
    ----------
    params : Parameters
        Model parameters; ``Dq2_tau`` is ignored.

    Returns
    -------
    float
        ln(τ_φ/τ) > 0, relative accuracy ≤ 1e-12.

    Raises
    ------
    NoCutoffError
        If no dephasing channel is active (r₁[ε > 0] + r₃[g > 0] = 0): the
        integral ∫_1^∞ dη/η diverges.
    OverflowError
        If the dephasing is so weak that e^{−Γ} stays above e^{−50} beyond
        η = 1e250.
    """
    if not isinstance(params, Parameters):
        raise TypeError(f"params must be a Parameters instance, got {type(params).__name__}")
    if not (params.resonant_active or params.relaxation_active):
        raise NoCutoffError(
            "ln(tau_phi/tau) = infinity (Eq. 34): no active dephasing channel "
            "(tau_over_tau1 > 0 needs E_tau > 0, tau_over_tau3 > 0 needs gamma_tau > 0; "
            f"Q does not enter Eq. 34). Got {params!r}"
        )
    value, _ = wkb_integral(params, "lntau")
    return float(value)


def F0_local_closure(params: Parameters, order: int = 1, *, iterated: bool = True) -> float:
    """F(0) from the local closure of an exact identity derived from Eq. (24).

    With c = 1 and v = t − t′, Eq. (24) gives the exact identity
    (1+Q)(F′ + F) = Φ′ + Φ + ΦF + 2∫_0^∞ e^{−v}Φ′(t+v)F(t−v)dv.  Order 0
    closes it with F(t−v) ≈ F(t):

        F′ + κF = (Φ + Φ′)/(1+Q),   κ = 1 − (2m − Φ)/(1+Q),
        m(t) = ∫_0^∞ e^{−v}Φ(t+v)dv,
        F(0) ≈ (1+Q)⁻¹ ∫_{−∞}^0 (Φ + Φ′)(s) exp(−∫_s^0 κ) ds.

    Order 1 keeps F(t−v) ≈ F(t) − vF′(t): with n = ∫_0^∞ v e^{−v}Φ′(t+v)dv,

        (1 + Q + 2n) F′ + (1 + Q − 2m + Φ) F = Φ + Φ′.

    ``iterated=True`` (the default, the most accurate form) first does one
    Neumann step of Eq. (24) exactly and closes the equation for the rest,
    H = F − Φ/(1+Q): the same identity and closure with the forcing Φ replaced
    by ∫_0^∞ e^{−v}Φ(t+v)Φ(t−v)dv/(1+Q); F(0) = 1/(1+Q) + H(0).  m, n and
    that forcing are in closed form for Eq. (25) (``docs/closed_forms.md``).

    All four forms are exact for Φ ≡ 1 and tend to the exact limit g → ∞
    (r₁ = 0); only the iterated ones tend to the exact limit ε → ∞, the
    plain ones miss there a term of order r₁² (the fast part of F at
    frequency ε, which F(t−v) ≈ F(t) gets wrong).  They lose most where ε ≈ 1
    with large r₁ (F oscillates on the memory time τ of the kernel).

    Parameters
    ----------
    params : Parameters
        Model parameters; Q > 0 or an active dephasing channel is required.
    order : {0, 1}
        Order of the expansion of F(t − v) about t.
    iterated : bool
        Close the equation for F − Φ/(1+Q) (default) instead of F.

    Returns
    -------
    float
        The closed-form F(0).  Its quadrature is accurate to ≲ 1e-12
        relative (1e-9 when the rate is 1e-7: the conditioning 1e-16/rate);
        the deviation from Eq. (24) is that of the closure itself.

    Raises
    ------
    NoCutoffError
        If F is infinite.
    ValueError
        If ``order`` is not 0 or 1.
    ArithmeticError
        If the order-1 coefficient 1 + Q + 2n comes near 0, or the history
        is too long for its shortest scale (both channels active with
        2g ≪ rate ≪ ε: more than 4e6 quadrature points).
    """
    require_cutoff(params)
    if order not in (0, 1) or isinstance(order, bool):
        raise ValueError(f"order must be 0 or 1, got {order!r}")
    value, _ = closure_integral(params, order, bool(iterated))
    return value


def F0_ode_step(params: Parameters, rtol: float = 1e-8) -> ODEStepResult:
    """F(0) with the resolvent replaced by the solution of the paper's ODE (29).

    Each column s of the resolvent solves, in t > s,

        [d³ + (2 + λ₁(t)) d² + (1 + 2λ₁(t)) d + λ₁(t)] r(·, s) = 0      (29)

    with r, ∂ₜr, ∂ₜ²r at t = s taken from the resolvent equation of Eq. (24)
    (:func:`ode29_initial_conditions`); F_ODE(0) = f(0) + ∫ r_ODE(0, s) f(s) ds,
    f = Φ/(1+Q).  Computed as one ODE for u(t) = ∫_{−∞}^t r_ODE(t, s) f(s) ds
    (equivalent to the column solves; ``docs/closed_forms.md``).

    Parameters
    ----------
    params : Parameters
        Model parameters; Q > 0 or an active dephasing channel is required.
    rtol : float
        Requested relative accuracy of F_ODE(0), in [1e-12, 1e-2].

    Returns
    -------
    ODEStepResult
        ``F0``, ``error_estimate``, ``converged``, ``status``, ``message``, ``steps``.

    Raises
    ------
    NoCutoffError
        If F is infinite.
    ValueError
        For an invalid ``rtol``.
    ArithmeticError
        If even the first two attempts need more than 2e6 steps (both channels
        active with 2g ≪ rate ≪ ε: one step per period fraction over ~1/rate).
    """
    require_cutoff(params)
    return ode_step(params, rtol)
