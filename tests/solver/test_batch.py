"""solve_many: independent problems on a thread pool give the same numbers as one by one."""

import numpy as np
import pytest

from solver import kernels, solve_many, solve_volterra


def test_same_as_sequential():
    t = np.linspace(0, 10, 2001)
    problems = [
        dict(kernel=kernels.ExpSum([a], [0.0], [1.0]), f=np.cos(t)) for a in (0.1, 0.4, 0.7)
    ] + [dict(kernel=lambda t, s: -(t - s), f=np.ones_like(t))]
    many = solve_many(problems, t=t, workers=2)
    for p, r in zip(problems, many, strict=True):
        one = solve_volterra(p["kernel"], p["f"], t)
        np.testing.assert_array_equal(r.y, one.y)


def test_missing_argument():
    with pytest.raises(ValueError, match="missing"):
        solve_many([dict(kernel=lambda t, s: 0.0)])
