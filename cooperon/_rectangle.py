"""Quadrature rules for Fourier integrals of analytic densities on a rectangle.

For a density h analytic in the rectangle a ≤ Re z ≤ b, 0 ≤ Im z ≤ Y (an
integrable inverse-square-root singularity at the corner z = a is allowed),
Cauchy's theorem moves the real-axis integral onto the other three sides:

    ∫_a^b h(E) e^{iκEs} dE = ∫_left + ∫_top + ∫_right ,

left: z = a + iy (y: 0 → Y), top: z = u + iY (u: a → b), right: z = b + iy
(y: Y → 0).  With ``left="ray"`` (a = 0, for a density that vanishes fast at
0 but grows off the real axis) the left side is replaced by the ray
z = r e^{iθ} from 0 to where it meets the top (or the right side).

On the sides e^{iκzs} = e^{iκ Re z s} e^{−κ Im z s}, so each quadrature
node z_j becomes one damped oscillation e^{−α_j s} with α_j = −iκ z_j,
Re α_j = κ Im z_j ≥ 0 ("numerical steepest descent"), and the integral is
a sum of exponentials uniformly accurate for 0 ≤ s ≤ s_max:

* vertical sides: composite Gauss-Legendre on panels that halve towards
  y = 0 down to y ~ 0.1/(κ s_max), so e^{−κys} is resolved for every s ≤ s_max,
  and at least down to a/16 (b/4 on the right), the distance of the nearest
  singularities of the density (for an inverse-square-root corner, in the
  variable v = √y);
* top: every s-dependence is damped by e^{−κYs}; panels resolve the phase
  κ u s up to the s beyond which the node is below e^{−40} of the largest
  contribution (with ``decay``: |h(u + iY)| ~ e^{−(u−a)/decay}).

Without the top (``top=False``) the rule is valid only where e^{−κYs} is
negligible, s ≥ 40/(κY).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._quadrature import gauss_panels, halving_edges

__all__ = ["rectangle_rule"]

#: Damping exponent beyond which a term is negligible (e^{−40} ≈ 4e-18).
NEGLIGIBLE = 40.0
#: Largest phase (radians) across one 16-point Gauss-Legendre panel.
PANEL_PHASE = 8.0


def _top_edges(a: float, b: float, Y: float, kappa: float, s_max: float, decay: float | None):
    edges = [a]
    while edges[-1] < b:
        u = edges[-1]
        level = NEGLIGIBLE if decay is None else max(2.0, NEGLIGIBLE - (u - a) / decay)
        x_rel = min(s_max, level / (kappa * Y))
        h = min(0.5 * Y, PANEL_PHASE / (kappa * x_rel))
        edges.append(min(b, u + h))
    if len(edges) == 2 and b - a > 0.5 * Y:
        edges = [a, 0.5 * (a + b), b]
    return np.array(edges)


def rectangle_rule(
    h: Callable[[np.ndarray], np.ndarray],
    a: float,
    b: float,
    kappa: float,
    height: float,
    s_max: float,
    *,
    left: str | None,
    right: bool,
    top: bool = True,
    decay: float | None = None,
    angle: float = 0.5 * math.pi,
    ray_ratio: float = 2.0,
    ray_floor: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes z_j and weights w_j with ∫_a^b h(E) e^{iκEs} dE ≈ Σ_j w_j e^{iκ z_j s}.

    Parameters
    ----------
    h : callable
        The density, vectorised over complex arrays, analytic in the rectangle.
    a, b : float
        The real interval, a < b.
    kappa : float
        κ > 0 (phase κE per unit s).
    height : float
        Y > 0, height of the rectangle.
    s_max : float
        Largest s the rule must serve.
    left : {"sqrt", "smooth", "ray", None}
        Left side: h has an inverse-square-root singularity at a ("sqrt"), is
        smooth there ("smooth"), the ray z = r e^{iθ} from a = 0 ("ray"), or
        the side is omitted (None: the caller knows its contribution drops
        out, e.g. by symmetry).
    right : bool
        Include the right side (False if |h(b + iy)| is negligible).
    top : bool
        Include the top (needed unless κYs ≥ 40 for every s used).
    decay : float, optional
        Energy scale of the decay of |h| along the top, for grading its panels.
    angle : float
        θ ∈ (0, π/2] of the ray.
    ray_ratio : float
        Ratio > 1 of consecutive panel edges on the ray (towards 0).
    ray_floor : float
        Below this |z| the density on the ray is negligible (one panel).

    Returns
    -------
    z, w : numpy.ndarray (complex)
        Nodes (Im z ≥ 0) and weights (the density and dz included).
    on_top : numpy.ndarray (bool)
        Which nodes lie on the top (their terms are ≤ e^{−40} of their weight
        for s ≥ 40/(κY)).
    """
    Y = height
    y_lo = min(Y, 0.1 / (kappa * s_max))
    zs, ws, tops = [], [], []
    start = a
    top_height = Y
    if left == "sqrt":
        # halve down to the scale of the density near the corner too: f has
        # singularities at distance ~a from z = a (e.g. at 0 and −a)
        v, wv = gauss_panels(halving_edges(math.sqrt(Y), math.sqrt(min(y_lo, a / 16.0))))
        z = a + 1j * v**2
        zs.append(z)
        ws.append(h(z) * 2j * v * wv)
    elif left == "smooth":
        y, wy = gauss_panels(halving_edges(Y, min(y_lo, a / 4.0) if a > 0 else y_lo))
        z = a + 1j * y
        zs.append(z)
        ws.append(h(z) * 1j * wy)
    elif left == "ray":
        if a != 0.0:
            raise ValueError("the ray starts at a = 0")
        direction = complex(math.cos(angle), math.sin(angle))
        # the ray ends on the top (Im z = Y) or, if it gets there first, on Re z = b
        R = Y / direction.imag
        if R * direction.real > b:
            R = b / direction.real
            top_height = R * direction.imag
        r_lo = min(R, max(ray_floor, 0.1 / (kappa * direction.imag * s_max)))
        edges = [R]
        while edges[-1] > r_lo:
            edges.append(edges[-1] / ray_ratio)
        edges.append(0.0)
        r, wr = gauss_panels(np.array(edges[::-1]))
        z = r * direction
        zs.append(z)
        ws.append(h(z) * direction * wr)
        start = R * direction.real
    elif left is not None:
        raise ValueError(f"left must be 'sqrt', 'smooth', 'ray' or None (got {left!r})")
    if top and start < b:
        u, wu = gauss_panels(_top_edges(start, b, Y, kappa, s_max, decay))
        z = u + 1j * Y
        zs.append(z)
        ws.append(h(z) * wu)
        tops.append(z.size)
    if right:
        y, wy = gauss_panels(halving_edges(top_height, min(top_height, y_lo, b / 4.0)))
        z = b + 1j * y
        zs.append(z)
        ws.append(-h(z) * 1j * wy)
    on_top = [np.full(z.size, False) for z in zs]
    if tops:
        k = 1 if left in ("sqrt", "smooth", "ray") else 0
        on_top[k][:] = True
    if not zs:
        return np.zeros(0, complex), np.zeros(0, complex), np.zeros(0, bool)
    return np.concatenate(zs), np.concatenate(ws), np.concatenate(on_top)
