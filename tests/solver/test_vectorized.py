"""How user functions are evaluated: with NumPy when they accept arrays, else point by point.

* The catalogue solved with every function evaluated on arrays equals the
  catalogue solved with every function compiled (or called point by point),
  to rounding.
* A freshly created function that accepts arrays triggers no Numba
  compilation (counted with Numba's compile events, not timed), on every path.
* Constants returned for array input are broadcast; reductions and results
  that disagree with the point-by-point values are not mistaken for
  vectorised functions; functions that cannot take arrays fall back.
* ``vectorized=True`` with an output of the wrong shape is a ValueError
  naming the function and the shapes.
* Errors raised inside the user's function reach the user once: they are
  not caught and the function is not called again.
"""

from __future__ import annotations

import importlib.util
import math
import types
from fractions import Fraction
from pathlib import Path

import numba
import numpy as np
import pytest
from numba.core import event
from problems import PROBLEMS, Problem

from solver import History, kernels, solve_volterra

EPS = np.finfo(float).eps
# evaluation on arrays against compiled evaluation: the kernel values differ by a few units
# in the last place at most (NumPy's vectorised loops against libm called from compiled
# code), and the solves by that rounding propagated through at most a few hundred steps:
# observed <= 12 eps max|y| on the catalogue; bounded by 100 eps max(1, max|y|)
ROUNDING = 100 * EPS


def assert_equal_to_rounding(y, ref):
    assert np.max(np.abs(y - ref)) <= ROUNDING * max(1.0, float(np.max(np.abs(ref))))


def compilations(fn, *args, **kwargs) -> tuple[int, object]:
    """Number of Numba compilations while running ``fn(*args, **kwargs)``, and its result."""
    with event.install_recorder("numba:compile") as rec:
        out = fn(*args, **kwargs)
    return sum(1 for _, ev in rec.buffer if ev.is_start), out


def ones(t):
    return np.ones_like(t)


# --- the catalogue, on arrays and compiled -------------------------------------------------


def numpy_twin(fn):
    """``fn`` with the same body, ``math`` replaced by ``numpy`` (so that it accepts arrays)."""
    if fn is None or "math" not in fn.__code__.co_names:
        return fn
    g = dict(fn.__globals__, math=np)
    return types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)


def twin_kernel(p: Problem):
    """The problem's kernel built from NumPy twins of its functions (fresh objects)."""
    data = p.kernel_data
    if p.kernel_kind == "function":
        return kernels.General(numpy_twin(data[0]))
    if p.kernel_kind == "convolution":
        return kernels.Convolution(numpy_twin(data[0]))
    if p.kernel_kind == "piecewise":
        pieces, betas = data
        return kernels.Piecewise([numpy_twin(k) for k in pieces], [numpy_twin(b) for b in betas])
    return p.kernel()  # ExpSum: no user function


def solve_twin(p: Problem, vectorized):
    t = p.grid(p.grids["gregory6"][-1])
    K = twin_kernel(p)
    res = solve_volterra(
        K,
        p.f,
        t,
        nonlinearity=numpy_twin(p.nonlinearity),
        history=p.history(),
        error_estimate=False,
        vectorized=vectorized,
    )
    return res, K


# value shapes the NumPy twins cannot produce on arrays: np.array([[array, 0.5], ...]) of
# arrays and numbers is ragged (a ValueError), so these fall back to Numba
_RAGGED = {"system2_nonconv", "system2_conv"}


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_catalogue_on_arrays_equals_compiled(name):
    p = PROBLEMS[name]
    res_np, K = solve_twin(p, None)
    res_nb, K_nb = solve_twin(p, False)
    assert res_np.success and res_nb.success
    for k in K.pieces:
        ev = getattr(k, "_eval", None)
        if ev is not None:
            with_detection = "numba" if name in _RAGGED else "numpy"
            assert ev.mode == with_detection
    assert_equal_to_rounding(res_np.y, res_nb.y)


def test_system_kernel_with_the_point_axis_last():
    # the system of the catalogue with a kernel that builds (2, 2, n) arrays: evaluated
    # with NumPy, it equals the compiled scalar kernel to rounding (ROUNDING)
    p = PROBLEMS["system2_nonconv"]

    def k(t, s):
        return np.array(
            [[np.exp(-(t - s)), -0.5 * t * s], [np.ones_like(t), np.cos(t - s)]], dtype=float
        )

    t = p.grid(p.grids["gregory6"][-1])
    K = kernels.General(k)
    res = solve_volterra(K, p.f, t, error_estimate=False)
    assert K._eval.mode == "numpy"
    ref = solve_volterra(p.kernel(), p.f, t, error_estimate=False, vectorized=False)
    assert_equal_to_rounding(res.y, ref.y)


