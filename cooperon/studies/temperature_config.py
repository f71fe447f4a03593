"""Temperature scans: the TOML configurations of ``cooperon dephasing`` and ``cooperon magneto``.

A scan computes, for each of its models (defect ensembles of Sec. II C,
:mod:`cooperon.ensembles`), a set of quantities at every temperature of a
grid.  The configuration (read with :mod:`tomllib`):

.. code-block:: toml

    rtol = 1e-4          # absolute accuracy of ln(tau_phi/tau) (relative of tau_phi)
    chunks = 1           # temperatures per task
    max_history = 1e8    # longest history (units of tau) for the direct solution
    D = 1e-3             # diffusion constant (m^2/s), optional for `dephasing`

    [temperature]        # kelvin: start/stop/num (log-spaced unless scale = "linear")
    start = 1e-3         # or values = [...]
    stop = 10.0
    num = 40

    [models.sec3]        # one table per model; the name is used for file names
    kind = "tunneling"   # "tunneling" (Eq. 37), "glass" (Eq. 36), "gaussian_barrier" (Eq. 54)
    title = "Sec. III numbers"
    Lambda0 = 0.01       # K
    E_star = 1.0         # K
    chi = 0.1
    tau = 1e-13          # s
    tau_Lambda = 1e-9    # s; or tau_i (tau_Lambda = tau_i E_star/Lambda0, Eq. 43)

A model table may override ``temperature`` and ``D``.  The parameters of each
kind are those of its class in :mod:`cooperon.ensembles` (without ``T``):
``tunneling``: Lambda0, E_star, chi, tau and one of tau_Lambda, tau_i;
``glass``: E_star, p_min, chi, tau, tau_i; ``gaussian_barrier``: Lambda0,
E_star, chi, tau, one of tau_Lambda, tau_i, sigma_lambda and optionally omega0.

``cooperon magneto`` adds

.. code-block:: toml

    [fields]             # at each temperature B = x B_phi,(34)(T), x log-spaced
    min_over_B_phi = 0.01
    max_over_B_phi = 100.0
    num = 31

    [magneto]
    rtol = 1e-5          # relative accuracy of the magnetoconductance
    alpha_free = false   # fit the HLN prefactor as well

and requires D.  Everything is checked before any computation: unknown keys
(a typo), missing or non-numeric values, T ≤ 0, and every model is built at
every temperature of its grid, so that a parameter outside its range
(Λ₀ ≥ E*, p_min outside (0, 1), r₁ + r₃ > 1, ...) is refused with the
message of :mod:`cooperon.ensembles`.  Each failure is a :class:`ValueError`
whose message starts with the dotted key, e.g.
``"models.sec3.E_star: must lie in (Lambda0, ∞) = (0.01, ∞) ..."``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from .config import _err, _parse_axis, _positive_int, _real, _table, _unknown_keys, load_toml
from .options import add_run_arguments

__all__ = [
    "KINDS",
    "add_scan_arguments",
    "ModelScan",
    "ModelSpec",
    "ScanConfig",
    "load_scan_config",
    "parse_scan_config",
]


@dataclass(frozen=True)
class _Kind:
    cls: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    time_scale: bool = False  # one of tau_Lambda, tau_i (else tau_i is required)


#: The model kinds: their class in :mod:`cooperon.ensembles` and their parameters.
KINDS: dict[str, _Kind] = {
    "tunneling": _Kind("TunnelingModel", ("Lambda0", "E_star", "chi", "tau"), (), True),
    "glass": _Kind("GlassModel", ("E_star", "p_min", "chi", "tau", "tau_i")),
    "gaussian_barrier": _Kind(
        "GaussianBarrier", ("Lambda0", "E_star", "chi", "tau", "sigma_lambda"), ("omega0",), True
    ),
}

_STUDIES = ("dephasing", "magneto")
_TOP_KEYS = ("rtol", "chunks", "max_history", "D", "quick_num", "temperature", "models")
_MAGNETO_KEYS = ("fields", "magneto")
_FIELD_KEYS = ("min_over_B_phi", "max_over_B_phi", "num")
_MAGNETO_TABLE_KEYS = ("rtol", "alpha_free")
_MODEL_META = ("kind", "title", "temperature", "D")
#: Accepted ranges.
RTOL_RANGE = (1e-8, 1e-2)
MAGNETO_RTOL_RANGE = (1e-8, 1e-2)


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """A defect ensemble without its temperature: kind and parameters (physical units).

    Attributes
    ----------
    name, title, kind : str
    params : dict
        The constructor arguments of the ensemble class except ``T``, with
        ``tau_i`` resolved from ``tau_Lambda`` where that was given.
    given : dict
        The parameters as written (for the configuration echo and provenance).
    """

    name: str
    title: str
    kind: str
    params: dict[str, float]
    given: dict[str, float]

    def build(self, T: float):
        """The ensemble of :mod:`cooperon.ensembles` at temperature ``T`` (K)."""
        from .. import ensembles

        return getattr(ensembles, KINDS[self.kind].cls)(T=T, **self.params)

    @property
    def tau(self) -> float:
        """τ in seconds."""
        return self.params["tau"]

    @property
    def Lambda0(self) -> float | None:
        """Λ₀ (K) of Eqs. (37), (54); None for the glass model."""
        return self.params.get("Lambda0")

    @property
    def tau_Lambda(self) -> float | None:
        """τ_Λ = τᵢE*/Λ₀ (Eq. 43), None for the glass model."""
        L0 = self.Lambda0
        return None if L0 is None else self.params["tau_i"] * self.params["E_star"] / L0


@dataclass(frozen=True, eq=False)
class ModelScan:
    """One model over its temperature grid.

    Attributes
    ----------
    spec : ModelSpec
    T : numpy.ndarray
        The temperatures (K), strictly increasing.
    T_spec : dict
        The temperature table as resolved (TOML form).
    D : float or None
        Diffusion constant (m²/s).
    """

    spec: ModelSpec
    T: np.ndarray
    T_spec: dict
    D: float | None


@dataclass(frozen=True, eq=False)
class ScanConfig:
    """A validated temperature-scan configuration (see the module docstring)."""

    study: str
    scans: tuple[ModelScan, ...]
    rtol: float = 1e-4
    chunks: int = 1
    max_history: float = 1e8
    quick_num: int = 6
    fields: np.ndarray | None = None
    field_spec: dict = field(default_factory=dict)
    magneto_rtol: float = 1e-5
    alpha_free: bool = False
    text: str = ""
    source: str = "<string>"

    def scan_table(self, scan: ModelScan) -> dict[str, Any]:
        """The TOML-ready table of one model's scan (everything its numbers depend on)."""
        table: dict[str, Any] = {
            "study": self.study,
            "rtol": self.rtol,
            "chunks": self.chunks,
            "max_history": self.max_history,
            "temperature": dict(scan.T_spec),
            "model": {"kind": scan.spec.kind, **scan.spec.params},
        }
        if self.study == "magneto":
            table["D"] = scan.D
            table["fields"] = dict(self.field_spec)
            table["magneto"] = {"rtol": self.magneto_rtol, "alpha_free": self.alpha_free}
        return table

    def scan_toml(self, scan: ModelScan) -> str:
        """:meth:`scan_table` as TOML."""
        return tomli_w.dumps(self.scan_table(scan))

    def fingerprint(self, scan: ModelScan) -> str:
        """SHA-256 of the exact inputs of one model's scan (floats as hex): its store's identity.

        For ``dephasing`` D is left out: it enters only the derived B_φ, L_φ.
        """

        def exact(x):
            if isinstance(x, float):
                return x.hex()
            if isinstance(x, dict):
                return {k: exact(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [exact(v) for v in x]
            return x

        table = self.scan_table(scan)
        table["temperature"] = [float(t).hex() for t in scan.T]
        if self.fields is not None:
            table["fields"] = [float(x).hex() for x in self.fields]
        text = json.dumps(exact(table), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def quick(self) -> ScanConfig:
        """Coarse grids: ``quick_num`` temperatures per model (ends kept); names ``*_quick``."""
        scans = []
        for s in self.scans:
            n = min(self.quick_num, s.T.size)
            idx = np.unique(np.round(np.linspace(0, s.T.size - 1, n)).astype(int))
            T = s.T[idx]
            spec = dataclasses.replace(s.spec, name=f"{s.spec.name}_quick")
            scans.append(ModelScan(spec, T, {"values": [float(t) for t in T]}, s.D))
        return dataclasses.replace(self, scans=tuple(scans))


def _number(key: str, value: Any, *, positive: bool = True) -> float:
    x = _real(key, value)
    if positive and not x > 0:
        raise _err(key, f"must be > 0 (got {x!r})")
    return x


def _ranged(key: str, value: Any, lo: float, hi: float) -> float:
    x = _real(key, value)
    if not lo <= x <= hi:
        raise _err(key, f"must lie in [{lo:g}, {hi:g}] (got {x!r})")
    return x


def _temperatures(key: str, table: Any) -> tuple[np.ndarray, dict]:
    table = dict(_table(key, table))
    if "values" not in table:
        table.setdefault("scale", "log")
    axis = _parse_axis(key, "T", table)
    if "values" in axis.spec:
        for i, t in enumerate(axis.values):
            if not t > 0:
                raise _err(f"{key}.values[{i}]", f"temperatures must be > 0 K (got {float(t):g})")
    elif not axis.values[0] > 0:
        raise _err(f"{key}.start", f"temperatures must be > 0 K (got {float(axis.values[0]):g})")
    return axis.values, dict(axis.spec)


def _model(key: str, name: str, table: Mapping[str, Any]) -> ModelSpec:
    if "kind" not in table:
        raise _err(f"{key}.kind", f"missing (one of {', '.join(KINDS)})")
    kind = table["kind"]
    if kind not in KINDS:
        raise _err(f"{key}.kind", f"must be one of {', '.join(KINDS)} (got {kind!r})")
    spec = KINDS[kind]
    times = ("tau_Lambda", "tau_i") if spec.time_scale else ()
    allowed = (*_MODEL_META, *spec.required, *spec.optional, *times)
    _unknown_keys(key, table, allowed)
    title = table.get("title", name)
    if not isinstance(title, str):
        raise _err(f"{key}.title", f"must be a string (got {title!r})")
    given: dict[str, float] = {}
    for p in spec.required:
        if p not in table:
            raise _err(f"{key}.{p}", f"missing (a {kind} model needs {', '.join(spec.required)})")
        given[p] = _real(f"{key}.{p}", table[p])
    for p in (*spec.optional, *times):
        if p in table:
            given[p] = _real(f"{key}.{p}", table[p])
    params = dict(given)
    if spec.time_scale:
        have = [t for t in times if t in table]
        if len(have) != 1:
            raise _err(
                f"{key}.tau_Lambda",
                "give exactly one of tau_Lambda (s) and tau_i (s); "
                f"tau_Lambda = tau_i E_star/Lambda0, Eq. (43) (got {have or 'neither'})",
            )
        if have == ["tau_Lambda"]:
            tL = _number(f"{key}.tau_Lambda", given["tau_Lambda"])
            del params["tau_Lambda"]
            E_star, L0 = given["E_star"], given["Lambda0"]
            if E_star > 0 and L0 > 0:
                params["tau_i"] = tL * L0 / E_star
            else:  # let the ensemble name the bad one
                params["tau_i"] = tL
    return ModelSpec(name, title, kind, params, given)


def _check_model(key: str, spec: ModelSpec, T: np.ndarray) -> None:
    """Build the ensemble at every temperature: a parameter out of range is named now."""
    for t in T:
        try:
            spec.build(float(t))
        except (ValueError, TypeError) as exc:
            msg = str(exc)
            name = msg.split(" ", 1)[0]
            if name in spec.params or name in spec.given:
                raise _err(f"{key}.{name}", msg.split(" ", 1)[1]) from None
            if name == "tau_i" and "tau_Lambda" in spec.given:
                raise _err(
                    f"{key}.tau_Lambda", f"gives tau_i = {float(spec.params['tau_i']):g}: {msg}"
                ) from None
            raise _err(key, f"at T = {float(t):g} K: {msg}") from None


def parse_scan_config(
    doc: Mapping[str, Any], study: str, *, text: str = "", source: str = "<string>"
) -> ScanConfig:
    """Validate a temperature-scan document for ``study`` (``"dephasing"`` or ``"magneto"``).

    Raises
    ------
    ValueError
        Naming the dotted key of the first problem (module docstring).
    """
    if study not in _STUDIES:
        raise ValueError(f"study must be one of {_STUDIES} (got {study!r})")
    doc = _table("<config>", doc)
    _unknown_keys("", doc, (*_TOP_KEYS, *(_MAGNETO_KEYS if study == "magneto" else ())))
    rtol = _ranged("rtol", doc.get("rtol", 1e-4), *RTOL_RANGE)
    chunks = _positive_int("chunks", doc.get("chunks", 1))
    max_history = _number("max_history", doc.get("max_history", 1e8))
    quick_num = _positive_int("quick_num", doc.get("quick_num", 6))
    D = _number("D", doc["D"]) if "D" in doc else None
    default_T = _temperatures("temperature", doc["temperature"]) if "temperature" in doc else None
    if "models" not in doc:
        raise _err("models", "missing (give [models.NAME] tables)")
    models_tab = _table("models", doc["models"])
    if not models_tab:
        raise _err("models", "no models given")
    scans = []
    for name, sub in models_tab.items():
        key = f"models.{name}"
        if not name or not all(c.isalnum() or c in "-_" for c in name):
            raise _err(key, "model names may contain only letters, digits, '-' and '_'")
        sub = _table(key, sub)
        spec = _model(key, name, sub)
        if "temperature" in sub:
            T, T_spec = _temperatures(f"{key}.temperature", sub["temperature"])
        elif default_T is not None:
            T, T_spec = default_T
        else:
            raise _err(f"{key}.temperature", "missing (give [temperature] or a model's own)")
        D_model = _number(f"{key}.D", sub["D"]) if "D" in sub else D
        if study == "magneto" and D_model is None:
            raise _err("D", "missing: the magnetoconductance needs the diffusion constant (m^2/s)")
        _check_model(key, spec, T)
        scans.append(ModelScan(spec, T, T_spec, D_model))
    extra: dict[str, Any] = {}
    if study == "magneto":
        ftab = _table("fields", doc.get("fields", {}))
        _unknown_keys("fields", ftab, _FIELD_KEYS)
        lo = _number("fields.min_over_B_phi", ftab.get("min_over_B_phi", 0.01))
        hi = _number("fields.max_over_B_phi", ftab.get("max_over_B_phi", 100.0))
        num = _positive_int("fields.num", ftab.get("num", 31))
        if not hi > lo:
            raise _err("fields.max_over_B_phi", f"must be > min_over_B_phi = {lo!r} (got {hi!r})")
        if num < 5:
            raise _err("fields.num", f"an HLN fit needs at least 5 fields (got {num})")
        mtab = _table("magneto", doc.get("magneto", {}))
        _unknown_keys("magneto", mtab, _MAGNETO_TABLE_KEYS)
        alpha_free = mtab.get("alpha_free", False)
        if not isinstance(alpha_free, bool):
            raise _err("magneto.alpha_free", f"must be true or false (got {alpha_free!r})")
        extra = {
            "fields": np.geomspace(lo, hi, num),
            "field_spec": {"min_over_B_phi": lo, "max_over_B_phi": hi, "num": num},
            "magneto_rtol": _ranged("magneto.rtol", mtab.get("rtol", 1e-5), *MAGNETO_RTOL_RANGE),
            "alpha_free": alpha_free,
        }
    return ScanConfig(
        study,
        tuple(scans),
        rtol=rtol,
        chunks=chunks,
        max_history=max_history,
        quick_num=quick_num,
        text=text,
        source=source,
        **extra,
    )


def load_scan_config(study: str, path: str | Path | None = None) -> ScanConfig:
    """Read and validate a scan configuration; ``None`` reads the built-in default.

    The defaults are the package resources ``cooperon/default_dephasing.toml``
    and ``cooperon/default_magneto.toml``.
    """
    if path is None:
        from importlib import resources

        name = f"default_{study}.toml"
        text = resources.files("cooperon").joinpath(name).read_text(encoding="utf-8")
        source = f"cooperon/{name}"
    else:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"--config {str(path)!r}: {exc.strerror or exc}") from None
        source = str(path)
    return parse_scan_config(load_toml(text, source), study, text=text, source=source)


def add_scan_arguments(p, study: str, default_dir: str, description: str) -> None:
    """Options of ``cooperon dephasing`` / ``cooperon magneto``."""
    p.description = description
    p.add_argument(
        "--config",
        metavar="FILE.toml",
        help=f"scan configuration (default: the built-in cooperon/default_{study}.toml)",
    )
    p.add_argument(
        "--output-dir",
        default=default_dir,
        metavar="DIR",
        help=f"where to write stores, NetCDF files and figures (default: {default_dir})",
    )
    add_run_arguments(
        p, quick_help="coarse grids (quick_num temperatures, files NAME_quick.*) for smoke tests"
    )
