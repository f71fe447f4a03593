"""Benchmark of the fast paths of ``solve_volterra``.

Run ``python validation/bench_fast.py`` (about a minute: the direct O(N^2)
reference solves dominate) or with ``--quick`` (under a minute). A benchmark,
not a test: nothing about time is asserted.

1. Cost exponents: the least-squares slope of log(time) against log(N) over
   N = 2^14 + 1 .. 2^20 + 1 (``--quick``: up to 2^17 + 1) for

   * ``ExpSum``: K(t, s) = sum_k w_k e^{-mu_k (t - s)}, mu = 1, 1-2i, 1+2i, 3
     (w = 0.3, 0.1±0.05i, -0.2; a real kernel), on [0, 10] (O(N) running sums);
   * ``Piecewise``: ExpSum pieces K_left = K for s < 2t and K_right = K / 2 for
     s > 2t on [-10, 0] (a grid ending at 0 with N - 1 even, so the breakpoint
     s = 2t falls on grid points of t and of t[::2], as the fast path needs);
   * ``Convolution``: k(u) = -5 sin(20 u) on [0, 10] (the FFT path,
     O(N log^2 N)).

   All with f = cos t, the default method (gregory6) and
   ``error_estimate=False``. For reference, the exponent a pure N log2(N)^2
   cost would show over the same range is printed too.
2. Speed-up of each fast path over ``path="direct"`` (the O(N^2) path): at
   N = 2^15 for the convolution kernel, at N = 2^13 for the ExpSum kernels
   (their direct path needs about 10 s there already; 2^15 would take minutes).
3. Time against voles at equal maximum error, on the three convolution
   problems of ``bench_solver.py`` (cos, decay, osc on [0, 10]): for each
   solver, N is scanned in steps of 2^(1/4) and the first N whose maximum
   error is below the target is timed.
4. A 10^6-point ExpSum problem on t in [0, 2000] whose factors e^{mu t},
   e^{mu s} (up to e^{2000}) and e^{-lam t} = e^{1000} would overflow if the
   kernel were evaluated as a(t) b(s), although the kernel is bounded
   (|K| <= 0.83). Terms (w, lam, mu): (0.3, 0, 1), (0.1±0.05i, ±0.1i, 1∓2i),
   (-0.2, 0, 3), (0.1, -0.5, -0.5) -- the last one is 0.1 e^{-s/2}, a term
   growing with t - s (Re mu < 0). Exact solution y = cos t, with
   f = cos t - Re sum_k w_k e^{lam_k t} (e^{it} - e^{-mu_k t}) / (mu_k + i),
   evaluated as e^{(lam + i) t} and e^{(lam - mu) t}, which are bounded.
   Since sup_t ∫_0^t |K(t, s)| ds <= 0.3 + 2 (0.112) + 0.2 / 3 + 0.1 (2) = 0.79 < 1,
   the resolvent is bounded and errors cannot grow over the long interval.
   The simple case K = 0.5 e^{-(t-s)}, f = 1 (y = 2 - e^{-t/2}: from
   z = ∫ e^{-(t-s)} y ds, z' = 1 - z/2) is solved on the same grid.
"""

from __future__ import annotations

import os

# single-threaded BLAS for every solver: on a shared machine OpenBLAS threads in the
# naive loop's numpy.dot calls turn spin-waiting into 10-100x slow-downs
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys as _sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path as _Path  # noqa: E402

import numpy as np  # noqa: E402

# Run from a checkout: make the packages of this repository importable (and not a
# stale install) when the script is started as validation/….py.
_sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))

from solver import kernels, solve_volterra  # noqa: E402

try:
    import voles
except ImportError:  # pragma: no cover - voles is an optional peer
    voles = None

W = np.array([0.3, 0.1 + 0.05j, 0.1 - 0.05j, -0.2])
MU = np.array([1.0, 1.0 - 2.0j, 1.0 + 2.0j, 3.0])
LAM = np.zeros(4)

K_EXPSUM = kernels.ExpSum(W, LAM, MU)
K_PIECEWISE = kernels.Piecewise(
    [kernels.ExpSum(W, LAM, MU), kernels.ExpSum(0.5 * W, LAM, MU)], [lambda t: 2.0 * t]
)
K_CONV = kernels.Convolution(lambda u: -5.0 * np.sin(20.0 * u))

