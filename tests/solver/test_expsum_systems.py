"""Systems whose kernel is a matrix of sums of exponentials, on the O(N) running-sum path.

Exact solutions: K = P diag(k_1, k_2) P^{-1} with k_i(t, s) = w_i e^{-mu_i (t - s)}
and constant f = P g decouple into z_i = g_i + ∫ k_i z_i, whose solution is
z_i(t) = g_i [mu_i - w_i e^{(w_i - mu_i)(t - t0)}]/(mu_i - w_i) (differentiate:
z' = (w - mu) z + mu g, z(t0) = g); then y = P z.
"""

from __future__ import annotations

import numpy as np
import pytest

from solver import kernels, solve_volterra


def _system(P, w, mu):
    """The ExpSum of P diag(w e^{-mu u}) P^{-1}: entry (a, b) holds one term per mode."""
    Pinv = np.linalg.inv(P)
    wt, lam, m, rows, cols = [], [], [], [], []
    for a in range(2):
        for b in range(2):
            for i in range(2):
                wt.append(P[a, i] * w[i] * Pinv[i, b])
                lam.append(0.0)
                m.append(mu[i])
                rows.append(a)
                cols.append(b)
    return kernels.ExpSum(wt, lam, m, rows=rows, cols=cols, dim=2)


def _constant(v):
    """f(t) = v for every t (shape ``t.shape + v.shape``)."""
    return lambda t: np.broadcast_to(v, np.shape(t) + v.shape)


def _exact(P, w, mu, g, t):
    w, mu, g = (np.asarray(x, dtype=complex) for x in (w, mu, g))
    u = (t - t[0])[:, None]
    z = g * (mu - w * np.exp((w - mu) * u)) / (mu - w)
    return z @ P.T


CASES = {
    "real": (np.array([[1.0, 0.5], [-0.3, 1.0]]), [0.4, 0.7], [1.0, 3.0], [1.0, -0.5]),
    "complex": (
        np.array([[1.0, 0.5j], [0.2 - 0.1j, 1.0]]),
        [0.4 + 0.1j, 0.7],
        [1.0 + 2.0j, 5.0],
        [1.0, 0.5j],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_system_against_exact_solution(name):
    """Order 6 on refinement (gregory6); the error at N = 801 below 1e-9 relative.

    The modes decay at w - mu (fastest 4.3): h = 0.1 .. 0.0125 resolves them, so the
    observed order (gregory6) is required in [4.5, 7.5] (pre-asymptotic first step).
    """
    P, w, mu, g = CASES[name]
    K = _system(P, w, mu)
    errs = []
    for N in (101, 201, 401, 801):
        t = np.linspace(0.0, 10.0, N)
        res = solve_volterra(K, _constant(P @ np.asarray(g)), t)
        assert res.stats.path == "expsum"
        exact = _exact(P, w, mu, g, t)
        errs.append(np.max(np.abs(res.y - exact)) / np.max(np.abs(exact)))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert errs[-1] < 1e-9, errs
    assert np.all((orders > 4.5) & (orders < 7.5)), orders


def test_system_fast_path_equals_direct_path_discretisation():
    """The running sums and the O(N^2) path are two discretisations of the same system:
    they agree to the discretisation error, which both halve by ~2^6 per halving of h."""
    P, w, mu, g = CASES["complex"]
    K = _system(P, w, mu)
    f = _constant(P @ np.asarray(g))
    diffs = []
    for N in (201, 401):
        t = np.linspace(0.0, 10.0, N)
        a = solve_volterra(K, f, t, path="fast", error_estimate=False)
        b = solve_volterra(K, f, t, path="direct", error_estimate=False)
        diffs.append(np.max(np.abs(a.y - b.y)))
    assert diffs[1] < diffs[0] / 16


def test_piecewise_system_with_breakpoint_on_the_grid():
    """A kink at s = 2t (grid ending at 0): the fast path against the direct path, which
    integrates the pieces with cut-cell Lagrange weights of the same order, to the
    tolerance both are asked for."""
    K1 = kernels.ExpSum([0.3, 0.2j, -0.2j, 0.4], [0.1, 0, 0, 0], [1, 1 + 1j, 1 - 1j, 1],
                        rows=[0, 0, 1, 1], cols=[0, 1, 0, 1], dim=2)  # fmt: skip
    K2 = kernels.ExpSum([0.1, 0.2j, -0.2j, 0.4], [-0.1, 0, 0, 0], [1.5, 1 + 1j, 1 - 1j, 1],
                        rows=[0, 0, 1, 1], cols=[0, 1, 0, 1], dim=2)  # fmt: skip
    K = kernels.Piecewise([K1, K2], [lambda t: 2.0 * np.asarray(t)])
    f = lambda t: np.stack([np.ones_like(t), 0.5 * np.ones_like(t)], axis=-1)  # noqa: E731
    t = np.linspace(-10.0, 0.0, 101)
    a = solve_volterra(K, f, t, rtol=1e-9, atol=1e-12)
    b = solve_volterra(K, f, t, rtol=1e-9, atol=1e-12, path="direct")
    assert a.status == 0 and b.status == 0, (a.message, b.message)
    assert a.stats.path == "expsum" and b.stats.path == "direct"
    assert np.max(np.abs(a.y - b.y)) <= 2e-9 * np.max(np.abs(a.y))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"rows": [0], "cols": [0]}, "together"),
        ({"rows": [0], "cols": [0], "dim": 0}, "dim"),
        ({"rows": [0], "cols": [2], "dim": 2}, "cols"),
        ({"rows": [0.5], "cols": [0], "dim": 2}, "rows"),
        ({"rows": [0, 1], "cols": [0], "dim": 2}, "rows"),
    ],
)
def test_bad_system_entries(kw, match):
    with pytest.raises(ValueError, match=match):
        kernels.ExpSum([1.0], [0.0], [1.0], **kw)


