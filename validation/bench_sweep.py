"""Benchmark: a 64 × 64 parameter sweep at rtol 1e-6 on the local schedulers.

Run ``python validation/bench_sweep.py`` (a few minutes on 2 cores) or with
``--quick`` (16 × 16).  A benchmark, not a test: nothing is asserted, but the
sweeps are checked to give bit-identical numbers.

The grid is map (a) of ``cooperon map`` -- (r₃, g) ∈ [1e-3, 0.5] × [1e-2, 10],
log-spaced, at r₁ = 0, Q = 10⁻² -- and every point runs
:func:`cooperon.compare_values` (direct solution of Eq. (24) to rtol plus the
closed forms (27) and (32)).  For each scheduler (default: ``processes``,
then ``threads``) the wall time of :func:`cooperon.sweep.sweep` is measured
from the call to the returned dataset, *including* worker start-up and Numba
compilation or cache loading in the workers (that is what a user waits for);
the points per second follow, and the CPU time used (this process plus
its finished worker processes) shows how many cores were actually kept busy
-- on a shared machine the wall time alone says little.  The target is
≤ 4 minutes for 64 × 64 on 2 cores.

Why processes should win: each point interleaves Numba kernels (which hold
the GIL except inside ``nogil`` cores) with SciPy QUADPACK calls for the
closed forms (which hold it), so threads serialise much of the work.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from cooperon.sweep import sweep


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children."""
    try:
        import resource
    except ImportError:  # not on Unix: this process only
        return time.process_time()
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64, help="points per axis (default 64)")
    ap.add_argument("--quick", action="store_true", help="16 x 16 instead")
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument(
        "--schedulers",
        default="processes,threads",
        help="comma-separated local schedulers to time (default: processes,threads)",
    )
    ap.add_argument("--chunks", type=int, default=8, help="points per chunk per axis (8)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    n = 16 if args.quick else args.n
    axes = {
        "tau_over_tau3": np.geomspace(1e-3, 0.5, n),
        "gamma_tau": np.geomspace(1e-2, 10.0, n),
    }
    fixed = {"Dq2_tau": 1e-2}
    print(
        f"sweep of {n} x {n} = {n * n} points, rtol {args.rtol:g}, chunks {args.chunks} x "
        f"{args.chunks}, {os.cpu_count()} cores; load average before: "
        f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}",
        flush=True,
    )
    results = {}
    rows = []
    for sched in args.schedulers.split(","):
        sched = sched.strip()
        c0 = _cpu_seconds()
        t0 = time.perf_counter()
        ds = sweep(
            axes,
            fixed,
            rtol=args.rtol,
            scheduler=sched,
            chunks=args.chunks,
            progress=not args.no_progress,
            command="validation/bench_sweep.py",
        )
        wall = time.perf_counter() - t0
        cpu = _cpu_seconds() - c0
        results[sched] = ds
        ok = int((ds.status == 0).sum())
        rows.append((sched, wall, n * n / wall, ok, cpu))
        print(
            f"{sched:>12}: {wall:7.1f} s, {n * n / wall:7.1f} points/s ({ok} ok), "
            f"CPU {cpu:.1f} s = {cpu / wall:.2f} cores busy",
            flush=True,
        )
    print()
    print(
        f"| scheduler | wall time (s) | points/s | CPU time (s) | CPU/wall | wall vs {rows[0][0]} |"
    )
    print("|---|---|---|---|---|---|")
    for sched, wall, pps, _, cpu in rows:
        print(
            f"| {sched} | {wall:.1f} | {pps:.1f} | {cpu:.1f} | {cpu / wall:.2f} | "
            f"{wall / rows[0][1]:.2f} |"
        )
    names = list(results)
    for other in names[1:]:
        same = all(
            np.array_equal(results[names[0]][v].values, results[other][v].values, equal_nan=True)
            for v in ("F0_direct", "F0_direct_error", "dev_eq27", "dev_eq32", "status")
        )
        print(f"{names[0]} and {other} give identical numbers: {same}")
    print(f"load average after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
