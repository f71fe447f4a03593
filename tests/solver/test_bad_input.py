"""Invalid input to ``solver.solve_volterra`` must be refused loudly, in one way each.

Written from the solver's contract, which separates two kinds of bad input:

* input that is wrong before any computation (a bad grid, a kernel or f of
  the wrong shape, NaN/inf values, an unknown method, a non-callable) raises
  at once: ``ValueError`` for a bad value, ``TypeError`` for a wrong type,
  with a message naming the offending argument (:func:`assert_raises`);
* an equation that turns out to be unsolvable while solving it (Newton's
  method not converging, a history integral that diverges) returns a result
  with ``success is False``, a message saying what went wrong and a solution
  that is not silently finite-looking (:func:`assert_fails`).

Each test states which of the two it expects: accepting either would let a
change of behaviour pass unnoticed.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from solver import History, kernels, solve_volterra

# NaN/inf arithmetic is the point of these tests; NumPy's warnings about it are expected.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def assert_raises(exc_type: type[Exception], call, pattern: str) -> None:
    """``call()`` must raise exactly ``exc_type`` with a message matching ``pattern``."""
    with pytest.raises(exc_type) as info:
        call()
    assert type(info.value) is exc_type, f"{type(info.value).__name__}: {info.value}"
    assert re.search(pattern, str(info.value), re.IGNORECASE), (
        f"message {str(info.value)!r} does not match {pattern!r}"
    )


def assert_fails(call, pattern: str):
    """``call()`` must return a failed result: a message matching ``pattern``, no finite y."""
    res = call()
    assert res.success is False, f"bad input accepted: {res!r}"
    assert isinstance(res.message, str) and res.message.strip(), "empty failure message"
    assert re.search(pattern, res.message, re.IGNORECASE), (
        f"message {res.message!r} does not match {pattern!r}"
    )
    assert not np.all(np.isfinite(res.y)), "failed solve returned finite-looking numbers"
    return res


def k_lag(u):
    return -u


def k_plain(t, s):
    return -(t - s)


def k_nan_far(t, s):
    """NaN once t - s > 0.5 (finite at t = s, so a check at the first point does not see it)."""
    return math.nan if t - s > 0.5 else 0.5


def k_inf_far(t, s):
    return math.inf if t - s > 0.5 else 0.5


def k_lag_nan(u):
    return math.nan if u > 0.25 else 1.0


def k_system(t, s):
    return np.array([[1.0, 0.0], [0.0, 1.0]]) * math.exp(-(t - s))


def g_explosive(s, y):
    return math.exp(50.0 * y)


def k_big(t, s):
    return 10.0 + 0.0 * (t - s)


T = np.linspace(0.0, 1.0, 41)
F = np.ones(T.size)


# ---------------------------------------------------------------------------
# the grid t
# ---------------------------------------------------------------------------

T_PATTERN = r"(^|\W)t(\W|$)|grid"


NONUNIFORM_GRIDS = [
    pytest.param(
        np.linspace(0.0, 1.0, 41)
        + 0.3 / 40 * np.sin(7.0 * np.arange(41)) * (np.arange(41) % 40 > 0),
        id="irregular",
    ),
    pytest.param(np.concatenate([np.linspace(0, 1, 21), [1.0 + 1e-3]]), id="last-step-off"),
    pytest.param(np.linspace(0.0, 1.0, 41) ** 2, id="graded"),
]


def k_kink_left(t, s):
    return 2.0 * t - s


def k_kink_right(t, s):
    return s - 2.0 * t


def beta_half(t):
    return 0.5 * t


@pytest.mark.parametrize("t", NONUNIFORM_GRIDS)
def test_nonuniform_grid_with_breakpoints(t):
    """The contract's methods need a uniform grid; with a breakpoint kernel (whose cut cells
    are defined on a uniform grid) a non-uniform grid must be refused."""
    kernel = kernels.Piecewise([k_kink_left, k_kink_right], [beta_half])
    assert_raises(
        ValueError, lambda: solve_volterra(kernel, np.ones(t.size), t), T_PATTERN + "|uniform"
    )


@pytest.mark.parametrize("t", NONUNIFORM_GRIDS)
def test_nonuniform_grid_plain_kernel(t):
    """Non-uniform grids are accepted for kernels without breakpoints, and the result must
    be right: the solution of y = 1 - ∫(t-s) y ds (y = cos t) within 10x its own error
    estimate, and within 1e-2 on these coarse grids (41 points at most on [0, 1])."""
    res = solve_volterra(k_plain, np.ones(t.size), t)
    assert res.success, res.message
    err = np.max(np.abs(res.y - np.cos(t)))
    est = np.max(res.error_estimate)
    assert np.isfinite(est), "accepted a non-uniform grid but gave no error estimate"
    assert err <= 10.0 * est + 1e-14, (err, est)
    assert err <= 1e-2, err


def test_decreasing_grid():
    t = np.linspace(1.0, 0.0, 41)
    assert_raises(
        ValueError, lambda: solve_volterra(k_plain, np.ones(t.size), t), T_PATTERN + "|increas"
    )


def test_constant_grid():
    t = np.zeros(11)
    assert_raises(ValueError, lambda: solve_volterra(k_plain, np.ones(t.size), t), T_PATTERN)


@pytest.mark.parametrize("t", [np.array([]), np.array([0.0])], ids=["empty", "one-point"])
def test_grid_too_short(t):
    assert_raises(ValueError, lambda: solve_volterra(k_plain, np.ones(t.size), t), T_PATTERN)


@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_grid_not_finite(bad):
    t = np.linspace(0.0, 1.0, 11)
    t[5] = bad
    assert_raises(ValueError, lambda: solve_volterra(k_plain, np.ones(t.size), t), T_PATTERN)


def test_grid_two_dimensional():
    t = np.linspace(0.0, 1.0, 12).reshape(3, 4)
    assert_raises(ValueError, lambda: solve_volterra(k_plain, np.ones(12), t), T_PATTERN)


# ---------------------------------------------------------------------------
# the kernel
# ---------------------------------------------------------------------------


NONFINITE_KERNELS = {
    "plain-nan": lambda: k_nan_far,
    "plain-inf": lambda: k_inf_far,
    "convolution-nan": lambda: kernels.Convolution(k_lag_nan),
}


@pytest.mark.parametrize("kernel_id", list(NONFINITE_KERNELS))
@pytest.mark.parametrize("method", ["trapezoidal", "gregory6"])
def test_kernel_not_finite(kernel_id, method):
    """A kernel that returns NaN/inf somewhere inside the domain is reported, not propagated."""
    kernel = NONFINITE_KERNELS[kernel_id]()
    assert_raises(
        ValueError, lambda: solve_volterra(kernel, F, T, method=method), r"kernel|nan|inf"
    )


def test_kernel_not_callable():
    assert_raises(TypeError, lambda: solve_volterra(3.0, F, T), r"kernel")


def test_expsum_nan_weights():
    """ExpSum with a NaN coefficient is refused at construction or at solve time."""

    def call():
        k = kernels.ExpSum(np.array([np.nan]), np.array([0.0]), np.array([1.0]))
        return solve_volterra(k, F, T)

    assert_raises(ValueError, call, r"weights|kernel|ExpSum")


def test_system_kernel_with_scalar_f():
    """A (2, 2) kernel with a scalar right-hand side is a shape mismatch."""
    assert_raises(ValueError, lambda: solve_volterra(k_system, F, T), r"kernel|(^|\W)f(\W|$)|shape")


def test_scalar_kernel_with_vector_f():
    assert_raises(
        ValueError,
        lambda: solve_volterra(k_plain, np.ones((T.size, 2)), T),
        r"kernel|(^|\W)f(\W|$)|shape",
    )


# ---------------------------------------------------------------------------
# f
# ---------------------------------------------------------------------------

F_PATTERN = r"(^|\W)f(\W|$)"


@pytest.mark.parametrize(
    "f",
    [
        pytest.param(np.ones(T.size + 1), id="too-long"),
        pytest.param(np.ones(T.size - 1), id="too-short"),
        pytest.param(np.ones((T.size, 2, 2)), id="three-dim"),
        pytest.param(np.ones((2, T.size)), id="transposed-system"),
        pytest.param(np.float64(1.0), id="zero-dim"),
    ],
)
def test_f_wrong_shape(f):
    assert_raises(ValueError, lambda: solve_volterra(k_plain, f, T), F_PATTERN)


def test_f_system_wrong_width():
    """f with 3 components for a 2x2 kernel."""
    assert_raises(
        ValueError,
        lambda: solve_volterra(k_system, np.ones((T.size, 3)), T),
        F_PATTERN + "|kernel|shape",
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_f_not_finite(bad):
    f = np.ones(T.size)
    f[7] = bad
    assert_raises(ValueError, lambda: solve_volterra(k_plain, f, T), F_PATTERN)


def test_f_function_returning_nan():
    assert_raises(
        ValueError, lambda: solve_volterra(k_plain, lambda t: np.sqrt(0.5 - t), T), F_PATTERN
    )


def test_f_not_numbers():
    assert_raises(
        TypeError, lambda: solve_volterra(k_plain, np.array(["a"] * T.size), T), F_PATTERN
    )


# ---------------------------------------------------------------------------
# method
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["simpson", "Gregory6", "", "gregory5"])
def test_unknown_method(method):
    assert_raises(ValueError, lambda: solve_volterra(k_plain, F, T, method=method), r"method")


def test_method_not_a_string():
    assert_raises(TypeError, lambda: solve_volterra(k_plain, F, T, method=6), r"method")


# ---------------------------------------------------------------------------
# nonlinearity
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["trapezoidal", "gregory4", "gregory6"])
def test_newton_does_not_converge(method):
    """G = exp(50 y) with K = 10, f = 1: the exact solution blows up at t ~ 1e-25 and the
    discrete equations have no solution, so Newton cannot converge. Must be reported, never
    returned as a finite 'solution'."""
    assert_fails(
        lambda: solve_volterra(k_big, F, T, method=method, nonlinearity=g_explosive),
        r"newton|nonlinearity|converge|overflow|nan|inf",
    )


def test_nonlinearity_returning_nan():
    def g_nan(s, y):
        return math.nan if s > 0.5 else y

    assert_raises(
        ValueError, lambda: solve_volterra(k_plain, F, T, nonlinearity=g_nan), r"nonlinearity|nan"
    )


def test_nonlinearity_not_callable():
    assert_raises(
        TypeError, lambda: solve_volterra(k_plain, F, T, nonlinearity=2.0), r"nonlinearity"
    )


# ---------------------------------------------------------------------------
# history
# ---------------------------------------------------------------------------


def test_history_wrong_type():
    assert_raises(
        TypeError, lambda: solve_volterra(k_plain, F, T, history=np.ones(T.size)), r"history"
    )


def test_history_needs_exactly_one_source():
    assert_raises(ValueError, History, r"history")
    assert_raises(ValueError, lambda: History(y=np.cos, contribution=np.ones(T.size)), r"history")


def test_history_contribution_wrong_shape():
    assert_raises(
        ValueError,
        lambda: solve_volterra(
            kernels.Convolution(k_lag), F, T, history=History(contribution=np.ones(T.size + 3))
        ),
        r"history|contribution",
    )


def test_history_contribution_not_finite():
    h = np.zeros(T.size)
    h[3] = np.nan
    assert_raises(
        ValueError,
        lambda: solve_volterra(kernels.Convolution(k_lag), F, T, history=History(contribution=h)),
        r"history|contribution",
    )


def test_history_integral_diverges():
    """K = e^{-(t-s)}, y(s) = e^{-2s} for s < 0: K y ~ e^{-s} grows as s -> -inf, the history
    integral diverges. Must be reported (not truncated silently to a finite number)."""

    def k_decay(u):
        return math.exp(-u)

    assert_fails(
        lambda: solve_volterra(
            kernels.Convolution(k_decay), F, T, history=History(y=lambda s: np.exp(-2.0 * s))
        ),
        r"history",
    )
