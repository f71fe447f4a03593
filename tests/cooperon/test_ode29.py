"""The paper's ODE step, Eq. (29): initial conditions, column solves, the summed ODE.

References (none shares code with ``cooperon._ode29``):

* the exact resolvent of Eq. (24) on a grid (:func:`solver.resolvent`), whose
  finite differences at t = s give the initial conditions;
* Φ ≡ 1, where (29) has constant coefficients and factorises as
  (d + 1)²(d + Q): columns and F_ODE(0) in closed form; sympy for the
  factorisation;
* scipy's DOP853 on all columns at once (per-column route) against the
  one-ODE route of :func:`cooperon.closed_forms.F0_ode_step`;
* the WKB resolvent (31) in the limit λ, Q, g → 0.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import solve_ivp

import cooperon._ode29_core as core
from cooperon import Parameters, equation
from cooperon._closure import Channels
from cooperon._ode29 import _par
from cooperon._wkb_quadrature import cut_point
from cooperon.closed_forms import (
    F0_ode_step,
    F0_wkb_eq27,
    R_wkb,
    ode29_initial_conditions,
    ode29_resolvent,
)
from cooperon.model import Phi, lam1
from cooperon.parameters import NoCutoffError
from solver import resolvent

P = Parameters

# --------------------------------------------------------------------------
# initial conditions
# --------------------------------------------------------------------------


def _one_sided_weights(n: int, h: float) -> np.ndarray:
    """Weights (3, n+1) of f(0), f′(0), f″(0) from f(kh), k = 0…n (exact for degree n)."""
    k = np.arange(n + 1)
    V = np.vander(k * h, n + 1, increasing=True)  # V[k, j] = (kh)^j
    inv = np.linalg.inv(V)  # coefficients c_j of the interpolant = inv @ f
    return np.array([inv[0], inv[1], 2.0 * inv[2]])


@pytest.mark.parametrize(
    "kw",
    [
        dict(tau_over_tau1=0.3, E_tau=1.5, tau_over_tau3=0.4, gamma_tau=0.7, Dq2_tau=0.2),
        dict(tau_over_tau1=0.6, E_tau=0.4, Dq2_tau=0.05),
        dict(tau_over_tau3=0.8, gamma_tau=2.0, Dq2_tau=1.0),
    ],
)
@pytest.mark.parametrize("s", [-3.0, -1.2, -0.5])
def test_initial_conditions_against_exact_resolvent(kw, s):
    """r(s,s), ∂ₜr(s,s), ∂ₜ²r(s,s) against finite differences of the exact resolvent.

    :func:`solver.resolvent` on [s, s + L], L = min(0.08, 0.3|s|) (64 steps, Gregory-6:
    ~1e-15; the kink of Φ(2t − s) at t = s/2 lies outside); one-sided differences of
    degree 8 on every 8th point (step L/8 ≤ 0.01).  Measured on the first case: the
    truncation error of ∂ₜr falls from 2e-8 (L = 0.32) to 9e-11 (L = 0.16) and reaches
    the rounding floor ~5e-11 (∂ₜ²r: ~1e-9) at L = 0.08; the r₃ case (rate 1 + 4g = 9)
    is ~2⁸ faster-varying.  Tolerances 1e-11, 1e-9, 1e-7.
    """
    p = P(**kw)
    L = min(0.08, 0.3 * abs(s))
    t = s + np.linspace(0.0, L, 65)
    R = resolvent(equation.kernel(p), t, method="gregory6")
    col = R.R[::8, 0]
    w = _one_sided_weights(8, L / 8)
    fd = w @ col
    ic = ode29_initial_conditions(np.array([s]), p)[:, 0]
    assert ic[0] == pytest.approx(fd[0], abs=1e-11)
    assert ic[1] == pytest.approx(fd[1], abs=1e-9)
    assert ic[2] == pytest.approx(fd[2], abs=1e-7)


def test_initial_conditions_shape_and_validation():
    p = P(tau_over_tau1=0.2, E_tau=0.5, Dq2_tau=0.1)
    assert ode29_initial_conditions(np.zeros((2, 3)) - 1.0, p).shape == (3, 2, 3)
    with pytest.raises(ValueError, match="s must"):
        ode29_initial_conditions([0.5], p)
    with pytest.raises(ValueError, match="s must"):
        ode29_resolvent(p, [np.nan])


# --------------------------------------------------------------------------
# constant Φ: factorisation and closed forms
# --------------------------------------------------------------------------


def test_operator_factorises_for_constant_coefficients():
    """d³ + (2+λ₁)d² + (1+2λ₁)d + λ₁ = (d+1)²(d+λ₁) (sympy), and the companion
    matrix of the implementation has the eigenvalues −1, −1, −λ₁ (1e-6: the double
    root is perturbed by ~sqrt(ulp))."""
    d, lam = sp.symbols("d lambda_1")
    printed = d**3 + (2 + lam) * d**2 + (1 + 2 * lam) * d + lam
    assert sp.expand(printed - (d + 1) ** 2 * (d + lam)) == 0
    for Q in (0.01, 0.3):
        par = _par(Channels.from_params(P(Dq2_tau=Q)))
        A, _ = core._system(-1.0, par, False, False)
        ev = np.sort(np.linalg.eigvals(A).real)
        np.testing.assert_allclose(ev, [-1.0, -1.0, -Q], atol=1e-6)


def _constant_phi_column(Q: float, tau: np.ndarray) -> np.ndarray:
    """r_ODE(s + τ, s) for Φ ≡ 1: A e^{−τ} + B τ e^{−τ} + C e^{−Qτ} fitted to the
    initial values r₀ = c, r₁ = −Qc², r₂ = Q²c³ (c = 1/(1+Q))."""
    c = 1.0 / (1.0 + Q)
    M = np.array([[1.0, 0.0, 1.0], [-1.0, 1.0, -Q], [1.0, -2.0, Q * Q]])
    A, B, C = np.linalg.solve(M, [c, -Q * c * c, Q * Q * c**3])
    return A * np.exp(-tau) + B * tau * np.exp(-tau) + C * np.exp(-Q * tau)


@pytest.mark.parametrize("Q", [1e-3, 0.1, 2.0])
def test_constant_phi_columns(Q):
    """Φ ≡ 1: the Radau columns equal the closed form of (d+1)²(d+Q) r = 0 (1e-10,
    64 steps per scale min(1, 1/Q) with an order-5 method)."""
    p = P(Dq2_tau=Q)
    s = -np.array([0.0, 0.3, 2.0, 15.0, 80.0])
    np.testing.assert_allclose(
        ode29_resolvent(p, s), _constant_phi_column(Q, -s), rtol=1e-10, atol=1e-300
    )


@pytest.mark.parametrize("Q", [1e-4, 1e-2, 0.1])
def test_constant_phi_F0(Q):
    """Φ ≡ 1: F_ODE(0) = c[1 + (r₂ + (2+Q) r₁ + (1+2Q) r₀)/Q] (integrate (29) over τ),
    i.e. Q F_ODE − 1 = −Q + O(Q²) (|·+Q| ≤ 5Q²): the ODE step (29) as printed is off
    by O(Q) where the exact F = 1/Q (its slow rate is λ₁, the exact one λ₁/(1+Q)).
    The constant far field is started at its exact steady state: exact (1e-13)."""
    c = 1.0 / (1.0 + Q)
    r0, r1, r2 = c, -Q * c * c, Q * Q * c**3
    exact = c * (1.0 + (r2 + (2 + Q) * r1 + (1 + 2 * Q) * r0) / Q)
    res = F0_ode_step(P(Dq2_tau=Q))
    assert res.F0 == pytest.approx(exact, rel=1e-13)
    assert res.converged
    assert abs(Q * res.F0 - 1 + Q) <= 5 * Q * Q


# --------------------------------------------------------------------------
# the one-ODE route against per-column solves
# --------------------------------------------------------------------------


def _per_column(p: Parameters, T: float, panels: int) -> tuple[float, np.ndarray, np.ndarray]:
    """f(0) + ∫_{−T}^0 r_ODE(0,s) f(s) ds with every column solved by DOP853.

    All columns are integrated together in τ = t − s (column i at t = s_i + τ) and
    read off at τ = −s_i from the dense output; Gauss-Legendre (20 nodes) in s.
    """
    x, w = np.polynomial.legendre.leggauss(20)
    edges = np.linspace(-T, 0.0, panels + 1)
    half = 0.5 * np.diff(edges)
    s = (edges[:-1, None] + half[:, None] * (x + 1)).ravel()
    ws = (half[:, None] * w).ravel()
    ic = ode29_initial_conditions(s, p)
    n = s.size

    def rhs(tau, Y):
        Y = Y.reshape(3, n)
        lam = np.asarray(lam1(np.minimum(s + tau, 0.0), p))
        return np.vstack(
            [Y[1], Y[2], -lam * Y[0] - (1 + 2 * lam) * Y[1] - (2 + lam) * Y[2]]
        ).ravel()

    sol = solve_ivp(
        rhs, (0.0, T), ic.ravel(), method="DOP853", rtol=1e-12, atol=1e-15, dense_output=True
    )
    r0 = np.array([sol.sol(-si)[i] for i, si in enumerate(s)])
    f = np.asarray(Phi(s, p)) / (1 + p.Dq2_tau)
    return 1 / (1 + p.Dq2_tau) + float(np.sum(ws * r0 * f)), s, r0


@pytest.mark.parametrize(
    "kw",
    [
        dict(tau_over_tau3=0.5, gamma_tau=0.01, Dq2_tau=1e-2),  # transient, far-field start
        dict(tau_over_tau1=0.2, E_tau=0.3, Dq2_tau=0.05),  # periodic: Floquet start
        dict(tau_over_tau1=0.1, E_tau=0.8, tau_over_tau3=0.3, gamma_tau=0.2, Dq2_tau=0.05),
    ],
)
def test_one_ode_route_equals_per_column_solves(kw):
    """F0_ode_step (one ODE for ∫ r f) = f(0) + ∫ r_ODE(0,s) f(s) ds from column solves.

    Columns by DOP853 at rtol 1e-12, 20-node Gauss-Legendre panels of ≤ 2 τ in s,
    history cut where e^ϑ < e^{−32} (1e-14): the reference is good to ~1e-10; so are
    the Radau columns of ode29_resolvent (checked at every 37th column)."""
    p = P(**kw)
    T = cut_point(p, 32.0)
    ref, s, r0 = _per_column(p, T, max(int(T / 2), 8))
    res = F0_ode_step(p, rtol=1e-11)
    assert res.F0 == pytest.approx(ref, rel=1e-9)
    pick = slice(None, None, 37)
    np.testing.assert_allclose(ode29_resolvent(p, s[pick]), r0[pick], rtol=1e-8, atol=1e-10)


# --------------------------------------------------------------------------
# the WKB limit, accuracy, robustness
# --------------------------------------------------------------------------


def test_columns_tend_to_wkb_resolvent():
    """λ, Q, g → 0 (r₃ = Q = g = k): r_ODE(0, s)/R_WKB(0, s) → 1 at s = −1/(2k) (where
    R_WKB ≈ e^{−0.6}), with an error O(k) (the rate of (29)'s slow mode is
    λ₁ − 2dλ₁/dt: |ratio − 1| ≤ 3k, falling ≥ 8× per decade)."""
    devs = []
    for k in (1e-2, 1e-3, 1e-4):
        p = P(tau_over_tau3=k, gamma_tau=k, Dq2_tau=k)
        s = np.array([-0.5 / k])
        ratio = ode29_resolvent(p, s)[0] / float(R_wkb(0.0, s, p)[0])
        devs.append(abs(ratio - 1))
        assert devs[-1] <= 3 * k
    assert devs[0] > 8 * devs[1] > 64 * devs[2]


@pytest.mark.parametrize(
    "kw",
    [
        dict(tau_over_tau3=0.3, gamma_tau=0.1, Dq2_tau=0.01),
        dict(tau_over_tau1=0.05, E_tau=0.05, Dq2_tau=1e-3),
        dict(tau_over_tau1=0.3, E_tau=3.0, Dq2_tau=0.01),
        dict(tau_over_tau3=0.2, gamma_tau=1.0, Dq2_tau=1.0),
    ],
)
def test_error_estimate_bounds_true_error(kw):
    """At rtol = 1e-6 the estimate bounds the true error (reference: rtol = 1e-12)
    and the requested accuracy is met."""
    p = P(**kw)
    loose = F0_ode_step(p, rtol=1e-6)
    tight = F0_ode_step(p, rtol=1e-12)
    assert loose.converged and loose.success and loose.status == 0
    assert abs(loose.F0 - tight.F0) <= loose.error_estimate + tight.error_estimate
    assert loose.error_estimate <= 1e-6 * abs(loose.F0)


def test_observed_order_is_five():
    """Radau IIA (3 stages) is of order 5: the differences of F_ODE(0) at 16, 32, 64
    steps per scale fall by 2⁵ = 32 (accepted: 20–45)."""
    from cooperon._ode29 import _solve, _start

    p = P(tau_over_tau3=0.3, gamma_tau=0.1, tau_over_tau1=0.1, E_tau=0.4, Dq2_tau=0.02)
    ch = Channels.from_params(p)
    T, far = _start(ch, p, 1e-10)
    F = [_solve(ch, _par(ch), T, far, n)[0] for n in (8, 16, 32)]
    ratio = abs(F[0] - F[1]) / abs(F[1] - F[2])
    assert 20 < ratio < 45


@pytest.mark.parametrize(
    "kw",
    [
        dict(tau_over_tau1=1e-7, E_tau=3.0),
        dict(tau_over_tau3=1e-7, gamma_tau=1e-7),
        dict(tau_over_tau3=1e-7, gamma_tau=10.0),
        dict(Dq2_tau=1e-7),
    ],
)
def test_slow_rates(kw):
    """Rates of 1e-7 (histories of ~1e8–1e9 τ): converged, finite, and within 1e-5 of
    ∫e^ϑ (both are exact up to O(λ₁) ≤ 1e-6 relative here)."""
    p = P(**kw)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        res = F0_ode_step(p, rtol=1e-8)
    assert res.converged and math.isfinite(res.F0)
    assert res.F0 == pytest.approx(F0_wkb_eq27(p), rel=1e-5)


def test_too_long_history_is_refused():
    """Both channels with 2g ≪ rate ≪ ε: ~10⁶ periods to integrate; refused up front."""
    p = P(tau_over_tau1=1e-5, E_tau=10.0, tau_over_tau3=1e-5, gamma_tau=1e-6)
    with pytest.raises(ArithmeticError, match="too long"):
        F0_ode_step(p)


def test_bad_input():
    p = P(tau_over_tau1=0.2, E_tau=0.5, Dq2_tau=0.1)
    for rtol in (0.0, 1e-13, 0.5, float("nan"), "1e-6"):
        with pytest.raises(ValueError, match="rtol"):
            F0_ode_step(p, rtol=rtol)
    with pytest.raises(NoCutoffError):
        F0_ode_step(P(tau_over_tau3=0.5))
    with pytest.raises(ValueError, match="steps_per_scale"):
        ode29_resolvent(p, [-1.0], steps_per_scale=0)
