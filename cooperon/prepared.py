"""A model prepared for the Q-integrals: Φ as a sum of exponentials, memoised F(0; Q), (32), (34).

The dephasing time (:mod:`cooperon.dephasing`: ∫_0^∞ [F_direct − F_(32)] dQ)
and the magnetoconductance (:mod:`cooperon.magneto`: Landau-level sums of
F(0; Q)) need the same things from a model of the defects.
:func:`prepare_model` builds them once, as a :class:`PreparedModel`, from
:class:`~cooperon.parameters.Parameters` (Eq. 25), a
:class:`~cooperon.vertex.Vertex` Φ, or a defect ensemble (Sec. II C,
:mod:`cooperon.ensembles`, or any object with the methods of
:class:`EnsembleModel`).  Time is in units of τ and c = 1 throughout.

* ``vertex``: Φ of Eq. (24) as a sum of exponentials.  Exact for Parameters
  and a Vertex.  For an ensemble, the averaged Φ̄ = 1 − λ̄ is fitted once
  (``vertex_terms``) on the window [0, s_max], s_max = the η at which
  Γ̄(η) = 100 (the solutions of Eq. 24 use histories up to where Γ̄ ≈ 25–50
  at rtol 1e-8–1e-12), to atol = max(0.1 rtol/s_max, :data:`ATOL_FLOOR`):
  an error δ of Φ̄ shifts Γ̄ by at most δ s_max ≤ rtol/10 over the window.
  The floor, ≈ 20 ulp of Φ̄ ≈ 1, is what double precision can verify
  (Φ̄ and 1 − λ̄ differ by rounding, ~1e-16); it binds only for histories
  beyond 0.05 rtol/ATOL_FLOOR (5e7 τ at rtol 1e-6).
* :meth:`PreparedModel.solve`: F(0; Q) of Eq. (24) solved directly
  (:func:`cooperon.direct.solve_direct`) for that vertex, memoised on Q: a
  solution is reused for every later request at an rtol at least as loose
  as the one it was computed with.  :meth:`PreparedModel.direct_many` solves
  many Q at once (optionally through an executor).
* :meth:`PreparedModel.F32`: Eq. (32) for the vertex, F_(32)(0; Q) =
  ∫_0^∞ Φ(u) e^{−Qu−Γ(u)} du, with its error (the closed form of
  :mod:`cooperon.closed_forms` for Parameters, quadrature otherwise).
* ``phi``, ``Gamma``: Φ(u) and Γ(u) = ∫_0^u λ of the model itself (for an
  ensemble the averages λ̄, Γ̄ of the distribution, not of the fit).
* ``eq34``, ``eq34_error``: ln(τ_φ/τ) of Eq. (34) of the model (lower limit
  η = 1), computed on first use; ``eq34_of_vertex``: Eq. (34) of the fitted
  vertex by the same quadrature as an ensemble's own (a measured check of
  the fit).
* ``tau``: τ in seconds where the model carries it (ensembles) or it is
  given.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ._quadrature import adaptive_gk15
from ._vertex_wkb import eq32_integral, eq34_integral
from .closed_forms import F0_eq32, ln_tau_phi
from .direct import solve_direct
from .parameters import NoCutoffError, Parameters, _positive
from .vertex import Vertex

__all__ = [
    "ATOL_FLOOR",
    "HISTORY_GAMMA",
    "EnsembleModel",
    "PreparedModel",
    "Solution",
    "prepare_model",
]

#: The ensemble vertex is fitted over [0, s_max] with Γ̄(s_max) = this (e^{−100} ≈ 4e-44).
HISTORY_GAMMA = 100.0
#: Smallest absolute accuracy asked of a fitted vertex (≈ 20 ulp of Φ̄ ≈ 1).
ATOL_FLOOR = 2e-15
#: Accuracy of the closed forms of :mod:`cooperon.closed_forms` (their docstrings).
_CLOSED_FORM_RTOL = 1e-12
#: Requested relative accuracy of an ensemble's Eq. (34) (``log_tau_phi_eq34``).
_ENSEMBLE_EQ34_RTOL = 1e-11


@runtime_checkable
class EnsembleModel(Protocol):
    """What :func:`prepare_model` needs from an average over defects (Sec. II C).

    Time in units of τ.  Φ̄ = 1 − λ̄ is the averaged vertex of Eq. (24).
    Optional: ``lambda_bar(s)`` (λ̄ itself, for Eq. (32) in a field; the fitted
    vertex is used without it), ``eta_where(Gamma)`` (the η with Γ̄(η) =
    Gamma; found by bisection without it) and ``tau`` (τ in seconds).
    """

    def vertex_terms(self, s_max: float, atol: float) -> Any:
        """Φ̄(x) ≈ Σ c_k e^{−α_k|x|} with error ≤ max_error on |x| ≤ s_max.

        Either an object with attributes ``c``, ``alpha``, ``max_error``
        (:class:`cooperon.ensembles.VertexTerms`) or a tuple
        ``(c, alpha, max_error)``.
        """
        ...

    def Gamma_bar(self, eta: float) -> float:
        """Γ̄(η) = ∫_0^η λ̄(s) ds (Eq. 34 averaged)."""
        ...

    def log_tau_phi_eq34(self) -> float:
        """Eq. (34) with Γ̄: ∫_1^∞ (dη/η) e^{−Γ̄(η)}."""
        ...


@dataclass(frozen=True)
class Solution:
    """F(0; Q) of Eq. (24) at one Q: what :meth:`PreparedModel.solve` keeps of a solve."""

    Q: float
    F0: float
    error: float
    T: float
    status: int
    message: str
    rtol: float


@dataclass(eq=False)
class PreparedModel:
    """A model prepared for the Q-integrals (module notes); build with :func:`prepare_model`.

    Attributes
    ----------
    kind : str
        ``"parameters"``, ``"vertex"`` or ``"ensemble"``.
    source : object
        The model it was prepared from.
    vertex : Vertex
        Φ of Eq. (24) (exact, or the fitted Φ̄ of an ensemble).
    phi, Gamma : callable
        Φ(u) and Γ(u) = ∫_0^u (1 − Φ) of the model itself, for arrays u ≥ 0.
    tau : float or None
        τ in seconds.
    description : str
        ``repr`` of the model.
    s_max : float
        Longest history the vertex is valid for (inf if exact).
    vertex_error, vertex_atol : float
        Error of the fitted vertex on |x| ≤ s_max and what was asked for
        (0 and inf if exact).
    direct_rtol : float
        Relative accuracy of :meth:`solve` when none is given.
    coords, attrs : dict
        Scalar coordinates and attributes describing the model (for datasets).
    counters : dict
        ``n_direct`` (solves done), ``seconds_direct``, ``seconds_setup``.
    cache : dict
        Q ↦ :class:`Solution` of the solves done so far.
    """

    kind: str
    source: Any
    vertex: Vertex
    phi: Callable[[np.ndarray], np.ndarray]
    Gamma: Callable[[np.ndarray], np.ndarray]
    tau: float | None
    description: str
    _eq34: Callable[[], tuple[float, float]] = field(repr=False)
    _F32: Callable[[float], tuple[float, float]] = field(repr=False)
    s_max: float = math.inf
    vertex_error: float = 0.0
    vertex_atol: float = math.inf
    direct_rtol: float = 1e-8
    coords: dict = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)
    counters: dict = field(
        default_factory=lambda: {"n_direct": 0, "seconds_direct": 0.0, "seconds_setup": 0.0}
    )
    cache: dict = field(default_factory=dict, repr=False)

    # -- Eqs. (32), (34) ---------------------------------------------------------

    def F32(self, Q: float) -> tuple[float, float]:
        """(F_(32)(0; Q), absolute error) of Eq. (32) for :attr:`vertex`."""
        return self._F32(float(Q))

    @functools.cached_property
    def _eq34_value(self) -> tuple[float, float]:
        return self._eq34()

    @property
    def eq34(self) -> float:
        """ln(τ_φ/τ) of Eq. (34) for the model (lower limit η = 1)."""
        return self._eq34_value[0]

    @property
    def eq34_error(self) -> float:
        """Error estimate of :attr:`eq34`."""
        return self._eq34_value[1]

    @functools.cached_property
    def eq34_of_vertex(self) -> float:
        """Eq. (34) of :attr:`vertex` by the quadrature of :func:`eq34_by_gamma`."""
        return eq34_by_gamma(self.vertex.lambda_integral)

    # -- Eq. (24) ----------------------------------------------------------------

    def _solve(self, Q: float, rtol: float) -> Solution:
        sol = solve_direct(self.vertex, rtol, Q=Q)
        return Solution(
            Q, float(sol.F0), float(sol.error_estimate), float(sol.T), int(sol.status),
            sol.message, rtol,
        )  # fmt: skip

    def _cached(self, Q: float, rtol: float) -> Solution | None:
        hit = self.cache.get(Q)
        return hit if hit is not None and hit.rtol <= rtol else None

    def solve(self, Q: float, rtol: float | None = None) -> Solution:
        """F(0; Q) of Eq. (24) solved directly at ``rtol`` (default :attr:`direct_rtol`), memoised.

        Raises
        ------
        ArithmeticError
            From :func:`~cooperon.direct.solve_direct` (grid or history too large).
        """
        Q = float(Q)
        rtol = self.direct_rtol if rtol is None else float(rtol)
        hit = self._cached(Q, rtol)
        if hit is not None:
            return hit
        start = time.perf_counter()
        sol = self._solve(Q, rtol)
        self.counters["n_direct"] += 1
        self.counters["seconds_direct"] += time.perf_counter() - start
        self.cache[Q] = sol
        return sol

    def _checked(self, sol: Solution) -> tuple[float, float]:
        if sol.status < 0:
            raise ArithmeticError(f"solve_direct failed at Q = {sol.Q!r}: {sol.message}")
        if sol.T > self.s_max:
            raise ArithmeticError(
                f"the direct solution at Q = {sol.Q!r} needs the history T = {sol.T:.3g} τ, "
                f"beyond the window s_max = {self.s_max:.3g} τ of the fitted vertex"
            )
        return sol.F0, sol.error

    def direct(self, Q: float, rtol: float | None = None) -> tuple[float, float]:
        """(F(0; Q), error estimate) of Eq. (24), memoised (:meth:`solve`).

        Raises
        ------
        ArithmeticError
            If the solver failed or needed a history beyond :attr:`s_max`.
        """
        return self._checked(self.solve(Q, rtol))

    def direct_many(
        self, Q: Iterable[float], rtol: float | None = None, executor=None
    ) -> np.ndarray:
        """(F0, error) rows for every Q, solving the missing ones.

        Through ``executor.map`` if given (any :class:`concurrent.futures.Executor`;
        the solves release the GIL, so a thread pool helps).  Raises as :meth:`direct`.
        """
        rtol = self.direct_rtol if rtol is None else float(rtol)
        Q = [float(q) for q in np.asarray(list(Q), dtype=float)]
        missing = list(dict.fromkeys(q for q in Q if self._cached(q, rtol) is None))
        if missing:
            start = time.perf_counter()
            mapper = map if executor is None else executor.map
            for q, sol in zip(
                missing, mapper(lambda q: self._solve(q, rtol), missing), strict=True
            ):
                self.cache[q] = sol
            self.counters["n_direct"] += len(missing)
            self.counters["seconds_direct"] += time.perf_counter() - start
        return np.array([self._checked(self.cache[q]) for q in Q])


# ---------------------------------------------------------------------------
# Eq. (34) from Γ: the quadrature shared by the fitted vertex and the ensembles
# ---------------------------------------------------------------------------


def eq34_by_gamma(Gamma: Callable[[np.ndarray], np.ndarray], rtol: float = 1e-12) -> float:
    """ln(τ_φ/τ) = ∫_1^∞ (dη/η) e^{−Γ(η)} = ∫_0^{t_c} e^{−Γ(e^t)} dt (Eq. 34), Γ increasing.

    t_c where Γ ≥ 50 (the rest < e^{−50}/(Γ′η) ≪ 1e-20); adaptive Gauss–Kronrod
    7/15 on panels of 0.5 in t.  Used for the fitted vertex of an ensemble
    beside the ensemble's own Eq. (34), which uses the same rule on Γ̄.

    Raises
    ------
    OverflowError
        If Γ stays below 50 up to η = 1e300.
    ArithmeticError
        If the quadrature error estimate exceeds 1e-8 relative.
    """
    eta = 1.0
    while float(np.asarray(Gamma(np.array([eta])))[0]) < 50.0:
        eta *= 2.0
        if eta > 1e300:
            raise OverflowError("ln(tau_phi/tau): Γ stays below 50 up to η = 1e300")
    t_c = math.log(eta)
    edges = np.linspace(0.0, t_c, max(2, int(math.ceil(t_c / 0.5)) + 1))
    value, err = adaptive_gk15(lambda t: np.exp(-np.asarray(Gamma(np.exp(t)))), edges, rtol=rtol)
    if not err <= 1e-8 * value:
        raise ArithmeticError(f"ln(tau_phi/tau): quadrature error {err:.2e} exceeds 1e-8 relative")
    return float(value)


# ---------------------------------------------------------------------------
# the three kinds of model
# ---------------------------------------------------------------------------

_PARAMETER_ATTRS = {
    "tau_over_tau1": ("r₁ = τ/τ₁, weight of the resonant channel", "(20), (25)"),
    "tau_over_tau3": ("r₃ = τ/τ₃, weight of the relaxation channel", "(20), (25)"),
    "E_tau": ("ε = Eτ/ħ, TLS level splitting", "(25)"),
    "gamma_tau": ("g = γτ/ħ, TLS switching rate", "(15), (25)"),
}


def _from_parameters(p: Parameters, tau: float | None) -> PreparedModel:
    if not (p.resonant_active or p.relaxation_active):
        raise NoCutoffError(
            "ln(tau_phi/tau) = infinity: no active dephasing channel (tau_over_tau1 > 0 "
            "needs E_tau > 0, tau_over_tau3 > 0 needs gamma_tau > 0); the Q-integral of "
            f"F(0) diverges at Q = 0 (and Δσ(B) is infinite). Got {p!r}"
        )
    import xarray as xr

    v = Vertex.from_parameters(p)

    def F32(Q: float) -> tuple[float, float]:
        value = F0_eq32(p.replace(Dq2_tau=Q))
        # documented: ≤ 1e-12 relative, or ≲ 1e-14 ∫e^ϑ ≈ 1e-14/(Q + rate) when Φe^ϑ averages out
        return value, _CLOSED_FORM_RTOL * abs(value) + 1e-14 / (Q + p.dephasing_rate)

    def eq34() -> tuple[float, float]:
        value = ln_tau_phi(p)
        return value, _CLOSED_FORM_RTOL * abs(value)

    coords = {
        name: xr.Variable((), getattr(p, name), {"long_name": ln, "units": "1", "equation": eq})
        for name, (ln, eq) in _PARAMETER_ATTRS.items()
    }
    return PreparedModel(
        "parameters", p, v, v, v.lambda_integral, tau, repr(p), eq34, F32, coords=coords
    )


def _from_vertex(v: Vertex, tau: float | None) -> PreparedModel:
    if not v.dephasing > 0:
        raise NoCutoffError(
            "ln(tau_phi/tau) = infinity: the vertex does not dephase (Φ → 1 in the past: "
            f"1 - Σ_(α=0) c = {v.dephasing!r}); the Q-integral of F(0) diverges at Q = 0 "
            "(and Δσ(B) is infinite)"
        )
    return PreparedModel(
        "vertex",
        v,
        v,
        v,
        v.lambda_integral,
        tau,
        repr(v),
        lambda: eq34_integral(v),
        lambda Q: eq32_integral(v, Q),
    )


def _bisect_history(model: EnsembleModel, level: float) -> float:
    """η with Γ̄(η) ≥ ``level`` (geometric search, then bisection in log η to 1e-3)."""
    lo, hi = 1.0, 1.0
    while float(model.Gamma_bar(hi)) < level:
        lo, hi = hi, 4.0 * hi
        if hi > 1e15:
            raise ArithmeticError(
                f"Gamma_bar(eta) stays below {level} up to eta = 1e15: dephasing too weak"
            )
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        if float(model.Gamma_bar(mid)) < level:
            lo = mid
        else:
            hi = mid
        if hi <= lo * (1 + 1e-3):
            break
    return hi


def history_window(model: EnsembleModel) -> float:
    """s_max: the η at which Γ̄(η) = :data:`HISTORY_GAMMA` (``eta_where`` if the model has it)."""
    if hasattr(model, "eta_where"):
        return float(model.eta_where(HISTORY_GAMMA))
    return _bisect_history(model, HISTORY_GAMMA)


def vertex_atol(rtol: float, s_max: float) -> float:
    """atol of the ensemble vertex fit: max(0.1 rtol/s_max, :data:`ATOL_FLOOR`)."""
    return max(0.1 * rtol / s_max, ATOL_FLOOR)


#: Tighter atol of the second attempt of a vertex fit that failed its own final check.
_RETRY_FACTOR = 0.25


def _fit_vertex(model: EnsembleModel, s_max: float, atol: float):
    """``(model.vertex_terms(s_max, atol), atol used)``, tried once more at atol/4 if it fails.

    ``vertex_terms`` of :mod:`cooperon.ensembles` chooses the order of the
    compressed sum on one grid and checks it on a finer one; where the finer
    check fails (by a few tens of per cent), a tighter atol picks a larger
    order that passes the original atol (e.g. the tunnelling model of the
    default ``cooperon dephasing`` scan at T = 289 mK: max error 5.5e-11 >
    atol = 4.5e-11; at atol/4, 33 terms with max error 1.0e-11).
    """
    from .exponential_sums import CompressionError

    try:
        return model.vertex_terms(s_max, atol), atol
    except (ArithmeticError, CompressionError) as first:
        try:
            return model.vertex_terms(s_max, _RETRY_FACTOR * atol), _RETRY_FACTOR * atol
        except (ArithmeticError, CompressionError) as exc:
            raise ArithmeticError(
                f"the fit of the averaged vertex failed at atol = {atol:.3g} ({first}) and "
                f"at {_RETRY_FACTOR * atol:.3g} ({exc})"
            ) from None


def _from_ensemble(
    model: EnsembleModel, rtol: float, tau: float | None, max_history: float
) -> PreparedModel:
    model_tau = getattr(model, "tau", None)
    if tau is not None and model_tau is not None and tau != model_tau:
        raise ValueError(f"tau = {tau!r} differs from the ensemble's tau = {model_tau!r}")
    s_max = history_window(model)
    if s_max > max_history:
        raise ArithmeticError(
            f"the history needed, η = {s_max:.3g} τ (where Γ̄ = {HISTORY_GAMMA:g}), exceeds "
            f"max_history = {max_history:.3g} τ: the fit of Φ̄ and the solutions of Eq. (24) "
            "would cost too much (they grow with the history)"
        )
    atol = vertex_atol(rtol, s_max)
    fit, fit_atol = _fit_vertex(model, s_max, atol)
    if hasattr(fit, "max_error"):
        c, alpha, max_error = fit.c, fit.alpha, fit.max_error
    else:
        c, alpha, max_error = fit
    v = Vertex(np.asarray(c), np.asarray(alpha))
    if not v.dephasing > 0:
        raise NoCutoffError(
            f"the fitted vertex of {model!r} does not dephase (1 - Σ_(α=0) c = {v.dephasing!r})"
        )
    attrs: dict[str, Any] = {
        "model": type(model).__name__,
        "vertex_s_max": s_max,
        "vertex_atol": atol,
        "vertex_fit_atol": fit_atol,
        "vertex_max_error": float(max_error),
        "vertex_terms": int(v.c.size),
    }
    if dataclass_fields := getattr(model, "__dataclass_fields__", None):
        names: Iterable[str] = dataclass_fields
    else:
        names = [k for k in vars(model) if not k.startswith("_")]
    for name in names:
        value = getattr(model, name)
        if isinstance(value, (int, float, str, bool)) and not isinstance(value, np.generic):
            attrs[f"model_{name}"] = value
    if hasattr(model, "lambda_bar"):

        def phi(u):
            return 1.0 - np.asarray(model.lambda_bar(u))

        def Gamma(u):
            return np.asarray(model.Gamma_bar(u))

    else:
        phi, Gamma = v, v.lambda_integral

    def eq34() -> tuple[float, float]:
        value = float(model.log_tau_phi_eq34())
        return value, _ENSEMBLE_EQ34_RTOL * abs(value)

    return PreparedModel(
        "ensemble",
        model,
        v,
        phi,
        Gamma,
        tau if tau is not None else model_tau,
        repr(model),
        eq34,
        lambda Q: eq32_integral(v, Q),
        s_max=s_max,
        vertex_error=float(max_error),
        vertex_atol=atol,
        attrs=attrs,
    )


def prepare_model(
    model: Parameters | Vertex | EnsembleModel | PreparedModel,
    *,
    rtol: float = 1e-6,
    tau: float | None = None,
    direct_rtol: float = 1e-8,
    max_history: float = 1e9,
) -> PreparedModel:
    """The :class:`PreparedModel` of Parameters, a Vertex or a defect ensemble.

    Parameters
    ----------
    model
        :class:`~cooperon.Parameters` (its ``Dq2_tau`` is ignored: Q is what
        the integrals run over), a :class:`~cooperon.vertex.Vertex` Φ, an
        ensemble (:class:`EnsembleModel`), or a :class:`PreparedModel`
        (returned as it is).
    rtol
        Accuracy the results are wanted to (ln τ_φ absolute, Δσ relative):
        sets the atol of the ensemble vertex fit (module notes).
    tau
        τ in seconds (an ensemble carries its own; if given it must agree).
    direct_rtol
        Relative accuracy of :meth:`PreparedModel.solve` when none is given.
    max_history
        Longest history (units of τ) an ensemble may need, Γ̄(s_max) = 100;
        beyond it the fit and the solutions cost too much and are refused.

    Raises
    ------
    NoCutoffError
        If nothing dephases (Eq. 34 and the Q-integral diverge).
    ValueError
        For a ``tau`` that is not positive or differs from the ensemble's.
    ArithmeticError
        If the ensemble's history exceeds ``max_history``, or its fit fails.
    TypeError
        For anything else.
    """
    if isinstance(model, PreparedModel):
        return model
    start = time.perf_counter()
    if tau is not None:
        tau = _positive("tau", tau)
    if isinstance(model, Parameters):
        out = _from_parameters(model, tau)
    elif isinstance(model, Vertex):
        out = _from_vertex(model, tau)
    elif isinstance(model, EnsembleModel):
        out = _from_ensemble(model, rtol, tau, max_history)
    else:
        raise TypeError(
            "model must be a cooperon.Parameters, a cooperon.vertex.Vertex or an ensemble "
            "with vertex_terms(s_max, atol), Gamma_bar(eta) and log_tau_phi_eq34() "
            f"(e.g. cooperon.ensembles.TunnelingModel); got {type(model).__name__}"
        )
    out.direct_rtol = float(direct_rtol)
    out.counters["seconds_setup"] = time.perf_counter() - start
    return out
