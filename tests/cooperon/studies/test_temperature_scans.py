"""Tests of the temperature scans: ``cooperon dephasing``, ``cooperon magneto``,
``cooperon estimates`` and the sweep store with curve dimensions.

The commands run as users run them (subprocesses; a plain script without a
``__main__`` guard), on the tunnelling model of the default configuration at
a few temperatures, and their datasets are checked against references computed
here from the definitions: Eq. (34) by our own quadrature of the ensemble's
Gamma_bar, the scales and asymptotes of Sec. III, B_phi and L_phi from
scipy.constants, Delta sigma of Eq. (32) by our own quadrature, the HLN formula
with scipy's digamma.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from _scan_helpers import (
    MODEL,
    NOISE,
    TAU_I,
    D,
    env,
    recorded,
    run_cooperon,
    scales_reference,
    scan_doc,
    sec3_reference,
    write_config,
)
from scipy import constants, integrate, optimize, special

from cooperon.cli import main
from cooperon.ensembles import TunnelingModel
from cooperon.studies.execution import available_cpus

#: Three temperatures in the windows of (52) (50 mK) and (50), (53) (0.5 K, 5 K):
#: T_beta = 3.6 mK < Lambda0 = 10 mK < T_alpha = 76 mK; about 3 s each on one core.
T3 = [0.05, 0.5, 5.0]
RTOL = 1e-3
TAU = MODEL["tau"]


def _model(T: float) -> TunnelingModel:
    return TunnelingModel(
        T=T,
        Lambda0=MODEL["Lambda0"],
        E_star=MODEL["E_star"],
        chi=MODEL["chi"],
        tau=TAU,
        tau_i=TAU_I,
    )


def _load(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()


def _numbers(ds: xr.Dataset) -> xr.Dataset:
    """The computed numbers of a scan (wall times and provenance left out)."""
    return ds.drop_vars(["seconds"], errors="ignore").drop_attrs()


def _B_phi(tau_phi, D_: float = D):
    return constants.hbar / (4.0 * constants.e * D_ * np.asarray(tau_phi))


# --------------------------------------------------------------------------
# cooperon estimates
# --------------------------------------------------------------------------


def _close_to_printed(printed: str, ref: float) -> bool:
    """Whether ``printed`` is ``ref`` to the digits shown (half a unit in the last one)."""
    mantissa = printed.lower().split("e")[0].lstrip("-")
    digits = len(mantissa.replace(".", "").lstrip("0")) or 1
    exponent = math.floor(math.log10(abs(ref)))
    half_unit = 0.5 * 10.0 ** (exponent - digits + 1)
    if "." in mantissa:  # fixed notation: the last shown digit sets the unit
        half_unit = 0.5 * 10.0 ** -len(mantissa.split(".")[1])
        if "e" in printed.lower():
            half_unit *= 10.0 ** int(printed.lower().split("e")[1])
    elif "e" not in printed.lower():  # an integer like 1055 or 10
        half_unit = 0.5
    return abs(float(printed) - ref) <= half_unit * (1 + 1e-9)


def test_cooperon_estimates_prints_the_numbers_of_the_definitions():
    res = run_cooperon("estimates", timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    out = res.stdout
    ref = sec3_reference()
    num = r"([-+]?\d[\d.]*(?:e[-+]?\d+)?)"
    checks = {
        rf"tau_Lambda, Eq\. \(56\)\s+{num} s": ref["tau_Lambda"],
        rf"T_Lambda, Eq\. \(43\)\s+{num} mK": ref["T_Lambda_mK"],
        rf"T_alpha = T_beta = Lambda0 needs chi = {num};": ref["chi_for_T_alpha_eq_Lambda0"],
        rf"exponent needed for Lambda = 10 mK: {num}\n": ref["exponent_57"],
        rf"of the stated U\(r\): {num} g": ref["M_needed"],
        rf"printed exponent \(2a/pi hbar\)\(2 U0 M\)\^\(1/2\): {num} g": ref["M_needed_printed"],
        rf"gives Lambda = {num} K \(printed exponent\)": ref["Lambda_from_M_paper_printed"],
        rf"K \(printed exponent\), {num} K \(correct exponent\)": ref["Lambda_from_M_paper"],
    }
    for pattern, value in checks.items():
        m = re.search(pattern, out)
        assert m, (pattern, out)
        assert _close_to_printed(m.group(1), value), (pattern, m.group(1), value)
    # the chi table: chi, T_alpha, T_beta (mK), T_a/T_b, printed ratio, T_b^2/3 T_a^1/3 (mK)
    rows = [ln.split() for ln in out.splitlines() if re.match(r"^\s+[\d.]+\s+[\d.]+\s+[\d.]", ln)]
    assert [float(r[0]) for r in rows] == [0.01, 0.1, 0.3, 1.0]
    for i, row in enumerate(rows):
        for col, key in enumerate(
            ("T_alpha_mK", "T_beta_mK", "ratio", "ratio_printed", "Lambda0_from_T_alpha_T_beta_mK"),
            start=1,
        ):
            assert _close_to_printed(row[col], ref[key][i]), (row, key, ref[key][i])
    # EQUATIONS.md: tau_Lambda = 7.2e-10 s, T_Lambda = 10.3 mK, chi = 1.05 for T_alpha = Lambda0
    assert ref["tau_Lambda"] == pytest.approx(7.2e-10, rel=0.01)
    assert ref["T_Lambda_mK"] == pytest.approx(10.3, rel=0.01)
    np.testing.assert_allclose(ref["T_alpha_mK"], [1055, 105.5, 35.2, 10.55], rtol=2e-3)
    # Lambda0 = T_beta^(2/3) T_alpha^(1/3) holds whatever chi
    np.testing.assert_allclose(ref["Lambda0_from_T_alpha_T_beta_mK"], 10.0, rtol=1e-12)


# --------------------------------------------------------------------------
# cooperon dephasing: one run from a plain script, shared by the tests below
# --------------------------------------------------------------------------

_PLAIN_SCRIPT = textwrap.dedent(
    """
    import sys
    from cooperon.cli import main

    sys.exit(main(["dephasing", "--config", {cfg!r}, "--output-dir", {out!r}, "--no-progress"]))
    """
)


@pytest.fixture(scope="module")
def dephasing_run(tmp_path_factory):
    """``cooperon.cli.main`` from a script without a ``__main__`` guard (default
    scheduler: local processes, forked) on T3; returns (process, config, output dir)."""
    tmp = tmp_path_factory.mktemp("dephasing")
    cfg = write_config(tmp / "small.toml", scan_doc("dephasing", T3))
    out = tmp / "out"
    script = tmp / "plain.py"
    script.write_text(_PLAIN_SCRIPT.format(cfg=str(cfg), out=str(out)))
    proc = subprocess.run(
        [sys.executable, str(script)], env=env(), capture_output=True, text=True, timeout=300
    )
    return proc, cfg, out


@pytest.fixture(scope="module")
def dephasing(dephasing_run) -> xr.Dataset:
    proc, _, out = dephasing_run
    assert proc.returncode == 0, proc.stderr
    return _load(out / "small.nc")


def test_dephasing_from_a_plain_script_writes_store_dataset_and_figure(dephasing_run):
    proc, _, out = dephasing_run
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # --no-progress: nothing on stderr
    assert "dephasing small: 3/3 chunks computed now" in proc.stdout
    assert "direct solution: ok 3" in proc.stdout
    assert "|p - 1/3| <= 0.05 (direct solution): " in proc.stdout
    assert "cooperon dephasing: 1 model(s) in " in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == ["small.nc", "small.png", "small.zarr"]
    assert (out / "small.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ds = _load(out / "small.nc")
    assert ds.attrs["chunks_computed_this_run"] == 0 + 3 and ds.attrs["chunks_total"] == 3
    if available_cpus() >= 2:
        assert ds.attrs["executor"].endswith("local processes (fork)"), ds.attrs["executor"]


#: The variables issue 9 names (D given: B_phi, L_phi), and the asymptotes.
DEPHASING_VARS = (
    "tau_phi_eq34",
    "tau_phi_direct",
    "delta_log_tau_phi",
    "delta_log_tau_phi_error",
    "rate_eq44",
    "rate_eq50",
    "rate_eq51",
    "rate_eq52",
    "rate_eq53",
    "T_Lambda",
    "T_alpha",
    "T_beta",
    "E_chi",
    "tau_Lambda",
    "p_eq34",
    "p_direct",
    "B_phi_eq34",
    "B_phi_direct",
    "L_phi_eq34",
    "L_phi_direct",
    "status",
)


def test_dephasing_dataset_has_the_variables_with_cf_attributes(dephasing):
    ds = dephasing
    missing = [v for v in DEPHASING_VARS if v not in ds.variables]
    assert not missing, missing
    assert ds.attrs["Conventions"].startswith("CF-")
    for key in ("title", "history", "source", "config_toml", "references"):
        assert ds.attrs.get(key), key
    assert ds.T.attrs["units"] == "K"
    np.testing.assert_array_equal(ds.T.values, T3)
    for name, var in ds.data_vars.items():
        if var.dtype.kind in "fiu":
            assert "units" in var.attrs, name
            assert "long_name" in var.attrs, name
    units = {"tau_phi_eq34": "s", "rate_eq50": "s-1", "B_phi_direct": "T", "L_phi_eq34": "m"}
    for name, unit in units.items():
        assert ds[name].attrs["units"] == unit, name
    assert (ds.status.values == 0).all(), ds.message.values
    assert "flag_values" in ds.status.attrs and "flag_meanings" in ds.status.attrs


def _eq34_reference(model: TunnelingModel, channel: str) -> float:
    """ln(tau_phi/tau) = int_1^inf (d eta/eta) exp(-Gamma_bar(eta)) (Eq. 34), by QUADPACK in
    t = ln eta up to Gamma_bar = 60 (the rest is < e^-60/(lambda_bar eta) ~ 1e-26)."""

    def G(eta: float) -> float:
        return float(model.Gamma_bar(eta, channel))

    hi = 10.0
    while G(hi) < 60.0:
        hi *= 10.0
    t_c = math.log(optimize.brentq(lambda e: G(e) - 60.0, 1.0, hi, rtol=1e-12))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        value, _ = integrate.quad(
            lambda t: math.exp(-G(math.exp(t))), 0.0, t_c, epsrel=1e-11, epsabs=0, limit=500
        )
    return value


def test_tau_phi_eq34_against_own_quadrature_and_root(dephasing):
    """Eq. (34) for the total and each channel, and Gamma_bar(tau_phi/tau) = 1, from the
    ensemble's Gamma_bar: the code's quadrature asks 1e-11 relative, ours 1e-11 (1e-9)."""
    ds = dephasing
    for i, T in enumerate(T3):
        model = _model(T)
        for channel, name in (
            ("total", "eq34"),
            ("resonant", "eq34_resonant"),
            ("relaxation", "eq34_relaxation"),
        ):
            ref = _eq34_reference(model, channel)
            assert float(ds[f"log_tau_phi_{name}"][i]) == pytest.approx(ref, rel=1e-9), (T, name)
            tp = float(ds[f"tau_phi_{name}"][i])
            assert tp == pytest.approx(TAU * math.exp(ref), rel=1e-8), (T, name)
        eta1 = optimize.brentq(lambda e, m=model: float(m.Gamma_bar(e)) - 1.0, 1, 1e9, rtol=1e-14)
        assert float(ds.log_tau_phi_gamma1[i]) == pytest.approx(math.log(eta1), rel=1e-12)


def test_direct_and_eq34_are_tied_by_delta_log_tau_phi(dephasing):
    ds = dephasing
    delta = ds.delta_log_tau_phi.values
    np.testing.assert_allclose(
        ds.log_tau_phi_direct.values, ds.log_tau_phi_eq34.values + delta, rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        ds.tau_phi_direct.values / ds.tau_phi_eq34.values, np.exp(delta), rtol=1e-12
    )
    # rtol is the absolute accuracy asked of ln(tau_phi/tau): the estimates stay within it
    assert (ds.log_tau_phi_direct_error.values <= RTOL).all()
    assert (ds.delta_log_tau_phi_error.values <= RTOL).all()
    # the physical regime: tau_phi ~ 1e4 tau, and (24) differs from (32) by far less than 1 %
    assert (np.abs(delta) < 0.01).all(), delta
    assert (ds.vertex_terms.values > 0).all() and (ds.solves.values > 0).all()
    assert (ds.history_max.values <= ds.vertex_s_max.values).all()


def test_B_phi_and_L_phi_from_scipy_constants(dephasing):
    ds = dephasing
    assert ds.attrs["D"] == D
    for key in ("eq34", "direct"):
        tp = ds[f"tau_phi_{key}"].values
        np.testing.assert_allclose(ds[f"B_phi_{key}"].values, _B_phi(tp), rtol=1e-14)
        np.testing.assert_allclose(ds[f"L_phi_{key}"].values, np.sqrt(D * tp), rtol=1e-14)
    # issue 12's textbook film: D = 1e-3 m^2/s, tau_phi = 1e-10 s: B_phi = 1.6455 mT
    assert float(_B_phi(1e-10)) == pytest.approx(1.6455e-3, rel=1e-4)


def test_scales_and_asymptotes_from_the_definitions(dephasing):
    ds = dephasing
    T = np.asarray(T3)
    ref = scales_reference(T, MODEL["Lambda0"], MODEL["E_star"], MODEL["chi"], TAU_I)
    for k in ("tau_Lambda", "T_Lambda", "T_alpha", "T_beta"):
        assert float(ds[k]) == pytest.approx(ref[k], rel=1e-12), k
    assert float(ds.Lambda0) == MODEL["Lambda0"]
    # the default configuration's comment: T_Lambda = 8.7 mK, T_alpha = 76 mK, T_beta = 3.6 mK
    assert (ref["T_Lambda"], ref["T_alpha"], ref["T_beta"]) == pytest.approx(
        (8.7e-3, 76e-3, 3.6e-3), rel=0.01
    )
    np.testing.assert_allclose(ds.E_chi.values, ref["E_chi"], rtol=1e-12)
    compared = {
        "eq44": "tau_phi_eq34_resonant",
        "eq50": "tau_phi_eq34_relaxation",
        "eq51": "tau_phi_eq34_relaxation",
        "eq52": "tau_phi_eq34_relaxation",
        "eq53": "tau_phi_direct",
    }
    L0, Ta, Tb = MODEL["Lambda0"], ref["T_alpha"], ref["T_beta"]
    below = T < MODEL["E_star"]  # the asymptotes are derived for T << E*
    windows = {
        "eq44": (T > L0) & below,
        "eq50": (T > max(Ta, Tb)) & below,
        "eq51": (T > L0) & (T < Tb) & below,
        "eq52": (T > max(Tb, L0)) & (T < Ta) & below,
        "eq53": (T > max(Ta, Tb)) & below,
    }
    for eq, against in compared.items():
        np.testing.assert_allclose(ds[f"rate_{eq}"].values, ref[f"rate_{eq}"], rtol=1e-12)
        np.testing.assert_allclose(
            ds[f"ratio_{eq}"].values, ref[f"rate_{eq}"] * ds[against].values, rtol=1e-12
        )
        assert ds[f"rate_{eq}"].attrs["compared_with"] == against
        np.testing.assert_array_equal(ds[f"in_window_{eq}"].values, windows[eq], err_msg=eq)
    np.testing.assert_array_equal(windows["eq52"], [True, False, False])
    assert not windows["eq51"].any()  # T_beta < Lambda0: (51) has no window


def test_local_exponent_is_the_slope_of_the_interpolating_parabola(dephasing):
    """Three points: second-order differences in ln T are the derivatives of the parabola
    through them, at the nodes (exact up to rounding)."""
    ds = dephasing
    x = np.log(T3)
    for key in ("eq34", "direct", "eq34_resonant", "eq34_relaxation"):
        coef = np.polyfit(x, np.log(ds[f"tau_phi_{key}"].values), 2)
        np.testing.assert_allclose(
            ds[f"p_{key}"].values, -np.polyval(np.polyder(coef), x), rtol=0, atol=1e-10
        )
    # p within 0.05 of 1/3 at every point (measured: 0.34) -> one range, the whole grid
    p = ds.p_direct.values
    assert (np.abs(p - 1 / 3) <= 0.05).all(), p
    np.testing.assert_allclose(ds.attrs["T_one_third_ranges_direct"], [T3[0], T3[-1]], rtol=1e-12)


def test_dephasing_dataset_carries_the_sec3_estimates(dephasing):
    ref = sec3_reference()
    a = dephasing.attrs
    assert a["sec3_tau_Lambda"] == pytest.approx(ref["tau_Lambda"], rel=1e-12)
    assert a["sec3_tau_Lambda_units"] == "s"
    np.testing.assert_allclose(a["sec3_chi"], [0.01, 0.1, 0.3, 1.0])
    np.testing.assert_allclose(a["sec3_T_alpha"], ref["T_alpha_mK"], rtol=1e-12)
    np.testing.assert_allclose(a["sec3_T_beta"], ref["T_beta_mK"], rtol=1e-12)


# --------------------------------------------------------------------------
# resume, a changed configuration, Ctrl-C
# --------------------------------------------------------------------------


def _dephasing_args(cfg: Path, out: Path, *extra: str) -> list[str]:
    return ["dephasing", "--config", str(cfg), "--output-dir", str(out), "--no-progress", *extra]


def test_a_second_run_computes_nothing_and_gives_identical_data(dephasing_run, tmp_path, capsys):
    proc, cfg, out = dephasing_run
    assert proc.returncode == 0, proc.stderr
    mine = tmp_path / "out"
    shutil.copytree(out, mine)
    before = _load(mine / "small.nc")
    assert main(_dephasing_args(cfg, mine)) == 0
    assert "dephasing small: 0/3 chunks computed now" in capsys.readouterr().out
    after = _load(mine / "small.nc")
    xr.testing.assert_identical(_numbers(after), _numbers(before))
    assert after.attrs["chunks_computed_this_run"] == 0
    assert "(run 2 on this store: 0 of 3 chunks computed)" in after.attrs["history"]


def test_a_changed_config_is_refused_unless_restart(dephasing_run, tmp_path, capsys):
    proc, _, out = dephasing_run
    assert proc.returncode == 0, proc.stderr
    mine = tmp_path / "out"
    shutil.copytree(out, mine)
    nc = (mine / "small.nc").read_bytes()
    changed = write_config(tmp_path / "changed.toml", scan_doc("dephasing", [0.5]))
    assert main(_dephasing_args(changed, mine)) == 2
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith("cooperon dephasing: store ") and "small.zarr" in first
    assert "made from a different configuration" in first and "--restart" in first
    assert "-    0.05," in err.splitlines()  # the diff of the two configurations
    assert (mine / "small.nc").read_bytes() == nc  # nothing written
    assert main(_dephasing_args(changed, mine, "--restart")) == 0
    assert "dephasing small: 1/1 chunks computed now" in capsys.readouterr().out
    ds = _load(mine / "small.nc")
    np.testing.assert_array_equal(ds.T.values, [0.5])
    # the same temperature as before, the same numbers
    old = _load(out / "small.nc").sel(T=[0.5])
    xr.testing.assert_identical(
        _numbers(ds[["log_tau_phi_direct", "status"]]),
        _numbers(old[["log_tau_phi_direct", "status"]]),
    )
    assert np.isnan(ds.p_direct.values).all()  # one temperature: no local exponent


def test_the_refusal_names_the_command_that_was_run(dephasing_run, tmp_path, capsys):
    proc, _, out = dephasing_run
    assert proc.returncode == 0, proc.stderr
    mine = tmp_path / "out"
    shutil.copytree(out, mine)
    changed = write_config(tmp_path / "changed.toml", scan_doc("dephasing", [0.5]))
    assert main(_dephasing_args(changed, mine)) == 2
    err = capsys.readouterr().err
    assert "cooperon map" not in err
    assert "cooperon dephasing command with --restart" in err, err


@pytest.mark.parametrize("name", ["vertex_fit_shift_eq34", "log_tau_phi_gamma1"])
def test_a_store_without_an_output_of_this_version_is_refused(
    name, dephasing_run, tmp_path, capsys
):
    proc, cfg, out = dephasing_run
    assert proc.returncode == 0, proc.stderr
    mine = tmp_path / "out"
    shutil.copytree(out, mine)
    shutil.rmtree(mine / "small.zarr" / name)  # as written before the output existed
    assert main(_dephasing_args(cfg, mine)) == 2
    err = capsys.readouterr().err
    assert f"outputs missing: {name}" in err, err
    assert "cooperon dephasing command with --restart" in err, err
    assert main([*_dephasing_args(cfg, mine), "--restart"]) == 0


def _wait_for_chunks(store: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if recorded(store) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} chunks recorded after {timeout} s")


def test_ctrl_c_keeps_finished_chunks_and_a_rerun_computes_only_the_rest(dephasing, tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) once the first chunk is
    recorded: exit 130, one line with the true number kept; the same command then computes
    only the missing chunks, and the numbers equal those of an uninterrupted run."""
    cfg = write_config(tmp_path / "small.toml", scan_doc("dephasing", T3))
    out = tmp_path / "out"
    store = out / "small.zarr"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cooperon", *_dephasing_args(cfg, out)],
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_for_chunks(store, 1, proc)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    kept = recorded(store)
    assert 1 <= kept < 3  # two workers: the third chunk cannot have started before the signal
    assert stderr.strip().splitlines()[-1] == (
        f"cooperon dephasing: interrupted: {kept} of 3 chunks of {str(store)!r} kept; "
        "run the same command again to resume"
    )
    assert not any(n in stderr for n in NOISE), stderr
    assert not (out / "small.nc").exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith((".tmp", ".partial"))]
    res = run_cooperon(*_dephasing_args(cfg, out))
    assert res.returncode == 0, res.stderr
    assert f"dephasing small: {3 - kept}/3 chunks computed now" in res.stdout
    with xr.open_zarr(store, consolidated=False) as z:
        runs = z.chunk_run.values
    assert sorted(runs.tolist()) == sorted([1] * kept + [2] * (3 - kept))
    xr.testing.assert_identical(_numbers(_load(out / "small.nc")), _numbers(dephasing))


