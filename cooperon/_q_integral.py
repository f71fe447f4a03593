"""Adaptive quadrature of ∫_0^{Q_max} h(Q) dQ for integrands that cost a solve per node.

Used for the Q-integral of the dephasing time (:mod:`cooperon.dephasing`,
Eq. 34) and for Eq. (34) of a general vertex (:mod:`cooperon._vertex_wkb`).
The integrands there are smooth on the logarithmic scale of Q, with
structure at Q ~ ``rate`` (where F(0) ~ 1/(Q + rate) turns over) and at the
scales of Φ, and decay like 1/Q² (or faster) beyond them.  Hence:

* **map**: Q = rate (e^y − 1), dQ = (Q + rate) dy, y ∈ [0, y_max].  Linear
  in Q near 0 (where h is finite), logarithmic for Q ≫ rate, so every decade
  of Q gets the same number of nodes.  A pole of h at Q = −rate (that of
  1/(Q + rate)) goes to y = −∞, and singularities with Re Q ≤ −rate stay
  ≥ π/2 away from the real y axis.
* **rule**: Gauss–Kronrod (7, 15) on panels of y, started from equal panels
  of length ≤ ``panel_length`` and bisected, panel with the largest error
  first, until Σ|K₁₅ − G₇| ≤ ``tol``.  |K₁₅ − G₇| is the error of the
  7-point rule; the 15-point result is kept, so the estimate is an upper
  estimate of its error (no QUADPACK scaling heuristic).  Where |K₁₅ − G₇|
  is within twice what the node errors alone can make,
  Σ|w_K − w_G| w err, bisection cannot help: that panel's nodes are
  evaluated again with 1 % of their error as allowance.
* **node errors**: every node returns its own absolute error estimate;
  their weighted sum Σ w_i err_i is reported separately.  The callback is
  told its allowance ``a(Q) = node_tol / (y_max (Q + rate))``, which keeps
  Σ w_i err_i ≤ ``node_tol`` whatever the panels turn out to be (the
  weights of the panels sum to y_max).  If the sum still exceeds
  ``node_tol`` (nodes missed their allowance), the worst nodes are
  re-evaluated with 1 % of their error as allowance.

* **tail** (:func:`q_integral_to_infinity`): for h = C₂/Q² + C₃/Q³ + … with
  C₂ known, ∫_{Q_max}^∞ h = [C₂/Q_max + Q_max h(Q_max)]/2 + O(Q_max⁻³), with
  the error estimate |Q_max h(Q_max) − C₂/Q_max|/2 = |C₃|/(2Q_max²) + …
  (the neglected remainder is C₄/(6Q_max³) + …, smaller by a factor ≥ 3
  in the asymptotic range); Q_max grows ×10 until that is within budget.

Nothing here is specific to the physics: the callback ``h(Q, allowance)``
returns ``(value, error, payload)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._quadrature import G7_WEIGHTS, GK15_NODES, GK15_WEIGHTS

__all__ = [
    "GK15_NODES",
    "GK15_WEIGHTS",
    "G7_WEIGHTS",
    "QIntegral",
    "q_integral",
    "q_integral_to_infinity",
]


Callback = Callable[[float, float], tuple[float, float, Any]]


@dataclass
class _Node:
    Q: float
    value: float
    error: float
    payload: Any


@dataclass
class _Panel:
    a: float
    b: float
    nodes: list[_Node]
    K: float = 0.0
    error: float = 0.0
    noise: float = 0.0

    def weights(self, rate: float) -> np.ndarray:
        """dQ weights of the 15 nodes: (half length) w_K (Q + rate)."""
        Q = np.array([n.Q for n in self.nodes])
        return 0.5 * (self.b - self.a) * GK15_WEIGHTS * (Q + rate)

    def update(self, rate: float) -> None:
        v = np.array([n.value for n in self.nodes])
        Q = np.array([n.Q for n in self.nodes])
        g = 0.5 * (self.b - self.a) * v * (Q + rate)
        self.K = float(GK15_WEIGHTS @ g)
        self.error = abs(self.K - float(G7_WEIGHTS @ g))
        # the part of |K - G| the node errors alone can make
        e = 0.5 * (self.b - self.a) * np.array([n.error for n in self.nodes]) * (Q + rate)
        self.noise = float(np.abs(GK15_WEIGHTS - G7_WEIGHTS) @ e)


@dataclass
class QIntegral:
    """Result of :func:`q_integral`.

    Attributes
    ----------
    value : float
        The 15-point result summed over the panels.
    quadrature_error : float
        Σ |K₁₅ − G₇| over the panels.
    node_error : float
        Σ w_i err_i: the nodes' own errors propagated through the weights.
    Q, weights, values, errors : ndarray
        The nodes of the accepted panels (sorted by Q), their dQ weights
        (``value = Σ weights · values``), values and errors.
    payloads : list
        What the callback returned with each node, in the same order.
    panels : int
        Number of panels.
    evaluations : int
        Callback calls (including discarded panels and re-evaluations).
    converged : bool
        Both tolerances met within ``max_evaluations``.
    """

    value: float
    quadrature_error: float
    node_error: float
    Q: np.ndarray
    weights: np.ndarray
    values: np.ndarray
    errors: np.ndarray
    payloads: list = field(repr=False)
    panels: int
    evaluations: int
    converged: bool


def q_integral(
    h: Callback,
    rate: float,
    y_max: float,
    *,
    tol: float,
    node_tol: float,
    panel_length: float = 6.0,
    min_panels: int = 1,
    max_evaluations: int = 3000,
) -> QIntegral:
    """∫_0^{Q_max} h(Q) dQ, Q = rate (e^y − 1), Q_max = rate (e^{y_max} − 1).

    Parameters
    ----------
    h
        ``h(Q, allowance) -> (value, error, payload)``: the integrand at Q, an
        estimate of its absolute error, and anything to keep with the node;
        ``allowance`` is the absolute error the node may have.
    rate
        The scale of the map, > 0.
    y_max
        Upper end of the interval in y, > 0.
    tol
        Tolerance of the quadrature error Σ|K₁₅ − G₇| (absolute).
    node_tol
        Tolerance of the propagated node errors Σ w_i err_i (absolute).
    panel_length
        Longest initial panel in y.
    min_panels
        Fewest initial panels.
    max_evaluations
        Give up (``converged = False``) after this many callback calls.
    """
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"rate must be positive and finite, got {rate!r}")
    if not (y_max > 0 and math.isfinite(y_max)):
        raise ValueError(f"y_max must be positive and finite, got {y_max!r}")
    if not (tol > 0 and node_tol > 0):
        raise ValueError(f"tol and node_tol must be positive, got {tol!r}, {node_tol!r}")
    calls = 0

    def allowance(Q: float) -> float:
        return node_tol / (y_max * (Q + rate))

    def evaluate(Q: float, allowed: float) -> _Node:
        nonlocal calls
        calls += 1
        value, error, payload = h(Q, allowed)
        if not (math.isfinite(value) and math.isfinite(error)):
            raise ArithmeticError(f"integrand not finite at Q = {Q!r}: {value!r} ± {error!r}")
        return _Node(Q, float(value), float(abs(error)), payload)

    def panel(a: float, b: float) -> _Panel:
        ys = 0.5 * (a + b) + 0.5 * (b - a) * GK15_NODES
        Qs = rate * np.expm1(ys)
        p = _Panel(a, b, [evaluate(float(Q), allowance(float(Q))) for Q in Qs])
        p.update(rate)
        return p

    n0 = max(min_panels, math.ceil(y_max / panel_length))
    edges = np.linspace(0.0, y_max, n0 + 1)
    panels = [panel(float(a), float(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    converged = False
    while calls < max_evaluations:
        quad = sum(p.error for p in panels)
        contributions = [p.weights(rate) * [n.error for n in p.nodes] for p in panels]
        node_err = float(sum(c.sum() for c in contributions))
        if quad > tol:
            i = max(range(len(panels)), key=lambda k: panels[k].error)
            old = panels[i]
            if old.error <= 2.0 * old.noise:
                # bisection cannot remove what the node errors make: solve its nodes better
                old.nodes = [evaluate(n.Q, 0.01 * n.error) for n in old.nodes]
                old.update(rate)
                continue
            panels.pop(i)
            mid = 0.5 * (old.a + old.b)
            panels[i:i] = [panel(old.a, mid), panel(mid, old.b)]
            continue
        if node_err > node_tol:
            # re-evaluate the nodes that carry the excess, largest contribution first
            flat = sorted(
                ((c, k, j) for k, cs in enumerate(contributions) for j, c in enumerate(cs)),
                reverse=True,
            )
            excess = node_err - 0.5 * node_tol
            for c, k, j in flat:
                if excess <= 0 or calls >= max_evaluations:
                    break
                node = panels[k].nodes[j]
                panels[k].nodes[j] = evaluate(node.Q, 0.01 * node.error)
                excess -= c
            for p in panels:
                p.update(rate)
            continue
        converged = True
        break
    nodes = [n for p in panels for n in p.nodes]
    weights = np.concatenate([p.weights(rate) for p in panels])
    order = np.argsort([n.Q for n in nodes], kind="stable")
    values = np.array([n.value for n in nodes])[order]
    errors = np.array([n.error for n in nodes])[order]
    weights = weights[order]
    return QIntegral(
        value=float(sum(p.K for p in panels)),
        quadrature_error=float(sum(p.error for p in panels)),
        node_error=float(weights @ errors),
        Q=np.array([n.Q for n in nodes])[order],
        weights=weights,
        values=values,
        errors=errors,
        payloads=[nodes[i].payload for i in order],
        panels=len(panels),
        evaluations=calls,
        converged=converged,
    )


@dataclass
class QIntegralToInfinity:
    """Result of :func:`q_integral_to_infinity`.

    Attributes
    ----------
    value, error : float
        ∫_0^∞ h dQ and its error estimate (quadrature + nodes + tail).
    body : QIntegral
        The quadrature over [0, Q_max].
    Q_max, tail, tail_error : float
        Where the tail starts, its value and error estimate.
    tail_node : tuple
        ``(value, error, payload)`` of h at Q_max.
    tail_evaluations : int
        Callback calls spent on choosing Q_max.
    converged : bool
        All three parts within their tolerances.
    """

    value: float
    error: float
    body: QIntegral
    Q_max: float
    tail: float
    tail_error: float
    tail_node: tuple
    tail_evaluations: int
    converged: bool


def q_integral_to_infinity(
    h: Callback,
    rate: float,
    C2: float,
    Q_max: float,
    *,
    tol: float,
    node_tol: float,
    tail_tol: float,
    panel_length: float = 6.0,
    min_panels: int = 1,
    max_evaluations: int = 3000,
    max_tail_steps: int = 6,
) -> QIntegralToInfinity:
    """∫_0^∞ h(Q) dQ for h ~ C₂/Q² at large Q: :func:`q_integral` up to Q_max, then the tail.

    ``Q_max`` is the first try (it must lie in the asymptotic range); it is
    multiplied by 10 up to ``max_tail_steps`` times until the tail error is
    ≤ ``tail_tol``.  The node at Q_max is given the allowance
    ``tail_tol/Q_max``.  Other arguments as for :func:`q_integral`.
    """
    if not (Q_max > 0 and math.isfinite(Q_max) and math.isfinite(C2)):
        raise ValueError(f"Q_max must be positive and C2 finite, got {Q_max!r}, {C2!r}")
    steps = 0
    while True:
        steps += 1
        node = h(Q_max, tail_tol / Q_max)
        d, e = float(node[0]), float(abs(node[1]))
        tail = 0.5 * (C2 / Q_max + Q_max * d)
        tail_error = 0.5 * abs(Q_max * d - C2 / Q_max) + 0.5 * Q_max * e
        if tail_error <= tail_tol or steps >= max_tail_steps:
            break
        Q_max *= 10.0
    body = q_integral(
        h,
        rate,
        math.log1p(Q_max / rate),
        tol=tol,
        node_tol=node_tol,
        panel_length=panel_length,
        min_panels=min_panels,
        max_evaluations=max_evaluations,
    )
    return QIntegralToInfinity(
        value=body.value + tail,
        error=body.quadrature_error + body.node_error + tail_error,
        body=body,
        Q_max=Q_max,
        tail=tail,
        tail_error=tail_error,
        tail_node=node,
        tail_evaluations=steps,
        converged=body.converged and tail_error <= tail_tol,
    )
