"""Numba core of :func:`solver.product_weights._lagrange_coefficients` for many stencils.

Compiled only where a mesh has thousands of distinct stencil shapes (a smoothly
graded mesh: one per cell); a few shapes are done in NumPy (no compilation).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def lagrange_coefficients(nodes, xa):
    """``C[g, i, k]``: coefficients of ``L_i`` of ``nodes[g]`` in powers of ``(x - xa)``."""
    G, p = nodes.shape
    C = np.zeros((G, p, p))
    for g in range(G):
        for i in range(p):
            C[g, i, 0] = 1.0
            den = 1.0
            deg = 0
            for m in range(p):
                if m == i:
                    continue
                r = nodes[g, m] - xa
                for k in range(deg + 1, 0, -1):
                    C[g, i, k] = C[g, i, k - 1] - r * C[g, i, k]
                C[g, i, 0] = -r * C[g, i, 0]
                deg += 1
                den *= nodes[g, i] - nodes[g, m]
            for k in range(p):
                C[g, i, k] /= den
    return C
