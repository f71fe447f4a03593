"""Tolerance-driven solves: ``solve_volterra(..., rtol=, atol=)``.

The driver refines the user's grid by integer factors ``m`` (1, then multiples
of 4), estimates the error from three nested grids and returns ``y`` on the
user's grid with ``status`` 0 (tolerance met), 1 (not reached, and why) or -1
(failed). Checked here against the exact solutions of the 22-problem catalogue
(:mod:`problems`), on problems whose tolerance cannot be reached, on failing
solves, and on bad input.

Sizes: the catalogue is solved from 21-point grids, with ``max_points`` 20 001
(4 001 for the trapezoidal rule, whose refinement overshoots, see the xfail
test below, and whose O(N^2) solves would otherwise dominate); about 20 s for
the module on a loaded 2-core machine, most of it compiling the catalogue's
kernel functions.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from problems import PROBLEMS

from solver import History, SolverError, kernels, solve_volterra
from solver.mesh import refine

EPS = np.finfo(float).eps
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

#: (method, rtol, atol); None = not given. Mixed, rtol only and atol only for the default
#: method; looser tolerances for the lower orders (whose grids grow as tol^(-1/p))
CONFIGS = [
    ("gregory6", 1e-8, 1e-10),
    ("gregory6", 1e-11, None),
    ("gregory6", None, 1e-7),
    ("gregory4", 1e-6, 1e-8),
    ("trapezoidal", 1e-2, 1e-4),
]
MAX_POINTS = {"gregory6": 20_001, "gregory4": 20_001, "trapezoidal": 4_001}
N_INTERVALS = 20  # the user's grid: 21 points


@cache
def solver_kernel(name: str):
    """The problem's kernel object, built once (a plain function is compiled once per object)."""
    p = PROBLEMS[name]
    k = p.kernel()
    return kernels.General(k) if p.kernel_kind == "function" else k


def tolerance(rtol, atol, y_exact) -> np.ndarray:
    """``atol + rtol |y|`` per point (and component)."""
    return (atol or 0.0) + (rtol or 0.0) * np.abs(y_exact)


@cache
def solved(name: str, method: str, rtol, atol):
    """Solve a catalogue problem to a tolerance: (result, grid, true error, tolerance)."""
    p = PROBLEMS[name]
    t = p.grid(N_INTERVALS)
    res = solve_volterra(
        solver_kernel(name),
        p.f,
        t,
        method=method,
        nonlinearity=p.nonlinearity,
        history=p.history(),
        rtol=rtol,
        atol=atol,
        max_points=MAX_POINTS[method],
    )
    ex = p.exact(t)
    return res, t, np.abs(res.y - ex), tolerance(rtol, atol, ex)


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c[0]}-rtol{c[1]}-atol{c[2]}")
def test_tolerance_reached_on_the_catalogue(config, name):
    # wherever status == 0, the true error is at most 10x the requested tolerance at every point
    # of the user's grid (the factor 10 of the project's honesty criterion; measured max err/tol
    # = 0.31, on kink_2t with rtol only, where y = cos 2t crosses zero). Every problem reaches
    # status 0 with gregory4/6; with the trapezoidal rule, 4 problems stop at max_points (their
    # next grid, overshooting, would exceed 4001 points) and must say so
    res, t, err, tol = solved(name, *config)
    if config[0] == "trapezoidal" and res.status == 1:
        assert "max_points = 4001" in res.message and not res.success
        assert np.all(np.isfinite(res.y)) and np.max(err) <= 10 * res.max_error_estimate
        return
    assert res.status == 0 and res.success, res.message
    assert np.array_equal(res.t, t) and res.y.shape == err.shape
    assert res.stats.points == (t.size - 1) * res.stats.refinement_factor + 1
    assert res.stats.refinement_factor == 1 or res.stats.refinement_factor % 4 == 0
    assert res.stats.solves >= 3
    assert np.all(err <= 10 * tol), float(np.max(err / tol))
    assert np.all(np.isfinite(res.error_estimate)) and np.all(res.error_estimate >= 0)


