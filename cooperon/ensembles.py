"""Averages over ensembles of dynamic defects (Sec. II C): λ̄, Γ̄, Φ̄ and Eq. (34).

The defects scatter independently, so the vertex Φ of Eq. (25) is a sum over
them and the paper's model is Eq. (24) with the averaged vertex
Φ̄(s) = 1 − λ̄(s),

    λ̄(s) = ∫dE dΛ P(E, Λ) [r₁(E,Λ)(1 − cos εs) + r₃(E,Λ)(1 − e^{−2g|s|})],
    Γ̄(η) = ∫_0^η λ̄(s) ds ,

with r₁, r₃, ε, g of one defect from Eqs. (7), (15), (21), (A5)-(A6) exactly
as :meth:`cooperon.parameters.Parameters.from_physical` computes them (G₁ at
electron energy 0).  Time s, η is in units of τ; energies are in kelvin and
times in seconds (the default ``energy_to_rate = k_B/ħ`` of
``from_physical``).  Three distributions are provided: :class:`TunnelingModel`
(Eq. 37), :class:`GlassModel` (Eq. 36) and :class:`GaussianBarrier` (Eq. 54).

Numerical method
----------------
Write the resonant part as a Fourier integral over the level splitting,
Σ̄₁(s) = ∫ f(E) cos(κEs) dE with κ = k_Bτ/ħ and f = P·r₁ (integrated over Λ
where that can be done exactly).  The relaxation part is a Laplace-type
integral with no oscillation.

* Relaxation channel, all s: composite Gauss-Legendre in a variable in which
  both the density and the rate 2g vary by O(1) per panel (u with
  E = Λ₀ cosh u for Eq. 37, which also removes the edge singularity of the
  density; w with p = sech²w, in which Eq. (36) is uniform, times E); the
  integrand 1 − e^{−2gs} then is smooth on every panel for every s.
* Resonant channel, s ≤ s_d: Gauss-Legendre panels on the real axis that
  resolve the phase κEs up to s_d, with 1 − cos written as 2 sin²(εs/2)
  (no cancellation at small s).
* Resonant channel, s > s_d (up to 10⁹ and beyond): f is analytic
  (cosh⁻²(E/2T) has its poles on the imaginary axis), so the real-axis
  integral of f (1 − e^{iκEs}) is moved onto a rectangle of height Y = πT/2
  above [E_lo, E_hi] (:mod:`cooperon._rectangle`): its vertical sides are
  Laplace integrals ∫ f(E_lo + iy)(1 − e^{iκE_lo s − κys}) dy with no
  oscillation at all, and on its top e^{iκzs} is damped by e^{−κYs} < e^{−40}
  for s ≥ s_d = 40/(κY), leaving the constant ∫_top f.  No term is much larger
  than the result, also where κEs ≪ 1 for most of the weight (T ≫ Λ₀).
* Γ̄: the s-integral of each defect is done analytically,
  Γ = η{r₁[1 − sin(εη)/(εη)] + r₃[1 − (1 − e^{−2gη})/(2gη)]}, then averaged
  with the same rules (beyond s_d: f [iη − (e^{iκzη} − 1)/(κz)] on the
  rectangle, written with φ₂(x) = (e^x − 1 − x)/x²).
* Φ̄ as a sum of exponentials (:meth:`vertex_terms`): every node of the
  rectangle rule (all three sides, valid for 0 ≤ s ≤ s_max) is one damped
  oscillation, every relaxation node one real exponential; the ~10³ terms
  are compressed by balanced truncation (:mod:`cooperon.exponential_sums`) to the
  smallest sum that reproduces 1 − λ̄ within atol on a grid resolving every
  oscillation over [0, s_max].

Energies above E_lo + 46T carry a thermal weight < e^{−46} and are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from ._quadrature import adaptive_gk15, gauss_panels, panel_edges
from ._rectangle import NEGLIGIBLE, PANEL_PHASE, rectangle_rule
from .exponential_sums import compress, evaluate, oscillation_grid
from .model import _one_minus_phi1, _one_minus_sinc
from .parameters import (
    KELVIN_TO_RATE,
    SUM_SLACK,
    NoCutoffError,
    _as_real,
    _nonneg,
    _positive,
    _tls_rates,
    g3_factor,
)

__all__ = ["GaussianBarrier", "GlassModel", "TunnelingModel", "VertexTerms"]

ArrayLike = npt.ArrayLike
FloatOrArray = float | np.ndarray

#: Energies more than THERMAL_CUT·T above the lowest one are dropped (weight < e^{−46}).
THERMAL_CUT = 46.0
#: Blocks of at most this many (s, node) pairs are formed at once.
_BLOCK = 2_000_000
#: Shifts δ·s_max tried by the compression of the vertex.
_SHIFTS = (10.0, 5.0)
_FALLBACK_SHIFTS = (2.0, 0.5)
_CHANNELS = ("total", "resonant", "relaxation")


def _sech2(z: np.ndarray) -> np.ndarray:
    """cosh⁻²(z) = 4e^{−2z}/(1 + e^{−2z})² for complex z with Re z ≥ 0."""
    e = np.exp(-2.0 * z)
    return 4.0 * e / (1.0 + e) ** 2


def _blocks(n_rows: int, n_cols: int):
    step = max(1, _BLOCK // max(1, n_cols))
    for i in range(0, n_rows, step):
        yield slice(i, min(n_rows, i + step))


def _out(x: np.ndarray, shape: tuple[int, ...]) -> FloatOrArray:
    x = x.reshape(shape)
    return float(x) if x.ndim == 0 else x


def _time_array(name: str, value: ArrayLike, nonneg: bool) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if nonneg and (arr < 0.0).any():
        raise ValueError(f"{name} must lie in [0, ∞) (got min {arr.min()!r})")
    return arr


# ---------------------------------------------------------------------------
# the resonant channel beyond s_d: Fourier integrals on a rectangle
# ---------------------------------------------------------------------------


class _Band:
    """One analytic piece f of the resonant density, Σ̄₁ ⊃ ∫_a^b f(E) cos(κEs) dE.

    ``left = "sqrt"``: f ~ (E − a)^{−1/2} at a > 0 (Eq. 37).  ``left = None``:
    a = 0 and f is even and analytic at 0 (Eq. 36); then the left side of the
    rectangle contributes nothing to the parts used (the integrands below are
    real, resp. imaginary, on the imaginary axis).  ``left = "ray"``: a = 0, f
    vanishes faster than any power at 0 and is bounded on the ray z = r e^{iθ}
    (Eq. 54).

    Beyond s_d = 40/(κY) the rectangle gives, with no cancellation even where
    κEs ≪ 1 for most of the weight (the top's terms e^{iκzs} are < e^{−40}):

        λ̄₁(s) = Re ∫ f (1 − e^{iκzs}) dz = Re[T₀ + Σ_sides w_j (−expm1(iκz_j s))],
        Γ̄₁(η) = Im ∫ f [iη − expm1(iκzη)/(κz)] dz
              = Im[iη T₀ + T₁ + Σ_sides w_j κz_j η² φ₂(iκz_j η)],

    T₀ = ∫_top f dz, T₁ = ∫_top f/(κz) dz, φ₂(x) = (e^x − 1 − x)/x².
    """

    def __init__(
        self,
        f: Callable[[np.ndarray], np.ndarray],
        a: float,
        b: float,
        hard: bool,
        left: str | None,
        kappa: float,
        T: float,
        Y: float,
        angle: float = 0.5 * math.pi,
        ray_ratio: float = 2.0,
        ray_floor: float = 0.0,
    ):
        self.f, self.a, self.b, self.hard, self.left = f, a, b, hard, left
        self.kappa, self.T, self.Y = kappa, T, Y
        self.ray = {"angle": angle, "ray_ratio": ray_ratio, "ray_floor": ray_floor}
        self._rules: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def rule(self, s_max: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cached rectangle rule for ∫ f e^{iκEs} dE, valid for 0 ≤ s ≤ s_max."""
        key = max(0, math.ceil(math.log2(max(s_max, 1.0))))
        if key not in self._rules:
            self._rules[key] = rectangle_rule(
                self.f,
                self.a,
                self.b,
                self.kappa,
                self.Y,
                2.0**key,
                left=self.left,
                right=self.hard,
                top=True,
                decay=self.T,
                **self.ray,
            )
        return self._rules[key]

    def _far(self, s: np.ndarray):
        z, w, top = self.rule(float(s.max()))
        T0 = complex(w[top].sum())
        T1 = complex((w[top] / (self.kappa * z[top])).sum())
        return z[~top], w[~top], T0, T1

    def lam_far(self, s: np.ndarray) -> np.ndarray:
        """λ̄₁(s) of this piece for s ≥ s_d."""
        z, w, T0, _ = self._far(s)
        out = np.full(s.size, T0.real)
        for blk in _blocks(s.size, z.size):
            out[blk] += (-np.expm1(1j * self.kappa * np.outer(s[blk], z)) @ w).real
        return out

    def gamma_far(self, eta: np.ndarray) -> np.ndarray:
        """Γ̄₁(η) of this piece for η ≥ s_d."""
        z, w, T0, T1 = self._far(eta)
        out = eta * T0.real + T1.imag
        kz = self.kappa * z
        for blk in _blocks(eta.size, z.size):
            e = eta[blk]
            x = 1j * np.outer(e, kz)
            out[blk] += (e * e) * (_phi2(x) @ (w * kz)).imag
        return out

    def vertex(self, s_max: float) -> tuple[np.ndarray, np.ndarray]:
        """Terms (c, α) of ∫ f cos(κEx) dE = Σ c e^{−α|x|}, 0 ≤ x ≤ s_max (conjugate-closed)."""
        # one bucket above lambda_bar's rules, so the verification against
        # lambda_bar compares two different node sets
        z, w, _ = self.rule(2.0 * s_max)
        alpha = -1j * self.kappa * z
        return np.concatenate([0.5 * w, 0.5 * np.conj(w)]), np.concatenate([alpha, np.conj(alpha)])


def _phi2(x: np.ndarray) -> np.ndarray:
    """φ₂(x) = (e^x − 1 − x)/x² for complex x with Re x ≤ 0 (series for |x| < 1)."""
    out = np.empty(x.shape, dtype=complex)
    small = np.abs(x) < 1.0
    xs = x[small]
    # Σ_{k≥0} x^k/(k+2)!, 18 terms: the first omitted one is < 1/20! ≈ 4e-19
    acc = np.full(xs.shape, 1.0 / math.factorial(19), dtype=complex)
    for k in range(16, -1, -1):
        acc = acc * xs + 1.0 / math.factorial(k + 2)
    out[small] = acc
    xl = x[~small]
    out[~small] = (np.expm1(xl) - xl) / (xl * xl)
    return out


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VertexTerms:
    """Φ̄(x) ≈ Σ_k c_k exp(−α_k |x|) for |x| ≤ s_max (the kernel vertex of Eq. 24).

    Attributes
    ----------
    c, alpha : numpy.ndarray (complex)
        Coefficients and exponents; Re α ≥ 0, every term real or with its
        conjugate present, ``alpha[0] = 0`` carries the constant part.
    max_error : float
        max |Σ c e^{−α x} − (1 − λ̄(x))| on the verification grid.
    s_max, atol : float
        Window [0, s_max] and requested accuracy.
    n_grid : int
        Number of grid points of the verification.
    n_input : int
        Number of terms before compression.
    """

    c: np.ndarray
    alpha: np.ndarray
    max_error: float
    s_max: float
    atol: float
    n_grid: int
    n_input: int
    info: dict = field(default_factory=dict, compare=False)

    @property
    def r(self) -> int:
        """Number of terms."""
        return int(self.c.size)

    def __call__(self, x: ArrayLike) -> FloatOrArray:
        """Evaluate the sum, Φ̄(x) ≈ Re Σ c_k e^{−α_k |x|}."""
        x = np.asarray(x, dtype=float)
        return _out(np.asarray(evaluate(self.c, self.alpha, x.ravel())), x.shape)


# ---------------------------------------------------------------------------
# the ensembles
# ---------------------------------------------------------------------------


class _Ensemble:
    """Common machinery: subclasses set the bands and the relaxation nodes."""

    T: float
    chi: float
    tau: float
    tau_i: float
    energy_to_rate: float

    def _common(self, T, chi, tau, tau_i, energy_to_rate) -> None:
        self.T = _positive("T", T)
        self.chi = _nonneg("chi", chi)
        self.tau = _positive("tau", tau)
        self.tau_i = _positive("tau_i", tau_i)
        self.energy_to_rate = _positive("energy_to_rate", energy_to_rate)
        self.kappa = self.energy_to_rate * self.tau
        self._bands: list[_Band] = []
        self._eps = np.zeros(0)  # direct rule of the resonant channel (s ≤ s_d)
        self._m1 = np.zeros(0)
        self.s_d = math.inf
        self._m3 = np.zeros(0)  # relaxation channel (all s)
        self._rate3 = np.zeros(0)

    def _height(self, width: float) -> float:
        """Height Y = min(πT/2, width) of the rectangle over a band of ``width``.

        Below πT/2 the poles of cosh⁻²(E/2T) at iπT(2n+1) stay ≥ πT/2 away;
        Y ≤ width keeps the two vertical sides from cancelling each other (for
        a narrow band they would carry nearly equal and opposite integrals of
        size ~Y/width times the result).  Sets s_d = 40/(κY).
        """
        self.Y = min(0.5 * math.pi * self.T, width)
        self.s_d = NEGLIGIBLE / (self.kappa * self.Y)
        return self.Y

    def _tunneling_range(self, Lambda0: float, E_star: float) -> float:
        """Validate and store Λ₀ and E* of Eq. (37) (Λ₀ < E*); return Λ₀."""
        self.Lambda0 = _positive("Lambda0", Lambda0)
        self.E_star = _positive("E_star", E_star)
        if not self.E_star > self.Lambda0:
            raise ValueError(
                f"E_star must lie in (Lambda0, ∞) = ({self.Lambda0!r}, ∞): Eq. (37) has "
                f"E in [Lambda0, E_star] (got E_star = {self.E_star!r})"
            )
        return self.Lambda0

    def _check_rates(self, E_min: float) -> None:
        # r₁ + r₃ = (τ/τᵢ) cosh⁻²(E/2T)/4 for every defect (G₁ = G₃ at ε_e = 0,
        # (Λ² + Δ²)/(2E)² = 1/4); largest at the smallest E.
        worst = self.tau / self.tau_i * g3_factor(E_min, self.T) / 4.0
        if worst > 1.0 + SUM_SLACK:
            raise ValueError(
                "unphysical input: tau/tau_1 + tau/tau_3 = (tau/tau_i) cosh^-2(E/2T)/4 = "
                f"{worst!r} > 1 for the defects with the smallest E = {E_min!r} (Eq. 20); "
                f"reduce tau/tau_i (tau = {self.tau!r}, tau_i = {self.tau_i!r})"
            )

    def _rates(self, E: np.ndarray, Lambda: np.ndarray):
        return _tls_rates(
            E, Lambda, self.T, self.chi, self.tau, self.tau_i, 0.0, self.energy_to_rate, True
        )

    @staticmethod
    def _channel(channel: str) -> tuple[bool, bool]:
        if channel not in _CHANNELS:
            raise ValueError(f"channel must be one of {_CHANNELS} (got {channel!r})")
        return channel != "relaxation", channel != "resonant"

    # -- public API ------------------------------------------------------------

    @property
    def r1_bar(self) -> float:
        """r̄₁ = ∫ P r₁: the resonant channel's λ̄ averaged over a period, Eq. (21)."""
        return float(self._m1.sum())

    def _lam1(self, s: np.ndarray) -> np.ndarray:
        out = np.empty(s.size)
        near = s <= self.s_d
        if near.any():
            sn = s[near]
            vals = np.empty(sn.size)
            for blk in _blocks(sn.size, self._eps.size):
                half = np.sin(0.5 * np.outer(sn[blk], self._eps))
                vals[blk] = 2.0 * (half * half) @ self._m1
            out[near] = vals
        if (~near).any():
            far = s[~near]
            out[~near] = sum(band.lam_far(far) for band in self._bands)
        return out

    def _gamma1(self, eta: np.ndarray) -> np.ndarray:
        out = np.empty(eta.size)
        near = eta <= self.s_d
        if near.any():
            en = eta[near]
            vals = np.empty(en.size)
            for blk in _blocks(en.size, self._eps.size):
                vals[blk] = en[blk] * (_one_minus_sinc(np.outer(en[blk], self._eps)) @ self._m1)
            out[near] = vals
        if (~near).any():
            far = eta[~near]
            out[~near] = sum(band.gamma_far(far) for band in self._bands)
        return out

    @property
    def r3_bar(self) -> float:
        """r̄₃ = ∫ P r₃ over the defects that switch (g > 0): λ̄₃(∞), Eq. (21)."""
        return float(self._m3[self._rate3 > 0.0].sum())

    def lambda_bar(self, s: ArrayLike, channel: str = "total") -> FloatOrArray:
        """Averaged λ̄(s) = 1 − Φ̄(s) (Sec. II C; Φ of Eq. 25 averaged over P).

        Parameters
        ----------
        s : array_like
            Time in units of τ (λ̄ is even in s); any finite value.
        channel : {"total", "resonant", "relaxation"}
            Both channels, or the r₁ (σ₁, direct transitions) or r₃ (σ₃,
            relaxation) term alone.

        Returns
        -------
        float or numpy.ndarray
            λ̄(s) ≥ 0, shape of ``s``.  Relative accuracy ~1e-12 (see the
            module notes for the method).
        """
        res, rel = self._channel(channel)
        s = _time_array("s", s, nonneg=False)
        shape, s = s.shape, np.abs(s).ravel()
        out = np.zeros(s.size)
        if res and self._m1.size:
            out += self._lam1(s)
        if rel and self._m3.size:
            for blk in _blocks(s.size, self._m3.size):
                out[blk] += -np.expm1(-np.outer(s[blk], self._rate3)) @ self._m3
        return _out(out, shape)

    def Gamma_bar(self, eta: ArrayLike, channel: str = "total") -> FloatOrArray:
        """Γ̄(η) = ∫_0^η λ̄(s) ds, the averaged Γ₁ + Γ₃ of Eq. (34).

        Computed per defect in closed form, Γ = η{r₁[1 − sin(εη)/(εη)] +
        r₃[1 − (1 − e^{−2gη})/(2gη)]}, then averaged.

        Parameters
        ----------
        eta : array_like
            η = |t|/τ ≥ 0.
        channel : {"total", "resonant", "relaxation"}
            As in :meth:`lambda_bar`.

        Returns
        -------
        float or numpy.ndarray
            Γ̄(η) ≥ 0, shape of ``eta``.
        """
        res, rel = self._channel(channel)
        eta = _time_array("eta", eta, nonneg=True)
        shape, eta = eta.shape, eta.ravel()
        out = np.zeros(eta.size)
        if res and self._m1.size:
            out += self._gamma1(eta)
        if rel and self._m3.size:
            for blk in _blocks(eta.size, self._m3.size):
                e = eta[blk]
                out[blk] += e * (_one_minus_phi1(np.outer(e, self._rate3)) @ self._m3)
        return _out(out, shape)

    def _require_dephasing(self, channel: str) -> None:
        res, rel = self._channel(channel)
        rate = (self.r1_bar if res else 0.0) + (self.r3_bar if rel else 0.0)
        if not rate > 0.0:
            raise NoCutoffError(
                f"ln(tau_phi/tau) = infinity (Eq. 34): Gamma_bar of the {channel!r} channel "
                f"stays bounded (r1_bar = {self.r1_bar!r}, r3_bar = {self.r3_bar!r}; "
                "the relaxation channel needs chi > 0)"
            )

    def eta_where(self, Gamma: float = 1.0, channel: str = "total") -> float:
        """The η at which Γ̄(η) = ``Gamma`` (Γ̄ increases: λ̄ ≥ 0).

        With ``Gamma = 1`` this is the paper's estimate of τ_φ/τ ("estimated
        from the expression Γ̄₁(τ_φ⁽¹⁾/τ) = 1", Sec. II C).

        Raises
        ------
        NoCutoffError
            If Γ̄ of the channel stays bounded.
        """
        Gamma = _positive("Gamma", Gamma)
        self._require_dephasing(channel)
        hi = 1.0
        while float(self.Gamma_bar(hi, channel)) < Gamma:
            hi *= 4.0
        lo = hi / 4.0
        if float(self.Gamma_bar(lo, channel)) >= Gamma:
            lo = 0.0
        root = optimize.brentq(
            lambda e: float(self.Gamma_bar(e, channel)) - Gamma, lo, hi, xtol=1e-300, rtol=1e-14
        )
        return float(root)

    def log_tau_phi_eq34(self, channel: str = "total") -> float:
        """ln(τ_φ/τ) of Eq. (34) with the averaged Γ̄ (lower limit η = 1).

        ln(τ_φ/τ) = ∫_1^∞ (dη/η) exp(−Γ̄(η)), computed as ∫_0^{t_c} e^{−Γ̄(e^t)} dt
        by globally adaptive Gauss-Kronrod 7/15 (relative tolerance 1e-11; at most
        2000 panels, which leaves fast, tiny ripples of Γ̄ from the edge of the
        distribution unresolved when κΛ₀τ_φ/τ ≫ 10⁵; their |K15 − G7| is then
        counted in the error), with t_c where Γ̄ = 50 (the rest is
        < e^{−50}/(λ̄ η) ≪ 1e-20).

        Raises
        ------
        NoCutoffError
            If Γ̄ of the channel stays bounded (the integral diverges).
        ArithmeticError
            If the quadrature error estimate exceeds 1e-8 relative.
        """
        self._require_dephasing(channel)
        t_c = math.log(max(self.eta_where(50.0, channel), 1.0))

        def integrand(t: np.ndarray) -> np.ndarray:
            return np.exp(-np.asarray(self.Gamma_bar(np.exp(t), channel)))

        edges = np.linspace(0.0, t_c, max(2, int(math.ceil(t_c / 0.5)) + 1))
        value, err = adaptive_gk15(integrand, edges, rtol=1e-11, max_panels=2000)
        if not err <= 1e-8 * value:
            raise ArithmeticError(
                f"log_tau_phi_eq34: quadrature error estimate {err:.2e} exceeds 1e-8 relative "
                f"(value {value!r})"
            )
        return float(value)

    def _vertex_input(self, s_max: float) -> tuple[float, np.ndarray, np.ndarray]:
        """Constant part and the uncompressed terms of Φ̄ − constant."""
        cs, als = [], []
        for band in self._bands:
            c, a = band.vertex(s_max)
            cs.append(c)
            als.append(a)
        switching = self._rate3 > 0.0
        cs.append(self._m3[switching].astype(complex))
        als.append(self._rate3[switching].astype(complex))
        const = 1.0 - self.r1_bar - self.r3_bar
        return const, np.concatenate(cs), np.concatenate(als)

    def vertex_terms(self, s_max: float, atol: float | None = None) -> VertexTerms:
        """The averaged vertex Φ̄ = 1 − λ̄ as a sum of exponentials, for Eq. (24).

        Φ̄(x) ≈ Σ_k c_k exp(−α_k |x|) for |x| ≤ s_max, verified in the time
        domain: the maximum error over a grid of [0, s_max] that is log-spaced
        and resolves every oscillation present (16 points per period) is
        ≤ ``atol`` (else :class:`cooperon.exponential_sums.CompressionError`).

        Parameters
        ----------
        s_max : float
            Length of the history (units of τ) over which Φ̄ is needed, > 0.
        atol : float, optional
            Absolute accuracy.  Default 1e-9 Γ̄(s_max)/s_max: an error δ in Φ̄
            changes F(0) by a relative ~δ/rate, and Γ̄(s_max)/s_max is the mean
            dephasing rate over the window.

        Returns
        -------
        VertexTerms
            ``c``, ``alpha`` (``alpha[0] = 0``: the constant), ``max_error``,
            the number of terms ``r``.
        """
        s_max = _positive("s_max", s_max)
        if atol is None:
            atol = 1e-9 * float(self.Gamma_bar(s_max)) / s_max
            if not atol > 0.0:
                raise NoCutoffError("vertex_terms: Gamma_bar(s_max) = 0, no dephasing")
        atol = _positive("atol", atol)
        const, c, alpha = self._vertex_input(s_max)
        if c.size == 0:
            return VertexTerms(np.array([const + 0j]), np.zeros(1, complex), 0.0, s_max, atol, 0, 0)
        x = oscillation_grid(s_max, [(c, alpha)], atol)
        lam = np.asarray(self.lambda_bar(x))
        target = 1.0 - lam - const
        sub = np.unique(np.linspace(0, x.size - 1, min(x.size, 20000)).astype(int))
        input_error = float(np.abs(evaluate(c, alpha, x[sub]) - target[sub]).max())
        if input_error > 0.1 * atol:
            raise ArithmeticError(
                f"vertex_terms: the uncompressed quadrature misses 1 - lambda_bar by "
                f"{input_error:.2e} > atol/10 = {0.1 * atol:.2e}"
            )
        cr, ar, _, shift = compress(
            c,
            alpha,
            x,
            target,
            atol,
            shifts=tuple(f / s_max for f in _SHIFTS),
            fallback_shifts=tuple(f / s_max for f in _FALLBACK_SHIFTS),
        )
        cr = np.concatenate([[const + 0j], cr])
        ar = np.concatenate([[0j], ar])
        # final check on a grid that also resolves the reduced terms' oscillations
        x2 = oscillation_grid(s_max, [(c, alpha), (cr[1:], ar[1:])], atol)
        if x2.size != x.size or not np.array_equal(x2, x):
            x, lam = x2, np.asarray(self.lambda_bar(x2))
        err = float(np.abs(evaluate(cr, ar, x) - (1.0 - lam)).max())
        info = {"shift": shift, "input_error": input_error}
        if err > atol:
            raise ArithmeticError(
                f"vertex_terms: error {err:.2e} on the refined grid exceeds atol = {atol:.2e}"
            )
        return VertexTerms(cr, ar, err, s_max, atol, int(x.size), int(c.size), info)


# ---------------------------------------------------------------------------
# Eq. (37): tunnelling-states model
# ---------------------------------------------------------------------------


def _tm_range(Lambda: float, E_star: float, T: float) -> tuple[float, bool]:
    """Upper end of the splittings that matter and whether it is the hard cut E*."""
    E_cut = Lambda + THERMAL_CUT * T
    return (E_star, True) if E_star <= E_cut else (E_cut, False)


def _tm_relaxation(
    model: _Ensemble, Lambda: float, E_star: float, weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """Relaxation nodes (m₃ = weight·P·r₃·dE, rate 2g) of Eq. (37) with Λ₀ = Λ.

    E = Λ cosh u; (1/E*) E/√(E² − Λ²) dE = (Λ/E*) cosh u du.  Panels of width
    ≤ 0.5 min(1, √(T/Λ)) in u (10 nodes each): the density, r₃ ∝ tanh²u and
    the rate (∝ e^{−u} to e^{−2u} for large u) change by O(1) per panel.
    """
    b, _ = _tm_range(Lambda, E_star, model.T)
    U = math.acosh(b / Lambda)
    h = 0.5 * min(1.0, math.sqrt(model.T / Lambda))
    u, wu = gauss_panels(panel_edges(0.0, U, lambda x: h), n=10)
    E = Lambda * np.cosh(u)
    _, r3, _, g = model._rates(E, np.full_like(E, Lambda))
    return weight * (Lambda / E_star) * wu * np.cosh(u) * r3, 2.0 * g


class TunnelingModel(_Ensemble):
    """Tunnelling-states model, Eq. (37): fixed Λ = Λ₀, E spread up to E*.

    P_TM(E, Λ) = Θ(E* − E)/E* · E/√(E² − Λ₀²) · δ(Λ − Λ₀),  E ∈ [Λ₀, E*].

    The density is used as printed: it integrates to √(1 − (Λ₀/E*)²), not
    exactly 1 (:attr:`normalisation`).

    Parameters
    ----------
    T : float
        Temperature (K), > 0.
    Lambda0 : float
        Tunnelling amplitude Λ₀ (K), > 0.
    E_star : float
        Upper cutoff E* of the level splittings (K), > Λ₀.
    chi : float
        Coupling χ ≥ 0 of Eq. (15).
    tau, tau_i : float
        Total relaxation time τ and inelastic scale τᵢ of Eq. (21) (s), > 0.
    energy_to_rate : float, optional
        k_B/ħ in s⁻¹K⁻¹ (default; see :meth:`Parameters.from_physical`).

    Raises
    ------
    ValueError
        For an argument out of range (the message names it and the range), or
        if some defect would have r₁ + r₃ > 1 (Eq. 20).
    """

    def __init__(
        self,
        T: float,
        Lambda0: float,
        E_star: float,
        chi: float,
        tau: float,
        tau_i: float,
        energy_to_rate: float = KELVIN_TO_RATE,
    ):
        self._common(T, chi, tau, tau_i, energy_to_rate)
        L0 = self._tunneling_range(Lambda0, E_star)
        self._check_rates(L0)
        T, kappa = self.T, self.kappa
        b, hard = _tm_range(L0, self.E_star, T)
        Y = self._height(b - L0)
        # real-axis rule: E = Λ₀ cosh u, panels resolving the phase κE s_d
        U = math.acosh(b / L0)
        h_smooth = 0.25 * min(1.0, math.sqrt(T / L0))

        def width(u: float) -> float:
            dE = L0 * math.sinh(min(U, u + h_smooth))  # dE/du at the panel's end
            return min(h_smooth, PANEL_PHASE / (kappa * dE * self.s_d))

        u, wu = gauss_panels(panel_edges(0.0, U, width))
        E = L0 * np.cosh(u)
        r1, _, eps, _ = self._rates(E, np.full_like(E, L0))
        self._eps, self._m1 = eps, (L0 / self.E_star) * wu * np.cosh(u) * r1
        ratio = self.tau / self.tau_i

        def f(z: np.ndarray) -> np.ndarray:
            z = np.asarray(z, dtype=complex)
            root = np.sqrt(z - L0) * np.sqrt(z + L0)
            return (
                (1.0 / self.E_star)
                * (z / root)
                * ratio
                * (L0 / (2.0 * z)) ** 2
                * _sech2(z / (2.0 * T))
            )

        self._bands = [_Band(f, L0, b, hard, "sqrt", kappa, T, Y)]
        self._m3, self._rate3 = _tm_relaxation(self, L0, self.E_star, 1.0)

    @property
    def normalisation(self) -> float:
        """∫ P_TM = √(1 − (Λ₀/E*)²), Eq. (37) as printed."""
        return math.sqrt((1.0 - self.Lambda0 / self.E_star) * (1.0 + self.Lambda0 / self.E_star))

    def __repr__(self) -> str:
        return (
            f"TunnelingModel(T={self.T!r}, Lambda0={self.Lambda0!r}, E_star={self.E_star!r}, "
            f"chi={self.chi!r}, tau={self.tau!r}, tau_i={self.tau_i!r})"
        )


# ---------------------------------------------------------------------------
# Eq. (36): glass model
# ---------------------------------------------------------------------------


class GlassModel(_Ensemble):
    """Glass model, Eq. (36): E spread up to E*, p = (Λ/E)² log-uniform.

    P_GM(E, p) = Θ(E* − E)/(E* L) · 1/(p√(1 − p)),  p ∈ [p_min, 1],
    L = ln(1/p_min), so γ = p γ₀(E) (Eq. 15) is spread over L e-folds.

    The density is used as printed: with p = sech²w it is uniform in w ∈ [0, W],
    W = arccosh(p_min^{−1/2}), and integrates to 2W/L =
    ln[(1 + √(1 − p_min))/(1 − √(1 − p_min))]/L ≈ 1 + ln 4/L, not exactly 1
    (:attr:`normalisation`).

    Parameters
    ----------
    T : float
        Temperature (K), > 0.
    E_star : float
        Upper cutoff E* of the level splittings (K), > 0.
    p_min : float
        Lower cutoff of p = (Λ/E)², in (0, 1).
    chi : float
        Coupling χ ≥ 0 of Eq. (15).
    tau, tau_i : float
        τ and τᵢ of Eq. (21) (s), > 0.
    energy_to_rate : float, optional
        k_B/ħ in s⁻¹K⁻¹ (default).

    Raises
    ------
    ValueError
        For an argument out of range (named with its range), or if some defect
        would have r₁ + r₃ > 1 (Eq. 20).
    """

    def __init__(
        self,
        T: float,
        E_star: float,
        p_min: float,
        chi: float,
        tau: float,
        tau_i: float,
        energy_to_rate: float = KELVIN_TO_RATE,
    ):
        self._common(T, chi, tau, tau_i, energy_to_rate)
        self.E_star = _positive("E_star", E_star)
        p = _as_real("p_min", p_min)
        if not 0.0 < p < 1.0:
            raise ValueError(f"p_min must lie in (0, 1) (p = (Lambda/E)^2, Eq. 36; got {p!r})")
        self.p_min = p
        self.L = -math.log(p)
        self.W = math.acosh(1.0 / math.sqrt(p))
        self._check_rates(0.0)
        T, kappa = self.T, self.kappa
        b, hard = _tm_range(0.0, self.E_star, T)
        Y = self._height(b)
        ratio = self.tau / self.tau_i
        # ∫ dp p/(p√(1−p)) over [p_min, 1] = 2 tanh W, and r₁ ∝ p: the resonant
        # weight per unit E is c₁ r₁(E, Λ = E)
        c1 = 2.0 * math.tanh(self.W) / (self.E_star * self.L)
        h = min(0.5 * T, PANEL_PHASE / (kappa * self.s_d))
        E, wE = gauss_panels(panel_edges(0.0, b, lambda e: h))
        r1, _, eps, _ = self._rates(E, E)
        self._eps, self._m1 = eps, c1 * wE * r1

        def f(z: np.ndarray) -> np.ndarray:
            return c1 * (ratio / 4.0) * _sech2(np.asarray(z, dtype=complex) / (2.0 * T))

        self._bands = [_Band(f, 0.0, b, hard, None, kappa, T, Y)]
        # relaxation: tensor rule in E (panels 2T up to 2T, then ×2) and in w
        # (panels 1), 12 nodes each
        E, wE = gauss_panels(panel_edges(0.0, b, lambda e: 2.0 * T if e < 2.0 * T else e), n=12)
        w, ww = gauss_panels(panel_edges(0.0, self.W, lambda x: 1.0), n=12)
        EE = np.repeat(E, w.size)
        weight = np.repeat(wE, w.size) * np.tile(ww, E.size) * 2.0 / (self.E_star * self.L)
        _, r3, _, g = self._rates(EE, EE / np.cosh(np.tile(w, E.size)))
        self._m3, self._rate3 = weight * r3, 2.0 * g

    @property
    def normalisation(self) -> float:
        """∫ P_GM = 2W/L, Eq. (36) as printed."""
        return 2.0 * self.W / self.L

    def __repr__(self) -> str:
        return (
            f"GlassModel(T={self.T!r}, E_star={self.E_star!r}, p_min={self.p_min!r}, "
            f"chi={self.chi!r}, tau={self.tau!r}, tau_i={self.tau_i!r})"
        )


# ---------------------------------------------------------------------------
# Eq. (54): tunnelling model with a Gaussian spread of barrier strengths
# ---------------------------------------------------------------------------

#: Largest growth e^{θ²/2σ²} of the Gaussian of Eq. (54) allowed on the ray.
_RAY_GROWTH = 1e3


class GaussianBarrier(_Ensemble):
    """Eq. (37) with Λ = (ħω₀/π) e^{−λ} and a Gaussian barrier strength λ, Eq. (54).

    P(λ) = N exp(−(λ − λ₀)²/(2σ²)) on λ ≥ 0 (Λ ≤ ħω₀/π), with
    λ₀ = ln(ħω₀/(πΛ₀)) and N normalising it to 1 there; at each Λ the splittings
    follow Eq. (37), Θ(E* − E)/E* · E/√(E² − Λ²), E ∈ [Λ, E*] (as printed, with
    weight √(1 − (Λ/E*)²)).  The paper's σ is written λ̄ (renamed here to keep
    λ̄ for the averaged λ); it shows ⟨Λ²⟩/Λ₀² ≈ e^{2σ²} for λ₀ ≫ σ.

    Numerical method: with Λ = E e^{−ν²} (λ = ln(ħω₀/πE) + ν²) the Λ-integral
    at fixed E has no edge singularity, and r₁ ∝ Λ² gives the resonant density
    f(E) = (N/E*) r₁(E, E) J(ln(ħω₀/πE)),
    J(ℓ) = ∫_0^∞ 2ν e^{−2ν²}/√(1 − e^{−2ν²}) e^{−(ℓ + ν² − λ₀)²/(2σ²)} dν
    (Gauss-Legendre in ν).  f is smooth on the real axis and analytic off it,
    but grows like e^{θ²/(2σ²)} at arg E = θ: its rectangle's left side is the
    ray from 0 at θ = min(π/2, σ√(2 ln 10³)).  The relaxation channel is a
    composite Gauss-Legendre rule in λ (8 nodes per panel of width
    ≤ min(σ, 1) and ≤ 8T/Λ where the thermal factor varies fast), each node a
    tunnelling-model relaxation rule.

    Parameters
    ----------
    T, Lambda0, E_star, chi, tau, tau_i : float
        As in :class:`TunnelingModel` (Λ₀ = (ħω₀/π) e^{−λ₀} is the centre).
    sigma_lambda : float
        Spread σ > 0 of the barrier strength λ (the paper's λ̄).
    omega0 : float, optional
        Attempt frequency ω₀ in s⁻¹ (default 1e14, Sec. III); ħω₀/π > E*.
    energy_to_rate : float, optional
        k_B/ħ in s⁻¹K⁻¹ (default).
    """

    def __init__(
        self,
        T: float,
        Lambda0: float,
        E_star: float,
        chi: float,
        tau: float,
        tau_i: float,
        sigma_lambda: float,
        omega0: float = 1e14,
        energy_to_rate: float = KELVIN_TO_RATE,
    ):
        self._common(T, chi, tau, tau_i, energy_to_rate)
        self._tunneling_range(Lambda0, E_star)
        self.sigma_lambda = sig = _positive("sigma_lambda", sigma_lambda)
        self.omega0 = _positive("omega0", omega0)
        self.Lambda_max = self.omega0 / (math.pi * self.energy_to_rate)  # ħω₀/π in K
        if not self.Lambda_max > self.E_star:
            raise ValueError(
                f"omega0 must lie in (pi E_star k_B/hbar, ∞) = "
                f"({math.pi * self.E_star * self.energy_to_rate:.6g}, ∞) s^-1 so that "
                f"hbar omega0/pi > E_star > Lambda0 (Eq. 54); got {self.omega0!r}"
            )
        self.lambda0 = lam0 = math.log(self.Lambda_max / self.Lambda0)
        # P(λ) normalised on λ ≥ 0
        self.norm = 1.0 / (
            sig * math.sqrt(0.5 * math.pi) * special.erfc(-lam0 / (sig * math.sqrt(2.0)))
        )
        T = self.T
        lam_hi = lam0 + 8.5 * sig  # Gaussian tail beyond: < e^{−36}
        E_lo = self.Lambda_max * math.exp(-lam_hi)
        b, hard = _tm_range(E_lo, self.E_star, T)
        self._height(b)
        self._check_rates(E_lo)
        self._resonant(E_lo, b, hard)
        self._relaxation(lam_hi)

    def _J(self, ell: np.ndarray) -> np.ndarray:
        """J(ℓ) (see the class notes) for complex ℓ = ln(ħω₀/(πE))."""
        z = (ell[:, None] + self._mu[None, :] - self.lambda0) / self.sigma_lambda
        return np.exp(-0.5 * z * z) @ self._wmu

    def _resonant(self, E_lo: float, b: float, hard: bool) -> None:
        sig, T, kappa = self.sigma_lambda, self.T, self.kappa
        # ν-rule for J: panels of width ≤ min(σ/2, 1/2) in μ = ν², up to where
        # the Gaussian is < e^{−36} for every |E| on the contour
        e_max = math.hypot(b, self.Y)
        mu_max = max(self.lambda0 - math.log(self.Lambda_max / e_max), 0.0) + 8.5 * sig
        mu_edges = panel_edges(0.0, mu_max, lambda m: min(0.5 * sig, 0.5))
        nu, wnu = gauss_panels(np.sqrt(mu_edges), n=8)
        mu = nu * nu
        self._mu = mu
        # 2ν e^{−2ν²}/√(1 − e^{−2ν²}) → √2 as ν → 0
        self._wmu = wnu * 2.0 * nu * np.exp(-2.0 * mu) / np.sqrt(-np.expm1(-2.0 * mu))
        # real-axis rule: E panels ≤ T/2, geometric (ratio e^{σ/2}) at small E,
        # and resolving the phase up to s_d
        q = math.exp(min(0.5 * sig, 0.5)) - 1.0
        h_phase = PANEL_PHASE / (kappa * self.s_d)
        E, wE = gauss_panels(panel_edges(E_lo, b, lambda e: min(0.5 * T, q * e, h_phase)))
        r1, _, eps, _ = self._rates(E, E)  # r₁(E, Λ) = r₁(E, E) (Λ/E)²
        J = self._J(np.log(self.Lambda_max / E).astype(complex)).real
        self._eps, self._m1 = eps, (self.norm / self.E_star) * wE * r1 * J
        ratio = self.tau / self.tau_i
        c = self.norm * ratio / (4.0 * self.E_star)

        def f(z: np.ndarray) -> np.ndarray:
            z = np.asarray(z, dtype=complex)
            return c * _sech2(z / (2.0 * T)) * self._J(np.log(self.Lambda_max / z))

        angle = min(0.5 * math.pi, sig * math.sqrt(2.0 * math.log(_RAY_GROWTH)))
        ratio_r = math.exp(min(0.5 * sig, math.log(2.0)))
        self._bands = [_Band(f, 0.0, b, hard, "ray", kappa, T, self.Y, angle, ratio_r, 0.25 * E_lo)]

    def _relaxation(self, lam_hi: float) -> None:
        sig, T = self.sigma_lambda, self.T
        e_top = min(self.E_star, THERMAL_CUT * T)
        lam_lo = max(0.0, math.log(self.Lambda_max / e_top))

        def width(lam: float) -> float:
            Lam = self.Lambda_max * math.exp(-lam)
            return min(sig, 1.0, max(0.1, 8.0 * T / Lam))

        edges = panel_edges(lam_lo, lam_hi, width)
        if self.E_star <= THERMAL_CUT * T:
            # √(E* − Λ) behaviour at Λ → E*: grade the first panel geometrically
            first = edges[1] - edges[0]
            graded = edges[0] + first * 2.0 ** -np.arange(6, 0, -1)
            edges = np.concatenate([[edges[0]], graded, edges[1:]])
        lam, wl = gauss_panels(edges, n=8)
        weights = wl * self.norm * np.exp(-0.5 * ((lam - self.lambda0) / sig) ** 2)
        m3s, r3s = [], []
        for lj, wj in zip(lam, weights, strict=True):
            m3, rate3 = _tm_relaxation(self, self.Lambda_max * math.exp(-lj), self.E_star, wj)
            m3s.append(m3)
            r3s.append(rate3)
        self._m3, self._rate3 = np.concatenate(m3s), np.concatenate(r3s)
        self.n_lambda = int(lam.size)

    def __repr__(self) -> str:
        return (
            f"GaussianBarrier(T={self.T!r}, Lambda0={self.Lambda0!r}, E_star={self.E_star!r}, "
            f"chi={self.chi!r}, tau={self.tau!r}, tau_i={self.tau_i!r}, "
            f"sigma_lambda={self.sigma_lambda!r}, omega0={self.omega0!r})"
        )
