"""The front door: :func:`solve_volterra`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from . import _jit
from .history import History, HistoryError
from .kernels import Convolution, Damped, ExpSum, Kernel, Piecewise, as_kernel
from .mesh import is_uniform, refine
from .result import SolveStats, VolterraResult
from .weights import ORDERS

__all__ = ["solve_volterra", "check_method", "check_tolerances", "METHODS", "RTOL_FLOOR"]

#: method name -> order of convergence
METHODS: dict[str, int] = {"trapezoidal": 2, "gregory4": 4, "gregory6": 6, "gregory8": 8}
_DEFAULT_METHOD = "gregory6"
_PATHS = ("auto", "direct", "fast")
#: smallest meaningful relative tolerance (machine epsilon)
RTOL_FLOOR: float = float(np.finfo(float).eps)
#: default limit on the points of a refined grid
DEFAULT_MAX_POINTS: int = 10_000_001


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
    rtol: float | None = None,
    atol: float | None = None,
    max_points: int | None = None,
    first_refinement: int | None = None,
    conditioning: float | None = None,
    path: str = "auto",
    vectorized: bool | None = None,
) -> VolterraResult:
    r"""Solve a Volterra integral equation of the second kind on a grid.

    .. math:: y(t) = f(t) + H(t) + \int_{t_0}^{t} K(t, s)\, G(s, y(s))\, ds,

    with ``G(s, y) = y`` unless ``nonlinearity`` is given, and ``H`` the
    history term (the integral over ``s < t0``, see :class:`History`).

    Parameters
    ----------
    kernel
        A function ``k(t, s)`` (see ``vectorized``; float, complex or
        ``(d, d)`` array for systems) or a :mod:`solver.kernels` object
        declaring structure (``Convolution``, ``ExpSum``, ``Piecewise``,
        ``Damped``).
    f
        A function ``f(t)`` (vectorised or not) or the values on the grid,
        shape ``(N,)`` or ``(N, d)`` (a function when ``rtol``/``atol`` is
        given: the solver evaluates it on refined grids).
    t
        Increasing grid; ``t[0]`` is the lower limit ``t0``. The solution is
        returned at these points. Uniform grids use Gregory rules (and the
        fast paths); non-uniform grids (e.g. graded) use cell-by-cell
        exponential product integration of the same order: O(N) running sums
        for :class:`~solver.kernels.ExpSum` kernels (with breakpoints on grid
        points), O(N^2) otherwise (O(N x window) for
        :class:`~solver.kernels.Damped` kernels).
    method
        ``"trapezoidal"`` (order 2), ``"gregory4"``, ``"gregory6"`` or
        ``"gregory8"`` (Gregory rules with Lagrange starting blocks, orders
        4, 6, 8), or ``"auto"`` (= ``"gregory6"``).
    nonlinearity
        ``G(s, y)``; each step is then solved with Newton's method.
    history
        A :class:`History`: the solution before ``t0`` or its contribution.
    error_estimate
        Without a tolerance: compute a Richardson error estimate (one more
        solve on every other grid point, about 25% more work on the direct
        path).
    rtol, atol
        Tolerances: numbers, or arrays with one value per point of ``t``
        (e.g. looser far from where the solution matters). When either is
        given, the solver refines the grid
        internally (every cell split into ``m`` equal cells, ``m`` = 1, then
        multiples of 4) until the Richardson estimate over three nested grids
        (``m``, ``m/2``, ``m/4``), trusted only in the asymptotic range of
        the method, is below ``atol + rtol |y|`` at every point of ``t``;
        ``y`` is returned on ``t``. ``status`` is 1 if that cannot be reached
        (rounding floor, or more than ``max_points`` points needed). ``rtol``
        in ``[2.2e-16, 1)`` (below machine epsilon nothing is reachable),
        ``atol >= 0``; default 0 for the one not given.
    max_points
        Largest grid the refinement may use (default 10 000 001).
    first_refinement
        Refinement factor of the first attempt (1 or a multiple of 4); default
        1 if ``t`` can host the three nested grids (``len(t) - 1`` divisible by
        4), else 4. A grid known to be too coarse saves an attempt with 4.
    conditioning
        With ``rtol``/``atol``: how much the equation amplifies rounding errors
        (for a linear equation whose kernel mass is close to 1, about
        ``1/(1 - mass)``), at least 1 (default 1). Differences between
        refinements below ``conditioning · eps · |y|`` (times 10) are then
        taken for rounding noise: they do not count as a refinement that
        stalls, and refining stops when every difference is at that level.
        The estimate at a point so excused is at least ``conditioning · eps ·
        |y|``, so a value whose rounding exceeds the tolerance cannot end with
        status 0. Do not overstate it: a slowly converging error whose
        differences lie below the noise level is then taken for noise (an
        error O(h^0.1) with ``conditioning=1e9`` at ``rtol=1e-5``: status 0, the
        true error 2.7x the tolerance and 16x the estimate).
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
        ``status`` (0 solved and tolerance reached, 1 tolerance not reached,
        -1 failed), ``success`` (``status == 0``), ``message`` and typed
        counters ``stats`` (:class:`~solver.result.SolveStats`).

    Raises
    ------
    ValueError, TypeError
        For invalid arguments; the message names the argument.
    """
    start = time.perf_counter()
    t, uniform = _check_grid(t, allow_nonuniform=True)
    method, order = check_method(method)
    if path not in _PATHS:
        raise ValueError(f"path must be one of {_PATHS}, got {path!r}")
    kernel = as_kernel(kernel)
    if nonlinearity is not None and not callable(nonlinearity):
        raise TypeError("nonlinearity must be a function G(s, y)")
    if history is not None and not isinstance(history, History):
        raise TypeError("history must be a solver.History (History(y=...) or contribution=...)")
    tolerance = check_tolerances(rtol, atol, t.size)
    if tolerance is None and (
        max_points is not None or first_refinement is not None or conditioning is not None
    ):
        raise ValueError("max_points, first_refinement and conditioning apply only with rtol/atol")
    if conditioning is None:
        conditioning = 1.0
    elif not (isinstance(conditioning, (int, float, np.integer, np.floating))
              and math.isfinite(conditioning) and conditioning >= 1.0):  # fmt: skip
        raise ValueError(f"conditioning must be a finite number >= 1, got {conditioning!r}")
    if max_points is None:
        max_points = DEFAULT_MAX_POINTS
    if t.size < order:
        raise ValueError(f"t: method {method!r} needs at least {order} grid points, got {t.size}")
    if tolerance is not None:
        if not error_estimate:
            raise ValueError("error_estimate=False cannot be combined with rtol/atol")
        if not callable(f):
            raise ValueError(
                "f: with rtol/atol the solver refines the grid, so f must be a function f(t), "
                "not an array of values on t"
            )
        if history is not None and history.contribution is not None:
            if not callable(history.contribution):
                raise ValueError(
                    "history: with rtol/atol the contribution must be a function H(t), "
                    "not an array of values on t"
                )
        if not (isinstance(max_points, (int, np.integer)) and max_points >= t.size):
            raise ValueError(
                f"max_points must be an integer >= len(t) = {t.size}, got {max_points!r}"
            )
        if first_refinement is not None and not (
            isinstance(first_refinement, (int, np.integer))
            and (first_refinement == 1 or (first_refinement > 0 and first_refinement % 4 == 0))
        ):
            raise ValueError(
                f"first_refinement must be 1 or a positive multiple of 4, got {first_refinement!r}"
            )

    fvals = _f_on_grid(f, t)
    vshape, dtype = _shape_and_dtype(kernel, t, fvals)
    prob = _Problem(kernel, f, method, order, nonlinearity, history, path, vshape, dtype)
    stats = SolveStats()
    if tolerance is None:
        res = _solve_once(prob, t, fvals, error_estimate, stats)
    else:
        res = _solve_to_tolerance(
            prob, t, tolerance[0], tolerance[1], int(max_points), first_refinement, stats,
            float(conditioning),
        )  # fmt: skip
    stats.seconds = time.perf_counter() - start
    return res


@dataclass(frozen=True)
class _Problem:
    """What stays fixed while the grid changes."""

    kernel: Kernel
    f: Callable | np.ndarray
    method: str
    order: int
    nonlinearity: Callable | None
    history: History | None
    path: str
    vshape: tuple[int, ...]
    dtype: type


class _Failed(Exception):
    """A solve failed for a reason the numerics declare (singular step, history)."""


def _rhs(prob: _Problem, tt: np.ndarray, fvals: np.ndarray | None, stats: SolveStats):
    """``f + H`` on the grid ``tt`` and the history's error estimate."""
    if fvals is None:
        fvals = _f_on_grid(prob.f, tt)
    fvals = fvals.astype(prob.dtype, copy=False)
    if prob.history is None:
        return fvals, np.zeros(fvals.shape), prob.dtype
    try:
        H, Herr, hs = prob.history.evaluate(
            prob.kernel, tt, prob.vshape, prob.dtype, prob.nonlinearity
        )
    except HistoryError as exc:
        raise _Failed(str(exc)) from None
    stats.add(hs)
    dtype = prob.dtype
    if np.iscomplexobj(H) and np.any(H.imag != 0):
        dtype = np.complex128  # a complex history makes the problem complex
    H = H.astype(np.result_type(H, dtype), copy=False)
    if np.dtype(dtype).kind != "c":
        H = H.real
    return (fvals + H).astype(dtype, copy=False), Herr, dtype


