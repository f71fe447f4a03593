"""Weak-localisation magnetoconductance Δσ(B) from Eq. (24) and from Eq. (32), and HLN fits.

In a perpendicular field B the 2D Cooperon momentum is quantised,
Q → Q_n = (n + ½)b with b = 4eDBτ/ħ, and ∫dQ F(0; Q) → b Σ_n F(0; Q_n), so

    Δσ(B) = σ(B) − σ(0) = −(e²/πh) [b Σ_n F(0; Q_n) − ∫_0^∞ F(0; Q) dQ],

a difference that needs no cutoff (``docs/magneto.md``).  Two curves:

* **(32)** – F_(32)(0; Q) = ∫_0^∞ Φ(u) e^{−Qu−Γ(u)} du and
  b Σ_n e^{−Q_n u} − ∫_0^∞ e^{−Qu} dQ = [x/(2 sinh(x/2)) − 1]/u, x = bu, give

      Δσ_(32)(B) = −(e²/πh) ∫_0^∞ Φ(u) e^{−Γ(u)} [x/(2 sinh(x/2)) − 1] du/u,

  one quadrature for all fields (Gauss–Kronrod 7/15 on panels doubling in u,
  at most half an oscillation of Φ wide, refined until |K15 − G7| is below
  the tolerance; that difference is the error estimate).  For Γ = η τ/τ_φ,
  Φ = 1 − τ/τ_φ this is exactly (1 − τ/τ_φ) × HLN.
* **direct** – Δσ_direct = Δσ_(32) + the Landau-level sum of
  d(Q) = F_direct(0; Q) − F_(32)(0; Q), a smooth function that is
  interpolated from direct solutions of Eq. (24) at Chebyshev nodes in
  ln(Q + r) on [0, Q_hi] (r = 1/η₁ with Γ(η₁) = 1, the dephasing scale), the
  lowest levels summed from the interpolant and the tail by Euler–Maclaurin
  (:mod:`cooperon._landau`).  The nodes are doubled (9, 17, 33, 65) until the
  interpolation error, measured against the interpolant on every other node,
  is below the tolerance.  One set of direct solutions serves all fields.

Each curve is then fitted with the HLN formula (:func:`cooperon.hln.fit_hln`).
"""

from __future__ import annotations

import math
import time

import numpy as np
import numpy.typing as npt
import xarray as xr
from scipy import constants

from . import hln as _hln
from ._landau import ChebyshevLandau, tail_start
from ._quadrature import G7_WEIGHTS, GK15_NODES, GK15_WEIGHTS
from .parameters import NoCutoffError, _positive
from .prepared import PreparedModel, prepare_model

__all__ = ["FieldInputs", "field_inputs", "field_b", "magnetoconductance"]

#: What the magnetoconductance needs from a model (the name it had before it was shared).
FieldInputs = PreparedModel


def field_inputs(
    model, *, tau: float | None = None, rtol: float = 1e-8, fit_rtol: float = 1e-6
) -> PreparedModel:
    """The prepared model (:class:`~cooperon.prepared.PreparedModel`, with τ) of a model.

    Parameters
    ----------
    model : Parameters, Vertex or ensemble
        ``Parameters.Dq2_tau`` is ignored (the field sets Q); an ensemble's
        vertex Φ̄ is fitted once (:mod:`cooperon.prepared`) and Eq. (32) uses
        λ̄, Γ̄ themselves.
    tau : float, optional
        τ in seconds; required for Parameters and Vertex, and if given for an
        ensemble it must equal ``model.tau``.
    rtol : float
        Relative accuracy of each direct solution (reused by every curve
        computed from these inputs).
    fit_rtol : float
        Accuracy the ensemble vertex is fitted for (its atol is
        0.1 fit_rtol/s_max).

    Raises
    ------
    ValueError
        Missing or invalid ``tau``.
    NoCutoffError
        If nothing dephases (then Δσ(B) is infinite).
    TypeError
        For another kind of model.
    """
    inp = prepare_model(model, rtol=fit_rtol, tau=tau, direct_rtol=rtol)
    _require_tau(inp)
    return inp


