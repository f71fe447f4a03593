"""Quadrature of the WKB integrals of Eqs. (27), (32), (34) (QUADPACK).

Time is in units of τ, c = 1.  With ϑ of Eq. (33) (:func:`cooperon.model.theta`)
and u = −t ≥ 0, :func:`wkb_integral` computes

* ``"F32"``: ∫_0^∞ Φ(u) e^{ϑ(−u)} du (Eq. 32);
* ``"M"``: ∫_0^∞ e^{ϑ(−u)} du (the consistent Eq. 27, see ``docs/closed_forms.md``);
* ``"lntau"``: ∫_1^∞ e^{ϑ₀(−η)} dη/η with ϑ₀ = ϑ at Q = 0 (Eq. 34).

The public functions are in :mod:`cooperon.closed_forms`.

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
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from scipy import integrate, optimize, special

from .model import (
    _one_minus_phi1_scalar,
    _one_minus_sinc_scalar,
    lambda_max,
)
from .parameters import Parameters

__all__ = ["wkb_integral", "cut_point"]

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

    def cut(self, lo: float, drop: float = _THETA_CUT) -> float:
        """u ≥ lo where ϑ(−u) = ϑ(−lo) − drop (ϑ is strictly decreasing).

        Raises OverflowError if that u exceeds _MAX_CUT (the cutoff rate is
        too small for the integral to be represented sensibly).
        """
        level = self.theta(lo) - drop
        lo_u = lo + drop / self.lam1_max  # ϑ(−u) ≥ ϑ(−lo) − λ₁max·(u − lo)
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


def wkb_integral(
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
        scale = wkb_integral(ch.params, "M")[0] if kind == "F32" else abs(value)
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


def cut_point(params: Parameters, drop: float) -> float:
    """The u = −t > 0 where ϑ(t) of Eq. (33) has fallen to −``drop``.

    ϑ is strictly decreasing towards the past when a cutoff exists, so this
    is the unique root (found in log u).  Raises OverflowError beyond
    |t| = 1e250.
    """
    return _Channels(params).cut(0.0, drop)


_fc = _fourier_coefficients
_WHAT = {"F32": "F0_eq32", "M": "F0_wkb_eq27", "lntau": "ln_tau_phi"}
