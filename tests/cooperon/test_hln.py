"""cooperon.hln: the HLN formula, its units and its least-squares fit."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

from cooperon.hln import (
    B_phi_from_tau_phi,
    FitStatus,
    fit_hln,
    hln,
    hln_bracket,
    tau_phi_from_B_phi,
)

mp.mp.dps = 40
D = 1e-3


def test_bracket_against_mpmath():
    """ψ(½ + x) − ln x to 1e-11 relative for x = 1e-3 ... 1e6 (both branches; the
    direct one loses ≲ eps·ln x/(1/24x²) ≈ 7e-12 to cancellation at x = 20)."""
    x = np.geomspace(1e-3, 1e6, 200)
    want = np.array([float(mp.digamma(0.5 + mp.mpf(v)) - mp.log(mp.mpf(v))) for v in x])
    np.testing.assert_allclose(hln_bracket(x), want, rtol=1e-11)


def test_limits():
    """B ≪ B_φ: Δσ = (1/π)(B/B_φ)²/24; B ≫ B_φ: (1/π)[ln(B/B_φ) − γ_E − ln 4 ... ] → ψ(½)."""
    assert hln(1e-6, 1.0) == pytest.approx(1e-12 / (24 * math.pi), rel=1e-9)
    # x → 0: ψ(½ + x) − ln x → ψ(½) − ln x,  ψ(½) = −γ − 2 ln 2
    x = 1e-9
    assert hln_bracket(x) == pytest.approx(-np.euler_gamma - 2 * math.log(2) - math.log(x), 1e-8)


def test_textbook_film_units():
    """D = 1e-3 m²/s, τ_φ = 1e-10 s: B_φ = ħ/(4eDτ_φ) = 1.6455 mT (exact SI h and e)."""
    hbar, e = 6.62607015e-34 / (2 * math.pi), 1.602176634e-19
    want = hbar / (4 * e * D * 1e-10)
    assert want == pytest.approx(1.6455e-3, rel=1e-4)
    assert B_phi_from_tau_phi(1e-10, D) == pytest.approx(want, rel=1e-12)
    assert tau_phi_from_B_phi(want, D) == pytest.approx(1e-10, rel=1e-12)


@pytest.mark.parametrize("alpha_free, alpha", [(False, 1.0), (True, 0.7)])
def test_fit_recovers_synthetic_data(alpha_free, alpha):
    """Noise-free HLN data: B_φ (and α) back to 1e-9 (the optimiser's xtol is 1e-14)."""
    Bphi = 1.6455e-3
    B = np.geomspace(1e-2, 30, 40) * Bphi
    fit = fit_hln(B, hln(B, Bphi, alpha), D, alpha_free=alpha_free)
    assert fit.status == FitStatus.OK and fit.success, fit.message
    assert fit.B_phi == pytest.approx(Bphi, rel=1e-9)
    assert fit.alpha == pytest.approx(alpha, rel=1e-9)
    assert fit.tau_phi == pytest.approx(tau_phi_from_B_phi(Bphi, D), rel=1e-9)
    assert fit.rms < 1e-12 and np.all(np.abs(fit.residuals) < 1e-12)
    assert fit.window.all()  # all |Δσ| < 1 e²/h here


def test_fit_with_noise_is_within_its_scatter():
    """1 % Gaussian noise on 40 points: B_φ within a few per cent (the statistical error of
    ln B_φ from 40 points at 1 % noise is ~0.5 %; 5 % leaves room)."""
    rng = np.random.default_rng(3)
    Bphi = 2e-4
    B = np.geomspace(1e-2, 30, 40) * Bphi
    y = hln(B, Bphi) * (1 + 0.01 * rng.standard_normal(B.size))
    fit = fit_hln(B, y, D, alpha_free=True)
    assert fit.success
    assert fit.B_phi == pytest.approx(Bphi, rel=0.05)
    assert fit.alpha == pytest.approx(1.0, rel=0.05)


def test_default_window_is_below_one_quantum():
    Bphi = 1e-4
    B = np.geomspace(1e-2, 1e5, 60) * Bphi
    y = hln(B, Bphi)
    fit = fit_hln(B, y, D)
    assert np.array_equal(fit.window, np.abs(y) < 1.0)
    assert fit.success and fit.B_phi == pytest.approx(Bphi, rel=1e-9)
    # outside the window the residuals are still reported (here exactly zero)
    assert np.all(np.abs(fit.residuals) < 1e-12)


def test_too_few_points_is_a_status_not_a_number():
    Bphi = 1e-3
    B = np.geomspace(1e-2, 10, 30) * Bphi
    fit = fit_hln(B, hln(B, Bphi), D, window=(B[3], B[6]))  # 4 points
    assert fit.status == FitStatus.TOO_FEW_POINTS and not fit.success
    assert "4 point" in fit.message and "at least 5" in fit.message
    assert math.isnan(fit.B_phi) and math.isnan(fit.tau_phi) and np.isnan(fit.residuals).all()


def test_degenerate_window_is_reported():
    """All fields deep in the B² regime: only α/B_φ² is determined, α free → NOT_DETERMINED."""
    Bphi = 1.0
    B = np.geomspace(1e-6, 1e-5, 20)
    fit = fit_hln(B, hln(B, Bphi, 0.8), D, alpha_free=True)
    assert fit.status == FitStatus.NOT_DETERMINED, fit.message
    assert math.isnan(fit.B_phi)


def test_no_finite_data():
    B = np.geomspace(1e-3, 1, 10)
    fit = fit_hln(B, np.full(10, np.nan), D)
    assert fit.status == FitStatus.NO_DATA


def test_flag_attrs():
    attrs = FitStatus.flag_attrs()
    assert list(attrs["flag_values"]) == [0, 1, 2, 3, 4]
    assert attrs["flag_meanings"].split()[1] == "too_few_points"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(B=[-1.0, 1.0]), "B must be finite and > 0"),
        (dict(B=[np.nan, 1.0]), "B must be finite and > 0"),
        (dict(D=0.0), "D must be finite and > 0"),
        (dict(D=np.inf), "D must be finite and > 0"),
        (dict(window=(1.0, 0.5)), "B_lo < B_hi"),
        (dict(window="all"), "fit_window must be"),
    ],
)
def test_bad_input(kwargs, match):
    args = dict(B=[0.5, 1.0], delta_sigma=[0.1, 0.2], D=D)
    args.update(kwargs)
    window = args.pop("window", None)
    with pytest.raises(ValueError, match=match):
        fit_hln(args["B"], args["delta_sigma"], args["D"], window=window)
    with pytest.raises(ValueError, match="B_phi"):
        hln(1.0, -1.0)
