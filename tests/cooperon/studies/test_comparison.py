"""Tests of :func:`cooperon.compare`: the closed forms and the steps against the direct solution.

* the quick check of docs/equations.md (Q = 0.02, r₃ = g = 0.1, r₁ = 0: (32) is
  8.6 % low, the consistent (27) = ∫e^ϑ is 2.1 % low);
* the local closure, the ODE step and the WKB step: the values are those of
  :mod:`cooperon.closed_forms`, 1 + dev_eq27 = (1 + dev_ode_step)(1 + dev_wkb_step),
  Φ ≡ 1 where all of them are exact;
* a closed form's own failure (a real refusal of the local closure and of the
  ODE step, an ODE step that misses its rtol): NaN for that form only, status 5,
  the message naming it; ``compare_values`` raises instead; the CLI table;
* the WKB limit λ_max, Q, g, ε → 0, where (27) must converge to the direct
  solution;
* the Dataset: variables, attributes, coordinates, definitions of dev_*,
  NetCDF round trip;
* errors: no cutoff, bad rtol.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr

from cooperon import (
    NoCutoffError,
    Parameters,
    cli,
    closed_forms,
    compare,
    compare_values,
    solve_direct,
)
from cooperon.cli import main
from cooperon.closed_forms import ODEStepResult
from cooperon.studies import comparison
from cooperon.studies.comparison import VARIABLE_NAMES as VARIABLES
from cooperon.studies.comparison import compare_point
from cooperon.studies.io import write_netcdf
from cooperon.studies.schema import Status, variable_attrs

P = Parameters

QUICK = P(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02)


@pytest.fixture(scope="module")
def quick_ds():
    return compare(QUICK, rtol=1e-8)


def test_quick_check_of_equations_md(quick_ds):
    """(32) is 8.6 % low and the consistent (27) is 2.1 % low, to ±0.05 percentage points.

    The direct F(0) is good to 1e-8 and the closed forms to 1e-12, so the
    deviations are known to ~1e-8; ±0.05 pp is the rounding of the quoted
    numbers (8.6 %, 2.1 %).
    """
    assert 100 * float(quick_ds.dev_eq32) == pytest.approx(-8.6, abs=0.05)
    assert 100 * float(quick_ds.dev_eq27) == pytest.approx(-2.1, abs=0.05)
    assert bool(quick_ds.converged)


WKB_SEQUENCES = {
    # λ_max = k, Q = k, g = 10k: both the local (ODE) and the WKB approximation improve
    "relaxation r3=Q=k, g=10k": lambda k: P(tau_over_tau3=k, gamma_tau=10 * k, Dq2_tau=k),
    # λ_max = 2k, Q = k, ε = 10k
    "resonant r1=Q=k, eps=10k": lambda k: P(tau_over_tau1=k, E_tau=10 * k, Dq2_tau=k),
}


@pytest.mark.parametrize("name", list(WKB_SEQUENCES))
def test_eq27_converges_to_direct_in_wkb_limit(name):
    """As λ_max, Q, ε, g → 0 (k = 1e-2, 1e-3, 1e-4): dev_eq27 → 0 linearly in k.

    WKB (31) keeps first-order errors in λ and Q, so |dev_eq27|/k tends to a
    constant (measured 0.5–0.9): it must stay in [0.3, 1.2] and |dev_eq27|
    must fall at every step.  The identity (27) = [1 + (32)]/(1+Q) gives
    dev_eq27 − dev_eq32 = (1 − Q F32)/((1+Q) F0_direct) (to rounding).
    The direct F(0) is computed to rtol = 1e-9 ≪ |dev|.
    """
    devs = []
    for k in (1e-2, 1e-3, 1e-4):
        p = WKB_SEQUENCES[name](k)
        v = compare_values(p, rtol=1e-9)
        assert v["converged"] == 1.0
        assert 0.3 <= abs(v["dev_eq27"]) / k <= 1.2, (k, v)
        gap = (1 - k * v["F0_wkb_eq32"]) / ((1 + k) * v["F0_direct"])
        assert v["dev_eq27"] - v["dev_eq32"] == pytest.approx(gap, rel=1e-9)
        devs.append(abs(v["dev_eq27"]))
    assert devs[0] > devs[1] > devs[2]


def test_dataset_structure(quick_ds):
    ds = quick_ds
    assert set(VARIABLES) <= set(ds.data_vars)
    for name in VARIABLES:
        attrs = ds[name].attrs
        assert attrs.get("long_name"), name
        assert "units" in attrs, name
        assert ds[name].ndim == 0
    for name in ("tau_over_tau1", "tau_over_tau3", "E_tau", "gamma_tau", "Dq2_tau"):
        assert name in ds.coords
        assert float(ds.coords[name]) == getattr(QUICK, name)
    assert float(ds.coords["tau_over_taue"]) == QUICK.tau_over_taue
    assert ds.attrs["source"].startswith("cooperon")
    assert ds.attrs["rtol"] == 1e-8
    assert ds["converged"].dtype == bool


def test_dataset_values(quick_ds):
    """dev_* = (closed − direct)/direct exactly; the values are those of the parts."""
    ds = quick_ds
    direct = float(ds.F0_direct)
    for dev, closed in (
        ("dev_eq32", "F0_wkb_eq32"),
        ("dev_eq27", "F0_wkb_eq27"),
        ("dev_local_closure", "F0_local_closure"),
        ("dev_ode_step", "F0_ode"),
    ):
        assert float(ds[dev]) == (float(ds[closed]) - direct) / direct
    ode = float(ds.F0_ode)
    assert float(ds.dev_wkb_step) == (float(ds.F0_wkb_eq27) - ode) / ode
    sol = solve_direct(QUICK, rtol=1e-8)
    assert float(ds.F0_direct) == sol.F0
    assert float(ds.F0_direct_error) == sol.error_estimate
    assert float(ds.F0_wkb_eq32) == closed_forms.F0_eq32(QUICK)
    assert float(ds.F0_wkb_eq27) == closed_forms.F0_wkb_eq27(QUICK)
    assert float(ds.F0_local_closure) == closed_forms.F0_local_closure(QUICK)
    assert float(ds.F0_ode) == closed_forms.F0_ode_step(QUICK, rtol=1e-8).F0
    # consistent (27) = [1 + (32)]/(1 + Q): two quadratures, 1e-12 each
    q = QUICK.Dq2_tau
    assert float(ds.F0_wkb_eq27) == pytest.approx((float(ds.F0_wkb_eq32) + 1) / (1 + q), rel=2e-12)
    assert float(ds.lambda_max) == 0.1


def test_netcdf_round_trip(quick_ds, tmp_path):
    path = write_netcdf(quick_ds, tmp_path / "point.nc")
    assert path.exists()
    assert not [f for f in path.parent.iterdir() if f.name.endswith(".tmp")]
    with xr.open_dataset(path, engine="h5netcdf") as back:
        back = back.load()
    for name in VARIABLES:
        assert float(back[name]) == float(quick_ds[name]), name
        for key, value in quick_ds[name].attrs.items():
            assert back[name].attrs[key] == value, (name, key)
    for key, value in quick_ds.attrs.items():
        assert back.attrs[key] == value, key
    for name in quick_ds.coords:
        assert float(back.coords[name]) == float(quick_ds.coords[name])
    assert bool(back.converged) is True


def test_write_netcdf_does_not_create_directories(quick_ds, tmp_path):
    with pytest.raises(ValueError, match=r"netcdf .*sub.*does not exist \(create it first\)"):
        write_netcdf(quick_ds, tmp_path / "sub" / "point.nc")
    assert list(tmp_path.iterdir()) == []


def test_provenance_and_record_variables(quick_ds):
    """CF spelling ``Conventions``, ``history`` and ``date_created`` (ISO 8601 UTC), and the
    record variables of a sweep point: status 0 with an empty message."""
    attrs = quick_ds.attrs
    assert attrs["Conventions"].startswith("CF-") and "conventions" not in attrs
    assert attrs["date_created"].endswith("Z") and "T" in attrs["date_created"]
    assert attrs["history"].startswith(attrs["date_created"] + ": ")
    assert int(quick_ds["status"]) == 0 and quick_ds["status"].dtype == np.int8
    assert quick_ds["message"].item() == ""
    assert list(quick_ds["status"].attrs["flag_values"]) == [-1, 0, 1, 2, 3, 4, 5]
    for name in ("tau_over_tau3", "Dq2_tau"):
        assert quick_ds[name].attrs["units"] == "1" and quick_ds[name].attrs["long_name"]


def test_compare_no_cutoff():
    with pytest.raises(NoCutoffError):
        compare(P(tau_over_tau3=0.5))  # g = 0, Q = 0
    with pytest.raises(NoCutoffError):
        compare_values(P(tau_over_tau1=0.5, gamma_tau=1.0))  # ε = 0, Q = 0


@pytest.mark.parametrize("rtol", [0.0, 0.5, float("nan")])
def test_compare_bad_rtol(rtol):
    with pytest.raises(ValueError, match="rtol"):
        compare(QUICK, rtol=rtol)


def test_compare_values_keys():
    v = compare_values(P(tau_over_tau1=0.2, E_tau=0.5, Dq2_tau=0.05), rtol=1e-6)
    assert list(v) == list(VARIABLES)
    assert all(np.isfinite(x) for x in v.values())


def test_the_two_steps_compose_to_eq27(quick_ds):
    """(1 + dev_eq27) = (1 + dev_ode_step)(1 + dev_wkb_step): F27/F = (F_ODE/F)(F27/F_ODE).

    An identity of the definitions, to rounding (three divisions: ~1e-15).
    At the quick-check point the steps fail in opposite directions (the ODE
    step −14 %, the WKB step +14 %, docs/closed_forms.md §10), so Eq. (27)
    (−2.1 %) is better than either step alone.
    """
    ds = quick_ds
    lhs = 1 + float(ds.dev_eq27)
    rhs = (1 + float(ds.dev_ode_step)) * (1 + float(ds.dev_wkb_step))
    assert lhs == pytest.approx(rhs, rel=1e-14)
    assert float(ds.dev_ode_step) < -0.1 and float(ds.dev_wkb_step) > 0.1
    assert abs(float(ds.dev_eq27)) < 0.2 * abs(float(ds.dev_ode_step))
    # the local closure is the best form here (docs/closed_forms.md: median 1.9e-5)
    assert abs(float(ds.dev_local_closure)) < 1e-3


def test_every_form_is_exact_for_phi_one():
    """r₁ = r₃ = 0 (Φ ≡ 1): F = 1/Q; (32), (27) and the closure give 1/Q exactly, so their
    deviations are the direct solution's error (rtol 1e-9); the ODE step alone is off by −Q
    + O(Q²) (its slow rate λ₁ against the exact λ₁/(1+Q), docs/closed_forms.md §3) and the
    WKB step undoes it."""
    q = 0.05
    v = compare_values(P(Dq2_tau=q), rtol=1e-9)
    for name in ("dev_eq32", "dev_eq27", "dev_local_closure"):
        assert abs(v[name]) < 2e-9, name
    # Q F_ODE − 1 = −Q + O(Q²): at Q = 0.05 within 0.2 Q of −Q (measured −0.9 Q)
    assert v["dev_ode_step"] == pytest.approx(-q, rel=0.2)
    assert (1 + v["dev_ode_step"]) * (1 + v["dev_wkb_step"]) == pytest.approx(1, abs=3e-9)


# both channels with 2g ≪ rate ≪ ε: the direct solution converges (2-3 s), the local
# closure and the ODE step refuse (more than 4e6 quadrature points / 2e6 Radau steps)
REFUSED = {
    "tau_over_tau1": 6e-3,
    "E_tau": 200.0,
    "tau_over_tau3": 6e-3,
    "gamma_tau": 1e-6,
    "Dq2_tau": 1e-4,
}
OPTIONAL_NAN = ("F0_local_closure", "F0_ode", "dev_local_closure", "dev_ode_step", "dev_wkb_step")


@pytest.fixture(scope="module")
def refused_point():
    return compare_point(REFUSED, 1e-4)


def test_refusals_of_a_closed_form_leave_the_rest_of_the_point(refused_point):
    values, status, message = refused_point
    assert status == Status.CLOSED_FORM_FAILED
    for name in OPTIONAL_NAN:
        assert np.isnan(values[name]), name
    for name in ("F0_direct", "F0_wkb_eq32", "F0_wkb_eq27", "dev_eq32", "dev_eq27", "lambda_max"):
        assert np.isfinite(values[name]), name
    assert values["converged"] is True
    assert "F0_local_closure not computed: ArithmeticError: the closed-form quadrature" in message
    assert "F0_ode not computed: ArithmeticError: the ODE step needs more than" in message


def _ode_not_converged(params, rtol):
    return ODEStepResult(1.0, 1.0, False, 1, "requested rtol not reached (step limit)", 10, 0.0)


def test_ode_step_that_misses_its_rtol_is_nan_with_status_5(monkeypatch):
    """The ODE step's own status 1 is a declared failure: NaN, not a value of unknown accuracy."""
    monkeypatch.setattr(comparison.closed_forms, "F0_ode_step", _ode_not_converged)
    values, status, message = compare_point(QUICK.as_dict(), 1e-6)
    assert status == Status.CLOSED_FORM_FAILED
    assert message == (
        "F0_ode not computed: ODEStepNotConverged: requested rtol not reached (step limit)"
    )
    assert [n for n, v in values.items() if isinstance(v, float) and np.isnan(v)] == [
        "F0_ode",
        "dev_ode_step",
        "dev_wkb_step",
    ]
    # compare_values has no status to put it in: it raises, with the same message
    with pytest.raises(ArithmeticError, match="^F0_ode not computed: ODEStepNotConverged"):
        compare_values(QUICK, rtol=1e-6)
    ds = compare(QUICK, rtol=1e-6)  # the Dataset keeps the point, with the reason
    assert int(ds.status) == Status.CLOSED_FORM_FAILED and "F0_ode" in ds.message.item()
    assert np.isnan(float(ds.F0_ode)) and np.isfinite(float(ds.F0_local_closure))


