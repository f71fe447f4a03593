"""Shared pieces of the temperature-scan tests: small configurations, subprocesses, references.

The references are written from the definitions of the paper's Sec. III
(scales after Eqs. 43, 49, 50; asymptotes 44, 50-53; Eqs. 56, 57) with the
constants of :mod:`scipy.constants`, independently of :mod:`cooperon`.
"""

from __future__ import annotations

import copy
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from scipy import constants

REPO = Path(__file__).resolve().parents[3]
#: Noise that must never reach the user.
NOISE = ("Traceback", "Task was destroyed", "Event loop is closed", "Exception ignored")

#: The tunnelling model of cooperon/default_dephasing.toml (Sec. III numbers).
MODEL: dict[str, Any] = {
    "kind": "tunneling",
    "Lambda0": 0.01,
    "E_star": 1.0,
    "chi": 0.1,
    "tau": 1e-13,
    "tau_Lambda": 1e-9,
}
#: tau_i = tau_Lambda Lambda0/E_star (Eq. 43) of MODEL.
TAU_I = MODEL["tau_Lambda"] * MODEL["Lambda0"] / MODEL["E_star"]
D = 1e-3  # m^2/s


def scan_doc(study: str, temperatures: list[float], **top: Any) -> dict[str, Any]:
    """A small configuration of ``study`` with MODEL as ``[models.small]``."""
    doc: dict[str, Any] = {"rtol": 1e-3, "chunks": 1, "D": D}
    doc.update(top)
    doc["temperature"] = {"values": list(temperatures)}
    if study == "magneto":
        doc["fields"] = {"min_over_B_phi": 0.01, "max_over_B_phi": 100.0, "num": 9}
        doc["magneto"] = {"rtol": 1e-3}
    doc["models"] = {"small": copy.deepcopy(MODEL)}
    return doc


def write_config(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(tomli_w.dumps(doc))
    return path


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), out.get("PYTHONPATH")) if p)
    return out


def run_cooperon(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m cooperon ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "cooperon", *args],
        env=env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line(err: str) -> str:
    """The single line of ``err`` (asserted to be one line, without noise)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert not any(n in err for n in NOISE), err
    return lines[0]


def recorded(store: Path) -> int:
    """Chunks recorded as done in ``store``: the files of its completion record."""
    root = store / "chunk_run" / "c"
    return sum(1 for p in root.rglob("*") if p.is_file() and p.name.isdigit())


# --------------------------------------------------------------------------
# references from the definitions
# --------------------------------------------------------------------------

K_B = constants.k  # J/K
HBAR = constants.hbar  # J s


def scales_reference(
    T: np.ndarray, Lambda0: float, E_star: float, chi: float, tau_i: float
) -> dict[str, Any]:
    """Scales and prefactor-free asymptotic rates (s^-1) of Sec. III, temperatures in K.

    tau_Lambda = tau_i E*/Lambda0 (43); T_Lambda = (hbar Lambda0/tau_Lambda)^(1/2) (43);
    T_alpha = hbar/(chi tau_Lambda); T_beta = Lambda0^(3/2)/T_alpha^(1/2);
    E_chi = Lambda0 (chi T tau_Lambda/hbar)^(1/3) -- energies k_B x kelvin.
    """
    T = np.asarray(T, dtype=float)
    tL = tau_i * E_star / Lambda0
    T_L = math.sqrt(HBAR * Lambda0 * K_B / tL) / K_B
    T_a = HBAR / (chi * tL) / K_B
    T_b = Lambda0**1.5 / math.sqrt(T_a)
    E_chi = Lambda0 * (chi * T * K_B * tL / HBAR) ** (1 / 3)
    # (44): phase wandering for T_Lambda > Lambda0, else 1/tau_Lambda
    if T_L > Lambda0:
        r44 = (Lambda0 / T_L) * np.minimum((T / T_L) ** (1 / 3), 1.0) / tL
    else:
        r44 = np.full(T.shape, 1.0 / tL)
    return {
        "tau_Lambda": tL,
        "T_Lambda": T_L,
        "T_alpha": T_a,
        "T_beta": T_b,
        "E_chi": E_chi,
        "rate_eq44": r44,
        "rate_eq50": (T / T_a) ** (1 / 3) / tL,
        "rate_eq51": (T / Lambda0) / tL,
        "rate_eq52": (T / T_a) ** 0.5 / tL,
        "rate_eq53": ((T / T_a) ** (1 / 3) + 1.0) / tL,  # zeta = 1
    }


def sec3_reference(chis=(0.01, 0.1, 0.3, 1.0)) -> dict[str, Any]:
    """The numbers of Sec. III from P_d = 1e34 erg^-1 cm^-3, sigma_in = 1e-15 cm^2,
    v_F = 1e8 cm/s, Lambda0 = 10 mK (Eq. 56, scales above) and, for Eq. (57),
    omega0 = 1e14 s^-1, a = 1e-8 cm, U0 = 0.2 eV, M = 2e-23 g; all in CGS."""
    k_B = constants.k * 1e7  # erg/K
    hbar = constants.hbar * 1e7  # erg s
    L0_K = 0.01
    L0 = L0_K * k_B  # erg
    tau_L = 1.0 / (L0 * 1e34 * 1e-15 * 1e8)  # Eq. (56)
    chis = np.asarray(chis, dtype=float)
    T_a = hbar / (chis * tau_L) / k_B  # K
    T_b = L0_K**1.5 / np.sqrt(T_a)
    U0 = 0.2 * constants.eV * 1e7
    a = 1e-8
    X = math.log(hbar * 1e14 / (math.pi * L0))  # Lambda = (hbar omega0/pi) e^-X = Lambda0
    pref = hbar * 1e14 / math.pi / k_B  # K
    root = math.sqrt(2.0 * U0 * 2e-23)
    return {
        "tau_Lambda": tau_L,  # s
        "T_Lambda_mK": math.sqrt(hbar * L0 / tau_L) / k_B * 1e3,
        "T_alpha_mK": T_a * 1e3,
        "T_beta_mK": T_b * 1e3,
        "ratio": T_a / T_b,
        "ratio_printed": (chis * L0 * tau_L / hbar) ** 1.5,
        "Lambda0_from_T_alpha_T_beta_mK": T_b ** (2 / 3) * T_a ** (1 / 3) * 1e3,
        "chi_for_T_alpha_eq_Lambda0": hbar / (tau_L * L0),
        "exponent_57": X,
        # exponent (4a/pi hbar)(2 U0 M)^(1/2) of U(r) = (U0/2)[1 - cos(2 pi r/a)]; printed: 2a
        "M_needed": (X * math.pi * hbar / (4.0 * a)) ** 2 / (2.0 * U0),
        "M_needed_printed": (X * math.pi * hbar / (2.0 * a)) ** 2 / (2.0 * U0),
        "Lambda_from_M_paper": pref * math.exp(-4.0 * a / (math.pi * hbar) * root),
        "Lambda_from_M_paper_printed": pref * math.exp(-2.0 * a / (math.pi * hbar) * root),
    }
