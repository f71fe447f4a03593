"""The O(N) exponential-sum path: running sums, product integration, breakpoints."""

import numpy as np
import pytest

from solver import _expsum, kernels, solve_volterra
from solver.product_weights import cell_weights


def _piecewise(g):
    # e^{-(t-s)} e^{-2g|2t-s|} split at s = 2t (t <= 0), the structure of a kink along s = beta(t)
    left = kernels.ExpSum([0.4, 0.3], [-2 * g, 0.0], [1 + 2 * g, 1.0])
    right = kernels.ExpSum([0.4, 0.3], [2 * g, 0.0], [1 - 2 * g, 1.0])
    return kernels.Piecewise([left, right], [lambda t: 2 * t])


PROBLEMS = {
    "decaying": kernels.ExpSum([0.5, -0.2], [0.0, 0.1], [1.0, 3.0]),
    "oscillating pair": kernels.ExpSum([0.3, 0.3, 0.2], [0.5j, -0.5j, 0.0], [1 - 2j, 1 + 2j, 0.5]),
    "growing term (Re mu < 0)": kernels.ExpSum([0.3, 0.001], [0.0, 0.0], [1.0, -0.5]),
    "kink g=0.2": _piecewise(0.2),
    "kink g=3 (right piece grows)": _piecewise(3.0),
}


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("order", [2, 4, 6])
def test_running_sums_equal_cellwise_sums(name, order):
    # the queue path and the O(N^2) cell-by-cell sum are the same discretisation: they differ
    # only by rounding (sums of ~N terms of size |K y| h): 1e-12 relative
    K = PROBLEMS[name]
    t = np.linspace(-12.0, 0.0, 1201)
    f = np.cos(t) + 0.5
    y_fast, _ = _expsum.solve(K, t, f, order, float)
    y_ref, _ = _expsum.solve(K, t, f, order, float, running_sums=False)
    assert np.max(np.abs(y_fast - y_ref)) <= 1e-12 * np.max(np.abs(y_ref))


@pytest.mark.parametrize("name", PROBLEMS)
def test_fast_path_agrees_with_general_path(name):
    # both paths converge at order 6; on 4801 points over 12 time units both are converged to
    # ~1e-13 (Richardson estimates below), so they must agree to 1e-12 relative
    K = PROBLEMS[name]
    t = np.linspace(-12.0, 0.0, 4801)
    f = np.cos(t) + 0.5
    fast = solve_volterra(K, f, t, path="fast")
    direct = solve_volterra(K, f, t, path="direct")
    assert fast.stats.path == "expsum" and direct.stats.path == "direct"
    scale = np.max(np.abs(direct.y))
    assert fast.max_error_estimate < 1e-12 * scale
    assert np.max(np.abs(fast.y - direct.y)) <= 1e-12 * scale


def test_exact_solution_linear_in_t():
    # y = 1 + t solves y = 1 + ∫_0^t e^{-(t-s)} y ds; product integration is exact for
    # polynomial y of degree < order, so only rounding remains
    t = np.linspace(0, 10, 41)
    res = solve_volterra(kernels.ExpSum([1.0], [0.0], [1.0]), np.ones_like(t), t)
    np.testing.assert_allclose(res.y, 1 + t, rtol=0, atol=1e-13)


def test_sharp_exponential_does_not_limit_the_step():
    # K = a mu e^{-mu (t-s)} with mu = 1000 and h = 0.05 (mu h = 50): y' = f' + mu (a-1) y + mu f
    # for f = 1: y = 1/(1-a) - a/(1-a) e^{-mu (1-a) t}; away from the initial layer (t > 0.1)
    # y = 1/(1-a) to 1e-10 although the grid does not resolve 1/mu: the layer itself (width
    # 1/(mu (1-a)) = 0.002 << h) is not resolved; its interpolation error is carried by the
    # one-sided stencils of the last cells and damped by a factor ~0.4 a step (measured), so it
    # is below 1e-10 after 40 steps (t > 2)
    a, mu = 0.5, 1000.0
    t = np.linspace(0, 5, 101)
    res = solve_volterra(kernels.ExpSum([a * mu], [0.0], [mu]), np.ones_like(t), t)
    exact = 1 / (1 - a) - a / (1 - a) * np.exp(-mu * (1 - a) * t)
    assert np.max(np.abs(res.y[t > 2] - exact[t > 2])) < 1e-10


