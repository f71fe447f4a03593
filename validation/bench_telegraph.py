"""Benchmark of the telegraph-noise Monte Carlo (:mod:`cooperon.telegraph`, Appendix B).

Run ``python validation/bench_telegraph.py`` (about 10 s; ``--quick``: a few
seconds).  A benchmark, not a test: nothing about time is asserted.

A *segment* is one constant piece of a trajectory ξ(t) = ±1 between two
switches (a path on [0, D] with N switches has N + 1 segments; E N = γD).
For γD = 1, 10, 100 (γ = 1; D = 1, 10, 100), measured in one run:

1. ``sample_telegraph`` alone (exact event-driven switching times, vectorised
   over paths), in chunks of paths as the estimators use it: segments per
   second, counted exactly.
2. ``estimate_k`` with 8 defect positions t (ξ evaluated at 16 times per
   path, the phase average and its standard error): segments per second,
   counting the expected n(1 + γD) segments (its sampling error is below
   1e-3 relative here).
3. The same two computations as a naive per-trajectory Python loop (one
   ``Generator.exponential`` call per waiting time, ``bisect`` for ξ(t)), on
   fewer paths; the ratios of the vectorised rates to the naive ones.
4. For reference (no naive counterpart), the rates of the two other
   estimators on the same paths' scale: ``estimate_loop_average`` (8 uniform
   positions per path) and ``estimate_correlation`` (9 lags in [−D/3, D/3],
   8 origins: its paths live on [0, D]).

The two k estimates are also compared (their difference in units of the
combined standard error), so the speed-up is between two correct estimators.
The machine may be shared: rates are noisy; the ratios, measured in the same
run, less so.
"""

from __future__ import annotations

import argparse
import bisect
import math
import sys as _sys
import time
from pathlib import Path as _Path

import numpy as np

# Run from a checkout: make the packages of this repository importable (and not a
# stale install) when the script is started as validation/….py.
_sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))

from cooperon import telegraph as tg

TARGET = 1e6  # segments per second


def naive_paths(gamma: float, duration: float, n: int, rng: np.random.Generator):
    """Per-trajectory loop: initial value and switching times of each path (the baseline)."""
    out = []
    for _ in range(n):
        x0 = 1 if rng.random() < 0.5 else -1
        times = []
        t = rng.exponential(1.0 / gamma)
        while t <= duration:
            times.append(t)
            t += rng.exponential(1.0 / gamma)
        out.append((x0, times))
    return out


def naive_k(J: float, gamma: float, t: np.ndarray, t0: float, n: int, rng: np.random.Generator):
    """k(t, t₀) by the per-trajectory loop; returns (mean, stderr, segments)."""
    s = np.zeros(t.size)
    s2 = np.zeros(t.size)
    segments = 0
    for x0, times in naive_paths(gamma, t0, n, rng):
        segments += len(times) + 1
        for j, tj in enumerate(t):
            a = x0 * (-1) ** bisect.bisect_right(times, tj)
            b = x0 * (-1) ** bisect.bisect_right(times, t0 - tj)
            c = math.cos(J * (a - b))
            s[j] += c
            s2[j] += c * c
    mean = s / n
    var = (s2 - n * mean**2) / (n - 1)
    return mean, np.sqrt(np.maximum(var, 0.0) / n), segments


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def vector_sampling(gamma: float, duration: float, n: int, rng: np.random.Generator) -> int:
    """Sample n paths in the estimators' chunks; return the number of segments."""
    segments = 0
    for k in tg._chunks(n, gamma, duration, 16):
        segments += tg.sample_telegraph(gamma, duration, k, rng).n_segments
    return segments


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer paths (a smoke run)")
    p.add_argument("--seed", type=int, default=2024)
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    budget = 4e5 if args.quick else 4e6  # segments per vectorised measurement
    naive_budget = 2e4 if args.quick else 2e5
    gamma, J = 1.0, 0.7
    tg.estimate_k(J, gamma, [0.5], 1.0, 1000, rng)  # warm-up (imports, allocator)

    print(f"seed {args.seed}; γ = {gamma}, J = {J}; target ≥ {TARGET:.0e} segments/s")
    header = (
        f"{'γD':>5} {'paths':>9} {'sample seg/s':>13} {'naive':>10} {'ratio':>6} "
        f"{'k seg/s':>11} {'naive':>10} {'ratio':>6} {'Δk/σ max':>9} "
        f"{'loop seg/s':>11} {'corr seg/s':>11}"
    )
    print(header)
    worst = math.inf
    for D in (1.0, 10.0, 100.0):
        n = int(budget / (1 + gamma * D))
        n_naive = max(200, int(naive_budget / (1 + gamma * D)))
        t = D * np.linspace(0.05, 0.95, 8)

        seg, dt = timed(lambda n=n, D=D: vector_sampling(gamma, D, n, rng))
        rate_sample = seg / dt
        paths, dt = timed(lambda n=n_naive, D=D: naive_paths(gamma, D, n, rng))
        rate_sample_naive = sum(len(x[1]) + 1 for x in paths) / dt

        est, dt = timed(lambda n=n, D=D, t=t: tg.estimate_k(J, gamma, t, D, n, rng))
        rate_k = n * (1 + gamma * D) / dt
        (mean, err, seg_naive), dt = timed(
            lambda n=n_naive, D=D, t=t: naive_k(J, gamma, t, D, n, rng)
        )
        rate_k_naive = seg_naive / dt
        z = np.abs(est.real.value - mean) / np.hypot(est.real.stderr, err)
        _, dt = timed(lambda n=n, D=D: tg.estimate_loop_average(J, gamma, D, n, rng))
        rate_loop = n * (1 + gamma * D) / dt
        lags = np.linspace(-D / 3, D / 3, 9)
        _, dt = timed(lambda n=n, lags=lags: tg.estimate_correlation(gamma, lags, n, rng))
        rate_corr = n * (1 + gamma * D) / dt
        worst = min(worst, rate_sample, rate_k, rate_loop, rate_corr)
        print(
            f"{gamma * D:5.0f} {n:9d} {rate_sample:13.3e} {rate_sample_naive:10.3e} "
            f"{rate_sample / rate_sample_naive:6.0f} {rate_k:11.3e} {rate_k_naive:10.3e} "
            f"{rate_k / rate_k_naive:6.0f} {z.max():9.2f} {rate_loop:11.3e} {rate_corr:11.3e}"
        )
    verdict = "met" if worst >= TARGET else "NOT met"
    print(f"slowest vectorised rate {worst:.3e} segments/s: target {TARGET:.0e} {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
