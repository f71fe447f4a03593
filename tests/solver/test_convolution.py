"""The FFT (Hairer-Lubich-Schlichte) path for convolution kernels, ``solver._convolution``.

It must reproduce the direct O(N^2) Toeplitz discretisation (``path="direct"``)
to rounding, for real and complex kernels and right-hand sides, every method
and grid sizes on both sides of the switch to the recursion.
"""

from __future__ import annotations

import numpy as np
import pytest

from solver import _convolution, kernels, solve_volterra

METHODS = ("trapezoidal", "gregory4", "gregory6")
ORDERS = {"trapezoidal": 2, "gregory4": 4, "gregory6": 6}

# Kernel objects are module-level so that each user function is compiled by Numba once.
K_MINUS_LAG = kernels.Convolution(lambda u: -u)
K_COMPLEX = kernels.Convolution(lambda u: 1j * np.exp(2j * u))
K_OSC = kernels.Convolution(lambda u: -5.0 * np.sin(20.0 * u))
K_GROW = kernels.Convolution(lambda u: np.exp(u))
K_DECAY = kernels.Convolution(lambda u: 0.5 * np.exp(-u))


def _ones(t):
    return np.ones_like(t)


# name -> (kernel, f, t_end, exact solution)
PROBLEMS = {
    # y = 1 - ∫ (t-s) y ds  <=>  y'' = -y, y(0) = 1, y'(0) = 0
    "minus_lag": (K_MINUS_LAG, _ones, 10.0, np.cos),
    # Laplace: Y = (p - 2i) / (p (p - 3i))  =>  y = (2 + e^{3it}) / 3
    "complex_rotation": (
        K_COMPLEX,
        lambda t: np.ones_like(t) + 0j,
        6.0,
        lambda t: (2.0 + np.exp(3j * t)) / 3.0,
    ),
    # Laplace: y = (20 + 5 cos(Ω t)) / 25, Ω = sqrt(500); many kernel periods per grid
    "oscillatory_sin": (
        K_OSC,
        _ones,
        3.0,
        lambda t: (20.0 + 5.0 * np.cos(np.sqrt(500.0) * t)) / 25.0,
    ),
    # growing kernel, Laplace: Y = (p - 1) / (p (p - 2))  =>  y = (1 + e^{2t}) / 2 (e^10 range)
    "growing_exp": (K_GROW, _ones, 5.0, lambda t: 0.5 * (1.0 + np.exp(2.0 * t))),
    # real kernel, complex right-hand side: exercises the dtype promotion
    "decay_complex_f": (K_DECAY, lambda t: np.exp(1j * t), 4.0, None),
}

# sizes below and above DIRECT_MAX (512), powers of two, one above, odd and even
SIZES = (300, 1000, 1025, 2048, 3001, 4097)


def _solve(name, N, method, path):
    kernel, f, t_end, _ = PROBLEMS[name]
    t = np.linspace(0.0, t_end, N)
    res = solve_volterra(kernel, f, t, method=method, path=path, error_estimate=False)
    assert res.success, res.message
    return t, res


