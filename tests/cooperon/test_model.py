"""Tests of cooperon.model: Φ (Eq. 25), λ, λ₁, ϑ (Eq. 33), λ_max."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from cooperon.model import Phi, lam, lam1, lambda1_integral, lambda_max, theta
from cooperon.parameters import Parameters

EPS = np.finfo(float).eps


@st.composite
def parameter_sets(draw, max_rate=100.0):
    r1 = draw(st.floats(0.0, 1.0))
    r3 = draw(st.floats(0.0, 1.0 - r1))
    rate = st.one_of(st.just(0.0), st.floats(1e-9, max_rate))
    return Parameters(
        tau_over_tau1=r1,
        tau_over_tau3=r3,
        E_tau=draw(rate),
        gamma_tau=draw(rate),
        Dq2_tau=draw(st.floats(0.0, 10.0)),
    )


times = st.floats(-1e4, 0.0)
prop = settings(max_examples=60, deadline=None)


# --------------------------------------------------------------------------
# Φ, λ, λ₁
# --------------------------------------------------------------------------


@prop
@given(parameter_sets(), st.floats(-1e4, 1e4))
def test_phi_properties(p, s):
    """Φ(0) = 1, |Φ| ≤ 1, Φ even (Eq. 25; rounding: three terms of size ≤ 1)."""
    assert Phi(0.0, p) == pytest.approx(1.0, abs=4 * EPS)
    assert abs(Phi(s, p)) <= 1.0 + 4 * EPS
    assert Phi(s, p) == Phi(-s, p)


@prop
@given(parameter_sets(), st.floats(-1e4, 1e4))
def test_lambda_properties(p, s):
    """λ = 1 − Φ ≥ 0 exactly, ≤ λ_max, and λ₁ = λ + Q."""
    value = lam(s, p)
    assert value >= 0.0
    assert value <= lambda_max(p) * (1 + 4 * EPS)
    assert value == pytest.approx(1.0 - Phi(s, p), abs=8 * EPS)
    assert lam1(s, p) == value + p.Dq2_tau
    assert lam(-s, p) == value


def test_lambda_small_argument_keeps_relative_precision():
    """λ(s) for ε s = 1e-9: 2 r₁ sin²(εs/2) = r₁ (εs)²/2 (1 − (εs)²/12) exactly to 1e-18."""
    p = Parameters(tau_over_tau1=0.5, E_tau=1e-9)
    assert lam(1.0, p) == pytest.approx(0.25e-18, rel=1e-15)
    q = Parameters(tau_over_tau3=0.5, gamma_tau=1e-12)
    # r₃(1 − e^{−2gs}) = r₃ (2gs − 2g²s² …) = 1e-12 to relative 1e-12
    assert lam(1.0, q) == pytest.approx(1e-12, rel=2e-12)


def test_vectorisation_and_scalar_output():
    p = Parameters(tau_over_tau1=0.3, tau_over_tau3=0.2, E_tau=2.0, gamma_tau=0.5, Dq2_tau=0.1)
    s = np.linspace(-3, 3, 12).reshape(3, 4)
    for f in (Phi, lam, lam1):
        out = f(s, p)
        assert isinstance(out, np.ndarray) and out.shape == (3, 4)
        assert isinstance(f(0.5, p), float)
        np.testing.assert_array_equal(out, np.vectorize(lambda x, f=f: f(x, p))(s))
    t = -np.abs(s)
    assert theta(t, p).shape == (3, 4)
    assert isinstance(theta(-1.0, p), float)


def test_type_checks():
    with pytest.raises(TypeError):
        Phi(0.0, {"E_tau": 1.0})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        Phi(math.nan, Parameters())


# --------------------------------------------------------------------------
# λ_max
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, expected",
    [
        ({}, 0.0),
        ({"tau_over_tau1": 0.3}, 0.0),  # ε = 0: cos term constant
        ({"tau_over_tau1": 0.3, "E_tau": 2.0}, 0.6),
        ({"tau_over_tau3": 0.3}, 0.0),  # g = 0
        ({"tau_over_tau3": 0.3, "gamma_tau": 2.0}, 0.3),
        ({"tau_over_tau1": 0.3, "tau_over_tau3": 0.7, "E_tau": 2.0, "gamma_tau": 2.0}, 1.3),
        ({"tau_over_tau1": 0.3, "tau_over_tau3": 0.7, "E_tau": 2.0}, 0.6),
        ({"tau_over_tau1": 1.0, "E_tau": 1.0, "Dq2_tau": 5.0}, 2.0),  # Q not included
    ],
)
def test_lambda_max_cases(kw, expected):
    assert lambda_max(Parameters(**kw)) == pytest.approx(expected, rel=1e-15)


def test_lambda_max_is_attained_or_approached():
    """g = 0: attained at ε s = π; g > 0: approached along s = (2k+1)π/ε as k → ∞.

    λ((2k+1)π/ε) = 2 r₁ + r₃ (1 − e^{−2g s}); with 2g s ≥ 40 the gap is
    r₃ e^{−40} < 1e-17, below the 1e-14 rounding of cos at large arguments.
    """
    p = Parameters(tau_over_tau1=0.4, E_tau=3.0)
    assert lam(math.pi / 3.0, p) == pytest.approx(lambda_max(p), rel=1e-15)
    q = Parameters(tau_over_tau1=0.4, tau_over_tau3=0.5, E_tau=3.0, gamma_tau=0.1)
    s = 2001 * math.pi / 3.0  # 2 g s ≈ 419
    assert lam(s, q) == pytest.approx(lambda_max(q), rel=1e-13)
    grid = np.linspace(0, 500, 200001)
    assert lam(grid, q).max() < lambda_max(q)


# --------------------------------------------------------------------------
# ϑ, Eq. (33)
# --------------------------------------------------------------------------


def _theta_mp(t: float, p: Parameters) -> mp.mpf:
    """Eq. (33) as printed, in multi-precision arithmetic.

    The brackets cancel like (εt)² and g|t|; the working precision is raised
    by the number of digits lost, so the result has ≥ 40 correct digits.
    """
    args = [x for x in (p.E_tau * abs(t), p.gamma_tau * abs(t)) if x > 0]
    lost = max([0.0] + [-2 * math.log10(x) for x in args if x < 1])
    with mp.workdps(40 + int(lost)):
        t = mp.mpf(t)
        Q, r1, r3 = mp.mpf(p.Dq2_tau), mp.mpf(p.tau_over_tau1), mp.mpf(p.tau_over_tau3)
        e, g = mp.mpf(p.E_tau), mp.mpf(p.gamma_tau)
        out = Q * t
        if e > 0:
            out += r1 * (t - mp.sin(e * t) / e)
        if g > 0:
            out += r3 * (t - (mp.exp(2 * g * t) - 1) / (2 * g))
        return out


@prop
@given(parameter_sets(), times)
def test_theta_matches_eq33_in_high_precision(p, t):
    """ϑ(t) vs Eq. (33) at 60 digits: 1e-13 relative.

    Every term of the stable form is ≤ 0, so the error is a few ulp per
    term (series or direct evaluation) — 1e-13 leaves a wide margin.
    """
    ref = float(_theta_mp(t, p))
    assert theta(t, p) == pytest.approx(ref, rel=1e-13, abs=1e-300)


@prop
@given(parameter_sets(), times, times)
def test_theta_nonpositive_and_monotone(p, t, s):
    """ϑ ≤ 0, ϑ(0) = 0 and dϑ/dt = λ₁ ≥ 0: ϑ decreases toward −∞."""
    t1, t2 = min(t, s), max(t, s)
    assert theta(0.0, p) == 0.0
    assert theta(t1, p) <= theta(t2, p) <= 0.0


@prop
@given(parameter_sets(), st.floats(1.0, 1e6))
def test_theta_asymptotic_rate(p, T):
    """ϑ(−T) = −rate·T + r₁ sin(εT)/ε + r₃ (1 − e^{−2gT})/(2g) (active channels).

    So |ϑ(−T) + rate·T| ≤ r₁/ε + r₃/(2g): exp(ϑ) decays at ``dephasing_rate``.
    Tolerance: rounding of the O(rate·T) terms.
    """
    bound = 0.0
    if p.E_tau > 0:
        bound += p.tau_over_tau1 / p.E_tau
    if p.gamma_tau > 0:
        bound += p.tau_over_tau3 / (2 * p.gamma_tau)
    gap = abs(theta(-T, p) + p.dephasing_rate * T)
    assert gap <= bound * (1 + 1e-12) + 1e-13 * p.dephasing_rate * T + 1e-300


@pytest.mark.parametrize(
    "kw",
    [
        {"Dq2_tau": 0.3},
        {"tau_over_tau1": 0.4, "E_tau": 2.0},
        {"tau_over_tau1": 0.4, "E_tau": 1e-7},
        {"tau_over_tau3": 0.6, "gamma_tau": 0.05},
        {"tau_over_tau3": 0.6, "gamma_tau": 1e-10},
        {
            "tau_over_tau1": 0.3,
            "tau_over_tau3": 0.5,
            "E_tau": 7.0,
            "gamma_tau": 3.0,
            "Dq2_tau": 1e-3,
        },
    ],
)
@pytest.mark.parametrize("t", [-1e-6, -0.3, -5.0, -40.0])
def test_theta_against_quadrature_of_lambda1(kw, t):
    """ϑ(t) = −∫_t^0 λ₁(s) ds, by QUADPACK on sub-intervals ≤ one period.

    λ₁ ≥ 0, so the quadrature has no cancellation; epsrel 2e-14 per piece
    (QUADPACK's floor is 50 ulp), and the comparison at 1e-12 relative covers
    quadrature error plus ϑ rounding.
    """
    p = Parameters(**kw)
    period = 2 * math.pi / p.E_tau if p.E_tau > 0 else abs(t)
    n = max(1, math.ceil(abs(t) / period))
    edges = np.linspace(t, 0.0, n + 1)
    pieces = [
        integrate.quad(lambda s: lam1(s, p), a, b, epsabs=0.0, epsrel=2e-14, limit=200)[0]
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
    ref = -math.fsum(pieces)
    assert theta(t, p) == pytest.approx(ref, rel=1e-12)


def test_theta_small_rate_limits_have_no_cancellation():
    """ε → 0 and g → 0 brackets of Eq. (33), against their Taylor series.

    r₁[t − sin(εt)/ε] = −r₁ ε²|t|³/6 (1 − (εt)²/20 + …) and
    r₃[t − (e^{2gt} − 1)/(2g)] = −r₃ g t² (1 − (2/3) g|t| + …); with εt, gt ≤ 1e-8
    the neglected terms are < 1e-16 relative, so 1e-14 tests for cancellation
    (the naive formula would give 0 or pure rounding noise here).
    """
    t = -10.0
    p = Parameters(tau_over_tau1=0.5, E_tau=1e-9)
    x = 1e-9 * 10.0
    assert theta(t, p) == pytest.approx(-0.5 * 1e-18 * 1000 / 6 * (1 - x * x / 20), rel=1e-14)
    q = Parameters(tau_over_tau3=0.5, gamma_tau=1e-10)
    y = 1e-10 * 10.0
    assert theta(t, q) == pytest.approx(-0.5 * 1e-10 * 100 * (1 - 2 * y / 3), rel=1e-14)
    # exactly zero brackets at ε = 0, g = 0
    assert theta(t, Parameters(tau_over_tau1=0.5, tau_over_tau3=0.5)) == 0.0


def test_theta_rejects_positive_times():
    p = Parameters(Dq2_tau=1.0)
    with pytest.raises(ValueError, match="≤ 0"):
        theta(0.1, p)
    with pytest.raises(ValueError):
        theta(np.array([-1.0, 1e-300]), p)


# --------------------------------------------------------------------------
# ∫ λ₁ between two times (the exponent of Eq. 31)
# --------------------------------------------------------------------------


@prop
@given(parameter_sets(), times, times)
def test_lambda1_integral_is_theta_difference(p, t, s):
    """∫_{t₁}^{t} λ₁ = ϑ(t) − ϑ(t₁) (up to rounding of ϑ values, ≤ 1e-13 |ϑ(t₁)|)."""
    t1, t2 = min(t, s), max(t, s)
    value = lambda1_integral(t1, t2, p)
    assert value >= 0.0
    ref = theta(t2, p) - theta(t1, p)
    assert value == pytest.approx(ref, rel=1e-12, abs=1e-13 * abs(theta(t1, p)) + 1e-300)


@pytest.mark.parametrize(
    "kw",
    [
        {
            "tau_over_tau1": 0.3,
            "tau_over_tau3": 0.5,
            "E_tau": 7.0,
            "gamma_tau": 3.0,
            "Dq2_tau": 1e-3,
        },
        {"tau_over_tau1": 0.3, "tau_over_tau3": 0.5, "E_tau": 1e-3, "gamma_tau": 1e-6},
    ],
)
def test_lambda1_integral_nearby_times_far_in_the_past(kw):
    """t₁ = −10⁶ − 10⁻³, t = −10⁶: the integral ≈ 10⁻³ λ₁(−10⁶) keeps 1e-12 accuracy.

    The difference ϑ(t) − ϑ(t₁) would lose ~|ϑ|/10⁻³ ~ 1e9 ulp; the reference
    is Eq. (33) at 60 digits.
    """
    p = Parameters(**kw)
    t, t1 = -1e6, -1e6 - 1e-3
    ref = float(_theta_mp(t, p) - _theta_mp(t1, p))
    assert lambda1_integral(t1, t, p) == pytest.approx(ref, rel=1e-12)


def test_lambda1_integral_validation_and_broadcast():
    p = Parameters(tau_over_tau1=0.3, E_tau=1.0)
    with pytest.raises(ValueError, match="t1"):
        lambda1_integral(-1.0, -2.0, p)
    with pytest.raises(ValueError):
        lambda1_integral(-1.0, 0.5, p)
    out = lambda1_integral(np.array([[-3.0], [-2.0]]), np.array([-1.0, -0.5, 0.0]), p)
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out[:, 2], -np.array([theta(-3.0, p), theta(-2.0, p)]), rtol=1e-14)
