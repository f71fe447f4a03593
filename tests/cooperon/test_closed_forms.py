"""Tests of the WKB forms of cooperon.closed_forms: Eqs. (27), (31), (32), (34).

References used (none shares code with cooperon.closed_forms):

* exact: Φ ≡ 1 gives ∫_{−∞}^0 e^{Qt} dt = 1/Q;
* exact series at 40 digits (``_cooperon_reference``): Jacobi-Anger Bessel
  expansion of e^{a sin εu} times ₁F₁ (relaxation channel) or E₁ (Eq. 34);
* composite Gauss-Legendre on the vectorised model functions (numpy);
* mpmath tanh-sinh quadrature of ∫e^ϑ at 25 digits (the consistent Eq. 27);
* the identity Eq. (32) = (1 + Q) ∫e^ϑ − 1 (Φ = 1 + Q − λ₁, ϑ' = λ₁);
* the two internal strategies ("direct" QAGS vs "fourier" QAWO) on the
  same input.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from _cooperon_reference import (
    F32_reference,
    F32_reference_exact,
    M_quad_reference,
    M_reference,
    _series_ok,
    lntau_reference,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special

from cooperon._wkb_quadrature import wkb_integral
from cooperon.closed_forms import F0_eq32, F0_wkb_eq27, R_wkb, ln_tau_phi
from cooperon.model import Phi, theta
from cooperon.parameters import NoCutoffError, Parameters

pytestmark = pytest.mark.filterwarnings("error::scipy.integrate.IntegrationWarning")

EULER_GAMMA = float(np.euler_gamma)

# Cases spanning both strategies, both channels, long tails (rate 1e-6) and
# fast oscillation (ε = 100).  ids say what is special.
CASES = {
    "Q-r3-doc-example": dict(Dq2_tau=0.02, tau_over_tau3=0.1, gamma_tau=0.1),
    "r1-moderate": dict(tau_over_tau1=0.3, E_tau=0.5, Dq2_tau=0.01),
    "r1-tail1e6-eps100": dict(tau_over_tau1=1e-6, E_tau=100.0),
    "r1-eps1e-6": dict(tau_over_tau1=0.5, E_tau=1e-6),
    "r3-g1e-6": dict(tau_over_tau3=1.0, gamma_tau=1e-6),
    "r3-tail1e6": dict(tau_over_tau3=1e-6, gamma_tau=3.0),
    "both-fast-g": dict(tau_over_tau1=1e-3, E_tau=1.0, tau_over_tau3=1e-3, gamma_tau=100.0),
    "both-slow": dict(
        tau_over_tau1=0.2, E_tau=0.05, tau_over_tau3=0.3, gamma_tau=0.01, Dq2_tau=1e-4
    ),
    "both-fourier": dict(
        tau_over_tau1=0.02, E_tau=3.0, tau_over_tau3=0.05, gamma_tau=0.2, Dq2_tau=1e-3
    ),
    "Q-tail1e6-eps100": dict(tau_over_tau1=0.5, E_tau=100.0, Dq2_tau=1e-6, tau_over_tau3=0.0),
    "all-elastic-zero": dict(tau_over_tau1=0.6, tau_over_tau3=0.4, E_tau=2.0, gamma_tau=0.7),
}


def params(name: str) -> Parameters:
    return Parameters(**CASES[name])


# --------------------------------------------------------------------------
# no cutoff
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"tau_over_tau1": 0.5},  # ε = 0: no dephasing
        {"tau_over_tau3": 0.5, "E_tau": 3.0},  # g = 0
        {"tau_over_tau1": 0.5, "tau_over_tau3": 0.5, "E_tau": 0.0, "gamma_tau": 0.0},
    ],
)
def test_no_cutoff_raises(kw):
    p = Parameters(**kw)
    for f in (F0_eq32, F0_wkb_eq27, ln_tau_phi):
        with pytest.raises(NoCutoffError):
            f(p)


def test_ln_tau_phi_needs_a_dephasing_channel_even_with_Q():
    """Q does not enter Eq. (34): ∫_1^∞ dη/η diverges without dephasing."""
    with pytest.raises(NoCutoffError, match="Eq. 34"):
        ln_tau_phi(Parameters(Dq2_tau=0.5, tau_over_tau1=0.5))


# --------------------------------------------------------------------------
# exact values
# --------------------------------------------------------------------------


@pytest.mark.parametrize("Q", [1e-6, 1e-3, 0.02, 0.5, 3.0, 1e3])
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"tau_over_tau1": 0.7},  # ε = 0, r₃ = 0
        {"tau_over_tau1": 0.7, "gamma_tau": 5.0},  # ε = 0, r₃ = 0, g irrelevant
        {"tau_over_tau3": 0.7, "E_tau": 5.0},  # g = 0, r₁ = 0
    ],
)
def test_phi_identically_one_gives_one_over_Q(Q, kw):
    """Φ ≡ 1 and ϑ = Qt: Eq. (32) = (27) = ∫_{−∞}^0 e^{Qt} dt = 1/Q, the exact F(0).

    The quadrature budget is 1e-12; QUADPACK reaches ~1e-15 on an exponential.
    """
    p = Parameters(Dq2_tau=Q, **kw)
    assert F0_eq32(p) == pytest.approx(1.0 / Q, rel=1e-13)
    assert F0_wkb_eq27(p) == pytest.approx(1.0 / Q, rel=1e-13)


@pytest.mark.parametrize("name", list(CASES))
def test_F0_eq32_against_exact_series(name):
    """Eq. (32) vs the Bessel × ₁F₁ series at 40 digits (or mpmath quadrature at 30
    digits when r₁/ε or r₃/2g > 5): 1e-12 relative, the implementation's budget."""
    p = params(name)
    assert F0_eq32(p) == pytest.approx(F32_reference(p), rel=1e-12)


