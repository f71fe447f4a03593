"""The paper's crossover scales and asymptotic dephasing rates (Sec. II, Eqs. 5, 6, 42-53).

Physical units as in :meth:`cooperon.parameters.Parameters.from_physical`:
energies (Λ₀, E*, T, E, γ and the crossover temperatures) in kelvin, times in
seconds, rates in s⁻¹; ``energy_to_rate`` = k_B/ħ converts an energy X into
the rate X/ħ (``energy_to_rate = 1`` gives natural units ħ = k_B = 1).  All
functions are vectorised over their arguments (numpy broadcasting).

The formulas are the paper's, without the O(1) prefactors it leaves out
(e.g. the 1/4 of (Λ/2E)² in Eq. 21, 2χT for γ₀ in Eq. 45 and the γ_E of the
asymptotics of Eq. 34).  Each docstring states the condition under which the
paper derives it; ``tests/cooperon/test_asymptotes.py`` checks the exponents
against Eq. (34) with the averaged Γ̄ of :class:`cooperon.ensembles.TunnelingModel`
in those windows and reports the prefactor ratios.

Scales (tunnelling-states model, Eq. 37):

* τ_Λ = τᵢ E*/Λ₀ (43), the time of the defects with symmetric potentials,
* T_Λ = (ħΛ₀/τ_Λ)^{1/2} (43), the splitting with E τ_φ/ħ = 1,
* T_α = ħ/(χ τ_Λ) (after 49), where E_χ = Λ₀,
* T_β = Λ₀^{3/2}/T_α^{1/2} (after 50), where E_χ = T,
* E_χ = Λ₀ (χ T τ_Λ/ħ)^{1/3} (49), the splitting with γ τ_φ = 1.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .parameters import KELVIN_TO_RATE

__all__ = [
    "E_chi",
    "T_Lambda",
    "T_alpha",
    "T_beta",
    "rate_eq44",
    "rate_eq50",
    "rate_eq51",
    "rate_eq52",
    "rate_eq53",
    "scales",
    "tau_Lambda",
    "tau_phi_eq5",
    "tau_phi_eq6",
]

ArrayLike = npt.ArrayLike
FloatOrArray = float | np.ndarray


def _pos(name: str, value: ArrayLike) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if not np.isfinite(arr).all() or (arr <= 0.0).any():
        raise ValueError(f"{name} must lie in (0, ∞) (got {value!r})")
    return arr


def _out(x: np.ndarray) -> FloatOrArray:
    return float(x) if np.ndim(x) == 0 else x


# ---------------------------------------------------------------------------
# scales
# ---------------------------------------------------------------------------


def tau_Lambda(tau_i: ArrayLike, E_star: ArrayLike, Lambda0: ArrayLike) -> FloatOrArray:
    """τ_Λ = τᵢ E*/Λ₀, Eq. (43) (s).

    Eq. (56) writes the same as 1/τ_Λ = Λ₀ P_d σ_in v_F with P_d = n_d/E*
    (see :mod:`cooperon.estimates`).
    """
    return _out(_pos("tau_i", tau_i) * _pos("E_star", E_star) / _pos("Lambda0", Lambda0))


def T_Lambda(
    Lambda0: ArrayLike, tau_Lambda: ArrayLike, energy_to_rate: float = KELVIN_TO_RATE
) -> FloatOrArray:
    """T_Λ = (ħΛ₀/τ_Λ)^{1/2}, Eq. (43) (K): the splitting at which Eτ_φ/ħ = 1."""
    L0 = _pos("Lambda0", Lambda0)
    return _out(np.sqrt(L0 / (_pos("tau_Lambda", tau_Lambda) * energy_to_rate)))


def T_alpha(
    chi: ArrayLike, tau_Lambda: ArrayLike, energy_to_rate: float = KELVIN_TO_RATE
) -> FloatOrArray:
    """T_α = ħ/(χ τ_Λ), defined after Eq. (49) (K): the temperature at which E_χ = Λ₀."""
    return _out(1.0 / (_pos("chi", chi) * _pos("tau_Lambda", tau_Lambda) * energy_to_rate))


def T_beta(Lambda0: ArrayLike, T_alpha: ArrayLike) -> FloatOrArray:
    """T_β = Λ₀^{3/2}/T_α^{1/2}, defined after Eq. (50) (K): the temperature at which E_χ = T.

    Λ₀ = T_β^{2/3} T_α^{1/3}, so Λ₀ lies between T_β and T_α, and
    T_α/T_β = (T_α/Λ₀)^{3/2} (the paper prints the inverse, (χΛ₀τ_Λ/ħ)^{3/2}).
    """
    L0 = _pos("Lambda0", Lambda0)
    return _out(L0**1.5 / np.sqrt(_pos("T_alpha", T_alpha)))


def E_chi(
    T: ArrayLike,
    Lambda0: ArrayLike,
    chi: ArrayLike,
    tau_Lambda: ArrayLike,
    energy_to_rate: float = KELVIN_TO_RATE,
) -> FloatOrArray:
    """E_χ = Λ₀ (χ T τ_Λ/ħ)^{1/3}, Eq. (49) (K): the splitting with γ τ_φ = 1.

    Defects with E < E_χ switch during τ_φ ("fast"), those with E > E_χ do not.
    """
    x = _pos("chi", chi) * _pos("T", T) * _pos("tau_Lambda", tau_Lambda) * energy_to_rate
    return _out(_pos("Lambda0", Lambda0) * np.cbrt(x))


def scales(
    T: ArrayLike,
    Lambda0: float,
    E_star: float,
    chi: float,
    tau_i: float,
    energy_to_rate: float = KELVIN_TO_RATE,
) -> dict[str, FloatOrArray]:
    """All crossover scales of the tunnelling model: τ_Λ, T_Λ, T_α, T_β, E_χ(T).

    Returns
    -------
    dict
        ``tau_Lambda`` (s), ``T_Lambda``, ``T_alpha``, ``T_beta``, ``E_chi`` (K).
    """
    tL = tau_Lambda(tau_i, E_star, Lambda0)
    Ta = T_alpha(chi, tL, energy_to_rate)
    return {
        "tau_Lambda": tL,
        "T_Lambda": T_Lambda(Lambda0, tL, energy_to_rate),
        "T_alpha": Ta,
        "T_beta": T_beta(Lambda0, Ta),
        "E_chi": E_chi(T, Lambda0, chi, tL, energy_to_rate),
    }


# ---------------------------------------------------------------------------
# asymptotic rates
# ---------------------------------------------------------------------------


def rate_eq44(
    T: ArrayLike, Lambda0: ArrayLike, tau_Lambda: ArrayLike, energy_to_rate: float = KELVIN_TO_RATE
) -> FloatOrArray:
    """Resonant channel, Eq. (44): 1/τ_φ⁽¹⁾ (s⁻¹).

    1/τ_φ⁽¹⁾ = (1/τ_Λ)(Λ₀/T_Λ) min{(T/T_Λ)^{1/3}, 1}   for T_Λ ≫ Λ₀,
    1/τ_φ⁽¹⁾ = 1/τ_Λ                                  for T_Λ ≪ Λ₀.

    Valid for Λ₀ ≪ T (below, the TLS freeze out: rapid fall) and T ≪ E*.  The
    first line is T^{1/3} for Λ₀ ≪ T ≪ T_Λ (phase wandering of every defect,
    Eq. 38) and T-independent (Eq. 42) for Λ₀ ≪ T_Λ ≪ T (condition 40).
    """
    T = _pos("T", T)
    L0 = _pos("Lambda0", Lambda0)
    tL = _pos("tau_Lambda", tau_Lambda)
    TL = np.asarray(T_Lambda(L0, tL, energy_to_rate))
    wandering = (L0 / TL) * np.minimum(np.cbrt(T / TL), 1.0) / tL
    return _out(np.where(TL > L0, wandering, 1.0 / tL))


def rate_eq50(T: ArrayLike, T_alpha: ArrayLike, tau_Lambda: ArrayLike) -> FloatOrArray:
    """Relaxation channel, Eq. (50): 1/τ_φ⁽³⁾ = (1/τ_Λ)(T/T_α)^{1/3} (s⁻¹).

    Valid for T ≫ T_α, T_β (i.e. Λ₀ ≪ E_χ ≪ T, condition 47), and T ≪ E*.
    """
    return _out(np.cbrt(_pos("T", T) / _pos("T_alpha", T_alpha)) / _pos("tau_Lambda", tau_Lambda))


def rate_eq51(T: ArrayLike, Lambda0: ArrayLike, tau_Lambda: ArrayLike) -> FloatOrArray:
    """Relaxation channel, Eq. (51): 1/τ_φ⁽³⁾ = (1/τ_Λ)(T/Λ₀) (s⁻¹).

    Valid for T_β ≫ T ≫ Λ₀ (all thermal defects fast, E_χ ≫ T); the window
    exists only if T_β > Λ₀, i.e. T_α < Λ₀.
    """
    return _out(_pos("T", T) / _pos("Lambda0", Lambda0) / _pos("tau_Lambda", tau_Lambda))


def rate_eq52(T: ArrayLike, T_alpha: ArrayLike, tau_Lambda: ArrayLike) -> FloatOrArray:
    """Relaxation channel, Eq. (52): 1/τ_φ⁽³⁾ = (1/τ_Λ)(T/T_α)^{1/2} (s⁻¹).

    Valid for T_α ≫ T ≫ max(T_β, Λ₀) (every defect slow, E_χ → Λ₀); the
    window exists only if T_α > Λ₀.
    """
    return _out(np.sqrt(_pos("T", T) / _pos("T_alpha", T_alpha)) / _pos("tau_Lambda", tau_Lambda))


def rate_eq53(
    T: ArrayLike, T_alpha: ArrayLike, tau_Lambda: ArrayLike, zeta: float = 1.0
) -> FloatOrArray:
    """Total rate, Eq. (53): 1/τ_φ = (1/τ_Λ)[(T/T_α)^{1/3} + ζ] (s⁻¹).

    Valid for T ≥ T_α, T_β (relaxation dominates) with ζ ~ 1 the resonant
    contribution (Eq. 44 for T_Λ ≪ Λ₀ or T ≫ T_Λ); the paper does not fix ζ.
    """
    return _out(
        (np.cbrt(_pos("T", T) / _pos("T_alpha", T_alpha)) + float(zeta))
        / _pos("tau_Lambda", tau_Lambda)
    )


def tau_phi_eq5(
    tau_1: ArrayLike, E: ArrayLike, energy_to_rate: float = KELVIN_TO_RATE
) -> FloatOrArray:
    """Identical defects, resonant channel, Eq. (5): τ_φ⁽¹⁾ = max{τ₁, τ₁^{1/3}(ħ/E)^{2/3}} (s).

    τ₁ for phase jumps (Eτ_φ/ħ ≫ 1, Eq. 39), τ₁^{1/3}(ħ/E)^{2/3} for phase
    wandering (Eτ_φ/ħ ≪ 1, Eq. 38).  ``E`` in kelvin.
    """
    t1 = _pos("tau_1", tau_1)
    hbar_over_E = 1.0 / (_pos("E", E) * energy_to_rate)
    return _out(np.maximum(t1, np.cbrt(t1) * hbar_over_E ** (2.0 / 3.0)))


def tau_phi_eq6(
    tau_3: ArrayLike, gamma: ArrayLike, energy_to_rate: float = KELVIN_TO_RATE
) -> FloatOrArray:
    """Identical defects, relaxation channel, Eq. (6): τ_φ⁽³⁾ = max{τ₃, (τ₃/γ)^{1/2}} (s).

    τ₃ when the defects switch often during τ_φ (γτ_φ/ħ ≫ 1, Eq. 46),
    (τ₃ħ/γ)^{1/2} when they rarely do (γτ_φ/ħ ≪ 1, Eq. 45).  ``gamma`` is the
    switching rate of Eq. (15) as an energy, in kelvin.
    """
    t3 = _pos("tau_3", tau_3)
    rate = _pos("gamma", gamma) * energy_to_rate
    return _out(np.maximum(t3, np.sqrt(t3 / rate)))
