"""Numba core of the closed-form history term of Eq. (24) (see equation.history)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _harmonic_sum(a, M, omega, mu, X, L, anchor_upper):
    """``Σ_m a_m e^{i m ω X} g_m`` with ``z_m = μ + i m ω`` and

    * ``anchor_upper`` and ``L = inf``: ``g_m = 1/z_m``;
    * ``anchor_upper``: ``g_m = (1 − e^{−z_m L})/z_m``;
    * otherwise: ``g_m = (e^{z_m L} − 1)/z_m``;

    with the phases ``e^{i m ω X}`` and ``e^{∓ i m ω L}`` by recurrence (two
    exponentials per call instead of one per harmonic).
    """
    acc = 0.0j
    rot = np.exp(1j * omega * X)
    ph = np.exp(-1j * omega * M * X)
    if anchor_upper and np.isinf(L):
        for m in range(-M, M + 1):
            acc += a[m + M] * ph / (mu + 1j * omega * m)
            ph *= rot
        return acc
    sgn = -1.0 if anchor_upper else 1.0
    # e^{sgn z_m L} = e^{sgn mu L} (e^{sgn i omega L})^m
    base = np.exp(sgn * mu * L)
    rl = np.exp(sgn * 1j * omega * L)
    el = base * np.exp(-sgn * 1j * omega * M * L)
    for m in range(-M, M + 1):
        z = mu + 1j * omega * m
        x = z * L
        if abs(x) < 1e-3:
            g = L * (1.0 + sgn * x / 2.0 + x * x / 6.0 + sgn * x * x * x / 24.0)
        elif anchor_upper:
            g = (1.0 - el) / z
        else:
            g = (el - 1.0) / z
        acc += a[m + M] * ph * g
        ph *= rot
        el *= rl
    return acc


@numba.njit(cache=True, nogil=True)
def history_terms(t, T, single, w, lam, mu, side, omega, a, out):
    """Add ``Σ_terms Σ_m w a_m ∫ exp(λt − μ(t−s) + i m ω s) ds`` over the history to ``out``.

    ``side[k]`` is 0 for a term of the left piece (s < 2t) and 1 for the right
    piece (2t < s < −T); with ``single`` the left piece covers all s < −T.
    Terms with ``Re μ > 0`` are anchored at the upper end of their interval,
    the others at the lower end, so that no factor exceeds the kernel itself.
    """
    M = (a.size - 1) // 2
    B0 = -T
    # the left-piece sums over (-inf, -T] do not depend on t: compute them once
    cached = np.zeros(w.size, dtype=np.complex128)
    for k in range(w.size):
        if side[k] == 0 and mu[k].real > 0:
            cached[k] = _harmonic_sum(a, M, omega, mu[k], B0, np.inf, True)
    for n in range(t.size):
        tn = t[n]
        for k in range(w.size):
            if side[k] == 0:
                B = B0 if single else min(2.0 * tn, B0)
                if mu[k].real > 0:
                    if B == B0:
                        acc = cached[k]
                    else:
                        acc = _harmonic_sum(a, M, omega, mu[k], B, np.inf, True)
                    out[n] += (w[k] * np.exp(lam[k] * tn - mu[k] * (tn - B)) * acc).real
                # a left-piece term with Re mu <= 0 would not converge at -inf: excluded upstream
            else:
                if single:
                    continue
                A = min(2.0 * tn, B0)
                L = B0 - A
                if L <= 0.0:
                    continue
                if mu[k].real > 0:
                    acc = _harmonic_sum(a, M, omega, mu[k], B0, L, True)
                    out[n] += (w[k] * np.exp(lam[k] * tn - mu[k] * (tn - B0)) * acc).real
                else:
                    acc = _harmonic_sum(a, M, omega, mu[k], A, L, False)
                    out[n] += (w[k] * np.exp(lam[k] * tn - mu[k] * (tn - A)) * acc).real
