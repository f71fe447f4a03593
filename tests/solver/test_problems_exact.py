"""Self-check of the test-problem catalogue, independent of the solver.

For every problem the exact solution is substituted into the equation and the
residual

    r(t) = y(t) - f(t) - H(t) - ∫_{t0}^{t} K(t, s) G(s, y(s)) ds

is evaluated at five points of the interval with adaptive Gauss-Kronrod
quadrature (``scipy.integrate.quad``), split at the kernel breakpoints so the
integrand is smooth on every piece. For problems with a history, ``H`` is the
quadrature of ``∫_{-∞}^{t0} K(t, s) y(s) ds`` with ``quad``'s infinite-range
transformation, and the closed-form contribution given for the
``History(contribution=...)`` variant is compared with it as well.

Tolerance: quad is asked for 1e-13 absolute/relative accuracy; the integrands
are smooth, of moderate size (at most ~60), so the quadrature error is far
below the 1e-9 threshold, while any mistake in an exact solution or a forcing
term (a wrong coefficient, sign or transcription) gives residuals of order
1e-3 or more. Passing proves the catalogue's exact solutions.
"""

from __future__ import annotations

import numpy as np
import pytest
from problems import METHOD_ORDERS, PROBLEMS, Problem
from scipy import integrate

pytestmark = pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")

RESIDUAL_TOL = 1e-9
QUAD_KW = {"epsabs": 1e-13, "epsrel": 1e-13, "limit": 500}


def _quad(fun, a, b, points=()):
    """∫_a^b fun for a real- or complex-valued scalar function, split at ``points``."""
    edges = [a, *sorted(p for p in points if a < p < b), b]
    total = 0.0 + 0.0j
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        re, _ = integrate.quad(lambda x: np.real(fun(x)), lo, hi, **QUAD_KW)
        im, _ = integrate.quad(lambda x: np.imag(fun(x)), lo, hi, **QUAD_KW)
        total += re + 1j * im
    return total


def _scalar(v):
    v = np.asarray(v)
    return v.item() if v.ndim == 0 else v


def _components(p: Problem):
    """Indices of the solution components (``[None]`` for scalar problems)."""
    return [None] if p.dim == 0 else list(range(p.dim))


def _integral(p: Problem, t: float, lo: float, hi: float, y_of_s) -> np.ndarray:
    """∫_lo^hi K(t, s) G(s, y(s)) ds, componentwise."""
    out = []
    for i in _components(p):

        def integrand(s, i=i):
            g = p.G(s, _scalar(y_of_s(s)))
            kg = p.K(t, s) @ g if p.dim else p.K(t, s) * g
            return kg if i is None else kg[i]

        out.append(_quad(integrand, lo, hi, p.breakpoints(t)))
    return np.array(out)


def _check_points(p: Problem) -> np.ndarray:
    """Five points, avoiding t0 (where the integral vanishes trivially) and kinks."""
    pts = p.t0 + (p.t_end - p.t0) * np.array([0.13, 0.31, 0.52, 0.77, 1.0])
    return pts


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_exact_solution_satisfies_equation(name):
    """|y - f - H - ∫K G(y)| < 1e-9 at five points (see module docstring for the tolerance)."""
    p = PROBLEMS[name]
    for t in _check_points(p):
        y = np.atleast_1d(np.asarray(p.exact(np.array([t])))[0])
        f = np.atleast_1d(np.asarray(p.f(np.array([t])))[0])
        integral = _integral(p, t, p.t0, t, p.exact)
        hist = np.zeros_like(integral)
        if p.history_kind is not None:
            hist = _integral(p, t, -np.inf, p.t0, p.history_y)
        res = y - f - hist - integral
        assert np.max(np.abs(res)) < RESIDUAL_TOL, (name, t, res)


@pytest.mark.parametrize("name", [n for n, p in PROBLEMS.items() if p.history_kind])
def test_history_contribution_closed_form(name):
    """The closed-form H(t) equals ∫_{-∞}^{t0} K(t,s) y(s) ds by quadrature (tol 1e-10)."""
    p = PROBLEMS[name]
    for t in _check_points(p):
        h_quad = _integral(p, t, -np.inf, p.t0, p.history_y)
        h_closed = np.atleast_1d(np.asarray(p.history_h(np.array([t])))[0])
        assert np.max(np.abs(h_quad - h_closed)) < 1e-10, (name, t, h_quad, h_closed)


