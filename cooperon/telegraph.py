"""Random telegraph noise: the Monte Carlo check of Appendix B.

Appendix B of the paper maps the relaxation (σ₃) channel onto defects whose
displacement is a random telegraph process ξ(t) = ±1: ξ flips at the events
of a Poisson process of rate γ, so that (Appendix B, unnumbered)

    ⟨ξ(t) ξ(t′)⟩ = e^{−2γ|t−t′|} ,                                        (B.c)

the factor e^{−2g|s|} of the vertex function Φ, Eq. (25).  For one defect at
position t on a loop of traversal time t₀ with phase jump J = p_F l/ħ,

    k(t, t₀) = ⟨e^{iJ[ξ(t) − ξ(t₀−t)]}⟩ = cos²J + sin²J e^{−2γ|t₀−2t|}     (B.k)

(the paper prints 2cos²J + 2sin²J e^{…}, which is 2, not 1, at J = 0), and
averaging 1 − k over a position uniform along the loop gives

    ⟨1 − k⟩ = sin²J (2γt₀ − 1 + e^{−2γt₀}) / (2γt₀) ~ J² min{γt₀, 1}      (B.κ)

(the paper prints κ(t₀) = J² (2γ − 1 + e^{−2γt₀})/(2γ), which drops the t₀
factors; at small J it agrees with (B.κ) only at t₀ = 1).  The paper's
generating function, for t_β ≥ t_α and Δ = t_β − t_α,

    K(x, y) = ⟨e^{−ixξ(t_α) − iyξ(t_β)}⟩
            = e^{−γΔ} [cos(x + y) cosh γΔ + cos(x − y) sinh γΔ] ,         (B.K)

is right as printed: (B.k) is K(J, −J) with Δ = |t₀ − 2t|.  The labels
(B.c), (B.k), (B.κ), (B.K) are this module's; the paper numbers none of them.

The Monte Carlo shares no algebra with the integral equation (24): the
switching times are sampled exactly, event by event (independent exponential
waiting times of mean 1/γ, the initial value ±1 with probability ½ each, i.e.
the stationary distribution), and the averages above are sample means over
independent trajectories.  Every estimate is an :class:`Estimate` carrying
its standard error and its number of samples.  All randomness comes from a
``numpy.random.Generator`` passed in by the caller; there is no global state.
Times and rates are in any consistent units (the rest of the package uses
units of τ, where γ is ``gamma_tau`` = g).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from .model import _one_minus_phi1, _phi1

__all__ = [
    "ComplexEstimate",
    "Estimate",
    "TelegraphPaths",
    "correlation_exact",
    "estimate_correlation",
    "estimate_generating_function",
    "estimate_k",
    "estimate_loop_average",
    "estimate_occupation",
    "generating_function_exact",
    "k_exact",
    "k_printed",
    "kappa_printed",
    "loop_average_exact",
    "sample_telegraph",
]

ArrayLike = npt.ArrayLike
FloatOrArray = float | np.ndarray

#: Paths are simulated in chunks of about this many array elements (memory bound).
_CHUNK_ELEMENTS = 1 << 20
#: Largest expected number of switches per path γ·duration (80 MB of times per path).
_MAX_MEAN_SWITCHES = 1e7


# --------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------


def _finite(x: ArrayLike, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number or array of real numbers") from None
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{name} must be finite, got {arr[bad].flat[0]}")
    return arr


def _nonnegative(x: ArrayLike, name: str) -> np.ndarray:
    arr = _finite(x, name)
    if (arr < 0.0).any():
        raise ValueError(f"{name} must be ≥ 0, got {arr.min():g}")
    return arr


def _scalar(arr: np.ndarray, name: str) -> float:
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got an array of shape {arr.shape}")
    return float(arr)


def _rate(gamma: float) -> float:
    return _scalar(_nonnegative(gamma, "gamma"), "gamma")


def _count(n: int, name: str, minimum: int) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {n!r}")
    return int(n)


def _n_paths(n: int) -> int:
    return _count(n, "n_paths", 2)


def _vector(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or 1-d, got shape {arr.shape}")
    return arr


def _generator(rng: np.random.Generator) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    return rng


def _within(t: ArrayLike, name: str, upper: float, upper_name: str) -> np.ndarray:
    arr = _nonnegative(t, name)
    if (arr > upper).any():
        raise ValueError(
            f"{name} must lie in [0, {upper_name}] = [0, {upper:g}], got {arr.max():g}"
        )
    return arr


def _out(x: np.ndarray) -> FloatOrArray:
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo sample mean with its standard error.

    Attributes
    ----------
    value : float or numpy.ndarray
        The sample mean over ``n_samples`` independent trajectories.
    stderr : float or numpy.ndarray
        Its standard error, √(s²/n) with s² the unbiased sample variance;
        same shape as ``value``.  Exactly 0 where every sample was equal
        (e.g. k at J = 0).
    n_samples : int
        Number of independent samples (trajectories) behind each value.
    """

    value: FloatOrArray
    stderr: FloatOrArray
    n_samples: int

    def deviation(self, reference: ArrayLike) -> FloatOrArray:
        """Distance of the estimate from ``reference`` in units of its standard error.

        (value − reference)/stderr; where stderr = 0 it is 0 if value equals
        ``reference`` exactly and ±inf otherwise.
        """
        diff = np.asarray(self.value, dtype=float) - np.asarray(reference, dtype=float)
        err = np.broadcast_to(np.asarray(self.stderr, dtype=float), diff.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(err > 0.0, diff / np.where(err > 0.0, err, 1.0), np.sign(diff) * np.inf)
        z = np.where((err == 0.0) & (diff == 0.0), 0.0, z)
        return _out(z)


@dataclass(frozen=True)
class ComplexEstimate:
    """Estimate of a complex mean: real and imaginary parts, each an :class:`Estimate`."""

    real: Estimate
    imag: Estimate


class _Moments:
    """Running mean and sum of squared deviations over chunks (Chan et al.'s update)."""

    def __init__(self) -> None:
        self.n = 0
        self.mean: np.ndarray | None = None
        self.m2: np.ndarray | None = None

    def add(self, x: np.ndarray) -> None:
        """Add samples ``x`` (independent along axis 0)."""
        k = x.shape[0]
        mean_b = x.mean(axis=0)
        m2_b = ((x - mean_b) ** 2).sum(axis=0)
        if self.n == 0:
            self.n, self.mean, self.m2 = k, mean_b, m2_b
            return
        n = self.n + k
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (k / n)
        self.m2 = self.m2 + m2_b + delta * delta * (self.n * k / n)
        self.n = n

    def estimate(self) -> Estimate:
        var = self.m2 / (self.n - 1)
        return Estimate(_out(self.mean), _out(np.sqrt(var / self.n)), self.n)


# --------------------------------------------------------------------------
# sampling
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TelegraphPaths:
    """Independent stationary telegraph trajectories ξ(t) = ±1 on [0, duration].

    Attributes
    ----------
    gamma : float
        Switching rate γ: ξ flips at the events of a Poisson process of rate
        γ, so ⟨ξ(t)ξ(t′)⟩ = e^{−2γ|t−t′|} (Appendix B).
    duration : float
        Length of the time window [0, duration].
    initial : numpy.ndarray of int8, shape (n_paths,)
        ξ(0), ±1 with probability ½ each (the stationary distribution).
    switch_times : numpy.ndarray of float64, shape (n_paths, width)
        The switching times in [0, duration] of each path, increasing along a
        row and padded with +inf.
    """

    gamma: float
    duration: float
    initial: np.ndarray
    switch_times: np.ndarray

    @property
    def n_paths(self) -> int:
        """Number of trajectories."""
        return int(self.initial.shape[0])

    @property
    def n_switches(self) -> np.ndarray:
        """Number of switches of each path inside [0, duration]."""
        return np.isfinite(self.switch_times).sum(axis=1)

    @property
    def n_segments(self) -> int:
        """Total number of constant pieces of all paths (switches + 1 per path)."""
        return int(self.n_switches.sum()) + self.n_paths

    def values(self, t: ArrayLike) -> np.ndarray:
        """ξ at the times ``t``.

        Parameters
        ----------
        t : array_like
            Times in [0, duration]: shape (m,) (the same times for every
            path) or (n_paths, m) (times of each path).  A scalar is shape (1,).

        Returns
        -------
        numpy.ndarray of int8, shape (n_paths, m)
            ξ(t) = ξ(0) (−1)^{N(t)}, N(t) the number of switches in [0, t].
        """
        t = _within(t, "t", self.duration, "duration")
        t = np.atleast_1d(t)
        if t.ndim > 2 or (t.ndim == 2 and t.shape[0] != self.n_paths):
            raise ValueError(
                f"t must have shape (m,) or (n_paths, m) = ({self.n_paths}, m), got {t.shape}"
            )
        out = np.empty((self.n_paths, t.shape[-1]), dtype=np.int8)
        if t.ndim == 1:
            _xi_common(self.initial, self.switch_times, t, np.argsort(t, kind="stable"), out)
        else:
            _xi_each(self.initial, self.switch_times, np.ascontiguousarray(t), out)
        return out


@numba.njit(cache=True, nogil=True)
def _xi_common(initial, switch_times, t, order, out):
    """out[i, q] = ξ_i(t[q]) for query times shared by all paths (``order`` sorts t).

    One merge per path of its increasing switch times with the sorted queries:
    O(width + m) per path.
    """
    n, w = switch_times.shape
    for i in range(n):
        c = 0
        xi = initial[i]
        for r in range(t.size):
            q = order[r]
            while c < w and switch_times[i, c] <= t[q]:
                c += 1
                xi = -xi
            out[i, q] = xi


@numba.njit(cache=True, nogil=True)
def _xi_each(initial, switch_times, t, out):
    """out[i, q] = ξ_i(t[i, q]) for query times of each path (a binary search each)."""
    n, m = t.shape
    for i in range(n):
        row = switch_times[i]
        for q in range(m):
            flips = np.searchsorted(row, t[i, q], side="right")  # switches in [0, t]
            out[i, q] = initial[i] if flips % 2 == 0 else -initial[i]


def _switch_times(
    gamma: float, duration: float, n: int, rng: np.random.Generator, width: int | None = None
) -> np.ndarray:
    """Switching times of n independent Poisson processes of rate γ on [0, duration].

    Event by event: cumulative sums of exponential waiting times of mean 1/γ,
    drawn in blocks of ``width`` columns until every path has passed
    ``duration`` (by default γ·duration + 4√(γ·duration) + 2 columns, so one
    block suffices for nearly every path).
    """
    mean = gamma * duration
    if mean == 0.0:
        return np.empty((n, 0))
    if width is None:
        width = int(mean + 4.0 * math.sqrt(mean)) + 2
    blocks = []
    last = np.zeros(n)
    active = np.arange(n)
    while active.size:
        gaps = rng.standard_exponential((active.size, width))
        times = last[active, None] + np.cumsum(gaps, axis=1) / gamma
        block = np.full((n, width), np.inf)
        block[active] = times
        blocks.append(block)
        last[active] = times[:, -1]
        active = active[times[:, -1] <= duration]
    out = np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]
    out[out > duration] = np.inf
    used = int(np.isfinite(out).sum(axis=1).max())
    return np.ascontiguousarray(out[:, :used])


