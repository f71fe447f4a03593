"""τ_φ(T) of a defect ensemble against the paper's asymptotes (the ``cooperon dephasing`` job).

At each temperature of the grid (:mod:`.temperature` runs the scan), for the
ensemble of Sec. II C built at that T (:mod:`cooperon.ensembles`):

* ln(τ_φ/τ) of Eq. (34) with Γ̄ (lower limit η = 1), also for each channel
  alone (the resonant, σ₁, and the relaxation, σ₃, parts of Γ̄), and the
  paper's working definition Γ̄(τ_φ/τ) = 1;
* ln(τ_φ/τ) from the direct solution of Eq. (24) with the averaged vertex,
  Eq. (34) + Δ, Δ = ∫_0^∞ [F_direct − F_(32)] dQ (:func:`cooperon.log_tau_phi`
  on a :class:`~cooperon.prepared.PreparedModel`: one fitted Φ̄ per T);
  temperatures whose history (Γ̄ = 100) exceeds ``max_history`` get status
  ``failed`` with the reason, and Eq. (34) only.

Then, from the scan's own output (:func:`analyse`): τ_φ in seconds, the local
exponents p(T) = −d ln τ_φ/d ln T of each curve (:func:`.temperature.local_exponent`),
the crossover scales T_Λ, T_α, T_β (scalars) and E_χ(T), the asymptotic rates
(44), (50)–(53) for the same parameters (:mod:`cooperon.asymptotes`, ζ = 1 in
(53)), with D given B_φ = ħ/(4eDτ_φ) (T) and L_φ = √(Dτ_φ) (m), the Sec. III
estimates (:mod:`cooperon.estimates`) as attributes ``sec3_*``, and the
temperature ranges where p stays within :data:`ONE_THIRD_TOL` of 1/3.

Asymptotes are compared with the curve they describe: (44) with Eq. (34) of
the resonant channel alone, (50)–(52) with the relaxation channel alone,
(53) with the total from the direct solution.  Each has the window in which
the paper derives it, with "≫" read as ">" (:data:`WINDOWS`); the summary
lists where, inside it, the ratio asymptote × τ_φ leaves [1/2, 2].  The glass
model has no Λ₀ and gets no asymptotes; the Gaussian barrier model uses its
centre Λ₀.

Command line: ``cooperon dephasing [--config FILE.toml] [--output-dir DIR]
[--scheduler S] [--no-progress] [--quick] [--restart]``; per model ``NAME.zarr``
(the resumable store), ``NAME.nc`` and ``NAME.png`` (:mod:`.temperature_figures`).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..parameters import NoCutoffError
from .schema import Status
from .temperature import ScanVariable, Study, fill_chunk, local_exponent
from .temperature import fmt_T as _fmt_T
from .temperature_config import ModelScan, ModelSpec, ScanConfig

__all__ = [
    "ONE_THIRD_TOL",
    "STUDY",
    "VARIABLES",
    "WINDOWS",
    "analyse",
    "dephasing_point",
    "one_third_ranges",
    "summary",
]

#: |p − 1/3| allowed in the "T^{1/3} range".
ONE_THIRD_TOL = 0.05

_ONE = {"units": "1"}


def _v(name, long_name, dtype=float, **attrs):
    return ScanVariable(name, {"long_name": long_name, **attrs}, dtype)


VARIABLES: tuple[ScanVariable, ...] = (
    _v(
        "log_tau_phi_eq34", "ln(tau_phi/tau), Eq. (34) with Gamma_bar (lower limit eta = 1)", **_ONE
    ),
    _v("log_tau_phi_eq34_resonant", "ln(tau_phi/tau), Eq. (34), resonant channel alone", **_ONE),
    _v(
        "log_tau_phi_eq34_relaxation", "ln(tau_phi/tau), Eq. (34), relaxation channel alone", **_ONE
    ),
    _v("log_tau_phi_gamma1", "ln(tau_phi/tau) from Gamma_bar(tau_phi/tau) = 1 (Sec. II C)", **_ONE),
    _v("delta_log_tau_phi", "ln(tau_phi,direct/tau_phi,(32)) = int [F_direct - F_(32)] dQ", **_ONE),
    _v("delta_log_tau_phi_error", "estimated absolute error of delta_log_tau_phi", **_ONE),
    _v("log_tau_phi_direct", "ln(tau_phi/tau) from Eq. (24) solved directly", **_ONE),
    _v("log_tau_phi_direct_error", "estimated absolute error of log_tau_phi_direct", **_ONE),
    _v("rate_bar", "r1_bar + r3_bar = lambda_bar(infinity): mean dephasing rate x tau", **_ONE),
    _v("vertex_terms", "terms of the fitted averaged vertex", int, units="1"),
    _v("vertex_s_max", "window of the vertex fit, Gamma_bar(s_max) = 100", units="tau"),
    _v("vertex_max_error", "verified max error of the fitted vertex on [0, s_max]", **_ONE),
    _v("vertex_fit_shift_eq34", "Eq. (34) of the fitted vertex minus the model's", **_ONE),
    _v("history_max", "longest history of a solution of Eq. (24)", units="tau"),
    _v("solves", "solutions of Eq. (24) (Q nodes and re-solves)", int, units="1"),
    _v("seconds", "wall time of this temperature (one worker)", units="s"),
    ScanVariable("status", Status.cf_attrs(), np.int8),
    ScanVariable(
        "message",
        {"long_name": "why the direct solution is not ok; notes on Eq. (34) (empty: all well)"},
        str,
    ),
)


def dephasing_point(spec: ModelSpec, T: float, rtol: float, max_history: float) -> dict[str, Any]:
    """Every per-temperature output at one T (plain values; see the module notes)."""
    from ..dephasing import log_tau_phi
    from ..prepared import prepare_model

    start = time.perf_counter()
    out: dict[str, Any] = {v.name: v.fill for v in VARIABLES}
    model = spec.build(T)
    problems = []
    for name, channel in (
        ("log_tau_phi_eq34", "total"),
        ("log_tau_phi_eq34_resonant", "resonant"),
        ("log_tau_phi_eq34_relaxation", "relaxation"),
    ):
        try:
            out[name] = model.log_tau_phi_eq34(channel)
        except NoCutoffError:
            out[name] = math.inf  # that channel alone does not dephase
        except ArithmeticError as exc:
            problems.append(f"Eq. (34), {channel}: {exc}")
    out["log_tau_phi_gamma1"] = math.log(model.eta_where(1.0))
    out["rate_bar"] = model.r1_bar + model.r3_bar
    try:
        pm = prepare_model(model, rtol=rtol, max_history=max_history)
        ds = log_tau_phi(pm, rtol)
    except NoCutoffError as exc:
        out["status"], out["message"] = int(Status.NO_CUTOFF), str(exc)
    except ArithmeticError as exc:
        out["status"], out["message"] = int(Status.FAILED), f"direct solution: {exc}"
    else:
        for name in (
            "delta_log_tau_phi",
            "delta_log_tau_phi_error",
            "log_tau_phi_direct",
            "log_tau_phi_direct_error",
        ):
            out[name] = float(ds[name])
        a = ds.attrs
        out.update(
            vertex_terms=a["vertex_terms"],
            vertex_s_max=a["vertex_s_max"],
            vertex_max_error=a["vertex_max_error"],
            vertex_fit_shift_eq34=a["log_tau_phi_eq34_of_fitted_vertex"]
            - float(ds.log_tau_phi_eq34),
            history_max=float(ds.history_length.max()),
            solves=a["solves"],
        )
        ok = int(ds.status) == 0
        out["status"] = int(Status.OK if ok else Status.NOT_CONVERGED)
        out["message"] = "" if ok else a["message"]
    if problems:
        out["message"] = "; ".join([out["message"], *problems]).strip("; ")
    out["seconds"] = time.perf_counter() - start
    return out


def dephasing_task(spec: ModelSpec, T: np.ndarray, options: dict[str, Any]) -> dict:
    """One chunk of temperatures (a task of :func:`.temperature.run_scan`)."""
    return fill_chunk(dephasing_point, VARIABLES, spec, T, 0, options)


def _options(cfg: ScanConfig, scan: ModelScan) -> dict[str, Any]:
    return {"rtol": cfg.rtol, "max_history": cfg.max_history}


STUDY = Study(
    name="dephasing",
    title="tau_phi(T): Eq. (34) and the direct solution of Eq. (24) for a defect ensemble",
    variables=VARIABLES,
    task=dephasing_task,
    options=_options,
    attrs={
        "references": "Dephasing by dynamic defects, Eqs. (24), (32), (34), (37), (43)-(53)",
        "normalisation": "c = 1/(2 tau T rho) = 1; times in units of tau",
    },
)


# ---------------------------------------------------------------------------
# analysis of the scan's output
# ---------------------------------------------------------------------------

#: Asymptotes: rate variable → (label, compared with, window description).
WINDOWS: dict[str, tuple[str, str, str]] = {
    "rate_eq44": ("(44) resonant", "tau_phi_eq34_resonant", "T > Lambda0"),
    "rate_eq50": ("(50) relaxation T^1/3", "tau_phi_eq34_relaxation", "T > T_alpha, T_beta"),
    "rate_eq51": ("(51) relaxation T", "tau_phi_eq34_relaxation", "Lambda0 < T < T_beta"),
    "rate_eq52": (
        "(52) relaxation T^1/2",
        "tau_phi_eq34_relaxation",
        "max(T_beta, Lambda0) < T < T_alpha",
    ),
    "rate_eq53": ("(53) total, zeta = 1", "tau_phi_direct", "T > T_alpha, T_beta"),
}


def _window(name: str, T: np.ndarray, s: dict[str, float]) -> np.ndarray:
    """Where the paper derives asymptote ``name`` ("≫" read as ">"), and below E*.

    The asymptotes are derived for a distribution of E that extends far above
    T (E* → ∞): every window is cut at T < E*. (44) needs only Λ₀; the
    relaxation asymptotes need T_α and T_β (χ > 0).
    """
    L0, E_star = s["Lambda0"], s["E_star"]
    below = T < E_star
    if name == "rate_eq44":
        return (T > L0) & below
    if "T_alpha" not in s:
        return np.zeros(T.size, dtype=bool)
    Ta, Tb = s["T_alpha"], s["T_beta"]
    if name in ("rate_eq50", "rate_eq53"):
        return (T > max(Ta, Tb)) & below
    if name == "rate_eq51":
        return (T > L0) & (T < Tb) & below
    if name == "rate_eq52":
        return (T > max(Tb, L0)) & (T < Ta) & below
    raise KeyError(name)


def one_third_ranges(
    T: np.ndarray, p: np.ndarray, tol: float = ONE_THIRD_TOL
) -> list[tuple[float, float]]:
    """The T intervals where |p − 1/3| ≤ tol (:func:`band_ranges`)."""
    return band_ranges(T, p, 1.0 / 3.0 - tol, 1.0 / 3.0 + tol)


def band_ranges(T: np.ndarray, p: np.ndarray, lo: float, hi: float) -> list[tuple[float, float]]:
    """The T intervals where lo ≤ p(T) ≤ hi, p interpolated linearly in ln T.

    Each band edge is crossed where the linear interpolant crosses it, so a
    step that jumps across the whole band still gives its short interval.
    NaN values end an interval (at the last finite point before them); an
    interval that reaches the first or last finite point of a run ends there.
    """
    x = np.log(np.asarray(T, dtype=float))
    p = np.asarray(p, dtype=float)
    out: list[tuple[float, float]] = []
    cur: list[float] | None = None
    for i in range(p.size):
        if not np.isfinite(p[i]):
            if cur is not None:
                out.append((cur[0], cur[1]))
                cur = None
            continue
        if i == 0 or not np.isfinite(p[i - 1]):  # the first point of a run
            if lo <= p[i] <= hi:
                cur = [x[i], x[i]]
            continue
        p0, p1 = p[i - 1], p[i]
        if p1 == p0:
            wa, wb = (0.0, 1.0) if lo <= p0 <= hi else (1.0, 0.0)
        else:
            wa, wb = sorted(((lo - p0) / (p1 - p0), (hi - p0) / (p1 - p0)))
            wa, wb = max(wa, 0.0), min(wb, 1.0)
        if wa > wb:  # the segment misses the band
            if cur is not None:
                out.append((cur[0], cur[1]))
                cur = None
            continue
        xa = x[i - 1] + wa * (x[i] - x[i - 1])
        xb = x[i - 1] + wb * (x[i] - x[i - 1])
        if cur is not None and wa == 0.0:
            cur[1] = xb
        else:
            if cur is not None:
                out.append((cur[0], cur[1]))
            cur = [xa, xb]
        if wb < 1.0:
            out.append((cur[0], cur[1]))
            cur = None
    if cur is not None:
        out.append((cur[0], cur[1]))
    return [(math.exp(a), math.exp(b)) for a, b in out]


def level_ranges(T: np.ndarray, g: np.ndarray) -> list[tuple[float, float]]:
    """The T intervals where g(T) ≤ 0, crossings interpolated linearly in (ln T, g).

    NaN values end an interval (at the last finite point before them).
    """
    x = np.log(np.asarray(T, dtype=float))
    g = np.asarray(g, dtype=float)
    out: list[tuple[float, float]] = []
    lo = None
    for i in range(g.size):
        inside = bool(np.isfinite(g[i]) and g[i] <= 0)
        prev_ok = i > 0 and np.isfinite(g[i - 1])
        if inside and lo is None:
            if prev_ok and g[i - 1] > 0:
                w = g[i - 1] / (g[i - 1] - g[i])
                lo = x[i - 1] + w * (x[i] - x[i - 1])
            else:
                lo = x[i]
        elif not inside and lo is not None:
            if np.isfinite(g[i]):
                w = g[i - 1] / (g[i - 1] - g[i])
                hi = x[i - 1] + w * (x[i] - x[i - 1])
            else:
                hi = x[i - 1]
            out.append((math.exp(lo), math.exp(hi)))
            lo = None
    if lo is not None:
        last = int(np.flatnonzero(np.isfinite(g))[-1])
        out.append((math.exp(lo), math.exp(x[last])))
    return out


def _var(values, long_name: str, units: str, **attrs) -> xr.Variable:
    return xr.Variable(
        ("T",), np.asarray(values, dtype=float), {"long_name": long_name, "units": units, **attrs}
    )


def _sec3_attrs() -> dict[str, Any]:
    from ..estimates import sec3_estimates

    est = sec3_estimates()
    attrs: dict[str, Any] = {"sec3_chi": est.chi.values.astype(float)}
    for name, var in est.data_vars.items():
        attrs[f"sec3_{name}"] = var.values.astype(float) if var.ndim else float(var)
        attrs[f"sec3_{name}_units"] = var.attrs["units"]
        attrs[f"sec3_{name}_paper"] = var.attrs["paper"]
    for k, v in est.attrs.items():
        if k != "title":
            attrs[f"sec3_input_{k}"] = v
    return attrs


def analyse(ds: xr.Dataset, scan: ModelScan) -> xr.Dataset:
    """The derived quantities of the module notes, added to a copy of the scan's Dataset."""
    from .. import asymptotes as A
    from ..hln import B_phi_from_tau_phi

    out = ds.copy()
    spec = scan.spec
    T = ds.T.values
    tau = spec.tau
    direct_ok = np.isin(ds.status.values, [int(Status.OK), int(Status.NOT_CONVERGED)])
    curves = {
        "eq34": ("Eq. (34)", ds.log_tau_phi_eq34.values),
        "eq34_resonant": ("Eq. (34), resonant channel", ds.log_tau_phi_eq34_resonant.values),
        "eq34_relaxation": ("Eq. (34), relaxation channel", ds.log_tau_phi_eq34_relaxation.values),
        "gamma1": ("Gamma_bar(tau_phi/tau) = 1", ds.log_tau_phi_gamma1.values),
        "direct": (
            "Eq. (24) solved directly",
            np.where(direct_ok, ds.log_tau_phi_direct.values, np.nan),
        ),
    }
    for key, (label, log) in curves.items():
        tp = tau * np.exp(log)
        out[f"tau_phi_{key}"] = _var(tp, f"tau_phi, {label}", "s")
        if key in ("eq34", "direct", "eq34_resonant", "eq34_relaxation"):
            out[f"p_{key}"] = _var(
                local_exponent(T, tp),
                f"local exponent -d ln tau_phi/d ln T, {label}",
                "1",
                method="second-order differences in ln T on the scan grid (numpy.gradient)",
            )
    out["delta_log_tau_phi"].attrs["comment"] = "NaN where status is not ok or not_converged"
    if scan.D is not None:
        D = scan.D
        out.attrs["D"] = D
        out.attrs["D_units"] = "m2 s-1"
        for key in ("eq34", "direct"):
            tp = out[f"tau_phi_{key}"].values
            out[f"B_phi_{key}"] = _var(
                B_phi_from_tau_phi(tp, D), f"B_phi = hbar/(4 e D tau_phi), {curves[key][0]}", "T"
            )
            out[f"L_phi_{key}"] = _var(
                np.sqrt(D * tp), f"L_phi = sqrt(D tau_phi), {curves[key][0]}", "m"
            )
    if spec.Lambda0 is not None:
        L0, E_star, chi, tau_i = (
            spec.Lambda0,
            spec.params["E_star"],
            spec.params["chi"],
            spec.params["tau_i"],
        )
        s = A.scales(T, L0, E_star, chi, tau_i) if chi > 0 else None
        tL = A.tau_Lambda(tau_i, E_star, L0)
        scalars = {"tau_Lambda": (tL, "s", "tau_Lambda = tau_i E*/Lambda0", "(43)")}
        scalars["T_Lambda"] = (
            A.T_Lambda(L0, tL),
            "K",
            "T_Lambda = (hbar Lambda0/tau_Lambda)^(1/2)",
            "(43)",
        )
        scalars["Lambda0"] = (L0, "K", "tunnelling amplitude Lambda0", "(37)")
        if s is not None:
            scalars["T_alpha"] = (
                s["T_alpha"],
                "K",
                "T_alpha = hbar/(chi tau_Lambda)",
                "after (49)",
            )
            scalars["T_beta"] = (
                s["T_beta"],
                "K",
                "T_beta = Lambda0^(3/2)/T_alpha^(1/2)",
                "after (50)",
            )
            out["E_chi"] = _var(
                s["E_chi"], "E_chi = Lambda0 (chi T tau_Lambda/hbar)^(1/3)", "K", equation="(49)"
            )
        for k, (val, units, ln, eq) in scalars.items():
            out[k] = xr.Variable((), float(val), {"long_name": ln, "units": units, "equation": eq})
        rates: dict[str, tuple[np.ndarray, str]] = {
            "rate_eq44": (A.rate_eq44(T, L0, tL), "(44)"),
            "rate_eq51": (A.rate_eq51(T, L0, tL), "(51)"),
        }
        if s is not None:
            rates["rate_eq50"] = (A.rate_eq50(T, s["T_alpha"], tL), "(50)")
            rates["rate_eq52"] = (A.rate_eq52(T, s["T_alpha"], tL), "(52)")
            rates["rate_eq53"] = (A.rate_eq53(T, s["T_alpha"], tL, 1.0), "(53)")
        sc = {k: float(v[0]) for k, v in scalars.items()}
        sc["E_star"] = float(E_star)
        for name, (rate, eq) in rates.items():
            label, against, cond = WINDOWS[name]
            window = _window(name, T, sc)
            out[name] = _var(
                rate,
                f"asymptotic 1/tau_phi of Eq. {eq}, without O(1) prefactors",
                "s-1",
                equation=eq,
                compared_with=against,
                window=f"{cond} and T < E* (the paper's condition, >> read as >)",
            )
            out[f"ratio_{name[5:]}"] = _var(
                rate * out[against].values,
                f"asymptote {eq} x {against} (1 where the asymptote is exact)",
                "1",
            )
            out[f"in_window_{name[5:]}"] = xr.Variable(
                ("T",), window, {"long_name": f"T inside the window of {eq}: {cond}, T < E*"}
            )
    for key in ("eq34", "direct", "eq34_resonant", "eq34_relaxation"):
        ranges = one_third_ranges(T, out[f"p_{key}"].values)
        out.attrs[f"T_one_third_ranges_{key}"] = np.array(ranges, dtype=float).ravel()
    out.attrs["T_one_third_ranges_meaning"] = (
        "pairs (T_low, T_high) in K, flattened, where |p - 1/3| <= T_one_third_tolerance"
    )
    out.attrs["T_one_third_tolerance"] = ONE_THIRD_TOL
    out.attrs.update(_sec3_attrs())
    return out


