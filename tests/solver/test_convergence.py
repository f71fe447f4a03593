"""Convergence of ``solver.solve_volterra`` on the catalogue of exact solutions.

For every problem of :mod:`problems` and every method (trapezoidal, gregory4,
gregory6) the equation is solved on three grids with ``n, 2n, 4n`` intervals
(``Problem.grids``), and

* the observed order ``log2(e_k / e_{k+1})`` of the maximum error
  ``e_k = max |y_k - y_exact|`` must be within ±0.3 of ``res.order``. The
  grids were chosen per problem so that all three errors lie in the
  asymptotic regime and well above round-off (checked: the finest error must
  exceed the round-off guard ``30 eps sqrt(N) max(1, max|y|)``, otherwise the
  grid choice, not the solver, is at fault and the test says so);
* the Richardson error estimate must be neither optimistic nor pessimistic by
  more than a factor 10: ``0.1 <= max(res.error_estimate) / e_k <= 10`` on
  each grid (a Richardson estimate from a once-coarsened solve is
  asymptotically exact, so a factor 10 leaves room for the pre-asymptotic
  constant without accepting a useless estimate).

Further tests:

* the default method on ``y = 1 - ∫_0^t (t-s) y ds`` over ``[0, 20]`` with
  8001 points must reach 1e-11 (sixth order with h = 1/400 gives ~1e-14
  truncation error; 1e-11 leaves room for round-off in the O(N^2) sums);
* f as a function equals f as an array; History(y=...) equals
  History(contribution=...); a bare function kernel equals the cached kernel
  object used for speed here;
* grids with odd and even numbers of points, and very short grids (the
  contract promises a finite, non-negative ``error_estimate`` whenever
  ``success`` is True);
* the resolvent kernel: ``R[n, j]`` against three closed-form resolvents, and
  ``y = f + ∫ R f`` (Gregory weights of the method's order applied to the rows
  of ``R``) against exact solutions of catalogue problems, both with the
  observed-order criterion (±0.3) on their own calibrated grids.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pytest
from problems import METHOD_ORDERS, PROBLEMS, Problem

import solver  # a broken import must fail these tests, not skip them

METHODS = tuple(METHOD_ORDERS)
ORDER_SLACK = 0.3
EST_RANGE = (0.1, 10.0)
EPS = np.finfo(float).eps


def roundoff_guard(n_points: int, scale: float) -> float:
    """Error level below which round-off may dominate and observed orders mean nothing.

    The O(N^2) sums accumulate rounding errors ~ eps sqrt(N) max|y| (random walk);
    a factor 30 above that is still safely in the truncation-error regime.
    """
    return 30.0 * EPS * np.sqrt(n_points) * max(1.0, scale)


@cache
def solver_kernel(name: str):
    """The problem's kernel, built once per test session.

    Numba compiles a user function each time a kernel object is created (about
    1 s); kernel objects are therefore cached. A plain-function kernel is wrapped
    in ``solver.kernels.General`` (the implementation's wrapper for plain
    functions; passing the bare function is the same path, compiled afresh on
    every call, see ``test_plain_function_kernel_path``).
    """
    p = PROBLEMS[name]
    k = p.kernel()
    if p.kernel_kind == "function" and hasattr(solver.kernels, "General"):
        k = solver.kernels.General(k)
    return k


def _solve(p: Problem, method: str, n: int, **kw):
    t = p.grid(n)
    res = solver.solve_volterra(
        solver_kernel(p.name),
        p.f(t),
        t,
        method=method,
        nonlinearity=p.nonlinearity,
        history=p.history(),
        **kw,
    )
    return t, res


def _max_err(p: Problem, t, y) -> float:
    return float(np.max(np.abs(np.asarray(y) - p.exact(t))))


@cache
def _study(name: str, method: str):
    """Solve problem ``name`` with ``method`` on its three grids; return a summary dict."""
    p = PROBLEMS[name]
    rows = []
    for n in p.grids[method]:
        t, res = _solve(p, method, n)
        want_shape = (t.size,) if p.dim == 0 else (t.size, p.dim)
        rows.append(
            {
                "n": n,
                "res": res,
                "shape_ok": res.y.shape == want_shape and res.error_estimate.shape == want_shape,
                "err": _max_err(p, t, res.y) if res.y.shape == want_shape else np.nan,
                "est": float(np.max(res.error_estimate)),
                "scale": float(np.max(np.abs(p.exact(t)))),
                "N": t.size,
            }
        )
    errs = np.array([r["err"] for r in rows])
    orders = np.log2(errs[:-1] / errs[1:])
    return {"rows": rows, "errs": errs, "orders": orders}


def _report(name, method, study) -> str:
    lines = [f"{name} / {method}:"]
    for r in study["rows"]:
        lines.append(
            f"  n={r['n']:5d} err={r['err']:.3e} est={r['est']:.3e} "
            f"est/err={r['est'] / r['err'] if r['err'] else np.inf:.3g} "
            f"success={r['res'].success} msg={r['res'].message!r}"
        )
    lines.append(f"  observed orders: {np.round(study['orders'], 3).tolist()}")
    return "\n".join(lines)


CASES = [
    pytest.param(name, method, id=f"{name}-{method}") for name in PROBLEMS for method in METHODS
]


@pytest.mark.parametrize(("name", "method"), CASES)
def test_result_contract(name, method):
    """Each solve succeeds and returns the documented fields with the right shapes/dtypes."""
    p = PROBLEMS[name]
    study = _study(name, method)
    for r in study["rows"]:
        res = r["res"]
        assert res.success, _report(name, method, study)
        assert isinstance(res.message, str)
        assert res.method == method
        assert res.order == METHOD_ORDERS[method]
        assert r["shape_ok"], (res.y.shape, res.error_estimate.shape)
        np.testing.assert_array_equal(res.t, p.grid(r["n"]))
        assert np.iscomplexobj(res.y) == p.is_complex
        assert np.all(np.isfinite(res.y))
        assert np.all(np.isfinite(res.error_estimate)) and np.all(res.error_estimate >= 0)


@pytest.mark.parametrize(("name", "method"), CASES)
def test_observed_order(name, method):
    """log2(e_k / e_{k+1}) within ±0.3 of the method's order on both grid pairs."""
    study = _study(name, method)
    order = METHOD_ORDERS[method]
    msg = _report(name, method, study)
    last = study["rows"][-1]
    assert last["err"] > roundoff_guard(last["N"], last["scale"]), (
        "catalogue grids too fine for this problem (error at round-off level):\n" + msg
    )
    assert np.all(np.abs(study["orders"] - order) <= ORDER_SLACK), msg


