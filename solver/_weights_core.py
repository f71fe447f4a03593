"""Numba core of :mod:`solver.product_weights`: exponential product weights.

``Ω_i = ∫_0^1 e^{z (x - x_a)} L_i(x) dx``: ``L_i`` is expanded in powers of
``u = x - x_a`` (``x_a = 1`` for a right anchor, 0 for a left one), the
moments ``∫ e^{z u} u^k du`` come from the forward recurrence for ``|z| > p``
and from the backward one (started ``extra`` orders higher) otherwise, and the
weights are finally shifted to sum exactly to the cell mass ``∫ e^{z (x - x_a)} dx``.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _coefficients(nodes, xa, C):
    """``C[i, k]``: coefficients of ``L_i`` in powers of ``(x - xa)``."""
    p = nodes.size
    for i in range(p):
        for k in range(p):
            C[i, k] = 0.0
        C[i, 0] = 1.0
        den = 1.0
        deg = 0
        for m in range(p):
            if m == i:
                continue
            r = nodes[m] - xa
            for k in range(deg + 1, 0, -1):
                C[i, k] = C[i, k - 1] - r * C[i, k]
            C[i, 0] = -r * C[i, 0]
            deg += 1
            den *= nodes[i] - nodes[m]
        for k in range(p):
            C[i, k] /= den


@numba.njit(cache=True, nogil=True)
def _weights(z, right, C, extra, M, out):
    """Fill ``out[i]`` with the weights for ``z`` from the coefficients ``C``."""
    p = C.shape[0]
    w = z if right else -z
    ew = np.exp(-w)
    # N_k(w) = ∫_0^1 e^{-w v} v^k dv
    if abs(w) > p:
        M[0] = (1.0 - ew) / w
        for k in range(1, p):
            M[k] = (k * M[k - 1] - ew) / w
    else:
        acc = 0.0j
        for k in range(p + extra - 1, -1, -1):
            acc = (w * acc + ew) / (k + 1)
            if k < p:
                M[k] = acc
    if right:
        for k in range(1, p, 2):
            M[k] = -M[k]
    # the cell mass (1 - e^{-w})/w, by its series where that cancels
    if abs(w) < 0.5:
        mass = 0.0j
        term = 1.0 + 0.0j
        for j in range(1, 40):
            mass += term
            term *= -w / (j + 1)
            if abs(term) < 1e-18:
                break
    else:
        mass = (1.0 - ew) / w
    total = 0.0j
    for i in range(p):
        acc = 0.0j
        for k in range(p):
            acc += C[i, k] * M[k]
        out[i] = acc
        total += acc
    shift = (mass - total) / p
    for i in range(p):
        out[i] += shift


@numba.njit(cache=True, nogil=True)
def row_weights(z, nodes, right, extra):
    """Weights ``Ω[r, i]`` for rows of ``(z, nodes, right)``."""
    R, p = nodes.shape
    W = np.empty((R, p), dtype=np.complex128)
    C = np.empty((p, p))
    M = np.empty(p, dtype=np.complex128)
    for r in range(R):
        _coefficients(nodes[r], 1.0 if right[r] else 0.0, C)
        _weights(z[r], right[r], C, extra, M, W[r])
    return W


@numba.njit(cache=True, nogil=True)
def table_weights(mu, right, h, nodes, extra):
    """``W[τ, g, i] = h_g Ω_i(μ_τ h_g)`` for every term ``τ`` and geometry ``g``."""
    T = mu.size
    G, p = nodes.shape
    W = np.empty((T, G, p), dtype=np.complex128)
    C1 = np.empty((p, p))
    C0 = np.empty((p, p))
    M = np.empty(p, dtype=np.complex128)
    any_right = False
    any_left = False
    for tau in range(T):
        if right[tau]:
            any_right = True
        else:
            any_left = True
    for g in range(G):
        if any_right:
            _coefficients(nodes[g], 1.0, C1)
        if any_left:
            _coefficients(nodes[g], 0.0, C0)
        for tau in range(T):
            _weights(mu[tau] * h[g], right[tau], C1 if right[tau] else C0, extra, M, W[tau, g])
            for i in range(p):
                W[tau, g, i] *= h[g]
    return W
