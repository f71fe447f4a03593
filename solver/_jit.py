"""Compile user functions with Numba and evaluate them on arrays.

User kernels are plain Python functions of scalars. They are compiled with
``numba.njit`` (or used as they are when already jitted) and wrapped in a
small jitted loop that fills an output array. When Numba cannot compile a
function, a NumPy-vectorised call is tried instead, then a Python loop.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable

import numba
import numpy as np
from numba.core.registry import CPUDispatcher

__all__ = ["pair_evaluator", "point_evaluator", "jit"]


def jit(fn: Callable) -> Callable:
    """``fn`` compiled lazily with Numba (unchanged if already jitted)."""
    if isinstance(fn, CPUDispatcher):
        return fn
    return numba.njit(fn)


def _probe(jf: Callable, args: tuple, what: str):
    """Call ``jf`` once to learn its output type; None if Numba cannot compile it."""
    try:
        return jf(*args)
    except (numba.core.errors.TypingError, numba.core.errors.UnsupportedError) as exc:
        warnings.warn(
            f"{what}: Numba could not compile the function ({type(exc).__name__}); "
            "falling back to NumPy evaluation, which is slower",
            stacklevel=4,
        )
        return None


def _out_spec(value, what: str) -> tuple[type, tuple[int, ...]]:
    v = np.asarray(value)
    if v.dtype.kind not in "biufc":
        raise TypeError(f"{what} must return numbers, got dtype {v.dtype}")
    dtype = np.complex128 if v.dtype.kind == "c" else np.float64
    if v.ndim == 0:
        return dtype, ()
    if v.ndim == 2 and v.shape[0] == v.shape[1]:
        return dtype, v.shape
    raise ValueError(f"{what} must return a scalar or a square (d, d) array, got shape {v.shape}")


def _pair_loop(jf, dtype, shape: tuple[int, ...]):
    """A jitted loop filling an array of shape ``(n,) + shape`` with ``jf(t[i], s[i])``."""

    @numba.njit(nogil=True)
    def ev(t, s):
        out = np.empty((t.size,) + shape, dtype)
        for i in range(t.size):
            out[i] = jf(t[i], s[i])
        return out

    return ev


def _numpy_fallback(fn, nargs: int, dtype, shape):
    def ev(*args):
        n = args[0].size
        try:
            v = np.asarray(fn(*args))
            if v.shape == (n,) + shape:
                return v.astype(dtype, copy=False)
            if shape and v.shape == shape + (n,):
                return np.moveaxis(v, -1, 0).astype(dtype, copy=False)
            if v.ndim == len(shape):
                return np.broadcast_to(v, (n,) + shape).astype(dtype)
        except Exception:
            pass
        out = np.empty((n,) + shape, dtype)
        for i in range(n):
            out[i] = fn(*(float(a[i]) for a in args))
        return out

    return ev


# compiled evaluators, kept as long as the user's function lives (so that solving again
# with the same function does not compile again)
_PAIR_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_POINT_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cached(cache, fn, build):
    try:
        return cache[fn]
    except (KeyError, TypeError):
        pass
    ev = build()
    try:
        cache[fn] = ev
    except TypeError:  # not weak-referenceable
        pass
    return ev


def pair_evaluator(
    fn: Callable, what: str, probe: tuple[float, float] = (0.0, 0.0)
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Evaluator ``ev(t, s) -> array`` of ``fn(t[i], s[i])`` on pair arrays (cached per ``fn``)."""
    return _cached(_PAIR_CACHE, fn, lambda: _build_pair_evaluator(fn, what, probe))


def point_evaluator(
    fn: Callable, what: str, probe: float = 0.0
) -> Callable[[np.ndarray], np.ndarray]:
    """Evaluator ``ev(u) -> array`` of ``fn(u[i])`` (cached per ``fn``)."""
    return _cached(_POINT_CACHE, fn, lambda: _build_point_evaluator(fn, what, probe))


def _build_pair_evaluator(fn: Callable, what: str, probe: tuple[float, float]):
    # the output type is learnt from one call at a point where the function is used
    jf = jit(fn)
    value = _probe(jf, probe, what)
    if value is None:
        value = fn(*probe)
        dtype, shape = _out_spec(value, what)
        return _numpy_fallback(fn, 2, dtype, shape)
    dtype, shape = _out_spec(value, what)
    return _pair_loop(jf, dtype, shape)


def _build_point_evaluator(fn: Callable, what: str, probe: float):
    jf = jit(fn)
    value = _probe(jf, (probe,), what)
    if value is None:
        value = fn(probe)
        dtype, shape = _out_spec(value, what)
        return _numpy_fallback(fn, 1, dtype, shape)
    dtype, shape = _out_spec(value, what)

    # reuse the pair loops with a dummy second argument
    jtwo = numba.njit(lambda t, s: jf(t))
    ev = _pair_loop(jtwo, dtype, shape)

    def ev1(u):
        return ev(u, u)

    return ev1
