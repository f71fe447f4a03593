"""Equations with a fast exponential memory times a slow factor, with exact solutions.

The kernels have the form

    K(t, s) = mu e^{-mu (t - s)} k(t, s),

a memory of length ``1/mu`` (normalised: ``∫_0^∞ mu e^{-mu u} du = 1``, so the
memory term stays of order one for every ``mu``) times a *slow* factor ``k``,
a sum of exponentials ``Σ_j w_j e^{λ_j t - ν_j (t - s)}`` with rates of order
one. Two slow factors:

``smooth``
    ``k = 0.5 e^{-0.2 (t-s)} + 0.3 e^{-0.5 (t-s)} cos(t - s)`` (the cosine as a
    complex-conjugate pair ``0.15 e^{-(0.5 ± i)(t-s)}``);
``kink``
    ``k = 0.4 e^{-g |2t - s|} + 0.3 e^{-0.5 (t-s)} cos(t - s)``, ``g = 0.3``, on
    ``t <= 0``: a kink along the breakpoint ``s = β(t) = 2t``. Left of it
    (``s < 2t``) ``e^{-g(2t - s)} = e^{-g t} e^{-g (t - s)}``; right of it
    ``e^{-g(s - 2t)} = e^{g t} e^{g (t - s)}`` (a term growing with ``t - s``
    when ``mu < g``). Each piece is the smooth extension of its side, as
    :class:`solver.kernels.Piecewise` requires.

Both are :class:`solver.kernels.ExpSum` kernels (or a ``Piecewise`` of two),
term ``(w, λ, ν)`` of ``k`` becoming ``(mu w, λ, mu + ν)``.

Exact solution (chosen): ``y(t) = cos t + 0.5 e^{0.35 t} = Σ_c b_c e^{c t}``
with ``(b, c) = (1/2, i), (1/2, -i), (1/2, 0.35)``. The forcing follows in
closed form from

    ∫_a^b w e^{λ t - ν (t - s)} e^{c s} ds
        = w e^{λ t} (e^{-ν (t - b) + c b} - e^{-ν (t - a) + c a}) / (ν + c)

(``Re(ν + c) >= 0.05`` for every term and every ``mu >= 0``: the growing term
has ``ν = mu - 0.3``, hence the rate 0.35 of ``y``), written with exponents ``-ν (t - b)``
and ``-ν (t - a)`` that are ``<= 0`` for ``Re ν >= 0``, so nothing overflows
however large ``mu``. For the kink, ``[a, b] = [t0, β]`` (left piece) and
``[β, t]`` (right piece) with ``β = clip(2t, t0, t)``. The derivation is
checked against adaptive quadrature in ``test_coarse_steps.py``.

Meshes on ``[t0, 0]``: :func:`uniform`, :func:`graded` (smoothly graded, every
step different) and :func:`dyadic` (runs of equal steps doubling towards the
past, closed under ``t -> 2t``, so the breakpoint ``s = 2t`` of a grid point is
a grid point, as the O(N) path needs).
"""

from __future__ import annotations

import numpy as np

from solver import kernels

__all__ = ["T0", "kernel", "forcing", "exact", "uniform", "graded", "dyadic"]

#: start of the interval (the meshes end at 0)
T0 = -4.0
G = 0.3
_COS = [(0.15, 0.0, 0.5 + 1j), (0.15, 0.0, 0.5 - 1j)]
#: slow factors: lists of terms (w, λ, ν) of Σ w e^{λ t - ν (t - s)}
SMOOTH = [(0.5, 0.0, 0.2), *_COS]
KINK_LEFT = [(0.4, -G, G), *_COS]
KINK_RIGHT = [(0.4, G, -G), *_COS]
#: exact solution Σ b e^{c t}
Y_TERMS = [(0.5, 1j), (0.5, -1j), (0.5, 0.35)]


def exact(t):
    """``y(t) = cos t + 0.5 e^{0.35 t}``."""
    t = np.asarray(t, dtype=float)
    return sum(b * np.exp(c * t) for b, c in Y_TERMS).real


