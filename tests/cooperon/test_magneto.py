"""cooperon.magneto: Δσ(B) from Eq. (24) and from Eq. (32), against exact and brute-force sums.

References (docs/magneto.md):
* Φ ≡ 1 − λ (a Vertex with one constant term): Γ(η) = λη, and both Eq. (24)
  (F = (1 − λ)/(Q + λ) solves it exactly) and Eq. (32) give exactly
  (1 − λ) × HLN with B_φ = ħλ/(4eDτ);
* the Landau-level sum summed level by level (hundreds of levels) with
  ∫ F dQ by QUADPACK, for F0_eq32 of :mod:`cooperon.closed_forms` (independent of
  the quadrature in u used by magneto) and for F_direct − F0_eq32;
* B → 0: Δσ = −(e²/πh)(b²/24) F′(0; Q = 0) + O(b⁴), F′ by finite differences.
"""

from __future__ import annotations

import math
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy import integrate, special

from cooperon import Parameters, solve_direct
from cooperon.closed_forms import F0_eq32
from cooperon.ensembles import TunnelingModel
from cooperon.hln import FitStatus, hln
from cooperon.magneto import _HistoryRule, field_b, field_inputs, magnetoconductance
from cooperon.parameters import NoCutoffError
from cooperon.vertex import Vertex

TAU, D = 1e-13, 1e-3
#: tesla per unit of b = 4eDBτ/ħ
B_PER_B = 1.0 / float(field_b(1.0, D, TAU))
P = Parameters(tau_over_tau1=0.05, E_tau=0.3, tau_over_tau3=0.1, gamma_tau=0.1)
REF = dict(T=0.05, Lambda0=0.01, E_star=1.0, chi=0.1, tau=1e-13, tau_i=1e-11)


def _quad(f, a, b, points=None):
    with warnings.catch_warnings():
        warnings.simplefilter("error", integrate.IntegrationWarning)
        val, _ = integrate.quad(f, a, b, points=points, epsabs=0, epsrel=1e-11, limit=200)
    return val


@pytest.fixture(scope="module")
def p_inputs():
    return field_inputs(P, tau=TAU, rtol=1e-10)


# --------------------------------------------------------------------------
# exponential dephasing: exactly HLN
# --------------------------------------------------------------------------


def test_exponential_dephasing_is_exactly_hln():
    """Φ ≡ 1 − λ: Δσ = (1 − λ)·HLN(B_φ = ħλ/(4eDτ)) on both routes; α-free fit exact.

    λ = 1e-3, τ = 1e-13 s: τ_φ = τ/λ = 1e-10 s and D = 1e-3 m²/s give the textbook
    B_φ = 1.6455 mT.  Tolerances: the (32) quadrature (GK15 on doubling panels)
    reaches ~1e-12; the direct curve adds F_direct − F_32 = solve errors ~1e-12
    relative, amplified ≤ 1e3 by the Landau weights; 1e-9 leaves a margin.  The
    reported error estimates must bound the true errors.
    """
    lam = 1e-3
    v = Vertex(np.array([1.0 - lam]), np.array([0.0]))
    Bphi = 6.62607015e-34 / (2 * math.pi) / (4 * 1.602176634e-19 * D * TAU / lam)
    assert Bphi == pytest.approx(1.6455e-3, rel=1e-4)
    B = np.geomspace(1e-2, 1e2, 25) * Bphi
    ds = magnetoconductance(v, B, D, tau=TAU, alpha_free=True)
    exact = (1.0 - lam) * hln(B, Bphi)
    for name in ("direct", "eq32"):
        got = ds[f"delta_sigma_{name}"].values
        np.testing.assert_allclose(got, exact, rtol=1e-9)
        assert np.all(np.abs(got - exact) <= ds[f"delta_sigma_{name}_error"].values)
        assert np.all(ds[f"delta_sigma_{name}_status"].values == 0)
        assert int(ds[f"fit_status_{name}"]) == FitStatus.OK
        assert float(ds[f"B_phi_{name}"]) == pytest.approx(Bphi, rel=1e-9)
        assert float(ds[f"alpha_{name}"]) == pytest.approx(1.0 - lam, rel=1e-9)
        assert float(ds[f"tau_phi_hln_{name}"]) == pytest.approx(1e-10, rel=1e-9)
        # Eq. (34) with the cutoff η = 1: ln(τ_φ/τ) = E₁(λ) = −γ − ln λ + O(λ)
        ratio = (1.0 / lam) / math.exp(special.exp1(lam))
        assert float(ds[f"tau_phi_hln_over_eq34_{name}"]) == pytest.approx(ratio, rel=1e-9)
        assert ratio == pytest.approx(math.exp(np.euler_gamma), rel=2e-3)