def test_error_estimate_bounds_the_true_error_at_most_points():
    # The estimate with a tolerance is |y_h - y_2h| / (min(rho, 2^p)/4 - 1) where the pointwise
    # ratio rho of successive differences is in the asymptotic range: for an exact power law
    # rho = 2^p that is (2^p - 1)/(2^p/4 - 1) = 3 .. 5 times the true error; outside the range
    # it is |y_h - y_2h| itself, which exceeds the error of y_h when the errors at least halve.
    # It falls short only at isolated points: where y_h - y_2h changes sign while the error
    # does not, or where the solution crosses zero and the error is rounding. Measured: 99.8%
    # of all points over the catalogue and configurations, at least 81% on every problem
    # (kink_2t, rtol only).
    covered = total = 0
    reached = 0
    for config in CONFIGS:
        for name in PROBLEMS:
            res, _, err, _ = solved(name, *config)
            if res.status != 0:
                continue
            reached += 1
            ok = res.error_estimate >= err
            assert np.mean(ok) >= 0.75, (config, name, np.mean(ok))
            covered += int(np.sum(ok))
            total += ok.size
    assert covered / total >= 0.97, covered / total
    assert reached >= len(CONFIGS) * len(PROBLEMS) - 4


@pytest.mark.parametrize(
    "name", ["conv_cos", "wazwaz_cosh", "expsum_real", "system2_conv", "history_exp_cos_y"]
)
def test_solution_is_the_refined_solve_on_the_users_points(name):
    # y is the solve on the grid refined m times, taken at the user's points (not interpolated):
    # the same computation, so equal bit for bit. One problem per path (FFT convolution, direct,
    # running sums, a system, a history)
    p = PROBLEMS[name]
    t = p.grid(N_INTERVALS)
    res = solve_volterra(solver_kernel(name), p.f, t, rtol=1e-8, atol=1e-10, history=p.history())
    m = res.stats.refinement_factor
    assert m > 1
    fine = solve_volterra(
        solver_kernel(name), p.f, refine(t, m), history=p.history(), error_estimate=False
    )
    assert np.array_equal(res.y, fine.y[::m])
    assert res.stats.path == fine.stats.path


# ---------------------------------------------------------------------------
# status 1: the tolerance cannot be reached
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["wazwaz_cosh", "expsum_real", "conv_cos"])
def test_rtol_below_the_rounding_floor_is_reported(name):
    # rtol = 1e-15 is accepted (>= machine epsilon) but below what a discrete solution reaches
    # (~10 eps sqrt(N) max|y|): the estimate stops falling, status 1 says so; y is the best
    # solution found and its estimate stays honest
    p = PROBLEMS[name]
    t = p.grid(N_INTERVALS)
    res = solve_volterra(solver_kernel(name), p.f, t, rtol=1e-15)
    assert res.status == 1 and not res.success
    assert "tolerance not reached" in res.message and "rounding floor" in res.message
    assert "x the tolerance" in res.message
    assert res.stats.refinements >= 1
    err = np.abs(res.y - p.exact(t))
    assert np.all(np.isfinite(res.y))
    assert np.max(err) <= 10 * res.max_error_estimate
    assert np.max(err / np.abs(p.exact(t))) < 1e-11  # still the best the grid sequence gave
    with pytest.raises(SolverError, match="rounding floor"):
        res.raise_for_status()


def test_max_points_too_small_is_reported():
    # conv_cos needs 481 points for rtol 1e-8, atol 1e-10 (catalogue test); with 300 allowed
    # the driver stops before the grid that would exceed the limit and says so; y is the best
    # solution on the user's grid, with an honest estimate above the tolerance
    p = PROBLEMS["conv_cos"]
    t = p.grid(N_INTERVALS)
    res = solve_volterra(solver_kernel("conv_cos"), p.f, t, rtol=1e-8, atol=1e-10, max_points=300)
    assert res.status == 1 and not res.success
    assert "max_points = 300" in res.message and "tolerance not reached" in res.message
    assert res.stats.points <= 300
    err = np.abs(res.y - p.exact(t))
    tol = tolerance(1e-8, 1e-10, p.exact(t))
    assert np.max(res.error_estimate / tol) > 1
    assert np.max(err) <= 10 * res.max_error_estimate


def test_max_points_below_the_first_refinement_is_an_error():
    # gregory6 on 21 points starts at m = 4 (81 points): nothing can be solved within 50
    p = PROBLEMS["conv_cos"]
    t = p.grid(N_INTERVALS)
    with pytest.raises(ValueError, match="max_points = 50 is too small"):
        solve_volterra(solver_kernel("conv_cos"), p.f, t, rtol=1e-6, max_points=50)