@pytest.mark.parametrize("order", [2, 4, 6])
def test_observed_order(order):
    # y(t) = cos t for K = 0.5 e^{-(t-s)}: f = cos t - 0.5 (cos t + sin t - e^{-t})/2
    K = kernels.ExpSum([0.5], [0.0], [1.0])
    errs = []
    # grids in the asymptotic range of each order (errors well above rounding)
    for N in {2: (41, 81, 161), 4: (81, 161, 321), 6: (41, 81, 161)}[order]:
        t = np.linspace(0, 8, N)
        f = np.cos(t) - 0.25 * (np.cos(t) + np.sin(t) - np.exp(-t))
        res = solve_volterra(
            K, f, t, method={2: "trapezoidal", 4: "gregory4", 6: "gregory6"}[order]
        )
        errs.append(np.max(np.abs(res.y - np.cos(t))))
        assert 0.1 <= res.max_error_estimate / errs[-1] <= 10
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(orders - order) <= 0.3), orders


def test_million_points_with_overflowing_factors():
    # the term 0.5 exp(0.8 t - 1.8 (t - s)) = 0.5 e^{-(t-s)} e^{0.8 s} <= 0.5 e^{-(t-s)} on
    # t in [-2000, 0], while its factors e^{1.8 s} and e^{-1.8 t} alone would overflow (e^{3600}).
    # Exact solution y = 1 for f = 1 - 0.5 ∫_{-2000}^t e^{-(t-s)} e^{0.8 s} ds
    #   = 1 - 0.5 (e^{0.8 t} - e^{-(t + 2000) - 1600}) / 1.8   (the second term underflows to 0)
    N = 1_000_001
    t = np.linspace(-2000.0, 0.0, N)
    K = kernels.ExpSum([0.5], [0.8], [1.8])
    f = 1.0 - 0.5 * (np.exp(0.8 * t) - np.exp(-(t + 2000.0) - 1600.0)) / 1.8
    res = solve_volterra(K, f, t, error_estimate=False)
    assert res.success and res.stats.path == "expsum"
    assert np.all(np.isfinite(res.y))
    # product integration of exp(0.8 s) y(s) with y = 1: exact for the exponential factor,
    # rounding over 1e6 steps of size ~1e-16 each
    assert np.max(np.abs(res.y - 1.0)) < 1e-11


@pytest.mark.parametrize("z", [0.0, 1e-9, 0.3 + 2j, 5.0, 24.9, 25.1, 300.0 + 40j])
def test_cell_weights_against_quadrature(z):
    # Ω_i = ∫_0^1 e^{z(x-1)} L_i(x) dx for the offsets o = -5..0 (p = 6), checked with a
    # 200-point Gauss-Legendre rule (exact to rounding for these smooth integrands): 1e-13
    W = cell_weights(z, 6, True)
    x, w = np.polynomial.legendre.leggauss(200)
    x = 0.5 * (x + 1)
    w = 0.5 * w
    for oi in range(6):
        nodes = np.arange(oi - 5, oi + 1, dtype=float)
        for i in range(6):
            others = np.delete(nodes, i)
            L = np.prod((x[:, None] - others) / (nodes[i] - others), axis=1)
            ref = np.sum(w * np.exp(z * (x - 1)) * L)
            assert abs(W[oi, i] - ref) <= 1e-13 * max(1.0, abs(ref))


def test_off_grid_breakpoints_fall_back_to_direct():
    K = kernels.Piecewise(
        [kernels.ExpSum([0.5], [0.0], [1.0]), kernels.ExpSum([0.2], [0.0], [1.0])],
        [lambda t: 0.5 * t + 0.0137],
    )
    t = np.linspace(0, 4, 201)
    res = solve_volterra(K, np.ones_like(t), t)
    assert res.stats.path == "direct"
    with pytest.raises(ValueError, match="fast path"):
        solve_volterra(K, np.ones_like(t), t, path="fast")


