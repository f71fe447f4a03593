"""Numba cores: forward substitution through weighted kernel rows.

Row ``n`` of the discretised equation reads
``y_n = r_n + sum_{j<=n} A[n, j] y_j`` where ``A[n, j] = h w_{nj} K(t_n, t_j)``
holds the quadrature weights times the kernel. The cores take a block of
consecutive rows and fill ``y`` in place. They return the index of the first
row whose diagonal system is singular, or -1.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def forward_scalar(A, rhs, y, n0, c0):
    """Scalar rows ``n0 .. n0 + len(rhs) - 1`` (real or complex); ``A[i, j - c0]``."""
    for i in range(rhs.shape[0]):
        n = n0 + i
        acc = rhs[i]
        for j in range(c0, n):
            acc += A[i, j - c0] * y[j]
        den = 1.0 - A[i, n - c0]
        if den == 0.0:
            return n
        y[n] = acc / den
    return -1


@numba.njit(cache=True, nogil=True)
def forward_system(A, rhs, y, n0, c0):
    """Rows of a system: ``A`` has shape (B, ncols, d, d), ``y`` (N, d)."""
    d = y.shape[1]
    eye = np.eye(d).astype(A.dtype)
    for i in range(rhs.shape[0]):
        n = n0 + i
        acc = rhs[i].copy()
        for j in range(c0, n):
            acc += A[i, j - c0] @ y[j]
        M = eye - A[i, n - c0]
        if np.abs(np.linalg.det(M)) == 0.0:
            return n
        y[n] = np.linalg.solve(M, acc)
    return -1


@numba.njit(cache=True, nogil=True)
def toeplitz_rows(kvals, w_end, rhs, y, n0, n1, h):
    """Scalar convolution rows with Gregory weights, without forming ``A``.

    ``kvals[m] = k(m h)``; ``w_end`` are the Gregory end weights. Row ``n``
    uses the Gregory rule on ``[0, n]`` (requires ``n >= len(w_end) - 1``).
    """
    m = w_end.shape[0]
    for n in range(n0, n1):
        acc = rhs[n - n0]
        for j in range(n):
            w = 1.0
            if j < m:
                w += w_end[j] - 1.0
            if n - j < m:
                w += w_end[n - j] - 1.0
            acc += h * w * kvals[n - j] * y[j]
        wd = w_end[0] if m > 0 else 0.5
        if n < m:
            wd += w_end[n] - 1.0
        den = 1.0 - h * wd * kvals[0]
        if den == 0.0:
            return n
        y[n] = acc / den
    return -1
