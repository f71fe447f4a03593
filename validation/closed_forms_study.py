"""Study: the closed forms of F(0) against the direct solution of Eq. (24) on the map points.

Run ``python validation/closed_forms_study.py [--stride 4] [--output FILE.nc]``
(a few minutes on a shared 2-core machine at the default stride).

The points are those of the three default maps of ``cooperon map``
(``cooperon/default_map.toml``: (a) (r₃, g), (b) (r₁, ε), (c) (λ_max, Q),
32 × 32 each), taking every ``--stride``-th value of each axis and the last one (stride 4:
indices 0, 4, …, 28, 31, i.e. 9 × 9 points per map, 243 in all).  At every point:

* ``F0_direct`` -- :func:`cooperon.solve_direct` at rtol = 1e-9 (its error
  estimate is kept; every |dev| reported is ≫ it, or flagged);
* the closed forms of :mod:`cooperon.closed_forms`: Eq. (32) as printed, the
  consistent Eq. (27) (∫e^ϑ), the local closure at order 0 and 1, plain and
  iterated, and the ODE step (29) at rtol = 1e-8;
* ``dev_NAME`` = F0_NAME/F0_direct − 1, plus ``dev_ode_step`` =
  F_ODE/F_direct − 1 and ``dev_wkb_step`` = F_(27)/F_ODE − 1 (which of the
  paper's two steps fails where);
* the time of each form (the shortest of 3 evaluations after a warm-up; the
  machine is shared, so times are indicative).

Printed: a Markdown table of median and max |dev| per form (all maps and per
map), the ratio of each median to that of Eq. (32), the median and 90th
percentile of the time per point, and the worst points of the closures and
of the ODE step.  Written: a NetCDF
dataset with one ``point`` dimension (coordinates: map name and the five
parameters).
"""

from __future__ import annotations

import argparse
import math
import sys as _sys
import time
from collections.abc import Callable
from pathlib import Path
from pathlib import Path as _Path

import numpy as np
import xarray as xr

# Run from a checkout: make the packages of this repository importable (and not a
# stale install) when the script is started as validation/….py.
_sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))

from cooperon import Parameters, closed_forms, solve_direct
from cooperon.model import lambda_max
from cooperon.studies.config import load_maps_config
from cooperon.studies.io import write_netcdf

RTOL_DIRECT = 1e-9
RTOL_ODE = 1e-8
PARAMS = ("tau_over_tau1", "tau_over_tau3", "E_tau", "gamma_tau", "Dq2_tau")

#: name → (function of Parameters returning F(0), description)
FORMS: dict[str, tuple[Callable[[Parameters], float], str]] = {
    "eq32": (closed_forms.F0_eq32, "Eq. (32) as printed"),
    "eq27": (closed_forms.F0_wkb_eq27, "Eq. (27) + WKB, consistent: ∫e^ϑ"),
    "closure0": (
        lambda p: closed_forms.F0_local_closure(p, 0, iterated=False),
        "local closure, order 0",
    ),
    "closure1": (
        lambda p: closed_forms.F0_local_closure(p, 1, iterated=False),
        "local closure, order 1",
    ),
    "closure0_iter": (
        lambda p: closed_forms.F0_local_closure(p, 0, iterated=True),
        "iterated local closure, order 0",
    ),
    "closure1_iter": (
        lambda p: closed_forms.F0_local_closure(p, 1, iterated=True),
        "iterated local closure, order 1",
    ),
    "ode": (lambda p: closed_forms.F0_ode_step(p, RTOL_ODE).F0, "ODE (29), solved numerically"),
}


def _thin(values: np.ndarray, stride: int) -> np.ndarray:
    """Every stride-th value, and the last one (so the corners of the map are kept)."""
    idx = sorted(set(range(0, values.size, stride)) | {values.size - 1})
    return values[idx]


def points(stride: int) -> list[tuple[str, Parameters]]:
    """(map name, parameters): every stride-th value (and the last) of both axes of each map."""
    out = []
    for m in load_maps_config().maps:
        xs = _thin(m.sweep.axis(m.x).values, stride)
        ys = _thin(m.sweep.axis(m.y).values, stride)
        for yv in ys:
            for xv in xs:
                kw = {**m.sweep.fixed, m.x: float(xv), m.y: float(yv)}
                out.append((m.name, Parameters(**kw)))
    return out