# ---------------------------------------------------------------------------
# printed summary
# ---------------------------------------------------------------------------


def _fmt_ranges(ranges, T: np.ndarray | None = None, p: np.ndarray | None = None) -> str:
    """``a to b (n decades)`` per range; with ``T`` (and ``p``), ends at the grid's end
    (or its last finite value of ``p``) are marked, since the range may go on beyond."""
    if not len(ranges):
        return "nowhere on the grid"
    ends = set()
    if T is not None:
        fin = np.flatnonzero(np.isfinite(p)) if p is not None else np.arange(len(T))
        if fin.size:
            ends = {float(T[fin[0]]), float(T[fin[-1]])}
    parts = []
    for a, b in ranges:
        if math.isclose(a, b):
            text = f"{_fmt_T(a)} (one point"
        else:
            text = f"{_fmt_T(a)} to {_fmt_T(b)} ({math.log10(b / a):.2f} decades"
        if any(math.isclose(e, c, rel_tol=1e-12) for e in ends for c in (a, b)):
            text += "; reaches the end of the computed range"
        parts.append(text + ")")
    return ", ".join(parts)


def _span(v: np.ndarray) -> str:
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
    return f"{lo:.3g}" if f"{lo:.3g}" == f"{hi:.3g}" else f"{lo:.3g} to {hi:.3g}"


