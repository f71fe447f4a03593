"""Sums of exponentials h(x) = Σ_k c_k exp(−α_k |x|): evaluation and compression.

A real function represented by complex terms: every term is real (α_k and c_k
real) or has its complex conjugate (ᾱ_k, c̄_k) in the sum too, and Re α_k ≥ 0.

Compression is balanced truncation of the diagonal state-space realisation
ż = −diag(α) z + b u, h = cᵀ... (impulse response h(x) = Σ c_k e^{−α_k x}),
done so that tiny Hankel singular values keep their relative accuracy:

* The Gramians of a diagonal realisation are Cauchy-like matrices,
  P_jk = b_j b̄_k / (α_j + ᾱ_k).  Their pivoted Cholesky factors are formed
  from the displacement structure (each elimination step multiplies the
  generator by a Blaschke factor (α_j − α_p)/(α_j + ᾱ_p), which involves no
  subtraction of nearly equal numbers), so the factors are accurate far
  below the rounding level of the largest entry (Haut & Beylkin, "Fast and
  accurate con-eigenvalue algorithm for optimal rational approximations",
  SIAM J. Matrix Anal. Appl. 33 (2012) 1101; Demmel, "Accurate singular value
  decompositions of structured matrices", SIAM J. Matrix Anal. Appl. 21
  (1999) 562).
* Conjugate pairs are rotated to a real basis before the square-root
  balancing, so the reduced realisation is real and its poles come in exact
  conjugate pairs.
* A shift δ ≥ 0 (balanced truncation of h(x)e^{−δx}, poles moved back
  afterwards) weights the window [0, ~1/δ] in which the sum is wanted, instead
  of the infinite horizon, where very slowly decaying terms would dominate
  the Gramians.  The unshifted poles of the reduced sum are checked
  (Re α ≥ 0) by :func:`compress`, which also verifies the result on a grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "BalancedTruncation",
    "CompressionError",
    "compress",
    "conjugate_structure",
    "evaluate",
    "oscillation_grid",
]

ArrayLike = npt.ArrayLike

#: Relative tolerance when matching a term with its complex conjugate.
PAIR_RTOL = 1e-12
#: Evaluation is done in blocks of at most this many x-values × terms.
_BLOCK = 2_000_000


class CompressionError(RuntimeError):
    """A sum of exponentials could not be compressed to the requested accuracy."""


def _as_terms(c: ArrayLike, alpha: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    c = np.atleast_1d(np.asarray(c, dtype=complex))
    alpha = np.atleast_1d(np.asarray(alpha, dtype=complex))
    if c.ndim != 1 or c.shape != alpha.shape:
        raise ValueError(
            f"c and alpha must be 1-d arrays of one length (got {c.shape}, {alpha.shape})"
        )
    if not (np.isfinite(c).all() and np.isfinite(alpha).all()):
        raise ValueError("c and alpha must be finite")
    if (alpha.real < 0.0).any():
        raise ValueError(f"every Re alpha must be ≥ 0 (got min {alpha.real.min()!r})")
    return c, alpha


def evaluate(c: ArrayLike, alpha: ArrayLike, x: ArrayLike) -> np.ndarray:
    """h(x) = Re Σ_k c_k exp(−α_k |x|), vectorised over ``x``.

    Parameters
    ----------
    c, alpha : array_like
        Coefficients and exponents (complex; Re α ≥ 0).  For a conjugate-closed
        set the imaginary part of the sum is rounding only and is dropped.
    x : array_like
        Arguments (any sign; h is even).

    Returns
    -------
    numpy.ndarray
        h(x), real, shape of ``x``.
    """
    c, alpha = _as_terms(c, alpha)
    x = np.abs(np.asarray(x, dtype=float))
    flat = x.ravel()
    out = np.zeros(flat.shape)
    # real exponents in real arithmetic: Re(c e^{−ax}) = Re(c) e^{−ax}
    real = alpha.imag == 0.0
    groups = [(alpha[real].real, c[real].real, False), (alpha[~real], c[~real], True)]
    for a, cc, cplx in groups:
        if a.size == 0:
            continue
        step = max(1, _BLOCK // a.size)
        for i in range(0, flat.size, step):
            xs = flat[i : i + step]
            vals = np.exp(-np.outer(xs, a)) @ cc
            out[i : i + step] += vals.real if cplx else vals
    return out.reshape(x.shape)


def conjugate_structure(
    c: ArrayLike, alpha: ArrayLike, rtol: float = PAIR_RTOL
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a conjugate-closed set of terms into real terms and conjugate pairs.

    Parameters
    ----------
    c, alpha : array_like
        The terms.
    rtol : float
        A term is real if |Im α| ≤ rtol |α| and |Im c| ≤ rtol |c|; the partner
        of a complex term must match (ᾱ, c̄) to this relative tolerance.

    Returns
    -------
    real, upper, lower : numpy.ndarray of int
        Indices of the real terms, of the terms with Im α > 0 (or Im α = 0 and
        Im c > 0), and of their partners (``lower[k]`` pairs with ``upper[k]``).

    Raises
    ------
    ValueError
        If some complex term has no conjugate partner.
    """
    c, alpha = _as_terms(c, alpha)
    is_real = (np.abs(alpha.imag) <= rtol * np.abs(alpha)) & (np.abs(c.imag) <= rtol * np.abs(c))
    real = np.flatnonzero(is_real)
    cand = np.flatnonzero(~is_real)
    up = cand[(alpha.imag[cand] > 0) | ((alpha.imag[cand] == 0) & (c.imag[cand] > 0))]
    down = np.setdiff1d(cand, up)
    if up.size != down.size:
        raise ValueError("the set of terms is not closed under complex conjugation")
    # match by sorting on (Re α, |Im α|, Re c)
    ku = np.lexsort((c.real[up], np.abs(alpha.imag[up]), alpha.real[up]))
    kd = np.lexsort((c.real[down], np.abs(alpha.imag[down]), alpha.real[down]))
    up, down = up[ku], down[kd]
    scale_a = np.maximum(np.abs(alpha[up]), np.finfo(float).tiny)
    scale_c = np.maximum(np.abs(c[up]), np.finfo(float).tiny)
    bad = (np.abs(alpha[down] - np.conj(alpha[up])) > 10 * rtol * scale_a) | (
        np.abs(c[down] - np.conj(c[up])) > 10 * rtol * scale_c
    )
    if bad.any():
        raise ValueError("the set of terms is not closed under complex conjugation")
    return real, up, down


