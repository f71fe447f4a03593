"""Sweep configurations: TOML files describing parameter grids, validated up front.

A *sweep* evaluates :func:`cooperon.compare_values` -- F(0) of Eq. (24) solved
directly against the closed forms (27) and (32) -- on the Cartesian product of
one-dimensional axes in the five model parameters of :class:`cooperon.Parameters`
(r₁ = τ/τ₁, r₃ = τ/τ₃, ε = Eτ/ħ, g = γτ/ħ, Q = Dq²τ).  Its configuration is a
TOML document (read with :mod:`tomllib`, hence Python ≥ 3.11; on Python 3.10
the ``tomli`` package is used if it is installed):

.. code-block:: toml

    rtol = 1e-6            # requested relative accuracy of the direct F(0)
    chunks = 8             # points per chunk along every axis (or a table per axis)

    [axes.tau_over_tau3]   # one table per swept parameter, in dimension order
    start = 1e-3
    stop = 0.5
    num = 32
    scale = "log"          # or "linear" (the default)

    [axes.gamma_tau]
    values = [0.01, 0.1, 1.0, 10.0]   # explicit values instead of start/stop/num

    [fixed]                # the other parameters (default 0)
    Dq2_tau = 1e-2

Everything is checked *before* any work starts: unknown keys and parameter
names, empty axes (``num = 0``, ``values = []``), non-finite or non-increasing
values, a log axis with ``start <= 0``, values outside the valid region of
the model (negative rates; r₁ + r₃ > 1 at any point of the grid, Eq. 20), a
parameter given both as an axis and as fixed, a bad ``rtol`` or ``chunks``.
Each failure is a :class:`ValueError` whose message starts with the dotted
key, e.g. ``"axes.gamma_tau.start: a log axis needs start > 0 (got 0.0)"``.

The breakdown maps of ``cooperon map`` (:mod:`cooperon.studies.maps`) use a file with
several such sweeps, one per ``[maps.NAME]`` table (see
``cooperon/default_map.toml``); :func:`parse_maps_config` reads it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from ..parameters import SUM_SLACK, Parameters

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    try:
        import tomli as tomllib
    except ImportError:  # pragma: no cover
        tomllib = None

__all__ = [
    "PARAMETER_NAMES",
    "AxisSpec",
    "SweepConfig",
    "MapSpec",
    "MapsConfig",
    "load_toml",
    "parse_sweep_config",
    "parse_maps_config",
    "load_sweep_config",
    "load_maps_config",
]

#: The five swept/fixed parameters, in the order of :class:`Parameters`.
PARAMETER_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Parameters))

#: Accepted range of ``rtol`` (that of :func:`cooperon.solve_direct`).
RTOL_RANGE: tuple[float, float] = (1e-13, 0.1)

_SCALES = ("linear", "log")
_SWEEP_KEYS = ("axes", "fixed", "rtol", "chunks")
_MAP_KEYS = (*_SWEEP_KEYS, "title", "x", "y", "x_label", "y_label", "fit")
_FIT_KEYS = ("max_dev", "min_lambda_over_Q")


# ---------------------------------------------------------------------------
# small checkers: each raises ValueError("<key>: <what is wrong>")
# ---------------------------------------------------------------------------


def _err(key: str, msg: str) -> ValueError:
    return ValueError(f"{key}: {msg}")


def _real(key: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise _err(key, f"must be a real number (got {value!r})")
    x = float(value)
    if not math.isfinite(x):
        raise _err(key, f"must be finite (got {x!r})")
    return x


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise _err(key, f"must be an integer (got {value!r})")
    if int(value) < 1:
        raise _err(key, f"must be ≥ 1 (got {value!r})")
    return int(value)


def _table(key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _err(key, f"must be a table (got {type(value).__name__} {value!r})")
    return value


def _unknown_keys(prefix: str, table: Mapping[str, Any], allowed: Sequence[str]) -> None:
    for k in table:
        if k not in allowed:
            raise _err(_join(prefix, k), f"unknown key (expected one of {', '.join(allowed)})")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _parameter_name(key: str, name: str) -> str:
    if name not in PARAMETER_NAMES:
        raise _err(
            key, f"unknown parameter {name!r} (expected one of {', '.join(PARAMETER_NAMES)})"
        )
    return name


def _check_rtol(key: str, value: Any) -> float:
    x = _real(key, value)
    lo, hi = RTOL_RANGE
    if not (lo <= x <= hi):
        raise _err(key, f"must lie in [{lo:g}, {hi:g}] (got {x!r})")
    return x


# ---------------------------------------------------------------------------
# axes
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AxisSpec:
    """One axis of a sweep: a parameter name and its strictly increasing values.

    Attributes
    ----------
    name : str
        One of :data:`PARAMETER_NAMES`.
    values : numpy.ndarray
        The grid values (1-D, float64, finite, strictly increasing).
    scale : str
        ``"log"`` or ``"linear"``: how the axis was generated (for
        ``values = [...]``: ``"log"`` if all values are > 0 and geometric
        spacing was requested, else ``"linear"``).  Figures and the boundary
        interpolation of :mod:`cooperon.studies.maps` use it.
    spec : dict
        The TOML form (``{"values": [...]}`` or start/stop/num/scale).
    """

    name: str
    values: np.ndarray
    scale: str = "linear"
    spec: dict = field(default_factory=dict)


def _detect_scale(vals: np.ndarray) -> str:
    """``"log"`` for ≥ 3 positive, geometrically spaced values, else ``"linear"``."""
    if vals.size >= 3 and (vals > 0).all():
        steps = np.diff(np.log(vals))
        if (steps > 0).all() and np.ptp(steps) <= 1e-6 * steps.mean():
            lin = np.diff(vals)
            if np.ptp(lin) > 1e-6 * lin.mean():  # not also (nearly) linear
                return "log"
    return "linear"


def _parse_axis(key: str, name: str, table: Any) -> AxisSpec:
    table = _table(key, table)
    if "values" in table:
        unknown = [k for k in table if k not in ("values", "scale", "start", "stop", "num")]
        if unknown:
            raise _err(
                _join(key, unknown[0]),
                "unknown key (with 'values' the only other key is 'scale')",
            )
        extra = [k for k in table if k not in ("values", "scale")]
        if extra:
            raise _err(
                _join(key, extra[0]), "give either 'values' or 'start', 'stop', 'num', not both"
            )
        raw = table["values"]
        if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
            raise _err(_join(key, "values"), f"must be a list of numbers (got {raw!r})")
        if len(raw) == 0:
            raise _err(_join(key, "values"), "empty axis (no values)")
        vals = np.array([_real(f"{key}.values[{i}]", v) for i, v in enumerate(raw)])
        scale = table.get("scale", _detect_scale(vals))
        if scale not in _SCALES:
            raise _err(_join(key, "scale"), f"must be one of {_SCALES} (got {scale!r})")
        if scale == "log" and (vals <= 0).any():
            i = int(np.argmax(vals <= 0))
            raise _err(f"{key}.values[{i}]", f"a log axis needs values > 0 (got {vals[i]!r})")
        if vals.size > 1 and not (np.diff(vals) > 0).all():
            i = int(np.argmax(np.diff(vals) <= 0)) + 1
            raise _err(f"{key}.values[{i}]", "values must be strictly increasing")
        spec: dict[str, Any] = {"values": [float(v) for v in vals]}
        if "scale" in table:
            spec["scale"] = scale
        return AxisSpec(name, vals, scale, spec)

    _unknown_keys(key, table, ("start", "stop", "num", "scale", "values"))
    for k in ("start", "stop", "num"):
        if k not in table:
            raise _err(_join(key, k), "missing (give 'values' or 'start', 'stop', 'num')")
    start = _real(_join(key, "start"), table["start"])
    stop = _real(_join(key, "stop"), table["stop"])
    num_raw = table["num"]
    if isinstance(num_raw, (bool, np.bool_)) or not isinstance(num_raw, numbers.Integral):
        raise _err(_join(key, "num"), f"must be an integer (got {num_raw!r})")
    num = int(num_raw)
    if num < 1:
        raise _err(_join(key, "num"), f"empty axis (num = {num}; need num ≥ 1)")
    scale = table.get("scale", "linear")
    if scale not in _SCALES:
        raise _err(_join(key, "scale"), f"must be one of {_SCALES} (got {scale!r})")
    if scale == "log":
        if start <= 0:
            raise _err(_join(key, "start"), f"a log axis needs start > 0 (got {start!r})")
        if stop <= 0:
            raise _err(_join(key, "stop"), f"a log axis needs stop > 0 (got {stop!r})")
    if num > 1 and not stop > start:
        raise _err(_join(key, "stop"), f"must be > start = {start!r} (got {stop!r})")
    if num == 1 and stop != start:
        raise _err(_join(key, "stop"), f"with num = 1, stop must equal start (got {stop!r})")
    if scale == "log":
        vals = np.geomspace(start, stop, num)
    else:
        vals = np.linspace(start, stop, num)
    vals[0], vals[-1] = start, stop  # exact end points
    spec = {"start": start, "stop": stop, "num": num, "scale": scale}
    return AxisSpec(name, vals.astype(float), scale, spec)


def _axis_key(axis: AxisSpec, prefix: str, which: str) -> str:
    """Dotted key of the smallest (``which="min"``) or largest value of an axis."""
    if "values" in axis.spec:
        i = 0 if which == "min" else len(axis.values) - 1
        return f"{prefix}.{axis.name}.values[{i}]"
    return f"{prefix}.{axis.name}.{'start' if which == 'min' else 'stop'}"


# ---------------------------------------------------------------------------
# a single sweep
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SweepConfig:
    """A validated sweep: axes (in dimension order), fixed parameters, rtol, chunks.

    Build it with :func:`parse_sweep_config` (from a TOML table),
    :func:`load_sweep_config` (from a file) or :meth:`from_arrays`.

    Attributes
    ----------
    axes : tuple of AxisSpec
        The swept parameters, in the order of the output dimensions.
    fixed : dict
        Every parameter that is not an axis, name → value (default 0).
    rtol : float
        Requested relative accuracy of the direct F(0) of Eq. (24).
    chunks : dict or None
        Chunk size per axis name (points per chunk along it); ``None`` lets
        :func:`cooperon.sweep` choose.
    """

    axes: tuple[AxisSpec, ...]
    fixed: dict[str, float]
    rtol: float = 1e-8
    chunks: dict[str, int] | None = None

    # -- views ---------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        """Axis (dimension) names, in order."""
        return tuple(a.name for a in self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        """Grid shape (one entry per axis)."""
        return tuple(a.values.size for a in self.axes)

    def axis(self, name: str) -> AxisSpec:
        """The axis named ``name``."""
        for a in self.axes:
            if a.name == name:
                return a
        raise KeyError(name)

    def axis_values(self) -> dict[str, np.ndarray]:
        """name → values of every axis."""
        return {a.name: a.values for a in self.axes}

    # -- construction --------------------------------------------------------

    @classmethod
    def from_arrays(
        cls,
        axes: Mapping[str, Any],
        fixed: Mapping[str, float] | None = None,
        rtol: float = 1e-8,
        chunks: int | Mapping[str, int] | Sequence[int] | None = None,
        *,
        check_region: bool = False,
    ) -> SweepConfig:
        """Validate axes given as arrays (the arguments of :func:`cooperon.sweep`).

        With ``check_region=False`` (the default, as used by ``sweep``) points
        outside the valid region of the model are allowed and become
        ``status = 3`` in the output; everything else is checked as for a file.
        """
        if not isinstance(axes, Mapping):
            raise _err("axes", f"must be a mapping name -> 1-D array (got {type(axes).__name__})")
        table: dict[str, Any] = {"axes": {}, "rtol": rtol}
        for name, vals in axes.items():
            key = f"axes.{name}"
            _parameter_name(key, name)
            arr = np.asarray(vals)
            if arr.ndim != 1:
                raise _err(f"{key}.values", f"must be 1-D (got shape {arr.shape})")
            table["axes"][name] = {"values": list(arr.tolist())}
        if fixed is not None:
            table["fixed"] = dict(fixed)
        if chunks is not None:
            if isinstance(chunks, Sequence) and not isinstance(chunks, str):
                if len(chunks) != len(table["axes"]):
                    raise _err("chunks", f"needs one entry per axis (got {list(chunks)!r})")
                chunks = dict(zip(table["axes"], chunks, strict=True))
            table["chunks"] = dict(chunks) if isinstance(chunks, Mapping) else chunks
        return parse_sweep_config(table, check_region=check_region)

    # -- output --------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """This configuration as a TOML-ready table (``rtol``, ``chunks``, ``axes``, ``fixed``)."""
        table: dict[str, Any] = {"rtol": self.rtol}
        if self.chunks is not None:
            table["chunks"] = dict(self.chunks)
        table["axes"] = {a.name: dict(a.spec) for a in self.axes}
        if self.fixed:
            table["fixed"] = dict(self.fixed)
        return table

    def to_toml(self) -> str:
        """This configuration as TOML text (re-reads to the same grid, exactly)."""
        return tomli_w.dumps(self.to_dict())

    def canonical(self, chunks: Mapping[str, int] | None = None) -> dict[str, Any]:
        """JSON-able identity of the computation (exact floats as hex strings).

        Two configurations with the same canonical form compute the same
        numbers, point for point: the axes (order and values), all five
        parameters (non-axis ones default to 0), ``rtol``, the chunking
        (the resumable store is organised by chunks) and the per-point outputs
        (a store written by a version with other outputs cannot be resumed).
        """
        from .comparison import VARIABLE_NAMES

        fixed = {n: self.fixed.get(n, 0.0) for n in PARAMETER_NAMES if n not in self.names}
        return {
            "axes": [[a.name, [float(v).hex() for v in a.values]] for a in self.axes],
            "fixed": {k: float(v).hex() for k, v in fixed.items()},
            "rtol": float(self.rtol).hex(),
            "chunks": dict(chunks) if chunks is not None else self.chunks,
            "outputs": list(VARIABLE_NAMES),
        }

    def fingerprint(self, chunks: Mapping[str, int] | None = None) -> str:
        """SHA-256 of :meth:`canonical` (identifies a resumable store's sweep)."""
        text = json.dumps(self.canonical(chunks), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def replace(self, **changes: Any) -> SweepConfig:
        """A copy with some fields replaced (not re-validated: use with care)."""
        return dataclasses.replace(self, **changes)


def parse_sweep_config(
    table: Mapping[str, Any],
    *,
    prefix: str = "",
    defaults: Mapping[str, Any] | None = None,
    check_region: bool = True,
    allowed_keys: Sequence[str] = _SWEEP_KEYS,
) -> SweepConfig:
    """Validate a sweep table (the parsed TOML) and return a :class:`SweepConfig`.

    Parameters
    ----------
    table
        Mapping with ``axes`` (required), ``fixed``, ``rtol``, ``chunks``.
    prefix
        Dotted key of ``table`` in the whole document, used in messages
        (e.g. ``"maps.r3_g"``).
    defaults
        Values of ``rtol`` / ``chunks`` used when ``table`` lacks them.
    check_region
        Refuse grids that leave the valid region of the model (negative
        parameters, r₁ + r₃ > 1 at some grid point, Eq. 20).
    allowed_keys
        Keys accepted in ``table`` (others are refused as unknown).

    Returns
    -------
    SweepConfig

    Raises
    ------
    ValueError
        For the first problem found; the message starts with its dotted key.
    """
    table = _table(prefix or "<config>", table)
    _unknown_keys(prefix, table, allowed_keys)
    defaults = dict(defaults or {})

    if "axes" not in table:
        raise _err(_join(prefix, "axes"), "missing (a sweep needs at least one axis)")
    axes_tab = _table(_join(prefix, "axes"), table["axes"])
    if len(axes_tab) == 0:
        raise _err(_join(prefix, "axes"), "no axes given")
    axes = []
    for name, sub in axes_tab.items():
        key = _join(prefix, f"axes.{name}")
        _parameter_name(key, name)
        axes.append(_parse_axis(key, name, sub))

    fixed: dict[str, float] = {}
    if "fixed" in table:
        fixed_tab = _table(_join(prefix, "fixed"), table["fixed"])
        for name, v in fixed_tab.items():
            key = _join(prefix, f"fixed.{name}")
            _parameter_name(key, name)
            if name in axes_tab:
                raise _err(key, f"{name} is also an axis (axes.{name}); give it only once")
            fixed[name] = _real(key, v)

    rtol = _check_rtol(_join(prefix, "rtol"), table.get("rtol", defaults.get("rtol", 1e-8)))

    chunks_raw = table.get("chunks", defaults.get("chunks"))
    chunks: dict[str, int] | None
    if chunks_raw is None:
        chunks = None
    elif isinstance(chunks_raw, Mapping):
        chunks = {}
        for name, v in chunks_raw.items():
            key = _join(prefix, f"chunks.{name}")
            if name not in axes_tab:
                raise _err(key, f"not an axis (axes are {', '.join(axes_tab)})")
            chunks[name] = _positive_int(key, v)
    else:
        n = _positive_int(_join(prefix, "chunks"), chunks_raw)
        chunks = {a.name: n for a in axes}

    cfg = SweepConfig(tuple(axes), fixed, rtol, chunks)
    if check_region:
        _check_region(cfg, prefix)
    return cfg


def _check_region(cfg: SweepConfig, prefix: str) -> None:
    """Refuse a grid with any point outside the valid region (see Parameters)."""
    lo: dict[str, tuple[float, str]] = {}
    hi: dict[str, tuple[float, str]] = {}
    for a in cfg.axes:
        lo[a.name] = (float(a.values.min()), _axis_key(a, _join(prefix, "axes"), "min"))
        hi[a.name] = (float(a.values.max()), _axis_key(a, _join(prefix, "axes"), "max"))
    for name, v in cfg.fixed.items():
        key = _join(prefix, f"fixed.{name}")
        lo[name] = hi[name] = (v, key)
    for name in PARAMETER_NAMES:
        if name in lo and lo[name][0] < 0.0:
            raise _err(lo[name][1], f"{name} must be ≥ 0 (got {lo[name][0]!r})")
    r1, k1 = hi.get("tau_over_tau1", (0.0, ""))
    r3, k3 = hi.get("tau_over_tau3", (0.0, ""))
    if r1 + r3 > 1.0 + SUM_SLACK:
        # name the key of a swept parameter if there is one (that is what to change)
        axis_names = cfg.names
        key = k3 if "tau_over_tau3" in axis_names or not k1 else k1
        if "tau_over_tau1" in axis_names and "tau_over_tau3" not in axis_names:
            key = k1
        raise _err(
            key,
            f"tau_over_tau1 + tau_over_tau3 reaches {r1 + r3!r} > 1 on the grid "
            f"(max r1 = {r1!r}, max r3 = {r3!r}); the elastic weight 1 - r1 - r3 of "
            "Eq. (20) cannot be negative",
        )


# ---------------------------------------------------------------------------
# maps: several sweeps in one file
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MapSpec:
    """One breakdown map: a two-axis sweep with its plotting roles.

    Attributes
    ----------
    name : str
        Used for file names (``NAME.zarr``, ``NAME.nc``, ``NAME.png``).
    title : str
        Human-readable description.
    sweep : SweepConfig
        The sweep (exactly two axes).
    x, y : str
        Which axis is plotted horizontally / vertically.  The breakdown
        boundary is y as a function of x (the y value where |dev| first
        exceeds a threshold, scanning y upwards).
    x_label, y_label : str or None
        Axis labels overriding the default symbol of the parameter
        (e.g. ``"$\\lambda_{max} = r_3$"`` for the (λ_max, Q) map).
    fit_max_dev, fit_min_lambda_over_Q : float
        Selection of the points of the scaling fit |dev| ≈ C λ_max^a
        (:func:`cooperon.studies.maps.fit_scaling`): |dev| < ``fit_max_dev`` and
        λ_max ≥ ``fit_min_lambda_over_Q`` · Q (TOML table ``[maps.NAME.fit]``
        with keys ``max_dev``, default 0.3, and ``min_lambda_over_Q``,
        default 0).
    """

    name: str
    title: str
    sweep: SweepConfig
    x: str
    y: str
    x_label: str | None = None
    y_label: str | None = None
    fit_max_dev: float = 0.3
    fit_min_lambda_over_Q: float = 0.0


@dataclass(frozen=True, eq=False)
class MapsConfig:
    """The maps of one ``cooperon map`` run, with the source TOML text."""

    maps: tuple[MapSpec, ...]
    text: str = ""
    source: str = "<string>"
    quick_num: int = 6

    def to_toml(self) -> str:
        """Equivalent TOML (resolved values; exact)."""
        maps: dict[str, Any] = {}
        for m in self.maps:
            table: dict[str, Any] = {"title": m.title, "x": m.x, "y": m.y}
            table.update({k: v for k, v in (("x_label", m.x_label), ("y_label", m.y_label)) if v})
            table["fit"] = {
                "max_dev": m.fit_max_dev,
                "min_lambda_over_Q": m.fit_min_lambda_over_Q,
            }
            maps[m.name] = {**table, **m.sweep.to_dict()}
        return tomli_w.dumps({"quick_num": self.quick_num, "maps": maps})

    def quick(self) -> MapsConfig:
        """A coarse version: every start/stop/num axis with ``num`` = :attr:`quick_num`.

        Explicit ``values`` axes are thinned to at most ``quick_num`` values
        (end points kept).  Each axis is cut into two chunks (so both
        workers of a 2-core machine have work); map names get the suffix
        ``_quick`` (so their stores and files do not clash with the full maps).
        """
        maps = []
        for m in self.maps:
            axes = []
            for a in m.sweep.axes:
                n = min(self.quick_num, a.values.size)
                if "values" in a.spec:
                    idx = np.unique(np.round(np.linspace(0, a.values.size - 1, n)).astype(int))
                    vals = a.values[idx]
                    spec = {**a.spec, "values": [float(v) for v in vals]}
                    axes.append(AxisSpec(a.name, vals, a.scale, spec))
                else:
                    spec = {**a.spec, "num": n}
                    axes.append(_parse_axis(f"maps.{m.name}.axes.{a.name}", a.name, spec))
            half = {a.name: max(1, (a.values.size + 1) // 2) for a in axes}
            sw = SweepConfig(tuple(axes), dict(m.sweep.fixed), m.sweep.rtol, half)
            maps.append(dataclasses.replace(m, name=f"{m.name}_quick", sweep=sw))
        return dataclasses.replace(self, maps=tuple(maps))

    def with_rtol(self, rtol: float) -> MapsConfig:
        """Every map with ``rtol`` replaced (validated)."""
        rtol = _check_rtol("--rtol", rtol)
        maps = tuple(dataclasses.replace(m, sweep=m.sweep.replace(rtol=rtol)) for m in self.maps)
        return dataclasses.replace(self, maps=maps)


def parse_maps_config(
    doc: Mapping[str, Any], *, text: str = "", source: str = "<string>"
) -> MapsConfig:
    """Validate a maps document (``[maps.NAME]`` tables) or a single sweep document.

    A document with an ``[axes]`` table and no ``[maps]`` is one map named
    ``source``'s stem (or ``"map"``); its first axis is y and its second x
    unless ``x``/``y`` are given.

    Top-level keys: ``rtol`` and ``chunks`` (defaults for every map),
    ``quick_num`` (grid size per axis of ``cooperon map --quick``), ``maps``.
    Each map: the keys of a sweep (``axes``, ``fixed``, ``rtol``,
    ``chunks``) plus ``title``, ``x``, ``y``, ``x_label``, ``y_label`` and a
    ``fit`` table (``max_dev``, ``min_lambda_over_Q``; see :class:`MapSpec`).
    Every map must have exactly two axes.

    Raises
    ------
    ValueError
        Naming the dotted key of the first problem.
    """
    doc = _table("<config>", doc)
    if "maps" not in doc and "axes" in doc:
        stem = Path(source).stem if source not in ("", "<string>") else "map"
        name = "".join(c if (c.isalnum() or c in "-_") else "_" for c in stem) or "map"
        doc = {"maps": {name: dict(doc)}}
    _unknown_keys("", doc, ("rtol", "chunks", "quick_num", "maps"))
    defaults: dict[str, Any] = {}
    if "rtol" in doc:
        defaults["rtol"] = _check_rtol("rtol", doc["rtol"])
    if "chunks" in doc:
        defaults["chunks"] = doc["chunks"]
    quick_num = _positive_int("quick_num", doc.get("quick_num", 6))
    if "maps" not in doc:
        raise _err("maps", "missing (give [maps.NAME] tables, or [axes.*] for a single map)")
    maps_tab = _table("maps", doc["maps"])
    if not maps_tab:
        raise _err("maps", "no maps given")
    maps = []
    for name, sub in maps_tab.items():
        key = f"maps.{name}"
        if not name or not all(c.isalnum() or c in "-_" for c in name):
            raise _err(key, "map names may contain only letters, digits, '-' and '_'")
        sub = _table(key, sub)
        cfg = parse_sweep_config(sub, prefix=key, defaults=defaults, allowed_keys=_MAP_KEYS)
        if len(cfg.axes) != 2:
            raise _err(f"{key}.axes", f"a map needs exactly two axes (got {len(cfg.axes)})")
        y = sub.get("y", cfg.names[0])
        x = sub.get("x", cfg.names[1] if y == cfg.names[0] else cfg.names[0])
        for k, v in (("x", x), ("y", y)):
            if v not in cfg.names:
                raise _err(f"{key}.{k}", f"must be one of the axes {cfg.names} (got {v!r})")
        if x == y:
            raise _err(f"{key}.x", f"x and y must be different axes (both {x!r})")
        labels = {}
        for k in ("title", "x_label", "y_label"):
            if k in sub and not isinstance(sub[k], str):
                raise _err(f"{key}.{k}", f"must be a string (got {sub[k]!r})")
            labels[k] = sub.get(k)
        fit_tab = _table(f"{key}.fit", sub.get("fit", {}))
        _unknown_keys(f"{key}.fit", fit_tab, _FIT_KEYS)
        max_dev = _real(f"{key}.fit.max_dev", fit_tab.get("max_dev", 0.3))
        if max_dev <= 0:
            raise _err(f"{key}.fit.max_dev", f"must be > 0 (got {max_dev!r})")
        ratio = _real(f"{key}.fit.min_lambda_over_Q", fit_tab.get("min_lambda_over_Q", 0.0))
        if ratio < 0:
            raise _err(f"{key}.fit.min_lambda_over_Q", f"must be ≥ 0 (got {ratio!r})")
        maps.append(
            MapSpec(
                name=name,
                title=labels["title"] or name,
                sweep=cfg,
                x=x,
                y=y,
                x_label=labels["x_label"],
                y_label=labels["y_label"],
                fit_max_dev=max_dev,
                fit_min_lambda_over_Q=ratio,
            )
        )
    return MapsConfig(tuple(maps), text=text, source=source, quick_num=quick_num)


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------


def load_toml(text: str, source: str = "<string>") -> dict[str, Any]:
    """Parse TOML text; a syntax error becomes a ValueError naming ``source``."""
    if tomllib is None:  # pragma: no cover - Python 3.10 without tomli
        raise RuntimeError("reading TOML needs Python ≥ 3.11 (tomllib) or the 'tomli' package")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: invalid TOML: {exc}") from None


def load_sweep_config(path: str | Path) -> SweepConfig:
    """Read and validate a single-sweep TOML file (see the module docstring)."""
    path = Path(path)
    return parse_sweep_config(load_toml(path.read_text(encoding="utf-8"), str(path)))


def load_maps_config(path: str | Path | None = None) -> MapsConfig:
    """Read and validate a maps TOML file; ``None`` reads the built-in default.

    The default is the package resource ``cooperon/default_map.toml``
    (loaded with :mod:`importlib.resources`).
    """
    if path is None:
        from importlib import resources

        text = resources.files("cooperon").joinpath("default_map.toml").read_text(encoding="utf-8")
        source = "cooperon/default_map.toml"
    else:
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        source = str(path)
    return parse_maps_config(load_toml(text, source), text=text, source=source)
