"""Tests of cooperon.maps and cooperon.studies.figures: the ``cooperon map`` job, breakdown
boundaries, |dev| statistics and scaling fits for every closed form and both steps, the figure."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from cooperon.cli import main
from cooperon.studies.config import load_maps_config
from cooperon.studies.maps import (
    DEVIATIONS,
    THRESHOLDS,
    analyse_map,
    breakdown_boundary,
    fit_scaling,
    scaling_table,
)

QUICK_NAMES = [f"{m.name}_quick" for m in load_maps_config().maps]
TAGS = tuple(DEVIATIONS)
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
        assert png.stat().st_size < 400_000  # six panels, 1400 × 960 px
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
            # the statistics are those of the stored deviations (every point converged)
            absdev = np.abs(ds[f"dev_{tag}"].values)
            assert float(ds[f"median_abs_dev_{tag}"]) == np.median(absdev)
            assert float(ds[f"max_abs_dev_{tag}"]) == absdev.max()
            assert ds[f"max_abs_dev_{tag}"].attrs["points"] == absdev.size
        assert "config_toml" in ds.attrs and ": cooperon map " in ds.attrs["history"]
        # the local closure is far better than Eq. (32) on every map (docs/closed_forms.md §10:
        # median ratio 0.0012 on 243 map points; here at most 0.05 on the 6 × 6 grids)
        assert float(ds.median_abs_dev_local_closure) < 0.05 * float(ds.median_abs_dev_eq32)
    assert "| map | closed form | median \\|dev\\| | max \\|dev\\| | C | a |" in stdout
    assert "| ODE step: (29) solved, against Eq. (24) |" in stdout
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


def _tiny_map(tmp_path) -> tuple[list[str], object]:
    """The arguments of ``cooperon map`` on the TINY configuration, and its output directory."""
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY)
    out = tmp_path / "out"
    args = ["map", "--config", str(cfg), "--output-dir", str(out), "--no-progress"]
    return [*args, "--scheduler", "synchronous"], out


def test_cooperon_map_resumes_and_refuses_store_from_other_config(tmp_path, capsys):
    args, out = _tiny_map(tmp_path)
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


def test_a_map_figure_that_cannot_be_drawn_is_a_bug_after_the_data_are_written(
    tmp_path, monkeypatch
):
    """A plotting failure is not bad input: not exit 2 but FigureError (exit 1, traceback),
    raised after the NetCDF file is written."""
    from cooperon.studies import figures
    from cooperon.studies.io import FigureError

    def broken(*args, **kwargs):
        raise ValueError("no such colour")

    monkeypatch.setattr(figures, "plot_map", broken)
    args, out = _tiny_map(tmp_path)
    with pytest.raises(FigureError, match="the data are written to"):
        main(args)
    assert (out / "tiny.nc").exists()


# --------------------------------------------------------------------------
# every closed form and both steps, on a synthetic map with failed points
# --------------------------------------------------------------------------

#: dev_TAG = K[TAG] λ: |dev| reaches a threshold t at λ = t/K exactly
K = {"eq32": -0.5, "eq27": 0.4, "local_closure": 1e-3, "ode_step": -0.2, "wkb_step": 0.25}


def _synthetic(status_at: dict | None = None) -> xr.Dataset:
    ys = np.geomspace(1e-3, 0.5, 9)
    xs = np.array([0.1, 1.0])
    lam = np.broadcast_to(ys[:, None], (9, 2)).copy()
    data = {f"dev_{t}": (("r", "x"), k * lam) for t, k in K.items()}
    data["lambda_max"] = (("r", "x"), lam)
    data["status"] = (("r", "x"), np.zeros((9, 2), np.int8))
    data["F0_direct"] = (("r", "x"), 1 / lam)
    data["F0_direct_error"] = (("r", "x"), 1e-9 / lam)
    ds = xr.Dataset(data, coords={"r": ("r", ys, {"scale": "log"}), "x": xs, "Dq2_tau": 0.01})
    for (i, j), (status, nan) in (status_at or {}).items():
        ds["status"][i, j] = status
        for name in nan:
            ds[name][i, j] = np.nan
    return ds


def test_analyse_map_covers_every_deviation_with_failed_points():
    """Status 5 with the ODE variables NaN: those two deviations skip the point, the others
    use it; a status-1 point (direct not converged) is used by none.

    dev = K λ on a log grid is a straight line in (log λ, log|dev|): the interpolated
    crossings are exact (1e-12); the fits recover C = |K|, a = 1.
    """
    ys = np.geomspace(1e-3, 0.5, 9)
    k_ode = ys.searchsorted(0.01 / 0.2)  # first row with |dev_ode_step| >= 1 %
    failed = {
        (k_ode, 1): (5, ("dev_ode_step", "dev_wkb_step")),
        (2, 0): (1, ()),
    }
    out = analyse_map(_synthetic(failed), "x", "r")
    for tag, k in K.items():
        for pct, thr in THRESHOLDS.items():
            expect = thr / abs(k)
            b = out[f"boundary_{pct}_{tag}"].values
            if expect > ys[-1]:
                assert np.isnan(b).all(), (tag, pct)
                assert "stays below it (2 columns)" in out[f"boundary_{pct}_{tag}"].attrs["comment"]
            else:
                np.testing.assert_allclose(b, expect, rtol=1e-12, err_msg=f"{tag} {pct}")
        a, C = float(out[f"scaling_a_{tag}"]), float(out[f"scaling_C_{tag}"])
        assert a == pytest.approx(1.0, rel=1e-10) and C == pytest.approx(abs(k), rel=1e-10)
        n_valid = 18 - 1 - (tag in ("ode_step", "wkb_step"))
        assert out[f"max_abs_dev_{tag}"].attrs["points"] == n_valid
        assert float(out[f"max_abs_dev_{tag}"]) == pytest.approx(abs(k) * 0.5, rel=1e-15)
        assert out[f"max_abs_dev_{tag}"].attrs["location"].startswith("r=0.5")
    # the ODE column without its bracketing point is interpolated between its neighbours
    lo, hi = ys[k_ode - 1], ys[k_ode + 1]
    w = (np.log(0.01) - np.log(0.2 * lo)) / (np.log(0.2 * hi) - np.log(0.2 * lo))
    assert float(out["boundary_1pct_ode_step"][1]) == pytest.approx(
        np.exp(np.log(lo) + w * (np.log(hi) - np.log(lo))), rel=1e-12
    )


def test_scaling_fit_leaves_out_unresolved_deviations():
    """A deviation below 10× the direct solution's estimated relative error is not resolved."""
    ds = _synthetic()
    ds["F0_direct_error"] = ds["F0_direct"] * 2e-5  # relative error 2e-5: |dev| < 2e-4 out
    out = analyse_map(ds, "x", "r")
    absdev = np.abs(ds["dev_local_closure"].values)
    assert out["scaling_a_local_closure"].attrs["fit_points"] == int((absdev >= 2e-4).sum())
    assert "F0_direct_error" in out["scaling_a_local_closure"].attrs["fit_selection"]