def _timed(f: Callable[[], float], repeat: int = 3) -> tuple[float, float]:
    """f() and the shortest of ``repeat`` timings (the others include the machine's load)."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        value = f()
        best = min(best, time.perf_counter() - start)
    return float(value), best


def evaluate(pts: list[tuple[str, Parameters]], progress: bool = True) -> xr.Dataset:
    """All forms and the direct solution at every point, as one Dataset."""
    p0 = pts[0][1]
    for f, _ in FORMS.values():  # warm-up: Numba compilation / cache loading
        f(p0)
    solve_direct(p0, RTOL_DIRECT)
    n = len(pts)
    data = {f"F0_{k}": np.full(n, np.nan) for k in FORMS}
    data.update({f"seconds_{k}": np.full(n, np.nan) for k in FORMS})
    data.update(
        F0_direct=np.full(n, np.nan),
        F0_direct_error=np.full(n, np.nan),
        seconds_direct=np.full(n, np.nan),
        lambda_max=np.full(n, np.nan),
        ode_error=np.full(n, np.nan),
    )
    for i, (_, p) in enumerate(pts):
        sol, dt = None, 0.0
        start = time.perf_counter()
        sol = solve_direct(p, RTOL_DIRECT)
        dt = time.perf_counter() - start
        data["F0_direct"][i] = sol.F0
        data["F0_direct_error"][i] = sol.error_estimate
        data["seconds_direct"][i] = dt
        data["lambda_max"][i] = lambda_max(p)
        for k, (f, _) in FORMS.items():
            data[f"F0_{k}"][i], data[f"seconds_{k}"][i] = _timed(lambda f=f, p=p: f(p))
        data["ode_error"][i] = closed_forms.F0_ode_step(p, RTOL_ODE).error_estimate
        if progress and (i + 1) % 16 == 0:
            print(f"  {i + 1}/{n} points", flush=True)
    direct = data["F0_direct"]
    variables = {k: ("point", v) for k, v in data.items()}
    for k in FORMS:
        variables[f"dev_{k}"] = ("point", data[f"F0_{k}"] / direct - 1.0)
    variables["dev_ode_step"] = ("point", data["F0_ode"] / direct - 1.0)
    variables["dev_wkb_step"] = ("point", data["F0_eq27"] / data["F0_ode"] - 1.0)
    coords = {"map": ("point", [name for name, _ in pts])}
    for name in PARAMS:
        coords[name] = ("point", [getattr(p, name) for _, p in pts])
    ds = xr.Dataset(variables, coords=coords)
    for k, (_, desc) in FORMS.items():
        ds[f"F0_{k}"].attrs["long_name"] = f"F(0), {desc}"
        ds[f"dev_{k}"].attrs["long_name"] = f"F0_{k}/F0_direct - 1"
        ds[f"seconds_{k}"].attrs.update(long_name=f"time of F0_{k}", units="s")
    ds["dev_ode_step"].attrs["long_name"] = "F_ODE(0)/F_direct(0) - 1 (the ODE step (29))"
    ds["dev_wkb_step"].attrs["long_name"] = "F_(27)(0)/F_ODE(0) - 1 (the WKB step (31))"
    ds["F0_direct"].attrs["long_name"] = f"F(0), direct solution of Eq. (24), rtol={RTOL_DIRECT}"
    ds["F0_direct_error"].attrs["long_name"] = "error estimate of F0_direct"
    ds["seconds_direct"].attrs.update(long_name="time of solve_direct", units="s")
    ds["ode_error"].attrs["long_name"] = "error estimate of F0_ode"
    ds.attrs["source"] = "validation/closed_forms_study.py"
    ds.attrs["points"] = "every stride-th value of both axes of the default maps"
    return ds


def _stats(x: np.ndarray) -> tuple[float, float]:
    a = np.abs(x[np.isfinite(x)])
    return float(np.median(a)), float(np.max(a))


def table(ds: xr.Dataset) -> str:
    """Markdown table: median/max |dev| per form, overall and per map, and times."""
    maps = list(dict.fromkeys(ds["map"].values.tolist()))
    ref = _stats(ds["dev_eq32"].values)[0]
    head = "| form | median \\|dev\\| | max \\|dev\\| | median / (32) |"
    head += "".join(f" {m}: median / max |" for m in maps) + " time median / p90 |"
    lines = [head, "|" + "---|" * (5 + len(maps))]
    rows = [(k, desc) for k, (_, desc) in FORMS.items()]
    rows += [
        ("ode_step", "ODE step: F_ODE/F_direct − 1"),
        ("wkb_step", "WKB step: F_(27)/F_ODE − 1"),
    ]
    for k, desc in rows:
        med, mx = _stats(ds[f"dev_{k}"].values)
        cells = [f"{desc}", f"{med:.2e}", f"{mx:.2e}", f"{med / ref:.3f}"]
        for m in maps:
            sel = ds[f"dev_{k}"].values[ds["map"].values == m]
            mm, mmx = _stats(sel)
            cells.append(f"{mm:.1e} / {mmx:.1e}")
        sk = "ode" if k in ("ode_step", "wkb_step") else k
        if f"seconds_{sk}" in ds and k != "wkb_step":
            t = ds[f"seconds_{sk}"].values * 1e3
            cells.append(f"{np.median(t):.2f} / {np.percentile(t, 90):.1f} ms")
        else:
            cells.append("")
        lines.append("| " + " | ".join(cells) + " |")
    t = ds["seconds_direct"].values * 1e3
    lines.append(
        f"| direct solution (rtol {RTOL_DIRECT:g}) | | | |"
        + " |" * len(maps)
        + f" {np.median(t):.1f} / {np.percentile(t, 90):.0f} ms |"
    )
    return "\n".join(lines)


def worst(ds: xr.Dataset, name: str, k: int = 6) -> str:
    dev = np.abs(ds[f"dev_{name}"].values)
    idx = np.argsort(dev)[::-1][:k]
    out = [f"largest |dev_{name}|:"]
    for i in idx:
        p = ", ".join(f"{n}={float(ds[n].values[i]):.3g}" for n in PARAMS if ds[n].values[i])
        out.append(f"  {ds['dev_' + name].values[i]:+.2e}  [{ds['map'].values[i]}] {p}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stride", type=int, default=4, help="take every n-th axis value (4)")
    ap.add_argument(
        "--output", type=Path, default=Path("closed_forms_study.nc"), help="NetCDF file"
    )
    args = ap.parse_args(argv)
    if args.stride < 1:
        ap.error("--stride must be >= 1")
    pts = points(args.stride)
    print(f"{len(pts)} points (every {args.stride}th value and the last of each map axis)")
    ds = evaluate(pts)
    bad = ds["F0_direct_error"].values / np.abs(ds["F0_direct"].values) > 1e-7
    if bad.any():
        print(f"warning: {int(bad.sum())} direct solutions with estimated error > 1e-7")
    ds.attrs["stride"] = args.stride
    write_netcdf(ds, args.output)
    print(table(ds))
    for name in ("closure1_iter", "closure1", "ode_step"):
        print(worst(ds, name))
    print(f"dataset: {args.output}")


if __name__ == "__main__":
    main()