def _cauchy_cholesky(b: np.ndarray, alpha: np.ndarray, rtol: float) -> np.ndarray:
    """Pivoted Cholesky factor L (n × k) of P_jk = b_j b̄_k/(α_j + ᾱ_k), Re α > 0.

    Stops when the trace of the remaining Schur complement is ≤ rtol × trace(P).
    The Schur complement of a Cauchy-like matrix is Cauchy-like with the
    generator b_j (α_j − α_p)/(α_j + ᾱ_p) (p = pivot), so every diagonal entry
    keeps its relative accuracy however small it gets.
    """
    b = b.astype(complex).copy()
    conj_a = np.conj(alpha)
    two_re = 2.0 * alpha.real
    d = (b.real**2 + b.imag**2) / two_re
    total = d.sum()
    cols = []
    for _ in range(b.size):
        rest = d.sum()
        if not rest > rtol * total:
            break
        p = int(np.argmax(d))
        den = alpha + conj_a[p]
        cols.append(b * np.conj(b[p]) / den / math.sqrt(d[p]))
        b *= (alpha - alpha[p]) / den
        d = (b.real**2 + b.imag**2) / two_re
        d[p] = 0.0
    if not cols:
        return np.zeros((b.size, 0), dtype=complex)
    return np.array(cols).T


