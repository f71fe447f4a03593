"""Study: the default breakdown maps, and how honest the direct solver's error estimate is.

Run ``python validation/maps_study.py [--output-dir DIR]`` (a few minutes on
2 cores; ``--quick`` for a smoke run).  Two parts:

1. **The maps** -- exactly what ``cooperon map`` computes from the built-in
   ``cooperon/default_map.toml`` (maps (a) (r₃, g), (b) (r₁, ε), (c)
   (λ_max, Q); see :mod:`cooperon.studies.maps`), written to ``DIR/maps/``: Zarr
   stores, NetCDF files with the breakdown boundaries and scaling fits, PNG
   figures; the scaling laws are printed as a Markdown table.

2. **Convergence of the direct solution of Eq. (24) over the maps** -- each
   map on a coarse grid (``--n`` points per axis, default 8, same ranges) is
   swept twice, at the maps' rtol (1e-6) and at a much tighter one (1e-9).
   Taking the tight run as the reference, the *observed* relative error of
   the loose run, |ΔF0|/F0 = |F0(1e-6) − F0(1e-9)|/F0(1e-9), is compared
   with the error the loose run *reported*, F0_direct_error/F0.  Printed per
   map: the largest observed and reported errors, the largest ratio
   observed/reported (≤ 1 means the estimate was an upper bound everywhere),
   how many points exceed their estimate and how many exceed the requested
   rtol.  The datasets are written to ``DIR/convergence_NAME.nc``.

The reference has its own error (its estimate, printed in the last column),
so an observed difference is counted as *resolved* only where it exceeds the
reference's estimate plus 1e-12 (rounding); the ratio observed/reported and
the count of points above their estimate use resolved points only.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys as _sys
import time
from pathlib import Path as _Path
from typing import Any

import numpy as np
import xarray as xr

# Run from a checkout: make the packages of this repository importable (and not a
# stale install) when the script is started as validation/….py.
_sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))

from cooperon.studies.config import MapsConfig, MapSpec, load_maps_config
from cooperon.studies.execution import Workers, open_workers
from cooperon.studies.io import check_output_dir, write_netcdf
from cooperon.studies.maps import run_maps, scaling_table
from cooperon.studies.schema import provenance
from cooperon.studies.sweeps import run_sweep

#: Relative differences below this (plus the reference's own estimate) are not resolved.
FLOOR = 1e-12


def convergence(
    cfg: MapsConfig, n: int, rtol_ref: float, scheduler: Any, progress: bool
) -> list[tuple[str, float, xr.Dataset]]:
    """Sweep every map at its rtol and at ``rtol_ref`` on an n × n grid (shared workers)."""
    coarse = dataclasses.replace(cfg, quick_num=n).quick()
    with open_workers(scheduler) as workers:
        return [_one_map(m, rtol_ref, workers, progress) for m in coarse.maps]


def _one_map(
    m: MapSpec, rtol_ref: float, workers: Workers, progress: bool
) -> tuple[str, float, xr.Dataset]:
    """One map at its rtol and at ``rtol_ref``: observed vs reported errors."""
    name = m.name.removesuffix("_quick")
    loose = run_sweep(m.sweep, workers=workers, progress=progress, desc=f"{name} loose")
    tight = run_sweep(
        m.sweep.replace(rtol=rtol_ref),
        workers=workers,
        progress=progress,
        desc=f"{name} tight",
    )
    ok = (loose["status"] == 0) & (tight["status"] == 0)
    observed = abs(loose["F0_direct"] - tight["F0_direct"]) / abs(tight["F0_direct"])
    reported = loose["F0_direct_error"] / abs(loose["F0_direct"])
    attrs = provenance(
        f"convergence of the direct F(0) of Eq. (24) over map {name}", "validation/maps_study.py"
    )
    attrs.update(rtol=m.sweep.rtol, rtol_reference=rtol_ref, config_toml=loose.attrs["config_toml"])
    ds = xr.Dataset(
        {
            "F0_loose": loose["F0_direct"],
            "F0_reference": tight["F0_direct"],
            "observed_rel_error": observed.where(ok).assign_attrs(
                long_name="|F0(rtol) - F0(reference)| / F0(reference)", units="1"
            ),
            "reported_rel_error": reported.where(ok).assign_attrs(
                long_name="F0_direct_error / F0 reported by the loose run", units="1"
            ),
            "reference_rel_error": (
                tight["F0_direct_error"] / abs(tight["F0_direct"])
            ).assign_attrs(long_name="error estimate of the reference run", units="1"),
        },
        attrs=attrs,
    )
    return name, m.sweep.rtol, ds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output-dir", default="maps-study", help="where to write (maps-study)")
    ap.add_argument("--n", type=int, default=8, help="points per axis of the convergence grids")
    ap.add_argument("--rtol-ref", type=float, default=1e-9, help="rtol of the reference (1e-9)")
    ap.add_argument("--scheduler", default=None, help="as for cooperon map --scheduler")
    ap.add_argument("--skip-maps", action="store_true", help="only the convergence study")
    ap.add_argument("--quick", action="store_true", help="quick maps and 4 x 4 convergence grids")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    out = check_output_dir(args.output_dir, "--output-dir")
    out.mkdir(exist_ok=True)
    progress = not args.no_progress
    start = time.perf_counter()

    cfg = load_maps_config()
    if not args.skip_maps:
        maps_cfg = cfg.quick() if args.quick else cfg
        t0 = time.perf_counter()
        results = run_maps(
            maps_cfg,
            out / "maps",
            scheduler=args.scheduler,
            progress=progress,
            command="validation/maps_study.py",
        )
        print(f"\nmaps: {time.perf_counter() - t0:.1f} s\n")
        print(scaling_table(results))
        print()

    n = 4 if args.quick else args.n
    t0 = time.perf_counter()
    rows = convergence(cfg, n, args.rtol_ref, args.scheduler, progress)
    print(f"\nconvergence study: {n} x {n} per map, {time.perf_counter() - t0:.1f} s")
    print()
    print(
        "| map | rtol | max observed \\|ΔF0\\|/F0 | max reported error/F0 | "
        "max observed/reported (resolved points) | points above estimate (resolved) | "
        "points above rtol | max reference error/F0 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, rtol, ds in rows:
        obs = ds["observed_rel_error"].values
        rep = ds["reported_rel_error"].values
        ref = ds["reference_rel_error"].values
        fin = np.isfinite(obs) & np.isfinite(rep)
        # an observed difference is resolved if it exceeds the reference's own
        # error estimate plus rounding (FLOOR); below that it says nothing
        resolved = fin & (obs > ref + FLOOR)
        ratio = obs[resolved] / rep[resolved]
        above = int((obs[resolved] > rep[resolved]).sum())
        print(
            f"| {name} | {rtol:g} | {np.max(obs[fin]):.2e} | {np.max(rep[fin]):.2e} | "
            f"{np.max(ratio) if ratio.size else float('nan'):.3f} | "
            f"{above}/{int(resolved.sum())} | {int((obs[fin] > rtol).sum())}/{int(fin.sum())} | "
            f"{float(np.nanmax(ref)):.1e} |"
        )
        write_netcdf(ds, out / f"convergence_{name}.nc")
    print(f"\nwrote {out}; total {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
