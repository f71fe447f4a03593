"""Kernels K(t, s) of Volterra equations, with their declared structure.

A kernel is handed to :func:`solver.solve_volterra` either as a plain
function ``k(t, s)`` (evaluated on NumPy arrays when it accepts them,
otherwise compiled with Numba) or as one of the classes here,
which tell the solver what it may exploit:

``General(k)``
    any smooth kernel; the solver evaluates it on the grid (O(N^2) work).
``Convolution(k)``
    ``K(t, s) = k(t - s)``; only ``N`` kernel values are needed and the
    history sums are discrete convolutions.
``ExpSum(weights, lam, mu)``
    ``K(t, s) = sum_k weights[k] exp(lam[k] t - mu[k] (t - s))`` with complex
    coefficients: a sum of products ``a(t) b(s)``, stepped with running sums
    in O(N) work per term.
``Damped(k, mu)``
    ``K(t, s) = exp(-mu (t - s)) k(t, s)`` with ``k`` smooth: the exponential
    is integrated exactly, so the step follows the smoothness of ``k y``;
    works on graded (non-uniform) grids.
``Piecewise(pieces, breakpoints)``
    ``K = pieces[i]`` between the breakpoints ``s = beta_{i-1}(t)`` and
    ``s = beta_i(t)``; each piece must be smooth across its breakpoints (a
    smooth extension), so the quadrature can be split there without losing
    order. Used for kernels with a kink or a jump along ``s = beta(t)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

# Small complex matrix-vector products use einsum, not BLAS: a multithreaded zgemv
# of (n, 4) x (4,) can take milliseconds when the cores are busy (thread contention).
from . import _jit

__all__ = [
    "Kernel",
    "General",
    "Convolution",
    "ExpSum",
    "Piecewise",
    "Damped",
    "as_kernel",
]


class Kernel:
    """Base class. A kernel evaluates ``K(t_i, s_i)`` on arrays of pairs."""

    def evaluate(self, t: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Values ``K(t[i], s[i])``; shape ``t.shape`` or ``t.shape + (d, d)``."""
        raise NotImplementedError

    @property
    def pieces(self) -> tuple[Kernel, ...]:
        return (self,)

    @property
    def breakpoints(self) -> tuple[Callable[[np.ndarray], np.ndarray], ...]:
        return ()

    def __call__(self, t, s):
        t = np.asarray(t, dtype=float)
        s = np.asarray(s, dtype=float)
        tb, sb = np.broadcast_arrays(t, s)
        v = self.evaluate(tb.ravel(), sb.ravel())
        return v.reshape(tb.shape + v.shape[1:])


class General(Kernel):
    """A general smooth kernel ``K(t, s)``.

    Parameters
    ----------
    k
        ``k(t, s)`` returning a float, a complex number or a ``(d, d)`` array
        for systems. A function that accepts NumPy arrays is evaluated on
        arrays; any other is compiled with Numba (it must then use only NumPy
        or ``math`` functions of scalars); an already-jitted function is used
        as it is.
    """

    def __init__(self, k: Callable):
        if isinstance(k, Kernel):
            raise TypeError("kernel: General() takes a function k(t, s), not a Kernel")
        if not callable(k):
            raise TypeError(f"kernel must be callable k(t, s), got {type(k).__name__}")
        self.k = k
        self._eval = _jit.Evaluator(k, "kernel", value="kernel", compile=True)

    def evaluate(self, t, s):
        t = np.asarray(t, float)
        s = np.asarray(s, float)
        v = self._eval(t.ravel(), s.ravel())
        return v.reshape(t.shape + v.shape[1:])


class Convolution(Kernel):
    """A convolution kernel ``K(t, s) = k(t - s)``.

    Parameters
    ----------
    k
        ``k(u)`` for ``u = t - s >= 0``; float, complex or ``(d, d)`` array;
        evaluated on arrays when it accepts them, else compiled with Numba.
    """

    def __init__(self, k: Callable):
        if not callable(k):
            raise TypeError(f"kernel: Convolution needs a callable k(u), got {type(k).__name__}")
        self.k = k
        self._eval = _jit.Evaluator(k, "kernel", value="kernel", compile=True)

    def evaluate_lag(self, u: np.ndarray) -> np.ndarray:
        """Values ``k(u)`` on an array of lags."""
        u = np.asarray(u, float)
        v = self._eval(u.ravel())
        return v.reshape(u.shape + v.shape[1:])

    def evaluate(self, t, s):
        return self.evaluate_lag(np.asarray(t, float) - np.asarray(s, float))


