"""Eq. (24) as data for :mod:`solver`: kernel, right-hand side and history.

Eq. (24) with c = 1,

    (1 + Q) F(t) = Φ(t) + ∫_{−∞}^{t} e^{−(t−t')} Φ(2t − t') F(t') dt',   t ≤ 0,

is the Volterra equation ``F = f + ∫ K F`` with ``f = Φ/(1+Q)`` and

    K(t, s) = e^{−(t−s)} Φ(2t − s) / (1 + Q),

with Φ a sum of exponentials in |x| (:class:`~cooperon.vertex.Vertex`): Eq. (25),
Φ(x) = rₑ + r₁ cos(εx) + r₃ e^{−2g|x|}, or an ensemble average. Every term
c e^{−α|x|} of Φ gives exponentials ``exp(λ t − μ (t − s))`` of ``K``:

* for s < 2t: c with λ = −α, μ = 1 + α;  for s > 2t: c with λ = α, μ = 1 − α.

For Eq. (25): ``rₑ`` has λ = 0, μ = 1 on both sides; ``r₁ cos(ε(2t − s))``
gives ½ r₁ with λ = ±iε, μ = 1 ∓ iε (a conjugate pair, the same on both
sides); ``r₃ e^{−2g|2t − s|}`` gives λ = −2g, μ = 1 + 2g for s < 2t and
λ = 2g, μ = 1 − 2g for s > 2t (the kink of |·| at s = 2t is the kernel's
breakpoint).

In the far past the decaying terms of Φ die out and Eq. (24) tends to the
*frozen* equation with Φ∞(x) = φ₀ + r₁ cos(εx) (for Eq. 25: φ₀ = rₑ, plus r₃
if g = 0, plus r₁ if ε = 0), whose bounded
solution is periodic, F∞(t) = Σ_m a_m e^{imεt}; its Fourier coefficients
solve a banded linear system (harmonic balance, derived in
:func:`frozen_coefficients`). F∞ serves as the history before the truncation
time −T, so the truncation error only comes from the difference F − F∞ at −T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_banded

from solver import History
from solver.kernels import ExpSum, Piecewise

from . import _history_sums
from .parameters import Parameters
from .vertex import Vertex

__all__ = [
    "kernel",
    "rhs",
    "FrozenSolution",
    "frozen_solution",
    "frozen_coefficients",
    "history",
    "is_periodic",
    "model",
]


def model(params: Parameters | Vertex, Q: float | None = None) -> tuple[Vertex, float]:
    """``(Φ, Q)`` of Eq. (24) from :class:`Parameters` (Eq. 25) or a :class:`Vertex` and ``Q``."""
    if isinstance(params, Parameters):
        if Q is not None and Q != params.Dq2_tau:
            raise ValueError("Q: give it only with a Vertex (Parameters carry Dq2_tau)")
        return Vertex.from_parameters(params), params.Dq2_tau
    if isinstance(params, Vertex):
        if Q is None or not (math.isfinite(Q) and Q >= 0):
            raise ValueError(f"Q = Dq²τ must be a finite number >= 0 with a Vertex, got {Q!r}")
        return params, float(Q)
    raise TypeError(f"params must be cooperon.Parameters or a Vertex, got {type(params).__name__}")


def _terms(params: Parameters | Vertex, Q: float | None = None) -> tuple[list, list]:
    """(weight, λ, μ) of the terms of K·(1+Q) left and right of s = 2t.

    A term c e^{−α|x|} of Φ, x = 2t − s, gives c exp(−αt − (1+α)(t−s)) for
    s < 2t and c exp(αt − (1−α)(t−s)) for s > 2t.
    """
    v, _ = model(params, Q)
    left = [(c, -a, 1.0 + a) for c, a in zip(v.c, v.alpha, strict=True)]
    right = [(c, a, 1.0 - a) for c, a in zip(v.c, v.alpha, strict=True)]
    return _canonical(left), _canonical(right)


def _canonical(terms: list) -> list:
    """Terms as Python numbers (real where they are real), in a fixed order."""

    def num(x):
        x = complex(x)
        return x.real if x.imag == 0 else x

    out = [tuple(num(x) for x in term) for term in terms]
    return sorted(out, key=lambda z: tuple((complex(x).real, complex(x).imag) for x in z))


def _expsum(terms: list, scale: float) -> ExpSum:
    if not terms:
        return ExpSum([0.0], [0.0], [1.0])
    w, lam, mu = zip(*terms, strict=True)
    return ExpSum(np.asarray(w) * scale, lam, mu)


def _two_t(t):
    return 2.0 * np.asarray(t, dtype=float)


def kernel(params: Parameters | Vertex, Q: float | None = None) -> Piecewise | ExpSum:
    """The kernel of Eq. (24), ``K(t, s) = e^{−(t−s)} Φ(2t − s)/(1 + Q)``.

    A :class:`solver.kernels.Piecewise` of two :class:`~solver.kernels.ExpSum`
    pieces with the breakpoint ``s = 2t`` (the kink of the decaying terms of
    Φ at x = 0), or a single ``ExpSum`` when Φ has no kink (no decaying term).
    """
    v, Q = model(params, Q)
    left, right = _terms(v, Q)
    scale = 1.0 / (1.0 + Q)
    if left == right:
        return _expsum(left, scale)
    return Piecewise([_expsum(left, scale), _expsum(right, scale)], [_two_t])


def rhs(params: Parameters | Vertex, Q: float | None = None):
    """Right-hand side ``f(t) = Φ(t)/(1 + Q)`` of Eq. (24) with c = 1 (vectorised)."""
    v, Q = model(params, Q)
    scale = 1.0 / (1.0 + Q)

    def f(t):
        return scale * v(t)

    return f


def is_periodic(params: Parameters | Vertex, Q: float | None = None) -> bool:
    """True if Eq. (24) coincides with its frozen form (no decaying term in Φ).

    For Eq. (25): r₃ = 0 or g = 0. Then the frozen solution F∞ *is* the
    solution for all t ≤ 0.
    """
    v, _ = model(params, Q)
    return bool(np.all(v.alpha.real == 0))


@dataclass(frozen=True)
class FrozenSolution:
    """The periodic solution ``F∞(t) = Σ_m a_m e^{imεt}`` of the frozen equation.

    Attributes
    ----------
    coefficients : ndarray, complex, shape (2M+1,)
        ``a_m`` for ``m = −M .. M``.
    omega : float
        ε (0 when F∞ is constant).
    residual : float
        Size of the last harmonic kept relative to the largest: the
        truncation error of the series.
    """

    coefficients: np.ndarray
    omega: float
    residual: float

    @property
    def harmonics(self) -> np.ndarray:
        """The harmonic numbers ``m = −M .. M``."""
        M = (self.coefficients.size - 1) // 2
        return np.arange(-M, M + 1)

    def __call__(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        ph = np.exp(1j * self.omega * np.multiply.outer(t, self.harmonics))
        return np.einsum("...m,m->...", ph, self.coefficients).real

    @property
    def value_at_zero(self) -> float:
        """``F∞(0) = Σ_m a_m``."""
        return float(np.sum(self.coefficients).real)

    @property
    def bound(self) -> float:
        """``Σ |a_m|`` ≥ ``max |F∞|``."""
        return float(np.sum(np.abs(self.coefficients)))

    def trimmed(self, tol: float = 1e-17) -> FrozenSolution:
        """The same series without its outermost harmonics while their ``Σ|a_m|`` stays
        below ``tol`` times :attr:`bound` (they change F∞ by less than that, anywhere)."""
        a = np.abs(self.coefficients)
        M = (a.size - 1) // 2
        if M == 0:
            return self
        pair = a[:M][::-1] + a[M + 1 :]  # |a_{-m}| + |a_m| for m = 1 .. M
        dropped = np.cumsum(pair[::-1])  # dropping m = M, M-1, ...
        k = int(np.searchsorted(dropped, tol * float(np.sum(a)), side="right"))
        if k == 0:
            return self
        return FrozenSolution(self.coefficients[k:-k], self.omega, self.residual)


def _frozen_parts(params, Q) -> tuple[float, float, float, float]:
    """``(φ₀, r₁, ε, Q)`` of the frozen vertex Φ∞(x) = φ₀ + r₁ cos(εx)."""
    v, Q = model(params, Q)
    fz = v.frozen
    eps = fz.frequencies
    if eps.size > 1:
        raise ValueError(
            "the vertex has several undamped frequencies "
            f"{eps.tolist()}: the far-past solution is not periodic (give them a damping)"
        )
    phi0 = fz.constant
    if eps.size == 0:
        return phi0, 0.0, 0.0, Q
    c_osc = fz.c[fz.alpha.imag != 0]
    if np.any(np.abs(c_osc.imag) > 1e-14 * np.abs(c_osc)):
        raise ValueError(
            "Vertex: an undamped oscillation must have a real weight (c cos(εx)); a complex "
            f"one, {c_osc[0]:.3g}, adds a sin(ε|x|) part, kinked at x = 0, which the frozen "
            "solution and the kernel's breakpoint do not treat"
        )
    r1 = 2.0 * float(np.sum(fz.c[fz.alpha.imag > 0]).real)
    return phi0, r1, float(eps[0]), Q


def frozen_coefficients(params: Parameters | Vertex, M: int, Q: float | None = None) -> np.ndarray:
    r"""Fourier coefficients ``a_m`` (``|m| <= M``) of the frozen solution.

    Inserting ``F∞ = Σ a_m e^{imεt}`` into Eq. (24) with
    Φ∞(x) = φ₀ + r₁ cos(εx) and using
    ``∫_{−∞}^{t} e^{−(t−t')} e^{ikεt'} dt' = e^{ikεt}/(1 + ikε)`` gives, for
    every m,

    .. math::

        (1+Q) a_m - \frac{φ_0 a_m}{1 + imε}
        - \frac{r_1}{2}\Big[\frac{a_{m-1}}{1 + i(m-2)ε} + \frac{a_{m+1}}{1 + i(m+2)ε}\Big]
        = φ_0 δ_{m0} + \frac{r_1}{2}(δ_{m,1} + δ_{m,-1}),

    a tridiagonal system, truncated at ``|m| = M``.
    """
    return _coefficients(*_frozen_parts(params, Q), M)


def _coefficients(phi0: float, r1: float, eps: float, Q: float, M: int) -> np.ndarray:
    """:func:`frozen_coefficients` from the parts of :func:`_frozen_parts`."""
    if eps == 0 or r1 == 0:
        phi0 += r1
        den = 1.0 + Q - phi0
        return np.array([phi0 / den], dtype=complex)
    m = np.arange(-M, M + 1)
    diag = (1.0 + Q) - phi0 / (1.0 + 1j * m * eps)
    upper = -0.5 * r1 / (1.0 + 1j * (m + 2) * eps)  # coefficient of a_{m+1} in row m
    lower = -0.5 * r1 / (1.0 + 1j * (m - 2) * eps)  # coefficient of a_{m-1} in row m
    ab = np.zeros((3, m.size), dtype=complex)
    ab[0, 1:] = upper[:-1]
    ab[1] = diag
    ab[2, :-1] = lower[1:]
    b = np.zeros(m.size, dtype=complex)
    b[M] = phi0
    if M >= 1:
        b[M + 1] += 0.5 * r1
        b[M - 1] += 0.5 * r1
    return solve_banded((1, 1), ab, b, check_finite=False)


def frozen_solution(
    params: Parameters | Vertex,
    tol: float = 1e-16,
    max_harmonics: int = 200_000,
    Q: float | None = None,
):
    """The frozen solution F∞, with enough harmonics that the last is below ``tol``.

    Raises
    ------
    ArithmeticError
        If more than ``max_harmonics`` harmonics would be needed (ε → 0 with
        r₁ > 0: the series converges too slowly).
    """
    parts = _frozen_parts(params, Q)
    eps = parts[2]
    M = 8
    while True:
        a = _coefficients(*parts, M)
        if a.size == 1:
            return FrozenSolution(a, 0.0, 0.0)
        big = np.max(np.abs(a))
        edge = max(abs(a[0]), abs(a[-1]), abs(a[1]), abs(a[-2]))
        if edge <= tol * big:
            return FrozenSolution(a, eps, float(edge / big))
        if M >= max_harmonics:
            raise ArithmeticError(
                f"frozen solution: {M} harmonics do not converge (E_tau={eps:g} too "
                "small for the harmonic expansion)"
            )
        M = min(2 * M, max_harmonics)


def history(
    params: Parameters | Vertex,
    T: float,
    frozen: FrozenSolution | None = None,
    Q: float | None = None,
) -> History:
    r"""History term of Eq. (24) on ``[−T, 0]`` with ``F = F∞`` before ``−T``.

    ``H(t) = ∫_{−∞}^{−T} K(t, s) F∞(s) ds`` in closed form: for a term
    ``w exp(λt − μ(t − s))`` and a harmonic ``a e^{iκs}`` over ``s ∈ [A, B]``,

        w a exp(λt − μ(t − B) + iκB) (1 − e^{−(μ+iκ)(B−A)})/(μ + iκ),

    anchored at ``B`` when ``Re μ > 0`` (and at ``A`` otherwise), so no factor
    overflows. Rows with ``t + T > 40 + ln max|F∞|`` get no contribution: there it is
    below ``e^{−40}`` times ``max |F∞|``.
    """
    v, Q = model(params, Q)
    if frozen is None:
        frozen = frozen_solution(v, Q=Q)
    left, right = _terms(v, Q)
    scale = 1.0 / (1.0 + Q)
    single = left == right
    rows_terms = [(0, *x) for x in left] + ([] if single else [(1, *x) for x in right])
    side = np.array([r[0] for r in rows_terms], dtype=np.int64)
    w = np.array([r[1] * scale for r in rows_terms], dtype=complex)
    lam = np.array([r[2] for r in rows_terms], dtype=complex)
    mu = np.array([r[3] for r in rows_terms], dtype=complex)
    a = np.ascontiguousarray(frozen.trimmed().coefficients, dtype=complex)
    # |K(t, s)| <= e^{-(t - s)} <= e^{-(t + T)} for s < -T: rows beyond this get nothing
    reach = 40.0 + math.log(max(1.0, frozen.bound))

    def contribution(t):
        t = np.atleast_1d(np.asarray(t, dtype=float))
        H = np.zeros(t.size)
        rows = np.flatnonzero(t + T <= reach)
        if rows.size:
            H[rows] = _history_sums.history_terms(
                t[rows], T, single, w, lam, mu, side, float(frozen.omega), a
            )
        return H

    return History(contribution=contribution)