# --------------------------------------------------------------------------
# the quadrature of Eq. (32)
# --------------------------------------------------------------------------


def test_history_rule_reproduces_eq32(p_inputs):
    """∫ Φ e^{−Qu−Γ} du on the rule = F0_eq32 (closed_forms, accurate to 1e-12) at Q = 0 ... 10."""
    Q = np.array([0.0, 1e-4, 1e-2, 0.3, 3.0, 10.0])
    rule = _HistoryRule(p_inputs, np.array([0.05]), Q, 1e-10)
    got, est = rule.F0(Q)
    want = np.array([F0_eq32(P.replace(Dq2_tau=q)) for q in Q])
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.all(np.abs(got - want) <= est + 2e-12 * want)


def _brute_force_sum(f, b, M, fprime_end):
    """b Σ_{n<M} f(Q_n) − ∫_0^{Mb} f + (b²/24) f′(Mb): the first Euler–Maclaurin term of the
    rest (the next, (7/5760) b⁴ f‴, is ~1e-14 here)."""
    Qn = (np.arange(M) + 0.5) * b
    total = b * sum(f(q) for q in Qn)
    edges = [0.0, 0.05, 0.3, 1.0, 3.0] + [x for x in (10.0, 30.0) if x < M * b] + [M * b]
    integral = sum(_quad(f, lo, hi) for lo, hi in zip(edges, edges[1:], strict=False))
    return total - integral + b * b / 24.0 * fprime_end


def test_eq32_sum_against_brute_force(p_inputs):
    """b = 0.05 (16 levels summed by magneto, the tail by Euler–Maclaurin): 800 levels one
    by one with F0_eq32.  Tolerance 1e-8 (measured 3e-12): QUADPACK asked for 1e-11 of
    ∫_0^40 F ≈ 5 against the difference b Σ − ∫ ≈ 8e-3; F0_eq32 at 1e-12."""
    b = 0.05
    M = 800

    def f(q):
        return F0_eq32(P.replace(Dq2_tau=q))

    Qe, h = M * b, 1e-3
    fp = (f(Qe + h) - f(Qe - h)) / (2 * h)
    want = -_brute_force_sum(f, b, M, fp) / math.pi
    ds = magnetoconductance(p_inputs, [b * B_PER_B], D, direct=False)
    assert float(ds.delta_sigma_eq32[0]) == pytest.approx(want, rel=1e-8)


def test_direct_sum_against_brute_force(p_inputs):
    """The direct curve at b = 0.05: Δσ_(32) + sum of d = F_direct − F0_eq32 over 100 levels
    one by one, ∫_0^5 d by QUADPACK over solutions of Eq. (24) (rtol 1e-10), the rest by
    the first Euler–Maclaurin term (d ~ 1/Q²: (b²/24) d′(5) ≈ 1e-6 of Δσ, kept; the next
    term ~1e-12).  Tolerance 1e-8 of Δσ: measured 1.6e-10; the reported estimate is
    7e-9, mostly the bound |W|·δF of the node errors."""
    b, M = 0.05, 100

    def d(q):
        return solve_direct(P.replace(Dq2_tau=q), 1e-10).F0 - F0_eq32(P.replace(Dq2_tau=q))

    Qe, h = M * b, 1e-2
    dp = (d(Qe + h) - d(Qe - h)) / (2 * h)
    ds = magnetoconductance(p_inputs, [b * B_PER_B], D)
    want = float(ds.delta_sigma_eq32[0]) - _brute_force_sum(d, b, M, dp) / math.pi
    got = float(ds.delta_sigma_direct[0])
    assert got == pytest.approx(want, rel=1e-8)
    assert int(ds.delta_sigma_direct_status[0]) == 0
    # the two routes differ by much more than that: the test can tell them apart
    assert abs(got - float(ds.delta_sigma_eq32[0])) > 1e-3 * abs(got)