def sample_telegraph(
    gamma: float, duration: float, n_paths: int, rng: np.random.Generator
) -> TelegraphPaths:
    """Sample stationary random telegraph processes exactly (Appendix B).

    ξ(0) = ±1 with probability ½ each; ξ flips at the events of a Poisson
    process of rate γ, sampled event by event from exponential waiting times.
    Then P(ξ(t) = +1) = ½ for all t and ⟨ξ(t)ξ(t′)⟩ = e^{−2γ|t−t′|} (B.c),
    the relaxation-channel factor of Φ in Eq. (25).

    Parameters
    ----------
    gamma : float
        Switching rate γ ≥ 0 (γ = 0: ξ is constant).
    duration : float
        Window length ≥ 0.
    n_paths : int
        Number of independent paths, ≥ 2.
    rng : numpy.random.Generator
        Source of randomness, e.g. ``numpy.random.default_rng(seed)``.

    Returns
    -------
    TelegraphPaths
    """
    gamma = _rate(gamma)
    duration = _scalar(_nonnegative(duration, "duration"), "duration")
    n_paths = _n_paths(n_paths)
    rng = _generator(rng)
    if gamma * duration > _MAX_MEAN_SWITCHES:
        raise ValueError(
            f"gamma * duration = {gamma * duration:g} switches expected per path; "
            f"at most {_MAX_MEAN_SWITCHES:g} are supported"
        )
    initial = (2 * rng.integers(0, 2, size=n_paths, dtype=np.int8) - 1).astype(np.int8)
    return TelegraphPaths(gamma, duration, initial, _switch_times(gamma, duration, n_paths, rng))


