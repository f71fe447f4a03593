"""Numba core of the ODE step (29): coefficients, initial conditions, Radau IIA steps.

State y = (r, ∂ₜr, ∂ₜ²r) of a resolvent column, or z = ∫_{−∞}^t (r, ∂ₜr, ∂ₜ²r)(t, s)
f(s) ds of the summed problem; both obey y′ = A(t) y (+ ρ(t) f(t) for z) with

    A(t) = [[0, 1, 0], [0, 0, 1], [−λ₁, −(1 + 2λ₁), −(2 + λ₁)]],  λ₁ = λ₁(t).

``par`` = (rₑ, r₁, r₃, ε, g, Q) with inactive channels folded into rₑ
(:class:`cooperon._closure.Channels`).  ``far`` drops the r₃ e^{2gt} transient
(the far past).  Steps are 3-stage Radau IIA (order 5, L-stable: the fast
modes e^{−t} of (29) are damped for any step), written as affine maps
y_{n+1} = G y_n + g so that maps over a period can be composed.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_S6 = math.sqrt(6.0)
_C = np.array([(4.0 - _S6) / 10.0, (4.0 + _S6) / 10.0, 1.0])
_A = np.array(
    [
        [(88.0 - 7.0 * _S6) / 360.0, (296.0 - 169.0 * _S6) / 1800.0, (-2.0 + 3.0 * _S6) / 225.0],
        [(296.0 + 169.0 * _S6) / 1800.0, (88.0 + 7.0 * _S6) / 360.0, (-2.0 - 3.0 * _S6) / 225.0],
        [(16.0 - _S6) / 36.0, (16.0 + _S6) / 36.0, 1.0 / 9.0],
    ]
)


@njit(cache=True, nogil=True)
def coefficients(t, par, far):
    """(λ₁, Φ, Φ′, Φ″) at t ≤ 0 (derivatives in t; left derivatives at t = 0)."""
    re, r1, r3, eps, g, Q = par[0], par[1], par[2], par[3], par[4], par[5]
    u = -t
    e3 = 0.0 if far else math.exp(-2.0 * g * u)
    c = math.cos(eps * u)
    s = math.sin(eps * u)
    sh = math.sin(0.5 * eps * u)
    phi = re + r1 * c + r3 * e3
    dphi = r1 * eps * s + 2.0 * g * r3 * e3
    ddphi = -r1 * eps * eps * c + 4.0 * g * g * r3 * e3
    if far:
        lam1 = Q + 2.0 * r1 * sh * sh + r3
    else:
        lam1 = Q + 2.0 * r1 * sh * sh - r3 * math.expm1(-2.0 * g * u)
    return lam1, phi, dphi, ddphi


@njit(cache=True, nogil=True)
def initial_values(phi, dphi, ddphi, c):
    """r, ∂ₜr, ∂ₜ²r at t = s from r(t,s) = k(t,s) + ∫_s^t k(t,u) r(u,s) du.

    k(t, s) = c e^{−(t−s)} Φ(2t − s), c = 1/(1+Q); Φ and its derivatives at s.
    """
    r0 = c * phi
    r1 = c * (2.0 * dphi - phi) + c * c * phi * phi
    r2 = (
        c * (phi - 4.0 * dphi + 4.0 * ddphi)
        + 5.0 * c * c * phi * dphi
        - 2.0 * c * c * phi * phi
        + c * c * c * phi * phi * phi
    )
    return r0, r1, r2


@njit(cache=True, nogil=True)
def initial_values_at(s, par):
    """initial_values at the points s (array), shape (3, s.size)."""
    c = 1.0 / (1.0 + par[5])
    out = np.empty((3, s.size))
    for i in range(s.size):
        _, phi, dphi, ddphi = coefficients(s[i], par, False)
        out[0, i], out[1, i], out[2, i] = initial_values(phi, dphi, ddphi, c)
    return out


@njit(cache=True, nogil=True)
def _system(t, par, far, forced):
    """A(t) (3×3) and the forcing ρ(t) f(t) (zero unless ``forced``)."""
    lam1, phi, dphi, ddphi = coefficients(t, par, far)
    A = np.zeros((3, 3))
    A[0, 1] = 1.0
    A[1, 2] = 1.0
    A[2, 0] = -lam1
    A[2, 1] = -(1.0 + 2.0 * lam1)
    A[2, 2] = -(2.0 + lam1)
    b = np.zeros(3)
    if forced:
        c = 1.0 / (1.0 + par[5])
        r0, r1, r2 = initial_values(phi, dphi, ddphi, c)
        f = c * phi
        b[0] = r0 * f
        b[1] = r1 * f
        b[2] = r2 * f
    return A, b


@njit(cache=True, nogil=True)
def _solve_small(M, R):
    """Solve M X = R (M n×n, R n×k) by Gaussian elimination with partial pivoting.

    Hand-written for the 9×9 stage systems: np.linalg.solve would bind LAPACK,
    which multiplies the compilation time.
    """
    n = M.shape[0]
    k = R.shape[1]
    A = M.copy()
    X = R.copy()
    for col in range(n):
        piv = col
        big = abs(A[col, col])
        for row in range(col + 1, n):
            if abs(A[row, col]) > big:
                big = abs(A[row, col])
                piv = row
        if piv != col:
            for j in range(n):
                A[col, j], A[piv, j] = A[piv, j], A[col, j]
            for j in range(k):
                X[col, j], X[piv, j] = X[piv, j], X[col, j]
        d = A[col, col]
        for row in range(col + 1, n):
            f = A[row, col] / d
            if f != 0.0:
                for j in range(col, n):
                    A[row, j] -= f * A[col, j]
                for j in range(k):
                    X[row, j] -= f * X[col, j]
    for col in range(n - 1, -1, -1):
        for j in range(k):
            acc = X[col, j]
            for m in range(col + 1, n):
                acc -= A[col, m] * X[m, j]
            X[col, j] = acc / A[col, col]
    return X


@njit(cache=True, nogil=True)
def _apply(G, g, y):
    """G y + g for 3×3 G (loops: no BLAS binding to compile)."""
    out = np.empty(3)
    for i in range(3):
        out[i] = g[i] + G[i, 0] * y[0] + G[i, 1] * y[1] + G[i, 2] * y[2]
    return out


@njit(cache=True, nogil=True)
def _compose(G2, g2, G1, g1):
    """The affine map y ↦ G2 (G1 y + g1) + g2."""
    G = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            G[i, j] = G2[i, 0] * G1[0, j] + G2[i, 1] * G1[1, j] + G2[i, 2] * G1[2, j]
    return G, _apply(G2, g2, g1)


@njit(cache=True, nogil=True)
def step_map(t, h, par, far, forced, ca, aa):
    """Affine map (G, g) of one Radau IIA step from t to t + h."""
    M = np.zeros((9, 9))
    R = np.zeros((9, 4))
    for j in range(3):
        A, b = _system(t + ca[j] * h, par, far, forced)
        for i in range(3):
            for p in range(3):
                for q in range(3):
                    M[3 * i + p, 3 * j + q] = -h * aa[i, j] * A[p, q]
                R[3 * i + p, 3] += h * aa[i, j] * b[p]
    for k in range(9):
        M[k, k] += 1.0
    for i in range(3):
        for p in range(3):
            R[3 * i + p, p] = 1.0
    Z = _solve_small(M, R)
    G = Z[6:9, 0:3].copy()
    g = Z[6:9, 3].copy()
    return G, g


@njit(cache=True, nogil=True)
def propagate(y, t0, h, n, par, far, forced, ca, aa):
    """y at t0 + n h from y at t0 (forcing included if ``forced``)."""
    out = y.copy()
    for k in range(n):
        G, g = step_map(t0 + k * h, h, par, far, forced, ca, aa)
        out = _apply(G, g, out)
    return out


@njit(cache=True, nogil=True)
def compose(t0, h, n, par, far, forced, ca, aa):
    """The affine map (G, g) of n steps from t0 (e.g. over one period)."""
    Gt = np.eye(3)
    gt = np.zeros(3)
    for k in range(n):
        G, g = step_map(t0 + k * h, h, par, far, forced, ca, aa)
        Gt, gt = _compose(G, g, Gt, gt)
    return Gt, gt


@njit(cache=True, nogil=True)
def columns_at_zero(s, h0, hmax, par, ca, aa):
    """r_ODE(0, s_i) for each column: homogeneous (29) from t = s_i to 0.

    The initial values excite the fast modes e^{−(t−s)}: steps start at h0 and grow
    like h0·(t − s) up to hmax (the error of a step in the decaying fast mode is
    ~e^{−(t−s)} h⁶).  Returns the values and the total number of steps.
    """
    c = 1.0 / (1.0 + par[5])
    out = np.empty(s.size)
    steps = 0
    for i in range(s.size):
        _, phi, dphi, ddphi = coefficients(s[i], par, False)
        r0, r1, r2 = initial_values(phi, dphi, ddphi, c)
        y = np.array([r0, r1, r2])
        t = s[i]
        while t < 0.0:
            h = min(hmax, h0 * max(1.0, t - s[i]))
            h = min(h, -t)
            G, g = step_map(t, h, par, False, False, ca, aa)
            y = _apply(G, g, y)
            t = t + h if h < -t else 0.0
            steps += 1
        out[i] = y[0]
    return out, steps


def radau_tableau() -> tuple[np.ndarray, np.ndarray]:
    """Nodes c and matrix A of the 3-stage Radau IIA method."""
    return _C, _A
