"""Independent checks of Eq. (24) as solver data (:mod:`cooperon.equation`).

* the ExpSum/Piecewise kernel and the right-hand side against Eq. (24) written
  out again (``reference_data.kernel_ref``);
* the frozen (periodic, far-past) solution F∞ from harmonic balance against
  the frozen equation evaluated by adaptive quadrature, against
  ``solve_direct`` and against a solve that starts from **zero** history far
  in the past (shares no algebra with the harmonic balance);
* the general case (r₃ > 0, g > 0): ``solve_direct``'s F(0) against the
  zero-history solve, within the combined error estimates;
* the closed-form history term ``history(p, T).contribution(t)`` against
  ``scipy.integrate.quad`` of K(t, s) F∞(s) over s < −T, split at s = 2t.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from reference_data import kernel_ref, phi_ref, zero_history_F0
from scipy import integrate

from cooperon import Parameters, equation, solve_direct

P = Parameters

# --------------------------------------------------------------------------
# kernel and right-hand side
# --------------------------------------------------------------------------

KERNEL_CASES = [
    P(tau_over_tau1=0.3, E_tau=1.5, tau_over_tau3=0.4, gamma_tau=2.0, Dq2_tau=0.01),
    P(tau_over_tau1=0.2, E_tau=0.5, tau_over_tau3=0.3, gamma_tau=0.1, Dq2_tau=0.1),
    P(tau_over_tau3=0.6, gamma_tau=30.0, Dq2_tau=1e-4),
    P(tau_over_tau1=0.5, E_tau=3.0, tau_over_tau3=0.2, gamma_tau=0.0, Dq2_tau=1.0),
    P(tau_over_tau1=0.5, E_tau=0.0, tau_over_tau3=0.2, gamma_tau=0.0, Dq2_tau=0.3),
]


@pytest.mark.parametrize("p", KERNEL_CASES, ids=repr)
def test_kernel_and_rhs_are_eq24(p):
    """K(t, s) = e^{−(t−s)} Φ(2t − s)/(1+Q) on both sides of the kink s = 2t; f = Φ/(1+Q).

    Points with t − s ≤ 30 (K ≥ e^{−30}·|Φ|): each term is one exponential
    of a combined exponent of size ≤ ~60·max(1, 2g), so relative agreement
    is limited by rounding of those exponents: 1e-12 relative to
    e^{−(t−s)} (the size of the terms), plus 1e-15 absolute.
    """
    rng = np.random.default_rng(1)
    t = -rng.uniform(0.0, 20.0, 400)
    s = t - rng.uniform(0.0, 30.0, 400)
    # also points right at and around the kink
    t = np.concatenate([t, [-3.0, -3.0, -3.0, -0.5]])
    s = np.concatenate([s, [-6.0, -6.0 - 1e-9, -6.0 + 1e-9, -1.0]])
    K = equation.kernel(p)
    got = np.real(np.asarray(K.evaluate(t, s))).ravel()
    want = kernel_ref(t, s, p)
    scale = np.exp(-(t - s))
    assert np.all(np.abs(got - want) <= 1e-12 * scale + 1e-15), np.max(np.abs(got - want) / scale)
    tt = np.linspace(-50.0, 0.0, 101)
    np.testing.assert_allclose(
        equation.rhs(p)(tt), phi_ref(tt, p) / (1.0 + p.Dq2_tau), rtol=1e-14, atol=1e-15
    )


def test_kernel_structure():
    """Kink only when the r₃ channel has one (r₃ > 0 and g > 0); otherwise a single ExpSum."""
    from solver.kernels import ExpSum, Piecewise

    assert isinstance(equation.kernel(P(tau_over_tau3=0.1, gamma_tau=0.1)), Piecewise)
    assert isinstance(equation.kernel(P(tau_over_tau3=0.1, Dq2_tau=0.1)), ExpSum)
    assert isinstance(equation.kernel(P(tau_over_tau1=0.1, E_tau=1.0)), ExpSum)
    assert equation.is_periodic(P(tau_over_tau1=0.1, E_tau=1.0))
    assert equation.is_periodic(P(tau_over_tau3=0.1, Dq2_tau=0.1))
    assert not equation.is_periodic(P(tau_over_tau3=0.1, gamma_tau=0.1))


# --------------------------------------------------------------------------
# frozen solution (harmonic balance)
# --------------------------------------------------------------------------

PERIODIC_CASES = {
    "r1=0.3,eps=1,Q=0.05": P(tau_over_tau1=0.3, E_tau=1.0, Dq2_tau=0.05),
    "r1=0.5,eps=0.2,Q=0.01": P(tau_over_tau1=0.5, E_tau=0.2, Dq2_tau=0.01),
    "r1=0.9,eps=5,Q=1e-3": P(tau_over_tau1=0.9, E_tau=5.0, Dq2_tau=1e-3),
    "r1=0.4,eps=2,r3=0.3,g=0,Q=0.02": P(
        tau_over_tau1=0.4, E_tau=2.0, tau_over_tau3=0.3, gamma_tau=0.0, Dq2_tau=0.02
    ),
}


def _frozen_phi(x, p):
    """Φ∞ of the frozen equation: Φ without the decaying r₃ term (kept if g = 0)."""
    x = np.asarray(x, dtype=float)
    r1, r3 = p.tau_over_tau1, p.tau_over_tau3
    const = 1.0 - r1 - r3 + (r3 if p.gamma_tau == 0 else 0.0)
    return const + r1 * np.cos(p.E_tau * x)


@pytest.mark.parametrize("name", list(PERIODIC_CASES))
def test_frozen_solution_solves_frozen_equation(name):
    """(1+Q) F∞(t) = Φ∞(t) + ∫_{−∞}^t e^{−(t−s)} Φ∞(2t−s) F∞(s) ds, by QUADPACK.

    The integral is cut at s = t − 50 (neglected part ≤ e^{−50}·max|F∞|) and
    split into period-long pieces. Tolerance: 1e-11·Σ|a_m| (≥ max|F∞|), well
    above QUADPACK's error (its estimate is added) and the harmonic
    truncation (``residual`` ≤ 1e-16).
    """
    p = PERIODIC_CASES[name]
    fr = equation.frozen_solution(p)
    assert fr.residual <= 1e-15
    bound = fr.bound
    for t in (0.0, -0.37, -2.0, -13.3):
        period = 2 * math.pi / p.E_tau
        edges = np.arange(t - 50.0, t, min(period, 5.0))
        edges = np.append(edges, t)
        total, err = 0.0, 0.0
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            v, e = integrate.quad(
                lambda s, t=t: math.exp(-(t - s)) * _frozen_phi(2 * t - s, p) * fr(s),
                a,
                b,
                epsabs=1e-15 * bound,
                epsrel=1e-13,
                limit=200,
            )
            total += v
            err += e
        lhs = (1.0 + p.Dq2_tau) * float(fr(t))
        rhs = float(_frozen_phi(t, p)) + total
        assert abs(lhs - rhs) <= 1e-11 * bound + err, (t, lhs, rhs)


@pytest.mark.parametrize("name", list(PERIODIC_CASES))
def test_periodic_direct_equals_harmonic_balance(name):
    """Periodic case (r₃ = 0 or g = 0): F is F∞ for all t, so solve_direct must return it.

    F0 and the whole F array vs ``frozen_solution(p)``, within solve_direct's
    own estimate plus 1e-12 relative (rounding of the harmonic sum and of
    the O(N) running sums).
    """
    p = PERIODIC_CASES[name]
    fr = equation.frozen_solution(p)
    sol = solve_direct(p, rtol=1e-10)
    assert sol.converged, sol.message
    assert sol.truncation_error == 0.0
    F0 = fr.value_at_zero
    assert abs(sol.F0 - F0) <= sol.error_estimate + 1e-12 * abs(F0)
    Finf = fr(sol.t)
    tol = np.maximum(np.asarray(sol.error_estimate), 1e-10 * fr.bound) + 1e-12 * fr.bound
    assert np.max(np.abs(sol.F - Finf)) <= tol, np.max(np.abs(sol.F - Finf))


@pytest.mark.parametrize("name", list(PERIODIC_CASES))
def test_periodic_harmonic_balance_equals_zero_history_solve(name):
    """F∞(0) from harmonic balance vs Eq. (24) solved from zero history far in the past.

    The zero-history solve (``solve_volterra`` with the kernel and rhs only,
    gregory8, T_long ≫ ln(1/1e-11)/rate, checked against 0.75·T_long) shares
    no algebra with the harmonic balance. Tolerance: its error bound plus
    1e-12 relative.
    """
    p = PERIODIC_CASES[name]
    F0_hb = equation.frozen_solution(p).value_at_zero
    F0_zh, err, info = zero_history_F0(p, rel=1e-11)
    assert err <= 1e-10 * abs(F0_zh), (err, info)
    assert abs(F0_hb - F0_zh) <= err + 1e-12 * abs(F0_zh), (F0_hb, F0_zh, err, info)


# --------------------------------------------------------------------------
# general case: frozen history + truncation vs zero history
# --------------------------------------------------------------------------

GENERAL_CASES = {
    "r3=0.1,g=0.1,Q=0.02 (docs/equations.md quick check)": P(
        tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02
    ),
    "r1=0.2,eps=0.7,r3=0.3,g=2,Q=1e-3 (g>1/2)": P(
        tau_over_tau1=0.2, E_tau=0.7, tau_over_tau3=0.3, gamma_tau=2.0, Dq2_tau=1e-3
    ),
    "r1=0.3,eps=0.3,r3=0.6,g=10,Q=0.01 (sharp)": P(
        tau_over_tau1=0.3, E_tau=0.3, tau_over_tau3=0.6, gamma_tau=10.0, Dq2_tau=0.01
    ),
    "r3=0.3,g=0.02,Q=0.05 (slow switching)": P(tau_over_tau3=0.3, gamma_tau=0.02, Dq2_tau=0.05),
    "r3=0.9,g=0.05,Q=1 (large Q)": P(tau_over_tau3=0.9, gamma_tau=0.05, Dq2_tau=1.0),
    "r3=0.1,g=0.5,Q=0.01 (2g = 1)": P(tau_over_tau3=0.1, gamma_tau=0.5, Dq2_tau=0.01),
}


@pytest.mark.parametrize("rtol", [1e-6, 1e-10])
@pytest.mark.parametrize("name", list(GENERAL_CASES))
def test_general_direct_equals_zero_history_solve(name, rtol):
    """r₃ > 0, g > 0: solve_direct's F(0) vs the zero-history long-T solve.

    Requirement: |F0_direct − F0_zh| ≤ error_estimate + error of the
    zero-history value (Richardson + T_long check, ≲ 1e-11 relative), and
    so also ≤ rtol·|F0| + that. ``converged`` must be True.
    """
    p = GENERAL_CASES[name]
    F0_zh, err_zh, info = zero_history_F0(p, rel=1e-12)
    assert err_zh <= 1e-10 * abs(F0_zh), (err_zh, info)
    sol = solve_direct(p, rtol=rtol)
    assert sol.converged, sol.message
    diff = abs(sol.F0 - F0_zh)
    assert diff <= sol.error_estimate + err_zh, (
        f"F0 = {sol.F0!r}, zero-history {F0_zh!r}: true relative error "
        f"{diff / abs(F0_zh):.3g} > estimate {sol.relative_error_estimate:.3g} "
        f"(T = {sol.T}, truncation estimate {sol.truncation_error / abs(sol.F0):.3g})"
    )
    assert diff <= rtol * abs(F0_zh) + err_zh


# --------------------------------------------------------------------------
# closed-form history term
# --------------------------------------------------------------------------

HISTORY_CASES = [
    # (params, T)
    (P(tau_over_tau1=0.3, E_tau=1.5, tau_over_tau3=0.4, gamma_tau=2.0, Dq2_tau=0.01), 20.0),
    (P(tau_over_tau1=0.2, E_tau=0.5, tau_over_tau3=0.3, gamma_tau=0.1, Dq2_tau=0.1), 15.0),
    (P(tau_over_tau3=0.6, gamma_tau=5.0, Dq2_tau=1e-3), 10.0),
    (P(tau_over_tau1=0.1, E_tau=3.0, tau_over_tau3=0.8, gamma_tau=0.75, Dq2_tau=1e-4), 8.0),
    (P(tau_over_tau1=0.5, E_tau=3.0, tau_over_tau3=0.2, gamma_tau=0.0, Dq2_tau=1.0), 10.0),
    (P(tau_over_tau1=0.4, E_tau=0.05, Dq2_tau=0.02), 6.0),
]


def _quad_history(p, fr, t, T):
    """∫_{−∞}^{−T} K(t, s) F∞(s) ds by QUADPACK, split at s = 2t (the kink)."""
    B = min(2.0 * t, -T)
    pieces = []
    step = min(2 * math.pi / p.E_tau if p.E_tau > 0 else 5.0, 5.0)
    left = np.append(np.arange(B - 45.0, B, step), B)  # e^{−45} tail neglected
    pieces += list(zip(left[:-1], left[1:], strict=True))
    if 2.0 * t < -T:  # right of the kink: 2t < s < −T, where |2t − s| = s − 2t
        right = np.append(np.arange(2.0 * t, -T, step), -T)
        pieces += list(zip(right[:-1], right[1:], strict=True))
    total, err = 0.0, 0.0
    for a, b in pieces:
        if b <= a:
            continue
        v, e = integrate.quad(
            lambda s: float(kernel_ref(t, s, p)) * float(fr(s)),
            a,
            b,
            epsabs=1e-16 * fr.bound,
            epsrel=1e-13,
            limit=200,
        )
        total += v
        err += e
    return total, err


@pytest.mark.parametrize(("p", "T"), HISTORY_CASES, ids=lambda x: repr(x))
def test_history_contribution_against_quad(p, T):
    """``history(p, T).contribution(t)`` = ∫_{−∞}^{−T} K(t,s) F∞(s) ds (QUADPACK).

    At t = −T (kink at 2t = −2T inside the history: both pieces), −0.75T,
    −T/2 (kink exactly at −T), −T/2 ± 1e-6, −0.2T and 0. For g > 1/2 the
    right piece e^{2gt − (1−2g)(t − s)} grows with t − s: the closed form
    must anchor it at the kink. Tolerance: 1e-12·Σ|a_m| + QUADPACK's error
    (the history is ≤ Σ|a_m| e^{−(t+T)}).
    """
    fr = equation.frozen_solution(p)
    H = equation.history(p, T, fr)
    ts = np.array([-T, -0.75 * T, -0.5 * T, -0.5 * T - 1e-6, -0.5 * T + 1e-6, -0.2 * T, 0.0])
    got = np.asarray(H.contribution(ts))
    for ti, gi in zip(ts, got, strict=True):
        want, err = _quad_history(p, fr, float(ti), T)
        assert abs(gi - want) <= 1e-12 * fr.bound + err, (ti, gi, want)
    # the contribution is not identically zero where it matters
    assert abs(got[0]) > 1e-3 * abs(fr.value_at_zero)


def test_history_contribution_far_rows_are_negligible():
    """Rows with t + T > 40 + ln max|F∞| get 0: quad confirms ≤ e^{−40}·bound there."""
    p = P(tau_over_tau1=0.3, E_tau=1.5, tau_over_tau3=0.4, gamma_tau=2.0, Dq2_tau=0.01)
    fr = equation.frozen_solution(p)
    T = 60.0
    H = equation.history(p, T, fr)
    got = float(np.asarray(H.contribution(np.array([0.0])))[0])
    want, err = _quad_history(p, fr, 0.0, T)
    assert abs(got - want) <= math.exp(-40.0) * fr.bound + err


def test_undamped_oscillation_with_a_complex_weight_is_refused():
    # 0.96 + 0.04 cos(12x) - 0.02 sin(12|x|): the sin(ε|x|) part is kinked at x = 0 and
    # not periodic-smooth, so the frozen solution (harmonic balance of a cos series) would
    # be wrong; solve_direct must refuse rather than return a converged wrong F(0)
    from cooperon import solve_direct
    from cooperon.vertex import Vertex

    v = Vertex([0.96, 0.02 + 0.01j, 0.02 - 0.01j], [0.0, 12j, -12j])
    with pytest.raises(ValueError, match="real weight"):
        solve_direct(v, Q=1e-3)


@pytest.mark.parametrize("mu", [1.0 + 0j, 0.998 + 0j, 1.0 + 2j])
def test_history_harmonic_sum_equals_its_definition(mu):
    # Σ_m a_m e^{imωX} (1 − e^{−z_m L})/z_m, z_m = μ + imω, summed term by term with expm1;
    # the implementation splits the sum where Re μ L >= 1 (products of e^{−iωL} instead of
    # an exponential per harmonic): equal to rounding of the sum, 1e-14 of Σ|a_m|/|z_m|
    from cooperon import _history_sums

    p = Parameters(tau_over_tau1=0.2, E_tau=0.3, tau_over_tau3=0.1, gamma_tau=0.01, Dq2_tau=0.05)
    frozen = equation.frozen_solution(p)
    a, omega = frozen.coefficients, frozen.omega
    m = frozen.harmonics
    L = np.concatenate([np.geomspace(1e-6, 0.9, 50), np.geomspace(1.0, 1e5, 200)])
    X = -123.4
    z = mu + 1j * omega * m
    ref = np.array([np.sum(a * np.exp(1j * omega * m * X) * -np.expm1(-z * x) / z) for x in L])
    got = _history_sums._harmonic_sum(a, omega, mu, X, L, True)
    assert m.size > 10  # a sum with many harmonics
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-14 * np.sum(np.abs(a / z)))
