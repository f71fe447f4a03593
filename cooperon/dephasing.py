"""ln(τ_φ/τ) for one defect class: Eq. (34) and the shift from the direct solution of Eq. (24).

Integrating F(0; q) over q in 2D gives the weak-localisation correction
δσ = −(e²/2π²ħ) ln(τ_φ/τ).  With c = 1, ∫_0^∞ e^{Qt} dQ = 1/|t| turns
Eq. (32) into the 1/η of Eq. (34), whose lower limit η = 1 is the cutoff
qℓ ~ 1.  The shift between the direct solution and (32),

    Δ ln τ_φ = ∫_0^∞ [F_direct(0; Q) − F_(32)(0; Q)] dQ = ln(τ_φ,direct / τ_φ,(32)),

needs no cutoff: the difference is finite at Q = 0 when a dephasing channel
is active and decays like C₂/Q² at large Q, with (derived in
``docs/dephasing.md``)

    C₂ = ∫_0^∞ e^{−v} Φ(v)² dv − Φ(0) − Φ′(0⁺) + Φ(0) λ(0)

(for Φ(0) = 1: the first Neumann term of (24) minus the first Watson term of
(32)).  :func:`log_tau_phi` returns Eq. (34), Δ, their sum
ln(τ_φ,direct/τ) and the integrand at the quadrature nodes.

Numerical method
----------------
* Q = rate (e^y − 1) on y ∈ [0, y_max] (rate = the dephasing rate), adaptive
  Gauss–Kronrod (7, 15) with the error Σ|K₁₅ − G₇|
  (:mod:`cooperon._q_integral`).
* Beyond Q_max = rate (e^{y_max} − 1) ≥ 10³ max(1, |α|_max): the tail
  ∫_{Q_max}^∞ = [C₂/Q_max + Q_max d(Q_max)]/2 + O(Q_max⁻³), d = F_direct − F_(32),
  with error estimate |Q_max d(Q_max) − C₂/Q_max|/2 (the C₃ term; its
  neglected remainder is smaller by a factor 3 or more); Q_max grows ×10
  until that is within budget.
* Each node's F_direct comes from :func:`cooperon.solve_direct` with its own
  error estimate; the node is given the allowance
  0.25 rtol/(y_max (Q + rate)), which keeps Σ w_i err_i ≤ rtol/4 (the
  solver's history shortens with Q: the damping rate counts Q).
* Error budget (absolute, in ln): quadrature rtol/2, nodes rtol/4, tail
  rtol/10, Eq. (34) and (32) quadratures ~1e-12.

Models
------
The Q-integral needs, from a model, Φ as a :class:`~cooperon.vertex.Vertex`,
F_(32)(0; Q) for that Φ, Eq. (34) and the solutions of Eq. (24): a
:class:`~cooperon.prepared.PreparedModel` (:mod:`cooperon.prepared`, shared
with :mod:`cooperon.magneto`), built by :func:`as_model` from
:class:`~cooperon.Parameters` (closed forms of :mod:`cooperon.closed_forms`),
from a :class:`~cooperon.vertex.Vertex` ((32) and (34) by quadrature,
:mod:`cooperon._vertex_wkb`) or from a defect ensemble
(:class:`~cooperon.prepared.EnsembleModel`: averages over defects, Sec. II C,
with the averaged vertex fitted once).
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from . import __version__
from ._q_integral import q_integral_to_infinity
from .parameters import Parameters
from .prepared import EnsembleModel, PreparedModel, prepare_model, vertex_atol
from .vertex import Vertex

__all__ = [
    "DephasingModel",
    "EnsembleModel",
    "PreparedModel",
    "as_model",
    "asymptotic_C2",
    "log_tau_phi",
]

#: The model protocol of :func:`log_tau_phi` (the name it had before it was shared).
DephasingModel = PreparedModel
#: A node is solved at this multiple of the rtol its allowance needs: solve_direct
#: usually delivers far more than it is asked for; where the sum of the node errors
#: still exceeds its budget, the worst nodes are solved again (cooperon._q_integral).
_OPTIMISM = 10.0
#: Error budget of log_tau_phi_direct, as fractions of rtol.
_QUAD, _NODES, _TAIL = 0.5, 0.25, 0.1
#: Largest initial panel in y = ln(1 + Q/rate), and fewest initial panels.
_PANEL, _MIN_PANELS = 10.0, 2
#: Bounds of the rtol handed to solve_direct.
_NODE_RTOL = (1e-12, 1e-3)


def as_model(
    model: Parameters | Vertex | EnsembleModel | PreparedModel, rtol: float = 1e-6
) -> PreparedModel:
    """The :class:`~cooperon.prepared.PreparedModel` :func:`log_tau_phi` works on.

    :func:`cooperon.prepared.prepare_model` with the vertex of an ensemble fitted
    for ``rtol``; a prepared model is returned as it is.

    Raises
    ------
    ValueError
        If ``model`` is a :class:`Parameters` with ``Dq2_tau != 0``.
    NoCutoffError
        If nothing dephases (Eq. 34 and the Q-integral diverge).
    TypeError
        For anything else.
    """
    if isinstance(model, Parameters) and model.Dq2_tau != 0.0:
        raise ValueError(
            "Dq2_tau must be 0 for log_tau_phi (Q = Dq²τ is integrated over), "
            f"got {model.Dq2_tau!r}"
        )
    return prepare_model(model, rtol=rtol)


def asymptotic_C2(v: Vertex) -> float:
    """C₂ of F_direct(0; Q) − F_(32)(0; Q) = C₂/Q² + O(Q⁻³) (``docs/dephasing.md``).

    C₂ = Σ_jk c_j c_k/(1 + α_j + α_k) − Φ(0) + Σ_k c_k α_k + Φ(0)(1 − Φ(0)).
    """
    c, a = v.c, v.alpha
    a1 = np.sum(np.outer(c, c) / (1.0 + a[:, None] + a[None, :])).real
    phi0 = float(np.sum(c).real)
    dphi0 = -float(np.sum(c * a).real)
    return float(a1 - phi0 - dphi0 + phi0 * (1.0 - phi0))


@dataclass
class _NodeResult:
    F0: float
    F0_error: float
    F32: float
    F32_error: float
    T: float
    status: int


class _Integrand:
    """d(Q) = F_direct − F_(32) with its error, solved to the allowance it is given."""

    def __init__(self, m: PreparedModel) -> None:
        self.m = m
        self.solves = 0

    def __call__(self, Q: float, allowance: float):
        m = self.m
        f32, e32 = m.F32(Q)
        need = max(allowance - e32, 0.5 * allowance) / max(abs(f32), 1e-300)
        rtol = float(np.clip(_OPTIMISM * need, *_NODE_RTOL))
        self.solves += 1
        try:
            sol = m.solve(Q, rtol)
        except ArithmeticError as exc:
            raise ArithmeticError(f"log_tau_phi: Eq. (24) at Q = {Q:.6g}: {exc}") from exc
        if sol.status < 0:
            raise ArithmeticError(f"log_tau_phi: Eq. (24) at Q = {Q:.6g}: {sol.message}")
        node = _NodeResult(sol.F0, sol.error, f32, e32, sol.T, sol.status)
        return sol.F0 - f32, sol.error + e32, node


def log_tau_phi(
    model: Parameters | Vertex | EnsembleModel | PreparedModel,
    rtol: float = 1e-6,
    *,
    max_nodes: int = 2000,
) -> xr.Dataset:
    """ln(τ_φ/τ) from Eq. (34) and from the direct solution of Eq. (24), as a Dataset.

    Parameters
    ----------
    model
        :class:`~cooperon.Parameters` with ``Dq2_tau == 0`` (Q is integrated
        over), a :class:`~cooperon.vertex.Vertex` (Φ, Q-independent), an
        ensemble (:class:`~cooperon.prepared.EnsembleModel`), or a
        :class:`~cooperon.prepared.PreparedModel` of one of them (its solutions
        of Eq. (24) are reused where accurate enough).
    rtol
        Requested accuracy of ``log_tau_phi_direct`` as an **absolute** error
        of ln(τ_φ/τ), i.e. the relative accuracy of τ_φ itself; in
        [1e-10, 1e-2].
    max_nodes
        Most solutions of Eq. (24) the Q-quadrature may use.

    Returns
    -------
    xarray.Dataset
        Scalars ``log_tau_phi_eq34`` (Eq. 34 as printed, lower limit η = 1),
        ``delta_log_tau_phi`` = ∫_0^∞ [F_direct − F_(32)] dQ and
        ``delta_log_tau_phi_error``, ``log_tau_phi_direct`` = their sum and
        ``log_tau_phi_direct_error``, ``status`` (0: error ≤ rtol); along
        ``Dq2_tau`` (the quadrature nodes and the tail node Q_max)
        ``F0_direct``, ``F0_direct_error``, ``F0_wkb_eq32`` and
        ``quadrature_weight`` (Δ = Σ w (F0_direct − F0_wkb_eq32) +
        ``attrs["tail_constant"]``).  Attributes: the error budget, counters,
        provenance (CF conventions).

    Raises
    ------
    ValueError
        For ``Dq2_tau != 0``, an ``rtol`` or ``max_nodes`` out of range.
    NoCutoffError
        If no dephasing channel is active (τ_φ = ∞).
    ArithmeticError
        If Eq. (24) cannot be solved at a node (grid or history too large).
    """
    start = time.perf_counter()
    if not (isinstance(rtol, (int, float)) and 1e-10 <= rtol <= 1e-2):
        raise ValueError(f"rtol must be a number in [1e-10, 1e-2], got {rtol!r}")
    if not (isinstance(max_nodes, int) and max_nodes >= 31):
        raise ValueError(f"max_nodes must be an integer >= 31, got {max_nodes!r}")
    m = as_model(model, rtol)
    v = m.vertex
    rate = v.dephasing
    h = _Integrand(m)
    C2 = asymptotic_C2(v)
    fastest = float(np.max(np.abs(v.alpha), initial=0.0))
    res = q_integral_to_infinity(
        h,
        rate,
        C2,
        1e3 * max(1.0, fastest, rate),
        tol=_QUAD * rtol,
        node_tol=_NODES * rtol,
        tail_tol=_TAIL * rtol,
        panel_length=_PANEL,
        min_panels=_MIN_PANELS,
        max_evaluations=max_nodes,
    )
    total_error = res.error + m.eq34_error
    nodes: list[_NodeResult] = [*res.body.payloads, res.tail_node[2]]
    longest = max(n.T for n in nodes)
    problems = []
    if not res.body.converged:
        problems.append(f"the Q-quadrature did not converge within max_nodes = {max_nodes}")
    if res.tail_error > _TAIL * rtol:
        problems.append(f"the tail beyond Q = {res.Q_max:.3g} is uncertain by {res.tail_error:.2g}")
    if longest > m.s_max:
        problems.append(
            f"a solve used a history of {longest:.3g} τ, beyond the {m.s_max:.3g} τ "
            "over which the averaged vertex was fitted"
        )
    if m.vertex_error > m.vertex_atol:
        problems.append(
            f"the averaged vertex is fitted to {m.vertex_error:.2g}, not {m.vertex_atol:.2g}"
        )
    elif m.kind == "ensemble" and m.vertex_atol > vertex_atol(rtol, m.s_max) * (1 + 1e-12):
        problems.append(
            f"the averaged vertex was fitted to atol {m.vertex_atol:.2g}, looser than the "
            f"{vertex_atol(rtol, m.s_max):.2g} this rtol needs"
        )
    if total_error > rtol and not problems:
        problems.append("the error estimate exceeds rtol")
    status = 0 if not problems else 1
    message = "converged" if status == 0 else "requested rtol not reached: " + "; ".join(problems)
    return _dataset(
        m,
        rtol,
        res,
        nodes,
        C2=C2,
        total_error=total_error,
        status=status,
        message=message,
        solves=h.solves,
        seconds=time.perf_counter() - start,
    )


def _dataset(m, rtol, res, nodes, *, C2, total_error, status, message, solves, seconds):
    body = res.body
    Q = np.append(body.Q, res.Q_max)
    weights = np.append(body.weights, 0.5 * res.Q_max)
    delta = res.value
    one = {"units": "1"}
    data = {
        "F0_direct": (
            "Dq2_tau",
            np.array([n.F0 for n in nodes]),
            {"long_name": "F(0; Q) from Eq. (24) solved directly (c = 1)", **one},
        ),
        "F0_direct_error": (
            "Dq2_tau",
            np.array([n.F0_error for n in nodes]),
            {"long_name": "estimated absolute error of F0_direct", **one},
        ),
        "F0_wkb_eq32": (
            "Dq2_tau",
            np.array([n.F32 for n in nodes]),
            {"long_name": "F(0; Q) from the closed form Eq. (32) as printed", **one},
        ),
        "quadrature_weight": (
            "Dq2_tau",
            weights,
            {
                "long_name": "weight of the node in the Q-integral",
                "comment": "delta_log_tau_phi = sum(w (F0_direct - F0_wkb_eq32)) + tail_constant",
                **one,
            },
        ),
        "history_length": (
            "Dq2_tau",
            np.array([n.T for n in nodes]),
            {"long_name": "history T of the solution of Eq. (24), in units of tau", **one},
        ),
        "log_tau_phi_eq34": (
            (),
            m.eq34,
            {"long_name": "ln(tau_phi/tau) from Eq. (34) as printed (lower limit eta = 1)", **one},
        ),
        "delta_log_tau_phi": (
            (),
            delta,
            {
                "long_name": "ln(tau_phi,direct/tau_phi,(32)) = int_0^inf [F_direct - F_(32)] dQ",
                "equation": "(24), (32), (34)",
                **one,
            },
        ),
        "delta_log_tau_phi_error": (
            (),
            res.error,
            {"long_name": "estimated absolute error of delta_log_tau_phi", **one},
        ),
        "log_tau_phi_direct": (
            (),
            m.eq34 + delta,
            {
                "long_name": "ln(tau_phi/tau) from the direct solution of Eq. (24)",
                "comment": "log_tau_phi_eq34 + delta_log_tau_phi",
                **one,
            },
        ),
        "log_tau_phi_direct_error": (
            (),
            total_error,
            {"long_name": "estimated absolute error of log_tau_phi_direct", **one},
        ),
        "status": (
            (),
            np.int8(status),
            {
                "long_name": "status of the computation",
                "flag_values": np.array([0, 1], dtype=np.int8),
                "flag_meanings": "ok not_converged",
            },
        ),
    }
    coords: dict[str, Any] = {
        "Dq2_tau": xr.Variable(
            "Dq2_tau",
            Q,
            {
                "long_name": "Q = Dq²τ at the quadrature nodes (the last is the tail node Q_max)",
                "equation": "(24)",
                **one,
            },
        ),
        **m.coords,
    }
    if m.kind != "parameters":
        v = m.vertex
        coords["vertex_term"] = np.arange(v.c.size)
        for name, values in (("c", v.c), ("alpha", v.alpha)):
            for part in ("real", "imag"):
                data[f"vertex_{name}_{part}"] = (
                    "vertex_term",
                    getattr(values, part),
                    {"long_name": f"{part} part of {name}_k in Phi(x) = sum c_k exp(-alpha_k |x|)"},
                )
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    now = now.replace("+00:00", "Z")
    attrs = {
        "title": "ln(tau_phi/tau): Eq. (34) and the direct solution of Eq. (24)",
        "Conventions": "CF-1.8",
        "source": f"cooperon {__version__}",
        "cooperon_version": __version__,
        "date_created": now,
        "history": f"{now} cooperon.dephasing.log_tau_phi({m.kind}, rtol={rtol!r})",
        "references": "Dephasing by dynamic defects, Eqs. (24), (32), (34)",
        "normalisation": "c = 1/(2 tau T rho) = 1; times in units of tau, energies in hbar/tau",
        "method": (
            "Q = rate (exp(y) - 1), adaptive Gauss-Kronrod (7, 15) in y, error sum |K15 - G7|; "
            "tail beyond Q_max: [C2/Q_max + Q_max d(Q_max)]/2"
        ),
        "model_kind": m.kind,
        "rtol": float(rtol),
        "rtol_meaning": "absolute error of ln(tau_phi/tau) (relative error of tau_phi)",
        "dephasing_rate": m.vertex.dephasing,
        "Q_max": float(res.Q_max),
        "C2": float(C2),
        "tail_constant": float(0.5 * C2 / res.Q_max),
        "delta_log_tau_phi_tail": float(res.tail),
        "quadrature_error": float(body.quadrature_error),
        "node_error": float(body.node_error),
        "tail_error": float(res.tail_error),
        "log_tau_phi_eq34_error": float(m.eq34_error),
        "panels": int(body.panels),
        "nodes": int(len(nodes)),
        "evaluations": int(body.evaluations + res.tail_evaluations),
        "solves": int(solves),
        "status": int(status),
        "message": message,
        "seconds": float(seconds),
        **m.attrs,
    }
    if m.kind == "ensemble":
        # Eq. (34) of the fitted vertex by the ensemble's own quadrature: a measured check
        attrs["log_tau_phi_eq34_of_fitted_vertex"] = m.eq34_of_vertex
    return xr.Dataset(data, coords=coords, attrs=attrs)
