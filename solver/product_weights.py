"""Exponential product-integration weights on a cell of any mesh.

For a kernel term ``exp(-mu (t - s))`` the integral over one cell
``[s_c, s_c + h]`` is taken exactly against the Lagrange interpolant of the
integrand's smooth factor through ``p`` mesh points ``s_c + x_i h`` (``x_i``
in cell-local coordinates, the cell is ``[0, 1]``):

    ∫_{s_c}^{s_c+h} e^{-mu (t - s)} y(s) ds ≈ e^{-mu (t - s_a)} h Σ_i Ω_i(z, x) y(s_c + x_i h),

with ``z = mu h`` and the anchor ``s_a`` the cell's right end when
``Re mu >= 0`` (``Ω_i = ∫_0^1 e^{z (x - 1)} L_i(x) dx``) and its left end
otherwise (``Ω_i = ∫_0^1 e^{z x} L_i(x) dx``), so that ``|e^{...}| <= 1``
inside the cell. The step is then limited by the smoothness of ``y`` alone,
however fast the exponential: the weights integrate ``e^{-mu (t - s)}`` times
every polynomial of degree ``p - 1`` exactly, for any ``z``.

The weights are ``Ω_i = Σ_k C_ik M_k`` with ``C_ik`` the coefficients of
``L_i`` in powers of ``u = x - x_a`` and ``M_k`` the exponential moments
``∫ e^{z u} u^k du`` over the cell, ``(-1)^k N_k(z)`` (right) or
``N_k(-z)`` (left), ``N_k(w) = ∫_0^1 e^{-w v} v^k dv``: by the forward
recurrence ``N_k = (k N_{k-1} - e^{-w})/w`` where it is stable (``|w| > p``)
and by the backward recurrence ``N_k = (w N_{k+1} + e^{-w})/(k+1)`` otherwise.
Finally the weights are shifted so that they sum exactly to the cell's
integral of the exponential alone: a constant is then integrated to rounding
of one operation, which matters for equations whose solution is amplified by
a small ``1 - (kernel mass)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["mesh_weights", "weight_table", "cell_weights"]

#: start of the backward recurrence above the highest moment (damping (|w|/k)^30)
_BACKWARD_EXTRA = 30


def mesh_weights(z, nodes, right_anchor) -> np.ndarray:
    """Product weights ``Ω[g, i]`` of many cells at once.

    Parameters
    ----------
    z : array_like, shape (G,)
        ``mu h`` of each cell.
    nodes : array_like, shape (G, p)
        Interpolation nodes of each cell in cell-local coordinates (the cell
        is ``[0, 1]``; nodes may lie outside it).
    right_anchor : bool or array_like of bool, shape (G,)
        Anchor the exponential at the cell's right end (for ``Re mu >= 0``)
        or at its left end.

    Returns
    -------
    ndarray, shape (G, p), complex
        ``∫_0^1 e^{z (x - x_a)} L_i(x) dx`` with ``x_a = 1`` (right) or ``0``
        (left); multiply by the cell length ``h``.
    """
    from ._weights_core import row_weights

    z = np.ascontiguousarray(np.atleast_1d(np.asarray(z, dtype=complex)))
    nodes = np.ascontiguousarray(np.atleast_2d(np.asarray(nodes, dtype=float)))
    right = np.ascontiguousarray(np.broadcast_to(np.asarray(right_anchor, dtype=bool), z.shape))
    return row_weights(z, nodes, right, _BACKWARD_EXTRA)


def weight_table(mu, right, h, nodes) -> np.ndarray:
    """``W[τ, g, i] = h_g Ω_i(μ_τ h_g)``: weights of every term ``τ`` on every cell shape ``g``.

    ``mu`` (T,) complex rates, ``right`` (T,) anchors, ``h`` (G,) steps and
    ``nodes`` (G, p) cell-local nodes; see :func:`mesh_weights`.
    """
    from ._weights_core import table_weights

    return table_weights(
        np.ascontiguousarray(mu, dtype=complex),
        np.ascontiguousarray(right, dtype=np.bool_),
        np.ascontiguousarray(h, dtype=float),
        np.ascontiguousarray(nodes, dtype=float),
        _BACKWARD_EXTRA,
    )


@lru_cache(maxsize=64)
def _offset_nodes(p: int) -> np.ndarray:
    """Nodes ``o .. o + p - 1`` for the offsets ``o = -(p-1) .. 0``, shape (p, p)."""
    return np.arange(p)[None, :] - np.arange(p - 1, -1, -1)[:, None].astype(float)


def cell_weights(z: complex, p: int, right_anchor: bool) -> np.ndarray:
    """Weights ``Ω[o_index, i]`` of a uniform grid for all offsets ``o = -(p-1) .. 0``.

    Row ``o_index = o + p - 1`` holds the weights of the points ``o .. o + p - 1``
    (cell-local coordinates, the cell is ``[0, 1]``); see :func:`mesh_weights`.
    """
    nodes = _offset_nodes(p)
    return mesh_weights(np.full(p, complex(z)), nodes, right_anchor)
