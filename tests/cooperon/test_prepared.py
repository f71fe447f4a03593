"""cooperon.prepared: the retry of an ensemble vertex fit that failed its own check."""

from __future__ import annotations

import pytest

from cooperon.exponential_sums import CompressionError
from cooperon.prepared import _RETRY_FACTOR, _fit_vertex


class _Model:
    """Fails its final check at atol > limit (as vertex_terms does), records the calls."""

    def __init__(self, limit: float):
        self.limit, self.calls = limit, []

    def vertex_terms(self, s_max, atol):
        self.calls.append(atol)
        if atol > self.limit:
            raise CompressionError(f"finer check {1.2 * atol:.2g} > atol {atol:.2g}")
        return ("c", "alpha", 0.5 * atol)


def test_a_failed_fit_is_retried_once_at_a_tighter_atol():
    m = _Model(limit=0.3)
    fit, used = _fit_vertex(m, 1e3, 1.0)
    assert m.calls == [1.0, _RETRY_FACTOR] and used == _RETRY_FACTOR
    assert fit[2] == 0.5 * _RETRY_FACTOR


def test_a_fit_that_succeeds_first_is_not_retried():
    m = _Model(limit=2.0)
    assert _fit_vertex(m, 1e3, 1.0)[1] == 1.0 and m.calls == [1.0]


def test_two_failures_are_one_arithmetic_error_naming_both():
    with pytest.raises(ArithmeticError, match=r"failed at atol = 1 .* and at 0\.25"):
        _fit_vertex(_Model(limit=0.1), 1e3, 1.0)