@dataclass(frozen=True, eq=False)
class ExpSum(Kernel):
    """Sum of exponentials ``K(t, s) = sum_k w_k exp(lam_k t - mu_k (t - s))``.

    Each term is evaluated as one exponential of the combined exponent, so
    factors like ``exp(lam t)`` that would overflow on their own never appear.
    Terms with ``Re mu < 0`` grow with ``t - s``; they are allowed (the running
    sums are anchored where they are bounded) as long as the kernel itself
    stays bounded on the domain.

    For a system of ``dim`` equations, term ``k`` sits in entry
    ``(rows[k], cols[k])`` of the ``(dim, dim)`` kernel matrix (entries may
    hold several terms, absent entries are zero).

    Parameters
    ----------
    weights, lam, mu
        1-D arrays of equal length, real or complex.
    rows, cols, dim
        For systems: integer arrays of the same length with entries in
        ``[0, dim)``, and the number of equations. All None for a scalar kernel.
    """

    weights: np.ndarray
    lam: np.ndarray
    mu: np.ndarray
    rows: np.ndarray | None = None
    cols: np.ndarray | None = None
    dim: int | None = None
    _complex: bool = field(init=False, repr=False)

    def __post_init__(self):
        arrs = []
        for name in ("weights", "lam", "mu"):
            a = np.atleast_1d(np.asarray(getattr(self, name)))
            if a.ndim != 1:
                raise ValueError(f"ExpSum: {name} must be 1-D, got shape {a.shape}")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"ExpSum: {name} must be finite")
            arrs.append(a.astype(complex))
        if not (arrs[0].size == arrs[1].size == arrs[2].size):
            raise ValueError(
                "ExpSum: weights, lam and mu must have equal lengths, got "
                f"{arrs[0].size}, {arrs[1].size}, {arrs[2].size}"
            )
        given = [x is not None for x in (self.rows, self.cols, self.dim)]
        if any(given) and not all(given):
            raise ValueError("ExpSum: give rows, cols and dim together (a system) or none")
        if all(given):
            dim = self.dim
            if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
                raise ValueError(f"ExpSum: dim must be a positive integer, got {dim!r}")
            idx = []
            for name in ("rows", "cols"):
                a = np.atleast_1d(np.asarray(getattr(self, name)))
                if a.shape != arrs[0].shape or a.dtype.kind not in "iu":
                    raise ValueError(
                        f"ExpSum: {name} must be integers, one per term ({arrs[0].size})"
                    )
                if np.any((a < 0) | (a >= dim)):
                    raise ValueError(f"ExpSum: {name} must lie in [0, dim) = [0, {dim})")
                a = a.astype(np.int64)
                a.setflags(write=False)
                idx.append(a)
            object.__setattr__(self, "rows", idx[0])
            object.__setattr__(self, "cols", idx[1])
            object.__setattr__(self, "dim", int(dim))
        keys = arrs if self.rows is None else [*arrs, self.rows, self.cols]
        is_complex = any(np.any(a.imag != 0) for a in arrs) and not _conjugate_pairs(*keys)
        for name, a in zip(("weights", "lam", "mu"), arrs, strict=True):
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        object.__setattr__(self, "_complex", bool(is_complex))

    @property
    def is_complex(self) -> bool:
        """True unless the terms are real or come in complex-conjugate pairs."""
        return self._complex

    @property
    def is_system(self) -> bool:
        """True for a ``(dim, dim)`` kernel matrix."""
        return self.rows is not None

    def evaluate(self, t, s):
        t = np.asarray(t, float)
        s = np.asarray(s, float)
        if not self.is_system:
            out = _expsum_eval(t.ravel(), s.ravel(), self.weights, self.lam, self.mu)
            out = out.reshape(t.shape)
            return out if self._complex else out.real
        d = self.dim
        onehot = np.zeros((self.weights.size, d * d), dtype=complex)
        onehot[np.arange(self.weights.size), self.rows * d + self.cols] = self.weights
        tt, ss = t.ravel(), s.ravel()
        with np.errstate(over="ignore", invalid="ignore"):
            z = np.multiply.outer(tt, self.lam) - np.multiply.outer(tt - ss, self.mu)
            out = np.einsum("nk,kq->nq", np.exp(z), onehot)
        out = out.reshape(t.shape + (d, d))
        return out if self._complex else out.real


