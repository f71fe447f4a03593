"""Tests of cooperon.maps: the ``cooperon map`` job, breakdown boundaries, scaling fits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from cooperon.cli import main
from cooperon.studies.config import load_maps_config
from cooperon.studies.maps import THRESHOLDS, analyse_map, breakdown_boundary, fit_scaling

QUICK_NAMES = [f"{m.name}_quick" for m in load_maps_config().maps]
TAGS = ("eq27", "eq32")
PCTS = tuple(THRESHOLDS)


# --------------------------------------------------------------------------
# the boundary and the fit on synthetic data (exact answers)
# --------------------------------------------------------------------------


def test_boundary_log_interpolation_is_exact_for_a_power_law():
    # |dev| = 0.5 y^2 is a straight line in (log y, log|dev|): the interpolated
    # crossing equals the exact one, y* = sqrt(thr / 0.5), up to rounding
    ys = np.geomspace(1e-3, 1.0, 13)
    dev = -0.5 * ys**2
    for thr in (0.01, 0.1):
        b, kind = breakdown_boundary(dev, ys, thr)
        assert kind == "crossing"
        assert b == pytest.approx(math.sqrt(thr / 0.5), rel=1e-12)


def test_boundary_never_below_grid_and_invalid_points():
    ys = np.array([0.1, 0.2, 0.4, 0.8])
    assert math.isnan(breakdown_boundary([1e-4, 1e-3, 2e-3, 5e-3], ys, 0.01)[0])
    assert breakdown_boundary([1e-4, 1e-3, 2e-3, 5e-3], ys, 0.01)[1] == "never"
    assert breakdown_boundary([0.02, 0.03, 0.1, 0.2], ys, 0.01)[1] == "below_grid"
    assert breakdown_boundary([np.nan] * 4, ys, 0.01)[1] == "no_data"
    # the first crossing counts (a later dip below does not matter)
    b, _ = breakdown_boundary([1e-3, 1e-1, 1e-3, 1e-1], ys, 0.01)
    assert 0.1 < b < 0.2
    # invalid points are skipped: the crossing is bracketed by valid neighbours
    valid = np.array([True, False, True, True])
    b, kind = breakdown_boundary([1e-3, 1.0, 1e-1, 1.0], ys, 0.01, valid)
    assert kind == "crossing"
    assert b == pytest.approx(math.sqrt(0.1 * 0.4), rel=1e-12)  # log-midpoint of 0.1, 0.4


def test_scaling_fit_recovers_an_exact_power_law():
    lam = np.geomspace(1e-3, 0.5, 40)
    fit = fit_scaling(0.4 * lam**1.5, lam)
    assert fit["C"] == pytest.approx(0.4, rel=1e-10)
    assert fit["a"] == pytest.approx(1.5, rel=1e-10)
    # linregress derives the standard errors from 1 - r**2, whose rounding error is ~eps,
    # so an exact power law gives stderr ~ sqrt(eps) |a| ~ 2e-8 rather than 0
    assert fit["a_stderr"] < 1e-7 and fit["C_stderr"] < 1e-7
    assert fit["n"] == 40 - int((0.4 * lam**1.5 >= 0.3).sum())


def test_scaling_fit_standard_errors_match_polyfit():
    rng = np.random.default_rng(1)
    lam = np.geomspace(1e-3, 0.3, 50)
    dev = 0.2 * lam * np.exp(0.1 * rng.standard_normal(lam.size))
    fit = fit_scaling(dev, lam)
    # numpy's polyfit(cov="unscaled") times the residual variance RSS/(n - 2)
    p, cov = np.polyfit(np.log(lam), np.log(dev), 1, cov="unscaled")
    resid = np.log(dev) - np.polyval(p, np.log(lam))
    s2 = resid @ resid / (lam.size - 2)
    assert fit["a"] == pytest.approx(p[0], rel=1e-10)
    assert fit["a_stderr"] == pytest.approx(math.sqrt(s2 * cov[0, 0]), rel=1e-8)
    assert fit["C_stderr"] == pytest.approx(math.exp(p[1]) * math.sqrt(s2 * cov[1, 1]), rel=1e-8)


def test_analyse_map_on_a_synthetic_sweep():
    ys = np.geomspace(1e-3, 0.5, 9)
    xs = np.array([0.1, 1.0])
    lam = np.broadcast_to(ys[:, None], (9, 2))
    ds = xr.Dataset(
        {
            "dev_eq27": (("r", "x"), 0.5 * lam),
            "dev_eq32": (("r", "x"), -(lam**2)),
            "lambda_max": (("r", "x"), lam.copy()),
            "status": (("r", "x"), np.zeros((9, 2), np.int8)),
        },
        coords={"r": ("r", ys, {"scale": "log"}), "x": xs, "Dq2_tau": 0.0},
    )
    out = analyse_map(ds, "x", "r")
    np.testing.assert_allclose(out["boundary_1pct_eq27"].values, [0.02, 0.02], rtol=1e-12)
    np.testing.assert_allclose(out["boundary_10pct_eq32"].values, [0.1**0.5] * 2, rtol=1e-12)
    assert float(out["scaling_a_eq32"]) == pytest.approx(2.0, rel=1e-10)
    assert float(out["scaling_C_eq27"]) == pytest.approx(0.5, rel=1e-10)


# --------------------------------------------------------------------------
# the job
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("maps")
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["map", "--quick", "--output-dir", str(out), "--no-progress"])
    return code, out, buf.getvalue()


def test_cooperon_map_quick_writes_datasets_and_figures(quick_run):
    code, out, stdout = quick_run
    assert code == 0, stdout
    for name in QUICK_NAMES:
        nc, png, store = out / f"{name}.nc", out / f"{name}.png", out / f"{name}.zarr"
        assert nc.is_file() and png.is_file() and store.is_dir(), name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size < 150_000
        with xr.open_dataset(nc, engine="h5netcdf") as ds:
            ds = ds.load()
        assert (ds["status"] == 0).all(), name
        x, y = ds.attrs["map_x"], ds.attrs["map_y"]
        for tag in TAGS:
            for pct in PCTS:
                b = ds[f"boundary_{pct}_{tag}"]
                assert b.dims == (x,) and "threshold" in b.attrs
                finite = np.isfinite(b.values)
                assert (
                    (b.values[finite] >= ds[y].min().item())
                    & (b.values[finite] <= ds[y].max().item())
                ).all()
            for key in ("C", "a", "C_stderr", "a_stderr"):
                v = ds[f"scaling_{key}_{tag}"]
                assert v.dims == () and np.isfinite(float(v)), (name, key, tag)
                assert v.attrs["fit_points"] >= 3
        assert "config_toml" in ds.attrs and ": cooperon map " in ds.attrs["history"]
    assert "| map | closed form | C | a |" in stdout
    assert "wall time" in stdout


TINY = """
[maps.tiny]
title = "tiny"
x = "gamma_tau"
y = "tau_over_tau3"
rtol = 1e-6
[maps.tiny.axes.tau_over_tau3]
values = [0.01, 0.1]
[maps.tiny.axes.gamma_tau]
values = [0.1, 1.0]
[maps.tiny.fixed]
Dq2_tau = 0.05
"""


def test_cooperon_map_resumes_and_refuses_store_from_other_config(tmp_path, capsys):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY)
    out = tmp_path / "out"
    args = ["map", "--config", str(cfg), "--output-dir", str(out), "--no-progress"]
    args += ["--scheduler", "synchronous"]
    assert main(args) == 0
    assert "(1/1 chunks computed now)" in capsys.readouterr().out
    # a second run finds the finished store and computes nothing
    assert main(args) == 0
    assert "(0/1 chunks computed now)" in capsys.readouterr().out
    # another rtol: the store does not match -- refused, unless --restart
    assert main([*args, "--rtol", "1e-5"]) == 2
    err = capsys.readouterr().err
    assert "made from a different configuration" in err and "--restart" in err
    # a diff of the two configurations, not both files
    assert err.splitlines()[-2:] == ["-rtol = 1e-06", "+rtol = 1e-05"]
    assert main([*args, "--rtol", "1e-5", "--restart"]) == 0
    assert "(1/1 chunks computed now)" in capsys.readouterr().out
    with xr.open_dataset(out / "tiny.nc", engine="h5netcdf") as ds:
        assert ds.attrs["rtol"] == 1e-5
        assert "--restart" in ds.attrs["history"]
