"""Reference values of ∫_0^∞ [F_direct(0; Q) − F_(32)(0; Q)] dQ for the dephasing tests.

Computed by ``tests/cooperon/make_dephasing_reference.py`` (see its
docstring) with a Q-quadrature that shares nothing with
:mod:`cooperon._q_integral`: QUADPACK (:func:`scipy.integrate.quad`) on
[0, 10 rate] in Q and on [10 rate, Q₂] in ln Q, plus the tail C₂/Q₂ with C₂
from a QUADPACK integral of e^{−v}Φ(v)²; F_direct from
:func:`cooperon.solve_direct` at rtol 1e-11 (history four times the
truncation time -- the code under test uses twice), F_(32) from
:func:`cooperon.closed_forms.F0_eq32`.
"""

from __future__ import annotations

import json
from pathlib import Path

from cooperon import Parameters

P = Parameters

REFERENCE_FILE = Path(__file__).with_name("reference_dephasing.json")

#: Three single-channel and two mixed points: the EQUATIONS.md point r₃ = g = 0.1
#: (Δ ≈ 0.10), the resonant channel alone, both channels with λ up to 0.3, a weak
#: (rate 3e-3) mixed point and a physical one (tunnelling defect, E = T = 50 mK,
#: Λ = 10 mK, χ = 0.1, τ = 1e-13 s, τ_i = 1e-9 s: rate 2e-5).
CASES: dict[str, Parameters] = {
    "r3=g=0.1": P(tau_over_tau3=0.1, gamma_tau=0.1),
    "r1=0.2,eps=0.5": P(tau_over_tau1=0.2, E_tau=0.5),
    "r1=0.05,eps=2,r3=0.2,g=0.5": P(
        tau_over_tau1=0.05, E_tau=2.0, tau_over_tau3=0.2, gamma_tau=0.5
    ),
    "weak r1=2e-3,eps=0.05,r3=1e-3,g=5e-3": P(
        tau_over_tau1=2e-3, E_tau=0.05, tau_over_tau3=1e-3, gamma_tau=5e-3
    ),
    "physical E=T=50mK": P.from_physical(
        E=0.05, Lambda=0.01, T=0.05, chi=0.1, tau=1e-13, tau_i=1e-9
    ),
}


def load() -> dict:
    """The stored references, keyed like :data:`CASES` (parameters checked)."""
    data = json.loads(REFERENCE_FILE.read_text())
    for name, p in CASES.items():
        if data[name]["params"] != p.as_dict():
            raise RuntimeError(f"{REFERENCE_FILE.name}: parameters of {name!r} changed; regenerate")
    return data
