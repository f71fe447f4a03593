"""The result object returned by :func:`solver.solve_volterra`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["VolterraResult", "SolverError"]


class SolverError(RuntimeError):
    """Raised by :meth:`VolterraResult.raise_for_status` when a solve failed."""


@dataclass
class VolterraResult:
    """Solution of a Volterra equation on a grid.

    Attributes
    ----------
    t : ndarray, shape (N,)
        The grid.
    y : ndarray, shape (N,) or (N, d)
        The solution at the grid points.
    error_estimate : ndarray, same shape as ``y``
        Estimate of ``|y - y_exact|`` at each point (Richardson extrapolation
        against the same method on every other grid point, plus the estimated
        error of any history quadrature), or NaN where no estimate was asked
        for.
    method : str
        The method's name.
    order : int
        The method's order of convergence.
    success : bool
        False if the solve failed or the error estimate exceeds the requested
        tolerance; ``message`` says why.
    message : str
        What happened.
    stats : dict
        Counters: kernel evaluations, Newton iterations, wall-clock seconds.
    """

    t: np.ndarray
    y: np.ndarray
    error_estimate: np.ndarray
    method: str
    order: int
    success: bool
    message: str
    stats: dict = field(default_factory=dict)

    @property
    def max_error_estimate(self) -> float:
        """Largest entry of ``error_estimate``."""
        e = np.asarray(self.error_estimate)
        return float(np.max(e)) if e.size else 0.0

    def raise_for_status(self) -> VolterraResult:
        """Raise :class:`SolverError` with ``message`` unless ``success``."""
        if not self.success:
            raise SolverError(self.message)
        return self

    def __repr__(self) -> str:
        return (
            f"VolterraResult(method={self.method!r}, order={self.order}, N={self.t.size}, "
            f"success={self.success}, max_error_estimate={self.max_error_estimate:.3g}, "
            f"message={self.message!r})"
        )
