"""Benchmark: ``solve_volterra`` against a naive NumPy loop and voles.

Run ``python validation/bench_solver.py`` (about a minute) or with ``--quick``
(a few seconds, smaller grids). A benchmark, not a test: nothing is asserted.

Three convolution equations ``y(t) = f(t) + ∫_0^t k(t - s) y(s) ds`` with exact
solutions (derived by Laplace transform, ``Y = F / (1 - K)``), on ``[0, 10]``:

``cos``
    ``k(u) = -u``, ``f = 1``: ``y = cos t`` (equivalent to ``y'' = -y``).
``decay``
    ``k(u) = e^{-u} / 2``, ``f = 1``: ``Y = (p + 1) / (p (p + 1/2))``, so
    ``y = 2 - e^{-t/2}``.
``osc``
    ``k(u) = -5 sin(20 u)``, ``f = 1``: ``Y = (p^2 + 400) / (p (p^2 + 500))``,
    so ``y = (20 + 5 cos(√500 t)) / 25``.

Solvers compared, on grids of N ≈ 2k, 8k, 32k points:

``ours``
    ``solve_volterra(kernels.Convolution(k), f, t, error_estimate=False)``:
    default method (gregory6, order 6), FFT path for convolution kernels.
``ours+est``
    the same with the default ``error_estimate=True`` (one more solve on
    every other point); its column gives the max error estimate.
``naive``
    the obvious baseline, the trapezoidal rule (order 2) stepped in NumPy
    with one ``numpy.dot`` per row: O(N^2). BLAS runs single-threaded (set
    before NumPy is imported) so that all solvers use one core.
``voles``
    ``voles.solve_VIE_2(kernel_values=k(t), g_values=f(t), time_step=h)``
    with its defaults (collocation on the nodes 0, 1/2, 1 of each mesh
    interval of 2 samples, product integration of a piecewise-cubic kernel
    interpolant); its order at the grid points is measured and printed
    (about 4).

Times are the best of several runs after a warm-up call (so Numba
compilation is excluded); the first call's time is printed separately. The
cost exponent is the least-squares slope of log(time) against log(N).

A general kernel ``K(t, s) = s e^{t-s}`` (exact ``y = cos t`` on [0, 3]) is
also solved with the direct O(N^2) path and with the naive loop.
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

OMEGA = np.sqrt(500.0)

# name -> (description, k (numba-compilable and NumPy-vectorised), f, exact)
PROBLEMS: dict[str, tuple[str, Callable, Callable, Callable]] = {
    "cos": ("k(u) = -u, f = 1; y = cos t", lambda u: -u, np.ones_like, np.cos),
    "decay": (
        "k(u) = e^-u / 2, f = 1; y = 2 - e^(-t/2)",
        lambda u: 0.5 * np.exp(-u),
        np.ones_like,
        lambda t: 2.0 - np.exp(-0.5 * t),
    ),
    "osc": (
        "k(u) = -5 sin(20u), f = 1; y = (20 + 5 cos(sqrt(500) t))/25",
        lambda u: -5.0 * np.sin(20.0 * u),
        np.ones_like,
        lambda t: (20.0 + 5.0 * np.cos(OMEGA * t)) / 25.0,
    ),
}
T_END = 10.0


def best_time(fn: Callable, repeats: int) -> tuple[float, object]:
    """Smallest wall time of ``repeats`` calls, and the last result."""
    best = np.inf
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def naive_trapezoid_conv(kv: np.ndarray, fv: np.ndarray, h: float) -> np.ndarray:
    """Trapezoidal rule for ``y = f + ∫ k(t-s) y ds``, one ``numpy.dot`` per row."""
    N = fv.size
    y = np.empty(N, dtype=np.result_type(kv, fv))
    y[0] = fv[0]
    den = 1.0 - 0.5 * h * kv[0]
    kr = np.ascontiguousarray(kv[::-1])  # kr[N-1-l] = k_l: contiguous slices for numpy.dot
    for n in range(1, N):
        # k_{n-j} for j = 1 .. n-1 is kv[n-1], ..., kv[1] = kr[N-n : N-1]
        acc = 0.5 * kv[n] * y[0] + np.dot(kr[N - n : N - 1], y[1:n])
        y[n] = (fv[n] + h * acc) / den
    return y


def naive_trapezoid_general(k: Callable, fv: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Trapezoidal rule for ``y = f + ∫ K(t,s) y ds``; K evaluated row by row in NumPy."""
    N = t.size
    h = t[1] - t[0]
    y = np.empty(N)
    y[0] = fv[0]
    for n in range(1, N):
        kr = k(t[n], t[: n + 1])
        acc = 0.5 * kr[0] * y[0] + np.dot(kr[1:n], y[1:n])
        y[n] = (fv[n] + h * acc) / (1.0 - 0.5 * h * kr[n])
    return y