# --------------------------------------------------------------------------
# B → 0
# --------------------------------------------------------------------------


def _derivative_at_zero(f, h):
    """One-sided 5-point stencil, error h⁴ f⁽⁵⁾/5."""
    F = [f(k * h) for k in range(5)]
    return (-25 * F[0] + 48 * F[1] - 36 * F[2] + 16 * F[3] - 3 * F[4]) / (12 * h)


def test_small_field_limit_is_b_squared(p_inputs):
    """Δσ/b² → −F′(0)/(24π) (e²/h) with F′(0; Q = 0) by finite differences (h = 1e-3,
    rate ≈ 0.15: stencil error (h/rate)⁴ ~ 2e-9), for both routes; the b⁴ correction is
    ~0.2 (b/rate)² of the b² term: 1e-6 at b = 1e-4 (tolerance 3e-6), and the observed
    order of Δσ/b² − C between b = 4e-3 and 8e-3 is 2."""
    fp = {
        "direct": _derivative_at_zero(lambda q: solve_direct(P.replace(Dq2_tau=q), 1e-12).F0, 1e-3),
        "eq32": _derivative_at_zero(lambda q: F0_eq32(P.replace(Dq2_tau=q)), 1e-3),
    }
    b = np.array([1e-4, 4e-3, 8e-3])
    ds = magnetoconductance(p_inputs, b * B_PER_B, D, rtol=1e-8)
    for name in ("direct", "eq32"):
        C = -fp[name] / (24 * math.pi)
        y = ds[f"delta_sigma_{name}"].values / b**2
        assert y[0] == pytest.approx(C, rel=3e-6)
        order = math.log((y[2] - C) / (y[1] - C)) / math.log(2)
        assert order == pytest.approx(2.0, abs=0.02)
    # the coefficients of the two routes differ (by ~25 %): the check distinguishes them
    assert abs(fp["direct"] / fp["eq32"] - 1) > 0.05


# --------------------------------------------------------------------------
# error estimates, reuse, fit window, the ensemble path
# --------------------------------------------------------------------------


def test_error_estimates_bound_true_errors(p_inputs):
    """rtol 1e-5 against a reference at rtol 1e-9 (up to 129 nodes): true ≤ estimate."""
    B = np.geomspace(1e-4, 3.0, 12) * B_PER_B
    got = magnetoconductance(p_inputs, B, D, rtol=1e-5)
    ref = magnetoconductance(p_inputs, B, D, rtol=1e-9, max_nodes=129)
    for name in ("direct", "eq32"):
        true = np.abs(got[f"delta_sigma_{name}"] - ref[f"delta_sigma_{name}"]).values
        est = got[f"delta_sigma_{name}_error"].values
        assert np.all(true <= est)
        assert np.all(est <= 1e-5 * np.abs(got[f"delta_sigma_{name}"].values))


def test_solutions_are_reused(p_inputs):
    """A second field grid with the same largest field reuses every direct solution."""
    B = np.geomspace(1e-3, 1.0, 10) * B_PER_B
    magnetoconductance(p_inputs, B, D)
    again = magnetoconductance(p_inputs, B[1::2].copy(), D)
    assert again.attrs["n_F0_direct"] == 0
    assert again.sizes["Q_node"] > 0 and "F0_direct_node" in again


def test_thread_pool_gives_the_same_curve():
    """The node solves through an executor (2 threads) give bit-identical values."""
    B = np.geomspace(1e-3, 1.0, 6) * B_PER_B
    serial = magnetoconductance(P, B, D, tau=TAU, rtol=1e-5)
    with ThreadPoolExecutor(2) as pool:
        pooled = magnetoconductance(P, B, D, tau=TAU, rtol=1e-5, executor=pool)
    assert pooled.attrs["n_F0_direct"] == serial.attrs["n_F0_direct"] > 0
    np.testing.assert_array_equal(pooled.delta_sigma_direct, serial.delta_sigma_direct)


