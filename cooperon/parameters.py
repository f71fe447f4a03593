"""Dimensionless parameters of the Cooperon equation with dynamic defects.

The model (see ``docs/equations.md`` and the paper "Dephasing by dynamic defects")
measures time in units of the total electron relaxation time τ and energies
in units of ħ/τ.  It has five independent dimensionless numbers:

============================  ==========  =============================================
attribute                     symbol      meaning
============================  ==========  =============================================
``tau_over_tau1``             r₁ = τ/τ₁   weight of the resonant (σ₁) channel
``tau_over_tau3``             r₃ = τ/τ₃   weight of the relaxation (σ₃) channel
``E_tau``                     ε = Eτ/ħ    TLS level splitting
``gamma_tau``                 g = γτ/ħ    TLS switching rate
``Dq2_tau``                   Q = Dq²τ    Cooperon momentum
============================  ==========  =============================================

and the derived elastic weight rₑ = τ/τₑ = 1 − r₁ − r₃, which follows from
Eq. (20), τ⁻¹ = τₑ⁻¹ + τ₁⁻¹ + τ₃⁻¹, and guarantees Φ(0) = 1 in Eq. (25).

The valid region is r₁ ≥ 0, r₃ ≥ 0, r₁ + r₃ ≤ 1, ε ≥ 0, g ≥ 0, Q ≥ 0.
F(0) of Eqs. (24)/(32) is finite only if something cuts off the 2D
weak-localisation divergence: Q > 0, or an active dephasing channel
(r₁ > 0 with ε > 0, or r₃ > 0 with g > 0).  Otherwise F(0) = ∞, which this
package reports by raising :class:`NoCutoffError`, never by returning a huge
number or NaN.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import constants as _const

__all__ = [
    "KELVIN_TO_RATE",
    "NoCutoffError",
    "Parameters",
    "fermi_log",
    "g1_factor",
    "g3_factor",
    "require_cutoff",
    "SUM_SLACK",
]

#: Allowed excess of r₁ + r₃ over 1 (rounding slack in the constraint r₁ + r₃ ≤ 1).
SUM_SLACK: float = 1e-12

#: k_B/ħ in s⁻¹ K⁻¹: converts an energy given in kelvin into an angular rate
#: in s⁻¹ (E/ħ).  Default of ``energy_to_rate`` in :meth:`Parameters.from_physical`.
KELVIN_TO_RATE: float = _const.k / _const.hbar

ArrayLike = npt.ArrayLike


class NoCutoffError(ValueError):
    """F(0) is infinite: nothing cuts off the 2D weak-localisation divergence.

    Raised when Q = Dq²τ = 0 and no dephasing channel is active (r₁ > 0
    needs ε > 0, r₃ > 0 needs g > 0).  Then Φ ≡ 1 in Eq. (25), ϑ ≡ 0 in
    Eq. (33), and the integral of Eq. (32) (like the solution of Eq. (24))
    diverges: F(0) = c/Q → ∞.
    """


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _as_real(name: str, value: Any) -> float:
    """Return ``value`` as a finite float, or raise naming ``name``."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a real number, not a bool (got {value!r})")
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number (got {type(value).__name__} {value!r})")
    x = float(value)
    if math.isnan(x):
        raise ValueError(f"{name} must not be NaN")
    if math.isinf(x):
        raise ValueError(f"{name} must be finite (got {x})")
    return x


def _nonneg(name: str, value: Any) -> float:
    x = _as_real(name, value)
    if x < 0.0:
        raise ValueError(f"{name} must lie in [0, ∞) (got {x!r})")
    return x


def _positive(name: str, value: Any) -> float:
    x = _as_real(name, value)
    if x <= 0.0:
        raise ValueError(f"{name} must lie in (0, ∞) (got {x!r})")
    return x


# ---------------------------------------------------------------------------
# thermal factors of Appendix A
# ---------------------------------------------------------------------------


