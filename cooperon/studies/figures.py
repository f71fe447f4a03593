"""Figures of the breakdown maps: log₁₀|dev| of the closed forms (27) and (32).

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global
backend change), small PNGs (dpi 100).  Each map figure has two panels,
log₁₀|dev_eq27| (Eq. 27 with the WKB resolvent 31, i.e. 1 + Eq. 32) and
log₁₀|dev_eq32| (Eq. 32 as printed), each with

* the 1 % and 10 % contours of |dev| (solid black / white),
* contours of λ_max = sup(1 − Φ) of Eq. (25) (dotted, labelled),
* the stored breakdown boundaries (markers, if present in the dataset),
* points whose status is not 0 in grey,

and log axes labelled with the paper's symbols.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

__all__ = ["AXIS_LABELS", "DEV_LABELS", "plot_map", "axis_label"]

#: Axis labels (matplotlib mathtext) with the paper's symbols.
AXIS_LABELS: dict[str, str] = {
    "tau_over_tau1": r"$r_1 = \tau/\tau_1$",
    "tau_over_tau3": r"$r_3 = \tau/\tau_3$",
    "E_tau": r"$\varepsilon = E\tau/\hbar$",
    "gamma_tau": r"$g = \gamma\tau/\hbar$",
    "Dq2_tau": r"$Q = Dq^2\tau$",
    "lambda_max": r"$\lambda_{\max}$",
}

#: Panel titles of the two deviations.
DEV_LABELS: dict[str, str] = {
    "dev_eq27": r"Eq. (27) + WKB (31): $\log_{10}|F_{27}/F - 1|$",
    "dev_eq32": r"Eq. (32) as printed: $\log_{10}|F_{32}/F - 1|$",
}

_SHORT = {
    "tau_over_tau1": "r_1",
    "tau_over_tau3": "r_3",
    "E_tau": r"\varepsilon",
    "gamma_tau": "g",
    "Dq2_tau": "Q",
}


def axis_label(name: str) -> str:
    """The label of a parameter axis (its symbol and definition)."""
    return AXIS_LABELS.get(name, name)


def _is_log(values: np.ndarray, attrs: dict) -> bool:
    scale = attrs.get("scale")
    if scale is not None:
        return scale == "log"
    return bool((values > 0).all())


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around grid values: midpoints (geometric on a log axis)."""
    v = np.log(values) if log else np.asarray(values, dtype=float)
    if v.size == 1:
        half = 0.5 if log else max(abs(v[0]) * 0.5, 0.5)
        e = np.array([v[0] - half, v[0] + half])
    else:
        mid = 0.5 * (v[1:] + v[:-1])
        e = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    return np.exp(e) if log else e


def _fixed_text(ds: xr.Dataset, x: str, y: str) -> str:
    parts = []
    for name, sym in _SHORT.items():
        if name in (x, y) or name not in ds.coords:
            continue
        parts.append(f"${sym} = {float(ds[name]):g}$")
    return ", ".join(parts)


def plot_map(
    ds: xr.Dataset,
    x: str,
    y: str,
    path: str | os.PathLike | None = None,
    *,
    title: str | None = None,
    x_label: str | None = None,
    y_label: str | None = None,
    dpi: int = 100,
    vmin: float = -6.0,
    vmax: float = 0.0,
) -> Figure:
    """Two panels, log₁₀|dev_eq27| and log₁₀|dev_eq32|, over the (x, y) plane of a sweep.

    Parameters
    ----------
    ds
        A two-axis sweep (:func:`cooperon.sweep`), optionally with the
        boundary variables of :func:`cooperon.studies.maps.analyse_map`.
    x, y
        The axes plotted horizontally and vertically.
    path
        If given, save the figure there (PNG; the directory must exist).
    title, x_label, y_label
        Overrides of the figure title and axis labels.
    dpi
        Resolution of the saved PNG.
    vmin, vmax
        Colour range of log₁₀|dev|.

    Returns
    -------
    matplotlib.figure.Figure
    """
    xs = np.asarray(ds[x].values, dtype=float)
    ys = np.asarray(ds[y].values, dtype=float)
    xlog, ylog = _is_log(xs, ds[x].attrs), _is_log(ys, ds[y].attrs)
    xe, ye = _edges(xs, xlog), _edges(ys, ylog)
    fig = Figure(figsize=(10.0, 4.3), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    status = ds["status"].transpose(y, x).values
    bad = np.where(status != 0, 1.0, np.nan)
    lam = ds["lambda_max"].transpose(y, x).values
    lam_levels = [
        v for v in (0.003, 0.01, 0.03, 0.1, 0.3, 1.0) if np.nanmin(lam) < v < np.nanmax(lam)
    ]
    mesh = None
    for ax, var in zip(axes, ("dev_eq27", "dev_eq32"), strict=True):
        dev = ds[var].transpose(y, x).values
        with np.errstate(divide="ignore", invalid="ignore"):
            logd = np.log10(np.abs(dev))
        logd = np.where(status == 0, logd, np.nan)
        mesh = ax.pcolormesh(
            xe,
            ye,
            np.clip(logd, vmin, vmax),
            cmap="viridis",
            vmin=vmin,
            vmax=vmax,
            shading="flat",
        )
        if np.isfinite(bad).any():
            ax.pcolormesh(xe, ye, bad, cmap=ListedColormap(["0.6"]), shading="flat", vmin=0, vmax=1)
        finite = np.isfinite(logd)
        if finite.sum() >= 4 and len(xs) > 1 and len(ys) > 1:
            filled = np.where(finite, logd, vmin - 1.0)
            cs = ax.contour(xs, ys, filled, levels=[-2.0, -1.0], colors=["k", "w"], linewidths=1.6)
            ax.clabel(cs, fmt={-2.0: "1%", -1.0: "10%"}, fontsize=8)
            if lam_levels:
                cl = ax.contour(
                    xs, ys, lam, levels=lam_levels, colors="0.85", linestyles=":", linewidths=1.0
                )
                ax.clabel(cl, fmt=lambda v: rf"$\lambda_{{\max}}={v:g}$", fontsize=7)
        tag = var.split("_")[1]
        for pct, marker, color in (("1pct", "o", "k"), ("10pct", "s", "w")):
            b = f"boundary_{pct}_{tag}"
            if b in ds:
                ax.plot(xs, ds[b].values, marker, ms=2.5, mfc="none", mec=color, mew=0.8, ls="none")
        if xlog:
            ax.set_xscale("log")
        if ylog:
            ax.set_yscale("log")
        ax.set_xlim(xe[0], xe[-1])
        ax.set_ylim(ye[0], ye[-1])
        ax.set_xlabel(x_label or axis_label(x))
        ax.set_title(DEV_LABELS[var], fontsize=10)
    axes[0].set_ylabel(y_label or axis_label(y))
    cb = fig.colorbar(mesh, ax=list(axes), shrink=0.9, pad=0.01)
    cb.set_label(r"$\log_{10}|\mathrm{dev}|$ (grey: status $\neq$ 0)")
    sup = title or ds.attrs.get("map_title", "")
    fixed = _fixed_text(ds, x, y)
    fig.suptitle(f"{sup}\n{fixed}" if fixed else sup, fontsize=10)
    if path is not None:
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")  # its directory must exist
        try:
            fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png")
            os.replace(tmp, path)  # never leave a half-written figure
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return fig