def test_scaling_table_has_a_row_per_map_and_deviation():
    from cooperon.studies.config import MapSpec

    spec = MapSpec(name="syn", sweep=None, title="t", x="x", y="r")
    table = scaling_table([(spec, analyse_map(_synthetic(), "x", "r"))])
    lines = table.splitlines()
    assert len([ln for ln in lines if ln.startswith("| syn |")]) == len(DEVIATIONS)
    assert lines[-1].startswith("Fit selection (every fit): direct solution converged")
    row = next(ln for ln in lines if "Eq. (32) as printed" in ln)
    assert "| 0.5 ± " in row and "| 1.000 ± " in row  # C = 0.5, a = 1
    # two maps: the statistics over both, then the rows of the pooled points
    other = _synthetic()
    other["dev_eq32"] = 2 * other["dev_eq32"]
    two = scaling_table([(spec, analyse_map(_synthetic(), "x", "r")), (spec, other)])
    pooled = [ln for ln in two.splitlines() if ln.startswith("| all maps (36 points) |")]
    assert len(pooled) == len(DEVIATIONS)
    both = np.abs(np.concatenate([_synthetic()["dev_eq32"].values, other["dev_eq32"].values]))
    assert f"| Eq. (32) as printed | {np.median(both):.2g} | {both.max():.2g} |" in pooled[0]


def test_map_refuses_a_store_written_without_the_new_outputs(tmp_path, capsys):
    """A store of the same configuration from a version with fewer outputs is not resumed."""
    import shutil

    args, out = _tiny_map(tmp_path)
    assert main(args) == 0
    shutil.rmtree(out / "tiny.zarr" / "dev_wkb_step")  # as written before it existed
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "written by another version of cooperon (outputs missing: dev_wkb_step" in err
    assert main([*args, "--restart"]) == 0
    assert "(1/1 chunks computed now)" in capsys.readouterr().out


# --------------------------------------------------------------------------
# the figure
# --------------------------------------------------------------------------


def _panels(fig):
    return [ax for ax in fig.axes if ax.get_title()]


def test_colour_range_spans_the_data_within_floor_and_ceiling():
    from cooperon.studies.figures import colour_range, ratio_range

    v = np.linspace(-3.0, -0.5, 1001)  # the data of Eq. (32) on the maps
    assert colour_range(v) == (-3.0, -0.5)
    assert colour_range(v - 0.2) == (-3.5, -0.5)  # out to half decades
    assert colour_range(np.linspace(-9, -3, 1001), floor=-6.0) == (-6.0, -3.0)
    assert colour_range(np.linspace(-2, 3, 1001)) == (-2.0, 1.0)  # |dev| = 10 at most
    assert colour_range(np.array([np.nan])) == (-3.0, 0.0)
    assert ratio_range(np.linspace(-0.3, 0.3, 1001)) == 0.5  # 95th percentile 0.285
    assert ratio_range(np.linspace(-0.1, 0.1, 101)) == 0.25
    assert ratio_range(np.linspace(-9, 9, 101)) == 2.0