def _scalar_or_array(x: np.ndarray) -> float | np.ndarray:
    """Return a Python float for 0-d results, the array otherwise."""
    return float(x) if np.ndim(x) == 0 else x


def fermi_log(x: ArrayLike, T: ArrayLike) -> float | np.ndarray:
    """Logarithm of the Fermi function, ln n(x) with n(x) = 1/(e^{x/T} + 1).

    Computed as −log(1 + e^{y}), y = x/T, in the form
    −(max(y, 0) + log1p(e^{−|y|})), so it is finite and accurate for any
    finite x/T (no overflow for x/T = ±10⁴).  Vectorised (numpy broadcasting).

    Parameters
    ----------
    x : float or array_like
        Energy measured from the Fermi level (same unit as ``T``).
    T : float or array_like
        Temperature in energy units (k_B = 1), T > 0.

    Returns
    -------
    float or numpy.ndarray
        ln n(x) ≤ 0 (a float for scalar input).
    """
    y = np.asarray(x, dtype=float) / np.asarray(T, dtype=float)
    with np.errstate(under="ignore"):
        out = -(np.maximum(y, 0.0) + np.log1p(np.exp(-np.abs(y))))
    return _scalar_or_array(out)


def g3_factor(E: ArrayLike, T: ArrayLike) -> float | np.ndarray:
    """Thermal factor G₃ = cosh⁻²(E/2T) of Eq. (A6).

    Evaluated as 4e^{−E/T}/(1 + e^{−E/T})², which does not overflow for E ≫ T
    (it underflows gracefully to 0 instead).  Vectorised.

    Parameters
    ----------
    E : float or array_like
        TLS level splitting, E ≥ 0.
    T : float or array_like
        Temperature in the same energy unit, T > 0.

    Returns
    -------
    float or numpy.ndarray
        G₃ ∈ [0, 1] (a float for scalar input).
    """
    x = np.abs(np.asarray(E, dtype=float)) / np.asarray(T, dtype=float)
    with np.errstate(under="ignore"):
        em = np.exp(-x)
        out = 4.0 * em / (1.0 + em) ** 2
    return _scalar_or_array(out)


def g1_factor(E: ArrayLike, T: ArrayLike, eps_e: ArrayLike = 0.0) -> float | np.ndarray:
    """Thermal factor G₁(ε_e) = n(ε_e + E) n(ε_e − E) / n(ε_e)² of Eq. (A5).

    n is the Fermi function.  The product is formed from logarithms
    (:func:`fermi_log`), so E/T = 10⁴ gives 0 without overflow warnings.
    At ε_e = 0 it equals G₃ = cosh⁻²(E/2T) (Eq. A6); by log-concavity of n it
    never exceeds 1.  Vectorised.

    Parameters
    ----------
    E : float or array_like
        TLS level splitting.
    T : float or array_like
        Temperature in the same energy unit, T > 0.
    eps_e : float or array_like, optional
        Electron energy measured from the Fermi level (default 0).

    Returns
    -------
    float or numpy.ndarray
        G₁(ε_e) ∈ [0, 1] (a float for scalar input).
    """
    E = np.asarray(E, dtype=float)
    eps_e = np.asarray(eps_e, dtype=float)
    log_g = (
        np.asarray(fermi_log(eps_e + E, T))
        + np.asarray(fermi_log(eps_e - E, T))
        - 2.0 * np.asarray(fermi_log(eps_e, T))
    )
    with np.errstate(under="ignore"):
        out = np.exp(np.minimum(log_g, 0.0))
    return _scalar_or_array(out)


