"""The closed-form history term of Eq. (24) (see :func:`cooperon.equation.history`), in NumPy.

For a kernel term ``w exp(λt − μ(t − s))`` and the frozen solution
``F∞(s) = Σ_m a_m e^{imωs}`` the integral over ``s ∈ [A, B]`` is

    w exp(λt − μ(t − B)) Σ_m a_m e^{imωB} (1 − e^{−z_m (B−A)})/z_m ,  z_m = μ + imω,

anchored at ``B`` when ``Re μ > 0`` (and at ``A``, with ``(e^{z_m L} − 1)/z_m``,
otherwise), so that no factor exceeds the kernel itself. ``expm1`` keeps
``L z_m → 0`` exact. Harmonics are summed in blocks (F∞ may carry 10⁵ of them).
"""

from __future__ import annotations

import numpy as np

_BLOCK = 2048


def _harmonic_sum(a, omega, mu, X, L, anchor_upper):
    """``Σ_m a_m e^{imωX} g_m(L)`` for arrays ``X``, ``L`` (rows); ``L = inf`` allowed."""
    M = (a.size - 1) // 2
    X = np.asarray(X, dtype=float)
    L = np.broadcast_to(np.asarray(L, dtype=float), X.shape)
    acc = np.zeros(X.shape, dtype=complex)
    for lo in range(-M, M + 1, _BLOCK):
        m = np.arange(lo, min(lo + _BLOCK, M + 1), dtype=float)
        z = mu + 1j * omega * m  # (b,)
        ph = np.exp(1j * omega * np.multiply.outer(X, m))  # (R, b)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            zL = np.multiply.outer(L, z)
            if anchor_upper:
                g = np.where(np.isinf(L)[:, None], 1.0 / z, -np.expm1(-zL) / z)
            else:
                g = np.expm1(zL) / z
            g = np.where(z == 0, L[:, None], g)
        acc += np.einsum("rb,b->r", ph * g, a[lo + M : lo + M + m.size])
    return acc


def history_terms(t, T, single, w, lam, mu, side, omega, a) -> np.ndarray:
    """``Σ_terms Σ_m w a_m ∫ exp(λt − μ(t−s) + imωs) ds`` over the history, per row ``t``.

    ``side[k]`` is 0 for a term of the left piece (s < 2t) and 1 for the right
    piece (2t < s < −T); with ``single`` the left piece covers all s < −T.
    A left-piece term with ``Re μ <= 0`` would not converge at −∞ (excluded
    upstream).
    """
    t = np.asarray(t, dtype=float)
    B0 = -T
    out = np.zeros(t.size)
    for k in range(w.size):
        if side[k] == 0:
            if mu[k].real <= 0:
                continue
            B = np.full(t.size, B0) if single else np.minimum(2.0 * t, B0)
            acc = np.empty(t.size, dtype=complex)
            at0 = B == B0
            if np.any(at0):  # the same sum for every such row
                acc[at0] = _harmonic_sum(a, omega, mu[k], np.array([B0]), np.inf, True)[0]
            if np.any(~at0):
                acc[~at0] = _harmonic_sum(a, omega, mu[k], B[~at0], np.inf, True)
            out += (w[k] * np.exp(lam[k] * t - mu[k] * (t - B)) * acc).real
        elif not single:
            A = np.minimum(2.0 * t, B0)
            L = B0 - A
            rows = np.flatnonzero(L > 0)
            if rows.size == 0:
                continue
            tr = t[rows]
            if mu[k].real > 0:
                acc = _harmonic_sum(a, omega, mu[k], np.full(rows.size, B0), L[rows], True)
                out[rows] += (w[k] * np.exp(lam[k] * tr - mu[k] * (tr - B0)) * acc).real
            else:
                acc = _harmonic_sum(a, omega, mu[k], A[rows], L[rows], False)
                out[rows] += (w[k] * np.exp(lam[k] * tr - mu[k] * (tr - A[rows])) * acc).real
    return out
