"""Tests of cooperon.studies.sweeps: grid evaluation, statuses, schedulers, resumable stores.

Grids are tiny (≤ 3 × 3) and rtol is 1e-6, so a point costs ~5-50 ms after
Numba compilation.  Every comparison of numbers is exact
(``assert_array_equal``): a sweep runs the same deterministic per-point
computation as :func:`cooperon.compare_values`, wherever it runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import cooperon
from cooperon import Parameters, compare_values
from cooperon.studies import comparison
from cooperon.studies.comparison import VARIABLE_NAMES
from cooperon.studies.config import load_toml, parse_sweep_config
from cooperon.studies.execution import available_cpus
from cooperon.studies.schema import Status
from cooperon.studies.store import StoreMismatchError
from cooperon.studies.sweeps import SweepInterrupted, compute_chunk, sweep

REPO = Path(__file__).resolve().parents[3]
RTOL = 1e-6
AXES = {"tau_over_tau3": np.array([0.01, 0.1, 0.3]), "gamma_tau": np.array([0.1, 1.0, 3.0])}
FIXED = {"Dq2_tau": 0.02}
FLOATS = [v for v in VARIABLE_NAMES if v != "converged"]
OUTPUTS = (*VARIABLE_NAMES, "status", "message")


def _assert_same_numbers(a: xr.Dataset, b: xr.Dataset) -> None:
    for v in OUTPUTS:
        np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v)
        if v != "message":
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


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def _leftovers(directory: Path) -> list[Path]:
    """Temporary files or directories anywhere below ``directory``."""
    return [p for p in directory.rglob("*") if p.name.endswith((".tmp", ".partial"))]


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
            assert bool(ds["converged"].values[i, j]) is ref["converged"]
            assert ds["status"].values[i, j] == (Status.OK if ref["converged"] else 1)
            assert (ds["message"].values[i, j] == "") is ref["converged"]


def test_coordinates_variables_and_provenance(local_result):
    ds = local_result
    np.testing.assert_array_equal(ds["tau_over_tau3"].values, AXES["tau_over_tau3"])
    assert ds["tau_over_tau3"].attrs["units"] == "1"
    assert "r₃ = τ/τ₃" in ds["tau_over_tau3"].attrs["long_name"]
    assert "g = γτ/ħ" in ds["gamma_tau"].attrs["long_name"]
    # the other parameters as scalar coordinates (fixed, default 0)
    assert float(ds["Dq2_tau"]) == 0.02 and float(ds["E_tau"]) == 0.0
    for v in OUTPUTS:
        assert ds[v].attrs["long_name"], v
    for v in (*VARIABLE_NAMES, "status"):
        assert ds[v].attrs["units"] == "1", v
    # the status flags are generated from the enum
    flags = ds["status"].attrs
    assert list(flags["flag_values"]) == [s.value for s in Status]
    assert flags["flag_meanings"].split() == [s.name.lower() for s in Status]
    # where each variable is NaN / +inf is generated from the table of variables
    assert ds["F0_direct"].attrs["comment"] == "NaN where status = -1, 3, 4; +inf where status = 2"
    assert ds["lambda_max"].attrs["comment"] == "NaN where status = -1, 3"
    attrs = ds.attrs
    assert attrs["cooperon_version"] == cooperon.__version__
    assert attrs["Conventions"].startswith("CF-")
    assert attrs["rtol"] == RTOL
    assert attrs["date_created"].endswith("Z") and "T" in attrs["date_created"]
    assert attrs["history"].startswith(attrs["date_created"] + ": ")
    assert attrs["executor"] == "this process (synchronous)"
    # the config as TOML reproduces the grid exactly
    cfg = parse_sweep_config(load_toml(attrs["config_toml"]), check_region=False)
    np.testing.assert_array_equal(cfg.axis("gamma_tau").values, AXES["gamma_tau"])
    assert cfg.fixed["Dq2_tau"] == 0.02 and cfg.rtol == RTOL


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_local_pools_give_identical_numbers(local_result, scheduler):
    ds = sweep(AXES, FIXED, rtol=RTOL, scheduler=scheduler, chunks=(1, 3), progress=False)
    _assert_same_numbers(local_result, ds)
    assert ds.attrs["executor"].split()[1:] == (
        ["threads"] if scheduler == "threads" else ["local", "processes", "(fork)"]
    )


def test_compute_chunk_is_deterministic():
    vals = (np.array([0.05]), np.array([0.2, 2.0]))
    a = compute_chunk(("tau_over_tau3", "gamma_tau"), vals, FIXED, RTOL)
    b = compute_chunk(("tau_over_tau3", "gamma_tau"), vals, FIXED, RTOL)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_plan_is_printed_before_the_first_chunk(capsys):
    seen = []

    def on_chunk(index, n):
        seen.append(capsys.readouterr().err)

    sweep(
        {"gamma_tau": [0.1, 1.0]},
        {"tau_over_tau3": 0.1, "Dq2_tau": 0.05},
        rtol=RTOL,
        scheduler="synchronous",
        chunks=1,
        on_chunk=on_chunk,
    )
    plan = seen[0].splitlines()[0]
    assert plan.startswith("sweep: 2 = 2 points (gamma_tau) in 2 chunks of 1, 2 to compute")
    assert "result" in plan and "available" in plan and "ms per point" in plan


# --------------------------------------------------------------------------
# statuses and messages
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
    no_cut = ds["status"].values == Status.NO_CUTOFF
    for v in ("F0_direct", "F0_wkb_eq32", "F0_wkb_eq27"):
        assert np.all(np.isposinf(ds[v].values[no_cut])), v
    for v in ("F0_direct_error", "dev_eq32", "dev_eq27"):
        assert np.all(np.isnan(ds[v].values[no_cut])), v
    assert np.all(ds["lambda_max"].values[no_cut] == 0.0)  # no active channel: sup λ = 0
    invalid = ds["status"].values == Status.INVALID_POINT
    for v in FLOATS:
        assert np.all(np.isnan(ds[v].values[invalid])), v
    assert not ds["converged"].values[no_cut | invalid].any()
    assert ds["converged"].values[1, 1] and np.isfinite(ds["dev_eq27"].values[1, 1])
    messages = ds["message"].values
    assert all(m.startswith("F(0) = infinity") for m in messages[no_cut])
    assert all("tau_over_tau1 + tau_over_tau3" in m for m in messages[invalid])
    assert messages[1, 1] == ""


def _fake_solve_direct(params, rtol):
    """A stand-in for solve_direct: not converged for g < 1, an ArithmeticError above."""
    if params.gamma_tau > 1.0:
        raise ArithmeticError("the history needed exceeds T")
    return types.SimpleNamespace(
        F0=2.0, error_estimate=0.5, converged=False, message="error estimate 0.25 > rtol", rtol=rtol
    )


def test_status_not_converged_and_failed_keep_their_messages(monkeypatch):
    """Status 1 keeps the values; status 4 (an ArithmeticError) gives NaN but λ_max."""
    monkeypatch.setattr(comparison, "solve_direct", _fake_solve_direct)
    ds = sweep(
        {"gamma_tau": [0.5, 2.0]},
        {"tau_over_tau3": 0.1, "Dq2_tau": 0.01},
        rtol=RTOL,
        scheduler="synchronous",
        progress=False,
    )
    np.testing.assert_array_equal(ds["status"].values, [1, 4])
    assert ds["F0_direct"].values[0] == 2.0 and np.isnan(ds["F0_direct"].values[1])
    assert ds["lambda_max"].values[1] == pytest.approx(0.1)
    assert not ds["converged"].values.any()
    assert list(ds["message"].values) == [
        "error estimate 0.25 > rtol",
        "ArithmeticError: the history needed exceeds T",
    ]


@pytest.mark.parametrize("scheduler", ["synchronous", "processes"])
@pytest.mark.parametrize("error", [IndexError, ValueError, RuntimeError])
def test_other_exceptions_propagate_with_their_message(monkeypatch, scheduler, error):
    """A bug (any exception but the declared numerical failures: NoCutoffError and
    ArithmeticError, which includes ZeroDivisionError) is never a status: it
    reaches the caller with its type and message, from this process or from a worker
    (the forked workers inherit the patched function)."""

    def broken(params, rtol):
        raise error("a bug in the solver")

    monkeypatch.setattr(comparison, "solve_direct", broken)
    with pytest.raises(error, match="a bug in the solver"):
        sweep(
            {"gamma_tau": [0.5, 2.0]},
            {"tau_over_tau3": 0.1},
            rtol=RTOL,
            chunks=1,
            scheduler=scheduler,
            progress=False,
        )


# --------------------------------------------------------------------------
# dask.distributed
# --------------------------------------------------------------------------


def test_distributed_cluster_gives_identical_numbers(local_result):
    import distributed

    with distributed.LocalCluster(
        n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client:
            ds = sweep(AXES, FIXED, rtol=RTOL, scheduler=client, chunks=2, progress=False)
            assert client.status == "running"  # a given client is not closed
        # an address string: sweep opens (and closes) its own client
        ds_addr = sweep(
            AXES, FIXED, rtol=RTOL, scheduler=cluster.scheduler_address, chunks=2, progress=False
        )
    _assert_same_numbers(local_result, ds)
    _assert_same_numbers(local_result, ds_addr)
    assert (
        ds_addr.attrs["executor"] == f"dask.distributed at {cluster.scheduler_address} (2 threads)"
    )


# --------------------------------------------------------------------------
# resumable Zarr stores
# --------------------------------------------------------------------------

SMALL = {"tau_over_tau3": [0.01, 0.1], "gamma_tau": [0.1, 1.0, 3.0]}

_KILLED_SWEEP = textwrap.dedent(
    """
    import os, sys
    import cooperon

    def crash(index, n):  # a hard crash (no clean-up at all) after the 2nd chunk
        if n == 2:
            os._exit(86)

    cooperon.sweep({"tau_over_tau3": [0.01, 0.1], "gamma_tau": [0.1, 1.0, 3.0]},
                   {"Dq2_tau": 0.02}, rtol=1e-6, chunks=1, store=sys.argv[1],
                   scheduler="synchronous", progress=False, on_chunk=crash)
    print("finished")
    """
)


def _sweep_small(store: Path | None, **kw) -> xr.Dataset:
    kw.setdefault("scheduler", "synchronous")
    return sweep(SMALL, {"Dq2_tau": 0.02}, rtol=RTOL, chunks=1, store=store, progress=False, **kw)


def test_killed_sweep_resumes_without_recomputing(tmp_path):
    store = tmp_path / "sweep.zarr"
    # 1. a sweep of 6 chunks that dies hard after writing 2 of them
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_SWEEP, str(store)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 86, proc.stderr
    assert "finished" not in proc.stdout
    with xr.open_zarr(store, consolidated=False) as partial:
        runs = partial["chunk_run"].values.copy()
        status = partial["status"].values.copy()
    assert runs.shape == (2, 3)
    assert (runs == 1).sum() == 2 and (runs == 0).sum() == 4
    assert (status >= 0).sum() == 2 and (status == Status.NOT_COMPUTED).sum() == 4

    # 2. the same sweep again: only the 4 missing chunks are computed
    ds = _sweep_small(store)
    assert ds.attrs["chunks_computed_this_run"] == 4
    assert ds.attrs["chunks_total"] == 6
    with xr.open_zarr(store, consolidated=False) as done:
        runs2 = done["chunk_run"].values
    np.testing.assert_array_equal(runs2[runs == 1], 1)  # finished chunks kept from run 1
    np.testing.assert_array_equal(runs2[runs == 0], 2)  # the rest computed by run 2
    assert (ds["status"].values >= 0).all()

    # 3. every point equals an uninterrupted in-memory sweep
    _assert_same_numbers(_sweep_small(None), ds)
    assert "(run 2 on this store: 4 of 6 chunks computed)" in ds.attrs["history"]

    # 4. a third run has nothing to do
    again = _sweep_small(store, scheduler=None)
    assert again.attrs["chunks_computed_this_run"] == 0
    _assert_same_numbers(ds, again)


def test_interrupted_sweep_keeps_what_it_wrote_and_nothing_else(tmp_path):
    """Ctrl-C (a KeyboardInterrupt, here raised after the 3rd chunk): SweepInterrupted says
    how many chunks the store keeps, read back from it; no temporary file is left; a rerun
    completes the store with the numbers of an uninterrupted sweep."""
    store = tmp_path / "s.zarr"

    def interrupt(index, n):
        if n == 3:
            raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted) as info:
        _sweep_small(store, scheduler="processes", on_chunk=interrupt)
    assert (info.value.kept, info.value.total) == (3, 6)
    assert str(info.value) == (
        f"interrupted: 3 of 6 chunks kept in {str(store)!r}; run the same sweep again to "
        "compute only the others"
    )
    assert _leftovers(tmp_path) == []
    with xr.open_zarr(store, consolidated=False) as partial:
        assert int((partial["chunk_run"].values > 0).sum()) == 3
    ds = _sweep_small(store)
    assert ds.attrs["chunks_computed_this_run"] == 3
    _assert_same_numbers(_sweep_small(None), ds)

    # without a store nothing is kept, and the message says so
    with pytest.raises(SweepInterrupted, match=r"6 chunks, none kept \(no store given\)"):
        _sweep_small(None, on_chunk=interrupt)


def test_store_from_another_config_is_refused_or_restarted(tmp_path):
    store = tmp_path / "s.zarr"
    axes = {"gamma_tau": [0.5, 1.0]}
    fixed = {"tau_over_tau3": 0.1, "Dq2_tau": 0.05}
    sweep(axes, fixed, rtol=RTOL, store=store, scheduler="synchronous", progress=False)
    for kwargs, diff in (
        ({"rtol": 1e-7}, ["-rtol = 1e-06", "+rtol = 1e-07"]),
        ({"fixed": {"tau_over_tau3": 0.2, "Dq2_tau": 0.05}}, ["-tau_over_tau3 = 0.1"]),
        ({"axes": {"gamma_tau": [0.5, 2.0]}}, ["+    2.0,"]),
        ({"chunks": 1}, ["-gamma_tau = 2", "+gamma_tau = 1"]),
    ):
        args = {"axes": axes, "fixed": fixed, "rtol": RTOL, **kwargs}
        with pytest.raises(StoreMismatchError, match="made from a different configuration") as e:
            sweep(**args, store=store, scheduler="synchronous", progress=False)
        assert "restart=True" in str(e.value)
        lines = str(e.value).splitlines()
        assert all(d in lines for d in diff), lines
    ds = sweep(
        axes, fixed, rtol=1e-7, store=store, restart=True, scheduler="synchronous", progress=False
    )
    assert ds.attrs["rtol"] == 1e-7 and ds.attrs["chunks_computed_this_run"] == 1
    # not a sweep store at all
    junk = tmp_path / "junk.zarr"
    junk.mkdir()
    (junk / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="not a readable sweep store|not written by"):
        sweep(axes, fixed, rtol=RTOL, store=junk, scheduler="synchronous", progress=False)


def test_netcdf_and_zarr_round_trip_with_attributes(tmp_path):
    store = tmp_path / "rt.zarr"
    nc = tmp_path / "rt.nc"
    ds = sweep(
        {"tau_over_tau1": [0.05, 0.2], "E_tau": [0.0, 0.3]},
        {"Dq2_tau": 0.0},
        rtol=RTOL,
        store=store,
        netcdf=nc,
        scheduler="synchronous",
        progress=False,
        command="pytest round trip",
    )
    assert ds.attrs["history"].endswith(": pytest round trip")
    assert (ds["status"].values[:, 0] == Status.NO_CUTOFF).all()  # eps = 0, Q = 0
    with xr.open_dataset(nc, engine="h5netcdf") as back:
        back = back.load()
    _assert_same_numbers(ds, back)
    _assert_attrs_equal(ds.attrs, back.attrs)
    for v in (*OUTPUTS, "tau_over_tau1", "E_tau", "Dq2_tau"):
        _assert_attrs_equal(ds[v].attrs, back[v].attrs)
    assert back["converged"].dtype == bool and back["status"].dtype == np.int8

    with xr.open_zarr(store, consolidated=False) as z:
        z = z.load()
    assert "chunk_run" in z  # the completion record lives in the store only
    _assert_same_numbers(ds, z)
    for v in OUTPUTS:
        _assert_attrs_equal(ds[v].attrs, z[v].attrs)
    for k in ("config_toml", "cooperon_version", "date_created", "rtol", "history"):
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
    one = {"gamma_tau": [0.1]}
    with pytest.raises(ValueError, match="rtol"):
        sweep(one, {}, rtol=0.5, store=store, progress=False)
    with pytest.raises(ValueError, match="chunks"):
        sweep(one, {}, rtol=RTOL, chunks=0, store=store, progress=False)
    with pytest.raises(ValueError, match="scheduler 'thread' is neither"):
        sweep(one, {}, rtol=RTOL, scheduler="thread", store=store)
    with pytest.raises(ValueError, match=r"store .*missing.* does not exist \(create it first\)"):
        sweep(one, {}, rtol=RTOL, store=tmp_path / "missing" / "s.zarr")
    with pytest.raises(ValueError, match=r"netcdf .*missing.* does not exist"):
        sweep(one, {}, rtol=RTOL, netcdf=tmp_path / "missing" / "s.nc")
    assert list(tmp_path.iterdir()) == []


def test_grid_too_large_for_memory_is_refused_with_the_numbers(tmp_path):
    """10⁵ × 10⁵ points: 106 bytes per point (12 float64 variables, a bool, the int8 status,
    a message reference), twice: 2.12 TB."""
    axis = np.geomspace(1e-3, 0.5, 100_000)
    with pytest.raises(ValueError) as info:
        sweep(
            {"tau_over_tau3": axis, "gamma_tau": axis},
            {"Dq2_tau": 0.01},
            rtol=RTOL,
            store=tmp_path / "huge.zarr",
        )
    msg = str(info.value)
    assert msg.startswith("grid: 100000 × 100000 = 1e+10 points need about 2.12 TB"), msg
    assert "available; use fewer points" in msg
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------
# from a plain script, as in the README
# --------------------------------------------------------------------------

_PLAIN_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import cooperon

    r3 = np.geomspace(1e-3, 0.5, 16)
    g = np.geomspace(1e-2, 10.0, 16)
    ds = cooperon.sweep({"tau_over_tau3": r3, "gamma_tau": g}, fixed={"Dq2_tau": 1e-2},
                        rtol=1e-6, progress=False)
    print(int((ds.status == 0).sum()), ds.attrs["executor"])
    """
)


def test_readme_sweep_runs_from_a_plain_script(tmp_path):
    """No ``if __name__ == "__main__":`` guard: on Linux the default pool forks, and the
    16 × 16 sweep of the README runs on local processes to the end."""
    script = tmp_path / "plain.py"
    script.write_text(_PLAIN_SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script)], env=_env(), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    n_ok, executor = proc.stdout.strip().split(" ", 1)
    assert n_ok == "256"
    if available_cpus() >= 2:
        assert executor.endswith("local processes (fork)"), executor
    assert proc.stderr == ""
