"""The vertex function Φ of Eq. (25) and the WKB phase ϑ of Eq. (33).

Time is in units of τ (see :mod:`cooperon.parameters`).  With
rₑ = 1 − r₁ − r₃,

    Φ(s) = rₑ + r₁ cos(ε s) + r₃ exp(−2 g |s|)                          (25)
    λ(s) = 1 − Φ(s) = r₁ (1 − cos ε s) + r₃ (1 − e^{−2g|s|}),   λ₁ = λ + Q
    ϑ(t) = Q t + r₁ [t − sin(ε t)/ε] + r₃ [t − (e^{2gt} − 1)/(2g)]     (33)
         = −∫_t^0 λ₁(s) ds ,   t ≤ 0 .

Φ is even in s (the telegraph-noise correlation e^{−2γ|s|}, Appendix B).
All functions are vectorised over their time argument and written so that
small ε|t|, g|t| and small arguments of λ lose no relative precision
(half-angle and ``expm1`` forms, Taylor series where a difference of nearly
equal numbers would otherwise be formed).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .parameters import Parameters

__all__ = ["Phi", "lam", "lam1", "lambda1_integral", "lambda_max", "theta"]

ArrayLike = npt.ArrayLike
FloatOrArray = float | np.ndarray

# Series switch: below this argument the Taylor series is used.  The direct
# formulas lose at most ~ eps/(their value) ≲ 7 ulp for arguments ≥ 1.
_SERIES_MAX = 1.0

# 1 − sin(x)/x = Σ_{k≥1} (−1)^{k+1} x^{2k}/(2k+1)!  (in powers of x²);
# 11 terms: the first omitted term is x^24/25! < 7e-26 for |x| < 1.
_ONE_MINUS_SINC = tuple((-1) ** (k + 1) / math.factorial(2 * k + 1) for k in range(1, 12))
# 1 − (1 − e^{−y})/y = Σ_{k≥1} (−1)^{k+1} y^k/(k+1)!; 20 terms: next < 1/21! ≈ 2e-20.
_ONE_MINUS_PHI1 = tuple((-1) ** (k + 1) / math.factorial(k + 1) for k in range(1, 21))


def _horner(coeffs: tuple[float, ...], z: FloatOrArray) -> FloatOrArray:
    """Σ_k coeffs[k] z^k by Horner's scheme (works for floats and arrays)."""
    acc = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        acc = acc * z + c
    return acc


def _one_minus_sinc(x: np.ndarray) -> np.ndarray:
    """1 − sin(x)/x for x ≥ 0, accurate to a few ulp also for tiny x."""
    x = np.asarray(x, dtype=float)
    small = x < _SERIES_MAX
    xs = np.where(small, x, 0.0)
    series = xs * xs * _horner(_ONE_MINUS_SINC, xs * xs)
    xl = np.where(small, 1.0, x)
    direct = 1.0 - np.sin(xl) / xl
    return np.where(small, series, direct)


def _one_minus_phi1(y: np.ndarray) -> np.ndarray:
    """1 − (1 − e^{−y})/y for y ≥ 0, accurate to a few ulp also for tiny y."""
    y = np.asarray(y, dtype=float)
    small = y < _SERIES_MAX
    ys = np.where(small, y, 0.0)
    series = ys * _horner(_ONE_MINUS_PHI1, ys)
    yl = np.where(small, 1.0, y)
    direct = 1.0 + np.expm1(-yl) / yl
    return np.where(small, series, direct)


def _phi1(y: np.ndarray) -> np.ndarray:
    """(1 − e^{−y})/y for y ≥ 0, with the limit 1 at y = 0."""
    return 1.0 - _one_minus_phi1(y)


def _one_minus_sinc_scalar(x: float) -> float:
    """Scalar version of :func:`_one_minus_sinc` (for quadrature callbacks)."""
    if x < _SERIES_MAX:
        x2 = x * x
        return x2 * _horner(_ONE_MINUS_SINC, x2)
    return 1.0 - math.sin(x) / x


def _one_minus_phi1_scalar(y: float) -> float:
    """Scalar version of :func:`_one_minus_phi1` (for quadrature callbacks)."""
    if y < _SERIES_MAX:
        return y * _horner(_ONE_MINUS_PHI1, y)
    return 1.0 + math.expm1(-y) / y


