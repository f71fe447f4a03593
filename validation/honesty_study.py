"""Study: is the error estimate of ``solve_direct`` honest on every path it takes?

Run ``python validation/honesty_study.py [--output-dir DIR]`` (about 3 minutes
on 2 cores; ``--quick``: 8 points, about 20 s).

Over the benchmark cube of ``validation/bench_cooperon.py`` (rate = Q + r₁ + r₃
∈ {1e-7, 1e-5, 1e-3, 0.1, 1} with Q = r₁ = r₃ = rate/3; ε, g ∈ {1e-7, 1e-5,
1e-3, 0.1, 10}), F(0) of Eq. (24) is solved at rtol 1e-6 and 1e-8 with the
defaults (``path="auto"``: F itself on the graded grid, or the harmonic
envelopes with gregory6 or gregory4, with or without an extrapolated F(0)) and
compared with two references that share neither the truncation nor, for the
second, the quadrature:

* ``gregory6``: the same method at ``rtol_ref = max(1e-10, 2.5 eps/rate)`` (the
  conditioning floor eps/rate of Eq. (24) bounds what any double-precision
  solve can reach) with the history cut at ``T_ref = 1.5 T`` instead of T;
* ``gregory4``: a fourth-order rule at the same ``rtol_ref`` and ``T_ref``: other
  grids, other weights, another Richardson ratio.

The criterion (the project's honesty criterion) is

    |F0 − F0_ref| ≤ 10 · error_estimate + error_ref,

at every point whose solve reports status 0, against both references. A
difference is *resolved* where it exceeds ``error_ref`` + 1e-12 |F0|: only there
does it measure the solve's error rather than the reference's; the ratio
observed/estimated is reported over resolved points. Also printed: how many
converged points miss the requested rtol itself.

Written to ``DIR``: ``honesty.nc`` (dims rate, eps, g, rtol, reference; every
F(0), estimate, status, path and the verdicts) and ``honesty.png`` (observed
against estimated error, per path). Points are checkpointed to
``DIR/.honesty_points.jsonl`` as they finish: an interrupted run started again
with the same arguments continues where it stopped (the file is removed once
the dataset is written; points computed by other code, or with other settings, are
not reused). A second run started on a ``DIR`` that a run holds exits with status 2
at once (``cooperon.studies.io.exclusive_run``) instead of writing the same checkpoint.
Exit status 1 if any converged point breaks the criterion, or if any tested solve does
not reach status 0 (its point would go untested).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

# Run from a checkout: make the packages of this repository importable (and not a
# stale install) when the script is started as validation/….py.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import xarray as xr  # noqa: E402
from tqdm import tqdm  # noqa: E402

from cooperon import solve_direct  # noqa: E402
from cooperon.studies.io import (  # noqa: E402
    RunningElsewhere,
    check_output_dir,
    exclusive_run,
    save_figure,
    write_netcdf,
)
from cooperon.studies.schema import provenance  # noqa: E402
from validation.cube import RATES, SCALES, cube_point  # noqa: E402

QUICK_RATES = [1e-7, 1e-3]
QUICK_SCALES = [1e-5, 10.0]
RTOLS = [1e-6, 1e-8]
REFERENCES = ["gregory6", "gregory4"]
#: the honesty criterion: observed error ≤ FACTOR · estimate + the reference's error
FACTOR = 10.0
#: relative differences below this (plus the reference's estimate) are rounding
FLOOR = 1e-12
#: the history of the references reaches this many times further back
T_FACTOR = 1.5
EPS = float(np.finfo(float).eps)


def reference_rtol(rate: float) -> float:
    """The references' rtol: 1e-10, or 2.5 times the conditioning floor eps/rate above it."""
    return max(1e-10, 2.5 * EPS / rate)


def path_name(harmonics: int, order: int) -> str:
    """``F`` (F itself) or ``envelopes/gregoryN`` (M harmonics, order N)."""
    return "F" if harmonics == 0 else f"envelopes/gregory{order}"