# --------------------------------------------------------------------------
# cooperon magneto
# --------------------------------------------------------------------------

#: Two temperatures (first-order local exponents), nine fields from 0.01 to 100 B_phi,(34).
T2 = [0.05, 5.0]
MAGNETO_RTOL = 1e-3


@pytest.fixture(scope="module")
def magneto_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("magneto")
    cfg = write_config(tmp / "mag.toml", scan_doc("magneto", T2))
    out = tmp / "out"
    res = run_cooperon("magneto", "--config", str(cfg), "--output-dir", str(out), "--no-progress")
    return res, out


@pytest.fixture(scope="module")
def magneto(magneto_run) -> xr.Dataset:
    res, out = magneto_run
    assert res.returncode == 0, res.stderr
    return _load(out / "small.nc")


def test_magneto_writes_curves_fits_and_figures(magneto_run):
    res, out = magneto_run
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    assert "magneto small: 2/2 chunks computed now" in res.stdout
    assert "tau_phi,HLN/tau_phi,(34) from " in res.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == ["small.nc", "small.zarr", "small_fields.png", "small_tau_phi.png"]
    for png in ("small_fields.png", "small_tau_phi.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_magneto_dataset_has_curves_over_the_field_dimension(magneto):
    ds = magneto
    assert ds.attrs["Conventions"].startswith("CF-")
    np.testing.assert_array_equal(ds.T.values, T2)
    np.testing.assert_array_equal(ds.field.values, np.geomspace(0.01, 100.0, 9))
    for c in ("direct", "eq32"):
        for name in (f"delta_sigma_{c}", f"delta_sigma_{c}_error", f"hln_residual_{c}"):
            assert ds[name].dims == ("T", "field") and ds[name].attrs["units"] == "e^2/h", name
        for name in (f"B_phi_hln_{c}", f"tau_phi_hln_{c}", f"fit_status_{c}", f"alpha_hln_{c}"):
            assert ds[name].dims == ("T",), name
        assert (ds[f"fit_status_{c}"].values == 0).all(), ds.message.values
        assert (ds[f"curve_status_{c}"].values == 0).all()
        assert np.isfinite(ds[f"delta_sigma_{c}"].values).all()
    assert (ds.status.values == 0).all(), ds.message.values
    # B = x B_phi,(34)(T), B_phi = hbar/(4 e D tau_phi), tau_phi of Eq. (34) (own quadrature)
    assert ds.B.dims == ("T", "field") and ds.B.attrs["units"] == "T"
    for i, T in enumerate(T2):
        eq34 = _eq34_reference(_model(T), "total")
        assert float(ds.log_tau_phi_eq34[i]) == pytest.approx(eq34, rel=1e-9)
        np.testing.assert_allclose(
            ds.B.values[i], ds.field.values * _B_phi(TAU * math.exp(eq34)), rtol=1e-8
        )


def _h(x: float) -> float:
    """x/(2 sinh(x/2)) - 1 (docs/magneto.md, Sec. 2), by its series below x = 1e-3."""
    if x < 1e-3:
        return -(x * x) / 24.0 + 7.0 * x**4 / 5760.0
    if x > 1400.0:
        return -1.0
    return x / (2.0 * math.sinh(0.5 * x)) - 1.0


def _delta_sigma_eq32(model: TunnelingModel, b: float) -> float:
    """Delta sigma of Eq. (32) in e^2/h: -(1/pi) int_0^inf Phi_bar e^{-Gamma_bar} h(bu) du/u,
    by QUADPACK in t = ln u from u = 1e-3 (below it the integrand is < (1e-3 b)^2/24)
    to Gamma_bar = 60."""
    hi = 10.0
    while float(model.Gamma_bar(hi)) < 60.0:
        hi *= 10.0

    def f(t: float) -> float:
        u = math.exp(t)
        phi = 1.0 - float(model.lambda_bar(u))
        return phi * math.exp(-float(model.Gamma_bar(u))) * _h(b * u)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        value, _ = integrate.quad(
            f, math.log(1e-3), math.log(hi), epsrel=1e-11, epsabs=0, limit=500
        )
    return -value / math.pi


def test_eq32_curve_against_own_quadrature(magneto):
    """The requested accuracy (rtol 1e-3) holds, and so does the error estimate: the code and
    ours agree to 1e-11-7e-9 relative (measured) against estimates 3e-11-4e-8."""
    ds = magneto
    for i, T in enumerate(T2):
        model = _model(T)
        b = 4.0 * constants.e * D * ds.B.values[i] * TAU / constants.hbar
        ref = np.array([_delta_sigma_eq32(model, bb) for bb in b])
        got = ds.delta_sigma_eq32.values[i]
        assert (ref > 0).all()  # weak localisation: sigma grows with B
        np.testing.assert_allclose(got, ref, rtol=MAGNETO_RTOL, err_msg=f"T = {T}")
        bound = 10 * ds.delta_sigma_eq32_error.values[i] + 1e-9 * np.abs(ref)
        assert (np.abs(got - ref) <= bound).all(), (T, np.abs(got - ref), bound)


def test_direct_curve_equals_a_direct_call_of_magnetoconductance(magneto):
    """At 50 mK, with the same fields and D: both meet rtol 1e-3 relative."""
    from cooperon import magnetoconductance

    ds = magneto
    mc = magnetoconductance(_model(T2[0]), ds.B.values[0], D, rtol=MAGNETO_RTOL)
    for c in ("direct", "eq32"):
        np.testing.assert_allclose(
            ds[f"delta_sigma_{c}"].values[0], mc[f"delta_sigma_{c}"].values, rtol=2 * MAGNETO_RTOL
        )
        assert float(ds[f"tau_phi_hln_{c}"][0]) == pytest.approx(
            float(mc[f"tau_phi_hln_{c}"]), rel=10 * MAGNETO_RTOL
        )
    # (24) differs from (32) by about delta ln tau_phi ~ 2e-4 here: less than 1 %
    rel = ds.delta_sigma_direct.values / ds.delta_sigma_eq32.values - 1
    assert (np.abs(rel) < 0.01).all(), rel


def test_hln_fits_against_the_hln_formula(magneto):
    """The fits (alpha = 1) over |Delta sigma| < 1 e^2/h: residuals are Delta sigma minus
    (1/pi)[psi(1/2 + B_phi/B) - ln(B_phi/B)] (scipy's digamma), tau_phi,HLN = hbar/(4eDB_phi)."""
    ds = magneto
    for c in ("direct", "eq32"):
        B_phi = ds[f"B_phi_hln_{c}"].values
        np.testing.assert_array_equal(ds[f"alpha_hln_{c}"].values, 1.0)
        np.testing.assert_allclose(
            ds[f"tau_phi_hln_{c}"].values,
            constants.hbar / (4.0 * constants.e * D * B_phi),
            rtol=1e-14,
        )
        for i in range(len(T2)):
            dsig = ds[f"delta_sigma_{c}"].values[i]
            window = np.abs(dsig) < 1.0
            np.testing.assert_array_equal(ds[f"in_fit_window_{c}"].values[i], window.astype(int))
            assert window.sum() >= 5
            a = B_phi[i] / ds.B.values[i]
            hln = (special.digamma(0.5 + a) - np.log(a)) / math.pi
            res = ds[f"hln_residual_{c}"].values[i]
            np.testing.assert_allclose(res[window], (dsig - hln)[window], rtol=0, atol=1e-12)
            rms = math.sqrt(np.mean(res[window] ** 2))
            assert float(ds[f"fit_rms_{c}"][i]) == pytest.approx(rms, rel=1e-9)
    tp34 = TAU * np.exp(ds.log_tau_phi_eq34.values)
    np.testing.assert_allclose(ds.tau_phi_eq34.values, tp34, rtol=1e-14)
    np.testing.assert_allclose(
        ds.ratio_hln_direct_over_eq34.values, ds.tau_phi_hln_direct.values / tp34, rtol=1e-14
    )
    np.testing.assert_allclose(
        ds.ratio_hln_direct_over_direct.values,
        ds.tau_phi_hln_direct.values / ds.tau_phi_direct.values,
        rtol=1e-14,
    )
    # two temperatures: the local exponent is the slope of the chord, at both ends
    for key in ("eq34", "direct", "hln_direct", "hln_eq32"):
        tp = ds[f"tau_phi_{key}"].values
        chord = -np.log(tp[1] / tp[0]) / np.log(T2[1] / T2[0])
        np.testing.assert_allclose(ds[f"p_{key}"].values, chord, rtol=1e-12)


def test_a_field_window_without_five_points_is_a_reported_fit_status():
    """Fields 100-1e4 B_phi: |Delta sigma| > 1 e^2/h at every one, so no HLN fit: status
    too_few_points (1), B_phi and tau_phi,HLN NaN, and the temperature says why."""
    from cooperon.hln import FitStatus
    from cooperon.studies.magneto_scan import magneto_point
    from cooperon.studies.temperature_config import parse_scan_config

    spec = parse_scan_config(scan_doc("magneto", [5.0]), "magneto").scans[0].spec
    fields = np.geomspace(100.0, 1e4, 5)
    out = magneto_point(
        spec, 5.0, rtol=RTOL, max_history=1e8, fields=fields, D=D,
        magneto_rtol=MAGNETO_RTOL, alpha_free=False,
    )  # fmt: skip
    assert (np.asarray(out["delta_sigma_direct"]) > 1.0).all()
    for c in ("direct", "eq32"):
        assert out[f"fit_status_{c}"] == int(FitStatus.TOO_FEW_POINTS)
        assert math.isnan(out[f"B_phi_hln_{c}"]) and math.isnan(out[f"tau_phi_hln_{c}"])
        assert f"HLN fit ({c}): the fit window holds 0 point(s); at least 5" in out["message"]
    assert out["status"] == 1


# --------------------------------------------------------------------------
# the store with trailing dimensions
# --------------------------------------------------------------------------


def _template(n: int, m: int, dims_curve=("T", "B")) -> xr.Dataset:
    import dask.array as da

    return xr.Dataset(
        {
            "value": (("T",), da.full((n,), np.nan, chunks=-1), {"units": "1"}),
            "curve": (dims_curve, da.full((n, m), np.nan, chunks=-1), {"units": "1"}),
            "status": (("T",), da.full((n,), -1, dtype=np.int8, chunks=-1)),
        },
        coords={"T": np.linspace(1.0, 5.0, n), "B": np.geomspace(0.1, 10.0, m)},
        attrs={"sweep_fingerprint": "abc", "config_toml": "x = 1\n"},
    )


def _chunk(c: int, size: int, n: int, m: int) -> tuple[tuple, dict]:
    rows = np.arange(c * size, min(n, (c + 1) * size))
    arrays = {
        "value": rows * 1.5,
        "curve": rows[:, None] * 10.0 + np.arange(m)[None, :],
        "status": np.zeros(rows.size, np.int8),
    }
    return (slice(rows[0], rows[-1] + 1),), arrays


def test_store_with_a_curve_per_grid_point_writes_reopens_and_resumes(tmp_path):
    from cooperon.studies.store import SweepStore, check_store

    n, m, size = 5, 4, 2  # three chunks, the last one short
    path = tmp_path / "s.zarr"
    fill = {"value": math.nan, "curve": math.nan, "status": -1}
    store = SweepStore.create(path, _template(n, m), (size,), (3,), fill)
    assert store.run == 1 and store.done == set() and store.n_chunks == 3
    import zarr

    group = zarr.open_group(str(path), mode="r")
    assert group["curve"].chunks == (size, m)  # the curve is whole in each chunk
    assert group["value"].chunks == (size,)
    region, arrays = _chunk(0, size, n, m)
    store.write((0,), region, arrays)
    # a second run: reopened, chunk 0 recorded, the rest computed now
    assert check_store(path, "abc", "x = 1\n") is True
    again = SweepStore.open(path)
    assert again.done == {(0,)} and again.run == 2 and again.count_done() == 1
    part = again.load()
    np.testing.assert_array_equal(part.curve.values[:2], arrays["curve"])
    assert np.isnan(part.curve.values[2:]).all() and (part.status.values[2:] == -1).all()
    for c in (1, 2):
        again.write((c,), *_chunk(c, size, n, m))
    assert again.count_done() == 3
    ds = again.load()
    assert ds.curve.dims == ("T", "B") and ds.value.dims == ("T",)
    expect = np.arange(n)[:, None] * 10.0 + np.arange(m)[None, :]
    np.testing.assert_array_equal(ds.curve.values, expect)
    np.testing.assert_array_equal(ds.value.values, np.arange(n) * 1.5)
    assert "chunk_run" not in ds and "chunk_sizes" not in ds.attrs
    with xr.open_zarr(path, consolidated=False) as z:
        np.testing.assert_array_equal(z.chunk_run.values, [1, 2, 2])


def test_store_refuses_a_curve_whose_dimensions_do_not_start_with_the_grid(tmp_path):
    from cooperon.studies.store import SweepStore

    fill = {"value": math.nan, "curve": math.nan, "status": -1}
    with pytest.raises(ValueError, match=r"variable 'curve' has dimensions \('B', 'T'\), which do "
                       r"not start with the grid dimensions \('T',\)"):  # fmt: skip
        SweepStore.create(tmp_path / "s.zarr", _template(5, 5, ("B", "T")), (2,), (3,), fill)
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


# --------------------------------------------------------------------------
# another study's store, a figure that cannot be drawn
# --------------------------------------------------------------------------


def test_a_store_of_another_study_is_refused_even_with_restart(dephasing_run, tmp_path, capsys):
    """`cooperon magneto` into the output directory of `cooperon dephasing` (same model
    name): refused before computing, and --restart does not delete the other study's store."""
    proc, _, out = dephasing_run
    assert proc.returncode == 0, proc.stderr
    mine = tmp_path / "out"
    shutil.copytree(out, mine)
    before = sorted(p.name for p in (mine / "small.zarr").iterdir())
    cfg = write_config(tmp_path / "m.toml", scan_doc("magneto", [0.5]))
    for extra in ([], ["--restart"]):
        args = ["magneto", "--config", str(cfg), "--output-dir", str(mine), "--no-progress"]
        assert main([*args, *extra]) == 2
        err = capsys.readouterr().err
        assert "written by `cooperon dephasing`" in err, err
        assert "choose another --output-dir" in err, err
    assert sorted(p.name for p in (mine / "small.zarr").iterdir()) == before


def test_a_figure_that_cannot_be_drawn_is_a_bug_after_the_data_are_written(
    dephasing_run, tmp_path, monkeypatch
):
    from cooperon.studies import dephasing_scan
    from cooperon.studies.io import FigureError

    proc, cfg, out = dephasing_run
    assert proc.returncode == 0, proc.stderr
    mine = tmp_path / "out"
    shutil.copytree(out, mine)
    (mine / "small.nc").unlink()

    def broken(ds, where):
        raise ValueError("no such colour")

    monkeypatch.setattr(dephasing_scan, "figures", broken)
    with pytest.raises(FigureError, match="the data are written to") as info:
        main(_dephasing_args(cfg, mine))
    assert "no such colour" in str(info.value)
    assert (mine / "small.nc").exists()  # the NetCDF was written before the figures