def test_trapezoidal_status_1_only_when_max_points_is_too_small():
    p = PROBLEMS["nonconv_s_exp"]
    t = p.grid(N_INTERVALS)
    args = dict(method="trapezoidal", rtol=1e-3, atol=1e-5, max_points=50_001)
    # a grid within max_points that meets the tolerance exists: 160 x refinement, 3201 points
    ok = solve_volterra(solver_kernel("nonconv_s_exp"), p.f, t, first_refinement=160, **args)
    assert ok.status == 0 and ok.stats.points == 3201
    assert np.all(np.abs(ok.y - p.exact(t)) <= tolerance(1e-3, 1e-5, p.exact(t)))
    res = solve_volterra(solver_kernel("nonconv_s_exp"), p.f, t, **args)
    assert res.status == 0, res.message


def test_rtol_reachable_for_a_growing_solution():
    # y = e^t solves y = 1 + ∫_0^t y ds: growing 5e8-fold; the rounding floor at t must use
    # max |y| up to t only, else rtol = 1e-6 at t = 0 would be declared unreachable
    t = np.linspace(0.0, 20.0, 81)
    res = solve_volterra(
        kernels.ExpSum([1.0], [0.0], [0.0]), lambda t: np.ones_like(t), t, rtol=1e-6
    )
    assert res.status == 0, res.message
    assert np.max(np.abs(res.y - np.exp(t)) / np.exp(t)) <= 10 * 1e-6


# ---------------------------------------------------------------------------
# status -1: a failed solve
# ---------------------------------------------------------------------------


def _singular_kernel(t):
    """K = 2/h at (t_10, t_10) only: the trapezoidal step 1 - (h/2) K(t, t) = 0 at t = 0.5."""
    h = t[1] - t[0]
    t10 = t[10]

    def k(tt, s):
        return np.where((np.abs(tt - t10) < 1e-12) & (np.abs(s - t10) < 1e-12), 2.0 / h, 0.0)

    return kernels.General(k)


@pytest.mark.parametrize("tol", [{}, {"rtol": 1e-6}])
def test_singular_step_fails_with_status_minus_1(tol):
    t = np.linspace(0.0, 1.0, 21)
    res = solve_volterra(
        _singular_kernel(t), lambda t: np.ones_like(t), t, method="trapezoidal", **tol
    )
    assert res.status == -1 and not res.success
    assert "singular at t=0.5" in res.message
    assert np.all(np.isnan(res.y)) and np.all(np.isnan(res.error_estimate))
    with pytest.raises(SolverError, match="singular"):
        res.raise_for_status()


def test_failed_history_integral_gives_status_minus_1():
    # the history phi(s) = e^{-2s} grows into the past faster than the kernel e^{-(t-s)} decays:
    # the history integral diverges, and the solve fails (not a silently wrong number)
    t = np.linspace(0.0, 1.0, 21)
    res = solve_volterra(
        kernels.Convolution(lambda u: np.exp(-u)),
        lambda t: np.ones_like(t),
        t,
        history=History(y=lambda s: np.exp(-2.0 * s)),
        rtol=1e-6,
    )
    assert res.status == -1 and not res.success
    assert "history" in res.message
    assert np.all(np.isnan(res.y))


# ---------------------------------------------------------------------------
# per-point tolerances and first_refinement
# ---------------------------------------------------------------------------


def test_constant_tolerance_array_equals_the_scalar():
    p = PROBLEMS["expsum_real"]
    t = p.grid(N_INTERVALS)
    a = solve_volterra(solver_kernel("expsum_real"), p.f, t, rtol=1e-9, atol=1e-11)
    b = solve_volterra(
        solver_kernel("expsum_real"),
        p.f,
        t,
        rtol=np.full(t.size, 1e-9),
        atol=np.full(t.size, 1e-11),
    )
    assert a.status == b.status == 0
    assert np.array_equal(a.y, b.y) and a.stats.points == b.stats.points


