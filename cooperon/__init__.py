"""The time-domain Cooperon equation with dephasing by dynamic defects.

Eq. (24) of the paper solved directly (:func:`solve_direct`), its closed-form
approximations (:mod:`cooperon.closed_forms`), their comparison at a point
(:func:`compare`, from :mod:`cooperon.studies.comparison`) and parameter
sweeps (:func:`sweep`, from :mod:`cooperon.studies.sweeps`); the dephasing
time ln(τ_φ/τ) from Eq. (34) and from the direct solution (:func:`log_tau_phi`),
defect ensembles (:mod:`cooperon.ensembles`), the magnetoconductance and HLN fits
(:func:`magnetoconductance`, :mod:`cooperon.hln`), the telegraph-noise Monte
Carlo of Appendix B (:mod:`cooperon.telegraph`).

Only the light parts are imported eagerly; the rest (xarray, dask, Numba
cores) is loaded on first use of the names below.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

from .direct import DirectSolution, solve_direct  # noqa: E402
from .parameters import NoCutoffError, Parameters  # noqa: E402
from .vertex import Vertex  # noqa: E402

#: name -> (module, attribute) loaded on first access
_LAZY = {
    "compare": ("studies.comparison", "compare"),
    "compare_values": ("studies.comparison", "compare_values"),
    "sweep": ("studies.sweeps", "sweep"),
    "log_tau_phi": ("dephasing", "log_tau_phi"),
    "magnetoconductance": ("magneto", "magnetoconductance"),
    "fit_hln": ("hln", "fit_hln"),
    "TunnelingModel": ("ensembles", "TunnelingModel"),
    "GlassModel": ("ensembles", "GlassModel"),
    "GaussianBarrier": ("ensembles", "GaussianBarrier"),
}
#: submodules reachable as attributes (``cooperon.closed_forms`` without an import)
_SUBMODULES = ("closed_forms", "ensembles", "asymptotes", "estimates", "telegraph", "hln",
               "magneto", "dephasing", "model", "equation", "studies")  # fmt: skip

__all__ = [
    "Parameters",
    "NoCutoffError",
    "Vertex",
    "solve_direct",
    "DirectSolution",
    *_LAZY,
    "__version__",
]


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'cooperon' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))
