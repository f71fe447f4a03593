"""Benchmark: time per parameter point of ``cooperon.solve_direct`` (Eq. (24)).

Run ``python validation/bench_cooperon.py`` (a few minutes) or with ``--quick``
(fewer points, one repeat). A benchmark, not a test: nothing is asserted, but
every point slower than the target is flagged ``SLOW`` and listed at the end.

Target: ≤ 10 ms per point at rtol = 1e-8 for every rate Q + r₁ + r₃ in
[1e-7, 1] and ε, g in [1e-7, 10].

Tables (each row: time, grid points of the finest solve N, refinement factor m,
truncation time T, F(0), the relative error estimate, converged):

(a) the full cube: rate ∈ {1e-7, 1e-5, 1e-3, 1e-1, 1} (Q = r₁ = r₃ = rate/3),
    ε, g ∈ {1e-7, 1e-5, 1e-3, 0.1, 10}, at rtol 1e-8; printed as one line per
    (rate, ε) with the times over g, then the slowest points in full;
(b) single channels against the rate (Q only; relaxation r₃ = Q, g = rate;
    resonant r₁ = Q, ε = 10·rate) over 1e-7 … 1;
(c) time against rtol = 1e-4 … 1e-10 at two fixed points (one in the physical
    regime, rates ~1e-6);
(d) time against ε at rate 1e-7: F itself (cost ∝ ε) where ε is too close to the rate
    for long envelope steps (ε ≲ 1e3 rate), the harmonic envelopes (cooperon.envelope,
    on steps with εh ≥ 16 below ε = 10) above.

Times are the best of several calls after a warm-up call (compilation, or
loading it from Numba's disk cache, is timed separately and printed first).
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
from validation.cube import RATES, SCALES, cube_point  # noqa: E402

TARGET = 0.010  # seconds per point


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
        f"{first:>{width}}  {'ms':>8}  {'N':>7}  {'m':>4}  {'T':>9}  {'F0':>16}  "
        f"{'rel.err.est':>11}  conv"
    )


def _row(label: str, width: int, seconds: float, sol) -> str:
    flag = "  SLOW" if seconds > TARGET else ""
    return (
        f"{label:>{width}}  {1e3 * seconds:8.2f}  {sol.stats.points:7d}  "
        f"{sol.stats.refinement_factor:4d}  {sol.T:9.3g}  {sol.F0:16.10g}  "
        f"{sol.relative_error_estimate:11.2e}  {'yes' if sol.converged else 'NO'}{flag}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer points, one repeat")
    args = ap.parse_args(argv)
    repeat = 1 if args.quick else 3
    rates = [1e-7, 1e-3, 1.0] if args.quick else RATES
    scales = [1e-7, 1e-3, 10.0] if args.quick else SCALES

    print("warm-up (compilation or loading the Numba cache):")
    for label, p in (
        ("periodic (single ExpSum)", Parameters(tau_over_tau1=0.3, E_tau=1.0, Dq2_tau=0.05)),
        ("kinked (Piecewise)", Parameters(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02)),
    ):
        start = time.perf_counter()
        solve_direct(p, rtol=1e-8)
        first = time.perf_counter() - start
        second, _ = _time(p, 1e-8, 1)
        print(f"  {label:26s} first call {first:7.3f} s, second call {1e3 * second:7.2f} ms")

    # (a) the cube
    print(f"\n(a) ms per point, rtol 1e-8, Q = r1 = r3 = rate/3 (columns: g = {scales})")
    results = []
    unreachable = []
    for rate in rates:
        for eps in scales:
            line = []
            for g in scales:
                try:
                    sec, sol = _time(cube_point(rate, eps, g), 1e-8, repeat)
                except ArithmeticError as exc:
                    unreachable.append(((rate, eps, g), str(exc)))
                    line.append(f"{'--':>8} ")
                    continue
                results.append(((rate, eps, g), sec, sol))
                line.append(f"{1e3 * sec:8.2f}{'*' if sec > TARGET else ' '}")
            print(f"  rate={rate:7.0e} eps={eps:7.0e}  " + " ".join(line))
    slow = [r for r in results if r[1] > TARGET]
    times = sorted(r[1] for r in results)
    print(
        f"  {len(results)} points: median {1e3 * times[len(times) // 2]:.2f} ms, "
        f"max {1e3 * times[-1]:.2f} ms; {len(slow)} over {1e3 * TARGET:.0f} ms (*)"
    )
    not_conv = [r for r in results if not r[2].converged]
    print(f"  not converged: {len(not_conv)}; not computable (--): {len(unreachable)}")
    for (rate, eps, g), msg in unreachable:
        print(f"    rate={rate:.0e} eps={eps:.0e} g={g:.0e}: {msg}")
    if slow:
        print("  slowest points:")
        print("  " + _header("rate, eps, g", 24))
        for (rate, eps, g), sec, sol in sorted(slow, key=lambda r: -r[1])[:12]:
            print("  " + _row(f"{rate:.0e},{eps:.0e},{g:.0e}", 24, sec, sol))

    # (b) single channels
    mixes = {
        "Q only": lambda x: Parameters(Dq2_tau=x),
        "relax r3=Q, g=rate": lambda x: Parameters(tau_over_tau3=x / 2, gamma_tau=x, Dq2_tau=x / 2),
        "reson r1=Q, eps=10 rate": lambda x: Parameters(
            tau_over_tau1=x / 2, E_tau=10 * x, Dq2_tau=x / 2
        ),
    }
    print("\n(b) single channels against the rate Q + r1 + r3, rtol = 1e-8")
    for mix, make in mixes.items():
        print(f"\n  {mix}")
        print("  " + _header("rate", 8))
        for x in rates:
            sec, sol = _time(make(x), 1e-8, repeat)
            print("  " + _row(f"{x:g}", 8, sec, sol))

    # (c) rtol
    rtols = [1e-4, 1e-6, 1e-8, 1e-10] if args.quick else [1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10]
    fixed = {
        "r3=g=0.1, Q=0.02": Parameters(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02),
        "physical: r1=r3=1e-6, eps=3e-5, g=1e-6, Q=1e-7": Parameters(
            tau_over_tau1=1e-6, E_tau=3e-5, tau_over_tau3=1e-6, gamma_tau=1e-6, Dq2_tau=1e-7
        ),
    }
    print("\n(c) time per point against rtol")
    for label, p in fixed.items():
        print(f"\n  {label}")
        print("  " + _header("rtol", 8))
        for rtol in rtols:
            sec, sol = _time(p, rtol, repeat)
            print("  " + _row(f"{rtol:.0e}", 8, sec, sol))

    # (d) the undamped oscillation: F itself below the envelopes' limit, envelopes above
    eps_list = (
        [1e-5, 1e-3, 0.1, 3.0, 10.0, 100.0]
        if args.quick
        else [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0]
    )
    print("\n(d) ε at rate 1e-7 (Q = r1 = r3, g = 1e-7), rtol 1e-8; M = harmonics (0: F itself)")
    print("  " + _header("eps", 8) + "     M")
    for eps in eps_list:
        try:
            sec, sol = _time(cube_point(1e-7, eps, 1e-7), 1e-8, repeat)
        except ArithmeticError as exc:
            print(f"  {eps:>8g}  not computable: {exc}")
            continue
        print("  " + _row(f"{eps:g}", 8, sec, sol) + f"  {sol.harmonics:4d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