@dataclass
class _RealSystem:
    """Real block-diagonal realisation of a conjugate-closed diagonal one."""

    a_real: np.ndarray  # α of the real terms
    a_pair: np.ndarray  # α of the upper members of the pairs
    B: np.ndarray
    C: np.ndarray

    @property
    def n_real(self) -> int:
        return self.a_real.size

    def apply_A(self, M: np.ndarray) -> np.ndarray:
        """A @ M for A = blockdiag(−α_real, [[−a, b], [−b, −a]]) (α = a + ib)."""
        nr, npair = self.n_real, self.a_pair.size
        out = np.empty_like(M)
        out[:nr] = -self.a_real.real[:, None] * M[:nr]
        j = slice(nr, nr + npair)
        k = slice(nr + npair, nr + 2 * npair)
        a = self.a_pair.real[:, None]
        w = self.a_pair.imag[:, None]
        out[j] = -a * M[j] + w * M[k]
        out[k] = -w * M[j] - a * M[k]
        return out

    def to_real_rows(self, L: np.ndarray) -> np.ndarray:
        """Rotate a complex factor (rows: real terms, upper, lower) to a real one."""
        nr, npair = self.n_real, self.a_pair.size
        R = L.copy()
        j = slice(nr, nr + npair)
        k = slice(nr + npair, nr + 2 * npair)
        R[j] = (L[j] + L[k]) / math.sqrt(2.0)
        R[k] = (L[j] - L[k]) / (1j * math.sqrt(2.0))
        return np.hstack([R.real, R.imag])


