"""The local closure of Eq. (24) and its next order (``docs/closed_forms.md``).

With c = 1 and v = t − t′, Eq. (24) reads (1+Q)F(t) = X(t) + ∫_0^∞ e^{−v}
Φ(t+v) F(t−v) dv with X = Φ.  Differentiating and integrating the F′ term
by parts gives the exact identity

    (1+Q)(F′ + F) = X′ + X + ΦF + 2∫_0^∞ e^{−v} Φ′(t+v) F(t−v) dv.

Closing it with F(t−v) ≈ F(t) − v F′(t) (order 1) or F(t−v) ≈ F(t)
(order 0) gives the first-order ODE D F′ + (1 + Q − 2m + Φ) F = X + X′ with

    m(t)  = ∫_0^∞ e^{−v} Φ(t+v) dv,       m₁(t) = ∫_0^∞ v e^{−v} Φ(t+v) dv,
    n = m₁ − m = ∫_0^∞ v e^{−v} Φ′(t+v) dv,   D = 1 + Q + 2n  (order 1),  D = 1 + Q  (order 0),

so κ = (1 + Q − 2m + Φ)/D and, integrating the X′ term by parts,

    F(0) = X(0)/D(0) + ∫_{−∞}^0 e^{−∫_s^0 κ} X(s) [(1 − κ)/D + D′/D²](s) ds,
    D′ = 2 dn/dt = 2 (m₁ − 2m + Φ).

The *iterated* form applies the same closure to H = F − Φ/(1+Q), which solves
Eq. (24) with the forcing X = S = ∫_0^∞ e^{−v} Φ(t+v) Φ(t−v) dv / (1+Q) in
place of Φ; then F(0) = 1/(1+Q) + H(0).

Every function is in closed form for Φ of Eq. (25), evaluated at t = −u
(u ≥ 0) without cancellation (series where differences of nearly equal
numbers would occur).  The integrals are done by
:func:`cooperon._damped_quadrature.damped_integral`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._damped_quadrature import DampedIntegral, damped_integral
from ._wkb_quadrature import cut_point
from .model import _horner, _phi1
from .parameters import Parameters

__all__ = ["Channels", "closure_integral", "history_integral"]

# ψ̃(y) = ∫_0^1 (1 − w) e^{−yw} dw = Σ_k (−y)^k/(k+2)!   (series for y < 1; 20 terms)
_PSI_T = tuple((-1) ** k / math.factorial(k + 2) for k in range(20))
# ψ₋(y) = ∫_0^1 w e^{−yw} dw = Σ_k (−y)^k/(k! (k+2))
_PSI_M = tuple((-1) ** k / (math.factorial(k) * (k + 2)) for k in range(20))
# E(z) = (e^z − 1)/z = Σ_k z^k/(k+1)!   (complex; series for |z| < 1/2)
_E_SERIES = tuple(1.0 / math.factorial(k + 1) for k in range(20))

#: Relative size below which the transients e^{−2gu}, e^{−u} of the far field are dropped.
_TRANSIENT_TOL = 1e-17
#: The next-order closure is refused where D = 1 + Q + 2n falls below this.
_MIN_D = 1e-3


def _psi_tilde(y: np.ndarray) -> np.ndarray:
    small = y < 1.0
    ys = np.where(small, y, 0.0)
    yl = np.where(small, 1.0, y)
    return np.where(small, _horner(_PSI_T, ys), (yl - 1.0 + np.exp(-yl)) / (yl * yl))


def _psi_minus(y: np.ndarray) -> np.ndarray:
    small = y < 1.0
    ys = np.where(small, y, 0.0)
    yl = np.where(small, 1.0, y)
    return np.where(small, _horner(_PSI_M, ys), (1.0 - np.exp(-yl) * (1.0 + yl)) / (yl * yl))


def _expm1_over(z: np.ndarray) -> np.ndarray:
    """(e^z − 1)/z for complex z, with the limit 1 at z = 0."""
    small = np.abs(z) < 0.5
    zs = np.where(small, z, 0.0)
    zl = np.where(small, 1.0, z)
    return np.where(small, _horner(_E_SERIES, zs), (np.exp(zl) - 1.0) / zl)


@dataclass(frozen=True)
class Channels:
    """Φ of Eq. (25) with inactive channels folded into the elastic weight.

    r₁ with ε = 0 and r₃ with g = 0 are constants in Φ and join rₑ, so that
    every remaining term is genuinely time dependent.  All functions take
    u = −t ≥ 0 (an array) and return the value at t.
    """

    re: float
    r1: float
    r3: float
    eps: float
    g: float
    Q: float

    @classmethod
    def from_params(cls, p: Parameters) -> Channels:
        re, r1, r3 = p.tau_over_taue, p.tau_over_tau1, p.tau_over_tau3
        if p.E_tau == 0.0:
            re, r1 = re + r1, 0.0
        if p.gamma_tau == 0.0:
            re, r3 = re + r3, 0.0
        return cls(re, r1, r3, p.E_tau, p.gamma_tau, p.Dq2_tau)

    # ---- pieces shared by every function of u -------------------------------------
    def common(self, u: np.ndarray) -> dict[str, np.ndarray]:
        """cos εu, sin εu, e^{−2gu}, e^{−u} and J₀(u), computed once per array u."""
        w = {"u": u}
        if self.r1:
            w["c"] = np.cos(self.eps * u)
            w["s"] = np.sin(self.eps * u)
        if self.r3:
            w["e2g"] = np.exp(-2.0 * self.g * u)
            w["eu"] = np.exp(-u)
            w["j0"] = self._j0(u)
        return w

    def _w(self, u, w):
        return self.common(np.asarray(u, dtype=float)) if w is None else w

    # ---- Φ and its t-derivative ---------------------------------------------------
    def phi(self, u: np.ndarray, w: dict | None = None) -> np.ndarray:
        w = self._w(u, w)
        out = np.full(w["u"].shape, self.re)
        if self.r1:
            out = out + self.r1 * w["c"]
        if self.r3:
            out = out + self.r3 * w["e2g"]
        return out

    def dphi(self, u: np.ndarray, w: dict | None = None) -> np.ndarray:
        """dΦ/dt at t = −u < 0 (the left derivative at t = 0)."""
        w = self._w(u, w)
        out = np.zeros(w["u"].shape)
        if self.r1:
            out = out + self.r1 * self.eps * w["s"]
        if self.r3:
            out = out + 2.0 * self.g * self.r3 * w["e2g"]
        return out

    def lam1(self, u: np.ndarray, w: dict | None = None) -> np.ndarray:
        """λ₁ = 1 + Q − Φ, without cancellation (cf. :func:`cooperon.model.lam`)."""
        w = self._w(u, w)
        u = w["u"]
        out = np.full(u.shape, self.Q)
        if self.r1:
            out = out + 2.0 * self.r1 * np.sin(0.5 * self.eps * u) ** 2
        if self.r3:
            out = out - self.r3 * np.expm1(-2.0 * self.g * u)
        return out

    # ---- the r₃ pieces of the moments ---------------------------------------------
    def _j0(self, u: np.ndarray) -> np.ndarray:
        """∫_0^u e^{−v} e^{−2g(u−v)} dv = u e^{−min(1,2g)u} φ₁(|1−2g|u)."""
        two_g = 2.0 * self.g
        return u * np.exp(-min(1.0, two_g) * u) * _phi1(abs(1.0 - two_g) * u)

    def _j1(self, u: np.ndarray, w: dict) -> np.ndarray:
        """∫_0^u v e^{−v} e^{−2g(u−v)} dv."""
        two_g = 2.0 * self.g
        d = abs(1.0 - two_g) * u
        if two_g < 1.0:
            return u * u * w["e2g"] * _psi_minus(d)
        return u * u * w["eu"] * _psi_tilde(d)

    # ---- the moments m, m₁ ---------------------------------------------------------
    def m(self, u: np.ndarray, w: dict | None = None) -> np.ndarray:
        """m(t) = ∫_0^∞ e^{−v} Φ(t+v) dv (t + v crosses 0 at v = u; Φ is even)."""
        w = self._w(u, w)
        return self.phi(u, w) - self.phi_minus_m(u, w)

    def phi_minus_m(self, u: np.ndarray, w: dict | None = None) -> np.ndarray:
        """Φ − m without the cancellation of rₑ (κ(1+Q) = λ₁ + 2(Φ − m) can be tiny).

        m = rₑ + r₁ (cos εu + ε sin εu)/(1+ε²) + r₃ [J₀ + e^{−u}/(1+2g)].
        """
        w = self._w(u, w)
        e = self.eps
        out = np.zeros(w["u"].shape)
        if self.r1:
            out = out + self.r1 * e * (e * w["c"] - w["s"]) / (1.0 + e * e)
        if self.r3:
            b = 1.0 + 2.0 * self.g
            out = out + self.r3 * (w["e2g"] - w["j0"] - w["eu"] / b)
        return out

    def m1(self, u: np.ndarray, w: dict | None = None) -> np.ndarray:
        """m₁(t) = ∫_0^∞ v e^{−v} Φ(t+v) dv."""
        w = self._w(u, w)
        u = w["u"]
        e = self.eps
        e2 = e * e
        out = np.full(u.shape, self.re)
        if self.r1:
            out = out + self.r1 * ((1.0 - e2) * w["c"] + 2.0 * e * w["s"]) / (1.0 + e2) ** 2
        if self.r3:
            b = 1.0 + 2.0 * self.g
            out = out + self.r3 * (self._j1(u, w) + w["eu"] * (u / b + 1.0 / (b * b)))
        return out

    # ---- the forcing of the iterated closure ---------------------------------------
    def s(self, u: np.ndarray, w: dict | None = None) -> np.ndarray:
        """(1+Q) S(t) = ∫_0^∞ e^{−v} Φ(t+v) Φ(t−v) dv (t − v = −(u + v) < 0)."""
        w = self._w(u, w)
        u = w["u"]
        re, r1, r3, e, g = self.re, self.r1, self.r3, self.eps, self.g
        out = np.full(u.shape, re * re)
        if r1:
            c, sn = w["c"], w["s"]
            out = out + 2.0 * re * r1 * c / (1.0 + e * e)  # I_1c + I_c1 = 2cos/(1+ε²)
            out = out + 0.5 * r1 * r1 * (1.0 / (1.0 + 4.0 * e * e) + 2.0 * c * c - 1.0)
        if r3:
            b = 1.0 + 2.0 * g
            e2g, eu = w["e2g"], w["eu"]
            out = out + re * r3 * (e2g / b + w["j0"] + eu / b)
            out = out + r3 * r3 * e2g * e2g * (1.0 - eu * 4.0 * g / (1.0 + 4.0 * g))
            if r1:
                i_ce = e2g * (b * c + e * sn) / (b * b + e * e)
                z = complex(2.0 * g - 1.0, e)
                eiu = c + 1j * sn
                if 2.0 * g <= 1.0:
                    c0 = u * e2g * _expm1_over(z * u)
                else:
                    c0 = u * eu * eiu * _expm1_over(-z * u)
                i_ec = (eiu * c0 + eiu * eiu * eu / complex(b, -e)).real
                out = out + r1 * r3 * (i_ce + i_ec)
        return out

    # ---- scales ------------------------------------------------------------------------
    def period(self) -> float | None:
        return 2.0 * math.pi / self.eps if self.r1 > 0.0 else None

    def transient_end(self) -> float:
        """u beyond which the r₃ transients (≤ r₃ (1 + u²) e^{−min(1,2g)u}) are negligible.

        Their integral beyond U is ≲ r₃ U² e^{−αU}/α (α = min(1, 2g)); U makes
        it < 1e-17.
        """
        if self.r3 == 0.0:
            return 0.0
        alpha = min(1.0, 2.0 * self.g)
        level = math.log(self.r3 / (alpha * _TRANSIENT_TOL))
        U = max(level / alpha, 1.0)
        for _ in range(50):
            new = (level + 2.0 * math.log(max(U, 1.0))) / alpha
            if abs(new - U) <= 1e-3 * U:
                break
            U = new
        return max(new, 1.0)

    def first_panel(self) -> float:
        scales = [1.0]
        if self.r1:
            scales.append(1.0 / self.eps)
        if self.r3:
            scales.append(0.5 / self.g)
        return 0.25 * min(scales)

    def kappa_bound(self) -> float:
        """An upper bound of |κ| for both orders.

        |λ₁| ≤ Q + 2r₁ + r₃, |Φ − m| ≤ min(sup|Φ′|, 2r₁ + r₃) and D ≥ 1 + Q − r₁ − r₃/2
        (|2n| ≤ r₁ + r₃/2).
        """
        dphi = min(self.r1 * self.eps + 2.0 * self.g * self.r3, 2.0 * self.r1 + self.r3)
        num = self.Q + 2.0 * self.r1 + self.r3 + 2.0 * dphi
        return num / max(1.0 + self.Q - self.r1 - 0.5 * self.r3, _MIN_D)


def history_integral(
    ch: Channels,
    p: Parameters,
    evaluate,
    drop: float,
    kappa_bound: float,
    max_nodes: int,
) -> DampedIntegral:
    """:func:`damped_integral` over the history of Eq. (24) with the scales of ``ch``.

    The damping cut is where ϑ = −``drop``; the first guess of the longest panel
    keeps |κ|·length ≤ 16 with the a-priori ``kappa_bound``, but allows no fewer
    than 64 panels to the end (the quadrature shortens them where needed).
    """
    period = ch.period()
    damp_end = cut_point(p, drop)
    transient_end = ch.transient_end()
    hmax = max(16.0 / kappa_bound, min(damp_end, transient_end) / 64.0)
    if period is not None:
        hmax = min(hmax, period)
    return damped_integral(
        evaluate,
        first=ch.first_panel(),
        hmax=hmax,
        transient_end=transient_end,
        period=period,
        damp_end=damp_end,
        max_nodes=max_nodes,
    )


def closure_integral(
    p: Parameters, order: int, iterated: bool = False
) -> tuple[float, DampedIntegral]:
    """F(0) of the local closure of Eq. (24): order 0 or 1, plain or iterated.

    Returns F(0) and the quadrature record (its ``error_estimate`` is the
    quadrature error of F(0), not the error of the closure).
    """
    ch = Channels.from_params(p)
    Q = ch.Q

    def parts(u: np.ndarray):
        w = ch.common(u)
        phi = ch.phi(u, w)
        pm = ch.phi_minus_m(u, w)
        num = ch.lam1(u, w) + 2.0 * pm  # 1 + Q − 2m + Φ
        if order == 0:
            D = np.full_like(u, 1.0 + Q)
            Dp = 0.0
        else:
            n = ch.m1(u, w) - (phi - pm)  # m₁ − m
            D = 1.0 + Q + 2.0 * n
            Dp = 2.0 * (n + pm)  # 2(m₁ − 2m + Φ)
        X = ch.s(u, w) / (1.0 + Q) if iterated else phi
        return num, D, Dp, X

    u0 = np.zeros(1)
    _, D0, _, X0 = parts(u0)

    def evaluate(u: np.ndarray):
        num, D, Dp, X = parts(u)
        if np.min(D) < _MIN_D:
            raise ArithmeticError(
                f"the next-order closure is singular: D = 1 + Q + 2n reaches {np.min(D):.3g}"
            )
        return num / D, X * ((D - num) / (D * D) + Dp / (D * D))

    # K ≥ (−ϑ − 4(2r₁ + r₃))/(1 + Q) at order 0; the next order is checked by the quadrature
    drop = 45.0 * (2.0 + Q) + 4.0 * (2.0 * ch.r1 + ch.r3)
    res = history_integral(ch, p, evaluate, drop, ch.kappa_bound(), max_nodes=4_000_000)
    value = float(X0[0] / D0[0]) + res.value
    if iterated:
        value += 1.0 / (1.0 + Q)
    return value, res