def test_figure_has_a_panel_per_form_and_step_with_complete_contours(tmp_path):
    """Six panels; every contour of a deviation that depends on y alone spans the whole x
    range (no segments lost under labels); colour scales from the data; failed points grey."""
    from cooperon.studies.figures import DEV_LABELS, colour_range, plot_map

    failed = {(4, 1): (5, ("dev_ode_step", "dev_wkb_step")), (0, 0): (4, tuple(DEV_LABELS))}
    ds = _synthetic(failed)
    png = tmp_path / "syn.png"
    fig = plot_map(ds, "x", "r", png, title="synthetic")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    panels = _panels(fig)
    assert len(panels) == 6
    titles = [ax.get_title() for ax in panels]
    for name, label in DEV_LABELS.items():
        i = next(k for k, t in enumerate(titles) if t.startswith(label))
        absdev = np.abs(ds[name].values[np.isin(ds["status"].values, (0, 5))])
        absdev = absdev[np.isfinite(absdev)]
        assert f"median |dev| {np.median(absdev):.2g}" in titles[i], name
        ax = panels[i]
        mesh = ax.collections[0]
        logd = np.log10(absdev)
        group = ("dev_eq32", "dev_eq27") if name in ("dev_eq32", "dev_eq27") else None
        if group is None and name != "dev_local_closure":
            group = ("dev_ode_step", "dev_wkb_step")
        if group:
            pooled = np.concatenate(
                [
                    np.log10(np.abs(ds[g].values[np.isin(ds["status"].values, (0, 5))]))
                    for g in group
                ]
            )
            logd = pooled
        assert (mesh.norm.vmin, mesh.norm.vmax) == colour_range(logd), name
    assert "which step fails" in titles[-1]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "|dev| = 1 %" in labels and "|dev| = 10 %" in labels
    assert any(lbl.startswith("no value") for lbl in labels)
    assert not any("guide" in lbl for lbl in labels)  # λ_max is the y axis itself here


def test_figure_contours_span_the_whole_panel():
    """|dev| = K λ depends on y alone: each 1 % / 10 % contour inside the grid is a line from the
    first to the last x (the old figures lost segments under their inline labels)."""
    from cooperon.studies.figures import DEV_LABELS, plot_map

    fig = plot_map(_synthetic(), "x", "r")
    panels = {ax.get_title().split("\n")[0]: ax for ax in _panels(fig)}
    checked = 0
    for name, label in DEV_LABELS.items():
        tag = name.removeprefix("dev_")
        levels = [lv for lv in (-2.0, -1.0) if 10**lv / abs(K[tag]) < 0.5]
        sets = [
            c
            for c in panels[label].collections
            if list(getattr(c, "levels", [])) in ([lv] for lv in levels)
        ]
        assert len(sets) == len(levels), name
        for cs in sets:
            pts = np.concatenate(cs.allsegs[0])
            # the ends are the grid's first and last x (to the rounding of the log transform)
            assert pts[:, 0].min() == pytest.approx(0.1, rel=1e-12), name
            assert pts[:, 0].max() == pytest.approx(1.0, rel=1e-12), name
            checked += 1
    assert checked == 7  # 1 % and 10 % of eq32, eq27, wkb; 1 % of ode (10 % at the edge, 0.5)


def test_figure_draws_labelled_lambda_guides_across_the_panel():
    """λ_max = 2 r₁ (map b): guide lines over the whole x range, labelled on the left column."""
    from cooperon.studies.figures import plot_map

    ds = _synthetic()
    ds["lambda_max"] = 2 * ds["lambda_max"]
    fig = plot_map(ds, "x", "r")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("guide" in lbl for lbl in labels)
    panels = _panels(fig)
    texts = [t.get_text() for t in panels[0].texts]
    assert r"$\lambda_{\max} = 0.01$" in texts and r"$\lambda_{\max} = 0.3$" in texts
    assert not panels[1].texts  # labelled once per row, on the left
    guides = [c for c in panels[0].collections[1:] if list(getattr(c, "levels", []))[:1] == [0.003]]
    assert guides, "no λ_max guide contour"
    for segs in guides[0].allsegs:
        pts = np.concatenate(segs)
        assert pts[:, 0].min() == pytest.approx(0.1, rel=1e-12)
        assert pts[:, 0].max() == pytest.approx(1.0, rel=1e-12)