def _check_params(params: Parameters) -> Parameters:
    if not isinstance(params, Parameters):
        raise TypeError(f"params must be a Parameters instance, got {type(params).__name__}")
    return params


def _out(x: np.ndarray) -> FloatOrArray:
    """Return a Python float for 0-d results, the array otherwise."""
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


def _times(t: ArrayLike, name: str, nonpositive: bool) -> np.ndarray:
    arr = np.asarray(t, dtype=float)
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN")
    if nonpositive and (arr > 0.0).any():
        raise ValueError(f"{name} must be ≤ 0 (Eq. 33 is written for t ≤ 0)")
    return arr


def Phi(s: ArrayLike, params: Parameters) -> FloatOrArray:
    """Vertex function Φ(s) of Eq. (25).

    Φ(s) = rₑ + r₁ cos(ε s) + r₃ exp(−2 g |s|), with rₑ = 1 − r₁ − r₃ (Eq. 20).

    Parameters
    ----------
    s : array_like
        Time argument in units of τ (any sign; Φ is even).
    params : Parameters
        Model parameters.

    Returns
    -------
    float or numpy.ndarray
        Φ(s), same shape as ``s``.  Φ(0) = 1 and |Φ| ≤ 1 (up to rounding).
    """
    p = _check_params(params)
    s = np.abs(_times(s, "s", nonpositive=False))
    out = (
        p.tau_over_taue
        + p.tau_over_tau1 * np.cos(p.E_tau * s)
        + p.tau_over_tau3 * np.exp(-2.0 * p.gamma_tau * s)
    )
    return _out(out)


def lam(s: ArrayLike, params: Parameters) -> FloatOrArray:
    """λ(s) = 1 − Φ(s), with Φ of Eq. (25).

    Evaluated without cancellation as
    λ(s) = 2 r₁ sin²(ε s/2) − r₃ expm1(−2 g |s|), so λ ≥ 0 holds exactly and
    small λ keeps full relative precision.

    Parameters
    ----------
    s : array_like
        Time argument in units of τ (λ is even in s).
    params : Parameters
        Model parameters.

    Returns
    -------
    float or numpy.ndarray
        λ(s) ∈ [0, λ_max], see :func:`lambda_max`.
    """
    p = _check_params(params)
    s = np.abs(_times(s, "s", nonpositive=False))
    out = 2.0 * p.tau_over_tau1 * np.sin(0.5 * p.E_tau * s) ** 2 - p.tau_over_tau3 * np.expm1(
        -2.0 * p.gamma_tau * s
    )
    return _out(out)


def lam1(s: ArrayLike, params: Parameters) -> FloatOrArray:
    """λ₁(s) = λ(s) + Q, the local decay rate of the WKB resolvent, Eq. (31).

    Parameters
    ----------
    s : array_like
        Time argument in units of τ.
    params : Parameters
        Model parameters.

    Returns
    -------
    float or numpy.ndarray
        λ₁(s) ≥ Q.
    """
    p = _check_params(params)
    return _out(np.asarray(lam(s, p)) + p.Dq2_tau)


def theta(t: ArrayLike, params: Parameters) -> FloatOrArray:
    """WKB phase ϑ(t) of Eq. (33), for t ≤ 0.

    ϑ(t) = Q t + r₁ [t − sin(ε t)/ε] + r₃ [t − (e^{2 g t} − 1)/(2g)]
         = −∫_t^0 λ₁(s) ds.

    Evaluated as ϑ(t) = −|t| {Q + r₁ [1 − sinc(ε|t|)] + r₃ [1 − φ₁(2g|t|)]}
    with sinc(x) = sin(x)/x and φ₁(y) = (1 − e^{−y})/y; both brackets are
    computed by Taylor series for arguments < 1 and directly otherwise, so the
    limits ε → 0 and g → 0 (where the brackets vanish) are continuous and
    free of cancellation.  Every term is ≤ 0, so no cancellation occurs
    between terms either.

    Parameters
    ----------
    t : array_like
        Times t ≤ 0 in units of τ.
    params : Parameters
        Model parameters.

    Returns
    -------
    float or numpy.ndarray
        ϑ(t) ≤ 0, non-increasing as t → −∞ (dϑ/dt = λ₁ ≥ 0).

    Raises
    ------
    ValueError
        If some t > 0 or is NaN.
    """
    p = _check_params(params)
    u = -_times(t, "t", nonpositive=True)  # u = |t| ≥ 0
    rate = p.Dq2_tau + p.tau_over_tau1 * _one_minus_sinc(p.E_tau * u)
    rate = rate + p.tau_over_tau3 * _one_minus_phi1(2.0 * p.gamma_tau * u)
    return _out(-u * rate)