def test_closed_form_failure_where_the_direct_solution_did_not_converge(monkeypatch):
    """Status 1 wins (the direct F(0) is what every deviation needs); both reasons are kept."""
    monkeypatch.setattr(comparison.closed_forms, "F0_ode_step", _ode_not_converged)
    real = comparison.solve_direct

    def loose(params, rtol):
        sol = real(params, rtol=rtol)
        return dataclasses.replace(sol, status=1, message="grid limit reached")

    monkeypatch.setattr(comparison, "solve_direct", loose)
    values, status, message = compare_point(QUICK.as_dict(), 1e-6)
    assert status == Status.NOT_CONVERGED
    assert message.startswith("grid limit reached; F0_ode not computed: ")
    assert np.isnan(values["F0_ode"]) and np.isfinite(values["dev_eq27"])


def test_other_exceptions_of_a_closed_form_propagate(monkeypatch):
    """Only ArithmeticError is a declared failure: a bug in a closed form is never a status."""

    def broken(params, rtol):
        raise TypeError("a bug")

    monkeypatch.setattr(comparison.closed_forms, "F0_ode_step", broken)
    with pytest.raises(TypeError, match="a bug"):
        compare_point(QUICK.as_dict(), 1e-6)


def test_nan_and_inf_rules_per_status_in_the_attributes():
    """The comment of every variable says where it is NaN / +inf, generated from the table."""
    attrs = variable_attrs(comparison.VARIABLES)
    for name in ("F0_local_closure", "F0_ode"):
        assert "+inf where status = 2" in attrs[name]["comment"]
        assert (
            "NaN also where this closed form declared a failure (status = 5"
            in (attrs[name]["comment"])
        )
    for name in ("dev_local_closure", "dev_ode_step", "dev_wkb_step"):
        assert attrs[name]["comment"].startswith("NaN where status = -1, 2, 3, 4")
    assert "status = 5" not in attrs["F0_direct"]["comment"]
    assert "5 closed_form_failed" in attrs["status"]["comment"]
    # at F(0) = ∞ the new F(0) forms are +inf, their deviations NaN; λ_max is computed
    values, status, _ = compare_point({"tau_over_tau3": 0.5}, 1e-6)
    assert status == Status.NO_CUTOFF
    assert values["F0_local_closure"] == np.inf and values["F0_ode"] == np.inf
    assert np.isnan(values["dev_ode_step"]) and values["lambda_max"] == 0.0
    values, status, _ = compare_point({"tau_over_tau3": 0.8, "tau_over_tau1": 0.5}, 1e-6)
    assert status == Status.INVALID_POINT
    assert all(np.isnan(values[n]) for n in OPTIONAL_NAN) and np.isnan(values["lambda_max"])


