"""Numba core of the closed-form history term of Eq. (24) (see equation.history)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, inline="always")
def _one_minus_exp_over_z(z, L):
    """``(1 − e^{−z L})/z`` for ``Re(z L) >= 0``, stable as ``z L → 0``."""
    x = z * L
    if abs(x) < 1e-3:
        return L * (1.0 - x / 2.0 + x * x / 6.0 - x * x * x / 24.0)
    return (1.0 - np.exp(-x)) / z


@numba.njit(cache=True, nogil=True, inline="always")
def _exp_minus_one_over_z(z, L):
    """``(e^{z L} − 1)/z`` for ``Re(z L) <= 0``, stable as ``z L → 0``."""
    x = z * L
    if abs(x) < 1e-3:
        return L * (1.0 + x / 2.0 + x * x / 6.0 + x * x * x / 24.0)
    return (np.exp(x) - 1.0) / z


@numba.njit(cache=True, nogil=True)
def history_terms(t, T, single, w, lam, mu, side, omega, a, out):
    """Add ``Σ_terms Σ_m w a_m ∫ exp(λt − μ(t−s) + i m ω s) ds`` over the history to ``out``.

    ``side[k]`` is 0 for a term of the left piece (s < 2t) and 1 for the right
    piece (2t < s < −T); with ``single`` the left piece covers all s < −T.
    """
    M = (a.size - 1) // 2
    B0 = -T
    for n in range(t.size):
        tn = t[n]
        for k in range(w.size):
            if side[k] == 0:
                B = B0 if single else min(2.0 * tn, B0)
                A = -np.inf
            else:
                if single:
                    continue
                A = min(2.0 * tn, B0)
                B = B0
                if B - A <= 0.0:
                    continue
            acc = 0.0j
            if mu[k].real > 0:
                # anchored at B
                fac0 = np.exp(lam[k] * tn - mu[k] * (tn - B))
                rot = np.exp(1j * omega * B)
                ph = np.exp(-1j * omega * M * B)
                for m in range(-M, M + 1):
                    z = mu[k] + 1j * omega * m
                    if A == -np.inf:
                        tail = 1.0 / z
                    else:
                        tail = _one_minus_exp_over_z(z, B - A)
                    acc += a[m + M] * ph * tail
                    ph *= rot
                out[n] += (w[k] * fac0 * acc).real
            else:
                # anchored at A (finite)
                fac0 = np.exp(lam[k] * tn - mu[k] * (tn - A))
                rot = np.exp(1j * omega * A)
                ph = np.exp(-1j * omega * M * A)
                for m in range(-M, M + 1):
                    z = mu[k] + 1j * omega * m
                    acc += a[m + M] * ph * _exp_minus_one_over_z(z, B - A)
                    ph *= rot
                out[n] += (w[k] * fac0 * acc).real
