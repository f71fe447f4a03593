"""Grids for Eq. (24) on [−T, 0]: graded towards t = 0 and mapped into themselves by t → 2t.

The kernel of Eq. (24) has its kink at s = 2t; the solver's running-sum path
needs it on grid points, i.e. a grid G with 2G ∩ [−T, 0] ⊂ G. Octaves do
this: octave 0 is [−A, 0] with step h₀ (A = cells·h₀), octave k ≥ 1 is
[−2^k A, −2^{k−1} A] with a step s_k ∈ {s_{k−1}, 2 s_{k−1}} (s₁ = h₀). Doubling
maps octave k − 1 onto the points of octave k with spacing 2 s_{k−1}, which
the octave contains. Points are computed as −(2^{k−1} A + i s_k), so the
doubled points coincide with grid points bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["doubling_mesh"]


def doubling_mesh(T: float, h0: float, cells: int, cap: Callable[[float], float]) -> np.ndarray:
    """Increasing points of [−T', 0], T' ≥ T the first one, closed under t → 2t.

    Parameters
    ----------
    T
        The grid reaches at least −T.
    h0
        Step at t = 0 (octaves 0 and 1).
    cells
        Cells of octave 0 (and of every octave while the step doubles), ≥ 1.
    cap
        ``cap(d)``: the largest step allowed at distance ``d`` from t = 0; the
        step of an octave doubles if twice the previous step is within the
        cap at the octave's near end and the octave keeps ``cells`` cells,
        and stays otherwise (so beyond the graded part the grid is uniform).

    Returns
    -------
    ndarray
        The grid, ending at 0.
    """
    if not (T > 0 and math.isfinite(T)):
        raise ValueError(f"T must be positive and finite, got {T!r}")
    if not (h0 > 0 and math.isfinite(h0)):
        raise ValueError(f"h0 must be positive and finite, got {h0!r}")
    if int(cells) != cells or cells < 1:
        raise ValueError(f"cells must be a positive integer, got {cells!r}")
    parts = [-(np.arange(cells, -1, -1, dtype=float) * h0)]  # octave 0: -A .. 0
    for near, step, count in _octaves(T, h0, cells, cap):
        parts.append(-(near + np.arange(count, 0, -1, dtype=float) * step))
    return np.concatenate(parts[::-1])


def doubling_mesh_size(T: float, h0: float, cells: int, cap: Callable[[float], float]) -> int:
    """Number of points :func:`doubling_mesh` would return (without building it)."""
    return cells + 1 + sum(count for _, _, count in _octaves(T, h0, cells, cap))


def _octaves(T, h0, cells, cap):
    """``(near, step, count)`` of octaves 1, 2, ...: points −(near + i step), i = 1..count."""
    near, step = cells * h0, h0  # octave k covers [-2 near, -near]
    out = []
    while near < T:
        if step * 2.0 <= cap(near) and near >= 2.0 * step * cells:
            step *= 2.0  # keeps at least `cells` cells per octave
        if 2.0 * near >= T:
            # last octave: stop at the first point at or beyond -T
            out.append((near, step, int(math.ceil((T - near) / step - 1e-12))))
            break
        out.append((near, step, int(round(near / step))))
        near *= 2.0
    return out