def _paths(ds: xr.Dataset) -> np.ndarray:
    """:func:`path_name` of every tested solve of ``ds`` (``envelopes/gregory-1`` where it
    failed: such points have no verdict and are counted apart)."""
    harmonics = ds["harmonics"].fillna(-1).astype(int).values
    return np.vectorize(path_name)(harmonics, ds["order"].fillna(-1).astype(int).values)


def _record(sol) -> dict:
    return {
        "F0": float(sol.F0),
        "error": float(sol.error_estimate),
        "status": int(sol.status),
        "harmonics": int(sol.harmonics),
        "order": int(sol.order),
        "points": int(sol.stats.points),
        "T": float(sol.T),
        "h": float(sol.h),
        "message": str(sol.message),
    }


def _failed(exc: BaseException) -> dict:
    return {
        "F0": math.nan,
        "error": math.nan,
        "status": -1,
        "harmonics": -1,
        "order": -1,
        "points": 0,
        "T": math.nan,
        "h": math.nan,
        "message": f"{type(exc).__name__}: {exc}",
    }


def solve_point(rate: float, eps: float, g: float, rtols: list[float]) -> dict:
    """The solves at every rtol and the two references at one point of the cube."""
    p = cube_point(rate, eps, g)
    out: dict = {"rate": rate, "eps": eps, "g": g, "tested": {}, "reference": {}}
    T_max = 0.0
    for rtol in rtols:
        start = time.perf_counter()
        try:
            rec = _record(solve_direct(p, rtol=rtol))
            T_max = max(T_max, rec["T"])
        except (ArithmeticError, ValueError) as exc:
            rec = _failed(exc)
        rec["seconds"] = time.perf_counter() - start
        out["tested"][repr(rtol)] = rec
    for method in REFERENCES:
        start = time.perf_counter()
        try:
            T = T_FACTOR * T_max if T_max > 0 else None
            rec = _record(solve_direct(p, rtol=reference_rtol(rate), T=T, method=method))
        except (ArithmeticError, ValueError) as exc:
            rec = _failed(exc)
        rec["seconds"] = time.perf_counter() - start
        out["reference"][method] = rec
    return out


def code_fingerprint() -> str:
    """SHA-256 of this script, the cube it runs (``validation/cube.py``) and the sources of
    ``solver`` and ``cooperon``: a checkpoint written by other code is not resumed."""
    import hashlib

    import cooperon
    import solver

    digest = hashlib.sha256(Path(__file__).read_bytes())  # (this study's own code, too)
    digest.update(Path(__file__).with_name("cube.py").read_bytes())
    for package in (solver, cooperon):
        root = Path(package.__file__).resolve().parent
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _key(rate: float, eps: float, g: float) -> str:
    return f"{rate!r},{eps!r},{g!r}"


def _load_checkpoint(path: Path, settings: dict) -> dict[str, dict]:
    """Points of an earlier run with the same settings and code (others are ignored)."""
    done: dict[str, dict] = {}
    if not path.exists():
        return done
    text = path.read_text()
    if text and not text.endswith("\n"):
        # a line cut short by an interruption: dropped, so that new lines start clean
        text = text[: text.rfind("\n") + 1]
        path.write_text(text)
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if row.get("settings") == settings:
            done[_key(row["rate"], row["eps"], row["g"])] = row
    return done


