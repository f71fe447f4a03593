"""The Hikami–Larkin–Nagaoka (HLN) magnetoconductance and its least-squares fit.

HLN (exponential dephasing e^{−t/τ_φ}, no spin–orbit scattering):

    Δσ(B) = α (e²/πh) [ψ(½ + B_φ/B) − ln(B_φ/B)],   B_φ = ħ/(4eDτ_φ),

with α = 1 in the theory and free in many experimental fits.  Here Δσ is in
units of e²/h, B and B_φ in tesla, D in m²/s, τ_φ in seconds.  This is what
the (32) route of :func:`cooperon.magneto.magnetoconductance` gives exactly
for Γ(η) = η τ/τ_φ (``docs/magneto.md``); an experimentalist fits it to a
measured curve whatever the dephasing, and :func:`fit_hln` does the same to a
computed one.

ψ(½ + x) − ln x is evaluated without cancellation: by its asymptotic series
−Σ_k B_{2k}(½)/(2k x^{2k}) = 1/(24x²) − 7/(960x⁴) + ... for x ≥ 20 (five
terms, relative error < 1e-11), directly otherwise (cancellation error
≲ 1e-11 relative at x < 20).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt
from scipy import constants, optimize, special

from ._landau import bernoulli_half

__all__ = [
    "FitStatus",
    "HLNFit",
    "B_phi_from_tau_phi",
    "fit_hln",
    "hln",
    "hln_bracket",
    "tau_phi_from_B_phi",
]

#: Fewest points a fit window may hold.
MIN_POINTS = 5
#: Above this x = B_φ/B the asymptotic series is used.
_X_SERIES = 20.0
_SERIES_TERMS = 5
_B2K_HALF = np.array([bernoulli_half(k) for k in range(1, _SERIES_TERMS + 1)])
#: A fit whose log B_φ lies further than this (in e-folds) outside the window is not determined.
_OUTSIDE = 12.0
#: Condition number of the (column-scaled) Jacobian above which α and B_φ are degenerate.
_MAX_CONDITION = 1e7


def hln_bracket(x: npt.ArrayLike) -> np.ndarray:
    """ψ(½ + x) − ln x for x > 0 (no cancellation at large x)."""
    x = np.asarray(x, dtype=float)
    out = np.empty(x.shape)
    big = x >= _X_SERIES
    xb = x[big]
    k = np.arange(1, _SERIES_TERMS + 1)
    out[big] = -(xb[..., None] ** (-2.0 * k) * (_B2K_HALF / (2 * k))).sum(axis=-1)
    xs = x[~big]
    out[~big] = special.digamma(0.5 + xs) - np.log(xs)
    return out


def _hln_bracket_derivative(x: np.ndarray) -> np.ndarray:
    """d/dx [ψ(½ + x) − ln x] = ψ′(½ + x) − 1/x (series for x ≥ 20)."""
    out = np.empty(x.shape)
    big = x >= _X_SERIES
    xb = x[big]
    k = np.arange(1, _SERIES_TERMS + 1)
    out[big] = (xb[..., None] ** (-2.0 * k - 1) * _B2K_HALF).sum(axis=-1)
    xs = x[~big]
    out[~big] = special.polygamma(1, 0.5 + xs) - 1.0 / xs
    return out


def hln(B: npt.ArrayLike, B_phi: float, alpha: float = 1.0) -> np.ndarray:
    """HLN Δσ(B) in units of e²/h: (α/π)[ψ(½ + B_φ/B) − ln(B_φ/B)].

    Parameters
    ----------
    B : array_like
        Field(s) in tesla, > 0.
    B_phi : float
        Dephasing field ħ/(4eDτ_φ) in tesla, > 0.
    alpha : float
        Prefactor (1 in the theory).
    """
    B = np.asarray(B, dtype=float)
    if not (np.all(np.isfinite(B)) and np.all(B > 0)):
        raise ValueError("B must be finite and > 0 (tesla)")
    if not (math.isfinite(B_phi) and B_phi > 0):
        raise ValueError(f"B_phi must be finite and > 0 (tesla), got {B_phi!r}")
    return alpha / math.pi * hln_bracket(B_phi / B)


def B_phi_from_tau_phi(tau_phi: float, D: float) -> float:
    """B_φ = ħ/(4eDτ_φ) in tesla (τ_φ in s, D in m²/s)."""
    return constants.hbar / (4.0 * constants.e * D * tau_phi)


def tau_phi_from_B_phi(B_phi: float, D: float) -> float:
    """τ_φ = ħ/(4eDB_φ) in seconds (B_φ in T, D in m²/s)."""
    return constants.hbar / (4.0 * constants.e * D * B_phi)


class FitStatus(IntEnum):
    """Outcome of :func:`fit_hln` (``flag_values``/``flag_meanings`` of datasets)."""

    OK = 0
    TOO_FEW_POINTS = 1
    NOT_CONVERGED = 2
    NOT_DETERMINED = 3
    NO_DATA = 4

    @classmethod
    def flag_attrs(cls) -> dict[str, object]:
        """CF-style ``flag_values`` and ``flag_meanings`` for a status variable."""
        return {
            "flag_values": np.array([s.value for s in cls], dtype=np.int8),
            "flag_meanings": " ".join(s.name.lower() for s in cls),
        }


@dataclass(frozen=True)
class HLNFit:
    """Result of :func:`fit_hln`.

    Attributes
    ----------
    B_phi : float
        Fitted dephasing field (T); NaN unless ``status`` is OK.
    alpha : float
        Prefactor (1 if it was not free); NaN unless OK.
    tau_phi : float
        ħ/(4eDB_φ) in seconds; NaN unless OK.
    residuals : numpy.ndarray
        Δσ − HLN at every field given (e²/h), also outside the window; NaN
        unless OK.
    window : numpy.ndarray of bool
        The points used.
    rms : float
        Root-mean-square residual over the window (e²/h).
    status : FitStatus
    message : str
    nfev : int
        Evaluations of the model by the optimiser.
    """

    B_phi: float
    alpha: float
    tau_phi: float
    residuals: np.ndarray
    window: np.ndarray
    rms: float
    status: FitStatus
    message: str
    nfev: int = 0

    @property
    def success(self) -> bool:
        """``status == FitStatus.OK``."""
        return self.status == FitStatus.OK


def _window_mask(B: np.ndarray, ds: np.ndarray, window) -> np.ndarray:
    finite = np.isfinite(ds)
    if window is None:
        return finite & (np.abs(np.where(finite, ds, np.inf)) < 1.0)
    if isinstance(window, tuple) and len(window) == 2:
        lo, hi = (float(w) for w in window)
        if not (lo < hi):
            raise ValueError(f"fit_window = (B_lo, B_hi) needs B_lo < B_hi (got {window!r})")
        return finite & (B >= lo) & (B <= hi)
    mask = np.asarray(window)
    if mask.dtype != bool or mask.shape != B.shape:
        raise ValueError(
            "fit_window must be None (|Δσ| < 1 e²/h), a (B_lo, B_hi) tuple in tesla, "
            f"or a boolean mask of the shape of B {B.shape} (got {window!r})"
        )
    return finite & mask


def _failed(B, window, status: FitStatus, message: str, nfev: int = 0) -> HLNFit:
    nan = math.nan
    return HLNFit(nan, nan, nan, np.full(B.shape, nan), window, nan, status, message, nfev)


def fit_hln(
    B: npt.ArrayLike,
    delta_sigma: npt.ArrayLike,
    D: float,
    *,
    window=None,
    alpha_free: bool = False,
) -> HLNFit:
    """Least-squares fit of the HLN formula to Δσ(B) (e²/h), as an experiment would.

    Minimises Σ_window [Δσ_i − (α/π)(ψ(½ + B_φ/B_i) − ln(B_φ/B_i))]² over
    ln B_φ (and α if ``alpha_free``) with :func:`scipy.optimize.least_squares`
    (unweighted absolute residuals), started from the best point of a grid in
    ln B_φ (with α from linear least squares at each point, the model being
    linear in α).

    Parameters
    ----------
    B : array_like
        Fields (T), > 0.
    delta_sigma : array_like
        Δσ(B) in e²/h, same shape; NaN points are left out.
    D : float
        Diffusion constant (m²/s), for τ_φ = ħ/(4eDB_φ).
    window : None, (B_lo, B_hi) or bool array
        Points fitted: default those with |Δσ| < 1 e²/h.
    alpha_free : bool
        Fit the prefactor α as well (default α = 1).

    Returns
    -------
    HLNFit
        Never a silent garbage B_φ: ``status`` is TOO_FEW_POINTS (fewer than
        5 points in the window), NO_DATA (none finite), NOT_CONVERGED (the
        optimiser failed), or NOT_DETERMINED (B_φ far outside the window's
        fields, or α and B_φ degenerate: the window is entirely in the B²
        regime), each with a message and NaN values; OK otherwise.
    """
    B = np.asarray(B, dtype=float)
    ds = np.asarray(delta_sigma, dtype=float)
    if B.ndim != 1 or ds.shape != B.shape:
        raise ValueError(f"B and delta_sigma must be 1-D of equal shape ({B.shape}, {ds.shape})")
    if not (np.all(np.isfinite(B)) and np.all(B > 0)):
        raise ValueError("B must be finite and > 0 (tesla)")
    if not (math.isfinite(D) and D > 0):
        raise ValueError(f"D must be finite and > 0 (m²/s), got {D!r}")
    mask = _window_mask(B, ds, window)
    if not np.any(np.isfinite(ds)):
        return _failed(B, mask, FitStatus.NO_DATA, "no finite Δσ to fit")
    m = int(mask.sum())
    if m < MIN_POINTS:
        return _failed(
            B,
            mask,
            FitStatus.TOO_FEW_POINTS,
            f"the fit window holds {m} point(s); at least {MIN_POINTS} are needed",
        )
    Bw, yw = B[mask], ds[mask]
    lo, hi = math.log(Bw.min()) - _OUTSIDE, math.log(Bw.max()) + _OUTSIDE

    # grid start: α by linear least squares at each ln B_φ when free
    grid = np.linspace(lo, hi, 241)
    G = np.array([hln_bracket(math.exp(p) / Bw) / math.pi for p in grid])
    if alpha_free:
        a = (G @ yw) / np.maximum((G * G).sum(axis=1), 1e-300)
    else:
        a = np.ones(grid.size)
    sse = ((a[:, None] * G - yw) ** 2).sum(axis=1)
    j = int(np.argmin(sse))
    x0 = np.array([grid[j], a[j]]) if alpha_free else np.array([grid[j]])

    def residual(p):
        alpha = p[1] if alpha_free else 1.0
        return alpha / math.pi * hln_bracket(math.exp(p[0]) / Bw) - yw

    def jacobian(p):
        alpha = p[1] if alpha_free else 1.0
        x = math.exp(p[0]) / Bw
        cols = [alpha / math.pi * x * _hln_bracket_derivative(x)]
        if alpha_free:
            cols.append(hln_bracket(x) / math.pi)
        return np.array(cols).T

    scale = max(float(np.abs(yw).max()), 1e-300)
    res = optimize.least_squares(
        residual, x0, jac=jacobian, method="lm", xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=2000
    )
    if not res.success or not np.all(np.isfinite(res.x)):
        return _failed(
            B, mask, FitStatus.NOT_CONVERGED, f"least squares failed: {res.message}", res.nfev
        )
    p, alpha = float(res.x[0]), (float(res.x[1]) if alpha_free else 1.0)
    if not lo <= p <= hi:
        return _failed(
            B,
            mask,
            FitStatus.NOT_DETERMINED,
            f"B_phi = {math.exp(p):.3g} T lies more than e^{_OUTSIDE:g} outside the window's "
            f"fields [{Bw.min():.3g}, {Bw.max():.3g}] T: the window does not determine it",
            res.nfev,
        )
    J = jacobian(res.x)
    norms = np.linalg.norm(J, axis=0)
    cond = np.linalg.cond(J / np.where(norms > 0, norms, 1.0)) if np.all(norms > 0) else math.inf
    if not cond <= _MAX_CONDITION:
        return _failed(
            B,
            mask,
            FitStatus.NOT_DETERMINED,
            f"B_phi and alpha are degenerate over the window (condition number {cond:.2g}; "
            "all fields in the B^2 regime B << B_phi?): widen it or fix alpha",
            res.nfev,
        )
    B_phi = math.exp(p)
    residuals = ds - alpha / math.pi * hln_bracket(B_phi / B)
    rms = float(np.sqrt(np.mean(residuals[mask] ** 2)))
    message = (
        f"converged ({res.nfev} evaluations); rms residual {rms:.3g} e²/h "
        f"= {rms / scale:.2g} of max|Δσ| in the window"
    )
    return HLNFit(
        B_phi,
        alpha,
        tau_phi_from_B_phi(B_phi, D),
        residuals,
        mask,
        rms,
        FitStatus.OK,
        message,
        res.nfev,
    )