@pytest.mark.parametrize("k", [2, 4])
def test_coarse_breakpoints_are_those_of_the_coarse_grid(k):
    K = PROBLEMS["kink g=0.2"]
    t = np.linspace(-8.0, 0.0, 161)  # s = 2t falls on grid points, also of t[::2], t[::4]
    bp = _expsum.breakpoints_on_grid(K, t)
    assert np.array_equal(_expsum.coarse_breakpoints(bp, k), _expsum.breakpoints_on_grid(K, t[::k]))
    # s = 2t + 0.05 is a point of t but of neither t[::2] nor t[::4] (inside the grid)
    K2 = kernels.Piecewise(K.pieces, [lambda t: 2 * t + 0.05])
    bp2 = _expsum.breakpoints_on_grid(K2, t)
    assert bp2 is not None
    assert _expsum.coarse_breakpoints(bp2, k) is None
    assert _expsum.breakpoints_on_grid(K2, t[::k]) is None


@pytest.mark.parametrize("name", PROBLEMS)
def test_grids_prepared_together_solve_as_each_alone(name):
    # t, t[::2], t[::4] prepared in one pass: the same arrays as each grid's own, so the
    # same solutions bit for bit
    K = PROBLEMS[name]
    t = np.linspace(-8.0, 0.0, 161)
    grids = [t, t[::2], t[::4]]
    made = _expsum.prepare_many(K, grids, 6, real=True)
    for g, d in zip(grids, made, strict=True):
        rr = np.cos(g)
        together, _ = _expsum.solve(K, g, rr, 6, float, prepared=d)
        alone, _ = _expsum.solve(K, g, rr, 6, float)
        assert np.array_equal(together, alone)


def test_term_table_is_remembered_per_kernel_object_and_released_with_it():
    # the 3-5 grids of one solve to a tolerance prepare the same kernel: its term table is
    # built once (solver._expsum._terms); it must equal a fresh build, give the same solution
    # bit for bit, and not outlive the kernel
    import gc
    import weakref

    K = _piecewise(0.3)
    t = np.linspace(-8.0, 0.0, 161)
    r = np.cos(t)
    first, _ = _expsum.solve(K, t, r, 6, float)
    assert K in _expsum._TERMS
    again, _ = _expsum.solve(K, t, r, 6, float)
    fresh, _ = _expsum.solve(_piecewise(0.3), t, r, 6, float)
    assert np.array_equal(first, again) and np.array_equal(first, fresh)
    cached = _expsum._terms(K, True)
    _expsum._TERMS.pop(K)
    rebuilt = _expsum._terms(K, True)
    assert cached["spans"] == rebuilt["spans"]
    for key in ("piece", "w", "lam", "mu", "right", "row", "col"):
        assert np.array_equal(cached[key], rebuilt[key]), key
    alive = weakref.ref(K)
    del K
    gc.collect()
    assert alive() is None  # the cache held no strong reference: the entry went with it


def test_one_core_specialisation_for_any_layout_of_the_right_hand_side():
    # Numba compiles the stepping core once per combination of array types (layout C/F/A and
    # read-only are types of their own): a right-hand side given Fortran-ordered, as a strided
    # view or read-only must reuse the specialisation of a fresh C array, with the same result
    # (the same arithmetic on the same numbers: bit for bit)
    from solver import _expsum_core

    K = kernels.ExpSum(
        [0.5, 0.2, 0.1], [0, 0, 0], [1.0, 2.0, 3.0], rows=[0, 1, 0], cols=[0, 0, 1], dim=2
    )
    t = np.linspace(0.0, 2.0, 41)
    r = np.column_stack([np.cos(t), np.sin(t)]).astype(complex)
    y, _ = _expsum.solve(K, t, r.copy(), 4)
    compiled = set(_expsum_core.step_rows_system.signatures)
    frozen = r.copy()
    frozen.setflags(write=False)
    wide = np.zeros((t.size, 4), complex)
    wide[:, ::2] = r
    for rr in (np.asfortranarray(r), wide[:, ::2], frozen):
        assert np.array_equal(_expsum.solve(K, t, rr, 4)[0], y)
    assert set(_expsum_core.step_rows_system.signatures) == compiled