def _require_tau(inp: PreparedModel) -> float:
    if inp.tau is None:
        raise ValueError(
            f"tau (the relaxation time τ in seconds) is required with {inp.kind}: the field "
            "b = 4eDBτ/ħ and τ_φ in seconds need it (ensembles carry their own tau)"
        )
    return inp.tau


#: Γ(u) at the end of the history of Eq. (32): e^{−50} ≈ 2e-22.
_GAMMA_END = 50.0
#: Largest number of panels of the (32) rule.
_MAX_PANELS = 100_000
#: Terms of Φ below this weight (relative to the quadrature tolerance) no longer limit
#: the panel width: unresolved, they could change the integral by about that much.
_ALIVE = 0.1
#: Node counts of the Chebyshev interpolant of d(Q), in order.
_NODE_COUNTS = (9, 17, 33, 65, 129)


def field_b(B: npt.ArrayLike, D: float, tau: float) -> np.ndarray:
    """b = 4eDBτ/ħ (dimensionless; B in T, D in m²/s, τ in s)."""
    return 4.0 * constants.e * D * np.asarray(B, dtype=float) * tau / constants.hbar


def _field_array(B) -> np.ndarray:
    try:
        arr = np.atleast_1d(np.asarray(B, dtype=float))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"B must be a number or an array of numbers (tesla): {exc}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"B must be a scalar or a non-empty 1-D array (got shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        raise ValueError("B must be finite (no NaN or inf)")
    if not np.all(arr > 0):
        raise ValueError(f"B must lie in (0, ∞) tesla (got min {arr.min()!r})")
    return arr


def _h(x: np.ndarray) -> np.ndarray:
    """x/(2 sinh(x/2)) − 1 for x ≥ 0 (series below 0.1, no overflow above)."""
    out = np.empty(x.shape)
    s = x < 0.1
    y = x[s] ** 2
    out[s] = y * (-1.0 / 24 + y * (7.0 / 5760 + y * (-31.0 / 967680)))
    xl = x[~s]
    out[~s] = xl * np.exp(-0.5 * xl) / -np.expm1(-xl) - 1.0
    return out


# ---------------------------------------------------------------------------
# Eq. (32): one quadrature in u for all fields and all Q
# ---------------------------------------------------------------------------


class _HistoryRule:
    """Gauss–Kronrod 7/15 panels on [0, u_end] for ∫_0^∞ Φ(u) e^{−Γ(u)} k(u) du.

    The panels double in width from u₁ (which resolves the fastest rate of Φ,
    the largest b and Q) and are at most half a period of the fastest
    oscillation of Φ alive there (weight |c| e^{−Re α u} > tol/10); u_end has
    Γ(u_end) ≥ 50.  Refined (panels
    halved) until Σ|K15 − G7| ≤ tol |I| for every probe functional.
    """

    def __init__(self, inp: FieldInputs, b: np.ndarray, Q_probe: np.ndarray, tol: float):
        self.inp = inp
        v = inp.vertex
        self.u_end = self._end(inp)
        fast = max(1.0, float(np.max(np.abs(v.alpha), initial=0.0)), 32.0 * float(b.max()))
        fast = max(fast, float(np.max(Q_probe, initial=0.0)))
        u1 = min(0.25 / fast, 0.5 * self.u_end)
        edges = [0.0, u1]
        while edges[-1] < self.u_end:
            u = edges[-1]
            live = v.alive(u, _ALIVE * tol) & (v.alpha.imag != 0)
            omega = float(np.max(np.abs(v.alpha.imag[live]), initial=0.0))
            width = u if omega == 0 else min(u, math.pi / omega)
            edges.append(min(self.u_end, u + width))
            if len(edges) > _MAX_PANELS:
                raise ArithmeticError(
                    f"Eq. (32) in a field: more than {_MAX_PANELS} panels needed to resolve "
                    f"the oscillation of Φ (frequency {omega:.3g}/τ) over the history "
                    f"{self.u_end:.3g} τ"
                )
        self.lo = np.array(edges[:-1])
        self.hi = np.array(edges[1:])
        self._evaluate()
        self.n_refinements = 0
        for _ in range(12):
            bad = self._bad_panels(b, Q_probe, tol)
            if not bad.any():
                break
            if self.lo.size + bad.sum() > _MAX_PANELS:
                break
            m = 0.5 * (self.lo[bad] + self.hi[bad])
            order = np.argsort(np.concatenate([self.lo[~bad], self.lo[bad], m]))
            self.lo = np.concatenate([self.lo[~bad], self.lo[bad], m])[order]
            self.hi = np.concatenate([self.hi[~bad], m, self.hi[bad]])[order]
            self._evaluate()
            self.n_refinements += 1

    @staticmethod
    def _end(inp: FieldInputs) -> float:
        grid = 2.0 ** np.arange(-10, 400, 2.0)
        G = np.asarray(inp.Gamma(grid[:60]))
        k = np.flatnonzero(G >= _GAMMA_END)
        if k.size == 0:
            G = np.asarray(inp.Gamma(grid))
            k = np.flatnonzero(G >= _GAMMA_END)
            if k.size == 0:
                raise NoCutoffError(
                    f"Γ(u) stays below {_GAMMA_END:g} up to u = {grid[-1]:.3g} τ: "
                    "no dephasing (Δσ(B) is infinite)"
                )
        return float(grid[k[0]])

    def _evaluate(self) -> None:
        mid, half = 0.5 * (self.lo + self.hi), 0.5 * (self.hi - self.lo)
        self.u = mid[:, None] + half[:, None] * GK15_NODES
        self.half = half[:, None]
        u = self.u.ravel()
        g = np.asarray(self.inp.phi(u)) * np.exp(-np.asarray(self.inp.Gamma(u)))
        self.g = g.reshape(self.u.shape)
        self.n_nodes = u.size

    def integrals(self, kernel: np.ndarray) -> tuple[float, np.ndarray]:
        """(K15 value, per-panel |K15 − G7|) of ∫ g · kernel, ``kernel`` on ``self.u``."""
        vals = self.g * kernel
        k = (self.half * vals) @ GK15_WEIGHTS
        gs = (self.half * vals) @ G7_WEIGHTS
        return float(k.sum()), np.abs(k - gs)

    def sigma_kernel(self, b: float) -> np.ndarray:
        """[bu/(2 sinh(bu/2)) − 1]/u on the nodes."""
        return _h(b * self.u) / self.u

    def _bad_panels(self, b, Q_probe, tol) -> np.ndarray:
        bad = np.zeros(self.lo.size, dtype=bool)
        kernels = [self.sigma_kernel(bi) for bi in b] + [np.exp(-Q * self.u) for Q in Q_probe]
        for ker in kernels:
            value, err = self.integrals(ker)
            if err.sum() > tol * abs(value):
                bad |= err > tol * abs(value) / (4.0 * self.lo.size)
        return bad

    def delta_sigma(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Δσ_(32) (e²/h) and its error estimate for every b."""
        out, err = np.empty(b.size), np.empty(b.size)
        for i, bi in enumerate(b):
            value, e = self.integrals(self.sigma_kernel(bi))
            out[i], err[i] = -value / math.pi, e.sum() / math.pi
        return out, err

    def F0(self, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """F_(32)(0; Q) = ∫ Φ e^{−Qu−Γ} du and its error estimate for every Q."""
        out, err = np.empty(Q.size), np.empty(Q.size)
        for i, q in enumerate(Q):
            value, e = self.integrals(np.exp(-q * self.u))
            out[i], err[i] = value, e.sum()
        return out, err


def _dephasing_scale(inp: FieldInputs, u_end: float) -> float:
    """r = 1/η₁ with Γ(η₁) = 1 (the paper's estimate of τ/τ_φ), by bisection in ln η."""
    lo, hi = 0.0, math.log(u_end)
    if float(np.asarray(inp.Gamma(np.array([1.0])))[0]) >= 1.0:
        hi = 0.0
        lo = -40.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if float(np.asarray(inp.Gamma(np.array([math.exp(mid)])))[0]) >= 1.0:
            hi = mid
        else:
            lo = mid
    return math.exp(-hi)


# ---------------------------------------------------------------------------
# the direct curve: Δσ_(32) + Landau-level sum of F_direct − F_(32)
# ---------------------------------------------------------------------------


def _direct_correction(inp, rule, b, r, ds32, rtol, direct_rtol, max_nodes, executor=None):
    """S_b[F_direct − F_(32)] for every b, with its error parts, refining the nodes."""
    a_max = max(tail_start(bi, r)[1] for bi in b)
    Q_hi = r * 2.0 ** max(0, math.ceil(math.log2(max(a_max, r) / r)))
    counts = [n for n in _NODE_COUNTS if n <= max_nodes] or [_NODE_COUNTS[0]]
    for n in counts:
        L = ChebyshevLandau(Q_hi, r, n)
        F = inp.direct_many(L.nodes, direct_rtol, executor)
        F_dir, e_dir = F[:, 0], F[:, 1]
        F_32, e_32 = rule.F0(L.nodes)
        d = F_dir - F_32
        ell, eps = L.functionals(b)
        c = L.coefficients(d)
        corr = ell @ c
        W = ell @ L._M
        parts = {
            "interpolation": L.tail_estimate(ell, c),
            "nodes": np.abs(W) @ (e_dir + e_32),
            "euler_maclaurin": np.abs(eps @ c),
        }
        ds = ds32 - corr / math.pi
        if np.all(parts["interpolation"] / math.pi <= 0.25 * rtol * np.abs(ds)):
            break
    nodes = {"Q": L.nodes, "F_direct": F_dir, "F_direct_error": e_dir, "F_eq32": F_32}
    return corr / math.pi, {k: p / math.pi for k, p in parts.items()}, nodes, L


def _curve_status(ds, err, rtol) -> np.ndarray:
    return np.where(err <= rtol * np.abs(ds), 0, 1).astype(np.int8)


def magnetoconductance(
    model,
    B: npt.ArrayLike,
    D: float,
    *,
    tau: float | None = None,
    rtol: float = 1e-6,
    direct_rtol: float | None = None,
    fit_window=None,
    alpha_free: bool = False,
    direct: bool = True,
    max_nodes: int = 65,
    executor=None,
) -> xr.Dataset:
    """Weak-localisation magnetoconductance Δσ(B) from Eq. (24) and from Eq. (32), and HLN fits.

    Δσ(B) = −(e²/πh)[b Σ_n F(0; Q_n) − ∫_0^∞ F(0; Q) dQ], Q_n = (n + ½)b,
    b = 4eDBτ/ħ, with F of Eq. (24) solved directly and of Eq. (32)
    (module notes; derivation in ``docs/magneto.md``).

    Parameters
    ----------
    model : Parameters, Vertex, ensemble or PreparedModel
        The defects: :class:`~cooperon.parameters.Parameters` (its ``Dq2_tau``
        is ignored), a :class:`~cooperon.vertex.Vertex` Φ, an ensemble of
        :mod:`cooperon.ensembles`, or a prepared model
        (:func:`field_inputs`, :func:`cooperon.prepared.prepare_model`;
        reuses its cached direct solutions and its fitted vertex).
    B : array_like
        Fields in tesla, > 0 (any order).
    D : float
        Diffusion constant in m²/s, > 0.
    tau : float, optional
        τ in seconds: required for Parameters and Vertex (ensembles carry it).
    rtol : float
        Requested relative accuracy of Δσ, in [1e-10, 1e-2].
    direct_rtol : float, optional
        Relative accuracy of each direct solution of Eq. (24); default rtol/100
        (for a prepared model: its own ``direct_rtol``).
    fit_window : None, (B_lo, B_hi) or bool array
        Fields used by the HLN fits; default where |Δσ| < 1 e²/h (per curve).
    alpha_free : bool
        Fit the HLN prefactor α as well.
    direct : bool
        Compute the direct curve (False: Eq. 32 only, no solve of Eq. 24).
    max_nodes : int
        Most Chebyshev nodes (direct solutions) for F_direct − F_(32).
    executor : concurrent.futures.Executor, optional
        Runs the direct solutions of one node set through ``executor.map`` (a
        thread pool helps: the solver's cores release the GIL).

    Returns
    -------
    xarray.Dataset
        Over ``B`` (T), with coordinate ``b``: ``delta_sigma_direct``,
        ``delta_sigma_eq32`` (e²/h), their ``*_error`` estimates and ``*_status``
        (0: error ≤ rtol|Δσ|, 1: not reached); per curve the HLN fit
        ``B_phi_*`` (T), ``alpha_*``, ``tau_phi_hln_*`` (s), ``hln_residual_*``
        (over B), ``in_fit_window_*``, ``fit_rms_*``, ``fit_status_*``
        (:class:`~cooperon.hln.FitStatus`) and ``tau_phi_hln_over_eq34_*``;
        ``tau_phi_eq34`` (s) from Eq. (34); the direct solutions used, over
        ``Q_node``; counters and timings in ``attrs``.

    Raises
    ------
    ValueError
        For B ≤ 0, D ≤ 0, non-finite input, a missing ``tau`` or an invalid
        ``rtol`` (the message names it).
    NoCutoffError
        If nothing dephases (Δσ would be infinite).
    """
    start = time.perf_counter()
    B = _field_array(B)
    D = _positive("D", D)
    rtol = _positive("rtol", rtol)
    if not 1e-10 <= rtol <= 1e-2:
        raise ValueError(f"rtol must lie in [1e-10, 1e-2] (got {rtol!r})")
    if direct_rtol is not None:
        direct_rtol = _positive("direct_rtol", direct_rtol)
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 9:
        raise ValueError(f"max_nodes must be an integer >= 9 (got {max_nodes!r})")
    if isinstance(model, PreparedModel):
        if tau is not None and model.tau is not None and _positive("tau", tau) != model.tau:
            raise ValueError(f"tau = {tau!r} differs from the inputs' tau = {model.tau!r}")
        if model.tau is None and tau is not None:
            model.tau = _positive("tau", tau)
        inp, setup = model, 0.0
        _require_tau(inp)
        direct_rtol = inp.direct_rtol if direct_rtol is None else direct_rtol
    else:
        direct_rtol = rtol / 100.0 if direct_rtol is None else direct_rtol
        inp = field_inputs(model, tau=tau, rtol=max(direct_rtol, 1e-13), fit_rtol=rtol)
        setup = inp.counters["seconds_setup"]
    direct_rtol = max(direct_rtol, 1e-13)
    n0, s0 = inp.counters["n_direct"], inp.counters["seconds_direct"]
    b = field_b(B, D, inp.tau)

    t0 = time.perf_counter()
    u_end = _HistoryRule._end(inp)
    r = _dephasing_scale(inp, u_end)
    a_max = max(tail_start(bi, r)[1] for bi in b)
    Q_probe = np.concatenate([[0.0], np.geomspace(r / 64, 2 * max(a_max, r), 12)])
    rule = _HistoryRule(inp, b, Q_probe, 0.01 * rtol)
    ds32, err32 = rule.delta_sigma(b)
    curves = {"eq32": (ds32, err32, {})}
    t_eq32 = time.perf_counter() - t0
    attrs = {}
    if direct:
        try:
            corr, parts, nodes, L = _direct_correction(
                inp, rule, b, r, ds32, rtol, direct_rtol, max_nodes, executor
            )
        except ArithmeticError as exc:
            nan = np.full(B.shape, math.nan)
            curves["direct"] = (nan, nan, {})
            attrs["direct_message"] = f"direct curve not computed: {exc}"
        else:
            err = err32 + parts["interpolation"] + parts["nodes"] + parts["euler_maclaurin"]
            curves["direct"] = (ds32 - corr, err, parts)
            attrs["direct_message"] = (
                f"{L.n} direct solutions at Chebyshev nodes in ln(Q + r) on [0, {L.Q_hi:.4g}]"
            )
            attrs["direct_nodes"] = nodes
    t1 = time.perf_counter()
    ds = _dataset(
        inp, B, b, D, curves, rtol, fit_window, alpha_free, attrs.pop("direct_nodes", None)
    )
    ds.attrs.update(
        model=inp.description,
        D=D,
        D_units="m^2/s",
        tau=inp.tau,
        tau_units="s",
        rtol=rtol,
        direct_rtol=direct_rtol,
        alpha_free=int(alpha_free),
        dephasing_scale_r=r,
        eq32_panels=int(rule.lo.size),
        eq32_nodes=int(rule.n_nodes),
        n_F0_direct=int(inp.counters["n_direct"] - n0),
        seconds_setup=setup,
        seconds_eq32=t_eq32,
        seconds_direct_solves=inp.counters["seconds_direct"] - s0,
        seconds_fits_eq34=time.perf_counter() - t1,
        seconds_total=time.perf_counter() - start + setup,
        **attrs,
    )
    return ds


def _dataset(inp, B, b, D, curves, rtol, fit_window, alpha_free, nodes) -> xr.Dataset:
    """The labelled result: both curves, their HLN fits, Eq. (34), the nodes used."""
    try:
        log34 = float(inp.eq34)
        tau_phi_34, msg34 = inp.tau * math.exp(log34), "Eq. (34)"
    except (ArithmeticError, NoCutoffError) as exc:
        log34, tau_phi_34, msg34 = math.nan, math.nan, f"Eq. (34) not computed: {exc}"
    coords = {
        "B": ("B", B, {"units": "T", "long_name": "magnetic field"}),
        "b": ("B", b, {"long_name": "b = 4eDBτ/ħ (Landau-level spacing of Q = Dq²τ)"}),
    }
    data = {}
    attrs = {}
    status_attrs = {
        "flag_values": np.array([-1, 0, 1], np.int8),
        "flag_meanings": "failed converged accuracy_not_reached",
    }
    for name in ("direct", "eq32"):
        if name not in curves:
            continue
        ds, err, parts = curves[name]
        label = "Eq. (24) solved directly" if name == "direct" else "Eq. (32)"
        data[f"delta_sigma_{name}"] = (
            "B",
            ds,
            {"units": "e^2/h", "long_name": f"Δσ(B) = σ(B) − σ(0), {label}"},
        )
        data[f"delta_sigma_{name}_error"] = ("B", err, {"units": "e^2/h"})
        for k, p in parts.items():
            data[f"delta_sigma_{name}_error_{k}"] = ("B", p, {"units": "e^2/h"})
        status = np.where(np.isfinite(ds), np.where(err <= rtol * np.abs(ds), 0, 1), -1)
        data[f"delta_sigma_{name}_status"] = ("B", status.astype(np.int8), status_attrs)
        fit = _hln.fit_hln(B, ds, D, window=fit_window, alpha_free=alpha_free)
        data[f"B_phi_{name}"] = ((), fit.B_phi, {"units": "T", "long_name": "HLN fit B_φ"})
        data[f"alpha_{name}"] = ((), fit.alpha, {"long_name": "HLN prefactor α"})
        data[f"tau_phi_hln_{name}"] = ((), fit.tau_phi, {"units": "s", "long_name": "ħ/(4eDB_φ)"})
        data[f"tau_phi_hln_over_eq34_{name}"] = ((), fit.tau_phi / tau_phi_34)
        data[f"hln_residual_{name}"] = ("B", fit.residuals, {"units": "e^2/h"})
        data[f"in_fit_window_{name}"] = ("B", fit.window)
        data[f"fit_rms_{name}"] = ((), fit.rms, {"units": "e^2/h"})
        data[f"fit_status_{name}"] = ((), np.int8(fit.status), _hln.FitStatus.flag_attrs())
        attrs[f"fit_message_{name}"] = fit.message
    if nodes is not None:
        coords["Q_node"] = ("Q_node", nodes["Q"], {"long_name": "Q = Dq²τ"})
        data["F0_direct_node"] = ("Q_node", nodes["F_direct"], {"long_name": "F(0; Q), (24)"})
        data["F0_direct_node_error"] = ("Q_node", nodes["F_direct_error"])
        data["F0_eq32_node"] = ("Q_node", nodes["F_eq32"], {"long_name": "F(0; Q), (32)"})
    data["tau_phi_eq34"] = ((), tau_phi_34, {"units": "s"})
    data["log_tau_phi_over_tau_eq34"] = ((), log34)
    attrs["eq34_message"] = msg34
    return xr.Dataset(data, coords=coords, attrs=attrs)
