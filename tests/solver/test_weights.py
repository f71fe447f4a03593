"""Quadrature weights: exactness on polynomials (the defining property of each rule)."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.weights import (
    ORDERS,
    gregory_end_weights,
    gregory_weights,
    interval_weights,
    lagrange_integral_weights,
    min_gregory_n,
)


def test_classical_fourth_order_weights():
    # Linz (1985), Sec. 2.4: 3/8, 7/6, 23/24, 1, 1, ...
    np.testing.assert_allclose(gregory_end_weights(4), [3 / 8, 7 / 6, 23 / 24], rtol=0, atol=1e-15)
    np.testing.assert_allclose(gregory_end_weights(2), [0.5])


@pytest.mark.parametrize("order", ORDERS)
def test_gregory_exact_for_degree_order_minus_one(order):
    # every polynomial of degree <= order-1 is integrated exactly, for every n the rule exists;
    # checked in exact rational arithmetic so the tolerance is zero
    from solver.weights import _GREGORY_CORRECTIONS

    corr = _GREGORY_CORRECTIONS[order]
    for n in range(min_gregory_n(order), 3 * order):
        w = [Fraction(1)] * (n + 1)
        w[0] -= Fraction(1, 2)
        w[n] -= Fraction(1, 2)
        for j, c in enumerate(corr):
            w[j] += c
            w[n - j] += c
        for k in range(order):
            assert sum(wj * Fraction(j) ** k for j, wj in enumerate(w)) == Fraction(
                n ** (k + 1), k + 1
            )
        # and the floating-point version matches
        np.testing.assert_allclose(gregory_weights(n, order), [float(x) for x in w], rtol=1e-15)


@pytest.mark.parametrize("order", ORDERS)
def test_gregory_not_exact_one_degree_higher(order):
    # the order is not higher than claimed: degree `order` is not integrated exactly
    n = 3 * order
    w = gregory_weights(n, order)
    x = np.arange(n + 1.0)
    assert abs(w @ x**order - n ** (order + 1) / (order + 1)) > 1e-6


@settings(max_examples=200, deadline=None)
@given(
    order=st.sampled_from(ORDERS),
    nmax=st.integers(min_value=7, max_value=40),
    a=st.floats(min_value=0.0, max_value=1.0),
    b=st.floats(min_value=0.0, max_value=1.0),
)
def test_interval_weights_exact_on_polynomials(order, nmax, a, b):
    # cut cells and short intervals: exact for degree order-1 (stencils of `order` points);
    # tolerance: rounding in Lagrange weights with nodes up to 40 -> 1e-9 relative
    a, b = sorted((a * nmax, b * nmax))
    start, w = interval_weights(a, b, nmax, order)
    assert start >= 0 and start + w.size - 1 <= nmax
    x = np.arange(start, start + w.size, dtype=float)
    for k in range(order):
        exact = (b ** (k + 1) - a ** (k + 1)) / (k + 1)
        assert abs(w @ x**k - exact) <= 1e-9 * max(1.0, abs(exact), nmax ** (k + 1))


def test_lagrange_weights_sum_to_length():
    w = lagrange_integral_weights(np.arange(6.0), 1.3, 2.7)
    assert abs(w.sum() - 1.4) < 1e-14


def test_unknown_order():
    with pytest.raises(ValueError, match="order"):
        gregory_weights(10, 5)
