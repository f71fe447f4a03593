"""Regression tests for input combinations that once gave wrong numbers or crashed."""

import numpy as np
import pytest

from solver import History, kernels, resolvent, solve_volterra


def test_kernel_singular_at_origin_but_smooth_on_the_grid():
    # K = s/t on [1, 2] is smooth there; the compile-time probe must not evaluate it at (0, 0).
    # y = 1 + ∫_1^t (s/t) y ds: (t y)' = 1 + t y, y(1) = 1, whose solution is smooth: the
    # order-6 Richardson estimate on 101 points is below 1e-10
    t = np.linspace(1.0, 2.0, 101)
    res = solve_volterra(lambda t, s: s / t, lambda t: 1.0, t)
    assert res.success and np.all(np.isfinite(res.y))
    assert res.max_error_estimate < 1e-10


def test_piecewise_with_one_complex_piece_stays_complex():
    # the real first piece must not make the problem real: the fast and direct paths agree
    K = kernels.Piecewise(
        [
            kernels.ExpSum([0.5], [0], [1]),
            kernels.ExpSum([1j], [0], [1]),
            kernels.ExpSum([0.3], [0], [1]),
        ],
        [lambda t: 3 * t, lambda t: 2 * t],
    )
    t = np.linspace(-3, 0, 301)
    fast = solve_volterra(K, np.ones(t.size), t)
    direct = solve_volterra(K, np.ones(t.size), t, path="direct")
    assert np.iscomplexobj(fast.y) and abs(fast.y[-1].imag) > 0.05
    assert abs(fast.y[-1] - direct.y[-1]) < 1e-7


@pytest.mark.parametrize("kernel", ["plain", "expsum"])
def test_complex_history_with_real_kernel(kernel):
    # y = i for s < 0 and K = e^{-(t-s)}, f = 0: y(t) = i for all t (H = i e^{-t})
    K = (lambda t, s: np.exp(-(t - s))) if kernel == "plain" else kernels.ExpSum([1.0], [0], [1])
    t = np.linspace(0, 1, 41)
    res = solve_volterra(K, lambda t: 0 * t, t, history=History(contribution=1j * np.exp(-t)))
    np.testing.assert_allclose(res.y, 1j, atol=1e-10)
    res = solve_volterra(K, lambda t: 0 * t, t, history=History(y=lambda s: 1j + 0 * s))
    np.testing.assert_allclose(res.y, 1j, atol=1e-9)


@pytest.mark.parametrize("N", [13, 21, 101])
def test_piece_reduced_to_a_sliver(N):
    K = kernels.Piecewise(
        [lambda t, s: 0.5, lambda t, s: 0.3, lambda t, s: 0.1], [lambda t: 2 * t, lambda t: t / 2]
    )
    res = solve_volterra(K, lambda t: np.ones_like(t), np.linspace(-4, 0, N), path="direct")
    assert res.success and np.all(np.isfinite(res.y))


def test_even_number_of_points_keeps_the_fast_path():
    g = 0.5
    left = kernels.ExpSum([0.4], [-2 * g], [1 + 2 * g])
    right = kernels.ExpSum([0.4], [2 * g], [1 - 2 * g])
    K = kernels.Piecewise([left, right], [lambda t: 2 * t])
    res = solve_volterra(K, lambda t: np.ones_like(t), np.linspace(-20, 0, 4000))
    assert res.stats.path == "expsum" and res.success


def test_resolvent_of_a_system():
    # K = A constant (a rotation generator): R(t, s) = A e^{A (t-s)}, order 6 on 41 points
    A = np.array([[0.0, 1.0], [-1.0, 0.0]])
    t = np.linspace(0, 2, 41)
    R = resolvent(lambda t, s: np.array([[0.0, 1.0], [-1.0, 0.0]]), t)
    u = t[-1] - t[0]
    expA = np.array([[np.cos(u), np.sin(u)], [-np.sin(u), np.cos(u)]])
    np.testing.assert_allclose(R.R[-1, 0], A @ expA, atol=1e-8)