def _conjugate_pairs(w: np.ndarray, lam: np.ndarray, mu: np.ndarray, *where) -> bool:
    """True if every term has its complex conjugate among the terms (a real kernel).

    ``where``: the terms' entries (rows, cols) of a system kernel, which must match too.
    """
    keys = [(w[k], lam[k], mu[k], *(a[k] for a in where)) for k in range(w.size)]
    unused = list(range(len(keys)))
    for k in range(len(keys)):
        if k not in unused:
            continue
        unused.remove(k)
        if all(np.imag(x) == 0 for x in keys[k]):
            continue
        target = tuple(np.conj(x) for x in keys[k])
        match = [
            m
            for m in unused
            if all(abs(a - b) <= 1e-14 * (1 + abs(b)) for a, b in zip(keys[m], target, strict=True))
        ]
        if not match:
            return False
        unused.remove(match[0])
    return True


def _expsum_eval(t, s, w, lam, mu, chunk: int = 4096):
    """``Σ_k w_k exp(λ_k t_i − μ_k (t_i − s_i))`` for all pairs (complex), in chunks."""
    out = np.empty(t.size, dtype=np.complex128)
    # (a Piecewise kernel's pieces are also evaluated beyond their breakpoints, where a
    # growing term may overflow: those values carry zero weight, as with compiled code)
    with np.errstate(over="ignore", invalid="ignore"):
        for a in range(0, t.size, chunk):
            tt, ss = t[a : a + chunk], s[a : a + chunk]
            z = np.multiply.outer(tt, lam) - np.multiply.outer(tt - ss, mu)
            out[a : a + chunk] = np.einsum("ik,k->i", np.exp(z), w)
    return out