def fit_exponent(Ns, times) -> float:
    return float(np.polyfit(np.log(Ns), np.log(times), 1)[0])


def max_err(y, ex) -> float:
    return float(np.max(np.abs(y - ex)))


def bench_convolution(name: str, sizes: list[int], repeats: int) -> None:
    desc, k, f, exact = PROBLEMS[name]
    print(f"\n== {name}: {desc}, t in [0, {T_END:g}]")
    kernel = kernels.Convolution(k)
    # first calls (Numba compilation of the user kernel; the solver's own cores
    # come from Numba's on-disk cache after the first run ever)
    t = np.linspace(0.0, T_END, sizes[0])
    h = t[1] - t[0]
    first_ours, _ = best_time(lambda: solve_volterra(kernel, f, t, error_estimate=False), 1)
    first_voles = np.nan
    if voles is not None:
        first_voles, _ = best_time(
            lambda: voles.solve_VIE_2(kernel_values=k(t), g_values=f(t), time_step=h), 1
        )
    print(f"first call at N={sizes[0]}: ours {first_ours:.3f} s, voles {first_voles:.3f} s")

    rows = []
    for N in sizes:
        t = np.linspace(0.0, T_END, N)
        h = t[1] - t[0]
        ex = exact(t)
        kv = k(t - t[0]) * np.ones(N)  # k(u) = -u etc. are NumPy-vectorised too
        fv = f(t)
        rep = repeats if N <= 10_000 else 3
        t_ours, res = best_time(lambda t=t: solve_volterra(kernel, f, t, error_estimate=False), rep)
        t_est, res_e = best_time(lambda t=t: solve_volterra(kernel, f, t), rep)
        t_naive, y_naive = best_time(
            lambda kv=kv, fv=fv, h=h: naive_trapezoid_conv(kv, fv, h), max(1, rep // 2)
        )
        if voles is not None:
            t_voles, y_voles = best_time(
                lambda kv=kv, fv=fv, h=h: voles.solve_VIE_2(
                    kernel_values=kv, g_values=fv, time_step=h
                ),
                rep,
            )
            e_voles = max_err(y_voles, ex)
        else:
            t_voles, e_voles = np.nan, np.nan
        rows.append(
            (
                N,
                t_ours,
                max_err(res.y, ex),
                t_est,
                res_e.max_error_estimate,
                t_naive,
                max_err(y_naive, ex),
                t_voles,
                e_voles,
            )
        )
    hdr = (
        f"{'N':>7} | {'ours s':>9} {'err':>8} | {'ours+est s':>10} {'estimate':>8} | "
        f"{'naive s':>9} {'err':>8} {'/ours':>7} | {'voles s':>9} {'err':>8} {'/ours':>7}"
    )
    print(hdr)
    print("-" * len(hdr))
    for N, to, eo, te, ee, tn, en, tv, ev in rows:
        print(
            f"{N:7d} | {to:9.4f} {eo:8.1e} | {te:10.4f} {ee:8.1e} | "
            f"{tn:9.4f} {en:8.1e} {tn / to:7.1f} | {tv:9.4f} {ev:8.1e} {tv / to:7.2f}"
        )
    Ns = [r[0] for r in rows]
    exps = [fit_exponent(Ns, [r[i] for r in rows]) for i in (1, 3, 5, 7)]
    print(
        f"{'exponent':>7} | {exps[0]:9.2f} {'':8} | {exps[1]:10.2f} {'':8} | "
        f"{exps[2]:9.2f} {'':8} {'':7} | {exps[3]:9.2f}"
    )
    if voles is not None and len(rows) >= 2:
        e1, e2 = rows[0][8], rows[1][8]
        if e1 > 1e-13 and e2 > 1e-14:
            order = np.log(e1 / e2) / np.log((Ns[1] - 1) / (Ns[0] - 1))
            print(f"voles observed order (first two grids): {order:.2f}")
        en1, en2 = rows[0][6], rows[1][6]
        order_n = np.log(en1 / en2) / np.log((Ns[1] - 1) / (Ns[0] - 1))
        print(f"naive trapezoid observed order (first two grids): {order_n:.2f}")


def k_general(t, s):
    return s * np.exp(t - s)


def f_general(t):
    return 0.5 * t * (np.cos(t) - np.sin(t)) - 0.5 * np.sin(t) + np.cos(t)


def bench_general(sizes: list[int], repeats: int) -> None:
    print("\n== general kernel K(t, s) = s e^(t-s), y = cos t on [0, 3] (direct O(N^2) path)")
    kernel = kernels.General(k_general)
    t = np.linspace(0.0, 3.0, sizes[0])
    first, _ = best_time(lambda: solve_volterra(kernel, f_general, t, error_estimate=False), 1)
    print(f"first call at N={sizes[0]}: ours {first:.3f} s")
    rows = []
    for N in sizes:
        t = np.linspace(0.0, 3.0, N)
        ex = np.cos(t)
        fv = f_general(t)
        rep = repeats if N <= 5000 else 1
        t_ours, res = best_time(
            lambda t=t: solve_volterra(kernel, f_general, t, error_estimate=False), rep
        )
        t_naive, y_naive = best_time(
            lambda fv=fv, t=t: naive_trapezoid_general(k_general, fv, t), 1
        )
        rows.append((N, t_ours, max_err(res.y, ex), t_naive, max_err(y_naive, ex)))
    hdr = f"{'N':>7} | {'ours s':>9} {'err':>8} | {'naive s':>9} {'err':>8} {'/ours':>7}"
    print(hdr)
    print("-" * len(hdr))
    for N, to, eo, tn, en in rows:
        print(f"{N:7d} | {to:9.4f} {eo:8.1e} | {tn:9.4f} {en:8.1e} {tn / to:7.1f}")
    Ns = [r[0] for r in rows]
    print(
        f"{'exponent':>7} | {fit_exponent(Ns, [r[1] for r in rows]):9.2f} {'':8} | "
        f"{fit_exponent(Ns, [r[3] for r in rows]):9.2f}"
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small grids, one repeat")
    args = ap.parse_args(argv)
    if args.quick:
        conv_sizes, gen_sizes, repeats = [1025, 2049, 4097], [513, 1025], 1
    else:
        conv_sizes, gen_sizes, repeats = [2049, 8193, 32769], [2049, 4097, 8193], 5
    print("solve_volterra (default gregory6, FFT path) vs naive NumPy trapezoid vs voles")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"voles {getattr(voles, '__version__', 'not installed')}, numpy {np.__version__}; "
        f"{os.cpu_count()} CPUs, load average {load:.2f}"
    )
    for name in PROBLEMS:
        bench_convolution(name, conv_sizes, repeats)
    bench_general(gen_sizes, repeats)


if __name__ == "__main__":
    main()
