"""Sec. III of the paper recomputed: τ_Λ, T_Λ, T_α, T_β and Eq. (57) from its numbers.

The paper takes P_d ≈ 10³⁴ erg⁻¹cm⁻³, σ_in ≈ 10⁻¹⁵ cm², v_F ≈ 10⁸ cm/s and
Λ₀ ≈ 10 mK, and states τ_Λ ≈ 10⁻⁹ s, T_Λ ≃ Λ₀ and T_α ≈ T_β ≈ 10 mK; for
Eq. (57) it takes ω₀ ≈ 10¹⁴ s⁻¹, a ≈ 10⁻⁸ cm, U₀ ≈ 0.2 eV and finds
Λ = 10 mK "achievable for M ≈ 2×10⁻²³ g".  :func:`sec3_estimates` recomputes
every number from the definitions (CGS, scipy.constants) and puts it beside
the stated one, so the mismatches show as numbers:

* T_α = ħ/(χτ_Λ) is ≈ 10 mK only for χ ≈ 1.05, outside the stated range
  χ ≈ 0.01-0.3 (where T_α = 1055-35 mK and T_β = 0.97-5.3 mK);
* the printed ratio T_α/T_β = (χΛ₀τ_Λ/ħ)^{3/2} is the inverse of what the
  definitions give, (ħ/χΛ₀τ_Λ)^{3/2} = (T_α/Λ₀)^{3/2};
* for U(r) = (U₀/2)[1 − cos(2πr/a)] the exponent of Eq. (57) is
  (2/ħ)∫₀^a √(2MU) dr = (4a/πħ)√(2U₀M), not the printed (2a/πħ)√(2U₀M);
  Λ = 10 mK then needs M ≈ 1.1×10⁻²⁴ g (4.4×10⁻²⁴ g with the printed
  exponent), and the paper's M ≈ 2×10⁻²³ g gives Λ ≈ 10⁻⁷ K even with the
  printed exponent (≈ 4×10⁻¹⁷ K with the correct one).

:func:`format_estimates` renders the table for printing.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from scipy import constants

__all__ = ["format_estimates", "sec3_estimates"]

#: CGS constants from scipy.constants (SI).
K_B = constants.k * 1e7  # erg/K
HBAR = constants.hbar * 1e7  # erg s
EV = constants.eV * 1e7  # erg
AMU = constants.atomic_mass * 1e3  # g


def _var(value, units: str, long_name: str, equation: str, paper: str, dims=()) -> xr.Variable:
    return xr.Variable(
        dims,
        np.asarray(value, dtype=float),
        attrs={"units": units, "long_name": long_name, "equation": equation, "paper": paper},
    )


def sec3_estimates(
    P_d: float = 1e34,
    sigma_in: float = 1e-15,
    v_F: float = 1e8,
    Lambda0: float = 0.01,
    chi: tuple[float, ...] = (0.01, 0.1, 0.3, 1.0),
    omega0: float = 1e14,
    a: float = 1e-8,
    U0_eV: float = 0.2,
    M_paper: float = 2e-23,
) -> xr.Dataset:
    """The numbers of Sec. III, recomputed, each with the paper's statement.

    Parameters
    ----------
    P_d : float
        Density of states of the dynamic defects, erg⁻¹cm⁻³ (Eq. 56).
    sigma_in : float
        Inelastic cross-section σ_in, cm² (Eq. 55).
    v_F : float
        Fermi velocity, cm/s.
    Lambda0 : float
        Tunnelling amplitude Λ₀, K.
    chi : tuple of float
        Couplings χ of Eq. (15) for T_α and T_β.
    omega0, a, U0_eV, M_paper : float
        Eq. (57): attempt frequency (s⁻¹), well distance (cm), barrier (eV) and
        the paper's defect mass (g).

    Returns
    -------
    xarray.Dataset
        Scalars ``tau_Lambda`` (s), ``T_Lambda`` (mK), ``chi_for_T_alpha_eq_Lambda0``,
        ``exponent_57``, ``M_needed``/``M_needed_printed`` (g),
        ``Lambda_from_M_paper``/``Lambda_from_M_paper_printed`` (K); along
        ``chi``: ``T_alpha``, ``T_beta``, ``Lambda0_from_T_alpha_T_beta`` (mK),
        ``ratio_T_alpha_T_beta`` (from the definitions) and
        ``ratio_printed`` ((χΛ₀τ_Λ/ħ)^{3/2}).  Every variable has attrs
        ``units``, ``long_name``, ``equation`` and ``paper`` (the stated value).
    """
    for name, v in (
        ("P_d", P_d),
        ("sigma_in", sigma_in),
        ("v_F", v_F),
        ("Lambda0", Lambda0),
        ("omega0", omega0),
        ("a", a),
        ("U0_eV", U0_eV),
        ("M_paper", M_paper),
    ):
        if not (math.isfinite(v) and v > 0.0):
            raise ValueError(f"{name} must lie in (0, ∞) (got {v!r})")
    chis = np.asarray(chi, dtype=float)
    if chis.ndim != 1 or not (np.isfinite(chis).all() and (chis > 0).all()):
        raise ValueError(f"chi must be a sequence of values in (0, ∞) (got {chi!r})")
    L0 = Lambda0 * K_B  # erg
    tau_L = 1.0 / (L0 * P_d * sigma_in * v_F)  # Eq. (56)
    T_L = math.sqrt(HBAR * L0 / tau_L) / K_B  # Eq. (43), K
    T_a = HBAR / (chis * tau_L) / K_B  # K
    T_b = Lambda0**1.5 / np.sqrt(T_a)
    U0 = U0_eV * EV
    X = math.log(HBAR * omega0 / (math.pi * L0))  # exponent of Eq. (57) for Λ = Λ₀
    M_correct = (X * math.pi * HBAR / (4.0 * a)) ** 2 / (2.0 * U0)
    M_printed = (X * math.pi * HBAR / (2.0 * a)) ** 2 / (2.0 * U0)
    root = math.sqrt(2.0 * U0 * M_paper)
    prefactor = HBAR * omega0 / math.pi / K_B  # ħω₀/π in K
    lam_printed = prefactor * math.exp(-2.0 * a / (math.pi * HBAR) * root)
    lam_correct = prefactor * math.exp(-4.0 * a / (math.pi * HBAR) * root)
    mK = 1e3
    data = {
        "tau_Lambda": _var(
            tau_L, "s", "tau_Lambda = 1/(Lambda0 P_d sigma_in v_F)", "(56)", "~1e-9 s"
        ),
        "T_Lambda": _var(
            T_L * mK, "mK", "T_Lambda = (hbar Lambda0/tau_Lambda)^(1/2)", "(43)", "~Lambda0 = 10 mK"
        ),
        "T_alpha": _var(
            T_a * mK, "mK", "T_alpha = hbar/(chi tau_Lambda)", "after (49)", "~10 mK", ("chi",)
        ),
        "T_beta": _var(
            T_b * mK, "mK", "T_beta = Lambda0^(3/2)/T_alpha^(1/2)", "after (50)", "~10 mK", ("chi",)
        ),
        "Lambda0_from_T_alpha_T_beta": _var(
            T_b ** (2 / 3) * T_a ** (1 / 3) * mK,
            "mK",
            "T_beta^(2/3) T_alpha^(1/3)",
            "after (51)",
            "= Lambda0",
            ("chi",),
        ),
        "ratio_T_alpha_T_beta": _var(
            T_a / T_b,
            "1",
            "T_alpha/T_beta from the definitions",
            "after (50)",
            "(chi Lambda0 tau_Lambda/hbar)^(3/2)",
            ("chi",),
        ),
        "ratio_printed": _var(
            (chis * L0 * tau_L / HBAR) ** 1.5,
            "1",
            "printed T_alpha/T_beta = (chi Lambda0 tau_Lambda/hbar)^(3/2)",
            "after (50)",
            "= T_alpha/T_beta",
            ("chi",),
        ),
        "chi_for_T_alpha_eq_Lambda0": _var(
            HBAR / (tau_L * L0),
            "1",
            "chi with T_alpha = Lambda0 (then T_beta = Lambda0)",
            "after (49)",
            "chi ~ 0.01-0.3",
        ),
        "exponent_57": _var(X, "1", "ln(hbar omega0/(pi Lambda0))", "(57)", ""),
        "M_needed": _var(
            M_correct,
            "g",
            "M for Lambda0 with the exponent (4a/pi hbar)(2U0M)^(1/2)",
            "(57)",
            "M ~ 2e-23 g",
        ),
        "M_needed_printed": _var(
            M_printed,
            "g",
            "M for Lambda0 with the printed exponent (2a/pi hbar)(2U0M)^(1/2)",
            "(57)",
            "M ~ 2e-23 g",
        ),
        "Lambda_from_M_paper_printed": _var(
            lam_printed, "K", "Lambda for M_paper, printed exponent", "(57)", "10 mK"
        ),
        "Lambda_from_M_paper": _var(
            lam_correct, "K", "Lambda for M_paper, exponent of the stated U(r)", "(57)", "10 mK"
        ),
    }
    ds = xr.Dataset(data, coords={"chi": ("chi", chis, {"long_name": "chi of Eq. (15)"})})
    ds.attrs.update(
        {
            "title": "Sec. III estimates of 'Dephasing by dynamic defects', recomputed",
            "P_d_erg-1_cm-3": P_d,
            "sigma_in_cm2": sigma_in,
            "v_F_cm_s-1": v_F,
            "Lambda0_K": Lambda0,
            "omega0_s-1": omega0,
            "a_cm": a,
            "U0_eV": U0_eV,
            "M_paper_g": M_paper,
            "constants": "scipy.constants (CODATA), CGS",
        }
    )
    return ds


def format_estimates(ds: xr.Dataset) -> str:
    """The table of :func:`sec3_estimates` as text (the ``cooperon estimates`` output)."""
    a = ds.attrs
    L0_mK = a["Lambda0_K"] * 1e3
    lines = [
        "Sec. III estimates recomputed (P_d = {:.3g} erg^-1 cm^-3, sigma_in = {:.3g} cm^2, "
        "v_F = {:.3g} cm/s, Lambda0 = {:.4g} mK)".format(
            a["P_d_erg-1_cm-3"], a["sigma_in_cm2"], a["v_F_cm_s-1"], L0_mK
        ),
        "",
        f"{'quantity':<34}{'computed':>14}   paper",
        f"{'tau_Lambda, Eq. (56)':<34}{float(ds.tau_Lambda):>12.3g} s   ~1e-9 s",
        f"{'T_Lambda, Eq. (43)':<34}{float(ds.T_Lambda):>11.3g} mK   ~Lambda0 = {L0_mK:.3g} mK",
        "",
        f"{'chi':>6}{'T_alpha [mK]':>14}{'T_beta [mK]':>13}{'T_a/T_b':>11}"
        f"{'printed':>11}{'T_b^2/3 T_a^1/3 [mK]':>22}",
    ]
    for i, c in enumerate(ds.chi.values):
        lines.append(
            f"{c:>6.3g}{float(ds.T_alpha[i]):>14.4g}{float(ds.T_beta[i]):>13.3g}"
            f"{float(ds.ratio_T_alpha_T_beta[i]):>11.3g}{float(ds.ratio_printed[i]):>11.3g}"
            f"{float(ds.Lambda0_from_T_alpha_T_beta[i]):>22.5g}"
        )
    chi_eq = float(ds.chi_for_T_alpha_eq_Lambda0)
    lines += [
        "  paper: T_alpha ~ T_beta ~ 10 mK, chi ~ 0.01-0.3, printed T_a/T_b = "
        "(chi Lambda0 tau_Lambda/hbar)^(3/2)",
        f"  T_alpha = T_beta = Lambda0 needs chi = {chi_eq:.3g}; the definitions give "
        "T_a/T_b = (T_alpha/Lambda0)^(3/2), the inverse of the printed formula",
        "",
        "Eq. (57), omega0 = {:.3g} s^-1, a = {:.3g} cm, U0 = {:.3g} eV:".format(
            a["omega0_s-1"], a["a_cm"], a["U0_eV"]
        ),
        f"  exponent needed for Lambda = {L0_mK:.3g} mK: {float(ds.exponent_57):.4g}",
        f"  M needed, exponent (4a/pi hbar)(2 U0 M)^(1/2) of the stated U(r): "
        f"{float(ds.M_needed):.3g} g ({float(ds.M_needed) / AMU:.3g} u)",
        f"  M needed, printed exponent (2a/pi hbar)(2 U0 M)^(1/2): "
        f"{float(ds.M_needed_printed):.3g} g ({float(ds.M_needed_printed) / AMU:.3g} u)",
        "  paper: M ~ {:.3g} g ({:.3g} u) gives Lambda = {:.3g} K (printed exponent), "
        "{:.3g} K (correct exponent)".format(
            a["M_paper_g"],
            a["M_paper_g"] / AMU,
            float(ds.Lambda_from_M_paper_printed),
            float(ds.Lambda_from_M_paper),
        ),
    ]
    return "\n".join(lines)
