"""Breakdown maps: where the λ ≪ 1 closed forms fail, and why (the ``cooperon map`` job).

The closed forms of the paper rest on two approximations (``docs/equations.md``,
``docs/closed_forms.md``): the local third-order ODE (29) for the resolvent,
valid for ε, g ≪ 1, and its WKB solution (31), valid for λ = 1 − Φ ≪ 1.  A
*map* sweeps two parameters (:func:`cooperon.sweep`) and records, against
F(0) of Eq. (24) solved directly, the relative deviation of

* Eq. (32) as printed (``dev_eq32``);
* the consistent Eq. (27) with the WKB resolvent (31), ∫e^ϑ (``dev_eq27``);
* the local closure of an exact identity of Eq. (24) (``dev_local_closure``,
  beyond the paper);

and the two steps of the paper one at a time: the ODE (29) solved exactly
against Eq. (24) (``dev_ode_step``) and its WKB solution, Eq. (27), against
the ODE (``dev_wkb_step``); 1 + dev_eq27 = (1 + dev_ode_step)(1 + dev_wkb_step).
The standard maps (``cooperon/default_map.toml``):

(a) ``r3_g`` -- (r₃, g) at r₁ = 0, Q = 10⁻²: the relaxation channel alone;
    λ_max = r₃.
(b) ``r1_eps`` -- (r₁, ε) at r₃ = 0, Q = 10⁻²: the resonant channel alone;
    λ_max = 2 r₁.
(c) ``lambda_Q`` -- (λ_max, Q): λ_max is realised as the r₃ axis at g = 1,
    r₁ = 0, where λ(s) = r₃ (1 − e^{−2g|s|}) and sup λ = r₃ exactly (Eq. 25).
    With g = 1, λ reaches its plateau after 1/(2g) = τ/2, much shorter than
    the dephasing time 1/(Q + r₃) over most of the map, so λ(s) ≈ λ_max on
    the times that matter.  Every form is exact at λ → 0 (Φ ≡ 1: F = 1/Q).

Analysis added to each map (:func:`analyse_map`), for each deviation TAG of
:data:`DEVIATIONS`, over the points where the direct solution converged
(status 0, or 5 where another form failed) and the form has a value:

* ``boundary_1pct_TAG``, ``boundary_10pct_TAG``, on the x axis: the y value
  where |dev| first reaches 1 % / 10 % scanning y upwards, interpolated
  linearly in (log y, log|dev|) between the two grid points that bracket the
  crossing (:func:`breakdown_boundary`).
* ``median_abs_dev_TAG``, ``max_abs_dev_TAG``: the median and the largest
  |dev| over the map (the attributes say how many points and where the
  largest is).
* ``scaling_C_TAG``, ``scaling_a_TAG``, ``scaling_C_stderr_TAG``,
  ``scaling_a_stderr_TAG``: least-squares fit of log|dev| = log C + a log
  λ_max over the points with |dev| < 0.3 whose |dev| is resolved (at least
  10× the estimated relative error of the direct F(0)) (:func:`fit_scaling`);
  a map's ``[fit]`` table may restrict it further to λ_max ≥ k·Q.

Command line: ``cooperon map [--config FILE.toml] [--output-dir DIR] [--rtol R]
[--scheduler ADDRESS] [--no-progress] [--quick] [--restart]``.  Writes, per map,
``NAME.zarr`` (the resumable sweep store), ``NAME.nc`` (the analysed dataset)
and ``NAME.png`` (the figure: one panel per closed form and per step,
:func:`cooperon.studies.figures.plot_map`), then prints the table of the
closed forms (median, max, scaling law) as Markdown and the wall time.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from .config import MapsConfig, MapSpec, load_maps_config
from .options import add_run_arguments
from .schema import Status

__all__ = [
    "DEVIATIONS",
    "THRESHOLDS",
    "FIT_MAX_DEV",
    "RESOLVED_FACTOR",
    "add_arguments",
    "analyse_map",
    "breakdown_boundary",
    "fit_scaling",
    "run",
    "run_maps",
    "scaling_table",
]

#: Thresholds of the breakdown boundaries: name suffix → |dev|.
THRESHOLDS: dict[str, float] = {"1pct": 0.01, "10pct": 0.1}

#: Points with |dev| ≥ this are left out of the scaling fit (far from λ ≪ 1).
FIT_MAX_DEV: float = 0.3

#: Points with |dev| below this many times the estimated relative error of the
#: direct F(0) are left out of the scaling fit (their deviation is not resolved).
RESOLVED_FACTOR: float = 10.0

#: The deviations analysed on each map: TAG (variable ``dev_TAG``) → what it measures.
DEVIATIONS: dict[str, str] = {
    "eq32": "Eq. (32) as printed",
    "eq27": "Eq. (27) + WKB (31), consistent (∫e^ϑ)",
    "local_closure": "local closure (iterated, order 1)",
    "ode_step": "ODE step: (29) solved, against Eq. (24)",
    "wkb_step": "WKB step: Eq. (27), against (29) solved",
}

#: Statuses at which the direct solution converged (the points every analysis uses).
_DIRECT_OK = (Status.OK, Status.CLOSED_FORM_FAILED)


# ---------------------------------------------------------------------------
# analysis
# ---------------------------------------------------------------------------


def breakdown_boundary(
    dev: np.ndarray,
    ys: np.ndarray,
    threshold: float,
    valid: np.ndarray | None = None,
    *,
    log_y: bool = True,
) -> tuple[float, str]:
    """The y value where |dev(y)| first reaches ``threshold``, scanning y upwards.

    Parameters
    ----------
    dev
        Deviations along one column (same length as ``ys``).
    ys
        Strictly increasing y values.
    threshold
        The |dev| level (e.g. 0.01 for 1 %).
    valid
        Mask of the points to use (e.g. ``status == 0``); others are skipped.
    log_y
        Interpolate in log y (for a log axis; requires y > 0) or in y.

    Returns
    -------
    (float, str)
        The boundary and how it was found: ``"crossing"`` (interpolated
        linearly in log|dev| between the last valid point below and the
        first at or above the threshold), ``"never"`` (|dev| stays below:
        NaN), ``"below_grid"`` (already above at the lowest valid y: NaN, the
        boundary lies below the grid) or ``"no_data"`` (no valid point: NaN).
    """
    d = np.abs(np.asarray(dev, dtype=float))
    ys = np.asarray(ys, dtype=float)
    ok = np.isfinite(d)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return math.nan, "no_data"
    above = d[idx] >= threshold
    if not above.any():
        return math.nan, "never"
    k = int(np.argmax(above))
    if k == 0:
        return math.nan, "below_grid"
    i0, i1 = idx[k - 1], idx[k]
    tiny = 1e-300
    l0, l1, lt = (math.log(max(v, tiny)) for v in (d[i0], d[i1], threshold))
    w = (lt - l0) / (l1 - l0) if l1 > l0 else 1.0
    if log_y and ys[i0] > 0:
        return float(math.exp(math.log(ys[i0]) + w * (math.log(ys[i1]) - math.log(ys[i0])))), (
            "crossing"
        )
    return float(ys[i0] + w * (ys[i1] - ys[i0])), "crossing"


def fit_scaling(
    dev: np.ndarray,
    lam: np.ndarray,
    valid: np.ndarray | None = None,
    max_dev: float = FIT_MAX_DEV,
) -> dict[str, float]:
    """Least-squares power law |dev| ≈ C λ_max^a in log-log (:func:`scipy.stats.linregress`).

    Fits log|dev| = b₀ + a log λ_max over the points with ``valid`` (e.g.
    status 0), λ_max > 0 and 0 < |dev| < ``max_dev``.  Standard errors are
    those of ``linregress`` (residual variance RSS/(n − 2));
    C = e^{b₀} with stderr(C) = C · stderr(b₀) (delta method).

    Returns
    -------
    dict
        ``C``, ``a``, ``C_stderr``, ``a_stderr``, ``n`` (points used),
        ``rms`` (residual standard deviation in ln|dev|), ``lam_min``,
        ``lam_max``; NaN where fewer than 3 points or a single λ value.
    """
    from scipy.stats import linregress

    d = np.abs(np.asarray(dev, dtype=float)).ravel()
    lam = np.asarray(lam, dtype=float).ravel()
    ok = np.isfinite(d) & np.isfinite(lam) & (lam > 0) & (d > 0) & (d < max_dev)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool).ravel()
    n = int(ok.sum())
    nan = math.nan
    out = {"C": nan, "a": nan, "C_stderr": nan, "a_stderr": nan, "n": n, "rms": nan}
    out.update(lam_min=nan, lam_max=nan)
    if n < 3:
        return out
    xl, yl = np.log(lam[ok]), np.log(d[ok])
    if np.ptp(xl) == 0:
        return out
    fit = linregress(xl, yl)
    resid = yl - (fit.intercept + fit.slope * xl)
    C = math.exp(fit.intercept)
    out.update(
        C=C,
        a=float(fit.slope),
        C_stderr=C * float(fit.intercept_stderr),
        a_stderr=float(fit.stderr),
        rms=math.sqrt(float(resid @ resid) / (n - 2)),
        lam_min=float(lam[ok].min()),
        lam_max=float(lam[ok].max()),
    )
    return out


def _where(ds: xr.Dataset, dims: tuple[str, ...], flat_index: int) -> str:
    """``"x=…, y=…"`` of a point given by its index in the flattened (dims) array."""
    idx = np.unravel_index(flat_index, tuple(ds.sizes[d] for d in dims))
    return ", ".join(f"{d}={float(ds[d].values[i]):.3g}" for d, i in zip(dims, idx, strict=True))


def analyse_map(
    ds: xr.Dataset,
    x: str,
    y: str,
    *,
    title: str | None = None,
    fit_max_dev: float = FIT_MAX_DEV,
    fit_min_lambda_over_Q: float = 0.0,
) -> xr.Dataset:
    """Add the breakdown boundaries, the |dev| statistics and the scaling laws to a sweep.

    For every deviation ``dev_TAG`` of :data:`DEVIATIONS` present in ``ds``
    (all of them in a sweep), over the points where the direct solution
    converged (status 0, or 5 where another closed form failed) and
    ``dev_TAG`` is finite.

    Parameters
    ----------
    ds
        Output of :func:`cooperon.sweep` with the two axes ``x``, ``y``.
    x, y
        The boundary is y as a function of x.
    title
        Stored as ``attrs["map_title"]``.
    fit_max_dev, fit_min_lambda_over_Q
        Selection of the scaling fit: 0 < |dev| < ``fit_max_dev``, |dev| ≥
        :data:`RESOLVED_FACTOR` × ``F0_direct_error``/``F0_direct`` (if present)
        and λ_max ≥ ``fit_min_lambda_over_Q`` · Q (0 = no restriction).

    Returns
    -------
    xarray.Dataset
        A copy with ``boundary_{1pct,10pct}_TAG`` (dimension x), and 0-d
        ``median_abs_dev_TAG``, ``max_abs_dev_TAG`` and
        ``scaling_{C,a,C_stderr,a_stderr}_TAG``.
    """
    if set(ds["status"].dims) != {x, y}:
        raise ValueError(f"analyse_map needs a sweep over exactly ({x!r}, {y!r})")
    out = ds.copy()
    ys = ds[y].values
    log_y = ds[y].attrs.get("scale", "log" if (ys > 0).all() else "linear") == "log"
    direct_ok = np.isin(ds["status"].values, _DIRECT_OK)
    direct_ok_xy = np.isin(ds["status"].transpose(x, y).values, _DIRECT_OK)
    lam = ds["lambda_max"].values
    if "F0_direct_error" in ds:
        with np.errstate(divide="ignore", invalid="ignore"):
            resolved = RESOLVED_FACTOR * np.abs(ds["F0_direct_error"] / ds["F0_direct"]).values
        resolved = np.where(np.isfinite(resolved), resolved, 0.0)
    else:
        resolved = np.zeros(ds["status"].shape)
    Q = ds["Dq2_tau"].broadcast_like(ds["status"]).transpose(*ds["status"].dims).values
    for tag, what in DEVIATIONS.items():
        if f"dev_{tag}" not in ds:
            continue
        dev = ds[f"dev_{tag}"].transpose(x, y).values
        for pct, thr in THRESHOLDS.items():
            vals = np.full(ds[x].size, np.nan)
            kinds = []
            for j in range(ds[x].size):
                vals[j], kind = breakdown_boundary(
                    dev[j], ys, thr, valid=direct_ok_xy[j], log_y=log_y
                )
                kinds.append(kind)
            counts = {k: kinds.count(k) for k in ("crossing", "never", "below_grid", "no_data")}
            out[f"boundary_{pct}_{tag}"] = xr.Variable(
                (x,),
                vals,
                attrs={
                    "long_name": f"{y} at which |dev_{tag}| first reaches {thr:g} ({what})",
                    "units": "1",
                    "threshold": thr,
                    "method": (
                        f"scan {y} upwards over the points where the direct solution "
                        f"converged and dev_{tag} is finite; linear interpolation of "
                        f"log|dev| in {'log ' if log_y else ''}{y} between the bracketing points"
                    ),
                    "comment": (
                        "NaN where the threshold is not crossed inside the grid: "
                        f"|dev| stays below it ({counts['never']} columns), is already above "
                        f"at the lowest {y} ({counts['below_grid']} columns), or no valid "
                        f"point ({counts['no_data']} columns)"
                    ),
                },
            )
        absdev = np.abs(ds[f"dev_{tag}"].values)
        use = direct_ok & np.isfinite(absdev)
        n_use = int(use.sum())
        stats_attrs = {
            "units": "1",
            "points": n_use,
            "selection": f"direct solution converged (status 0 or 5), dev_{tag} finite",
        }
        median = float(np.median(absdev[use])) if n_use else math.nan
        largest = float(absdev[use].max()) if n_use else math.nan
        where = (
            _where(ds, ds["status"].dims, int(np.flatnonzero(use)[np.argmax(absdev[use])]))
            if n_use
            else ""
        )
        out[f"median_abs_dev_{tag}"] = xr.Variable(
            (),
            median,
            attrs={"long_name": f"median of |dev_{tag}| over the map ({what})", **stats_attrs},
        )
        out[f"max_abs_dev_{tag}"] = xr.Variable(
            (),
            largest,
            attrs={
                "long_name": f"largest |dev_{tag}| over the map ({what})",
                "location": where,
                **stats_attrs,
            },
        )
        sel = direct_ok & (lam >= fit_min_lambda_over_Q * Q) & (absdev >= resolved)
        fit = fit_scaling(ds[f"dev_{tag}"].values, lam, sel, max_dev=fit_max_dev)
        selection = (
            f"direct solution converged, lambda_max > 0, 0 < |dev| < {fit_max_dev:g}, "
            f"|dev| >= {RESOLVED_FACTOR:g} * F0_direct_error / F0_direct"
        )
        if fit_min_lambda_over_Q > 0:
            selection += f", lambda_max >= {fit_min_lambda_over_Q:g} * Dq2_tau"
        common = {
            "fit": f"|dev_{tag}| = C * lambda_max**a, least squares in log-log",
            "fit_selection": selection,
            "fit_points": int(fit["n"]),
            "fit_rms_log": fit["rms"],
            "fit_lambda_range": [fit["lam_min"], fit["lam_max"]],
            "units": "1",
        }
        for key, long_name in (
            ("C", "prefactor C"),
            ("a", "exponent a"),
            ("C_stderr", "standard error of C (delta method)"),
            ("a_stderr", "standard error of a"),
        ):
            out[f"scaling_{key}_{tag}"] = xr.Variable(
                (),
                float(fit[key]),
                attrs={
                    "long_name": f"{long_name} of |dev_{tag}| = C lambda_max^a ({what})",
                    **common,
                },
            )
    if title is not None:
        out.attrs["map_title"] = title
    out.attrs["map_x"] = x
    out.attrs["map_y"] = y
    return out


def _g(v: float, digits: int = 2) -> str:
    return "–" if not math.isfinite(v) else f"{v:.{digits}g}"


def scaling_table(results: list[tuple[MapSpec, xr.Dataset]]) -> str:
    """The closed forms and the two steps on each map, as a Markdown table (for the README).

    Per map and deviation: median and max |dev| over the map, and the fitted
    law |dev| ≈ C λ_max^a with standard errors, points, λ_max range and rms
    of the residuals in ln|dev|; with several maps, then the median and max
    over the points of all of them.  The fit's selection follows the table
    when every row shares it, else it is a last column.
    """
    rows = []
    for spec, ds in results:
        for tag, what in DEVIATIONS.items():
            if f"scaling_a_{tag}" not in ds:
                continue
            C = float(ds[f"scaling_C_{tag}"])
            a = float(ds[f"scaling_a_{tag}"])
            Ce = float(ds[f"scaling_C_stderr_{tag}"])
            ae = float(ds[f"scaling_a_stderr_{tag}"])
            attrs = ds[f"scaling_a_{tag}"].attrs
            lo, hi = attrs["fit_lambda_range"]
            fit = f"{C:.3g} ± {Ce:.2g} | {a:.3f} ± {ae:.3f}" if math.isfinite(a) else "– | –"
            cells = (
                f"| {spec.name} | {_md(what)} | {_g(float(ds[f'median_abs_dev_{tag}']))} | "
                f"{_g(float(ds[f'max_abs_dev_{tag}']))} | {fit} | {attrs['fit_points']} | "
                f"{_g(lo, 3)} – {_g(hi, 3)} | {_g(attrs['fit_rms_log'])} |"
            )
            rows.append((cells, attrs["fit_selection"]))
    if len(results) > 1:  # the same statistics over the points of every map together
        for tag, what in DEVIATIONS.items():
            pooled = [_abs_devs(ds, tag) for _, ds in results if f"dev_{tag}" in ds]
            if not pooled:
                continue
            a = np.concatenate(pooled)
            stats = f"{_g(float(np.median(a)))} | {_g(float(a.max()))}" if a.size else "– | –"
            rows.append(
                (f"| all maps ({a.size} points) | {_md(what)} | {stats} | – | – | | | |", None)
            )
    header = (
        "| map | closed form | median \\|dev\\| | max \\|dev\\| | C | a | fit points | "
        "λ_max range | rms of ln\\|dev\\| |"
    )
    rule = "|---|---|---|---|---|---|---|---|---|"
    selections = {sel for _, sel in rows if sel is not None}
    if len(selections) <= 1:
        lines = [header, rule, *(cells for cells, _ in rows)]
        if selections:
            lines += ["", f"Fit selection (every fit): {selections.pop()}."]
        return "\n".join(lines)
    lines = [header + " fit selection |", rule + "---|"]
    lines += [f"{cells} {_md(sel or '')} |" for cells, sel in rows]
    return "\n".join(lines)


def _abs_devs(ds: xr.Dataset, tag: str) -> np.ndarray:
    """|dev_TAG| at the points where the direct solution converged and it has a value."""
    absdev = np.abs(ds[f"dev_{tag}"].values).ravel()
    ok = np.isin(ds["status"].values.ravel(), _DIRECT_OK) & np.isfinite(absdev)
    return absdev[ok]


def _md(text: str) -> str:
    """Escape ``|`` for a Markdown table cell."""
    return text.replace("|", "\\|")


def _boundary_summary(spec: MapSpec, ds: xr.Dataset) -> list[str]:
    lines = []
    for tag in DEVIATIONS:
        for pct in THRESHOLDS:
            if f"boundary_{pct}_{tag}" not in ds:
                continue
            b = ds[f"boundary_{pct}_{tag}"].values
            fin = np.isfinite(b)
            if fin.any():
                rng = f"{spec.y} from {np.nanmin(b):.3g} to {np.nanmax(b):.3g}"
            else:
                rng = "not crossed inside the grid"
            lines.append(
                f"  |dev_{tag}| = {pct.replace('pct', ' %')}: {rng} "
                f"({int(fin.sum())}/{b.size} values of {spec.x})"
            )
    return lines


# ---------------------------------------------------------------------------
# the job
# ---------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``cooperon map``."""
    p.description = (
        "Breakdown maps of the closed forms -- Eq. (32) as printed, the consistent Eq. (27),\n"
        "the local closure -- and of the paper's two steps (the ODE (29), its WKB solution\n"
        "(31)) against the direct solution of Eq. (24): datasets (Zarr + NetCDF), figures,\n"
        "breakdown boundaries, |dev| statistics and scaling laws."
    )
    p.add_argument(
        "--config",
        metavar="FILE.toml",
        help="maps configuration (default: the built-in cooperon/default_map.toml)",
    )
    p.add_argument(
        "--output-dir",
        default="cooperon-maps",
        metavar="DIR",
        help="where to write stores, NetCDF files and figures (default: cooperon-maps)",
    )
    p.add_argument("--rtol", type=float, help="override the rtol of every map")
    add_run_arguments(
        p,
        quick_help="coarse grids (quick_num points per axis, files NAME_quick.*) for smoke tests",
        scheduler_timeout=True,
    )


