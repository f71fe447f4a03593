"""Tests of cooperon.parameters: validation, derived quantities, physical input."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import constants

from cooperon.parameters import (
    KELVIN_TO_RATE,
    SUM_SLACK,
    NoCutoffError,
    Parameters,
    g1_factor,
    g3_factor,
    require_cutoff,
)

FIELDS = ("tau_over_tau1", "tau_over_tau3", "E_tau", "gamma_tau", "Dq2_tau")


# --------------------------------------------------------------------------
# construction and validation
# --------------------------------------------------------------------------


def test_defaults_are_zero_and_have_no_cutoff():
    p = Parameters()
    assert p.as_dict() == dict.fromkeys(FIELDS, 0.0)
    assert p.tau_over_taue == 1.0
    assert not p.has_cutoff
    assert p.dephasing_rate == 0.0


def test_integers_are_stored_as_floats():
    p = Parameters(tau_over_tau1=1, E_tau=2, Dq2_tau=np.int64(3))
    assert all(type(v) is float for v in p.as_dict().values())
    assert p.E_tau == 2.0 and p.Dq2_tau == 3.0


def test_frozen_and_hashable():
    p = Parameters(Dq2_tau=0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.Dq2_tau = 0.2  # type: ignore[misc]
    assert hash(p) == hash(Parameters(Dq2_tau=0.1))


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize(
    "bad", [-1e-300, -0.5, math.nan, math.inf, -math.inf, True, np.bool_(False)]
)
def test_invalid_value_raises_valueerror_naming_parameter(name, bad):
    with pytest.raises(ValueError, match=name):
        Parameters(**{name: bad})


@pytest.mark.parametrize("name", FIELDS)
def test_negative_message_states_valid_range(name):
    with pytest.raises(ValueError, match=r"\[0, ∞\)"):
        Parameters(**{name: -1.0})


@pytest.mark.parametrize("name", FIELDS)
def test_non_number_raises_typeerror(name):
    with pytest.raises(TypeError, match=name):
        Parameters(**{name: "0.1"})
    with pytest.raises(TypeError, match=name):
        Parameters(**{name: 0.1 + 0j})


def test_r1_plus_r3_above_one_rejected_naming_both():
    with pytest.raises(ValueError, match="tau_over_tau1") as exc:
        Parameters(tau_over_tau1=0.6, tau_over_tau3=0.5)
    assert "tau_over_tau3" in str(exc.value) and "[0, 1]" in str(exc.value)
    # just outside the rounding slack
    with pytest.raises(ValueError):
        Parameters(tau_over_tau1=0.5, tau_over_tau3=0.5 + 10 * SUM_SLACK)


def test_r1_plus_r3_slack_allowed():
    p = Parameters(tau_over_tau1=0.5, tau_over_tau3=0.5 + 0.5 * SUM_SLACK)
    assert -SUM_SLACK <= p.tau_over_taue <= 0.0
    assert Parameters(tau_over_tau1=1.0).tau_over_taue == 0.0


def test_replace_revalidates_and_as_dict_roundtrip():
    p = Parameters(tau_over_tau1=0.2, E_tau=3.0)
    q = p.replace(Dq2_tau=0.5)
    assert q.Dq2_tau == 0.5 and q.E_tau == 3.0 and p.Dq2_tau == 0.0
    assert Parameters(**q.as_dict()) == q
    with pytest.raises(ValueError, match="gamma_tau"):
        p.replace(gamma_tau=-1.0)
    with pytest.raises(ValueError, match="tau_over_tau3"):
        p.replace(tau_over_tau3=0.9)


# --------------------------------------------------------------------------
# derived quantities
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, cutoff, rate",
    [
        ({}, False, 0.0),
        ({"Dq2_tau": 0.1}, True, 0.1),
        ({"tau_over_tau1": 0.3}, False, 0.0),  # ε = 0: resonant channel frozen
        ({"tau_over_tau1": 0.3, "E_tau": 1.0}, True, 0.3),
        ({"E_tau": 1.0}, False, 0.0),  # ε > 0 but r₁ = 0
        ({"tau_over_tau3": 0.3}, False, 0.0),  # g = 0: relaxation channel frozen
        ({"tau_over_tau3": 0.3, "gamma_tau": 1.0}, True, 0.3),
        ({"gamma_tau": 1.0, "E_tau": 2.0}, False, 0.0),
        ({"tau_over_tau1": 0.25, "tau_over_tau3": 0.5, "E_tau": 1, "gamma_tau": 1}, True, 0.75),
        ({"tau_over_tau1": 0.25, "tau_over_tau3": 0.5, "E_tau": 1, "Dq2_tau": 0.1}, True, 0.35),
    ],
)
def test_has_cutoff_and_dephasing_rate(kw, cutoff, rate):
    p = Parameters(**kw)
    assert p.has_cutoff is cutoff
    # exact: sums of at most three of the given binary fractions / decimals
    assert p.dephasing_rate == pytest.approx(rate, rel=1e-15, abs=0.0)
    if cutoff:
        assert require_cutoff(p) is p
        assert p.require_cutoff() is p
    else:
        with pytest.raises(NoCutoffError, match="infinity"):
            require_cutoff(p)
        with pytest.raises(ValueError):  # NoCutoffError is a ValueError
            p.require_cutoff()


def test_no_cutoff_message_explains_divergence():
    with pytest.raises(NoCutoffError) as exc:
        require_cutoff(Parameters(tau_over_tau1=0.5))
    msg = str(exc.value)
    assert "weak-localisation divergence" in msg and "E_tau > 0" in msg


def test_require_cutoff_type_check():
    with pytest.raises(TypeError):
        require_cutoff({"Dq2_tau": 1.0})  # type: ignore[arg-type]


@st.composite
def parameter_sets(draw):
    r1 = draw(st.floats(0.0, 1.0))
    r3 = draw(st.floats(0.0, 1.0 - r1))
    return Parameters(
        tau_over_tau1=r1,
        tau_over_tau3=r3,
        E_tau=draw(st.floats(0.0, 1e3)),
        gamma_tau=draw(st.floats(0.0, 1e3)),
        Dq2_tau=draw(st.floats(0.0, 1e3)),
    )


@settings(max_examples=60, deadline=None)
@given(parameter_sets())
def test_property_elastic_weight_and_cutoff_consistency(p):
    assert p.tau_over_taue == 1.0 - p.tau_over_tau1 - p.tau_over_tau3
    assert p.tau_over_taue >= -SUM_SLACK
    assert p.has_cutoff == (p.dephasing_rate > 0.0)


# --------------------------------------------------------------------------
# thermal factors (Appendix A) and from_physical
# --------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.floats(1e-6, 700.0), st.floats(1e-3, 1e3))
def test_g1_at_zero_energy_equals_g3(x, T):
    """G₁(0) = n(E) n(−E)/n(0)² = 4/(2 + 2cosh(E/T)) = cosh⁻²(E/2T) = G₃ (A5, A6).

    Both sides are evaluated through exp/log with O(1) relative rounding per
    operation on arguments up to E/T = 700; 1e-12 relative is ample.
    """
    E = x * T
    assert g1_factor(E, T, 0.0) == pytest.approx(g3_factor(E, T), rel=1e-12, abs=0.0)
    assert g3_factor(E, T) == pytest.approx(1.0 / math.cosh(x / 2) ** 2, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 50.0), st.floats(-50.0, 50.0))
def test_g1_between_zero_and_one(x, e):
    """ln n is concave, so n(ε+E)n(ε−E) ≤ n(ε)²: 0 ≤ G₁ ≤ 1."""
    assert 0.0 <= g1_factor(x, 1.0, e) <= 1.0


def test_g1_far_above_fermi_level_tends_to_one():
    # ε_e − E ≫ T: every Fermi factor is Boltzmann, the ratio → 1 (error e^{−(ε−E)/T})
    assert g1_factor(2.0, 1.0, eps_e=60.0) == pytest.approx(1.0, rel=1e-20, abs=1e-20)


def test_from_physical_natural_units_exact_values():
    """energy_to_rate = 1 (ħ = k_B = 1): all numbers by hand.

    E = 2, Λ = 1, T = 1: Δ² = 3, x = E/2T = 1, G₁(0) = G₃ = cosh⁻²(1),
    γ = (1/2)² · 0.1 · 2 · coth(1) = 0.05 coth(1); τ = 0.5, τᵢ = 2 (ratio 1/4):
    r₁ = (1/4)(1/16)G, r₃ = (1/4)(3/16)G, ε = 1, g = 0.5 γ, Q = 0.3 · 0.5.
    Tolerance: a few roundings in each expression.
    """
    p = Parameters.from_physical(
        E=2.0, Lambda=1.0, T=1.0, chi=0.1, tau=0.5, tau_i=2.0, Dq2=0.3, energy_to_rate=1.0
    )
    G = 1.0 / math.cosh(1.0) ** 2
    assert p.tau_over_tau1 == pytest.approx(G / 64, rel=1e-14)
    assert p.tau_over_tau3 == pytest.approx(3 * G / 64, rel=1e-14)
    assert p.E_tau == pytest.approx(1.0, rel=1e-15)
    assert p.gamma_tau == pytest.approx(0.5 * 0.05 / math.tanh(1.0), rel=1e-14)
    assert p.Dq2_tau == pytest.approx(0.15, rel=1e-15)


def test_from_physical_default_units_kelvin_and_seconds():
    """Default: energies in K, times in s; E/ħ = E·k_B/ħ (k_B/ħ ≈ 1.309e11 s⁻¹K⁻¹)."""
    assert KELVIN_TO_RATE == pytest.approx(constants.k / constants.hbar, rel=1e-15)
    assert 1.0 / KELVIN_TO_RATE == pytest.approx(7.6382e-12, rel=1e-4)  # ħ/k_B in s·K
    tau = 1e-12
    p = Parameters.from_physical(E=0.01, Lambda=0.01, T=0.05, chi=0.1, tau=tau, tau_i=1e-9)
    assert p.E_tau == pytest.approx(0.01 * constants.k / constants.hbar * tau, rel=1e-14)
    # Λ = E: Δ = 0 -> no relaxation channel; γ = χ E coth(E/2T)
    assert p.tau_over_tau3 == 0.0
    gamma = 0.1 * 0.01 / math.tanh(0.1)
    assert p.gamma_tau == pytest.approx(gamma * KELVIN_TO_RATE * tau, rel=1e-14)
    assert p.tau_over_tau1 == pytest.approx(1e-3 * 0.25 / math.cosh(0.1) ** 2, rel=1e-14)


def test_from_physical_without_thermal_factors():
    kw = dict(E=3.0, Lambda=1.0, T=0.5, chi=0.1, tau=1.0, tau_i=10.0, energy_to_rate=1.0)
    p = Parameters.from_physical(**kw, thermal_factors=False)
    assert p.tau_over_tau1 == pytest.approx(0.1 / 36, rel=1e-14)
    assert p.tau_over_tau3 == pytest.approx(0.1 * 8 / 36, rel=1e-14)
    q = Parameters.from_physical(**kw)
    assert q.tau_over_tau1 < p.tau_over_tau1 and q.tau_over_tau3 < p.tau_over_tau3


def test_from_physical_lambda_zero():
    p = Parameters.from_physical(E=1.0, Lambda=0.0, T=1.0, chi=0.3, tau=1.0, tau_i=4.0)
    assert p.tau_over_tau1 == 0.0 and p.gamma_tau == 0.0
    assert p.tau_over_tau3 == pytest.approx(0.25 * 0.25 / math.cosh(0.5) ** 2, rel=1e-14)


def test_from_physical_large_E_over_T_is_stable():
    """E/T = 10⁴: G₁, G₃ underflow to 0 quietly; coth → 1; no warnings at all."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            p = Parameters.from_physical(
                E=1e4, Lambda=5e3, T=1.0, chi=0.1, tau=1e-3, tau_i=1e-3, energy_to_rate=1.0
            )
            g1 = g1_factor(1e4, 1.0, 0.0)
            g3 = g3_factor(1e4, 1.0)
    assert g1 == 0.0 and g3 == 0.0
    assert p.tau_over_tau1 == 0.0 and p.tau_over_tau3 == 0.0
    assert p.gamma_tau == pytest.approx(0.1 * 0.25 * 1e4 * 1e-3, rel=1e-14)
    # moderately large: G ≈ 4 e^{−E/T} with E/T = 600 (no overflow of cosh)
    assert g3_factor(600.0, 1.0) == pytest.approx(4 * math.exp(-600.0), rel=1e-13)


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"E": 0.0}, "E"),
        ({"E": -1.0}, "E"),
        ({"Lambda": 2.0}, "Lambda"),
        ({"Lambda": -0.1}, "Lambda"),
        ({"T": 0.0}, "T"),
        ({"chi": -0.1}, "chi"),
        ({"tau": 0.0}, "tau"),
        ({"tau_i": -1.0}, "tau_i"),
        ({"Dq2": -1.0}, "Dq2"),
        ({"eps_e": math.nan}, "eps_e"),
        ({"E": True}, "E"),
        ({"energy_to_rate": 0.0}, "energy_to_rate"),
    ],
)
def test_from_physical_invalid_inputs(kw, name):
    base = dict(E=1.0, Lambda=0.5, T=1.0, chi=0.1, tau=1.0, tau_i=10.0)
    base.update(kw)
    with pytest.raises(ValueError, match=name):
        Parameters.from_physical(**base)


def test_from_physical_unphysical_rates_name_inputs():
    """τ/τᵢ = 100 at E ≪ T gives r₁ + r₃ ≈ 100/4 > 1: Eq. (20) violated."""
    with pytest.raises(ValueError, match="tau_i") as exc:
        Parameters.from_physical(E=1e-3, Lambda=5e-4, T=1.0, chi=0.1, tau=100.0, tau_i=1.0)
    assert "tau =" in str(exc.value) and "> 1" in str(exc.value)