@pytest.mark.parametrize("name", [n for n, p in PROBLEMS.items() if p.history_kind])
def test_history_continuous_at_t0(name):
    """The history y(s), s < t0, joins the solution continuously at t0 (closed forms)."""
    p = PROBLEMS[name]
    t0 = np.array([p.t0])
    np.testing.assert_allclose(p.history_y(t0), p.exact(t0), rtol=1e-14, atol=1e-14)
    s = np.linspace(p.t0 - 50.0, p.t0, 11)
    assert np.all(np.isfinite(p.history_y(s)))


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_catalogue_entry_well_formed(name):
    """Shapes, dtypes and grids are consistent with the solver contract."""
    p = PROBLEMS[name]
    t = p.grid(16)
    y = np.asarray(p.exact(t))
    f = np.asarray(p.f(t))
    want = (t.size,) if p.dim == 0 else (t.size, p.dim)
    assert y.shape == want and f.shape == want
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(f))
    assert np.iscomplexobj(y) == p.is_complex
    assert p.citation and p.description
    assert set(p.grids) == set(METHOD_ORDERS)
    for grids in p.grids.values():
        assert len(grids) == 3 and all(b == 2 * a for a, b in zip(grids, grids[1:], strict=False))
    # the kernel functions return the advertised type
    k = p.K(0.5 * (p.t0 + p.t_end), p.t0)
    if p.dim:
        assert np.shape(k) == (p.dim, p.dim)
    else:
        assert np.ndim(k) == 0


def test_catalogue_coverage():
    """The catalogue covers every class of problem the solver supports."""
    tags = [p.tags for p in PROBLEMS.values()]
    assert len(PROBLEMS) >= 12
    for needed in (
        "convolution",
        "nonconvolution",
        "system",
        "complex",
        "nonlinear",
        "history_y",
        "history_contribution",
        "breakpoint",
        "expsum",
        "oscillatory",
        "literature",
    ):
        assert any(needed in t for t in tags), needed


def test_kernels_compile_with_numba():
    """Every kernel / nonlinearity / breakpoint function compiles in nopython mode."""
    import numba

    for p in PROBLEMS.values():
        fns = []
        if p.kernel_kind in ("function", "convolution"):
            fns.append((p.kernel_data[0], 2 if p.kernel_kind == "function" else 1))
        elif p.kernel_kind == "piecewise":
            (kl, kr), (beta,) = p.kernel_data
            fns += [(kl, 2), (kr, 2), (beta, 1)]
        if p.nonlinearity is not None:
            fns.append((p.nonlinearity, 2))
        for fn, nargs in fns:
            jf = numba.njit(fn)
            args = (0.3, 0.1)[:nargs]
            np.testing.assert_allclose(jf(*args), fn(*args), rtol=1e-15, atol=0)


@pytest.mark.slow
def test_sympy_derivation_matches_catalogue():
    """Re-derive f (and H) of the constructed problems with SymPy and compare (rtol 1e-12)."""
    import make_problems
    import sympy as sp

    derived = make_problems.derivations()
    t_sym = make_problems.t
    for name, exprs in derived.items():
        cands = [p for n, p in PROBLEMS.items() if n == name or n.startswith(name + "_")]
        assert cands, name
        for p in cands:
            tt = p.t0 + (p.t_end - p.t0) * np.array([0.1, 0.37, 0.5, 0.81, 1.0])
            for key, expr in exprs.items():
                fn = sp.lambdify(t_sym, expr, modules="numpy")
                if key == "y":
                    ours, mask = p.exact(tt), slice(None)
                elif key == "H":
                    ours, mask = p.history_h(tt), slice(None)
                elif key == "f":
                    ours, mask = p.f(tt), slice(None)
                elif key == "f_early":
                    ours, mask = p.f(tt), tt <= -1.0
                elif key == "f_late":
                    ours, mask = p.f(tt), tt >= -1.0
                else:  # pragma: no cover
                    raise AssertionError(key)
                theirs = np.array([np.asarray(fn(x), dtype=complex).ravel() for x in tt])
                ours = np.asarray(ours, dtype=complex).reshape(tt.size, -1)
                np.testing.assert_allclose(
                    ours[mask], theirs[mask], rtol=1e-12, atol=1e-13, err_msg=f"{name}:{key}"
                )
