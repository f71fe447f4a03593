"""Eq. (24) as data for :mod:`solver`: kernel, right-hand side and history.

Eq. (24) with c = 1,

    (1 + Q) F(t) = Φ(t) + ∫_{−∞}^{t} e^{−(t−t')} Φ(2t − t') F(t') dt',   t ≤ 0,

is the Volterra equation ``F = f + ∫ K F`` with ``f = Φ/(1+Q)`` and

    K(t, s) = e^{−(t−s)} Φ(2t − s) / (1 + Q),    Φ(x) = rₑ + r₁ cos(εx) + r₃ e^{−2g|x|}  (25).

Every term of ``K`` is an exponential ``exp(λ t − μ (t − s))``:

* ``rₑ``: λ = 0, μ = 1;
* ``r₁ cos(ε(2t − s))``: ½ r₁ with λ = ±iε, μ = 1 ∓ iε (a conjugate pair);
* ``r₃ e^{−2g|2t − s|}``: for s < 2t, λ = −2g, μ = 1 + 2g; for s > 2t,
  λ = 2g, μ = 1 − 2g (the kink of |·| at s = 2t is the kernel's breakpoint).

In the far past the r₃ term of Φ dies out and Eq. (24) tends to the *frozen*
equation with Φ∞(x) = rₑ + r₁ cos(εx) (plus r₃ if g = 0), whose bounded
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

from . import _history_core
from .parameters import Parameters

__all__ = [
    "kernel",
    "rhs",
    "FrozenSolution",
    "frozen_solution",
    "frozen_coefficients",
    "history",
    "is_periodic",
]


def _terms(params: Parameters) -> tuple[list, list]:
    """(weight, λ, μ) of the terms of K·(1+Q) left and right of s = 2t."""
    r1, r3 = params.tau_over_tau1, params.tau_over_tau3
    eps, g = params.E_tau, params.gamma_tau
    common = []
    re = params.tau_over_taue
    if r1 > 0 and eps == 0:
        re += r1
    if r3 > 0 and g == 0:
        re += r3
    if re > 0:
        common.append((re, 0.0, 1.0))
    if r1 > 0 and eps > 0:
        common.append((0.5 * r1, 1j * eps, 1.0 - 1j * eps))
        common.append((0.5 * r1, -1j * eps, 1.0 + 1j * eps))
    left, right = list(common), list(common)
    if r3 > 0 and g > 0:
        left.append((r3, -2.0 * g, 1.0 + 2.0 * g))
        right.append((r3, 2.0 * g, 1.0 - 2.0 * g))
    return left, right


def _expsum(terms: list, scale: float) -> ExpSum:
    if not terms:
        return ExpSum([0.0], [0.0], [1.0])
    w, lam, mu = zip(*terms, strict=True)
    return ExpSum(np.asarray(w) * scale, lam, mu)


def _two_t(t):
    return 2.0 * np.asarray(t, dtype=float)


def kernel(params: Parameters) -> Piecewise | ExpSum:
    """The kernel of Eq. (24), ``K(t, s) = e^{−(t−s)} Φ(2t − s)/(1 + Q)``.

    A :class:`solver.kernels.Piecewise` of two :class:`~solver.kernels.ExpSum`
    pieces with the breakpoint ``s = 2t`` (the kink of ``e^{−2g|2t−s|}``), or
    a single ``ExpSum`` when the r₃ channel has no kink (r₃ = 0 or g = 0).
    """
    left, right = _terms(params)
    scale = 1.0 / (1.0 + params.Dq2_tau)
    if left == right:
        return _expsum(left, scale)
    return Piecewise([_expsum(left, scale), _expsum(right, scale)], [_two_t])


def rhs(params: Parameters):
    """Right-hand side ``f(t) = Φ(t)/(1 + Q)`` of Eq. (24) with c = 1 (vectorised)."""
    from .model import Phi

    scale = 1.0 / (1.0 + params.Dq2_tau)

    def f(t):
        return scale * np.asarray(Phi(t, params), dtype=float)

    return f


def is_periodic(params: Parameters) -> bool:
    """True if Eq. (24) coincides with its frozen form (r₃ = 0 or g = 0).

    Then the frozen solution F∞ *is* the solution for all t ≤ 0.
    """
    return params.tau_over_tau3 == 0 or params.gamma_tau == 0


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
        return (ph @ self.coefficients).real

    @property
    def value_at_zero(self) -> float:
        """``F∞(0) = Σ_m a_m``."""
        return float(np.sum(self.coefficients).real)

    @property
    def bound(self) -> float:
        """``Σ |a_m|`` ≥ ``max |F∞|``."""
        return float(np.sum(np.abs(self.coefficients)))


def frozen_coefficients(params: Parameters, M: int) -> np.ndarray:
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
    Q = params.Dq2_tau
    r1, eps = params.tau_over_tau1, params.E_tau
    phi0 = params.tau_over_taue + (params.tau_over_tau3 if params.gamma_tau == 0 else 0.0)
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
    return solve_banded((1, 1), ab, b)


def frozen_solution(params: Parameters, tol: float = 1e-16, max_harmonics: int = 200_000):
    """The frozen solution F∞, with enough harmonics that the last is below ``tol``.

    Raises
    ------
    ArithmeticError
        If more than ``max_harmonics`` harmonics would be needed (ε → 0 with
        r₁ > 0: the series converges too slowly).
    """
    M = 8
    while True:
        a = frozen_coefficients(params, M)
        if a.size == 1:
            return FrozenSolution(a, 0.0, 0.0)
        big = np.max(np.abs(a))
        edge = max(abs(a[0]), abs(a[-1]), abs(a[1]), abs(a[-2]))
        if edge <= tol * big:
            return FrozenSolution(a, params.E_tau, float(edge / big))
        if M >= max_harmonics:
            raise ArithmeticError(
                f"frozen solution: {M} harmonics do not converge (E_tau={params.E_tau:g} too "
                "small for the harmonic expansion)"
            )
        M = min(2 * M, max_harmonics)


def history(params: Parameters, T: float, frozen: FrozenSolution | None = None) -> History:
    r"""History term of Eq. (24) on ``[−T, 0]`` with ``F = F∞`` before ``−T``.

    ``H(t) = ∫_{−∞}^{−T} K(t, s) F∞(s) ds`` in closed form: for a term
    ``w exp(λt − μ(t − s))`` and a harmonic ``a e^{iκs}`` over ``s ∈ [A, B]``,

        w a exp(λt − μ(t − B) + iκB) (1 − e^{−(μ+iκ)(B−A)})/(μ + iκ),

    anchored at ``B`` when ``Re μ > 0`` (and at ``A`` otherwise), so no factor
    overflows. Rows with ``t + T > 40 + ln max|F∞|`` get no contribution: there it is
    below ``e^{−40}`` times ``max |F∞|``.
    """
    if frozen is None:
        frozen = frozen_solution(params)
    left, right = _terms(params)
    scale = 1.0 / (1.0 + params.Dq2_tau)
    single = left == right
    rows_terms = [(0, *x) for x in left] + ([] if single else [(1, *x) for x in right])
    side = np.array([r[0] for r in rows_terms], dtype=np.int64)
    w = np.array([r[1] * scale for r in rows_terms], dtype=complex)
    lam = np.array([r[2] for r in rows_terms], dtype=complex)
    mu = np.array([r[3] for r in rows_terms], dtype=complex)
    a = np.ascontiguousarray(frozen.coefficients, dtype=complex)
    # |K(t, s)| <= e^{-(t - s)} <= e^{-(t + T)} for s < -T: rows beyond this get nothing
    reach = 40.0 + math.log(max(1.0, frozen.bound))

    def contribution(t):
        t = np.atleast_1d(np.asarray(t, dtype=float))
        H = np.zeros(t.size)
        rows = np.flatnonzero(t + T <= reach)
        if rows.size:
            out = np.zeros(rows.size)
            _history_core.history_terms(
                np.ascontiguousarray(t[rows]),
                T,
                single,
                w,
                lam,
                mu,
                side,
                float(frozen.omega),
                a,
                out,
            )
            H[rows] = out
        return H

    return History(contribution=contribution)
