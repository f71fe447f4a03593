"""Breakdown maps: where the λ ≪ 1 closed form fails (the ``cooperon map`` job).

The closed forms of the paper rest on two approximations (``docs/equations.md``):
the local third-order ODE (29) for the resolvent, valid for ε, g ≪ 1, and
its WKB solution (31), valid for λ = 1 − Φ ≪ 1 and Q ≪ 1.  A *map* sweeps two
parameters (:func:`cooperon.sweep`) and records the relative deviation
of Eq. (32) as printed and of Eq. (27) with the WKB resolvent (= 1 + (32))
from F(0) of Eq. (24) solved directly.  The standard maps
(``cooperon/default_map.toml``):

(a) ``r3_g`` -- (r₃, g) at r₁ = 0, Q = 10⁻²: the relaxation channel alone;
    λ_max = r₃.
(b) ``r1_eps`` -- (r₁, ε) at r₃ = 0, Q = 10⁻²: the resonant channel alone;
    λ_max = 2 r₁.
(c) ``lambda_Q`` -- (λ_max, Q): λ_max is realised as the r₃ axis at g = 1,
    r₁ = 0, where λ(s) = r₃ (1 − e^{−2g|s|}) and sup λ = r₃ exactly (Eq. 25).
    With g = 1, λ reaches its plateau after 1/(2g) = τ/2, much shorter than
    the dephasing time 1/(Q + r₃) over most of the map, so λ(s) ≈ λ_max on
    the times that matter.  At λ → 0 (Φ → 1) Eq. (32) becomes exact
    (F = 1/Q) while Eq. (27) keeps a relative error Q: its 1 % and 10 %
    contours run into Q = 0.01 and 0.1 there.

Analysis added to each map (:func:`analyse_map`):

* ``boundary_1pct_eq27``, ``boundary_10pct_eq27`` (and ``_eq32``), on the x
  axis: the y value where |dev| first reaches 1 % / 10 % scanning y upwards,
  interpolated linearly in (log y, log|dev|) between the two grid points
  that bracket the crossing (:func:`breakdown_boundary`).
* ``scaling_C_eq27``, ``scaling_a_eq27``, ``scaling_C_stderr_eq27``,
  ``scaling_a_stderr_eq27`` (and ``_eq32``): least-squares fit of
  log|dev| = log C + a log λ_max over the converged points with
  |dev| < 0.3 (:func:`fit_scaling`); a map's ``[fit]`` table may restrict
  it further to λ_max ≥ k·Q (map (c) uses k = 10: at λ → 0 the WKB
  resolvent (31) keeps a relative error O(Q) -- with Φ ≡ 1 the exact F(0)
  is 1/Q while Eq. (27) gives 1 + 1/Q -- which is not a power of λ).

Command line: ``cooperon map [--config FILE.toml] [--output-dir DIR] [--rtol R]
[--scheduler ADDRESS] [--no-progress] [--quick] [--restart]``.  Writes, per map,
``NAME.zarr`` (the resumable sweep store), ``NAME.nc`` (the analysed dataset)
and ``NAME.png`` (the figure), then prints the fitted scaling laws as a
Markdown table and the wall time.
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
from .schema import Status

__all__ = [
    "THRESHOLDS",
    "FIT_MAX_DEV",
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

_DEVS = ("eq27", "eq32")
_EQ_NAMES = {"eq27": "Eq. (27) + WKB (31) = 1 + (32)", "eq32": "Eq. (32) as printed"}


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


def analyse_map(
    ds: xr.Dataset,
    x: str,
    y: str,
    *,
    title: str | None = None,
    fit_max_dev: float = FIT_MAX_DEV,
    fit_min_lambda_over_Q: float = 0.0,
) -> xr.Dataset:
    """Add the breakdown boundaries and the fitted scaling laws to a two-axis sweep.

    Parameters
    ----------
    ds
        Output of :func:`cooperon.sweep` with the two axes ``x``, ``y``.
    x, y
        The boundary is y as a function of x.
    title
        Stored as ``attrs["map_title"]``.
    fit_max_dev, fit_min_lambda_over_Q
        Selection of the scaling fit: status 0, 0 < |dev| < ``fit_max_dev`` and
        λ_max ≥ ``fit_min_lambda_over_Q`` · Q (the latter keeps the fit to
        the region where λ, not the O(Q) error of the WKB resolvent, sets
        the deviation; 0 = no restriction).

    Returns
    -------
    xarray.Dataset
        A copy with ``boundary_{1pct,10pct}_{eq27,eq32}`` (dimension x) and
        0-d ``scaling_{C,a,C_stderr,a_stderr}_{eq27,eq32}``.
    """
    if set(ds["status"].dims) != {x, y}:
        raise ValueError(f"analyse_map needs a sweep over exactly ({x!r}, {y!r})")
    out = ds.copy()
    ys = ds[y].values
    log_y = ds[y].attrs.get("scale", "log" if (ys > 0).all() else "linear") == "log"
    status = ds["status"].transpose(x, y).values
    for tag in _DEVS:
        dev = ds[f"dev_{tag}"].transpose(x, y).values
        for pct, thr in THRESHOLDS.items():
            vals = np.full(ds[x].size, np.nan)
            kinds = []
            for j in range(ds[x].size):
                vals[j], kind = breakdown_boundary(
                    dev[j], ys, thr, valid=status[j] == 0, log_y=log_y
                )
                kinds.append(kind)
            counts = {k: kinds.count(k) for k in ("crossing", "never", "below_grid", "no_data")}
            out[f"boundary_{pct}_{tag}"] = xr.Variable(
                (x,),
                vals,
                attrs={
                    "long_name": (
                        f"{y} at which |dev_{tag}| first reaches {thr:g} ({_EQ_NAMES[tag]})"
                    ),
                    "units": "1",
                    "threshold": thr,
                    "method": (
                        f"scan {y} upwards over status == 0 points; linear interpolation of "
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
        lam = ds["lambda_max"].values
        Q = ds["Dq2_tau"].broadcast_like(ds["status"]).transpose(*ds["status"].dims).values
        sel = (ds["status"].values == 0) & (lam >= fit_min_lambda_over_Q * Q)
        fit = fit_scaling(ds[f"dev_{tag}"].values, lam, sel, max_dev=fit_max_dev)
        selection = f"status == 0, lambda_max > 0, 0 < |dev| < {fit_max_dev:g}"
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
                    "long_name": f"{long_name} of |dev_{tag}| = C lambda_max^a ({_EQ_NAMES[tag]})",
                    **common,
                },
            )
    if title is not None:
        out.attrs["map_title"] = title
    out.attrs["map_x"] = x
    out.attrs["map_y"] = y
    return out


def scaling_table(results: list[tuple[MapSpec, xr.Dataset]]) -> str:
    """The fitted scaling laws as a Markdown table (for the README)."""
    lines = [
        "| map | closed form | C | a | points | λ_max range | rms of ln\\|dev\\| | selection |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for spec, ds in results:
        for tag in _DEVS:
            C = float(ds[f"scaling_C_{tag}"])
            a = float(ds[f"scaling_a_{tag}"])
            Ce = float(ds[f"scaling_C_stderr_{tag}"])
            ae = float(ds[f"scaling_a_stderr_{tag}"])
            attrs = ds[f"scaling_a_{tag}"].attrs
            lo, hi = attrs["fit_lambda_range"]
            lines.append(
                f"| {spec.name} | {_EQ_NAMES[tag]} | {C:.3g} ± {Ce:.2g} | {a:.3f} ± {ae:.3f} | "
                f"{attrs['fit_points']} | {lo:.3g} – {hi:.3g} | {attrs['fit_rms_log']:.2f} | "
                f"{_md(attrs['fit_selection'])} |"
            )
    return "\n".join(lines)


def _md(text: str) -> str:
    """Escape ``|`` for a Markdown table cell."""
    return text.replace("|", "\\|")


def _boundary_summary(spec: MapSpec, ds: xr.Dataset) -> list[str]:
    lines = []
    for tag in _DEVS:
        for pct in THRESHOLDS:
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
        "Breakdown maps of the closed forms (27) and (32) against the direct solution of "
        "Eq. (24): datasets (Zarr + NetCDF), figures, boundaries and scaling laws."
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
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=(
            "dask.distributed scheduler address (e.g. tcp://host:8786), or 'processes' "
            "(default), 'threads', 'synchronous'"
        ),
    )
    p.add_argument(
        "--scheduler-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long to try to reach a --scheduler address (default 5)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--quick",
        action="store_true",
        help="coarse grids (quick_num points per axis, files NAME_quick.*) for smoke tests",
    )
    p.add_argument(
        "--restart",
        action="store_true",
        help="discard existing stores made from another configuration instead of refusing",
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
    from .io import check_output_dir, write_netcdf
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
            check_sweep_store(m.sweep, stores[m.name])
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
            plot_map(ds, m.x, m.y, png, title=m.title, x_label=m.x_label, y_label=m.y_label)
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
        if exc.created:
            msg = f"{exc.kept} of {exc.total} chunks of {str(exc.store)!r} kept"
        else:
            msg = f"{str(exc.store)!r} not created yet"
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
    print("Scaling laws |dev| = C * lambda_max^a (least squares in log-log; points as selected):")
    print()
    print(scaling_table(results))
    print()
    print(f"{prog}: {len(results)} maps in {time.perf_counter() - start:.1f} s wall time")
    return 0