def lambda1_integral(t1: ArrayLike, t: ArrayLike, params: Parameters) -> FloatOrArray:
    """∫_{t₁}^{t} λ₁(s) ds for t₁ ≤ t ≤ 0, the exponent of Eq. (31).

    Equals ϑ(t) − ϑ(t₁) (Eq. 33) but is evaluated directly, with d = t − t₁,
    m = (t + t₁)/2, as

    Q d + r₁ d {[1 − sinc(εd/2)] + 2 sinc(εd/2) sin²(εm/2)}
        + r₃ d {[1 − φ₁(2gd)] − expm1(2gt) φ₁(2gd)},

    (sin εt − sin εt₁ = 2 cos(εm) sin(εd/2), e^{2gt} − e^{2gt₁} =
    e^{2gt}·2gd·φ₁(2gd)).  All terms are ≥ 0 except 2 sinc·sin² when
    εd/2 > π, where the r₁ brace is ≥ 1 − 1/π anyway; so nearby t₁, t far in
    the past keep full relative precision (the difference of two ϑ values
    would lose ~|ϑ|/(ϑ(t) − ϑ(t₁)) ulp).

    Parameters
    ----------
    t1 : array_like
        Lower limit t₁ ≤ t (units of τ).
    t : array_like
        Upper limit t ≤ 0; broadcast against ``t1``.
    params : Parameters
        Model parameters.

    Returns
    -------
    float or numpy.ndarray
        The integral, ≥ 0.

    Raises
    ------
    ValueError
        Unless t₁ ≤ t ≤ 0.
    """
    p = _check_params(params)
    t = _times(t, "t", nonpositive=True)
    t1 = _times(t1, "t1", nonpositive=True)
    t1, t = np.broadcast_arrays(t1, t)
    d = t - t1
    if (d < 0.0).any():
        raise ValueError("t1 must be ≤ t")
    m = 0.5 * (t + t1)
    half = 0.5 * p.E_tau * d
    sinc_h = 1.0 - _one_minus_sinc(half)
    r1_part = _one_minus_sinc(half) + 2.0 * sinc_h * np.sin(0.5 * p.E_tau * m) ** 2
    y = 2.0 * p.gamma_tau * d
    r3_part = _one_minus_phi1(y) - np.expm1(2.0 * p.gamma_tau * t) * _phi1(y)
    out = d * (p.Dq2_tau + p.tau_over_tau1 * r1_part + p.tau_over_tau3 * r3_part)
    return _out(out)


def lambda_max(params: Parameters) -> float:
    """Supremum of λ(s) = 1 − Φ(s) over all real s (Eq. 25).

    λ(s) = r₁ (1 − cos ε s) + r₃ (1 − e^{−2g|s|}).  The first term has
    supremum 2 r₁ if ε > 0 (attained at ε s = π mod 2π) and is 0 if ε = 0;
    the second increases monotonically in |s| towards r₃ if g > 0 and is 0
    if g = 0.  Both suprema are approached together along
    s = (2k+1)π/ε, k → ∞, so

        sup λ = 2 r₁ [ε > 0] + r₃ [g > 0] ,

    attained only if r₃ [g > 0] = 0 (otherwise only approached).  Q is not
    included: sup λ₁ = Q + sup λ.

    Parameters
    ----------
    params : Parameters
        Model parameters.

    Returns
    -------
    float
        sup_s λ(s) ∈ [0, 2].
    """
    p = _check_params(params)
    out = 0.0
    if p.E_tau > 0.0:
        out += 2.0 * p.tau_over_tau1
    if p.gamma_tau > 0.0:
        out += p.tau_over_tau3
    return out
