"""``Resolvent.apply``: y = f + ∫ R f reproduces exact solutions with the full order in every row.

The rows n < order − 2 of a grid have too few points for the Gregory rule of
the method's order; ``apply`` integrates them on the refined start rows of
the resolvent against f interpolated there.  Checked against the exact
solutions of catalogue problems (scalar real, complex, a 2 × 2 system) on
grids with n, 2n, 4n intervals:

* the observed order of the largest error over the first rows
  (n = 1 .. order − 3) must be at least order − 0.3 (an integral over a
  length O(h) with an O(h^p) integrand error is O(h^{p+1}); a lower-order
  rule in these rows -- the trapezoidal rule gives O(h^3) -- fails this);
* the observed order of the largest error over all rows must be within
  ±0.3 of the order, and no first row may be worse than the worst row.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from problems import PROBLEMS

import solver
from solver import resolvent

ORDER_SLACK = 0.3
METHODS = {"gregory4": 4, "gregory6": 6}
CASES = [
    # (problem, method, coarsest number of intervals): all three grids in the asymptotic
    # range with errors far above rounding (measured orders over all rows: 3.7-4.0 for
    # gregory4, 5.8-6.0 for gregory6; the system at n = 40 gives 5.65, hence 60)
    ("conv_cos", "gregory4", 40),
    ("conv_cos", "gregory6", 40),
    ("complex_rotation", "gregory4", 40),
    ("complex_rotation", "gregory6", 40),
    ("system2_conv", "gregory6", 60),
]


@cache
def _kernel(name: str):
    p = PROBLEMS[name]
    k = p.kernel()
    return solver.kernels.General(k) if p.kernel_kind == "function" else k


def _row_errors(name: str, method: str, n: int) -> np.ndarray:
    p = PROBLEMS[name]
    t = p.grid(n)
    y = resolvent(_kernel(name), t, method=method).apply(p.f(t))
    return np.abs(y - p.exact(t)).reshape(t.size, -1).max(axis=1)


@pytest.mark.parametrize(("name", "method", "n0"), CASES)
def test_apply_has_full_order_in_every_row(name, method, n0):
    order = METHODS[method]
    errs = [_row_errors(name, method, n) for n in (n0, 2 * n0, 4 * n0)]
    first = np.array([e[1 : order - 2].max() for e in errs])
    worst = np.array([e.max() for e in errs])
    first_orders = np.log2(first[:-1] / first[1:])
    orders = np.log2(worst[:-1] / worst[1:])
    assert np.all(first_orders >= order - ORDER_SLACK), (first, first_orders)
    assert np.all(np.abs(orders - order) <= ORDER_SLACK), (worst, orders)
    assert np.all(first <= worst)


def test_apply_on_a_grid_shorter_than_the_rule():
    """Three points with gregory6: every row is a start row; y = cos t of y = 1 − ∫(t−s)y
    within 1e-6 on [0, 0.2] (f interpolated by a parabola: error O(h^3) ~ 1e-3 h)."""
    t = np.linspace(0.0, 0.2, 3)
    res = resolvent(lambda t, s: -(t - s), t, method="gregory6")
    assert len(res.start_rows) == 2 and res.start_refine == 4
    np.testing.assert_allclose(res.apply(np.ones(3)), np.cos(t), rtol=0, atol=1e-6)


def test_apply_refuses_f_of_the_wrong_length():
    res = resolvent(lambda t, s: -(t - s), np.linspace(0.0, 1.0, 11), method="gregory4")
    with pytest.raises(ValueError, match=r"f must have 11 rows"):
        res.apply(np.ones(10))
