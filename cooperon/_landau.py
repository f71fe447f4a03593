"""Landau-level sums  b Σ_{n≥0} f((n+½)b) − ∫_0^∞ f(Q) dQ  of a function known at nodes.

In a perpendicular field the Cooperon momentum is quantised, Q → Q_n =
(n + ½)b (``docs/magneto.md``).  For a smooth f that decays at large Q the
difference

    S_b[f] = b Σ_{n≥0} f((n+½)b) − ∫_0^∞ f dQ

is finite, and it is linear in f.  Here f is known only at a few nodes (each
value is a direct solution of Eq. (24)); S_b is evaluated as a linear
functional of those values:

* **interpolant** – f on [0, Q_hi] is interpolated by a Chebyshev polynomial
  in x = ln(Q + r) (r the scale on which f varies near Q = 0, e.g. the
  dephasing rate: F(0; Q) ~ 1/(Q + r) is then smooth in x), on the
  Chebyshev–Lobatto points, which are nested under n → 2n − 1;
* **low levels** – the N lowest levels are summed from the interpolant and
  ∫_0^a f, a = Nb, by Gauss–Legendre in x;
* **tail** – the levels n ≥ N against ∫_a^∞ f by the midpoint Euler–Maclaurin
  formula,

      b Σ_{n≥N} f((n+½)b) − ∫_a^∞ f = −Σ_{k≥1} B_{2k}(½) b^{2k}/(2k)! · f^{(2k−1)}(a),

  B_{2k}(½) = −(1 − 2^{1−2k}) B_{2k} (−1/12, 7/240, −31/1344, ...),
  with the derivatives of the interpolant at a.  N is the smallest integer
  with a + r ≥ ``TAIL_START`` · b, so that the expansion parameter
  b/(2π(a + r)) is ≤ 1/(2π·TAIL_START) and :data:`EM_TERMS` terms leave a
  first omitted term of relative size ~2·7!·(2π·8)^{−8} ≈ 3e-10; that term is
  returned as the truncation error.  At b ≪ r, N = 0 and S_b is the series
  at Q = 0: S_b = (b²/24) f′(0) − (7/5760) b⁴ f‴(0) + ...

Everything is linear in the node values, so :meth:`ChebyshevLandau.weights`
returns the matrix W with S_b[f] = W @ f for a whole set of fields at once
(and |W| @ δf bounds the effect of the errors δf of the node values).
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np
from numpy.polynomial import chebyshev as C

__all__ = [
    "EM_TERMS",
    "TAIL_START",
    "ChebyshevLandau",
    "bernoulli_half",
    "em_coefficients",
    "lobatto",
    "tail_start",
]

#: Terms of the Euler–Maclaurin tail kept (b², b⁴, b⁶); the next is the error estimate.
EM_TERMS = 3
#: The tail starts where a + r ≥ TAIL_START · b.
TAIL_START = 16.0
#: Gauss–Legendre points beyond the degree for ∫_0^a of the interpolant.
_EXTRA_GL = 40


def tail_start(b: float, r: float) -> tuple[int, float]:
    """(N, a = N b): the smallest N ≥ 0 with N b + r ≥ TAIL_START · b."""
    N = max(0, math.ceil((TAIL_START * b - r) / b))
    return N, N * b


#: Bernoulli numbers B_2, B_4, ..., B_12 (exact).
_BERNOULLI = [
    Fraction(1, 6),
    Fraction(-1, 30),
    Fraction(1, 42),
    Fraction(-1, 30),
    Fraction(5, 66),
    Fraction(-691, 2730),
]


def bernoulli_half(k: int) -> float:
    """B_{2k}(½) = −(1 − 2^{1−2k}) B_{2k}, k = 1..6 (exact rational, then rounded)."""
    return float(-(1 - Fraction(2) ** (1 - 2 * k)) * _BERNOULLI[k - 1])


def em_coefficients(K: int) -> np.ndarray:
    """β_k = B_{2k}(½)/(2k)! for k = 1..K ≤ 6 (midpoint Euler–Maclaurin)."""
    return np.array(
        [
            float(-(1 - Fraction(2) ** (1 - 2 * k)) * _BERNOULLI[k - 1] / math.factorial(2 * k))
            for k in range(1, K + 1)
        ]
    )


@functools.lru_cache(maxsize=16)
def _leggauss(m: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(m)


def lobatto(n: int) -> np.ndarray:
    """Chebyshev–Lobatto points cos(πj/(n−1)), j = 0..n−1 (descending, nested)."""
    return np.cos(np.pi * np.arange(n) / (n - 1))


def _values_to_coefficients(n: int) -> np.ndarray:
    """Matrix M with Chebyshev coefficients c = M @ f of the interpolant at :func:`lobatto`."""
    j = np.arange(n)
    M = np.cos(np.pi * np.outer(j, j) / (n - 1)) * (2.0 / (n - 1))
    M[:, 0] *= 0.5
    M[:, -1] *= 0.5
    M[0, :] *= 0.5
    M[-1, :] *= 0.5
    return M


class ChebyshevLandau:
    """The functional S_b on the Chebyshev interpolant of f in x = ln(Q + r) on [0, Q_hi].

    Parameters
    ----------
    Q_hi : float
        Upper end of the interpolation interval (> 0); every field b used
        must have its tail start a ≤ Q_hi (see :meth:`tail_start`).
    r : float
        Scale of the map x = ln(Q + r), > 0.
    n : int
        Number of Lobatto points (≥ 3).
    """

    def __init__(self, Q_hi: float, r: float, n: int):
        if not (Q_hi > 0 and r > 0 and n >= 3):
            raise ValueError(f"need Q_hi > 0, r > 0, n >= 3 (got {Q_hi!r}, {r!r}, {n!r})")
        self.Q_hi, self.r, self.n = float(Q_hi), float(r), int(n)
        self.x0, self.x1 = math.log(r), math.log(Q_hi + r)
        self.t = lobatto(n)
        self.nodes = np.maximum(np.exp(self._x(self.t)) - r, 0.0)
        self.nodes[-1] = 0.0
        self._M = _values_to_coefficients(n)
        self._der = [np.eye(n)]  # coefficients of the t-derivatives of T_k

    def _x(self, t):
        return 0.5 * (self.x0 + self.x1) + 0.5 * (self.x1 - self.x0) * t

    def _t(self, Q):
        x = np.log(np.asarray(Q, dtype=float) + self.r)
        return np.clip((2.0 * x - self.x0 - self.x1) / (self.x1 - self.x0), -1.0, 1.0)

    # -- the functional on the Chebyshev basis -----------------------------------

    def _basis_values(self, Q) -> np.ndarray:
        return C.chebvander(self._t(Q), self.n - 1)

    def _basis_integral(self, a: float) -> np.ndarray:
        """∫_0^a T_k(t(Q)) dQ for every k (dQ = e^x dx)."""
        if a <= 0:
            return np.zeros(self.n)
        xa = math.log(a + self.r)
        xg, wg = _leggauss(self.n + _EXTRA_GL)
        x = 0.5 * (self.x0 + xa) + 0.5 * (xa - self.x0) * xg
        w = 0.5 * (xa - self.x0) * wg * np.exp(x)
        t = (2.0 * x - self.x0 - self.x1) / (self.x1 - self.x0)
        return w @ C.chebvander(t, self.n - 1)

    def _basis_derivatives(self, a: float, orders) -> np.ndarray:
        """d^m/dQ^m T_k(t(Q)) at Q = a, rows m in ``orders``.

        With x = ln(Q + r): (Q + r)^m d^m/dQ^m = D(D − 1)···(D − m + 1), D = d/dx,
        and d/dx = (2/(x₁ − x₀)) d/dt.
        """
        mmax = max(orders)
        while len(self._der) <= mmax:
            prev = self._der[-1]
            nxt = C.chebder(prev, axis=0) if prev.shape[0] > 1 else np.zeros((1, self.n))
            self._der.append(nxt)
        t = float(self._t(a))
        scale = 2.0 / (self.x1 - self.x0)
        Dx = np.array([C.chebval(t, self._der[j]) * scale**j for j in range(mmax + 1)])
        out = []
        for m in orders:
            poly = np.poly(np.arange(m))[::-1]  # D^0..D^m coefficients of D(D−1)...(D−m+1)
            out.append(poly @ Dx[: m + 1] / (a + self.r) ** m)
        return np.array(out)

    # -- public ----------------------------------------------------------------

    def tail_start(self, b: float) -> tuple[int, float]:
        """(N, a = N b): the levels summed directly and the start of the tail."""
        return tail_start(b, self.r)

    def functionals(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ℓ, ε (len(b) × n): S_b on the Chebyshev basis, and the first omitted EM term.

        S_b[f] ≈ ℓ @ c and the EM truncation error ≈ ε @ c for the coefficients
        c = :meth:`coefficients` (f at the nodes).

        Raises
        ------
        ValueError
            If a field's tail would start beyond Q_hi.
        """
        b = np.atleast_1d(np.asarray(b, dtype=float))
        beta = em_coefficients(EM_TERMS + 1)
        orders = [2 * k - 1 for k in range(1, EM_TERMS + 2)]
        ell = np.zeros((b.size, self.n))
        eps = np.empty((b.size, self.n))
        for i, bi in enumerate(b):
            N, a = self.tail_start(bi)
            if a > self.Q_hi * (1 + 1e-12):
                raise ValueError(f"field b = {bi!r}: tail start {a!r} beyond Q_hi = {self.Q_hi!r}")
            if N:
                Qn = (np.arange(N) + 0.5) * bi
                ell[i] += bi * self._basis_values(Qn).sum(axis=0) - self._basis_integral(a)
            der = self._basis_derivatives(a, orders)
            powers = bi ** (2.0 * np.arange(1, EM_TERMS + 2))
            em = -(beta * powers)[:, None] * der
            ell[i] += em[:EM_TERMS].sum(axis=0)
            eps[i] = em[EM_TERMS]
        return ell, eps

    def coefficients(self, values: np.ndarray) -> np.ndarray:
        """Chebyshev coefficients of the interpolant of ``values`` at :attr:`nodes`."""
        return self._M @ values

    def weights(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """W, V (len(b) × n): S_b[f] ≈ W @ f(nodes); the first omitted EM term is V @ f."""
        ell, eps = self.functionals(b)
        return ell @ self._M, eps @ self._M

    def tail_estimate(self, ell: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
        """Σ over the last quarter of k of |ℓ_k c_k|: the interpolation error estimate of S_b.

        Under geometric convergence c_k ~ ρ^{−k} the error of the interpolant is
        of the size of the coefficients beyond n, so this over-estimates it by
        about ρ^{n/4}; an unresolved f keeps large coefficients there.
        """
        k0 = (3 * (self.n - 1)) // 4
        return np.abs(ell[:, k0:]) @ np.abs(coefficients[k0:])
