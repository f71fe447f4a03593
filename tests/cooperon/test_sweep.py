"""Tests of cooperon.sweep: grid evaluation, status codes, schedulers, resumable stores.

Grids are tiny (≤ 3 × 3) and rtol is 1e-6, so a point costs ~10-50 ms after
Numba compilation.  Every comparison of numbers is exact
(``assert_array_equal``): a sweep runs the same deterministic per-point
computation as :func:`cooperon.compare_values`, wherever it runs.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from cooperon import Parameters, compare_values
from cooperon.compare import VARIABLES
from cooperon.sweep import EXIT_HOOK_CODE, EXIT_HOOK_ENV, STATUS_MEANINGS, compute_chunk, sweep

# the module itself (``cooperon.sweep`` may also be exported as the function)
sweep_module = importlib.import_module("cooperon.sweep")
REPO = Path(__file__).resolve().parents[2]
RTOL = 1e-6
AXES = {"tau_over_tau3": np.array([0.01, 0.1, 0.3]), "gamma_tau": np.array([0.1, 1.0, 3.0])}
FIXED = {"Dq2_tau": 0.02}
FLOATS = [v for v in VARIABLES if v != "converged"]


def _assert_same_numbers(a: xr.Dataset, b: xr.Dataset) -> None:
    for v in (*VARIABLES, "status"):
        np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v)
        assert a[v].dtype == b[v].dtype, v
    for c in a.coords:
        np.testing.assert_array_equal(a[c].values, b[c].values, err_msg=c)


def _assert_attrs_equal(a: dict, b: dict) -> None:
    assert set(a) == set(b), set(a) ^ set(b)
    for k in a:
        if isinstance(a[k], str) or isinstance(b[k], str):
            assert a[k] == b[k], k
        else:
            np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]), err_msg=k)


@pytest.fixture(scope="module")
def local_result() -> xr.Dataset:
    return sweep(AXES, FIXED, rtol=RTOL, scheduler="synchronous", chunks=2, progress=False)


# --------------------------------------------------------------------------
# the grid equals point-by-point compare_values
# --------------------------------------------------------------------------


def test_small_sweep_equals_pointwise_compare_values(local_result):
    ds = local_result
    assert ds["dev_eq27"].dims == ("tau_over_tau3", "gamma_tau")
    assert ds["converged"].dtype == bool
    assert ds["status"].dtype == np.int8
    for i, r3 in enumerate(AXES["tau_over_tau3"]):
        for j, g in enumerate(AXES["gamma_tau"]):
            ref = compare_values(Parameters(tau_over_tau3=r3, gamma_tau=g, **FIXED), rtol=RTOL)
            for v in FLOATS:
                assert ds[v].values[i, j] == ref[v], (v, r3, g)
            assert bool(ds["converged"].values[i, j]) is bool(ref["converged"])
            assert ds["status"].values[i, j] == (0 if ref["converged"] else 1)


def test_coordinates_variables_and_provenance(local_result):
    ds = local_result
    np.testing.assert_array_equal(ds["tau_over_tau3"].values, AXES["tau_over_tau3"])
    assert ds["tau_over_tau3"].attrs["units"] == "1"
    assert "r₃ = τ/τ₃" in ds["tau_over_tau3"].attrs["long_name"]
    assert "g = γτ/ħ" in ds["gamma_tau"].attrs["long_name"]
    # the other parameters as scalar coordinates (fixed, default 0)
    assert float(ds["Dq2_tau"]) == 0.02 and float(ds["E_tau"]) == 0.0
    for v in (*VARIABLES, "status"):
        assert ds[v].attrs["long_name"] and ds[v].attrs["units"] == "1", v
    assert list(ds["status"].attrs["flag_values"]) == sorted(STATUS_MEANINGS)
    attrs = ds.attrs
    import cooperon

    assert attrs["cooperon_version"] == cooperon.__version__
    assert attrs["rtol"] == RTOL
    assert attrs["date_created"].endswith("Z") and "T" in attrs["date_created"]
    assert "command" in attrs and "history" in attrs
    # the config as TOML reproduces the grid exactly
    from cooperon.config import load_toml, parse_sweep_config

    cfg = parse_sweep_config(load_toml(attrs["config_toml"]), check_region=False)
    np.testing.assert_array_equal(cfg.axis("gamma_tau").values, AXES["gamma_tau"])
    assert cfg.fixed["Dq2_tau"] == 0.02 and cfg.rtol == RTOL


def test_threads_scheduler_gives_identical_numbers(local_result):
    ds = sweep(AXES, FIXED, rtol=RTOL, scheduler="threads", chunks=(1, 3), progress=False)
    _assert_same_numbers(local_result, ds)


def test_compute_chunk_is_deterministic():
    vals = (np.array([0.05]), np.array([0.2, 2.0]))
    a = compute_chunk(("tau_over_tau3", "gamma_tau"), vals, FIXED, RTOL)
    b = compute_chunk(("tau_over_tau3", "gamma_tau"), vals, FIXED, RTOL)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


# --------------------------------------------------------------------------
# status codes
# --------------------------------------------------------------------------


def test_status_no_cutoff_and_invalid_points():
    # r1 = 0.3 with eps = 0 does not dephase; Q = 0:
    #   r3 = 0 or g = 0  -> F(0) = infinity (status 2)
    #   r3 = 0.8         -> r1 + r3 = 1.1 > 1 (status 3)
    ds = sweep(
        {"tau_over_tau3": [0.0, 0.5, 0.8], "gamma_tau": [0.0, 0.5]},
        {"tau_over_tau1": 0.3},
        rtol=RTOL,
        scheduler="synchronous",
        progress=False,
    )
    np.testing.assert_array_equal(ds["status"].values, [[2, 2], [2, 0], [3, 3]])
    no_cut = ds["status"].values == 2
    for v in ("F0_direct", "F0_wkb_eq32", "F0_wkb_eq27"):
        assert np.all(np.isposinf(ds[v].values[no_cut])), v
    for v in ("F0_direct_error", "dev_eq32", "dev_eq27"):
        assert np.all(np.isnan(ds[v].values[no_cut])), v
    invalid = ds["status"].values == 3
    for v in FLOATS:
        assert np.all(np.isnan(ds[v].values[invalid])), v
    assert not ds["converged"].values[no_cut | invalid].any()
    assert ds["converged"].values[1, 1] and np.isfinite(ds["dev_eq27"].values[1, 1])


def test_status_not_converged_and_failed(monkeypatch):
    """Status 1 keeps the values; status 4 (solver raised) gives NaN."""

    def fake_compare(params, rtol):
        if params.gamma_tau > 1.0:
            raise ArithmeticError("the history needed exceeds T")
        out = dict.fromkeys(FLOATS, 0.5)
        out["converged"] = 0.0
        return out

    monkeypatch.setattr(sweep_module, "compare_values", fake_compare)
    ds = sweep(
        {"gamma_tau": [0.5, 2.0]},
        {"tau_over_tau3": 0.1, "Dq2_tau": 0.01},
        rtol=RTOL,
        scheduler="synchronous",
        progress=False,
    )
    np.testing.assert_array_equal(ds["status"].values, [1, 4])
    assert ds["F0_direct"].values[0] == 0.5 and np.isnan(ds["F0_direct"].values[1])
    assert ds["lambda_max"].values[1] == pytest.approx(0.1)
    assert not ds["converged"].values.any()


# --------------------------------------------------------------------------
# dask.distributed
# --------------------------------------------------------------------------


def test_distributed_cluster_gives_identical_numbers(local_result):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client:
            ds = sweep(AXES, FIXED, rtol=RTOL, scheduler=client, chunks=2, progress=False)
        # an address string: sweep opens (and closes) its own client
        ds_addr = sweep(
            AXES, FIXED, rtol=RTOL, scheduler=cluster.scheduler_address, chunks=2, progress=False
        )
    _assert_same_numbers(local_result, ds)
    _assert_same_numbers(local_result, ds_addr)


# --------------------------------------------------------------------------
# resumable Zarr stores
# --------------------------------------------------------------------------

_KILLED_SWEEP = textwrap.dedent(
    """
    import sys
    from cooperon.sweep import sweep
    sweep({"tau_over_tau3": [0.01, 0.1], "gamma_tau": [0.1, 1.0, 3.0]},
          {"Dq2_tau": 0.02}, rtol=1e-6, chunks=1, store=sys.argv[1],
          scheduler="synchronous", progress=False)
    print("finished")
    """
)


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def test_killed_sweep_resumes_without_recomputing(tmp_path):
    store = tmp_path / "sweep.zarr"
    # 1. a sweep of 6 chunks that dies hard (os._exit) after writing 2 of them
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_SWEEP, str(store)],
        env=_env(**{EXIT_HOOK_ENV: "2"}),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == EXIT_HOOK_CODE, proc.stderr
    assert "finished" not in proc.stdout
    with xr.open_zarr(store, consolidated=False) as partial:
        runs = partial["chunk_run"].values.copy()
        status = partial["status"].values.copy()
    assert runs.shape == (2, 3)
    assert (runs == 1).sum() == 2 and (runs == 0).sum() == 4
    assert (status >= 0).sum() == 2 and (status == -1).sum() == 4  # -1: not computed

    # 2. the same sweep again: only the 4 missing chunks are computed
    ds = sweep(
        {"tau_over_tau3": [0.01, 0.1], "gamma_tau": [0.1, 1.0, 3.0]},
        {"Dq2_tau": 0.02},
        rtol=RTOL,
        chunks=1,
        store=store,
        scheduler="synchronous",
        progress=False,
    )
    assert ds.attrs["chunks_computed_this_run"] == 4
    assert ds.attrs["chunks_total"] == 6
    with xr.open_zarr(store, consolidated=False) as done:
        runs2 = done["chunk_run"].values
    np.testing.assert_array_equal(runs2[runs == 1], 1)  # finished chunks kept from run 1
    np.testing.assert_array_equal(runs2[runs == 0], 2)  # the rest computed by run 2
    assert (ds["status"].values >= 0).all()

    # 3. every point equals an uninterrupted in-memory sweep
    ref = sweep(
        {"tau_over_tau3": [0.01, 0.1], "gamma_tau": [0.1, 1.0, 3.0]},
        {"Dq2_tau": 0.02},
        rtol=RTOL,
        scheduler="synchronous",
        progress=False,
    )
    _assert_same_numbers(ref, ds)

    assert "run 2 on this store: 4 of 6 chunks computed" in ds.attrs["history"]

    # 4. a third run has nothing to do
    again = sweep(
        {"tau_over_tau3": [0.01, 0.1], "gamma_tau": [0.1, 1.0, 3.0]},
        {"Dq2_tau": 0.02},
        rtol=RTOL,
        chunks=1,
        store=store,
        progress=False,
    )
    assert again.attrs["chunks_computed_this_run"] == 0
    _assert_same_numbers(ds, again)


def test_store_from_another_config_is_refused(tmp_path):
    store = tmp_path / "s.zarr"
    axes = {"gamma_tau": [0.5, 1.0]}
    fixed = {"tau_over_tau3": 0.1, "Dq2_tau": 0.05}
    sweep(axes, fixed, rtol=RTOL, store=store, scheduler="synchronous", progress=False)
    for kwargs in (
        {"rtol": 1e-7},
        {"fixed": {"tau_over_tau3": 0.2, "Dq2_tau": 0.05}},
        {"axes": {"gamma_tau": [0.5, 2.0]}},
        {"chunks": 1},
    ):
        args = {"axes": axes, "fixed": fixed, "rtol": RTOL, **kwargs}
        with pytest.raises(ValueError, match="different sweep configuration"):
            sweep(**args, store=store, scheduler="synchronous", progress=False)
    # not a sweep store at all
    junk = tmp_path / "junk.zarr"
    junk.mkdir()
    (junk / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="not a readable cooperon sweep store|not written by"):
        sweep(axes, fixed, rtol=RTOL, store=junk, scheduler="synchronous", progress=False)


def test_netcdf_and_zarr_round_trip_with_attributes(tmp_path):
    store = tmp_path / "rt.zarr"
    nc = tmp_path / "rt.nc"
    ds = sweep(
        {"tau_over_tau1": [0.05, 0.2], "E_tau": [0.3]},
        {"Dq2_tau": 0.0},
        rtol=RTOL,
        store=store,
        netcdf=nc,
        scheduler="synchronous",
        progress=False,
        command="pytest round trip",
    )
    assert ds.attrs["command"] == "pytest round trip"
    with xr.open_dataset(nc, engine="h5netcdf") as back:
        back = back.load()
    _assert_same_numbers(ds, back)
    _assert_attrs_equal(ds.attrs, back.attrs)
    for v in (*VARIABLES, "status", "tau_over_tau1", "E_tau", "Dq2_tau"):
        _assert_attrs_equal(ds[v].attrs, back[v].attrs)
    assert back["converged"].dtype == bool and back["status"].dtype == np.int8

    with xr.open_zarr(store, consolidated=False) as z:
        z = z.load()
    assert "chunk_run" in z  # the completion record lives in the store only
    _assert_same_numbers(ds, z)
    for v in (*VARIABLES, "status"):
        _assert_attrs_equal(ds[v].attrs, z[v].attrs)
    for k in ("config_toml", "cooperon_version", "date_created", "rtol", "command"):
        assert z.attrs[k] == ds.attrs[k], k


def test_invalid_arguments_refused_before_any_work(tmp_path):
    store = tmp_path / "never.zarr"
    bad = [
        ({"gamma": [0.1]}, {}, "axes.gamma"),
        ({"gamma_tau": []}, {}, "axes.gamma_tau.values"),
        ({"gamma_tau": [0.1, np.nan]}, {}, r"axes.gamma_tau.values\[1\]"),
        ({"gamma_tau": [0.1, 0.05]}, {}, r"axes.gamma_tau.values\[1\]"),
        ({"gamma_tau": [[0.1, 0.2]]}, {}, "axes.gamma_tau.values"),
        ({"gamma_tau": [0.1]}, {"gamma_tau": 1.0}, "fixed.gamma_tau"),
        ({"gamma_tau": [0.1]}, {"Dq2": 1.0}, "fixed.Dq2"),
    ]
    for axes, fixed, key in bad:
        with pytest.raises(ValueError, match=key):
            sweep(axes, fixed, rtol=RTOL, store=store, progress=False)
    with pytest.raises(ValueError, match="rtol"):
        sweep({"gamma_tau": [0.1]}, {}, rtol=0.5, store=store, progress=False)
    with pytest.raises(ValueError, match="chunks"):
        sweep({"gamma_tau": [0.1]}, {}, rtol=RTOL, chunks=0, store=store, progress=False)
    with pytest.raises(ValueError, match="scheduler"):
        sweep({"gamma_tau": [0.1]}, {}, rtol=RTOL, scheduler="thread", store=store)
    assert not store.exists()
