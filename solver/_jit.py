"""Evaluate user functions on arrays of points: with NumPy, compiled, or point by point.

A user's function (a kernel ``k(t, s)`` or ``k(u)``, a forcing ``f(t)``, a
breakpoint ``beta(t)``, a history ``phi(s)``, a nonlinearity ``G(s, y)``) is
written for one point; many also accept NumPy arrays (``lambda t, s: -(t - s)``
does). :class:`Evaluator` calls it on ``n`` points given as arrays, in one of
three ways chosen by the ``vectorized`` setting of the current solve
(:func:`vectorization`, the ``vectorized=`` argument of
:func:`solver.solve_volterra`):

``None`` (detect)
    A kernel already compiled with Numba is used compiled. Any other function is
    called once on the arrays of its first evaluation with at least three
    distinct points, and at a few of those points one by one; if the array
    call gives the same values in an array of the right shape (``n`` values,
    either axis order for systems, or one value, which is then broadcast as a
    constant), the function is evaluated with NumPy from then on. If the array
    call raises one of :data:`NOT_VECTORISABLE` or disagrees, it is evaluated
    point by point: kernels and histories compiled with Numba (``compile=True``:
    they are evaluated O(N^2) times), the other functions in a Python loop
    (O(N) values). Calls on fewer points, before the decision, are made point
    by point in Python.
``True``
    Trusted to accept arrays: always called on arrays; an output of the wrong
    shape is a ValueError naming the function and the shapes.
``False``
    A scalar function: evaluated point by point, compiled with Numba where
    ``compile=True`` (a Python loop, with a warning, where Numba cannot
    compile it).

Any other error raised by the user's function propagates at once; it is never
caught and retried.
"""

from __future__ import annotations

import contextvars
import functools
import sys
import warnings
import weakref
from collections.abc import Callable

import numpy as np

__all__ = ["Evaluator", "not_vectorisable", "is_jitted", "vectorization", "with_vectorized", "jit"]

#: errors that mean "this function does not accept arrays" when raised by a call on arrays
#: of a function that has just succeeded on single points: NumPy's TypeError for
#: ``math.exp(array)`` / ``float(array)``, ValueError for the truth value of an array
#: (``if t > s``) or a ragged ``np.array([[array, 1.0], ...])``, and Numba's errors when a
#: jitted helper inside the function cannot take arrays.
#: (Numba is imported only when something is compiled: ``import solver`` stays light.)


def not_vectorisable() -> tuple[type[BaseException], ...]:
    """The exception types of :data:`NOT_VECTORISABLE` (Numba's only once Numba is loaded)."""
    if "numba" in sys.modules:
        from numba.core.errors import NumbaError

        return (TypeError, ValueError, NumbaError)
    return (TypeError, ValueError)


def is_jitted(fn) -> bool:
    """True if ``fn`` is a Numba dispatcher (without importing Numba for the question)."""
    if "numba" not in sys.modules:
        return False
    from numba.core.registry import CPUDispatcher

    return isinstance(fn, CPUDispatcher)


def __getattr__(name: str):
    if name == "NOT_VECTORISABLE":
        return not_vectorisable()
    raise AttributeError(name)


_VECTORIZED: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "solver_vectorized", default=None
)

# a function is only tested on arrays when the call has at least this many points
_DETECT_MIN = 3
# agreement asked of the array call with the point-by-point calls (NumPy's vectorised
# loops and its scalar path may differ by a few units in the last place)
_AGREE_RTOL = 1e-9


def check_vectorized(vectorized) -> bool | None:
    """``vectorized`` validated: None, True or False."""
    if vectorized is None or isinstance(vectorized, bool | np.bool_):
        return None if vectorized is None else bool(vectorized)
    raise TypeError(f"vectorized must be None, True or False, got {vectorized!r}")


class vectorization:
    """Context manager: evaluate user functions with the given ``vectorized`` setting."""

    def __init__(self, vectorized: bool | None):
        self.value = check_vectorized(vectorized)
        self._token = None

    def __enter__(self):
        self._token = _VECTORIZED.set(self.value)
        return self

    def __exit__(self, *exc):
        _VECTORIZED.reset(self._token)
        return False


