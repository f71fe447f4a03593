"""Independent high-precision references (mpmath) for the WKB closed forms.

They share no code with :mod:`cooperon.closed_forms`: they use the exact expansions

* e^{a sin x} = Σₙ Iₙ(a) (−i)ⁿ e^{inx}  (Jacobi-Anger, a = r₁/ε),
* ∫_0^∞ exp(−s u + c (1 − e^{−2gu})) du = ₁F₁(1; 1 + s/(2g); c)/s   (c = r₃/(2g)),
  from z = e^{−2gu} and Euler's integral for ₁F₁,
* ∫_1^∞ e^{−s η}/η dη = E₁(s) and e^{−c e^{−2gη}} = Σ_m (−c)^m e^{−2gmη}/m!,

so M = ∫_{−∞}^0 e^{ϑ} dt (Eq. 33), Eq. (32) = (1 + Q) M − 1 and Eq. (34) are
sums of special functions evaluated at 40 significant digits.

The series need many terms when a = r₁/ε or c = r₃/(2g) is large; then
(:func:`F32_reference`, :func:`lntau_reference` with ``method="auto"``) the
integrals are done instead by mpmath's tanh-sinh quadrature at 30 digits on
breakpoints geometric in u, cut where ϑ < −80 (the integrand is then smooth:
large a or c means few oscillations before the cut).
"""

from __future__ import annotations

import mpmath as mp

from cooperon.parameters import Parameters


def _channels(p: Parameters, with_Q: bool):
    Q = mp.mpf(p.Dq2_tau) if with_Q else mp.mpf(0)
    r1, r3 = mp.mpf(p.tau_over_tau1), mp.mpf(p.tau_over_tau3)
    eps, g = mp.mpf(p.E_tau), mp.mpf(p.gamma_tau)
    osc = r1 > 0 and eps > 0
    relax = r3 > 0 and g > 0
    s0 = Q + (r1 if eps > 0 else 0) + (r3 if g > 0 else 0)
    a = r1 / eps if osc else mp.mpf(0)
    c = r3 / (2 * g) if relax else mp.mpf(0)
    return s0, a, c, eps, g, osc, relax


def _bessel_coefficients(a, osc):
    """[(n, cₙ)] for e^{a sin x}, truncated where |Iₙ(a)| < 1e-25 I₀(a)."""
    if not osc:
        return [(0, mp.mpf(1))]
    out = []
    i0 = mp.besseli(0, a)
    n = 0
    while True:
        i_n = mp.besseli(n, a)
        if n > 0 and i_n < mp.mpf(10) ** -25 * i0:
            break
        cn = i_n * (-1j) ** n
        out.append((n, cn))
        if n > 0:
            out.append((-n, mp.conj(cn)))
        n += 1
    return out


def _M_reference_mp(p: Parameters, dps: int):
    with mp.workdps(dps):
        s0, a, c, eps, g, osc, relax = _channels(p, with_Q=True)
        total = mp.mpc(0)
        for n, cn in _bessel_coefficients(a, osc):
            s = s0 - 1j * n * eps
            total += cn * (mp.hyp1f1(1, 1 + s / (2 * g), c) / s if relax else 1 / s)
        return total.real


def M_reference(p: Parameters, dps: int = 40) -> float:
    """∫_{−∞}^0 e^{ϑ(t)} dt, ϑ of Eq. (33), via the Bessel × ₁F₁ series."""
    return float(_M_reference_mp(p, dps))


def _series_ok(p: Parameters) -> bool:
    a = p.tau_over_tau1 / p.E_tau if p.E_tau > 0 else 0.0
    c = p.tau_over_tau3 / (2 * p.gamma_tau) if p.gamma_tau > 0 else 0.0
    return a <= 5.0 and c <= 5.0


def _theta_mp(u, p: Parameters, with_Q: bool):
    """ϑ(−u) of Eq. (33), u ≥ 0, at the current mpmath precision."""
    Q = mp.mpf(p.Dq2_tau) if with_Q else 0
    r1, r3 = mp.mpf(p.tau_over_tau1), mp.mpf(p.tau_over_tau3)
    e, g = mp.mpf(p.E_tau), mp.mpf(p.gamma_tau)
    out = -Q * u
    if e > 0:
        out -= r1 * (u - mp.sin(e * u) / e)
    if g > 0:
        out -= r3 * (u - (1 - mp.exp(-2 * g * u)) / (2 * g))
    return out


