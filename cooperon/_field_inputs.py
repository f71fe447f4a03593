"""What the magnetoconductance needs from a model: F(0; Q) of Eq. (24), Φ and Γ of (32).

:func:`field_inputs` turns :class:`~cooperon.parameters.Parameters`, a
:class:`~cooperon.vertex.Vertex` or a defect ensemble
(:mod:`cooperon.ensembles`) into a :class:`FieldInputs`:

* ``direct(Q) -> (F0, error)`` – F(0; Q) of Eq. (24) solved directly
  (:func:`cooperon.direct.solve_direct`), memoised on Q;
* ``phi(u)``, ``Gamma(u)`` – Φ(u) and Γ(u) = ∫_0^u λ (Eq. 33 at Q = 0), from
  which F_(32)(0; Q) = ∫_0^∞ Φ(u) e^{−Qu−Γ(u)} du and its Landau-level sum
  follow by quadrature;
* ``vertex`` – Φ as a sum of exponentials (for its scales: the fastest rate
  and the oscillations alive at each time);
* ``log_tau_phi_eq34()`` – ln(τ_φ/τ) of Eq. (34);
* ``tau`` – the physical time unit τ in seconds.

Time is in units of τ and c = 1 throughout.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._quadrature import adaptive_gk15
from .closed_forms import ln_tau_phi
from .direct import solve_direct
from .parameters import NoCutoffError, Parameters, _positive
from .vertex import Vertex

__all__ = ["FieldInputs", "field_inputs"]

#: The ensemble vertex is fitted over [0, s_max] with Γ̄(s_max) = this (the
#: direct solutions need Γ̄(T) ≈ 25–50 at rtol 1e-8–1e-12; e^{−100} is far below).
ENSEMBLE_HISTORY_GAMMA = 100.0


@dataclass
class FieldInputs:
    """F(0; Q) of Eq. (24), and Φ, Γ of Eq. (32), for one model (time in units of τ).

    Attributes
    ----------
    tau : float
        τ in seconds.
    direct : callable
        Q ↦ (F(0; Q), absolute error estimate) of Eq. (24) solved directly.
    phi, Gamma : callable
        Φ(u) and Γ(u) = ∫_0^u (1 − Φ) for arrays u ≥ 0.
    vertex : Vertex
        Φ as a sum of exponentials.
    log_tau_phi_eq34 : callable
        () ↦ ln(τ_φ/τ) of Eq. (34).
    description : str
        ``repr`` of the model.
    counters : dict
        ``n_direct`` (solves), ``seconds_direct``, ``seconds_setup``.
    cache : dict
        Q ↦ (F0, error) of the solves done so far.
    """

    tau: float
    direct_solve: Callable[[float], tuple[float, float]]
    phi: Callable[[np.ndarray], np.ndarray]
    Gamma: Callable[[np.ndarray], np.ndarray]
    vertex: Vertex
    log_tau_phi_eq34: Callable[[], float]
    description: str
    counters: dict = field(default_factory=lambda: {"n_direct": 0, "seconds_direct": 0.0})
    cache: dict = field(default_factory=dict)

    def direct(self, Q: float) -> tuple[float, float]:
        """(F(0; Q), error estimate) of Eq. (24), memoised."""
        Q = float(Q)
        if Q not in self.cache:
            start = time.perf_counter()
            self.cache[Q] = self.direct_solve(Q)
            self.counters["n_direct"] += 1
            self.counters["seconds_direct"] += time.perf_counter() - start
        return self.cache[Q]

    def direct_many(self, Q: np.ndarray, executor=None) -> np.ndarray:
        """(F0, error) rows for every Q, solving the missing ones (through ``executor.map``
        if given: any :class:`concurrent.futures.Executor`; the solves release the GIL)."""
        Q = [float(q) for q in np.asarray(Q, dtype=float)]
        missing = list(dict.fromkeys(q for q in Q if q not in self.cache))
        if missing:
            start = time.perf_counter()
            mapper = map if executor is None else executor.map
            for q, res in zip(missing, mapper(self.direct_solve, missing), strict=True):
                self.cache[q] = res
            self.counters["n_direct"] += len(missing)
            self.counters["seconds_direct"] += time.perf_counter() - start
        return np.array([self.cache[q] for q in Q])


def _solved(sol) -> tuple[float, float]:
    if sol.status < 0:
        raise ArithmeticError(f"solve_direct failed at Q = {sol.Q!r}: {sol.message}")
    return float(sol.F0), float(sol.error_estimate)


def _log_tau_phi_vertex(v: Vertex) -> float:
    """ln(τ_φ/τ) of Eq. (34) for Φ = ``v``: ∫_1^∞ (dη/η) e^{−Γ(η)} = ∫_0^∞ e^{−Γ(e^t)} dt."""
    if not v.dephasing > 0:
        raise NoCutoffError("ln(tau_phi/tau) = infinity (Eq. 34): Φ → 1 in the past")
    # Γ(η) ≥ (λ(∞) − |excess|) η eventually; go where Γ ≥ 50
    eta = 1.0
    while float(v.lambda_integral(eta)) < 50.0:
        eta *= 2.0
        if eta > 1e300:
            raise OverflowError("ln(tau_phi/tau): Γ stays below 50 up to η = 1e300")
    t_c = math.log(eta)
    edges = np.linspace(0.0, t_c, max(2, int(math.ceil(t_c / 0.5)) + 1))
    value, err = adaptive_gk15(lambda t: np.exp(-v.lambda_integral(np.exp(t))), edges, rtol=1e-12)
    if not err <= 1e-8 * value:
        raise ArithmeticError(f"ln(tau_phi/tau): quadrature error {err:.2e} exceeds 1e-8 relative")
    return float(value)


def _require_tau(tau, kind: str) -> float:
    if tau is None:
        raise ValueError(
            f"tau (the relaxation time τ in seconds) is required with {kind}: the field "
            "b = 4eDBτ/ħ and τ_φ in seconds need it (ensembles carry their own tau)"
        )
    return _positive("tau", tau)


def field_inputs(model, *, tau: float | None = None, rtol: float = 1e-8) -> FieldInputs:
    """:class:`FieldInputs` for Parameters, a Vertex or a defect ensemble.

    Parameters
    ----------
    model : Parameters, Vertex or ensemble
        ``Parameters.Dq2_tau`` is ignored (the field sets Q).  An ensemble is
        any of :class:`~cooperon.ensembles.TunnelingModel`,
        :class:`~cooperon.ensembles.GlassModel`,
        :class:`~cooperon.ensembles.GaussianBarrier`; its vertex Φ̄ is fitted
        once, over the history where Γ̄ ≤ 100, and Eq. (32) uses λ̄, Γ̄
        themselves.
    tau : float, optional
        τ in seconds; required for Parameters and Vertex, and if given for an
        ensemble it must equal ``model.tau``.
    rtol : float
        Relative accuracy of each direct solution.

    Raises
    ------
    ValueError
        Missing or invalid ``tau``.
    NoCutoffError
        If nothing dephases (then Δσ(B) is infinite).
    TypeError
        For another kind of model.
    """
    start = time.perf_counter()
    if isinstance(model, Parameters):
        tau = _require_tau(tau, "Parameters")
        v = Vertex.from_parameters(model)
        if not v.dephasing > 0:
            raise NoCutoffError(
                "no active dephasing channel: F(0; Q) ~ 1/Q and σ(B = 0) = −∞ "
                f"(Δσ(B) is infinite); got {model!r}"
            )

        def solve(Q: float) -> tuple[float, float]:
            return _solved(solve_direct(model.replace(Dq2_tau=Q), rtol))

        inp = FieldInputs(
            tau, solve, v, v.lambda_integral, v, lambda: ln_tau_phi(model), repr(model)
        )
    elif isinstance(model, Vertex):
        tau = _require_tau(tau, "a Vertex")
        v = model
        if not v.dephasing > 0:
            raise NoCutoffError(
                "Φ → 1 in the past (no dephasing): F(0; Q) ~ 1/Q and Δσ(B) is infinite"
            )

        def solve(Q: float) -> tuple[float, float]:
            return _solved(solve_direct(v, rtol, Q=Q))

        inp = FieldInputs(
            tau, solve, v, v.lambda_integral, v, lambda: _log_tau_phi_vertex(v), repr(v)
        )
    elif all(hasattr(model, a) for a in ("vertex_terms", "lambda_bar", "Gamma_bar", "tau")):
        if tau is not None and _positive("tau", tau) != model.tau:
            raise ValueError(f"tau = {tau!r} differs from the ensemble's tau = {model.tau!r}")
        s_max = model.eta_where(ENSEMBLE_HISTORY_GAMMA)
        vt = model.vertex_terms(s_max)
        v = Vertex(vt.c, vt.alpha)

        def solve(Q: float) -> tuple[float, float]:
            sol = solve_direct(v, rtol, Q=Q)
            if sol.T > s_max:
                raise ArithmeticError(
                    f"the direct solution at Q = {Q!r} needs the history T = {sol.T:.3g} τ, "
                    f"beyond the window s_max = {s_max:.3g} τ of the fitted vertex"
                )
            return _solved(sol)

        def phi(u):
            return 1.0 - np.asarray(model.lambda_bar(u))

        def Gamma(u):
            return np.asarray(model.Gamma_bar(u))

        inp = FieldInputs(
            float(model.tau), solve, phi, Gamma, v, model.log_tau_phi_eq34, repr(model)
        )
    else:
        raise TypeError(
            "model must be cooperon.Parameters, a cooperon.vertex.Vertex or a defect "
            f"ensemble of cooperon.ensembles, got {type(model).__name__}"
        )
    inp.counters["seconds_setup"] = time.perf_counter() - start
    return inp
