"""Pure functions of cooperon.studies.dephasing_scan: band ranges, windows, formatting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cooperon.studies.dephasing_scan import (
    _fmt_ranges,
    _window,
    band_ranges,
    coarse_grid_note,
    one_third_ranges,
)

T = np.array([1.0, 10.0, 100.0, 1000.0])


def _x(a: float, b: float, w: float) -> float:
    """The point a fraction w of the way from a to b in ln T."""
    return math.exp(math.log(a) + w * (math.log(b) - math.log(a)))


def test_each_band_edge_is_crossed_where_the_interpolant_crosses_it():
    # p = 0.30 -> 0.40 crosses the upper edge 1/3 + 0.05 at w = (0.38333 - 0.3)/0.1
    p = np.array([0.30, 0.40, 0.5, 0.6])
    w = (1 / 3 + 0.05 - 0.30) / 0.10
    (r,) = one_third_ranges(T, p)
    assert r[0] == pytest.approx(1.0)
    assert r[1] == pytest.approx(_x(1.0, 10.0, w), rel=1e-12)


def test_a_step_across_the_whole_band_gives_its_short_interval():
    p = np.array([0.2, 0.5, 0.6, 0.7])  # jumps over [0.2833, 0.3833] between T = 1 and 10
    (r,) = band_ranges(T, p, 1 / 3 - 0.05, 1 / 3 + 0.05)
    assert r[0] == pytest.approx(_x(1, 10, (1 / 3 - 0.05 - 0.2) / 0.3), rel=1e-12)
    assert r[1] == pytest.approx(_x(1, 10, (1 / 3 + 0.05 - 0.2) / 0.3), rel=1e-12)


def test_nan_ends_a_range_and_an_isolated_point_is_its_own_range():
    p = np.array([0.33, 0.34, np.nan, 0.33])
    got = np.array(band_ranges(T, p, 0.3, 0.4))
    np.testing.assert_allclose(got, [(1.0, 10.0), (1000.0, 1000.0)], rtol=1e-14)
    assert band_ranges(T, np.full(4, np.nan), 0.3, 0.4) == []


def test_a_range_leaving_and_reentering_the_band_is_two_ranges():
    p = np.array([0.33, 0.6, 0.33, 0.33])
    got = band_ranges(T, p, 0.3, 0.4)
    assert len(got) == 2
    assert got[0][0] == pytest.approx(1.0) and got[1][1] == pytest.approx(1000.0)
    assert got[0][1] == pytest.approx(_x(1, 10, (0.4 - 0.33) / 0.27), rel=1e-12)
    assert got[1][0] == pytest.approx(_x(10, 100, (0.6 - 0.4) / 0.27), rel=1e-12)


def test_windows_stop_below_E_star_and_44_needs_no_T_alpha():
    Tg = np.array([0.005, 0.05, 0.5, 5.0])
    s = {"Lambda0": 0.01, "E_star": 1.0}
    np.testing.assert_array_equal(_window("rate_eq44", Tg, s), [False, True, True, False])
    assert not _window("rate_eq50", Tg, s).any()  # chi = 0: no relaxation channel
    s.update(T_alpha=0.076, T_beta=0.0036)
    np.testing.assert_array_equal(_window("rate_eq50", Tg, s), [False, False, True, False])


def test_ranges_that_reach_the_computed_end_say_so():
    p = np.array([np.nan, 0.33, 0.34, 0.35])
    text = _fmt_ranges(one_third_ranges(T, p), T, p)
    assert text == "10 K to 1e+03 K (2.00 decades; reaches the end of the computed range)"
    assert _fmt_ranges([(2.0, 2.0)]) == "2 K (one point)"  # not "2 K to 2 K"


def test_coarse_grids_are_flagged():
    assert coarse_grid_note(np.geomspace(1e-3, 10, 40)) is None
    assert "rough" in coarse_grid_note(np.geomspace(1e-3, 10, 6))
