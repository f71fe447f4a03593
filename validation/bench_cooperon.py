"""Benchmark: time per parameter point of ``cooperon.solve_direct`` (Eq. (24)).

Run ``python validation/bench_cooperon.py`` (about a minute) or with
``--quick`` (fewer points, one repeat). A benchmark, not a test: nothing is
asserted, but every point slower than the target is flagged ``SLOW``.

Target: ≤ 100 ms per point after compilation at rtol = 1e-8 for
Q + r₁ + r₃ ≥ 1e-4 and ε, g ≤ 10.

Tables (each row: time, grid size N, truncation time T, step h, F(0), the
relative error estimate, converged):

(a) time against the rate Q + r₁ + r₃ over 1e-4 … 1 at rtol 1e-8, for
    several channel mixes (Q only; relaxation r₃ = Q, g = 0.1; resonant
    r₁ = Q, ε = 0.5; all three with ε = 1, g = 0.5; relaxation-dominated
    r₃ = 9Q, g = 1);
(b) time against rtol = 1e-4 … 1e-10 at fixed parameters;
(c) time over ε, g ∈ {0.01, 0.1, 1, 10} at r₁ = r₃ = 0.1, Q = 0.01.

Times are the best of several calls after a warm-up call (the Numba
compilation, or loading it from the on-disk cache, is timed separately and
printed first).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

# Run from a checkout: make ``import cooperon`` find this repository's package
# (and not a stale install) when the script is started as validation/….py.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cooperon import Parameters, solve_direct  # noqa: E402

TARGET = 0.1  # seconds per point


def _time(p: Parameters, rtol: float, repeat: int):
    best = math.inf
    sol = None
    for _ in range(repeat):
        start = time.perf_counter()
        sol = solve_direct(p, rtol=rtol)
        best = min(best, time.perf_counter() - start)
    return best, sol


def _header(first: str, width: int) -> str:
    return (
        f"{first:>{width}}  {'ms':>8}  {'N':>8}  {'T':>9}  {'h':>9}  {'F0':>16}  "
        f"{'rel.err.est':>11}  conv"
    )


def _row(label: str, width: int, seconds: float, sol, slow: list) -> str:
    flag = ""
    if seconds > TARGET:
        flag = "  SLOW"
        slow.append((label, seconds))
    return (
        f"{label:>{width}}  {1e3 * seconds:8.1f}  {sol.stats['N']:8d}  {sol.T:9.4g}  "
        f"{sol.h:9.3g}  {sol.F0:16.10g}  {sol.relative_error_estimate:11.2e}  "
        f"{'yes' if sol.converged else 'NO'}{flag}"
    )


MIXES = {
    "Q only": lambda x: Parameters(Dq2_tau=x),
    "relax r3=Q, g=0.1": lambda x: Parameters(tau_over_tau3=x / 2, gamma_tau=0.1, Dq2_tau=x / 2),
    "reson r1=Q, eps=0.5": lambda x: Parameters(tau_over_tau1=x / 2, E_tau=0.5, Dq2_tau=x / 2),
    "mixed eps=1, g=0.5": lambda x: Parameters(
        tau_over_tau1=x / 3, E_tau=1.0, tau_over_tau3=x / 3, gamma_tau=0.5, Dq2_tau=x / 3
    ),
    "relax r3=9Q, g=1": lambda x: Parameters(tau_over_tau3=0.9 * x, gamma_tau=1.0, Dq2_tau=0.1 * x),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer points, one repeat")
    args = ap.parse_args(argv)
    repeat = 1 if args.quick else 3
    slow: list = []

    # warm-up: compile (or load from the Numba cache) every kernel of both branches
    print("warm-up (compilation or loading the Numba cache):")
    for label, p in (
        ("periodic (single ExpSum)", Parameters(tau_over_tau1=0.3, E_tau=1.0, Dq2_tau=0.05)),
        ("kinked (Piecewise)", Parameters(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02)),
    ):
        start = time.perf_counter()
        solve_direct(p, rtol=1e-8)
        first = time.perf_counter() - start
        second, _ = _time(p, 1e-8, 1)
        print(f"  {label:26s} first call {first:7.3f} s, second call {1e3 * second:7.1f} ms")

    # (a) rate sweep
    rates = [1e-4, 1e-2, 1.0] if args.quick else [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    print("\n(a) time per point against the rate Q + r1 + r3, rtol = 1e-8")
    for mix, make in MIXES.items():
        print(f"\n  {mix}")
        print("  " + _header("rate", 8))
        for x in rates:
            sec, sol = _time(make(x), 1e-8, repeat)
            print("  " + _row(f"{x:g}", 8, sec, sol, slow))

    # (b) rtol sweep
    rtols = [1e-4, 1e-6, 1e-8, 1e-10] if args.quick else [1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10]
    fixed = {
        "r3=g=0.1, Q=0.02": Parameters(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02),
        "r1=0.1 eps=1 r3=0.1 g=0.5 Q=1e-3": Parameters(
            tau_over_tau1=0.1, E_tau=1.0, tau_over_tau3=0.1, gamma_tau=0.5, Dq2_tau=1e-3
        ),
    }
    print("\n(b) time per point against rtol")
    for label, p in fixed.items():
        print(f"\n  {label}")
        print("  " + _header("rtol", 8))
        for rtol in rtols:
            sec, sol = _time(p, rtol, repeat)
            print("  " + _row(f"{rtol:.0e}", 8, sec, sol, slow))

    # (c) eps, g grid
    values = [0.01, 1.0, 10.0] if args.quick else [0.01, 0.1, 1.0, 10.0]
    print("\n(c) time per point over eps and g, r1 = r3 = 0.1, Q = 0.01, rtol = 1e-8")
    print("  " + _header("", 16))
    for eps in values:
        for g in values:
            p = Parameters(
                tau_over_tau1=0.1, E_tau=eps, tau_over_tau3=0.1, gamma_tau=g, Dq2_tau=0.01
            )
            sec, sol = _time(p, 1e-8, repeat)
            print("  " + _row(f"eps={eps:g} g={g:g}", 16, sec, sol, slow))

    print()
    if slow:
        print(f"{len(slow)} point(s) over the {1e3 * TARGET:.0f} ms target:")
        for label, sec in slow:
            print(f"  {label}: {1e3 * sec:.1f} ms")
    else:
        print(f"all points within the {1e3 * TARGET:.0f} ms target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
