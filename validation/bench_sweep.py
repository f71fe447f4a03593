"""Benchmark: a 64 × 64 parameter sweep at rtol 1e-6 -- where the time goes, how many cores work.

Run ``python validation/bench_sweep.py`` (about a minute on 2 cores) or
with ``--quick`` (16 × 16).  A benchmark, not a test: nothing is asserted,
but the runs are checked to give bit-identical numbers.

The grid is map (a) of ``cooperon map`` -- (r₃, g) ∈ [1e-3, 0.5] × [1e-2, 10],
log-spaced, at r₁ = 0, Q = 10⁻² -- and every point runs
:func:`cooperon.studies.comparison.compare_point` (the direct solution of
Eq. (24) to rtol, the closed forms (32), (27), the local closure and the ODE
step (29)).  Printed:

1. *Per point*, serially in this process on every 4th point of each axis:
   the time of the direct solution, of Eqs. (32) + (27), and of the local closure
   and the ODE step (their share of the rest is printed).  Their sum times
   the number of points is the serial cost of the grid, ``T₁`` (CPU seconds).
2. *Worker warm-up and per task*: the first point in a new worker process
   started with ``fork`` from this (warm) process -- it inherits the
   compiled code -- and with ``spawn`` (imports and loading the Numba code
   from its cache); the round trip of an empty task through each executor,
   and the start of the worker pool.
3. *The sweeps* (``cooperon.sweep`` on each scheduler, in memory, and
   ``processes`` again into a Zarr store): wall time from the call to the
   returned dataset (everything a user waits for), CPU time of this process
   and its workers, **cores busy** = CPU / wall, the **useful fraction**
   ``T₁ / CPU`` (what is left after the overhead of tasks, transfers and
   writing: independent of other load on the machine) and the **parallel
   efficiency** ``T₁ / (n_workers · wall)`` (1 = every core did only useful
   work all the time; on a shared machine limited by the CPU obtained).

The machine may be shared: the load average is printed before and after,
and "cores busy" shows how much CPU the sweep actually got.
"""

from __future__ import annotations

import argparse
import os
import sys as _sys
import tempfile
import time
from pathlib import Path
from pathlib import Path as _Path

import numpy as np

# Run from a checkout: make the packages of this repository importable (and not a
# stale install) when the script is started as validation/….py.
_sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))

import cooperon
from cooperon import Parameters, closed_forms, solve_direct
from cooperon.studies.execution import open_workers


def _cpu_seconds() -> tuple[float, float]:
    """User + system CPU time of this process, and of its finished children."""
    import resource

    out = []
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        out.append(r.ru_utime + r.ru_stime)
    return out[0], out[1]


def _load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def per_point_costs(
    axes: dict, fixed: dict, rtol: float, step: int
) -> tuple[float, float, float, int]:
    """Mean CPU seconds per point of the direct solution, of Eqs. (32) + (27), and of the
    local closure + the ODE step (29) (at the rtol a sweep gives it).

    CPU time (``time.process_time``), not wall time: on a shared machine the
    wall time of a serial loop measures the other processes too.
    """
    from cooperon.studies.comparison import ode_rtol

    p0 = Parameters(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02)
    solve_direct(p0, rtol=rtol)  # compile / load the Numba code first
    closed_forms.F0_wkb_eq27(p0)
    closed_forms.F0_local_closure(p0)
    closed_forms.F0_ode_step(p0, ode_rtol(rtol))
    direct = wkb = beyond = 0.0
    n = 0
    for r3 in axes["tau_over_tau3"][::step]:
        for g in axes["gamma_tau"][::step]:
            p = Parameters(tau_over_tau3=float(r3), gamma_tau=float(g), **fixed)
            t0 = time.process_time()
            solve_direct(p, rtol=rtol)
            t1 = time.process_time()
            closed_forms.F0_eq32(p)
            closed_forms.F0_wkb_eq27(p)
            t2 = time.process_time()
            closed_forms.F0_local_closure(p)
            closed_forms.F0_ode_step(p, ode_rtol(rtol))
            t3 = time.process_time()
            direct += t1 - t0
            wkb += t2 - t1
            beyond += t3 - t2
            n += 1
    return direct / n, wkb / n, beyond / n, n


def _first_point() -> None:
    from cooperon.studies.comparison import compare_point

    compare_point({"tau_over_tau3": 0.1, "gamma_tau": 0.1, "Dq2_tau": 0.02}, 1e-6)


def worker_warm_up(method: str) -> float:
    """Seconds from starting one worker process to the result of its first grid point."""
    import concurrent.futures as cf
    import multiprocessing

    t0 = time.perf_counter()
    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method)) as pool:
        pool.submit(_first_point).result()
        return time.perf_counter() - t0


