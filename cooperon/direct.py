"""Eq. (24) solved directly: F(t) on t ≤ 0 and F(0), with error control.

The equation is handed to :func:`solver.solve_volterra` as data
(:mod:`cooperon.equation`): the kernel of (24) as sums of exponentials with
the breakpoint s = 2t, the right-hand side Φ/(1+Q), and the history before
the truncation time −T given by the frozen (periodic) far-past solution F∞.

The grid (:func:`cooperon.grid.doubling_mesh`) follows the scales of F, not
τ: the memory e^{−(t−t')} is integrated exactly (exponential product
integration), so the step only has to resolve F, which varies on the slow
scales 1/ε, 1/g, 1/(Q + rate) except in a layer of width ~τ (and ~1/|α| of
the fastest term of Φ) at t = 0, where the kink of Φ at s = 2t meets the
memory. The mesh is graded towards t = 0 by octaves and is mapped into itself
by t → 2t, so the breakpoint always falls on grid points.

Error control (F(0) is what is controlled):

* **discretisation** – the solver's own tolerance driver
  (``solve_volterra(..., rtol=...)``): the grid is refined by integer factors
  until the three-grid Richardson estimate, trusted only in the asymptotic
  range, is below ``rtol/2`` relative at every grid point.
* **truncation** – with the frozen history, the error at −T is the deviation
  F − F∞, driven by the decaying terms of Φ, which die out like e^{−c|t|}
  with c = min(1, Re α); its effect on F(0) is damped by the resolvent from
  −T to 0 (Eq. 33). The bound is spelled out in :func:`_log_truncation_bound`;
  T is the smallest time ≥ 20 with it below ``rtol |F(0)| / 1000``. The bound
  is reported where it is below ``2e-3 rtol |F(0)|`` (so always with the
  automatic T) or below a tenth of the discretisation estimate; otherwise (a
  T given by the caller) the truncation error is measured: the same solve
  from −0.75 T, extrapolated.
  Without decaying terms (r₃ = 0 or g = 0) the frozen solution is exact and
  there is no truncation error.
* **conditioning** – ``eps |F(0)|/(Q + rate)``: the rounding of the kernel
  mass amplified by the conditioning of the equation (F(0) ~ 1/(Q + rate), so
  a relative error δ in the kernel mass becomes ~δ/(Q + rate) in F(0)).
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from solver import SolveStats, solve_volterra
from solver.api import COARSE_STEP_LIMIT, check_method
from solver.mesh import refine

from . import envelope, equation
from .grid import doubling_mesh, doubling_mesh_size
from .parameters import NoCutoffError, Parameters
from .vertex import Vertex

__all__ = ["DirectSolution", "solve_direct", "truncation_time"]

_SAFETY = 2.0
#: skeleton grid handed to the solver: step at t = 0 and cells per octave, in units of the
#: fastest scale of Φ (the solver refines it at least 4x)
_H0 = 1.0
_CELLS = 4
#: largest step of the skeleton, in units of the slow scales of F
_CAP = 2.0
#: denser skeleton where a term of Φ varies on about the slow scale 1/(Q + rate) (_step_cap):
#: the largest factor for an undamped oscillation and for a decaying term, the width of the
#: resonance in decades of |α|/(Q + rate), the distances (in units of 1/|α|) over which the
#: graded part gets the extra cells, and the shortest scale concerned (below it the first
#: steps, of τ, resolve the term anyway)
_RES_BOOST = {"oscillating": 4.0, "decaying": 2.0}
_RES_WIDTH = 1.0
_RES_SPAN = (0.25, 4.0)
_RES_MIN_SCALE = 8.0
#: the grid is refined for at most this many times the conditioning floor eps/(Q + rate):
#: closer to it the rounding noise of the solutions misleads the Richardson estimate into
#: refining further (rate 1e-7: 95 233 points for nothing at 1x, 2 817 at 2x)
_COND_FLOOR = 2.0
#: a truncation bound below this fraction of rtol |F(0)| is reported as the truncation error
#: (else, unless it is below a tenth of the discretisation estimate, the error is measured)
_BOUND_REPORTED = 2e-3
#: terms of Φ below this weight at a distance no longer limit the step there
_ALIVE = 1e-17
#: below MIN_OMEGA the envelopes take long steps at t = 0 where the layer is at most this
#: times rtol; F(0), first order in h there, is extrapolated (_F0_extrapolated)
_LAYER_EXTRAPOLATED = 0.1
#: error of F(0) per unit of (layer size × last step) where the last step is ≥ τ
#: (measured 0.21; :func:`_layer_step`)
_LAYER_GAIN = 0.5


@dataclass
class DirectSolution:
    """F(t) of Eq. (24) on ``[−T, 0]`` and F(0) with its error estimate.

    Attributes
    ----------
    params : Parameters or None
        The model parameters (None when solved for a :class:`Vertex`).
    vertex : Vertex
        Φ of Eq. (24) as a sum of exponentials.
    Q : float
        Dq²τ.
    t, F : ndarray
        The grid on ``[−T, 0]`` and F there (c = 1).
    F0 : float
        F(0).
    error_estimate : float
        Estimated absolute error of ``F0`` (discretisation + truncation +
        conditioning).
    discretisation_error, truncation_error : float
        Two parts of ``error_estimate``.
    T : float
        Truncation time.
    h : float
        Smallest step of the grid (at t = 0).
    order : int
        Order of the quadrature.
    rtol : float
        Requested relative accuracy of ``F0``.
    status : int
        0: ``error_estimate <= rtol |F0|``; 1: computed, but that accuracy was
        not reached (``message`` says why); -1: the solver failed.
    message : str
    stats : SolveStats
        Counters of the main solve (points, refinements, path, seconds).
    harmonics : int
        M of the envelope system (:mod:`cooperon.envelope`) F was solved
        through, 0 where F itself was solved for.
    """

    params: Parameters | None
    vertex: Vertex
    Q: float
    t: np.ndarray
    F: np.ndarray
    F0: float
    error_estimate: float
    discretisation_error: float
    truncation_error: float
    T: float
    h: float
    order: int
    rtol: float
    status: int
    message: str
    stats: SolveStats = field(default_factory=SolveStats)
    harmonics: int = 0

    @property
    def success(self) -> bool:
        """``status == 0``."""
        return self.status == 0

    @property
    def converged(self) -> bool:
        """``status == 0`` (the requested rtol was reached)."""
        return self.status == 0

    @property
    def relative_error_estimate(self) -> float:
        """``error_estimate / |F0|``."""
        return self.error_estimate / abs(self.F0)


def _log_truncation_bound(v: Vertex, Q: float, T, scale: float = 1.0):
    """log of the truncation error bound of F(0), in units of ``scale`` (= max|F∞|).

    With F∞ as history, the error at −T is the deviation δ = F − F∞ there. It is
    driven by the decaying terms c_k e^{−α_k|x|} of Φ, through the kernel memory
    e^{−(t−t')}: a forcing ≤ Σ_k |c_k| max|F∞| [min(|t|, 1/|1−Re α_k|) + 1]
    e^{−c_k|t|}, c_k = min(1, Re α_k) (the ``min(|t|, ...)`` is the resonance
    Re α = 1 of the two decays; for Eq. (25) the one term r₃, α = 2g), which the
    frozen resolvent (decay rate κ = (Q + rate)/(1+Q)) accumulates into
    δ ≤ forcing · (1/(c_k + κ) + 1). Its effect on F(0) is damped by the
    resolvent from −T to 0, bounded by exp(ϑ(−T)/(1 + Q + λ_max)) (Eq. 33; the
    WKB rate λ₁ itself over-estimates the damping when Q or λ is not small).
    A factor 2 of safety is included. Vectorised over ``T``.
    """
    c, a = v.decaying
    T = np.asarray(T, dtype=float)
    if c.size == 0:
        return np.full(T.shape, -np.inf) if T.ndim else -math.inf
    kappa = (Q + v.dephasing) / (1.0 + Q)
    ck = np.minimum(1.0, a.real)
    gap = np.abs(1.0 - a.real)
    Tk = T[..., None]
    res = np.where(gap > 0, np.minimum(Tk, 1.0 / np.where(gap > 0, gap, 1.0)), Tk)
    terms = np.abs(c) * (res + 1.0) * (1.0 / (ck + kappa) + 1.0) * np.exp(-ck * Tk)
    damping = v.theta(-T, Q) / (1.0 + Q + v.lambda_bound)
    total = np.sum(terms, axis=-1)
    with np.errstate(divide="ignore"):
        out = np.log(2.0 * scale * total) + damping
    return float(out) if out.ndim == 0 else out


def truncation_time(
    params: Parameters | Vertex,
    rtol: float,
    scale: float = 1.0,
    T_max: float = 1e10,
    *,
    Q: float | None = None,
) -> float:
    """Smallest T ≥ 20 with truncation bound ≤ rtol/10 (relative; ``scale`` = max|F∞|/|F(0)|).

    The bound is evaluated on a logarithmic grid of T (ratio 1.23 between
    points), then on a fine grid between the two points that bracket the target
    (relative resolution 5e-3).
    """
    v, Q = equation.model(params, Q)
    target = math.log(rtol / 10.0)
    if _log_truncation_bound(v, Q, 20.0, scale) <= target:
        return 20.0
    T = _first_where(lambda T: _log_truncation_bound(v, Q, T, scale) <= target, 20.0, T_max)
    if T is None:
        raise ArithmeticError(
            f"the history needed exceeds T = {T_max:g} τ (Q + dephasing rate too small)"
        )
    return T


def _first_where(ok, lo: float, hi: float) -> float | None:
    """The first T of a geometric grid on [lo, hi] with ``ok(T)`` (vectorised), or None.

    ``ok`` is evaluated on 100 points (ratio (hi/lo)^(1/99)), then on 42 between
    the two that bracket the first True (resolution (hi/lo)^(1/4059): 5e-3 for
    hi/lo = 5e8); ``ok`` must stay True beyond its first True (a bound that falls).
    """
    grid = np.geomspace(lo, hi, 100)
    hit = np.flatnonzero(ok(grid))
    if hit.size == 0:
        return None
    i = int(hit[0])
    if i == 0:
        return float(grid[0])
    fine = np.geomspace(grid[i - 1], grid[i], 42)
    return float(fine[np.flatnonzero(ok(fine))[0]])


def _kink_time(v: Vertex, Q: float, rtol: float, scale: float) -> float:
    """Smallest T for which the kink of the history term at t = −T/2 is harmless.

    Where s = 2t crosses −T the history term has a kink of relative size
    ~ Σ|c_decaying| max|F∞| e^{−c T/2} (c = min(1, Re α)); the interpolation
    across it makes a local error of that size, which reaches F(0) damped by
    the resolvent from −T/2 (at least exp(ϑ(−T/2)/(1 + Q + λ_max)), as in
    :func:`_log_truncation_bound`). It is kept below rtol/100.
    """
    c, a = v.decaying
    cmin = float(min(1.0, np.min(a.real)))
    target = math.log(100.0 * float(np.sum(np.abs(c))) * scale / rtol)
    if target <= 0:
        return 0.0

    def size(T):
        T = np.asarray(T, dtype=float)
        return cmin * T / 2 - v.theta(-T / 2, Q) / (1.0 + Q + v.lambda_bound)

    grid = np.geomspace(1.0, 2.0 * target / cmin, 400)
    ok = np.flatnonzero(size(grid) >= target)
    return float(grid[ok[0]]) if ok.size else float(grid[-1])


def _step_cap(
    v: Vertex,
    rate: float,
    density: float | Callable[[float], float] = 1.0,
    hmax: float = math.inf,
):
    """Largest skeleton step at distance d from t = 0: the slow scales still alive there
    (and at most ``hmax``); ``density`` scales it, a number or a function of d
    (:func:`_depth_density`).

    A term of Φ whose scale 1/|α| is near the slow scale 1/(Q + rate) (ε or 2g
    near Q + rate) changes the character of F at d ~ 1/|α|, where ϑ(−d) is of
    order 1 and the error reaches F(0) amplified by 1/(Q + rate): there the first
    refinement of the usual skeleton fell short by factors 10–700 (ε = rate) and
    15–27 (2g ≈ 2 rate), all at |t| ≈ 1–2/(Q + rate), and two more solves
    followed. Such a term gets ``boost`` times more cells per octave over
    d ∈ [0.25, 4]/|α| and ``boost`` times shorter capped steps wherever it is
    alive; ``boost`` falls off as a Gaussian in log10(|α|/(Q + rate)) of width one
    decade, from 4 (undamped oscillation) or 2 (decaying term). Over the 125
    points of the benchmark cube this took the points over 10 ms from 44 to 34
    (``python validation/bench_cooperon.py``); only the cost changes, the
    refinement still decides the accuracy.
    """
    slow = 1.0 / rate
    # term k is alive (|c_k| e^{-Re α_k d} > _ALIVE, Vertex.alive) while d < reach_k; its
    # scale is 1/|α_k|. Plain floats: the cap is evaluated once per octave of every mesh
    terms = []
    for c, alpha in zip(np.abs(v.c), v.alpha, strict=True):
        if abs(alpha) == 0 or not c > _ALIVE:
            continue
        reach = math.log(c / _ALIVE) / alpha.real if alpha.real > 0 else math.inf
        terms.append((float(reach), 1.0 / abs(alpha)))

    res = []  # (near, far, reach, scale, boost) of the terms near the slow scale
    for reach, sc in terms:
        top = _RES_BOOST["oscillating" if math.isinf(reach) else "decaying"]
        boost = 1.0 + (top - 1.0) * math.exp(-((math.log10(sc * rate) / _RES_WIDTH) ** 2))
        if boost > 1.05 and sc > _RES_MIN_SCALE:
            res.append((_RES_SPAN[0] * sc, _RES_SPAN[1] * sc, reach, sc, boost))

    def cap(d: float) -> float:
        dens = density(d) if callable(density) else density
        scale = min([slow] + [sc for reach, sc in terms if d < reach])
        out = min(_CAP * dens * scale, hmax)
        for near, far, reach, sc, boost in res:
            if near <= d <= far:
                out = min(out, d / (_CELLS * boost))  # boost x the cells per octave
            if near <= d < reach:
                out = min(out, _CAP * dens * sc / boost)
        return out

    return cap


def _layer_size(v: Vertex) -> float:
    """Bound A of the relative size of the layer ~e^{t} of F at t = 0 (docs/envelopes.md).

    A decaying term c e^{−α|x|} of Φ has a kink at x = 0; in Eq. (24) it sits
    at t' = 2t and puts into F a layer at t = 0 of relative size at most
    |c| min(2, 4|α|).
    """
    c, a = v.decaying
    return float(np.sum(np.abs(c) * np.minimum(2.0, 4.0 * np.abs(a))))


def _layer_step(v: Vertex, rtol: float, share: float = 1e-3) -> float:
    """Longest skeleton step at t = 0 that may leave the layer of F there unresolved.

    A step h ≫ τ there does not resolve the layer (:func:`_layer_size`), and the
    row of F(0), whose diagonal weight is then 1 − O(τ/h), turns it into an
    error of about A h/5 (measured: 0.21 A h, first order in h; 0.5 A h is added to
    the error estimate, :data:`_LAYER_GAIN`). The step returned, refined 4x,
    keeps it below ``share/8`` of rtol. A first-order error even well below
    rtol makes the Richardson estimate distrust the refinement (and refine
    more), so the usual envelope grid keeps it at 1e-4 rtol (``share`` 1e-3);
    the envelopes below MIN_OMEGA, which need long steps, at rtol/20.
    """
    layer = _layer_size(v)
    return share * rtol / layer if layer > 0 else math.inf


def _density(rtol) -> np.ndarray:
    """Skeleton steps scale like rtol^(1/5) (the order of the method where the memory is
    shorter than the step), from their values at rtol = 1e-6, within [0.25, 2]."""
    return np.clip((np.asarray(rtol, dtype=float) / 1e-6) ** 0.2, 0.25, 2.0)


def _depth_density(v: Vertex, Q: float, rtol: float, T: float) -> Callable[[float], float]:
    """The skeleton's density at distance d from t = 0 for the tolerance F has there.

    An error of F at −d reaches F(0) damped by at least L(d) = e^{ϑ(−d)/(1 + Q + λ_max)}
    (:func:`_pointwise_rtol`): the refinement holds F there to rtol/L(d) only. The steps
    of F itself in the far past, set by the slow scales, double once for every factor 2⁶
    of L(d) (the error of a sixth-order rule grows 2⁶ times when its step doubles) beyond
    a first 2⁶ of margin, up to the density of rtol 3e-5 (:func:`_density`, at most 2).
    The margin: errors of the deeper past, at their own tolerance, reach the points
    between at theirs (rate 1e-5, ε = 1e-5, g = 1e-7 took four solves instead of three
    without it). The density changes in whole doublings only: a smaller change would
    flip the marginal doubling decisions of :func:`~cooperon.grid.doubling_mesh` (2 h
    against the cap) and double the steps where F is still held to rtol (rate 1e-7,
    ε = 1e-5, g = 1e-7 then needed 16x instead of 8x). Each octave [d, 2d] gets the
    density of the tightest tolerance in it (L sampled at quarter octaves, from up to
    two samples below d: on the safe side).

    The envelopes keep their skeleton: graded the same way, it made the envelope plan
    look cheaper than F itself at rate 0.1, ε = 10, rtol 1e-10, whose envelopes then
    refined to 1.19e6 points (gregory6) where F itself takes 6.9e4.
    """
    base = float(_density(rtol))
    most = max(math.floor(math.log2(2.0 / base)), 0) if base < 2.0 else 0
    # the damping is at most d (−ϑ grows like (Q + λ) d): no doubling below d = 2 ln 64, so
    # samples from d = 1 on suffice (plain floats: the cap is evaluated once per octave)
    lo = 1.0
    d = lo * 2.0 ** (np.arange(int(4 * math.log2(4.0 * max(T, lo) / lo)) + 2) / 4.0)
    damp = np.clip(_log_damping(v, Q, np.asarray(d)), 0.0, 50.0)
    doublings = np.clip(np.floor(damp / math.log(64.0)) - 1.0, 0.0, most)
    dens = (base * 2.0**doublings).tolist()
    d = d.tolist()

    def density(x: float) -> float:
        if x <= d[0]:
            return dens[0]
        i = max(bisect.bisect_right(d, x) - 2, 0)
        j = bisect.bisect_right(d, 2.0 * x)
        return min(dens[i : max(j, i + 1)])

    return density


def _skeleton_args(
    v: Vertex,
    rate: float,
    T: float,
    rtol: float,
    hmax: float = math.inf,
    h0: float | None = None,
    long_first: bool = False,
    Q: float | None = None,
) -> tuple:
    """Arguments of :func:`cooperon.grid.doubling_mesh` for the scales of ``v``.

    Steps scale like rtol^(1/5) (:func:`_density`); with ``Q`` (F itself), they also
    follow the tolerance F has at each depth (:func:`_depth_density`). The step at
    t = 0 is the fastest scale of Φ, and τ as well; with ``long_first`` (the
    envelopes) τ only where F has a layer there that matters
    (:func:`_layer_step`); ``h0`` sets it instead. F itself keeps τ: there a
    longer first step made as many points slower as faster (the Richardson
    estimate near the conditioning floor then sees noise as a stall).
    """
    density = float(_density(rtol))
    cap = _step_cap(v, rate, density if Q is None else _depth_density(v, Q, rtol, T), hmax)
    if h0 is None:
        fast = _H0 * density * v.shortest_scale()
        h0 = min(_H0 * density, fast)
        layer = _layer_step(v, rtol) if long_first else 0.0
        if layer > h0:
            # no layer to resolve: up to the scales of Φ and F there
            h0 = max(h0, min(fast, layer, cap(0.0), _h0_max(T)))
    return (T, h0, _CELLS, cap)


def _h0_max(T: float) -> float:
    """Longest first step: two octaves at least (9 points, enough for every method)."""
    return T / (2 * _CELLS)


def _skeleton(
    v: Vertex, rate: float, T: float, rtol: float, max_points: int, **steps
) -> np.ndarray:
    """The grid handed to the solver (it refines it at least 4x), for the scales of ``v``
    (Φ itself, or Φ without its undamped oscillation for the envelopes); ``steps``:
    ``hmax``, ``h0``, ``long_first``, ``Q`` of :func:`_skeleton_args`.

    Raises
    ------
    ArithmeticError
        If even the first refinement would exceed ``max_points`` (an undamped
        oscillation much faster than the history is long: the cost grows like
        ε T).
    """
    args = _skeleton_args(v, rate, T, rtol, **steps)
    n = doubling_mesh_size(*args)
    if 4 * n > max_points:
        h0, hmax = steps.get("h0"), steps.get("hmax", math.inf)
        if h0 is not None:
            why = (
                f"steps growing from {h0:.3g} τ at t = 0 (the envelopes' long steps) over a "
                f"history of T = {T:.3g} τ"
            )
        elif math.isinf(hmax):
            why = f"Φ varies on a scale {v.shortest_scale():.3g} τ over a history of T = {T:.3g} τ"
        else:
            why = (
                f"steps of at most {hmax:.3g} τ (the stability limit of the method; gregory6 "
                f"has none) over a history of T = {T:.3g} τ"
            )
        raise ArithmeticError(
            f"the grid needed (about {4 * n:.3g} points) exceeds max_points = {max_points}: " + why
        )
    return doubling_mesh(*args)


def _pointwise_rtol(v: Vertex, Q: float, t: np.ndarray, rtol: float) -> np.ndarray:
    """Tolerance of F(t) that keeps its effect on F(0) below ``rtol`` (relative).

    An error at time t reaches F(0) through the resolvent, damped by at least
    exp(ϑ(t)/(1 + Q + λ_max)) (the bound of :func:`_log_truncation_bound`), so
    F far in the past needs less accuracy than F(0); at t = 0 the tolerance is
    ``rtol`` itself.
    """
    damp = _log_damping(v, Q, -np.asarray(t, dtype=float))
    return np.minimum(rtol * np.exp(np.minimum(damp, 50.0)), 0.1)


def _log_damping(v: Vertex, Q: float, d: np.ndarray) -> np.ndarray:
    """ln L(d) = −ϑ(−d)/(1 + Q + λ_max): the least damping of an error at −d on its way
    to F(0) (the bound of :func:`_log_truncation_bound`)."""
    return -v.theta(-d, Q) / (1.0 + Q + v.lambda_bound)


def solve_direct(
    params: Parameters | Vertex,
    rtol: float = 1e-8,
    *,
    Q: float | None = None,
    method: str = "gregory6",
    path: str = "auto",
    h: float | None = None,
    T: float | None = None,
    max_points: int = 2_000_001,
) -> DirectSolution:
    """Solve Eq. (24) for F(t), t ≤ 0, and return F(0) with an honest error estimate.

    Parameters
    ----------
    params
        The model parameters (validated), or Φ as a :class:`~cooperon.vertex.Vertex`
        (then ``Q`` is required).
    rtol
        Requested relative accuracy of F(0), in [1e-13, 0.1].
    Q
        Dq²τ, with a Vertex only.
    method
        Quadrature of :func:`solver.solve_volterra` (``"gregory6"`` default).
    path
        ``"auto"`` (the O(N) running-sum path on a graded grid; for Φ with an
        undamped oscillation much faster than the slow scales, through the
        harmonic envelopes of :mod:`cooperon.envelope` where that is cheaper),
        ``"envelope"`` (always through the envelopes; Φ must have one undamped
        oscillation) or ``"direct"`` (the general O(N²) path on a uniform
        grid; for checks).
    h
        Use a uniform grid with this step and no refinement (the error
        estimate is then Richardson on every other point); default: a graded
        grid refined until ``rtol`` is reached.
    T
        Fix the truncation time instead of choosing it.
    max_points
        Largest grid the refinement may use.

    Returns
    -------
    DirectSolution

    Raises
    ------
    NoCutoffError
        If nothing cuts off the divergence (F(0) = ∞).
    ArithmeticError
        If the history needed or the grid exceeds what can be computed (the
        message says which and by how much).
    ValueError
        For an invalid ``rtol``, ``h``, ``T`` or ``method``.
    """
    start = time.perf_counter()
    if not isinstance(params, (Parameters, Vertex)):
        raise TypeError("params must be a cooperon.Parameters (or a cooperon.vertex.Vertex)")
    if isinstance(params, Parameters):
        params.require_cutoff()
    v, Q = equation.model(params, Q)
    rate = Q + v.dephasing
    if not rate > 0:
        raise NoCutoffError(
            "F(0) = infinity: nothing cuts off the 2D divergence (Q = 0 and Φ → 1 in the past)"
        )
    if not (1e-13 <= rtol <= 0.1):
        raise ValueError(f"rtol must be in [1e-13, 0.1], got {rtol!r}")
    if h is not None and not (0 < h < 10):
        raise ValueError(f"h must be in (0, 10), got {h!r}")
    if T is not None and not (T > 0 and math.isfinite(T)):
        raise ValueError(f"T must be positive and finite, got {T!r}")
    method, order = check_method(method)
    if path not in ("auto", "envelope", "direct"):
        raise ValueError(f"path must be 'auto', 'envelope' or 'direct', got {path!r}")
    if path == "envelope" and h is not None:
        raise ValueError("path='envelope' refines its own grid: give no h")

    # the conditioning floor: F(0) ~ 1/(Q + rate) amplifies the rounding of the kernel
    # mass, so relative errors below ~eps/(Q + rate) cannot be reached; the grid is
    # refined for the larger of rtol and _COND_FLOOR floors, and the status says so if
    # rtol is below that
    floor = np.finfo(float).eps / rate
    goal = max(rtol, _COND_FLOOR * floor)
    # (the solver takes differences at that noise for rounding, not for a stalled refinement)
    cond_factor = max(1.0, 1.0 / rate)
    # a method unstable on long steps (gregory8) keeps every step, also of the coarsest
    # Richardson grid (the skeleton itself), within 0.8 of its limit for the fastest
    # memory e^{-(1 + Re α)(t - s)} of the kernel
    hmax = 0.8 * COARSE_STEP_LIMIT.get(method, math.inf) / (1.0 + max(0.0, *v.alpha.real))
    frozen = equation.frozen_solution(v, Q=Q)
    # max|F∞| over the typical size of F(0): F∞(0) (F(0) differs from it by the decaying terms)
    scale = frozen.bound / max(abs(frozen.value_at_zero), 1e-300)
    periodic = equation.is_periodic(v, Q)
    if T is None:
        # the bound at rtol/1000: it is then reported as it is (below, no second solve to
        # measure it), and costs the error estimate at most a thousandth of rtol
        T = truncation_time(v, goal / 100.0, scale, Q=Q)
        if not periodic:
            T = max(T, _kink_time(v, Q, goal, scale))
    K = equation.kernel(v, Q)
    f = equation.rhs(v, Q)
    env = t_direct = None
    missed = extrapolate = False
    env_method, env_hmax = method, hmax
    if h is None and path in ("auto", "envelope"):
        env = _envelope_plan(
            v, Q, rate, T, goal, frozen, method, hmax, max_points, forced=path == "envelope"
        )
        low = 0 < frozen.omega < envelope.MIN_OMEGA[method]
        if env is None and path == "auto" and order > 4 and low:
            # below MIN_OMEGA[method] the method is stable on the envelope equations only on
            # steps with ωh >= MIN_PHASE_STEP (16 for gregory6), too long where 1/(Q + rate)
            # < 160/ε or the layer at t = 0 needs steps of τ. gregory4's errors grow by at
            # most 4.6 % per step inside its band (ωh ≈ 0.3-1.9): its usual grid is taken
            # where the steps in that band amplify them at most 3x, held to the first
            # refinement (refining multiplies those steps), and kept only where it reaches
            # the tolerance (docs/envelopes.md)
            env = _envelope_plan(
                v, Q, rate, T, goal, frozen, _LOW_ORDER, math.inf, max_points, transit=True
            )
            if env is not None:
                env_method, env_hmax = _LOW_ORDER, math.inf
    if h is not None:
        n_q = max(int(math.ceil(T / (4 * h))), order)
        _check_size(4 * n_q + 1, max_points, T)
        t = np.linspace(-T, 0.0, 4 * n_q + 1)
        res = solve_volterra(
            K,
            f,
            t,
            method=method,
            history=equation.history(v, T, frozen, Q=Q),
            path=path,
            vectorized=True,
        )
        fine = t
    if env is not None:
        model, tail, h0, env_points, extrapolate = env
        t = _skeleton(model.slow, rate, T, goal, env_points, hmax=env_hmax, h0=h0, long_first=True)
        rt = _pointwise_rtol(v, Q, t, 0.5 * goal)
        if extrapolate:
            # F(0) has a first-order error from the layer there: the refinement follows the
            # other points, and F(0) is extrapolated (_F0_extrapolated)
            rt[-1] = 0.5
        res = solve_volterra(
            model.kernel,
            model.rhs,
            t,
            method=env_method,
            history=envelope.history(model, -float(t[0]), frozen),
            rtol=rt,
            atol=rt * (1e-2 * frozen.bound / model.dim),
            max_points=env_points,
            first_refinement=4,
            conditioning=cond_factor,
            vectorized=True,
        )
        fine = refine(t, res.stats.refinement_factor)
        extrapolated = None
        F0_m = float(np.sum(res.y[-1]).real)  # as _F0_envelope has it on the other grids
        # the lower-order fallback is kept only if it reaches the tolerance (else F itself,
        # with the requested method, is solved); so is F(0) extrapolated with path="auto"
        # (F(0) cannot settle where the other points have not)
        given_up = res.status != 0 and path == "auto" and (env_method != method or extrapolate)
        if extrapolate and res.status >= 0 and not given_up:
            extrapolated = _F0_extrapolated(
                model, t, res, frozen, env_method, F0_m, goal, env_points
            )
        # (room is left for the conditioning term and a truncation bound added below)
        missed = given_up or (
            extrapolated is not None
            and extrapolated[1] > (0.95 * goal - np.finfo(float).eps / rate) * abs(extrapolated[0])
        )
        if (res.status < 0 or missed) and path == "auto":
            # failed through the envelopes, or the extrapolation of F(0) on long steps did
            # not settle: F itself, directly, where that grid fits (else the result is
            # kept: its estimate is honest, and F itself costs more)
            try:
                t_direct = _skeleton(v, rate, T, goal, max_points, hmax=hmax, Q=Q)
                env = None
            except ArithmeticError:
                if env_method != method:
                    raise  # (the lower-order attempt was a guess: F itself is the answer)
                if extrapolate and extrapolated is None and res.status >= 0:
                    extrapolated = _F0_extrapolated(
                        model, t, res, frozen, env_method, F0_m, goal, env_points
                    )
    if env is None and h is None:
        if t_direct is not None:
            t = t_direct
        elif path == "direct":
            # the general O(N^2) path: a uniform grid at the fastest scale, refined
            step = 0.4 * min(1.0, v.shortest_scale())
            n_q = max(int(math.ceil(T / (4 * step))), order)
            _check_size(4 * n_q + 1, max_points, T)
            t = np.linspace(-T, 0.0, 4 * n_q + 1)
        else:
            t = _skeleton(v, rate, T, goal, max_points, hmax=hmax, Q=Q)
        res = solve_volterra(
            K,
            f,
            t,
            method=method,
            history=equation.history(v, -float(t[0]), frozen, Q=Q),
            path=path,
            rtol=_pointwise_rtol(v, Q, t, 0.5 * goal),
            max_points=max_points,
            first_refinement=4,
            conditioning=cond_factor,
            vectorized=True,
        )
        fine = refine(t, res.stats.refinement_factor)
    T = -float(t[0])
    if res.status < 0:
        if env is not None:
            return _failed(
                params, v, Q, t, T, order, rtol, res, env[0].combine(res.t, res.y), env[0].M
            )
        return _failed(params, v, Q, t, T, order, rtol, res, res.y)
    if env is None:
        F = res.y
        F0 = F0_grid = float(res.y[-1])
        disc = float(res.error_estimate[-1])
        harmonics = 0

        def F0_from(tt, TT):
            return _F0_scalar(v, Q, K, f, tt, TT, frozen, method, path)

    else:
        F = model.combine(res.t, res.y)
        F0 = F0_grid = float(F[-1])
        # the error of Re Σ F_n(0) is at most the sum of the envelopes' errors (or, F(0)
        # extrapolated, its own estimate); the harmonics left out count with a margin of 10
        disc = float(np.sum(res.error_estimate[-1]))
        if extrapolated is not None:
            F0, disc = extrapolated
            F[-1] = F0
        disc += 10.0 * tail * abs(F0)
        harmonics = model.M

        def F0_from(tt, TT):
            return _F0_envelope(model, tt, TT, frozen, env_method)

    h_last = float(fine[-1] - fine[-2])
    if h_last >= 1.0 and (env is None or not extrapolate):
        # the layer of F at t = 0 is not resolved by steps of τ and more (_layer_step)
        disc += _LAYER_GAIN * _layer_size(v if env is None else model.slow) * h_last * abs(F0)
    trunc = 0.0
    if not periodic:
        bound = math.exp(_log_truncation_bound(v, Q, T, scale)) * abs(F0)
        if bound <= max(0.1 * disc, _BOUND_REPORTED * goal * abs(F0)):
            trunc = bound
        else:
            # on the same grid as F0_from (F(0) before any extrapolation: the layer's
            # error cancels in the difference)
            trunc = _truncation_estimate(v, Q, res, fine, F0_grid, F0_from)
    cond = np.finfo(float).eps * abs(F0) / rate
    total = disc + trunc + cond
    if total <= rtol * abs(F0):
        status, message = 0, "converged"
    else:
        status = 1
        why = res.message if res.status != 0 else "truncation or conditioning"
        if env is not None and missed and res.status == 0:
            why = (
                "F(0) extrapolated over the unresolved layer at t = 0 did not settle within "
                "the grids that keep the envelopes stable"
            )
        if rtol < goal:
            why = (
                f"rtol is below the conditioning floor eps/(Q + rate) = {floor:.2g} of Eq. (24) "
                f"(the grid is refined for {goal:.2g}); about {goal:.1g} is reachable"
            )
        message = (
            f"requested rtol={rtol:g} not reached: estimated relative error "
            f"{total / abs(F0):.2g} ({why})"
        )
    res.stats.seconds = time.perf_counter() - start
    return DirectSolution(
        params=params if isinstance(params, Parameters) else None,
        vertex=v,
        Q=Q,
        t=res.t,
        F=F,
        F0=F0,
        error_estimate=total,
        discretisation_error=disc,
        truncation_error=trunc,
        T=T,
        h=h_last,
        order=res.order,
        rtol=rtol,
        status=status,
        message=message,
        stats=res.stats,
        harmonics=harmonics,
    )


def _check_size(n: int, max_points: int, T: float) -> None:
    if n > max_points:
        raise ArithmeticError(
            f"the grid needed ({n:.3g} points) exceeds max_points = {max_points} "
            f"(history T = {T:.3g} τ)"
        )


def _failed(params, v, Q, t, T, order, rtol, res, F, harmonics=0) -> DirectSolution:
    return DirectSolution(
        params=params if isinstance(params, Parameters) else None,
        vertex=v,
        Q=Q,
        t=res.t,
        F=F,
        F0=math.nan,
        error_estimate=math.nan,
        discretisation_error=math.nan,
        truncation_error=math.nan,
        T=T,
        h=float(t[-1] - t[-2]),
        order=order,
        rtol=rtol,
        status=-1,
        message=f"solver failed: {res.message}",
        stats=res.stats,
        harmonics=harmonics,
    )


def _truncation_estimate(v, Q, res, fine, F0, F0_from) -> float:
    """Measured truncation error of F(0): the same solve from −0.75 T, extrapolated.

    Both solves run on the same (finest) grid, so their discretisation errors
    mostly cancel in ``Δ = |F0(T) − F0(0.75 T)|``, the truncation error of the
    shorter run (on coarser grids they do not: where the damping over T is weak
    the error made near the start reaches F(0) almost undamped); the error of
    the longer one is ``Δ q/(1 − q)`` with ``q`` the damping over the extra
    0.25 T, taken from the decay rate of the bound
    (:func:`_log_truncation_bound`), which is a lower bound on the true rate.
    ``F0_from(grid, T)`` is F(0) of the same discretisation started at ``−T``.
    """
    grid = fine
    T = -float(grid[0])
    k = int(np.searchsorted(grid, -0.75 * T))
    k = min(k, grid.size - 2 * res.order - 1)
    if k <= 0:
        return 0.0
    T2 = -float(grid[k])
    delta = abs(F0 - F0_from(grid[k:], T2))
    log_q = _log_truncation_bound(v, Q, T) - _log_truncation_bound(v, Q, T2)
    q = min(math.exp(log_q), 0.99)
    eps_floor = 10 * np.finfo(float).eps * math.sqrt(grid.size) * abs(F0)
    return _SAFETY * max(delta, eps_floor) * q / (1.0 - q)


def _F0_scalar(v, Q, K, f, tt, TT, frozen, method, path) -> float:
    """F(0) of Eq. (24) on the grid ``tt`` (no refinement) with the frozen history before −TT."""
    return float(
        solve_volterra(
            K,
            f,
            tt,
            method=method,
            history=equation.history(v, TT, frozen, Q=Q),
            path=path,
            error_estimate=False,
            vectorized=True,
        ).y[-1]
    )


def _F0_envelope(model, tt, TT, frozen, method) -> float:
    """:func:`_F0_scalar` for the envelope system (F(0) = Re Σ F_n(0))."""
    res = solve_volterra(
        model.kernel,
        model.rhs,
        tt,
        method=method,
        history=envelope.history(model, TT, frozen),
        error_estimate=False,
        vectorized=True,
    )
    return float(np.sum(res.y[-1]).real)


def _F0_extrapolated(model, t, res, frozen, method, F0_m, goal, max_points):
    """F(0) through the envelopes on long steps at t = 0, and its error estimate.

    There the layer of F at t = 0 (:func:`_layer_size`, at most
    :data:`_LAYER_EXTRAPOLATED` rtol) costs F(0), and only F(0), an error
    a h + b with |b| ≲ A/4 (measured; docs/envelopes.md): first order in the
    step h, besides the method's c h^p. F(0) is computed on three more grids
    refined by the largest divisors of the solve's m (m/2, m/3 or m/4, ...;
    ``F0_m`` is the solve's own), and then on 2m, 4m, ... while needed. The
    finest three give X = F(0) without the a h and c h^p terms; the estimate
    is the change of X when the third finest is replaced by the fourth, plus the
    change of X when p is replaced by p − 1 or p − 2 (on steps this long the second
    term is measured of order ~4–5 for gregory6, so X with p alone can be off by
    more than the first change: rate 1e-4, ε = 0.01, g = 1e-5, rtol 1e-6), plus
    A|F(0)| for b and the estimate of the point before t = 0. Grids are added
    (within ``max_points``) until it is below goal/2.
    """
    m = res.stats.refinement_factor
    T = -float(t[0])
    p = res.order
    levels = [k for k in range(1, m) if m % k == 0][-3:]
    values = [_F0_envelope(model, refine(t, k), T, frozen, method) for k in levels]
    levels.append(m)
    values.append(F0_m)
    rest = _layer_size(model.slow) * abs(F0_m) + float(np.sum(res.error_estimate[-2]))

    while True:
        # the finest three grids, and the same with the third finest replaced by the fourth;
        # the order of the second term is not known on these steps (p - 2 ... p measured), so
        # the spread of X over it counts as well
        X = _two_orders(levels[-3:], values[-3:], p)
        est = math.inf
        if len(levels) > 3:
            other = _two_orders([levels[-4]] + levels[-2:], [values[-4]] + values[-2:], p)
            orders = [q for q in (p - 2, p - 1) if q > 1]  # (an order 1 term is the a h one)
            spread = max((abs(X - _two_orders(levels[-3:], values[-3:], q)) for q in orders),
                         default=0.0)  # fmt: skip
            est = abs(X - other) + spread
        nxt = 2 * levels[-1]
        if est + rest <= 0.5 * goal * abs(X) or (t.size - 1) * nxt + 1 > max_points:
            return X, est + rest
        levels.append(nxt)
        values.append(_F0_envelope(model, refine(t, nxt), T, frozen, method))


def _two_orders(levels, values, p: int) -> float:
    """F from F_k = F + a h_k + c h_k^p on three grids refined ``levels`` times (h_k ∝ 1/k)."""
    h = 1.0 / np.asarray(levels, dtype=float)
    A = np.stack([np.ones(3), h / h[0], (h / h[0]) ** p], axis=1)
    return float(np.linalg.solve(A, np.asarray(values, dtype=float))[0])


#: the method the envelopes fall back on (path="auto") where the requested one is unstable
#: on them on the steps they need (below MIN_OMEGA): its errors grow by at most 4.6 % per
#: step inside its band of unstable ωh (0.3-1.9), against 37 % for gregory6
#: (envelope.BAND_GROWTH)
_LOW_ORDER = "gregory4"
#: the largest amplification of errors allowed for its steps in that band
_TRANSIT_GROWTH = 3.0

#: fixed cost of a tolerance-driven solve in the cost model of _envelope_plan, in skeleton
#: points times kernel terms: three solves of ~0.9 ms each, against ~7 rows per skeleton
#: point (refined 4, 2, 1) at ~0.25 µs per term, 2700 / (7 × 0.25) ≈ 1500
_PLAN_OVERHEAD = 1500.0

#: largest harmonic the envelope system is used with (its size is 2M + 1)
_ENVELOPE_MAX_M = 6
#: below MIN_OMEGA, the envelope grid's first step allows refinements up to this factor
_ENVELOPE_REFINE = 64


def _envelope_plan(
    v, Q, rate, T, rtol, frozen, method, hmax, max_points, forced=False, transit=False
):
    """``(EnvelopeModel, neglected part, h0, max_points, extrapolate)`` if the envelopes are
    the cheaper way, else None (h0: the first step of the grid, None for the usual one;
    max_points: held to keep ωh; extrapolate: F(0) is extrapolated in h).

    Only where the method is stable on the envelope equations: for ω at least
    :data:`cooperon.envelope.MIN_OMEGA` on the usual grid, and below it on a grid
    whose every step has ωh at least :data:`cooperon.envelope.MIN_PHASE_STEP`
    (its first step h0 is then ≥ 8 that over ω, and the refinement is held to
    keep ωh; possible where 1/rate ≫ 1/ω and the layer of F at t = 0 is small,
    :data:`_LAYER_EXTRAPOLATED`: F(0) is then extrapolated in h, see
    :func:`_F0_extrapolated`). Cost
    model: grid points times kernel terms (plus the ``d × d`` solve of a row for
    the system); the envelopes are taken when they cost less than half. With
    ``forced`` they are taken whenever they are stable.
    """
    if v.frequencies.size != 1 or frozen.omega == 0:
        if forced:
            raise ValueError(
                "path='envelope' needs exactly one undamped oscillation in Φ (r₁ > 0, ε > 0)"
            )
        return None
    M, tail = envelope.harmonics_needed(frozen, rtol)
    if M > _ENVELOPE_MAX_M and not forced:
        return None
    model = envelope.envelope_model(v, Q, M)
    h0 = None
    extrapolate = False
    if transit:
        # the usual grid, through the band of unstable ωh, held to the first refinement; only
        # if the band's steps amplify errors by at most _TRANSIT_GROWTH for every harmonic
        grid = doubling_mesh(*_skeleton_args(model.slow, rate, T, rtol, hmax, None, True))
        lo, hi, growth = envelope.BAND_GROWTH[method]
        phase = frozen.omega * np.diff(grid) / 4.0
        for n in range(1, M + 1):
            k = np.count_nonzero((n * phase >= lo) & (n * phase <= hi))
            if k * math.log(growth) > math.log(_TRANSIT_GROWTH):
                return None
        max_points = min(max_points, 4 * grid.size)
    elif frozen.omega < envelope.MIN_OMEGA[method]:
        # long steps only: the first one at most the slow scale there, and ωh ≥ the limit
        # on the finest grid the refinement may reach
        zeta = envelope.MIN_PHASE_STEP[method]
        T0, _, _, cap = _skeleton_args(model.slow, rate, T, rtol, hmax)
        h0 = min(cap(0.0), _ENVELOPE_REFINE * zeta / frozen.omega, _h0_max(T))
        # steps that leave the layer's error below rtol/40 if they are long enough; else
        # longer ones, with F(0) extrapolated, where the layer itself is small
        h_layer = min(h0, _layer_step(model.slow, rtol, 0.4))
        extrapolate = math.floor(frozen.omega * h_layer / zeta) < 8
        if not extrapolate:
            h0 = h_layer
        m_max = math.floor(frozen.omega * h0 / zeta)
        if m_max < 8 or (extrapolate and _layer_size(model.slow) > _LAYER_EXTRAPOLATED * rtol):
            if forced:
                raise ValueError(
                    f"path='envelope' with method={method!r} needs ε >= "
                    f"{envelope.MIN_OMEGA[method]:g} (below, the method is unstable on the "
                    f"envelope equations on short steps), or steps of at least {8 * zeta:g}/ε "
                    f"at t = 0 and a layer of F there of at most {_LAYER_EXTRAPOLATED:g} rtol; "
                    f"got ε = {frozen.omega:g}, steps of at most "
                    f"{min(cap(0.0), _h0_max(T)):.3g} τ (the slow scales of F, the history) "
                    f"and a layer of {_layer_size(model.slow) / rtol:.2g} rtol"
                )
            return None
        n = doubling_mesh_size(T0, h0, _CELLS, cap)
        max_points = min(max_points, (n - 1) * m_max + 1)
    if forced:
        return model, tail, h0, max_points, extrapolate
    n_env = doubling_mesh_size(*_skeleton_args(model.slow, rate, T, rtol, hmax, h0, True))
    n_dir = doubling_mesh_size(*_skeleton_args(v, rate, T, rtol, hmax, Q=Q))
    d = model.dim
    cost_env = n_env * (_n_terms(model.kernel) + d * d) + _PLAN_OVERHEAD
    cost_dir = n_dir * _n_terms(equation.kernel(v, Q)) + _PLAN_OVERHEAD
    plan = (model, tail, h0, max_points, extrapolate)
    return plan if cost_env < 0.5 * cost_dir else None


def _n_terms(K) -> int:
    pieces = getattr(K, "pieces", [K])
    return sum(pc.weights.size for pc in pieces)