class BalancedTruncation:
    """Square-root balanced truncation of a conjugate-closed sum of exponentials.

    Parameters
    ----------
    c, alpha : array_like
        The terms (conjugate-closed, every Re α + shift > 0).
    shift : float
        δ ≥ 0: the realisation of h(x) e^{−δx} is balanced; the reduced poles
        are moved back by δ.
    rtol : float
        Relative trace tolerance of the Gramian factors (see
        :func:`_cauchy_cholesky`); 1e-30 resolves Hankel singular values down
        to ~1e-15 of the largest.

    Attributes
    ----------
    hsv : numpy.ndarray
        Hankel singular values of the shifted system, decreasing.
    """

    def __init__(self, c: ArrayLike, alpha: ArrayLike, shift: float = 0.0, rtol: float = 1e-30):
        c, alpha = _as_terms(c, alpha)
        if not (math.isfinite(shift) and shift >= 0.0):
            raise ValueError(f"shift must lie in [0, ∞) (got {shift!r})")
        real, up, down = conjugate_structure(c, alpha)
        order = np.concatenate([real, up, down])
        c, alpha = c[order], alpha[order] + shift
        if (alpha.real <= 0.0).any():
            raise ValueError("every Re alpha + shift must be > 0 (exclude α = 0 terms)")
        self.shift = float(shift)
        nr, npair = real.size, up.size
        Bc = np.sqrt(np.abs(c)).astype(complex)
        Cc = np.where(Bc != 0, c / np.where(Bc != 0, Bc, 1.0), 0.0)
        B = np.empty(nr + 2 * npair)
        C = np.empty(nr + 2 * npair)
        s2 = math.sqrt(2.0)
        B[:nr], C[:nr] = Bc[:nr].real, Cc[:nr].real
        j = slice(nr, nr + npair)
        k = slice(nr + npair, nr + 2 * npair)
        B[j], B[k] = s2 * Bc[j].real, s2 * Bc[j].imag
        C[j], C[k] = s2 * Cc[j].real, -s2 * Cc[j].imag
        self._sys = _RealSystem(alpha[:nr], alpha[j], B, C)
        LP = _cauchy_cholesky(Bc, alpha, rtol)
        LQ = _cauchy_cholesky(np.conj(Cc), np.conj(alpha), rtol)
        self._RP = self._sys.to_real_rows(LP)
        self._RQ = self._sys.to_real_rows(LQ)
        U, S, Vt = np.linalg.svd(self._RQ.T @ self._RP, full_matrices=False)
        self._U, self.hsv, self._Vt = U, S, Vt

    def order_for(self, bound: float) -> int:
        """Smallest order r with 2 Σ_{i ≥ r} σ_i ≤ bound (the H∞ error bound)."""
        tail = 2.0 * np.cumsum(self.hsv[::-1])[::-1]
        return int(np.searchsorted(-tail, -bound)) if tail.size else 0

    def reduce(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """The reduced sum of order r (poles unshifted): complex (c, alpha)."""
        r = int(r)
        if not 1 <= r <= self.hsv.size:
            raise ValueError(f"r must lie in [1, {self.hsv.size}] (got {r})")
        s = np.sqrt(self.hsv[:r])
        T = self._RP @ self._Vt[:r].T / s
        W = self._RQ @ self._U[:, :r] / s
        Ar = W.T @ self._sys.apply_A(T)
        Br = W.T @ self._sys.B
        Cr = self._sys.C @ T
        mu, V = np.linalg.eig(Ar)
        c = (Cr @ V) * np.linalg.solve(V, Br)
        alpha = -mu - self.shift
        # real matrix: LAPACK returns conjugate eigenvalue pairs exactly,
        # adjacent; make the residues exactly conjugate as well
        i = 0
        while i < r:
            if mu[i].imag != 0.0 and i + 1 < r and mu[i + 1] == np.conj(mu[i]):
                m = 0.5 * (c[i] + np.conj(c[i + 1]))
                c[i], c[i + 1] = m, np.conj(m)
                i += 2
            else:
                c[i] = c[i].real
                alpha[i] = alpha[i].real
                i += 1
        return c, alpha


def oscillation_grid(
    s_max: float,
    term_sets: list[tuple[np.ndarray, np.ndarray]],
    atol: float,
    per_period: int = 16,
    per_decade: int = 50,
    first: float = 1e-3,
) -> np.ndarray:
    """A grid on [0, s_max] dense enough to see every oscillation of some sums.

    On each decade [x₀, 10x₀] (and on [0, ``first``]) the spacing is the
    smaller of x₀·(10 − 1)/``per_decade`` and 2π/(``per_period`` ω), where ω
    is the largest |Im α| among the terms with |c| e^{−Re α x₀} > atol/100
    (the terms that still matter at the start of the decade; their amplitude
    only decreases after it).

    Parameters
    ----------
    s_max : float
        Right end of the grid (> 0).
    term_sets : list of (c, alpha)
        The sums whose oscillations must be resolved.
    atol : float
        Terms below atol/100 are ignored.
    per_period, per_decade : int
        Resolution.
    first : float
        The first decade starts here.

    Returns
    -------
    numpy.ndarray
        Sorted grid including 0 and ``s_max``.
    """
    cs = np.concatenate([np.abs(np.asarray(c)) for c, _ in term_sets])
    als = np.concatenate([np.asarray(a, dtype=complex) for _, a in term_sets])
    edges = [0.0]
    x0 = min(first, s_max)
    while x0 < s_max:
        edges.append(x0)
        x0 *= 10.0
    edges.append(s_max)
    pieces = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi <= lo:
            continue
        alive = cs * np.exp(-als.real * lo) > atol / 100.0
        omega = np.abs(als.imag[alive]).max() if alive.any() else 0.0
        h = (hi - lo) / per_decade
        if omega > 0.0:
            h = min(h, 2.0 * math.pi / (per_period * omega))
        n = max(2, int(math.ceil((hi - lo) / h)) + 1)
        pieces.append(np.linspace(lo, hi, n))
    return np.unique(np.concatenate(pieces))


def _units(c: np.ndarray, alpha: np.ndarray) -> list[np.ndarray]:
    """Index groups that keep every conjugate pair together, in input order."""
    real, up, down = conjugate_structure(c, alpha)
    groups = [np.array([j]) for j in real] + [
        np.array([u, d]) for u, d in zip(up, down, strict=True)
    ]
    groups.sort(key=lambda g: int(g.min()))
    return groups


def _scan(
    bt: BalancedTruncation,
    x: np.ndarray,
    target: np.ndarray,
    atol: float,
    limit: int,
    coarse: np.ndarray,
) -> tuple[tuple[np.ndarray, np.ndarray, float] | None, float]:
    """Smallest order ≤ limit whose reduced sum meets atol on the grid."""
    n = min(limit, bt.hsv.size)
    r = max(1, min(n, bt.order_for(atol * 1e3)))
    seen = math.inf
    while r <= n:
        cr, ar = bt.reduce(r)
        if (ar.real >= 0.0).all():
            # cheap test on a subgrid first, then the whole grid
            err = float(np.abs(evaluate(cr, ar, x[coarse]) - target[coarse]).max())
            if err <= atol:
                err = float(np.abs(evaluate(cr, ar, x) - target).max())
            seen = min(seen, err)
            if err <= atol:
                return (cr, ar, err), seen
        r += 1
    return None, seen


def compress(
    c: ArrayLike,
    alpha: ArrayLike,
    x: ArrayLike,
    target: ArrayLike,
    atol: float,
    shifts: tuple[float, ...] = (0.0,),
    fallback_shifts: tuple[float, ...] = (),
    max_order: int = 400,
    chunk: int = 6000,
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Compress a sum of exponentials, verified against target values on a grid.

    For each shift, balanced truncation (:class:`BalancedTruncation`) of
    increasing order r is tried, starting from the order whose H∞ bound is
    10³ atol; the first reduced sum with every Re α ≥ 0 and
    max_x |h_r(x) − target(x)| ≤ atol is kept.  The smallest such sum over
    ``shifts`` is returned; ``fallback_shifts`` are tried only if none
    succeeds.  More than ``chunk`` terms are first compressed in chunks (each
    against its own values, to atol/(4 × number of chunks)), then together.

    Parameters
    ----------
    c, alpha : array_like
        Terms to compress (conjugate-closed; Re α + shift > 0 for every shift).
    x, target : array_like
        Verification grid and the values the reduced sum must reproduce there.
    atol : float
        Required maximum absolute error on the grid.
    shifts, fallback_shifts : tuple of float
        Shifts δ to try (see :class:`BalancedTruncation`).
    max_order : int
        Largest order tried.
    chunk : int
        Largest number of terms compressed at once.

    Returns
    -------
    c_r, alpha_r : numpy.ndarray
        The reduced terms.
    max_error : float
        max |h_r − target| on the grid.
    shift : float
        The shift that produced them.

    Raises
    ------
    CompressionError
        If no order up to ``max_order`` reaches ``atol`` for any shift.
    """
    c, alpha = _as_terms(c, alpha)
    x = np.asarray(x, dtype=float)
    target = np.asarray(target, dtype=float)
    if x.shape != target.shape or x.ndim != 1:
        raise ValueError("x and target must be 1-d arrays of one shape")
    if not (math.isfinite(atol) and atol > 0.0):
        raise ValueError(f"atol must lie in (0, ∞) (got {atol!r})")
    if c.size > chunk:
        units = _units(c, alpha)
        pieces: list[np.ndarray] = []
        current: list[np.ndarray] = []
        size = 0
        for u in units:
            current.append(u)
            size += u.size
            if size >= chunk:
                pieces.append(np.concatenate(current))
                current, size = [], 0
        if current:
            pieces.append(np.concatenate(current))
        sub_atol = atol / (4.0 * len(pieces))
        cs, als = [], []
        for idx in pieces:
            own = evaluate(c[idx], alpha[idx], x)
            # one shift is enough for a chunk (the final pass tries them all)
            cr, ar, _, _ = compress(
                c[idx],
                alpha[idx],
                x,
                own,
                sub_atol,
                shifts[:1],
                shifts[1:] + fallback_shifts,
                max_order,
                chunk,
            )
            cs.append(cr)
            als.append(ar)
        c, alpha = np.concatenate(cs), np.concatenate(als)
    coarse = np.unique(np.linspace(0, x.size - 1, min(x.size, 4000)).astype(int))
    best: tuple[np.ndarray, np.ndarray, float, float] | None = None
    seen = math.inf
    for group in (shifts, fallback_shifts):
        for shift in group:
            limit = max_order if best is None else best[0].size - 1
            found, err = _scan(
                BalancedTruncation(c, alpha, shift=shift, rtol=1e-20),
                x,
                target,
                atol,
                limit,
                coarse,
            )
            seen = min(seen, err)
            if found is not None:
                best = (*found, shift)
        if best is not None:
            break
    if best is None:
        raise CompressionError(
            f"no reduced sum of order ≤ {max_order} reaches atol = {atol:.3g} "
            f"(smallest error seen {seen:.3g}); the terms may not resolve the target"
        )
    return best