@pytest.mark.parametrize(("name", "method"), CASES)
def test_error_estimate_quality(name, method):
    """0.1 <= max(error_estimate) / max|error| <= 10 on every grid."""
    study = _study(name, method)
    ratios = np.array([r["est"] / r["err"] for r in study["rows"]])
    assert np.all((ratios >= EST_RANGE[0]) & (ratios <= EST_RANGE[1])), _report(name, method, study)


def test_default_method_high_accuracy():
    """Default method on y = 1 - ∫(t-s) y ds, [0, 20], 8001 points: max error <= 1e-11."""
    p = PROBLEMS["conv_cos"]
    t = np.linspace(0.0, 20.0, 8001)
    res = solver.solve_volterra(solver_kernel("conv_cos"), p.f(t), t)
    assert res.success, res.message
    assert res.order == 6, res
    err = _max_err(p, t, res.y)
    assert err <= 1e-11, err
    # the estimate must not claim much more accuracy than achieved, nor wildly less
    assert np.max(res.error_estimate) >= 0.1 * err


@pytest.mark.parametrize(
    "name", ["conv_cos", "system2_nonconv", "complex_rotation", "jump_half", "riccati_square"]
)
def test_callable_f_matches_array(name):
    """Passing f as a function gives the same solution as passing its values."""
    p = PROBLEMS[name]
    t = p.grid(p.grids["gregory4"][0])
    kw = {"method": "gregory4", "nonlinearity": p.nonlinearity, "history": p.history()}
    a = solver.solve_volterra(solver_kernel(name), p.f(t), t, **kw)
    b = solver.solve_volterra(solver_kernel(name), p.f, t, **kw)
    assert a.success and b.success
    np.testing.assert_allclose(b.y, a.y, rtol=1e-13, atol=1e-13)


def test_history_variants_agree():
    """History(y=...) and History(contribution=...) give the same solution (to the history
    quadrature tolerance, far below the discretisation error)."""
    for base in ("history_exp_cos", "history_texp_decay"):
        py, pc = PROBLEMS[base + "_y"], PROBLEMS[base + "_contribution"]
        n = py.grids["gregory6"][1]
        _, ry = _solve(py, "gregory6", n)
        _, rc = _solve(pc, "gregory6", n)
        assert ry.success and rc.success
        np.testing.assert_allclose(ry.y, rc.y, rtol=0, atol=1e-11)


