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
    """``Σ_m a_m e^{imωX} g_m(L)`` for arrays ``X``, ``L`` (rows); ``L = inf`` allowed.

    ``X`` may be a scalar (the same phases for every row).
    """
    M = (a.size - 1) // 2
    X = np.asarray(X, dtype=float)
    shape = np.broadcast_shapes(X.shape, np.shape(L))
    L = np.broadcast_to(np.asarray(L, dtype=float), shape)
    if anchor_upper and X.ndim == 0 and M > 0 and mu.real > 0:
        # rows with Re μ L >= 1: no cancellation in 1 − e^{−z L}, so split the sum
        far = np.isfinite(L) & (L * mu.real >= 1.0)
        if np.any(far):
            acc = np.empty(shape, dtype=complex)
            acc[far] = _split_upper(a, omega, mu, float(X), L[far])
            if np.any(~far):
                acc[~far] = _harmonic_sum(a, omega, mu, X, L[~far], True)
            return acc
    infinite = np.isinf(L)
    acc = np.zeros(shape, dtype=complex)
    for lo in range(-M, M + 1, _BLOCK):
        m = np.arange(lo, min(lo + _BLOCK, M + 1), dtype=float)
        z = mu + 1j * omega * m  # (b,)
        zero = z == 0
        zs = np.where(zero, 1.0, z)
        with np.errstate(invalid="ignore", over="ignore"):
            zL = np.multiply.outer(L, z)
            g = (-np.expm1(-zL) if anchor_upper else np.expm1(zL)) / zs
        if np.any(zero):
            g[:, zero] = L[:, None]
        if anchor_upper and np.any(infinite):
            g[infinite] = 1.0 / zs
        coef = a[lo + M : lo + M + m.size]
        if X.ndim == 0:  # one phase vector
            # (einsum, not a BLAS zgemv: threaded BLAS can take milliseconds on busy cores)
            acc += np.einsum("rb,b->r", g, coef * np.exp(1j * omega * m * X))
        else:
            ph = np.exp(1j * omega * np.multiply.outer(X, m))  # (R, b)
            acc += np.einsum("rb,rb,b->r", ph, g, coef)
    return acc


def _split_upper(a, omega, mu, X, L):
    """:func:`_harmonic_sum` anchored at the upper end, for rows with Re μ L >= 1.

    ``Σ_m c_m (1 − e^{−z_m L})/z_m`` with ``c_m = a_m e^{imωX}``, ``z_m = μ + imω``, is
    ``Σ_m c_m/z_m − e^{−μL} Σ_m (c_m/z_m) u^m`` with ``u = e^{−iωL}`` (|u| = 1): per row
    one exponential per block of harmonics and products of u instead of an ``expm1``
    per harmonic. (Where Re μ L < 1 the two parts would cancel: the caller keeps
    ``expm1`` there.)
    """
    M = (a.size - 1) // 2
    u = np.exp(-1j * omega * L)  # (R,)
    acc = np.zeros(L.shape, dtype=complex)
    total = 0.0j
    for lo in range(-M, M + 1, _BLOCK):
        m = np.arange(lo, min(lo + _BLOCK, M + 1), dtype=float)
        d = a[lo + M : lo + M + m.size] * np.exp(1j * omega * m * X) / (mu + 1j * omega * m)
        total += np.sum(d)
        # u^m for the block: u^lo once per row, then running products
        P = np.empty((L.size, m.size), dtype=complex)
        P[:, 0] = np.exp(-1j * omega * lo * L)
        if m.size > 1:
            P[:, 1:] = u[:, None]
            np.cumprod(P, axis=1, out=P)
        acc += np.einsum("rb,b->r", P, d)
    with np.errstate(under="ignore"):
        return total - np.exp(-mu * L) * acc


def _sums_to_infinity(a, omega, mus, X):
    """``Σ_m a_m e^{imωX}/z_m``, ``z_m = μ + imω``, for every ``μ`` of ``mus`` (Re μ > 0).

    The limit ``L = ∞`` of :func:`_harmonic_sum` (anchored at the upper end),
    for several terms at once: the phases ``e^{imωX}`` are shared. Returns
    shape ``(len(mus), len(X))``.
    """
    M = (a.size - 1) // 2
    X = np.asarray(X, dtype=float)
    mus = np.asarray(mus, dtype=complex)
    acc = np.zeros((mus.size, X.size), dtype=complex)
    for lo in range(-M, M + 1, _BLOCK):
        m = np.arange(lo, min(lo + _BLOCK, M + 1), dtype=float)
        ph = np.exp(1j * omega * np.multiply.outer(X, m))  # (R, b)
        coef = a[lo + M : lo + M + m.size][None, :] / (mus[:, None] + 1j * omega * m[None, :])
        acc += np.einsum("kb,rb->kr", coef, ph)
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
    # left-piece terms (s < min(2t, -T), to -inf): all at once, sharing the phases
    left = np.flatnonzero((side == 0) & (mu.real > 0))
    if left.size:
        B = np.full(t.size, B0) if single else np.minimum(2.0 * t, B0)
        at0 = B == B0
        acc = np.empty((left.size, t.size), dtype=complex)
        if np.any(at0):  # the same sum for every such row
            acc[:, at0] = _sums_to_infinity(a, omega, mu[left], np.array([B0]))
        if np.any(~at0):
            acc[:, ~at0] = _sums_to_infinity(a, omega, mu[left], B[~at0])
        for i, k in enumerate(left):
            out += (w[k] * np.exp(lam[k] * t - mu[k] * (t - B)) * acc[i]).real
    for k in range(w.size):
        if side[k] == 0 or single:
            continue
        # right-piece terms (2t < s < -T)
        A = np.minimum(2.0 * t, B0)
        L = B0 - A
        rows = np.flatnonzero(L > 0)
        if rows.size == 0:
            continue
        tr = t[rows]
        if mu[k].real > 0:
            acc = _harmonic_sum(a, omega, mu[k], B0, L[rows], True)
            out[rows] += (w[k] * np.exp(lam[k] * tr - mu[k] * (tr - B0)) * acc).real
        else:
            acc = _harmonic_sum(a, omega, mu[k], A[rows], L[rows], False)
            out[rows] += (w[k] * np.exp(lam[k] * tr - mu[k] * (tr - A[rows])) * acc).real
    return out
