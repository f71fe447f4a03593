"""Fast path for convolution kernels K(t, s) = k(t - s) (placeholder: direct Toeplitz rows)."""

from __future__ import annotations

import numpy as np

from . import _general


def solve(kernel, t: np.ndarray, r: np.ndarray, order: int, dtype) -> tuple[np.ndarray, dict]:
    """Solve ``y = r + ∫ k(t - s) y(s) ds`` with the Gregory rule of the given order."""
    disc = _general.make_discretisation(kernel, t, order, (), dtype)
    return _general.solve_linear(disc, r)
