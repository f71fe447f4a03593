r"""Fast path for scalar linear equations with a convolution kernel ``K(t, s) = k(t - s)``.

The discretisation is exactly the one of the direct path
(:func:`solver._general.solve_linear` with :func:`solver._core.toeplitz_rows`):
the starting block (rows ``1 .. order - 1``) is solved as one coupled system,
and every later row ``n`` is the Gregory rule of the given order on
``[t_0, t_n]``,

.. math::

    y_n = r_n + h \sum_{j=0}^{n} w_{nj}\, k_{n-j}\, y_j, \qquad k_l = k(l h),

with ``w_{nj} = 1`` inside and the Gregory end weights ``e_0, e_1, ...`` at
both ends (:func:`solver.weights.gregory_end_weights`). Only the order in
which the sum is accumulated differs, so both paths agree to rounding.

Algorithm
---------
Row ``n`` is split into

* the unit-weight lower-triangular Toeplitz sum ``S_n = sum_{j<n} k_{n-j} y_j``,
* the left-end corrections ``sum_{j<m} (e_j - 1) k_{n-j} y_j`` (``m`` end
  weights; known once the starting block is solved, added to ``r`` for all
  rows at once in O(m N)),
* the right-end corrections ``sum_{d=1}^{m-1} (e_d - 1) k_d y_{n-d}`` and the
  implicit diagonal term ``e_0 k_0 y_n`` (O(m) per row, when ``y_n`` is solved).

The first ``n_direct`` rows (by default more than the rows where the two end
corrections overlap; there they simply add) are stepped directly by
:func:`solver._core.toeplitz_rows`. ``S_n`` is an
"online" convolution: ``y_j`` becomes known only after row ``j`` is solved.
It is computed with the divide-and-conquer scheme of Hairer, Lubich and
Schlichte: a block of rows ``[a, b)`` is halved at ``c``; the left half is
solved recursively, its whole contribution
``sum_{a<=j<c} k_{n-j} y_j`` to the rows ``c <= n < b`` of the right half is
added with one FFT convolution (a circular convolution of length ``b - a``
suffices, since the needed lags ``1 .. b-a-1`` never wrap), and then the
right half is solved recursively. Blocks of at most ``base`` rows are solved
by a compiled direct loop. The blocks are ``base 2^l`` rows long, so the
spectrum of ``k_0 .. k_{B-1}`` is computed once per block length ``B``.

Cost
----
``O(N log^2 N)`` operations (``log2(N / base)`` levels, each with FFTs of
total length about ``2 N``) plus ``O(N base)`` for the base blocks, ``O(N)``
memory, and ``N`` kernel evaluations (plus ``(order - 1)^2`` for the starting
block). The FFT sums carry a rounding error of order
``eps log N max|k| max|y|`` rather than ``eps sum |k y|``, which is below the
truncation error of any usable grid.

References
----------
E. Hairer, Ch. Lubich, M. Schlichte, "Fast numerical solution of nonlinear
Volterra convolution equations", SIAM J. Sci. Stat. Comput. 6 (1985) 532-541.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.fft

from . import _core, _general
from .weights import gregory_end_weights

__all__ = ["solve"]

#: rows of a base block solved by the compiled direct loop (a power of two)
BASE = 128
#: rows stepped by :func:`solver._core.toeplitz_rows` before the recursion
N_DIRECT = 64
#: grids up to this size are stepped directly (faster than the FFT recursion)
DIRECT_MAX = 512


def solve(
    kernel,
    t: np.ndarray,
    r: np.ndarray,
    order: int,
    dtype,
    *,
    base: int = BASE,
    n_direct: int = N_DIRECT,
    direct_max: int = DIRECT_MAX,
) -> tuple[np.ndarray, dict]:
    """Solve ``y = r + ∫ k(t - s) y(s) ds`` with the Gregory rule of the given order.

    Parameters
    ----------
    kernel : solver.kernels.Convolution
        The kernel; ``kernel.evaluate_lag`` is called once on ``t - t[0]``
        (and on the small lag table of the starting block).
    t : ndarray, shape (N,)
        Uniform grid.
    r : ndarray, shape (N,)
        Right-hand side ``f + H`` on the grid.
    order : int
        Order of the Gregory rule (2, 4, 6 or 8).
    dtype
        ``float64`` or ``complex128``; the result is complex if the kernel
        values or ``r`` are.
    base, n_direct, direct_max
        Tuning: rows per directly solved base block (a power of two), rows
        stepped directly before the recursion, and the largest grid stepped
        entirely directly. They change only the rounding, not the result.

    Returns
    -------
    y : ndarray, shape (N,)
        The solution on the grid.
    stats : dict
        ``kernel_evaluations``, ``fft_convolutions`` and ``base_blocks``.

    Raises
    ------
    ValueError
        If the kernel returns NaN or inf on the grid.
    numpy.linalg.LinAlgError
        If a row is singular (``1 - h e_0 k(0) = 0``).

    Notes
    -----
    Hairer-Lubich-Schlichte divide and conquer, ``O(N log^2 N)`` work; see
    the module docstring for the algorithm and E. Hairer, Ch. Lubich,
    M. Schlichte, SIAM J. Sci. Stat. Comput. 6 (1985) 532-541.
    """
    if base < 1 or base & (base - 1):
        raise ValueError(f"base must be a power of two, got {base}")
    t = np.asarray(t, dtype=float)
    N = t.size
    kv = np.asarray(kernel.evaluate_lag(t - t[0]))
    if kv.shape != (N,):
        raise ValueError(f"kernel: the convolution fast path needs a scalar k(u), got {kv.shape}")
    if not np.all(np.isfinite(kv)):
        bad = int(np.flatnonzero(~np.isfinite(kv))[0])
        raise ValueError(f"kernel returned NaN or inf at lag u={t[bad] - t[0]:.6g}")
    dtype = np.result_type(dtype, kv.dtype, np.asarray(r).dtype, np.float64)
    kv = kv.astype(dtype)
    r = np.asarray(r, dtype=dtype)
    disc = _general.make_discretisation(kernel, t, order, (), dtype)
    h = disc.h
    stats = {"kernel_evaluations": N, "fft_convolutions": 0, "base_blocks": 0}

    y = np.zeros(N, dtype=dtype)
    y[0] = r[0]
    if N == 1:
        return y, stats

    # starting block, exactly as in _general.solve_linear
    ns = disc.nstart
    rows = np.arange(1, ns + 1)
    block = _general.assemble(disc, rows, ns + 1)
    # (A, nevals) or (A, c0, nevals); c0 = 0 on a uniform grid without cells
    A, ne = block[0], block[-1]
    if len(block) == 3 and block[1] != 0:
        raise RuntimeError("starting block: unexpected column offset from _general.assemble")
    stats["kernel_evaluations"] += ne
    if not np.all(np.isfinite(A)):
        raise ValueError("kernel returned NaN or inf in the starting block")
    _general._solve_start_linear(A, r, y, ns, ())

    w_end = np.asarray(gregory_end_weights(order), dtype=float)
    m = w_end.size
    n_dir = N if N <= direct_max else min(N, max(n_direct, ns + 1))
    if n_dir > ns + 1:
        bad = _core.toeplitz_rows(kv, w_end, r[ns + 1 : n_dir].copy(), y, ns + 1, n_dir, h)
        _general._raise_singular(bad, disc)
    if n_dir >= N:
        return y, stats

    den = 1.0 - h * w_end[0] * kv[0]
    if den == 0.0:
        _general._raise_singular(n_dir, disc)

    # left-end corrections: y_0 .. y_{m-1} are known, so add them to r for all rows
    rhs = r.copy()
    for j in range(m):
        c = w_end[j] - 1.0
        if c != 0.0:
            rhs[n_dir:] += (h * c * y[j]) * kv[n_dir - j : N - j]
    # right-end corrections: c_right[d - 1] = e_d - 1 for d = 1 .. m - 1
    c_right = np.ascontiguousarray(w_end[1:] - 1.0)

    _Recursion(kv, c_right, rhs, y, h, den, n_dir, base, stats).run()
    return y, stats


class _Recursion:
    """State of one Hairer-Lubich-Schlichte recursion over the rows ``[0, N)``."""

    def __init__(self, kv, c_right, rhs, y, h, den, n_solve, base, stats):
        self.kv, self.c_right, self.rhs, self.y = kv, c_right, rhs, y
        self.h, self.den, self.n_solve, self.base = h, den, n_solve, base
        self.stats = stats
        self.N = N = y.size
        self.complex = np.iscomplexobj(y)
        npad = base
        while npad < N:
            npad *= 2
        self.npad = npad
        self.kpad = np.zeros(npad, dtype=kv.dtype)
        self.kpad[:N] = kv  # lags >= N only reach rows >= N, which are not needed
        self.S = np.zeros(npad, dtype=y.dtype)  # unit-weight sums, filled block by block
        self._spectra: dict[int, np.ndarray] = {}

    def run(self) -> None:
        self._solve(0, self.npad)

    def _spectrum(self, B: int) -> np.ndarray:
        s = self._spectra.get(B)
        if s is None:
            seg = self.kpad[:B]
            s = scipy.fft.fft(seg) if self.complex else scipy.fft.rfft(seg)
            self._spectra[B] = s
        return s

    def _solve(self, a: int, b: int) -> None:
        """Solve rows ``[a, b) ∩ [n_solve, N)``; ``S`` holds all ``j < a`` on entry."""
        N = self.N
        if a >= N or b <= self.n_solve:
            return
        if b - a <= self.base:
            _base_block(
                self.kv,
                self.c_right,
                self.rhs,
                self.S,
                self.y,
                max(a, self.n_solve),
                min(b, N),
                a,
                self.h,
                self.den,
            )
            self.stats["base_blocks"] += 1
            return
        c = (a + b) // 2
        self._solve(a, c)
        if c < N:
            self._add_left_half(a, c, b)
            self._solve(c, b)

    def _add_left_half(self, a: int, c: int, b: int) -> None:
        """``S[n] += sum_{a<=j<c} k_{n-j} y_j`` for ``c <= n < min(b, N)``."""
        hi = min(b, self.N)
        lo = max(c, self.n_solve)
        if hi <= lo:
            return
        B = b - a
        # few target rows: a direct dot product beats an FFT of length B
        if (hi - lo) * (c - a) <= 8 * B * max(B.bit_length(), 1):
            _direct_sum(self.kv, self.y, self.S, a, c, lo, hi)
            return
        seg = self.y[a:c]
        if self.complex:
            conv = scipy.fft.ifft(scipy.fft.fft(seg, n=B) * self._spectrum(B))
        else:
            conv = scipy.fft.irfft(scipy.fft.rfft(seg, n=B) * self._spectrum(B), n=B)
        # conv[i] = sum_q y_{a+q} k_{i-q} without wrap-around for c-a <= i < B
        self.S[lo:hi] += conv[lo - a : hi - a]
        self.stats["fft_convolutions"] += 1


@numba.njit(cache=True, nogil=True)
def _base_block(kv, c_right, rhs, S, y, n0, n1, a, h, den):
    """Solve rows ``n0 .. n1 - 1`` of a base block starting at row ``a``.

    On entry ``S[n]`` holds ``sum_{j<a} k_{n-j} y_j``; the sum over
    ``a <= j < n`` is added here, then the right-end corrections and the
    diagonal term.
    """
    m1 = c_right.shape[0]
    for n in range(n0, n1):
        acc = S[n]
        for j in range(a, n):
            acc += kv[n - j] * y[j]
        corr = acc * 0.0
        for d in range(1, m1 + 1):
            corr += c_right[d - 1] * kv[d] * y[n - d]
        y[n] = (rhs[n] + h * (acc + corr)) / den


@numba.njit(cache=True, nogil=True)
def _direct_sum(kv, y, S, a, c, lo, hi):
    """``S[n] += sum_{a<=j<c} k_{n-j} y_j`` for ``lo <= n < hi``."""
    for n in range(lo, hi):
        acc = S[n]
        for j in range(a, c):
            acc += kv[n - j] * y[j]
        S[n] = acc