class Piecewise(Kernel):
    """A kernel made of smooth pieces separated by breakpoints ``s = beta_i(t)``.

    ``K(t, s) = pieces[0](t, s)`` for ``s < beta_0(t)``, ``pieces[1](t, s)``
    for ``beta_0(t) < s < beta_1(t)``, ..., ``pieces[-1](t, s)`` for
    ``s > beta_{-1}(t)``. Each piece must be smooth on the whole plane (a
    smooth extension across its breakpoints): the solver splits the
    quadrature at ``beta_i(t)`` and interpolates each piece's integrand with
    grid points that may lie a few steps across the breakpoint.

    Parameters
    ----------
    pieces
        ``len(breakpoints) + 1`` kernels (functions ``k(t, s)`` or Kernel objects).
    breakpoints
        Functions ``beta_i(t)``, vectorised over NumPy arrays or not, with
        ``beta_0(t) <= beta_1(t) <= ...``. Breakpoints outside ``[t0, t]``
        are clipped. Monotone non-decreasing breakpoints allow the fast
        running-sum path for :class:`ExpSum` pieces.
    """

    def __init__(self, pieces: Sequence, breakpoints: Sequence[Callable]):
        pieces = [as_kernel(p) for p in pieces]
        breakpoints = list(breakpoints)
        if len(pieces) != len(breakpoints) + 1:
            raise ValueError(
                "Piecewise: need len(pieces) == len(breakpoints) + 1, got "
                f"{len(pieces)} pieces and {len(breakpoints)} breakpoints"
            )
        for b in breakpoints:
            if not callable(b):
                raise TypeError("Piecewise: every breakpoint must be a function beta(t)")
        for p in pieces:
            if isinstance(p, Piecewise):
                raise TypeError("Piecewise: pieces cannot themselves be Piecewise")
        self._pieces = tuple(pieces)
        self._breakpoints = tuple(breakpoints)
        self._beta = tuple(
            _jit.Evaluator(b, f"kernel: breakpoint {i}", value=())
            for i, b in enumerate(breakpoints)
        )

    @property
    def pieces(self):
        return self._pieces

    @property
    def breakpoints(self):
        return self._breakpoints

    def breakpoint_values(self, t: np.ndarray) -> np.ndarray:
        """Array of shape ``(len(breakpoints), len(t))`` of ``beta_i(t)``."""
        t = np.asarray(t, float).ravel()
        out = np.empty((len(self._breakpoints), t.size))
        for i, beta in enumerate(self._beta):
            out[i] = np.asarray(beta(t), dtype=float)
        if not np.all(np.isfinite(out)):
            raise ValueError("kernel: a breakpoint beta(t) returned NaN or inf")
        if out.shape[0] > 1 and np.any(np.diff(out, axis=0) < 0):
            raise ValueError("kernel: breakpoints must be ordered beta_0(t) <= beta_1(t) <= ...")
        return out

    def breakpoint_indices(self, t: np.ndarray) -> np.ndarray:
        """Breakpoints on a uniform grid in index units, clipped to ``[0, n]`` for row ``n``.

        Shape ``(len(breakpoints), len(t))``; ``(beta_i(t_n) - t_0)/h``.
        """
        t = np.asarray(t, float)
        h = (t[-1] - t[0]) / (t.size - 1)
        idx = (self.breakpoint_values(t) - t[0]) / h
        return np.clip(idx, 0.0, np.arange(t.size, dtype=float)[None, :])

    def evaluate(self, t, s):
        t = np.asarray(t, float).ravel()
        s = np.asarray(s, float).ravel()
        beta = self.breakpoint_values(t)
        idx = np.sum(s[None, :] > beta, axis=0)
        first = self._pieces[0].evaluate(t[:1], s[:1])
        out = np.zeros((t.size,) + first.shape[1:], dtype=np.result_type(first, float))
        for i, p in enumerate(self._pieces):
            sel = idx == i
            if np.any(sel):
                v = p.evaluate(t[sel], s[sel])
                if np.iscomplexobj(v) and not np.iscomplexobj(out):
                    out = out.astype(complex)
                out[sel] = v
        return out


class Damped(Kernel):
    """A kernel with a known exponential factor, ``K(t, s) = e^{-mu (t - s)} k(t, s)``.

    The factor is integrated exactly (exponential product integration), so the
    grid only has to resolve the smooth part ``k(t, s) y(s)``, however large
    ``mu``; cells farther back than ``40 / Re mu`` are skipped. Works on uniform
    and non-uniform (graded) grids.

    Parameters
    ----------
    k
        The smooth part: a function ``k(t, s)`` or a Kernel (not Piecewise).
    mu
        The rate, ``Re mu >= 0``.
    """

    def __init__(self, k, mu: complex):
        k = as_kernel(k)
        if k.breakpoints:
            raise TypeError("Damped: the smooth part cannot have breakpoints")
        mu = complex(mu)
        if not (np.isfinite(mu.real) and np.isfinite(mu.imag)) or mu.real < 0:
            raise ValueError(f"Damped: mu must be finite with Re mu >= 0, got {mu}")
        self.smooth = k
        self.mu = mu

    def evaluate(self, t, s):
        t = np.asarray(t, float)
        s = np.asarray(s, float)
        v = self.smooth.evaluate(t, s)
        fac = np.exp(-self.mu * (t - s))
        if self.mu.imag == 0:
            fac = fac.real
        return v * fac.reshape(fac.shape + (1,) * (v.ndim - fac.ndim))


def as_kernel(kernel) -> Kernel:
    """Turn a plain function ``k(t, s)`` into :class:`General`; pass kernels through."""
    if isinstance(kernel, Kernel):
        return kernel
    if callable(kernel):
        return General(kernel)
    raise TypeError(
        "kernel must be a function k(t, s) or a solver.kernels.Kernel "
        f"(General, Convolution, ExpSum, Piecewise), got {type(kernel).__name__}"
    )