def _plan(
    prob: _Problem, tt: np.ndarray, known_bp=None
) -> tuple[str | None, np.ndarray | None, bool]:
    """The path of a solve on ``tt``: (fast path name or None, breakpoint indices, uniform)."""
    uniform = is_uniform(tt)
    fast, bp = _fast_path(
        prob.kernel, tt, prob.nonlinearity, prob.vshape, prob.path, uniform, known_bp
    )
    return fast, bp, uniform


@contextmanager
def _numerical_failures():
    """Translate the numerics' exceptions: FloatingPointError to ValueError, arithmetic and
    linear-algebra failures to :class:`_Failed`."""
    try:
        yield
    except FloatingPointError as exc:
        raise ValueError(str(exc)) from None
    except (ArithmeticError, np.linalg.LinAlgError) as exc:
        raise _Failed(str(exc)) from None


def _run(
    prob: _Problem,
    tt: np.ndarray,
    rr: np.ndarray,
    dtype,
    stats: SolveStats,
    plan: tuple | None = None,
    prepared: dict | None = None,
) -> np.ndarray:
    """One discrete solve on the grid ``tt``; records the path taken. ``plan``: its
    :func:`_plan`, ``prepared``: the fast path's arrays (:func:`_run_many`)."""
    # each path's module (and its Numba cores) is imported on first use only
    kernel = prob.kernel
    fast, bp, uniform = _plan(prob, tt) if plan is None else plan
    with _numerical_failures():
        if fast == "expsum":
            from . import _expsum

            y, c = _expsum.solve(kernel, tt, rr, prob.order, dtype, bp=bp, prepared=prepared)
        elif fast == "convolution":
            from . import _convolution

            y, c = _convolution.solve(kernel, tt, rr, prob.order, dtype)
        else:
            from . import _general

            disc = _general.make_discretisation(
                kernel, tt, prob.order, prob.vshape, dtype, uniform=uniform
            )
            if prob.nonlinearity is None:
                y, c = _general.solve_linear(disc, rr)
            else:
                y, c = _general.solve_nonlinear(disc, rr, prob.nonlinearity)
    stats.add(c)
    stats.solves += 1
    if not stats.path:
        stats.path = fast or ("direct" if uniform and not isinstance(kernel, Damped) else "cells")
    return y


