"""Generate ``tests/cooperon/reference_dephasing.json``: Δ ln τ_φ by an independent Q-quadrature.

Regenerate (a few minutes on 2 cores) with::

    python tests/cooperon/make_dephasing_reference.py

from the repository root.  For every case of :data:`dephasing_reference.CASES`

    Δ = ∫_0^{10 rate} d dQ + ∫_{ln(10 rate)}^{ln Q₂} d(e^u) e^u du + C₂/Q₂,
    d(Q) = F_direct(0; Q) − F_(32)(0; Q),

each piece by :func:`scipy.integrate.quad` (epsabs 1e-12, epsrel 1e-10), with
Q₂ = 1e5 max(1, ε, 2g) and C₂ = ∫_0^∞ e^{−v}Φ(v)² dv − 1 − Φ′(0⁺) (the first
term by ``quad``, Φ of Eq. 25 written out here).  F_direct is
:func:`cooperon.solve_direct` at rtol 1e-11 with the history set to four
times :func:`cooperon.direct.truncation_time` when Φ has decaying terms (the
code under test uses twice; the solver's default is ~40/(2g) long whatever Q,
which at large Q and g ~ 1e-5 needs more than ``max_points``), its default
otherwise.

The stored error is the sum of QUADPACK's error estimates, the propagated
node errors ∫ err(F_direct) dQ (bounded by the solver's estimates, integrated
by the same ``quad`` calls) and the tail's next term |Q₂ d(Q₂) − C₂/Q₂|.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import integrate

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from dephasing_reference import CASES, REFERENCE_FILE  # noqa: E402

from cooperon import Parameters, equation, solve_direct  # noqa: E402
from cooperon.closed_forms import F0_eq32  # noqa: E402
from cooperon.direct import truncation_time  # noqa: E402

RTOL = 1e-11


def direct(p: Parameters) -> tuple[float, float]:
    v, Q = equation.model(p)
    T = None
    if not equation.is_periodic(v, Q):
        frozen = equation.frozen_solution(v, Q=Q)
        scale = frozen.bound / abs(frozen.value_at_zero)
        T = 4.0 * truncation_time(v, RTOL, scale, Q=Q)
    sol = solve_direct(p, RTOL, T=T)
    return sol.F0, sol.error_estimate


def reference(p0: Parameters) -> dict:
    rate = p0.dephasing_rate
    cache: dict[float, tuple[float, float]] = {}

    def d(Q: float) -> tuple[float, float]:
        if Q not in cache:
            p = p0.replace(Dq2_tau=Q)
            F, err = direct(p)
            cache[Q] = (F - F0_eq32(p), err)
        return cache[Q]

    Q1 = 10.0 * rate
    Q2 = 1e5 * max(1.0, p0.E_tau, 2.0 * p0.gamma_tau)
    pieces = []
    kw = {"epsabs": 1e-12, "epsrel": 1e-10, "limit": 400}
    value, abserr = integrate.quad(lambda Q: d(Q)[0], 0.0, Q1, **kw)
    node = integrate.quad(lambda Q: d(Q)[1], 0.0, Q1, epsrel=1e-3, limit=400)[0]
    pieces.append((value, abserr, node))
    lo, hi = math.log(Q1), math.log(Q2)
    breaks = [math.log(s) for s in (1.0, p0.E_tau, 2.0 * p0.gamma_tau) if s > 0 and Q1 < s < Q2]
    value, abserr = integrate.quad(
        lambda u: d(math.exp(u))[0] * math.exp(u), lo, hi, points=breaks or None, **kw
    )
    node = integrate.quad(
        lambda u: d(math.exp(u))[1] * math.exp(u), lo, hi, points=breaks or None, epsrel=1e-3
    )[0]
    pieces.append((value, abserr, node))

    re, r1, r3 = p0.tau_over_taue, p0.tau_over_tau1, p0.tau_over_tau3
    eps, g = p0.E_tau, p0.gamma_tau

    def phi(v: float) -> float:
        return re + r1 * math.cos(eps * v) + r3 * math.exp(-2.0 * g * v)

    a1 = integrate.quad(lambda v: math.exp(-v) * phi(v) ** 2, 0.0, np.inf, epsabs=1e-15)[0]
    C2 = a1 - 1.0 + 2.0 * g * r3  # Φ′(0⁺) = −2g r₃ (the cosine is flat at 0)
    tail = C2 / Q2
    tail_error = abs(Q2 * d(Q2)[0] - C2 / Q2) + Q2 * d(Q2)[1]
    total = sum(v for v, _, _ in pieces) + tail
    error = sum(e + n for _, e, n in pieces) + tail_error
    return {
        "params": p0.as_dict(),
        "delta_log_tau_phi": total,
        "error": error,
        "quad_abserr": sum(e for _, e, _ in pieces),
        "node_error": sum(n for _, _, n in pieces),
        "tail": tail,
        "tail_error": tail_error,
        "C2": C2,
        "Q2": Q2,
        "evaluations": len(cache),
    }


def main() -> int:
    out = {}
    for name, p in CASES.items():
        start = time.perf_counter()
        out[name] = reference(p)
        r = out[name]
        print(
            f"{name:40s} delta = {r['delta_log_tau_phi']:.15g} error = {r['error']:.2e} "
            f"({r['evaluations']} solves, {time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    REFERENCE_FILE.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {REFERENCE_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