def _rel_diff(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("N", SIZES)
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_fast_matches_direct(name, N, method):
    """Fast and direct paths solve the same discrete equations.

    Tolerance 1e-12 relative to max|y|: the two paths differ only in the order
    of summation (FFT convolutions of the history instead of a running dot
    product). The FFT sum's rounding error is of order eps * log2(N) * max|k|
    max|y| per row and propagates through the (stable) recurrence like any
    data error; measured differences are <= 5e-14 for these problems and N <=
    4097, so 1e-12 leaves a 20x margin while any discretisation mismatch (a
    wrong end weight, a missing or doubled term) shows up at 1e-6 or more.
    """
    _, fast = _solve(name, N, method, "auto")
    _, direct = _solve(name, N, method, "direct")
    assert fast.stats.path == "convolution"
    assert direct.stats.path == "direct"
    assert fast.y.dtype == direct.y.dtype
    assert _rel_diff(fast.y, direct.y) <= 1e-12


@pytest.mark.parametrize("method", [*METHODS, "gregory8"])
def test_pointwise_agreement_growing_solution(method):
    """Even pointwise (relative to |y_n|, not max|y|) the paths agree for a solution
    growing by e^10 = 2.2e4 over the grid: tolerance 1e-12, measured <= 1e-14."""
    _, fast = _solve("growing_exp", 4097, method, "auto")
    _, direct = _solve("growing_exp", 4097, method, "direct")
    assert np.max(np.abs(fast.y - direct.y) / np.abs(direct.y)) <= 1e-12


@pytest.mark.parametrize(
    ("order", "N", "base"),
    [
        (order, N, base)
        for order in (2, 4, 6, 8)
        for N in (7, 8, 9, 17, 33, 100, 257)
        for base in (1, 2, 8)
        if N >= order  # the grid holds the starting block of the rule
    ],
)
def test_recursion_edge_cases(order, N, base):
    """Tiny base blocks and no direct prefix: deep recursion, odd sizes, the
    right-end corrections reaching into the starting block, rows where both end
    corrections are active. Same 1e-12 tolerance as above (measured <= 1e-14)."""
    t = np.linspace(0.0, 3.0, N)
    r = 1.0 + np.sin(3.0 * t)
    kernel = K_OSC
    ref, _ = _convolution.solve(kernel, t, r, order, np.float64, direct_max=10**9)
    y, stats = _convolution.solve(
        kernel, t, r, order, np.float64, base=base, n_direct=0, direct_max=0
    )
    if N > order:  # rows order .. N-1 go through the recursion
        assert stats["base_blocks"] >= 1
    assert _rel_diff(y, ref) <= 1e-12


@pytest.mark.parametrize("method", METHODS)
def test_exact_cos(method):
    """y = 1 - ∫_0^t (t-s) y(s) ds has y = cos t; checked at N = 1025 and 4097 on [0, 10].

    Tolerance 0.5 h^p + 1e-13: the measured leading error constants are
    0.33 (trapezoidal), 0.31 (gregory4) and 0.29 (gregory6) times h^p, so 0.5
    leaves a 1.5x margin while a loss of one order (error ~ h^(p-1)) would
    exceed it by a factor of 100 or more; 1e-13 is the rounding floor (y = O(1),
    about 4000 rows; the measured floor is 1.1e-14). For the trapezoidal and
    gregory4 rules, which stay above the rounding floor on both grids, the
    observed order is also required to be within 0.1 of p.
    """
    p = ORDERS[method]
    errs = []
    for N in (1025, 4097):
        t, res = _solve("minus_lag", N, method, "fast")
        h = t[1] - t[0]
        err = float(np.max(np.abs(res.y - np.cos(t))))
        assert err <= 0.5 * h**p + 1e-13, (N, err)
        errs.append(err)
    if p <= 4:
        observed = np.log(errs[0] / errs[1]) / np.log(4.0)
        assert abs(observed - p) <= 0.1, observed


@pytest.mark.parametrize("name", ["complex_rotation", "oscillatory_sin", "growing_exp"])
def test_exact_solutions_gregory6(name):
    """The other problems with exact solutions, gregory6 at N = 4097: error below
    1e-10 relative to max|y|. Measured: 2e-15 (complex_rotation), 1.7e-15
    (growing_exp), 9.4e-13 (oscillatory_sin, whose truncation error is still
    visible: kernel frequency 20 and solution frequency 22.4 with h = 7.3e-4);
    1e-10 leaves a 100x margin over the worst case."""
    kernel, f, t_end, exact = PROBLEMS[name]
    t, res = _solve(name, 4097, "gregory6", "fast")
    ex = exact(t)
    assert _rel_diff(res.y, ex) <= 1e-10


def test_error_estimate_and_stats():
    """The Richardson estimate (a second fast solve on every other point) works and
    matches the actual error of the trapezoidal rule (measured error/estimate = 0.99999)."""
    kernel, f, t_end, exact = PROBLEMS["minus_lag"]
    t = np.linspace(0.0, t_end, 2049)
    res = solve_volterra(kernel, f, t, method="trapezoidal", path="fast")
    err = np.abs(res.y - exact(t))
    assert res.stats.path == "convolution"
    assert res.stats.fft_convolutions > 0
    assert res.stats.kernel_evaluations >= t.size
    # the estimate tracks the error to within 1 % at this resolution; allow 10 %
    assert np.max(err) <= 1.1 * res.max_error_estimate


def test_nan_kernel_raises():
    """A kernel that is NaN somewhere on the grid is reported as a ValueError."""
    bad = kernels.Convolution(lambda u: np.sqrt(2.0 - u))  # NaN for u > 2
    t = np.linspace(0.0, 3.0, 2000)
    with pytest.raises(ValueError, match="NaN or inf"):
        solve_volterra(bad, _ones, t, path="fast", error_estimate=False)


def test_base_must_be_power_of_two():
    t = np.linspace(0.0, 1.0, 10)
    with pytest.raises(ValueError, match="power of two"):
        _convolution.solve(K_MINUS_LAG, t, np.ones(10), 4, np.float64, base=3)
