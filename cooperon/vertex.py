"""The vertex function Φ of Eq. (24) as a sum of exponentials in |x|.

Eq. (25), Φ(x) = rₑ + r₁ cos(εx) + r₃ e^{−2g|x|}, and its averages over
defect ensembles (Sec. II C) are all of the form

    Φ(x) = Σ_k c_k exp(−α_k |x|),   Re α_k ≥ 0,

with every term real or accompanied by its complex conjugate (Φ is real and
even). Terms with ``α = 0`` carry the constant part, pure imaginary ``α``
the undamped oscillations (cos εx = ½e^{iε|x|} + ½e^{−iε|x|}), the others
decay. This is the form in which Eq. (24) is handed to the solver
(:mod:`cooperon.equation`): each term gives two exponential kernel terms, on
either side of the kink of |·| at s = 2t.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Small complex matrix-vector products use einsum, not BLAS: a multithreaded zgemv
# of (n, 4) x (4,) can take milliseconds when the cores are busy (thread contention).
from .parameters import Parameters

__all__ = ["Vertex"]


@dataclass(frozen=True, eq=False)
class Vertex:
    """Φ(x) = Σ_k c_k exp(−α_k |x|) (Eq. 25 and its ensemble averages).

    Parameters
    ----------
    c, alpha
        Weights and rates, 1-D arrays of equal length (complex allowed),
        ``Re α_k ≥ 0``, every complex term with its conjugate present.
    """

    c: np.ndarray
    alpha: np.ndarray

    def __post_init__(self) -> None:
        c = np.atleast_1d(np.asarray(self.c, dtype=complex))
        a = np.atleast_1d(np.asarray(self.alpha, dtype=complex))
        if c.ndim != 1 or c.shape != a.shape:
            raise ValueError(
                f"Vertex: c and alpha must be 1-D of equal length, got {c.shape}, {a.shape}"
            )
        if not (np.all(np.isfinite(c)) and np.all(np.isfinite(a))):
            raise ValueError("Vertex: c and alpha must be finite")
        if np.any(a.real < 0):
            raise ValueError("Vertex: every rate alpha must have Re alpha >= 0")
        keep = c != 0
        c, a = c[keep], a[keep]
        if not _conjugate_closed(c, a):
            raise ValueError("Vertex: complex terms must come with their complex conjugates")
        # merge terms with equal rates (e.g. several constants)
        uniq, inv = np.unique(np.round(a, 15), return_inverse=True)
        if uniq.size < a.size:
            cm = np.zeros(uniq.size, dtype=complex)
            np.add.at(cm, inv.ravel(), c)
            am = np.array([a[inv.ravel() == i][0] for i in range(uniq.size)])
            c, a = cm[cm != 0], am[cm != 0]
        c.setflags(write=False)
        a.setflags(write=False)
        object.__setattr__(self, "c", c)
        object.__setattr__(self, "alpha", a)

    @classmethod
    def from_parameters(cls, params: Parameters) -> Vertex:
        """Eq. (25): rₑ + r₁ cos(εx) + r₃ e^{−2g|x|} (ε = 0 or g = 0 fold into the constant)."""
        r1, r3 = params.tau_over_tau1, params.tau_over_tau3
        eps, g = params.E_tau, params.gamma_tau
        const = params.tau_over_taue + (r1 if eps == 0 else 0.0) + (r3 if g == 0 else 0.0)
        c, a = [const], [0.0]
        if r1 > 0 and eps > 0:
            c += [0.5 * r1, 0.5 * r1]
            a += [1j * eps, -1j * eps]
        if r3 > 0 and g > 0:
            c.append(r3)
            a.append(2.0 * g)
        return cls(np.array(c, dtype=complex), np.array(a, dtype=complex))

    # -- evaluation ----------------------------------------------------------

    def __call__(self, x) -> np.ndarray:
        """Φ(x) (real, even)."""
        x = np.abs(np.asarray(x, dtype=float))
        v = np.einsum("...k,k->...", np.exp(-np.multiply.outer(x, self.alpha)), self.c)
        return v.real

    def derivative(self, x) -> np.ndarray:
        """Φ′(x) for x ≠ 0 (Φ′ jumps at 0 where decaying terms are present)."""
        x = np.asarray(x, dtype=float)
        e = np.exp(-np.multiply.outer(np.abs(x), self.alpha)) * -self.alpha
        v = np.einsum("...k,k->...", e, self.c)
        return np.sign(x) * v.real

    def lam(self, x) -> np.ndarray:
        """λ(x) = 1 − Φ(x) = (1 − Σc) − Σ c_k expm1(−α_k|x|) (no cancellation when λ ≪ 1)."""
        x = np.abs(np.asarray(x, dtype=float))
        per = np.expm1(-np.multiply.outer(x, self.alpha))
        return (1.0 - np.sum(self.c).real) - np.einsum("...k,k->...", per, self.c).real

    def lambda_integral(self, u) -> np.ndarray:
        """∫_0^u λ(x) dx = ∫_0^u (1 − Φ) for u ≥ 0 (no cancellation for small α u)."""
        u = np.asarray(u, dtype=float)
        z = np.multiply.outer(u, self.alpha)
        per = u[..., None] * _one_minus_phi1(z)
        out = (1.0 - np.sum(self.c).real) * u + np.einsum("...k,k->...", per, self.c).real
        return out

    # -- structure -------------------------------------------------------------

    @property
    def constant(self) -> float:
        """Σ c_k over α_k = 0: the mean of Φ far in the past (without its oscillations)."""
        return float(np.sum(self.c[self.alpha == 0]).real)

    @property
    def dephasing(self) -> float:
        """λ(∞) = 1 − constant: the dephasing rate far in the past (Eq. 33, ϑ/t → Q + this)."""
        return 1.0 - self.constant

    @property
    def frozen(self) -> Vertex:
        """The terms that do not decay (Re α = 0): Φ far in the past."""
        sel = self.alpha.real == 0
        return Vertex(self.c[sel], self.alpha[sel])

    @property
    def decaying(self) -> tuple[np.ndarray, np.ndarray]:
        """``(c, alpha)`` of the terms with Re α > 0."""
        sel = self.alpha.real > 0
        return self.c[sel], self.alpha[sel]

    @property
    def frequencies(self) -> np.ndarray:
        """The distinct ε ≥ 0 of the undamped oscillations (Im α of terms with Re α = 0)."""
        sel = (self.alpha.real == 0) & (self.alpha.imag > 0)
        return np.unique(self.alpha.imag[sel])

    @property
    def lambda_bound(self) -> float:
        """An upper bound of λ(x) = 1 − Φ(x) = (1 − Σc) + Σ c_k (1 − e^{−α_k|x|}).

        Real decaying terms add at most max(c, 0), complex ones at most 2|c|
        (exact for Eq. 25: 2r₁ + r₃ when Σc = 1).
        """
        real = (self.alpha.imag == 0) & (self.alpha.real > 0)
        cplx = self.alpha.imag != 0
        return (
            abs(1.0 - float(np.sum(self.c).real))
            + float(np.sum(np.maximum(self.c[real].real, 0.0)))
            + 2.0 * float(np.sum(np.abs(self.c[cplx])))
        )

    def shortest_scale(self) -> float:
        """1/max|α| (1 if all α = 0): the fastest scale on which Φ varies."""
        big = float(np.max(np.abs(self.alpha), initial=0.0))
        return 1.0 / big if big > 0 else math.inf

    def alive(self, distance: float, tol: float = 1e-18) -> np.ndarray:
        """Mask of the terms with ``|c| e^{−Re α d} > tol`` at ``|x| = distance``."""
        return np.abs(self.c) * np.exp(-self.alpha.real * distance) > tol

    def theta(self, t, Q: float) -> np.ndarray:
        """ϑ(t) = −∫_t^0 λ₁(s) ds = Q t − ∫_0^{|t|} λ (Eq. 33), t ≤ 0."""
        u = -np.asarray(t, dtype=float)
        return -Q * u - self.lambda_integral(u)


def _one_minus_phi1(z: np.ndarray) -> np.ndarray:
    """1 − (1 − e^{−z})/z, by its Taylor series for |z| < 0.1 (no cancellation).

    The series Σ_{n≥1} (−1)^{n+1} z^n/(n+1)! is summed by Horner's rule to n = 11
    (the first term left out is below 0.1^12/13! ≈ 1.6e-22 of |z|/2).
    """
    z = np.asarray(z, dtype=complex)
    small = np.abs(z) < 0.1
    if not small.any():
        return 1.0 + np.expm1(-z) / z
    out = np.empty(z.shape, dtype=complex)
    zs = z[small]
    acc = np.full(zs.shape, _PHI1_SERIES[-1], dtype=complex)
    for coef in _PHI1_SERIES[-2::-1]:
        acc = acc * zs + coef
    out[small] = acc * zs
    big = ~small
    if big.any():
        zb = z[big]
        out[big] = 1.0 + np.expm1(-zb) / zb
    return out


#: coefficients (−1)^{n+1}/(n+1)! of z^n, n = 1 .. 11, of 1 − (1 − e^{−z})/z
_PHI1_SERIES = tuple((-1.0) ** (n + 1) / math.factorial(n + 1) for n in range(1, 12))


def _conjugate_closed(c: np.ndarray, a: np.ndarray) -> bool:
    """True if every complex term has its conjugate (within rounding)."""
    for k in range(c.size):
        if c[k].imag == 0 and a[k].imag == 0:
            continue
        d = np.abs(c - np.conj(c[k])) + np.abs(a - np.conj(a[k]))
        if np.min(d) > 1e-12 * (abs(c[k]) + abs(a[k])):
            return False
    return True
