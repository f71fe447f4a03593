"""The result object returned by :func:`solver.solve_volterra`."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

__all__ = ["VolterraResult", "SolveStats", "SolverError", "STATUS_MESSAGES"]

#: meaning of :attr:`VolterraResult.status`
STATUS_MESSAGES: dict[int, str] = {
    0: "solved (and the requested tolerance, if any, reached)",
    1: "solved, but the requested tolerance was not reached",
    -1: "failed",
}


class SolverError(RuntimeError):
    """Raised by :meth:`VolterraResult.raise_for_status` when a solve failed."""


@dataclass
class SolveStats:
    """Counters of one :func:`solver.solve_volterra` call.

    Attributes
    ----------
    path : str
        The algorithm: ``"expsum"`` (running sums), ``"convolution"`` (FFT
        blocking), ``"direct"`` (O(N^2) Gregory rules) or ``"cells"`` (cell
        product integration on a general mesh).
    points : int
        Grid points of the finest solve.
    refinement_factor : int
        Cells of the finest grid per cell of the user's grid (1 without a
        tolerance).
    refinements : int
        Refinement rounds after the first (0 without a tolerance).
    solves : int
        Discrete solves made (all grids, error estimates included).
    kernel_evaluations, history_kernel_evaluations, newton_iterations : int
        Work counters (summed over all solves).
    terms : int
        Exponential terms carried by the running sums (``"expsum"`` path).
    fft_convolutions, base_blocks : int
        Work of the FFT-blocked convolution path.
    seconds : float
        Wall-clock time.
    """

    path: str = ""
    points: int = 0
    refinement_factor: int = 1
    refinements: int = 0
    solves: int = 0
    kernel_evaluations: int = 0
    history_kernel_evaluations: int = 0
    newton_iterations: int = 0
    terms: int = 0
    fft_convolutions: int = 0
    base_blocks: int = 0
    seconds: float = 0.0

    def add(self, counters: dict) -> None:
        """Add the integer counters of one solve (unknown keys are an error)."""
        names = {f.name for f in fields(self)}
        for k, v in counters.items():
            if k not in names:
                raise KeyError(f"unknown solver counter {k!r}")
            if k == "terms":
                self.terms = max(self.terms, int(v))
            else:
                setattr(self, k, getattr(self, k) + int(v))


@dataclass
class VolterraResult:
    """Solution of a Volterra equation on a grid.

    Attributes
    ----------
    t : ndarray, shape (N,)
        The grid (the user's grid, also when the solver refined internally).
    y : ndarray, shape (N,) or (N, d)
        The solution at the grid points.
    error_estimate : ndarray, same shape as ``y``
        Estimate of ``|y - y_exact|`` at each point (Richardson extrapolation
        against coarser grids, plus the estimated error of any history
        quadrature and a rounding floor), or NaN where no estimate was asked
        for.
    method : str
        The method's name.
    order : int
        The method's order of convergence.
    status : int
        0: solved, and the requested tolerance (``rtol``/``atol``), if any,
        reached; 1: solved but the tolerance not reached (``y`` and
        ``error_estimate`` are the best the solver got); -1: failed (``y`` is
        NaN). ``message`` says why.
    message : str
        What happened.
    stats : SolveStats
        Typed counters: path, points, refinements, evaluations, seconds.
    """

    t: np.ndarray
    y: np.ndarray
    error_estimate: np.ndarray
    method: str
    order: int
    status: int
    message: str
    stats: SolveStats = field(default_factory=SolveStats)

    @property
    def success(self) -> bool:
        """``status == 0``."""
        return self.status == 0

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
            f"status={self.status}, max_error_estimate={self.max_error_estimate:.3g}, "
            f"path={self.stats.path!r}, points={self.stats.points}, message={self.message!r})"
        )
