"""Figures of the temperature studies: τ_φ(T) with the asymptotes, Δσ(B), τ_φ three ways.

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global
backend change), as the maps are (:mod:`.figures`).

* :func:`plot_dephasing` – the quantitative version of the paper's Figs. 5–6:
  1/τ_φ against T on log axes (i.e. ln(1/τ_φ) against ln T) from the direct
  solution and from Eq. (34), the two channels alone, the asymptotes (44),
  (50)–(53) (thick inside the window where the paper derives them, thin
  outside) and the crossover scales Λ₀, T_Λ, T_α, T_β; below, the local
  exponent p(T) = −d ln τ_φ/d ln T with the band 1/3 ± 0.05, and
  Δ ln τ_φ = ln(τ_φ,direct/τ_φ,(32)) with its error estimate.
* :func:`plot_magneto_fields` – Δσ(B) (direct, Eq. 32, the HLN fit to the
  direct curve) and the fit residuals at a few temperatures.
* :func:`plot_magneto_tau_phi` – τ_φ(T) from Eq. (34), from the direct
  solution and from the HLN fits, and their local exponents.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .io import save_figure
from .temperature import fmt_T as _fmt_T

__all__ = ["plot_dephasing", "plot_magneto_fields", "plot_magneto_tau_phi"]

_ASYMPTOTES = {
    "rate_eq44": ("(44)", "C2"),
    "rate_eq50": ("(50)", "C3"),
    "rate_eq51": ("(51)", "C5"),
    "rate_eq52": ("(52)", "C4"),
    "rate_eq53": ("(53), ζ = 1", "k"),
}
_SCALES = {"Lambda0": r"$\Lambda_0$", "T_Lambda": r"$T_\Lambda$", "T_alpha": r"$T_\alpha$",
           "T_beta": r"$T_\beta$"}  # fmt: skip


def _legend(ax, **kwargs) -> None:
    """A legend if anything labelled was drawn (none, e.g., when every temperature failed)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    return save_figure(fig, path, 110)


def _mark_scales(ax, ds: xr.Dataset, labels: bool = True) -> None:
    T = ds.T.values
    shown = sorted(
        (float(ds[k]), label)
        for k, label in _SCALES.items()
        if k in ds and T[0] <= float(ds[k]) <= T[-1]
    )
    for j, (x, label) in enumerate(shown):
        ax.axvline(x, color="0.6", lw=0.8, ls="--", zorder=0)
        if labels:
            ax.annotate(
                label, (x, 1.0), xycoords=("data", "axes fraction"),
                xytext=(2, -12 - 12 * (j % 2)), textcoords="offset points", fontsize=9,
                color="0.3",
            )  # fmt: skip


