"""The time-domain Cooperon equation with dephasing by dynamic defects.

Eq. (24) of the paper solved directly (:func:`solve_direct`), its closed-form
approximations (:mod:`cooperon.closed_forms`), their comparison at a point
(:func:`compare`, from :mod:`cooperon.studies.comparison`) and parameter
sweeps (:func:`sweep`, from :mod:`cooperon.studies.sweeps`).
"""

__version__ = "0.1.0"

from .direct import DirectSolution, solve_direct  # noqa: E402
from .parameters import NoCutoffError, Parameters  # noqa: E402
from .studies.comparison import compare, compare_values  # noqa: E402
from .studies.sweeps import sweep  # noqa: E402

__all__ = [
    "Parameters",
    "NoCutoffError",
    "solve_direct",
    "DirectSolution",
    "compare",
    "compare_values",
    "sweep",
    "__version__",
]