def _expsum(terms, mu: float) -> kernels.ExpSum:
    w, lam, nu = (np.array(x) for x in zip(*terms, strict=True))
    return kernels.ExpSum(mu * w, lam, mu + nu)


def beta(t):
    """The breakpoint ``s = 2t``."""
    return 2.0 * t


def kernel(mu: float, kink: bool) -> kernels.Kernel:
    """``mu e^{-mu (t-s)} k(t, s)`` with the ``smooth`` or the ``kink`` slow factor."""
    if not kink:
        return _expsum(SMOOTH, mu)
    return kernels.Piecewise([_expsum(KINK_LEFT, mu), _expsum(KINK_RIGHT, mu)], [beta])


def _term_integral(w, lam, nu, c, t, a, b):
    """``∫_a^b w e^{λ t - ν (t - s)} e^{c s} ds`` (closed form, see the module doc)."""
    return (
        w
        * np.exp(lam * t)
        * (np.exp(-nu * (t - b) + c * b) - np.exp(-nu * (t - a) + c * a))
        / (nu + c)
    )


def forcing(mu: float, kink: bool, t0: float = T0):
    """``f = y - ∫_{t0}^t K(t, s) y(s) ds`` for :func:`exact`, as a vectorised function."""

    def f(t):
        t = np.asarray(t, dtype=float)
        a = np.full(t.shape, t0)
        if kink:
            bp = np.clip(beta(t), t0, t)
            segments = [(KINK_LEFT, a, bp), (KINK_RIGHT, bp, t)]
        else:
            segments = [(SMOOTH, a, t)]
        memory = np.zeros(t.shape, dtype=complex)
        for terms, lo, hi in segments:
            for w, lam, nu in terms:
                for b, c in Y_TERMS:
                    memory += b * _term_integral(mu * w, lam, mu + nu, c, t, lo, hi)
        return exact(t) - memory.real

    return f


def uniform(n: int, t0: float = T0) -> np.ndarray:
    """``n`` equally spaced points on ``[t0, 0]``."""
    return np.linspace(t0, 0.0, n)


def graded(n: int, t0: float = T0, g: float = 3.0) -> np.ndarray:
    """``n`` points on ``[t0, 0]``, fine at ``t0``: ``t0 (1 - (e^{g x} - 1)/(e^g - 1))``, reversed.

    Steps grow smoothly by a factor ``e^g`` from ``t0`` to 0 (no two equal), and
    ``graded(2 n - 1)[::2] == graded(n)`` up to rounding.
    """
    x = np.linspace(0.0, 1.0, n)
    return t0 - t0 * np.expm1(g * x) / np.expm1(g)


def dyadic(m: int, levels: int = 4, t0: float = T0) -> np.ndarray:
    """Runs of equal steps doubling towards the past, closed under ``t -> 2t``.

    ``[-δ, 0]`` (``δ = -t0 / 2^levels``) has ``m`` cells of ``h0 = δ/m``;
    ``[-2^j δ, -2^{j-1} δ]`` has ``m/2`` cells of ``2^j h0`` (``j = 1..levels``).
    Doubling maps level ``j`` onto level ``j + 1`` point by point and the even
    points of level 0 onto level 0 (``m`` even), so ``2 t_n`` is a grid point
    wherever it lies in ``[t0, 0]``; every point is a multiple of ``h0``, so the
    mesh is a subset of the uniform mesh of step ``h0``. ``dyadic(m)[::2] ==
    dyadic(m // 2)`` (``m`` divisible by 4).
    """
    if m % 4:
        raise ValueError("m must be divisible by 4")
    delta = -t0 / 2**levels
    parts = [np.linspace(-delta, 0.0, m + 1)]
    for j in range(1, levels + 1):
        parts.append(np.linspace(-(2**j) * delta, -(2 ** (j - 1)) * delta, m // 2 + 1)[:-1])
    return np.sort(np.concatenate(parts))
