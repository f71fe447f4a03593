"""Numba core of the O(N) path for sums of exponentials with breakpoints.

Notation (all indices are grid indices on a uniform grid ``t_j = t0 + j h``):

* ``terms`` ``τ`` carry ``w_τ exp(λ_τ t - μ_τ (t - s))`` and belong to a piece
  whose segment at row ``n`` is ``[a_τ(n), b_τ(n)]`` (cells ``a .. b-1``).
* the cell ``j`` (``[t_j, t_{j+1}]``) contributes
  ``w exp(λ t_n - μ (t_n - t_anchor)) · C_τ(j)``, with ``C_τ(j) = h Σ_i Ω y``
  the product-integration cell value anchored at the cell's right end
  (``Re μ >= 0``) or left end (``Re μ < 0``), so ``|exp(-μ (anchor - s))| <= 1``.
* a cell is *final* once its centred stencil is known (``j <= n - p/2``); its
  value never changes and it enters a sliding-window sum. The last ``p/2``
  cells are computed directly with the stencil ``n-p+1 .. n`` (implicit in y_n).

Sliding-window sums are kept per term in a two-stack queue: a front stack of
suffix aggregates and a back running aggregate, both anchored where their
exponential factors are at most 1. Elements enter and leave once each, so the
work is O(1) amortised per step and term, and no window sum is ever formed by
subtracting two prefix sums.
"""

from __future__ import annotations

import numba
import numpy as np

# integer state columns
_QLO, _QHI, _FLO, _FHI, _BLO, _BHI = 0, 1, 2, 3, 4, 5


@numba.njit(cache=True, nogil=True, inline="always")
def _final_start(j, half):
    s = j - half + 1
    return s if s > 0 else 0


@numba.njit(cache=True, nogil=True)
def _cell_value(Om, tau, j, y, h, p, half):
    start = _final_start(j, half)
    oi = start - j + p - 1
    acc = 0.0j
    for i in range(p):
        acc += Om[tau, oi, i] * y[start + i]
    return h * acc


@numba.njit(cache=True, nogil=True)
def _flip(tau, st, S, Om, y, h, p, half, right, qf):
    blo = st[tau, _BLO]
    bhi = st[tau, _BHI]
    if right:
        acc = 0.0j
        pw = 1.0 + 0.0j
        for i in range(bhi, blo - 1, -1):
            acc += pw * _cell_value(Om, tau, i, y, h, p, half)
            S[tau, i] = acc
            pw *= qf
    else:
        acc = 0.0j
        for i in range(bhi, blo - 1, -1):
            acc = _cell_value(Om, tau, i, y, h, p, half) + qf * acc
            S[tau, i] = acc
    st[tau, _FLO] = blo
    st[tau, _FHI] = bhi
    st[tau, _BLO] = bhi + 1


@numba.njit(cache=True, nogil=True)
def _update_window(tau, lo, hi, st, sc, S, Om, y, h, p, half, right, qf):
    """Make the queue of term ``tau`` hold exactly the cells ``lo .. hi``."""
    if hi < lo or lo > st[tau, _QHI]:
        # empty the queue and restart at lo
        st[tau, _QLO] = lo
        st[tau, _QHI] = lo - 1
        st[tau, _FLO] = lo
        st[tau, _FHI] = lo - 1
        st[tau, _BLO] = lo
        st[tau, _BHI] = lo - 1
        if hi < lo:
            return
    # push new cells at the back
    for j in range(st[tau, _QHI] + 1, hi + 1):
        v = _cell_value(Om, tau, j, y, h, p, half)
        if st[tau, _BLO] > st[tau, _BHI]:
            st[tau, _BLO] = j
            st[tau, _BHI] = j
            sc[tau, 0] = v
            sc[tau, 1] = 1.0
        else:
            if right:
                sc[tau, 0] = qf * sc[tau, 0] + v
            else:
                sc[tau, 1] *= qf
                sc[tau, 0] += sc[tau, 1] * v
            st[tau, _BHI] = j
    if hi > st[tau, _QHI]:
        st[tau, _QHI] = hi
    # pop old cells at the front
    while st[tau, _QLO] < lo:
        if st[tau, _FLO] > st[tau, _FHI]:
            _flip(tau, st, S, Om, y, h, p, half, right, qf)
        st[tau, _FLO] += 1
        st[tau, _QLO] += 1