def _tls_rates(
    E: ArrayLike,
    Lambda: ArrayLike,
    T: float,
    chi: float,
    tau: float,
    tau_i: float,
    eps_e: float = 0.0,
    energy_to_rate: float = KELVIN_TO_RATE,
    thermal_factors: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """r₁, r₃, ε, g of one TLS (or arrays of them) from Eqs. (7), (15), (21), (A5)-(A6).

    The formulas of :meth:`Parameters.from_physical`, vectorised over ``E``
    and ``Lambda`` (broadcast); inputs are assumed validated (E > 0,
    0 ≤ Λ ≤ E, T, τ, τᵢ > 0, χ ≥ 0).  Units as in ``from_physical``.

    Returns
    -------
    tuple of numpy.ndarray
        (r₁ = τ/τ₁, r₃ = τ/τ₃, ε = Eτ/ħ, g = γτ/ħ).
    """
    E = np.asarray(E, dtype=float)
    Lambda = np.asarray(Lambda, dtype=float)
    x = E / (2.0 * T)
    # γ = (Λ/E)² χ E coth(E/2T) = χ Λ² / (E tanh(E/2T)), Eq. (15)
    gamma = chi * (Lambda / E) * Lambda / np.tanh(x)
    if thermal_factors:
        G1 = np.asarray(g1_factor(E, T, eps_e))
        G3 = np.asarray(g3_factor(E, T))
    else:
        G1 = G3 = np.ones_like(E)
    lam2 = (Lambda / (2.0 * E)) ** 2  # (Λ/2E)²
    delta2 = (E - Lambda) * (E + Lambda) / (2.0 * E) ** 2  # (Δ/2E)², no cancellation
    ratio = tau / tau_i
    r1 = ratio * lam2 * G1
    r3 = ratio * delta2 * G3
    return r1, r3, E * energy_to_rate * tau, gamma * energy_to_rate * tau


# ---------------------------------------------------------------------------
# the parameter set
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameters:
    """The five dimensionless numbers of the model (time in units of τ).

    Parameters
    ----------
    tau_over_tau1 : float
        r₁ = τ/τ₁ ≥ 0, weight of the resonant channel in Φ, Eq. (25).
    tau_over_tau3 : float
        r₃ = τ/τ₃ ≥ 0, weight of the relaxation channel in Φ, Eq. (25).
        r₁ + r₃ ≤ 1 (up to a slack of :data:`SUM_SLACK`), because the elastic
        weight rₑ = 1 − r₁ − r₃ of Eq. (20) cannot be negative.
    E_tau : float
        ε = Eτ/ħ ≥ 0, TLS level splitting.
    gamma_tau : float
        g = γτ/ħ ≥ 0, TLS switching rate (Eq. 15).
    Dq2_tau : float
        Q = Dq²τ ≥ 0, Cooperon momentum.

    Raises
    ------
    ValueError
        If a value is negative, NaN, infinite or a bool, or r₁ + r₃ > 1; the
        message names the parameter and its valid range.
    TypeError
        If a value is not a real number.

    Notes
    -----
    All fields are keyword arguments with default 0.  Integers are accepted
    and stored as floats.  Instances are immutable and hashable; use
    :meth:`replace` to derive a modified set.
    """

    tau_over_tau1: float = 0.0
    tau_over_tau3: float = 0.0
    E_tau: float = 0.0
    gamma_tau: float = 0.0
    Dq2_tau: float = 0.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _nonneg(f.name, getattr(self, f.name)))
        total = self.tau_over_tau1 + self.tau_over_tau3
        if total > 1.0 + SUM_SLACK:
            raise ValueError(
                "tau_over_tau1 + tau_over_tau3 must lie in [0, 1] (the elastic weight "
                f"tau/tau_e = 1 - r1 - r3 of Eq. (20) cannot be negative); got "
                f"tau_over_tau1 = {self.tau_over_tau1!r}, tau_over_tau3 = "
                f"{self.tau_over_tau3!r}, sum = {total!r}"
            )

    # -- derived quantities --------------------------------------------------

    @property
    def tau_over_taue(self) -> float:
        """rₑ = τ/τₑ = 1 − r₁ − r₃, the elastic weight of Eqs. (20), (25).

        May be negative by at most :data:`SUM_SLACK` (rounding slack).
        """
        return 1.0 - self.tau_over_tau1 - self.tau_over_tau3

    @property
    def resonant_active(self) -> bool:
        """True if the σ₁ channel dephases: r₁ > 0 and ε > 0 (Eq. 33)."""
        return self.tau_over_tau1 > 0.0 and self.E_tau > 0.0

    @property
    def relaxation_active(self) -> bool:
        """True if the σ₃ channel dephases: r₃ > 0 and g > 0 (Eq. 33)."""
        return self.tau_over_tau3 > 0.0 and self.gamma_tau > 0.0

    @property
    def has_cutoff(self) -> bool:
        """True if F(0) of Eqs. (24)/(32) is finite.

        That is the case if Q > 0, or r₁ > 0 and ε > 0, or r₃ > 0 and g > 0.
        """
        return self.Dq2_tau > 0.0 or self.resonant_active or self.relaxation_active

    @property
    def dephasing_rate(self) -> float:
        """Asymptotic decay rate of exp(ϑ(t)) as t → −∞ (units of 1/τ).

        From Eq. (33), ϑ(t)/t → Q + r₁[ε > 0] + r₃[g > 0]: the bracketed terms
        of ϑ are linear in t up to bounded corrections.  This is the scale
        ``Q + rate`` that sets F(0) ~ 1/(Q + rate).
        """
        rate = self.Dq2_tau
        if self.E_tau > 0.0:
            rate += self.tau_over_tau1
        if self.gamma_tau > 0.0:
            rate += self.tau_over_tau3
        return rate

    def require_cutoff(self) -> Parameters:
        """Return ``self`` if F(0) is finite, else raise :class:`NoCutoffError`."""
        return require_cutoff(self)

    def replace(self, **changes: float) -> Parameters:
        """Return a copy with some fields replaced (validated again)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, float]:
        """Return the five fields as a plain ``dict`` (name → float)."""
        return dataclasses.asdict(self)

    # -- physical input --------------------------------------------------------

    @classmethod
    def from_physical(
        cls,
        *,
        E: float,
        Lambda: float,
        T: float,
        chi: float,
        tau: float,
        tau_i: float,
        Dq2: float = 0.0,
        eps_e: float = 0.0,
        energy_to_rate: float = KELVIN_TO_RATE,
        thermal_factors: bool = True,
    ) -> Parameters:
        """Build the dimensionless parameters from physical TLS quantities.

        Uses Eq. (7) Δ = √(E² − Λ²), Eq. (15) γ = (Λ/E)² χ E coth(E/2T),
        Eq. (21) 1/τ₁ = (1/τᵢ)(Λ/2E)² G₁, 1/τ₃ = (1/τᵢ)(Δ/2E)² G₃, and
        Eqs. (A5)-(A6) G₁ = n(ε_e+E) n(ε_e−E)/n(ε_e)², G₃ = cosh⁻²(E/2T).

        Units: energies ``E``, ``Lambda``, ``T`` and ``eps_e`` share one unit (k_B = 1,
        so a temperature is an energy); times ``tau`` and ``tau_i`` share one
        unit and ``Dq2`` is a rate in the inverse of that unit.  An energy
        ``X`` is converted to a rate X/ħ as ``X * energy_to_rate``.  The
        default ``energy_to_rate = k_B/ħ`` (:data:`KELVIN_TO_RATE`,
        ≈ 1.309e11 s⁻¹K⁻¹) means: energies in kelvin, times in seconds,
        ``Dq2`` in s⁻¹ -- the units of the paper's estimates (Λ₀ ≈ 10 mK,
        τ_Λ ≈ 10⁻⁹ s).  ``energy_to_rate = 1`` gives natural units with
        ħ = k_B = 1 (any common unit, rates = energies).

        Parameters
        ----------
        E : float
            TLS level splitting E > 0.
        Lambda : float
            Tunnelling amplitude Λ, 0 ≤ Λ ≤ E.
        T : float
            Temperature T > 0 (energy unit).
        chi : float
            Dimensionless coupling χ ≥ 0 of Eq. (15) (the paper quotes
            0.01-0.3; not enforced).
        tau : float
            Total electron relaxation time τ > 0.
        tau_i : float
            Inelastic time scale τᵢ > 0 of Eq. (21).
        Dq2 : float, optional
            D q² ≥ 0, a rate (inverse time unit).  Default 0.
        eps_e : float, optional
            Electron energy ε_e at which G₁ of Eq. (A5) is evaluated
            (default 0, where G₁ = G₃).
        energy_to_rate : float, optional
            Factor converting an energy to a rate (1/ħ in the chosen units).
        thermal_factors : bool, optional
            If True (default) include G₁ and G₃.  If False set G₁ = G₃ = 1, as
            the paper does after Eq. (21) ("put them to 1 in the following").

        Returns
        -------
        Parameters
            r₁ = τ/τ₁, r₃ = τ/τ₃, ε = Eτ/ħ, g = γτ/ħ, Q = Dq²τ.

        Raises
        ------
        ValueError
            For inputs out of range, or if r₁ + r₃ > 1 (τ/τᵢ too large: the
            inelastic rates would exceed the total rate 1/τ of Eq. 20); the
            message names the offending inputs.
        """
        E = _positive("E", E)
        Lambda = _nonneg("Lambda", Lambda)
        if Lambda > E:
            raise ValueError(
                f"Lambda must lie in [0, E] (Delta = sqrt(E^2 - Lambda^2), Eq. 7); "
                f"got Lambda = {Lambda!r} > E = {E!r}"
            )
        T = _positive("T", T)
        chi = _nonneg("chi", chi)
        tau = _positive("tau", tau)
        tau_i = _positive("tau_i", tau_i)
        Dq2 = _nonneg("Dq2", Dq2)
        eps_e = _as_real("eps_e", eps_e)
        energy_to_rate = _positive("energy_to_rate", energy_to_rate)

        r1, r3, eps, g = (
            float(v)
            for v in _tls_rates(
                E, Lambda, T, chi, tau, tau_i, eps_e, energy_to_rate, thermal_factors
            )
        )
        if r1 + r3 > 1.0 + SUM_SLACK:
            raise ValueError(
                "unphysical input: tau/tau_1 + tau/tau_3 = "
                f"{r1 + r3!r} > 1 (Eq. 20 requires the inelastic rates not to exceed 1/tau); "
                f"reduce tau/tau_i (tau = {tau!r}, tau_i = {tau_i!r}) or change E = {E!r}, "
                f"Lambda = {Lambda!r}, T = {T!r}, eps_e = {eps_e!r}"
            )
        return cls(tau_over_tau1=r1, tau_over_tau3=r3, E_tau=eps, gamma_tau=g, Dq2_tau=Dq2 * tau)


def require_cutoff(params: Parameters) -> Parameters:
    """Check that F(0) is finite; raise :class:`NoCutoffError` otherwise.

    Parameters
    ----------
    params : Parameters
        The parameter set.

    Returns
    -------
    Parameters
        ``params`` unchanged, for chaining.

    Raises
    ------
    NoCutoffError
        If Q = 0 and no dephasing channel is active.  Then Φ ≡ 1 (Eq. 25),
        ϑ ≡ 0 (Eq. 33) and F(0) = ∞: the 2D weak-localisation divergence.
    """
    if not isinstance(params, Parameters):
        raise TypeError(f"expected Parameters, got {type(params).__name__}")
    if not params.has_cutoff:
        raise NoCutoffError(
            "F(0) = infinity: nothing cuts off the 2D weak-localisation divergence "
            "(Dq2_tau = 0 and no active dephasing channel: tau_over_tau1 > 0 needs "
            "E_tau > 0, tau_over_tau3 > 0 needs gamma_tau > 0; Eqs. 25, 33). "
            f"Got {params!r}"
        )
    return params
