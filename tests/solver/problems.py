"""Catalogue of Volterra integral equations of the second kind with exact solutions.

Every problem has the form (the solver's contract)

    y(t) = f(t) + H(t) + ∫_{t0}^{t} K(t, s) G(s, y(s)) ds,      t0 <= t <= t_end,

with ``G(s, y) = y`` unless a nonlinearity is given and ``H = 0`` unless a
history is given, in which case ``H(t) = ∫_{-∞}^{t0} K(t, s) y(s) ds``.

Provenance
----------
Problems quoted from the literature carry a citation of the book and the
exercise; their ``f`` is the published one. All other problems are
*constructed*: an exact solution ``y`` was chosen and ``f`` was derived from
it in closed form with SymPy (``tests/solver/make_problems.py``; the test
``test_problems_exact.py::test_sympy_derivation_matches_catalogue`` re-derives
and compares). Every problem, quoted or constructed, is independently checked
by ``test_problems_exact.py``, which evaluates the residual of the equation
with the exact solution by adaptive quadrature (``scipy.integrate.quad``).

The Wazwaz exercises are from A.-M. Wazwaz, *Linear and Nonlinear Integral
Equations: Methods and Applications*, Higher Education Press & Springer, 2011,
Chapter 3 (Volterra integral equations), Sect. 3.2 (second kind); section and
exercise numbers as given in the worked solutions published by stemjock.com
("Wazwaz Integral Equations: Section 3.2.x, Exercise n"). The exercise texts
were transcribed from there; the residual test proves the stated solutions.

Conventions
-----------
* Kernel, nonlinearity and breakpoint functions are module-level functions
  that use only NumPy/``math`` scalar operations so that Numba can compile
  them, as the solver requires.
* ``f``, ``exact``, ``history_y`` and ``history_h`` are vectorised over NumPy
  arrays: for a 1-D array ``t`` of length ``N`` they return shape ``(N,)``, or
  ``(N, d)`` for systems.
* ``grids`` gives, per method, the numbers of intervals ``N - 1`` of the three
  grids used by the convergence test; they were chosen so that the errors stay
  in the asymptotic regime (well above round-off) on all three grids.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

__all__ = ["Problem", "PROBLEMS", "problem", "problem_ids", "METHOD_ORDERS"]

METHOD_ORDERS: Mapping[str, int] = {"trapezoidal": 2, "gregory4": 4, "gregory6": 6}

WAZWAZ_2011 = (
    "A.-M. Wazwaz, Linear and Nonlinear Integral Equations: Methods and Applications, "
    "Higher Education Press/Springer 2011"
)


@dataclass(frozen=True)
class Problem:
    """One test equation with its exact solution.

    Attributes
    ----------
    name, citation, description
        Identification; ``citation`` says where the equation comes from or
        how it was constructed.
    kernel_kind
        ``"function"`` (plain ``k(t, s)``), ``"convolution"`` (``k(u)``,
        ``K = k(t - s)``), ``"piecewise"`` (``([k_left, k_right], [beta])``)
        or ``"expsum"`` (``(weights, lam, mu)``).
    kernel_data
        The arguments the solver object is built from (see :meth:`kernel`).
    f, exact
        Forcing term and exact solution, vectorised.
    t0, t_end
        The interval.
    nonlinearity
        ``G(s, y)`` or ``None``.
    history_kind
        ``None``, ``"y"`` (pass ``History(y=history_y)``) or
        ``"contribution"`` (pass ``History(contribution=history_h)``).
    history_y, history_h
        ``y(s)`` for ``s < t0`` and ``H(t) = ∫_{-∞}^{t0} K(t,s) y(s) ds``;
        both are given whenever the problem has a history, whatever its kind,
        so that the self-check can verify one against the other.
    dim
        0 for scalar problems, ``d`` for ``d x d`` systems.
    is_complex
        Whether the solution is complex.
    tags
        Free-form classification used for test selection.
    grids
        Numbers of intervals per method for the convergence test.
    """

    name: str
    citation: str
    description: str
    kernel_kind: str
    kernel_data: tuple
    f: Callable[[Any], Any]
    exact: Callable[[Any], Any]
    t0: float
    t_end: float
    nonlinearity: Callable | None = None
    history_kind: str | None = None
    history_y: Callable | None = None
    history_h: Callable | None = None
    dim: int = 0
    is_complex: bool = False
    tags: frozenset[str] = field(default_factory=frozenset)
    grids: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    # -- what the solver receives -------------------------------------------
    def kernel(self):
        """The kernel as the solver expects it (imports :mod:`solver` lazily)."""
        if self.kernel_kind == "function":
            return self.kernel_data[0]
        from solver import kernels

        if self.kernel_kind == "convolution":
            return kernels.Convolution(self.kernel_data[0])
        if self.kernel_kind == "piecewise":
            pieces, betas = self.kernel_data
            return kernels.Piecewise(list(pieces), list(betas))
        if self.kernel_kind == "expsum":
            w, lam, mu = self.kernel_data
            return kernels.ExpSum(np.asarray(w), np.asarray(lam), np.asarray(mu))
        raise ValueError(f"unknown kernel kind {self.kernel_kind!r}")

    def history(self):
        """``History(...)`` for the solver, or ``None``."""
        if self.history_kind is None:
            return None
        from solver import History

        if self.history_kind == "y":
            return History(y=self.history_y)
        if self.history_kind == "contribution":
            return History(contribution=self.history_h)
        raise ValueError(f"unknown history kind {self.history_kind!r}")

    def grid(self, n_intervals: int) -> np.ndarray:
        """Uniform grid with ``n_intervals`` cells on ``[t0, t_end]``."""
        return np.linspace(self.t0, self.t_end, n_intervals + 1)

    # -- pure-Python evaluation, for the self-check ---------------------------
    def K(self, t: float, s: float):
        """Kernel value ``K(t, s)`` (scalar or ``(d, d)`` array), evaluated in Python."""
        kind, data = self.kernel_kind, self.kernel_data
        if kind == "function":
            return data[0](t, s)
        if kind == "convolution":
            return data[0](t - s)
        if kind == "piecewise":
            (k_left, k_right), (beta,) = data
            return k_left(t, s) if s < beta(t) else k_right(t, s)
        if kind == "expsum":
            w, lam, mu = (np.asarray(a, dtype=complex) for a in data)
            val = complex(np.sum(w * np.exp(lam * t - mu * (t - s))))
            return val if self.is_complex else val.real
        raise ValueError(kind)

    def breakpoints(self, t: float) -> list[float]:
        """Points of ``(t0, t)`` where ``s -> K(t, s)`` is not smooth."""
        if self.kernel_kind != "piecewise":
            return []
        (beta,) = self.kernel_data[1]
        b = float(beta(t))
        return [b] if self.t0 < b < t else []

    def G(self, s: float, y):
        """Nonlinearity applied to a value (identity for linear problems)."""
        return y if self.nonlinearity is None else self.nonlinearity(s, y)


# ============================================================================
# Kernels, nonlinearities and breakpoints (module level, Numba-compilable)
# ============================================================================


def k_minus_lag(u):
    """k(u) = -u."""
    return -u


def k_four_lag(u):
    """k(u) = 4u."""
    return 4.0 * u


def k_exp_decay(u):
    """k(u) = exp(-u)."""
    return math.exp(-u)


def k_one(u):
    """k(u) = 1."""
    return 1.0 + 0.0 * u


def k_minus_ts(t, s):
    """K(t, s) = -t s."""
    return -t * s


def k_t(t, s):
    """K(t, s) = t."""
    return t + 0.0 * s


def k_s_exp(t, s):
    """K(t, s) = s exp(t - s)."""
    return s * math.exp(t - s)


def k_cos_exp(t, s):
    """K(t, s) = cos(t - s) exp(-t)."""
    return math.cos(t - s) * math.exp(-t)


def k_system_nonconv(t, s):
    """K(t, s) = [[exp(-(t-s)), -t s/2], [1, cos(t-s)]]."""
    return np.array([[math.exp(-(t - s)), -0.5 * t * s], [1.0, math.cos(t - s)]])


def k_system_conv(u):
    """k(u) = [[-u, 1/2], [-1/2, exp(-u)]]."""
    return np.array([[-u, 0.5], [-0.5, math.exp(-u)]])


COMPLEX_OMEGA = 2.0
COMPLEX_LAMBDA = 1.0


def k_complex_rot(u):
    """k(u) = i λ exp(i ω u) with ω = 2, λ = 1."""
    return 1j * COMPLEX_LAMBDA * np.exp(1j * COMPLEX_OMEGA * u)


OSC_OMEGA = 20.0
OSC_LAMBDA = 5.0
OSC_BIG_OMEGA = math.sqrt(OSC_OMEGA * (OSC_OMEGA + OSC_LAMBDA))


def k_osc_sin(u):
    """k(u) = -λ sin(ω u) with ω = 20, λ = 5."""
    return -OSC_LAMBDA * math.sin(OSC_OMEGA * u)


def k_hist_exp(u):
    """k(u) = exp(-u)/2."""
    return 0.5 * math.exp(-u)


def k_hist_texp(u):
    """k(u) = u exp(-u)."""
    return u * math.exp(-u)


def k_kink_left(t, s):
    """2(2t - s): the kernel 2|2t - s| for s < 2t."""
    return 2.0 * (2.0 * t - s)


def k_kink_right(t, s):
    """2(s - 2t): the kernel 2|2t - s| for s > 2t."""
    return 2.0 * (s - 2.0 * t)


def beta_2t(t):
    """Breakpoint s = 2t."""
    return 2.0 * t


def k_jump_left(t, s):
    """exp(-(t - s)) for s < t/2."""
    return math.exp(-(t - s))


def k_jump_right(t, s):
    """cos(t - s)/2 for s > t/2."""
    return 0.5 * math.cos(t - s)


def beta_half(t):
    """Breakpoint s = t/2."""
    return 0.5 * t


def g_square(s, y):
    """G(s, y) = y**2."""
    return y * y


def g_exp_minus(s, y):
    """G(s, y) = exp(-y)."""
    return math.exp(-y)


def g_cube(s, y):
    """G(s, y) = y**3."""
    return y * y * y


# ============================================================================
# Helpers for closed forms
# ============================================================================


def _expsum_exp_integral(w, lam, mu, c, t):
    """∫_0^t Σ_k w_k exp(λ_k t - μ_k (t - s)) exp(c s) ds in closed form.

    Each term is w_k e^{λ_k t} (e^{c t} - e^{-μ_k t}) / (μ_k + c) (requires
    μ_k + c != 0, true for every use below).
    """
    t = np.asarray(t, dtype=float)
    out = np.zeros(t.shape, dtype=complex)
    for wk, lk, mk in zip(w, lam, mu, strict=True):
        out += wk * np.exp(lk * t) * (np.exp(c * t) - np.exp(-mk * t)) / (mk + c)
    return out


def _stack(*cols):
    """Stack component functions values into shape (N, d) (or (d,) for a scalar t)."""
    return np.stack(np.broadcast_arrays(*cols), axis=-1)


# ============================================================================
# The catalogue
# ============================================================================

_P: list[Problem] = []


def _add(p: Problem) -> None:
    _P.append(p)


# --- 1. y = 1 - ∫ (t - s) y ds, y = cos t -----------------------------------
_add(
    Problem(
        name="conv_cos",
        citation=(
            "Classical textbook example (equivalent, by differentiating twice, to "
            "y'' = -y, y(0) = 1, y'(0) = 0); exact solution verified by the residual test"
        ),
        description="y = 1 - ∫_0^t (t-s) y(s) ds on [0, 10]; y = cos t",
        kernel_kind="convolution",
        kernel_data=(k_minus_lag,),
        f=lambda t: np.ones_like(np.asarray(t, dtype=float)),
        exact=lambda t: np.cos(t),
        t0=0.0,
        t_end=10.0,
        tags=frozenset({"convolution", "linear", "real", "classical"}),
    )
)

# --- 2. Wazwaz 3.2.5 Ex. 4: y = 1 + 2t + 4 ∫ (t - s) y ds, y = exp(2t) -------
_add(
    Problem(
        name="wazwaz_exp2t",
        citation=WAZWAZ_2011 + ", Sect. 3.2.5 (successive approximations), Exercise 4",
        description="y = 1 + 2t + 4 ∫_0^t (t-s) y(s) ds on [0, 2]; y = exp(2t)",
        kernel_kind="convolution",
        kernel_data=(k_four_lag,),
        f=lambda t: 1.0 + 2.0 * np.asarray(t, dtype=float),
        exact=lambda t: np.exp(2.0 * np.asarray(t, dtype=float)),
        t0=0.0,
        t_end=2.0,
        tags=frozenset({"convolution", "linear", "real", "literature", "growing"}),
    )
)

# --- 3. y = 1 + ∫ exp(-(t - s)) y ds, y = 1 + t -------------------------------
_add(
    Problem(
        name="conv_exp_linear",
        citation=(
            "Constructed by Laplace transform: Y = (1/p) / (1 - 1/(p+1)) = (p+1)/p^2, "
            "hence y = 1 + t"
        ),
        description="y = 1 + ∫_0^t exp(-(t-s)) y(s) ds on [0, 5]; y = 1 + t",
        kernel_kind="convolution",
        kernel_data=(k_exp_decay,),
        f=lambda t: np.ones_like(np.asarray(t, dtype=float)),
        exact=lambda t: 1.0 + np.asarray(t, dtype=float),
        t0=0.0,
        t_end=5.0,
        tags=frozenset({"convolution", "linear", "real", "constructed"}),
    )
)

# --- 4. Wazwaz 3.2.3 Ex. 8: K = -t s, y = cosh t ------------------------------
_add(
    Problem(
        name="wazwaz_cosh",
        citation=WAZWAZ_2011 + ", Sect. 3.2.3 (noise terms phenomenon), Exercise 8",
        description=(
            "y = t + cosh t + t^2 sinh t - t cosh t - ∫_0^t t s y(s) ds on [0, 2]; y = cosh t"
        ),
        kernel_kind="function",
        kernel_data=(k_minus_ts,),
        f=lambda t: t + np.cosh(t) + t**2 * np.sinh(t) - t * np.cosh(t),
        exact=lambda t: np.cosh(t),
        t0=0.0,
        t_end=2.0,
        tags=frozenset({"nonconvolution", "linear", "real", "literature"}),
    )
)

# --- 5. Wazwaz 3.2.2 Ex. 10: K = t, y = exp t + sin t --------------------------
_add(
    Problem(
        name="wazwaz_exp_sin",
        citation=WAZWAZ_2011 + ", Sect. 3.2.2 (modified decomposition method), Exercise 10",
        description=(
            "y = e^t - t e^t + sin t + t cos t + ∫_0^t t y(s) ds on [0, 2]; y = e^t + sin t"
        ),
        kernel_kind="function",
        kernel_data=(k_t,),
        f=lambda t: np.exp(t) - t * np.exp(t) + np.sin(t) + t * np.cos(t),
        exact=lambda t: np.exp(t) + np.sin(t),
        t0=0.0,
        t_end=2.0,
        tags=frozenset({"nonconvolution", "linear", "real", "literature"}),
    )
)

# --- 6. K = s exp(t - s), y = cos t (constructed) -----------------------------
_add(
    Problem(
        name="nonconv_s_exp",
        citation="Constructed (make_problems.py): exact y = cos t chosen, f derived with SymPy",
        description="y = f + ∫_0^t s e^{t-s} y(s) ds on [0, 3]; y = cos t",
        kernel_kind="function",
        kernel_data=(k_s_exp,),
        # sympy: sqrt(2) t cos(t + pi/4)/2 - sin(t)/2 + cos(t) = t (cos t - sin t)/2 - ...
        f=lambda t: 0.5 * t * (np.cos(t) - np.sin(t)) - 0.5 * np.sin(t) + np.cos(t),
        exact=lambda t: np.cos(t),
        t0=0.0,
        t_end=3.0,
        tags=frozenset({"nonconvolution", "linear", "real", "constructed"}),
    )
)

# --- 7. K = cos(t - s) exp(-t), y = sin 2t + cos t (constructed) -------------
_add(
    Problem(
        name="nonconv_cos_exp",
        citation=(
            "Constructed (make_problems.py): exact y = sin 2t + cos t chosen, f derived with SymPy"
        ),
        description="y = f + ∫_0^t cos(t-s) e^{-t} y(s) ds on [0, 8]; y = sin 2t + cos t",
        kernel_kind="function",
        kernel_data=(k_cos_exp,),
        f=lambda t: (
            np.sin(2.0 * t)
            + np.cos(t)
            + np.exp(-t)
            * (-3.0 * t * np.cos(t) - 3.0 * np.sin(t) - 4.0 * np.cos(t) + 4.0 * np.cos(2.0 * t))
            / 6.0
        ),
        exact=lambda t: np.sin(2.0 * t) + np.cos(t),
        t0=0.0,
        t_end=8.0,
        tags=frozenset({"nonconvolution", "linear", "real", "constructed"}),
    )
)

# --- 8. 2x2 system, non-convolution kernel (constructed) ----------------------
_add(
    Problem(
        name="system2_nonconv",
        citation=(
            "Constructed (make_problems.py): exact y = (cos t, exp(-t/2)) chosen, "
            "f derived with SymPy"
        ),
        description=(
            "y = f + ∫_0^t [[e^{-(t-s)}, -ts/2], [1, cos(t-s)]] y(s) ds on [0, 3]; "
            "y = (cos t, e^{-t/2})"
        ),
        kernel_kind="function",
        kernel_data=(k_system_nonconv,),
        f=lambda t: _stack(
            -(t**2) * np.exp(-t / 2)
            + 2 * t
            - 2 * t * np.exp(-t / 2)
            + 0.5 * (np.cos(t) - np.sin(t))
            + 0.5 * np.exp(-t),
            -1.8 * np.sin(t) - 0.4 * np.cos(t) + 1.4 * np.exp(-t / 2),
        ),
        exact=lambda t: _stack(np.cos(t), np.exp(-np.asarray(t, dtype=float) / 2)),
        t0=0.0,
        t_end=3.0,
        dim=2,
        tags=frozenset({"system", "nonconvolution", "linear", "real", "constructed"}),
    )
)

# --- 9. 2x2 system, convolution kernel (constructed) --------------------------
_add(
    Problem(
        name="system2_conv",
        citation=(
            "Constructed (make_problems.py): exact y = (1 + sin t, exp(-t)) chosen, "
            "f derived with SymPy"
        ),
        description=(
            "y = f + ∫_0^t k(t-s) y(s) ds, k(u) = [[-u, 1/2], [-1/2, e^{-u}]] on [0, 4]; "
            "y = (1 + sin t, e^{-t})"
        ),
        kernel_kind="convolution",
        kernel_data=(k_system_conv,),
        f=lambda t: _stack(
            0.5 * t**2 + t + 0.5 + 0.5 * np.exp(-t),
            (1.0 - t) * np.exp(-t) + 0.5 * (t - np.cos(t) + 1.0),
        ),
        exact=lambda t: _stack(1.0 + np.sin(t), np.exp(-np.asarray(t, dtype=float))),
        t0=0.0,
        t_end=4.0,
        dim=2,
        tags=frozenset({"system", "convolution", "linear", "real", "constructed"}),
    )
)

# --- 10. complex convolution kernel -------------------------------------------
_W, _L = COMPLEX_OMEGA, COMPLEX_LAMBDA
_add(
    Problem(
        name="complex_rotation",
        citation=(
            "Constructed by Laplace transform: k(u) = iλ e^{iωu}, f = 1 give "
            "Y = (p - iω) / (p (p - i(ω+λ))), hence y = (ω + λ e^{i(ω+λ)t}) / (ω+λ); "
            "ω = 2, λ = 1"
        ),
        description="y = 1 + ∫_0^t i e^{2i(t-s)} y(s) ds on [0, 6]; y = (2 + e^{3it})/3",
        kernel_kind="convolution",
        kernel_data=(k_complex_rot,),
        f=lambda t: np.ones_like(np.asarray(t, dtype=float)) + 0j,
        exact=lambda t: (_W + _L * np.exp(1j * (_W + _L) * np.asarray(t, dtype=float))) / (_W + _L),
        t0=0.0,
        t_end=6.0,
        is_complex=True,
        tags=frozenset({"complex", "convolution", "linear", "oscillatory", "constructed"}),
    )
)

# --- 11. oscillatory sine kernel ----------------------------------------------
_add(
    Problem(
        name="oscillatory_sin",
        citation=(
            "Constructed by Laplace transform: k(u) = -λ sin(ωu), f = 1 give "
            "Y = (p^2 + ω^2) / (p (p^2 + ω^2 + λω)), hence "
            "y = (ω + λ cos(Ωt)) / (ω + λ), Ω = sqrt(ω(ω+λ)); ω = 20, λ = 5"
        ),
        description=(
            "y = 1 - 5 ∫_0^t sin(20(t-s)) y(s) ds on [0, 3]; y = (20 + 5 cos(Ωt))/25, Ω = √500"
        ),
        kernel_kind="convolution",
        kernel_data=(k_osc_sin,),
        f=lambda t: np.ones_like(np.asarray(t, dtype=float)),
        exact=lambda t: (
            (OSC_OMEGA + OSC_LAMBDA * np.cos(OSC_BIG_OMEGA * np.asarray(t, float)))
            / (OSC_OMEGA + OSC_LAMBDA)
        ),
        t0=0.0,
        t_end=3.0,
        tags=frozenset({"oscillatory", "convolution", "linear", "real", "constructed"}),
    )
)

# --- 12. nonlinear: y = 1 + ∫ y^2, y = 1/(1 - t) --------------------------------
_add(
    Problem(
        name="riccati_square",
        citation=(
            "Classical: equivalent to the Riccati IVP y' = y^2, y(0) = 1, whose solution "
            "1/(1-t) blows up at t = 1; used on [0, 1/2]"
        ),
        description="y = 1 + ∫_0^t y(s)^2 ds on [0, 0.5]; y = 1/(1-t)",
        kernel_kind="convolution",
        kernel_data=(k_one,),
        f=lambda t: np.ones_like(np.asarray(t, dtype=float)),
        exact=lambda t: 1.0 / (1.0 - np.asarray(t, dtype=float)),
        t0=0.0,
        t_end=0.5,
        nonlinearity=g_square,
        tags=frozenset({"nonlinear", "convolution", "real", "classical"}),
    )
)

# --- 13. nonlinear: G = exp(-y), y = -log(2 + sin t) ----------------------------
_add(
    Problem(
        name="exp_minus_y",
        citation=(
            "Constructed (make_problems.py): exact y = -log(2 + sin t) chosen, so that "
            "exp(-y) = 2 + sin t integrates in closed form; f = y - (2t + 1 - cos t). "
            "(The classical y = ∫ exp(-y) ds, y = log(1 + t), was not used: its log "
            "singularity at t = -1 keeps gregory6 pre-asymptotic down to round-off.)"
        ),
        description=(
            "y = -log(2 + sin t) - 2t - 1 + cos t + ∫_0^t exp(-y(s)) ds on [0, 10]; "
            "y = -log(2 + sin t)"
        ),
        kernel_kind="convolution",
        kernel_data=(k_one,),
        f=lambda t: -np.log(2.0 + np.sin(t)) - 2.0 * t - 1.0 + np.cos(t),
        exact=lambda t: -np.log(2.0 + np.sin(t)),
        t0=0.0,
        t_end=10.0,
        nonlinearity=g_exp_minus,
        tags=frozenset({"nonlinear", "convolution", "real", "oscillatory", "constructed"}),
    )
)

# --- 14. nonlinear, non-convolution: K = t, G = y^3, y = exp(-t) ---------------
_add(
    Problem(
        name="cubic_nonconv",
        citation="Constructed (make_problems.py): exact y = exp(-t) chosen, f derived with SymPy",
        description="y = e^{-t} - t/3 + t e^{-3t}/3 + ∫_0^t t y(s)^3 ds on [0, 2]; y = e^{-t}",
        kernel_kind="function",
        kernel_data=(k_t,),
        f=lambda t: np.exp(-t) - t / 3.0 + t * np.exp(-3.0 * t) / 3.0,
        exact=lambda t: np.exp(-np.asarray(t, dtype=float)),
        t0=0.0,
        t_end=2.0,
        nonlinearity=g_cube,
        tags=frozenset({"nonlinear", "nonconvolution", "real", "constructed"}),
    )
)

# --- 15/16. history from -inf: k(u) = e^{-u}/2, y = cos t ----------------------
for _kind in ("y", "contribution"):
    _add(
        Problem(
            name=f"history_exp_cos_{_kind}",
            citation=(
                "Constructed (make_problems.py): y = cos t on the whole line; "
                "∫_{-∞}^t e^{-(t-s)} cos s ds = (cos t + sin t)/2, "
                "H(t) = ∫_{-∞}^0 e^{-(t-s)} cos s ds / 2 = e^{-t}/4"
            ),
            description=(
                "y = (3 cos t - sin t)/4 + ∫_{-∞}^t e^{-(t-s)}/2 y(s) ds on [0, 8]; "
                f"y = cos t; history passed as History({_kind}=...)"
            ),
            kernel_kind="convolution",
            kernel_data=(k_hist_exp,),
            f=lambda t: 0.75 * np.cos(t) - 0.25 * np.sin(t),
            exact=lambda t: np.cos(t),
            t0=0.0,
            t_end=8.0,
            history_kind=_kind,
            history_y=lambda s: np.cos(s),
            history_h=lambda t: 0.25 * np.exp(-np.asarray(t, dtype=float)),
            tags=frozenset(
                {"history", f"history_{_kind}", "convolution", "linear", "real", "constructed"}
            ),
        )
    )

# --- 17/18. history from -inf: k(u) = u e^{-u}, y = exp(s) before t0 = 0 and
#            y = exp(-3t/10) after (decaying in both directions) -----------------
for _kind in ("y", "contribution"):
    _add(
        Problem(
            name=f"history_texp_decay_{_kind}",
            citation=(
                "Constructed (make_problems.py): history y(s) = e^{s} for s < 0, solution "
                "y(t) = e^{-0.3t} for t >= 0 (continuous at 0, both bounded); "
                "H(t) = ∫_{-∞}^0 (t-s) e^{-(t-s)} e^{s} ds = (2t + 1) e^{-t}/4, "
                "f derived with SymPy. ∫_0^∞ k = 1: the resolvent has a neutral (constant) mode"
            ),
            description=(
                "y = f + ∫_{-∞}^t (t-s) e^{-(t-s)} y(s) ds on [0, 6], y(s) = e^s for s < 0; "
                f"y = e^{{-0.3t}}; history passed as History({_kind}=...)"
            ),
            kernel_kind="convolution",
            kernel_data=(k_hist_texp,),
            f=lambda t: (
                13.0 / 14.0 * t * np.exp(-t)
                + 351.0 / 196.0 * np.exp(-t)
                - 51.0 / 49.0 * np.exp(-0.3 * t)
            ),
            exact=lambda t: np.exp(-0.3 * np.asarray(t, dtype=float)),
            t0=0.0,
            t_end=6.0,
            history_kind=_kind,
            history_y=lambda s: np.exp(s),
            history_h=lambda t: (2.0 * t + 1.0) * np.exp(-t) / 4.0,
            tags=frozenset(
                {
                    "history",
                    f"history_{_kind}",
                    "convolution",
                    "linear",
                    "real",
                    "decaying",
                    "constructed",
                }
            ),
        )
    )


# --- 19. kink along s = 2t on [-2, 0] ------------------------------------------
_SIN4, _COS4 = math.sin(4.0), math.cos(4.0)


def _f_kink_2t(t):
    t = np.asarray(t, dtype=float)
    common = t * np.sin(2.0 * t) + 0.5 * np.cos(2.0 * t)
    # t <= -1: the breakpoint 2t lies left of t0 = -2, only the right piece is active.
    early = common + 2.0 * (t + 1.0) * _SIN4 + 0.5 * _COS4
    # t >= -1: both pieces, split at s = 2t.
    late = common + np.cos(4.0 * t) - 2.0 * (t + 1.0) * _SIN4 - 0.5 * _COS4
    return np.where(t <= -1.0, early, late)


_add(
    Problem(
        name="kink_2t",
        citation=(
            "Constructed (make_problems.py): kernel 2|2t - s| on t in [-2, 0]; the "
            "breakpoint s = 2t enters [t0, t] at t = -1 (before that it lies left of t0 and "
            "must be clipped); exact y = cos 2t chosen, f derived with SymPy on both sides "
            "of t = -1"
        ),
        description=(
            "y = f + ∫_{-2}^t 2|2t - s| y(s) ds on [-2, 0] as Piecewise([2(2t-s), 2(s-2t)], "
            "[s = 2t]); y = cos 2t"
        ),
        kernel_kind="piecewise",
        kernel_data=((k_kink_left, k_kink_right), (beta_2t,)),
        f=_f_kink_2t,
        exact=lambda t: np.cos(2.0 * np.asarray(t, dtype=float)),
        t0=-2.0,
        t_end=0.0,
        tags=frozenset({"breakpoint", "kink", "linear", "real", "constructed"}),
    )
)

# --- 20. jump along s = t/2 on [0, 4] ------------------------------------------
_add(
    Problem(
        name="jump_half",
        citation=(
            "Constructed (make_problems.py): kernel e^{-(t-s)} for s < t/2 and cos(t-s)/2 for "
            "s > t/2 (a jump along s = t/2); exact y = 1 + sin t chosen, f derived with SymPy"
        ),
        description=(
            "y = f + ∫_0^t K(t,s) y(s) ds on [0, 4], K = e^{-(t-s)} (s < t/2), cos(t-s)/2 "
            "(s > t/2); y = 1 + sin t"
        ),
        kernel_kind="piecewise",
        kernel_data=((k_jump_left, k_jump_right), (beta_half,)),
        # sympy; sqrt(2) cos(t/2 + pi/4)/2 = (cos(t/2) - sin(t/2))/2
        f=lambda t: (
            -t * np.sin(t) / 8.0
            - np.sin(t / 2.0) / 2.0
            + np.sin(t)
            + np.cos(t) / 8.0
            + 7.0 / 8.0
            + np.exp(-t) / 2.0
            + np.exp(-t / 2.0) * (np.cos(t / 2.0) - np.sin(t / 2.0)) / 2.0
            - np.exp(-t / 2.0)
        ),
        exact=lambda t: 1.0 + np.sin(t),
        t0=0.0,
        t_end=4.0,
        tags=frozenset({"breakpoint", "jump", "linear", "real", "constructed"}),
    )
)

# --- 21. ExpSum, real, one growing term (mu < 0) -------------------------------
_ES_R = ([0.5, 0.3], [0.0, -0.2], [1.0, -0.5])
_add(
    Problem(
        name="expsum_real",
        citation=(
            "Constructed (make_problems.py): K = 0.5 e^{-(t-s)} + 0.3 e^{-0.2t + 0.5(t-s)} "
            "(second term grows with t - s but is bounded by 0.3 e^{1.2} on [0, 4]); "
            "exact y = cos t, "
            "f = y - Re Σ_k w_k e^{λ_k t} (e^{it} - e^{-μ_k t})/(μ_k + i)"
        ),
        description="ExpSum(weights=[0.5, 0.3], lam=[0, -0.2], mu=[1, -0.5]) on [0, 4]; y = cos t",
        kernel_kind="expsum",
        kernel_data=_ES_R,
        f=lambda t: np.cos(t) - _expsum_exp_integral(*_ES_R, 1j, t).real,
        exact=lambda t: np.cos(t),
        t0=0.0,
        t_end=4.0,
        tags=frozenset({"expsum", "nonconvolution", "linear", "real", "constructed"}),
    )
)

# --- 22. ExpSum, complex ------------------------------------------------------------
_ES_C = ([0.5, 0.3j], [0.1j, 0.0], [1.0 + 2.0j, -0.3 + 1.0j])
_C_C = -0.5 + 1.5j
_add(
    Problem(
        name="expsum_complex",
        citation=(
            "Constructed (make_problems.py): complex ExpSum kernel, one term with Re mu < 0; "
            "exact y = exp((-1/2 + 3i/2) t), "
            "f = y - Σ_k w_k e^{λ_k t} (e^{ct} - e^{-μ_k t})/(μ_k + c)"
        ),
        description=(
            "ExpSum(weights=[0.5, 0.3i], lam=[0.1i, 0], mu=[1+2i, -0.3+i]) on [0, 4]; "
            "y = exp((-0.5 + 1.5i) t)"
        ),
        kernel_kind="expsum",
        kernel_data=_ES_C,
        f=lambda t: np.exp(_C_C * np.asarray(t, float)) - _expsum_exp_integral(*_ES_C, _C_C, t),
        exact=lambda t: np.exp(_C_C * np.asarray(t, dtype=float)),
        t0=0.0,
        t_end=4.0,
        is_complex=True,
        tags=frozenset(
            {"expsum", "complex", "nonconvolution", "linear", "oscillatory", "constructed"}
        ),
    )
)

# ============================================================================
# Grids for the convergence test
# ============================================================================
# Calibrated against the solver (all methods, n = 10, 12, 14 times powers of two up
# to 1280): for each problem and method the coarsest n such that on n, 2n, 4n
#   * both observed orders are within ±0.15 of the method's order (the test allows
#     ±0.3, so there is margin for changes of the solver's error constants),
#   * the Richardson estimate is within a factor 3 of the true error,
#   * the finest error is at least 5x above the round-off guard
#     30 eps sqrt(N) max(1, max|y|) of the test (riccati_square gregory6 and
#     expsum_real gregory6 needed ±0.25 / ±0.2: their asymptotic regime is short).
# Trapezoidal grids start at n >= 20 although n = 10 already qualified.
_CALIBRATED_GRIDS: dict[str, tuple[int, int, int]] = {
    # name: (trapezoidal, gregory4, gregory6) coarsest number of intervals n; grids n, 2n, 4n
    "conv_cos": (20, 20, 28),
    "wazwaz_exp2t": (20, 24, 56),
    "conv_exp_linear": (20, 28, 56),
    "wazwaz_cosh": (20, 10, 24),
    "wazwaz_exp_sin": (20, 14, 28),
    "nonconv_s_exp": (20, 96, 56),
    "nonconv_cos_exp": (20, 28, 80),
    "system2_nonconv": (24, 40, 48),
    "system2_conv": (20, 20, 40),
    "complex_rotation": (20, 28, 40),
    "oscillatory_sin": (48, 160, 160),
    "riccati_square": (20, 20, 40),
    "exp_minus_y": (20, 14, 28),
    "cubic_nonconv": (20, 40, 80),
    "history_exp_cos_y": (20, 40, 80),
    "history_exp_cos_contribution": (20, 40, 80),
    "history_texp_decay_y": (20, 40, 80),
    "history_texp_decay_contribution": (20, 40, 80),
    "kink_2t": (20, 28, 48),
    "jump_half": (20, 14, 28),
    "expsum_real": (20, 192, 40),
    "expsum_complex": (20, 80, 40),
}


def _with_grids(p: Problem) -> Problem:
    return replace(
        p,
        grids={
            method: (n, 2 * n, 4 * n)
            for method, n in zip(METHOD_ORDERS, _CALIBRATED_GRIDS[p.name], strict=True)
        },
    )


_P[:] = [_with_grids(p) for p in _P]

PROBLEMS: dict[str, Problem] = {p.name: p for p in _P}
assert len(PROBLEMS) == len(_P), "duplicate problem names"


def problem(name: str) -> Problem:
    """The catalogue entry called ``name``."""
    return PROBLEMS[name]


def problem_ids(tag: str | None = None, exclude: tuple[str, ...] = ()) -> list[str]:
    """Names of the problems carrying ``tag`` (all if ``None``) and none of ``exclude``."""
    return [p.name for p in _P if (tag is None or tag in p.tags) and not (set(exclude) & p.tags)]
