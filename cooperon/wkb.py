"""Closed-form (WKB) approximations of the paper: Eqs. (27), (31), (32), (34).

Time is in units of τ, c = 1 (see ``docs/equations.md``).  With ϑ of Eq. (33)
(:func:`cooperon.model.theta`):

* :func:`R_wkb` -- the WKB resolvent of Eq. (31),
  R_WKB(t, t₁) = exp(−∫_{t₁}^{t} λ₁ ds) = exp(ϑ(t₁) − ϑ(t)).
* :func:`F0_eq32` -- Eq. (32) as printed, F(0) ≈ ∫_{−∞}^0 Φ(t') e^{ϑ(t')} dt'.
* :func:`F0_eq27` -- Eq. (27) with R_WKB and its first term kept,
  F(0) ≈ Φ(0) + ∫ R_WKB Φ = 1 + Eq. (32).
* :func:`ln_tau_phi` -- Eq. (34), ln(τ_φ/τ) = ∫_1^∞ (dη/η) e^{−Γ₁(η) − Γ₃(η)}.

Numerical method
----------------
QUADPACK (:func:`scipy.integrate.quad`) with a relative accuracy budget of
1e-12 (typically ~1e-15 is reached; the test-suite checks against exact
Bessel/₁F₁/E₁ series evaluated with mpmath).  Write u = −t ≥ 0.  Then
ϑ(−u) = log E(u) + a sin(εu), with a = r₁/ε and the smooth, non-oscillating
envelope E(u) = exp(−u[Q + r₁ + r₃(1 − φ₁(2gu))]), φ₁(y) = (1 − e^{−y})/y.
The integrals are cut at the u where ϑ has dropped by 50 (found by root
finding; ϑ is strictly decreasing), which leaves a tail ~e^{−50} times the
integral.

* ``direct``: adaptive Gauss-Kronrod (QAGS) on sub-intervals that are
  geometric in u (resolving the transients of scale 1/(2g), 1/ε near 0 and
  the long tail of length up to 1/rate) and at most one period 2π/ε long.
  Used when a > 0.5 (then ϑ reaches −50 within (50 + a)/(2πa) < 17 periods)
  or when there are ≤ 8 periods before the cut.
* ``fourier``: otherwise (a ≤ 0.5 and many periods, e.g. ε = 100 with a
  tail of length 10⁶, i.e. ~10⁸ periods) the periodic factor is expanded,
  e^{a sin x} = Σₙ Iₙ(a)(−i)ⁿ e^{inx} (Jacobi-Anger, modified Bessel Iₙ;
  ≲ 15 terms), and each harmonic ∫ E(u) cos(nεu) du, ∫ E(u) sin(nεu) du is
  computed with QUADPACK's QAWO (``weight='cos'/'sin'``, Chebyshev moments),
  whose cost does not grow with the number of periods.

If the error estimate exceeds the budget because the value is much smaller
than ∫|integrand| (Eq. 32 when rₑ + r₃ ≈ 0 and ε ≫ 1, where Φ e^ϑ nearly
averages out), the integral is redone with absolute tolerances relative to
the value; an :class:`scipy.integrate.IntegrationWarning` is issued only if
the error is also above 1e-14 ∫e^ϑ (a genuine quadrature failure).
F = ∞ raises :class:`~cooperon.parameters.NoCutoffError`; inf/NaN are
never returned.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import integrate, optimize, special

from .model import (
    FloatOrArray,
    _one_minus_phi1_scalar,
    _one_minus_sinc_scalar,
    _out,
    lambda1_integral,
    lambda_max,
)
from .parameters import NoCutoffError, Parameters, require_cutoff

__all__ = ["F0_eq27", "F0_eq32", "R_wkb", "integral_exp_theta", "ln_tau_phi"]

#: ϑ level at which integrands are truncated (e^{-50} ≈ 2e-22).
_THETA_CUT = 50.0
#: Largest truncation point |t| (the rate Q + dephasing would be < ~1e-248).
_MAX_CUT = 1e250
#: Fourier strategy if a = r₁/ε ≤ _MAX_FOURIER_A and there are more than
#: _MAX_DIRECT_PERIODS periods of cos(εu) before the cut; direct otherwise.
#: (a > 0.5 implies ≤ (50 + a)/(2πa) < 17 periods, so "direct" stays cheap.)
_MAX_FOURIER_A = 0.5
_MAX_DIRECT_PERIODS = 8
#: Relative accuracy requested from QUADPACK and the budget that is checked.
_EPSREL = 2e-14
_ABS_FRACTION = 1e-15
_BUDGET = 1e-12
#: Budget relative to ∫|integrand| when the value itself is much smaller.
_COND_BUDGET = 1e-14
#: Fourier coefficients Iₙ(a) below this fraction of I₀(a) are dropped.
_BESSEL_CUT = 1e-18


class _Channels:
    """Scalar evaluation of Φ(u), ϑ(−u) and the envelope for quadrature callbacks.

    u = −t ≥ 0.  ``with_Q=False`` drops Q (Eq. 34 does not contain it).
    """

    def __init__(self, p: Parameters, with_Q: bool = True) -> None:
        self.params = p
        self.Q = p.Dq2_tau if with_Q else 0.0
        self.r1 = p.tau_over_tau1
        self.r3 = p.tau_over_tau3
        self.re = p.tau_over_taue
        self.eps = p.E_tau
        self.g = p.gamma_tau
        self.two_g = 2.0 * p.gamma_tau
        self.oscillating = self.r1 > 0.0 and self.eps > 0.0
        self.a = self.r1 / self.eps if self.oscillating else 0.0
        # asymptotic rate of −ϑ(−u)/u and an upper bound of λ₁
        self.rate = self.Q
        self.lam1_max = self.Q + lambda_max(p)
        if self.eps > 0.0:
            self.rate += self.r1
        if self.g > 0.0:
            self.rate += self.r3
        # ϑ(−u) ≤ −rate·u + offset  (u − sin(εu)/ε ≥ u − 1/ε, etc.)
        self.offset = self.a + (self.r3 / self.two_g if self.g > 0.0 else 0.0)

    # ϑ(−u), Eq. (33), in the cancellation-free form of model.theta
    def theta(self, u: float) -> float:
        r = self.Q
        if self.r1 > 0.0:
            r += self.r1 * _one_minus_sinc_scalar(self.eps * u)
        if self.r3 > 0.0:
            r += self.r3 * _one_minus_phi1_scalar(self.two_g * u)
        return -u * r

    # Φ(u), Eq. (25)
    def phi(self, u: float) -> float:
        return self.re + self.r1 * math.cos(self.eps * u) + self.r3 * math.exp(-self.two_g * u)

    # log of the envelope E(u) = exp(ϑ(−u) − a sin(εu)) (oscillating case only)
    def log_envelope(self, u: float) -> float:
        r = self.Q + self.r1
        if self.r3 > 0.0:
            r += self.r3 * _one_minus_phi1_scalar(self.two_g * u)
        return -u * r

    def cut(self, lo: float) -> float:
        """u ≥ lo where ϑ(−u) = ϑ(−lo) − 50 (ϑ is strictly decreasing).

        Raises OverflowError if that u exceeds _MAX_CUT (the cutoff rate is
        too small for the integral to be represented sensibly).
        """
        level = self.theta(lo) - _THETA_CUT
        lo_u = lo + _THETA_CUT / self.lam1_max  # ϑ(−u) ≥ ϑ(−lo) − λ₁max·(u − lo)
        if not lo_u <= _MAX_CUT:
            raise OverflowError(
                f"the integrand decays too slowly (exp(ϑ) > e^-50 beyond |t| = {_MAX_CUT:g}): "
                f"F(0) is finite but not representable; {self.params!r}"
            )
        if self.theta(lo_u) <= level:
            return lo_u
        hi_u = max((-level + self.offset) / self.rate, lo_u)  # ϑ(−u) ≤ −rate·u + offset
        if not hi_u <= _MAX_CUT:
            # the bound can be loose (e.g. r₃/(2g) huge): look before giving up
            hi_u = _MAX_CUT
            if self.theta(hi_u) > level:
                raise OverflowError(
                    f"the integrand decays too slowly (exp(ϑ) > e^-50 beyond |t| = {_MAX_CUT:g}): "
                    f"F(0) is finite but not representable; {self.params!r}"
                )
        # root in log u (the bracket may span hundreds of decades); the 1%
        # margin keeps the rounding of exp(log u) from closing the bracket.
        v_lo, v_hi = math.log(lo_u), math.log(hi_u) + 0.01
        if self.theta(math.exp(v_lo)) <= level:
            return lo_u
        while self.theta(math.exp(v_hi)) > level:  # pragma: no cover - bound is rigorous
            v_hi += math.log(2.0)
        v = optimize.brentq(
            lambda v: self.theta(math.exp(v)) - level, v_lo, v_hi, xtol=1e-10, maxiter=500
        )
        return max(math.exp(v), lo_u)

    def first_scale(self) -> float:
        """A length on which ϑ changes by < 1 near 0 and transients are resolved."""
        return 0.5 / (1.0 + self.lam1_max + self.two_g + self.eps)


def _breakpoints(lo: float, hi: float, first: float, period: float | None) -> np.ndarray:
    """Breakpoints lo < … < hi: geometric (lo + first·2ᵏ) and one period apart."""
    pts = [lo, hi]
    x = first
    while lo + x < hi:
        pts.append(lo + x)
        x *= 2.0
    if period is not None:
        k0 = math.ceil(lo / period)
        k1 = math.floor(hi / period)
        pts.extend(period * np.arange(k0, k1 + 1, dtype=float))
    pts_arr = np.unique(np.clip(np.asarray(pts, dtype=float), lo, hi))
    keep = np.concatenate(([True], np.diff(pts_arr) > 1e-13 * np.abs(pts_arr[1:])))
    pts_arr = pts_arr[keep]
    pts_arr[-1] = hi
    return pts_arr


class _Quad:
    """Accumulate QUADPACK results (with coefficients) and their error estimates."""

    def __init__(self) -> None:
        self.parts: list[float] = []
        self.errors: list[float] = []
        self.messages: list[str] = []

    def add(
        self,
        f: Callable[[float], float],
        a: float,
        b: float,
        epsabs: float,
        coef: float = 1.0,
        **kw: object,
    ) -> float:
        """Add ``coef * ∫_a^b f`` (QAGS, or QAWO if ``weight`` is given); return ∫ f."""
        res = integrate.quad(f, a, b, epsabs=epsabs, epsrel=_EPSREL, full_output=1, **kw)
        y, err = res[0], abs(res[1])
        if len(res) > 3:
            self.messages.append(str(res[3]).splitlines()[0])
        self.parts.append(coef * y)
        self.errors.append(abs(coef) * err)
        return y

    def total(self) -> float:
        return math.fsum(self.parts)

    def error(self) -> float:
        return math.fsum(self.errors)


def _fourier_coefficients(a: float, cos_factor: bool) -> np.ndarray:
    """Complex Fourier coefficients cₙ, n ≥ 0, of e^{a sin x} (or cos x·e^{a sin x}).

    e^{a sin x} = Σₙ Iₙ(a)(−i)ⁿ e^{inx} (Jacobi-Anger); c₋ₙ = conj(cₙ).
    cos x·e^{a sin x} has the coefficients (c_{n−1} + c_{n+1})/2.
    """

    def bessel_i(n: np.ndarray | int) -> np.ndarray:
        if a < 1e-8:  # Iₙ(a) = (a/2)ⁿ/n! (1 + a²/(4(n+1)) + …); scipy gives NaN for subnormal a
            n = np.asarray(n, dtype=float)
            return (0.5 * a) ** n / special.gamma(n + 1) * (1 + 0.25 * a * a / (n + 1))
        return special.iv(n, a)

    n_max = 2
    i0 = bessel_i(0)
    while bessel_i(n_max) > _BESSEL_CUT * i0:
        n_max += 1
    n = np.arange(n_max + 2)
    phase = np.array([1.0, -1.0j, -1.0, 1.0j])[n % 4]  # (−i)ⁿ without rounding
    c = bessel_i(n) * phase
    if not cos_factor:
        return c[: n_max + 1]
    prev = np.concatenate(([np.conj(c[1])], c[:-1]))  # c_{n−1}, with c_{−1} = conj(c₁)
    nxt = np.concatenate((c[1:], [0.0]))  # c_{n+1}
    return (0.5 * (prev + nxt))[: n_max + 1]


def _integrate(
    params: Parameters, kind: str, strategy: str = "auto"
) -> tuple[float, dict[str, object]]:
    """Integrals over u = −t ∈ [lo, ∞) of the WKB expressions.

    kind: "F32" -> ∫_0^∞ Φ(u) e^{ϑ(−u)} du (Eq. 32); "M" -> ∫_0^∞ e^{ϑ(−u)} du;
    "lntau" -> ∫_1^∞ e^{ϑ₀(−η)} dη/η with ϑ₀ = ϑ at Q = 0 (Eq. 34).
    strategy: "auto", "direct" or "fourier" (the latter two for testing).
    Returns the value and a dict describing what was done.
    """
    ch = _Channels(params, with_Q=(kind != "lntau"))
    lo = 1.0 if kind == "lntau" else 0.0
    hi = ch.cut(lo)
    first = ch.first_scale()
    periods = ch.eps * (hi - lo) / (2.0 * math.pi) if ch.oscillating else 0.0
    if strategy == "auto":
        use_fourier = ch.a <= _MAX_FOURIER_A and periods > _MAX_DIRECT_PERIODS
        strategy = "fourier" if use_fourier else "direct"
    if strategy not in ("direct", "fourier"):
        raise ValueError(f"unknown strategy {strategy!r}")
    if strategy == "fourier" and not ch.oscillating:
        strategy = "direct"
    info: dict[str, object] = {"strategy": strategy, "cut": hi, "periods": periods}
    run = _run_direct if strategy == "direct" else _run_fourier
    q = run(ch, kind, lo, hi, first, None, info)
    value = q.total()
    if not math.isfinite(value):
        raise OverflowError(f"{_WHAT[kind]}: quadrature gave a non-finite value ({value})")
    if q.error() > _BUDGET * abs(value):
        # The a-priori absolute tolerances were set relative to ∫|integrand|;
        # the value is much smaller (cancellation): redo relative to the value
        # and keep whichever pass has the smaller error estimate.
        q2 = run(ch, kind, lo, hi, first, abs(value), info)
        info["refined"] = True
        if q2.error() < q.error():
            q, value = q2, q2.total()
    err = q.error()
    info["error_estimate"] = err
    if err > _BUDGET * abs(value):
        # Only F32 can get here without a quadrature failure: its integrand
        # changes sign.  Then the attainable accuracy is limited by rounding
        # relative to ∫|Φ|e^ϑ ≤ ∫e^ϑ = M; warn only if the error is not.
        scale = _integrate(ch.params, "M")[0] if kind == "F32" else abs(value)
        info["conditioning_scale"] = scale
        if err > _COND_BUDGET * scale:
            warnings.warn(
                f"{_WHAT[kind]}: estimated relative quadrature error "
                f"{err / abs(value):.2e} exceeds {_BUDGET:.0e} "
                f"({'; '.join(q.messages[:2])})",
                integrate.IntegrationWarning,
                stacklevel=3,
            )
    return value, info


def _run_direct(
    ch: _Channels,
    kind: str,
    lo: float,
    hi: float,
    first: float,
    scale: float | None,
    info: dict[str, object],
) -> _Quad:
    """QAGS on geometric and period-aligned sub-intervals of [lo, hi]."""
    period = 2.0 * math.pi / ch.eps if ch.oscillating else None
    pts = _breakpoints(lo, hi, first, period)
    info["intervals"] = len(pts) - 1
    if kind == "F32":

        def f(u: float) -> float:
            return ch.phi(u) * math.exp(ch.theta(u))

    elif kind == "M":

        def f(u: float) -> float:
            return math.exp(ch.theta(u))

    else:

        def f(u: float) -> float:
            return math.exp(ch.theta(u)) / u

    q = _Quad()
    n = len(pts) - 1
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        # sup|f| on [a, b] ≤ e^{ϑ(−a)} (/a for Eq. 34), and the whole integral
        # is ≥ (a − lo)·e^{ϑ(−a)}: epsabs is a tiny fraction of the total.
        bound = math.exp(ch.theta(a)) * (b - a) / (a if kind == "lntau" else 1.0)
        epsabs = _ABS_FRACTION * bound
        if scale is not None:
            epsabs = min(epsabs, 0.1 * _BUDGET * scale / n)
        q.add(f, a, b, epsabs, limit=200)
    return q


def _run_fourier(
    ch: _Channels,
    kind: str,
    lo: float,
    hi: float,
    first: float,
    scale: float | None,
    info: dict[str, object],
) -> _Quad:
    """Fourier (Jacobi-Anger) expansion of e^{a sin εu}; harmonics by QAWO."""

    def env(u: float) -> float:
        return math.exp(ch.log_envelope(u))

    terms: list[tuple[Callable[[float], float], np.ndarray]] = []
    if kind == "F32":
        # Φ e^{ϑ} = (rₑ + r₃e^{−2gu}) E e^{a sin εu} + r₁ E cos(εu) e^{a sin εu}
        terms.append(
            (lambda u: (ch.re + ch.r3 * math.exp(-ch.two_g * u)) * env(u), _fc(ch.a, False))
        )
        terms.append((lambda u: ch.r1 * env(u), _fc(ch.a, True)))
    elif kind == "M":
        terms.append((env, _fc(ch.a, False)))
    else:
        terms.append((lambda u: env(u) / u, _fc(ch.a, False)))

    pts = _breakpoints(lo, hi, first, None)
    info["intervals"] = len(pts) - 1
    info["harmonics"] = max(len(c) for _, c in terms) - 1
    q = _Quad()
    for w, c in terms:
        # n = 0: QAGS on the smooth, non-negative envelope
        q0 = _Quad()
        for a, b in zip(pts[:-1], pts[1:], strict=True):
            q0.add(w, a, b, _ABS_FRACTION * w(a) * (b - a), limit=200)
        l1 = q0.total()  # = ∫ w ≥ |every harmonic|
        q.parts.append(c[0].real * l1)
        q.errors.append(abs(c[0].real) * q0.error())
        q.messages.extend(q0.messages)
        if l1 == 0.0:
            continue
        epsabs = _ABS_FRACTION * l1
        epsabs /= len(pts) - 1
        if scale is not None:
            epsabs = min(epsabs, 0.1 * _BUDGET * scale / (4 * len(c) * (len(pts) - 1)))
        for n in range(1, len(c)):
            # Σ_{±n} cₙ ∫ w e^{inεu} = 2 Re cₙ ∫ w cos(nεu) − 2 Im cₙ ∫ w sin(nεu)
            # QAWO on each sub-interval: one call over [lo, hi] can miss the
            # structure of w near lo (its error estimate is then unreliable).
            omega = n * ch.eps
            kw = {"wvar": omega, "limit": 200}
            for a, b in zip(pts[:-1], pts[1:], strict=True):
                # w ≥ 0 is non-increasing, so by the second mean-value theorem
                # |∫_a^b w cos(ωu) du|, |∫_a^b w sin(ωu) du| ≤ 2 w(a)/ω: skip
                # sub-intervals whose contribution is provably negligible (this
                # also avoids phases ωu beyond double precision far in the tail).
                bound = 4.0 * abs(c[n]) * w(a) / omega
                if bound <= 0.1 * epsabs:
                    q.parts.append(0.0)
                    q.errors.append(bound)
                    continue
                if c[n].real != 0.0:
                    q.add(w, a, b, epsabs, coef=2.0 * c[n].real, weight="cos", **kw)
                if c[n].imag != 0.0:
                    q.add(w, a, b, epsabs, coef=-2.0 * c[n].imag, weight="sin", **kw)
    return q


_fc = _fourier_coefficients
_WHAT = {"F32": "F0_eq32", "M": "integral_exp_theta", "lntau": "ln_tau_phi"}


def F0_eq32(params: Parameters) -> float:
    """F(0) in the WKB closed form of Eq. (32), as printed in the paper.

    F_WKB(0) = ∫_{−∞}^0 Φ(t') e^{ϑ(t')} dt', with Φ of Eq. (25) and ϑ of
    Eq. (33), time in units of τ and the prefactor c = 1.  This is Eq. (27)
    with the WKB resolvent (31) and the first term of (27) dropped; see
    :func:`F0_eq27` for the version that keeps it.

    Parameters
    ----------
    params : Parameters
        Model parameters; Q > 0 or an active dephasing channel is required.

    Returns
    -------
    float
        The integral, relative accuracy ≤ 1e-12 (see the module notes;
        when Φe^ϑ nearly averages out, rₑ + r₃ ≈ 0 with ε ≫ 1, the error is
        instead ≲ 1e-14 ∫e^ϑ).
        Exact special case: if Φ ≡ 1 (r₁ = r₃ = 0, or ε = 0 and r₃ = 0, or
        g = 0 and r₁ = 0) it equals 1/Q.

    Raises
    ------
    NoCutoffError
        If F is infinite (Q = 0 and no active dephasing channel).
    OverflowError
        If the cutoff is so weak (rate ≲ 1e-248) that F, though finite, is
        not representable.
    """
    require_cutoff(params)
    value, _ = _integrate(params, "F32")
    return float(value)


def F0_eq27(params: Parameters) -> float:
    """F(0) from Eq. (27) with the WKB resolvent (31), first term kept.

    Eq. (27) reads F = f + ∫ R f with the free term f = cΦ (c = 1).  At t = 0
    the first term is Φ(0) = 1 and the integral with R → R_WKB (Eq. 31) is
    Eq. (32), so this returns exactly ``1 + F0_eq32(params)``, as stated in
    ``docs/equations.md`` (the paper's (32) drops the 1).  The factor 1/(1 + Q)
    that Eq. (24) puts on f is *not* included, following that prescription.
    By the identity of :func:`integral_exp_theta` this equals (1 + Q)∫e^ϑ.

    Note: in the exactly solvable limit Φ ≡ 1 the solution of Eq. (24) is
    F = 1/Q; Eq. (32) reproduces it exactly while this form gives 1 + 1/Q
    (relative error Q).  Both agree to leading order in Q and λ.

    Parameters
    ----------
    params : Parameters
        Model parameters; Q > 0 or an active dephasing channel is required.

    Returns
    -------
    float
        1 + ∫_{−∞}^0 Φ(t') e^{ϑ(t')} dt'.

    Raises
    ------
    NoCutoffError
        If F is infinite.
    OverflowError
        If the cutoff rate is ≲ 1e-248 (see :func:`F0_eq32`).
    """
    return 1.0 + F0_eq32(params)


def integral_exp_theta(params: Parameters) -> float:
    """M = ∫_{−∞}^0 e^{ϑ(t)} dt with ϑ of Eq. (33).

    Since Φ = 1 + Q − λ₁ and dϑ/dt = λ₁, Eq. (32) equals (1 + Q) M − 1 and
    Eq. (27) with the first term kept equals (1 + Q) M.  Provided as an
    independent route to Eq. (32) (a positive, less oscillatory integrand).

    Parameters
    ----------
    params : Parameters
        Model parameters; Q > 0 or an active dephasing channel is required.

    Returns
    -------
    float
        M > 0.

    Raises
    ------
    NoCutoffError
        If M is infinite.
    OverflowError
        If the cutoff rate is ≲ 1e-248 (see :func:`F0_eq32`).
    """
    require_cutoff(params)
    value, _ = _integrate(params, "M")
    return float(value)


def R_wkb(t: npt.ArrayLike, t1: npt.ArrayLike, params: Parameters) -> FloatOrArray:
    """WKB resolvent of Eq. (31): R_WKB(t, t₁) = exp(−∫_{t₁}^{t} λ₁(s) ds).

    With ϑ(t) = −∫_t^0 λ₁ (Eq. 33) this is exp(ϑ(t₁) − ϑ(t)); it is
    evaluated with :func:`cooperon.model.lambda1_integral`, which avoids the
    cancellation in the difference of two ϑ values.

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
    value, _ = _integrate(params, "lntau")
    return float(value)
