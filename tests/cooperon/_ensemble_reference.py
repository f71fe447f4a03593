"""Independent references for tests/cooperon/test_ensembles.py.

Plain adaptive QUADPACK (scipy.integrate.quad) over the distributions of
Eqs. (36), (37), (54), with the one-defect formulas written out here from
EQUATIONS.md (checked against Parameters.from_physical in the tests), and no
code shared with cooperon.ensembles:

* non-oscillatory integrands: QAGS on sub-intervals;
* the resonant channel at small phase: QAGS on sub-intervals of phase ≤ π;
* the resonant channel at large s: λ̄₁ = r̄₁ − ∫ f cos(κEs) dE with the
  Fourier integral by QAWO (``weight="cos"``: Chebyshev moments, whose cost
  does not grow with the frequency), the edge singularity of Eq. (37) taken
  out on [Λ₀, Λ₀ + δ] with E = Λ₀ + v².

The energy range is cut at Λ₀ + 60T (cooperon.ensembles cuts at 46T).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import constants, integrate, special

K2R = constants.k / constants.hbar  # k_B/ħ, s⁻¹K⁻¹
CUT = 60.0
QUAD = {"epsabs": 0.0, "epsrel": 1e-13, "limit": 5000}


def one_defect(E, Lam, T, chi, tau, tau_i, k2r=K2R):
    """r₁, r₃, ε, g of one TLS: Eqs. (7), (15), (21), (A5)-(A6) at ε_e = 0."""
    x = E / (2.0 * T)
    G = 1.0 / math.cosh(x) ** 2 if x < 300 else 4.0 * math.exp(-2.0 * x)
    ratio = tau / tau_i
    r1 = ratio * (Lam / (2.0 * E)) ** 2 * G
    r3 = ratio * (E * E - Lam * Lam) / (2.0 * E) ** 2 * G
    gamma = chi * Lam * Lam / (E * math.tanh(x))
    return r1, r3, E * k2r * tau, gamma * k2r * tau


def _quad(f, a, b, pieces=1, **kw):
    edges = np.linspace(a, b, pieces + 1)
    opts = {**QUAD, **kw}
    return sum(
        integrate.quad(f, lo, hi, **opts)[0] for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    )


class Tunneling:
    """Eq. (37) by direct quadrature."""

    def __init__(self, T, Lambda0, E_star, chi, tau, tau_i, energy_to_rate=K2R):
        self.T, self.L0, self.Es, self.chi, self.tau, self.ti = T, Lambda0, E_star, chi, tau, tau_i
        self.k2r = energy_to_rate
        self.kappa = energy_to_rate * tau
        self.E_hi = min(E_star, Lambda0 + CUT * T)
        self.U = math.acosh(self.E_hi / Lambda0)

    def _rates(self, E):
        return one_defect(E, self.L0, self.T, self.chi, self.tau, self.ti, self.k2r)

    def _measure(self, u):
        # (1/E*) E/√(E² − Λ₀²) dE = (Λ₀/E*) cosh u du
        return self.L0 / self.Es * math.cosh(u)

    def relaxation(self, s, gamma=False):
        def f(u):
            E = self.L0 * math.cosh(u)
            _, r3, _, g = self._rates(E)
            y = 2.0 * g * s
            if gamma:  # Γ₃ = r₃ [η − (1 − e^{−2gη})/(2g)]
                # η[1 − (1 − e^{−y})/y], series below y = 0.1 (next term < 1e-19)
                if y > 0.1:
                    val = s - (-math.expm1(-y)) / (2.0 * g)
                else:
                    val = (
                        s
                        * y
                        * (
                            1 / 2
                            - y / 6
                            + y**2 / 24
                            - y**3 / 120
                            + y**4 / 720
                            - y**5 / 5040
                            + y**6 / 40320
                        )
                    )
            else:
                val = -math.expm1(-y)
            return self._measure(u) * r3 * val

        return _quad(f, 0.0, self.U, pieces=8)

    def r1_bar(self):
        def f(u):
            return self._measure(u) * self._rates(self.L0 * math.cosh(u))[0]

        return _quad(f, 0.0, self.U, pieces=8)

    def _density(self, E):
        """f(E) = P r₁ on the real axis (1/E* · E/√(E² − Λ₀²) · r₁)."""
        return E / (self.Es * math.sqrt((E - self.L0) * (E + self.L0))) * self._rates(E)[0]

    def resonant_small(self, s, gamma=False):
        """Phase-resolving QAGS in u (phase κE s per piece ≤ π)."""
        pieces = max(8, int(self.kappa * self.E_hi * s / math.pi) + 1)
        edges_E = np.linspace(self.L0, self.E_hi, pieces + 1)
        edges = np.arccosh(np.clip(edges_E / self.L0, 1.0, None))

        def f(u):
            E = self.L0 * math.cosh(u)
            r1, _, eps, _ = self._rates(E)
            if gamma:
                x = eps * s
                # η[1 − sin(x)/x], series below x = 0.1 (next term < 1e-18)
                if x > 0.1:
                    val = s - math.sin(x) / eps
                else:
                    val = s * x * x * (1 / 6 - x * x / 120 + x**4 / 5040 - x**6 / 362880)
            else:
                val = 2.0 * math.sin(0.5 * eps * s) ** 2
            return self._measure(u) * r1 * val

        return sum(
            integrate.quad(f, lo, hi, **QUAD)[0]
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        )

    def resonant_large(self, s, gamma=False):
        """r̄₁ − ∫ f cos(κEs) (or η r̄₁ − ∫ f sin(κEη)/(κE)) with QAWO."""
        omega = self.kappa * s
        delta = min(20.0 / omega, 0.1 * (self.E_hi - self.L0))
        weight = "sin" if gamma else "cos"

        def g(E):
            val = self._density(E)
            return val / (self.kappa * E) if gamma else val

        def edge(v):
            E = self.L0 + v * v
            ph = math.sin(omega * E) if gamma else math.cos(omega * E)
            # f(E) dE = [E/(E* √(E + Λ₀) v)] r₁ 2v dv
            val = 2.0 * E / (self.Es * math.sqrt(E + self.L0)) * self._rates(E)[0]
            return (val / (self.kappa * E) if gamma else val) * ph

        part = _quad(edge, 0.0, math.sqrt(delta), pieces=max(4, int(omega * delta)))
        part += integrate.quad(
            g, self.L0 + delta, self.E_hi, weight=weight, wvar=omega, limit=5000, epsabs=1e-30
        )[0]
        return (s if gamma else 1.0) * self.r1_bar() - part

    def lam(self, s, channel="total"):
        out = 0.0
        if channel in ("total", "relaxation"):
            out += self.relaxation(s)
        if channel in ("total", "resonant"):
            small = self.kappa * self.E_hi * s < 3e3
            out += self.resonant_small(s) if small else self.resonant_large(s)
        return out

    def Gamma(self, eta, channel="total"):
        out = 0.0
        if channel in ("total", "relaxation"):
            out += self.relaxation(eta, gamma=True)
        if channel in ("total", "resonant"):
            small = self.kappa * self.E_hi * eta < 3e3
            if small:
                out += self.resonant_small(eta, gamma=True)
            else:
                out += self.resonant_large(eta, gamma=True)
        return out


class Glass:
    """Eq. (36) by direct quadrature (in E and ln p, and p with QAWS near p = 1)."""

    def __init__(self, T, E_star, p_min, chi, tau, tau_i):
        self.T, self.Es, self.pm, self.chi, self.tau, self.ti = T, E_star, p_min, chi, tau, tau_i
        self.L = -math.log(p_min)
        self.kappa = K2R * tau
        self.E_hi = min(E_star, CUT * T)

    def _p_integral(self, h):
        """∫ dp h(p)/(p√(1−p)) over [p_min, 1] (QAGS in ln p, then QAWS)."""
        q0 = math.log(0.5)
        a = _quad(lambda q: h(math.exp(q)) / math.sqrt(-math.expm1(q)), math.log(self.pm), q0, 6)
        b = integrate.quad(
            lambda p: h(p) / p, 0.5, 1.0, weight="alg", wvar=(0.0, -0.5), epsrel=1e-13, limit=500
        )[0]
        return a + b

    def relaxation(self, s):
        def inner(E):
            def h(p):
                _, r3, _, g = one_defect(E, E * math.sqrt(p), self.T, self.chi, self.tau, self.ti)
                return r3 * -math.expm1(-2.0 * g * s)

            return self._p_integral(h)

        edges = np.concatenate(
            [np.linspace(0.0, 2 * self.T, 5), np.geomspace(2 * self.T, self.E_hi, 8)[1:]]
        )
        opts = {"epsabs": 0.0, "epsrel": 1e-12, "limit": 200}
        tot = sum(
            integrate.quad(inner, lo, hi, **opts)[0]
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        )
        return tot / (self.Es * self.L)

    def _f(self, E):
        # ∫ dp p/(p√(1−p)) = 2√(1 − p_min); r₁ = (τ/τᵢ)(p/4) G
        E = max(E, 1e-150)  # QAWO samples the end point E = 0 (a regular point)
        r1_unit = one_defect(E, E, self.T, self.chi, self.tau, self.ti)[0]  # p = 1
        return 2.0 * math.sqrt(1.0 - self.pm) / (self.Es * self.L) * r1_unit

    def resonant(self, s):
        omega = self.kappa * s
        r1 = _quad(self._f, 0.0, self.E_hi, pieces=8)
        if omega * self.E_hi < 3e3:
            pieces = max(8, int(omega * self.E_hi / math.pi) + 1)
            return _quad(
                lambda E: self._f(E) * 2.0 * math.sin(0.5 * omega * E) ** 2, 0.0, self.E_hi, pieces
            )
        c = integrate.quad(
            self._f, 0.0, self.E_hi, weight="cos", wvar=omega, limit=5000, epsabs=1e-30
        )[0]
        return r1 - c

    def lam(self, s, channel="total"):
        out = 0.0
        if channel in ("total", "relaxation"):
            out += self.relaxation(s)
        if channel in ("total", "resonant"):
            out += self.resonant(s)
        return out


class Gaussian:
    """Eq. (54): Λ = (ħω₀/π) e^{−λ}, λ Gaussian on λ ≥ 0, Eq. (37) at each Λ."""

    def __init__(self, T, Lambda0, E_star, chi, tau, tau_i, sigma, omega0=1e14):
        self.T, self.L0, self.Es, self.chi, self.tau, self.ti = T, Lambda0, E_star, chi, tau, tau_i
        self.sig = sigma
        self.Lmax = omega0 / (math.pi * K2R)
        self.lam0 = math.log(self.Lmax / Lambda0)
        self.N = 1.0 / (
            sigma * math.sqrt(math.pi / 2) * special.erfc(-self.lam0 / (sigma * math.sqrt(2)))
        )
        self.kappa = K2R * tau
        self.E_hi = min(E_star, CUT * T)
        self.lam_hi = self.lam0 + 10.0 * sigma

    def P(self, lam):
        return self.N * math.exp(-0.5 * ((lam - self.lam0) / self.sig) ** 2)

    def m1(self, E):
        """Resonant density at E: ∫ dλ P(λ) (1/E*) E/√(E² − Λ²) r₁(E, Λ) over Λ ≤ E (QAWS)."""
        lo = self.Lmax * math.exp(-self.lam_hi)
        if E <= lo:
            return 0.0

        def h(Lam):
            lam = math.log(self.Lmax / Lam)
            r1 = one_defect(E, Lam, self.T, self.chi, self.tau, self.ti)[0]
            return self.P(lam) / Lam * E / (self.Es * math.sqrt(E + Lam)) * r1

        # split in ln Λ for the Gaussian, QAWS with (E − Λ)^{−1/2} on the last piece
        top = 0.5 * E if E > 2 * lo else lo + 0.5 * (E - lo)
        edges = np.geomspace(lo, top, 12)
        tot = sum(
            integrate.quad(
                lambda L: h(L) / math.sqrt(E - L), a, b, epsrel=1e-13, epsabs=0.0, limit=200
            )[0]
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        )
        tot += integrate.quad(h, top, E, weight="alg", wvar=(0.0, -0.5), epsrel=1e-13, limit=200)[0]
        return tot

    def resonant(self, s):
        lo = self.Lmax * math.exp(-self.lam_hi)
        omega = self.kappa * s
        edges = np.concatenate(
            [np.geomspace(lo, 0.5 * self.T, 16), np.linspace(0.5 * self.T, self.E_hi, 24)[1:]]
        )
        opts = {"epsabs": 0.0, "epsrel": 1e-12, "limit": 400}
        if omega * self.E_hi < 2e2:
            return sum(
                integrate.quad(
                    lambda E: self.m1(E) * 2.0 * math.sin(0.5 * omega * E) ** 2, a, b, **opts
                )[0]
                for a, b in zip(edges[:-1], edges[1:], strict=True)
            )
        r1 = sum(
            integrate.quad(self.m1, a, b, **opts)[0]
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        )
        c = integrate.quad(
            self.m1, lo, self.E_hi, weight="cos", wvar=omega, limit=2000, epsabs=1e-30
        )[0]
        return r1 - c

    def relaxation(self, s):
        """∫ dλ P(λ) × (relaxation part of Eq. 37 at Λ(λ)), nested QAGS."""
        lo = max(0.0, math.log(self.Lmax / self.E_hi))

        def outer(lam):
            Lam = self.Lmax * math.exp(-lam)
            tm = Tunneling(self.T, Lam, self.Es, self.chi, self.tau, self.ti)
            return self.P(lam) * tm.relaxation(s)

        edges = np.linspace(lo, self.lam_hi, 24)
        opts = {"epsabs": 0.0, "epsrel": 1e-11, "limit": 100}
        return sum(
            integrate.quad(outer, a, b, **opts)[0]
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        )