def test_system_kernel_values():
    """evaluate() returns the (dim, dim) matrix: entry-wise sums of the terms."""
    K = kernels.ExpSum([1.0, 2.0, 3.0], [0.0, 0.5, 0.0], [1.0, 1.0, 2.0],
                       rows=[0, 0, 1], cols=[1, 1, 0], dim=2)  # fmt: skip
    v = K(np.array([1.0]), np.array([0.25]))[0]
    u = 0.75
    expect = np.array([[0.0, np.exp(-u) + 2 * np.exp(0.5 - u)], [3 * np.exp(-2 * u), 0.0]])
    np.testing.assert_allclose(v, expect, rtol=1e-14)


@pytest.mark.parametrize("order", [2, 6])
def test_one_by_one_system_equals_the_scalar_driver(order):
    # a 1x1 system runs the system driver (d x d solve per row), the same kernel as a scalar
    # runs the scalar driver: the same arithmetic up to the order of the sums, so 1e-13
    w, lam, mu = [0.3, 0.3, 0.2], [0.5j, -0.5j, 0.0], [1 - 2j, 1 + 2j, 0.5]
    scalar = kernels.ExpSum(w, lam, mu)
    system = kernels.ExpSum(w, lam, mu, rows=[0, 0, 0], cols=[0, 0, 0], dim=1)
    t = np.linspace(-12.0, 0.0, 1201)
    f = np.cos(t) + 0.5
    ys = solve_volterra(scalar, f, t, method="trapezoidal" if order == 2 else "gregory6").y
    yd = solve_volterra(
        system, lambda tt: (np.cos(tt) + 0.5)[..., None], t,
        method="trapezoidal" if order == 2 else "gregory6",
    ).y  # fmt: skip
    assert ys.shape == (t.size,) and yd.shape == (t.size, 1)
    assert np.max(np.abs(yd[:, 0] - ys)) <= 1e-13 * np.max(np.abs(ys))