def _command(args: argparse.Namespace) -> str:
    parts = ["cooperon", "map"]
    if args.config:
        parts += ["--config", str(args.config)]
    parts += ["--output-dir", str(args.output_dir)]
    if args.rtol is not None:
        parts += ["--rtol", repr(args.rtol)]
    if args.scheduler:
        parts += ["--scheduler", args.scheduler]
        if args.scheduler_timeout != 5.0:
            parts += ["--scheduler-timeout", repr(args.scheduler_timeout)]
    for flag in ("no_progress", "quick", "restart"):
        if getattr(args, flag, False):
            parts.append("--" + flag.replace("_", "-"))
    return shlex.join(parts)


def _check_store_outputs(path: os.PathLike) -> None:
    """Refuse a store of the right configuration whose per-point outputs are not this version's."""
    from .comparison import VARIABLES
    from .schema import record_variables
    from .store import check_store_outputs

    check_store_outputs(path, record_variables(VARIABLES), "cooperon map --restart")


def run_maps(
    cfg: MapsConfig,
    output_dir: str | os.PathLike,
    *,
    scheduler: Any = None,
    progress: bool = True,
    restart: bool = False,
    command: str | None = None,
    log: Callable[[str], None] | None = None,
    connect_timeout: float | None = None,
) -> list[tuple[MapSpec, xr.Dataset]]:
    """Compute, analyse, write and plot every map of ``cfg``.

    Everything is checked before any computation and before anything is
    written: the output directory (its parent must exist; it is created, one
    level, if missing), each map's grid size against the memory, each
    existing store against its configuration (a mismatch raises
    :class:`~.store.StoreMismatchError` unless ``restart``, which replaces
    it), and the scheduler (a distributed address is tried for a few
    seconds, ``connect_timeout``).  All maps then share one set of workers
    (:func:`.execution.open_workers`; ``scheduler`` as for
    :func:`.sweeps.sweep`).  ``log`` receives the plan and summary lines
    (default: print).

    Returns
    -------
    list of (MapSpec, xarray.Dataset)
        The analysed datasets (also written as ``NAME.nc`` with ``NAME.png``).

    Raises
    ------
    ValueError
        From the checks above, in one line (a store mismatch adds a diff).
    SweepInterrupted
        On Ctrl-C, with the chunks the interrupted map's store keeps.
    """
    from .execution import CONNECT_TIMEOUT, open_workers
    from .figures import plot_map
    from .io import FigureError, check_output_dir, write_netcdf
    from .store import StoreMismatchError
    from .sweeps import check_sweep_store, plan_sweep, run_sweep

    log = log or (lambda msg: print(msg, flush=True))
    out = check_output_dir(output_dir, "output_dir")
    stores = {m.name: out / f"{m.name}.zarr" for m in cfg.maps}
    stale = []
    n_chunks = 0
    for m in cfg.maps:
        n_chunks += plan_sweep(m.sweep).n_chunks
        try:
            if check_sweep_store(m.sweep, stores[m.name]):
                _check_store_outputs(stores[m.name])
        except StoreMismatchError:
            if not restart:
                raise
            stale.append(stores[m.name])
    results = []
    timeout = CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
    with open_workers(scheduler, n_tasks=n_chunks, timeout=timeout) as workers:
        out.mkdir(exist_ok=True)
        for path in stale:
            log(f"removing {path} (made from another configuration; --restart)")
            shutil.rmtree(path)
        for m in cfg.maps:
            t0 = time.perf_counter()
            ds = run_sweep(
                m.sweep,
                store=stores[m.name],
                workers=workers,
                progress=progress,
                command=command,
                desc=f"map {m.name}",
                log=log,
            )
            ds = analyse_map(
                ds,
                m.x,
                m.y,
                title=m.title,
                fit_max_dev=m.fit_max_dev,
                fit_min_lambda_over_Q=m.fit_min_lambda_over_Q,
            )
            nc = write_netcdf(ds, out / f"{m.name}.nc")
            png = out / f"{m.name}.png"
            try:
                plot_map(ds, m.x, m.y, png, title=m.title, x_label=m.x_label, y_label=m.y_label)
            except Exception as exc:  # a bug in plotting, not the user's input (exit 1)
                raise FigureError(
                    f"map {m.name}: the figure could not be drawn ({type(exc).__name__}: "
                    f"{exc}); the data are written to {nc}"
                ) from exc
            counts = {s: int((ds["status"].values == s).sum()) for s in Status}
            summary = ", ".join(f"{s.meaning} {counts[s]}" for s in Status if s >= 0)
            log(
                f"map {m.name}: {ds['status'].size} points in {time.perf_counter() - t0:.1f} s "
                f"({ds.attrs['chunks_computed_this_run']}/{ds.attrs['chunks_total']} chunks "
                f"computed now); status {summary}; wrote {nc}, {png}"
            )
            for line in _boundary_summary(m, ds):
                log(line)
            results.append((m, ds))
    return results