def test_fit_window_with_too_few_points(p_inputs):
    B = np.geomspace(1e-3, 1.0, 10) * B_PER_B
    ds = magnetoconductance(p_inputs, B, D, fit_window=(B[2], B[4]), direct=False)
    assert int(ds.fit_status_eq32) == FitStatus.TOO_FEW_POINTS
    assert math.isnan(float(ds.B_phi_eq32)) and "3 point" in ds.attrs["fit_message_eq32"]
    assert "delta_sigma_direct" not in ds


def test_tunneling_model():
    """The reference tunnelling model (τ_φ/τ ≈ 1.3e4 from Eq. 34): both curves, their error
    estimates within rtol, HLN fits, and the B² coefficient of (32) against QUADPACK on
    ∫ u Φ̄ e^{−Γ̄} du = −F′_(32)(0)."""
    tm = TunnelingModel(**REF)
    B = np.geomspace(1e-6, 1e-2, 12)
    ds = magnetoconductance(tm, B, D, rtol=1e-5)
    for name in ("direct", "eq32"):
        assert np.all(ds[f"delta_sigma_{name}_status"].values == 0)
        assert int(ds[f"fit_status_{name}"]) == FitStatus.OK, ds.attrs[f"fit_message_{name}"]
        assert 0.5 < float(ds[f"tau_phi_hln_over_eq34_{name}"]) < 5
    assert float(ds.tau_phi_eq34) == pytest.approx(TAU * math.exp(tm.log_tau_phi_eq34()))

    def moment(t):  # u Φ̄ e^{−Γ̄} du with u = e^t
        u = math.exp(t)
        return u * u * (1 - float(tm.lambda_bar(u))) * math.exp(-float(tm.Gamma_bar(u)))

    edges = np.linspace(-10, math.log(tm.eta_where(60.0)), 30)
    m1 = sum(_quad(moment, lo, hi) for lo, hi in zip(edges, edges[1:], strict=False))
    b0 = float(ds.b[0])
    assert float(ds.delta_sigma_eq32[0]) / b0**2 == pytest.approx(m1 / (24 * math.pi), rel=1e-5)


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(B=[0.0, 1e-3]), ValueError, r"B must lie in \(0, ∞\)"),
        (dict(B=[-1e-3]), ValueError, r"B must lie in \(0, ∞\)"),
        (dict(B=[np.nan]), ValueError, "B must be finite"),
        (dict(B=[[1e-3]]), ValueError, "1-D"),
        (dict(D=0.0), ValueError, r"D must lie in \(0, ∞\)"),
        (dict(D=-1.0), ValueError, r"D must lie in \(0, ∞\)"),
        (dict(D=math.inf), ValueError, "D must be finite"),
        (dict(rtol=0.5), ValueError, "rtol must lie in"),
        (dict(tau=None), ValueError, "tau .* is required"),
        (dict(tau=-1.0), ValueError, r"tau must lie in \(0, ∞\)"),
        (dict(max_nodes=4), ValueError, "max_nodes"),
    ],
)
def test_bad_input(kwargs, exc, match):
    args = dict(model=P, B=[1e-3, 1e-2], D=D, tau=TAU)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        magnetoconductance(args.pop("model"), args.pop("B"), args.pop("D"), **args)


def test_bad_models():
    with pytest.raises(NoCutoffError):
        magnetoconductance(Parameters(tau_over_tau3=0.1), [1e-3], D, tau=TAU)
    with pytest.raises(ValueError, match="tau .* is required"):
        magnetoconductance(Vertex(np.array([0.9]), np.array([0.0])), [1e-3], D)
    with pytest.raises(ValueError, match="differs from the ensemble"):
        magnetoconductance(TunnelingModel(**REF), [1e-3], D, tau=2e-13)
    with pytest.raises(TypeError, match="model must be"):
        magnetoconductance("film", [1e-3], D, tau=TAU)