@pytest.mark.parametrize("name", ["conv_cos", "nonconv_cos_exp"])
@pytest.mark.parametrize("tight", ["first half", "second half"])
def test_per_point_tolerances(name, tight):
    # rtol 1e-10 on one half of the grid, 1e-4 on the other: every point meets its own
    # tolerance (to the factor 10), and the grid needed lies between those of the two scalar
    # tolerances -- strictly below the tight one where the tight half is the easier one (measured
    # refinement factors: conv_cos 8 / 56 (first half) / 196 (second) / 200; nonconv_cos_exp
    # 4 / 144 / 32 / 144)
    p = PROBLEMS[name]
    t = p.grid(N_INTERVALS)
    ex = p.exact(t)
    first = t < t[N_INTERVALS // 2]
    rtol = np.where(first if tight == "first half" else ~first, 1e-10, 1e-4)
    K = solver_kernel(name)
    res = solve_volterra(K, p.f, t, rtol=rtol, atol=1e-12)
    assert res.status == 0, res.message
    assert np.all(np.abs(res.y - ex) <= 10 * (1e-12 + rtol * np.abs(ex)))
    loose = solve_volterra(K, p.f, t, rtol=1e-4, atol=1e-12).stats.refinement_factor
    strict = solve_volterra(K, p.f, t, rtol=1e-10, atol=1e-12).stats.refinement_factor
    assert loose <= res.stats.refinement_factor <= strict
    assert loose < strict
    # the array is applied per point: one of the two halves must make a difference
    other = np.where(rtol == 1e-10, 1e-4, 1e-10)
    res2 = solve_volterra(K, p.f, t, rtol=other, atol=1e-12)
    assert res2.stats.refinement_factor != res.stats.refinement_factor


def test_per_point_tolerance_applies_to_every_component_of_a_system():
    p = PROBLEMS["system2_conv"]
    t = p.grid(N_INTERVALS)
    ex = p.exact(t)
    atol = np.linspace(1e-10, 1e-6, t.size)
    res = solve_volterra(solver_kernel("system2_conv"), p.f, t, atol=atol)
    assert res.status == 0 and res.y.shape == ex.shape == (t.size, 2)
    assert np.all(np.abs(res.y - ex) <= 10 * atol[:, None])
    with pytest.raises(ValueError, match=r"atol: an array of tolerances needs one per grid point"):
        solve_volterra(solver_kernel("system2_conv"), p.f, t, atol=np.ones((t.size, 2)))


def test_first_refinement_default():
    # 21 points (20 cells) host the nested grids t, t[::2], t[::4] for gregory4 (>= 17 points):
    # the first attempt is m = 1, and a loose tolerance is met there; gregory6 needs >= 25
    # points, so it starts at m = 4; so does a grid of 23 points (22 cells, not divisible by 4)
    p = PROBLEMS["wazwaz_exp_sin"]
    K = solver_kernel("wazwaz_exp_sin")
    tol = dict(rtol=1e-3, atol=1e-5)
    res = solve_volterra(K, p.f, p.grid(20), method="gregory4", **tol)
    assert res.status == 0 and res.stats.refinement_factor == 1 and res.stats.refinements == 0
    assert res.stats.points == 21
    res = solve_volterra(K, p.f, p.grid(20), method="gregory6", **tol)
    assert res.status == 0 and res.stats.refinement_factor == 4 and res.stats.refinements == 0
    res = solve_volterra(K, p.f, p.grid(22), method="gregory4", **tol)
    assert res.status == 0 and res.stats.refinement_factor == 4 and res.stats.refinements == 0


def test_first_refinement_given():
    p = PROBLEMS["conv_cos"]
    t = p.grid(N_INTERVALS)
    K = solver_kernel("conv_cos")
    res = solve_volterra(K, p.f, t, rtol=1e-4, first_refinement=32)
    # met on the first attempt: no further refinement, the solution of the 32x refined grid
    assert res.status == 0 and res.stats.refinement_factor == 32 and res.stats.refinements == 0
    fine = solve_volterra(K, p.f, refine(t, 32), error_estimate=False)
    assert np.array_equal(res.y, fine.y[::32])
    # a tolerance not met on the first attempt refines from there
    res = solve_volterra(K, p.f, t, rtol=1e-11, first_refinement=8)
    assert res.status == 0 and res.stats.refinement_factor > 8 and res.stats.refinements >= 1
    assert np.all(np.abs(res.y - p.exact(t)) <= 10 * 1e-11 * np.abs(p.exact(t)) + 1e-15)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

T21 = np.linspace(0.0, 1.0, 21)
K_BAD = kernels.ExpSum([0.5], [0.0], [1.0])


def _f(t):
    return np.ones_like(t)


BAD = {
    "negative rtol": (dict(rtol=-1e-6), ValueError, r"rtol must be finite and >= 0"),
    "negative atol": (dict(atol=-1e-6), ValueError, r"atol must be finite and >= 0"),
    "NaN rtol": (dict(rtol=np.nan), ValueError, r"rtol must be finite and >= 0"),
    "NaN atol": (dict(atol=np.nan), ValueError, r"atol must be finite and >= 0"),
    "inf rtol": (dict(rtol=np.inf), ValueError, r"rtol must be finite and >= 0"),
    "inf atol": (dict(atol=np.inf), ValueError, r"atol must be finite and >= 0"),
    "negative entry": (
        dict(rtol=np.r_[1e-6 * np.ones(20), -1e-6]),
        ValueError,
        r"rtol must be finite and >= 0",
    ),
    "both zero": (dict(rtol=0.0, atol=0.0), ValueError, r"rtol and atol cannot both be 0"),
    "rtol zero alone": (dict(rtol=0.0), ValueError, r"rtol and atol cannot both be 0"),
    "zero arrays": (
        dict(rtol=np.zeros(21), atol=np.zeros(21)),
        ValueError,
        r"cannot both be 0",
    ),
    "rtol below eps": (
        dict(rtol=1e-17),
        ValueError,
        r"rtol = 1e-17 is below the rounding floor.*smallest meaningful rtol is 2\.22e-16",
    ),
    "rtol >= 1": (dict(rtol=1.0), ValueError, r"rtol must be in \[2\.22e-16, 1\)"),
    "rtol bool": (dict(rtol=True), TypeError, r"rtol must be a number or an array"),
    "atol string": (dict(atol="tight"), TypeError, r"atol must be a number or an array"),
    "rtol wrong length": (
        dict(rtol=np.full(20, 1e-6)),
        ValueError,
        r"rtol: an array of tolerances needs one per grid point, shape \(21,\), got \(20,\)",
    ),
    "atol 2-D": (
        dict(atol=np.full((21, 1), 1e-6)),
        ValueError,
        r"atol: an array of tolerances needs one per grid point",
    ),
    "error_estimate False": (
        dict(rtol=1e-6, error_estimate=False),
        ValueError,
        r"error_estimate=False cannot be combined with rtol/atol",
    ),
    "max_points float": (
        dict(rtol=1e-6, max_points=1e5),
        ValueError,
        r"max_points must be an integer >= len\(t\) = 21",
    ),
    "max_points < len(t)": (
        dict(rtol=1e-6, max_points=20),
        ValueError,
        r"max_points must be an integer >= len\(t\) = 21, got 20",
    ),
    "first_refinement 1 on a short grid": (
        dict(rtol=1e-6, first_refinement=1),
        ValueError,
        r"first_refinement=1 needs len\(t\) - 1 divisible by 4 and len\(t\) >= 25",
    ),
}
BAD.update(
    {
        f"first_refinement {v!r}": (
            dict(rtol=1e-6, first_refinement=v),
            ValueError,
            rf"first_refinement must be 1 or a positive multiple of 4, got {v!r}",
        )
        for v in (3, 0, -4, 6, 4.0)
    }
)


@pytest.mark.parametrize("case", BAD)
def test_bad_tolerance_arguments(case):
    kw, exc, pattern = BAD[case]
    with pytest.raises(exc, match=pattern):
        solve_volterra(K_BAD, _f, T21, **kw)


def test_f_as_values_with_a_tolerance():
    with pytest.raises(ValueError, match=r"f: with rtol/atol .* f must be a function"):
        solve_volterra(K_BAD, np.ones(21), T21, rtol=1e-6)


def test_history_contribution_as_values_with_a_tolerance():
    hist = History(contribution=np.zeros(21))
    with pytest.raises(ValueError, match=r"history: with rtol/atol the contribution must be a"):
        solve_volterra(K_BAD, _f, T21, history=hist, atol=1e-8)


def test_refinement_factor_stays_within_max_points():
    # the next factor reuses solved grids where that is cheaper, but never beyond max_points:
    # here 12 (481 points) fits and converges, 16 would not fit (641 > 640)
    t = np.linspace(-20.0, 0.0, 41)
    res = solve_volterra(
        kernels.ExpSum([0.9], [0.0], [2.0]), lambda s: np.cos(3 * s) * np.exp(0.2 * s), t,
        rtol=1e-5, first_refinement=4, max_points=640,
    )  # fmt: skip
    assert res.status == 0, res.message
    assert res.stats.points <= 640


def test_next_factor_reuses_solved_grids():
    from solver.api import _next_factor

    N = 1001
    # after the level m = 4 (grids 4, 2, 1 solved): 8 needs one new solve, 12 three
    assert _next_factor(8, N, {4: 0, 2: 0, 1: 0}) == 8
    assert _next_factor(12, N, {4: 0, 2: 0, 1: 0}) == 16  # 16 and 8 new: cheaper than 12, 6, 3
    assert _next_factor(12, N, {4: 0, 2: 0, 1: 0}, max_points=(N - 1) * 12 + 1) == 12
    # nothing to reuse: the smallest factor
    assert _next_factor(20, N, {}) == 20


def test_oversized_refinement_is_refused_before_the_grid_is_built(monkeypatch):
    # a refinement beyond max_points must not even be allocated (a user's 1e5-point grid
    # refined 100x would need gigabytes): refine() is never called with such a factor
    import solver.api as api

    calls = []

    def guarded(t, m):
        calls.append(m)
        assert (t.size - 1) * m + 1 <= 20_001, f"refine({t.size} points, {m}) built"
        return refine(t, m)

    monkeypatch.setattr(api, "refine", guarded)
    t = np.linspace(0.0, 10.0, 1001)
    K = kernels.ExpSum([0.5], [0.0], [1.0])
    res = solve_volterra(K, np.ones_like, t, rtol=1e-15, first_refinement=4, max_points=20_001)
    assert res.status == 1 and calls
    # the first factor fits (4001 points), the next would not: the message says so
    calls.clear()
    res = solve_volterra(K, np.ones_like, t, rtol=1e-15, first_refinement=4, max_points=5_000)
    assert res.status == 1 and "max_points" in res.message and calls == [4]


def _amplifying(d=1e-6):
    # y = 1 + ∫_0^t (1 - δ) e^{-(t-s)} y ds: y = (1 - (1 - δ) e^{-δ t})/δ grows to 1/δ and the
    # equation amplifies rounding by ~1/δ (the exact y written without the cancellation of
    # 1 - (1 - δ): at t = 0 that alone costs 3e-11)
    K = kernels.ExpSum([1 - d], [0.0], [1.0])

    def exact(t):
        return (-np.expm1(-d * t) + d * np.exp(-d * t)) / d

    return K, exact


def _one(tt):
    return np.ones_like(tt)


def test_conditioning_keeps_rounding_noise_from_driving_the_refinement():
    # on 6401 points the discretisation error (< 1e-11) is below the rounding noise eps/δ =
    # 2.2e-10 of the equation, and at rtol 1e-9 (4.5x that noise) differences at the noise look
    # like a stalled refinement: without `conditioning` the grid is refined 16x for nothing,
    # to max_points, status 1 (in this build: below the noise, what that run does depends on
    # the weights' last bits); with it the user's grid stands, and its estimate stays honest
    # at every point
    d = 1e-6
    K, exact = _amplifying(d)
    t = np.linspace(0.0, 3e6, 6401)
    plain = solve_volterra(K, _one, t, rtol=1e-9, max_points=200_001)
    aware = solve_volterra(K, _one, t, rtol=1e-9, max_points=200_001, conditioning=1 / d)
    assert plain.status == 1 and "max_points" in plain.message
    assert plain.stats.refinement_factor >= 16
    assert aware.status == 0 and aware.stats.refinement_factor == 1
    err = np.abs(aware.y - exact(t))
    assert np.all(err <= aware.error_estimate)
    assert np.all(err <= 1e-9 * exact(t))


def test_first_point_lends_and_borrows_no_differences():
    # y(t0) = f(t0) on every grid: its differences are exactly zero and stay its own. On 401
    # points the next point already has y ~ 7.5e3: borrowed, its differences (at the rounding
    # there) put the first point, y = 1, 206x over its tolerance and refined the grid 4x, 32x
    # or 4096x depending on the last bits of the weights; the user's grid meets rtol 1e-9 by
    # 40x, and the estimate says so
    d = 1e-6
    K, exact = _amplifying(d)
    t = np.linspace(0.0, 3e6, 401)
    res = solve_volterra(K, _one, t, rtol=1e-9, max_points=2_000_001, conditioning=1 / d)
    assert res.status == 0 and res.stats.refinement_factor == 1
    # (its estimate is the rounding at the scale of its neighbours, ~3e-11, not the 2e-7 it
    # borrowed)
    assert res.y[0] == 1.0 and res.error_estimate[0] <= 1e-10
    err = np.abs(res.y - exact(t))
    assert np.all(err <= 1e-9 * exact(t) / 20)
    # (the estimate itself is Richardson's at most points: the true error, at the rounding
    # noise of this equation, is up to 8.4x it there; within the 10x the catalogue allows)
    assert np.all(err <= 10.0 * res.error_estimate)


@pytest.mark.parametrize("bad", [0.5, 0.0, -2.0, np.nan, np.inf, "10"])
def test_conditioning_must_be_a_finite_number_of_at_least_one(bad):
    t = np.linspace(0.0, 1.0, 41)
    with pytest.raises(ValueError, match="conditioning must be a finite number >= 1"):
        solve_volterra(lambda t, s: -1.0, lambda t: np.ones_like(t), t, rtol=1e-6, conditioning=bad)


def test_conditioning_needs_a_tolerance():
    t = np.linspace(0.0, 1.0, 41)
    with pytest.raises(ValueError, match="conditioning apply only with rtol/atol"):
        solve_volterra(lambda t, s: -1.0, np.ones(41), t, conditioning=10.0)


def test_conditioning_above_the_tolerance_cannot_excuse_a_slow_refinement():
    # y = sin t + 1e-6 |t - 1/3|^(-9/10) on [0, 1], y = f - ∫_0^t y ds: the singularity
    # between the nodes makes the quadrature error O(h^0.1), whose differences shrink by
    # 2^0.1 per halving (a stall). A conditioning of 1e12 declares rounding at 2.2e-4 |y|,
    # above rtol 1e-5: the points it excused kept |y_h - y_2h| as their estimate, and the
    # solve ended with status 0, the true error 2.9x the tolerance and 12x the estimate.
    # Excused points are now estimated at the declared rounding at least: status 1
    a, c, b = -0.9, 1.0 / 3.0, 1e-6

    def exact(t):
        return np.sin(t) + b * np.abs(t - c) ** a

    def f(t):
        integral = np.where(t < c, c ** (a + 1) - np.abs(c - t) ** (a + 1),
                            c ** (a + 1) + np.abs(t - c) ** (a + 1)) / (a + 1)  # fmt: skip
        return exact(t) + 1.0 - np.cos(t) + b * integral

    K = kernels.ExpSum([-1.0], [0.0], [0.0])
    t = np.linspace(0.0, 1.0, 21)
    declared = 1e12
    res = solve_volterra(K, f, t, rtol=1e-5, max_points=20_001, conditioning=declared)
    err = np.abs(res.y - exact(t))
    assert res.status == 1 and "rounding floor" in res.message
    assert np.max(res.error_estimate / np.abs(res.y)) >= declared * EPS
    assert np.all(err <= 10 * res.error_estimate)


def test_a_loose_point_does_not_lend_its_error_to_its_neighbours():
    # y = sqrt(1 - t) on [0, 1] (memory e^{-(t-s)}): the error is concentrated at t = 1,
    # where y has its branch point. With that point let loose (atol 1), the grid needed is
    # the one of the problem without it (by causality the other points are the same
    # solves): the pointwise estimates compare each neighbour's difference with its own
    # tolerance (measured: refinement 16 either way; 9344 when the neighbours were judged
    # by the loose point's absolute difference)
    from scipy.special import gamma, gammainc

    def lower(x):
        return gamma(1.5) * gammainc(1.5, x)

    def f(t):
        t = np.asarray(t, dtype=float)
        return np.sqrt(1.0 - t) - np.exp(1.0 - t) * (lower(1.0) - lower(1.0 - t))

    K = kernels.ExpSum([1.0], [0.0], [1.0])
    t = np.linspace(0.0, 1.0, 41)
    atol = np.full(t.size, 1e-9)
    atol[-1] = 1.0
    full = solve_volterra(K, f, t, atol=atol)
    short = solve_volterra(K, f, t[:-1], atol=atol[:-1])
    assert full.status == short.status == 0
    assert full.stats.refinement_factor == short.stats.refinement_factor
    np.testing.assert_array_equal(full.y[:-1], short.y)
    err = np.abs(full.y - np.sqrt(1.0 - t))
    assert np.all(err[:-1] <= atol[:-1]) and err[-1] <= atol[-1]
