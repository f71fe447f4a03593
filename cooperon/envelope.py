"""Eq. (24) for harmonic envelopes: an undamped oscillation of Φ without its short step.

An undamped oscillation of Φ (Eq. 25: r₁ cos εx) makes F oscillate at ω = ε
over the whole history, which is ~1/(Q + rate) long: a grid that follows F
itself needs a step ~1/ω everywhere, ω T points in all (10⁴–10⁹ where
ε ≫ Q + rate). Writing

    F(t) = Σ_{|n| ≤ M} F_n(t) e^{inωt}

turns Eq. (24) into a system for the envelopes F_n, which vary only on the
slow scales (1/g, 1/(Q + rate), and the layer of width ~τ at t = 0): every
fast factor ends up in the exponentials of the kernel, which the solver
integrates exactly (exponential product integration).

Derivation. A kernel term of Eq. (24) is ``w exp(λt − μ(t − s))``
(:mod:`cooperon.equation`). Acting on ``F_n(s) e^{inωs}`` it gives

    w exp(λt − μ(t − s)) e^{inωs} = e^{inωt} · w exp(λt − (μ + inω)(t − s)).

For the undamped terms of Φ (``α = ±iω``, so ``λ = ∓iω`` left of the kink
and ``±iω`` right of it) write ``λ = λ_s + ikω`` with ``k = ±1``,
``λ_s = 0``: the term moves harmonic ``n`` to ``n + k``. Every other term
has ``k = 0``. Collecting equal harmonics (the decomposition is made unique by
asking each harmonic to satisfy its own equation):

    F_j(t) = f_j(t) + Σ_terms ∫ w e^{λ_s t − (μ + i(j−k)ω)(t−s)} F_{j−k}(s) ds,

a linear Volterra system with ``d = 2M + 1`` components whose kernel is a
matrix of sums of exponentials with the same breakpoint s = 2t
(:class:`solver.kernels.ExpSum` systems). The forcing f = Φ/(1+Q) gives
``f_0`` (constant and decaying terms) and ``f_{±1} = (r₁/2)/(1+Q)``. In
the far past F = F∞ = Σ_m a_m e^{imωs} (:func:`cooperon.equation.frozen_solution`),
i.e. ``F_m = a_m`` exactly, so the history before −T is the integral of the
kernel against constants, in closed form (:func:`history`). F(0) = Σ F_n(0).

The envelopes fall off like the Fourier coefficients of F∞ (each coupling
carries ``r₁/(2|1 + inω|)``): the series is cut at the smallest M whose
neglected coefficients of F∞ are below ``1e-3 rtol`` of their sum, and the
neglected part is counted in the error estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from solver import History
from solver.kernels import ExpSum, Piecewise

from .equation import FrozenSolution, _terms, _two_t
from .vertex import Vertex

__all__ = [
    "EnvelopeModel",
    "envelope_model",
    "harmonics_needed",
    "MIN_OMEGA",
    "MIN_PHASE_STEP",
    "BAND_GROWTH",
]

#: smallest ω at which each method is stable on the envelope equations with steps from
#: ~τ/100 up. The components n ≠ 0 carry a kernel of mass up to ~1/|1 + inω| with a
#: rotating phase; on the model problem y = f + ∫ e^{−(1+iω)(t−s)} y ds (mass 1/|1+iω|)
#: the Gregory rules with Lagrange end stencils blow up for steps h with hω of a few units
#: below these ω (measured with 121 steps h in [0.01, 100]: gregory4 up to ω = 0.7,
#: gregory6 up to 7, gregory8 up to 20; the trapezoidal rule never): the limits carry a
#: margin of ~1.3–2 (tests/cooperon/test_envelope.py checks them).
MIN_OMEGA = {"trapezoidal": 0.0, "gregory4": 2.0, "gregory6": 10.0, "gregory8": 40.0}

#: below MIN_OMEGA, the smallest phase step ωh for which each method is stable on the
#: envelope equations, whatever ω: the unstable steps form a band of ωh (on the model
#: problem with 1500 equal steps and ω from 1e-4 to 3: gregory4 unstable at ωh ≈ 1–2,
#: gregory6 at 1–8, gregory8 at 0.5–20; stable from 3, 10 and 50). A grid whose every
#: step has ωh at least this (a margin of 1.3–1.6) is stable, at any ω
#: (tests/cooperon/test_envelope.py checks them).
MIN_PHASE_STEP = {"trapezoidal": 0.0, "gregory4": 4.0, "gregory6": 16.0, "gregory8": 80.0}

#: inside its band of unstable steps, how fast each method's errors grow: the ωh where they
#: grow and the largest growth per step there, on the model problem (κ = 1 − 1e-7, ω = 1e-3,
#: 200 and 400 equal steps: gregory4 1.0012 at ωh = 0.3, 1.045 at 1.2, 1.012 at 1.8, none
#: from 2; gregory6 up to 1.37 at ωh = 2). A grid with k steps in the band amplifies errors
#: by at most growth^k (tests/cooperon/test_envelope.py checks the figures)
BAND_GROWTH = {"gregory4": (0.3, 1.9, 1.046)}


@dataclass(frozen=True)
class EnvelopeModel:
    """Eq. (24) as a system for the envelopes ``F_n``, ``|n| <= M`` (component ``n + M``).

    Attributes
    ----------
    omega : float
        The frequency of the undamped oscillation of Φ.
    M : int
        Highest harmonic kept.
    kernel : ExpSum or Piecewise
        The ``(2M+1, 2M+1)`` kernel matrix.
    slow : Vertex
        Φ without its undamped oscillation: the scales the envelopes vary on.
    """

    omega: float
    M: int
    kernel: ExpSum | Piecewise
    slow: Vertex
    _forcing: tuple[np.ndarray, np.ndarray, np.ndarray]  # (c, alpha, component) of f

    @property
    def dim(self) -> int:
        return 2 * self.M + 1

    def rhs(self, t) -> np.ndarray:
        """``f_n(t)``, shape ``t.shape + (2M+1,)`` (complex)."""
        t = np.asarray(t, dtype=float)
        c, alpha, comp = self._forcing
        out = np.zeros(t.shape + (self.dim,), dtype=complex)
        # t <= 0: e^{-alpha |t|} = e^{alpha t}; an undamped term carries its e^{ikωt}
        # in its component, the rest of its value is the constant c
        vals = c * np.exp(np.multiply.outer(t, alpha))
        for k in range(c.size):
            out[..., comp[k]] += vals[..., k]
        return out

    def combine(self, t, Fn) -> np.ndarray:
        """``F(t) = Re Σ_n F_n(t) e^{inωt}`` from the envelopes ``Fn`` (shape ``(N, 2M+1)``)."""
        t = np.asarray(t, dtype=float)
        n = np.arange(-self.M, self.M + 1)
        ph = np.exp(1j * self.omega * np.multiply.outer(t, n))
        return np.einsum("tn,tn->t", ph, Fn).real


def harmonics_needed(frozen: FrozenSolution, rtol: float) -> tuple[int, float]:
    """Smallest M ≥ 1 whose neglected Fourier coefficients of F∞ are below ``1e-3 rtol`` of
    ``Σ|a_m|``, and the neglected relative part ``Σ_{|m|>M} |a_m| / Σ |a_m|``."""
    a = np.abs(frozen.coefficients)
    Mf = (a.size - 1) // 2
    total = float(np.sum(a))
    for M in range(1, Mf + 1):
        tail = float(total - np.sum(a[Mf - M : Mf + M + 1]))
        if tail <= 1e-3 * rtol * total:
            return M, max(tail, 0.0) / total
    return Mf, 0.0


def _shift(lam: complex, omega: float) -> int:
    """Harmonic shift k of a kernel term: ``λ = ±iω`` (an undamped term) gives ±1."""
    lam = complex(lam)
    if lam.real == 0 and lam.imag != 0:
        k = int(round(lam.imag / omega))
        if k != 0 and abs(lam.imag - k * omega) <= 1e-12 * omega:
            return k
    return 0


def _piece(terms: list, scale: float, omega: float, M: int) -> ExpSum:
    w, lam, mu, rows, cols = [], [], [], [], []
    for c, la, m in terms:
        k = _shift(la, omega)
        for n in range(-M, M + 1):
            j = n + k
            if abs(j) > M:
                continue
            w.append(complex(c) * scale)
            lam.append(complex(la) - 1j * k * omega)
            mu.append(complex(m) + 1j * n * omega)
            rows.append(j + M)
            cols.append(n + M)
    d = 2 * M + 1
    if not w:
        return ExpSum([0.0], [0.0], [1.0], rows=[0], cols=[0], dim=d)
    return ExpSum(w, lam, mu, rows=rows, cols=cols, dim=d)


def envelope_model(v: Vertex, Q: float, M: int) -> EnvelopeModel:
    """The envelope system of Eq. (24) for Φ = ``v`` with one undamped frequency ω > 0.

    Raises
    ------
    ValueError
        If Φ has no undamped oscillation, or several frequencies.
    """
    freqs = v.frequencies
    if freqs.size != 1 or not freqs[0] > 0:
        raise ValueError(
            "envelopes need exactly one undamped oscillation in Φ, got frequencies "
            f"{freqs.tolist()}"
        )
    if not (isinstance(M, int) and M >= 1):
        raise ValueError(f"M must be an integer >= 1, got {M!r}")
    omega = float(freqs[0])
    scale = 1.0 / (1.0 + Q)
    left, right = _terms(v, Q)
    if left == right:
        K = _piece(left, scale, omega, M)
    else:
        K = Piecewise([_piece(left, scale, omega, M), _piece(right, scale, omega, M)], [_two_t])
    undamped = (v.alpha.real == 0) & (v.alpha.imag != 0)
    comp = np.where(undamped, np.round(v.alpha.imag / omega).astype(int), 0) + M
    # undamped terms: e^{alpha t} = e^{ikωt} is carried by the component; the value is c
    alpha_f = np.where(undamped, 0.0, v.alpha)
    forcing = (np.asarray(v.c * scale, complex), np.asarray(alpha_f, complex), comp)
    slow = Vertex(v.c[~undamped], v.alpha[~undamped])
    return EnvelopeModel(omega, M, K, slow, forcing)


def history(model: EnvelopeModel, T: float, frozen: FrozenSolution):
    r"""History of the envelope system on ``[−T, 0]``: ``F_n = a_n`` before ``−T``.

    A term ``w e^{λ_s t − z(t − s)}`` (``z = μ + inω``) from component ``n`` to
    ``j`` contributes ``w a_n e^{λ_s t} ∫ e^{−z(t − s)} ds`` over its part of
    ``s < −T``: ``(−∞, min(2t, −T))`` left of the kink (``e^{−z(t − B)}/z``),
    ``(2t, −T)`` right of it (anchored at the end where the factor is largest,
    with ``expm1``). Rows with ``t + T`` beyond ``40 + ln max|F∞|`` get nothing.
    """
    M = model.M
    a_f = np.asarray(frozen.coefficients, dtype=complex)
    Mf = (a_f.size - 1) // 2
    a = np.zeros(2 * M + 1, dtype=complex)
    lo = max(-M, -Mf)
    a[lo + M : -lo + M + 1] = a_f[lo + Mf : -lo + Mf + 1]
    # the kernel's own pieces: left of the kink (side 0) and right of it (side 1), or one
    # piece for all s when Φ has no kink
    single = not isinstance(model.kernel, Piecewise)
    pieces = list(enumerate([model.kernel] if single else model.kernel.pieces))
    reach = 40.0 + math.log(max(1.0, frozen.bound))

    def contribution(t):
        t = np.atleast_1d(np.asarray(t, dtype=float))
        H = np.zeros((t.size, 2 * M + 1), dtype=complex)
        rows = np.flatnonzero(t + T <= reach)
        if rows.size == 0:
            return H
        tr = t[rows][:, None]
        B0 = -T
        for side, pc in pieces:
            w = pc.weights * a[pc.cols]  # (terms,)
            lam, z = pc.lam, pc.mu
            if side == 0:
                B = np.full(tr.shape, B0) if single else np.minimum(2.0 * tr, B0)
                vals = w * np.exp(lam * tr - z * (tr - B)) / z
            else:
                A = np.minimum(2.0 * tr, B0)
                L = B0 - A  # (rows, 1), >= 0
                zs = np.where(z == 0, 1.0, z)
                with np.errstate(over="ignore", invalid="ignore"):
                    up = np.exp(lam * tr - z * (tr - B0)) * (-np.expm1(-z * L)) / zs
                    down = np.exp(lam * tr - z * (tr - A)) * np.expm1(z * L) / zs
                vals = w * np.where(z.real > 0, up, down)
                vals = np.where(z == 0, w * np.exp(lam * tr) * L, vals)
                vals = np.where(L > 0, vals, 0.0)
            np.add.at(H, (rows[:, None], pc.rows[None, :]), vals)
        return H

    return History(contribution=contribution)