def test_F0_eq32_documented_example():
    """docs/equations.md: Q = 0.02, r₃ = g = 0.1, r₁ = 0 (reference value from the series)."""
    p = params("Q-r3-doc-example")
    assert F0_eq32(p) == pytest.approx(10.746470110902429, rel=1e-13)
    assert F0_wkb_eq27(p) == pytest.approx(11.746470110902429 / 1.02, rel=1e-13)


def test_F0_eq32_strong_cancellation():
    """rₑ = r₃ = 0, r₁ = 1, ε = 100: Φe^ϑ ≈ cos(100u)e^{−u} averages out.

    F ≈ 1.25e-4 while ∫|Φ|e^ϑ ≈ 0.64: the attainable relative accuracy is
    ~1e-16 · 0.64/1.25e-4 ≈ 5e-13, so the tolerance is 5e-12 here, and no
    IntegrationWarning may be raised (the module filters them into errors).
    """
    p = Parameters(tau_over_tau1=1.0, E_tau=100.0)
    assert F0_eq32(p) == pytest.approx(F32_reference_exact(p), rel=5e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_ln_tau_phi_against_exact_series(name):
    """Eq. (34) vs the Bessel × E₁ series at 40 digits (or mpmath quadrature): 1e-12."""
    p = params(name)
    if not (p.resonant_active or p.relaxation_active):
        pytest.skip("no dephasing channel")
    assert ln_tau_phi(p) == pytest.approx(lntau_reference(p), rel=1e-12)


def test_ln_tau_phi_independent_of_Q():
    p = params("both-slow")
    assert ln_tau_phi(p) == ln_tau_phi(p.replace(Dq2_tau=0.7))


# --------------------------------------------------------------------------
# independent quadratures
# --------------------------------------------------------------------------


def _gauss_legendre_F32(p: Parameters, cut: float) -> float:
    """Composite 24-point Gauss-Legendre on [0, cut] with the vectorised model.

    Panels are ≤ 1/8 of the shortest scale (1/ε, 1/(2g), 1/λ₁) near 0 and
    grow geometrically (×1.05) up to ≤ 1/8 period: the integrand is entire,
    so this converges to rounding level (~1e-15) for the cases used.
    """
    scales = [1.0]
    if p.E_tau > 0:
        scales.append(1.0 / p.E_tau)
    if p.gamma_tau > 0:
        scales.append(0.5 / p.gamma_tau)
    h0 = min(scales) / 8
    hmax = (2 * math.pi / p.E_tau) / 8 if p.E_tau > 0 else math.inf
    edges = [0.0]
    h = h0
    while edges[-1] < cut:
        edges.append(min(edges[-1] + h, cut))
        h = min(h * 1.05, hmax)
    edges = np.asarray(edges)
    x, w = np.polynomial.legendre.leggauss(24)
    a, b = edges[:-1, None], edges[1:, None]
    u = 0.5 * (b - a) * x + 0.5 * (a + b)
    f = np.asarray(Phi(u, p)) * np.exp(np.asarray(theta(-u, p)))
    return float(np.sum(0.5 * (b - a) * w * f))


@pytest.mark.parametrize("name", ["Q-r3-doc-example", "r1-moderate", "both-slow", "both-fourier"])
def test_F0_eq32_against_gauss_legendre(name):
    """Production quadrature vs composite Gauss-Legendre on the numpy model: 1e-12."""
    p = params(name)
    _, info = wkb_integral(p, "F32")
    ref = _gauss_legendre_F32(p, 1.2 * info["cut"])
    assert F0_eq32(p) == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize(
    "kw",
    [
        dict(tau_over_tau1=0.01, E_tau=2.0, Dq2_tau=1e-3),
        dict(tau_over_tau1=0.05, E_tau=10.0, tau_over_tau3=0.2, gamma_tau=0.3),
        dict(tau_over_tau1=1e-3, E_tau=0.3, tau_over_tau3=1e-3, gamma_tau=30.0, Dq2_tau=1e-4),
        dict(tau_over_tau1=0.3, E_tau=20.0),
    ],
)
def test_direct_and_fourier_strategies_agree(kw):
    """QAGS over periods vs Bessel series + QAWO: two quadratures, one answer (1e-12)."""
    p = Parameters(**kw)
    for kind in ("F32", "M", "lntau"):
        direct, info_d = wkb_integral(p, kind, strategy="direct")
        fourier, info_f = wkb_integral(p, kind, strategy="fourier")
        assert info_d["strategy"] == "direct" and info_f["strategy"] == "fourier"
        assert direct == pytest.approx(fourier, rel=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_identity_eq32_equals_one_plus_Q_times_M_minus_one(name):
    """Φ = 1 + Q − λ₁ and dϑ/dt = λ₁ give Eq. (32) = (1 + Q)∫e^ϑ − 1 exactly.

    Two different integrands; the subtraction costs ~ulp·M/F, ≤ 1e-12 here.
    """
    p = params(name)
    M = F0_wkb_eq27(p)
    assert F0_eq32(p) == pytest.approx((1 + p.Dq2_tau) * M - 1, rel=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_gauss_legendre_and_quadpack_agree(name):
    """The public (27), (32) (Gauss-Legendre with a periodic tail, QUADPACK only as a
    fallback) against QUADPACK itself: two quadratures, one answer (1e-12 each)."""
    p = params(name)
    assert F0_wkb_eq27(p) == pytest.approx(wkb_integral(p, "M")[0], rel=2e-12)
    scale = F0_wkb_eq27(p)  # (32) can be ≪ ∫|Φ|e^ϑ ≤ ∫e^ϑ: absolute 1e-14 of that
    assert F0_eq32(p) == pytest.approx(wkb_integral(p, "F32")[0], rel=2e-12, abs=1e-14 * scale)


#: cases the tanh-sinh reference cannot do: histories > 1e6 τ, or more than 400 periods
#: before the cut (each is covered by the exact series below)
NOT_FOR_QUADRATURE = {"r1-tail1e6-eps100", "r3-tail1e6", "both-fast-g", "both-fourier",
                      "Q-tail1e6-eps100"}  # fmt: skip


@pytest.mark.parametrize("name", [n for n in CASES if n not in NOT_FOR_QUADRATURE])
def test_F0_wkb_eq27_against_mpmath_quadrature(name):
    """The consistent Eq. (27) is ∫_{−∞}^0 e^ϑ: against mpmath tanh-sinh at 25 digits
    (cut where ϑ < −80, so the reference is good to ~1e-20): 1e-12, the budget."""
    p = params(name)
    assert p.dephasing_rate >= 1e-4
    assert F0_wkb_eq27(p) == pytest.approx(M_quad_reference(p), rel=1e-12)


def test_cases_excluded_from_quadrature_are_covered_by_the_series():
    """Each case the tanh-sinh reference cannot do is one the series can."""
    for name in NOT_FOR_QUADRATURE:
        assert _series_ok(params(name)), name


@pytest.mark.parametrize("name", [n for n in CASES if _series_ok(params(n))])
def test_F0_wkb_eq27_against_exact_series(name):
    """∫e^ϑ against the Bessel × ₁F₁ series of M at 40 digits: 1e-12 (the cases with
    r₁/ε or r₃/2g > 5, where the series needs too many terms, are the quadrature's)."""
    assert F0_wkb_eq27(params(name)) == pytest.approx(M_reference(params(name)), rel=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_consistent_eq27_is_first_term_plus_wkb_integral(name):
    """[Φ(0) + ∫R_WKB Φ]/(1+Q) (first term of (27) kept, forcing Φ/(1+Q)) = ∫e^ϑ.

    Φ(0) = 1 and ∫R_WKB(0,s)Φ(s)ds is Eq. (32): two different integrands, 1e-12.
    """
    p = params(name)
    assert (1.0 + F0_eq32(p)) / (1.0 + p.Dq2_tau) == pytest.approx(F0_wkb_eq27(p), rel=1e-12)


# --------------------------------------------------------------------------
# property tests
# --------------------------------------------------------------------------


@st.composite
def cutoff_parameters(draw):
    r1 = draw(st.floats(0.0, 1.0))
    r3 = draw(st.floats(0.0, 1.0 - r1))
    rate = st.one_of(st.just(0.0), st.floats(1e-3, 100.0))
    p = Parameters(
        tau_over_tau1=r1,
        tau_over_tau3=r3,
        E_tau=draw(rate),
        gamma_tau=draw(rate),
        Dq2_tau=draw(st.one_of(st.just(0.0), st.floats(1e-4, 10.0))),
    )
    # keep tails ≲ 10⁵ so a hypothesis run stays fast
    if p.dephasing_rate < 1e-4:
        p = p.replace(Dq2_tau=1e-4 + p.Dq2_tau)
    return p


@settings(max_examples=25, deadline=None)
@given(cutoff_parameters())
def test_property_bounds(p):
    """1/(Q + 2r₁ + r₃) ≤ ∫e^ϑ ≤ 1/Q (since Q ≤ λ₁ ≤ Q + 2r₁ + r₃), and
    Eq. (32) = (1 + Q)∫e^ϑ − 1 (identity; 1e-11 covers both quadratures)."""
    M = F0_wkb_eq27(p)
    lam_max = p.Dq2_tau + 2 * p.tau_over_tau1 + p.tau_over_tau3
    assert 1 / lam_max * (1 - 1e-12) <= M
    if p.Dq2_tau > 0:
        assert M <= 1 / p.Dq2_tau * (1 + 1e-12)
    assert F0_eq32(p) + 1 == pytest.approx((1 + p.Dq2_tau) * M, rel=1e-11, abs=1e-14)


# --------------------------------------------------------------------------
# Eq. (31)
# --------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(cutoff_parameters(), st.floats(-1e3, 0.0), st.floats(-1e3, 0.0), st.floats(0.0, 1.0))
def test_R_wkb_properties(p, a, b, frac):
    """0 < R ≤ 1, R(t,t) = 1, R(0,t₁) = e^{ϑ(t₁)}, R(t,s)R(s,t₁) = R(t,t₁) (1e-12)."""
    t1, t = min(a, b), max(a, b)
    s = t1 + frac * (t - t1)
    s = min(max(s, t1), t)
    r = R_wkb(t, t1, p)
    assert 0.0 <= r <= 1.0
    assert R_wkb(t, t, p) == 1.0
    assert R_wkb(0.0, t1, p) == pytest.approx(math.exp(theta(t1, p)), rel=1e-12, abs=1e-300)
    assert R_wkb(t, s, p) * R_wkb(s, t1, p) == pytest.approx(r, rel=1e-12, abs=1e-300)


def test_R_wkb_vectorised_and_validated():
    p = params("both-slow")
    t1 = np.linspace(-10, -1, 5)
    out = R_wkb(-0.5, t1, p)
    assert out.shape == (5,) and np.all(np.diff(out) > 0)
    with pytest.raises(ValueError):
        R_wkb(-1.0, -0.5, p)  # t₁ > t
    with pytest.raises(ValueError):
        R_wkb(0.5, -1.0, p)  # t > 0


# --------------------------------------------------------------------------
# Eq. (35) asymptotics
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, alpha, n, tol",
    [
        # phase wandering: Γ₁ = r₁ε²η³/6 (1 − (εη)²/20 …); at η* = α^{−1/3} ≈ 2.3e5·…,
        # εη* ≈ 3e-3 → relative correction ~ (εη*)²/20 ≈ 5e-7: tolerance 1e-5.
        (dict(tau_over_tau1=0.5, E_tau=1e-8), 0.5 * 1e-16 / 6, 3, 1e-5),
        # slow switching: Γ₃ = r₃gη² (1 − (2/3)gη …); gη* = √(g/r₃) = 1e-6: tolerance 1e-5.
        (dict(tau_over_tau3=1.0, gamma_tau=1e-12), 1e-12, 2, 1e-5),
        # phase jumps: Γ₁ = r₁η − r₁ sin(εη)/ε ≈ r₁η; corrections α + r₁/ε ~ 1e-6.
        (dict(tau_over_tau1=1e-6, E_tau=100.0), 1e-6, 1, 1e-5),
    ],
)
def test_asymptotics_eq35(kw, alpha, n, tol):
    """Eq. (35): for Γ = αηⁿ, α ≪ 1, ln(τ_φ/τ) ≈ ln α^{−1/n}.

    Exactly, ∫_1^∞ e^{−αηⁿ} dη/η = E₁(α)/n = −(ln α)/n − γ_E/n + O(α): the
    paper's (35) keeps the logarithm; the constant is −γ_E/n.
    """
    p = Parameters(**kw)
    value = ln_tau_phi(p)
    leading = -math.log(alpha) / n
    assert value - leading == pytest.approx(-EULER_GAMMA / n, abs=tol)
    assert value == pytest.approx(special.exp1(alpha) / n, abs=tol)


def test_asymptotic_constant_converges():
    """ln τ_φ − ln α^{−1/3} → −γ_E/3 as ε → 0, with error shrinking like ε^{2/3}."""
    errs = []
    for eps in (1e-3, 1e-5, 1e-7):
        alpha = 0.5 * eps**2 / 6
        value = ln_tau_phi(Parameters(tau_over_tau1=0.5, E_tau=eps))
        errs.append(abs(value + math.log(alpha) / 3 + EULER_GAMMA / 3))
    # ε^{2/3} drops by 100^{1/3}·… ≈ 21 per step; require a factor of 10
    assert errs[1] < errs[0] / 10 and errs[2] < errs[1] / 10


# --------------------------------------------------------------------------
# cost and warnings
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        dict(tau_over_tau1=1e-6, E_tau=100.0),  # ~8e8 periods in the tail
        dict(Dq2_tau=1e-6, tau_over_tau1=0.01, E_tau=100.0),
        dict(tau_over_tau3=1e-6, gamma_tau=100.0, tau_over_tau1=1e-6, E_tau=50.0),
        dict(tau_over_tau3=1.0, gamma_tau=1e-9),  # Gaussian decay e^{−g u²}
        dict(tau_over_tau1=1.0, E_tau=1e-3),  # a = r₁/ε = 1000
    ],
)
def test_extreme_parameters_fast_and_quiet(kw):
    """Long tails (rate 1e-6), ε = 100, tiny g, large r₁/ε: < 1 s, no warnings, finite."""
    p = Parameters(**kw)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            values = [F0_eq32(p), F0_wkb_eq27(p), ln_tau_phi(p)]
    assert time.perf_counter() - start < 1.0
    assert all(math.isfinite(v) for v in values)


def test_long_tail_scales_like_inverse_rate():
    """r₁ = 1e-6, ε = 100: F ≈ 1/r₁ to O(r₁/ε²)·… ; compare with the exact series."""
    p = Parameters(tau_over_tau1=1e-6, E_tau=100.0)
    assert F0_eq32(p) == pytest.approx(1e6, rel=2e-6)
    assert F0_eq32(p) == pytest.approx(F32_reference_exact(p), rel=1e-12)


def test_scipy_quad_cross_check_simple():
    """Plain scipy.quad on (−∞, 0] for a short-tailed case agrees to 1e-12."""
    p = Parameters(tau_over_tau1=0.4, tau_over_tau3=0.3, E_tau=0.7, gamma_tau=0.4, Dq2_tau=0.2)
    ref = integrate.quad(
        lambda t: Phi(t, p) * math.exp(theta(t, p)), -np.inf, 0.0, epsabs=0, epsrel=1e-13
    )[0]
    assert F0_eq32(p) == pytest.approx(ref, rel=1e-12)


def test_astronomically_weak_cutoff():
    """r₁ = 1e-200, ε = 1: F = (1 + Q)M − 1 with M = Σₙ Iₙ(a)(−i)ⁿ/(r₁ − inε)
    = 1/r₁ (1 + O(a²)), a = 1e-200, so F = 1e200 to double precision; and
    Q = 1e-300 (F = 1e300, cut at |t| ~ 5e301) is refused, not returned."""
    assert F0_eq32(Parameters(tau_over_tau1=1e-200, E_tau=1.0)) == pytest.approx(1e200, rel=1e-12)
    with pytest.raises(OverflowError, match="not representable"):
        F0_eq32(Parameters(Dq2_tau=1e-300))


def test_closure_refuses_an_unreachable_quadrature_before_allocating_it():
    # rate 1e-7 with ε = 10: the local closure's panels would be ~6e8 (one per half period
    # over a history of 4e8 τ); the refusal must come before the arrays are built, so it
    # is run under a 2 GiB address-space limit, as a user's process with little memory
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from cooperon import Parameters\n"
        "from cooperon.closed_forms import F0_local_closure\n"
        "t = 1e-7 / 3\n"
        "p = Parameters(tau_over_tau1=t, tau_over_tau3=t, E_tau=10.0, gamma_tau=1e-7,"
        " Dq2_tau=t)\n"
        "try:\n"
        "    F0_local_closure(p)\n"
        "except ArithmeticError as exc:\n"
        "    print('refused:', exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "refused:" in out.stdout and "points" in out.stdout, out.stdout
