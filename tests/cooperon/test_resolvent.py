"""Exact resolvent r(0, s) of Eq. (24) against closed forms and the WKB resolvent (31)."""

import numpy as np
import pytest

from cooperon import Parameters
from cooperon.resolvent import exact_resolvent_at_zero, resolvent_ratio


def test_constant_phi_exact():
    # Φ ≡ 1 (r1 = r3 = 0): k(t, s) = e^{-(t-s)}/(1+Q), whose resolvent is
    # r(t, s) = e^{-Q (t-s)/(1+Q)}/(1+Q) exactly; no kink, so the column solves converge at
    # order 6: 1e-10 relative at h = 0.02
    Q = 0.05
    p = Parameters(Dq2_tau=Q)
    s = -np.array([0.0, 0.5, 3.0, 10.0, 40.0])
    exact = np.exp(Q * s / (1 + Q)) / (1 + Q)
    np.testing.assert_allclose(exact_resolvent_at_zero(p, s), exact, rtol=1e-10)


def test_converges_with_the_kink():
    # with r3 > 0 the right-hand side k(., s) has a kink at t = s/2 on a grid point: the
    # interpolation across it makes the column solves second order; halving h reduces the
    # difference by ~4 (between 3 and 5)
    p = Parameters(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02)
    s = np.array([-5.0])
    r = [exact_resolvent_at_zero(p, s, h)[0] for h in (0.08, 0.04, 0.02)]
    ratio = abs(r[0] - r[1]) / abs(r[1] - r[2])
    assert 3.0 < ratio < 5.0


def test_wkb_ratio_for_constant_phi():
    # Φ ≡ 1, Q = 0.1: r(0,s)/R_WKB(0,s) = e^{Q²|s|/(1+Q)}/(1+Q), not 1 (the exact decay rate
    # is λ₁/(1+Q) = Q/(1+Q), the amplitude 1/(1+Q)): 0.917, 1.090, 1.569 at s = −1, −20, −60.
    # The column solves have no kink here (order 6, 1e-10 at h = 0.02, see above).
    Q = 0.1
    s = np.array([-1.0, -20.0, -60.0])
    ratio = resolvent_ratio(Parameters(Dq2_tau=Q), s)
    np.testing.assert_allclose(ratio, np.exp(Q**2 * np.abs(s) / (1 + Q)) / (1 + Q), rtol=1e-10)
    np.testing.assert_allclose(ratio, [0.917, 1.090, 1.569], atol=6e-4)


def test_wkb_ratio_tends_to_one_for_small_lambda():
    # for λ, Q -> 0 the WKB resolvent (31) becomes exact: r(0,s)/R_WKB(0,s) -> 1 - O(λ, Q)
    small = Parameters(tau_over_tau3=1e-3, gamma_tau=0.1, Dq2_tau=1e-3)
    large = Parameters(tau_over_tau3=0.3, gamma_tau=0.1, Dq2_tau=1e-3)
    s = np.array([-20.0])
    dev_small = abs(resolvent_ratio(small, s)[0] - 1)
    dev_large = abs(resolvent_ratio(large, s)[0] - 1)
    assert dev_small < 5e-3
    assert dev_large > 10 * dev_small


def test_bad_input():
    p = Parameters(Dq2_tau=0.1)
    with pytest.raises(ValueError, match="s must"):
        exact_resolvent_at_zero(p, [1.0])
    with pytest.raises(ValueError, match="h must"):
        exact_resolvent_at_zero(p, [-1.0], h=2.0)
