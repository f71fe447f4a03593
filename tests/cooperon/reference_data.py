"""Shared references for the tests of Eq. (24): parameter cases and independent solvers.

Nothing here uses :func:`cooperon.direct.solve_direct`'s history or truncation
logic:

* :func:`phi_ref`, :func:`kernel_ref` -- Φ of Eq. (25) and the kernel
  K(t, s) = e^{−(t−s)} Φ(2t − s)/(1 + Q) of Eq. (24), written out again from
  ``docs/equations.md`` (not taken from :mod:`cooperon.model`).
* :func:`zero_history_solve` -- Eq. (24) solved by :func:`solver.solve_volterra`
  on [−T_long, 0] with **zero** history (F = 0 before −T_long), on a fixed
  grid. The start-up transient dies out like the resolvent, so for T_long much
  longer than ln(1/tol)/(decay rate) F(0) is exact up to discretisation. This
  shares no algebra with the harmonic balance (``equation.frozen_solution``),
  the closed-form history (``equation.history``) or the truncation bound of
  ``cooperon.direct``; only the kernel/right-hand side data and the solver.
* ``STORED`` -- F(0) values computed that way with long histories and fine
  grids by ``tests/cooperon/make_reference.py`` (see its docstring for how to
  regenerate ``reference_F0.json``), for the cases of :data:`ERROR_CASES`.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np

from cooperon import equation
from cooperon.parameters import Parameters
from solver import solve_volterra

P = Parameters

#: Points across the valid region for the error-estimate test :
#: small and large λ (r₃ from 1e-3 to 0.9), small and large ε and g (0.01 … 30),
#: mixed channels, Q from 1e-4 to 1, and 2g = 1 (the r₃ transient decays like the kernel's
#: memory e^{−(t−t')}: a double pole, the far-past deviation goes like T e^{−T}).
ERROR_CASES: dict[str, Parameters] = {
    "r3=1e-3,g=0.1,Q=1e-3 (small lambda)": P(tau_over_tau3=1e-3, gamma_tau=0.1, Dq2_tau=1e-3),
    "r3=0.9,g=10,Q=1e-4 (large lambda, sharp)": P(tau_over_tau3=0.9, gamma_tau=10.0, Dq2_tau=1e-4),
    "r3=0.5,g=30,Q=1e-2 (very sharp)": P(tau_over_tau3=0.5, gamma_tau=30.0, Dq2_tau=1e-2),
    "r3=0.3,g=0.01,Q=1e-2 (slow switching)": P(tau_over_tau3=0.3, gamma_tau=0.01, Dq2_tau=1e-2),
    "r1=0.3,eps=10,Q=1e-3 (fast resonant)": P(tau_over_tau1=0.3, E_tau=10.0, Dq2_tau=1e-3),
    "r1=0.5,eps=0.01,Q=1e-2 (slow resonant)": P(tau_over_tau1=0.5, E_tau=0.01, Dq2_tau=1e-2),
    "r1=0.2,eps=1,r3=0.3,g=0.5,Q=1e-4 (mixed)": P(
        tau_over_tau1=0.2, E_tau=1.0, tau_over_tau3=0.3, gamma_tau=0.5, Dq2_tau=1e-4
    ),
    "r1=0.1,eps=3,r3=0.6,g=10,Q=1e-3 (mixed sharp)": P(
        tau_over_tau1=0.1, E_tau=3.0, tau_over_tau3=0.6, gamma_tau=10.0, Dq2_tau=1e-3
    ),
    "r1=0.45,eps=10,r3=0.45,g=10,Q=1e-4 (both fast)": P(
        tau_over_tau1=0.45, E_tau=10.0, tau_over_tau3=0.45, gamma_tau=10.0, Dq2_tau=1e-4
    ),
    "r3=0.01,g=1,Q=1e-4 (weak dephasing)": P(tau_over_tau3=0.01, gamma_tau=1.0, Dq2_tau=1e-4),
    "r1=0.05,eps=0.1,r3=0.05,g=0.1,Q=1 (large Q)": P(
        tau_over_tau1=0.05, E_tau=0.1, tau_over_tau3=0.05, gamma_tau=0.1, Dq2_tau=1.0
    ),
    "r3=0.1,g=0.5,Q=1e-2 (2g = 1: r3 decay = kernel memory decay)": P(
        tau_over_tau3=0.1, gamma_tau=0.5, Dq2_tau=1e-2
    ),
    "r3=0.9,g=0.05,Q=0.3 (large lambda, moderate Q)": P(
        tau_over_tau3=0.9, gamma_tau=0.05, Dq2_tau=0.3
    ),
}

REFERENCE_FILE = Path(__file__).with_name("reference_F0.json")


def phi_ref(x, p: Parameters):
    """Φ(x) = rₑ + r₁ cos(εx) + r₃ e^{−2g|x|}, Eq. (25), rₑ = 1 − r₁ − r₃."""
    x = np.asarray(x, dtype=float)
    r1, r3 = p.tau_over_tau1, p.tau_over_tau3
    return (1.0 - r1 - r3) + r1 * np.cos(p.E_tau * x) + r3 * np.exp(-2.0 * p.gamma_tau * np.abs(x))


def kernel_ref(t, s, p: Parameters):
    """K(t, s) = e^{−(t−s)} Φ(2t − s)/(1 + Q), the kernel of Eq. (24) (c = 1)."""
    t = np.asarray(t, dtype=float)
    s = np.asarray(s, dtype=float)
    return np.exp(-(t - s)) * phi_ref(2.0 * t - s, p) / (1.0 + p.Dq2_tau)


def transient_rate(p: Parameters) -> float:
    """A safe lower bound-ish for the decay rate of a start-up transient of Eq. (24).

    For constant Φ = φ the resolvent of (24) decays like e^{−κu} with
    κ = (1 + Q − φ)/(1 + Q) = λ₁/(1 + Q) (pole of 1/((1+Q)(1+p) − φ)). With
    the time-dependent Φ the asymptotic λ₁ is Q + r₁[ε>0] + r₃[g>0]; the
    extra factor 1/(1 + λ_max) covers the non-WKB regime (λ ~ 1). This is
    only used to choose T_long; convergence in T_long is checked explicitly.
    """
    lam_max = 2.0 * p.tau_over_tau1 + p.tau_over_tau3
    return p.dephasing_rate / ((1.0 + p.Dq2_tau) * (1.0 + lam_max))


def scale(p: Parameters) -> float:
    """Shortest time scale of the kernel: 1, 1/ε (r₁ > 0), 1/(2g) (r₃ > 0)."""
    ell = 1.0
    if p.tau_over_tau1 > 0 and p.E_tau > 0:
        ell = min(ell, 1.0 / p.E_tau)
    if p.tau_over_tau3 > 0 and p.gamma_tau > 0:
        ell = min(ell, 1.0 / (2.0 * p.gamma_tau))
    return ell


def zero_history_solve(p: Parameters, T_long: float, h: float, method: str = "gregory8"):
    """Eq. (24) on [−T_long, 0] with F = 0 before −T_long (no history term).

    Returns ``(F0, richardson_error_estimate, result)``; the grid has an odd
    number of points so the Richardson (every-other-point) grid also ends at 0.
    """
    n_half = max(int(math.ceil(T_long / (2.0 * h))), 8)
    t = np.linspace(-T_long, 0.0, 2 * n_half + 1)
    res = solve_volterra(equation.kernel(p), equation.rhs(p), t, method=method)
    if not res.success:
        raise AssertionError(f"zero-history solve failed: {res.message}")
    return float(res.y[-1]), float(res.error_estimate[-1]), res


@functools.lru_cache(maxsize=64)
def zero_history_F0(p: Parameters, rel: float = 1e-12, method: str = "gregory8"):
    """F(0) from zero history, with T_long chosen from :func:`transient_rate` (cached).

    T_long = (ln(1/rel) + ln(1 + F∞) + 5 + a)/rate, so the transient is below
    ``rel`` by a margin e^{−5}; a = r₁/ε + r₃/(2g) is the offset in
    ϑ(t) ≤ −rate·|t| + a (Eq. 33: the channels only dephase after their
    transients 1/ε, 1/(2g)). ``h`` = 0.5·scale·rel^{1/order}. Returns
    ``(F0, error_bound, info)`` where ``error_bound`` adds the Richardson
    estimate and the change against a solve with 0.75·T_long (an a-posteriori
    check of the transient: at T_long it is far below its value at 0.75·T_long).
    """
    order = int(method[-1])
    rate = transient_rate(p)
    finf = abs(equation.frozen_solution(p).value_at_zero)
    offset = 0.0
    if p.tau_over_tau1 > 0 and p.E_tau > 0:
        offset += p.tau_over_tau1 / p.E_tau
    if p.tau_over_tau3 > 0 and p.gamma_tau > 0:
        offset += p.tau_over_tau3 / (2.0 * p.gamma_tau)
    T_long = (math.log(1.0 / rel) + math.log1p(finf) + 5.0 + offset) / rate
    h = 0.5 * scale(p) * rel ** (1.0 / order)
    F0, est, res = zero_history_solve(p, T_long, h, method)
    F0s, _, _ = zero_history_solve(p, 0.75 * T_long, h, method)
    return F0, est + abs(F0 - F0s), {"T_long": T_long, "h": h, "N": res.t.size}


def load_stored() -> dict[str, dict]:
    """The stored references: name -> {params, F0, error, T_long, h, N}."""
    with REFERENCE_FILE.open() as fh:
        return json.load(fh)


def stored_params(entry: dict) -> Parameters:
    return Parameters(**entry["params"])