# name -> (kernel, t0, t_end)
FAST_CASES = {
    "ExpSum": (K_EXPSUM, 0.0, 10.0),
    "Piecewise": (K_PIECEWISE, -10.0, 0.0),
    "Convolution": (K_CONV, 0.0, 10.0),
}

OMEGA = np.sqrt(500.0)
# the convolution problems of bench_solver.py: name -> (k, exact), f = 1, t in [0, 10]
CONV_PROBLEMS: dict[str, tuple[Callable, Callable]] = {
    "cos  (k=-u)": (lambda u: -u, np.cos),
    "decay (k=e^-u/2)": (lambda u: 0.5 * np.exp(-u), lambda t: 2.0 - np.exp(-0.5 * t)),
    "osc  (k=-5sin20u)": (
        lambda u: -5.0 * np.sin(20.0 * u),
        lambda t: (20.0 + 5.0 * np.cos(OMEGA * t)) / 25.0,
    ),
}


def best_time(fn: Callable, repeats: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def fit_exponent(Ns, times) -> float:
    return float(np.polyfit(np.log(Ns), np.log(times), 1)[0])


def solve(kernel, t, path="auto"):
    res = solve_volterra(kernel, np.cos, t, error_estimate=False, path=path)
    if not res.success:
        raise RuntimeError(res.message)
    return res


def section_exponents(kmax: int) -> None:
    print("\n1. Cost of the fast paths (seconds, best of 3; f = cos t, gregory6)")
    # N - 1 even: the breakpoint s = 2t must also fall on the points of the grid t[::2]
    Ns = [2**k + 1 for k in range(14, kmax + 1)]
    for kernel, t0, t1 in FAST_CASES.values():  # warm up (Numba compilation)
        solve(kernel, np.linspace(t0, t1, 2**10 + 1))
    times = {name: [] for name in FAST_CASES}
    for N in Ns:
        for name, (kernel, t0, t1) in FAST_CASES.items():
            t = np.linspace(t0, t1, N)
            dt, res = best_time(lambda kernel=kernel, t=t: solve(kernel, t), 3 if N <= 2**18 else 1)
            want = "convolution" if name == "Convolution" else "expsum"
            if res.stats.path != want:
                raise RuntimeError(f"{name}: expected path {want!r}, got {res.stats.path!r}")
            times[name].append(dt)
    hdr = f"{'N':>9} | " + " | ".join(f"{n:>11}" for n in FAST_CASES)
    print(hdr)
    print("-" * len(hdr))
    for i, N in enumerate(Ns):
        print(f"{N:9d} | " + " | ".join(f"{times[n][i]:11.4f}" for n in FAST_CASES))
    print(f"{'exponent':>9} | " + " | ".join(f"{fit_exponent(Ns, times[n]):11.2f}" for n in times))
    ref = fit_exponent(Ns, [N * np.log2(N) ** 2 for N in Ns])
    print(f"(exponent of N log2(N)^2 over the same range: {ref:.2f}; of N: 1.00)")


def section_speedup(n_conv: int, n_expsum: int) -> None:
    print("\n2. Speed-up over path='direct' (seconds; direct: one run)")
    hdr = (
        f"{'kernel':>11} | {'N':>7} | {'fast':>8} | {'direct':>8} | {'speed-up':>8} | "
        f"{'max|diff|':>9}"
    )
    print(hdr)
    print("-" * len(hdr))
    for name, (kernel, t0, t1) in FAST_CASES.items():
        N = (n_conv if name == "Convolution" else n_expsum) + 1
        t = np.linspace(t0, t1, N)
        tf, rf = best_time(lambda kernel=kernel, t=t: solve(kernel, t), 3)
        td, rd = best_time(lambda kernel=kernel, t=t: solve(kernel, t, "direct"), 1)
        diff = np.max(np.abs(rf.y - rd.y))
        print(f"{name:>11} | {N:7d} | {tf:8.4f} | {td:8.3f} | {td / tf:8.0f} | {diff:9.1e}")
    print(
        "(the convolution path solves the direct path's equations, so they agree to rounding; "
        "the ExpSum path uses exponential product integration, a different rule of the same "
        "order)"
    )


def _scan_sizes(nmax: int) -> list[int]:
    out = []
    for j in range(24, 4 * int(np.log2(nmax)) + 1):
        n = int(round(2.0 ** (j / 4.0) / 4.0)) * 4 + 1
        if n <= nmax and (not out or n > out[-1]):
            out.append(n)
    return out


def _first_reaching(run: Callable, exact: Callable, target: float, sizes: list[int]):
    """First N (of the scan) whose max error is <= target; (N, err) or (None, best err)."""
    best = np.inf
    for N in sizes:
        t = np.linspace(0.0, 10.0, N)
        err = float(np.max(np.abs(run(t) - exact(t))))
        best = min(best, err)
        if err <= target:
            return N, err
    return None, best


def section_voles(targets: list[float], nmax: int) -> None:
    print("\n3. Equal maximum error: ours (default gregory6) vs voles (defaults, order 4)")
    if voles is None:
        print("voles is not installed; skipped")
        return
    sizes = _scan_sizes(nmax)
    hdr = (
        f"{'problem':>18} | {'target':>7} | {'ours N':>7} {'err':>8} {'s':>8} | "
        f"{'voles N':>7} {'err':>8} {'s':>8} | {'voles/ours':>10}"
    )
    print(hdr)
    print("-" * len(hdr))
    for name, (k, exact) in CONV_PROBLEMS.items():
        kernel = kernels.Convolution(k)

        def ours(t, kernel=kernel):
            return solve_volterra(kernel, np.ones_like, t, error_estimate=False).y

        def theirs(t, k=k):
            return voles.solve_VIE_2(
                kernel_values=k(t) * np.ones_like(t),
                g_values=np.ones_like(t),
                time_step=t[1] - t[0],
            )

        ours(np.linspace(0.0, 10.0, 101))  # warm up
        theirs(np.linspace(0.0, 10.0, 101))
        for target in targets:
            cols = []
            for run in (ours, theirs):
                N, err = _first_reaching(run, exact, target, sizes)
                if N is None:
                    cols.append((None, err, np.nan))
                    continue
                t = np.linspace(0.0, 10.0, N)
                dt, _ = best_time(lambda run=run, t=t: run(t), 5)
                cols.append((N, err, dt))
            (no, eo, so), (nv, ev, sv) = cols

            def fmt(n, e, s):
                if n is None:
                    return f"{'>' + str(sizes[-1]):>7} {e:8.1e} {'n/a':>8}"
                return f"{n:7d} {e:8.1e} {s:8.4f}"

            print(
                f"{name:>18} | {target:7.0e} | {fmt(no, eo, so)} | {fmt(nv, ev, sv)} | "
                f"{sv / so:10.2f}"
            )


def _overflow_problem():
    w = np.array([0.3, 0.1 + 0.05j, 0.1 - 0.05j, -0.2, 0.1])
    lam = np.array([0.0, 0.1j, -0.1j, 0.0, -0.5])
    mu = np.array([1.0, 1.0 - 2.0j, 1.0 + 2.0j, 3.0, -0.5])

    def f(t):
        t = np.asarray(t, dtype=float)
        acc = np.zeros(t.shape, dtype=complex)
        for wk, lk, mk in zip(w, lam, mu, strict=True):
            # e^{lam t} (e^{it} - e^{-mu t}) written with bounded exponentials only
            acc += wk * (np.exp((lk + 1j) * t) - np.exp((lk - mk) * t)) / (mk + 1j)
        return np.cos(t) - acc.real

    return kernels.ExpSum(w, lam, mu), f, w, lam, mu


def section_overflow(N: int) -> None:
    print(f"\n4. {N}-point ExpSum problem on [0, 2000] with overflowing factors")
    kernel, f, w, lam, mu = _overflow_problem()
    t = np.linspace(0.0, 2000.0, N)
    with np.errstate(over="ignore"):
        naive = np.exp(mu[0] * t[-1]), np.exp(-lam[4] * t[-1])
    s = np.linspace(0.0, 2000.0, 2001)
    T, S = np.meshgrid(s, s, indexing="ij")
    Kmax = float(np.max(np.abs(np.where(S <= T, kernel(T, S), 0.0))))
    print(
        f"e^(mu t) at t = 2000: {naive[0]}, e^(-lam t): {naive[1]}; "
        f"max |K(t, s)| on 0 <= s <= t <= 2000 (2001^2 samples): {Kmax:.3f}"
    )
    for method in ("gregory6", "trapezoidal"):
        t0 = time.perf_counter()
        res = solve_volterra(kernel, f, t, method=method, error_estimate=False)
        dt = time.perf_counter() - t0
        err = float(np.max(np.abs(res.y - np.cos(t))))
        print(
            f"{method:>11}: path {res.stats.path}, {dt:.2f} s, success={res.success}, "
            f"finite={bool(np.all(np.isfinite(res.y)))}, max |y - cos t| = {err:.2e} "
            f"(h = {t[1] - t[0]:.1e})"
        )
    # the simplest case: K = a e^{-(t-s)}, f = 1 => y = (1 - a e^{-(1-a)t}) / (1 - a)
    a = 0.5
    k1 = kernels.ExpSum(np.array([a]), np.array([0.0]), np.array([1.0]))
    t0 = time.perf_counter()
    res = solve_volterra(k1, np.ones_like, t, error_estimate=False)
    dt = time.perf_counter() - t0
    exact = (1.0 - a * np.exp(-(1.0 - a) * t)) / (1.0 - a)
    print(
        f"K = 0.5 e^-(t-s), f = 1 (y = 2 - e^(-t/2)): {dt:.2f} s, "
        f"max |y - exact| = {np.max(np.abs(res.y - exact)):.2e}"
    )


def section_graded(sizes) -> None:
    print("\n5. Graded mesh + exponential product integration: K = a e^{-(t-s)} c(s), history 1e5")
    print(
        "   a = 0.5, c(s) = 1 + 0.5 sin(s/3000), f = 1 on [0, 1e5]; reference: the equivalent ODE"
    )
    print(
        "   y' = 1 + (a c(t) - 1) y solved with DOP853 at rtol 1e-13; mesh t = L (e^{6x}-1)/(e^6-1)"
    )
    from scipy.integrate import solve_ivp

    a, L = 0.5, 1e5
    ref = solve_ivp(
        lambda t, y: 1 + (a * (1 + 0.5 * np.sin(t / 3000)) - 1) * y,
        [0, L],
        [1.0],
        rtol=1e-13,
        atol=1e-14,
        method="DOP853",
    ).y[0, -1]
    K = kernels.Damped(lambda t, s: a * (1 + 0.5 * np.sin(s / 3000)), 1.0)
    print(
        f"{'N':>8s} {'first h':>9s} {'last h':>9s} {'rel. error':>11s} {'estimate':>10s} {'s':>7s}"
    )
    for N in sizes:
        x = np.linspace(0.0, 1.0, N)
        t = L * np.expm1(6 * x) / np.expm1(6)
        t0 = time.perf_counter()
        res = solve_volterra(K, lambda t: np.ones_like(t), t)
        dt = time.perf_counter() - t0
        err = abs(res.y[-1] - ref) / ref
        est = res.error_estimate[-1] / ref
        h = np.diff(t)
        print(f"{N:8d} {h[0]:9.3g} {h[-1]:9.3g} {err:11.2e} {est:10.2e} {dt:7.2f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N up to 2^17, smaller direct solves")
    args = ap.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"fast paths of solve_volterra; {os.cpu_count()} CPUs, load average {load:.2f}")
    if args.quick:
        section_exponents(17)
        section_speedup(2**13, 2**11)
        section_voles([1e-8, 1e-10], 2**17)
        section_overflow(10**5)
        section_graded([2001, 4001])
    else:
        section_exponents(20)
        section_speedup(2**15, 2**13)
        section_voles([1e-6, 1e-8, 1e-10], 2**19)
        section_overflow(10**6)
        section_graded([1001, 2001, 4001, 8001])


if __name__ == "__main__":
    main()
