"""The exact resolvent of Eq. (24) at t = 0, against the WKB resolvent (31).

With ``F = f + 𝒦F``, ``(𝒦F)(t) = ∫ k(t, t') F(t') dt'`` and
``k(t, t') = e^{−(t−t')} Φ(2t − t')/(1 + Q)``, the resolvent obeys

    r(t, s) = k(t, s) + ∫_s^t k(t, u) r(u, s) du        (docs/equations.md, Eqs. 26–27),

so for a fixed ``s`` the column ``t ↦ r(t, s)`` is the solution of a Volterra
equation of the same kernel on ``[s, 0]`` with right-hand side ``k(·, s)``.
Each column is one O(N) solve on the fast path; ``r(0, s)`` is its last
value. The right-hand side has a kink at ``t = s/2`` (from ``|2t − s|``),
which is put on a grid point; the interpolation across it limits the accuracy
to a few digits, ample for comparing with the WKB form (31),
``R_WKB(0, s) = exp(−∫_s^0 λ₁) = e^{ϑ(s)}``.

The ratio ``r(0, s)/R_WKB(0, s)`` is *not* 1 even where Φ is constant: for
Φ ≡ 1 the resolvent is exactly ``r(t, s) = e^{−Q(t−s)/(1+Q)}/(1+Q)``, so the
ratio is ``e^{Q²|s|/(1+Q)}/(1+Q)`` (0.917, 1.090, 1.569 at s = −1, −20, −60
for Q = 0.1).  The exact local decay rate is λ₁/(1+Q), not λ₁, and the
amplitude is 1/(1+Q); the consistent Eq. (27) (``closed_forms.F0_wkb_eq27``)
is nevertheless exact there, because both errors cancel in ∫ r f
(``docs/closed_forms.md``).  The ratio tends to 1 only as λ, Q → 0.
"""

from __future__ import annotations

import numpy as np

from solver import solve_volterra

from . import closed_forms, equation
from .model import Phi
from .parameters import Parameters

__all__ = ["exact_resolvent_at_zero", "resolvent_ratio"]


def exact_resolvent_at_zero(params: Parameters, s, h: float = 0.02) -> np.ndarray:
    """``r(0, s)`` of Eq. (24) for each ``s <= 0`` (one O(|s|/h) solve each).

    Parameters
    ----------
    params
        Model parameters.
    s
        Points ``s <= 0``.
    h
        Step of the column solves (rounded so that ``s`` and ``s/2`` are grid points).
    """
    s = np.atleast_1d(np.asarray(s, dtype=float))
    if np.any(s > 0) or not np.all(np.isfinite(s)):
        raise ValueError("s must be finite and <= 0")
    if not (0 < h <= 0.5):
        raise ValueError(f"h must be in (0, 0.5], got {h!r}")
    K = equation.kernel(params)
    scale = 1.0 / (1.0 + params.Dq2_tau)
    out = np.empty(s.size)
    for i, si in enumerate(s):
        if si == 0:
            out[i] = float(Phi(0.0, params)) * scale
            continue
        n = max(2 * int(np.ceil(-si / (2 * h))), 12)
        t = np.linspace(si, 0.0, n + 1)
        f = scale * np.exp(-(t - si)) * np.asarray(Phi(2 * t - si, params))
        res = solve_volterra(K, f, t, error_estimate=False)
        out[i] = res.y[-1]
    return out


def resolvent_ratio(params: Parameters, s, h: float = 0.02) -> np.ndarray:
    """``r(0, s) / R_WKB(0, s)``; → 1 as λ, Q → 0 (e^{Q²|s|/(1+Q)}/(1+Q) for Φ ≡ 1)."""
    s = np.atleast_1d(np.asarray(s, dtype=float))
    return exact_resolvent_at_zero(params, s, h) / np.asarray(closed_forms.R_wkb(0.0, s, params))