def with_vectorized(func: Callable) -> Callable:
    """Decorator: run ``func`` under :class:`vectorization` of its ``vectorized=`` keyword."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with vectorization(kwargs.get("vectorized")):
            return func(*args, **kwargs)

    return wrapper


def jit(fn: Callable) -> Callable:
    """``fn`` compiled lazily with Numba (unchanged if already jitted)."""
    if is_jitted(fn):
        return fn
    import numba

    return numba.njit(fn)


# -- shapes of one value -------------------------------------------------------------------


def _value_ok(shape: tuple[int, ...], value: str | tuple[int, ...]) -> bool:
    if isinstance(value, tuple):
        return shape == value
    if value == "kernel":
        return shape == () or (len(shape) == 2 and shape[0] == shape[1])
    return len(shape) <= 1  # "vector"


def _check_value(v: np.ndarray, value, what: str) -> tuple[int, ...]:
    """The shape of one value ``v`` of the function, checked."""
    if v.dtype.kind not in "biufc":
        raise TypeError(f"{what} must return numbers, got dtype {v.dtype}")
    if isinstance(value, tuple):
        if v.size == int(np.prod(value)):
            return value  # e.g. shape (1,) for a scalar value: reshaped
        raise ValueError(f"{what} must return values of shape {value}, got shape {v.shape}")
    if not _value_ok(v.shape, value):
        kind = "a square (d, d) array" if value == "kernel" else "a 1-D array"
        raise ValueError(f"{what} must return a scalar or {kind}, got shape {v.shape}")
    return v.shape


def _float_dtype(*dtypes) -> type:
    return np.complex128 if any(np.dtype(d).kind == "c" for d in dtypes) else np.float64


# -- the three ways of evaluating ----------------------------------------------------------


def _point(args: tuple, i: int, python: bool) -> tuple:
    """The arguments at point ``i`` (the point axis is the last one of each array)."""
    return tuple(a[..., i] if a.ndim > 1 else (a[i].item() if python else a[i]) for a in args)


def _loop(fn, args, n, value, what, python: bool) -> np.ndarray:
    """``fn`` called point by point."""
    vals = [np.asarray(fn(*_point(args, i, python))) for i in range(n)]
    if not vals:
        return np.zeros((0,) + (value if isinstance(value, tuple) else ()))
    shape = _check_value(vals[0], value, what)
    out = np.empty((n,) + shape, dtype=_float_dtype(*(v.dtype for v in vals)))
    for i, v in enumerate(vals):
        if v.size != out[i].size:
            raise ValueError(
                f"{what} returned values of different shapes: {vals[0].shape} and {v.shape}"
            )
        out[i] = v.reshape(shape)
    return out


class _Vectorised:
    """A function evaluated on arrays, its output layout known."""

    mode = "numpy"

    def __init__(self, fn, what, elem, layout):
        self.fn, self.what, self.elem, self.layout = fn, what, elem, layout

    def __call__(self, args, n):
        return self.finish(np.asarray(self.fn(*args)), n)

    def finish(self, v: np.ndarray, n: int) -> np.ndarray:
        elem = self.elem
        if v.dtype.kind not in "biufc":
            raise TypeError(f"{self.what} must return numbers, got dtype {v.dtype}")
        dtype = _float_dtype(v.dtype)
        if self.layout == "trailing" and v.shape == elem + (n,):
            return np.moveaxis(v, -1, 0).astype(dtype)
        if v.shape == (n,) + elem:
            return v.astype(dtype, copy=False)
        if v.shape == elem:  # one value for all points: a constant
            return np.broadcast_to(v, (n,) + elem).astype(dtype)
        expected = [(n,) + elem] + ([elem + (n,)] if elem else []) + [elem]
        raise ValueError(
            f"{self.what}: for arguments of shape ({n},) it returned shape {v.shape}; "
            f"expected {' or '.join(map(str, expected))} (or pass vectorized=False for a "
            "function of single points)"
        )


def _layout_of(v: np.ndarray, n: int, value, what: str) -> tuple[tuple[int, ...], str]:
    """Value shape and axis order of the first output of a trusted vectorised function."""
    s = v.shape
    if isinstance(value, tuple):
        for layout, ok in (("leading", s == (n,) + value), ("trailing", s == value + (n,))):
            if ok:
                return value, layout
        if s == value:
            return value, "constant"
    else:
        if s[:1] == (n,) and _value_ok(s[1:], value):
            return s[1:], "leading"
        if s[-1:] == (n,) and _value_ok(s[:-1], value):
            return s[:-1], "trailing"
        if _value_ok(s, value):
            return s, "constant"
    one = {"kernel": "a scalar or a (d, d) array", "vector": "a scalar or a (d,) array"}
    one = f"shape {value}" if isinstance(value, tuple) else one[value]
    raise ValueError(
        f"{what}: vectorized=True, but for arguments of shape ({n},) it returned shape {s}; "
        f"expected ({n},) + the shape of one value ({one}), the same with the point axis "
        "last, or one value for all points"
    )


def _agrees(v, ref, scale) -> bool:
    v = np.asarray(v)
    if ref.size != v.size:
        return False
    ref = ref.reshape(v.shape)
    both_nan = np.isnan(v) & np.isnan(ref)
    with np.errstate(invalid="ignore"):
        ok = (v == ref) | (np.abs(v - ref) <= _AGREE_RTOL * scale)
    return bool(np.all(ok | both_nan))


class Evaluator:
    """``fn`` evaluated at ``n`` points given as arrays (see the module docstring).

    Parameters
    ----------
    fn
        The user's function of one point.
    what
        Its name in error messages (``"kernel"``, ``"f"``, ...).
    value
        The shape of one value: ``"kernel"`` (a scalar or a square ``(d, d)``
        array), ``"vector"`` (a scalar or ``(d,)``), or a known shape tuple.
    compile
        Evaluate point by point with Numba (kernels) rather than a Python loop.

    Calling the evaluator with arrays ``(x1, x2, ...)`` (each 1-D of length
    ``n``, or with the point axis last) returns an array of shape
    ``(n,) + value shape``, float64 or complex128.
    """

    def __init__(self, fn: Callable, what: str, *, value="kernel", compile: bool = False):
        self.fn, self.what, self.value, self.compile = fn, what, value, compile
        self._ways: dict = {}  # vectorized setting -> how to evaluate, once decided
        self.mode: str | None = None
        """How the last evaluation went: "numpy", "numba", "python" (None: not decided yet)."""

    def __call__(self, *args: np.ndarray) -> np.ndarray:
        if self.compile:
            # as in their compiled form, NaN or inf in kernel values raise no NumPy warnings
            # (the solver reports them with the point where they occur)
            with np.errstate(all="ignore"):
                return self._call(args)
        return self._call(args)

    def _call(self, args: tuple) -> np.ndarray:
        n = args[0].shape[-1]
        if n == 0:
            return np.zeros((0,) + (self.value if isinstance(self.value, tuple) else ()))
        setting = _VECTORIZED.get()
        way = self._ways.get(setting)
        first_output = None
        if way is None:
            way, first_output = self._decide(setting, args, n)
            if way is None:  # not decided on this call: point by point
                return _loop(self.fn, args, n, self.value, self.what, python=False)
            self._ways[setting] = way
        self.mode = way.mode
        if first_output is not None:  # the array call that decided is the evaluation
            return way.finish(first_output, n)
        return way(args, n)

    def _decide(self, setting, args, n):
        """How to evaluate with this setting, and the array output if one was computed."""
        if setting is True:
            v = np.asarray(self.fn(*args))
            elem, layout = _layout_of(v, n, self.value, self.what)
            return _Vectorised(self.fn, self.what, elem, layout), v
        if setting is False or (self.compile and is_jitted(self.fn)):
            return self._pointwise(args), None  # (a jitted kernel is used as it is)
        # detect, comparing with calls on NumPy scalars (which follow the rules of arrays:
        # x / 0 is inf, (-1) ** 0.5 is nan)
        if n < _DETECT_MIN or not any(_varies(a) for a in args):
            return None, None  # too few distinct points to tell a constant from a reduction
        first = args[0]
        idx = sorted({0, n // 2, n - 1, int(np.argmin(first)), int(np.argmax(first))})
        ref = [np.asarray(self.fn(*_point(args, i, False))) for i in idx]  # errors propagate
        elem = _check_value(ref[0], self.value, self.what)
        try:
            v = np.asarray(self.fn(*args))
        except not_vectorisable():
            return self._pointwise(args), None
        layout = _matching_layout(v, n, elem, idx, ref)
        if layout is None:
            return self._pointwise(args), None
        return _Vectorised(self.fn, self.what, elem, layout), v

    def _pointwise(self, args):
        if self.compile:
            return _compiled(self.fn, self.what, _point(args, 0, True), self.value)
        return _PythonLoop(self.fn, self.what, self.value, python=False)


def _varies(a: np.ndarray) -> bool:
    flat = a.reshape(-1)
    return bool(flat.size and np.any(flat != flat[0]))


def _matching_layout(v, n, elem, idx, ref) -> str | None:
    """The layout in which the array output ``v`` agrees with the values ``ref`` at ``idx``."""
    if v.dtype.kind not in "biufc":
        return None
    finite = [np.abs(r[np.isfinite(r)]) for r in ref]
    scale = max((float(np.max(a)) for a in finite if a.size), default=0.0)
    for layout, shape in (("leading", (n,) + elem), ("trailing", elem + (n,)), ("constant", elem)):
        if v.shape != shape:
            continue
        pick = {"leading": lambda i: v[i], "trailing": lambda i: v[..., i]}.get(layout, lambda i: v)
        if all(_agrees(pick(i), r, scale) for i, r in zip(idx, ref, strict=True)):
            return layout
    return None


class _PythonLoop:
    mode = "python"

    def __init__(self, fn, what, value, python):
        self.fn, self.what, self.value, self.python = fn, what, value, python

    def __call__(self, args, n):
        return _loop(self.fn, args, n, self.value, self.what, self.python)


# -- compiled evaluation (kernels) ---------------------------------------------------------


class _Compiled:
    mode = "numba"

    def __init__(self, ev, elem):
        self.ev, self.elem = ev, elem

    def __call__(self, args, n):
        args = [np.ascontiguousarray(a, dtype=float) for a in args]
        out = self.ev(args[0], args[0]) if len(args) == 1 else self.ev(*args)
        return out.reshape((n,) + self.elem)


def _pair_loop(jf, dtype, shape: tuple[int, ...]):
    """A jitted loop filling an array of shape ``(n,) + shape`` with ``jf(t[i], s[i])``."""
    import numba

    @numba.njit(nogil=True)
    def ev(t, s):
        out = np.empty((t.size,) + shape, dtype)
        for i in range(t.size):
            out[i] = jf(t[i], s[i])
        return out

    return ev


# compiled evaluators, kept as long as the user's function lives (so that solving again
# with the same function does not compile again)
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled(fn: Callable, what: str, probe: tuple, value):
    """The compiled point-by-point evaluation of ``fn`` (cached per function and arity)."""
    try:
        return _COMPILED[fn][len(probe)]
    except (KeyError, TypeError):
        pass
    way = _build_compiled(fn, what, probe, value)
    try:
        _COMPILED.setdefault(fn, {})[len(probe)] = way
    except TypeError:  # not weak-referenceable
        pass
    return way


def _build_compiled(fn: Callable, what: str, probe: tuple, value):
    # the output type is learnt from one call at a point where the function is used
    from numba.core.errors import NumbaError

    jf = jit(fn)
    try:
        v = np.asarray(jf(*probe))
    except NumbaError as exc:
        warnings.warn(
            f"{what} {getattr(fn, '__qualname__', fn)!r}: Numba could not compile the function "
            f"({type(exc).__name__}); evaluating it point by point in a Python loop, which is "
            "much slower (a function that accepts NumPy arrays avoids this)",
            stacklevel=6,
        )
        return _PythonLoop(fn, what, value, python=True)
    elem = _check_value(v, value, what)
    dtype = _float_dtype(v.dtype)
    if len(probe) == 2:
        return _Compiled(_pair_loop(jf, dtype, v.shape), elem)
    # a function of one argument reuses the pair loop with a dummy second argument
    import numba

    return _Compiled(_pair_loop(numba.njit(lambda t, s: jf(t)), dtype, v.shape), elem)
