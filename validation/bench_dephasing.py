"""Benchmark: time of one ``cooperon.dephasing.log_tau_phi`` (the Q-integral of Eq. 34).

Run ``python validation/bench_dephasing.py`` (about a minute) or with
``--rtol 1e-8``. A benchmark, not a test: nothing is asserted, but every
point slower than the target is flagged ``SLOW``.

Target: ≤ 1 s per ``log_tau_phi`` at rtol = 1e-6 (absolute in ln τ_φ).

Rows: moderate points (rates 3e-3 … 0.4) and the physical regime (rates
1e-6 … 1e-4: one tunnelling defect with E = T = 50 mK, Λ = 10 mK, χ = 0.1,
τ = 1e-13 s and τ_i chosen for the rate; and single channels).  Columns: the
wall time (best of ``--repeat``), the ratio to one ``solve_direct`` at Q = 0 and
the same rtol (the baseline, measured in the same run), the Q nodes, the
solves of Eq. (24) (nodes + re-solves), panels, Q_max, Δ = ln(τ_φ,direct/τ_φ,32)
with its error estimate, ln(τ_φ/τ) from Eq. (34), and the status.  The load
average of the machine is printed before and after (the timings scale with it).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cooperon import Parameters, solve_direct  # noqa: E402
from cooperon.dephasing import log_tau_phi  # noqa: E402

TARGET = 1.0  # seconds per log_tau_phi at rtol 1e-6
P = Parameters


def _physical(tau_i: float, E: float = 0.05) -> Parameters:
    return P.from_physical(E=E, Lambda=0.01, T=0.05, chi=0.1, tau=1e-13, tau_i=tau_i)


POINTS: dict[str, Parameters] = {
    "r3=g=0.1": P(tau_over_tau3=0.1, gamma_tau=0.1),
    "r1=0.2,eps=0.5": P(tau_over_tau1=0.2, E_tau=0.5),
    "r1=0.05,eps=2,r3=0.2,g=0.5": P(
        tau_over_tau1=0.05, E_tau=2.0, tau_over_tau3=0.2, gamma_tau=0.5
    ),
    "r1=2e-3,eps=0.05,r3=1e-3,g=5e-3": P(
        tau_over_tau1=2e-3, E_tau=0.05, tau_over_tau3=1e-3, gamma_tau=5e-3
    ),
    "TLS E=50mK, tau_i=2e-10 s": _physical(2e-10),
    "TLS E=50mK, tau_i=1e-9 s": _physical(1e-9),
    "TLS E=50mK, tau_i=1e-8 s": _physical(1e-8),
    "TLS E=20mK, tau_i=1e-9 s": _physical(1e-9, E=0.02),
    "TLS E=100mK, tau_i=1e-9 s": _physical(1e-9, E=0.1),
    "r3=1e-5,g=1e-4": P(tau_over_tau3=1e-5, gamma_tau=1e-4),
    "r1=1e-5,eps=1e-3": P(tau_over_tau1=1e-5, E_tau=1e-3),
    "r3=1e-6,g=1e-6": P(tau_over_tau3=1e-6, gamma_tau=1e-6),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    start = time.perf_counter()
    log_tau_phi(POINTS["r3=g=0.1"], args.rtol)  # compilation (or loading Numba's cache)
    print(f"first call (compilation / cache load): {time.perf_counter() - start:.2f} s")
    print(f"rtol = {args.rtol:g}, target {TARGET:g} s (at rtol 1e-6)\n")
    head = (
        f"{'point':34s} {'rate':>8} {'s':>6} {'x solve':>7} {'nodes':>5} {'solves':>6} "
        f"{'pan':>3} {'Q_max':>7} {'delta':>12} {'error':>8} {'eq34':>7} st"
    )
    print(head)
    slow = []
    for name, p in POINTS.items():
        best = math.inf
        ds = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            ds = log_tau_phi(p, args.rtol)
            best = min(best, time.perf_counter() - t0)
        t0 = time.perf_counter()
        solve_direct(p, args.rtol)
        base = time.perf_counter() - t0
        a = ds.attrs
        flag = "  SLOW" if best > TARGET else ""
        if flag:
            slow.append(name)
        print(
            f"{name:34s} {p.dephasing_rate:8.2g} {best:6.3f} {best / base:7.1f} "
            f"{a['nodes']:5d} {a['solves']:6d} {a['panels']:3d} {a['Q_max']:7.1g} "
            f"{float(ds.delta_log_tau_phi):12.6g} {float(ds.delta_log_tau_phi_error):8.1e} "
            f"{float(ds.log_tau_phi_eq34):7.3f} {a['status']:2d}{flag}",
            flush=True,
        )
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"slower than {TARGET:g} s: {', '.join(slow) if slow else 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