def to_dataset(rows: list[dict], rates, scales, rtols) -> xr.Dataset:
    """The points as a labelled dataset with the verdicts of the honesty criterion."""
    shape = (len(rates), len(scales), len(scales))
    dims = ("rate", "eps", "g")
    fields = ("F0", "error", "status", "harmonics", "order", "points", "T", "h", "seconds")
    tested = {f: np.full(shape + (len(rtols),), np.nan) for f in fields}
    ref = {f: np.full(shape + (len(REFERENCES),), np.nan) for f in fields}
    for row in rows:
        i = (rates.index(row["rate"]), scales.index(row["eps"]), scales.index(row["g"]))
        for k, rtol in enumerate(rtols):
            for f in fields:
                tested[f][i + (k,)] = row["tested"][repr(rtol)][f]
        for k, m in enumerate(REFERENCES):
            for f in fields:
                ref[f][i + (k,)] = row["reference"][m][f]
    coords = {"rate": rates, "eps": scales, "g": scales, "rtol": rtols, "reference": REFERENCES}
    ds = xr.Dataset(coords=coords)
    units = {"F0": "1", "error": "1", "T": "tau", "h": "tau", "seconds": "s"}
    for f in fields:
        ds[f] = ((*dims, "rtol"), tested[f], {"units": units.get(f, "1")})
        ds[f"{f}_ref"] = ((*dims, "reference"), ref[f], {"units": units.get(f, "1")})
    ds["F0"].attrs["long_name"] = "F(0) of Eq. (24), solve_direct(rtol), path='auto'"
    ds["error"].attrs["long_name"] = "error_estimate of that solve (absolute)"
    ds["F0_ref"].attrs["long_name"] = "F(0) of the reference (rtol_ref, T = 1.5 T)"
    observed = abs(ds["F0"] - ds["F0_ref"])
    ok = (ds["status"] == 0) & (ds["status_ref"] == 0)
    ds["observed_error"] = observed.where(ok).assign_attrs(
        long_name="|F0 - F0_ref|, where both solves report status 0", units="1"
    )
    ds["resolved"] = (ok & (observed > ds["error_ref"] + FLOOR * abs(ds["F0_ref"]))).assign_attrs(
        long_name="the difference exceeds the reference's estimate (+1e-12 |F0|)"
    )
    ds["honest"] = (~ok | (observed <= FACTOR * ds["error"] + ds["error_ref"])).assign_attrs(
        long_name=f"|F0 - F0_ref| <= {FACTOR:g} error + error_ref (or not converged)"
    )
    ds["within_rtol"] = (
        ~ok | (observed <= ds["rtol"] * abs(ds["F0"]) + ds["error_ref"])
    ).assign_attrs(long_name="|F0 - F0_ref| <= rtol |F0| + error_ref (or not converged)")
    ds["rtol_ref"] = ("rate", [reference_rtol(r) for r in rates], {"units": "1"})
    return ds