# --- fresh functions compile nothing -------------------------------------------------------


def _load_benchmark():
    """``validation/bench_startup.py``: its problems are the ones timed there."""
    path = Path(__file__).resolve().parents[2] / "validation" / "bench_startup.py"
    spec = importlib.util.spec_from_file_location("bench_startup", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _load_benchmark()
# every path of the benchmark whose functions accept arrays
PATHS = [p for p in BENCH.FRESH_PATHS if "scalar only" not in p]


def _fresh_problem(path: str) -> dict:
    """A problem of the given path built from functions created now."""
    if path == "nonlinear G(s, y) with a history":
        return dict(
            kernel=kernels.Convolution(lambda u: 0.5 * np.exp(-u)),
            f=lambda t: 0.1 * np.ones_like(t),
            nonlinearity=lambda s, y: y * y,
            history=History(y=lambda s: 0.1 * np.exp(s)),
        )
    return BENCH.fresh_problem(path)


@pytest.mark.parametrize("path", [*PATHS, "nonlinear G(s, y) with a history"])
def test_fresh_vectorisable_functions_compile_nothing(path):
    t = np.linspace(0.0, 2.0, 101)
    solve_volterra(t=t, **_fresh_problem(path))  # the package's own cores, loaded once
    n, res = compilations(solve_volterra, t=t, **_fresh_problem(path))
    assert res.success
    assert n == 0
    # the old way: every new function object compiled again
    n_old, res_old = compilations(solve_volterra, t=t, vectorized=False, **_fresh_problem(path))
    assert n_old > 0
    assert_equal_to_rounding(res.y, res_old.y)


def test_scalar_only_function_compiles_once_per_function_object():
    # math.exp cannot take arrays: compiled with Numba, cached per function object
    def k(t, s):
        return math.exp(-(t - s))

    t = np.linspace(0.0, 1.0, 41)
    n1, r1 = compilations(solve_volterra, k, ones, t)
    n2, r2 = compilations(solve_volterra, k, ones, t)
    assert n1 > 0 and n2 == 0
    K = kernels.General(k)
    solve_volterra(K, ones, t)
    assert K._eval.mode == "numba"
    # y = 1 + ∫_0^t e^{-(t-s)} y ds has y = 1 + t; gregory6 on 41 points: error ~1e-11
    np.testing.assert_allclose(r1.y, 1.0 + t, atol=1e-9)


# --- detection -----------------------------------------------------------------------------


def test_constants_are_broadcast():
    # K = 1/2 and f = 1 returned as scalars for array input: y = exp(t/2)
    t = np.linspace(0.0, 2.0, 81)
    K = kernels.General(lambda t, s: 0.5)
    res = solve_volterra(K, lambda t: 1.0, t)
    assert K._eval.mode == "numpy"
    # gregory6 with h = 1/40 on exp(t/2): truncation error ~1e-12
    np.testing.assert_allclose(res.y, np.exp(t / 2), rtol=1e-10)
    res_t = solve_volterra(lambda t, s: 0.5, lambda t: 1.0, t, vectorized=True)
    assert_equal_to_rounding(res_t.y, res.y)


def test_constant_breakpoint_is_broadcast():
    # K = 1 for s < 1/2, 0 beyond, on [1/2, 1]: the breakpoint lies at t0, so only the
    # zero piece is active and y = f exactly
    t = np.linspace(0.5, 1.0, 41)
    K = kernels.Piecewise([lambda t, s: 1.0 + 0 * s, lambda t, s: 0.0 * s], [lambda t: 0.5])
    res = solve_volterra(K, np.cos, t)
    np.testing.assert_allclose(res.y, np.cos(t), rtol=0, atol=1e-14)


def test_reduction_is_not_taken_for_a_constant():
    # np.max(t) is t for a single point but one number for an array: with K = 0, y = f = t
    t = np.linspace(0.0, 1.0, 21)
    res = solve_volterra(lambda t, s: 0.0, lambda t: np.max(t), t)
    np.testing.assert_array_equal(res.y, t)


def test_array_result_that_disagrees_is_not_used():
    # t - mean(t) is 0 point by point but not on an array: y = f = 0
    t = np.linspace(0.0, 1.0, 21)
    res = solve_volterra(lambda t, s: 0.0, lambda t: t - np.mean(t), t)
    np.testing.assert_array_equal(res.y, 0.0)


def test_kernel_with_a_branch_falls_back_to_numba():
    # `if` on an array is a ValueError: compiled. K = t - s for t >= 0 (everywhere on the
    # grid) and y = 1 + ∫(t - s) y ds has y = cosh t; gregory6, h = 1/40: error ~1e-12
    def k(t, s):
        if t >= 0.0:
            return t - s
        return s - t

    t = np.linspace(0.0, 1.0, 41)
    K = kernels.General(k)
    res = solve_volterra(K, ones, t)
    assert K._eval.mode == "numba"
    np.testing.assert_allclose(res.y, np.cosh(t), atol=1e-10)


def test_uncompilable_scalar_function_runs_in_python_with_a_warning():
    # Fraction(u) is neither vectorisable nor compilable: a Python loop, and a warning
    def k(u):
        return -float(Fraction(u))

    t = np.linspace(0.0, 1.0, 21)
    K = kernels.Convolution(k)
    with pytest.warns(UserWarning, match="Numba could not compile"):
        res = solve_volterra(K, ones, t)
    assert K._eval.mode == "python"
    # y = 1 - ∫(t - s) y ds: y = cos t; gregory6 with h = 1/20: error ~1e-9
    np.testing.assert_allclose(res.y, np.cos(t), atol=1e-8)


def test_jitted_functions():
    # a jitted kernel is used as it is (compiled loop); a jitted breakpoint that accepts
    # arrays is called on arrays. Same results as plain NumPy functions, to rounding
    k = numba.njit(lambda t, s: 0.5 * np.cos(t - s))
    beta = numba.njit(lambda t: 0.5 * t)
    t = np.linspace(0.0, 2.0, 41)
    K = kernels.Piecewise([k, lambda t, s: -0.3 + 0.0 * s], [beta])
    res = solve_volterra(K, ones, t, path="direct")
    assert K.pieces[0]._eval.mode == "numba" and K._beta[0].mode == "numpy"
    K_np = kernels.Piecewise(
        [lambda t, s: 0.5 * np.cos(t - s), lambda t, s: -0.3 + 0.0 * s], [lambda t: 0.5 * t]
    )
    assert_equal_to_rounding(res.y, solve_volterra(K_np, ones, t, path="direct").y)


def test_vectorized_false_compiles_a_vectorisable_kernel():
    t = np.linspace(0.0, 1.0, 21)
    K = kernels.General(lambda t, s: -(t - s))
    solve_volterra(K, ones, t, vectorized=False)
    assert K._eval.mode == "numba"


def test_vectorised_nonlinearity_in_a_system_history():
    # G(s, y) for a system gets y with the components first, shape (d, n), as in
    # scipy.integrate.solve_ivp; the result equals point-by-point evaluation
    def K(u):
        return np.array([[0.5 * np.exp(-u), 0.0], [0.0, 0.25 * np.exp(-u)]])

    def G(s, y):
        return np.array([y[1] * y[1], np.sin(y[0])])

    t = np.linspace(0.0, 1.0, 21)
    kw = dict(
        kernel=kernels.Convolution(K),
        f=lambda t: np.stack([np.ones_like(t), 0.5 * np.ones_like(t)], axis=-1),
        t=t,
        nonlinearity=G,
        # (2, n) on arrays: the point axis last
        history=History(y=lambda s: np.array([np.exp(s), np.exp(2 * s)])),
        error_estimate=False,
    )
    res = solve_volterra(vectorized=None, **kw)
    ref = solve_volterra(vectorized=False, **kw)
    assert_equal_to_rounding(res.y, ref.y)


# --- vectorized=True: trust, check the shape -----------------------------------------------


@pytest.mark.parametrize(
    "kw, what",
    [
        (dict(kernel=lambda t, s: np.ones(3)), "kernel"),
        (dict(f=lambda t: np.ones((7, 3))), "f"),
        (
            dict(
                kernel=kernels.Piecewise(
                    [lambda t, s: 0 * s, lambda t, s: 0 * s], [lambda t: np.ones(2)]
                )
            ),
            "breakpoint",
        ),
        (dict(history=History(y=lambda s: np.ones(2))), "History.y"),
        (dict(history=History(contribution=lambda t: np.ones(3))), "History.contribution"),
    ],
)
def test_wrong_shape_with_vectorized_true(kw, what):
    args = dict(kernel=lambda t, s: 0.5 * np.exp(-(t - s)), f=lambda t: np.ones_like(t))
    args.update(kw)
    t = np.linspace(-1.0 if "breakpoint" == what else 0.0, 1.0, 21)
    with pytest.raises(ValueError, match=rf"{what}.*vectorized=True.*returned shape \(\d+,"):
        solve_volterra(t=t, vectorized=True, **args)


def test_vectorized_true_trusts_the_function():
    # a TypeError raised on arrays is the user's error then, not a reason to fall back
    def k(t, s):
        return math.exp(-(t - s))

    with pytest.raises(TypeError):
        solve_volterra(k, ones, np.linspace(0, 1, 11), vectorized=True)


@pytest.mark.parametrize("bad", ["yes", 1, 0.0])
def test_vectorized_must_be_none_true_or_false(bad):
    with pytest.raises(TypeError, match="vectorized must be None, True or False"):
        solve_volterra(lambda t, s: 0 * s, ones, np.linspace(0, 1, 11), vectorized=bad)


# --- errors inside the user's function reach the user once ---------------------------------


class Raiser:
    """A function of one or two points that raises ``exc`` on arrays (or everywhere)."""

    def __init__(self, exc, value, on_arrays_only=True):
        self.exc, self.value, self.on_arrays_only = exc, value, on_arrays_only
        self.calls = 0
        self.array_calls = 0

    def __call__(self, *x):
        self.calls += 1
        self.array_calls += np.ndim(x[0]) > 0
        if not self.on_arrays_only or np.ndim(x[0]) > 0:
            raise self.exc("raised by the user's function")
        return self.value(*x)


def _problem_with(role: str, fn):
    kw = dict(kernel=kernels.Convolution(lambda u: 0.5 * np.exp(-u)), f=ones)
    if role == "kernel":
        kw["kernel"] = fn
    elif role == "convolution":
        kw["kernel"] = kernels.Convolution(fn)
    elif role == "f":
        kw["f"] = fn
    elif role == "breakpoint":
        kw["kernel"] = kernels.Piecewise([lambda t, s: 0.1 + 0 * s, lambda t, s: 0 * s], [fn])
    elif role == "history":
        kw["history"] = History(y=fn)
    elif role == "nonlinearity":
        kw["nonlinearity"] = fn
        kw["history"] = History(y=lambda s: np.exp(s))
    return kw


_VALUES = {
    "kernel": lambda t, s: 0.5 * np.exp(-(t - s)),
    "convolution": lambda u: 0.5 * np.exp(-u),
    "f": lambda t: np.ones_like(t),
    "breakpoint": lambda t: 0.5 * t,
    "history": lambda s: np.exp(s),
    "nonlinearity": lambda s, y: y,
}


def assert_reaches_user(exc, call, text="raised by the user's function"):
    """``call()`` raises ``exc`` with ``text``, or (arithmetic errors raised while stepping)
    returns a failed result whose message is the error's."""
    try:
        res = call()
    except exc as e:
        assert text in str(e)
        return
    assert issubclass(exc, ArithmeticError), "the error was swallowed"
    assert not res.success and text in res.message


@pytest.mark.parametrize("exc", [ZeroDivisionError, NameError])
@pytest.mark.parametrize("role", list(_VALUES))
def test_error_on_arrays_propagates_once(role, exc):
    # the function works point by point but raises on arrays (a bug in its array branch):
    # the error reaches the user after one call on arrays, without a point-by-point retry
    fn = Raiser(exc, _VALUES[role])
    t = np.linspace(-1.0 if role == "breakpoint" else 0.0, 1.0, 21)
    assert_reaches_user(exc, lambda: solve_volterra(t=t, **_problem_with(role, fn)))
    assert fn.array_calls == 1
    # raising everywhere: the very first call raises, and nothing more is called
    fn = Raiser(exc, _VALUES[role], on_arrays_only=False)
    assert_reaches_user(exc, lambda: solve_volterra(t=t, **_problem_with(role, fn)))
    assert fn.calls == 1


def test_zero_division_in_a_compiled_kernel_propagates():
    # compiled code raises ZeroDivisionError as Python does; it is not caught. The grid is
    # in eighths, so that t - s - 1/2 is exactly 0 on it
    t = np.linspace(0.0, 1.0, 9)
    assert_reaches_user(
        ZeroDivisionError,
        lambda: solve_volterra(lambda t, s: 1.0 / (t - s - 0.5), ones, t, vectorized=False),
        text="division by zero",
    )