def task_overhead(scheduler: str, n_tasks: int = 200) -> tuple[float, float, str]:
    """Seconds to start the pool, and per empty task (submit → result), for ``scheduler``."""
    t0 = time.perf_counter()
    workers = open_workers(scheduler)
    workers.start()
    start = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        futures = [workers.executor.submit(abs, -1) for _ in range(n_tasks)]
        for f in futures:
            f.result()
        per_task = (time.perf_counter() - t0) / n_tasks
    finally:
        workers.close()
    return start, per_task, workers.description


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
    ap.add_argument("--chunks", type=int, default=None, help="points per chunk per axis (auto)")
    ap.add_argument("--no-store", action="store_true", help="skip the run into a Zarr store")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    n = 16 if args.quick else args.n
    axes = {
        "tau_over_tau3": np.geomspace(1e-3, 0.5, n),
        "gamma_tau": np.geomspace(1e-2, 10.0, n),
    }
    fixed = {"Dq2_tau": 1e-2}
    print(f"sweep of {n} x {n} = {n * n} points, rtol {args.rtol:g}, {os.cpu_count()} cores")
    print(f"load average before: {_load()}", flush=True)

    step = max(1, n // 16)
    t_direct, t_wkb, t_beyond, n_sample = per_point_costs(axes, fixed, args.rtol, step)
    t1 = (t_direct + t_wkb + t_beyond) * n * n
    print(
        f"\n1. per point (serial, {n_sample} points): direct solution {1e3 * t_direct:.2f} ms, "
        f"Eqs. (32) + (27) {1e3 * t_wkb:.2f} ms, local closure + ODE step "
        f"{1e3 * t_beyond:.2f} ms ({t_beyond / (t_direct + t_wkb):.1%} of the rest); "
        f"serial cost of the grid T1 = {t1:.1f} s"
    )
    print("\n2. worker warm-up (first point in a new worker process):")
    for method, what in (("fork", "inherits the compiled code"), ("spawn", "imports, cache")):
        print(f"   {method} ({what}): {worker_warm_up(method):.2f} s")
    print("   per task:")
    schedulers = [s.strip() for s in args.schedulers.split(",") if s.strip()]
    for sched in schedulers:
        start, per_task, desc = task_overhead(sched)
        print(f"   {desc}: pool start {1e3 * start:.0f} ms, empty task {1e3 * per_task:.3f} ms")

    print("\n3. sweeps:", flush=True)
    runs = [(s, None) for s in schedulers]
    if not args.no_store:
        runs.append(("processes", "store"))
    rows = []
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for sched, where in runs:
            store = Path(tmp) / "bench.zarr" if where else None
            c0 = _cpu_seconds()
            w0 = time.perf_counter()
            ds = cooperon.sweep(
                axes,
                fixed,
                rtol=args.rtol,
                scheduler=sched,
                chunks=args.chunks,
                store=store,
                progress=not args.no_progress,
                command="validation/bench_sweep.py",
            )
            wall = time.perf_counter() - w0
            c1 = _cpu_seconds()
            here, there = c1[0] - c0[0], c1[1] - c0[1]
            cpu = here + there
            label = f"{sched}{' + Zarr store' if where else ''}"
            results[label] = ds
            workers = int(ds.attrs["executor"].split()[0]) if sched != "synchronous" else 1
            rows.append((label, ds.attrs["executor"], wall, cpu, t1 / (workers * wall)))
            print(
                f"   {label:>22}: {wall:6.1f} s, {n * n / wall:6.1f} points/s, CPU {cpu:.1f} s "
                f"({here:.1f} s in this process) = {cpu / wall:.2f} cores busy, useful "
                f"{t1 / cpu:.2f}, parallel efficiency {rows[-1][4]:.2f}",
                flush=True,
            )
    print()
    print(
        "| run | workers | wall time (s) | points/s | CPU (s) | cores busy | useful CPU "
        "| parallel efficiency |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, desc, wall, cpu, eff in rows:
        print(
            f"| {label} | {desc} | {wall:.1f} | {n * n / wall:.0f} | {cpu:.1f} | "
            f"{cpu / wall:.2f} | {t1 / cpu:.2f} | {eff:.2f} |"
        )
    names = list(results)
    for other in names[1:]:
        same = all(
            np.array_equal(results[names[0]][v].values, results[other][v].values, equal_nan=True)
            for v in ("F0_direct", "F0_direct_error", "dev_eq27", "dev_eq32", "status")
        )
        print(f"{names[0]} and {other} give identical numbers: {same}")
    print(f"load average after: {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
