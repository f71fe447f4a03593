"""Solvers for Volterra integral equations of the second kind.

The front door is :func:`solve_volterra`; kernels with structure the solver
can exploit are in :mod:`solver.kernels`; :func:`resolvent` gives the
resolvent kernel on a grid.
"""

from . import kernels, weights
from .api import METHODS, solve_volterra
from .batch import solve_many
from .history import History, HistoryError
from .resolvent_kernel import Resolvent, resolvent
from .result import SolverError, SolveStats, VolterraResult

__all__ = [
    "solve_volterra",
    "solve_many",
    "resolvent",
    "Resolvent",
    "METHODS",
    "History",
    "HistoryError",
    "VolterraResult",
    "SolveStats",
    "SolverError",
    "kernels",
    "weights",
]

__version__ = "0.1.0"
