"""Numba cores of :mod:`solver.product_weights`: Lagrange coefficients and the weight table.

The same arithmetic as the NumPy definitions there (which remain the
reference the tests compare with), compiled: a mesh's table of weights is
built cell shape by cell shape in one call, with no per-call NumPy overhead
(the fixed cost of a discrete solve on a graded mesh of a few hundred points).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _coefficients_into(C, nodes, xa):
    """``C[i, k]``: coefficients of ``L_i`` of the stencil ``nodes`` in powers of ``x - xa``."""
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
def lagrange_coefficients(nodes, xa):
    """``C[g, i, k]``: coefficients of ``L_i`` of ``nodes[g]`` in powers of ``(x - xa)``."""
    G, p = nodes.shape
    C = np.zeros((G, p, p))
    for g in range(G):
        _coefficients_into(C[g], nodes[g], xa)
    return C


@numba.njit(cache=True, nogil=True)
def _moments_into(M, z, right, extra):
    """Moments ``∫_0^1 e^{z (x - x_a)} (x - x_a)^k dx`` (see ``product_weights._moments``)."""
    p = M.size
    w = z if right else -z
    ew = np.exp(-w)
    if abs(w) > p:  # forward recurrence, stable for |w| > p
        m = (1.0 - ew) / w
        M[0] = m
        for k in range(1, p):
            m = (k * m - ew) / w
            M[k] = m
    else:  # backward recurrence, started `extra` orders higher
        acc = 0.0j
        for k in range(p + extra - 1, -1, -1):
            acc = (w * acc + ew) / (k + 1)
            if k < p:
                M[k] = acc
    if right:
        for k in range(1, p, 2):
            M[k] = -M[k]


@numba.njit(cache=True, nogil=True)
def weight_table(mu, right, steps, sid, nodes, extra):
    """``W[τ, g, i] = h_g Ω_i(μ_τ h_g)``, shifted to the cell mass (``product_weights``).

    ``steps`` are the distinct steps and ``sid[g]`` the step of shape ``g``:
    the moments depend on the step only and are computed once per step.
    """
    T = mu.size
    G, p = nodes.shape
    S = steps.size
    MM = np.empty((T, S, p), dtype=np.complex128)
    for k in range(T):
        for s in range(S):
            _moments_into(MM[k, s], mu[k] * steps[s], right[k], extra)
    any_right = False
    any_left = False
    for k in range(T):
        if right[k]:
            any_right = True
        else:
            any_left = True
    W = np.empty((T, G, p), dtype=np.complex128)
    CR = np.zeros((p, p))
    CL = np.zeros((p, p))
    for g in range(G):
        same = g > 0  # the stencil of the previous shape (canonical shapes repeat per step)
        if same:
            for i in range(p):
                if nodes[g, i] != nodes[g - 1, i]:
                    same = False
                    break
        if not same:
            if any_right:
                _coefficients_into(CR, nodes[g], 1.0)
            if any_left:
                _coefficients_into(CL, nodes[g], 0.0)
        s = sid[g]
        hg = steps[s]
        for k in range(T):
            M = MM[k, s]
            C = CR if right[k] else CL
            total = 0.0j
            for i in range(p):
                acc = 0.0j
                for j in range(p):
                    acc += C[i, j] * M[j]
                W[k, g, i] = acc
                total += acc
            shift = (M[0] - total) / p
            for i in range(p):
                W[k, g, i] = (W[k, g, i] + shift) * hg
    return W