def summary(ds: xr.Dataset) -> tuple[str, int]:
    """A Markdown table per rtol, reference and path, and the number of broken criteria."""
    lines = [
        "| rtol | reference | path | points | converged | resolved | max observed/estimate "
        "(resolved) | max observed/rtol | broken (10x) | above rtol |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    broken_total = 0
    for rtol in ds.rtol.values:
        sub = ds.sel(rtol=rtol)
        paths = _paths(sub)
        for ref in ds.reference.values:
            one = sub.sel(reference=ref)
            for name in sorted(set(paths.ravel())):
                at = paths == name
                conv = at & (one["status"].values == 0) & (one["status_ref"].values == 0)
                obs = one["observed_error"].values
                est = one["error"].values
                res = conv & one["resolved"].values
                ratio = obs[res] / est[res]
                rel = obs[conv] / (rtol * np.abs(one["F0"].values[conv]))
                broken = int((conv & ~one["honest"].values).sum())
                above = int((conv & ~one["within_rtol"].values).sum())
                broken_total += broken
                lines.append(
                    f"| {rtol:g} | {ref} | {name} | {int(at.sum())} | {int(conv.sum())} | "
                    f"{int(res.sum())} | {np.max(ratio) if ratio.size else math.nan:.3g} | "
                    f"{np.max(rel) if rel.size else math.nan:.3g} | {broken} | {above} |"
                )
    return "\n".join(lines), broken_total


def figure(ds: xr.Dataset, path: Path) -> None:
    """Observed against estimated relative error, per path; resolved points filled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ds.rtol.size, figsize=(5.2 * ds.rtol.size, 4.6), squeeze=False)
    colours = {"F": "C0", "envelopes/gregory6": "C1", "envelopes/gregory4": "C2"}
    markers = {"gregory6": "o", "gregory4": "s"}
    for ax, rtol in zip(axes[0], ds.rtol.values, strict=True):
        sub = ds.sel(rtol=rtol)
        F0 = np.abs(sub["F0"].values)
        paths = _paths(sub)
        for ref in ds.reference.values:
            one = sub.sel(reference=ref)
            est = one["error"].values / F0
            obs = np.maximum(one["observed_error"].values / F0, 1e-17)
            res = one["resolved"].values
            for name, colour in colours.items():
                at = (paths == name) & np.isfinite(obs)
                for sel, face in ((at & res, colour), (at & ~res, "none")):
                    if np.any(sel):
                        ax.scatter(
                            est[sel], obs[sel], marker=markers[ref], facecolors=face,
                            edgecolors=colour, s=22, linewidths=0.8,
                            label=f"{name} vs {ref}" if face != "none" else None,
                        )  # fmt: skip
        lo, hi = 1e-17, 1e-4
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.7, label="observed = estimate")
        ax.plot([lo, hi], [FACTOR * lo, FACTOR * hi], "k--", lw=0.7, label=f"{FACTOR:g}x")
        ax.axhline(rtol, color="grey", lw=0.6, ls=":")
        ax.set(xscale="log", yscale="log", xlim=(1e-15, 1e-4), ylim=(1e-17, 1e-4))
        ax.set_xlabel("estimated error of F(0) / F(0)")
        ax.set_ylabel("|F(0) − F(0)_ref| / F(0)")
        ax.set_title(f"rtol = {rtol:g} (hollow: not resolved by the reference)", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("Eq. (24), solve_direct: observed vs estimated error over the cube", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output-dir", default="honesty-study", help="where to write (honesty-study)")
    ap.add_argument(
        "--quick", action="store_true", help="8 points (rates 1e-7, 1e-3; eps, g 1e-5, 10)"
    )
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    out = check_output_dir(args.output_dir, "--output-dir")
    out.mkdir(exist_ok=True)
    try:
        with exclusive_run(out, "--output-dir"):
            return _study(out, args)
    except RunningElsewhere as exc:
        print(f"honesty_study: {exc}", file=sys.stderr)
        return 2


def _study(out: Path, args: argparse.Namespace) -> int:
    """The study in ``out`` (held by this process)."""
    rates = QUICK_RATES if args.quick else RATES
    scales = QUICK_SCALES if args.quick else SCALES
    settings = {
        "rtols": RTOLS,
        "references": REFERENCES,
        "T_factor": T_FACTOR,
        "code": code_fingerprint(),
    }
    checkpoint = out / ".honesty_points.jsonl"
    done = _load_checkpoint(checkpoint, settings)
    todo = [(r, e, g) for r in rates for e in scales for g in scales]
    if done:
        left = sum(_key(*pt) not in done for pt in todo)
        print(f"resuming: {len(todo) - left} of {len(todo)} points from {checkpoint}")
    start = time.perf_counter()
    rows = []
    with checkpoint.open("a") as fh:
        for pt in tqdm(todo, desc="honesty", disable=args.no_progress, unit="point"):
            row = done.get(_key(*pt))
            if row is None:
                row = {**solve_point(*pt, RTOLS), "settings": settings}
                fh.write(json.dumps(row) + "\n")
                fh.flush()
            rows.append(row)
    ds = to_dataset(rows, rates, scales, RTOLS)
    ds.attrs.update(
        provenance("honesty of the error estimate of solve_direct over the benchmark cube"),
        criterion=f"|F0 - F0_ref| <= {FACTOR:g} error_estimate + error_ref",
        T_factor=T_FACTOR,
    )
    write_netcdf(ds, out / "honesty.nc")
    checkpoint.unlink(missing_ok=True)
    figure(ds, out / "honesty.png")
    table, broken = summary(ds)
    print(table)
    failed = int((ds["status"] != 0).sum())
    failed_ref = int((ds["status_ref"] != 0).sum())
    print(
        f"\ntested solves without status 0: {failed} of {ds['status'].size}; references "
        f"without status 0: {failed_ref} of {ds['status_ref'].size} (no verdict there)"
    )
    print(
        f"\n{len(rows)} points, {time.perf_counter() - start:.1f} s; criterion broken at "
        f"{broken} (point, rtol, reference); wrote {out / 'honesty.nc'}, {out / 'honesty.png'}"
    )
    # a tested solve that failed leaves its point untested: that is a failure of the study
    return 1 if broken or failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
