"""The front door: :func:`solve_volterra`."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from . import _convolution, _expsum, _general, _jit
from .history import History, HistoryError
from .kernels import Convolution, Damped, ExpSum, Kernel, Piecewise, as_kernel
from .result import VolterraResult
from .weights import ORDERS

__all__ = ["solve_volterra", "METHODS"]

#: method name -> order of convergence
METHODS: dict[str, int] = {"trapezoidal": 2, "gregory4": 4, "gregory6": 6, "gregory8": 8}
_DEFAULT_METHOD = "gregory6"
_PATHS = ("auto", "direct", "fast")


@_jit.with_vectorized
def solve_volterra(
    kernel: Kernel | Callable,
    f: Callable | np.ndarray,
    t: np.ndarray,
    *,
    method: str = "auto",
    nonlinearity: Callable | None = None,
    history: History | None = None,
    error_estimate: bool = True,
    tol: float | None = None,
    path: str = "auto",
    vectorized: bool | None = None,
) -> VolterraResult:
    r"""Solve a Volterra integral equation of the second kind on a uniform grid.

    .. math:: y(t) = f(t) + H(t) + \int_{t_0}^{t} K(t, s)\, G(s, y(s))\, ds,

    with ``G(s, y) = y`` unless ``nonlinearity`` is given, and ``H`` the
    history term (the integral over ``s < t0``, see :class:`History`).

    Parameters
    ----------
    kernel
        A function ``k(t, s)`` (see ``vectorized``; float, complex or
        ``(d, d)`` array for systems) or a :mod:`solver.kernels` object
        declaring structure (``Convolution``, ``ExpSum``, ``Piecewise``).
    f
        A function ``f(t)`` (vectorised or not) or the values on the grid,
        shape ``(N,)`` or ``(N, d)``.
    t
        Increasing grid; ``t[0]`` is the lower limit ``t0``. Uniform grids use
        Gregory rules (and the fast paths); a non-uniform (e.g. graded) grid
        uses cell-by-cell interpolatory product integration of the same
        order (O(N^2), or O(N x window) for :class:`~solver.kernels.Damped`
        kernels). Breakpoints need a uniform grid.
    method
        ``"trapezoidal"`` (order 2), ``"gregory4"``, ``"gregory6"`` or
        ``"gregory8"`` (Gregory rules with Lagrange starting blocks, orders
        4, 6, 8), or ``"auto"`` (= ``"gregory6"``).
    nonlinearity
        ``G(s, y)``; each step is then solved with Newton's method.
    history
        A :class:`History`: the solution before ``t0`` or its contribution.
    error_estimate
        Compute a Richardson error estimate (one more solve on every other
        grid point, about 25% more work on the direct path).
    tol
        If given, ``success`` is False when the largest error estimate
        exceeds it.
    path
        ``"auto"`` uses the fastest algorithm the kernel's structure allows,
        ``"direct"`` forces the O(N^2) path, ``"fast"`` requires a fast path.
    vectorized
        Whether the user's functions (kernel functions, ``f``, breakpoints,
        ``History`` functions, and ``nonlinearity`` where a history is
        integrated) accept NumPy arrays, as in :func:`scipy.integrate.solve_ivp`;
        on arrays they return the values with the point axis first or last
        (``nonlinearity`` gets ``y`` as ``(d, n)`` for systems). ``None``
        detects it: a function that gives the same values on an array as
        point by point is evaluated with NumPy and compiles nothing; kernel
        functions and ``History.y`` that cannot take arrays are compiled with
        Numba (once per function object), other functions called point by
        point. ``True`` trusts it (a wrong output shape is a ValueError naming
        the function); ``False`` evaluates point by point, compiled where
        Numba can.

    Returns
    -------
    VolterraResult
        With ``t``, ``y``, ``error_estimate``, ``method``, ``order``,
        ``success``, ``message`` and ``stats``.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments; the message names the argument.
    """
    start = time.perf_counter()
    t, uniform = _check_grid(t, allow_nonuniform=True)
    method, order = _check_method(method)
    if path not in _PATHS:
        raise ValueError(f"path must be one of {_PATHS}, got {path!r}")
    kernel = as_kernel(kernel)
    if nonlinearity is not None and not callable(nonlinearity):
        raise TypeError("nonlinearity must be a function G(s, y)")
    if history is not None and not isinstance(history, History):
        raise TypeError("history must be a solver.History (History(y=...) or contribution=...)")
    if tol is not None and not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    if t.size < order:
        raise ValueError(f"t: method {method!r} needs at least {order} grid points, got {t.size}")

    fvals = _f_on_grid(f, t)
    vshape, dtype = _shape_and_dtype(kernel, t, fvals)
    fvals = fvals.astype(dtype, copy=False)

    stats: dict = {}
    H = np.zeros_like(fvals)
    Herr = np.zeros(fvals.shape)
    if history is not None:
        try:
            H, Herr, hs = history.evaluate(kernel, t, vshape, dtype, nonlinearity)
        except HistoryError as exc:
            return _failed(t, fvals, method, order, str(exc), stats)
        stats.update(hs)
        if np.iscomplexobj(H) and np.any(H.imag != 0):
            dtype = np.complex128  # a complex history makes the problem complex
        H = H.astype(np.result_type(H, dtype), copy=False)
        if np.dtype(dtype).kind != "c":
            H = H.real
    r = (fvals + H).astype(dtype, copy=False)

    fast = _fast_path(kernel, t, nonlinearity, vshape, path) if uniform else None
    if not uniform and path == "fast":
        raise ValueError("path='fast' needs a uniform grid t")
    stats["path"] = fast or ("direct" if uniform and not isinstance(kernel, Damped) else "cells")

    def run(tt, rr):
        if fast == "expsum" and (
            not isinstance(kernel, Piecewise) or _expsum.breakpoints_on_grid(kernel, tt) is not None
        ):
            return _expsum.solve(kernel, tt, rr, order, dtype)
        if fast == "convolution":
            return _convolution.solve(kernel, tt, rr, order, dtype)
        disc = _general.make_discretisation(kernel, tt, order, vshape, dtype, uniform=uniform)
        if nonlinearity is None:
            return _general.solve_linear(disc, rr)
        return _general.solve_nonlinear(disc, rr, nonlinearity)

    try:
        y, s1 = run(t, r)
    except FloatingPointError as exc:
        raise ValueError(str(exc)) from None
    except (ArithmeticError, np.linalg.LinAlgError) as exc:
        return _failed(t, fvals, method, order, str(exc), stats)
    stats.update(s1)

    message = "solved"
    success = True
    if error_estimate:
        if t.size >= 2 * order + 1:
            # Richardson: the same method on every other grid point
            try:
                yc, _ = run(t[::2], r[::2])
            except (ArithmeticError, np.linalg.LinAlgError) as exc:
                yc = None
                message = f"solved; no error estimate (coarse solve failed: {exc})"
            est = _richardson(y, yc, order) if yc is not None else np.full(y.shape, np.inf)
        else:
            # too few points for Richardson: compare with the trapezoidal rule on the same
            # grid (an over-estimate: the error of the lower-order solution)
            if order == 2:
                raise ValueError(
                    f"t: an error estimate with method 'trapezoidal' needs at least 5 grid "
                    f"points, got {t.size} (or pass error_estimate=False)"
                )
            disc_lo = _general.make_discretisation(kernel, t, 2, vshape, dtype, uniform=uniform)
            try:
                if nonlinearity is None:
                    ylo, _ = _general.solve_linear(disc_lo, r)
                else:
                    ylo, _ = _general.solve_nonlinear(disc_lo, r, nonlinearity)
                est = np.abs(y - ylo)
                message = "solved; error estimate from the trapezoidal rule (grid too short)"
            except (ArithmeticError, np.linalg.LinAlgError) as exc:
                est = np.full(y.shape, np.inf)
                message = f"solved; no error estimate ({exc})"
        est = est + Herr + _roundoff_floor(y)
    else:
        est = np.full(y.shape, np.nan)
    if not np.all(np.isfinite(y)):
        success = False
        message = "the solution overflowed (NaN or inf); the kernel may be too large for this grid"
    elif tol is not None:
        worst = float(np.nanmax(est)) if np.any(np.isfinite(est)) else np.inf
        if not worst <= tol:
            success = False
            message = f"error estimate {worst:.3g} exceeds tol={tol:.3g}: refine the grid"
    stats["seconds"] = time.perf_counter() - start
    return VolterraResult(t, y, est, method, order, success, message, stats)


def _richardson(y, yc, order):
    """|y_h − y_2h|/(2^p − 1) at the even points; each odd point gets the larger neighbour."""
    diff = np.abs(y[::2] - yc) / (2.0**order - 1.0)
    est = np.empty(y.shape)
    est[::2] = diff
    n_odd = est[1::2].shape[0]
    right = np.concatenate([diff[1:], diff[-1:]])[:n_odd]
    est[1::2] = np.maximum(diff[:n_odd], right)
    return est


def _roundoff_floor(y):
    """Round-off level of the solution: rounding errors of the O(N) history sums."""
    return 10.0 * np.finfo(float).eps * np.sqrt(y.shape[0]) * np.max(np.abs(y))


def _failed(t, fvals, method, order, message, stats):
    y = np.full(fvals.shape, np.nan, dtype=fvals.dtype)
    return VolterraResult(t, y, np.full(fvals.shape, np.nan), method, order, False, message, stats)


def _check_method(method: str) -> tuple[str, int]:
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, got {type(method).__name__}")
    if method == "auto":
        method = _DEFAULT_METHOD
    if method not in METHODS:
        raise ValueError(f"method must be one of {['auto', *METHODS]}, got {method!r}")
    order = METHODS[method]
    assert order in ORDERS
    return method, order


def _check_grid(t, allow_nonuniform: bool = False):
    try:
        t = np.asarray(t, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("t must be a 1-D array of numbers") from None
    if t.ndim != 1:
        raise ValueError(f"t must be 1-D, got shape {t.shape}")
    if t.size < 2:
        raise ValueError(f"t needs at least 2 points, got {t.size}")
    if not np.all(np.isfinite(t)):
        raise ValueError("t contains NaN or inf")
    d = np.diff(t)
    if np.any(d <= 0):
        raise ValueError("t must be strictly increasing")
    h = (t[-1] - t[0]) / (t.size - 1)
    uniform = bool(np.max(np.abs(d - h)) <= 1e-8 * h + 4 * np.finfo(float).eps * np.max(np.abs(t)))
    if allow_nonuniform:
        return t, uniform
    if not uniform:
        raise ValueError(
            "t must be uniformly spaced (largest deviation of a step from the mean step: "
            f"{np.max(np.abs(d - h)):.3g}); use np.linspace"
        )
    return t


def _f_on_grid(f, t) -> np.ndarray:
    N = t.size
    if callable(f):
        v = _jit.Evaluator(f, "f", value="vector")(t)
    else:
        try:
            v = np.asarray(f)
        except Exception:
            raise TypeError("f must be a function f(t) or an array of values on the grid") from None
        if v.ndim == 0 or v.shape[0] != N or v.ndim > 2:
            raise ValueError(
                f"f: an array of values must have shape ({N},) or ({N}, d) to match t, "
                f"got {v.shape}"
            )
    if v.dtype.kind not in "biufc":
        raise TypeError(f"f must give numbers, got dtype {v.dtype}")
    if not np.all(np.isfinite(v)):
        raise ValueError("f contains NaN or inf on the grid")
    return v.astype(np.complex128 if v.dtype.kind == "c" else np.float64)


def _shape_and_dtype(kernel: Kernel, t, fvals):
    k0 = np.asarray(kernel.evaluate(t[:1], t[:1]))[0]
    if not np.all(np.isfinite(k0)):
        raise ValueError(f"kernel returned NaN or inf at t=s={t[0]:.6g}")
    # a Piecewise kernel may be real on one side and complex on another: ask every piece
    # (the pieces' smooth extensions may overflow at (t0, t0); only their type matters)
    for p in kernel.pieces:
        if isinstance(p, ExpSum):
            is_c = p.is_complex
        else:
            with np.errstate(all="ignore"):
                is_c = np.iscomplexobj(p.evaluate(t[:1], t[:1]))
        if is_c:
            k0 = k0.astype(complex)
    vshape = fvals.shape[1:]
    if k0.ndim == 0 and vshape:
        raise ValueError(
            f"f has {vshape[0]} components per point but the kernel is scalar; "
            "a system needs a (d, d) kernel"
        )
    if k0.ndim == 2 and k0.shape != vshape * 2:
        raise ValueError(
            f"kernel returns shape {k0.shape} but f has shape (N,){vshape}: "
            f"they must match as (d, d) and (N, d)"
        )
    complex_ = np.iscomplexobj(k0) or np.iscomplexobj(fvals)
    return vshape, (np.complex128 if complex_ else np.float64)


def _fast_path(kernel: Kernel, t, nonlinearity, vshape, path: str) -> str | None:
    """Name of the fast path to use, or None for the direct path."""
    if path == "direct":
        return None
    pieces = kernel.pieces
    ok = nonlinearity is None and not vshape and all(isinstance(p, ExpSum) for p in pieces)
    if ok and isinstance(kernel, Piecewise):
        beta = kernel.breakpoint_values(t)
        ok = bool(np.all(np.diff(beta, axis=1) >= -1e-12 * (1 + np.abs(beta[:, 1:]))))
        ok = ok and _expsum.breakpoints_on_grid(kernel, t) is not None
        # (the Richardson solve on t[::2] falls back to the direct path by itself when the
        # breakpoints miss its grid)
    name = "expsum" if ok else None
    if isinstance(kernel, Convolution) and nonlinearity is None and not vshape:
        name = "convolution"
    if path == "fast" and name is None:
        raise ValueError(
            "path='fast': no fast path for this problem (needs a scalar linear equation with an "
            "ExpSum kernel, a Piecewise of ExpSum pieces with non-decreasing breakpoints on grid "
            "points, or a Convolution kernel)"
        )
    return name