def _quad_reference(p: Parameters, kind: str, dps: int = 25) -> float:
    """mpmath tanh-sinh quadrature of Eq. (32) ("F32"), ∫e^ϑ ("M") or Eq. (34) ("lntau")."""
    with mp.workdps(dps):
        with_Q = kind in ("F32", "M")
        lo = mp.mpf(1) if kind == "lntau" else mp.mpf(0)
        level = _theta_mp(lo, p, with_Q) - 80
        hi = lo + 1
        while _theta_mp(hi, p, with_Q) > level:
            hi *= 2
        r1, r3 = mp.mpf(p.tau_over_tau1), mp.mpf(p.tau_over_tau3)
        e, g = mp.mpf(p.E_tau), mp.mpf(p.gamma_tau)
        if kind == "F32":

            def f(u):
                phi = 1 - r1 - r3 + r1 * mp.cos(e * u) + r3 * mp.exp(-2 * g * u)
                return phi * mp.exp(_theta_mp(u, p, True))

        elif kind == "M":

            def f(u):
                return mp.exp(_theta_mp(u, p, True))

        else:

            def f(u):
                return mp.exp(_theta_mp(u, p, False)) / u

        # geometric breakpoints down to the shortest scale near lo, and one per period
        scale = mp.mpf(0.5) / (1 + e + 2 * g)
        kmax = int(mp.ceil(mp.log(hi / scale, 2))) + 1
        pts = [lo] + [lo + hi * mp.mpf(2) ** (-k) for k in range(kmax, -1, -1)]
        if e > 0 and r1 > 0:
            period = 2 * mp.pi / e
            if hi / period > 400:
                raise ValueError("more than 400 periods before the cut: use the series")
            pts += [period * k for k in range(1, int(hi / period) + 1)]
            pts = sorted(set(pts))
        return float(mp.quad(f, pts))


def M_quad_reference(p: Parameters) -> float:
    """∫_{−∞}^0 e^{ϑ(t)} dt by mpmath quadrature at 25 digits (independent of the series).

    Raises ValueError if the integrand has more than 400 periods before ϑ = −80.
    """
    return _quad_reference(p, "M")


def F32_reference(p: Parameters, method: str = "auto") -> float:
    """Eq. (32): exact series ((1 + Q) M − 1) or, for large a or c, mpmath quadrature."""
    if method == "quad" or (method == "auto" and not _series_ok(p)):
        return _quad_reference(p, "F32")
    return F32_reference_exact(p)


def lntau_reference(p: Parameters, method: str = "auto") -> float:
    """Eq. (34): exact series or, for large a or c, mpmath quadrature."""
    if method == "quad" or (method == "auto" and not _series_ok(p)):
        return _quad_reference(p, "lntau")
    return lntau_reference_series(p)


def F32_reference_exact(p: Parameters, dps: int = 30) -> float:
    """Eq. (32) = (1 + Q) M − 1 from the series for M (exact identity)."""
    with mp.workdps(dps):
        return float((1 + mp.mpf(p.Dq2_tau)) * _M_reference_mp(p, dps) - 1)


def lntau_reference_series(p: Parameters, dps: int = 30) -> float:
    """Eq. (34) via Bessel × E₁ double series."""
    with mp.workdps(dps):
        s0, a, c, eps, g, osc, relax = _channels(p, with_Q=False)
        total = mp.mpc(0)
        coeffs = _bessel_coefficients(a, osc)
        if not relax:
            for n, cn in coeffs:
                total += cn * mp.e1(s0 - 1j * n * eps)
            return float(total.real)
        for n, cn in coeffs:
            s = s0 - 1j * n * eps
            inner = mp.mpc(0)
            m = 0
            term_scale = mp.mpf(1)
            while True:
                term = term_scale * mp.e1(s + 2 * g * m)
                inner += term
                if m > 2 * c + 10 and abs(term) < mp.mpf(10) ** (-dps) * abs(inner):
                    break
                m += 1
                term_scale *= -c / m
            total += cn * inner
        return float((mp.exp(c) * total).real)