def test_ode_rtol_follows_the_direct_rtol_within_its_range():
    assert comparison.ode_rtol(1e-6) == 1e-6
    assert comparison.ode_rtol(1e-13) == 1e-12
    assert comparison.ode_rtol(0.1) == 1e-2


def test_cli_compare_table_shows_the_new_rows(capsys):
    assert main(["compare", "--tau-over-tau3", "0.1", "--gamma-tau", "0.1", "--rtol", "1e-6"]) == 0
    out = capsys.readouterr().out
    for label, value in (
        ("F(0), local closure (beyond the paper)", None),
        ("F(0), ODE (29) solved, no WKB", None),
        ("deviation of the local closure", " %"),
        ("ODE step (29): F_ODE/F - 1", "-14.2"),
        ("WKB step (31): F_27/F_ODE - 1", "+14.1"),
    ):
        line = next(ln for ln in out.splitlines() if label in ln)
        assert value is None or value in line, line


def test_cli_compare_table_says_which_form_failed(refused_point, monkeypatch):
    ds = xr.Dataset(
        {k: xr.DataArray(v) for k, v in refused_point[0].items()}
        | {
            "status": xr.DataArray(np.int8(refused_point[1])),
            "message": xr.DataArray(refused_point[2]),
        }
    )
    table = cli._table(ds)
    assert table.count("not computed (see message)") == len(OPTIONAL_NAN)
    assert "message" in table and "the ODE step needs more than" in table