@pytest.mark.parametrize("name", ["wazwaz_cosh", "system2_nonconv", "cubic_nonconv"])
def test_plain_function_kernel_path(name):
    """A bare Python function as kernel (the contract's basic form) gives the same result as
    the cached kernel object used above (so the convergence results apply to it)."""
    p = PROBLEMS[name]
    assert p.kernel_kind == "function"
    t = p.grid(p.grids["gregory4"][0])
    kw = {"method": "gregory4", "nonlinearity": p.nonlinearity}
    a = solver.solve_volterra(p.kernel(), p.f(t), t, **kw)
    b = solver.solve_volterra(solver_kernel(name), p.f(t), t, **kw)
    assert a.success and b.success
    np.testing.assert_allclose(a.y, b.y, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(a.y, p.exact(t), atol=1e-3)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n_points", [16, 33, 40, 41])
def test_any_number_of_points(method, n_points):
    """Odd and even numbers of grid points are both valid (the Richardson estimate uses every
    other point); solution and estimate must be consistent with the exact error either way."""
    p = PROBLEMS["conv_cos"]
    t = np.linspace(0.0, 3.0, n_points)
    res = solver.solve_volterra(solver_kernel("conv_cos"), p.f(t), t, method=method)
    assert res.success, res.message
    err = _max_err(p, t, res.y)
    est = float(np.max(res.error_estimate))
    assert np.all(np.isfinite(res.error_estimate))
    assert EST_RANGE[0] <= est / err <= EST_RANGE[1], (err, est)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n_points", [2, 3, 5, 7, 12])
def test_short_grid(method, n_points):
    """Very short grids: the contract promises res.error_estimate >= 0 (same shape as y).
    Either the solve is refused/fails loudly, or y is finite and accurate to what the grid
    allows and the estimate is a finite non-negative number (NaN is not an estimate)."""
    p = PROBLEMS["conv_cos"]
    t = np.linspace(0.0, 0.5, n_points)
    try:
        res = solver.solve_volterra(solver_kernel("conv_cos"), p.f(t), t, method=method)
    except ValueError as exc:
        assert re.search(r"(^|\W)t(\W|$)|points|grid", str(exc)), str(exc)
        return
    if not res.success:
        assert res.message.strip() and not np.all(np.isfinite(res.y))
        return
    assert np.all(np.isfinite(res.y))
    assert _max_err(p, t, res.y) < 1e-2
    assert res.error_estimate.shape == res.y.shape
    assert np.all(np.isfinite(res.error_estimate)) and np.all(res.error_estimate >= 0), (
        f"success=True but error_estimate={res.error_estimate} ({res.message!r})"
    )


# ---------------------------------------------------------------------------
# Resolvent
# ---------------------------------------------------------------------------


def _resolvent_fn():
    fn = getattr(solver, "resolvent", None)
    assert fn is not None, "solver.resolvent is part of the contract but is not exported"
    return fn


def _gregory_weights(n: int, order: int) -> np.ndarray | None:
    """Gregory weights (index units) on n + 1 points, or None if too few points.

    Classical end weights (trapezoid 1/2; order 4: 3/8, 7/6, 23/24; order 6:
    95/288, 317/240, 23/30, 793/720, 157/160); the end corrections may overlap
    when n is small. Exactness for polynomials of degree order - 1 is verified
    here, so that the reconstruction below cannot be spoiled by the weights.
    """
    ends = {
        2: [1 / 2],
        4: [3 / 8, 7 / 6, 23 / 24],
        6: [95 / 288, 317 / 240, 23 / 30, 793 / 720, 157 / 160],
    }[order]
    if n < max(order - 2, 1):
        return None
    w = np.ones(n + 1)
    e = np.array(ends)
    m = e.size
    w[:m] += e - 1.0
    w[n + 1 - m :] += e[::-1] - 1.0
    x = np.arange(n + 1, dtype=float)
    for deg in range(order):
        if not np.isclose(w @ x**deg, n ** (deg + 1) / (deg + 1), rtol=1e-12, atol=1e-12):
            return None
    return w


def _resolvent_matrix(res, N):
    R = np.asarray(res.R)
    assert R.shape[:2] == (N, N), R.shape
    return R


def _k_minus_lag(u):
    return -u


def _k_ts(t, s):
    return t * s


def _k_three_exp(u):
    return 3.0 * np.exp(-u)


@cache
def _resolvent_kernel(case: str):
    """Kernel objects for the closed-form resolvent cases, compiled once."""
    if case == "minus_lag":
        return solver.kernels.Convolution(_k_minus_lag)
    if case == "separable_ts":
        return getattr(solver.kernels, "General", lambda k: k)(_k_ts)
    if case == "exp_growth":
        return solver.kernels.Convolution(_k_three_exp)
    raise KeyError(case)


RESOLVENT_CASES = [
    # name, exact R(t, s), interval, coarsest n per method (grids n, 2n, 4n; calibrated so
    # that the observed orders are within ±0.15 of the method's order)
    ("minus_lag", lambda t, s: -np.sin(t - s), (0.0, 5.0), (20, 40, 80)),
    (
        "separable_ts",
        lambda t, s: t * s * np.exp((t**3 - s**3) / 3.0),
        (0.0, 1.5),
        (20, 40, 80),
    ),
    ("exp_growth", lambda t, s: 3.0 * np.exp(2.0 * (t - s)), (0.0, 2.0), (20, 80, 80)),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("case", "exact_r", "interval", "n0"),
    [pytest.param(*c, id=c[0]) for c in RESOLVENT_CASES],
)
def test_resolvent_closed_form(case, exact_r, interval, n0, method):
    """R[n, j] vs closed-form resolvents (K = -(t-s): R = -sin(t-s); K = ts:
    R = ts exp((t^3-s^3)/3), from R = a(t) b(s) exp(∫_s^t a b) for K = a(t) b(s);
    K = 3 e^{-(t-s)}: R = 3 e^{2(t-s)}, by Laplace transform): observed order of the max
    error over j <= n within ±0.3 of the method's order; zeros above the diagonal."""
    resolvent = _resolvent_fn()
    order = METHOD_ORDERS[method]
    n_first = n0[METHODS.index(method)]
    ns = (n_first, 2 * n_first, 4 * n_first)
    errs = []
    for n in ns:
        t = np.linspace(*interval, n + 1)
        R = _resolvent_matrix(resolvent(_resolvent_kernel(case), t, method=method), t.size)
        T, S = np.meshgrid(t, t, indexing="ij")
        low = np.tril(np.ones((t.size, t.size), dtype=bool))
        assert np.all(R[~low] == 0), "R must be zero above the diagonal"
        errs.append(np.max(np.abs(R[low] - exact_r(T, S)[low])))
    errs = np.array(errs)
    orders = np.log2(errs[:-1] / errs[1:])
    assert errs[-1] > roundoff_guard(ns[-1] + 1, 1.0), errs
    assert np.all(np.abs(orders - order) <= ORDER_SLACK), (case, method, errs, orders)


RESOLVENT_SOLUTION_PROBLEMS = {
    # name: coarsest n per method (trapezoidal, gregory4, gregory6), grids n, 2n, 4n,
    # calibrated like the catalogue grids (the resolvent has its own error constants)
    "conv_cos": (40, 40, 40),
    "wazwaz_exp_sin": (20, 40, 40),
    "nonconv_s_exp": (40, 40, 80),
    "complex_rotation": (20, 20, 20),
    "expsum_complex": (20, 20, 40),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", RESOLVENT_SOLUTION_PROBLEMS)
def test_resolvent_reconstructs_solution(name, method):
    """y_n = f_n + h Σ_j w_j R[n, j] f_j with Gregory weights of the method's order reproduces
    the exact solution with the method's order (±0.3) at every n with enough points for the
    rule (n >= order - 2)."""
    resolvent = _resolvent_fn()
    p = PROBLEMS[name]
    order = METHOD_ORDERS[method]
    errs = []
    n0 = RESOLVENT_SOLUTION_PROBLEMS[name][METHODS.index(method)]
    for n_int in (n0, 2 * n0, 4 * n0):
        t = p.grid(n_int)
        h = t[1] - t[0]
        R = _resolvent_matrix(resolvent(solver_kernel(name), t, method=method), t.size)
        f = p.f(t)
        y = np.full(t.size, np.nan, dtype=complex)
        for n in range(t.size):
            w = _gregory_weights(n, order)
            if n == 0:
                y[0] = f[0]
            elif w is not None:
                y[n] = f[n] + h * np.sum(w * R[n, : n + 1] * f[: n + 1])
        ok = np.isfinite(y)
        assert ok.sum() >= t.size - order
        errs.append(np.max(np.abs(y[ok] - p.exact(t)[ok])))
    errs = np.array(errs)
    orders = np.log2(errs[:-1] / errs[1:])
    assert np.all(np.abs(orders - order) <= ORDER_SLACK), (name, method, errs, orders)