def plot_dephasing(ds: xr.Dataset, path: str | Path) -> Path:
    """The τ_φ(T) figure of one model (module notes); returns the path written."""
    T = ds.T.values
    fig = Figure(figsize=(7.0, 9.0))
    axes = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3.0, 1.7, 1.2]})
    ax, axp, axd = axes
    direct = 1.0 / ds.tau_phi_direct.values
    ax.plot(T, 1.0 / ds.tau_phi_eq34.values, "-", color="C1", lw=1.5, label="Eq. (34)")
    ax.plot(T, direct, "o", color="C0", mfc="none", ms=5, label="Eq. (24) direct")
    ax.plot(T, 1.0 / ds.tau_phi_eq34_resonant.values, "--", color="C2", lw=1,
            label="Eq. (34), resonant channel")  # fmt: skip
    ax.plot(T, 1.0 / ds.tau_phi_eq34_relaxation.values, "--", color="C3", lw=1,
            label="Eq. (34), relaxation channel")  # fmt: skip
    top = np.nanmax(direct) if np.isfinite(direct).any() else np.nanmax(1 / ds.tau_phi_eq34.values)
    for name, (label, color) in _ASYMPTOTES.items():
        if name not in ds:
            continue
        rate = ds[name].values
        win = ds[f"in_window_{name[5:]}"].values
        ax.plot(T, rate, ":", color=color, lw=0.8)
        if win.any():
            ax.plot(np.where(win, T, np.nan), rate, ":", color=color, lw=2.2, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    finite = 1.0 / ds.tau_phi_eq34.values
    ax.set_ylim(np.nanmin(finite) / 3, 10 * top)
    ax.set_ylabel(r"$1/\tau_\varphi$  [s$^{-1}$]")
    ax.set_title(ds.attrs.get("model_title", ""), fontsize=9)
    _legend(ax, fontsize=7.5, loc="lower right", ncol=2)
    _mark_scales(ax, ds)
    tol = float(ds.attrs.get("T_one_third_tolerance", 0.05))
    axp.axhspan(1 / 3 - tol, 1 / 3 + tol, color="C0", alpha=0.12, lw=0)
    for level, text in ((1 / 3, "1/3"), (0.5, "1/2 (52)"), (1.0, "1 (51)")):
        axp.axhline(level, color="0.5", lw=0.6, ls=":")
        axp.annotate(text, (T[-1], level), xytext=(-40, 2), textcoords="offset points",
                     fontsize=7, color="0.4")  # fmt: skip
    axp.plot(T, ds.p_eq34.values, "-", color="C1", lw=1.5, label="Eq. (34)")
    axp.plot(T, ds.p_direct.values, "o", color="C0", mfc="none", ms=4, label="direct")
    for key, colour, label in (("resonant", "C2", "resonant"), ("relaxation", "C3", "relaxation")):
        if f"p_eq34_{key}" in ds:
            axp.plot(T, ds[f"p_eq34_{key}"].values, "--", color=colour, lw=1.0,
                     label=f"(34), {label} channel alone")  # fmt: skip
    axp.set_ylim(-0.1, 1.3)
    axp.set_ylabel(r"$p = -d\ln\tau_\varphi/d\ln T$")
    _legend(axp, fontsize=7, loc="upper right", ncol=2)
    _mark_scales(axp, ds, labels=False)
    d, e = ds.delta_log_tau_phi.values, ds.delta_log_tau_phi_error.values
    ok = np.isfinite(d)
    if ok.any():
        axd.errorbar(T[ok], d[ok], yerr=e[ok], fmt="o", ms=3, color="C0", mfc="none", lw=0.8)
        if np.all(d[ok] > 0):
            axd.set_yscale("log")
    axd.set_ylabel(r"$\Delta\ln\tau_\varphi$")
    axd.set_xlabel("T  [K]")
    _mark_scales(axd, ds, labels=False)
    fig.tight_layout()
    return _save(fig, Path(path))


def field_temperatures(ds: xr.Dataset, n: int = 4) -> list[int]:
    """Indices of up to ``n`` temperatures with a direct curve, spread in ln T."""
    ok = np.flatnonzero(np.isfinite(ds.B_phi_hln_direct.values))
    if ok.size == 0:
        ok = np.flatnonzero(np.isfinite(ds.delta_sigma_eq32.values).any(axis=1))
    if ok.size <= n:
        return [int(i) for i in ok]
    picks = np.unique(np.round(np.linspace(0, ok.size - 1, n)).astype(int))
    return [int(ok[i]) for i in picks]


def plot_magneto_fields(ds: xr.Dataset, path: str | Path, n: int = 4) -> Path:
    """Δσ(B) direct, (32) and the HLN fit, with the residuals, at up to ``n`` temperatures."""
    from ..hln import hln

    idx = field_temperatures(ds, n)
    fig = Figure(figsize=(7.0, 7.5))
    ax, axr = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1.0]})
    for j, i in enumerate(idx):
        color = f"C{j}"
        B = ds.B.values[i]
        ax.plot(B, ds.delta_sigma_direct.values[i], "o", color=color, mfc="none", ms=4,
                label=f"T = {_fmt_T(float(ds.T[i]))}: Eq. (24) direct")  # fmt: skip
        ax.plot(B, ds.delta_sigma_eq32.values[i], ".", color=color, ms=3)
        Bphi = float(ds.B_phi_hln_direct.values[i])
        if math.isfinite(Bphi):
            alpha = float(ds.alpha_hln_direct.values[i])
            ax.plot(B, hln(B, Bphi, alpha), "-", color=color, lw=1)
            win = ds.in_fit_window_direct.values[i] == 1
            axr.plot(B[win], ds.hln_residual_direct.values[i][win], "o-", color=color, ms=3,
                     mfc="none", lw=0.8)  # fmt: skip
            axr.plot(B[win], ds.hln_residual_eq32.values[i][win], ".:", color=color, ms=3, lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel(r"$\Delta\sigma(B)$  [$e^2/h$]")
    ax.set_title(
        "circles: Eq. (24) direct, dots: Eq. (32), lines: HLN fit to the direct curve\n"
        + ds.attrs.get("model_title", ""),
        fontsize=8,
    )
    _legend(ax, fontsize=7.5, loc="upper left")
    axr.axhline(0, color="k", lw=0.5)
    axr.set_ylabel(r"$\Delta\sigma - $HLN fit  [$e^2/h$]")
    axr.set_xlabel("B  [T]")
    axr.set_title("fit residuals over the fit window (circles: direct, dots: Eq. 32)", fontsize=8)
    fig.tight_layout()
    return _save(fig, Path(path))


def plot_magneto_tau_phi(ds: xr.Dataset, path: str | Path) -> Path:
    """τ_φ(T) from Eq. (34), the direct solution and the HLN fits, and their local exponents."""
    T = ds.T.values
    fig = Figure(figsize=(7.0, 7.0))
    ax, axp = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.0, 1.2]})
    curves = (
        ("eq34", "Eq. (34)", dict(ls="-", color="C1", lw=1.5)),
        ("direct", "Eq. (24) direct (Q-integral)", dict(ls="none", marker="o", mfc="none",
                                                      color="C0", ms=5)),
        ("hln_direct", "HLN fit to Δσ of Eq. (24)", dict(ls="--", marker="s", ms=4,
                                                         color="C3", mfc="none")),
        ("hln_eq32", "HLN fit to Δσ of Eq. (32)", dict(ls=":", marker=".", color="C2")),
    )  # fmt: skip
    for key, label, style in curves:
        ax.plot(T, ds[f"tau_phi_{key}"].values, label=label, **style)
        axp.plot(T, ds[f"p_{key}"].values, label=label, **style)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel(r"$\tau_\varphi$  [s]")
    ax.set_title(ds.attrs.get("model_title", ""), fontsize=8)
    _legend(ax, fontsize=8)
    _mark_scales(ax, ds)
    axp.axhspan(1 / 3 - 0.05, 1 / 3 + 0.05, color="C0", alpha=0.12, lw=0)
    axp.axhline(1 / 3, color="0.5", lw=0.6, ls=":")
    axp.set_ylim(-0.1, 1.3)
    axp.set_ylabel(r"$p = -d\ln\tau_\varphi/d\ln T$")
    axp.set_xlabel("T  [K]")
    _mark_scales(axp, ds, labels=False)
    fig.tight_layout()
    return _save(fig, Path(path))