def _run_many(
    prob: _Problem, t: np.ndarray, strides: list[int], r: np.ndarray, dtype, stats: SolveStats
) -> list[np.ndarray]:
    """The discrete solves on ``t[::k]`` for ``k`` in ``strides`` (increasing powers of 2), in
    order (:func:`_run` each).

    Those on the path for sums of exponentials are prepared together: their stencil tables
    in one pass (:func:`solver._expsum.prepare_many`; a preparation's fixed cost is then
    paid about once), the coarser grids' meshes and breakpoints sliced from the finest
    one's where they are its sub-meshes (:func:`solver.mesh.coarsen`,
    :func:`solver._expsum.coarse_breakpoints`); every array is the one the grid gets alone.
    """
    grids = [t[::k] for k in strides]
    rs = [r[::k] for k in strides]
    plans = [_plan(prob, grids[0])]
    for k, grid in zip(strides[1:], grids[1:], strict=True):
        known = None
        if plans[0][0] == "expsum" and plans[0][1] is not None:
            from ._expsum import coarse_breakpoints

            known = coarse_breakpoints(plans[0][1], k // strides[0])
        plans.append(_plan(prob, grid, known))
    prepared: list[dict | None] = [None] * len(grids)
    batch = [i for i, pl in enumerate(plans) if pl[0] == "expsum"]
    if len(batch) > 1:
        from . import _expsum
        from .mesh import analyse, coarsen

        base = analyse(grids[batch[0]])
        meshes = [base] + [coarsen(base, strides[i] // strides[batch[0]]) for i in batch[1:]]
        with _numerical_failures():
            made = _expsum.prepare_many(
                prob.kernel,
                [grids[i] for i in batch],
                prob.order,
                _expsum.is_real(r, dtype),  # (the grids' r are slices of one r)
                [plans[i][1] for i in batch],
                meshes,
            )
        for i, d in zip(batch, made, strict=True):
            prepared[i] = d
    return [
        _run(prob, tt, rr, dtype, stats, pl, d)
        for tt, rr, pl, d in zip(grids, rs, plans, prepared, strict=True)
    ]


def _solve_once(prob, t, fvals, error_estimate, stats) -> VolterraResult:
    """The solution on ``t`` as given, with a Richardson estimate on ``t[::2]``."""
    stats.points = t.size
    try:
        r, Herr, dtype = _rhs(prob, t, fvals, stats)
        y = _run(prob, t, r, dtype, stats)
    except _Failed as exc:
        return _failed(t, fvals, prob, str(exc), stats)
    message = "solved"
    if error_estimate:
        order = prob.order
        if t.size >= 2 * order + 1:
            # Richardson: the same method on every other grid point
            try:
                yc = _run(prob, t[::2], r[::2], dtype, stats)
            except _Failed as exc:
                yc = None
                message = f"solved; no error estimate (coarse solve failed: {exc})"
            est = _richardson(y, yc, order) if yc is not None else np.full(y.shape, np.inf)
        else:
            est, message = _short_grid_estimate(prob, t, r, y, dtype, stats)
        est = est + Herr + _roundoff_floor(y)
    else:
        est = np.full(y.shape, np.nan)
    if not np.all(np.isfinite(y)):
        return _failed(
            t, y, prob,
            _overflow_message(prob),
            stats,
        )  # fmt: skip
    if error_estimate and np.any(est > np.abs(y) + np.max(np.abs(y)) * 1e-8):
        message += (
            "; the error estimate exceeds the solution at some points (not resolved there"
            f"{_step_limit_hint(prob)})"
        )
    return VolterraResult(t, y, est, prob.method, prob.order, 0, message, stats)


#: ``Re(mu) h`` beyond which a method is unstable on exponential kernel terms of mass near 1
#: (measured on y = f + ∫ (1 - 1e-7) e^{-(t-s)} y ds over 20000 steps: gregory8 holds to
#: 1e-10 at mu h = 20 and grows like 1e46 at 30; its end stencils act as a BDF7 formula on
#: steps much longer than 1/mu. Trapezoidal, gregory4 and gregory6 are stable at 1e5.)
COARSE_STEP_LIMIT: dict[str, float] = {"gregory8": 20.0}


def _step_limit_hint(prob) -> str:
    """``", or <method> unstable on these steps: ..."`` for a method with a coarse-step limit."""
    if prob.method not in COARSE_STEP_LIMIT:
        return ""
    return (
        f", or the steps too long for {prob.method!r}: it is unstable on steps longer than "
        f"~{COARSE_STEP_LIMIT[prob.method]:g}/Re(mu) of an exponential term, gregory6 is not "
        "(COARSE_STEP_LIMIT)"
    )


def _overflow_message(prob) -> str:
    hint = _step_limit_hint(prob)
    return "the solution overflowed (NaN or inf); the kernel may be too large for this grid" + (
        f" ({hint[2:]})" if hint else ""
    )


def _short_grid_estimate(prob, t, r, y, dtype, stats):
    """Too few points for Richardson: compare with the trapezoidal rule on the same grid.

    An over-estimate: the error of the lower-order solution.
    """
    if prob.order == 2:
        raise ValueError(
            f"t: an error estimate with method 'trapezoidal' needs at least 5 grid "
            f"points, got {t.size} (or pass error_estimate=False)"
        )
    low = _Problem(**{**prob.__dict__, "order": 2, "path": "direct"})
    try:
        ylo = _run(low, t, r, dtype, SolveStats())
    except _Failed as exc:
        return np.full(y.shape, np.inf), f"solved; no error estimate ({exc})"
    return np.abs(y - ylo), "solved; error estimate from the trapezoidal rule (grid too short)"


def _solve_to_tolerance(
    prob, t, rtol, atol, max_points, first, stats, conditioning: float = 1.0
) -> VolterraResult:
    """Refine ``t`` by integer factors until the error estimate meets ``atol + rtol |y|``."""
    p = prob.order
    N = t.size
    if first is None:
        first = 1 if (N - 1) % 4 == 0 and N >= 4 * p + 1 else 4
    if first == 1 and not ((N - 1) % 4 == 0 and N >= 4 * p + 1):
        raise ValueError(
            f"first_refinement=1 needs len(t) - 1 divisible by 4 and len(t) >= {4 * p + 1}"
        )
    m = first
    prev_q = np.inf
    best = None
    solved: dict[int, np.ndarray] = {}  # refinement factor -> solution on refine(t, factor)
    status, message = 1, ""
    while True:
        size = (N - 1) * m + 1
        if size > max_points:  # (checked before the grid is built)
            message = (
                f"tolerance not reached: the next refinement needs {size} points "
                f"> max_points = {max_points}"
            )
            break
        fine = t if m == 1 else refine(t, m)
        try:
            r, Herr_f, dtype = _rhs(prob, fine, None, stats)
            # the coarser grids are refine(t, m/2) and refine(t, m/4), maybe solved already
            y1, y2, y4 = _coarse_solves(prob, fine, r, dtype, stats, m, solved)
        except _Failed as exc:
            if best is None:
                return _failed(t, np.zeros((N,) + prob.vshape), prob, str(exc), stats)
            message = f"tolerance not reached: a finer solve failed ({exc})"
            break
        if not np.all(np.isfinite(y1)):
            return _failed(
                t, y1[:: m], prob,
                _overflow_message(prob),
                stats,
            )  # fmt: skip
        stats.points = fine.size
        stats.refinement_factor = m
        if m == 1:
            # every other user point is on the coarse grids: Richardson there, the larger
            # neighbour at the others
            y = y1
            d1 = _coarse_differences(y1, y2)
            d2 = np.repeat(_coarse_differences(y2, y4), 2, axis=0)[:N]
            Herr = Herr_f
        else:
            y = y1[::m]
            d1 = np.abs(y - y2[:: m // 2])
            d2 = np.abs(y2[:: m // 2] - y4[:: m // 4])
            Herr = Herr_f[::m]
        tol = _broadcast_tol(atol, rtol, y)
        # the global ratio of successive differences (in units of the tolerance) drives the
        # choice of the next grid; the estimate itself is pointwise: each point uses its own
        # ratio d2/d1, Richardson's divisor where that is in the asymptotic range and the
        # difference |y_h - y_2h| itself elsewhere
        D1 = float(np.max(d1 / tol))
        D2 = float(np.max(d2 / tol))
        rho = D2 / D1 if D1 > 0 else np.inf
        asymptotic = _asymptotic(rho, p)
        # pointwise, over a few neighbours (an error profile that changes sign makes single
        # points' ratios meaningless), in units of the caller's per-point tolerances (atol +
        # rtol max|y|: a point let loose does not lend its large error to its neighbours,
        # and y crossing zero changes nothing)
        w = _broadcast_tol(atol, rtol, np.broadcast_to(np.max(np.abs(y), axis=0), y.shape))
        # the first point is y(t0) = f(t0) + H(t0) on every grid (no step enters it): its
        # differences (zero) are its own, not its neighbours' (borrowed, they made a point
        # with y = 1 next to points with y ~ 1e4 look unresolved, and whether they did
        # depended on the weights' last bits)
        d1[1:] = _local_max(d1 / w)[1:] * w[1:]
        d2[1:] = _local_max(d2 / w)[1:] * w[1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            rho_i = np.where(d1 > 0, d2 / np.where(d1 > 0, d1, 1.0), np.inf)
        inwin = _asymptotic(rho_i, p)
        est = np.where(inwin, d1 / _richardson_divisor(rho_i, p), d1)
        # a point whose differences do not shrink (ratio < 2) where they matter has no
        # trustworthy estimate yet. Exceptions: differences at the rounding noise of the
        # equation (conditioning x eps x |y|) are no evidence of a stall, and such a point is
        # no more accurate than that rounding; differences that do shrink (1 < ratio < 2)
        # with a geometric tail d1/(ratio - 1) below a quarter of the tolerance (four times
        # the tail still meets it) have that tail as their estimate
        rounding_y = conditioning * np.finfo(float).eps * _running_max(y1)[::m]
        noise = 10.0 * rounding_y
        unsettled = (d1 > 0.01 * tol) & (rho_i < 2.0)
        slow = unsettled & (d1 > noise)
        est = np.where(unsettled & ~slow, np.maximum(est, rounding_y), est)
        with np.errstate(divide="ignore", invalid="ignore"):
            tail = np.where(rho_i > 1.0, d1 / (rho_i - 1.0), np.inf)
        bounded = slow & (tail <= 0.25 * tol)
        est = np.where(bounded, np.maximum(est, tail), est)
        stalled = bool(np.any(slow & ~bounded))
        floor = _roundoff_floor(y1)[::m]
        # (the first point keeps its own zero differences, but it is no more accurate than
        # the rounding at the scale of its neighbours: f(t0) may be a difference of terms
        # of their size)
        floor[0] = np.max(floor[:3], axis=0)
        est = np.maximum(est, floor) + Herr
        q = float(np.max(est / tol))
        rounding = bool(np.all(d1 <= np.maximum(100.0 * floor, noise)))

        best = (y, est)
        if q <= 1.0 and (not stalled or rounding):
            status, message = 0, f"solved to the tolerance (grid refined {m}x, {fine.size} points)"
            break
        if rounding and q > 0.5 * prev_q:
            message = (
                f"tolerance not reached: the error estimate stopped falling at "
                f"{float(np.max(est)):.3g} (rounding floor of the discrete equation)"
            )
            break
        prev_q = q
        factor = (1.5 * q) ** (1.0 / _observed_order(rho, p)) if asymptotic else 2.0
        m_new = 4 * int(math.ceil(m * factor / 4.0))
        m = _next_factor(max(m_new, m + 4 if m > 1 else 4), N, solved, max_points)
        stats.refinements += 1
    if best is None:
        raise ValueError(
            f"max_points = {max_points} is too small for even the first refinement of t"
        )
    y, est = best
    if status != 0:
        worst = float(np.max(est / _broadcast_tol(atol, rtol, y)))
        message = f"{message}; estimated error is {worst:.3g} x the tolerance"
    return VolterraResult(t, y, est, prob.method, prob.order, status, message, stats)


def _local_max(d: np.ndarray, half: int = 2) -> np.ndarray:
    """Running maximum of ``d`` over ``2 half + 1`` neighbouring points (along axis 0)."""
    if d.shape[0] <= 1:
        return d
    pad = [(half, half)] + [(0, 0)] * (d.ndim - 1)
    win = np.lib.stride_tricks.sliding_window_view(np.pad(d, pad, mode="edge"), 2 * half + 1, 0)
    return win.max(axis=-1)


def _broadcast_tol(atol, rtol, y: np.ndarray) -> np.ndarray:
    """``atol + rtol |y|`` per point (per-point tolerance arrays broadcast over components)."""
    a = np.asarray(atol, dtype=float)
    r = np.asarray(rtol, dtype=float)
    if y.ndim > 1:
        a = a.reshape(a.shape + (1,) * (y.ndim - 1)) if a.ndim else a
        r = r.reshape(r.shape + (1,) * (y.ndim - 1)) if r.ndim else r
    tol = a + r * np.abs(y)
    return np.where(tol > 0, tol, np.finfo(float).tiny)


#: fixed cost of one discrete solve, in grid points of its work (weights, stencils, set-up)
_SOLVE_OVERHEAD_POINTS = 4000


def _coarse_solves(prob, fine, r, dtype, stats, m, solved) -> list[np.ndarray]:
    """The solves on ``fine[::k]`` = ``refine(t, m/k)``, k = 1, 2, 4, or those an earlier
    refinement made on these grids (the same points and the same r: the same solves);
    remembered in ``solved``. With m = 1 the coarser grids are ``t[::2]``, ``t[::4]``, no
    refinements of ``t``. The new ones are made together (:func:`_run_many`)."""
    keys = [m // k if m % k == 0 else None for k in (1, 2, 4)]
    ys = [solved.get(key) if key is not None else None for key in keys]
    new = [i for i, y in enumerate(ys) if y is None]
    made = _run_many(prob, fine, [(1, 2, 4)[i] for i in new], r, dtype, stats)
    for i, y in zip(new, made, strict=True):
        ys[i] = y
        if keys[i] is not None:
            solved[keys[i]] = y
    return ys


def _next_factor(m_min: int, N: int, solved: dict, max_points: float = math.inf) -> int:
    """The refinement factor (a multiple of 4, at least ``m_min``, at most ``2 m_min`` and
    within ``max_points``) whose three grids ``m, m/2, m/4`` cost least, counting the solves
    already made as free.

    Doubling reuses two of the three solves (16 after 8 needs one new solve, 12 after 4
    three), and a solve has a fixed cost besides its points. Only ``m_min`` itself and the
    factors that reuse a solved grid (2 or 4 times one) can be cheapest.
    """

    def cost(m: int) -> int:
        return sum(
            _SOLVE_OVERHEAD_POINTS + (N - 1) * g + 1 for g in (m, m // 2, m // 4) if g not in solved
        )

    def fits(m: int) -> bool:
        return m % 4 == 0 and m_min <= m <= 2 * m_min and (N - 1) * m + 1 <= max_points

    candidates = [m for s in solved for m in (2 * s, 4 * s) if fits(m)]
    return min([m_min, *candidates], key=lambda m: (cost(m), m))


def _asymptotic(rho, p: int):
    """Is the ratio of successive differences ``rho`` in the asymptotic range of order ``p``?

    Accepted: ``2^(p-2) <= rho <= 2^(p+1)`` (at least 2). The lower end admits
    order ``p - 1``, which product integration shows where the memory of the
    kernel is much shorter than the step (``Re mu h >> 1``: the interpolation
    error of ``y`` next to ``t_n`` is not cancelled by the concentrated weight).
    """
    return (max(2.0 ** (p - 2), 2.0) <= rho) & (rho <= 2.0 ** (p + 1))


def _observed_order(rho: float, p: int) -> float:
    """``log2 rho`` clipped to ``[max(p - 2, 1), p]``."""
    return float(np.clip(np.log2(rho), max(p - 2, 1), p))


def _richardson_divisor(rho, p: int):
    """Divisor of ``|y_h - y_2h|`` in the error estimate of ``y_h`` in the asymptotic range.

    The error of ``y_h`` is ``|y_h - y_2h| / (rho - 1)`` for an exact power law;
    near the end of the pre-asymptotic range the next reduction can be several
    times smaller than the last one, so only half of the observed ratio, and
    at most ``2^(p-2)``, is assumed: ``max(min(rho/2, 2^(p-2)), 2) - 1``.
    """
    return np.maximum(np.minimum(rho / 2.0, 2.0 ** (p - 2)), 2.0) - 1.0


def _richardson(y, yc, order):
    """|y_h − y_2h|/(2^p − 1) at the even points; each odd point gets the larger neighbour."""
    return _coarse_differences(y, yc) / (2.0**order - 1.0)


def _coarse_differences(y, yc):
    """|y_h − y_2h| at the even points; each odd point gets the larger neighbour."""
    diff = np.abs(y[::2] - yc)
    est = np.empty(y.shape)
    est[::2] = diff
    n_odd = est[1::2].shape[0]
    right = np.concatenate([diff[1:], diff[-1:]])[:n_odd]
    est[1::2] = np.maximum(diff[:n_odd], right)
    return est


def _running_max(y) -> np.ndarray:
    """``max_{j <= n} |y_j|`` at each point ``n`` (over components), shape ``y.shape``."""
    a = np.abs(y)
    if a.ndim > 1:
        a = a.reshape(a.shape[0], -1).max(axis=1)
    run = np.maximum.accumulate(a)
    return run.reshape(run.shape + (1,) * (y.ndim - 1)) if y.ndim > 1 else run


def _roundoff_floor(y):
    """Round-off level of the solution at each point: rounding of the history sums.

    ``10 eps sqrt(n + 1) max_{j <= n} |y_j|`` at point ``n`` (the error there cannot
    depend on later, larger values of a growing solution); shape ``y.shape``.
    """
    n = np.sqrt(np.arange(1, y.shape[0] + 1)).reshape((-1,) + (1,) * (y.ndim - 1))
    return 10.0 * np.finfo(float).eps * n * _running_max(y)


def _failed(t, like, prob, message, stats):
    y = np.full(np.shape(like), np.nan, dtype=np.result_type(like, prob.dtype))
    est = np.full(y.shape, np.nan)
    return VolterraResult(t, y, est, prob.method, prob.order, -1, message, stats)


def check_tolerances(rtol, atol, n: int | None = None):
    """Validate ``rtol``/``atol`` (numbers, or arrays of length ``n``: one per grid point).

    Returns None if neither is given, else ``(rtol, atol)`` as floats or float arrays.
    """
    if rtol is None and atol is None:
        return None
    vals = []
    for name, v in (("rtol", rtol), ("atol", atol)):
        if v is None:
            vals.append(0.0)
            continue
        if isinstance(v, (bool, str, bytes)):
            raise TypeError(
                f"{name} must be a number or an array of numbers, got {type(v).__name__}"
            )
        try:
            a = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} must be a number or an array of numbers, got {type(v).__name__}"
            ) from None
        if a.ndim > 1 or (a.ndim == 1 and a.shape != (n,)):
            raise ValueError(
                f"{name}: an array of tolerances needs one per grid point, shape ({n},), "
                f"got {a.shape}"
            )
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"{name} must be finite and >= 0, got {v!r}")
        vals.append(float(a) if a.ndim == 0 else a)
    rt, at = vals
    if np.all(np.asarray(rt) == 0) and np.all(np.asarray(at) == 0):
        raise ValueError("rtol and atol cannot both be 0 (nothing is reachable)")
    rpos = np.asarray(rt)[np.asarray(rt) > 0]
    if rpos.size and float(np.min(rpos)) < RTOL_FLOOR:
        raise ValueError(
            f"rtol = {float(np.min(rpos)):.3g} is below the rounding floor of double precision: "
            f"the smallest meaningful rtol is {RTOL_FLOOR:.3g} (machine epsilon), and discrete "
            "solutions are typically reachable to ~10 eps sqrt(N) relative"
        )
    if np.any(np.asarray(rt) >= 1):
        raise ValueError(f"rtol must be in [{RTOL_FLOOR:.3g}, 1), got {rtol!r}")
    return rt, at


def check_method(method: str) -> tuple[str, int]:
    """Validate a method name; returns ``(name, order)`` (``"auto"`` = gregory6)."""
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
    uniform = is_uniform(t)
    if allow_nonuniform:
        return t, uniform
    if not uniform:
        raise ValueError(
            "t must be uniformly spaced (largest deviation of a step from the mean step: "
            f"{np.max(np.abs(d - (t[-1] - t[0]) / (t.size - 1))):.3g}); use np.linspace"
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


def _fast_path(kernel: Kernel, t, nonlinearity, vshape, path: str, uniform: bool, known_bp=None):
    """Name of the fast path to use (None for the direct path), and the breakpoint indices.

    ``known_bp``: the breakpoint indices on ``t``, known from a finer grid that ``t`` is
    a subset of (:func:`solver._expsum.coarse_breakpoints`; its breakpoints are then
    non-decreasing too)."""
    if path == "direct":
        return None, None
    pieces = kernel.pieces
    want = vshape[0] if vshape else None  # ExpSum systems: dim must match the components
    ok = nonlinearity is None and all(isinstance(p, ExpSum) and p.dim == want for p in pieces)
    bp = None
    if ok and isinstance(kernel, Piecewise) and known_bp is not None:
        bp = known_bp
    elif ok and isinstance(kernel, Piecewise):
        from ._expsum import breakpoints_on_grid

        beta = kernel.breakpoint_values(t)
        ok = bool(np.all(np.diff(beta, axis=1) >= -1e-12 * (1 + np.abs(beta[:, 1:]))))
        bp = breakpoints_on_grid(kernel, t, beta) if ok else None
        ok = bp is not None
        # (the Richardson solve on t[::2] falls back to the direct path by itself when the
        # breakpoints miss its grid)
    name = "expsum" if ok else None
    if isinstance(kernel, Convolution) and nonlinearity is None and not vshape and uniform:
        name = "convolution"
    if path == "fast" and name is None:
        raise ValueError(
            "path='fast': no fast path for this problem (needs a linear equation with an "
            "ExpSum kernel (scalar or a system), a Piecewise of ExpSum pieces with "
            "non-decreasing breakpoints on grid points, or a scalar Convolution kernel on a "
            "uniform grid)"
        )
    return name, bp