def run(args: argparse.Namespace) -> int:
    """Entry point of ``cooperon map`` (called by :func:`cooperon.cli.main`)."""
    from .execution import check_scheduler
    from .io import check_output_dir
    from .sweeps import SweepInterrupted

    start = time.perf_counter()
    prog = "cooperon map"
    try:
        check_output_dir(args.output_dir, "--output-dir")
        check_scheduler(args.scheduler)
        if not 0 < args.scheduler_timeout <= 600:
            raise ValueError(
                f"--scheduler-timeout must lie in (0, 600] seconds (got {args.scheduler_timeout})"
            )
        cfg = load_maps_config(args.config)
        if args.quick:
            cfg = cfg.quick()
        if args.rtol is not None:
            cfg = cfg.with_rtol(args.rtol)
        results = run_maps(
            cfg,
            args.output_dir,
            scheduler=args.scheduler,
            progress=not args.no_progress,
            restart=args.restart,
            command=_command(args),
            connect_timeout=args.scheduler_timeout,
        )
    except (ValueError, OSError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except SweepInterrupted as exc:
        msg = exc.what_is_kept()
        print(
            f"{prog}: interrupted: {msg} (maps before it are complete); run the same command "
            "again to resume",
            file=sys.stderr,
        )
        return 130
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    print()
    print(
        "Closed forms and steps: median and max |dev| over each map, and the scaling law "
        "|dev| = C * lambda_max^a (least squares in log-log; points as selected):"
    )
    print()
    print(scaling_table(results))
    print()
    print(f"{prog}: {len(results)} maps in {time.perf_counter() - start:.1f} s wall time")
    return 0
