"""Graded (non-uniform) meshes and kernels with a known exponential factor (Damped)."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from solver import kernels, solve_volterra


def graded(L, N, g=6.0):
    """Mesh on [0, L], fine at 0 and geometrically coarser: t = L (e^{g x} - 1)/(e^g - 1)."""
    x = np.linspace(0.0, 1.0, N)
    return L * np.expm1(g * x) / np.expm1(g)


@pytest.mark.parametrize(
    "order,Ns", [(2, (81, 161, 321)), (4, (81, 161, 321)), (6, (81, 161, 321))]
)
def test_order_on_graded_mesh(order, Ns):
    # y = cos t for K = -(t-s), f = 1 (Linz 1985, Sec. 7.1 style test): composite interpolatory
    # rule of order p on a smoothly graded mesh; the Richardson estimate uses t[::2]
    method = {2: "trapezoidal", 4: "gregory4", 6: "gregory6"}[order]
    errs = []
    for N in (81, 161, 321):  # asymptotic range for all three orders
        t = graded(10.0, N, g=2.0)
        res = solve_volterra(lambda t, s: -(t - s), lambda t: np.ones_like(t), t, method=method)
        assert res.stats.path == "cells"
        errs.append(np.max(np.abs(res.y - np.cos(t))))
        assert 0.1 <= res.max_error_estimate / errs[-1] <= 10
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(orders - order) <= 0.3), orders


def test_damped_equals_plain_kernel_on_uniform_grid():
    # the same kernel written as Damped(k, 1) and as a plain function: both order-6 rules are
    # converged to ~1e-12 on this grid (estimates below), so they agree to 1e-11
    a = 0.5
    t = np.linspace(0, 10, 801)
    K1 = kernels.Damped(lambda t, s: a * (1 + 0.5 * np.sin(s)), 1.0)
    r1 = solve_volterra(K1, lambda t: np.ones_like(t), t)
    r2 = solve_volterra(
        lambda t, s: a * (1 + 0.5 * np.sin(s)) * np.exp(-(t - s)), lambda t: np.ones_like(t), t
    )
    assert r1.max_error_estimate < 1e-11 and r2.max_error_estimate < 1e-11
    assert np.max(np.abs(r1.y - r2.y)) < 1e-11


def test_long_history_with_few_points():
    # K = a e^{-(t-s)} c(s), c = 1 + 0.5 sin(s/3000), f = 1 on [0, 1e5]: differentiating gives
    # the ODE y' = 1 + (a c(t) - 1) y, y(0) = 1, solved independently with DOP853 at rtol 1e-13.
    # With a graded mesh and exponential product integration, 4001 points reach 1e-8.
    a, L = 0.5, 1e5
    ref = solve_ivp(
        lambda t, y: 1 + (a * (1 + 0.5 * np.sin(t / 3000)) - 1) * y,
        [0, L],
        [1.0],
        rtol=1e-13,
        atol=1e-14,
        method="DOP853",
    ).y[0, -1]
    t = graded(L, 4001)
    K = kernels.Damped(lambda t, s: a * (1 + 0.5 * np.sin(s / 3000)), 1.0)
    res = solve_volterra(K, lambda t: np.ones_like(t), t)
    rel = abs(res.y[-1] - ref) / ref
    assert rel < 1e-8
    # the Richardson estimate at the end is honest within a factor 10
    assert 0.1 <= res.error_estimate[-1] / abs(res.y[-1] - ref) <= 10


def test_damped_rejects_growth():
    with pytest.raises(ValueError, match="mu"):
        kernels.Damped(lambda t, s: 1.0, -1.0)


def test_breakpoints_need_uniform_grid():
    K = kernels.Piecewise([lambda t, s: 1.0, lambda t, s: 0.5], [lambda t: 0.5 * t])
    with pytest.raises(ValueError, match="uniform"):
        solve_volterra(K, lambda t: np.ones_like(t), graded(5.0, 51))