def _chunks(n_paths: int, gamma: float, duration: float, per_path: int):
    """Sizes of the chunks of paths that keep every array near _CHUNK_ELEMENTS."""
    mean = gamma * duration
    width = max(per_path, int(mean + 4.0 * math.sqrt(mean)) + 2)
    size = max(2, _CHUNK_ELEMENTS // width)
    done = 0
    while done < n_paths:
        k = min(size, n_paths - done)
        if n_paths - done - k == 1:  # never leave a chunk of one path
            k += 1
        yield k
        done += k


# --------------------------------------------------------------------------
# exact averages and the paper's printed forms
# --------------------------------------------------------------------------


def correlation_exact(gamma: ArrayLike, s: ArrayLike) -> FloatOrArray:
    """Telegraph correlation function ⟨ξ(t)ξ(t+s)⟩ = e^{−2γ|s|} (Appendix B).

    This is the relaxation-channel factor e^{−2g|s|} of Φ, Eq. (25).

    Parameters
    ----------
    gamma : array_like
        Switching rate γ ≥ 0.
    s : array_like
        Lag (any sign).

    Returns
    -------
    float or numpy.ndarray
        e^{−2γ|s|}, broadcast over the arguments.
    """
    g = _nonnegative(gamma, "gamma")
    s = np.abs(_finite(s, "s"))
    return _out(np.exp(-2.0 * g * s))


def _sin2(J: ArrayLike) -> np.ndarray:
    return np.sin(_finite(J, "J")) ** 2


def k_exact(J: ArrayLike, gamma: ArrayLike, t: ArrayLike, t0: ArrayLike) -> FloatOrArray:
    """Exact single-defect average k(t, t₀) of Appendix B (B.k).

    k(t, t₀) = ⟨e^{iJ[ξ(t) − ξ(t₀−t)]}⟩ = cos²J + sin²J e^{−2γ|t₀−2t|},
    evaluated as 1 − sin²J (1 − e^{−2γ|t₀−2t|}) so that it is exactly 1 at
    J = 0 or γ = 0.  It is real: the imaginary part vanishes by ξ → −ξ.

    Parameters
    ----------
    J : array_like
        Phase jump J = p_F l/ħ (finite).
    gamma : array_like
        Switching rate γ ≥ 0.
    t : array_like
        Position of the defect along the loop, 0 ≤ t ≤ t₀.
    t0 : array_like
        Traversal time of the loop, t₀ ≥ 0.

    Returns
    -------
    float or numpy.ndarray
    """
    sin2 = _sin2(J)
    g = _nonnegative(gamma, "gamma")
    t0 = _nonnegative(t0, "t0")
    t = _nonnegative(t, "t")
    if (t > t0).any():
        raise ValueError("t must lie in [0, t0]")
    return _out(1.0 + sin2 * np.expm1(-2.0 * g * np.abs(t0 - 2.0 * t)))


def k_printed(J: ArrayLike, gamma: ArrayLike, t: ArrayLike, t0: ArrayLike) -> FloatOrArray:
    """The paper's printed k(t, t₀) = 2cos²J + 2sin²J e^{−2γ|t₀−2t|} (Appendix B).

    Wrong by a factor 2: it is 2 at J = 0, where k ≡ 1.  Kept to show the
    error against the Monte Carlo; arguments as in :func:`k_exact`.
    """
    return _out(2.0 * k_exact(J, gamma, t, t0))


def loop_average_exact(J: ArrayLike, gamma: ArrayLike, t0: ArrayLike) -> FloatOrArray:
    """Exact ⟨1 − k(t, t₀)⟩ over a defect position t uniform on [0, t₀] (B.κ).

    ⟨1 − k⟩ = sin²J (2γt₀ − 1 + e^{−2γt₀})/(2γt₀) ~ J² min{γt₀, 1}; it is
    0 at γt₀ = 0 and tends to sin²J as γt₀ → ∞.

    Parameters
    ----------
    J : array_like
        Phase jump (finite).
    gamma : array_like
        Switching rate γ ≥ 0.
    t0 : array_like
        Traversal time t₀ ≥ 0.

    Returns
    -------
    float or numpy.ndarray
    """
    sin2 = _sin2(J)
    x = 2.0 * _nonnegative(gamma, "gamma") * _nonnegative(t0, "t0")
    return _out(sin2 * _one_minus_phi1(x))


def kappa_printed(J: ArrayLike, gamma: ArrayLike, t0: ArrayLike) -> FloatOrArray:
    """The paper's printed κ(t₀) = J² (2γ − 1 + e^{−2γt₀})/(2γ) (Appendix B).

    Written as J² [1 − t₀ (1 − e^{−2γt₀})/(2γt₀)], with the limit J²(1 − t₀)
    at γ = 0.  The small-J limit of :func:`loop_average_exact` is
    J² [1 − (1 − e^{−2γt₀})/(2γt₀)]: the printed form has an extra factor t₀
    (it drops the t₀ factors), agrees only at t₀ = 1 and is negative for
    t₀ > 1 when γ is small.  Arguments as in :func:`loop_average_exact`.
    """
    J = _finite(J, "J")
    g = _nonnegative(gamma, "gamma")
    t0 = _nonnegative(t0, "t0")
    return _out(J * J * (1.0 - t0 * _phi1(2.0 * g * t0)))


def generating_function_exact(
    x: ArrayLike, y: ArrayLike, gamma: ArrayLike, dt: ArrayLike
) -> FloatOrArray:
    """The paper's generating function K(x, y) of Appendix B (B.K), which is right as printed.

    K(x, y) = ⟨e^{−ixξ(t_α) − iyξ(t_β)}⟩
            = e^{−γΔ} [cos(x + y) cosh γΔ + cos(x − y) sinh γΔ],  Δ = t_β − t_α ≥ 0,

    evaluated as ½[(1 + e^{−2γΔ}) cos(x + y) + (1 − e^{−2γΔ}) cos(x − y)].

    Parameters
    ----------
    x, y : array_like
        Finite real arguments.
    gamma : array_like
        Switching rate γ ≥ 0.
    dt : array_like
        Time difference Δ ≥ 0.

    Returns
    -------
    float or numpy.ndarray
    """
    x = _finite(x, "x")
    y = _finite(y, "y")
    e = np.exp(-2.0 * _nonnegative(gamma, "gamma") * _nonnegative(dt, "dt"))
    return _out(0.5 * ((1.0 + e) * np.cos(x + y) + (1.0 - e) * np.cos(x - y)))


# --------------------------------------------------------------------------
# Monte Carlo estimates
# --------------------------------------------------------------------------


def _squeeze(est: Estimate | ComplexEstimate) -> Estimate | ComplexEstimate:
    """The estimate at the single point of a length-1 result, as floats."""
    if isinstance(est, ComplexEstimate):
        return ComplexEstimate(_squeeze(est.real), _squeeze(est.imag))
    return Estimate(float(est.value[0]), float(est.stderr[0]), est.n_samples)


def _phase_average(
    weights: tuple[float, float],
    gamma: float,
    duration: float,
    ta: np.ndarray,
    tb: np.ndarray,
    n_paths: int,
    rng: np.random.Generator,
) -> ComplexEstimate:
    """Estimate ⟨e^{i(a ξ(t_a) + b ξ(t_b))}⟩ at pairs of times, one sample per path.

    The phase takes one of four values (ξ = ±1); e^{i·phase} is looked up in
    a table of those four, indexed by the pair (ξ(t_a), ξ(t_b)).
    """
    a, b = weights
    signs = np.array([-1.0, 1.0])
    phase = a * signs[:, None] + b * signs[None, :]  # phase[(ξa+1)/2, (ξb+1)/2]
    cos, sin = np.cos(phase).ravel(), np.sin(phase).ravel()
    m = ta.size
    both = np.concatenate([ta, tb])
    re, im = _Moments(), _Moments()
    for k in _chunks(n_paths, gamma, duration, 2 * m):
        xi = sample_telegraph(gamma, duration, k, rng).values(both)
        index = (xi[:, :m] + 1) + (xi[:, m:] + 1) // 2  # 2·(ξa+1)/2 + (ξb+1)/2
        re.add(cos[index])
        im.add(sin[index])
    return ComplexEstimate(re.estimate(), im.estimate())


def estimate_k(
    J: float, gamma: float, t: ArrayLike, t0: float, n_paths: int, rng: np.random.Generator
) -> ComplexEstimate:
    """Monte Carlo estimate of k(t, t₀) = ⟨e^{iJ[ξ(t) − ξ(t₀−t)]}⟩ (Appendix B, B.k).

    Each of ``n_paths`` independent telegraph paths on [0, t₀] gives one
    sample of e^{iJ[ξ(t) − ξ(t₀−t)]} at every t (the same paths serve all
    t, so the estimates at different t are correlated; each error bar is
    right on its own).  Compare with :func:`k_exact` and :func:`k_printed`.

    Parameters
    ----------
    J : float
        Phase jump (finite).
    gamma : float
        Switching rate γ ≥ 0.
    t : array_like
        Defect positions, 0 ≤ t ≤ t₀ (scalar or 1-d).
    t0 : float
        Traversal time t₀ ≥ 0.
    n_paths : int
        Number of paths, ≥ 2.
    rng : numpy.random.Generator

    Returns
    -------
    ComplexEstimate
        Real part (→ k) and imaginary part (→ 0), same shape as ``t``.
    """
    J = _scalar(_finite(J, "J"), "J")
    gamma = _rate(gamma)
    t0 = _scalar(_nonnegative(t0, "t0"), "t0")
    t = _vector(_within(t, "t", t0, "t0"), "t")
    n_paths, rng = _n_paths(n_paths), _generator(rng)
    est = _phase_average((J, -J), gamma, t0, np.atleast_1d(t), np.atleast_1d(t0 - t), n_paths, rng)
    return _squeeze(est) if t.ndim == 0 else est


def estimate_generating_function(
    x: float, y: float, gamma: float, dt: float, n_paths: int, rng: np.random.Generator
) -> ComplexEstimate:
    """Monte Carlo estimate of K(x, y) = ⟨e^{−ixξ(0) − iyξ(Δ)}⟩ (Appendix B, B.K).

    Parameters
    ----------
    x, y : float
        Finite real arguments.
    gamma : float
        Switching rate γ ≥ 0.
    dt : float
        Time difference Δ = t_β − t_α ≥ 0.
    n_paths : int
        Number of paths, ≥ 2.
    rng : numpy.random.Generator

    Returns
    -------
    ComplexEstimate
        Real part (→ :func:`generating_function_exact`) and imaginary part (→ 0).
    """
    x = _scalar(_finite(x, "x"), "x")
    y = _scalar(_finite(y, "y"), "y")
    gamma = _rate(gamma)
    dt = _scalar(_nonnegative(dt, "dt"), "dt")
    n_paths, rng = _n_paths(n_paths), _generator(rng)
    est = _phase_average((-x, -y), gamma, dt, np.zeros(1), np.full(1, dt), n_paths, rng)
    return _squeeze(est)


def estimate_loop_average(
    J: float,
    gamma: float,
    t0: float,
    n_paths: int,
    rng: np.random.Generator,
    positions_per_path: int = 8,
) -> Estimate:
    """Monte Carlo estimate of ⟨1 − k(t, t₀)⟩ over a position t uniform on [0, t₀] (B.κ).

    Each path on [0, t₀] carries ``positions_per_path`` defects at
    independent uniform positions t; its sample is the mean of
    1 − cos J[ξ(t) − ξ(t₀−t)] over them (the sine part averages to 0 by
    ξ → −ξ), so the ``n_paths`` samples are independent.  Compare with
    :func:`loop_average_exact` and :func:`kappa_printed`.

    Parameters
    ----------
    J : float
        Phase jump (finite).
    gamma : float
        Switching rate γ ≥ 0.
    t0 : float
        Traversal time t₀ ≥ 0.
    n_paths : int
        Number of paths, ≥ 2.
    rng : numpy.random.Generator
    positions_per_path : int, optional
        Defect positions drawn per path, ≥ 1.

    Returns
    -------
    Estimate
    """
    J = _scalar(_finite(J, "J"), "J")
    gamma = _rate(gamma)
    t0 = _scalar(_nonnegative(t0, "t0"), "t0")
    n_paths, rng = _n_paths(n_paths), _generator(rng)
    p = _count(positions_per_path, "positions_per_path", 1)
    acc = _Moments()
    for k in _chunks(n_paths, gamma, t0, 2 * p):
        paths = sample_telegraph(gamma, t0, k, rng)
        t = t0 * rng.random((k, p))
        diff = paths.values(t) - paths.values(t0 - t)
        acc.add((1.0 - np.cos(J * diff)).mean(axis=1))
    return acc.estimate()


def estimate_correlation(
    gamma: float,
    lags: ArrayLike,
    n_paths: int,
    rng: np.random.Generator,
    n_origins: int = 8,
) -> Estimate:
    """Monte Carlo estimate of ⟨ξ(t)ξ(t+s)⟩ at the lags s (Appendix B, B.c).

    Recovers the relaxation-channel factor e^{−2g|s|} of Φ, Eq. (25), from
    simulated processes.  With S = max|s|, each path lives on [0, 3S]; its
    sample at lag s is the mean of ξ(t_a)ξ(t_a + s) over ``n_origins``
    origins t_a evenly spaced in [S, 2S], so the ``n_paths`` samples are
    independent.  Compare with :func:`correlation_exact`.

    Parameters
    ----------
    gamma : float
        Switching rate γ ≥ 0.
    lags : array_like
        Lags s (any sign; scalar or 1-d).
    n_paths : int
        Number of paths, ≥ 2.
    rng : numpy.random.Generator
    n_origins : int, optional
        Origins per path, ≥ 1.

    Returns
    -------
    Estimate
        Same shape as ``lags``.
    """
    gamma = _rate(gamma)
    lags = _vector(_finite(lags, "lags"), "lags")
    n_paths, rng = _n_paths(n_paths), _generator(rng)
    n_origins = _count(n_origins, "n_origins", 1)
    s = np.atleast_1d(lags)
    span = float(np.abs(s).max())
    origins = span * (1.0 + (np.arange(n_origins) + 0.5) / n_origins)
    ends = np.clip(origins[:, None] + s[None, :], 0.0, 3.0 * span)  # clip: rounding only
    acc = _Moments()
    for k in _chunks(n_paths, gamma, 3.0 * span, n_origins * (1 + s.size)):
        paths = sample_telegraph(gamma, 3.0 * span, k, rng)
        xa = paths.values(origins)
        xb = paths.values(ends.ravel()).reshape(k, n_origins, s.size)
        acc.add((xa[:, :, None] * xb).mean(axis=1, dtype=float))
    est = acc.estimate()
    return _squeeze(est) if lags.ndim == 0 else est


def estimate_occupation(
    gamma: float, t: ArrayLike, n_paths: int, rng: np.random.Generator
) -> Estimate:
    """Monte Carlo estimate of P(ξ(t) = +1), which is ½ for all t (stationarity).

    Parameters
    ----------
    gamma : float
        Switching rate γ ≥ 0.
    t : array_like
        Times ≥ 0 (scalar or 1-d); paths live on [0, max t].
    n_paths : int
        Number of paths, ≥ 2.
    rng : numpy.random.Generator

    Returns
    -------
    Estimate
        Same shape as ``t``.
    """
    gamma = _rate(gamma)
    t = _vector(_nonnegative(t, "t"), "t")
    n_paths, rng = _n_paths(n_paths), _generator(rng)
    times = np.atleast_1d(t)
    duration = float(times.max())
    acc = _Moments()
    for k in _chunks(n_paths, gamma, duration, times.size):
        acc.add((sample_telegraph(gamma, duration, k, rng).values(times) > 0).astype(float))
    est = acc.estimate()
    return _squeeze(est) if t.ndim == 0 else est
