"""Magnetoconductance over temperature, and the τ_φ an HLN fit reports (``cooperon magneto``).

Does the Hikami–Larkin–Nagaoka analysis of a T^{1/3} material return T^{1/3}?
At each temperature of the grid (:mod:`.temperature` runs the scan), for the
ensemble built at that T, with one :class:`~cooperon.prepared.PreparedModel`
(one fitted Φ̄, one memoised F(0; Q) evaluator) for everything:

* ln(τ_φ/τ) from Eq. (34) and from the direct solution of Eq. (24)
  (:func:`cooperon.log_tau_phi`);
* Δσ(B) from Eq. (24) and from Eq. (32) (:func:`cooperon.magnetoconductance`)
  at the fields B = x B_φ,(34)(T), x on the configuration's log grid
  (``[fields]``; B_φ,(34) = ħ/(4eDτ_φ,(34)), so that every temperature sees the
  same part of its curve), and the HLN fit of each curve over the window
  |Δσ| < 1 e²/h: B_φ, α (1 unless ``alpha_free``), τ_φ,HLN = ħ/(4eDB_φ), the
  residuals.

Then (:func:`analyse`): τ_φ(T) four ways in seconds (Eq. 34, direct, HLN of the
direct curve, HLN of the (32) curve), their local exponents p(T), and the
ratios τ_φ,HLN/τ_φ,(34) (exactly e^γ = 1.781 for exponential dephasing, the
normalisation of Eq. 34's cutoff at η = 1: ``docs/magneto.md``) and
τ_φ,HLN/τ_φ,direct.

Command line: ``cooperon magneto [--config FILE.toml] [--output-dir DIR]
[--scheduler S] [--no-progress] [--quick] [--restart]``; per model
``NAME.zarr``, ``NAME.nc``, ``NAME_fields.png`` (Δσ(B) at a few temperatures)
and ``NAME_tau_phi.png`` (τ_φ(T) three ways, :mod:`.temperature_figures`).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..hln import FitStatus
from ..parameters import NoCutoffError
from .dephasing_scan import ONE_THIRD_TOL, coarse_grid_note, one_third_ranges, scales_line
from .schema import Status
from .temperature import ScanVariable, Study, fill_chunk, local_exponent
from .temperature import fmt_T as _fmt_T
from .temperature_config import ModelScan, ModelSpec, ScanConfig

__all__ = ["STUDY", "VARIABLES", "analyse", "magneto_point", "summary"]

_E2H = {"units": "e^2/h"}
_CURVES = ("direct", "eq32")
_CURVE_LABEL = {"direct": "Eq. (24) solved directly", "eq32": "Eq. (32)"}


def _v(name, long_name, dtype=float, extra=False, **attrs):
    return ScanVariable(name, {"long_name": long_name, **attrs}, dtype, extra)


def _curve_variables(c: str) -> list[ScanVariable]:
    lab = _CURVE_LABEL[c]
    return [
        _v(f"delta_sigma_{c}", f"Δσ(B) = σ(B) − σ(0), {lab}", extra=True, **_E2H),
        _v(f"delta_sigma_{c}_error", f"estimated error of delta_sigma_{c}", extra=True, **_E2H),
        _v(f"hln_residual_{c}", f"Δσ − HLN fit, {lab}", extra=True, **_E2H),
        _v(
            f"in_fit_window_{c}",
            f"field used by the HLN fit of the {lab} curve",
            int,
            True,
            comment="1 inside, 0 outside the window, -1 not computed",
        ),
        _v(f"B_phi_hln_{c}", f"B_phi of the HLN fit to Δσ of {lab}", units="T"),
        _v(f"alpha_hln_{c}", f"HLN prefactor alpha of the fit to {lab}", units="1"),
        _v(f"tau_phi_hln_{c}", f"tau_phi,HLN = hbar/(4 e D B_phi), {lab}", units="s"),
        _v(f"fit_rms_{c}", f"rms residual of the HLN fit to {lab} over its window", **_E2H),
        _v(
            f"fit_status_{c}",
            f"status of the HLN fit to {lab} (cooperon.hln.FitStatus)",
            int,
            comment="0 ok, 1 too_few_points, 2 not_converged, 3 not_determined, 4 no_data; "
            "-1 not computed",
        ),
        _v(
            f"curve_status_{c}",
            f"worst delta_sigma status of the {lab} curve over the fields",
            int,
            comment="0 every field within rtol, 1 some not, -1 failed or not computed",
        ),
    ]


VARIABLES: tuple[ScanVariable, ...] = (
    _v("B", "magnetic field", extra=True, units="T"),
    _v("log_tau_phi_eq34", "ln(tau_phi/tau), Eq. (34) with Gamma_bar", units="1"),
    _v("log_tau_phi_direct", "ln(tau_phi/tau) from Eq. (24) solved directly", units="1"),
    _v("log_tau_phi_direct_error", "estimated absolute error of log_tau_phi_direct", units="1"),
    *_curve_variables("direct"),
    *_curve_variables("eq32"),
    _v("n_F0_direct", "solutions of Eq. (24) for the magnetoconductance", int, units="1"),
    _v("seconds", "wall time of this temperature (one worker)", units="s"),
    ScanVariable("status", Status.cf_attrs(), np.int8),
    ScanVariable("message", {"long_name": "why this temperature is not ok"}, str),
)


def magneto_point(
    spec: ModelSpec,
    T: float,
    *,
    rtol: float,
    max_history: float,
    fields: np.ndarray,
    D: float,
    magneto_rtol: float,
    alpha_free: bool,
) -> dict[str, Any]:
    """Every per-temperature output at one T (plain values and arrays over the fields)."""
    from ..dephasing import log_tau_phi
    from ..hln import B_phi_from_tau_phi
    from ..magneto import magnetoconductance
    from ..prepared import prepare_model

    start = time.perf_counter()
    out: dict[str, Any] = {
        v.name: (np.full(fields.size, v.fill) if v.extra else v.fill) for v in VARIABLES
    }
    model = spec.build(T)
    problems = []
    try:
        out["log_tau_phi_eq34"] = eq34 = model.log_tau_phi_eq34()
    except (ArithmeticError, NoCutoffError) as exc:
        bad = Status.NO_CUTOFF if isinstance(exc, NoCutoffError) else Status.FAILED
        out["status"], out["message"] = int(bad), f"Eq. (34): {exc}"
        out["seconds"] = time.perf_counter() - start
        return out
    B = fields * B_phi_from_tau_phi(spec.tau * math.exp(eq34), D)
    out["B"] = B
    try:
        pm = prepare_model(
            model,
            rtol=min(rtol, magneto_rtol),
            max_history=max_history,
            direct_rtol=magneto_rtol / 100.0,
        )
        dz = log_tau_phi(pm, rtol)
        mc = magnetoconductance(pm, B, D, rtol=magneto_rtol, alpha_free=alpha_free)
    except NoCutoffError as exc:
        out["status"], out["message"] = int(Status.NO_CUTOFF), str(exc)
        out["seconds"] = time.perf_counter() - start
        return out
    except ArithmeticError as exc:
        out["status"], out["message"] = int(Status.FAILED), f"direct solution: {exc}"
        out["seconds"] = time.perf_counter() - start
        return out
    out["log_tau_phi_direct"] = float(dz.log_tau_phi_direct)
    out["log_tau_phi_direct_error"] = float(dz.log_tau_phi_direct_error)
    if int(dz.status) != 0:
        problems.append(f"log_tau_phi: {dz.attrs['message']}")
    for c in _CURVES:
        if f"delta_sigma_{c}" not in mc:
            continue
        ds_c = mc[f"delta_sigma_{c}"].values
        out[f"delta_sigma_{c}"] = ds_c
        out[f"delta_sigma_{c}_error"] = mc[f"delta_sigma_{c}_error"].values
        out[f"hln_residual_{c}"] = mc[f"hln_residual_{c}"].values
        out[f"in_fit_window_{c}"] = mc[f"in_fit_window_{c}"].values.astype(int)
        out[f"B_phi_hln_{c}"] = float(mc[f"B_phi_{c}"])
        out[f"alpha_hln_{c}"] = float(mc[f"alpha_{c}"])
        out[f"tau_phi_hln_{c}"] = float(mc[f"tau_phi_hln_{c}"])
        out[f"fit_rms_{c}"] = float(mc[f"fit_rms_{c}"])
        out[f"fit_status_{c}"] = int(mc[f"fit_status_{c}"])
        out[f"curve_status_{c}"] = int(mc[f"delta_sigma_{c}_status"].values.max())
        if int(mc[f"fit_status_{c}"]) != 0:
            problems.append(f"HLN fit ({c}): {mc.attrs[f'fit_message_{c}']}")
        if int(mc[f"delta_sigma_{c}_status"].values.max()) != 0:
            problems.append(f"delta sigma ({c}): rtol {magneto_rtol:g} not reached at some field")
    if "direct_message" in mc.attrs and not np.isfinite(out["delta_sigma_direct"]).any():
        problems.append(mc.attrs["direct_message"])
    out["n_F0_direct"] = int(mc.attrs["n_F0_direct"])
    out["status"] = int(Status.OK if not problems else Status.NOT_CONVERGED)
    out["message"] = "; ".join(problems)
    out["seconds"] = time.perf_counter() - start
    return out


def magneto_task(spec: ModelSpec, T: np.ndarray, options: dict[str, Any]) -> dict:
    """One chunk of temperatures (a task of :func:`.temperature.run_scan`)."""
    n_fields = np.asarray(options["fields"]).size
    return fill_chunk(magneto_point, VARIABLES, spec, T, n_fields, options)


def _options(cfg: ScanConfig, scan: ModelScan) -> dict[str, Any]:
    return {
        "rtol": cfg.rtol,
        "max_history": cfg.max_history,
        "fields": np.asarray(cfg.fields, dtype=float),
        "D": float(scan.D),
        "magneto_rtol": cfg.magneto_rtol,
        "alpha_free": cfg.alpha_free,
    }


def _field_coord(cfg: ScanConfig) -> xr.Variable:
    return xr.Variable(
        "field",
        np.asarray(cfg.fields, dtype=float),
        {
            "long_name": "B/B_phi,(34): the field in units of hbar/(4 e D tau_phi,(34)(T))",
            "units": "1",
        },
    )


STUDY = Study(
    name="magneto",
    title="Magnetoconductance over temperature: Eq. (24), Eq. (32) and HLN fits",
    variables=VARIABLES,
    task=magneto_task,
    options=_options,
    extra_dim="field",
    extra_coord=_field_coord,
    attrs={
        "references": "Dephasing by dynamic defects, Eqs. (24), (32), (34); Hikami, Larkin "
        "and Nagaoka, Prog. Theor. Phys. 63, 707 (1980)",
        "normalisation": "c = 1; delta sigma in units of e^2/h",
    },
)


# ---------------------------------------------------------------------------
# analysis and summary
# ---------------------------------------------------------------------------

_TAU_CURVES = {
    "eq34": "Eq. (34)",
    "direct": "Eq. (24) direct",
    "hln_direct": "HLN fit to Δσ of Eq. (24)",
    "hln_eq32": "HLN fit to Δσ of Eq. (32)",
}


def analyse(ds: xr.Dataset, scan: ModelScan) -> xr.Dataset:
    """τ_φ four ways, their exponents and ratios, the scales (module notes), on a copy."""
    from .. import asymptotes as A

    out = ds.copy()
    T = ds.T.values
    tau = scan.spec.tau
    for key in ("eq34", "direct"):
        out[f"tau_phi_{key}"] = xr.Variable(
            ("T",),
            tau * np.exp(ds[f"log_tau_phi_{key}"].values),
            {"long_name": f"tau_phi, {_TAU_CURVES[key]}", "units": "s"},
        )
    for key, label in _TAU_CURVES.items():
        out[f"p_{key}"] = xr.Variable(
            ("T",),
            local_exponent(T, out[f"tau_phi_{key}"].values),
            {"long_name": f"local exponent -d ln tau_phi/d ln T, {label}", "units": "1"},
        )
    for c in _CURVES:
        for ref in ("eq34", "direct"):
            out[f"ratio_hln_{c}_over_{ref}"] = xr.Variable(
                ("T",),
                out[f"tau_phi_hln_{c}"].values / out[f"tau_phi_{ref}"].values,
                {"long_name": f"tau_phi,HLN ({c}) / tau_phi ({_TAU_CURVES[ref]})", "units": "1"},
            )
    out["ratio_hln_direct_over_eq34"].attrs["comment"] = (
        "exactly exp(euler_gamma) = 1.781 for exponential dephasing (Eq. 34's cutoff at eta = 1)"
    )
    spec = scan.spec
    if spec.Lambda0 is not None and spec.params["chi"] > 0:
        s = A.scales(
            T, spec.Lambda0, spec.params["E_star"], spec.params["chi"], spec.params["tau_i"]
        )
        for k in ("T_Lambda", "T_alpha", "T_beta"):
            out[k] = xr.Variable((), float(s[k]), {"units": "K"})
        out["Lambda0"] = xr.Variable((), float(spec.Lambda0), {"units": "K"})
        out["tau_Lambda"] = xr.Variable((), float(s["tau_Lambda"]), {"units": "s"})
    out.attrs["D"] = float(scan.D)
    out.attrs["D_units"] = "m2 s-1"
    for key in _TAU_CURVES:
        ranges = one_third_ranges(T, out[f"p_{key}"].values)
        out.attrs[f"T_one_third_ranges_{key}"] = np.array(ranges, dtype=float).ravel()
    out.attrs["T_one_third_ranges_meaning"] = (
        "pairs (T_low, T_high) in K, flattened, where |p - 1/3| <= T_one_third_tolerance"
    )
    out.attrs["T_one_third_tolerance"] = ONE_THIRD_TOL
    return out


def summary(ds: xr.Dataset) -> list[str]:
    """The printed table and the answer to the study's question, for one model."""
    from .dephasing_scan import _fmt_ranges

    T = ds.T.values
    lines = [f"{ds.attrs['model_name']}: {ds.attrs['model_title']}"]
    if line := scales_line(ds):
        lines.append("  " + line)
    lines.append(
        f"  {'T':>9} {'tau_phi(34)':>11} {'direct':>10} {'HLN(24)':>10} {'HLN(32)':>10} "
        f"{'HLN/(34)':>8} {'HLN/dir':>8} {'p(34)':>6} {'p_dir':>6} {'p_HLN':>6}  fit"
    )

    def g(name: str, i: int, fmt: str) -> str:
        v = float(ds[name].values[i])
        return format(v, fmt) if math.isfinite(v) else "-".rjust(len(format(1.0, fmt)))

    for i, t in enumerate(T):
        fit = int(ds.fit_status_direct.values[i])
        lines.append(
            f"  {_fmt_T(t):>9} {g('tau_phi_eq34', i, '11.4g')} {g('tau_phi_direct', i, '10.4g')} "
            f"{g('tau_phi_hln_direct', i, '10.4g')} {g('tau_phi_hln_eq32', i, '10.4g')} "
            f"{g('ratio_hln_direct_over_eq34', i, '8.4f')} "
            f"{g('ratio_hln_direct_over_direct', i, '8.4f')} "
            f"{g('p_eq34', i, '6.3f')} {g('p_direct', i, '6.3f')} {g('p_hln_direct', i, '6.3f')}  "
            + ("ok" if fit == 0 else ("-" if fit < 0 else FitStatus(fit).name.lower()))
        )
    if note := coarse_grid_note(T):
        lines.append(f"  {note}")
    for key, label in _TAU_CURVES.items():
        pk = ds[f"p_{key}"].values
        ranges = one_third_ranges(T, pk)
        lines.append(f"  |p - 1/3| <= {ONE_THIRD_TOL:g}, {label}: {_fmt_ranges(ranges, T, pk)}")
    r = ds.ratio_hln_direct_over_eq34.values
    ok = np.isfinite(r)
    if ok.any():
        lines.append(
            f"  tau_phi,HLN/tau_phi,(34) from {np.nanmin(r):.3f} to {np.nanmax(r):.3f} over "
            f"{_fmt_T(T[ok][0])} to {_fmt_T(T[ok][-1])} (exponential dephasing: e^gamma = 1.781)"
        )
    failed = np.flatnonzero(ds.status.values == int(Status.FAILED))
    if failed.size:
        lines.append(
            f"  not computed at {failed.size} temperature(s) ({_fmt_T(T[failed[0]])} ... "
            f"{_fmt_T(T[failed[-1]])}): {str(ds.message.values[failed[0]])[:160]}"
        )
    for i in np.flatnonzero(ds.status.values == int(Status.NOT_CONVERGED)):
        lines.append(f"  at {_fmt_T(T[i])}: {str(ds.message.values[i])[:200]}")
    return lines


# ---------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------


def figures(ds: xr.Dataset, out: Path) -> list[Path]:
    """``NAME_fields.png`` (Δσ(B) at a few temperatures) and ``NAME_tau_phi.png``."""
    from .temperature_figures import plot_magneto_fields, plot_magneto_tau_phi

    name = ds.attrs["model_name"]
    return [
        plot_magneto_fields(ds, out / f"{name}_fields.png"),
        plot_magneto_tau_phi(ds, out / f"{name}_tau_phi.png"),
    ]


def run(args: argparse.Namespace) -> int:
    """Entry point of ``cooperon magneto`` (called by :func:`cooperon.cli.main`)."""
    from .temperature import run_cli

    return run_cli(
        args, prog="cooperon magneto", study=STUDY, analyse=analyse, figures=figures,
        summary=summary,
    )  # fmt: skip