def coarse_grid_note(T: np.ndarray, max_decades: float = 0.25) -> str | None:
    """A warning when the grid is too coarse for p(T) = −d ln τ_φ/d ln T to mean much."""
    T = np.asarray(T, dtype=float)
    if T.size < 2:
        return "one temperature: no local exponent"
    step = float(np.max(np.diff(np.log10(T))))
    if step > max_decades:
        return (
            f"note: the grid has steps up to {step:.2f} decades in T (> {max_decades:g}): "
            "p(T) and its ranges are rough estimates"
        )
    return None


def summary(ds: xr.Dataset) -> list[str]:
    """The printed results of one model's scan (see the module notes)."""
    T = ds.T.values
    lines = [f"{ds.attrs['model_name']}: {ds.attrs['model_title']}"]
    st = ds.status.values
    counts = {s: int((st == s).sum()) for s in Status if s >= 0}
    lines.append(
        "  direct solution: " + ", ".join(f"{s.meaning} {c}" for s, c in counts.items() if c)
    )
    failed = np.flatnonzero(st == int(Status.FAILED))
    if failed.size:
        lines.append(
            f"    failed at T = {_fmt_T(T[failed[0]])} ... {_fmt_T(T[failed[-1]])}: "
            f"{str(ds.message.values[failed[0]])[:160]}"
        )
    note = coarse_grid_note(T)
    if note:
        lines.append(f"  {note}")
    for key, label in (
        ("direct", "direct solution"),
        ("eq34", "Eq. (34)"),
        ("eq34_resonant", "Eq. (34), resonant channel alone"),
        ("eq34_relaxation", "Eq. (34), relaxation channel alone"),
    ):
        if f"p_{key}" not in ds:
            continue
        pk = ds[f"p_{key}"].values
        ranges = one_third_ranges(T, pk)
        lines.append(f"  |p - 1/3| <= {ONE_THIRD_TOL:g} ({label}): {_fmt_ranges(ranges, T, pk)}")
    d = ds.delta_log_tau_phi.values
    ok = np.isfinite(d)
    if ok.any():
        i_lo, i_hi = int(np.nanargmin(np.abs(d))), int(np.nanargmax(np.abs(d)))
        lines.append(
            f"  delta ln tau_phi = ln(tau_phi,direct/tau_phi,(32)): {d[ok].min():.3g} to "
            f"{d[ok].max():.3g} (|.| smallest at {_fmt_T(T[i_lo])}, largest at {_fmt_T(T[i_hi])}); "
            f"max estimated error {np.nanmax(ds.delta_log_tau_phi_error.values):.2g}"
        )
    for name, (label, against, cond) in WINDOWS.items():
        if name not in ds:
            continue
        r = ds[f"ratio_{name[5:]}"].values
        win = ds[f"in_window_{name[5:]}"].values & np.isfinite(r)
        if not win.any():
            lines.append(f"  {label}: no temperature of the grid in its window {cond}, T < E*")
            continue
        off = np.where(win, np.abs(np.log(r)) - math.log(2.0), np.nan)
        bad = level_ranges(T, -off)  # where |ln r| >= ln 2 inside the window
        lines.append(
            f"  {label} vs {against}: ratio {_span(r[win])} "
            f"in its window {cond}, T < E* ({_fmt_T(T[win][0])} to {_fmt_T(T[win][-1])}); "
            f"off by more than 2: {_fmt_ranges(bad) if bad else 'nowhere'}"
        )
    return lines


def scales_line(ds: xr.Dataset) -> str:
    """The crossover scales of a model, in one line."""
    parts = []
    for k in ("Lambda0", "T_Lambda", "T_alpha", "T_beta"):
        if k in ds:
            parts.append(f"{k} = {_fmt_T(float(ds[k]))}")
    if "tau_Lambda" in ds:
        parts.append(f"tau_Lambda = {float(ds.tau_Lambda):.3g} s")
    return ", ".join(parts)


# ---------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------


def figures(ds: xr.Dataset, out: Path) -> list[Path]:
    """The figure of one model's scan: ``NAME.png`` in ``out``."""
    from .temperature_figures import plot_dephasing

    return [plot_dephasing(ds, out / f"{ds.attrs['model_name']}.png")]


def _summary(ds: xr.Dataset) -> list[str]:
    lines = summary(ds)
    if line := scales_line(ds):
        lines.insert(1, "  " + line)
    return lines


def run(args: argparse.Namespace) -> int:
    """Entry point of ``cooperon dephasing`` (called by :func:`cooperon.cli.main`)."""
    from .temperature import run_cli

    return run_cli(
        args,
        prog="cooperon dephasing",
        study=STUDY,
        analyse=analyse,
        figures=figures,
        summary=_summary,
    )
