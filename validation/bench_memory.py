"""Benchmark: steps much longer than a fast exponential memory (the O(N) path on any mesh).

Run ``python validation/bench_memory.py`` (about 30 s) or with ``--quick``.
A benchmark, not a test: nothing about time is asserted; timings on a shared
machine are noisy (the load average is printed).

The equation (``tests/solver/fast_memory.py``, whose closed forms the tests
check against adaptive quadrature): on ``[-4, 0]``

    y(t) = f(t) + ∫_{-4}^t mu e^{-mu (t - s)} k(t, s) y(s) ds,
    k = 0.4 e^{-0.3 |2t - s|} + 0.3 e^{-0.5 (t - s)} cos(t - s),

a memory of length ``1/mu`` times a slow sum of exponentials with a kink along
the breakpoint ``s = 2t`` (a ``Piecewise`` of two ``ExpSum`` kernels), exact
solution ``y = cos t + 0.5 e^{0.35 t}``; default method (gregory6).

*Coarse*: the O(N) running sums with exponential product integration on a grid
chosen for the slow scales, whatever ``mu h``. *Today's path*: the approach
before exponential product integration on general meshes, a uniform grid whose
step resolves the memory (``mu h <= 1``), solved by the same running sums; its
cost is a lower bound for the pre-change code, which needed ``mu h << 1`` for
accuracy as well (its Gregory weights on kernel values are wrong by 7e-2 at
``mu h = 1``, see ``tests/solver/test_coarse_steps.py``).

1. A fixed grid of 161 points (h = 0.025), ``mu h`` = 1e-2 .. 1e3: time of one
   solve (``error_estimate=False``, best of 5) and max error, against today's
   path at the same accuracy: the uniform grid with ``mu h <= 1`` refined by
   doubling until its max error is at most the coarse one (or at its round-off
   level ``30 eps sqrt(N) max|y|``).
2. The same with ``rtol = 1e-8, atol = 1e-10`` (the tolerance driver refines
   each user grid by itself; ``atol`` because ``y`` crosses zero, where a
   relative tolerance alone asks for absolute accuracy below the rounding
   floor on a fine grid): the coarse user grid has 41 points; today's has
   ``mu h <= 1``. Points used, time, max error / tolerance.
3. Cost against N on graded meshes at ``mu = 1e3``: a smoothly graded mesh
   (every step different, growing smoothly by e^3 = 20 from -4 to 0, the
   kink-free slow factor) and a dyadic mesh (runs of steps doubling towards the past, closed
   under ``t -> 2t``, with the kink); least-squares exponent of time against N.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_ROOT))
sys.path.insert(0, str(_ROOT / "tests" / "solver"))

from bench_fast import best_time, fit_exponent  # noqa: E402
from fast_memory import dyadic, exact, forcing, graded, kernel, uniform  # noqa: E402

from solver import solve_volterra  # noqa: E402
from solver.mesh import refine  # noqa: E402

EPS = np.finfo(float).eps
MUH = (1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3)
T = 4.0


def max_error(t, y) -> float:
    return float(np.max(np.abs(y - exact(t))))


def solve_once(K, f, t):
    res = solve_volterra(K, f, t, error_estimate=False)
    if not res.success or res.stats.path != "expsum":
        raise RuntimeError(f"{res.message} (path {res.stats.path!r})")
    return res


def _today_at_same_accuracy(K, f, t, muh, target, repeats):
    """Uniform refinement of t with mu h <= 1, doubled until the error is <= target."""
    m = max(1, math.ceil(muh))
    while True:
        tf = refine(t, m)
        res = solve_once(K, f, tf)
        err = max_error(tf, res.y)
        guard = 30 * EPS * math.sqrt(tf.size) * float(np.max(np.abs(res.y)))
        if err <= max(target, guard) or tf.size > 2**23:
            dt, _ = best_time(lambda tf=tf: solve_once(K, f, tf), repeats)
            return tf.size, dt, err
        m *= 2


def _table(title: str, hdr: str) -> None:
    print(title)
    print(hdr)
    print("-" * len(hdr))


def _memories(h: float):
    """``(mu h, mu, kernel, f)`` for the kink kernel over ``MUH`` on a step ``h``."""
    for muh in MUH:
        mu = muh / h
        yield muh, mu, kernel(mu, True), forcing(mu, True)


def section_fixed_grid(n: int, repeats: int) -> None:
    t = uniform(n)
    h = t[1] - t[0]
    _table(
        f"\n1. A fixed grid of {n} points (h = {h:g}), one solve (ms, best of {repeats})",
        f"{'mu h':>7} {'mu T':>8} | {'coarse N':>8} {'ms':>8} {'max err':>9} | "
        f"{'today N':>8} {'ms':>8} {'max err':>9} | {'ratio':>7}",
    )
    for muh, mu, K, f in _memories(h):
        solve_once(K, f, t)  # warm up
        dt, res = best_time(lambda K=K, f=f: solve_once(K, f, t), repeats)
        err = max_error(t, res.y)
        nf, dtf, errf = _today_at_same_accuracy(K, f, t, muh, err, repeats)
        print(
            f"{muh:7.0e} {mu * T:8.0e} | {n:8d} {1e3 * dt:8.2f} {err:9.1e} | "
            f"{nf:8d} {1e3 * dtf:8.2f} {errf:9.1e} | {dtf / dt:7.1f}"
        )


def _timed_tolerance_solve(K, f, t, rtol, atol, repeats):
    dt, res = best_time(lambda: solve_volterra(K, f, t, rtol=rtol, atol=atol), repeats)
    if res.status != 0:
        raise RuntimeError(res.message)
    worst = float(np.max(np.abs(res.y - exact(t)) / (atol + rtol * np.abs(exact(t)))))
    return res, dt, worst


def section_tolerance(n: int, rtol: float, atol: float, repeats: int) -> None:
    t = uniform(n)
    h = t[1] - t[0]
    _table(
        f"\n2. rtol = {rtol:g}, atol = {atol:g}: coarse user grid of {n} points (h = {h:g}) "
        f"against today's (mu h <= 1);\n   points used by the driver, ms (best of {repeats}), "
        "max error / tolerance",
        f"{'mu h':>7} | {'coarse pts':>10} {'ms':>8} {'err/tol':>8} | "
        f"{'today N':>8} {'pts':>8} {'ms':>8} {'err/tol':>8} | {'ratio':>7}",
    )
    for muh, mu, K, f in _memories(h):
        rc, dtc, wc = _timed_tolerance_solve(K, f, t, rtol, atol, repeats)
        # N - 1 divisible by 4: the driver's first attempt uses the user's grid itself
        nt = max(n, 4 * math.ceil(mu * T / 4) + 1)
        tt = uniform(nt)
        rt, dtt, wt = _timed_tolerance_solve(K, f, tt, rtol, atol, repeats)
        print(
            f"{muh:7.0e} | {rc.stats.points:10d} {1e3 * dtc:8.2f} {wc:8.1e} | "
            f"{nt:8d} {rt.stats.points:8d} {1e3 * dtt:8.2f} {wt:8.1e} | {dtt / dtc:7.1f}"
        )


def peak_megabytes(fn) -> float:
    """Peak memory allocated (NumPy arrays included) while ``fn()`` runs, in MB."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def section_graded_cost(kmax: dict[str, int], repeats: int) -> None:
    mu = 1e3
    print(
        f"\n3. Cost against N on graded meshes, mu = {mu:g} (ms, best of {repeats}; MB: peak "
        "memory of one solve)"
    )
    cases = {
        "smoothly graded, no kink": (lambda k: graded(2**k + 1), False),
        "dyadic, kink at s = 2t": (lambda k: dyadic(2 ** (k - 1)), True),
    }
    for name, (make, kink) in cases.items():
        K, f = kernel(mu, kink), forcing(mu, kink)
        solve_once(K, f, make(10))  # warm up
        Ns, times = [], []
        print(f"   {name}")
        print(
            f"{'N':>9} {'mu h min':>9} {'mu h max':>9} {'ms':>9} {'us/point':>9} {'MB':>7} "
            f"{'max err':>9}"
        )
        for k in range(10, kmax[name] + 1):
            t = make(k)
            dt, res = best_time(lambda t=t, K=K, f=f: solve_once(K, f, t), repeats)
            mb = peak_megabytes(lambda t=t, K=K, f=f: solve_once(K, f, t))
            h = np.diff(t)
            print(
                f"{t.size:9d} {mu * h.min():9.2g} {mu * h.max():9.2g} {1e3 * dt:9.2f} "
                f"{1e6 * dt / t.size:9.1f} {mb:7.0f} {max_error(t, res.y):9.1e}"
            )
            Ns.append(t.size)
            times.append(dt)
        print(f"{'exponent':>9} {fit_exponent(Ns, times):9.2f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, N up to 2^15 + 1")
    args = ap.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"coarse steps under a fast memory; {os.cpu_count()} CPUs, load average {load:.2f}")
    repeats = 3 if args.quick else 5
    section_fixed_grid(161, repeats)
    section_tolerance(41, 1e-8, 1e-10, repeats)
    # smoothly graded meshes: every cell has its own stencil geometry, and the weights of all of
    # them are held at once (~18 kB a point, see the MB column): kept to N <= 2^15 + 1
    section_graded_cost(
        {"smoothly graded, no kink": 15, "dyadic, kink at s = 2t": 15 if args.quick else 17}, 3
    )


if __name__ == "__main__":
    main()