@numba.njit(cache=True, nogil=True)
def _query(tau, st, sc, S, mu, h, right):
    """Window total and the grid index it is anchored at (-1 if empty)."""
    flo, fhi = st[tau, _FLO], st[tau, _FHI]
    blo, bhi = st[tau, _BLO], st[tau, _BHI]
    fne = flo <= fhi
    bne = blo <= bhi
    if not fne and not bne:
        return 0.0j, -1
    if right:
        if fne and bne:
            return np.exp(-mu * h * (bhi - fhi)) * S[tau, flo] + sc[tau, 0], bhi + 1
        if fne:
            return S[tau, flo], fhi + 1
        return sc[tau, 0], bhi + 1
    if fne and bne:
        return S[tau, flo] + np.exp(mu * h * (blo - flo)) * sc[tau, 0], flo
    if fne:
        return S[tau, flo], flo
    return sc[tau, 0], blo


@numba.njit(cache=True, nogil=True)
def step_rows(t, h, p, r, y, n_begin, seg_a, seg_b, piece, w, lam, mu, Om, right, real):
    """Fill ``y[n_begin:]`` (complex) by O(1)-per-term steps. Returns -1 or a bad row.

    With ``real`` the rows keep only the real part (conjugate terms folded).
    """
    N = t.size
    T = w.size
    half = p // 2
    st = np.zeros((T, 6), dtype=np.int64)
    for tau in range(T):
        st[tau, _QLO] = 0
        st[tau, _QHI] = -1
        st[tau, _FLO] = 0
        st[tau, _FHI] = -1
        st[tau, _BLO] = 0
        st[tau, _BHI] = -1
    sc = np.zeros((T, 2), dtype=np.complex128)
    S = np.zeros((T, N), dtype=np.complex128)
    qf = np.empty(T, dtype=np.complex128)
    for tau in range(T):
        qf[tau] = np.exp(-mu[tau] * h) if right[tau] else np.exp(mu[tau] * h)
    for n in range(n_begin, N):
        tn = t[n]
        rhs = r[n]
        diag = 0.0j
        jfin = n - half - 1  # last cell whose stencil ends before n
        start = n - p + 1
        for tau in range(T):
            q = piece[tau]
            a = seg_a[q, n]
            b = seg_b[q, n]
            hi = b - 1 if b - 1 < jfin else jfin
            _update_window(tau, a, hi, st, sc, S, Om, y, h, p, half, right[tau], qf[tau])
            if hi >= a:
                total, apos = _query(tau, st, sc, S, mu[tau], h, right[tau])
                if apos >= 0:
                    rhs += w[tau] * np.exp(lam[tau] * tn - mu[tau] * (tn - t[apos])) * total
            j0 = a if a > jfin + 1 else jfin + 1
            for j in range(j0, b):
                apos = j + 1 if right[tau] else j
                fac = h * w[tau] * np.exp(lam[tau] * tn - mu[tau] * (tn - t[apos]))
                oi = start - j + p - 1
                for i in range(p - 1):
                    rhs += fac * Om[tau, oi, i] * y[start + i]
                diag += fac * Om[tau, oi, p - 1]
        if real:
            den_r = 1.0 - diag.real
            if den_r == 0.0:
                return n
            y[n] = rhs.real / den_r
        else:
            den = 1.0 - diag
            if den == 0.0:
                return n
            y[n] = rhs / den
    return -1


@numba.njit(cache=True, nogil=True)
def direct_row(n, t, h, p, seg_a, seg_b, piece, w, lam, mu, Om, right):
    """Coefficients ``c_j`` (``j = 0 .. max(n, p-1)``) of row ``n``, summed cell by cell.

    The same discretisation as :func:`step_rows` in O(n) work; used for the
    starting block and as the reference the running sums are tested against.
    """
    half = p // 2
    ncols = n + 1 if n + 1 > p else p
    c = np.zeros(ncols, dtype=np.complex128)
    tn = t[n]
    for tau in range(w.size):
        q = piece[tau]
        a = seg_a[q, n]
        b = seg_b[q, n]
        for j in range(a, b):
            if j <= n - half and n >= p - 1:
                start = _final_start(j, half)
            else:
                start = n - p + 1 if n - p + 1 > 0 else 0
            oi = start - j + p - 1
            apos = j + 1 if right[tau] else j
            fac = h * w[tau] * np.exp(lam[tau] * tn - mu[tau] * (tn - t[apos]))
            for i in range(p):
                c[start + i] += fac * Om[tau, oi, i]
    return c


@numba.njit(cache=True, nogil=True)
def direct_rows(t, h, p, r, y, n_begin, seg_a, seg_b, piece, w, lam, mu, Om, right, real):
    """O(N^2) stepping with :func:`direct_row` (reference for tests)."""
    for n in range(n_begin, t.size):
        c = direct_row(n, t, h, p, seg_a, seg_b, piece, w, lam, mu, Om, right)
        acc = r[n]
        for j in range(n):
            acc += c[j] * y[j]
        if real:
            y[n] = acc.real / (1.0 - c[n].real)
        else:
            y[n] = acc / (1.0 - c[n])
    return -1
